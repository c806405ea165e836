"""Grad modes: whether operations record a graph for backward.

Note [Inference tensors]
Inside ``inference_mode()`` nothing is recorded, even under ``enable_grad()``, and every tensor
made is an inference tensor. As in PyTorch, an inference tensor keeps no version counter, so
that once out of inference mode it can be read but not changed in place, nor saved for
backward (an autograd node could not tell whether it changed since).
- Its ``_version_counter`` is an _InferenceVersion instead of a plain list. Its views share it,
  and ``is_inference()`` looks for it.
- Every in-place path checks it before writing: ``check_writable`` and ``check_inplace_autograd``
  (in _ops._util), ``refuse_inference_write`` elsewhere. A path that checked nothing still
  raises when it bumps the counter, but only after it wrote.
- PyTorch makes one exception, which flambeau follows: ``x.detach()`` and ``x.data`` may be
  changed in place anywhere (so ``p.data.sub_(...)`` updates work).
- The counter never moves, so nothing may cache a result keyed on an inference tensor's version.
"""
import functools
import inspect
import warnings

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]

# Whether ops record a graph: one flag read by every op; a list so that it is mutated, never rebound.
_enabled = [True]
_inference = [False]
# The grad mode a user set, which is_grad_enabled() reports: inside inference mode, enable_grad()
# reports True while _enabled stays False.
_requested = [True]
# Whether inference mode was ever entered, so inference tensors may exist: the checks that would
# otherwise run on every saved tensor and every optimizer step wait for it.
_ever_entered = [False]

INPLACE_ON_INFERENCE_TENSOR = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone to get a "
    "normal tensor before doing inplace update.See https://github.com/pytorch/rfcs/pull/17 for more details.")
SAVED_INFERENCE_TENSOR = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in inference mode in "
    "computation tracked by autograd. To work around this, you can make a clone to get a normal tensor and "
    "use it in autograd, or use `torch.no_grad()` instead of `torch.inference_mode()`.")
REQUIRES_GRAD_ON_INFERENCE_TENSOR = (
    "Setting requires_grad=True on inference tensor outside InferenceMode is not allowed.")


class _InferenceVersion(list):
    """The version counter of an inference tensor (Note [Inference tensors]): it stays at 0, and
    refuses the bump of an in-place update outside inference mode."""

    __slots__ = ()

    def __setitem__(self, index, value):
        if not _inference[0]:
            raise RuntimeError(INPLACE_ON_INFERENCE_TENSOR)


class _DetachedInferenceVersion(_InferenceVersion):
    """The version counter of detach() (or .data) of an inference tensor: still an inference tensor,
    but PyTorch lets it, and flambeau its views too, be changed in place anywhere."""

    __slots__ = ()

    def __setitem__(self, index, value):
        pass


def refuse_inference_write(t):
    """PyTorch's refusal to change an inference tensor in place outside inference mode."""
    if type(t._version_counter) is _InferenceVersion and not _inference[0]:
        raise RuntimeError(INPLACE_ON_INFERENCE_TENSOR)


def is_grad_enabled():
    return _requested[0] if _inference[0] else _enabled[0]


def is_inference_mode_enabled():
    return _inference[0]


class _GradModeContext:
    """Context manager and decorator that sets grad mode for its extent."""

    _mode = True

    def __enter__(self):
        self._prev = _enabled[0], _requested[0]
        _set_mode(self._mode)

    def __exit__(self, *exc):
        _enabled[0], _requested[0] = self._prev
        return False

    def __call__(self, fn):
        if not callable(fn):
            raise TypeError(f"{type(self).__name__} can decorate functions, got {fn!r}")
        if isinstance(fn, type):
            warnings.warn("Decorating classes is deprecated and will be disabled in future versions. You should "
                          "only decorate functions or methods. To preserve the current behavior of class "
                          "decoration, you can directly decorate the `__init__` method and nothing else.",
                          FutureWarning, stacklevel=2)
            cls_ = fn
            fn = lambda *a, **kw: cls_(*a, **kw)      # noqa: E731  (torch wraps the constructor call)
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(self.clone, fn)
        clone = self.clone

        @functools.wraps(fn)
        def wrapper(*a, **kw):
            with clone():
                return fn(*a, **kw)
        return wrapper

    def clone(self):
        return type(self)(*getattr(self, "_args", ()))


class _NoParamDecorator(_GradModeContext):
    """A mode that may also decorate without parentheses: ``@no_grad`` as well as ``@no_grad()``."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecorator):
    """Disable graph recording: ``with no_grad(): ...``, ``@no_grad()`` or ``@no_grad``."""
    _mode = False


class enable_grad(_NoParamDecorator):
    _mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` sets the mode at once, and also works as a context manager."""

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): argument 'enabled' (position 1) must be bool, not "
                            f"{type(mode).__name__}")
        self._prev = _enabled[0], _requested[0]
        self._mode = mode
        self._args = (mode,)
        _set_mode(mode)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _enabled[0], _requested[0] = self._prev
        return False

    def __call__(self, fn):
        _enabled[0], _requested[0] = self._prev      # used as a decorator: the mode applies inside fn only
        return super().__call__(fn)


class inference_mode(_GradModeContext):
    """No graph is recorded, and the tensors made are inference tensors (Note [Inference tensors]);
    ``inference_mode(False)`` turns both back off, and grad mode on."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)              # used bare as a decorator: @inference_mode

    def __init__(self, mode=True):
        if not isinstance(mode, bool):  # __new__ handed back the decorated function instead
            return
        self._mode = not mode
        self._args = (mode,)

    def __enter__(self):
        self._prev = _enabled[0], _requested[0], _inference[0]
        _inference[0] = not self._mode
        _ever_entered[0] = _ever_entered[0] or _inference[0]
        _set_mode(self._mode)

    def __exit__(self, *exc):
        _enabled[0], _requested[0], _inference[0] = self._prev
        return False


def _wrap_generator(make_context, gen_fn):
    """A generator function whose body runs under a fresh context each time it is resumed, and
    under the caller's mode between yields (a ``with`` around the call would end at the first yield)."""

    @functools.wraps(gen_fn)
    def generator_context(*args, **kwargs):
        gen = gen_fn(*args, **kwargs)
        try:
            with make_context():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with make_context():
                        gen.close()
                    raise
                except BaseException as exc:      # thrown in by the caller: pass it on inside the mode
                    with make_context():
                        response = gen.throw(exc)
                else:
                    with make_context():
                        response = gen.send(request)
        except StopIteration as stop:
            return stop.value
    return generator_context


def _set_mode(mode):
    _requested[0] = mode
    _enabled[0] = mode and not _inference[0]
