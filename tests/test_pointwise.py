"""Pointwise ops against torch: values, dtypes, shapes and error types, for every dtype and layout."""
import math
import operator

import numpy as np
import pytest
import torch

import flambeau
from _oracle import assert_same, check_against_torch, gradcheck, on_device, host_reads, same_error

DTYPES = ["float16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool", "complex64",
          "complex128"]

# dtypes whose results numpy computes with a different rounding than torch's kernels
TOL = {"float16": (2e-3, 1e-3), "float32": (2e-5, 1e-6), "complex64": (2e-5, 1e-6)}


def sample(dtype, special=False):
    """A 2x4 array of values valid for dtype (with inf/nan for float when special)."""
    if dtype == "bool":
        return np.array([[True, False, True, True], [False, False, True, False]])
    if dtype == "uint8":
        return np.array([[0, 1, 2, 3], [7, 10, 100, 250]], dtype=np.uint8)
    if dtype.startswith("int"):
        return np.array([[-3, -1, 0, 1], [2, 5, 7, 100]], dtype=dtype)
    base = np.array([[-2.5, -1.0, -0.5, 0.0], [0.3, 1.0, 2.7, 4.0]])
    if special:
        base = np.array([[-np.inf, -1.0, np.nan, 0.0], [0.3, 1.0, np.inf, 4.0]])
    if dtype.startswith("complex"):
        return (base + 1j * base[::-1, ::-1]).astype(dtype)
    return base.astype(dtype)


def layouts(lib, arr, dtype):
    """The same values as contiguous, transposed, strided, expanded, zero-size and 0-dim tensors."""
    dt = getattr(lib, dtype)
    t = lib.tensor(arr, dtype=dt)
    yield "contiguous", t
    yield "transposed", lib.tensor(arr.T.copy(), dtype=dt).t()
    yield "strided", lib.tensor(np.repeat(arr, 2, axis=1), dtype=dt)[:, ::2]
    yield "expanded", t[:1].expand(3, 4)
    yield "zero-size", t[:, :0]
    yield "0-dim", t[1, 2]


def run(fn, *args):
    try:
        return fn(*args), None
    except Exception as e:          # the oracle's exception type is part of the contract
        return None, e


def on(device, ours):
    """Each flambeau tensor in ours (a tensor or a sequence of them) is on device."""
    for o in (ours if isinstance(ours, (tuple, list)) else (ours,)):
        if isinstance(o, flambeau.Tensor):
            assert o.device.type == flambeau.device(device).type, f"result on {o.device}, expected {device}"
    return ours


def compare(name, fn, *arg_pairs, tol=None, device="cpu"):
    """fn on flambeau args (on device) and on torch args: same exception type, or same values/dtype/shape.
    A pointwise op computes on the device: it never reads values back to the host."""
    with host_reads() as reads:
        ours, e1 = run(fn, on_device(flambeau, device), *[a for a, _ in arg_pairs])
    ref, e2 = run(fn, torch, *[b for _, b in arg_pairs])
    if e2 is not None:
        if device != "cpu" and str(e2) == "ZeroDivisionError":
            return          # torch's CUDA kernels do not check integer divisors: that would read them on the host
        assert e1 is not None, f"{name}: torch raised {type(e2).__name__}({e2}) but flambeau returned {ours}"
        assert isinstance(e1, type(e2)) or type(e2) in type(e1).__mro__, \
            f"{name}: torch raised {type(e2).__name__}, flambeau raised {type(e1).__name__}({e1})"
        return
    assert e1 is None, f"{name}: flambeau raised {type(e1).__name__}({e1}), torch returned {ref}"
    on(device, ours)
    assert reads[0] == 0, f"{name}: {reads[0]} reads of device values by the host"
    rtol, atol = tol or (1e-12, 0)
    for r in (ref if isinstance(ref, (tuple, list)) else (ref,)):
        if isinstance(r, torch.Tensor):      # numpy's float32/16 kernels round differently from torch's
            rtol, atol = max(rtol, TOL.get(str(r.dtype)[6:], (0, 0))[0]), max(atol, TOL.get(str(r.dtype)[6:], (0, 0))[1])
    try:
        assert_same(ours, ref, rtol=rtol, atol=atol)
    except AssertionError as e:
        raise AssertionError(f"{name}: {e}") from None


UNARY = ["abs", "neg", "exp", "exp2", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "square", "sin",
         "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "relu", "erf", "erfc", "sign",
         "floor", "ceil", "round", "trunc", "frac", "reciprocal", "logical_not", "bitwise_not", "isnan", "isinf",
         "isfinite", "nan_to_num", "sgn", "exp2", "positive"]


def _call(lib, t, op):
    if op == "relu":
        return lib.relu(t)
    if op == "positive":
        return +t
    return getattr(lib, op)(t)


@pytest.mark.parametrize("op", sorted(set(UNARY)))
def test_unary_every_dtype_and_layout(op, device):
    F = on_device(flambeau, device)
    for dtype in DTYPES:
        for special in (False, True):
            if special and dtype not in ("float32", "float64"):
                continue
            arr = sample(dtype, special)
            ours_l, ref_l = layouts(F, arr, dtype), layouts(torch, arr, dtype)
            for (lay, a), (_, b) in zip(ours_l, ref_l):
                compare(f"{op}({dtype}, {lay})", lambda lib, x: _call(lib, x, op), (a, b),
                        tol=TOL.get(dtype, (1e-7, 1e-12)), device=device)


@pytest.mark.parametrize("op", sorted(set(UNARY) - {"isnan", "isinf", "isfinite", "positive"}))
def test_unary_inplace_every_dtype(op, device):
    F = on_device(flambeau, device)
    for dtype in DTYPES:
        arr = sample(dtype)
        a, b = F.tensor(arr), torch.tensor(arr)
        name = op + "_"
        if not hasattr(torch.Tensor, name):
            continue
        if name in ("sgn_",) and dtype == "bool":
            continue
        ours, e1 = run(lambda: getattr(a, name)())
        ref, e2 = run(lambda: getattr(b, name)())
        if e2 is not None:
            assert e1 is not None and isinstance(e1, type(e2)), f"{name}({dtype}): torch raised {e2!r}, got {e1!r}"
            continue
        assert e1 is None, f"{name}({dtype}): {e1!r}"
        assert ours is a, f"{name} must return self"
        on(device, a)
        assert_same(a, b, *TOL.get(dtype, (1e-7, 1e-12)))


def test_round_decimals_and_clamp_bounds(device):
    F = on_device(flambeau, device)
    arr = np.array([[1.2345, -2.5, 0.5, 1.5], [2.5, -0.125, 100.45, -7.05]])
    for d in (0, 1, 2, -1):
        compare(f"round(decimals={d})", lambda lib, x: lib.round(x, decimals=d),
                (F.tensor(arr), torch.tensor(arr)), device=device)
    for dtype in ("float32", "int64", "uint8", "int16"):
        a, b = F.tensor(sample(dtype)), torch.tensor(sample(dtype))
        for lo, hi in ((0, 3), (-1.5, 2.5), (None, 2), (1, None), (5, 1)):
            compare(f"clamp({dtype}, {lo}, {hi})", lambda lib, x: lib.clamp(x, lo, hi), (a, b), device=device)
            compare(f"clip({dtype}, {lo}, {hi})", lambda lib, x: x.clip(min=lo, max=hi), (a, b), device=device)
        lo_a = np.array([0, 1, 2, 3])
        compare(f"clamp tensor bounds {dtype}",
                lambda lib, x, lo: lib.clamp(x, min=lo, max=lo + 2),
                (a, b), (F.tensor(lo_a), torch.tensor(lo_a)), device=device)
    compare("clamp none", lambda lib, x: lib.clamp(x), (F.ones(2), torch.ones(2)), device=device)
    a, b = F.tensor(arr), torch.tensor(arr)
    a.clamp_(-1, 1), b.clamp_(-1, 1)
    assert_same(a, b)
    a, b = F.tensor([1, 5, 9]), torch.tensor([1, 5, 9])
    compare("clamp_ int by float", lambda lib, x: x.clamp_(0.5, 2.5), (a, b), device=device)


def _pair_inputs(da, db):
    x, y = sample(da), sample(db)[::-1]
    return x, np.ascontiguousarray(y)


BINARY = {
    "add": lambda lib, x, y: x + y, "sub": lambda lib, x, y: x - y, "mul": lambda lib, x, y: x * y,
    "div": lambda lib, x, y: x / y, "floordiv": lambda lib, x, y: x // y, "mod": lambda lib, x, y: x % y,
    "pow": lambda lib, x, y: x ** y, "fmod": lambda lib, x, y: lib.fmod(x, y),
    "remainder": lambda lib, x, y: lib.remainder(x, y), "atan2": lambda lib, x, y: lib.atan2(x, y),
    "hypot": lambda lib, x, y: lib.hypot(x, y), "maximum": lambda lib, x, y: lib.maximum(x, y),
    "minimum": lambda lib, x, y: lib.minimum(x, y), "eq": lambda lib, x, y: x == y,
    "ne": lambda lib, x, y: x != y, "lt": lambda lib, x, y: x < y, "le": lambda lib, x, y: x <= y,
    "gt": lambda lib, x, y: x > y, "ge": lambda lib, x, y: lib.ge(x, y),
    "logical_and": lambda lib, x, y: lib.logical_and(x, y), "logical_or": lambda lib, x, y: lib.logical_or(x, y),
    "logical_xor": lambda lib, x, y: lib.logical_xor(x, y), "and": lambda lib, x, y: x & y,
    "or": lambda lib, x, y: x | y, "xor": lambda lib, x, y: x ^ y, "matmul": lambda lib, x, y: x @ y.T,
    "div_trunc": lambda lib, x, y: lib.div(x, y, rounding_mode="trunc"),
    "div_floor": lambda lib, x, y: lib.div(x, y, rounding_mode="floor"),
    "add_alpha": lambda lib, x, y: lib.add(x, y, alpha=2), "sub_alpha": lambda lib, x, y: lib.sub(x, y, alpha=3),
}
# integer division by zero raises in torch; samples avoid zero divisors for those
NONZERO = {"floordiv", "mod", "fmod", "remainder", "div_trunc", "div_floor"}


def _no_zero(arr):
    arr = arr.copy()
    if arr.dtype == np.bool_:
        return np.ones_like(arr)
    arr[arr == 0] = 3
    return arr


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_all_dtype_pairs(op, device):
    F = on_device(flambeau, device)
    fn = BINARY[op]
    for da in DTYPES:
        for db in DTYPES:
            if op == "matmul" and ("float16" in (da, db) or da == db == "bool"):
                continue      # half and bool matmul: kernels torch's CPU build lacks, not checked here
            x, y = _pair_inputs(da, db)
            if op in NONZERO:
                y = _no_zero(y)
            if op == "pow" and db not in ("bool",) and da != "bool":
                y = np.abs(y) % 4 if not y.dtype.kind == "c" else y
            tol = TOL.get(str(np.promote_types(x.dtype, y.dtype)), (1e-7, 1e-12))
            if "float16" in (da, db) or op in ("pow", "matmul"):
                tol = (2e-3, 1e-3)
            compare(f"{op}({da}, {db})", fn, (F.tensor(x), torch.tensor(x)),
                    (F.tensor(y), torch.tensor(y)), tol=tol, device=device)


SCALARS = [True, 0, 3, -2, 2.5, -0.5, 1 + 2j, np.float64(1.5), np.int64(2)]


def _complex32(dtype, s):
    """torch promotes float16 with a complex scalar to complex32, a dtype flambeau does not have."""
    return dtype == "float16" and isinstance(s, complex)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "floordiv", "mod", "pow", "eq", "lt", "and",
                                "maximum_s"])
def test_binary_with_python_scalars_both_sides(op, device):
    F = on_device(flambeau, device)
    fn = BINARY.get(op)
    for dtype in DTYPES:
        for s in SCALARS:
            if op in NONZERO and s == 0:
                continue
            if op == "and" and isinstance(s, (float, complex, np.floating)) or _complex32(dtype, s):
                continue
            for zero_dim in (False, True):
                arr = sample(dtype)
                a, b = F.tensor(arr), torch.tensor(arr)
                if zero_dim:
                    a, b = a[1, 1], b[1, 1]
                tol = (2e-3, 1e-3) if dtype in ("float16",) or op == "pow" else TOL.get(dtype, (1e-6, 1e-12))
                if op == "maximum_s":
                    compare(f"clamp_min({dtype}, {s!r})", lambda lib, x: lib.clamp_min(x, s)
                            if not isinstance(s, complex) else x, (a, b), tol=tol, device=device)
                    continue
                compare(f"{op}({dtype}{'[0-d]' if zero_dim else ''}, {s!r})", lambda lib, x: fn(lib, x, s), (a, b),
                        tol=tol, device=device)
                compare(f"{op}({s!r}, {dtype}{'[0-d]' if zero_dim else ''})", lambda lib, x: fn(lib, s, x)
                        if not isinstance(s, np.generic) else fn(lib, x, s), (a, b), tol=tol, device=device)


def test_zero_dim_tensors_take_part_in_promotion_like_scalars(device):
    F = on_device(flambeau, device)
    pairs = [("float32", "float64"), ("int32", "int64"), ("uint8", "int8"), ("int64", "float32"),
             ("bool", "int8"), ("float16", "int64"), ("int8", "complex128"), ("float16", "float64")]
    for da, db in pairs:
        for da_dim, db_dim in ((1, 0), (0, 1), (0, 0)):
            x, y = sample(da), sample(db)
            a = (F.tensor(x), torch.tensor(x))
            b = (F.tensor(y), torch.tensor(y))
            if not da_dim:
                a = (a[0][1, 1], a[1][1, 1])
            if not db_dim:
                b = (b[0][1, 1], b[1][1, 1])
            for op, fn in (("add", lambda lib, u, v: u + v), ("mul", lambda lib, u, v: u * v)):
                compare(f"{op}({da}/{da_dim}, {db}/{db_dim})", fn, a, b, tol=(2e-3, 1e-3), device=device)


INPLACE = {"add_": operator.iadd, "sub_": operator.isub, "mul_": operator.imul, "div_": operator.itruediv,
           "floordiv_": operator.ifloordiv, "mod_": operator.imod, "pow_": operator.ipow,
           "and_": operator.iand, "or_": operator.ior, "xor_": operator.ixor}


@pytest.mark.parametrize("op", sorted(INPLACE))
def test_inplace_operators_cast_rules_and_views(op, device):
    """x op= y writes into x's storage (seen through views) or raises torch's casting error."""
    F = on_device(flambeau, device)
    fn = INPLACE[op]
    for da in DTYPES:
        for db in DTYPES:
            x, y = _pair_inputs(da, db)
            if op in ("floordiv_", "mod_"):
                y = _no_zero(y)
            if op == "pow_":
                y = np.abs(y) % 3 if y.dtype.kind != "c" else y
            a, b = F.tensor(x), torch.tensor(x)
            va, vb = a.view(-1), b.view(-1)           # views see the write
            ours, e1 = run(fn, a, F.tensor(y))
            ref, e2 = run(fn, b, torch.tensor(y))
            where = f"{op}({da}, {db})"
            if e2 is not None:
                assert e1 is not None and isinstance(e1, type(e2)), f"{where}: torch raised {e2!r}, flambeau {e1!r}"
                if "can't be cast" in str(e2):
                    assert str(e1) == str(e2), f"{where}: message {e1} != {e2}"
                continue
            assert e1 is None, f"{where}: flambeau raised {e1!r}"
            assert ours is a, f"{where}: in-place operator must return the same tensor"
            tol = (2e-3, 1e-3) if da == "float16" or op == "pow_" else TOL.get(da, (1e-7, 1e-12))
            assert_same(va, vb, *tol)


def test_inplace_through_view_updates_base_and_version(device):
    F = on_device(flambeau, device)
    a, b = F.zeros(3, 4), torch.zeros(3, 4)
    for lib, t in ((F, a), (torch, b)):
        col = t[:, 1]
        col += 5
        row = t[2]
        row *= 2
        t.t()[3].sub_(1, alpha=2)
    assert_same(a, b)
    v0 = a._version
    a.add_(1)
    assert a._version == v0 + 1


def test_inplace_casting_error_message(device):
    F = on_device(flambeau, device)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        F.tensor([1, 2]).add_(1.5)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        x = F.tensor([1, 2])
        x /= 2


def test_int_true_division_gives_default_float(device):
    F = on_device(flambeau, device)
    for default in (flambeau.float64, flambeau.float32):
        flambeau.set_default_dtype(default)
        torch.set_default_dtype(getattr(torch, str(default).split(".")[1]))
        try:
            ints = (F.tensor([3, 5]), torch.tensor([3, 5]))
            compare("int / int", lambda lib, x: x / lib.tensor([2, 4]), ints, device=device)
            compare("int / 2", lambda lib, x: x / 2, ints, device=device)
            compare("int * 2.5", lambda lib, x: x * 2.5, ints, device=device)
        finally:
            flambeau.set_default_dtype(flambeau.float32)
            torch.set_default_dtype(torch.float32)


def test_bool_subtraction_and_negative_int_power_raise(device):
    for fn in (lambda lib: lib.tensor([True]) - lib.tensor([False]), lambda lib: -lib.tensor([True]),
               lambda lib: lib.tensor([2, 3]) ** -1, lambda lib: lib.tensor([2]) ** lib.tensor([-2]),
               lambda lib: lib.tensor([1.0]) - True):
        compare("error", fn, device=device)


@pytest.mark.parametrize("code", ["b - b", "b - True", "b - 1", "1 - b", "x - b", "torch.sub(b, b)", "b.clone().sub_(b)",
                                  "torch.rsub(b, b)", "-b"])
def test_bool_subtraction_messages_are_torchs(code, device):
    messages = []
    for lib in (torch, on_device(flambeau, device)):
        with pytest.raises(RuntimeError) as info:
            eval(code, {"torch": lib, "b": lib.tensor([True, False]), "x": lib.tensor([1, 2])})
        messages.append(str(info.value))
    assert messages[1] == messages[0]


def test_pow_special_cases(device):
    F = on_device(flambeau, device)
    compare("0**0", lambda lib, x: x ** 0, (F.zeros(3), torch.zeros(3)), device=device)
    compare("2**x", lambda lib, x: 2 ** x, (F.tensor([1, 2, 3]), torch.tensor([1, 2, 3])), device=device)
    compare("2.5**int", lambda lib, x: 2.5 ** x, (F.tensor([1, 2, 3]), torch.tensor([1, 2, 3])), device=device)
    compare("float_power", lambda lib, x: lib.float_power(x, 2), (F.tensor([1, 2]), torch.tensor([1, 2])),
            device=device)
    compare("int ** 0.5", lambda lib, x: x ** 0.5, (F.tensor([4, 9]), torch.tensor([4, 9])), device=device)


def test_lerp_and_scalar_weight_and_inplace(device):
    F = on_device(flambeau, device)
    x, y, w = np.random.default_rng(0).standard_normal((3, 2, 3))
    for weight in (0.3, None):
        compare("lerp", lambda lib, s, e, ww: lib.lerp(s, e, 0.3 if weight else ww),
                (F.tensor(x), torch.tensor(x)), (F.tensor(y), torch.tensor(y)),
                (F.tensor(w), torch.tensor(w)), device=device)
    check_against_torch(lambda lib, s, e, ww: lib.lerp(s, e, ww), (2, 3), (2, 3), (3,), device=device)
    a, b = F.tensor(x), torch.tensor(x)
    a.lerp_(F.tensor(y), 0.5), b.lerp_(torch.tensor(y), 0.5)
    assert_same(a, b)


def test_nan_to_num_and_predicates(device):
    F = on_device(flambeau, device)
    arr = np.array([np.nan, np.inf, -np.inf, 1.0, -0.0], dtype=np.float32)
    for kw in ({}, {"nan": 2.0}, {"posinf": 9.0, "neginf": -9.0}):
        compare("nan_to_num", lambda lib, x: lib.nan_to_num(x, **kw), (F.tensor(arr), torch.tensor(arr)),
                device=device)
    a, b = F.tensor(arr), torch.tensor(arr)
    a.nan_to_num_(nan=1.0), b.nan_to_num_(nan=1.0)
    assert_same(a, b)


def test_isclose_allclose_equal(device):
    F = on_device(flambeau, device)
    x = np.array([1.0, 1.0 + 1e-9, np.nan, 2.0])
    y = np.array([1.0, 1.0, np.nan, 2.1])
    pairs = ((F.tensor(x), torch.tensor(x)), (F.tensor(y), torch.tensor(y)))
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.1}, {"atol": 0.0, "rtol": 0.0}):
        compare("isclose", lambda lib, u, v: lib.isclose(u, v, **kw), *pairs, device=device)
        ours = flambeau.allclose(pairs[0][0], pairs[1][0], **kw)
        assert ours == torch.allclose(pairs[0][1], pairs[1][1], **kw)
    ia, ib = F.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    compare("isclose int", lambda lib, u: lib.isclose(u, u + 0), (ia, ib), device=device)
    assert flambeau.equal(F.tensor([1, 2]), F.tensor([1, 2])) is True
    assert flambeau.equal(F.tensor([1, 2]), F.tensor([[1, 2]])) is False
    assert flambeau.equal(F.tensor([1, 2]), F.tensor([1.0, 2.0])) == \
        torch.equal(torch.tensor([1, 2]), torch.tensor([1.0, 2.0]))


def test_float32_log10_of_powers_of_ten_is_exact_as_torch(device):
    # NumPy's float32 log10(100) is 2.0000002: printed as 2.0000 where torch prints 2.
    x = np.array([10.0 ** k for k in range(-30, 31)] + [0.5, 3.0, 7e5], dtype=np.float32)
    ours, ref = on_device(flambeau, device).tensor(x).log10(), torch.tensor(x).log10()
    assert_same(ours, ref, rtol=0, atol=0, device=device)
    ours_inplace = on_device(flambeau, device).tensor(x)
    ours_inplace.log10_()
    assert_same(ours_inplace, ref, rtol=0, atol=0, device=device)
    assert repr(flambeau.tensor([float("nan"), 100.0]).log10()) == repr(torch.tensor([float("nan"), 100.0]).log10())


def test_comparison_inplace_and_logical_inplace(device):
    F = on_device(flambeau, device)
    x = np.array([1.0, 2.0, 3.0])
    for name in ("eq_", "ne_", "lt_", "le_", "gt_", "ge_", "logical_and_", "logical_or_", "logical_xor_"):
        a, b = F.tensor(x), torch.tensor(x)
        getattr(a, name)(F.tensor([2.0, 2.0, 0.0]))
        getattr(b, name)(torch.tensor([2.0, 2.0, 0.0]))
        assert_same(a, b)
    a, b = F.tensor(x), torch.tensor(x)
    a.logical_not_(), b.logical_not_()
    assert_same(a, b)


def test_bitwise_ops_and_shifts(device):
    F = on_device(flambeau, device)
    x = np.array([[1, 6, -3, 127]], dtype=np.int8)
    a, b = F.tensor(x), torch.tensor(x)
    for fn in (lambda lib, t: t << 1, lambda lib, t: t >> 1, lambda lib, t: ~t, lambda lib, t: 3 & t,
               lambda lib, t: lib.bitwise_left_shift(t, 2), lambda lib, t: t ^ 5, lambda lib, t: 5 | t):
        compare("bitwise", fn, (a, b), device=device)
    compare("bitwise float", lambda lib, t: t.float() & t.float(), (a, b), device=device)


def test_fill_zero_copy_broadcast_and_dtype(device):
    F = on_device(flambeau, device)
    a, b = F.zeros(2, 3, dtype=flambeau.int32), torch.zeros(2, 3, dtype=torch.int32)
    a.fill_(2.7), b.fill_(2.7)
    assert_same(a, b)
    a[0].fill_(F.tensor(5)), b[0].fill_(torch.tensor(5))
    assert_same(a, b)
    a.t()[1].zero_(), b.t()[1].zero_()
    assert_same(a, b)
    src = np.array([1.5, -2.5, 3.9])
    a.copy_(F.tensor(src)), b.copy_(torch.tensor(src))
    assert_same(a, b)
    fa, fb = F.zeros(3, 2), torch.zeros(3, 2)
    fa.t().copy_(F.tensor([[1, 2, 3], [4, 5, 6]])), fb.t().copy_(torch.tensor([[1, 2, 3], [4, 5, 6]]))
    assert_same(fa, fb)
    compare("copy_ bad shape", lambda lib, t: t.copy_(lib.ones(4)), (F.zeros(2, 3), torch.zeros(2, 3)), device=device)
    compare("fill_ 1-d value", lambda lib, t: t.fill_(lib.ones(2)), (F.zeros(2), torch.zeros(2)), device=device)
    ca, cb = F.zeros(2, dtype=flambeau.bool), torch.zeros(2, dtype=torch.bool)
    ca.copy_(F.tensor([0.0, 0.5])), cb.copy_(torch.tensor([0.0, 0.5]))
    assert_same(ca, cb)


def test_matmul_operator_shapes(device):
    F = on_device(flambeau, device)
    rng = np.random.default_rng(1)
    for sa, sb in (((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((5, 2, 3), (3, 4)), ((2, 1, 2, 3), (4, 3, 2))):
        x, y = rng.standard_normal(sa), rng.standard_normal(sb)
        compare(f"matmul {sa} {sb}", lambda lib, u, v: u @ v, (F.tensor(x), torch.tensor(x)),
                (F.tensor(y), torch.tensor(y)), device=device)


def test_new_tensor_family(device):
    F = on_device(flambeau, device)
    for lib_t, ref_t in ((F.ones(2, dtype=flambeau.int16), torch.ones(2, dtype=torch.int16)),
                         (F.ones(2, dtype=flambeau.float64), torch.ones(2, dtype=torch.float64))):
        for fn in (lambda lib, t: t.new_tensor([1, 2.5]), lambda lib, t: t.new_zeros(2, 3),
                   lambda lib, t: t.new_ones((3,)), lambda lib, t: t.new_empty(0, 2),
                   lambda lib, t: t.new_full((2, 2), 7), lambda lib, t: t.new_zeros(2, dtype=lib.bool),
                   lambda lib, t: t.new_tensor(3)):
            ours, ref = fn(F, lib_t), fn(torch, ref_t)
            assert tuple(ours.shape) == tuple(ref.shape) and str(ours.dtype) == str(ref.dtype)
            if "empty" not in str(fn):
                assert_same(ours, ref)
    t = F.ones(2).new_ones(2, requires_grad=True)
    assert t.requires_grad


@pytest.mark.parametrize("op", ["exp", "log", "sqrt", "sin", "tanh", "sigmoid", "erf", "atan", "rsqrt", "expm1",
                                "log1p", "reciprocal", "abs", "square", "asin", "cosh", "frac", "exp2"])
def test_unary_gradients(op, device):
    positive = op in ("log", "sqrt", "rsqrt", "log1p")
    scale = (lambda lib, x: x * 0.5) if op == "asin" else (lambda lib, x: x)
    check_against_torch(lambda lib, x: getattr(lib, op)(scale(lib, x)) if op != "frac" else x.frac(), (3, 4),
                        device=device, positive=positive)


@pytest.mark.parametrize("expr", [
    lambda lib, x, y: x + y * 2 - y / (x * x + 1), lambda lib, x, y: lib.atan2(x, y),
    lambda lib, x, y: lib.hypot(x, y), lambda lib, x, y: lib.maximum(x, y) * lib.minimum(x, y),
    lambda lib, x, y: x.abs() ** y, lambda lib, x, y: 2.0 ** x + x ** 3, lambda lib, x, y: lib.clamp(x, -0.5, 0.5),
    lambda lib, x, y: lib.fmod(x, 0.7) + lib.remainder(x, 0.7), lambda lib, x, y: 1 - x + 1 / (y.abs() + 1),
    lambda lib, x, y: lib.clamp(x, min=y), lambda lib, x, y: lib.lerp(x, y, 0.25)])
def test_binary_gradients(expr, device):
    check_against_torch(expr, (3, 4), (4,), device=device)


def test_inplace_ops_record_gradients(device):
    def fn(lib, x):
        y = x * 1
        y += 2
        y.mul_(x)
        y[0].sin_()
        y.clamp_(-3, 3)
        return y
    check_against_torch(fn, (3, 4), device=device)
    check_against_torch(lambda lib, x: (x * 1).exp_().mul(x).sub_(x), (2, 3), device=device)
    gradcheck(lambda lib, x: (x * 1).mul_(x).add_(x).tanh_(), (2, 3), device=device)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "bool", "complex64"])
def test_conversion_methods(dtype, device):
    F = on_device(flambeau, device)
    arr = sample(dtype)
    a, b = F.tensor(arr), torch.tensor(arr)
    for m in ("float", "double", "half", "long", "int", "short", "byte", "bool", "char"):
        compare(f"{dtype}.{m}()", lambda lib, t: getattr(t, m)(), (a, b), tol=(2e-3, 1e-3), device=device)
    for d in DTYPES:
        for how in ("to", "type"):
            compare(f"{dtype}.{how}({d})", lambda lib, t: getattr(t, how)(getattr(lib, d)), (a, b), tol=(2e-3, 1e-3),
                    device=device)
    assert a.type() == b.type().replace("torch.", "torch." if device == "cpu" else "torch.cuda.")
    double = a.type("torch.DoubleTensor")                # the legacy name names the device too: the CPU here
    assert double.dtype is flambeau.float64 and double.device.type == "cpu"
    assert_same(double, b.type("torch.DoubleTensor"))
    assert (a.float() is a) == (b.float() is b) and a.to(a.dtype) is a


def test_float_to_int_conversion_truncates_and_wraps_like_torch(device):
    F = on_device(flambeau, device)
    arr = np.array([-2.7, -0.5, 0.5, 2.7, 300.7, -200.2, 1e10, np.nan, np.inf, 255.9, 256.0, 70000.0])
    ints = np.array([-1, 300, 70000, -70000, 2 ** 40])
    for d in ("uint8", "int8", "int16", "int32", "int64", "bool", "float16"):
        for name, values in (("float64", arr), ("int64", ints)):
            compare(f"{name} -> {d}", lambda lib, t: t.to(getattr(lib, d)), (F.tensor(values), torch.tensor(values)),
                    device=device)


def test_to_variants(device):
    F = on_device(flambeau, device)
    x = np.array([[1.5, -2.0]])
    for fn in (lambda lib, t: t.to(lib.float64), lambda lib, t: t.to(t.device, lib.int32),
               lambda lib, t: t.to(device=t.device, dtype=lib.float16), lambda lib, t: t.to(lib.ones(1, dtype=lib.int8)),
               lambda lib, t: t.to(t.dtype, copy=True), lambda lib, t: t.type(lib.int16),
               lambda lib, t: t.type_as(lib.ones(1, dtype=lib.uint8)), lambda lib, t: t.to(lib.complex64)):
        compare("to", fn, (F.tensor(x), torch.tensor(x)), device=device)
    t = F.tensor(x)
    assert t.to(t.dtype) is t and t.to(device) is t and t.to(t.dtype, copy=True) is not t
    for to_cpu in (t.to("cpu", flambeau.int32), t.type_as(flambeau.ones(1, dtype=flambeau.int32, device="cpu"))):
        assert to_cpu.device.type == "cpu"               # type_as takes the other's device too, as type() does
        assert_same(to_cpu, torch.tensor(x).int())
    g = F.tensor(x, requires_grad=True).double()
    assert g.grad_fn is None              # float64 -> float64: the same tensor
    h = F.tensor(x, requires_grad=True).float()
    assert h.grad_fn.name() == torch.tensor(x, requires_grad=True).float().grad_fn.name()
    check_against_torch(lambda lib, u: (u.float() * 2).double(), (2, 3), device=device)


# -- properties over random shapes and layouts ----------------------------------------------------
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp                            # noqa: E402


def _layout(lib, arr, how):
    """arr's values as a contiguous, permuted (non-contiguous) or expanded-from-a-row tensor."""
    if how == "permuted" and arr.ndim >= 2:
        return lib.tensor(np.ascontiguousarray(np.moveaxis(arr, 0, -1))).movedim(-1, 0)
    if how == "strided":
        return lib.tensor(np.repeat(arr, 2, axis=-1) if arr.ndim else arr)[..., ::2] if arr.ndim else lib.tensor(arr)
    return lib.tensor(arr)


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       how=st.sampled_from(["contiguous", "permuted", "strided"]), seed=st.integers(0, 2 ** 16),
       op=st.sampled_from(["add", "sub", "mul", "div", "maximum", "atan2", "pow", "lt", "where", "remainder"]))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])     # device is a plain string
def test_broadcasting_binary_ops_match_torch(shapes, how, seed, op, device):
    F = on_device(flambeau, device)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shapes.input_shapes[0]).astype(np.float32)
    y = (rng.standard_normal(shapes.input_shapes[1]) + 3).astype(np.float32)
    fns = {"add": lambda lib, a, b: a + b, "sub": lambda lib, a, b: lib.sub(a, b, alpha=2),
           "mul": lambda lib, a, b: a * b, "div": lambda lib, a, b: a / b, "maximum": lambda lib, a, b: lib.maximum(a, b),
           "atan2": lambda lib, a, b: lib.atan2(a, b), "pow": lambda lib, a, b: b ** a, "lt": lambda lib, a, b: a < b,
           "where": lambda lib, a, b: lib.where(a > 0, a, b), "remainder": lambda lib, a, b: a % b}
    ours = fns[op](F, _layout(F, x, how), _layout(F, y, how))
    ref = fns[op](torch, _layout(torch, x, how), _layout(torch, y, how))
    assert tuple(ours.shape) == tuple(np.broadcast_shapes(x.shape, y.shape))
    on(device, ours)
    assert_same(ours, ref, rtol=2e-5, atol=1e-6)


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), seed=st.integers(0, 2 ** 16),
       dtype=st.sampled_from(["float32", "int64", "uint8"]))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_inplace_add_is_seen_by_every_view(shape, seed, dtype, device):
    F = on_device(flambeau, device)
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 50, shape).astype(dtype)
    a, b = F.tensor(arr), torch.tensor(arr)
    for t in (a, b):
        view = t.view(-1) if t.numel() else t
        tail = t[..., :1]
        tail += 3
        view.mul_(2)
    assert_same(a, b)


def test_more_binary_math_against_torch(device):
    F = on_device(flambeau, device)
    x = np.array([[0.0, 1.0, -2.5, 3.0], [np.inf, -np.inf, 0.5, -0.0]])
    y = np.array([[0.0, 2.0, np.nan, -1.0], [np.inf, -np.inf, -0.0, 4.0]])
    pairs = ((F.tensor(x), torch.tensor(x)), (F.tensor(y), torch.tensor(y)))
    for fn in (lambda lib, a, b: lib.xlogy(a, b), lambda lib, a, b: lib.logaddexp(a, b),
               lambda lib, a, b: lib.copysign(a, b), lambda lib, a, b: lib.heaviside(a, b),
               lambda lib, a, b: lib.nextafter(a, b), lambda lib, a, b: lib.xlogy(2, b.abs()),
               lambda lib, a, b: lib.copysign(a, -0.0), lambda lib, a, b: a.float_power(2),
               lambda lib, a, b: lib.mvlgamma(a.abs() + 2, 3)):
        compare("binary math", fn, *pairs, device=device)
    ints = (F.tensor([0, 1, 2]), torch.tensor([0, 1, 2]))
    for fn in (lambda lib, a: lib.xlogy(a, a), lambda lib, a: lib.logaddexp(a, a), lambda lib, a: lib.copysign(a, -a),
               lambda lib, a: lib.nextafter(a, a), lambda lib, a: lib.heaviside(a, a.float())):
        compare("int operands", fn, ints, device=device)
    for name, args in (("xlogy_", (2.0,)), ("copysign_", (-1.0,)), ("arctan2_", (1.0,)), ("negative_", ()),
                       ("absolute_", ()), ("fix_", ()), ("logit_", ()), ("float_power_", (2,))):
        a, b = F.tensor([0.25, 0.5]), torch.tensor([0.25, 0.5])
        compare(name, lambda lib, t: getattr(t, name)(*args), (a, b), device=device)
    a, b = F.tensor([0.25, 0.5], dtype=flambeau.float64), torch.tensor([0.25, 0.5], dtype=torch.float64)
    compare("float_power_ double", lambda lib, t: t.float_power_(2), (a, b), device=device)
    for lib in (F, torch):
        t = lib.zeros(3)
        lib.fill_(t, 2.0)
        assert t.tolist() == [2.0, 2.0, 2.0]
        lib.zero_(t)
        assert t.tolist() == [0.0, 0.0, 0.0]
    check_against_torch(lambda lib, a, b: lib.xlogy(a.abs() + 0.1, b.abs() + 0.5) + lib.logaddexp(a, b)
                        + lib.copysign(a, b), (3, 4), (4,), device=device)
    check_against_torch(lambda lib, a, b: (a * 1).xlogy_(b.abs() + 1), (2, 3), (2, 3), device=device)


def test_copysign_backward_gives_other_a_zero_grad_as_torch(device):
    # other's grad is zeros (not None), and the node is named as PyTorch names it
    check_against_torch(lambda lib, a, b: lib.copysign(a, b), (3, 4), (4,), device=device)
    for lib in (flambeau, torch):
        x = lib.tensor([1.0, -2.0, 0.0], requires_grad=True)
        assert type(lib.copysign(x, -1.0).grad_fn).__name__ == "CopysignBackward1"
        assert type(lib.copysign(x, x).grad_fn).__name__ == "CopysignBackward0"


def test_heaviside_records_a_node_whose_backward_refuses(device):
    # PyTorch's forward succeeds with a NotImplemented grad_fn; backward() raises
    for lib in (on_device(flambeau, device), torch):
        x = lib.zeros(2, requires_grad=True)
        y = lib.heaviside(x, lib.tensor(0.5))
        assert type(y.grad_fn).__name__ == "NotImplemented" and y.tolist() == [0.5, 0.5]
    same_error(lambda lib: lib.heaviside(lib.zeros(2, requires_grad=True), lib.tensor(0.5)).sum().backward(),
               device=device)


def test_inplace_into_expanded_tensor_raises_like_torch(device):
    for fn in (lambda lib: lib.zeros(1).expand(3).add_(1), lambda lib: lib.zeros(1).expand(3).mul_(2),
               lambda lib: lib.zeros(1).expand(3).exp_(), lambda lib: lib.zeros(1).expand(3).clamp_(0, 1),
               lambda lib: lib.zeros(1, 3).expand(2, 3).copy_(lib.ones(2, 3)),
               lambda lib: lib.zeros(1).expand(3).uniform_()):
        compare("expanded in-place", fn, device=device)
    compare("fill_ expanded", lambda lib: lib.zeros(1).expand(3).fill_(2), device=device)
    compare("expanded source", lambda lib: lib.zeros(3).add_(lib.ones(1).expand(3)), device=device)


def test_mixed_devices_raise_naming_both_and_cpu_scalars_join(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    x, host = flambeau.ones(2, 3, device=device), flambeau.ones(2, 3)
    for name, fn in (("add", lambda a, b: a + b), ("mul", lambda a, b: b * a), ("maximum", flambeau.maximum),
                     ("atan2", flambeau.atan2), ("eq", lambda a, b: a == b), ("matmul", lambda a, b: a @ b.t()),
                     ("where", lambda a, b: flambeau.where(a > 0, a, b)), ("lerp", lambda a, b: flambeau.lerp(a, b, 0.5)),
                     ("clamp", lambda a, b: flambeau.clamp(a, min=b)), ("add_", lambda a, b: a.add_(b)),
                     ("mul_", lambda a, b: b.mul_(a)), ("logical_and", flambeau.logical_and)):
        with pytest.raises(RuntimeError, match="cuda:0.*cpu|cpu.*cuda:0"):
            fn(x, host)
    scalar = flambeau.tensor(2.0)                     # a 0-dim CPU tensor takes part as a scalar, as in torch
    for fn, value in ((lambda: x + scalar, 3.0), (lambda: scalar * x, 2.0), (lambda: flambeau.maximum(x, scalar), 2.0),
                      (lambda: x.clone().add_(scalar), 3.0), (lambda: x ** scalar, 1.0), (lambda: scalar - x, 1.0)):
        out = fn()
        assert out.device == x.device
        assert_same(out, torch.full((2, 3), value))
    copied = x.clone().copy_(host * 4)               # copy_ moves between devices in torch
    assert copied.device == x.device and copied.tolist() == [[4.0] * 3] * 2


def test_logaddexp2_as_torch(device):
    def run(L):
        a = L.tensor([[0.5, -3.0, float("inf"), float("-inf"), 1000.0]], dtype=L.float64, requires_grad=True)
        b = L.tensor([[1.5], [float("-inf")]], dtype=L.float64, requires_grad=True)
        y = L.logaddexp2(a, b)
        (y.nan_to_num() * L.arange(10.0, dtype=L.float64).reshape(2, 5)).sum().backward()
        return type(y.grad_fn).__name__, y, a.grad, b.grad, L.logaddexp2(a.float(), a.float())
    ours, ref = run(on_device(flambeau, device)), run(torch)
    assert ours[0] == ref[0]
    assert_same(list(ours[1:]), list(ref[1:]), device=device)
    check_against_torch(lambda L, a, b: L.logaddexp2(a, b), (3, 4), (4,), device=device)
    with pytest.raises(NotImplementedError, match="logaddexp2_cpu"):
        flambeau.logaddexp2(flambeau.tensor([1], device=device), flambeau.tensor([2], device=device))


def test_logical_ops_compare_in_the_common_dtype(device):
    """A float32 0-d 1e-12 beside a float16 tensor is cast to float16 first (0 there): False, as in torch."""
    F = on_device(flambeau, device)
    for name in ("logical_and", "logical_or", "logical_xor"):
        a, b = np.array([1.0, 0.0], np.float16), np.array(1.2e-12, np.float32)
        ours = getattr(F, name)(F.tensor(a), F.tensor(b))
        ref = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
        assert_same(ours, ref)
        t = F.tensor(a)
        getattr(t, name + "_")(F.tensor(b))
        r = torch.tensor(a)
        getattr(r, name + "_")(torch.tensor(b))
        assert_same(t, r)


# --- choices by bits (Note [Masking without branches]) ---------------------------------------

SELECT_DTYPES = [np.float16, np.float32, np.float64, np.complex64, np.complex128, np.bool_, np.int8, np.uint8,
                 np.int16, np.int32, np.int64, np.uint32]


@pytest.mark.parametrize("dtype", SELECT_DTYPES)
@pytest.mark.parametrize("shapes", [((5000,), (5000,), (5000,)), ((50, 100), (100,), (50, 1)),
                                    ((64, 80), (), (64, 80)), ((64, 80), (64, 80), ()), ((10,), (10,), (10,))])
def test_select_equals_numpy_where_bit_for_bit(dtype, shapes):
    from flambeau._ops.pointwise import select
    rng = np.random.default_rng(3)
    cs, as_, bs = shapes
    cond = rng.random(cs) > 0.5
    a, b = (rng.standard_normal(as_) * 100).astype(dtype), (rng.standard_normal(bs) * 100).astype(dtype)
    if np.dtype(dtype).kind == "f" and a.ndim:
        a.flat[:3] = [np.nan, -0.0, -np.inf]
    got, want = select(cond, a, b), np.where(cond, a, b)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()
    strided = select(cond.T, a.T, b.T) if a.ndim == 2 and b.ndim == 2 else None     # non-contiguous operands
    if strided is not None:
        assert strided.tobytes() == np.where(cond.T, a.T, b.T).tobytes()


@pytest.mark.parametrize("fn", [
    lambda L, x, y: L.where(x > 0, x, y),
    lambda L, x, y: L.sigmoid(x * 20),
    lambda L, x, y: L.nn.functional.elu(x) + L.nn.functional.selu(y),
    lambda L, x, y: L.nn.functional.softplus(x, beta=2, threshold=1),
    lambda L, x, y: L.nn.functional.huber_loss(x, y, reduction="none", delta=0.7),
    lambda L, x, y: L.nn.functional.leaky_relu(x, 0.1) + L.nn.functional.hardtanh(y, -0.5, 0.5),
    lambda L, x, y: L.maximum(x, y) - L.clamp(y, -0.3, 0.2),
])
def test_choices_on_large_random_masks_match_torch(fn):
    """Ops choosing per element between two values, on arrays large enough to choose by bits."""
    check_against_torch(fn, (80, 70), (80, 70))
    check_against_torch(fn, (80, 70), (80, 70), dtype="float32", rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_sigmoid_uses_torchs_formula(dtype):
    """1 / (1 + exp(-x)) as torch computes it: 0 (not a denormal) far left, float16 through float32
    rounded once (bit for bit), float32/float64 within an ulp (their exp's rounding)."""
    x = np.concatenate([np.linspace(-800, 800, 4001), [np.inf, -np.inf, np.nan, 0.0, -0.0]])
    ours = flambeau.tensor(x, dtype=getattr(flambeau, dtype)).sigmoid().double().numpy()
    ref = torch.tensor(x, dtype=getattr(torch, dtype)).sigmoid().double().numpy()
    assert np.array_equal(ours == 0, ref == 0) and np.array_equal(ours == 1, ref == 1)
    if dtype == "float16":
        np.testing.assert_array_equal(ours, ref)
    else:
        np.testing.assert_allclose(ours, ref, rtol=4 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("op", ["mul_", "div_", "sub_", "pow_", "atan2_", "fmod_", "lt_", "hypot_", "logical_and_"])
def test_inplace_op_widened_by_its_operand_fails_as_in_pytorch(op, device):
    # PyTorch's message names the shapes only, not the op
    from _oracle import same_error
    same_error(lambda lib: getattr(lib.zeros(2, 4), op)(lib.ones(3, 1, 4)), device)


@pytest.mark.parametrize("call", [lambda lib, z: lib.relu(z), lambda lib, z: z.relu(), lambda lib, z: z.relu_(),
                                  lambda lib, z: lib.nn.functional.relu(z)])
def test_relu_of_complex_raises_as_clamp(call):
    from _oracle import same_error
    same_error(lambda lib: call(lib, lib.tensor([1 + 1j, -2j])))
