"""Storages: the flat 1-D buffers that tensors are strided views of."""
import numpy as np

from . import _dtype, _xp

__all__ = ["TypedStorage", "UntypedStorage"]


class TypedStorage:
    """A 1-D buffer of one dtype (what ``tensor.storage()`` returns)."""

    __slots__ = ("_array", "__weakref__")

    def __init__(self, *args, dtype=None, device=None):
        if len(args) == 1 and _xp.is_array(args[0]):
            self._array = args[0]
            return
        from . import _device
        dev = _device.canonical(device)
        xp = _device.xp_of(dev)
        dt = dtype or _dtype.get_default_dtype()
        if len(args) == 0:
            self._array = xp.empty(0, dt.np)
        elif len(args) == 1 and isinstance(args[0], int):
            self._array = xp.zeros(args[0], dt.np)
        elif len(args) == 1:
            self._array = xp.asarray(np.asarray(list(args[0]), dtype=dt.np))
        else:
            raise TypeError(f"TypedStorage(): expected a size or a sequence, got {args!r}")

    @property
    def dtype(self):
        return _dtype.from_numpy_dtype(self._array.dtype)

    @property
    def device(self):
        return _xp.device_of(self._array)

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    def size(self):
        return self._array.shape[0]

    __len__ = size

    def element_size(self):
        return self._array.itemsize

    def nbytes(self):
        return self._array.nbytes

    def data_ptr(self):
        return _xp.address(self._array)

    def _check_index(self, i):
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for storage of size {n}")

    def __getitem__(self, i):
        if isinstance(i, slice):
            return TypedStorage(self._array[i].copy())
        self._check_index(i)
        return self._array[i].item()

    def __setitem__(self, i, value):
        if not isinstance(i, slice):
            self._check_index(i)
        _xp.setitem(self._array, i, value)

    def __iter__(self):
        return iter(_xp.to_host(self._array).tolist())

    def tolist(self):
        return _xp.to_host(self._array).tolist()

    def fill_(self, value):
        _xp.fill(self._array, value)
        return self

    def resize_(self, size):
        """Grow (new elements zero) or shrink this storage in place. NumPy cannot move the memory under
        other arrays, so only a storage that no tensor or array views can be resized."""
        if type(self._array) is np.ndarray and self._array.base is None:
            try:
                self._array.resize(int(size), refcheck=True)    # refuses an array others reference
                return self
            except ValueError:
                pass
        raise NotImplementedError(
            f"resize_(): this storage of {len(self)} elements is viewed by tensors or arrays (or lives on "
            f"{self.device.type} memory), and flambeau cannot move their memory along with it; allocate a new "
            "storage instead")

    def copy_(self, other):
        self._array[...] = other._array
        return self

    def clone(self):
        return TypedStorage(self._array.copy())

    def type(self, dtype=None, non_blocking=False):
        """The name of this storage's legacy type ('torch.FloatStorage'), or, given a type or its name, a
        copy converted to that type."""
        from ._legacy_types import storage_type_of, STORAGE_TYPES, CUDA_STORAGE_TYPES
        own = storage_type_of(self.dtype, self.device.type)
        if dtype is None:
            return ("torch.cuda." if self.is_cuda else "torch.") + own.__name__
        if isinstance(dtype, str):
            table = CUDA_STORAGE_TYPES if dtype.startswith("torch.cuda.") else STORAGE_TYPES
            name = dtype.rsplit(".", 1)[-1]
            if name not in table:
                raise ValueError(f"invalid storage type '{dtype}'")
            dtype = table[name]
        if dtype is own:
            return self
        from ._tensor import _make
        return _make(self._array).to(dtype=dtype.dtype, device=dtype._device_type).storage()

    def untyped(self):
        return UntypedStorage(self._array)

    def _new_tensor(self):
        from ._tensor import _make
        return _make(self._array)

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__

    def _type_name(self):
        return f"torch.storage.TypedStorage(dtype={self.dtype!r}, device={self.device})"

    def __repr__(self):
        from ._tensor_str import storage_repr
        return storage_repr(self)

    __str__ = __repr__


class UntypedStorage:
    """The bytes of a storage (``tensor.untyped_storage()``)."""

    __slots__ = ("_typed",)

    def __init__(self, array):
        self._typed = array

    def nbytes(self):
        return self._typed.nbytes

    def size(self):
        return self._typed.nbytes

    __len__ = size

    def element_size(self):
        return 1

    def data_ptr(self):
        return _xp.address(self._typed)

    @property
    def device(self):
        return _xp.device_of(self._typed)

    def _bytes(self):
        return self._typed.view(np.uint8)

    def __getitem__(self, i):
        return int(self._bytes()[i])

    def tolist(self):
        return _xp.to_host(self._bytes()).tolist()

    def __repr__(self):
        from ._tensor_str import storage_repr
        return storage_repr(self)
