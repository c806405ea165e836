"""Convolutions: conv1d, conv2d, conv_transpose1d, conv_transpose2d, unfold and fold.

Note [Convolution as one matrix product]
A convolution is a matrix product over sliding windows (im2col): the windows of the padded
input are an ``as_strided`` view (N, C, kh, kw, Ho, Wo) of it, copied once into a column
matrix and multiplied by the weight viewed as (groups, C_out/groups, C/groups*kh*kw).
Two layouts of the columns serve different shapes:

- "sample": columns (N, G, K, L), one product per sample and group. Best when the output
  plane L = Ho*Wo is large: the output comes out as (N, C_out, Ho, Wo) with no transpose.
- "gemm": columns (G, K, L*N), batch last, one product per group over the whole batch. Best
  when L is small (late layers): a few big products beat many small ones. With the batch as
  the last axis, im2col and col2im move contiguous runs of Wo*N elements instead of Wo; the
  input, output and output gradient are transposed to and from batch last (small copies).

The gradient for the input is the adjoint of im2col (col2im): the product with the weight
gives per-window gradients, which are added back to the input by a loop over the kh*kw
kernel offsets, each a strided add over everything else. That adjoint is also the forward
of the transposed convolution. The three bilinear maps

    conv(x, w)           -> y      (_Conv)
    conv_transpose(y, w) -> x      (_ConvTranspose, the adjoint of conv in x)
    weight_grad(x, y)    -> w      (_ConvWeight, the adjoint of conv in w)

are each other's derivatives, so every backward is written with these Functions and can be
differentiated again.

Everything is 2-D inside: 1-D convolutions run as 2-D ones over a height of 1.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import _xp
from .._tensor import Tensor
from ..autograd.function import Function

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]

# Output planes at least this large use the per-sample layout (see the Note above).
_PER_SAMPLE_MIN_PLANE = 256


class _Geometry:
    """Stride, padding (top, bottom, left, right), dilation and groups of a 2-D convolution."""
    __slots__ = ("stride", "pad", "dilation", "groups")

    def __init__(self, stride, pad, dilation, groups):
        self.stride, self.pad, self.dilation, self.groups = stride, pad, dilation, groups

    def out_size(self, h, w, kh, kw):
        (sh, sw), (t, b, l, r), (dh, dw) = self.stride, self.pad, self.dilation
        return (h + t + b - dh * (kh - 1) - 1) // sh + 1, (w + l + r - dw * (kw - 1) - 1) // sw + 1


def _layout(n, plane):
    return "sample" if plane >= _PER_SAMPLE_MIN_PLANE or n == 1 else "gemm"


# Note [Two halves of a batch on two threads]
# NumPy's copies and products and the compiled pooling kernels release the GIL, while
# OpenBLAS does not thread the small per-sample products. On a machine with two or more
# cores, a large enough batch of NumPy arrays is split in two halves computed at once, one
# on a helper thread, one on the calling thread. Each half writes its own slice of the
# output (the weight gradient adds the two halves' sums). flambeau.get_num_threads() < 2
# turns the split off.
_SPLIT_MIN_ELEMENTS = 1 << 18
_executor = []


def _helper_thread():
    if not _executor:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        _executor.append(ThreadPoolExecutor(1, thread_name_prefix="flambeau-batch") if cores >= 2 else None)
    return _executor[0]


def split_batch(fn, n, elements, array):
    """[fn(0, n)], or [fn(0, n//2), fn(n//2, n)] run at once for large NumPy work."""
    ex = _helper_thread() if type(array) is np.ndarray and n >= 2 and elements >= _SPLIT_MIN_ELEMENTS else None
    if ex is None or threading.current_thread().name.startswith("flambeau-batch"):    # never wait on itself
        return [fn(0, n)]
    from .. import get_num_threads         # flambeau.set_num_threads(1) turns the split off
    if get_num_threads() < 2:
        return [fn(0, n)]
    mid = n // 2
    from .._threads import single_threaded_blas
    with single_threaded_blas():           # our two threads, not BLAS's, use the cores here
        later = ex.submit(fn, mid, n)
        first = fn(0, mid)
        return [first, later.result()]


# ---------------------------------------------------------------------------------------
# Array kernels (NumPy or CuPy arrays in, arrays out)
# ---------------------------------------------------------------------------------------

def _pad(x, pad):
    t, b, l, r = pad
    if not (t or b or l or r):
        return x
    xp = _xp.array_module(x)
    n, c, h, w = x.shape
    out = xp.zeros((n, c, h + t + b, w + l + r), x.dtype)
    out[:, :, t:t + h, l:l + w] = x
    return out


# Note [Transposing to and from batch last]
# The batch-last layout moves a whole batch between (N, M) and (M, N) (M = C*H*W). With M*4
# bytes a power of two (32*8*8 floats: 8 KiB), reading down a column of (N, M) hits one
# cache set over and over, and NumPy's transposing copy runs ~10x slower than a plain copy.
# On the CPU, when numba is installed, a compiled loop walks the side whose stride is not
# such a power of two.
_transpose_kernel = []


def _transpose_2d(a):
    """A contiguous copy of a.T for a 2-D array a."""
    xp = _xp.array_module(a)
    if type(a) is np.ndarray:
        if not _transpose_kernel:
            try:
                import numba
            except ImportError:
                _transpose_kernel.append(None)
            else:
                @numba.njit(cache=True, nogil=True)
                def transpose(src, dst, by_source_rows):
                    rows, cols = src.shape
                    if by_source_rows:
                        for i in range(rows):
                            for j in range(cols):
                                dst[j, i] = src[i, j]
                    else:
                        for j in range(cols):
                            for i in range(rows):
                                dst[j, i] = src[i, j]
                _transpose_kernel.append(transpose)
        kernel = _transpose_kernel[0]
        if kernel is not None and a.dtype.kind in "fiub":
            out = np.empty(a.shape[::-1], a.dtype)
            # walk the array whose row stride has the smaller power-of-two factor
            src_row, dst_row = a.strides[0], out.strides[0]
            kernel(a, out, (dst_row & -dst_row) <= (src_row & -src_row) if src_row > 0 else True)
            return out
    return xp.ascontiguousarray(a.T)


def _batch_last(x, pad):
    """x (N, C, H, W) as a contiguous (C, H + t + b, W + l + r, N) array, zero padded."""
    xp = _xp.array_module(x)
    t, b, l, r = pad
    n, c, h, w = x.shape
    xt = _transpose_2d(x.reshape(n, c * h * w)).reshape(c, h, w, n)
    if not (t or b or l or r):
        return xt
    out = xp.zeros((c, h + t + b, w + l + r, n), x.dtype)
    out[:, t:t + h, l:l + w, :] = xt
    return out


def _im2col(x, kh, kw, geo, layout, out=None):
    """Columns of x (N, C, H, W): (N, G, C/G*kh*kw, Ho*Wo) or, batch last, (G, C/G*kh*kw, Ho*Wo*N).

    For the "sample" layout, ``out`` (N, G, K, L) receives the columns without a temporary.
    """
    n, c, h, w = x.shape
    ho, wo = geo.out_size(h, w, kh, kw)
    g = geo.groups
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    if layout == "sample":
        xpad = _pad(x, geo.pad)
        s0, s1, s2, s3 = xpad.strides
        win = _xp.as_strided(xpad, (n, g, c // g, kh, kw, ho, wo),
                             (s0, s1 * (c // g), s1, s2 * dh, s3 * dw, s2 * sh, s3 * sw))
        if out is not None:
            out.reshape(win.shape)[...] = win
            return out
        return win.reshape(n, g, (c // g) * kh * kw, ho * wo)
    # batch last: every copy below moves contiguous runs of Wo*N (stride 1) or N elements
    xt = _batch_last(x, geo.pad)
    s1, s2, s3, s0 = xt.strides
    win = _xp.as_strided(xt, (g, c // g, kh, kw, ho, wo, n),
                         (s1 * (c // g), s1, s2 * dh, s3 * dw, s2 * sh, s3 * sw, s0))
    return win.reshape(g, (c // g) * kh * kw, ho * wo * n)


def _col2im(wgrad, out_hw, geo, layout="sample"):
    """Adjoint of im2col: per-window gradients summed into (N, G*Cg, H, W).

    wgrad is (N, G, Cg, kh, kw, Ho, Wo) for the "sample" layout, (G, Cg, kh, kw, Ho, Wo, N) for
    "gemm"; the sum keeps that order of axes, so that every add moves contiguous runs.
    """
    xp = _xp.array_module(wgrad)
    if layout == "sample":
        n, g, cg, kh, kw, ho, wo = wgrad.shape
    else:
        g, cg, kh, kw, ho, wo, n = wgrad.shape
    h, w = out_hw
    t, b, l, r = geo.pad
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    hp, wp = h + t + b, w + l + r
    if layout == "sample":
        out = xp.zeros((n, g, cg, hp, wp), wgrad.dtype)
        for i in range(kh):
            for j in range(kw):
                # add through a view: ``out[key] += v`` would write the sum back a second time
                dst = out[..., i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]
                dst += wgrad[:, :, :, i, j]
        out = out.reshape(n, g * cg, hp, wp)
        if t or b or l or r:
            out = xp.ascontiguousarray(out[:, :, t:t + h, l:l + w])
        return out
    out = xp.zeros((g, cg, hp, wp, n), wgrad.dtype)
    for i in range(kh):
        for j in range(kw):
            dst = out[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw, :]
            dst += wgrad[:, :, i, j]
    out = _transpose_2d(out.reshape(g * cg * hp * wp, n)).reshape(n, g * cg, hp, wp)
    if t or b or l or r:
        out = xp.ascontiguousarray(out[:, :, t:t + h, l:l + w])
    return out


def _grad_batch_last(gy, g):
    """gy (N, Co, Ho, Wo) as (G, Co/G, Ho*Wo*N)."""
    n, co, ho, wo = gy.shape
    return _transpose_2d(gy.reshape(n, co * ho * wo)).reshape(g, co // g, ho * wo * n)


def _conv_forward(x, w, geo, bias=None, layout=None):
    """y = conv(x, w) + bias for x (N, C, H, W), w (Co, C/G, kh, kw); returns (y, columns, layout)."""
    xp = _xp.array_module(x)
    n = x.shape[0]
    co, cg, kh, kw = w.shape
    g = geo.groups
    ho, wo = geo.out_size(x.shape[2], x.shape[3], kh, kw)
    layout = layout or _layout(n, ho * wo)
    wm = w.reshape(g, co // g, cg * kh * kw)
    if layout == "sample":
        cols = xp.empty((n, g, cg * kh * kw, ho * wo), x.dtype)
        y = xp.empty((n, g, co // g, ho * wo), x.dtype)

        def half(lo, hi):       # see Note [Two halves of a batch on two threads]
            _im2col(x[lo:hi], kh, kw, geo, layout, out=cols[lo:hi])
            xp.matmul(wm, cols[lo:hi], out=y[lo:hi])
            if bias is not None:
                part = y[lo:hi]
                part += bias.reshape(g, co // g, 1)
        split_batch(half, n, y.size, x)
        return y.reshape(n, co, ho, wo), cols, layout
    cols = _im2col(x, kh, kw, geo, layout)
    y = xp.matmul(wm, cols)                                                  # (G, Co/G, L*N)
    y = _transpose_2d(y.reshape(co * ho * wo, n)).reshape(n, co, ho, wo)
    if bias is not None:
        y += bias.reshape(1, co, 1, 1)
    return y, cols, layout


def _conv_weight_grad(x, gy, w_shape, geo, cols=None, layout=None):
    """dL/dw of y = conv(x, w) given gy = dL/dy (also the columns of x when already made)."""
    xp = _xp.array_module(gy)
    n, co, ho, wo = gy.shape
    g = geo.groups
    layout = layout or _layout(n, ho * wo)
    if cols is None:
        cols = _im2col(x, w_shape[2], w_shape[3], geo, layout)
    if layout == "sample":
        gm = gy.reshape(n, g, co // g, ho * wo)
        parts = split_batch(lambda lo, hi: xp.matmul(gm[lo:hi], cols[lo:hi].transpose(0, 1, 3, 2)).sum(0),
                            n, gm.size, gm)
        gw = parts[0] if len(parts) == 1 else parts[0] + parts[1]           # (G, Co/G, K)
    else:
        gw = xp.matmul(_grad_batch_last(gy, g), cols.transpose(0, 2, 1))     # (G, Co/G, K)
    return gw.reshape(w_shape)


def _conv_input_grad(gy, w, out_hw, geo):
    """dL/dx of y = conv(x, w), x of spatial size out_hw; also conv_transpose(gy, w)."""
    if type(gy) is not np.ndarray and geo.stride == (1, 1) and _padding_within_kernel(w, geo):
        return _full_convolution(gy, w, geo)
    xp = _xp.array_module(gy)
    n, co, ho, wo = gy.shape
    _, cg, kh, kw = w.shape
    g = geo.groups
    wt = w.reshape(g, co // g, cg * kh * kw).transpose(0, 2, 1)              # (G, K, Co/G)
    if _layout(n, ho * wo) == "sample":
        gm = gy.reshape(n, g, co // g, ho * wo)
        gx = xp.empty((n, g * cg) + tuple(out_hw), gy.dtype)

        def half(lo, hi):
            cols = xp.matmul(wt, gm[lo:hi])                                  # (N, G, K, L)
            gx[lo:hi] = _col2im(cols.reshape(hi - lo, g, cg, kh, kw, ho, wo), out_hw, geo)
        split_batch(half, n, gx.size, gy)
        return gx
    cols = xp.matmul(wt, _grad_batch_last(gy, g))                            # (G, K, L*N)
    return _col2im(cols.reshape(g, cg, kh, kw, ho, wo, n), out_hw, geo, "gemm")


def _padding_within_kernel(w, geo):
    (dh, dw), (t, b, l, r) = geo.dilation, geo.pad
    eh, ew = (w.shape[2] - 1) * dh, (w.shape[3] - 1) * dw
    return max(t, b) <= eh and max(l, r) <= ew


def _full_convolution(gy, w, geo):
    """dL/dx of a stride-1 convolution, as a convolution: gy padded by the kernel's extent
    (less the forward padding), with w flipped and its two channel axes swapped (per group).

    One im2col and one product instead of col2im's kh*kw strided adds: on a GPU, where each
    array operation is a kernel launch, that is the cheaper way.
    """
    co, cg, kh, kw = w.shape
    g = geo.groups
    (dh, dw), (t, b, l, r) = geo.dilation, geo.pad
    eh, ew = (kh - 1) * dh, (kw - 1) * dw
    wt = w.reshape(g, co // g, cg, kh, kw).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    wt = wt.reshape(g * cg, co // g, kh, kw)
    full = _Geometry((1, 1), (eh - t, eh - b, ew - l, ew - r), geo.dilation, g)
    return _conv_forward(gy, wt, full)[0]


# ---------------------------------------------------------------------------------------
# Autograd Functions
# ---------------------------------------------------------------------------------------

class _Conv(Function):
    """y = conv(x, w) + b (4-D)."""
    _node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, geo):
        y, cols, layout = _conv_forward(x._data, w._data, geo, None if b is None else b._data)
        ctx.geo = geo
        if ctx.needs_input_grad[1]:
            ctx.cols, ctx.layout = cols, layout      # reused by the weight gradient
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, w if ctx.needs_input_grad[0] else None)
        return y

    @staticmethod
    def backward(ctx, grad):        # dx = conv_transpose(grad, w), dw = weight_grad(x, grad), db = sum(grad)
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = gw = gb = None
        if need[0]:
            gx = _ConvTranspose.apply(grad, w, None, ctx.geo, tuple(ctx._input_meta[0][0][2:]))
        if need[1]:
            cols = ctx.__dict__.pop("cols", None)
            gw = _ConvWeight.apply(x, grad, tuple(ctx._input_meta[1][0]), ctx.geo, cols,
                                   ctx.__dict__.get("layout"))
        if need[2]:
            gb = grad.sum((0, 2, 3))
        return gx, gw, gb, None


class _ConvTranspose(Function):
    """x = conv_transpose(y, w) + b: the adjoint of conv in its input (4-D)."""
    _node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, y, w, b, geo, out_hw):
        x = _conv_input_grad(y._data, w._data, out_hw, geo)
        if b is not None:
            x += b._data.reshape(1, -1, 1, 1)
        ctx.geo = geo
        ctx.save_for_backward(y if ctx.needs_input_grad[1] else None, w if ctx.needs_input_grad[0] else None)
        return x

    @staticmethod
    def backward(ctx, grad):        # dy = conv(grad, w), dw = weight_grad(grad, y), db = sum(grad)
        y, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gy = gw = gb = None
        if need[0]:
            gy = _Conv.apply(grad, w, None, ctx.geo)
        if need[1]:
            gw = _ConvWeight.apply(grad, y, tuple(ctx._input_meta[1][0]), ctx.geo, None, None)
        if need[2]:
            gb = grad.sum((0, 2, 3))
        return gy, gw, gb, None, None


class _ConvWeight(Function):
    """w = weight_grad(x, y): the adjoint of conv in its weight."""
    _node_name = "ConvolutionBackwardBackward0"

    @staticmethod
    def forward(ctx, x, y, w_shape, geo, cols, layout):
        ctx.geo = geo
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, y if ctx.needs_input_grad[0] else None)
        return _conv_weight_grad(x._data, y._data, w_shape, geo, cols, layout)

    @staticmethod
    def backward(ctx, grad):        # dx = conv_transpose(y, grad), dy = conv(x, grad)
        x, y = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = _ConvTranspose.apply(y, grad, None, ctx.geo, tuple(ctx._input_meta[0][0][2:])) if need[0] else None
        gy = _Conv.apply(x, grad, None, ctx.geo) if need[1] else None
        return gx, gy, None, None, None, None


class _Unfold(Function):
    """im2col: (N, C, H, W) -> (N, C*kh*kw, L)."""
    _node_name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, kernel, geo):
        ctx.kernel, ctx.geo, ctx.hw = kernel, geo, x.shape[2:]
        cols = _im2col(x._data, kernel[0], kernel[1], geo, "sample")
        return cols.reshape(cols.shape[0], -1, cols.shape[3])

    @staticmethod
    def backward(ctx, grad):        # the adjoint of im2col is col2im
        return _Fold.apply(grad, tuple(ctx.hw), ctx.kernel, ctx.geo), None, None


class _Fold(Function):
    """col2im: (N, C*kh*kw, L) -> (N, C, H, W), summing overlaps."""
    _node_name = "Col2ImBackward0"

    @staticmethod
    def forward(ctx, cols, out_hw, kernel, geo):
        ctx.kernel, ctx.geo = kernel, geo
        n, ck, _ = cols.shape
        kh, kw = kernel
        ho, wo = geo.out_size(out_hw[0], out_hw[1], kh, kw)
        wgrad = cols._data.reshape(n, 1, ck // (kh * kw), kh, kw, ho, wo)   # "sample" layout
        return _col2im(wgrad, out_hw, geo)

    @staticmethod
    def backward(ctx, grad):        # the adjoint of col2im is im2col
        return _Unfold.apply(grad, ctx.kernel, ctx.geo), None, None, None


# ---------------------------------------------------------------------------------------
# Argument checking
# ---------------------------------------------------------------------------------------

def _int_tuple(value, n, name):
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match "
                           f"the convolution dimensions, but got {name}={list(value)}")
    return value


def _shape_str(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _check_operands(op, input, weight, bias, nd):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}() argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}() argument 'weight' (position 2) must be Tensor, not {type(weight).__name__}")
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(f"{op}() argument 'bias' (position 3) must be Tensor, not {type(bias).__name__}")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {op}, but got input "
                           f"of size: {_shape_str(input.shape)}")
    if weight.ndim != nd + 2:
        raise RuntimeError(f"weight should have at least three dimensions" if weight.ndim < 3 else
                           f"expected stride to be a single integer value or a list of {weight.ndim - 2} values "
                           f"to match the convolution dimensions, but got stride={[1] * nd}")
    for t in (weight, bias):
        if t is not None and t.dtype is not input.dtype:
            raise RuntimeError(f"expected scalar type {_type_word(input)} but found {_type_word(t)}")
        if t is not None and t.device != input.device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                               f"{input.device} and {t.device}! ({op})")
    if input.dtype.is_complex or input.dtype.name == "bool":
        raise RuntimeError(f"\"{op}\" not implemented for '{_type_word(input)}'")


def _type_word(t):
    from ._util import _type_word as word
    return word(t.dtype)


def _geometry(op, stride, padding, dilation, groups, kernel, nd):
    stride = _int_tuple(stride, nd, "stride")
    dilation = _int_tuple(dilation, nd, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = ()
            for d, k in zip(dilation, kernel):
                total = d * (k - 1)
                pads += (total // 2, total - total // 2)      # the extra one goes after, as PyTorch
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pads = tuple(p for p in _int_tuple(padding, nd, "padding") for _ in range(2))
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in pads):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if not isinstance(groups, (int, np.integer)) or groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if nd == 1:     # run as 2-D over a height of 1
        return _Geometry((1,) + stride, (0, 0) + pads, (1,) + dilation, int(groups))
    return _Geometry(stride, pads, dilation, int(groups))


def _batched(input, nd):
    return (input, False) if input.ndim == nd + 2 else (input.unsqueeze(0), True)


def _conv(op, input, weight, bias, stride, padding, dilation, groups, nd):
    _check_operands(op, input, weight, bias, nd)
    geo = _geometry(op, stride, padding, dilation, groups, tuple(weight.shape[2:]), nd)
    x, unbatched = _batched(input, nd)
    co, cg = weight.shape[0], weight.shape[1]
    g = geo.groups
    if co % g:
        raise RuntimeError(f"Given groups={g}, expected weight to be divisible by {g} at dimension 0, but got "
                           f"weight of size [{_shape_str(weight.shape)}] instead")
    if x.shape[1] != cg * g:
        raise RuntimeError(f"Given groups={g}, weight of size {_shape_str(weight.shape)}, expected "
                           f"input{_shape_str(x.shape)} to have {cg * g} channels, but got {x.shape[1]} "
                           f"channels instead")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != co):
        raise RuntimeError(f"Given weight of size {_shape_str(weight.shape)}, expected bias to be 1-dimensional "
                           f"with {co} elements, but got bias of size {_shape_str(bias.shape)} instead")
    w = weight
    if nd == 1:
        x, w = x.unsqueeze(2), weight.unsqueeze(2)
    h, wd = x.shape[2], x.shape[3]
    kh, kw = w.shape[2], w.shape[3]
    t, b, l, r = geo.pad
    (dh, dw) = geo.dilation
    if h + t + b < dh * (kh - 1) + 1 or wd + l + r < dw * (kw - 1) + 1:
        sizes = (h + t + b, wd + l + r)[2 - nd:]
        ks = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)[2 - nd:]
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, sizes))}). Kernel "
                           f"size: ({' x '.join(map(str, ks))}). Kernel size can't be greater than actual input "
                           f"size")
    out = _Conv.apply(x, w, bias, geo)
    if nd == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) over (N, C, H, W) or (C, H, W) input.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W).
        weight: (C_out, C_in/groups, kH, kW).
        bias: optional (C_out,).
        stride, padding, dilation: an int or a pair; padding may also be 'valid' or 'same'.
        groups: split the channels into this many independent convolutions.

    Example:
        >>> import flambeau
        >>> x = flambeau.ones(1, 1, 4, 4)
        >>> conv2d(x, flambeau.ones(1, 1, 3, 3)).shape
        torch.Size([1, 1, 2, 2])
    """
    return _conv("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over (N, C, L) or (C, L) input; arguments as conv2d, ints or 1-tuples."""
    return _conv("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def _conv_transpose(op, input, weight, bias, stride, padding, output_padding, groups, dilation, nd):
    _check_operands(op, input, weight, bias, nd)
    if isinstance(padding, str):
        raise TypeError(f"{op}(): argument 'padding' must be tuple of ints, not str")
    geo = _geometry(op, stride, padding, dilation, groups, tuple(weight.shape[2:]), nd)
    opad = _int_tuple(output_padding, nd, "output_padding")
    x, unbatched = _batched(input, nd)
    g = geo.groups
    cin, cog = weight.shape[0], weight.shape[1]
    if cin % g:
        raise RuntimeError(f"Given groups={g}, expected weight to be divisible by {g} at dimension 0, but got "
                           f"weight of size [{_shape_str(weight.shape)}] instead")
    if x.shape[1] != cin:
        raise RuntimeError(f"Given transposed=1, weight of size {_shape_str(weight.shape)}, expected "
                           f"input{_shape_str(x.shape)} to have {cin} channels, but got {x.shape[1]} channels "
                           f"instead")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != cog * g):
        raise RuntimeError(f"Given transposed=1, weight of size {_shape_str(weight.shape)}, expected bias to be "
                           f"1-dimensional with {cog * g} elements, but got bias of size "
                           f"{_shape_str(bias.shape)} instead")
    stride_nd, dil_nd = geo.stride[2 - nd:], geo.dilation[2 - nd:]
    if any(o < 0 for o in opad) or any(o >= s and o >= d for o, s, d in zip(opad, stride_nd, dil_nd)):
        names = ("height", "width") if nd == 2 else ("width",)
        parts = ([f"output_padding_{n}: {o}" for n, o in zip(names, opad)]
                 + [f"stride_{n}: {s}" for n, s in zip(names, stride_nd)]
                 + [f"dilation_{n}: {d}" for n, d in zip(names, dil_nd)])
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                           + " ".join(parts))
    w = weight
    if nd == 1:
        x, w = x.unsqueeze(2), weight.unsqueeze(2)
        opad = (0,) + opad
    kh, kw = w.shape[2], w.shape[3]
    (sh, sw), (t, b, l, r), (dh, dw) = geo.stride, geo.pad, geo.dilation
    oh = (x.shape[2] - 1) * sh - t - b + dh * (kh - 1) + opad[0] + 1
    ow = (x.shape[3] - 1) * sw - l - r + dw * (kw - 1) + opad[1] + 1
    if oh <= 0 or ow <= 0:
        raise RuntimeError(f"Given input size per channel: ({x.shape[2]} x {x.shape[3]}). Calculated output size "
                           f"per channel: ({oh} x {ow}). Output size is too small")
    out = _ConvTranspose.apply(x, w, bias, geo, (oh, ow))
    if nd == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution (the gradient of conv2d with respect to its input).

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W).
        weight: (C_in, C_out/groups, kH, kW).
        bias: optional (C_out,).
        stride, padding, output_padding, dilation: an int or a pair.

    Example:
        >>> import flambeau
        >>> conv_transpose2d(flambeau.ones(1, 1, 2, 2), flambeau.ones(1, 1, 3, 3)).shape
        torch.Size([1, 1, 4, 4])
    """
    return _conv_transpose("conv_transpose2d", input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 2)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution over (N, C, L) or (C, L) input; arguments as conv_transpose2d."""
    return _conv_transpose("conv_transpose1d", input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 1)


# ---------------------------------------------------------------------------------------
# unfold / fold
# ---------------------------------------------------------------------------------------

def _pair(value, name):
    return _int_tuple(value, 2, name)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks (im2col): (N, C, H, W) -> (N, C*kH*kW, L), or unbatched (C, H, W)."""
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.ndim}D)")
    kernel = _pair(kernel_size, "kernel_size")
    dil, pad, stride = _pair(dilation, "dilation"), _pair(padding, "padding"), _pair(stride, "stride")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: {kernel[0]} "
                           f"kernel_width: {kernel[1]}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {stride[0]} "
                           f"stride_width: {stride[1]}")
    if any(d <= 0 for d in dil):
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: {dil[0]} "
                           f"dilation_width: {dil[1]}")
    if any(p < 0 for p in pad):
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {pad[0]} pad_width: {pad[1]}")
    x, unbatched = (input, False) if input.ndim == 4 else (input.unsqueeze(0), True)
    geo = _Geometry(stride, (pad[0], pad[0], pad[1], pad[1]), dil, 1)
    ho, wo = geo.out_size(x.shape[2], x.shape[3], kernel[0], kernel[1])
    if ho < 1 or wo < 1:
        raise RuntimeError(f"Given input with spatial size ({x.shape[2]}, {x.shape[3]}), kernel_size=({kernel[0]}, "
                           f"{kernel[1]}), dilation=({dil[0]}, {dil[1]}), padding=({pad[0]}, {pad[1]}), "
                           f"calculated shape of the array of sliding blocks as ({ho}, {wo}), but its components "
                           f"must be at least one.")
    out = _Unfold.apply(x, kernel, geo)
    return out.squeeze(0) if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding local blocks into a tensor (col2im): (N, C*kH*kW, L) -> (N, C, H, W)."""
    if input.ndim not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
                                  f"(got {input.ndim}D)")
    out_hw = _pair(output_size, "output_size")
    kernel = _pair(kernel_size, "kernel_size")
    dil, pad, stride = _pair(dilation, "dilation"), _pair(padding, "padding"), _pair(stride, "stride")
    if any(k <= 0 for k in kernel) or any(s <= 0 for s in stride) or any(d <= 0 for d in dil) or any(
            p < 0 for p in pad):
        raise RuntimeError(f"fold(): kernel_size, stride and dilation must be positive and padding non-negative, "
                           f"but got kernel_size={kernel}, stride={stride}, dilation={dil}, padding={pad}")
    x, unbatched = (input, False) if input.ndim == 3 else (input.unsqueeze(0), True)
    kk = kernel[0] * kernel[1]
    if x.shape[1] % kk:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                           f"but got input.size(1)={x.shape[1]} and kernel_size=({kernel[0]}, {kernel[1]}).")
    geo = _Geometry(stride, (pad[0], pad[0], pad[1], pad[1]), dil, 1)
    ho, wo = geo.out_size(out_hw[0], out_hw[1], kernel[0], kernel[1])
    if x.shape[2] != ho * wo:
        raise RuntimeError(f"Given output_size=({out_hw[0]}, {out_hw[1]}), kernel_size=({kernel[0]}, {kernel[1]}), "
                           f"dilation=({dil[0]}, {dil[1]}), padding=({pad[0]}, {pad[1]}), stride=({stride[0]}, "
                           f"{stride[1]}), expected size of input's dimension 2 to match the calculated number of "
                           f"sliding blocks {ho} * {wo} = {ho * wo}, but got input.size(2)={x.shape[2]}.")
    out = _Fold.apply(x, out_hw, kernel, geo)
    return out.squeeze(0) if unbatched else out


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    raise NotImplementedError("conv3d: flambeau implements 1-D and 2-D convolutions only")


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    raise NotImplementedError("conv_transpose3d: flambeau implements 1-D and 2-D transposed convolutions only")
