"""``flambeau.backends.mkldnn``: PyTorch's oneDNN (MKL-DNN) CPU kernels. flambeau computes on the CPU
through NumPy, not oneDNN, so the library is reported absent; the flags are accepted and recorded."""
import contextlib

__all__ = ["is_available", "flags", "set_flags"]

enabled = True
deterministic = False
allow_tf32 = False


def is_available():
    """False: flambeau has no oneDNN kernels (PyTorch's CPU wheels do)."""
    return False


def set_flags(_enabled=None, _deterministic=None, _allow_tf32=None):
    """Set the given flags; return the previous (enabled, deterministic, allow_tf32)."""
    global enabled, deterministic, allow_tf32
    previous = (enabled, deterministic, allow_tf32)
    if _enabled is not None:
        enabled = _enabled
    if _deterministic is not None:
        deterministic = _deterministic
    if _allow_tf32 is not None:
        allow_tf32 = _allow_tf32
    return previous


@contextlib.contextmanager
def flags(enabled=False, deterministic=False, allow_tf32=True, fp32_precision="none"):
    """Set the flags inside the block and restore them after it (torch's defaults: enabled=False)."""
    previous = set_flags(enabled, deterministic, allow_tf32)
    try:
        yield
    finally:
        set_flags(*previous)
