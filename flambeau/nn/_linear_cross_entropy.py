"""linear_cross_entropy and LinearCrossEntropyOptions, as PyTorch 2.13's.

The reference path forms the logits with linear and calls cross_entropy. Given options, the chunked
path goes over the batch batch_chunk_size rows at a time, so that only a (chunk, num_classes) block
of logits exists at once (an LLM's vocabulary head): for 'mean' and 'sum' the same pass computes the
gradients and the backward scales them (once, unless allow_retain_graph); for 'none' the backward
recomputes them chunk by chunk. acc_policy only picks PyTorch's buffer layouts: flambeau computes
every chunk in acc_dtype.
"""
import dataclasses
import math
import warnings

from .. import _xp, _dtype
from .._tensor import _make
from ..autograd.function import Function
from .._ops._util import index_range

__all__ = ["LinearCrossEntropyOptions", "linear_cross_entropy"]

# (device type, input dtype) -> (acc_policy, chunking_method) that "auto" resolves to (PyTorch's picks;
# its bfloat16 rows have no flambeau dtype)
_AUTO_DEFAULTS = {("cuda", "float16"): ("compact", "aspect_ratio:2"), ("cpu", "float16"): ("accurate", "aspect_ratio")}
_AUTO_FALLBACK = ("compact", "aspect_ratio:2")
_ACC_POLICIES = ("auto", "accurate", "balanced", "compact")


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """How linear_cross_entropy chunks the batch: batch_chunk_size rows per chunk, or a size from
    chunking_method ("aspect_ratio[:N]": a chunk's logits as large as the input, divided by N);
    acc_dtype the dtype chunks are computed in (float32 for float16 inputs under "auto");
    allow_retain_graph keeps the precomputed gradients for a second backward."""

    allow_retain_graph: bool = False
    batch_chunk_size: int = None
    chunking_method: str = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None

    def __post_init__(self):
        if self.acc_policy not in _ACC_POLICIES:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            if not sep:
                factor = "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        if not (self.batch_chunk_size is None
                or (isinstance(self.batch_chunk_size, int) and self.batch_chunk_size > 0)):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {self.batch_chunk_size!r}")
        if self.acc_dtype is not None and self.acc_dtype not in (_dtype.float16, _dtype.float32, _dtype.float64):
            raise ValueError("acc_dtype must be one of {None, torch.float16, torch.bfloat16, torch.float32, "
                             f"torch.float64}}, got {self.acc_dtype!r}. Pass acc_dtype=None to let the op pick "
                             "automatically.")

    @staticmethod
    def _ceil_div(a, b):
        return -(-a // b)

    @staticmethod
    def _resolve_auto_acc_dtype(dtype, device):
        """float32 for float16 inputs (PyTorch's mixed-precision matmul path), else None: the input's."""
        if device is None or dtype is not _dtype.float16 or device.type not in ("cpu", "cuda"):
            return None
        return _dtype.float32

    def _compute_batch_chunk_size(self, num_batches, in_features, num_classes, method=None):
        method = str(method if method is not None else self.chunking_method)
        factor = int(method.split(":", 1)[1]) if ":" in method else 1
        target = self._ceil_div(num_batches, self._ceil_div(num_classes, in_features))
        chunk_size = 1 << (target - 1).bit_length()          # the next power of 2 from target
        return min(chunk_size // factor, num_batches)

    def _adjust(self, num_batches, in_features, num_classes, dtype, device=None):
        """These options with "auto" and None resolved for one call."""
        acc_policy, chunking_method = self.acc_policy, self.chunking_method
        if chunking_method == "auto" and self.batch_chunk_size is not None:
            chunking_method = None          # an explicit chunk size wins over the automatic one
        if acc_policy == "auto" or chunking_method == "auto":
            picked = _AUTO_DEFAULTS.get((device.type, dtype.name), _AUTO_FALLBACK) if device is not None \
                else _AUTO_FALLBACK
            if acc_policy == "auto":
                acc_policy = picked[0]
            if chunking_method == "auto":
                chunking_method = picked[1]
        batch_chunk_size = num_batches if self.batch_chunk_size is None else min(self.batch_chunk_size, num_batches)
        if chunking_method is not None:
            batch_chunk_size = self._compute_batch_chunk_size(num_batches, in_features, num_classes, chunking_method)
            if self.batch_chunk_size is not None and self.batch_chunk_size != batch_chunk_size:
                raise ValueError(f"batch_chunk_size (={self.batch_chunk_size}) and chunking_method "
                                 f"('{chunking_method}') give different chunk sizes ({self.batch_chunk_size} vs "
                                 f"{batch_chunk_size}); pass only one.")
        acc_dtype = self.acc_dtype
        if acc_dtype is None:
            auto = self._resolve_auto_acc_dtype(dtype, device) if self.acc_policy == "auto" else None
            acc_dtype = auto if auto is not None else dtype
        return dataclasses.replace(self, acc_policy=acc_policy, chunking_method=chunking_method,
                                   batch_chunk_size=max(1, batch_chunk_size), acc_dtype=acc_dtype)


# -- the chunked computation -------------------------------------------------------------------
def _row_weights(target, weight, ignore_index, num_classes, xp, dtype):
    """Targets safe to index with (ignored rows point at class 0) and each row's class weight (0 when
    ignored)."""
    ignored = target == ignore_index
    safe = xp.where(ignored, 0, target)
    if target.size:
        lo, hi = index_range(safe)
        if lo < 0 or hi >= num_classes:
            bad = lo if lo < 0 else hi
            raise RuntimeError(f"index {bad} is out of bounds for dimension 1 with size {num_classes}")
    rows = xp.ones(target.shape, dtype=dtype) if weight is None else weight.astype(dtype)[safe]
    return safe, xp.where(ignored, 0, rows).astype(dtype, copy=False)


def _chunked_pass(x, w, b, target, row_weight, chunk, want, coef=None):
    """Loss terms row_weight * (logsumexp - target logit) per row and, for want = (input, weight, bias),
    the gradients of sum(coef * those terms) (coef: one number per row), chunk rows at a time."""
    xp = _xp.array_module(x)
    n = x.shape[0]
    losses = xp.empty(n, dtype=x.dtype)
    grads = [xp.zeros(x.shape, dtype=x.dtype) if want[0] else None,
             xp.zeros(w.shape, dtype=x.dtype) if want[1] else None,
             xp.zeros(w.shape[:1], dtype=x.dtype) if want[2] else None]
    for start in range(0, n, chunk):
        rows = slice(start, min(start + chunk, n))
        logits = x[rows] @ w.T
        if b is not None:
            logits += b
        logits -= logits.max(axis=1, keepdims=True)
        picked = xp.take_along_axis(logits, target[rows, None], axis=1)[:, 0]
        exp = xp.exp(logits)
        denom = exp.sum(axis=1)
        losses[rows] = row_weight[rows] * (xp.log(denom) - picked)
        if coef is None or not any(want):
            continue
        scale = coef[rows] * row_weight[rows]
        dlogits = exp * (scale / denom)[:, None]               # softmax, scaled
        dlogits[xp.arange(dlogits.shape[0]), target[rows]] -= scale
        if want[0]:
            grads[0][rows] = dlogits @ w
        if want[1]:
            grads[1] += dlogits.T @ x[rows]
        if want[2]:
            grads[2] += dlogits.sum(axis=0)
    return losses, grads


def _arrays(input, linear_weight, linear_bias, weight, acc):
    return (input._data.astype(acc, copy=False), linear_weight._data.astype(acc, copy=False),
            None if linear_bias is None else linear_bias._data.astype(acc, copy=False),
            None if weight is None else weight._data)


class _ChunkedReduced(Function):
    """'mean' / 'sum': the loss and its gradients in one chunked pass; backward scales them."""
    _node_name = "GeneratedBackwardFor_torch_nn__linear_cross_entropy_batch_chunked_defaultBackward"

    @staticmethod
    def forward(ctx, input, linear_weight, target, linear_bias, weight, reduction, ignore_index, chunk, acc,
                allow_retain_graph):
        x, w, b, cw = _arrays(input, linear_weight, linear_bias, weight, acc)
        xp = _xp.array_module(x)
        safe, row_weight = _row_weights(target._data, cw, ignore_index, w.shape[0], xp, acc)
        want = (ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.needs_input_grad[3])
        total = row_weight.sum() if reduction == "mean" else xp.asarray(1, dtype=acc)
        total = xp.where(total == 0, xp.nan, total)              # 'mean' over no weight: nan, as torch
        coef = xp.broadcast_to(1 / total, row_weight.shape)
        losses, grads = _chunked_pass(x, w, b, safe, row_weight, chunk, want, coef)
        dtype = input._data.dtype
        ctx.grads = [None if g is None else g.astype(dtype) for g in grads]
        ctx.allow_retain_graph = allow_retain_graph
        return (losses.sum() / total).astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        grads = ctx.grads
        if not ctx.allow_retain_graph:
            if any(g is not None for g in grads) and getattr(ctx, "consumed", False):
                raise RuntimeError("linear_cross_entropy chunked backward called twice; retain_graph=True / double "
                                   "backward are not supported.")
            ctx.consumed = True
        gi, gw, gb = (None if g is None else grad * _make(g) for g in grads)
        return gi, gw, None, gb, None, None, None, None, None, None


class _ChunkedNone(Function):
    """'none': per-row losses; the backward recomputes the chunks with the upstream gradient."""
    _node_name = "GeneratedBackwardFor_torch_nn__linear_cross_entropy_batch_chunked_no_reduction_defaultBackward"

    @staticmethod
    def forward(ctx, input, linear_weight, target, linear_bias, weight, ignore_index, chunk, acc):
        x, w, b, cw = _arrays(input, linear_weight, linear_bias, weight, acc)
        xp = _xp.array_module(x)
        safe, row_weight = _row_weights(target._data, cw, ignore_index, w.shape[0], xp, acc)
        losses, _ = _chunked_pass(x, w, b, safe, row_weight, chunk, (False, False, False))
        ctx.kept = (x, w, b, safe, row_weight, chunk, input._data.dtype)
        return losses.astype(input._data.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, w, b, safe, row_weight, chunk, dtype = ctx.kept
        want = (ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.needs_input_grad[3] and b is not None)
        _, grads = _chunked_pass(x, w, b, safe, row_weight, chunk, want, grad._data.astype(x.dtype))
        gi, gw, gb = (None if g is None else _make(g.astype(dtype)) for g in grads)
        return gi, gw, None, gb, None, None, None, None


def _chunked(input, linear_weight, target, linear_bias, weight, reduction, ignore_index, options):
    batched = input.ndim == 2
    if not batched:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    options = options._adjust(num_batches=input.shape[0], in_features=input.shape[1],
                              num_classes=linear_weight.shape[0], dtype=input.dtype, device=input.device)
    if input.dtype is not linear_weight.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_c_type(input.dtype)} != "
                           f"{_c_type(linear_weight.dtype)}")
    acc = options.acc_dtype.np
    if reduction == "none":
        out = _ChunkedNone.apply(input, linear_weight, target, linear_bias, weight, ignore_index,
                                 options.batch_chunk_size, acc)
    else:
        out = _ChunkedReduced.apply(input, linear_weight, target, linear_bias, weight, reduction, ignore_index,
                                    options.batch_chunk_size, acc, options.allow_retain_graph)
    return out if batched else out.squeeze(0)


def _c_type(dt):
    return {"float32": "float", "float64": "double", "float16": "c10::Half"}.get(dt.name, dt.name)


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction="mean",
                         ignore_index=None, label_smoothing=0.0, options=None):
    """cross_entropy(linear(input, linear_weight, linear_bias), target, ...): linear_weight
    (C, *out_features, in_features) gives logits (N, C, *out_features) for a K-dimensional loss."""
    from . import functional as F
    if input.ndim < 1 or input.ndim > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}")
    num_batches = tuple(input.shape[:-1])
    in_features = input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError("expected equal input and linear_weight last dimensions (in_features), got "
                           f"{input.shape[-1]} and {linear_weight.shape[-1]}, respectively")
    num_classes = linear_weight.shape[0]
    out_features = tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, got "
                           f"{tuple(linear_bias.shape)}")
    if out_features and not num_batches:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires"
                           f" batched input, (N, {in_features}), got unbatched input with shape "
                           f"{tuple(input.shape)}")
    logits_shape = (*num_batches, num_classes, *out_features)
    # cross_entropy reads a target shaped like the logits as probabilities
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = ignore_index if ignore_index is not None else -100
    chunkable = (not out_features and reduction in ("mean", "sum", "none") and label_smoothing == 0.0
                 and target.dtype is _dtype.int64)
    if options is not None and not chunkable:
        bias_shape = tuple(linear_bias.shape) if linear_bias is not None else None
        warnings.warn("linear_cross_entropy: ``options`` ignored; chunked path needs reduction in "
                      "{'mean','sum','none'}, label_smoothing == 0, target.dtype == int64, out_features == (). Got "
                      f"reduction={reduction!r}, label_smoothing={label_smoothing}, target.dtype={target.dtype}, "
                      f"out_features={out_features}, tracing=False, linear_bias.shape={bias_shape}.", stacklevel=2)
    if options is not None and chunkable:
        return _chunked(input, linear_weight, target, linear_bias, weight, reduction, ignore_index, options)
    if out_features:
        linear_weight = linear_weight.reshape((math.prod(out_features, start=num_classes), in_features))
        if linear_bias is not None:
            linear_bias = linear_bias.reshape(math.prod(out_features, start=num_classes))
    logits = F.linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return F.cross_entropy(logits, target, weight=weight, reduction=reduction, ignore_index=ignore_index,
                           label_smoothing=label_smoothing)
