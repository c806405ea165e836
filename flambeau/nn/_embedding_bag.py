"""embedding_bag: sums, means or maxima of bags of embedding rows, as PyTorch's _embedding_bag.

A bag is a run of the 1-D input that an offset starts (a 2-D input holds one bag per row). Each
index is tagged with its bag; indices that belong to no bag (padding_idx, or past the last offset
with include_last_offset) get the spare tag B, a row past the output that is dropped, so that no
shape depends on values. Sums and counts are scatter-adds by tag. max keeps, per bag and feature,
the first position holding the largest value, with PyTorch's sequential scan (``x > best``): a NaN
counts only as a bag's first value; its gradient goes to that one row.
"""
import warnings

import numpy as np

from .. import _xp, _dtype
from .._tensor import _make
from ..autograd import grad_mode
from ..autograd.function import Function
from .._ops import creation as _creation
from .._ops._util import _type_word, check_same_device, result_dtype
from .._ops.indexing import IndexAdd, GatherByKey

_MODES = ("sum", "mean", "max")


def _f():
    import flambeau
    return flambeau


def _scattered_rows(grad_rows, rows, num_weights, dim):
    """(num_weights, dim) zeros with grad_rows added at rows; a row index num_weights is dropped."""
    spare = _creation.zeros((num_weights + 1, dim), dtype=grad_rows.dtype, device=grad_rows.device)
    return IndexAdd.apply(spare, rows, grad_rows)[:num_weights]


def _index_counts(idx, size, xp, dtype):
    """How often each of 0..size-1 occurs in idx, in float32 at least (exact up to 2^24), by a scatter-add:
    cupy.bincount reads its maximum on the host."""
    dtype = xp.promote_types(dtype, np.float32)
    counts = xp.zeros(size, dtype)
    _xp.scatter_add(counts, idx, xp.ones(idx.shape, dtype))
    return counts


def _ordered_key(a):
    """float64 <-> int64 keys whose integer order is the floats' order (-0.0 just below +0.0): a negative
    float's bits count down as it grows, so its magnitude bits are flipped. The map is its own inverse."""
    bits = a.view(np.int64)
    return bits ^ ((bits >> 63) & np.int64(0x7FFFFFFFFFFFFFFF))


class _EmbeddingBag(Function):
    """out[b] = reduction over the rows weight[idx[i]] (times per_sample_weights[i]) whose bag[i] is b."""
    _node_name = "EmbeddingBagBackward0"

    @staticmethod
    def forward(ctx, weight, per_sample_weights, idx, bag, num_bags, mode, scale_grad_by_freq):
        w = weight._data
        xp = _xp.array_module(w)
        dim = w.shape[1]
        ctx.idx, ctx.bag, ctx.num_bags, ctx.mode = idx, bag, num_bags, mode
        ctx.num_weights, ctx.scale_grad_by_freq = w.shape[0], scale_grad_by_freq
        ctx.save_for_backward(weight, per_sample_weights)
        counts = _index_counts(bag, num_bags + 1, xp, w.dtype)[:num_bags]
        ctx.counts = counts
        if mode == "max":
            return _EmbeddingBag._max(ctx, w, idx, bag, num_bags, counts, xp)
        # half-precision rows are summed in float32, as PyTorch accumulates them
        rows = w[idx].astype(xp.promote_types(w.dtype, np.float32), copy=False)
        if per_sample_weights is not None:
            rows = rows * per_sample_weights._data[:, None]
        out = xp.zeros((num_bags + 1, dim), rows.dtype)
        _xp.scatter_add(out, bag, rows)
        out = out[:num_bags]
        if mode == "mean":
            out = out / xp.maximum(counts, 1)[:, None]
        return out.astype(w.dtype, copy=False)

    @staticmethod
    def _max(ctx, w, idx, bag, num_bags, counts, xp):
        n, dim = idx.shape[0], w.shape[1]
        filled = counts > 0
        if n == 0:
            ctx.max_rows = None
            return xp.zeros((num_bags, dim), w.dtype)
        rows = w[idx]
        is_nan = xp.isnan(rows)
        # float64 holds every weight dtype exactly; the maxima are scattered as ordered int64 keys, since
        # CuPy's float64 maximum.at compares through float32 (fmaxf) and would round the maxima
        values = xp.where(is_nan, -xp.inf, rows).astype(np.float64, copy=False)
        best = xp.full((num_bags + 1, dim), int(_ordered_key(np.array(-np.inf))), np.int64)
        xp.maximum.at(best, bag, _ordered_key(values))
        best = _ordered_key(best).view(np.float64)
        position = xp.arange(n)
        first_best = xp.full((num_bags + 1, dim), n, np.int64)
        xp.minimum.at(first_best, bag, xp.where(values == best[bag], position[:, None], n))
        start = xp.full(num_bags + 1, n, np.int64)
        xp.minimum.at(start, bag, position)
        start = xp.minimum(start[:num_bags], n - 1)
        # a NaN first in its bag stays: no later value compares greater than it
        nan_first = is_nan[start] & filled[:, None]
        chosen = xp.where(nan_first, start[:, None], xp.minimum(first_best[:num_bags], n - 1))
        ctx.max_rows = xp.where(filled[:, None], idx[chosen], ctx.num_weights)
        out = w[xp.minimum(ctx.max_rows, ctx.num_weights - 1), xp.arange(dim)]
        return xp.where(filled[:, None], out, 0).astype(w.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        weight, per_sample_weights = ctx.saved_tensors
        need_w = ctx.needs_input_grad[0]
        need_psw = per_sample_weights is not None and ctx.needs_input_grad[1]
        idx, bag, num_bags, num_weights = ctx.idx, ctx.bag, ctx.num_bags, ctx.num_weights
        dim = grad.shape[1]
        xp = _xp.array_module(grad._data)
        if num_bags == 0 or idx.shape[0] == 0:
            gw = _creation.zeros((num_weights, dim), dtype=grad.dtype, device=grad.device) if need_w else None
            gp = _creation.zeros(per_sample_weights.shape, dtype=grad.dtype, device=grad.device) if need_psw else None
            return gw, gp, None, None, None, None, None
        gw = gp = None
        if ctx.mode == "max":
            if need_w:
                gw = _scattered_rows(grad, (ctx.max_rows, xp.arange(dim)[None, :]), num_weights, dim)
            return gw, None, None, None, None, None, None
        used = bag < num_bags
        grad_rows = GatherByKey.apply(grad, (xp.minimum(bag, num_bags - 1),))      # (n, dim)
        if need_w:
            scale = xp.ones(idx.shape, grad._data.dtype)
            if ctx.mode == "mean":
                scale = scale / xp.maximum(ctx.counts, 1)[xp.minimum(bag, num_bags - 1)]
            if ctx.scale_grad_by_freq:
                scale = scale / _index_counts(idx, num_weights, xp, grad._data.dtype)[idx]
            g = grad_rows * _make(scale[:, None].astype(grad._data.dtype, copy=False))
            if per_sample_weights is not None:
                g = g * per_sample_weights.unsqueeze(1)
            gw = _scattered_rows(g, (xp.where(used, idx, num_weights),), num_weights, dim)
        if need_psw:
            dots = (grad_rows * GatherByKey.apply(weight, (idx,))).sum(1)
            gp = _f().where(_make(used), dots, _creation.zeros((), dtype=dots.dtype, device=dots.device))
        return gw, gp, None, None, None, None, None


def _check_index_dtypes(input, offsets):
    """Long or Int indices and offsets; PyTorch promotes the two together first, and names 'indices'."""
    index_types = (_dtype.int64, _dtype.int32)
    if input.dtype in index_types and offsets.dtype in index_types:
        return
    bad = input.dtype if input.dtype not in index_types else result_dtype(input, offsets)
    prefix = "torch." if input.device.type == "cpu" else "torch.cuda."
    raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                       f"Long, Int; but got {prefix}{bad._legacy} instead (while checking arguments for "
                       f"embedding_bag)")


def _bags(input, offsets, include_last_offset, padding_idx, num_weights):
    """(indices, bag tags, number of bags) as int64 arrays, after PyTorch's checks of the indices and offsets."""
    xp = _xp.array_module(input._data)
    idx = input._data.astype(np.int64, copy=False)
    off = offsets._data.astype(np.int64, copy=False)
    n = idx.shape[0]
    # one read by the host for the checks: CuPy would wrap out-of-range indices around silently
    ends = [idx.min(), idx.max()] if n else []
    ends += [off[0], off[-1]] if off.shape[0] else []
    ends = xp.stack(ends).tolist() if ends else []
    if off.shape[0]:
        if ends[-2] != 0:
            # PyTorch's message prints offsets[0] as a 0-d tensor, type line included, after it has promoted
            # the indices and offsets to a common integer type
            index_dtype = _dtype.int32 if input.dtype is offsets.dtype is _dtype.int32 else _dtype.int64
            raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                               f"position 0. However, got {ends[-2]}\n[ torch.{_type_word(index_dtype)}Tensor{{}} ]")
        if ends[-1] > n:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got offsets[-1] of "
                               f"{ends[-1]}")
    if n and (ends[0] < 0 or ends[1] >= num_weights):
        bad = ends[0] if ends[0] < 0 else ends[1]
        raise RuntimeError(f"embedding_bag: Expected idx >= 0 && idx < num_embeddings but found idx to be {bad}")
    num_bags = max(off.shape[0] - 1, 0) if include_last_offset else off.shape[0]
    position = xp.arange(n)
    if num_bags == 0:
        return idx, xp.zeros(n, np.int64), 0
    bag = xp.searchsorted(off[:num_bags], position, side="right") - 1
    dropped = idx == padding_idx if padding_idx is not None else xp.zeros(n, bool)
    if include_last_offset:
        dropped = dropped | (position >= off[num_bags])
    return idx, xp.where(dropped, num_bags, bag), num_bags


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of rows of weight (num_embeddings, embedding_dim): input (B, N) holds
    one bag per row; a 1-D input holds bags that start at offsets (the last one ends the input, or
    offsets[-1] with include_last_offset). per_sample_weights scales each row ('sum' only); indices equal
    to padding_idx are left out (and the mean counts only the others); an empty bag gives zeros."""
    from . import functional as F
    if weight.dtype is _dtype.int64 and input.is_floating_point():
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage `embedding_bag(weight, "
                      "input, ...)` is deprecated, and should now be `embedding_bag(input, weight, ...)`.",
                      stacklevel=2)
        weight, input = input, weight
    if per_sample_weights is not None and input.shape != per_sample_weights.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it "
                         f"must have the same shape as the input ({input.shape})")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.dim()}")
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(f"if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        offsets = _creation.arange(0, input.numel(), input.shape[1], dtype=input.dtype, device=input.device)
        include_last_offset = False
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    if mode not in _MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max":
        if scale_grad_by_freq:
            raise ValueError("max mode does not support scaling the gradient by the frequency")
        if sparse:
            raise ValueError("max mode does not support sparse weights")
    check_same_device("embedding_bag", weight, input, offsets, per_sample_weights)
    if max_norm is not None:
        with grad_mode.no_grad():
            F._embedding_renorm_(weight, input, max_norm, norm_type)
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                                  f"GitHub.")
    if sparse:
        raise NotImplementedError("embedding_bag(): sparse gradients are not supported by flambeau")
    num_weights = weight.shape[0]
    if padding_idx is not None:
        if not -num_weights <= padding_idx < num_weights:
            raise RuntimeError(f"padding_idx must be within the number of embeddings, -{num_weights} through "
                               f"{num_weights - 1}, but got {padding_idx}")
        if padding_idx < 0:
            padding_idx += num_weights
    _check_index_dtypes(input, offsets)
    if not weight.is_floating_point():
        raise RuntimeError(f"Expected tensor for argument #1 'weight' to have one of the following scalar types: "
                           f"Half, BFloat16, Float, Double; but got {weight.type()} instead (while checking arguments "
                           f"for embedding_bag)")
    if per_sample_weights is not None and per_sample_weights.dtype is not weight.dtype:
        raise RuntimeError(f"Expected tensor for argument #1 'weight' to have the same type as tensor for argument "
                           f"#1 'per_sample_weights'; but type {weight.type()} does not equal "
                           f"{per_sample_weights.type()} (while checking arguments for embedding_bag)")
    idx, bag, num_bags = _bags(input, offsets, include_last_offset, padding_idx, num_weights)
    return _EmbeddingBag.apply(weight, per_sample_weights, idx, bag, num_bags, mode, scale_grad_by_freq)
