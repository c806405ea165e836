"""``autograd.graph``: the node type of the backward graph (saved-tensor hooks are not offered)."""
from .function import Node

__all__ = ["Node"]
