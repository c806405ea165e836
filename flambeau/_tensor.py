"""Tensor: a strided view (shape, strides, offset) of a flat storage, with autograd state.

Note [Tensor layout]
A tensor holds ``_data``, an array of its array engine (NumPy or CuPy) whose shape and
strides *are* the tensor's; every op reads and writes through it, so a view is just an
array view and in-place ops are visible through all views. The storage is the 1-D
buffer under ``_data``: for a root tensor (one made by an op) it is built on demand
from its memory; views keep ``_base``, the root they were made from, and share its
storage and version counter. ``storage_offset()`` and ``stride()`` are read off the
array's address and strides relative to that storage.
"""
import math

import numpy as np

from . import _device, _dtype, _xp
from ._device import CPU, device as _device_cls, canonical as _canonical_device
from ._storage import TypedStorage, UntypedStorage
from .autograd import grad_mode
from .autograd.grad_mode import _inference, _InferenceVersion, _DetachedInferenceVersion, refuse_inference_write
from .autograd.function import AccumulateGrad, _Handle

_ndarray = np.ndarray
_new_object = object.__new__
_BY_NP = _dtype._BY_NP


class Size(tuple):
    """``torch.Size``: a tuple of dimensions."""

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    __str__ = __repr__

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def __reduce__(self):
        return (Size, (tuple(self),))


def _make(array, requires_grad=False):
    """Wrap an engine array (owning its memory or not) as a root tensor."""
    if type(array) is not _ndarray and not _xp.is_array(array):
        array = np.asarray(array)
    if not array.size and array.ndim:
        array = _canonical_empty(array)
    t = _new_object(Tensor)          # object.__new__ directly: Tensor.__new__ is a Python-level call
    t._data = array
    t._base = None
    t._storage_obj = None
    t._requires_grad = requires_grad
    t._grad = None
    t._grad_fn = None
    t._output_nr = 0
    t._version_counter = _InferenceVersion((0,)) if _inference[0] else [0]
    t._hooks = None
    t._grad_acc = None
    t._base_hist = None
    return t


# The dims of the channels-last layouts, innermost first: C, then W, H (, D), then N.
_CHANNELS_LAST_ORDER = {"channels_last": (1, 3, 2, 0), "channels_last_3d": (1, 4, 3, 2, 0)}


def _nests(shape, strides, inner_first):
    """Whether strides lay shape out densely with its dims nested in the order inner_first (PyTorch's
    is_contiguous: dims of size 1 may have any stride)."""
    expected = 1
    for d in inner_first:
        if shape[d] != 1:
            if strides[d] != expected:
                return False
            expected *= shape[d]
    return True


def _suggested_memory_format(t):
    """The format a tensor's strides suggest, by PyTorch's rule (which calls ambiguous layouts, as
    an N111 tensor, contiguous): strides that grow along C, W, H(, D), N, with N's above C's."""
    shape, strides = t._data.shape, t.stride()
    for name, order in _CHANNELS_LAST_ORDER.items():
        if len(shape) != len(order) or strides[1] == 0:
            continue
        low = 0
        for d in order:
            if shape[d] == 0 or strides[d] < low or (d == 0 and low == strides[1]):
                break
            low = strides[d] * (shape[d] if shape[d] > 1 else 1)
        else:
            return name
    return "contiguous_format"


class Tensor:
    """A multi-dimensional array with autograd, on a device."""

    __slots__ = ("_data", "_base", "_storage_obj", "_requires_grad", "_grad", "_grad_fn",
                 "_output_nr", "_version_counter", "_hooks", "_grad_acc", "_base_hist",
                 "__dict__", "__weakref__")

    __array_priority__ = 1000      # NumPy defers binary operators to Tensor

    def __new__(cls, *args, **kwargs):
        return super().__new__(cls)

    def __init__(self, *args, device=None, dtype=None):
        # Legacy constructor: Tensor(2, 3) is uninitialized, Tensor([1, 2]) copies data.
        if hasattr(self, "_data"):
            return
        from ._ops import creation
        if device is None:
            device = _device.legacy_type_default()    # not set_default_device's, as in PyTorch
        if len(args) == 1 and not isinstance(args[0], int):
            src = creation.tensor(args[0], dtype=dtype or _dtype.get_default_dtype(), device=device)
        else:       # Tensor() is empty: tensor([])
            src = creation.empty(args or (0,), dtype=dtype, device=device)
        _init_from(self, src._data)

    # -- core attributes ---------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self):
        return _BY_NP[self._data.dtype]

    @property
    def device(self):
        if type(self._data) is _ndarray:
            return CPU
        return _xp.device_of(self._data)

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def is_cpu(self):
        return type(self._data) is _ndarray

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def numel(self):
        return self._data.size

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    @property
    def itemsize(self):
        return self._data.itemsize

    @property
    def nbytes(self):
        return self._data.nbytes

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def is_complex(self):
        return self._data.dtype.kind == "c"

    def is_signed(self):
        return self.dtype.is_signed

    @property
    def layout(self):
        from ._layout import strided
        return strided

    @property
    def is_sparse(self):
        return False

    @property
    def is_quantized(self):
        return False

    @property
    def is_meta(self):
        return False

    def get_device(self):
        d = self.device
        return -1 if d.type == "cpu" else d.index

    # -- storage and strides -----------------------------------------------------------------
    def _root(self):
        return self._base if self._base is not None else self

    def _storage_array(self):
        root = self._root()
        if root._storage_obj is None:
            root._storage_obj = TypedStorage(_span_array(root._data))
        array = root._storage_obj._array
        if array.dtype != self._data.dtype:      # a view(dtype) of root: the same bytes, read as our dtype
            array = _reinterpret(array, self._data.dtype)
        return array

    def storage(self):
        array = self._storage_array()
        own = self._root()._storage_obj
        return own if array is own._array else TypedStorage(array)

    def storage_type(self):
        """The legacy storage class of this tensor's dtype and device (torch.FloatStorage, ...)."""
        from ._legacy_types import storage_type_of
        return storage_type_of(self.dtype, self.device.type)

    def untyped_storage(self):
        return UntypedStorage(self._storage_array())

    def storage_offset(self):
        base = self._storage_array()
        if self._data.size == 0 and self._data.ndim and base.size == 0:
            return 0
        return (_xp.address(self._data) - _xp.address(base)) // self._data.itemsize

    def stride(self, dim=None):
        item = self._data.itemsize
        st = tuple(s // item for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim)]

    def data_ptr(self):
        return _xp.address(self._data)

    def is_contiguous(self, memory_format=None):
        if memory_format is not None and memory_format._name in _CHANNELS_LAST_ORDER:
            order = _CHANNELS_LAST_ORDER[memory_format._name]
            if self._data.ndim != len(order):
                return False
            dims = order
        else:
            if not self._data.size:
                return True
            dims = range(self._data.ndim - 1, -1, -1)
        return _nests(self._data.shape, self.stride(), dims)

    def is_set_to(self, other):
        return (self._storage_array() is other._storage_array() and self.storage_offset() == other.storage_offset()
                and self.shape == other.shape and self.stride() == other.stride())

    def set_(self, source=None, storage_offset=None, size=None, stride=None):
        """Make this tensor view ``source`` (a storage or tensor) with the given geometry."""
        refuse_inference_write(self)
        if storage_offset is not None and size is None:
            raise TypeError("set_() received an invalid combination of arguments: a storage_offset needs a size "
                            "(set_(source, storage_offset, size, stride=()))")
        if storage_offset is None:
            storage_offset = 0
        source_device = getattr(source, "device", None)
        if source_device is not None and source_device != self.device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                               f"{self.device} and {source_device}! (set_(): a tensor views memory of its device)")
        if source is None:
            arr = self._data[:0].reshape(0) if self._data.ndim else self._data.reshape(1)[:0]
            storage = TypedStorage(_xp.array_module(self._data).empty(0, self._data.dtype))
            arr = storage._array
        elif isinstance(source, Tensor):
            if source.dtype is not self.dtype:
                raise RuntimeError(f"Could not set tensor of type {self.dtype} to a tensor of type {source.dtype}")
            if size is None:
                self._set_data(source._data, source._root())
                return self
            storage = source.storage()
            if storage_offset == 0 and size is None:
                storage_offset = source.storage_offset()
        elif isinstance(source, TypedStorage):
            storage = source
        elif isinstance(source, UntypedStorage):      # its bytes, seen as this tensor's dtype
            from ._legacy_types import _wrap_bytes
            storage = _wrap_bytes(source, self.dtype, "set_()")
        else:
            raise TypeError(f"set_(): expected a Storage or Tensor as source, got {type(source).__name__}")
        base = storage._array
        if self.dtype is not _BY_NP[base.dtype] and source is not None:
            from ._ops._util import _type_word
            raise RuntimeError(f"Expected a Storage of type {_CPP_TYPE_NAMES.get(self.dtype.np.name, self.dtype)} "
                               f"or an UntypedStorage, but got type {_type_word(_BY_NP[base.dtype])} for argument 1 "
                               "'storage'")
        if size is None:
            size = (base.shape[0] - storage_offset,)
        size = tuple(int(s) for s in size)
        if stride is None:
            stride = _contiguous_strides(size)
        stride = tuple(int(s) for s in stride)
        _check_set_geometry(size, stride, storage_offset)
        needed = _elements_spanned(size, stride, storage_offset)
        if needed > base.shape[0]:      # PyTorch grows the storage to fit
            del base                    # (resize_ refuses an array that other names still hold)
            storage.resize_(needed)
            base = storage._array
        item = base.itemsize
        arr = _xp.as_strided(base[storage_offset:] if storage_offset < base.shape[0] else base[base.shape[0]:],
                             size, tuple(s * item for s in stride))
        self._data = arr
        self._base = None
        self._storage_obj = storage
        self._version_counter[0] += 1
        return self

    def resize_(self, *sizes, memory_format=None):
        """Give this tensor the contiguous shape ``sizes`` over its storage, from its storage offset;
        the storage grows (old values kept, new elements zero) when it is too small."""
        from ._ops.views import _sizes
        from ._ops.creation import _format_strides, contiguous_format
        size = _sizes(sizes)
        refuse_inference_write(self)
        if self._requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        if any(n < 0 for n in size):
            raise RuntimeError("numel: integer multiplication overflow")     # torch's words for it
        offset = self.storage_offset()
        stride = _format_strides(size, _contiguous_strides(size), memory_format or contiguous_format)
        needed = offset + (1 + sum((n - 1) * st for n, st in zip(size, stride)) if 0 not in size else 0)
        base = self._storage_array()
        if needed > base.shape[0]:
            base = self._grow_storage(needed)
        item = base.itemsize
        self._data = _xp.as_strided(base[offset:] if offset < base.shape[0] else base[base.shape[0]:], size,
                                    tuple(st * item for st in stride))
        return self

    def resize_as_(self, the_template, memory_format=None):
        return self.resize_(the_template.shape, memory_format=memory_format)

    def _grow_storage(self, needed):
        """Move this tensor's storage to a larger buffer (see resize_): only when nothing else can see
        the old memory, since the arrays of other tensors cannot be moved along with it."""
        from sys import getrefcount
        storage = self._root()._storage_obj
        old = storage._array
        if type(old) is not _ndarray:
            raise NotImplementedError(f"resize_(): growing the storage of a {self.device.type} tensor is not "
                                      "supported by flambeau; allocate a new tensor instead")
        owner = old if old.base is None else old.base
        # holders besides the local owner and getrefcount's argument (and old, when it is the owner):
        # the storage's array and this tensor's array, each the owner itself or a view of it
        expected = 2 + sum(1 for a in (old, self._data) if a is owner or a.base is owner) + (old is owner)
        import sys
        # an empty storage has nothing to move: it grows even when shared (as Tensor()'s does)
        if old.shape[0] and (self._base is not None or type(owner) is not _ndarray or getrefcount(owner) > expected
                             or sys.version_info >= (3, 14)):       # see _COUNTS_ARE_EXACT in autograd/engine.py
            raise NotImplementedError(
                f"resize_(): the storage must grow from {old.shape[0]} to {needed} elements, and other tensors (or "
                "arrays) share it; flambeau cannot move their memory along with it (clone() this tensor first)")
        grown = np.zeros(needed, old.dtype)
        grown[:old.shape[0]] = old
        storage._array = grown
        return grown

    def _set_data(self, array, root):
        self._data = array
        self._base = root if root is not self else None
        self._storage_obj = None if root is not self else self._storage_obj
        self._version_counter[0] += 1

    # -- autograd state ----------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and not (self.dtype.is_floating_point or self.dtype.is_complex):
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to use a "
                    "computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach().")
            return self
        if requires_grad and not (self.dtype.is_floating_point or self.dtype.is_complex):
            # torch's wording here leaves out complex, which requires_grad_() accepts all the same
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if requires_grad and isinstance(self._version_counter, _InferenceVersion) and not _inference[0]:
            raise RuntimeError(grad_mode.REQUIRES_GRAD_ON_INFERENCE_TENSOR)
        self._requires_grad = bool(requires_grad)
        return self

    def is_inference(self):
        """Whether this tensor was made in inference mode (Note [Inference tensors])."""
        return isinstance(self._version_counter, _InferenceVersion)

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def grad_fn(self):
        if self._base is not None and self._base_hist is not None:
            from ._ops.views import refresh_view_history
            refresh_view_history(self)
        return self._grad_fn

    @property
    def grad(self):
        g = self._grad
        if g is None and self._grad_fn is not None and not self.__dict__.get("_retains"):
            import warnings
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
                "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
                "for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor.", UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value):
        if value is not None:
            # PyTorch's checks, in its order: type, dtype, device, size
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value.dtype is not self.dtype:
                from ._ops.blas import _C_NAMES      # the gradient's dtype as C++ spells it: 'double'
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{_C_NAMES.get(value.dtype.name, value.dtype.name)}'"
                    f" to a tensor with grad_dtype '{self.dtype._legacy[:-len('Tensor')]}'. The gradient must match "
                    "the tensor's grad_dtype (defaults to the tensor's dtype). You can set the tensor's grad_dtype "
                    "attribute with a specific dtype, or None to allow any dtype. Set grad_dtype with caution. "
                    "Diverging the dtypes of a tensor and its gradient may break downstream systems that assume "
                    "they match.")
            if value.device.type != self.device.type:
                raise RuntimeError(f"attempting to assign a gradient with device type '{value.device.type}' to a "
                                   f"tensor with device type '{self.device.type}'. Please ensure that the gradient "
                                   "and the tensor are on the same device")
            if value.device != self.device:
                raise RuntimeError(f"attempting to assign a gradient located on device with index "
                                   f"'{value.device.index}' to a tensor located on device with index "
                                   f"'{self.device.index}'. Please ensure that the gradient and the tensor are on "
                                   "the same device")
            if value.shape != self.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of "
                                   f"size '{list(self.shape)}'. Please ensure that the gradient and the tensor are "
                                   "the same size")
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def output_nr(self):
        return self._output_nr

    @property
    def _version(self):
        """How many times this tensor's memory was written in place (shared by its views)."""
        if type(self._version_counter) is _InferenceVersion:
            raise RuntimeError("Inference tensors do not track version counter.")
        return self._version_counter[0]

    def _edge(self):
        """(node, output_nr) through which a gradient reaches this tensor."""
        fn = self.grad_fn
        if fn is not None:
            return (fn, self._output_nr)
        acc = self._grad_acc() if self._grad_acc is not None else None
        if acc is None:
            acc = AccumulateGrad(self)
            import weakref
            self._grad_acc = weakref.ref(acc)
        return (acc, 0)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (chain rule, tape order)."""
        from .autograd import backward as _backward
        _backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook):
        """hook(grad) -> None or a replacement grad, run when this tensor's gradient is computed."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        fn = self.grad_fn
        if fn is None:
            if self._hooks is None:
                self._hooks = {}
            return _Handle(self._hooks, hook)
        table = fn.__dict__.setdefault("_tensor_hooks", {}).setdefault(self._output_nr, {})
        fn._hooked = True
        return _Handle(table, hook)

    def register_post_accumulate_grad_hook(self, hook):
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        return _Handle(self.__dict__.setdefault("_post_acc_hooks", {}), hook)

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self.__dict__.get("_retains"):
            return
        # the engine finds the tensor's grad_fn when backward runs (an in-place op may have
        # changed it since), and keeps the gradient after the tensor's other hooks
        from .autograd.engine import retain
        retain(self)
        self.__dict__["_retains"] = True

    @property
    def retains_grad(self):
        return bool(self.__dict__.get("_retains")) and self.grad_fn is not None

    def detach(self):
        """A new tensor sharing data, cut from the graph."""
        t = _make(self._data)
        t._base = self._root()
        v = self._version_counter
        t._version_counter = v if type(v) is not _InferenceVersion else _DetachedInferenceVersion((0,))
        return t

    def detach_(self):
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) "
                "for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and "
                "hence detach_() cannot be called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
        self._grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self):
        """Like detach(), but with a version counter of its own: in-place changes through .data are
        hidden from autograd (no "modified by an inplace operation" error), as in PyTorch."""
        t = self.detach()
        if type(t._version_counter) is list:
            t._version_counter = [0]
        return t

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._set_data(value._data, value._root())
        self._storage_obj = value._root()._storage_obj if self._base is None else None

    def _alias(self):
        """A new tensor object over the same data and version counter (no graph)."""
        t = _make(self._data)
        t._base = self._root()
        t._version_counter = self._version_counter
        return t

    # -- conversions -------------------------------------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item() if type(self._data) is _ndarray else _xp.to_host(self._data).item()

    def tolist(self):
        return _xp.to_host(self._data).tolist()

    def numpy(self, *, force=False):
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if type(self._data) is not _ndarray:
            if not force:
                self._refuse_numpy()
            return _xp.to_host(self._data)
        return self._data

    def _refuse_numpy(self):
        raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to "
                        "copy the tensor to host memory first.")

    def __array__(self, dtype=None, copy=None):
        if type(self._data) is not _ndarray:     # NumPy sees host memory only: torch raises TypeError here too
            self._refuse_numpy()
        a = self._data
        return a if dtype is None else a.astype(dtype)

    def __float__(self):
        return float(self._scalar("float"))

    def __int__(self):
        return int(self._scalar("int"))

    def __complex__(self):
        return complex(self._scalar("complex"))

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self._data.size == 0:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def is_nonzero(self):
        return self.__bool__()

    def is_same_size(self, other):
        return self._data.shape == other._data.shape

    def to_dense(self, dtype=None, *, masked_grad=None):
        """This tensor (flambeau's tensors are all dense), in dtype when given."""
        return self if dtype is None else self.to(dtype)

    def new(self, *args, **kwargs):
        """Legacy constructor in this tensor's dtype and device: new(2, 3) is uninitialized (zeros
        here), new([1, 2]) copies data, new() is empty."""
        kwargs.setdefault("dtype", self.dtype)
        kwargs.setdefault("device", self.device)
        t = Tensor.__new__(Tensor)
        Tensor.__init__(t, *args, **kwargs) if args else Tensor.__init__(t, 0, **kwargs)
        return t

    def apply_(self, callable):
        """Replace each element x by callable(x), in Python (CPU tensors only, as torch)."""
        return self._map_elements("apply_", callable)

    def map_(self, tensor, callable):
        """self[i] = callable(self[i], tensor[i]) with tensor broadcast to self (CPU only)."""
        return self._map_elements("map_", callable, tensor)

    def map2_(self, x, y, callable):
        """self[i] = callable(self[i], x[i], y[i]) with x and y broadcast to self (CPU only)."""
        return self._map_elements("map2_", callable, x, y)

    def _map_elements(self, op, fn, *others):
        if self.device.type != "cpu" or any(o.device.type != "cpu" for o in others):
            raise TypeError(f"{op} is only implemented on CPU tensors")
        if self._requires_grad and grad_mode._enabled[0]:
            raise RuntimeError(f"{op}(): a tensor that requires grad cannot be changed element by element")
        args = [np.broadcast_to(o._data, self._data.shape) for o in others]
        flat = [a.reshape(-1) for a in [self._data] + args]
        values = [fn(*(a[i].item() for a in flat)) for i in range(self._data.size)]
        self._data[...] = np.asarray(values, dtype=self._data.dtype).reshape(self._data.shape)
        self._version_counter[0] += 1
        return self

    def _scalar(self, what):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self):
        return id(self)

    def __reduce_ex__(self, proto):
        # as torch: the whole storage, with this view's offset and strides (each tensor pickles its own
        # copy, so views do not share after unpickling); a view that is not (offset, strides) over
        # its storage is pickled compact
        base = self._storage_array()
        if any(s < 0 for s in self._data.strides) or self._data.dtype != base.dtype or self._data.size == 0:
            return (_rebuild, (_xp.to_host(self._data).copy(), str(self.device), self._requires_grad))
        offset = (_xp.address(self._data) - _xp.address(base)) // self._data.itemsize
        return (_rebuild_view, (_xp.to_host(base).copy(), offset, tuple(self._data.shape), self.stride(),
                                str(self.device), self._requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the "
                               "deepcopy protocol at the moment.  If you were attempting to deepcopy a module, "
                               "this may be because of a torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        new = type(self).__new__(type(self))
        _init_from(new, self._data.copy())
        storage_copy = self._deepcopy_storage(memo)
        if storage_copy is not None:     # a view into the copied storage, as torch memoizes storages
            base = self._storage_array()
            offset = (_xp.address(self._data) - _xp.address(base)) // self._data.itemsize
            new._data = _xp.as_strided(storage_copy._data[offset:], self._data.shape, self._data.strides)
            new._version_counter = storage_copy._version_counter
            if not (offset == 0 and self._data.size == base.size and self._data.flags.c_contiguous):
                new._base = storage_copy
        new._requires_grad = self._requires_grad
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
        for k, v in self.__dict__.items():
            if not k.startswith("_"):
                import copy
                new.__dict__[k] = copy.deepcopy(v, memo)
        memo[id(self)] = new
        return new

    def _deepcopy_storage(self, memo):
        """The copy of this tensor's storage made by this deepcopy (made now if first), so that views
        copied together share one storage again; None where the view is not (offset, strides) over
        its storage (negative strides, a dtype reinterpretation) and gets a compact copy."""
        base = self._storage_array()
        if any(s < 0 for s in self._data.strides) or self._data.dtype != base.dtype or self._data.size == 0:
            return None
        if id(base) not in memo:
            memo[id(base)] = _make(base.copy())
            memo.setdefault(id(memo), []).append(base)      # keeps id(base) from being reused meanwhile
        return memo[id(base)]

    def __dlpack__(self, stream=None, **kw):
        return self._data.__dlpack__(**({} if stream is None else {"stream": stream}), **kw)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            name = self.dtype._legacy
            return f"torch.{name}" if self.device.type == "cpu" else f"torch.cuda.{name}"
        if isinstance(dtype, str):
            d = _dtype.from_legacy_name(dtype)
            if d is None:
                raise ValueError(f"invalid type: '{dtype}'")
            dev = "cuda" if ".cuda." in dtype else "cpu"
            return self.to(device=dev, dtype=d)
        legacy_device = getattr(dtype, "_device_type", None)     # flambeau.FloatTensor, flambeau.cuda.FloatTensor
        if legacy_device is not None:
            return self.to(device=legacy_device, dtype=dtype._dtype)
        if not isinstance(dtype, _dtype.dtype):     # unlike to(), type() takes no Python type (float)
            raise ValueError(f"invalid type: '{getattr(dtype, '__name__', dtype)}'")
        return self.to(dtype)

    def type_as(self, other):
        # self.type(other.type()) in torch: the legacy type names the device as well as the dtype
        return self.to(other.device, other.dtype)

    def to(self, *args, **kwargs):
        """to(dtype) / to(device, dtype=None) / to(other): a converted tensor (self if nothing changes),
        laid out in memory_format if one is given."""
        memory_format = kwargs.pop("memory_format", None)
        dtype, dev, copy = _parse_to(self, args, kwargs)
        out = _ops_dispatch.convert(self, dtype, dev, copy)
        if memory_format is None or memory_format._name == "preserve_format":
            return out
        # as PyTorch's: nothing to do if the strides already suggest this format (even if not dense)
        if out is self and _suggested_memory_format(self) == memory_format._name:
            return self
        from ._ops.creation import _format_strides, clone
        if out is not self and out.stride() == _format_strides(out.shape, None, memory_format):
            return out
        return clone(out, memory_format=memory_format)

    def cpu(self, memory_format=None):
        return self.to("cpu", memory_format=memory_format)

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        return self.to("cuda" if device is None else (_device_cls("cuda", device) if isinstance(device, int) else device),
                       memory_format=memory_format)

    def float(self, memory_format=None):
        return self.to(_dtype.float32)

    def double(self, memory_format=None):
        return self.to(_dtype.float64)

    def half(self, memory_format=None):
        return self.to(_dtype.float16)

    def long(self, memory_format=None):
        return self.to(_dtype.int64)

    def int(self, memory_format=None):
        return self.to(_dtype.int32)

    def short(self, memory_format=None):
        return self.to(_dtype.int16)

    def char(self, memory_format=None):
        return self.to(_dtype.int8)

    def byte(self, memory_format=None):
        return self.to(_dtype.uint8)

    def bool(self, memory_format=None):
        return self.to(_dtype.bool)

    def cfloat(self, memory_format=None):
        return self.to(_dtype.complex64)

    def cdouble(self, memory_format=None):
        return self.to(_dtype.complex128)

    def __repr__(self, *, tensor_contents=None):
        from ._tensor_str import tensor_repr
        return tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0 and type(self) is Tensor:
            return format(self.item(), spec)
        # object's: the empty spec gives str(self), any other raises "...passed to Tensor.__format__" as torch's does
        return object.__format__(self, spec)


_ops_dispatch = None    # set by flambeau._ops (conversion entry points), avoiding an import cycle


def _rebuild(array, dev, requires_grad):
    from ._ops.creation import tensor
    t = _make(array)
    if dev != "cpu":
        t = t.to(dev)
    t._requires_grad = requires_grad
    return t


def _rebuild_view(storage, offset, shape, stride, dev, requires_grad):
    """Unpickle a tensor saved as (storage, offset, shape, stride); a view of the whole storage in
    row-major order comes back as a root tensor, anything else as a view over the storage."""
    root = _rebuild(storage, dev, False)
    if offset == 0 and stride == _contiguous_strides(shape) and math.prod(shape) == storage.size:
        t = _make(root._data.reshape(shape))
    else:
        item = root._data.itemsize
        t = _make(_xp.as_strided(root._data[offset:], shape, tuple(s * item for s in stride)))
        t._base = root
        t._version_counter = root._version_counter
    t._requires_grad = requires_grad
    return t


def _canonical_empty(a):
    """A zero-size array with PyTorch's strides: NumPy gives fresh empty arrays all-zero strides,
    PyTorch contiguous ones (views keep the strides they were given)."""
    if any(a.strides) or a.base is not None:
        return a
    return _xp.as_strided(a, a.shape, tuple(s * a.itemsize for s in _contiguous_strides(a.shape)))


def _init_from(t, array):
    if not array.size and array.ndim:
        array = _canonical_empty(array)
    t._data = array
    t._base = None
    t._storage_obj = None
    t._requires_grad = False
    t._grad = None
    t._grad_fn = None
    t._output_nr = 0
    t._version_counter = _InferenceVersion((0,)) if _inference[0] else [0]
    t._hooks = None
    t._grad_acc = None
    t._base_hist = None


def _parse_to(t, args, kwargs):
    dtype = _dtype.dtype_arg(kwargs.pop("dtype", None), "to")
    dev = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, _dtype.dtype) or a in (float, int, bool, complex):      # to(float) is to(torch.float64)
            dtype = _dtype.dtype_arg(a)
        elif isinstance(a, (str, _device_cls, int)) and not isinstance(a, bool):
            dev = a
        elif isinstance(a, Tensor):
            dtype, dev = a.dtype, a.device
        elif isinstance(a, bool):
            pass       # non_blocking / copy given positionally
        elif a is None:
            pass
        else:
            raise TypeError(f"to() received an invalid combination of arguments: {type(a).__name__}")
    if dev is not None:
        dev = _canonical_device(dev)
    return dtype, dev, copy


def _wrap_dim(dim, ndim):
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _contiguous_strides(shape):
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(strides))


# The C++ element types PyTorch names in set_()'s dtype error
_CPP_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
                   "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
                   "bool": "bool", "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def _check_as_strided(size, stride, offset, storage_size, itemsize):
    """as_strided's checks, in PyTorch's order and words (sizes in bytes, as it counts them)."""
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got strides: {list(stride)}")
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    if any(n < 0 for n in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}")
    needed = _elements_spanned(size, stride, offset)
    if needed > storage_size:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and itemsize "
            f"{itemsize} requiring a storage size of {needed * itemsize} are out of bounds for storage of size "
            f"{storage_size * itemsize}")


def _check_set_geometry(size, stride, offset):
    """set_()'s checks, in PyTorch's order and words; a storage too small is grown, not refused."""
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    if any(n < 0 for n in size):
        raise RuntimeError("numel: integer multiplication overflow")
    if len(size) != len(stride):
        raise RuntimeError(f"unequal size length ({len(size)}) and stride length ({len(stride)})")
    if 0 not in size and any(s < 0 for s in stride):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}")


def _elements_spanned(size, stride, offset):
    """How many storage elements a (size, stride, offset) view reaches into: 0 when it is empty."""
    if 0 in size:
        return 0
    return offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))


def _reinterpret(array, np_dtype):
    """A 1-D array's bytes read as np_dtype, dropping the trailing bytes that make no whole element."""
    raw = array.view(np.uint8)
    item = np.dtype(np_dtype).itemsize
    return raw[:raw.shape[0] // item * item].view(np_dtype)


def _span_array(a):
    """A 1-D array over the memory a spans, starting at its first element (a root's storage)."""
    if a.size == 0:
        return a.reshape(-1)[:0].copy() if a.ndim else a.reshape(1)[:0]
    item = a.itemsize
    if a.flags.c_contiguous:
        return a.reshape(-1)
    span = 1 + sum((n - 1) * (s // item) for n, s in zip(a.shape, a.strides) if n > 1)
    return _xp.as_strided(a, (span,), (item,))
