"""Adamax: Adam with the infinity norm in place of the second moment."""
from .. import _xp
from ._state_utils import _check_capturable, _scalar_state
from .optimizer import (Optimizer, _check_lr, _check_nonneg, _check_betas, _scalar, _grad_array, _real, _lerp_,
                        _bump, _run_closure, _step_tensor, _zeros_like, _use_params)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax.

    For each parameter ``p`` with gradient ``g`` at step ``t``::

        g = g + weight_decay * p
        m = lerp(m, g, 1 - beta1)
        u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1**t) * m / u

    Args:
        params (iterable): parameters or parameter groups to optimize.
        lr (float): learning rate (default: 2e-3).
        betas (tuple[float, float]): decay rates (default: (0.9, 0.999)).
        eps (float): added to ``|g|`` (default: 1e-8).
        weight_decay (float): L2 penalty (default: 0).
        maximize (bool): maximize the objective (default: False).

    Example:
        >>> import flambeau as torch
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = torch.optim.Adamax([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.detach()
        tensor([ 0.9000, -1.9000])
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        _check_nonneg(eps, "epsilon")
        _check_betas(betas)
        _check_nonneg(weight_decay, "weight_decay")
        if differentiable:
            raise NotImplementedError("Adamax(differentiable=True) is not supported by flambeau")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    _group_defaults = {"foreach": None, "maximize": False, "differentiable": False, "capturable": False}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = _run_closure(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            beta1, beta2 = group["betas"]
            eps, weight_decay = group["eps"], group["weight_decay"]
            for p in _use_params(group, "Adamax"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _scalar_state(0.0, p, group["capturable"])
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_inf"] = _zeros_like(p)
                step_t = state["step"]
                if group["capturable"]:
                    _check_capturable([(p, step_t)], "params and state_steps")
                step_t._data += 1
                g = _grad_array(p, group["maximize"])
                if weight_decay != 0:
                    g = g + weight_decay * p._data
                pd, g = _real(p._data), _real(g)
                xp = _xp.array_module(pd)
                exp_avg, exp_inf = _real(state["exp_avg"]._data), _real(state["exp_inf"]._data)
                _lerp_(exp_avg, g, 1 - beta1)
                exp_inf *= beta2
                norm = xp.abs(g)
                norm += eps
                xp.maximum(exp_inf, norm, out=exp_inf)
                clr = lr / (1 - beta1 ** float(step_t._data))
                pd += (-clr * exp_avg) / exp_inf
                _bump(p)
        return loss
