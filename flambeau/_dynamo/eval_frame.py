"""What ``flambeau.compile(module)`` returns. flambeau has no graph compiler and runs every call
eagerly, but the wrapper is PyTorch's: course code meets it in state_dict keys ("_orig_mod."),
in reprs, and in ``model._orig_mod`` when saving a compiled model's weights."""
from ..nn.modules.module import Module


class OptimizedModule(Module):
    """Holds the compiled module as child ``_orig_mod``; calls run it (and its hooks) unchanged.
    Attributes it lacks are looked up on the wrapped module, as PyTorch does."""

    def __init__(self, mod):
        super().__init__()
        self._orig_mod = mod

    def forward(self, *args, **kwargs):
        return self._orig_mod(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "_orig_mod":              # not yet set (mid-__init__ or unpickling): no recursion
                raise
            return getattr(self._orig_mod, name)

    def __len__(self):
        return len(self._orig_mod)
