"""``flambeau.special``: special functions (torch.special), differentiable where their parts are."""
import math

from ._ops import pointwise as _pw
from ._ops import reduction as _red

__all__ = ["expit", "logit", "erf", "erfc", "erfinv", "gammaln", "digamma", "psi", "polygamma", "multigammaln",
           "i0", "ndtr", "ndtri", "log_ndtr", "log1p", "expm1", "exp2", "sinc", "round", "softmax", "log_softmax",
           "xlogy", "xlog1py", "entr", "logsumexp"]

expit = _pw.sigmoid
logit = _pw.logit
erf = _pw.erf
erfc = _pw.erfc
erfinv = _pw.erfinv
gammaln = _pw.lgamma
digamma = psi = _pw.digamma
polygamma = _pw.polygamma
i0 = _pw.i0
log1p = _pw.log1p
expm1 = _pw.expm1
exp2 = _pw.exp2
sinc = _pw.sinc
xlogy = _pw.xlogy
logsumexp = _red.logsumexp


def multigammaln(input, p):
    return input.mvlgamma(p)


def round(input, *, decimals=0):
    return _pw.round(input, decimals=decimals)


def softmax(input, dim, *, dtype=None):
    return _red.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    return _red.log_softmax(input, dim, dtype=dtype)


def ndtr(input):
    """The standard normal CDF: (1 + erf(x / sqrt(2))) / 2."""
    return (_pw.erf(input * (1 / math.sqrt(2))) + 1) * 0.5


def ndtri(input):
    """The inverse of ndtr: sqrt(2) erfinv(2p - 1)."""
    return _pw.erfinv(input * 2 - 1) * math.sqrt(2)


def log_ndtr(input):
    """log(ndtr(x)), through erfc for negative x where ndtr underflows."""
    return _pw.where(input > -1, ndtr(input).log(),
                     (_pw.erfc(-input * (1 / math.sqrt(2))) * 0.5).log())


def xlog1py(input, other):
    """x * log1p(y), 0 where x == 0."""
    r = input * _pw.log1p(other)
    return _pw.where(input == 0, r.new_zeros(()), r)


def entr(input):
    """-x log(x) for x > 0, 0 at 0, -inf for x < 0."""
    r = -input * input.log()
    r = _pw.where(input == 0, r.new_zeros(()), r)
    return _pw.where(input < 0, r.new_full((), -math.inf), r)
