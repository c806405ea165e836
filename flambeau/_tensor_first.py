"""Top-level ops that PyTorch also binds as Tensor methods take a tensor first.

PyTorch's argument parser refuses ``torch.eq(2, t)`` or ``torch.sum(3)`` with a TypeError. flambeau's
ops are Python functions shared with the Tensor methods, so such a call failed later, with an
AttributeError, or ran (``eq(2, t)``). At import, each such top-level function is wrapped by a check
of its first argument. A few ops also take a number first, as PyTorch's do:
- the arithmetic ones (``torch.add(2, t)``, even ``torch.add(2, 3)``) take it as a 0-dim tensor;
- the ones with a number-first form (``torch.pow(2, t)``) need a tensor as one of their first two.
"""
import functools
import inspect

from ._tensor import Tensor

# torch.add(2, t) and torch.add(2, 3): the number becomes a 0-dim tensor
NUMBER_AS_TENSOR = frozenset({"add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
                              "floor_divide"})
# a number first, a tensor second: their own forms (torch.pow(2, t))
NUMBER_THEN_TENSOR = frozenset({"pow", "float_power", "remainder", "xlogy", "bitwise_and", "bitwise_or",
                                "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"})
# take a number first by design (bucketize(2, boundaries), polygamma(n, x)), or are Python functions in
# PyTorch, which fail in their own ways (norm, split), or flambeau keeps from PyTorch's past (eig ...)
UNCHECKED = frozenset({"bucketize", "polygamma", "isin", "split", "stft", "istft", "unique", "unique_consecutive",
                       "norm", "eig", "symeig", "lstsq", "solve", "matrix_rank"})


# top-level only, no Tensor method of the name, a tensor first all the same
ALSO_CHECKED = frozenset({"rsub"})


def _refuse(name, value, first="input"):
    raise TypeError(f"{name}(): argument '{first}' (position 1) must be Tensor, not {type(value).__name__}")


def _checked(name, fn):
    if name in NUMBER_AS_TENSOR:
        from ._ops.creation import tensor

        @functools.wraps(fn)
        def op(input, *args, **kwargs):
            if not isinstance(input, Tensor):
                if isinstance(input, bool) or not isinstance(input, (int, float, complex)):
                    _refuse(name, input)
                other = args[0] if args else kwargs.get("other")
                input = tensor(input, device=other.device if isinstance(other, Tensor) else None)
            return fn(input, *args, **kwargs)
    elif name in NUMBER_THEN_TENSOR:
        @functools.wraps(fn)
        def op(input, *args, **kwargs):
            if not isinstance(input, Tensor) and not isinstance(args[0] if args else kwargs.get("other"), Tensor):
                _refuse(name, input)
            return fn(input, *args, **kwargs)
    else:
        parameter = next(iter(inspect.signature(fn).parameters.values()))
        first = "input" if parameter.kind is parameter.VAR_POSITIONAL else parameter.name

        @functools.wraps(fn)
        def op(*args, **kwargs):
            value = args[0] if args else kwargs.get(first, Tensor)      # (missing: fn words the error)
            if not isinstance(value, Tensor) and value is not Tensor:
                _refuse(name, value, first)
            return fn(*args, **kwargs)
    op._tensor_first = True
    return op


def check_tensor_first(namespace):
    """Wrap, in place, namespace's functions that are also Tensor methods (but UNCHECKED ones)."""
    for name, value in list(vars(namespace).items()):
        if (name.startswith("_") or name in UNCHECKED or not (hasattr(Tensor, name) or name in ALSO_CHECKED)
                or not inspect.isfunction(value) or getattr(value, "_tensor_first", False)):
            continue
        setattr(namespace, name, _checked(name, value))
