"""AdamW: Adam with decoupled weight decay."""
from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    """AdamW: Adam whose weight decay shrinks the weights directly, ``p = p * (1 - lr * weight_decay)``,
    instead of entering the moment estimates.

    Args:
        params (iterable): parameters or parameter groups to optimize.
        lr (float): learning rate (default: 1e-3).
        betas (tuple[float, float]): decay rates of the moment estimates (default: (0.9, 0.999)).
        eps (float): added to the denominator (default: 1e-8).
        weight_decay (float): decoupled weight decay (default: 1e-2).
        amsgrad (bool): use the maximum of past second moments (default: False).
        maximize (bool): maximize the objective (default: False).

    Example:
        >>> import flambeau as torch
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = torch.optim.AdamW([w], lr=0.1, weight_decay=0.0)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.detach()
        tensor([ 0.9000, -1.9000])
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
