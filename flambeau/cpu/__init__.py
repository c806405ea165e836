"""``flambeau.cpu`` (torch.cpu): here only its ``amp`` spellings."""
from . import amp  # noqa: F401
