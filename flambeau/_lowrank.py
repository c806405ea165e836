"""Randomized low-rank SVD and PCA (torch.svd_lowrank, torch.pca_lowrank).

Halko, Martinsson and Tropp (2009): a few products with a random matrix find an orthonormal
basis Q of the range of A (Algorithm 4.4, with subspace iterations that sharpen it when the
singular values decay slowly); the SVD of the small matrix Q^H A then gives A's leading singular
triplets (Algorithm 5.1). Built from differentiable ops, so gradients flow through it.
"""
from . import linalg
from ._dtype import float32
from ._ops.creation import randn

__all__ = ["svd_lowrank", "pca_lowrank"]


def _range_basis(A, M, q, niter):
    """Q with at most q orthonormal columns such that Q Q^H (A - M) approximates A - M, never forming
    A - M (A may be large, M a broadcast mean)."""
    def times(X):
        return A @ X if M is None else A @ X - M @ X

    def adjoint_times(X):
        return A.mH @ X if M is None else A.mH @ X - M.mH @ X

    dtype = A.dtype if A.dtype.is_floating_point or A.dtype.is_complex else float32
    Q = linalg.qr(times(randn(A.shape[-1], q, dtype=dtype, device=A.device))).Q
    for _ in range(niter):      # each round multiplies by (A A^H), separating the leading directions
        Q = linalg.qr(adjoint_times(Q)).Q
        Q = linalg.qr(times(Q)).Q
    return Q


def _randomized_svd(A, q, niter, M):
    m, n = A.shape[-2:]
    niter = 2 if niter is None else niter
    if M is not None:
        M = M.broadcast_to(A.shape)
    wide = m < n
    if wide:                    # work on the tall A^H: the basis is then of the smaller side
        A = A.mH
        M = None if M is None else M.mH
    Q = _range_basis(A, M, q, niter)
    B = Q.mH @ A if M is None else Q.mH @ A - Q.mH @ M
    U, S, Vh = linalg.svd(B, full_matrices=False)
    U, V = Q @ U, Vh.mH
    return (V, S, U) if wide else (U, S, V)


def svd_lowrank(A, q=6, niter=2, M=None):
    """(U, S, V) with A - M ~ U diag(S) V^H: about q leading singular triplets of A (minus M, broadcast),
    found from random projections refined by niter subspace iterations. Random: seed for repeatable
    results."""
    return _randomized_svd(A, 6 if q is None else q, niter, M)


def pca_lowrank(A, q=None, center=True, niter=2):
    """(U, S, V) of the (centered, unless center=False) data matrix A, samples in rows: V's columns
    are the q principal directions, S**2 / (m - 1) the variances along them."""
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not (q >= 0 and q <= min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return _randomized_svd(A, q, niter, None)
    return _randomized_svd(A - A.mean(dim=-2, keepdim=True), q, niter, None)
