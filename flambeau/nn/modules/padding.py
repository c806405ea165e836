"""Padding modules: constant (zero), reflection, replication, circular."""
from .. import functional as F
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"]


def _expand(padding, n):
    """int -> (p, p) per padded dim; a sequence is (left, right, top, bottom, ...) as given, of any
    length (PyTorch's layers take it as F.pad does)."""
    if isinstance(padding, int):
        return (padding,) * (2 * n)
    return tuple(padding)


class _ConstantPadNd(Module):
    _dims = None

    def __init__(self, padding, value):
        super().__init__()
        self.padding = _expand(padding, self._dims)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim with value: padding = p or (left, right)."""
    _dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two dims with value: padding = p or (left, right, top, bottom)."""
    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    _dims = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    _dims = 1


class ZeroPad2d(_ZeroPadNd):
    """Pads the last two dims with zeros: padding = p or (left, right, top, bottom)."""
    _dims = 2


class ZeroPad3d(_ZeroPadNd):
    _dims = 3


class _ModePadNd(Module):
    _dims = None
    _mode = None

    def __init__(self, padding):
        super().__init__()
        self.padding = _expand(padding, self._dims)

    def forward(self, input):
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_ModePadNd):
    _dims, _mode = 1, "reflect"


class ReflectionPad2d(_ModePadNd):
    """Pads the last two dims with their reflection (edge not repeated)."""
    _dims, _mode = 2, "reflect"


class ReflectionPad3d(_ModePadNd):
    _dims, _mode = 3, "reflect"


class ReplicationPad1d(_ModePadNd):
    _dims, _mode = 1, "replicate"


class ReplicationPad2d(_ModePadNd):
    """Pads the last two dims by repeating their edge values."""
    _dims, _mode = 2, "replicate"


class ReplicationPad3d(_ModePadNd):
    _dims, _mode = 3, "replicate"


class _CircularPadNd(_ModePadNd):
    _mode = "circular"

    def forward(self, input):
        if input.dim() not in (self._dims + 1, self._dims + 2):     # PyTorch checks these layers' input
            raise ValueError(f"expected {self._dims + 1}D or {self._dims + 2}D input (got {input.dim()}D input)")
        return super().forward(input)


class CircularPad1d(_CircularPadNd):
    _dims = 1


class CircularPad2d(_CircularPadNd):
    _dims = 2


class CircularPad3d(_CircularPadNd):
    _dims = 3
