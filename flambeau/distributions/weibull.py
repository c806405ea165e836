"""Weibull(scale, concentration): scale * E^(1 / concentration) for E ~ Exponential(1)."""
import flambeau

from . import constraints
from .exponential import Exponential
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .utils import broadcast_all, euler_constant

__all__ = ["Weibull"]


class Weibull(TransformedDistribution):
    """The two-parameter Weibull distribution.

    Args:
        scale (float or Tensor): scale parameter of the distribution (lambda).
        concentration (float or Tensor): concentration parameter of the distribution (k, the shape).

    Example:
        >>> import flambeau
        >>> from flambeau.distributions import Weibull
        >>> Weibull(flambeau.tensor([2.0]), flambeau.tensor([1.0])).mean
        tensor([2.])
    """
    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive

    def __init__(self, scale, concentration, validate_args=None):
        self.scale, self.concentration = broadcast_all(scale, concentration)
        self.concentration_reciprocal = self.concentration.reciprocal()
        base_dist = Exponential(flambeau.ones_like(self.scale), validate_args=validate_args)
        transforms = [PowerTransform(exponent=self.concentration_reciprocal), AffineTransform(loc=0, scale=self.scale)]
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        # the transforms hold the parameters, so they are rebuilt at the new shape
        new = self._get_checked_instance(Weibull, _instance)
        new.scale = self.scale.expand(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        new.concentration_reciprocal = new.concentration.reciprocal()
        base_dist = self.base_dist.expand(batch_shape)
        transforms = [PowerTransform(exponent=new.concentration_reciprocal), AffineTransform(loc=0, scale=new.scale)]
        super(Weibull, new).__init__(base_dist, transforms, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        # scale Gamma(1 + 1/k)
        return self.scale * flambeau.exp(flambeau.lgamma(1 + self.concentration_reciprocal))

    @property
    def mode(self):
        # scale ((k - 1) / k)^(1/k): nan for k < 1, where the density is unbounded at 0
        return self.scale * ((self.concentration - 1) / self.concentration) ** self.concentration.reciprocal()

    @property
    def variance(self):
        # scale^2 (Gamma(1 + 2/k) - Gamma(1 + 1/k)^2)
        return self.scale.pow(2) * (flambeau.exp(flambeau.lgamma(1 + 2 * self.concentration_reciprocal))
                                    - flambeau.exp(2 * flambeau.lgamma(1 + self.concentration_reciprocal)))

    def entropy(self):
        return (euler_constant * (1 - self.concentration_reciprocal)
                + flambeau.log(self.scale * self.concentration_reciprocal) + 1)
