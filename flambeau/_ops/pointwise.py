"""Pointwise ops: arithmetic, unary math, comparisons; each forward beside its backward.

Binary ops follow PyTorch's type promotion (``_util.result_dtype``) and broadcasting;
the engine sums gradients back to each input's shape, so backwards here are written
for the broadcast shape. Each op has a no-graph fast path that skips node creation.
"""
import cmath
import functools
import math

import numpy as np

from .. import _dtype, _xp
from ..cuda import _kernels as _cuda_kernels
from .._tensor import Tensor, _make
from ..autograd import grad_mode as _grad_mode
from ..autograd.function import Function
from ._util import (register, recording, result_dtype, operand, apply_inplace, check_inplace_autograd,
                    write_inplace, check_inplace_dtype, is_scalar, _BY_NP, scalar_as, check_writable,
                    check_no_partial_overlap, check_same_device, data_on_device_of, in_operand_layout, broadcast_shapes)

np.seterr(all="ignore")    # PyTorch returns inf/nan silently; so do we (NumPy would warn)

__all__ = []     # filled by _export


def _export(*names):
    __all__.extend(names)


def _as_tensor_like(x, like):
    from .creation import tensor
    if isinstance(x, Tensor):
        return x
    return tensor(x, device=like.device)


# -- binary arithmetic ------------------------------------------------------------------------
def _prep(a, b):
    """Arrays for a binary op, promoted to the result dtype (PyTorch's rules)."""
    dt = result_dtype(a, b)
    ad = a._data
    if isinstance(b, Tensor) and type(ad) is np.ndarray and ad.ndim == 0 and type(b._data) is not np.ndarray:
        ad = data_on_device_of(a, b._data)          # a 0-dim CPU tensor joins b on its device, as a scalar
    if ad.dtype != dt.np:
        ad = ad.astype(dt.np)
    return ad, operand(b, dt, ad), dt


def _check_shapes(ad, bd):
    if hasattr(bd, "shape") and bd.shape != ad.shape and bd.ndim and ad.ndim:
        broadcast_shapes(ad.shape, bd.shape)


def _broadcast_errors(fn):
    """fn, with NumPy's broadcast ValueError turned into PyTorch's RuntimeError (named by the shapes of
    the tensors fn was given), for the ops that leave broadcasting to NumPy without a check first."""
    def checked(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as e:
            if "broadcast" not in str(e):
                raise
            shapes = [tuple(a.shape) for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
            joined = shapes[0] if shapes else ()
            for shape in shapes[1:]:                    # torch's message names the first pair that fails
                joined = broadcast_shapes(joined, shape)
            raise RuntimeError(str(e)) from None
    checked.__name__, checked.__qualname__, checked.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    return checked


def _laid_out(result, a, b):
    """result of an elementwise op over a and b (tensors or numbers) in PyTorch's layout
    (Note [Elementwise results keep their operands' layout])."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            return in_operand_layout(result, (a._data, b._data))
        return in_operand_layout(result, (a._data,), scalar=True)
    return in_operand_layout(result, (b._data,), scalar=True) if isinstance(b, Tensor) else result


def _keeps_layout(array_fn):
    """array_fn(a, b, ...), its result in PyTorch's layout (see _laid_out)."""
    def run(a, b, *args):
        return _laid_out(array_fn(a, b, *args), a, b)
    run.__name__, run.__qualname__, run.__doc__ = array_fn.__name__, array_fn.__qualname__, array_fn.__doc__
    return run


class Add(Function):
    """out = a + alpha * b"""
    _node_name = "AddBackward0"
    _wrapped_scalars = 2      # a Python number operand shows in next_functions, as in PyTorch

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.alpha = alpha
        return _add_arrays(a, b, alpha)

    @staticmethod
    def backward(ctx, grad):                     # d/da = 1, d/db = alpha
        return grad, (grad if ctx.alpha == 1 else grad * _conj_scalar(ctx.alpha)), None


@_keeps_layout
def _add_arrays(a, b, alpha=1):
    ad, bd, dt = _prep(a, b)
    if alpha != 1:
        if isinstance(alpha, bool) and dt is not _dtype.bool:
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
        if dt is _dtype.bool:
            return ad | (bd & bool(alpha))
        if not dt.is_floating_point and not dt.is_complex and isinstance(alpha, float):
            raise RuntimeError(f"For integral input tensors, argument alpha must not be a floating point number.")
        bd = bd * scalar_as(alpha, dt)
    try:
        return ad + bd
    except ValueError:
        _check_shapes(ad, bd)
        raise


class Sub(Function):
    """out = a - alpha * b"""
    _node_name = "SubBackward0"
    _wrapped_scalars = 2      # a Python number operand shows in next_functions, as in PyTorch

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.alpha = alpha
        return _sub_arrays(a, b, alpha)

    @staticmethod
    def backward(ctx, grad):                     # d/da = 1, d/db = -alpha
        return grad, (-grad if ctx.alpha == 1 else grad * -_conj_scalar(ctx.alpha)), None


def reject_bool_subtraction(a_is_bool, b_is_bool):
    """PyTorch's errors for a - b with a boolean operand."""
    if a_is_bool and b_is_bool:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if a_is_bool or b_is_bool:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                           "trying to invert a mask, use the `~` or `logical_not()` operator instead.")


@_keeps_layout
def _sub_arrays(a, b, alpha=1):
    reject_bool_subtraction(_is_bool(a), _is_bool(b))
    ad, bd, dt = _prep(a, b)
    if alpha != 1:
        bd = bd * scalar_as(alpha, dt)
    try:
        return ad - bd
    except ValueError:
        _check_shapes(ad, bd)
        raise


def _conj_scalar(c):
    # complex backward multiplies by the conjugate derivative: grad * conj(f'(z))
    return c.conjugate() if isinstance(c, complex) else c


def _is_bool(x):
    if isinstance(x, Tensor):
        return x._data.dtype == np.bool_
    return isinstance(x, (bool, np.bool_))


class Rsub(Function):
    """out = other - alpha * a (Python scalar on the left)"""
    _node_name = "RsubBackward1"

    @staticmethod
    def forward(ctx, a, other, alpha=1):
        ctx.alpha = alpha
        ad, od, dt = _prep(a, other)
        return _laid_out(od - (ad if alpha == 1 else ad * scalar_as(alpha, dt)), other, a)

    @staticmethod
    def backward(ctx, grad):
        return -grad if ctx.alpha == 1 else grad * (-ctx.alpha), None, None


class Mul(Function):
    """out = a * b"""
    _node_name = "MulBackward0"
    _wrapped_scalars = 2      # a Python number operand shows in next_functions, as in PyTorch

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if isinstance(b, Tensor) and b._requires_grad else None,
                              b if isinstance(b, Tensor) else None)
        ctx.b_scalar = None if isinstance(b, Tensor) else b
        return _mul_arrays(a, b)

    @staticmethod
    def backward(ctx, grad):                     # d(ab)/da = b, d(ab)/db = a
        a, b = ctx.saved_tensors
        if b is None:
            return grad * _conj_scalar(ctx.b_scalar), None
        ga = grad * (b.conj() if b.is_complex() else b) if ctx.needs_input_grad[0] else None
        gb = grad * (a.conj() if a.is_complex() else a) if ctx.needs_input_grad[1] else None
        return ga, gb


@_keeps_layout
def _mul_arrays(a, b):
    ad, bd, dt = _prep(a, b)
    try:
        return ad * bd
    except ValueError:
        _check_shapes(ad, bd)
        raise


def _div_dtype(a, b, rounding_mode):
    dt = result_dtype(a, b)
    if rounding_mode is None and dt._category < 2:
        dt = _dtype.get_default_dtype()
    return dt


@_keeps_layout
def _div_arrays(a, b, rounding_mode=None):
    if rounding_mode is not None and rounding_mode != "trunc" and rounding_mode != "floor":
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"'{rounding_mode}'")
    dt = _div_dtype(a, b, rounding_mode)
    ad = a._data if a._data.dtype == dt.np else a._data.astype(dt.np)
    bd = operand(b, dt, ad)
    if rounding_mode is not None and dt._category in (0, 3):
        _not_implemented(f"div_{rounding_mode}_cpu", dt)
    try:
        if rounding_mode is None:
            return _complex_divide(ad, bd) if dt._category == 3 else ad / bd
        if rounding_mode == "trunc":
            if dt._category < 2:
                _check_int_zero(ad, bd)
                xp = _xp.array_module(ad)
                q = xp.floor_divide(ad, bd)             # exact for integers; round toward zero
                inexact = (xp.remainder(ad, bd) != 0) & ((ad < 0) != (bd < 0))
                return (q + inexact).astype(dt.np, copy=False)
            return _xp.array_module(ad).trunc(ad / bd)
        if rounding_mode == "floor":
            if dt._category < 2:
                _check_int_zero(ad, bd)
                return _xp.array_module(ad).floor_divide(ad, bd)
            return _floor_divide_float(ad, bd)
    except ValueError:
        _check_shapes(ad, bd)
        raise
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")


def _floor_divide_float(a, b):
    """PyTorch's (and NumPy's) floor division of floats: the floor of the exact quotient (a - fmod(a, b)) / b,
    rounded to the nearest integer where that quotient is off by more than a half; a zero keeps the sign of
    a / b, and b == 0 gives a / b. CuPy's floor_divide is floor(a / b), which the rounding of a / b can
    push to the next integer (3 // 0.3 is 10 there, 9 here). Half precision computes in float, as PyTorch."""
    xp = _xp.array_module(a)
    dt = a.dtype
    if dt == np.float16:
        a = a.astype(np.float32)
        b = b.astype(np.float32) if _xp.is_array(b) else np.float32(b)
    T = a.dtype.type
    # a scalar divisor is on the host already: its tests stay Python bools (CuPy's where wants an array)
    b_negative, b_zero = (b < 0, b == 0) if _xp.is_array(b) else (bool(b < 0), bool(b == 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        mod = xp.fmod(a, b)
        div = (a - mod) / b
        div = xp.where((mod != 0) & ((mod < 0) != b_negative), div - T(1), div)
        floordiv = xp.floor(div)
        floordiv = xp.where(div - floordiv > T(0.5), floordiv + T(1), floordiv)
        quotient = a / b
        floordiv = xp.where(div == 0, xp.copysign(T(0), quotient), floordiv)
        if not _xp.is_array(b_zero):
            return (quotient if b_zero else floordiv).astype(dt, copy=False)
        return xp.where(b_zero, quotient, floordiv).astype(dt, copy=False)


def _complex_divide(a, b):
    """a / b for complex arrays (or a complex scalar b). A zero divisor gives (a.real / 0, a.imag / 0), as in
    PyTorch and NumPy; CuPy gives nan+nanj there."""
    xp = _xp.array_module(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = xp.asarray(a / b)
        T = q.real.dtype.type
        if not _xp.is_array(b):                     # a scalar divisor is on the host already
            if b != 0:
                return q
            re, im = a.real / T(0), a.imag / T(0)
        else:
            zero = b == 0
            re = xp.where(zero, a.real / T(0), q.real)
            im = xp.where(zero, a.imag / T(0), q.imag)
    q.real[...] = re
    q.imag[...] = im
    return q


def _check_int_zero(ad, bd):
    # integer division by zero is an error in PyTorch's CPU kernels (NumPy would return 0 with a warning);
    # its CUDA kernels do not check, since checking means reading the divisor on the host. The check is
    # the kernel's, per element: an empty result divides nothing.
    if ad.size == 0 or getattr(bd, "size", 1) == 0:
        return
    if type(bd) is np.ndarray:
        if (bd == 0).any():
            raise RuntimeError("ZeroDivisionError")
    elif not _xp.is_array(bd) and bd == 0:
        raise RuntimeError("ZeroDivisionError")


def _not_implemented(kernel, dt, exc=NotImplementedError):
    """PyTorch's error for a dtype an op has no kernel for."""
    raise exc(f"\"{kernel}\" not implemented for '{_type_name(dt)}'")


def _reject(kernel, dt, categories):
    """Raise when dt's category (0 bool, 1 integer, 2 float, 3 complex) is one the op lacks."""
    if dt._category in categories:
        _not_implemented(kernel, dt)


class Div(Function):
    """out = a / b"""
    _node_name = "DivBackward0"
    _wrapped_scalars = 2      # a Python number operand shows in next_functions, as in PyTorch

    @staticmethod
    def forward(ctx, a, b, rounding_mode=None):
        ctx.rounding = rounding_mode
        ctx.save_for_backward(a if isinstance(b, Tensor) and b._requires_grad else None,
                              b if isinstance(b, Tensor) else None)
        ctx.b_scalar = None if isinstance(b, Tensor) else b
        return _div_arrays(a, b, rounding_mode)

    @staticmethod
    def backward(ctx, grad):                     # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        if ctx.rounding is not None:
            # zeros, not grad * 0: an infinite or NaN gradient still gives 0, as PyTorch's zeros_like(grad)
            return _zeros_like(grad), (_zeros_like(grad) if ctx.needs_input_grad[1] else None), None
        a, b = ctx.saved_tensors
        if b is None:
            return grad / _conj_scalar(ctx.b_scalar), None, None
        # PyTorch's formulas: grad / conj(b) and -grad * conj((a / b) / b)
        ga = grad / _conj(b) if ctx.needs_input_grad[0] else None
        gb = -grad * _conj(a / b / b) if ctx.needs_input_grad[1] else None
        return ga, gb, None


class Pow(Function):
    """out = a ** b"""
    _node_name = "PowBackward0"

    @staticmethod
    def forward(ctx, a, b):
        out = _pow_arrays(a, b)
        if isinstance(b, Tensor):
            # PyTorch's exponent gradient reads the result: saved, its hooks see double backward
            out = _make(out)
            ctx.save_for_backward(a, b, out)
        else:
            ctx.save_for_backward(a, None, None)
        ctx.b_scalar = None if isinstance(b, Tensor) else b
        return out

    @staticmethod
    def backward(ctx, grad):                     # d/da = b a^(b-1), d/db = a^b log(a), conjugated
        a, b, out = ctx.saved_tensors
        if b is None:
            e = ctx.b_scalar
            if e == 0:
                return _zeros_like(grad), None
            return grad * _conj(a ** (e - 1) * e), None
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = where(b == 0, 0.0, grad * _conj(b * a ** (b - 1)))
        if ctx.needs_input_grad[1]:
            base = a if a.dtype == out.dtype else a.to(out.dtype)     # a real base of a complex power
            gb = where((base == 0) & _nonnegative_real(b), 0.0, grad * _conj(out * log(base)))
        return ga, gb


def _nonnegative_real(t):
    if t.is_complex():
        return (t.imag == 0) & (t.real >= 0)
    return t >= 0


class RPow(Function):
    """out = other ** a (Python scalar base)"""
    _node_name = "PowBackward2"

    @staticmethod
    def forward(ctx, a, other):
        out = _make(_rpow_arrays(a, other))
        # PyTorch's formula reads the result (its hooks then see double backward); for base 0
        # it also tests the exponent
        ctx.save_for_backward(out, a if other == 0 else None)
        ctx.other = other
        return out

    @staticmethod
    def backward(ctx, grad):                     # d(c^a)/da = c^a log(c), conjugated
        out, a = ctx.saved_tensors
        c = ctx.other
        if isinstance(c, complex) or out.is_complex():
            log_c = cmath.log(c) if c != 0 else complex(-math.inf, 0.0)
        else:
            log_c = math.log(c) if c > 0 else math.nan if c < 0 else -math.inf
        g = grad * _conj(out * log_c)
        if a is not None:
            g = where(_nonnegative_real(a), 0.0, g)
        return g, None


@_keeps_layout
def _pow_arrays(a, b):
    """a ** b with PyTorch's rules for bool and integer powers (a is a Tensor)."""
    ad, bd, dt = _prep(a, b)
    if dt._category == 0:
        if isinstance(b, Tensor):
            _not_implemented("pow", dt)
        xp = _xp.array_module(ad)
        return ad.copy() if bd else xp.ones(ad.shape, np.bool_)       # x ** True = x, x ** False = 1
    if dt._category == 1:
        if not isinstance(b, Tensor):
            if b < 0:
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            return ad ** bd
        return _int_pow(ad, bd)
    if dt._category == 2:
        return _float_pow(ad, bd, isinstance(b, Tensor), dt)
    if not isinstance(b, Tensor) and bd in (0.5, -0.5):     # complex: sqrt and 1 / sqrt, as for float
        r = _xp.array_module(ad).sqrt(ad)
        return r if bd.real > 0 else (1 / r).astype(r.dtype, copy=False)
    return ad ** bd


def _float_pow(ad, bd, tensor_exponent, dt):
    xp = _xp.array_module(ad)
    if not tensor_exponent:
        # PyTorch takes a float or double to a number 0.5 or -0.5 as sqrt and 1 / sqrt (-0.0 ** 0.5 is
        # -0.0, -inf ** 0.5 NaN); float16 goes through C pow, as do CuPy's kernels
        if dt is not _dtype.float16 and bd in (0.5, -0.5):
            r = xp.sqrt(ad)
            return r if bd > 0 else (1 / r).astype(r.dtype, copy=False)
        return ad ** bd
    # a tensor exponent is C pow (-0.0 ** 0.5 is 0.0, -inf ** 0.5 inf); NumPy's float32 and float64
    # loops take a broadcast exponent 0.5 as sqrt
    r = ad ** bd
    if dt is _dtype.float16:
        return r
    half = bd == 0.5
    zero, inf = ad.dtype.type(0), ad.dtype.type(math.inf)
    return xp.where(half & (ad == 0), zero, xp.where(half & (ad == -inf), inf, r))


def _int_pow(ad, bd):
    # a negative integer exponent gives 1 for base 1, +-1 for base -1 and 0 otherwise (C integer pow)
    xp = _xp.array_module(ad)
    neg = bd < 0
    if xp is np and not neg.any():             # on a device the check would be a read by the host
        return ad ** bd
    safe = ad ** xp.where(neg, 0, bd).astype(bd.dtype, copy=False)
    odd = (bd % 2) != 0
    one = xp.ones((), ad.dtype)
    small = xp.where(ad == 1, one, xp.where(ad == -1, xp.where(odd, -one, one), xp.zeros((), ad.dtype)))
    return xp.where(neg, small, safe).astype(safe.dtype, copy=False)


def _zeros_like(t):
    from .creation import zeros_like
    return zeros_like(t)


_ndarray = np.ndarray
_grad_enabled = _grad_mode._enabled


def _binary_method(fn_cls, array_fn, ufunc=None, kinds=""):
    """Tensor method for a binary op with a fast path when no graph is needed.

    The fastest path (small tensors pay mostly Python overhead) handles two CPU tensors of the
    same dtype, or a floating CPU tensor and a Python int/float, whose kinds need no promotion
    and no error checks: NumPy's ufunc then computes exactly what PyTorch computes (a Python
    scalar is cast to the tensor's dtype first, NEP 50).
    """
    def method(self, other, *args):
        if ufunc is not None and not args:
            a = self._data
            if isinstance(other, Tensor):
                b = other._data
                if (type(a) is _ndarray and type(b) is _ndarray and a.dtype is b.dtype and a.dtype.kind in kinds
                        and not (_grad_enabled[0] and (self._requires_grad or other._requires_grad))):
                    try:
                        r = ufunc(a, b)
                        return _make(in_operand_layout(r, (a, b)) if r.ndim > 1 else r)
                    except ValueError:     # shapes do not broadcast: the general path names them
                        pass
            elif ((type(other) is float or type(other) is int) and type(a) is _ndarray and a.dtype.kind in "fc"
                  and not (_grad_enabled[0] and self._requires_grad)):
                r = ufunc(a, other)
                return _make(in_operand_layout(r, (a,), scalar=True) if r.ndim > 1 else r)
        if isinstance(other, Tensor):
            if recording(self, other):
                return fn_cls.apply(self, other, *args)
        elif not is_scalar(other):
            other = _coerce(other, self)
            if other is NotImplemented:
                return NotImplemented
            if recording(self, other):
                return fn_cls.apply(self, other, *args)
        elif recording(self):
            return fn_cls.apply(self, other, *args)
        return _make(array_fn(self, other, *args))
    return method


def _coerce(other, like):
    if isinstance(other, (list, tuple)) or _xp.is_array(other):
        from .creation import tensor
        return tensor(other, device=like.device)
    return NotImplemented


_add_m = _binary_method(Add, _add_arrays, np.add, "fciu")
_sub_m = _binary_method(Sub, _sub_arrays, np.subtract, "fciu")
_mul_m = _binary_method(Mul, _mul_arrays, np.multiply, "fciub")
_div_m = _binary_method(Div, _div_arrays, np.true_divide, "fc")
_div_rounding_m = _binary_method(Div.named("DivBackward2"), _div_arrays)     # PyTorch's rounding overload


@register("add")
def add(input, other, *, alpha=1, out=None):
    r = _add_m(input, other, alpha) if alpha != 1 else _add_m(input, other)
    return _out(r, out, operands=(input, other))


@register("sub", "subtract")
def sub(input, other, *, alpha=1, out=None):
    r = _sub_m(input, other, alpha) if alpha != 1 else _sub_m(input, other)
    return _out(r, out, operands=(input, other))


subtract = sub


@register("mul", "multiply")
def mul(input, other, *, out=None):
    return _out(_mul_m(input, other), out, operands=(input, other))


multiply = mul


@register("div", "divide", "true_divide")
def div(input, other, *, rounding_mode=None, out=None):
    if not isinstance(input, Tensor):
        input = _as_tensor_like(input, other)
    r = _div_rounding_m(input, other, rounding_mode) if rounding_mode is not None else _div_m(input, other)
    return _out(r, out, operands=(input, other))


divide = true_divide = div


@register("floor_divide")
def floor_divide(input, other, *, out=None):
    if recording(input, other):     # PyTorch defines no derivative for floor_divide: its node refuses backward
        from ..linalg import _not_differentiable
        r = _not_differentiable("floor_divide", lambda: div(input, other, rounding_mode="floor"), input, other)
        return _out(r, out, operands=(input, other))
    return div(input, other, rounding_mode="floor", out=out)


@register("pow")
def pow(input, exponent, *, out=None):
    if not isinstance(input, Tensor):
        r = RPow.apply(exponent, input) if recording(exponent) else _make(_rpow_arrays(exponent, input))
        return _out(r, out, operands=(exponent,))
    if not isinstance(exponent, Tensor) and not is_scalar(exponent):
        exponent = _coerce(exponent, input)
    if recording(input, exponent):
        fn = Pow.named("PowBackward1") if isinstance(exponent, Tensor) else Pow   # PyTorch's overload names
        return _out(fn.apply(input, exponent), out, operands=(input, exponent))
    return _out(_make(_pow_arrays(input, exponent)), out, operands=(input, exponent))


def _rpow_arrays(a, other):
    ad, od, dt = _prep(a, other)
    if dt._category == 0:
        _not_implemented("pow", dt)
    if dt._category == 1:
        return _int_pow(_xp.array_module(ad).asarray(od), ad)
    return od ** ad


def float_power(input, exponent, *, out=None):
    # computed in double precision: complex128 when either operand is complex, else float64
    wide = _dtype.complex128 if any(isinstance(v, complex) or (isinstance(v, Tensor) and v.is_complex())
                                    for v in (input, exponent)) else _dtype.float64
    if out is not None and isinstance(out, Tensor) and out.dtype is not wide:
        raise RuntimeError(f"the output given to float_power has dtype {_type_name(out.dtype)} but the operation's "
                           f"result requires dtype {_type_name(wide)}")
    r = pow(input.to(wide) if isinstance(input, Tensor) else input,
            exponent.to(wide) if isinstance(exponent, Tensor) else exponent)
    return _out(r, out, operands=(input, exponent))


Tensor.float_power = float_power


def _out(result, out, operands=()):
    """result written into out (when given), as an op's out= form; operands are the op's inputs,
    which may not lie over part of out (Note [Writes over their own operands])."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"out= expects a Tensor, got {type(out).__name__}")
    check_no_partial_overlap(out, *operands)
    if recording(result) and out._requires_grad:
        raise RuntimeError("functions with out=... arguments don't support automatic differentiation, but one "
                           "of the arguments requires grad.")
    if out.shape != result.shape:
        out._data = _xp.array_module(result._data).empty(result._data.shape, out._data.dtype)
        out._base = None
        out._storage_obj = None
    check_inplace_dtype("out", out, result.dtype)
    out._data[...] = result._data
    out._version_counter[0] += 1
    return out


# c10's names of the element types, which some of PyTorch's out= checks print
_CPP_NAME = {"float16": "c10::Half", "float32": "float", "float64": "double", "uint8": "unsigned char",
             "int8": "signed char", "int16": "short int", "int32": "int", "int64": "long int", "bool": "bool",
             "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def _expected_out_dtype(want, got):
    return f"Expected out tensor to have dtype {_CPP_NAME[want.name]}, but got {_CPP_NAME[got.name]} instead"


def _out_pair(results, out):
    """(values, indices) written into the out pair; each must have its result's dtype, as in PyTorch."""
    return tuple(_out_tuple(tuple(results), out))


def _out_tuple(results, out):
    """A tuple of results (named, as torch.return_types.svd, or plain) written into out's tensors, one
    each, which must have their result's dtype; returns out's tensors in the result's out type."""
    if not isinstance(out, (tuple, list)) or len(out) != len(results):
        raise TypeError(f"out= expects a tuple of {len(results)} Tensors, got "
                        f"{type(out).__name__}{f' of {len(out)}' if isinstance(out, (tuple, list)) else ''}")
    for k, o in enumerate(out):
        if not isinstance(o, Tensor):
            raise TypeError(f"expected Tensor as element {k} in argument 'out', but got {type(o).__name__}")
    written = [_out_exact(r, o, _expected_out_dtype) for r, o in zip(results, out)]
    out_type = getattr(type(results), "out_type", None)
    return out_type(*written) if out_type is not None else tuple(written)


def handles_out(fn):
    """fn computed out of place (its own out= left None), its result written into out= when given:
    a tensor as _out writes it, a tuple of results as _out_tuple."""
    @functools.wraps(fn)
    def op(*args, out=None, **kwargs):
        result = fn(*args, **kwargs)
        if out is None:
            return result
        return _out_tuple(result, out) if isinstance(result, tuple) else _out(result, out)
    return op


def factory_out(fn):
    """A factory (zeros, rand, ...) whose out= is written: the values take out's dtype and device
    unless dtype= or device= is given; a dtype= other than out's is refused, as in PyTorch."""
    @functools.wraps(fn)
    def op(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"{fn.__name__}(): argument 'out' must be Tensor, not {type(out).__name__}")
        dtype = kwargs.get("dtype")
        if dtype is not None and dtype is not out.dtype:
            raise RuntimeError(f"dtype {_type_name(dtype)} does not match dtype of out parameter "
                               f"({_type_name(out.dtype)})")
        kwargs["dtype"] = out.dtype
        if kwargs.get("device") is None:
            kwargs["device"] = out.device
        return _out(fn(*args, **kwargs), out)
    return op


def _out_exact(result, out, message=None, operands=()):
    """out= for the ops whose out must have the result's dtype (PyTorch's unary ops that keep the
    input's dtype, and many others, each with its own message); message(result_dtype, out_dtype)."""
    if out is not None and isinstance(out, Tensor) and out.dtype is not result.dtype:
        raise RuntimeError(message(result.dtype, out.dtype) if message else
                           f"Found dtype {_type_name(out.dtype)} but expected {_type_name(result.dtype)}")
    return _out(result, out, operands)


# -- operators --------------------------------------------------------------------------------
def _radd(self, other):
    return _add_m(self, other)


def _rsub(self, other):
    if not isinstance(other, Tensor) and not is_scalar(other):
        other = _coerce(other, self)
        if other is NotImplemented:
            return NotImplemented
        return sub(other, self)
    if _is_bool(self) or _is_bool(other):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                           "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    if recording(self):
        return Rsub.apply(self, other)
    ad, od, dt = _prep(self, other)
    return _make(_laid_out(od - ad, other, self))


def _rtruediv(self, other):
    if not isinstance(other, Tensor) and not is_scalar(other):
        other = _coerce(other, self)
        if other is NotImplemented:
            return NotImplemented
        return div(other, self)
    # PyTorch computes c / x as reciprocal(x) * c (values and graph: MulBackward0 after ReciprocalBackward0)
    r = reciprocal(self)
    if other == 1 and not recording(self) and not isinstance(other, bool):
        return r
    return mul(r, other)


def _rfloordiv(self, other):
    return floor_divide(_reflected(other, self), self)


def _reflected(other, like):
    """The left operand of a reflected operator (``3 // t``) as a tensor that promotes like the
    Python scalar it is: a 0-dim tensor of the result dtype."""
    if isinstance(other, Tensor):
        return other
    if is_scalar(other):
        dt = result_dtype(like, other)
        xp = _xp.array_module(like._data)
        return _make(_xp.from_host(xp, scalar_as(other, dt)))      # -0.0 keeps its sign on cuda
    return _as_tensor_like(other, like)


def _rpow(self, other):
    if recording(self):
        return RPow.apply(self, other)
    return _make(_rpow_arrays(self, other))


def _rmul(self, other):
    return _mul_m(self, other)


Tensor.__add__ = _add_m
Tensor.__radd__ = _radd
Tensor.__sub__ = _sub_m
Tensor.__rsub__ = _rsub
Tensor.__mul__ = _mul_m
Tensor.__rmul__ = _rmul
Tensor.__truediv__ = _div_m
Tensor.__rtruediv__ = _rtruediv
Tensor.__floordiv__ = lambda self, other: floor_divide(self, other)
Tensor.__rfloordiv__ = _rfloordiv
Tensor.__pow__ = lambda self, other: pow(self, other)
Tensor.__rpow__ = _rpow
Tensor.__neg__ = lambda self: neg(self)
Tensor.__pos__ = lambda self: positive(self)
Tensor.__abs__ = lambda self: abs(self)
Tensor.__mod__ = lambda self, other: remainder(self, other)
Tensor.__rmod__ = lambda self, other: remainder(_reflected(other, self), self)


@register("positive")
def positive(input):
    if input._data.dtype == np.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


_export("positive")


def _check_inplace_result(self, other, name):
    """In-place ops check that the result dtype fits self before computing (PyTorch's order)."""
    if isinstance(other, Tensor) or is_scalar(other):
        check_inplace_dtype(name, self, result_dtype(self, other))
    return True


def _inplace_binary(fn_cls, array_fn, name):
    def method(self, other, *args, **kwargs):
        if kwargs:
            args = args + tuple(kwargs.values())
        if not isinstance(other, Tensor) and not is_scalar(other):
            other = _coerce(other, self)
        check_writable(self)
        check_no_partial_overlap(self, other)
        if other is not NotImplemented:
            dt = _div_dtype(self, other, args[0] if args else None) if fn_cls is Div else result_dtype(self, other)
            if dt is not _BY_NP[self._data.dtype]:
                check_inplace_dtype(name, self, dt)
        if recording(self, other) or (self._base is not None and recording(self._base)):
            return apply_inplace(self, fn_cls, other, *args)
        check_inplace_autograd(self)
        if type(self._data) is not _ndarray and not args and _device_in_place(fn_cls, self, other):
            self._version_counter[0] += 1
            return self
        r = array_fn(self, other, *args)
        dt = _BY_NP[r.dtype]
        if dt is not _BY_NP[self._data.dtype]:
            check_inplace_dtype(name, self, dt)
        if r.shape != self._data.shape:
            write_inplace(self, r, name)
            return self
        # cast first: NumPy refuses to store an out-of-range NumPy scalar (a 0-dim result) into a
        # narrower integer array, where PyTorch's cast wraps
        self._data[...] = r if r.dtype == self._data.dtype else r.astype(self._data.dtype)
        self._version_counter[0] += 1
        return self
    method.__name__ = name + "_"
    return method


def _add_(self, other, *, alpha=1):
    if isinstance(other, Tensor) and not recording(self, other) and self._base is None \
            and other._data.dtype == self._data.dtype and type(other._data) is type(self._data) \
            and not (self._requires_grad and _enabled_grad()):
        # the optimizer's hot path: one fused NumPy call, no temporaries for alpha == 1
        check_writable(self)
        check_no_partial_overlap(self, other)
        try:
            if alpha == 1:
                self._data += other._data
            else:
                self._data += other._data * scalar_as(alpha, _BY_NP[self._data.dtype])
        except ValueError:
            _inplace_shape_error(self, other)
        self._version_counter[0] += 1
        return self
    return _iadd(self, other, alpha) if alpha != 1 else _iadd(self, other)


def _inplace_shape_error(self, other):
    """PyTorch's error for an in-place op whose other operand broadcasts self to a larger shape."""
    shape = broadcast_shapes(self._data.shape, other._data.shape)      # raises when they don't broadcast
    raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the broadcast shape {list(shape)}")


def _enabled_grad():
    from ..autograd import grad_mode
    return grad_mode._enabled[0]


def _device_in_place(fn_cls, self, other):
    """self op= other as one GPU launch, the ufunc writing into self's memory (the general path
    computes a new array and copies it in: two), when the result keeps self's real dtype and
    other, a number or a tensor of self's dtype and device, broadcasts to self without sharing its
    memory (CuPy does not order the reads before the writes). False when it does not apply."""
    sd = self._data
    ufunc = _IN_PLACE_UFUNCS.get(fn_cls)
    if ufunc is None or sd.dtype.kind not in "fiu" or (fn_cls is Div and sd.dtype.kind != "f"):
        return False
    xp = _xp.cupy
    dt = _BY_NP[sd.dtype]
    if isinstance(other, Tensor):
        od = other._data
        if (type(od) is not type(sd) or od.dtype != sd.dtype or other.device != self.device
                or not _broadcasts_to(od.shape, sd.shape) or xp.may_share_memory(od, sd)):
            return False
    elif type(other) in (int, float) and result_dtype(self, other) is dt:
        od = scalar_as(other, dt)
    else:
        return False
    getattr(xp, ufunc)(sd, od, out=sd)
    return True


def _broadcasts_to(shape, target):
    return len(shape) <= len(target) and all(n == 1 or n == t for n, t in zip(shape[::-1], target[::-1]))


_iadd = _inplace_binary(Add, _add_arrays, "add")
_isub = _inplace_binary(Sub, _sub_arrays, "sub")
_imul = _inplace_binary(Mul, _mul_arrays, "mul")
_idiv = _inplace_binary(Div, _div_arrays, "div")
_idiv_rounding = _inplace_binary(Div.named("DivBackward2"), _div_arrays, "div")
_IN_PLACE_UFUNCS = {Add: "add", Sub: "subtract", Mul: "multiply", Div: "true_divide"}
Tensor.add_ = _add_
Tensor.sub_ = lambda self, other, *, alpha=1: _isub(self, other, alpha) if alpha != 1 else _isub(self, other)
Tensor.subtract_ = Tensor.sub_
Tensor.mul_ = _imul
Tensor.multiply_ = _imul
Tensor.div_ = lambda self, other, *, rounding_mode=None: (_idiv_rounding(self, other, rounding_mode) if rounding_mode
                                                          else _idiv(self, other))
Tensor.divide_ = Tensor.true_divide_ = Tensor.div_
Tensor.floor_divide_ = lambda self, other: _idiv_rounding(self, other, "floor")
Tensor.__iadd__ = _add_
Tensor.__isub__ = lambda self, other: Tensor.sub_(self, other)
Tensor.__imul__ = _imul
Tensor.__itruediv__ = Tensor.div_
Tensor.__ifloordiv__ = Tensor.floor_divide_


def _ipow(self, other):
    check_no_partial_overlap(self, other)
    if recording(self, other):
        return apply_inplace(self, Pow, other)
    check_inplace_autograd(self)
    return write_inplace(self, pow(self, other)._data, "pow")


Tensor.pow_ = _ipow
Tensor.__ipow__ = _ipow
_export("add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "pow",
        "float_power")


# -- unary math -------------------------------------------------------------------------------
def _float_input(x):
    """Array of x promoted to a floating dtype, as PyTorch's float ops do for integers."""
    a = x._data
    if a.dtype.kind in "biu":
        return a.astype(_dtype.get_default_dtype().np)
    return a


_NOT_HOLOMORPHIC = {"abs", "sgn", "sign", "angle", "relu", "floor", "ceil", "trunc", "frac", "round"}
# unary ops whose out= must have the input's dtype (PyTorch's unary_op iterators check it; the floating
# ones cast their result to out)
_SAME_DTYPE_OUT = {"abs", "neg", "floor", "ceil", "trunc", "frac", "sign", "sgn", "bitwise_not"}


def _unary(name, compute, derivative=None, *, save="input", floating=True, node=None, methods=True,
           inplace=True, reject=(), kernel=None):
    """Define a unary op: compute(xp, a) on arrays; derivative(saved, ctx, grad) with flambeau ops.

    save: "input" (derivative gets x), "output" (it gets the op's result, as PyTorch's
    formulas for exp, tanh... do: the gradient reaching that result in double backward then
    goes through its node and hooks) or "both" (it gets (x, result)).

    reject: dtype categories (0 bool, 1 integer, 2 float, 3 complex) the op has no kernel for;
    those raise NotImplementedError naming ``kernel`` as PyTorch does.
    """
    # PyTorch's node names title-case each part of the op name: log1p -> Log1PBackward0
    node_name = node or (name.title().replace("_", "") + "Backward0")
    kernel = kernel or name + "_cpu"
    if reject:
        plain = compute

        def compute(xp, a):
            cat = _CATEGORY[a.dtype.kind]
            if cat in reject:
                _not_implemented(kernel, _BY_NP[a.dtype])
            return plain(xp, a)

    def forward(ctx, x):
        a = _float_input(x) if floating else x._data
        out = in_operand_layout(compute(_xp.array_module(a), a), (a,))
        if derivative is not None:
            if save == "input":
                ctx.save_for_backward(x)
            else:
                out = _make(out)
                ctx.save_for_backward(*((x, out) if save == "both" else (out,)))
        return out

    def backward(ctx, grad):
        saved = ctx.saved_tensors
        if len(saved) == 2:
            return derivative(saved, ctx, grad)
        saved, = saved
        if name not in _NOT_HOLOMORPHIC and saved.is_complex():
            # PyTorch's convention for complex inputs: grad * conj(f'(z)); for these functions
            # (real Taylor coefficients) conj(f'(z)) == f'(conj(z)), written with conj(z) or conj(f(z)).
            saved = saved.conj()
        return derivative(saved, ctx, grad)

    cls = type(name.capitalize(), (Function,), {
        "_node_name": node_name, "forward": staticmethod(forward), "backward": staticmethod(backward)})

    def fn(input, *, out=None):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        if _grad_enabled[0] and input._requires_grad:
            if derivative is None:
                raise RuntimeError(f"the derivative for '{name}' is not implemented.")
            r = cls.apply(input)
        else:
            a = input._data
            if floating and a.dtype.kind in "biu":
                a = _float_input(input)
            r = compute(np if type(a) is _ndarray else _xp.array_module(a), a)
            r = _make(in_operand_layout(r, (a,)) if r.ndim > 1 else r)
        if out is None:
            return r
        return _out_exact(r, out, operands=(input,)) if name in _SAME_DTYPE_OUT else _out(r, out, operands=(input,))
    fn.__name__ = name
    globals()[name] = fn
    _export(name)
    if methods:
        setattr(Tensor, name, fn)
    if inplace:
        def fn_(self):
            if name == "abs" and self._data.dtype.kind == "c":
                raise RuntimeError("In-place abs is not supported for complex tensors.")
            if recording(self) or (self._base is not None and recording(self._base)):
                return apply_inplace(self, cls)
            check_inplace_autograd(self)
            a = _float_input(self) if floating else self._data
            return write_inplace(self, compute(_xp.array_module(a), a), name)
        fn_.__name__ = name + "_"
        globals()[name + "_"] = fn_
        setattr(Tensor, name + "_", fn_)
        _export(name + "_")
    return cls


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_INT_BOOL, _BOOL_COMPLEX, _COMPLEX = (0, 1), (0, 3), (3,)


# The derivatives are written with flambeau ops so that they differentiate again.
# A zero derivative is zeros_like(grad), as PyTorch's: grad * 0 would turn an infinite or NaN gradient into
# NaN, and would record a graph where PyTorch's zeros need none.
_unary("neg", lambda xp, a: -a if a.dtype != np.bool_ else _bool_neg(),
       lambda x, ctx, g: -g, floating=False, node="NegBackward0")
_unary("abs", lambda xp, a: xp.abs(a), lambda x, ctx, g: g * sgn(x), floating=False, reject=(0,))
_unary("exp", lambda xp, a: xp.exp(a), lambda y, ctx, g: g * y, save="output")
_unary("exp2", lambda xp, a: xp.exp2(a), lambda y, ctx, g: g * y * math.log(2.0), save="output")
_unary("expm1", lambda xp, a: xp.expm1(a), lambda y, ctx, g: g * (y + 1), save="output")
_unary("log", lambda xp, a: xp.log(a), lambda x, ctx, g: g / x)
_unary("log2", lambda xp, a: xp.log2(a), lambda x, ctx, g: g / (x * math.log(2.0)))


def _log10(xp, a):
    # NumPy's float32 log10 is an ulp off at most powers of ten (log10(100) = 2.0000002) where PyTorch's
    # is exact; float64 rounded back to float32 agrees with PyTorch almost everywhere
    if a.dtype == np.float32:
        return xp.log10(a.astype(np.float64)).astype(np.float32)
    return xp.log10(a)


_unary("log10", _log10, lambda x, ctx, g: g / (x * math.log(10.0)))
_unary("log1p", lambda xp, a: xp.log1p(a), lambda x, ctx, g: g / (x + 1))
_unary("sqrt", lambda xp, a: xp.sqrt(a), lambda y, ctx, g: g / (y * 2), save="output")
_unary("rsqrt", lambda xp, a: 1 / xp.sqrt(a), lambda y, ctx, g: g * (y * y * y) * -0.5, save="output")
_unary("square", lambda xp, a: a * a if a.dtype != np.bool_ else a.astype(np.int64),
       lambda x, ctx, g: g * x * 2, floating=False, node="PowBackward0")
_unary("sin", lambda xp, a: xp.sin(a), lambda x, ctx, g: g * cos(x))
_unary("cos", lambda xp, a: xp.cos(a), lambda x, ctx, g: -g * sin(x))
_unary("tan", lambda xp, a: xp.tan(a), lambda y, ctx, g: g * (y * y + 1), save="output")
_unary("asin", lambda xp, a: xp.arcsin(a), lambda x, ctx, g: g * rsqrt(-x * x + 1))
_unary("acos", lambda xp, a: xp.arccos(a), lambda x, ctx, g: -g * rsqrt(-x * x + 1))
_unary("atan", lambda xp, a: xp.arctan(a), lambda x, ctx, g: g / (x * x + 1))
_unary("sinh", lambda xp, a: xp.sinh(a), lambda x, ctx, g: g * cosh(x))
_unary("cosh", lambda xp, a: xp.cosh(a), lambda x, ctx, g: g * sinh(x))
_unary("tanh", lambda xp, a: xp.tanh(a),
       lambda y, ctx, g: _saturating_grad("tanh_backward", g, y, lambda: g * (1 - y * y)), save="output")
_unary("asinh", lambda xp, a: xp.arcsinh(a), lambda x, ctx, g: g * rsqrt(x * x + 1))
# sqrt(z - 1) sqrt(z + 1) is acosh's derivative off the real line (sqrt(z^2 - 1) has the other sign there)
_unary("acosh", lambda xp, a: xp.arccosh(a), lambda x, ctx, g: g * rsqrt(x + 1) * rsqrt(x - 1) if x.is_complex()
       else g * rsqrt(x * x - 1))
_unary("atanh", lambda xp, a: xp.arctanh(a), lambda x, ctx, g: g / (-x * x + 1))
_unary("sigmoid", lambda xp, a: _sigmoid(xp, a),
       lambda y, ctx, g: _saturating_grad("sigmoid_backward", g, y, lambda: g * (1 - y) * y), save="output")
# PyTorch's threshold_backward: the gradient passes where x is not <= 0, a NaN included (its result is NaN)
_unary("relu", lambda xp, a: _relu(xp, a),
       lambda x, ctx, g: threshold_grad(g, x, 0), floating=False)
_unary("erf", lambda xp, a: _erf(xp, a), lambda x, ctx, g: g * exp(-x * x) * (2 / math.sqrt(math.pi)),
       reject=_COMPLEX, kernel="erf_vml_cpu")
_unary("erfc", lambda xp, a: _special(xp, "erfc", a), lambda x, ctx, g: -g * exp(-x * x) * (2 / math.sqrt(math.pi)),
       reject=_COMPLEX, kernel="erfc_vml_cpu")
_unary("erfinv", lambda xp, a: _erfinv(xp, a),
       lambda x, ctx, g: g * exp(erfinv(x) ** 2) * (math.sqrt(math.pi) / 2), reject=_COMPLEX)
_unary("reciprocal", lambda xp, a: 1 / a, lambda y, ctx, g: -g * (y * y), save="output")
_unary("floor", lambda xp, a: xp.floor(a) if a.dtype.kind in "fc" else a.copy(),
       lambda x, ctx, g: _zeros_like(g), floating=False, reject=_BOOL_COMPLEX, kernel="floor_vml_cpu")
_unary("ceil", lambda xp, a: xp.ceil(a) if a.dtype.kind in "fc" else a.copy(),
       lambda x, ctx, g: _zeros_like(g), floating=False, reject=_BOOL_COMPLEX, kernel="ceil_vml_cpu")
_unary("trunc", lambda xp, a: xp.trunc(a) if a.dtype.kind in "fc" else a.copy(),
       lambda x, ctx, g: _zeros_like(g), floating=False, reject=_BOOL_COMPLEX, kernel="trunc_vml_cpu")
_unary("frac", lambda xp, a: a - xp.trunc(a), lambda x, ctx, g: g, floating=False, reject=(0, 1, 3))
_unary("sign", lambda xp, a: _sign(a),
       lambda x, ctx, g: _zeros_like(g), floating=False, reject=_COMPLEX, kernel="sign_cpu")
_unary("sgn", lambda xp, a: _sgn(xp, a), lambda saved, ctx, g: _sgn_backward(*saved, g), floating=False, save="both")


def _sgn_backward(x, s, grad):
    """PyTorch's formula, with the result s: 0 for real x; (g - s^2 conj(g)) / (2|x|) for complex, 0 at 0."""
    if not x.is_complex():
        return _zeros_like(grad)
    mag = x.abs()
    return ((grad - s * s * grad.conj()) / (mag * 2)).masked_fill(mag == 0, 0.0)
_unary("bitwise_not", lambda xp, a: xp.logical_not(a) if a.dtype == np.bool_ else xp.invert(a),
       None, floating=False, reject=(2, 3))
_unary("lgamma", lambda xp, a: _lgamma(xp, a), lambda x, ctx, g: g * digamma(x), reject=_COMPLEX)


def _lgamma(xp, a):
    r = _special(xp, "gammaln", a)
    # lgamma(-inf) is +inf (|Gamma| grows without bound), and near 0 it is -log|x|, subnormals included:
    # SciPy's gammaln gives -inf and inf there
    mag = xp.abs(a)
    tiny = (mag < np.finfo(a.dtype).tiny) & (a != 0)
    return xp.where(xp.isneginf(a), np.inf, xp.where(tiny, -xp.log(mag), r)).astype(a.dtype, copy=False)
_unary("digamma", lambda xp, a: _special(xp, "digamma", a), lambda x, ctx, g: g * polygamma(1, x),
       reject=_COMPLEX)
_unary("i0", lambda xp, a: _i0(xp, a), lambda x, ctx, g: g * _special_i1(x), reject=_COMPLEX)  # I0' = I1


def _i0(xp, a):
    # NumPy's i0 computes in a's precision (half in float), as PyTorch's does. CuPy's (CUDA's
    # cyl_bessel_i0) is +inf at +-inf, where PyTorch's Chebyshev series (and NumPy's) give NaN.
    work = a.astype(np.float32) if a.dtype == np.float16 else a
    with np.errstate(invalid="ignore"):
        r = xp.i0(work) if xp is np else _special(xp, "i0", work)
    return xp.where(xp.isinf(work), work.dtype.type(np.nan), r).astype(a.dtype, copy=False)


def _sinc(xp, a):
    """PyTorch's sinc: 1 at 0, else sin(pi x) / (pi x) in x's precision (half in float). CuPy's sinc is
    exactly 0 at integers and 1 at a half-precision NaN; NumPy's agrees with PyTorch's formula."""
    work = a.astype(np.float32) if a.dtype == np.float16 else a
    zero = work == 0
    with np.errstate(invalid="ignore"):
        product = xp.where(zero, work.dtype.type(1), work * work.dtype.type(np.pi))
        return xp.where(zero, work.dtype.type(1), xp.sin(product) / product).astype(a.dtype, copy=False)
_unary("sinc", lambda xp, a: _sinc(xp, a),
       lambda x, ctx, g: g * where(x == 0, _zeros_like(x),
                                   (cos(x * math.pi) * math.pi * x - sin(x * math.pi)) / (x * x * math.pi)))
_unary("deg2rad", lambda xp, a: xp.deg2rad(_real_only("deg2rad", a)), lambda x, ctx, g: g * (math.pi / 180))
_unary("rad2deg", lambda xp, a: xp.rad2deg(_real_only("rad2deg", a)), lambda x, ctx, g: g * (180 / math.pi))


def _real_only(name, a):
    if a.dtype.kind == "c":
        raise RuntimeError(f"{name} is not supported for complex tensors.")
    return a
# real angle: pi below zero, 0 elsewhere (-0.0 included), NaN kept
_unary("angle", lambda xp, a: xp.angle(a).astype(a.real.dtype) if a.dtype.kind == "c" else
       xp.where(a < 0, np.pi, xp.where(a == a, 0, a)).astype(a.dtype), lambda x, ctx, g: _angle_backward(x, g),
       inplace=False)


def _angle_backward(x, grad):
    if not x.is_complex():
        return _zeros_like(grad)
    # d angle(z) = Im(dz / z): PyTorch's grad * z / |z|^2 * i, 0 at z = 0
    return where(x == 0, 0.0, grad * x / (x.abs() ** 2) * 1j)
Tensor.__invert__ = lambda self: bitwise_not(self)
Tensor.negative = neg
Tensor.absolute = abs
Tensor.arcsin, Tensor.arccos, Tensor.arctan = asin, acos, atan
Tensor.arcsinh, Tensor.arccosh, Tensor.arctanh = asinh, acosh, atanh
negative, absolute, arcsin, arccos, arctan = neg, abs, asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh
fix = trunc
Tensor.fix = trunc
_export("negative", "absolute", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "fix")


class PiecewiseLinearGrad(Function):
    """The gradient of a piecewise-linear op (relu, threshold, leaky_relu, hardtanh, the shrinks): grad * slope
    where ``flat`` (0 without a slope: selected, never a product, so an infinite gradient there gives 0), else
    grad.

    It is linear in grad and constant in x between the kinks: differentiated again it gives itself for
    grad and zeros for x, as PyTorch's <Op>BackwardBackward0 nodes (the names it is recorded under) do; x
    is an input only for that edge."""

    @staticmethod
    def forward(ctx, grad, x, flat, slope, threshold):
        ctx.save_for_backward(x)
        ctx.flat, ctx.slope, ctx.threshold = flat, slope, threshold
        g = grad._data
        if flat is None:                    # flat where x <= threshold (relu, threshold)
            return _threshold_grad_array(g, x._data, threshold)
        other = g.dtype.type(0) if slope is None else g * slope
        return select(flat, other, g).astype(g.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        gg = type(ctx)._forward_cls.apply(grad, x, ctx.flat, ctx.slope, ctx.threshold) \
            if ctx.needs_input_grad[0] else None
        return gg, (_zeros_like(grad) if ctx.needs_input_grad[1] else None), None, None, None


def piecewise_grad(node, grad, x, flat, slope=None):
    """grad * slope (0 without one) where the bool array flat, else grad, recorded as ``node`` (see
    PiecewiseLinearGrad)."""
    return PiecewiseLinearGrad.named(node).apply(grad, x, flat, slope, None)


def _saturating_grad(kernel, g, y, as_ops):
    """tanh's or sigmoid's gradient: one GPU kernel when no graph is recorded, else as_ops()."""
    gd, yd = g._data, y._data
    if not _grad_mode._enabled[0] and gd.shape == yd.shape and _cuda_kernels.usable(gd, yd):
        return _make(_cuda_kernels.saturating_backward(kernel, gd, yd))
    return as_ops()


def threshold_grad(grad, x, threshold):
    """The gradient of relu and threshold: grad where x > threshold (NaN included), else 0."""
    if not _grad_mode._enabled[0]:          # no graph to record (a plain backward): no node
        return _make(_threshold_grad_array(grad._data, x._data, threshold))
    return PiecewiseLinearGrad.named("ThresholdBackwardBackward0").apply(grad, x, None, None, threshold)


# Note [Masking without branches]
# NumPy's where() branches on every element: with a mask as random as relu's (half the inputs
# negative) the branch predictor fails half the time, and where() runs ~7x slower than one
# arithmetic pass (1 ms for 200k float32 values, where 0.13 ms is a predictable mask's cost).
# On the CPU a choice between two arrays of one dtype is made on their bits instead: the mask
# as an integer of the dtype's width, all ones where it holds and all zeros elsewhere, ANDed
# with one side's bits, its complement with the other's, the two ORed: 0.2 ms, whatever the
# mask. The values are where()'s bit for bit (NaN payloads and -0 included).
_SAME_WIDTH_INT = {np.dtype(t): i for t, i in ((np.float16, np.int16), (np.float32, np.int32), (np.float64, np.int64),
                                               (np.complex64, np.int64), (np.bool_, np.int8), (np.int8, np.int8),
                                               (np.uint8, np.int8), (np.int16, np.int16), (np.uint16, np.int16),
                                               (np.int32, np.int32), (np.uint32, np.int32), (np.int64, np.int64),
                                               (np.uint64, np.int64))}
_SELECT_MIN_SIZE = 4096          # below, where()'s lower overhead wins


def select(cond, a, b):
    """``where(cond, a, b)`` for NumPy or CuPy arrays (or NumPy scalars) of one dtype: by bits on
    the CPU (Note [Masking without branches])."""
    if type(cond) is not np.ndarray or cond.size < _SELECT_MIN_SIZE:
        return _xp.array_module(cond).where(cond, a, b)
    a, b = np.asarray(a), np.asarray(b)
    as_int = _SAME_WIDTH_INT.get(a.dtype)
    if as_int is None or a.dtype != b.dtype:
        return np.where(cond, a, b)
    mask = cond.astype(as_int)
    np.negative(mask, out=mask)             # all ones where cond holds
    out = a.view(as_int) & mask
    np.invert(mask, out=mask)
    mask &= b.view(as_int)
    if out.shape == np.broadcast_shapes(out.shape, mask.shape):
        out |= mask
    else:
        out = out | mask
    return out.view(a.dtype)


def _threshold_grad_array(g, xd, threshold):
    if g.shape == xd.shape and _cuda_kernels.usable(g, xd):
        return _cuda_kernels.threshold_backward(g, xd, threshold)           # one launch, not two
    as_int = _SAME_WIDTH_INT.get(g.dtype)
    if type(g) is np.ndarray and as_int is not None and g.shape == xd.shape:
        bits = (xd <= threshold).astype(as_int)     # 1 where dropped (NaN inputs keep their gradient)
        bits -= 1                                   # 0 where dropped, all ones where kept
        bits &= g.view(as_int)                      # (a view of the same item size: any strides)
        return bits.view(g.dtype)
    return _xp.array_module(g).where(xd <= threshold, g.dtype.type(0), g).astype(g.dtype, copy=False)


def _relu(xp, a):
    kind = a.dtype.kind
    if kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    if kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")    # PyTorch's relu is clamp_min
    if xp is np:
        if 4096 <= a.size <= _ZEROS_MAX:
            # NumPy's maximum has a SIMD loop for two arrays, not for an array and a scalar (5x slower)
            return np.maximum(a, _zeros_view(a.shape, a.dtype))
        zero = _ZERO.get(a.dtype)
        if zero is None:
            zero = _ZERO[a.dtype] = np.zeros((), a.dtype)
        return np.maximum(a, zero)
    return xp.maximum(a, 0)         # CuPy keeps a's dtype for a Python scalar; one kernel, no zeros


_ZERO = {}
_ZEROS = {}
_ZEROS_MAX = 1 << 23          # elements: the shared buffer stays below 64 MB


def _zeros_view(shape, dt):
    """A read-only array of zeros of the given shape, viewing a buffer shared across calls."""
    n = 1
    for d in shape:
        n *= d
    buf = _ZEROS.get(dt)
    if buf is None or buf.size < n:
        buf = np.zeros(max(n, 4096), dt)
        buf.flags.writeable = False
        _ZEROS[dt] = buf
    return buf[:n].reshape(shape)


def _bool_neg():
    raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                       "invert a mask, use the `~` or `logical_not()` operator instead.")


def _sigmoid(xp, a):
    """1 / (1 + exp(-a)), PyTorch's formula: exp(-a) overflowing to inf gives 0 (as PyTorch, where
    e / (1 + e) with e = exp(a) would give a denormal). float16 in float32, rounded once, as PyTorch."""
    if a.dtype.kind == "c":
        return 1 / (1 + xp.exp(-a))
    work = a.astype(np.float32) if a.dtype == np.float16 else a
    r = xp.negative(work, out=xp.empty_like(work))     # an array even for 0-d input
    with np.errstate(over="ignore"):
        xp.exp(r, out=r)
    r += 1
    xp.reciprocal(r, out=r)
    return r.astype(a.dtype, copy=False)


def _special_module(xp):
    if xp is np:
        import scipy.special as sp
    else:
        import cupyx.scipy.special as sp
    return sp


def _special_i1(x):
    from ..special import i1
    return i1(x)


def _special(xp, name, a):
    return getattr(_special_module(xp), name)(a).astype(a.dtype, copy=False)


def _erf(xp, a):
    try:
        return _special(xp, "erf", a)
    except ImportError:
        v = np.vectorize(math.erf, otypes=[a.dtype])
        return v(a)


def _erfinv(xp, a):
    # erfinv is odd: -0.0 maps to -0.0, as in PyTorch (SciPy's gives +0.0)
    return xp.where(a == 0, a, _special(xp, "erfinv", a))


def _sign(a):
    # (0 < a) - (a < 0): NaN and -0.0 give 0, as in PyTorch
    if a.dtype == np.bool_:
        return a.copy()
    return ((a > 0).astype(a.dtype) - (a < 0).astype(a.dtype)).astype(a.dtype, copy=False)


def _sgn(xp, a):
    if a.dtype.kind == "c":
        m = xp.abs(a)
        return xp.where(m == 0, 0, a / xp.where(m == 0, 1, m)).astype(a.dtype)
    return _sign(a)


class Polygamma(Function):
    _node_name = "PolygammaBackward0"

    @staticmethod
    def forward(ctx, x, n):
        ctx.save_for_backward(x)
        ctx.n = n
        return _polygamma_array(n, _float_input(x))

    @staticmethod
    def backward(ctx, grad):                     # d psi^(n)(x)/dx = psi^(n+1)(x)
        x, = ctx.saved_tensors
        return grad * polygamma(ctx.n + 1, x), None


@register("polygamma")
def polygamma(n, input, *, out=None):
    if isinstance(n, Tensor):       # Tensor.polygamma(n) method order
        n, input = input, n
    if n < 0:                       # checked before the dtype, as PyTorch does
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    _reject({0: "digamma", 1: "trigamma"}.get(n, "polygamma"), input.dtype, _COMPLEX)
    if recording(input):
        return _out(Polygamma.apply(input, n), out, operands=(input,))
    return _out(_make(_polygamma_array(n, _float_input(input))), out, operands=(input,))


def _polygamma_array(n, a):
    # n as an array of a's module: CuPy's polygamma compares n == 0 and hands the result to where
    xp = _xp.array_module(a)
    return _special_module(xp).polygamma(xp.asarray(n), a).astype(a.dtype, copy=False)


def _polygamma_(self, n):
    return write_inplace(self, polygamma(n, self)._data, "polygamma_") if not recording(self) else \
        self.copy_(polygamma(n, self))


Tensor.polygamma_ = _polygamma_


class Logit(Function):
    """out = log(x / (1 - x)), x clamped to [eps, 1 - eps] when eps is given"""
    _node_name = "LogitBackward0"

    @staticmethod
    def forward(ctx, x, eps):
        _reject("logit_cpu", x.dtype, _COMPLEX)
        ctx.save_for_backward(x)
        ctx.eps = eps
        return _logit_array(_float_input(x), eps)

    @staticmethod
    def backward(ctx, grad):
        # PyTorch: grad / (x (1 - x)); outside [eps, 1 - eps] 0 (clamped), without eps NaN outside [0, 1]
        x, = ctx.saved_tensors
        g = grad / (x * (1 - x))
        if ctx.eps is None:
            return where((x < 0) | (x > 1), _full_like(x, math.nan), g), None
        return where((x < ctx.eps) | (x > 1 - ctx.eps), _zeros_like(x), g), None


def _logit_array(a, eps):
    xp = _xp.array_module(a)
    if eps is not None:
        lo, hi = eps, 1 - eps
        # PyTorch tests x < lo first: with eps > 0.5 (lo > hi) every x below lo still becomes lo
        a = xp.clip(a, lo, hi) if lo <= hi else xp.where(a < lo, lo, xp.where(a > hi, hi, a)).astype(a.dtype)
    return xp.log(a / (1 - a))


def _full_like(x, value):
    from .creation import full_like
    return full_like(x, value)


@register("logit")
def logit(input, eps=None, *, out=None):
    _reject("logit_cpu", input.dtype, _COMPLEX)
    if recording(input):
        return _out(Logit.apply(input, eps), out, operands=(input,))
    a = _float_input(input)
    return _out(_make(in_operand_layout(_logit_array(a, eps), (a,))), out, operands=(input,))


_export("polygamma", "logit")


# -- clamp, where, lerp and friends -----------------------------------------------------------
class Clamp(Function):
    """out = min(max(x, lo), hi)"""
    _node_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, x, lo, hi):
        a = x._data
        xp = _xp.array_module(a)
        dt = _dtype.result_type(x, *[v for v in (lo, hi) if v is not None])
        if dt._category == 3:
            raise NotImplementedError("clamp is not supported for complex types")
        if dt._category == 0 and not (isinstance(lo, Tensor) or isinstance(hi, Tensor)):
            _not_implemented("clamp_min_scalar_cpu" if hi is None else "clamp_max_scalar_cpu" if lo is None
                             else "clamp_scalar_cpu", dt)
        if dt._category == 0 and lo is not None and hi is not None:
            _not_implemented("clamp_cpu", dt)       # one tensor bound is maximum or minimum, which take bools
        a = a.astype(dt.np, copy=False)
        out = a
        if lo is not None:
            out = xp.maximum(out, operand(lo, dt, a))
        if hi is not None:
            out = xp.minimum(out, operand(hi, dt, a))
        if out is a:
            out = a.copy()
        ctx.save_for_backward(x, lo if isinstance(lo, Tensor) else None, hi if isinstance(hi, Tensor) else None)
        ctx.lo, ctx.hi = (None if isinstance(lo, Tensor) else lo), (None if isinstance(hi, Tensor) else hi)
        return out

    @staticmethod
    def backward(ctx, grad):
        # PyTorch's clamp_backward(_min_max): the gradient selected (where), not masked by a product, so an
        # infinite gradient elsewhere gives 0, not NaN; x gets it inside [lo, hi] (never at a NaN), a bound
        # where it won, and max where lo > hi (the result is max there)
        x, lo_t, hi_t = ctx.saved_tensors
        lo = lo_t if lo_t is not None else ctx.lo
        hi = hi_t if hi_t is not None else ctx.hi
        inside = x >= lo if lo is not None else None
        if hi is not None:
            inside = x <= hi if inside is None else inside & (x <= hi)
        gx = where(inside, grad, 0.0) if ctx.needs_input_grad[0] else None
        glo = ghi = None
        if lo_t is not None and ctx.needs_input_grad[1]:
            glo = where((x < lo) & (lo < hi) if hi_t is not None else x < lo, grad, 0.0)
        if hi_t is not None and ctx.needs_input_grad[2]:
            ghi = where((x > hi) | (hi < lo) if lo_t is not None else x > hi, grad, 0.0)
        return gx, glo, ghi


def _clamp_node(name, lo, hi):
    """Clamp recorded under PyTorch's node name: its Tensor overload (bounds that are tensors) is
    <Name>Backward0 for clamp, <Name>Backward1 for clamp_min/clamp_max; its Scalar overload the other."""
    tensors = isinstance(lo, Tensor) or isinstance(hi, Tensor)
    overload = (0 if tensors else 1) if name == "Clamp" else (1 if tensors else 0)
    return Clamp.named(f"{name}Backward{overload}")


@register("clamp", "clip")
def clamp(input, min=None, max=None, *, out=None):
    return _clamp(input, min, max, out, "Clamp")


def _clamp(input, min, max, out, node):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    min, max = _clamp_bounds(input, min, max)
    result = _clamp_node(node, min, max).apply(input, min, max)
    # with Number bounds clamp is a unary op (out keeps the result's dtype); Tensor bounds cast to out
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _out(result, out, operands=(input, min, max))
    return _out_exact(result, out, operands=(input,))


clip = clamp


def _clamp_bounds(input, lo, hi, name="clamp"):
    """PyTorch has clamp(Tensor, Tensor?, Tensor?) and clamp(Tensor, Number?, Number?): a number with a
    tensor picks the second, which takes a 0-dim tensor that needs no gradient as its number."""
    if lo is None or hi is None or isinstance(lo, Tensor) == isinstance(hi, Tensor):
        return lo, hi
    for b in (lo, hi):
        if isinstance(b, Tensor) and (b.ndim or b._requires_grad):
            raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, "
                            f"{type(lo).__name__}, {type(hi).__name__}): min and max must both be Tensors or "
                            f"both be Numbers")
    return tuple(b.item() if isinstance(b, Tensor) else b for b in (lo, hi))


def _bound(name, value):
    if value is None:       # no overload of clamp_min/clamp_max takes None
        raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, NoneType)")
    return value


def clamp_min(input, min, *, out=None):
    r = _clamp(input, _bound("clamp_min", min), None, None, "ClampMin")
    return _out_exact(r, out, operands=(input, min)) if out is not None else r


def clamp_max(input, max, *, out=None):
    r = _clamp(input, None, _bound("clamp_max", max), None, "ClampMax")
    return _out_exact(r, out, operands=(input, max)) if out is not None else r


Tensor.clamp_min, Tensor.clamp_max = clamp_min, clamp_max


# C++ names of the element types, as PyTorch's clamp_ with Number bounds spells a failed cast
_CPP_TYPE_NAME = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int", "int32": "int",
                  "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
                  "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def _clamp_(self, min, max, node):
    min, max = _clamp_bounds(self, min, max, "clamp_")
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):
        bounds = [b for b in (min, max) if b is not None]
        dt = _dtype.result_type(self, *bounds)
        if not _dtype.can_cast(dt, self.dtype):
            raise RuntimeError(f"result type {_type_name(dt)} can't be cast to the desired output type "
                               f"{_CPP_TYPE_NAME[self.dtype.name]}")
    check_no_partial_overlap(self, min, max)
    if recording(self, min, max) or (self._base is not None and recording(self._base)):
        return apply_inplace(self, _clamp_node(node, min, max), min, max)
    check_inplace_autograd(self)
    return write_inplace(self, clamp(self, min, max)._data, "clamp")


Tensor.clamp_ = Tensor.clip_ = lambda self, min=None, max=None: _clamp_(self, min, max, "Clamp")
Tensor.clamp_min_ = lambda self, min: _clamp_(self, _bound("clamp_min_", min), None, "ClampMin")
Tensor.clamp_max_ = lambda self, max: _clamp_(self, None, _bound("clamp_max_", max), "ClampMax")
_export("clamp", "clip", "clamp_min", "clamp_max")


class Where(Function):
    """out = cond ? a : b"""
    _node_name = "WhereBackward0"

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        if isinstance(a, Tensor):
            dt = result_dtype(a, b)
            ad = operand(a, dt)
        else:
            dt = result_dtype(b, a) if isinstance(b, Tensor) else _dtype.result_type(a, b)
            ad = scalar_as(a, dt)
        bd = operand(b, dt, cond._data) if isinstance(b, Tensor) else scalar_as(b, dt)
        return select(cond._data, ad, bd).astype(dt.np, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        zero = _zeros_like(grad)
        return (None, where(cond, grad, zero) if ctx.needs_input_grad[1] else None,
                where(cond, zero, grad) if ctx.needs_input_grad[2] else None)


def where(condition, input=None, other=None, *, out=None):
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    if condition.dtype is not _dtype.bool:
        if condition.dtype is _dtype.uint8:
            condition = condition.bool()
        else:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                               f"{_type_name(condition.dtype)}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        from .creation import tensor
        input = tensor(input, device=condition.device)
    return _out_exact(Where.apply(condition, input, other), out,
                      lambda want, got: f"Expected out type to be {_type_name(want)} but got {_type_name(got)}",
                      operands=(condition, input, other))


def _where_method(self, condition, other):
    """``x.where(condition, y)``: x where condition holds, else y (self is the input, not the condition)."""
    return where(condition, self, other)


Tensor.where = _where_method


def _type_name(dt):
    from ._util import _type_word
    return _type_word(dt)


class Lerp(Function):
    """out = start + weight * (end - start)"""
    _node_name = "LerpBackward0"

    @staticmethod
    def forward(ctx, start, end, weight):
        s, e = start._data, end._data
        # a 0-dim weight is a scalar operand: PyTorch takes it in any dtype, and computes in start's
        if e.dtype != s.dtype or (isinstance(weight, Tensor) and weight.ndim and weight._data.dtype != s.dtype):
            other = end if e.dtype != s.dtype else weight
            raise RuntimeError(f"expected dtype {_CPP_TYPE_NAME[start.dtype.name]} for `"
                               f"{'end' if other is end else 'weight'}` but got dtype "
                               f"{_CPP_TYPE_NAME[other.dtype.name]}")
        if s.dtype.kind not in "fc":
            _not_implemented("lerp_kernel_tensor" if isinstance(weight, Tensor) else "lerp_kernel_scalar",
                             start.dtype)
        ctx.save_for_backward(start, end, weight if isinstance(weight, Tensor) else None)
        ctx.w = None if isinstance(weight, Tensor) else weight
        xp = _xp.array_module(s)
        w = weight._data.astype(s.dtype, copy=False) if isinstance(weight, Tensor) else s.dtype.type(weight)
        # PyTorch's two-sided formula: exact at both ends (w = 0 gives start, w = 1 gives end)
        d = e - s
        return xp.where(xp.abs(w) < 0.5, s + w * d, e - d * (1 - w)).astype(s.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        start, end, w_t = ctx.saved_tensors
        if w_t is None:
            w = _conj_scalar(ctx.w)
            return grad * (1 - w), grad * w, None
        w = _conj(w_t)
        return grad * (1 - w), grad * w, grad * _conj(end - start)


def _lerp_node(weight):
    """PyTorch's node for lerp: LerpBackward0 for a Number weight (Scalar overload), LerpBackward1 for a Tensor."""
    return Lerp.named("LerpBackward1") if isinstance(weight, Tensor) else Lerp


@register("lerp")
def lerp(input, end, weight, *, out=None):
    if not isinstance(input, Tensor) or not isinstance(end, Tensor):
        raise TypeError(f"lerp() received an invalid combination of arguments - got ({type(input).__name__}, "
                        f"{type(end).__name__}, {type(weight).__name__}): input and end must be Tensors")
    check_same_device("lerp", input, end, weight)
    return _out(_lerp_node(weight).apply(input, end, weight), out, operands=(input, end, weight))


def _lerp_(self, end, weight):
    check_same_device("lerp_", self, end, weight)
    check_no_partial_overlap(self, end, weight)
    if recording(self, end, weight):
        return apply_inplace(self, _lerp_node(weight), end, weight)
    return write_inplace(self, lerp(self, end, weight)._data, "lerp")


Tensor.lerp_ = _lerp_
_export("where", "lerp")


def _binary_float(name, compute, grads, reject=(3,), reads_result=False):
    """A differentiable binary op on floats: compute(xp, a, b); grads(a, b, grad) -> (ga, gb), or
    grads(a, b, out, grad) with reads_result (PyTorch's formula reads the result: it is saved)."""
    node_name = name.capitalize() + "Backward0"

    def forward(ctx, a, b):
        if not isinstance(a, Tensor):
            a, b = _as_tensor_like(a, b), b
        dt = result_dtype(a, b)
        _reject(name + "_cpu", dt, reject)
        if dt._category < 2:
            dt = _dtype.get_default_dtype()
        ad = operand(a, dt)
        bd = operand(b, dt, ad)
        out = _laid_out(compute(_xp.array_module(ad), ad, bd), a, b)
        if reads_result:
            out = _make(out)
        ctx.save_for_backward(a, b if isinstance(b, Tensor) else None, out if reads_result else None)
        ctx.b_scalar = None if isinstance(b, Tensor) else b
        return out

    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        b = b if b is not None else ctx.b_scalar
        return grads(a, b, out, grad) if reads_result else grads(a, b, grad)

    cls = type(name.capitalize(), (Function,), {"_node_name": node_name, "forward": staticmethod(forward),
                                                "backward": staticmethod(backward)})

    def fn(input, other, *, out=None):
        for pos, (arg, v) in enumerate((("input", input), ("other", other))):
            if not isinstance(v, Tensor):
                raise TypeError(f"{name}(): argument '{arg}' (position {pos + 1}) must be Tensor, not "
                                f"{type(v).__name__}")
        return _out(cls.apply(input, other), out, operands=(input, other))
    fn.__name__ = name
    globals()[name] = fn
    setattr(Tensor, name, fn)

    def fn_(self, other):
        check_no_partial_overlap(self, other)
        if recording(self, other):
            return apply_inplace(self, cls, other)
        return write_inplace(self, fn(self, other)._data, name)
    setattr(Tensor, name + "_", fn_)
    _export(name)
    return cls


_binary_float("atan2", lambda xp, a, b: xp.arctan2(a, b),
              lambda a, b, g: (g * b / (a * a + b * b), -g * a / (a * a + b * b)))
_binary_float("hypot", lambda xp, a, b: xp.hypot(a, b),
              lambda a, b, out, g: (g * a / out, g * b / out), reject=(0, 1, 3), reads_result=True)
Tensor.arctan2 = atan2
arctan2 = atan2
_export("arctan2")


def _minmax_binary(name, pick_a):
    @_keeps_layout
    def compute(a, b):
        ad, bd, dt = _prep(a, b)
        if dt._category == 3:
            raise RuntimeError(f"{name} not implemented for complex tensors.")
        try:
            return getattr(_xp.array_module(ad), name)(ad, bd)
        except ValueError:
            _check_shapes(ad, bd)
            raise

    class Op(Function):
        _node_name = name.capitalize() + "Backward0"

        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return compute(a, b)

        @staticmethod
        def backward(ctx, grad):              # ties split the gradient equally, as PyTorch
            a, b = ctx.saved_tensors
            sel = (a > b) if pick_a else (a < b)
            tie = (a == b).to(grad.dtype) * 0.5
            wa = sel.to(grad.dtype) + tie
            return grad * wa, grad * (1 - wa)

    def fn(input, other, *, out=None):
        if not isinstance(other, Tensor):
            raise TypeError(f"{name}(): argument 'other' must be Tensor, not {type(other).__name__}")
        if recording(input, other):
            return _out(Op.apply(input, other), out, operands=(input, other))
        return _out(_make(compute(input, other)), out, operands=(input, other))
    fn.__name__ = name
    globals()[name] = fn
    setattr(Tensor, name, fn)
    _export(name)


_minmax_binary("maximum", True)
_minmax_binary("minimum", False)


def _no_complex_order(name, input, other):
    _tensors_only(name, input, other)
    if input.is_complex() or other.is_complex():
        raise RuntimeError(f"{name} not implemented for complex tensors.")


def _tensors_only(name, input, other, second="other"):
    """PyTorch's TypeError for an op that has no overload taking a Python number."""
    for pos, (arg, v) in enumerate((("input", input), (second, other))):
        if not isinstance(v, Tensor):
            raise TypeError(f"{name}(): argument '{arg}' (position {pos + 1}) must be Tensor, not {type(v).__name__}")


def _ufunc_pair(ufunc_name, input, other):
    ad, bd, dt = _prep(input, other)
    try:
        return _make(getattr(_xp.array_module(ad), ufunc_name)(ad, bd))
    except ValueError:
        _check_shapes(ad, bd)
        raise


def fmax(input, other, *, out=None):
    _no_complex_order("fmax", input, other)
    if recording(input, other):     # the gradient goes where the value came from (NaN loses)
        r = where((input >= other) | other.isnan(), input, other)
    else:
        r = _ufunc_pair("fmax", input, other)
    return _out(r, out, operands=(input, other))


def fmin(input, other, *, out=None):
    _no_complex_order("fmin", input, other)
    if recording(input, other):
        r = where((input <= other) | other.isnan(), input, other)
    else:
        r = _ufunc_pair("fmin", input, other)
    return _out(r, out, operands=(input, other))


Tensor.fmax, Tensor.fmin = fmax, fmin


class Remainder(Function):
    """out = a - floor(a / b) * b (Python's modulo sign convention)"""
    _node_name = "RemainderBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ad, bd, dt = _prep(a, b)
        _reject("remainder_cpu", dt, _BOOL_COMPLEX)
        if dt._category < 2:
            _check_int_zero(ad, bd)
        ctx.save_for_backward(a, b if isinstance(b, Tensor) else None)
        ctx.b = None if isinstance(b, Tensor) else b
        xp = _xp.array_module(ad)
        try:
            if dt._category < 2:
                return _laid_out(xp.remainder(ad, bd), a, b)
            # PyTorch's formula: fmod, moved by b when its sign differs from b's; a zero keeps a's sign
            # (NumPy's remainder gives zeros b's sign: remainder(0., -1.) is -0.0 there, 0.0 in PyTorch)
            mod = xp.fmod(ad, bd)
            b_negative = (bd < 0) if _xp.is_array(bd) else float(bd) < 0      # a scalar stays on the host
            return _laid_out(xp.where((mod != 0) & ((mod < 0) != b_negative), mod + bd, mod), a, b)
        except ValueError:
            _check_shapes(ad, bd)
            raise

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        gb = -grad * floor_divide(a, b) if b is not None and ctx.needs_input_grad[1] else None
        return grad, gb


class Fmod(Function):
    """out = a - trunc(a / b) * b (C's sign convention)"""
    _node_name = "FmodBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ad, bd, dt = _prep(a, b)
        _reject("fmod_cpu", dt, _BOOL_COMPLEX)
        if dt._category < 2:
            _check_int_zero(ad, bd)
        ctx.save_for_backward(a, b if isinstance(b, Tensor) else None)
        try:
            return _laid_out(_xp.array_module(ad).fmod(ad, bd), a, b)
        except ValueError:
            _check_shapes(ad, bd)
            raise

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        gb = -grad * div(a, b, rounding_mode="trunc") if b is not None and ctx.needs_input_grad[1] else None
        return grad, gb


@register("remainder")
def remainder(input, other, *, out=None):
    if not isinstance(input, Tensor):
        input = _as_tensor_like(input, other)
    return _out(Remainder.apply(input, other), out, operands=(input, other))


@register("fmod")
def fmod(input, other, *, out=None):
    return _out(Fmod.apply(input, other), out, operands=(input, other))


Tensor.remainder_ = lambda self, other: write_inplace(
    self, remainder(self, other)._data, "remainder", (other,)) \
    if _check_inplace_result(self, other, "remainder") else None
Tensor.fmod_ = lambda self, other: write_inplace(
    self, fmod(self, other)._data, "fmod", (other,)) if _check_inplace_result(self, other, "fmod") else None
Tensor.__imod__ = Tensor.remainder_
_export("maximum", "minimum", "fmax", "fmin", "remainder", "fmod")


class Round(Function):
    _node_name = "RoundBackward0"

    @staticmethod
    def forward(ctx, x, decimals):
        a = x._data
        cat = _CATEGORY[a.dtype.kind]
        # round(x) accepts integers (a copy); round(x, decimals=...) is a float-only kernel
        if cat in (0, 3) or (cat == 1 and decimals is not None):
            _not_implemented("round_cpu" if decimals is not None else "round_vml_cpu", _BY_NP[a.dtype])
        if cat == 1:
            return a.copy()
        return _xp.array_module(a).round(a, decimals or 0)

    @staticmethod
    def backward(ctx, grad):
        return _zeros_like(grad), None


def _round_node(decimals):
    return Round if decimals is None else Round.named("RoundBackward1")     # torch's two overloads


@register("round")
def round(input, *, decimals=None, out=None):
    return _out_exact(_round_node(decimals).apply(input, decimals), out, operands=(input,))


# recorded as round's node (a plain write would leave the old history: the gradient would pass unrounded)
Tensor.round_ = lambda self, *, decimals=None: apply_inplace(self, _round_node(decimals), decimals)
_export("round")


class NanToNum(Function):
    """out = x with NaN, +inf and -inf replaced by nan, posinf, neginf (the dtype's extremes by default)"""
    _node_name = "NanToNumBackward0"

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        ctx.save_for_backward(x)
        return _nan_to_num_array(x._data, nan, posinf, neginf)

    @staticmethod
    def backward(ctx, grad):                     # 1 where x is finite, 0 where it was replaced
        x, = ctx.saved_tensors
        return grad * isfinite(x), None, None, None


def _nan_to_num_array(a, nan, posinf, neginf):
    if a.dtype.kind not in "fc":
        return a.copy()
    info = np.finfo(a.dtype)
    return _xp.array_module(a).nan_to_num(a, nan=nan, posinf=info.max if posinf is None else posinf,
                                          neginf=info.min if neginf is None else neginf)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    if recording(input):
        if input.is_complex():
            raise RuntimeError("nan_to_num does not support automatic differentiation for outputs with complex "
                               "dtype.")
        return _out(NanToNum.apply(input, nan, posinf, neginf), out, operands=(input,))
    return _out(_make(_nan_to_num_array(input._data, nan, posinf, neginf)), out, operands=(input,))


Tensor.nan_to_num = nan_to_num


def _nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
    if self.dtype._category < 2:
        return self         # integers hold no NaN: PyTorch copies self onto itself, a no-op (no overlap check)
    return write_inplace(self, nan_to_num(self, nan, posinf, neginf)._data, "nan_to_num")


Tensor.nan_to_num_ = _nan_to_num_
_export("nan_to_num")


# -- addcmul / addcdiv (the optimizers' workhorses) ---------------------------------------------
class Addcmul(Function):
    """out = input + value * t1 * t2"""
    _node_name = "AddcmulBackward0"

    @staticmethod
    def forward(ctx, input, t1, t2, value):
        ctx.save_for_backward(t1 if ctx.needs_input_grad[2] else None, t2 if ctx.needs_input_grad[1] else None)
        ctx.value = value
        return _addcmul_arrays(input, t1, t2, value)

    @staticmethod
    def backward(ctx, grad):
        t1, t2 = ctx.saved_tensors
        v = ctx.value
        g1 = grad * _conj(t2 if v == 1 else t2 * v) if t2 is not None else None
        g2 = grad * _conj(t1 if v == 1 else t1 * v) if t1 is not None else None
        return grad, g1, g2, None


def _addcmul_arrays(input, t1, t2, value):
    a, b, c, dt = _addc_operands("addcmul", input, t1, t2, value)
    return a + (b * c if value == 1 else b * scalar_as(value, dt) * c)


class Addcdiv(Function):
    """out = input + value * t1 / t2"""
    _node_name = "AddcdivBackward0"

    @staticmethod
    def forward(ctx, input, t1, t2, value):
        ctx.save_for_backward(t1 if ctx.needs_input_grad[2] else None, t2)
        ctx.value = value
        return _addcdiv_arrays(input, t1, t2, value)

    @staticmethod
    def backward(ctx, grad):
        t1, t2 = ctx.saved_tensors
        v = ctx.value
        g1 = grad * _conj(v / t2) if ctx.needs_input_grad[1] else None
        g2 = -grad * _conj(v * t1 / (t2 * t2)) if t1 is not None else None
        return grad, g1, g2, None


def _addcdiv_arrays(input, t1, t2, value):
    a, b, c, dt = _addc_operands("addcdiv", input, t1, t2, value)
    return a + (b / c if value == 1 else b * scalar_as(value, dt) / c)


def _conj(t):
    return t.conj() if t.is_complex() else t


def _addc_operands(name, input, t1, t2, value):
    """The three operands as arrays of their result dtype, on one device (PyTorch's checks first)."""
    if name == "addcdiv" and t1.dtype._category < 2 and t2.dtype._category < 2:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform a "
            "true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as "
            "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
            "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the latter "
            "implementation: (input + value * tensor1 / tensor2), for all dtypes.")
    dt = _dtype.result_type(input, t1, t2)
    if isinstance(value, complex) and dt._category < 3:
        raise RuntimeError(f"value cannot be converted to type {_C_TYPE.get(dt.name, dt.name)} without overflow")
    from ._util import broadcast_shapes
    broadcast_shapes(broadcast_shapes(input.shape, t1.shape), t2.shape)
    like = _device_array(input, t1, t2)
    return operand(input, dt, like), operand(t1, dt, like), operand(t2, dt, like), dt


def _device_array(*tensors):
    """The array whose device the op runs on: a 0-dim CPU operand joins the others' device, as in PyTorch."""
    arrays = [t._data for t in tensors if isinstance(t, Tensor)]
    return next((a for a in arrays if a.ndim or type(a) is not np.ndarray), arrays[0])


_C_TYPE = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int"}


@register("addcmul")
def addcmul(input, tensor1, tensor2, *, value=1, out=None):
    if recording(input, tensor1, tensor2):
        return _out(Addcmul.apply(input, tensor1, tensor2, value), out, operands=(input, tensor1, tensor2))
    r = _addcmul_arrays(input, tensor1, tensor2, value)
    return _out(_make(in_operand_layout(r, [t._data for t in (input, tensor1, tensor2)])), out,
                operands=(input, tensor1, tensor2))


@register("addcdiv")
def addcdiv(input, tensor1, tensor2, *, value=1, out=None):
    if recording(input, tensor1, tensor2):
        return _out(Addcdiv.apply(input, tensor1, tensor2, value), out, operands=(input, tensor1, tensor2))
    r = _addcdiv_arrays(input, tensor1, tensor2, value)
    return _out(_make(in_operand_layout(r, [t._data for t in (input, tensor1, tensor2)])), out,
                operands=(input, tensor1, tensor2))


def _same_floating_dtype(self, tensor1, tensor2):
    """Whether the optimizers' fast path applies: one floating dtype, so nothing to promote or check."""
    dt = self._data.dtype
    return dt.kind in "fc" and tensor1._data.dtype == dt and tensor2._data.dtype == dt


def _addcmul_(self, tensor1, tensor2, *, value=1):
    check_no_partial_overlap(self, tensor1, tensor2)
    if recording(self, tensor1, tensor2):
        return apply_inplace(self, Addcmul, tensor1, tensor2, value)
    check_inplace_autograd(self)
    if not _same_floating_dtype(self, tensor1, tensor2):     # promotion, value cast, and PyTorch's checks
        return write_inplace(self, _addcmul_arrays(self, tensor1, tensor2, value), "addcmul")
    t = tensor1._data * tensor2._data
    if value != 1:
        t *= value
    if t.shape != self._data.shape and broadcast_shapes(self._data.shape, t.shape) != self._data.shape:
        _inplace_shape_error(self, _make(t))
    self._data += t.astype(self._data.dtype, copy=False)
    self._version_counter[0] += 1
    return self


def _addcdiv_(self, tensor1, tensor2, *, value=1):
    check_no_partial_overlap(self, tensor1, tensor2)
    if recording(self, tensor1, tensor2):
        return apply_inplace(self, Addcdiv, tensor1, tensor2, value)
    check_inplace_autograd(self)
    if not _same_floating_dtype(self, tensor1, tensor2):
        return write_inplace(self, _addcdiv_arrays(self, tensor1, tensor2, value), "addcdiv")
    t = tensor1._data / tensor2._data
    if value != 1:
        t *= value
    if t.shape != self._data.shape and broadcast_shapes(self._data.shape, t.shape) != self._data.shape:
        _inplace_shape_error(self, _make(t))
    self._data += t.astype(self._data.dtype, copy=False)
    self._version_counter[0] += 1
    return self


Tensor.addcmul_ = _addcmul_
Tensor.addcdiv_ = _addcdiv_
_export("addcmul", "addcdiv")


# -- comparisons and logic (no gradients) -----------------------------------------------------
_ORDERED = ("less", "less_equal", "greater", "greater_equal")


def _compare(name, ufunc_name, dunder=None):
    def fn(input, other, *, out=None):
        if not isinstance(input, Tensor):
            input = _as_tensor_like(input, other)
        if not isinstance(other, Tensor) and not is_scalar(other):
            other = _coerce(other, input)
            if other is NotImplemented:
                return NotImplemented if dunder else _raise_type(name, other)
        ad, bd, dt = _prep(input, other)
        if dt._category == 3 and ufunc_name in _ORDERED:
            _not_implemented(name + "_cpu", dt)
        try:
            r = getattr(_xp.array_module(ad), ufunc_name)(ad, bd)
        except ValueError:
            _check_shapes(ad, bd)
            raise
        return _out(_make(_laid_out(r, input, other)), out, operands=(input, other))
    fn.__name__ = name
    globals()[name] = fn
    setattr(Tensor, name, fn)

    def fn_(self, other):
        return write_inplace(self, fn(self, other)._data.astype(self._data.dtype), name, (other,))
    setattr(Tensor, name + "_", fn_)
    if dunder:
        setattr(Tensor, dunder, fn)
    _export(name)
    return fn


def _raise_type(name, other):
    raise TypeError(f"{name}(): argument 'other' must be Tensor or Number, not {type(other).__name__}")


_compare("eq", "equal", "__eq__")
_compare("ne", "not_equal", "__ne__")
_compare("lt", "less", "__lt__")
_compare("le", "less_equal", "__le__")
_compare("gt", "greater", "__gt__")
_compare("ge", "greater_equal", "__ge__")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
Tensor.greater, Tensor.greater_equal, Tensor.less, Tensor.less_equal, Tensor.not_equal = gt, ge, lt, le, ne
Tensor.greater_, Tensor.greater_equal_, Tensor.less_, Tensor.less_equal_, Tensor.not_equal_ = (
    Tensor.gt_, Tensor.ge_, Tensor.lt_, Tensor.le_, Tensor.ne_)
Tensor.__hash__ = lambda self: id(self)
_export("greater", "greater_equal", "less", "less_equal", "not_equal")


def _truth(a):
    """a where a nonzero complex counts as True, as in PyTorch (CuPy's logical ufuncs refuse complex)."""
    return a != 0 if a.dtype.kind == "c" else a


def _logical(name, ufunc_name):
    def fn(input, other, *, out=None):
        _tensors_only(name, input, other)
        # the operands meet in their common dtype first, as in PyTorch: a float32 1e-12 beside a float16
        # tensor is 0 there, so False
        common = _dtype.result_type(input, other).np
        ad = _truth(input._data.astype(common, copy=False))
        bd = _truth(data_on_device_of(other, input._data).astype(common, copy=False))
        try:
            r = getattr(_xp.array_module(ad), ufunc_name)(ad, bd)
            return _out(_make(_laid_out(r, input, other)), out, operands=(input, other))
        except ValueError:
            _check_shapes(ad, bd)
            raise
    fn.__name__ = name
    globals()[name] = fn
    setattr(Tensor, name, fn)
    setattr(Tensor, name + "_", lambda self, other: write_inplace(
        self, fn(self, other)._data.astype(self._data.dtype), name, (other,)))
    _export(name)


_logical("logical_and", "logical_and")
_logical("logical_or", "logical_or")
_logical("logical_xor", "logical_xor")


@register("logical_not")
def logical_not(input, *, out=None):
    r = _xp.array_module(input._data).logical_not(_truth(input._data))
    return _out(_make(in_operand_layout(r, (input._data,))), out, operands=(input,))


Tensor.logical_not_ = lambda self: write_inplace(self, logical_not(self)._data.astype(self._data.dtype))
_export("logical_not")


def _bitwise(name, ufunc_name, dunder, rdunder, idunder):
    def fn(input, other, *, out=None):
        if not isinstance(input, Tensor):
            input = _as_tensor_like(input, other)
        ad, bd, dt = _prep(input, other)
        if dt._category > 1 or (dt._category == 0 and "shift" in ufunc_name):
            _not_implemented(ufunc_name[0] + "shift_cpu" if "shift" in ufunc_name else name + "_cpu", dt)
        r = getattr(_xp.array_module(ad), ufunc_name)(ad, bd)
        return _out(_make(_laid_out(r, input, other)), out, operands=(input, other))
    fn.__name__ = name
    fn = _broadcast_errors(fn)
    globals()[name] = fn
    setattr(Tensor, name, fn)
    setattr(Tensor, dunder, fn)
    setattr(Tensor, rdunder, lambda self, other: fn(_reflected(other, self), self))

    def fn_(self, other):
        _check_inplace_result(self, other, name)
        return write_inplace(self, fn(self, other)._data, name, (other,))
    setattr(Tensor, name + "_", fn_)
    setattr(Tensor, idunder, fn_)
    _export(name)


_bitwise("bitwise_and", "bitwise_and", "__and__", "__rand__", "__iand__")
_bitwise("bitwise_or", "bitwise_or", "__or__", "__ror__", "__ior__")
_bitwise("bitwise_xor", "bitwise_xor", "__xor__", "__rxor__", "__ixor__")
_bitwise("bitwise_left_shift", "left_shift", "__lshift__", "__rlshift__", "__ilshift__")
_bitwise("bitwise_right_shift", "right_shift", "__rshift__", "__rrshift__", "__irshift__")


def _predicate(name, compute, has_out=False):
    def fn(input):
        a = input._data
        return _make(in_operand_layout(compute(_xp.array_module(a), a), (a,)))

    if has_out:                         # (these write only into a bool out=)
        test = fn

        def fn(input, *, out=None):
            if out is not None and isinstance(out, Tensor) and out.dtype is not _dtype.bool:
                raise RuntimeError(f"{name} does not support non-boolean outputs.")
            return _out(test(input), out, operands=(input,))
    fn.__name__ = name
    globals()[name] = fn
    setattr(Tensor, name, fn)
    _export(name)


_predicate("isnan", lambda xp, a: xp.isnan(a) if a.dtype.kind in "fc" else xp.zeros(a.shape, bool))
_predicate("isinf", lambda xp, a: xp.isinf(a) if a.dtype.kind in "fc" else xp.zeros(a.shape, bool))
_predicate("isfinite", lambda xp, a: xp.isfinite(a) if a.dtype.kind in "fc" else xp.ones(a.shape, bool))
_predicate("isposinf", lambda xp, a: xp.isposinf(a) if a.dtype.kind == "f" else xp.zeros(a.shape, bool), True)
_predicate("isneginf", lambda xp, a: xp.isneginf(a) if a.dtype.kind == "f" else xp.zeros(a.shape, bool), True)
_predicate("isreal", lambda xp, a: (a.imag == 0) if a.dtype.kind == "c" else xp.ones(a.shape, bool))
_predicate("signbit", lambda xp, a: xp.signbit(a) if a.dtype.kind == "f" else (a < 0), True)


@register("isclose")
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    _tensors_only("isclose", input, other)
    for name, tolerance in (("rtol", rtol), ("atol", atol)):
        if tolerance < 0:
            # (PyTorch prints the double as C++ streams do: -1, -0.5, -1e-07)
            raise RuntimeError(f"{name} must be greater than or equal to zero, but got {float(tolerance):g}")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{_type_name(input.dtype)} did not match {_type_name(other.dtype)}")
    check_same_device("isclose", input, other)
    xp = _xp.array_module(input._data)
    return _make(xp.isclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


@register("allclose")
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


@register("equal")
def equal(input, other):
    if input.shape != other.shape:
        return False
    ad, bd, dt = _prep(input, other)
    return bool((ad == bd).all())


_export("isclose", "allclose", "equal")


# -- complex helpers --------------------------------------------------------------------------
class Conj(Function):
    _node_name = "ConjBackward0"

    @staticmethod
    def forward(ctx, x):
        return _xp.array_module(x._data).conj(x._data)

    @staticmethod
    def backward(ctx, grad):
        return grad.conj()


@register("conj", "conj_physical")
def conj(input):
    if not input.is_complex():
        return input
    return Conj.apply(input)


conj_physical = conj
Tensor.conj_physical_ = lambda self: self.copy_(self.conj()) if self.is_complex() else self
Tensor.resolve_conj = lambda self: self
Tensor.resolve_neg = lambda self: self
Tensor.is_conj = lambda self: False
class Real(Function):
    """The real part of a complex tensor, a view of its memory (as PyTorch's)."""
    _is_view = True
    _node_name = "SelectBackward0"     # PyTorch selects from view_as_real

    @staticmethod
    def forward(ctx, x):
        return x._data.real

    @staticmethod
    def backward(ctx, grad):
        return grad * (1 + 0j)


class Imag(Function):
    """The imaginary part of a complex tensor, a view of its memory (as PyTorch's)."""
    _is_view = True
    _node_name = "SelectBackward0"

    @staticmethod
    def forward(ctx, x):
        return x._data.imag

    @staticmethod
    def backward(ctx, grad):
        return grad * 1j


Tensor.real = property(lambda self: Real.apply(self) if self.is_complex() else self)
Tensor.imag = property(lambda self: Imag.apply(self) if self.is_complex() else _no_imag())


def _no_imag():
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


def real(input):
    return input.real


def imag(input):
    return input.imag


_export("conj", "conj_physical", "real", "imag")


# -- more binary math (composites: their gradients come from the ops they are built of) ------------
def _float_pair(name, input, other):
    """input and other as tensors of their floating result dtype (integers promote to the default)."""
    if not isinstance(input, Tensor):
        input = _reflected(input, other)
    if not isinstance(other, Tensor):
        other = _reflected(other, input)
    dt = _dtype.result_type(input, other)
    if dt._category < 2:
        dt = _dtype.get_default_dtype()
    return input.to(dt), other.to(dt), dt


class Xlogy(Function):
    """out = x * log(y), 0 where x is 0 (unless y is NaN); either may be a Python number"""
    _node_name = "XlogyBackward0"

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x if isinstance(x, Tensor) else None, y if isinstance(y, Tensor) else None)
        ctx.scalars = (None if isinstance(x, Tensor) else x, None if isinstance(y, Tensor) else y)
        return _xlogy_arrays(x, y)

    @staticmethod
    def backward(ctx, grad):
        # PyTorch: d/dx = xlogy(grad, y), 0 where x == 0 and y <= 0; d/dy = grad * x / y
        x, y = ctx.saved_tensors
        xs, ys = ctx.scalars
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = xlogy(grad, y if y is not None else ys)
            if y is not None or ys <= 0:
                gx = gx.masked_fill((x == 0) & (y <= 0) if y is not None else x == 0, 0.0)
        if ctx.needs_input_grad[1]:
            gy = grad * (x if x is not None else xs) / y
        return gx, gy


def _xlogy_arrays(x, y):
    if not isinstance(x, Tensor):
        x = _reflected(x, y)
    dt = result_dtype(x, y)
    if dt._category < 2:
        dt = _dtype.get_default_dtype()
    like = _device_array(x, y)
    xd, yd = operand(x, dt, like), operand(y, dt, like)
    xp = _xp.array_module(like)
    # y == y is False only for NaN, which propagates
    return xp.where((xd == 0) & (yd == yd), dt.np.type(0), xd * xp.log(yd))


@register("xlogy")
def xlogy(input, other, *, out=None):
    """input * log(other), 0 where input is 0 (unless other is NaN)."""
    _reject("xlogy_cpu", result_dtype(input, other) if isinstance(input, Tensor) else
            result_dtype(other, input), _COMPLEX)
    if recording(input, other):
        fn = Xlogy if isinstance(input, Tensor) and isinstance(other, Tensor) else \
            Xlogy.named("XlogyBackward1" if isinstance(other, Tensor) else "XlogyBackward2")
        return _out(fn.apply(input, other), out, operands=(input, other))
    return _out(_make(_laid_out(_xlogy_arrays(input, other), input, other)), out, operands=(input, other))


@register("logaddexp")
def logaddexp(input, other, *, out=None):
    """log(exp(input) + exp(other)) without overflow."""
    _tensors_only("logaddexp", input, other)
    dt = result_dtype(input, other)
    if dt._category < 2:
        _not_implemented("logaddexp_cpu", dt)
    if dt._category == 3:
        # complex: shifted by the operand with the larger real part (complex numbers have no maximum)
        first = input.real >= other.real
        hi, lo = where(first, input, other), where(first, other, input)
        both_inf = hi.isinf() & (input == other)
        return _out(where(both_inf, hi, hi + log1p(exp(lo - hi))), out, operands=(input, other))
    input, other = input.to(dt), other.to(dt)           # bool operands take part as numbers
    m = maximum(input, other)
    both_inf = m.isinf() & (input == other)                  # inf + inf, -inf + -inf
    return _out(where(both_inf, m, m + log1p(exp(-(input - other).abs()))), out, operands=(input, other))


class Logaddexp2(Function):
    """out = log2(2**a + 2**b), shifted by the larger operand so that nothing overflows"""
    _node_name = "Logaddexp2Backward0"

    @staticmethod
    def forward(ctx, a, b):
        dt = result_dtype(a, b)
        ad, bd = operand(a, dt), operand(b, dt, a._data)
        xp = _xp.array_module(ad)
        m = xp.maximum(ad, bd)
        with np.errstate(invalid="ignore"):
            out = m + xp.log1p(xp.exp2(-xp.abs(ad - bd))) / math.log(2.0)
        out = xp.where(xp.isinf(m) & (ad == bd), m, out).astype(dt.np, copy=False)   # inf and inf, -inf and -inf
        ctx.save_for_backward(a, b)
        return out

    @staticmethod
    def backward(ctx, grad):             # d/da = 2**a / (2**a + 2**b) = 1 / (1 + 2**(b - a)), as torch
        a, b = ctx.saved_tensors
        return (grad / (1 + exp2(b - a)) if ctx.needs_input_grad[0] else None,
                grad / (1 + exp2(a - b)) if ctx.needs_input_grad[1] else None)


@register("logaddexp2")
def logaddexp2(input, other, *, out=None):
    """log2(2**input + 2**other) without overflow."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError(f"logaddexp2(): argument 'other' must be Tensor, not "
                        f"{type(other if isinstance(input, Tensor) else input).__name__}")
    dt = result_dtype(input, other)
    if dt._category != 2:
        _not_implemented("logaddexp2_cpu", dt)
    check_same_device("logaddexp2", input, other)
    return _out(Logaddexp2.apply(input, other), out, operands=(input, other))


class Copysign(Function):
    """out = |x| with the sign bit of y (-0.0 counts as negative)"""
    _node_name = "CopysignBackward0"

    @staticmethod
    def forward(ctx, x, y):
        xd, yd = x._data, y._data
        result = in_operand_layout(_xp.array_module(xd).copysign(xd, yd), (xd, yd))
        ctx.save_for_backward(x)
        ctx.result = result
        return result

    @staticmethod
    def backward(ctx, grad):             # d/dx = result / x (0 where x == 0), as PyTorch; d/dy = 0
        (x,) = ctx.saved_tensors
        xd = x._data
        xp = _xp.array_module(xd)
        with np.errstate(invalid="ignore", divide="ignore"):
            factor = xp.where(xd == 0, xd.dtype.type(0), ctx.result / xd)
        return (grad * _make(factor) if ctx.needs_input_grad[0] else None,
                _zeros_like(grad) if ctx.needs_input_grad[1] else None)


@register("copysign")
def copysign(input, other, *, out=None):
    """|input| with the sign of other (-0.0 counts as negative)."""
    x, y, dt = _float_pair("copysign", input, other)
    _reject("copysign_cpu", dt, _COMPLEX)
    check_same_device("copysign", x, y)
    fn = Copysign if isinstance(other, Tensor) else Copysign.named("CopysignBackward1")
    return _out(fn.apply(x, y), out, operands=(input, other))


@register("heaviside")
def heaviside(input, values, *, out=None):
    """0 where input < 0, values where input == 0, 1 where input > 0."""
    _tensors_only("heaviside", input, values, "values")
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    if input.is_complex():
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    a, v = input._data, values._data
    xp = _xp.array_module(a)
    r = xp.where(a == 0, v, (a > 0).astype(a.dtype))
    from ..linalg import _not_differentiable     # as PyTorch: a NotImplemented node whose backward refuses
    result = _not_differentiable("heaviside", lambda: _make(in_operand_layout(r.astype(a.dtype, copy=False), (a, v))),
                                 input, values)
    return _out(result, out, operands=(input, values))


@register("nextafter")
def nextafter(input, other, *, out=None):
    """The next floating-point value after input in the direction of other."""
    _tensors_only("nextafter", input, other)
    _reject("nextafter_cpu", result_dtype(input, other), (0, 1, 3))
    r = _ufunc_pair("nextafter", input, other)._data       # (broadcast checked there)
    # equal operands give other, as C's nextafter (NumPy's float16 loop gives input: 0.0 toward -0.0)
    ad, bd, _ = _prep(input, other)
    return _out(_make(_xp.array_module(ad).where(ad == bd, bd, r)), out, operands=(input, other))


class Mvlgamma(Function):
    """out = sum_i lgamma(x - i / 2) for i < p, + p (p - 1) / 4 log(pi)"""
    _node_name = "MvlgammaBackward0"

    @staticmethod
    def forward(ctx, x, p):
        ctx.save_for_backward(x)
        ctx.p = p
        return _mvlgamma_array(x, p)

    @staticmethod
    def backward(ctx, grad):                     # d/dx = sum_i digamma(x - i / 2)
        x, = ctx.saved_tensors
        offsets = _make(_mvlgamma_offsets(_xp.array_module(x._data), ctx.p, x._data.dtype))
        return grad * digamma(x.unsqueeze(-1) + offsets).sum(-1), None


def _mvlgamma_array(x, p):
    a = _float_input(x)
    xp = _xp.array_module(a)
    args = a[..., None] + _mvlgamma_offsets(xp, p, a.dtype)
    return (_special(xp, "gammaln", args).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)).astype(a.dtype)


def _mvlgamma_offsets(xp, p, dt):
    return xp.arange(-(p - 1) / 2, 0.25, 0.5).astype(dt)     # -(p-1)/2, ..., -1/2, 0


@register("mvlgamma")
def mvlgamma(input, p):
    """Multivariate log-gamma: sum_i lgamma(input - i / 2) + p (p - 1) / 4 log(pi)."""
    if p < 1:
        raise RuntimeError(f"p has to be greater than or equal to 1, got {p}")
    _reject("arange_cpu", input.dtype, _COMPLEX)      # torch fails building its offsets in the input's dtype
    if recording(input):
        return Mvlgamma.apply(input, p)
    return _make(_mvlgamma_array(input, p))


def _inplace_from(fn, name):
    def fn_(self, *args, **kwargs):
        check_no_partial_overlap(self, *args)
        if recording(self, *args):
            check_inplace_autograd(self)
            # computed from a clone: the result's graph must not save self, which is overwritten next
            return self.copy_(fn(self.clone(), *args, **kwargs))
        _check_inplace_result(self, args[0], name) if args and (isinstance(args[0], Tensor) or is_scalar(args[0])) \
            else None
        return write_inplace(self, fn(self, *args, **kwargs)._data, name)
    fn_.__name__ = name + "_"
    return fn_


def _float_power_(self, exponent):
    if self.dtype is not _dtype.float64 and not self.is_complex():
        raise RuntimeError(f"the base given to float_power_ has dtype {_type_name(self.dtype)} but the operation's "
                           "result requires dtype Double")
    return _inplace_from(float_power, "float_power")(self, exponent)


Tensor.xlogy_ = _inplace_from(xlogy, "xlogy")
Tensor.copysign_ = _inplace_from(copysign, "copysign")
Tensor.heaviside_ = _inplace_from(heaviside, "heaviside")
Tensor.nextafter_ = _inplace_from(nextafter, "nextafter")
Tensor.mvlgamma_ = lambda self, p: write_inplace(self, mvlgamma(self, p)._data, "mvlgamma")
Tensor.logit_ = logit_ = _inplace_from(logit, "logit")
Tensor.float_power_ = _float_power_
Tensor.arctan2_ = Tensor.atan2_
Tensor.negative_ = Tensor.neg_
Tensor.absolute_ = Tensor.abs_
Tensor.fix_ = Tensor.trunc_
_export("xlogy", "logaddexp", "logaddexp2", "copysign", "heaviside", "nextafter", "mvlgamma", "logit_")


# -- broadcast errors -------------------------------------------------------------------------
def _install_broadcast_errors(*fns):
    """Replace each of fns, wherever this module or Tensor holds it (aliases included), by its checked version."""
    wrapped = {id(f): _broadcast_errors(f) for f in fns}
    for namespace, put in ((globals(), globals().__setitem__), (dict(vars(Tensor)), lambda k, v: setattr(Tensor, k, v))):
        for name, value in list(namespace.items()):
            if id(value) in wrapped:
                put(name, wrapped[id(value)])


_install_broadcast_errors(pow, _ipow, float_power, _float_power_, where, _where_method, xlogy, Tensor.xlogy_, atan2,
                          Tensor.atan2_, hypot, Tensor.hypot_, clamp, _clamp_, copysign, Tensor.copysign_, heaviside,
                          Tensor.heaviside_, isclose, lerp, _lerp_, logaddexp2)


# Note [Elementwise results keep their operands' layout]: Function.apply lays these ops' results out
for _cls in (Polygamma, Logit, Clamp, Where, Lerp, Round, NanToNum, Addcmul, Addcdiv, Xlogy, Logaddexp2):
    _cls._result_layout = "operands"
