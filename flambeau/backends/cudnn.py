"""cuDNN flags: flambeau uses cuDNN through CuPy when present; these flags are accepted and recorded."""
benchmark = False
deterministic = False
enabled = True


def is_available():
    from .. import _xp
    if not _xp.cuda_available():
        return False
    try:
        import cupy.cuda.cudnn  # noqa: F401
        return True
    except ImportError:
        return False
