"""Sorting and order statistics: sort, topk, median, quantile, unique, cummax, searchsorted...

Order follows PyTorch: NaN sorts above every number (last ascending, first descending);
stable sorts keep equal elements in input order in both directions. Ops that select
elements (sort, topk, kthvalue, median along a dim, mode, cummax) send the gradient back
to the selected positions; median over all elements spreads it evenly over the ties.
"""
import builtins
import math
import numbers

import numpy as np

from .. import _dtype, _xp
from .._tensor import Tensor, _make, _wrap_dim
from ..autograd.function import Function
from ._util import check_same_device, register, recording, row_major, laid_out_like
from .creation import linspace
from .pointwise import _CPP_NAME, _out, _out_pair, handles_out
from .reduction import return_types, _return_type

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode", "quantile",
           "nanquantile", "unique", "unique_consecutive", "bincount", "histc", "histogram", "histogramdd", "cummax",
           "cummin", "logcumsumexp", "searchsorted", "bucketize", "diff", "isin"]


def _word(dt):
    from ._util import _type_word
    return _type_word(dt)


def _no_complex(name, x, kernel=None, bool_too=False):
    """Complex x raises as PyTorch does: NotImplementedError naming its kernel when it has one (bool x
    too, for the kernels without a bool version)."""
    if (x.dtype.is_complex or (bool_too and x.dtype is _dtype.bool)) and kernel is not None:
        from .pointwise import _not_implemented
        _not_implemented(kernel, x.dtype)
    if x.dtype.is_complex:
        on_cuda = x.device.type == "cuda"
        if name == "sort" and on_cuda:
            raise RuntimeError("Sort currently does not support complex dtypes on CUDA.")
        # PyTorch's CPU messages start with a space
        raise RuntimeError(f" {'Sort' if name == 'sort' else name} does not support complex dtypes on "
                           f"{'CUDA' if on_cuda else 'CPU'}")


def _sorted_indices(a, axis, descending):
    """Stable argsort along axis; descending keeps ties in input order and puts NaN first."""
    xp = _xp.array_module(a)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    rev = xp.flip(a, axis)
    return (n - 1) - xp.flip(xp.argsort(rev, axis=axis, kind="stable"), axis)


def _take(a, idx, axis):
    return _xp.array_module(a).take_along_axis(a, idx, axis=axis)


def _scatter_back(grad, idx, dim, shape):
    from .indexing import scatter_along
    return scatter_along(grad, idx, dim, shape)


class _Select(Function):
    """values = x[idx] along dim, idx given (the gradient goes back to idx)."""
    _node_name = "SortBackward0"

    @staticmethod
    def forward(ctx, x, idx, dim, keepdim):
        a = x._data
        ctx.idx, ctx.dim, ctx.keepdim, ctx.shape = idx, dim, keepdim, x.shape
        if a.ndim == 0:
            return a.copy()
        v = _take(a, idx, dim)
        return v if keepdim else v.squeeze(dim)

    @staticmethod
    def backward(ctx, grad):                     # scatter grad to the selected positions
        if not ctx.shape:
            return grad, None, None, None
        g = grad if ctx.keepdim else grad.unsqueeze(ctx.dim)
        return _scatter_back(g, ctx.idx, ctx.dim, ctx.shape), None, None, None


def _select(x, idx, dim, keepdim, node):
    """Differentiable gather of x at idx (an index array) along dim."""
    if recording(x):
        cls = _SELECT_NODES[node]
        return cls.apply(x, idx, dim, keepdim)
    a = x._data
    if a.ndim == 0:
        return _make(a.copy())
    v = _take(a, idx, dim)
    if _SELECT_NODES[node]._result_layout == "like":
        v = laid_out_like(v, a)
    return _make(v if keepdim else v.squeeze(dim))


_SELECT_NODES = {name: type(name, (_Select,), {"_node_name": name})
                 for name in ("SortBackward0", "TopkBackward0", "KthvalueBackward0", "MedianBackward1",
                              "NanmedianBackward1", "ModeBackward0", "CummaxBackward0", "CumminBackward0")}
_SELECT_NODES["SortBackward0"]._result_layout = "like"


def _index_tensor(idx):
    return _make(idx.astype(np.int64, copy=False))


# -- sort, argsort, topk ----------------------------------------------------------------------
@register("sort")
def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    """(values, indices) of input sorted along dim; stable sorts keep ties in input order."""
    if isinstance(dim, bool):
        raise TypeError("sort(): argument 'dim' must be int, not bool (pass descending=True by keyword)")
    _no_complex("sort", input)
    a = input._data
    d = _wrap_dim(dim, a.ndim)
    if a.ndim == 0:
        return _returned(return_types.sort, _select(input, None, 0, True, "SortBackward0"),
                         _make(_xp.array_module(a).zeros((), np.int64)), out)
    idx = laid_out_like(_sorted_indices(a, d, descending), a)     # as PyTorch's: values and indices like input
    return _returned(return_types.sort, _select(input, idx, d, True, "SortBackward0"), _index_tensor(idx), out)


def _returned(rt, values, indices, out):
    """The named (values, indices) pair, written into out's pair when given."""
    return rt(values, indices) if out is None else rt.out_type(*_out_pair((values, indices), out))


@register("argsort")
def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable).indices


@register("msort")
def msort(input, *, out=None):
    return _out(_msort(input), out)


def _msort(input):
    return sort(input, 0).values


@register("topk")
def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    """The k largest (or smallest) elements along dim, with their indices."""
    _no_complex("topk", input)
    if input.dtype is _dtype.bool and type(input._data) is np.ndarray:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    a = input._data
    d = _wrap_dim(dim, a.ndim)
    n = a.shape[d] if a.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if a.ndim == 0:
        return _returned(return_types.topk, _select(input, None, 0, True, "TopkBackward0"),
                         _make(_xp.array_module(a).zeros((), np.int64)), out)
    idx = _sorted_indices(a, d, largest)
    idx = _xp.array_module(a).take(idx, _xp.array_module(a).arange(k), axis=d)
    return _returned(return_types.topk, _select(input, idx, d, True, "TopkBackward0"), _index_tensor(idx), out)


@register("kthvalue")
def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    """The k-th smallest element along dim (k counts from 1), and its index."""
    _no_complex("kthvalue", input, "kthvalue_cpu", bool_too=True)
    a = input._data
    d = _wrap_dim(dim, a.ndim)
    n = a.shape[d] if a.ndim else 1
    if n == 0:
        raise IndexError(f"kthvalue(): Expected reduction dim {d} to have non-zero size.")
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    return _returned(return_types.kthvalue, *_pick_rank(
        input, d, keepdim, lambda xp, s, cnt: xp.full(cnt.shape, k - 1), "kthvalue", "KthvalueBackward0"), out)


def _pick_rank(input, d, keepdim, rank_of, name, node, nan_last=True):
    """Element of the given rank along d, ranks from rank_of(xp, sorted, count_non_nan)."""
    a = input._data
    xp = _xp.array_module(a)
    rt = getattr(return_types, name)
    if a.ndim == 0:
        return rt(_select(input, None, 0, True, node), _make(xp.zeros((), np.int64)))
    if a.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    order = _sorted_indices(a, d, False)
    s = _take(a, order, d)
    cnt = (~xp.isnan(s)).sum(axis=d, keepdims=True) if a.dtype.kind == "f" else \
        xp.full(s.shape[:d] + (1,) + s.shape[d + 1:], a.shape[d])
    rank = xp.asarray(rank_of(xp, s, cnt)).astype(np.int64)
    idx = _take(order, rank, d)
    vals = _select(input, idx, d, keepdim, node)
    return rt(vals, _index_tensor(idx if keepdim else idx.squeeze(d)))


# -- median, mode -----------------------------------------------------------------------------
class _EvenlySpread(Function):
    """A value of x picked by its value; the gradient is spread evenly over equal elements."""
    _node_name = "MedianBackward0"

    @staticmethod
    def forward(ctx, x, value):
        ctx.save_for_backward(x)
        ctx.value = value
        return value.copy()

    @staticmethod
    def backward(ctx, grad):                     # grad / (#ties) at every tie
        (x,) = ctx.saved_tensors
        v = _make(ctx.value)
        mask = x.isnan() if bool(_xp.array_module(ctx.value).isnan(ctx.value)) else (x == v)
        m = mask.to(grad.dtype)
        return grad * m / m.sum(), None


def _median_all(input, ignore_nan, node):
    a = input._data
    xp = _xp.array_module(a)
    _no_complex("median", input, "median_cpu", bool_too=True)
    flat = a.reshape(-1)
    if flat.size == 0:
        return _make(xp.asarray(float("nan"), a.dtype)) if a.dtype.kind == "f" else \
            _raise(IndexError("median() input tensor cannot be empty"))
    s = xp.sort(flat)
    if a.dtype.kind == "f":
        n = int((~xp.isnan(s)).sum()) if ignore_nan else (flat.size if not bool(xp.isnan(s).any()) else 0)
        if n == 0:
            value = xp.asarray(float("nan"), a.dtype)
            if not ignore_nan and flat.size:
                value = s[-1]          # a NaN
        else:
            value = s[(n - 1) // 2]
    else:
        value = s[(flat.size - 1) // 2]
    value = xp.asarray(value).reshape(())
    if recording(input):
        cls = _EvenlySpread if node == "MedianBackward0" else _NanEvenlySpread
        return cls.apply(input, value)
    return _make(value.copy())


_NanEvenlySpread = type("_NanEvenlySpread", (_EvenlySpread,), {"_node_name": "NanmedianBackward0"})


def _nonempty_dim(input, dim):
    """dim, wrapped; an empty one raises PyTorch's IndexError (before any dtype check)."""
    d = _wrap_dim(dim, input.ndim)
    if input.ndim and input.shape[d] == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    return d


def _raise(e):
    raise e


@register("median")
def median(input, dim=None, keepdim=False, *, out=None):
    """The lower median: of all elements, or (values, indices) along dim. NaN propagates."""
    if dim is None:
        return _median_all(input, False, "MedianBackward0")
    d = _nonempty_dim(input, dim)
    _no_complex("median", input, "median_out", bool_too=True)
    a = input._data
    if a.ndim and a.dtype.kind == "f":
        n = a.shape[d]

        def rank_of(xp, s, cnt):    # a NaN in the row: pick the first NaN (sorted last)
            return xp.where(cnt < n, cnt, (n - 1) // 2)
        return _returned(return_types.median, *_pick_rank(input, d, keepdim, rank_of, "median", "MedianBackward1"),
                         out)
    n = a.shape[d] if a.ndim else 1
    return _returned(return_types.median, *_pick_rank(
        input, d, keepdim, lambda xp, s, cnt: xp.full(cnt.shape, (n - 1) // 2), "median", "MedianBackward1"), out)


@register("nanmedian")
def nanmedian(input, dim=None, keepdim=False, *, out=None):
    """median() ignoring NaN (NaN only where a row is all NaN)."""
    if dim is None:
        return _median_all(input, True, "NanmedianBackward0")
    d = _nonempty_dim(input, dim)
    _no_complex("nanmedian", input, "median_out", bool_too=True)
    r = _pick_rank(input, d, keepdim, lambda xp, s, cnt: xp.maximum((cnt - 1) // 2, 0), "median",
                   "NanmedianBackward1")
    return _returned(return_types.nanmedian, *r, out)


@register("mode")
def mode(input, dim=-1, keepdim=False, *, out=None):
    """The most frequent value along dim (the smallest of equally frequent ones) and its last index."""
    return _returned(return_types.mode, *_mode(input, dim, keepdim), out)


def _mode(input, dim=-1, keepdim=False):
    _no_complex("mode", input, "mode_cpu")
    a = input._data
    xp = _xp.array_module(a)
    d = _wrap_dim(dim, a.ndim)
    if a.ndim == 0:
        return return_types.mode(_select(input, None, 0, True, "ModeBackward0"), _make(xp.zeros((), np.int64)))
    if a.shape[d] == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    m = xp.moveaxis(a, d, -1)
    rows = m.reshape(-1, m.shape[-1])
    order = xp.argsort(rows, axis=-1, kind="stable")
    s = xp.take_along_axis(rows, order, axis=-1)
    n = s.shape[-1]
    # run starts/ends in each sorted row (NaN != NaN: each NaN is a run of its own)
    eq = (s[:, 1:] == s[:, :-1])
    pos = xp.arange(n)
    start = xp.where(xp.concatenate([xp.ones((s.shape[0], 1), bool), ~eq], axis=1), pos, 0)
    start = _xp.accumulate("maximum", start, 1)
    run = pos - start + 1                                     # length of the run so far
    best = xp.argmax(run, axis=1)                             # first maximal run end = smallest value
    end = best[:, None]
    # the last input index among the run's elements (stable order: the run's last position)
    last_idx = xp.take_along_axis(order, end, axis=1)
    idx = last_idx.reshape(m.shape[:-1] + (1,))
    idx = xp.moveaxis(idx, -1, d)
    vals = _select(input, idx, d, keepdim, "ModeBackward0")
    return return_types.mode(vals, _index_tensor(idx if keepdim else idx.squeeze(d)))


# -- quantile ---------------------------------------------------------------------------------
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan):
    # PyTorch names quantile() in nanquantile()'s messages too, and checks in this order
    from .creation import tensor
    scalar_q = not isinstance(q, Tensor)
    if scalar_q and not 0 <= q <= 1:
        raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {q}")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"quantile() interpolation must be one of linear, lower, higher, midpoint or nearest, "
                           f"but got {interpolation}")
    if input.numel() == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if not scalar_q and q.ndim > 1:
        raise RuntimeError("quantile() q must be a scalar or 1D tensor")
    if input.dtype not in (_dtype.float32, _dtype.float64):
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if scalar_q:
        q = tensor(float(q), dtype=input.dtype, device=input.device)
    elif q.dtype is not input.dtype:
        raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
    if dim is not None:
        _wrap_dim(dim, input.ndim)
    qa = _xp.to_host(q._data).astype(np.float64)
    if not ((qa >= 0) & (qa <= 1)).all():                         # NaN fails too
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    x = input
    if dim is None:
        x = x.reshape(-1)
        d = 0
        out_shape = [1] * input.ndim if keepdim else []
    else:
        d = _wrap_dim(dim, input.ndim)
        out_shape = list(input.shape)
        if x.ndim == 0:
            x = x.reshape(1)
            d = 0
        elif keepdim:
            out_shape[d] = 1
        else:
            del out_shape[d]
    x = x.movedim(d, -1)
    s = sort(x, -1).values                                         # (..., n)
    sa = s._data
    xp = _xp.array_module(sa)
    n = sa.shape[-1]
    nan = xp.isnan(sa)
    qs = xp.asarray(qa.reshape(-1))                                # (Q,)
    if ignore_nan:
        cnt = (~nan).sum(axis=-1, keepdims=True)                   # (..., 1)
        ranks = qs * xp.maximum(cnt - 1, 0)                        # (..., Q)
    else:
        has_nan = nan.any(axis=-1, keepdims=True)
        ranks = xp.where(has_nan, float(n - 1), qs * (n - 1))
    if interpolation == "lower":
        ranks = xp.floor(ranks)
    elif interpolation == "higher":
        ranks = xp.ceil(ranks)
    elif interpolation == "nearest":
        ranks = xp.round(ranks)                                    # half to even, as PyTorch
    lo = xp.floor(ranks).astype(np.int64)
    hi = xp.minimum(xp.ceil(ranks).astype(np.int64), n - 1)
    below = _gather_last(s, lo)
    if interpolation in ("lower", "higher", "nearest"):
        out = below
    else:
        above = _gather_last(s, hi)
        w = (ranks - lo) if interpolation == "linear" else xp.full(ranks.shape, 0.5)
        out = below.lerp(above, _make(w.astype(sa.dtype)))
    # out: (..., Q) -> (Q, ...) then the requested shape
    out = out.movedim(-1, 0)
    shape = ([qs.shape[0]] if not scalar_q and q.ndim == 1 else []) + out_shape
    return out.reshape(shape)


def _gather_last(s, idx):
    from .indexing import gather
    return gather(s, -1, _make(idx))


@register("quantile")
@handles_out
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """The q-th quantiles of input (along dim), interpolating between data points."""
    return _quantile(input, q, dim, keepdim, interpolation, False)


@register("nanquantile")
@handles_out
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """quantile() ignoring NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, True)


# -- unique -----------------------------------------------------------------------------------
@register("unique")
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct elements (or slices along dim), sorted; with inverse indices and counts."""
    _no_complex("unique", input, "unique")
    a = input._data
    xp = _xp.array_module(a)
    if dim is None:
        # NaN != NaN: each NaN is its own value, as in PyTorch
        vals, inv, cnt = xp.unique(a.reshape(-1), return_inverse=True, return_counts=True, equal_nan=False)
        inv = inv.reshape(a.shape)
    else:
        d = _wrap_dim(dim, a.ndim)
        if a.size == 0:
            vals = _empty_unique_dim(a, d)
            inv = xp.zeros((a.shape[d],), np.int64)
            cnt = xp.zeros((0,), np.int64)
        else:
            vals, inv, cnt = _unique_dim(a, d, xp)
    return _unique_result(vals, inv, cnt, return_inverse, return_counts)


def _empty_unique_dim(a, d):
    """unique along d of an empty tensor: itself, when d is its only zero-size dim (PyTorch's checks)."""
    if a.shape.count(0) != 1:
        raise RuntimeError("Number of zero sized dimensions is more than one, so unique cannot be applied ")
    if a.shape[d] != 0:
        raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so unique cannot be applied")
    return a.copy()


def _unique_dim(a, d, xp):
    m = xp.moveaxis(a, d, 0)
    rows = m.reshape(m.shape[0], -1)
    # lexicographic sort of the slices: the last key of lexsort is the primary one
    order = xp.lexsort(rows.T[::-1]) if rows.shape[1] else xp.arange(rows.shape[0])
    s = rows[order]
    new = xp.ones(s.shape[0], bool)
    new[1:] = (s[1:] != s[:-1]).any(axis=1)
    group = xp.cumsum(new) - 1
    inv = xp.empty(s.shape[0], np.int64)
    inv[order] = group
    firsts = xp.nonzero(new)[0]
    cnt = xp.diff(xp.concatenate([firsts, xp.asarray([s.shape[0]])]))
    vals = m[order[firsts]]
    return xp.moveaxis(vals, 0, d), inv, cnt


def _unique_result(vals, inv, cnt, return_inverse, return_counts):
    out = [_make(vals if vals.base is None else vals.copy())]
    if return_inverse:
        out.append(_index_tensor(inv))
    if return_counts:
        out.append(_index_tensor(cnt))
    return out[0] if len(out) == 1 else tuple(out)


@register("unique_consecutive")
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive elements (or slices along dim)."""
    a = input._data
    xp = _xp.array_module(a)
    if dim is None:
        flat = a.reshape(-1)
        rows, shape, d = flat.reshape(-1, 1), a.shape, None
    else:
        d = _wrap_dim(dim, a.ndim)
        if a.size == 0:
            _empty_unique_dim(a, d)
        m = xp.moveaxis(a, d, 0)
        # an explicit row length: NumPy can't infer -1 for an empty array
        rows, shape = m.reshape(m.shape[0], math.prod(m.shape[1:])), (a.shape[d],)
    n = rows.shape[0]
    new = xp.ones(n, bool)
    if n > 1:
        new[1:] = (rows[1:] != rows[:-1]).any(axis=1) if rows.shape[1] else False
    firsts = xp.nonzero(new)[0]
    inv = (xp.cumsum(new) - 1).reshape(shape)
    cnt = xp.diff(xp.concatenate([firsts, xp.asarray([n])]))
    if d is None:
        vals = rows[firsts, 0]
    else:
        vals = xp.moveaxis(xp.moveaxis(a, d, 0)[firsts], 0, d)
    return _unique_result(vals, inv, cnt, return_inverse, return_counts)


# -- counting ---------------------------------------------------------------------------------
@register("bincount")
def bincount(input, weights=None, minlength=0):
    """Counts of each non-negative integer in a 1-D tensor (sums of weights with weights=)."""
    a = input._data
    # PyTorch's checks in its order: the dtype dispatch, minlength, then shape and sign
    if a.dtype.kind not in "iu":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{_word(input.dtype)}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    xp = _xp.array_module(a)
    if a.ndim == 1 and a.size == 0:                  # int64 zeros, even with weights, as PyTorch
        return _make(xp.zeros(minlength, np.int64))
    if a.ndim != 1 or int(a.min()) < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return _make(xp.bincount(a, minlength=minlength).astype(np.int64))
    if weights.ndim != 1 or weights.shape[0] != a.shape[0]:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    w = weights._data
    out_dt = np.float32 if w.dtype == np.float32 else np.float64      # float32 weights sum in float32
    return _make(xp.bincount(a, weights=w.astype(np.float64), minlength=minlength).astype(out_dt))


def _widen_empty_range(dt, lo, hi):
    """histc's [lo, hi] when lo == hi: one unit out each way, or (float32 / float64) one representable step
    where that is farther, so that the edges stay distinct in dt (PyTorch's bins_edges_correction)."""
    if dt not in (_dtype.float32, _dtype.float64):
        return lo - 1, hi + 1
    info = np.finfo(dt.np)
    below = float(np.nextafter(dt.np.type(lo), info.min))
    above = float(np.nextafter(dt.np.type(hi), info.max))
    # std::min / std::max, which keep their first argument when a NaN makes the comparison false
    return (lo - 1 if lo - 1 < below else below), (hi + 1 if above < hi + 1 else above)


@register("histc")
@handles_out
def histc(input, bins=100, min=0, max=0, *, out=None):
    """Histogram with equal-width bins over [min, max] (the data range when min == max)."""
    a = input._data
    if isinstance(bins, Tensor) and bins.ndim == 0 and bins.dtype.np.kind in "iu":
        bins = int(bins.item())                      # torch's argument parser takes a 0-d integer tensor
    if not _is_int(bins):
        raise TypeError(f"histc(): argument 'bins' must be int, not {type(bins).__name__}")
    # PyTorch's order: the bin count, the range (read from the data when min == max), then the dtype
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    xp = _xp.array_module(a)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = (float(v) for v in _xp.to_host(xp.stack([a.min(), a.max()])).astype(np.float64))   # one read
    if lo == hi:
        lo, hi = _widen_empty_range(input.dtype, lo, hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo:g}, {hi:g}] is not finite")
    if not lo < hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if a.dtype == np.bool_:                          # PyTorch fails making the bin edges first
        raise NotImplementedError("\"linspace_cpu\" not implemented for 'Bool'")
    if a.dtype.kind != "f":
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_word(input.dtype)}'")
    # PyTorch's arithmetic, in the input's dtype (float16 rounding at each step): (x - lo) * bins / (hi - lo),
    # so that values next to an edge fall in the same bin
    lo_, hi_ = a.dtype.type(lo), a.dtype.type(hi)           # (NumPy scalars: CuPy takes them)
    flat = a.reshape(-1)
    v = flat[(flat >= lo_) & (flat <= hi_)]
    pos = ((v - lo_) * a.dtype.type(bins) / (hi_ - lo_)).astype(np.int64)
    pos = xp.minimum(pos, bins - 1)                  # the max value falls in the last bin
    return _make(xp.bincount(pos, minlength=bins).astype(a.dtype))


@register("histogram")
@handles_out
def histogram(input, bins=100, *, range=None, weight=None, density=False, out=None):
    """(hist, bin_edges): a histogram of input with bins equal-width bins or the given edges.

    The one-dimensional histogramdd() of the flattened input, as in PyTorch (same checks and messages)."""
    if not isinstance(bins, Tensor) and bins <= 0:   # checked before the range, unlike histogramdd()
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    points = input.reshape(-1, 1)
    flat_weight = None if weight is None else weight.reshape(-1)
    edges = [bins] if isinstance(bins, Tensor) else int(bins)
    hist, bin_edges = histogramdd(points, edges, range=None if range is None else list(range), weight=flat_weight,
                                  density=density)
    return return_types.histogram(hist, bin_edges[0])


return_types.histogramdd = _return_type("histogramdd", ("hist", "bin_edges"))


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _histogramdd_bins_kind(bins):
    """'int', 'ints' or 'tensors': which of torch's three overloads bins selects (TypeError for none)."""
    if isinstance(bins, Tensor) and bins.ndim == 0 and bins.dtype.np.kind in "iu":
        return "int"
    if _is_int(bins):
        return "int"
    if isinstance(bins, (list, tuple)):
        if bins and all(isinstance(b, Tensor) for b in bins):
            return "tensors"
        if all(_is_int(b) for b in bins):
            return "ints"
    got = type(bins).__name__
    if isinstance(bins, (list, tuple)):
        got += " of " + ", ".join(sorted({type(b).__name__ for b in bins}))
    raise TypeError(f"histogramdd(): argument 'bins' must be an int, a sequence of ints or a sequence of "
                    f"Tensors, not {got}")


def _histogramdd_outer_edges(input, x, range):
    """Per dimension (leftmost, rightmost) as Python floats: range's, else the data's min and max ([0, 1]
    without data); an empty range widens by 0.5 each way, as NumPy's."""
    N = x.shape[1]
    if range is not None:
        if len(range) != 2 * N:
            raise RuntimeError(f"torch.histogramdd: for a {N}-dimensional histogram range should have {2 * N} "
                               f"elements, but got {len(range)}")
        lo, hi = [float(v) for v in range[0::2]], [float(v) for v in range[1::2]]
    elif x.size:
        if input.dtype not in (_dtype.float32, _dtype.float64):
            raise NotImplementedError(f"\"histogramdd\" not implemented for '{_word(input.dtype)}'")
        xp = _xp.array_module(x)
        lo, hi = _xp.to_host(xp.stack([x.min(axis=0), x.max(axis=0)])).astype(np.float64).tolist()   # one read
    else:
        lo, hi = [0.0] * N, [1.0] * N
    for d in builtins.range(N):
        if not (math.isfinite(lo[d]) and math.isfinite(hi[d])):
            raise RuntimeError(f"torch.histogramdd: dimension {d}'s range [{lo[d]:g}, {hi[d]:g}] is not finite")
        if lo[d] > hi[d]:
            raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {lo[d]:g} max "
                               f"{hi[d]:g} for dimension {d}")
        if lo[d] == hi[d]:
            lo[d], hi[d] = lo[d] - 0.5, hi[d] + 0.5
    return lo, hi


def _histogramdd_check(input, edges, weight):
    """torch's checks of the bin edges (however they were made) and of weight, in its order."""
    N = input.shape[-1]
    if len(edges) != N:
        raise RuntimeError(f"torch.histogramdd: expected {N} sequences of bin edges for a {N}-dimensional "
                           f"histogram but got {len(edges)}")
    for d, e in enumerate(edges):
        if e.dtype != input.dtype:
            raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the same dtype, but "
                               f"got input with dtype {_CPP_NAME[input.dtype.name]} and bins for dimension {d} with "
                               f"dtype {_CPP_NAME[e.dtype.name]}")
        if e.ndim != 1:
            raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but got {e.ndim} "
                               f"dimensions in the bins tensor for dimension {d}")
        if e.numel() == 0:
            raise RuntimeError(f"torch.histogramdd: bins tensor should have at least 1 element, but got 0 "
                               f"elements in the bins tensor for dimension {d}")
    if weight is not None:
        if weight.dtype != input.dtype:
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided, input tensor and weight tensor "
                               f"should have the same dtype, but got input({_CPP_NAME[input.dtype.name]}), and "
                               f"weight({_CPP_NAME[weight.dtype.name]})")
        if tuple(input.shape[:-1]) != (tuple(weight.shape) or (1,)):      # torch reads a 0-d weight as (1,)
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have the same shape as "
                               f"the input tensor excluding its innermost dimension, but got input with shape "
                               f"{list(input.shape)} and weight with shape {list(weight.shape)}")
    for d, e in enumerate(edges):
        if e.numel() < 2:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {e.numel() - 1} for dimension {d}")
    if input.dtype not in (_dtype.float16, _dtype.float32, _dtype.float64):
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_word(input.dtype)}'")


def _histogramdd_counts(x, edges, w, density):
    """The histogram over the bins that edges (xp arrays, increasing) make, in x's dtype.

    Each bin holds its left edge, the last one its right edge too: a point's bin in dimension d is
    searchsorted(edges_d, x_d, 'right') - 1, the last edge moved into the last bin; points outside
    [edges_d[0], edges_d[-1]] (and NaN) in any dimension are dropped."""
    xp = _xp.array_module(x)
    counts = tuple(e.shape[0] - 1 for e in edges)
    M = x.shape[0]
    if x.size == 0 or math.prod(counts) == 0:       # torch counts nothing without data (N == 0 included)
        hist = xp.zeros(counts, x.dtype)
    else:
        flat = xp.zeros(M, np.int64)
        inside = xp.ones(M, bool)
        for d, e in enumerate(edges):
            v = x[:, d]
            inside &= (v >= e[0]) & (v <= e[-1])
            pos = xp.clip(xp.searchsorted(e, v, side="right") - 1, 0, counts[d] - 1)
            flat = flat * counts[d] + pos                # row-major index into the (counts) grid
        # where(), not a product: an outside point's NaN or inf weight must not reach the sums
        wt = xp.where(inside, xp.ones((), np.float64) if w is None else w.astype(np.float64),
                      xp.zeros((), np.float64))
        sums = xp.zeros(math.prod(counts), np.float64)
        _xp.scatter_add(sums, flat, wt)                 # (not bincount: CuPy's reads the device to size it)
        hist = sums.astype(x.dtype).reshape(counts)
    if density:
        # hist / (total * bin volume), dividing as torch does: by the total, then by each dimension's widths
        with np.errstate(invalid="ignore", divide="ignore"):
            hist = hist / hist.sum()
            for d, e in enumerate(edges):
                shape = [1] * len(edges)
                shape[d] = counts[d]
                hist = hist / xp.diff(e).reshape(shape)
    return row_major(hist)


def histogramdd(input, bins, range=None, weight=None, density=False):
    """(hist, bin_edges): the N-dimensional histogram of the rows of input (shape (..., N)).

    Args:
        input (Tensor): points, one per row of its last dimension's size N (at least 2-D).
        bins (int, sequence of ints, or sequence of Tensors): equal-width bins per dimension (the same
            count for all with an int), over range or the data's min and max; or each dimension's
            increasing bin edges.
        range (sequence of float, optional): [min_0, max_0, min_1, max_1, ...] for equal-width bins.
        weight (Tensor, optional): each point's weight, shape input.shape[:-1].
        density (bool): divide by the total weight and each bin's volume.

    Example::

        >>> flambeau.histogramdd(flambeau.tensor([[0., 0.], [1., 1.], [2., 2.]]), bins=[2, 2]).hist
        tensor([[1., 0.],
                [0., 2.]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"histogramdd(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if weight is not None and not isinstance(weight, Tensor):
        raise TypeError(f"histogramdd(): argument 'weight' must be Tensor, not {type(weight).__name__}")
    if not isinstance(density, (bool, np.bool_)):
        raise TypeError(f"histogramdd(): argument 'density' must be bool, not {type(density).__name__}")
    if range is not None and not (isinstance(range, (list, tuple)) and
                                  all(isinstance(v, numbers.Real) and not isinstance(v, Tensor) for v in range)):
        raise TypeError(f"histogramdd(): argument 'range' must be a sequence of floats, not {type(range).__name__}")
    kind = _histogramdd_bins_kind(bins)
    if kind == "int" and input.ndim == 0:
        raise IndexError("Dimension specified as -1 but tensor has no dimensions")
    if input.ndim < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    check_same_device("histogramdd", input, weight, *(bins if kind == "tensors" else ()))
    N = input.shape[-1]
    x = input._data.reshape(math.prod(input.shape[:-1]), N)          # (M, N): one point per row
    if kind == "tensors":
        edges = list(bins)                 # returned as given; range does not apply to explicit edges
        op = "_histogramdd_from_bin_tensors"
    else:
        counts = [int(bins)] * N if kind == "int" else list(bins)
        lo, hi = _histogramdd_outer_edges(input, x, range)
        if len(counts) != N:
            raise RuntimeError("histogramdd: The size of bins must be equal to the innermost dimension of the input.")
        edges = [linspace(lo[d], hi[d], counts[d] + 1, dtype=input.dtype, device=input.device)
                 for d in builtins.range(N)]
        op = "_histogramdd_from_bin_cts"
    _histogramdd_check(input, edges, weight)
    w = None if weight is None else weight._data.reshape(-1)

    def compute():
        hist = _histogramdd_counts(x, [e._data for e in edges], w, density)
        return hist if kind == "tensors" else (hist, *(e._data for e in edges))

    if recording(input, weight, *edges):       # torch records a node whose backward refuses
        from ..linalg import _not_differentiable
        out = _not_differentiable(op, compute, input, weight, *edges)
    else:
        out = compute()
        out = _make(out) if kind == "tensors" else tuple(_make(a) for a in out)
    if kind == "tensors":
        return return_types.histogramdd(out, tuple(edges))
    return return_types.histogramdd(out[0], tuple(out[1:]))


# -- cumulative -------------------------------------------------------------------------------
def _cum_extreme(name, input, dim, is_max):
    _no_complex(name, input, name + "_cpu")
    a = input._data
    xp = _xp.array_module(a)
    rt = getattr(return_types, name)
    node = "CummaxBackward0" if is_max else "CumminBackward0"
    if a.ndim == 0:
        if dim not in (-1, 0):
            raise IndexError(f"{name}(): Expected reduction dim -1 or 0 for scalar but got {dim}")
        return rt(_select(input, None, 0, True, node), _make(xp.zeros((), np.int64)))
    d = _wrap_dim(dim, a.ndim)
    work = a.astype(np.uint8) if a.dtype == np.bool_ else a
    vals = _xp.accumulate("maximum" if is_max else "minimum", work, d).astype(a.dtype)
    # the index moves to i whenever x[i] becomes (or ties) the running extreme; NaN wins and sticks
    update = work == vals
    if a.dtype.kind == "f":
        update |= xp.isnan(a)
    shape = [1] * a.ndim
    shape[d] = a.shape[d]
    pos = xp.arange(a.shape[d]).reshape(shape)
    idx = row_major(_xp.accumulate("maximum", xp.where(update, pos, 0), d)) if a.shape[d] else \
        xp.zeros(a.shape, np.int64)
    values = _select(input, idx, d, True, node)
    return rt(values, _index_tensor(idx))


@register("cummax")
def cummax(input, dim, *, out=None):
    """Running maximum along dim, and the index where each was reached (the latest of ties)."""
    return _returned(return_types.cummax, *_cummax(input, dim), out)


def _cummax(input, dim):
    return _cum_extreme("cummax", input, dim, True)


@register("cummin")
def cummin(input, dim, *, out=None):
    """Running minimum along dim, and the index where each was reached (the latest of ties)."""
    return _returned(return_types.cummin, *_cummin(input, dim), out)


def _cummin(input, dim):
    return _cum_extreme("cummin", input, dim, False)


def _complex_log_add_exp(xp, acc, b):
    """log(exp(acc) + exp(b)) as PyTorch's complex scan takes it: hi + log1p(exp(lo - hi)), hi the operand
    of larger real part (b on a tie), so that the phase accumulates rather than wrapping into (-pi, pi]."""
    acc_low = acc.real <= b.real
    lo, hi = xp.where(acc_low, acc, b), xp.where(acc_low, b, acc)
    with np.errstate(all="ignore"):
        r = xp.log1p(xp.exp(lo - hi)) + hi
        infinite = ~xp.isfinite(lo.real) & (lo.real == hi.real)     # both real parts -inf, or both +inf
        r = xp.where(infinite & (lo.real < 0), lo, r)
        r = xp.where(infinite & (lo.real > 0), xp.log(xp.exp(lo) + xp.exp(hi)), r)
        nan = xp.isnan(lo.real) | xp.isnan(hi.real)
        return xp.where(nan, xp.asarray(complex(np.nan, np.nan), acc.dtype), r)


def _complex_log_cum_sum_exp(xp, a, dim):
    """The running log-sum-exp of complex a along dim, one step at a time."""
    steps = xp.moveaxis(a, dim, 0)
    out = xp.empty_like(steps)
    acc = xp.full(steps.shape[1:], complex(-np.inf, 0), a.dtype)      # the empty sum's log, as PyTorch starts
    for i in range(steps.shape[0]):
        out[i] = acc = _complex_log_add_exp(xp, acc, steps[i])
    return xp.ascontiguousarray(xp.moveaxis(out, 0, dim))


class LogCumSumExp(Function):
    """out_i = log(sum_{j<=i} exp(x_j)) along dim"""
    _node_name = "LogcumsumexpBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        a = x._data
        xp = _xp.array_module(a)
        if a.dtype.kind != "c":        # logaddexp has no complex loop
            # a scan of logaddexp on CuPy (its accumulate takes add and multiply only): one shift by the
            # global max would underflow every element far below it (float16's [0, 100] gave -inf)
            out = _xp.accumulate("logaddexp", a, dim) if a.shape[dim] else a.copy()
        else:
            out = _complex_log_cum_sum_exp(xp, a, dim)
        ctx.dim = dim
        out = _make(row_major(out))            # PyTorch's scans make row-major results
        ctx.save_for_backward(x, out)          # PyTorch's formula reads the result
        return out

    @staticmethod
    def backward(ctx, grad):                     # dx_i = sum_{j>=i} grad_j conj(exp(x_i - out_j))
        x, out = ctx.saved_tensors
        from .indexing import flip
        from .pointwise import _conj
        d = ctx.dim
        # exp(x_i - out_j) = exp(x_i - c) * exp(c - out_j) with c = the last (largest) out, for range
        c = out.narrow(d, out.shape[d] - 1, 1).detach() if out.shape[d] else out
        w = grad * _conj((c - out).exp())
        rev = flip(flip(w, d).cumsum(d), d)
        return _conj((x - c).exp()) * rev, None


@register("logcumsumexp")
def logcumsumexp(input, dim, *, out=None):
    """log(cumsum(exp(input))) along dim, computed without overflow."""
    return _out(_logcumsumexp(input, dim), out)


def _logcumsumexp(input, dim):
    a = input._data
    d = _wrap_dim(dim, a.ndim)
    x = input
    if a.dtype.kind not in "fc":
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for '{_word(input.dtype)}'")
    if a.ndim == 0:
        return x.clone()
    return LogCumSumExp.apply(x, d)


# -- searching --------------------------------------------------------------------------------
@register("searchsorted")
@handles_out
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None, out=None):
    """Indices where input's values would be inserted into sorted_sequence (its last dim) to keep it sorted."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left while right was True")
        right = side == "right"
    check_same_device("searchsorted", sorted_sequence, input, sorter)
    for t in (sorted_sequence, input):
        if isinstance(t, Tensor):
            _no_complex("searchsorted", t, "searchsorted_out_cpu")
    # both compare in PyTorch's result type (a 0-dim input does not widen the sequence's dtype: -1 meets
    # a uint8 sequence as 255)
    common = _dtype.result_type(sorted_sequence, input)
    if common is _dtype.bool:
        from .pointwise import _not_implemented
        _not_implemented("searchsorted_out_cpu", _dtype.bool)
    seq = sorted_sequence._data.astype(common.np, copy=False)
    xp = _xp.array_module(seq)
    scalar = not isinstance(input, Tensor)
    vals = xp.asarray(input).astype(common.np) if scalar else input._data.astype(common.np, copy=False)
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter._data, axis=-1)
    how = "right" if right else "left"
    if seq.ndim <= 1:
        res = xp.searchsorted(seq, vals, side=how)
    else:
        if scalar or vals.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                               f"dimensions of boundaries tensor and input value tensor must match, but we got "
                               f"boundaries tensor {list(seq.shape)} and input value tensor "
                               f"{list(vals.shape) if not scalar else []}")
        rows_s = seq.reshape(-1, seq.shape[-1])
        rows_v = vals.reshape(rows_s.shape[0], vals.shape[-1])      # the leading dims match
        res = xp.stack([xp.searchsorted(s, v, side=how) for s, v in zip(rows_s, rows_v)]) if rows_s.shape[0] \
            else xp.zeros(rows_v.shape, np.int64)
        res = res.reshape(vals.shape)
    return _make(xp.asarray(res).astype(np.int32 if out_int32 else np.int64))


def isin(elements, test_elements, *, assume_unique=False, invert=False, out=None):
    """Whether each of elements is among test_elements (a Tensor or a number on either side)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(f"isin() received an invalid combination of arguments - got "
                        f"({type(elements).__name__}, {type(test_elements).__name__}): expected a Tensor as "
                        f"elements or as test_elements")
    like = elements if isinstance(elements, Tensor) else test_elements
    check_same_device("isin", elements, test_elements)
    xp = _xp.array_module(like._data)
    values = elements._data if isinstance(elements, Tensor) else xp.asarray(elements)
    tests = test_elements._data if isinstance(test_elements, Tensor) else xp.asarray(test_elements)
    result = _make(xp.isin(values, tests, assume_unique=assume_unique, invert=invert))
    if out is not None:
        out.copy_(result)
        return out
    return result


@register("bucketize")
@handles_out
def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """The bucket of each input value given sorted 1-D boundaries."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


@register("diff")
def diff(input, n=1, dim=-1, prepend=None, append=None, *, out=None):
    """n-th forward difference along dim (after joining prepend and append)."""
    return _out(_diff(input, n, dim, prepend, append), out)


def _diff(input, n=1, dim=-1, prepend=None, append=None):
    from .creation import cat
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = _wrap_dim(dim, input.ndim)
    parts = [p for p in (prepend, input, append) if p is not None]
    for p in parts:
        if not isinstance(p, Tensor):
            raise TypeError(f"diff(): prepend and append must be Tensors, got {type(p).__name__}")
    for p in (prepend, append):     # checked before n == 0 returns, as PyTorch does
        if p is None:
            continue
        if p.ndim != input.ndim:
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
        for i in range(p.ndim):
            if i != d and p.shape[i] != input.shape[i]:
                raise RuntimeError("diff expects the shape of tensor to prepend or append to match that of input except "
                                   f"along the differencing dimension; input.size({i}) = {input.shape[i]}, but got "
                                   f"tensor.size({i}) = {p.shape[i]}")
    if n == 0:                  # PyTorch: a copy of input, prepend and append left out
        return input.clone()
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        k = x.shape[d]
        if k == 0:
            break
        hi, lo = x.narrow(d, 1, k - 1), x.narrow(d, 0, k - 1)
        x = hi.logical_xor(lo) if x.dtype is _dtype.bool else hi - lo
    return x
