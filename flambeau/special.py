"""``flambeau.special``: special functions (torch.special), differentiable where their parts are."""
import math

import numpy as np

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
def _unary(name, derivative, kernel=None, node=None, values=None):
    """torch.special.<name> on floating tensors (integers and bools promoted to the default dtype,
    complex refused as torch does), recorded as one node; derivative(x, result, grad). values(xp, a)
    computes it (by default SciPy's, on cuda CuPy's, function of that name)."""
    kernel = kernel or name + "_cpu"
    values = values or (lambda xp, a: _pw._special(xp, name, a))

    def forward(ctx, x):
        if x.dtype.is_complex:
            _pw._not_implemented(kernel, x.dtype)
        a = _pw._float_input(x)
        out = _make(values(_xp.array_module(a), a))
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


# -- modified Bessel functions I and K ---------------------------------------------------------------
# CuPy computes i0e and i1e as exp(-|x|) I(x), and k0e and k1e as exp(x) K(x): inf * 0 = NaN once I(x)
# overflows or K(x) underflows (beyond |x| ~ 88 in float32, whose subnormals CuPy flushes to zero, and
# at +-inf in any precision). torch (as SciPy) sums Cephes' Chebyshev series in 32/|x| - 2 beyond |x| = 8
# and in 8/x - 2 beyond x = 2 instead; flambeau does so on every backend, in x's precision as torch does.
_I0E_B = (-7.23318048787475395456E-18, -4.83050448594418207126E-18, 4.46562142029675999901E-17,
          3.46122286769746109310E-17, -2.82762398051658348494E-16, -3.42548561967721913462E-16,
          1.77256013305652638360E-15, 3.81168066935262242075E-15, -9.55484669882830764870E-15,
          -4.15056934728722208663E-14, 1.54008621752140982691E-14, 3.85277838274214270114E-13,
          7.18012445138366623367E-13, -1.79417853150680611778E-12, -1.32158118404477131188E-11,
          -3.14991652796324136454E-11, 1.18891471078464383424E-11, 4.94060238822496958910E-10,
          3.39623202570838634515E-9, 2.26666899049817806459E-8, 2.04891858946906374183E-7,
          2.89137052083475648297E-6, 6.88975834691682398426E-5, 3.36911647825569408990E-3,
          8.04490411014108831608E-1)
_I1E_B = (7.51729631084210481353E-18, 4.41434832307170791151E-18, -4.65030536848935832153E-17,
          -3.20952592199342395980E-17, 2.96262899764595013876E-16, 3.30820231092092828324E-16,
          -1.88035477551078244854E-15, -3.81440307243700780478E-15, 1.04202769841288027642E-14,
          4.27244001671195135429E-14, -2.10154184277266431302E-14, -4.08355111109219731823E-13,
          -7.19855177624590851209E-13, 2.03562854414708950722E-12, 1.41258074366137813316E-11,
          3.25260358301548823856E-11, -1.89749581235054123450E-11, -5.58974346219658380687E-10,
          -3.83538038596423702205E-9, -2.63146884688951950684E-8, -2.51223623787020892529E-7,
          -3.88256480887769039346E-6, -1.10588938762623716291E-4, -9.76109749136146840777E-3,
          7.78576235018280120474E-1)
_K0E_B = (5.30043377268626276149E-18, -1.64758043015242134646E-17, 5.21039150503902756861E-17,
          -1.67823109680541210385E-16, 5.51205597852431940784E-16, -1.84859337734377901440E-15,
          6.34007647740507060557E-15, -2.22751332699166985548E-14, 8.03289077536357521100E-14,
          -2.98009692317273043925E-13, 1.14034058820847496303E-12, -4.51459788337394416547E-12,
          1.85594911495471785253E-11, -7.95748924447710747776E-11, 3.57739728140030116597E-10,
          -1.69753450938905987466E-9, 8.57403401741422608519E-9, -4.66048989768794782956E-8,
          2.76681363944501510342E-7, -1.83175552271911948767E-6, 1.39498137188764993662E-5,
          -1.28495495816278026384E-4, 1.56988388573005337491E-3, -3.14481013119645005427E-2,
          2.44030308206595545468E0)
_K1E_B = (-5.75674448366501715755E-18, 1.79405087314755922667E-17, -5.68946255844285935196E-17,
          1.83809354436663880070E-16, -6.05704724837331885336E-16, 2.03870316562433424052E-15,
          -7.01983709041831346144E-15, 2.47715442448130437068E-14, -8.97670518232499435011E-14,
          3.34841966607842919884E-13, -1.28917396095102890680E-12, 5.13963967348173025100E-12,
          -2.12996783842756842877E-11, 9.21831518760500529508E-11, -4.19035475934189648750E-10,
          2.01504975519703286596E-9, -1.03457624656780970260E-8, 5.74108412545004946722E-8,
          -3.50196060308781257119E-7, 2.40648494783721712015E-6, -1.93619797416608296024E-5,
          1.95215518471351631108E-4, -2.85781685962277938680E-3, 1.03923736576817238437E-1,
          2.72062619048444266945E0)


def _chbevl(xp, y, coefficients):
    """Cephes' chbevl: the Chebyshev series with these coefficients at y / 2 (Clenshaw's recurrence), in
    y's dtype."""
    T = y.dtype.type
    b0, b1 = xp.full_like(y, T(coefficients[0])), xp.zeros_like(y)
    b2 = b1
    for c in coefficients[1:]:
        b2, b1 = b1, b0
        b0 = y * b1 - b2 + T(c)
    return T(0.5) * (b0 - b2)


def _in_float(compute):
    """compute(xp, a) with half precision computed in float, as torch's kernels do."""
    def run(xp, a):
        work = a.astype(np.float32) if a.dtype == np.float16 else a
        with np.errstate(all="ignore"):
            return compute(xp, work).astype(a.dtype, copy=False)
    return run


def _scaled_i(name, table):
    """exp(-|x|) I_n(x): the library's below |x| = 8, the series beyond (0 at +-inf, the sign of x for I1)."""
    def compute(xp, x):
        T = x.dtype.type
        mag = xp.abs(x)
        far = mag > T(8)                                   # False for NaN
        z = xp.where(far, mag, T(8))
        series = _chbevl(xp, T(32) / z - T(2), table) / xp.sqrt(z)
        if name == "i1e":
            series = xp.where(x < 0, -series, series)
        out = xp.where(far, series, _pw._special(xp, name, x))
        # +0 at -0.0 as torch (CUDA's I1 keeps the sign of zero)
        return xp.where(x == 0, T(0), out) if name == "i1e" else out
    return _in_float(compute)


def _i1(xp, x):
    """I1(x); NaN at +-inf (torch's series) where CuPy's (CUDA's cyl_bessel_i1) is +-inf, +0 at -0.0."""
    T = x.dtype.type
    out = _pw._special(xp, "i1", x)
    return xp.where(xp.isinf(x), T(np.nan), xp.where(x == 0, T(0), out))


def _scaled_k(name, table):
    """exp(x) K_n(x): the library's up to x = 2, the series beyond (0 at +inf)."""
    def compute(xp, x):
        T = x.dtype.type
        far = x > T(2)                                     # False for NaN
        z = xp.where(far, x, T(4))
        series = _chbevl(xp, T(8) / z - T(2), table) / xp.sqrt(z)
        return xp.where(far, series, _pw._special(xp, name, x))
    return _in_float(compute)


_SQRT_2PI = math.sqrt(2 * math.pi)
i0 = _unary("i0", lambda x, y, g: g * i1(x), kernel="i0_vml_cpu", node="I0Backward0", values=_pw._i0)
i0e = _unary("i0e", lambda x, y, g: g * (i1e(x) - x.sgn() * y), node="SpecialI0EBackward0",
             values=_scaled_i("i0e", _I0E_B))
i1 = _unary("i1", lambda x, y, g: g * _at_tiny(x, 0.5, lambda s: i0(s) - y * s.reciprocal()),
            values=_in_float(_i1))
i1e = _unary("i1e", lambda x, y, g: g * _at_tiny(x, 0.5, lambda s: i0e(s) - y * (s.sgn() + s.reciprocal())),
             node="SpecialI1EBackward0", values=_scaled_i("i1e", _I1E_B))
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


# -- Bessel, Airy and related functions ------------------------------------------------------------
# torch computes these without a derivative formula and records no node: their results never
# require grad. Values come from SciPy (CuPy's cupyx.scipy.special on cuda), with torch's values at
# +-inf and the scaled I and K functions as above; the Airy function and the spherical Bessel
# function, which CuPy lacks, follow torch's own formulas in array code.
def _no_grad_unary(name, compute):
    kernel = name + "_cpu"

    def fn(input, *, out=None):
        if not isinstance(input, Tensor):
            raise TypeError(f"special_{name}(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(input).__name__}")
        if input.dtype.is_complex or input.dtype is _dtype.float16:
            _pw._not_implemented(kernel, input.dtype)
        a = _pw._float_input(input)
        with np.errstate(all="ignore"):
            result = compute(_xp.array_module(a), a)
        return _pw._out(_make(result.astype(a.dtype, copy=False)), out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.special.{name}: values only (torch defines no derivative, the result requires no grad)."
    return fn


def _scipy(name):
    return lambda xp, a: getattr(_pw._special_module(xp), name)(a)


def _nan_at_inf(name):
    """J0, J1, Y0, Y1: NaN at +-inf as torch's (Cephes') are; CUDA's (CuPy's) give 0 there."""
    return lambda xp, a: xp.where(xp.isinf(a), a.dtype.type(np.nan), _scipy(name)(xp, a))


def _horner(coefficients, z, dt):
    """sum_i c_i z^(len - 1 - i) in dt, the coefficients rounded to dt as torch's static tables are."""
    acc = z * dt.type(0)
    for c in coefficients:
        acc = acc * z + dt.type(c)
    return acc


_AIRY_AN = (3.46538101525629032477e-01, 1.20075952739645805542e+01, 7.62796053615234516538e+01,
            1.68089224934630576269e+02, 1.59756391350164413639e+02, 7.05360906840444183113e+01,
            1.40264691163389668864e+01, 9.99999999999999995305e-01)
_AIRY_AD = (5.67594532638770212846e-01, 1.47562562584847203173e+01, 8.45138970141474626562e+01,
            1.77318088145400459522e+02, 1.64234692871529701831e+02, 7.14778400825575695274e+01,
            1.40959135607834029598e+01, 1.00000000000000000470e+00)
_AIRY_AFN = (-1.31696323418331795333e-01, -6.26456544431912369773e-01, -6.93158036036933542233e-01,
             -2.79779981545119124951e-01, -4.91900132609500318020e-02, -4.06265923594885404393e-03,
             -1.59276496239262096340e-04, -2.77649108155232920844e-06, -1.67787698489114633780e-08)
_AIRY_AFD = (1.33560420706553243746e+01, 3.26825032795224613948e+01, 2.67367040941499554804e+01,
             9.18707402907259625840e+00, 1.47529146771666414581e+00, 1.15687173795188044134e-01,
             4.40291641615211203805e-03, 7.54720348287414296618e-05, 4.51850092970580378464e-07)
_AIRY_AGN = (1.97339932091685679179e-02, 3.91103029615688277255e-01, 1.06579897599595591108e+00,
             9.39169229816650230044e-01, 3.51465656105547619242e-01, 6.33888919628925490927e-02,
             5.85804113048388458567e-03, 2.82851600836737019778e-04, 6.98793669997260967291e-06,
             8.11789239554389293311e-08, 3.41551784765923618484e-10)
_AIRY_AGD = (9.30892908077441974853e+00, 1.98352928718312140417e+01, 1.55646628932864612953e+01,
             5.47686069422975497931e+00, 9.54293611618961883998e-01, 8.64580826352392193095e-02,
             4.12656523824222607191e-03, 1.01259085116509135510e-04, 1.17166733214413521882e-06,
             4.91834570062930015649e-09)
_AIRY_SERIES_STEPS = 40          # the power series converges in at most 14 steps on [-2.09, 2.09]


def _airy_ai(xp, x):
    """Ai(x) by torch's (Cephes') piecewise formulas, in x's precision: an oscillating asymptotic
    expansion below -2.09, a decaying one from 2.09, the power series in between; 0 past 103.892,
    NaN at +-inf (torch's choice)."""
    dt = x.dtype
    T = dt.type
    inv_sqrt_pi = T(5.64189583547756286948e-01)
    # below -2.09: each branch runs on a safe stand-in where it does not apply
    xn = xp.where(x < T(-2.09), x, T(-3.0))
    zeta_n = T(-2.0) * xn * xp.sqrt(-xn) / T(3.0)
    z = T(1.0) / zeta_n
    zz = z * z
    afn, afd = _horner(_AIRY_AFN, zz, dt), _horner(_AIRY_AFD, zz, dt)
    agn, agd = _horner(_AIRY_AGN, zz, dt), _horner(_AIRY_AGD, zz, dt)
    t = zeta_n + T(0.25) * T(math.pi)
    oscillating = inv_sqrt_pi / xp.sqrt(xp.sqrt(-xn)) * (xp.sin(t) * (T(1.0) + zz * afn / afd)
                                                        - xp.cos(t) * (z * agn / agd))
    # from 2.09 on
    xpos = xp.where(x >= T(2.09), x, T(3.0))
    zeta_p = T(2.0) * xpos * xp.sqrt(xpos) / T(3.0)
    an, ad = _horner(_AIRY_AN, T(1.0) / zeta_p, dt), _horner(_AIRY_AD, T(1.0) / zeta_p, dt)
    decaying = inv_sqrt_pi * (an / ad) / (T(2.0) * xp.sqrt(xp.sqrt(xpos)) * xp.exp(zeta_p))
    # the power series, each element stopping where torch's loop stops (its last term below eps)
    xs = xp.where((x >= T(-2.09)) & (x < T(2.09)), x, T(0.0))
    f, g, k, m, n = xp.ones_like(xs), xs, xp.ones_like(xs), xp.ones_like(xs), xs
    cube = xs * xs * xs
    eps = T(np.finfo(dt).eps)
    running = xp.ones(xs.shape, dtype=bool)
    for _ in range(_AIRY_SERIES_STEPS):
        m1 = m * cube / (k + T(1.0))
        n1 = n * cube / (k + T(2.0))
        m1 = m1 / (k + T(2.0))
        f1 = f + m1
        n1 = n1 / (k + T(3.0))
        g1 = g + n1
        m, n = xp.where(running, m1, m), xp.where(running, n1, n)
        f, g = xp.where(running, f1, f), xp.where(running, g1, g)
        k = xp.where(running, k + T(3.0), k)
        running = running & (xp.abs(m / f) > eps)
    series = T(0.355028053887817239260) * f - T(0.258819403792806798405) * g
    out = xp.where(x < T(-2.09), oscillating, xp.where(x >= T(2.09), decaying, series))
    out = xp.where(x > T(103.892), T(0.0), out)
    return xp.where(xp.isinf(x) | xp.isnan(x), T(np.nan), out)


def _spherical_j0(xp, x):
    """sin(x) / x as torch computes it: a Taylor polynomial below 0.5, 0 at +-inf."""
    T = x.dtype.type
    x2 = x * x
    taylor = T(1.0) + x2 * (T(-1.0 / 6.0) + x2 * (T(1.0 / 120.0) + x2 * (T(-1.0 / 5040.0) + x2 * (
        T(1.0 / 362880.0) + x2 * (T(-1.0 / 39916800.0) + x2 * T(1.0 / 6227020800.0))))))
    out = xp.where(xp.abs(x) < T(0.5), taylor, xp.sin(x) / x)
    return xp.where(xp.isinf(x), T(0.0), out)


airy_ai = _no_grad_unary("airy_ai", _airy_ai)
bessel_j0 = _no_grad_unary("bessel_j0", _nan_at_inf("j0"))
bessel_j1 = _no_grad_unary("bessel_j1", _nan_at_inf("j1"))
bessel_y0 = _no_grad_unary("bessel_y0", _nan_at_inf("y0"))
bessel_y1 = _no_grad_unary("bessel_y1", _nan_at_inf("y1"))
modified_bessel_i0 = _no_grad_unary("modified_bessel_i0", _pw._i0)
modified_bessel_i1 = _no_grad_unary("modified_bessel_i1", _i1)
modified_bessel_k0 = _no_grad_unary("modified_bessel_k0", _scipy("k0"))
modified_bessel_k1 = _no_grad_unary("modified_bessel_k1", _scipy("k1"))
scaled_modified_bessel_k0 = _no_grad_unary("scaled_modified_bessel_k0", _scaled_k("k0e", _K0E_B))
scaled_modified_bessel_k1 = _no_grad_unary("scaled_modified_bessel_k1", _scaled_k("k1e", _K1E_B))
spherical_bessel_j0 = _no_grad_unary("spherical_bessel_j0", _spherical_j0)

__all__ += ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
            "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
            "scaled_modified_bessel_k1", "spherical_bessel_j0"]


# -- binary float ops: (Tensor, Tensor), (Number, Tensor) or (Tensor, Number) --------------------
def _float_dtype(op, kernel, x, y, names=("input", "other")):
    """The dtype torch computes x op y in: the promoted one, integers and bools in the default dtype;
    complex and half refused as torch does (its kernels are for float and double)."""
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        a, b = names
        raise TypeError(f"{op}() received an invalid combination of arguments - got ({type(x).__name__}, "
                        f"{type(y).__name__}), but expected one of:\n * (Tensor {a}, Tensor {b}, *, Tensor out = "
                        f"None)\n * (Number {a}, Tensor {b}, *, Tensor out = None)\n * (Tensor {a}, Number {b}, *, "
                        f"Tensor out = None)\n")
    dt = result_dtype(x, y) if isinstance(x, Tensor) else result_dtype(y, x)
    if dt.is_complex or dt is _dtype.float16:
        _pw._not_implemented(kernel, dt)
    return _dtype.get_default_dtype() if dt._category < 2 else dt


def _float_arrays(x, y, dt):
    """x and y (tensors or numbers) as arrays of dtype dt broadcast to one shape, on the op's device (a
    0-dim CPU tensor joins a cuda one, as in torch; other device mixes raise)."""
    like = _pw._device_array(x, y)
    xp = _xp.array_module(like)
    xd, yd = (_xp.from_host(xp, operand(v, dt, like)) for v in (x, y))      # -0.0 keeps its sign on cuda
    shape = np.broadcast_shapes(xd.shape, yd.shape)
    return xp.broadcast_to(xd, shape), xp.broadcast_to(yd, shape)


class _Zeta(Function):
    """The Hurwitz zeta function zeta(x, q) = sum_k (k + q)^-x; torch differentiates it in q only:
    d/dq = -x zeta(x + 1, q)."""
    _node_name = "SpecialZetaBackward0"

    @staticmethod
    def forward(ctx, x, q, dt):
        ctx.save_for_backward(*(t if isinstance(t, Tensor) else None for t in (x, q)))
        ctx.numbers = [v if not isinstance(v, Tensor) else None for v in (x, q)]
        xd, qd = _float_arrays(x, q, dt)
        xp = _xp.array_module(xd)
        with np.errstate(all="ignore"):
            out = _pw._special_module(xp).zeta(xd, qd)
        # torch's series gives NaN at q = +inf (x > 1), where SciPy takes the limit 0
        out = xp.where((qd == np.inf) & (xd > 1), dt.np.type(np.nan), out)
        return out.astype(dt.np, copy=False)

    @staticmethod
    def backward(ctx, grad):
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        x, q = (t if t is not None else v for t, v in zip(ctx.saved_tensors, ctx.numbers))
        return None, grad * -x * zeta(x + 1.0, q), None


def zeta(input, other, *, out=None):
    """The Hurwitz zeta function sum_{k >= 0} (k + other)^-input (the Riemann zeta at other = 1)."""
    dt = _float_dtype("special_zeta", "zeta_cpu", input, other)
    fn = _Zeta if isinstance(input, Tensor) and isinstance(other, Tensor) else \
        _Zeta.named("SpecialZetaBackward1" if isinstance(other, Tensor) else "SpecialZetaBackward2")
    return _pw._out(fn.apply(input, other, dt), out)


__all__ += ["zeta"]


# -- orthogonal polynomials -----------------------------------------------------------------------
# Note [Polynomial degrees]: torch evaluates each element with its own loop of n steps of a
# three-term recurrence, except where it has a closed form. Array code runs the recurrence once for
# all elements, as many steps as the largest degree that needs it, each element keeping its value
# once its own steps are done. The step count must be known on the host: it is when n is a number
# or a CPU tensor, and up to _SYNC_FREE_STEPS steps are taken without looking at the values; for a
# cuda tensor n whose values are unknown, flambeau reads the largest degree once (a synchronisation
# torch's per-element kernels do not need). Like torch, degrees are truncated toward zero, and
# negative degrees give 0.
_SYNC_FREE_STEPS = 64


def _degrees(xp, n):
    """n (an array of the op's float dtype) as torch's static_cast<int64_t>: truncated toward zero.
    NaN, infinities and values out of int64's range (undefined in C++, INT64_MIN on x86) become -1,
    which every polynomial maps to 0 as torch's do."""
    valid = xp.abs(n) < 2.0 ** 63                  # False for NaN and infinities
    return xp.where(valid, xp.where(valid, n, 0).astype(np.int64), -1)


def _host_degree(n, dt):
    """The largest degree as a Python int when n's values are on the host already, else None."""
    if isinstance(n, Tensor):
        if type(n._data) is not np.ndarray:
            return None
        values = n._data.astype(dt.np)
    else:
        values = np.asarray(operand(n, dt))
    with np.errstate(invalid="ignore"):
        return int(_degrees(np, values).max()) if values.size else 0


def _steps(xp, degrees, host_degree):
    """How many steps the recurrence runs: the largest of degrees (see Note [Polynomial degrees])."""
    if degrees.size == 0:
        return 0
    if xp is np:
        return int(degrees.max())
    if host_degree is not None and host_degree <= _SYNC_FREE_STEPS:
        return max(host_degree, 0)
    return int(_xp.to_host(degrees.max()))


def _recurrence(xp, start, k, loop, step, host_degree):
    """torch's loop where `loop` holds: p, q = 1, start; then p, q = q, step(j, p, q) for j = 1 .. k - 1."""
    p, q = xp.ones_like(start), start
    for j in range(1, _steps(xp, xp.where(loop, k, 0), host_degree)):
        more = loop & (k > j)
        r = step(j, p, q)
        p, q = xp.where(more, q, p), xp.where(more, r, q)
        if j % _SYNC_FREE_STEPS == 0 and not bool((more & ~xp.isnan(q)).any()):
            break               # NaN stays NaN: torch's loops stop there too
    return q


def _select(xp, cases, default):
    """The value of the first (condition, value) pair that holds, else default (elementwise)."""
    out = default
    for condition, value in reversed(cases):
        out = xp.where(condition, value, out)
    return out


def _signed(xp, k, value, dtype):
    """value where k is even, -value where k is odd, as dtype (torch's int64 results cast to T)."""
    return xp.where(k % 2 == 0, value, -value).astype(dtype)


def _wide(a):
    """a in float64 for the closed forms' cos, sin and arccos: in float32 their few-ulp errors are multiplied
    by the degree (libraries differ there by CPU); rounded back once, the values are as accurate as the
    dtype allows."""
    return a if a.dtype.itemsize >= 8 else a.astype(np.float64)


def _chebyshev_t_of(xp, x, k, hd, y=None, closed_after=6):
    """T_k(x); the shifted T*_k(x) = T_k(2x - 1) with y = 2x - 1 (torch's special cases at its ends)."""
    T, u = x.dtype.type, x if y is None else y
    closed = (k > closed_after) & (xp.abs(u) < 1)
    ends = [(xp.abs(x) == 1, xp.where((x > 0) | (k % 2 == 0), T(1), T(-1)))] if y is None else \
        [(x == 1, T(1)), (x == 0, _signed(xp, k, 1, x.dtype))]
    loop = (k >= 2) & ~closed & ~_any(xp, [c for c, _ in ends])
    rec = _recurrence(xp, u, k, loop, lambda j, p, q: (u + u) * q - p, hd)
    wide = _wide(u)
    form = xp.cos(k.astype(wide.dtype) * xp.arccos(wide)).astype(x.dtype)
    return _select(xp, [(k < 0, T(0))] + ends + [(closed, form), (k == 0, T(1)), (k == 1, u)], rec)


def _chebyshev_u_of(xp, x, k, hd, y=None, closed_after=8):
    T, u = x.dtype.type, x if y is None else y
    k1 = (k + 1).astype(x.dtype)
    closed = (k > closed_after) & (xp.abs(u) < 1)
    theta, w1 = xp.arccos(_wide(u)), _wide(k1)
    ends = [(xp.abs(x) == 1, xp.where((x > 0) | (k % 2 == 0), k1, -k1))] if y is None else \
        [(x == 1, k1), (x == 0, _signed(xp, k, k + 1, x.dtype))]
    form = xp.where(xp.sin(theta) != 0, xp.sin(w1 * theta) / xp.sin(theta),
                    w1 * xp.cos(w1 * theta) / _wide(u)).astype(x.dtype)
    loop = (k >= 2) & ~closed & ~_any(xp, [c for c, _ in ends])
    rec = _recurrence(xp, u + u, k, loop, lambda j, p, q: (u + u) * q - p, hd)
    return _select(xp, [(k < 0, T(0))] + ends + [(closed, form), (k == 0, T(1)), (k == 1, u + u)], rec)


def _chebyshev_v_of(xp, x, k, hd, y=None, closed_after=8):
    T, u = x.dtype.type, x if y is None else y
    odd_ends = _signed(xp, k, k + k + 1, x.dtype)
    closed = (k > closed_after) & (xp.abs(u) < 1)
    theta = xp.arccos(_wide(u))
    ends = [(xp.abs(x) == 1, xp.where(x > 0, T(1), odd_ends))] if y is None else \
        [(x == 1, T(1)), (x == 0, odd_ends)]
    form = xp.where(xp.sin(theta / 2) != 1,
                    xp.cos((k.astype(theta.dtype) + 0.5) * theta) / xp.cos(theta / 2), odd_ends).astype(x.dtype)
    loop = (k >= 2) & ~closed & ~_any(xp, [c for c, _ in ends])
    rec = _recurrence(xp, u + u - T(1), k, loop, lambda j, p, q: (u + u) * q - p, hd)
    return _select(xp, [(k < 0, T(0))] + ends + [(closed, form), (k == 0, T(1)), (k == 1, u + u - T(1))], rec)


def _chebyshev_w_of(xp, x, k, hd, y=None, closed_after=8):
    T, u = x.dtype.type, x if y is None else y
    top = (k + k + 1).astype(x.dtype)
    closed = (k > closed_after) & (xp.abs(u) < 1)
    theta = xp.arccos(_wide(u))
    ends = [(xp.abs(x) == 1, xp.where(x > 0, top, _signed(xp, k, 1, x.dtype)))] if y is None else \
        [(x == 1, top), (x == 0, _signed(xp, k, 1, x.dtype))]
    at_one = xp.where(x > 0, top, _signed(xp, k, 1, x.dtype)) if y is None else _signed(xp, k, 1, x.dtype)
    form = xp.where(xp.cos(theta / 2) != 1,
                    xp.sin((k.astype(theta.dtype) + 0.5) * theta) / xp.sin(theta / 2), at_one).astype(x.dtype)
    loop = (k >= 2) & ~closed & ~_any(xp, [c for c, _ in ends])
    rec = _recurrence(xp, u + u + T(1), k, loop, lambda j, p, q: (u + u) * q - p, hd)
    return _select(xp, [(k < 0, T(0))] + ends + [(closed, form), (k == 0, T(1)), (k == 1, u + u + T(1))], rec)


def _any(xp, conditions):
    out = conditions[0]
    for c in conditions[1:]:
        out = out | c
    return out


def _shifted(evaluate, closed_after):
    """The shifted polynomial P*_k(x) = P_k(2x - 1), with torch's special cases at x = 0 and 1."""
    return lambda xp, x, k, hd: evaluate(xp, x, k, hd, y=x + x - x.dtype.type(1), closed_after=closed_after)


def _hermite_limit(x):
    """torch gives NaN above this degree (its loop would only overflow)."""
    return 128 if x.dtype == np.float32 else 512


def _hermite_h(xp, x, k, hd):
    T, limit = x.dtype.type, _hermite_limit(x)
    loop = (k >= 2) & (k <= limit)
    rec = _recurrence(xp, x + x, k, loop, lambda j, p, q: (x + x) * q - T(2 * j) * p, hd)
    return _select(xp, [(k < 0, T(0)), (k == 0, T(1)), (k == 1, x + x), (k > limit, T(np.nan))], rec)


def _hermite_he(xp, x, k, hd):
    T, limit = x.dtype.type, _hermite_limit(x)
    loop = (k >= 2) & (k <= limit)
    rec = _recurrence(xp, x, k, loop, lambda j, p, q: x * q - T(j) * p, hd)
    return _select(xp, [(k < 0, T(0)), (k == 0, T(1)), (k == 1, x), (k > limit, T(np.nan))], rec)


def _laguerre_l(xp, x, k, hd):
    T = x.dtype.type
    loop = (k >= 2) & (x != 0)
    rec = _recurrence(xp, T(1) - x, k, loop, lambda j, p, q: ((T(2 * j) + (T(1) - x)) * q - T(j) * p) / T(j + 1),
                      hd)
    return _select(xp, [(k < 0, T(0)), (x == 0, T(1)), (k == 0, T(1)), (k == 1, T(1) - x)], rec)


def _legendre_p(xp, x, k, hd):
    T = x.dtype.type
    ends = xp.abs(x) == 1
    loop = (k >= 2) & ~ends
    rec = _recurrence(xp, x, k, loop, lambda j, p, q: (T(2 * j + 1) * x * q - T(j) * p) / T(j + 1), hd)
    return _select(xp, [(k < 0, T(0)), (ends, xp.where((x > 0) | (k % 2 == 0), T(1), T(-1))), (k == 0, T(1)),
                        (k == 1, x)], rec)


def _polynomial(name, evaluate, what):
    kernel = name + "_cpu"

    def fn(input, n, *, out=None):
        dt = _float_dtype("special_" + name, kernel, input, n, names=("x", "n"))
        x, degree = _float_arrays(input, n, dt)
        xp = _xp.array_module(x)
        with np.errstate(all="ignore"):
            result = evaluate(xp, x, _degrees(xp, degree), _host_degree(n, dt))
        return _pw._out(_make(result.astype(dt.np, copy=False)), out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{what} of degree n at input (n truncated toward zero; 0 for n < 0), by torch's recurrence "
                  f"and closed forms. Values only: torch defines no derivative. See Note [Polynomial degrees].")
    return fn


chebyshev_polynomial_t = _polynomial("chebyshev_polynomial_t", _chebyshev_t_of, "The Chebyshev polynomial T_n")
chebyshev_polynomial_u = _polynomial("chebyshev_polynomial_u", _chebyshev_u_of, "The Chebyshev polynomial U_n")
chebyshev_polynomial_v = _polynomial("chebyshev_polynomial_v", _chebyshev_v_of, "The Chebyshev polynomial V_n")
chebyshev_polynomial_w = _polynomial("chebyshev_polynomial_w", _chebyshev_w_of, "The Chebyshev polynomial W_n")
shifted_chebyshev_polynomial_t = _polynomial("shifted_chebyshev_polynomial_t", _shifted(_chebyshev_t_of, 6),
                                             "The shifted Chebyshev polynomial T*_n(x) = T_n(2x - 1)")
shifted_chebyshev_polynomial_u = _polynomial("shifted_chebyshev_polynomial_u", _shifted(_chebyshev_u_of, 6),
                                             "The shifted Chebyshev polynomial U*_n(x) = U_n(2x - 1)")
shifted_chebyshev_polynomial_v = _polynomial("shifted_chebyshev_polynomial_v", _shifted(_chebyshev_v_of, 6),
                                             "The shifted Chebyshev polynomial V*_n(x) = V_n(2x - 1)")
shifted_chebyshev_polynomial_w = _polynomial("shifted_chebyshev_polynomial_w", _shifted(_chebyshev_w_of, 4),
                                             "The shifted Chebyshev polynomial W*_n(x) = W_n(2x - 1)")
hermite_polynomial_h = _polynomial("hermite_polynomial_h", _hermite_h, "The physicists' Hermite polynomial H_n")
hermite_polynomial_he = _polynomial("hermite_polynomial_he", _hermite_he,
                                    "The probabilists' Hermite polynomial He_n")
laguerre_polynomial_l = _polynomial("laguerre_polynomial_l", _laguerre_l, "The Laguerre polynomial L_n")
legendre_polynomial_p = _polynomial("legendre_polynomial_p", _legendre_p, "The Legendre polynomial P_n")

__all__ += ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
            "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
            "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
            "laguerre_polynomial_l", "legendre_polynomial_p"]
