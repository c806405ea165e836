"""``flambeau.utils.checkpoint``: activation checkpointing, trading compute for memory.

The checkpointed function's intermediate results are not kept for backward; backward runs the
function again (with the random state of the forward, so dropout draws the same mask) and
differentiates that recomputation.

Two variants, as in torch:

* ``use_reentrant=True`` (what torch 2.13 still uses when ``use_reentrant`` is not given, with a
  warning): the forward runs under ``no_grad`` inside a custom autograd Function; its backward
  recomputes and calls ``autograd.backward`` on the recomputation, so tensors used inside the
  function (module parameters) receive ``.grad`` from that inner backward.
* ``use_reentrant=False``: see Note [Checkpoint without saved-tensor hooks].
"""
import contextlib
import warnings

from .. import _xp
from .._tensor import Tensor, _make
from ..autograd import grad_mode
from ..autograd.function import Function, AccumulateGrad, _sequence

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction",
           "check_backward_validity", "detach_variable", "get_device_states", "set_device_states",
           "noop_context_fn", "set_checkpoint_early_stop", "set_checkpoint_debug_enabled"]

_DEFAULT_DETERMINISM_MODE = "default"
_DETERMINISM_CHECKS = ("default", "none")
_checkpoint_debug_enabled = None
_checkpoint_early_stop = None


class CheckpointError(RuntimeError):
    pass


def noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


@contextlib.contextmanager
def set_checkpoint_early_stop(enable):
    """Kept for torch's API: flambeau's recomputation always runs the whole function, so early
    stop changes nothing but the count of ops run again."""
    global _checkpoint_early_stop
    prev = _checkpoint_early_stop
    _checkpoint_early_stop = enable
    try:
        yield
    finally:
        _checkpoint_early_stop = prev


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled):
    """Overrides every checkpoint's ``debug`` within the block (None: each call's own)."""
    global _checkpoint_debug_enabled
    prev = _checkpoint_debug_enabled
    _checkpoint_debug_enabled = enabled
    try:
        yield
    finally:
        _checkpoint_debug_enabled = prev


def check_backward_validity(inputs):
    if not any(inp.requires_grad for inp in inputs if isinstance(inp, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)


def detach_variable(inputs):
    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: {type(inputs).__name__}")
    out = []
    for inp in inputs:
        if not isinstance(inp, Tensor):
            out.append(inp)
            continue
        x = inp.detach()
        x.requires_grad = inp.requires_grad
        out.append(x)
    return tuple(out)


def _flatten(obj, out):
    """The tensors of a nested tuple/list/dict structure, in order (torch's pytree leaves)."""
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _flatten(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _flatten(o, out)
    return out


def _rebuild(obj, tensors):
    """``obj`` with its tensors replaced, in order, by those of the iterator ``tensors``."""
    if isinstance(obj, Tensor):
        return next(tensors)
    if isinstance(obj, (tuple, list)):
        items = [_rebuild(o, tensors) for o in obj]
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):        # a namedtuple
            return type(obj)(*items)
        return type(obj)(items)
    if isinstance(obj, dict):
        return type(obj)((k, _rebuild(v, tensors)) for k, v in obj.items())
    return obj


def get_device_states(*args):
    """The cuda devices of the tensors in ``args`` and their generators' states."""
    from .. import cuda
    ids = []
    for t in _flatten(args, []):
        if t.device.type == "cuda" and t.device.index not in ids:
            ids.append(t.device.index)
    return ids, [cuda.get_rng_state(i) for i in ids]


def set_device_states(devices, states, *, device_type=None):
    from .. import cuda
    for d, s in zip(devices, states):
        cuda.set_rng_state(s, d)


class _RngStash:
    """The random states at the start of the forward, put back for the recomputation."""

    def __init__(self, args, preserve):
        self.preserve = preserve
        if preserve:
            from .._ops.creation import get_rng_state
            self.cpu_state = get_rng_state()
            self.devices, self.device_states = get_device_states(*args)

    @contextlib.contextmanager
    def restored(self):
        if not self.preserve:
            yield
            return
        from .. import random
        from .._ops.creation import set_rng_state
        with random.fork_rng(devices=self.devices):
            set_rng_state(self.cpu_state)
            set_device_states(self.devices, self.device_states)
            yield


class CheckpointFunction(Function):
    """The reentrant checkpoint: forward under no_grad, backward recomputes and backpropagates."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.rng = _RngStash(args, preserve_rng_state)
        # non-tensor inputs stay in ctx; tensors are saved (so in-place changes are caught)
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        with grad_mode.no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        from .. import autograd
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        with ctx.rng.restored():
            detached = detach_variable(tuple(inputs))
            with grad_mode.enable_grad():
                outputs = ctx.run_function(*detached)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        with_grad = [(o, g) for o, g in zip(outputs, grads) if isinstance(o, Tensor) and o.requires_grad]
        if not with_grad:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        autograd.backward([o for o, _ in with_grad], [g for _, g in with_grad])
        return (None, None) + tuple(t.grad if isinstance(t, Tensor) else None for t in detached)


# Note [Checkpoint without saved-tensor hooks]
# torch's non-reentrant checkpoint records the function's graph with saved-tensor hooks that keep
# nothing and recompute on first use. flambeau has no saved-tensor hooks, so the function runs
# once recording its graph, only to learn where that graph leaves the region: the edges to
# tensors made before it (inputs, tensors the function closes over) and to leaves (parameters).
# That graph, and with it every intermediate result, is dropped as the call returns; the outputs
# hang from one _Recompute node whose inputs are those boundary tensors. Its backward runs the
# function again and differentiates the recomputation down to the boundary with autograd.grad, so
# gradients flow back through the outer graph (autograd.grad and backward(inputs=...) work, and
# nothing is accumulated on the side). A boundary tensor known only by its edge (a non-leaf the
# function closes over) is stood for by a placeholder tensor carrying that edge.
# Differences with torch: the forward's peak memory is that of an ordinary forward (the
# intermediates live until the function returns), the outputs' grad_fn is the _Recompute node,
# and the determinism check compares the outputs, not each saved tensor. Under create_graph (double
# backward), a gradient can still be counted twice where one argument of the checkpoint was made
# from another (or from a parameter it also uses) through an earlier checkpoint.


class _Recompute(Function):
    _node_name = "CheckpointBackward"

    @staticmethod
    def forward(ctx, state, *boundary):
        ctx.state = state
        return tuple(state.pop_outputs())

    @staticmethod
    def backward(ctx, *grads):
        from .. import autograd
        state = ctx.state
        create_graph = grad_mode.is_grad_enabled()
        # The recomputation starts from detached copies of the tensor arguments, and is differentiated
        # down to them: differentiated down to the arguments themselves, a gradient would also flow on
        # through the outer graph into an argument (or parameter) another argument was made from
        # (DenseNet's concatenated features), and reach it twice once the outer backward carries the
        # returned gradients on. A create_graph gradient must stay connected to the arguments: there the
        # copies are views, which do not cut the outer graph (see the Note's differences).
        args_tensors = _flatten((state.args, state.kwargs), [])
        stand_in = {}                   # one copy per tensor, passed twice or not
        with grad_mode.enable_grad():
            for t in args_tensors:
                if t.requires_grad and id(t) not in stand_in:
                    stand_in[id(t)] = t.view_as(t) if create_graph else t.detach().requires_grad_()
        local = [stand_in.get(id(t), t) for t in args_tensors]
        args, kwargs = _rebuild((state.args, state.kwargs), iter(local))
        with state.rng.restored(), grad_mode.enable_grad(), state.recompute_context:
            out = state.function(*args, **kwargs)
        flat = _flatten(out, [])
        state.check(flat)
        pairs = [(flat[i], g) for i, g in zip(state.routed, grads)
                 if g is not None and flat[i].requires_grad]
        if not pairs:
            return (None,) * (1 + len(state.boundary))
        targets = [stand_in.get(id(b), b) for b in state.boundary]
        _refuse_closures_over_other_targets([b for b in state.boundary if id(b) not in stand_in])
        # retain_graph: a tensor the function closes over is differentiated through the outer graph,
        # whose saved tensors the outer backward still needs
        res = autograd.grad([o for o, _ in pairs], targets, [g for _, g in pairs],
                            retain_graph=True, create_graph=create_graph, allow_unused=True)
        return (None,) + tuple(res)


def _refuse_closures_over_other_targets(boundary):
    """NotImplementedError where a non-leaf the function closes over was made from another tensor the
    recomputation is differentiated down to (a parameter, another such non-leaf): autograd.grad cannot
    stop at the first, so that gradient would be counted twice. Passed as an argument, it works."""
    nodes = {id(b._edge()[0]): b for b in boundary}
    closures = [b for b in boundary if b.grad_fn is not None]
    for c in closures:
        stack, seen = [n for n, _ in (e for e in c.grad_fn._edges if e is not None)], set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if id(node) in nodes and nodes[id(node)] is not c:
                raise NotImplementedError(
                    "checkpoint(use_reentrant=False): the function closes over a tensor (of shape "
                    f"{tuple(c.shape)}) made from another tensor its gradient also flows to; flambeau would "
                    "count that gradient twice. Pass the tensor to checkpoint as an argument instead.")
            stack.extend(e[0] for e in getattr(node, "_edges", ()) if e is not None)


class _RecomputeState:
    def __init__(self, function, args, kwargs, rng, recompute_context, determinism_check, debug):
        self.function, self.args, self.kwargs = function, args, kwargs
        self.rng, self.recompute_context = rng, recompute_context
        self.determinism_check, self.debug = determinism_check, debug
        self.boundary, self.routed, self._outputs, self.meta = [], [], None, None

    def pop_outputs(self):
        out, self._outputs = self._outputs, None
        return out

    def check(self, flat):
        if self.determinism_check == "none":
            return
        got = [(tuple(t.shape), t.dtype, t.device) for t in flat]
        if got != self.meta:
            msg = ("torch.utils.checkpoint: Recomputed values for the following tensors have different "
                   "metadata than during the forward pass.\n")
            if len(got) != len(self.meta):
                msg = ("torch.utils.checkpoint: A different number of tensors was returned during the original "
                       f"forward and recomputation.\nNumber of tensors in the original forward: {len(self.meta)}\n"
                       f"Number of tensors in the recomputation: {len(got)}\n")
            else:
                for i, (a, b) in enumerate(zip(self.meta, got)):
                    if a != b:
                        msg += (f"tensor at position {i}:\nsaved metadata: {_describe(a)}\n"
                                f"recomputed metadata: {_describe(b)}\n")
            if self.debug:
                msg += f"\nThe checkpointed function: {self.function!r}\n"
            raise CheckpointError(msg)


def _describe(meta):
    shape, dtype, device = meta
    return f"{{'shape': torch.Size({list(shape)}), 'dtype': {dtype}, 'device': {device}}}"


def _boundary_of(outputs, mark, known):
    """The tensors at which the graph of ``outputs`` leaves the nodes made after ``mark``."""
    boundary, seen_edges, seen_nodes = [], set(), set()
    stack = [t._edge() for t in outputs]
    while stack:
        node, nr = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        for e, meta in zip(node._edges, node._input_meta):
            if e is None:
                continue
            nxt = e[0]
            if type(nxt) is AccumulateGrad or getattr(nxt, "_seq", -1) < mark:
                key = (id(nxt), e[1])
                if key not in seen_edges:
                    seen_edges.add(key)
                    boundary.append(_boundary_tensor(e, meta, known))
            else:
                stack.append(e)
    return boundary


def _boundary_tensor(edge, meta, known):
    node, nr = edge
    if type(node) is AccumulateGrad:
        return node.variable
    t = known.get((id(node), nr))
    if t is not None:
        return t
    # a non-leaf the function closes over: a placeholder with its edge (no memory of its own)
    shape, dtype, device = meta
    import flambeau
    zero = flambeau.zeros((), dtype=dtype, device=device)._data
    p = _make(_xp.array_module(zero).broadcast_to(zero, shape))
    p._grad_fn, p._output_nr, p._requires_grad = node, nr, True
    return p


def _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check, debug, args, kwargs):
    if determinism_check not in _DETERMINISM_CHECKS:
        raise ValueError(f"determinism_check should be one of {list(_DETERMINISM_CHECKS)}, "
                         f"but got {determinism_check}")
    debug = _checkpoint_debug_enabled if _checkpoint_debug_enabled is not None else debug
    forward_context, recompute_context = context_fn()
    rng = _RngStash((args, kwargs), preserve)
    if not grad_mode.is_grad_enabled():
        with forward_context:
            return function(*args, **kwargs)
    mark = next(_sequence)
    with forward_context:
        out = function(*args, **kwargs)
    flat = _flatten(out, [])
    state = _RecomputeState(function, args, kwargs, rng, recompute_context, determinism_check, debug)
    state.meta = [(tuple(t.shape), t.dtype, t.device) for t in flat]
    # outputs made inside the region go through the node; others (inputs returned as they are,
    # tensors without grad) are returned unchanged
    state.routed = [i for i, t in enumerate(flat)
                    if t.requires_grad and getattr(t._edge()[0], "_seq", -1) >= mark
                    and type(t._edge()[0]) is not AccumulateGrad]
    if not state.routed:
        return out
    known = {}
    for t in _flatten((args, kwargs), []):
        if t.requires_grad:
            e = t._edge()
            known[(id(e[0]), e[1])] = t
    state.boundary = _boundary_of([flat[i] for i in state.routed], mark, known)
    # new tensors over the outputs' memory: detach() would keep the original (and its graph) as _base
    state._outputs = [_make(flat[i]._data) for i in state.routed]
    replaced = iter(_Recompute.apply(state, *state.boundary))
    routed = set(state.routed)
    new_flat = [next(replaced) if i in routed else t for i, t in enumerate(flat)]
    return _rebuild(out, iter(new_flat))


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn,
               determinism_check=_DEFAULT_DETERMINISM_MODE, debug=False, early_stop=True, **kwargs):
    """Run ``function(*args, **kwargs)`` without keeping its intermediate results; backward
    recomputes them. See the module docstring for the two variants."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in "
            "PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. use_reentrant=False "
            "is recommended, but if you need to preserve the current default behavior, you can pass "
            "use_reentrant=True. Refer to docs for more details on the differences between the two variants.",
            stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve, *args)
    return _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check, debug, args, kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (a Sequential or a list) in ``segments`` chunks, checkpointing all but
    the last."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
            "explicitly. In version 2.9 we will raise an exception if use_reentrant is not passed. "
            "use_reentrant=False is recommended, but if you need to preserve the current default behavior, "
            "you can pass use_reentrant=True. Refer to docs for more details on the differences between the "
            "two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run_function(start, end, functions):
        def forward(input):
            for j in range(start, end + 1):
                input = functions[j](input)
            return input
        return forward

    from ..nn import Sequential
    if isinstance(functions, Sequential):
        functions = list(functions.children())
    segment_size = len(functions) // segments
    end = -1       # the last chunk is not checkpointed
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end, functions), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1, functions)(input)
