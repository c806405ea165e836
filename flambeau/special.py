"""``flambeau.special``: special functions (torch.special), differentiable where their parts are."""
import math

from . import _dtype, _xp
from ._tensor import Tensor, _make
from .autograd.function import Function
from ._ops import pointwise as _pw
from ._ops import reduction as _red
from ._ops._util import recording, result_dtype, operand, check_same_device

__all__ = ["expit", "logit", "erf", "erfc", "erfcx", "erfinv", "gammaln", "digamma", "psi", "polygamma",
           "multigammaln", "i0", "i0e", "i1", "i1e", "ndtr", "ndtri", "log_ndtr", "log1p", "expm1", "exp2", "sinc",
           "round", "softmax", "log_softmax", "xlogy", "xlog1py", "entr", "logsumexp"]

expit = _pw.sigmoid
logit = _pw.logit
erf = _pw.erf
erfc = _pw.erfc
erfinv = _pw.erfinv
gammaln = _pw.lgamma
digamma = psi = _pw.digamma
polygamma = _pw.polygamma
log1p = _pw.log1p
expm1 = _pw.expm1
exp2 = _pw.exp2
sinc = _pw.sinc
xlogy = _pw.xlogy
logsumexp = _red.logsumexp


def multigammaln(input, p):
    return input.mvlgamma(p)


def round(input, *, decimals=0):
    """Round half to even at decimals places: torch's round.decimals overload (RoundBackward1), whose
    kernels are for floating types only."""
    if input.dtype._category < 2:
        _pw._not_implemented("round_cpu" if decimals else "round_vml_cpu", input.dtype)
    return _pw.Round.named("RoundBackward1").apply(input, decimals)


def softmax(input, dim, *, dtype=None):
    return _red.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    return _red.log_softmax(input, dim, dtype=dtype)


# -- one node each, as torch's: the values from SciPy's (on cuda CuPy's) functions, the derivatives
# torch's formulas written with flambeau ops (so that they differentiate again) --------------------
def _unary(name, derivative, kernel=None, node=None):
    """torch.special.<name> on floating tensors (integers and bools promoted to the default dtype,
    complex refused as torch does), recorded as one node; derivative(x, result, grad)."""
    kernel = kernel or name + "_cpu"

    def forward(ctx, x):
        if x.dtype.is_complex:
            _pw._not_implemented(kernel, x.dtype)
        a = _pw._float_input(x)
        out = _make(_pw._special(_xp.array_module(a), name, a))
        ctx.save_for_backward(x, out)
        return out

    def backward(ctx, grad):
        x, result = ctx.saved_tensors
        return derivative(x, result, grad)

    cls = type(name.capitalize(), (Function,), {
        "_node_name": node or "Special" + name.title().replace("_", "") + "Backward0",
        "forward": staticmethod(forward), "backward": staticmethod(backward)})

    def fn(input, *, out=None):
        if not isinstance(input, Tensor):
            raise TypeError(f"special_{name}(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(input).__name__}")
        return _pw._out(cls.apply(input), out)
    fn.__name__ = name
    return fn


def _at_tiny(x, value, formula):
    """formula(x) where |x| > eps, value where x is within eps of 0 (torch's i1/i1e backward: the
    formula divides by x), computed at a safe x so that neither branch's gradient is NaN."""
    eps = _dtype.finfo(x.dtype).eps
    not_tiny = x.abs() > eps
    safe = _pw.where(not_tiny, x, x.new_full((), eps))
    return _pw.where(not_tiny, formula(safe), x.new_full((), value))


_SQRT_2PI = math.sqrt(2 * math.pi)
i0 = _unary("i0", lambda x, y, g: g * i1(x), kernel="i0_vml_cpu", node="I0Backward0")
i0e = _unary("i0e", lambda x, y, g: g * (i1e(x) - x.sgn() * y), node="SpecialI0EBackward0")
i1 = _unary("i1", lambda x, y, g: g * _at_tiny(x, 0.5, lambda s: i0(s) - y * s.reciprocal()))
i1e = _unary("i1e", lambda x, y, g: g * _at_tiny(x, 0.5, lambda s: i0e(s) - y * (s.sgn() + s.reciprocal())),
             node="SpecialI1EBackward0")
erfcx = _unary("erfcx", lambda x, y, g: (x * y * 2.0 - 2.0 / math.sqrt(math.pi)) * g)
ndtri = _unary("ndtri", lambda x, y, g: g * _SQRT_2PI * (y.square() / 2).exp())
log_ndtr = _unary("log_ndtr", lambda x, y, g: g / _SQRT_2PI * (y + x.pow(2) / 2).neg().exp())
entr = _unary("entr", lambda x, y, g: g * -(x.log() + 1))


def ndtr(input):
    """The standard normal CDF, composed as torch composes it: (1 + erf(x / sqrt(2))) * 0.5."""
    scaled = _red._scale(input, math.sqrt(0.5))
    erf1 = _pw.Add.named("AddBackward1").apply(_pw.erf(scaled), 1) if recording(scaled) else _pw.erf(scaled) + 1
    return _red._scale(erf1, 0.5)


class Xlog1py(Function):
    """out = x * log1p(y), 0 where x is 0 (unless y is NaN); either may be a Python number"""
    _node_name = "SpecialXlog1PyBackward0"

    @staticmethod
    def forward(ctx, x, y):
        tensors = [t if isinstance(t, Tensor) else None for t in (x, y)]
        ctx.save_for_backward(*tensors)
        ctx.numbers = [v if t is None else None for t, v in zip(tensors, (x, y))]
        return _xlog1py_arrays(x, y)

    @staticmethod
    def backward(ctx, grad):
        # torch: d/dx = xlog1py(grad, y), 0 where x == 0 and y <= -1; d/dy = grad * x / (y + 1)
        x, y = (t if t is not None else v for t, v in zip(ctx.saved_tensors, ctx.numbers))
        gx = xlog1py(grad, y).masked_fill((x == 0) & (y <= -1), 0.0) if ctx.needs_input_grad[0] else None
        gy = grad * x / (y + 1) if ctx.needs_input_grad[1] else None
        return gx, gy


def _xlog1py_arrays(x, y):
    check_same_device("xlog1py", x, y)
    if not isinstance(x, Tensor):
        x = _pw._reflected(x, y)
    dt = result_dtype(x, y)
    if dt.is_complex:
        _pw._not_implemented("xlog1py_cpu", dt)
    if dt._category < 2:
        dt = _dtype.get_default_dtype()
    like = _pw._device_array(x, y)
    xd, yd = operand(x, dt, like), operand(y, dt, like)
    xp = _xp.array_module(like)
    # y == y is False only for NaN, which propagates
    return xp.where((xd == 0) & (yd == yd), dt.np.type(0), xd * xp.log1p(yd))


def xlog1py(input, other, *, out=None):
    """input * log1p(other), 0 where input is 0 (unless other is NaN)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("special_xlog1py() received an invalid combination of arguments: one of input and "
                        "other must be a Tensor")
    fn = Xlog1py if isinstance(input, Tensor) and isinstance(other, Tensor) else \
        Xlog1py.named("SpecialXlog1PyBackward1" if isinstance(other, Tensor) else "SpecialXlog1PyBackward2")
    return _pw._out(fn.apply(input, other), out)


# -- regularized incomplete gamma functions ------------------------------------------------------
class _IncompleteGamma(Function):
    """P(a, x) = gammainc (lower) or Q(a, x) = gammaincc (upper); like torch, differentiable in x only:
    dP/dx = x^(a-1) e^(-x) / Gamma(a) = -dQ/dx."""
    _node_name = "IgammaBackward0"
    upper = False

    @staticmethod
    def forward(ctx, a, x, dt, upper):
        ctx.save_for_backward(a, x)
        ctx.upper = upper
        like = _pw._device_array(a, x)
        xp = _xp.array_module(like)
        fn = _pw._special_module(xp).gammaincc if upper else _pw._special_module(xp).gammainc
        return fn(operand(a, dt, like), operand(x, dt, like)).astype(dt.np, copy=False)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError(f"the derivative for '{'igammac' if ctx.upper else 'igamma'}: input' is not "
                                      "implemented.")
        density = ((a - 1) * x.log() - x - a.lgamma()).exp()
        return None, (-grad if ctx.upper else grad) * density, None, None


class _IncompleteGammaUpper(_IncompleteGamma):
    _node_name = "IgammacBackward0"
    upper = True


def _incomplete_gamma(fn_cls, input, other, out):
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError(f"{'igammac' if fn_cls.upper else 'igamma'}(): argument 'input' and 'other' must be Tensors")
    check_same_device("igammac" if fn_cls.upper else "igamma", input, other)
    dt = result_dtype(input, other)
    if not dt.is_floating_point:
        name = "igammac" if fn_cls.upper else "igamma"
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{dt._legacy.replace('Tensor', '')}'")
    return _pw._out(fn_cls.apply(input, other, dt, fn_cls.upper), out)


def gammainc(input, other, *, out=None):
    """The regularized lower incomplete gamma function P(input, other)."""
    return _incomplete_gamma(_IncompleteGamma, input, other, out)


def gammaincc(input, other, *, out=None):
    """The regularized upper incomplete gamma function Q(input, other) = 1 - P(input, other)."""
    return _incomplete_gamma(_IncompleteGammaUpper, input, other, out)


__all__ += ["gammainc", "gammaincc"]
Tensor.igamma = gammainc
Tensor.igammac = gammaincc
Tensor.igamma_ = lambda self, other: self.copy_(gammainc(self, other))
Tensor.igammac_ = lambda self, other: self.copy_(gammaincc(self, other))
