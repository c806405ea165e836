"""``flambeau.backends``: flags PyTorch code sets (cudnn.benchmark ...), accepted for compatibility."""
from . import cpu, cuda, cudnn, mha, mkldnn, mps  # noqa: F401
