"""Winograd convolution on the CPU: 3x3 and 5x5 kernels, stride 1, in 4x4 output tiles.

Note [Winograd convolution]
A stride-1 correlation of an n-wide input tile with an r-wide kernel, giving m = n - r + 1
outputs, is a product in a transformed space (Toom-Cook, Lavin & Gray 2015):

    y = A^T [ (G g) * (B^T d) ]        (1-D; in 2-D: Y = A^T [ (G g G^T) * (B^T D B) ] A)

with n products where the direct sum takes m*r. Over C input and K output channels the
elementwise products become n*n matrix products (K, C) @ (C, tiles*N): for 4x4 output tiles,
n*n = 36 products of a 3x3 kernel instead of 9*16 = 144 (4x fewer), 64 of a 5x5 one instead of
400 (6.25x). The transforms are the matrices of polynomial evaluation and interpolation at the
points 0, 1, -1, 2, -2 (and 1/2, -1/2 for n = 8) and infinity, built by ``_transforms``.

The three products of a convolution's training step all run in the transformed space:

    forward        M  = U V              U = G w G^T (K, C),  V = B^T x B (C, tiles*N)
    weight grad    dU = dM V^T           dM = A dy A^T,  dw = G^T dU G
    input grad     dV = U^T dM           dx = B dV B^T, added over overlapping tiles

V is kept from the forward for the weight gradient (as im2col's columns are), dM is made once
for both gradients. The transforms are compiled loops over batch-last tiles (innermost loop
over the batch, as in Note [Compiled batch-last im2col and col2im]).

The price is rounding: the larger points spread magnitudes, so float32 results carry errors of
about 1e-6 (3x3) and 4e-6 (5x5) relative to the output's scale, where im2col's product has 5e-7
(smaller tiles do not help much: F(2, 5) and F(3, 5) measured 3e-6 and 3.6e-6), the same trade
cuDNN's Winograd algorithms make on the GPU. That is enough for a training run to part from
PyTorch's after some steps, when a max-pool or ReLU decision turns the other way (the lecture's
convnet on MNIST: losses within 0.2% for 10 steps, 4% at 20; PyTorch's own run parts the same way
under noise of 5e-6). Only float32 (and float16, computed in float32) takes this path, never
float64; ``flambeau.backends.cpu.winograd = False`` turns it off, for runs that must follow
PyTorch's step for step.
"""
import math

import numpy as np

from .blas import _matmul_arrays         # the batch of n*n products, split over two cores

__all__ = ["fits", "forward", "weight_grad", "input_grad", "transform_input", "transform_grad"]

_TILE = {3: 4, 5: 4}                    # outputs per tile side, by kernel size
_POINTS = {3: (0, 1, -1, 2, -2), 5: (0, 1, -1, 2, -2, 0.5, -0.5)}


def _transforms(r):
    """(A^T (m, n), G (n, r), B^T (n, n)) of F(m, r), n = m + r - 1, at _POINTS[r] and infinity.

    For each finite point p_i, G's row evaluates the kernel polynomial at p_i scaled by
    1/N_i = 1/prod_{j != i} (p_i - p_j), A^T's column evaluates the output polynomial there, and
    B^T's row holds the coefficients of prod_{j != i} (x - p_j); the point at infinity takes the
    leading coefficients, its B^T row those of prod_j (x - p_j). All entries are dyadic
    rationals or (in G) short quotients, exact or rounded once in float64.
    """
    points, m = _POINTS[r], _TILE[r]
    n = m + r - 1
    at, g, bt = np.zeros((m, n)), np.zeros((n, r)), np.zeros((n, n))
    for i, p in enumerate(points):
        others = points[:i] + points[i + 1:]
        scale = math.prod(p - q for q in others)
        at[:, i] = [p ** k for k in range(m)]
        g[i] = [p ** k / scale for k in range(r)]
        bt[i, :n - 1] = np.polynomial.polynomial.polyfromroots(others)
    at[m - 1, n - 1] = g[n - 1, r - 1] = 1
    bt[n - 1] = np.polynomial.polynomial.polyfromroots(points)
    return at, g, bt


_MATRICES = {}


def _matrices(r, dtype):
    key = (r, np.dtype(dtype))
    if key not in _MATRICES:
        _MATRICES[key] = tuple(a.astype(dtype) for a in _transforms(r))
    return _MATRICES[key]


_kernels = []


def _compiled():
    """The four compiled tile transforms (a namespace), or None when numba is not installed."""
    if not _kernels:
        try:
            import numba
            from numba import prange
        except ImportError:
            _kernels.append(None)
            return None
        from .._threads import ParallelLoop

        # Every transform is two passes of small matrix products, rows then columns of the tile,
        # each an add of coefficient * batch row; zero coefficients (a third of them) are skipped.
        # The tile transforms run their channels over the cores (Note [Parallel loops] in _threads.py).

        def input_tiles(xt, bt, m, ph, pw, tiles_w, v):
            # xt (C, H, W, N) -> v (n, n, C, T, N) = B^T d B for each tile d, zeros past the input's edges
            n = bt.shape[0]
            h_, w_, nb = xt.shape[1:]
            t_ = v.shape[3]
            for c in prange(xt.shape[0]):
                rows = np.empty((n, n, nb), v.dtype)
                for t in range(t_):
                    h0, w0 = (t // tiles_w) * m - ph, (t % tiles_w) * m - pw
                    rows[:] = 0
                    for l in range(n):                      # rows[a, j] = sum_l bt[a, l] d[l, j]
                        h = h0 + l
                        if h < 0 or h >= h_:
                            continue
                        for a in range(n):
                            coef = bt[a, l]
                            if coef == 0:
                                continue
                            for j in range(n):
                                w = w0 + j
                                if 0 <= w < w_:
                                    for b in range(nb):
                                        rows[a, j, b] += coef * xt[c, h, w, b]
                    for a in range(n):                      # v[a, e] = sum_j rows[a, j] bt[e, j]
                        for e in range(n):
                            for b in range(nb):
                                v[a, e, c, t, b] = 0
                            for j in range(n):
                                coef = bt[e, j]
                                if coef != 0:
                                    for b in range(nb):
                                        v[a, e, c, t, b] += coef * rows[a, j, b]

        def output_tiles(mm, at, bias, tiles_w, y):
            # mm (n, n, K, T, N) -> y (K, Ho, Wo, N) = A^T M A (+ bias), cut at the output's edges
            m, n = at.shape
            h_, w_, nb = y.shape[1:]
            t_ = mm.shape[3]
            for k in prange(y.shape[0]):
                rows = np.empty((m, n, nb), y.dtype)
                for t in range(t_):
                    h0, w0 = (t // tiles_w) * m, (t % tiles_w) * m
                    rows[:] = 0
                    for a in range(n):                      # rows[i, e] = sum_a at[i, a] M[a, e]
                        for i in range(m):
                            coef = at[i, a]
                            if coef == 0:
                                continue
                            for e in range(n):
                                for b in range(nb):
                                    rows[i, e, b] += coef * mm[a, e, k, t, b]
                    for i in range(min(m, h_ - h0)):        # y[i, j] = sum_e rows[i, e] at[j, e]
                        for j in range(min(m, w_ - w0)):
                            for b in range(nb):
                                y[k, h0 + i, w0 + j, b] = bias[k]
                            for e in range(n):
                                coef = at[j, e]
                                if coef != 0:
                                    for b in range(nb):
                                        y[k, h0 + i, w0 + j, b] += coef * rows[i, e, b]

        def grad_tiles(gy, at, tiles_w, dm):
            # gy (K, Ho, Wo, N) -> dm (n, n, K, T, N) = A dY A^T: the adjoint of output_tiles
            m, n = at.shape
            h_, w_, nb = gy.shape[1:]
            t_ = dm.shape[3]
            for k in prange(gy.shape[0]):
                rows = np.empty((n, m, nb), dm.dtype)
                for t in range(t_):
                    h0, w0 = (t // tiles_w) * m, (t % tiles_w) * m
                    rows[:] = 0
                    for i in range(min(m, h_ - h0)):        # rows[a, j] = sum_i at[i, a] dY[i, j]
                        for a in range(n):
                            coef = at[i, a]
                            if coef == 0:
                                continue
                            for j in range(min(m, w_ - w0)):
                                for b in range(nb):
                                    rows[a, j, b] += coef * gy[k, h0 + i, w0 + j, b]
                    for a in range(n):                      # dm[a, e] = sum_j rows[a, j] at[j, e]
                        for e in range(n):
                            for b in range(nb):
                                dm[a, e, k, t, b] = 0
                            for j in range(m):
                                coef = at[j, e]
                                if coef != 0:
                                    for b in range(nb):
                                        dm[a, e, k, t, b] += coef * rows[a, j, b]

        def input_grad_tiles(dv, bt, m, ph, pw, tiles_w, dx):
            # dv (n, n, C, T, N) -> dx (C, H, W, N) = sum of B dV B^T over each tile: the adjoint of
            # input_tiles
            n = bt.shape[0]
            h_, w_, nb = dx.shape[1:]
            t_ = dv.shape[3]
            for c in prange(dx.shape[0]):
                rows = np.empty((n, n, nb), dx.dtype)
                dx[c] = 0
                for t in range(t_):
                    h0, w0 = (t // tiles_w) * m - ph, (t % tiles_w) * m - pw
                    rows[:] = 0
                    for a in range(n):                      # rows[l, e] = sum_a bt[a, l] dV[a, e]
                        for l in range(n):
                            coef = bt[a, l]
                            if coef == 0 or h0 + l < 0 or h0 + l >= h_:
                                continue
                            for e in range(n):
                                for b in range(nb):
                                    rows[l, e, b] += coef * dv[a, e, c, t, b]
                    for l in range(n):                      # dx[l, j] += sum_e rows[l, e] bt[e, j]
                        h = h0 + l
                        if h < 0 or h >= h_:
                            continue
                        for j in range(n):
                            w = w0 + j
                            if w < 0 or w >= w_:
                                continue
                            for e in range(n):
                                coef = bt[e, j]
                                if coef != 0:
                                    for b in range(nb):
                                        dx[c, h, w, b] += coef * rows[l, e, b]

        @numba.njit(cache=True, nogil=True)
        def sandwich(src, left, right, out):
            # src (P, Q, B) -> out (A, E, B) = left src right^T for each b: a kernel's transforms, b = (k, c)
            p_, q_, nb = src.shape
            a_, e_ = left.shape[0], right.shape[0]
            rows = np.zeros((a_, q_, nb), out.dtype)
            for p in range(p_):                             # rows[a, q] = sum_p left[a, p] src[p, q]
                for a in range(a_):
                    coef = left[a, p]
                    if coef != 0:
                        for q in range(q_):
                            for b in range(nb):
                                rows[a, q, b] += coef * src[p, q, b]
            for a in range(a_):                             # out[a, e] = sum_q rows[a, q] right[e, q]
                for e in range(e_):
                    for b in range(nb):
                        out[a, e, b] = 0
                    for q in range(q_):
                        coef = right[e, q]
                        if coef != 0:
                            for b in range(nb):
                                out[a, e, b] += coef * rows[a, q, b]

        import types
        _kernels.append(types.SimpleNamespace(input_tiles=ParallelLoop(input_tiles),
                                              output_tiles=ParallelLoop(output_tiles),
                                              grad_tiles=ParallelLoop(grad_tiles),
                                              input_grad_tiles=ParallelLoop(input_grad_tiles), sandwich=sandwich))
    return _kernels[0]


# Where the saved products outweigh the transforms' passes (measured on one training step, 2 cores):
# a 5x5 kernel from 16 channels in and out on (1.3-1.7x faster), a 3x3 one from 64 (8x8 planes:
# 1.1x at 64 channels, 1.3x at 128; 16 or 32 channels run 1.2-1.5x slower). A 3x3 kernel on planes
# of 256 positions or more keeps im2col's per-sample products (faster than Winograd at 64 channels).
_MIN_CHANNELS = {3: 64, 5: 16}
_MAX_PLANE = {3: 255, 5: None}


def fits(a, w_shape, geo, out_sizes):
    """Whether conv(x, w) (a: x, or the output gradient) takes the Winograd path: float32 NumPy
    arrays, 2-D, one group, stride and dilation 1, a square 3x3 or 5x5 kernel, enough channels
    for the products to outweigh the transforms, and tiles mostly inside the output."""
    from ..backends import cpu
    if not cpu.winograd or type(a) is not np.ndarray or a.dtype != np.float32 or len(w_shape) != 4 or not a.size:
        return False
    co, ci, kh, kw = w_shape
    if kh != kw or kh not in _POINTS or geo.groups != 1 or geo.stride != (1, 1) or geo.dilation != (1, 1):
        return False
    ho, wo = out_sizes
    if min(co, ci) < _MIN_CHANNELS[kh] or (_MAX_PLANE[kh] is not None and ho * wo > _MAX_PLANE[kh]):
        return False
    m = _TILE[kh]
    n = m + kh - 1
    tiles = -(-ho // m) * -(-wo // m)
    # products saved: direct MACs over transformed ones; below 2 the transforms' passes eat the gain
    return ho * wo * kh * kw >= 2 * tiles * n * n and _compiled() is not None


def _tiling(out_sizes, r):
    ho, wo = out_sizes
    tiles_h, tiles_w = -(-ho // _TILE[r]), -(-wo // _TILE[r])
    return tiles_h * tiles_w, tiles_w


def _batch_last(a):
    from .conv import _transpose_2d         # Note [Transposing to and from batch last]
    n = a.shape[0]
    return _transpose_2d(a.reshape(n, math.prod(a.shape[1:]))).reshape(a.shape[1:] + (n,))


def _from_batch_last(a):
    from .conv import _transpose_2d
    n = a.shape[-1]
    return _transpose_2d(a.reshape(math.prod(a.shape[:-1]), n)).reshape((n,) + a.shape[:-1])


def transform_input(x, r, geo, out_sizes):
    """V = B^T x B over x's tiles: (n*n, C, T*N) for x (N, C, H, W)."""
    at, g, bt = _matrices(r, x.dtype)
    n_tile = bt.shape[0]
    tiles, tiles_w = _tiling(out_sizes, r)
    nb, c = x.shape[:2]
    v = np.empty((n_tile, n_tile, c, tiles, nb), x.dtype)
    xt = _batch_last(x)
    _compiled().input_tiles(xt, bt, _TILE[r], geo.pad[0], geo.pad[2], tiles_w, v)
    return v.reshape(n_tile * n_tile, c, tiles * nb)


def transform_grad(gy, r):
    """dM = A dy A^T over the output gradient's tiles: (n*n, K, T*N) for gy (N, K, Ho, Wo)."""
    at, g, bt = _matrices(r, gy.dtype)
    n_tile = bt.shape[0]
    tiles, tiles_w = _tiling(gy.shape[2:], r)
    nb, k = gy.shape[:2]
    dm = np.empty((n_tile, n_tile, k, tiles, nb), gy.dtype)
    gyt = _batch_last(gy)
    _compiled().grad_tiles(gyt, at, tiles_w, dm)
    return dm.reshape(n_tile * n_tile, k, tiles * nb)


def _transform_weight(w):
    """U = G w G^T: (n*n, K, C) for w (K, C, r, r)."""
    co, ci, r, _ = w.shape
    at, g, bt = _matrices(r, w.dtype)
    n_tile = g.shape[0]
    u = np.empty((n_tile, n_tile, co * ci), w.dtype)
    _compiled().sandwich(_batch_last(w.reshape(co * ci, r, r)), g, g, u)
    return u.reshape(n_tile * n_tile, co, ci)


def forward(x, w, geo, out_sizes, bias=None):
    """(y, V): y = conv(x, w) + bias for x (N, C, H, W), and x's transformed tiles for weight_grad."""
    co, ci, r, _ = w.shape
    nb = x.shape[0]
    at, g, bt = _matrices(r, x.dtype)
    v = transform_input(x, r, geo, out_sizes)
    mm = _matmul_arrays(_transform_weight(w), v)                                # (n*n, K, T*N)
    tiles, tiles_w = _tiling(out_sizes, r)
    n_tile = bt.shape[0]
    y = np.empty((co,) + tuple(out_sizes) + (nb,), x.dtype)
    b = np.zeros(co, x.dtype) if bias is None else np.ascontiguousarray(bias, dtype=x.dtype)
    mm = mm.reshape(n_tile, n_tile, co, tiles, nb)
    _compiled().output_tiles(mm, at, b, tiles_w, y)
    return _from_batch_last(y), v


def weight_grad(dm, v, w_shape):
    """dw = G^T (dM V^T) G, given the transformed output gradient and input."""
    co, ci, r, _ = w_shape
    at, g, bt = _matrices(r, dm.dtype)
    n_tile = g.shape[0]
    du = _matmul_arrays(dm, v.transpose(0, 2, 1))                               # (n*n, K, C)
    dw = np.empty((r, r, co * ci), dm.dtype)
    gt = np.ascontiguousarray(g.T)
    _compiled().sandwich(du.reshape(n_tile, n_tile, co * ci), gt, gt, dw)
    return _from_batch_last(dw).reshape(w_shape)


def input_grad(dm, w, geo, in_sizes, out_sizes):
    """dx = B (U^T dM) B^T, tiles added where they overlap, for x of spatial in_sizes."""
    co, ci, r, _ = w.shape
    at, g, bt = _matrices(r, dm.dtype)
    n_tile = bt.shape[0]
    tiles, tiles_w = _tiling(out_sizes, r)
    nb = dm.shape[-1] // tiles
    dv = _matmul_arrays(_transform_weight(w).transpose(0, 2, 1), dm)            # (n*n, C, T*N)
    dx = np.empty((ci,) + tuple(in_sizes) + (nb,), dm.dtype)
    dv = dv.reshape(n_tile, n_tile, ci, tiles, nb)
    _compiled().input_grad_tiles(dv, bt, _TILE[r], geo.pad[0], geo.pad[2], tiles_w, dx)
    return _from_batch_last(dx)
