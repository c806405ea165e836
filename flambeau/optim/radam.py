"""RAdam: Adam with a rectified adaptive learning rate."""
from .. import _xp
from ._state_utils import _check_capturable, _scalar_state
from .optimizer import (Optimizer, _check_lr, _check_nonneg, _check_betas, _scalar, _grad_array, _real, _lerp_,
                        _bump, _run_closure, _step_tensor, _zeros_like, _use_params)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam.

    For each parameter ``p`` with gradient ``g`` at step ``t``, with
    ``rho_inf = 2 / (1 - beta2) - 1`` and ``rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)``::

        g = g + weight_decay * p              (or p = p * (1 - lr * weight_decay) when decoupled)
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        p = p - lr * m_hat * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r_t    (rho_t > 5)
        p = p - lr * m_hat                                                  (otherwise)

    where ``r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))``.

    Args:
        params (iterable): parameters or parameter groups to optimize.
        lr (float): learning rate (default: 1e-3).
        betas (tuple[float, float]): decay rates (default: (0.9, 0.999)).
        eps (float): added to the denominator (default: 1e-8).
        weight_decay (float): weight decay (default: 0).
        decoupled_weight_decay (bool): decay the weights directly, as AdamW (default: False).
        maximize (bool): maximize the objective (default: False).

    Example:
        >>> import flambeau as torch
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = torch.optim.RAdam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.detach()
        tensor([ 0.8000, -1.6000])
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check_lr(lr)
        _check_nonneg(eps, "epsilon")
        _check_betas(betas)
        _check_nonneg(weight_decay, "weight_decay")
        if differentiable:
            raise NotImplementedError("RAdam(differentiable=True) is not supported by flambeau")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    _group_defaults = {"foreach": None, "maximize": False, "differentiable": False,
                       "decoupled_weight_decay": False, "capturable": False}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = _run_closure(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            beta1, beta2 = group["betas"]
            eps, weight_decay = group["eps"], group["weight_decay"]
            decoupled = group["decoupled_weight_decay"]
            for p in _use_params(group, "RAdam"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _scalar_state(0.0, p, group["capturable"])
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_avg_sq"] = _zeros_like(p)
                step_t = state["step"]
                if group["capturable"]:
                    _check_capturable([(p, step_t)], "params and state_steps")
                step_t._data += 1
                step = float(step_t._data)
                g = _grad_array(p, group["maximize"])
                if weight_decay != 0:
                    if decoupled:
                        p._data *= 1 - lr * weight_decay
                    else:
                        g = g + weight_decay * p._data
                pd, g = _real(p._data), _real(g)
                xp = _xp.array_module(pd)
                exp_avg, exp_avg_sq = _real(state["exp_avg"]._data), _real(state["exp_avg_sq"]._data)
                _lerp_(exp_avg, g, 1 - beta1)
                exp_avg_sq *= beta2
                exp_avg_sq += ((1 - beta2) * g) * g
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                bias_corrected_exp_avg = exp_avg / bias_correction1
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
                if rho_t > 5.0:
                    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                    sq = xp.sqrt(exp_avg_sq)
                    sq += eps
                    adaptive_lr = (bias_correction2 ** 0.5) / sq
                    pd += -1.0 * (bias_corrected_exp_avg * lr * adaptive_lr * rect)
                else:
                    pd += -1.0 * (bias_corrected_exp_avg * lr)
                _bump(p)
        return loss
