"""FisherSnedecor(df1, df2): the F distribution, a ratio of scaled chi-squared variables."""
import math

import flambeau

from . import constraints
from .distribution import Distribution
from .gamma import Gamma
from .utils import batch_shape_of, broadcast_all

__all__ = ["FisherSnedecor"]


class FisherSnedecor(Distribution):
    """The Fisher-Snedecor (F) distribution with df1 and df2 degrees of freedom.

    Args:
        df1 (float or Tensor): degrees of freedom parameter 1.
        df2 (float or Tensor): degrees of freedom parameter 2.

    Example:
        >>> import flambeau
        >>> from flambeau.distributions import FisherSnedecor
        >>> FisherSnedecor(flambeau.tensor([3.0]), flambeau.tensor([6.0])).mean
        tensor([1.5000])
    """
    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = broadcast_all(df1, df2)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2)
        super().__init__(batch_shape_of((df1, df2), self.df1), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(FisherSnedecor, batch_shape, _instance, ("df1", "df2"))
        new._gamma1 = self._gamma1.expand(batch_shape)
        new._gamma2 = self._gamma2.expand(batch_shape)
        return new

    @property
    def mean(self):
        # df2 / (df2 - 2), defined for df2 > 2
        df2 = flambeau.where(self.df2 <= 2, math.nan, self.df2)
        return df2 / (df2 - 2)

    @property
    def mode(self):
        # (df1 - 2) / df1 * df2 / (df2 + 2), defined for df1 > 2
        mode = (self.df1 - 2) / self.df1 * self.df2 / (self.df2 + 2)
        return flambeau.where(self.df1 <= 2, math.nan, mode)

    @property
    def variance(self):
        # 2 df2^2 (df1 + df2 - 2) / (df1 (df2 - 2)^2 (df2 - 4)), defined for df2 > 4
        df2 = flambeau.where(self.df2 <= 4, math.nan, self.df2)
        return 2 * df2.pow(2) * (self.df1 + df2 - 2) / (self.df1 * (df2 - 2).pow(2) * (df2 - 4))

    def rsample(self, sample_shape=flambeau.Size(())):
        # X1 ~ Gamma(df1 / 2, df1), X2 ~ Gamma(df2 / 2, df2): X1 / X2 = (chi2(df1) / df1) / (chi2(df2) / df2)
        shape = self._extended_shape(sample_shape)
        x1 = self._gamma1.rsample(sample_shape).view(shape)
        x2 = self._gamma2.rsample(sample_shape).view(shape)
        tiny = flambeau.finfo(x2.dtype).tiny
        return (x1 / x2.clamp(min=tiny)).clamp(min=tiny)

    def log_prob(self, value):
        # log B-normalizer + (df1/2) log(df1/df2) + (df1/2 - 1) log x - (df1 + df2)/2 log(1 + x df1/df2)
        if self._validate_args:
            self._validate_sample(value)
        ct1 = self.df1 * 0.5
        ct2 = self.df2 * 0.5
        ct3 = self.df1 / self.df2
        t1 = (ct1 + ct2).lgamma() - ct1.lgamma() - ct2.lgamma()
        t2 = ct1 * ct3.log() + (ct1 - 1) * flambeau.log(value)
        t3 = (ct1 + ct2) * flambeau.log1p(ct3 * value)
        return t1 + t2 - t3
