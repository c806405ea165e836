"""flambeau.testing.assert_close against torch.testing.assert_close: which inputs pass, and the
exception type and message of those that do not."""
import warnings

import numpy as np
import pytest
import torch

import flambeau


def _cases(lib, device):
    T = (lambda *a, **k: lib.tensor(*a, **k)) if lib is torch else (lambda *a, **k: lib.tensor(*a, **k).to(device))
    close = lib.testing.assert_close
    nan, inf = float("nan"), float("inf")
    return {
        "equal": lambda: close(T([1., 2.]), T([1., 2.])),
        "float values": lambda: close(T([1., 2., 3.]), T([1., 2.5, 3.])),
        "2-D index": lambda: close(T([[1., 2.], [3., 4.]]), T([[1., 2.], [3., 5.]])),
        "float64": lambda: close(T([1., 2.], dtype=lib.float64), T([1., 2.1], dtype=lib.float64)),
        "within tolerance": lambda: close(T([1., 0.]), T([1., 1e-9])),
        "integers": lambda: close(T([1, 2, 3]), T([1, 4, 3])),
        "uint8": lambda: close(T([1], dtype=lib.uint8), T([3], dtype=lib.uint8)),
        "bools": lambda: close(T([True, False]), T([True, True])),
        "0-dim": lambda: close(T(1.), T(2.)),
        "0-dim inexact relative": lambda: close(T(0.5), T(0.75)),
        "0-dim integers": lambda: close(T(3), T(5)),
        "nan": lambda: close(T([1., nan]), T([1., nan])),
        "nan equal_nan": lambda: close(T([1., nan]), T([1., nan]), equal_nan=True),
        "inf": lambda: close(T([inf]), T([inf])),
        "inf against -inf": lambda: close(T([inf]), T([-inf])),
        "zero expected": lambda: close(T([1., 0.]), T([2., 0.5])),
        "complex": lambda: close(T([1. + 1j]), T([1. + 2j])),
        "rtol and atol 0": lambda: close(T([1., 2.]), T([1., 3.]), rtol=0, atol=0),
        "given tolerances": lambda: close(T([0., 1.]), T([0., 1.1]), rtol=0, atol=0.05),
        "rtol alone": lambda: close(T([1.]), T([1.]), rtol=1e-3),
        "shape": lambda: close(T([1., 2.]), T([1., 2., 3.])),
        "dtype": lambda: close(T([1.]), T([1.], dtype=lib.float64)),
        "dtype unchecked": lambda: close(T([1, 2]), T([1., 2.5]), check_dtype=False),
        "float16 unchecked": lambda: close(T([1., 2.]), T([1., 2.001]).to(lib.float16), check_dtype=False),
        "bool against int": lambda: close(T([True]), T([1])),
        "stride": lambda: close(T([[1., 2.]]).t(), T([[1.], [2.]]), check_stride=True),
        "requires_grad": lambda: close(T([1.], requires_grad=True), T([1.])),
        "message": lambda: close(T([1., 2.]), T([1., 3.]), msg="custom"),
        "message function": lambda: close(T([1., 2.]), T([1., 3.]), msg=lambda m: "pre " + m[:20]),
        "sequence": lambda: close([T([1.]), T([2.])], [T([1.]), T([2.1])]),
        "nested sequence": lambda: close([[T([1.]), T([2.])]], [[T([1.]), T([3.])]]),
        "sequence lengths": lambda: close([T([1.])], [T([1.]), T([2.])]),
        "mapping": lambda: close({"a": T([1.])}, {"a": T([2.])}),
        "mapping keys": lambda: close({"a": T([1.])}, {"b": T([1.])}),
        "tensor against list": lambda: close(T([1.]), [1.]),
        "tensor against float": lambda: close(T([1.]), 1.0),
        "floats": lambda: close(1.0, 1.5),
        "float against 0": lambda: close(1.0, 0.0),
        "ints": lambda: close(1, 2),
        "int against float": lambda: close(1, 1.0),
        "complex numbers": lambda: close(1 + 1j, 1 + 2j),
        "booleans": lambda: close(True, False),
        "numbers in a tuple": lambda: close((1, 2.0), (1, 2.5)),
        "NumPy arrays": lambda: close(np.array([1, 2]), np.array([1, 3])),
        "NumPy scalars": lambda: close(np.float32(1.0), np.float32(2.0)),
        "strings": lambda: close("a", "a"),
    }


def _outcome(lib, name, device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _cases(lib, device)[name]()
        except (AssertionError, TypeError, ValueError) as e:
            return type(e).__name__, str(e).replace("torch.", "").replace("flambeau.", "").replace(
                ", device='cuda:0'", "")
    return "ok", ""


@pytest.mark.parametrize("name", list(_cases(torch, "cpu")))
def test_assert_close_as_pytorch(name, device):
    got, want = _outcome(flambeau, name, device), _outcome(torch, name, "cpu")
    if name in ("tensor against list", "tensor against float") or "flambeau" in got[1]:
        got = (got[0], got[1].replace("_tensor.Tensor", "Tensor"))
    assert got == want


def test_assert_allclose_and_make_tensor(device):
    with pytest.warns(FutureWarning):
        flambeau.testing.assert_allclose(flambeau.tensor([1., 2.]), [1., 2.00001])
    with pytest.raises(AssertionError, match="up to 0.0001 allowed"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flambeau.testing.assert_allclose(flambeau.tensor([1., 2.]), [1., 3.])
    t = flambeau.testing.make_tensor(3, 4, dtype=flambeau.float32, device=device, low=-1, high=1, exclude_zero=True)
    assert t.shape == (3, 4) and t.dtype is flambeau.float32 and t.device.type == device
    assert bool(((t >= -1) & (t < 1) & (t != 0)).all())
    i = flambeau.testing.make_tensor((5,), dtype=flambeau.int64, device=device, noncontiguous=True)
    assert not i.is_contiguous() and bool(((i >= -9) & (i < 10)).all())


def _make_tensor_draws(lib):
    lib.manual_seed(1)
    make = lib.testing.make_tensor
    return [make((2, 3), dtype=lib.float32, device="cpu"), make(4, dtype=lib.float64, device="cpu", low=-1, high=1),
            make((2, 3), dtype=lib.int64, device="cpu"), make(5, dtype=lib.uint8, device="cpu"),
            make(5, dtype=lib.bool, device="cpu"), make(2, dtype=lib.complex64, device="cpu"),
            make((2, 2), dtype=lib.float32, device="cpu", noncontiguous=True),
            make(6, dtype=lib.int8, device="cpu", low=-1.5, high=1.5, exclude_zero=True)]


def test_make_tensor_seeded_values_as_pytorch():
    for got, want in zip(_make_tensor_draws(flambeau), _make_tensor_draws(torch)):
        assert got.dtype.name == str(want.dtype).split(".")[1] and got.stride() == want.stride()
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("kwargs", [dict(dtype="float32", low=3, high=1), dict(dtype="int64", requires_grad=True),
                                    dict(dtype="float32", low=float("nan")), dict(dtype="uint8", low=-5, high=-1),
                                    dict(dtype="float32", noncontiguous=True, memory_format="contiguous_format")])
def test_make_tensor_errors_as_pytorch(kwargs):
    def outcome(lib):
        args = {k: getattr(lib, v) if k in ("dtype", "memory_format") else v for k, v in kwargs.items()}
        with pytest.raises(ValueError) as info:
            lib.testing.make_tensor(2, device="cpu", **args)
        return str(info.value).replace("torch.", "").replace("flambeau.", "")
    assert outcome(flambeau) == outcome(torch)


def test_make_tensor_low_equal_high_warns(device):
    with pytest.warns(FutureWarning, match="Passing `low==high`"):
        t = flambeau.testing.make_tensor(3, dtype=flambeau.float32, device=device, low=2.5, high=2.5)
    assert t.tolist() == [2.5, 2.5, 2.5]
