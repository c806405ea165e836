"""``torch.autocast``: regions where listed ops run in a lower precision, and the autocast state.

Note [Autocast state]
PyTorch keeps autocast's state per thread: whether it is on for each device type, the
lower-precision dtype of each, whether casts of weights are cached, and how deeply
regions nest. flambeau keeps the same in a ``threading.local``. The ops themselves are
hooked by ``flambeau.amp._policy`` (see Note [Autocast hooks]); their wrappers read one
process-wide count first, ``_active[0]``: the number of threads that have autocast on for
some device. While it is zero, as in every program that never enters autocast, a hooked op
costs one list read more than before.

PyTorch's default CPU dtype is bfloat16, which flambeau lacks. The CPU slot holds ``None``
for that default: entering CPU autocast with it, or asking for it, raises a RuntimeError
that names float16 as the dtype to pass, instead of quietly running in another dtype.
"""
import collections.abc
import functools
import threading
import warnings

import numpy as np

from .. import _dtype
from .._device import device as _device_cls
from .._tensor import Tensor
from ..autograd import grad_mode

__all__ = ["autocast", "is_autocast_available", "custom_fwd", "custom_bwd", "is_autocast_enabled",
           "set_autocast_enabled", "get_autocast_dtype", "set_autocast_dtype", "is_autocast_cache_enabled",
           "set_autocast_cache_enabled", "clear_autocast_cache", "autocast_increment_nesting",
           "autocast_decrement_nesting", "is_autocast_cpu_enabled", "set_autocast_cpu_enabled",
           "get_autocast_cpu_dtype", "set_autocast_cpu_dtype", "get_autocast_gpu_dtype", "set_autocast_gpu_dtype"]

DEVICE_TYPES = ("cpu", "cuda")

_BFLOAT16_MESSAGE = ("flambeau has no bfloat16 dtype, so {what} is not supported: pass dtype=flambeau.float16 "
                     "(e.g. flambeau.autocast('{device}', dtype=flambeau.float16))")

# Threads with autocast on for some device type (Note [Autocast state]); a list so that the
# hooks' closures see every change.
_active = [0]
_active_lock = threading.Lock()


class _State(threading.local):
    def __init__(self):
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = {"cpu": None, "cuda": _dtype.float16}     # None: torch's bfloat16 default
        self.cache_enabled = True
        self.nesting = 0
        self.cache = {}            # id(weight) -> (weight, its cast): see cast_for_autocast
        self.in_op = False         # inside a hooked op: its own ops are not cast again
        self.counted = False       # this thread is counted in _active


state = _State()


def _recount():
    on = state.enabled["cpu"] or state.enabled["cuda"]
    if on != state.counted:
        with _active_lock:
            _active[0] += 1 if on else -1
        state.counted = on


def _device_type(device_type, fn):
    if not isinstance(device_type, str):
        raise TypeError(f"{fn}(): argument 'device_type' (position 1) must be str, not {type(device_type).__name__}")
    return _device_cls(device_type).type           # unknown names raise torch's RuntimeError


def _is_bfloat16(dt):
    return dt is not None and str(dt).rpartition(".")[2] == "bfloat16"


def _check_dtype(dt, fn):
    if _is_bfloat16(dt):
        raise RuntimeError(_BFLOAT16_MESSAGE.format(what="bfloat16", device="cpu"))
    if not isinstance(dt, _dtype.dtype):
        raise TypeError(f"{fn}(): argument 'dtype' (position 2) must be torch.dtype, not {type(dt).__name__}")


# -- the state, as torch's functions expose it -------------------------------------------------
def is_autocast_enabled(device_type="cuda"):
    return state.enabled[_device_type(device_type, "is_autocast_enabled")]


def set_autocast_enabled(device_type, enabled=None):
    """``set_autocast_enabled(device_type, enabled)``; the older ``set_autocast_enabled(enabled)`` means cuda."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    if not isinstance(enabled, bool):
        raise TypeError(f"set_autocast_enabled(): argument 'enabled' must be bool, not {type(enabled).__name__}")
    state.enabled[_device_type(device_type, "set_autocast_enabled")] = enabled
    _recount()


def get_autocast_dtype(device_type):
    dev = _device_type(device_type, "get_autocast_dtype")
    dt = state.dtype[dev]
    if dt is None:
        raise RuntimeError(_BFLOAT16_MESSAGE.format(what=f"autocast's default {dev} dtype (torch.bfloat16)",
                                                    device=dev))
    return dt


def set_autocast_dtype(device_type, dtype):
    dev = _device_type(device_type, "set_autocast_dtype")
    _check_dtype(dtype, "set_autocast_dtype")
    state.dtype[dev] = dtype


def is_autocast_cache_enabled():
    return state.cache_enabled


def set_autocast_cache_enabled(enabled):
    state.cache_enabled = bool(enabled)


def clear_autocast_cache():
    state.cache.clear()


def autocast_increment_nesting():
    state.nesting += 1
    return state.nesting


def autocast_decrement_nesting():
    state.nesting -= 1
    return state.nesting


def _deprecated(old, new):
    warnings.warn(f"torch.{old} is deprecated. Please use torch.{new} instead.", DeprecationWarning, stacklevel=3)


def is_autocast_cpu_enabled():
    _deprecated("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return state.enabled["cpu"]


def set_autocast_cpu_enabled(enabled):
    _deprecated("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype():
    _deprecated("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return get_autocast_dtype("cpu")


def set_autocast_cpu_dtype(dtype):
    _deprecated("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def get_autocast_gpu_dtype():
    _deprecated("get_autocast_gpu_dtype()", "get_autocast_dtype('cuda')")
    return get_autocast_dtype("cuda")


def set_autocast_gpu_dtype(dtype):
    _deprecated("set_autocast_gpu_dtype(dtype)", "set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)


def is_autocast_available(device_type):
    """Whether autocast has an op policy for this device type (flambeau's devices: cpu and cuda)."""
    return _device_type(device_type, "is_autocast_available") in DEVICE_TYPES


# -- the casts ---------------------------------------------------------------------------------
def is_eligible(t, device_type):
    """A tensor autocast may cast: floating point below float64, on the region's device type."""
    d = t._data
    if d.dtype.kind != "f" or d.itemsize == 8:
        return False
    return (type(d) is np.ndarray) == (device_type == "cpu")


def cast_for_autocast(t, dt, device_type):
    """t in dtype dt, if eligible. A float32 leaf that requires grad (a weight) is cast once per
    region and the cast reused, as PyTorch's cache does; casts made without grad mode are
    not kept, so that a no_grad forward leaves no graph-less cast behind for a later one."""
    if not is_eligible(t, device_type) or t._data.dtype == dt.np:
        return t
    if (t._requires_grad and t._grad_fn is None and t._base is None and t._data.dtype == np.float32
            and state.cache_enabled and grad_mode._enabled[0] and dt is state.dtype[device_type]):
        hit = state.cache.get(id(t))
        if hit is not None and hit[0] is t:
            return hit[1]
        cast = t.to(dt)
        state.cache[id(t)] = (t, cast)
        return cast
    return t.to(dt)


# -- the region --------------------------------------------------------------------------------
def _cuda_usable():
    from .. import cuda
    return cuda.is_available()


class autocast:
    """Context manager and decorator: inside, the ops on autocast's lists for ``device_type`` run in
    ``dtype`` (float16 on cuda by default; give ``dtype=flambeau.float16`` on the CPU, whose torch
    default, bfloat16, flambeau lacks), those that need the range of float32 in float32, and ops
    with several inputs that list "promote" in the widest input type. See flambeau.amp._policy for
    the lists. Tensors made inside keep their dtype after the region; gradients reach the leaves
    in the leaves' dtypes."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if not is_autocast_available(device_type):
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        self.device = device_type
        if _is_bfloat16(dtype):
            if enabled:
                raise RuntimeError(_BFLOAT16_MESSAGE.format(what="bfloat16", device=device_type))
            dtype = None
        self.fast_dtype = state.dtype[device_type] if dtype is None else dtype
        self._cache_enabled = state.cache_enabled if cache_enabled is None else cache_enabled
        if enabled:
            if self.fast_dtype is None:
                raise RuntimeError(_BFLOAT16_MESSAGE.format(
                    what=f"{device_type} autocast without a dtype (torch's default there is bfloat16)",
                    device=device_type))
            if device_type == "cuda":
                if not _cuda_usable():
                    warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.",
                                  stacklevel=2)
                    enabled = False
            elif self.fast_dtype is not _dtype.float16:
                warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                              "CPU Autocast only supports dtypes of torch.bfloat16, torch.float16 currently.",
                              stacklevel=2)
                enabled = False
        self._enabled = enabled

    def __enter__(self):
        dev = self.device
        if self.fast_dtype is not None:
            _check_dtype(self.fast_dtype, "set_autocast_dtype")
        self.prev_cache_enabled = state.cache_enabled
        self.prev = state.enabled[dev]
        self.prev_fastdtype = state.dtype[dev]
        state.enabled[dev] = self._enabled
        state.dtype[dev] = self.fast_dtype
        state.nesting += 1
        state.cache_enabled = self._cache_enabled
        _recount()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        state.nesting -= 1
        if state.nesting == 0:          # leaving the outermost region: drop the cached weight casts
            state.cache.clear()
        dev = self.device
        state.enabled[dev] = self.prev
        state.dtype[dev] = self.prev_fastdtype
        state.cache_enabled = self.prev_cache_enabled
        _recount()
        return False

    def __call__(self, func):
        if not callable(func):
            raise TypeError(f"autocast()(func) requires a callable, but got {type(func).__name__}. "
                            f"Did you mean to use autocast as a context manager? For example:\n"
                            f"    with torch.autocast(device_type=...):\n"
                            f"        output = model(input)")

        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return decorate_autocast


# -- custom autograd Functions -----------------------------------------------------------------
def _cast(value, device_type, dtype):
    """Floating tensors (below float64, on device_type) in value, also inside lists, tuples and
    dicts, cast to dtype: what custom_fwd does to forward's arguments."""
    if isinstance(value, Tensor):
        return value.to(dtype) if is_eligible(value, device_type) else value
    if isinstance(value, (str, bytes, np.ndarray)):
        return value
    if isinstance(value, collections.abc.Mapping):
        return {_cast(k, device_type, dtype): _cast(v, device_type, dtype) for k, v in value.items()}
    if isinstance(value, collections.abc.Iterable):
        cast = (_cast(v, device_type, dtype) for v in value)
        return type(value)(cast) if isinstance(value, (list, tuple)) else cast
    return value


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """Decorator for a custom Function's ``forward``: with ``cast_inputs``, inside an autocast region
    forward gets its floating tensors in that dtype and runs with autocast off; without, forward
    runs under the current autocast state. Either way backward (with ``custom_bwd``) sees the same
    state as forward did."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        ctx = args[0]
        ctx._dtype = state.dtype[_device_type(device_type, "custom_fwd")]
        if cast_inputs is None:
            ctx._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        ctx._fwd_used_autocast = False
        if is_autocast_enabled(device_type):
            with autocast(device_type=device_type, enabled=False):
                return fwd(*_cast(args, device_type, cast_inputs), **_cast(kwargs, device_type, cast_inputs))
        return fwd(*args, **kwargs)
    return decorate_fwd


def custom_bwd(bwd=None, *, device_type):
    """Decorator for a custom Function's ``backward``: it runs under the autocast state forward had."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        ctx = args[0]
        with autocast(device_type=device_type, enabled=ctx._fwd_used_autocast, dtype=ctx._dtype):
            return bwd(*args, **kwargs)
    return decorate_bwd
