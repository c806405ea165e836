"""HalfCauchy(scale): |X| for X ~ Cauchy(0, scale)."""
import math

import flambeau

from ._folded import FoldedAtZero
from .cauchy import Cauchy

__all__ = ["HalfCauchy"]


class HalfCauchy(FoldedAtZero):
    """The half-Cauchy distribution: Y = |X| with X ~ Cauchy(0, scale).

    Args:
        scale (float or Tensor): scale of the full Cauchy distribution.

    Example:
        >>> import flambeau
        >>> from flambeau.distributions import HalfCauchy
        >>> m = HalfCauchy(flambeau.tensor([1.0]))
        >>> bool(m.sample() >= 0)
        True
    """
    base = Cauchy

    @property
    def mean(self):
        return flambeau.full(self._extended_shape(), math.inf, dtype=self.scale.dtype, device=self.scale.device)

    @property
    def variance(self):
        return self.base_dist.variance
