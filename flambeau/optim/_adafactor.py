"""Adafactor: Adam-like steps with a factored (row and column) second-moment estimate."""
import math

from .. import _dtype, _xp
from .optimizer import Optimizer, _scalar, _grad_array, _lerp_, _bump, _run_closure, _step_tensor, \
    _zeros_like
from .._tensor import _make
from ._state_utils import _check_lr_bound, _real_params_with_grad, _steps_as_tensors

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor, with torch's choices of where ``lr`` and ``eps1`` enter.

    For each parameter ``p`` with gradient ``g`` at step ``t``, with ``w = t ** beta2_decay``,
    ``rho = min(lr, 1 / sqrt(t))`` and ``a = max(eps2, RMS(p)) * rho``::

        p = p * (1 - lr * weight_decay)
        R = lerp(R, mean(g * g, last dim), w);  C = lerp(C, mean(g * g, next-to-last dim), w)
        V = R @ C / max(mean(R, next-to-last dim), eps1)      (g with 2 or more dims)
        V = lerp(V, g * g, w)                                  (vectors and scalars)
        U = g / sqrt(max(V, eps1 * eps1))
        p = p - a * U / max(1, RMS(U) / d)

    ``eps1=None`` is the machine epsilon of the group's first parameter dtype. The RMS values are read
    by the host, as torch does. Complex parameters are refused, as by torch.

    Args:
        params (iterable): parameters or parameter groups to optimize.
        lr (float): maximum relative step size and weight-decay factor (default: 1e-2).
        beta2_decay (float): the decay rate of beta2 (default: -0.8).
        eps (tuple[float | None, float]): (eps1, eps2) (default: (None, 1e-3)).
        d (float): clipping threshold of the update's RMS (default: 1.0).
        weight_decay (float): decoupled weight decay (default: 0.0).
        foreach (bool, optional): accepted for compatibility; same result up to rounding.
        maximize (bool): maximize the objective (default: False).

    Example:
        >>> import flambeau as torch
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = torch.optim.Adafactor([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.detach()
        tensor([ 0.8419, -1.8419])
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        _check_lr_bound(lr)
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    _group_defaults = {"foreach": None}

    def __setstate__(self, state):
        super().__setstate__(state)
        _steps_as_tensors(self)

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = _run_closure(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            eps1, eps2 = group["eps"]
            beta2_decay, d, weight_decay = group["beta2_decay"], group["d"], group["weight_decay"]
            params = _real_params_with_grad(group, "Adafactor")
            for p in params:
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    if p.grad.dim() > 1:
                        xp = _xp.array_module(p._data)
                        state["row_var"] = _make(xp.zeros(p.shape[:-1] + (1,), dtype=p._data.dtype))
                        state["col_var"] = _make(xp.zeros(p.shape[:-2] + (1, p.shape[-1]), dtype=p._data.dtype))
                    else:
                        state["variance"] = _zeros_like(p)
            for p in params:
                state = self.state[p]
                if eps1 is None:          # kept for the group's later parameters, as torch does
                    eps1 = _dtype.finfo(p.dtype).eps
                step_t = state["step"]
                step_t._data += 1
                step = float(step_t._data)
                pd = p._data
                g = _grad_array(p, group["maximize"])
                xp = _xp.array_module(pd)
                beta2_weight = step ** beta2_decay
                rho = min(lr, 1 / step ** 0.5)
                alpha = max(eps2, _norm(pd) / math.sqrt(pd.size)) * rho
                if weight_decay != 0:
                    pd *= 1 - lr * weight_decay
                if g.ndim > 1:
                    row_var, col_var = state["row_var"]._data, state["col_var"]._data
                    # the mean of g * g as torch takes it: the norm along the dim, squared, over its size
                    _lerp_(row_var, _norm(g, axis=-1) ** 2 / g.shape[-1], beta2_weight)
                    _lerp_(col_var, _norm(g, axis=-2) ** 2 / g.shape[-2], beta2_weight)
                    var_estimate = xp.matmul(row_var, col_var)
                    var_estimate /= xp.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
                else:
                    variance = state["variance"]._data
                    _lerp_(variance, g * g, beta2_weight)
                    var_estimate = variance.copy()
                update = 1 / xp.sqrt(xp.maximum(var_estimate, eps1 * eps1))
                update *= g
                denom = max(1.0, _norm(update) / (math.sqrt(update.size) * d))
                pd += (-alpha / denom) * update
                _bump(p)
        return loss


def _norm(a, axis=None):
    """The 2-norm of a whole array (a host float, as torch's ``.item()`` gives) or along one axis."""
    xp = _xp.array_module(a)
    if axis is None:
        return float(xp.sqrt(xp.sum(a * a)))
    return xp.sqrt(xp.sum(a * a, axis=axis, keepdims=True))
