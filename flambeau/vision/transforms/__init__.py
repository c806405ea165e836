"""``flambeau.vision.transforms``: torchvision's transform classes, and ``functional`` (the
operations they are built on: ``import flambeau.vision.transforms.functional as TF``)."""
from . import functional  # noqa: F401
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all
from .autoaugment import AugMix, AutoAugment, AutoAugmentPolicy, RandAugment, TrivialAugmentWide  # noqa: F401
from .autoaugment import __all__ as _autoaugment_all

__all__ = _transforms_all + _autoaugment_all
