"""VonMises(loc, concentration): the circular normal distribution on angles."""
import math

import flambeau

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, lazy_property

__all__ = ["VonMises"]

# Polynomial approximations of the modified Bessel functions I0 and I1 (Abramowitz and Stegun 9.8.1-9.8.4),
# as torch evaluates them: in t = (x / 3.75)^2 for x < 3.75, and in 3.75 / x above, where they give
# sqrt(x) exp(-x) I_n(x). Lowest degree first.
_BESSEL_SMALL = {
    0: [1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813],
    1: [0.5, 0.87890594, 0.51498869, 0.15084934, 0.02658733, 0.00301532, 0.00032411],
}
_BESSEL_LARGE = {
    0: [0.39894228, 0.01328592, 0.00225319, -0.00157565, 0.00916281, -0.02057706, 0.02635537, -0.01647633,
        0.00392377],
    1: [0.39894228, -0.03988024, -0.00362018, 0.00163801, -0.01031555, 0.02282967, -0.02895312, 0.01787654,
        -0.00420059],
}


def _horner(y, coefs):
    """sum_k coefs[k] y^k."""
    result = coefs[-1]
    for c in reversed(coefs[:-1]):
        result = c + y * result
    return result


def _log_modified_bessel_fn(x, order=0):
    """log I_order(x) for x > 0 and order 0 or 1."""
    if order not in (0, 1):
        raise AssertionError(f"order must be 0 or 1, got {order}")
    small = _horner((x / 3.75) ** 2, _BESSEL_SMALL[order])
    if order == 1:
        small = x.abs() * small  # I1(x) = x (0.5 + ...)
    small = small.log()
    large = x - 0.5 * x.log() + _horner(3.75 / x, _BESSEL_LARGE[order]).log()
    return flambeau.where(x < 3.75, small, large)


def _rejection_sample(loc, concentration, proposal_r, x):
    """Best and Fisher's rejection sampler (Applied Statistics, 1979), in the dtype of loc: draws until
    every entry of x has accepted one, then wraps loc + x into [-pi, pi)."""
    done = flambeau.zeros(x.shape, dtype=flambeau.bool, device=loc.device)
    while not bool(done.all()):  # one host read per round, as torch
        u1, u2, u3 = flambeau.rand((3,) + tuple(x.shape), dtype=loc.dtype, device=loc.device).unbind()
        z = flambeau.cos(math.pi * u1)
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = concentration * (proposal_r - f)
        accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
        x = flambeau.where(accept & ~done, (u3 - 0.5).sign() * f.acos(), x)
        done = done | accept
    return (x + math.pi + loc) % (2 * math.pi) - math.pi


class VonMises(Distribution):
    """The von Mises distribution on the circle. loc and the values may be any real numbers (for
    unconstrained optimization) and are read as angles modulo 2 pi.

    Args:
        loc (Tensor): an angle in radians.
        concentration (Tensor): concentration parameter.

    Example:
        >>> import flambeau
        >>> from flambeau.distributions import VonMises
        >>> VonMises(flambeau.tensor([1.0]), flambeau.tensor([2.0])).mean
        tensor([1.])
    """
    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, flambeau.Size(), validate_args)

    def log_prob(self, value):
        # kappa cos(x - loc) - log(2 pi I0(kappa))
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.concentration * flambeau.cos(value - self.loc)
        return log_prob - math.log(2 * math.pi) - _log_modified_bessel_fn(self.concentration, order=0)

    # the sampler works in float64: in float32 it can loop (nearly) forever for small concentrations
    @lazy_property
    def _loc(self):
        return self.loc.to(flambeau.double)

    @lazy_property
    def _concentration(self):
        return self.concentration.to(flambeau.double)

    @lazy_property
    def _proposal_r(self):
        kappa = self._concentration
        tau = 1 + (1 + 4 * kappa ** 2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        proposal_r = (1 + rho ** 2) / (2 * rho)
        # second order Taylor expansion around 0, where the expression above cancels
        proposal_r_taylor = 1 / kappa + kappa
        return flambeau.where(kappa < 1e-5, proposal_r_taylor, proposal_r)

    def sample(self, sample_shape=flambeau.Size()):
        shape = self._extended_shape(sample_shape)
        with flambeau.no_grad():
            x = flambeau.zeros(shape, dtype=self._loc.dtype, device=self.loc.device)
            return _rejection_sample(self._loc, self._concentration, self._proposal_r, x).to(self.loc.dtype)

    def expand(self, batch_shape, _instance=None):
        try:
            return super().expand(batch_shape)
        except NotImplementedError:
            validate_args = self.__dict__.get("_validate_args")
            loc = self.loc.expand(batch_shape)
            concentration = self.concentration.expand(batch_shape)
            return type(self)(loc, concentration, validate_args=validate_args)

    @property
    def mean(self):
        """The circular mean."""
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        """The circular variance, 1 - I1(kappa) / I0(kappa)."""
        return 1 - (_log_modified_bessel_fn(self.concentration, order=1)
                    - _log_modified_bessel_fn(self.concentration, order=0)).exp()
