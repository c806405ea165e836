"""dtype and device conversion (``Tensor.to``), with autograd across both."""
import numpy as np

from .. import _dtype, _xp
from .._device import xp_of
from .._tensor import Tensor, _make
from ..autograd.function import Function
from ._util import recording


def _move(array, dev):
    """array's values on device dev (a copy across devices, the same array otherwise)."""
    if dev.type == "cpu":
        return _xp.to_host(array)
    xp = xp_of(dev)
    with xp.cuda.Device(dev.index or 0):
        return xp.asarray(array)


class ToCopy(Function):
    """out = x converted to another dtype and/or device"""
    _node_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, dtype, dev):
        ctx.src = (x.dtype, x.device)
        a = x._data
        if dev is not None and dev != x.device:
            a = _move(a, dev)
        if dtype is not None and a.dtype != dtype.np:
            a = _cast(a, dtype)
        elif a is x._data:
            a = a.copy()
        return a

    @staticmethod
    def backward(ctx, grad):                     # the gradient goes back to the source dtype/device
        dt, dev = ctx.src
        if not dt.is_complex and grad.is_complex():
            grad = grad.real
        return convert(grad, dt, dev, False), None, None


def _cast(a, dtype):
    if dtype is _dtype.bool:
        return a != 0
    if a.dtype.kind == "c" and dtype._category < 3:
        import warnings
        warnings.warn("Casting complex values to real discards the imaginary part", UserWarning, stacklevel=4)
        a = a.real
    if a.dtype.kind == "f" and dtype._category == 1:
        # float -> int truncates toward zero, as C casts do
        return a.astype(dtype.np)
    return a.astype(dtype.np)


def convert(t, dtype, dev, copy):
    """Tensor.to(): self when nothing changes (and copy is False)."""
    same_dtype = dtype is None or dtype is t.dtype
    same_dev = dev is None or dev == t.device
    if same_dtype and same_dev and not copy:
        return t
    if recording(t):
        return ToCopy.apply(t, dtype, dev)
    a = t._data
    if not same_dev:
        a = _move(a, dev)
    if not same_dtype:
        a = _cast(a, dtype)
    elif a is t._data:
        a = a.copy()
    return _make(a)
