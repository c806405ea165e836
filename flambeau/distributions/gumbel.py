"""Gumbel(loc, scale): the type-I extreme value distribution, as a transformed uniform."""
import math

import flambeau

from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, ExpTransform
from .uniform import Uniform
from .utils import _Number, broadcast_all, euler_constant

__all__ = ["Gumbel"]


class Gumbel(TransformedDistribution):
    """The Gumbel distribution: X = loc - scale * log(-log U) for U ~ Uniform(0, 1).

    Args:
        loc (float or Tensor): location parameter of the distribution.
        scale (float or Tensor): scale parameter of the distribution.

    Example:
        >>> import flambeau
        >>> from flambeau.distributions import Gumbel
        >>> m = Gumbel(flambeau.tensor([1.0]), flambeau.tensor([2.0]))
        >>> m.mode
        tensor([1.])
    """
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        finfo = flambeau.finfo(self.loc.dtype)
        # U in [tiny, 1 - eps]: both logs stay finite
        if isinstance(loc, _Number) and isinstance(scale, _Number):
            base_dist = Uniform(finfo.tiny, 1 - finfo.eps, validate_args=validate_args)
        else:
            base_dist = Uniform(flambeau.full_like(self.loc, finfo.tiny), flambeau.full_like(self.loc, 1 - finfo.eps),
                                validate_args=validate_args)
        # u -> log u -> -log u -> log(-log u) -> loc - scale * log(-log u)
        transforms = [ExpTransform().inv, AffineTransform(loc=0, scale=-flambeau.ones_like(self.scale)),
                      ExpTransform().inv, AffineTransform(loc=loc, scale=-self.scale)]
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Gumbel, _instance)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    def log_prob(self, value):
        # written out rather than through the transforms, which lose precision in the tails:
        # log p(x) = z - exp(z) - log(scale), z = (loc - x) / scale
        if self._validate_args:
            self._validate_sample(value)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    @property
    def mean(self):
        return self.loc + self.scale * euler_constant

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def entropy(self):
        return self.scale.log() + (1 + euler_constant)
