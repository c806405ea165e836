"""Optimizer: the base class of every optimizer in ``flambeau.optim``.

Note [Optimizer updates on arrays]
An optimizer step is not recorded by autograd (PyTorch runs it under ``no_grad``), so
the update rules here work on the engine arrays directly: ``p._data`` is updated in
place with NumPy/CuPy in-place operators, and the parameter's version counter is bumped
once per step, exactly as one in-place tensor op would. This keeps a step to one loop
over the parameters with one fused expression each, and keeps the order of floating
point operations equal to PyTorch's single-tensor kernels (``lerp_``, ``addcmul_``,
``addcdiv_``), so trajectories agree to rounding.
"""
import functools
import warnings
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain

import numpy as np

from .. import _dtype, _xp
from .._tensor import Tensor, _make
from ..autograd import grad_mode
from ..autograd.function import _Handle

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]


class _RequiredParameter:
    """Singleton class representing a required parameter for an Optimizer."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

_global_optimizer_pre_hooks = OrderedDict()
_global_optimizer_post_hooks = OrderedDict()


def register_optimizer_step_pre_hook(hook):
    """Register a pre hook common to all optimizers: ``hook(optimizer, args, kwargs) -> None or (args, kwargs)``."""
    return _Handle(_global_optimizer_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    """Register a post hook common to all optimizers: ``hook(optimizer, args, kwargs) -> None``."""
    return _Handle(_global_optimizer_post_hooks, hook)


def _refuse_inference_parameters(optimizer):
    """Before a step writes any parameter: PyTorch refuses to update an inference tensor (one made in
    inference mode, Note [Inference tensors]) outside inference mode."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p._grad is not None and type(p._version_counter) is grad_mode._InferenceVersion:
                raise RuntimeError(grad_mode.INPLACE_ON_INFERENCE_TENSOR)


def _wrap_step(step, grad_off):
    """Run step hooks around ``step``; flambeau's own optimizers also run it with grad mode off
    (their closures re-enable it), while a user's subclass keeps the caller's mode, as in PyTorch."""

    @functools.wraps(step)
    def wrapper(*args, **kwargs):
        # as in PyTorch, hooks see the optimizer itself as args[0], and may replace it with the rest
        self = args[0]
        if self._optimizer_step_pre_hooks or _global_optimizer_pre_hooks:
            for hook in chain(_global_optimizer_pre_hooks.values(), self._optimizer_step_pre_hooks.values()):
                result = hook(self, args, kwargs)
                if result is not None:
                    if isinstance(result, tuple) and len(result) == 2:
                        args, kwargs = result
                    else:
                        raise RuntimeError(
                            f"{step} must return None or a tuple of (new_args, new_kwargs), but got {result}.")
        if grad_off and grad_mode._ever_entered[0] and not grad_mode._inference[0]:
            _refuse_inference_parameters(self)
        if grad_off:
            prev = grad_mode._enabled[0]
            grad_mode._enabled[0] = False
            try:
                out = step(*args, **kwargs)
            finally:
                grad_mode._enabled[0] = prev
        else:
            out = step(*args, **kwargs)
        if self._optimizer_step_post_hooks or _global_optimizer_post_hooks:
            for hook in chain(self._optimizer_step_post_hooks.values(), _global_optimizer_post_hooks.values()):
                hook(self, args, kwargs)
        return out

    wrapper._flambeau_step_wrapped = True
    return wrapper


def _typename(obj):
    if isinstance(obj, Tensor):
        return obj.type()
    module = type(obj).__module__
    if module in ("", "builtins"):
        return type(obj).__qualname__
    return module + "." + type(obj).__qualname__


class Optimizer:
    """Base class for all optimizers.

    Args:
        params (iterable): an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts
            (parameter groups, each with ``"params"`` and optional per-group options).
        defaults (dict): default values of the options, used by groups that do not set them.
    """

    # group options filled in when unpickling an optimizer saved before they existed
    _group_defaults = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_flambeau_step_wrapped", False):
            cls.step = _wrap_step(step, grad_off=cls.__module__.startswith("flambeau.optim."))

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()

        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got " + _typename(params))

        self.state = defaultdict(dict)
        self.param_groups = []

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks", "_optimizer_load_state_dict_post_hooks"):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self.defaults.setdefault("differentiable", False)
        for group in self.param_groups:          # options an older pickled optimizer may lack
            for key, value in self._group_defaults.items():
                group.setdefault(key, value)

    def __repr__(self):
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += "\n"
            s += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        s += ")"
        return s

    # -- parameter groups -----------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a parameter group (a dict with ``"params"`` and optional options) to ``param_groups``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")

        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)

        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) == len(tensors):
                param_group["param_names"] = names
            else:
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")

        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is " + _typename(param))
            if not self.defaults.get("differentiable", None) and not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)

        params = param_group["params"]
        if len(params) != len(set(params)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)

        param_set = set()
        for group in self.param_groups:
            param_set.update(set(group["params"]))
            if ("param_names" in param_group) != ("param_names" in group):
                current = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {current} to the optimizer")
        if not param_set.isdisjoint(set(param_group["params"])):
            raise ValueError("some parameters appear in more than one parameter group")

        self.param_groups.append(param_group)

    # -- gradients and steps --------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all optimized tensors (to None by default, else to zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g._data.fill(0)
                    g._version_counter[0] += 1

    def step(self, closure=None):
        """Perform a single optimization step (subclasses implement the update rule)."""
        raise NotImplementedError       # bare, as PyTorch's abstract step raises it

    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None or (args, kwargs)``, run before each ``step``."""
        return _Handle(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None``, run after each ``step``."""
        return _Handle(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        return _register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        return _register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        return _register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        return _register(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # -- state dicts ----------------------------------------------------------------------
    def state_dict(self):
        """The optimizer state as ``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``.

        Parameters are replaced by their position in the order of ``param_groups``; the
        state tensors are returned by reference, as PyTorch does (deepcopy to snapshot).
        """
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)

        param_mappings = {}
        start_index = 0

        def pack_group(group):
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start_index):
                param_mappings.setdefault(id(p), i)
            packed["params"] = [param_mappings[id(p)] for p in group["params"]]
            start_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(param_mappings[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        state_dict = {"state": packed_state, "param_groups": param_groups}

        for hook in self._optimizer_state_dict_post_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict):
        """Load a state produced by ``state_dict()`` (of this optimizer class, same group sizes)."""
        state_dict = state_dict.copy()
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result

        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")

        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        # capturable and fused groups keep their step counters as float32 on the parameter's device
        step_on_device = {pid for g in saved_groups if g.get("capturable") or g.get("fused") for pid in g["params"]}

        def cast(param, value, key=None, on_device=False):
            """Move state tensors to the parameter's device (and floating dtype, except ``step``)."""
            if isinstance(value, Tensor):
                if key == "step":
                    return value.to(dtype=_dtype.float32, device=param.device) if on_device else value
                if param.is_floating_point():
                    return value.to(dtype=param.dtype, device=param.device)
                return value.to(device=param.device)
            if isinstance(value, dict):
                return {k: cast(param, v, key=k, on_device=on_device) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v, on_device=k in step_on_device)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})

        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)


def _register(table, hook, prepend):
    handle = _Handle(table, hook)
    if prepend:
        table.move_to_end(handle.id, last=False)
    return handle


# -- helpers shared by the update rules (see Note [Optimizer updates on arrays]) -----------
def _scalar(x):
    """A hyperparameter as a number; a 1-element Tensor (say lr) becomes a NumPy scalar of its dtype,
    so that arithmetic on it rounds as PyTorch's arithmetic on the 0-d tensor does (float32 by default)."""
    if not isinstance(x, Tensor):
        return x
    return _xp.to_host(x._data).reshape(())[()]


def _check_lr(lr):
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_betas(betas):
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


def _check_nonneg(value, what):
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what} value: {value}")


def _step_tensor(value=0.0):
    """The per-parameter step counter: a 0-d CPU tensor of the default scalar dtype, as PyTorch keeps it."""
    dt = np.float64 if _dtype.get_default_dtype() is _dtype.float64 else np.float32
    return _make(np.array(value, dtype=dt))


def _zeros_like(p):
    return _make(_xp.array_module(p._data).zeros_like(p._data))


def _real(a):
    """The array itself, or for complex arrays a real view with a trailing (re, im) axis."""
    if a.dtype.kind != "c":
        return a
    return _xp.array_module(a).atleast_1d(a).view(a.real.dtype)


def _grad_array(p, maximize):
    """The gradient's array (negated, as a new array, when maximizing); never written to."""
    g = p.grad._data
    if g.dtype != p._data.dtype:
        g = g.astype(p._data.dtype)
    return -g if maximize else g


def _lerp_(a, b, w):
    """a.lerp_(b, w) with PyTorch's formula: a + w*(b-a) for |w| < 0.5, else b - (b-a)*(1-w)."""
    if abs(w) < 0.5:
        a += w * (b - a)
    else:
        d = b - a
        d *= 1 - w
        _xp.array_module(a).subtract(b, d, out=a)


def _bump(p):
    p._version_counter[0] += 1


def _use_params(group, sparse_name=None):
    """The parameters of a group that have a gradient."""
    out = []
    for p in group["params"]:
        if p.grad is not None:
            if sparse_name is not None and getattr(p.grad, "is_sparse", False):
                raise RuntimeError(f"{sparse_name} does not support sparse gradients")
            out.append(p)
    return out


def _run_closure(closure):
    if closure is None:
        return None
    prev = grad_mode._enabled[0]
    grad_mode._enabled[0] = True
    try:
        return closure()
    finally:
        grad_mode._enabled[0] = prev
