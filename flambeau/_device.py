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
            # a bare index names the accelerator, as in PyTorch: there is none without CUDA
            from . import _xp
            if type_or_str >= 0 and not _xp.cuda_available():
                raise RuntimeError("Cannot access accelerator device when none is available.")
            type_or_str, index = "cuda", type_or_str
        if not isinstance(type_or_str, str):
            raise TypeError(f"device() received an invalid combination of arguments - got "
                            f"({type(type_or_str).__name__}), but expected one of:\n"
                            " * (torch.device device)\n * (str type, int index = -1)")
        kind, colon, idx = type_or_str.partition(":")
        if not kind.replace("_", "a").isalpha() or not kind.isascii() or (colon and not _is_index(idx)):
            raise RuntimeError(f"Invalid device string: '{type_or_str}'")
        if colon:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed explicitly: {type_or_str}")
            index = int(idx)
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        if kind not in ("cpu", "cuda"):
            if kind in _TORCH_ONLY_TYPES:
                raise NotImplementedError(f"flambeau has no '{kind}' device, only cpu and cuda: {type_or_str}")
            raise RuntimeError(f"Expected one of {', '.join(('cpu', 'cuda') + _TORCH_ONLY_TYPES)} device type "
                               f"at start of device string: {type_or_str}")
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
        # as PyTorch's: a device never equals a string (device('cpu') == 'cpu' is False)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

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


# the device types PyTorch parses besides cpu and cuda, in the order its error message lists them
_TORCH_ONLY_TYPES = ("ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia", "xla",
                     "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


def _is_index(text):
    """A device index as PyTorch spells it: ASCII digits, no leading zero."""
    return text.isascii() and text.isdigit() and (text == "0" or text[0] != "0")


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
