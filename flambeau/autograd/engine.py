"""The backward engine: walks the recorded graph from the outputs to the leaves.

Iterative (no recursion, so a 100,000-op chain is fine). Nodes run once each, in an order
where every node runs after all nodes that feed it a gradient; among ready nodes the most
recently created runs first, as in PyTorch. Saved tensors are released as soon as a node
has run, unless ``retain_graph``.
"""
import sys
import weakref
from sys import getrefcount as _getrefcount
from heapq import heappush, heappop

import numpy as np

from . import grad_mode
from .function import AccumulateGrad, _anomaly, _FREED
from .._dtype import _BY_NP
from .._device import CPU as _CPU
from .. import _xp

_device_of = _xp.device_of

_ndarray = np.ndarray


def _Tensor_make(array):
    global _Tensor_make
    from .._tensor import _make
    _Tensor_make = _make          # bound on first use: _tensor imports this package
    return _make(array)


def _sum_to_shape(grad, shape):
    """Undo broadcasting: sum grad down to ``shape`` (the engine does this once, for all ops)."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0:
        return grad.reshape(shape)
    dims = list(range(lead))
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[lead + i] != 1:
            dims.append(lead + i)
    if not (grad._requires_grad and grad_mode._enabled[0]):
        # no graph to record (the usual backward): one array reduction, no intermediate tensors
        from .._tensor import _make
        summed = grad._data.sum(axis=tuple(dims)) if dims else grad._data
        # reshape only when needed: a same-shape reshape is a view, and a view's .grad is copied
        return _make(summed if summed.shape == shape else summed.reshape(shape))
    if dims:
        grad = grad.sum(dim=dims, keepdim=True)
    if lead:
        grad = grad.reshape(shape)
    return grad


def _validate(node, index, grad, meta):
    shape, dtype, device = meta
    gd = grad._data
    if gd.shape == shape and _BY_NP[gd.dtype] is dtype and type(gd) is _ndarray and device is _CPU:
        return grad                     # the common case, checked without building objects
    if grad.shape != shape:
        try:
            _check_broadcastable(grad.shape, shape)
        except ValueError:
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {index} - got "
                f"{list(grad.shape)} but expected shape compatible with {list(shape)}") from None
        grad = _sum_to_shape(grad, shape)
    if grad.device != device:
        if grad.ndim == 0:
            # as PyTorch: a 0-dim CPU tensor may take part in a cuda op, so a 0-dim gradient
            # goes back to its input's device (differentiably, under create_graph)
            return grad.to(device=device, dtype=dtype)
        raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {index} - "
                           f"expected device {device} but got {grad.device}")
    if grad.dtype is not dtype:
        if grad.dtype.is_complex and not dtype.is_complex:
            fwd = getattr(type(node), "_forward_cls", None)
            if fwd is not None and not fwd.__module__.startswith("flambeau."):
                # a user's Function: torch refuses a complex gradient for a real input
                raise RuntimeError(_COMPLEX_GRAD_FOR_REAL)
            grad = grad.real         # a built-in op mixing real and complex inputs: the real part
        grad = grad.to(dtype)
    return grad


_COMPLEX_GRAD_FOR_REAL = ("Expected isFloatingType(grad.scalar_type()) || (input_is_complex == grad_is_complex) to "
                          "be true, but got false.  (Could this error message be improved?  If so, please report an "
                          "enhancement request to PyTorch.)")


def _check_broadcastable(small_from, target):
    # grad (broadcast result) must be reducible to target
    if len(target) > len(small_from):
        raise ValueError
    for g, t in zip(small_from[len(small_from) - len(target):], target):
        if t != 1 and g != t:
            raise ValueError


# Tensors whose .grad is kept by retain_grad(), by id (Tensor.__eq__ is elementwise, so no
# WeakSet); an entry goes when its tensor dies.
_retaining = weakref.WeakValueDictionary()


def retain(tensor):
    _retaining[id(tensor)] = tensor


def _retained_by_node():
    """{node: [(output_nr, tensor)]} for the retaining tensors, by their grad_fn as of now."""
    by_node = {}
    for t in list(_retaining.values()):
        fn = t.grad_fn
        if fn is not None:
            by_node.setdefault(fn, []).append((t._output_nr, t))
    return by_node


def _keep_grad(t, grad):
    # as PyTorch's retain_grad hook: a clone (recorded under create_graph), summed across backwards
    t._grad = grad.clone() if t._grad is None else t._grad + grad


def _root_edge(t, i):
    if not t._requires_grad:
        raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
    return t._edge()


def _make_root_grads(tensors, grads, create_graph):
    out = []
    for i, (t, g) in enumerate(zip(tensors, grads)):
        if g is None:
            d = t._data
            if d.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if d.dtype.kind not in "fc":
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {t.dtype}")
            g = _Tensor_make(np.ones(d.shape, d.dtype)) if type(d) is _ndarray else _device_seed(d)
        else:
            from .._tensor import Tensor
            import flambeau
            if not isinstance(g, Tensor):
                g = flambeau.tensor(g, dtype=t.dtype, device=t.device)
            if g.shape != t.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape!r} "
                                   f"and output[{i}] has a shape of {t.shape!r}.")
            if g.device != t.device:
                raise RuntimeError(f"Mismatch in device: grad_output[{i}] is on {g.device} and "
                                   f"output[{i}] is on {t.device}.")
            if g.dtype.is_complex != t.dtype.is_complex:
                raise RuntimeError(f"For complex Tensors, both grad_output and output are required to have "
                                   f"the same dtype. Mismatch in dtype: grad_output[{i}] has a dtype of "
                                   f"{g.dtype} and output[{i}] has a dtype of {t.dtype}.")
            if not create_graph:
                g = g.detach()
        out.append(g)
    return out


# Note [A scalar output's seed on the GPU]
# backward() of a scalar starts from a gradient of ones. On the GPU making it is a launch (a fill)
# every step, so the engine keeps the seed it made and starts from it again while nothing else holds
# it, nor its memory, and nothing has written it (its version): as Note [Keeping a gradient without a
# copy] reads reference counts. A hook that kept the seed, a view of it, a leaf whose .grad it became
# (which _owned copies, the cache holding it) or an in-place write: a new seed is made.
_seeds = {}


def _device_seed(d):
    """Ones of d's shape, dtype and device, for a device array d (see the Note above)."""
    key = (d.shape, d.dtype, d.data.device_id)
    seed = _seeds.get(key)
    if (seed is None or not _COUNTS_ARE_EXACT or seed._version_counter[0] or type(seed._version_counter) is not list
            or seed._requires_grad
            or _getrefcount(seed) > 3 or _getrefcount(seed._data) > 2 or not _holds_its_memory_alone(seed._data)):
        # (held by the cache, the name and getrefcount; its array by the seed and getrefcount)
        seed = _seeds[key] = _Tensor_make(_xp.array_module(d).ones(d.shape, d.dtype))
    return seed


def _needed_nodes(roots, targets):
    """Nodes from which some target node is reachable (only those need to run)."""
    needed = {}
    stack = [(n, False) for n in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            needed[node] = node in targets or any(
                needed.get(e[0], False) for e in node._edges if e is not None)
            continue
        if node in needed:
            continue
        needed[node] = False   # provisional; a graph has no cycles
        stack.append((node, True))
        for e in node._edges:
            if e is not None and e[0] not in needed:
                stack.append((e[0], False))
    return {n for n, v in needed.items() if v}


def run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs=None,
                 accumulate=True, allow_unused=False):
    """Shared by Tensor.backward, autograd.backward and autograd.grad.

    With ``accumulate`` the gradients of leaves are added into ``.grad``; otherwise the
    gradients of ``inputs`` are returned (autograd.grad).
    """
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_root_grads(tensors, grad_tensors, create_graph)
    roots = [_root_edge(t, i) for i, t in enumerate(tensors)]

    capture = None           # (node, output_nr) -> position in inputs
    targets = None
    if inputs is not None:
        capture = {}
        for k, t in enumerate(inputs):
            if not t._requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            capture.setdefault(t._edge(), []).append(k)
        targets = {e[0] for e in capture}
    captured = [None] * (len(inputs) if inputs is not None else 0)

    root_nodes = list({id(e[0]): e[0] for e in roots}.values())
    needed = _needed_nodes(root_nodes, targets) if targets is not None else None

    # Count, for each node, the edges that will bring it a gradient (one iterative walk).
    deps = {}
    stack = list(root_nodes)
    roots_set = set(root_nodes)
    while stack:
        node = stack.pop()
        for e in node._edges:
            if e is None:
                continue
            nxt = e[0]
            if nxt in deps:
                deps[nxt] += 1
            elif needed is None or nxt in needed:
                deps[nxt] = 1
                if nxt not in roots_set:
                    stack.append(nxt)

    buffers = {}
    for (node, nr), g in zip(roots, grads):
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node._n_outputs
        buf[nr] = g if buf[nr] is None else buf[nr] + g

    ready = []
    for n in root_nodes:
        if n not in deps and (needed is None or n in needed):
            heappush(ready, (-n._seq, n))

    retained = _retained_by_node() if _retaining else None
    prev_mode = grad_mode._enabled[0]
    grad_mode._enabled[0] = create_graph
    anomaly = _anomaly[0]
    check_nan = anomaly and _anomaly[1]
    node = None
    try:
        while ready:
            node = heappop(ready)[1]
            grads_out = buffers.pop(node, None) or [None] * node._n_outputs
            hooked = node._hooked
            retains = retained.get(node) if retained else None
            if hooked or retains:
                grads_out = _apply_pre_hooks(node, grads_out, retains)

            if capture is not None:
                for nr, g in enumerate(grads_out):
                    for k in capture.get((node, nr), ()):
                        captured[k] = g

            if type(node) is AccumulateGrad:
                if accumulate and (targets is None or node in targets):
                    _accumulate(node.variable, grads_out[0], create_graph)
                continue
            if needed is not None and not any(
                    e is not None and e[0] in needed for e in node._edges):
                continue           # only a capture point; nothing beyond it is wanted

            post = node.__dict__.get("_post_hooks") if hooked else None
            if len(grads_out) == 1:
                missing = 1 if grads_out[0] is None else 0
            else:
                missing = 0
                for g in grads_out:
                    if g is None:
                        missing += 1
            if missing == len(grads_out) and not post and not node._python_node:
                input_grads = (None,) * len(node._edges)
            else:
                if missing and node._materialize:
                    grads_out = _materialize(node, grads_out)
                input_grads = node._run_backward(grads_out)
                if check_nan:
                    _check_nan(node, input_grads)
            if post:
                for hook in list(post.values()):
                    r = hook(input_grads, tuple(grads_out))
                    if r is not None:
                        input_grads = tuple(r)
            if not retain_graph and node._saved is not None:
                node._saved = _FREED

            metas = node._input_meta
            i = 0
            for e, g in zip(node._edges, input_grads):
                if e is not None:
                    nxt = e[0]
                    if needed is None or nxt in needed:
                        if g is not None:
                            meta = metas[i]
                            gd = g._data
                            if not (gd.shape == meta[0] and _BY_NP[gd.dtype] is meta[1]
                                    and (meta[2] is _CPU if type(gd) is _ndarray else _device_of(gd) is meta[2])):
                                g = _validate(node, i, g, meta)
                            buf = buffers.get(nxt)
                            if buf is None:
                                buf = buffers[nxt] = [None] * nxt._n_outputs
                            nr = e[1]
                            buf[nr] = g if buf[nr] is None else buf[nr] + g
                        d = deps[nxt] - 1
                        deps[nxt] = d
                        if d == 0:
                            heappush(ready, (-nxt._seq, nxt))     # sequence numbers are unique
                i += 1
            g = gd = input_grads = grads_out = None     # hold no gradient past its node: see _owned
    except Exception:
        if anomaly and node is not None:
            from .anomaly_mode import _warn_error_in
            _warn_error_in(node)
        raise
    finally:
        grad_mode._enabled[0] = prev_mode

    if inputs is not None and accumulate:
        # backward(inputs=[...]) also fills .grad of non-leaf inputs, as PyTorch does
        for t, g in zip(inputs, captured):
            if g is not None and t._grad_fn is not None:
                _accumulate(t, g, create_graph)
    if inputs is not None and not accumulate:
        for k, g in enumerate(captured):
            if g is None and not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {k} appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior.")
        return tuple(captured)
    return None


# Note [Backward with no gradient]
# When no gradient reaches any output of a node (an op further on returned None for it), a
# built-in node is skipped: its inputs get no gradient either, and a leaf's .grad stays None. The
# backward of a user's Function still runs, as in PyTorch, on zeros (or on Nones, after
# ctx.set_materialize_grads(False)): it may have effects, and its zeros reach the leaves.
def _materialize(node, grads_out):
    if all(g is not None for g in grads_out):
        return grads_out
    import flambeau
    metas = getattr(node, "_output_meta", None)
    out = []
    for i, g in enumerate(grads_out):
        if g is None and metas is not None and metas[i] is not None:
            shape, dtype, device = metas[i]
            g = flambeau.zeros(shape, dtype=dtype, device=device)
        out.append(g)
    return out


def _apply_pre_hooks(node, grads_out, retains):
    # as PyTorch: the hooks of the node's output tensors first, then retain_grad's, then the
    # node's own pre-hooks
    tensor_hooks = node.__dict__.get("_tensor_hooks")
    if tensor_hooks:
        grads_out = list(grads_out)
        for nr, hooks in tensor_hooks.items():
            for hook in list(hooks.values()):
                if grads_out[nr] is None:
                    continue
                r = hook(grads_out[nr])
                if r is not None:
                    grads_out[nr] = _checked_hook_result(hook, grads_out[nr], r)
    if retains:
        for nr, t in retains:
            if grads_out[nr] is not None:
                _keep_grad(t, grads_out[nr])
    pre = node.__dict__.get("_pre_hooks")
    if pre:
        for hook in list(pre.values()):
            r = hook(tuple(grads_out))
            if r is not None:
                grads_out = list(r)
    return grads_out


def _checked_hook_result(hook, grad, result):
    """A tensor hook may replace the gradient only by a tensor of the same type, device and shape."""
    from .._tensor import Tensor          # here: _tensor imports this package
    name = getattr(hook, "__name__", "<unknown>")
    if not isinstance(result, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")
    if result.dtype is not grad.dtype:
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {grad.type()} got {result.type()})")
    if result.device != grad.device:
        was, got = ("CUDA", "CPU") if grad.is_cuda else ("CPU", "CUDA")
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {was} tensor got {got} tensor)")
    if result.shape != grad.shape:
        raise RuntimeError(f"hook '{name}' has changed the size of value")
    return result


def _accumulate(var, grad, create_graph):
    if grad is None:
        return
    hooks = var._hooks
    if hooks:
        for hook in list(hooks.values()):
            r = hook(grad)
            if r is not None:
                grad = _checked_hook_result(hook, grad, r)
    if grad.shape != var.shape:
        grad = _sum_to_shape(grad, var.shape)
    if grad.dtype is not var.dtype:
        grad = grad.to(var.dtype)
    if var._grad is None:
        # a copy unless nothing else can see the gradient: it may be a view, or shared with
        # another tensor's .grad
        var._grad = grad if create_graph else _Tensor_make(_owned(grad))
    elif create_graph or var._grad._requires_grad:
        var._grad = var._grad + grad
    else:
        var._grad._data += grad._data
        var._grad._version_counter[0] += 1
    for hook in list(var.__dict__.get("_post_acc_hooks", {}).values()):
        hook(var)


# Note [Keeping a gradient without a copy]
# As PyTorch's AccumulateGrad, the first gradient a leaf receives is kept as its .grad without a
# copy when nothing else holds it: a row-major array that owns its memory (or, on the CPU, a view
# of all of it), referenced only by the gradient tensor, itself referenced only by the engine (its
# buffer list and the argument). Any other holder (a hook that kept the tensor, a view, a
# retained or captured gradient) raises a reference count, and the gradient is copied. On the GPU
# the counts of the array's memory pointer and of its allocation are read too: CuPy's as_strided
# views share memory without a base.
_ENGINE_REFS = 4    # the engine's buffer list, _accumulate's and _owned's arguments, getrefcount's own
# From Python 3.14 the interpreter may skip reference counts it can prove unneeded, and the counts
# above stop being a proof: the gradient is then always copied.
_COUNTS_ARE_EXACT = sys.version_info < (3, 14)


def _owned(grad):
    """grad's array if nothing else can reach it (see the Note above), else a row-major copy."""
    d = grad._data
    if type(d) is not _ndarray:
        # a CuPy array: kept when nothing else holds it or its memory (views are copied)
        if (_COUNTS_ARE_EXACT and d.base is None and d.flags.c_contiguous and _getrefcount(grad) <= _ENGINE_REFS
                and _getrefcount(d) <= 3 and _holds_its_memory_alone(d)):
            return d
        return d.copy()
    if (_COUNTS_ARE_EXACT and d.flags.c_contiguous and _getrefcount(grad) <= _ENGINE_REFS
            and _getrefcount(d) <= 3):                        # grad._data, d, the argument
        owner = d.base
        if owner is None:
            if d.flags.owndata:
                return d
        elif type(owner) is _ndarray and owner.base is None and owner.flags.owndata and owner.nbytes == d.nbytes:
            refs = 3                                          # d.base, owner, the argument
            base = grad._base                                 # the view's root tensor holds it too
            if base is not None and base._data is owner:
                if _getrefcount(base) > 3:                    # grad._base, base, the argument
                    return d.copy()
                refs += 1
            if _getrefcount(owner) <= refs:
                return d
    return d.copy()


def _holds_its_memory_alone(d):
    """Whether CuPy array d is the only array over its memory. Its base cannot tell: CuPy's
    as_strided (views the engine's geometry makes, as a size-1 parameter's summed gradient) has
    none, though it shares the viewed array's memory. d's memory pointer can: any other array over
    the allocation holds that pointer (as_strided's) or another pointer into the same allocation."""
    pointer = d.data
    # held by d, the local name and the argument; the allocation by the pointer and the argument
    return _getrefcount(pointer) <= 3 and _getrefcount(pointer.mem) <= 2


def _check_nan(node, grads):
    import flambeau
    for i, g in enumerate(grads):
        if g is not None and bool(flambeau.isnan(g.detach()).any()):
            # the forward traceback comes as a warning, from the engine (as PyTorch's)
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
