"""Muon: momentum whose update is orthogonalized by a Newton-Schulz iteration (2-D parameters)."""
import math

import numpy as np

from .. import _xp
from .optimizer import Optimizer, _scalar, _lerp_, _bump, _run_closure, _zeros_like
from ._state_utils import _check_lr_bound, _real_params_with_grad

__all__ = ["Muon"]

# Keller Jordan's quintic coefficients and defaults, as torch's Muon takes them
_DEFAULT_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
_DEFAULT_EPS = 1e-7
_DEFAULT_NS_STEPS = 5


class Muon(Optimizer):
    """Muon.

    For each 2-D parameter ``p`` (shape ``A x B``) with gradient ``g``::

        b = lerp(b, g, 1 - momentum)
        u = lerp(g, b, momentum) if nesterov else b
        O = NS(u)                         (ns_steps quintic Newton-Schulz iterations)
        p = p * (1 - lr * weight_decay) - lr * r * O

    with ``r = sqrt(max(1, A / B))`` ("original", the default) or ``0.2 * sqrt(max(A, B))``
    ("match_rms_adamw"). As torch does, NS runs in bfloat16: flambeau has no bfloat16 dtype, so the
    iteration keeps float32 arrays rounded to bfloat16 after each operation (float32 accumulation
    inside the products). Its results agree with torch's to bfloat16 rounding; a sum accumulated in
    another order can round one element to the neighbouring bfloat16 value.

    Args:
        params (iterable): 2-D parameters or parameter groups to optimize.
        lr (float): learning rate (default: 1e-3).
        weight_decay (float): decoupled weight decay (default: 0.1).
        momentum (float): momentum factor (default: 0.95).
        nesterov (bool): Nesterov momentum (default: True).
        ns_coefficients (tuple[float, float, float]): the iteration's coefficients (a, b, c)
            (default: (3.4445, -4.7750, 2.0315)).
        eps (float): lower bound of the norm the update is divided by (default: 1e-7).
        ns_steps (int): number of iterations, below 100 (default: 5).
        adjust_lr_fn (str, optional): "original" or "match_rms_adamw" (default: None, "original").

    Example:
        >>> import flambeau as torch
        >>> w = torch.tensor([[3.0, 0.0], [0.0, 1.0]], requires_grad=True)
        >>> opt = torch.optim.Muon([w], lr=0.1, weight_decay=0.0)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.detach()
        tensor([[2.9250, 0.0000],
                [0.0000, 0.8867]])
    """

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=_DEFAULT_COEFFICIENTS, eps=_DEFAULT_EPS, ns_steps=_DEFAULT_NS_STEPS,
                 adjust_lr_fn=None):
        _check_lr_bound(lr)
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        # torch checks the parameters given here, not those of later add_param_group calls
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{p.size()}")

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = _run_closure(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            weight_decay, momentum = group["weight_decay"], group["momentum"]
            params = _real_params_with_grad(group, "Muon")
            for p in params:
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = _zeros_like(p)
            for p in params:
                g = p.grad._data
                if g.ndim != 2:
                    raise ValueError("Param gradient must be a 2D matrix")
                buf = self.state[p]["momentum_buffer"]._data
                _lerp_(buf, g, 1 - momentum)
                if group["nesterov"]:
                    update = g.copy()
                    _lerp_(update, buf, momentum)
                else:
                    update = buf
                ortho = _newton_schulz_bfloat16(update, group["ns_coefficients"], group["ns_steps"], group["eps"])
                adjusted_lr = _adjust_lr(lr, group["adjust_lr_fn"], p.shape)
                pd = p._data
                pd *= 1 - lr * weight_decay
                pd += -adjusted_lr * ortho.astype(pd.dtype, copy=False)     # bfloat16 values promote to p's dtype
                _bump(p)
        return loss


def _adjust_lr(lr, adjust_lr_fn, shape):
    """lr scaled so that the orthogonalized update's RMS does not depend on the matrix's aspect."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))
    else:
        ratio = 1.0
    return lr * ratio


def _newton_schulz_bfloat16(g, coefficients, steps, eps):
    """The quintic Newton-Schulz orthogonalization of a matrix, in bfloat16 as torch computes it:
    ``X = G / max(|G|, eps)``, then ``steps`` times ``A = X X^T; X = a X + (b A + c A A) X`` (on the
    transpose of a tall matrix). Returns float32 holding bfloat16 values."""
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if g.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = coefficients
    xp = _xp.array_module(g)
    x = _round_to_bfloat16(g.astype(np.float32))
    tall = g.shape[0] > g.shape[1]
    if tall:
        x = x.T
    norm = _round_to_bfloat16(xp.sqrt(xp.sum(x * x)))
    x = _round_to_bfloat16(x / _round_to_bfloat16(xp.maximum(norm, np.float32(eps))))
    for _ in range(steps):
        gram = _round_to_bfloat16(x @ x.T)
        gram_update = _round_to_bfloat16(b * gram + c * (gram @ gram))
        x = _round_to_bfloat16(a * x + gram_update @ x)
    return x.T if tall else x


def _round_to_bfloat16(a):
    """float32 values rounded to the nearest bfloat16 (ties to even; NaN stays NaN), as float32."""
    xp = _xp.array_module(a)
    a = xp.ascontiguousarray(a, dtype=np.float32)
    bits = a.view(np.uint32)
    # adding 0x7FFF plus the lowest kept bit carries into the kept bits exactly when rounding goes up
    rounded = (bits + (((bits >> np.uint32(16)) & np.uint32(1)) + np.uint32(0x7FFF))) & np.uint32(0xFFFF0000)
    rounded = xp.where(xp.isnan(a), bits | np.uint32(0x00400000), rounded)
    return rounded.view(np.float32)
