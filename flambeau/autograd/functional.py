"""Higher-level autograd: jacobian, hessian, vjp, jvp, hvp, vhp (built on autograd.grad)."""
__all__ = ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"]


def _tup(x):
    return (tuple(x), True) if isinstance(x, (list, tuple)) else ((x,), False)


def _prep(inputs, create_graph):
    return tuple(i.detach().requires_grad_(True) if not create_graph or not i.requires_grad else i
                 for i in inputs)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    from . import grad
    import flambeau
    inputs, is_tuple = _tup(inputs)
    inputs = _prep(inputs, create_graph)
    with flambeau.enable_grad():
        out = func(*inputs)
        outs, out_tuple = _tup(out)
        vs = _tup(v)[0] if v is not None else tuple(flambeau.ones_like(o) for o in outs)
        gs = grad(list(outs), list(inputs), list(vs), create_graph=create_graph, allow_unused=True)
    gs = tuple(flambeau.zeros_like(i) if g is None else g for g, i in zip(gs, inputs))
    o = out if create_graph else (tuple(x.detach() for x in outs) if out_tuple else outs[0].detach())
    return o, (gs if is_tuple else gs[0])


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """J v through the double-vjp trick: d/du (u^T J) v with u a dummy cotangent."""
    from . import grad
    import flambeau
    inputs, is_tuple = _tup(inputs)
    inputs = _prep(inputs, create_graph)
    vs = _tup(v)[0] if v is not None else tuple(flambeau.ones_like(i) for i in inputs)
    with flambeau.enable_grad():
        out = func(*inputs)
        outs, out_tuple = _tup(out)
        us = tuple(flambeau.zeros_like(o).requires_grad_(True) for o in outs)
        gs = grad(list(outs), list(inputs), list(us), create_graph=True, allow_unused=True)
        pairs = [(g, vv) for g, vv in zip(gs, vs) if g is not None]
        jv = grad([g for g, _ in pairs], list(us), [vv for _, vv in pairs], create_graph=create_graph,
                  allow_unused=True)
    jv = tuple(flambeau.zeros_like(o) if j is None else j for j, o in zip(jv, outs))
    o = tuple(x.detach() for x in outs) if not create_graph else outs
    return (o if out_tuple else o[0]), (jv if out_tuple else jv[0])


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    from . import grad
    import flambeau
    inputs, is_tuple = _tup(inputs)
    inputs = _prep(inputs, create_graph)
    with flambeau.enable_grad():
        out = func(*inputs)
    outs, out_tuple = _tup(out)
    result = []
    for o in outs:
        per_input = [[] for _ in inputs]
        flat = o.reshape(-1)
        for k in range(flat.numel()):
            gs = grad([flat[k]], list(inputs), retain_graph=True, create_graph=create_graph, allow_unused=True)
            for j, (g, i) in enumerate(zip(gs, inputs)):
                per_input[j].append(flambeau.zeros_like(i) if g is None else g)
        row = []
        for j, i in enumerate(inputs):
            if per_input[j]:
                row.append(flambeau.stack(per_input[j]).reshape(tuple(o.shape) + tuple(i.shape)))
            else:
                row.append(flambeau.zeros(tuple(o.shape) + tuple(i.shape), dtype=i.dtype, device=i.device))
        result.append(tuple(row) if is_tuple else row[0])
    return tuple(result) if out_tuple else result[0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    inputs_t, is_tuple = _tup(inputs)

    def grad_fn(*args):
        return jacobian(func, args if is_tuple else args[0], create_graph=True)
    return jacobian(grad_fn, inputs, create_graph=create_graph)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    from . import grad
    import flambeau
    inputs, is_tuple = _tup(inputs)
    inputs = _prep(inputs, create_graph)
    vs = _tup(v)[0]
    with flambeau.enable_grad():
        out = func(*inputs)
        gs = grad([out], list(inputs), create_graph=True, allow_unused=True)
        r = grad([g for g in gs if g is not None], list(inputs), [vv for g, vv in zip(gs, vs) if g is not None],
                 create_graph=create_graph, allow_unused=True)
    r = tuple(flambeau.zeros_like(i) if x is None else x for x, i in zip(r, inputs))
    return out.detach(), (r if is_tuple else r[0])


hvp = vhp   # the Hessian of a scalar function is symmetric
