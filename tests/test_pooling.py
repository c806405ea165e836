"""Pooling against PyTorch: values, indices, gradients (ties and NaN included), errors."""
import numpy as np
import pytest

import flambeau
from flambeau._ops import pooling
from _oracle import assert_same, check_against_torch, gradcheck, need_torch

torch = need_torch()


def F(lib):
    return lib.nn.functional


@pytest.fixture(params=["compiled", "numpy"])
def kernels(request, monkeypatch):
    """Run max pooling through the compiled kernels (when numba is there) and through NumPy."""
    if request.param == "numpy":
        monkeypatch.setattr(pooling, "_kernels", [None])
    elif pooling._compiled() is None:
        pytest.skip("numba is not installed")
    return request.param


MAX_POOL2D = [
    ((2, 3, 8, 8), (2,), {}),
    ((2, 3, 24, 24), (3,), {}),                                           # the lecture's first pooling
    ((2, 3, 9, 10), (3,), {}),                                            # kernel == stride, remainder dropped
    ((2, 3, 8, 9), (3, 2, 1), dict(ceil_mode=True)),
    ((2, 3, 8, 9), ((3, 2), (2, 1), (1, 0)), dict(dilation=(1, 2))),
    ((2, 3, 7, 7), (2,), dict(stride=1, ceil_mode=True)),
    ((3, 7, 7), (2,), {}),                                                # unbatched
]


@pytest.mark.parametrize("xs, args, kw", MAX_POOL2D)
def test_max_pool2d_matches_torch(device, kernels, xs, args, kw):
    check_against_torch(lambda lib, x: F(lib).max_pool2d(x, *args, **kw), xs, device=device)
    check_against_torch(lambda lib, x: F(lib).max_pool2d(x, *args, return_indices=True, **kw), xs,
                        device=device)


def test_max_pool1d_matches_torch(device, kernels):
    check_against_torch(lambda lib, x: F(lib).max_pool1d(x, 3, 2, 1, ceil_mode=True, return_indices=True),
                        (2, 3, 9), device=device)
    check_against_torch(lambda lib, x: lib.max_pool1d(x, 2), (3, 8), device=device)


def _ties(rng, shape):
    """Values from a small set: many windows hold their maximum more than once."""
    return rng.integers(0, 3, shape).astype(np.float64)


def test_max_pool_ties_route_to_first_maximum(device, kernels):
    for args in ((3,), (3, 2, 1), (2, 1)):
        check_against_torch(lambda lib, x: F(lib).max_pool2d(x, *args, return_indices=True), (2, 3, 9, 9),
                            device=device, make_input=_ties)


def test_max_pool_nan_like_torch(kernels):
    x = np.random.default_rng(0).standard_normal((1, 2, 6, 6))
    x[0, 0, 1, 1] = x[0, 0, 2, 2] = x[0, 1, 0, 5] = np.nan
    out, idx = F(flambeau).max_pool2d(flambeau.tensor(x), 3, return_indices=True)
    ref, ref_idx = F(torch).max_pool2d(torch.tensor(x), 3, return_indices=True)
    assert_same(out, ref)
    if kernels == "compiled":           # NumPy's offset search does not reproduce PyTorch's NaN index
        assert_same(idx, ref_idx)


def test_max_pool_float32_and_int(device, kernels):
    check_against_torch(lambda lib, x: F(lib).max_pool2d(x, 3), (2, 4, 24, 24), device=device, dtype="float32")
    x = np.random.default_rng(0).integers(-50, 50, (2, 3, 7, 7))
    assert_same(F(flambeau).max_pool2d(flambeau.tensor(x, device=device), 2, 1, 1),
                F(torch).max_pool2d(torch.tensor(x), 2, 1, 1))


def test_max_pool_non_contiguous(device, kernels):
    check_against_torch(lambda lib, x: F(lib).max_pool2d(x.transpose(2, 3), 2), (2, 3, 8, 6), device=device)


def test_max_pool_gradcheck_and_double_backward(device, kernels):
    gradcheck(lambda lib, x: F(lib).max_pool2d(x, 3, 2, 1), (1, 2, 7, 7), device=device)
    rng = np.random.default_rng(0)
    x_np, g_np = rng.standard_normal((2, 2, 7, 7)), rng.standard_normal((2, 2, 4, 4))
    r_np = rng.standard_normal((2, 2, 7, 7))
    res = []
    for lib in (flambeau, torch):
        kw = dict(device=device) if lib is not torch else {}
        x = lib.tensor(x_np, requires_grad=True, **kw)
        g = lib.tensor(g_np, requires_grad=True, **kw)
        (gx,) = lib.autograd.grad(F(lib).max_pool2d(x, 3, 2, 1), x, g, create_graph=True)
        res.append(lib.autograd.grad((gx * lib.tensor(r_np, **kw)).sum(), g))
    assert_same(res[0], res[1])


AVG_POOL2D = [
    ((2, 3, 8, 8), (2,), {}),
    ((2, 3, 8, 9), (3, 2, 1), dict(ceil_mode=True)),
    ((2, 3, 8, 9), (3, 2, 1), dict(ceil_mode=True, count_include_pad=False)),
    ((2, 3, 8, 9), ((3, 2), (2, 1), (1, 1)), dict(divisor_override=5)),
    ((3, 7, 7), (3, 2), {}),                                              # unbatched
]


@pytest.mark.parametrize("xs, args, kw", AVG_POOL2D)
def test_avg_pool2d_matches_torch(device, xs, args, kw):
    check_against_torch(lambda lib, x: F(lib).avg_pool2d(x, *args, **kw), xs, device=device)


def test_avg_pool1d_matches_torch(device):
    check_against_torch(lambda lib, x: F(lib).avg_pool1d(x, 4, 3, 2, ceil_mode=True), (2, 3, 10), device=device)
    check_against_torch(lambda lib, x: lib.avg_pool1d(x, 2, count_include_pad=False, padding=1), (2, 3, 7),
                        device=device)


def test_avg_pool_gradcheck(device):
    gradcheck(lambda lib, x: F(lib).avg_pool2d(x, 3, 2, 1, ceil_mode=True), (1, 2, 7, 7), device=device)
    x = flambeau.randn(1, 2, 6, 6, dtype=flambeau.float64, device=device, requires_grad=True)
    assert flambeau.autograd.gradcheck(
        lambda g: flambeau.autograd.grad(F(flambeau).avg_pool2d(x, 3, 2, 1), x, g, create_graph=True)[0],
        (flambeau.randn(1, 2, 3, 3, dtype=flambeau.float64, device=device, requires_grad=True),))


@pytest.mark.parametrize("op, xs, size", [
    ("adaptive_avg_pool2d", (2, 3, 8, 9), (3, 4)),
    ("adaptive_avg_pool2d", (2, 3, 8, 9), (2, None)),
    ("adaptive_avg_pool2d", (2, 3, 8, 8), 4),
    ("adaptive_avg_pool1d", (2, 3, 7), 3),
    ("adaptive_max_pool2d", (2, 3, 8, 9), (3, 4)),
    ("adaptive_max_pool2d", (3, 5, 5), 2),
    ("adaptive_max_pool1d", (2, 3, 10), 4),
])
def test_adaptive_pooling_matches_torch(device, op, xs, size):
    check_against_torch(lambda lib, x: getattr(F(lib), op)(x, size), xs, device=device)
    if "max" in op:
        check_against_torch(lambda lib, x: getattr(F(lib), op)(x, size, return_indices=True), xs, device=device,
                            make_input=_ties)


def test_max_unpool2d_matches_torch(device):
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))
    for kw in ({}, dict(output_size=(9, 9))):
        out, idx = F(flambeau).max_pool2d(flambeau.tensor(x, device=device), 2, return_indices=True)
        ref, ref_idx = F(torch).max_pool2d(torch.tensor(x), 2, return_indices=True)
        assert_same(F(flambeau).max_unpool2d(out, idx, 2, **kw), F(torch).max_unpool2d(ref, ref_idx, 2, **kw))


def _raises_like_torch(fn, x, match=None):
    try:
        fn(torch, torch.tensor(x))
    except Exception as e:
        ref_exc = e
    else:
        raise AssertionError("torch accepted this input")
    with pytest.raises(type(ref_exc), match=match):
        fn(flambeau, flambeau.tensor(x))


def test_pooling_errors_match_torch():
    x = np.zeros((2, 3, 8, 8))
    _raises_like_torch(lambda lib, t: F(lib).max_pool2d(t, 9), x, match="Output size is too small")
    _raises_like_torch(lambda lib, t: F(lib).max_pool2d(t, 2, padding=2), x, match="pad should be at most half")
    _raises_like_torch(lambda lib, t: F(lib).max_pool2d(t, 2), np.zeros(8))
    _raises_like_torch(lambda lib, t: F(lib).max_pool2d(t, 2, 0), x)
    _raises_like_torch(lambda lib, t: F(lib).avg_pool2d(t, 2, padding=2), x, match="pad should be at most half")
    _raises_like_torch(lambda lib, t: F(lib).avg_pool2d(t, 9), x, match="Output size is too small")
    _raises_like_torch(lambda lib, t: F(lib).adaptive_max_pool2d(t, 2), np.zeros(8))
    with pytest.raises(ValueError):
        F(flambeau).max_unpool2d(flambeau.zeros(2, 3, 4, 4), flambeau.zeros(2, 3, 4, 4, dtype=flambeau.int64), 2,
                                 output_size=(3, 3))


def test_two_thread_batch_split_matches_torch(monkeypatch, kernels):
    from flambeau._ops import conv
    monkeypatch.setattr(conv, "_SPLIT_MIN_ELEMENTS", 0)
    check_against_torch(lambda lib, x: F(lib).max_pool2d(x, 3, return_indices=True), (5, 3, 9, 9),
                        make_input=_ties)
    check_against_torch(lambda lib, x: F(lib).max_pool2d(x, 3, 2, 1), (5, 3, 9, 9))


def test_lp_pool_matches_torch(device):
    check_against_torch(lambda lib, x: F(lib).lp_pool2d(x, 2, 3, 2, ceil_mode=True), (2, 3, 8, 9), device=device)
    check_against_torch(lambda lib, x: F(lib).lp_pool1d(x, 3, 2), (2, 3, 8), device=device, positive=True)


def _node(t):
    return type(t.grad_fn).__name__


@pytest.mark.parametrize("shape, size", [((2, 3, 7), 3), ((2, 3, 8), 4), ((3, 7), 2), ((1, 2, 6, 5), (4, 3)),
                                         ((1, 2, 6, 6), 3), ((1, 2, 6, 6), (None, 2)), ((2, 6, 5), (4, 2)),
                                         ((1, 1, 4, 5, 3), 2), ((1, 1, 4, 4, 4), (2, 2, 2)), ((1, 2, 5, 5), 1),
                                         ((1, 1, 3, 4, 4), 1)])
def test_adaptive_avg_pool_node_values_and_double_backward(device, shape, size):
    nd = 1 if isinstance(size, int) and len(shape) <= 3 else (len(size) if not isinstance(size, int) else len(shape) - 2)
    fn = lambda lib, x: getattr(F(lib), f"adaptive_avg_pool{nd}d")(x, size)
    out = check_against_torch(fn, shape, device=device)
    xs = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    assert _node(out) == _node(fn(torch, xs))
    gradcheck(fn, shape, device=device)
    x = flambeau.randn(*shape, dtype=flambeau.float64, device=device, requires_grad=True)
    g, = flambeau.autograd.grad((fn(flambeau, x) ** 2).sum(), x, create_graph=True)
    gg, = flambeau.autograd.grad(g.sum(), x)
    xt = torch.tensor(x.detach().cpu().numpy(), requires_grad=True)
    gt, = torch.autograd.grad((fn(torch, xt) ** 2).sum(), xt, create_graph=True)
    assert_same(gg, torch.autograd.grad(gt.sum(), xt)[0], device=device)


@pytest.mark.parametrize("return_indices", [False, True])
def test_adaptive_max_pool1d_is_two_d_squeezed(device, return_indices):
    fn = lambda lib, x: F(lib).adaptive_max_pool1d(x, 3, return_indices)
    out = check_against_torch(fn, (2, 3, 7), device=device)
    ref = fn(torch, torch.randn(2, 3, 7, requires_grad=True))
    out, ref = (out[0], ref[0]) if return_indices else (out, ref)
    assert _node(out) == _node(ref) == "SqueezeBackward1"


@pytest.mark.parametrize("nd, shape, output_size", [(2, (2, 2, 5, 5), (5, 5)), (2, (2, 4, 4), None),
                                                    (3, (1, 2, 4, 4, 4), None), (1, (2, 3, 8), None)])
def test_max_unpool_is_one_node_with_gradient(device, nd, shape, output_size):
    def fn(lib, x):
        pool = getattr(F(lib), f"max_pool{nd}d")
        y, i = pool(x, 2, return_indices=True)
        return getattr(F(lib), f"max_unpool{nd}d")(y * 3, i, 2, output_size=output_size)
    out = check_against_torch(fn, shape, device=device)
    assert _node(out) == _node(fn(torch, torch.randn(*shape, requires_grad=True)))
    gradcheck(fn, shape, device=device)
