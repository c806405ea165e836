"""``flambeau.vision``: datasets, models, transforms and image utilities (torchvision's API)."""
from . import datasets, models, transforms, utils  # noqa: F401

__all__ = ["datasets", "models", "transforms", "utils", "get_image_backend", "set_image_backend"]

_image_backend = "PIL"


def set_image_backend(backend):
    """Choose the package that loads images: only ``"PIL"`` exists in flambeau."""
    global _image_backend
    if backend not in ("PIL", "accimage"):
        raise ValueError(f"Invalid backend '{backend}'. Options are 'PIL' and 'accimage'")
    if backend == "accimage":
        raise NotImplementedError("the accimage image backend is not available in flambeau; only 'PIL'")
    _image_backend = backend


def get_image_backend():
    """The name of the package that loads images (``"PIL"``)."""
    return _image_backend
