"""fractional_max_pool2d / fractional_max_pool3d, as PyTorch's (Graham, "Fractional Max-Pooling").

Each (batch, channel) plane draws one sample u in [0, 1) per spatial dim (2-D: u[0] for the width,
u[1] for the height, as PyTorch; 3-D: time, height, width). Along a dim of input size n pooled by k
to out outputs, window i starts at trunc((i + u) * alpha) - trunc(u * alpha), alpha = (n - k) / (out - 1),
computed in the input's dtype as PyTorch's generate_intervals does, and the last window starts at n - k.
Windows are gathered at their flat indices in the plane, all planes at once (no host reads); a window
keeps its first maximum, or its last NaN (PyTorch's ``val > max || isnan(val)`` scan). The gradient is
added back at those indices.
"""
import math

import numpy as np

from .. import _xp
from .._tensor import Tensor, _make
from .._ops._util import check_same_device, _type_word
from .._ops.pooling import _PlaneMax, _PlaneMaxAdjoint, _plane_take, _three_d


def _f():
    import flambeau
    return flambeau


class _FractionalMaxPool(_PlaneMax):
    _node_name = "FractionalMaxPool2DBackward0"


class _FractionalMaxPoolAdjoint(_PlaneMaxAdjoint):
    _node_name = "FractionalMaxPool2DBackwardBackward0"


_FractionalMaxPool._adjoint, _FractionalMaxPoolAdjoint._take = _FractionalMaxPoolAdjoint, _FractionalMaxPool


def _window_starts(samples, size, out, pool, dtype, xp):
    """(N, C, out) start of each window along one dim, from the (N, C) samples, as generate_intervals."""
    n, c = samples.shape
    last = xp.full((n, c, 1), size - pool, np.int64)
    if out <= 1:
        return last[..., :max(out, 0)]
    alpha = dtype.type(size - pool) / dtype.type(out - 1)         # rounded to the input's dtype, as torch
    i = xp.arange(out - 1, dtype=dtype)
    s = samples[..., None]
    starts = (((i + s) * alpha).astype(np.int64) - (s * alpha).astype(np.int64))
    return xp.concatenate([starts, last], axis=-1)


def _int_tuple(op, value, nd, what):
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nd
    value = tuple(value)
    if len(value) == 1:
        value = value * nd
    if len(value) != nd:
        raise RuntimeError(f"{op}: {what} must either be a single Int or tuple of "
                           f"{'Ints' if nd == 2 else 'three Ints'}")
    return tuple(int(v) for v in value)


def _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, nd):
    op = f"fractional_max_pool{nd}d"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        if nd == 2:
            if len(output_ratio) > 2:       # torch takes len() of the ratio: a bare float is a TypeError there
                raise ValueError(f"{op} requires output_ratio to either be a single Int or tuple of Ints.")
            ratio = tuple(output_ratio) * 2 if len(output_ratio) == 1 else tuple(output_ratio)
        else:
            ratio = (output_ratio,) * 3 if isinstance(output_ratio, (int, float)) else tuple(output_ratio)
            if len(ratio) == 1:
                ratio = ratio * 3
        output_size = [int(input.size(d - nd) * ratio[d]) for d in range(nd)]
    if _random_samples is None:
        n_batch = 1 if input.dim() == nd + 1 else input.size(0)
        _random_samples = _f().rand(n_batch, input.size(-nd - 1), nd, dtype=input.dtype, device=input.device)
    pool = _int_tuple(op, kernel_size, nd, "kernel_size")
    out = _int_tuple(op, output_size, nd, "output_size")
    where = f"{op}()" if nd == 2 else f"{op}_out()"
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{where}: Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    for d in range(input.ndim - nd - 1, input.ndim):
        if input.shape[d] == 0:
            raise RuntimeError(f"{where}: Expected input to have non-zero size for non-batch dimensions, but "
                               f"got{list(input.shape)} with dimension {d} being empty.")
    sizes = tuple(input.shape[-nd:])
    names = ("height", "width") if nd == 2 else ("time", "height", "width")
    order = (0, 1) if nd == 2 else (0, 2, 1)            # torch checks time, width, height in 3-D
    for d in order:
        fits = out[d] + pool[d] - 1 <= sizes[d] if nd == 2 else out[d] + pool[d] - 1 < sizes[d]
        if not fits:
            raise RuntimeError(f"{where}: pool {names[d]} {pool[d]} too large relative to input {names[d]} "
                               f"{sizes[d]}")
    batch_shape = tuple(input.shape[:-nd])
    if any(o < 0 for o in out):
        o = next(o for o in out if o < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {o}: {list(batch_shape + out)}")
    check_same_device(op, input, _random_samples)
    samples = _random_samples
    if samples.dtype != input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if samples.ndim != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {samples.ndim}")
    x = input if input.ndim == nd + 2 else input.unsqueeze(0)
    n, c = x.shape[:2]
    if samples.shape[0] < n:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if samples.shape[1] != c:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if samples.shape[2] != nd:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {nd}; got {samples.shape[2]}.")
    if not input.dtype.is_floating_point or input.dtype.is_complex:
        raise NotImplementedError(f"\"{op}_out_frame\" not implemented for '{_type_word(input.dtype)}'")
    if any(k <= 0 for k in pool):
        raise NotImplementedError(f"{op}: kernel_size must be positive (got {list(pool)}); torch's windows are "
                                  f"empty there and its indices may leave the input")
    index = _max_indices(x._data, samples._data[:n], sizes, out, pool, nd)
    y = _three_d(_FractionalMaxPool, nd).apply(x, index)
    index = _make(index)
    if input.ndim == nd + 1:
        y, index = y.squeeze(0), index.squeeze(0)
    return y, index


def _max_indices(a, samples, sizes, out, pool, nd):
    """(N, C, *out) flat plane index of each window's maximum (first maximum, or last NaN)."""
    xp = _xp.array_module(a)
    n, c = a.shape[:2]
    dtype = np.dtype(a.dtype)
    # the sample for each dim: 2-D stores (width, height), 3-D (time, height, width)
    column = (1, 0) if nd == 2 else (0, 1, 2)
    strides = [math.prod(sizes[d + 1:]) for d in range(nd)]
    index = xp.zeros((n, c) + (1,) * (2 * nd), np.int64)
    for d in range(nd):
        starts = _window_starts(samples[:, :, column[d]], sizes[d], out[d], pool[d], dtype, xp)
        # samples outside [0, 1) would leave the plane (torch reads out of bounds): keep the windows inside it
        starts = xp.clip(starts, 0, sizes[d] - pool[d])
        shape = [n, c] + [1] * (2 * nd)
        shape[2 + d] = out[d]
        pos = starts.reshape(shape)
        offsets = [1] * (2 * nd + 2)
        offsets[2 + nd + d] = pool[d]
        index = index + (pos + xp.arange(pool[d]).reshape(offsets)) * strides[d]
    windows = index.reshape((n, c) + tuple(out) + (math.prod(pool),))
    values = _plane_take(a, windows)
    arg = values.argmax(axis=-1)     # the first maximum
    if values.dtype.kind == "f":
        nan = xp.isnan(values)
        last_nan = (values.shape[-1] - 1) - nan[..., ::-1].argmax(axis=-1)
        arg = xp.where(nan.any(axis=-1), last_nan, arg)
    return xp.take_along_axis(windows, arg[..., None], axis=-1)[..., 0]


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """2-D fractional max pooling of (N, C, H, W) or (C, H, W): (output, flat H*W indices of the maxima)."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 2)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """3-D fractional max pooling of (N, C, T, H, W) or (C, T, H, W): (output, flat T*H*W indices)."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 3)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """2-D fractional max pooling to output_size (or output_ratio of the input size), windows of kernel_size
    at pseudo-random steps; with return_indices, also the flat index of each maximum in its plane."""
    result = fractional_max_pool2d_with_indices(input, kernel_size, output_size, output_ratio, return_indices,
                                                _random_samples)
    return result if return_indices else result[0]


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """3-D fractional max pooling; see fractional_max_pool2d."""
    result = fractional_max_pool3d_with_indices(input, kernel_size, output_size, output_ratio, return_indices,
                                                _random_samples)
    return result if return_indices else result[0]
