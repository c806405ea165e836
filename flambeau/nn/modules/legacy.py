"""PyTorch's legacy layers: NLLLoss2d (a deprecated alias of NLLLoss) and CrossMapLRN2d (Lua Torch's
cross-channel local response normalization, with its own window and backward formula)."""
import warnings

import numpy as np

from ... import _xp
from ..._tensor import _make
from ...autograd import grad_mode
from ...autograd.function import Function
from ..._ops._util import _type_word
from .loss import NLLLoss
from .module import Module

__all__ = ["NLLLoss2d", "CrossMapLRN2d"]

_NLL2D_DEPRECATED = ("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and see "
                     "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.")


class NLLLoss2d(NLLLoss):
    """NLLLoss under its old name; constructing (or subclassing) it warns, as PyTorch's."""
    __deprecated__ = _NLL2D_DEPRECATED

    def __init_subclass__(cls, **kwargs):
        warnings.warn(_NLL2D_DEPRECATED, FutureWarning, stacklevel=2)
        super().__init_subclass__(**kwargs)

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        warnings.warn(_NLL2D_DEPRECATED, FutureWarning, stacklevel=2)
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


def _lrn_forward_window(channels, size):
    """(C, C) 0/1 matrix: row c marks the channels whose squares PyTorch's CrossMapLRN2d sums for
    channel c. Its running sum adds channel c + pre_pad - 1 at step c but drops channel c - pre_pad
    only from step pre_pad + 1 on, and never drops channel 0: built by the same recurrence."""
    pre_pad = int((size - 1) / 2 + 1)
    window = np.zeros((channels, channels))
    window[0, :min(pre_pad, channels)] = 1
    for c in range(1, channels):
        window[c] = window[c - 1]
        if c < channels - pre_pad + 1:
            window[c, c + pre_pad - 1] += 1
        if c > pre_pad:
            window[c, c - pre_pad] -= 1
    return window


def _lrn_backward_window(channels, size):
    """(C, C) 0/1 matrix of PyTorch's backward: channel c collects the ratios of channels
    c - p .. c - p + size - 1 (p = int(size - (size - 1) / 2)), which is not the transposed forward
    window: the backward is PyTorch's formula, not the forward's derivative."""
    shift = int(size - (size - 1) / 2)
    if shift + channels > channels + size - 1:
        raise RuntimeError(f"start ({shift}) + length ({channels}) exceeds dimension size ({channels + size - 1}).")
    c = np.arange(channels)
    return ((c[None, :] >= c[:, None] - shift) & (c[None, :] <= c[:, None] - shift + size - 1)).astype(np.float64)


def _mix_channels(window, a):
    """window @ a over the channel dim of (N, C, H, W)."""
    n, channels, h, w = a.shape
    return (window @ a.reshape(n, channels, h * w)).reshape(a.shape)


class _CrossMapLRN2d(Function):
    _node_name = "CrossMapLRN2dBackward"

    @staticmethod
    def forward(ctx, input, size, alpha, beta, k):
        a = input._data
        xp = _xp.array_module(a)
        if a.dtype.kind != "f":         # PyTorch scales the squares in place, in the input's dtype
            raise RuntimeError(f"result type Float can't be cast to the desired output type {_type_word(input.dtype)}")
        if a.shape[1] == 0:
            raise IndexError(f"select(): index 0 out of range for tensor of size {list(a.shape)} at dimension 1")
        window = xp.asarray(_lrn_forward_window(a.shape[1], size).astype(a.dtype))
        scale = _mix_channels(window, a * a) * (alpha / size) + k
        out = scale ** -beta * a
        ctx.scale, ctx.size, ctx.alpha, ctx.beta = scale, size, alpha, beta
        ctx.save_for_backward(input)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, grad):
        if grad_mode.is_grad_enabled():
            # PyTorch's backward writes into out= buffers, which autograd refuses to record
            raise RuntimeError("mul(): functions with out=... arguments don't support automatic differentiation, "
                               "but one of the arguments requires grad.")
        (input,) = ctx.saved_tensors
        g, x, scale = grad._data, input._data, ctx.scale
        xp = _xp.array_module(g)
        window = xp.asarray(_lrn_backward_window(x.shape[1], ctx.size).astype(g.dtype))
        ratio = g * ctx.out / scale
        out = scale ** -ctx.beta * g - (2 * ctx.alpha * ctx.beta / ctx.size) * x * _mix_channels(window, ratio)
        return _make(out.astype(g.dtype, copy=False)), None, None, None, None


class CrossMapLRN2d(Module):
    """Local response normalization across channels of (N, C, H, W): x / (k + alpha/size * sum of
    squares over neighbouring channels) ** beta, with PyTorch's legacy window and gradient."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        if input.ndim != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.ndim}D instead.")
        return _CrossMapLRN2d.apply(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
