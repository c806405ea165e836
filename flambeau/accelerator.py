"""``flambeau.accelerator``: the device-neutral face of the accelerator, which for flambeau is cuda.

Course code written for any PyTorch accelerator picks its device with it::

    device = flambeau.accelerator.current_accelerator() if flambeau.accelerator.is_available() else "cpu"
"""
import contextlib

from . import _device

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index", "current_device_idx",
           "set_device_index", "set_device_idx", "device_index", "synchronize", "current_stream", "set_stream",
           "empty_cache", "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
           "memory_stats", "get_memory_info",
           "reset_peak_memory_stats", "get_device_capability"]


def _cuda():
    from . import cuda
    return cuda


def is_available():
    return _cuda().is_available()


def current_accelerator(check_available=False):
    """device('cuda') where a GPU can be used; else None. Without check_available, it names the
    accelerator flambeau is built for (cuda) when CuPy is installed, even with no GPU, as PyTorch
    names the accelerator it was compiled for."""
    from . import _xp
    if check_available or is_available():
        return _device.device("cuda") if is_available() else None
    cupy_installed = not isinstance(_xp._cuda_error, ImportError)     # installed, but found no GPU
    return _device.device("cuda") if cupy_installed else None


def device_count():
    return _cuda().device_count()


def _require():
    if not is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    return _cuda()


def _index(device):
    """An index from an int, a 'cuda[:i]' string or device, or None (the current one)."""
    cuda = _require()
    if device is None:
        return cuda.current_device()
    if isinstance(device, int):
        return device
    dev = _device.device(device)
    if dev.type != "cuda":
        raise ValueError(f"{dev.type} doesn't match the current accelerator cuda.")
    return cuda.current_device() if dev.index is None else dev.index


def current_device_index():
    return _require().current_device()


current_device_idx = current_device_index


def set_device_index(device):
    _require().set_device(_index(device))


set_device_idx = set_device_index


@contextlib.contextmanager
def device_index(device):
    """Make ``device`` the current accelerator device for a block (None: change nothing)."""
    if device is None:
        yield
        return
    cuda = _require()
    previous = cuda.current_device()
    cuda.set_device(_index(device))
    try:
        yield
    finally:
        cuda.set_device(previous)


def synchronize(device=None):
    _require().synchronize(_index(device))


def current_stream(device=None):
    return _require().current_stream(_index(device))


def set_stream(stream):
    """Make ``stream`` (a flambeau.cuda.Stream) the current one on its device."""
    _require()
    stream._s.use()


def empty_cache():
    _require().empty_cache()


def memory_allocated(device_index=None):
    return _require().memory_allocated(_index(device_index))


def max_memory_allocated(device_index=None):
    return _require().max_memory_allocated(_index(device_index))


def memory_reserved(device_index=None):
    return _require().memory_reserved(_index(device_index))


def max_memory_reserved(device_index=None):
    return _require().max_memory_reserved(_index(device_index))


def memory_stats(device_index=None):
    return _require().memory_stats(_index(device_index))


def get_memory_info(device_index=None):
    """(free, total) bytes of the device."""
    return _require().mem_get_info(_index(device_index))


def reset_peak_memory_stats(device_index=None):
    _require().reset_peak_memory_stats(_index(device_index))


def get_device_capability(device=None):
    """{'major': ..., 'minor': ...} of the device's compute capability."""
    major, minor = _require().get_device_capability(_index(device))
    return {"major": major, "minor": minor}
