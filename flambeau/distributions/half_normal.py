"""HalfNormal(scale): |X| for X ~ Normal(0, scale)."""
import math

from ._folded import FoldedAtZero
from .normal import Normal

__all__ = ["HalfNormal"]


class HalfNormal(FoldedAtZero):
    """The half-normal distribution: Y = |X| with X ~ Normal(0, scale).

    Args:
        scale (float or Tensor): scale of the full Normal distribution.

    Example:
        >>> import flambeau
        >>> from flambeau.distributions import HalfNormal
        >>> m = HalfNormal(flambeau.tensor([1.0]))
        >>> bool(m.sample() >= 0)
        True
    """
    base = Normal

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self):
        return self.scale.pow(2) * (1 - 2 / math.pi)
