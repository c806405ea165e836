"""parameters_to_vector, vector_to_parameters."""
from ..._tensor import Tensor
from ... import _ops


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D tensor."""
    params = list(parameters)     # a Tensor iterates over its rows, as in torch
    device = None
    for p in params:
        if device is None:
            device = p.device
        elif p.device != device:
            raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return _ops.creation.cat([p.view(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of vec into the parameters (their .data)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for p in parameters:
        n = p.numel()
        p.data = vec[pointer:pointer + n].view_as(p).data
        pointer += n
