"""``flambeau.fft``: discrete Fourier transforms (torch.fft), computed by NumPy's or CuPy's ``fft``.

As in torch, every transform is one of three primitives over a set of dims, each recorded as one node:

- ``_FftC2C``: complex to complex, forward (exp(-i...)) or inverse (exp(+i...));
- ``_FftR2C``: real to complex, forward, the whole spectrum or its one-sided half (rfft);
- ``_FftC2R``: one-sided Hermitian spectrum to real, inverse (irfft).

Each scales its result by one of torch's normalizations, whatever the direction: none, 1/sqrt(n) or
1/n. The gradient of a transform is its adjoint, the transform in the other direction under the same
scaling (the adjoint of an unnormalized fft is n * ifft); the one-sided primitives also account for
the half of the spectrum they drop (torch's fft_r2c_backward and fft_c2r_backward). Cropping and zero
padding to n / s, promotion and conjugation are separate differentiable ops, as in torch.
"""
import math

import numpy as np

from . import _dtype, _xp
from ._layout import check_layout
from ._tensor import Tensor, _make, _wrap_dim
from .autograd.function import Function
from ._ops import creation as _creation
from ._ops import pointwise as _pw
from ._ops._util import _type_word

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2",
           "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]

# torch's fft_norm_mode: the scaling a primitive applies, whatever its direction
_NONE, _BY_ROOT_N, _BY_N = "none", "by_root_n", "by_n"
# NumPy's/CuPy's norm names giving that scaling, for a forward and for an inverse transform
_XP_NORM = {True: {_NONE: "backward", _BY_ROOT_N: "ortho", _BY_N: "forward"},
            False: {_NONE: "forward", _BY_ROOT_N: "ortho", _BY_N: "backward"}}
_COMPLEX_OF = {"float32": _dtype.complex64, "float64": _dtype.complex128}
_REAL_OF = {"complex64": _dtype.float32, "complex128": _dtype.float64}


def _norm_mode(norm, forward):
    """torch's norm_from_string: the user's norm for a transform in the given direction."""
    if norm is None or norm == "backward":
        return _NONE if forward else _BY_N
    if norm == "forward":
        return _BY_N if forward else _NONE
    if norm == "ortho":
        return _BY_ROOT_N
    raise RuntimeError(f'Invalid normalization mode: "{norm}"')


def _check_kernel_dtype(t):
    # what NumPy's and CuPy's fft compute in; torch's CPU kernels refuse half as well
    if t.dtype.name not in ("float32", "float64", "complex64", "complex128"):
        raise RuntimeError(f"Unsupported dtype {t.dtype._legacy.replace('Tensor', '')}")


def _as(a, dt):
    # NumPy's pocketfft may widen float32 work to double: back to torch's result dtype
    return a if a.dtype == dt.np else a.astype(dt.np)


# -- the three primitives --------------------------------------------------------------------------
class _FftC2C(Function):
    _node_name = "FftC2CBackward0"

    @staticmethod
    def forward(ctx, x, dims, normalization, forward):
        ctx.dims, ctx.normalization, ctx.forward = dims, normalization, forward
        a = x._data
        if not dims:        # torch's transform over no dims is a copy
            return a.astype(x.dtype.np)
        fft = _xp.array_module(a).fft
        transform = fft.fftn if forward else fft.ifftn
        return _as(transform(a, axes=dims, norm=_XP_NORM[forward][normalization]), x.dtype)

    @staticmethod
    def backward(ctx, grad):
        # the adjoint of a DFT is the DFT the other way under the same scaling
        return _FftC2C.apply(grad, ctx.dims, ctx.normalization, not ctx.forward), None, None, None


class _FftR2C(Function):
    _node_name = "FftR2CBackward0"

    @staticmethod
    def forward(ctx, x, dims, normalization, onesided):
        ctx.dims, ctx.normalization, ctx.onesided = dims, normalization, onesided
        ctx.last_size = x.shape[dims[-1]]
        a = x._data
        xp = _xp.array_module(a)
        half = xp.fft.rfftn(a, axes=dims, norm=_XP_NORM[True][normalization])
        if not onesided:
            half = _fill_conjugate_symmetry(xp, half, dims, ctx.last_size)
        return _as(half, _COMPLEX_OF[x.dtype.name])

    @staticmethod
    def backward(ctx, grad):
        # torch's fft_r2c_backward: the dropped half of the spectrum had zero gradient; the real part of
        # the adjoint (an unscaled inverse DFT) reaches the real input
        if ctx.onesided:
            last = ctx.dims[-1]
            missing = ctx.last_size - grad.shape[last]
            if missing > 0:
                shape = list(grad.shape)
                shape[last] = missing
                grad = _creation.cat([grad, grad.new_zeros(shape)], last)
        return _FftC2C.apply(grad, ctx.dims, ctx.normalization, False).real, None, None, None


def _fill_conjugate_symmetry(xp, half, dims, last_size):
    """The whole spectrum of a real signal from its one-sided half, as torch's r2c kernels build it: the
    missing bins are the conjugates of their mirrors (X[-k] = conj(X[k])), so signed zeros follow torch's
    (a c2c transform of the real signal gives 1+0j where torch prints 1-0j)."""
    last = dims[-1]
    kept = half.shape[last]
    # bins kept..last_size-1 mirror bins last_size-kept..1 of the last dim, in reverse order
    index = [slice(None)] * half.ndim
    index[last] = slice(last_size - kept, 0, -1)
    mirror = half[tuple(index)]
    for d in dims[:-1]:         # and index i of every other transformed dim mirrors (-i) mod size
        mirror = xp.roll(xp.flip(mirror, d), 1, d)
    return xp.concatenate([half, xp.conj(mirror)], axis=last)


class _FftC2R(Function):
    _node_name = "FftC2RBackward0"

    @staticmethod
    def forward(ctx, x, dims, normalization, last_size):
        ctx.dims, ctx.normalization, ctx.last_size = dims, normalization, last_size
        a = x._data
        sizes = [a.shape[d] for d in dims[:-1]] + [last_size]
        out = _xp.array_module(a).fft.irfftn(a, s=sizes, axes=dims, norm=_XP_NORM[False][normalization])
        return _as(out, _REAL_OF[x.dtype.name])

    @staticmethod
    def backward(ctx, grad):
        # torch's fft_c2r_backward: the one-sided forward transform of grad, the bins that stand for two
        # (a bin and its conjugate mirror) counted twice
        grad_in = _FftR2C.apply(grad, ctx.dims, ctx.normalization, True)
        last = ctx.dims[-1]
        doubled = ctx.last_size - grad_in.shape[last]
        if doubled > 0:
            xp = _xp.array_module(grad._data)
            weight = xp.ones(grad_in.shape[last], dtype=grad._data.dtype)
            weight[1:1 + doubled] = 2
            grad_in = grad_in * _make(weight.reshape((-1,) + (1,) * (grad_in.ndim - 1 - last)))
        return grad_in, None, None, None


# -- arguments as torch reads them -----------------------------------------------------------------
def _promote(t, require_complex=False):
    """torch's promote_tensor_fft: integers to the default float, only float and double (or complex) kept."""
    dt = t.dtype
    if dt.is_complex:
        return t
    if not dt.is_floating_point:
        dt = _dtype.get_default_dtype()
    if dt.name not in ("float32", "float64"):
        raise RuntimeError(f"Unsupported dtype {_type_word(dt) if dt.name != 'float16' else 'Half'}")
    if require_complex:
        dt = _COMPLEX_OF[dt.name]
    return t if dt is t.dtype else t.to(dt)


def _wrap(dim, ndim):
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return _wrap_dim(dim, ndim)


def _check_points(n):
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")


def _resize(x, dims, sizes):
    """torch's resize_fft_input: crop (a view) or zero-pad (a copy) each dim in dims to its size."""
    pads = [0] * (2 * x.ndim)
    for d, n in zip(dims, sizes):
        if x.shape[d] > n:
            x = x.narrow(d, 0, n)
        elif x.shape[d] < n:
            pads[2 * (x.ndim - 1 - d) + 1] = n - x.shape[d]
    if any(pads):
        from .nn.functional import pad
        x = pad(x, pads)
    return x


def _shape_and_dims(t, s, dim):
    """torch's canonicalize_fft_shape_and_dim_args: the transformed dims and their sizes."""
    ndim = t.ndim
    dims = None
    if dim is not None:
        dims = [_wrap(d, ndim) for d in ((dim,) if isinstance(dim, int) else dim)]
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        s = [int(n) for n in ((s,) if isinstance(s, int) else s)]
        if dims is not None and len(dims) != len(s):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if len(s) > ndim:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has {ndim} dimensions.")
        if dims is None:
            dims = list(range(ndim - len(s), ndim))
        shape = [t.shape[d] if n == -1 else n for d, n in zip(dims, s)]
    else:
        if dims is None:
            dims = list(range(ndim))
        shape = [t.shape[d] for d in dims]
    for n in shape:
        if n <= 0:
            raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return shape, dims


def _c2r_shape_and_dims(name, t, s, dim):
    """torch's canonicalize_fft_c2r_shape_and_dim_args: also the real output's size along the last dim."""
    shape, dims = _shape_and_dims(t, s, dim)
    if not shape:
        raise RuntimeError(f"{name} must transform at least one axis")
    given = s is not None and (s if isinstance(s, int) else list(s)[-1]) != -1
    last_size = shape[-1] if given else 2 * (t.shape[dims[-1]] - 1)
    _check_points(last_size)
    shape[-1] = last_size // 2 + 1
    return shape, dims, last_size


def _check_input(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"fft_{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")


def _out(name, result, out, real):
    if out is None:
        return result
    if out._requires_grad and result.requires_grad:
        kernel = {"FftR2CBackward0": "_fft_r2c", "FftC2CBackward0": "_fft_c2c", "FftC2RBackward0": "_fft_c2r",
                  "ConjBackward0": "conj_physical"}[result.grad_fn.name()]
        raise RuntimeError(f"{kernel}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if real and out.is_complex():
        raise RuntimeError(f"{name} expects a floating point output tensor, but got {_type_word(out.dtype)}")
    if not real and not out.is_complex():
        raise RuntimeError(f"{name} expects a complex output tensor, but got {_type_word(out.dtype)}")
    return _pw._out(result, out)


def _real_only(name, t, message="{name} expects a real input tensor, but got {type}"):
    if t.is_complex():
        raise RuntimeError(message.format(name=name, type=_type_word(t.dtype)))


# -- one-dimensional transforms (torch's fft_c2c, fft_r2c and fft_c2r) ------------------------------
def _c2c_1d(input, n, dim, norm, forward):
    _check_kernel_dtype(input)
    d = _wrap(dim, input.ndim)
    _check_points(input.shape[d] if n is None else n)
    x = input if n is None else _resize(input, [d], [n])
    return _FftC2C.apply(x, (d,), _norm_mode(norm, forward), forward)


def _r2c_1d(name, input, n, dim, norm, forward, onesided):
    _real_only(name, input)
    x = _promote(input)
    d = _wrap(dim, x.ndim)
    _check_points(x.shape[d] if n is None else n)
    if n is not None:
        x = _resize(x, [d], [n])
    result = _FftR2C.apply(x, (d,), _norm_mode(norm, forward), onesided)
    # torch's r2c kernel runs forward only: the inverse is the conjugate of the forward one
    return result if forward else result.conj()


def _c2r_1d(input, n, dim, norm, forward):
    x = _promote(input, require_complex=True)
    _check_kernel_dtype(x)
    d = _wrap(dim, x.ndim)
    last_size = 2 * (x.shape[d] - 1) if n is None else n
    _check_points(last_size)
    if n is not None:
        x = _resize(x, [d], [n // 2 + 1])
    if forward:             # hfft: the c2r kernel runs inverse only, so conjugate the input
        x = x.conj()
    return _FftC2R.apply(x, (d,), _norm_mode(norm, forward), last_size)


def _transform_1d(name, input, n, dim, norm, out, forward, kind):
    """kind: 'full' (fft, ifft: complex to complex, or real to the whole spectrum), 'r2c' (one-sided
    spectrum of a real signal) or 'c2r' (real signal of a one-sided spectrum)."""
    _check_input(name, input)
    if kind == "c2r":
        return _out(name, _c2r_1d(input, n, dim, norm, forward), out, True)
    if kind == "full" and input.is_complex():
        result = _c2c_1d(input, n, dim, norm, forward)
    else:
        result = _r2c_1d(name, input, n, dim, norm, forward, kind == "r2c")
    return _out(name, result, out, False)


def fft(input, n=None, dim=-1, norm=None, *, out=None):
    """The one-dimensional discrete Fourier transform."""
    return _transform_1d("fft", input, n, dim, norm, out, True, "full")


def ifft(input, n=None, dim=-1, norm=None, *, out=None):
    """The one-dimensional inverse discrete Fourier transform."""
    return _transform_1d("ifft", input, n, dim, norm, out, False, "full")


def rfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The one-sided transform of a real signal (n // 2 + 1 frequencies)."""
    return _transform_1d("rfft", input, n, dim, norm, out, True, "r2c")


def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The inverse of rfft: a real signal of length n (default 2 * (size - 1))."""
    return _transform_1d("irfft", input, n, dim, norm, out, False, "c2r")


def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The transform of a one-sided Hermitian signal: a real spectrum of length n."""
    return _transform_1d("hfft", input, n, dim, norm, out, True, "c2r")


def ihfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The inverse of hfft: the one-sided inverse transform of a real signal."""
    return _transform_1d("ihfft", input, n, dim, norm, out, False, "r2c")


# -- n-dimensional transforms -----------------------------------------------------------------------
def _c2c_nd(name, input, s, dim, norm, forward, out):
    _check_input(name, input)
    shape, dims = _shape_and_dims(input, s, dim)
    x = _promote(input, require_complex=True)
    _check_kernel_dtype(x)
    x = _resize(x, dims, shape)
    return _out(name, _FftC2C.apply(x, tuple(dims), _norm_mode(norm, forward), forward), out, False)


def _rfftn(name, input, s, dim, norm, out):
    _check_input(name, input)
    _real_only("rfftn", input, "{name} expects a real-valued input tensor, but got {type}")
    shape, dims = _shape_and_dims(input, s, dim)
    if not shape:
        raise RuntimeError("rfftn must transform at least one axis")
    x = _resize(_promote(input), dims, shape)
    return _out(name, _FftR2C.apply(x, tuple(dims), _norm_mode(norm, True), True), out, False)


def _irfftn(name, input, s, dim, norm, out):
    _check_input(name, input)
    shape, dims, last_size = _c2r_shape_and_dims("irfftn", input, s, dim)
    x = _promote(input, require_complex=True)
    _check_kernel_dtype(x)
    x = _resize(x, dims, shape)
    return _out(name, _FftC2R.apply(x, tuple(dims), _norm_mode(norm, False), last_size), out, True)


def _hfftn(name, input, s, dim, norm, out):
    _check_input(name, input)
    shape, dims, last_size = _c2r_shape_and_dims("hfftn", input, s, dim)
    x = _promote(input, require_complex=True)
    _check_kernel_dtype(x)
    x = _resize(x, dims, shape)
    mode = _norm_mode(norm, True)
    if len(dims) > 1:       # the full dims first, then the Hermitian one
        x = _FftC2C.apply(x, tuple(dims[:-1]), mode, True)
    return _out(name, _FftC2R.apply(x.conj(), (dims[-1],), mode, last_size), out, True)


def _ihfftn(name, input, s, dim, norm, out):
    _check_input(name, input)
    shape, dims = _shape_and_dims(input, s, dim)
    if not shape:
        raise RuntimeError("ihfftn must transform at least one axis")
    _real_only(name, input, "Only supports floating-point dtypes, but found: {type}")
    x = _resize(_promote(input), dims, shape)
    mode = _norm_mode(norm, False)
    result = _FftR2C.apply(x, (dims[-1],), mode, True).conj()
    if len(dims) > 1:       # the Hermitian dim first, then the full ones
        result = _FftC2C.apply(result, tuple(dims[:-1]), mode, False)
    return _out(name, result, out, False)


def fftn(input, s=None, dim=None, norm=None, *, out=None):
    """The N-dimensional discrete Fourier transform over dim (default all, or the last len(s))."""
    return _c2c_nd("fftn", input, s, dim, norm, True, out)


def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    return _c2c_nd("ifftn", input, s, dim, norm, False, out)


def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _rfftn("rfftn", input, s, dim, norm, out)


def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _irfftn("irfftn", input, s, dim, norm, out)


def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _hfftn("hfftn", input, s, dim, norm, out)


def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _ihfftn("ihfftn", input, s, dim, norm, out)


def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2c_nd("fft2", input, s, dim, norm, True, out)


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _c2c_nd("ifft2", input, s, dim, norm, False, out)


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _rfftn("rfft2", input, s, dim, norm, out)


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _irfftn("irfft2", input, s, dim, norm, out)


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _hfftn("hfft2", input, s, dim, norm, out)


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _ihfftn("ihfft2", input, s, dim, norm, out)


# -- helpers --------------------------------------------------------------------------------------
def _frequencies(name, count, n, d, out, dtype, device, requires_grad, two_sided):
    dt = dtype or _dtype.get_default_dtype()
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"{name} requires a floating point or complex dtype")
    if dt.is_complex:
        raise NotImplementedError(f"\"arange_cpu\" not implemented for '{_type_word(dt)}'")
    if count < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {count}: [{count}]")
    _, dev, xp = _creation._resolve(dt, device)
    values = xp.arange(count, dtype=dt.np)
    if two_sided:           # the negative frequencies after the positive ones
        values[(n + 1) // 2:] -= n
    scale = 1.0 / (n * d) if n * d else math.copysign(math.inf, d)      # torch's 0 * inf is NaN
    with np.errstate(invalid="ignore"):
        values *= dt.np.type(scale)
    result = _make(values)
    if requires_grad:
        result.requires_grad_(True)
    return _pw._out(result, out)


def fftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """The sample frequencies of fft(signal of n points spaced d): [0, 1, ..., -(n // 2), ..., -1] / (d * n)."""
    check_layout(layout, "fftfreq")
    return _frequencies("fftfreq", n, n, d, out, dtype, device, requires_grad, True)


def rfftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """The sample frequencies of rfft(signal of n points spaced d): [0, 1, ..., n // 2] / (d * n)."""
    check_layout(layout, "rfftfreq")
    return _frequencies("rfftfreq", n // 2 + 1, n, d, out, dtype, device, requires_grad, False)


def _shift(input, dim, inverse):
    if dim is None:
        dims = list(range(input.ndim))
    else:
        dims = [_wrap_dim(d, input.ndim) for d in ((dim,) if isinstance(dim, int) else dim)]
    if not dims:
        return input.clone()
    shifts = [(input.shape[d] + 1) // 2 if inverse else input.shape[d] // 2 for d in dims]
    return input.roll(shifts, dims)


def fftshift(input, dim=None):
    """Moves the zero frequency to the middle (a roll by size // 2 along dim, default all)."""
    return _shift(input, dim, False)


def ifftshift(input, dim=None):
    """The inverse of fftshift (a roll by (size + 1) // 2)."""
    return _shift(input, dim, True)
