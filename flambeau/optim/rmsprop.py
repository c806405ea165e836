"""RMSprop: divide the gradient by a running average of its recent magnitude."""
from .. import _xp
from ._state_utils import _check_capturable, _scalar_state
from .optimizer import (Optimizer, _check_lr, _check_nonneg, _scalar, _grad_array, _real, _lerp_, _bump,
                        _run_closure, _step_tensor, _zeros_like, _use_params)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop.

    For each parameter ``p`` with gradient ``g``::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        a = sqrt(v - m * m) + eps, with m = lerp(m, g, 1 - alpha)   (centered)
        a = sqrt(v) + eps                                             (otherwise)
        b = momentum * b + g / a;  p = p - lr * b                     (momentum > 0)
        p = p - lr * g / a                                            (otherwise)

    Args:
        params (iterable): parameters or parameter groups to optimize.
        lr (float): learning rate (default: 1e-2).
        alpha (float): smoothing constant (default: 0.99).
        eps (float): added to the denominator (default: 1e-8).
        weight_decay (float): L2 penalty (default: 0).
        momentum (float): momentum factor (default: 0).
        centered (bool): normalize by the estimated variance of the gradient (default: False).
        maximize (bool): maximize the objective (default: False).

    Example:
        >>> import flambeau as torch
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = torch.optim.RMSprop([w], lr=0.01)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.detach()
        tensor([ 0.9000, -1.9000])
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_lr(lr)
        _check_nonneg(eps, "epsilon")
        _check_nonneg(momentum, "momentum")
        _check_nonneg(weight_decay, "weight_decay")
        _check_nonneg(alpha, "alpha")
        if differentiable:
            raise NotImplementedError("RMSprop(differentiable=True) is not supported by flambeau")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    _group_defaults = {"momentum": 0, "centered": False, "foreach": None, "maximize": False,
                       "differentiable": False, "capturable": False}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = _run_closure(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            alpha, eps, weight_decay = group["alpha"], group["eps"], group["weight_decay"]
            momentum, centered = group["momentum"], group["centered"]
            for p in _use_params(group, "RMSprop"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _scalar_state(0.0, p, group["capturable"])
                    state["square_avg"] = _zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = _zeros_like(p)
                    if centered:
                        state["grad_avg"] = _zeros_like(p)
                if group["capturable"]:
                    _check_capturable([(p, state["step"])], "params and state_steps")
                state["step"]._data += 1
                g = _grad_array(p, group["maximize"])
                if weight_decay != 0:
                    g = g + weight_decay * p._data
                pd, g = _real(p._data), _real(g)
                xp = _xp.array_module(pd)
                square_avg = _real(state["square_avg"]._data)
                square_avg *= alpha
                square_avg += ((1 - alpha) * g) * g
                if centered:
                    grad_avg = _real(state["grad_avg"]._data)
                    _lerp_(grad_avg, g, 1 - alpha)
                    avg = xp.sqrt(square_avg + (-1 * grad_avg) * grad_avg)
                else:
                    avg = xp.sqrt(square_avg)
                avg += eps
                if momentum > 0:
                    buf = _real(state["momentum_buffer"]._data)
                    buf *= momentum
                    buf += g / avg
                    pd += -lr * buf
                else:
                    pd += (-lr * g) / avg
                _bump(p)
        return loss
