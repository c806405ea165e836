"""``flambeau.amp`` (torch.amp): automatic mixed precision.

``autocast`` runs regions in a lower precision by the op lists of ``_policy``; ``GradScaler``
scales the loss so that float16 gradients do not underflow.
"""
from .autocast_mode import autocast, custom_bwd, custom_fwd, is_autocast_available
from .grad_scaler import GradScaler
from . import _policy

__all__ = ["autocast", "custom_bwd", "custom_fwd", "is_autocast_available", "GradScaler"]

_policy.install()
