"""GeneralizedPareto(loc, scale, concentration): the generalized Pareto distribution of tails."""
import math
import numbers

import flambeau

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """The generalized Pareto distribution: Exponential at concentration 0 (loc 0), Pareto for
    concentration > 0 (loc = scale / concentration), Uniform at concentration -1.

    Args:
        loc (float or Tensor): location parameter of the distribution.
        scale (float or Tensor): scale parameter of the distribution.
        concentration (float or Tensor): concentration parameter of the distribution.

    Example:
        >>> import flambeau
        >>> from flambeau.distributions import GeneralizedPareto
        >>> GeneralizedPareto(flambeau.tensor([0.0]), flambeau.tensor([2.0]), flambeau.tensor([0.5])).mean
        tensor([4.])
    """
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        if all(isinstance(p, numbers.Number) for p in (loc, scale, concentration)):
            batch_shape = flambeau.Size()
        else:
            batch_shape = self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(GeneralizedPareto, batch_shape, _instance, ("loc", "scale", "concentration"))

    def rsample(self, sample_shape=flambeau.Size()):
        shape = self._extended_shape(sample_shape)
        u = flambeau.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u)

    def _z(self, x):
        return (x - self.loc) / self.scale

    def _safe_concentration(self):
        """(concentration is ~0, concentration with those entries set to 1): the formulas divide by it,
        and take their limit at 0 through the other branch."""
        eq_zero = flambeau.isclose(self.concentration, flambeau.zeros_like(self.concentration))
        return eq_zero, flambeau.where(eq_zero, flambeau.ones_like(self.concentration), self.concentration)

    def log_prob(self, value):
        # -log(scale) - (1/c + 1) log(1 + c z), or -log(scale) - z at c = 0
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        y = 1 / safe_conc + flambeau.ones_like(z)
        where_nonzero = flambeau.where(y == 0, y, y * flambeau.log1p(safe_conc * z))
        return -self.scale.log() - flambeau.where(eq_zero, z, where_nonzero)

    def log_survival_function(self, value):
        """log P(X > value) = -log(1 + c z) / c, or -z at c = 0."""
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        where_nonzero = -flambeau.log1p(safe_conc * z) / safe_conc
        return flambeau.where(eq_zero, -z, where_nonzero)

    def log_cdf(self, value):
        """log P(X <= value)."""
        return flambeau.log1p(-flambeau.exp(self.log_survival_function(value)))

    def cdf(self, value):
        return flambeau.exp(self.log_cdf(value))

    def icdf(self, value):
        # loc + scale/c ((1 - u)^(-c) - 1), or loc - scale log(1 - u) at c = 0
        eq_zero, safe_conc = self._safe_concentration()
        logu = flambeau.log1p(-value)
        where_nonzero = self.loc + self.scale / safe_conc * flambeau.expm1(-safe_conc * logu)
        where_zero = self.loc - self.scale * logu
        return flambeau.where(eq_zero, where_zero, where_nonzero)

    @property
    def mean(self):
        # loc + scale / (1 - c), defined for c < 1
        valid = self.concentration < 1
        safe_conc = flambeau.where(valid, self.concentration, 0.5)
        result = self.loc + self.scale / (1 - safe_conc)
        return flambeau.where(valid, result, math.nan)

    @property
    def variance(self):
        # scale^2 / ((1 - c)^2 (1 - 2c)), defined for c < 1/2
        valid = self.concentration < 0.5
        safe_conc = flambeau.where(valid, self.concentration, 0.25)
        result = self.scale ** 2 / ((1 - safe_conc) ** 2 * (1 - 2 * safe_conc))
        return flambeau.where(valid, result, math.nan)

    def entropy(self):
        ans = flambeau.log(self.scale) + self.concentration + 1
        return flambeau.broadcast_to(ans, self._batch_shape)

    @property
    def mode(self):
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        # [loc, inf), or [loc, loc - scale / c] for c < 0
        lower = self.loc
        upper = flambeau.where(self.concentration < 0, lower - self.scale / self.concentration, math.inf)
        return constraints.interval(lower, upper)
