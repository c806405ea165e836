"""torch.special's Bessel, Airy and Hurwitz zeta functions and its orthogonal polynomials, against torch."""
import itertools
import re

import numpy as np
import pytest

import flambeau
import torch
from _oracle import assert_same, gradcheck, host_reads

UNARY = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
         "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
         "spherical_bessel_j0"]
POLYNOMIALS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
               "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
               "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
               "laguerre_polynomial_l", "legendre_polynomial_p"]
# torch computes these in the input's precision (float32 in float32), SciPy in double: float32 results
# differ by torch's rounding, which grows with |x| where the functions oscillate. torch's float64 J0, J1,
# Y0 and Y1 are themselves off by up to ~4e-7 beyond x = 5 (SciPy's agree with mpmath to 1e-15 there).
TOLERANCES = {"float32": dict(rtol=2e-5, atol=2e-5), "float64": dict(rtol=1e-6, atol=1e-8)}
LOOSE_FLOAT64 = {"bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1"}
EDGES = [0.0, -0.0, 1e-30, -1e-30, 1e-5, 0.3, -0.3, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 2.09, -2.09, 3.0, -3.0, 5.0, -5.0,
         8.0, -8.0, 8.5, 25.0, -25.0, 40.0, -40.0, 100.0, 103.0, 104.0, 700.0, -700.0, float("inf"), float("-inf"),
         float("nan")]


def _pair(values, dtype, device, requires_grad=False):
    ours = flambeau.tensor(values, dtype=getattr(flambeau, dtype), device=device, requires_grad=requires_grad)
    return ours, torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=requires_grad)


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unary_values_without_graph_or_host_reads(name, dtype, device):
    """Edge values (zeros, branch ends, huge, +-inf, NaN) and random ones; like torch's, the result
    requires no grad although the input does."""
    rng = np.random.default_rng(0)
    values = EDGES + list(rng.uniform(-30, 30, 200)) + list(rng.standard_normal(50) * 3)
    x, ref = _pair(values, dtype, device, requires_grad=True)
    with host_reads() as reads:
        y = getattr(flambeau.special, name)(x)
    assert reads[0] == 0, f"{reads[0]} reads of device values by the host"
    expected = getattr(torch.special, name)(ref)
    assert y.requires_grad is expected.requires_grad is False and y.grad_fn is None
    atol = TOLERANCES[dtype]["atol"] * (10 if name.startswith("bessel") and dtype == "float32" else 1)
    if name in LOOSE_FLOAT64 and dtype == "float64":
        atol = 1e-6
    assert_same(y, expected, rtol=TOLERANCES[dtype]["rtol"], atol=atol, device=device)


def test_airy_ai_follows_torch_past_scipy_range(device):
    """torch's Airy function is 0 beyond 103.892 and NaN at +-inf; its asymptotic form holds for any
    large negative x (SciPy gives NaN there)."""
    values = [-1e10, -1e6, -2.0899, 2.0899, 1e10, float("inf"), float("-inf")]
    for dtype in ("float32", "float64"):
        x, ref = _pair(values, dtype, device)
        assert_same(flambeau.special.airy_ai(x), torch.special.airy_ai(ref), rtol=1e-5, atol=1e-7, device=device)


@pytest.mark.parametrize("name", UNARY)
def test_unary_dtypes_and_errors(name, device):
    f, g = getattr(flambeau.special, name), getattr(torch.special, name)
    for data in ([1, 2, -3], [True, False]):              # integers and bools compute in the default dtype
        assert_same(f(flambeau.tensor(data, device=device)), g(torch.tensor(data)), device=device, rtol=1e-5)
    x = flambeau.tensor([[0.5, 2.0]], device=device)
    out = flambeau.empty(0, device=device)
    assert f(x, out=out) is out
    assert_same(out, g(torch.tensor([[0.5, 2.0]])), device=device, rtol=1e-5)
    for bad in (torch.tensor([1 + 1j]), torch.tensor([1.0], dtype=torch.float16)):
        with pytest.raises(NotImplementedError) as expected:
            g(bad)
        mine = flambeau.tensor(bad.numpy(), device=device)
        with pytest.raises(NotImplementedError, match=re.escape(str(expected.value))):
            f(mine)
    with pytest.raises(TypeError):
        f(0.5)


# -- orthogonal polynomials ------------------------------------------------------------------------
XS = [-np.inf, -3.0, -1.5, -1.0, -0.999, -0.7, -0.5, -1e-3, -0.0, 0.0, 1e-3, 0.25, 0.5, 0.7, 0.999, 1.0, 1.001, 1.5,
      2.0, 3.0, 10.0, np.inf]
# negative, fractional (truncated toward zero), the closed-form thresholds (4, 6, 8), Hermite's limits
# (128 in float32, 512 in float64), huge, infinite and NaN degrees (0, as torch's casts make them)
NS = [-np.inf, -5, -1, -0.5, 0, 0.5, 1, 1.9, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 33, 50, 100, 127, 128, 129, 200,
      511, 512, 513, 1000, 1e20, np.inf, np.nan]


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_grid_float64(name, device):
    """Every special case of torch's evaluation: |x| = 1 (x = 0, 1 for the shifted ones), the closed
    forms inside (-1, 1), the recurrence outside it (overflowing to inf, then NaN as torch's does)."""
    x, n = (np.array(v) for v in zip(*itertools.product(XS, NS)))
    (xf, xt), (nf, nt) = _pair(x, "float64", device), _pair(n, "float64", device)
    y = getattr(flambeau.special, name)(xf, nf)
    assert_same(y, getattr(torch.special, name)(xt, nt), rtol=1e-10, atol=1e-12, device=device)   # roots: rounding noise


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_float32(name, device):
    """float32 computes in float32, as torch does (rounding differs where torch's kernel fuses a multiply
    and an add: moderate degrees, and no points of cancellation, keep that below the tolerance)."""
    xs = [-2.0, -1.0, -0.7, -0.3, 0.0, 0.2, 0.5, 0.9, 1.0, 1.7, 3.0]
    x, n = (np.array(v) for v in zip(*itertools.product(xs, [-2, 0, 1, 2, 3, 5, 7, 9, 12, 20])))
    (xf, xt), (nf, nt) = _pair(x, "float32", device), _pair(n, "float32", device)
    y = getattr(flambeau.special, name)(xf, nf)
    assert_same(y, getattr(torch.special, name)(xt, nt), rtol=1e-4, atol=1e-5, device=device)


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_nan_x(name, device):
    """NaN in, NaN out. Where torch's loop never starts (its first value is NaN already) torch returns an
    uninitialised variable; flambeau returns NaN there, and torch's values elsewhere."""
    n = [0, 1, 2, 3, 10]
    y = getattr(flambeau.special, name)(flambeau.tensor([np.nan] * 5, device=device), flambeau.tensor(n,
                                                                                                      device=device))
    expected = getattr(torch.special, name)(torch.tensor([np.nan] * 5), torch.tensor(n))
    assert_same(y[:2], expected[:2], device=device)
    assert np.isnan(y[2:].cpu().numpy()).all()
    if name in ("chebyshev_polynomial_t", "hermite_polynomial_h", "hermite_polynomial_he"):
        assert_same(y, expected, device=device)          # their loops start from a defined value


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_promotion_broadcasting_and_errors(name, device):
    f, g = getattr(flambeau.special, name), getattr(torch.special, name)
    x = np.linspace(-1.2, 1.2, 6).reshape(3, 2, 1)
    n = np.array([0.0, 2.0, 3.0, 11.0])
    combos = [
        (lambda lib, dev: lib.tensor(x, dtype=lib.float32, device=dev), lambda lib, dev: lib.tensor(n, device=dev)),
        (lambda lib, dev: lib.tensor(x, device=dev), lambda lib, dev: lib.tensor(n, dtype=lib.float64, device=dev)),
        (lambda lib, dev: lib.tensor(x, dtype=lib.float64, device=dev), lambda lib, dev: 3),
        (lambda lib, dev: 0.25, lambda lib, dev: lib.tensor([1, 2, 3, 9], device=dev)),
        (lambda lib, dev: lib.tensor([1, 2, 3], device=dev), lambda lib, dev: lib.tensor([[2], [3]], device=dev)),
        (lambda lib, dev: lib.tensor([1, 2, 3], device=dev), lambda lib, dev: 2.5),
        (lambda lib, dev: lib.tensor([True, False], device=dev), lambda lib, dev: lib.tensor([True, True],
                                                                                           device=dev)),
        # a 0-dim operand does not decide the dtype, and may stay on the CPU
        (lambda lib, dev: lib.tensor(0.5, dtype=lib.float64), lambda lib, dev: lib.tensor(n, dtype=lib.float32,
                                                                                          device=dev)),
        (lambda lib, dev: lib.tensor(x, dtype=lib.float32, device=dev), lambda lib, dev: lib.tensor(4)),
    ]
    for make_x, make_n in combos:
        expected = g(make_x(torch, "cpu"), make_n(torch, "cpu"))
        # torch's float32 closed forms lose about degree x ulp (flambeau's take cos/sin in float64)
        assert_same(f(make_x(flambeau, device), make_n(flambeau, device)), expected, rtol=1e-5, atol=1e-5,
                    device=device)
    out = flambeau.empty(0, device=device)
    assert f(flambeau.tensor([0.5, 2.0], device=device), 3, out=out) is out
    assert_same(out, g(torch.tensor([0.5, 2.0]), 3), rtol=1e-6, device=device)
    for bad_x in (torch.tensor([1 + 1j]), torch.tensor([1.0], dtype=torch.float16)):
        with pytest.raises(NotImplementedError) as expected:
            g(bad_x, 2)
        with pytest.raises(NotImplementedError, match=re.escape(str(expected.value))):
            f(flambeau.tensor(bad_x.numpy(), device=device), 2)
    with pytest.raises(TypeError) as expected:
        g(0.5, 2)
    with pytest.raises(TypeError, match=re.escape(str(expected.value).split(" - ")[0])):
        f(0.5, 2)
    if device != "cpu":
        with pytest.raises(RuntimeError, match="cuda.*cpu|cpu.*cuda"):
            f(flambeau.tensor([0.5], device=device), flambeau.tensor([2.0, 3.0]))


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_results_carry_no_graph(name, device):
    x = flambeau.tensor([0.3, 0.7], device=device, requires_grad=True)
    n = flambeau.tensor([2.0, 3.0], device=device, requires_grad=True)
    y = getattr(flambeau.special, name)(x, n)
    expected = getattr(torch.special, name)(torch.tensor([0.3, 0.7], requires_grad=True),
                                            torch.tensor([2.0, 3.0], requires_grad=True))
    assert y.requires_grad is expected.requires_grad is False and y.grad_fn is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_polynomial_host_reads(device):
    """A degree given as a number (or a CPU tensor) is known on the host: no reads of device values up to
    64 steps. A cuda tensor of degrees costs one read of the largest (see Note [Polynomial degrees])."""
    x = flambeau.linspace(-2, 2, 50, device=device)
    for name in POLYNOMIALS:
        f = getattr(flambeau.special, name)
        with host_reads() as reads:
            f(x, 12)
            f(x, flambeau.tensor(40))
        assert reads[0] == 0, name
        with host_reads() as reads:
            y = f(x, flambeau.tensor([3.0] * 50, device=device))
        assert reads[0] <= (1 if device != "cpu" else 0), name
        assert_same(y, getattr(torch.special, name)(torch.linspace(-2, 2, 50), 3), rtol=1e-5, atol=1e-5,
                    device=device)


def test_polynomial_large_degree_stops_at_nan(device):
    """Outside [-1, 1] torch's recurrence overflows, turns NaN and stops: a huge degree costs no more."""
    x = flambeau.tensor([1.5, -2.0, 0.3], dtype=flambeau.float64, device=device)
    for name in ("chebyshev_polynomial_t", "chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v"):
        y = getattr(flambeau.special, name)(x, 10 ** 7)
        assert_same(y, getattr(torch.special, name)(torch.tensor([1.5, -2.0, 0.3], dtype=torch.float64), 10 ** 7),
                    rtol=1e-8, device=device)


# -- Hurwitz zeta -----------------------------------------------------------------------------------
def test_zeta_values(device):
    """x = 1 (inf), x < 1 (NaN), q <= 0 integer (inf) and not (NaN unless x is an integer), q = inf (NaN
    in torch's series), the Riemann zeta at q = 1, and large x and q."""
    xs = [-2.0, -1.5, 0.0, 0.5, 1.0, 1.0000001, 1.5, 2.0, 3.0, 4.5, 10.0, 50.0, np.inf, -np.inf, np.nan]
    qs = [-3.0, -2.5, -1.0, -0.5, 0.0, -0.0, 1e-5, 0.5, 1.0, 2.0, 100.0, 1e8, np.inf, -np.inf, np.nan]
    x, q = (np.array(v) for v in zip(*itertools.product(xs, qs)))
    for dtype in ("float64", "float32"):
        (xf, xt), (qf, qt) = _pair(x, dtype, device), _pair(q, dtype, device)
        with host_reads() as reads:
            y = flambeau.special.zeta(xf, qf)
        assert reads[0] == 0
        assert_same(y, torch.special.zeta(xt, qt), rtol=1e-6, atol=0, device=device)


def test_zeta_promotion_and_errors(device):
    cases = [(lambda lib, d: lib.tensor([2, 3], device=d), lambda lib, d: lib.tensor([1, 2], device=d)),
             (lambda lib, d: lib.tensor([2.0, 3.0], device=d), lambda lib, d: 2),
             (lambda lib, d: 3, lambda lib, d: lib.tensor([[1.0], [2.0]], dtype=lib.float64, device=d)),
             (lambda lib, d: lib.tensor([2, 3], device=d), lambda lib, d: 2.5),
             (lambda lib, d: lib.tensor(2.0, dtype=lib.float64), lambda lib, d: lib.tensor([1.0, 2.0], device=d)),
             (lambda lib, d: lib.tensor([True, True], device=d), lambda lib, d: lib.tensor([True], device=d))]
    for make_x, make_q in cases:
        assert_same(flambeau.special.zeta(make_x(flambeau, device), make_q(flambeau, device)),
                    torch.special.zeta(make_x(torch, "cpu"), make_q(torch, "cpu")), rtol=1e-6, device=device)
    for bad in (torch.tensor([2 + 1j]), torch.tensor([2.0], dtype=torch.float16)):
        with pytest.raises(NotImplementedError) as expected:
            torch.special.zeta(bad, 2)
        with pytest.raises(NotImplementedError, match=re.escape(str(expected.value))):
            flambeau.special.zeta(flambeau.tensor(bad.numpy(), device=device), 2)
    with pytest.raises(TypeError):
        flambeau.special.zeta(2, 3)


def test_zeta_gradient_in_q_only(device):
    """torch differentiates zeta in q (d/dq = -x zeta(x + 1, q)) and refuses x's derivative at backward."""
    def nodes(lib, **kw):
        x = lib.tensor([2.0, 3.5], requires_grad=True, **kw)
        q = lib.tensor([1.5, 0.7], requires_grad=True, **kw)
        return [type(y.grad_fn).__name__ for y in (lib.special.zeta(x, q), lib.special.zeta(2.0, q),
                                                   lib.special.zeta(x, 2.0))]
    assert nodes(flambeau, device=device) == nodes(torch)
    for make in (lambda lib, x, q: lib.special.zeta(x.detach(), q), lambda lib, x, q: lib.special.zeta(3.0, q)):
        grads = []
        for lib, kw in ((flambeau, dict(device=device)), (torch, {})):
            x = lib.tensor([2.0, 3.5, 1.5], dtype=lib.float64, **kw)
            q = lib.tensor([[1.5], [0.7]], dtype=lib.float64, requires_grad=True, **kw)     # broadcast: summed back
            y = make(lib, x, q)
            y.backward(lib.linspace(-2, 2, y.numel(), dtype=lib.float64, **kw).reshape(y.shape))
            grads.append(q.grad)
        assert_same(grads[0], grads[1], rtol=1e-10, device=device)
    gradcheck(lambda lib, q: lib.special.zeta(2.5, q.abs() + 0.5), (2, 3), device=device)
    for first in (lambda lib, x, q: lib.special.zeta(x, q), lambda lib, x, q: lib.special.zeta(x, 2.0)):
        for lib, kw in ((torch, {}), (flambeau, dict(device=device))):
            x = lib.tensor([2.0, 3.0], requires_grad=True, **kw)
            q = lib.tensor([1.0, 2.0], requires_grad=True, **kw)
            with pytest.raises(NotImplementedError, match="the derivative for 'zeta' is not implemented."):
                first(lib, x, q).sum().backward()


@pytest.mark.parametrize("name", [p for p in POLYNOMIALS if "chebyshev" in p])
def test_chebyshev_float32_closed_forms_are_accurate(name, device):
    """Inside (-1, 1), above degree 8, the closed forms' trigonometry runs in float64: float32 results lie
    within a few float32 ulps of the float64 ones (|values| <= 2n + 1), whatever the CPU's float32 sin/arccos."""
    f = getattr(flambeau.special, name)
    # shifted: from x = 1/4 on, 2x - 1 is exact in float32, so both dtypes evaluate at the same point
    x = np.linspace(-0.999, 0.999, 201) if "shifted" not in name else np.linspace(0.25, 0.9995, 201)
    x = x.astype(np.float32).astype(np.float64)
    for n in (9, 17, 40):
        wide = f(flambeau.tensor(x, device=device), n).cpu().numpy()
        narrow = f(flambeau.tensor(x, dtype=flambeau.float32, device=device), n).cpu().numpy()
        assert narrow.dtype == np.float32
        np.testing.assert_allclose(narrow, wide, rtol=0, atol=4 * np.finfo(np.float32).eps * (2 * n + 1))
