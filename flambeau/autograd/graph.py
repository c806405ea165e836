"""``autograd.graph``: the node type of the backward graph, and hooks on the tensors it saves."""
from .function import Node, _saved_hooks

__all__ = ["Node", "saved_tensors_hooks", "save_on_cpu"]


class saved_tensors_hooks:
    """Within the block, each tensor an op saves for backward is kept as ``pack_hook(tensor)``, and
    backward reads it back as ``unpack_hook(packed)`` (Note [Saved-tensor hooks]). Nested blocks:
    the innermost pair applies.

    Example::

        >>> with saved_tensors_hooks(lambda t: t.detach().clone(), lambda t: t):
        ...     y = a * b
    """

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        _saved_hooks.append((self.pack_hook, self.unpack_hook))

    def __exit__(self, *exc):
        _saved_hooks.pop()
        return False


class save_on_cpu(saved_tensors_hooks):
    """Keep the tensors saved for backward on the CPU, and move each back to its device when
    backward needs it (GPU memory for CPU memory and copies). ``pin_memory`` is accepted; flambeau
    has no pinned memory, so the copies are plain."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack_to_cpu(tensor):
            return tensor.device, tensor.cpu()

        def unpack_from_cpu(packed):
            device, tensor = packed
            return tensor.to(device)

        super().__init__(pack_to_cpu, unpack_from_cpu)
