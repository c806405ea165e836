"""autograd.Function: the one mechanism behind built-in ops and user-defined ones.

A Function subclass defines ``forward(ctx, *args)`` and ``backward(ctx, *grads)``.
``apply`` runs forward with grad mode off and, when an input requires grad and grad
mode is on, records ``ctx`` as the backward node of the outputs. ``ctx`` *is* that
node (an instance of ``<Name>Backward``), as in PyTorch.

Built-in ops may return raw arrays (NumPy/CuPy) from forward; ``apply`` wraps them.
Backward formulas are written with flambeau ops on Tensors, so that with
``create_graph=True`` the backward pass is itself recorded (higher-order gradients).
"""
import itertools
import re
import traceback

import numpy as np

from . import grad_mode
from .grad_mode import _InferenceVersion
from .. import _xp

_sequence = itertools.count()
_anomaly = [False, True]   # anomaly mode on; with it, check backward results for NaN
_FREED = object()   # marks saved tensors released after a backward without retain_graph
# (pack_hook, unpack_hook) pairs of the saved_tensors_hooks blocks entered; the innermost applies
_saved_hooks = []
_ndarray = np.ndarray


class Node:
    """A step of the backward graph (``grad_fn``)."""

    _forward_cls = None
    _saved = None
    _materialize = True
    _non_diff = None
    _dirty = None
    _n_outputs = 1
    _out_version = None
    _hooked = False         # set once a hook is registered on the node (or its outputs)
    _python_node = False    # the node of a user's Function: see Note [Backward with no gradient]

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__} object at {id(self):#x}>"

    # -- graph ---------------------------------------------------------------------------
    @property
    def next_functions(self):
        return tuple((e[0], e[1]) if e is not None else (None, 0)
                     for e, is_t in zip(self._edges, self._is_tensor) if is_t)

    @property
    def metadata(self):
        d = self.__dict__.get("_metadata")
        if d is None:
            d = self._metadata = {}
        return d

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) runs after this node's backward."""
        hooks = self.__dict__.setdefault("_post_hooks", {})
        self._hooked = True
        return _Handle(hooks, fn)

    def register_prehook(self, fn):
        """fn(grad_outputs) runs before this node's backward; may return new grads."""
        hooks = self.__dict__.setdefault("_pre_hooks", {})
        self._hooked = True
        return _Handle(hooks, fn)

    # -- ctx API -------------------------------------------------------------------------
    def save_for_backward(self, *tensors):
        Tensor = _Tensor[0] or _bind()
        saved = []
        for t in tensors:
            if t is None:
                saved.append(None)
            elif isinstance(t, Tensor):
                if grad_mode._ever_entered[0] and isinstance(t._version_counter, _InferenceVersion) \
                        and not grad_mode._inference[0] \
                        and True in getattr(self, "needs_input_grad", ()):
                    raise RuntimeError(grad_mode.SAVED_INFERENCE_TENSOR)       # Note [Inference tensors]
                saved.append((t, t._version_counter[0]))
            else:
                raise TypeError(f"save_for_backward can only save tensors or None, got {type(t).__name__}")
        self._saved = saved

    @property
    def saved_tensors(self):
        saved = self._saved
        if saved is _FREED:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved tensors "
                "after they have already been freed). Saved intermediate values of the graph are freed "
                "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
                "backward through the graph a second time or if you need to access saved tensors after "
                "calling backward.")
        if saved is None:
            return ()
        out = []
        for entry in saved:
            if entry is None:
                out.append(None)
                continue
            if type(entry) is _PackedSaved:
                out.append(entry.unpack(self))
                continue
            t, version = entry
            if type(t) is _SavedOutput:
                t = t.unpack(self)
            if t._version_counter[0] != version:
                raise RuntimeError(_modified_message(t.type(), list(t.shape), t._grad_fn, t._output_nr,
                                                     t._version_counter[0], version))
            out.append(t)
        return tuple(out)

    saved_variables = saved_tensors

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_diff = tensors

    def set_materialize_grads(self, value):
        self._materialize = bool(value)

    def _release(self):
        if self._saved is not None:
            self._saved = _FREED

    def _run_backward(self, grads):
        """Call the forward class's backward; return one grad (or None) per forward input."""
        fwd = self._forward_cls
        ov = self._out_version
        if ov is not None and ov[0][0] != ov[1]:
            import numpy
            kind = _Tensor[1](numpy.empty(0, ov[3])).type()
            raise RuntimeError(_modified_message(kind, list(ov[2]), self, 0, ov[0][0], ov[1]))
        out = fwd.backward(self, *grads)
        if not isinstance(out, tuple):
            out = (out,)
        n = len(self._edges)
        if len(out) != n:
            if len(out) > n and all(g is None for g in out[n:]):
                out = out[:n]
            else:
                raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                                   f"(expected {n}, got {len(out)})")
        return out


def _modified_message(kind, shape, grad_fn, output_nr, version, expected):
    """PyTorch's error for a saved tensor modified in place. Like PyTorch, it names the op that
    made the tensor as it is now (its grad_fn, without the Backward suffix: an input saved and
    then changed by add_ is "output 0 of Add"); a saved output is named by the node that saved it."""
    which = ""
    if grad_fn is not None:
        which = f", which is output {output_nr} of {re.sub(r'Backward[0-9]*$', '', grad_fn.name())},"
    if _anomaly[0]:
        hint = ("the backtrace further above shows the operation that failed to compute its gradient. The "
                "variable in question was changed in there or anywhere later. Good luck!")
    else:
        hint = ("enable anomaly detection to find the operation that failed to compute its gradient, with "
                "torch.autograd.set_detect_anomaly(True, check_nan=False).")
    return ("one of the variables needed for gradient computation has been modified by an inplace operation: "
            f"[{kind} {shape}]{which} is at version {version}; expected version {expected} instead. Hint: {hint}")


class _SavedOutput:
    """An output of a node saved by that node's forward, kept without the Tensor object.

    Keeping the Tensor would make a cycle (node -> output -> grad_fn = node) that only the
    garbage collector could free; the node keeps the data and version counter instead and
    rebuilds an equivalent tensor (same memory, this node as grad_fn) when unpacked.
    """
    __slots__ = ("data", "version", "base", "output_nr")

    def __init__(self, t, output_nr):
        self.data, self.version, self.base, self.output_nr = t._data, t._version_counter, t._base, output_nr

    def unpack(self, node):
        t = _Tensor[1](self.data)
        t._base, t._version_counter = self.base, self.version
        t._grad_fn, t._output_nr, t._requires_grad = node, self.output_nr, True
        return t


# Note [Saved-tensor hooks]: inside ``autograd.graph.saved_tensors_hooks(pack, unpack)``, each
# tensor a recorded node saves is handed to ``pack`` (under no_grad, once the outputs carry their
# history) and only what pack returns is kept; backward calls ``unpack`` on it. As in PyTorch, the
# unpacked tensor takes the autograd history of the tensor that was saved (so double backward
# still reaches the same leaves), and no version check is made: the hooks own what is kept.
class _PackedSaved:
    """A saved tensor as pack_hook turned it, with where its gradient flows."""
    __slots__ = ("packed", "unpack_hook", "output_nr", "edge")

    def __init__(self, t, outputs, pack_hook, unpack_hook):
        self.output_nr = next((i for i, o in enumerate(outputs) if o is t and o._requires_grad), None)
        # an output's edge would be the node itself: a cycle; unpack gets the node instead
        self.edge = t._edge() if self.output_nr is None and t._requires_grad else None
        self.unpack_hook = unpack_hook
        self.packed = pack_hook(t)

    def unpack(self, node):
        Tensor = _Tensor[0] or _bind()
        result = self.unpack_hook(self.packed)
        if not isinstance(result, Tensor):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
                            f"{type(result).__name__}")
        t = _Tensor[1](result._data)
        if self.output_nr is not None:
            t._grad_fn, t._output_nr, t._requires_grad = node, self.output_nr, True
        elif self.edge is not None:
            fn, nr = self.edge
            if type(fn) is AccumulateGrad:        # a leaf: gradients go to that leaf's accumulator
                import weakref
                t._grad_acc, t._requires_grad = weakref.ref(fn), True
            else:
                t._grad_fn, t._output_nr, t._requires_grad = fn, nr, True
        return t


def _pack_saved(node, outputs):
    """Replace what node saved by what the innermost pack hook makes of it (Note [Saved-tensor hooks])."""
    pack_hook, unpack_hook = _saved_hooks[-1]
    prev = grad_mode._enabled[0]
    grad_mode._enabled[0] = False
    try:
        node._saved = [None if e is None else _PackedSaved(e[0], outputs, pack_hook, unpack_hook)
                       for e in node._saved]
    finally:
        grad_mode._enabled[0] = prev


class RemovableHandle:
    """What every ``register_*hook`` returns (``torch.utils.hooks.RemovableHandle``): ``remove()``
    takes the hook out of ``hooks_dict`` (and its id out of each ``extra_dict``).

    flambeau's own registrations also pass the hook, which is stored under the handle's id."""
    next_id = 0

    def __init__(self, hooks_dict, hook=None, *, extra_dict=None):
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        self._table = hooks_dict
        if extra_dict is None:
            extra_dict = []
        self._extra = list(extra_dict) if isinstance(extra_dict, (list, tuple)) else [extra_dict]
        self._on_remove = None      # a callback after removal (a module refreshes its hook flag)
        if hook is not None:
            hooks_dict[self.id] = hook

    def remove(self):
        self._table.pop(self.id, None)
        for extra in self._extra:
            extra.pop(self.id, None)
        if self._on_remove is not None:
            self._on_remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_Handle = RemovableHandle       # the internal name its callers import


class AccumulateGrad(Node):
    """Sink node of a leaf tensor: adds the incoming gradient into ``variable.grad``."""

    def __init__(self, variable):
        self.variable = variable
        self._edges = ()
        self._is_tensor = ()
        self._seq = next(_sequence)

    @property
    def next_functions(self):
        return ()

    def name(self):
        return "torch::autograd::AccumulateGrad"      # PyTorch's (a C++ class): its qualified name


# Note [Saved outputs and in-place]: PyTorch's backward of these ops reads their result, so
# modifying the result in place makes that backward fail. Some of flambeau's formulas
# recompute from the input, but all keep PyTorch's contract: the node remembers the version of
# its output and backward raises when the output was modified (no reference to the output is
# kept, so no cycle node -> output -> node; a saved output is a _SavedOutput).
_SAVES_OUTPUT = frozenset({"ExpBackward0", "Exp2Backward0", "Expm1Backward0", "TanhBackward0", "TanBackward0",
                           "SigmoidBackward0", "ReluBackward0", "SqrtBackward0", "RsqrtBackward0",
                           "ReciprocalBackward0", "SoftmaxBackward0", "LogSoftmaxBackward0",
                           "CumprodBackward0", "ProdBackward0", "PowBackward2"})


class _FunctionMeta(type):
    def __init__(cls, name, bases, ns):
        super().__init__(name, bases, ns)
        node_name = ns.get("_node_name") or (name + "Backward")
        cls._backward_cls = type(node_name, (BackwardNode,), {"_forward_cls": cls})
        cls._backward_cls._python_node = not cls.__module__.startswith("flambeau.")
        cls._saves_output = node_name in _SAVES_OUTPUT


class BackwardNode(Node):
    """Base of the per-Function node classes (``MulBackward0``...)."""

    def __init__(self):
        self._saved = None
        self._materialize = True
        self._non_diff = None
        self._dirty = None

    def __call__(self, *grads):
        return self._run_backward(grads)


class Function(metaclass=_FunctionMeta):
    """Base class of differentiable operations (subclass and call ``apply``)."""

    _is_view = False       # forward returns a view of its first input's storage
    _wrapped_scalars = 0   # leading arguments that, given as numbers, still count as inputs
    _result_layout = None  # PyTorch's layout rule for forward's arrays: "operands", "like" or "rows" (_ops._util)

    def __init__(self, *args, **kwargs):
        raise RuntimeError("Function subclasses are used through their apply() classmethod, not instantiated")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not defined for this Function")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            f"this Function defines no backward; it cannot be differentiated")

    vjp = backward

    @classmethod
    def named(cls, node_name):
        """This Function recording its node as ``node_name`` (PyTorch names overloads apart:
        ``SumBackward0`` for a full sum, ``SumBackward1`` for a sum over dims)."""
        sub = cls.__dict__.get("_named")
        if sub is None:
            sub = {}
            setattr(cls, "_named", sub)
        c = sub.get(node_name)
        if c is None:
            c = sub[node_name] = type(cls.__name__, (cls,), {"_node_name": node_name, "__module__": cls.__module__})
        return c

    @classmethod
    def apply(cls, *args, **kwargs):
        Tensor = _Tensor[0] or _bind()
        node_cls = cls._backward_cls
        ctx = _new(node_cls)
        prev_mode = grad_mode._enabled[0]
        needs = False
        if prev_mode:
            flags = [isinstance(a, Tensor) and a._requires_grad for a in args]
            needs = True in flags
            ctx.needs_input_grad = tuple(flags) if needs else (False,) * len(args)
            grad_mode._enabled[0] = False
        else:
            ctx.needs_input_grad = (False,) * len(args)
        try:
            if cls.setup_context is not _base_setup_context:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        finally:
            grad_mode._enabled[0] = prev_mode
        if cls._result_layout is not None:
            out = _Tensor[2](out, args, cls._result_layout)
        make = _Tensor[1]
        if type(out) is _ndarray or type(out) is _xp._device_array:     # the common case: one fresh array
            res = make(out)
            if not needs and not cls._is_view:
                return res
            single = True
            wrapped = [res]
        else:
            single = not isinstance(out, tuple)
            wrapped = []
            dirty = ctx._dirty
            returned_views = []         # outputs that are views of an input: Note [Views returned by custom Functions]
            for o in ((out,) if single else out):
                if isinstance(o, Tensor):
                    if dirty is not None and any(o is d for d in dirty):
                        o._version_counter[0] += 1
                    else:
                        if any(o is a for a in args):
                            o = o._alias()      # an input returned as is becomes a new tensor sharing data
                        if o._base is not None:
                            returned_views.append(o)
                elif o is not None and hasattr(o, "shape") and hasattr(o, "dtype"):
                    o = make(o)
                wrapped.append(o)
            if returned_views:
                kind = "single" if len(wrapped) == 1 else "multi"
                for o in returned_views:
                    if needs:
                        o.__dict__["_custom_view"] = kind       # its history will be this node
                        o.__dict__.pop("_no_grad_view", None)
                    elif o.__dict__.get("_no_grad_view"):
                        o.__dict__["_custom_view"] = kind       # made under no_grad from an input requiring grad
        if cls._is_view:
            src = args[0]
            root = src._base if src._base is not None else src
            for o in wrapped:
                o._base = root
                o._version_counter = src._version_counter
                if needs:
                    o._base_hist = root.__dict__.get("_hist", 0)
                elif not prev_mode and src._requires_grad or not prev_mode and src.__dict__.get("_no_grad_view"):
                    o.__dict__["_no_grad_view"] = True       # see _ops._util.mark_no_grad_view
                elif src.__dict__.get("_no_grad_view"):      # made with grad on from such a view: named
                    o.__dict__["_no_grad_view"] = re.sub(r"Backward\d*$", "", cls._node_name or cls.__name__)
                if prev_mode and "_custom_view" in src.__dict__:
                    o.__dict__["_custom_view"] = src.__dict__["_custom_view"]
        if needs:
            ctx._seq = next(_sequence)
            edges, is_tensor, meta = [], [], []
            wrapped_scalars = cls._wrapped_scalars
            k = 0
            for a in args:
                if isinstance(a, Tensor):
                    d = a._data
                    if a._requires_grad:
                        fn = a._grad_fn if a._base is None else a.grad_fn
                        edges.append((fn, a._output_nr) if fn is not None else a._edge())
                        is_tensor.append(True)
                    else:
                        edges.append(None)
                        # integer/bool tensors (indices, masks) are not differentiable inputs
                        is_tensor.append(d.dtype.kind in "fc")
                    meta.append((d.shape, _BY_NP[d.dtype], _CPU if type(d) is _ndarray else a.device))
                else:
                    # Python numbers of arithmetic ops are wrapped as tensors in PyTorch: they
                    # show in next_functions as (None, 0)
                    is_tensor.append(k < wrapped_scalars and isinstance(a, (int, float, complex)))
                    edges.append(None)
                    meta.append(None)
                k += 1
            ctx._edges = edges
            ctx._is_tensor = is_tensor
            ctx._input_meta = meta
            if len(wrapped) > 1:
                ctx._n_outputs = len(wrapped)
            if len(wrapped) > 1 or node_cls._python_node:
                ctx._output_meta = [(o.shape, o.dtype, o.device) if isinstance(o, Tensor) else None
                                    for o in wrapped]
            if _anomaly[0]:
                ctx._trace = "".join(traceback.format_stack()[:-1])
            if cls._saves_output and not _saved_hooks:     # hooks own what is kept: no version check
                o = wrapped[0]
                ctx._out_version = (o._version_counter, o._version_counter[0], o._data.shape, o._data.dtype)
            saved = ctx._saved
            pack_later = bool(saved) and bool(_saved_hooks)
            if saved and not pack_later:
                for j, entry in enumerate(saved):
                    if entry is not None:
                        for i, o in enumerate(wrapped):
                            if entry[0] is o and o._data.dtype.kind in "fc":
                                saved[j] = (_SavedOutput(o, i), entry[1])
            non_diff = ctx._non_diff
            dirty = ctx._dirty
            if single and non_diff is None and dirty is None:
                o = wrapped[0]
                if isinstance(o, Tensor):
                    if o._data.dtype.kind in "fc":
                        o._grad_fn = ctx
                        o._output_nr = 0
                        o._requires_grad = True
                    else:
                        o._requires_grad = False
                if pack_later:
                    _pack_saved(ctx, wrapped)
                return o
            for i, o in enumerate(wrapped):
                if not isinstance(o, Tensor):
                    continue
                if (non_diff is not None and any(o is d for d in non_diff)) or o._data.dtype.kind not in "fc":
                    o._requires_grad = False
                    continue
                if dirty is not None and any(o is d for d in dirty) and o._base is not None:
                    from .._ops.views import rebase_view_history
                    rebase_view_history(o, ctx, i)
                    continue
                o._grad_fn = ctx
                o._output_nr = i
                o._requires_grad = True
            if pack_later:
                _pack_saved(ctx, wrapped)
        return wrapped[0] if single else tuple(wrapped)


_base_setup_context = Function.setup_context
_Tensor = [None, None, None]    # (Tensor, _make, _ops' layout rule), bound on first use: _tensor imports this module
_BY_NP = None


_new = object.__new__
_CPU = None


def _bind():
    global _BY_NP, _CPU
    from .._tensor import Tensor, _make
    from .._dtype import _BY_NP as by_np
    from .._device import CPU
    from .._ops._util import laid_out_as_operands
    _BY_NP, _CPU = by_np, CPU
    _Tensor[0], _Tensor[1], _Tensor[2] = Tensor, _make, laid_out_as_operands
    return Tensor


class once_differentiable:
    """Decorator kept for PyTorch compatibility: runs backward without recording."""

    def __new__(cls, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(ctx, *args):
            with grad_mode.no_grad():
                return fn(ctx, *args)
        return wrapper
