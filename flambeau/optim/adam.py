"""Adam (and, with decoupled weight decay, AdamW)."""
from numpy import ndarray as _ndarray

from .. import _xp
from ..cuda import _kernels as _cuda_kernels
from .._tensor import Tensor
from ._state_utils import _check_capturable, _scalar_state
from .optimizer import (Optimizer, _check_lr, _check_nonneg, _check_betas, _scalar, _grad_array, _real, _lerp_,
                        _bump, _run_closure, _step_tensor, _zeros_like, _use_params)

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam: adaptive moment estimation.

    For each parameter ``p`` with gradient ``g`` at step ``t``::

        g = g + weight_decay * p            (or p = p * (1 - lr * weight_decay) when decoupled)
        m = lerp(m, g, 1 - beta1)
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)               (amsgrad; then used instead of v)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Args:
        params (iterable): parameters or parameter groups to optimize.
        lr (float): learning rate (default: 1e-3).
        betas (tuple[float, float]): decay rates of the moment estimates (default: (0.9, 0.999)).
        eps (float): added to the denominator (default: 1e-8).
        weight_decay (float): weight decay (default: 0).
        amsgrad (bool): use the maximum of past second moments (default: False).
        maximize (bool): maximize the objective (default: False).
        decoupled_weight_decay (bool): AdamW's decay of the weights (default: False).

    Example:
        >>> import flambeau as torch
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = torch.optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.detach()
        tensor([ 0.9000, -1.9000])
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        _check_lr(lr)
        _check_nonneg(eps, "epsilon")
        _check_betas(betas)
        _check_nonneg(weight_decay, "weight_decay")
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        for i, b in enumerate(betas):
            if isinstance(b, Tensor) and b.numel() != 1:
                raise ValueError(f"Tensor betas[{i}] must be 1-element")
        if differentiable:
            raise NotImplementedError(f"{type(self).__name__}(differentiable=True) is not supported by flambeau")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    _group_defaults = {"amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                       "differentiable": False, "decoupled_weight_decay": False, "fused": None}

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state.get(p, {})
                if st and not isinstance(st["step"], Tensor):
                    st["step"] = _step_tensor(float(st["step"]))

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = _run_closure(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            beta1, beta2 = (_scalar(b) for b in group["betas"])
            eps, weight_decay = group["eps"], group["weight_decay"]
            amsgrad, decoupled = group["amsgrad"], group["decoupled_weight_decay"]
            on_device = {}          # (dtype, step) -> the parameters one GPU launch updates
            for p in _use_params(group, "Adam"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _scalar_state(0.0, p, group["capturable"])
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_avg_sq"] = _zeros_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = _zeros_like(p)
                step_t = state["step"]
                if group["capturable"]:
                    _check_capturable([(p, step_t)], "params and state_steps")
                step_t._data += 1
                pd = p._data
                if self._on_device(p, state, group, amsgrad, on_device):
                    continue
                g = _grad_array(p, group["maximize"])
                if weight_decay != 0:
                    if decoupled:
                        pd *= 1 - lr * weight_decay
                    else:
                        g = g + weight_decay * pd
                pd, g = _real(pd), _real(g)
                exp_avg, exp_avg_sq = _real(state["exp_avg"]._data), _real(state["exp_avg_sq"]._data)
                xp = _xp.array_module(pd)

                _lerp_(exp_avg, g, 1 - beta1)
                exp_avg_sq *= beta2
                exp_avg_sq += ((1 - beta2) * g) * g

                step = float(step_t._data)
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                step_size = lr / bias_correction1
                bias_correction2_sqrt = bias_correction2 ** 0.5
                if amsgrad:
                    max_sq = _real(state["max_exp_avg_sq"]._data)
                    xp.maximum(max_sq, exp_avg_sq, out=max_sq)
                    denom = xp.sqrt(max_sq) / bias_correction2_sqrt
                else:
                    denom = xp.sqrt(exp_avg_sq) / bias_correction2_sqrt
                denom += eps
                pd += (-step_size * exp_avg) / denom
                _bump(p)
            for (_, step), params in on_device.items():
                _cuda_kernels.adam_update(params, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                                          decoupled=decoupled, amsgrad=amsgrad, maximize=group["maximize"], step=step)
        return loss

    @staticmethod
    def _on_device(p, state, group, amsgrad, on_device):
        """Queue p's step for the group's GPU kernel launches when it runs on the GPU (else False)."""
        pd, gd = p._data, p.grad._data
        if type(pd) is _ndarray or group["capturable"]:
            return False
        moments = [state["exp_avg"]._data, state["exp_avg_sq"]._data]
        if amsgrad:
            moments.append(state["max_exp_avg_sq"]._data)
        if not (_cuda_kernels.in_place_usable(pd, *moments) and _cuda_kernels.usable(pd, gd)):
            return False
        step = float(state["step"]._data)
        on_device.setdefault((pd.dtype, step), []).append(
            (pd, gd, moments[0], moments[1], moments[2] if amsgrad else None))
        _bump(p)
        return True
