"""ctc_loss: the connectionist temporal classification loss, as PyTorch's native (non-cuDNN) one.

Each target l (length S) is extended with blanks, l' = (blank, l1, blank, l2, ..., lS, blank), and
log_alpha[t, s] is the log-probability of the paths through l'[:s + 1] over the first t + 1 steps:

    log_alpha[t, s] = log_probs[t, l'[s]] + logsumexp(log_alpha[t - 1, s], log_alpha[t - 1, s - 1],
                                                      log_alpha[t - 1, s - 2] if l'[s] != l'[s - 2])

(Graves et al. 2006, eqs. 6-7); the loss is -logsumexp of the last two entries at the input's last
step. log_beta runs the same recursion backwards, and the gradient is PyTorch's (eq. 16)

    grad[t, c] = exp(log_probs[t, c])
                 - exp(logsumexp_{s: l'[s] = c} (log_alpha + log_beta)[t, s] + nll - log_probs[t, c])

for t below the input length, 0 after it: the gradient for log_probs that come from a log_softmax
(the exp term sums to one over c, which log_softmax's backward cancels). Both recursions run over the
whole batch at once, one array step per time step, on the targets padded to the longest.
"""
import numbers

import numpy as np

from .. import _xp, _dtype
from .._tensor import Tensor, _make
from ..autograd.function import Function
from .._ops import creation as _creation
from .._ops._util import _type_word


def _f():
    import flambeau
    return flambeau


def _logsumexp3(a, b, c, xp):
    """log(exp(a) + exp(b) + exp(c)) elementwise, -inf where all three are (PyTorch's lamax = 0 guard)."""
    m = xp.maximum(xp.maximum(a, b), c)
    m = xp.where(m == -xp.inf, 0, m)
    return xp.log(xp.exp(a - m) + xp.exp(b - m) + xp.exp(c - m)) + m


def _shift(a, k, xp):
    """a moved k places along the last axis, -inf coming in."""
    k = min(k, a.shape[-1])
    pad = xp.full(a.shape[:-1] + (k,), -xp.inf, a.dtype)
    return xp.concatenate((pad, a[..., :-k]), axis=-1)


def _unshift(a, k, xp):
    """a moved k places back along the last axis, -inf coming in."""
    k = min(k, a.shape[-1])
    pad = xp.full(a.shape[:-1] + (k,), -xp.inf, a.dtype)
    return xp.concatenate((a[..., k:], pad), axis=-1)


class _CtcLoss(Function):
    """Per-sample negative log-likelihoods (N,) of log_probs (T, N, C) and padded targets."""
    _node_name = "CtcLossBackward0"

    @staticmethod
    def forward(ctx, log_probs, labels, input_lengths, target_lengths, zero_infinity):
        lp = log_probs._data
        xp = _xp.array_module(lp)
        steps, batch, _ = lp.shape
        width = labels.shape[1]
        # lp_ext[t, n, s] = log_probs[t, n, l'[n, s]]; s past 2 S_n + 1 is no state of sample n
        lp_ext = xp.take_along_axis(lp, xp.broadcast_to(labels[None], (steps, batch, width)), axis=2)
        states = xp.asarray(np.arange(width)[None, :] < 2 * np.asarray(target_lengths)[:, None] + 1)
        lp_ext = xp.where(states[None], lp_ext, -xp.inf)
        skip = xp.zeros((batch, width), bool)
        skip[:, 2:] = labels[:, 2:] != labels[:, :-2]
        running = xp.asarray(np.arange(steps)[:, None] < np.asarray(input_lengths)[None, :])      # (T, N)
        alpha = xp.full((steps, batch, width), -xp.inf, lp.dtype)
        alpha[0, :, :2] = lp_ext[0, :, :2]
        for t in range(1, steps):
            prev = alpha[t - 1]
            step = _logsumexp3(prev, _shift(prev, 1, xp), xp.where(skip, _shift(prev, 2, xp), -xp.inf), xp) + lp_ext[t]
            alpha[t] = xp.where(running[t][:, None], step, prev)
        # the two states that end a full path, at the last step (state 2 S - 1 is none for S = 0)
        ends = 2 * np.asarray(target_lengths)
        last = alpha[-1]
        end_blank = xp.take_along_axis(last, xp.asarray(ends)[:, None], axis=1)[:, 0]
        end_label = xp.take_along_axis(last, xp.asarray(np.maximum(ends - 1, 0))[:, None], axis=1)[:, 0]
        end_label = xp.where(xp.asarray(ends > 0), end_label, -xp.inf)
        nll = -xp.logaddexp(end_blank, end_label)
        # no step: only the empty target has a path (PyTorch's -0 for it)
        nll = xp.where(xp.asarray(np.asarray(input_lengths) > 0), nll,
                       xp.where(xp.asarray(ends == 0), -0.0, xp.inf)).astype(lp.dtype, copy=False)
        ctx.save_for_backward(log_probs)
        ctx.arrays = (labels, lp_ext, skip, running, alpha, nll)
        ctx.input_lengths, ctx.target_lengths, ctx.zero_infinity = input_lengths, target_lengths, zero_infinity
        return nll

    @staticmethod
    def backward(ctx, grad):
        (log_probs,) = ctx.saved_tensors
        labels, lp_ext, skip, running, alpha, nll = ctx.arrays
        lp = log_probs._data
        xp = _xp.array_module(lp)
        steps, batch, classes = lp.shape
        width = labels.shape[1]
        ends = 2 * np.asarray(ctx.target_lengths)
        init = xp.asarray((np.arange(width)[None, :] == ends[:, None])
                          | ((np.arange(width)[None, :] == ends[:, None] - 1) & (ends[:, None] > 0)))
        # skip from s + 2 to s where l'[s + 2] != l'[s]
        skip_back = xp.zeros((batch, width), bool)
        skip_back[:, :-2] = skip[:, 2:]
        beta = xp.full((steps, batch, width), -xp.inf, lp.dtype)
        nxt = xp.full((batch, width), -xp.inf, lp.dtype)
        last_step = xp.asarray(np.asarray(ctx.input_lengths) - 1)
        for t in range(steps - 1, -1, -1):
            step = _logsumexp3(nxt, _unshift(nxt, 1, xp), xp.where(skip_back, _unshift(nxt, 2, xp), -xp.inf), xp)
            step = step + lp_ext[t]
            start = xp.where(init, lp_ext[t], -xp.inf)
            nxt = xp.where((last_step == t)[:, None], start, xp.where((last_step > t)[:, None], step, -xp.inf))
            beta[t] = nxt
        log_ab = alpha + beta
        # logsumexp over the states of each label: scaled sums through a one-hot (N, width, C) matrix
        top = log_ab.max(axis=2, keepdims=True)
        top = xp.where(top == -xp.inf, 0, top)
        one_hot = (labels[:, :, None] == xp.arange(classes)[None, None, :]).astype(lp.dtype)
        sums = xp.einsum("tns,nsc->tnc", xp.exp(log_ab - top), one_hot)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = xp.exp(lp) - sums * xp.exp(top + nll[None, :, None] - lp)
        g = xp.where(running[:, :, None], g, 0)
        if ctx.zero_infinity:
            g = xp.where((nll == xp.inf)[None, :, None], 0, g)
        return _make(g.astype(lp.dtype, copy=False)) * grad.reshape(1, batch, 1), None, None, None, None


def _lengths(name, lengths):
    """Host list of ints from a tensor (read by the host, as PyTorch does) or a sequence of ints."""
    if isinstance(lengths, Tensor):
        if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype is _dtype.bool:
            raise RuntimeError(f"{name} must be integral")
        return [int(v) for v in _xp.to_host(lengths._data).reshape(-1).tolist()]
    return [v.__index__() if not isinstance(v, Tensor) else int(v.item()) for v in lengths]


def _check_length_types(input_lengths, target_lengths):
    def kind(x):
        if isinstance(x, Tensor):
            return "Tensor"
        if isinstance(x, (tuple, list)) and all(isinstance(v, (numbers.Integral, Tensor)) and not isinstance(v, bool)
                                                for v in x):
            return "tuple"
        return None
    kinds = (kind(input_lengths), kind(target_lengths))
    if kinds not in (("Tensor", "Tensor"), ("tuple", "tuple")):
        raise TypeError(f"ctc_loss(): input_lengths and target_lengths must be both Tensors or both tuples of ints, "
                        f"got {type(input_lengths).__name__} and {type(target_lengths).__name__}")


def _labels(targets, target_lengths, batch, blank, classes, xp):
    """Extended labels l' (N, 2 S_max + 1) from padded (N, S) or concatenated targets, after PyTorch's checks."""
    where = "(while checking arguments for ctc_loss_allocate_outputs)"
    if targets.ndim not in (1, 2):
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {targets.ndim}-dimensional tensor for argument #2 "
                           f"'targets' {where}")
    for n in target_lengths:
        if n < 0:
            raise RuntimeError(f"Expected target_lengths to have value at least 0, but got value {n} {where}")
    longest = max(target_lengths, default=0)
    lengths = np.asarray(target_lengths, dtype=np.int64)
    data = targets._data
    if targets.ndim == 1:
        total = int(lengths.sum())
        if targets.shape[0] != total:
            raise RuntimeError(f"Expected tensor to have size {total} at dimension 0, but got size {targets.shape[0]} "
                               f"for argument #2 'targets' {where}")
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        at = np.minimum(starts[:, None] + np.arange(longest)[None, :], max(total - 1, 0))
        padded = data[xp.asarray(at)] if total else xp.zeros((batch, longest), data.dtype)
    else:
        if targets.shape[0] != batch:
            raise RuntimeError(f"Expected tensor to have size {batch} at dimension 0, but got size "
                               f"{targets.shape[0]} for argument #2 'targets' {where}")
        if targets.shape[1] < longest:
            raise RuntimeError(f"Expected tensor to have size at least {longest} at dimension 1, but got size "
                               f"{targets.shape[1]} for argument #2 'targets' {where}")
        padded = data[:, :longest]
    padded = padded.astype(np.int64)
    inside = xp.asarray(np.arange(longest)[None, :] < lengths[:, None])
    padded = xp.where(inside, padded, blank)
    if padded.size:
        # a read by the host: CuPy would wrap a label out of range around silently
        lo, hi = xp.stack((padded.min(), padded.max())).tolist()
        if lo < 0 or hi >= classes:
            raise RuntimeError(f"ctc_loss(): target labels must be in [0, {classes}), but got {lo if lo < 0 else hi}")
    labels = xp.full((batch, 2 * longest + 1), blank, np.int64)
    labels[:, 1::2] = padded
    return labels


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """The CTC loss of log_probs (T, N, C) (or (T, C) unbatched; log_softmax outputs) for targets (N, S)
    padded or concatenated into one dimension (sum(target_lengths)); input_lengths and target_lengths
    are tensors or tuples of ints. 'mean' divides each loss by its target length, then averages;
    zero_infinity turns infinite losses (no path fits) and their gradients into zeros."""
    from .functional import _check_reduction         # (functional imports this module)
    reduction = _check_reduction(reduction)
    for name, t in (("log_probs", log_probs), ("targets", targets)):
        if not isinstance(t, Tensor):
            raise TypeError(f"ctc_loss(): argument '{name}' must be Tensor, not {type(t).__name__}")
    _check_length_types(input_lengths, target_lengths)
    lengths_in = _lengths("input_lengths", input_lengths)
    lengths_target = _lengths("target_lengths", target_lengths)
    if log_probs.dtype not in (_dtype.float32, _dtype.float64):
        raise NotImplementedError(f"\"ctc_loss_cpu\" not implemented for '{_type_word(log_probs.dtype)}'")
    if log_probs.numel() == 0:
        raise RuntimeError("log_probs tensor must not be empty")
    batched = log_probs.ndim == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    where = "(while checking arguments for ctc_loss_allocate_outputs)"
    if lp.ndim != 3:
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {lp.ndim}-dimensional tensor for argument #1 "
                           f"'log_probs' {where}")
    steps, batch, classes = lp.shape
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    if len(lengths_in) != batch:
        raise RuntimeError("input_lengths must be of size batch_size")
    if len(lengths_target) != batch:
        raise RuntimeError("target_lengths must be of size batch_size")
    # the targets go where log_probs are, as in PyTorch
    targets = targets.to(lp.device)
    xp = _xp.array_module(lp._data)
    labels = _labels(targets, lengths_target, batch, blank, classes, xp)
    for n in lengths_in:
        if n < 0:
            raise RuntimeError(f"Expected input_lengths to have value at least 0, but got value {n} {where}")
        if n > steps:
            raise RuntimeError(f"Expected input_lengths to have value at most {steps}, but got value {n} {where}")
    res = _CtcLoss.apply(lp, labels, lengths_in, lengths_target, zero_infinity)
    if zero_infinity:
        res = _f().where(res == float("inf"), _creation.zeros((), dtype=res.dtype, device=res.device), res)
    if reduction == "mean":
        divisors = _creation.tensor(lengths_target, dtype=res.dtype, device=res.device).clamp(min=1)
        return (res / divisors).mean()
    if reduction == "sum":
        return res.sum()
    return res if batched else res.squeeze(0)
