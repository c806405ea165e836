"""Distances and statistics: cdist (one node, as in PyTorch), and, built from other ops (so autograd comes
with them), pdist, cov, corrcoef, vander."""
import math

from .. import _dtype, _xp
from .._tensor import Tensor, _make
from ..autograd.function import Function
from ._util import register, check_same_device, broadcast_shapes, caller_level, _type_word
from .pointwise import where

__all__ = ["cdist", "pdist", "cov", "corrcoef", "vander"]


class Cdist(Function):
    """out[.., i, j] = ||x1[.., i, :] - x2[.., j, :]||_p (batch dims broadcast)"""
    _node_name = "CdistBackward0"

    @staticmethod
    def forward(ctx, x1, x2, p):
        a, b = x1._data, x2._data
        xp = _xp.array_module(a)
        diff = a[..., :, None, :] - b[..., None, :, :]            # (.., P, R, M)
        if p == 0:
            out = (diff != 0).sum(-1).astype(a.dtype)
        elif p == 1:
            out = xp.abs(diff).sum(-1)
        elif p == 2:
            out = xp.sqrt((diff * diff).sum(-1))
        elif p == math.inf:
            out = xp.abs(diff).max(-1) if diff.shape[-1] else xp.zeros(diff.shape[:-1], a.dtype)
        else:
            out = (xp.abs(diff) ** p).sum(-1) ** (1.0 / p)
        out = _make(out)
        ctx.save_for_backward(x1, x2, out)
        ctx.p = p
        return out

    @staticmethod
    def backward(ctx, grad):
        # PyTorch's _cdist_backward: d||d||_p / dd = sign(d) |d|^(p-1) / dist^(p-1), 0 where dist is 0
        x1, x2, dist = ctx.saved_tensors
        p = ctx.p
        diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
        g = grad.unsqueeze(-1)
        if p == 0:
            gdiff = diff * 0
        elif p == 1:
            gdiff = g * diff.sign()
        elif p == math.inf:
            gdiff = g * diff.sign() * (diff.abs() == dist.unsqueeze(-1))
        else:
            zero = dist == 0
            d = where(zero, dist.new_ones(()), dist).unsqueeze(-1)
            if p == 2:
                gdiff = g * diff / d
            else:
                gdiff = g * diff.sign() * diff.abs() ** (p - 1) / d ** (p - 1)
                if p < 1:
                    gdiff = where(diff == 0, diff * 0, gdiff)
            gdiff = where(zero.unsqueeze(-1), diff * 0, gdiff)
        g1 = gdiff.sum(-2) if ctx.needs_input_grad[0] else None
        g2 = -gdiff.sum(-3) if ctx.needs_input_grad[1] else None
        return g1, g2, None


class EuclideanDist(Function):
    """out[b, i, j] = ||x1[b, i] - x2[b, j]||_2 through one matrix product (PyTorch's _euclidean_dist):
    [-2 x1, |x1|^2, 1] @ [x2, 1, |x2|^2]^T, clamped at 0 before the square root."""
    _node_name = "EuclideanDistBackward0"

    @staticmethod
    def forward(ctx, x1, x2):
        a, b = x1._data, x2._data
        xp = _xp.array_module(a)
        na, nb = (a * a).sum(-1, keepdims=True), (b * b).sum(-1, keepdims=True)
        a_ = xp.concatenate([a * -2, na, xp.ones_like(na)], -1)
        b_ = xp.concatenate([b, xp.ones_like(nb), nb], -1)
        out = _make(xp.sqrt(xp.maximum(xp.matmul(a_, xp.swapaxes(b_, -1, -2)), 0)))
        ctx.save_for_backward(x1, x2, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x1, x2, dist = ctx.saved_tensors
        zero = dist == 0
        ratio = where(zero, grad * 0, grad / where(zero, dist.new_ones(()), dist))
        g1 = x1 * ratio.sum(-1, keepdim=True) - ratio.matmul(x2) if ctx.needs_input_grad[0] else None
        g2 = x2 * ratio.sum(-2).unsqueeze(-1) - ratio.mT.matmul(x1) if ctx.needs_input_grad[1] else None
        return g1, g2


_CDIST_MODES = {"use_mm_for_euclid_dist_if_necessary": 0, "use_mm_for_euclid_dist": 1,
                "donot_use_mm_for_euclid_dist": 2}


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Pairwise p-norm distances between the rows of x1 (.., P, M) and x2 (.., R, M): (.., P, R)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D" if x1.ndim < 2 else
                           f"cdist only supports at least 2D tensors, X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    for name, t in (("X1", x1), ("X2", x2)):
        if not t.dtype.is_floating_point:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {_type_word(t.dtype)}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    mode = _CDIST_MODES.get(compute_mode) if compute_mode is not None else 0
    if mode is None:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if x1.dtype is not x2.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_C_NAME[x1.dtype.name]} != "
                           f"{_C_NAME[x2.dtype.name]}")
    check_same_device("cdist", x1, x2)
    batch = broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
    if x1.shape[-2] and x2.shape[-2] and x1.shape[-1]:     # PyTorch answers empty inputs without a kernel
        _no_half_kernel("cdist", x1)
    P, R, M = x1.shape[-2], x2.shape[-2], x1.shape[-1]
    if p == 2 and (mode == 1 or (mode == 0 and (P > 25 or R > 25))) and x1.numel() and x2.numel():
        # PyTorch's matrix-product form for large inputs, on (B, P, M) batches, viewed back
        a = x1 if not batch else x1.expand(batch + (P, M)).reshape(-1, P, M)
        b = x2 if not batch else x2.expand(batch + (R, M)).reshape(-1, R, M)
        return EuclideanDist.apply(a, b).view(batch + (P, R))
    return Cdist.apply(x1, x2, p)


def _no_half_kernel(name, t):
    if t.dtype is _dtype.float16:
        raise NotImplementedError(f"\"{name}\" not implemented for 'Half'")


_C_NAME = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16"}


def pdist(input, p=2):
    """Distances between all pairs of rows i < j of an (N, M) tensor, in row-major order."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if input.shape[0] > 1 and input.shape[1]:        # PyTorch answers the others without a kernel
        _no_half_kernel("pdist", input)
    n = input.shape[0]
    from .creation import triu_indices
    i, j = triu_indices(n, n, 1, device=input.device)
    return cdist(input, input, p)[i, j] if n > 1 else input.new_zeros((0,))


@register("cov")
def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the variables in the rows of input (columns are observations): PyTorch's
    computation, step for step (its checks, weights, dtypes, and a zero norm for <= 0 degrees of freedom)."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                         f"{input.ndim} dimensions")
    if input.dtype is _dtype.bool:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    n = x.shape[1]
    w = None
    for name, weights, wanted in (("fweights", fweights, "integral"), ("aweights", aweights, "floating point")):
        if weights is None:
            continue
        if weights.ndim > 1:
            raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                               f"{weights.ndim} dimensions")
        if (weights.dtype._category == 1) != (name == "fweights") or weights.dtype._category > 2:
            raise RuntimeError(f"cov(): expected {name} to have {wanted} dtype but got {name} with "
                               f"{_type_word(weights.dtype)} dtype")
        if weights.numel() != n:
            raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in the "
                               f"input but got {weights.numel()} != {n}")
        if n and bool(weights.min() < 0):          # a read by the host, as PyTorch's check
            raise RuntimeError(f"cov(): {name} cannot be negative")
        w = weights if w is None else w * weights
    from .creation import scalar_tensor
    w_sum = w.sum() if w is not None else scalar_tensor(n, dtype=_dtype.int64, device=x.device)
    if w is not None and not bool(w_sum != 0):
        raise RuntimeError("cov(): weights sum to zero, can't be normalized")
    avg = (x * w if w is not None else x).sum(1) / w_sum
    if w is not None and aweights is not None and correction != 0:
        norm = w_sum - correction * (w * aweights).sum() / w_sum
    else:
        norm = w_sum - correction
    if bool(norm <= 0):
        import warnings
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.", UserWarning, stacklevel=caller_level())
        norm = norm * 0
    xc = x - avg.unsqueeze(1)
    return (xc @ (xc * w if w is not None else xc).t().conj()).true_divide(norm).squeeze()


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
