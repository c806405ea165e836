"""Signal processing, as torch.signal: window functions in flambeau.signal.windows."""
from . import windows

__all__ = ["windows"]
