"""``flambeau.vision.transforms``: torchvision's transform classes, and ``functional`` (the
operations they are built on: ``import flambeau.vision.transforms.functional as TF``)."""
from . import functional  # noqa: F401
from .transforms import *  # noqa: F401,F403
from .transforms import __all__  # noqa: F401
