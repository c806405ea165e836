"""``flambeau.utils.hooks``: the handle every ``register_*hook`` returns."""
from ..autograd.function import RemovableHandle

__all__ = ["RemovableHandle"]
