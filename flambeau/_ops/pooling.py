"""Pooling: max/avg pooling (1-D, 2-D, 3-D), adaptive pooling, max_unpool.

Note [Pooling over window offsets]
The windows of the (padded) input are an ``as_strided`` view (N, C, *out, *kernel), in 2-D
(N, C, Ho, Wo, kh, kw); when kernel == stride (the common case) it is a plain reshape of the
input and needs no padded copy. Max pooling records, per output, the offset of the (first)
maximum in its window (i*kw + j in 2-D, row-major over the kernel), found by one argmax over
the windows copied as (N, C, *out, prod(kernel)). Its gradient is
written back window by window when windows are disjoint (one masked product, no scatter
with repeated indices) and added at flat indices when they overlap. Each step is one
array operation over the whole batch: few kernel launches on a GPU. The three maps

    max (x) -> y, select(x, offsets) -> y, scatter(y, offsets) -> x

are linear in their first argument given the offsets, and select and scatter are each
other's adjoints, so every backward is a Function and differentiates again.
1-D pooling runs as 2-D over a height of 1 (the compiled kernels below are 2-D).
"""
import itertools
import math

import numpy as np

from .. import _xp
from ..cuda import _kernels as _cuda_kernels
from .._tensor import Tensor, _make
from ._util import _type_word
from ..autograd.function import Function
from .conv import _padded_sizes, _inside, refuse_integers
from .creation import zeros_like

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "adaptive_avg_pool1d",
           "adaptive_max_pool1d", "max_pool1d_with_indices"]


class _Window:
    """Kernel, stride, padding, dilation and output sizes of a 2-D or 3-D pooling.

    ``pad`` holds (before, after) for each spatial dim in turn: (top, bottom, left, right) in 2-D.
    """
    __slots__ = ("kernel", "stride", "pad", "dilation", "out")

    def __init__(self, kernel, stride, pad, dilation, out):
        self.kernel, self.stride, self.pad, self.dilation, self.out = kernel, stride, pad, dilation, out


def _windows(a, win, fill):
    """View (N, C, *out, *kernel) of a (N, C, *sizes) padded by win.pad with ``fill``."""
    xp = _xp.array_module(a)
    if any(win.pad):
        sizes = a.shape[2:]
        p = xp.full(a.shape[:2] + _padded_sizes(sizes, win.pad), fill, a.dtype)
        p[(slice(None), slice(None)) + _inside(sizes, win.pad)] = a
        a = p
    spatial = a.strides[2:]
    return _xp.as_strided(a, a.shape[:2] + tuple(win.out) + tuple(win.kernel),
                          a.strides[:2] + tuple(s * st for s, st in zip(spatial, win.stride))
                          + tuple(s * d for s, d in zip(spatial, win.dilation)))


def _window_axes(win):
    """The kernel axes of a _windows view."""
    nd = len(win.kernel)
    return tuple(range(2 + nd, 2 + 2 * nd))


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


# Note [Compiled pooling kernels]
# On the CPU, when numba is installed, max pooling and its gradient run as compiled loops: one
# pass over the input for the maxima and their offsets, one pass over the outputs for the
# gradient, each spread over the cores by (batch, channel) planes (Note [Parallel loops] in
# _threads.py). In NumPy (below) they take a copy of the windows and a few passes over it, which
# dominates the lecture's convnet on a small CPU. On the GPU, 2-D float32/float64 pooling runs
# flambeau's CUDA kernels (Note [Max pooling kernels] in cuda/_kernels.py). The array code is the
# reference the tests compare both against.
_kernels = []


def _compiled():
    """(max_pool, scatter) numba kernels, or None when numba is not installed."""
    if not _kernels:
        try:
            from numba import prange
        except ImportError:
            _kernels.append(None)
            return None
        from .._threads import ParallelLoop

        # A window's NaN (PyTorch: NaN wins, the last NaN gives the index) shows up in the running
        # sum s, so the branch on NaN runs only for such windows (or for inf - inf ones).
        def max_pool_inside(x, kh, kw, sh, sw, dh, dw, out, arg):
            n_, c_ = x.shape[0], x.shape[1]
            ho, wo = out.shape[2], out.shape[3]
            for nc in prange(n_ * c_):
                n, c = nc // c_, nc % c_
                for oh in range(ho):
                    h0 = oh * sh
                    for ow in range(wo):
                        w0 = ow * sw
                        best = x[n, c, h0, w0]
                        bi = 0
                        s = best - best
                        for i in range(kh):
                            for j in range(kw):
                                v = x[n, c, h0 + i * dh, w0 + j * dw]
                                s += v
                                if v > best:
                                    best = v
                                    bi = i * kw + j
                        if s != s:
                            for i in range(kh):
                                for j in range(kw):
                                    v = x[n, c, h0 + i * dh, w0 + j * dw]
                                    if v != v:
                                        best = v
                                        bi = i * kw + j
                        out[n, c, oh, ow] = best
                        arg[n, c, oh, ow] = bi

        def max_pool(x, kh, kw, sh, sw, ph, pw, dh, dw, lowest, out, arg):
            n_, c_, h_, w_ = x.shape
            ho, wo = out.shape[2], out.shape[3]
            for nc in prange(n_ * c_):
                n, c = nc // c_, nc % c_
                for oh in range(ho):
                    h0 = oh * sh - ph
                    i0 = (-h0 + dh - 1) // dh if h0 < 0 else 0
                    i1 = min(kh, (h_ - 1 - h0) // dh + 1)
                    for ow in range(wo):
                        w0 = ow * sw - pw
                        j0 = (-w0 + dw - 1) // dw if w0 < 0 else 0
                        j1 = min(kw, (w_ - 1 - w0) // dw + 1)
                        if i0 >= i1 or j0 >= j1:    # dilation steps over the input: see _first_inside
                            out[n, c, oh, ow] = lowest
                            arg[n, c, oh, ow] = i0 * kw + j0
                            continue
                        best = x[n, c, h0 + i0 * dh, w0 + j0 * dw]
                        bi = i0 * kw + j0
                        s = best - best
                        for i in range(i0, i1):
                            for j in range(j0, j1):
                                v = x[n, c, h0 + i * dh, w0 + j * dw]
                                s += v
                                if v > best:
                                    best = v
                                    bi = i * kw + j
                        if s != s:
                            for i in range(i0, i1):
                                for j in range(j0, j1):
                                    v = x[n, c, h0 + i * dh, w0 + j * dw]
                                    if v != v:
                                        best = v
                                        bi = i * kw + j
                        out[n, c, oh, ow] = best
                        arg[n, c, oh, ow] = bi

        def scatter(g, arg, kw, sh, sw, ph, pw, dh, dw, out):
            n_, c_, ho, wo = g.shape
            h_, w_ = out.shape[2], out.shape[3]
            for nc in prange(n_ * c_):
                n, c = nc // c_, nc % c_
                out[n, c] = 0
                for oh in range(ho):
                    for ow in range(wo):
                        off = arg[n, c, oh, ow]
                        h = oh * sh - ph + (off // kw) * dh
                        w = ow * sw - pw + (off % kw) * dw
                        if h < h_ and w < w_:       # not a window in the padding
                            out[n, c, h, w] += g[n, c, oh, ow]

        _kernels.append((ParallelLoop(max_pool), ParallelLoop(scatter), ParallelLoop(max_pool_inside)))
    return _kernels[0]


_SPECIALIZED_MAX_WINDOW = 25
_specialized = {}


def _inside_kernel(kh, kw):
    """The max-pool kernel for windows inside the input, compiled for this kernel size when small.

    With kh and kw compile-time constants the window loops unroll (about 3x faster than the
    generic kernel); numba caches each size on disk (the closure's values key the cache).
    """
    if kh * kw > _SPECIALIZED_MAX_WINDOW:
        return _compiled()[2]
    fn = _specialized.get((kh, kw))
    if fn is None:
        from numba import prange
        from .._threads import ParallelLoop

        def max_pool_fixed(x, kh_, kw_, sh, sw, dh, dw, out, arg):
            n_, c_ = x.shape[0], x.shape[1]
            ho, wo = out.shape[2], out.shape[3]
            for nc in prange(n_ * c_):
                n, c = nc // c_, nc % c_
                for oh in range(ho):
                    h0 = oh * sh
                    for ow in range(wo):
                        w0 = ow * sw
                        best = x[n, c, h0, w0]
                        bi = 0
                        s = best - best
                        for i in range(kh):
                            for j in range(kw):
                                v = x[n, c, h0 + i * dh, w0 + j * dw]
                                s += v
                                if v > best:
                                    best = v
                                    bi = i * kw + j
                        if s != s:      # see max_pool_inside
                            for i in range(kh):
                                for j in range(kw):
                                    v = x[n, c, h0 + i * dh, w0 + j * dw]
                                    if v != v:
                                        best = v
                                        bi = i * kw + j
                        out[n, c, oh, ow] = best
                        arg[n, c, oh, ow] = bi

        fn = _specialized[(kh, kw)] = ParallelLoop(max_pool_fixed)
    return fn


def _use_compiled(a):
    return type(a) is np.ndarray and a.ndim == 4 and _compiled() is not None


def _max_and_offsets(x, win, offsets):
    """Window maxima of x and, when asked, the offset (i*kw + j in 2-D) of each window's first maximum."""
    xp = _xp.array_module(x)
    if _use_compiled(x) and x.dtype != np.float16:
        out = np.empty(x.shape[:2] + tuple(win.out), x.dtype)
        arg = np.empty(out.shape, np.int32)
        (kh, kw), (sh, sw), (dh, dw) = win.kernel, win.stride, win.dilation
        if win.pad == (0, 0, 0, 0):                 # Note [Parallel loops] in _threads.py
            _inside_kernel(kh, kw)(x, kh, kw, sh, sw, dh, dw, out, arg)
        else:
            _compiled()[0](x, kh, kw, sh, sw, win.pad[0], win.pad[2], dh, dw, x.dtype.type(_lowest(x.dtype)), out, arg)
        return out, arg if offsets else None
    if len(win.kernel) == 2 and x.ndim == 4 and _cuda_kernels.usable(x):    # Note [Max pooling kernels]
        return _cuda_kernels.max_pool2d(x, win.kernel, win.stride, win.pad, win.dilation, win.out)
    v = _windows(x, win, _lowest(x.dtype))
    if not offsets:
        return v.max(axis=_window_axes(win)), None
    flat = _window_values(v)
    out = flat.max(axis=-1)
    arg = flat.argmax(axis=-1)                   # the first maximum in window order
    if any(win.pad[::2]):                        # a window of lowest values only may start in the padding
        arg = xp.where(out == _lowest(x.dtype), _first_inside(win, xp), arg)
    if x.dtype.kind == "f":                      # NaN wins, and a window's last NaN gives the offset
        last_nan = (flat.shape[-1] - 1) - xp.isnan(flat)[..., ::-1].argmax(axis=-1)
        arg = xp.where(xp.isnan(out), last_nan, arg)
    return out, arg


def _first_inside(win, xp):
    """Offset in each window of its first position not before the input, shaped as the output.

    PyTorch's max pooling starts each window's search there, with the lowest value: a window
    whose values are all the lowest (or, with dilation, whose positions all fall in the padding)
    gives that offset and the lowest value."""
    offset = xp.zeros(tuple(win.out), np.int64)
    nd = len(win.kernel)
    for d, (k, s, before, dil, o) in enumerate(zip(win.kernel, win.stride, win.pad[::2], win.dilation, win.out)):
        start = np.arange(o) * s - before
        first = -(np.minimum(start, 0) // dil)               # ceil(-start / dil) for starts before the input
        offset = offset * k + xp.asarray(first.reshape((o,) + (1,) * (nd - 1 - d)))
    return offset


def _window_values(v):
    """The (N, C, *out, *kernel) windows v as (N, C, *out, prod(kernel)), in window order (one copy)."""
    lead = v.ndim // 2 + 1
    return v.reshape(v.shape[:lead] + (math.prod(v.shape[lead:]),))      # not -1: an empty batch has no size


def _select(a, arg, win):
    """out[n, c, o] = window(a)[n, c, o, arg[n, c, o]] (the adjoint of _scatter)."""
    xp = _xp.array_module(a)
    flat = _window_values(_windows(a, win, 0))
    return xp.take_along_axis(flat, arg[..., None].astype(np.int64, copy=False), axis=-1)[..., 0]


def _scatter(g, arg, win, sizes):
    """Input-sized array, zero except g added at each window's offset arg."""
    xp = _xp.array_module(g)
    n, c = g.shape[:2]
    if _use_compiled(g) and g.dtype != np.float16:
        full = np.empty((n, c) + tuple(sizes), g.dtype)       # each plane zeroed by the kernel
        _compiled()[1](g, arg, win.kernel[1], win.stride[0], win.stride[1], win.pad[0], win.pad[2], win.dilation[0],
                       win.dilation[1], full)
        return full
    if len(win.kernel) == 2 and g.ndim == 4 and arg.dtype == np.int32 and _cuda_kernels.usable(g):
        return _cuda_kernels.max_pool2d_backward(g, arg, sizes, win.kernel, win.stride, win.pad, win.dilation)
    padded = _padded_sizes(sizes, win.pad)
    full = xp.zeros((n, c) + padded, g.dtype)
    unpadded = _Window(win.kernel, win.stride, (0,) * len(win.pad), win.dilation, win.out)
    if _overlapping(win):       # windows share inputs: add every gradient at its flat index in the plane
        nd = len(sizes)
        index = _flat_indices(arg, unpadded, padded)
        _xp.scatter_add(full.reshape(n, c, math.prod(padded)),
                        (xp.arange(n).reshape((n,) + (1,) * (nd + 1)), xp.arange(c).reshape((1, c) + (1,) * nd),
                         index), g)
    else:               # disjoint windows: write each window whole, the gradient at its offset
        v = _windows(full, unpadded, 0)
        at_max = xp.arange(math.prod(win.kernel)) == arg[..., None]
        v[...] = (at_max * g[..., None]).reshape(v.shape)
    if any(win.pad):
        full = xp.ascontiguousarray(full[(slice(None), slice(None)) + _inside(sizes, win.pad)])
    return full


def _overlapping(win):
    return any(s < (k - 1) * d + 1 for k, s, d in zip(win.kernel, win.stride, win.dilation))


def _named(fn, win):
    """fn, or for 3-D windows fn recorded under PyTorch's 3-D node name (MaxPool3DWithIndicesBackward0...)."""
    return fn if len(win.kernel) == 2 else fn.named(fn._node_name.replace("2D", "3D"))


class _MaxPool(Function):
    """y = max over each window (2-D or 3-D, with the batch)."""
    _node_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, win, want_offsets):
        out, arg = _max_and_offsets(x._data, win, want_offsets or ctx.needs_input_grad[0])
        ctx.win, ctx.arg, ctx.sizes = win, arg, x.shape[2:]
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x)    # as PyTorch saves self: the gradient's edge to x (see _Scatter)
        if want_offsets:
            return out, _make(arg)
        return out

    @staticmethod
    def backward(ctx, grad, *_):    # the gradient goes to each window's maximum
        x, = ctx.saved_tensors
        return _named(_Scatter, ctx.win).apply(grad, x, ctx.arg, ctx.win, tuple(ctx.sizes)), None, None


class _Scatter(Function):
    """The gradient of max pooling: linear in g, and constant in x (given the maxima's offsets), so
    differentiated again it gives zeros for x, as PyTorch's node (x is an input for that edge only;
    None as the adjoint of _Select, which has no x)."""
    _node_name = "MaxPool2DWithIndicesBackwardBackward0"

    @staticmethod
    def forward(ctx, g, x, arg, win, sizes):
        ctx.arg, ctx.win = arg, win
        return _scatter(g._data, arg, win, sizes)

    @staticmethod
    def backward(ctx, grad):        # adjoint of scatter: select
        gg = _named(_Select, ctx.win).apply(grad, ctx.arg, ctx.win) if ctx.needs_input_grad[0] else None
        return gg, (zeros_like(grad) if ctx.needs_input_grad[1] else None), None, None, None


class _Select(Function):
    _node_name = "MaxPool2DSelectBackward0"

    @staticmethod
    def forward(ctx, a, arg, win):
        ctx.arg, ctx.win, ctx.sizes = arg, win, a.shape[2:]
        return _select(a._data, arg, win)

    @staticmethod
    def backward(ctx, grad):        # adjoint of select: scatter
        return _named(_Scatter, ctx.win).apply(grad, None, ctx.arg, ctx.win, tuple(ctx.sizes)), None, None


def _avg_divisor(xp, win, sizes, count_include_pad, divisor_override, dtype):
    """Divisors of average pooling (shaped as the output's spatial dims), as PyTorch counts them."""
    if divisor_override is not None:
        return dtype.type(divisor_override)
    counts = []
    for size, k, s, p0, o in zip(sizes, win.kernel, win.stride, win.pad[::2], win.out):
        start = np.arange(o) * s - p0
        end = np.minimum(start + k, size + p0)
        if count_include_pad:
            counts.append(end - start)
        else:
            counts.append(np.minimum(end, size) - np.maximum(start, 0))
    div = counts[0]
    for more in counts[1:]:
        div = np.multiply.outer(div, more)
    return xp.asarray(div.astype(dtype))


class _AvgPool(Function):
    """y = window sums of x / divisor (2-D or 3-D, with the batch)."""
    _node_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, win, div):
        xp = _xp.array_module(x._data)
        v = _windows(x._data, win, 0)
        if type(v) is np.ndarray:       # kh*kw vectorized adds beat NumPy's sum over tiny strided axes
            offsets = itertools.product(*map(range, win.kernel))
            out = v[(Ellipsis,) + next(offsets)].copy()
            for off in offsets:
                out += v[(Ellipsis,) + off]
        else:                           # one reduction: one kernel on a GPU
            out = v.sum(axis=_window_axes(win), dtype=v.dtype)
        ctx.win, ctx.div, ctx.sizes = win, div, x.shape[2:]
        if out.dtype.kind == "f":
            out /= div
        else:
            out = xp.trunc(out / div).astype(out.dtype)
        return out

    @staticmethod
    def backward(ctx, grad):        # each window's input gets grad / divisor
        return _named(_AvgPoolAdjoint, ctx.win).apply(grad, ctx.win, ctx.div, tuple(ctx.sizes)), None, None


class _AvgPoolAdjoint(Function):
    _node_name = "AvgPool2DBackwardBackward0"

    @staticmethod
    def forward(ctx, g, win, div, sizes):
        xp = _xp.array_module(g._data)
        gd = g._data / div
        full = xp.zeros(gd.shape[:2] + _padded_sizes(sizes, win.pad), gd.dtype)
        v = _windows(full, _Window(win.kernel, win.stride, (0,) * len(win.pad), win.dilation, win.out), 0)
        if _overlapping(win):
            for off in itertools.product(*map(range, win.kernel)):
                dst = v[(Ellipsis,) + off]
                dst += gd
        else:                           # disjoint windows: each input gets its window's share once
            v[...] = gd[(Ellipsis,) + (None,) * len(win.kernel)]
        if any(win.pad):
            full = xp.ascontiguousarray(full[(slice(None), slice(None)) + _inside(sizes, win.pad)])
        ctx.win, ctx.div = win, div
        return full

    @staticmethod
    def backward(ctx, grad):        # adjoint of the adjoint: average pooling again
        return _named(_AvgPool, ctx.win).apply(grad, ctx.win, ctx.div), None, None, None


# ---------------------------------------------------------------------------------------
# Argument checking and the public functions
# ---------------------------------------------------------------------------------------

def _ints(value, n, name):
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise RuntimeError(f"{name} must either be a single int, or a tuple of {n} ints")
    return value


def _pool_out(size, k, s, p, d, ceil_mode):
    span = size + 2 * p - d * (k - 1) - 1
    o = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= size + p:
        o -= 1
    return o


def _check_input(op, input, nd, dtype_op=None):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.ndim not in (nd + 1, nd + 2) or any(s == 0 for s in input.shape[-nd - 1 if input.ndim == nd + 1
                                                                          else 1:]):
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input"
                           if nd >= 2 else
                           f"{op}() Expected 2D or 3D input tensor, but got {list(input.shape)}")
    _check_dtype(dtype_op or op, input)


def _check_dtype(op, input):
    if input.dtype.is_complex or input.dtype.name == "bool":
        raise NotImplementedError(f"\"{op}\" not implemented for '{_type_word(input.dtype)}'")


def _window(op, input, kernel_size, stride, padding, dilation, ceil_mode, nd, check_input_size=False):
    """The pooling windows; check_input_size: also refuse inputs smaller than the kernel (avg_pool3d)."""
    kernel = _ints(kernel_size, nd, "kernel_size")
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _ints(
        stride, nd, "stride")
    pad = _ints(padding, nd, "padding")
    dil = _ints(dilation, nd, "dilation")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel_size must be greater than zero, but got {list(kernel)}")
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should not be zero" if any(s == 0 for s in stride) else
                           f"stride must be greater than zero, but got {list(stride)}")
    if any(d <= 0 for d in dil):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dil)}")
    if op == "max_pool1d":
        _check_max_pool_padding(op, pad, kernel)
    for p, k, d in zip(pad, kernel, dil):
        if p < 0 or p > ((k - 1) * d + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k} and dilation={d}")
    if op == "max_pool1d_with_indices":      # PyTorch pools 1-D with indices as 2-D over a height of 1
        _check_max_pool_padding(op, (0,) + pad, (1,) + kernel)
    elif op.startswith("max_pool"):
        _check_max_pool_padding(op, pad, kernel)
    sizes = tuple(input.shape[-nd:])
    if check_input_size and any(s < k for s, k in zip(sizes, kernel)):
        names = ("T", "H", "W")[3 - nd:]
        raise RuntimeError(f"input image ({' '.join(f'{n}: {s}' for n, s in zip(names, sizes))}) smaller than "
                           f"kernel size ({' '.join(f'k{n}: {k}' for n, k in zip(names, kernel))})")
    out = tuple(_pool_out(s, k, st, p, d, ceil_mode) for s, k, st, p, d in zip(sizes, kernel, stride, pad, dil))
    if any(o < 1 for o in out):
        c = input.shape[-nd - 1]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (c,) + sizes))}). Calculated output size: "
                           f"({'x'.join(map(str, (c,) + out))}). Output size is too small")
    if nd == 1:
        kernel, stride, pad, dil, out, sizes = ((1,) + kernel, (1,) + stride, (0,) + pad, (1,) + dil,
                                                (1,) + out, (1,) + sizes)
    # extra padding after the input so that every (ceil_mode) window lies inside the buffer
    ends = tuple((o - 1) * s + (k - 1) * d + 1 for o, s, k, d in zip(out, stride, kernel, dil))
    after = tuple(max(e - sz - p, 0) for e, sz, p in zip(ends, sizes, pad))
    return _Window(kernel, stride, tuple(v for p, a in zip(pad, after) for v in (p, a)), dil, out)


def _check_max_pool_padding(op, pad, kernel):
    """Max pooling's padding is at most half the kernel as given, whatever the dilation (PyTorch
    checks this after, and for 1-D before, the effective kernel's bound)."""
    if all(p <= k // 2 for p, k in zip(pad, kernel)):
        return
    if len(kernel) == 1:
        raise RuntimeError(f"{op}() padding should be at most half of kernel size, but got padding={pad[0]} and "
                           f"kernel_size={kernel[0]}")
    if len(kernel) == 2:
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got padW = {pad[1]}, "
                           f"padH = {pad[0]}, kW = {kernel[1]}, kH = {kernel[0]}")
    raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got kT: {kernel[0]} "
                       f"kW: {kernel[2]} kH: {kernel[1]} padT: {pad[0]} padW: {pad[2]} padH: {pad[1]}")


def _as_batch(input, nd):
    """input with its batch dim (and a height of 1 for 1-D pooling), and whether it had none."""
    x = input if input.ndim == nd + 2 else input.unsqueeze(0)
    return (x.unsqueeze(2) if nd == 1 else x), input.ndim == nd + 1


def _from_batch(t, unbatched, nd):
    if nd == 1:
        t = t.squeeze(2)
    return t.squeeze(0) if unbatched else t


def _flat_indices(arg, win, sizes):
    """Offsets within windows -> indices into the flattened input plane (h*W + w in 2-D), as int64."""
    xp = _xp.array_module(arg)
    nd = len(win.kernel)
    index, rest, plane = None, arg, 1
    for d in reversed(range(nd)):           # the offset is row-major over the kernel: last dim first
        k, o = win.kernel[d], win.out[d]
        off = rest % k if d else rest
        rest = rest // k if d else None
        pos = xp.arange(o).reshape((o,) + (1,) * (nd - 1 - d)) * win.stride[d] - win.pad[2 * d] + off * win.dilation[d]
        index = pos if index is None else index + pos * plane
        plane *= sizes[d]
    return index.astype(np.int64)


def _max_pool(op, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd):
    if nd == 1:         # PyTorch: without indices, max_pool1d_impl (floating point only), else 2-D pooling
        _check_input(op, input, nd, "max_pool2d" if return_indices else "max_pool1d_impl")
        if not return_indices and not input.dtype.is_floating_point:
            raise NotImplementedError(f"\"max_pool1d_impl\" not implemented for '{_type_word(input.dtype)}'")
    else:
        _check_input(op, input, nd)
    win = _window(op + "_with_indices" if return_indices and nd == 1 else op, input, kernel_size, stride, padding,
                  dilation, ceil_mode, nd)
    x, unbatched = _as_batch(input, nd)
    pool = _named(_MaxPool, win)
    if return_indices:
        out, arg = pool.apply(x, win, True)
        idx = _make(_flat_indices(arg._data, win, x.shape[2:]))
        return _from_batch(out, unbatched, nd), _from_batch(idx, unbatched, nd)
    return _from_batch(pool.apply(x, win, False), unbatched, nd)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling over (N, C, H, W) or (C, H, W) input; stride defaults to kernel_size.

    With return_indices=True, also returns the flat (h * W + w) index of each maximum.

    Example:
        >>> import flambeau
        >>> max_pool2d(flambeau.arange(16.).view(1, 1, 4, 4), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    return _max_pool("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling over (N, C, L) or (C, L) input; arguments as max_pool2d."""
    return _max_pool("max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W) input; arguments as max_pool2d, ints or triples.

    With return_indices=True, also returns the flat ((d * H + h) * W + w) index of each maximum.
    """
    return _max_pool("max_pool3d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_pool(op, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, nd,
              node=None):
    _check_input(op, input, nd)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    win = _window(op, input, kernel_size, stride, padding, 1, ceil_mode, nd, check_input_size=nd == 3)
    refuse_integers("avg_pool3d_out_frame" if nd == 3 else "avg_pool2d", input, but_int64=True)
    x, unbatched = _as_batch(input, nd)
    xp = _xp.array_module(x._data)
    ddt = x._data.dtype if x._data.dtype.kind == "f" else np.dtype(np.float64)
    # divisors count the padded border (count_include_pad) but never the extra ceil_mode cells
    counted = _Window(win.kernel, win.stride, tuple(p for p in win.pad[::2] for _ in range(2)), win.dilation,
                      win.out)
    div = _avg_divisor(xp, counted, tuple(x.shape[2:]), count_include_pad, divisor_override, ddt)
    pool = _named(_AvgPool, win) if node is None else _AvgPool.named(node)      # (adaptive pooling's name)
    return _from_batch(pool.apply(x, win, div), unbatched, nd)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling over (N, C, H, W) or (C, H, W) input; stride defaults to kernel_size.

    Example:
        >>> import flambeau
        >>> avg_pool2d(flambeau.arange(16.).view(1, 1, 4, 4), 2)
        tensor([[[[ 2.5000,  4.5000],
                  [10.5000, 12.5000]]]])
    """
    return _avg_pool("avg_pool2d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling over (N, C, L) or (C, L) input; arguments as avg_pool2d."""
    return _avg_pool("avg_pool1d", input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W) input; arguments as avg_pool2d, ints or triples."""
    return _avg_pool("avg_pool3d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 3)


# ---------------------------------------------------------------------------------------
# Adaptive pooling
# ---------------------------------------------------------------------------------------

def _adaptive_bounds(size, out):
    """Window starts and ends along one dim: [floor(i*size/out), ceil((i+1)*size/out))."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _check_output_size(op, output_size, nd):
    """PyTorch's type checks of adaptive pooling's output_size: an int or a sequence of ints, in
    2-D and 3-D with None for "the input's size" (a whole None there has no len())."""
    if isinstance(output_size, (int, np.integer)):
        return
    if not isinstance(output_size, (tuple, list, Tensor)):
        if nd == 1:
            raise TypeError(f"{op}(): argument 'output_size' (position 2) must be tuple of ints, not "
                            f"{type(output_size).__name__}")
        raise TypeError(f"object of type '{type(output_size).__name__}' has no len()")
    for i, o in enumerate(output_size):
        if not (isinstance(o, (int, np.integer)) or (o is None and nd > 1)):
            raise TypeError(f"{op}(): argument 'output_size' (position 2) must be tuple of ints, but found element "
                            f"of type {type(o).__name__} at pos {i}")


def _adaptive_sizes(op, input, output_size, nd):
    _check_output_size(op, output_size, nd)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    for d in range(1, input.ndim):
        if input.shape[d] == 0:
            raise RuntimeError(f"{op}(): Expected input to have non-zero size for non-batch dimensions, but "
                               f"input has sizes {list(input.shape)} with dimension {d} being empty")
    if isinstance(output_size, (int, np.integer)):
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) != nd:
        raise RuntimeError(f"{op}(): internal error: output_size.size() must be {nd}")
    sizes = tuple(input.shape[-nd:])
    out = tuple(s if o is None else int(o) for s, o in zip(sizes, output_size))
    if any(o < 0 for o in out):
        raise RuntimeError(f"{op}(): elements of output_size must be greater than or equal to 0 but received "
                           f"{list(out)}")
    return sizes, out


def _adaptive_matrix(size, out, like):
    """(out, size) averaging matrix of adaptive average pooling along one dim."""
    start, end = _adaptive_bounds(size, out)
    j = np.arange(size)
    m = ((j >= start[:, None]) & (j < end[:, None])) / (end - start)[:, None]
    from .creation import tensor
    return tensor(m, dtype=like.dtype, device=like.device)


def _adaptive_avg(op, input, output_size, nd):
    sizes, out = _adaptive_sizes(op, input, output_size, nd)
    if input.dtype.is_floating_point is False:
        raise NotImplementedError(f"\"{op}\" not implemented for '{_type_word(input.dtype)}'")
    if nd == 1:                 # PyTorch pools 1-D as 2-D with a height of 1, then squeezes it
        return _adaptive_avg(op, input.unsqueeze(-2), (1, out[0]), 2).squeeze(-2)
    if all(o == 1 for o in out):        # one window: PyTorch takes the mean
        return input.mean(tuple(range(-nd, 0)), keepdim=True)
    node = f"AdaptiveAvgPool{nd}DBackward0"
    if all(s % o == 0 for s, o in zip(sizes, out) if o):
        if all(o > 0 for o in out):         # equal windows: plain average pooling
            kernel = tuple(s // o for s, o in zip(sizes, out))
            return _avg_pool(op, input, kernel, kernel, 0, False, True, None, nd, node=node)
    # windows of unequal sizes: separable averaging matrices, out = A_h x A_w^T
    maps = [(input.ndim - nd + k, _adaptive_matrix(s, o, input)._data) for k, (s, o) in enumerate(zip(sizes, out))]
    return _AdaptiveAvgPool.named(node).apply(input, maps)


class _AdaptiveAvgPool(Function):
    """y = x multiplied along each pooled dim by its (out, in) averaging matrix. Linear: the backward
    is the same map with the matrices transposed, differentiable again."""

    @staticmethod
    def forward(ctx, x, maps):
        xp = _xp.array_module(x._data)
        a = x._data
        for dim, m in maps:
            a = xp.moveaxis(xp.moveaxis(a, dim, -1) @ m.T, -1, dim)
        ctx.maps = maps
        return xp.ascontiguousarray(a)

    @staticmethod
    def backward(ctx, grad):
        transposed = [(dim, m.T) for dim, m in reversed(ctx.maps)]
        adjoint = _AdaptiveAvgPool.named(type(ctx).__name__.replace("Backward0", "BackwardBackward0"))
        return adjoint.apply(grad, transposed), None


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a given output size (ints, or None to keep that input size)."""
    return _adaptive_avg("adaptive_avg_pool2d", input, output_size, 2)


def adaptive_avg_pool1d(input, output_size):
    """Average pooling to a given output length."""
    return _adaptive_avg("adaptive_avg_pool1d", input, output_size, 1)


def adaptive_avg_pool3d(input, output_size):
    """Average pooling of (N, C, D, H, W) or (C, D, H, W) to a given output size (ints, or None to keep that
    input size)."""
    return _adaptive_avg("adaptive_avg_pool3d", input, output_size, 3)


def _adaptive_max(op, input, output_size, return_indices, nd):
    sizes, out = _adaptive_sizes(op, input, output_size, nd)
    _check_dtype(op, input)
    refuse_integers("adaptive_max_pool3d_cpu" if nd == 3 else "adaptive_max_pool2d", input)
    unbatched = input.ndim == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    xp = _xp.array_module(x._data)
    n, c = x.shape[:2]
    # gather each window, padded to the longest by repeating its last index (same max, same first index)
    spans = []
    for size, o in zip(sizes, out):
        start, end = _adaptive_bounds(size, o)
        kmax = int((end - start).max()) if o else 1
        spans.append(np.minimum(start[:, None] + np.arange(kmax), (end - 1)[:, None]))      # (o, kmax)
    where = []          # dim d's (o, kmax) indices placed at axes d and nd + d of (*out, *kmax)
    for d, ii in enumerate(spans):
        shape = [1] * (2 * nd)
        shape[d], shape[nd + d] = ii.shape
        where.append(xp.asarray(ii.reshape(shape)))
    v = x._data[(slice(None), slice(None)) + tuple(where)]          # (N, C, *out, *kmax)
    flat = v.reshape((n, c) + out + (math.prod(ii.shape[1] for ii in spans),))
    nan = flat != flat
    last_nan = (flat.shape[-1] - 1) - nan[..., ::-1].argmax(-1)        # NaN wins, the window's last one (PyTorch)
    arg = xp.where(nan.any(-1), last_nan, flat.argmax(-1)) if flat.dtype.kind == "f" else flat.argmax(-1)
    # each window's offset -> the input position along each dim -> the flat index in the input plane
    index, rest, plane = None, arg, 1
    for d in reversed(range(nd)):
        k = spans[d].shape[1]
        off = rest % k if d else rest
        rest = rest // k if d else None
        pos = xp.asarray(spans[d])[xp.arange(out[d]).reshape((out[d],) + (1,) * (nd - 1 - d)), off]
        index = pos if index is None else index + pos * plane
        plane *= sizes[d]
    index = _make(index.astype(np.int64))
    # the indices are in range by construction: no check (on cuda, a read of the device)
    result = _three_d(_AdaptiveMaxPool, nd).apply(x, index._data)
    if unbatched:
        result, index = result.squeeze(0), index.squeeze(0)
    return (result, index) if return_indices else result


def _plane_take(a, index):
    """a (N, C, *sizes) read at flat plane indices (N, C, *rest): (N, C, *rest)."""
    n, c = a.shape[:2]
    xp = _xp.array_module(a)
    flat = a.reshape(n, c, math.prod(a.shape[2:]))      # explicit sizes: a batch of 0 leaves -1 undefined
    return xp.take_along_axis(flat, index.reshape(n, c, math.prod(index.shape[2:])), axis=2).reshape(index.shape)


def _plane_add(g, index, sizes):
    """(N, C, *sizes) zeros with g (N, C, *out) added at the flat plane indices."""
    n, c = g.shape[:2]
    xp = _xp.array_module(g)
    full = xp.zeros((n, c, math.prod(sizes)), g.dtype)
    if g.size:
        _xp.scatter_add(full, (xp.arange(n).reshape(n, 1, 1), xp.arange(c).reshape(1, c, 1),
                               index.reshape(n, c, -1)), g.reshape(n, c, -1))
    return full.reshape((n, c) + tuple(sizes))


class _PlaneMax(Function):
    """y = x at the windows' maxima, given their flat indices in the input plane (adaptive and fractional
    max pooling; subclasses name the nodes and link the adjoint)."""
    _adjoint = None

    @staticmethod
    def forward(ctx, x, index):
        ctx.index, ctx.sizes = index, tuple(x.shape[2:])
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x)    # as PyTorch saves self: the gradient's edge to x
        return _plane_take(x._data, index)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        adjoint = _three_d(ctx._forward_cls._adjoint, len(ctx.sizes))
        return adjoint.apply(grad, x, ctx.index, ctx.sizes), None


class _PlaneMaxAdjoint(Function):
    """The gradient of _PlaneMax: g added at the maxima. Linear in g and constant in x, so differentiated
    again it gives zeros for x, as PyTorch's node; its adjoint reads g back at the maxima."""
    _take = None

    @staticmethod
    def forward(ctx, g, x, index, sizes):
        ctx.index, ctx.nd = index, len(sizes)
        return _plane_add(g._data, index, sizes)

    @staticmethod
    def backward(ctx, grad):
        take = _three_d(ctx._forward_cls._take, ctx.nd)
        gg = take.apply(grad, ctx.index) if ctx.needs_input_grad[0] else None
        return gg, (zeros_like(grad) if ctx.needs_input_grad[1] else None), None, None


class _AdaptiveMaxPool(_PlaneMax):
    _node_name = "AdaptiveMaxPool2DBackward0"


class _AdaptiveMaxScatter(_PlaneMaxAdjoint):
    _node_name = "AdaptiveMaxPool2DBackwardBackward0"


_AdaptiveMaxPool._adjoint, _AdaptiveMaxScatter._take = _AdaptiveMaxScatter, _AdaptiveMaxPool


def _three_d(fn, nd):
    """fn, recorded under PyTorch's 3-D node name for 3-D pooling (1-D pools as 2-D there)."""
    return fn.named(fn._node_name.replace("2D", "3D")) if nd == 3 else fn


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a given output size (ints, or None to keep that input size)."""
    return _adaptive_max("adaptive_max_pool2d", input, output_size, return_indices, 2)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling to a given output length."""
    _adaptive_sizes("adaptive_max_pool1d", input, output_size, 1)      # 1-D's own checks and messages
    # PyTorch pools 1-D as 2-D with a height of 1, then squeezes it
    out = output_size if isinstance(output_size, (int, np.integer)) else output_size[0]
    result = _adaptive_max("adaptive_max_pool1d", input.unsqueeze(-2), (1, out), True, 2)
    result, index = result[0].squeeze(-2), result[1].squeeze(-2)
    return (result, index) if return_indices else result


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling of (N, C, D, H, W) or (C, D, H, W) to a given output size (ints, or None to keep that input
    size); with return_indices, also the flat index of each maximum in its (D*H*W) input volume."""
    return _adaptive_max("adaptive_max_pool3d", input, output_size, return_indices, 3)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool3d(input, output_size, True)


# ---------------------------------------------------------------------------------------
# max_unpool
# ---------------------------------------------------------------------------------------

def _unpool_size(op, input, kernel, stride, padding, output_size, nd):
    sizes = tuple(input.shape[-nd:])
    default = tuple((s - 1) * st - 2 * p + k for s, st, p, k in zip(sizes, stride, padding, kernel))
    if output_size is None:
        return _nonnegative(default)
    output_size = tuple(int(s) for s in output_size)
    if len(output_size) == nd + 2:
        output_size = output_size[2:]
    if len(output_size) != nd:
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it has a "
                         f"length of '{len(output_size)}'")
    for d, (o, de, st) in enumerate(zip(output_size, default, stride)):
        if not de - st < o < de + st:
            raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between {de - st} and '
                             f'{de + st})')
    return _nonnegative(output_size)


def _nonnegative(output_size):
    for d, o in enumerate(output_size):
        if o < 0:
            raise ValueError(f"max_unpooling: output_size must contain non-negative spatial dimensions, but got "
                             f"output_size[{d}]={o}")
    return output_size


def _max_unpool(op, input, indices, kernel_size, stride, padding, output_size, nd):
    kernel = _ints(kernel_size, nd, "kernel_size")
    stride = kernel if stride is None else _ints(stride, nd, "stride")
    padding = _ints(padding, nd, "padding")
    if nd == 3 and any(s <= 0 for s in stride):      # (PyTorch checks the 3-D strides only)
        raise RuntimeError(f"strides should be greater than zero, but got stride: {list(stride)}")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}")
    if indices.dtype.name != "int64":
        raise RuntimeError(f"elements in indices should be type int64 but got: {indices.dtype}")
    out = _unpool_size(op, input, kernel, stride, padding, output_size, nd)
    x, unbatched = (input, False) if input.ndim == nd + 2 else (input.unsqueeze(0), True)
    ix = indices if indices.ndim == nd + 2 else indices.unsqueeze(0)
    n, c = x.shape[:2]
    plane = int(np.prod(out))
    if ix.numel() and plane:            # (PyTorch writes nothing, and checks nothing, into an empty output)
        lo, hi = int(ix.min()), int(ix.max())      # indices are checked on the host, as PyTorch does
        if lo < 0 or hi >= plane:
            bad = lo if lo < 0 else hi
            raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                               f"{'x'.join(map(str, out))})")
    if not plane:
        y = _UnpoolEmpty.apply(x.flatten(2), ix.flatten(2)).view((n, c) + tuple(out))
        return y.squeeze(0) if unbatched else y
    if nd == 1:                 # PyTorch unpools 1-D as 2-D with a width of 1, then squeezes it
        return _max_unpool(op, input.unsqueeze(-1), indices.unsqueeze(-1), kernel + (1,), stride + (1,),
                           padding + (0,), tuple(out) + (1,), 2).squeeze(-1)
    node = "MaxUnpool2DBackward0" if nd == 2 else "MaxUnpool3DBackward0"
    return _MaxUnpool.named(node).apply(input, indices._data, tuple(out))


class _MaxUnpool(Function):
    """y = zeros of the output size with each x written at its flat plane index ((C, *in) or (N, C, *in))."""

    @staticmethod
    def forward(ctx, x, index, out):
        a = x._data
        xp = _xp.array_module(a)
        lead = a.shape[:-len(out)]
        rows, plane = math.prod(lead), math.prod(a.shape[len(lead):])     # (sizes, not -1: a batch may be empty)
        flat = xp.zeros((rows, math.prod(out)), a.dtype)
        flat[xp.arange(rows)[:, None], index.reshape(rows, plane)] = a.reshape(rows, plane)     # one plane per row
        ctx.index, ctx.in_shape, ctx.lead = index, tuple(x.shape), len(lead)
        return flat.reshape(lead + out)

    @staticmethod
    def backward(ctx, grad):                # each input's gradient is read back at its index
        lead = ctx.in_shape[:ctx.lead]
        index = _make(ctx.index.reshape(lead + (math.prod(ctx.in_shape[ctx.lead:]),)))
        return grad.flatten(ctx.lead).gather(-1, index).view(ctx.in_shape), None, None


class _UnpoolEmpty(Function):
    """max_unpool into an empty output: nothing is written, so PyTorch checks no index; its gradient
    gathers at the indices as PyTorch's does, which refuses them in an empty gradient."""

    @staticmethod
    def forward(ctx, x, ix):
        ctx.ix = ix
        return _xp.array_module(x._data).zeros(x.shape[:2] + (0,), x._data.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.gather(2, ctx.ix), None


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool2d: puts each value at its index, zeros elsewhere."""
    return _max_unpool("max_unpool2d", input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool1d: puts each value at its index, zeros elsewhere."""
    return _max_unpool("max_unpool1d", input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool3d: puts each value at its index, zeros elsewhere."""
    return _max_unpool("max_unpool3d", input, indices, kernel_size, stride, padding, output_size, 3)


# ---------------------------------------------------------------------------------------
# Power-average pooling
# ---------------------------------------------------------------------------------------

def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, nd):
    from .pointwise import relu
    if nd > 1 and not isinstance(kernel_size, (int, np.integer)) and len(kernel_size) != nd:    # and unpacks it
        raise ValueError(f"too many values to unpack (expected {nd})" if len(kernel_size) > nd else
                         f"not enough values to unpack (expected {nd}, got {len(kernel_size)})")
    if isinstance(norm_type, (int, float)) and abs(norm_type) == math.inf:    # the limits: max and min of |x|
        pool = {1: max_pool1d, 2: max_pool2d, 3: max_pool3d}[nd]
        if norm_type > 0:
            return pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return -pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    kernel = _ints(kernel_size, nd, "kernel_size")
    pooled = _avg_pool(f"lp_pool{nd}d", input.pow(norm_type), kernel, stride, 0, ceil_mode, True, None, nd)
    if nd == 1 and not isinstance(kernel_size, (int, np.integer)):     # PyTorch multiplies by kernel_size
        raise TypeError(f"mul(): argument 'other' (position 1) must be Tensor, not {type(kernel_size).__name__}")
    size = int(np.prod(kernel))
    # sign * relu(abs): keeps the gradient finite where a window's sum is exactly zero
    return (pooled.sign() * relu(pooled.abs())).mul(size).pow(1.0 / norm_type)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling: (sum over each window of x^p)^(1/p)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """1-D power-average pooling: (sum over each window of x^p)^(1/p)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """3-D power-average pooling: (sum over each window of x^p)^(1/p)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)
