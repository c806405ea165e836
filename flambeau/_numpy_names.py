"""NumPy's argument names where PyTorch accepts them: ``axis`` for ``dim`` and ``keepdims`` for
``keepdim`` (``x.sum(axis=1, keepdims=True)``, ``torch.cat(ts, axis=0)``, ``torch.fft.fft(x, axis=0)``).

PyTorch's argument parser takes these aliases for every op it binds; flambeau's ops are Python
functions, so the functions and Tensor methods taking ``dim`` or ``keepdim`` are wrapped once, at
import, by a function that renames the aliases before the call.
"""
import functools
import inspect

_ALIASES = {"axis": "dim", "keepdims": "keepdim"}


def _parameters(fn):
    code = getattr(inspect.unwrap(fn), "__code__", None)
    return () if code is None else code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]


def with_numpy_names(fn, method=False):
    """fn, taking axis= and keepdims= for its dim and keepdim too (fn itself when it has neither).
    As a Tensor method it refuses out=, as PyTorch's methods do (NumPy's np.sum(t) passes out=None)."""
    params = _parameters(fn)
    aliases = {a: name for a, name in _ALIASES.items() if name in params and a not in params}
    if not aliases:
        return fn
    refused = "out" if method and "out" in params else None

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if kwargs and not aliases.keys().isdisjoint(kwargs):
            for alias in [k for k in kwargs if k in aliases]:
                if aliases[alias] in kwargs:          # both names: PyTorch refuses the alias
                    raise TypeError(f"{fn.__name__}() got an unexpected keyword argument '{alias}'")
                kwargs[aliases[alias]] = kwargs.pop(alias)
        if refused is not None and refused in kwargs:
            raise TypeError(f"{fn.__name__}() got an unexpected keyword argument '{refused}'")
        return fn(*args, **kwargs)
    op._numpy_names = True
    return op


def accept_numpy_names(namespaces, tensor_class):
    """Wrap, in place, the functions of the namespaces (modules) and the methods of tensor_class."""
    done = {}
    targets = [(ns, False) for ns in namespaces] + [(tensor_class, True)]
    for owner, method in targets:
        for name, value in list(vars(owner).items()):
            if name.startswith("_") or not inspect.isfunction(value) or getattr(value, "_numpy_names", False):
                continue
            key = (id(value), method)
            if key not in done:
                done[key] = with_numpy_names(value, method)
            if done[key] is not value:
                setattr(owner, name, done[key])
