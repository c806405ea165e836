"""Reductions: sum, mean, var/std, max/min, norms, softmax family, cumulative ops."""
import math
import warnings

import numpy as np

from .. import _dtype, _xp
from .._tensor import Tensor, _make, _wrap_dim
from ..autograd import grad_mode
from ..autograd.function import Function
from ._util import register, recording, wrap_dims, _BY_NP, row_major
from .pointwise import _out, _out_exact, _out_pair, handles_out

__all__ = ["sum", "mean", "nansum", "nanmean", "prod", "var", "std", "var_mean", "std_mean", "max", "min",
           "amax", "amin", "aminmax", "argmax", "argmin", "all", "any", "norm", "dist", "cumsum", "cumprod",
           "logsumexp", "softmax", "log_softmax", "count_nonzero", "return_types"]


class _ReturnType(tuple):
    """PyTorch's named result tuples (``torch.return_types.max(values=..., indices=...)``)."""
    _fields = ()
    _name = ""

    def __new__(cls, *values):
        return tuple.__new__(cls, values)

    def __getattr__(self, name):
        try:
            return self[self._fields.index(name)]
        except ValueError:
            raise AttributeError(name) from None

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"torch.return_types.{self._name}(\n{body})"

    def __reduce__(self):
        return (type(self), tuple(self))


def _return_type(name, fields):
    rt = type(name, (_ReturnType,), {"_fields": fields, "_name": name})
    # what the op returns when given out= (torch.return_types.max_out ...)
    rt.out_type = type(name + "_out", (_ReturnType,), {"_fields": fields, "_name": name + "_out"})
    return rt


class return_types:
    max = _return_type("max", ("values", "indices"))
    min = _return_type("min", ("values", "indices"))
    sort = _return_type("sort", ("values", "indices"))
    topk = _return_type("topk", ("values", "indices"))
    kthvalue = _return_type("kthvalue", ("values", "indices"))
    median = _return_type("median", ("values", "indices"))
    nanmedian = _return_type("nanmedian", ("values", "indices"))
    mode = _return_type("mode", ("values", "indices"))
    cummax = _return_type("cummax", ("values", "indices"))
    cummin = _return_type("cummin", ("values", "indices"))
    aminmax = _return_type("aminmax", ("min", "max"))
    slogdet = _return_type("slogdet", ("sign", "logabsdet"))
    qr = _return_type("qr", ("Q", "R"))
    svd = _return_type("svd", ("U", "S", "Vh"))
    eig = _return_type("eig", ("eigenvalues", "eigenvectors"))
    eigh = _return_type("eigh", ("eigenvalues", "eigenvectors"))
    lstsq = _return_type("lstsq", ("solution", "residuals", "rank", "singular_values"))
    histogram = _return_type("histogram", ("hist", "bin_edges"))
    geqrf = _return_type("geqrf", ("a", "tau"))


def _dims(x, dim):
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return None
    return wrap_dims(dim, x.ndim) if x.ndim else wrap_dims(dim, 0) and None


def _unsqueeze_to(grad, in_shape, dims, keepdim):
    """Reshape a reduced gradient so it broadcasts against the input."""
    if dims is None:       # a 0-d grad already broadcasts against the input (no reshape op needed)
        return grad.reshape((1,) * len(in_shape)) if len(in_shape) and grad.ndim else grad
    if keepdim:
        return grad
    shape = list(grad.shape)
    for d in sorted(dims):
        shape.insert(d, 1)
    return grad.reshape(shape)


_UNSET = type("_Unset", (), {"__repr__": lambda self: "None"})()     # "no dim argument given"


def _no_out_overload(name):
    raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, out=Tensor): "
                    f"{name}(input, dim, keepdim=False, *, dtype=None, out=None) is the overload with out")


def _out_dtype(dtype, out):
    """sum, prod and the cumulative ops compute in out's dtype when given an out and no dtype."""
    return out.dtype if dtype is None and isinstance(out, Tensor) else dtype


def _sum_dtype(x, dtype):
    dtype = _dtype.dtype_arg(dtype)
    if dtype is not None:
        return dtype
    return _dtype.int64 if x.dtype._category < 2 else x.dtype


def sum_array(a, dims, keepdims=False, dtype=None):
    """a.sum(axis=dims, keepdims=keepdims, dtype=dtype).

    Over axis 0 and the trailing axes of a C-contiguous float32/float64 NumPy array (a batch norm's
    or a bias gradient's (0, 2, 3)), whole rows are added over axis 0 first, then each kept
    position's trailing block: NumPy's multi-axis sum walks the short rows one by one and runs two
    to three times slower there."""
    if (type(a) is np.ndarray and dims is not None and len(dims) >= 2 and a.dtype.char in "fd" and a.size
            and a.flags.c_contiguous and (dtype is None or np.dtype(dtype).char in "fd")):
        ds = sorted(dims)
        if ds[0] == 0 and ds[1] >= 2 and ds[1:] == list(range(ds[1], a.ndim)):
            kept = a.shape[1:ds[1]]
            r = a.reshape(a.shape[0], -1).sum(0, dtype=dtype).reshape(math.prod(kept), -1).sum(1)
            return r.reshape((1,) + kept + (1,) * (a.ndim - ds[1]) if keepdims else kept)
    return a.sum(axis=dims, keepdims=keepdims, dtype=dtype)


def mean_array(a, dims, accumulate=None):
    """a.mean(axis=dims, keepdims=True) in a's dtype, through sum_array for float32/float64;
    ``accumulate`` (float64) sums in that dtype and rounds the mean once."""
    if a.dtype.char in "fd":
        total = sum_array(a, dims, True, accumulate)
        return (total / total.dtype.type(math.prod(a.shape[d] for d in dims))).astype(a.dtype, copy=False)
    return a.mean(axis=dims, keepdims=True)


class Sum(Function):
    """out = sum of x over dims"""
    _node_name = "SumBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim, dt):
        ctx.in_shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return sum_array(x._data, dims, keepdim, dt.np)

    @staticmethod
    def backward(ctx, grad):                    # every input element receives the output's grad
        g = _unsqueeze_to(grad, ctx.in_shape, ctx.dims, ctx.keepdim)
        return g.expand(ctx.in_shape), None, None, None


@register("sum")
def sum(input, dim=_UNSET, keepdim=False, *, dtype=None, out=None):
    a = input._data
    if dim is _UNSET and dtype is None and out is None and type(a) is np.ndarray and not recording(input):
        # the common full sum without a graph: integers and bools sum into int64, as PyTorch
        return _make(np.asarray(np.add.reduce(a, axis=None, dtype=np.int64 if a.dtype.kind in "biu" else None)))
    if isinstance(dim, _dtype.dtype):
        dim, dtype = _UNSET, dim
    if out is not None and dim is _UNSET:
        _no_out_overload("sum")
    dtype = _out_dtype(dtype, out)
    # PyTorch names the overloads apart: SumBackward0 without a dim argument, SumBackward1 with one
    node = Sum.named("SumBackward0") if dim is _UNSET else Sum
    dims = _dims(input, None if dim is _UNSET else dim)
    dt = _sum_dtype(input, dtype)
    if recording(input):
        return _out(node.apply(input, dims, keepdim, dt), out)
    r = sum_array(input._data, dims, keepdim, dt.np)
    return _out(_make(row_major(np.asarray(r) if type(input._data) is np.ndarray else r)), out)


class Nansum(Function):
    """out = sum of the non-NaN elements of x over dims"""
    _node_name = "NansumBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim, dt):
        ctx.save_for_backward(x)
        ctx.dims, ctx.keepdim = dims, keepdim
        a = x._data
        return _xp.array_module(a).nansum(a, axis=dims, keepdims=keepdim, dtype=dt.np)

    @staticmethod
    def backward(ctx, grad):                    # 1 where x is not NaN, 0 where it is
        (x,) = ctx.saved_tensors
        g = _unsqueeze_to(grad, x.shape, ctx.dims, ctx.keepdim).expand(x.shape)
        return _where_nan_zero(x, g), None, None, None


@register("nansum")
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    if input.is_complex():
        raise RuntimeError("nansum on CPU does not support complex inputs")
    if not input.is_floating_point():
        return sum(input, dim, keepdim, dtype=dtype)
    return Nansum.apply(input, _dims(input, dim), keepdim, _sum_dtype(input, dtype))


def _where_nan_zero(x, values):
    from .pointwise import where
    return where(x.isnan(), 0.0, values)


class Mean(Function):
    """out = mean of x over dims"""
    _node_name = "MeanBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim, dt):
        a = x._data
        ctx.in_shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        n = a.size if dims is None else int(np.prod([a.shape[d] for d in dims]))
        ctx.n = n
        acc = np.float32 if dt is _dtype.float16 else dt.np
        r = sum_array(a, dims, keepdim, acc) / np.dtype(acc).type(n if n else float("nan"))
        return r.astype(dt.np, copy=False) if hasattr(r, "astype") else np.asarray(r, dt.np)

    @staticmethod
    def backward(ctx, grad):                    # d(mean)/dx = 1/n
        g = _unsqueeze_to(grad, ctx.in_shape, ctx.dims, ctx.keepdim)
        return g.expand(ctx.in_shape) / ctx.n if ctx.n else g.expand(ctx.in_shape) * float("nan"), None, None, None


def _check_float_reduce(name, x, dtype):
    dtype = _dtype.dtype_arg(dtype, name)
    dt = dtype or x.dtype
    if dt._category < 2:
        raise RuntimeError(f"{name}(): could not infer output dtype. {'Optional' if dtype else 'Input'} dtype must "
                           f"be either a floating point or complex dtype. Got: {_word(dt)}")
    return dt


def _word(dt):
    from ._util import _type_word
    return _type_word(dt)


@register("mean")
def mean(input, dim=_UNSET, keepdim=False, *, dtype=None, out=None):
    if isinstance(dim, _dtype.dtype):
        dim, dtype = _UNSET, dim
    dt = _check_float_reduce("mean", input, dtype)
    # a float16 mean sums in float32, PyTorch converting the input to float32 (not to float16) first
    x = input if dtype is None or input.dtype is dtype else \
        input.to(_dtype.float32 if dtype is _dtype.float16 else dtype)
    dims = _dims(input, None if dim is _UNSET else dim)
    if not recording(x):            # no graph: one NumPy call
        a = x._data
        n = a.size if dims is None else math.prod(a.shape[d] for d in dims)
        acc = np.float32 if dt is _dtype.float16 else dt.np
        r = sum_array(a, dims, keepdim, acc) / np.dtype(acc).type(n if n else float("nan"))
        return _out(_make(row_major(r.astype(dt.np, copy=False)) if hasattr(r, "astype") else np.asarray(r, dt.np)),
                    out)
    node = Mean.named("MeanBackward0") if dim is _UNSET else Mean
    return _out(node.apply(x, dims, keepdim, dt), out)


@register("nanmean")
def nanmean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    return _out(_nanmean(input, dim, keepdim, dtype=dtype), out)


def _nanmean(input, dim=None, keepdim=False, *, dtype=None):
    if input.dtype._category < 2:
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                           f"{_word(input.dtype)}")
    _check_float_reduce("nanmean", input, dtype)
    notnan = (~input.isnan()).sum(dim, keepdim) if dim is not None else (~input.isnan()).sum()
    return nansum(input, dim, keepdim, dtype=dtype) / notnan


class Prod(Function):
    _node_name = "ProdBackward0"

    @staticmethod
    def forward(ctx, x, dim, keepdim, dt):
        out = _make(row_major(x._data.prod(axis=dim, keepdims=keepdim, dtype=dt.np)))
        ctx.save_for_backward(x, out)          # PyTorch's formula reads the result
        ctx.dim, ctx.keepdim = dim, keepdim
        return out

    @staticmethod
    def backward(ctx, grad):                   # prod of the others, conjugated
        x, out = ctx.saved_tensors
        dim = ctx.dim
        if dim is not None and not ctx.keepdim:
            grad, out = grad.unsqueeze(dim), out.unsqueeze(dim)
        if x.dtype != grad.dtype:
            x = x.to(grad.dtype)
        # Under create_graph, PyTorch's formula: out / x when x has no zeros (a read by the host to
        # know), so that second derivatives reach the saved result as in PyTorch. Otherwise the
        # exclusive cumulative products below: exact with zeros, and no read by the host.
        if grad_mode.is_grad_enabled() and not bool((x._data == 0).any()):
            return grad * _conj(out / x), None, None, None
        if dim is None:
            return (_conj(_prod_others(x.reshape(-1), 0)) * grad).reshape(x.shape), None, None, None
        return _conj(_prod_others(x, dim)) * grad, None, None, None


def _conj(t):
    return t.conj() if t.is_complex() else t


def _prod_others(x, dim):
    """For each element, the product of the others along dim (exclusive cumulative products)."""
    from .creation import ones_like, cat
    n = x.shape[dim]
    if n == 0:
        return x
    one = ones_like(x.narrow(dim, 0, 1))
    left = cat([one, x.narrow(dim, 0, n - 1).cumprod(dim)], dim) if n > 1 else one
    rev = x.flip(dim)
    right = cat([one, rev.narrow(dim, 0, n - 1).cumprod(dim)], dim).flip(dim) if n > 1 else one
    return left * right


@register("prod")
def prod(input, dim=None, keepdim=False, *, dtype=None, out=None):
    if isinstance(dim, _dtype.dtype):
        dim, dtype = None, dim
    if out is not None and dim is None:
        _no_out_overload("prod")
    d = None if dim is None else _wrap_dim(dim, input.ndim)
    dt = _sum_dtype(input, _out_dtype(dtype, out))
    node = Prod if d is None else Prod.named("ProdBackward1")
    # a 0-d input has no dim to reduce: its product is itself (CuPy refuses axis 0 of a 0-d array)
    return _out(node.apply(input, d if input.ndim else None, keepdim, dt), out)


def _variance(a, dims, correction, keepdim):
    """a's variance, in float32 for float16 (Note [Half precision statistics] in nn.functional: the
    squares overflow float16 first)."""
    a = a.astype(np.float32) if a.dtype == np.float16 else a
    if _reduction_factor(a.shape, dims) - correction > 0:
        return a.var(axis=dims, ddof=correction, keepdims=keepdim)
    with warnings.catch_warnings():     # NaN, as PyTorch gives; the caller warned as PyTorch words it
        warnings.simplefilter("ignore", RuntimeWarning)
        return a.var(axis=dims, ddof=correction, keepdims=keepdim)


def _reduction_factor(shape, dims):
    """PyTorch's degrees of freedom before the correction: input numel divided by output numel (an
    empty output counts as one, so an empty input always gives 0)."""
    numel = math.prod(shape)
    kept = 1 if dims is None else math.prod(n for d, n in enumerate(shape) if d not in dims)
    return numel // kept if kept else numel     # (this module's max is torch.max)


def _warn_degrees_of_freedom(name, x, dims, correction):
    if _reduction_factor(x.shape, dims) - correction <= 0:
        from ._util import caller_level
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                      "reduction factor (input numel divided by output numel).", UserWarning,
                      stacklevel=caller_level())


def _rounded(v, a):
    """A statistic v of a, in a's (real) dtype."""
    return v.astype(a.real.dtype if a.dtype.kind == "c" else a.dtype, copy=False)


class Var(Function):
    _node_name = "VarBackward0"

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        ctx.save_for_backward(x)
        ctx.dims, ctx.correction, ctx.keepdim = dims, correction, keepdim
        a = x._data
        n = a.size if dims is None else int(np.prod([a.shape[d] for d in dims]))
        ctx.n = n
        return _rounded(_variance(a, dims, correction, keepdim), a)

    @staticmethod
    def backward(ctx, grad):                   # d(var)/dx = 2 (x - mean) / (n - correction)
        x = ctx.saved_tensors[0]
        g = _unsqueeze_to(grad, x.shape, ctx.dims, ctx.keepdim)
        dims = ctx.dims if ctx.dims is not None else tuple(range(x.ndim))
        centered = x - x.mean(dim=dims, keepdim=True) if x.ndim else x * 0
        return g * centered * (2.0 / (ctx.n - ctx.correction)), None, None, None


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


def _var_args(input, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    return _dims(input, dim), _correction(unbiased, correction), keepdim


def _check_float_statistic(name, x):
    if x.dtype._category < 2:
        raise RuntimeError(f"{name} only support floating point and complex dtypes")


@register("var")
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    _check_float_statistic("std and var", input)
    dims, c, keepdim = _var_args(input, dim, unbiased, keepdim, correction)
    _warn_degrees_of_freedom("var", input, dims, c)
    return _out(Var.apply(input, dims, c, keepdim), out)


@register("std")
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    _check_float_statistic("std and var", input)
    dims, c, keepdim = _var_args(input, dim, unbiased, keepdim, correction)
    _warn_degrees_of_freedom("std", input, dims, c)
    return _out(Std.apply(input, dims, c, keepdim), out)


class Std(Function):
    _node_name = "StdBackward0"

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        Var.forward(ctx, x, dims, correction, keepdim)      # (its context)
        a = x._data
        v = _variance(a, dims, correction, keepdim)
        out = _make(row_major(_rounded(_xp.array_module(v).sqrt(v), a)))
        ctx.save_for_backward(x, out)          # PyTorch's formula reads the result
        return out

    @staticmethod
    def backward(ctx, grad):        # var's backward of grad / (2 std), 0 where std is 0
        x, sd = ctx.saved_tensors
        return Var.backward(ctx, (grad / (sd * 2)).masked_fill(sd == 0, 0.0))


class VarMean(Function):
    """(var or std, mean) of x over dims, one node as in PyTorch."""
    _node_name = "VarMeanBackward0"

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim, take_sqrt):
        v = Var.forward(ctx, x, dims, correction, keepdim)
        a = x._data
        with warnings.catch_warnings():     # an empty slice's mean is NaN, silently as in PyTorch
            if a.size == 0:
                warnings.simplefilter("ignore", RuntimeWarning)
            m = a.mean(axis=dims, keepdims=keepdim, dtype=np.float32 if a.dtype == np.float16 else a.dtype)
        m = _xp.array_module(a).asarray(m).astype(a.dtype, copy=False)
        ctx.take_sqrt = take_sqrt
        if take_sqrt:
            v = _variance(a, dims, correction, keepdim)
            v = _make(row_major(_rounded(_xp.array_module(v).sqrt(v), a)))
            ctx.save_for_backward(x, v)        # PyTorch's std formula reads the result
        return v, m

    @staticmethod
    def backward(ctx, grad_v, grad_m):       # the var (or std) rule plus the mean's 1/n
        x = ctx.saved_tensors[0]
        out = None
        if grad_v is not None:
            out = (Std if ctx.take_sqrt else Var).backward(ctx, grad_v)[0]
        if grad_m is not None:
            g = _unsqueeze_to(grad_m, x.shape, ctx.dims, ctx.keepdim).expand(x.shape) / (ctx.n or 1)
            out = g if out is None else out + g
        return out, None, None, None, None


def _var_mean(input, dim, unbiased, keepdim, correction, take_sqrt):
    _check_float_statistic("std_mean" if take_sqrt else "var_mean", input)
    dims, c, keepdim = _var_args(input, dim, unbiased, keepdim, correction)
    node = "StdMeanBackward0" if take_sqrt else "VarMeanBackward0"
    _warn_degrees_of_freedom("std_mean" if take_sqrt else "var_mean", input, dims, c)
    return VarMean.named(node).apply(input, dims, c, keepdim, take_sqrt)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var_mean(input, dim, unbiased, keepdim, correction, False)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var_mean(input, dim, unbiased, keepdim, correction, True)


# -- max / min --------------------------------------------------------------------------------
class ExtremeAll(Function):
    """out = max (or min) of all elements; ties share the gradient evenly."""
    _node_name = "MaxBackward1"

    @staticmethod
    def forward(ctx, x, is_max, dims, keepdim):
        a = x._data
        if a.size == 0 and dims is None:    # (an empty tensor reduced over nonempty dims is empty: fine)
            raise RuntimeError(f"{'max' if is_max else 'min'}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
        xp = _xp.array_module(a)
        out = (a.max if is_max else a.min)(axis=dims, keepdims=keepdim)
        if a.dtype.kind in "fc":
            nan = xp.isnan(a).any(axis=dims, keepdims=keepdim)
            out = xp.where(nan, xp.asarray(float("nan"), a.dtype), out)
        ctx.save_for_backward(x)
        ctx.dims, ctx.keepdim, ctx.is_max = dims, keepdim, is_max
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xd = x.detach()
        best = xd.amax(ctx.dims, ctx.keepdim) if ctx.is_max else xd.amin(ctx.dims, ctx.keepdim)
        out = _unsqueeze_to(best, x.shape, ctx.dims, ctx.keepdim)
        g = _unsqueeze_to(grad, x.shape, ctx.dims, ctx.keepdim)
        mask = (x == out).to(grad.dtype)
        count = mask.sum(dim=ctx.dims, keepdim=True) if ctx.dims is not None else mask.sum()
        return g * mask / count, None, None, None


def _extreme_all(input, is_max, dims=None, keepdim=False, node=None):
    if recording(input):
        node = node or ("MaxBackward1" if is_max else "MinBackward1")
        return ExtremeAll.named(node).apply(input, is_max, dims, keepdim)
    a = input._data
    if a.size == 0 and dims is None:
        raise RuntimeError(f"{'max' if is_max else 'min'}(): Expected reduction dim to be specified for "
                           "input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
    # NumPy's max/min propagate NaN as PyTorch's do: no separate NaN pass is needed
    if type(a) is np.ndarray and a.dtype.kind != "c":
        r = (np.maximum if is_max else np.minimum).reduce(a, axis=dims, keepdims=keepdim)
        return _make(row_major(r) if type(r) is np.ndarray else np.asarray(r))
    return _make(row_major((a.max if is_max else a.min)(axis=dims, keepdims=keepdim)))


class ExtremeDim(Function):
    """(values, indices) of max/min along dim; the gradient goes to the chosen index."""
    _node_name = "MaxBackward0"

    @staticmethod
    def forward(ctx, x, dim, keepdim, is_max):
        a = x._data
        xp = _xp.array_module(a)
        if a.ndim == 0:             # the element itself (its gradient passes as is), at index 0
            ctx.in_shape = ()
            return a.copy(), xp.zeros((), np.int64)
        if a.shape[dim] == 0:
            raise IndexError(f"{'max' if is_max else 'min'}(): Expected reduction dim {dim} to have non-zero size.")
        idx = _arg_extreme(xp, a, dim, is_max)
        idx_k = xp.expand_dims(idx, dim)
        vals = xp.take_along_axis(a, idx_k, axis=dim)
        if not keepdim:
            vals = vals.squeeze(dim)
        else:
            idx = idx_k
        ctx.dim, ctx.keepdim, ctx.in_shape = dim, keepdim, x.shape
        ctx.idx = idx_k
        return vals, idx.astype(np.int64)

    @staticmethod
    def backward(ctx, grad, grad_idx):
        if not ctx.in_shape:
            return grad, None, None, None
        from .indexing import scatter_along
        g = grad if ctx.keepdim else grad.unsqueeze(ctx.dim)
        return scatter_along(g, ctx.idx, ctx.dim, ctx.in_shape), None, None, None


def _arg_extreme(xp, a, axis, is_max):
    """Index of the max (min) along axis, where the first NaN wins as in PyTorch."""
    if a.dtype.kind not in "fc" or (xp is np and not np.isnan(a).any()):
        return (xp.argmax if is_max else xp.argmin)(a, axis=axis)
    # no branch on the values: on a device, asking whether there is a NaN is a read by the host
    nan = xp.isnan(a)
    rest = xp.where(nan, xp.asarray(float("-inf") if is_max else float("inf"), a.dtype), a)
    best = (xp.argmax if is_max else xp.argmin)(rest, axis=axis)
    return xp.where(nan.any(axis=axis), xp.argmax(nan, axis=axis), best)


def _reject_complex(input, kernel):
    # complex numbers have no order: PyTorch's kernels for these reductions reject them
    if input.is_complex():
        from .pointwise import _not_implemented
        _not_implemented(kernel, input.dtype)


def _extreme(name, is_max):
    rt = getattr(return_types, name)

    def fn(input, dim=None, keepdim=False, *, out=None):
        if isinstance(dim, Tensor):
            from .pointwise import maximum, minimum
            return (maximum if is_max else minimum)(input, dim)
        if dim is None:
            _reject_complex(input, name + "_all")
            return _extreme_all(input, is_max)
        if input.is_complex():
            raise RuntimeError(f"{name}(): does not support complex input")
        d = _wrap_dim(dim, input.ndim)
        vals, idx = ExtremeDim.named("MaxBackward0" if is_max else "MinBackward0").apply(input, d, keepdim, is_max)
        return rt(vals, idx) if out is None else rt.out_type(*_out_pair((vals, idx), out))
    fn.__name__ = name
    return fn


max = register("max")(_extreme("max", True))
min = register("min")(_extreme("min", False))


def _amax_out_message(want, got):
    from ._util import _type_word
    return (f"Expected the dtype for input and out to match, but got {_type_word(want)} for input's dtype and "
            f"{_type_word(got)} for out's dtype.")


def _check_nonempty(name, input, dims):
    """PyTorch's IndexError for a max/min-like reduction over a zero-size dim (before any work)."""
    if input._data.size or dims is None or (isinstance(dims, (tuple, list)) and not len(dims)):
        return
    shape = input._data.shape
    for d in ((dims,) if isinstance(dims, int) else dims):
        d = _wrap_dim(d, len(shape))
        if shape[d] == 0:
            raise IndexError(f"{name}: Expected reduction dim {d} to have non-zero size.")


@register("amax")
def amax(input, dim=(), keepdim=False, *, out=None):
    _reject_complex(input, "max_values_cpu")
    _check_nonempty("amax()", input, dim)
    dims = _dims(input, dim)
    return _out_exact(_extreme_all(input, True, dims, keepdim, "AmaxBackward0"), out, _amax_out_message)


@register("amin")
def amin(input, dim=(), keepdim=False, *, out=None):
    _reject_complex(input, "min_values_cpu")
    _check_nonempty("amin()", input, dim)
    dims = _dims(input, dim)
    return _out_exact(_extreme_all(input, False, dims, keepdim, "AminBackward0"), out, _amax_out_message)


@register("aminmax")
def aminmax(input, *, dim=None, keepdim=False, out=None):
    r = _aminmax(input, dim=dim, keepdim=keepdim)
    return r if out is None else return_types.aminmax.out_type(*_out_pair(r, out))


def _aminmax(input, *, dim=None, keepdim=False):
    _reject_complex(input, "aminmax_cpu")
    dims = _dims(input, dim)
    if dims is None and not input._data.size:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                           "identity.")
    _check_nonempty("aminmax", input, dims)
    return return_types.aminmax(_extreme_all(input, False, dims, keepdim, "AminmaxBackward0"),
                                _extreme_all(input, True, dims, keepdim, "AminmaxBackward0"))


def _arg(name, is_max):
    def fn(input, dim=None, keepdim=False):
        a = input._data
        xp = _xp.array_module(a)
        if a.dtype == np.bool_:
            raise RuntimeError(f"{name}(): does not support bool input")
        if a.dtype.kind == "c":
            raise RuntimeError(f"{name}(): does not support complex input")
        if a.size == 0:
            if dim is None:
                raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
            _check_nonempty(f"{name}()", input, (_wrap_dim(dim, a.ndim),))
        if dim is None:
            r = _arg_extreme(xp, a.reshape(-1), 0, is_max)
            if keepdim:
                r = xp.asarray(r).reshape((1,) * a.ndim)
            return _make(xp.asarray(r, np.int64))
        d = _wrap_dim(dim, a.ndim)
        if a.ndim == 0:
            return _make(xp.zeros((), np.int64))
        r = _arg_extreme(xp, a, d, is_max)
        if keepdim:
            r = xp.expand_dims(r, d)
        return _make(row_major(r.astype(np.int64)))
    fn.__name__ = name
    return fn


argmax = register("argmax")(_arg("argmax", True))
argmin = register("argmin")(_arg("argmin", False))


@register("all")
def all(input, dim=None, keepdim=False, *, out=None):
    a = _logical_input(input, out)
    r = row_major(a.all(axis=_dims(input, dim), keepdims=keepdim)) if not _no_dims(dim) else a.astype(bool)
    return _logical_out("all", _make(r if input.dtype is not _dtype.uint8 else r.astype(np.uint8)), out)


@register("any")
def any(input, dim=None, keepdim=False, *, out=None):
    a = _logical_input(input, out)
    r = row_major(a.any(axis=_dims(input, dim), keepdims=keepdim)) if not _no_dims(dim) else a.astype(bool)
    return _logical_out("any", _make(r if input.dtype is not _dtype.uint8 else r.astype(np.uint8)), out)


def _no_dims(dim):
    # all/any over an empty dim list reduce nothing (sum and the others reduce every dim then)
    return isinstance(dim, (tuple, list)) and len(dim) == 0


def _logical_input(input, out):
    # PyTorch reduces in a uint8 out's dtype: the input is cast first, so 0.5 counts as False there
    if isinstance(out, Tensor) and out.dtype is _dtype.uint8 and input.dtype is not _dtype.uint8:
        return input._data.astype(np.uint8)
    return input._data


def _logical_out(name, result, out):
    if out is None:
        return result
    if out.dtype is not _dtype.bool and out.dtype is not _dtype.uint8:
        from ._util import _type_word
        raise RuntimeError(f"{name} only supports bool tensor for result, got: {_type_word(out.dtype)}")
    return _out(result.to(out.dtype), out)


@register("count_nonzero")
def count_nonzero(input, dim=None):
    counts = (input._data != 0).sum(axis=_dims(input, dim))
    return _make(row_major(_xp.array_module(input._data).asarray(counts, dtype=np.int64)))


# -- norms ------------------------------------------------------------------------------------
@register("norm")
@handles_out
def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    from ..linalg import vector_norm, matrix_norm
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
            return vector_norm(input, 2, dim, keepdim, dtype=dtype)
        if p == "nuc":
            return matrix_norm(input, "nuc", dim if dim is not None else (-2, -1), keepdim)
        raise RuntimeError(f"norm(): invalid p {p!r}")
    r = vector_norm(input, p if p is not None else 2, dim, keepdim, dtype=dtype)
    return zero_norm_node(input, r) if p == 0 else r


class _ZeroNorm(Function):
    """The 0-norm (a count of nonzeros, computed by the caller) recorded as PyTorch records it: a
    LinalgVectorNormBackward0 node whose gradient is undefined, so none reaches x (x.grad stays None,
    autograd.grad needs allow_unused, materialize_grads gives zeros)."""
    _node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, count):
        return count

    @staticmethod
    def backward(ctx, grad):
        return None, None


def zero_norm_node(x, r):
    """r, the 0-norm of x, with _ZeroNorm's node when x needs a gradient (a count records none)."""
    return _ZeroNorm.apply(x, r._data) if recording(x) and not r.requires_grad else r


@register("dist")
def dist(input, other, p=2):
    from ._util import broadcast_shapes, check_same_device
    from .pointwise import reject_bool_subtraction
    if not isinstance(other, Tensor):
        raise TypeError(f"dist(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
    check_same_device("dist", input, other)
    broadcast_shapes(input.shape, other.shape)
    # the norm of input - other: the operands promote as for a subtraction (float32 and float64 give float64)
    reject_bool_subtraction(input.dtype is _dtype.bool, other.dtype is _dtype.bool)
    common = _dtype.result_type(input, other)
    if common._category < 2:
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. Got {_word(common)} "
                           f"instead.")
    if common is not input.dtype or common is not other.dtype:
        input, other = input.to(common), other.to(common)
    return Dist.apply(input, other, float(p))


class Dist(Function):
    """out = p-norm of (x - y), broadcast"""
    _node_name = "DistBackward0"

    @staticmethod
    def forward(ctx, x, y, p):
        out = norm(_make(x._data - y._data), p)
        ctx.save_for_backward(x, y, out)       # PyTorch's formula reads the result
        ctx.p = p
        return out

    @staticmethod
    def backward(ctx, grad):        # PyTorch's norm_backward of x - y; minus that for y
        x, y, out = ctx.saved_tensors
        d = x - y
        g = d * 0 if ctx.p == 0 else _norm_backward(grad, d, ctx.p, out, tuple(range(d.ndim)))
        return g, -g, None


# -- softmax family ---------------------------------------------------------------------------
class Softmax(Function):
    """out = exp(x - max) / sum(exp(x - max)) along dim"""
    _node_name = "SoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        a = x._data.reshape(1) if x._data.ndim == 0 else x._data      # a 0-dim input: one node, as torch's
        xp = _xp.array_module(a)
        z = a - _max_or_zero(a, dim)
        e = xp.exp(z)
        e /= e.sum(axis=dim, keepdims=True)
        ctx.dim = dim
        out = _make(row_major(e).reshape(x._data.shape))
        ctx.save_for_backward(out)             # PyTorch's formula reads the result
        return out

    @staticmethod
    def backward(ctx, grad):                    # s * (grad - sum(grad * s))
        s, = ctx.saved_tensors
        return s * (grad - (grad * s).sum(ctx.dim, keepdim=True)), None


def _max_or_zero(a, dim):
    """The shift that keeps exp from overflowing; an empty input has nothing to shift (NumPy's max refuses it)."""
    return a.max(axis=dim, keepdims=True) if a.size else a.dtype.type(0)


class LogSoftmax(Function):
    """out = x - max - log(sum(exp(x - max))) along dim"""
    _node_name = "LogSoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        a = x._data.reshape(1) if x._data.ndim == 0 else x._data      # a 0-dim input: one node, as torch's
        xp = _xp.array_module(a)
        z = a - _max_or_zero(a, dim)
        out = _make(row_major(z - xp.log(xp.exp(z).sum(axis=dim, keepdims=True))).reshape(x._data.shape))
        ctx.dim = dim
        ctx.save_for_backward(out)             # PyTorch's formula reads the result
        return out

    @staticmethod
    def backward(ctx, grad):                    # grad - softmax * sum(grad), softmax = exp(out)
        out, = ctx.saved_tensors
        return grad - out.exp() * grad.sum(ctx.dim, keepdim=True), None


def _softmax_dim(input, dim, name):
    if dim is None:
        import warnings
        from ._util import caller_level      # the user's line, past F.softmax and autocast's wrapper
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                      "dim=X as an argument.", UserWarning, stacklevel=caller_level())
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return _wrap_dim(dim, input.ndim)


def _softmax_input(input, dtype, dim, name):
    if (dtype is not None and dtype.is_complex) or (dtype is None and input.is_complex()):
        last = dim is None or input.ndim == 0 or dim in (-1, input.ndim - 1)
        _reject_complex(input.to(dtype) if dtype is not None else input,
                        f"{name}_{'lastdim_' if last else ''}kernel_impl")
    x = input.to(dtype) if dtype is not None else input
    if x.dtype._category < 2 and x.numel():     # PyTorch returns an empty input before picking a kernel
        last = dim is None or x.ndim <= 1 or dim in (-1, x.ndim - 1)
        raise NotImplementedError(f"\"{name}_{'lastdim_' if last else ''}kernel_impl\" not implemented for "
                                  f"'{_word(x.dtype)}'")
    return x


@register("softmax")
def softmax(input, dim=None, _stacklevel=3, dtype=None):
    d = _softmax_dim(input, dim, "softmax")
    x = _softmax_input(input, dtype, dim, "softmax")
    if x.dtype._category < 2:
        return x.clone()        # empty
    return Softmax.apply(x, d)


@register("log_softmax")
def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    d = _softmax_dim(input, dim, "log_softmax")
    x = _softmax_input(input, dtype, dim, "log_softmax")
    if x.dtype._category < 2:
        return x.clone()        # empty
    return LogSoftmax.apply(x, d)


class Logsumexp(Function):
    """out = log(sum(exp(x))) over dims, shifted by the max so that exp cannot overflow"""
    _node_name = "LogsumexpBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.dims, ctx.keepdim = dims, keepdim
        out = _make(row_major(_logsumexp_array(x._data, dims, keepdim)))
        ctx.save_for_backward(x, out)          # PyTorch's formula reads the result
        return out

    @staticmethod
    def backward(ctx, grad):                    # softmax of x over dims
        x, out = ctx.saved_tensors
        out = _unsqueeze_to(out, x.shape, ctx.dims, ctx.keepdim)
        return _unsqueeze_to(grad, x.shape, ctx.dims, ctx.keepdim) * _conj((x - out).exp()), None, None


def _logsumexp_array(a, dims, keepdim):
    xp = _xp.array_module(a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if a.size == 0:
            return xp.log(xp.exp(a).sum(axis=dims, keepdims=keepdim))
        m = a.real.max(axis=dims, keepdims=True)     # a real shift, for complex a too, as PyTorch's:
        m = xp.where(xp.isinf(m), xp.zeros((), m.dtype), m)     # the result's phase stays in (-pi, pi]
        r = xp.log(xp.exp(a - m).sum(axis=dims, keepdims=True)) + m
    return r if keepdim else r.reshape([n for i, n in enumerate(r.shape) if i not in dims])


@register("logsumexp")
def logsumexp(input, dim=None, keepdim=False, *, out=None):
    return _out(_logsumexp(input, dim, keepdim), out)


def _logsumexp(input, dim=None, keepdim=False):
    dims = _dims(input, dim) if dim is not None else None
    if dims is None:            # no dims (None or ()) reduces them all
        dims = tuple(range(input.ndim))
    x = input if input.is_floating_point() or input.is_complex() else input.to(_dtype.get_default_dtype())
    return Logsumexp.apply(x, dims, keepdim)


# -- cumulative -------------------------------------------------------------------------------
def _scan(fn, a, dim, dt):
    """fn (cumsum or cumprod) of a along dim in dtype dt. PyTorch casts the input to float16 and runs the
    float16 sum or product in float32, rounding each output (not each partial result, as NumPy does)."""
    if dt is not _dtype.float16:
        return fn(a, axis=dim, dtype=dt.np)
    return fn(a.astype(np.float16, copy=False), axis=dim, dtype=np.float32).astype(np.float16)


class Cumsum(Function):
    _node_name = "CumsumBackward0"

    @staticmethod
    def forward(ctx, x, dim, dt):
        ctx.dim = dim
        a = x._data
        if a.ndim == 0:
            return a.astype(dt.np).copy()
        out = _scan(_xp.array_module(a).cumsum, a, dim, dt)
        if out.dtype.kind in "fc":
            out += 0        # PyTorch's running sum starts from +0.0: a leading -0.0 sums to 0.0
        return out

    @staticmethod
    def backward(ctx, grad):                    # reversed cumulative sum
        if grad.ndim == 0:
            return grad, None, None
        return grad.flip(ctx.dim).cumsum(ctx.dim).flip(ctx.dim), None, None


@register("cumsum")
def cumsum(input, dim, *, dtype=None, out=None):
    d = _wrap_dim(dim, input.ndim)      # a 0-dim input takes dims -1 and 0, as a 1-dim one
    dt = _sum_dtype(input, _out_dtype(dtype, out))
    _no_bool_kernel("cumsum_out_cpu", dt, input)
    return _out(Cumsum.apply(input, d, dt), out)


def _no_bool_kernel(kernel, dt, input):
    if dt is _dtype.bool and input.ndim and input.numel():      # a 0-dim or empty input needs no kernel
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


class Cumprod(Function):
    _node_name = "CumprodBackward0"

    @staticmethod
    def forward(ctx, x, dim, dt):
        ctx.dim = dim
        a = x._data
        out = _make(a.astype(dt.np).copy() if a.ndim == 0 else row_major(_scan(_xp.array_module(a).cumprod, a, dim, dt)))
        ctx.save_for_backward(x, out)          # PyTorch's formula reads the result
        return out

    @staticmethod
    def backward(ctx, grad):       # dx_i = sum_{j>=i} grad_j * conj(prod_{k<=j, k!=i} x_k)
        x, out = ctx.saved_tensors
        if x.ndim == 0:
            return grad, None, None
        d = ctx.dim
        if x.dtype != grad.dtype:
            x = x.to(grad.dtype)
        if not grad_mode.is_grad_enabled():
            return _cumprod_grad(x, out, grad, d), None, None
        # differentiable again (create_graph): the products with x_i replaced by 1 are
        # polynomials in every x_j, zeros included; when there are no zeros, the cheap formula
        if not bool((x._data == 0).any()):
            return (grad * _conj(out)).flip(d).cumsum(d).flip(d) / _conj(x), None, None
        from .creation import cat
        n = x.shape[d]
        cols = []
        for i in range(n):
            one = x.narrow(d, i, 1) * 0 + 1
            y = cat([x.narrow(d, 0, i), one, x.narrow(d, i + 1, n - i - 1)], d).cumprod(d)
            cols.append((_conj(y.narrow(d, i, n - i)) * grad.narrow(d, i, n - i)).sum(d, keepdim=True))
        return cat(cols, d), None, None


def _cumprod_grad(x, out, grad, d):
    """The gradient of out = x.cumprod(d), exact with zeros and without reading the device (its
    values only: a second derivative needs the polynomial form above).

    Along each slice, let k be the position of the first zero (n when there is none). For i < k,
    grad_i is the reversed cumulative sum of grad * out divided by x_i (out is 0 from k on); for
    i = k, it is that sum for the products with x_k replaced by 1; beyond k every product holds
    x_k = 0.
    """
    zero = x == 0
    zeros_so_far = zero.to(_dtype.int64).cumsum(d)
    before, first = zeros_so_far == 0, zero & (zeros_so_far == 1)
    one = x.new_ones(())
    upto_first = (grad * _conj(out)).flip(d).cumsum(d).flip(d) / _conj(x.where(~zero, one))
    with_one = x.where(~first, one).cumprod(d)                  # x_k replaced by 1
    at_first = (grad * _conj(with_one)).flip(d).cumsum(d).flip(d)
    return upto_first.where(before, at_first.where(first, upto_first.new_zeros(())))


@register("cumprod")
def cumprod(input, dim, *, dtype=None, out=None):
    d = _wrap_dim(dim, input.ndim)      # a 0-dim input takes dims -1 and 0, as a 1-dim one
    dt = _sum_dtype(input, _out_dtype(dtype, out))
    _no_bool_kernel("cumprod_out_cpu", dt, input)
    return _out(Cumprod.apply(input, d, dt), out)


def _cumulative_inplace(fn_cls):
    def inplace(self, dim, *, dtype=None):
        from ._util import apply_inplace
        d = _wrap_dim(dim, self.ndim)
        return apply_inplace(self, fn_cls, d, dtype or self.dtype)
    return inplace


Tensor.cumsum_ = _cumulative_inplace(Cumsum)
Tensor.cumprod_ = _cumulative_inplace(Cumprod)


@register("sum_to_size")
def sum_to_size(self, *size):
    """The sum of self down to ``size``, a shape self broadcasts from (the undo of expand)."""
    from builtins import all as all_of        # this module defines its own all()
    from .views import _sizes
    size = _sizes(size)
    if not size:                # PyTorch sums to a 0-dim shape unconditionally (a bool one to int64)
        return self.sum()
    shape = tuple(self.shape)
    lead = len(shape) - len(size)
    if lead < 0 or not all_of(s == 1 or s == n for s, n in zip(size, shape[lead:])):
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    dims = list(range(lead)) + [lead + i for i, s in enumerate(size) if s == 1 and shape[lead + i] != 1]
    out = self.sum(dims, keepdim=True) if dims else self
    return out.reshape(size) if lead else out


# -- trace ------------------------------------------------------------------------------------
class Trace(Function):
    """out = sum of the main diagonal of a matrix (integers sum to int64)"""
    _node_name = "TraceBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.in_shape = x.shape
        a = x._data
        xp = _xp.array_module(a)
        return xp.asarray(xp.trace(a, dtype=np.int64 if a.dtype.kind in "biu" else a.dtype))

    @staticmethod
    def backward(ctx, grad):                     # grad on the diagonal of zeros
        from .indexing import diagonal_scatter
        n, m = ctx.in_shape
        return diagonal_scatter(grad.new_zeros(ctx.in_shape), grad.expand(n if n < m else m))


def trace(input):
    """Sum of the diagonal of a matrix (integers sum to int64)."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return Trace.apply(input)


# -- trapezoid rule: composed of other ops exactly as PyTorch composes it (same values, same graph) ---
_NO_ARG = object()          # x or dx not given (None is an error, as in PyTorch)


def _scale(t, s, div=False):
    """t * s or t / s for a Python float s, recorded as PyTorch's Scalar overloads (MulBackward1,
    DivBackward1) record them."""
    from .pointwise import Mul, Div
    if recording(t):
        return (Div if div else Mul).named("DivBackward1" if div else "MulBackward1").apply(t, s)
    return t / s if div else t * s


def _slices(y, dim):
    head = (slice(None),) * dim
    return y[head + (slice(0, -1),)], y[head + (slice(1, None),)]


def _spacing(name, y, x, dim):
    """x's differences along dim, x viewed so that they broadcast against y's (as PyTorch does)."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[dim]:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        shape = [1] * y.ndim
        shape[dim] = x.shape[0]
        x = x.view(shape)
    elif x.ndim < y.ndim:
        x = x.view((1,) * (y.ndim - x.ndim) + tuple(x.shape))
    left, right = _slices(x, dim)
    return right - left


def _trapezoid_args(name, y, x, dx, dim):
    if x is not _NO_ARG and dx is not _NO_ARG or (x is not _NO_ARG and not isinstance(x, Tensor)) or \
            (dx is not _NO_ARG and not isinstance(dx, (int, float, complex, Tensor))):
        got = "Tensor" + (f", {_arg_type(x)}" if x is not _NO_ARG else "") + \
            (f", dx={_arg_type(dx)}" if dx is not _NO_ARG else "")
        raise TypeError(f"{name}() received an invalid combination of arguments - got ({got}), but expected one of:\n"
                        f" * (Tensor y, Tensor x, *, int dim = -1)\n * (Tensor y, *, Number dx = 1, int dim = -1)\n")
    if x is _NO_ARG:
        if isinstance(dx, Tensor):
            dx = dx.item()
        if dx is _NO_ARG:
            dx = 1
        if isinstance(dx, (bool, complex)):
            raise RuntimeError(f"{name}: Currently, we only support dx as a real number.")
    if y.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return x, dx, _wrap_dim(dim, y.ndim)


def _arg_type(v):
    return "Tensor" if isinstance(v, Tensor) else type(v).__name__


def trapezoid(y, x=_NO_ARG, *, dx=_NO_ARG, dim=-1):
    """Integral of y along dim by the trapezoid rule, at sample points x or a constant spacing dx."""
    return _trapezoid("trapezoid", y, x, dx, dim)


def trapz(y, x=_NO_ARG, *, dx=_NO_ARG, dim=-1):
    """Old name of trapezoid."""
    return _trapezoid("trapz", y, x, dx, dim)


def _trapezoid(name, y, x, dx, dim):
    x, dx, dim = _trapezoid_args(name, y, x, dx, dim)
    if y.shape[dim] == 0:                        # no samples: 0, as NumPy
        shape = list(y.shape)
        del shape[dim]
        from .creation import zeros
        return zeros(shape, dtype=y.dtype, device=y.device)
    if x is _NO_ARG:
        if y.dtype is _dtype.bool:
            raise RuntimeError("trapezoid: received a bool input for `y`, but bool is not supported")
        # dx * (sum(y) - (y_first + y_last) / 2)
        ends = y.select(dim, 0) + y.select(dim, -1)
        return _scale(y.sum(dim) - _scale(ends, 0.5), float(dx))
    if y.dtype is _dtype.bool or x.dtype is _dtype.bool:
        raise RuntimeError("trapezoid: received a bool input for `x` or `y`, but bool is not supported")
    left, right = _slices(y, dim)
    return _scale(((left + right) * _spacing("trapezoid", y, x, dim)).sum(dim), 2.0, div=True)


def cumulative_trapezoid(y, x=_NO_ARG, *, dx=_NO_ARG, dim=-1):
    """Running integral of y along dim by the trapezoid rule (one value fewer than samples)."""
    x, dx, dim = _trapezoid_args("cumulative_trapezoid", y, x, dx, dim)
    if x is _NO_ARG:
        if y.dtype is _dtype.bool:
            raise RuntimeError("cumulative_trapezoid: received a bool input for `y`, but bool is not supported")
        left, right = _slices(y, dim)
        return _scale(left + right, float(dx) / 2.0).cumsum(dim)
    if y.dtype is _dtype.bool or x.dtype is _dtype.bool:
        raise RuntimeError("cumulative_trapezoid: received a bool input for `x` or `y`, but bool is not supported")
    left, right = _slices(y, dim)
    return _scale(((left + right) * _spacing("cumulative_trapezoid", y, x, dim)).cumsum(dim), 2.0, div=True)


# -- renorm -----------------------------------------------------------------------------------
class Renorm(Function):
    """out = each slice along dim scaled to p-norm maxnorm when its norm is above maxnorm"""
    _node_name = "RenormBackward0"

    @staticmethod
    def forward(ctx, x, p, dim, maxnorm):
        ctx.save_for_backward(x)
        ctx.p, ctx.dims, ctx.maxnorm = p, tuple(d for d in range(x.ndim) if d != dim), maxnorm
        a = x._data
        xp = _xp.array_module(a)
        norm = _p_norm(xp, a, p, ctx.dims)
        factor = xp.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0).astype(norm.dtype, copy=False)
        return a * factor

    @staticmethod
    def backward(ctx, grad):
        # PyTorch's renorm_backward: the factor's gradient through the norm where the slice was scaled
        x, = ctx.saved_tensors
        p, dims, maxnorm = ctx.p, ctx.dims, ctx.maxnorm
        from ..linalg import vector_norm
        norm = vector_norm(x, p, dims, keepdim=True)
        go = (x.conj() * grad)
        go = (go.real if go.is_complex() else go).sum(dims, keepdim=True)
        invnorm = (norm + 1e-7).reciprocal()
        scaled = invnorm * maxnorm * grad - (invnorm * invnorm * maxnorm) * _norm_backward(go, x, p, norm, dims)
        from .pointwise import where
        return where(norm > maxnorm, scaled, grad), None, None, None


def _p_norm(xp, a, p, dims):
    mag = xp.abs(a)
    if p == 2:
        return xp.sqrt((mag * mag).sum(axis=dims, keepdims=True))
    if p == 1:
        return mag.sum(axis=dims, keepdims=True)
    if p == math.inf:
        if a.size:
            return mag.max(axis=dims, keepdims=True)
        return xp.zeros(tuple(1 if d in dims else n for d, n in enumerate(a.shape)), mag.dtype)
    return (mag ** p).sum(axis=dims, keepdims=True) ** (1.0 / p)


def _norm_backward(grad, x, p, norm, dims):
    """grad (keepdim shape) times d norm_p(x) / dx, as PyTorch's norm_backward (0 where the norm is 0)."""
    if p == 1:
        return x.sgn() * grad
    if p == 2:
        return grad * (x / norm).masked_fill(norm == 0, 0.0)
    if p == math.inf:
        mag = x.abs()
        mask = (mag == norm) | mag.isnan()
        return x.sgn() * ((grad / mask.sum(dims, keepdim=True)) * mask)
    if p < 1:
        return x.sgn() * (x.abs() ** (p - 1)).masked_fill(x == 0, 0.0) * grad * norm ** (1 - p)
    scale = (grad / norm ** (p - 1)).masked_fill(norm == 0, 0.0)
    return (x.sgn() * x.abs() ** (p - 1) if p < 2 else x * x.abs() ** (p - 2)) * scale


def _renorm_args(input, p, dim, maxnorm):
    if isinstance(p, complex):
        raise RuntimeError("renorm: p must be real-valued")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if isinstance(maxnorm, Tensor):
        maxnorm = maxnorm.item()
    if isinstance(maxnorm, complex):
        raise RuntimeError("renorm: maxnorm must be real-valued")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {float(maxnorm):g}")
    if input.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} dimensions")
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_word(input.dtype)}")
    return float(p), _wrap_dim(dim, input.ndim), float(maxnorm)


@register("renorm")
def renorm(input, p, dim, maxnorm, *, out=None):
    """Each slice along dim with p-norm above maxnorm scaled down to norm maxnorm."""
    p, dim, maxnorm = _renorm_args(input, p, dim, maxnorm)
    return _out(Renorm.apply(input, p, dim, maxnorm), out)


def _renorm_(self, p, dim, maxnorm):
    from ._util import apply_inplace, write_inplace
    p, dim, maxnorm = _renorm_args(self, p, dim, maxnorm)
    if recording(self) or (self._base is not None and recording(self._base)):
        return apply_inplace(self, Renorm, p, dim, maxnorm)
    return write_inplace(self, Renorm.apply(self.detach(), p, dim, maxnorm)._data, "renorm")


Tensor.renorm_ = _renorm_
__all__ += ["trace", "trapezoid", "trapz", "cumulative_trapezoid", "renorm"]


# PyTorch makes the results of its reductions, scans and softmax row-major whatever the input's layout
for _cls in (Sum, Nansum, Mean, Prod, Var, Std, VarMean, ExtremeAll, ExtremeDim, Softmax, LogSoftmax, Logsumexp, Cumsum):
    _cls._result_layout = "rows"
