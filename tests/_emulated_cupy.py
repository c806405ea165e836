"""An emulated CuPy on NumPy: runs the suite's cuda tests on a machine without a GPU.

It checks what a CPU machine can check about flambeau's cuda code paths, not GPU numerics:

- CuPy's API surface: only the names and keyword arguments that real CuPy has (read from
  tests/data/cupy_api.json, written by scripts/snapshot_cupy_api.py) can be called.
- CuPy's strictness: a device array never turns into a NumPy array implicitly
  (``__array__`` raises TypeError, as CuPy does), and CuPy functions, ufuncs and operators
  refuse NumPy arrays mixed with device arrays. Reductions and full indexing return 0-d
  device arrays, never NumPy scalars. There is no ``__index__``.
- CuPy's semantics where they differ from NumPy's (each seen on a real GPU):
  - out-of-range integer-array indices wrap around instead of raising (in indexing, take,
    take_along_axis and scatter_add);
  - ``fill`` (and so ``full`` and ``a[basic index] = scalar``) with a zero scalar on a
    C-contiguous array is a memset: -0.0 becomes +0.0; so is the upload of a 0-d host value
    (``asarray(-0.0)``) and ``a[advanced index] = -0.0``; ``fill`` with a device array reads it;
  - ``broadcast_to`` refuses NumPy scalars, ``where`` a Python bool as its condition;
  - a float converted to an integer type goes through a saturating 32-bit (or 64-bit)
    conversion, as CUDA's ``cvt`` does: -2.7 -> uint8 is 0, 300.7 -> uint8 is 44, NaN is 0;
  - ``floor_divide`` of floats is ``floor(a / b)`` (NumPy's is the floor of the exact quotient);
  - a complex division by zero gives nan+nanj;
  - ``scatter_add``/``add.at`` take int32, int64, float16, float32, float64, uint32 and uint64
    only, ``scatter_max``/``scatter_min`` the same without float16;
  - the logical ufuncs refuse complex arrays;
  - ``cupyx.scipy.special.polygamma`` needs ``n`` as a device array;
  - ``RandomState.randint`` reads the device (rejection sampling sizes its output on the host);
  - ``maximum.at``/``minimum.at`` (and ``scatter_max``/``scatter_min``) ignore NaN, and on float64
    keep a float32-rounded result (CuPy's float64 atomicMax calls fmaxf);
  - a reduction of a 0-d array over axis 0 or -1 raises AxisError (NumPy reduces nothing);
  - ``cupyx.scipy.special``'s i0e/i1e are exp(-|x|) I(x) and k0e/k1e exp(x) K(x), in the input's
    precision: NaN (inf * 0) once I(x) or K(x) overflows or underflows.
  - a ufunc or a reduction allocates its output row-major, whatever the inputs' layout (NumPy's
    follow them);
  - ``as_strided`` views have no ``base``, though they share the viewed array's memory.
- ``RawKernel`` runs the kernel's own CUDA source on the CPU (tests/_emulated_kernels.py).
- Host synchronisations: every read of device values by the host (``get``, ``item``,
  ``float``, ``bool``, ``asnumpy``, printing, ...) is counted in ``SYNCS``.

Device arrays are ``ndarray`` objects wrapping a NumPy array (``_a``); views wrap NumPy
views of the same memory, so strides, offsets and aliasing behave as on the GPU.
"""
import collections
import contextlib
import functools
import json
import threading
import time
import types
import weakref
from pathlib import Path

import numpy

import _emulated_kernels

_API = json.loads((Path(__file__).parent / "data" / "cupy_api.json").read_text())
__version__ = _API["version"] + "+emulated"
SYNCS = [0]
LAUNCHES = collections.Counter()      # device work issued, by operation: a GPU launches a kernel (or more) for each
_EMULATED = True
_sync_allowed = threading.local()


class DeviceSynchronized(RuntimeError):
    """Raised, as by CuPy, when the host reads device values inside ``allow_synchronize(False)``."""


def _sync():
    SYNCS[0] += 1
    if not getattr(_sync_allowed, "value", True):
        raise DeviceSynchronized("device synchronization was detected while disallowed")


@contextlib.contextmanager
def allow_synchronize(allow):
    previous = getattr(_sync_allowed, "value", True)
    _sync_allowed.value = allow
    try:
        yield
    finally:
        _sync_allowed.value = previous


@contextlib.contextmanager
def count_syncs():
    """``with count_syncs() as n:`` ... ``n[0]`` is the number of host reads inside."""
    start, box = SYNCS[0], [0]
    try:
        yield box
    finally:
        box[0] = SYNCS[0] - start


# -- wrapping -------------------------------------------------------------------------------

_OWNERS = weakref.WeakValueDictionary()     # id(NumPy array) -> the base-less device array over it (an
                                            # owner of memory, or an as_strided view)


def _cupy_base(a):
    """The device array CuPy gives as ``base`` to a view of NumPy array a's memory: the first array
    of a's base chain that a base-less device array stands for (an owner, or an ``as_strided`` view),
    made for the memory's owner when none is alive; None when a owns its memory."""
    r = a.base
    while r is not None:
        if isinstance(r, numpy.ndarray):
            known = _OWNERS.get(id(r))
            if known is not None and known._a is r:
                return known
            if r.base is None:
                owner = object.__new__(ndarray)        # an owner no device array stood for yet
                owner._a, owner._base = r, None
                _OWNERS[id(r)] = owner
                return owner
        r = r.base if hasattr(r, "base") else None     # (through as_strided's interface object too)
    return None


def _wrap(x):
    if isinstance(x, numpy.ndarray):
        return ndarray._of(x)
    if isinstance(x, numpy.generic):
        return ndarray._of(numpy.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _unwrap(x, what):
    """The NumPy array behind a device array; NumPy arrays are refused as CuPy does."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, numpy.ndarray):
        raise TypeError(f"Unsupported type {type(x)} in {what} (the emulated CuPy refuses host "
                        "arrays where real CuPy does: move them with cupy.asarray first)")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, what) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v, what) for k, v in x.items()}
    return x


def _check_call(name, spec, args, kwargs):
    if spec is None:
        raise AttributeError(f"CuPy {_API['version']} has no {name}")
    if "params" not in spec:
        return
    params = spec["params"]
    if len(args) > len(params) and not spec["varargs"]:
        raise TypeError(f"{name}() takes at most {len(params)} positional arguments in CuPy ({len(args)} given)")
    if not spec["varkw"]:
        unknown = set(kwargs) - set(params)
        if unknown:
            raise TypeError(f"{name}() got keyword arguments CuPy does not accept: {sorted(unknown)}")


# -- indices wrap around, as in CuPy ------------------------------------------------------

def _wrap_index(key, shape):
    """key with its integer-array components taken modulo their axis' length.

    A bool in key (True, False) is, as in NumPy and CuPy, a 0-d boolean mask: a new axis of length 1 or 0
    that takes none of the array's axes."""
    items = list(key) if isinstance(key, tuple) else [key]
    items = [_unwrap_index(k) for k in items]

    def is_mask(k):
        return isinstance(k, (bool, numpy.bool_)) or isinstance(k, numpy.ndarray) and k.dtype == bool
    if any(is_mask(k) and numpy.size(k) for k in items):
        _sync()         # a boolean mask (a 0-d one too): CuPy reads its count of True from the device
    consumed = sum(numpy.ndim(k) if is_mask(k) else 0 if k is None or k is Ellipsis else 1 for k in items)
    axis, out = 0, []
    for k in items:
        if k is Ellipsis:
            axis += len(shape) - consumed
        elif k is None:
            pass
        elif is_mask(k):
            axis += numpy.ndim(k)
        else:
            if isinstance(k, numpy.ndarray) and k.dtype.kind in "iu" and axis < len(shape) and shape[axis] > 0:
                k = k % shape[axis]
            axis += 1
        out.append(k)
    return tuple(out) if isinstance(key, tuple) else out[0]


def _unwrap_index(k):
    if isinstance(k, ndarray):
        return k._a
    if isinstance(k, list):
        return numpy.asarray(k)
    return k


# -- the device array -----------------------------------------------------------------------

class _Device:
    id = 0

    def synchronize(self):
        _sync()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Memory:
    """An allocation (CuPy's PooledMemory): held only by the pointers into it."""
    __slots__ = ("__weakref__",)


class _Pointer:
    """CuPy's MemoryPointer: an address, and the allocation it points into. As in CuPy, an array
    holds one; a view holds its own into the same allocation, and an ``as_strided`` view holds the
    very pointer of the array it was taken of, so reference counts show who shares memory."""
    __slots__ = ("ptr", "mem")
    device_id = 0

    def __init__(self, ptr, mem=None):
        self.ptr, self.mem = ptr, mem


class ndarray:
    """A device array: a NumPy array that refuses to leave the device implicitly."""

    __slots__ = ("_a", "_base", "_pointer", "__weakref__")
    __array_priority__ = 100

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        self._a = numpy.empty(shape, dtype, order=order)
        self._base = None
        _OWNERS[id(self._a)] = self
        _pool._allocated(self._a)

    @classmethod
    def _of(cls, a):
        """The device array of NumPy array a. As in CuPy, an array handed back as it is (an out=,
        an ascontiguousarray of a contiguous array) is the same object, and a view's ``base`` is
        the array owning the memory (or the ``as_strided`` view it was taken of), held by the view."""
        known = _OWNERS.get(id(a))
        if known is not None and known._a is a:
            return known
        if a.base is None:
            self = object.__new__(cls)
            self._a, self._base = a, None
            _OWNERS[id(a)] = self
            _pool._allocated(a)
            return self
        self = object.__new__(cls)
        self._a = a
        base = self._base = _cupy_base(a)
        if base is not None:           # a view holds a pointer into its base's allocation
            self._pointer = _Pointer(a.__array_interface__["data"][0], base.data.mem)
        return self

    # Attributes ----------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    strides = property(lambda self: self._a.strides)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: _wrap(self._a.T))
    mT = property(lambda self: _wrap(numpy.swapaxes(self._a, -1, -2)))
    real = property(lambda self: _wrap(self._a.real))
    imag = property(lambda self: _wrap(self._a.imag))
    device = property(lambda self: _Device())

    @property
    def data(self):
        pointer = getattr(self, "_pointer", None)
        if pointer is None:          # an owner's, made when first asked for
            pointer = self._pointer = _Pointer(self._a.__array_interface__["data"][0], _Memory())
        return pointer

    @property
    def base(self):
        return self._base

    @shape.setter
    def shape(self, value):
        self._a.shape = value

    def __getattr__(self, name):
        spec = _API["ndarray"].get(name)
        if spec is None or name.startswith("_"):
            raise AttributeError(f"cupy.ndarray has no attribute {name!r} in CuPy {_API['version']}")
        method = getattr(self._a, name)

        def call(*args, **kwargs):
            _check_call(f"ndarray.{name}", spec, args, kwargs)
            _check_reduction_axis(name, self, args, kwargs)
            no_copy = name == "astype" and kwargs.get("copy") is False and \
                numpy.dtype(args[0] if args else kwargs["dtype"]) == self._a.dtype
            if name not in _VIEW_METHODS and not no_copy:
                LAUNCHES[f"ndarray.{name}"] += 1
            args, kwargs = _unwrap(args, f"ndarray.{name}"), _unwrap(kwargs, f"ndarray.{name}")
            if name in _MAYBE_COPY:
                return _wrap(_count_if_copied(f"ndarray.{name}", method(*args, **kwargs), self._a))
            if name == "take":
                args = (_wrap_index(args[0], (self._a.size,) if kwargs.get("axis", args[1] if len(args) > 1 else None) is None
                                    else (self._a.shape[kwargs.get("axis", args[1] if len(args) > 1 else None)],)),) + args[1:]
            if name in _REDUCTIONS and kwargs.get("out") is None:
                return _wrap(_row_major(method(*args, **kwargs)))
            return _wrap(method(*args, **kwargs))
        return call

    def fill(self, value):
        LAUNCHES["ndarray.fill"] += 1
        if isinstance(value, ndarray):
            _sync()                     # CuPy compares the value with 0 on the host
            value = value._a
        elif isinstance(value, numpy.ndarray):
            value = value.astype(self.dtype).item()
        if not isinstance(value, numpy.ndarray) and value == 0 and self._a.flags.c_contiguous:
            self._a[...] = 0            # CuPy memsets: the sign of a negative zero is lost
        else:
            self._a[...] = value

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        dtype = numpy.dtype(dtype)
        if not copy and dtype == self._a.dtype:
            return self
        LAUNCHES["ndarray.astype"] += 1
        return _wrap(_cuda_cast(self._a, dtype, order))

    # Host reads: allowed, and counted ------------------------------------------------
    def get(self, stream=None, order="C", out=None, blocking=True):
        _sync()
        result = numpy.array(self._a, order=order)
        if out is not None:
            out[...] = result
            return out
        return result

    def set(self, arr, stream=None):
        self._a[...] = arr

    def item(self, *args):
        _sync()
        return self._a.item(*args)

    def tolist(self):
        _sync()
        return self._a.tolist()

    def __format__(self, spec):
        _sync()
        return format(self._a[()] if self._a.ndim == 0 else self._a, spec)

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __copy__(self):
        return _wrap(self._a.copy())

    def __deepcopy__(self, memo):
        return _wrap(self._a.copy())

    def __reduce__(self):
        raise TypeError("the emulated device arrays are not picklable (flambeau moves values "
                        "to the host before pickling)")

    def __dlpack__(self, *args, **kwargs):
        return self._a.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return (2, 0)   # kDLCUDA, device 0

    # Indexing ---------------------------------------------------------------------
    def __getitem__(self, key):
        out = self._a[_wrap_index(key, self._a.shape)]
        if not numpy.shares_memory(out, self._a):
            LAUNCHES["getitem (copy)"] += 1
        return _wrap(out)

    def __setitem__(self, key, value):
        LAUNCHES["setitem"] += 1
        on_device = isinstance(value, ndarray)
        if on_device:
            value = value._a             # copied by a kernel: the sign of -0.0 stays
        key = _wrap_index(key, self._a.shape)
        if not isinstance(value, numpy.ndarray) and _is_basic(key):
            target = self._a[key]
            if isinstance(target, numpy.ndarray):
                return ndarray._of(target).fill(value)
        self._a[key] = value if on_device else _uploaded_number(value)

    # NumPy protocol: NumPy functions on device arrays dispatch to CuPy's -------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        own = getattr(_module, ufunc.__name__, None)
        if not isinstance(own, _Ufunc):
            return NotImplemented
        return getattr(own, method)(*inputs, **kwargs) if method != "__call__" else own(*inputs, **kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        module = func.__module__.replace("numpy", "cupy") if func.__module__ else "cupy"
        if module in ("cupy._core.multiarray", "cupy._core.umath", "cupy._core.fromnumeric"):
            module = "cupy"
        namespace = _NAMESPACES.get(module) or _NAMESPACES["cupy"]
        try:
            own = getattr(namespace, func.__name__)
        except AttributeError:
            return NotImplemented
        return own(*args, **kwargs)


_REDUCTIONS = {"sum", "prod", "max", "min", "amax", "amin", "mean", "var", "std", "all", "any", "argmax", "argmin",
               "nansum", "nanprod", "nanmax", "nanmin", "nanmean", "nanvar", "nanstd", "ptp"}


def _check_reduction_axis(name, a, args, kwargs):
    """CuPy checks each reduction axis against ndim, also for a 0-d array (NumPy lets axis 0 through)."""
    if name.rsplit(".", 1)[-1] not in _REDUCTIONS or not isinstance(a, ndarray) or a.ndim:
        return
    axis = kwargs.get("axis", args[0] if args else None)
    if axis is not None and not isinstance(axis, tuple):
        raise numpy.exceptions.AxisError(axis, 0)


def _uploaded_number(value):
    """A host number or 0-d array as CuPy uploads it: into a fresh 0-d array by fill, a zero by memset."""
    if numpy.ndim(value) == 0 and not isinstance(value, (str, bytes)) and value == 0:
        return numpy.zeros((), numpy.asarray(value).dtype)
    return value


def _is_basic(key):
    items = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice)) and not isinstance(k, bool) for k in items)


def _cuda_cast(a, dtype, order="K"):
    """a as dtype, converting floats to integers as CUDA's saturating ``cvt`` does (NaN gives 0):
    through a 32-bit integer for the narrow types, whose high bits are then dropped."""
    if a.dtype.kind not in "fc" or dtype.kind not in "iu":
        return a.astype(dtype, order=order)
    x = numpy.nan_to_num(a.real.astype(numpy.float64), nan=0.0, posinf=numpy.inf, neginf=-numpy.inf)
    wide = numpy.dtype(("u" if dtype.kind == "u" else "i") + str(max(dtype.itemsize, 4)))
    info = numpy.iinfo(wide)
    with numpy.errstate(invalid="ignore"):
        # the bounds as floats: the largest 64-bit values round up to 2**63 / 2**64, out of range
        clipped = numpy.where(x >= float(info.max), info.max, numpy.where(x <= float(info.min), info.min, 0))
        inside = (x < float(info.max)) & (x > float(info.min))
        out = numpy.where(inside, numpy.trunc(numpy.where(inside, x, 0)).astype(wide), clipped.astype(wide))
    return out.astype(dtype, order=order)


def _host_read(convert):
    def read(self):
        _sync()
        return convert(self._a)
    return read


for _dunder, _convert in [("float", float), ("int", int), ("complex", complex), ("bool", bool), ("repr", repr),
                          ("str", str)]:
    setattr(ndarray, f"__{_dunder}__", _host_read(_convert))


def _operator(ufunc_name, reflected=False):
    def op(self, other):
        if isinstance(other, numpy.ndarray) and not isinstance(other, ndarray):
            raise TypeError(f"Unsupported type {type(other)} in an operator with a cupy.ndarray")
        ufunc = getattr(_module, ufunc_name)
        return ufunc(other, self) if reflected else ufunc(self, other)
    return op


def _inplace(ufunc_name):
    def op(self, other):
        getattr(_module, ufunc_name)(self, other, out=self)
        return self
    return op


for _dunder, _ufunc in [("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "true_divide"),
                        ("floordiv", "floor_divide"), ("mod", "remainder"), ("pow", "power"),
                        ("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor"),
                        ("lshift", "left_shift"), ("rshift", "right_shift")]:
    setattr(ndarray, f"__{_dunder}__", _operator(_ufunc))
    setattr(ndarray, f"__r{_dunder}__", _operator(_ufunc, reflected=True))
    setattr(ndarray, f"__i{_dunder}__", _inplace(_ufunc))
for _dunder, _ufunc in [("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal"),
                        ("eq", "equal"), ("ne", "not_equal")]:
    setattr(ndarray, f"__{_dunder}__", _operator(_ufunc))
for _dunder, _ufunc in [("neg", "negative"), ("pos", "positive"), ("abs", "absolute"), ("invert", "invert")]:
    setattr(ndarray, f"__{_dunder}__", (lambda u: lambda self: getattr(_module, u)(self))(_ufunc))
ndarray.__hash__ = None


def _matmul(self, other):
    return _module.matmul(self, other)


ndarray.__matmul__ = _matmul
ndarray.__rmatmul__ = lambda self, other: _module.matmul(other, self)


# -- functions and ufuncs -------------------------------------------------------------------

class _Ufunc:
    _KWARGS = {"out", "dtype", "casting"}

    def __init__(self, name, numpy_ufunc, spec):
        self.__name__, self._u, self._spec = name, numpy_ufunc, spec
        self.nin, self.nout = spec["nin"], spec["nout"]

    def _inputs(self, inputs):
        for x in inputs:
            if isinstance(x, (list, tuple)):
                raise TypeError(f"Unsupported type {type(x)}: CuPy ufuncs take device arrays or scalars")
        return _unwrap(inputs, f"cupy.{self.__name__}")

    def __call__(self, *inputs, **kwargs):
        unknown = set(kwargs) - self._KWARGS
        if unknown:
            raise TypeError(f"cupy.{self.__name__}() got keyword arguments CuPy does not accept: {sorted(unknown)}")
        out = kwargs.get("out")
        if isinstance(out, tuple):
            out = out[0] if len(out) == 1 else out
        if out is not None:
            kwargs["out"] = _unwrap(out, f"cupy.{self.__name__}")
        LAUNCHES[self.__name__] += 1
        arrays = self._inputs(inputs)
        if self.__name__ in _NO_COMPLEX and any(numpy.iscomplexobj(x) for x in arrays):
            raise TypeError(f"Wrong type ({tuple(numpy.asarray(x).dtype for x in arrays)}) of arguments for "
                            f"cupy_{self.__name__}")
        quirk = _UFUNC_QUIRKS.get(self.__name__)
        result = quirk(self._u, arrays, kwargs) if quirk else self._u(*arrays, **kwargs)
        if out is not None and not isinstance(out, tuple):
            return out
        # CuPy allocates its outputs row-major; NumPy's follow the inputs' layout
        return _wrap(tuple(map(_row_major, result)) if isinstance(result, tuple) else _row_major(result))

    # CuPy 14 implements these ufunc methods for a few ufuncs only (others raise NotImplementedError)
    _SUPPORTED = {"at": {"add", "maximum", "minimum"}, "reduce": {"add", "multiply"},
                  "accumulate": {"add", "multiply"}, "reduceat": {"add"}}

    def _method(self, name, params):
        if name not in self._spec["methods"]:
            raise AttributeError(f"cupy.{self.__name__} has no method {name} in CuPy {_API['version']}")
        if name in self._SUPPORTED and self.__name__ not in self._SUPPORTED[name]:
            raise NotImplementedError(f"`cupy_{self.__name__}.{name}` is not supported yet (CuPy {_API['version']})")
        numpy_method = getattr(self._u, name)
        spec = {"params": params, "varargs": False, "varkw": False}

        def call(*args, **kwargs):
            _check_call(f"{self.__name__}.{name}", spec, args, kwargs)
            out = kwargs.get("out")
            args, kwargs = self._inputs(args), _unwrap(kwargs, f"cupy.{self.__name__}.{name}")
            LAUNCHES[f"{self.__name__}.{name}"] += 1
            if name == "at":
                _check_scatter_dtype(self.__name__, args[0].dtype)
                args = (args[0], _wrap_index(args[1], args[0].shape)) + tuple(args[2:])
                if self.__name__ in ("maximum", "minimum"):
                    return _scatter_extremum(self.__name__, *args)
            result = numpy_method(*args, **kwargs)
            return out if out is not None else _wrap(result)
        return call

    reduce = property(lambda self: self._method("reduce", ["array", "axis", "dtype", "out", "keepdims"]))
    accumulate = property(lambda self: self._method("accumulate", ["array", "axis", "dtype", "out"]))
    reduceat = property(lambda self: self._method("reduceat", ["array", "indices", "axis", "dtype", "out"]))
    outer = property(lambda self: self._method("outer", ["A", "B"]))
    at = property(lambda self: self._method("at", ["a", "indices", "b"]))


# CuPy's reduction kernels allocate their results row-major (NumPy's follow the input's layout)
_REDUCTIONS = {"sum", "prod", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "all", "any",
               "nansum", "nanprod", "nanmax", "nanmin", "nanmean", "nanvar", "nanstd", "count_nonzero"}


def _row_major(a):
    return a.copy(order="C") if isinstance(a, numpy.ndarray) and not a.flags.c_contiguous else a


_NO_COMPLEX = {"logical_and", "logical_or", "logical_xor", "logical_not"}


def _floor_divide(u, arrays, kwargs):
    """CuPy's floor division of floats: the floor of the rounded quotient."""
    result_type = numpy.result_type(*arrays)
    if result_type.kind != "f":
        return u(*arrays, **kwargs)
    out = kwargs.get("out")
    with numpy.errstate(all="ignore"):
        q = numpy.floor(numpy.true_divide(*arrays, dtype=kwargs.get("dtype")))
    if out is not None:
        numpy.copyto(out, q, casting="unsafe")
        return out
    return q


def _true_divide(u, arrays, kwargs):
    """CuPy's complex division: by zero gives nan+nanj."""
    result = u(*arrays, **kwargs)
    if numpy.iscomplexobj(result):
        zero = numpy.broadcast_to(numpy.asarray(arrays[1]) == 0, numpy.shape(result))
        if zero.any():
            result = numpy.asarray(result)
            numpy.copyto(result, numpy.array(complex("nan+nanj"), result.dtype), where=zero)
            if kwargs.get("out") is not None and kwargs["out"] is not result:
                kwargs["out"][...] = result
    return result


_UFUNC_QUIRKS = {"floor_divide": _floor_divide, "true_divide": _true_divide, "divide": _true_divide}

# What only makes a view (no device work), as methods and as functions.
# reshape and ravel are views when the layout allows, else a copy: one launch; ascontiguousarray
# returns a C-contiguous array of the same dtype as it is
_MAYBE_COPY = {"reshape", "ravel", "ascontiguousarray"}


def _count_if_copied(name, result, source):
    if result.size and not numpy.shares_memory(result, source):
        LAUNCHES[name] += 1
    return result


_VIEW_METHODS = {"reshape", "view", "transpose", "swapaxes", "squeeze", "ravel", "diagonal"}
# Functions that launch nothing on a GPU: views, type queries, allocations without a fill, and
# may_share_memory (a comparison of bounds on the host).
_VIEW_FUNCTIONS = {"reshape", "transpose", "swapaxes", "moveaxis", "squeeze", "expand_dims", "broadcast_to",
                   "atleast_1d", "atleast_2d", "atleast_3d", "result_type", "can_cast", "dtype", "promote_types",
                   "iinfo", "finfo", "get_array_module", "shape", "ndim", "size", "isscalar", "broadcast_arrays",
                   "empty", "empty_like", "may_share_memory"}

# Functions whose output shape depends on the values: CuPy reads the device to size them.
_DATA_DEPENDENT = {"cupy.nonzero", "cupy.argwhere", "cupy.flatnonzero", "cupy.unique", "cupy.compress",
                   "cupy.extract", "cupy.trim_zeros"}


def _function(qualname, numpy_fn, spec):
    @functools.wraps(numpy_fn)
    def call(*args, **kwargs):
        _check_call(qualname, spec, args, kwargs)
        if args:
            _check_reduction_axis(qualname, args[0], args[1:], kwargs)
        if qualname in _DATA_DEPENDENT:
            _sync()
        short = qualname.split(".")[-1]
        if short not in _VIEW_FUNCTIONS and short not in _MAYBE_COPY:
            LAUNCHES[qualname] += 1
        result = numpy_fn(*_unwrap(args, qualname), **_unwrap(kwargs, qualname))
        if short in _MAYBE_COPY and args and isinstance(args[0], ndarray):
            _count_if_copied(qualname, result, args[0]._a)
        if short in _REDUCTIONS and kwargs.get("out") is None:
            result = _row_major(result)
        return _wrap(result)
    return call


class _Namespace(types.ModuleType):
    """A CuPy namespace whose names come from the snapshot and whose work NumPy does."""

    def __init__(self, name, numpy_namespaces, overrides=None):
        super().__init__(name)
        self._numpy = numpy_namespaces
        self._overrides = overrides or {}
        self._cache = {}

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        if attr in self._overrides:
            return self._overrides[attr]
        cached = self._cache.get(attr)
        if cached is not None:
            return cached
        spec = _API["namespaces"][self.__name__].get(attr)
        if spec is None:
            raise AttributeError(f"module '{self.__name__}' has no attribute '{attr}' in CuPy {_API['version']}")
        for namespace in self._numpy:
            target = getattr(namespace, attr, None)
            if target is not None:
                break
        else:
            raise NotImplementedError(f"the emulated CuPy has no NumPy counterpart for {self.__name__}.{attr}")
        if spec.get("ufunc"):
            value = _Ufunc(attr, target, spec)
        elif spec.get("class") or spec.get("value"):
            value = target
        else:
            value = _function(f"{self.__name__}.{attr}", target, spec)
        self._cache[attr] = value
        return value


# Functions where CuPy and NumPy differ, or which move data between host and device.

def asarray(a, dtype=None, order=None, *, blocking=False):
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == dtype else a.astype(dtype)
    return ndarray._of(numpy.array(_uploaded_number(_unwrap_host(a)), dtype=dtype, order=order or "K"))


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        out = _cuda_cast(obj._a, numpy.dtype(dtype or obj.dtype), order) if copy or dtype not in (None, obj.dtype) \
            else obj._a
        return _wrap(out if ndmin <= out.ndim else out.reshape((1,) * (ndmin - out.ndim) + out.shape))
    return ndarray._of(numpy.array(_uploaded_number(_unwrap_host(obj)), dtype=dtype, order=order, ndmin=ndmin))


def where(condition, x=None, y=None):
    if not hasattr(condition, "astype"):        # CuPy calls condition.astype('?')
        raise AttributeError(f"'{type(condition).__name__}' object has no attribute 'astype'")
    LAUNCHES["cupy.where"] += 1
    if x is None and y is None:
        _sync()
        return _wrap(numpy.where(_unwrap(condition, "cupy.where")))
    return _wrap(numpy.where(*_unwrap((condition, x, y), "cupy.where")))


def broadcast_to(array, shape):
    if not isinstance(array, ndarray):
        raise TypeError(f"Argument 'array' has incorrect type (expected cupy._core.core._ndarray_base, got "
                        f"{type(array).__name__})")
    return _wrap(numpy.broadcast_to(array._a, shape))


def full_like(a, fill_value, dtype=None, order="K", subok=None, shape=None):
    return full(a.shape if shape is None else shape, fill_value, a.dtype if dtype is None else dtype)


def full(shape, fill_value, dtype=None, order="C"):
    out = ndarray(shape, numpy.array(fill_value).dtype if dtype is None else dtype, order=order)
    out.fill(fill_value)
    return out


def copyto(dst, src, casting="same_kind", where=None):
    LAUNCHES["cupy.copyto"] += 1
    if casting not in ("no", "equiv", "safe", "same_kind", "unsafe"):
        raise ValueError(f"casting must be one of 'no', 'equiv', 'safe', 'same_kind', or 'unsafe' (got {casting!r})")
    value = _unwrap(src, "cupy.copyto")
    where = _unwrap(where, "cupy.copyto")
    if isinstance(value, numpy.ndarray) and value.dtype != dst.dtype:
        if not numpy.can_cast(value.dtype, dst.dtype, casting):
            raise TypeError(f"Cannot cast array data from {value.dtype} to {dst.dtype} according to the rule "
                            f"{casting!r}")
        value = _cuda_cast(value, dst.dtype)
    numpy.copyto(dst._a, value, casting="unsafe", where=True if where is None else where)


def _unwrap_host(obj):
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap_host(v) for v in obj)
    if isinstance(obj, ndarray):
        _sync()
        return obj._a
    return obj


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return numpy.asarray(a, order=order)


def get_array_module(*args):
    return _module if any(isinstance(a, ndarray) for a in args) else numpy


def take(a, indices, axis=None, out=None):
    indices = indices._a if isinstance(indices, ndarray) else numpy.asarray(indices)
    size = a.size if axis is None else a.shape[axis]
    if size:
        indices = indices % size
    result = numpy.take(a._a, indices, axis=axis, out=None if out is None else out._a)
    return out if out is not None else _wrap(result)


def take_along_axis(a, indices, axis):
    idx = _unwrap(indices, "cupy.take_along_axis")
    if axis is not None and a.shape[axis]:
        idx = idx % a.shape[axis]
    return _wrap(numpy.take_along_axis(a._a, idx, axis))


def put_along_axis(a, indices, values, axis):
    idx = _unwrap(indices, "cupy.put_along_axis")
    if axis is not None and a.shape[axis]:
        idx = idx % a.shape[axis]
    numpy.put_along_axis(a._a, idx, _unwrap(values, "cupy.put_along_axis"), axis)


_SCATTER_DTYPES = {"add": ("int32", "int64", "float16", "float32", "float64", "uint32", "uint64"),
                   "maximum": ("int32", "int64", "float32", "float64", "uint32", "uint64"),
                   "minimum": ("int32", "int64", "float32", "float64", "uint32", "uint64")}


def _check_scatter_dtype(op, dtype):
    if numpy.dtype(dtype).name not in _SCATTER_DTYPES[op]:
        raise TypeError(f"cupy.{op}.at only supports {', '.join(_SCATTER_DTYPES[op])} as data type")


def scatter_add(a, slices, value):
    _check_scatter_dtype("add", a.dtype)
    numpy.add.at(a._a, _wrap_index(slices, a.shape), _unwrap(value, "cupyx.scatter_add"))


def _scatter_extremum(name, a, index, value):
    """CuPy's atomic max/min: NaN loses (fmax/fmin), and float64 goes through fmaxf/fminf (float32)."""
    (numpy.fmax if name == "maximum" else numpy.fmin).at(a, index, value)
    if a.dtype == numpy.float64:
        touched = numpy.zeros(a.shape, bool)
        touched[index] = True
        a[touched] = a[touched].astype(numpy.float32).astype(numpy.float64)


def scatter_max(a, slices, value):
    _check_scatter_dtype("maximum", a.dtype)
    _scatter_extremum("maximum", a._a, _wrap_index(slices, a.shape), _unwrap(value, "cupyx.scatter_max"))


def scatter_min(a, slices, value):
    _check_scatter_dtype("minimum", a.dtype)
    _scatter_extremum("minimum", a._a, _wrap_index(slices, a.shape), _unwrap(value, "cupyx.scatter_min"))


class PinnedMemoryPointer(bytearray):
    """Page-locked host memory (here, ordinary memory under CuPy's type name)."""


def empty_pinned(shape, dtype=float, order="C"):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    nbytes = int(numpy.prod(shape, dtype=numpy.int64)) * numpy.dtype(dtype).itemsize
    return numpy.ndarray(shape, dtype=dtype, buffer=PinnedMemoryPointer(max(nbytes, 1)), order=order)


def as_strided(x, shape=None, strides=None):
    # CuPy's is ndarray(memptr=x.data): a view with no base, sharing x's memory; views of it take
    # it as their base
    a = numpy.lib.stride_tricks.as_strided(x._a, shape, strides, writeable=True)
    view = object.__new__(ndarray)
    view._a, view._base, view._pointer = a, None, x.data
    _OWNERS[id(a)] = view
    return view


def from_dlpack(obj):
    if isinstance(obj, ndarray):
        return obj
    return ndarray._of(numpy.array(numpy.from_dlpack(obj)))


# -- memory pool, streams, events, runtime ----------------------------------------------------

class MemoryPool:
    """Counts the bytes of live device arrays, through the allocator CuPy would call."""

    def __init__(self):
        self._used = 0
        self._limit = 0
        self._lock = threading.Lock()

    def _allocated(self, a):
        nbytes = a.nbytes
        if not nbytes:
            return
        # the allocator a program installed serves each allocation; the pool counts what it serves
        if _allocator[0](nbytes) is _SERVED_BY_POOL:
            weakref.finalize(a, self._freed, nbytes)

    def set_limit(self, size=None, fraction=None):
        self._limit = size or 0

    def _freed(self, nbytes):
        with self._lock:
            self._used -= nbytes

    def malloc(self, size):
        with self._lock:
            if self._limit and self._used + size > self._limit:
                raise OutOfMemoryError(size, self._used, self._limit)
            self._used += size
        return _SERVED_BY_POOL

    def get_limit(self):
        return self._limit

    def used_bytes(self):
        return self._used

    def total_bytes(self):
        return self._used

    def free_bytes(self):
        return 0

    def free_all_blocks(self, stream=None):
        pass


_SERVED_BY_POOL = _Pointer(0)
_pool = MemoryPool()
_allocator = [_pool.malloc]


def get_default_memory_pool():
    return _pool


def get_default_pinned_memory_pool():
    return _pool


def _set_allocator(fn=None):
    _allocator[0] = fn or _pool.malloc


def _get_allocator():
    return _allocator[0]


class Stream(_Device):
    """Work is done when issued: synchronizing counts as a host read and waits for nothing."""
    null = None

    def __init__(self, null=False, non_blocking=False, ptr=0, priority=0):
        pass

    @property
    def done(self):
        return True

    def use(self):
        _current_stream[0] = self
        return self


Stream.null = Stream(null=True)
_current_stream = [Stream.null]


class Event:
    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self._t = None

    def record(self, stream=None):
        self._t = time.perf_counter()

    def synchronize(self):
        _sync()

    @property
    def done(self):
        return True


def get_elapsed_time(start, end):
    return (end._t - start._t) * 1000.0


class CUDARuntimeError(RuntimeError):
    pass


class OutOfMemoryError(MemoryError):
    """CuPy's: the pool could not find ``size`` bytes."""

    def __init__(self, size, total, limit=0):
        super().__init__(f"Out of memory allocating {size:,} bytes (allocated so far: {total:,} bytes"
                         + (f", limit set to: {limit:,} bytes" if limit else "") + ").")


def _set_device(index):
    if index != 0:
        raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")


_runtime = types.SimpleNamespace(
    getDeviceCount=lambda: 1, getDevice=lambda: 0, setDevice=_set_device, CUDARuntimeError=CUDARuntimeError,
    getDeviceProperties=lambda index: {"name": b"Emulated CuPy device (NumPy)", "totalGlobalMem": 1 << 34,
                                       "major": 9, "minor": 0, "multiProcessorCount": 1},
    runtimeGetVersion=lambda: 12000, deviceSynchronize=_sync,
    memGetInfo=lambda: ((1 << 34) - _pool.used_bytes(), 1 << 34))
cuda = types.SimpleNamespace(
    runtime=_runtime, Device=lambda device=None: _Device(), Stream=Stream, Event=Event,
    get_current_stream=lambda: _current_stream[0], get_elapsed_time=get_elapsed_time, MemoryPool=MemoryPool,
    set_allocator=_set_allocator, get_allocator=_get_allocator, is_available=lambda: True,
    memory=types.SimpleNamespace(OutOfMemoryError=OutOfMemoryError))


class _RandomState:
    """CuPy's RandomState: NumPy's algorithm here, with its draws on the device."""

    def __init__(self, seed=None):
        self._state = numpy.random.RandomState(seed)

    def seed(self, seed=None):
        self._state.seed(seed)

    def __getattr__(self, name):
        spec = _API["namespaces"]["cupy.random"].get(name)
        draw = getattr(self._state, name)
        if spec is None or not callable(draw):
            raise AttributeError(f"cupy.random.RandomState has no {name!r} here")

        def call(*args, dtype=None, **kwargs):
            LAUNCHES[f"random.{name}"] += 1
            if name == "randint":
                _sync()         # CuPy's rejection sampling reads how many draws it kept
            # parameters may be device arrays (CuPy's samplers take them, e.g. poisson's lam)
            args = tuple(a._a if isinstance(a, ndarray) else a for a in args)
            kwargs = {k: v._a if isinstance(v, ndarray) else v for k, v in kwargs.items()}
            values = numpy.asarray(draw(*args, **kwargs))
            return ndarray._of(values.astype(dtype) if dtype is not None else values)
        return call


def _random_namespace():
    state = _RandomState(0)

    def seed(value=None):
        state.seed(value if value is None else int(value) & 0xFFFFFFFF)

    names = {n: getattr(state, n) for n, spec in _API["namespaces"]["cupy.random"].items()
             if not spec.get("class") and hasattr(state._state, n) and n not in ("seed", "get_random_state")}
    return _Namespace("cupy.random", [numpy.random], {**names, "seed": seed, "RandomState": _RandomState,
                                                      "get_random_state": lambda: state})


def _special_modules():
    import scipy.special
    return [scipy.special]


def _count_launch(key):
    LAUNCHES[key] += 1


def _matmul_copies(a, b, out):
    """The launches CuPy's matmul adds to the product (cupy/_core/_routines_linalg.pyx): a copy of
    each operand it cannot hand to cuBLAS as it is, and, for broadcast batches, the kernels that
    build the arrays of matrix pointers for a pointer-batched product."""
    x, y = (v._a if isinstance(v, ndarray) else numpy.asarray(v) for v in (a, b))
    nd = max(x.ndim, y.ndim)
    n = 0
    if nd <= 2:
        # dot: cuBLAS reads a row- or column-major matrix, any other layout is copied first
        n += sum(v.ndim == 2 and not (v.flags.c_contiguous or v.flags.f_contiguous) for v in (x, y))
    else:
        n += sum(not v.flags.c_contiguous for v in (x, y))
        bx, by = (1,) * (nd - x.ndim) + x.shape[:-2], (1,) * (nd - y.ndim) + y.shape[:-2]
        if x.ndim < 2 or y.ndim < 2:
            bx, by = bx[:nd - 2], by[:nd - 2]
        if any(p != q and min(p, q) == 1 for p, q in zip(bx, by)):
            n += 3 * (nd - 2)        # _mat_ptrs for both operands and the output
    if out is not None and not out._a.flags.c_contiguous:
        n += 1                       # the product in a temporary, then copied into out
    return n


def matmul(a, b, out=None, **kwargs):
    result = _plain_matmul(a, b, out=out, **kwargs)
    for _ in range(_matmul_copies(a, b, out)):
        LAUNCHES["cupy.matmul copies"] += 1
    return result


def _cublas_matmul(a, b, out=None, **kwargs):
    """numpy.matmul as cuBLAS computes it for CuPy: float16 products accumulate in float32 (CuPy's
    default compute type for half) and are rounded once, where NumPy's float16 loops round each step."""
    if a.dtype == numpy.float16 and b.dtype == numpy.float16:
        r = numpy.matmul(a.astype(numpy.float32), b.astype(numpy.float32), **kwargs).astype(numpy.float16)
        if out is None:
            return r
        out[...] = r
        return out
    return numpy.matmul(a, b, out=out, **kwargs)


_plain_matmul = _function("cupy.matmul", _cublas_matmul, _API["namespaces"]["cupy"]["matmul"])


_module = _Namespace("cupy", [numpy], {
    "ndarray": ndarray, "asarray": asarray, "array": array, "asnumpy": asnumpy,
    "get_array_module": get_array_module, "matmul": matmul, "take": take, "full": full, "full_like": full_like, "broadcast_to": broadcast_to, "where": where, "copyto": copyto, "take_along_axis": take_along_axis,
    "put_along_axis": put_along_axis, "cuda": cuda, "get_default_memory_pool": get_default_memory_pool,
    "get_default_pinned_memory_pool": get_default_pinned_memory_pool, "from_dlpack": from_dlpack,
    "fromDlpack": from_dlpack, "__version__": __version__, "_EMULATED": True,
    "count_syncs": count_syncs, "SYNCS": SYNCS,
    "RawKernel": _emulated_kernels.raw_kernel_class(ndarray, _count_launch)})
_cupyx = _Namespace("cupyx", [], {"scatter_add": scatter_add, "scatter_max": scatter_max,
                                  "scatter_min": scatter_min, "empty_pinned": empty_pinned,
                                  "allow_synchronize": allow_synchronize,
                                  "DeviceSynchronized": DeviceSynchronized})
_NAMESPACES = {
    "cupy": _module,
    "cupy.linalg": _Namespace("cupy.linalg", [numpy.linalg]),
    "cupy.random": _random_namespace(),
    "cupy.fft": _Namespace("cupy.fft", [numpy.fft]),
    "cupy.lib.stride_tricks": _Namespace("cupy.lib.stride_tricks", [numpy.lib.stride_tricks],
                                         {"as_strided": as_strided}),
    "cupyx": _cupyx,
}
_module._overrides.update(linalg=_NAMESPACES["cupy.linalg"], random=_NAMESPACES["cupy.random"],
                          fft=_NAMESPACES["cupy.fft"],
                          lib=types.SimpleNamespace(stride_tricks=_NAMESPACES["cupy.lib.stride_tricks"]))


cupy_module, cupyx_module = _module, _cupyx


def _polygamma(n, x):
    """CuPy's polygamma compares ``n == 0`` and hands that to ``where``: n must be a device array."""
    if not isinstance(n, ndarray):
        raise AttributeError(f"'{type(n == 0).__name__}' object has no attribute 'astype'")
    import scipy.special
    LAUNCHES["cupyx.scipy.special.polygamma"] += 1
    return _wrap(numpy.asarray(scipy.special.polygamma(n._a, _unwrap(x, "polygamma"))))


def _scaled_bessel(name):
    import scipy.special
    plain, sign = {"i0e": ("i0", -1), "i1e": ("i1", -1), "k0e": ("k0", 1), "k1e": ("k1", 1)}[name]

    def scaled(x):
        LAUNCHES[f"cupyx.scipy.special.{name}"] += 1
        a = _unwrap(x, name)
        with numpy.errstate(all="ignore"):
            factor = numpy.exp(sign * (numpy.abs(a) if sign < 0 else a))
            return _wrap(numpy.asarray(factor * getattr(scipy.special, plain)(a).astype(a.dtype)))
    return scaled


def special_namespace():
    special = _Namespace("cupyx.scipy.special", _special_modules(),
                         {"polygamma": _polygamma, **{n: _scaled_bessel(n) for n in ("i0e", "i1e", "k0e", "k1e")}})
    _NAMESPACES["cupyx.scipy.special"] = special
    _cupyx._overrides["scipy"] = types.SimpleNamespace(special=special)
    return special


def install():
    """Make ``import cupy`` (and cupyx) give the emulation, and return the cupy module."""
    import sys
    special = special_namespace()
    sys.modules.update({"cupy": _module, "cupy.linalg": _NAMESPACES["cupy.linalg"],
                        "cupy.random": _NAMESPACES["cupy.random"], "cupy.fft": _NAMESPACES["cupy.fft"],
                        "cupyx": _cupyx, "cupyx.scipy": types.SimpleNamespace(special=special),
                        "cupyx.scipy.special": special})
    return _module
