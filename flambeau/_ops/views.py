"""View ops: new shape/strides over the same storage, and their backwards.

Every Function here has ``_is_view = True``: its output shares its input's storage and
version counter. Also here: how in-place ops on views rebase history (CopySlices).
"""
import itertools

import numpy as np

from .. import _dtype, _xp
from .._tensor import Tensor, _make, _wrap_dim, Size
from ..autograd import grad_mode
from ..autograd.grad_mode import refuse_inference_write
from ..autograd.function import Function, _sequence
from ._util import _type_word, dims_argument, mark_no_grad_view, register, recording, wrap_dims

__all__ = ["reshape", "narrow", "transpose", "swapaxes", "swapdims", "t", "permute", "squeeze",
           "unsqueeze", "flatten", "unflatten", "select", "diagonal", "as_strided", "chunk", "split",
           "tensor_split", "unbind", "movedim", "moveaxis", "expand_copy", "broadcast_to", "broadcast_tensors",
           "hsplit", "vsplit", "dsplit", "atleast_1d", "atleast_2d", "atleast_3d", "view_as_real",
           "view_as_complex", "adjoint"]


def _sizes(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size)):
        args = tuple(args[0])
    out = []
    for a in args:
        if isinstance(a, Tensor):
            a = int(a.item())
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"size must be a sequence of ints, got an element of type {type(a).__name__}")
        out.append(int(a))
    return tuple(out)


def _infer_size(shape, numel, op="view"):
    neg, known = [], 1
    for i, s in enumerate(shape):           # checked left to right, as PyTorch's infer_size
        if s == -1:
            if neg:
                raise RuntimeError("only one dimension can be inferred")
            neg.append(i)
        elif s >= 0:
            known *= s
        else:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {list(shape)}")
    if neg:
        if known == 0 and numel == 0:
            raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
                               f"unspecified dimension size -1 can be any value and is ambiguous")
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = list(shape)
        shape[neg[0]] = numel // known
        return tuple(shape)
    if known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def _view_strides(old_shape, old_strides, new_shape):
    """Strides that view old as new without copying, or None (PyTorch's computeStride)."""
    if not len(old_shape):
        return (1,) * len(new_shape)
    numel = 1
    for s in old_shape:
        numel *= s
    if numel == 0:
        if tuple(old_shape) == tuple(new_shape):
            return tuple(old_strides)
        return _contig(new_shape)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base_stride = old_strides[-1] if old_strides else 1
    tensor_numel = 1
    view_numel = 1
    for tensor_d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[tensor_d]
        if tensor_d == 0 or (old_shape[tensor_d - 1] != 1 and
                             old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base_stride
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if tensor_d > 0:
                chunk_base_stride = old_strides[tensor_d - 1]
                tensor_numel = 1
                view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_strides)


def _contig(shape):
    st, acc = [], 1
    for n in reversed(shape):
        st.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(st))


def _reshaped(a, shape, strides):
    """a viewed with ``shape`` and PyTorch's ``strides`` (in elements), never a copy.

    NumPy's reshape may pick other strides for size-1 dims (and may copy), so its result is
    only kept when the strides agree."""
    item = a.itemsize
    want = tuple(s * item for s in strides)
    if a.size:
        r = a.reshape(shape)
        # a view (not a copy) of a's memory has a's owner as its base
        if r.strides == want and r.base is (a if a.base is None else a.base):
            return r
    return _xp.as_strided(a, shape, want)


def _strided(a, shape, strides_elems):
    item = a.itemsize
    return _xp.as_strided(a, shape, tuple(s * item for s in strides_elems))


# -- reshape family ---------------------------------------------------------------------------
class View(Function):
    """out = x seen with another shape (no copy)."""
    _is_view = True
    _node_name = "ViewBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        a = x._data
        if a.ndim == len(shape) and a.shape == shape:
            return a.view()
        strides = _view_strides(a.shape, [s // a.itemsize for s in a.strides], shape)
        if strides is None:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one dimension "
                "spans across two contiguous subspaces). Use .reshape(...) instead.")
        return _reshaped(a, shape, strides)

    @staticmethod
    def backward(ctx, grad):                 # d(view)/dx: the same values, reshaped back
        return grad.reshape(ctx.in_shape), None


class Reshape(Function):
    """out = x with another shape, copied when no view can be made."""
    _node_name = "UnsafeViewBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x._data.reshape(shape).copy()

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape), None


class UnsafeView(Function):
    """out = a fresh (unshared) contiguous result seen with another shape: no copy, and not a view in
    autograd's sense (PyTorch's _unsafe_view, which ops such as kron and matmul end with)."""
    _node_name = "UnsafeViewBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x._data.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape), None


def unsafe_view(t, shape):
    """t reshaped without a copy; t must be contiguous and used by nothing else."""
    if recording(t):
        return UnsafeView.apply(t, tuple(shape))
    return _make(t._data.reshape(shape))


@register("view")
def view(self, *shape):
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list, Size, Tensor)):
        from .. import _dtype
        if isinstance(shape[0], _dtype.dtype):
            return view_dtype(self, shape[0])
    shape = _infer_size(_sizes(shape), self._data.size)
    return View.apply(self, shape)


def view_dtype(self, dt):
    """self's bytes read as dtype dt (not differentiable). When the element sizes differ, the last dim
    must be dense and the last size scales by their ratio, as in PyTorch."""
    old_item, new_item = self._data.itemsize, dt.itemsize
    if new_item == old_item:
        array = self._data.view(dt.np)
    else:
        array = _reinterpret_geometry(self, dt)
    out = _make(array)
    out._base = self._root()
    out._version_counter = self._version_counter
    mark_no_grad_view(out, self)
    return out


def _reinterpret_geometry(self, dt):
    """The array of self.view(dt) for a dt of another element size: same first byte, the last dim's
    size scaled by the size ratio, the other strides rescaled (each must stay a whole number)."""
    old_item, new_item = self._data.itemsize, dt.itemsize
    words = f"to view {_type_word(self.dtype)} as {_type_word(dt)} (different element sizes)"
    if self._data.ndim == 0:
        raise RuntimeError(f"self.dim() cannot be 0 {words}")
    size, stride, offset = list(self._data.shape), list(self.stride()), self.storage_offset()
    if stride[-1] != 1:
        raise RuntimeError(f"self.stride(-1) must be 1 {words}, but got {stride[-1]}")
    if old_item > new_item:                 # each element becomes `ratio` smaller ones
        ratio = old_item // new_item
        stride = [s * ratio for s in stride[:-1]] + [1]
        size[-1] *= ratio
        offset *= ratio
    else:                                   # every `ratio` elements become one larger one
        ratio = new_item // old_item
        if size[-1] % ratio:
            raise RuntimeError(f"self.size(-1) must be divisible by {ratio} {words}, but got {size[-1]}")
        if offset % ratio:
            raise RuntimeError(f"self.storage_offset() must be divisible by {ratio} {words}, but got {offset}")
        for d, s in enumerate(stride[:-1]):
            if s % ratio:
                raise RuntimeError(f"self.stride({d}) must be divisible by {ratio} {words}, but got {s}")
        stride = [s // ratio for s in stride[:-1]] + [1]
        size[-1] //= ratio
        offset //= ratio
    from .._tensor import _reinterpret
    storage = _reinterpret(self._root()._storage_array(), dt.np)
    start = storage[offset:] if offset < storage.shape[0] else storage[storage.shape[0]:]
    return _xp.as_strided(start, tuple(size), tuple(s * new_item for s in stride))


@register("view_as")
def view_as(self, other):
    return view(self, other.shape)


@register("reshape")
def reshape(input, *shape):
    shape = _infer_size(_sizes(shape), input._data.size)
    a = input._data
    if _view_strides(a.shape, [s // a.itemsize for s in a.strides], shape) is not None:
        return View.apply(input, shape)
    return Reshape.apply(input, shape)


@register("reshape_as")
def reshape_as(self, other):
    return reshape(self, other.shape)


@register("flatten")
def flatten(input, start_dim=0, end_dim=-1):
    nd = input._data.ndim
    if nd == 0:
        return reshape(input, 1)
    s, e = _wrap_dim(start_dim, nd), _wrap_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shape = input._data.shape
    n = 1
    for k in shape[s:e + 1]:
        n *= k
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])


@register("ravel")
def ravel(self):
    return reshape(self.contiguous(), -1)


@register("unflatten")
def unflatten(input, dim, sizes):
    if len(sizes) == 0:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if input._data.ndim == 0:
        raise RuntimeError(f"unflatten got an unexpected error:\nDimension specified as {dim} but tensor has no "
                           f"dimensions")
    dim = _wrap_dim(dim, input._data.ndim)
    shape = input._data.shape
    try:
        sizes = _infer_size(tuple(sizes), shape[dim])
    except RuntimeError as e:       # PyTorch rewords infer_size's errors (telling them apart by their text)
        if "is invalid for input of size" in str(e):
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                               f"({shape[dim]}) in the input tensor") from None
        raise RuntimeError(f"unflatten got an unexpected error:\n{e}") from None
    return view(input, shape[:dim] + sizes + shape[dim + 1:]) if input.is_contiguous() else \
        reshape(input, shape[:dim] + sizes + shape[dim + 1:])


@register("squeeze")
def squeeze(input, dim=None):
    shape = input._data.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = wrap_dims(dim, input._data.ndim) if input._data.ndim else ()
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    name = "SqueezeBackward0" if dim is None else \
        "SqueezeBackward2" if isinstance(dim, (tuple, list)) else "SqueezeBackward1"
    strides = [st for i, (n, st) in enumerate(zip(shape, input.stride()))
               if not (n == 1 and (dim is None or i in dims))]
    return ViewStrided.named(name).apply(input, new, tuple(strides))


@register("unsqueeze")
def unsqueeze(input, dim):
    nd = input._data.ndim
    dim = _wrap_dim(dim, nd + 1)
    shape = list(input._data.shape)
    strides = list(input.stride())
    new_stride = 1 if dim >= nd else shape[dim] * strides[dim]
    shape.insert(dim, 1)
    strides.insert(dim, new_stride)
    return ViewStrided.named("UnsqueezeBackward0").apply(input, tuple(shape), tuple(strides))


class ViewStrided(Function):
    _is_view = True
    _node_name = "ViewBackward0"

    @staticmethod
    def forward(ctx, x, shape, strides):
        ctx.in_shape = x.shape
        return _reshaped(x._data, shape, strides)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape), None, None


# -- permutations -----------------------------------------------------------------------------
class Permute(Function):
    """out = x with its dimensions reordered."""
    _is_view = True
    _node_name = "PermuteBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x._data.transpose(dims)

    @staticmethod
    def backward(ctx, grad):                 # the inverse permutation
        inv = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inv[d] = i
        return grad.permute(*inv), None


class Transpose(Function):
    _is_view = True
    _node_name = "TransposeBackward0"

    @staticmethod
    def forward(ctx, x, d0, d1):
        ctx.d = (d0, d1)
        return _swapped(x._data, d0, d1)

    @staticmethod
    def backward(ctx, grad):
        if grad._requires_grad and grad_mode._enabled[0]:     # differentiated again: a recorded view
            return grad.transpose(*ctx.d), None, None
        a = _swapped(grad._data, *ctx.d)
        return _make(a if type(a) is np.ndarray else _unviewed(a)), None, None


def _swapped(a, d0, d1):
    """a view of a with dims d0 and d1 swapped; a 0-dim array (whose one "dim", 0, swaps with itself) as it is."""
    return a.swapaxes(d0, d1) if a.ndim else a[...]


def _unviewed(a):
    """a itself, or the device array a views when a has its exact layout (a transpose of a transpose).

    A linear layer's weight gradient comes back through t()'s backward as the transpose of a
    transposed product: handed on as the product itself, an array that owns its memory, it
    becomes the weight's .grad without a copy (Note [Keeping a gradient without a copy]; on the
    CPU the engine keeps such a view of a whole array as it is).
    """
    owner = a.base
    if (owner is not None and owner.shape == a.shape and owner.strides == a.strides and owner.dtype == a.dtype
            and owner.data.ptr == a.data.ptr):
        return owner
    return a


@register("permute")
def permute(input, *dims, **kwargs):
    if kwargs:
        dims = dims_argument("permute", dims, kwargs)
    dims = _sizes(dims)
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match "
                           f"the length of the desired ordering of dimensions i.e. input.dim() = {nd} is not "
                           f"equal to len(dims) = {len(dims)}")
    dims = tuple(_wrap_dim(int(d), nd) for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, dims)


@register("transpose", "swapdims")
def transpose(input, dim0, dim1):
    nd = input._data.ndim
    return Transpose.apply(input, _wrap_dim(dim0, nd), _wrap_dim(dim1, nd))     # a 0-dim one too, as torch's


swapdims = transpose


@register("swapaxes")
def swapaxes(input, axis0, axis1):
    """transpose under NumPy's names."""
    return transpose(input, axis0, axis1)


@register("transpose_", "swapaxes_", "swapdims_")
def transpose_(self, dim0, dim1):
    """In-place transpose: this tensor's own strides change (no data moves)."""
    refuse_inference_write(self)
    nd = self._data.ndim
    d0, d1 = _wrap_dim(dim0, nd), _wrap_dim(dim1, nd)
    if nd == 0:                     # (a 0-dim tensor's one dim, 0 or -1, swapped with itself)
        return self
    if recording(self):
        raise RuntimeError("transpose_() on a tensor that requires grad is not supported; use transpose()")
    self._data = self._data.swapaxes(d0, d1)
    return self


def _reshape_in_place(self, op, view_fn, *args):
    """self takes the geometry of view_fn(self, *args) (no data moves), as transpose_ does."""
    refuse_inference_write(self)
    if recording(self):
        raise RuntimeError(f"{op}() on a tensor that requires grad is not supported; use {op[:-1]}()")
    self._data = view_fn(self, *args)._data
    return self


Tensor.squeeze_ = lambda self, dim=None: _reshape_in_place(self, "squeeze_", squeeze, dim)
Tensor.unsqueeze_ = lambda self, dim: _reshape_in_place(self, "unsqueeze_", unsqueeze, dim)


@register("t")
def t(input):
    nd = input._data.ndim
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    if nd < 2:
        return View.named("TBackward0").apply(input, input._data.shape)
    return Transpose.named("TBackward0").apply(input, 0, 1)


@register("t_")
def t_(self):
    refuse_inference_write(self)
    if self._data.ndim == 2:
        return transpose_(self, 0, 1)
    return self


_T_warned = [False, False]


def _T(self):
    nd = self._data.ndim
    if nd != 2 and not _T_warned[nd == 0]:        # PyTorch warns once per kind
        _T_warned[nd == 0] = True
        import warnings
        warnings.warn("Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases."
                      if nd == 0 else
                      "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated "
                      "and it will throw an error in a future release. Consider `x.mT` to transpose batches of "
                      "matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a "
                      "tensor.", UserWarning, stacklevel=2)
    return Permute.apply(self, tuple(range(nd - 1, -1, -1)))


_CONJ_ADVICE = "Consider using x.conj()."


def _mT(self, name="tensor.mT", deprecated="Tensor.mT", advice="This function is the identity in these cases."):
    if self._data.ndim == 0:            # deprecated, and the tensor itself (no node), as in PyTorch
        import warnings
        warnings.warn(f"{deprecated} is deprecated on 0-D tensors. {advice}", UserWarning, stacklevel=3)
        return self
    if self._data.ndim < 2:
        raise RuntimeError(f"{name} is only supported on matrices or batches of matrices. Got 1-D tensor.")
    return Transpose.apply(self, self._data.ndim - 2, self._data.ndim - 1)


def _H(self):
    """The conjugate transpose of a matrix: a transpose (TransposeBackward0), as torch's, not T's permute."""
    nd = self._data.ndim
    if nd == 0:
        return _mT(self, "tensor.H", "Tensor.H", _CONJ_ADVICE).conj()
    if nd != 2:
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {nd}-D tensor."
                           + (" For batches of matrices, consider using tensor.mH" if nd > 2 else ""))
    return Transpose.apply(self, 0, 1).conj()


Tensor.T = property(_T)
Tensor.mT = property(_mT)
Tensor.H = property(_H)
Tensor.mH = property(lambda self: _mT(self, "tensor.mH", "Tensor.mH", _CONJ_ADVICE).conj())


@register("adjoint")
def adjoint(input):
    return _mT(input, "tensor.adjoint()", "adjoint()", _CONJ_ADVICE).conj()


@register("movedim", "moveaxis")
def movedim(input, source, destination):
    nd = input._data.ndim
    source = [source] if isinstance(source, (int, np.integer)) else list(source)
    destination = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(source) != len(destination):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({source} dims) should "
                           f"contain the same number of dims as destination ({destination} dims)")
    src = tuple(_wrap_dim(int(d), nd) for d in source)
    dst = tuple(_wrap_dim(int(d), nd) for d in destination)
    for dims, wrapped, name in ((source, src, "source"), (destination, dst, "destination")):
        if len(set(wrapped)) != len(wrapped):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({dims})")
    if nd == 0:             # dims -1 and 0 name the one "dim" of a 0-dim tensor: nothing moves, torch aliases
        return BasicIndex.named("AliasBackward0").apply(input, Ellipsis)
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return Permute.apply(input, tuple(order))


moveaxis = movedim


# -- slicing ----------------------------------------------------------------------------------
class BasicIndex(Function):
    """out = x[key] for ints, slices (step > 0), None and Ellipsis: a view."""
    _is_view = True
    _node_name = "SliceBackward0"

    @staticmethod
    def forward(ctx, x, key):
        ctx.key = key
        ctx.in_shape = x.shape
        return basic_view(x._data, key)

    @staticmethod
    def backward(ctx, grad):                  # zeros of the input's shape, grad written at key
        return SliceScatter.apply(grad, ctx.in_shape, ctx.key), None


def basic_view(a, key):
    """a[key] for a basic key, always an array view (never a NumPy scalar), with PyTorch's strides.

    A trailing Ellipsis makes NumPy return a 0-d view instead of a scalar copy. A None in
    the key is an unsqueeze in PyTorch: its stride is size * stride of the dim that follows
    it (1 at the end), where NumPy puts 0."""
    if not isinstance(key, tuple):
        key = (key,)
    has_none = False
    for k in key:
        if k is None:
            has_none = True
    r = a[key if Ellipsis in key else key + (Ellipsis,)]
    if not has_none and r.size:
        return r
    # NumPy also changes the strides of the dims an empty result has; PyTorch keeps stride * step
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    strides, d = [], 0
    for k in key:
        if k is Ellipsis:
            n = a.ndim - n_real
            strides += a.strides[d:d + n]
            d += n
        elif k is None:
            strides.append(a.shape[d] * a.strides[d] if d < a.ndim else a.itemsize)
        elif isinstance(k, slice):
            strides.append(a.strides[d] * (k.step or 1))
            d += 1
        else:
            d += 1
    strides = tuple(strides) + a.strides[d:]
    if not r.size and a.size and type(a) is np.ndarray:
        return _empty_at(a, key, r.shape, strides)
    if r.strides == strides:
        return r
    return _xp.as_strided(r, r.shape, strides)


def _empty_at(a, key, shape, strides):
    """An empty result of a[key] placed where PyTorch puts it: NumPy leaves the data pointer of an
    empty slice at the start of a, PyTorch moves it to the (clamped) start, which storage_offset() shows."""
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    delta, d = 0, 0
    for k in key:
        if k is Ellipsis:
            d += a.ndim - n_real
        elif k is None:
            continue
        else:
            n, st = a.shape[d], a.strides[d]
            delta += (k.indices(n)[0] if isinstance(k, slice) else k % n) * st
            d += 1
    item = a.itemsize
    span = 1 + sum((n - 1) * (st // item) for n, st in zip(a.shape, a.strides))
    if delta > span * item or any(st < 0 for st in a.strides):
        return _xp.as_strided(a[key + (Ellipsis,) if Ellipsis not in key else key], shape, strides)
    flat = _xp.as_strided(a, (span,), (item,))
    return np.ndarray(shape, a.dtype, buffer=flat, offset=delta, strides=strides)


class SliceScatter(Function):
    """out = zeros(shape) with out[key] = grad (the backward of a basic index)."""

    @staticmethod
    def forward(ctx, grad, shape, key):
        ctx.key = key
        g = grad._data
        out = _xp.array_module(g).zeros(shape, g.dtype)
        out[key] = g
        return out

    @staticmethod
    def backward(ctx, gg):
        return gg[ctx.key], None, None


def basic_getitem(self, key):
    return BasicIndex.named(_basic_node_name(self, key)).apply(self, key)


def _basic_node_name(self, key):
    """PyTorch's grad_fn name for ``self[key]``: the last non-trivial step of the indexing."""
    if isinstance(key, slice):
        return "SliceBackward0"
    if not isinstance(key, tuple):
        key = (key,)
    name = "AliasBackward0"
    shape = self._data.shape
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    dim = 0
    for k in key:
        if k is Ellipsis:
            dim += len(shape) - n_real
        elif k is None:
            name = "UnsqueezeBackward0"
        elif isinstance(k, slice):
            if k.indices(shape[dim]) != (0, shape[dim], 1):
                name = "SliceBackward0"
            dim += 1
        else:
            name = "SelectBackward0"
            dim += 1
    return name


@register("narrow")
def narrow(input, dim, start, length):
    return _narrow(input, dim, start, length, "SliceBackward0")


def _narrow(self, dim, start, length, node):
    nd = self._data.ndim
    if nd == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    dim = _wrap_dim(dim, nd)
    if isinstance(start, Tensor):
        if start.ndim or start.dtype._category != 1:
            raise RuntimeError("start must be an 0-dim integral Tensor.")
        start = int(start.item())
    size = self._data.shape[dim]
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
    if start < 0:
        start += size
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    key = (slice(None),) * dim + (slice(start, start + length),)
    return BasicIndex.named(node).apply(self, key)


@register("select")
def select(input, dim, index):
    return _select(input, dim, index, "SelectBackward0")


def _select(self, dim, index, node):
    nd = self._data.ndim
    if nd == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = _wrap_dim(dim, nd)
    size = self._data.shape[dim]
    index = int(index)
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
                         f"dimension {dim}")
    return BasicIndex.named(node).apply(self, (slice(None),) * dim + (index % size,))


# -- expand -----------------------------------------------------------------------------------
class Expand(Function):
    """out = x repeated along size-1 dims by a zero stride (no copy)."""
    _is_view = True
    _node_name = "ExpandBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        a = x._data
        lead = len(shape) - a.ndim
        # PyTorch's geometry: a kept dim keeps its stride, a broadcast dim gets 0, and a new
        # leading dim of size 1 gets size * stride of the dim after it (1 when it is last)
        strides = [0] * len(shape)       # a 0-d input expands with all strides 0
        for i in (range(len(shape) - 1, -1, -1) if a.ndim else ()):
            if i >= lead:
                n, st = a.shape[i - lead], a.strides[i - lead]
            else:
                n = 1
                st = shape[i + 1] * strides[i + 1] if i + 1 < len(shape) else a.itemsize
            strides[i] = st if n == shape[i] else 0
        return _xp.as_strided(a, shape, tuple(strides))

    @staticmethod
    def backward(ctx, grad):                  # the engine sums grad back to the input's shape
        return grad, None


def _legacy_type_name(t):
    """PyTorch's name for a tensor's type in messages: torch.FloatTensor, torch.cuda.LongTensor; the types
    without a legacy class read CPUBoolType, CUDAComplexFloatType."""
    cuda = t.device.type == "cuda"
    if t.dtype.is_complex or t.dtype is _dtype.bool:
        return ("CUDA" if cuda else "CPU") + t.dtype._legacy.replace("Tensor", "Type")
    return ("torch.cuda." if cuda else "torch.") + t.dtype._legacy


@register("expand")
def expand(self, *sizes, implicit=False):
    sizes = _sizes(sizes)
    shape = self._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand({_legacy_type_name(self)}{{{list(shape)}}}, size={list(sizes)}): the "
                           f"number of sizes provided ({len(sizes)}) must be greater or equal to the number "
                           f"of dimensions in the tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    out = list(sizes)
    for i, n in enumerate(shape):
        want = sizes[lead + i]
        if want == -1:
            out[lead + i] = n
        elif n != want and n != 1:
            raise RuntimeError(f"The expanded size of the tensor ({want}) must match the existing size ({n}) "
                               f"at non-singleton dimension {lead + i}.  Target sizes: {list(sizes)}.  "
                               f"Tensor sizes: {list(shape)}")
    for i in range(lead):
        if out[i] < 0:
            raise RuntimeError(f"The expanded size of the tensor ({out[i]}) isn't allowed in a leading, "
                               "non-existing dimension 0")
    return Expand.apply(self, tuple(out))


@register("expand_as")
def expand_as(self, other):
    return expand(self, other.shape)


def broadcast_to(input, size):
    return expand(input, size)


Tensor.broadcast_to = broadcast_to


def broadcast_tensors(*tensors):
    from ._util import broadcast_shapes
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


def expand_copy(input, size):
    return expand(input, size).clone()


# -- diagonal, unfold, as_strided: backward through an index map --------------------------------
class GatherByIndexMap(Function):
    """out = x.flatten()[index_map] (index_map: an int array of out's shape)."""

    @staticmethod
    def forward(ctx, x, index_map):
        ctx.in_shape = x.shape
        ctx.index_map = index_map
        return x._data.reshape(-1)[index_map]

    @staticmethod
    def backward(ctx, grad):                   # scatter-add grad back to where each value came from
        return ScatterByIndexMap.apply(grad, ctx.index_map, ctx.in_shape), None


class ScatterByIndexMap(Function):
    """out = zeros(shape).flatten() with out[index_map] += grad, reshaped."""

    @staticmethod
    def forward(ctx, grad, index_map, shape):
        ctx.index_map = index_map
        g = grad._data
        xp = _xp.array_module(g)
        n = 1
        for s in shape:
            n *= s
        out = xp.zeros(n, g.dtype)
        _xp.scatter_add(out, index_map.reshape(-1), g.reshape(-1))
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, gg):
        return GatherByIndexMap.apply(gg, ctx.index_map), None, None


class ViewByIndexMap(Function):
    """A true view (as_strided over the storage) whose backward uses the element index map."""
    _is_view = True
    _node_name = "AsStridedBackward0"

    @staticmethod
    def forward(ctx, x, make_view, index_map):
        ctx.in_shape = x.shape
        ctx.index_map = index_map
        return make_view(x._data)

    @staticmethod
    def backward(ctx, grad):
        return ScatterByIndexMap.apply(grad, ctx.index_map, ctx.in_shape), None, None


def _index_map(self, make_view):
    """Which flat (C-order) element of self each element of make_view(self) reads."""
    xp = _xp.array_module(self._data)
    idx = xp.arange(self._data.size, dtype=np.int64).reshape(self._data.shape)
    return xp.ascontiguousarray(make_view(idx))


def _view_via_map(self, make_view, node_name):
    if recording(self):
        return ViewByIndexMap.named(node_name).apply(self, make_view, _index_map(self, make_view))
    out = _make(make_view(self._data))
    out._base = self._root()
    out._version_counter = self._version_counter
    mark_no_grad_view(out, self)
    return out


@register("diagonal")
def diagonal(input, offset=0, dim1=0, dim2=1):
    nd = input._data.ndim
    d1, d2 = _wrap_dim(dim1, nd), _wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")

    def make(a):
        return _diagonal_view(a, offset, d1, d2)
    return _view_via_map(input, make, "DiagonalBackward0")


def _diagonal_view(a, offset, d1, d2):
    shape, strides = list(a.shape), list(a.strides)
    n1, n2 = shape[d1], shape[d2]
    length = max(0, min(n1, n2 - offset)) if offset >= 0 else max(0, min(n1 + offset, n2))
    start = [0] * a.ndim
    if length:
        start[d2 if offset >= 0 else d1] = abs(offset)
    first = a[tuple(slice(i, None) for i in start)]       # a view starting at the first diagonal element
    keep = [i for i in range(a.ndim) if i not in (d1, d2)]
    new_shape = tuple(shape[i] for i in keep) + (length,)
    new_strides = tuple(strides[i] for i in keep) + (strides[d1] + strides[d2],)
    return _xp.as_strided(first, new_shape, new_strides)


@register("unfold")
def unfold(self, dimension, size, step):
    nd = self._data.ndim
    dim = _wrap_dim(dimension, nd) if nd else 0
    n = self._data.shape[dim] if nd else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {dim} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")

    def make(a):
        if a.ndim == 0:
            return a.reshape(1)
        shape, strides = list(a.shape), list(a.strides)
        count = (shape[dim] - size) // step + 1
        new_shape = shape[:dim] + [count] + shape[dim + 1:] + [size]
        new_strides = strides[:dim] + [strides[dim] * step] + strides[dim + 1:] + [strides[dim]]
        return _xp.as_strided(a, tuple(new_shape), tuple(new_strides))
    return _view_via_map(self, make, "UnfoldBackward0")


@register("as_strided")
def as_strided(input, size, stride, storage_offset=None):
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    offset = input.storage_offset() if storage_offset is None else int(storage_offset)
    storage = input._storage_array()
    from .._tensor import _check_as_strided
    _check_as_strided(size, stride, offset, storage.shape[0], storage.itemsize)
    own_offset = input.storage_offset()
    own_strides = input.stride()
    item = storage.itemsize

    def make(a):
        # a has self's geometry; find the storage under it through its first element
        if a is input._data:
            base = storage[offset:]
        else:       # an index map laid out like self: rebuild self's storage order over it
            span = storage.shape[0]
            xp = _xp.array_module(a)
            flat = xp.full(span, -1, dtype=a.dtype)
            pos = _xp.as_strided(xp.arange(span, dtype=np.int64)[own_offset:], a.shape,
                                 tuple(s * 8 for s in own_strides))
            flat[pos.reshape(-1)] = a.reshape(-1)
            base = flat[offset:]
        return _xp.as_strided(base, size, tuple(s * base.itemsize for s in stride))
    return _view_via_map(input, make, "AsStridedBackward0")


# -- splitting --------------------------------------------------------------------------------
def _pieces(input, out):
    """The views of split/chunk/unbind, which PyTorch makes one node with several outputs: while
    they are in a graph, an in-place op on one (or on a view of one) would have to rebase that
    node's other outputs too, so it is refused (Note [Views returned by custom Functions])."""
    if grad_mode._enabled[0] and input._requires_grad:
        for i, piece in enumerate(out):
            piece.__dict__["_custom_view"] = "multi"
            piece.__dict__["_view_output_nr"] = i       # "Output i of Split"; its own views say 0
    return out


@register("split")
def split(input, split_size_or_sections, dim=0):
    if input._data.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    dim = _wrap_dim(dim, input._data.ndim)
    n = input._data.shape[dim]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                               f"size at dimension {dim}), but got split_sizes={sizes}")
    else:
        step = int(split_size_or_sections)
        if step <= 0 and n > 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = [min(step, n - i) for i in range(0, n, step)] if n else [0]
    node = "SplitWithSizesBackward0" if isinstance(split_size_or_sections, (list, tuple)) else "SplitBackward0"
    out, start = [], 0
    for s in sizes:
        out.append(_narrow(input, dim, start, s, node))
        start += s
    return _pieces(input, tuple(out))


@register("chunk")
def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    dim = _wrap_dim(dim, input._data.ndim)
    n = input._data.shape[dim]
    size = -(-n // chunks) if n else 0
    if size == 0:                 # an empty dim splits into `chunks` empty pieces, through split_with_sizes in torch
        return _pieces(input, tuple(_narrow(input, dim, 0, 0, "SplitWithSizesBackward0") for _ in range(chunks)))
    return split(input, size, dim)


@register("tensor_split")
def tensor_split(input, indices_or_sections, dim=0):
    dim = _wrap_dim(dim, input._data.ndim)
    n = input._data.shape[dim]
    if isinstance(indices_or_sections, Tensor):       # a 0-dim one: a number of sections; a 1-dim one: indices
        t = indices_or_sections
        if t.dtype is not _dtype.int64:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                               f"{_type_word(t.dtype)}")
        if t.ndim > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {t.ndim} dims")
        indices_or_sections = t.item() if t.ndim == 0 else t.tolist()
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        base, extra = divmod(n, k)
        bounds, s = [], 0
        for i in range(k):
            e = s + base + (1 if i < extra else 0)
            bounds.append((s, e))
            s = e
    else:
        idx = [int(i) for i in indices_or_sections]
        edges = [0] + idx + [n]
        bounds = [(min(max(a, 0), n), min(max(b, a, 0), n)) for a, b in zip(edges[:-1], edges[1:])]
    return tuple(narrow(input, dim, a, max(b - a, 0)) for a, b in bounds)


def _split_along(op, input, sections, min_dims, dim):
    """hsplit/vsplit/dsplit: PyTorch's checks, then tensor_split."""
    if input.ndim < min_dims:
        raise RuntimeError(f"torch.{op} requires a tensor with at least {min_dims} dimension, but got a tensor with "
                           f"{input.ndim} dimensions!")
    if isinstance(sections, int) and not isinstance(sections, bool):
        if sections == 0 or input.shape[dim] % sections:
            raise RuntimeError(f"torch.{op} attempted to split along dimension {dim}, but the size of the dimension "
                               f"{input.shape[dim]} is not divisible by the split_size {sections}!")
    elif not isinstance(sections, (list, tuple)) or not all(isinstance(i, int) for i in sections):
        raise TypeError(f"{op}(): argument 'sections' must be int or tuple of ints, not {type(sections).__name__}")
    return tensor_split(input, sections, dim)


@register("hsplit")
def hsplit(input, sections):
    return _split_along("hsplit", input, sections, 1, 1 if input.ndim > 1 else 0)


@register("vsplit")
def vsplit(input, sections):
    return _split_along("vsplit", input, sections, 2, 0)


@register("dsplit")
def dsplit(input, sections):
    return _split_along("dsplit", input, sections, 3, 2)


@register("unbind")
def unbind(input, dim=0):
    dim = _wrap_dim(dim, input._data.ndim)
    return _pieces(input, tuple(_select(input, dim, i, "UnbindBackward0") for i in range(input._data.shape[dim])))


def atleast_1d(*tensors):
    out = [t.reshape(1) if t.ndim == 0 else t for t in (tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*tensors):
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = [t.reshape(1, -1) if t.ndim < 2 else t for t in ts]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*tensors):
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = []
    for t in ts:
        if t.ndim == 0:
            t = t.reshape(1, 1, 1)
        elif t.ndim == 1:
            t = t.reshape(1, -1, 1)
        elif t.ndim == 2:
            t = t.unsqueeze(-1)
        out.append(t)
    return out[0] if len(out) == 1 else tuple(out)


class ViewAsReal(Function):
    """A complex tensor's memory seen as real pairs (..., 2)."""
    _is_view = True
    _node_name = "ViewAsRealBackward0"

    @staticmethod
    def forward(ctx, x):
        a = x._data
        re = a.real                              # each complex number is two reals side by side
        return _xp.as_strided(re, a.shape + (2,), a.strides + (re.itemsize,))

    @staticmethod
    def backward(ctx, grad):                     # the pairs back as complex numbers
        from .creation import complex
        return complex(grad[..., 0], grad[..., 1])


class ViewAsComplex(Function):
    """Real pairs (..., 2) seen as complex numbers."""
    _is_view = True
    _node_name = "ViewAsComplexBackward0"

    @staticmethod
    def forward(ctx, x):
        a = x._data
        return a.view({np.dtype("float32"): np.complex64, np.dtype("float64"): np.complex128}[a.dtype])[..., 0]

    @staticmethod
    def backward(ctx, grad):                     # complex numbers back as real pairs
        return view_as_real(grad)


def view_as_real(input):
    if not input.is_complex():
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return ViewAsReal.apply(input)


def view_as_complex(input):
    a = input._data
    if a.dtype == np.float16:
        raise NotImplementedError("view_as_complex of a half tensor: flambeau has no complex32")
    if a.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"view_as_complex is only supported for half, float and double tensors, but got a tensor "
                           f"of scalar type: {input.dtype._legacy.replace('Tensor', '')}")
    if a.shape[-1:] != (2,):
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if input.stride(-1) != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in input.stride()[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if input.storage_offset() % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    return ViewAsComplex.apply(input)


# -- contiguous -------------------------------------------------------------------------------
class Contiguous(Function):
    _node_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, x):
        return _xp.array_module(x._data).ascontiguousarray(x._data)

    @staticmethod
    def backward(ctx, grad):
        return grad


@register("contiguous")
def contiguous(self, memory_format=None):
    """self if already C-contiguous, else a contiguous copy (the fix for view errors); with
    channels_last(_3d), self if already laid out so, else a copy laid out so."""
    if memory_format is not None and memory_format._name.startswith("channels_last"):
        if self.is_contiguous(memory_format=memory_format):
            return self
        from .creation import clone
        return clone(self, memory_format=memory_format)
    if self.is_contiguous():
        return self
    return Contiguous.apply(self)


# -- Note [Views and autograd]: in-place ops on views -------------------------------------------
_hist_counter = itertools.count(1)


class CopySlices(Function):
    """base after an in-place op on one of its views: base outside the view, result inside."""
    _node_name = "CopySlices"

    @staticmethod
    def backward(ctx, grad):
        idx = ctx.view_index                       # flat positions of the view inside base
        flat = grad.reshape(-1)
        xp = _xp.array_module(grad._data)
        mask = xp.ones(flat.shape[0], grad._data.dtype)
        mask[idx.reshape(-1)] = 0
        grad_base = grad * _make(mask.reshape(grad._data.shape))
        grad_result = GatherByIndexMap.apply(grad, idx)
        return grad_base, grad_result


# PyTorch's CopySlices node is a C++ class: name() gives its qualified name (error messages show it)
CopySlices._backward_cls.name = lambda self: "torch::autograd::CopySlices"


def view_index(base, view):
    """For each element of ``view``, its flat C-order position inside ``base`` (same storage)."""
    storage = base._storage_array()
    xp = _xp.array_module(storage)
    span = storage.shape[0]
    pos = xp.arange(span, dtype=np.int64)
    base_pos = _xp.as_strided(pos[base.storage_offset():], base.shape, tuple(s * 8 for s in base.stride()))
    inv = xp.full(span, -1, dtype=np.int64)
    inv[base_pos.reshape(-1)] = xp.arange(base._data.size, dtype=np.int64)
    view_pos = _xp.as_strided(pos[view.storage_offset():], view.shape, tuple(s * 8 for s in view.stride()))
    return xp.ascontiguousarray(inv[view_pos])


def rebase_history(self, result):
    """After an in-place op recorded as ``result``, make self (and its base) carry that history."""
    if self._base is None:
        self._grad_fn = result._grad_fn
        self._output_nr = result._output_nr
        self._requires_grad = result._requires_grad
        self.__dict__["_hist"] = next(_hist_counter)     # views made earlier regenerate their history
        return
    base = self._base
    node = CopySlices._backward_cls()
    node._seq = next(_sequence)
    node.needs_input_grad = (base._requires_grad, True)
    node._edges = [base._edge() if base._requires_grad else None, (result._grad_fn, result._output_nr)]
    node._is_tensor = [True, True]
    node._input_meta = [(base.shape, base.dtype, base.device), (result.shape, result.dtype, result.device)]
    node._n_outputs = 1
    node.view_index = view_index(base, self)
    base._grad_fn = node
    base._output_nr = 0
    base._requires_grad = True
    base.__dict__["_hist"] = next(_hist_counter)
    _regenerate_view(self)


def rebase_view_history(view, ctx, output_nr):
    """A custom Function marked a view dirty: route its history through the base."""
    result = _make(view._data)
    result._grad_fn, result._output_nr, result._requires_grad = ctx, output_nr, True
    rebase_history(view, result)


def _regenerate_view(view):
    base = view._base
    idx = view_index(base, view)
    # PyTorch regenerates such a view's history with as_strided: the node's name is its
    node = GatherByIndexMap.named("AsStridedBackward0")._backward_cls()
    node._seq = next(_sequence)
    node.needs_input_grad = (True, False)
    node._edges = [(base._grad_fn, base._output_nr), None]
    node._is_tensor = [True, False]
    node._input_meta = [(base.shape, base.dtype, base.device), None]
    node._n_outputs = 1
    node.in_shape = base.shape
    node.index_map = idx
    node._saved = None
    node._materialize = True
    view._grad_fn = node
    view._output_nr = 0
    view._requires_grad = True
    view._base_hist = base.__dict__.get("_hist", 0)


def refresh_view_history(view):
    """A view made before its base was modified in place sees the base's new history."""
    base = view._base
    if base.__dict__.get("_hist", 0) != view._base_hist and base._requires_grad:
        _regenerate_view(view)


def adjoint_fn(input):
    return adjoint(input)
