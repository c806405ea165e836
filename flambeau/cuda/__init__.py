"""``flambeau.cuda``: the CUDA device through CuPy (available only where CuPy finds a GPU)."""
from .. import _xp

__all__ = ["is_available", "device_count", "current_device", "set_device", "synchronize", "manual_seed",
           "manual_seed_all", "seed", "seed_all", "initial_seed", "get_rng_state", "set_rng_state",
           "get_rng_state_all", "set_rng_state_all", "memory_allocated", "max_memory_allocated",
           "reset_peak_memory_stats", "memory_reserved", "empty_cache", "Event", "Stream", "current_stream", "stream",
           "get_device_name", "get_device_properties", "get_device_capability", "device", "OutOfMemoryError",
           "reset_max_memory_allocated", "max_memory_reserved", "memory_cached", "max_memory_cached",
           "mem_get_info", "memory_stats", "memory_summary", "is_bf16_supported", "is_initialized", "init",
           "default_stream", "set_stream", "StreamContext"]

# torch.cuda.FloatTensor and the other legacy cuda tensor types
from .._legacy_types import CUDA_TYPES as _CUDA_TYPES  # noqa: E402
from .._legacy_types import CUDA_STORAGE_TYPES as _CUDA_STORAGE_TYPES  # noqa: E402
globals().update(_CUDA_TYPES)
globals().update(_CUDA_STORAGE_TYPES)
__all__ += list(_CUDA_TYPES) + list(_CUDA_STORAGE_TYPES)


def is_available():
    return _xp.cuda_available()


def _cp():
    return _xp.require_cuda()


def device_count():
    return _cp().cuda.runtime.getDeviceCount() if is_available() else 0


def current_device():
    return _cp().cuda.runtime.getDevice()


def set_device(device):
    _cp().cuda.runtime.setDevice(_index(device))


class device:
    """Context manager selecting the current CUDA device."""

    def __init__(self, device):
        self.idx = _index(device)

    def __enter__(self):
        self.prev = current_device()
        set_device(self.idx)

    def __exit__(self, *exc):
        set_device(self.prev)


def _index(device):
    """A device's index: an int as is, 'cuda' or None the current device."""
    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    from .._device import device as _dev
    index = _dev(device).index
    return current_device() if index is None else index


class _DeviceProperties:
    """What ``get_device_properties`` answers: name, total_memory, major, minor, multi_processor_count."""

    def __init__(self, props):
        self.name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        self.total_memory = props["totalGlobalMem"]
        self.major, self.minor = props["major"], props["minor"]
        self.multi_processor_count = props["multiProcessorCount"]

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // (1 << 20)}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(device=None):
    return _DeviceProperties(_cp().cuda.runtime.getDeviceProperties(_index(device)))


def get_device_name(device=None):
    return get_device_properties(device).name


def get_device_capability(device=None):
    props = get_device_properties(device)
    return props.major, props.minor


def synchronize(device=None):
    _cp().cuda.Device().synchronize()        # without CUDA this raises, as PyTorch's does


# -- the default generators of the devices (Note [default cuda generators]) ---------------------
def _generator(device=None):
    from .._ops.creation import default_cuda_generator
    return default_cuda_generator(_index(device))


def _all_generators():
    return [_generator(i) for i in range(device_count())]


def manual_seed(seed):
    """Seed the current device's generator (silently nothing without CUDA, as in torch)."""
    if is_available():
        _generator().manual_seed(seed)


def manual_seed_all(seed):
    if is_available():
        for g in _all_generators():
            g.manual_seed(seed)


def seed():
    """Seed the current device's generator with a random number."""
    if is_available():
        _generator().seed()


def seed_all():
    """Seed every device's generator with one random number."""
    if is_available():
        import secrets
        manual_seed_all(secrets.randbits(63))


def initial_seed():
    return _generator().initial_seed()


def get_rng_state(device="cuda"):
    """The state of a device's generator: a CPU ByteTensor that set_rng_state takes back."""
    return _generator(device).get_state()


def set_rng_state(new_state, device="cuda"):
    _generator(device).set_state(new_state)


def get_rng_state_all():
    return [g.get_state() for g in _all_generators()]


def set_rng_state_all(new_states):
    for g, state in zip(_all_generators(), new_states):
        g.set_state(state)


# Note [Peak memory]
# CuPy's memory pool knows the bytes in use but not their peak. The peak can only rise
# when a block is allocated, so flambeau installs an allocator (the pool's own malloc,
# then one read of the bytes in use) when it loads CuPy, and keeps the highest value seen.
# The allocator also turns CuPy's out-of-memory error into PyTorch's, with its message.
_peak = [0]
_peak_reserved = [0]


class OutOfMemoryError(RuntimeError):
    """The device has no room for an allocation (``flambeau.OutOfMemoryError`` too)."""


def _device_out_of_memory_class(cupy):
    """OutOfMemoryError that is CuPy's too, so CuPy's own handlers (which free caches and retry) still
    catch it."""
    try:
        return type("OutOfMemoryError", (OutOfMemoryError, cupy.cuda.memory.OutOfMemoryError),
                    {"__init__": RuntimeError.__init__, "__str__": RuntimeError.__str__,
                     "__module__": __name__})
    except TypeError:         # layouts that cannot be combined: PyTorch's class alone
        return OutOfMemoryError


def _format_size(n):
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} bytes"


def _out_of_memory_message(cupy, pool, size):
    free, total = cupy.cuda.runtime.memGetInfo()
    used, reserved = pool.used_bytes(), pool.total_bytes()
    return (f"CUDA out of memory. Tried to allocate {_format_size(size)}. GPU {cupy.cuda.runtime.getDevice()} "
            f"has a total capacity of {_format_size(total)} of which {_format_size(free)} is free. Of the "
            f"allocated memory {_format_size(used)} is allocated by flambeau, and "
            f"{_format_size(reserved - used)} is reserved by flambeau but unallocated.")


def _track_peak(cupy):
    pool = cupy.get_default_memory_pool()
    out_of_memory = _device_out_of_memory_class(cupy)
    cupy_out_of_memory = cupy.cuda.memory.OutOfMemoryError

    def malloc(size):
        try:
            block = pool.malloc(size)
        except cupy_out_of_memory as e:
            if isinstance(e, OutOfMemoryError):
                raise
            raise out_of_memory(_out_of_memory_message(cupy, pool, size)) from e
        used = pool.used_bytes()
        if used > _peak[0]:
            _peak[0] = used
            reserved = pool.total_bytes()
            if reserved > _peak_reserved[0]:
                _peak_reserved[0] = reserved
        return block
    cupy.cuda.set_allocator(malloc)


def memory_allocated(device=None):
    """Bytes held by live cuda tensors (CuPy's default memory pool)."""
    return _cp().get_default_memory_pool().used_bytes() if is_available() else 0


def max_memory_allocated(device=None):
    """The most bytes held at once since the start, or since ``reset_peak_memory_stats``."""
    return max(_peak[0], memory_allocated()) if is_available() else 0


def reset_peak_memory_stats(device=None):
    _peak[0] = memory_allocated()
    _peak_reserved[0] = memory_reserved()


def reset_max_memory_allocated(device=None):
    """Deprecated in PyTorch for reset_peak_memory_stats, which it calls."""
    reset_peak_memory_stats(device)


def memory_reserved(device=None):
    """Bytes CuPy's memory pool holds from the device (allocated, or kept for reuse)."""
    return _cp().get_default_memory_pool().total_bytes() if is_available() else 0


def max_memory_reserved(device=None):
    """The most bytes the pool held, as seen at allocations (a pool grows only then)."""
    return max(_peak_reserved[0], memory_reserved()) if is_available() else 0


memory_cached = memory_reserved            # PyTorch's old names
max_memory_cached = max_memory_reserved


def mem_get_info(device=None):
    """(free, total) bytes of the device, as the driver reports them."""
    cupy = _cp()
    if device is None:
        return cupy.cuda.runtime.memGetInfo()
    with cupy.cuda.Device(_index(device)):
        return cupy.cuda.runtime.memGetInfo()


def memory_stats(device=None):
    """The statistics flambeau keeps, under PyTorch's keys: bytes allocated and reserved (current
    and peak). PyTorch's caching allocator reports more (block counts, retries...); CuPy's pool
    does not keep those."""
    from collections import OrderedDict
    if not is_available():
        return OrderedDict()
    return OrderedDict([("allocated_bytes.all.current", memory_allocated()),
                        ("allocated_bytes.all.peak", max_memory_allocated()),
                        ("reserved_bytes.all.current", memory_reserved()),
                        ("reserved_bytes.all.peak", max_memory_reserved())])


def memory_summary(device=None, abbreviated=False):
    """A short table of memory_stats()."""
    stats = memory_stats(device)
    rows = [("Allocated memory", "allocated_bytes"), ("GPU reserved memory", "reserved_bytes")]
    lines = ["|" + "=" * 60 + "|", "|{:^60}|".format("flambeau CUDA memory summary"), "|" + "-" * 60 + "|",
             "| {:<26}| {:>14} | {:>14} |".format("Metric", "Cur Usage", "Peak Usage"), "|" + "-" * 60 + "|"]
    for label, key in rows:
        cur, peak = stats.get(f"{key}.all.current", 0), stats.get(f"{key}.all.peak", 0)
        lines.append("| {:<26}| {:>14} | {:>14} |".format(label, _format_size(cur), _format_size(peak)))
    lines.append("|" + "=" * 60 + "|")
    return "\n".join(lines) + "\n"


def is_bf16_supported(including_emulation=True):
    """False: flambeau has no bfloat16 dtype (float16 is the half precision it offers)."""
    return False


def is_initialized():
    return _xp.cupy is not None


def init():
    """Load CuPy and select the GPU now (flambeau otherwise does it at the first cuda tensor)."""
    _cp()


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


    def __eq__(self, other):
        return isinstance(other, Stream) and self._s is other._s

    def __hash__(self):
        return id(self._s)


def _wrap_stream(cupy_stream):
    s = Stream.__new__(Stream)
    s._s = cupy_stream
    return s


def current_stream(device=None):
    return _wrap_stream(_cp().cuda.get_current_stream())


def default_stream(device=None):
    """The device's default (null) stream."""
    return _wrap_stream(_cp().cuda.Stream.null)


def set_stream(stream):
    """Make ``stream`` the current stream (None: leave it)."""
    if stream is not None:
        stream._s.use()


class StreamContext:
    """``with StreamContext(s):`` makes ``s`` current for the block and restores the previous one;
    ``s`` None does nothing."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        if self.stream is not None:
            self._previous = current_stream()
            set_stream(self.stream)
        return self.stream

    def __exit__(self, *exc):
        if self.stream is not None:
            set_stream(self._previous)


def stream(stream):
    """``with flambeau.cuda.stream(s):``: s is the current stream inside the block."""
    return StreamContext(stream)


# -- page-locked host memory ------------------------------------------------------------------
def _pin_memory(self, device=None):
    """A copy of this CPU tensor in page-locked host memory (faster, asynchronous copies to cuda)."""
    if self.device.type != "cpu":
        raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
    if not is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    if self.is_pinned():
        return self
    import cupyx
    from .._tensor import _make
    pinned = cupyx.empty_pinned(tuple(self.shape), dtype=self._data.dtype)
    pinned[...] = self._data
    return _make(pinned)


def _is_pinned(self, device=None):
    """True when the tensor's memory was allocated page-locked (by ``pin_memory``)."""
    root = self._data
    while root is not None and not hasattr(root, "__cuda_array_interface__"):
        if type(root).__name__ == "PinnedMemoryPointer":
            return True
        root = getattr(root, "base", None)
    return False


def _install_tensor_methods():
    from .._tensor import Tensor
    Tensor.pin_memory = _pin_memory
    Tensor.is_pinned = _is_pinned


_install_tensor_methods()
