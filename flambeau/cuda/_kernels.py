"""CUDA kernels of flambeau's own, for work that CuPy's array functions spread over many launches.

A small network's training step on a GPU is bound by kernel launches, not by arithmetic. As array
code, max pooling takes about a dozen CuPy calls each way (a copy of the windows, max, argmax, the
NaN rule, a masked write-back), cross-entropy over a dozen, batch norm over a dozen each way,
dropout four, relu's gradient two, tanh's and sigmoid's three, the SGD update two per parameter
and Adam's about a dozen. The kernels below do each of those in one launch (batch norm in three,
and the optimizers update several parameters a launch), in this order: max pooling,
convolution's columns and output (im2col in the batch-last layout, its product back to NCHW, and
col2im for the input's gradient),
cross-entropy, the gradients of relu, tanh and sigmoid, dropout, batch norm, the optimizers'
updates, the range of index arrays. The infrastructure comes first.

The sources are plain CUDA C++ with no headers (NVRTC compiles them at first use), one thread per
output element (or row) in a grid-stride loop, over C-contiguous arrays, with no shared memory,
barriers or atomics. ``scalar_t`` is typedef'd to the array's type, one compiled module per dtype.
Callers check ``usable`` (``in_place_usable`` for arrays written in place) and keep their array code
for everything else (other dtypes, NumPy arrays, complex parameters), which is also the reference
the tests hold the kernels to. ``FLAMBEAU_CUDA_KERNELS=0`` in the environment turns the kernels off.
"""
import os

import numpy as np

from .. import _xp

_ENABLED = os.environ.get("FLAMBEAU_CUDA_KERNELS", "1") != "0"
_C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_INDEX_TYPES = {np.dtype(np.int64): "long long", np.dtype(np.int32): "int"}
_THREADS = 256
_MAX_BLOCKS = 1 << 20        # a grid-stride loop covers any size beyond

def dtypes(name):
    """The dtypes kernel ``name`` is compiled for."""
    return tuple(_INDEX_TYPES if name == "index_range" else _C_TYPES)


def source(name, dtype):
    """The CUDA source holding kernel ``name`` for arrays of ``dtype``."""
    dtype = np.dtype(dtype)
    return f"typedef {_C_TYPES.get(dtype) or _INDEX_TYPES[dtype]} scalar_t;\n" + SOURCES[name]


def _kernel(name, dtype):
    key = (name, dtype)
    k = _compiled.get(key)
    if k is None:
        k = _compiled[key] = _xp.cupy.RawKernel(source(name, dtype), name)
    return k


def usable(*arrays):
    """Whether the kernels take these arrays: device arrays on the current device (a kernel launches
    there and would read another device's memory), all float32 or all float64."""
    if not _ENABLED or _xp.cupy is None:
        return False
    dtype = arrays[0].dtype
    if dtype not in _C_TYPES:
        return False
    for a in arrays:
        if type(a) is np.ndarray or a.dtype != dtype:
            return False
    device = _xp.cupy.cuda.runtime.getDevice()
    for a in arrays:
        if a.data.device_id != device:
            return False
    return True


def in_place_usable(*arrays):
    """usable, and C-contiguous: arrays a kernel writes in place (parameters, optimizer state)."""
    return usable(*arrays) and all(a.flags.c_contiguous for a in arrays)


def _contiguous(a):
    return a if a.flags.c_contiguous else _xp.cupy.ascontiguousarray(a)


def _launch(name, dtype, total, args):
    if total:
        blocks = min((total + _THREADS - 1) // _THREADS, _MAX_BLOCKS)
        _kernel(name, dtype)((blocks,), (_THREADS,), args)


# Note [Max pooling kernels]
# Forward: one thread per output (plane, oh, ow) walks the window's positions inside the input, as
# PyTorch does: the search starts at the first inside position, a larger value or any NaN takes
# over (so NaN wins, and the last NaN gives the offset), and a window with no position inside gets
# the lowest value and the offset of its first position. ``arg`` holds offsets in the window
# (i * kw + j), as the array code's argmax does.
# Backward: one thread per input position gathers, from each window that covers it, the gradient
# of that window if its maximum sits there: no atomics, every window size, any overlap.
_MAX_POOL_2D = r"""
extern "C" __global__ void max_pool2d(const scalar_t* x, scalar_t* out, int* arg, long long total,
                                      int H, int W, int Ho, int Wo, int kh, int kw, int sh, int sw,
                                      int ph, int pw, int dh, int dw, scalar_t lowest) {
    for (long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x; o < total;
         o += (long long)gridDim.x * blockDim.x) {
        int ow = (int)(o % Wo);
        long long t = o / Wo;
        int oh = (int)(t % Ho);
        const scalar_t* plane = x + (t / Ho) * H * W;
        int h0 = oh * sh - ph, w0 = ow * sw - pw;
        int i0 = h0 < 0 ? (-h0 + dh - 1) / dh : 0;       /* first positions not before the input */
        int j0 = w0 < 0 ? (-w0 + dw - 1) / dw : 0;
        int i1 = h0 > H - 1 ? 0 : (H - 1 - h0) / dh + 1;  /* one past the last inside */
        int j1 = w0 > W - 1 ? 0 : (W - 1 - w0) / dw + 1;
        if (i1 > kh) i1 = kh;
        if (j1 > kw) j1 = kw;
        if (i0 >= i1 || j0 >= j1) {
            out[o] = lowest;
            arg[o] = i0 * kw + j0;
            continue;
        }
        scalar_t best = plane[(long long)(h0 + i0 * dh) * W + (w0 + j0 * dw)];
        int best_at = i0 * kw + j0;
        for (int i = i0; i < i1; ++i) {
            const scalar_t* row = plane + (long long)(h0 + i * dh) * W;
            for (int j = j0; j < j1; ++j) {
                scalar_t v = row[w0 + j * dw];
                if (v > best || v != v) {
                    best = v;
                    best_at = i * kw + j;
                }
            }
        }
        out[o] = best;
        arg[o] = best_at;
    }
}

extern "C" __global__ void max_pool2d_backward(const scalar_t* gy, const int* arg, scalar_t* gx,
                                               long long total, int H, int W, int Ho, int Wo,
                                               int kh, int kw, int sh, int sw, int ph, int pw,
                                               int dh, int dw) {
    for (long long p = (long long)blockIdx.x * blockDim.x + threadIdx.x; p < total;
         p += (long long)gridDim.x * blockDim.x) {
        int w = (int)(p % W);
        long long t = p / W;
        int h = (int)(t % H);
        long long first = (t / H) * Ho * Wo;
        /* the windows whose span reaches (h, w): oh * sh in [h + ph - (kh - 1) dh, h + ph] */
        int lo = h + ph - (kh - 1) * dh, oh0 = lo <= 0 ? 0 : (lo + sh - 1) / sh, oh1 = (h + ph) / sh;
        lo = w + pw - (kw - 1) * dw;
        int ow0 = lo <= 0 ? 0 : (lo + sw - 1) / sw, ow1 = (w + pw) / sw;
        if (oh1 > Ho - 1) oh1 = Ho - 1;
        if (ow1 > Wo - 1) ow1 = Wo - 1;
        scalar_t sum = 0;
        for (int oh = oh0; oh <= oh1; ++oh) {
            int di = h + ph - oh * sh;               /* i * dh for the window position i at h */
            if (di % dh != 0) continue;
            for (int ow = ow0; ow <= ow1; ++ow) {
                int dj = w + pw - ow * sw;
                if (dj % dw != 0) continue;
                long long o = first + (long long)oh * Wo + ow;
                if (arg[o] == (di / dh) * kw + dj / dw) sum += gy[o];
            }
        }
        gx[p] = sum;
    }
}
"""


def _geometry(kernel, stride, pad, dilation):
    """(kh, kw, sh, sw, ph, pw, dh, dw) as int32 kernel arguments; pad is (top, bottom, left, right)."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    i32 = np.int32
    return i32(kh), i32(kw), i32(sh), i32(sw), i32(pad[0]), i32(pad[2]), i32(dh), i32(dw)


def max_pool2d(x, kernel, stride, pad, dilation, out_size):
    """(maxima, offsets) of 2-D max pooling over x (N, C, H, W); offsets are int32 (i * kw + j)."""
    xp = _xp.cupy
    x = _contiguous(x)
    n, c, h, w = x.shape
    ho, wo = out_size
    out = xp.empty((n, c, ho, wo), x.dtype)
    arg = xp.empty((n, c, ho, wo), np.int32)
    lowest = x.dtype.type(-np.inf)
    _launch("max_pool2d", x.dtype, out.size,
            (x, out, arg, np.int64(out.size), np.int32(h), np.int32(w), np.int32(ho), np.int32(wo),
             *_geometry(kernel, stride, pad, dilation), lowest))
    return out, arg


def max_pool2d_backward(gy, arg, sizes, kernel, stride, pad, dilation):
    """The input-sized gradient of max_pool2d: each gy at its window's maximum, summed where windows overlap."""
    xp = _xp.cupy
    gy, arg = _contiguous(gy), _contiguous(arg)
    n, c, ho, wo = gy.shape
    h, w = sizes
    gx = xp.empty((n, c, h, w), gy.dtype)
    _launch("max_pool2d_backward", gy.dtype, gx.size,
            (gy, arg, gx, np.int64(gx.size), np.int32(h), np.int32(w), np.int32(ho), np.int32(wo),
             *_geometry(kernel, stride, pad, dilation)))
    return gx


# Note [Convolution kernels]
# Convolution as im2col and one matrix product in the batch-last layout (see _ops/conv.py): the
# columns (C * kh * kw, Ho * Wo * N), batch fastest, are read straight from the NCHW input with
# the padding implied, instead of a transposed copy, a zero-padded copy and a window copy; the
# product (Co, Ho * Wo * N) goes back to NCHW with the bias added in one pass, instead of a
# transposing copy and an add. One thread per element written: the writes are coalesced.
# The input's gradient is the adjoint: one product w^T gy gives the columns' gradients, which
# col2im sums back into NCHW, each input position gathering from the windows that read it (no
# atomics), in place of a strided add per kernel offset.
_CONV = r"""
extern "C" __global__ void im2col_batch_last(const scalar_t* x, scalar_t* cols, COLUMNS_GEOMETRY) {
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total;
         k += (long long)gridDim.x * blockDim.x) {
        int n = (int)(k % N);
        long long t = k / N;
        int ow = (int)(t % Wo);
        t /= Wo;
        int oh = (int)(t % Ho);
        t /= Ho;
        int j = (int)(t % kw);
        t /= kw;
        int i = (int)(t % kh);
        long long c = t / kh;
        int h = oh * sh - ph + i * dh, w = ow * sw - pw + j * dw;
        cols[k] = (h >= 0 && h < H && w >= 0 && w < W)
                  ? x[(((long long)n * C + c) * H + h) * W + w] : (scalar_t)0;
    }
}

extern "C" __global__ void col2im_batch_last(const scalar_t* cols, scalar_t* x, COLUMNS_GEOMETRY) {
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total;
         k += (long long)gridDim.x * blockDim.x) {
        int w = (int)(k % W);
        long long t = k / W;
        int h = (int)(t % H);
        t /= H;
        long long c = t % C;
        long long n = t / C;
        long long plane = (long long)Ho * Wo * N;
        scalar_t sum = (scalar_t)0;
        for (int i = 0; i < kh; ++i) {           /* the offsets in the order the array code adds them */
            int hh = h + ph - i * dh;
            if (hh < 0 || hh % sh != 0 || hh / sh >= Ho) continue;
            for (int j = 0; j < kw; ++j) {
                int ww = w + pw - j * dw;
                if (ww < 0 || ww % sw != 0 || ww / sw >= Wo) continue;
                sum += cols[((c * kh + i) * kw + j) * plane + ((long long)(hh / sh) * Wo + ww / sw) * N + n];
            }
        }
        x[k] = sum;
    }
}

extern "C" __global__ void batch_last_to_nchw(const scalar_t* y, const scalar_t* bias, int has_bias,
                                              scalar_t* out, long long total, int N, int Co,
                                              long long L) {
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total;
         k += (long long)gridDim.x * blockDim.x) {
        long long l = k % L;
        long long t = k / L;
        int co = (int)(t % Co);
        long long n = t / Co;
        scalar_t v = y[((long long)co * L + l) * N + n];
        out[k] = has_bias ? v + bias[co] : v;
    }
}
"""
# im2col and col2im take the same geometry: the element count, then the sizes of x (N, C, H, W),
# of the output plane (Ho, Wo) and the window's kernel, stride, padding and dilation
_CONV = _CONV.replace("COLUMNS_GEOMETRY", "long long total, int N, int C, int H, int W, int Ho, int Wo, "
                      "int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw")


def im2col_batch_last(x, kernel, stride, pad, dilation, out_size):
    """The columns (C * kh * kw, Ho * Wo * N) of x (N, C, H, W), batch fastest; pad is
    (top, bottom, left, right), zeros outside the input."""
    x = _contiguous(x)
    n, c, h, w = x.shape
    (kh, kw), (ho, wo) = kernel, out_size
    cols = _xp.cupy.empty((c * kh * kw, ho * wo * n), x.dtype)
    _launch_columns("im2col_batch_last", x, cols, cols.size, (n, c, h, w), out_size, kernel, stride, pad, dilation)
    return cols


def col2im_batch_last(cols, sizes, n, kernel, stride, pad, dilation, out_size):
    """The adjoint of im2col_batch_last: the columns (C * kh * kw, Ho * Wo * N), batch fastest, summed
    into an (N, C, H, W) array, H, W = sizes (each input position gathers the columns that read it)."""
    cols = _contiguous(cols)
    (kh, kw), (h, w) = kernel, sizes
    c = cols.shape[0] // (kh * kw)
    x = _xp.cupy.empty((n, c, h, w), cols.dtype)
    _launch_columns("col2im_batch_last", cols, x, x.size, (n, c, h, w), out_size, kernel, stride, pad, dilation)
    return x


def _launch_columns(name, source, target, total, nchw, out_size, kernel, stride, pad, dilation):
    """Launch im2col or col2im over ``total`` elements of target, with their shared geometry."""
    _launch(name, source.dtype, total, (source, target, np.int64(total), *(np.int32(v) for v in nchw),
                                        *(np.int32(v) for v in out_size), *_geometry(kernel, stride, pad, dilation)))


def batch_last_to_nchw(y, bias, n, plane):
    """y (Co, L * N), batch fastest, as a contiguous (N, Co, L), plus bias (Co,) when given."""
    y = _contiguous(y)
    co = y.shape[0]
    out = _xp.cupy.empty((n, co, plane), y.dtype)
    _launch("batch_last_to_nchw", y.dtype, out.size,
            (y, y if bias is None else _contiguous(bias), np.int32(bias is not None), out,
             np.int64(out.size), np.int32(n), np.int32(co), np.int64(plane)))
    return out


# Cross-entropy over class indices, rows (M, C): one thread per row (so only for a moderate C: a
# vocabulary-sized row is better reduced by CuPy's parallel reductions) finds the row's maximum, then
# lse = max + log(sum exp(x - max)) and the loss lse - x[target]; the gradient, one thread per
# element, is (softmax - one-hot) times the incoming gradient over the mean's divisor
# (g[r * g_step] / divisor: g one scalar for a mean or sum, one per row for reduction='none').
CROSS_ENTROPY_MAX_CLASSES = 1024
_CROSS_ENTROPY = r"""
extern "C" __global__ void cross_entropy(const scalar_t* x, const long long* target, scalar_t* loss,
                                         scalar_t* lse, long long rows, int classes) {
    for (long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x; r < rows;
         r += (long long)gridDim.x * blockDim.x) {
        const scalar_t* row = x + r * classes;
        scalar_t top = row[0];
        for (int c = 1; c < classes; ++c) {
            scalar_t v = row[c];
            if (v > top) top = v;          /* a NaN makes the sum, so the row, NaN */
        }
        scalar_t sum = 0;
        for (int c = 0; c < classes; ++c) sum += exp(row[c] - top);
        scalar_t log_sum = log(sum);
        lse[r] = top + log_sum;
        loss[r] = -((row[target[r]] - top) - log_sum);
    }
}

extern "C" __global__ void cross_entropy_backward(const scalar_t* x, const long long* target,
                                                  const scalar_t* lse, const scalar_t* g, long long g_step,
                                                  scalar_t divisor, scalar_t* gx, long long total, int classes) {
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total;
         k += (long long)gridDim.x * blockDim.x) {
        long long r = k / classes;
        scalar_t p = exp(x[k] - lse[r]);
        if (target[r] == k % classes) p -= 1;
        gx[k] = p * (g[r * g_step] / divisor);
    }
}
"""


def cross_entropy(x, target):
    """(per-row losses, per-row log-sum-exp) of logits x (M, C) at int64 class indices target (M,),
    all in range."""
    xp = _xp.cupy
    x, target = _contiguous(x), _contiguous(target)
    rows, classes = x.shape
    loss = xp.empty(rows, x.dtype)
    lse = xp.empty(rows, x.dtype)
    _launch("cross_entropy", x.dtype, rows, (x, target, loss, lse, np.int64(rows), np.int32(classes)))
    return loss, lse


def cross_entropy_backward(x, target, lse, g, divisor):
    """(softmax(x) - one_hot(target)) * (g / divisor), g of shape () or (M, 1)."""
    xp = _xp.cupy
    x, target, g = _contiguous(x), _contiguous(target), _contiguous(g)
    gx = xp.empty(x.shape, x.dtype)
    _launch("cross_entropy_backward", x.dtype, gx.size,
            (x, target, lse, g, np.int64(1 if g.size > 1 else 0), x.dtype.type(divisor), gx, np.int64(gx.size),
             np.int32(x.shape[1])))
    return gx


# The gradient of relu and threshold: g where x > threshold (or x is NaN), else 0.
_THRESHOLD_BACKWARD = r"""
extern "C" __global__ void threshold_backward(const scalar_t* g, const scalar_t* x, scalar_t threshold,
                                              scalar_t* out, long long total) {
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total;
         k += (long long)gridDim.x * blockDim.x)
        out[k] = x[k] <= threshold ? (scalar_t)0 : g[k];
}
"""


def threshold_backward(g, x, threshold):
    """g where x > threshold (NaN included), else 0, in g's layout made C-contiguous."""
    g, x = _contiguous(g), _contiguous(x)
    out = _xp.cupy.empty(g.shape, g.dtype)
    _launch("threshold_backward", g.dtype, out.size, (g, x, g.dtype.type(threshold), out, np.int64(out.size)))
    return out


# The gradients of tanh and sigmoid from their outputs y, in the array code's order of operations:
# g (1 - y y) and g (1 - y) y.
_SATURATING_BACKWARD = r"""
extern "C" __global__ void tanh_backward(const scalar_t* g, const scalar_t* y, scalar_t* out, long long total) {
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total;
         k += (long long)gridDim.x * blockDim.x)
        out[k] = g[k] * ((scalar_t)1 - y[k] * y[k]);
}

extern "C" __global__ void sigmoid_backward(const scalar_t* g, const scalar_t* y, scalar_t* out, long long total) {
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total;
         k += (long long)gridDim.x * blockDim.x)
        out[k] = g[k] * ((scalar_t)1 - y[k]) * y[k];
}
"""


def saturating_backward(name, g, y):
    """tanh's or sigmoid's gradient (name "tanh_backward" or "sigmoid_backward") for the output y."""
    g, y = _contiguous(g), _contiguous(y)
    out = _xp.cupy.empty(y.shape, y.dtype)
    _launch(name, y.dtype, out.size, (g, y, out, np.int64(out.size)))
    return out


# Dropout from uniform noise u: the scale 1 / (1 - p) where u >= p, else 0, times x (the mask kept
# for the gradient).
_DROPOUT = r"""
extern "C" __global__ void dropout(const scalar_t* x, const scalar_t* u, scalar_t p, scalar_t scale,
                                   scalar_t* out, scalar_t* mask, long long total) {
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total;
         k += (long long)gridDim.x * blockDim.x) {
        scalar_t m = u[k] >= p ? scale : (scalar_t)0;
        mask[k] = m;
        out[k] = x[k] * m;
    }
}
"""


def dropout(x, noise, p):
    """(x * mask, mask), mask = 1 / (1 - p) where noise >= p, else 0."""
    x, noise = _contiguous(x), _contiguous(noise)
    out, mask = _xp.cupy.empty(x.shape, x.dtype), _xp.cupy.empty(x.shape, x.dtype)
    t = x.dtype.type
    _launch("dropout", x.dtype, x.size, (x, noise, t(p), t(1.0 / (1.0 - p)), out, mask, np.int64(x.size)))
    return out, mask


# Note [Batch norm kernels]
# Batch normalization over x (N, C, S) (S the product of the spatial sizes, 1 for (N, C) inputs)
# reduces each channel's N * S values. Without barriers, that takes two launches: the first splits
# each channel into chunks and one thread per (channel, chunk) reduces its chunk (Welford's mean and
# sum of squared deviations forward; the sums of g and g * x_hat backward); the second, one thread
# per channel, combines the chunks (Chan's formula for the variance), then derives what the
# elementwise pass needs (mean, 1/std, scale) and updates the running statistics. A third launch
# is the elementwise pass itself. The array code takes about 16 launches forward and 13 backward.
_BATCH_NORM = r"""
extern "C" __global__ void batch_norm_partials(const scalar_t* x, const scalar_t* g, scalar_t* part_a,
                                               scalar_t* part_b, const scalar_t* mean, const scalar_t* rstd,
                                               int backward, long long N, int C, long long S, long long chunk,
                                               long long chunks) {
    long long per = N * S;
    for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < C * chunks;
         t += (long long)gridDim.x * blockDim.x) {
        int c = (int)(t / chunks);
        long long j0 = (t % chunks) * chunk, j1 = j0 + chunk < per ? j0 + chunk : per;
        scalar_t a = 0, b = 0;          /* forward: mean, M2 (Welford); backward: sum g, sum g x_hat */
        for (long long j = j0; j < j1; ++j) {
            long long n = j / S;
            long long at = (n * C + c) * S + (j - n * S);
            if (backward) {
                scalar_t x_hat = (x[at] - mean[c]) * rstd[c];
                a += g[at];
                b += g[at] * x_hat;
            } else {
                scalar_t v = x[at];
                scalar_t d = v - a;
                a += d / (scalar_t)(j - j0 + 1);
                b += d * (v - a);
            }
        }
        part_a[t] = a;
        part_b[t] = b;
    }
}

extern "C" __global__ void batch_norm_stats(const scalar_t* part_mean, const scalar_t* part_m2, long long per,
                                            long long chunk, long long chunks, int C, const scalar_t* weight,
                                            int has_weight, scalar_t eps, scalar_t* mean_out, scalar_t* rstd_out,
                                            scalar_t* scale_out, scalar_t* running_mean, scalar_t* running_var,
                                            int update_running, scalar_t momentum, scalar_t one_minus_momentum,
                                            scalar_t unbiased_momentum) {
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
        scalar_t mean = 0, m2 = 0;
        long long count = 0;
        for (long long k = 0; k < chunks; ++k) {
            long long nk = per - k * chunk < chunk ? per - k * chunk : chunk;
            long long total = count + nk;
            scalar_t delta = part_mean[c * chunks + k] - mean;
            mean += delta * ((scalar_t)nk / (scalar_t)total);
            m2 += part_m2[c * chunks + k] + delta * delta * ((scalar_t)count * (scalar_t)nk / (scalar_t)total);
            count = total;
        }
        scalar_t var = m2 / (scalar_t)per;
        scalar_t rstd = 1 / sqrt(var + eps);
        mean_out[c] = mean;
        rstd_out[c] = rstd;
        scale_out[c] = has_weight ? rstd * weight[c] : rstd;
        if (update_running) {
            running_mean[c] = running_mean[c] * one_minus_momentum + mean * momentum;
            running_var[c] = running_var[c] * one_minus_momentum + var * unbiased_momentum;
        }
    }
}

extern "C" __global__ void batch_norm_sums(const scalar_t* part_a, const scalar_t* part_b, long long chunks, int C,
                                           scalar_t* sum_a, scalar_t* sum_b) {
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
        scalar_t a = 0, b = 0;
        for (long long k = 0; k < chunks; ++k) {
            a += part_a[c * chunks + k];
            b += part_b[c * chunks + k];
        }
        sum_a[c] = a;
        sum_b[c] = b;
    }
}

/* forward: y = (x - mean) * scale (+ bias); backward: gx = (g - gsum/n - x_hat ghsum/n) * scale */
/* forward: out = (x - mean) * scale + affine (the bias); backward: the input's gradient, times
   scale (rstd) * affine (the weight); without the affine parameter, the term is left out */
extern "C" __global__ void batch_norm_apply(const scalar_t* x, const scalar_t* g, const scalar_t* mean,
                                            const scalar_t* rstd, const scalar_t* scale, const scalar_t* affine,
                                            int has_affine, const scalar_t* gsum, const scalar_t* ghsum,
                                            int backward, scalar_t inv_n, scalar_t* out, long long total, int C,
                                            long long S) {
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total;
         k += (long long)gridDim.x * blockDim.x) {
        int c = (int)((k / S) % C);
        scalar_t xc = x[k] - mean[c];
        if (backward) {
            scalar_t x_hat = xc * rstd[c];
            scalar_t factor = has_affine ? scale[c] * affine[c] : scale[c];
            out[k] = (g[k] - gsum[c] * inv_n - x_hat * (ghsum[c] * inv_n)) * factor;
        } else {
            scalar_t y = xc * scale[c];
            out[k] = has_affine ? y + affine[c] : y;
        }
    }
}

/* evaluation mode, with the running statistics: one launch, each element deriving its channel's
   1/std and scale in the array code's order */
extern "C" __global__ void batch_norm_eval(const scalar_t* x, const scalar_t* mean, const scalar_t* var,
                                           const scalar_t* weight, int has_weight, const scalar_t* bias,
                                           int has_bias, scalar_t eps, scalar_t* out, long long total, int C,
                                           long long S) {
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < total;
         k += (long long)gridDim.x * blockDim.x) {
        int c = (int)((k / S) % C);
        scalar_t scale = (scalar_t)1 / sqrt(var[c] + eps);
        if (has_weight) scale = scale * weight[c];
        scalar_t y = (x[k] - mean[c]) * scale;
        out[k] = has_bias ? y + bias[c] : y;
    }
}
"""


def _batch_norm_layout(x):
    """(N, C, S, N * S, chunk length, chunks per channel) of x (N, C, ...): at most 1024 chunks."""
    n, c = x.shape[:2]
    s = x.size // (n * c)
    chunk = max(64, -(-(n * s) // 1024))
    return n, c, s, n * s, chunk, -(-(n * s) // chunk)


def _batch_norm_partials(x, g, mean, rstd):
    """The first launch of Note [Batch norm kernels]: per (channel, chunk) Welford's (mean, M2) of
    x, or with g the sums of g and g * x_hat; returns them (C, chunks) and x's layout."""
    layout = n, c, s, per, chunk, chunks = _batch_norm_layout(x)
    part_a, part_b = _xp.cupy.empty((c, chunks), x.dtype), _xp.cupy.empty((c, chunks), x.dtype)
    backward = g is not None
    _launch("batch_norm_partials", x.dtype, c * chunks,
            (x, g if backward else x, part_a, part_b, mean if backward else x, rstd if backward else x,
             np.int32(backward), np.int64(n), np.int32(c), np.int64(s), np.int64(chunk), np.int64(chunks)))
    return part_a, part_b, layout


def batch_norm_eval(x, running_mean, running_var, weight, bias, eps):
    """Evaluation-mode batch norm of x (N, C, ...) with its running statistics."""
    x = _contiguous(x)
    n, c = x.shape[:2]
    y = _xp.cupy.empty(x.shape, x.dtype)
    _launch("batch_norm_eval", x.dtype, y.size,
            (x, _contiguous(running_mean), _contiguous(running_var), x if weight is None else _contiguous(weight),
             np.int32(weight is not None), x if bias is None else _contiguous(bias), np.int32(bias is not None),
             x.dtype.type(eps), y, np.int64(y.size), np.int32(c), np.int64(y.size // max(n * c, 1))))
    return y


def batch_norm_forward(x, weight, bias, running_mean, running_var, momentum, eps):
    """Training batch norm of x (N, C, ...) with its batch statistics: (y, mean, rstd), mean and rstd
    of shape (C,); running_mean and running_var (or None) are updated in place."""
    xp = _xp.cupy
    x = _contiguous(x)
    part_mean, part_m2, (_, c, s, per, chunk, chunks) = _batch_norm_partials(x, None, None, None)
    t = x.dtype.type
    mean, rstd, scale = xp.empty(c, x.dtype), xp.empty(c, x.dtype), xp.empty(c, x.dtype)
    update = running_mean is not None
    _launch("batch_norm_stats", x.dtype, c,
            (part_mean, part_m2, np.int64(per), np.int64(chunk), np.int64(chunks), np.int32(c),
             scale if weight is None else weight, np.int32(weight is not None), t(eps), mean, rstd, scale,
             running_mean if update else mean, running_var if update else rstd, np.int32(update), t(momentum),
             t(1 - momentum), t(momentum * per / max(per - 1, 1))))
    y = xp.empty(x.shape, x.dtype)
    _launch("batch_norm_apply", x.dtype, y.size,
            (x, x, mean, rstd, scale, scale if bias is None else bias, np.int32(bias is not None), mean, mean,
             np.int32(0), t(0), y, np.int64(y.size), np.int32(c), np.int64(s)))
    return y, mean, rstd


def batch_norm_backward(x, g, mean, rstd, weight, need_input):
    """(gx or None, ghsum, gsum) of training batch norm: ghsum and gsum (C,) are the weight's and
    bias's gradients."""
    xp = _xp.cupy
    x, g = _contiguous(x), _contiguous(g)
    part_g, part_gx, (_, c, s, per, _, chunks) = _batch_norm_partials(x, g, mean, rstd)
    t = x.dtype.type
    gsum, ghsum = xp.empty(c, x.dtype), xp.empty(c, x.dtype)
    _launch("batch_norm_sums", x.dtype, c, (part_g, part_gx, np.int64(chunks), np.int32(c), gsum, ghsum))
    gx = None
    if need_input:
        gx = xp.empty(x.shape, x.dtype)
        _launch("batch_norm_apply", x.dtype, gx.size,
                (x, g, mean, rstd, rstd, rstd if weight is None else _contiguous(weight), np.int32(weight is not None),
                 gsum, ghsum, np.int32(1), t(1 / per), gx, np.int64(gx.size), np.int32(c), np.int64(s)))
    return gx, ghsum, gsum


# Note [Several parameters a launch]
# The optimizers' kernels update several parameters in one launch, as PyTorch's multi-tensor
# updates do: each of a kernel's slots passes one parameter's arrays (the parameter, its
# gradient, its state) and the running end of the parameters' sizes, and thread j finds its slot t
# from those ends, its element k in that slot's arrays. Unused slots repeat the first slot's arrays
# with the last end, so no thread reaches them. A launch's threads run in no order, so parameters
# whose written arrays share memory with another's go one a launch instead. The sources name the
# slots with SLOT_PARAMETERS, SLOT_ARRAYS and FIND_SLOT, filled in by _with_slots.
_FIND_SLOT = """int t = 0;
        while (j >= end[t]) ++t;
        long long k = t ? j - end[t - 1] : j;"""


def _with_slots(source, columns, slots):
    """source with its slot placeholders filled in for ``slots`` slots of (C type, name) columns."""
    params = [", ".join(f"{ctype} {name}{i}" for i in range(slots)) for ctype, name in columns]
    params.append(", ".join(f"long long end{i}" for i in range(slots)))
    arrays = [f"{ctype} {name}[] = {{{', '.join(f'{name}{i}' for i in range(slots))}}};" for ctype, name in columns]
    arrays.append(f"const long long end[] = {{{', '.join(f'end{i}' for i in range(slots))}}};")
    return (source.replace("SLOT_PARAMETERS", ",\n        ".join(params))
            .replace("SLOT_ARRAYS", "\n    ".join(arrays)).replace("FIND_SLOT", _FIND_SLOT))


def _launch_slots(name, slots, tensors, scalars, written):
    """Kernel ``name`` over tensors (tuples of arrays, in the kernel's column order, all of one
    dtype; the first is the parameter, whose size counts), ``slots`` tensors a launch, then the
    total size and ``scalars``. ``written`` gives the columns the kernel writes."""
    dtype = tensors[0][0].dtype
    per_launch = slots if _written_apart(tensors, written) else 1
    for lo in range(0, len(tensors), per_launch):
        chunk = tensors[lo:lo + per_launch]
        columns = [[_contiguous(a) for a in column] for column in zip(*chunk)]
        ends, total = [], 0
        for arrays in chunk:
            total += arrays[0].size
            ends.append(np.int64(total))
        unused = slots - len(chunk)
        args = [a for column in columns for a in column + [column[0]] * unused]
        _launch(name, dtype, total, (*args, *ends, *[ends[-1]] * unused, np.int64(total), *scalars))


def _written_apart(tensors, written):
    """Whether no array in a ``written`` column shares memory with any other array of tensors (an
    array a tensor passes twice, for a column the kernel leaves alone, counts once)."""
    spans = []
    for arrays in tensors:
        columns = {}                    # id(array) -> the columns it stands for in this tensor
        for i, a in enumerate(arrays):
            columns.setdefault(id(a), (a, []))[1].append(i)
        spans.extend((a.data.ptr, a.data.ptr + a.nbytes, any(i in written for i in at))
                     for a, at in columns.values() if a.size)
    spans.sort()
    end_any = end_written = 0
    for start, end, is_written in spans:
        if start < end_written or (is_written and start < end_any):
            return False
        end_any = max(end_any, end)
        if is_written:
            end_written = max(end_written, end)
    return True


# SGD (plain, or with momentum, weight decay, dampening, Nesterov) and Adam/AdamW: each
# parameter's whole update, in the order and with the roundings of the optimizers' array code (the
# host folds the step's constants into scalars first, as that code's Python numbers are).
SGD_SLOTS, SGD_MOMENTUM_SLOTS, ADAM_SLOTS = 8, 6, 4
_SGD = _with_slots(r"""
/* p += alpha * g: no momentum or weight decay (alpha = -lr, or lr to maximize) */
extern "C" __global__ void sgd_update(SLOT_PARAMETERS, long long total, scalar_t alpha) {
    SLOT_ARRAYS
    for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < total;
         j += (long long)gridDim.x * blockDim.x) {
        FIND_SLOT
        ps[t][k] += alpha * gs[t][k];
    }
}
""", (("scalar_t*", "ps"), ("const scalar_t*", "gs")), SGD_SLOTS)

_SGD_MOMENTUM = _with_slots(r"""
extern "C" __global__ void sgd_momentum_update(SLOT_PARAMETERS, long long total, scalar_t sign,
                                               scalar_t weight_decay, int first, scalar_t momentum,
                                               scalar_t one_minus_dampening, int nesterov, scalar_t lr) {
    SLOT_ARRAYS
    for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < total;
         j += (long long)gridDim.x * blockDim.x) {
        FIND_SLOT
        scalar_t* p = ps[t];
        scalar_t g = gs[t][k] * sign;
        if (weight_decay != 0) g = g + weight_decay * p[k];
        scalar_t b;
        if (first) {
            b = g;
        } else {
            b = bufs[t][k] * momentum;
            b = b + one_minus_dampening * g;
        }
        bufs[t][k] = b;
        g = nesterov ? g + momentum * b : b;
        p[k] = p[k] - lr * g;
    }
}
""", (("scalar_t*", "ps"), ("const scalar_t*", "gs"), ("scalar_t*", "bufs")), SGD_MOMENTUM_SLOTS)

_ADAM = _with_slots(r"""
/* weight_decay_mode: 0 none, 1 L2 (Adam: added to the gradient), 2 decoupled (AdamW: p *= decay) */
extern "C" __global__ void adam_update(SLOT_PARAMETERS, long long total, scalar_t sign,
                                       int weight_decay_mode, scalar_t weight_decay, scalar_t decay,
                                       int lerp_from_start, scalar_t w, scalar_t one_minus_w, scalar_t beta2,
                                       scalar_t one_minus_beta2, int amsgrad, scalar_t bias_correction2_sqrt,
                                       scalar_t eps, scalar_t neg_step_size) {
    SLOT_ARRAYS
    for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < total;
         j += (long long)gridDim.x * blockDim.x) {
        FIND_SLOT
        scalar_t* p = ps[t];
        scalar_t* exp_avg = ms[t];
        scalar_t* exp_avg_sq = vs[t];
        scalar_t param = p[k];
        scalar_t g = gs[t][k] * sign;
        if (weight_decay_mode == 1) g = g + weight_decay * param;
        if (weight_decay_mode == 2) param = param * decay;
        scalar_t m = exp_avg[k];
        m = lerp_from_start ? m + w * (g - m) : g - (g - m) * one_minus_w;   /* PyTorch's lerp */
        scalar_t v = exp_avg_sq[k] * beta2;
        v = v + (one_minus_beta2 * g) * g;
        exp_avg[k] = m;
        exp_avg_sq[k] = v;
        if (amsgrad) {
            scalar_t top = tops[t][k];
            top = (v != v || v > top) ? v : top;                              /* NaN propagates */
            tops[t][k] = top;
            v = top;
        }
        scalar_t denom = sqrt(v) / bias_correction2_sqrt + eps;
        p[k] = param + (neg_step_size * m) / denom;
    }
}
""", (("scalar_t*", "ps"), ("const scalar_t*", "gs"), ("scalar_t*", "ms"), ("scalar_t*", "vs"),
      ("scalar_t*", "tops")), ADAM_SLOTS)


def sgd_update(pairs, alpha):
    """p += alpha * g in place, in p's precision, for each (p, g) of pairs (each p C-contiguous)."""
    _launch_slots("sgd_update", SGD_SLOTS, pairs, (pairs[0][0].dtype.type(alpha),), written=(0,))


def sgd_momentum_update(params, first, *, lr, momentum, dampening, weight_decay, nesterov, maximize):
    """SGD's step with a momentum buffer, in place on each (p, g, buf) of params (each buf written
    whole when first)."""
    t = params[0][0].dtype.type
    _launch_slots("sgd_momentum_update", SGD_MOMENTUM_SLOTS, params,
                  (t(-1 if maximize else 1), t(weight_decay), np.int32(first), t(momentum), t(1 - dampening),
                   np.int32(nesterov), t(lr)), written=(0, 2))


def adam_update(params, *, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize, step):
    """Adam's (AdamW's when decoupled) step number ``step``, in place on each (p, g, exp_avg,
    exp_avg_sq, max_exp_avg_sq or None) of params."""
    t = params[0][0].dtype.type
    w = 1 - beta1
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    mode = 0 if weight_decay == 0 else 2 if decoupled else 1
    tensors = [arrays if arrays[4] is not None else arrays[:4] + (arrays[3],) for arrays in params]
    _launch_slots("adam_update", ADAM_SLOTS, tensors,
                  (t(-1 if maximize else 1), np.int32(mode), t(weight_decay), t(1 - lr * weight_decay),
                   np.int32(abs(w) < 0.5), t(w), t(1 - w), t(beta2), t(1 - beta2), np.int32(amsgrad),
                   t(bias_correction2_sqrt), t(eps), t(-(lr / (1 - beta1 ** step)))), written=(0, 2, 3, 4))


# The range of an index array (checked before indexing: CuPy would wrap out-of-range indices
# around), as per-chunk minima and maxima that the host finishes: one launch and one read.
_INDEX_RANGE = r"""
extern "C" __global__ void index_range(const scalar_t* a, long long total, long long chunk, scalar_t* lo,
                                       scalar_t* hi, long long chunks) {
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < chunks;
         k += (long long)gridDim.x * blockDim.x) {
        long long j0 = k * chunk, j1 = j0 + chunk < total ? j0 + chunk : total;
        scalar_t low = a[j0], high = a[j0];
        for (long long j = j0 + 1; j < j1; ++j) {
            if (a[j] < low) low = a[j];
            if (a[j] > high) high = a[j];
        }
        lo[k] = low;
        hi[k] = high;
    }
}
"""


INDEX_RANGE_MAX = 1 << 16       # larger index arrays: CuPy's parallel min and max


def index_range(a):
    """(min, max) of a non-empty int64 or int32 device array on the current device, as Python
    ints; None when the kernel does not take it."""
    if (not _ENABLED or a.dtype not in _INDEX_TYPES or a.size > INDEX_RANGE_MAX
            or a.data.device_id != _xp.cupy.cuda.runtime.getDevice()):
        return None
    a = _contiguous(a).reshape(-1)
    chunk = 64
    chunks = -(-a.size // chunk)
    both = _xp.cupy.empty((2, chunks), a.dtype)
    _launch("index_range", a.dtype, chunks,
            (a, np.int64(a.size), np.int64(chunk), both[0], both[1], np.int64(chunks)))
    lo, hi = _xp.to_host(both)
    return int(lo.min()), int(hi.max())


# Each kernel's source, by the kernel's name (a source may hold several kernels), and the compiled
# kernels by (name, dtype).
SOURCES = {"max_pool2d": _MAX_POOL_2D, "max_pool2d_backward": _MAX_POOL_2D,
           "im2col_batch_last": _CONV, "col2im_batch_last": _CONV, "batch_last_to_nchw": _CONV,
           "cross_entropy": _CROSS_ENTROPY, "cross_entropy_backward": _CROSS_ENTROPY,
           "threshold_backward": _THRESHOLD_BACKWARD, "dropout": _DROPOUT,
           "tanh_backward": _SATURATING_BACKWARD, "sigmoid_backward": _SATURATING_BACKWARD,
           "batch_norm_partials": _BATCH_NORM, "batch_norm_stats": _BATCH_NORM,
           "batch_norm_sums": _BATCH_NORM, "batch_norm_apply": _BATCH_NORM,
           "batch_norm_eval": _BATCH_NORM,
           "sgd_update": _SGD, "sgd_momentum_update": _SGD_MOMENTUM, "adam_update": _ADAM,
           "index_range": _INDEX_RANGE}
_compiled = {}
