"""The few places where NumPy and CuPy differ, and nowhere else.

Op code computes through ``xp = array_module(array)``; what one engine spells
differently from the other is spelled once here.
"""
import numpy as np

cupy = None
_cuda_error = None
_device_array = None      # cupy.ndarray, once CuPy serves the cuda device: asked for by every op


def _load_cupy():
    global cupy, _cuda_error
    if cupy is not None or _cuda_error is not None:
        return
    try:
        import cupy as cp
        if cp.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("CuPy found no CUDA device")
    except Exception as e:  # ImportError, or a CUDA driver/runtime failure
        _cuda_error = e
        return
    use_cupy(cp)


def use_cupy(module):
    """Serve the cuda device with ``module`` (CuPy, or an API-compatible stand-in)."""
    global cupy, _cuda_error, _device_array
    from .cuda import _track_peak
    _track_peak(module)
    cupy, _cuda_error, _device_array = module, None, module.ndarray


def cuda_available():
    _load_cupy()
    return cupy is not None


def require_cuda():
    _load_cupy()
    if cupy is None:
        if isinstance(_cuda_error, ImportError):
            # flambeau without CuPy is PyTorch's CPU-only build, which raises this AssertionError
            raise AssertionError("Torch not compiled with CUDA enabled\nflambeau cannot use the cuda device: "
                                 "CuPy is not installed (pip install 'flambeau[cuda]')")
        # a CUDA build on a machine without a usable GPU: PyTorch raises a RuntimeError there
        raise RuntimeError(f"flambeau cannot use the cuda device: no usable CUDA GPU ({_cuda_error})")
    return cupy


def array_module(a):
    """numpy or cupy, from an array."""
    if type(a) is np.ndarray or cupy is None:
        return np
    return cupy if isinstance(a, _device_array) else np      # (cupy.get_array_module costs a Python call more)


def is_array(a):
    return isinstance(a, np.ndarray) or (_device_array is not None and isinstance(a, _device_array))


def to_host(a):
    """A NumPy array with a's values (no copy for NumPy input)."""
    if isinstance(a, np.ndarray):
        return a
    return cupy.asnumpy(a)


def from_host(xp, values, dtype=None, order=None):
    """xp.asarray(values, dtype, order) for host values (an array, a number, nested lists); device arrays
    pass through. CuPy uploads a 0-d array by filling with its item, and fills a zero with a memset that
    drops the sign of -0.0: a 0-d value goes up as one element instead, then takes the shape ()."""
    if xp is np or not isinstance(values, (np.ndarray, np.generic, int, float, complex, list, tuple)):
        return xp.asarray(values, dtype, order)
    values = np.asarray(values, dtype)
    if values.ndim:
        return xp.asarray(values, order=order)
    return xp.asarray(values.reshape(1)).reshape(())


def address(a):
    """Address of a's first element."""
    if isinstance(a, np.ndarray):
        return a.__array_interface__["data"][0]
    return a.data.ptr


def as_strided(a, shape, strides_bytes):
    if isinstance(a, np.ndarray):
        if type(a) is np.ndarray and a.flags.c_contiguous and a.flags.writeable:
            # the constructor is ~6x cheaper than as_strided; it refuses views that reach past a
            try:
                return np.ndarray(shape, a.dtype, a, 0, strides_bytes)
            except ValueError:
                pass
        return np.lib.stride_tricks.as_strided(a, shape, strides_bytes, writeable=True)
    return cupy.lib.stride_tricks.as_strided(a, shape, strides_bytes)


# float -> integer casts as torch's on x86 (the C casts NumPy shares): truncation toward zero into the
# 32- or 64-bit integer below, whose low bits make the narrow type; NaN, infinities and values out of
# that integer's range give its minimum. CUDA's conversions saturate instead (CuPy: -2.7 -> uint8 is 0,
# NaN is 0), so the out-of-range values are mapped explicitly, the same way on both engines.
_CAST_THROUGH = {"int8": np.int32, "int16": np.int32, "int32": np.int32, "uint16": np.int32,
                 "uint8": np.int64, "uint32": np.int64, "int64": np.int64, "uint64": np.int64}


def astype(a, dtype, copy=True):
    """a converted to dtype, float -> integer as torch converts (see _CAST_THROUGH)."""
    dtype = np.dtype(dtype)
    if a.dtype.kind not in "fc" or dtype.kind not in "iu":
        return a.astype(dtype, copy=copy)
    if a.dtype.kind == "c":
        a = a.real
    if a.dtype.itemsize < 4:
        a = a.astype(np.float32)           # exact, and the bounds below are float32 numbers
    wide = _CAST_THROUGH[dtype.name]
    low, high = float(np.iinfo(wide).min), -float(np.iinfo(wide).min)     # powers of two: exact
    xp = array_module(a)
    inside = (a >= low) & (a < high)       # False for NaN
    return xp.where(inside, a, low).astype(wide).astype(dtype, copy=False)


def fill(a, value):
    """a[...] = value, a number or 0-d array. CuPy's fill (and so its full, and its a[basic index] = number)
    writes a zero with a memset, which drops the sign of -0.0; copyto writes it with a kernel."""
    if isinstance(value, np.ndarray) and not isinstance(a, np.ndarray):
        value = value[()]                  # a host 0-d array: CuPy's copyto takes its number
    array_module(a).copyto(a, value, casting="unsafe")


def full(xp, shape, value, dtype):
    """xp.full(shape, value, dtype), keeping the sign of -0.0 (see fill)."""
    out = xp.empty(shape, dtype)
    fill(out, value)
    return out


def setitem(a, key, value):
    """a[key] = value. CuPy writes a number either by fill (basic keys) or by uploading it as a 0-d array,
    which it fills too: zero by a memset, without the sign of -0.0. A number goes in as a 0-d device array
    made by copyto instead."""
    if not isinstance(a, np.ndarray) and not isinstance(value, cupy.ndarray) and np.ndim(value) == 0:
        value = full(cupy, (), value, a.dtype)
    a[key] = value


def scatter_add(a, index, values):
    """a[index] += values, accumulating repeated indices, for every dtype."""
    if isinstance(a, np.ndarray):
        np.add.at(a, index, values)
        return
    import cupyx
    if a.dtype.name in _CUPY_SCATTER_ADD:
        cupyx.scatter_add(a, index, values)
    elif a.dtype.kind == "c":
        values = from_host(cupy, values)     # the real and imaginary parts are independent sums
        cupyx.scatter_add(a.real, index, values.real)
        if values.dtype.kind == "c":
            cupyx.scatter_add(a.imag, index, values.imag)
    else:
        # bool, uint8, int8, int16: summed in int32, then cast back, so that the sums wrap around as
        # torch's do (the int32 sum is congruent to theirs modulo the narrow range; bool is any nonzero)
        wide = a.astype(np.int32)
        cupyx.scatter_add(wide, index, from_host(cupy, values).astype(np.int32))
        a[...] = wide.astype(a.dtype)


# the dtypes CuPy's scatter_add (its atomicAdd) takes
_CUPY_SCATTER_ADD = ("int32", "int64", "uint32", "uint64", "float16", "float32", "float64")


_DEVICES = {}         # CuPy device id -> flambeau device: asked for by every op's autograd record


def device_of(a):
    key = "cpu" if isinstance(a, np.ndarray) else a.data.device_id     # (a.device builds a Device object)
    d = _DEVICES.get(key)
    if d is None:
        from ._device import device
        d = _DEVICES[key] = device(key) if key == "cpu" else device("cuda", key)
    return d


def accumulate(ufunc_name, a, axis):
    """``ufunc.accumulate(a, axis)`` for an associative ufunc (maximum, minimum, add, ...).

    CuPy accumulates only add and multiply; for the others a scan doubles its reach each
    step (log2(n) array operations, no host read).
    """
    xp = array_module(a)
    ufunc = getattr(xp, ufunc_name)
    if xp is np or ufunc_name in ("add", "multiply"):
        return ufunc.accumulate(a, axis=axis)
    out = xp.moveaxis(a, axis, -1).copy()
    n, reach = out.shape[-1], 1
    while reach < n:
        out[..., reach:] = ufunc(out[..., reach:], out[..., :-reach])
        reach *= 2
    return xp.moveaxis(out, -1, axis)
