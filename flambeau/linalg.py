"""``flambeau.linalg``: norms, solves and decompositions (NumPy/CuPy LAPACK underneath).

Every function takes batches of matrices ``(*, m, n)`` as PyTorch does. Forward passes call
the array engine's LAPACK wrappers; backward formulas are written with flambeau ops (so they
can be differentiated again), or the function is a composition of differentiable ops.

Note [Engine gaps]: CuPy may lack a general eigensolver and does not raise on singular input
(it returns non-finite values). ``_host`` runs a NumPy routine for CuPy data, and the CuPy paths
of inv, solve and cholesky check their result for non-finite values to raise PyTorch's
LinAlgError, at the cost of the host synchronisation PyTorch also pays to report errors.
"""
import functools
import math
import operator

import numpy as np

from . import _dtype, _xp
from ._tensor import Tensor, _make, _wrap_dim
from .autograd.function import Function
from ._ops._util import wrap_dims, recording, _type_word, broadcast_shapes, check_same_device, row_major
from ._ops.reduction import _return_type
from ._ops.pointwise import _out, handles_out

__all__ = ["LinAlgError", "vector_norm", "matrix_norm", "norm", "lstsq", "solve", "solve_ex", "inv", "inv_ex",
           "det", "slogdet", "eig", "eigvals", "eigh", "eigvalsh", "svd", "svdvals", "qr", "cholesky",
           "cholesky_ex", "matrix_rank", "pinv", "matrix_power", "multi_dot", "cross", "vecdot",
           "solve_triangular", "lu_factor", "lu", "lu_solve", "matmul", "diagonal", "cond",
           "matrix_exp"]


class _LinAlgError(RuntimeError):
    """A linear-algebra routine failed on its input (singular or not positive-definite matrix)."""


# PyTorch's class is torch._C._LinAlgError, so that is the name printed in tracebacks and type(e).__name__
LinAlgError = _LinAlgError


class return_types:
    linalg_lstsq = _return_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
    linalg_slogdet = _return_type("linalg_slogdet", ("sign", "logabsdet"))
    linalg_eig = _return_type("linalg_eig", ("eigenvalues", "eigenvectors"))
    linalg_eigh = _return_type("linalg_eigh", ("eigenvalues", "eigenvectors"))
    linalg_svd = _return_type("linalg_svd", ("U", "S", "Vh"))
    linalg_qr = _return_type("linalg_qr", ("Q", "R"))
    linalg_inv_ex = _return_type("linalg_inv_ex", ("inverse", "info"))
    linalg_cholesky_ex = _return_type("linalg_cholesky_ex", ("L", "info"))
    linalg_solve_ex = _return_type("linalg_solve_ex", ("result", "info"))
    linalg_lu_factor = _return_type("linalg_lu_factor", ("LU", "pivots"))
    linalg_lu = _return_type("linalg_lu", ("P", "L", "U"))


# -- input checks --------------------------------------------------------------------------------
def _check_float(name, A, arg="A", low_precision=False):
    """A floating point or complex tensor; float16 and bfloat16 only with low_precision (the op's kernel then
    refuses them, see _refuse_low_precision)."""
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(A).__name__}")
    dt = A.dtype
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {_type_word(dt)}")
    if not low_precision and _is_low_precision(dt):
        raise RuntimeError(f"{name}: Low precision dtypes not supported. Got {_type_word(dt)}")


def _is_low_precision(dt):
    return dt is _dtype.float16 or dt.name == "bfloat16"


def _refuse_low_precision(kernel, A):
    """The error of torch's LAPACK kernels, which have no float16 or bfloat16 version."""
    if _is_low_precision(A.dtype):
        word = "BFloat16" if A.dtype.name == "bfloat16" else "Half"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{word}\'')


def _check_matrix(name, A, square=False, arg="A", low_precision=False):
    _check_float(name, A, arg, low_precision)
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {arg} must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: {arg} must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")


def _check_same(name, A, B):
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{name}: Expected A and B to have the same dtype, but found A of type "
                           f"{_type_word(A.dtype)} and B of type {_type_word(B.dtype)} instead")
    if A.device != B.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{A.device} and {B.device}! ({name})")


def _batch_prefix(shape, flat_index):
    """'(Batch element i): ' for batched inputs, as PyTorch prefixes its LinAlgError messages."""
    return f"(Batch element {flat_index}): " if len(shape) > 2 else ""


def _xpof(a):
    return _xp.array_module(a)


def _is_numpy(a):
    return type(a) is np.ndarray


def _host(fn, *arrays):
    """Run NumPy routine fn on arrays of either engine; results come back to the arrays' engine."""
    xp = _xpof(arrays[0])
    out = fn(*[_xp.to_host(a) for a in arrays])
    if xp is np:
        return out
    if isinstance(out, tuple):
        return tuple(xp.asarray(o) for o in out)
    return xp.asarray(out)


def _eye_like(a, n):
    return _xpof(a).eye(n, dtype=a.dtype)


def _real_dtype(dt):
    return {np.dtype(np.complex64): np.float32, np.dtype(np.complex128): np.float64}.get(np.dtype(dt), dt)


# -- LU with partial pivoting (for pivots and LAPACK-style error reports) -----------------------------
def _lu_array(a):
    """LU factorisation with partial pivoting, as LAPACK getrf: (LU, pivots (1-based int32), info).

    info is 0, or the 1-based index of the first zero diagonal element of U. Batched over the
    leading dimensions; one step per column, each vectorised over the batch.
    """
    xp = _xpof(a)
    m, n = a.shape[-2:]
    batch = a.shape[:-2]
    flat = a.reshape((math.prod(batch), m, n)).copy()
    nb, k = flat.shape[0], min(m, n)
    rows = xp.arange(nb)
    piv = xp.empty((nb, k), dtype=np.int32)
    info = xp.zeros(nb, dtype=np.int32)
    for j in range(k):
        column = flat[:, j:, j]
        # LAPACK's i?amax: |Re| + |Im| for complex
        size = xp.abs(column.real) + xp.abs(column.imag) if column.dtype.kind == "c" else xp.abs(column)
        p = j + size.argmax(axis=1)
        piv[:, j] = p + 1
        row_j, row_p = flat[rows, j, :].copy(), flat[rows, p, :].copy()
        flat[rows, j, :] = row_p
        flat[rows, p, :] = row_j
        d = flat[:, j, j]
        zero = d == 0
        info = xp.where((info == 0) & zero, j + 1, info).astype(np.int32)
        flat[:, j + 1:, j] /= xp.where(zero, 1, d)[:, None]     # a zero pivot leaves a zero column as is
        flat[:, j + 1:, j + 1:] -= flat[:, j + 1:, j:j + 1] * flat[:, j:j + 1, j + 1:]
    return flat.reshape(a.shape), piv.reshape(batch + (k,)), info.reshape(batch)


def _pivot_permutation(piv, m):
    """perm (*, m) from getrf's 1-based row interchanges piv (*, k): row i of P^T A is row perm[i] of A."""
    xp = _xpof(piv)
    batch, k = piv.shape[:-1], piv.shape[-1]
    nb = math.prod(batch)
    perm = xp.broadcast_to(xp.arange(m), (nb, m)).copy()
    swaps = piv.reshape((nb, k)).astype(np.int64) - 1
    rows = xp.arange(nb)
    for j in range(k):                            # the interchanges, in order
        here, there = perm[:, j].copy(), perm[rows, swaps[:, j]]
        perm[:, j] = there
        perm[rows, swaps[:, j]] = here
    return perm.reshape(batch + (m,))


def _permute_rows(x, perm):
    """The rows of x (*, m, k) in the order perm (*, m), batch dims broadcast: P^T x for perm from
    _pivot_permutation, P x for its inverse (argsort). A gather, so inf and nan stay in their rows."""
    xp = _xpof(x)
    batch = tuple(np.broadcast_shapes(x.shape[:-2], perm.shape[:-1]))
    shape = batch + x.shape[-2:]
    return xp.take_along_axis(xp.broadcast_to(x, shape), xp.broadcast_to(perm[..., :, None], shape), axis=-2)


def _lu_solve_array(lu_, perm, b, adjoint=False):
    """X with A X = b (A^H X = b with adjoint) from A = P L U packed as getrf leaves it, as getrs: the
    substitutions do not check U's diagonal, so a singular A gives LAPACK's inf and nan."""
    if not adjoint:                               # U^{-1} L^{-1} P^T b
        y = _trsm_array(lu_, _permute_rows(b, perm), upper=False, unitriangular=True)
        return _trsm_array(lu_, y, upper=True, unitriangular=False)
    lu_h = _conj_t(lu_)                           # P L^{-H} U^{-H} b
    y = _trsm_array(lu_h, b, upper=False, unitriangular=False)
    y = _trsm_array(lu_h, y, upper=True, unitriangular=True)
    return _permute_rows(y, _xpof(perm).argsort(perm, axis=-1))


def _lu_solve_sided(lu_, perm, b, left, adjoint):
    """lu_solve's arrays: X op(A) = b (left=False) is op(A)^H X^H = b^H."""
    if left:
        x = _lu_solve_array(lu_, perm, b, adjoint)
    else:
        x = _conj_t(_lu_solve_array(lu_, perm, _conj_t(b), not adjoint))
    return _xpof(x).ascontiguousarray(x)


def _first_failure(info):
    """(flat batch index, info value) of the first failed matrix, or None."""
    info = _xp.to_host(info).reshape(-1)
    bad = np.nonzero(info)[0]
    return None if bad.size == 0 else (int(bad[0]), int(info[bad[0]]))


def _singular_error(name, a):
    _, _, info = _lu_array(a)
    fail = _first_failure(info)
    idx, k = fail if fail is not None else (0, a.shape[-1])
    return LinAlgError(f"{name}: {_batch_prefix(a.shape, idx)}The diagonal element {k} is zero, the inversion "
                       f"could not be completed because the input matrix is singular.")


# -- inverse, determinant ----------------------------------------------------------------------------
def _inv_array(a, name="linalg.inv"):
    xp = _xpof(a)
    if a.shape[-1] == 0:
        return a.copy()
    try:
        out = xp.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise _singular_error(name, a) from None
    if not _is_numpy(out) and not xp.isfinite(out).all() and xp.isfinite(a).all():
        raise _singular_error(name, a)
    return out


def _inv_backward(Ainv, grad):                # dA = -A^{-H} grad A^{-H}
    AinvH = Ainv.mH
    return -(AinvH @ grad @ AinvH)


class _Inv(Function):
    """out = A^{-1}"""
    _node_name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx, A):
        out = _make(_inv_array(A._data))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (Ainv,) = ctx.saved_tensors
        return _inv_backward(Ainv, grad)


def inv(A, *, out=None):
    """The inverse of each square matrix in A; LinAlgError if one is singular."""
    _check_matrix("linalg.inv", A, square=True)
    return _out(_Inv.apply(A) if recording(A) else _make(_inv_array(A._data)), out)


def _inv_ex_arrays(a):
    """(inverse, info) as torch's inv_ex (getrf, then getrs on the identity): info is 0, or k where U[k-1, k-1]
    is zero, and that matrix's inverse holds what the substitutions give (inf, nan). Reads nothing back on cuda."""
    xp = _xpof(a)
    n = a.shape[-1]
    lu_, piv, info = _lu_array(a)
    if _is_numpy(a) and not info.any():           # on the host, LAPACK's inverse where all are invertible
        return _inv_array(a), info
    eye = xp.broadcast_to(_eye_like(a, n), a.shape)
    return _lu_solve_sided(lu_, _pivot_permutation(piv, n), eye, True, False), info


class _InvEx(Function):
    """(A^{-1}, info)"""
    _node_name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx, A):
        inverse, info = _inv_ex_arrays(A._data)
        out = _make(inverse)
        ctx.save_for_backward(out)
        return out, _make(info)

    @staticmethod
    def backward(ctx, grad, grad_info):
        (Ainv,) = ctx.saved_tensors
        return _inv_backward(Ainv, grad)


@handles_out
def inv_ex(A, *, check_errors=False, out=None):
    """(inverse, info): info is 0, or k when U[k-1, k-1] of A's LU factorisation is zero (then the inverse
    holds inf or nan, as torch's). check_errors raises there, reading info on the host as torch does."""
    _check_matrix("linalg.inv", A, square=True)
    if recording(A):
        inverse, info = _InvEx.apply(A)
    else:
        inverse, info = (_make(x) for x in _inv_ex_arrays(A._data))
    if check_errors and _first_failure(info._data) is not None:
        raise _singular_error("linalg.inv_ex", A._data)
    return return_types.linalg_inv_ex(inverse, info)


class _Det(Function):
    """out = det(A)"""
    _node_name = "LinalgDetBackward0"

    @staticmethod
    def forward(ctx, A):
        out = _make(_xpof(A._data).linalg.det(A._data))
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx, grad):                     # dA = grad conj(det) A^{-H} = grad adj(A)^H
        A, d = ctx.saved_tensors
        singular = d._data == 0
        if not bool(singular.any()):
            scale = (grad * d.conj()).unsqueeze(-1).unsqueeze(-1)
            return scale * inv(A).mH
        return _det_backward_svd(A, grad)


def _det_backward_svd(A, grad):
    """grad adj(A)^H from the SVD, defined for singular A too (first order only).

    adj(A)^H = conj(det(U) det(Vh)) U diag(prod_{j != i} s_j) Vh.
    """
    a = A._data
    xp = _xpof(a)
    u, s, vh = xp.linalg.svd(a)
    n = s.shape[-1]
    ones = xp.ones(s.shape[:-1] + (1,), dtype=s.dtype)
    before = xp.cumprod(xp.concatenate([ones, s[..., :-1]], -1), -1)           # prod_{j < i} s_j
    after = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(s, -1)[..., :-1]], -1), -1), -1)   # prod_{j > i}
    phase = xp.conj(xp.linalg.det(u) * xp.linalg.det(vh))
    adjH = phase[..., None, None] * xp.matmul(u * (before * after).astype(a.dtype)[..., None, :], vh)
    return grad.unsqueeze(-1).unsqueeze(-1) * _make(adjH)


def _det_array(a):
    if a.shape[-1] == 0:
        return _xpof(a).ones(a.shape[:-2], dtype=a.dtype)
    return _xpof(a).linalg.det(a)


def det(A, *, out=None):
    """Determinant of each square matrix in A."""
    _check_matrix("linalg.det", A, square=True)
    if recording(A):
        return _out(_Det.apply(A), out)
    return _out(_make(_det_array(A._data)), out)


def _imag(z):
    """Im z as a complex tensor (a constant of the backward formula, not differentiated)."""
    return _make(z._data.imag.astype(z._data.dtype))


class _Slogdet(Function):
    """(sign, log|det A|)"""
    _node_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, A):
        s, l = _xpof(A._data).linalg.slogdet(A._data)
        sign, logabs = _make(s), _make(l)
        ctx.save_for_backward(A)
        ctx.sign = _make(s.copy())
        return sign, logabs

    @staticmethod
    def backward(ctx, grad_sign, grad_logabs):    # d log|det A| = Re tr(A^{-1} dA)  ->  dA = g A^{-H}; sign is
        # locally constant for real A
        (A,) = ctx.saved_tensors
        if A.is_complex():                       # the sign turns with Im tr(A^{-1} dA): h = g + i Im(conj(s) g_s)
            sign = ctx.sign
            h = grad_logabs.to(A.dtype) + 1j * _imag(sign.conj() * grad_sign)
            return h.unsqueeze(-1).unsqueeze(-1) * inv(A).mH
        return grad_logabs.unsqueeze(-1).unsqueeze(-1) * inv(A).mH


@handles_out
def slogdet(A, *, out=None):
    """(sign, logabsdet) of det(A), stable where det under/overflows."""
    _check_matrix("linalg.slogdet", A, square=True)
    if recording(A):
        sign, logabs = _Slogdet.apply(A)
    else:
        s, l = _xpof(A._data).linalg.slogdet(A._data)
        sign, logabs = _make(s), _make(l)
    return return_types.linalg_slogdet(sign, logabs)


# -- solves --------------------------------------------------------------------------------------------
def _solve_array(a, b, name="torch.linalg.solve", check=True):
    """a (*, n, n), b (*, n, k), batch dims broadcast; check: raise LinAlgError where a is singular (on cuda
    by a look at the result on the host)."""
    xp = _xpof(a)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = xp.broadcast_to(a, batch + a.shape[-2:])
    b = xp.broadcast_to(b, batch + b.shape[-2:])
    if a.shape[-1] == 0 or b.shape[-1] == 0 or 0 in batch:
        return xp.zeros(batch + b.shape[-2:], dtype=a.dtype)
    try:
        out = xp.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise _solve_error(name, a) from None
    if check and not _is_numpy(out) and not xp.isfinite(out).all() and xp.isfinite(a).all() and \
            xp.isfinite(b).all():
        raise _solve_error(name, a)
    return out


def _solve_error(name, a):
    _, _, info = _lu_array(a)
    fail = _first_failure(info)
    idx = fail[0] if fail is not None else 0
    return LinAlgError(f"{name}: {_batch_prefix(a.shape, idx)}The solver failed because the input matrix is "
                       f"singular.")


def _solve_sided(a, b, left, check=True):
    """_solve_array for A X = b, or X A = b (A^H X^H = b^H) with left=False."""
    if left:
        return _solve_array(a, b, check=check)
    return _xpof(a).ascontiguousarray(_conj_t(_solve_array(_conj_t(a), _conj_t(b), check=check)))


class _Solve(Function):
    """X with A X = B (X A = B with left=False) for B (*, n, k), or B (*, n) with vector; check: raise where A
    is singular (linalg.solve), not in backward"""
    _node_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, A, B, left=True, vector=False, check=True):
        x = _solve_sided(A._data, B._data[..., None] if vector else B._data, left, check)
        X = _make(x[..., 0] if vector else x)
        ctx.save_for_backward(A, X)
        ctx.left, ctx.vector = left, vector
        return X

    @staticmethod
    def backward(ctx, grad):                     # gB = grad op(A)^{-H}; gA = -gB X^H (left), -X^H gB (right)
        A, X = ctx.saved_tensors
        AH = A.mH
        # A was invertible in forward: the backward solve checks nothing (no read of the device)
        if recording(AH, grad):
            gB = _Solve.apply(AH, grad, ctx.left, ctx.vector, False)
        else:
            gB = _make(_solve_sided(AH._data, grad._data[..., None] if ctx.vector else grad._data, ctx.left,
                                    check=False))
            gB = gB.squeeze(-1) if ctx.vector else gB
        gA = None
        if ctx.needs_input_grad[0]:
            gA = _solve_grad_A(X, gB, ctx.left, ctx.vector)
        return gA, gB, None, None, None


def _solve_grad_A(X, gB, left, vector):
    """-gB X^H for A X = B, -X^H gB for X A = B (vectors as columns)."""
    if vector:
        X, gB = X.unsqueeze(-1), gB.unsqueeze(-1)
    return -(gB @ X.mH) if left else -(X.mH @ gB)


def _check_solver_shapes(name, n, B, left):
    """B is a matrix that fits A X = B (X A = B with left=False) for A n by n (torch's checkInputsSolver)."""
    if B.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor B must have at least 2 dimensions.")
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")


def _vector_rhs(A, B):
    """Whether B is a (batch of) vector(s) for A X = B, by PyTorch's rule."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def _solve_operands(A, B, left):
    """torch's checks of linalg.solve(_ex), in its order; (B as a matrix, whether B was a vector)."""
    _check_float("linalg.solve", A, low_precision=True)
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg_solve(): argument 'B' (position 2) must be Tensor, not {type(B).__name__}")
    _check_same("linalg.solve", A, B)
    vector = _vector_rhs(A, B)
    Bm = B.unsqueeze(-1) if vector else B
    _check_matrix("linalg.solve", A, square=True, low_precision=True)
    _check_solver_shapes("linalg.solve", A.shape[-1], Bm, left)
    broadcast_shapes(Bm.shape[:-2], A.shape[:-2])
    if not left and vector:
        raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not supported for "
                           "left=False. In this case linalg.solve is equivalent to B / A.squeeze(-1)")
    _refuse_low_precision("lu_cpu", A)
    return Bm, vector


def solve(A, B, *, left=True, out=None):
    """The solution X of A X = B (or X A = B with left=False); B may be a vector."""
    Bm, vector = _solve_operands(A, B, left)
    if recording(A, B):
        return _out(_Solve.apply(A, B, left, vector), out)
    x = _solve_sided(A._data, Bm._data, left)
    return _out(_make(x[..., 0] if vector else x), out)


def _solve_ex_arrays(a, b, left):
    """(X, LU, pivots, info) as torch's solve_ex (getrf, then getrs): where A is singular (info > 0), X holds
    what the substitutions give (inf, nan). Reads nothing back on cuda."""
    lu_, piv, info = _lu_array(a)
    if _is_numpy(a) and not info.any():          # on the host, LAPACK's solve where all are invertible
        return _solve_sided(a, b, left), lu_, piv, info
    return _lu_solve_sided(lu_, _pivot_permutation(piv, a.shape[-1]), b, left, False), lu_, piv, info


class _SolveEx(Function):
    """(X, info) with A X = B (X A = B with left=False) for B (*, n, k), or B (*, n) with vector, through A's
    LU factorisation"""
    _node_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, A, B, left, vector):
        x, lu_, piv, info = _solve_ex_arrays(A._data, B._data[..., None] if vector else B._data, left)
        X = _make(x[..., 0] if vector else x)
        ctx.save_for_backward(A, X)
        ctx.LU, ctx.pivots, ctx.left, ctx.vector = _make(lu_), _make(piv), left, vector
        return X, _make(info)

    @staticmethod
    def backward(ctx, grad, grad_info):          # gB = grad op(A)^{-H}; gA = -gB X^H (left), -X^H gB (right)
        A, X = ctx.saved_tensors
        LU, pivots = ctx.LU, ctx.pivots
        if recording(A):                         # a second derivative: the factors as functions of A
            LU, pivots, _ = lu_factor_ex(A)
        gB = lu_solve(LU, pivots, grad.unsqueeze(-1) if ctx.vector else grad, left=ctx.left, adjoint=True)
        gB = gB.squeeze(-1) if ctx.vector else gB
        gA = _solve_grad_A(X, gB, ctx.left, ctx.vector) if ctx.needs_input_grad[0] else None
        return gA, gB, None, None


@handles_out
def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """(result, info) of solve; info is k > 0 where U[k-1, k-1] of A's LU factorisation is zero (then result
    holds inf or nan, as torch's). check_errors raises there, reading info on the host as torch does."""
    Bm, vector = _solve_operands(A, B, left)
    if recording(A, B):
        X, info = _SolveEx.apply(A, B, left, vector)
    else:
        x, _, _, info = _solve_ex_arrays(A._data, Bm._data, left)
        X, info = _make(x[..., 0] if vector else x), _make(info)
    if check_errors and _first_failure(info._data) is not None:
        raise _solve_error("torch.linalg.solve_ex", A._data)
    return return_types.linalg_solve_ex(X, info)


def _trsm_array(a, b, upper, unitriangular):
    """X with tri(a) X = b by substitution (as LAPACK trsm: no singularity check). Batch dims broadcast."""
    xp = _xpof(a)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    n, k = b.shape[-2:]
    a = xp.broadcast_to(a, batch + a.shape[-2:])
    b = xp.broadcast_to(b, batch + b.shape[-2:])
    x = xp.empty(batch + (n, k), dtype=np.result_type(a.dtype, b.dtype))
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            if upper:
                r = b[..., i:i + 1, :] - xp.matmul(a[..., i:i + 1, i + 1:], x[..., i + 1:, :])
            else:
                r = b[..., i:i + 1, :] - xp.matmul(a[..., i:i + 1, :i], x[..., :i, :])
            x[..., i:i + 1, :] = r if unitriangular else r / a[..., i:i + 1, i:i + 1]
    return x


class _SolveTriangular(Function):
    """X = tri(A)^{-1} B"""
    _node_name = "LinalgSolveTriangularBackward0"

    @staticmethod
    def forward(ctx, A, B, upper, unitriangular):
        X = _make(_trsm_array(A._data, B._data, upper, unitriangular))
        ctx.save_for_backward(A, X)
        ctx.upper, ctx.unit = upper, unitriangular
        return X

    @staticmethod
    def backward(ctx, grad):                     # gB = A^{-H} grad, gA = tri(-gB X^H)
        A, X = ctx.saved_tensors
        gB = solve_triangular(A.mH, grad, upper=not ctx.upper, unitriangular=ctx.unit)
        gA = None
        if ctx.needs_input_grad[0]:
            gA = -(gB @ X.mH)
            gA = gA.triu(1 if ctx.unit else 0) if ctx.upper else gA.tril(-1 if ctx.unit else 0)
        return gA, gB, None, None


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """X with tri(A) X = B (left) or X tri(A) = B; only the triangle named by upper is read."""
    _check_kernel_dtype("triangular_solve_cpu", A)
    _check_matrix("linalg.solve_triangular", A, square=True)
    _check_matrix("linalg.solve_triangular", B, arg="B")
    _check_same("linalg.solve_triangular", A, B)
    _check_solver_shapes("linalg.solve_triangular", A.shape[-1], B, left)
    try:
        np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    except ValueError:
        raise RuntimeError(f"linalg.solve_triangular: the batch dimensions of A {tuple(A.shape[:-2])} and B "
                           f"{tuple(B.shape[:-2])} do not broadcast") from None
    if not left:                                 # X A = B  <=>  A^T X^T = B^T
        return _out(solve_triangular(A.mT, B.mT, upper=not upper, unitriangular=unitriangular).mT, out)
    if recording(A, B):
        return _out(_SolveTriangular.apply(A, B, upper, unitriangular), out)
    return _out(_make(_trsm_array(A._data, B._data, upper, unitriangular)), out)


# -- Cholesky ----------------------------------------------------------------------------------------
def _cholesky_info(a):
    """Per matrix, 0 or the order of the first leading minor that is not positive-definite."""
    h = _xp.to_host(a)
    n = h.shape[-1]
    flat = h.reshape((-1, n, n))
    info = np.zeros(flat.shape[0], dtype=np.int32)
    for b in range(flat.shape[0]):
        try:
            np.linalg.cholesky(flat[b])
            continue
        except np.linalg.LinAlgError:
            pass
        for k in range(1, n + 1):
            try:
                np.linalg.cholesky(flat[b, :k, :k])
            except np.linalg.LinAlgError:
                info[b] = k
                break
    return info.reshape(h.shape[:-2])


def _cholesky_error(name, a, info=None):
    info = _cholesky_info(a) if info is None else info
    fail = _first_failure(info)
    idx, k = fail if fail is not None else (0, a.shape[-1])
    return LinAlgError(f"{name}: {_batch_prefix(a.shape, idx)}The factorization could not be completed because "
                       f"the input is not positive-definite (the leading minor of order {k} is not "
                       f"positive-definite).")


def _cholesky_array(a, name="linalg.cholesky"):
    xp = _xpof(a)
    if a.shape[-1] == 0 or 0 in a.shape[:-2]:
        return a.copy()
    try:
        out = xp.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise _cholesky_error(name, a) from None
    if not _is_numpy(out) and not xp.isfinite(out).all() and xp.isfinite(a).all():
        raise _cholesky_error(name, a)
    return out


def _cholesky_backward(L, grad):
    """gA = L^{-H} Phi L^{-1}, Phi = (G + tril(G, -1)^H) / 2 with G = tril(L^H grad): torch's formula, whose
    gradient of a complex A has an anti-Hermitian part (i Im diag(G) / 2) that Hermitian directions do not see."""
    G = (L.mH @ grad).tril()
    Phi = 0.5 * (G + G.tril(-1).mH)
    gA = solve_triangular(L.mH, Phi, upper=True)                # L^{-H} Phi
    return solve_triangular(L, gA, upper=False, left=False)     # ... L^{-1}


def _potf2_array(a):
    """(L, info) as LAPACK's unblocked potf2 (lower) leaves them, batched: column j from the columns before it;
    at a first pivot that is not positive (or NaN), info = j + 1, the diagonal keeps that pivot and the later
    columns A's values (torch's partial factor; its blocked LAPACK differs there only for n over ~100)."""
    xp = _xpof(a)
    n = a.shape[-1]
    L = xp.tril(a)
    info = xp.zeros(a.shape[:-2], dtype=np.int32)
    for j in range(n):
        row = L[..., j, :j]
        pivot = a[..., j, j].real - (row * row.conj()).real.sum(-1)
        active = info == 0
        ok = active & (pivot > 0)
        failed = active & ~ok
        info = xp.where(failed, j + 1, info).astype(np.int32)
        root = xp.sqrt(xp.where(ok, pivot, 1))
        col = (L[..., j + 1:, j] - xp.matmul(L[..., j + 1:, :j], row.conj()[..., None])[..., 0]) / root[..., None]
        L[..., j + 1:, j] = xp.where(ok[..., None], col, L[..., j + 1:, j])
        L[..., j, j] = xp.where(ok, root, xp.where(failed, pivot, L[..., j, j]))
    return L, info


def _cholesky_ex_arrays(a, upper):
    """(L, info) of linalg.cholesky_ex; upper reads A's upper triangle and gives U = L^H of A^H's factor."""
    xp = _xpof(a)
    if upper:
        a = _conj_t(a)
    L = info = None
    if a.size == 0:
        L, info = a.copy(), xp.zeros(a.shape[:-2], dtype=np.int32)
    elif _is_numpy(a):                          # on the host, LAPACK's factor where all are positive-definite
        try:
            L, info = np.linalg.cholesky(a), np.zeros(a.shape[:-2], dtype=np.int32)
        except np.linalg.LinAlgError:
            pass
    if L is None:
        L, info = _potf2_array(a)
    return xp.ascontiguousarray(_conj_t(L) if upper else L), info


def _cholesky_output(A, upper):
    a = A._data
    if upper:
        return _xpof(a).ascontiguousarray(_conj_t(_cholesky_array(_conj_t(a))))
    return _cholesky_array(a)


class _Cholesky(Function):
    """L lower triangular with A = L L^H (U = L^H with upper, from A's upper triangle)"""
    _node_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, A, upper):
        out = _make(_cholesky_output(A, upper))
        ctx.save_for_backward(out)
        ctx.upper = upper
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        if ctx.upper:
            return _cholesky_backward(out.mH, grad.mH), None
        return _cholesky_backward(out, grad), None


class _CholeskyEx(Function):
    """(L, info) of cholesky_ex: the backward of _Cholesky"""
    _node_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, A, upper):
        L, info = _cholesky_ex_arrays(A._data, upper)
        out = _make(L)
        ctx.save_for_backward(out)
        ctx.upper = upper
        return out, _make(info)

    @staticmethod
    def backward(ctx, grad, grad_info):
        return _Cholesky.backward(ctx, grad)


def _check_cholesky_input(A):
    _check_matrix("linalg.cholesky", A, square=True, low_precision=True)
    _refuse_low_precision("cholesky_cpu", A)


def cholesky(A, *, upper=False, out=None):
    """Lower triangular L with A = L L^H for Hermitian positive-definite A (reads its lower triangle); with
    upper, U = L^H (reads A's upper triangle)."""
    _check_cholesky_input(A)
    return _out(_Cholesky.apply(A, upper) if recording(A) else _make(_cholesky_output(A, upper)), out)


@handles_out
def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """(L, info): info is 0, or the order of the first leading minor that is not positive-definite; there L
    holds LAPACK's partial factor, as torch's. check_errors raises, reading info on the host as torch does."""
    _check_cholesky_input(A)
    if recording(A):
        L, info = _CholeskyEx.apply(A, upper)
    else:
        L, info = (_make(x) for x in _cholesky_ex_arrays(A._data, upper))
    if check_errors and _first_failure(info._data) is not None:
        raise _cholesky_error("linalg.cholesky_ex", A._data, _xp.to_host(info._data))
    return return_types.linalg_cholesky_ex(L, info)


# -- eigen-decompositions ----------------------------------------------------------------------------
def _eye_masks(L):
    """(I, 1 - I) as real constant tensors of L's last size and precision."""
    a = L._data
    eye = _xpof(a).eye(a.shape[-1], dtype=_real_dtype(a.dtype))
    return _make(eye), _make(1 - eye)


def _eigh_backward(L, V, gL, gV):
    """gA = V (skew(V^H gV) / (L_j - L_i) + diag(gL)) V^H."""
    VhgV = V.mH @ gV
    VhgV = 0.5 * (VhgV - VhgV.mH)
    eye, off = _eye_masks(L)
    E = L.unsqueeze(-2) - L.unsqueeze(-1) + eye
    inner = (VhgV / E.to(VhgV.dtype)) * off + gL.diag_embed().to(VhgV.dtype)
    return V @ inner @ V.mH


class _Eigh(Function):
    _node_name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, A, UPLO):
        w, v = _xpof(A._data).linalg.eigh(A._data, UPLO=UPLO)
        L, V = _make(w), _make(v)
        ctx.save_for_backward(L, V)
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        L, V = ctx.saved_tensors
        return _eigh_backward(L, V, gL, gV), None


def _check_uplo(UPLO):
    if UPLO not in ("L", "U", "l", "u"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")     # (unprefixed in torch)
    return UPLO.upper()


def _check_kernel_dtype(kernel, A):
    """Routines PyTorch only has float kernels for report integer input as NotImplementedError."""
    if isinstance(A, Tensor) and not (A.dtype.is_floating_point or A.dtype.is_complex):
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_type_word(A.dtype)}\'')


@handles_out
def eigh(A, UPLO="L", *, out=None):
    """(eigenvalues ascending, orthonormal eigenvectors) of Hermitian A (reads the UPLO triangle)."""
    _check_kernel_dtype("linalg_eigh_cpu", A)
    _check_matrix("linalg.eigh", A, square=True)
    UPLO = _check_uplo(UPLO)
    if recording(A):
        L, V = _Eigh.apply(A, UPLO)
    else:
        w, v = _xpof(A._data).linalg.eigh(A._data, UPLO=UPLO)
        L, V = _make(w), _make(v)
    return return_types.linalg_eigh(L, V)


def eigvalsh(A, UPLO="L", *, out=None):
    """Eigenvalues (ascending) of Hermitian A."""
    _check_kernel_dtype("linalg_eigh_cpu", A)
    _check_matrix("linalg.eigvalsh", A, square=True)
    UPLO = _check_uplo(UPLO)
    if recording(A):
        return _out(eigh(A, UPLO).eigenvalues, out)
    return _out(_make(_xpof(A._data).linalg.eigvalsh(A._data, UPLO=UPLO)), out)


def _complex_np(dt):
    return np.complex64 if np.dtype(dt) in (np.float32, np.complex64) else np.complex128


def _eig_array(a):
    """Complex eigenvalues and eigenvectors (as complex arrays of a's precision)."""
    xp = _xpof(a)
    linalg = getattr(xp.linalg, "eig", None)
    w, v = linalg(a) if linalg is not None else _host(np.linalg.eig, a)
    ct = _complex_np(a.dtype)
    return w.astype(ct), v.astype(ct)


class _Eig(Function):
    _node_name = "LinalgEigBackward0"

    @staticmethod
    def forward(ctx, A):
        w, v = _eig_array(A._data)
        L, V = _make(w), _make(v)
        ctx.save_for_backward(L, V)
        ctx.real_input = not A.is_complex()
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):                   # gA = V^{-H} ((W - V^H V Re diag(W)) / conj(E) + diag(gL)) V^H,
        #                                          W = V^H gV, E_ij = L_j - L_i
        L, V = ctx.saved_tensors
        eye, off = _eye_masks(L)
        VhgV = V.mH @ gV
        VhgV = VhgV - V.mH @ (V * VhgV.diagonal(0, -2, -1).real.unsqueeze(-2).to(V.dtype))
        Lc = L.conj()
        E = Lc.unsqueeze(-2) - Lc.unsqueeze(-1) + eye
        inner = (VhgV / E) * off + gL.diag_embed()
        gA = solve(V.mH, inner @ V.mH)
        return gA.real if ctx.real_input else gA


def _check_complexable(A):
    if isinstance(A, Tensor) and not (A.dtype.is_floating_point or A.dtype.is_complex):
        raise RuntimeError(f"Unknown Complex ScalarType for {_type_word(A.dtype)}")


@handles_out
def eig(A, *, out=None):
    """(eigenvalues, eigenvectors) of a general square matrix, both complex."""
    _check_complexable(A)
    _check_matrix("linalg.eig", A, square=True)
    if recording(A):
        return return_types.linalg_eig(*_Eig.apply(A))
    w, v = _eig_array(A._data)
    return return_types.linalg_eig(_make(w), _make(v))


def eigvals(A, *, out=None):
    """Complex eigenvalues of a general square matrix."""
    _check_complexable(A)
    _check_matrix("linalg.eigvals", A, square=True)
    if recording(A):
        return _out(eig(A).eigenvalues, out)
    a = A._data
    linalg = getattr(_xpof(a).linalg, "eigvals", None)
    w = linalg(a) if linalg is not None else _host(np.linalg.eigvals, a)
    return _out(_make(w.astype(_complex_np(a.dtype))), out)


# -- SVD -----------------------------------------------------------------------------------------------
def _svd_array(a, full_matrices):
    xp = _xpof(a)
    m, n = a.shape[-2:]
    if 0 in a.shape:                              # LAPACK wrappers reject empty matrices
        k = min(m, n)
        batch = a.shape[:-2]
        eye_u = xp.broadcast_to(xp.eye(m, m if full_matrices else k, dtype=a.dtype), batch + (m, m if
                                                                                               full_matrices else k))
        eye_v = xp.broadcast_to(xp.eye(n if full_matrices else k, n, dtype=a.dtype),
                                batch + (n if full_matrices else k, n))
        return eye_u.copy(), xp.zeros(batch + (k,), dtype=_real_dtype(a.dtype)), eye_v.copy()
    return xp.linalg.svd(a, full_matrices=full_matrices)


class _Svd(Function):
    _node_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, A, full_matrices):
        u, s, vh = _svd_array(A._data, full_matrices)
        U, S, Vh = _make(u), _make(s), _make(vh)
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = ctx.saved_tensors
        m, n = U.shape[-2], Vh.shape[-1]
        k = S.shape[-1]
        # with full_matrices the columns of U (rows of Vh) past k are an arbitrary basis: ignored
        U, Vh = U[..., :, :k], Vh[..., :k, :]
        gU, gVh = gU[..., :, :k], gVh[..., :k, :]
        return _svd_backward(U, S, Vh, gU, gS, gVh), None


def _svd_backward(U, S, Vh, gU, gS, gVh):
    """Gradient of the reduced SVD A = U diag(S) Vh (distinct, nonzero singular values)."""
    m, n = U.shape[-2], Vh.shape[-1]
    k = S.shape[-1]
    dt = U.dtype
    Sc = S.to(dt)
    UhgU = U.mH @ gU
    UhgU = UhgU - UhgU.mH
    VhgV = Vh @ gVh.mH
    VhgV = VhgV - VhgV.mH
    eye, off = _eye_masks(S)
    S2 = S * S
    E = (S2.unsqueeze(-2) - S2.unsqueeze(-1) + eye).to(dt)
    gA = (UhgU * Sc.unsqueeze(-2) + Sc.unsqueeze(-1) * VhgV) / E
    gA = gA * off + gS.to(dt).diag_embed()
    if U.is_complex():
        gA = gA + (UhgU.diagonal(0, -2, -1) / (2 * Sc)).diag_embed()
    if m > n:
        gUSinv = gU / Sc.unsqueeze(-2)
        gA = U @ gA + gUSinv - U @ (U.mH @ gUSinv)
        return gA @ Vh
    if m < n:
        SinvgVh = gVh / Sc.unsqueeze(-1)
        gA = gA @ Vh + SinvgVh - (SinvgVh @ Vh.mH) @ Vh
        return U @ gA
    return U @ gA @ Vh


def _check_svd_input(A, driver):
    """svd's and svdvals' checks: one kernel, named linalg.svd in both; driver= picks a cuSOLVER routine."""
    _check_matrix("linalg.svd", A, low_precision=True)
    if driver is not None and A.device.type == "cpu":
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs with "
                           "cuSOLVER backend.")
    _refuse_low_precision("linalg_svd_cpu", A)


@handles_out
def svd(A, full_matrices=True, *, driver=None, out=None):
    """(U, S, Vh) with A = U diag(S) Vh, S descending (driver, CUDA only, is accepted and not needed)."""
    _check_svd_input(A, driver)
    if recording(A):
        return return_types.linalg_svd(*_Svd.apply(A, bool(full_matrices)))
    u, s, vh = _svd_array(A._data, bool(full_matrices))
    return return_types.linalg_svd(_make(u), _make(s), _make(vh))


def svdvals(A, *, driver=None, out=None):
    """Singular values of A, descending."""
    _check_svd_input(A, driver)
    if recording(A):
        return _out(svd(A, full_matrices=False).S, out)
    a = A._data
    if 0 in a.shape:
        return _out(_make(_xpof(a).zeros(a.shape[:-2] + (min(a.shape[-2:]),), dtype=_real_dtype(a.dtype))), out)
    return _out(_make(_xpof(a).linalg.svd(a, compute_uv=False)), out)


# -- QR --------------------------------------------------------------------------------------------------
def _copyltu(M):
    """tril(M) + tril(M, -1)^H, with the real part of the diagonal."""
    low = M.tril(-1)
    d = M.diagonal(0, -2, -1)
    d = d.real.to(M.dtype) if M.is_complex() else d
    return low + low.mH + d.diag_embed()


def _qr_backward_tall(Q, R, gQ, gR):
    """A = QR with Q (m, n), R (n, n), m >= n: gA = (gQ + Q copyltu(M)) R^{-H}, M = R gR^H - gQ^H Q."""
    M = R @ gR.mH - gQ.mH @ Q
    B = gQ + Q @ _copyltu(M)
    return solve_triangular(R.mH, B, upper=False, left=False)


class _Qr(Function):
    _node_name = "LinalgQrBackward0"

    @staticmethod
    def forward(ctx, A, mode):
        q, r = _xpof(A._data).linalg.qr(A._data, mode=mode)
        Q, R = _make(q), _make(r)
        ctx.save_for_backward(Q, R)
        ctx.mode = mode
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        Q, R = ctx.saved_tensors
        m, n = Q.shape[-2], R.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                               "nrows > ncols.")
        if m >= n:
            return _qr_backward_tall(Q, R, gQ, gR), None
        # A = Q [X | Y]: X = Q R1 is square; Y = Q R2 feeds back into Q's gradient
        R1, R2 = R[..., :, :m], R[..., :, m:]
        gR1, gR2 = gR[..., :, :m], gR[..., :, m:]
        Y = Q @ R2
        gX = _qr_backward_tall(Q, R1, gQ + Y @ gR2.mH, gR1)
        gY = Q @ gR2
        from ._ops.creation import cat
        return cat([gX, gY], -1), None


@handles_out
def qr(A, mode="reduced", *, out=None):
    """(Q, R) with A = QR; mode 'reduced', 'complete' or 'r' (Q empty)."""
    _check_matrix("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           f"'r', or 'complete'")
    a = A._data
    xp = _xpof(a)
    if mode == "r":
        if recording(A):
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                               "through linalg.qr.")
        r = _qr_empty(a, "reduced")[1] if 0 in a.shape else xp.linalg.qr(a, mode="r")
        return return_types.linalg_qr(_make(xp.zeros((0,), dtype=a.dtype)), _make(r))
    if 0 in a.shape:
        return return_types.linalg_qr(*[_make(x) for x in _qr_empty(a, mode)])
    if recording(A):
        return return_types.linalg_qr(*_Qr.apply(A, mode))
    q, r = xp.linalg.qr(a, mode=mode)
    return return_types.linalg_qr(_make(q), _make(r))


def _qr_empty(a, mode):
    xp = _xpof(a)
    m, n = a.shape[-2:]
    k = m if mode == "complete" else min(m, n)
    batch = a.shape[:-2]
    q = xp.broadcast_to(xp.eye(m, k, dtype=a.dtype), batch + (m, k)).copy()
    return q, xp.zeros(batch + (k, n), dtype=a.dtype)


# -- least squares, pseudo-inverse, rank ------------------------------------------------------------------
def _tolerances(name, A, atol, rtol, s_max):
    """max(atol, rtol * s_max) per matrix, with PyTorch's defaults."""
    if isinstance(atol, Tensor):
        atol = atol._data
    if isinstance(rtol, Tensor):
        rtol = rtol._data
    if rtol is None:
        given = atol is not None and np.any(np.asarray(_xp.to_host(atol) if _xp.is_array(atol) else atol) > 0)
        rtol = 0.0 if given else np.finfo(_real_dtype(A._data.dtype)).eps * max(A.shape[-2:])
    atol = 0.0 if atol is None else atol
    return _xpof(s_max).maximum(atol, rtol * s_max)


def _pinv_array(a, atol, rtol, hermitian, A):
    xp = _xpof(a)
    m, n = a.shape[-2:]
    if 0 in a.shape:
        return xp.zeros(a.shape[:-2] + (n, m), dtype=a.dtype)
    if hermitian:
        w, v = xp.linalg.eigh(a)
        s = xp.abs(w)
        tol = _tolerances("linalg.pinv", A, atol, rtol, s.max(axis=-1, keepdims=True))
        with np.errstate(divide="ignore"):
            winv = xp.where(s > tol, 1 / xp.where(s > tol, w, 1), 0).astype(a.dtype)
        return xp.matmul(v * winv[..., None, :], xp.conj(xp.swapaxes(v, -1, -2)))
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    tol = _tolerances("linalg.pinv", A, atol, rtol, s[..., :1])
    sinv = xp.where(s > tol, 1 / xp.where(s > tol, s, 1), 0).astype(a.dtype)
    return xp.matmul(xp.conj(xp.swapaxes(vh, -1, -2)) * sinv[..., None, :], xp.conj(xp.swapaxes(u, -1, -2)))


def _pinv_backward(A, P, gP):
    """Gradient of P = pinv(A) (constant rank): -P^H gP P^H + (I - AP)^H... in the Hermitian-transposed form."""
    PH = P.mH
    gA = -(PH @ gP @ PH)
    m, n = A.shape[-2], A.shape[-1]
    # (I - A P) gP^H P P^H  +  P^H P gP^H (I - P A)
    t1 = gP.mH @ (P @ PH)
    gA = gA + t1 - A @ (P @ t1)
    t2 = (PH @ P) @ gP.mH
    gA = gA + t2 - (t2 @ P) @ A
    return gA


class _Pinv(Function):
    _node_name = "LinalgPinvBackward0"

    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian):
        P = _make(_pinv_array(A._data, atol, rtol, hermitian, A))
        ctx.save_for_backward(A, P)
        return P

    @staticmethod
    def backward(ctx, grad):
        A, P = ctx.saved_tensors
        return _pinv_backward(A, P, grad), None, None, None


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None, rcond=None):
    """Moore-Penrose pseudo-inverse; singular values <= max(atol, rtol * s_max) count as zero."""
    if not isinstance(A, Tensor) or A.ndim < 2 or not (A.dtype.is_floating_point or A.dtype.is_complex) or \
            _is_low_precision(A.dtype):
        what = f"{_type_word(A.dtype)}{{{list(A.shape)}}}" if isinstance(A, Tensor) else type(A).__name__
        raise RuntimeError(f"linalg.pinv({what}): expected a tensor with 2 or more dimensions of float, double, "
                           f"cfloat or cdouble types")
    if rcond is not None:
        rtol = rcond
    if recording(A):
        return _out(_Pinv.apply(A, atol, rtol, hermitian), out)
    return _out(_make(_pinv_array(A._data, atol, rtol, hermitian, A)), out)


class _LstsqSolution(Function):
    """X = pinv(A) B, computed from one SVD."""
    _node_name = "LinalgLstsqBackward0"

    @staticmethod
    def forward(ctx, A, B, rcond):
        x, _, _ = _lstsq_arrays(A._data, B._data, rcond)
        X = _make(x)
        ctx.save_for_backward(A, B)
        return X

    @staticmethod
    def backward(ctx, grad):                     # X = P B: gB = P^H grad, gP = grad B^H
        A, B = ctx.saved_tensors
        P = pinv(A)
        gB = P.mH @ grad
        gA = _pinv_backward(A, P, grad @ B.mH) if ctx.needs_input_grad[0] else None
        return gA, gB, None


def _lstsq_arrays(a, b, rcond):
    """Minimum-norm least-squares solution via SVD: (X, singular values, rank)."""
    xp = _xpof(a)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, n = a.shape[-2:]
    k = b.shape[-1]
    a = xp.broadcast_to(a, batch + a.shape[-2:])
    b = xp.broadcast_to(b, batch + b.shape[-2:])
    if 0 in a.shape or 0 in batch:
        s = xp.zeros(batch + (min(m, n),), dtype=_real_dtype(a.dtype))
        return xp.zeros(batch + (n, k), dtype=a.dtype), s, xp.zeros(batch, dtype=np.int64)
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    tol = rcond * s[..., :1]
    keep = s > tol
    sinv = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(a.dtype)
    uhb = xp.matmul(xp.conj(xp.swapaxes(u, -1, -2)), b)
    x = xp.matmul(xp.conj(xp.swapaxes(vh, -1, -2)), sinv[..., :, None] * uhb)
    return x, s, keep.sum(axis=-1).astype(np.int64)


def lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares (m >= n) or minimum-norm (m < n) solution of A X = B.

    Returns (solution, residuals, rank, singular_values) as PyTorch does for each driver: rank for
    'gelsy', 'gelsd', 'gelss'; singular values for 'gelsd', 'gelss'; residuals (squared column norms of
    A X - B) when m > n, every matrix has full rank and the driver is not 'gelsy'. All drivers compute
    the minimum-norm solution from an SVD.
    """
    for t in (A, B):
        if isinstance(t, Tensor) and not (t.dtype.is_floating_point or t.dtype.is_complex):
            raise RuntimeError("This function doesn't handle types other than float and double")
    _check_matrix("torch.linalg.lstsq", A)
    _check_float("torch.linalg.lstsq", B, "B")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got "
                           f"input's dtype {_type_word(A.dtype)} and other's dtype {_type_word(B.dtype)}")
    if driver is None:
        driver = "gelsy" if A.device.type == "cpu" else "gels"
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)"
                           f"")
    if driver != "gels" and A.device.type != "cpu":
        raise RuntimeError(f"torch.linalg.lstsq: `driver` other than `gels` is not supported on CUDA")
    vector = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.ndim < 2:
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    if A.shape[-2] != Bm.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    try:
        np.broadcast_shapes(A.shape[:-2], Bm.shape[:-2])
    except ValueError:
        raise RuntimeError(f"torch.linalg.lstsq: the batch dimensions of input {tuple(A.shape[:-2])} and other "
                           f"{tuple(Bm.shape[:-2])} do not broadcast") from None
    m, n = A.shape[-2:]
    if rcond is None:
        rcond = float(np.finfo(_real_dtype(A._data.dtype)).eps) * max(m, n)
    x, s, rank = _lstsq_arrays(A._data, Bm._data, rcond)
    X = _LstsqSolution.apply(A, Bm, rcond) if recording(A, Bm) else _make(x)
    xp = _xpof(x)
    empty = _make(xp.zeros((0,), dtype=_real_dtype(A._data.dtype)))
    full_rank = bool((rank == min(m, n)).all())
    if m > n and driver != "gelsy" and full_rank:
        residuals = ((A @ X - Bm).abs() ** 2).sum(-2)
        if driver == "gels" and A.device.type != "cpu":
            residuals = empty
    else:
        residuals = empty
    rank_t = _make(rank) if driver != "gels" else _make(xp.zeros((0,), dtype=np.int64))
    sv = _make(s) if driver in ("gelsd", "gelss") else empty
    if vector:
        X = X.squeeze(-1)
    return return_types.linalg_lstsq(X, residuals, rank_t, sv)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, out=None, tol=None):
    """Number of singular values above max(atol, rtol * s_max) (int64)."""
    if isinstance(A, Tensor) and (not (A.dtype.is_floating_point or A.dtype.is_complex) or
                                  _is_low_precision(A.dtype)):
        raise RuntimeError("This function doesn't handle types other than float and double")
    _check_matrix("linalg.matrix_rank", A)
    if tol is not None:
        atol, rtol = tol, 0.0
    a = A._data
    xp = _xpof(a)
    if 0 in a.shape:
        return _out(_make(xp.zeros(a.shape[:-2], dtype=np.int64)), out)
    s = xp.abs(xp.linalg.eigvalsh(a)) if hermitian else xp.linalg.svd(a, compute_uv=False)
    s_max = s.max(axis=-1, keepdims=True)
    tol_ = _tolerances("linalg.matrix_rank", A, atol, rtol, s_max)
    return _out(_make((s > tol_).sum(axis=-1).astype(np.int64)), out)


def _check_cond_square(A, p):
    """torch names the order in cond's shape errors: ord=fro, ord=1 (int), ord=1.000000 (float, C's %f)."""
    spelled = p if isinstance(p, str) else f"{p:f}" if isinstance(p, float) else str(p)
    if A.ndim < 2:
        raise RuntimeError(f"linalg.cond(ord={spelled}): The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.cond(ord={spelled}): A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")


def cond(A, p=None, *, out=None):
    """Condition number ||A||_p ||A^-1||_p; for p = 2 (default) or -2 from the singular values, for which A may be
    rectangular. A singular matrix has condition number inf (nan for the 2-norms of a zero matrix)."""
    if isinstance(p, str):
        _check_cond_square(A, p)
    elif A.ndim < 2:
        raise RuntimeError("linalg.cond: The input tensor must have at least 2 dimensions.")
    if not (p is None or p in ("fro", "nuc") or (not isinstance(p, str) and abs(p) in (1, 2, math.inf))):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p if isinstance(p, str) else f'{p:g}'}")
    if A.numel() == 0:                            # NumPy leaves 0 x 0 undefined; torch returns 0
        return _out(_make(_xpof(A._data).zeros(A.shape[:-2], dtype=_real_dtype(A._data.dtype))), out)
    if p is None or p in (2, -2):
        s = svdvals(A)
        s_max, s_min = s[..., 0], s[..., -1]
        return _out(s_min / s_max if p == -2 else s_max / s_min, out)
    if p == "nuc":                                # the norm of inv(A), whose singular values are 1 / s
        s = svdvals(A)
        return _out(s.sum(-1) * s.reciprocal().sum(-1), out)
    _check_cond_square(A, p)
    inverse, info = inv_ex(A)
    inverse = inverse.masked_fill((info > 0)[..., None, None], math.inf)
    # a zero matrix gives 0 * inf: still infinitely ill-conditioned
    return _out((matrix_norm(A, p) * matrix_norm(inverse, p)).nan_to_num(math.inf, math.inf, -math.inf), out)


# -- compositions: matrix_power, multi_dot, cross, vecdot --------------------------------------------------
def _power_exponent(op, n):
    """n as an int; like torch's argument parser, refuse floats (2.0 included) but take integer tensors."""
    try:
        return operator.index(n)
    except TypeError:
        raise TypeError(f"{op}(): argument 'n' (position 2) must be int, not {type(n).__name__}") from None


def matrix_power(A, n, *, out=None):
    """A^n by repeated squaring (n < 0: powers of inv(A)); differentiable through matmul."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.matrix_power(): argument 'A' must be Tensor, not {type(A).__name__}")
    n = _power_exponent("linalg_matrix_power", n)
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    n = _power_exponent("linalg_matrix_power", n)
    if n == 0:
        xp = _xpof(A._data)
        eye = _make(xp.broadcast_to(xp.eye(A.shape[-1], dtype=A._data.dtype), A.shape).copy())
        return _out(A * 0 + eye if recording(A) else eye, out)      # connected, zero gradient
    if n < 0:
        A = inv(A)
        n = -n
    result = None
    base = A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return _out(result if result is not A else result.clone(), out)


def multi_dot(tensors, *, out=None):
    """Product of a chain of matrices (first may be a row vector, last a column vector)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first, last = tensors[0], tensors[-1]
    if first.ndim not in (1, 2):
        raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {first.ndim}D")
    if last.ndim not in (1, 2):
        raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {last.ndim}D")
    for i, t in enumerate(tensors[1:-1], 1):
        if t.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    dt = first.dtype
    for i, t in enumerate(tensors):
        if t.dtype is not dt:
            from ._ops.blas import _C_NAMES     # torch names the C++ element types here
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                               f"{_C_NAMES.get(dt.name, dt.name)} and tensor {i} {_C_NAMES.get(t.dtype.name, t.dtype.name)}")
    mats = [first.unsqueeze(0) if first.ndim == 1 else first] + tensors[1:-1] + \
        [last.unsqueeze(-1) if last.ndim == 1 else last]
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:        # the message shows the shapes as given
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(tensors[i].shape)} and "
                               f"{list(tensors[i + 1].shape)} cannot be multiplied")
    r = _chain(mats, _chain_order([m.shape[0] for m in mats] + [mats[-1].shape[1]]), 0, len(mats) - 1)
    if first.ndim == 1:
        r = r.squeeze(0)
    if last.ndim == 1:
        r = r.squeeze(-1)
    return _out(r, out)


def _chain_order(dims):
    """Cheapest parenthesisation of a matrix chain (classic dynamic programme): split table."""
    k = len(dims) - 1
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            cost[i][j] = math.inf
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, s
    return split


def _chain(mats, split, i, j):
    if i == j:
        return mats[i]
    s = split[i][j]
    return _chain(mats, split, i, s).mm(_chain(mats, split, s + 1, j))


def cross(input, other, *, dim=-1, out=None):
    """Cross product of 3-vectors along dim, with broadcasting."""
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = _wrap_dim(dim, input.ndim) if input.ndim else 0
    if input.ndim == 0 or input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d] if input.ndim else 0} and {other.shape[d] if other.ndim else 0}")
    if input.dtype is not other.dtype:
        from ._ops._util import _type_word
        raise RuntimeError(f"expected scalar type {_type_word(input.dtype)} but found {_type_word(other.dtype)}")
    a0, a1, a2 = input.unbind(d)
    b0, b1, b2 = other.unbind(d)
    from ._ops.creation import stack
    return _out(stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d), out)


def vecdot(x, y, *, dim=-1, out=None):
    """sum(conj(x) * y) along dim, with broadcasting."""
    return _out((x.conj() * y).sum(dim), out)


def matmul(input, other, *, out=None):
    """Alias of flambeau.matmul."""
    return input.matmul(other) if out is None else _out(input.matmul(other), out)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """Alias of flambeau.diagonal with matrix-last defaults."""
    return A.diagonal(offset, dim1, dim2)


# -- matrix exponential ------------------------------------------------------------------------------------
def _expm_array(a):
    """exp(A) by scaling and squaring: Taylor series of A / 2^s (1-norm <= 1/2), squared s times."""
    xp = _xpof(a)
    if a.size == 0:
        return a.copy()
    norm = float(xp.abs(a).sum(axis=-2).max())
    s = max(0, int(math.ceil(math.log2(norm / 0.5)))) if norm > 0.5 else 0
    x = a / (2.0 ** s)
    eye = xp.eye(a.shape[-1], dtype=a.dtype)
    term = x
    result = eye + x
    for k in range(2, 19):                      # ||x||^19 / 19! < 1e-22 for ||x|| <= 1/2
        term = xp.matmul(term, x) / k
        result = result + term
    for _ in range(s):
        result = xp.matmul(result, result)
    return result


class _MatrixExp(Function):
    _node_name = "LinalgMatrixExpBackward0"

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return _expm_array(A._data)

    @staticmethod
    def backward(ctx, grad):                     # gA = exp([[A^H, grad], [0, A^H]])[:n, n:]
        (A,) = ctx.saved_tensors
        from ._ops.creation import cat, zeros_like
        AH = A.mH
        n = A.shape[-1]
        block = cat([cat([AH, grad], -1), cat([zeros_like(AH), AH], -1)], -2)
        return matrix_exp(block)[..., :n, n:]


def matrix_exp(A):
    """exp(A) = sum_k A^k / k! for each square matrix in A."""
    _check_matrix("linalg.matrix_exp", A, square=True)
    return _MatrixExp.apply(A) if recording(A) else _make(_expm_array(A._data))


# -- LU: factor, unpack, solve ----------------------------------------------------------------------------
@handles_out
def lu_factor(A, *, pivot=True, out=None):
    """(LU, pivots) of A = P L U with partial pivoting (pivots 1-based int32, as LAPACK); raises where U has
    a zero on its diagonal (reading the info on the host, as torch does)."""
    _check_lu_input("linalg.lu_factor", A)
    if not pivot:
        _no_pivoting("linalg.lu_factor", A)
    LU, pivots, info = lu_factor_ex(A)
    error = _lu_singular_error("linalg.lu_factor", A.shape, info._data)
    if error is not None:
        raise error
    return return_types.linalg_lu_factor(LU, pivots)


def _permutation_matrix(perm, dtype):
    """P (*, m, m) with P^T's row i picking row perm[i]: P[perm[i], i] = 1."""
    xp = _xpof(perm)
    m = perm.shape[-1]
    eye = xp.eye(m, dtype=dtype)
    return xp.swapaxes(eye[perm], -1, -2).copy()


def _lu_triangles(lu_):
    """(L, U) of lu_factor's packed LU (*, m, n), any dtype: L (*, m, k) unit lower, U (*, k, n) upper."""
    xp = _xpof(lu_)
    m, n = lu_.shape[-2:]
    k = min(m, n)
    return xp.tril(lu_[..., :, :k], -1) + xp.eye(m, k, dtype=lu_.dtype), xp.triu(lu_[..., :k, :])


def _lu_permutation(lu_, piv):
    """P (*, m, m) of A = P L U in lu_'s dtype from the pivots, whose batch dims broadcast to lu_'s."""
    m, n = lu_.shape[-2:]
    perm = _pivot_permutation(_xpof(piv).broadcast_to(piv, lu_.shape[:-2] + (min(m, n),)), m)
    return _permutation_matrix(perm, lu_.dtype)


def _lu_unpack_arrays(lu_, piv):
    """(P, L, U) of lu_factor's packed result."""
    return (_lu_permutation(lu_, piv),) + _lu_triangles(lu_)


@handles_out
def lu(A, *, pivot=True, out=None):
    """(P, L, U) with A = P L U; differentiable in L and U."""
    _check_lu_input("linalg.lu", A)
    if not pivot:
        _no_pivoting("linalg.lu", A)
    if recording(A):
        return return_types.linalg_lu(*_Lu.apply(A))
    lu_, piv, _ = _lu_array(A._data)
    return return_types.linalg_lu(*[_make(x) for x in _lu_unpack_arrays(lu_, piv)])


class _PermuteRows(Function):
    """The rows of x in the order perm (see _permute_rows); the adjoint of a permutation is its inverse"""

    @staticmethod
    def forward(ctx, x, perm, inverse):
        ctx.perm, ctx.inverse = perm, inverse
        return _permute_rows(x._data, perm)

    @staticmethod
    def backward(ctx, grad):
        return _rows(grad, ctx.inverse, ctx.perm), None, None


def _rows(x, perm, inverse):
    """x's rows in the order perm (inverse: the inverse permutation), differentiable."""
    if recording(x):
        return _PermuteRows.apply(x, perm, inverse)
    return _make(_permute_rows(x._data, perm))


def _lu_solve_backward(LU, perm, X, gX, left, adjoint, need_LU):
    """(gLU, gB) of X = lu_solve(LU, pivots, B, left, adjoint), in flambeau ops (they differentiate again).

    A = P L U takes a gradient gA to the packed factors as gLU = tril(P^T gA U^H, -1) + triu(L^H P^T gA):
    A X = B:    gB = A^{-H} gX = P Z, Z = L^{-H} Y, Y = U^{-H} gX; gA = -gB X^H, so
                gLU = -tril(Z (U X)^H, -1) - triu(Y X^H).
    A^H X = B:  gB = A^{-1} gX = U^{-1} W, W = L^{-1} P^T gX; gA = -X gB^H, so with V = P^T X
                gLU = -tril(V W^H, -1) - triu(L^H V gB^H).
    X op(A) = B is op(A)^H X^H = B^H. The triangular solves read LU's triangles as L and U.
    """
    if not left:
        gLU, gB = _lu_solve_backward(LU, perm, X.mH, gX.mH, True, not adjoint, need_LU)
        return gLU, gB.mH
    inverse = _xpof(perm).argsort(perm, axis=-1)
    if adjoint:
        W = solve_triangular(LU, _rows(gX, perm, inverse), upper=False, unitriangular=True)
        gB = solve_triangular(LU, W, upper=True)
        if not need_LU:
            return None, gB
        V = _rows(X, perm, inverse)
        LhV = LU.tril(-1).mH @ V + V
        return -((V @ W.mH).tril(-1) + (LhV @ gB.mH).triu()), gB
    Y = solve_triangular(LU.mH, gX, upper=False)
    Z = solve_triangular(LU.mH, Y, upper=True, unitriangular=True)
    gB = _rows(Z, inverse, perm)
    if not need_LU:
        return None, gB
    return -((Z @ (LU.triu() @ X).mH).tril(-1) + (Y @ X.mH).triu()), gB


class _LuSolve(Function):
    """X with op(A) X = B (X op(A) = B with left=False), A = P L U as lu_factor packs it"""
    _node_name = "LinalgLuSolveBackward0"

    @staticmethod
    def forward(ctx, LU, pivots, B, left, adjoint):
        perm = _pivot_permutation(pivots._data, LU.shape[-1])
        X = _make(_lu_solve_sided(LU._data, perm, B._data, left, adjoint))
        ctx.save_for_backward(LU, X)
        ctx.perm, ctx.left, ctx.adjoint = perm, left, adjoint
        return X

    @staticmethod
    def backward(ctx, grad):
        LU, X = ctx.saved_tensors
        gLU, gB = _lu_solve_backward(LU, ctx.perm, X, grad, ctx.left, ctx.adjoint, ctx.needs_input_grad[0])
        return gLU, None, gB, None, None


def _check_lu_solve(LU, pivots, B, left):
    """torch's checks of linalg.lu_solve, in its order."""
    for position, (arg, t) in enumerate((("LU", LU), ("pivots", pivots), ("B", B)), 1):
        if not isinstance(t, Tensor):
            raise TypeError(f"linalg_lu_solve(): argument '{arg}' (position {position}) must be Tensor, not "
                            f"{type(t).__name__}")
    _check_float("torch.linalg.lu_solve", LU, low_precision=True)
    if B.dtype is not LU.dtype:
        raise RuntimeError(f"linalg.lu_solve: Expected LU and B to have the same dtype, but found LU of type "
                           f"{_type_word(LU.dtype)} and B of type {_type_word(B.dtype)} instead")
    if pivots.dtype is not _dtype.int32:
        raise RuntimeError("linalg.lu_solve: pivots should be a Tensor of scalar type torch.int32")
    _check_matrix("torch.linalg.lu_solve", LU, square=True, low_precision=True)
    _check_solver_shapes("linalg.lu_solve", LU.shape[-1], B, left)
    if _last_dim(pivots) != LU.shape[-1]:
        raise RuntimeError("linalg.lu_solve: Number of pivots per batch should be same as the dimension of the "
                           "matrix")
    if tuple(pivots.shape) != tuple(LU.shape[:-1]):
        raise RuntimeError(f"linalg.lu_solve: Expected LU.shape[:-1] and pivots.shape to be the same, but got "
                           f"pivots with shape {list(pivots.shape)} instead")
    broadcast_shapes(B.shape[:-2], LU.shape[:-2])
    check_same_device("linalg.lu_solve", LU, pivots, B)
    _refuse_low_precision("linalg.lu_solve_cpu", LU)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    """X with A X = B (X A = B with left=False; A^H for A with adjoint=True) from lu_factor's (LU, pivots) of A;
    the batch dims of LU and B broadcast. Differentiable in LU and B."""
    _check_lu_solve(LU, pivots, B, left)
    if recording(LU, B):
        return _out(_LuSolve.apply(LU, pivots, B, left, adjoint), out)
    perm = _pivot_permutation(pivots._data, LU.shape[-1])
    return _out(_make(_lu_solve_sided(LU._data, perm, B._data, left, adjoint)), out)


# -- norms ---------------------------------------------------------------------------------------------
class _Norm2(Function):
    """sqrt(sum |x|^2) over dims; the gradient at 0 is 0 (a subgradient), as PyTorch's"""
    _node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        a = x._data
        xp = _xpof(a)
        mag = xp.abs(a)
        out = _make(row_major(xp.sqrt((mag * mag).sum(axis=dims, keepdims=keepdim))))
        ctx.save_for_backward(x, out)
        ctx.dims, ctx.keepdim = dims, keepdim
        return out

    @staticmethod
    def backward(ctx, grad):                     # d|x| = x / |x| (0 where |x| = 0)
        x, out = ctx.saved_tensors
        if not ctx.keepdim:
            dims = range(x.ndim) if ctx.dims is None else ctx.dims
            for d in sorted(dims):
                grad, out = grad.unsqueeze(d), out.unsqueeze(d)
        zero = _make(_xpof(out._data).asarray(out._data == 0, dtype=out._data.dtype))
        scale = grad / (out + zero) * (1 - zero)
        return x * scale.to(x.dtype) if x.is_complex() else x * scale, None, None


class _NormP(Function):
    """(sum |x|^p)^(1/p) over dims; the gradient where the norm is 0 is 0, as PyTorch's"""
    _node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        a = x._data
        xp = _xpof(a)
        out = _make(row_major((xp.abs(a) ** p).sum(axis=dims, keepdims=keepdim) ** (1.0 / p)))
        ctx.save_for_backward(x, out)
        ctx.p, ctx.dims, ctx.keepdim = p, dims, keepdim
        return out

    @staticmethod
    def backward(ctx, grad):                     # d/dx = sgn(x) |x|^(p-1) / norm^(p-1)
        x, out = ctx.saved_tensors
        p = ctx.p
        if not ctx.keepdim:
            for d in sorted(range(x.ndim) if ctx.dims is None else ctx.dims):
                grad, out = grad.unsqueeze(d), out.unsqueeze(d)
        zero = _make(_xpof(out._data).asarray(out._data == 0, dtype=out._data.dtype))
        scale = grad / (out + zero) ** (p - 1) * (1 - zero)
        # 0 at zero elements, as PyTorch (for p < 1, |x|^(p-1) would be inf there, and sgn(x) 0)
        slope = x.sgn() * x.abs() ** (p - 1)
        if p < 1:
            slope = slope.masked_fill(x == 0, 0.0)
        return slope * scale.to(x.dtype), None, None, None


def _check_norm_has_identity(x, ord, dim):
    """The inf norm and the negative-order norms are a max or a min, which an empty tensor or an empty dim
    does not have: torch refuses them (dims checked as given, before they are wrapped)."""
    dims = (dim,) if isinstance(dim, int) else tuple(dim) if dim is not None else ()
    if not dims:
        raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm on an empty tensor because the "
                           f"operation does not have an identity")
    for d in dims:
        if x.shape[wrap_dims(d, x.ndim)[0]] == 0:
            # (torch's message has no space before "because")
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm on the dimension {d}because "
                               f"this dimension is empty and the operation does not have an identity")


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """(sum |x|^ord)^(1/ord) over dim (all elements by default); differentiable."""
    if isinstance(ord, str):        # 'fro' and 'nuc' are matrix norms
        raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not str")
    if dtype is not None:
        x = x.to(dtype)
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {_type_word(x.dtype)}")
    if x.numel() == 0 and (ord < 0 or ord == math.inf):
        _check_norm_has_identity(x, ord, dim)
    if x.dtype is _dtype.float16 and ord not in (math.inf, -math.inf, 0):
        # accumulated in float32, rounded once (Note [Half precision statistics] in nn.functional)
        return _out(vector_norm(x.float(), ord, dim, keepdim).to(x.dtype), out)
    dims = wrap_dims(dim, x.ndim)
    if not dims or not x.ndim:      # dim=() reduces every dim; a 0-dim tensor's dim 0 is the element itself
        dims = None
    if ord == 2:
        if recording(x):
            return _out(_Norm2.apply(x, dims, keepdim), out)
        a = x._data
        mag = _xpof(a).abs(a)
        return _out(_make(row_major(_xpof(a).sqrt((mag * mag).sum(axis=dims, keepdims=keepdim)))), out)
    a = x.abs()
    if ord == math.inf:
        r = a.amax(dims if dims is not None else (), keepdim)
    elif ord == -math.inf:
        r = a.amin(dims if dims is not None else (), keepdim)
    elif ord == 0:
        from ._ops.reduction import zero_norm_node     # a count: a node all the same, with no gradient
        r = zero_norm_node(x, (a != 0).to(a.dtype).sum(dims, keepdim))
    elif ord == 1:
        r = a.sum(dims, keepdim)
    elif recording(x):
        r = _NormP.apply(x, float(ord), dims, keepdim)
    else:
        r = (a ** ord).sum(dims, keepdim) ** (1.0 / ord)
    return _out(r, out)


def _max_min(s, d, largest):
    """The max (or min) of s over dim d, kept; torch's matrix norms take the max over an empty dim as 0 (the
    sum, of nothing), while the min over one stays an error."""
    if largest:
        return s.amax(d, keepdim=True) if s.shape[d] else s.sum(d, keepdim=True)
    return s.amin(d, keepdim=True)


def _check_matrix_norm(A, ord, dim):
    """matrix_norm's checks in torch's order: the order, A, then dim (returned wrapped)."""
    if isinstance(ord, str):
        known, spelled, exact = ord in ("fro", "nuc"), ord, ord == "nuc"
    else:
        known, spelled, exact = abs(ord) in (1, 2, math.inf), f"{ord:g}", abs(ord) == 2
    if not known:
        raise RuntimeError(f"linalg.matrix_norm: Order {spelled} not supported.")
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    # the 2-norm and the nuclear norm go through an SVD, which has no float16 kernel
    _check_float("linalg.matrix_norm", A, low_precision=not exact)
    dim = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    d0, d1 = (_wrap_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    return d0, d1


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """Frobenius, nuclear, 1, -1, inf, -inf, 2 or -2 norm of the matrices in dims dim."""
    d0, d1 = _check_matrix_norm(A, ord, dim)
    if dtype is not None:
        A = A.to(dtype)
    if ord == "fro":
        return _out(vector_norm(A, 2, (d0, d1), keepdim), out)
    if ord == "nuc":
        s = svdvals(A.movedim((d0, d1), (-2, -1))).sum(-1)
    elif ord in (1, -1):
        s = _max_min(A.abs().sum(d0, keepdim=True), d1, ord > 0).squeeze((d0, d1))
    elif ord in (math.inf, -math.inf):
        s = _max_min(A.abs().sum(d1, keepdim=True), d0, ord > 0).squeeze((d0, d1))
    else:                                       # 2 or -2, as _check_matrix_norm left no other order
        s = _max_min(svdvals(A.movedim((d0, d1), (-2, -1))), -1, ord > 0).squeeze(-1)
    if keepdim:
        s = s.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
    return _out(s, out)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """Vector norm (1-D input, or int dim) or matrix norm (2-D input, or 2-tuple dim); a string ord ('fro',
    'nuc') is always a matrix norm."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        if len(dim) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}")
    elif ord is not None and A.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                           f"Got {A.ndim}D.")
    if isinstance(ord, str):
        return matrix_norm(A, ord, dim if dim is not None else (0, 1), keepdim, dtype=dtype, out=out)
    if ord is not None and (len(dim) == 2 if dim is not None else A.ndim == 2):
        return matrix_norm(A, ord, dim if dim is not None else (-2, -1), keepdim, dtype=dtype, out=out)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype, out=out)


# -- LU with its info and gradient ---------------------------------------------------------------------
def _lu_backward(gL, gU, P, L, U):
    """Gradient of A = P L U (L: (*, m, k) unit lower, U: (*, k, n)) from those of L and U, as torch's
    linalg_lu_backward: square, wide and tall cases (None for a factor without a gradient)."""
    from ._ops.creation import cat, zeros_like
    m, n = L.shape[-2], U.shape[-1]
    k = min(m, n)
    if m == n:                      # P L^{-H} [tril(L^H gL, -1) + triu(gU U^H)] U^{-H}
        gA = (L.mH @ gL).tril(-1) if gL is not None else None
        if gU is not None:
            gA = (gU @ U.mH).triu() if gA is None else gA + (gU @ U.mH).triu()
        gA = solve_triangular(U.mH, gA, upper=False, left=False)
        return P @ solve_triangular(L.mH, gA, upper=True, unitriangular=True)
    if m < n:                       # wide: U = [U1 | U2] with U1 square
        U1 = U[..., :, :k]
        gA = L.mH @ gL if gL is not None else None
        if gU is not None:
            gA = -(gU.triu() @ U.mH) if gA is None else gA - gU.triu() @ U.mH
        gA = solve_triangular(U1.mH, gA.tril(-1), upper=False, left=False)
        if gU is not None:
            gA = cat([gA + gU[..., :, :k].triu(), gU[..., :, k:]], -1)
        gA = solve_triangular(L.mH, gA, upper=True, unitriangular=True)
        if gU is None:
            gA = cat([gA, zeros_like(U[..., :, k:])], -1)
        return P @ gA
    L1 = L[..., :k, :]              # tall: L = [L1; L2] with L1 square
    gA = gU @ U.mH if gU is not None else None
    if gL is not None:
        gA = -(L.mH @ gL.tril(-1)) if gA is None else gA - L.mH @ gL.tril(-1)
    gA = solve_triangular(L1.mH, gA.triu(), upper=True, unitriangular=True)
    if gL is not None:
        gA = cat([gA + gL[..., :k, :].tril(-1), gL[..., k:, :]], -2)
    gA = solve_triangular(U.mH, gA, upper=False, left=False)
    if gL is None:
        gA = cat([gA, zeros_like(L[..., k:, :])], -2)
    return P @ gA


def _lu_factors(LU, pivots):
    """(P, L, U) from lu_factor's result: L and U differentiable functions of LU, P a constant."""
    m, n = LU.shape[-2:]
    k = min(m, n)
    P = _make(_lu_permutation(LU._data, pivots._data))
    eye = _make(_xpof(LU._data).eye(m, k, dtype=LU._data.dtype))
    return P, LU[..., :, :k].tril(-1) + eye, LU[..., :k, :].triu()


class _LuFactor(Function):
    """(LU, pivots, info) of A = P L U with partial pivoting (LAPACK getrf)"""
    _node_name = "LinalgLuFactorExBackward0"

    @staticmethod
    def forward(ctx, A):
        lu_, piv, info = _lu_array(A._data)
        LU, pivots = _make(lu_), _make(piv)
        ctx.save_for_backward(LU, pivots)
        return LU, pivots, _make(info)

    @staticmethod
    def backward(ctx, grad, grad_pivots, grad_info):
        LU, pivots = ctx.saved_tensors
        k = min(LU.shape[-2:])
        P, L, U = _lu_factors(LU, pivots)
        return _lu_backward(grad[..., :, :k], grad[..., :k, :], P, L, U)


class _Lu(Function):
    """(P, L, U) with A = P L U; P carries no gradient"""
    _node_name = "LinalgLuBackward0"

    @staticmethod
    def forward(ctx, A):
        lu_, piv, _ = _lu_array(A._data)
        P, L, U = [_make(x) for x in _lu_unpack_arrays(lu_, piv)]
        ctx.save_for_backward(P, L, U)
        ctx.mark_non_differentiable(P)
        return P, L, U

    @staticmethod
    def backward(ctx, gP, gL, gU):
        P, L, U = ctx.saved_tensors
        return _lu_backward(gL, gU, P, L, U)


def _check_lu_input(name, A):
    if isinstance(A, Tensor) and A.ndim < 2:
        raise RuntimeError(f"torch.lu_factor: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} "
                           f"instead")
    _check_kernel_dtype("lu_cpu", A)
    if A.dtype is _dtype.float16:
        raise NotImplementedError("\"lu_cpu\" not implemented for 'Half'")
    _check_matrix(name, A)


def _lu_singular_error(name, shape, info):
    """torch's report of the first matrix whose U has a zero on its diagonal (a host read, as torch's)."""
    fail = _first_failure(info)
    if fail is not None:
        idx, k = fail
        return RuntimeError(f"torch.{name}: {_batch_prefix(shape, idx)}U[{k},{k}] is zero and using it on "
                            f"lu_solve would result in a division by zero. If you still want to perform the "
                            f"factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")
    return None


def _no_pivoting(name, A):
    if A.device.type == "cpu":
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    raise NotImplementedError(f"{name}: LU without pivoting (torch's cuda-only option) is not implemented in "
                              f"flambeau")


@handles_out
def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    """(LU, pivots, info) of A = P L U with partial pivoting (pivots 1-based int32, as LAPACK); info is 0,
    or k where U[k-1, k-1] is zero. check_errors raises there (reading info on the host)."""
    _check_lu_input("linalg.lu_factor_ex", A)
    if not pivot:
        _no_pivoting("linalg.lu_factor_ex", A)
    if recording(A):
        LU, pivots, info = _LuFactor.apply(A)
    else:
        LU, pivots, info = (_make(x) for x in _lu_array(A._data))
    if check_errors:
        error = _lu_singular_error("linalg.lu_factor_ex", A.shape, info._data)
        if error is not None:
            raise error
    return return_types.linalg_lu_factor_ex(LU, pivots, info)


return_types.linalg_lu_factor_ex = _return_type("linalg_lu_factor_ex", ("LU", "pivots", "info"))


# -- Householder reflectors: geqrf, householder_product (orgqr), ormqr --------------------------------
# Q = H_0 H_1 ... H_{k-1} with H_i = I - tau_i v_i v_i^H, v_i stored as LAPACK's geqrf leaves it: 0
# above row i, 1 at row i (not stored), column i of A below. One step per reflector, each batched.
def _reflector_array(a, i):
    xp = _xpof(a)
    rows = xp.arange(a.shape[-2])
    return xp.where(rows > i, a[..., :, i], 0).astype(a.dtype) + (rows == i).astype(a.dtype)


def _reflector(A, i):
    """v_i as a tensor differentiable in A's column i below row i."""
    from ._ops.pointwise import where
    rows = _make(_xpof(A._data).arange(A.shape[-2]))
    return where(rows > i, A[..., :, i], 0.0) + (rows == i).to(A.dtype)


def _reflector_order(k, adjoint):
    """Q C applies H_{k-1} first; Q^H C = H_{k-1}^H ... H_0^H C applies H_0^H first."""
    return range(k) if adjoint else range(k - 1, -1, -1)


def _reflect_array(a, tau, c, adjoint):
    """Q C (Q^H C when adjoint) for c (*, m, p); a and c have the same batch dims."""
    xp = _xpof(a)
    for i in _reflector_order(tau.shape[-1], adjoint):
        v = _reflector_array(a, i)
        s = xp.conj(tau[..., i]) if adjoint else tau[..., i]
        c = c - (s[..., None, None] * v[..., :, None]) * xp.matmul(xp.conj(v)[..., None, :], c)
    return c.copy() if tau.shape[-1] == 0 else c


def _reflect_backward(A, tau, C, G, adjoint):
    """Gradients of A, tau and C for Q C (Q^H C when adjoint), written with flambeau ops so that they
    differentiate again: each step X' = X - s v (v^H X) taken back in turn, s = tau_i (or conj(tau_i))."""
    from ._ops.creation import stack, zeros_like
    from ._ops.pointwise import where
    k, n = tau.shape[-1], A.shape[-1]
    if k == 0:
        return zeros_like(A), zeros_like(tau), G
    order = list(_reflector_order(k, adjoint))
    vs = [_reflector(A, i).unsqueeze(-1) for i in range(k)]
    scales = [tau[..., i, None, None].conj() if adjoint else tau[..., i, None, None] for i in range(k)]
    states, X = [], C                   # the matrix each step is applied to
    for i in order:
        states.append(X)
        X = X - scales[i] * vs[i] @ (vs[i].mH @ X)
    rows = _make(_xpof(A._data).arange(A.shape[-2]))
    columns, taus = [None] * k, [None] * k
    for i, X in zip(reversed(order), reversed(states)):
        v, s = vs[i], scales[i]
        w, a = v.mH @ X, v.mH @ G                                # rows (*, 1, p)
        g_s = -(a @ w.mH)[..., 0, 0]
        g_v = -(s.conj() * (G @ w.mH)) - s * (X @ a.mH)          # (*, m, 1)
        G = G - s.conj() * v @ a
        taus[i] = g_s.conj() if adjoint else g_s
        columns[i] = where(rows > i, g_v[..., 0], 0.0)
    columns += [zeros_like(A[..., :, 0])] * (n - k)
    return stack(columns, -1), stack(taus, -1), G


def _conj_t(a):
    return _xpof(a).conj(_xpof(a).swapaxes(a, -1, -2))


def _ormqr_array(a, tau, c, left, adjoint):
    """Q C or Q^H C from the left; from the right C Q = (Q^H C^H)^H and C Q^H = (Q C^H)^H."""
    if left:
        return _reflect_array(a, tau, c, adjoint)
    return _conj_t(_reflect_array(a, tau, _conj_t(c), not adjoint))


class _Reflect(Function):
    """Q C, Q^H C, C Q or C Q^H, as LAPACK's ormqr"""
    _node_name = "OrmqrBackward0"

    @staticmethod
    def forward(ctx, A, tau, C, left, adjoint):
        ctx.save_for_backward(A, tau, C)
        ctx.left, ctx.adjoint = left, adjoint
        return _ormqr_array(A._data, tau._data, C._data, left, adjoint)

    @staticmethod
    def backward(ctx, grad):
        A, tau, C = ctx.saved_tensors
        if ctx.left:
            return _reflect_backward(A, tau, C, grad, ctx.adjoint) + (None, None)
        gA, gtau, gC = _reflect_backward(A, tau, C.mH, grad.mH, not ctx.adjoint)
        return gA, gtau, gC.mH, None, None


def _last_dim(t):
    if t.ndim == 0:
        raise IndexError("Dimension specified as -1 but tensor has no dimensions")
    return t.shape[-1]


def _check_devices(name, **tensors):
    (na, a), *rest = tensors.items()
    for nb, b in rest:
        if a.device != b.device:
            raise RuntimeError(f"{name}: Expected {na} and {nb} to be on the same device, but found {na} on "
                               f"{a.device} and {nb} on {b.device} instead.")


def householder_product(A, tau, *, out=None):
    """The first n columns of H_0 ... H_{k-1}, H_i = I - tau_i v_i v_i^H with v_i below A's diagonal
    (LAPACK's orgqr/ungqr; with geqrf's result, the Q of A's QR)."""
    name = "torch.linalg.householder_product"
    for arg, t in (("input", A), ("tau", tau)):
        if not isinstance(t, Tensor):
            raise TypeError(f"linalg_householder_product(): argument '{arg}' must be Tensor, not {type(t).__name__}")
    if A.ndim < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    m, n = A.shape[-2:]
    if m < n:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if n < _last_dim(tau):
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if A.ndim - tau.ndim != 1:
        raise RuntimeError(f"{name}: Expected tau to have one dimension less than input, but got tau.ndim equal to "
                           f"{tau.ndim} and input.ndim is equal to {A.ndim}")
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(f"{name}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
                           f"{list(tau.shape[:-1])}")
    if tau.dtype is not A.dtype:
        raise RuntimeError(f"{name}: tau dtype {_type_word(tau.dtype)} does not match input dtype "
                           f"{_type_word(A.dtype)}")
    _check_devices(name, input=A, tau=tau)
    _check_kernel_dtype("orgqr_cpu", A)
    if A.dtype is _dtype.float16:
        raise NotImplementedError("\"orgqr_cpu\" not implemented for 'Half'")
    xp = _xpof(A._data)
    eye = _make(xp.broadcast_to(xp.eye(m, n, dtype=A._data.dtype), A.shape))
    if recording(A, tau):
        return _out(_Reflect.named("LinalgHouseholderProductBackward0").apply(A, tau, eye, True, False), out)
    return _out(_make(_reflect_array(A._data, tau._data, eye._data, False)), out)


def orgqr(input, input2, *, out=None):
    """torch.orgqr: householder_product(input, input2)."""
    return householder_product(input, input2, out=out)


def ormqr(input, input2, input3, left=True, transpose=False, *, out=None):
    """Q input3 (input3 Q with left=False; Q^H with transpose=True), Q = H_0 ... H_{k-1} from the reflectors
    below input's diagonal and their scales input2, as geqrf leaves them (LAPACK's ormqr/unmqr)."""
    name = "torch.ormqr"
    A, tau, C = input, input2, input3
    for arg, t in (("input", A), ("input2", tau), ("input3", C)):
        if not isinstance(t, Tensor):
            raise TypeError(f"ormqr(): argument '{arg}' must be Tensor, not {type(t).__name__}")
    if A.ndim < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    if C.ndim < 2:
        raise RuntimeError(f"{name}: other must have at least 2 dimensions.")
    side = -2 if left else -1
    if C.shape[side] != A.shape[-2]:
        raise RuntimeError(f"{name}: other.shape[{side}] must be equal to input.shape[-2]")
    if _last_dim(tau) != min(C.shape[side], A.shape[-1]):
        raise RuntimeError(f"{name}: tau.shape[-1] must be equal to min(other.shape[{side}], input.shape[-1])")
    if A.ndim - tau.ndim != 1:
        raise RuntimeError(f"{name}: Expected tau to have one dimension less than input, but got tau.ndim equal to "
                           f"{tau.ndim} and input.ndim is equal to {A.ndim}")
    if A.ndim != C.ndim:
        raise RuntimeError(f"{name}: Expected other to have the same number of dimensions as input, but got "
                           f"other.ndim equal to {C.ndim} and input.ndim is equal to {A.ndim}")
    for what, t, batch in (("tau", tau, tau.shape[:-1]), ("other", C, C.shape[:-2])):
        if tuple(batch) != tuple(A.shape[:-2]):
            raise RuntimeError(f"{name}: Expected batch dimensions of {what} to be equal to input.shape[:-2], but "
                               f"got {list(batch)}")
    for what, t in (("tau", tau), ("other", C)):
        if t.dtype is not A.dtype:
            raise RuntimeError(f"{name}: Expected input and {what} to have the same dtype, but input has dtype"
                               f"{_type_word(A.dtype)} and {what} has dtype {_type_word(t.dtype)}")
    _check_devices(name, input=A, tau=tau, other=C)
    _check_kernel_dtype("ormqr_cpu", A)
    if A.dtype is _dtype.float16:
        raise NotImplementedError("\"ormqr_cpu\" not implemented for 'Half'")
    if recording(A, tau, C):
        return _out(_Reflect.apply(A, tau, C, bool(left), bool(transpose)), out)
    return _out(_make(_ormqr_array(A._data, tau._data, C._data, bool(left), bool(transpose))), out)


def _geqrf_arrays(a):
    """(a, tau) as LAPACK's geqrf leaves them: R on and above the diagonal, the reflectors below."""
    xp = _xpof(a)
    m, n = a.shape[-2:]
    if 0 in a.shape:
        return a.copy(), xp.zeros(a.shape[:-2] + (min(m, n),), dtype=a.dtype)
    if xp is np:
        h, tau = np.linalg.qr(a, mode="raw")
    else:       # CuPy's qr factors one matrix at a time
        flat = a.reshape((-1, m, n))
        pairs = [xp.linalg.qr(flat[b], mode="raw") for b in range(flat.shape[0])]
        h = xp.stack([p[0] for p in pairs]).reshape(a.shape[:-2] + (n, m))
        tau = xp.stack([p[1] for p in pairs]).reshape(a.shape[:-2] + (min(m, n),))
    # the raw mode gives the factor transposed (LAPACK's column-major), maybe in double precision
    return xp.ascontiguousarray(xp.swapaxes(h, -1, -2)).astype(a.dtype), tau.astype(a.dtype)


class _Geqrf(Function):
    _node_name = "GeqrfBackward0"

    @staticmethod
    def forward(ctx, A):
        return _geqrf_arrays(A._data)

    @staticmethod
    def backward(ctx, grad_a, grad_tau):
        raise NotImplementedError("the derivative for 'geqrf' is not implemented.")


@handles_out
def geqrf(input, *, out=None):
    """(a, tau): A's QR as LAPACK's geqrf leaves it, R on and above the diagonal and the Householder
    vectors below (with tau, what householder_product and ormqr take). Not differentiable, as in torch."""
    from ._ops.reduction import return_types as top_level
    if not isinstance(input, Tensor):
        raise TypeError(f"geqrf(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.ndim < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    _check_kernel_dtype("geqrf_cpu", input)
    if input.dtype is _dtype.float16:
        raise NotImplementedError("\"geqrf_cpu\" not implemented for 'Half'")
    if recording(input):
        a, tau = _Geqrf.apply(input)
    else:
        a, tau = (_make(x) for x in _geqrf_arrays(input._data))
    return top_level.geqrf(a, tau)


Tensor.geqrf = geqrf
Tensor.orgqr = orgqr
Tensor.ormqr = ormqr


# -- LDL^T (Bunch-Kaufman) -------------------------------------------------------------------------------
class _NotDifferentiable(Function):
    """torch's NotImplemented node: the outputs are in the graph, their backward refuses."""
    _node_name = "NotImplemented"

    @staticmethod
    def forward(ctx, op, compute, *inputs):
        ctx.op = op
        return compute()

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(f"derivative for aten::{ctx.op} is not implemented")


def _not_differentiable(op, compute, *inputs):
    """compute() with the node torch records for ops without a derivative when an input requires grad."""
    if not recording(*inputs):
        return compute()
    return _NotDifferentiable.apply(op, compute, *inputs)


def _ldl_arrays(a, hermitian, name):
    """(LD, pivots, info) of LAPACK's sytrf (hetrf for Hermitian complex input), lower triangle, per matrix."""
    if not _is_numpy(a):
        raise NotImplementedError(f"{name}: not available on cuda in flambeau: CuPy offers no Bunch-Kaufman "
                                  f"LDL^T factorization (LAPACK/cuSOLVER sytrf); factor A.cpu() and move LD and "
                                  f"pivots back (ldl_solve runs on cuda)")
    from scipy.linalg import lapack
    complex_ = a.dtype.kind == "c"
    routine = getattr(lapack, {"float32": "s", "float64": "d", "complex64": "c", "complex128": "z"}[a.dtype.name]
                      + ("hetrf" if hermitian and complex_ else "sytrf"))
    n = a.shape[-1]
    flat = a.reshape((math.prod(a.shape[:-2]), n, n))
    LD = np.zeros_like(flat)
    pivots = np.zeros(flat.shape[:2], dtype=np.int32)
    info = np.zeros(flat.shape[0], dtype=np.int32)
    if n:
        for b in range(flat.shape[0]):
            ldu, ipiv, info[b] = routine(flat[b], lower=1)
            LD[b], pivots[b] = np.tril(ldu), ipiv       # torch zeroes the unused upper triangle
    return LD.reshape(a.shape), pivots.reshape(a.shape[:-1]), info.reshape(a.shape[:-2])


@handles_out
def ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):
    """(LD, pivots, info) of A = L D L^T (L D L^H with hermitian=True) by Bunch-Kaufman pivoting, as LAPACK's
    sytrf leaves them: L's multipliers and D's 1x1 and 2x2 blocks in LD's lower triangle; pivots > 0 for a
    1x1 block (the row it swapped with, 1-based), a pair of equal negative pivots for a 2x2 block. info is 0,
    or k when D's k-th diagonal element is exactly zero. Reads only A's lower triangle."""
    name = "torch.linalg.ldl_factor_ex"
    _check_ldl_input(A)
    LD, pivots, info = _not_differentiable(
        "linalg_ldl_factor_ex", lambda: tuple(_make(x) for x in _ldl_arrays(A._data, hermitian, name)), A)
    if check_errors:
        _check_ldl_info(name, A.shape, info._data)
    return return_types.linalg_ldl_factor_ex(LD, pivots, info)


def _check_ldl_input(A):
    if isinstance(A, Tensor) and A.dtype is _dtype.float16:
        raise NotImplementedError("\"ldl_factor_kernel_cpu\" not implemented for 'Half'")
    _check_matrix("torch.linalg.ldl_factor_ex", A, square=True)


def _check_ldl_info(name, shape, info):
    fail = _first_failure(info)
    if fail is not None:
        idx, k = fail
        raise LinAlgError(f"{name}: {_batch_prefix(shape, idx)}The factorization could not be completed because "
                          f"the block diagonal matrix D has a zero at position {k} (LAPACK sytrf info = {k}).")


@handles_out
def ldl_factor(A, *, hermitian=False, out=None):
    """(LD, pivots) of ldl_factor_ex, raising where D is singular."""
    name = "torch.linalg.ldl_factor"
    _check_ldl_input(A)
    LD, pivots, info = _not_differentiable(
        "linalg_ldl_factor_ex", lambda: tuple(_make(x) for x in _ldl_arrays(A._data, hermitian, name)), A)
    _check_ldl_info(name, A.shape, info._data)
    return return_types.linalg_ldl_factor(LD, pivots)


return_types.linalg_ldl_factor = _return_type("linalg_ldl_factor", ("LD", "pivots"))
return_types.linalg_ldl_factor_ex = _return_type("linalg_ldl_factor_ex", ("LD", "pivots", "info"))


def _ldl_blocks(piv):
    """Per row k: (whether it is a 1x1 block, whether it opens a 2x2 block), as (nb,) masks. In LAPACK's
    lower storage a 2x2 block at rows k, k + 1 has ipiv[k] = ipiv[k + 1] < 0."""
    xp = _xpof(piv)
    single, opens = [], []
    second = xp.zeros(piv.shape[0], dtype=bool)
    for k in range(piv.shape[1]):
        starts = (piv[:, k] < 0) & ~second
        single.append(~starts & ~second)
        opens.append(starts)
        second = starts
    return single, opens


def _swap_rows(x, rows, i, j):
    """Swap rows i and j (per batch element: (nb,) index arrays) of x (nb, n, p)."""
    xi, xj = x[rows, i].copy(), x[rows, j].copy()
    x[rows, i] = xj
    x[rows, j] = xi


def _ldl_solve_array(ld, piv, b, hermitian):
    """X with A X = B from sytrf's (LD, pivots), as LAPACK's sytrs/hetrs: L D L^T Y = B forward, one
    (masked) step per row for the whole batch, then L^T X = Y backward."""
    xp = _xpof(ld)
    n, p = b.shape[-2:]
    batch = np.broadcast_shapes(ld.shape[:-2], piv.shape[:-1], b.shape[:-2])
    size = math.prod(batch)
    ld = xp.broadcast_to(ld, batch + (n, n)).reshape((size, n, n))
    piv = xp.broadcast_to(piv.astype(np.int64), batch + (n,)).reshape((size, n))
    x = xp.broadcast_to(b, batch + (n, p)).reshape((size, n, p)).copy()
    conj = xp.conj if hermitian else (lambda v: v)
    single, opens = _ldl_blocks(piv)
    rows = xp.arange(x.shape[0])
    for k in range(n):              # L D Y = P B
        one, two = single[k], opens[k]
        row = xp.where(two, min(k + 1, n - 1), k)
        partner = xp.where(one, piv[:, k] - 1, xp.where(two, -piv[:, k] - 1, row))
        _swap_rows(x, rows, row, partner)
        if k + 1 < n:
            x[:, k + 1:] -= xp.where(one[:, None, None], ld[:, k + 1:, k, None] * x[:, None, k], 0)
        d = ld[:, k, k].real.astype(ld.dtype) if hermitian else ld[:, k, k]
        x[:, k] = xp.where(one[:, None], x[:, k] / xp.where(one, d, 1)[:, None], x[:, k])
        if k + 1 < n:               # a 2x2 block at rows k, k + 1
            if k + 2 < n:
                x[:, k + 2:] -= xp.where(two[:, None, None], ld[:, k + 2:, k, None] * x[:, None, k]
                                         + ld[:, k + 2:, k + 1, None] * x[:, None, k + 1], 0)
            off = xp.where(two, ld[:, k + 1, k], 1)
            first, second = ld[:, k, k] / conj(off), ld[:, k + 1, k + 1] / off
            denom = (first * second - 1)[:, None]
            yk, yk1 = x[:, k] / conj(off)[:, None], x[:, k + 1] / off[:, None]
            x[:, k] = xp.where(two[:, None], (second[:, None] * yk - yk1) / denom, x[:, k])
            x[:, k + 1] = xp.where(two[:, None], (first[:, None] * yk1 - yk) / denom, x[:, k + 1])
    for k in range(n - 1, -1, -1):  # L^T X = Y (L^H for Hermitian)
        one, closes = single[k], opens[k - 1] if k else xp.zeros_like(single[k])
        if k + 1 < n:
            tail = x[:, k + 1:]
            x[:, k] -= xp.where((one | closes)[:, None], (conj(ld[:, k + 1:, k, None]) * tail).sum(axis=1), 0)
            if k:
                x[:, k - 1] -= xp.where(closes[:, None], (conj(ld[:, k + 1:, k - 1, None]) * tail).sum(axis=1), 0)
        partner = xp.where(one, piv[:, k] - 1, xp.where(closes, -piv[:, k] - 1, k))
        _swap_rows(x, rows, xp.full(x.shape[0], k), partner)
    return x.reshape(batch + (n, p))


def ldl_solve(LD, pivots, B, *, hermitian=False, out=None):
    """X with A X = B from A's ldl_factor (LD, pivots); LD, pivots and B's batch dims broadcast."""
    name = "torch.linalg.ldl_solve"
    _check_matrix(name, LD, square=True)
    if not isinstance(pivots, Tensor) or not isinstance(B, Tensor):
        raise TypeError(f"linalg_ldl_solve(): arguments 'pivots' and 'B' must be Tensors")
    if tuple(pivots.shape) != tuple(LD.shape[:-1]):
        raise RuntimeError(f"{name}: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots with "
                           f"shape {list(pivots.shape)} instead")
    if pivots.dtype._category != 1:
        raise RuntimeError(f"{name}: Expected pivots to be integers. Got {_type_word(pivots.dtype)}")
    if B.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(B.ndim, 1)}, "
                         f"{max(B.ndim, 1) - 1}], but got -2)")
    if B.dtype is not LD.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {_type_word(B.dtype)} and "
                           f"A of type {_type_word(LD.dtype)} instead.")
    n = LD.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for {name}: each A matrix is {n} by {n} but each b matrix is "
                           f"{B.shape[-2]} by {B.shape[-1]}")
    _check_devices(name, LD=LD, pivots=pivots, B=B)
    try:
        np.broadcast_shapes(LD.shape[:-2], B.shape[:-2])
    except ValueError:
        a, b = LD.shape[:-2], B.shape[:-2]
        dim = next(i for i in range(1, min(len(a), len(b)) + 1) if a[-i] != b[-i] and 1 not in (a[-i], b[-i]))
        raise RuntimeError(f"The size of tensor a ({b[-dim]}) must match the size of tensor b ({a[-dim]}) at "
                           f"non-singleton dimension {len(b) - dim}") from None
    X = _not_differentiable("linalg_ldl_solve",
                            lambda: _make(_ldl_solve_array(LD._data, pivots._data, B._data, hermitian)), LD, B)
    return _out(X, out)


# -- compositions: tensorinv, tensorsolve, vander ------------------------------------------------------
def tensorinv(A, ind=2, *, out=None):
    """The tensor inverse: inv(A.reshape(prod(shape[:ind]), -1)) shaped shape[ind:] + shape[:ind]."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    if ind > A.ndim:
        raise RuntimeError(f"ArrayRef: invalid slice, N = {ind}; size = {A.ndim}")
    rows, cols = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    try:
        inverse = inv(A.reshape(rows, rows))
    except LinAlgError as e:             # torch reports it under the name "inv"
        raise LinAlgError("inv" + str(e)[len("linalg.inv"):]) from None
    return _out(inverse.reshape(tuple(A.shape[ind:]) + tuple(A.shape[:ind])), out)


def tensorsolve(A, B, dims=None, *, out=None):
    """X with tensordot(A, X, X.ndim) = B; dims of A move to the end first."""
    if dims is not None:
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        A = A.movedim(dims, tuple(range(A.ndim - len(dims), A.ndim)))
    result_shape = tuple(A.shape[B.ndim:])
    size, other = math.prod(result_shape), B.numel()
    if size != other:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {size} != {other}")
    return _out(solve(A.reshape(size, size), B.flatten()).reshape(result_shape), out)


def vander(x, N=None):
    """Columns x^0, x^1, ..., x^(N-1) (increasing powers, N = x.shape[-1] by default), batched over x's
    leading dims; cumulative products, differentiable."""
    dt = x.dtype
    if dt is _dtype.bool or dt is _dtype.float16:
        raise RuntimeError(f"linalg.vander supports floating point, complex, and integer tensors, but got "
                           f"{_type_word(dt)}")
    from ._ops.creation import cat
    x = x.unsqueeze(-1) if x.ndim == 0 else x
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    powers = x.unsqueeze(-1).expand(*x.shape, n - 1).cumprod(-1)
    return cat([powers.new_ones(tuple(x.shape) + (1,)), powers], -1)


__all__ += ["householder_product", "ldl_factor", "ldl_factor_ex", "ldl_solve", "lu_factor_ex", "tensorinv",
            "tensorsolve", "vander"]
