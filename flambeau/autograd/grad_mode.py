"""Grad modes: whether operations record a graph for backward."""
import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]

# One flag read by every op; a list so that it is mutated, never rebound.
_enabled = [True]
_inference = [False]


def is_grad_enabled():
    return _enabled[0]


def is_inference_mode_enabled():
    return _inference[0]


class _GradModeContext:
    """Context manager and decorator that sets grad mode for its extent."""

    _mode = True

    def __enter__(self):
        self._prev = _enabled[0]
        _enabled[0] = self._mode

    def __exit__(self, *exc):
        _enabled[0] = self._prev
        return False

    def __call__(self, fn):
        if isinstance(fn, type) or not callable(fn):
            raise TypeError(f"{type(self).__name__} can decorate functions, got {fn!r}")
        mode_cls, args = type(self), getattr(self, "_args", ())

        @functools.wraps(fn)
        def wrapper(*a, **kw):
            with mode_cls(*args):
                return fn(*a, **kw)
        return wrapper

    def clone(self):
        return type(self)(*getattr(self, "_args", ()))


class no_grad(_GradModeContext):
    """Disable graph recording: ``with no_grad(): ...`` or ``@no_grad()``."""
    _mode = False

    def __init__(self, orig_func=None):
        if orig_func is not None:   # used bare as a decorator: @no_grad
            raise TypeError("use @no_grad() with parentheses")


class enable_grad(_GradModeContext):
    _mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` sets the mode at once, and also works as a context manager."""

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): mode must be a bool, got {type(mode).__name__}")
        self._prev = _enabled[0]
        self._mode = mode
        self._args = (mode,)
        _enabled[0] = mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _enabled[0] = self._prev
        return False

    def __call__(self, fn):
        _enabled[0] = self._prev      # used as a decorator: the mode applies inside fn only
        return super().__call__(fn)


class inference_mode(_GradModeContext):
    """Like no_grad; tensors made inside are plain (flambeau keeps no separate inference tensors)."""

    def __init__(self, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            raise TypeError("use @inference_mode() with parentheses")
        self._mode = not mode
        self._args = (mode,)

    def __enter__(self):
        self._prev = _enabled[0]
        self._prev_inf = _inference[0]
        _enabled[0] = self._mode
        _inference[0] = not self._mode

    def __exit__(self, *exc):
        _enabled[0] = self._prev
        _inference[0] = self._prev_inf
        return False
