"""``flambeau.backends``: flags PyTorch code sets (cudnn.benchmark ...), accepted for compatibility."""
from . import cudnn, mha, mps  # noqa: F401
