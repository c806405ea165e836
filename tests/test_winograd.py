"""Winograd convolution (Note [Winograd convolution]): which convolutions take it, and that they
agree with PyTorch and with the exact im2col path to float32's rounding, gradients included."""
import numpy as np
import pytest

import flambeau
import flambeau.nn.functional as F
from flambeau._ops import winograd
from flambeau._ops.conv import _Geometry

pytest.importorskip("numba")


@pytest.fixture
def calls(monkeypatch):
    """Counts of the Winograd forward / input-gradient / weight-gradient paths taken."""
    counts = {"forward": 0, "input_grad": 0, "weight_grad": 0}
    for name in counts:
        real = getattr(winograd, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            counts[_name] += 1
            return _real(*args, **kwargs)
        monkeypatch.setattr(winograd, name, spy)
    monkeypatch.setattr(flambeau.backends.cpu, "winograd", True)
    # small channel counts and large planes here, to test the tiling on small arrays
    monkeypatch.setattr(winograd, "_MIN_CHANNELS", {3: 16, 5: 16})
    monkeypatch.setattr(winograd, "_MAX_PLANE", {3: None, 5: None})
    return counts


@pytest.mark.parametrize("r", [3, 5])
def test_transforms_compute_a_correlation_exactly(r):
    at, g, bt = winograd._transforms(r)
    m, n = at.shape
    assert g.shape == (n, r) and bt.shape == (n, n) and m == 4
    rng = np.random.default_rng(r)
    for _ in range(5):
        d, k = rng.standard_normal(n), rng.standard_normal(r)
        direct = np.array([k @ d[i:i + r] for i in range(m)])
        np.testing.assert_allclose(at @ ((g @ k) * (bt @ d)), direct, rtol=0, atol=1e-12)
    # in 2-D the same matrices, applied on both sides
    d, k = rng.standard_normal((n, n)), rng.standard_normal((r, r))
    direct = np.array([[np.sum(k * d[i:i + r, j:j + r]) for j in range(m)] for i in range(m)])
    np.testing.assert_allclose(at @ ((g @ k @ g.T) * (bt @ d @ bt.T)) @ at.T, direct, rtol=0, atol=1e-12)


def _against_torch(x_shape, w_shape, bias=True, **kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(sum(x_shape) + sum(w_shape))
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32) if bias else None
    ours = [flambeau.tensor(a, requires_grad=True) for a in (x, w) + ((b,) if bias else ())]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w) + ((b,) if bias else ())]
    y = F.conv2d(*ours, **kwargs)
    ref = torch.nn.functional.conv2d(*theirs, **kwargs)
    gy = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    y.backward(flambeau.tensor(gy))
    ref.backward(torch.tensor(gy, dtype=torch.float64))
    assert y.dtype == flambeau.float32 and tuple(y.shape) == tuple(ref.shape)
    for a, r in [(y, ref)] + [(o.grad, t.grad) for o, t in zip(ours, theirs)]:
        r = r.detach().numpy()
        scale = np.abs(r).max()
        # float32 Winograd: errors of ~1e-6 (3x3) to ~1e-5 (5x5) of the result's scale
        np.testing.assert_allclose(a.detach().numpy(), r, rtol=0, atol=3e-5 * scale)


@pytest.mark.parametrize("x_shape, w_shape, kwargs", [
    ((20, 32, 8, 8), (64, 32, 5, 5), {}),                       # the lecture's second layer
    ((3, 16, 11, 13), (24, 16, 3, 3), {"padding": 1}),          # tiles past the output's edges
    ((2, 17, 9, 10), (16, 17, 5, 5), {"padding": 2}),
    ((2, 16, 12, 7), (16, 16, 3, 3), {"padding": (0, 2)}),
    ((2, 16, 9, 9), (20, 16, 3, 3), {"padding": "same"}),
    ((1, 16, 16, 16), (16, 16, 5, 5), {"padding": "valid"}),
])
def test_matches_torch_with_gradients(calls, x_shape, w_shape, kwargs):
    _against_torch(x_shape, w_shape, **kwargs)
    assert calls == {"forward": 1, "input_grad": 1, "weight_grad": 1}


def test_without_bias_and_module(calls):
    _against_torch((2, 16, 6, 6), (16, 16, 3, 3), bias=False, padding=1)
    conv = flambeau.nn.Conv2d(16, 32, 3, padding=1, padding_mode="reflect")
    conv(flambeau.randn(2, 16, 10, 10)).sum().backward()
    assert calls["forward"] == 2 and calls["weight_grad"] == 2


@pytest.mark.parametrize("kwargs, shapes", [
    ({"stride": 2}, ((2, 16, 9, 9), (16, 16, 3, 3))),
    ({"dilation": 2}, ((2, 16, 9, 9), (16, 16, 3, 3))),
    ({"groups": 2}, ((2, 16, 9, 9), (16, 8, 3, 3))),
    ({}, ((2, 8, 9, 9), (16, 8, 3, 3))),            # too few input channels to pay for the transforms
    ({}, ((2, 16, 9, 9), (8, 16, 3, 3))),           # too few output channels
    ({}, ((2, 16, 9, 9), (16, 16, 7, 7))),          # no transform for 7x7
    ({}, ((2, 16, 9, 9), (16, 16, 3, 5))),
    ({}, ((2, 16, 4, 4), (16, 16, 3, 3))),          # a 2x2 output fills a quarter of its tile
])
def test_other_convolutions_keep_im2col(calls, kwargs, shapes):
    x, w = (flambeau.randn(*s, requires_grad=True) for s in shapes)
    F.conv2d(x, w, **kwargs).sum().backward()
    assert calls == {"forward": 0, "input_grad": 0, "weight_grad": 0}


def test_float64_is_exact_and_the_switch_turns_it_off(calls, monkeypatch):
    x = flambeau.randn(2, 16, 8, 8, dtype=flambeau.float64, requires_grad=True)
    w = flambeau.randn(16, 16, 3, 3, dtype=flambeau.float64, requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()
    assert calls["forward"] == 0
    monkeypatch.setattr(flambeau.backends.cpu, "winograd", False)
    F.conv2d(x.float(), w.float(), padding=1).sum().backward()
    assert calls == {"forward": 0, "input_grad": 0, "weight_grad": 0}


def test_float16_goes_through_float32(calls):
    torch = pytest.importorskip("torch")
    x = flambeau.randn(2, 16, 8, 8).half()
    w = (flambeau.randn(16, 16, 3, 3) / 12).half()
    y = F.conv2d(x, w, padding=1)
    assert y.dtype == flambeau.float16 and calls["forward"] == 1
    ref = torch.nn.functional.conv2d(torch.tensor(x.float().numpy()), torch.tensor(w.float().numpy()), padding=1)
    np.testing.assert_allclose(y.float().numpy(), ref.numpy(), rtol=2e-3, atol=2e-3)


def test_switch_turned_off_between_forward_and_backward(calls, monkeypatch):
    x = flambeau.randn(2, 16, 8, 8, requires_grad=True)
    w = flambeau.randn(16, 16, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    monkeypatch.setattr(flambeau.backends.cpu, "winograd", False)
    y.sum().backward()
    gx, gw = x.grad.clone(), w.grad.clone()
    x.grad = w.grad = None
    F.conv2d(x, w, padding=1).sum().backward()          # im2col all along
    assert calls == {"forward": 1, "input_grad": 0, "weight_grad": 0}
    np.testing.assert_allclose(gx.numpy(), x.grad.numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(gw.numpy(), w.grad.numpy(), rtol=0, atol=1e-4)


def test_double_backward_agrees_with_im2col(calls, monkeypatch):
    def second_derivatives():
        flambeau.manual_seed(0)
        x = flambeau.randn(2, 16, 7, 7, requires_grad=True)
        w = flambeau.randn(16, 16, 3, 3, requires_grad=True)
        gx, gw = flambeau.autograd.grad(F.conv2d(x, w, padding=1).square().sum(), (x, w), create_graph=True)
        return flambeau.autograd.grad(gx.square().sum() + gw.square().sum(), (x, w))
    with_winograd = second_derivatives()
    assert calls["forward"] >= 1 and calls["input_grad"] >= 1 and calls["weight_grad"] >= 1
    monkeypatch.setattr(flambeau.backends.cpu, "winograd", False)
    exact = second_derivatives()
    for a, b in zip(with_winograd, exact):
        scale = b.abs().max().item()
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=3e-5 * scale)


def test_without_numba_nothing_takes_it(calls, monkeypatch):
    monkeypatch.setattr(winograd, "_kernels", [None])
    x, w = flambeau.randn(2, 16, 8, 8, requires_grad=True), flambeau.randn(16, 16, 3, 3, requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()
    assert calls == {"forward": 0, "input_grad": 0, "weight_grad": 0}


def test_cpu_capability_names_torch_would():
    assert flambeau.backends.cpu.get_cpu_capability() in ("AVX512", "AVX2", "DEFAULT")
    torch = pytest.importorskip("torch")
    # the same machine: both read the CPU's flags (torch may report a narrower build than NumPy's)
    assert torch.backends.cpu.get_cpu_capability() in ("AVX512", "AVX2", "DEFAULT", "ZVECTOR", "VSX")


def test_default_thresholds():
    def taken(x_shape, w_shape, padding=0):
        geo = _Geometry((1, 1), (padding,) * 4, (1, 1), 1)
        x = np.zeros(x_shape, np.float32)
        return winograd.fits(x, w_shape, geo, geo.out_size(x_shape[2:], w_shape[2:]))
    assert taken((100, 32, 8, 8), (64, 32, 5, 5))                  # the lecture's second layer
    assert not taken((100, 1, 28, 28), (32, 1, 5, 5))              # its first: one input channel
    assert taken((8, 64, 8, 8), (64, 64, 3, 3), 1)
    assert not taken((8, 32, 8, 8), (64, 32, 3, 3), 1)
    assert not taken((8, 64, 16, 16), (64, 64, 3, 3), 1)           # 256 positions: im2col per sample
    assert taken((8, 16, 32, 32), (16, 16, 5, 5), 2)


@pytest.mark.parametrize("kwargs", [{}, {"padding": 1}, {"padding": 2, "output_padding": 0}])
def test_transposed_convolution_matches_torch(calls, kwargs):
    # conv_transpose is conv's input gradient: its forward, and its backward's conv, take the path too
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    y = rng.standard_normal((3, 16, 6, 7)).astype(np.float32)
    w = (rng.standard_normal((16, 24, 5, 5)) / 20).astype(np.float32)
    ours = [flambeau.tensor(a, requires_grad=True) for a in (y, w)]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (y, w)]
    out = F.conv_transpose2d(*ours, **kwargs)
    ref = torch.nn.functional.conv_transpose2d(*theirs, **kwargs)
    g = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    out.backward(flambeau.tensor(g))
    ref.backward(torch.tensor(g, dtype=torch.float64))
    assert calls["input_grad"] == 1 and calls["forward"] == 1 and calls["weight_grad"] == 1
    for a, r in [(out, ref)] + [(o.grad, t.grad) for o, t in zip(ours, theirs)]:
        r = r.detach().numpy()
        np.testing.assert_allclose(a.detach().numpy(), r, rtol=0, atol=3e-5 * np.abs(r).max())


def test_empty_batch_and_one_tile_inputs(calls):
    w = flambeau.randn(64, 32, 5, 5, requires_grad=True)
    x = flambeau.randn(0, 32, 8, 8, requires_grad=True)
    y = F.conv2d(x, w)
    y.sum().backward()
    assert tuple(y.shape) == (0, 64, 4, 4) and x.grad.shape == x.shape and w.grad.abs().sum().item() == 0
    assert calls["forward"] == 0                                 # nothing to transform
    x = flambeau.randn(1, 32, 7, 7, requires_grad=True)         # a 3x3 output: one tile, cut
    y = F.conv2d(x, w)
    y.sum().backward()
    assert calls == {"forward": 1, "input_grad": 1, "weight_grad": 1}
    corner = (x.detach()[:, None, :, 2:7, 2:7] * w.detach()[None]).sum((2, 3, 4))
    np.testing.assert_allclose(y.detach().numpy()[..., 2, 2], corner.numpy(), rtol=0, atol=1e-4)
