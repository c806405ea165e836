"""``flambeau.cuda``: the CUDA device through CuPy (available only where CuPy finds a GPU)."""
from . import _xp

__all__ = ["is_available", "device_count", "current_device", "set_device", "synchronize", "manual_seed",
           "manual_seed_all", "memory_allocated", "max_memory_allocated", "reset_peak_memory_stats",
           "empty_cache", "Event", "Stream", "get_device_name", "device"]


def is_available():
    return _xp.cuda_available()


def _cp():
    return _xp.require_cuda()


def device_count():
    return _cp().cuda.runtime.getDeviceCount() if is_available() else 0


def current_device():
    return _cp().cuda.runtime.getDevice()


def set_device(device):
    from ._device import device as _dev
    idx = device if isinstance(device, int) else (_dev(device).index or 0)
    _cp().cuda.runtime.setDevice(idx)


class device:
    """Context manager selecting the current CUDA device."""

    def __init__(self, device):
        from ._device import device as _dev
        self.idx = device if isinstance(device, int) else (_dev(device).index or 0)

    def __enter__(self):
        self.prev = current_device()
        set_device(self.idx)

    def __exit__(self, *exc):
        set_device(self.prev)


def get_device_name(device=None):
    cp = _cp()
    idx = 0 if device is None else (device if isinstance(device, int) else (device.index or 0))
    return cp.cuda.runtime.getDeviceProperties(idx)["name"].decode()


def synchronize(device=None):
    if is_available():
        _cp().cuda.Device().synchronize()


def manual_seed(seed):
    if is_available():
        _cp().random.seed(int(seed) & 0xFFFFFFFF)


manual_seed_all = manual_seed
_peak = [0]


def memory_allocated(device=None):
    if not is_available():
        return 0
    used = _cp().get_default_memory_pool().used_bytes()
    _peak[0] = max(_peak[0], used)
    return used


def max_memory_allocated(device=None):
    if not is_available():
        return 0
    return max(_peak[0], _cp().get_default_memory_pool().used_bytes(), _pool_peak())


def _pool_peak():
    return getattr(_cp().get_default_memory_pool(), "_flambeau_peak", 0)


def reset_peak_memory_stats(device=None):
    _peak[0] = memory_allocated() if is_available() else 0


def memory_reserved(device=None):
    return _cp().get_default_memory_pool().total_bytes() if is_available() else 0


def empty_cache():
    if is_available():
        _cp().get_default_memory_pool().free_all_blocks()


class Event:
    """A CUDA event for timing (``record``, ``synchronize``, ``elapsed_time`` in ms)."""

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        self._e = _cp().cuda.Event(disable_timing=not enable_timing)

    def record(self, stream=None):
        self._e.record(stream._s if stream is not None else None)

    def synchronize(self):
        self._e.synchronize()

    def query(self):
        return self._e.done

    def elapsed_time(self, end):
        return _cp().cuda.get_elapsed_time(self._e, end._e)


class Stream:
    def __init__(self, device=None, priority=0):
        self._s = _cp().cuda.Stream(non_blocking=True)

    def synchronize(self):
        self._s.synchronize()

    def __enter__(self):
        self._s.__enter__()
        return self

    def __exit__(self, *exc):
        return self._s.__exit__(*exc)


def current_stream(device=None):
    s = Stream.__new__(Stream)
    s._s = _cp().cuda.get_current_stream()
    return s


def stream(s):
    return s
