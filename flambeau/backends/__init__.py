"""``flambeau.backends``: flags PyTorch code sets (cudnn.benchmark ...), accepted for compatibility."""
from . import cudnn, mps  # noqa: F401
