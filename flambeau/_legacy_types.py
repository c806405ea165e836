"""The legacy typed tensor classes: ``torch.FloatTensor(2, 3)``, ``isinstance(x, torch.LongTensor)``."""
from . import _dtype
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
            return creation.tensor(args[0], dtype=cls._dtype, device=device)
        return creation.zeros(*args, dtype=cls._dtype, device=device)

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
