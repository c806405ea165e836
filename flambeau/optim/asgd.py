"""ASGD: averaged stochastic gradient descent."""
import numpy as np

from .. import _xp
from .optimizer import (_check_lr, _check_nonneg, _scalar, _grad_array, _real, _bump, _run_closure, _step_tensor,
                        _zeros_like, _use_params)
from ._state_utils import _CapturableOptimizer, _reject_differentiable, _scalar_state, _check_capturable

__all__ = ["ASGD"]


class ASGD(_CapturableOptimizer):
    """Averaged stochastic gradient descent.

    For each parameter ``p`` with gradient ``g`` at step ``t``, with step size ``eta`` (``lr`` at first)
    and averaging weight ``mu`` (1 at first)::

        g = g + weight_decay * p
        p = p * (1 - lambd * eta) - eta * g
        ax = ax + mu * (p - ax)                   (the running average of the parameter)
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)

    ``step``, ``eta`` and ``mu`` are 0-d tensors on the parameter's device, as in torch. Without
    ``capturable`` their values are read by the host, as torch does; with it (cuda only) everything
    stays on the device. ``foreach=True`` follows torch's multi-tensor arithmetic (``eta`` and ``mu``
    computed as tensors, ``p = p - eta * (g + lambd * p)``), which rounds differently; ``foreach=None``
    is the single-tensor arithmetic on every device (torch picks the multi-tensor one on cuda).

    Args:
        params (iterable): parameters or parameter groups to optimize.
        lr (float): learning rate (default: 1e-2).
        lambd (float): decay term (default: 1e-4).
        alpha (float): power of the eta update (default: 0.75).
        t0 (float): the step at which averaging starts (default: 1e6).
        weight_decay (float): L2 penalty (default: 0).
        foreach (bool, optional): torch's multi-tensor arithmetic (default: None, the single-tensor one).
        maximize (bool): maximize the objective (default: False).
        capturable (bool): keep every computation on the device (cuda only, as in torch).

    Example:
        >>> import flambeau as torch
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = torch.optim.ASGD([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.detach()
        tensor([ 0.8000, -1.6000])
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        _check_nonneg(weight_decay, "weight_decay")
        _reject_differentiable("ASGD", differentiable)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    # torch keeps all three on the parameter's device, capturable or not
    _scalar_keys = ("step", "eta", "mu")

    @staticmethod
    def _scalars_on_device(group):
        return True

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = _run_closure(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            lambd, weight_decay = group["lambd"], group["weight_decay"]
            capturable, foreach = group["capturable"], bool(group["foreach"])
            params = _use_params(group, "ASGD")
            for p in params:
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _scalar_state(0.0, p, True)
                    state["eta"] = _scalar_state(float(lr), p, True)
                    state["mu"] = _scalar_state(1.0, p, True)
                    state["ax"] = _zeros_like(p)
            if capturable:
                _check_capturable([(p, self.state[p]["mu"], self.state[p]["eta"], self.state[p]["step"])
                                   for p in params], "params, mus, etas, and state_steps", supports_xla=not foreach)
            for p in params:
                state = self.state[p]
                step_t, eta, mu = state["step"]._data, state["eta"]._data, state["mu"]._data
                pd, ax = _real(p._data), _real(state["ax"]._data)
                g = _real(_grad_array(p, group["maximize"]))
                step_t += 1
                if foreach:
                    # p - eta * (g + weight_decay * p + lambd * p), and the average always by mu
                    direction = g + weight_decay * pd if weight_decay != 0 else g
                    direction = direction + lambd * pd
                    pd += (-1 * direction) * eta
                    ax += (pd - ax) * mu
                else:
                    if weight_decay != 0:
                        g = g + weight_decay * pd
                    if capturable:
                        pd *= 1 - lambd * eta
                        pd += (-1 * g) * eta
                        ax += (pd - ax) * mu
                    else:
                        eta_value = float(eta)
                        pd *= 1 - lambd * eta_value
                        pd += -eta_value * g
                        if float(mu) != 1:
                            ax += (pd - ax) * mu
                        else:
                            ax[...] = pd
                _bump(p)
                self._next_eta_mu(group, lr, step_t, eta, mu, capturable, foreach)
        return loss

    @staticmethod
    def _next_eta_mu(group, lr, step_t, eta, mu, capturable, foreach):
        """eta = lr / (1 + lambd * lr * t) ** alpha and mu = 1 / max(1, t - t0), each rounded the way
        torch's chosen path rounds it: Python floats read by the host, or 0-d tensor arithmetic."""
        lambd, alpha, t0 = group["lambd"], group["alpha"], group["t0"]
        if capturable or foreach:
            eta[...] = _eta_from_step_tensor(lr, lambd, alpha, step_t, steps_first=capturable and foreach)
        else:
            eta[...] = _default_scalar(lr / ((1 + lambd * lr * float(step_t)) ** alpha))
        if capturable:
            xp = _xp.array_module(step_t)
            mu[...] = xp.reciprocal(xp.maximum(step_t - t0, step_t.dtype.type(1)))
        else:
            mu[...] = _default_scalar(1 / max(1, float(step_t) - t0))


def _eta_from_step_tensor(lr, lambd, alpha, step_t, steps_first):
    """eta from the 0-d step tensor, in its dtype: ``lr / (1 + lambd * lr * step) ** alpha`` as a tensor
    expression (a Python ``lr`` divides as ``reciprocal() * lr``), or torch's multi-tensor capturable
    sequence ``step * lambd * lr + 1``, power, reciprocal, times lr."""
    base = (step_t * lambd) * lr + 1 if steps_first else 1 + (lambd * lr) * step_t
    inverse = _pow_like_torch(base, alpha)
    if steps_first or not isinstance(lr, np.generic):
        return _xp.array_module(inverse).reciprocal(inverse) * lr
    return lr / inverse


def _default_scalar(value):
    """A host value as torch.as_tensor stores it: a Python float in the default dtype, a Tensor's
    value (a NumPy scalar from ``_scalar``) in its own dtype."""
    if isinstance(value, np.generic):
        return value
    return _step_tensor(value)._data


def _pow_like_torch(base, exponent):
    """A float tensor raised to a Python scalar: torch's CPU kernel computes it in double and rounds
    back, which can differ by an ulp from a float32 power."""
    return (base.astype(np.float64) ** exponent).astype(base.dtype)
