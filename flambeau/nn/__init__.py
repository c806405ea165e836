"""flambeau.nn: layers (Module and its subclasses), Parameter, functional, init."""
from .parameter import Parameter, Buffer, UninitializedParameter, UninitializedBuffer
from .modules import *  # noqa: F401,F403
from .modules import module as _module
from . import functional, init, utils  # noqa: F401
from .modules.module import Module
