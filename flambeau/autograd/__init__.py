"""Tape-based automatic differentiation."""
from .function import Function, once_differentiable, Node
from .grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
                        is_inference_mode_enabled)
from .engine import run_backward
from .anomaly_mode import detect_anomaly, set_detect_anomaly, is_anomaly_enabled

__all__ = ["Function", "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "gradcheck", "gradgradcheck", "detect_anomaly", "set_detect_anomaly", "functional", "Variable"]


def _as_list(x):
    if x is None:
        return None
    from .._tensor import Tensor
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None,
             inputs=None):
    """Accumulate gradients of ``tensors`` into the leaves' ``.grad``."""
    tensors = _as_list(tensors)
    grads = _as_list(grad_tensors if grad_tensors is not None else grad_variables)
    grads = _one_grad_per_output(grads, tensors)
    inputs = _as_list(inputs)
    if inputs is not None and len(inputs) == 0:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs, accumulate=True)


def _one_grad_per_output(grads, outputs):
    """grads matched to outputs: None for each when not given; extra gradients are ignored, as torch does."""
    if grads is None:
        return [None] * len(outputs)
    if len(grads) < len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grads)} gradients")
    return grads[:len(outputs)]


def _batched_grad(outputs, grads, inputs, retain_graph, create_graph, allow_unused):
    """grad(is_grads_batched=True): one backward per slice along the first dim of every grad_output, the
    results stacked (flambeau has no batching rules); None where no slice reached an input."""
    import flambeau
    from .._tensor import Tensor
    for i, (out, g) in enumerate(zip(outputs, grads)):
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            # torch maps over the implicit 0-dim gradient, which has no first dim
            raise ValueError("vmap(vjp, in_dims=0, ...)(<inputs>): Got in_dim=0 for some input, but that input is "
                             "a Tensor of dimensionality 0 so expected in_dim to satisfy 0 <= in_dim < 0.")
        if isinstance(g, Tensor) and g[0].shape != out.shape:
            raise RuntimeError("If `is_grads_batched=True`, we interpret the first dimension of each grad_output as "
                               "the batch dimension. The sizes of the remaining dimensions are expected to match the "
                               "shape of corresponding output, but a mismatch was detected: grad_output["
                               f"{i}] has a shape of {g[0].shape!r} and output[{i}] has a shape of {out.shape!r}. If "
                               "you only want some tensors in `grad_output` to be considered batched, consider using "
                               "vmap.")
    sizes = [g.shape[0] for g in grads]
    if any(n != sizes[0] for n in sizes):
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    keep = create_graph if retain_graph is None else retain_graph
    per_slice = [run_backward(outputs, [g[i] for g in grads], True if i < sizes[0] - 1 else keep, create_graph,
                              inputs=inputs, accumulate=False, allow_unused=allow_unused)
                 for i in range(sizes[0])]
    return tuple(None if per_slice[0][k] is None else flambeau.stack([p[k] for p in per_slice])
                 for k in range(len(inputs)))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of outputs with respect to inputs (a tensor, a sequence of them, or a dict of them, which
    gives a dict of gradients back); nothing is accumulated into .grad."""
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    outputs = _as_list(outputs)
    names = list(inputs) if type(inputs) is dict else None
    inputs = list(inputs.values()) if names is not None else _as_list(inputs)
    if len(inputs) == 0:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if not only_inputs:
        import warnings
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate "
                      "gradient for other parts of the graph, please use torch.autograd.backward.", FutureWarning,
                      stacklevel=2)
    grads = _one_grad_per_output(_as_list(grad_outputs), outputs)
    if is_grads_batched:
        res = _batched_grad(outputs, grads, inputs, retain_graph, create_graph, allow_unused)
    else:
        res = run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs, accumulate=False,
                           allow_unused=allow_unused)
    if materialize_grads:
        import flambeau
        res = tuple(flambeau.zeros_like(i, requires_grad=create_graph) if g is None else g
                    for g, i in zip(res, inputs))
    return dict(zip(names, res)) if names is not None else tuple(res)


def Variable(data, requires_grad=False, volatile=False):
    """The pre-0.4 wrapper: now just a tensor."""
    t = data.detach()
    if requires_grad:
        t.requires_grad_()
    return t


from .gradcheck import gradcheck, gradgradcheck  # noqa: E402
from . import functional, graph  # noqa: E402,F401
