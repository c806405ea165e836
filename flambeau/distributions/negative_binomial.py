"""NegativeBinomial(total_count, probs or logits): successes before total_count failures."""
import flambeau
from flambeau.nn.functional import logsigmoid

from . import constraints
from .distribution import Distribution
from .gamma import Gamma
from .utils import BinaryProbs, broadcast_all, lazy_property

__all__ = ["NegativeBinomial"]


class NegativeBinomial(BinaryProbs, Distribution):
    """The number of successes of independent Bernoulli trials of success probability probs (or log-odds
    logits) before total_count failures; total_count may be any nonnegative real.

    Args:
        total_count (float or Tensor): nonnegative number of failures to stop at
        probs (Tensor): success probabilities, in [0, 1)
        logits (Tensor): success log-odds

    Example::

        >>> m = NegativeBinomial(3., flambeau.tensor([0.5]))
        >>> m.mean, m.variance
        (tensor([3.]), tensor([6.]))
    """
    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.type_as(self.probs)
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.type_as(self.logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(NegativeBinomial, batch_shape, _instance, ("total_count", "probs", "logits"))
        new._param = new.logits if "logits" in self.__dict__ else new.probs
        return new

    def _new(self, *args, **kwargs):
        return self._param.new(*args, **kwargs)

    @property
    def param_shape(self):
        return self._param.size()

    @property
    def mean(self):
        # r p / (1 - p) = r e^logit
        return self.total_count * flambeau.exp(self.logits)

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        # r p / (1 - p)^2 = mean / sigmoid(-logit)
        return self.mean / flambeau.sigmoid(-self.logits)

    @lazy_property
    def _gamma(self):
        # not validated: total_count may be 0, which Gamma's concentration may not
        return Gamma(concentration=self.total_count, rate=flambeau.exp(-self.logits), validate_args=False)

    def sample(self, sample_shape=flambeau.Size()):
        # a Poisson of a Gamma(r, (1 - p) / p) rate is NegativeBinomial(r, p)
        with flambeau.no_grad():
            rate = self._gamma.sample(sample_shape=sample_shape)
            return flambeau.poisson(rate)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        # log C(k + r - 1, k) + r log(1 - p) + k log p, with log(1 - p) = logsigmoid(-logit)
        log_unnormalized_prob = self.total_count * logsigmoid(-self.logits) + value * logsigmoid(self.logits)
        log_normalization = (-flambeau.lgamma(self.total_count + value) + flambeau.lgamma(1.0 + value)
                             + flambeau.lgamma(self.total_count))
        # r = 0 and k = 0 has probability 1, but lgamma(0) is infinite
        log_normalization = log_normalization.masked_fill(self.total_count + value == 0.0, 0.0)
        return log_unnormalized_prob - log_normalization
