"""NAdam: Adam with Nesterov momentum."""
from .. import _xp
from ._state_utils import _check_capturable, _scalar_state
from .optimizer import (Optimizer, _check_lr, _check_nonneg, _check_betas, _scalar, _grad_array, _real, _lerp_,
                        _bump, _run_closure, _step_tensor, _zeros_like, _use_params)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam.

    For each parameter ``p`` with gradient ``g`` at step ``t``, with
    ``mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))`` and ``P_t = mu_1 * ... * mu_t``::

        g = g + weight_decay * p              (or p = p * (1 - lr * weight_decay) when decoupled)
        m = lerp(m, g, 1 - beta1)
        v = beta2 * v + (1 - beta2) * g * g
        d = sqrt(v / (1 - beta2**t)) + eps
        p = p - lr * (1 - mu_t) / (1 - P_t) * g / d - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m / d

    ``P_t`` is kept in the state as ``mu_product``, a 0-d tensor of the default scalar dtype.

    Args:
        params (iterable): parameters or parameter groups to optimize.
        lr (float): learning rate (default: 2e-3).
        betas (tuple[float, float]): decay rates (default: (0.9, 0.999)).
        eps (float): added to the denominator (default: 1e-8).
        weight_decay (float): weight decay (default: 0).
        momentum_decay (float): momentum decay (default: 4e-3).
        decoupled_weight_decay (bool): decay the weights directly, as AdamW (default: False).
        maximize (bool): maximize the objective (default: False).

    Example:
        >>> import flambeau as torch
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = torch.optim.NAdam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.detach()
        tensor([ 0.8944, -1.8944])
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check_lr(lr)
        _check_nonneg(eps, "epsilon")
        _check_betas(betas)
        _check_nonneg(weight_decay, "weight_decay")
        _check_nonneg(momentum_decay, "momentum_decay")
        if differentiable:
            raise NotImplementedError("NAdam(differentiable=True) is not supported by flambeau")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    _group_defaults = {"maximize": False, "foreach": None, "capturable": False, "differentiable": False,
                       "decoupled_weight_decay": False}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = _run_closure(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            beta1, beta2 = group["betas"]
            eps, weight_decay = group["eps"], group["weight_decay"]
            momentum_decay, decoupled = group["momentum_decay"], group["decoupled_weight_decay"]
            for p in _use_params(group, "NAdam"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _scalar_state(0.0, p, group["capturable"])
                    state["mu_product"] = _scalar_state(1.0, p, group["capturable"])
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_avg_sq"] = _zeros_like(p)
                step_t, mu_product = state["step"], state["mu_product"]
                if group["capturable"]:
                    _check_capturable([(p, mu_product, step_t)], "params, mu_products and state_steps")
                step_t._data += 1
                step = float(step_t._data)
                bias_correction2 = 1 - beta2 ** step
                g = _grad_array(p, group["maximize"])
                if weight_decay != 0:
                    if decoupled:
                        p._data *= 1 - lr * weight_decay
                    else:
                        g = g + weight_decay * p._data
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
                # the product is accumulated in the state's dtype (float32 by default), as PyTorch does
                mu_product._data *= mu
                prod = float(mu_product._data)
                pd, g = _real(p._data), _real(g)
                xp = _xp.array_module(pd)
                exp_avg, exp_avg_sq = _real(state["exp_avg"]._data), _real(state["exp_avg_sq"]._data)
                _lerp_(exp_avg, g, 1 - beta1)
                exp_avg_sq *= beta2
                exp_avg_sq += ((1 - beta2) * g) * g
                denom = xp.sqrt(exp_avg_sq / bias_correction2)
                denom += eps
                mu_product_next = prod * mu_next
                pd += ((-lr * (1.0 - mu) / (1.0 - prod)) * g) / denom
                pd += (((-lr * mu_next) / (1.0 - mu_product_next)) * exp_avg) / denom
                _bump(p)
        return loss
