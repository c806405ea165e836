"""nn.Parameter: a tensor that a Module registers as a learnable parameter."""
from .._tensor import Tensor, _init_from


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
        self._version = data._version
        self._storage_obj = None
        self._requires_grad = bool(requires_grad) and (data.dtype.is_floating_point or data.dtype.is_complex)
        if requires_grad and not (data.dtype.is_floating_point or data.dtype.is_complex):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        return self

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

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


class UninitializedParameter(Parameter):
    pass
