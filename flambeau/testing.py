"""``flambeau.testing``: ``assert_close`` as PyTorch's (its pairing of inputs, default tolerances per
dtype, checks and messages), its older form ``assert_allclose``, and ``make_tensor``."""
import collections.abc
import math
import numbers
import warnings

import numpy as np

from . import _dtype, _xp
from ._tensor import Tensor

# (rtol, atol) by dtype; exact (0, 0) for the others (integers, bool)
_TOL = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7),
        "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7)}


class _Failure(Exception):
    """A comparison that failed: the exception type to raise and PyTorch's message."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind, self.message = kind, message


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raise AssertionError unless actual and expected are close: tensors (or NumPy arrays) of the same
    shape, device and dtype whose values pass isclose(rtol, atol), Python numbers, or sequences and
    mappings of those, compared item by item. rtol and atol default to the dtype's tolerances."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'rtol' if rtol is None else 'atol'}.")
    options = dict(allow_subclasses=allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan,
                   check_device=check_device, check_dtype=check_dtype, check_stride=check_stride)
    try:
        _compare(actual, expected, "", options)
    except _Failure as failure:
        message, path = failure.message, getattr(failure, "path", "")
        if failure.kind is AssertionError and path:
            message += f"\n\nThe failure occurred for item {path}"
        if msg is not None and failure.kind is AssertionError:
            message = msg if isinstance(msg, str) else msg(message)
        raise failure.kind(message) from None


def _compare(actual, expected, path, options):
    try:
        _compare_pair(actual, expected, path, options)
    except _Failure as failure:
        if not hasattr(failure, "path"):
            failure.path = path
        raise


def _is_sequence(x):
    return isinstance(x, collections.abc.Sequence) and not isinstance(x, (str, bytes))


def _compare_pair(actual, expected, path, options):
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Failure(AssertionError, f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{path}[{i}]", options)
        return
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        if set(actual) != set(expected):
            missing = sorted(set(expected) - set(actual), key=repr)
            extra = sorted(set(actual) - set(expected), key=repr)
            raise _Failure(AssertionError, f"The keys of the mappings do not match:\nMissing keys in the actual "
                                           f"mapping: {missing}\nAdditional keys in the actual mapping: {extra}")
        for key in expected:
            _compare(actual[key], expected[key], f"{path}[{key!r}]", options)
        return
    if isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray):
        from ._ops.creation import from_numpy
        actual, expected = from_numpy(np.ascontiguousarray(actual)), from_numpy(np.ascontiguousarray(expected))
    if isinstance(actual, Tensor) and isinstance(expected, Tensor) and (
            options["allow_subclasses"] or type(actual) is type(expected)):
        return _compare_tensors(actual, expected, options)
    if _is_number(actual) and _is_number(expected):
        return _compare_numbers(actual, expected, options)
    raise _Failure(TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} and "
                              f"{type(expected)}.")


def _is_number(x):
    return isinstance(x, (numbers.Number, np.number, np.bool_))


def _compare_numbers(actual, expected, options):
    actual = actual.item() if isinstance(actual, (np.number, np.bool_)) else actual
    expected = expected.item() if isinstance(expected, (np.number, np.bool_)) else expected
    if isinstance(actual, bool) and isinstance(expected, bool):
        if actual is not expected:
            raise _Failure(AssertionError, f"Booleans mismatch: {actual} is not {expected}")
        return
    if options["check_dtype"] and type(actual) is not type(expected):
        raise _Failure(AssertionError, f"The (d)types do not match: {type(actual)} != {type(expected)}.")
    kinds = {type(actual), type(expected)}
    default = (0, 0) if kinds <= {int, bool} else _TOL["complex128" if complex in kinds else "float64"]
    rtol, atol = (options["rtol"], options["atol"]) if options["rtol"] is not None else default
    if actual == expected or (options["equal_nan"] and _isnan(actual) and _isnan(expected)):
        return
    diff = abs(actual - expected)
    if diff <= atol + rtol * abs(expected):
        return
    relative = math.inf if expected == 0 else diff / abs(expected)
    raise _Failure(AssertionError, _mismatch("Scalars", f"Expected {expected} but got {actual}.",
                                             diff, None, atol, relative, None, rtol))


def _isnan(x):
    return x != x


def _compare_tensors(actual, expected, options):
    checked = [("shape", actual.shape, expected.shape)]
    if options["check_device"]:
        checked.append(("device", actual.device, expected.device))
    if options["check_dtype"]:
        checked.append(("dtype", actual.dtype, expected.dtype))
    if options["check_stride"]:
        checked.append(("stride()", actual.stride(), expected.stride()))
    for name, a, e in checked:
        if a != e:
            raise _Failure(AssertionError, f"The values for attribute '{name}' do not match: {a} != {e}.")
    rtol, atol = options["rtol"], options["atol"]
    if rtol is None:
        tols = [_TOL.get(t.dtype.name, (0, 0)) for t in (actual, expected)]
        rtol, atol = max(t[0] for t in tols), max(t[1] for t in tols)
    common = _dtype.promote_types(actual.dtype, expected.dtype).np
    x = _xp.to_host(actual.detach()._data).astype(common, copy=False)
    y = _xp.to_host(expected.detach()._data).astype(common, copy=False)
    exact = common.kind not in "fc"
    if exact and rtol == 0 and atol == 0:
        matches = x == y
    else:
        matches = np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=options["equal_nan"])
    if bool(matches.all()):
        return
    shape = x.shape
    x, y, matches = x.reshape(-1), y.reshape(-1), matches.reshape(-1)
    if exact:
        x, y = x.astype(np.int64), y.astype(np.int64)
    with np.errstate(all="ignore"):
        diff = np.abs(x - y)
        diff[matches] = 0
        # the relative difference in the values' own precision (PyTorch's default dtype for integers)
        relative = (diff / np.abs(y)).astype(np.float32 if exact else diff.dtype, copy=False)
    relative[matches] = 0
    if actual.ndim == 0:
        # as PyTorch: differences of the two values as Python numbers, so in double precision
        a, e = actual.item(), expected.item()
        scalar_diff = abs(a - e)
        scalar_relative = math.inf if e == 0 else scalar_diff / abs(e)
        raise _Failure(AssertionError, _mismatch("Scalars", f"Expected {e} but got {a}.",
                                                 scalar_diff, None, atol, scalar_relative, None, rtol))
    bad = int((~matches).sum())
    at_diff, at_relative = int(np.argmax(diff)), int(np.argmax(relative))
    raise _Failure(AssertionError, _mismatch(
        "Tensor-likes", f"Mismatched elements: {bad} / {matches.size} ({bad / matches.size:.1%})",
        diff[at_diff].item(), np.unravel_index(at_diff, shape), atol,
        relative[at_relative].item(), np.unravel_index(at_relative, shape), rtol))


def _mismatch(what, detail, diff, diff_at, atol, relative, relative_at, rtol):
    """PyTorch's message for values that differ: exact comparisons say "equal" and no tolerance."""
    exact = rtol == 0 and atol == 0

    def line(kind, value, at, tol):
        text = f"{kind.title()} difference: {value}" if at is None else \
            f"Greatest {kind} difference: {value} at index {tuple(int(i) for i in at)}"
        return text + ("" if exact else f" (up to {tol} allowed)")
    return (f"{what} are not {'equal' if exact else 'close'}!\n\n{detail}\n"
            f"{line('absolute', diff, diff_at, atol)}\n{line('relative', relative, relative_at, rtol)}")


# PyTorch's older assert_allclose: looser tolerances, expected may be any tensor-like, dtypes may differ
_ALLCLOSE_TOL = {"float16": (1e-3, 1e-3), "float32": (1e-4, 1e-5), "float64": (1e-5, 1e-8)}


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a future "
                  "release. Please use `torch.testing.assert_close()` instead.", FutureWarning, stacklevel=2)
    from ._ops.creation import tensor
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        dt = _dtype.promote_types(actual.dtype, expected.dtype)
        rtol, atol = _ALLCLOSE_TOL.get(dt.name, (0.0, 0.0))
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True,
                 check_dtype=False, check_stride=False, msg=msg or None)


def _bounds(dtype, low, high, lowest, highest, default_low, default_high):
    """low and high for make_tensor: defaults filled in, checked, clamped to what dtype holds, and
    ceiled for integers (so no value falls under low, and randint's high stays exclusive)."""
    low = default_low if low is None else low
    high = default_high if high is None else high
    exact = dtype is _dtype.bool or not (dtype.is_floating_point or dtype.is_complex)
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low!r} and high={high!r}")
    if low == high and not exact:
        warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or complex types is "
                      "deprecated since 2.1 and will be removed in 2.3. Use `torch.full(...)` instead.",
                      FutureWarning, stacklevel=3)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lowest or low >= highest:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), but {dtype} only "
                         f"supports [{lowest}, {highest})")
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
    return (math.ceil(low), math.ceil(high)) if exact else (low, high)


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False, memory_format=None):
    """A tensor of shape filled with values drawn uniformly from [low, high): by default [-9, 9) for
    floating and complex dtypes, [-9, 10) for integers (clamped to the dtype: [0, 10) for uint8), False
    or True for bool. Draws from the generator as PyTorch does, so a seed gives PyTorch's values."""
    from ._ops.creation import empty, randint
    from ._ops.views import view_as_real
    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually exclusive, but got "
                         f"noncontiguous={noncontiguous!r} and memory_format={memory_format!r}")
    floating = dtype.is_floating_point or dtype.is_complex
    if requires_grad and not floating:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got "
                         f"dtype={dtype}")
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:               # twice the last dimension, of which every other element is kept
        shape = (*shape[:-1], 2 * shape[-1])
    if dtype is _dtype.bool:
        low, high = _bounds(dtype, low, high, 0, 2, 0, 2)
        t = randint(low, high, shape, device=device, dtype=dtype)
    elif not floating:
        info = _dtype.iinfo(dtype)
        # randint's bounds go through int64, which cannot hold int64's max + 1
        highest = info.max + (0 if dtype is _dtype.int64 else 1)
        low, high = _bounds(dtype, low, high, info.min, highest, -9, 10)
        t = randint(low, high, shape, device=device, dtype=dtype)
    else:
        info = _dtype.finfo(dtype)
        low, high = _bounds(dtype, low, high, info.min, info.max, -9, 9)
        t = empty(shape, device=device, dtype=dtype)
        target = view_as_real(t) if dtype.is_complex else t
        if high - low >= info.max:      # uniform_ needs high - low to be finite in dtype: draw half the range
            target.uniform_(low / 2, high / 2).mul_(2)
        else:
            target.uniform_(low, high)
    if noncontiguous:
        t = t[..., 1::2]
    elif memory_format is not None:
        t = t.clone(memory_format=memory_format)
    if exclude_zero:
        t[t == 0] = 1 if not floating else info.tiny
    if floating:
        t.requires_grad_(requires_grad)
    return t
