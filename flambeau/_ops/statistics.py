"""Distances and statistics built from other ops (so autograd comes with them):
cdist, pdist, cov, corrcoef, vander, and the top-level cosine_similarity/pairwise_distance/dropout."""
import math

from .. import _dtype
from .._tensor import Tensor
from ._util import register

__all__ = ["cdist", "pdist", "cov", "corrcoef", "vander", "cosine_similarity", "pairwise_distance", "dropout",
           "alpha_dropout", "feature_dropout"]


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Pairwise p-norm distances between the rows of x1 (.., P, M) and x2 (.., R, M): (.., P, R)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)               # (.., P, R, M)
    if p == 0:
        return (diff != 0).to(x1.dtype).sum(-1)
    if p == math.inf:
        return diff.abs().amax(-1)
    if p == 2:
        sq = (diff * diff).sum(-1)
        # sqrt'(0) is infinite: keep the gradient finite (0) on exact zeros, as PyTorch does
        from .pointwise import where
        safe = where(sq > 0, sq, sq.new_ones(()))
        return where(sq > 0, safe.sqrt(), sq * 0)
    if p == 1:
        return diff.abs().sum(-1)
    return (diff.abs() ** p).sum(-1) ** (1.0 / p)


def pdist(input, p=2):
    """Distances between all pairs of rows i < j of an (N, M) tensor, in row-major order."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    n = input.shape[0]
    from .creation import triu_indices
    i, j = triu_indices(n, n, 1, device=input.device)
    return cdist(input, input, p)[i, j] if n > 1 else input.new_zeros((0,))


@register("cov")
def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the variables in the rows of input (columns are observations)."""
    if input.ndim > 2:
        raise ValueError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                         f"{input.ndim} dimensions")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if x.dtype._category < 2:
        x = x.to(_dtype.get_default_dtype())
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = fweights.to(x.dtype)
    if aweights is not None:
        w = aweights.to(x.dtype) if w is None else w * aweights.to(x.dtype)
    if w is None:
        avg = x.mean(1, keepdim=True)
        norm = n - correction
    else:
        wsum = w.sum()
        avg = (x * w).sum(1, keepdim=True) / wsum
        if correction == 0:
            norm = wsum
        elif aweights is None:
            norm = wsum - correction
        else:
            norm = wsum - correction * (w * aweights.to(x.dtype)).sum() / wsum
    xc = x - avg
    xw = xc if w is None else xc * w
    c = xw @ xc.t().conj() / (norm if not isinstance(norm, Tensor) else norm.clamp(min=0))
    return c.squeeze() if input.ndim < 2 else c


@register("corrcoef")
def corrcoef(input):
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    stddev = d.sqrt()
    c = c / stddev.unsqueeze(1)
    c = c / stddev.unsqueeze(0)
    return c.clamp(-1, 1) if not c.is_complex() else c


def vander(x, N=None, increasing=False):
    """Vandermonde matrix: columns x^(N-1) ... x^0 (or increasing powers)."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    from .creation import arange
    powers = arange(n, device=x.device)
    if not increasing:
        powers = powers.flip(0)
    base = x if x.dtype._category >= 2 else x.to(_dtype.int64)
    return base.unsqueeze(1) ** powers.unsqueeze(0) if n else base.new_zeros((x.shape[0], 0))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    from ..nn import functional as F
    return F.cosine_similarity(x1, x2, dim, eps)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    from ..nn import functional as F
    return F.pairwise_distance(x1, x2, p, eps, keepdim)


def dropout(input, p, train):
    from ..nn import functional as F
    return F.dropout(input, p, train)


def alpha_dropout(input, p, train):
    from ..nn import functional as F
    return F.alpha_dropout(input, p, train)


def feature_dropout(input, p, train):
    from ..nn import functional as F
    return F.dropout2d(input, p, train) if input.ndim == 4 else F.dropout1d(input, p, train)
