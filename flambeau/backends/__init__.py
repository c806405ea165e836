"""``flambeau.backends``: flags PyTorch code sets (cudnn.benchmark ...), accepted for compatibility."""
from . import cpu, cudnn, mha, mps  # noqa: F401
