"""Lecture 1.4/1.5 linear algebra: gels, eig (2019 APIs), the blood-pressure regression, and the
top-level LAPACK functions (torch.inverse, torch.svd...) against torch 2.13 where it still has them."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import flambeau
from _oracle import check_against_torch, gradcheck, assert_same, need_torch, to_numpy

torch = need_torch()

EXAMPLES = os.path.join(os.path.dirname(flambeau.__file__), "examples")
DATA = os.path.join(EXAMPLES, "data", "systolic-blood-pressure-vs-age.dat")

# The 15 rows the lecture shows (``cat systolic-blood-pressure-vs-age.dat``)
LECTURE_ROWS = [(39, 144), (47, 220), (45, 138), (47, 145), (65, 162), (46, 142), (67, 170), (42, 124),
                (67, 158), (56, 154), (64, 162), (56, 150), (59, 140), (34, 110), (42, 128)]


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return fn(*args, **kwargs)


# -- the lecture's transcripts ---------------------------------------------------------------------------
def test_gels_transcript_gives_back_y(device):
    """y = torch.empty(3).normal_(); m = torch.empty(3, 3).normal_(); q, _ = torch.gels(y, m); torch.mm(m, q)"""
    flambeau.manual_seed(0)
    y = flambeau.empty(3, device=device).normal_()
    m = flambeau.empty(3, 3, device=device).normal_()
    with pytest.warns(DeprecationWarning, match="linalg.lstsq"):
        q, _ = flambeau.gels(y, m)
    r = flambeau.mm(m, q)
    assert tuple(q.shape) == (3, 1) and tuple(r.shape) == (3, 1)
    assert q.dtype is flambeau.float32
    r, y, m, q = (to_numpy(t) for t in (r, y, m, q))
    np.testing.assert_allclose(r, y.reshape(3, 1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(q[:, 0], np.linalg.solve(m.astype(np.float64), y.astype(np.float64)), rtol=1e-4,
                               atol=1e-5)


def test_data_file_has_the_lecture_rows():
    np.testing.assert_array_equal(np.loadtxt(DATA), np.array(LECTURE_ROWS, dtype=np.float64))


def lecture_regression(path):
    """The lecture's code block, as written, with flambeau as torch."""
    import numpy
    torch = flambeau
    data = torch.tensor(numpy.loadtxt(path))
    nb_samples = data.size(0)
    x, y = torch.empty(nb_samples, 2), torch.empty(nb_samples, 1)
    x[:, 0] = data[:, 0]
    x[:, 1] = 1
    y[:, 0] = data[:, 1]
    alpha, _ = torch.gels(y, x)
    a, b = alpha[0, 0].item(), alpha[1, 0].item()
    return alpha, a, b


def test_regression_matches_numpy_lstsq():
    alpha, a, b = quiet(lecture_regression, DATA)
    d = np.array(LECTURE_ROWS, dtype=np.float64)
    X = np.stack([d[:, 0], np.ones(len(d))], 1)
    (a_ref, b_ref), res, _, _ = np.linalg.lstsq(X, d[:, 1], rcond=None)
    assert abs(a - a_ref) < 1e-4 and abs(b - b_ref) < 1e-3
    # X has max(m, n) = 15 rows: below the solution, LAPACK's residual components
    assert tuple(alpha.shape) == (15, 1)
    np.testing.assert_allclose((alpha[2:, 0] ** 2).sum().item(), res[0], rtol=1e-4)


def test_example_script_prints_a_and_b(tmp_path):
    d = np.array(LECTURE_ROWS, dtype=np.float64)
    X = np.stack([d[:, 0], np.ones(len(d))], 1)
    a_ref, b_ref = np.linalg.lstsq(X, d[:, 1], rcond=None)[0]
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(flambeau.__file__)))
    out = subprocess.run([sys.executable, "-m", "flambeau.examples.linear_regression"], capture_output=True,
                         text=True, env=env, check=True, timeout=120).stdout
    values = dict(line.split(" = ") for line in out.strip().splitlines())
    assert abs(float(values["a"]) - a_ref) < 1e-4 and abs(float(values["b"]) - b_ref) < 1e-3
    # --data FILE: an exact line y = 2x + 1
    f = tmp_path / "line.dat"
    np.savetxt(f, np.array([[0, 1], [1, 3], [2, 5], [3, 7]], dtype=np.float64))
    from flambeau.examples import linear_regression
    a, b = linear_regression.fit(str(f))
    assert abs(a - 2) < 1e-5 and abs(b - 1) < 1e-5
    out = subprocess.run([sys.executable, "-m", "flambeau.examples.linear_regression", "--data", str(f)],
                         capture_output=True, text=True, env=env, check=True, timeout=120).stdout
    assert "a = 2.000000" in out and "b = 1.000000" in out


# -- gels: 2019 semantics ------------------------------------------------------------------------------------
def test_gels_tall_solution_residual_rows_and_qr(device):
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    X, QR = quiet(flambeau.gels, flambeau.tensor(B, device=device), flambeau.tensor(A, device=device))
    assert X.stride() == (1, 6)                   # LAPACK's column-major result, as PyTorch returned it
    X, QR = X.cpu(), QR.cpu()
    assert tuple(X.shape) == (6, 2) and tuple(QR.shape) == (6, 3)
    sol, res = np.linalg.lstsq(A, B, rcond=None)[:2]
    np.testing.assert_allclose(X[:3].numpy(), sol, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose((X[3:] ** 2).sum(0).numpy(), res, rtol=1e-10)
    # QR: R in the upper triangle, as LAPACK geqrf leaves it (LAPACK's column-major layout)
    np.testing.assert_allclose(np.triu(QR.numpy())[:3], np.linalg.qr(A, mode="r"), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(QR.numpy(), np.linalg.qr(A, mode="raw")[0].T, rtol=1e-10, atol=1e-12)


def test_gels_wide_gives_minimum_norm_solution():
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((2, 4)), rng.standard_normal((2, 1))
    X, QR = quiet(flambeau.gels, flambeau.tensor(B), flambeau.tensor(A))
    assert tuple(X.shape) == (4, 1) and tuple(QR.shape) == (2, 4)
    np.testing.assert_allclose(X.numpy(), np.linalg.lstsq(A, B, rcond=None)[0], rtol=1e-10, atol=1e-12)
    # LQ factorisation: L in the lower triangle (|diag| = |diag R| of A^T's QR)
    np.testing.assert_allclose(np.abs(np.diag(QR.numpy())), np.abs(np.diag(np.linalg.qr(A.T, mode="r"))),
                               rtol=1e-10)


def test_gels_errors_and_gradients():
    with pytest.raises(RuntimeError):
        quiet(flambeau.gels, flambeau.ones(4, 1), flambeau.ones(3, 2))          # row counts differ
    with pytest.raises(RuntimeError):
        quiet(flambeau.gels, flambeau.ones(3, dtype=flambeau.int64), flambeau.ones(3, 2, dtype=flambeau.int64))
    gradcheck(lambda lib, b, a: quiet(lib.gels, b, a)[0][:3], (5, 2), (5, 3))
    gradcheck(lambda lib, b, a: quiet(lib.gels, b, a)[0], (2, 2), (2, 4))


def test_old_lstsq_and_tensor_methods_follow_gels():
    rng = np.random.default_rng(2)
    A, B = flambeau.tensor(rng.standard_normal((5, 2))), flambeau.tensor(rng.standard_normal((5, 1)))
    X = quiet(flambeau.gels, B, A)[0]
    with pytest.warns(DeprecationWarning, match="linalg.lstsq"):
        assert_same(flambeau.lstsq(B, A)[0], X)
    assert_same(quiet(B.gels, A).solution, X)


# -- eig: 2019 semantics --------------------------------------------------------------------------------------
def test_eig_values_as_real_imaginary_pairs(device):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5, 5))
    with pytest.warns(DeprecationWarning, match="linalg.eig"):
        e, v = flambeau.eig(flambeau.tensor(a, device=device))
    e = e.cpu()
    assert tuple(e.shape) == (5, 2) and e.dtype is flambeau.float64
    assert v.numel() == 0
    w = np.linalg.eigvals(a)
    np.testing.assert_allclose(e[:, 0].numpy() + 1j * e[:, 1].numpy(), w, rtol=1e-10)
    # the same values as torch.linalg.eig, in the same order
    np.testing.assert_allclose(e[:, 0].numpy() + 1j * e[:, 1].numpy(),
                               torch.linalg.eigvals(torch.tensor(a)).numpy(), rtol=1e-10)


def test_eig_eigenvectors_in_lapack_real_layout():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((6, 6)).astype(np.float32)
    e, v = quiet(flambeau.eig, flambeau.tensor(a), eigenvectors=True)
    assert tuple(v.shape) == (6, 6) and v.dtype is flambeau.float32
    e, v = e.numpy().astype(np.float64), v.numpy().astype(np.float64)
    lam = e[:, 0] + 1j * e[:, 1]
    assert np.any(e[:, 1] != 0), "test matrix should have complex eigenvalues"
    j = 0
    while j < 6:
        if e[j, 1] != 0:                           # pair: columns j, j+1 are Re and Im of lambda_j's vector
            vec = v[:, j] + 1j * v[:, j + 1]
            np.testing.assert_allclose(a @ vec, lam[j] * vec, atol=1e-4)
            np.testing.assert_allclose(lam[j + 1], np.conj(lam[j]), rtol=1e-6)
            j += 2
        else:
            np.testing.assert_allclose(a @ v[:, j], lam[j] * v[:, j], atol=1e-4)
            j += 1


def test_eig_rotation_matrix():
    e, v = quiet(flambeau.eig, flambeau.tensor([[0., 1.], [-1., 0.]]), True)
    np.testing.assert_allclose(e.numpy(), [[0, 1], [0, -1]], atol=1e-7)


def test_eig_gradient_and_errors():
    gradcheck(lambda lib, a: quiet(lib.eig, a + lib.diag(lib.tensor([0., 3., 6.], dtype=a.dtype)))[0], (3, 3))
    with pytest.raises(RuntimeError):
        quiet(flambeau.eig, flambeau.ones(2, 3))
    with pytest.raises(RuntimeError):
        quiet(flambeau.eig, flambeau.ones(3, 3, dtype=flambeau.int64))


def test_symeig_and_old_solve():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 4))
    a = x + x.T
    with pytest.warns(DeprecationWarning, match="linalg.eigh"):
        e, v = flambeau.symeig(flambeau.tensor(a))
    np.testing.assert_allclose(e.numpy(), np.linalg.eigvalsh(a), rtol=1e-10)
    assert v.numel() == 0
    e, v = quiet(flambeau.symeig, flambeau.tensor(np.triu(a)), eigenvectors=True)     # reads the upper triangle
    np.testing.assert_allclose(v.numpy() @ np.diag(e.numpy()) @ v.numpy().T, a, atol=1e-10)
    b = rng.standard_normal((4, 2))
    with pytest.warns(DeprecationWarning, match="linalg.solve"):
        X, LU = flambeau.solve(flambeau.tensor(b), flambeau.tensor(a))
    np.testing.assert_allclose(X.numpy(), np.linalg.solve(a, b), rtol=1e-10)
    assert_same(LU, torch.linalg.lu_factor(torch.tensor(a)).LU)


# -- top-level functions PyTorch still has ------------------------------------------------------------------
def wc(rng, s):
    a = rng.standard_normal(s)
    return a + s[-1] * np.eye(s[-1]) if len(s) >= 2 and s[-1] == s[-2] else a


def test_inverse_det_logdet_slogdet_pinverse(device):
    check_against_torch(lambda lib, a: lib.inverse(a), (2, 3, 3), device=device, make_input=wc)
    check_against_torch(lambda lib, a: a.inverse(), (3, 3), device=device, make_input=wc)
    check_against_torch(lambda lib, a: lib.det(a), (3, 3), device=device, make_input=wc)
    check_against_torch(lambda lib, a: a.det(), (2, 3, 3), device=device, make_input=wc)
    check_against_torch(lambda lib, a: lib.logdet(a), (3, 3), device=device, make_input=wc)
    check_against_torch(lambda lib, a: a.logdet(), (3, 3), device=device, make_input=wc)
    check_against_torch(lambda lib, a: lib.slogdet(a), (3, 3), device=device, make_input=wc)
    check_against_torch(lambda lib, a: a.slogdet(), (3, 3), device=device, make_input=wc)
    check_against_torch(lambda lib, a: lib.pinverse(a), (4, 3), device=device)
    check_against_torch(lambda lib, a: a.pinverse(), (3, 4), device=device)


def test_matrix_power_trace_cross(device):
    check_against_torch(lambda lib, a: lib.matrix_power(a, 3), (3, 3), device=device)
    check_against_torch(lambda lib, a: a.matrix_power(-2), (3, 3), device=device, make_input=wc)
    check_against_torch(lambda lib, a: lib.trace(a), (3, 4), device=device)
    check_against_torch(lambda lib, a: a.trace(), (4, 4), device=device)
    check_against_torch(lambda lib, a, b: lib.cross(a, b, dim=1), (2, 3), (2, 3), device=device)
    check_against_torch(lambda lib, a, b: a.cross(b, dim=0), (3, 2), (3, 2), device=device)
    ours, ref = flambeau.arange(12, dtype=flambeau.int32).reshape(3, 4), torch.arange(12, dtype=torch.int32).view(3, 4)
    assert_same(flambeau.trace(ours), torch.trace(ref))
    with pytest.raises(RuntimeError, match="expected a matrix"):
        flambeau.trace(flambeau.ones(2, 3, 4))


def test_cross_default_dim_warns_like_torch():
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 2))
    with pytest.warns(UserWarning, match="dim"):
        ours = flambeau.cross(flambeau.tensor(a), flambeau.tensor(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.cross(torch.tensor(a), torch.tensor(b))
    assert_same(ours, ref)


def spd(lib, x):
    return x @ x.mT + x.shape[-1] * lib.eye(x.shape[-1], dtype=x.dtype)


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_family(upper):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # torch.cholesky warns that it is deprecated
        check_against_torch(lambda lib, x: lib.cholesky(spd(lib, x), upper), (3, 3))
        check_against_torch(lambda lib, x: spd(lib, x).cholesky(upper=upper), (2, 3, 3))
    check_against_torch(lambda lib, x, b: lib.cholesky_solve(b, lib.linalg.cholesky(spd(lib, x), upper=upper),
                                                             upper), (3, 3), (3, 2))
    check_against_torch(lambda lib, x, b: b.cholesky_solve(lib.linalg.cholesky(spd(lib, x))), (2, 3, 3),
                        (2, 3, 1))
    check_against_torch(lambda lib, x: lib.cholesky_inverse(lib.linalg.cholesky(spd(lib, x), upper=upper), upper),
                        (3, 3))


@pytest.mark.parametrize("upper,transpose,unit", [(True, False, False), (False, True, False), (True, True, True)])
def test_triangular_solve(upper, transpose, unit):
    check_against_torch(lambda lib, b, a: lib.triangular_solve(b, a, upper, transpose, unit), (3, 2), (3, 3),
                        make_input=wc)
    check_against_torch(lambda lib, b, a: b.triangular_solve(a, upper=upper)[0], (2, 3, 2), (3, 3), make_input=wc)


def test_qr_svd_top_level(device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_against_torch(lambda lib, a: lib.qr(a), (5, 3), device=device)
        check_against_torch(lambda lib, a: a.qr(some=False), (3, 3), device=device)
    # torch.svd returns V, not V^H; compare sign-free quantities (singular vectors are up to sign)
    for shape, some in [((5, 3), True), ((3, 5), True), ((4, 4), False)]:
        ours, ref = flambeau.tensor(np.random.default_rng(7).standard_normal(shape)), None
        ref = torch.tensor(ours.numpy())
        U, S, V = flambeau.svd(ours, some=some)
        U_ref, S_ref, V_ref = torch.svd(ref, some=some)
        assert tuple(U.shape) == tuple(U_ref.shape) and tuple(V.shape) == tuple(V_ref.shape)
        assert_same(S, S_ref)
        k = S.shape[0]
        assert_same(U[:, :k] @ V[:, :k].mT, U_ref[:, :k] @ V_ref[:, :k].mT)
    U, S, V = flambeau.tensor(np.ones((3, 2))).svd(compute_uv=False)
    U_ref, S_ref, V_ref = torch.ones(3, 2, dtype=torch.float64).svd(compute_uv=False)
    assert_same((U, S, V), (U_ref, S_ref, V_ref))


def test_lu_family():
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 4, 3))
    LU, piv = flambeau.lu(flambeau.tensor(a))
    LU_ref, piv_ref = torch.linalg.lu_factor(torch.tensor(a))
    assert_same((LU, piv), (LU_ref, piv_ref))
    assert_same(flambeau.lu_unpack(LU, piv), torch.lu_unpack(LU_ref, piv_ref))
    assert_same(flambeau.lu_solve(flambeau.tensor(b), LU, piv), torch.linalg.lu_solve(LU_ref, piv_ref,
                                                                                      torch.tensor(b)))
    LU, piv, info = flambeau.tensor(np.ones((3, 3))).lu(get_infos=True)
    assert info.item() == 2


def test_matrix_rank_removed_api():
    x = np.ones((4, 3))
    with pytest.warns(DeprecationWarning, match="linalg.matrix_rank"):
        r = flambeau.matrix_rank(flambeau.tensor(x))
    assert r.item() == 1 and r.dtype is flambeau.int64
