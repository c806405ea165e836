"""Option checks and state placement shared by Rprop, ASGD, Adafactor and Muon.

The update-rule helpers (real views, lerp, closures) live in ``optimizer.py``; this module adds what
these optimizers need beyond them: torch's ``capturable`` contract (step counters kept on the
parameter's device, and an AssertionError for devices that cannot capture), and the conversion of
step counters saved as plain numbers.
"""
from .. import _dtype
from .._tensor import Tensor
from .optimizer import Optimizer, _step_tensor

# the device types torch lets keep optimizer state on the device (capturable=True)
_CAPTURABLE_DEVICES = ["cuda", "xpu", "hpu", "privateuseone", "xla"]


class _CapturableOptimizer(Optimizer):
    """Rprop's and ASGD's common ground: torch's flags, and state scalars (``_scalar_keys``) that
    ``capturable`` groups keep on the parameter's device (``_scalars_on_device`` says where else)."""

    _group_defaults = {"foreach": None, "maximize": False, "differentiable": False, "capturable": False}
    _scalar_keys = ("step",)

    @staticmethod
    def _scalars_on_device(group):
        return group["capturable"]

    def __setstate__(self, state):
        super().__setstate__(state)
        _steps_as_tensors(self, self._scalar_keys, self._scalars_on_device)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        _capturable_steps_on_device(self)


def _real_params_with_grad(group, name):
    """The parameters of a group that have a gradient, refusing complex ones and sparse gradients
    (Adafactor and Muon), with torch's errors."""
    params = []
    for p in group["params"]:
        if p.grad is None:
            continue
        if p.is_complex():
            raise RuntimeError(f"{name} does not support complex parameters")
        if getattr(p.grad, "is_sparse", False):
            raise RuntimeError(f"{name} does not support sparse gradients")
        params.append(p)
    return params


def _reject_differentiable(name, differentiable):
    # torch records the update in the autograd graph then; flambeau updates arrays outside it
    if differentiable:
        raise NotImplementedError(f"{name}(differentiable=True) is not supported by flambeau")


def _check_lr_bound(lr):
    """The learning-rate check in Adafactor's and Muon's wording."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Learning rate should be >= 0 but is: {lr}")


def _scalar_state(value, p, on_device):
    """A 0-d tensor of the default scalar dtype, on the CPU or on ``p``'s device."""
    t = _step_tensor(value)
    return t.to(p.device) if on_device else t


def _check_capturable(rows, what, supports_xla=True):
    """Each row is a parameter followed by its state scalars: all on one device that can capture."""
    devices = _CAPTURABLE_DEVICES if supports_xla else _CAPTURABLE_DEVICES[:-1]
    for p, *scalars in rows:
        kind = p.device.type
        if kind not in devices or any(s.device.type != kind for s in scalars):
            raise AssertionError(f"If capturable=True, {what} must be on supported devices: {devices}.")


def _steps_as_tensors(optimizer, keys=("step",), on_device=lambda group: False):
    """State scalars saved as Python numbers (older checkpoints) become 0-d tensors again."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            for key in keys:
                if state and key in state and not isinstance(state[key], Tensor):
                    state[key] = _scalar_state(float(state[key]), p, on_device(group))


def _capturable_steps_on_device(optimizer):
    """What torch's load_state_dict does for capturable groups: ``step`` becomes float32 on the
    parameter's device (other groups keep it where it was saved)."""
    for group in optimizer.param_groups:
        if not group.get("capturable", False):
            continue
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if isinstance(state.get("step"), Tensor):
                state["step"] = state["step"].to(dtype=_dtype.float32, device=p.device)
