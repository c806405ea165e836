"""Higher-level autograd: jacobian, hessian, vjp, jvp, hvp, vhp (built on autograd.grad).

flambeau has no forward-mode AD: jvp, hvp and forward-mode jacobians use the double-backward trick, as
torch's jvp and hvp do. Inputs and outputs are a Tensor or a tuple of Tensors; results follow that
nesting."""
__all__ = ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"]


def _as_tuple(x, what, api):
    """(whether x was a tuple, x as a tuple): a Tensor or a tuple of Tensors, as torch accepts (not a list)."""
    from .._tensor import Tensor
    was_tuple = isinstance(x, tuple)
    items = x if was_tuple else (x,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            where = f"the value at index {i}" if was_tuple else f"the given {what}"
            raise TypeError(f"The {what} given to {api} must be either a Tensor or a tuple of Tensors but {where} "
                            f"has type {type(item)}.")
    return was_tuple, items


def _differentiable(inputs, create_graph):
    """What func runs on: a view of an input that requires grad when a graph is created (so the result stays
    connected to the caller's graph), otherwise a detached copy that requires grad."""
    return tuple(x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_()
                 for x in inputs)


def _vectors(v, refs, refs_tuple, create_graph, api):
    """v as a tuple shaped like refs, detached unless a graph is created through it."""
    _, v = _as_tuple(v, "v", api)
    v = tuple(x.view_as(x) if create_graph and x.requires_grad else x.detach() for x in v)
    if len(v) != len(refs):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(refs)} but got {len(v)}." if refs_tuple
                           else "The given v should contain a single Tensor.")
    for i, (x, ref) in enumerate(zip(v, refs)):
        if x.shape != ref.shape:
            prefix = f"Entry {i} in " if refs_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {ref.size()} but got {x.size()}.")
    return v


_NOT_REQUIRING_GRAD = {
    "outputs": "Output {i} of the user-provided function does not require gradients. The outputs must be computed "
               "in a differentiable manner from the input when running in strict mode.",
    "grad_inputs": "The gradient with respect to input {i} is independent of the inputs of the user-provided "
                   "function. This is not allowed in strict mode.",
    "jacobian": "While computing the hessian, found that the jacobian of the user-provided function with respect "
                "to input {i} is independent of the input. This is not allowed in strict mode. You should ensure "
                "that your function is twice differentiable and that the jacobian depends on the inputs (this "
                "would be violated by a linear function for example).",
}


def _check_requires_grad(tensors, kind, strict):
    """strict mode: every tensor (an output, a gradient...) must depend differentiably on the inputs."""
    if not strict:
        return
    for i, x in enumerate(tensors):
        if x is None:
            raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is "
                               "not allowed in strict mode.")
        if not x.requires_grad:
            raise RuntimeError(_NOT_REQUIRING_GRAD[kind].format(i=i))


def _grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """autograd.grad over the outputs that require grad; None for an input no such output reaches."""
    from . import grad
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    outs, grads = zip(*pairs)
    return grad(list(outs), list(inputs), list(grads), retain_graph=retain_graph, create_graph=create_graph,
                allow_unused=True)


_UNREACHED = {
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in strict "
            "mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs when "
                  "using the double backward trick to compute forward mode gradients. This is not allowed in "
                  "strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This is not allowed "
                   "in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the "
                         "grad_jacobian. This is not allowed in strict mode as it prevents from using the double "
                         "backward trick to replace forward mode AD.",
}


def _zeros_for_unreached(grads, refs, strict, create_graph, stage):
    """grads with zeros (shaped like refs) where nothing was reached; strict mode raises there instead."""
    import flambeau
    result = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(_UNREACHED[stage].format(i=i))
            g = flambeau.zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of input {i}. This is "
                               "not allowed in strict mode when create_graph=True.")
        result.append(g)
    return tuple(result)


def _finish(tensors, create_graph):
    """The results (nested tuples of tensors), detached unless the caller asked for a graph."""
    if create_graph:
        return tensors
    return tuple(_finish(x, False) if isinstance(x, tuple) else x.detach() for x in tensors)


def _untuple(result, was_tuple):
    return result if was_tuple else result[0]


def _untuple2(result, outer_was_tuple, inner_was_tuple):
    """A tuple (per output) of tuples (per input), unwrapped where the caller passed a single tensor."""
    if not inner_was_tuple:
        result = tuple(row[0] for row in result)
    return result if outer_was_tuple else result[0]


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product at inputs, one entry per input. v (shaped like
    func's outputs) may be left out when func returns a single element; strict raises where an input does
    not reach the outputs instead of giving zeros."""
    import flambeau
    with flambeau.enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _differentiable(inputs, create_graph)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        if v is not None:
            v = _vectors(v, outputs, outputs_tuple, create_graph, "vjp")
        elif len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                               "Tensor with a single element.")
    with flambeau.set_grad_enabled(create_graph or flambeau.is_grad_enabled()):
        grads = _grad(outputs, inputs, v, create_graph=create_graph)
        grads = _zeros_for_unreached(grads, inputs, strict, create_graph, "back")
    return _untuple(_finish(outputs, create_graph), outputs_tuple), _untuple(_finish(grads, create_graph),
                                                                            inputs_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)``, by the double-backward trick: ``u -> J^T u`` is linear in the cotangent u, so
    its vector-Jacobian product against u with v as cotangent is ``J v`` (torch's jvp does the same)."""
    import flambeau
    with flambeau.enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _differentiable(inputs, create_graph)
        if v is not None:
            v = _vectors(v, inputs, inputs_tuple, create_graph, "jvp")
        elif len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                               "single Tensor with a single element.")
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        # any finite u will do: J^T u is linear in u, so u's value drops out of the second backward
        cotangents = tuple(flambeau.zeros_like(o, requires_grad=True) for o in outputs)
        grad_inputs = _grad(outputs, inputs, cotangents, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    with flambeau.set_grad_enabled(create_graph or flambeau.is_grad_enabled()):
        products = _grad(grad_inputs, cotangents, v, create_graph=create_graph)
        products = _zeros_for_unreached(products, outputs, strict, create_graph, "back_trick")
    return _untuple(_finish(outputs, create_graph), outputs_tuple), _untuple(_finish(products, create_graph),
                                                                            outputs_tuple)


def _jacobian_by_columns(func, inputs, strict, vectorize):
    """jacobian(strategy="forward-mode"): one column (a Jacobian-vector product with a basis vector) per input
    element, each by the double-backward trick, since flambeau has no forward-mode AD."""
    import flambeau
    if strict:
        raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are '
                           'not supported together (yet). Please either set `strict=False` or '
                           '`strategy="reverse-mode"`.')
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    if not vectorize:   # torch's wording, missing space included
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
                                  "only implemented for `vectorize=True`.")
    with flambeau.enable_grad():
        inputs = _differentiable(inputs, False)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs", "jacobian")
        cotangents = tuple(flambeau.zeros_like(o, requires_grad=True) for o in outputs)
        grad_inputs = _grad(outputs, inputs, cotangents, create_graph=True)
        columns = [[[] for _ in inputs] for _ in outputs]       # [output][input] -> one column per element
        for j, x in enumerate(inputs):
            for k in range(x.numel()):
                tangent = [flambeau.zeros_like(y) for y in inputs]
                tangent[j].view(-1)[k] = 1
                products = _grad(grad_inputs, cotangents, tangent, retain_graph=True)
                for i, (p, out) in enumerate(zip(products, outputs)):
                    columns[i][j].append((flambeau.zeros_like(out) if p is None else p).reshape(-1))
    jac = tuple(tuple(flambeau.stack(cols, dim=1).view(tuple(out.shape) + tuple(x.shape)) if cols else
                      out.new_zeros(tuple(out.shape) + tuple(x.shape)) for cols, x in zip(row, inputs))
                for row, out in zip(columns, outputs))
    return _untuple2(_finish(jac, False), outputs_tuple, inputs_tuple)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of func at inputs: for each output and input a tensor shaped output.shape + input.shape
    (a tuple per output of tuples per input, unwrapped where func takes or returns one tensor).

    "reverse-mode" takes one backward per output element; vectorize=True gives the same rows, computed the
    same way (flambeau has no batching rules). "forward-mode" (with vectorize=True, as in torch) takes one
    Jacobian-vector product per input element."""
    import flambeau
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                             'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError('torch.autograd.functional.jacobian: `create_graph=True` and '
                                      '`strategy="forward-mode"` are not supported together (yet). Please either '
                                      'set `create_graph=False` or `strategy="reverse-mode"`.')
        return _jacobian_by_columns(func, inputs, strict, vectorize)
    with flambeau.enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _differentiable(inputs, create_graph)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jacobian")
        _check_requires_grad(outputs, "outputs", strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                               "supported together. Please either set `strict=False` or `vectorize=False`.")
        jac = []
        for i, out in enumerate(outputs):
            rows = [[] for _ in inputs]                         # [input] -> one row per output element
            flat = out.reshape(-1)
            for k in range(flat.numel()):
                grads = _grad((flat[k],), inputs, retain_graph=True, create_graph=create_graph)
                for j, (g, x) in enumerate(zip(grads, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is independent of input "
                                               f"{j}. This is not allowed in strict mode.")
                        g = flambeau.zeros_like(x)
                    elif strict and create_graph and not g.requires_grad:
                        raise RuntimeError(f"The jacobian of the user-provided function is independent of input {i}. "
                                           "This is not allowed in strict mode when create_graph=True.")
                    rows[j].append(g)
            # an empty output gets an empty block (torch's stack of no rows raises)
            jac.append(tuple(flambeau.stack(r).view(tuple(out.shape) + tuple(x.shape)) if r else
                             flambeau.zeros(tuple(out.shape) + tuple(x.shape), dtype=x.dtype, device=x.device)
                             for r, x in zip(rows, inputs)))
    return _untuple2(_finish(tuple(jac), create_graph), outputs_tuple, inputs_tuple)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of func (returning a single element) at inputs: the Jacobian of its gradient, shaped
    input.shape + input.shape (a tuple of tuples for a tuple of inputs)."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def scalar_func(*args):
        out = func(*args)
        out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(outs, "outputs", strict)
        if out_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single element")
        return out.squeeze()

    def gradient(*args):
        gradients = jacobian(scalar_func, args, create_graph=True)
        _check_requires_grad(gradients, "jacobian", strict)
        return gradients

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                      strategy=outer_jacobian_strategy)
    return _untuple2(result, inputs_tuple, inputs_tuple)


def _scalar_and_gradient(func, inputs, v, create_graph, strict, api):
    """Shared start of vhp and hvp: inputs made differentiable, v checked, func's single-element output and
    its gradient with a graph."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", api)
    inputs = _differentiable(inputs, create_graph)
    if v is not None:
        v = _vectors(v, inputs, inputs_tuple, create_graph, api)
    elif len(inputs) != 1 or inputs[0].numel() != 1:
        raise RuntimeError("The vector v can only be None if the input to the user-provided function is a single "
                           "Tensor with a single element.")
    outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", api)
    _check_requires_grad(outputs, "outputs", strict)
    if outputs_tuple:
        raise RuntimeError(f"The function given to {api} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {api} should contain a single element")
    gradients = _grad(outputs, inputs, create_graph=True)
    _check_requires_grad(gradients, "jacobian", strict)
    return inputs_tuple, inputs, v, outputs, gradients


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T H)``: the vector-Hessian product of a function returning a single element."""
    import flambeau
    with flambeau.enable_grad():
        inputs_tuple, inputs, v, outputs, gradients = _scalar_and_gradient(func, inputs, v, create_graph, strict,
                                                                           "vhp")
    with flambeau.set_grad_enabled(create_graph or flambeau.is_grad_enabled()):
        products = _grad(gradients, inputs, v, create_graph=create_graph)
        products = _zeros_for_unreached(products, inputs, strict, create_graph, "double_back")
    return _finish(outputs, create_graph)[0], _untuple(_finish(products, create_graph), inputs_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)``: the Hessian-vector product of a function returning a single element, by the
    double-backward trick on the gradient (the same values as vhp where H is symmetric)."""
    import flambeau
    with flambeau.enable_grad():
        inputs_tuple, inputs, v, outputs, gradients = _scalar_and_gradient(func, inputs, v, create_graph, strict,
                                                                           "hvp")
        cotangents = tuple(flambeau.zeros_like(x, requires_grad=True) for x in inputs)
        double_back = _grad(gradients, inputs, cotangents, create_graph=True)
    with flambeau.set_grad_enabled(create_graph or flambeau.is_grad_enabled()):
        products = _grad(double_back, cotangents, v, create_graph=create_graph)
        products = _zeros_for_unreached(products, inputs, strict, create_graph, "double_back_trick")
    return _finish(outputs, create_graph)[0], _untuple(_finish(products, create_graph), inputs_tuple)
