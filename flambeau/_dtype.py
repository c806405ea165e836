"""dtypes, and PyTorch's type-promotion rules.

A flambeau dtype wraps a NumPy dtype (CuPy uses the same ones). Its repr is
PyTorch's (``torch.float32``) so that printed output matches course transcripts.
"""
import math

import numpy as np

__all__ = [
    "dtype", "float16", "half", "float32", "float", "float64", "double", "uint8", "int8",
    "int16", "short", "int32", "int", "int64", "long", "bool", "complex64", "cfloat",
    "complex128", "cdouble", "get_default_dtype", "set_default_dtype", "promote_types",
    "result_type", "can_cast", "finfo", "iinfo",
]


class dtype:
    """A tensor element type (``flambeau.float32`` ...)."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_complex", "is_signed",
                 "_legacy", "_category")

    def __init__(self, name, np_dtype, legacy):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = self.np.kind == "f"
        self.is_complex = self.np.kind == "c"
        self.is_signed = self.np.kind in "fic"
        self._legacy = legacy          # the old tensor type name, e.g. FloatTensor
        # 0 bool, 1 integral, 2 floating, 3 complex: the order promotion works by.
        self._category = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}[self.np.kind]

    def __repr__(self):
        return "torch." + self.name

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))

    def to_real(self):
        return {complex64: float32, complex128: float64}.get(self, self)

    def to_complex(self):
        return {float16: complex64, float32: complex64, float64: complex128}.get(self, self)


float16 = half = dtype("float16", np.float16, "HalfTensor")
float32 = float = dtype("float32", np.float32, "FloatTensor")
float64 = double = dtype("float64", np.float64, "DoubleTensor")
uint8 = dtype("uint8", np.uint8, "ByteTensor")
int8 = dtype("int8", np.int8, "CharTensor")
int16 = short = dtype("int16", np.int16, "ShortTensor")
int32 = int = dtype("int32", np.int32, "IntTensor")
int64 = long = dtype("int64", np.int64, "LongTensor")
bool = dtype("bool", np.bool_, "BoolTensor")
complex64 = cfloat = dtype("complex64", np.complex64, "ComplexFloatTensor")
complex128 = cdouble = dtype("complex128", np.complex128, "ComplexDoubleTensor")

ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool, complex64, complex128)
_BY_PYTHON_TYPE = {type(1.0): float64, type(1): int64, type(True): bool, type(1j): complex128}
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_LEGACY = {d._legacy: d for d in ALL}


def _dtype_by_name(name):
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype):
    """The flambeau dtype of a NumPy dtype; TypeError for the ones PyTorch lacks."""
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{np.dtype(np_dtype).type.__name__}. The only supported types are: "
            "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint8, "
            "and bool.") from None


def dtype_arg(d, op=None):
    """A ``dtype=`` argument as a dtype: PyTorch also takes the Python types float, int, bool and complex
    (float64, int64, bool, complex128); None stays None."""
    if d is None or isinstance(d, dtype):
        return d
    by_python_type = _BY_PYTHON_TYPE.get(d) if isinstance(d, type) else None
    if by_python_type is not None:
        return by_python_type
    got = type(d).__name__
    if isinstance(d, np.dtype):         # PyTorch names this class with its module: numpy.dtypes.Float32DType
        got = f"{type(d).__module__}.{got}"
    where = f"{op}(): argument" if op else "argument"
    raise TypeError(f"{where} 'dtype' must be torch.dtype, not {got}")


def from_legacy_name(name):
    """'torch.FloatTensor' or 'FloatTensor' -> float32."""
    return _BY_LEGACY.get(name.rsplit(".", 1)[-1])


_default = [float32]


def get_default_dtype():
    return _default[0]


def set_default_dtype(d):
    # PyTorch's messages, word for word: course code prints them
    if not isinstance(d, dtype):
        raise TypeError("invalid dtype object: only floating-point types are supported as the default type")
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default[0] = d


def default_complex():
    return complex128 if _default[0] is float64 else complex64


def _dtype_argument(d, op, name, position):
    # PyTorch's argument parser also takes the Python types float, int, bool and complex here
    if isinstance(d, type) and d in _BY_PYTHON_TYPE:
        return _BY_PYTHON_TYPE[d]
    if not isinstance(d, dtype):
        raise TypeError(f"{op}(): argument '{name}' (position {position}) must be torch.dtype, not {type(d).__name__}")
    return d


def promote_types(type1, type2):
    """The smallest dtype both type1 and type2 convert to safely (torch.promote_types)."""
    type1 = _dtype_argument(type1, "promote_types", "type1", 1)
    type2 = _dtype_argument(type2, "promote_types", "type2", 2)
    if type1 is type2:
        return type1
    ca, cb = type1._category, type2._category
    if ca != cb:
        hi, lo = (type1, type2) if ca > cb else (type2, type1)
        if hi.is_complex and lo.is_floating_point and lo.itemsize > hi.itemsize // 2:
            return complex128
        if hi._category >= 2 or lo is bool:
            return hi
    return _BY_NP[np.promote_types(type1.np, type2.np)]


def _combine_categories(higher, lower):
    # Port of the rule by which 0-dim tensors and Python scalars take part in promotion:
    # they only matter when they belong to a higher category than the dimensioned operands.
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.is_complex:
        return higher
    if lower.is_complex:
        return higher.to_complex() if higher.is_floating_point else lower
    if higher.is_floating_point:
        return higher
    if higher is bool or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def scalar_dtype(value):
    """dtype a Python number takes part in promotion with."""
    if isinstance(value, _pybool):
        return bool
    if isinstance(value, np.bool_):      # PyTorch reads a NumPy bool scalar as a floating-point number
        return _default[0]
    if isinstance(value, (_pyint, np.integer)):
        return int64
    if isinstance(value, (_pyfloat, np.floating)):
        return _default[0]
    if isinstance(value, (complex, np.complexfloating)):
        return default_complex()
    raise TypeError(f"expected a Tensor or a Python number, got {type(value).__name__}")


_pybool, _pyint, _pyfloat = type(True), type(1), type(1.0)


def result_type(*operands):
    """torch.result_type over Tensors and Python scalars."""
    dim = zero = wrapped = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim > 0:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        else:
            d = scalar_dtype(x)
            wrapped = d if wrapped is None else promote_types(wrapped, d)
    return _combine_categories(dim, _combine_categories(zero, wrapped))


def can_cast(from_, to):
    """Whether an in-place op may write a from_ result into a to tensor (torch.can_cast)."""
    from_ = _dtype_argument(from_, "can_cast", "from_", 1)
    to = _dtype_argument(to, "can_cast", "to", 2)
    if from_._category > to._category:
        return False
    return True


_C_NAME = {"float16": "c10::Half", "float32": "float", "float64": "double", "uint8": "uint8_t", "int8": "int8_t",
           "int16": "int16_t", "int32": "int", "int64": "int64_t"}


def fill_value(value, to):
    """value as a ``to`` element can hold it, or PyTorch's error for a fill value (fill_, full,
    masked_fill...) that does not fit (c10::overflows): integers may wrap within an unsigned type's
    range (-1 fills uint8 with 255), a float must lie within the type's range, NaN and inf only fit
    floating types, anything fits bool."""
    if to is bool or to.is_complex or isinstance(value, (_pybool, np.bool_)):
        return value
    if isinstance(value, (complex, np.complexfloating)):
        if value.imag != 0:
            raise RuntimeError(f"value cannot be converted to type {_C_NAME[to.name]} without overflow")
        value = value.real
    if to.is_floating_point:
        fits = not math.isfinite(value) or -np.finfo(to.np).max <= value <= np.finfo(to.np).max
    else:
        info = np.iinfo(to.np)
        integral = isinstance(value, (_pyint, np.integer))
        lo = -info.max if info.min == 0 and integral else info.min
        fits = (integral or math.isfinite(value)) and lo <= value <= info.max
        if fits and integral and value < 0 and info.min == 0:
            value = _pyint(value) + info.max + 1
    if not fits:
        raise RuntimeError(f"value cannot be converted to type {_C_NAME[to.name]} without overflow")
    return value


class finfo:
    def __init__(self, type=None):
        type = type or _default[0]
        info = np.finfo(type.np)
        self.bits, self.eps, self.max, self.min = info.bits, _pyfloat(info.eps), _pyfloat(info.max), _pyfloat(info.min)
        self.tiny = self.smallest_normal = _pyfloat(info.tiny)
        # PyTorch's resolution is 10 ** -digits10 as a double (0.001 for float16, not float16(0.001))
        self.resolution, self.dtype = 10.0 ** -info.precision, type.name

    def __repr__(self):         # PyTorch's: C++ stream formatting, six significant digits
        fields = ", ".join(f"{name}={getattr(self, name):g}"
                           for name in ("resolution", "min", "max", "eps", "smallest_normal", "tiny"))
        return f"finfo({fields}, dtype={self.dtype})"


class iinfo:
    def __init__(self, type):
        info = np.iinfo(type.np)
        self.bits, self.max, self.min, self.dtype = info.bits, _pyint(info.max), _pyint(info.min), type.name

    def __repr__(self):         # PyTorch's streams the bounds as doubles: -2.14748e+09 for int32
        return "iinfo(min=%g, max=%g, dtype=%s)" % (self.min, self.max, self.dtype)
