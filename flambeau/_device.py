"""Devices, and the one seam where a device picks its array engine (NumPy or CuPy)."""
import threading

import numpy as np

__all__ = ["device"]


class device:
    """``device('cpu')``, ``device('cuda')``, ``device('cuda:1')``, ``device('cuda', 0)``."""

    __slots__ = ("type", "index")

    def __new__(cls, type_or_str, index=None):
        if isinstance(type_or_str, device):
            return type_or_str
        if isinstance(type_or_str, int) and not isinstance(type_or_str, bool):
            type_or_str, index = "cuda", type_or_str
        if not isinstance(type_or_str, str):
            raise TypeError(f"device() expected a string, an int or a device, got {type(type_or_str).__name__}")
        kind, _, idx = type_or_str.partition(":")
        if idx:
            if index is not None:
                raise RuntimeError(f"device(): type (string) must not include an index because index was passed explicitly: {type_or_str}")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type_or_str}'")
            index = int(idx)
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type_or_str}")
        key = (kind, index)
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        self = object.__new__(cls)
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "index", index)
        _CACHE[key] = self
        return self

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))

    # ``with flambeau.device('cuda'):`` makes the factory functions create there (see default()).
    def __enter__(self):
        _defaults().append(self)
        return self

    def __exit__(self, *exc):
        _defaults().pop()


_CACHE = {}
CPU = device("cpu")


def canonical(dev):
    """A concrete device: 'cuda' becomes 'cuda:<current>'; None means cpu."""
    if dev is None:
        return CPU
    dev = device(dev)
    if dev.type == "cuda":
        from . import _xp
        _xp.require_cuda()
        if dev.index is None:
            return device("cuda", _xp.cupy.cuda.runtime.getDevice())
    elif dev.index not in (None, 0):
        raise RuntimeError(f"CPU device index must be -1 or zero, got {dev.index}")
    return CPU if dev.type == "cpu" else dev


# The device factory functions use when given none: the innermost ``with device(...)`` block, else
# the one set_default_device() chose (both per thread, as PyTorch's), else the device of the legacy
# default tensor type (set_default_tensor_type('torch.cuda.FloatTensor'), process-wide), else the CPU.
_state = threading.local()
_legacy_type_device = [None]


def _defaults():
    stack = getattr(_state, "stack", None)
    if stack is None:
        stack = _state.stack = []
    return stack


def set_default(dev):
    _state.base = None if dev is None else device(dev)


def set_legacy_type_default(dev):
    _legacy_type_device[0] = None if dev is None else device(dev)


def _chosen():
    stack = getattr(_state, "stack", None)
    return stack[-1] if stack else getattr(_state, "base", None)


def chosen_default():
    """The default device if one was chosen, else None."""
    dev = _chosen() or _legacy_type_device[0]
    return None if dev is None else canonical(dev)      # 'cuda' is the current cuda device at each use


def reported_default():
    """get_default_device(): as PyTorch's, it does not report the legacy tensor type's device."""
    dev = _chosen()
    return CPU if dev is None else canonical(dev)


def legacy_type_default():
    """Where the legacy constructor Tensor(2, 3) creates: the default tensor type's device only."""
    dev = _legacy_type_device[0]
    return CPU if dev is None else canonical(dev)


def or_default(dev):
    """``dev`` made concrete, or the default device when it is None."""
    if dev is not None:
        return canonical(dev)
    return chosen_default() or CPU


def xp_of(dev):
    """The array module serving a (canonical) device."""
    if dev.type == "cpu":
        return np
    from . import _xp
    return _xp.require_cuda()
