"""Multinomial(total_count, probs or logits): category counts of total_count categorical draws."""
import math

import flambeau

from . import constraints
from .binomial import Binomial
from .categorical import Categorical
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    """The counts of each of K categories among total_count independent draws of probabilities probs (or
    unnormalized log-probabilities logits) along the last dim.

    sample() needs one total_count (an int) shared by the whole batch; log_prob reads the number of draws
    from each value (the sum of its counts), so it also scores values of other totals when validate_args
    is off.

    Args:
        total_count (int): number of draws
        probs (Tensor): event probabilities, normalized along the last dim
        logits (Tensor): event log-probabilities (unnormalized)

    Example::

        >>> m = Multinomial(4, flambeau.tensor([0.25, 0.75]))
        >>> m.log_prob(flambeau.tensor([1., 3.])).exp()
        tensor(0.4219)
    """
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        # the counts of one category are Binomial(total_count, p): entropy() sums over them
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = flambeau.Size(batch_shape)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        new._binomial = self._binomial.expand(batch_shape + self._event_shape)
        super(Multinomial, new).__init__(batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _new(self, *args, **kwargs):
        return self._categorical._new(*args, **kwargs)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=flambeau.Size()):
        sample_shape = flambeau.Size(sample_shape)
        # total_count category indices per sample and batch element, counted per category
        draws = self._categorical.sample(flambeau.Size((self.total_count,)) + sample_shape)
        draws = draws.permute(*range(1, draws.dim()), 0)  # (sample, batch, total_count)
        counts = flambeau.zeros(self._extended_shape(sample_shape), dtype=self.probs.dtype,
                                device=self.probs.device)
        return counts.scatter_add_(-1, draws, flambeau.ones_like(draws, dtype=counts.dtype))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        # log n! - sum_i log x_i! + sum_i x_i log p_i, where a category of p_i = 0 drawn 0 times adds 0 (not nan)
        logits = flambeau.where((value == 0) & (logits == -math.inf), flambeau.zeros_like(logits), logits)
        log_factorial_n = flambeau.lgamma(value.sum(-1) + 1)
        log_factorial_xs = flambeau.lgamma(value + 1).sum(-1)
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)

    def entropy(self):
        # H = n H(Categorical) - log n! + sum_i E[log x_i!], x_i ~ Binomial(n, p_i)
        n = self.total_count
        term1 = n * self._categorical.entropy() - math.lgamma(n + 1)
        support = self._binomial.enumerate_support(expand=False)[1:]  # log 0! = 0: skip x = 0
        binomial_probs = flambeau.exp(self._binomial.log_prob(support))
        weights = flambeau.lgamma(support + 1)
        term2 = (binomial_probs * weights).sum([0, -1])
        return term1 + term2
