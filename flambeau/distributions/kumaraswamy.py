"""Kumaraswamy(concentration1, concentration0): (1 - U^(1/b))^(1/a) for U ~ Uniform(0, 1)."""
import math

import flambeau

from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .uniform import Uniform
from .utils import broadcast_all, euler_constant

__all__ = ["Kumaraswamy"]


def _moments(a, b, n):
    """E[X^n] = b B(1 + n/a, b), through lgamma."""
    arg1 = 1 + n / a
    log_value = flambeau.lgamma(arg1) + flambeau.lgamma(b) - flambeau.lgamma(arg1 + b)
    return b * flambeau.exp(log_value)


class Kumaraswamy(TransformedDistribution):
    """The Kumaraswamy distribution on [0, 1], of density a b x^(a-1) (1 - x^a)^(b-1).

    Args:
        concentration1 (float or Tensor): 1st concentration parameter of the distribution (alpha).
        concentration0 (float or Tensor): 2nd concentration parameter of the distribution (beta).

    Example:
        >>> import flambeau
        >>> from flambeau.distributions import Kumaraswamy
        >>> Kumaraswamy(flambeau.tensor([1.0]), flambeau.tensor([1.0])).mean
        tensor([0.5000])
    """
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base_dist = Uniform(flambeau.full_like(self.concentration0, 0), flambeau.full_like(self.concentration0, 1),
                            validate_args=validate_args)
        # u -> u^(1/b) -> 1 - u^(1/b) -> (1 - u^(1/b))^(1/a)
        transforms = [PowerTransform(exponent=self.concentration0.reciprocal()), AffineTransform(loc=1.0, scale=-1.0),
                      PowerTransform(exponent=self.concentration1.reciprocal())]
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Kumaraswamy, _instance)
        new.concentration1 = self.concentration1.expand(batch_shape)
        new.concentration0 = self.concentration0.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):
        return _moments(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        # ((a - 1) / (a b - 1))^(1/a), where d/dx log p = (a - 1)/x - a (b - 1) x^(a-1) / (1 - x^a) = 0;
        # in log space, and undefined (nan) unless a >= 1 and b >= 1. torch's formula gives nan everywhere.
        a, b = self.concentration1, self.concentration0
        log_mode = ((a - 1).log() - (a * b - 1).log()) / a
        undefined = (b < 1) | (a < 1)
        return flambeau.where(undefined, math.nan, log_mode).exp()

    @property
    def variance(self):
        return _moments(self.concentration1, self.concentration0, 2) - flambeau.pow(self.mean, 2)

    def entropy(self):
        # (1 - 1/b) + (1 - 1/a) H_b - log(a b), H_b = psi(b + 1) + euler gamma the harmonic number
        t1 = 1 - self.concentration1.reciprocal()
        t0 = 1 - self.concentration0.reciprocal()
        h0 = flambeau.digamma(self.concentration0 + 1) + euler_constant
        return t0 + t1 * h0 - flambeau.log(self.concentration1) - flambeau.log(self.concentration0)
