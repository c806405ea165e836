"""The legacy typed tensor classes: ``torch.FloatTensor(2, 3)``, ``isinstance(x, torch.LongTensor)``."""
from . import _dtype
from ._storage import TypedStorage, UntypedStorage
from ._tensor import Tensor


class _LegacyMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls._dtype and obj.device.type == cls._device_type

    def __call__(cls, *args, device=None):
        from ._ops import creation
        if device is None:
            device = cls._device_type      # not the default device: torch.FloatTensor(2) is on the CPU
        if len(args) == 1 and not isinstance(args[0], int):
            if isinstance(args[0], Tensor):
                return args[0].to(cls._dtype)
            if isinstance(args[0], (TypedStorage, UntypedStorage)):     # a tensor viewing that storage whole
                return creation.empty(0, dtype=cls._dtype, device=args[0].device).set_(args[0])
            return creation.tensor(args[0], dtype=cls._dtype, device=device)
        return creation.zeros(args or (0,), dtype=cls._dtype, device=device)     # FloatTensor(): tensor([])

    def __repr__(cls):
        return f"<class 'torch.{'cuda.' if cls._is_cuda else ''}{cls.__name__}'>"


def _legacy(name, dt, device_type="cpu"):
    return _LegacyMeta(name, (), {"_dtype": dt, "dtype": dt, "_device_type": device_type,
                                  "_is_cuda": device_type == "cuda", "is_cuda": device_type == "cuda"})


FloatTensor = _legacy("FloatTensor", _dtype.float32)
DoubleTensor = _legacy("DoubleTensor", _dtype.float64)
HalfTensor = _legacy("HalfTensor", _dtype.float16)
ByteTensor = _legacy("ByteTensor", _dtype.uint8)
CharTensor = _legacy("CharTensor", _dtype.int8)
ShortTensor = _legacy("ShortTensor", _dtype.int16)
IntTensor = _legacy("IntTensor", _dtype.int32)
LongTensor = _legacy("LongTensor", _dtype.int64)
BoolTensor = _legacy("BoolTensor", _dtype.bool)


# torch.cuda.FloatTensor and the others: the same types on the cuda device (flambeau.cuda exports them)
CUDA_TYPES = {cls.__name__: _legacy(cls.__name__, cls._dtype, "cuda")
              for cls in (FloatTensor, DoubleTensor, HalfTensor, ByteTensor, CharTensor, ShortTensor, IntTensor,
                          LongTensor, BoolTensor)}


class _LegacyStorageMeta(type):
    """torch.FloatStorage and the others: constructors of TypedStorage of one dtype, and isinstance tests."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, TypedStorage) and obj.dtype is cls.dtype and obj.device.type == cls._device_type

    def __call__(cls, *args, wrap_storage=None, **kwargs):
        if kwargs or len(args) > 1 or (wrap_storage is not None and args):
            given = f"keyword argument '{next(iter(kwargs))}'" if kwargs else f"{len(args)} positional arguments"
            raise RuntimeError(f"{cls!r}.__new__ received an invalid combination of arguments: expected no "
                               f"arguments, (int size), (Sequence data) or (*, UntypedStorage wrap_storage), "
                               f"but got {given}")
        if wrap_storage is not None:
            return _wrap_bytes(wrap_storage, cls.dtype, cls)
        if args and not isinstance(args[0], int):
            data = args[0]
            if isinstance(data, (str, bytes)) or not hasattr(data, "__len__"):
                raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
        return TypedStorage(*args, dtype=cls.dtype, device=cls._device_type)

    def from_buffer(cls, buffer, byte_order=None, count=-1, offset=0):
        """The storage of `count` elements read from a bytes-like object at byte `offset`, in `byte_order`
        ('native', 'little' or 'big'; needed unless the elements are single bytes)."""
        import numpy as np
        item = cls.dtype.itemsize
        if byte_order is None:
            if item != 1:
                raise RuntimeError("function missing required argument 'byte_order' (pos 2)")
            byte_order = "native"
        orders = {"native": "=", "little": "<", "big": ">"}
        if byte_order not in orders:
            raise ValueError(f"invalid byte_order '{byte_order}' (expected 'native', 'little' or 'big')")
        raw = memoryview(buffer).cast("B")[offset:]
        if count < 0:
            if len(raw) % item:
                raise ValueError(f"buffer size ({len(raw)}) must be a multiple of element size ({item})")
            count = len(raw) // item
        elif count * item > len(raw):
            raise ValueError(f"buffer has only {len(raw)} bytes after offset {offset}, but {count} elements of "
                             f"{item} bytes were asked for")
        values = np.frombuffer(raw, dtype=np.dtype(cls.dtype.np).newbyteorder(orders[byte_order]), count=count)
        return TypedStorage(values.astype(cls.dtype.np))   # a copy in native order, as torch's

    def __repr__(cls):
        return f"<class 'torch.{'cuda.' if cls._device_type == 'cuda' else ''}{cls.__name__}'>"


def _wrap_bytes(untyped, dt, what):
    if not isinstance(untyped, UntypedStorage):
        raise TypeError(f"{what}: wrap_storage must be an UntypedStorage, got {type(untyped).__name__}")
    raw = untyped._typed.reshape(-1).view("uint8")
    if raw.shape[0] % dt.itemsize:
        raise RuntimeError(f"{what}: {raw.shape[0]} bytes are not a whole number of {dt} elements "
                           f"of {dt.itemsize} bytes")
    return TypedStorage(raw.view(dt.np))


def _legacy_storage(name, dt, device_type="cpu"):
    return _LegacyStorageMeta(name, (), {"dtype": dt, "_device_type": device_type,
                                         "is_cuda": device_type == "cuda"})


STORAGE_TYPES = {name: _legacy_storage(name, dt) for name, dt in (
    ("FloatStorage", _dtype.float32), ("DoubleStorage", _dtype.float64), ("HalfStorage", _dtype.float16),
    ("ByteStorage", _dtype.uint8), ("CharStorage", _dtype.int8), ("ShortStorage", _dtype.int16),
    ("IntStorage", _dtype.int32), ("LongStorage", _dtype.int64), ("BoolStorage", _dtype.bool),
    ("ComplexFloatStorage", _dtype.complex64), ("ComplexDoubleStorage", _dtype.complex128))}
CUDA_STORAGE_TYPES = {name: _legacy_storage(name, cls.dtype, "cuda") for name, cls in STORAGE_TYPES.items()}


def storage_type_of(dtype, device_type):
    """The legacy storage class of a dtype and device type (tensor.storage_type())."""
    table = CUDA_STORAGE_TYPES if device_type == "cuda" else STORAGE_TYPES
    for cls in table.values():
        if cls.dtype is dtype:
            return cls
    raise RuntimeError(f"no legacy storage type for {dtype} on {device_type}")
