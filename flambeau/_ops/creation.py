"""Tensor creation, joining (cat/stack), copying and filling, random numbers."""
import math
import numbers
import struct

import numpy as np

from .. import _dtype, _xp
from .._layout import check_layout
from .._device import (canonical as _canonical, or_default as _or_default, chosen_default as _chosen_default,
                       xp_of, CPU)
from .._tensor import Tensor, _make, Size, _contiguous_strides, _suggested_memory_format, _wrap_dim
from ..autograd.function import Function
from . import _cpu_rng
from ._util import (register, recording, write_inplace, check_inplace_autograd, wrap_dims, _BY_NP, scalar_as,
                    check_same_device, row_major, _relaid, _type_word)
from .pointwise import factory_out, handles_out
from .views import _sizes

__all__ = ["fill_", "zero_", "tensor", "as_tensor", "asarray", "from_numpy", "from_dlpack", "to_dlpack", "frombuffer", "empty", "zeros", "ones",
           "full", "eye", "arange", "range", "linspace", "logspace", "empty_like", "zeros_like", "ones_like",
           "full_like", "rand_like", "randn_like", "randint_like", "empty_strided", "empty_permuted", "fill", "rand", "randn", "randint",
           "randperm", "normal", "bernoulli", "multinomial", "poisson", "cat", "concat", "concatenate", "stack",
           "hstack", "vstack", "dstack", "column_stack", "row_stack", "meshgrid", "tril", "triu", "diag",
           "diag_embed", "diagflat", "clone", "Generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "default_generator", "scalar_tensor", "complex", "polar", "tril_indices",
           "triu_indices", "cartesian_prod", "combinations", "block_diag", "atleast_1d", "memory_format",
           "contiguous_format", "preserve_format", "channels_last", "channels_last_3d"]


def _resolve(dtype, device, op=None):
    dev = _or_default(device)
    return _dtype.dtype_arg(dtype, op), dev, xp_of(dev)


def _finish(arr, requires_grad):
    t = _make(arr)
    if requires_grad:
        if not (t.dtype.is_floating_point or t.dtype.is_complex):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t.requires_grad_(True)
    return t


# -- from data --------------------------------------------------------------------------------
def _infer_dtype(np_arr, data):
    kind = np_arr.dtype.kind
    if kind == "f":
        return _dtype.get_default_dtype()
    if kind == "c":
        return _dtype.default_complex()
    if kind in "iu":
        return _dtype.int64 if kind == "i" or np_arr.dtype.itemsize == 8 else _dtype.int64
    if kind == "b":
        return _dtype.bool
    raise TypeError(f"Could not infer dtype of {type(data).__name__}")


def _check_ragged(data):
    """PyTorch's shape inference: the chain of first elements fixes the shape, every item must then
    have it. An empty shape is not checked further (PyTorch reads no item then: [[], 0] is (2, 0)).
    Returns the shape."""
    shape, x = [], data
    while isinstance(x, (list, tuple)):
        shape.append(len(x))
        if not x:
            break
        x = x[0]
    if 0 not in shape:
        _check_shape_of(data, shape, 0)
    return tuple(shape)


def _check_shape_of(item, shape, depth):
    if depth == len(shape):             # a number belongs here
        if isinstance(item, (list, tuple)):
            raise TypeError(f"must be real number, not {type(item).__name__}")
        return
    if not isinstance(item, (list, tuple)):
        raise TypeError("not a sequence")
    if len(item) != shape[depth]:
        raise ValueError(f"expected sequence of length {shape[depth]} at dim {depth} (got {len(item)})")
    for sub in item:
        _check_shape_of(sub, shape, depth + 1)


def _data_to_numpy(data, target=None):
    """Nested sequences of numbers/0-d tensors to a NumPy array, and the inferred dtype (target: the
    dtype asked for, if any)."""
    if isinstance(data, Tensor):
        return _xp.to_host(data._data), data.dtype
    if _xp.is_array(data) and not isinstance(data, np.ndarray):
        return _xp.to_host(data), _dtype.from_numpy_dtype(data.dtype)
    if isinstance(data, np.ndarray):
        dt = _dtype.from_numpy_dtype(data.dtype)
        _check_no_negative_strides(data)        # PyTorch refuses them even when it copies
        return data, dt
    if isinstance(data, np.generic):
        arr = np.asarray(data)
        return arr, _dtype.from_numpy_dtype(arr.dtype)
    if isinstance(data, (list, tuple)):
        shape = _check_ragged(data)
        if 0 in shape:
            return np.zeros(shape), _dtype.get_default_dtype()
        flat = _flatten_tensors(data)
        arr = np.array(flat)
        typed = _has_typed_items(data)
        if not typed and arr.dtype.kind in "fuO" and _holds_ints_beyond_int64(arr, flat):
            return _ints_beyond_int64(flat, target)
        if arr.dtype == object:
            raise TypeError("tensor(): could not convert the data to a tensor: found elements that are not numbers")
        if arr.dtype.kind == "U":
            raise TypeError(f"new(): invalid data type 'str'")
        return arr, (_infer_dtype(arr, data) if not typed else _seq_dtype(data, arr))
    if isinstance(data, bool):
        return np.array(data), _dtype.bool
    if isinstance(data, numbers.Integral):
        if not _INT64_MIN <= data <= _INT64_MAX:
            return _ints_beyond_int64(int(data), target)
        return np.array(int(data), dtype=np.int64), _dtype.int64
    if isinstance(data, numbers.Real):
        return np.array(float(data)), _dtype.get_default_dtype()
    if isinstance(data, numbers.Complex):
        return np.array(data), _dtype.default_complex()
    if hasattr(data, "__array__"):
        arr = np.asarray(data)
        return arr, _dtype.from_numpy_dtype(arr.dtype)
    if isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    try:
        return _data_to_numpy(list(data), target)
    except TypeError:
        raise TypeError(f"Could not infer dtype of {type(data).__name__}") from None


def _has_typed_items(seq):
    """Whether seq holds tensors or NumPy values: items that bring their own dtype to the inference."""
    for x in seq:
        if isinstance(x, (Tensor, np.generic, np.ndarray)):
            return True
        if isinstance(x, (list, tuple)) and _has_typed_items(x):
            return True
    return False


def _seq_dtype(seq, arr):
    """PyTorch's inference over a sequence: the promotion of its items' dtypes, where a tensor or a
    NumPy value counts with its own dtype (np.int32 scalars make an int32 tensor)."""
    dts = []

    def walk(x):
        for y in x:
            if isinstance(y, Tensor):
                dts.append(y.dtype)
            elif isinstance(y, (np.generic, np.ndarray)):
                dts.append(_dtype.from_numpy_dtype(y.dtype))
            elif isinstance(y, (list, tuple)):
                walk(y)
            else:
                dts.append(_dtype.scalar_dtype(y))
    walk(seq)
    out = dts[0]
    for d in dts[1:]:
        out = _dtype.promote_types(out, d)
    return out


_INT64_MIN, _INT64_MAX = -2 ** 63, 2 ** 63 - 1


def _leaves(x):
    if isinstance(x, (list, tuple)):
        for y in x:
            yield from _leaves(y)
    else:
        yield x


def _holds_ints_beyond_int64(arr, flat):
    """Whether flat holds Python ints past int64: NumPy then made arr uint64, object or float64."""
    if arr.dtype.kind == "f" and not (arr.size and np.abs(arr).max() >= 2.0 ** 63):
        return False
    return any(type(v) is int and not _INT64_MIN <= v <= _INT64_MAX for v in _leaves(flat))


def _ints_beyond_int64(flat, target):
    """PyTorch unpacks each Python int as a long long unless the tensor is floating (or complex),
    where the value is rounded: past int64 that unpacking fails."""
    if any(isinstance(v, numbers.Number) and not isinstance(v, numbers.Real) for v in _leaves(flat)):
        inferred = _dtype.default_complex()
    elif any(isinstance(v, float) for v in _leaves(flat)):
        inferred = _dtype.get_default_dtype()
    else:
        inferred = _dtype.int64
    if (target or inferred)._category < 2:
        raise ValueError("Overflow when unpacking long long")
    return np.array(flat, dtype=np.complex128 if inferred.is_complex else np.float64), inferred


def _flatten_tensors(data):
    if isinstance(data, Tensor):         # an element: a one-element tensor stands for its value
        if data.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return _xp.to_host(data._data).reshape(())
    if isinstance(data, (list, tuple)):
        return [_flatten_tensors(x) for x in data]
    return data


def _check_python_values_fit(arr, dt):
    """Python numbers given for an integer dtype must fit it, as PyTorch checks each (the rule of
    fill values: an integer may wrap within an unsigned type's range, a float may not)."""
    if not arr.size or arr.dtype.kind not in "fiu":
        return
    info = np.iinfo(dt.np)
    if arr.dtype.kind == "f":
        fits = bool(np.isfinite(arr).all()) and info.min <= arr.min() and arr.max() <= info.max
    else:
        fits = (-info.max if info.min == 0 else info.min) <= arr.min() and arr.max() <= info.max
    if not fits:
        raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow")


def _data_device(data):
    """Where tensor(data) and as_tensor(data) put their result when given no device: the default
    device if one was chosen, else the device of a tensor given as data, else the CPU."""
    return _chosen_default() or (data.device if isinstance(data, Tensor) else CPU)


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays, tensors)."""
    dtype = _dtype.dtype_arg(dtype, "tensor")
    arr, inferred = _data_to_numpy(data, dtype)
    dt = dtype or inferred
    if dtype is not None and dt._category == 1 and not isinstance(data, (np.ndarray, Tensor)):
        _check_python_values_fit(arr, dt)
    dev = _canonical(device) if device is not None else _data_device(data)
    arr = _xp.astype(arr, dt.np) if not arr.dtype == dt.np else arr.copy()
    if dev.type != "cpu":
        arr = _xp.from_host(xp_of(dev), arr)
    return _finish(arr, requires_grad)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    return tensor(s, dtype=dtype or _dtype.get_default_dtype(), device=device, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like tensor(), but shares memory with a Tensor or NumPy array when it can."""
    dtype = _dtype.dtype_arg(dtype, "as_tensor")
    dev = _canonical(device) if device is not None else _data_device(data)
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=dev) if (dtype or dev != data.device) else data
    if isinstance(data, np.ndarray) and (dtype is None or dtype.np == data.dtype) and dev.type == "cpu":
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    if copy:
        return tensor(obj, dtype=dtype, device=device, requires_grad=requires_grad)
    t = as_tensor(obj, dtype=dtype, device=device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _check_no_negative_strides(ndarray):
    if any(s < 0 for s in ndarray.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors with negative "
                         "strides are not currently supported. (You can probably work around this by making "
                         "a copy of your array  with array.copy().) ")


def from_numpy(ndarray):
    """A tensor sharing ndarray's memory (writes through both ways)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dtype.from_numpy_dtype(ndarray.dtype)
    _check_no_negative_strides(ndarray)
    if any(s % ndarray.itemsize for s in ndarray.strides):
        raise ValueError("given numpy array strides not a multiple of the element byte size. "
                         "Copy the numpy array to reallocate the memory.")
    if not ndarray.dtype.isnative:
        ndarray = ndarray.astype(ndarray.dtype.newbyteorder("="))
    if not ndarray.flags.writeable:
        import warnings
        warnings.warn("The given NumPy array is not writable, and PyTorch does not support non-writable "
                      "tensors. This means writing to this tensor will result in undefined behavior.",
                      UserWarning, stacklevel=2)
        ndarray = ndarray.view()
        try:
            ndarray.flags.writeable = True
        except ValueError:
            ndarray = ndarray.copy()
    return _make(ndarray)


def from_dlpack(ext):
    """A tensor sharing the memory of ext: an object of the DLPack protocol (__dlpack__, as NumPy's and
    CuPy's arrays and torch's tensors), or a DLPack capsule (what to_dlpack returns; usable once)."""
    if isinstance(ext, Tensor):
        return ext
    capsule = type(ext).__name__ == "PyCapsule"
    if capsule:
        ext = _Capsule(ext)
    if hasattr(ext, "__dlpack_device__") and ext.__dlpack_device__()[0] == 1:
        a = np.from_dlpack(ext)
        # NumPy marks what an unversioned capsule gives read-only (it cannot tell); torch's tensors over
        # such memory are writable, so this one is too: the same memory, declared writable
        return _make(_writable(a) if capsule and not a.flags.writeable else a)
    if hasattr(ext, "__dlpack__"):
        xp = _xp.require_cuda()
        return _make(xp.from_dlpack(ext))
    raise RuntimeError(f"from_dlpack(): expected a DLPack capsule or an object with __dlpack__, got "
                       f"{type(ext).__name__}")


class _WritableMemory:
    """The memory of a read-only array, offered to NumPy as writable (and keeping that array alive)."""

    def __init__(self, array):
        self._array = array
        self.__array_interface__ = dict(array.__array_interface__, data=(array.__array_interface__["data"][0],
                                                                        False))


def _writable(array):
    return np.asarray(_WritableMemory(array))


class _Capsule:
    """A DLPack capsule seen through the protocol that NumPy's and CuPy's from_dlpack take."""

    def __init__(self, capsule):
        import ctypes
        api = ctypes.pythonapi
        api.PyCapsule_IsValid.restype, api.PyCapsule_IsValid.argtypes = ctypes.c_int, [ctypes.py_object,
                                                                                      ctypes.c_char_p]
        if not api.PyCapsule_IsValid(capsule, b"dltensor"):
            raise RuntimeError("from_dlpack received an invalid capsule: a DLTensor capsule can be consumed only "
                               "once, and this one was used already (or is not a DLPack capsule)")
        api.PyCapsule_GetPointer.restype, api.PyCapsule_GetPointer.argtypes = ctypes.c_void_p, [ctypes.py_object,
                                                                                                ctypes.c_char_p]
        managed = api.PyCapsule_GetPointer(capsule, b"dltensor")
        # DLManagedTensor starts with its DLTensor: a data pointer, then the device (int32 type, int32 id)
        self._device = (ctypes.c_int32.from_address(managed + ctypes.sizeof(ctypes.c_void_p)).value,
                        ctypes.c_int32.from_address(managed + ctypes.sizeof(ctypes.c_void_p) + 4).value)
        self._capsule = capsule

    def __dlpack__(self, **kwargs):
        return self._capsule

    def __dlpack_device__(self):
        return self._device


def to_dlpack(tensor):
    """A DLPack capsule of tensor's memory, for another library's from_dlpack (consumable once)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack(): argument 'data' must be Tensor, not {type(tensor).__name__}")
    return tensor._data.__dlpack__()


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    arr = np.frombuffer(buffer, dtype=dtype.np, count=count, offset=offset)
    return _finish(arr, requires_grad) if arr.flags.writeable else from_numpy(arr)


# -- filled -----------------------------------------------------------------------------------
def _shape_args(size):
    return _sizes(size)


def _required_size(name, sizes, size):
    """The shape of a factory given by position or by the ``size`` keyword; torch's TypeError when
    neither or both are given (an empty shape is written ``()``, never left out)."""
    if size is not None:
        if sizes:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        return _shape_args((size,))
    if not sizes:
        raise TypeError(f'{name}() missing 1 required positional arguments: "size"')
    return _shape_args(sizes)


def _check_shape(shape):
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(shape)}")


@factory_out
def empty(*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
          memory_format=None):
    """An uninitialized tensor (flambeau fills it with zeros: reading it is still a bug)."""
    check_layout(layout, "empty")
    shape = _required_size("empty", sizes, size)
    _check_shape(shape)
    dt, dev, xp = _resolve(dtype or _dtype.get_default_dtype(), device, "empty")
    if memory_format is not None and memory_format._name.startswith("channels_last"):
        values = _empty_laid_out(xp, shape, dt.np, _format_strides(shape, _contiguous_strides(shape), memory_format))
        values[...] = 0
        return _finish(values, requires_grad)
    return _finish(xp.zeros(shape, dt.np), requires_grad)


@factory_out
def zeros(*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    check_layout(layout, "zeros")
    shape = _required_size("zeros", sizes, size)
    _check_shape(shape)
    dt, dev, xp = _resolve(dtype or _dtype.get_default_dtype(), device, "zeros")
    return _finish(xp.zeros(shape, dt.np), requires_grad)


@factory_out
def ones(*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    check_layout(layout, "ones")
    shape = _required_size("ones", sizes, size)
    _check_shape(shape)
    dt, dev, xp = _resolve(dtype or _dtype.get_default_dtype(), device, "ones")
    return _finish(xp.ones(shape, dt.np), requires_grad)


@factory_out
def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    check_layout(layout, "full")
    shape = _shape_args((size,) if isinstance(size, int) else size)
    _check_shape(shape)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dt = _dtype.dtype_arg(dtype, "full") or _dtype.scalar_dtype(fill_value)
    fill_value = _dtype.fill_value(fill_value, dt)
    dt, dev, xp = _resolve(dt, device)
    return _finish(_xp.full(xp, shape, fill_value, dt.np), requires_grad)


@factory_out
def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    check_layout(layout, "eye")
    if n < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    if m is not None and m < 0:
        raise RuntimeError(f"m must be greater or equal to 0, got {m}")
    dt, dev, xp = _resolve(dtype or _dtype.get_default_dtype(), device, "eye")
    return _finish(xp.eye(n, m if m is not None else n, dtype=dt.np), requires_grad)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    check_layout(layout, "empty_strided")
    size, stride = tuple(size), tuple(stride)
    dt, dev, xp = _resolve(dtype or _dtype.get_default_dtype(), device)
    span = 1 + sum((n - 1) * s for n, s in zip(size, stride)) if 0 not in size else 0
    base = xp.zeros(span, dt.np)
    t = _make(base)
    return t.as_strided(size, stride, 0).detach() if not requires_grad else \
        t.as_strided(size, stride, 0).detach().requires_grad_()


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None, requires_grad=False,
                   pin_memory=False):
    """A new tensor of logical shape `size` whose memory holds its dims in the order `physical_layout`
    (outermost first): the contiguous tensor of the permuted shape, permuted back."""
    check_layout(layout, "empty_permuted")
    size, order = tuple(int(n) for n in size), tuple(int(d) for d in physical_layout)
    if len(size) != len(order):
        raise RuntimeError(f"Number of dimensions in size does not match the length of the physical_layout; i.e. "
                           f"len(size) = {len(size)} is not equal to len(physical_layout) = {len(order)}")
    seen = set()
    for i, d in enumerate(order):
        if not 0 <= d < len(size):
            raise RuntimeError(f"Dimension out of range (expected to be between 0 and {len(size) - 1}, but got {d} "
                               f"at index {i}).  NB: negative dims not currently supported")
        if d in seen:
            raise RuntimeError("Duplicate dim not allowed")
        seen.add(d)
    stride, step = [0] * len(size), 1
    for d in reversed(order):                # innermost first; empty dims count as one, as contiguous strides do
        stride[d] = step
        step *= max(size[d], 1)
    return empty_strided(size, stride, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad,
                         pin_memory=pin_memory)


# -- memory formats: how a new tensor made from another lays out its elements ------------------
class memory_format:
    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"torch.{self._name}"


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def _format_strides(shape, strides, memory_format):
    """Element strides of a tensor of shape made from one with these strides in memory_format
    (None: preserve_format, torch's rule for copies: the source's strides when dense, else its order)."""
    if memory_format is contiguous_format:
        return _contiguous_strides(shape)
    if memory_format in (channels_last, channels_last_3d):
        rank = 4 if memory_format is channels_last else 5
        if len(shape) != rank:
            raise RuntimeError(f"required rank {rank} tensor to use {memory_format._name} format")
        out, step = [0] * rank, 1
        for d in (1, *_builtins.range(rank - 1, 1, -1), 0):         # channels innermost, then W, H(, D), then N
            out[d] = step
            step *= shape[d]
        return tuple(out)
    from .conversion import _copy_strides
    return _copy_strides(tuple(shape), tuple(strides))


def _empty_laid_out(xp, shape, dtype, strides):
    """An uninitialized array of shape with these element strides, over a buffer of its own."""
    if tuple(strides) == _contiguous_strides(shape):
        return xp.empty(shape, dtype)
    span = 1 + sum((n - 1) * s for n, s in zip(shape, strides)) if 0 not in shape else 0
    itemsize = np.dtype(dtype).itemsize
    return _xp.as_strided(xp.empty(span, dtype), shape, tuple(s * itemsize for s in strides))


def _like(input, dtype, device):
    return _dtype.dtype_arg(dtype) or input.dtype, device if device is not None else input.device


def _new_like(input, values, dtype, device, requires_grad, memory_format):
    """A tensor like input (input's dtype and device unless given) laid out in memory_format, holding
    values: a scalar or an array of input's shape."""
    dt, dev, xp = _resolve(*_like(input, dtype, device))
    strides = _format_strides(input.shape, input.stride(), memory_format)
    if not isinstance(values, numbers.Number) and strides == _contiguous_strides(values.shape):
        return _finish(values, requires_grad)              # already laid out so: no copy
    out = _empty_laid_out(xp, tuple(input.shape), dt.np, strides)
    out[...] = values
    return _finish(out, requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    check_layout(layout, "empty_like")
    return _new_like(input, 0, dtype, device, requires_grad, memory_format)      # zeros, as empty gives


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    check_layout(layout, "zeros_like")
    return _new_like(input, 0, dtype, device, requires_grad, memory_format)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    check_layout(layout, "ones_like")
    return _new_like(input, 1, dtype, device, requires_grad, memory_format)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    check_layout(layout, "full_like")
    values = full(input.shape, fill_value, dtype=dtype or input.dtype, device=device or input.device)
    return _new_like(input, values._data, dtype, device, requires_grad, memory_format)


def _random_like(input, dtype, device, requires_grad, memory_format, fill, draw):
    """torch's empty_like(input).fill_(...) on the CPU: a tensor laid out as input (memory_format) filled
    in its memory order by fill(out) (an in-place sampler); elsewhere draw(shape, dtype, device)."""
    dt, dev = _like(input, dtype, device)
    if dev.type == "cpu":
        out = _new_like(input, 0, dtype, device, False, memory_format)
        fill(out)
        out._version_counter[0] = 0
        return _finish(out._data, requires_grad)
    return _new_like(input, draw(tuple(input.shape), dt, dev)._data, dtype, device, requires_grad, memory_format)


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    check_layout(layout, "rand_like")
    return _random_like(input, dtype, device, requires_grad, memory_format, lambda t: uniform_(t, generator=generator),
                        lambda shape, dt, dev: rand(shape, generator=generator, dtype=dt, device=dev))


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    check_layout(layout, "randn_like")
    return _random_like(input, dtype, device, requires_grad, memory_format, lambda t: normal_(t, generator=generator),
                        lambda shape, dt, dev: randn(shape, generator=generator, dtype=dt, device=dev))


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None):
    check_layout(layout, "randint_like")
    if high is None:
        low, high = 0, low
    return _random_like(input, dtype, device, requires_grad, memory_format,
                        lambda t: random_(t, low, high, generator=generator),
                        lambda shape, dt, dev: randint(low, high, shape, generator=generator, dtype=dt, device=dev))


# -- ranges -----------------------------------------------------------------------------------
def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Values from start (included) to end (excluded) by step; ceil((end - start) / step) of them."""
    check_layout(layout, "arange")
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    dtype = _dtype.dtype_arg(dtype, "arange")
    if not all(math.isfinite(v) for v in (start, end) if not isinstance(v, _builtins.complex)):
        raise RuntimeError(f"unsupported range: {start:g} -> {end:g}")
    if out is not None:
        from .pointwise import _out
        return _out(arange(start, end, step, dtype=dtype or out.dtype, device=out.device), out)
    if dtype is None:
        dtype = _dtype.int64 if all(isinstance(v, (int, np.integer)) for v in vals) else _dtype.get_default_dtype()
    dt, dev, xp = _resolve(dtype, device)
    _kernel_for("arange_cpu", dt, (1, 2, 3))
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dt._category <= 1:
        # integer outputs start from the truncated start and step by the truncated step; int64 also
        # counts with them (a step truncated to 0 is an error there), the others count in float64
        istart, iend, istep = (int(v) for v in (start, end, step))
        if istep == 0 and dt is _dtype.int64:
            raise ValueError("step must be nonzero")
    if dt is _dtype.int64:
        sgn = 1 if istep > 0 else -1
        n = max(0, int((iend - istart + istep - sgn) / istep))
    else:
        n = max(0, math.ceil((float(end) - float(start)) / float(step)))
    if dt._category <= 1:
        arr = (istart + istep * np.arange(n, dtype=np.int64)).astype(dt.np)
    else:
        arr = _arange_values(float(start), float(step), n, dt)
    if dev.type != "cpu":
        arr = xp.asarray(arr)
    return _finish(arr, requires_grad)


def _arange_values(start, step, n, dt):
    """PyTorch's CPU arange, value for value: each 32-byte SIMD vector starts at start + step * i
    (rounded to the output dtype) and steps from there; the tail is start + step * i."""
    idx = np.arange(n)
    lanes = 32 // dt.np.itemsize
    vectorized = idx < (n // (2 * lanes)) * (2 * lanes)
    first = np.where(vectorized, idx - idx % lanes, idx)
    base = (start + step * first.astype(np.float64)).astype(dt.np).astype(np.float64)
    return (base + (idx - first) * step).astype(dt.np)


def range(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    import warnings
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).", UserWarning, stacklevel=2)
    if end is None:
        start, end = 0, start
    dt = dtype or _dtype.get_default_dtype()
    n = int((end - start) // step) + 1
    # as PyTorch's, range and normal(mean, std, size) ignore the default device: CPU unless told
    values = arange(0, n, dtype=_dtype.float64, device=device or CPU).mul_(step).add_(start)
    return values.to(dt).requires_grad_(requires_grad)


def _check_steps(op, steps):
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool):
        raise TypeError(f"{op}(): argument 'steps' must be int, not {type(steps).__name__}")


@factory_out
def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """steps values evenly spaced from start to end (both included), rounded as PyTorch rounds them."""
    check_layout(layout, "linspace")
    _check_steps("linspace", steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt, dev, xp = _resolve(dtype or _linspace_dtype(start, end), device)
    s = start.item() if isinstance(start, Tensor) else start
    e = end.item() if isinstance(end, Tensor) else end
    arr = _linspace_values(s, e, int(steps), dt)
    return _finish(xp.asarray(arr) if dev.type != "cpu" else arr, requires_grad)


def _linspace_dtype(start, end):
    if any((isinstance(v, numbers.Complex) and not isinstance(v, numbers.Real)) or
           (isinstance(v, Tensor) and v.is_complex()) for v in (start, end)):
        return _dtype.default_complex()
    return _dtype.get_default_dtype()


def _linspace_values(s, e, n, dt):
    """PyTorch's CPU linspace, value for value: the first half counts up from start, the second half
    down from end, each value one fused multiply-add (a single rounding) in the output's precision."""
    kind = dt.np.kind
    if kind == "c" or dt is _dtype.bool:
        return np.linspace(s, e, n).astype(dt.np) if n != 1 else np.full(1, s, dt.np)
    if n == 0:
        return np.zeros(0, dt.np)
    # integer outputs step in float64 and truncate; floating outputs compute in their own dtype. start
    # and end are first converted to the output dtype, checked as PyTorch's Scalar conversion checks them
    ct = np.float64 if kind in "iu" else dt.np.type
    s, e = _dtype.fill_value(s, dt), _dtype.fill_value(e, dt)
    start, end = (ct(dt.np.type(s)), ct(dt.np.type(e))) if kind in "iu" else (ct(s), ct(e))
    if n == 1:
        return np.full(1, start).astype(dt.np)
    step = ct((end - start) / ct(n - 1))
    # a wider type holds step * i exactly (or nearly, for float64), so one final rounding emulates fma
    wide = np.float64 if np.dtype(ct).itemsize < 8 else np.longdouble
    idx = np.arange(n)
    up = idx < n // 2
    k = np.where(up, idx, n - 1 - idx).astype(wide)
    vals = np.where(up, wide(start) + wide(step) * k, wide(end) - wide(step) * k).astype(ct)
    if kind in "iu":
        return np.trunc(vals).astype(dt.np)
    return vals.astype(dt.np)


@factory_out
def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    check_layout(layout, "logspace")
    _check_steps("logspace", steps)
    dt = _dtype.dtype_arg(dtype, "logspace") or _dtype.get_default_dtype()
    s = start.item() if isinstance(start, Tensor) else start
    e = end.item() if isinstance(end, Tensor) else end
    if steps == 1:              # PyTorch fills with base ** start, a fill that checks the value fits
        return full((1,), base ** s, dtype=dt, device=device, requires_grad=requires_grad)
    if dt._category == 1:       # integer outputs take start and end as integers (checked), as PyTorch's
        s, e = (int(dt.np.type(_dtype.fill_value(v, dt))) for v in (s, e))
    lin = linspace(s, e, steps, dtype=_dtype.float64, device=device)
    return _finish(_xp.astype(base ** lin._data, dt.np), requires_grad)


# -- joining ----------------------------------------------------------------------------------
class Cat(Function):
    """out = tensors joined along dim"""
    _node_name = "CatBackward0"

    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim = dim
        ctx.sizes = [t.shape[dim] if not _legacy_empty(t) else 0 for t in tensors]
        dt = tensors[0].dtype
        for t in tensors[1:]:
            dt = _dtype.promote_types(dt, t.dtype)
        arrays = [t._data.astype(dt.np, copy=False) for t in tensors if not _legacy_empty(t)]
        if not arrays:
            return _xp.array_module(tensors[0]._data).zeros((0,), dt.np)
        out = _xp.array_module(arrays[0]).concatenate(arrays, axis=dim)
        if out.flags.c_contiguous and all(a.flags.c_contiguous for a in arrays):
            return out
        # PyTorch's layout: the memory format all inputs suggest, else contiguous
        formats = {_suggested_memory_format(t) for t in tensors if not _legacy_empty(t)}
        fmt = formats.pop() if len(formats) == 1 else "contiguous_format"
        if fmt == "contiguous_format":
            return row_major(out)
        return _relaid(out, _format_strides(out.shape, None, channels_last if fmt == "channels_last"
                                            else channels_last_3d))

    @staticmethod
    def backward(ctx, grad):                         # each input gets its slice of grad
        out, start = [None], 0
        for n in ctx.sizes:
            out.append(grad.narrow(ctx.dim, start, n) if n or grad.ndim else None)
            start += n
        return tuple(out)


def _legacy_empty(t):
    return t.ndim == 1 and t.shape[0] == 0


def _tensor_sequence(op, tensors):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor")
    return list(tensors)


def _non_empty(op, tensors):
    tensors = _tensor_sequence(op, tensors)
    if not tensors:
        raise RuntimeError(f"{op} expects a non-empty TensorList")
    return tensors


def cat(tensors, dim=0, *, out=None):
    tensors = _tensor_sequence("cat", tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    ref = next((t for t in tensors if not _legacy_empty(t)), tensors[0])
    if ref.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    from .._tensor import _wrap_dim
    # only legacy empty (0,) tensors: PyTorch skips them all, dim unchecked, and returns an empty one
    d = _wrap_dim(dim, ref.ndim) if not _legacy_empty(ref) else 0
    for i, t in enumerate(tensors):
        if _legacy_empty(t):
            continue
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and {t.ndim}")
        for k in _pyrange(ref.ndim):
            if k != d and t.shape[k] != ref.shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                   f"{ref.shape[k]} but got size {t.shape[k]} for tensor number {i} in the list.")
        if t.device != ref.device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                               f"{ref.device} and {t.device}!")
    return _cat_out(Cat.apply(d, *tensors), out, tensors)


def _cat_out(r, out, tensors):
    """cat's (and stack's) out=: a TypeError, not the usual RuntimeError, when r's dtype can't be cast;
    no input may share out's memory, even all of it (Note [Writes over their own operands])."""
    if out is None:
        return r
    from .pointwise import _out
    from ._util import check_no_overlap
    if isinstance(out, Tensor):
        check_no_overlap(out, *tensors)
    if isinstance(out, Tensor) and not _dtype.can_cast(r.dtype, out.dtype):
        from ._util import _type_word
        raise TypeError(f"torch.cat(): input types can't be cast to the desired output type {_type_word(out.dtype)}")
    return _out(r, out)


import builtins as _builtins  # noqa: E402
_pyrange = _builtins.range
concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    tensors = _non_empty("stack", tensors)
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                               f"and {list(t.shape)} at entry {i}")
    from .._tensor import _wrap_dim
    d = _wrap_dim(dim, len(shape) + 1)
    check_same_device("stack", *tensors)
    return _cat_out(Stack.apply(d, *tensors), out, tensors)


class Stack(Function):
    """out = tensors of one shape joined along a new dim"""
    _node_name = "StackBackward0"

    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim = dim
        dt = tensors[0].dtype
        for t in tensors[1:]:
            dt = _dtype.promote_types(dt, t.dtype)
        arrays = [t._data.astype(dt.np, copy=False) for t in tensors]
        out = _xp.array_module(arrays[0]).stack(arrays, axis=dim)
        if out.flags.c_contiguous or any(_suggested_memory_format(t) != "contiguous_format" for t in tensors):
            return out       # (PyTorch's layouts for channels-last inputs are its own; NumPy's match at dim 0)
        return row_major(out)                       # as PyTorch's

    @staticmethod
    def backward(ctx, grad):                         # each input gets its slice of grad
        return (None,) + grad.unbind(ctx.dim)


def hstack(tensors, *, out=None):
    ts = [t.reshape(1) if t.ndim == 0 else t for t in _non_empty("hstack", tensors)]
    return cat(ts, 0 if ts[0].ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None):
    ts = [t.reshape(1, -1) if t.ndim < 2 else t for t in _non_empty("vstack", tensors)]
    return cat(ts, 0, out=out)


row_stack = vstack


def dstack(tensors, *, out=None):
    from .views import atleast_3d
    ts = [atleast_3d(t) for t in _non_empty("dstack", tensors)]
    return cat(ts, 2, out=out)


def column_stack(tensors, *, out=None):
    ts = [t.reshape(-1, 1) if t.ndim <= 1 else t for t in _non_empty("column_stack", tensors)]
    return cat(ts, 1, out=out)


def meshgrid(*tensors, indexing=None):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        import warnings
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    n = len(tensors)
    check_same_device("meshgrid", *tensors)
    for t in tensors:
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}D")
    shape = [t.numel() for t in tensors]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, t in enumerate(tensors):
        view = [1] * n
        pos = i
        if indexing == "xy" and n >= 2 and i < 2:
            pos = 1 - i
        view[pos] = -1
        out.append(t.reshape(view).expand(shape))
    return tuple(out)


def _check_1d(t):
    if t.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")


def cartesian_prod(*tensors):
    for t in tensors:
        _check_1d(t)
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    grids = meshgrid(*tensors, indexing="ij")
    if len(tensors) == 1:
        return tensors[0]
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    import itertools
    _check_1d(input)
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:                  # PyTorch: one empty combination comes out as an empty 1-D tensor
        return empty(0, dtype=input.dtype, device=input.device)
    n = input.shape[0]
    combos = list((itertools.combinations_with_replacement if with_replacement else itertools.combinations)(
        _pyrange(n), r))
    if not combos:
        return empty(0, r, dtype=input.dtype, device=input.device)
    idx = tensor(combos, dtype=_dtype.int64, device=input.device)
    return input[idx]


# -- triangles and diagonals ------------------------------------------------------------------
class Triangle(Function):
    """out = x with the elements above (tril) or below (triu) diagonal k zeroed"""
    _result_layout = "rows"           # as PyTorch's (Function.apply)

    @staticmethod
    def forward(ctx, x, k, upper):
        ctx.k, ctx.upper = k, upper
        xp = _xp.array_module(x._data)
        return (xp.triu if upper else xp.tril)(x._data, k)

    @staticmethod
    def backward(ctx, grad):
        return (triu if ctx.upper else tril)(grad, ctx.k), None, None


@register("tril")
def tril(input, diagonal=0, *, out=None):
    if input.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    from .pointwise import _out
    return _out(Triangle.named("TrilBackward0").apply(input, diagonal, False), out)


@register("triu")
def triu(input, diagonal=0, *, out=None):
    if input.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    from .pointwise import _out
    return _out(Triangle.named("TriuBackward0").apply(input, diagonal, True), out)


Tensor.tril_ = lambda self, diagonal=0: write_inplace(self, tril(self, diagonal)._data, "tril")
Tensor.triu_ = lambda self, diagonal=0: write_inplace(self, triu(self, diagonal)._data, "triu")


def tril_indices(row, col, offset=0, *, dtype=None, device=None):
    r, c = np.tril_indices(row, offset, col)
    return tensor(np.stack([r, c]), dtype=dtype or _dtype.int64, device=device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None):
    r, c = np.triu_indices(row, offset, col)
    return tensor(np.stack([r, c]), dtype=dtype or _dtype.int64, device=device)


@register("diag")
@handles_out
def diag(input, diagonal=0, *, out=None):
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return DiagonalCopy.apply(input, diagonal)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


class DiagonalCopy(Function):
    """out = a copy of diagonal k of a matrix (PyTorch's diag of a matrix is diagonal_copy)"""
    _node_name = "DiagonalBackward0_copy"

    @staticmethod
    def forward(ctx, x, offset):
        ctx.offset, ctx.in_shape = offset, x.shape
        from .views import _diagonal_view
        return _diagonal_view(x._data, offset, 0, 1).copy()

    @staticmethod
    def backward(ctx, grad):                     # grad written on the diagonal of zeros
        from .indexing import diagonal_scatter
        return diagonal_scatter(grad.new_zeros(ctx.in_shape), grad, ctx.offset), None


class DiagEmbed(Function):
    _node_name = "DiagEmbedBackward0"

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.args = (offset, dim1, dim2)
        a = x._data
        xp = _xp.array_module(a)
        n = a.shape[-1] + abs(offset)
        out_nd = a.ndim + 1
        d1, d2 = dim1 % out_nd, dim2 % out_nd
        out = xp.zeros(a.shape[:-1] + (n, n), a.dtype)
        idx = xp.arange(a.shape[-1])
        r, c = (idx, idx + offset) if offset >= 0 else (idx - offset, idx)
        out[..., r, c] = a
        # move the two new dims into place
        rest = [i for i in _pyrange(out_nd) if i not in (d1, d2)]
        order = [0] * out_nd
        src = list(_pyrange(out_nd - 2))
        for pos, s in zip(rest, src):
            order[pos] = s
        order[d1], order[d2] = out_nd - 2, out_nd - 1
        return xp.ascontiguousarray(out.transpose(order))

    @staticmethod
    def backward(ctx, grad):
        offset, d1, d2 = ctx.args
        return grad.diagonal(offset, d1, d2), None, None, None


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    d1, d2 = _wrap_dim(dim1, input.ndim + 1), _wrap_dim(dim2, input.ndim + 1)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return DiagEmbed.apply(input, offset, dim1, dim2)


Tensor.diag_embed = diag_embed


def diagflat(input, offset=0):
    return diag(input.reshape(-1), offset)


Tensor.diagflat = diagflat


class BlockDiag(Function):
    """out = the matrices on the diagonal of a zero matrix (0-d and 1-d inputs as one row)"""
    _node_name = "BlockDiagBackward0"

    @staticmethod
    def forward(ctx, dt, *tensors):
        ctx.shapes = [t.shape for t in tensors]
        mats = [_as_block(t._data) for t in tensors]
        rows = _builtins.sum(m.shape[0] for m in mats)
        cols = _builtins.sum(m.shape[1] for m in mats)
        out = _xp.array_module(mats[0]).zeros((rows, cols), dt.np)
        r = c = 0
        for m in mats:
            out[r:r + m.shape[0], c:c + m.shape[1]] = m
            r += m.shape[0]
            c += m.shape[1]
        return out

    @staticmethod
    def backward(ctx, grad):                     # each input gets its block of grad
        grads, r, c = [None], 0, 0
        for shape in ctx.shapes:
            n, m = (shape[0], shape[1]) if len(shape) == 2 else (1, shape[0] if shape else 1)
            grads.append(grad[r:r + n, c:c + m].reshape(shape))
            r += n
            c += m
        return tuple(grads)


def _as_block(a):
    return a.reshape(1, -1) if a.ndim < 2 else a


def block_diag(*tensors):
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
    if not tensors:
        return empty(1, 0)
    check_same_device("block_diag", *tensors)
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = _dtype.promote_types(dt, t.dtype)
    return BlockDiag.apply(dt, *tensors)


def _complex_parts(name, a, b):
    """Checks of torch.complex/polar: two floating tensors of one dtype, on one device."""
    from ._util import check_same_device, broadcast_shapes
    for what, t in (("first", a), ("second", b)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument '{'real' if what == 'first' else 'imag'}' must be Tensor, not "
                            f"{type(t).__name__}")
    if not (a.is_floating_point() and b.is_floating_point()):
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{a.dtype._legacy.replace('Tensor', '')} and {b.dtype._legacy.replace('Tensor', '')}")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"Expected object of scalar type {a.dtype._legacy.replace('Tensor', '')} but got scalar "
                           f"type {b.dtype._legacy.replace('Tensor', '')} for second argument")
    if a.dtype not in (_dtype.float32, _dtype.float64):
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{a.dtype._legacy.replace('Tensor', '')}' "
                                  f"(flambeau has no complex32)")
    check_same_device(name, a, b)
    broadcast_shapes(tuple(a.shape), tuple(b.shape))


class Complex(Function):
    """out = real + i imag (broadcast)."""
    _node_name = "ComplexBackward0"

    @staticmethod
    def forward(ctx, real, imag):
        # the parts set directly: real + 1j * imag would turn an infinite imag into nan + inf j
        re, im = real._data, imag._data
        xp = _xp.array_module(re)
        out = xp.empty(np.broadcast_shapes(re.shape, im.shape), np.result_type(re.dtype, im.dtype, np.complex64))
        out.real[...] = re             # (views of out, on either engine)
        out.imag[...] = im
        return out

    @staticmethod
    def backward(ctx, grad):                     # d/dreal = Re(grad), d/dimag = Im(grad)
        if not grad.is_complex():
            return grad, None
        return grad.real, grad.imag


def complex(real, imag, *, out=None):
    _complex_parts("complex", real, imag)
    from .pointwise import _out
    result = Complex.apply(real, imag)
    if out is not None and out.dtype is not result.dtype:
        raise RuntimeError(f"Expected object of scalar type {_type_word(result.dtype)} but got scalar type "
                           f"{_type_word(out.dtype)} for argument 'out'")
    return _out(result, out)


class Polar(Function):
    """out = abs * (cos(angle) + i sin(angle)) (broadcast)."""
    _node_name = "PolarBackward0"

    @staticmethod
    def forward(ctx, abs, angle):
        ctx.save_for_backward(abs, angle)
        xp = _xp.array_module(abs._data)
        a = angle._data
        return abs._data * (xp.cos(a) + 1j * xp.sin(a))

    @staticmethod
    def backward(ctx, grad):                     # torch's: Re(conj(grad) sgn(out)), Re(conj(grad) i out)
        abs, angle = ctx.saved_tensors
        out = polar(abs, angle)
        g = grad.conj()
        grad_abs = (g * out.sgn()).real if ctx.needs_input_grad[0] else None
        grad_angle = (g * (out * 1j)).real if ctx.needs_input_grad[1] else None
        return grad_abs, grad_angle


def polar(abs, angle, *, out=None):
    _complex_parts("polar", abs, angle)
    from .pointwise import _out
    return _out(Polar.apply(abs, angle), out)


def atleast_1d(*tensors):
    from .views import atleast_1d as f
    return f(*tensors)


# -- clone, copy, fill ------------------------------------------------------------------------
def _clone_array(a, memory_format=None):
    """A copy of a laid out in memory_format (_format_strides: by default a transposed tensor clones
    transposed, and a strided slice in its dimension order)."""
    strides = _format_strides(a.shape, tuple(st // a.itemsize for st in a.strides), memory_format)
    out = _empty_laid_out(_xp.array_module(a), a.shape, a.dtype, strides)
    out[...] = a
    return out


class Clone(Function):
    _node_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, x, memory_format):
        return _clone_array(x._data, memory_format)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


@register("clone")
def clone(input, *, memory_format=None):
    if recording(input):
        return Clone.apply(input, memory_format)
    return _make(_clone_array(input._data, memory_format))


class CopyFrom(Function):
    """self.copy_(src): the new value is src, cast and broadcast to self's shape."""
    _node_name = "CopyBackwards"

    @staticmethod
    def forward(ctx, old, src):
        ctx.src_meta = (src.dtype, src.device)
        xp = _xp.array_module(old._data)
        s = src._data
        if type(s) is not type(old._data):
            s = _xp.from_host(xp, _xp.to_host(s))
        return xp.broadcast_to(_xp.astype(s, old._data.dtype, copy=False), old._data.shape).copy()

    @staticmethod
    def backward(ctx, grad):
        dt, dev = ctx.src_meta
        return grad * 0, grad.to(dtype=dt, device=dev)


@register("copy_")
def copy_(self, src, non_blocking=False):
    if not isinstance(src, Tensor):
        src = tensor(src)
    try:
        np.broadcast_shapes(src.shape, self.shape)
        if len(np.broadcast_shapes(src.shape, self.shape)) > self.ndim or \
                np.broadcast_shapes(src.shape, self.shape) != tuple(self.shape):
            raise ValueError
    except ValueError:
        raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                           f"{list(np.broadcast_shapes(src.shape, self.shape)) if _bcast_ok(src, self) else list(src.shape)}"
                           if _bcast_ok(src, self) else
                           f"The size of tensor a ({self.shape[-1] if self.ndim else 1}) must match the size of "
                           f"tensor b ({src.shape[-1] if src.ndim else 1}) at non-singleton dimension "
                           f"{max(self.ndim - 1, 0)}") from None
    from ._util import check_writable, check_no_partial_overlap
    check_writable(self)
    check_no_partial_overlap(self, src)
    if recording(self, src):        # (a view of a detached tensor records nothing: its base's history is not its own)
        return apply_inplace_copy(self, src)
    check_inplace_autograd(self)
    s = src._data
    if type(s) is not type(self._data):
        s = _xp.from_host(_xp.array_module(self._data), _xp.to_host(s)) if type(self._data) is not np.ndarray \
            else _xp.to_host(s)
    if s.dtype.kind == "c" and self._data.dtype.kind != "c":
        from .conversion import discard_imaginary
        s = discard_imaginary(s)
    self._data[...] = _xp.astype(s, self._data.dtype, copy=False)
    self._version_counter[0] += 1
    return self


def _bcast_ok(a, b):
    try:
        np.broadcast_shapes(a.shape, b.shape)
        return True
    except ValueError:
        return False


def apply_inplace_copy(self, src):
    from ._util import check_inplace_autograd, snapshot
    from .views import rebase_history
    check_inplace_autograd(self)
    old = snapshot(self)
    result = CopyFrom.apply(old, src)
    self._data[...] = result._data
    self._version_counter[0] += 1
    rebase_history(self, result)
    return self


class Fill(Function):
    _node_name = "FillBackward0"

    @staticmethod
    def forward(ctx, old, value):
        a = old._data
        return _xp.full(_xp.array_module(a), a.shape, _fill_scalar(value, a), a.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0, (grad.sum() if ctx.needs_input_grad[1] else None)


@register("fill_")
def fill_(self, value):
    # PyTorch names the overloads' nodes apart: fill_.Scalar, fill_.Tensor
    return _fill_inplace(self, value, "FillBackward3" if isinstance(value, Tensor) else "FillBackward2")


def _fill_inplace(self, value, node_name):
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions.")
    if not isinstance(value, Tensor):
        value = _dtype.fill_value(value, self.dtype)
    if recording(self, value) or (self._base is not None and recording(self._base)):
        from ._util import apply_inplace
        return apply_inplace(self, Fill.named(node_name), value)
    check_inplace_autograd(self)
    _xp.fill(self._data, _fill_scalar(value, self._data))
    self._version_counter[0] += 1
    return self


def _fill_scalar(value, a):
    """What fills array a for fill_(value): a number (checked by fill_), or a 0-d tensor's value cast as
    a copy casts (-1 into uint8 is 255, unchecked), left on the device when it is a's."""
    if not isinstance(value, Tensor):
        return bool(value) if a.dtype.kind == "b" else value
    v = _xp.astype(value._data, a.dtype, copy=False)
    if type(v) is not type(a):
        v = _xp.to_host(v)[()]        # a CPU scalar tensor's number (a device's is read, as torch reads it)
    return v


@register("zero_")
def zero_(self):
    return _fill_inplace(self, 0, "ZeroBackward0")


def fill(input, value):
    """A new tensor of input's shape and dtype, every element `value` (a number or a 0-d tensor)."""
    return _fill_inplace(clone(input), value, "FillBackward1" if isinstance(value, Tensor) else "FillBackward0")


# -- random -----------------------------------------------------------------------------------
# Note [torch's CPU generator] (in _cpu_rng): CPU generators draw torch's numbers; cuda generators draw
# CuPy's (Note [default cuda generators]).
class Generator:
    """A random number generator (``generator=`` of the random ops); seeded by manual_seed."""

    def __init__(self, device="cpu"):
        self.device = _canonical(device)
        self.manual_seed(_cpu_rng.DEFAULT_SEED)          # torch's default seed, 67280421310721

    def manual_seed(self, seed):
        seed = _seed64(seed)
        self._seed = seed
        if self.device.type == "cpu":
            if isinstance(getattr(self, "_rng", None), _cpu_rng.Engine):
                self._rng.manual_seed(seed)
            else:
                self._rng = _cpu_rng.Engine(seed)
        else:                  # CuPy's generator, which draws on the device; its seeds have 32 bits
            cupy = xp_of(self.device)
            with cupy.cuda.Device(self.device.index):         # cuRAND's state lives on one device
                self._rng = _DeviceDraws(cupy.random.RandomState(_seed32(seed)), seed)
        return self

    def seed(self):
        import secrets
        s = secrets.randbits(64 if self.device.type == "cpu" else 63)
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        if self.device.type != "cpu":
            # 16 bytes, as torch's cuda state: the seed, then where the stream stands (its key)
            key = self._rng.capture()
            return tensor(list(struct.pack("<QQ", self._seed, key)), dtype=_dtype.uint8)
        return _make(np.frombuffer(self._rng.get_state(), dtype=np.uint8).copy())     # torch's 5056 bytes

    def set_state(self, state):
        if not isinstance(state, Tensor) or state.dtype is not _dtype.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        blob = np.ascontiguousarray(_xp.to_host(state._data)).tobytes()
        if self.device.type != "cpu":
            if len(blob) not in (8, 16):
                raise RuntimeError("RNG state is wrong size")
            seed, key = struct.unpack("<QQ", blob) if len(blob) == 16 else struct.unpack("<Q", blob) * 2
            self._seed = seed
            self._rng.restart(key)
            return self
        self._rng.set_state(blob)
        self._seed = self._rng.initial_seed()
        return self


def _seed64(seed):
    """A seed as torch takes it: an integer in [-2^63, 2^64), negative ones as their 64-bit two's complement."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        if isinstance(seed, Tensor) and seed.numel() == 1 and not seed.dtype.is_floating_point:
            seed = seed.item()
        else:
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
    seed = int(seed)
    if not -(1 << 63) <= seed < 1 << 64:
        raise ValueError("Overflow when unpacking long long")
    return seed & 0xFFFF_FFFF_FFFF_FFFF


default_generator = Generator()


# Note [default cuda generators]
# Each cuda device has a default Generator, made when first used (as torch makes its cuda generators
# lazily): the random ops draw from it when given no generator, and torch.cuda.get_rng_state captures
# it. flambeau.manual_seed seeds those made and remembers the seed for those made later.
_cuda_generators = {}
_cuda_seed = [None]          # the last flambeau.manual_seed, for the cuda generators not made yet


def default_cuda_generator(index):
    """The default generator of the cuda device index."""
    g = _cuda_generators.get(index)
    if g is None:
        g = _cuda_generators[index] = Generator(f"cuda:{index}")
        if _cuda_seed[0] is not None:
            g.manual_seed(_cuda_seed[0])
    return g


def manual_seed(seed):
    """Seed the default generator and every cuda device's. Same seed, same numbers."""
    seed = int(seed)                    # torch.manual_seed takes floats and numbers with __int__ too
    default_generator.manual_seed(seed)
    _cuda_seed[0] = seed
    for g in _cuda_generators.values():
        g.manual_seed(seed)
    return default_generator


def _next_key(key):
    """A well-spread 64-bit key derived from the last one (SplitMix64's step)."""
    key = (key + 0x9E37_79B9_7F4A_7C15) & 0xFFFF_FFFF_FFFF_FFFF
    z = ((key ^ (key >> 30)) * 0xBF58_476D_1CE4_E5B9) & 0xFFFF_FFFF_FFFF_FFFF
    z = ((z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB) & 0xFFFF_FFFF_FFFF_FFFF
    return z ^ (z >> 31)


def _seed32(seed):
    """A 64-bit seed folded to the 32 bits CuPy's generators take (both halves count)."""
    seed = int(seed) & 0xFFFF_FFFF_FFFF_FFFF
    return (seed ^ (seed >> 32)) & 0xFFFF_FFFF


class _DeviceDraws:
    """CuPy's RandomState behind the names of NumPy's Generator that the samplers call: the numbers are
    drawn on the device (a stream of their own: torch's cuda numbers differ from its CPU numbers too).

    Note [cuda generator state]: CuPy cannot say where its generator stands (cuRAND has no getter for
    its offset), so the state is a key the stream was seeded from: capturing it after draws re-seeds
    the stream with a fresh key derived from the last one, and restoring a state re-seeds from its key.
    The draws after a restore repeat those after the capture exactly; a capture changes the draws that
    follow it (capturing with no draws since the last seeding changes nothing).
    """

    def __init__(self, state, key):
        self._state, self._key, self._drawn = state, key, False

    def capture(self):
        if self._drawn:
            self.restart(_next_key(self._key))
        return self._key

    def restart(self, key):
        self._state.seed(_seed32(key))
        self._key, self._drawn = key, False

    def _draw(self, method, *args):
        # asarray: a no-op on CuPy's arrays, and an upload where the state draws on the host
        xp = _xp.require_cuda()
        self._drawn = True
        return xp.asarray(getattr(self._state, method)(*args))

    def random(self, shape, dtype=np.float64):
        return self._draw("random_sample", shape).astype(dtype, copy=False)

    def standard_normal(self, shape, dtype=np.float64):
        return self._draw("standard_normal", shape).astype(dtype, copy=False)

    def integers(self, low, high, shape):
        # from uniform doubles, not CuPy's randint: its rejection sampling reads the device to size its output
        if high - low <= 1 << 32:
            return self._below(high - low, shape) + low
        # two 32-bit halves make a 64-bit draw
        upper = self._below(1 << 32, shape).astype(np.uint64)
        lower = self._below(1 << 32, shape).astype(np.uint64)
        return ((upper << np.uint64(32) | lower) % np.uint64(high - low)).astype(np.int64) + low

    def _below(self, n, shape):
        """int64 integers uniform in [0, n), n <= 2^32: the top bits of uniform doubles in [0, 1), which
        carry at least 32 random bits (cuRAND's doubles)."""
        xp = _xp.require_cuda()
        return xp.minimum(xp.floor(self.random(shape) * n), n - 1).astype(np.int64)

    def permutation(self, n):
        return self._draw("permutation", n)

    def exponential(self, scale, shape):
        return self._draw("exponential", scale, shape)

    def geometric(self, p, shape):
        return self._draw("geometric", p, shape)

    def standard_cauchy(self, shape):
        return self._draw("standard_cauchy", shape)

    def lognormal(self, mean, sigma, shape):
        return self._draw("lognormal", mean, sigma, shape)

    def poisson(self, lam):
        return self._draw("poisson", lam)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def _source(generator, dev):
    """What draws the numbers of a tensor on dev: the generator given (on dev's type of device, as torch
    checks), else dev's default generator (Note [default cuda generators]). On the CPU that is a
    _cpu_rng.Engine, which the samplers hand to _cpu_rng's kernels; on cuda a _DeviceDraws."""
    if generator is not None:
        if generator.device.type != dev.type:
            raise RuntimeError(f"Expected a '{dev.type}' device type for generator but found "
                               f"'{generator.device.type}'")
        return generator._rng
    if dev.type == "cpu":
        return default_generator._rng
    return default_cuda_generator(_canonical(dev).index)._rng


def _on_cpu(g):
    return type(g) is _cpu_rng.Engine


def _random_array(sample, shape, dt, dev):
    """sample(shape), drawn on dev by _source's generator, in dtype dt."""
    return sample(shape).astype(dt.np, copy=False)


def _word(dt):
    from ._util import _type_word
    return _type_word(dt)


def _kernel_for(kernel, dt, categories):
    """NotImplementedError, as PyTorch raises, for a dtype category (0 bool .. 3 complex) not in categories."""
    if dt._category not in categories:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_word(dt)}'")


# -- the CPU samplers: torch's kernels (_cpu_rng) on flat arrays in the order torch fills its output --
def _cast(values, dt):
    """values (double, float or int64) as dt the way torch's kernels cast them: to half through float."""
    if dt is _dtype.float16 and values.dtype not in (np.float16, np.float32):
        values = values.astype(np.float32)
    return values.astype(dt.np, copy=False)


def _cpu_uniform(g, n, dt, lo=0.0, hi=1.0):
    """n samples of U[lo, hi) in dt; a complex dt draws (real, imaginary) pairs, as torch's
    uniform_ of view_as_real."""
    if dt.is_complex:
        return _cpu_rng.uniform(g, 2 * n, dt.to_real().np, lo, hi).view(dt.np)
    return _cpu_rng.uniform(g, n, dt.np, lo, hi)


def _cpu_normal(g, n, dt, mean=0.0, std=1.0, contiguous=True):
    """n samples of N(mean, std^2) in dt, for an output that is contiguous or not (which picks torch's
    kernel); a complex dt draws (real, imaginary) pairs of variance std^2 / 2, as torch."""
    if dt.is_complex:
        return _cpu_rng.normal(g, 2 * n, dt.to_real().np, mean, std / math.sqrt(2), contiguous).view(dt.np)
    return _cast(_cpu_rng.normal(g, n, dt.np, mean, std, contiguous), dt)


class Drawn(Function):
    """A sampler's output in the graph: the samples are drawn, not computed from the parameters (or from
    the old values an in-place sampler overwrites), so torch gives those a zero gradient."""

    @staticmethod
    def forward(ctx, values, *params):          # values: the array already drawn
        return values

    @staticmethod
    def backward(ctx, grad):                    # d(sample)/d(parameter) = 0
        return (None,) + tuple(grad * 0 if needs else None for needs in ctx.needs_input_grad[1:])


def _drawn(values, node_name, *params):
    """The tensor of the drawn array values, recorded as node_name when a tensor parameter requires grad."""
    if recording(*params):
        return Drawn.named(node_name).apply(values, *params)
    return _make(values)


def _record_drawn(self, node_name):
    """After an in-place sampler filled self: self's history (and its base's) becomes node_name, which
    gives self's old value a zero gradient, as torch records normal_ (NormalBackward0) and the others."""
    if recording(self) or (self._base is not None and recording(self._base)):
        from ._util import snapshot
        from .views import rebase_history
        old = snapshot(self)                    # self's place in the graph before the fill
        rebase_history(self, Drawn.named(node_name).apply(old._data, old))
    return self


def _fill_cpu(self, draw, node_name):
    """Fill self in place with draw(n): its n values in the order torch's TensorIterator visits self,
    its memory order (through every view of self)."""
    from ._util import check_writable
    check_writable(self)
    check_inplace_autograd(self)
    view = _cpu_rng.iteration_view(self._data)
    if view.size:
        view[...] = _cast(np.asarray(draw(view.size)), self.dtype).reshape(view.shape)
    self._version_counter[0] += 1
    return _record_drawn(self, node_name)


def _uniform(g, shape, dt, lo=0.0, hi=1.0):
    """U[lo, hi) samples in dt drawn on a device; complex draws the real and imaginary parts independently."""
    if dt.is_complex:
        real = dt.to_real()
        return _uniform(g, shape, real, lo, hi) + 1j * _uniform(g, shape, real, lo, hi)
    u = g.random(shape, dtype=np.float32 if dt is _dtype.float32 else np.float64)
    out = (u * (hi - lo) + lo) if (lo, hi) != (0.0, 1.0) else u
    out = out.astype(dt.np, copy=False)     # (a fresh array either way)
    if hi > lo and out.size:
        # rounding to a narrower dtype may reach hi, never pass it: the values at hi become the
        # largest below it (a minimum is one array operation, a comparison and a where two)
        below = np.nextafter(dt.np.type(hi), dt.np.type(lo))
        out = _xp.array_module(out).minimum(out, below).astype(dt.np, copy=False)
    return out


def _normal(g, shape, dt, mean=0.0, std=1.0):
    """N(mean, std^2) samples in dt drawn on a device; complex has variance std^2 split over both parts."""
    if dt.is_complex:
        real = dt.to_real()
        scale = std / np.sqrt(2.0)
        return (mean + _normal(g, shape, real, 0.0, scale) + 1j * _normal(g, shape, real, 0.0, scale)).astype(dt.np)
    z = g.standard_normal(shape, dtype=np.float32 if dt is _dtype.float32 else np.float64)
    if (mean, std) != (0.0, 1.0):
        z = z * std + mean
    return z.astype(dt.np, copy=False)


def _numel(shape):
    return math.prod(shape)


def _sizes_or_keyword(sizes, size, name):
    """The shape given by position (rand(2, 3), rand((2, 3))) or by torch's keyword (rand(size=(2, 3)))."""
    if size is None:
        if not sizes:
            raise TypeError(f"{name}() received an invalid combination of arguments - got (), but expected one of:"
                            "\n * (tuple of ints size)\n * (int... size)")
        return _shape_args(sizes)
    if sizes:
        got = ", ".join(type(s).__name__ for s in sizes)
        raise TypeError(f"{name}() received an invalid combination of arguments - got ({got}, size="
                        f"{type(size).__name__}), but expected one of:\n * (tuple of ints size)\n * (int... size)")
    return _shape_args((size,))


@factory_out
def rand(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Samples of U[0, 1)."""
    check_layout(layout, "rand")
    shape = _sizes_or_keyword(sizes, size, "rand")
    _check_shape(shape)
    dt, dev, _ = _resolve(dtype or _dtype.get_default_dtype(), device, "rand")
    _kernel_for("check_uniform_bounds", dt, (2, 3))
    g = _source(generator, dev)
    if _on_cpu(g):
        return _finish(_cpu_uniform(g, _numel(shape), dt).reshape(shape), requires_grad)
    return _finish(_random_array(lambda s: _uniform(g, s, dt), shape, dt, dev), requires_grad)


@factory_out
def randn(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Samples of N(0, 1)."""
    check_layout(layout, "randn")
    shape = _sizes_or_keyword(sizes, size, "randn")
    _check_shape(shape)
    dt, dev, _ = _resolve(dtype or _dtype.get_default_dtype(), device, "randn")
    _kernel_for("normal_kernel_cpu", dt, (2, 3))
    g = _source(generator, dev)
    if _on_cpu(g):
        return _finish(_cpu_normal(g, _numel(shape), dt).reshape(shape), requires_grad)
    return _finish(_random_array(lambda s: _normal(g, s, dt), shape, dt, dev), requires_grad)


def _type(dt):
    return _word(dt)


@factory_out
def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False):
    """Integers uniform in [low, high): randint(high, size) or randint(low, high, size)."""
    check_layout(layout, "randint")
    given = [v for v in (low, high, size) if v is not None]
    if size is None and high is None or any(isinstance(v, float) for v in (low, high)):
        got = ", ".join(type(v).__name__ for v in given)
        raise TypeError(f"randint() received an invalid combination of arguments - got ({got}), but expected one "
                        "of:\n * (int high, tuple of ints size)\n * (int low, int high, tuple of ints size)")
    if size is None:
        if not isinstance(high, (tuple, list, Size)):
            raise TypeError(f"randint(): argument 'size' (position 2) must be tuple of ints, not {type(high).__name__}")
        low, high, size = 0, low, high
    elif not isinstance(size, (tuple, list, Size)):
        raise TypeError(f"randint(): argument 'size' must be tuple of ints, not {type(size).__name__}")
    elif high is None:
        low, high = 0, low
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dt, dev, _ = _resolve(dtype or _dtype.int64, device)
    g = _source(generator, dev)
    shape = _shape_args(tuple(size))
    _check_shape(shape)
    if _on_cpu(g):
        span, base = _random_span(dt, low, high)
        values = _cpu_rng.random_from_to(g, _numel(shape), dt.np, span, base)
        return _finish(_cast(values, dt).reshape(shape), requires_grad)
    _check_random_bounds(dt, low, high)
    return _finish(_random_array(lambda s: g.integers(low, high, s), shape, dt, dev), requires_grad)


def _check_random_bounds(dt, low, high):
    if dt.is_complex:
        raise RuntimeError("check_random_bounds handles only integral, floating-point and boolean types")
    if dt is _dtype.bool:
        lo_ok, hi_ok = 0 <= low <= 1, 1 <= high <= 2
    elif dt._category == 1:
        info = np.iinfo(dt.np)
        lo_ok, hi_ok = info.min <= low <= info.max, info.min <= high - 1 <= info.max
    else:
        return
    c_type = _C_BOUNDS_TYPE.get(dt.np.type, dt.name)      # torch names the C type its kernel fills
    if not lo_ok:
        raise RuntimeError(f"from is out of bounds for {c_type}")
    if not hi_ok:
        raise RuntimeError(f"to - 1 is out of bounds for {c_type}")


_C_BOUNDS_TYPE = {np.bool_: "bool", np.uint8: "unsigned char", np.int8: "signed char", np.int16: "short int",
                  np.int32: "int", np.int64: "long int"}


_MANTISSA = {np.float16: 11, np.float32: 24, np.float64: 53}
_C_TYPE = {np.float16: "c10::Half", np.float32: "float", np.float64: "double"}


def _as_float_and_back(dt, value):
    """int64(scalar_t(value)), as torch's C++ casts compute it (half through float; inf wraps to int64's minimum)."""
    f = np.array([value], dtype=np.int64).astype(np.float32 if dt is _dtype.float16 else dt.np).astype(dt.np)
    return int(f[0]) if np.isfinite(f[0]) else -(1 << 63)


def _update_bounds(dt, from_, to):
    """torch's update_from/update_to: for floats, bounds moved inward to the nearest integers that rounding
    to dt cannot move onto or past them (to=None: from only)."""
    digits = _MANTISSA[dt.np.type]
    if _as_float_and_back(dt, from_ + 1) < from_:
        from_ = _as_float_and_back(dt, from_ + 1) + (1 << (abs(from_ + 1).bit_length() - 1 - digits + 1))
    if to is not None and _as_float_and_back(dt, to - 1) >= to:
        to = _as_float_and_back(dt, to - 1) - (1 << (abs(to - 1).bit_length() - 1 - digits + 1))
    return from_, to


def _check_float_range(dt, value, name):
    """torch's bounds check of random_'s from / to - 1 for floats: an error past the dtype's range, a
    warning past the integers it holds exactly."""
    info, digits = np.finfo(dt.np), _MANTISSA[dt.np.type]
    if not float(info.min) <= value <= float(info.max):
        raise RuntimeError(f"{name} is out of bounds for {_C_TYPE[dt.np.type]}")
    if not -(1 << digits) <= value <= 1 << digits:
        import warnings
        warnings.warn(f"{name} is out of bounds [-(2^{digits}), 2^{digits}]. Due to precision limitations "
                      f"{_C_TYPE[dt.np.type]} can support discrete uniform distribution only within this range. "
                      "This warning will become an error in version 1.7 release, please fix the code in advance",
                      UserWarning, stacklevel=4)


def _random_span(dt, from_, to):
    """(span, base) of torch's random_(from, to) for dt: the values base + draw % span; the bounds
    checked and, for floats, moved inward as torch moves them."""
    if from_ >= to:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={from_} >= to={to}")
    if dt.is_floating_point:
        from_, to = _update_bounds(dt, from_, to)
        if from_ >= to:
            raise RuntimeError(f"random_ expects 'from' casted to dtype to be less than 'to' casted to dtype, but "
                               f"got from={from_} >= to={to}")
        _check_float_range(dt, from_, "from")
        _check_float_range(dt, to - 1, "to - 1")
    else:
        _check_random_bounds(dt, from_, to)
    return to - from_, from_


_C_INT_TYPE = {np.uint8: "uint8_t", np.int8: "int8_t", np.int16: "int16_t", np.int32: "int32_t"}


def _check_randperm_dtype(n, dt):
    """torch's checks that 0 .. n-1 can be held by dt (floats: every integer up to n-1 exactly)."""
    if dt is _dtype.bool or dt.is_complex:
        raise NotImplementedError(f"\"randperm\" not implemented for '{_word(dt)}'")
    if dt.is_floating_point:
        largest = (1 << _MANTISSA[dt.np.type]) + 1
        if n > largest:
            raise RuntimeError(f"n cannot be greater than {largest} for {_word(dt)} type.")
    elif dt.np.type in _C_INT_TYPE and n - 1 > np.iinfo(dt.np).max:
        raise RuntimeError(f"value cannot be converted to type {_C_INT_TYPE[dt.np.type]} without overflow")


@factory_out
def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """A random permutation of 0 .. n-1."""
    check_layout(layout, "randperm")
    if isinstance(n, Tensor) and n.ndim == 0 and not n.dtype.is_floating_point:
        n = int(n.item())
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"randperm(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    _check_shape((n,))
    dt, dev, _ = _resolve(dtype or _dtype.int64, device)
    _check_randperm_dtype(n, dt)
    g = _source(generator, dev)
    if _on_cpu(g):
        return _finish(_cast(_cpu_rng.randperm(g, n), dt), requires_grad)
    return _finish(_random_array(lambda s: g.permutation(n), (n,), dt, dev), requires_grad)


@handles_out
def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    """N(mean, std^2) samples: mean and/or std may be tensors (broadcast), else size is required."""
    check_layout(layout, "normal")
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if size is not None:            # the tensor overloads take their shape from mean and std
            got = ", ".join(type(v).__name__ if not isinstance(v, Tensor) else "Tensor" for v in (mean, std, size))
            raise TypeError(f"normal() received an invalid combination of arguments - got ({got}), but expected one "
                            "of:\n * (Tensor mean, Tensor std)\n * (float mean, float std, tuple of ints size)")
        ref = mean if isinstance(mean, Tensor) else std
        if isinstance(mean, Tensor) and isinstance(std, Tensor):
            check_same_device("normal", mean, std)
        g = _source(generator, ref.device)
        if isinstance(std, Tensor):
            if std.numel() and bool((std._data < 0).any()):
                raise RuntimeError("normal expects all elements of std >= 0.0")
        elif std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        dt = ref.dtype
        _kernel_for("normal_kernel_cpu", dt, (2, 3))
        from ._util import broadcast_shapes
        shape = broadcast_shapes(tuple(mean.shape) if isinstance(mean, Tensor) else (),
                                 tuple(std.shape) if isinstance(std, Tensor) else ())
        m = mean._data if isinstance(mean, Tensor) else mean
        sd = std._data if isinstance(std, Tensor) else std
        # torch's overloads' nodes: normal(Tensor, float), normal(float, Tensor), normal(Tensor, Tensor)
        node = f"NormalBackward{isinstance(mean, Tensor) + 2 * isinstance(std, Tensor)}"
        params = [t for t in (mean, std) if isinstance(t, Tensor)]
        if not _on_cpu(g):
            z = _normal(g, shape, dt)
            return _drawn((z * sd + m).astype(dt.np, copy=False), node, *params)
        # torch: a fresh contiguous output filled by normal_(0, std) plus mean for a number std, else by
        # normal_(0, 1), times std, plus mean (a number mean as a 0-d tensor of the output's dtype)
        if not isinstance(std, Tensor):
            z = _cpu_normal(g, _numel(shape), dt, 0.0, float(std)).reshape(shape)
            return _drawn((z + m).astype(dt.np, copy=False), node, *params)
        z = _cpu_normal(g, _numel(shape), dt).reshape(shape)
        z = (z * sd).astype(dt.np, copy=False)
        m = m if isinstance(mean, Tensor) else dt.np.type(m)
        return _drawn((z + m).astype(dt.np, copy=False), node, *params)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if size is None:
        raise TypeError(f"normal() received an invalid combination of arguments - got ({type(mean).__name__}, "
                        f"{type(std).__name__}), but expected one of:\n * (float mean, float std, tuple of ints size)")
    dt, dev, _ = _resolve(dtype or _dtype.get_default_dtype(), device or CPU)
    _kernel_for("normal_kernel_cpu", dt, (2, 3))
    g = _source(generator, dev)
    shape = _shape_args(tuple(size) if not isinstance(size, int) else (size,))
    if _on_cpu(g):
        return _finish(_cpu_normal(g, _numel(shape), dt, float(mean), float(std)).reshape(shape), requires_grad)
    return _finish(_random_array(lambda sh: _normal(g, sh, dt, mean, std), shape, dt, dev), requires_grad)


_P_IN_RANGE = ("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error message be improved?  "
               "If so, please report an enhancement request to PyTorch.)")


def _cpu_bernoulli(g, out, probs):
    """Fill the host array out with Bernoulli draws in out's memory order (torch's TensorIterator order),
    probs a number or an array broadcastable to out."""
    view = _cpu_rng.iteration_view(out)
    if isinstance(probs, np.ndarray):
        p = np.broadcast_to(probs, out.shape).transpose(_cpu_rng.iteration_order(out)).ravel()
        draws = _cpu_rng.bernoulli_tensor(g, p)
    else:
        draws = _cpu_rng.bernoulli_scalar(g, view.size, probs)
    view[...] = draws.reshape(view.shape)
    return out


@register("bernoulli")
@handles_out
def bernoulli(input, p=None, *, generator=None, out=None):
    """1 with probability input (or p), else 0; the result has input's dtype and shape."""
    g = _source(generator, input.device)
    if p is None:
        _kernel_for("bernoulli_tensor_cpu_p_", input.dtype, (2,))
        probs = input._data
        # torch's CPU kernel checks the probabilities; its CUDA kernel does not read them back to the host
        if type(probs) is np.ndarray and probs.size and not ((probs >= 0) & (probs <= 1)).all():
            raise RuntimeError(_P_IN_RANGE)
    else:
        _kernel_for("bernoulli_scalar_cpu_", input.dtype, (0, 1, 2))
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        probs = p
    # bernoulli(probabilities) records BernoulliBackward0 (zero gradient); torch has no derivative for bernoulli(x, p)
    params = (input,) if p is None else ()
    if _on_cpu(g):          # into a contiguous array (torch's LEGACY_CONTIGUOUS empty_like), filled in order
        return _drawn(_cpu_bernoulli(g, np.empty(input._data.shape, input._data.dtype), probs), "BernoulliBackward0",
                      *params)
    return _drawn((g.random(input.shape) < probs).astype(input._data.dtype), "BernoulliBackward0", *params)


@register("multinomial")
@handles_out
def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """num_samples category indices per row, drawn with the row's (unnormalized) probabilities.
    Without replacement, once a row's positive categories are drawn its zero ones follow (torch draws
    them too, in its sort's order for ties; flambeau in index order)."""
    _check_multinomial_arguments(input, num_samples, replacement)
    if not input.is_cpu:
        return _multinomial_on_device(input, num_samples, replacement, _source(generator, input.device))
    g = _source(generator, input.device)
    probs = input._data
    if (probs < 0).any() or not np.isfinite(probs).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = probs.reshape(-1, probs.shape[-1])
    if rows.shape[0] and (rows.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not rows.size:
        return _make(np.empty(probs.shape[:-1] + (num_samples,), np.int64))
    res = _cpu_rng.multinomial(g, probs, num_samples, replacement)
    return _make(res.reshape(probs.shape[:-1] + (num_samples,)))


def _check_multinomial_arguments(input, num_samples, replacement):
    """torch's checks of multinomial's arguments, in its order, before the probabilities are read."""
    if not isinstance(num_samples, (int, np.integer)) or isinstance(num_samples, bool):
        raise TypeError(f"multinomial(): argument 'num_samples' (position 2) must be int, not "
                        f"{type(num_samples).__name__}")
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if input.dtype._category != 2:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {_word(input.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > input.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")


def _multinomial_on_device(input, num_samples, replacement, g):
    """torch's algorithm on a device: the top num_samples of p / q with q ~ Exp(1) per category (one draw per
    sample with replacement). The checks read the probabilities once, where torch's read them too."""
    probs = input._data
    n = probs.shape[-1]
    xp = _xp.array_module(probs)
    rows = probs.reshape(-1, n).astype(np.float64)
    invalid, empty_row = xp.stack((~(xp.isfinite(rows) & (rows >= 0)).all(), (rows.sum(axis=1) <= 0).any())).tolist()
    if invalid:
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if empty_row:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if replacement:
        keys = rows[:, None, :] / g.exponential(1.0, (rows.shape[0], num_samples, n))
        picked = xp.argmax(keys, axis=-1)
    else:
        keys = rows / g.exponential(1.0, rows.shape)
        picked = xp.argsort(-keys, axis=-1)[:, :num_samples]
    return _make(picked.astype(np.int64).reshape(probs.shape[:-1] + (num_samples,)))


# -- samplers with a rejection loop per element (Note [torch's rejection samplers], in _cpu_rng) ----------
# On the CPU they draw torch's numbers; on cuda CuPy's samplers draw them (Note [default cuda generators]).
def _check_tensor_argument(op, name, position, value):
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}(): argument '{name}' (position {position}) must be Tensor, not "
                        f"{type(value).__name__}")


def _in_order(a):
    """The host array a as flat float64 in C order: the order in which torch's serial samplers fill their
    fresh contiguous outputs."""
    return np.asarray(a, dtype=np.float64).ravel()


class _Poisson(Function):
    """Counts drawn from Poisson(rate) for each rate; the counts do not move with the rates (zero gradient)."""
    _node_name = "PoissonBackward0"

    @staticmethod
    def forward(ctx, input, g):
        rates = input._data
        if not _on_cpu(g):
            return _xp.array_module(rates).asarray(g.poisson(rates)).astype(rates.dtype)   # 0-d: a bare number
        return _cast(_cpu_rng.poisson(g, _in_order(rates)), input.dtype).reshape(rates.shape)

    @staticmethod
    def backward(ctx, grad):                            # d(count)/d(rate) = 0
        return zeros_like(grad), None


@register("poisson")
def poisson(input, generator=None):
    """Counts drawn from Poisson(rate) for each rate of input, in input's dtype and shape. On the CPU,
    torch's sampler (Note [torch's rejection samplers]): a negative or NaN rate raises RuntimeError."""
    _check_tensor_argument("poisson", "input", 1, input)
    _kernel_for("poisson_cpu" if input.is_cpu else "poisson_cuda", input.dtype, (2,))
    return _Poisson.apply(input, _source(generator, input.device))


class _StandardGamma(Function):
    """Samples of Gamma(input, 1), differentiable in input through _standard_gamma_grad (implicit
    reparameterization: Note [gradient of a Gamma sample], in distributions/gamma.py)."""
    _node_name = "StandardGammaBackward0"

    @staticmethod
    def forward(ctx, input, g):
        a = input._data
        if _on_cpu(g):
            x = _cpu_rng.standard_gamma(g, _in_order(a), single=a.dtype == np.float32).astype(a.dtype)
            x = x.reshape(a.shape)
        else:
            x = _xp.array_module(a).asarray(g._draw("standard_gamma", a.astype(np.float64))).astype(a.dtype)
        x = _xp.array_module(x).fmax(x, np.finfo(a.dtype).tiny)          # NaN too, as C's std::max
        ctx.save_for_backward(input)
        ctx.sample = x
        return x

    @staticmethod
    def backward(ctx, grad):                            # grad * dx/dalpha
        (input,) = ctx.saved_tensors
        return grad * _standard_gamma_grad(input, _make(ctx.sample)), None


def _standard_gamma(input, generator=None):
    """Samples of Gamma(input, 1), one per element of input (float or double), in input's dtype and shape;
    each at least the dtype's smallest normal number. Differentiable in input (torch's StandardGammaBackward0)."""
    _check_tensor_argument("_standard_gamma", "input", 1, input)
    if input.dtype not in (_dtype.float32, _dtype.float64):
        raise NotImplementedError(f"\"gamma_cpu\" not implemented for '{_word(input.dtype)}'")
    return _StandardGamma.apply(input, _source(generator, input.device))


def _standard_gamma_grad(self, output):
    """dx/dalpha for samples ``output`` of Gamma(self, 1) (torch._standard_gamma_grad)."""
    from ..distributions.gamma import _standard_gamma_grad as grad
    return grad(self, output)


def _sample_dirichlet(input, generator=None):
    """One Dirichlet(row) sample per row (last dim) of input (float or double), in input's dtype and shape:
    Gamma(row, 1) samples in double, each divided by their sum, kept within [smallest normal, 1 - ulp].
    torch defines no derivative for it (the Dirichlet distribution differentiates through _dirichlet_grad)."""
    _check_tensor_argument("_sample_dirichlet", "input", 1, input)
    if input.dtype not in (_dtype.float32, _dtype.float64):
        raise NotImplementedError(f"\"dirichlet\" not implemented for '{_word(input.dtype)}'")
    g = _source(generator, input.device)

    def compute():
        a, dt = input._data, input.dtype.np
        if _on_cpu(g):
            k = a.shape[-1] if a.ndim else 1
            rows = np.ascontiguousarray(a, dtype=np.float64).reshape(a.size // k if k else 0, k)
            ratios = _cpu_rng.sample_dirichlet(g, rows).reshape(a.shape).astype(dt)
            xp = np
        else:
            xp = _xp.array_module(a)
            gammas = xp.fmax(xp.asarray(g._draw("standard_gamma", a.astype(np.float64))), np.finfo(np.float64).tiny)
            ratios = (gammas / gammas.sum(-1, keepdims=True)).astype(dt)
        top = np.nextafter(dt.type(1), dt.type(0))
        return _make(xp.fmin(top, xp.fmax(np.finfo(dt).tiny, ratios)))      # a NaN ratio becomes tiny, as in C

    if not recording(input):
        return compute()
    from ..linalg import _not_differentiable
    return _not_differentiable("_sample_dirichlet", compute, input)


def _dirichlet_grad(x, alpha, total):
    """d x / d alpha for samples x of Beta(alpha, total - alpha), the Dirichlet reparameterized gradient
    (torch._dirichlet_grad)."""
    from ..distributions.dirichlet import _dirichlet_grad as grad
    return grad(x, alpha, total)


def binomial(count, prob, generator=None):
    """Draws of Binomial(count, prob) elementwise (count and prob broadcast together), in their dtype
    (float or double, the same for both). On the CPU, torch's sampler (Note [torch's rejection samplers])."""
    from ._util import broadcast_shapes
    _check_tensor_argument("binomial", "count", 1, count)
    _check_tensor_argument("binomial", "prob", 2, prob)
    for name, t in (("count", count), ("prob", prob)):
        if t.dtype._category != 2:
            raise ValueError(f"binomial only supports floating-point dtypes for {name}, got: {_word(t.dtype)}")
    if prob.dtype is not count.dtype:
        raise RuntimeError(f"Found dtype {_word(prob.dtype)} but expected {_word(count.dtype)}")
    if count.dtype not in (_dtype.float32, _dtype.float64):
        raise NotImplementedError(f"\"binomial_cpu\" not implemented for '{_word(count.dtype)}'")
    check_same_device("binomial", count, prob)
    shape = broadcast_shapes(tuple(count.shape), tuple(prob.shape))
    if tuple(count.shape) != shape and count.numel():
        import warnings
        warnings.warn(f"An output with one or more elements was resized since it had shape {list(count.shape)}, "
                      f"which does not match the required output shape {list(shape)}. This behavior is "
                      "deprecated, and in a future PyTorch release outputs will not be resized unless they have "
                      "zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, to zero "
                      "elements with t.resize_(0).", UserWarning, stacklevel=2)
    g = _source(generator, count.device)

    def compute():
        xp = _xp.array_module(count._data)
        n, p = xp.broadcast_to(count._data, shape), xp.broadcast_to(prob._data, shape)
        if not _on_cpu(g):
            return _make(xp.asarray(g._draw("binomial", n.astype(np.int64), p)).astype(count._data.dtype))
        return _make(_binomial_cpu(g, n, p, tuple(count.shape) == shape))

    if not recording(count, prob):
        return compute()
    from ..linalg import _not_differentiable
    return _not_differentiable("binomial", compute, count, prob)


def _binomial_cpu(g, n, p, fits):
    """torch's draws for the broadcast host arrays n and p. Its output is count's, fresh and contiguous, so
    filled in C order; where count had to be resized (fits False), torch lays the output out, and fills it,
    in the operands' memory order."""
    axes = list(_builtins.range(n.ndim)) if fits else _cpu_rng.iteration_axes(n.shape, (n.strides, p.strides))
    out = np.empty([n.shape[a] for a in axes], dtype=n.dtype).transpose(np.argsort(axes))
    view = out.transpose(axes)                          # C order: torch's order of filling out
    draws = _cpu_rng.binomial(g, _in_order(n.transpose(axes)), _in_order(p.transpose(axes)),
                              single=n.dtype == np.float32)
    view[...] = draws.reshape(view.shape)
    return out


def _fill_random(self, sample, node_name):
    """Fill self in place with sample(shape), a device array, through every view of self."""
    from ._util import check_writable
    check_writable(self)
    check_inplace_autograd(self)
    self._data[...] = _xp.astype(sample(self.shape), self._data.dtype, copy=False)
    self._version_counter[0] += 1
    return _record_drawn(self, node_name)


def _continuous_only(name, dt):
    if dt._category != 2:
        raise RuntimeError(f"{name} distribution is a continuous probability distribution. dtype must be a "
                           f"floating point but you specified {_word(dt)}")


def _check_uniform_bounds(dt, a, b):
    """torch's checks of uniform_'s bounds for dt (the real dtype of a complex one)."""
    real = dt.to_real() if dt.is_complex else dt
    info, word = np.finfo(real.np), _C_TYPE[real.np.type]
    if not float(info.min) <= a <= float(info.max):
        raise RuntimeError(f"from is out of bounds for {word}")
    if not float(info.min) <= b <= float(info.max):
        raise RuntimeError(f"to is out of bounds for {word}")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a:g} > to={b:g}")
    if b - a > float(info.max):           # (the bounds printed as C++ prints a double: %g)
        raise RuntimeError(f"uniform_ expects to-from <= std::numeric_limits<{_word(real)}>::max(), but found "
                           f"to={b:g} and from={a:g} which result in to-from to exceed the limit")


@register("uniform_")
def uniform_(self, a=0.0, b=1.0, *, generator=None, **kw):
    """Fill with samples of U[from, to)."""
    a, b = kw.get("from", a), kw.get("to", b)
    _kernel_for("check_uniform_bounds", self.dtype, (2, 3))
    a, b = float(a), float(b)
    _check_uniform_bounds(self.dtype, a, b)
    g = _source(generator, self.device)
    if _on_cpu(g):
        return _fill_cpu(self, lambda n: _cpu_uniform(g, n, self.dtype, a, b), "UniformBackward0")
    return _fill_random(self, lambda s: _uniform(g, s, self.dtype, a, b), "UniformBackward0")


@register("normal_")
def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with samples of N(mean, std^2)."""
    _kernel_for("normal_kernel_cpu", self.dtype, (2, 3))
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    g = _source(generator, self.device)
    if _on_cpu(g):
        contiguous = self._data.flags.c_contiguous
        return _fill_cpu(self, lambda n: _cpu_normal(g, n, self.dtype, float(mean), float(std), contiguous),
                         "NormalBackward0")
    return _fill_random(self, lambda s: _normal(g, s, self.dtype, mean, std), "NormalBackward0")


@register("bernoulli_")
def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 1 (probability p, a number or a tensor of probabilities) or 0."""
    g = _source(generator, self.device)
    bernoulli_node = "BernoulliBackward1" if isinstance(p, Tensor) else "BernoulliBackward2"
    if isinstance(p, Tensor):
        _kernel_for("bernoulli_tensor_cpu_self_", self.dtype, (0, 1, 2))
        check_same_device("bernoulli_", self, p)
        pv = p._data
        if type(pv) is np.ndarray and pv.size and (np.any(pv < 0) or np.any(pv > 1)):   # no host read on cuda
            raise RuntimeError(_P_IN_RANGE)
        np.broadcast_shapes(pv.shape, tuple(self.shape))
    else:
        _kernel_for("bernoulli_scalar_cpu_", self.dtype, (0, 1, 2))
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        pv = p
    if _on_cpu(g):
        from ._util import check_writable
        check_writable(self)
        check_inplace_autograd(self)
        # drawn into a bool array laid out as self, so that the draws follow self's memory order
        self._data[...] = _cpu_bernoulli(g, np.empty_like(self._data, dtype=np.bool_), pv)
        self._version_counter[0] += 1
        return _record_drawn(self, bernoulli_node)
    return _fill_random(self, lambda s: g.random(s) < pv, bernoulli_node)


_UNSET = object()


@register("random_")
def random_(self, from_=_UNSET, to=_UNSET, *, generator=None, **kw):
    """Integers uniform in [from, to); random_(to) is [0, to); random_(from, None) is [from, the dtype's
    largest integer] (every int64 for from = -2^63); random_() is [0, 2^mantissa] for floating dtypes
    and the dtype's whole non-negative range for integers."""
    from_ = kw.pop("from", from_)
    to = kw.pop("to", to)
    random_node = "RandomBackward1" if to is _UNSET and from_ is not _UNSET else "RandomBackward0"   # random_(to)
    if to is _UNSET:
        from_, to = (None, None) if from_ is _UNSET else (0, from_)       # random_() or random_(to)
    elif from_ is _UNSET:
        from_ = 0
    dt = self.dtype
    explicit = from_ is not None
    if dt.is_complex:
        if explicit:
            raise RuntimeError("check_random_bounds handles only integral, floating-point and boolean types")
        raise NotImplementedError(f"\"random_kernel_cpu\" not implemented for '{_word(dt)}'")
    g = _source(generator, self.device)
    if not _on_cpu(g):
        if from_ is None:
            from_ = 0
        if to is None:
            if dt.is_floating_point:
                to = 2 ** {np.float16: 11, np.float32: 24, np.float64: 53}[dt.np.type] + 1
            elif dt is _dtype.bool:
                to = 2
            else:
                to = int(np.iinfo(dt.np).max) + 1
        if from_ >= to:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={from_} >= to={to}")
        _check_random_bounds(dt, from_, to)
        return _fill_random(self, lambda s: g.integers(from_, to, s), random_node)
    if from_ is None:                                               # random_()
        return _fill_cpu(self, lambda n: _cpu_rng.random_default(g, n, dt.np), "RandomBackward2")
    if to is not None:                                              # [from, to)
        span, base = _random_span(dt, from_, to)
        return _fill_cpu(self, lambda n: _cpu_rng.random_from_to(g, n, dt.np, span, base), random_node)
    if from_ == -(1 << 63):                                         # every int64
        if dt not in (_dtype.int64, _dtype.float32, _dtype.float64):
            raise RuntimeError("random_full_64_bits_range_kernel_cpu handles only int64, double, float and bfloat16")
        return _fill_cpu(self, lambda n: _cpu_rng.random_full_range(g, n, dt.np), "RandomBackward0")
    if dt.is_floating_point:                                        # [from, 2^mantissa]
        to_inc = 1 << _MANTISSA[dt.np.type]
        from_, _ = _update_bounds(dt, from_, None)
        if from_ >= to_inc:
            raise RuntimeError(f"random_ expects 'from' casted to dtype to be less than or equal to 'to_inc' casted "
                               f"to dtype, but got from={from_} > to_inc={to_inc}")
        _check_float_range(dt, from_, "from")
        _check_float_range(dt, to_inc, "to - 1")
    else:                                                           # [from, the dtype's largest]
        to_inc = 1 if dt is _dtype.bool else int(np.iinfo(dt.np).max)
        _check_random_bounds(dt, from_, to_inc + 1)
    return _fill_cpu(self, lambda n: _cpu_rng.random_from_to(g, n, dt.np, to_inc - from_ + 1, from_),
                     "RandomBackward0")


@register("exponential_")
def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with samples of Exp(lambd) (mean 1 / lambd)."""
    _continuous_only("Exponential", self.dtype)
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    g = _source(generator, self.device)
    if _on_cpu(g):
        return _fill_cpu(self, lambda n: _cpu_rng.exponential(g, n, float(lambd)), "ExponentialBackward0")
    return _fill_random(self, lambda s: g.exponential(1.0 / lambd, s), "ExponentialBackward0")


@register("geometric_")
def geometric_(self, p, *, generator=None):
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    _kernel_for("geometric_cpu", self.dtype, (1, 2))
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    g = _source(generator, self.device)
    if _on_cpu(g):
        return _fill_cpu(self, lambda n: _cpu_rng.geometric(g, n, float(p)), "GeometricBackward0")
    return _fill_random(self, lambda s: g.geometric(p, s), "GeometricBackward0")


@register("cauchy_")
def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with samples of Cauchy(median, sigma)."""
    _continuous_only("Cauchy", self.dtype)
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    g = _source(generator, self.device)
    if _on_cpu(g):
        return _fill_cpu(self, lambda n: _cpu_rng.cauchy(g, n, float(median), float(sigma)), "CauchyBackward0")
    return _fill_random(self, lambda s: median + sigma * g.standard_cauchy(s), "CauchyBackward0")


@register("log_normal_")
def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with exp(N(mean, std^2)) samples."""
    _kernel_for("log_normal_cpu", self.dtype, (2,))
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    g = _source(generator, self.device)
    if _on_cpu(g):
        return _fill_cpu(self, lambda n: _cpu_rng.log_normal(g, n, float(mean), float(std)), "LogNormalBackward0")
    return _fill_random(self, lambda s: g.lognormal(mean, std, s), "LogNormalBackward0")


# -- Tensor.new_*: creation with self's dtype and device as defaults --------------------------
def _new_defaults(self, dtype, device):
    return _dtype.dtype_arg(dtype) or self.dtype, device if device is not None else self.device


@register("new_tensor")
def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """A copy of data as a tensor with self's dtype and device (unless given)."""
    check_layout(layout, "new_tensor")
    dt, dev = _new_defaults(self, dtype, device)
    if isinstance(data, Tensor):
        import warnings
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach() "
                      "rather than tensor.new_tensor(sourceTensor).", UserWarning, stacklevel=2)
    return tensor(data, dtype=dt, device=dev, requires_grad=requires_grad)


@register("new_zeros")
def new_zeros(self, *sizes, size=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    check_layout(layout, "new_zeros")
    dt, dev = _new_defaults(self, dtype, device)
    return zeros(_required_size("new_zeros", sizes, size), dtype=dt, device=dev, requires_grad=requires_grad)


@register("new_ones")
def new_ones(self, *sizes, size=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    check_layout(layout, "new_ones")
    dt, dev = _new_defaults(self, dtype, device)
    return ones(_required_size("new_ones", sizes, size), dtype=dt, device=dev, requires_grad=requires_grad)


@register("new_empty")
def new_empty(self, *sizes, size=None, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    check_layout(layout, "new_empty")
    dt, dev = _new_defaults(self, dtype, device)
    return empty(_required_size("new_empty", sizes, size), dtype=dt, device=dev, requires_grad=requires_grad)


@register("new_full")
def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None,
             pin_memory=False):
    check_layout(layout, "new_full")
    dt, dev = _new_defaults(self, dtype, device)
    return full(size, fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


@register("new_empty_strided")
def new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False, layout=None,
                      pin_memory=False):
    check_layout(layout, "new_empty_strided")
    dt, dev = _new_defaults(self, dtype, device)
    return empty_strided(size, stride, dtype=dt, device=dev, requires_grad=requires_grad)
