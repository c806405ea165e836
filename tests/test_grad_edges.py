"""Gradients at the edges, against torch: NaN inputs at the kinks of piecewise-linear ops, infinite and
NaN upstream gradients through zero derivatives and selections, the 0-norm's node, and the second
derivative of piecewise-linear ops and max pooling (their first gradient, taken with create_graph,
differentiates again: zeros for the input, the same selection for the upstream gradient).

Inputs with a NaN hold fewer than 8 elements: PyTorch's CPU vector loops (hardtanh, the shrinks) give 0
at a NaN where its formula, its scalar tail loop and CUDA pass the gradient; flambeau follows the formula.
"""
import numpy as np
import pytest

import flambeau
from _oracle import assert_same, check_against_torch, need_torch, on_device, to_numpy

torch = need_torch()
NAN, INF = float("nan"), float("inf")


def F(lib):
    return lib.nn.functional


def _tensor(lib, values, device, grad=True, dtype="float64"):
    a = np.asarray(values, dtype=dtype)
    t = lib.tensor(a, device=device) if lib is flambeau else lib.tensor(a)
    return t.requires_grad_(grad)


def _materialized(g):
    """torch's efficient zero tensor (sgn's gradient of a real input) as plain zeros, to compare."""
    if isinstance(g, torch.Tensor) and g._is_zerotensor():
        return torch.zeros(g.shape, dtype=g.dtype)
    return g


def _both(fn, device, values, cotangent, create_graph=False, extra=()):
    """fn(lib, x, *extra) on flambeau (on device) and torch: per library the result and the gradients of x and
    the extra inputs (None where unused), from autograd.grad with the given upstream gradient (inf, NaN allowed)."""
    runs = []
    for lib in (flambeau, torch):
        x = _tensor(lib, values, device)
        more = [_tensor(lib, v, device) for v in extra]
        y = fn(on_device(lib, device) if lib is flambeau else lib, x, *more)
        cot = _tensor(lib, np.broadcast_to(np.asarray(cotangent, dtype="float64"), tuple(y.shape)), device, False)
        grads = lib.autograd.grad(y, [x, *more], cot, create_graph=create_graph, allow_unused=True)
        runs.append((y, [_materialized(g) for g in grads]))
    return runs


# -- 1. NaN at the kinks ------------------------------------------------------------------------
# the forward values and the gradient at NaN, +-inf and the kinks themselves
KINKS = [NAN, -INF, INF, 0.0, 0.5, -1.0, 6.0]
PIECEWISE = {
    "relu": lambda L, x: L.relu(x),
    "F.relu": lambda L, x: F(L).relu(x),
    "relu_": lambda L, x: F(L).relu_(x * 1),
    "relu_inplace": lambda L, x: F(L).relu(x * 1, inplace=True),
    "leaky_relu": lambda L, x: F(L).leaky_relu(x, 0.1),
    "leaky_relu_": lambda L, x: F(L).leaky_relu_(x * 1, 0.1),
    "leaky_relu_slope_0": lambda L, x: F(L).leaky_relu(x, 0.0),       # a product there: inf * 0 is NaN
    "threshold": lambda L, x: F(L).threshold(x, 0.5, 2.0),
    "threshold_": lambda L, x: F(L).threshold_(x * 1, 0.5, 2.0),
    "hardtanh": lambda L, x: F(L).hardtanh(x),
    "hardtanh_": lambda L, x: F(L).hardtanh_(x * 1, -0.5, 0.5),
    "relu6": lambda L, x: F(L).relu6(x),
    "relu6_inplace": lambda L, x: F(L).relu6(x * 1, inplace=True),
    "hardshrink": lambda L, x: F(L).hardshrink(x),
    "softshrink": lambda L, x: F(L).softshrink(x),
    "clamp": lambda L, x: x.clamp(-1.0, 1.0),
    "clamp_min": lambda L, x: x.clamp_min(0.0),
}


@pytest.mark.parametrize("name", sorted(PIECEWISE))
def test_piecewise_linear_at_nan_and_kinks(device, name):
    check_against_torch(PIECEWISE[name], (len(KINKS),), device=device, make_input=lambda rng, s: np.array(KINKS))


@pytest.mark.parametrize("name", sorted(PIECEWISE))
def test_piecewise_linear_selects_infinite_gradients(device, name):
    """The gradient is selected, not multiplied by a 0/1 mask: inf and NaN upstream give 0 where none passes."""
    values = [-2.0, -0.7, -0.25, 0.25, 0.7, 2.0, 7.0]
    (y, grads), (y_ref, grads_ref) = _both(PIECEWISE[name], device, values, [INF, -INF, NAN, INF, -INF, NAN, INF])
    assert_same(y, y_ref, device=device)
    assert_same(grads[0], grads_ref[0], device=device)
    assert y.grad_fn.name() == y_ref.grad_fn.name()


def test_threshold_values_as_torch(device):
    """A NaN stays (value only where x <= threshold); an integer threshold truncates; half compares in
    float32; a value out of half's range, bool and complex inputs raise as in torch."""
    cases = [(np.array([NAN, INF, -INF, 0.5, 0.0]), "float64", 0.5, 2.0),
             (np.array([0, 1, -1]), "int64", -0.5, 9),
             (np.array([0, 1, 2]), "int64", 1.5, 9.7),
             (np.array([0, 1, 2]), "uint8", 1, -1),
             (np.array([0.2998, 0.3, 0.30005]), "float16", 0.3, 5.0)]
    for values, dtype, th, value in cases:
        ours = F(flambeau).threshold(flambeau.tensor(values.astype(dtype), device=device), th, value)
        ref = F(torch).threshold(torch.tensor(values.astype(dtype)), th, value)
        assert_same(ours, ref, device=device)
    for lib_tensor in ((lambda L: L.tensor([0.0, 1.0], dtype=L.float16)),
                       (lambda L: L.tensor([True, False])), (lambda L: L.tensor([1 + 1j]))):
        errors = []
        for lib in (flambeau, torch):
            with pytest.raises(Exception) as e:
                F(lib).threshold(lib_tensor(on_device(lib, device) if lib is flambeau else lib), 1, 70000.0)
            errors.append(e.type)
        assert errors[0] is errors[1]


def test_softshrink_keeps_the_sign_of_zero(device):
    """softshrink gives x * 0 inside [-lambd, lambd] (-0.0 below zero), hardshrink 0, as torch."""
    values = np.array([-0.5, -0.25, -0.0, 0.0, 0.25, 0.5])
    for name in ("softshrink", "hardshrink"):
        ours = getattr(F(flambeau), name)(flambeau.tensor(values, device=device))
        ref = getattr(F(torch), name)(torch.tensor(values))
        np.testing.assert_array_equal(np.signbit(to_numpy(ours)), np.signbit(to_numpy(ref)))


# -- 2. zero derivatives ------------------------------------------------------------------------
ZERO_DERIVATIVE = {
    "sign": lambda L, x: x.sign(), "sgn": lambda L, x: x.sgn(), "floor": lambda L, x: x.floor(),
    "ceil": lambda L, x: x.ceil(), "trunc": lambda L, x: x.trunc(), "fix": lambda L, x: x.fix(),
    "round": lambda L, x: x.round(), "round_decimals": lambda L, x: x.round(decimals=1),
    "angle": lambda L, x: x.angle(), "pow_0": lambda L, x: x ** 0, "pow_0.0": lambda L, x: L.pow(x, 0.0),
    "div_floor": lambda L, x: L.div(x, 2.0, rounding_mode="floor"),
    "div_trunc_tensor": lambda L, x: L.div(x, x * 0 + 3, rounding_mode="trunc"),
    "sign_": lambda L, x: (x * 1).sign_(), "floor_": lambda L, x: (x * 1).floor_(),
    "trunc_": lambda L, x: (x * 1).trunc_(), "round_": lambda L, x: (x * 1).round_(),
    "round_decimals_": lambda L, x: (x * 1).round_(decimals=1),
    "div_floor_": lambda L, x: (x * 1).div_(2.0, rounding_mode="floor"),
}


@pytest.mark.parametrize("name", sorted(ZERO_DERIVATIVE))
def test_zero_derivatives_ignore_infinite_gradients(device, name):
    """Zero derivatives are zeros (torch's zeros_like(grad)), not grad * 0: inf and NaN upstream give 0, and
    with create_graph the gradient records no graph. round_ is recorded as round (it passed the gradient)."""
    values = [-2.5, -0.5, 0.0, 0.5, 2.0, 3.7]
    (y, grads), (y_ref, grads_ref) = _both(ZERO_DERIVATIVE[name], device, values, [INF, -INF, NAN, INF, -INF, NAN],
                                           create_graph=True)
    assert_same(y, y_ref, device=device)
    assert_same(grads[0], grads_ref[0], device=device)
    assert grads[0].requires_grad == grads_ref[0].requires_grad
    assert y.grad_fn.name() == y_ref.grad_fn.name()


@pytest.mark.parametrize("fn", [lambda L, x: x // 2, lambda L, x: L.floor_divide(x, x * 0 + 2),
                                lambda L, x: 7.0 // x])
def test_floor_divide_has_no_derivative(device, fn):
    """torch records floor_divide with its NotImplemented node: the result needs a gradient, backward refuses."""
    for lib in (flambeau, torch):
        x = _tensor(lib, [3.0, -4.5, 5.0], device)
        y = fn(on_device(lib, device) if lib is flambeau else lib, x)
        assert y.requires_grad and y.grad_fn is not None
        with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
            y.sum().backward()


# -- clamp ------------------------------------------------------------------------------------------
CLAMPS = {
    "both": lambda L, x, lo, hi: L.clamp(x, lo, hi),
    "min": lambda L, x, lo, hi: L.clamp(x, min=lo),
    "max": lambda L, x, lo, hi: L.clamp(x, max=hi),
    "clamp_min": lambda L, x, lo, hi: L.clamp_min(x, lo),
    "clamp_max": lambda L, x, lo, hi: x.clamp_max(hi),
    "clamp_inplace": lambda L, x, lo, hi: (x * 1).clamp_(lo, hi),
    "clamp_min_": lambda L, x, lo, hi: (x * 1).clamp_min_(lo),
    "clamp_max_": lambda L, x, lo, hi: (x * 1).clamp_max_(hi),
}


@pytest.mark.parametrize("name", sorted(CLAMPS))
def test_clamp_tensor_bounds_gradients(device, name):
    """Tensor bounds: min > max gives max the gradient (the result is max there), NaN anywhere passes none,
    an infinite gradient elsewhere gives 0; node names per overload (ClampBackward0, ClampMinBackward1...)."""
    x = [0.0, 0.0, 3.0, 1.5, NAN, 1.0, 0.5, 5.0, -4.0]
    lo = [2.0, 2.0, 2.0, 1.0, 0.0, NAN, 1.0, 1.0, -1.0]
    hi = [1.0, 3.0, 1.0, 2.0, 1.0, 2.0, NAN, 3.0, 1.0]
    cot = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, INF, -INF]
    (y, grads), (y_ref, grads_ref) = _both(CLAMPS[name], device, x, cot, extra=(lo, hi))
    assert_same(y, y_ref, device=device)
    assert y.grad_fn.name() == y_ref.grad_fn.name()
    _assert_same_or_none(grads, grads_ref, device)


@pytest.mark.parametrize("fn", [lambda L, x: x.clamp(2.0, 1.0), lambda L, x: x.clamp_max(1.0),
                                lambda L, x: x.clamp_min(0.5), lambda L, x: (x * 1).clamp_(min=0.5),
                                lambda L, x: (x * 1).clamp_max_(1.0), lambda L, x: x.clip(-1.0, 1.0)])
def test_clamp_number_bounds_node_and_gradient(device, fn):
    (y, grads), (y_ref, grads_ref) = _both(fn, device, [0.0, 3.0, NAN, 1.0, 0.5, 5.0],
                                           [1.0, INF, 3.0, -INF, NAN, INF])
    assert_same(y, y_ref, device=device)
    assert_same(grads[0], grads_ref[0], device=device)
    assert y.grad_fn.name() == y_ref.grad_fn.name()


# -- 3. the 0-norm ------------------------------------------------------------------------------
NORM0 = {
    "norm": lambda L, x: L.norm(x, 0), "norm_float": lambda L, x: L.norm(x, 0.0),
    "method": lambda L, x: x.norm(0), "dim": lambda L, x: L.norm(x, 0, dim=1),
    "keepdim": lambda L, x: L.norm(x, 0, dim=(0, 1), keepdim=True),
    "dtype": lambda L, x: L.norm(x.float(), 0, dtype=L.float64),
    "scaled": lambda L, x: L.norm(x * 2, 0),
    "linalg": lambda L, x: L.linalg.vector_norm(x, 0), "linalg_dim": lambda L, x: L.linalg.vector_norm(x, 0, dim=0),
}


@pytest.mark.parametrize("name", sorted(NORM0))
def test_zero_norm_records_a_node_without_gradient(device, name):
    """torch records the 0-norm (LinalgVectorNormBackward0) but its gradient is undefined: x.grad stays
    None, autograd.grad refuses without allow_unused, materialize_grads gives zeros."""
    fn = NORM0[name]
    values = [[-2.0, 0.0, 0.5], [0.0, 2.0, 3.0]]
    results = []
    for lib in (flambeau, torch):
        L = on_device(lib, device) if lib is flambeau else lib
        x = _tensor(lib, values, device)
        y = fn(L, x)
        node = y.grad_fn.name() if y.grad_fn is not None else None
        y.sum().backward()
        unused = lib.autograd.grad(fn(L, x).sum(), x, allow_unused=True)[0]
        zeros = lib.autograd.grad(fn(L, x).sum(), x, allow_unused=True, materialize_grads=True)[0]
        with pytest.raises(RuntimeError, match="not have been used in the graph"):
            lib.autograd.grad(fn(L, x).sum(), x)
        results.append((y, node, x.grad, unused, zeros))
    (y, node, grad, unused, zeros), (y_ref, node_ref, grad_ref, unused_ref, zeros_ref) = results
    assert_same(y, y_ref, device=device)
    assert node == node_ref == "LinalgVectorNormBackward0"
    assert grad is None and grad_ref is None and unused is None and unused_ref is None
    assert_same(zeros, zeros_ref, device=device)


def test_zero_norm_next_to_a_gradient(device):
    check_against_torch(lambda L, x: L.norm(x, 0) + x.sum(), (2, 3), device=device)


# -- 4. second derivatives ----------------------------------------------------------------------
def _away_from_kinks(rng, shape):
    """Standard normals kept off the kinks these ops use (0, +-0.5, +-1, 6) and distinct (no pooling ties)."""
    n = int(np.prod(shape))
    a = (rng.permutation(n) + rng.uniform(0.2, 0.4, n)) / n * 8 - 4
    return a.reshape(shape)


SECOND = {
    "relu": (lambda L, x: L.relu(x), (7,)),
    "relu_": (lambda L, x: F(L).relu_(x * 1), (7,)),
    "leaky_relu": (lambda L, x: F(L).leaky_relu(x, 0.2), (7,)),
    "leaky_relu_": (lambda L, x: F(L).leaky_relu(x * 1, 0.2, inplace=True), (7,)),
    "threshold": (lambda L, x: F(L).threshold(x, 0.5, 2.0), (7,)),
    "threshold_": (lambda L, x: F(L).threshold_(x * 1, 0.5, 2.0), (7,)),
    "hardtanh": (lambda L, x: F(L).hardtanh(x, -2.0, 1.5), (7,)),
    "hardtanh_": (lambda L, x: F(L).hardtanh_(x * 1, -2.0, 1.5), (7,)),
    "relu6": (lambda L, x: F(L).relu6(x * 3), (7,)),
    "hardshrink": (lambda L, x: F(L).hardshrink(x, 1.2), (7,)),
    "softshrink": (lambda L, x: F(L).softshrink(x, 1.2), (7,)),
    "clamp": (lambda L, x: x.clamp(-1.2, 1.7), (7,)),
    "clamp_min": (lambda L, x: x.clamp_min(0.3), (7,)),
    "clamp_tensor": (lambda L, x: x.clamp(x.detach() * 0 - 1.2, x.detach() * 0 + 1.7), (7,)),
    "max_pool1d": (lambda L, x: F(L).max_pool1d(x, 2), (2, 3, 8)),
    "max_pool1d_overlap": (lambda L, x: F(L).max_pool1d(x, 3, 1, 1), (2, 3, 8)),
    "max_pool2d": (lambda L, x: F(L).max_pool2d(x, 2), (2, 3, 4, 4)),
    "max_pool2d_overlap": (lambda L, x: F(L).max_pool2d(x, 3, 2, 1), (2, 2, 5, 5)),
    "max_pool2d_indices": (lambda L, x: F(L).max_pool2d(x, 2, return_indices=True)[0], (2, 3, 4, 4)),
    "max_pool2d_unbatched": (lambda L, x: F(L).max_pool2d(x, 2), (3, 4, 4)),
    "max_pool3d": (lambda L, x: F(L).max_pool3d(x, 2), (2, 2, 4, 4, 4)),
    "adaptive_max_pool1d": (lambda L, x: F(L).adaptive_max_pool1d(x, 3), (2, 3, 7)),
    "adaptive_max_pool2d": (lambda L, x: F(L).adaptive_max_pool2d(x, (2, 3)), (2, 3, 5, 5)),
    "adaptive_max_pool3d": (lambda L, x: F(L).adaptive_max_pool3d(x, 2), (1, 2, 3, 4, 5)),
}
# the first gradient's node as torch names it (in-place ops and 1-D pooling record other nodes there)
SECOND_NODES = {"relu", "leaky_relu", "threshold", "hardtanh", "relu6", "hardshrink", "softshrink", "clamp",
                "clamp_min", "clamp_tensor", "max_pool2d", "max_pool2d_overlap", "max_pool2d_indices", "max_pool3d",
                "adaptive_max_pool2d", "adaptive_max_pool3d"}


def _first_gradient(lib, device, name, seed):
    """x, the upstream gradient g (both needing gradients) and grad(y, x, g, create_graph=True) for SECOND[name]."""
    fn, shape = SECOND[name]
    x = _tensor(lib, _away_from_kinks(np.random.default_rng(seed), shape), device)
    y = fn(on_device(lib, device) if lib is flambeau else lib, x)
    g = _tensor(lib, np.random.default_rng(seed + 1).standard_normal(tuple(y.shape)), device)
    dx, = lib.autograd.grad(y, x, g, create_graph=True)
    return x, g, dx


def _random_like(lib, t, device, seed, grad=False):
    return _tensor(lib, np.random.default_rng(seed).standard_normal(tuple(t.shape)), device, grad)


def _assert_same_or_none(ours, ref, device):
    for s, s_ref in zip(ours, ref):
        assert (s is None) == (s_ref is None), (s, s_ref)
        if s is not None:
            assert_same(s, s_ref, device=device)


@pytest.mark.parametrize("name", sorted(SECOND))
def test_second_derivative_of_piecewise_linear_ops(device, name):
    """grad(y, x, g, create_graph=True) differentiates again: w.r.t. x torch gives zeros (its
    <Op>BackwardBackward0 nodes have an edge to x) or, for clamp (a where), no gradient; w.r.t. g the
    same selection again."""
    runs = []
    for lib in (flambeau, torch):
        x, g, dx = _first_gradient(lib, device, name, 0)
        v = _random_like(lib, dx, device, 2)
        second = lib.autograd.grad(dx, (x, g), v, allow_unused=True, retain_graph=True)
        try:            # without allow_unused: refused exactly where torch has no gradient for x
            lib.autograd.grad(dx, x, v)
            refused = False
        except RuntimeError:
            refused = True
        runs.append((dx, second, refused))
    (dx, second, refused), (dx_ref, second_ref, refused_ref) = runs
    assert_same(dx, dx_ref, device=device)
    assert dx.requires_grad == dx_ref.requires_grad
    if name in SECOND_NODES:
        assert dx.grad_fn.name() == dx_ref.grad_fn.name()
    _assert_same_or_none(second, second_ref, device)
    assert refused == refused_ref


@pytest.mark.parametrize("name", ["relu", "threshold", "hardtanh", "softshrink", "max_pool2d_overlap",
                                  "adaptive_max_pool2d"])
def test_third_derivative_of_piecewise_linear_ops(device, name):
    """The second gradient w.r.t. g is the same selection again, itself differentiable (zeros for x)."""
    runs = []
    for lib in (flambeau, torch):
        x, g, dx = _first_gradient(lib, device, name, 3)
        v = _random_like(lib, dx, device, 5, grad=True)
        dg, = lib.autograd.grad(dx, g, v, create_graph=True)
        runs.append((dg, lib.autograd.grad(dg, (x, v), _random_like(lib, dg, device, 6), allow_unused=True)))
    (dg, third), (dg_ref, third_ref) = runs
    assert_same(dg, dg_ref, device=device)
    _assert_same_or_none(third, third_ref, device)


@pytest.mark.parametrize("nd", [2, 3])
def test_fractional_max_pool_second_derivative(device, nd):
    """The gradient of fractional max pooling is constant in x (given the windows): differentiated again
    it gives zeros for x, and the pooling again for the upstream gradient, as in torch."""
    torch = need_torch()
    rng = np.random.default_rng(nd)
    a = rng.standard_normal((1, 2) + (8,) * nd)
    samples = rng.uniform(size=(1, 2, nd))
    results = []
    for lib in (on_device(flambeau, device), torch):
        x = lib.tensor(a, requires_grad=True)
        pool = getattr(lib.nn.functional, f"fractional_max_pool{nd}d")
        y = pool(x, 2, output_size=(4,) * nd, _random_samples=lib.tensor(samples))
        go = lib.ones_like(y, requires_grad=True)
        g, = lib.autograd.grad(y, x, go, create_graph=True)
        results.append(lib.autograd.grad((g * lib.tensor(a)).sum(), (x, go)))
    assert_same(results[0], results[1], device=device)
