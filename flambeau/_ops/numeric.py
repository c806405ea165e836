"""Number functions (gcd, lcm, frexp, ldexp, rsub), index and shape helpers (unravel_index,
broadcast_shapes, split_with_sizes), finite differences (gradient) and window functions."""
import math

import numpy as np

from .. import _dtype, _xp
from .._device import or_default as _or_default, xp_of
from .._layout import check_layout
from .._tensor import Tensor, Size, _make, _wrap_dim
from ..autograd.function import Function
from ._util import register, check_same_device, write_inplace, check_inplace_autograd
from .pointwise import _out
from .reduction import _return_type

frexp_result = _return_type("frexp", ("mantissa", "exponent"))

__all__ = ["gcd", "lcm", "frexp", "ldexp", "rsub", "unravel_index", "broadcast_shapes", "is_same_size",
           "split_with_sizes", "gradient", "hann_window", "hamming_window", "bartlett_window", "blackman_window",
           "kaiser_window"]


# -- gcd, lcm ----------------------------------------------------------------------------------
def _integer_pair(name, input, other):
    """The arrays of two integer tensors in their promoted dtype (torch: no floats, no bools)."""
    for what, t in (("input", input), ("other", other)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument '{what}' (position {1 if what == 'input' else 2}) must be Tensor, "
                            f"not {type(t).__name__}")
    check_same_device(name, input, other)
    dt = _dtype.result_type(input, other)
    if dt is _dtype.bool or dt.is_floating_point or dt.is_complex:
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{dt._legacy.replace('Tensor', '')}'")
    return input._data.astype(dt.np, copy=False), other._data.astype(dt.np, copy=False), dt


@register("gcd")
def gcd(input, other, *, out=None):
    """Greatest common divisor, elementwise (non-negative; gcd(0, 0) = 0)."""
    a, b, _ = _integer_pair("gcd", input, other)
    return _out(_make(_xp.array_module(a).gcd(a, b)), out)


@register("lcm")
def lcm(input, other, *, out=None):
    """Least common multiple, elementwise (non-negative; 0 when either is 0)."""
    a, b, _ = _integer_pair("lcm", input, other)
    return _out(_make(_xp.array_module(a).lcm(a, b)), out)


def _integer_inplace(fn):
    def inplace(self, other):
        check_inplace_autograd(self)
        result = fn(self, other)
        if result.dtype is not self.dtype:
            raise RuntimeError(f"result type {result.dtype._legacy.replace('Tensor', '')} can't be cast to the "
                               f"desired output type {self.dtype._legacy.replace('Tensor', '')}")
        write_inplace(self, result._data, fn.__name__)
        return self
    return inplace


Tensor.gcd_ = _integer_inplace(gcd)
Tensor.lcm_ = _integer_inplace(lcm)


# -- frexp, ldexp, rsub ------------------------------------------------------------------------
class Frexp(Function):
    """(mantissa, exponent): the mantissa x / 2**exponent is differentiable, the integer exponent is not."""
    _node_name = "FrexpBackward0"

    @staticmethod
    def forward(ctx, x):
        a = x._data
        xp = _xp.array_module(a)
        m, e = xp.frexp(a)
        ctx.scale = xp.ldexp(xp.ones((), a.dtype), -e)      # 2**-exponent, exactly
        return m, e.astype(np.int32, copy=False)

    @staticmethod
    def backward(ctx, grad_mantissa, grad_exponent):
        return grad_mantissa * _make(ctx.scale)


@register("frexp")
def frexp(input, *, out=None):
    """(mantissa, exponent) with input = mantissa * 2**exponent, |mantissa| in [0.5, 1), exponent int32."""
    if not input.is_floating_point():
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    result = frexp_result(*Frexp.apply(input))
    if out is not None:
        out[0].copy_(result[0])
        out[1].copy_(result[1])
        return frexp_result(*out)
    return result


@register("ldexp")
def ldexp(input, other, *, out=None):
    """input * 2**other (floating result; differentiable through mul and pow)."""
    from . import pointwise
    dt = _dtype.result_type(input, other)
    if not (dt.is_floating_point or dt.is_complex):
        dt = _dtype.get_default_dtype()
    two = _make(_xp.array_module(input._data).asarray(2.0, dtype=dt.np))
    return _out(input * pointwise.pow(two, other), out)


def _ldexp_(self, other):
    return self.mul_(ldexp(self.new_ones(()), other))


Tensor.ldexp_ = _ldexp_


def rsub(input, other, *, alpha=1):
    """other - alpha * input."""
    from .pointwise import sub
    if isinstance(other, Tensor):
        return sub(other, input, alpha=alpha)
    return other - input if alpha == 1 else other - alpha * input


# -- indices and shapes ------------------------------------------------------------------------
def unravel_index(indices, shape):
    """The coordinates, in a tensor of ``shape``, of flat ``indices`` (torch's: taken modulo the shape)."""
    if not isinstance(indices, Tensor):
        raise TypeError(f"expected 'indices' to be a tensor, but got {type(indices).__name__}")
    if indices.is_floating_point() or indices.is_complex() or indices.dtype is _dtype.bool:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(shape))
    xp = _xp.array_module(indices._data)
    rest = indices._data.astype(np.int64, copy=False)
    coords = []
    for size in reversed(shape):
        coords.append(xp.remainder(rest, size) if size else xp.zeros_like(rest))
        rest = xp.floor_divide(rest, size) if size else rest
    return tuple(_make(c) for c in reversed(coords))


def broadcast_shapes(*shapes):
    """The shape all ``shapes`` broadcast to, as torch.Size (torch's walk, for torch's messages)."""
    sizes = [(s,) if isinstance(s, int) else tuple(int(n) for n in s) for s in shapes]
    result = [1] * max((len(s) for s in sizes), default=0)
    for k, s in enumerate(sizes):
        for i in range(1, len(s) + 1):
            m = s[-i]
            if m < 0:
                raise ValueError("Attempting to broadcast a dimension with negative length!")
            if m == 1:
                continue
            if result[-i] == 1:
                result[-i] = m
            elif result[-i] != m:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {m} at -{i}! Mismatching argument "
                                   f"at index {k} had {s}; but expected shape should be broadcastable to {result}")
    return Size(result)


def is_same_size(input, other):
    return tuple(input.shape) == tuple(other.shape)


@register("split_with_sizes")
def split_with_sizes(input, split_sizes, dim=0):
    sizes = [int(s) for s in split_sizes]
    d = _wrap_dim(dim, input.ndim)
    if sum(sizes) != input.shape[d] or any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {input.shape[d]} (input tensor's "
                           f"size at dimension {dim}), but got split_sizes={sizes}")
    return input.split(sizes, dim)


# -- finite differences ------------------------------------------------------------------------
def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Central differences inside, one-sided (first or second order) at the edges, per dim: one
    tensor per dim. ``spacing``: a number, one number per dim, or one coordinate tensor per dim."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    if spacing is None:
        spacing = 1
    dims = list(range(input.ndim)) if dim is None else [dim] if isinstance(dim, int) else list(dim)
    dims = [_wrap_dim(d, input.ndim) for d in dims]
    for i, d in enumerate(dims):
        if d in dims[:i]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims) and dim is None:
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar, or a list of length "
                               f"equal to 'self.dim() = {input.ndim}', since dim argument was not given, but got a "
                               f"list of length {len(spacing)}")
        if len(spacing) != len(dims):
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                               f"arguments to have the same length, but got a spacing argument of length "
                               f"{len(spacing)} and a dim argument of length {len(dims)}.")
        spacings = list(spacing)
    else:
        spacings = [spacing] * len(dims)
    f = input if (input.is_floating_point() or input.is_complex()) else input.to(_dtype.get_default_dtype())
    out = []
    for d, h in zip(dims, spacings):
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
        out.append(_gradient_along(f, d, h, edge_order))
    return tuple(out)


def _gradient_along(f, d, h, edge_order):
    n = f.shape[d]

    def part(start, stop):
        return f.narrow(d, start, stop - start)

    def col(v):            # a 1-D tensor of coordinates differences, shaped to broadcast along d
        return v.reshape([-1 if i == d else 1 for i in range(f.ndim)])
    if isinstance(h, Tensor):
        if h.ndim != 1 or h.shape[0] != n:
            raise RuntimeError(f"torch.gradient expected each tensor to be on the same device and a 1D tensor of "
                               f"the size of the dimension, got {list(h.shape)} for a dimension of size {n}")
        x = h.to(f.dtype)
        hd, hs = col(x[1:-1] - x[:-2]), col(x[2:] - x[1:-1])
        inner = (hd * hd * part(2, n) + (hs * hs - hd * hd) * part(1, n - 1) - hs * hs * part(0, n - 2)) \
            / (hd * hs * (hd + hs))
        if edge_order == 1:
            first = (part(1, 2) - part(0, 1)) / (x[1] - x[0])
            last = (part(n - 1, n) - part(n - 2, n - 1)) / (x[n - 1] - x[n - 2])
        else:
            a, b = x[1] - x[0], x[2] - x[1]
            first = (-(2 * a + b) / (a * (a + b)) * part(0, 1) + (a + b) / (a * b) * part(1, 2)
                     - a / (b * (a + b)) * part(2, 3))
            a, b = x[n - 2] - x[n - 3], x[n - 1] - x[n - 2]
            last = (b / (a * (a + b)) * part(n - 3, n - 2) - (a + b) / (a * b) * part(n - 2, n - 1)
                    + (2 * b + a) / (b * (a + b)) * part(n - 1, n))
    else:
        h = float(h) if not isinstance(h, complex) else h
        inner = (part(2, n) - part(0, n - 2)) / (2 * h)
        if edge_order == 1:
            first = (part(1, 2) - part(0, 1)) / h
            last = (part(n - 1, n) - part(n - 2, n - 1)) / h
        else:
            first = (-1.5 * part(0, 1) + 2 * part(1, 2) - 0.5 * part(2, 3)) / h
            last = (0.5 * part(n - 3, n - 2) - 2 * part(n - 2, n - 1) + 1.5 * part(n - 1, n)) / h
    from .creation import cat
    return cat([first, inner, last], d)


# -- window functions --------------------------------------------------------------------------
def _window(name, window_length, periodic, dtype, device, requires_grad, values):
    """A window of ``window_length`` points from values(n, N) (n = 0..N-1 as float64 array), computed on
    N + 1 points less the last when periodic, as torch."""
    dt = dtype or _dtype.get_default_dtype()
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    dev = _or_default(device)
    if window_length == 0:
        w = np.zeros(0)
    elif window_length == 1:
        w = np.ones(1)
    else:
        n_points = window_length + 1 if periodic else window_length
        w = values(np.arange(n_points, dtype=np.float64), n_points)[:window_length]
    t = _make(xp_of(dev).asarray(w.astype(dt.np)))
    return t.requires_grad_() if requires_grad else t


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                pin_memory=False):
    check_layout(layout, "hann_window")
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: 0.5 - 0.5 * np.cos(2 * math.pi * n / (N - 1)))


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   requires_grad=False, pin_memory=False):
    check_layout(layout, "hamming_window")
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: alpha - beta * np.cos(2 * math.pi * n / (N - 1)))


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                    pin_memory=False):
    check_layout(layout, "bartlett_window")
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: 1 - np.abs(2 * n / (N - 1) - 1))


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                    pin_memory=False):
    check_layout(layout, "blackman_window")
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, N: 0.42 - 0.5 * np.cos(2 * math.pi * n / (N - 1)) + 0.08 * np.cos(4 * math.pi * n / (N - 1)))


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  requires_grad=False, pin_memory=False):
    check_layout(layout, "kaiser_window")
    def values(n, N):
        alpha = (N - 1) / 2
        return np.i0(beta * np.sqrt(np.clip(1 - ((n - alpha) / alpha) ** 2, 0, None))) / np.i0(beta)
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad, values)
