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
    if grads is None:
        grads = [None] * len(tensors)
    if len(grads) != len(tensors):
        raise RuntimeError(f"got {len(grads)} gradients for {len(tensors)} tensors")
    inputs = _as_list(inputs)
    if inputs is not None and len(inputs) == 0:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of outputs with respect to inputs (nothing is accumulated into .grad)."""
    outputs = _as_list(outputs)
    single = not isinstance(inputs, (list, tuple))
    inputs = _as_list(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    grads = _as_list(grad_outputs)
    if grads is None:
        grads = [None] * len(outputs)
    if is_grads_batched:
        import flambeau
        n = grads[0].shape[0]
        keep = create_graph if retain_graph is None else retain_graph
        per = [run_backward(outputs, [g[i] for g in grads], True if i < n - 1 else keep, create_graph,
                            inputs=inputs, accumulate=False, allow_unused=allow_unused)
               for i in range(n)]
        return tuple(flambeau.stack([p[k] for p in per]) for k in range(len(inputs)))
    res = run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs, accumulate=False,
                       allow_unused=allow_unused)
    if materialize_grads:
        import flambeau
        res = tuple(flambeau.zeros_like(i) if g is None else g for g, i in zip(res, inputs))
    return res


def Variable(data, requires_grad=False, volatile=False):
    """The pre-0.4 wrapper: now just a tensor."""
    t = data.detach()
    if requires_grad:
        t.requires_grad_()
    return t


from .gradcheck import gradcheck, gradgradcheck  # noqa: E402
from . import functional, graph  # noqa: E402,F401
