"""Convolutions: conv1d/2d/3d, conv_transpose1d/2d/3d, unfold and fold.

Note [Convolution as one matrix product]
A convolution is a matrix product over sliding windows (im2col): the windows of the padded
input are an ``as_strided`` view (N, C, *kernel, *out) of it (in 2-D: (N, C, kh, kw, Ho, Wo)),
copied once into a column matrix and multiplied by the weight viewed as (groups, C_out/groups,
C/groups*prod(kernel)). The same code serves 1, 2 and 3 spatial dims. Two layouts of the
columns serve different shapes:

- "sample": columns (N, G, K, L), one product per sample and group. Best when the output
  plane L = Ho*Wo is large: the output comes out as (N, C_out, Ho, Wo) with no transpose.
- "gemm": columns (G, K, L*N), batch last, one product per group over the whole batch. Best
  when L is small (late layers): a few big products beat many small ones. With the batch as
  the last axis, im2col and col2im move contiguous runs of Wo*N elements instead of Wo; the
  input, output and output gradient are transposed to and from batch last (small copies).
  On the GPU every convolution takes this layout: cuBLAS runs one product over the batch, where
  the per-sample products would be a pointer-batched product with extra kernels for the weight
  broadcast over the batch.

The gradient for the input is the adjoint of im2col (col2im): the product with the weight
gives per-window gradients, which are added back to the input by a loop over the kernel
offsets (kh*kw in 2-D), each a strided add over everything else. That adjoint is also the
forward of the transposed convolution. The three bilinear maps

    conv(x, w)           -> y      (_Conv)
    conv_transpose(y, w) -> x      (_ConvTranspose, the adjoint of conv in x)
    weight_grad(x, y)    -> w      (_ConvWeight, the adjoint of conv in w)

are each other's derivatives, so every backward is written with these Functions and can be
differentiated again.
"""
import itertools
import math
import os
import threading
import warnings

import numpy as np

from .. import _xp
from .._tensor import Tensor, _make
from ..cuda import _kernels as _cuda_kernels
from ..autograd.function import Function
from . import winograd
from ._util import caller_level
from .._threads import parallel_loops

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]

# Output planes at least this large use the per-sample layout (see the Note above).
_PER_SAMPLE_MIN_PLANE = 256


class _Geometry:
    """Stride, padding, dilation and groups of a convolution over one or more spatial dims.

    ``pad`` holds (before, after) for each spatial dim in turn: (top, bottom, left, right) in 2-D.
    """
    __slots__ = ("stride", "pad", "dilation", "groups")

    def __init__(self, stride, pad, dilation, groups):
        self.stride, self.pad, self.dilation, self.groups = stride, pad, dilation, groups

    def out_size(self, sizes, kernel):
        """Output sizes of the convolution of an input of spatial ``sizes`` with ``kernel``."""
        return tuple((n + self.pad[2 * i] + self.pad[2 * i + 1] - d * (k - 1) - 1) // s + 1
                     for i, (n, k, s, d) in enumerate(zip(sizes, kernel, self.stride, self.dilation)))


def _layout(n, plane, array):
    if type(array) is not np.ndarray:
        return "gemm"
    return "sample" if plane >= _PER_SAMPLE_MIN_PLANE or n == 1 else "gemm"


# Note [Columns a few samples at a time]
# With the per-sample layout, the columns of a whole batch are large (the lecture's first layer:
# 5.8 MB for 100 samples; 75 MB for 64 samples of 32 channels of 32x32 with a 3x3 kernel). Made
# at once, they are written to memory and read back from it; made a few samples at a time into
# one buffer of about _CHUNK_BYTES, they stay in the core's cache between im2col and the product.
# The weight gradient makes them again the same way rather than keeping the forward's: the
# recomputation costs less than reading them back from memory, and nothing batch-sized is held
# between forward and backward.
_CHUNK_BYTES = 1 << 18


def _chunk_samples(sample_bytes):
    return max(1, _CHUNK_BYTES // max(sample_bytes, 1))


def _group_products(xp, a, b, out=None):
    """a @ b for (G, M, K) and (G, K, N): with one group, as a 2-D product, which CuPy hands to
    cuBLAS even for a transposed operand (a batched product copies it first)."""
    if a.shape[0] != 1:
        return xp.matmul(a, b, out=out)
    return xp.matmul(a[0], b[0], out=None if out is None else out[0])[None]


# Note [Two halves of a batch on two threads]
# Where numba's parallel loops do not run (Note [Parallel loops] in _threads.py), and for the
# cases they do not take (groups, 1-D and 3-D convolutions): NumPy's copies and products and
# the compiled kernels release the GIL, while OpenBLAS does not thread the small per-sample
# products. On a machine with two or more cores, a large enough batch of NumPy arrays is split
# in two halves computed at once, one on a helper thread, one on the calling thread. Each half
# writes its own slice of the output (the weight gradient adds the two halves' sums).
# flambeau.get_num_threads() < 2 turns the split off; so do the parallel loops, whose spinning
# threads hold the cores.
_SPLIT_MIN_ELEMENTS = 1 << 18
_PARALLEL_MIN_PRODUCTS = 1 << 20      # smaller convolutions stay on the calling thread


class _HelperThread:
    """One daemon thread that runs one call at a time for split_batch.

    The call is handed over and back by two locks, the least a handoff can cost: ~10 us where
    the cores wake quickly, against ~100 us for a ThreadPoolExecutor's queue and future (on a VM
    whose cores wake slowly both take 65-100 us). A forked child makes its own (see pid)."""

    def __init__(self):
        self.pid = os.getpid()              # a forked child has the object but not the thread
        self._start, self._done = threading.Lock(), threading.Lock()
        self._start.acquire()
        self._done.acquire()
        self._idle = threading.Lock()       # held by the one caller thread using the helper
        self._call = self._result = self._error = None
        threading.Thread(target=self._serve, name="flambeau-batch", daemon=True).start()

    def _serve(self):
        while True:
            self._start.acquire()
            try:
                self._result = self._call()
            except BaseException as e:      # re-raised in the caller
                self._error = e
            self._done.release()

    def run_pair(self, here, there):
        """[here(), there()], ``there`` on the helper thread; both inline when another thread
        is using the helper."""
        if not self._idle.acquire(blocking=False):
            return [here(), there()]
        try:
            self._call, self._result, self._error = there, None, None
            self._start.release()
            try:
                first = here()
            finally:
                self._done.acquire()        # the helper must be done with the buffers either way
            error, result = self._error, self._result
            self._call = self._result = self._error = None
            if error is not None:
                raise error
            return [first, result]
        finally:
            self._idle.release()


_helper = []


def _helper_thread():
    if not _helper or (_helper[0] is not None and _helper[0].pid != os.getpid()):
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        _helper[:] = [_HelperThread() if cores >= 2 else None]
    return _helper[0]


def parallel_loops_for(work, *arrays):
    """flambeau._ops.loops when its parallel loops take a convolution of ``work`` multiply-adds
    over these arrays (C-contiguous NumPy arrays of one float32/float64 dtype; Note [Parallel
    loops] in _threads.py), else None."""
    if work < _PARALLEL_MIN_PRODUCTS:
        return None
    dtype = arrays[0].dtype
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != dtype or not a.flags.c_contiguous:
            return None
    if dtype.char not in "fd" or not parallel_loops():
        return None
    from . import loops
    return loops


def split_batch(fn, n, elements, array):
    """[fn(0, n)], or [fn(0, n//2), fn(n//2, n)] run at once for large NumPy work (on one thread
    where the parallel loops run: their spinning threads hold the cores)."""
    if parallel_loops():
        return [fn(0, n)]
    helper = _helper_thread() if type(array) is np.ndarray and n >= 2 and elements >= _SPLIT_MIN_ELEMENTS else None
    if helper is None or threading.current_thread().name == "flambeau-batch":    # never wait on itself
        return [fn(0, n)]
    from .. import get_num_threads         # flambeau.set_num_threads(1) turns the split off
    if get_num_threads() < 2:
        return [fn(0, n)]
    mid = n // 2
    from .._threads import single_threaded_blas
    with single_threaded_blas():           # our two threads, not BLAS's, use the cores here
        return helper.run_pair(lambda: fn(0, mid), lambda: fn(mid, n))


# ---------------------------------------------------------------------------------------
# Array kernels (NumPy or CuPy arrays in, arrays out)
# ---------------------------------------------------------------------------------------

def _padded_sizes(sizes, pad):
    return tuple(s + pad[2 * i] + pad[2 * i + 1] for i, s in enumerate(sizes))


def _inside(sizes, pad):
    """Slices of the spatial dims that hold the input inside a buffer padded by ``pad``."""
    return tuple(slice(pad[2 * i], pad[2 * i] + s) for i, s in enumerate(sizes))


def _pad(x, pad):
    if not any(pad):
        return x
    xp = _xp.array_module(x)
    sizes = x.shape[2:]
    out = xp.zeros(x.shape[:2] + _padded_sizes(sizes, pad), x.dtype)
    out[(slice(None), slice(None)) + _inside(sizes, pad)] = x
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
                from numba import prange
            except ImportError:
                _transpose_kernel.append(None)
            else:
                from .._threads import ParallelLoop

                def transpose(src, dst, by_source_rows):
                    rows, cols = src.shape
                    if by_source_rows:          # in 32 x 32 tiles, whose rows stay in the cache
                        for t in prange((rows + 31) // 32):
                            i0 = t * 32
                            for j0 in range(0, cols, 32):
                                for i in range(i0, min(i0 + 32, rows)):
                                    for j in range(j0, min(j0 + 32, cols)):
                                        dst[j, i] = src[i, j]
                    else:
                        for j in prange(cols):
                            for i in range(rows):
                                dst[j, i] = src[i, j]
                _transpose_kernel.append(ParallelLoop(transpose))
        kernel = _transpose_kernel[0]
        if kernel is not None and a.dtype.kind in "fiub" and a.dtype != np.float16:    # numba has no float16
            out = np.empty(a.shape[::-1], a.dtype)
            # walk the array whose row stride has the smaller power-of-two factor
            src_row, dst_row = a.strides[0], out.strides[0]
            kernel(a, out, (dst_row & -dst_row) <= (src_row & -src_row) if src_row > 0 else True)
            return out
    return xp.ascontiguousarray(a.T)


def _batch_last(x, pad):
    """x (N, C, *sizes) as a contiguous (C, *padded sizes, N) array, zero padded."""
    xp = _xp.array_module(x)
    n, c = x.shape[:2]
    sizes = x.shape[2:]
    xt = _transpose_2d(x.reshape(n, c * math.prod(sizes))).reshape((c,) + sizes + (n,))
    if not any(pad):
        return xt
    out = xp.zeros((c,) + _padded_sizes(sizes, pad) + (n,), x.dtype)
    out[(slice(None),) + _inside(sizes, pad)] = xt
    return out


# Note [Compiled batch-last im2col and col2im]
# In 2-D on the CPU, with numba installed, the batch-last columns (C, kh, kw, Ho, Wo, N) are
# made and summed back by compiled loops whose innermost loop runs over the batch, contiguous
# in the columns. im2col reads the batch-last input without a padded copy (positions in the
# padding are written as zeros); col2im gathers, for each input position, the windows that
# reach it and writes their sum once: no zeroed buffer, no prod(kernel) strided passes over it.
# col2im writes batch last, then transposes: writing (N, C, H, W) directly strides by C*H*W,
# often a power of two, and runs 2.5x slower (Note [Transposing to and from batch last]).
# Neither is split over two threads: at ~0.3 ms for the lecture's second layer, handing half
# to the helper thread and waiting for it costs about what it saves. For large planes (the
# per-sample layout) col2im_planes adds each (sample, channel) plane's windows while the plane
# stays in the cache, where NumPy's prod(kernel) strided adds each sweep the whole batch
# (3x faster for 3x3 kernels on 32x32 planes); im2col_planes copies without the padded input.
# The two layouts' loops look alike but must differ in order: one kernel over (B, C, H, W, V)
# serving both (V = N batch last, V = 1 per plane) runs 7x slower on planes, its innermost
# loop a single element that defeats vectorization.
_column_kernels = []


def _compiled_columns():
    """The compiled im2col and col2im of both layouts (a namespace: im2col_batch_last,
    col2im_batch_last, im2col_planes, col2im_planes), or None when numba is not installed."""
    if not _column_kernels:
        try:
            import numba
        except ImportError:
            _column_kernels.append(None)
            return None

        @numba.njit(cache=True, nogil=True)
        def im2col(xt, sh, sw, ph, pw, dh, dw, cols):
            c_, kh, kw, ho, wo, n = cols.shape
            h_, w_ = xt.shape[1], xt.shape[2]
            for c in range(c_):
                for i in range(kh):
                    for j in range(kw):
                        for oh in range(ho):
                            h = oh * sh - ph + i * dh
                            for ow in range(wo):
                                w = ow * sw - pw + j * dw
                                if 0 <= h < h_ and 0 <= w < w_:
                                    for b in range(n):
                                        cols[c, i, j, oh, ow, b] = xt[c, h, w, b]
                                else:
                                    for b in range(n):
                                        cols[c, i, j, oh, ow, b] = 0

        @numba.njit(cache=True, nogil=True)
        def col2im(cols, sh, sw, ph, pw, dh, dw, out):
            c_, kh, kw, ho, wo, n = cols.shape
            h_, w_ = out.shape[1], out.shape[2]
            for c in range(c_):
                for h in range(h_):
                    for w in range(w_):
                        acc = out[c, h, w]
                        acc[:] = 0
                        for i in range(kh):
                            t = h + ph - i * dh            # oh * sh for the windows at offset i
                            if t < 0 or t % sh != 0 or t // sh >= ho:
                                continue
                            oh = t // sh
                            for j in range(kw):
                                u = w + pw - j * dw
                                if u < 0 or u % sw != 0 or u // sw >= wo:
                                    continue
                                ow = u // sw
                                for b in range(n):
                                    acc[b] += cols[c, i, j, oh, ow, b]

        import types
        from . import loops             # the per-sample loops, shared with the parallel convolutions
        _column_kernels.append(types.SimpleNamespace(im2col_batch_last=im2col, col2im_batch_last=col2im,
                                                     im2col_planes=loops.im2col_planes,
                                                     col2im_planes=loops.col2im_planes))
    return _column_kernels[0]


def _use_compiled_columns(a, kernel):
    return type(a) is np.ndarray and len(kernel) == 2 and a.dtype.char in "fd" and _compiled_columns() is not None


def _im2col(x, kernel, geo, layout, out=None):
    """Columns of x (N, C, *sizes): (N, G, C/G*prod(kernel), L) or, batch last, (G, C/G*prod(kernel), L*N),
    L the number of output positions.

    For the "sample" layout, ``out`` (N, G, K, L) receives the columns without a temporary.
    """
    n, c = x.shape[:2]
    out_sizes = geo.out_size(x.shape[2:], kernel)
    g = geo.groups
    cg = c // g
    k, plane = cg * math.prod(kernel), math.prod(out_sizes)
    if layout == "sample" and out is not None and _use_compiled_columns(x, kernel):
        (sh, sw), (dh, dw) = geo.stride, geo.dilation
        _compiled_columns().im2col_planes(x, sh, sw, geo.pad[0], geo.pad[2], dh, dw,
                                  out.reshape((n, c) + tuple(kernel) + out_sizes))
        return out
    if layout == "sample":
        xpad = _pad(x, geo.pad)
        s0, s1 = xpad.strides[:2]
        spatial = xpad.strides[2:]
        win = _xp.as_strided(xpad, (n, g, cg) + tuple(kernel) + out_sizes,
                             (s0, s1 * cg, s1) + tuple(s * d for s, d in zip(spatial, geo.dilation))
                             + tuple(s * st for s, st in zip(spatial, geo.stride)))
        if out is not None:
            out.reshape(win.shape)[...] = win
            return out
        return win.reshape(n, g, k, plane)
    if len(kernel) == 2 and _cuda_kernels.usable(x):
        # on the GPU: one kernel reads the windows from x itself (Note [Convolution kernels])
        cols = _cuda_kernels.im2col_batch_last(x, kernel, geo.stride, geo.pad, geo.dilation, out_sizes)
        return cols.reshape(g, k, plane * n)
    if _use_compiled_columns(x, kernel):          # Note [Compiled batch-last im2col and col2im]
        xt = _batch_last(x, (0,) * len(geo.pad))
        cols = np.empty((c,) + tuple(kernel) + out_sizes + (n,), x.dtype)
        (sh, sw), (dh, dw) = geo.stride, geo.dilation
        _compiled_columns().im2col_batch_last(xt, sh, sw, geo.pad[0], geo.pad[2], dh, dw, cols)
        return cols.reshape(g, k, plane * n)
    # batch last: every copy below moves contiguous runs of Wo*N (stride 1) or N elements
    xt = _batch_last(x, geo.pad)
    s1, s0 = xt.strides[0], xt.strides[-1]
    spatial = xt.strides[1:-1]
    win = _xp.as_strided(xt, (g, cg) + tuple(kernel) + out_sizes + (n,),
                         (s1 * cg, s1) + tuple(s * d for s, d in zip(spatial, geo.dilation))
                         + tuple(s * st for s, st in zip(spatial, geo.stride)) + (s0,))
    return win.reshape(g, k, plane * n)


def _col2im(wgrad, out_sizes, geo, layout="sample"):
    """Adjoint of im2col: per-window gradients summed into (N, G*Cg, *out_sizes).

    wgrad is (N, G, Cg, *kernel, *out) for the "sample" layout, (G, Cg, *kernel, *out, N) for
    "gemm"; the sum keeps that order of axes, so that every add moves contiguous runs.
    """
    xp = _xp.array_module(wgrad)
    nd = len(out_sizes)
    sample = layout == "sample"
    lead = 3 if sample else 2           # (N, G, Cg) or (G, Cg) before the kernel offsets
    kernel = wgrad.shape[lead:lead + nd]
    conv_out = wgrad.shape[lead + nd:lead + 2 * nd]
    n = wgrad.shape[0] if sample else wgrad.shape[-1]
    g, cg = wgrad.shape[lead - 2:lead]
    padded = _padded_sizes(out_sizes, geo.pad)
    out = xp.zeros(wgrad.shape[:lead] + padded + wgrad.shape[lead + 2 * nd:], wgrad.dtype)
    keep = (slice(None),) * lead
    # along each dim, the input positions that kernel offset i reaches
    reach = [[slice(i * d, i * d + s * (o - 1) + 1, s) for i in range(k)]
             for k, d, s, o in zip(kernel, geo.dilation, geo.stride, conv_out)]
    for offset, window in zip(itertools.product(*map(range, kernel)), itertools.product(*reach)):
        # add through a view: ``out[key] += v`` would write the sum back a second time
        dst = out[keep + window]
        dst += wgrad[keep + offset]
    if sample:
        out = out.reshape((n, g * cg) + padded)
    else:
        out = _transpose_2d(out.reshape(g * cg * math.prod(padded), n)).reshape((n, g * cg) + padded)
    if any(geo.pad):
        out = xp.ascontiguousarray(out[(slice(None), slice(None)) + _inside(out_sizes, geo.pad)])
    return out


def _grad_batch_last(gy, g, shared=None):
    """gy (N, Co, *out) as (G, Co/G, L*N); made once for a backward's weight and input gradients
    when they share the dict ``shared``."""
    key = (id(gy), g)
    if shared is not None and key in shared:
        return shared[key]
    n, co = gy.shape[:2]
    plane = math.prod(gy.shape[2:])
    out = _transpose_2d(gy.reshape(n, co * plane)).reshape(g, co // g, plane * n)
    if shared is not None:
        shared[key] = out
    return out


def _winograd_grad(gy, r, shared=None):
    """gy's Winograd transform, made once for a backward's weight and input gradients."""
    key = (id(gy), "winograd")
    if shared is not None and key in shared:
        return shared[key]
    out = winograd.transform_grad(gy, r)
    if shared is not None:
        shared[key] = out
    return out


def _half(*arrays):
    """Whether the arrays are float16: convolutions compute them in float32 and round once, bias
    included, on both devices (Note [float16 products on the CPU]; on the GPU too, since flambeau's
    convolution kernels take float32 and float64 only and the bias would round a second time)."""
    return all(a.dtype.char == "e" for a in arrays)


def _conv_forward(x, w, geo, bias=None, layout=None):
    """y = conv(x, w) + bias for x (N, C, *sizes), w (Co, C/G, *kernel); returns (y, columns, layout)."""
    if _half(x, w):                # in float32, rounded once (Note [float16 products on the CPU])
        y, cols, layout = _conv_forward(x.astype(np.float32), w.astype(np.float32), geo,
                                        None if bias is None else bias.astype(np.float32), layout)
        return y.astype(np.float16), cols, layout
    xp = _xp.array_module(x)
    n = x.shape[0]
    co, cg = w.shape[:2]
    kernel = w.shape[2:]
    g = geo.groups
    out_sizes = geo.out_size(x.shape[2:], kernel)
    if winograd.fits(x, w.shape, geo, out_sizes):                       # Note [Winograd convolution]
        y, tiles = winograd.forward(x, w, geo, out_sizes, bias)
        return y, tiles, "winograd"
    plane = math.prod(out_sizes)
    layout = layout or _layout(n, plane, x)
    k = cg * math.prod(kernel)
    wm = w.reshape(g, co // g, k)
    loops = parallel_loops_for(n * co * plane * k, x, w, *(() if bias is None else (bias,))) \
        if layout == "sample" and g == 1 and len(kernel) == 2 else None
    if loops is not None:       # Note [Parallel loops] in _threads.py
        y = np.empty((n, co) + out_sizes, x.dtype)
        (sh, sw), (dh, dw) = geo.stride, geo.dilation
        loops.conv_forward(x, w, np.zeros(co, x.dtype) if bias is None else bias, sh, sw, geo.pad[0], geo.pad[2],
                           dh, dw, y)
        return y, None, layout
    if layout == "sample":
        y = xp.empty((n, g, co // g, plane), x.dtype)
        step = _chunk_samples(g * k * plane * x.itemsize)

        def half(lo, hi):       # see Note [Two halves of a batch on two threads]
            cols = xp.empty((min(step, hi - lo), g, k, plane), x.dtype)
            for s in range(lo, hi, step):       # Note [Columns a few samples at a time]
                e = min(s + step, hi)
                _im2col(x[s:e], kernel, geo, layout, out=cols[:e - s])
                xp.matmul(wm, cols[:e - s], out=y[s:e])
            if bias is not None:
                part = y[lo:hi]
                part += bias.reshape(g, co // g, 1)
        split_batch(half, n, y.size, x)
        return y.reshape((n, co) + out_sizes), None, layout
    cols = _im2col(x, kernel, geo, layout)
    y = _group_products(xp, wm, cols)                                        # (G, Co/G, L*N)
    if len(kernel) == 2 and _cuda_kernels.usable(y, *(() if bias is None else (bias,))):
        # back to NCHW with the bias in one kernel (Note [Convolution kernels])
        y = _cuda_kernels.batch_last_to_nchw(y.reshape(co, plane * n), bias, n, plane)
        return y.reshape((n, co) + out_sizes), cols, layout
    y = _transpose_2d(y.reshape(co * plane, n)).reshape((n, co) + out_sizes)
    if bias is not None:
        y += bias.reshape((1, co) + (1,) * len(out_sizes))
    return y, cols, layout


def _conv_weight_grad(x, gy, w_shape, geo, cols=None, layout=None, shared=None):
    """dL/dw of y = conv(x, w) given gy = dL/dy (also the columns of x when already made)."""
    if _half(x, gy):
        return _conv_weight_grad(x.astype(np.float32), gy.astype(np.float32), w_shape, geo, cols, layout,
                                 None).astype(np.float16)
    xp = _xp.array_module(gy)
    n, co = gy.shape[:2]
    plane = math.prod(gy.shape[2:])
    g = geo.groups
    full = geo.out_size(x.shape[2:], tuple(w_shape[2:]))
    if full != tuple(gy.shape[2:]):
        # x came out of a transposed convolution with output_padding >= stride: conv(x) has more
        # positions than gy, and the ones past gy's end take no part (a zero gradient)
        wide = xp.zeros(gy.shape[:2] + full, gy.dtype)
        wide[(slice(None), slice(None)) + tuple(slice(0, s) for s in gy.shape[2:])] = gy
        gy = wide
        plane = math.prod(full)
        layout = _layout(n, plane, gy)
    if winograd.fits(gy, w_shape, geo, gy.shape[2:]):
        made = layout == "winograd" and cols is not None           # (the forward's, once)
        tiles = cols if made else winograd.transform_input(x, w_shape[2], geo, gy.shape[2:])
        return winograd.weight_grad(_winograd_grad(gy, w_shape[2], shared), tiles, w_shape)
    if layout == "winograd":            # the switch was turned off since the forward
        cols = layout = None
    layout = layout or _layout(n, plane, gy)
    if cols is None and layout != "sample":
        cols = _im2col(x, tuple(w_shape[2:]), geo, layout)
    loops = parallel_loops_for(gy.size * math.prod(w_shape[1:]), x, gy) \
        if layout == "sample" and g == 1 and len(w_shape) == 4 and cols is None else None
    if loops is not None:       # Note [Parallel loops] in _threads.py; the bias gradient on the way
        import numba
        threads = numba.get_num_threads()
        parts = np.empty((threads,) + tuple(w_shape), gy.dtype)
        bias_parts = np.empty((threads, co), gy.dtype)
        (sh, sw), (dh, dw) = geo.stride, geo.dilation
        loops.conv_weight_grad(x, gy, sh, sw, geo.pad[0], geo.pad[2], dh, dw, parts, bias_parts)
        if shared is not None:
            shared["bias"] = (gy, bias_parts.sum(0))
        return parts.sum(0)
    # written through a (G, Co/G, K) view into an array of the weight's shape: an array that owns
    # its memory becomes w.grad without a copy, a reshaped view would be copied
    gw = xp.empty(tuple(w_shape), gy.dtype)
    gw3 = gw.reshape(g, co // g, -1)
    if layout == "sample":
        gm = gy.reshape(n, g, co // g, plane)
        kernel, k = tuple(w_shape[2:]), gw3.shape[-1]
        step = _chunk_samples(g * k * plane * x.itemsize)

        def half(lo, hi):
            total = gw3 if lo == 0 else xp.empty_like(gw3)
            total[...] = 0
            buf = xp.empty((min(step, hi - lo), g, k, plane), x.dtype) if cols is None else None
            for s in range(lo, hi, step):       # Note [Columns a few samples at a time]
                e = min(s + step, hi)
                part = cols[s:e] if cols is not None else _im2col(x[s:e], kernel, geo, layout, out=buf[:e - s])
                total += xp.matmul(gm[s:e], part.transpose(0, 1, 3, 2)).sum(0)     # (G, Co/G, K)
            return total
        parts = split_batch(half, n, gm.size, gm)
        if len(parts) == 2:
            gw3 += parts[1]
    else:
        _group_products(xp, _grad_batch_last(gy, g, shared), cols.transpose(0, 2, 1), out=gw3)
    return gw


def _conv_input_grad(gy, w, out_sizes, geo, shared=None):
    """dL/dx of y = conv(x, w), x of spatial sizes out_sizes; also conv_transpose(gy, w)."""
    if _half(gy, w):
        return _conv_input_grad(gy.astype(np.float32), w.astype(np.float32), out_sizes, geo).astype(np.float16)
    xp = _xp.array_module(gy)
    n, co = gy.shape[:2]
    conv_out = gy.shape[2:]
    cg = w.shape[1]
    kernel = w.shape[2:]
    g = geo.groups
    if winograd.fits(gy, w.shape, geo, conv_out):
        return winograd.input_grad(_winograd_grad(gy, kernel[0], shared), w, geo, tuple(out_sizes), conv_out)
    wt = w.reshape(g, co // g, cg * math.prod(kernel)).transpose(0, 2, 1)   # (G, K, Co/G)
    if len(kernel) == 2 and _cuda_kernels.usable(gy, w):
        # on the GPU: one product, then col2im gathers the columns into NCHW (Note [Convolution kernels])
        cols = _group_products(xp, wt, _grad_batch_last(gy, g, shared))      # (G, K, L*N)
        return _cuda_kernels.col2im_batch_last(cols.reshape(g * cg * math.prod(kernel), -1), tuple(out_sizes), n,
                                               kernel, geo.stride, geo.pad, geo.dilation, conv_out)
    if type(gy) is not np.ndarray and all(s == 1 for s in geo.stride) and _padding_within_kernel(w, geo):
        return _full_convolution(gy, w, geo, out_sizes)
    loops = parallel_loops_for(gy.size * math.prod(w.shape[1:]), gy, w) \
        if g == 1 and len(kernel) == 2 and _layout(n, math.prod(conv_out), gy) == "sample" else None
    if loops is not None:       # Note [Parallel loops] in _threads.py
        gx = np.empty((n, cg) + tuple(out_sizes), gy.dtype)
        (sh, sw), (dh, dw) = geo.stride, geo.dilation
        loops.conv_input_grad(gy, w, sh, sw, geo.pad[0], geo.pad[2], dh, dw, gx)
        return gx
    if _layout(n, math.prod(conv_out), gy) == "sample":
        gm = gy.reshape(n, g, co // g, math.prod(conv_out))
        gx = xp.empty((n, g * cg) + tuple(out_sizes), gy.dtype)

        compiled = _use_compiled_columns(gy, kernel)
        step = _chunk_samples(g * cg * math.prod(kernel) * math.prod(conv_out) * gy.itemsize)

        def half(lo, hi):
            cols = xp.empty((min(step, hi - lo), g, cg * math.prod(kernel), math.prod(conv_out)), gy.dtype)
            for s in range(lo, hi, step):       # Note [Columns a few samples at a time]
                e = min(s + step, hi)
                part = xp.matmul(wt, gm[s:e], out=cols[:e - s])              # (N, G, K, L)
                if compiled:        # Note [Compiled batch-last im2col and col2im], per plane here
                    (sh, sw), (dh, dw) = geo.stride, geo.dilation
                    _compiled_columns().col2im_planes(part.reshape((e - s, g * cg) + kernel + conv_out), sh, sw,
                                                      geo.pad[0], geo.pad[2], dh, dw, gx[s:e])
                else:
                    gx[s:e] = _col2im(part.reshape((e - s, g, cg) + kernel + conv_out), out_sizes, geo)
        split_batch(half, n, gx.size, gy)
        return gx
    cols = _group_products(xp, wt, _grad_batch_last(gy, g))                  # (G, K, L*N)
    if _use_compiled_columns(cols, kernel):       # Note [Compiled batch-last im2col and col2im]
        cols = cols.reshape((g * cg,) + kernel + conv_out + (n,))
        gx = np.empty((g * cg,) + tuple(out_sizes) + (n,), cols.dtype)
        (sh, sw), (dh, dw) = geo.stride, geo.dilation
        _compiled_columns().col2im_batch_last(cols, sh, sw, geo.pad[0], geo.pad[2], dh, dw, gx)
        return _transpose_2d(gx.reshape(g * cg * math.prod(out_sizes), n)).reshape((n, g * cg) + tuple(out_sizes))
    return _col2im(cols.reshape((g, cg) + kernel + conv_out + (n,)), out_sizes, geo, "gemm")


def _padding_within_kernel(w, geo):
    extents = [(k - 1) * d for k, d in zip(w.shape[2:], geo.dilation)]
    return all(max(geo.pad[2 * i], geo.pad[2 * i + 1]) <= e for i, e in enumerate(extents))


def _full_convolution(gy, w, geo, out_sizes):
    """dL/dx of a stride-1 convolution, as a convolution: gy padded by the kernel's extent
    (less the forward padding, plus any output_padding at the end), with w flipped and its two
    channel axes swapped (per group).

    One im2col and one product instead of col2im's prod(kernel) strided adds: on a GPU, where
    each array operation is a kernel launch, that is the cheaper way.
    """
    co, cg = w.shape[:2]
    kernel = w.shape[2:]
    nd = len(kernel)
    g = geo.groups
    wt = w.reshape((g, co // g, cg) + kernel).transpose((0, 2, 1) + tuple(range(3, 3 + nd)))
    wt = wt[(Ellipsis,) + (slice(None, None, -1),) * nd].reshape((g * cg, co // g) + kernel)
    pad = ()
    for i, (k, d, n, size) in enumerate(zip(kernel, geo.dilation, gy.shape[2:], out_sizes)):
        extent = (k - 1) * d
        output_padding = size - (n + extent - geo.pad[2 * i] - geo.pad[2 * i + 1])
        pad += (extent - geo.pad[2 * i], extent - geo.pad[2 * i + 1] + output_padding)
    full = _Geometry((1,) * nd, pad, geo.dilation, g)
    return _conv_forward(gy, wt, full)[0]


# ---------------------------------------------------------------------------------------
# Autograd Functions
# ---------------------------------------------------------------------------------------

class _Conv(Function):
    """y = conv(x, w) + b (x of 1, 2 or 3 spatial dims, with the batch)."""
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
        shared = {}         # gy as the two gradients' products read it, made once
        if need[0]:
            gx = _ConvTranspose.apply(grad, w, None, ctx.geo, tuple(ctx._input_meta[0][0][2:]), shared)
        if need[1]:
            cols = ctx.__dict__.pop("cols", None)
            gw = _ConvWeight.apply(x, grad, tuple(ctx._input_meta[1][0]), ctx.geo, cols,
                                   ctx.__dict__.get("layout"), shared)
        if need[2]:
            made = shared.get("bias")           # summed by the weight gradient's loops, when they ran
            if made is not None and made[0] is grad._data and not grad.requires_grad:
                gb = _make(made[1])
            else:
                gb = grad.sum((0,) + tuple(range(2, grad.ndim)))      # (reduction.sum_array: batch first)
        return gx, gw, gb, None


def _conv_to(x, w, geo, sizes):
    """conv(x, w) cut to the spatial ``sizes`` of the tensor it is the gradient of: with an
    output_padding of at least the stride, conv_transpose's output x is longer than the one
    conv maps back onto y, and the extra positions fall off the end."""
    out = _Conv.apply(x, w, None, geo)
    if tuple(out.shape[2:]) == tuple(sizes):
        return out
    return out[(slice(None), slice(None)) + tuple(slice(0, s) for s in sizes)]


class _ConvTranspose(Function):
    """x = conv_transpose(y, w) + b: the adjoint of conv in its input."""
    _node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, y, w, b, geo, out_sizes, shared=None):
        x = _conv_input_grad(y._data, w._data, out_sizes, geo, shared)
        if b is not None:
            x += b._data.reshape((1, -1) + (1,) * len(out_sizes))
        ctx.geo = geo
        ctx.save_for_backward(y if ctx.needs_input_grad[1] else None, w if ctx.needs_input_grad[0] else None)
        return x

    @staticmethod
    def backward(ctx, grad):        # dy = conv(grad, w), dw = weight_grad(grad, y), db = sum(grad)
        y, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gy = gw = gb = None
        if need[0]:
            gy = _conv_to(grad, w, ctx.geo, ctx._input_meta[0][0][2:])
        if need[1]:
            gw = _ConvWeight.apply(grad, y, tuple(ctx._input_meta[1][0]), ctx.geo, None, None)
        if need[2]:
            gb = grad.sum((0,) + tuple(range(2, grad.ndim)))      # (reduction.sum_array: batch first)
        return gy, gw, gb, None, None, None


class _ConvWeight(Function):
    """w = weight_grad(x, y): the adjoint of conv in its weight."""
    _node_name = "ConvolutionBackwardBackward0"

    @staticmethod
    def forward(ctx, x, y, w_shape, geo, cols, layout, shared=None):
        ctx.geo = geo
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, y if ctx.needs_input_grad[0] else None)
        return _conv_weight_grad(x._data, y._data, w_shape, geo, cols, layout, shared)

    @staticmethod
    def backward(ctx, grad):        # dx = conv_transpose(y, grad), dy = conv(x, grad)
        x, y = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = _ConvTranspose.apply(y, grad, None, ctx.geo, tuple(ctx._input_meta[0][0][2:])) if need[0] else None
        gy = _conv_to(x, grad, ctx.geo, ctx._input_meta[1][0][2:]) if need[1] else None
        return gx, gy, None, None, None, None, None


class _Unfold(Function):
    """im2col: (N, C, H, W) -> (N, C*kh*kw, L)."""
    _node_name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, kernel, geo):
        ctx.kernel, ctx.geo, ctx.hw = kernel, geo, x.shape[2:]
        cols = _im2col(x._data, kernel, geo, "sample")
        return cols.reshape(cols.shape[0], cols.shape[1] * cols.shape[2], cols.shape[3])

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
        out_sizes = geo.out_size(out_hw, kernel)
        wgrad = cols._data.reshape((n, 1, ck // math.prod(kernel)) + kernel + out_sizes)   # "sample" layout
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
    if input.dtype.name == "bool":
        raise NotImplementedError(f"\"{op}\" not implemented for '{_type_word(input)}'")
    for t in (weight, bias):
        if t is not None and t.dtype is not input.dtype:
            raise RuntimeError(f"expected scalar type {_type_word(input)} but found {_type_word(t)}")
        if t is not None and t.device != input.device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                               f"{input.device} and {t.device}! ({op})")
    if input.dtype.is_complex:
        raise NotImplementedError(f"{op}: complex convolutions are not implemented by flambeau")


def _type_word(t):
    from ._util import _type_word as word
    return word(t.dtype)


def refuse_integers(kernel, input, but_int64=False):
    """NotImplementedError, as PyTorch's CPU kernel ``kernel`` for an integer input (of another
    integer dtype than int64, when but_int64)."""
    dt = input.dtype
    if dt.is_floating_point or dt.is_complex or dt.name == "bool" or (but_int64 and dt.name == "int64"):
        return
    raise NotImplementedError(f"\"{kernel}\" not implemented for '{_type_word(input)}'")


_warned_same = [False]


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
            if pads[::2] != pads[1::2] and not _warned_same[0]:     # once per process, as PyTorch
                _warned_same[0] = True
                warnings.warn("Using padding='same' with even kernel lengths and odd dilation may require a "
                              "zero-padded copy of the input be created", UserWarning, stacklevel=caller_level())
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
    return _Geometry(stride, pads, dilation, int(groups))


def _batched(input, nd):
    return (input, False) if input.ndim == nd + 2 else (input.unsqueeze(0), True)


def _check_weight_and_empty_input(x, weight, g, nd):
    """PyTorch's checks of a weight without output (input) channels and of an input empty other
    than in its batch or channels (reported as 4-D for 1-D convolutions)."""
    if weight.shape[0] < g:
        raise RuntimeError(f"Given groups={g}, expected weight to be at least {g} at dimension 0, but got weight "
                           f"of size {_shape_str(weight.shape)} instead")
    if x.numel() == 0 and x.shape[0] and x.shape[1]:
        shape = x.shape[:2] + (1,) + x.shape[2:] if nd == 1 else x.shape
        raise RuntimeError(f"Only zero batch or zero channel inputs are supported, but got input shape: "
                           f"{_shape_str(shape)}")


def _conv(op, input, weight, bias, stride, padding, dilation, groups, nd):
    _check_operands(op, input, weight, bias, nd)
    geo = _geometry(op, stride, padding, dilation, groups, tuple(weight.shape[2:]), nd)
    x, unbatched = _batched(input, nd)
    co, cg = weight.shape[0], weight.shape[1]
    g = geo.groups
    if co < g:
        _check_weight_and_empty_input(x, weight, g, nd)
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
    sizes = _padded_sizes(x.shape[2:], geo.pad)
    extents = tuple(d * (k - 1) + 1 for k, d in zip(weight.shape[2:], geo.dilation))
    if any(s < e for s, e in zip(sizes, extents)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, sizes))}). Kernel "
                           f"size: ({' x '.join(map(str, extents))}). Kernel size can't be greater than actual "
                           f"input size")
    _check_weight_and_empty_input(x, weight, g, nd)
    out = _Conv.apply(x, weight, bias, geo)
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


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution over (N, C, D, H, W) or (C, D, H, W) input; arguments as conv2d, ints or triples.

    Example:
        >>> import flambeau
        >>> conv3d(flambeau.ones(1, 1, 4, 4, 4), flambeau.ones(2, 1, 3, 3, 3), padding=1).shape
        torch.Size([1, 2, 4, 4, 4])
    """
    return _conv("conv3d", input, weight, bias, stride, padding, dilation, groups, 3)


def _conv_transpose(op, input, weight, bias, stride, padding, output_padding, groups, dilation, nd):
    _check_operands(op, input, weight, bias, nd)
    if isinstance(padding, str):
        raise TypeError(f"{op}(): argument 'padding' must be tuple of ints, not str")
    geo = _geometry(op, stride, padding, dilation, groups, tuple(weight.shape[2:]), nd)
    opad = _int_tuple(output_padding, nd, "output_padding")
    x, unbatched = _batched(input, nd)
    g = geo.groups
    cin, cog = weight.shape[0], weight.shape[1]
    _check_weight_and_empty_input(x, weight, g, nd)
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
    if any(o < 0 for o in opad) or any(o >= s and o >= d for o, s, d in zip(opad, geo.stride, geo.dilation)):
        names = ("depth", "height", "width")[3 - nd:]
        parts = ([f"output_padding_{n}: {o}" for n, o in zip(names, opad)]
                 + [f"stride_{n}: {s}" for n, s in zip(names, geo.stride)]
                 + [f"dilation_{n}: {d}" for n, d in zip(names, geo.dilation)])
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                           + " ".join(parts))
    out_sizes = tuple((n - 1) * s - geo.pad[2 * i] - geo.pad[2 * i + 1] + d * (k - 1) + o + 1
                      for i, (n, s, d, k, o) in enumerate(zip(x.shape[2:], geo.stride, geo.dilation,
                                                              weight.shape[2:], opad)))
    if any(o <= 0 for o in out_sizes):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, x.shape[2:]))}). Calculated "
                           f"output size per channel: ({' x '.join(map(str, out_sizes))}). Output size is too "
                           f"small")
    refuse_integers(f"slow_conv_transpose{max(nd, 2)}d_out_cpu", input, but_int64=True)
    out = _ConvTranspose.apply(x, weight, bias, geo, out_sizes)
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


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution over (N, C, D, H, W) or (C, D, H, W) input; arguments as conv_transpose2d,
    ints or triples; weight (C_in, C_out/groups, kD, kH, kW)."""
    return _conv_transpose("conv_transpose3d", input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 3)


# ---------------------------------------------------------------------------------------
# unfold / fold
# ---------------------------------------------------------------------------------------

def _check_nonempty(input, unbatched_ndim, words):
    """PyTorch's im2col/col2im refuse empty dims but the batch (of a batched input)."""
    rest = input.shape[1:] if input.ndim == unbatched_ndim + 1 else input.shape
    if 0 in rest:
        raise RuntimeError(f"Expected {unbatched_ndim}D or {unbatched_ndim + 1}D (batch mode) tensor {words}, but "
                           f"got: {_shape_str(input.shape)}")


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
    _check_nonempty(input, 3, "with possibly 0 batch size and other non-zero dimensions for input")
    x, unbatched = (input, False) if input.ndim == 4 else (input.unsqueeze(0), True)
    geo = _Geometry(stride, (pad[0], pad[0], pad[1], pad[1]), dil, 1)
    ho, wo = geo.out_size(x.shape[2:], kernel)
    if ho < 1 or wo < 1:
        raise RuntimeError(f"Given input with spatial size ({x.shape[2]}, {x.shape[3]}), kernel_size=({kernel[0]}, "
                           f"{kernel[1]}), dilation=({dil[0]}, {dil[1]}), padding=({pad[0]}, {pad[1]}), "
                           f"calculated shape of the array of sliding blocks as ({ho}, {wo}), but its components "
                           f"must be at least one.")
    refuse_integers("im2col_out_cpu", input)
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
    _check_nonempty(input, 2, "for input with possibly 0 batch size and non-zero dimensions for input")
    x, unbatched = (input, False) if input.ndim == 3 else (input.unsqueeze(0), True)
    kk = kernel[0] * kernel[1]
    if x.shape[1] % kk:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                           f"but got input.size(1)={x.shape[1]} and kernel_size=({kernel[0]}, {kernel[1]}).")
    geo = _Geometry(stride, (pad[0], pad[0], pad[1], pad[1]), dil, 1)
    ho, wo = geo.out_size(out_hw, kernel)
    if x.shape[2] != ho * wo:
        raise RuntimeError(f"Given output_size=({out_hw[0]}, {out_hw[1]}), kernel_size=({kernel[0]}, {kernel[1]}), "
                           f"dilation=({dil[0]}, {dil[1]}), padding=({pad[0]}, {pad[1]}), stride=({stride[0]}, "
                           f"{stride[1]}), expected size of input's dimension 2 to match the calculated number of "
                           f"sliding blocks {ho} * {wo} = {ho * wo}, but got input.size(2)={x.shape[2]}.")
    refuse_integers("col2im_out_cpu", input)
    out = _Fold.apply(x, out_hw, kernel, geo)
    return out.squeeze(0) if unbatched else out
