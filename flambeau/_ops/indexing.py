"""Indexing: ``x[key]``, ``x[key] = v``, gather/scatter, masks, index_* ops.

Out-of-range indices raise IndexError before any data is touched (CuPy would wrap
around silently, so flambeau checks on every device).
"""
import numbers
import warnings

import numpy as np

from .. import _dtype, _xp
from .._tensor import Size, Tensor, _make, _wrap_dim
from ..autograd.function import Function
from ._util import (register, recording, apply_inplace, check_inplace_autograd, write_inplace, _BY_NP, scalar_as,
                    _type_word, check_same_device, index_range, memory_overlap, check_no_overlap, dims_argument,
                    _OVERLAP_ERROR, broadcast_shapes)
from .pointwise import _out, handles_out
from .views import BasicIndex, basic_getitem

__all__ = ["index_select", "gather", "scatter", "scatter_add", "scatter_reduce", "masked_fill", "masked_select",
           "masked_scatter", "nonzero", "argwhere", "take", "take_along_dim", "index_add", "index_copy",
           "index_fill", "index_put", "select_scatter", "slice_scatter", "diagonal_scatter", "flip", "fliplr",
           "flipud", "roll", "rot90", "repeat_interleave", "narrow_copy", "tile"]


def _warn_at_caller(message):
    """A UserWarning pointed at the user's line (wrappers of varied depth lead to the ops)."""
    from ._util import caller_level
    warnings.warn(message, UserWarning, stacklevel=caller_level())


def _same_dtype(input, source, message):
    """torch's scatter-style ops write source into input as is: the dtypes must agree."""
    if isinstance(source, Tensor) and source.dtype is not input.dtype:
        raise RuntimeError(message.format(self=_type_word(input.dtype), source=_type_word(source.dtype)))


# -- keys -------------------------------------------------------------------------------------
def _normalize_key(self, key, ranges=True):
    """Turn a user key into (numpy-style key tuple, is_basic)."""
    if not isinstance(key, tuple):
        if _sequence_as_tuple(key):
            _warn_at_caller("Using a non-tuple sequence for multidimensional indexing is deprecated and will be "
                            "changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will "
                            "be interpreted as tensor index, x[torch.tensor(seq)], which will result either in an "
                            "error or a different result")
            key = tuple(key)
        else:
            key = (key,)
    xp = _xp.array_module(self._data)
    warned_uint8 = False
    out, basic = [], True
    seen_ellipsis = False
    for k in key:
        if k is Ellipsis:
            if seen_ellipsis:        # PyTorch lets later ellipses stand for no dims
                continue
            seen_ellipsis = True
        if isinstance(k, Tensor):
            if k.ndim == 0 and k.dtype._category == 1 and k.dtype is not _dtype.uint8 and \
                    type(k._data) is np.ndarray:
                out.append(int(k._data))      # a 0-dim CPU integer tensor is an int to PyTorch (a CUDA one is not)
            elif k.dtype is _dtype.bool or k.dtype is _dtype.uint8:
                if k.dtype is _dtype.uint8 and k.ndim and not warned_uint8:     # once per key, as PyTorch
                    warned_uint8 = True
                    _warn_at_caller("indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                                    "torch.bool instead.")
                out.append(_as_device(k._data.astype(bool), xp))
                basic = False
            elif k.dtype._category == 1:
                out.append(_as_device(k._data, xp))
                basic = False
            else:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        elif isinstance(k, slice):
            for v in (k.start, k.stop, k.step):
                if v is not None and not isinstance(v, (int, np.integer)):
                    if isinstance(v, Tensor) and v.numel() == 1:
                        continue
                    raise TypeError(f"slice indices must be integers or None, got {type(v).__name__}")
            k = slice(*(int(v) if isinstance(v, Tensor) else v for v in (k.start, k.stop, k.step)))
            if k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
            out.append(k)
        elif k is None or k is Ellipsis:
            out.append(k)
        elif isinstance(k, bool):
            out.append(k)
            basic = False
        elif isinstance(k, (int, np.integer)):
            out.append(int(k))
        elif isinstance(k, (list, tuple)) or _xp.is_array(k):
            arr = np.asarray(_xp.to_host(k) if _xp.is_array(k) else _list_to_array(k))
            if arr.dtype == object or arr.dtype.kind not in "biu":
                if arr.size == 0:
                    arr = arr.astype(np.int64)
                else:
                    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            out.append(_as_device(arr, xp))
            basic = False
        elif isinstance(k, str):
            raise TypeError(f"indices must be integers, slices, None, Ellipsis or tensors, not str")
        else:
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                             f"valid indices (got {type(k).__name__})")
    key = _check_bounds(self, tuple(out), ranges)
    return key, basic


def _sequence_as_tuple(key):
    """PyTorch (like old NumPy) reads a short list holding sequences, tensors, slices, None or
    Ellipsis as a tuple of indices: ``x[[[0, 1], [2, 3]]]`` is ``x[[0, 1], [2, 3]]``."""
    if not isinstance(key, list) or len(key) >= 32:
        return False
    for k in key:
        if isinstance(k, (list, tuple, slice, Tensor)) or k is None or k is Ellipsis or _xp.is_array(k):
            return True
    return False


def _list_to_array(k):
    flat = [_xp.to_host(v._data) if isinstance(v, Tensor) else v for v in k]
    return np.array(flat)


def _as_device(a, xp):
    if xp is np:
        return _xp.to_host(a)
    return xp.asarray(a)


def _index_broadcast(key):
    """The shape the index arrays of key broadcast to (a mask counts as its nonzero positions: a read
    by the host, as PyTorch's nonzero), PyTorch's IndexError when they don't; None without two of them."""
    items = [k for k in key if _xp.is_array(k) or isinstance(k, bool)]     # a bool is an index: [0] or []
    if len(items) < 2:
        return None if not items or not _xp.is_array(items[0]) or items[0].dtype == bool else tuple(items[0].shape)
    shapes = []
    for k in items:         # a mask stands for its nonzero() columns, one per dim
        if isinstance(k, bool):
            shapes.append((int(k),))
        elif k.dtype == bool:
            shapes.extend([(int(k.sum()),)] * max(k.ndim, 1))
        else:
            shapes.append(tuple(k.shape))
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with shapes "
                         + ", ".join(str(list(s)) for s in shapes)) from None


def _check_bounds(self, key, ranges=True):
    """PyTorch's IndexErrors for key: its form, int indices, and (with ranges) index arrays' values.
    Returns key, its index arrays clipped into range where the result has no element (NumPy would check
    values PyTorch never reads)."""
    shape = self._data.shape
    n_specified = sum(1 for k in key if k is not None and k is not Ellipsis and not isinstance(k, bool)
                      for _ in range(k.ndim if _xp.is_array(k) and k.dtype == bool else 1))
    if n_specified > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    places = _key_places(shape, key)
    # PyTorch's order: the ints select first, then the masks' shapes, the index arrays' broadcast, their values
    for i, k in enumerate(key):
        if isinstance(k, int) and not isinstance(k, bool):
            pos = places[i][0]
            if not -shape[pos] <= k < shape[pos]:       # PyTorch names the int's place in key as its dimension
                raise IndexError(f"index {k} is out of bounds for dimension {i} with size {shape[pos]}")
    for i, k in enumerate(key):
        if _xp.is_array(k) and k.dtype == bool:
            pos, view_pos = places[i]
            want = shape[pos:pos + k.ndim]
            bad = next((j for j, (m, n) in enumerate(zip(k.shape, want)) if m != n), None)
            if bad is not None:
                raise IndexError(f"The shape of the mask {list(k.shape)} at index {bad} does not match the shape "
                                 f"of the indexed tensor {_basic_view_shape(shape, key)} at index {view_pos + bad}")
    # when the broadcast index arrays or self leave no element, PyTorch's kernel reads (and checks) no value
    indexed = _index_broadcast(key)
    no_elements = self._data.size == 0 or (indexed is not None and 0 in indexed)
    clipped = {}
    for i, k in enumerate(key):
        if not _xp.is_array(k) or k.dtype == bool:
            continue
        pos = places[i][0]
        size = shape[pos]
        if size == 0 and k.size and not (indexed is not None and 0 in indexed):
            raise IndexError("index is out of bounds for dimension with size 0")    # said before the values
        elif ranges and not no_elements and k.size:
            lo, hi = index_range(k)
            if lo < -size or hi >= size:
                bad = hi if hi >= size else lo
                raise IndexError(f"index {bad} is out of bounds for dimension {pos} with size {size}")
        elif no_elements and k.size and size:
            clipped[i] = _xp.array_module(k).clip(k, -size, size - 1)
    return tuple(clipped.get(i, k) for i, k in enumerate(key)) if clipped else key


def _key_places(shape, key):
    """For each item of key: (the dim of self it indexes, its dim in self after key's ints, slices and None).
    Dims walk left to right, after an Ellipsis right to left."""
    places = []
    pos = view_pos = 0
    ell = next((i for i, k in enumerate(key) if k is Ellipsis), None)
    for i, k in enumerate(key):
        places.append((pos, view_pos))
        if i == ell:
            new_pos = len(shape) - sum(
                (k2.ndim if _xp.is_array(k2) and k2.dtype == bool else 1)
                for k2 in key[i + 1:] if k2 is not None and not isinstance(k2, bool))
            view_pos += new_pos - pos
            pos = new_pos
        elif k is None or isinstance(k, bool):
            view_pos += 1
        elif _xp.is_array(k) and k.dtype == bool:
            pos += k.ndim
            view_pos += k.ndim
        else:
            pos += 1
            view_pos += 0 if isinstance(k, int) else 1
    return places


def _basic_view_shape(shape, key):
    """self's shape after key's ints, slices and None (a bool is a new dim): what key's arrays index."""
    basic = []
    for k in key:
        if isinstance(k, bool):
            basic.append(None)
        elif _xp.is_array(k):
            basic.extend([slice(None)] * (k.ndim if k.dtype == bool else 1))
        else:
            basic.append(k)
    return list(np.broadcast_to(np.empty((), bool), shape)[tuple(basic)].shape)     # a view: no data


# -- getitem ----------------------------------------------------------------------------------
class AdvancedIndex(Function):
    """out = x[key] with integer/bool arrays in key (a copy)."""
    _node_name = "IndexBackward0"

    @staticmethod
    def forward(ctx, x, key):
        ctx.key, ctx.in_shape = key, x.shape
        return x._data[key]

    @staticmethod
    def backward(ctx, grad):                     # scatter-add: repeated indices accumulate
        return IndexPutAccumulate.apply(grad, ctx.in_shape, ctx.key), None


class IndexPutAccumulate(Function):
    """out = zeros(shape); out[key] += grad (backward of advanced indexing)."""

    @staticmethod
    def forward(ctx, grad, shape, key):
        ctx.key = key
        g = grad._data
        out = _xp.array_module(g).zeros(shape, g.dtype)
        _xp.scatter_add(out, key, g)
        return out

    @staticmethod
    def backward(ctx, gg):                        # a gather at the same key (checked once, in the forward)
        return GatherByKey.apply(gg, ctx.key), None, None


def getitem(self, key):
    if type(key) is int and self._data.ndim:
        n = self._data.shape[0]
        if not -n <= key < n:
            raise IndexError(f"index {key} is out of bounds for dimension 0 with size {n}")
        return BasicIndex.named("SelectBackward0").apply(self, key)
    if self._data.ndim == 0 and not isinstance(key, (tuple, type(None), type(Ellipsis), Tensor, slice, list, bool)):
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in "
                         "C++ to convert a 0-dim tensor to a number")
    k, basic = _normalize_key(self, key)
    if basic:
        return basic_getitem(self, k if isinstance(key, tuple) else k[0])
    split = _split_ints(k, _xp.array_module(self._data))
    if split:
        return AdvancedIndex.apply(basic_getitem(self, split[0]), split[1])
    return AdvancedIndex.apply(self, k)


Tensor.__getitem__ = getitem


def _split_ints(k, xp):
    """(basic_key, rest_key) when a normalized key mixes ints with index arrays, or holds a bool, else None.

    PyTorch selects with the ints first (basic indexing) and indexes what is left with the rest, so an int
    never takes part in placing the advanced dims: x[0, :, [1, 2]] is (3, 2) for a (2, 3, 4) x, where NumPy,
    which broadcasts ints with the arrays, gives (2, 3). The first key is basic (a view), the second
    indexes that view. A bool is, as in PyTorch, a new dim (None in the first key) indexed by [0] or []
    (True or False): an index array, where CuPy would read a 0-dim mask's count on the host."""
    has_bool = any(isinstance(i, bool) for i in k)
    if not has_bool and (not any(type(i) is int for i in k) or not any(_xp.is_array(i) for i in k)):
        return None
    ints, rest = [], []
    for item in k:
        if isinstance(item, bool):
            ints.append(None)
            rest.append(xp.zeros(int(item), np.int64))
        elif type(item) is int:
            ints.append(item)
        elif item is None:
            rest.append(item)
        elif item is Ellipsis:
            ints.append(item)
            rest.append(item)
        else:
            ints.extend([slice(None)] * (item.ndim if _xp.is_array(item) and item.dtype == bool else 1))
            rest.append(item)
    return tuple(ints), tuple(rest)


# -- setitem ----------------------------------------------------------------------------------
class IndexPut(Function):
    """out = old with out[key] = value"""
    _node_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, old, value, key):
        ctx.key = key
        out = old._data.copy()
        v = value._data if isinstance(value, Tensor) else value
        if _xp.is_array(v):
            v = _xp.astype(v, out.dtype, copy=False)
            if type(v) is not type(out):            # a 0-dim CPU tensor's value
                v = _xp.from_host(_xp.array_module(out), v)
        _setitem_array(out, key, v)
        return out

    @staticmethod
    def backward(ctx, grad):                    # old: grad outside key; value: grad at key
        g_old = grad.clone()
        g_old[ctx.key] = 0
        g_val = grad[ctx.key] if ctx.needs_input_grad[1] else None
        return g_old, g_val, None


class IndexFill(IndexPut):
    """out = old with value at every position key reaches; value's gradient sums grad over those positions,
    each once, however many times key names it (index_put_'s value takes grad at each index)."""
    _node_name = "IndexFillBackward0"

    @staticmethod
    def backward(ctx, grad):
        g_old = grad.clone()
        g_old[ctx.key] = 0
        return g_old, (grad - g_old).sum() if ctx.needs_input_grad[1] else None, None


def setitem(self, key, value):
    if not isinstance(value, (Tensor, float, complex, numbers.Integral)):
        # PyTorch takes a tensor or a Python number (NumPy's int64 and float64 pass as such), never a list,
        # an array or a float32 scalar: t[0] = [1, 2] is t[0] = torch.tensor([1., 2.]) spelled out
        kind = type(value)
        name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
        raise TypeError(f"can't assign a {name} to a {self.type()}")
    if isinstance(value, (int, float, complex)):    # a number must fit (-1 wraps into uint8), checked first
        value = _dtype.fill_value(value, self.dtype)
    if key is False:            # PyTorch writes nothing for a False key (and records nothing)
        return
    byte_mask = _lone_byte_mask(key, value)
    if byte_mask is not None:   # PyTorch hands a lone mask and one value to masked_fill_, which refuses bytes
        _check_mask(byte_mask, "masked_fill_", self)
    # index_put_ checks the value's dtype after the key's form and its ints, before the index arrays' values
    k, basic = _normalize_key(self, key, ranges=False)
    if isinstance(value, Tensor) and value.dtype is not self.dtype and _is_index_put(key) and \
            not (value.numel() == 1 and _single_mask(k)):       # that one is a masked_fill_ in PyTorch
        _index_put_dtypes(self, value)
    if not basic:
        k = _check_bounds(self, k)
    if isinstance(value, Tensor):
        if value.device != self.device and value.ndim:
            raise RuntimeError(f"setitem: value is on {value.device} but the tensor is on {self.device}")
        if basic:
            _check_copy_shape(value, self._data[k].shape)
    split = None if basic else _split_ints(k, _xp.array_module(self._data))
    if split:           # PyTorch's order: select with the ints, then write through that view
        self, k = basic_getitem(self, split[0]), split[1]
    if isinstance(value, Tensor):
        _check_value_overlap(self, k, basic, value)
    if recording(self, value) or (self._base is not None and recording(self._base)):
        if basic:
            _write_through_view(self, k, value)
            return
        apply_inplace(self, IndexPut, value, k)
        return
    check_inplace_autograd(self)
    if isinstance(value, Tensor):
        v = value._data
        if type(v) is not type(self._data):
            v = _xp.from_host(_xp.array_module(self._data), _xp.to_host(v))
        v = _xp.astype(v, self._data.dtype, copy=False)
    else:
        v = value
    _setitem_array(self._data, k, v)
    self._version_counter[0] += 1


def _check_copy_shape(value, shape):
    """PyTorch writes a basic key's value with copy_: leading 1s of its shape dropped, then expanded to
    shape, with expand's errors."""
    value_shape = list(value.shape)
    while value_shape and value_shape[0] == 1:
        value_shape.pop(0)
    if len(value_shape) <= len(shape) and all(
            n in (1, want) for n, want in zip(value_shape[::-1], shape[::-1])):
        return
    from .views import expand
    expand(value.detach().reshape(value_shape), shape)      # raises expand's error for these shapes


def _setitem_array(a, k, v):
    """a[k] = v, a value that does not broadcast to a[k] refused as PyTorch refuses it."""
    try:
        _xp.setitem(a, k, v)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(np.shape(v))} cannot be broadcast to "
                           f"indexing result of shape {list(a[k].shape)}") from None


Tensor.__setitem__ = setitem


def _write_through_view(self, k, value):
    """self[k] = value for a basic key, recorded as PyTorch records it: a copy into the view
    self[k] (self's node becomes CopySlices), or into self itself when k takes all of it (only
    full slices and an Ellipsis: PyTorch's slicing returns self then): a copy_ (CopyBackwards)
    of a value of self's shape, else a fill_ (FillBackward3) of a 0-dim CPU value."""
    dst = self if _takes_all(self, k) else basic_getitem(self, k)
    if not isinstance(value, Tensor):
        from .creation import tensor
        value = tensor(value, dtype=self.dtype)           # a number becomes a 0-dim CPU tensor, as in PyTorch
    lead_ones = next((i for i, n in enumerate(value.shape) if n != 1), value.ndim)
    if lead_ones:                                         # PyTorch drops them before its copy_
        value = value.reshape(value.shape[lead_ones:])
    if tuple(value.shape) != tuple(dst.shape) and value.ndim == 0 and value.device.type == "cpu":
        dst.fill_(value)
    else:
        dst.copy_(value)


def _takes_all(self, k):
    """Whether the basic key k (of full slices, an Ellipsis, ints, None) leaves self as it is."""
    if not all(e is Ellipsis or isinstance(e, slice) for e in k):
        return False
    explicit = sum(isinstance(e, slice) for e in k)
    d = 0
    for e in k:
        if e is Ellipsis:
            d += self.ndim - explicit
        elif d >= self.ndim or e.indices(self.shape[d]) != (0, self.shape[d], 1):
            return False
        else:
            d += 1
    return True


def _check_value_overlap(self, key, basic, value):
    """PyTorch's refusal of a value over the memory it is written to (Note [Writes over their own
    operands]): a basic key writes through a view of self (copy_: a value over all of that view, laid
    out alike, is fine), any other through index_put_ on all of self (any shared memory is refused)."""
    d, v = self._data, value._data
    if memory_overlap(d, v) is None:
        return
    if basic:
        if memory_overlap(d[key], v) == "partial":
            raise RuntimeError(_OVERLAP_ERROR)
    elif not (value.numel() == 1 and _single_mask(key)):      # (that one is a masked_fill_: nothing checked)
        raise RuntimeError(_OVERLAP_ERROR)          # index_put_ refuses any shared memory


def _is_index_put(key):
    """Whether PyTorch writes through key with index_put_ (which wants value's dtype to be self's): any
    index tensor but a 0-dim integer one (read as an int), a sequence, or a bool within a tuple key."""
    for k in (key if isinstance(key, tuple) else (key,)):
        if isinstance(k, Tensor) and (k.ndim or k.dtype is _dtype.bool or k.dtype is _dtype.uint8):
            return True
        if isinstance(k, (list, tuple)) or _xp.is_array(k) or (isinstance(k, bool) and isinstance(key, tuple)):
            return True
    return False


def _lone_byte_mask(key, value):
    """key's uint8 mask when it is key's only advanced index and value is one element, else None."""
    if isinstance(value, (list, tuple)) or _xp.is_array(value) or isinstance(value, Tensor) and value.numel() != 1:
        return None
    items = key if isinstance(key, tuple) else (key,)
    advanced = [k for k in items if isinstance(k, (Tensor, list, bool)) or _xp.is_array(k)]
    if len(advanced) == 1 and isinstance(advanced[0], Tensor) and advanced[0].dtype is _dtype.uint8 and \
            advanced[0].ndim:
        return advanced[0]
    return None


def _single_mask(k):
    """Whether a normalized key's only advanced index is a mask (its ints and slices are basic)."""
    advanced = [i for i in k if _xp.is_array(i) or isinstance(i, bool)]
    return len(advanced) == 1 and _xp.is_array(advanced[0]) and advanced[0].dtype == bool


def _index_put_dtypes(self, values):
    from ._util import _type_word
    raise RuntimeError(f"Index put requires the source and destination dtypes match, got {_type_word(self.dtype)} "
                       f"for the destination and {_type_word(values.dtype)} for the source.")


# -- gather / scatter along a dim ---------------------------------------------------------------
def _along(idx, dim, xp):
    """Full index tuple addressing, along dim, the positions idx names (others by position)."""
    nd = idx.ndim       # open grids built by hand: CuPy's indices() has no sparse=
    key = [xp.arange(n).reshape((1,) * i + (n,) + (1,) * (nd - i - 1)) for i, n in enumerate(idx.shape)]
    key[dim] = idx
    return tuple(key)


def _check_index_tensor(name, index, input, dim):
    """index, checked for gather/scatter along dim of input (an empty one of another dtype made int64)."""
    check_same_device(name, input, index)
    if index.dtype is not _dtype.int64 and index.dtype is not _dtype.int32 and index.numel():
        # (an empty index of any dtype is taken, as PyTorch takes it: it names no element)
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")
    if not index.numel():       # an empty index reads and writes nothing: PyTorch checks no sizes then
        return index if index.dtype._category == 1 else index.long()
    if index.ndim != input.ndim and not (index.ndim <= 1 and input.ndim <= 1):
        raise RuntimeError(f"Index tensor must have the same number of dimensions as input tensor")
    for d in range(index.ndim):
        if d != dim and index.shape[d] > (input.shape[d] if input.ndim else 1):
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(index.shape)} to be "
                               f"smaller than self {list(input.shape)} apart from dimension {dim}")
    if index.numel():
        n = input.shape[dim] if input.ndim else 1
        lo, hi = index_range(index._data)
        if lo < 0 or hi >= n:       # gather and scatter take no negative indices
            raise RuntimeError(f"index {lo if lo < 0 else hi} is out of bounds for dimension {dim} with size {n}")
    return index


class Gather(Function):
    """out[..., i, ...] = x[..., index[..., i, ...], ...] along dim"""
    _node_name = "GatherBackward0"

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.dim, ctx.in_shape = dim, x.shape
        ctx.index = index
        a = x._data
        xp = _xp.array_module(a)
        idx = index._data
        if a.ndim == 0:
            return a.reshape(idx.shape).copy() if idx.size else xp.zeros(idx.shape, a.dtype)
        key = _along(idx % a.shape[dim] if idx.size else idx, dim, xp)
        return a[key]

    @staticmethod
    def backward(ctx, grad):                     # scatter-add into zeros
        return scatter_along(grad, ctx.index._data, ctx.dim, ctx.in_shape), None, None


@register("gather")
@handles_out
def gather(input, dim, index, *, sparse_grad=False, out=None):
    dim = _wrap_dim(dim, input.ndim)
    index = _check_index_tensor("gather", index, input, dim)
    if not index.numel():           # nothing to read: an empty result of index's shape (no node needed)
        return input.reshape(-1)[:0].reshape(index.shape)
    if index.ndim == 0 or input.ndim == 0:      # 0-dim and 1-dim mix: as 1-dim tensors, then index's shape
        return Gather.apply(input.reshape(-1), 0, index.reshape(-1)).reshape(index.shape)
    return Gather.apply(input, dim, index)


class ScatterAlong(Function):
    """out = zeros(shape); out.scatter_add_(dim, idx, grad)"""

    @staticmethod
    def forward(ctx, grad, idx, dim, shape):
        ctx.idx, ctx.dim = idx, dim
        g = grad._data
        xp = _xp.array_module(g)
        out = xp.zeros(shape, g.dtype)
        if out.ndim == 0:
            return g.sum().astype(g.dtype).reshape(())
        _xp.scatter_add(out, _along(idx, dim, xp), g)
        return out

    @staticmethod
    def backward(ctx, gg):
        xp = _xp.array_module(gg._data)
        if gg.ndim == 0:
            return gg.expand(ctx.idx.shape), None, None, None
        return GatherByKey.apply(gg, _along(ctx.idx, ctx.dim, xp)), None, None, None


class GatherByKey(Function):
    @staticmethod
    def forward(ctx, x, key):
        ctx.key, ctx.shape = key, x.shape
        return x._data[key]

    @staticmethod
    def backward(ctx, grad):
        return IndexPutAccumulate.apply(grad, ctx.shape, ctx.key), None


def scatter_along(grad, idx, dim, shape):
    """Tensor of ``shape``: zeros, plus grad added at idx along dim (differentiable)."""
    if isinstance(idx, Tensor):
        idx = idx._data
    return ScatterAlong.apply(grad, idx, dim, tuple(shape))


class Scatter(Function):
    """out = x with out[index[i]] = src[i] along dim (reduce: 'add'/'multiply'/None)"""
    _node_name = "ScatterBackward0"

    @staticmethod
    def forward(ctx, x, dim, index, src, reduce):
        a = x._data.copy()
        xp = _xp.array_module(a)
        idx = index._data
        key = _along(idx, dim, xp)
        if isinstance(src, Tensor):
            s = src._data[tuple(slice(0, n) for n in idx.shape)].astype(a.dtype, copy=False)
        else:
            s = scalar_as(src, _BY_NP[a.dtype])
        ctx.dim, ctx.key, ctx.reduce = dim, key, reduce
        ctx.src_shape = src.shape if isinstance(src, Tensor) else None
        # a number becomes an array of index's shape on a's device (CuPy broadcasts no NumPy scalar)
        values = xp.broadcast_to(s, idx.shape) if isinstance(src, Tensor) else _xp.full(xp, idx.shape, s, a.dtype)
        if reduce is None:
            a[key] = values
        elif reduce == "add":
            _xp.scatter_add(a, key, values)
        elif reduce == "multiply":
            _reduce_at(np.multiply, a, key, values)
        else:
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        return a

    @staticmethod
    def backward(ctx, grad):
        if ctx.reduce == "multiply":
            raise RuntimeError("the derivative of scatter with reduce='multiply' is not implemented")
        g_self = grad.clone() if ctx.reduce == "add" else _zero_at(grad, ctx.key)
        g_src = None
        if ctx.src_shape is not None and ctx.needs_input_grad[3]:
            picked = GatherByKey.apply(grad, ctx.key)
            from .creation import zeros
            g_src = zeros(ctx.src_shape, dtype=grad.dtype, device=grad.device)
            g_src = _pad_to(picked, ctx.src_shape)
        return g_self, None, None, g_src, None


def _zero_at(grad, key):
    out = grad.clone()
    out[key] = 0
    return out


def _pad_to(t, shape):
    if tuple(t.shape) == tuple(shape):
        return t
    from .creation import zeros
    out = zeros(shape, dtype=t.dtype, device=t.device)
    out = out.clone()
    out[tuple(slice(0, n) for n in t.shape)] = t
    return out


def _reduce_at(ufunc, a, key, values):
    """ufunc.at(a, key, values) (positions named twice reduce together) on a contiguous a, on either device."""
    xp = _xp.array_module(a)
    if xp is np:
        ufunc.at(a, key, values)
        return
    if ufunc is np.add:
        _xp.scatter_add(a, key, values)
        return
    # CuPy's ufunc.at has no multiply, and its max/min drop NaN: reduce each run of equal positions with a
    # segmented scan over the sorted positions instead, in log2(n) steps that the shape fixes (no host read)
    op = getattr(xp, ufunc.__name__)
    flat_pos = 0
    for k, n in zip(key, a.shape):
        flat_pos = flat_pos * n + k % n
    pos = xp.broadcast_to(flat_pos, values.shape).reshape(-1)
    if not pos.size:
        return
    order = xp.argsort(pos)
    pos, v = pos[order], values.reshape(-1)[order]
    step = 1
    while step < pos.size:
        same_run = pos[step:] == pos[:-step]
        v = xp.concatenate((v[:step], xp.where(same_run, op(v[step:], v[:-step]), v[step:])))
        step *= 2
    # the last of each run holds its reduction; the others write to a spare slot past the end
    last = xp.concatenate((pos[1:] != pos[:-1], xp.ones(1, bool)))
    target = xp.where(last, pos, a.size)
    spare = xp.concatenate((a.reshape(-1), xp.zeros(1, a.dtype)))
    spare[target] = op(spare[target], v)
    a[...] = spare[:-1].reshape(a.shape)


_scatter_reduce_warned = [False]


def _warn_scatter_reduce_once():
    """PyTorch's TORCH_WARN_ONCE for scatter's reduce= with a tensor src."""
    if not _scatter_reduce_warned[0]:
        _scatter_reduce_warned[0] = True
        _warn_at_caller("The reduce argument of torch.scatter with Tensor src is deprecated and will be removed "
                        "in a future PyTorch release. Use torch.scatter_reduce instead for more reduction options.")


@register("scatter")
def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    if src is None:
        src = value
    out = _scatter(input, dim, index, src, reduce)
    if reduce is not None and isinstance(src, Tensor):
        _warn_scatter_reduce_once()
    return out


def _scatter(input, dim, index, src, reduce):
    dim = _wrap_dim(dim, input.ndim)
    index = _check_index_tensor("scatter", index, input, dim)
    _same_dtype(input, src, "scatter(): Expected self.dtype to be equal to src.dtype")
    if index.ndim == 0 or input.ndim == 0:      # 0-dim and 1-dim mix: as 1-dim tensors, then input's shape
        flat_src = src.reshape(-1) if isinstance(src, Tensor) else src
        return _scatter(input.reshape(-1), 0, index.reshape(-1), flat_src, reduce).reshape(input.shape)
    if reduce == "add" and isinstance(src, Tensor):
        node = "ScatterAddBackward0"
    else:
        node = "ScatterBackward0" if isinstance(src, Tensor) else "ScatterBackward1"
    return Scatter.named(node).apply(input, dim, index, src, reduce)


@register("scatter_add")
def scatter_add(input, dim, index, src):
    return _scatter(input, dim, index, src, "add")


def _scatter_inplace(self, dim, index, src=None, value=None, *, reduce=None):
    src = src if src is not None else value
    out = _scatter_into(self, dim, index, src, reduce)
    if reduce is not None and isinstance(src, Tensor):
        _warn_scatter_reduce_once()
    return out


def _scatter_into(self, dim, index, src, reduce):
    """self.scatter_(dim, index, src, reduce=reduce), without scatter_'s deprecation warning (scatter_add_)."""
    check_no_overlap(self, src)
    r = _scatter(self, dim, index, src, reduce)
    if recording(self, src):
        from .views import rebase_history
        check_inplace_autograd(self)
        write_inplace(self, r._data, "scatter")
        rebase_history(self, r)
        return self
    return write_inplace(self, r._data, "scatter")


Tensor.scatter_ = _scatter_inplace
Tensor.scatter_add_ = lambda self, dim, index, src: _scatter_into(self, dim, index, src, "add")


class ScatterReduce(Function):
    """out = x with src reduced into it at index along dim (sum, prod, mean, amax, amin)."""
    _node_name = "ScatterReduceBackward0"

    @staticmethod
    def forward(ctx, x, dim, index, src, reduce, include_self):
        if reduce == "mean" and x.dtype is _dtype.bool:
            raise NotImplementedError("\"scatter_gather_tensor_cpu_reduce_mean\" not implemented for 'Bool'")
        a = x._data.copy()
        xp = _xp.array_module(a)
        key = _along(index._data, dim, xp)
        s = src._data[tuple(slice(0, n) for n in index.shape)].astype(a.dtype)
        touched = xp.zeros(a.shape, bool)
        touched[key] = True
        if not include_self:
            low, high = ((-np.inf, np.inf) if a.dtype.kind in "fc" else (False, True) if a.dtype.kind == "b"
                         else (np.iinfo(a.dtype).min, np.iinfo(a.dtype).max))
            start = {"sum": 0, "mean": 0, "prod": 1, "amax": low, "amin": high}[reduce]
            a = xp.where(touched, xp.asarray(start, a.dtype), a)
        ufunc = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}[reduce]
        _reduce_at(ufunc, a, key, s)
        count = None
        if reduce == "mean":
            count = xp.zeros(a.shape, np.int64) + (1 if include_self else 0)
            _reduce_at(np.add, count, key, xp.ones(index.shape, np.int64))
            count = xp.maximum(count, 1)
            a = (a / count if a.dtype.kind == "f" else a // count).astype(a.dtype, copy=False)
        ctx.dim, ctx.reduce, ctx.include_self = dim, reduce, include_self
        ctx.key, ctx.touched, ctx.count = key, touched, count
        ctx.src_shape, ctx.index_shape, ctx.index = src.shape, index.shape, index
        ctx.save_for_backward(x, src)
        ctx.result = a
        return a

    @staticmethod
    def backward(ctx, grad):
        x, src = ctx.saved_tensors
        key, reduce = ctx.key, ctx.reduce
        touched = _make(ctx.touched)
        keep_self = 1.0 if ctx.include_self else (~touched).to(grad.dtype)
        if reduce == "sum":                       # every contribution gets the output's grad
            g_self, g_src = grad * keep_self, GatherByKey.apply(grad, key)
        elif reduce == "mean":                    # each contribution is divided by the count
            g = grad / _make(ctx.count.astype(grad._data.dtype))
            g_self, g_src = g * keep_self, GatherByKey.apply(g, key)
        elif reduce in ("amax", "amin"):          # the grad is shared evenly among the elements equal to it
            out = _make(ctx.result)
            xd, sd = x.detach(), src.detach()[tuple(slice(0, n) for n in ctx.index_shape)]
            hit_self = (xd == out).to(grad.dtype) * keep_self
            hit_src = (sd == GatherByKey.apply(out, key)).to(grad.dtype)
            count = hit_self + IndexPutAccumulate.apply(hit_src, tuple(x.shape), key)
            g = grad / count.clamp(min=1)
            g_self, g_src = g * hit_self, GatherByKey.apply(g, key) * hit_src
        else:                                     # prod: the product of the others, zeros included
            out = _make(ctx.result)
            sd = src[tuple(slice(0, n) for n in ctx.index_shape)]
            index, dim, include_self = ctx.index, ctx.dim, ctx.include_self
            # self: its own factor replaced by 1 (the product of the others even where self is 0)
            masked_self = x.masked_fill(x == 0, 1)
            # (ScatterReduce itself: the index was range-checked by the forward, no second read)
            g_self = grad * ScatterReduce.apply(masked_self, dim, index, sd, "prod", include_self) / masked_self \
                * keep_self
            # src: out / src where src is not 0; where it is the only 0 of its slot, the product of the
            # others is out with that factor replaced by 1; with two zeros or more, it is 0 (out is)
            src_zero = sd == 0
            zeros_in_slot = IndexPutAccumulate.apply(src_zero.to(grad.dtype), tuple(x.shape), key)
            single_zero = src_zero & (GatherByKey.apply(zeros_in_slot, key) == 1)
            others = ScatterReduce.apply(x, dim, index, sd.masked_fill(single_zero, 1), "prod", include_self)
            g_src = GatherByKey.apply(grad * out, key) / sd.masked_fill(src_zero, 1)
            g_src = g_src.where(~single_zero, GatherByKey.apply(grad * others, key))
        if tuple(g_src.shape) != tuple(ctx.src_shape):
            g_src = _pad_to(g_src, ctx.src_shape)
        return g_self, None, None, g_src, None, None


@register("scatter_reduce")
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    dim = _wrap_dim(dim, input.ndim)
    index = _check_index_tensor("scatter_reduce", index, input, dim)
    _same_dtype(input, src, "scatter(): Expected self.dtype to be equal to src.dtype")
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if index.ndim == 0 or input.ndim == 0:      # 0-dim and 1-dim mix: as 1-dim tensors, then input's shape
        return ScatterReduce.apply(input.reshape(-1), 0, index.reshape(-1), src.reshape(-1), reduce,
                                   include_self).reshape(input.shape)
    return ScatterReduce.apply(input, dim, index, src, reduce, include_self)


def _scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    check_no_overlap(self, src)
    if index.ndim == 0 or self.ndim == 0:       # the out-of-place form's 1-dim view of them, copied back
        return self.copy_(scatter_reduce(self, dim, index, src, reduce, include_self=include_self))
    return apply_inplace(self, ScatterReduce, _wrap_dim(dim, self.ndim), _checked(self, dim, index), src, reduce,
                         include_self)


Tensor.scatter_reduce_ = _scatter_reduce_


def _checked(input, dim, index):
    return _check_index_tensor("scatter_reduce", index, input, _wrap_dim(dim, input.ndim))


# -- index_* ----------------------------------------------------------------------------------
# PyTorch's exception type per op for an index out of range
_INDEX_RANGE_ERRORS = {"index_select": RuntimeError, "index_add": RuntimeError, "index_add_": IndexError,
                       "index_fill": IndexError, "index_copy": IndexError}


def _index_vector(index, name, size, dim, input):
    """The index of an index_* op as a flat array, checked (device, type, rank, range) before any work."""
    if not isinstance(index, Tensor):
        from .creation import tensor
        index = tensor(index, device=input.device)
    check_same_device(name, input, index)
    range_error = _INDEX_RANGE_ERRORS[name]
    _check_index_form(index, name.rstrip("_"))
    idx = index._data.reshape(-1)
    if idx.size:
        lo, hi = index_range(idx)
        if name == "index_select" and (lo < 0 or hi >= size):
            # torch's index_select takes no negative indices; its kernel along dim 1 words the error its own way
            bad = hi if hi >= size else lo
            if input.ndim >= 2 and size == 0:
                raise RuntimeError("index_select(): self indexing axis dim should be positive")
            if input.ndim >= 2 and (dim == 1 or input.numel() == 0):
                raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={size}")
            raise IndexError("index out of range in self")
        # only index_fill counts negative indices from the end
        if lo < (-size if name == "index_fill" else 0) or hi >= size:
            bad = lo if lo < 0 else hi
            if name.startswith("index_add") and input.ndim <= 1:
                raise IndexError("index out of range in self")     # its 1-dim kernel's own check
            prefix = "index_copy_(): " if name == "index_copy" else ""
            raise range_error(f"{prefix}index {bad} is out of bounds for dimension {dim} with size {size}")
    return idx


def _check_index_form(index, name):
    """PyTorch's errors for an index_* op's index of rank above 1 or of a wrong dtype, in each op's order and
    words (index_add, index_copy and index_fill name their in-place kernels)."""
    word = _type_word(index.dtype)
    bad_dtype = index.dtype not in ((_dtype.int64,) if name in ("index_fill", "index_copy") else
                                    (_dtype.int64, _dtype.int32))
    if name == "index_fill":
        if bad_dtype:
            raise IndexError("index_fill_(): Expected dtype int64 for index.")
        if index.ndim > 1:
            raise RuntimeError("Index has to be a vector/scalar")
        return
    if index.ndim > 1:
        raise IndexError({"index_select": "index_select(): Index is supposed to be a vector",
                          "index_add": f"index_add_(): Index is supposed to be a vector, but got dim: {index.ndim} "
                                       f"with type: {word} and size: {list(index.shape)}",
                          "index_copy": f"index_copy_(): Index should have dimension 1 or 0 (got {index.ndim})"}[name])
    if bad_dtype:
        raise RuntimeError({"index_select": "index_select(): Expected dtype int32 or int64 for index",
                            "index_add": f"index_add_(): Expected dtype int32/int64 for index but got: {word}",
                            "index_copy": f"index_copy_(): Expected a long tensor for index, but got {word}"}[name])


_IndexSelect = AdvancedIndex.named("IndexSelectBackward0")
_IndexSelect._result_layout = "rows"          # as PyTorch's (Function.apply)


@register("index_select")
@handles_out
def index_select(input, dim, index, *, out=None):
    dim = _wrap_dim(dim, input.ndim)
    idx = _index_vector(index, "index_select", input.shape[dim] if input.ndim else 1, dim, input)
    if input.ndim == 0:         # a 0-dim input gives a 0-dim result for a one-element index
        return input.reshape(1)[idx].reshape(() if idx.size == 1 else tuple(index.shape))
    key = (slice(None),) * dim + (idx,)
    return _IndexSelect.apply(input, key)


@register("index_add")
def index_add(input, dim, index, source, *, alpha=1):
    dim = _wrap_dim(dim, input.ndim)
    idx = _index_vector(index, "index_add", input.shape[dim] if input.ndim else 1, dim, input)
    _same_dtype(input, source, "index_add_(): self ({self}) and source ({source}) must have the same scalar type")
    _check_source_slices(input, dim, source)
    if input.ndim and idx.size != source.shape[dim]:
        raise RuntimeError(f"index_add_(): Number of indices ({idx.size}) should be equal to source.size(dim): "
                           f"({source.shape[dim]}), for dim: {dim}")
    src = source if alpha == 1 else source * alpha
    if input.ndim == 0:             # as a 1-element vector
        return IndexAdd.apply(input.reshape(1), (idx,), src.reshape(-1)).reshape(())
    return IndexAdd.apply(input, (slice(None),) * dim + (idx,), src)


class IndexAdd(Function):
    """out = x with src added at key (repeated indices accumulate)."""
    _node_name = "IndexAddBackward0"

    @staticmethod
    def forward(ctx, x, key, src):
        ctx.key = key
        out = x._data.copy()
        _xp.scatter_add(out, key, _xp.astype(src._data, out.dtype, copy=False))
        return out

    @staticmethod
    def backward(ctx, grad):                 # x: grad as is; src: grad read where it was added
        return grad, None, GatherByKey.apply(grad, ctx.key)


@register("index_copy")
def index_copy(input, dim, index, source):
    dim = _wrap_dim(dim, input.ndim)
    idx = _index_vector(index, "index_copy", input.shape[dim] if input.ndim else 1, dim, input)
    _same_dtype(input, source, "index_copy_(): self and source expected to have the same dtype, but got (self) "
                               "{self} and (source) {source}")
    _check_copy_slices(input, dim, idx, source)
    if input.ndim == 0:             # as a 1-element vector
        return IndexPut.named("IndexCopyBackward0").apply(input.reshape(1), source.reshape(-1), (idx,)).reshape(())
    return IndexPut.named("IndexCopyBackward0").apply(input, source, (slice(None),) * dim + (idx,))


def _check_source_slices(input, dim, source):
    """index_add's and index_reduce's check: source has input's shape but along dim."""
    if source.ndim != input.ndim or any(s != n for i, (s, n) in enumerate(zip(source.shape, input.shape)) if i != dim):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the specified dimension. "
                           f"Got self.shape = {list(input.shape)} source.shape = {list(source.shape)}")


def _check_copy_slices(input, dim, idx, source):
    """index_copy's checks of source against input, in PyTorch's order and words."""
    if source.ndim == 0 or input.ndim == 0:
        return
    if source.ndim != input.ndim:
        raise IndexError(f"index_copy_(): When source and destination are not scalars, their dimensionality must "
                         f"match. Source dimensionality ({source.ndim}), destination dimensionality ({input.ndim})")
    kept = [i for i in range(input.ndim) if i != dim]
    for k, i in enumerate(kept):
        if source.shape[i] != input.shape[i]:
            raise RuntimeError(f"index_copy_(): Source/destination tensor must have same slice shapes. Destination "
                               f"slice shape: {input.shape[i]} at dimension {k} and source slice shape: "
                               f"{source.shape[i]} at dimension {k}.")
    if idx.size != source.shape[dim]:
        raise IndexError(f"index_copy_(): Number of indices ({idx.size}) should be equal to source.size(dim) "
                         f"({source.shape[dim]})")


@register("index_fill")
def index_fill(input, dim, index, value):
    dim = _wrap_dim(dim, input.ndim)
    idx = _index_vector(index, "index_fill", input.shape[dim] if input.ndim else 1, dim, input)
    value = _checked_fill(value, input)
    if input.ndim == 0:             # as a 1-element vector
        return IndexFill.apply(input.reshape(1), value, (idx,)).reshape(())
    return IndexFill.apply(input, value, (slice(None),) * dim + (idx,))


def _checked_fill(value, input):
    """A fill value checked against input's dtype (see _dtype.fill_value); a 0-dim CPU tensor is read as
    its number, as PyTorch's CPU kernels read it (its CUDA kernels read a CUDA value unchecked)."""
    if not isinstance(value, Tensor):
        return _dtype.fill_value(value, input.dtype)
    if value.ndim == 0 and type(value._data) is np.ndarray:
        _dtype.fill_value(value.item(), input.dtype)
    return value


def _inplace_from(fn, name):
    def method(self, *args, **kwargs):
        r = fn(self, *args, **kwargs)
        if recording(self, *[a for a in args if isinstance(a, Tensor)]):
            from .views import rebase_history
            check_inplace_autograd(self)
            write_inplace(self, r._data, name)
            rebase_history(self, r)
            return self
        check_inplace_autograd(self)
        return write_inplace(self, r._data, name)
    method.__name__ = name + "_"
    return method


_index_add_inplace = _inplace_from(index_add, "index_add")


def _index_add_(self, dim, index, source, *, alpha=1):
    d = _wrap_dim(dim, self.ndim)
    _index_vector(index, "index_add_", self.shape[d] if self.ndim else 1, d, self)   # in place: IndexError
    check_no_overlap(self, source)
    return _index_add_inplace(self, dim, index, source, alpha=alpha)


_index_copy_inplace = _inplace_from(index_copy, "index_copy")


def _index_copy_(self, dim, index, source):
    check_no_overlap(self, source)
    return _index_copy_inplace(self, dim, index, source)


Tensor.index_add_ = _index_add_
Tensor.index_copy_ = _index_copy_
Tensor.index_fill_ = _inplace_from(index_fill, "index_fill")


def index_put(input, indices, values, accumulate=False):
    if values.dtype is not input.dtype:
        _index_put_dtypes(input, values)
    out = input.clone()
    key = tuple(indices)
    if accumulate:          # added at the positions only: the others keep their values (-0.0 included)
        k, _ = _normalize_key(input, key)
        return IndexAdd.named("IndexPutBackward0").apply(input, k, values.expand(input._data[k].shape))
    out[key] = values
    return out


Tensor.index_put = index_put
Tensor.index_put_ = _inplace_from(index_put, "index_put")


# -- masks ------------------------------------------------------------------------------------
class MaskedFill(Function):
    _node_name = "MaskedFillBackward0"
    _result_layout = "rows"           # PyTorch fills a contiguous clone (Function.apply)

    @staticmethod
    def forward(ctx, x, mask, value):
        a = x._data
        xp = _xp.array_module(a)
        v = value._data if isinstance(value, Tensor) else value
        if _xp.is_array(v):
            v = _xp.astype(v, a.dtype, copy=False)
        ctx.save_for_backward(mask)
        return xp.where(mask._data, _xp.full(xp, (), v, a.dtype), a)

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        from .pointwise import where
        zero = grad.new_zeros(())
        gv = where(mask, grad, zero).sum() if ctx.needs_input_grad[2] else None
        return where(mask, zero, grad), None, gv


def _check_mask(mask, name, input):
    """PyTorch's checks of a boolean mask; each op words the dtype message its own way."""
    op = name.rstrip("_:")
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}(): argument 'mask' (position 1) must be Tensor, not {type(mask).__name__}")
    if mask.ndim:
        check_same_device(op, input, mask)
    if mask.dtype is _dtype.bool:
        return
    if op == "masked_select":
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    if op == "masked_scatter":
        if mask.dtype is _dtype.uint8:     # PyTorch still warns of the old byte masks before refusing them
            from ._util import caller_level
            warnings.warn("masked_scatter_ received a mask with dtype torch.uint8, this behavior is now deprecated,"
                          "please use a mask with dtype torch.bool instead.", UserWarning, stacklevel=caller_level())
        dtype_name = _type_word(mask.dtype)
    else:
        from .blas import _C_NAMES
        dtype_name = _C_NAMES.get(mask.dtype.name, mask.dtype.name)
    raise RuntimeError(f"{name} only supports boolean masks, but got mask with dtype {dtype_name}")


@register("masked_fill")
def masked_fill(input, mask, value):
    _check_mask(mask, "masked_fill_", input)
    broadcast_shapes(mask.shape, input.shape)     # PyTorch expands the mask first: its size is "tensor a"
    return _masked_fill(input, mask, value)


def _masked_fill(input, mask, value):
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    value = _checked_fill(value, input)
    return MaskedFill.apply(input, mask, value)


_masked_fill_inplace = _inplace_from(_masked_fill, "masked_fill")


def _masked_fill_(self, mask, value):
    _check_mask(mask, "masked_fill_", self)
    broadcast_shapes(self.shape, mask.shape)      # in place, self's size is "tensor a"
    return _masked_fill_inplace(self, mask, value)


_masked_fill_.__name__ = "masked_fill_"
Tensor.masked_fill_ = _masked_fill_


@register("masked_select")
def masked_select(input, mask, *, out=None):
    return _out(_masked_select(input, mask), out)


def _masked_select(input, mask):
    _check_mask(mask, "masked_select:", input)
    from .views import broadcast_tensors
    x, m = broadcast_tensors(input, mask)
    return AdvancedIndex.named("MaskedSelectBackward0").apply(x, (m._data,))


@register("masked_scatter")
def masked_scatter(input, mask, source):
    _check_mask(mask, "masked_scatter_", input)
    broadcast_shapes(mask.shape, input.shape)     # as masked_fill: the mask's size is "tensor a"
    return _masked_scatter(input, mask, source)


def _masked_scatter(input, mask, source):
    _same_dtype(input, source, "masked_scatter: expected self and source to have same dtypes but got{self} and "
                               "{source}")
    x = input if mask.shape == input.shape else input.expand(np.broadcast_shapes(input.shape, mask.shape))
    m = mask.expand(x.shape)
    n = int(m._data.sum())
    if source.numel() < n:
        raise RuntimeError("masked_scatter: expected source to have at least as many elements as ones in mask")
    return IndexPut.named("MaskedScatterBackward0").apply(x, source.reshape(-1)[:n], (m._data,))


_masked_scatter_inplace = _inplace_from(_masked_scatter, "masked_scatter")


def _masked_scatter_(self, mask, source):
    _check_mask(mask, "masked_scatter_", self)
    mask.expand(self.shape)                       # in place the mask must expand to self: expand's error
    return _masked_scatter_inplace(self, mask, source)


_masked_scatter_.__name__ = "masked_scatter_"
Tensor.masked_scatter_ = _masked_scatter_


@register("nonzero")
@handles_out
def nonzero(input, *, as_tuple=False, out=None):
    a = input._data
    xp = _xp.array_module(a)
    if as_tuple:
        if a.ndim == 0:
            return (_make(xp.zeros(int(bool(a)), np.int64)),)
        return tuple(_make(i.astype(np.int64)) for i in xp.nonzero(a))
    if a.ndim == 0:
        return _make(xp.zeros((int(bool(a)), 0), np.int64))
    return _make(xp.argwhere(a).astype(np.int64))


@register("argwhere")
def argwhere(input):
    return nonzero(input)


@register("take")
def take(input, index, *, out=None):
    if index.dtype is not _dtype.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {_type_word(index.dtype)}")
    check_same_device("take", input, index)
    idx = index._data
    n = input.numel()
    if idx.size:
        lo, hi = index_range(idx)
        if lo < -n or hi >= n:
            raise IndexError(f"out of range: tried to access index {hi if hi >= n else lo} on a tensor of {n} "
                             f"elements.")
    return _out(AdvancedIndex.named("TakeBackward0").apply(input.reshape(-1), (idx,)), out)


@register("take_along_dim")
def take_along_dim(input, indices, dim=None, *, out=None):
    return _out(_take_along_dim(input, indices, dim), out)


def _take_along_dim(input, indices, dim=None):
    if dim is None:         # a gather of the flattened input: no negative indices
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if input.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    if indices.dtype is not _dtype.int64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{_type_word(indices.dtype)}")
    dim = _wrap_dim(dim, input.ndim)
    n = input.shape[dim] if input.ndim else 1
    if indices.numel() and n:      # along a dim PyTorch takes every index modulo the size, as Python's %
        indices = _make(indices._data % n)
    from ._util import broadcast_shapes
    shape = list(broadcast_shapes(tuple(s if i != dim else 1 for i, s in enumerate(input.shape)),
                                  tuple(s if i != dim else 1 for i, s in enumerate(indices.shape))))
    ishape = list(shape)
    ishape[dim] = indices.shape[dim]
    xshape = list(shape)
    xshape[dim] = input.shape[dim]
    return gather(input.expand(xshape), dim, indices.expand(ishape))


class Put(Function):
    """out = x with out.flatten()[index] = source (or += with accumulate)"""
    _node_name = "PutBackward0"

    @staticmethod
    def forward(ctx, x, index, source, accumulate):
        a = _clone_flat_writable(x._data)
        flat = a.reshape(-1)
        idx = index._data.reshape(-1)
        src = source._data.reshape(-1).astype(a.dtype)
        if accumulate:
            _xp.scatter_add(flat, idx, src)
        else:
            flat[idx] = src
        ctx.idx, ctx.accumulate, ctx.src_shape = idx, accumulate, source.shape
        return a

    @staticmethod
    def backward(ctx, grad):          # x: grad, zero where overwritten; source: grad at its positions
        g_x = grad
        if not ctx.accumulate:
            g_x = grad.clone()
            g_x.reshape(-1)[_make(ctx.idx)] = 0
        g_src = grad.reshape(-1)[_make(ctx.idx)].reshape(ctx.src_shape)
        return g_x, None, g_src, None


def _clone_flat_writable(a):
    return a.copy(order="C")         # (ascontiguousarray would make a 0-dim array 1-dim)


def _check_put(self, index, source):
    if index.dtype is not _dtype.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got {_type_word(index.dtype)}")
    check_same_device("put_", self, index, source)
    n = self.numel()
    idx = index._data
    if idx.size:
        lo, hi = index_range(idx)
        if lo < -n or hi >= n:
            raise IndexError(f"out of range: tried to access index {hi if hi >= n else lo} on a tensor of {n} "
                             f"elements.")
    if source.dtype is not self.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got self.dtype = "
                           f"{_type_word(self.dtype)} and source.dtype = {_type_word(source.dtype)}")
    if index.numel() != source.numel():
        raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                           f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")


@register("put_")
def put_(self, index, source, accumulate=False):
    _check_put(self, index, source)
    check_no_overlap(self, source)
    return apply_inplace(self, Put, index, source, accumulate)


@register("put")
def put(input, index, source, accumulate=False):
    _check_put(input, index, source)
    return Put.apply(input, index, source, accumulate)


# -- scatter-style view writes ------------------------------------------------------------------
def select_scatter(input, src, dim, index):
    out = input.clone()
    out.select(dim, index).copy_(src)
    return out


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    out = input.clone()
    key = (slice(None),) * _wrap_dim(dim, input.ndim) + (slice(start, end, step),)
    out[key] = src
    return out


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    out = input.clone()
    out.diagonal(offset, dim1, dim2).copy_(src)
    return out


# -- reordering -------------------------------------------------------------------------------
class Flip(Function):
    _node_name = "FlipBackward0"
    _result_layout = "like"          # PyTorch flips into empty_like(input)

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return _xp.array_module(x._data).flip(x._data, dims).copy()

    @staticmethod
    def backward(ctx, grad):
        return grad.flip(ctx.dims), None


@register("flip")
def flip(input, *dims, **kwargs):
    if kwargs:
        dims = dims_argument("flip", dims, kwargs)
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = tuple(dims[0])
    from ._util import wrap_dims
    d = wrap_dims(dims, input.ndim) if input.ndim else ()
    return Flip.apply(input, d)


@register("fliplr")
def fliplr(input):
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, 1)


@register("flipud")
def flipud(input):
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


class Roll(Function):
    _node_name = "RollBackward0"
    _result_layout = "rows"           # as PyTorch's (Function.apply)

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return _xp.array_module(x._data).roll(x._data, shifts, dims)

    @staticmethod
    def backward(ctx, grad):
        neg = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return Roll.apply(grad, neg, ctx.dims), None, None


@register("roll")
def roll(input, shifts, dims=None):
    if isinstance(shifts, (list, tuple)) and not shifts:
        raise RuntimeError("`shifts` required")
    if input.ndim == 0 and dims is not None:
        raise IndexError(f"Dimension specified as {dims if isinstance(dims, int) else dims[0]} but tensor has no "
                         "dimensions")
    if dims is None:              # rolls the flattened tensor, in one node (RollBackward0) as torch's
        return Roll.apply(input, shifts, None)
    shifts = tuple(shifts) if isinstance(shifts, (list, tuple)) else (shifts,)
    dims = tuple(dims) if isinstance(dims, (list, tuple)) else (dims,)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    return Roll.apply(input, shifts, tuple(_wrap_dim(d, input.ndim) for d in dims))


class Rot90(Function):
    """out = x rotated k quarter turns from dims[0] towards dims[1]"""
    _node_name = "Rot90Backward0"

    @staticmethod
    def forward(ctx, x, k, d0, d1):
        ctx.k, ctx.dims = k, (d0, d1)
        a = x._data
        xp = _xp.array_module(a)
        # PyTorch's layout: a contiguous flip, transposed for odd k
        if k == 0:
            return a.copy()
        if k == 2:
            return xp.ascontiguousarray(xp.flip(a, (d0, d1)))
        return xp.ascontiguousarray(xp.flip(a, d1 if k == 1 else d0)).swapaxes(d0, d1)

    @staticmethod
    def backward(ctx, grad):                     # rotate back
        return Rot90.apply(grad, (4 - ctx.k) % 4, *ctx.dims), None, None, None


@register("rot90")
def rot90(input, k=1, dims=(0, 1)):
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = (_wrap_dim(d, input.ndim) for d in dims)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    return Rot90.apply(input, k % 4, d0, d1)


@register("repeat_interleave")
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    # The output's size depends on the repeat counts: they are read by the host (as in PyTorch).
    xp = _xp.array_module(input._data)
    if repeats is None:      # repeat_interleave(repeats_tensor)
        reps = _xp.to_host(input._data)
        return _make(xp.asarray(np.repeat(np.arange(reps.shape[0]), reps).astype(np.int64)))
    x = input
    if dim is None:
        x, dim = input.reshape(-1), 0
    dim = _wrap_dim(dim, x.ndim)
    if not isinstance(repeats, Tensor):
        # PyTorch's composition for a count: unsqueeze, expand, clone, flatten (ViewBackward0)
        if repeats < 0:
            raise RuntimeError("Repeats must be non-negative")
        shape = list(x.shape)
        shape.insert(dim + 1, repeats)
        return x.unsqueeze(dim + 1).expand(shape).clone().flatten(dim, dim + 1)
    reps = _xp.to_host(repeats._data)
    idx = np.repeat(np.arange(x.shape[dim]), reps)
    return index_select(x, dim, _make(xp.asarray(idx.astype(np.int64))))


@register("narrow_copy")
def narrow_copy(input, dim, start, length, *, out=None):
    return _out(_narrow_copy(input, dim, start, length), out)


def _narrow_copy(input, dim, start, length):
    return input.narrow(dim, start, length).clone()


@register("repeat")
def repeat(self, *sizes):
    from .views import _sizes
    sizes = _sizes(sizes)
    if len(sizes) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                           "tensor")
    if any(r < 0 for r in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(sizes)}: {list(sizes)}")
    return Repeat.apply(self, sizes)


class Repeat(Function):
    """out = x tiled sizes[i] times along each dim (leading 1s added to x's shape)."""
    _node_name = "RepeatBackward0"

    @staticmethod
    def forward(ctx, x, sizes):
        a = x._data
        shape = (1,) * (len(sizes) - a.ndim) + a.shape
        ctx.in_shape, ctx.sizes, ctx.shape = x.shape, sizes, shape
        return _xp.array_module(a).tile(a.reshape(shape), sizes)

    @staticmethod
    def backward(ctx, grad):                 # sum the copies: (r0, n0, r1, n1, ...) summed over the r axes
        inter = [v for r, n in zip(ctx.sizes, ctx.shape) for v in (r, n)]
        g = grad.reshape(inter).sum(tuple(range(0, len(inter), 2))) if inter else grad
        return g.reshape(ctx.in_shape), None


@register("tile")
def tile(input, dims):
    if not isinstance(dims, (tuple, list, Size)):
        raise TypeError(f"tile(): argument 'dims' (position 2) must be tuple of ints, not {type(dims).__name__}")
    dims = tuple(dims)
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


def _tile_method(self, *dims):
    """``x.tile(2, 1)`` or ``x.tile((2, 1))``."""
    return tile(self, dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list, Size)) else dims)


Tensor.tile = _tile_method


# -- *_scatter: a copy of input with src written into one of its views ---------------------------
def _scatter_into_view(input, src, view_of):
    """input's copy with src copied into view_of(copy) (differentiable through the in-place copy)."""
    out = input.clone()
    view = view_of(out)
    if tuple(view.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(view.shape)}")
    view.copy_(src)
    return out


@register("diagonal_scatter")
def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    return _scatter_into_view(input, src, lambda t: t.diagonal(offset, dim1, dim2))


@register("select_scatter")
def select_scatter(input, src, dim, index):
    return _scatter_into_view(input, src, lambda t: t.select(dim, index))


@register("slice_scatter")
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    d = _wrap_dim(dim, input.ndim)
    key = (slice(None),) * d + (slice(start, end, step),)
    return _scatter_into_view(input, src, lambda t: t[key])


@register("as_strided_scatter")
def as_strided_scatter(input, src, size, stride, storage_offset=None):
    return _scatter_into_view(input, src, lambda t: t.as_strided(size, stride, storage_offset))


# -- index_reduce: scatter_reduce along one dim with a 1-D index -----------------------------------
_index_reduce_warned = [False]


def _index_as_scatter(self, dim, index, source, include_self):
    d = _wrap_dim(dim, self.ndim)
    if index.ndim > 1:
        raise IndexError("index_reduce_(): Index is supposed to be a vector")
    if index.dtype not in (_dtype.int64, _dtype.int32):
        raise RuntimeError(f"index_reduce_(): Expected dtype int32/int64 for index but got: {_type_word(index.dtype)}")
    if source.ndim and source.shape[d] != index.numel():
        raise RuntimeError(f"index_reduce_(): Number of indices ({index.numel()}) should be equal to "
                           f"source.size(dim): ({source.shape[d]}), for dim: {d}")
    if not _index_reduce_warned[0]:         # PyTorch's TORCH_WARN_ONCE, after the argument checks
        _index_reduce_warned[0] = True
        _warn_at_caller("index_reduce() is in beta and the API may change at any time.")
    # PyTorch takes no negative index here; without include_self its first pass (filling the
    # reduction's identity) wraps negatives and names the first index outside [-n, n)
    n, idx = self.shape[d] if self.ndim else 1, index._data
    if idx.size and bool(((idx < 0) | (idx >= n)).any()):
        outside = idx[(idx < -n) | (idx >= n)]
        if not include_self and outside.size:
            raise IndexError(f"index {int(outside[0])} is out of bounds for dimension {d} with size {n}")
        raise IndexError("index out of range in self")
    shape = [1] * max(source.ndim, 1)
    shape[d] = -1
    return d, index.to(_dtype.int64).reshape(shape).expand(source.shape if source.ndim else (1,))


@register("index_reduce")
def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """input with the rows source[i] reduced into rows index[i] along dim (prod, mean, amax, amin)."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    _same_dtype(input, source, "index_reduce_(): self ({self}) and source ({source}) must have the same scalar type")
    _check_source_slices(input, _wrap_dim(dim, input.ndim), source)
    d, idx = _index_as_scatter(input, dim, index, source, include_self)
    return scatter_reduce(input, d, idx, source, reduce, include_self=include_self)


def _index_reduce_(self, dim, index, source, reduce, *, include_self=True):
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    _check_source_slices(self, _wrap_dim(dim, self.ndim), source)
    d, idx = _index_as_scatter(self, dim, index, source, include_self)
    return self.scatter_reduce_(d, idx, source, reduce, include_self=include_self)


Tensor.index_reduce_ = _index_reduce_


# -- fill_diagonal_ ----------------------------------------------------------------------------
def _fill_diagonal_(self, fill_value, wrap=False):
    """Writes fill_value on the main diagonal (all dims equal, or a tall matrix: wrap restarts it
    every ncols + 1 rows, as NumPy and torch do)."""
    if self.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if self.ndim > 2 and len(set(self.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    n = min(self.shape)
    if self.ndim == 2 and wrap and self.shape[0] > self.shape[1] + 1:
        rows = [i for i in range(self.shape[0]) if i % (self.shape[1] + 1) < self.shape[1]]
        cols = [i % (self.shape[1] + 1) for i in rows]
        key = (rows, cols)
    else:
        key = tuple([list(range(n))] * self.ndim)
    from .creation import tensor
    idx = tuple(tensor(k, device=self.device) for k in key)
    return self.index_put_(idx, tensor(fill_value, dtype=self.dtype, device=self.device))


Tensor.fill_diagonal_ = _fill_diagonal_
__all__ += ["diagonal_scatter", "select_scatter", "slice_scatter", "as_strided_scatter", "index_reduce"]
