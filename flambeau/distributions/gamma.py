"""Gamma(concentration, rate), with reparameterized samples (implicit reparameterization)."""
import numpy as np

import flambeau
from flambeau import _xp
from flambeau._ops._util import _type_word
from flambeau._ops.creation import _standard_gamma  # noqa: F401  (Gamma's sampler, torch's)
from flambeau._ops.pointwise import _special_module
from flambeau.autograd import Function

from . import constraints
from .exp_family import ExponentialFamily
from .utils import batch_shape_of, broadcast_all

__all__ = ["Gamma"]

# Note [gradient of a Gamma sample]
# A sample x of Gamma(alpha, 1) is F^-1(u; alpha) for a uniform u, so with u held fixed
# dx/dalpha = -(dF/dalpha)(x; alpha) / f(x; alpha) (implicit reparameterization, Figurnov et al. 2018).
# torch evaluates it with three approximations, reproduced here as it has them: a Taylor series of the
# CDF for small x, Rice's saddle point expansion for large alpha, and a bivariate rational fit elsewhere.

_RATIONAL_COEFS = np.array([
    [0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089, 0.0014179084],
    [0.53487893, 0.1298071, 0.065735949, -0.0015649758, 0.16639465, 0.020070113, -0.0035938915, -0.00058392623],
    [0.040121004, -0.0065914022, -0.0026286047, -0.0013441777, 0.017050642, -0.0021309326, 0.00085092367,
     -1.5247877e-07]])


def _standard_gamma_grad_array(alpha, x):
    """dx/dalpha for samples x of Gamma(alpha, 1), elementwise in float64 (Note [gradient of a Gamma sample])."""
    xp = _xp.array_module(alpha)
    alpha, x = alpha.astype(np.float64), x.astype(np.float64)
    with np.errstate(all="ignore"):
        # Taylor series of the incomplete gamma function, for x < 0.8
        numer, denom = xp.ones_like(x), alpha.copy()
        series1, series2 = numer / denom, numer / (denom * denom)
        for i in range(1, 6):
            numer = numer * (-x / i)
            denom = denom + 1
            series1 = series1 + numer / denom
            series2 = series2 + numer / (denom * denom)
        pow_x_alpha = x ** alpha
        gamma_pdf = x ** (alpha - 1) * xp.exp(-x)
        gamma_cdf = pow_x_alpha * series1
        gamma_cdf_alpha = (xp.log(x) - _special_module(xp).digamma(alpha)) * gamma_cdf - pow_x_alpha * series2
        small_x = -gamma_cdf_alpha / gamma_pdf
        small_x = xp.where(xp.isnan(small_x), 0.0, small_x)

        # Rice saddle point expansion, for alpha > 8
        near = 1 + 24 * alpha * (1 + 12 * alpha)
        near = near * (1440 * (alpha * alpha) + 6 * x * (53 - 120 * x) - 65 * x * x / alpha
                       + alpha * (107 + 3600 * x)) / (1244160 * (alpha * alpha) * (alpha * alpha))
        denom = xp.sqrt(8 * alpha)
        term2 = denom / (alpha - x)
        term3 = (x - alpha - alpha * xp.log(x / alpha)) ** -1.5
        term23 = xp.where(x < alpha, term2 - term3, term2 + term3)
        term1 = xp.log(x / alpha) * term23 - xp.sqrt(2 / alpha) * (alpha + x) / ((alpha - x) * (alpha - x))
        stirling = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
        far = -stirling * (x * term1) / denom
        large_alpha = xp.where((0.9 * alpha <= x) & (x <= 1.1 * alpha), near, far)

        # bivariate rational approximation elsewhere
        u, v = xp.log(x / alpha), xp.log(alpha)
        c = xp.asarray(_RATIONAL_COEFS)
        coef_v = [c[0, i] + u * (c[1, i] + u * c[2, i]) for i in range(8)]
        p = coef_v[0] + v * (coef_v[1] + v * (coef_v[2] + v * coef_v[3]))
        q = coef_v[4] + v * (coef_v[5] + v * (coef_v[6] + v * coef_v[7]))
        rational = xp.exp(p / q)
        return xp.where(x < 0.8, small_x, xp.where(alpha > 8.0, large_alpha, rational))


class _StandardGammaGrad(Function):
    """_standard_gamma_grad as an op: torch records it (it is the backward of _standard_gamma) but gives it
    no derivative of its own."""
    _node_name = "StandardGammaGradBackward0"

    @staticmethod
    def forward(ctx, concentration, sample):
        xp = _xp.array_module(concentration._data)
        a, x = xp.broadcast_arrays(concentration._data, sample._data)
        return _standard_gamma_grad_array(a, x).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("the derivative for '_standard_gamma_grad' is not implemented.")


def _standard_gamma_grad(concentration, sample):
    """The derivative of Gamma(concentration, 1) samples with respect to concentration (torch's
    _standard_gamma_grad): a tensor of the dtype of concentration."""
    if sample.dtype is not concentration.dtype:
        raise RuntimeError(f"Found dtype {_type_word(sample.dtype)} but expected {_type_word(concentration.dtype)}")
    if concentration.dtype not in (flambeau.float32, flambeau.float64):
        raise NotImplementedError(f"\"_standard_gamma_grad_cpu\" not implemented for "
                                  f"'{_type_word(concentration.dtype)}'")
    return _StandardGammaGrad.apply(concentration, sample)


class _GammaInc(Function):
    """The regularized lower incomplete gamma function P(a, x); like torch, differentiable in x only."""
    _node_name = "IgammaBackward0"

    @staticmethod
    def forward(ctx, a, x):
        ctx.save_for_backward(a, x)
        xp = _xp.array_module(x._data)
        return _special_module(xp).gammainc(a._data, x._data).astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'igamma: input' is not implemented.")
        return None, grad * flambeau.exp((a - 1) * flambeau.log(x) - x - flambeau.lgamma(a))


class Gamma(ExponentialFamily):
    """The gamma distribution of shape concentration and rate `rate` (rate = 1 / scale)."""
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(batch_shape_of((concentration, rate), self.concentration), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Gamma, batch_shape, _instance, ("concentration", "rate"))

    def rsample(self, sample_shape=flambeau.Size()):
        shape = self._extended_shape(sample_shape)
        value = _standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        value.detach().clamp_(min=flambeau.finfo(value.dtype).tiny)  # do not record in autograd graph
        return value

    def log_prob(self, value):
        value = flambeau.as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        return (flambeau.xlogy(self.concentration, self.rate) + flambeau.xlogy(self.concentration - 1, value)
                - self.rate * value - flambeau.lgamma(self.concentration))

    def entropy(self):
        return (self.concentration - flambeau.log(self.rate) + flambeau.lgamma(self.concentration)
                + (1.0 - self.concentration) * flambeau.digamma(self.concentration))

    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return flambeau.lgamma(x + 1) + (x + 1) * flambeau.log(-y.reciprocal())

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a, x = flambeau.broadcast_tensors(self.concentration, self.rate * value)
        return _GammaInc.apply(a, x)
