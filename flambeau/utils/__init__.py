"""``flambeau.utils``: data loading (``flambeau.utils.data``), activation checkpointing
(``flambeau.utils.checkpoint``), hook handles (``flambeau.utils.hooks``)."""
from . import data  # noqa: F401
from . import checkpoint  # noqa: F401
from . import dlpack  # noqa: F401
from . import hooks  # noqa: F401
