"""dtype and device conversion (``Tensor.to``), with autograd across both."""
import numpy as np

from .. import _dtype, _xp
from .._device import xp_of
from .._tensor import Tensor, _make
from ..autograd.function import Function
from ._util import recording


def _move(array, dev):
    """array's values on device dev, C-contiguous (a copy across devices, the same array otherwise)."""
    if dev.type == "cpu":
        return _xp.to_host(array)
    xp = xp_of(dev)
    with xp.cuda.Device(dev.index or 0):
        return _xp.from_host(xp, array, order="C")


def _non_overlapping_and_dense(shape, strides):
    # PyTorch's test (dimensions of size 0 or 1 may have any stride)
    require = 1
    for st, n in sorted((st, n) for n, st in zip(shape, strides) if n >= 2):
        if st != require:
            return False
        require *= n
    return True


def _copy_strides(shape, strides):
    """Element strides of PyTorch's copy of a tensor (_to_copy, preserve_format): the source's own
    when it is non-overlapping and dense, else dense strides in the source's dimension order
    (infer_dense_strides: stride-0 dimensions stay where a contiguous tensor has them)."""
    if 0 in shape or _non_overlapping_and_dense(shape, strides):
        return strides                 # (an empty tensor keeps its strides too)
    from ._util import dims_inner_first
    ndim = len(shape)
    perm = dims_inner_first(shape, [strides])      # TensorIterator's order, innermost first
    out = [0] * ndim
    step = 1
    for d in perm:
        out[d] = step
        if shape[d] > 1:
            step *= shape[d]
    return tuple(out)


def _copy_array(a, dtype, dev):
    """a's values converted to dtype and/or moved to dev, always a new array, laid out as
    PyTorch lays out the copy (a transposed tensor stays transposed on the other device)."""
    item = a.itemsize
    strides = _copy_strides(a.shape, tuple(st // item for st in a.strides))
    order = sorted(range(a.ndim), key=lambda d: -strides[d])      # outermost dimension first
    src = a.transpose(order)           # C-contiguous when a is dense: moved without a copy
    out = _move(src, dev) if dev is not None else src
    if dtype is not None and out.dtype != dtype.np:
        out = _cast(out, dtype)
    elif out is src:
        out = out.copy()
    if not out.flags.c_contiguous:
        out = _xp.array_module(out).ascontiguousarray(out)
    if out.size and tuple(st // out.itemsize for st in out.strides) == strides and order == sorted(order):
        return out           # (an empty copy is a view, so that it keeps strides of zeros)
    return _xp.as_strided(out, a.shape, tuple(st * out.itemsize for st in strides))


class ToCopy(Function):
    """out = x converted to another dtype and/or device"""
    _node_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, dtype, dev):
        ctx.src = (x.dtype, x.device)
        return _copy_array(x._data, dtype, dev if dev is not None and dev != x.device else None)

    @staticmethod
    def backward(ctx, grad):                     # the gradient goes back to the source dtype/device
        dt, dev = ctx.src
        if not dt.is_complex and grad.is_complex():
            grad = grad.real
        return convert(grad, dt, dev, False), None, None


_imaginary_discarded = [False]


def discard_imaginary(a):
    """The real part of complex array a, warning as PyTorch does when a cast drops the imaginary part:
    once per process (its TORCH_WARN_ONCE), at the user's line."""
    if not _imaginary_discarded[0]:
        import warnings
        from ._util import caller_level     # .float(), .to(), copy_(): wrappers of varied depth
        _imaginary_discarded[0] = True
        warnings.warn("Casting complex values to real discards the imaginary part", UserWarning,
                      stacklevel=caller_level())
    return a.real


def _cast(a, dtype):
    if dtype is _dtype.bool:
        return a != 0
    if a.dtype.kind == "c" and dtype._category < 3:
        a = discard_imaginary(a)
    if a.dtype.kind == "f" and dtype._category == 1:
        return _xp.astype(a, dtype.np)      # as torch on x86, on both engines (CUDA's casts saturate)
    return a.astype(dtype.np)


def convert(t, dtype, dev, copy):
    """Tensor.to(): self when nothing changes (and copy is False)."""
    same_dtype = dtype is None or dtype is t.dtype
    same_dev = dev is None or dev == t.device
    if same_dtype and same_dev and not copy:
        return t
    if recording(t):
        return ToCopy.apply(t, dtype, dev)
    return _make(_copy_array(t._data, None if same_dtype else dtype, None if same_dev else dev))
