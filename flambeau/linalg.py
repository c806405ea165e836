"""``flambeau.linalg``: norms, solves and decompositions (NumPy/CuPy LAPACK underneath)."""
import math

import numpy as np

from . import _dtype, _xp
from ._tensor import Tensor, _make
from ._ops._util import wrap_dims

__all__ = ["vector_norm", "matrix_norm", "norm"]


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """(sum |x|^ord)^(1/ord) over dim (all elements by default); differentiable."""
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype._category < 2:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {x.dtype.name.capitalize()}")
    dims = None if dim is None else wrap_dims(dim, x.ndim) if x.ndim else None
    a = x.abs()
    if ord == math.inf:
        return a.amax(dims if dims is not None else (), keepdim)
    if ord == -math.inf:
        return a.amin(dims if dims is not None else (), keepdim)
    if ord == 0:
        return (a != 0).to(a.dtype).sum(dims, keepdim)
    if ord == 1:
        return a.sum(dims, keepdim)
    if ord == 2:
        s = (a * a).sum(dims, keepdim)
        return s.sqrt()
    return (a ** ord).sum(dims, keepdim) ** (1.0 / ord)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    if dtype is not None:
        A = A.to(dtype)
    if ord == "fro":
        return vector_norm(A, 2, dim, keepdim)
    d0, d1 = (d % A.ndim for d in dim)
    if ord == "nuc":
        from .linalg import svdvals
        s = svdvals(A.movedim((d0, d1), (-2, -1))).sum(-1)
    elif ord in (1, -1):
        s = A.abs().sum(d0, keepdim=True)
        s = s.amax(d1, keepdim=True) if ord == 1 else s.amin(d1, keepdim=True)
        s = s.squeeze((d0, d1))
    elif ord in (math.inf, -math.inf):
        s = A.abs().sum(d1, keepdim=True)
        s = s.amax(d0, keepdim=True) if ord > 0 else s.amin(d0, keepdim=True)
        s = s.squeeze((d0, d1))
    elif ord in (2, -2):
        sv = svdvals(A.movedim((d0, d1), (-2, -1)))
        s = sv.amax(-1) if ord == 2 else sv.amin(-1)
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if keepdim:
        s = s.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
    return s


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    if ord is None:
        return vector_norm(A.reshape(-1) if dim is None else A, 2, dim, keepdim, dtype=dtype)
    if isinstance(ord, str) or (dim is not None and not isinstance(dim, int) and len(dim) == 2) or \
            (dim is None and A.ndim == 2):
        return matrix_norm(A, ord, dim if dim is not None else (-2, -1), keepdim, dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)
