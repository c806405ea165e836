"""torch.linalg's Householder, LDL^T, LU-with-info and tensor functions (and torch.geqrf, orgqr, ormqr),
against torch: values, dtypes, shapes, errors and gradients."""
import re

import numpy as np
import pytest

import flambeau
import torch
from _oracle import assert_same, host_reads, on_device

DTYPES = ["float32", "float64", "complex64", "complex128"]
TOL = {"float32": 1e-4, "complex64": 1e-4, "float64": 1e-10, "complex128": 1e-10}


def _random(rng, shape, dtype):
    a = rng.standard_normal(shape)
    if dtype.startswith("complex"):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def _both(a, device, requires_grad=False):
    return (flambeau.tensor(a, device=device, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def _same_error(fn, device, exc=Exception):
    """fn(lib) raises the same exception type and message under torch and flambeau."""
    with pytest.raises(exc) as expected:
        fn(torch)
    kind = flambeau.linalg.LinAlgError if issubclass(expected.type, torch.linalg.LinAlgError) else expected.type
    with pytest.raises(kind, match=re.escape(str(expected.value))):
        fn(on_device(flambeau, device))


def _grads_match(fn, arrays, device, rtol=1e-9, atol=1e-10, same_node=True):
    """fn(lib, *tensors) on both libraries: same value, the same node (unless fn is a composition whose last
    op torch names after its memory layout), and the same input gradients for a random cotangent."""
    rng = np.random.default_rng(5)
    ours = [flambeau.tensor(a, device=device, requires_grad=True) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, out_ref = fn(flambeau, *ours), fn(torch, *ref)
    assert_same(out, out_ref, rtol=rtol, atol=atol, device=device)
    if same_node:
        assert type(out.grad_fn).__name__ == type(out_ref.grad_fn).__name__
    cot = _random(rng, tuple(out_ref.shape), str(out_ref.dtype).replace("torch.", ""))
    out.backward(flambeau.tensor(cot, device=device))
    out_ref.backward(torch.tensor(cot))
    for a, b in zip(ours, ref):
        assert_same(a.grad, b.grad, rtol=rtol, atol=atol, device=device)


# -- geqrf ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (3, 3), (3, 5), (2, 4, 3), (2, 1, 3, 2), (0, 3), (3, 0), (0, 4, 4)])
def test_geqrf_is_lapacks(dtype, shape, device):
    a = _random(np.random.default_rng(0), shape, dtype)
    ours, ref = _both(a, device)
    with host_reads() as reads:
        result = flambeau.geqrf(ours)
    assert reads[0] == 0
    expected = torch.geqrf(ref)
    assert type(result).__name__ == "geqrf" and result._fields == ("a", "tau")
    assert_same(tuple(result), tuple(expected), rtol=TOL[dtype], atol=TOL[dtype], device=device)
    assert_same(tuple(ours.geqrf()), tuple(expected), rtol=TOL[dtype], atol=TOL[dtype], device=device)


def test_geqrf_out_grad_and_errors(device):
    a = np.random.default_rng(1).standard_normal((4, 3))
    out = (flambeau.empty(0, dtype=flambeau.float64, device=device), flambeau.empty(0, dtype=flambeau.float64,
                                                                                    device=device))
    result = flambeau.geqrf(flambeau.tensor(a, device=device), out=out)
    assert result.a is out[0] and result.tau is out[1]
    assert_same(tuple(result), tuple(torch.geqrf(torch.tensor(a))), device=device)
    for lib in (torch, flambeau):
        x = lib.tensor(a, requires_grad=True, **({} if lib is torch else dict(device=device)))
        a_, tau = lib.geqrf(x)
        assert type(a_.grad_fn).__name__ == "GeqrfBackward0"
        with pytest.raises(NotImplementedError, match="the derivative for 'geqrf' is not implemented."):
            a_.sum().backward()
    _same_error(lambda lib: lib.geqrf(lib.ones(3)), device)
    _same_error(lambda lib: lib.geqrf(lib.ones(3, 3, dtype=lib.long)), device)
    _same_error(lambda lib: lib.geqrf(lib.ones(3, 3, dtype=lib.float16)), device)


# -- householder_product / orgqr ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_householder_product_gives_qr_q(dtype, device):
    """With geqrf's reflectors, householder_product is the Q of linalg.qr (batched, tall and square)."""
    rng = np.random.default_rng(2)
    for shape in [(5, 3), (4, 4), (2, 6, 2)]:
        matrix = _random(rng, shape, dtype)
        a, tau = flambeau.geqrf(flambeau.tensor(matrix, device=device))
        ours = flambeau.linalg.householder_product(a, tau)
        assert_same(ours, torch.linalg.qr(torch.tensor(matrix)).Q, rtol=TOL[dtype], atol=TOL[dtype], device=device)


@pytest.mark.parametrize("dtype", DTYPES)
def test_householder_product_random_reflectors(dtype, device):
    """Any reflectors (k < n), no reflector at all, empty matrices; orgqr and Tensor.orgqr are the same."""
    rng = np.random.default_rng(3)
    for a_shape, k in [((5, 3), 2), ((5, 3), 3), ((2, 4, 4), 1), ((4, 3), 0), ((3, 0), 0), ((0, 3, 2), 2)]:
        a, tau = _random(rng, a_shape, dtype), _random(rng, a_shape[:-2] + (k,), dtype)
        (A, At), (tau_f, tau_t) = _both(a, device), _both(tau, device)
        with host_reads() as reads:
            ours = flambeau.linalg.householder_product(A, tau_f)
        assert reads[0] == 0
        expected = torch.linalg.householder_product(At, tau_t)
        for result in (ours, flambeau.orgqr(A, tau_f), A.orgqr(tau_f)):
            assert_same(result, expected, rtol=TOL[dtype], atol=TOL[dtype], device=device)
    out = flambeau.empty(0, device=device)
    assert flambeau.linalg.householder_product(flambeau.ones(4, 3, device=device), flambeau.ones(2, device=device),
                                               out=out) is out
    assert_same(out, torch.linalg.householder_product(torch.ones(4, 3), torch.ones(2)), device=device)


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_householder_product_gradients(dtype, device):
    rng = np.random.default_rng(4)
    for a_shape, k in [((5, 3), 2), ((4, 4), 4), ((2, 4, 3), 3)]:
        _grads_match(lambda lib, a, t: lib.linalg.householder_product(a, t),
                     [_random(rng, a_shape, dtype), _random(rng, a_shape[:-2] + (k,), dtype)], device)
    if dtype == "float64":
        a = flambeau.tensor(rng.standard_normal((4, 3)), device=device, requires_grad=True)
        tau = flambeau.tensor(rng.standard_normal(2), device=device, requires_grad=True)
        assert flambeau.autograd.gradcheck(flambeau.linalg.householder_product, (a, tau))
        assert flambeau.autograd.gradgradcheck(flambeau.linalg.householder_product, (a, tau))


def test_householder_product_errors(device):
    cases = [lambda lib: lib.linalg.householder_product(lib.ones(3), lib.ones(2)),
             lambda lib: lib.linalg.householder_product(lib.ones(3, 4), lib.ones(2)),
             lambda lib: lib.linalg.householder_product(lib.ones(4, 3), lib.ones(4)),
             lambda lib: lib.linalg.householder_product(lib.ones(4, 3), lib.ones(2, 2)),
             lambda lib: lib.linalg.householder_product(lib.ones(2, 4, 3), lib.ones(3, 2)),
             lambda lib: lib.linalg.householder_product(lib.ones(2, 4, 3), lib.ones(1, 2)),
             lambda lib: lib.linalg.householder_product(lib.ones(4, 3), lib.ones(2, dtype=lib.float64)),
             lambda lib: lib.linalg.householder_product(lib.ones(4, 3), lib.tensor(1.0)),
             lambda lib: lib.linalg.householder_product(lib.ones(4, 3, dtype=lib.long), lib.ones(2, dtype=lib.long)),
             lambda lib: lib.linalg.householder_product(lib.ones(4, 3, dtype=lib.float16),
                                                        lib.ones(2, dtype=lib.float16)),
             lambda lib: lib.orgqr(lib.ones(3, 4), lib.ones(2))]
    for case in cases:
        _same_error(case, device)


# -- ormqr ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("left,transpose", [(True, False), (True, True), (False, False), (False, True)])
def test_ormqr_values(dtype, left, transpose, device):
    rng = np.random.default_rng(6)
    for a_shape, other_cols in [((5, 3), 2), ((4, 4), 3), ((2, 5, 2), 4), ((3, 4), 2)]:
        m, n = a_shape[-2:]
        a = _random(rng, a_shape, dtype)
        k = min(m, n)
        tau = _random(rng, a_shape[:-2] + (k,), dtype)
        other_shape = a_shape[:-2] + ((m, other_cols) if left else (other_cols, m))
        c = _random(rng, other_shape, dtype)
        (A, At), (T, Tt), (C, Ct) = _both(a, device), _both(tau, device), _both(c, device)
        with host_reads() as reads:
            ours = flambeau.ormqr(A, T, C, left, transpose)
        assert reads[0] == 0
        expected = torch.ormqr(At, Tt, Ct, left, transpose)
        assert_same(ours, expected, rtol=TOL[dtype], atol=TOL[dtype], device=device)
        assert_same(A.ormqr(T, C, left=left, transpose=transpose), expected, rtol=TOL[dtype], atol=TOL[dtype],
                    device=device)


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_ormqr_gradients(dtype, device):
    rng = np.random.default_rng(7)
    for left in (True, False):
        for transpose in (False, True):
            c_shape = (2, 5, 2) if left else (2, 2, 5)
            _grads_match(lambda lib, a, t, c: lib.ormqr(a, t, c, left=left, transpose=transpose),
                         [_random(rng, (2, 5, 3), dtype), _random(rng, (2, 3), dtype), _random(rng, c_shape, dtype)],
                         device)
    if dtype == "float64":
        a, t, c = (flambeau.tensor(rng.standard_normal(s), device=device, requires_grad=True)
                   for s in ((4, 3), (3,), (2, 4)))
        fn = lambda a, t, c: flambeau.ormqr(a, t, c, left=False, transpose=True)    # noqa: E731
        assert flambeau.autograd.gradcheck(fn, (a, t, c))
        assert flambeau.autograd.gradgradcheck(fn, (a, t, c))


def test_ormqr_errors(device):
    r = lambda lib, *s, **kw: lib.ones(*s, **kw)        # noqa: E731
    cases = [lambda lib: lib.ormqr(r(lib, 4), r(lib, 3), r(lib, 4, 2)),
             lambda lib: lib.ormqr(r(lib, 4, 3), r(lib, 3), r(lib, 4)),
             lambda lib: lib.ormqr(r(lib, 4, 3), r(lib, 3), r(lib, 3, 2)),
             lambda lib: lib.ormqr(r(lib, 4, 3), r(lib, 3), r(lib, 3, 2), left=False),
             lambda lib: lib.ormqr(r(lib, 4, 3), r(lib, 2), r(lib, 4, 5)),
             lambda lib: lib.ormqr(r(lib, 4, 3), r(lib, 2), r(lib, 5, 4), left=False),
             lambda lib: lib.ormqr(r(lib, 4, 3), lib.tensor(1.0), r(lib, 4, 2)),
             lambda lib: lib.ormqr(r(lib, 2, 4, 3), r(lib, 3), r(lib, 2, 4, 2)),
             lambda lib: lib.ormqr(r(lib, 2, 4, 3), r(lib, 2, 3), r(lib, 4, 2)),
             lambda lib: lib.ormqr(r(lib, 2, 4, 3), r(lib, 1, 3), r(lib, 2, 4, 2)),
             lambda lib: lib.ormqr(r(lib, 2, 4, 3), r(lib, 2, 3), r(lib, 3, 4, 2)),
             lambda lib: lib.ormqr(r(lib, 4, 3), r(lib, 3), r(lib, 4, 2, dtype=lib.float64)),
             lambda lib: lib.ormqr(r(lib, 4, 3), r(lib, 3, dtype=lib.float64), r(lib, 4, 2)),
             lambda lib: lib.ormqr(*(r(lib, *s, dtype=lib.long) for s in ((4, 3), (3,), (4, 2)))),
             lambda lib: lib.ormqr(*(r(lib, *s, dtype=lib.half) for s in ((4, 3), (3,), (4, 2))))]
    for case in cases:
        _same_error(case, device)


# -- LDL^T -------------------------------------------------------------------------------------------------
def _symmetric(rng, shape, dtype, hermitian):
    a = _random(rng, shape, dtype)
    return a + (a.conj() if hermitian else a).swapaxes(-1, -2)


# a matrix whose Bunch-Kaufman pivoting takes two 2x2 blocks and a 1x1 block
PIVOTING = np.array([[0, 1, 2, 0, 0, 0], [1, 0, 3, 0, 0, 0], [2, 3, 0, 1, 0, 0], [0, 0, 1, 0, 1, 0],
                     [0, 0, 0, 1, 0, 1], [0, 0, 0, 0, 1, 0]], dtype=float)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hermitian", [False, True])
def test_ldl_factor_is_sytrf_and_solves(dtype, hermitian):
    """LD and pivots are LAPACK's sytrf/hetrf results as torch returns them (upper triangle zeroed),
    batched; ldl_solve solves with them (1x1 and 2x2 pivots, broadcast batch dims)."""
    rng = np.random.default_rng(8)
    a = _symmetric(rng, (3, 6, 6), dtype, hermitian)
    a[0] = PIVOTING
    ours, expected = flambeau.linalg.ldl_factor(flambeau.tensor(a), hermitian=hermitian), \
        torch.linalg.ldl_factor(torch.tensor(a), hermitian=hermitian)
    assert ours._fields == ("LD", "pivots")
    assert_same(tuple(ours), tuple(expected), rtol=TOL[dtype], atol=TOL[dtype])
    assert (expected.pivots[0] < 0).sum() == 4           # the 2x2 blocks are exercised
    ex = flambeau.linalg.ldl_factor_ex(flambeau.tensor(a), hermitian=hermitian)
    assert_same(tuple(ex), tuple(torch.linalg.ldl_factor_ex(torch.tensor(a), hermitian=hermitian)),
                rtol=TOL[dtype], atol=TOL[dtype])
    b = _random(rng, (3, 6, 2), dtype)
    assert_same(flambeau.linalg.ldl_solve(ours.LD, ours.pivots, flambeau.tensor(b), hermitian=hermitian),
                torch.linalg.ldl_solve(expected.LD, expected.pivots, torch.tensor(b), hermitian=hermitian),
                rtol=TOL[dtype] * 100, atol=TOL[dtype] * 100)
    # B's batch dims broadcast against LD's. torch gets this right for an unbatched LD only: with LD of
    # shape (1, n, n) and B of shape (2, 1, n, k) its results are wrong (or it crashes), so flambeau's
    # are checked by their residual there
    b = _random(rng, (2, 1, 6, 3), dtype)
    assert_same(flambeau.linalg.ldl_solve(ours.LD[0], ours.pivots[0], flambeau.tensor(b), hermitian=hermitian),
                torch.linalg.ldl_solve(expected.LD[0], expected.pivots[0], torch.tensor(b), hermitian=hermitian),
                rtol=TOL[dtype] * 100, atol=TOL[dtype] * 100)
    x = flambeau.linalg.ldl_solve(ours.LD[:1], ours.pivots[:1], flambeau.tensor(b), hermitian=hermitian)
    assert x.shape == (2, 1, 6, 3)
    np.testing.assert_allclose(a[:1] @ x.numpy(), b, rtol=TOL[dtype] * 100, atol=TOL[dtype] * 100)


def test_ldl_solve_on_cuda_without_host_reads(device):
    """ldl_solve is array code: on cuda it solves with factors moved there, reading nothing back."""
    rng = np.random.default_rng(9)
    a = _symmetric(rng, (2, 6, 6), "float64", False)
    a[1] = PIVOTING
    LD, piv = torch.linalg.ldl_factor(torch.tensor(a))
    b = rng.standard_normal((2, 6, 3))
    with host_reads() as reads:
        x = flambeau.linalg.ldl_solve(flambeau.tensor(LD.numpy(), device=device),
                                      flambeau.tensor(piv.numpy(), device=device), flambeau.tensor(b, device=device))
    assert reads[0] == 0
    assert_same(x, torch.linalg.ldl_solve(LD, piv, torch.tensor(b)), device=device)
    out = flambeau.empty(0, dtype=flambeau.float64, device=device)
    assert flambeau.linalg.ldl_solve(flambeau.tensor(LD.numpy(), device=device),
                                     flambeau.tensor(piv.numpy(), dtype=flambeau.int16, device=device),
                                     flambeau.tensor(b, device=device), out=out) is out
    assert_same(out, torch.linalg.ldl_solve(LD, piv, torch.tensor(b)), device=device)


def test_ldl_singular_info_and_errors():
    zeros = np.zeros((2, 3, 3))
    zeros[0] = np.eye(3)
    ours = flambeau.linalg.ldl_factor_ex(flambeau.tensor(zeros))
    assert_same(tuple(ours), tuple(torch.linalg.ldl_factor_ex(torch.tensor(zeros))))
    assert ours.info.tolist() == [0, 1]
    for fn in (lambda lib, a: lib.linalg.ldl_factor(a), lambda lib, a: lib.linalg.ldl_factor_ex(a, check_errors=True)):
        for lib in (torch, flambeau):       # torch fails an internal assert here; both raise RuntimeError
            with pytest.raises(RuntimeError):
                fn(lib, lib.tensor(zeros))
    with pytest.raises(RuntimeError, match=r"\(Batch element 1\).*zero at position 1"):
        flambeau.linalg.ldl_factor(flambeau.tensor(zeros))
    for lib in (torch, flambeau):
        assert lib.linalg.ldl_factor(lib.zeros(0, 0)).LD.shape == (0, 0)
        assert lib.linalg.ldl_factor(lib.zeros(0, 3, 3)).pivots.shape == (0, 3)
    _same_error(lambda lib: lib.linalg.ldl_factor(lib.ones(3, 3, dtype=lib.long)), "cpu")
    _same_error(lambda lib: lib.linalg.ldl_factor(lib.ones(3, 4)), "cpu")
    _same_error(lambda lib: lib.linalg.ldl_factor(lib.ones(3)), "cpu")
    _same_error(lambda lib: lib.linalg.ldl_factor(lib.ones(3, 3, dtype=lib.half)), "cpu")


def test_ldl_graph_nodes_refuse_backward():
    """torch records a NotImplemented node: the backward, not the call, fails."""
    a = _symmetric(np.random.default_rng(10), (4, 4), "float64", False)
    b = np.ones((4, 1))
    for lib in (torch, flambeau):
        A = lib.tensor(a, requires_grad=True)
        LD, piv = lib.linalg.ldl_factor(A)
        assert type(LD.grad_fn).__name__ == "NotImplemented" and not piv.requires_grad
        with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex is not implemented"):
            LD.sum().backward()
        B = lib.tensor(b, requires_grad=True)
        X = lib.linalg.ldl_solve(LD.detach(), piv, B)
        assert type(X.grad_fn).__name__ == "NotImplemented"
        with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_solve is not implemented"):
            X.sum().backward()


def test_ldl_factor_on_cuda_says_what_is_missing(device):
    if device == "cpu":
        pytest.skip("the cuda path")
    for fn in (flambeau.linalg.ldl_factor, flambeau.linalg.ldl_factor_ex):
        with pytest.raises(NotImplementedError, match="CuPy offers no Bunch-Kaufman"):
            fn(flambeau.eye(3, device=device))


def test_ldl_solve_errors(device):
    a = _symmetric(np.random.default_rng(11), (4, 4), "float64", False)
    LD, piv = torch.linalg.ldl_factor(torch.tensor(a))

    def args(lib):
        kw = {} if lib is torch else dict(device=device)
        return lib.tensor(LD.numpy(), **kw), lib.tensor(piv.numpy(), **kw)
    cases = [lambda lib: lib.linalg.ldl_solve(args(lib)[0][0], args(lib)[1], lib.ones(4, 2, dtype=lib.float64)),
             lambda lib: lib.linalg.ldl_solve(args(lib)[0], args(lib)[1].double(), lib.ones(4, 2, dtype=lib.float64)),
             lambda lib: lib.linalg.ldl_solve(args(lib)[0], args(lib)[1], lib.ones(4, dtype=lib.float64)),
             lambda lib: lib.linalg.ldl_solve(args(lib)[0].long(), args(lib)[1], lib.ones(4, 2, dtype=lib.long)),
             lambda lib: lib.linalg.ldl_solve(args(lib)[0].float(), args(lib)[1], lib.ones(4, 2, dtype=lib.float64)),
             lambda lib: lib.linalg.ldl_solve(args(lib)[0], args(lib)[1][:3], lib.ones(4, 2, dtype=lib.float64)),
             lambda lib: lib.linalg.ldl_solve(args(lib)[0], args(lib)[1], lib.ones(3, 2, dtype=lib.float64)),
             lambda lib: lib.linalg.ldl_solve(args(lib)[0][:3], args(lib)[1], lib.ones(3, 2, dtype=lib.float64)),
             lambda lib: lib.linalg.ldl_solve(args(lib)[0].expand(2, 4, 4), args(lib)[1].expand(2, 4),
                                              lib.ones(3, 4, 2, dtype=lib.float64))]
    for case in cases:
        _same_error(case, device)


# -- LU with info, and LU's gradients -------------------------------------------------------------------
def test_lu_factor_ex_values_and_info(device):
    rng = np.random.default_rng(12)
    singular = np.stack([[[1.0, 2.0], [2.0, 4.0]], np.zeros((2, 2)), np.eye(2)])
    for a in (rng.standard_normal((2, 3, 3)), rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), singular,
              np.zeros((0, 3)), rng.standard_normal((3, 3)).astype(np.float32)):
        ours = flambeau.tensor(a, device=device)
        with host_reads() as reads:
            result = flambeau.linalg.lu_factor_ex(ours)
        assert reads[0] == 0
        assert result._fields == ("LU", "pivots", "info")
        assert_same(tuple(result), tuple(torch.linalg.lu_factor_ex(torch.tensor(a))), rtol=1e-6, device=device)
    sing = lambda lib, dev: lib.tensor(singular[[2, 0]], device=dev)      # noqa: E731
    _same_error(lambda lib: lib.linalg.lu_factor_ex(sing(lib, device if lib is not torch else "cpu"),
                                                    check_errors=True), device)
    _same_error(lambda lib: lib.linalg.lu_factor(sing(lib, device if lib is not torch else "cpu")), device)
    _same_error(lambda lib: lib.linalg.lu_factor_ex(lib.zeros(4, 3), check_errors=True), device)
    _same_error(lambda lib: lib.linalg.lu_factor_ex(lib.ones(3)), device)
    _same_error(lambda lib: lib.linalg.lu_factor(lib.tensor(1.0)), device)
    _same_error(lambda lib: lib.linalg.lu_factor_ex(lib.ones(3, 3, dtype=lib.long)), device)
    _same_error(lambda lib: lib.linalg.lu_factor(lib.ones(3, 3, dtype=lib.half)), device)
    if device == "cpu":
        _same_error(lambda lib: lib.linalg.lu_factor_ex(lib.ones(3, 3), pivot=False), device)
    out = tuple(flambeau.empty(0, dtype=dt, device=device) for dt in (flambeau.float32, flambeau.int32,
                                                                        flambeau.int32))
    assert flambeau.linalg.lu_factor_ex(flambeau.eye(3, device=device), out=out).LU is out[0]


@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 4), (2, 4, 3), (2, 3, 5)])
def test_lu_gradients(shape, device):
    """lu_factor_ex / lu_factor (LinalgLuFactorExBackward0) and lu (LinalgLuBackward0): square, tall and wide."""
    a = np.random.default_rng(13).standard_normal(shape)
    _grads_match(lambda lib, x: lib.linalg.lu_factor_ex(x).LU, [a], device)
    _grads_match(lambda lib, x: lib.linalg.lu_factor(x).LU, [a], device)
    _grads_match(lambda lib, x: lib.linalg.lu(x).L, [a], device)
    _grads_match(lambda lib, x: lib.linalg.lu(x).U, [a], device)
    x = flambeau.tensor(a, device=device, requires_grad=True)
    P, L, U = flambeau.linalg.lu(x)
    assert not P.requires_grad
    assert flambeau.autograd.gradcheck(lambda t: flambeau.linalg.lu_factor_ex(t).LU, (x,))
    assert flambeau.autograd.gradgradcheck(lambda t: flambeau.linalg.lu_factor_ex(t).LU, (x,))
    assert flambeau.autograd.gradcheck(lambda t: flambeau.linalg.lu(t).U, (x,))


# -- tensorinv, tensorsolve, vander --------------------------------------------------------------------------
def test_tensorinv(device):
    rng = np.random.default_rng(14)
    for shape, ind in [((6, 2, 3), 1), ((4, 6, 8, 3), 2), ((4, 4), 1)]:
        _grads_match(lambda lib, x: lib.linalg.tensorinv(x, ind=ind), [rng.standard_normal(shape)], device, rtol=1e-8,
                     same_node=False)
    assert_same(flambeau.linalg.tensorinv(flambeau.zeros(0, 0, device=device), ind=1),
                torch.linalg.tensorinv(torch.zeros(0, 0), ind=1), device=device)
    x = flambeau.tensor(rng.standard_normal((6, 2, 3)), device=device, requires_grad=True)
    assert flambeau.autograd.gradcheck(lambda t: flambeau.linalg.tensorinv(t, ind=1), (x,))
    out = flambeau.empty(0, device=device)
    assert flambeau.linalg.tensorinv(flambeau.eye(4, device=device), ind=1, out=out) is out
    for case in [lambda lib: lib.linalg.tensorinv(lib.ones(4, 6, 8, 2), ind=2),
                 lambda lib: lib.linalg.tensorinv(lib.ones(4, 4), ind=0),
                 lambda lib: lib.linalg.tensorinv(lib.ones(4, 4), ind=3),
                 lambda lib: lib.linalg.tensorinv(lib.ones(4), ind=1),
                 lambda lib: lib.linalg.tensorinv(lib.ones(4, 4, dtype=lib.long), ind=1)]:
        _same_error(case, device)
    if device == "cpu":            # singular input: a LinAlgError under torch's name for it, "inv"
        _same_error(lambda lib: lib.linalg.tensorinv(lib.zeros(2, 2, 4), ind=2), device)


def test_tensorsolve(device):
    rng = np.random.default_rng(15)
    for a_shape, b_shape, dims in [((2, 3, 6), (2, 3), None), ((6, 2, 3), (2, 3), (0,)), ((6, 2, 3), (2, 3), (-3,)),
                                   ((2, 3, 6), (3, 2), None), ((12, 3, 4), (12,), None), ((1,), (), None)]:
        a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
        _grads_match(lambda lib, x, y: lib.linalg.tensorsolve(x, y, dims=dims), [a, b], device, rtol=1e-8,
                     same_node=False)
    x = flambeau.tensor(rng.standard_normal((2, 3, 6)), device=device, requires_grad=True)
    y = flambeau.tensor(rng.standard_normal((2, 3)), device=device, requires_grad=True)
    assert flambeau.autograd.gradcheck(flambeau.linalg.tensorsolve, (x, y))
    for case in [lambda lib: lib.linalg.tensorsolve(lib.ones(2, 3, 5), lib.ones(2, 3)),
                 lambda lib: lib.linalg.tensorsolve(lib.ones(2, 3, 6), lib.ones(6)),
                 lambda lib: lib.linalg.tensorsolve(lib.ones(2, 3, 6, 4), lib.ones(6, 4), dims=(0, 1)),
                 lambda lib: lib.linalg.tensorsolve(lib.ones(2, 3, 6), lib.ones(2, 3, dtype=lib.float64)),
                 lambda lib: lib.linalg.tensorsolve(lib.ones(2, 2, dtype=lib.long), lib.ones(2, dtype=lib.long))]:
        _same_error(case, device)
    if device == "cpu":
        _same_error(lambda lib: lib.linalg.tensorsolve(lib.zeros(2, 2), lib.ones(2)), device)


def test_vander(device):
    rng = np.random.default_rng(16)
    cases = [(rng.standard_normal(3), None), (rng.standard_normal(3), 5), (rng.standard_normal((2, 4)), None),
             (np.array(2.0), 3), (np.zeros(0), 3), (np.array([1, 2, 3], dtype=np.int32), None),
             (np.array([1, 2, 3], dtype=np.uint8), 4), (np.array([1, 2], dtype=np.int64), 3),
             (np.array([1j, 2.0], dtype=np.complex64), None), (rng.standard_normal(3).astype(np.float32), None)]
    for x, N in cases:
        assert_same(flambeau.linalg.vander(flambeau.tensor(x, device=device), N=N),
                    torch.linalg.vander(torch.tensor(x), N=N), rtol=1e-6, device=device)
    assert_same(flambeau.linalg.vander(flambeau.tensor([1.0, 2.0], device=device), 3),
                torch.linalg.vander(torch.tensor([1.0, 2.0]), N=3), device=device)
    _grads_match(lambda lib, x: lib.linalg.vander(x, N=4), [rng.standard_normal((2, 3))], device)
    _grads_match(lambda lib, x: lib.linalg.vander(x), [rng.standard_normal(3) + 1j * rng.standard_normal(3)], device)
    x = flambeau.tensor(rng.standard_normal((2, 3)), device=device, requires_grad=True)
    assert flambeau.autograd.gradcheck(lambda t: flambeau.linalg.vander(t, N=4), (x,))
    for case in [lambda lib: lib.linalg.vander(lib.ones(3), N=1), lambda lib: lib.linalg.vander(lib.ones(3), N=0),
                 lambda lib: lib.linalg.vander(lib.tensor(2.0)), lambda lib: lib.linalg.vander(lib.ones(1)),
                 lambda lib: lib.linalg.vander(lib.zeros(0)), lambda lib: lib.linalg.vander(lib.ones(3), N=-1),
                 lambda lib: lib.linalg.vander(lib.tensor([True])),
                 lambda lib: lib.linalg.vander(lib.ones(2, dtype=lib.float16))]:
        _same_error(case, device)


def test_top_level_names():
    for name in ("geqrf", "orgqr", "ormqr"):
        assert hasattr(flambeau, name) and hasattr(flambeau.Tensor, name)
    for name in ("householder_product", "ldl_factor", "ldl_factor_ex", "ldl_solve", "lu_factor_ex", "tensorinv",
                 "tensorsolve", "vander"):
        assert name in flambeau.linalg.__all__ and callable(getattr(flambeau.linalg, name))


def test_device_mixes_are_refused(device):
    if device == "cpu":
        pytest.skip("needs two devices")
    on, off = dict(device=device), {}
    cases = [lambda: flambeau.linalg.householder_product(flambeau.ones(4, 3, **on), flambeau.ones(2, **off)),
             lambda: flambeau.ormqr(flambeau.ones(4, 3, **on), flambeau.ones(3, **on), flambeau.ones(4, 2, **off)),
             lambda: flambeau.linalg.ldl_solve(flambeau.eye(3, **on), flambeau.tensor([1, 2, 3], dtype=flambeau.int32),
                                               flambeau.ones(3, 1, **on))]
    for case in cases:
        with pytest.raises(RuntimeError, match="cuda:0 .*cpu|cpu .*cuda:0"):
            case()


# -- norms, cond, svd and chain products as course code calls them (messages and values as torch's) -----
@pytest.mark.parametrize("case", [
    lambda l: l.linalg.norm(l.ones(3), "fro"),                           # a string ord is a matrix norm
    lambda l: l.linalg.norm(l.ones(2, 2, 2), "fro", dim=(0, 1, 2)),
    lambda l: l.linalg.norm(l.ones(2, 2, 2), dim=(0, 1, 2)),
    lambda l: l.linalg.norm(l.ones(2, 2, 2), "fro", dim=(0,)),
    lambda l: l.linalg.norm(l.ones(2, 2, 2), 2),
    lambda l: l.linalg.matrix_norm(l.ones(2, 2, 2), dim=(0, 1, 2)),
    lambda l: l.linalg.matrix_norm(l.ones(2, 2, 2), "nuc", dim=(1, -2)),
    lambda l: l.linalg.matrix_norm(l.ones(2, 2), 3),
    lambda l: l.linalg.matrix_norm(l.ones(2, 2), 0.5),
    lambda l: l.linalg.matrix_norm(l.ones(2, 2, dtype=l.long), 1),
    lambda l: l.linalg.matrix_norm(l.ones(2, 2, dtype=l.half), "nuc"),
    lambda l: l.linalg.cond(l.ones(2, 3), "fro"),
    lambda l: l.linalg.cond(l.ones(2, 3), 1.0),
    lambda l: l.linalg.cond(l.ones(2, 3), -1),
    lambda l: l.linalg.cond(l.ones(3)),
    lambda l: l.linalg.cond(l.ones(3), "nuc"),
    lambda l: l.linalg.cond(l.ones(2, 2), 3),
    lambda l: l.linalg.cond(l.ones(2, 2), "abc"),
    lambda l: l.linalg.svdvals(l.ones(2, 2, dtype=l.long)),
    lambda l: l.linalg.pinv(l.ones(2, 2, dtype=l.half)),
    lambda l: l.linalg.matrix_rank(l.ones(2, 2, dtype=l.half)),
    lambda l: l.linalg.multi_dot([l.ones(2, 3), l.ones(3, 4), l.ones(5)]),
    lambda l: l.linalg.multi_dot([l.ones(2, 3), l.ones(3, dtype=l.float64)]),
    lambda l: l.linalg.lstsq(l.ones(3, 2), l.ones(3, 1, dtype=l.float64)),
    lambda l: l.linalg.cross(l.ones(2, 3), l.ones(3)),
])
def test_norm_cond_and_product_errors_match_torch(case, device):
    _same_error(case, device, RuntimeError)


@pytest.mark.parametrize("case", [
    lambda l: l.linalg.vector_norm(l.ones(2), "fro"),
    lambda l: l.linalg.matrix_power(l.eye(2), 2.0),
    lambda l: l.matrix_power(l.eye(2), 2.5),
])
def test_argument_types_are_refused_as_torch(case, device):
    _same_error(case, device, TypeError)


def test_svd_driver_and_half_are_refused_on_cpu():
    for case in (lambda l: l.linalg.svd(l.eye(2), driver="gesvd"), lambda l: l.linalg.svdvals(l.eye(2), driver="gesvdj")):
        _same_error(case, "cpu", RuntimeError)
    _same_error(lambda l: l.linalg.svdvals(l.eye(2, dtype=l.half)), "cpu", NotImplementedError)


def test_matrix_power_takes_an_integer_tensor(device):
    a = np.array([[1.0, 1.0], [1.0, 0.0]])
    ours = flambeau.linalg.matrix_power(flambeau.tensor(a, device=device), flambeau.tensor(5))
    assert_same(ours, torch.linalg.matrix_power(torch.tensor(a), torch.tensor(5)))


@pytest.mark.parametrize("ord", [None, "fro", "nuc", 1, -1, 2, -2, float("inf"), -float("inf"), 1.0])
@pytest.mark.parametrize("matrix", [[[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [2.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]]])
def test_cond_of_regular_singular_and_zero_matrices(ord, matrix, device):
    # a singular matrix is infinitely ill-conditioned in every norm (torch: inv_ex, then inf where info > 0);
    # the zero matrix gives nan in the 2-norms and the nuclear norm (0 / 0, 0 * inf)
    a = np.array(matrix, dtype=np.float64)
    ours = flambeau.linalg.cond(flambeau.tensor(a, device=device), ord)
    ref = torch.linalg.cond(torch.tensor(a), ord)
    if ord in (2, -2, None) and np.linalg.matrix_rank(a) == 1:
        # s_min is rounding noise, so s_max / s_min is huge and differs: only its size is meaningful
        assert float(ours) > 1e7 or float(ours) < 1e-7
        return
    np.testing.assert_allclose(ours.cpu().numpy(), ref.numpy(), rtol=1e-10)
    assert ours.dtype == flambeau.float64 and ours.shape == ref.shape


def test_cond_batches_mix_regular_singular_and_empty(device):
    batch = np.stack([np.ones((2, 2)), np.array([[2.0, 1.0], [1.0, 3.0]])])
    ours = flambeau.linalg.cond(flambeau.tensor(batch, device=device), "fro")
    np.testing.assert_allclose(ours.cpu().numpy(), torch.linalg.cond(torch.tensor(batch), "fro").numpy())
    empty = flambeau.linalg.cond(flambeau.ones(3, 0, 0, device=device), 1)
    assert_same(empty, torch.linalg.cond(torch.ones(3, 0, 0), 1))
    x = flambeau.tensor([[1.0, 2.0], [3.0, 4.0]], device=device, requires_grad=True)
    xt = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    c, ct = flambeau.linalg.cond(x, 1), torch.linalg.cond(xt, 1)
    assert c.grad_fn.name() == ct.grad_fn.name()


@pytest.mark.parametrize("ord,dim", [("fro", None), ("nuc", None), ("fro", (0, 1)), (None, (0, 1)), (1, 0), (2, None),
                                     (float("inf"), (1, 0)), ("nuc", (1, 0))])
def test_norm_dispatches_as_torch(ord, dim, device):
    a = np.array([[1.0, -2.0, 0.5], [3.0, 4.0, -1.0]])
    ours = flambeau.linalg.norm(flambeau.tensor(a, device=device), ord, dim)
    ref = torch.linalg.norm(torch.tensor(a), ord, dim)
    np.testing.assert_allclose(ours.cpu().numpy(), ref.numpy(), rtol=1e-12)
    assert tuple(ours.shape) == tuple(ref.shape)


def test_legacy_spellings_warn_once_at_the_callers_line():
    import warnings
    from flambeau import _legacy
    calls = {"qr": lambda: flambeau.qr(flambeau.eye(2)),
             "triangular_solve": lambda: flambeau.triangular_solve(flambeau.eye(2), flambeau.eye(2)),
             "cholesky": lambda: flambeau.cholesky(flambeau.eye(2)),
             "chain_matmul": lambda: flambeau.chain_matmul(flambeau.eye(2), flambeau.eye(2))}
    torch_calls = {"qr": lambda: torch.qr(torch.eye(2)),
                   "triangular_solve": lambda: torch.triangular_solve(torch.eye(2), torch.eye(2)),
                   "cholesky": lambda: torch.cholesky(torch.eye(2)),
                   "chain_matmul": lambda: torch.chain_matmul(torch.eye(2), torch.eye(2))}
    for name, call in calls.items():
        _legacy._warned.discard(name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
            call()                                      # once per process, as TORCH_WARN_ONCE
        assert len(caught) == 1 and caught[0].category is UserWarning
        assert caught[0].filename == __file__, name     # not a frame inside flambeau
        with warnings.catch_warnings(record=True) as expected:
            warnings.simplefilter("always")
            torch_calls[name]()
        if expected:                                    # torch warned first in this process: compare the text
            assert str(expected[0].message).startswith(str(caught[0].message)), name
