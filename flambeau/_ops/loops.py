"""Convolutions and large products as compiled loops, the parallel ones spread over the cores
(Note [Parallel loops] in _threads.py): imported wherever numba is; the parallel loops run only
where numba has an OpenMP or TBB threading layer and SciPy's BLAS (which numba's np.dot calls).

The convolutions here take the "sample" layout of conv.py (Note [Columns a few samples at a
time]): each thread makes one sample's columns at a time in a buffer of its own and multiplies
them by the weight, so no batch-sized columns are ever made. They cover 2-D convolutions of one
group on contiguous float32/float64 arrays; conv.py keeps every other case, and calls the
serial im2col_planes and col2im_planes below for its own chunks of samples.
"""
import numba
import numpy as np
from numba import prange


@numba.njit(cache=True, nogil=True)
def _columns(x, s, sh, sw, ph, pw, dh, dw, cols):
    # sample s of x (N, C, H, W) as cols (C, kh, kw, Ho, Wo), zeros for positions in the padding
    c_, kh, kw, ho, wo = cols.shape
    h_, w_ = x.shape[2], x.shape[3]
    for c in range(c_):
        for i in range(kh):
            for j in range(kw):
                for oh in range(ho):
                    h = oh * sh - ph + i * dh
                    for ow in range(wo):
                        w = ow * sw - pw + j * dw
                        if 0 <= h < h_ and 0 <= w < w_:
                            cols[c, i, j, oh, ow] = x[s, c, h, w]
                        else:
                            cols[c, i, j, oh, ow] = 0


@numba.njit(cache=True, nogil=True)
def _add_columns(cols, s, sh, sw, ph, pw, dh, dw, out):
    # the adjoint of _columns: cols (C, kh, kw, Ho, Wo) summed into sample s of out (N, C, H, W)
    c_, kh, kw, ho, wo = cols.shape
    h_, w_ = out.shape[2], out.shape[3]
    for c in range(c_):
        plane = out[s, c]
        plane[:, :] = 0
        for i in range(kh):
            for j in range(kw):
                for oh in range(ho):
                    h = oh * sh - ph + i * dh
                    if h < 0 or h >= h_:
                        continue
                    for ow in range(wo):
                        w = ow * sw - pw + j * dw
                        if 0 <= w < w_:
                            plane[h, w] += cols[c, i, j, oh, ow]


@numba.njit(cache=True, nogil=True)
def im2col_planes(x, sh, sw, ph, pw, dh, dw, cols):
    """x (N, C, H, W) into cols (N, C, kh, kw, Ho, Wo), on the calling thread."""
    for s in range(x.shape[0]):
        _columns(x, s, sh, sw, ph, pw, dh, dw, cols[s])


@numba.njit(cache=True, nogil=True)
def col2im_planes(cols, sh, sw, ph, pw, dh, dw, out):
    """cols (N, C, kh, kw, Ho, Wo) summed into out (N, C, H, W), on the calling thread: each
    (sample, channel) plane stays in the cache while its kh*kw windows' values are added."""
    for s in range(cols.shape[0]):
        _add_columns(cols[s], s, sh, sw, ph, pw, dh, dw, out)


@numba.njit(cache=True, nogil=True, parallel=True)
def conv_forward(x, w, bias, sh, sw, ph, pw, dh, dw, y):
    """y (N, Co, Ho, Wo) = conv(x, w) + bias, w (Co, C, kh, kw); bias of Co values (zeros for none)."""
    n_, c_ = x.shape[0], x.shape[1]
    co, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    ho, wo = y.shape[2], y.shape[3]
    wm = w.reshape(co, c_ * kh * kw)
    for s in prange(n_):
        cols = np.empty((c_, kh, kw, ho, wo), x.dtype)
        _columns(x, s, sh, sw, ph, pw, dh, dw, cols)
        ys = y[s].reshape(co, ho * wo)
        np.dot(wm, cols.reshape(c_ * kh * kw, ho * wo), ys)
        for k in range(co):
            ys[k] += bias[k]


@numba.njit(cache=True, nogil=True, parallel=True)
def conv_weight_grad(x, gy, sh, sw, ph, pw, dh, dw, parts, bias_parts):
    """Each thread p sums its samples' dw into parts[p] (Co, C, kh, kw) and their bias gradients
    (gy summed over positions) into bias_parts[p] (Co,); the caller adds the parts up."""
    n_, c_ = x.shape[0], x.shape[1]
    co, ho, wo = gy.shape[1], gy.shape[2], gy.shape[3]
    p_, kh, kw = parts.shape[0], parts.shape[3], parts.shape[4]
    for p in prange(p_):
        acc = parts[p].reshape(co, c_ * kh * kw)
        bacc = bias_parts[p]
        acc[:] = 0
        bacc[:] = 0
        cols = np.empty((c_, kh, kw, ho, wo), x.dtype)
        for s in range(p * n_ // p_, (p + 1) * n_ // p_):
            _columns(x, s, sh, sw, ph, pw, dh, dw, cols)
            g = gy[s].reshape(co, ho * wo)
            acc += np.dot(g, cols.reshape(c_ * kh * kw, ho * wo).T)
            for k in range(co):
                bacc[k] += g[k].sum()


@numba.njit(cache=True, nogil=True, parallel=True)
def conv_input_grad(gy, w, sh, sw, ph, pw, dh, dw, gx):
    """gx (N, C, H, W) = the adjoint of conv in its input: each sample's columns w^T gy[s], summed
    back into its planes."""
    n_, co, ho, wo = gy.shape
    c_, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    wt = w.reshape(co, c_ * kh * kw).T.copy()
    for s in prange(n_):
        cols = np.dot(wt, gy[s].reshape(co, ho * wo))
        _add_columns(cols.reshape(c_, kh, kw, ho, wo), s, sh, sw, ph, pw, dh, dw, gx)


@numba.njit(cache=True, nogil=True, parallel=True)
def matmul_rows(a, b, out, parts):
    """out = a @ b for C-contiguous 2-D a and out, b 2-D contiguous either way, in ``parts``
    blocks of rows (one a thread)."""
    m = a.shape[0]
    for p in prange(parts):
        lo, hi = p * m // parts, (p + 1) * m // parts
        if hi > lo:
            np.dot(a[lo:hi], b, out[lo:hi])


@numba.njit(cache=True, nogil=True, parallel=True)
def matmul_batch(a, a_transposed, b, b_transposed, out):
    """out[i] = A[i] @ B[i] for C-contiguous 3-D a, b, out, where A[i] is a[i] or, transposed,
    a[i].T (and B likewise): the matrices of the batch spread over the cores."""
    for i in prange(out.shape[0]):
        if a_transposed and b_transposed:
            np.dot(a[i].T, b[i].T, out[i])
        elif a_transposed:
            np.dot(a[i].T, b[i], out[i])
        elif b_transposed:
            np.dot(a[i], b[i].T, out[i])
        else:
            np.dot(a[i], b[i], out[i])


@numba.njit(cache=True, nogil=True, parallel=True)
def matmul_inner_blocks(at, b, parts):
    """parts[p] = at[rows].T @ b[rows] over the p-th block of the shared (inner) dimension, for
    C-contiguous at (K, M) and b (K, N): a^T b is the parts' sum."""
    k, p_ = at.shape[0], parts.shape[0]
    for p in prange(p_):
        lo, hi = p * k // p_, (p + 1) * k // p_
        np.dot(at[lo:hi].T, b[lo:hi], parts[p])


# Below this many multiply-adds a product stays on one thread: a parallel loop's start and the
# split products' smaller blocks cost more than the second core gives back.
_PARALLEL_MIN_PRODUCTS = 1 << 20


def _contiguous_or_transposed(m):
    """(array, transposed): m itself when C-contiguous, else m's last two axes swapped back when
    that is C-contiguous, else None."""
    if m.flags.c_contiguous:
        return m, False
    t = m.swapaxes(-1, -2)
    if t.flags.c_contiguous:
        return t, True
    return None


def matmul(a, b):
    """a @ b for same-dtype float32/float64 NumPy arrays, 2-D or equal 3-D batches, spread over
    the cores; None where these loops do not take the product (numpy's then does)."""
    if a.dtype != b.dtype or a.dtype.char not in "fd" or a.ndim != b.ndim or a.ndim not in (2, 3):
        return None
    m, k = a.shape[-2:]
    n = b.shape[-1]
    if b.shape[-2] != k or a.shape[:-2] != b.shape[:-2] or m * k * n * max(1, a.size // (m * k or 1)) < \
            _PARALLEL_MIN_PRODUCTS or 0 in a.shape or 0 in b.shape:
        return None
    pa, pb = _contiguous_or_transposed(a), _contiguous_or_transposed(b)
    if pa is None or pb is None:
        return None
    if a.ndim == 3:
        out = np.empty(a.shape[:-1] + (n,), a.dtype)
        matmul_batch(pa[0], pa[1], pb[0], pb[1], out)
        return out
    threads = numba.get_num_threads()
    if pa[1] and pb[1]:    # out.T = b.T @ a.T, rows of b.T split
        out = np.empty((n, m), a.dtype)
        matmul_rows(pb[0], pa[0], out, threads)
        return out.T
    if pa[1]:              # a = A.T (a weight gradient's grad.T @ input): split the inner dimension
        parts = np.empty((threads, m, n), a.dtype)
        matmul_inner_blocks(pa[0], b, parts)
        return parts.sum(0)
    out = np.empty((m, n), a.dtype)
    matmul_rows(a, b, out, threads)
    return out
