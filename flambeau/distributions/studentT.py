"""StudentT(df, loc, scale): Student's t distribution."""
import math

import flambeau

from . import constraints
from .chi2 import Chi2
from .distribution import Distribution
from .utils import _standard_normal, broadcast_all

__all__ = ["StudentT"]


class StudentT(Distribution):
    """Student's t distribution with df degrees of freedom, location loc and scale scale.

    Args:
        df (float or Tensor): degrees of freedom.
        loc (float or Tensor): mean of the distribution.
        scale (float or Tensor): scale of the distribution.

    Example:
        >>> import flambeau
        >>> from flambeau.distributions import StudentT
        >>> StudentT(flambeau.tensor([4.0])).variance
        tensor([2.])
    """
    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    @property
    def mean(self):
        # defined for df > 1 only
        return flambeau.where(self.df <= 1, math.nan, self.loc)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        # scale^2 df / (df - 2) for df > 2, inf for 1 < df <= 2, undefined below;
        # df_safe keeps the unused branch finite so that its gradient (multiplied by 0) is not nan
        finite = self.df > 2
        df_safe = flambeau.where(finite, self.df, 3.0)
        result = self.scale.pow(2) * df_safe / (df_safe - 2)
        return flambeau.where(finite, result, flambeau.where(self.df > 1, math.inf, math.nan))

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(self.df.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(StudentT, batch_shape, _instance, ("df", "loc", "scale"))
        new._chi2 = self._chi2.expand(batch_shape)
        return new

    def rsample(self, sample_shape=flambeau.Size()):
        # X ~ Normal(0, 1), Z ~ Chi2(df): Y = X / sqrt(Z / df) ~ StudentT(df)
        shape = self._extended_shape(sample_shape)
        x = _standard_normal(shape, dtype=self.df.dtype, device=self.df.device)
        z = self._chi2.rsample(sample_shape)
        y = x * flambeau.rsqrt(z / self.df)
        return self.loc + self.scale * y

    def log_prob(self, value):
        # -(df + 1)/2 log(1 + y^2 / df) - log(scale sqrt(df pi) B(df/2, 1/2)), y = (x - loc) / scale
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        z = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi)
             + flambeau.lgamma(0.5 * self.df) - flambeau.lgamma(0.5 * (self.df + 1.0)))
        return -0.5 * (self.df + 1.0) * flambeau.log1p(y ** 2.0 / self.df) - z

    def entropy(self):
        # log(scale) + (df + 1)/2 (psi((df + 1)/2) - psi(df/2)) + log(sqrt(df) B(df/2, 1/2))
        lbeta = flambeau.lgamma(0.5 * self.df) + math.lgamma(0.5) - flambeau.lgamma(0.5 * (self.df + 1))
        return (self.scale.log()
                + 0.5 * (self.df + 1) * (flambeau.digamma(0.5 * (self.df + 1)) - flambeau.digamma(0.5 * self.df))
                + 0.5 * self.df.log() + lbeta)
