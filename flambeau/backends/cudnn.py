"""cuDNN flags: flambeau uses cuDNN through CuPy when present; these flags are accepted and recorded."""
import contextlib

benchmark = False
deterministic = False
enabled = True
allow_tf32 = True
benchmark_limit = 10


def is_available():
    from .. import _xp
    if not _xp.cuda_available():
        return False
    try:
        import cupy.cuda.cudnn  # noqa: F401
        return True
    except ImportError:
        return False


def version():
    """cuDNN's version as an int (e.g. 90100), or None where cuDNN cannot be used."""
    if not is_available():
        return None
    import cupy.cuda.cudnn
    return cupy.cuda.cudnn.getVersion()


def set_flags(_enabled=None, _benchmark=None, _benchmark_limit=None, _deterministic=None, _allow_tf32=None):
    """Set the given flags; return the previous (enabled, benchmark, benchmark_limit, deterministic, allow_tf32)."""
    global enabled, benchmark, benchmark_limit, deterministic, allow_tf32
    previous = (enabled, benchmark, benchmark_limit, deterministic, allow_tf32)
    if _enabled is not None:
        enabled = _enabled
    if _benchmark is not None:
        benchmark = _benchmark
    if _benchmark_limit is not None:
        benchmark_limit = _benchmark_limit
    if _deterministic is not None:
        deterministic = _deterministic
    if _allow_tf32 is not None:
        allow_tf32 = _allow_tf32
    return previous


@contextlib.contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False, allow_tf32=True,
          fp32_precision="none", depthwise_kernel="auto"):
    """Set the flags inside the block and restore them after it (torch's defaults: enabled=False)."""
    previous = set_flags(enabled, benchmark, benchmark_limit, deterministic, allow_tf32)
    try:
        yield
    finally:
        set_flags(*previous)
