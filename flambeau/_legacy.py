"""Top-level LAPACK functions (``torch.inverse``, ``torch.svd``...), including APIs PyTorch has removed.

``gels``, ``eig``, ``symeig``, ``solve``, ``lstsq`` and ``matrix_rank`` keep their 2019 signatures and
results (EE-559 course code calls ``torch.gels(y, x)``) and warn with a DeprecationWarning that
names the ``flambeau.linalg`` replacement. Everything is built on ``flambeau.linalg``.
"""
import math
import warnings

import numpy as np

from . import _xp, linalg
from ._tensor import Tensor, _make
from .autograd.function import Function
from ._ops._util import register, recording, _type_word, check_same_device, caller_level
from ._ops.reduction import _return_type
from ._ops.pointwise import _out, handles_out

__all__ = ["inverse", "det", "logdet", "slogdet", "pinverse", "matrix_power", "matrix_rank", "cholesky",
           "cholesky_solve", "cholesky_inverse", "cross", "trace", "lu", "lu_unpack", "lu_solve",
           "triangular_solve", "lstsq", "solve", "qr", "svd", "symeig", "eig", "gels", "matrix_exp", "geqrf",
           "orgqr", "ormqr"]

# LAPACK's Householder routines, at the top level and as Tensor methods (defined with linalg's reflectors)
geqrf, orgqr, ormqr = linalg.geqrf, linalg.orgqr, linalg.ormqr


class return_types:
    slogdet = _return_type("slogdet", ("sign", "logabsdet"))
    qr = _return_type("qr", ("Q", "R"))
    svd = _return_type("svd", ("U", "S", "V"))
    eig = _return_type("eig", ("eigenvalues", "eigenvectors"))
    symeig = _return_type("symeig", ("eigenvalues", "eigenvectors"))
    gels = _return_type("gels", ("solution", "QR"))
    lstsq = _return_type("lstsq", ("solution", "QR"))
    solve = _return_type("solve", ("solution", "LU"))
    triangular_solve = _return_type("triangular_solve", ("solution", "cloned_coefficient"))
    lu_unpack = _return_type("lu_unpack", ("P", "L", "U"))
    _lu_with_info = _return_type("_lu_with_info", ("LU", "pivots", "info"))


def _deprecated(old, new):
    warnings.warn(f"torch.{old} is deprecated in favor of {new} and was removed from PyTorch; flambeau keeps "
                  f"it for older code. Please use {new} instead.", DeprecationWarning, stacklevel=3)


def _no_grad():
    from .autograd.grad_mode import no_grad
    return no_grad()


def _check_real_float(name, x, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{name}: Expected a floating point tensor as input. Got {_type_word(x.dtype)}")


# -- inverse, determinants ----------------------------------------------------------------------------
@register("inverse")
def inverse(input, *, out=None):
    """Inverse of each square matrix (flambeau.linalg.inv)."""
    return linalg.inv(input, out=out)


@register("det")
def det(input):
    """Determinant of each square matrix (flambeau.linalg.det)."""
    return linalg.det(input)


@register("slogdet")
def slogdet(input):
    """(sign, logabsdet) of each square matrix (flambeau.linalg.slogdet)."""
    return return_types.slogdet(*linalg.slogdet(input))


class _LogdetComplex(Function):
    """log(det A) for complex A (holomorphic)"""
    _node_name = "LogdetBackward0"

    @staticmethod
    def forward(ctx, A):
        xp = _xp.array_module(A._data)
        sign, logabs = xp.linalg.slogdet(A._data)
        ctx.save_for_backward(A)
        return (logabs + xp.log(sign)).astype(A._data.dtype)

    @staticmethod
    def backward(ctx, grad):                     # d log det A = tr(A^{-1} dA)  ->  grad A^{-H}
        (A,) = ctx.saved_tensors
        return grad.unsqueeze(-1).unsqueeze(-1) * linalg.inv(A).mH


@register("logdet")
def logdet(input):
    """log(det(A)): NaN where det < 0, -inf where det = 0."""
    if input.is_complex():
        linalg._check_matrix("logdet", input, square=True)
        return _LogdetComplex.apply(input)
    sign, logabs = linalg.slogdet(input)
    from ._ops.pointwise import where
    return where(sign < 0, math.nan, logabs)


@register("pinverse")
def pinverse(input, rcond=1e-15):
    """Pseudo-inverse; singular values below rcond * s_max count as zero."""
    return linalg.pinv(input, rtol=rcond)


@register("matrix_exp")
def matrix_exp(input):
    """exp(A) for each square matrix (flambeau.linalg.matrix_exp)."""
    return linalg.matrix_exp(input)


@register("matrix_power")
def matrix_power(input, n):
    return linalg.matrix_power(input, linalg._power_exponent("matrix_power", n))


def matrix_rank(input, tol=None, symmetric=False, *, out=None):
    """Removed API: rank of a matrix (flambeau.linalg.matrix_rank)."""
    _deprecated("matrix_rank", "torch.linalg.matrix_rank")
    if tol is not None:
        return linalg.matrix_rank(input, atol=tol, rtol=0.0, hermitian=symmetric, out=out)
    return linalg.matrix_rank(input, hermitian=symmetric, out=out)


@register("trace")
def trace(input):
    """Sum of the diagonal of a matrix (integers sum to int64), one TraceBackward0 node as in torch."""
    from ._ops.reduction import trace as _trace
    return _trace(input)


@register("cross")
def cross(input, other, dim=None, *, out=None):
    """Cross product along dim (default: the first dimension of size 3)."""
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the "
                      "dim explicitly or simply use torch.linalg.cross.\nThe default value of dim will change "
                      "to agree with that of linalg.cross in a future release.", UserWarning,
                      stacklevel=caller_level())
        shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError(f"no dimension of size 3 in input")
    return linalg.cross(input, other, dim=dim, out=out)


# -- Cholesky ------------------------------------------------------------------------------------------
@register("cholesky")
def cholesky(input, upper=False, *, out=None):
    """Cholesky factor (lower by default) of Hermitian positive-definite matrices."""
    _warn_once("cholesky", "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a "
               "future PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\nL = torch.linalg.cholesky(A)"
               "\nand\nU = torch.cholesky(A, upper=True)\nshould be replaced with\nU = torch.linalg.cholesky(A).mH\n"
               "This transform will produce equivalent results for all valid (symmetric positive definite) inputs.")
    return linalg.cholesky(input, upper=upper, out=out)


@register("cholesky_solve")
def cholesky_solve(input, input2, upper=False, *, out=None):
    """X with A X = input, where A = L L^H and input2 is the Cholesky factor L (U with upper=True)."""
    linalg._check_matrix("cholesky_solve", input, arg="b")
    linalg._check_matrix("cholesky_solve", input2, square=True, arg="u")
    if input.dtype is not input2.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{_type_word(input.dtype)} and A of type {_type_word(input2.dtype)} instead.")
    if input.shape[-2] != input2.shape[-1]:
        raise RuntimeError(f"Incompatible matrix sizes for cholesky_solve: each A matrix is "
                           f"{input2.shape[-1]} by {input2.shape[-1]} but each b matrix is "
                           f"{input.shape[-2]} by {input.shape[-1]}")
    return _out(CholeskySolve.apply(input, input2, upper), out)


class CholeskySolve(Function):
    """X = (L L^H)^-1 B from the factor L (or U). Its gradient is PyTorch's dense formula: the factor's
    other triangle, which the solve never reads, gets the formula's values too, as in PyTorch."""
    _node_name = "CholeskySolveBackward0"

    @staticmethod
    def forward(ctx, b, factor, upper):
        L = factor.mH if upper else factor
        x = linalg.solve_triangular(L.mH, linalg.solve_triangular(L, b, upper=False), upper=True)
        ctx.upper, ctx.b_shape, ctx.factor_shape = upper, b.shape, factor.shape
        ctx.save_for_backward(factor, x)          # x is returned: the output, whose history double backward reads
        return x

    @staticmethod
    def backward(ctx, grad):            # A = L L^H, X = A^-1 B: dB = A^-1 G, dA = -dB X^H, dL = (dA + dA^H) L
        factor, x = ctx.saved_tensors
        grad_b = cholesky_solve(grad, factor, ctx.upper)
        grad_factor = None
        if ctx.needs_input_grad[1]:
            common = grad_b @ x.mH
            common = common + common.mH
            grad_factor = -(factor @ common) if ctx.upper else -(common @ factor)
            grad_factor = grad_factor.sum_to_size(ctx.factor_shape)
        return (grad_b.sum_to_size(ctx.b_shape) if ctx.needs_input_grad[0] else None), grad_factor, None


@register("cholesky_inverse")
def cholesky_inverse(input, upper=False, *, out=None):
    """Inverse of A = L L^H from its Cholesky factor L (U with upper=True)."""
    linalg._check_matrix("cholesky_inverse", input, square=True)
    from ._ops.creation import eye
    n = input.shape[-1]
    ident = eye(n, dtype=input.dtype, device=input.device)
    return _out(cholesky_solve(ident.expand(*input.shape), input, upper), out)


# -- LU --------------------------------------------------------------------------------------------------
_warned = set()


def _warn_once(key, message):
    """A UserWarning the first time only, as PyTorch's TORCH_WARN_ONCE."""
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=caller_level())     # at the user's call


@register("lu")
@handles_out
def lu(A, pivot=True, get_infos=False, out=None):
    """(LU, pivots) of A = P L U packed as LAPACK's getrf, and info with get_infos=True: linalg.lu_factor_ex
    (differentiable in LU, as torch's)."""
    _warn_once("lu", "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and "
               "will be removed in a future PyTorch release.\nLU, pivots = torch.lu(A, compute_pivots)\nshould be "
               "replaced with\nLU, pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\nLU, pivots, info = "
               "torch.lu(A, compute_pivots, get_infos=True)\nshould be replaced with\nLU, pivots, info = "
               "torch.linalg.lu_factor_ex(A, compute_pivots)")
    LU, pivots, info = linalg.lu_factor_ex(A, pivot=pivot)
    if get_infos:
        return return_types._lu_with_info(LU, pivots, info)
    return LU, pivots


class _LuUnpack(Function):
    """(P, L, U) from lu_factor's packed (LU, pivots); P carries no gradient"""
    _node_name = "LuUnpackBackward0"

    @staticmethod
    def forward(ctx, LU_data, LU_pivots, unpack_data, unpack_pivots):
        a = LU_data._data
        empty = _xp.array_module(a).zeros((0,), dtype=a.dtype)
        P = linalg._lu_permutation(a, LU_pivots._data) if unpack_pivots else empty
        L, U = linalg._lu_triangles(a) if unpack_data else (empty, empty.copy())
        P, L, U = _make(P), _make(L), _make(U)
        ctx.mark_non_differentiable(P)
        ctx.set_materialize_grads(False)
        ctx.shape = LU_data.shape
        return P, L, U

    @staticmethod
    def backward(ctx, gP, gL, gU):               # L = tril(LU[:, :k], -1) + I, U = triu(LU[:k, :])
        # as torch: only the gradients that came (tril/triu refuse the empty L and U of unpack_data=False)
        gL = gL.tril(-1) if gL is not None else None
        gU = gU.triu() if gU is not None else None
        if gL is None and gU is None:
            return None, None, None, None
        from ._ops.creation import cat, zeros
        *batch, m, n = ctx.shape
        k = min(m, n)
        like = dict(dtype=(gL if gL is not None else gU).dtype, device=(gL if gL is not None else gU).device)
        gL = gL if gL is not None else zeros(*batch, m, k, **like)
        gU = gU if gU is not None else zeros(*batch, k, n, **like)
        if m == n:
            return gL + gU, None, None, None
        if m < n:                                # wide: L is square, U = [U1 | U2] with U1 square
            return cat([gU[..., :, :k] + gL, gU[..., :, k:]], -1), None, None, None
        return cat([gL[..., :k, :] + gU, gL[..., k:, :]], -2), None, None, None     # tall: L = [L1; L2]


@handles_out
def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    """(P, L, U) with A = P L U from lu_factor's packed result; an empty tensor for P without unpack_pivots,
    for L and U without unpack_data. Differentiable in L and U."""
    for position, (arg, t) in enumerate((("LU_data", LU_data), ("LU_pivots", LU_pivots)), 1):
        if not isinstance(t, Tensor):
            raise TypeError(f"lu_unpack(): argument '{arg}' (position {position}) must be Tensor, not "
                            f"{type(t).__name__}")
    if LU_data.ndim < 2:
        raise RuntimeError(f"torch.lu_unpack: Expected tensor with 2 or more dimensions. Got size: "
                           f"{list(LU_data.shape)} instead")
    if unpack_pivots:
        _check_pivots(LU_data, LU_pivots)
    return return_types.lu_unpack(*_LuUnpack.apply(LU_data, LU_pivots, unpack_data, unpack_pivots))


def _check_pivots(LU_data, LU_pivots):
    if LU_pivots.dtype.name != "int32":
        raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype.\n"
                           "Note: this function is intended to be used with the output produced by "
                           "torch.linalg.lu_factor")
    check_same_device("lu_unpack", LU_data, LU_pivots)
    m, n = LU_data.shape[-2:]
    expected = list(LU_data.shape[:-2]) + [min(m, n)]
    if list(LU_pivots.shape) != expected:      # torch reads out of bounds there
        raise RuntimeError(f"torch.lu_unpack: Expected LU_pivots of shape {expected}, but got "
                           f"{list(LU_pivots.shape)}")
    piv = LU_pivots._data
    # torch's CPU kernel checks the range; its cuda kernel asserts on the device, where flambeau reads nothing
    if type(piv) is np.ndarray and piv.size and (piv.min() < 1 or piv.max() > m):
        raise RuntimeError("pivots passed to lu_unpack must be between 1 and LU.size(-2) inclusive.Did you "
                           "properly pass the result of lu_factor?")


@register("lu_solve")
def lu_solve(b, LU_data, LU_pivots, *, out=None):
    """X with A X = b from lu()'s packed factors of A: linalg.lu_solve(LU_data, LU_pivots, b)."""
    _warn_once("lu_solve", "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a "
               "future PyTorch release.\nNote that torch.linalg.lu_solve has its arguments reversed.\nX = "
               "torch.lu_solve(B, LU, pivots)\nshould be replaced with\nX = torch.linalg.lu_solve(LU, pivots, B)")
    return linalg.lu_solve(LU_data, LU_pivots, b, out=out)


# -- triangular, general solves ------------------------------------------------------------------------
@register("triangular_solve")
@handles_out
def triangular_solve(input, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    """(X, A.clone()) with op(tri(A)) X = input; op is the transpose when transpose=True."""
    # torch's own text, "solve_triangularand" included
    _warn_once("triangular_solve", "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangularand "
               "will be removed in a future PyTorch release.\ntorch.linalg.solve_triangular has its arguments reversed "
               "and does not return a copy of one of the inputs.\nX = torch.triangular_solve(B, A).solution\nshould be "
               "replaced with\nX = torch.linalg.solve_triangular(A, B).")
    linalg._check_matrix("triangular_solve", input, arg="b")
    linalg._check_matrix("triangular_solve", A, square=True)
    if A.shape[-1] != input.shape[-2]:
        raise RuntimeError(f"Incompatible matrix sizes for triangular_solve: each A matrix is {A.shape[-2]} by "
                           f"{A.shape[-1]} but each b matrix is {input.shape[-2]} by {input.shape[-1]}")
    M = A.mT if transpose else A
    X = linalg.solve_triangular(M, input, upper=upper != transpose, unitriangular=unitriangular)
    return return_types.triangular_solve(X, A.clone())


@register("solve")
@handles_out
def solve(input, A, *, out=None):
    """Removed API: (X, LU) with A X = input; LU is A's packed LU factorisation."""
    _deprecated("solve", "torch.linalg.solve")
    linalg._check_matrix("solve", A, square=True)
    X = linalg.solve(A, input) if input.ndim >= 2 else linalg.solve(A, input.unsqueeze(-1))
    lu_, _, _ = linalg._lu_array(A._data)
    return return_types.solve(X, _make(lu_))


def _gels(name, B, A):
    _check_real_float(name, A, "A")
    _check_real_float(name, B, "B")
    if A.ndim != 2:
        raise RuntimeError(f"{name}: A should have 2 dimensions, but has {A.ndim}")
    if B.ndim not in (1, 2):
        raise RuntimeError(f"{name}: B should have 1 or 2 dimensions, but has {B.ndim}")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{name}: Expected A and B to have the same dtype, but found A of type "
                           f"{_type_word(A.dtype)} and B of type {_type_word(B.dtype)} instead")
    Bm = B.unsqueeze(1) if B.ndim == 1 else B
    m, n = A.shape
    if Bm.shape[0] != m:
        raise RuntimeError(f"{name}: Expected A and b to have same size at dim 0, but A has {m} rows and B has "
                           f"{Bm.shape[0]} rows")
    # X is (max(m, n), k): the solution in its first n rows; for m > n, rows n.. hold Q^T B's tail,
    # whose squared column sums are the residual sums of squares (LAPACK gels).
    X = linalg.lstsq(A, Bm).solution
    if m > n:
        # an orthonormal basis of range(A)'s complement is not unique: these rows carry no gradient
        with _no_grad():
            Q = linalg.qr(A.detach(), mode="complete").Q
            tail = (Q.mT @ Bm.detach())[n:]
        from ._ops.creation import cat
        X = cat([X, tail], 0)
    # the QR (m >= n) or LQ (m < n) factorisation of A, packed as LAPACK geqrf / gelqf leave it
    a = A._data
    if m >= n:
        qr_ = linalg._host(lambda h: np.linalg.qr(h, mode="raw")[0].T.copy(), a) if m and n else a.copy()
    else:
        qr_ = linalg._host(lambda h: np.linalg.qr(h.T, mode="raw")[0].copy(), a) if m and n else a.copy()
    # LAPACK leaves both in column-major order: a transposed view, as PyTorch returned them
    X = X.mT.contiguous().mT
    qr_t = _make(_xp.array_module(a).ascontiguousarray(qr_.T)).mT
    return X, qr_t


@register("gels")
@handles_out
def gels(input, A, *, out=None):
    """Removed API: least-squares (m >= n) or minimum-norm (m < n) solution of A X = input.

    Returns (X, QR). X has shape (max(m, n), k); its first n rows are the solution. QR is A's
    factorisation as LAPACK's gels leaves it.

    Example::

        >>> m = flambeau.tensor([[2., 0.], [0., 4.]])
        >>> x, _ = flambeau.gels(flambeau.tensor([2., 8.]), m)
        >>> x
        tensor([[1.],
                [2.]])
    """
    _deprecated("gels", "torch.linalg.lstsq")
    return return_types.gels(*_gels("gels", input, A))


@register("lstsq")
@handles_out
def lstsq(input, A, *, out=None):
    """Removed API (torch.lstsq, the successor of gels): same arguments and results as gels."""
    _deprecated("lstsq", "torch.linalg.lstsq")
    return return_types.lstsq(*_gels("lstsq", input, A))


# -- decompositions --------------------------------------------------------------------------------------
@register("qr")
@handles_out
def qr(input, some=True, *, out=None):
    """(Q, R): reduced with some=True, complete otherwise."""
    _warn_once("qr", "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future PyTorch "
               "release.\nThe boolean parameter 'some' has been replaced with a string parameter 'mode'.\nQ, R = "
               "torch.qr(A, some)\nshould be replaced with\nQ, R = torch.linalg.qr(A, 'reduced' if some else "
               "'complete')")
    return return_types.qr(*linalg.qr(input, "reduced" if some else "complete"))


@register("svd")
@handles_out
def svd(input, some=True, compute_uv=True, *, out=None):
    """(U, S, V) with input = U diag(S) V^H (V, not V^H, unlike linalg.svd).

    With compute_uv=False, U and V are zero-filled (m, m) and (n, n) matrices.
    """
    if not compute_uv:
        S = linalg.svdvals(input)
        from ._ops.creation import zeros
        m, n = input.shape[-2:]
        kw = dict(dtype=input.dtype, device=input.device)
        return return_types.svd(zeros(*input.shape[:-2], m, m, **kw), S, zeros(*input.shape[:-2], n, n, **kw))
    U, S, Vh = linalg.svd(input, full_matrices=not some)
    return return_types.svd(U, S, Vh.mH)


@register("symeig")
@handles_out
def symeig(input, eigenvectors=False, upper=True, *, out=None):
    """Removed API: (eigenvalues ascending, eigenvectors or an empty tensor) of a symmetric matrix."""
    _deprecated("symeig", "torch.linalg.eigh")
    L, V = linalg.eigh(input, "U" if upper else "L")
    if not eigenvectors:
        V = _make(_xp.array_module(input._data).zeros((0,), dtype=input._data.dtype))
    return return_types.symeig(L, V)


class _RealPart(Function):
    """Re(z) of a complex tensor"""
    _node_name = "RealBackward0"

    @staticmethod
    def forward(ctx, z, imag):
        ctx.imag = imag
        a = z._data
        return (a.imag if imag else a.real).copy()

    @staticmethod
    def backward(ctx, grad):                     # d Re z -> grad; d Im z -> i grad
        g = grad.to(_complex_of(grad))
        return (g * 1j if ctx.imag else g), None


def _complex_of(t):
    from . import _dtype
    return _dtype.complex64 if t.dtype is _dtype.float32 else _dtype.complex128


def _parts(z):
    """(Re z, Im z), differentiable."""
    if recording(z):
        return _RealPart.apply(z, False), _RealPart.apply(z, True)
    return _make(z._data.real.copy()), _make(z._data.imag.copy())


@register("eig")
@handles_out
def eig(input, eigenvectors=False, *, out=None):
    """Removed API: eigenvalues of a real square matrix as an (n, 2) tensor of (real, imaginary) parts.

    With eigenvectors=True the second result is a real (n, n) matrix in LAPACK's layout: for a
    real eigenvalue, column j is its eigenvector; for a complex pair (lambda_j, conj(lambda_j)),
    columns j and j+1 hold the real and imaginary parts of lambda_j's eigenvector. Otherwise the
    second result is an empty tensor.
    """
    _deprecated("eig", "torch.linalg.eig")
    _check_real_float("eig", input)
    if input.ndim != 2:
        raise RuntimeError(f"eig: input should be 2 dimensional, but has {input.ndim} dimensions")
    if input.shape[0] != input.shape[1]:
        raise RuntimeError(f"eig: input should be square, but has shape {tuple(input.shape)}")
    from ._ops.creation import stack
    dt = input._data.dtype
    xp = _xp.array_module(input._data)
    if not eigenvectors:
        w = linalg.eigvals(input)
        return return_types.eig(stack(_parts(w), -1).to(input.dtype), _make(xp.zeros((0,), dtype=dt)))
    w, v = linalg.eig(input)
    # column j+1 of a conjugate pair reads the imaginary part of column j's eigenvector
    im = _xp.to_host(w._data).imag
    n = im.shape[0]
    src = np.arange(n)
    second = np.zeros(n, dtype=bool)
    j = 0
    while j < n:
        if im[j] != 0 and j + 1 < n:
            src[j + 1], second[j + 1] = j, True
            j += 2
        else:
            j += 1
    src_t = _make(xp.asarray(src))
    v_re, v_im = _parts(v)
    re_cols = v_re.index_select(1, src_t)
    im_cols = v_im.index_select(1, src_t)
    from ._ops.pointwise import where
    V = where(_make(xp.asarray(second)), im_cols, re_cols).to(input.dtype)
    return return_types.eig(stack(_parts(w), -1).to(input.dtype), V)
