"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""
from .. import _xp
from .._tensor import _make
from .optimizer import (Optimizer, _check_lr, _check_nonneg, _scalar, _grad_array, _real, _bump,
                        _run_closure, _step_tensor)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad.

    For each parameter ``p`` with gradient ``g`` at step ``t``::

        g = g + weight_decay * p
        s = s + g * g                         (s starts at initial_accumulator_value)
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    Args:
        params (iterable): parameters or parameter groups to optimize.
        lr (float): learning rate (default: 1e-2).
        lr_decay (float): learning rate decay (default: 0).
        weight_decay (float): L2 penalty (default: 0).
        initial_accumulator_value (float): starting value of the sums of squares (default: 0).
        eps (float): added to the denominator (default: 1e-10).
        maximize (bool): maximize the objective (default: False).

    Example:
        >>> import flambeau as torch
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = torch.optim.Adagrad([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.detach()
        tensor([ 0.9000, -1.9000])
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_lr(lr)
        _check_nonneg(lr_decay, "lr_decay")
        _check_nonneg(weight_decay, "weight_decay")
        _check_nonneg(initial_accumulator_value, "initial_accumulator_value")
        _check_nonneg(eps, "epsilon")
        if differentiable:
            raise NotImplementedError("Adagrad(differentiable=True) is not supported by flambeau")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        # Adagrad creates its state eagerly, for every parameter
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = _step_tensor()
                init = initial_accumulator_value
                if p.is_complex():
                    init = complex(init, init)
                xp = _xp.array_module(p._data)
                state["sum"] = _make(_xp.full(xp, p._data.shape, init, p._data.dtype))

    _group_defaults = {"foreach": None, "maximize": False, "differentiable": False, "fused": None}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = _run_closure(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            lr_decay, eps, weight_decay = group["lr_decay"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                step_t = state["step"]
                step_t._data += 1
                step = float(step_t._data)
                g = _grad_array(p, group["maximize"])
                if weight_decay != 0:
                    g = g + weight_decay * p._data
                clr = lr / (1 + (step - 1) * lr_decay)
                pd, g = _real(p._data), _real(g)
                xp = _xp.array_module(pd)
                state_sum = _real(state["sum"]._data)
                state_sum += (1 * g) * g
                std = xp.sqrt(state_sum)
                std += eps
                pd += (-clr * g) / std
                _bump(p)
        return loss
