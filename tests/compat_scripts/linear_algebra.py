"""Course-style linear algebra with torch.linalg: solving, factorising, spectra, norms, least squares,
gradients through decompositions and the errors of typical mistakes, seeded."""
import warnings

import torch


def r(t, d=4):
    """Rounded list of a float tensor: long computations may differ by an ulp."""
    return [round(v, d) + 0.0 for v in t.flatten().tolist()]     # + 0.0: no -0.0 from rounding noise


def rc(z, d=4):
    """Rounded (real, imag) pairs of a complex tensor, sorted: eigenvalue order is not defined."""
    return sorted((round(v.real, d) + 0.0, round(v.imag, d) + 0.0) for v in z.flatten().tolist())


def signs(V):
    """Columns of V with their largest-magnitude entry made positive: eigenvectors have no sign."""
    idx = V.abs().argmax(-2, keepdim=True)
    return V * V.gather(-2, idx).sign()


def attempt(label, fn):
    try:
        out = fn()
        print(label, "->", out)
    except Exception as e:      # the message is part of what is compared
        print(label, "!!", type(e).__name__, str(e).splitlines()[0])


torch.manual_seed(0)
A = torch.randn(4, 4) + 4 * torch.eye(4)
b = torch.randn(4)
B = torch.randn(4, 2)

# --- solving systems ---
x = torch.linalg.solve(A, b)
print("solve", x.shape, x.dtype, r(x), f"{(A @ x - b).abs().max().item() < 1e-5}")
X = torch.linalg.solve(A, B)
print("solve mat", X.shape, r(X), torch.allclose(A @ X, B, atol=1e-5))
Xr = torch.linalg.solve(A, B.t(), left=False)
print("solve right", Xr.shape, torch.allclose(Xr @ A, B.t(), atol=1e-5))
sol_ex = torch.linalg.solve_ex(A, B)
print(type(sol_ex).__name__, sol_ex.info, sol_ex.result.shape)
Ainv = torch.linalg.inv(A)
print("inv", r(Ainv @ A, 3), torch.allclose(torch.inverse(A), Ainv))
inv_ex = torch.linalg.inv_ex(A)
print(inv_ex.info, inv_ex.inverse.shape, torch.linalg.inv_ex(torch.zeros(2, 2)).info)
print("det", f"{torch.linalg.det(A).item():.4f}", f"{torch.det(A).item():.4f}", f"{A.det().item():.4f}")
sl = torch.linalg.slogdet(A)
print(type(sl).__name__, sl.sign, f"{sl.logabsdet.item():.4f}", torch.slogdet(-torch.eye(3)))
print(torch.det(torch.tensor([[1., 2.], [3., 4.]])), torch.det(torch.eye(3, dtype=torch.float64)))
print(torch.linalg.det(torch.tensor([[2., 0.], [0., 3.]])), torch.logdet(torch.tensor([[2., 0.], [0., 3.]])))

# --- triangular systems, Cholesky, LU ---
S = A @ A.t() + torch.eye(4)
L = torch.linalg.cholesky(S)
print("chol", L.shape, torch.allclose(L @ L.t(), S, atol=1e-4), r(L.triu(1)), L.diagonal().gt(0).all())
U = torch.linalg.cholesky(S, upper=True)
print(torch.allclose(U, L.t()), torch.linalg.cholesky_ex(S).info, torch.linalg.cholesky_ex(-S).info)
y = torch.linalg.solve_triangular(L, B, upper=False)
z = torch.linalg.solve_triangular(L.t(), y, upper=True)
print("tri", torch.allclose(S @ z, B, atol=1e-4), r(torch.cholesky_solve(B, L) - z, 3))
print(torch.linalg.solve_triangular(torch.tensor([[2., 0.], [1., 1.]]), torch.tensor([[2.], [3.]]), upper=False))
print(torch.linalg.solve_triangular(torch.tensor([[2., 5.], [0., 1.]]), torch.tensor([[2.], [3.]]), upper=True,
                                    unitriangular=True))
LU, piv = torch.linalg.lu_factor(A)
print("lu_factor", LU.shape, piv, piv.dtype)
P, Lf, Uf = torch.linalg.lu(A)
print("lu", torch.allclose(P @ Lf @ Uf, A, atol=1e-5), r(Lf.diagonal()), P.dtype, r(P.sum(0)))
print(torch.allclose(torch.linalg.lu_solve(LU, piv, B), X, atol=1e-5))
P2, L2, U2 = torch.lu_unpack(LU, piv)
print(torch.equal(P2, P), torch.allclose(L2, Lf), torch.linalg.lu_factor_ex(A).info)
M = torch.tensor([[0., 1.], [2., 3.]])
print(torch.linalg.lu_factor(M), torch.linalg.lu(M))
print(torch.linalg.cholesky(torch.tensor([[4., 2.], [2., 3.]])), torch.cholesky_inverse(torch.tensor([[2., 0.], [1., 1.]])))

# --- QR, SVD, eigen-decompositions ---
T = torch.randn(5, 3)
for mode in ["reduced", "complete", "r"]:
    Q, R = torch.linalg.qr(T, mode=mode)
    print("qr", mode, Q.shape, R.shape, r(R.abs().diagonal(), 3))
Q, R = torch.linalg.qr(T)
print(torch.allclose(Q @ R, T, atol=1e-5), r(Q.t() @ Q, 3))
for full in [True, False]:
    Us, Ss, Vh = torch.linalg.svd(T, full_matrices=full)
    print("svd", full, Us.shape, Ss.shape, Vh.shape, r(Ss, 3))
Us, Ss, Vh = torch.linalg.svd(T, full_matrices=False)
print(torch.allclose(Us @ torch.diag(Ss) @ Vh, T, atol=1e-5), r(torch.linalg.svdvals(T), 3), Ss.dtype)
U3, S3, V3 = torch.svd(T)
print(U3.shape, V3.shape, torch.allclose((U3 * S3) @ V3.t(), T, atol=1e-5), torch.svd(T, some=False)[0].shape)
print(r(signs(V3), 3))
print(torch.linalg.svdvals(torch.tensor([[3., 0.], [0., -4.]])), torch.linalg.svd(torch.eye(2)).S)
ev, V = torch.linalg.eigh(S)
print("eigh", r(ev, 3), torch.allclose(V @ torch.diag(ev) @ V.t(), S, atol=1e-4), r(signs(V), 3))
print(r(torch.linalg.eigvalsh(S), 3), r(torch.linalg.eigvalsh(S, UPLO="U"), 3), ev.dtype, V.dtype)
rot = torch.tensor([[0., -1.], [1., 0.]])
w, Vc = torch.linalg.eig(rot)
print("eig", w.dtype, Vc.dtype, w.shape, rc(w), torch.linalg.eigvals(rot).dtype)
w2 = torch.linalg.eigvals(A)
print(rc(w2, 3), f"{w2.prod().real.item():.2f}", f"{torch.linalg.det(A).item():.2f}")
wd, Vd = torch.linalg.eig(torch.tensor([[2., 1.], [0., 3.]], dtype=torch.float64))
print(wd, rc(wd), torch.allclose((torch.tensor([[2., 1.], [0., 3.]], dtype=torch.cdouble) @ Vd), Vd * wd))
print(torch.linalg.eigvals(torch.diag(torch.tensor([3., 1., 2.]))))

# --- norms, rank, pseudo-inverse, powers ---
v = torch.tensor([3., -4., 0., 1.])
for ord in [None, 1, 2, float("inf"), -float("inf"), 0, 3, 0.5]:
    print("vnorm", ord, f"{torch.linalg.vector_norm(v, ord=ord if ord is not None else 2).item():.4f}",
          f"{torch.linalg.norm(v, ord).item():.4f}")
N = torch.tensor([[1., -2.], [3., 4.]])
for ord in ["fro", "nuc", 1, -1, 2, -2, float("inf"), -float("inf")]:
    print("mnorm", ord, f"{torch.linalg.matrix_norm(N, ord=ord).item():.4f}", f"{torch.linalg.norm(N, ord).item():.4f}")
print(torch.linalg.norm(N), torch.norm(N), N.norm(p=1), N.norm(dim=1), torch.linalg.vector_norm(N, dim=0, keepdim=True))
print(torch.linalg.norm(N, dim=(0, 1)), torch.linalg.vector_norm(N, ord=1, dtype=torch.float64))
print(torch.linalg.matrix_rank(torch.ones(3, 3)), torch.linalg.matrix_rank(torch.eye(4)), torch.linalg.matrix_rank(T))
print(torch.linalg.matrix_rank(torch.tensor([[1., 2.], [2., 4.001]]), atol=0.01), torch.linalg.matrix_rank(S, hermitian=True))
Pi = torch.linalg.pinv(T)
print("pinv", Pi.shape, r(Pi @ T, 3), torch.allclose(T @ Pi @ T, T, atol=1e-5), r(torch.linalg.pinv(torch.ones(2, 2)), 3))
print(torch.linalg.matrix_power(N, 3), torch.linalg.matrix_power(N, 0), r(torch.linalg.matrix_power(N, -2), 4))
print(torch.matrix_power(torch.tensor([[1, 1], [1, 0]]), 10), N.matrix_power(2))
print(r(torch.linalg.matrix_exp(rot), 4), torch.matrix_exp(torch.zeros(2, 2)), r(torch.linalg.matrix_exp(torch.eye(2)), 4))
print(torch.linalg.cross(torch.tensor([1., 0., 0.]), torch.tensor([0., 1., 0.])),
      torch.cross(torch.tensor([[1, 2, 3]]), torch.tensor([[4, 5, 6]]), dim=1))
print(torch.linalg.multi_dot([torch.ones(2, 3), torch.ones(3, 4), torch.ones(4)]), torch.linalg.vecdot(v, v))
print(f"{torch.linalg.cond(A).item():.3f}", torch.linalg.cond(torch.eye(3)), torch.trace(N), torch.outer(v[:2], v[:3]))
print([f"{torch.linalg.cond(N, p).item():.3f}" for p in [None, "fro", "nuc", 1, -1, 2, -2, float("inf")]])
h, tau = torch.geqrf(T)
print("householder", torch.allclose(torch.linalg.householder_product(h, tau).abs(), Q.abs(), atol=1e-5), tau.shape)

# --- batched versions ---
Ab = torch.randn(3, 4, 4) + 4 * torch.eye(4)
Bb = torch.randn(3, 4, 2)
Xb = torch.linalg.solve(Ab, Bb)
print("batch", Xb.shape, torch.allclose(Ab @ Xb, Bb, atol=1e-5), torch.linalg.solve(Ab, torch.randn(4, 1)).shape)
print(r(torch.linalg.det(Ab), 3), torch.linalg.inv(Ab).shape, torch.linalg.slogdet(Ab).sign)
print(torch.linalg.svd(torch.randn(2, 3, 5), full_matrices=False).Vh.shape, torch.linalg.eigvalsh(Ab @ Ab.mT).shape)
print(torch.linalg.qr(torch.randn(2, 5, 3)).Q.shape, torch.linalg.eig(Ab).eigenvectors.shape, torch.linalg.norm(Ab, dim=(1, 2)).shape)
print(torch.linalg.cholesky(Ab @ Ab.mT).shape, torch.linalg.lu_factor(Ab).pivots.shape, torch.linalg.matrix_rank(Ab))
print(torch.linalg.matrix_norm(Ab).shape, torch.linalg.matrix_norm(Ab, keepdim=True).shape, torch.linalg.pinv(Bb).shape)

# --- least squares: fitting a line and a polynomial ---
t = torch.linspace(0, 1, 20)
y_obs = 2 * t + 1 + 0.05 * torch.randn(20)
Xl = torch.stack([t, torch.ones_like(t)], 1)
fit = torch.linalg.lstsq(Xl, y_obs[:, None])
print(type(fit).__name__, len(fit), r(fit.solution, 3), r(fit[0], 3))
print(fit.solution.shape, fit.residuals, fit.rank, fit.singular_values)
for driver in ["gels", "gelsy", "gelsd", "gelss"]:
    f = torch.linalg.lstsq(Xl, y_obs[:, None], driver=driver)
    print(driver, r(f.solution, 3), f.residuals.shape, f.rank, f.singular_values.shape,
          r(f.residuals, 4), r(f.singular_values, 3))
normal = torch.linalg.solve(Xl.t() @ Xl, Xl.t() @ y_obs)
print("normal eq", r(normal, 3), r(torch.linalg.pinv(Xl) @ y_obs, 3))
Vp = torch.vander(t, N=4, increasing=True)
coef = torch.linalg.lstsq(Vp, torch.sin(3 * t)[:, None]).solution
print("poly", coef.shape, r(coef, 3), f"{(Vp @ coef - torch.sin(3 * t)[:, None]).pow(2).mean().item():.6f}")
fb = torch.linalg.lstsq(torch.randn(2, 6, 3), torch.randn(2, 6, 2), driver="gelsd")
print(fb.solution.shape, fb.residuals.shape, fb.rank, fb.singular_values.shape)
fw = torch.linalg.lstsq(torch.randn(3, 5, dtype=torch.float64), torch.randn(3, 1, dtype=torch.float64), driver="gelsd")
print(fw.solution.shape, fw.residuals, fw.rank, fw.singular_values.shape, fw.solution.dtype)

# --- gradients through decompositions ---
G = (torch.randn(3, 3) + 3 * torch.eye(3)).requires_grad_()
torch.linalg.det(G).backward()
print("ddet", r(G.grad, 3), torch.allclose(G.grad, torch.linalg.det(G) * torch.linalg.inv(G).t(), atol=1e-4))
G.grad = None
torch.linalg.inv(G).sum().backward()
print("dinv", r(G.grad, 3))
G.grad = None
rhs = torch.randn(3, requires_grad=True)
sol = torch.linalg.solve(G, rhs)
(sol ** 2).sum().backward()
print("dsolve", r(G.grad, 3), r(rhs.grad, 3), sol.grad_fn is not None)
G.grad = None
torch.linalg.svdvals(G).sum().backward()
print("dnuc", r(G.grad, 3))
G.grad = None
torch.linalg.slogdet(G).logabsdet.backward()
print("dlogdet", r(G.grad, 3))
Hs = torch.randn(3, 3, requires_grad=True)
torch.linalg.eigvalsh(Hs @ Hs.t()).max().backward()
print("deigh", r(Hs.grad, 3))
Hs.grad = None
torch.linalg.matrix_norm(Hs, ord=2).backward()
print("dspec", r(Hs.grad, 3))
Hs.grad = None
Lc = torch.linalg.cholesky(Hs @ Hs.t() + torch.eye(3))
Lc.diagonal().log().sum().backward()
print("dchol", r(Hs.grad, 3))
Ww = torch.randn(4, 2, requires_grad=True)
loss = torch.linalg.lstsq(Ww, torch.ones(4, 1)).solution.sum()
loss.backward()
print("dlstsq", r(Ww.grad, 3))
Ww.grad = None
Qg, Rg = torch.linalg.qr(Ww)
Rg.diagonal().abs().sum().backward()
print("dqr", r(Ww.grad, 3))

# --- typical mistakes ---
print(torch.linalg.inv(torch.eye(2, dtype=torch.float64)).dtype, torch.linalg.solve(torch.eye(2), torch.ones(2)).dtype)
attempt("inv singular", lambda: torch.linalg.inv(torch.tensor([[1., 2.], [2., 4.]])))
attempt("solve singular", lambda: torch.linalg.solve(torch.zeros(3, 3), torch.ones(3)))
attempt("cholesky not pd", lambda: torch.linalg.cholesky(torch.tensor([[1., 2.], [2., 1.]])))
attempt("cholesky batch", lambda: torch.linalg.cholesky(torch.stack([torch.eye(2), -torch.eye(2)])))
attempt("inv batch singular", lambda: torch.linalg.inv(torch.stack([torch.eye(2), torch.zeros(2, 2)])))
attempt("inv non-square", lambda: torch.linalg.inv(torch.ones(2, 3)))
attempt("det non-square", lambda: torch.linalg.det(torch.ones(3, 2)))
attempt("det 1-d", lambda: torch.linalg.det(torch.ones(3)))
attempt("eigh non-square", lambda: torch.linalg.eigh(torch.ones(2, 3)))
attempt("cholesky non-square", lambda: torch.linalg.cholesky(torch.ones(2, 3)))
attempt("solve batch", lambda: torch.linalg.solve(torch.randn(2, 3, 3), torch.randn(4, 3, 1)))
attempt("solve rows", lambda: torch.linalg.solve(torch.eye(3), torch.ones(2, 1)))
attempt("solve dtype", lambda: torch.linalg.solve(torch.eye(2), torch.ones(2, dtype=torch.float64)))
attempt("inv int", lambda: torch.linalg.inv(torch.eye(2, dtype=torch.long)))
attempt("det int", lambda: torch.linalg.det(torch.tensor([[1, 2], [3, 4]])))
attempt("svd int", lambda: torch.linalg.svd(torch.tensor([[1, 2], [3, 4]])))
attempt("eig int", lambda: torch.linalg.eig(torch.tensor([[1, 2], [3, 4]])))
attempt("norm int", lambda: torch.linalg.norm(torch.tensor([3, 4])))
attempt("lstsq driver", lambda: torch.linalg.lstsq(torch.ones(3, 2), torch.ones(3, 1), driver="gelsx"))
attempt("qr mode", lambda: torch.linalg.qr(T, mode="full"))
attempt("matrix_power", lambda: torch.linalg.matrix_power(torch.ones(2, 3), 2))
attempt("matrix_power int inv", lambda: torch.linalg.matrix_power(torch.tensor([[1, 1], [1, 0]]), -1))
attempt("cross size", lambda: torch.linalg.cross(torch.ones(2), torch.ones(2)))
attempt("multi_dot", lambda: torch.linalg.multi_dot([torch.ones(2, 3)]))
attempt("mnorm ord", lambda: torch.linalg.matrix_norm(N, ord=3))
attempt("mnorm 1-d", lambda: torch.linalg.matrix_norm(v))
attempt("mnorm dims", lambda: torch.linalg.matrix_norm(Ab, dim=(1, -2)))
attempt("mnorm int", lambda: torch.linalg.matrix_norm(torch.tensor([[1, 2], [3, 4]]), ord=1))
attempt("mnorm half", lambda: torch.linalg.matrix_norm(torch.eye(2, dtype=torch.half), ord=2))
attempt("norm fro 1-d", lambda: torch.linalg.norm(v, "fro"))
attempt("norm 3 dims", lambda: torch.linalg.norm(Ab, dim=(0, 1, 2)))
attempt("norm 3-d ord", lambda: torch.linalg.norm(Ab, 2))
attempt("vnorm fro", lambda: torch.linalg.vector_norm(v, "fro"))
attempt("cond singular", lambda: [torch.linalg.cond(torch.ones(2, 2), p) for p in ["fro", 1, float("inf")]])
attempt("cond zero nuc", lambda: torch.linalg.cond(torch.zeros(2, 2), "nuc"))
attempt("cond ord", lambda: torch.linalg.cond(N, 3))
attempt("cond rect", lambda: torch.linalg.cond(T, "fro"))
attempt("cond rect 1.0", lambda: torch.linalg.cond(T, 1.0))
attempt("cond 1-d", lambda: torch.linalg.cond(v))
attempt("cond empty", lambda: torch.linalg.cond(torch.ones(2, 0, 0), "fro"))
attempt("matrix_power float", lambda: torch.linalg.matrix_power(N, 2.0))
attempt("svd driver", lambda: torch.linalg.svd(N, driver="gesvd"))
attempt("svdvals int", lambda: torch.linalg.svdvals(torch.tensor([[1, 2], [3, 4]])))
attempt("svdvals half", lambda: torch.linalg.svdvals(torch.eye(2, dtype=torch.half)))
attempt("pinv half", lambda: torch.linalg.pinv(torch.eye(2, dtype=torch.half)))
attempt("rank half", lambda: torch.linalg.matrix_rank(torch.eye(2, dtype=torch.half)))
attempt("multi_dot shapes", lambda: torch.linalg.multi_dot([torch.ones(2, 3), torch.ones(3, 4), torch.ones(5)]))
attempt("multi_dot dtype", lambda: torch.linalg.multi_dot([torch.ones(2, 3), torch.ones(3, dtype=torch.float64)]))
attempt("lstsq dtype", lambda: torch.linalg.lstsq(Xl, y_obs[:, None].double()))
attempt("cross ndim", lambda: torch.linalg.cross(torch.ones(2, 3), torch.ones(3)))

# --- the older torch.* spellings a lecture may still use, and what torch says about them ---
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(torch.triangular_solve(torch.tensor([[2.], [3.]]), torch.tensor([[2., 0.], [1., 1.]]), upper=False))
    print(torch.qr(T).Q.shape, torch.qr(T, some=False).Q.shape, torch.allclose(torch.qr(T).R.abs(), R.abs(), atol=1e-5))
    print(torch.cholesky(torch.tensor([[4., 2.], [2., 3.]])), torch.chain_matmul(N, N, N))
    LUo, pivo = torch.lu(A)
    print(torch.allclose(torch.lu_solve(B, LUo, pivo), X, atol=1e-5), torch.equal(LUo, LU))
# first lines only; torch's C++ warnings end with where in its sources they were raised
print([(w.category.__name__, str(w.message).splitlines()[0].split(" (Triggered")[0]) for w in caught])
