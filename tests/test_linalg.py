"""flambeau.linalg against torch.linalg: values, shapes, dtypes, batches, gradients, errors."""
import math

import numpy as np
import pytest

import flambeau
from _oracle import check_against_torch, gradcheck, assert_same, need_torch, to_numpy

torch = need_torch()


def wc(rng, s):
    """Random, and well-conditioned when square (diagonally shifted)."""
    a = rng.standard_normal(s)
    if len(s) >= 2 and s[-1] == s[-2]:
        a = a + s[-1] * np.eye(s[-1])
    return a


def pair(a, device="cpu", dtype=None, grad=False):
    """The same array as a flambeau and a torch tensor."""
    a = np.asarray(a, dtype=dtype) if dtype is not None else np.asarray(a)
    return (flambeau.tensor(a, device=device, requires_grad=grad), torch.tensor(a, requires_grad=grad))


def spd(lib, x):
    """A symmetric positive-definite matrix from any square x (differentiable in x)."""
    n = x.shape[-1]
    return x @ x.mT + n * lib.eye(n, dtype=x.dtype, device=x.device)


# -- inverse, determinants --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (2, 1, 2, 2)])
def test_inv_matches_torch(device, shape):
    check_against_torch(lambda lib, a: lib.linalg.inv(a), shape, device=device, make_input=wc)


def test_inv_float32_transposed_input(device):
    out = check_against_torch(lambda lib, a: lib.linalg.inv(a.mT), (4, 4), device=device, make_input=wc,
                              dtype="float32", rtol=1e-5, atol=1e-6)
    assert out.dtype is flambeau.float32


def test_inv_complex():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)) + 3 * np.eye(3)
    ours, ref = pair(a)
    assert_same(flambeau.linalg.inv(ours), torch.linalg.inv(ref))


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_det_slogdet_logdet_match_torch(device, shape):
    check_against_torch(lambda lib, a: lib.linalg.det(a), shape, device=device, make_input=wc)
    check_against_torch(lambda lib, a: lib.linalg.slogdet(a)[1], shape, device=device, make_input=wc)
    check_against_torch(lambda lib, a: lib.logdet(spd(lib, a)), shape, device=device)


def test_det_sign_and_logdet_of_negative_determinant():
    a = np.diag([2.0, -3.0, 1.0])
    ours, ref = pair(a)
    assert_same(flambeau.linalg.slogdet(ours), torch.linalg.slogdet(ref))
    assert_same(flambeau.logdet(ours), torch.logdet(ref))              # NaN for det < 0
    assert_same(flambeau.logdet(ours * 0), torch.logdet(ref * 0))      # -inf for det = 0
    assert_same(flambeau.linalg.det(ours * 0), torch.linalg.det(ref * 0))


def test_det_zero_size():
    ours, ref = pair(np.zeros((2, 0, 0)))
    assert_same(flambeau.linalg.det(ours), torch.linalg.det(ref))
    assert_same(flambeau.linalg.inv(ours), torch.linalg.inv(ref))


def test_inv_det_gradcheck():
    gradcheck(lambda lib, a: lib.linalg.inv(a + 4 * lib.eye(3, dtype=a.dtype)), (3, 3))
    gradcheck(lambda lib, a: lib.linalg.det(a + 3 * lib.eye(3, dtype=a.dtype)), (2, 3, 3))


# -- solves ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sa,sb", [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3)), ((2, 3, 3), (3, 4)),
                                   ((2, 1, 3, 3), (4, 3, 1)), ((3, 3), (2, 3, 2))])
def test_solve_matches_torch(device, sa, sb):
    check_against_torch(lambda lib, a, b: lib.linalg.solve(a, b), sa, sb, device=device, make_input=wc)


def test_solve_left_false_and_expanded_input(device):
    check_against_torch(lambda lib, a, b: lib.linalg.solve(a, b, left=False), (3, 3), (2, 3), device=device,
                        make_input=wc)
    check_against_torch(lambda lib, a, b: lib.linalg.solve(a.expand(4, 3, 3), b.mT), (3, 3), (4, 2, 3),
                        device=device, make_input=wc)


def test_solve_float32():
    check_against_torch(lambda lib, a, b: lib.linalg.solve(a, b), (4, 4), (4, 2), make_input=wc, dtype="float32",
                        rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [True, False])
def test_solve_triangular_matches_torch(device, upper, left, unit):
    sb = (2, 3, 2) if left else (2, 2, 3)
    check_against_torch(lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=upper, left=left,
                                                                      unitriangular=unit),
                        (3, 3), sb, device=device, make_input=wc)


def test_solve_triangular_singular_gives_inf_like_torch():
    a = np.triu(np.ones((3, 3)))
    a[1, 1] = 0
    b = np.ones((3, 1))
    ours = flambeau.linalg.solve_triangular(flambeau.tensor(a), flambeau.tensor(b), upper=True)
    ref = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=True)
    assert_same(ours, ref)


# -- Cholesky --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_matches_torch(device, upper):
    check_against_torch(lambda lib, x: lib.linalg.cholesky(spd(lib, x), upper=upper), (2, 4, 4), device=device)


def test_cholesky_direct_input_gradient(device):
    """The input itself (symmetric) as the leaf: torch's symmetrised gradient."""
    check_against_torch(lambda lib, a: lib.linalg.cholesky(a), (3, 3), device=device,
                        make_input=lambda rng, s: (lambda x: x @ x.T + 3 * np.eye(3))(rng.standard_normal(s)))


def test_cholesky_ex_info_and_gradcheck():
    a = np.diag([1.0, -1.0, 1.0])
    L, info = flambeau.linalg.cholesky_ex(flambeau.tensor(a))
    L_ref, info_ref = torch.linalg.cholesky_ex(torch.tensor(a))
    assert_same(info, info_ref)
    ok = np.eye(3) * 2
    assert_same(flambeau.linalg.cholesky_ex(flambeau.tensor(ok)), torch.linalg.cholesky_ex(torch.tensor(ok)))
    gradcheck(lambda lib, x: lib.linalg.cholesky(spd(lib, x)), (3, 3))


# -- eigen-decompositions ------------------------------------------------------------------------------------
def test_eigh_matches_torch(device):
    # eigenvectors are defined up to sign (solvers differ): compare sign-free functions of them
    def fn(lib, x):
        L, V = lib.linalg.eigh(spd(lib, x))
        return L, V.abs(), V[..., :, :1] @ V[..., :, :1].mT * 3     # projector on the first eigenvector
    check_against_torch(fn, (2, 4, 4), device=device)
    check_against_torch(lambda lib, x: lib.linalg.eigvalsh(spd(lib, x)), (4, 4), device=device)


def test_eigh_upper_reads_upper_triangle(device):
    check_against_torch(lambda lib, x: lib.linalg.eigh(spd(lib, x).triu(), UPLO="U")[0], (4, 4), device=device)
    check_against_torch(lambda lib, x: lib.linalg.eigh(spd(lib, x).triu(), UPLO="U")[1].abs(), (4, 4),
                        device=device)


@pytest.mark.parametrize("fn", ["eigh", "eigvalsh"])
def test_bad_uplo_message_matches_torch(fn):
    messages = []
    for lib in (flambeau, torch):
        with pytest.raises(RuntimeError) as e:
            getattr(lib.linalg, fn)(lib.eye(2), UPLO="X")
        messages.append(str(e.value))
    assert messages[0] == messages[1]


def test_eigh_gradcheck():
    gradcheck(lambda lib, x: lib.linalg.eigh(x + x.mT)[1].abs() + lib.linalg.eigh(x + x.mT)[0].sum(), (3, 3))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_eig_values_match_torch(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 4, 4)).astype(dtype)
    ours, ref = pair(a)
    L, V = flambeau.linalg.eig(ours)
    L_ref, V_ref = torch.linalg.eig(ref)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else {}
    assert_same(L, L_ref, **tol)
    # eigenvectors are defined up to a unit factor: compare moduli, and check A V = V diag(L)
    assert_same(V.abs(), V_ref.abs(), **tol)
    np.testing.assert_allclose(to_numpy(ours.to(V.dtype) @ V), to_numpy(V * L.unsqueeze(-2)), **tol)
    assert_same(flambeau.linalg.eigvals(ours), torch.linalg.eigvals(ref), **tol)


def test_eig_gradients_match_torch():
    check_against_torch(lambda lib, a: (lib.linalg.eig(a)[0] + 2).abs(), (4, 4))
    check_against_torch(lambda lib, a: lib.linalg.eigvals(a).abs(), (2, 3, 3))
    check_against_torch(lambda lib, a: lib.linalg.eig(a)[1].abs(), (4, 4))


# -- SVD --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 4, 3)])
def test_svd_matches_torch(device, shape):
    # singular vectors are defined up to sign (LAPACK builds differ): compare sign-free functions of them
    def fn(lib, a):
        U, S, Vh = lib.linalg.svd(a, full_matrices=False)
        return S, U.abs(), Vh.abs(), U @ Vh
    check_against_torch(fn, shape, device=device)
    check_against_torch(lambda lib, a: lib.linalg.svdvals(a), shape, device=device)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5)])
def test_svd_full_matrices(shape):
    ours, ref = pair(np.random.default_rng(1).standard_normal(shape))
    U, S, Vh = flambeau.linalg.svd(ours)
    U_ref, S_ref, Vh_ref = torch.linalg.svd(ref)
    assert tuple(U.shape) == tuple(U_ref.shape) and tuple(Vh.shape) == tuple(Vh_ref.shape)
    assert_same(S, S_ref)
    m, n = shape
    k = min(m, n)
    assert_same(U[:, :k].abs(), U_ref[:, :k].abs())
    assert_same(Vh[:k].abs(), Vh_ref[:k].abs())
    recon = U[:, :k] @ flambeau.diag(S) @ Vh[:k]
    np.testing.assert_allclose(recon.numpy(), ours.numpy(), atol=1e-12)
    # gradients ignore the columns past k, as PyTorch's
    check_against_torch(lambda lib, a: lib.linalg.svd(a)[0][:, :k].abs() * 2, shape)


def test_svd_complex_values_and_gradcheck():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    ours, ref = pair(a)
    assert_same(flambeau.linalg.svdvals(ours), torch.linalg.svdvals(ref))
    gradcheck(lambda lib, x: lib.linalg.svd(x, full_matrices=False)[0].abs(), (4, 3))


def test_matrix_norms_through_svd(device):
    for ord in ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf]:
        check_against_torch(lambda lib, a: lib.linalg.matrix_norm(a, ord), (2, 4, 3), device=device)
    check_against_torch(lambda lib, a: lib.linalg.matrix_norm(a, "nuc", dim=(0, 2), keepdim=True), (4, 2, 3))


# -- QR -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,mode", [((5, 3), "reduced"), ((3, 5), "reduced"), ((4, 4), "complete"),
                                        ((3, 5), "complete"), ((2, 4, 3), "reduced")])
def test_qr_matches_torch(device, shape, mode):
    check_against_torch(lambda lib, a: lib.linalg.qr(a, mode), shape, device=device)


def test_qr_modes_shapes():
    ours, ref = pair(np.random.default_rng(0).standard_normal((5, 3)))
    assert_same(flambeau.linalg.qr(ours, "complete"), torch.linalg.qr(ref, "complete"))
    assert_same(flambeau.linalg.qr(ours, "r"), torch.linalg.qr(ref, "r"))
    gradcheck(lambda lib, a: lib.linalg.qr(a)[0] + lib.linalg.qr(a)[1].sum(), (4, 3))


def test_qr_complete_tall_not_differentiable():
    a = flambeau.randn(5, 3, dtype=flambeau.float64, requires_grad=True)
    q, r = flambeau.linalg.qr(a, "complete")
    with pytest.raises(RuntimeError, match="complete"):
        q.sum().backward()


# -- least squares, pseudo-inverse, rank --------------------------------------------------------------------
@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("sa,sb", [((5, 3), (5, 2)), ((3, 5), (3, 2)), ((2, 5, 3), (2, 5, 2)), ((5, 3), (5,))])
def test_lstsq_matches_torch(sa, sb, driver):
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    ours = flambeau.linalg.lstsq(flambeau.tensor(a), flambeau.tensor(b), driver=driver)
    ref = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
    assert_same(ours.solution, ref.solution)
    assert_same(ours.residuals, ref.residuals)
    assert_same(ours.rank, ref.rank)
    assert_same(ours.singular_values, ref.singular_values)


@pytest.mark.parametrize("sa,sb", [((5, 3), (5, 2)), ((3, 5), (3, 2))])
def test_lstsq_gradients(device, sa, sb):
    check_against_torch(lambda lib, a, b: lib.linalg.lstsq(a, b).solution, sa, sb, device=device)


def test_lstsq_rank_deficient_rank():
    a = np.ones((4, 3))
    ours = flambeau.linalg.lstsq(flambeau.tensor(a), flambeau.tensor(np.ones((4, 1))), driver="gelsd")
    ref = torch.linalg.lstsq(torch.tensor(a), torch.tensor(np.ones((4, 1))), driver="gelsd")
    assert_same(ours.rank, ref.rank)
    assert_same(ours.solution, ref.solution)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3)])
def test_pinv_matches_torch(device, shape):
    check_against_torch(lambda lib, a: lib.linalg.pinv(a), shape, device=device)


def test_pinv_hermitian_and_rank():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 2))
    a = x @ x.T                                   # rank 2
    ours, ref = pair(a)
    assert_same(flambeau.linalg.pinv(ours, hermitian=True), torch.linalg.pinv(ref, hermitian=True), atol=1e-7)
    assert_same(flambeau.linalg.pinv(ours), torch.linalg.pinv(ref), atol=1e-7)
    assert_same(flambeau.linalg.matrix_rank(ours), torch.linalg.matrix_rank(ref))
    assert_same(flambeau.linalg.matrix_rank(ours, hermitian=True), torch.linalg.matrix_rank(ref, hermitian=True))
    assert_same(flambeau.linalg.matrix_rank(ours, atol=1.0, rtol=0.0), torch.linalg.matrix_rank(ref, atol=1.0,
                                                                                               rtol=0.0))
    b = np.stack([a, np.eye(4)])
    assert_same(flambeau.linalg.matrix_rank(flambeau.tensor(b)), torch.linalg.matrix_rank(torch.tensor(b)))


# -- compositions ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -2])
def test_matrix_power_matches_torch(device, n):
    check_against_torch(lambda lib, a: lib.linalg.matrix_power(a, n) * 1.0, (2, 3, 3), device=device,
                        make_input=lambda rng, s: rng.standard_normal(s) * 0.5 + np.eye(3))


def test_multi_dot_matches_torch(device):
    check_against_torch(lambda lib, a, b, c, d: lib.linalg.multi_dot([a, b, c, d]), (4,), (4, 6), (6, 2), (2,),
                        device=device)
    check_against_torch(lambda lib, a, b, c: lib.linalg.multi_dot((a, b, c)), (10, 2), (2, 8), (8, 3),
                        device=device)
    check_against_torch(lambda lib, a, b: lib.linalg.multi_dot([a, b]), (3,), (3,), device=device)


def test_cross_and_vecdot_match_torch(device):
    check_against_torch(lambda lib, a, b: lib.linalg.cross(a, b), (4, 3), (1, 3), device=device)
    check_against_torch(lambda lib, a, b: lib.linalg.cross(a, b, dim=0), (3, 2), (3, 2), device=device)
    check_against_torch(lambda lib, a, b: lib.linalg.vecdot(a, b), (2, 4), (4,), device=device)


@pytest.mark.parametrize("ord", [2, 1, 0, 3, 0.5, math.inf, -math.inf])
def test_vector_norm_matches_torch(device, ord):
    make = lambda rng, s: rng.standard_normal(s) + np.sign(rng.standard_normal(s)) * 0.1   # off zero
    check_against_torch(lambda lib, a: lib.linalg.vector_norm(a, ord), (3, 4), device=device, make_input=make,
                        grad=ord != 0)
    check_against_torch(lambda lib, a: lib.linalg.vector_norm(a, ord, dim=(0, 2), keepdim=True), (2, 3, 4),
                        device=device, make_input=make, grad=ord != 0)


def test_norm_dispatch_and_zero_gradient(device):
    check_against_torch(lambda lib, a: lib.linalg.norm(a), (3, 4), device=device)
    check_against_torch(lambda lib, a: lib.linalg.norm(a, "fro"), (3, 4), device=device)
    check_against_torch(lambda lib, a: lib.linalg.norm(a, 1, dim=1), (3, 4), device=device)
    check_against_torch(lambda lib, a: lib.linalg.norm(a, 2), (3, 4), device=device)
    check_against_torch(lambda lib, a: lib.linalg.norm(a, dim=(0, 1)), (3, 4, 2), device=device)
    check_against_torch(lambda lib, a: lib.linalg.norm(a * 0), (3, 4), device=device)   # gradient 0 at 0
    check_against_torch(lambda lib, a: lib.linalg.vector_norm(a * 0, 3), (3, 4), device=device)
    check_against_torch(lambda lib, a: lib.linalg.vector_norm(a[0] * 0 + a, 3, dim=1), (3, 4), device=device)


def test_lu_factor_and_lu_match_torch():
    rng = np.random.default_rng(7)
    for shape in [(4, 4), (2, 5, 3), (3, 5)]:
        ours, ref = pair(rng.standard_normal(shape))
        assert_same(flambeau.linalg.lu_factor(ours), torch.linalg.lu_factor(ref))
        assert_same(flambeau.linalg.lu(ours), torch.linalg.lu(ref))


def test_inv_ex_solve_ex_info():
    a = np.stack([np.eye(3), np.ones((3, 3))])
    ours, ref = pair(a)
    assert_same(flambeau.linalg.inv_ex(ours).info, torch.linalg.inv_ex(ref).info)
    assert_same(flambeau.linalg.inv_ex(ours).inverse[0], torch.linalg.inv_ex(ref).inverse[0])
    assert_same(flambeau.linalg.solve_ex(ours, flambeau.ones(2, 3, dtype=flambeau.float64)).info,
                torch.linalg.solve_ex(ref, torch.ones(2, 3, dtype=torch.float64)).info)


# -- errors ---------------------------------------------------------------------------------------------------------
def both_raise(fn, *arrays, match=None):
    """fn(lib, *tensors) raises the same exception class for flambeau and torch; returns the messages."""
    ours = [flambeau.tensor(a) for a in arrays]
    ref = [torch.tensor(a) for a in arrays]
    with pytest.raises(Exception) as e_ref:
        fn(torch, *ref)
    with pytest.raises(Exception) as e_ours:
        fn(flambeau, *ours)
    assert issubclass(e_ours.type, RuntimeError) == issubclass(e_ref.type, RuntimeError)
    assert e_ours.type.__name__.lstrip("_") == e_ref.type.__name__.lstrip("_"), (e_ours.value, e_ref.value)
    if match is not None:
        assert match in str(e_ours.value), str(e_ours.value)
    return str(e_ours.value), str(e_ref.value)


def test_errors_non_square_and_dimensions():
    msg, ref = both_raise(lambda lib, a: lib.linalg.inv(a), np.ones((2, 3)))
    assert msg == ref == "linalg.inv: A must be batches of square matrices, but they are 2 by 3 matrices"
    both_raise(lambda lib, a: lib.linalg.det(a), np.ones((2, 3)), match="square")
    both_raise(lambda lib, a: lib.linalg.inv(a), np.ones(3), match="at least 2 dimensions")
    both_raise(lambda lib, a: lib.inverse(a), np.ones((2, 3)), match="square")
    both_raise(lambda lib, a: lib.linalg.eigh(a), np.ones((2, 3)), match="square")
    both_raise(lambda lib, a: lib.linalg.matrix_power(a, 2), np.ones((2, 3)), match="square")


def test_errors_singular_is_linalg_error():
    msg, ref = both_raise(lambda lib, a: lib.linalg.inv(a), np.ones((3, 3)))
    assert msg == ref
    msg, ref = both_raise(lambda lib, a: lib.linalg.inv(a), np.stack([np.eye(3), np.ones((3, 3))]))
    assert msg == ref and "(Batch element 1)" in msg
    msg, ref = both_raise(lambda lib, a, b: lib.linalg.solve(a, b), np.ones((3, 3)), np.ones(3))
    assert msg == ref
    assert issubclass(flambeau.linalg.LinAlgError, RuntimeError)
    with pytest.raises(flambeau.linalg.LinAlgError):
        flambeau.linalg.inv(flambeau.zeros(2, 2))


def test_linalg_error_class_has_torchs_name():
    # torch.linalg.LinAlgError is torch._C._LinAlgError: scripts printing type(e).__name__ see that name
    for lib in (flambeau, torch):
        with pytest.raises(lib.linalg.LinAlgError) as e:
            lib.linalg.inv(lib.ones(2, 2))
        assert type(e.value).__name__ == torch.linalg.LinAlgError.__name__
        assert isinstance(e.value, RuntimeError)


def test_errors_not_positive_definite():
    msg, ref = both_raise(lambda lib, a: lib.linalg.cholesky(a), np.diag([1.0, -1.0, 1.0]))
    assert msg == ref
    msg, ref = both_raise(lambda lib, a: lib.linalg.cholesky(a), np.stack([np.eye(3), -np.eye(3)]))
    assert msg == ref


def test_errors_dtypes():
    ints = np.ones((3, 3), dtype=np.int64)
    for fn in [lambda lib, a: lib.linalg.inv(a), lambda lib, a: lib.linalg.det(a),
               lambda lib, a: lib.linalg.svd(a), lambda lib, a: lib.linalg.qr(a),
               lambda lib, a: lib.linalg.cholesky(a), lambda lib, a: lib.linalg.eigh(a),
               lambda lib, a: lib.linalg.pinv(a), lambda lib, a: lib.linalg.matrix_rank(a),
               lambda lib, a: lib.linalg.vector_norm(a)]:
        both_raise(fn, ints)
    msg, ref = both_raise(lambda lib, a, b: lib.linalg.solve(a, b), np.eye(3, dtype=np.float32), np.ones((3, 3)))
    assert msg == ref


def test_errors_shapes():
    msg, ref = both_raise(lambda lib, a, b: lib.linalg.solve(a, b), np.eye(3), np.ones(4))
    assert msg == ref
    msg, ref = both_raise(lambda lib, a, b: lib.linalg.lstsq(a, b), np.ones((4, 3)), np.ones((5, 2)))
    assert msg == ref
    msg, ref = both_raise(lambda lib, a: lib.linalg.multi_dot([a]), np.ones((3, 3)))
    assert msg == ref
    msg, ref = both_raise(lambda lib, a, b: lib.linalg.cross(a, b), np.ones(4), np.ones(4))
    assert msg == ref
    both_raise(lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=True), np.eye(3), np.ones(3))
    both_raise(lambda lib, a, b: lib.linalg.multi_dot([a, b]), np.ones((3, 2)), np.ones((3, 2)))


def test_cond_matches_torch():
    for p in [None, 2, -2, "fro", "nuc", 1, -1, math.inf]:
        # torch's own backward fails for the norms that go through inv (an in-place write): values only
        check_against_torch(lambda lib, a: lib.linalg.cond(a, p), (2, 3, 3), make_input=wc,
                            grad=p in (None, 2, -2))


def test_double_backward():
    from flambeau.autograd import gradgradcheck
    rng = np.random.default_rng(9)
    for fn in [lambda a: flambeau.linalg.inv(a), lambda a: flambeau.linalg.det(a),
               lambda a: flambeau.linalg.cholesky(a @ a.mT + 3 * flambeau.eye(3, dtype=a.dtype)),
               lambda a: flambeau.linalg.solve(a, a.sum(-1))]:
        a = flambeau.tensor(rng.standard_normal((3, 3)) + 3 * np.eye(3), requires_grad=True)
        assert gradgradcheck(fn, (a,))


def test_errors_on_device(device):
    """Singular / not positive-definite input raises LinAlgError on every engine (CuPy does not raise itself)."""
    ref_msgs = []
    for fn, a in [(lambda lib, a: lib.linalg.inv(a), np.ones((3, 3))),
                  (lambda lib, a: lib.linalg.inv(a), np.stack([np.eye(3), np.ones((3, 3))])),
                  (lambda lib, a: lib.linalg.solve(a, a[..., 0]), np.ones((3, 3))),
                  (lambda lib, a: lib.linalg.cholesky(a), np.diag([1.0, -1.0, 1.0]))]:
        with pytest.raises(torch.linalg.LinAlgError) as e_ref:
            fn(torch, torch.tensor(a))
        with pytest.raises(flambeau.linalg.LinAlgError) as e_ours:
            fn(flambeau, flambeau.tensor(a, device=device))
        assert str(e_ours.value) == str(e_ref.value)


COMPLEX_CASES = [
    ("inv", lambda l, a: l.linalg.inv(a), [(3, 3)]),
    ("det", lambda l, a: l.linalg.det(a), [(3, 3)]),
    ("slogdet", lambda l, a: l.linalg.slogdet(a), [(3, 3)]),
    ("logdet", lambda l, a: l.logdet(a), [(3, 3)]),
    ("solve", lambda l, a, b: l.linalg.solve(a, b), [(3, 3), (3, 2)]),
    ("solve_triangular", lambda l, a, b: l.linalg.solve_triangular(a, b, upper=True), [(3, 3), (3, 2)]),
    ("cholesky", lambda l, a: l.linalg.cholesky(a @ a.mH + 3 * l.eye(3)), [(3, 3)]),
    ("eigh", lambda l, a: (l.linalg.eigh(a @ a.mH)[0], l.linalg.eigh(a @ a.mH)[1].abs()), [(3, 3)]),
    ("svd", lambda l, a: (l.linalg.svdvals(a), l.linalg.svd(a, full_matrices=False)[0].abs()), [(4, 3)]),
    ("svd_wide", lambda l, a: l.linalg.svd(a, full_matrices=False)[2].abs(), [(3, 4)]),
    ("qr", lambda l, a: l.linalg.qr(a), [(4, 3)]),
    ("qr_wide", lambda l, a: l.linalg.qr(a), [(3, 4)]),
    ("pinv", lambda l, a: l.linalg.pinv(a), [(4, 3)]),
    ("lstsq", lambda l, a, b: l.linalg.lstsq(a, b).solution, [(4, 3), (4, 2)]),
    ("eigvals", lambda l, a: l.linalg.eigvals(a), [(3, 3)]),
    ("norms", lambda l, a: (l.linalg.vector_norm(a), l.linalg.matrix_norm(a, "nuc")), [(3, 3)]),
]


@pytest.mark.parametrize("name,fn,shapes", COMPLEX_CASES, ids=[c[0] for c in COMPLEX_CASES])
def test_complex_values_and_gradients(name, fn, shapes):
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal(s) + 1j * rng.standard_normal(s) + (3 * np.eye(s[-1]) if s[-1] == s[-2] else 0)
              for s in shapes]
    ours = [flambeau.tensor(a, requires_grad=True) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, out_ref = fn(flambeau, *ours), fn(torch, *ref)
    out = out if isinstance(out, tuple) else (out,)
    out_ref = out_ref if isinstance(out_ref, tuple) else (out_ref,)
    assert_same(out, out_ref)
    cots = [rng.standard_normal(tuple(r.shape)) + (1j * rng.standard_normal(tuple(r.shape)) if r.is_complex()
                                                    else 0) for r in out_ref]
    flambeau.autograd.backward(list(out), [flambeau.tensor(c) for c in cots])
    torch.autograd.backward(list(out_ref), [torch.tensor(c) for c in cots])
    for a, b in zip(ours, ref):
        assert_same(a.grad, b.grad)


def test_det_gradient_at_singular_matrix_is_the_cofactor_matrix():
    """d det / dA = adj(A)^T also where det(A) = 0 (finite differences are exact for this polynomial)."""
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]])          # rank 2
    x = flambeau.tensor(a, requires_grad=True)
    flambeau.linalg.det(x).backward()
    cof = np.array([[np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) * (-1) ** (i + j) for j in range(3)]
                    for i in range(3)])
    np.testing.assert_allclose(x.grad.numpy(), cof, atol=1e-12)
    x = flambeau.tensor(np.stack([a, a + np.eye(3)]), requires_grad=True)
    assert flambeau.autograd.gradcheck(flambeau.linalg.det, (x,))


ZERO_SIZE = [
    (lambda l, a: l.linalg.inv(a), (0, 3, 3)), (lambda l, a: l.linalg.det(a), (0, 0)),
    (lambda l, a: l.linalg.slogdet(a), (2, 0, 0)), (lambda l, a: l.linalg.svd(a), (0, 3)),
    (lambda l, a: l.linalg.svd(a, full_matrices=False), (3, 0)), (lambda l, a: l.linalg.svdvals(a), (2, 0, 3)),
    (lambda l, a: l.linalg.qr(a), (0, 3)), (lambda l, a: l.linalg.qr(a, "complete"), (3, 0)),
    (lambda l, a: l.linalg.eigh(a), (0, 0)), (lambda l, a: l.linalg.eig(a), (0, 0)),
    (lambda l, a: l.linalg.cholesky(a), (0, 0)), (lambda l, a: l.linalg.pinv(a), (0, 3)),
    (lambda l, a: l.linalg.matrix_rank(a), (0, 3)), (lambda l, a: l.linalg.lstsq(a, a[..., :1]).solution, (0, 3)),
    (lambda l, a: l.linalg.solve(a, a), (0, 2, 2)), (lambda l, a: l.linalg.matrix_power(a, 3), (0, 0)),
    (lambda l, a: l.linalg.lu_factor(a), (0, 0)), (lambda l, a: l.linalg.solve_triangular(a, a, upper=True), (0, 0)),
]


@pytest.mark.parametrize("k", range(len(ZERO_SIZE)))
def test_zero_size_inputs(k):
    fn, shape = ZERO_SIZE[k]
    a = np.zeros(shape)
    assert_same(fn(flambeau, flambeau.tensor(a)), fn(torch, torch.tensor(a)))


def test_out_tuples():
    rng = np.random.default_rng(12)
    a = rng.standard_normal((4, 3))
    outs = (flambeau.empty(0, dtype=flambeau.float64), flambeau.empty(0, dtype=flambeau.float64))
    r = flambeau.linalg.qr(flambeau.tensor(a), out=outs)
    assert r.Q is outs[0] and r.R is outs[1]
    assert_same(r, torch.linalg.qr(torch.tensor(a)))
    s = flambeau.empty(3, dtype=flambeau.float64)
    flambeau.linalg.svdvals(flambeau.tensor(a), out=s)
    assert_same(s, torch.linalg.svdvals(torch.tensor(a)))
    with pytest.raises(TypeError):
        flambeau.linalg.svd(flambeau.tensor(a), out=s)


@pytest.mark.parametrize("scale", [0.1, 3.0])
def test_matrix_exp_matches_torch(device, scale):
    check_against_torch(lambda lib, a: lib.linalg.matrix_exp(a * scale), (2, 3, 3), device=device)
    check_against_torch(lambda lib, a: lib.matrix_exp(a * scale), (4, 4), device=device)
    check_against_torch(lambda lib, a: (a * scale).matrix_exp(), (2, 2), device=device)


def test_matrix_exp_gradcheck_and_complex():
    gradcheck(lambda lib, a: lib.linalg.matrix_exp(a), (3, 3))
    rng = np.random.default_rng(13)
    a = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    assert_same(flambeau.linalg.matrix_exp(flambeau.tensor(a)), torch.linalg.matrix_exp(torch.tensor(a)))


@pytest.mark.parametrize("left,adjoint", [(True, False), (True, True), (False, False), (False, True)])
def test_lu_solve_matches_torch(left, adjoint):
    rng = np.random.default_rng(14)
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((2, 3, 2) if left else (2, 2, 3))
    LU, piv = flambeau.linalg.lu_factor(flambeau.tensor(a))
    LU_ref, piv_ref = torch.linalg.lu_factor(torch.tensor(a))
    assert_same(flambeau.linalg.lu_solve(LU, piv, flambeau.tensor(b), left=left, adjoint=adjoint),
                torch.linalg.lu_solve(LU_ref, piv_ref, torch.tensor(b), left=left, adjoint=adjoint))
