"""The few places where NumPy and CuPy differ, and nowhere else.

Op code computes through ``xp = array_module(array)``; what one engine spells
differently from the other is spelled once here.
"""
import numpy as np

cupy = None
_cuda_error = None


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
    global cupy, _cuda_error
    from .cuda import _track_peak
    _track_peak(module)
    cupy, _cuda_error = module, None


def cuda_available():
    _load_cupy()
    return cupy is not None


def require_cuda():
    _load_cupy()
    if cupy is None:
        if isinstance(_cuda_error, ImportError):
            why = "CuPy is not installed (pip install 'flambeau[cuda]')"
        else:
            why = f"no usable CUDA GPU ({_cuda_error})"
        raise RuntimeError(f"flambeau cannot use the cuda device: {why}")
    return cupy


def array_module(a):
    """numpy or cupy, from an array."""
    if type(a) is np.ndarray or cupy is None:
        return np
    return cupy.get_array_module(a)


def is_array(a):
    return isinstance(a, np.ndarray) or (cupy is not None and isinstance(a, cupy.ndarray))


def to_host(a):
    """A NumPy array with a's values (no copy for NumPy input)."""
    if isinstance(a, np.ndarray):
        return a
    return cupy.asnumpy(a)


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


def scatter_add(a, index, values):
    """a[index] += values, accumulating repeated indices."""
    if isinstance(a, np.ndarray):
        np.add.at(a, index, values)
    else:
        import cupyx
        cupyx.scatter_add(a, index, values)


def device_of(a):
    from ._device import CPU, device
    if isinstance(a, np.ndarray):
        return CPU
    return device("cuda", a.device.id)


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
