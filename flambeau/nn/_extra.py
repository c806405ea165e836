"""channel_shuffle, multilabel_margin_loss and triplet_margin_with_distance_loss, as PyTorch's."""
import numpy as np

from .. import _xp, _dtype
from .._tensor import Tensor, _make
from ..autograd.function import Function
from .._ops import creation as _creation
from .._ops._util import _type_word
from .._ops.indexing import GatherByKey


def _f():
    import flambeau
    return flambeau


def _functional():
    from . import functional
    return functional


class _ChannelShuffle(Function):
    """(N, C, *) -> channels read as (groups, C / groups) and written transposed; the inverse shuffle
    (C / groups groups) is its backward."""
    _node_name = "ChannelShuffleBackward0"

    @staticmethod
    def forward(ctx, input, groups):
        a = input._data
        n, channels = a.shape[:2]
        ctx.groups, ctx.channels = groups, channels
        # copy() writes C order: a new contiguous array, as PyTorch returns, even when nothing moves
        grouped = a.reshape((n, groups, channels // groups) + a.shape[2:]).swapaxes(1, 2).copy()
        return grouped.reshape(a.shape)

    @staticmethod
    def backward(ctx, grad):
        if ctx.channels == 0:
            return grad, None
        return _ChannelShuffle.apply(grad, ctx.channels // ctx.groups), None


def channel_shuffle(input, groups):
    """Interleave the channels of (N, C, *) input: C = groups * k channels, read as a (groups, k)
    grid, come out in (k, groups) order (ShuffleNet)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"channel_shuffle(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"channel_shuffle(): argument 'groups' (position 2) must be int, not {type(groups).__name__}")
    if input.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    if input.shape[1] % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {input.shape[1]} channels and "
                           f"{groups} groups.")
    return _ChannelShuffle.apply(input, int(groups))


native_channel_shuffle = channel_shuffle


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """sum over the target classes j (target's leading entries, up to the first -1) and the other
    classes i of max(0, 1 - (x[j] - x[i])), divided by the number of classes C.

    input (C) or (N, C) (or a 0-d one-class input); target int64 of the same shape."""
    F = _functional()
    reduction = F._legacy_reduction(size_average, reduce, reduction)
    reduction = F._check_reduction(reduction)
    ndim = input.ndim
    if not ((ndim == 2 and input.shape[1] != 0) or (ndim == 1 and input.shape[0] != 0) or ndim == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    classes = 1 if ndim == 0 else input.shape[-1]
    if ndim <= 1:
        fits = target.ndim <= 1 and target.numel() == classes
    else:
        fits = target.ndim == 2 and tuple(target.shape) == tuple(input.shape)
    if not fits:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}")
    frames = input.shape[0] if ndim == 2 else 1
    t = target._data
    xp = _xp.array_module(input._data)
    if input.numel():
        # a read by the host, as PyTorch's check (CuPy would wrap a class out of range around)
        lo, hi = xp.stack((t.min(), t.max())).tolist()
        if lo < -1 or hi >= classes:
            raise RuntimeError("argument #2 'target' is out of range")
    if not input.is_floating_point():
        raise NotImplementedError(f"\"multilabel_margin_loss_forward_out_frame\" not implemented for "
                                  f"'{_type_word(input.dtype)}'")
    if target.dtype is not _dtype.int64:
        raise RuntimeError(f"expected scalar type Long but found {_type_word(target.dtype)}")
    return _MultilabelMarginLoss.apply(input, t.reshape(frames, classes), reduction)


class _MultilabelMarginLoss(Function):
    """Per frame, sum over its target classes j and the other classes i of max(0, 1 - (x[j] - x[i])) / C."""
    _node_name = "MultilabelMarginLossBackward0"

    @staticmethod
    def forward(ctx, input, target, reduction):            # target: (frames, C) int64 arrays
        frames, classes = target.shape
        xp = _xp.array_module(target)
        listed = xp.cumsum(target == -1, axis=1) == 0                   # the targets: entries before the first -1
        labels = xp.where(listed, target, 0)
        rows = xp.arange(frames)[:, None]
        is_target = xp.zeros((frames, classes + 1), bool)
        is_target[rows, xp.where(listed, target, classes)] = True
        others = listed[:, :, None] & ~is_target[:, None, :classes]     # (frame, target j, class i)
        x = input._data.reshape(frames, classes)
        margins = 1 - x[rows, labels][:, :, None] + x[:, None, :]
        active = others & (margins > 0)
        loss = xp.where(active, margins, 0).sum(axis=(1, 2)).astype(x.dtype, copy=False) / x.dtype.type(classes)
        ctx.active, ctx.rows, ctx.labels, ctx.reduction, ctx.shape = active, rows, labels, reduction, input.shape
        if reduction == "none":
            return loss if input.ndim == 2 else loss.reshape(())
        return xp.asarray(loss.mean() if reduction == "mean" else loss.sum(), dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):        # +1/C at each class i inside a target j's margin, -1/C at j for each
        active = ctx.active
        frames, _, classes = active.shape
        xp = _xp.array_module(active)
        dtype = grad._data.dtype                            # (the input's)
        dx = active.sum(axis=1).astype(dtype)
        rows = xp.broadcast_to(ctx.rows, ctx.labels.shape)
        _xp.scatter_add(dx, (rows, ctx.labels), -active.sum(axis=2).astype(dtype))
        dx /= dx.dtype.type(classes)
        if ctx.reduction == "none":
            g = grad.reshape(-1, 1)
        else:
            g = grad / frames if ctx.reduction == "mean" else grad
        return (_make(dx) * g).reshape(ctx.shape), None, None


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    """max(0, d(anchor, positive) - d(anchor, negative) + margin) for a distance function d
    (pairwise_distance by default); swap takes d(anchor, negative) as min(d(a, n), d(p, n))."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    if distance_function is None:
        distance_function = _functional().pairwise_distance
    dist_pos = distance_function(anchor, positive)
    dist_neg = distance_function(anchor, negative)
    if swap:
        dist_neg = _f().minimum(dist_neg, distance_function(positive, negative))
    loss = (margin + dist_pos - dist_neg).clamp(min=0)
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    return loss
