"""Rprop: resilient backpropagation, a per-element step size driven by the gradient's sign."""
from .. import _xp
from .._tensor import _make
from .optimizer import _check_lr, _scalar, _grad_array, _real, _bump, _run_closure, _zeros_like, _use_params
from ._state_utils import _CapturableOptimizer, _reject_differentiable, _scalar_state, _check_capturable

__all__ = ["Rprop"]


class Rprop(_CapturableOptimizer):
    """Rprop.

    Each element keeps its own step size ``s`` (starting at ``lr``) and the previous gradient ``g'``::

        s = min(s * etaplus, max_step)      where g * g' > 0
        s = max(s * etaminus, min_step)     where g * g' < 0, and g = 0 there (no move, no sign memory)
        p = p - sign(g) * s
        g' = g

    Complex parameters are two independent real numbers each. ``lr`` only sets the initial step size,
    so a learning-rate scheduler acts on parameters that have not taken a step yet.

    Args:
        params (iterable): parameters or parameter groups to optimize.
        lr (float): initial step size (default: 1e-2).
        etas (tuple[float, float]): (etaminus, etaplus), the factors that shrink and grow the step
            sizes (default: (0.5, 1.2)).
        step_sizes (tuple[float, float]): minimal and maximal step sizes (default: (1e-6, 50)).
        capturable (bool): keep ``step`` on the parameter's device (cuda only, as in torch).
        foreach (bool, optional): accepted for compatibility; the result is the same either way.
        maximize (bool): maximize the objective (default: False).

    Example:
        >>> import flambeau as torch
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = torch.optim.Rprop([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.detach()
        tensor([ 0.9000, -1.9000])
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        _reject_differentiable("Rprop", differentiable)
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = _run_closure(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            capturable = group["capturable"]
            params = _use_params(group, "Rprop")
            for p in params:
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _scalar_state(0.0, p, capturable)
                    state["prev"] = _zeros_like(p)
                    lr = _scalar(group["lr"])
                    fill = complex(lr, lr) if p.is_complex() else lr
                    state["step_size"] = _make(_xp.array_module(p._data).full_like(p._data, fill))
            if capturable:
                _check_capturable([(p, self.state[p]["step"]) for p in params], "params and state_steps")
            for p in params:
                state = self.state[p]
                state["step"]._data += 1
                g = _real(_grad_array(p, group["maximize"]))
                pd, prev, step_size = _real(p._data), _real(state["prev"]._data), _real(state["step_size"]._data)
                xp = _xp.array_module(pd)
                same = g.dtype.type
                # torch writes the factors into the sign tensor: etas round to the gradient's dtype, NaN stays
                sign = xp.sign(g * prev)
                factor = xp.where(sign > 0, same(etaplus),
                                  xp.where(sign < 0, same(etaminus), xp.where(sign == 0, same(1), sign)))
                step_size *= factor
                xp.clip(step_size, step_size_min, step_size_max, out=step_size)
                g = xp.where(factor == same(etaminus), same(0), g)
                pd -= xp.sign(g) * step_size
                prev[...] = g
                _bump(p)
        return loss
