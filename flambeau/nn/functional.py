"""nn.functional: the stateless side of the layers (activations, losses, normalization...).

Many functions compose flambeau ops, so their gradients (and second gradients) come from
the ops' own backward rules. The common ones are single Functions recorded under PyTorch's
node names (gelu -> GeluBackward0, layer_norm -> NativeLayerNormBackward0...): one node and
few array operations per call; their backward formulas are written with flambeau ops, so they
differentiate again. ``cross_entropy`` is one log-softmax + NLL pass (backward ``softmax - target``).
Convolutions and pooling live in ``flambeau._ops.conv`` / ``flambeau._ops.pooling`` and are
re-exported here.
"""
import math
import numbers
import warnings

import numpy as np

from .. import _xp, _dtype
from .._tensor import Tensor, _make, _wrap_dim
from ..autograd import grad_mode
from ..autograd.function import Function
from ..cuda import _kernels as _cuda_kernels
from .._ops import creation as _creation
from .._ops import reduction as _reduction
from .._ops._util import check_same_device, index_range, broadcast_shapes, result_dtype, operand, _type_word, scalar_as
from .._ops._util import recording, write_inplace, apply_inplace, check_inplace_autograd
from .._ops.pointwise import _not_implemented, _erf, _sigmoid, piecewise_grad, threshold_grad, select
from .._ops._util import caller_level    # a loss may be reached through autocast's wrapper

from .._ops.conv import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d,  # noqa: F401
                         unfold, fold)
from .._ops.pooling import (max_pool1d, max_pool2d, max_pool3d, max_unpool1d, max_unpool2d,  # noqa: F401
                            max_unpool3d, avg_pool1d, avg_pool2d, avg_pool3d, lp_pool1d, lp_pool2d, lp_pool3d,
                            adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool1d,
                            adaptive_max_pool2d, adaptive_max_pool3d, max_pool1d_with_indices,
                            max_pool2d_with_indices, max_pool3d_with_indices, adaptive_max_pool1d_with_indices,
                            adaptive_max_pool2d_with_indices, adaptive_max_pool3d_with_indices)
from ._grid_sample import grid_sample, affine_grid  # noqa: F401
from ._attention import scaled_dot_product_attention, multi_head_attention_forward  # noqa: F401
from ._embedding_bag import embedding_bag  # noqa: F401
from ._ctc_loss import ctc_loss  # noqa: F401
from ._fractional import (fractional_max_pool2d, fractional_max_pool3d, fractional_max_pool2d_with_indices,  # noqa: F401
                          fractional_max_pool3d_with_indices)
from ._extra import (channel_shuffle, native_channel_shuffle, multilabel_margin_loss,  # noqa: F401
                     triplet_margin_with_distance_loss)
from ._linear_cross_entropy import linear_cross_entropy  # noqa: F401



def _f():
    import flambeau
    return flambeau


def _check_tensor(name, x, what="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{what}' must be Tensor, not {type(x).__name__}")


# -- reduction helpers -------------------------------------------------------------------------
def _legacy_reduction(size_average, reduce, reduction="mean"):
    """PyTorch's mapping of the deprecated size_average/reduce flags to a reduction string (which
    then wins over `reduction`), with its deprecation warning."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    legacy = "none" if not reduce else "mean" if size_average else "sum"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{legacy}' instead.",
                  UserWarning, stacklevel=caller_level())
    return legacy


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_reduction(reduction):
    """The reduction's name, 'elementwise_mean' (PyTorch's old spelling, still accepted by the losses
    its C++ kernels reduce) read as 'mean' with a deprecation warning."""
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
                      UserWarning, stacklevel=caller_level())
        return "mean"
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _warn_size(name, input, target):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. Please ensure they have "
                      "the same size.", UserWarning, stacklevel=caller_level())


def _source(input, inplace):
    """What an in-place op computes from: a clone when autograd records, so that the values
    its backward saves are not the ones overwritten."""
    if inplace and (recording(input) or (input._base is not None and recording(input._base))):
        return input.clone()
    return input


def _inplace(input, result):
    """Write result into input (autograd-aware) and return input."""
    if recording(input) or (input._base is not None and recording(input._base)):
        return input.copy_(result)
    write_inplace(input, result._data, "activation")
    return input


# -- linear ------------------------------------------------------------------------------------
def linear(input, weight, bias=None):
    """y = input @ weight.T + bias.  input (*, in_features), weight (out_features, in_features)."""
    if input.ndim == 0 or weight.ndim not in (1, 2):
        raise RuntimeError(f"linear(): expected input with at least 1 dimension and a 1-D or 2-D weight, got "
                           f"input shape {tuple(input.shape)}, weight shape {tuple(weight.shape)}")
    if input.shape[-1] != weight.shape[-1]:
        rows = input.numel() // max(input.shape[-1], 1) if input.ndim > 1 else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and "
                           f"{weight.shape[-1]}x{weight.shape[0] if weight.ndim == 2 else 1}): linear() input has "
                           f"{input.shape[-1]} features per sample (input shape {tuple(input.shape)}), weight expects "
                           f"{weight.shape[-1]} (weight shape {tuple(weight.shape)})")
    check_same_device("linear", input, weight, bias)
    # PyTorch's paths, whose bias rules differ: a 2-D input, or a contiguous one with a (squeezed) 1-D
    # contiguous bias, goes through addmm on the input's rows (the bias expands to them, a 1-D weight is
    # refused); else the bias is added in place to the product (it must broadcast to the product's shape).
    if bias is not None and (input.ndim == 2 or (input.is_contiguous() and bias.is_contiguous()
                                                 and 1 in (bias.ndim, bias.squeeze().ndim))):
        if weight.ndim == 1:
            raise RuntimeError("mat2 must be a matrix, got 1-D tensor")
        if input.ndim == 2:
            return _f().addmm(bias, input, weight.t())
        lead = tuple(input.shape[:-1])
        rows = input.reshape(int(np.prod(lead)), input.shape[-1])
        return _f().addmm(bias, rows, weight.t()).view(lead + (weight.shape[0],))
    out = input.matmul(weight.t()) if weight.ndim == 2 else input.matmul(weight)
    if bias is not None:
        total = out + bias
        if total.shape != out.shape:
            raise RuntimeError(f"output with shape {list(out.shape)} doesn't match the broadcast shape "
                               f"{list(total.shape)}")
        out = total
    return out


def bilinear(input1, input2, weight, bias=None):
    """y_k = x1^T W_k x2 + b_k.  input1 (*, in1), input2 (*, in2), weight (out, in1, in2)."""
    named = [("input1", input1), ("input2", input2), ("weight", weight)] + ([("bias", bias)] if bias is not None else [])
    if len({t.dtype for _, t in named}) > 1:       # PyTorch checks the dtypes before any shape
        raise RuntimeError("All tensors must have the same dtype, got " +
                           ", ".join(f"{n}: {_dtype._C_NAME.get(t.dtype.name, t.dtype.name)}" for n, t in named))
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input1 and input2 must have the same batch shape, got "
                           f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    if weight.ndim != 3 or weight.shape[1] != input1.shape[-1] or weight.shape[2] != input2.shape[-1]:
        raise RuntimeError(f"bilinear(): weight of shape {tuple(weight.shape)} does not match input1 features "
                           f"{input1.shape[-1]} and input2 features {input2.shape[-1]}")
    if bias is not None:            # (PyTorch checks the first dimension only; the sum broadcasts)
        if bias.ndim == 0:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        if bias.shape[0] != weight.shape[0]:
            raise RuntimeError(f"bilinear(): bias size does not match weight size: got {bias.shape[0]} but expected "
                               f"{weight.shape[0]}")
    lead = input1.shape[:-1]
    x1 = input1.reshape(-1, input1.shape[-1])
    x2 = input2.reshape(-1, input2.shape[-1])
    out = _f().einsum("bi,oij,bj->bo", x1, weight, x2).reshape(*lead, weight.shape[0])
    return out if bias is None else out + bias


# -- activations -------------------------------------------------------------------------------
def relu(input, inplace=False):
    """max(0, x)."""
    if inplace:
        return input.relu_()
    return input.relu()


def relu_(input):
    return input.relu_()


class _Threshold(Function):
    """value where x <= threshold, else x (a NaN stays). The numbers are taken in x's dtype, as PyTorch
    does (an integer threshold truncates), but half compares in float32 (PyTorch's opmath type)."""
    _node_name = "ThresholdBackward0"

    @staticmethod
    def forward(ctx, x, threshold, value):
        a = x._data
        if a.dtype.kind in "bc":
            _not_implemented("threshold_cpu", x.dtype)
        th, v = (scalar_as(_dtype.fill_value(n, x.dtype), x.dtype) for n in (threshold, value))
        if a.dtype == np.float16:
            th = np.float32(threshold)
        ctx.save_for_backward(x)
        ctx.threshold = th
        return _xp.array_module(a).where(a <= th, v, a)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return threshold_grad(grad, x, ctx.threshold), None, None


def threshold(input, threshold, value, inplace=False):
    """value where x <= threshold, else x."""
    cls = _Threshold.named("ThresholdBackward1") if inplace else _Threshold
    return _activate(cls, input, inplace, threshold, value)


def threshold_(input, threshold, value):
    return globals()["threshold"](input, threshold, value, True)


# Note [Half precision statistics]
# A mean of squares, a variance or a norm of float16 values overflows float16 (its largest value is
# 65504) long before the result does: PyTorch's CPU kernels accumulate half precision in float32 and
# round the result once. The normalizations here do the same, by running on float32 copies
# (_float_data for the kernels, input.float() for the compositions); so do var, std and the norms.
def _as_float(t):
    return None if t is None else t.float()


def _float_data(x, kernel):
    """x's array for a kernel PyTorch has for floating dtypes only; half precision computes in
    float32, as PyTorch's CPU kernels do (the caller casts the result back)."""
    a = x._data
    if a.dtype.kind != "f":
        _not_implemented(kernel, x.dtype)
    return a.astype(np.float32) if a.dtype == np.float16 else a


def _activate(cls, input, inplace, *args):
    """cls applied to input, or written into it (recorded as cls's node, as PyTorch's in-place
    activations are)."""
    if inplace:
        return apply_inplace(input, cls, *args)
    return cls.apply(input, *args)


class _Hardtanh(Function):
    """clamp(x, lo, hi); the gradient passes strictly inside (lo, hi), as PyTorch's does."""
    _node_name = "HardtanhBackward0"

    @staticmethod
    def forward(ctx, x, lo, hi):
        a = x._data
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return _xp.array_module(a).clip(a, lo, hi).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        # PyTorch's formula: 0 where x <= lo or x >= hi, so a NaN passes the gradient (as on CUDA; PyTorch's
        # CPU vector loop, over blocks of 8 elements, gives 0 there)
        (x,) = ctx.saved_tensors
        a = x._data
        return piecewise_grad("HardtanhBackwardBackward0", grad, x, (a <= ctx.lo) | (a >= ctx.hi)), None, None


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(x, min_val, max_val)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    _check_hardtanh(input, min_val, max_val)
    return _activate(_Hardtanh, input, inplace, min_val, max_val)


def _check_hardtanh(input, min_val, max_val):
    if input.dtype is _dtype.bool:
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if input.dtype.is_complex:
        raise NotImplementedError("clamp is not supported for complex types")
    if input.dtype is _dtype.uint8 and (min_val < 0 or max_val < 0):
        raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    # PyTorch's hardtanh_ calls the kernel directly: no min_val <= max_val check
    _check_hardtanh(input, min_val, max_val)
    return _activate(_Hardtanh, input, True, min_val, max_val)


def relu6(input, inplace=False):
    """min(max(0, x), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


class _LeakyRelu(Function):
    """x if x > 0 else slope * x."""
    _node_name = "LeakyReluBackward0"

    @staticmethod
    def forward(ctx, x, slope, in_place=False):
        a = x._data
        if a.dtype.kind != "f":
            _not_implemented("leaky_relu_cpu", x.dtype)
        ctx.save_for_backward(x)
        ctx.slope, ctx.in_place = slope, in_place
        return _xp.array_module(a).where(a > 0, a, a * slope)

    @staticmethod
    def backward(ctx, grad):
        if ctx.in_place and ctx.slope < 0:      # PyTorch's backward reads the result, which hides x's sign
            raise RuntimeError("In-place leakyReLu backward calculation is triggered with a negative slope which is "
                               "not supported. This is caused by calling in-place forward function with a negative "
                               "slope, please call out-of-place version instead. File an issue at "
                               "https://github.com/pytorch/pytorch if you do require supporting in-place leakRelu "
                               "backward calculation with negative slope")
        (x,) = ctx.saved_tensors
        return piecewise_grad("LeakyReluBackwardBackward0", grad, x, ~(x._data > 0), ctx.slope), None, None


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x."""
    if inplace:
        return _activate(_LeakyRelu.named("LeakyReluBackward1"), input, True, negative_slope, True)
    return _LeakyRelu.apply(input, negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, True)


def prelu(input, weight):
    """x if x > 0 else a * x, with one a per channel (dim 1) or one shared a."""
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}")
    if not input.is_floating_point():
        _not_implemented("prelu_cpu", input.dtype)
    check_same_device("prelu", input, weight)
    if weight.numel() == 1:
        weight = weight.reshape(())             # the input's shape, even 0-dim
    else:
        if input.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.ndim >= 2 else 1        # a 1-D input is one channel
        if weight.numel() != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{weight.numel()} and channel size = {channels}.")
        weight = weight.reshape((channels,) + (1,) * (input.ndim - 2))
    return _PRelu.apply(input, weight)


class _PRelu(Function):
    """x where x > 0, else a x (a broadcast against x)."""
    _node_name = "PreluKernelBackward0"

    @staticmethod
    def forward(ctx, x, a):
        xp = _xp.array_module(x._data)
        ctx.save_for_backward(x, a)
        return xp.where(x._data > 0, x._data, a._data * x._data).astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):                    # d/dx: 1 or a; d/da: 0 or x (the engine sums a's share)
        x, a = ctx.saved_tensors
        positive = x > 0
        grad_x = _f().where(positive, grad, a * grad) if ctx.needs_input_grad[0] else None
        grad_a = _f().where(positive, 0.0, x * grad) if ctx.needs_input_grad[1] else None
        return grad_x, grad_a


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """x if x >= 0 else a * x, a ~ U(lower, upper) in training, (lower + upper) / 2 otherwise."""
    if not training:        # PyTorch: leaky_relu with the mean slope
        return leaky_relu(input, (lower + upper) / 2, inplace)
    if not input.is_floating_point():
        _not_implemented("rrelu_with_noise_out_cpu", input.dtype)
    target, input = input, _source(input, inplace)
    a = _rrelu_slopes(input, lower, upper)
    out = _f().where(input > 0, input, input * a)       # x <= 0 takes the slope, as PyTorch's noise
    return _inplace(target, out) if inplace else out


def _rrelu_slopes(input, lower, upper):
    """The slopes of rrelu in training. On the CPU, torch's: one 53-bit uniform in [lower, upper) per element
    x <= 0, drawn in the order of the elements (row-major, as torch reads a contiguous copy), rounded to the
    input's dtype."""
    g = _creation._source(None, input.device)
    if not _creation._on_cpu(g):
        return _creation.empty(input.shape, dtype=input.dtype, device=input.device).uniform_(lower, upper)
    x = input.detach()._data
    take = x <= 0                       # (NaN takes no draw, and keeps slope 1, as torch's)
    slopes = np.ones(x.shape, dtype=np.float64)
    # torch holds the bounds in the op's math type (float for float and half) before its double draw
    lo, hi = (float(np.float32(lower)), float(np.float32(upper))) if x.dtype.itemsize < 8 else (lower, upper)
    slopes[take] = g.uniform_double(int(take.sum())) * (hi - lo) + lo
    return _creation.tensor(slopes.astype(x.dtype), device=input.device)


class _Elu(Function):
    """scale * x if x > 0 else alpha * scale * (exp(input_scale * x) - 1): elu, selu (scaled) and
    celu (input_scale = 1 / alpha) are this one kernel in PyTorch."""
    _node_name = "EluBackward0"

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale):
        a = _float_data(x, "elu_cpu")
        xp = _xp.array_module(a)
        neg = xp.minimum(a, 0)
        if input_scale != 1:
            neg *= input_scale
        neg = xp.expm1(neg)
        neg *= alpha * scale
        out = select(a > 0, a * scale if scale != 1 else a, neg)
        ctx.save_for_backward(x)
        ctx.params = alpha, scale, input_scale
        return out.astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):                    # scale for x > 0, alpha scale input_scale exp(input_scale x) else
        (x,) = ctx.saved_tensors
        alpha, scale, input_scale = ctx.params
        neg = x.clamp(max=0)                    # exp of non-positive numbers only: no inf to differentiate
        neg = (neg * input_scale if input_scale != 1 else neg).exp() * (alpha * scale * input_scale)
        return grad * _f().where(x <= 0, neg, scale), None, None, None        # NaN takes scale, as PyTorch


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return _activate(_Elu.named("EluBackward1") if inplace else _Elu, input, inplace, alpha, 1.0, 1.0)


def elu_(input, alpha=1.0):
    return elu(input, alpha, True)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def selu_(input):
    return selu(input, inplace=True)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """scale * (x if x > 0 else alpha * (exp(x) - 1)), alpha = 1.6733, scale = 1.0507."""
    return _activate(_Elu.named("EluBackward1") if inplace else _Elu, input, inplace, _SELU_ALPHA, _SELU_SCALE,
                     1.0)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _activate(_Elu.named("CeluBackward1" if inplace else "CeluBackward0"), input, inplace, alpha, 1.0,
                     1.0 / alpha)


_SQRT1_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_TANH_K = math.sqrt(2 / math.pi)
_TANH_C = 0.044715


def _forward_value(ctx, array, recompute):
    """An intermediate of the forward, for a backward: the forward's array, or, when the backward
    is itself recorded (double backward), recompute() from the inputs with flambeau ops so that
    its dependence on them is differentiated too."""
    return recompute() if grad_mode.is_grad_enabled() else _make(array)


def _gelu_tanh(x):
    return (x * (x * x * _TANH_C + 1) * _TANH_K).tanh()


class _Gelu(Function):
    """x Phi(x); approximate='tanh': 0.5 x (1 + tanh(k (x + c x^3))), k = sqrt(2/pi), c = 0.044715.
    The forward keeps Phi(x) (or the tanh) for the backward: erf is the costly part on the CPU."""
    _node_name = "GeluBackward0"

    @staticmethod
    def forward(ctx, x, approximate):
        a = _float_data(x, "GeluKernelImpl")
        xp = _xp.array_module(a)
        if approximate == "tanh":
            inner = a * a
            inner *= _TANH_C
            inner += 1
            inner *= a
            inner *= _TANH_K
            ctx.kept = xp.tanh(inner)
            y = ctx.kept + 1
            y *= 0.5
        else:
            y = _erf(xp, a * _SQRT1_2)
            y += 1
            y *= 0.5
            ctx.kept = y
        y = y * a
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return y.astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":           # 0.5 (1 + t) + 0.5 k x (1 - t^2) (1 + 3 c x^2)
            t = _forward_value(ctx, ctx.kept, lambda: _gelu_tanh(x))
            d = (t + 1) * 0.5 + (x * (0.5 * _TANH_K)) * (1 - t * t) * (x * x * (3 * _TANH_C) + 1)
        else:                                   # Phi(x) + x phi(x)
            cdf = _forward_value(ctx, ctx.kept, lambda: (x * _SQRT1_2).erf() * 0.5 + 0.5)
            d = cdf + x * (x * x * -0.5).exp() * _INV_SQRT_2PI
        return grad * d, None


def gelu(input, approximate="none"):
    """x * Phi(x); approximate='tanh': 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh., got {approximate!r}")
    return _Gelu.apply(input, approximate)


class _Silu(Function):
    """x * sigmoid(x)."""
    _node_name = "SiluBackward0"

    @staticmethod
    def forward(ctx, x):
        a = _float_data(x, "silu_cpu")
        ctx.sigmoid = _sigmoid(_xp.array_module(a), a)
        ctx.save_for_backward(x)
        return (ctx.sigmoid * a).astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):                    # s (1 + x (1 - s)), s = sigmoid(x)
        (x,) = ctx.saved_tensors
        s = _forward_value(ctx, ctx.sigmoid, x.sigmoid)
        return grad * (s * (x * (1 - s) + 1))


def silu(input, inplace=False):
    """x * sigmoid(x)."""
    if input.is_complex():          # computed, as PyTorch, but never differentiated
        if recording(input):
            raise RuntimeError("silu does not support automatic differentiation for outputs with complex dtype.")
        out = input / (1 + (-input).exp())
        return input.copy_(out) if inplace else out
    return _activate(_Silu, input, inplace)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    target, input = input, _source(input, inplace)
    out = _Mish.apply(input)
    return _inplace(target, out) if inplace else out


class _Mish(Function):
    """x tanh(softplus(x))."""
    _node_name = "MishBackward0"

    @staticmethod
    def forward(ctx, x):
        a = _float_data(x, "mish_cpu")
        xp = _xp.array_module(a)
        soft = xp.where(a > 20, a, xp.log1p(xp.exp(xp.minimum(a, 20))))    # softplus, as F.softplus computes it
        ctx.save_for_backward(x)
        return (a * xp.tanh(soft)).astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):                    # tanh(sp) + x (1 - tanh(sp)^2) sigmoid(x)
        (x,) = ctx.saved_tensors
        t = softplus(x).tanh()
        return grad * (t + x * (1 - t * t) * x.sigmoid())


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


class _Softplus(Function):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold."""
    _node_name = "SoftplusBackward0"

    @staticmethod
    def forward(ctx, x, beta, threshold):
        a = _float_data(x, "softplus_cpu")
        xp = _xp.array_module(a)
        bx = a * beta if beta != 1 else a
        soft = xp.log1p(xp.exp(xp.minimum(bx, threshold)))     # no overflow where x itself is taken
        if beta != 1:
            soft /= beta
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        return select(bx > threshold, a, soft).astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):                    # sigmoid(beta x), 1 past the threshold
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta if ctx.beta != 1 else x
        return _f().where(bx > ctx.threshold, grad, grad * bx.sigmoid()), None, None


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold."""
    return _Softplus.apply(input, beta, threshold)


def softsign(input):
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


class _LogSigmoid(Function):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))."""
    _node_name = "LogSigmoidBackward0"

    @staticmethod
    def forward(ctx, x):
        a = _float_data(x, "log_sigmoid_cpu")
        xp = _xp.array_module(a)
        ctx.save_for_backward(x)
        return (xp.minimum(a, 0) - xp.log1p(xp.exp(-xp.abs(a)))).astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):                    # sigmoid(-x) (1/2 at 0, where min(x, 0) has a kink)
        (x,) = ctx.saved_tensors
        return grad * (-x).sigmoid()


def logsigmoid(input):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))."""
    return _LogSigmoid.apply(input)


class _Shrink(Function):
    """0 on [-lambd, lambd], else x (hard) or x shrunk towards 0 by lambd (soft); NaN passes."""
    _node_name = "HardshrinkBackward0"

    @staticmethod
    def forward(ctx, x, lambd, soft):
        a = _float_data(x, "softshrink_check" if soft else "hardshrink_cpu")
        xp = _xp.array_module(a)
        # hardshrink compares in x's dtype, softshrink in float32 for half (as PyTorch's kernels)
        b = a if soft else x._data
        inside = (b >= -lambd) & (b <= lambd)
        out = xp.where(a > 0, a - lambd, a + lambd) if soft else a
        ctx.save_for_backward(x)
        ctx.lambd = lambd
        # PyTorch's softshrink gives x * 0 inside (-0.0 below zero), hardshrink 0
        return xp.where(inside, a * 0 if soft else 0, out).astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):        # 0 on [-lambd, lambd]: a NaN passes the gradient, as in _Hardtanh
        (x,) = ctx.saved_tensors
        a, node = x._data, type(ctx).__name__.replace("Backward0", "BackwardBackward0")
        return piecewise_grad(node, grad, x, (a >= -ctx.lambd) & (a <= ctx.lambd)), None, None


def softshrink(input, lambd=0.5):
    """x - lambd if x > lambd, x + lambd if x < -lambd, else 0."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return _Shrink.named("SoftshrinkBackward0").apply(input, lambd, True)


def hardshrink(input, lambd=0.5):
    """x if |x| > lambd else 0."""
    return _Shrink.apply(input, lambd, False)


def tanhshrink(input):
    """x - tanh(x)."""
    return input - input.tanh()


class _Hardsigmoid(Function):
    """h(x) = clamp(x / 6 + 1/2, 0, 1), or x h(x) (hardswish), with PyTorch's gradients at the kinks:
    hardsigmoid's 1/6 strictly inside (-3, 3); hardswish's x / 3 + 1/2 inside, 0 from -3 down, 1 from 3 up."""
    _node_name = "HardsigmoidBackward0"

    @staticmethod
    def forward(ctx, x, swish):
        a = _float_data(x, "hardswish_cpu" if swish else "hardsigmoid_cpu")
        h = _xp.array_module(a).clip(a / 6 + 0.5, 0, 1)
        ctx.save_for_backward(x)
        ctx.swish = swish
        return (a * h if swish else h).astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):                    # flambeau ops: hardswish's second derivative is 1/3 inside
        (x,) = ctx.saved_tensors
        if ctx.swish:
            return _f().where(x <= -3, 0.0, _f().where(x < 3, grad * (x / 3 + 0.5), grad)), None
        return _f().where((x > -3) & (x < 3), grad / 6, 0.0), None


def hardsigmoid(input, inplace=False):
    """clamp(x / 6 + 1/2, 0, 1)."""
    return _activate(_Hardsigmoid, input, inplace, False)


def hardswish(input, inplace=False):
    """x * clamp(x / 6 + 1/2, 0, 1)."""
    return _activate(_Hardsigmoid.named("HardswishBackward0"), input, inplace, True)


# Note [Elementwise results keep their operands' layout]: Function.apply lays these ops' results out
for _cls in (_Threshold, _LeakyRelu, _Elu, _Gelu, _Silu, _Softplus, _LogSigmoid, _Shrink, _Hardsigmoid):
    _cls._result_layout = "operands"
_Hardtanh._result_layout = "like"           # PyTorch writes hardtanh into empty_like(input)


def glu(input, dim=-1):
    """a * sigmoid(b) where a, b are the halves of input along dim."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = _wrap_dim(dim, input.ndim)
    if input.shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {input.shape[d]}")
    if not input.is_floating_point():
        _not_implemented("glu_cpu", input.dtype)
    return _Glu.apply(input, d)


class _Glu(Function):
    """a sigmoid(b), a and b the halves of x along dim."""
    _node_name = "GluBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        xp = _xp.array_module(x._data)
        a, b = xp.split(x._data, 2, axis=dim)
        ctx.save_for_backward(x)
        ctx.dim = dim
        return (a * _sigmoid(xp, b)).astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):                    # d/da = s, d/db = a s (1 - s), s = sigmoid(b)
        (x,) = ctx.saved_tensors
        a, b = x.chunk(2, ctx.dim)
        s = b.sigmoid()
        return _f().cat([grad * s, grad * a * s * (1 - s)], ctx.dim), None


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _reduction.softmax(input, dim, _stacklevel, dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _reduction.log_softmax(input, dim, _stacklevel, dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x), negated before the cast to dtype, as PyTorch's."""
    dim = _reduction._softmax_dim(input, dim, "softmin")      # an implicit dim's warning names softmin
    return _reduction.softmax(-input, dim, _stacklevel, dtype)


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + g) / tau) with g ~ Gumbel(0, 1); hard=True returns one-hot values with
    the soft gradient (straight-through)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", UserWarning, stacklevel=2)
    gumbels = -_creation.empty(logits.shape, dtype=logits.dtype, device=logits.device).exponential_().log()
    y = _reduction.softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y
    index = y.max(dim, keepdim=True)[1]
    y_hard = _creation.zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y.detach() + y


# -- dropout -----------------------------------------------------------------------------------
def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _check_bool_argument(op, name, position, value):
    """PyTorch's argument parser: a flag is a bool, not None, 0/1 or a tensor."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}(): argument '{name}' (position {position}) must be bool, not {type(value).__name__}")


def _check_float_argument(op, name, position, value):
    """PyTorch's argument parser: a float argument takes any real number, not None."""
    if not isinstance(value, (numbers.Real, Tensor)):
        raise TypeError(f"{op}(): argument '{name}' (position {position}) must be float, not {type(value).__name__}")


def _dropout(input, p, training, inplace, noise_shape=None, alpha=False, op="dropout"):
    """PyTorch's dropout: the input itself when not training, with p == 0 or when empty; zeros for
    p == 1; else the input times a Bernoulli(1 - p) noise drawn from flambeau's generator in the
    shape noise_shape(input) (broadcast over the input), scaled by 1 / (1 - p), or for alpha dropout the dropped
    values set to SELU's saturation -alpha and an affine map a x + b keeping mean and variance."""
    _check_p(p)
    _check_bool_argument(op, "train", 3, training)
    if p == 0.0 or not training or input.numel() == 0:
        return input
    # as PyTorch: in place, the input is multiplied by the noise with mul_ (grad_fn MulBackward0, or
    # AddBackward0 after alpha dropout's add_), not overwritten by a copy
    multiply = (lambda t, noise: t.mul_(noise)) if inplace else (lambda t, noise: t * noise)
    if p == 1.0:
        return multiply(input, 0)
    if not (input.is_floating_point() or input.is_complex()):
        # PyTorch's noise, made like the input, fails its in-place division by 1 - p; alpha dropout's
        # (keep - 1) of a bool noise is already Long
        word = "Long" if alpha and input.dtype is _dtype.bool else _type_word(input.dtype)
        raise RuntimeError(f"result type Float can't be cast to the desired output type {word}")
    if input.device.type == "cpu":
        # torch's CPU dropout: keep = bernoulli_(1 - p) drawn into empty_like(input) (laid out as input, so
        # the draws follow its memory order) or into the (N, C, 1, ...) feature noise
        if noise_shape is None:
            keep = _creation.empty_like(input)
        else:
            keep = _creation.empty(noise_shape(input), dtype=input.dtype, device=input.device)
        keep.bernoulli_(1.0 - p)
        if alpha:
            return _alpha_dropout_of(input, keep, p, multiply)
        # noise.div_(1 - p): in float math for half, as torch's kernels compute
        data = keep._data
        opmath = np.float32 if data.dtype == np.float16 else data.dtype.type
        return multiply(input, _make((data.astype(opmath) / opmath(1.0 - p)).astype(data.dtype, copy=False)))
    shape = input.shape if noise_shape is None else noise_shape(input)
    noise = _creation.rand(shape, dtype=input.dtype, device=input.device)
    if alpha:
        return _alpha_dropout_of(input, (noise >= p).to(input.dtype), p, multiply)
    if not inplace and noise_shape is None and _cuda_kernels.usable(input._data, noise._data):
        return _Dropout.apply(input, noise._data, p)          # one launch after the noise, not four
    return multiply(input, (noise >= p).to(input.dtype) * (1.0 / (1.0 - p)))


def _alpha_dropout_of(input, keep, p, multiply):
    """input * (keep a) + b, b = (keep - 1) alpha' a + alpha' a p: the dropped values at SELU's saturation
    -alpha' = -alpha scale, then the affine map that restores mean 0 and variance 1."""
    saturation = _SELU_ALPHA * _SELU_SCALE
    a = 1.0 / math.sqrt((saturation * saturation * p + 1) * (1 - p))
    shift = (keep - 1) * (saturation * a) + saturation * a * p
    scaled = multiply(input, keep * a)
    return scaled.add_(shift) if scaled is input else scaled + shift


class _Dropout(Function):
    """x * mask with the mask made on the GPU in one kernel (PyTorch's CUDA node name)."""
    _node_name = "NativeDropoutBackward0"
    _result_layout = "operands"

    @staticmethod
    def forward(ctx, input, noise, p):
        out, ctx.mask = _cuda_kernels.dropout(input._data, noise, p)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad * _make(ctx.mask), None, None


def _feature_noise_shape(input, unbatched=False):       # checked only once p < 1, as PyTorch
    """One noise value per (sample, channel), or per channel of an input without its batch dim."""
    if unbatched:
        return (input.shape[0],) + (1,) * (input.ndim - 1)
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return tuple(input.shape[:2]) + (1,) * (input.ndim - 2)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (training only)."""
    return _dropout(input, p, training, inplace)


def _feature_dropout(name, input, p, training, inplace, spatial):
    """dropout1d/2d/3d as PyTorch's: dropout1d takes 2-D or 3-D inputs only; dropout2d and 3d warn
    about other ranks; dropout1d and 3d take any input of another rank than the batched one as
    unbatched, dropout2d takes every input as batched (a 3-D one as (N, C, L))."""
    _check_p(p)
    batched = spatial + 2
    if name == "dropout1d" and input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    if input.ndim not in (batched - 1, batched):
        warnings.warn(f"{name}: Received a {input.ndim}-D input to {name}, which is deprecated and will result in "
                      f"an error in a future release. To retain the behavior and silence this warning, please use "
                      f"dropout instead. Note that {name} exists to provide channel-wise dropout on inputs with "
                      f"{spatial} spatial dimensions, a channel dimension, and an optional batch dimension (i.e. "
                      f"{batched - 1}D or {batched}D inputs).", UserWarning, stacklevel=3)
    if name == "dropout2d" and input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a "
                      "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
                      "please switch to using dropout1d instead.", UserWarning, stacklevel=3)
    _check_bool_argument("feature_dropout", "train", 3, training)
    if name != "dropout2d" and input.ndim != batched:
        if not inplace:         # PyTorch: the dropout of input.unsqueeze(0), squeezed (a view when not training)
            return _feature_dropout_of(input.unsqueeze(0), p, training, False, False).squeeze(0)
        check_inplace_autograd(input)       # PyTorch's input.unsqueeze_(0), training or not
        return _feature_dropout_of(input, p, training, True, True)
    return _feature_dropout_of(input, p, training, inplace, False)


def _feature_dropout_of(input, p, training, inplace, unbatched):
    if p == 0.0 or not training or input.numel() == 0:
        return input
    return _dropout(input, p, training, inplace, lambda x: _feature_noise_shape(x, unbatched))


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (dim 1 of (N, C, L)) with probability p."""
    return _feature_dropout("dropout1d", input, p, training, inplace, 1)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (dim 1 of (N, C, H, W)) with probability p."""
    return _feature_dropout("dropout2d", input, p, training, inplace, 2)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels (dim 1 of (N, C, D, H, W)) with probability p."""
    return _feature_dropout("dropout3d", input, p, training, inplace, 3)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU's zero mean and unit variance: dropped values become -alpha*scale,
    then an affine map a * x + b restores the moments."""
    return _dropout(input, p, training, inplace, alpha=True, op="alpha_dropout")


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha_dropout of whole channels (dim 1)."""
    _check_p(p)
    _check_bool_argument("feature_alpha_dropout", "train", 3, training)
    if p == 0.0 or not training or input.numel() == 0:
        return input
    return _dropout(input, p, training, inplace, _feature_noise_shape, alpha=True)


# -- sparse ------------------------------------------------------------------------------------
class _Embedding(Function):
    """out = weight[indices]; grad_weight accumulates rows, skipping padding_idx."""
    _node_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq=False):
        ctx.save_for_backward(indices)
        ctx.num_weights = weight.shape[0]
        ctx.padding_idx = padding_idx
        ctx.scale_grad_by_freq = scale_grad_by_freq
        return weight._data[indices._data]

    @staticmethod
    def backward(ctx, grad):                    # grad_weight[i] = sum of grad rows whose index is i
        (indices,) = ctx.saved_tensors
        flat = indices.reshape(-1)
        g = grad.reshape(-1, grad.shape[-1])
        if ctx.padding_idx is not None:
            g = g * (flat != ctx.padding_idx).to(g.dtype).unsqueeze(1)
        if ctx.scale_grad_by_freq:              # each row's gradient divided by how often the input names it
            xp = _xp.array_module(flat._data)
            counts = xp.zeros(ctx.num_weights, np.float64)
            _xp.scatter_add(counts, flat._data, xp.ones(flat.shape, counts.dtype))
            g = g / _make(counts[flat._data].astype(g._data.dtype)).unsqueeze(1)
        zeros = _creation.zeros((ctx.num_weights, g.shape[1]), dtype=g.dtype, device=g.device)
        # the indices were checked in the forward: no second check (a read by the host on cuda)
        from .._ops.indexing import IndexAdd
        return IndexAdd.apply(zeros, (flat._data,), g), None, None, None


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Rows of weight (num_embeddings, embedding_dim) picked by the integer tensor input."""
    if input.dtype not in (_dtype.int64, _dtype.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {input.type()} instead (while checking arguments for embedding)")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    n = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= n:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -n:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = n + padding_idx
    if sparse:
        raise NotImplementedError("embedding(): sparse gradients are not supported by flambeau")
    check_same_device("embedding", weight, input)
    if input.numel():
        # checked on every device: CuPy would wrap around silently
        lo, hi = index_range(input._data)
        if lo < 0 or hi >= n:
            raise IndexError("index out of range in self")
    if max_norm is not None:
        with grad_mode.no_grad():
            _embedding_renorm_(weight, input, max_norm, norm_type)
    return _Embedding.apply(weight, input, padding_idx, bool(scale_grad_by_freq))


def _embedding_renorm_(weight, input, max_norm, norm_type):
    xp = _xp.array_module(weight._data)
    rows = xp.unique(input._data.reshape(-1))
    w = weight._data[rows]
    norms = (xp.abs(w) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    weight._data[rows] = w * scale[:, None]
    weight._version_counter[0] += 1


def one_hot(tensor, num_classes=-1):
    """(*) int64 class indices -> (*, num_classes) int64 one-hot."""
    if tensor.dtype is not _dtype.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    a = tensor._data
    xp = _xp.array_module(a)
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = index_range(a)[1] + 1
    lo, hi = index_range(a) if a.size else (0, 0)
    if lo < 0:
        raise RuntimeError("Class values must be non-negative.")
    if hi >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = (a[..., None] == xp.arange(num_classes)).astype(np.int64)
    return _make(out)


# -- padding -----------------------------------------------------------------------------------
class _ConstantPad(Function):
    _node_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, pads, value):
        # pads: ((before, after) per dim), all >= 0
        xp = _xp.array_module(x._data)
        shape = tuple(n + a + b for n, (a, b) in zip(x.shape, pads))
        out = _xp.full(xp, shape, value, x._data.dtype)
        ctx.slices = tuple(slice(a, a + n) for n, (a, _) in zip(x.shape, pads))
        out[ctx.slices] = x._data
        return out

    @staticmethod
    def backward(ctx, grad):                    # the slice of grad where x sits
        return grad[ctx.slices], None, None


def pad(input, pad, mode="constant", value=None):
    """Pad the last len(pad) // 2 dims; pad = (left_last, right_last, left_prev, right_prev, ...)."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {input.ndim}")
    pad = [int(p) for p in pad]
    k = len(pad) // 2
    pairs = [(0, 0)] * (input.ndim - k) + [(pad[2 * (k - 1 - i)], pad[2 * (k - 1 - i) + 1]) for i in range(k)]
    if mode == "constant":
        x = input
        for d, (a, b) in enumerate(pairs):       # negative padding crops
            if a < 0 or b < 0:
                start, stop = max(-a, 0), x.shape[d] - max(-b, 0)
                if stop - start < 0:
                    raise RuntimeError(f"The input size {x.shape[d]}, plus negative padding {a} and {b} resulted "
                                       f"in a negative output size, which is invalid. Check dimension {d} of your "
                                       "input.")
                x = x.narrow(d, start, stop - start)
        pos = tuple((max(a, 0), max(b, 0)) for a, b in pairs)
        if not any(a or b for a, b in pos):
            return x if x is not input else input.clone()
        return _ConstantPad.apply(x, pos, 0.0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unsupported padding mode: {mode}")
    if input.ndim - k not in (1, 2):
        raise NotImplementedError(f"Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now "
                                  f"(got a {input.ndim}-D input with {k} padded dims)")
    if mode != "circular" and (0 in input.shape[1:] or (input.ndim == k + 1 and input.shape[0] == 0)):
        raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and other "
                           f"non-zero dimensions for input, but got: {list(input.shape)}")
    if mode != "circular" and input.dtype is _dtype.bool:
        kernel = "reflection_pad" if mode == "reflect" else "replication_pad"
        _not_implemented(f"{kernel}{k}d", input.dtype)
    out_sizes = [n + a + b for n, (a, b) in zip(input.shape, pairs)]
    # PyTorch lets some padded dims (not all of them) come out empty, none negative
    if mode != "circular" and (max(out_sizes[input.ndim - k:]) < 1 or min(out_sizes) < 0):
        raise RuntimeError(f"input ({', '.join(map(str, input.shape[input.ndim - k:]))}) is too small. Calculated "
                           f"output size: ({', '.join(map(str, out_sizes[input.ndim - k:]))})")
    x = input
    takes = {}          # dim -> source index of each output position, gathered at once below
    for d, (a, b) in enumerate(pairs):
        if a == 0 and b == 0:
            continue
        n = x.shape[d]
        idx = np.arange(-a, n + b)
        if mode == "circular":
            # PyTorch crops first (negative pads), then wraps the cropped part around
            if a > n or b > n:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            if n + min(a, 0) + min(b, 0) < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
            x = x.narrow(d, max(-a, 0), n + min(a, 0) + min(b, 0))
            a, b, n = max(a, 0), max(b, 0), x.shape[d]
            if a > n or b > n:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            idx = np.arange(-a, n + b) % max(n, 1)
        elif mode == "reflect":
            if a >= n or b >= n:
                raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, "
                                   f"but got: padding ({a}, {b}) at dimension {d} of input {tuple(input.shape)}")
            period = 2 * (n - 1) if n > 1 else 1
            idx = np.abs(idx) % period if n > 1 else np.zeros_like(idx)
            idx = np.where(idx >= n, period - idx, idx)
        else:
            idx = np.clip(idx, 0, n - 1)
        takes[d] = idx
    # one node, named as PyTorch's (its circular padding copies slices into the output)
    node = "CopySlices" if mode == "circular" else f"{'Reflection' if mode == 'reflect' else 'Replication'}Pad{k}DBackward0"
    return _take_outer(x, takes, node) if takes else x


def _take_outer(x, takes, node_name):
    """x indexed along several dims at once by host index arrays {dim: idx} (in range by construction),
    an outer product of the indices, recorded as one node named node_name."""
    from .._ops.indexing import AdvancedIndex
    xp = _xp.array_module(x._data)
    first = min(takes)
    key = []
    for d in range(first, x.ndim):        # arrays on every dim from the first (a slice between them would move them)
        idx = takes.get(d, np.arange(x.shape[d]))
        shape = [1] * (x.ndim - first)
        shape[d - first] = len(idx)
        key.append(xp.asarray(np.asarray(idx, dtype=np.int64).reshape(shape)))
    return AdvancedIndex.named(node_name).apply(x, (slice(None),) * first + tuple(key))


def _select_in_range(x, dim, idx):
    """x.index_select(dim, idx) for indices made on the host and in range by construction:
    sent to the device once, without index_select's range check (a read back by the host)."""
    from .._ops.indexing import AdvancedIndex
    idx = _xp.array_module(x._data).asarray(np.asarray(idx, dtype=np.int64))
    return AdvancedIndex.named("IndexSelectBackward0").apply(x, (slice(None),) * dim + (idx,))


# -- interpolation -----------------------------------------------------------------------------
def _output_size(input, size, scale_factor, dims):
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dims:
                raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input "
                                 f"with spatial dimensions of {list(input.shape[2:])} and output size of {size}. "
                                 "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size in "
                                 "(o1, o2, ...,oK) format.")
            if not all(_is_integer(s) for s in size):
                raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or Tuple[int, int, "
                                f"int], but got size with types {[type(s) for s in size]}")
        else:
            size = [size] * dims
        return [int(s) for s in size], None
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    sf = [scale_factor] * dims if isinstance(scale_factor, numbers.Number) else list(scale_factor)
    if len(sf) != dims:
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                         f"with spatial dimensions of {list(input.shape[2:])} and scale_factor of shape {sf}. "
                         "Please provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, "
                         "...,sK) format.")
    return [int(math.floor(n * s)) for n, s in zip(input.shape[2:], sf)], [float(s) for s in sf]


def _is_integer(x):
    if isinstance(x, Tensor):
        return not (x.dtype.is_floating_point or x.dtype.is_complex)
    return isinstance(x, numbers.Integral)


def _source_scale(n_in, n_out, align_corners, scale_factor):
    """Input pixels per output pixel (PyTorch's area_pixel_compute_scale)."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale_factor if scale_factor else n_in / n_out


def _check_interp_sizes(input, out_size):
    names = "DHW"[3 - len(out_size):]
    if all(n > 0 for n in input.shape[2:]) and all(n > 0 for n in out_size):
        return
    got_in = ", ".join(f"{k}: {n}" for k, n in zip(names, input.shape[2:]))
    got_out = ", ".join(f"{k}: {n}" for k, n in zip(names, out_size))
    joint = " and output" if len(out_size) == 1 else " output"
    raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({got_in}){joint} ({got_out})")


def _check_interp_dtype(input, mode, dims, antialias):
    """PyTorch's CPU kernels resample floating tensors, and uint8 ones (images) in every mode but
    linear and trilinear; its error names the kernel that refused the dtype."""
    dt = input.dtype
    if dt.is_floating_point and not (dt is _dtype.float16 and (antialias or mode == "lanczos")):
        return
    if dt is _dtype.uint8 and mode not in ("linear", "trilinear"):
        return
    if antialias or mode == "lanczos":
        kernel = "compute_index_ranges_weights"
    elif mode in ("nearest", "nearest-exact"):
        kernel = "upsample_nearest2d_channels_last" if dims == 2 else "compute_indices_weights_nearest"
    else:
        kernel = {"bilinear": "upsample_bilinear2d_channels_last",
                  "bicubic": "compute_indices_weights_cubic"}.get(mode, "compute_indices_weights_linear")
    raise NotImplementedError(f"\"{kernel}\" not implemented for '{_type_word(dt)}'")


_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "lanczos", "area", "nearest-exact")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, *spatial) by nearest, (bi/tri)linear, bicubic or area sampling;
    antialias=True (bilinear, bicubic, lanczos) widens the filter by the scale when downsampling."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: linear | "
                             "bilinear | bicubic | trilinear")
    dims = input.ndim - 2
    out_size, scales = _output_size(input, size, scale_factor, dims)
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if recompute_scale_factor or mode == "area":
        scales = None
    if antialias and not (mode in _AA_TAPS and dims == 2):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a "
                         "4-D tensor as input")
    expected = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3, "lanczos": 2}
    if dims not in (1, 2, 3) or mode not in _MODES or (mode in ("bicubic", "lanczos") and dims != 2):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
                                  "the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
                                  f"nearest-exact (got {mode})")
    if mode in expected and expected[mode] != dims:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {expected[mode] + 2}D input")
    if mode == "area":
        from .._ops import pooling
        return getattr(pooling, f"adaptive_avg_pool{dims}d")(input, out_size)
    align = bool(align_corners)
    if mode == "lanczos":
        if align:
            raise ValueError("Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("Lanczos mode requires antialias=True")
    _check_interp_sizes(input, out_size)
    _check_interp_dtype(input, mode, dims, antialias)
    scale_factors = scales or [None] * dims
    if antialias or (input.dtype is _dtype.uint8 and mode in ("bilinear", "bicubic")):
        return _resample_separable(input, mode, out_size, scale_factors, align, antialias)
    # PyTorch's separable kernels (the linear family, 2-d nearest) leave a dim of unchanged size
    # as it is, whatever the scale factor says
    keep_same = mode in ("linear", "bilinear", "trilinear") or (mode == "nearest" and dims == 2)
    xp = _xp.array_module(input._data)
    x = input
    takes = {}          # nearest modes: dim -> source index of each output position
    for i in range(dims):
        d = 2 + i
        n_in, n_out = input.shape[d], out_size[i]
        if keep_same and n_in == n_out:
            continue
        scale = _source_scale(n_in, n_out, False, scale_factors[i])
        if mode == "nearest" and dims == 2 and n_out == 2 * n_in:
            scale = 0.5                 # PyTorch's 2-d nearest doubles a dim by repetition, ignoring the factor
        dst = np.arange(n_out, dtype=np.float64)
        if mode in ("nearest", "nearest-exact"):
            src = np.floor((dst + 0.5) * scale) if mode == "nearest-exact" else np.floor(dst * scale)
            takes[d] = np.minimum(src.astype(np.int64), n_in - 1)
            continue
        if align:
            src = dst * _source_scale(n_in, n_out, True, None)
        else:
            src = (dst + 0.5) * scale - 0.5
            if mode != "bicubic":           # cubic sampling reads left of the first pixel too
                src = np.maximum(src, 0.0)
        shape = [1] * input.ndim
        shape[d] = n_out
        if mode == "bicubic":
            x = _cubic_along(x, d, src, n_in, shape, xp)
            continue
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        lam = (src - i0).astype(input._data.dtype)
        lam_t = _make(xp.asarray(lam.reshape(shape)))
        a = _select_in_range(x, d, i0)
        b = _select_in_range(x, d, i1)
        x = a + (b - a) * lam_t
    if mode in ("nearest", "nearest-exact"):
        name = "NearestExact" if mode == "nearest-exact" else "Nearest"
        return _take_outer(x, takes, f"Upsample{name}{dims}DBackward0") if takes else x
    return x


_CUBIC_A = -0.75          # the cubic convolution's free parameter, as PyTorch (and OpenCV) use


def _cubic_near(x, a):       # Keys' cubic convolution for |x| <= 1
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _cubic_far(x, a):        # and for 1 < |x| < 2
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def _cubic_weights(t, a=_CUBIC_A):
    """Weights of the 4 taps at floor(src) - 1 .. floor(src) + 2 for fractional offsets t."""
    return _cubic_far(t + 1, a), _cubic_near(t, a), _cubic_near(1 - t, a), _cubic_far(2 - t, a)


def _cubic_along(x, dim, src, n_in, shape, xp):
    """Bicubic resampling of x along dim at source positions src (taps clamped to the border)."""
    first = np.floor(src).astype(np.int64)
    out = None
    for k, w in enumerate(_cubic_weights(src - first)):
        taps = _select_in_range(x, dim, np.clip(first - 1 + k, 0, n_in - 1))
        term = taps * _make(xp.asarray(w.astype(x._data.dtype).reshape(shape)))
        out = term if out is None else out + term
    return out


# -- separable resampling (antialiased; uint8 images) ------------------------------------------
# PyTorch resamples these one spatial dim at a time, width first, each output pixel a normalized
# window of input pixels; antialiasing stretches the filter by the scale when downsampling (as PIL)
_AA_TAPS = {"bilinear": 2, "bicubic": 4, "lanczos": 6}      # the filter's width in input pixels


def _aa_filter(mode, x):
    x = np.abs(x)
    if mode == "bilinear":
        return np.where(x < 1, 1 - x, 0.0)
    if mode == "bicubic":            # a = -0.5 (Keys' own choice, PIL's) rather than -0.75
        return np.where(x < 1, _cubic_near(x, -0.5), np.where(x < 2, _cubic_far(x, -0.5), 0.0))
    return np.where(x < 3, np.sinc(x) * np.sinc(x / 3), 0.0)          # lanczos-3


def _aa_weights(mode, n_in, n_out, scale, antialias, align_delta=0.0):
    """First input index and weights (n_out, taps) of each output index, as PyTorch's
    _compute_indices_min_size_weights_aa: the filter centred on scale * (i + 0.5), cut at the
    borders and renormalized. align_delta = 0.5 turns the centres into align_corners' ones."""
    stretch = scale if antialias and scale >= 1 else 1.0
    support = _AA_TAPS[mode] * 0.5 * stretch
    n_taps = int(math.ceil(support)) * 2 + 1 if antialias else _AA_TAPS[mode]
    center = scale * (np.arange(n_out) + 0.5 - align_delta)
    # astype(int64) truncates toward zero, as the C++ casts do
    first = np.maximum((center - support + 0.5 + align_delta).astype(np.int64), 0)
    count = np.clip(np.minimum((center + support + 0.5 + align_delta).astype(np.int64), n_in) - first, 0, n_taps)
    taps = np.arange(n_taps)
    w = _aa_filter(mode, (taps + first[:, None] - center[:, None] + 0.5 - align_delta) * (1.0 / stretch))
    w = np.where(taps < count[:, None], w, 0.0)
    total = w.sum(1, keepdims=True)
    return first, np.divide(w, total, out=w, where=total != 0)


def _cubic_clamped_weights(n_in, n_out, scale, align):
    """Plain bicubic as windows: the taps past a border fold onto the border pixel."""
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * scale if align else (dst + 0.5) * scale - 0.5
    floor = np.floor(src)
    idx = np.clip(floor.astype(np.int64)[:, None] - 1 + np.arange(4), 0, n_in - 1)
    first = idx[:, 0]
    w = np.zeros((n_out, 4))
    for k, wk in enumerate(_cubic_weights(src - floor)):
        np.add.at(w, (np.arange(n_out), idx[:, k] - first), wk)
    return first, w


def _dense_weights(first, w, n_in):
    """The (n_out, n_in) matrix of the windows."""
    m = np.zeros((len(first), n_in))
    cols = np.minimum(first[:, None] + np.arange(w.shape[1]), n_in - 1)    # zero-weight padding taps may overrun
    np.add.at(m, (np.arange(len(first))[:, None], cols), w)
    return m


def _apply_along(a, dim, m):
    """m @ a along dim 3 (the width) or 2 (the height) of (N, C, H, W), as one 2-d product."""
    xp = _xp.array_module(a)
    n, c, h, w = a.shape
    if dim == 3:
        return (xp.ascontiguousarray(a).reshape(-1, w) @ m.T).reshape(n, c, h, m.shape[0])
    out = (m @ xp.moveaxis(a, 2, 0).reshape(h, -1)).reshape(m.shape[0], n, c, w)
    return xp.ascontiguousarray(xp.moveaxis(out, 0, 2))


class _SeparableResample(Function):
    """x -> M_h x M_w^T over the last two dims of (N, C, H, W): one (n_out, n_in) device matrix per
    resampled dim, applied in order. The backward is the same map transposed (differentiable again)."""

    @staticmethod
    def forward(ctx, x, maps):
        a = x._data
        ctx.maps = maps
        for dim, m in maps:
            a = _apply_along(a, dim, m)
        return a if maps else a.copy()

    @staticmethod
    def backward(ctx, grad):
        transposed = [(dim, m.T) for dim, m in reversed(ctx.maps)]
        return _SeparableResample.named(type(ctx).__name__.replace("Backward0", "BackwardBackward0")).apply(
            grad, transposed), None


def _resample_uint8(a, dim, first, w):
    """PyTorch's uint8 resampling: weights in 16-bit fixed point (as many fraction bits as keep the
    largest below 2**15), sums of products rounded and clamped to 0..255 after each pass."""
    bits = next((b for b in range(22) if int(0.5 + w.max() * (1 << (b + 1))) >= 1 << 15), 22)
    fixed = np.trunc(w * (1 << bits) + np.where(w < 0, -0.5, 0.5))
    xp = _xp.array_module(a)
    m = xp.asarray(_dense_weights(first, fixed, a.shape[dim]))
    # integer products and sums stay far below 2**53: float64 computes them exactly
    acc = _apply_along(a.astype(np.float64), dim, m).astype(np.int64) + (1 << (bits - 1))
    return xp.clip(acc >> bits, 0, 255).astype(np.uint8)


def _resample_separable(input, mode, out_size, scale_factors, align, antialias):
    """Antialiased interpolation, and uint8 bilinear/bicubic, as PyTorch's separable CPU kernels."""
    windows = []
    for dim in (3, 2):
        n_in, n_out = input.shape[dim], out_size[dim - 2]
        if n_in == n_out:        # left as it is, whatever the scale factor says
            continue
        scale = _source_scale(n_in, n_out, align, scale_factors[dim - 2])
        if mode == "bicubic" and not antialias:
            first, w = _cubic_clamped_weights(n_in, n_out, scale, align)
        else:
            first, w = _aa_weights(mode, n_in, n_out, scale, antialias, 0.5 if align and not antialias else 0.0)
        windows.append((dim, first, w, n_in))
    if input.dtype is _dtype.uint8:
        a = input._data
        for dim, first, w, _ in windows:
            a = _resample_uint8(a, dim, first, w)
        return _make(a if windows else a.copy())
    xp = _xp.array_module(input._data)
    maps = [(dim, xp.asarray(_dense_weights(first, w, n_in).astype(input._data.dtype)))
            for dim, first, w, n_in in windows]
    return _SeparableResample.named(f"Upsample{mode.capitalize()}2DAaBackward0").apply(input, maps)


def _warn_upsample_deprecated(name):
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.", UserWarning,
                  stacklevel=caller_level())


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    _warn_upsample_deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    _warn_upsample_deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    _warn_upsample_deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    return _PixelShuffle.apply(input, r)


class _PixelShuffle(Function):
    """(*, C r^2, H, W) -> (*, C, H r, W r); its adjoint is pixel_unshuffle."""
    _node_name = "PixelShuffleBackward0"

    @staticmethod
    def forward(ctx, x, r):
        a = x._data
        *lead, c, h, w = a.shape
        n, oc = len(lead), c // (r * r)
        perm = list(range(n)) + [n, n + 3, n + 1, n + 4, n + 2]
        ctx.r = r
        return _xp.array_module(a).ascontiguousarray(
            a.reshape(*lead, oc, r, r, h, w).transpose(perm)).reshape(*lead, oc, h * r, w * r)

    @staticmethod
    def backward(ctx, grad):
        return _PixelUnshuffle.apply(grad, ctx.r), None


class _PixelUnshuffle(Function):
    """(*, C, H r, W r) -> (*, C r^2, H, W); its adjoint is pixel_shuffle."""
    _node_name = "PixelUnshuffleBackward0"

    @staticmethod
    def forward(ctx, x, r):
        a = x._data
        *lead, c, h, w = a.shape
        n = len(lead)
        perm = list(range(n)) + [n, n + 2, n + 4, n + 1, n + 3]
        ctx.r = r
        return _xp.array_module(a).ascontiguousarray(
            a.reshape(*lead, c, h // r, r, w // r, r).transpose(perm)).reshape(*lead, c * r * r, h // r, w // r)

    @staticmethod
    def backward(ctx, grad):
        return _PixelShuffle.apply(grad, ctx.r), None


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W)."""
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by downscale_factor, got "
                           f"{h}x{w} and {r}")
    return _PixelUnshuffle.apply(input, r)


# -- distances ---------------------------------------------------------------------------------
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(||x||_p, eps) along dim."""
    denom = input.norm(p, dim, keepdim=True).clamp(min=eps).expand_as(input)
    r = input / denom
    if out is not None:
        out.copy_(r)
        return out
    return r


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along dim."""
    common = result_dtype(x1, x2)
    if not common.is_floating_point:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is {_type_word(common)}")
    x1, x2 = _f().broadcast_tensors(x1, x2)
    n1 = x1.norm(2, dim, keepdim=True).clone()
    n2 = x2.norm(2, dim, keepdim=True).clone()
    with grad_mode.no_grad():       # PyTorch clamps the norms' values only: their gradient stays the norms'
        n1.clamp_(min=eps)
        n2.clamp_(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last dim."""
    nd = max(x1.ndim, x2.ndim)
    diff = x1 - x2 + eps
    if nd == 0:
        return diff.abs()
    return diff.norm(p, -1, keepdim=keepdim)


def pdist(input, p=2):
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    a = _select_in_range(input, 0, i)
    b = _select_in_range(input, 0, j)
    return (a - b).norm(p, 1)


# -- normalization -----------------------------------------------------------------------------
def _check_norm_dtypes(input, *params):
    """PyTorch's CPU normalization kernels: the parameters (weight, bias, running stats: None allowed) share
    the input's dtype, except that a half input may take float32 ones: when the first given parameter's
    dtype is not the input's, all of them must be float32 and the input half."""
    if input.device.type != "cpu":
        return
    given = [t for t in params if t is not None]
    if not given:
        return
    if given[0].dtype is not input.dtype:
        if any(t.dtype is not _dtype.float32 for t in given):
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        if input.dtype is not _dtype.float16:
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
        return
    for t in given:
        if t.dtype is not input.dtype:
            raise RuntimeError(f"expected scalar type {_type_word(input.dtype)} but found {_type_word(t.dtype)}")


def _check_batch_norm(input, running_mean, weight, training):
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    size = 1
    for i, s in enumerate(input.shape):
        if i != 1:
            size *= s
    if training and size == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
    for name, t in (("running_mean", running_mean), ("weight", weight)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")


def _channel_shape(input):
    return (1, input.shape[1]) + (1,) * (input.ndim - 2)


def _scale_shift(y, scale, shift):
    """y * scale + shift, in place in y (a fresh array) where the dtypes allow it."""
    if scale is not None:
        if scale.dtype == y.dtype:
            y *= scale
        else:
            y = y * scale
    if shift is not None:
        if shift.dtype == y.dtype:
            y += shift
        else:
            y = y + shift
    return y


def _running(statistic):
    """A running statistic to update in place. As in PyTorch, the update is no user's in-place op:
    it goes through even to statistics made in inference mode (detach() of one may be written,
    Note [Inference tensors]), and still counts in a normal tensor's version."""
    return statistic.detach()


def _keep_statistics(ctx, input, weight, mean, rstd, eps, dims, batch_stats):
    ctx.save_for_backward(input, weight)
    ctx.mean, ctx.rstd, ctx.eps, ctx.dims, ctx.batch_stats = mean, rstd, eps, dims, batch_stats


def _normalized_input(ctx):
    """x, weight, x_hat = (x - mean) * rstd and rstd for a normalization's backward (see
    _forward_value: batch statistics are recomputed from x in a recorded backward; running ones
    are constants)."""
    x, weight = ctx.saved_tensors
    if ctx.batch_stats and grad_mode.is_grad_enabled():
        xc = x - x.mean(ctx.dims, keepdim=True)
        rstd = ((xc * xc).mean(ctx.dims, keepdim=True) + ctx.eps).rsqrt()
    else:
        xc, rstd = x - _make(ctx.mean), _make(ctx.rstd)
    return x, weight, xc * rstd, rstd


class _BatchNorm(Function):
    """(x - mean) * rstd * weight + bias per channel (dim 1), with the batch statistics (training)
    or the running ones; training updates the running statistics."""
    _node_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, input, weight, bias, running, training, momentum, eps):
        running_mean, running_var = running     # a pair, not two inputs: no edges (PyTorch's node has three)
        a = _float_data(input, "batch_norm")
        xp = _xp.array_module(a)
        shape = _channel_shape(input)
        dims = (0,) + tuple(range(2, a.ndim))
        ctx.shape, ctx.fused = shape, False
        stats = [t._data for t in (running_mean, running_var) if t is not None]
        if (training and _cuda_kernels.usable(input._data, *[t._data for t in (weight, bias) if t is not None], *stats)
                and _cuda_kernels.in_place_usable(*stats or [a])):
            # Note [Batch norm kernels]: three launches, the running statistics updated by the second
            out, mean, rstd = _cuda_kernels.batch_norm_forward(
                a, None if weight is None else weight._data, None if bias is None else bias._data,
                None if running_mean is None else running_mean._data,
                None if running_var is None else running_var._data, momentum, eps)
            for t in (running_mean, running_var):
                if t is not None:
                    t.detach()._version_counter[0] += 1       # (see _running)
            _keep_statistics(ctx, input, weight, mean.reshape(shape), rstd.reshape(shape), eps, dims, training)
            ctx.fused = True
            return out
        if (not training and running_mean is not None and running_var is not None and not any(ctx.needs_input_grad)
                and _cuda_kernels.usable(a, running_mean._data, running_var._data,
                                         *[t._data for t in (weight, bias) if t is not None])):
            # running statistics, nothing to differentiate (the usual evaluation): one launch
            return _cuda_kernels.batch_norm_eval(a, running_mean._data, running_var._data,
                                                 None if weight is None else weight._data,
                                                 None if bias is None else bias._data, eps)
        if training:
            # the statistics summed in float64 and rounded once, as torch's CPU kernel
            wide = np.float64 if type(a) is np.ndarray and a.dtype == np.float32 else None
            mean = _reduction.mean_array(a, dims, wide)
            xc = a - mean
            var = _reduction.mean_array(xp.square(xc), dims, wide)
            if running_mean is not None:
                n = input.numel() // input.shape[1]
                _running(running_mean).mul_(1 - momentum).add_(_make(mean).reshape(-1) * momentum)
                _running(running_var).mul_(1 - momentum).add_(_make(var).reshape(-1) * (momentum * n / max(n - 1, 1)))
        else:
            mean = running_mean._data.reshape(shape).astype(a.dtype, copy=False)
            var = running_var._data.reshape(shape).astype(a.dtype, copy=False)
            xc = a - mean
        rstd = 1 / xp.sqrt(var + eps)
        scale = rstd if weight is None else rstd * weight._data.reshape(shape)
        out = _scale_shift(xc, scale, None if bias is None else bias._data.reshape(shape))
        _keep_statistics(ctx, input, weight, mean, rstd, eps, dims, training)
        return out.astype(input._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        if ctx.fused and not grad_mode.is_grad_enabled() and _cuda_kernels.usable(grad._data, ctx.mean):
            x, weight = ctx.saved_tensors
            need_b = ctx.needs_input_grad[2]
            need_w = weight is not None and ctx.needs_input_grad[1]
            gx, gw, gb = _cuda_kernels.batch_norm_backward(x._data, grad._data, ctx.mean.reshape(-1),
                                                           ctx.rstd.reshape(-1), None if weight is None else
                                                           weight._data, ctx.needs_input_grad[0])
            return (None if gx is None else _make(gx), _make(gw) if need_w else None, _make(gb) if need_b else None,
                    None, None, None, None)
        x, weight, xhat, rstd = _normalized_input(ctx)
        scale = rstd if weight is None else rstd * weight.reshape(ctx.shape)
        need_x, need_w = ctx.needs_input_grad[0], weight is not None and ctx.needs_input_grad[1]
        gx = gw = gb = None
        if ctx.batch_stats:                     # w rstd (g - mean(g) - xhat mean(g xhat)), per channel
            n = x.numel() // x.shape[1]
            gsum = grad.sum(ctx.dims, keepdim=True) if need_x or ctx.needs_input_grad[2] else None
            ghsum = (grad * xhat).sum(ctx.dims, keepdim=True) if need_x or need_w else None
            if need_x:
                gx = (grad - gsum * (1 / n) - xhat * (ghsum * (1 / n))) * scale
            if need_w:
                gw = ghsum.reshape(-1)
            if ctx.needs_input_grad[2]:
                gb = gsum.reshape(-1)
        else:                                   # the statistics are constants
            gx = grad * scale if need_x else None
            gw = (grad * xhat).sum(ctx.dims) if need_w else None
            gb = grad.sum(ctx.dims) if ctx.needs_input_grad[2] else None
        return gx, gw, gb, None, None, None, None


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias per channel (dim 1); batch statistics in
    training (running stats updated with momentum, unbiased var), running stats otherwise."""
    if input.ndim < 2:
        raise ValueError(f"expected 2D or more input (got {input.ndim}D input)")
    _check_batch_norm(input, running_mean, weight, training)
    _check_bool_argument("batch_norm", "training", 6, training)
    _check_float_argument("batch_norm", "momentum", 7, momentum)     # None is the modules' cumulative average
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError(f"running_{'mean' if running_mean is None else 'var'} must be defined in evaluation mode")
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    check_same_device("batch_norm", input, weight, bias, running_mean, running_var)
    if input.is_floating_point():       # else the kernel's "not implemented for" comes first, as PyTorch's
        _check_norm_dtypes(input, weight, bias, running_mean, running_var)
    if input.numel() == 0:      # PyTorch: an empty result, the running statistics untouched
        shape = _channel_shape(input)
        out = input.clone() if weight is None else input * weight.reshape(shape)
        return out if bias is None else out + bias.reshape(shape)
    return _BatchNorm.apply(input, weight, bias, (running_mean, running_var), training, momentum, eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalize each (sample, channel) over its spatial dims."""
    if input.ndim < 3:
        raise ValueError(f"expected 3D or more input (got {input.ndim}D input)")
    size = math.prod(input.shape[2:])
    if use_input_stats and size == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {input.shape}")
    _check_bool_argument("instance_norm", "use_input_stats", 6, use_input_stats)
    _check_float_argument("instance_norm", "momentum", 7, momentum)
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    n, c = input.shape[0], input.shape[1]
    # PyTorch batch-normalizes (1, N * C, ...) with the per-channel tensors repeated N times
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {n * c} elements not {t.numel() * n}")
    if not input.is_floating_point():
        _not_implemented("batch_norm", input.dtype)
    _check_norm_dtypes(input, weight, bias)     # the running statistics may have any floating dtype
    if input.dtype is _dtype.float16:       # Note [Half precision statistics]
        return instance_norm(input.float(), running_mean, running_var, _as_float(weight), _as_float(bias),
                             use_input_stats, momentum, eps).to(input.dtype)
    # as PyTorch: batch norm of (1, N * C, ...) with the per-channel tensors repeated N times, the
    # running statistics' N copies averaged back into them (grad_fn: a view of NativeBatchNormBackward0)
    def repeated(t):
        return None if t is None else t.repeat(n)
    def repeated_stat(t):       # in the input's dtype, written back into t's own below
        return None if t is None else t.repeat(n).to(input.dtype)
    stats = repeated_stat(running_mean), repeated_stat(running_var)
    out = batch_norm(input.contiguous().view((1, n * c) + tuple(input.shape[2:])), *stats, repeated(weight),
                     repeated(bias), use_input_stats, momentum, eps)
    with grad_mode.no_grad():
        for t, copies in zip((running_mean, running_var), stats):
            if t is not None:
                _running(t).copy_(copies.view(n, c).mean(0))
    return out.view(input.shape)


class _LayerNorm(Function):
    """(x - mean) * rstd * weight + bias, the statistics over the last len(normalized_shape) dims."""
    _node_name = "NativeLayerNormBackward0"
    _result_layout = "rows"           # as PyTorch's (Function.apply)

    @staticmethod
    def forward(ctx, input, weight, bias, dims, eps):
        a = _float_data(input, "LayerNormKernelImpl")
        xp = _xp.array_module(a)
        mean = a.mean(axis=dims, keepdims=True)
        xc = a - mean
        rstd = 1 / xp.sqrt(xp.square(xc).mean(axis=dims, keepdims=True) + eps)
        xc *= rstd
        out = _scale_shift(xc, None if weight is None else weight._data, None if bias is None else bias._data)
        _keep_statistics(ctx, input, weight, mean, rstd, eps, dims, True)
        return out.astype(input._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, weight, xhat, rstd = _normalized_input(ctx)
        lead = tuple(range(x.ndim - len(ctx.dims)))
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:             # rstd (g' - mean(g') - xhat mean(g' xhat)), g' = g w
            gy = grad * weight if weight is not None else grad
            gx = (gy - gy.mean(ctx.dims, keepdim=True) - xhat * (gy * xhat).mean(ctx.dims, keepdim=True)) * rstd
        if weight is not None and ctx.needs_input_grad[1]:
            gw = (grad * xhat).sum(lead) if lead else grad * xhat
        if ctx.needs_input_grad[2]:
            gb = grad.sum(lead) if lead else grad
        return gx, gw, gb, None, None


def _shape_argument(op, normalized_shape, input=None, weight=None, bias=None, after_star=", "):
    """normalized_shape as a tuple: PyTorch's functional form takes a sequence of ints (the layers take an
    int). With input (and weight, bias): PyTorch's checks of them against it."""
    if isinstance(normalized_shape, numbers.Integral):
        raise TypeError(f"{op}(): argument 'normalized_shape' (position 2) must be tuple of ints, not "
                        f"{type(normalized_shape).__name__}")
    shape = tuple(normalized_shape)
    if input is None:
        return shape
    if not shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                           "element, but got normalized_shape = []")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{list(t.shape)} and normalized_shape = {list(shape)}")
    k = len(shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*{after_star}{', '.join(str(s) for s in shape)}], but got input of size{list(input.shape)}")
    return shape


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) dims."""
    normalized_shape = _shape_argument("layer_norm", normalized_shape, input, weight, bias)
    k = len(normalized_shape)
    check_same_device("layer_norm", input, weight, bias)
    _check_norm_dtypes(input, weight, bias)
    return _LayerNorm.apply(input, weight, bias, tuple(range(input.ndim - k, input.ndim)), eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) * weight over the last len(normalized_shape) dims."""
    normalized_shape = _shape_argument("rms_norm", normalized_shape, input, weight, after_star="")
    dims = tuple(range(input.ndim - len(normalized_shape), input.ndim))
    if not (input.is_floating_point() or input.is_complex()):
        _not_implemented("rms_norm", input.dtype)
    if input.dtype is _dtype.float16:       # Note [Half precision statistics]: weight applies after rounding
        out = rms_norm(input.float(), normalized_shape, None, eps).to(input.dtype)
        return out * weight if weight is not None else out
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize over groups of channels: (N, G, C/G * spatial), then per-channel affine."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    n, c = input.shape[0], input.shape[1]
    size = [n * c // num_groups, num_groups] + list(input.shape[2:])     # PyTorch's check, before divisibility
    if math.prod(size[:1] + size[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {input.shape} and num_groups={num_groups}")
    # PyTorch's bias message shows the weight's shape ([0] when there is none): kept so errors read the same
    weight_shape = list(weight.shape) if weight is not None else [0]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, "
                               f"but got {name} of shape {weight_shape} and input of shape {list(input.shape)}")
    _check_norm_dtypes(input, weight, bias)
    if not input.is_floating_point():
        _not_implemented("GroupNormKernelImpl", input.dtype)
    if input.dtype is _dtype.float16:       # Note [Half precision statistics]
        return group_norm(input.float(), num_groups, _as_float(weight), _as_float(bias), eps).to(input.dtype)
    check_same_device("group_norm", input, weight, bias)
    return _GroupNorm.apply(input, weight, bias, num_groups, eps)


class _GroupNorm(Function):
    """(x - mean) * rstd * weight + bias, the statistics over each sample's groups of channels
    (x viewed as (N, G, C/G * spatial)), weight and bias per channel."""
    _node_name = "NativeGroupNormBackward0"

    @staticmethod
    def forward(ctx, input, weight, bias, groups, eps):
        a = _float_data(input, "GroupNormKernelImpl")
        xp = _xp.array_module(a)
        n = a.shape[0]
        grouped = a.reshape(n, groups, a.size // max(n * groups, 1))
        mean = grouped.mean(axis=2, keepdims=True)
        xc = grouped - mean
        rstd = 1 / xp.sqrt(xp.square(xc).mean(axis=2, keepdims=True) + eps)
        xc *= rstd
        shape = _channel_shape(input)
        out = _scale_shift(xc.reshape(a.shape), None if weight is None else weight._data.reshape(shape),
                           None if bias is None else bias._data.reshape(shape))
        ctx.save_for_backward(input, weight)
        ctx.groups, ctx.mean, ctx.rstd, ctx.eps = groups, mean, rstd, eps
        return out.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):                # per group: rstd (g' - mean(g') - xhat mean(g' xhat)), g' = g w
        x, weight = ctx.saved_tensors
        n, shape = x.shape[0], _channel_shape(x)
        grouped = (n, ctx.groups, x.numel() // max(n * ctx.groups, 1))
        xg = x.reshape(grouped)
        if grad_mode.is_grad_enabled():     # a recorded backward differentiates through the statistics
            xc = xg - xg.mean(2, keepdim=True)
            rstd = ((xc * xc).mean(2, keepdim=True) + ctx.eps).rsqrt()
        else:
            xc, rstd = xg - _make(ctx.mean), _make(ctx.rstd)
        xhat = xc * rstd
        lead = (0,) + tuple(range(2, x.ndim))
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gy = (grad * weight.reshape(shape) if weight is not None else grad).reshape(grouped)
            gx = ((gy - gy.mean(2, keepdim=True) - xhat * (gy * xhat).mean(2, keepdim=True)) * rstd).reshape(x.shape)
        if weight is not None and ctx.needs_input_grad[1]:
            gw = (grad * xhat.reshape(x.shape)).sum(lead)
        if ctx.needs_input_grad[2]:
            gb = grad.sum(lead)
        return gx, gw, gb, None, None


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha / size * sum of x^2 over `size` neighbouring channels)^beta."""
    if input.ndim < 3:
        # PyTorch's message keeps the indentation of its source's line continuation
        raise ValueError(f"Expected 3D or higher dimensionality{' ' * 26}input (got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    # as PyTorch: the channel window's mean of x^2 by average pooling (its dtypes, and integer division
    # for int64), over (N, 1, C, L) or (N, 1, C, H, W*...) padded along C
    div = input * input
    if input.ndim == 3:
        div = pad(div.unsqueeze(1), (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        sizes = input.shape
        div = div.view(sizes[0], 1, sizes[1], sizes[2], -1)
        div = pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1).view(sizes)
    div = (div * alpha + k) ** beta
    return input / div


# -- losses ------------------------------------------------------------------------------------
def _class_targets(op, logits_shape, target, weight, ignore_index, label_smoothing, xp, dtype):
    """The per-sample target distribution q (rows of the (M, C) layout) and the mean's denominator.

    loss_i = -sum_c q_ic * logp_ic covers class indices (one-hot, weighted, ignore_index),
    class probabilities and label smoothing alike.
    """
    c = logits_shape[-1]
    w = None if weight is None else weight._data.astype(dtype, copy=False)
    eps = label_smoothing
    if target.is_floating_point():
        t = xp.moveaxis(target._data, 1, -1).reshape(-1, c) if target.ndim > 1 else target._data.reshape(1, c)
        q = t.astype(dtype, copy=False)
        if eps:
            q = q * (1 - eps) + eps / c
        return (q * w if w is not None else q), float(t.shape[0]), q
    rows, safe, valid = _index_targets(target, c, ignore_index, xp)
    m = rows.shape[0]
    q = xp.zeros((m, c), dtype=dtype)
    w_row = valid.astype(dtype) if w is None else w[safe] * valid
    q[rows, safe] = w_row * (1 - eps)
    if eps:
        q += (valid.astype(dtype)[:, None] * (eps / c)) * (w if w is not None else 1.0)
    return q, w_row.sum(), valid


def _index_targets(target, c, ignore_index, xp, need_mask=True, need_rows=True):
    """Rows, class indices (ignored ones replaced by 0) and the not-ignored mask of int64 targets.

    Without need_mask, the mask is None when no target can be ignore_index (the usual case);
    without need_rows, the rows (an arange: one launch on a GPU) are None.
    """
    if target.dtype is not _dtype.int64:
        raise RuntimeError(f"expected scalar type Long but found {target.dtype._legacy.replace('Tensor', '')}")
    t = target._data.reshape(-1)
    rows = xp.arange(t.shape[0]) if need_rows else None
    if not t.size:
        return rows, t, xp.ones(t.shape, bool)
    if _in_range_by_base(target, c, ignore_index):
        return rows, t, None if not need_mask else xp.ones(t.shape, bool)
    # checked on every device (one read by the host): CuPy would wrap around silently
    lo, hi = index_range(t)
    if lo <= ignore_index <= hi:
        valid = t != ignore_index
        t = xp.where(valid, t, 0)
        lo, hi = index_range(t)
    else:
        valid = None if not need_mask else xp.ones(t.shape, bool)
    if lo < 0 or hi >= c:
        raise IndexError(f"Target {hi if hi >= c else lo} is out of bounds.")
    return rows, t, valid


# Note [Targets checked once]
# A class index out of range must raise, and CuPy would wrap it around silently, so targets are
# checked by reading their range on the host: on a GPU, a synchronization each step. A training
# loop on the GPU usually takes its batches as views of one target tensor kept on the device
# (narrow, split): the range of that whole base is read once and kept with it, tagged with its
# storage's version counter, and a batch inside a base whose every entry is in [0, C) and none is
# ignore_index needs no read. Any write to the base (through any view) moves the version and the
# range is read again; a base with entries out of range leaves each batch to its own check.

def _in_range_by_base(target, c, ignore_index):
    """Whether target, a GPU view of a larger base tensor, is known in [0, c) with no entry equal
    to ignore_index from its base's range alone (see the Note above)."""
    base = target._base
    if (base is None or type(base._data) is np.ndarray or target._version_counter is not base._version_counter
            or type(base._version_counter) is not list):        # (an inference tensor's counts nothing)
        return False
    b, t = base._data, target._data
    start = t.data.ptr
    end = start + sum((n - 1) * st for n, st in zip(t.shape, t.strides)) + t.itemsize
    if not b.data.ptr <= start < end <= b.data.ptr + b.nbytes:
        return False                        # (base's data replaced since the view was taken)
    version = base._version_counter[0]
    known = base.__dict__.get("_class_index_range")
    if known is None or known[0] != version or known[1] is not b:
        if b.dtype != np.int64 or not b.size:
            return False
        known = base.__dict__["_class_index_range"] = (version, b, *index_range(b.reshape(-1)))
    lo, hi = known[2:]
    return 0 <= lo and hi < c and not lo <= ignore_index <= hi


def _to_rows(a, xp):
    """(N, C, d1, ...) -> (N*d1*..., C); (C,) -> (1, C)."""
    if a.ndim == 1:
        return a.reshape(1, -1)
    if a.ndim == 2:
        return a
    return xp.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


def _from_rows(t, shape):
    """Inverse of _to_rows for a Tensor of shape (M, C)."""
    if len(shape) == 1:
        return t.reshape(shape)
    if len(shape) == 2:
        return t
    lead = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return t.reshape(lead).movedim(-1, 1)


def _loss_shape(input_shape):
    if len(input_shape) == 1:
        return ()
    return (input_shape[0],) + tuple(input_shape[2:])


def _log_softmax_rows(x, log_probs, xp):
    if log_probs:
        return x
    z = x - x.max(axis=1, keepdims=True)
    return z - xp.log(xp.exp(z).sum(axis=1, keepdims=True))


class _CrossEntropy(Function):
    """loss_i = -sum_c q_ic log_softmax(x_i)_c; backward (softmax(x) * sum_c q - q) * grad."""
    _node_name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, input, target, weight, options):
        ignore_index, reduction, label_smoothing, log_probs = options
        a = input._data
        xp = _xp.array_module(a)
        x = _to_rows(a, xp)
        ctx.rows_shape, ctx.lse = x.shape, None
        picked = None
        if weight is None and not label_smoothing and not target.is_floating_point():
            # class indices alone (the common case): pick log-probabilities, no dense target
            picked = rows, safe, valid = _index_targets(target, x.shape[1], ignore_index, xp, need_mask=False,
                                                        need_rows=False)
        if (picked is not None and valid is None and x.shape[0] and a.ndim == 2 and not log_probs
                and a.shape[1] <= _cuda_kernels.CROSS_ENTROPY_MAX_CLASSES and _cuda_kernels.usable(a)):
            # nothing ignored, on the GPU: one kernel for the log-softmax and the pick
            logp = None
            per, ctx.lse = _cuda_kernels.cross_entropy(x, safe)
            denom = x.shape[0]
            ctx.q, ctx.picked = None, picked
        elif picked is not None:
            rows = xp.arange(x.shape[0])
            logp = _log_softmax_rows(x, log_probs, xp)
            if valid is None:                           # nothing ignored: no mask to apply
                per = -logp[rows, safe]
                denom = rows.shape[0]
            else:
                valid = valid.astype(a.dtype)
                per = 0.0 - logp[rows, safe] * valid    # (0 - x, not -x: an ignored target's loss is +0)
                denom = valid.sum()
            ctx.q, ctx.picked = None, (rows, safe, valid)
        else:
            logp = _log_softmax_rows(x, log_probs, xp)
            q, denom, unweighted = _class_targets("cross_entropy", x.shape, target, weight, ignore_index,
                                                  label_smoothing, xp, a.dtype)
            if not target.is_floating_point():
                valid = unweighted
            per = 0.0 - (q * logp).sum(axis=1)         # (+0, not -0, where q is all 0: ignored targets)
            ctx.q, ctx.picked = q, None
            if target.is_floating_point():
                ctx.unweighted = unweighted
                ctx.w = None if weight is None else weight._data.astype(a.dtype, copy=False)
        ctx.reduction, ctx.shape, ctx.log_probs = reduction, input.shape, log_probs
        # (the fused path's backward divides inside its kernel: no upload unless differentiated twice)
        ctx.denom = None if ctx.lse is not None else _make(xp.asarray(denom, dtype=a.dtype))
        if reduction == "mean" and not target.is_floating_point() and valid is not None:
            # every target ignored: the loss is nan, its gradient 0 (not 0/0), as torch
            ctx.denom = _make(xp.where(valid.any(), ctx.denom._data, xp.asarray(1, dtype=a.dtype)))
        ctx.label_smoothing = label_smoothing
        floating = target.is_floating_point()
        ctx.save_for_backward(input, target if floating else None, weight if floating else None)
        ctx.logp = logp
        if reduction == "none":
            return per.reshape(_loss_shape(input.shape))
        if reduction == "mean" and ctx.lse is not None:
            return per.mean()           # sum / N in one reduction
        total = per.sum()
        return xp.asarray(total / denom if reduction == "mean" else total, dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        input, target, weight = ctx.saved_tensors
        xp = _xp.array_module(input._data)
        if ctx.lse is not None and not grad_mode.is_grad_enabled():
            # the fused forward's gradient: one kernel, the mean's division inside it
            g = grad._data.reshape(-1, 1) if ctx.reduction == "none" else grad._data
            gi = _cuda_kernels.cross_entropy_backward(input._data, ctx.picked[1], ctx.lse, g,
                                                      ctx.rows_shape[0] if ctx.reduction == "mean" else 1)
            return _from_rows(_make(gi), ctx.shape), None, None, None
        if ctx.denom is None:
            ctx.denom = _make(xp.asarray(ctx.rows_shape[0], dtype=input._data.dtype))
        if ctx.reduction == "none":
            g = grad.reshape(-1, 1)
        elif ctx.reduction == "mean":
            g = grad / ctx.denom
        else:
            g = grad
        grad_input = grad_target = None
        if target is not None and grad_mode.is_grad_enabled():
            # probabilities, differentiated again: the gradients as flambeau ops of both input and target
            # (the mixed second derivatives), q = t (1 - eps) + eps / C, times the class weights
            x, t = _from_rows_input(input), _from_rows_input(target)
            eps = ctx.label_smoothing
            w = weight
            smoothed = t * (1 - eps) + eps / x.shape[1] if eps else t
            q = smoothed if w is None else smoothed * w
            logp = _reduction.log_softmax(x, 1)
            if ctx.needs_input_grad[0]:
                grad_input = _from_rows((_reduction.softmax(x, 1) * q.sum(1, keepdim=True) - q) * g, ctx.shape)
            if ctx.needs_input_grad[1]:
                gt = logp * -(1 - eps)
                grad_target = _from_rows((gt if w is None else gt * w) * g, ctx.shape)
            grad_weight = (-smoothed * logp * g).sum(0) if ctx.needs_input_grad[2] else None
            return grad_input, grad_target, grad_weight, None
        if ctx.needs_input_grad[0]:
            if ctx.picked is not None and not ctx.log_probs and not grad_mode.is_grad_enabled():
                rows, safe, valid = ctx.picked                  # softmax - onehot, on kept rows
                p = xp.exp(ctx.logp)
                if valid is None:
                    p[rows, safe] -= 1
                else:
                    p *= valid[:, None]
                    p[rows, safe] -= valid
                gi = _make(p) * g
            else:
                q = _make(_dense_targets(ctx))
                if ctx.log_probs:                               # d/dlogp = -q (+0, not -0, off the targets)
                    gi = (0.0 - q) * g
                elif grad_mode.is_grad_enabled():               # differentiable again
                    x = input if input.ndim == 2 else _from_rows_input(input)
                    gi = (_reduction.softmax(x, 1) * q.sum(1, keepdim=True) - q) * g
                else:
                    p = _make(xp.exp(ctx.logp))
                    gi = (p * q.sum(1, keepdim=True) - q) * g
            grad_input = _from_rows(gi, ctx.shape)
        grad_weight = None
        if target is not None and ctx.needs_input_grad[1]:      # d/dt = -(1 - eps) w logp
            gt = -ctx.logp * (1 - ctx.label_smoothing)
            grad_target = _from_rows(_make(gt if ctx.w is None else gt * ctx.w) * g, ctx.shape)
        if target is not None and ctx.needs_input_grad[2]:      # d/dw_c = -sum_i t_ic logp_ic
            grad_weight = (_make(-ctx.unweighted * ctx.logp) * g).sum(0)
        return grad_input, grad_target, grad_weight, None


def _dense_targets(ctx):
    """The (M, C) target distribution q of a cross-entropy node (built from picked indices if needed)."""
    if ctx.q is not None:
        return ctx.q
    rows, safe, valid = ctx.picked
    xp = _xp.array_module(safe)
    if rows is None:                    # the GPU kernel's forward made none
        rows = xp.arange(ctx.rows_shape[0])
    q = xp.zeros(ctx.rows_shape, dtype=ctx.saved_tensors[0]._data.dtype)
    q[rows, safe] = 1 if valid is None else valid
    return q


def _from_rows_input(input):
    """input (N, C, d...) viewed as rows (M, C), as a differentiable flambeau op."""
    if input.ndim == 1:
        return input.reshape(1, -1)
    return input.movedim(1, -1).reshape(-1, input.shape[1])


def _check_class_input(name, input, target, weight):
    """As PyTorch: cross_entropy reads a target shaped like the input as class probabilities (which
    must be floating point), any other as class indices (int64 or uint8, shaped like the input
    without its class dim); nll_loss reads only class indices."""
    shape, tshape = input._data.shape, target._data.shape       # plain tuples: cheaper than Size
    if not shape:
        raise ValueError(f"Expected input to have at least 1 dimension, got a 0-D input ({name})")
    if tshape == shape and name == "cross_entropy":
        if not target.is_floating_point():
            raise RuntimeError(f"Expected floating point type for target with class probabilities, got "
                               f"{_type_word(target.dtype)}")
        return
    if len(shape) <= 2 and len(tshape) > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if target.dtype is not _dtype.int64 and target.dtype is not _dtype.uint8:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_type_word(target.dtype)}")
    if target.dtype is _dtype.uint8 and len(shape) > 2:     # PyTorch's nll_loss2d takes int64 alone
        raise RuntimeError("expected scalar type Long but found Byte")
    if len(shape) == 1:
        if tshape and tshape[0] != 1:               # (a one-sample batch of one target is read as it)
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {tshape[0]}")
    elif shape[0] != (tshape[0] if tshape else -1):
        raise ValueError(f"Expected input batch_size ({shape[0]}) to match target batch_size "
                         f"({tshape[0] if tshape else 0}).")
    elif len(shape) == 4 and len(tshape) != 3:     # PyTorch's nll_loss2d words its checks its own way
        raise RuntimeError(f"only batches of spatial targets supported (3D tensors) but got targets of dimension: "
                           f"{len(tshape)}")
    elif len(shape) == 4 and tshape[1:] != shape[2:]:
        raise RuntimeError(f"size mismatch (got input: {list(shape)} , target: {list(tshape)}")
    elif tshape[1:] != shape[2:]:
        raise RuntimeError(f"Expected target size {list(shape[:1] + shape[2:])}, got {list(tshape)}")
    c = shape[1] if len(shape) > 1 else shape[0]
    if weight is not None and weight.numel() != c:
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no classes but got "
                           f"weight tensor of shape: {list(weight.shape)}")


def _class_loss(name, input, target, weight, ignore_index, reduction, label_smoothing, log_probs):
    reduction = _check_reduction(reduction)
    _check_class_input(name, input, target, weight)
    check_same_device(name, input, target, weight)
    if target.is_floating_point() and ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if target.dtype is _dtype.uint8:
        target = target.long()          # class indices as bytes: the kernels read int64
    if not input.is_floating_point():
        _not_implemented("nll_loss_out_frame" if log_probs else "log_softmax_lastdim_kernel_impl", input.dtype)
    if target.is_floating_point() and target.dtype is not input.dtype:
        # probabilities: PyTorch's product of log_softmax(input) and target promotes (float16 with float32...)
        common = result_dtype(input, target)
        input, target = input.to(common), target.to(common)
    if not target.is_floating_point():
        _not_differentiable("nll_loss2d_forward" if input.ndim >= 3 else "nll_loss_forward", weight=weight)
    # PyTorch composes the losses of probabilities and of smoothed labels out of other ops: its node
    # is the last of them (a division by N for the probabilities' mean, a negation or an addition)
    if target.is_floating_point():
        loss_fn = _CrossEntropy.named("DivBackward1" if reduction == "mean" else "NegBackward0")
    else:
        loss_fn = _CrossEntropy.named("AddBackward0") if label_smoothing else _CrossEntropy
    return loss_fn.apply(input, target, weight, (ignore_index, reduction, label_smoothing, log_probs))


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """-log_softmax(input)[target] per sample (class indices), or -sum(target * log_softmax(input))
    (class probabilities), with optional class weights, ignore_index and label smoothing.

    input (N, C) or (N, C, d1, ...) or (C,); target (N) / (N, d1, ...) int64, or probabilities shaped like input.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_tensor("cross_entropy", input)
    _check_tensor("cross_entropy", target, "target")
    return _class_loss("cross_entropy", input, target, weight, ignore_index, reduction, label_smoothing, False)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """-input[target] per sample (input holds log-probabilities), weighted, ignoring ignore_index."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _class_loss("nll_loss", input, target, weight, ignore_index, reduction, 0.0, True)


def _loss_arrays(kernel, input, target, dtype=None):
    """input and target arrays in the loss's floating dtype (promoted unless given), after
    PyTorch's broadcasting check."""
    if input.shape != target.shape:
        broadcast_shapes(tuple(input.shape), tuple(target.shape))
    dt = dtype or result_dtype(input, target)
    if not dt.is_floating_point:
        _not_implemented(kernel, dt)
    a = input._data
    if a.dtype != dt.np:
        a = a.astype(dt.np)
    return a, operand(target, dt, a)


def _reduce_array(loss, reduction, xp):
    if reduction == "none":
        return loss
    total = loss.sum() if reduction == "sum" else loss.mean()
    return xp.asarray(total, dtype=loss.dtype)


def _grad_scale(ctx, grad, factor=1.0):
    """factor times the upstream gradient of each loss element (grad / n for 'mean')."""
    if ctx.reduction == "mean":
        factor = factor / max(ctx.numel, 1)
    return grad * factor if factor != 1 else grad


class _MseLoss(Function):
    """(input - target)^2, reduced."""
    _node_name = "MseLossBackward0"

    @staticmethod
    def forward(ctx, input, target, reduction):
        a, b = _loss_arrays("mse_cpu", input, target)
        d = a - b
        d *= d
        ctx.save_for_backward(input, target)
        ctx.reduction, ctx.numel = reduction, d.size
        return _reduce_array(d, reduction, _xp.array_module(a))

    @staticmethod
    def backward(ctx, grad):                    # 2 (input - target), and its negative for target
        input, target = ctx.saved_tensors
        g = (input - target) * _grad_scale(ctx, grad, 2.0)
        return g if ctx.needs_input_grad[0] else None, -g if ctx.needs_input_grad[1] else None, None


def _weighted_loss(loss, weight, input, reduction):
    """PyTorch's weighted mse/l1 loss: the weighted sum, divided by the sum of the weights for 'mean'."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    return loss.sum() / weight.sum() if reduction == "mean" else _reduce(loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """(input - target)^2."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    _warn_size("mse_loss", input, target)
    if weight is not None:
        return _weighted_loss((input - target) ** 2, weight, input, reduction)
    return _MseLoss.apply(input, target, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """|input - target| (composed in PyTorch too: its node is the reduction's or AbsBackward0)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    _warn_size("l1_loss", input, target)
    loss = (input - target).abs()
    if weight is not None:
        return _weighted_loss(loss, weight, input, reduction)
    return _reduce(loss, reduction)


class _HuberLoss(Function):
    """scale * (0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta)), d = input - target;
    smooth_l1_loss is this with delta = beta, scale = 1 / beta."""
    _node_name = "HuberLossBackward0"

    @staticmethod
    def forward(ctx, input, target, reduction, delta, scale, kernel, dtype):
        a, b = _loss_arrays(kernel, input, target, dtype)
        xp = _xp.array_module(a)
        d = xp.abs(a - b)
        large = d - 0.5 * delta
        if delta * scale != 1:
            large *= delta * scale
        loss = select(d < delta, d * d * (0.5 * scale), large)
        ctx.save_for_backward(input, target)
        ctx.reduction, ctx.numel, ctx.delta, ctx.scale = reduction, loss.size, delta, scale
        return _reduce_array(loss, reduction, xp)

    @staticmethod
    def backward(ctx, grad):                    # scale * clamp(d, -delta, delta)
        input, target = ctx.saved_tensors
        g = (input - target).clamp(-ctx.delta, ctx.delta) * _grad_scale(ctx, grad, ctx.scale)
        return (g if ctx.needs_input_grad[0] else None, -g if ctx.needs_input_grad[1] else None,
                None, None, None, None, None)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta, d = input - target."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    _warn_size("smooth_l1_loss", input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:                               # l1_loss, as in PyTorch
        return _reduce((input - target).abs(), reduction)
    return _HuberLoss.named("SmoothL1LossBackward0").apply(input, target, reduction, beta, 1.0 / beta,
                                                          "smooth_l1_cpu", None)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta), d = input - target."""
    reduction = _check_reduction(reduction)
    _warn_size("huber_loss", input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    # PyTorch's huber result has the input's dtype (a floating one), the target's is cast to it
    dtype = input.dtype if input.is_floating_point() else None
    promoted = result_dtype(input, target)
    if dtype is None and promoted.is_floating_point:
        raise RuntimeError(f"result type {_type_word(promoted)} can't be cast to the desired output type "
                           f"{_type_word(input.dtype)}")
    if weight is None:
        return _HuberLoss.apply(input, target, reduction, delta, 1.0, "huber_cpu", dtype)
    loss = _HuberLoss.apply(input, target, "none", delta, 1.0, "huber_cpu", dtype)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    return _reduce(loss * weight, reduction)


class _BinaryCrossEntropy(Function):
    """-w (t log(x) + (1 - t) log(1 - x)), each log clamped to >= -100."""
    _node_name = "BinaryCrossEntropyBackward0"

    @staticmethod
    def forward(ctx, input, target, weight, reduction):
        a, t = input._data, target._data
        xp = _xp.array_module(a)
        loss = (t - 1) * xp.maximum(xp.log1p(-a), -100)
        loss -= t * xp.maximum(xp.log(a), -100)
        if weight is not None:
            loss *= operand(weight, input.dtype, a)
        ctx.save_for_backward(input, target, weight)
        ctx.reduction, ctx.numel = reduction, loss.size
        return _reduce_array(loss, reduction, xp)

    @staticmethod
    def backward(ctx, grad):
        input, target, weight = ctx.saved_tensors
        g = _grad_scale(ctx, grad)
        if weight is not None:
            g = g * weight
        gi = gt = None
        if ctx.needs_input_grad[0]:             # (x - t) / max(x (1 - x), 1e-12)
            gi = (input - target) / ((1 - input) * input).clamp(min=1e-12) * g
        if ctx.needs_input_grad[1]:             # -logit(x)
            gt = -input.logit() * g
        return gi, gt, None, None


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-w (t log(x) + (1 - t) log(1 - x)), each log clamped to >= -100."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size "
                         f"({input.shape}) is deprecated. Please ensure they have the same size.")
    if not input.is_floating_point():
        _not_implemented("binary_cross_entropy", input.dtype)
    if target.dtype is not input.dtype:
        raise RuntimeError(f"Found dtype {_type_word(target.dtype)} but expected {_type_word(input.dtype)}")
    check_same_device("binary_cross_entropy", input, target, weight)
    _not_differentiable("binary_cross_entropy", weight=weight)
    a = input._data
    xp = _xp.array_module(a)
    if xp is np and a.size:
        # PyTorch checks element by element, input then target, so the first bad element names the culprit;
        # NaN is out of range too
        bad_input = ~((a >= 0) & (a <= 1)).reshape(-1)
        t = target._data
        bad = bad_input | ~((t >= 0) & (t <= 1)).reshape(-1)
        if bad.any():
            culprit = "input" if bad_input[int(bad.argmax())] else "target"
            raise RuntimeError(f"all elements of {culprit} should be between 0 and 1")
    return _BinaryCrossEntropy.apply(input, target, weight, reduction)


def _not_differentiable(op, **arguments):
    """PyTorch's refusal, while a graph is recorded, of a tensor requiring grad as an argument its op
    has no derivative for (a loss's class weights...)."""
    for name, t in arguments.items():
        if t is not None and recording(t):
            raise RuntimeError(f"The function '{op}' is not differentiable with respect to argument '{name}'. "
                               "This input cannot have requires_grad True.")


class _BinaryCrossEntropyWithLogits(Function):
    """-w (pos_weight t log(sigmoid(x)) + (1 - t) log(1 - sigmoid(x))) in PyTorch's form,
    (1 - t) x - log_weight log(sigmoid(x)), log_weight = (pos_weight - 1) t + 1: infinite logits give
    its NaN losses. Each step writes in place there, so the loss has the target's dtype and the
    weights must broadcast to the input's shape."""
    _node_name = "BinaryCrossEntropyWithLogitsBackward0"

    @staticmethod
    def forward(ctx, input, target, weight, pos_weight, reduction):
        a, t = input._data, target._data
        xp = _xp.array_module(a)
        dt = t.dtype
        x = _float_data(input, "log_sigmoid_cpu")       # (half precision: in float32, as log_sigmoid's)
        log_sig = (xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))).astype(a.dtype, copy=False)
        if pos_weight is not None:
            log_sig = (log_sig * ((operand(pos_weight, pos_weight.dtype, a) - 1) * t + 1)).astype(a.dtype, copy=False)
        loss = ((1 - t) * a).astype(dt, copy=False)
        loss = (loss - log_sig).astype(dt, copy=False)
        if weight is not None:
            loss = (loss * operand(weight, weight.dtype, a)).astype(dt, copy=False)
        ctx.save_for_backward(input, target, weight, pos_weight)
        ctx.reduction, ctx.numel = reduction, loss.size
        return _reduce_array(loss, reduction, xp)

    @staticmethod
    def backward(ctx, grad):
        input, target, weight, pos_weight = ctx.saved_tensors
        g = _grad_scale(ctx, grad)
        if weight is not None:
            g = g * weight
        gi = gt = None
        if ctx.needs_input_grad[0]:             # log_weight sigmoid(x) - pos_weight t
            if pos_weight is None:
                gi = (input.sigmoid() - target) * g
            else:
                gi = (((pos_weight - 1) * target + 1) * input.sigmoid() - pos_weight * target) * g
            gi = gi.to(input.dtype)
        if ctx.needs_input_grad[1]:             # -x - (pos_weight - 1) log(sigmoid(x))
            gt = -input if pos_weight is None else -input - (pos_weight - 1) * logsigmoid(input)
            gt = (gt * g).to(target.dtype)
        return gi, gt, None, None, None


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """-w (pos_weight t log(sigmoid(x)) + (1 - t) log(1 - sigmoid(x))), computed stably."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    _not_differentiable("binary_cross_entropy_with_logits", weight=weight, pos_weight=pos_weight)
    check_same_device("binary_cross_entropy_with_logits", input, target, weight, pos_weight)
    if not input.is_floating_point():
        _not_implemented("log_sigmoid_cpu", input.dtype)
    shape = tuple(input.shape)
    for w in (pos_weight, weight):              # (multiplied in place into an input-shaped loss)
        if w is not None and broadcast_shapes(tuple(w.shape), shape) != shape:
            raise RuntimeError(f"output with shape {list(shape)} doesn't match the broadcast shape "
                               f"{list(broadcast_shapes(tuple(w.shape), shape))}")
    if target.dtype is _dtype.bool:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if not target.is_floating_point():          # (1 - target), an integer tensor, cannot hold the loss
        raise RuntimeError(f"result type {_type_word(result_dtype(input, target))} can't be cast to the desired "
                           f"output type {_type_word(target.dtype)}")
    return _BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """target * (log(target) - input) (input holds log-probabilities); 'batchmean' divides the sum by N."""
    legacy = size_average is not None or reduce is not None
    batchmean = reduction == "batchmean"        # (divides by N even when the legacy flags choose the sum)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction == "mean" and not legacy:          # (the legacy flags have their own warning)
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=caller_level())
    if reduction != "batchmean":
        reduction = _check_reduction(reduction)
    if input.is_complex() or target.is_complex():
        raise RuntimeError("kl_div: Complex inputs not supported.")
    if not (input.is_floating_point() and target.is_floating_point()):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = target.exp() * (target - input)
    else:           # xlogy: 0 where target is 0, and PyTorch's gradient there (NaN) for a target that needs one
        loss = _f().xlogy(target, target) - target * input
    if reduction == "batchmean":
        reduction = "sum"
    loss = _reduce(loss, reduction)
    if batchmean and input.ndim:
        loss = loss / input.shape[0]
    return loss


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -target * (input1 - input2) + margin)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} ")
    # the margin is a float, as PyTorch's: integer inputs give a floating loss
    loss = (-target * (input1 - input2) + float(margin)).clamp_min(0)
    return _reduce(loss, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """x where target == 1, max(0, margin - x) where target == -1."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    zero = _creation.zeros((), dtype=input.dtype, device=input.device)
    margin_part = _f().where(target != 1, (margin - input).clamp(min=0), zero)
    self_part = _f().where(target != -1, input, zero)
    return _reduce(margin_part + self_part, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) where target == 1, max(0, cos(x1, x2) - margin) where target == -1."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    if target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    expected = target.ndim + 1              # a batch of pairs for a batch of targets, one pair for one
    if input1.ndim != expected or input2.ndim != expected:
        raise RuntimeError(f"{target.ndim}D target tensor expects {expected}D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    eps = 1e-12
    d = target.ndim                         # (input1 * input2 raises PyTorch's error for mismatched sizes)
    prod = (input1 * input2).sum(d)
    m1 = (input1 * input1).sum(d) + eps
    m2 = (input2 * input2).sum(d) + eps
    cos = prod / (m1 * m2).sqrt()
    zero = _creation.zeros((), dtype=cos.dtype, device=cos.device)
    pos = _f().where(target == 1, 1 - cos, zero)
    neg = _f().where(target == -1, (cos - margin).clamp(min=0), zero)
    return _reduce(pos + neg, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """max(0, d(a, p) - d(a, n) + margin), d the p-norm pairwise distance."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _f().minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    loss = (margin + d_pos - d_neg).clamp_min(0)
    return _reduce(loss, reduction)


class _MultiMarginLoss(Function):
    """sum_{i != y} max(0, margin - x[y] + x[i])^p * weight[y] / C per sample, over rows (N, C)."""
    _node_name = "MultiMarginLossBackward0"

    @staticmethod
    def forward(ctx, input, target, weight, p, margin, reduction):
        a = input._data
        xp = _xp.array_module(a)
        x = a.reshape(-1, 1 if a.ndim == 0 else a.shape[-1])                # (N, C)
        y = target._data.reshape(-1)
        rows = xp.arange(x.shape[0])
        z = margin - x[rows, y][:, None] + x
        z = xp.maximum(z, 0)
        z[rows, y] = 0                          # (the target's own class takes no margin)
        scale = xp.full(y.shape, 1.0 / x.shape[1], dtype=a.dtype)
        if weight is not None:
            scale = scale * weight._data[y]
        per = ((z * z if p == 2 else z) * scale[:, None]).sum(axis=1)
        ctx.z, ctx.scale, ctx.rows, ctx.y, ctx.p = z, scale, rows, y, p
        ctx.reduction, ctx.numel, ctx.shape = reduction, per.size, input.shape
        if reduction == "none":
            return per.reshape(target.shape)    # (a 1-D input's loss is 0-D or (1,), as its target)
        return _reduce_array(per, reduction, xp)

    @staticmethod
    def backward(ctx, grad):                    # p z^(p-1) w[y] / C for each class in the margin, minus their sum at y
        z = ctx.z
        xp = _xp.array_module(z)
        dz = (2 * z if ctx.p == 2 else (z > 0).astype(z.dtype)) * ctx.scale[:, None]
        dz[ctx.rows, ctx.y] = -dz.sum(axis=1)
        g = _grad_scale(ctx, grad)
        g = g.reshape(-1, 1) if ctx.reduction == "none" else g
        return (_make(xp.asarray(dz)) * g).reshape(ctx.shape), None, None, None, None, None


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"):
    """sum_{j != y} max(0, margin - x[y] + x[j])^p / C, times weight[y]."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    _not_differentiable("multi_margin_loss", weight=weight)
    check_same_device("multi_margin_loss", input, target, weight)
    shape = list(input.shape)
    if not ((len(shape) == 2 and shape[1]) or (len(shape) == 1 and shape[0]) or not shape):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: {shape}")
    samples, classes = (shape[0], shape[1]) if len(shape) == 2 else (1, shape[0] if shape else 1)
    if target.ndim > 1 or target.numel() != samples:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{samples}], but got {list(target.shape)}. "
                           f"Input has shape {shape}.")
    if weight is not None and weight.numel() != classes:
        raise RuntimeError(f"inconsistent weight size, expected {classes} but got {list(weight.shape)}")
    if not input.is_floating_point():
        _not_implemented("multi_margin_loss_cpu_kernel", input.dtype)
    if target.dtype is not _dtype.int64:
        raise RuntimeError(f"expected scalar type Long but found {_type_word(target.dtype)}")
    if weight is not None and weight.dtype is not input.dtype:
        raise RuntimeError(f"expected scalar type {_type_word(input.dtype)} but found {_type_word(weight.dtype)}")
    if target.numel():
        lo, hi = index_range(target._data.reshape(-1))      # (a read by the host, as PyTorch's check)
        if lo < 0 or hi >= classes:
            raise RuntimeError("target out of range")
    return _MultiMarginLoss.apply(input, target, weight, p, float(margin), reduction)


class _SoftMarginLoss(Function):
    """log(1 + exp(-target * input)), in PyTorch's form (inf, and a NaN gradient, past exp's range),
    written into a loss shaped and typed as the input."""
    _node_name = "SoftMarginLossBackward0"

    @staticmethod
    def forward(ctx, input, target, reduction):
        a = input._data
        xp = _xp.array_module(a)
        t = operand(target, result_dtype(input, target), a)
        loss = xp.log1p(xp.exp(-t * a)).astype(a.dtype, copy=False)
        ctx.save_for_backward(input, target)
        ctx.reduction, ctx.numel = reduction, loss.size
        return _reduce_array(loss, reduction, xp)

    @staticmethod
    def backward(ctx, grad):                    # -t e / (1 + e), e = exp(-t x)
        input, target = ctx.saved_tensors
        e = (-target * input).exp()
        return (-target * e / (1 + e) * _grad_scale(ctx, grad)).to(input.dtype), None, None


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target * input))."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    _not_differentiable("soft_margin_loss", target=target)
    check_same_device("soft_margin_loss", input, target)
    shape, promoted = tuple(input.shape), result_dtype(input, target)
    if broadcast_shapes(tuple(target.shape), shape) != shape:
        raise RuntimeError(f"output with shape {list(shape)} doesn't match the broadcast shape "
                           f"{list(broadcast_shapes(tuple(target.shape), shape))}")
    if not input.is_floating_point():           # exp's floating result cannot go into an integer loss
        computed = promoted if promoted.is_floating_point else _dtype.get_default_dtype()
        raise RuntimeError(f"result type {_type_word(computed)} can't be cast to the desired output type "
                           f"{_type_word(input.dtype)}")
    return _SoftMarginLoss.apply(input, target, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-mean_c (t log sigmoid(x) + (1 - t) log sigmoid(-x))."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(input.ndim - 1) / input.shape[-1]
    if reduction not in ("none", "mean", "sum"):    # (reduced in Python by PyTorch: no 'elementwise_mean')
        raise ValueError(f"{reduction} is not valid")
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """exp(input) - target * input (log_input) or input - target * log(input + eps); full adds Stirling's term."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):    # PyTorch checks this one in Python: no 'elementwise_mean'
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:        # Stirling's term from 2 on, as PyTorch computes it (its target gradient included)
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 (log(max(var, eps)) + (input - target)^2 / max(var, eps)) (+ 0.5 log(2 pi) if full)."""
    if isinstance(var, numbers.Number):
        var = _creation.full(input.shape, float(var), dtype=input.dtype, device=input.device)
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):    # (reduced in Python by PyTorch: no 'elementwise_mean')
        raise ValueError(f"{reduction} is not valid")
    if bool((var._data < 0).any()):          # a read by the host on cuda, as torch's check is
        raise ValueError("var has negative entry/entries")
    var = var.clone()
    with grad_mode.no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
