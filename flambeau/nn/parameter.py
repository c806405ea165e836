"""nn.Parameter: a tensor that a Module registers as a learnable parameter.

Note [Uninitialized tensors]
UninitializedParameter and UninitializedBuffer stand for tensors whose shape is not known
yet (lazy modules infer it from their first input). They hold an empty array that carries
their device and dtype, and, as PyTorch's, allow only what moves or casts them (``to``,
``cuda``, ``float``, ...), reading their properties (``dtype``, ``device``,
``requires_grad``, ...) and ``materialize``; anything else raises ValueError. PyTorch
intercepts calls through ``__torch_function__``; here ``__getattribute__`` refuses the other
methods by name, and refuses ``_data`` (through which every op reads a tensor) unless one
of the allowed operations is running. ``materialize`` gives the tensor its shape and turns
it, in place, into the regular class, so references held elsewhere (an optimizer's) stay
valid.
"""
import os
import sys

from .._tensor import Size, Tensor, _init_from
from ..autograd import grad_mode


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and is registered by Module attributes."""

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from .._ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): expected a Tensor as data, got {type(data).__name__}")
        self = Tensor.__new__(cls)
        _init_from(self, data._data)
        self._base = data._root() if data._data is not None else None
        self._version_counter = data._version_counter
        self._storage_obj = None
        self._requires_grad = bool(requires_grad) and (data.dtype.is_floating_point or data.dtype.is_complex)
        if requires_grad and not (data.dtype.is_floating_point or data.dtype.is_complex):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        if self._requires_grad and data.is_inference() and not grad_mode._inference[0]:
            raise RuntimeError(grad_mode.REQUIRES_GRAD_ON_INFERENCE_TENSOR)
        return self

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__       # Tensor aliases __str__ to its own __repr__

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (self.detach(), self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = Parameter(self.detach().clone(), self.requires_grad)
        memo[id(self)] = result
        return result


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """Marker for ``register_buffer`` through attribute assignment (nn.Buffer)."""

    def __new__(cls, data=None, *, persistent=True):
        from .._ops.creation import empty
        t = data if data is not None else empty(0)
        t.__dict__["_buffer_persistent"] = persistent
        return t


# what an uninitialized tensor allows, as PyTorch's UninitializedTensorMixin._allowed_methods
_ALLOWED_METHODS = frozenset({"__hash__", "size", "copy_", "is_complex", "is_floating_point", "half", "float",
                              "double", "char", "short", "int", "long", "cuda", "cpu", "to", "get_device"})

# > 0 while an allowed operation runs: it may then read the data of uninitialized tensors
_open = [0]


def _uninitialized_error(what, cls):
    return ValueError(
        f"Attempted to use an uninitialized parameter in {what}. This error happens when you are using a "
        f"`LazyModule` or explicitly manipulating `torch.nn.parameter.{cls.__name__}` objects. When using "
        "LazyModules Call `forward` with a dummy batch to initialize the parameters before calling torch functions")


def _class_attribute(cls, name):
    """(the class that defines name, its attribute) along cls's MRO, or (None, None)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass, klass.__dict__[name]
    return None, None


_PACKAGE_DIR = os.path.dirname(os.path.dirname(__file__)) + os.sep
_MODULES_DIR = os.path.join(_PACKAGE_DIR, "nn", "modules") + os.sep


def _entry_point():
    """The flambeau function the caller entered that reached the data (named in the error)."""
    frame = sys._getframe(2)
    name = None
    while frame is not None:
        path = frame.f_code.co_filename
        if not path.startswith(_PACKAGE_DIR) or path.startswith(_MODULES_DIR):
            break
        name = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
        frame = frame.f_back
    return f"<function {name}>" if name else "<attribute '_data' of 'Tensor' objects>"


def _called_from_op():
    """Whether the code that asks (the first frame outside this file) is a flambeau op, not a
    Module's or the user's."""
    frame = sys._getframe(1)
    while frame.f_code.co_filename == __file__:
        frame = frame.f_back
    path = frame.f_code.co_filename
    return path.startswith(_PACKAGE_DIR) and not path.startswith(_MODULES_DIR)


def _opened(fn, cls):
    """fn (an allowed method of an uninitialized tensor) run with the data readable; an
    UninitializedBuffer's conversions stay uninitialized buffers, as PyTorch's do."""

    def allowed(*args, **kwargs):
        _open[0] += 1
        try:
            result = fn(*args, **kwargs)
        finally:
            _open[0] -= 1
        if cls is UninitializedBuffer and isinstance(result, Tensor) and not isinstance(result, cls):
            result = _as_uninitialized(result, cls)
        return result
    return allowed


def _as_uninitialized(t, cls):
    out = Tensor.__new__(cls)
    _init_from(out, t._data)
    out._base = t._root()
    out._version_counter = t._version_counter
    out._requires_grad = t._requires_grad
    return out


class UninitializedTensorMixin:
    """A tensor whose shape is not known yet: see Note [Uninitialized tensors]."""

    __slots__ = ()
    cls_to_become = None

    def __getattribute__(self, name):
        if _open[0]:
            return object.__getattribute__(self, name)
        if name == "_data":
            raise _uninitialized_error(_entry_point(), type(self))
        if name == "shape":
            return UninitializedTensorMixin.shape.fget(self)
        owner, attr = _class_attribute(type(self), name)
        if isinstance(attr, property):
            _open[0] += 1
            try:
                return object.__getattribute__(self, name)
            finally:
                _open[0] -= 1
        if name in _ALLOWED_METHODS:
            return _opened(object.__getattribute__(self, name), type(self))
        if (name[0] != "_" and callable(attr) and owner is not None
                and not issubclass(owner, UninitializedTensorMixin)):
            raise _uninitialized_error(f"<method '{name}' of 'Tensor' objects>", type(self))
        return object.__getattribute__(self, name)

    def __setattr__(self, name, value):
        # property setters (data, grad, requires_grad) read the data
        _open[0] += 1
        try:
            object.__setattr__(self, name, value)
        finally:
            _open[0] -= 1

    def materialize(self, shape, device=None, dtype=None):
        """Give the tensor ``shape`` (new, uninitialized memory) on its device and dtype, or the given
        ones, and turn it into ``cls_to_become`` in place."""
        from .._ops.creation import empty
        _open[0] += 1
        try:
            if device is None:
                device = self.device
            if dtype is None:
                dtype = self.dtype
            self.data = empty(shape, device=device, dtype=dtype)
            self.__class__ = self.cls_to_become
        finally:
            _open[0] -= 1

    @property
    def shape(self):
        if _open[0]:
            return Size(object.__getattribute__(self, "_data").shape)
        if _called_from_op():
            # an op reading its operand's shape: PyTorch refuses the op itself
            raise _uninitialized_error(_entry_point(), type(self))
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
            "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call "
            "`forward` to initialize the parameters before accessing their attributes.")

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call `forward` to initialize "
                           "the parameters before calling `module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __reduce_ex__(self, proto):
        return (type(self), (self.requires_grad,))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.requires_grad, self.device, self.dtype)
        memo[id(self)] = result
        return result


def _new_uninitialized(cls, requires_grad, device, dtype):
    """An empty tensor of class cls: it carries the device and dtype it will be materialized with."""
    from .._ops.creation import empty
    data = empty(0, device=device, dtype=dtype)
    if requires_grad and not (data.dtype.is_floating_point or data.dtype.is_complex):
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    self = Tensor.__new__(cls)
    _init_from(self, data._data)
    self._requires_grad = bool(requires_grad)
    return self


def is_lazy(param):
    """Whether ``param`` is an UninitializedParameter or UninitializedBuffer."""
    return isinstance(param, UninitializedTensorMixin)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape is not known yet; it becomes a Parameter on ``materialize``.

    ``device`` and ``dtype`` are those it will be materialized with (``Module.to`` and friends
    change them before then).
    """

    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        return _new_uninitialized(cls, requires_grad, device, dtype)

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet; it becomes a Tensor on ``materialize``.

    Assigned to a Module attribute it is registered as a buffer (persistent unless told).
    """

    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        self = _new_uninitialized(cls, requires_grad, device, dtype)
        self.__dict__["_buffer_persistent"] = persistent
        return self

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        pass
