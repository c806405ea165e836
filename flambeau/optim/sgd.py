"""SGD: stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""
from numpy import ndarray as _ndarray

from .. import _xp
from .._tensor import _make
from ..cuda import _kernels as _cuda_kernels
from .optimizer import Optimizer, _check_lr, _scalar, _grad_array, _bump, _run_closure

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum).

    For each parameter ``p`` with gradient ``g`` (``-g`` when ``maximize``)::

        g = g + weight_decay * p
        b = g                                   (first step)
        b = momentum * b + (1 - dampening) * g  (later steps)
        g = g + momentum * b if nesterov else b
        p = p - lr * g

    Args:
        params (iterable): parameters or parameter groups to optimize.
        lr (float): learning rate (default: 1e-3).
        momentum (float): momentum factor (default: 0).
        dampening (float): dampening of the momentum (default: 0).
        weight_decay (float): L2 penalty (default: 0).
        nesterov (bool): Nesterov momentum (default: False).
        maximize (bool): maximize the objective instead of minimizing it (default: False).

    Example:
        >>> import flambeau as torch
        >>> w = torch.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = torch.optim.SGD([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.detach()
        tensor([0.8000, 1.6000])
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if differentiable:
            raise NotImplementedError("SGD(differentiable=True) is not supported by flambeau")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    _group_defaults = {"nesterov": False, "maximize": False, "foreach": None, "differentiable": False, "fused": False}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = _run_closure(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            momentum = group["momentum"]
            dampening = group["dampening"]
            weight_decay = group["weight_decay"]
            nesterov = group["nesterov"]
            maximize = group["maximize"]
            if momentum == 0 and weight_decay == 0:
                # the common case: one fused in-place update per parameter, on the GPU one launch
                # for several parameters of a dtype
                alpha = lr if maximize else -lr
                on_device = None
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    pd, gd = p._data, g._data
                    if type(pd) is not _ndarray and _cuda_kernels.in_place_usable(pd) and _cuda_kernels.usable(pd, gd):
                        on_device = on_device or {}
                        on_device.setdefault(pd.dtype, []).append((pd, gd))
                    else:
                        pd += alpha * gd
                    p._version_counter[0] += 1
                if on_device:
                    for pairs in on_device.values():
                        _cuda_kernels.sgd_update(pairs, alpha)
                continue
            # complex parameters need no real view here: every operation is linear with real scalars
            on_device = {}          # (dtype, first step) -> the parameters one GPU launch updates
            for p in group["params"]:
                if p.grad is None:
                    continue
                pd = p._data
                if momentum != 0 and self._on_device(p, on_device):
                    continue
                g = _grad_array(p, maximize)
                if weight_decay != 0:
                    g = g + weight_decay * pd
                if momentum != 0:
                    state = self.state[p]
                    buf_t = state.get("momentum_buffer")
                    if buf_t is None:
                        buf_t = state["momentum_buffer"] = _make(g.copy())
                    else:
                        buf = buf_t._data
                        buf *= momentum
                        buf += g if dampening == 0 else (1 - dampening) * g     # (1 - 0) * g is g: no pass
                        buf_t._version_counter[0] += 1
                    g = g + momentum * buf_t._data if nesterov else buf_t._data
                pd -= lr * g
                _bump(p)
            for (_, first), params in on_device.items():
                _cuda_kernels.sgd_momentum_update(params, first, lr=lr, momentum=momentum, dampening=dampening,
                                                  weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        return loss

    def _on_device(self, p, on_device):
        """Queue p's momentum step for the group's GPU kernel launches when it runs on the GPU
        (else False)."""
        pd, gd = p._data, p.grad._data
        if type(pd) is _ndarray:
            return False
        state = self.state[p]
        buf_t = state.get("momentum_buffer")
        first = buf_t is None
        written = (pd,) if first else (pd, buf_t._data)
        if not (_cuda_kernels.in_place_usable(*written) and _cuda_kernels.usable(pd, gd)):
            return False
        if first:
            buf_t = state["momentum_buffer"] = _make(_xp.cupy.empty(pd.shape, pd.dtype))
        else:
            buf_t._version_counter[0] += 1
        on_device.setdefault((pd.dtype, first), []).append((pd, gd, buf_t._data))
        _bump(p)
        return True

