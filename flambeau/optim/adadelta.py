"""Adadelta: an adaptive learning rate from running averages of squared gradients and updates."""
from .. import _xp
from ._state_utils import _check_capturable, _scalar_state
from .optimizer import (Optimizer, _check_lr, _check_nonneg, _scalar, _grad_array, _real, _bump,
                        _run_closure, _step_tensor, _zeros_like, _use_params)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta.

    For each parameter ``p`` with gradient ``g``::

        g = g + weight_decay * p
        v = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        p = p - lr * delta

    Args:
        params (iterable): parameters or parameter groups to optimize.
        lr (float): scale of the update (default: 1.0).
        rho (float): decay of the running averages (default: 0.9).
        eps (float): added inside the square roots (default: 1e-6).
        weight_decay (float): L2 penalty (default: 0).
        maximize (bool): maximize the objective (default: False).

    Example:
        >>> import flambeau as torch
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = torch.optim.Adadelta([w])
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.detach()
        tensor([ 0.9968, -1.9968])
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonneg(eps, "epsilon")
        _check_nonneg(weight_decay, "weight_decay")
        if differentiable:
            raise NotImplementedError("Adadelta(differentiable=True) is not supported by flambeau")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    _group_defaults = {"foreach": None, "maximize": False, "differentiable": False, "capturable": False}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = _run_closure(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            rho, eps, weight_decay = group["rho"], group["eps"], group["weight_decay"]
            for p in _use_params(group, "Adadelta"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _scalar_state(0.0, p, group["capturable"])
                    state["square_avg"] = _zeros_like(p)
                    state["acc_delta"] = _zeros_like(p)
                if group["capturable"]:
                    _check_capturable([(p, state["step"])], "params and state_steps", supports_xla=False)
                state["step"]._data += 1
                g = _grad_array(p, group["maximize"])
                if weight_decay != 0:
                    g = g + weight_decay * p._data
                g = _real(g)
                xp = _xp.array_module(g)
                square_avg = _real(state["square_avg"]._data)
                acc_delta = _real(state["acc_delta"]._data)
                square_avg *= rho
                square_avg += ((1 - rho) * g) * g
                std = xp.sqrt(square_avg + eps)
                delta = xp.sqrt(acc_delta + eps)
                delta /= std
                delta *= g
                acc_delta *= rho
                acc_delta += ((1 - rho) * delta) * delta
                pd = _real(p._data)
                pd += -lr * delta
                _bump(p)
        return loss
