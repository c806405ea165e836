"""``flambeau.func``: torch.func's function transforms on flambeau's tape-based autograd.

* ``grad``, ``grad_and_value``, ``vjp``, ``jacrev`` and ``hessian`` differentiate by reverse mode, as
  torch does. Each call runs ``func`` under ``enable_grad`` on fresh differentiable copies of the inputs;
  the results keep an autograd graph only where they depend on tensors that require grad outside the
  transform (an enclosing transform's inputs, a module's parameters), so the transforms compose:
  ``grad(grad(f))``, ``jacrev(jacrev(f))``, ``vmap(grad(f))``.
* flambeau has no forward-mode AD. ``jvp`` is computed by the double-vjp trick: ``u -> J^T u`` is linear in
  the cotangent ``u``, so differentiating it against ``u`` with the tangent as cotangent gives ``J t``.
  ``jacfwd`` returns the same Jacobian as ``jacrev``, computed by reverse mode.
* flambeau has no batching rules: ``vmap(func)`` calls ``func`` once per slice along the mapped dims and
  stacks the results along ``out_dims``. It costs one call per slice (torch calls ``func`` once on
  batched tensors), and with batch size 0 it calls ``func`` once on zero-filled slices to learn the
  shapes of the outputs.

Inputs and outputs are pytrees of tensors: tuples, lists, dicts (OrderedDict) and namedtuples nest, every
other object is a leaf, as in torch.utils._pytree.
"""
import collections
import functools

from . import _tensor
from .autograd import grad as _autograd_grad_raw
from .autograd.function import AccumulateGrad
from .autograd.grad_mode import enable_grad, is_grad_enabled
from .nn.utils import stateless as _stateless

__all__ = ["functional_call", "stack_module_state", "grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev",
           "jacfwd", "hessian", "vmap"]

Tensor = _tensor.Tensor


# -- pytrees -----------------------------------------------------------------------------------------------
class TreeSpec:
    """The structure of a pytree (a node type, its context, its children's specs), printed as torch's."""

    def __init__(self, type, context, children):
        self.type, self.context, self.children = type, context, children
        self.num_leaves = sum(c.num_leaves for c in children)

    def is_leaf(self):
        return False

    def __eq__(self, other):
        return (isinstance(other, TreeSpec) and self.type is other.type and self.context == other.context
                and self.children == other.children)

    def __repr__(self, indent=0):
        name = "namedtuple" if _is_namedtuple_type(self.type) else self.type.__name__
        text = f"TreeSpec({name}, {self.context}, ["
        if self.children:
            indent += 2
            text += self.children[0].__repr__(indent) + ("," if len(self.children) > 1 else "")
            text += ",".join("\n" + " " * indent + c.__repr__(indent) for c in self.children[1:])
        return text + "])"


class _LeafSpec(TreeSpec):
    def __init__(self):
        self.type, self.context, self.children, self.num_leaves = None, None, [], 1

    def is_leaf(self):
        return True

    def __eq__(self, other):
        return isinstance(other, _LeafSpec)

    def __repr__(self, indent=0):
        return "*"


_LEAF = _LeafSpec()


def _is_namedtuple_type(cls):
    return isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")


def _children(tree):
    """(node type, context, children) of a pytree node, None for a leaf."""
    cls = type(tree)
    if cls in (tuple, list) or _is_namedtuple_type(cls):
        return cls, (cls if _is_namedtuple_type(cls) else None), list(tree)
    if cls in (dict, collections.OrderedDict):
        return cls, list(tree), list(tree.values())
    return None


def tree_flatten(tree):
    node = _children(tree)
    if node is None:
        return [tree], _LEAF
    leaves, specs = [], []
    for child in node[2]:
        child_leaves, spec = tree_flatten(child)
        leaves += child_leaves
        specs.append(spec)
    return leaves, TreeSpec(node[0], node[1], specs)


def tree_unflatten(leaves, spec):
    leaves = iter(leaves)

    def build(spec):
        if spec.is_leaf():
            return next(leaves)
        children = [build(c) for c in spec.children]
        if spec.type in (dict, collections.OrderedDict):
            return spec.type(zip(spec.context, children))
        if _is_namedtuple_type(spec.type):
            return spec.type(*children)
        return spec.type(children)
    return build(spec)


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def _broadcast_to_and_flatten(prefix, spec):
    """The leaves of ``prefix`` (a tree whose leaves stand for whole subtrees of spec), one per leaf of
    spec; None when prefix is not a prefix of spec."""
    out = []

    def walk(prefix, spec):
        node = _children(prefix)
        if node is None:
            out.extend([prefix] * spec.num_leaves)
            return True
        if spec.is_leaf() or node[0] is not spec.type or len(node[2]) != len(spec.children):
            return False
        if spec.type in (dict, collections.OrderedDict):
            if set(node[1]) != set(spec.context):
                return False
            return all(walk(prefix[k], c) for k, c in zip(spec.context, spec.children))
        return all(walk(p, c) for p, c in zip(node[2], spec.children))
    return out if walk(prefix, spec) else None


def _pprint(spec):
    """A spec drawn as its tree with ``*`` leaves (torch's treespec_pprint)."""
    class Star(str):
        def __repr__(self):
            return "*"
    return repr(tree_unflatten([Star("*")] * spec.num_leaves, spec))


# -- functional_call ---------------------------------------------------------------------------------------
def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True,
                    strict=False):
    """Call ``module`` with the tensors of ``parameter_and_buffer_dicts`` (a dict of dotted names, or a
    sequence of dicts with distinct keys) in place of its parameters and buffers; the module gets its own
    tensors back afterwards, also when the call raises."""
    if isinstance(parameter_and_buffer_dicts, dict):
        parameters_and_buffers = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, (list, tuple)):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
        counts = collections.Counter(k for d in parameter_and_buffer_dicts for k in d)
        repeated = [k for k, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is "
                             "ambiguous")
        parameters_and_buffers = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                         f"{type(parameter_and_buffer_dicts)}")
    return _stateless._functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights,
                                       strict=strict)


def stack_module_state(models):
    """(params, buffers): each of the models' tensors stacked along a new first dim, by name (for vmap)."""
    import flambeau
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(tensors, name):
        if len({t.requires_grad for t in tensors}) > 1:
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        result = flambeau.stack(tensors)
        return result.detach().requires_grad_() if tensors[0].requires_grad else result

    all_params = [dict(m.named_parameters()) for m in models]
    all_buffers = [dict(m.named_buffers()) for m in models]
    return ({k: stacked([p[k] for p in all_params], k) for k in all_params[0]},
            {k: stacked([b[k] for b in all_buffers], k) for k in all_buffers[0]})


# -- argnums -----------------------------------------------------------------------------------------------
def _wrap_argnum(argnum, num_args):
    if not isinstance(argnum, int):
        raise RuntimeError(f"argnum must be int, got: {type(argnum)}")
    if 0 <= argnum < num_args:
        return argnum
    if -num_args <= argnum < 0:
        return argnum + num_args
    raise RuntimeError(f"Got argnum={argnum}, but only {num_args} positional inputs")


def _slice_argnums(args, argnums, as_tuple=True):
    if not isinstance(argnums, (int, tuple)):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    if isinstance(argnums, int):
        argnums = _wrap_argnum(argnums, len(args))
        return (args[argnums],) if as_tuple else args[argnums]
    argnums = tuple(_wrap_argnum(a, len(args)) for a in argnums)
    if len(argnums) == 0:
        raise RuntimeError("argnums must be non-empty")
    if len(set(argnums)) != len(argnums):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return tuple(args[i] for i in argnums)


def _replace_args(args, new, argnums):
    if isinstance(argnums, int):
        argnums = _wrap_argnum(argnums, len(args))
        return tuple(new if i == argnums else a for i, a in enumerate(args))
    where = {_wrap_argnum(a, len(args)): k for k, a in enumerate(argnums)}
    return tuple(new[where[i]] if i in where else a for i, a in enumerate(args))


# -- one level of differentiation --------------------------------------------------------------------------
class _Level:
    """The differentiable copies one transform made of its inputs, and which results must keep their graph.

    A result keeps its graph when grad mode was on where the transform was called and the result depends on
    a tensor that requires grad and is not one of this level's copies: what an enclosing transform (or the
    user's own backward) differentiates. Everything else is detached, as torch unwraps a level."""

    def __init__(self):
        self.outer_grad = is_grad_enabled()
        self.own = set()            # ids of the leaves this level created
        self.keepalive = []         # ... kept alive so that the ids stay theirs
        self.clean = set()          # ids of graph nodes known to reach only this level's leaves

    def differentiable(self, x):
        if not isinstance(x, Tensor):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
        if x.requires_grad:         # stays connected to whoever differentiates x outside
            return x.view_as(x)
        if not (x.is_floating_point() or x.is_complex()):     # torch's wording for a transform's input
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        return self.leaf(x.detach().requires_grad_())

    def leaf(self, t):
        self.own.add(id(t))
        self.keepalive.append(t)
        return t

    def reaches_outside(self, tensors):
        stack = []
        for t in tensors:
            if isinstance(t, Tensor) and t.requires_grad:
                if t.grad_fn is None:
                    if id(t) not in self.own:
                        return True
                else:
                    stack.append(t.grad_fn)
        visited = []
        seen = set()
        while stack:
            node = stack.pop()
            if node is None or id(node) in seen or id(node) in self.clean:
                continue
            seen.add(id(node))
            visited.append(node)
            if isinstance(node, AccumulateGrad):
                if id(node.variable) not in self.own:
                    return True
                continue
            stack.extend(n for n, _ in node.next_functions)
        self.clean.update(id(n) for n in visited)
        return False

    def needs_graph(self, tensors):
        return self.outer_grad and self.reaches_outside(tensors)

    def unwrap(self, tree, allow_non_tensors=False):
        """tree's tensors, detached unless they must keep their graph (torch's _undo_create_differentiable)."""
        def unwrap_one(x):
            if isinstance(x, Tensor):
                return x if x.grad_fn is None and not x.requires_grad or self.needs_graph([x]) else x.detach()
            if allow_non_tensors:
                return x
            raise RuntimeError(f"Expected tensors, got unsupported type {type(x)}")
        return tree_map(unwrap_one, tree)


def _autograd_grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=True):
    """autograd.grad that skips outputs not requiring grad and gives zeros for unreached inputs. The graph
    is kept when a graph is created: an enclosing transform differentiates through it again."""
    import flambeau
    if grad_outputs is None:
        pairs = [(o, None) for o in outputs if o.requires_grad]
    else:
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not pairs:
        return tuple(flambeau.zeros_like(x) for x in inputs)
    outs, gouts = zip(*pairs)
    grads = _autograd_grad_raw(list(outs), list(inputs), None if grad_outputs is None else list(gouts),
                               retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)
    return tuple(flambeau.zeros_like(x) if g is None else g for g, x in zip(grads, inputs))


def _check_aux_pair(output, api):
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) if has_aux is True")
    return output


def _wraps(func):
    return functools.wraps(func, assigned=[a for a in functools.WRAPPER_ASSIGNMENTS if hasattr(func, a)])


# -- grad ------------------------------------------------------------------------------------------------
def grad_and_value(func, argnums=0, has_aux=False):
    """``(gradient of func's scalar output with respect to the args at argnums, that output)``; with
    has_aux, func returns ``(output, aux)`` and this returns ``(gradient, (output, aux))``."""
    @_wraps(func)
    def wrapper(*args, **kwargs):
        level = _Level()
        with enable_grad():
            diff_args = tree_map(level.differentiable, _slice_argnums(args, argnums, as_tuple=False))
            output = func(*_replace_args(args, diff_args, argnums), **kwargs)
            aux = None
            if has_aux:
                output, aux = _check_aux_pair(output, "grad_and_value(f)(*args)")
            if not isinstance(output, Tensor):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                                   f"{type(output)}")
            if output.dim() != 0:
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                                   f"tensor with {output.dim()} dims. Maybe you wanted to use the vjp or jacrev "
                                   "APIs instead?")
            flat_diff, spec = tree_flatten(diff_args)
            flat_grads = _autograd_grad((output,), flat_diff, create_graph=level.needs_graph([output]))
            grads = level.unwrap(tree_unflatten(flat_grads, spec))
            output = level.unwrap(output)
            if has_aux:
                return grads, (output, level.unwrap(aux))
        return grads, output
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The gradient of func's scalar output with respect to the args at argnums (a pytree like them);
    with has_aux, func returns ``(output, aux)`` and this returns ``(gradient, aux)``."""
    value_and_grad = grad_and_value(func, argnums, has_aux)

    @_wraps(func)
    def wrapper(*args, **kwargs):
        grads, value = value_and_grad(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads
    return wrapper


# -- vjp / jacrev / jacfwd / hessian ---------------------------------------------------------------------
def _check_tensor_outputs(flat_out, api):
    if len(flat_out) == 0:
        raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output (got output = "
                           f"{flat_out})")
    for o in flat_out:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got unsupported type "
                               f"{type(o)}")


class _Linearized:
    """func run once on differentiable copies of its inputs: the outputs and the backward from them."""

    def __init__(self, func, primals, argnums, has_aux, api, float_outputs_only=True):
        self.level = _Level()
        with enable_grad():
            if argnums is None:
                diff = tree_map(self.level.differentiable, primals)
                primals = diff
            else:
                diff = tree_map(self.level.differentiable, _slice_argnums(primals, argnums, as_tuple=False))
                primals = _replace_args(primals, diff, argnums)
            out = func(*primals)
            self.aux = None
            if has_aux:
                out, aux = _check_aux_pair(out, api)
                self.aux = self.level.unwrap(aux)
            self.flat_out, self.out_spec = tree_flatten(out)
            _check_tensor_outputs(self.flat_out, api)
            self.flat_diff, self.diff_spec = tree_flatten(diff)
            if float_outputs_only:
                for o in self.flat_out:
                    if not (o.is_floating_point() or o.is_complex()):
                        raise RuntimeError("vjp(f, ...): All outputs of f must be floating-point or complex "
                                           f"Tensors, got Tensor with dtype {o.dtype}")
            self.outputs = self.level.unwrap(out)
            self.keep_graph = self.level.needs_graph(self.flat_out)

    def pullback(self, flat_cotangents, retain_graph=True, create_graph=None):
        if create_graph is None:
            create_graph = is_grad_enabled() and (self.keep_graph or
                                                  any(c.requires_grad for c in flat_cotangents))
        with enable_grad():
            grads = _autograd_grad(self.flat_out, self.flat_diff, flat_cotangents, retain_graph=retain_graph,
                                   create_graph=create_graph)
        return grads


def vjp(func, *primals, has_aux=False):
    """``(func(*primals), vjp_fn)``: vjp_fn(cotangents) is the vector-Jacobian product with respect to
    every primal (cotangents shaped like the output); with has_aux also func's aux, last."""
    lin = _Linearized(func, primals, None, has_aux, "vjp(f, *primals)")

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        flat_cot, cot_spec = tree_flatten(cotangents)
        if cot_spec != lin.out_spec:
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function. cotangents: {_pprint(cot_spec)}, primal output: "
                               f"{_pprint(lin.out_spec)}")
        grads = lin.pullback(flat_cot, retain_graph, create_graph)
        if create_graph is None:
            grads = lin.level.unwrap(grads)
        return tree_unflatten(grads, lin.diff_spec)
    if has_aux:
        return lin.outputs, vjp_fn, lin.aux
    return lin.outputs, vjp_fn


def _error_if_complex(api, args, is_input):
    for idx, arg in enumerate(tree_flatten(args)[0]):
        if isinstance(arg, Tensor) and arg.is_complex():
            raise RuntimeError(f"{api}: Expected all {'inputs' if is_input else 'outputs'} to be real but received "
                               f"complex tensor at flattened input idx: {idx}")


def _jacobian(func, argnums, has_aux, args, api):
    """The Jacobian of func's outputs with respect to the args at argnums, row by row by reverse mode:
    for each output leaf, a pytree like the differentiated args of tensors shaped out.shape + arg.shape."""
    import flambeau
    _error_if_complex(api, args, is_input=True)
    forward = api == "jacfwd"
    lin = _Linearized(func, args, argnums, has_aux,
                      "jvp(f, primals, tangents)" if forward else "vjp(f, *primals)", float_outputs_only=not forward)
    _error_if_complex(api, lin.flat_out, is_input=False)
    primals = _slice_argnums(args, argnums)
    flat_primals, primals_spec = tree_flatten(primals)
    flat_diff = lin.flat_diff
    rows = []                           # one list (a vjp per differentiated leaf) per output element
    for k, out in enumerate(lin.flat_out):
        if not (out.is_floating_point() or out.is_complex()):
            rows += [[flambeau.zeros(p.shape, dtype=out.dtype, device=p.device) for p in flat_diff]] * out.numel()
            continue
        basis = flambeau.eye(out.numel(), dtype=out.dtype, device=out.device)
        for j in range(out.numel()):
            cot = [basis[j].view(out.shape) if i == k else flambeau.zeros_like(o)
                   for i, o in enumerate(lin.flat_out)]
            rows.append(lin.pullback(cot))
    per_output = []
    for k, out in enumerate(lin.flat_out):
        start = sum(o.numel() for o in lin.flat_out[:k])
        blocks = []
        for p, d in enumerate(flat_diff):
            column = [row[p] for row in rows[start:start + out.numel()]]
            jac = flambeau.stack(column) if column else d.new_zeros((0,) + tuple(d.shape))
            blocks.append(lin.level.unwrap(jac.view(tuple(out.shape) + tuple(d.shape))))
        tree = tree_unflatten(blocks, primals_spec)
        per_output.append(tree[0] if isinstance(argnums, int) else tree)
    result = tree_unflatten(per_output, lin.out_spec)
    return (result, lin.aux) if has_aux else result


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None):
    """The Jacobian of func with respect to the args at argnums, by reverse mode (one vjp per output
    element; chunk_size is accepted and only checked, flambeau computing the rows one at a time)."""
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @_wraps(func)
    def wrapper(*args):
        return _jacobian(func, argnums, has_aux, args, "jacrev")
    return wrapper


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian of func with respect to the args at argnums. flambeau has no forward-mode AD: this is
    computed by reverse mode, as jacrev (one vjp per output element), and gives the same values; it
    differs from jacrev only in its error messages and in accepting integer outputs (zero Jacobian).
    randomness is checked as vmap's; func runs once, so it has no further effect."""
    @_wraps(func)
    def wrapper(*args):
        _check_randomness_arg(randomness)
        return _jacobian(func, argnums, has_aux, args, "jacfwd")
    return wrapper


def hessian(func, argnums=0):
    """The Hessian of func's output with respect to the args at argnums: jacfwd(jacrev(func)), both by
    reverse mode in flambeau."""
    return jacfwd(jacrev(func, argnums), argnums)


# -- jvp -------------------------------------------------------------------------------------------------
def _check_dual_primal(p):
    if not (p.is_floating_point() or p.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: {p.dtype}")
    return p


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(func(*primals), J @ tangents)``, the Jacobian-vector product, by the double-vjp trick (flambeau
    has no forward mode): ``g(u) = J^T u`` is built with a graph, then differentiated against ``u`` with
    the tangents as cotangents. Needs func's ops to be twice differentiable."""
    import flambeau
    api = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{api}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals).")
    flat_primals, primals_spec = tree_flatten(primals)
    flat_tangents, tangents_spec = tree_flatten(tangents)
    if primals_spec != tangents_spec:
        raise RuntimeError(f"{api}: Expected primals and tangents to have the same python structure. For example, "
                           "if primals is a tuple of 3 tensors, tangents also must be. Got primals with structure "
                           f"{primals_spec} and tangents with structure {tangents_spec}")
    for flat, name in ((flat_primals, "primals"), (flat_tangents, "tangents")):
        if len(flat) == 0:
            raise RuntimeError(f"{api}: Expected {name} to contain at least one Tensor.")
        for x in flat:
            if not isinstance(x, Tensor):
                raise RuntimeError(f"{api}: Expected {name} to only contain Tensors, got {type(x)}")
    for p, t in zip(flat_primals, flat_tangents):
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                               f"Tensor, this is not supported. Tensor is of size {list(p.shape)} while the given "
                               f"forward gradient is of size {list(t.shape)}.")
    level = _Level()
    with enable_grad():
        diff = [level.differentiable(_check_dual_primal(p)) for p in flat_primals]
        out = func(*tree_unflatten(diff, primals_spec))
        aux = None
        if has_aux:
            out, aux = _check_aux_pair(out, api)
            aux = level.unwrap(aux)
        flat_out, out_spec = tree_flatten(out)
        _check_tensor_outputs(flat_out, api)
        keep = level.needs_graph(flat_out) or (level.outer_grad and any(t.requires_grad for t in flat_tangents))
        pairs = [(d, t) for d, t in zip(diff, flat_tangents) if d.requires_grad]
        diff_out = [o for o in flat_out if o.requires_grad]
        if strict and len(diff_out) < len(flat_out):
            raise RuntimeError("jvp(f, primals, tangents, strict=True): The output of f is independent of the "
                               "inputs. This is not allowed with strict=True.")
        tangents_out = {}
        if pairs and diff_out:
            dummies = [level.leaf(flambeau.zeros_like(o).requires_grad_()) for o in diff_out]
            vjps = _autograd_grad_raw(diff_out, [d for d, _ in pairs], dummies, create_graph=True, allow_unused=True)
            linear = [(g, t) for g, (_, t) in zip(vjps, pairs) if g is not None and g.requires_grad]
            if linear:
                jvps = _autograd_grad_raw([g for g, _ in linear], dummies, [t for _, t in linear],
                                          create_graph=keep, allow_unused=True)
                tangents_out = {id(o): j for o, j in zip(diff_out, jvps) if j is not None}
        flat_tangents_out = [level.unwrap(tangents_out[id(o)]) if id(o) in tangents_out else flambeau.zeros_like(o)
                             for o in flat_out]
        primals_out = level.unwrap(tree_unflatten(flat_out, out_spec))
    result = (primals_out, tree_unflatten(flat_tangents_out, out_spec))
    return result + (aux,) if has_aux else result


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` is the Jacobian-vector product at primals, for
    as many tangents as wanted. func runs once; ``u -> J^T u`` is built with a graph and kept, and each
    jvp_fn call is one backward through it against u (the double-vjp trick: flambeau has no forward mode)."""
    import flambeau
    level = _Level()
    flat_primals, primals_spec = tree_flatten(primals)
    with enable_grad():
        diff = [level.differentiable(p) for p in flat_primals]
        out = func(*tree_unflatten(diff, primals_spec))
        flat_out, out_spec = tree_flatten(out)
        _check_tensor_outputs(flat_out, "linearize(func, *primals)")
        reached = [k for k, o in enumerate(flat_out) if o.requires_grad]
        dummies = [level.leaf(flambeau.zeros_like(flat_out[k]).requires_grad_()) for k in reached]
        vjps = _autograd_grad_raw([flat_out[k] for k in reached], diff, dummies, create_graph=True,
                                  allow_unused=True) if reached else []
        linear = [(g, i) for i, g in enumerate(vjps) if g is not None and g.requires_grad]
    output = tree_unflatten([o.detach() for o in flat_out], out_spec)

    def jvp_fn(*tangents):
        flat_tangents, tangents_spec = tree_flatten(tangents)
        if tangents_spec != primals_spec:
            raise RuntimeError(f"Expected the tangents {tangents_spec} to have the same argspec as the primals "
                               f"{primals_spec}")
        for i, (t, p) in enumerate(zip(flat_tangents, flat_primals)):
            for what in ("shape", "device", "dtype"):
                if getattr(t, what) != getattr(p, what):
                    raise RuntimeError(f"tangent:{i} with {what} {getattr(t, what)} in flattened pytree doesn't match "
                                       f"the {what} {getattr(p, what)} of the corresponding primal.")
        products = {}
        if linear:
            with enable_grad():
                jvps = _autograd_grad_raw([g for g, _ in linear], dummies, [flat_tangents[i] for _, i in linear],
                                          retain_graph=True, allow_unused=True)
            products = {reached[k]: j.detach() for k, j in enumerate(jvps) if j is not None}
        return tree_unflatten([products.get(k, flambeau.zeros_like(o).detach()) for k, o in enumerate(flat_out)],
                              out_spec)
    return output, jvp_fn


# -- vmap ------------------------------------------------------------------------------------------------
def _get_name(func):
    if hasattr(func, "__name__"):
        return func.__name__
    if isinstance(func, functools.partial):
        return f"functools.partial({_get_name(func.func)}, ...)"
    return repr(func)


def _check_randomness_arg(randomness):
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")


def _process_batched_inputs(in_dims, args, func):
    name = _get_name(func)
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a "
                         f"(potentially nested) tuple matching the structure of inputs, got: {type(in_dims)}.")
    if len(args) == 0:
        raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are "
                         "trying to vmap over a function with no inputs. The latter is unsupported.")
    flat_args, args_spec = tree_flatten(args)
    flat_in_dims = _broadcast_to_and_flatten(in_dims, args_spec)
    if flat_in_dims is None:
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the "
                         f"structure of `inputs`. in_dims has structure {tree_flatten(in_dims)[1]} but inputs has "
                         f"structure {args_spec}.")
    for i, (arg, in_dim) in enumerate(zip(flat_args, flat_in_dims)):
        if not isinstance(in_dim, int) and in_dim is not None:
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={in_dim} for an input "
                             "but in_dim must be either an integer dimension or None.")
        if isinstance(in_dim, int) and not isinstance(arg, Tensor):
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={in_dim} for an input "
                             f"but the input is of type {type(arg)}. We cannot vmap over non-Tensor arguments, "
                             "please use None as the respective in_dim")
        if in_dim is not None and not -arg.dim() <= in_dim < arg.dim():
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={in_dim} for some input, "
                             f"but that input is a Tensor of dimensionality {arg.dim()} so expected in_dim to "
                             f"satisfy -{arg.dim()} <= in_dim < {arg.dim()}.")
        if in_dim is not None and in_dim < 0:
            flat_in_dims[i] = in_dim % arg.dim()
    sizes = [arg.size(d) for d, arg in zip(flat_in_dims, flat_args) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    return sizes[0], flat_in_dims, flat_args, args_spec


def _check_out_dims(out_dims, func):
    if isinstance(out_dims, int):
        return
    for d in tree_flatten(out_dims)[0]:
        if not (d is None or isinstance(d, int)):
            raise ValueError(f"vmap({_get_name(func)}, ..., out_dims={out_dims}): `out_dims` must be an int, None "
                             "or a python collection of ints representing where in the outputs the vmapped "
                             "dimension should appear.")


def _rng_states():
    from . import cuda, random
    return random.get_rng_state(), (cuda.get_rng_state_all() if cuda.is_available() else None)


def _set_rng_states(states):
    from . import cuda, random
    random.set_rng_state(states[0])
    if states[1] is not None:
        cuda.set_rng_state_all(states[1])


def _same_tensor(a, b):
    import flambeau
    return a is b or (isinstance(b, Tensor) and a.shape == b.shape and a.dtype == b.dtype
                      and a.device == b.device and flambeau.equal(a, b))


def _stack_outputs(outputs, out_dims, batch_size, func):
    """The per-slice outputs stacked along out_dims (torch's _unwrap_batched); batch_size 0 gets one output,
    of zero-filled slices, whose tensors become empty along out_dims."""
    name = _get_name(func)
    flat_per_slice, specs = zip(*(tree_flatten(o) for o in outputs))
    spec = specs[0]
    if any(s != spec for s in specs[1:]):
        raise ValueError(f"vmap({name}, ...): `{name}` returned outputs of different structures for different "
                         "slices; flambeau runs func once per slice and cannot stack them")

    def incompatible():
        raise ValueError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with the "
                         f"structure of `outputs`. out_dims has structure {tree_flatten(out_dims)[1]} but outputs "
                         f"has structure {spec}.")
    if isinstance(outputs[0], Tensor):
        if isinstance(out_dims, int) or out_dims is None:
            flat_out_dims = [out_dims]
        elif isinstance(out_dims, tuple) and len(out_dims) == 1:
            flat_out_dims = list(out_dims)
        else:
            incompatible()
    else:
        flat_out_dims = _broadcast_to_and_flatten(out_dims, spec)
        if flat_out_dims is None:
            incompatible()
    results = []
    for j, out_dim in enumerate(flat_out_dims):
        column = [flat[j] for flat in flat_per_slice]
        if out_dim is None:
            if isinstance(column[0], Tensor) and not all(_same_tensor(column[0], c) for c in column[1:]):
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is None")
            results.append(column[0])
            continue
        if not isinstance(column[0], Tensor):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(column[0])}. "
                             "Did you mean to set out_dims= to None for output?")
        if batch_size == 0:
            results.append(column[0].unsqueeze(out_dim).narrow(out_dim, 0, 0))
        else:
            import flambeau
            results.append(flambeau.stack(column, dim=out_dim))
    return tree_unflatten(results, spec)


def _vmap_call(func, in_dims, out_dims, randomness, args, kwargs):
    _check_out_dims(out_dims, func)
    batch_size, flat_in_dims, flat_args, args_spec = _process_batched_inputs(in_dims, args, func)
    states = _rng_states() if randomness == "same" else None
    if batch_size == 0:
        probe = [a if d is None else a.new_zeros(tuple(a.shape[:d]) + tuple(a.shape[d + 1:]))
                 for a, d in zip(flat_args, flat_in_dims)]
        return _stack_outputs([func(*tree_unflatten(probe, args_spec), **kwargs)], out_dims, 0, func)
    outputs = []
    for i in range(batch_size):
        if states is not None:          # 'same': every slice draws what the first one drew
            _set_rng_states(states)
        sliced = [a if d is None else a.select(d, i) for a, d in zip(flat_args, flat_in_dims)]
        outputs.append(func(*tree_unflatten(sliced, args_spec), **kwargs))
    return _stack_outputs(outputs, out_dims, batch_size, func)


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """func mapped over the dims in_dims of its inputs (an int, None for an unmapped input, or a tuple
    matching the structure of the positional args), its outputs stacked along out_dims.

    flambeau has no batching rules: func runs once per slice (a Python loop, one call per slice) and the
    results are stacked. randomness: 'different' is what running per slice gives (each slice draws its own
    numbers); 'same' replays the random generators' state before each slice; flambeau cannot tell whether
    func draws random numbers, so 'error' (torch's default, which raises on a random op) behaves as
    'different'. chunk_size is checked and otherwise has no effect. An output with out_dim None must be the
    same in every slice."""
    _check_randomness_arg(randomness)
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @_wraps(func)
    def wrapped(*args, **kwargs):
        return _vmap_call(func, in_dims, out_dims, randomness, args, kwargs)
    return wrapped
