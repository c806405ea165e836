"""repr/str of tensors and storages, character for character against PyTorch."""
import re
import warnings

import numpy as np
import pytest
import torch

import flambeau
from _oracle import on_device


@pytest.fixture(autouse=True)
def default_printoptions():
    flambeau.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")
    yield
    flambeau.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


def alike(ours, ref, device):
    """flambeau's text ours is torch's CPU text ref, as torch prints it on device: off the CPU each tensor adds
    device='cuda:0' (which moves line breaks, so those are not compared there) and storages name the device."""
    if device == "cpu":
        return ours == ref
    suffix = re.compile(r",\s+device='cuda:0'")
    assert len(suffix.findall(ours)) == ours.count("tensor("), ours
    ours = suffix.sub("", ours).replace("device=cuda:0", "device=cpu")
    return " ".join(ours.split()) == " ".join(ref.split())


def same_str(a, device="cpu"):
    """str and repr of a tensor built from the same NumPy data agree with torch's."""
    t, f = torch.from_numpy(a.copy()), flambeau.tensor(a.copy(), device=device)
    assert alike(str(f), str(t), device), f"\ntorch:\n{t}\nflambeau:\n{f}"
    assert alike(repr(f), repr(t), device)


def _cases():
    rng = np.random.default_rng(0)
    cases = []
    for dt in (np.float32, np.float64, np.float16):
        for shape in [(), (1,), (5,), (3, 4), (2, 3, 4), (0,), (2, 0), (0, 3, 1), (1001,), (40, 40), (3, 500),
                      (2, 2, 300), (11, 11, 11)]:
            for scale in (1, 1e-5, 1e5, 1e10, 1e-10, 123.456):
                a = (rng.standard_normal(shape) * scale).astype(dt)
                cases += [a, np.round(a)]
        cases += [np.array(v, dt) for v in (
            [0.0, -0.0, 1.0], [-0.0], -0.0, [np.inf, -np.inf, np.nan, 1.5], [np.nan], [np.inf, 1], [1e-4, 1.0],
            [9.99e-5, 1.0], [1e8, 1.0], [1e8 + 0.5, 1.0], [0.1, 100.0], [0.1, 100.1], [1000.0, 1.0],
            [1001.0, 1.0], [0.0, 0.0], [1e-30, 0], [65504, 1], [123456789.0], [-1.0, 1.0, -1000.0])]
    for dt in (np.int64, np.int32, np.int16, np.int8, np.uint8):
        info = np.iinfo(dt)
        for shape in [(), (5,), (3, 4), (0,), (2000,), (30, 40)]:
            cases.append(rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True))
            cases.append(rng.integers(0, 10, shape).astype(dt))
    for shape in [(), (4,), (3, 3), (0,), (1500,)]:
        cases.append(rng.random(shape) > 0.5)
    for dt in (np.complex64, np.complex128):
        for shape in [(), (4,), (3, 3), (0,), (1500,)]:
            for scale in (1, 1e-6, 1e6):
                cases.append(((rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * scale).astype(dt))
            cases.append(np.round((rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * 3).astype(dt))
        cases.append(np.array([1 + 0j, -0.0 - 0j, np.nan + 1j, np.inf - 1j], dt))
    return cases


CASES = _cases()


@pytest.mark.parametrize("i", range(0, len(CASES), 40), ids=lambda i: f"block{i // 40}")
def test_str_matches_torch(i, device):
    for a in CASES[i:i + 40]:
        same_str(np.asarray(a), device)


EXPRESSIONS = [
    "torch.ones(3, requires_grad=True)", "torch.ones(3, requires_grad=True) * 2",
    "torch.ones(3, 4, requires_grad=True).sum(0)", "torch.ones(3, requires_grad=True).sum()",
    "torch.ones(3, dtype=torch.float64, requires_grad=True)", "torch.ones(2, 3, dtype=torch.float64, requires_grad=True).t()",
    "torch.ones(2, 3, requires_grad=True)[0]", "torch.ones(2, 3, requires_grad=True)[:, 1:]",
    "torch.ones(2, 3, requires_grad=True)[None]", "torch.ones(2, 3, requires_grad=True)[:, :]",
    "torch.ones(2, 3, requires_grad=True).view(6)", "torch.ones(2, 3, requires_grad=True).expand(4, 2, 3)",
    "torch.ones(2, 3, requires_grad=True).unsqueeze(0).squeeze(0)", "torch.ones(2, 3, requires_grad=True).permute(1, 0)",
    "torch.ones(2, 3, requires_grad=True).chunk(2, 1)[0]", "torch.ones(2, 3, requires_grad=True).unbind(1)[2]",
    "torch.ones(3, 3, requires_grad=True).diagonal()", "torch.ones(2, 3, requires_grad=True).t().reshape(6)",
    "torch.ones(2, 3, requires_grad=True).mean()", "torch.zeros(0, requires_grad=True)",
    "torch.zeros(2, 0, dtype=torch.int32)", "torch.zeros(0, dtype=torch.float64)", "torch.zeros(3, 0, dtype=torch.float64)",
    "torch.zeros(0, 2, dtype=torch.bool)", "torch.tensor(3)", "torch.tensor(3.5)", "torch.tensor(True)",
    "torch.tensor(2, dtype=torch.int8)", "torch.tensor([1.5, 2], dtype=torch.float16)", "torch.tensor(1 + 2j)",
    "torch.tensor([1 + 2j], dtype=torch.complex128)", "torch.arange(10.).reshape(2, 5) * 1e-3",
    "torch.tensor(rng.standard_normal(30) * 100, dtype=torch.float64, requires_grad=True)",
    "torch.tensor(rng.standard_normal((10, 10)) * 1000, dtype=torch.float64)",
    "torch.tensor(rng.standard_normal((4, 20)), dtype=torch.float64)",
    "torch.tensor(rng.standard_normal(25), dtype=torch.float32, requires_grad=True) + 1",
    "torch.tensor(rng.integers(0, 100000, 40))", "torch.tensor(rng.integers(0, 100000, 40), dtype=torch.int16)",
    "torch.arange(2000.).reshape(2, 1000)", "torch.arange(6000).reshape(2, 3, 1000)", "torch.linspace(0, 1, 7)",
    "torch.full((2, 2), float('nan'))", "torch.full((2, 2), float('inf'))", "torch.tensor([float('inf'), -3.25])",
    "torch.tensor([1e-10, 1e10, 0.])", "torch.arange(2000.).reshape(2, 1000).max(1)",
    "torch.arange(12.).reshape(3, 4).max(0)", "torch.arange(12.).reshape(3, 4).min(1, keepdim=True)",
    "torch.arange(12.).reshape(3, 4).aminmax()", "torch.arange(12.).reshape(3, 4).requires_grad_().max(0)",
    "torch.Size([2, 3])", "torch.Size([])", "torch.Size([4])", "torch.ones(2, 3).shape[1:]", "torch.ones(2, 3).size()",
    "torch.ones(2, 3).storage()", "torch.arange(3).storage()", "torch.tensor([True, False]).storage()",
    "torch.zeros(0).storage()", "torch.ones(2).untyped_storage()", "torch.tensor([1.5, 2.25], dtype=torch.float16).storage()",
    "torch.tensor([1 + 2j]).storage()", "torch.ones(2, dtype=torch.float64).storage()",
    "torch.tensor([0.1, 1e-7, 12345.678], dtype=torch.float64).storage()", "torch.arange(6.).view(2, 3)[:, 1:].storage()",
    "torch.tensor([1, -2], dtype=torch.int8).storage()", "torch.tensor([200], dtype=torch.uint8).untyped_storage()",
]


@pytest.mark.parametrize("code", EXPRESSIONS)
def test_expression_str_matches_torch(code, device):
    outs = []
    for lib in (torch, on_device(flambeau, device)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs.append(str(eval(code, {"torch": lib, "rng": np.random.default_rng(3)})))
    assert alike(outs[1], outs[0], device), f"\ntorch:\n{outs[0]}\nflambeau:\n{outs[1]}"


OPTIONS = [dict(precision=2), dict(precision=8), dict(threshold=5), dict(edgeitems=1, threshold=10),
           dict(linewidth=40), dict(sci_mode=True), dict(sci_mode=False), dict(profile="short"),
           dict(profile="full"), dict(edgeitems=0, threshold=3), dict(precision=1, linewidth=200)]
OPTION_TENSORS = [
    "torch.tensor(rng.standard_normal((6, 7)) * 10)", "torch.arange(30).reshape(5, 6)",
    "torch.tensor(rng.standard_normal(2000) * 1e-6)", "torch.tensor(rng.standard_normal((3, 4)) * 1e-6)",
    "torch.tensor([1.5, 2.0], requires_grad=True) * 2", "torch.tensor(2.123456789)", "torch.zeros(3)",
    "torch.tensor(rng.standard_normal(4) + 1j * rng.standard_normal(4))", "torch.arange(1200.).reshape(2, 20, 30)",
]


@pytest.mark.parametrize("opts", OPTIONS, ids=str)
def test_printoptions_match_torch(opts, device):
    for code in OPTION_TENSORS:
        outs = []
        for lib in (torch, on_device(flambeau, device)):
            lib.set_printoptions(**opts)
            outs.append(str(eval(code, {"torch": lib, "rng": np.random.default_rng(3)})))
            lib.set_printoptions(profile="default")
        assert alike(outs[1], outs[0], device), f"{code}\ntorch:\n{outs[0]}\nflambeau:\n{outs[1]}"


def test_get_printoptions_round_trip():
    flambeau.set_printoptions(precision=3, threshold=7)
    torch.set_printoptions(precision=3, threshold=7)
    assert flambeau.get_printoptions() == torch._tensor_str.get_printoptions()


def test_printing_noncontiguous_views(device):
    a = np.arange(60, dtype=np.float32).reshape(3, 4, 5) / 7
    for view in ["x.transpose(0, 2)", "x[:, ::2, 1:]", "x[1:2, :, :1].expand(3, 4, 2)", "x.permute(1, 2, 0)[..., 0]"]:
        t = eval(view, {"x": torch.tensor(a)})
        f = eval(view, {"x": flambeau.tensor(a, device=device)})
        assert alike(str(f), str(t), device), view


def test_default_dtype_float64_printing():
    prev_t, prev_f = torch.get_default_dtype(), flambeau.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)
        flambeau.set_default_dtype(flambeau.float64)
        for code in ["torch.tensor([1.5, 2.0])", "torch.tensor([1.5], dtype=torch.float32)", "torch.zeros(0)",
                     "torch.tensor([1 + 1j])", "torch.tensor([1 + 1j], dtype=torch.complex64)"]:
            assert str(eval(code, {"torch": flambeau})) == str(eval(code, {"torch": torch})), code
    finally:
        torch.set_default_dtype(prev_t)
        flambeau.set_default_dtype(prev_f)


def test_format_of_0d_tensor(device):
    for spec in [".2f", ".3e"]:
        assert format(flambeau.tensor(3.14159, device=device), spec) == format(torch.tensor(3.14159), spec)
    assert alike(format(flambeau.tensor(3.14159, device=device), ""), format(torch.tensor(3.14159), ""), device)
    assert alike(f"{flambeau.tensor([1.0, 2.0], device=device)}", f"{torch.tensor([1.0, 2.0])}", device)


def test_cuda_tensor_repr_has_device(device):
    if device == "cpu":
        pytest.skip("device suffix appears only for non-CPU tensors")
    s = repr(flambeau.ones(2, device=device))
    assert s == "tensor([1., 1.], device='cuda:0')"
    # the device comes first among the suffixes, and a suffix past the line width goes to a line of its own
    assert repr(flambeau.ones(2, 2, device=device)) == "tensor([[1., 1.],\n        [1., 1.]], device='cuda:0')"
    assert repr(flambeau.tensor([1, 2], dtype=flambeau.int32, device=device)) == \
        "tensor([1, 2], device='cuda:0', dtype=torch.int32)"
    assert repr(flambeau.ones(1, device=device, requires_grad=True) * 2) == \
        "tensor([2.], device='cuda:0', grad_fn=<MulBackward0>)"
    assert repr(flambeau.arange(15., device=device) * 1e5) == (
        "tensor([      0.,  100000.,  200000.,  300000.,  400000.,  500000.,  600000.,\n"
        "         700000.,  800000.,  900000., 1000000., 1100000., 1200000., 1300000.,\n"
        "        1400000.], device='cuda:0')")
