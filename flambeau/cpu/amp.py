"""``torch.cpu.amp``: PyTorch's older spellings of ``flambeau.amp`` for the CPU, deprecated there
(FutureWarning). PyTorch's default dtype here is bfloat16, which flambeau lacks: ``autocast()``
without ``dtype=flambeau.float16`` raises a RuntimeError saying so."""
import warnings

from ..amp import autocast_mode as _autocast_mode
from ..amp import grad_scaler as _grad_scaler

__all__ = ["autocast", "GradScaler"]


def _deprecated(old, new):
    warnings.warn(f"`torch.cpu.amp.{old}(args...)` is deprecated. Please use `{new}` instead.",
                  FutureWarning, stacklevel=3)


class autocast(_autocast_mode.autocast):
    """``flambeau.autocast("cpu", ...)``; its dtype defaults to torch's bfloat16, so pass
    ``dtype=flambeau.float16``."""

    def __init__(self, enabled=True, dtype=None, cache_enabled=True):
        _deprecated("autocast", "torch.amp.autocast('cpu', args...)")
        if dtype is None and enabled:
            raise RuntimeError(_autocast_mode._BFLOAT16_MESSAGE.format(
                what="torch.cpu.amp.autocast's default dtype (torch.bfloat16)", device="cpu"))
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class GradScaler(_grad_scaler._DeviceSpelling):
    """``flambeau.amp.GradScaler("cpu", ...)``."""
    _device_type = "cpu"
