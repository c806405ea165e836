"""ContinuousBernoulli(probs | logits): the continuous Bernoulli distribution on [0, 1]."""
import math

import flambeau
from flambeau.nn.functional import binary_cross_entropy_with_logits

from . import constraints
from .exp_family import ExponentialFamily
from .utils import _Number, broadcast_all, clamp_probs, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["ContinuousBernoulli"]

# Note [continuous Bernoulli near 1/2]
# The normalizing constant C(p) = 2 atanh(1 - 2p) / (1 - 2p) and the moments built on it divide 0 by 0
# at p = 1/2. Inside lims (0.499, 0.501 by default) the closed forms are evaluated at lims[0] instead
# (so that their unused branch stays finite, and so do its gradients), and Taylor expansions in
# (p - 1/2) are returned.


class ContinuousBernoulli(ExponentialFamily):
    """The continuous Bernoulli distribution (Loaiza-Ganem and Cunningham, NeurIPS 2019), of density
    C(p) p^x (1 - p)^(1 - x) on [0, 1]. Unlike Bernoulli's, probs is not a probability nor logits
    log-odds; they keep the names for the analogy.

    Args:
        probs (Number, Tensor): (0, 1) valued parameters.
        logits (Number, Tensor): real valued parameters whose sigmoid matches probs.
        lims (tuple): the interval around 1/2 where Taylor expansions replace the closed forms.

    Example:
        >>> import flambeau
        >>> from flambeau.distributions import ContinuousBernoulli
        >>> ContinuousBernoulli(flambeau.tensor([0.5])).mean
        tensor([0.5000])
    """
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            is_scalar = isinstance(probs, _Number)
            (self.probs,) = broadcast_all(probs)
            # checked before the clamp below, which would make any value pass; torch checks whenever
            # validate_args is given, False included
            if validate_args is not None:
                if not bool(self.arg_constraints["probs"].check(self.probs).all()):
                    raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(self.probs)
        else:
            is_scalar = isinstance(logits, _Number)
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        batch_shape = flambeau.Size() if is_scalar else self._param.size()
        self._lims = lims
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(ContinuousBernoulli, _instance)
        new._lims = self._lims
        new = self._expand_params(ContinuousBernoulli, batch_shape, new, ("probs", "logits"))
        new._param = new.logits if "logits" in self.__dict__ else new.probs
        return new

    def _new(self, *args, **kwargs):
        return self._param.new(*args, **kwargs)

    def _outside_unstable_region(self):
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        lower = self._lims[0] * flambeau.ones_like(self.probs)
        return flambeau.where(self._outside_unstable_region(), self.probs, lower)

    def _cont_bern_log_norm(self):
        """log C(p) = log|log(1 - p) - log p| - log|1 - 2p| (Note [continuous Bernoulli near 1/2])."""
        cut_probs = self._cut_probs()
        # each log below sees only the probs of its own side of 1/2
        below_half = flambeau.where(cut_probs <= 0.5, cut_probs, flambeau.zeros_like(cut_probs))
        above_half = flambeau.where(cut_probs >= 0.5, cut_probs, flambeau.ones_like(cut_probs))
        log_norm = (flambeau.log(flambeau.abs(flambeau.log1p(-cut_probs) - flambeau.log(cut_probs)))
                    - flambeau.where(cut_probs <= 0.5, flambeau.log1p(-2.0 * below_half),
                                     flambeau.log(2.0 * above_half - 1.0)))
        x = flambeau.pow(self.probs - 0.5, 2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return flambeau.where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self):
        # p / (2p - 1) + 1 / (log(1 - p) - log p)
        cut_probs = self._cut_probs()
        mus = cut_probs / (2.0 * cut_probs - 1.0) + 1.0 / (flambeau.log1p(-cut_probs) - flambeau.log(cut_probs))
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * flambeau.pow(x, 2)) * x
        return flambeau.where(self._outside_unstable_region(), mus, taylor)

    @property
    def stddev(self):
        return flambeau.sqrt(self.variance)

    @property
    def variance(self):
        # p (p - 1) / (1 - 2p)^2 + 1 / (log(1 - p) - log p)^2
        cut_probs = self._cut_probs()
        variances = (cut_probs * (cut_probs - 1.0) / flambeau.pow(1.0 - 2.0 * cut_probs, 2)
                     + 1.0 / flambeau.pow(flambeau.log1p(-cut_probs) - flambeau.log(cut_probs), 2))
        x = flambeau.pow(self.probs - 0.5, 2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return flambeau.where(self._outside_unstable_region(), variances, taylor)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self):
        return self._param.size()

    def sample(self, sample_shape=flambeau.Size()):
        shape = self._extended_shape(sample_shape)
        u = flambeau.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
        with flambeau.no_grad():
            return self.icdf(u)

    def rsample(self, sample_shape=flambeau.Size()):
        shape = self._extended_shape(sample_shape)
        u = flambeau.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
        return self.icdf(u)

    def log_prob(self, value):
        # x log p + (1 - x) log(1 - p) + log C(p), the first two terms as -BCE(logits, x)
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none") + self._cont_bern_log_norm()

    def cdf(self, value):
        # (p^x (1 - p)^(1 - x) + p - 1) / (2p - 1) on [0, 1] (x itself near p = 1/2), clamped outside
        if self._validate_args:
            self._validate_sample(value)
        cut_probs = self._cut_probs()
        cdfs = ((flambeau.pow(cut_probs, value) * flambeau.pow(1.0 - cut_probs, 1.0 - value) + cut_probs - 1.0)
                / (2.0 * cut_probs - 1.0))
        unbounded_cdfs = flambeau.where(self._outside_unstable_region(), cdfs, value)
        return flambeau.where(value <= 0.0, flambeau.zeros_like(value),
                              flambeau.where(value >= 1.0, flambeau.ones_like(value), unbounded_cdfs))

    def icdf(self, value):
        # log(1 + (2p - 1) u / (1 - p)) / log(p / (1 - p)), u itself near p = 1/2
        cut_probs = self._cut_probs()
        closed_form = ((flambeau.log1p(-cut_probs + value * (2.0 * cut_probs - 1.0)) - flambeau.log1p(-cut_probs))
                       / (flambeau.log(cut_probs) - flambeau.log1p(-cut_probs)))
        return flambeau.where(self._outside_unstable_region(), closed_form, value)

    def entropy(self):
        log_probs0 = flambeau.log1p(-self.probs)
        log_probs1 = flambeau.log(self.probs)
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        """log of the normalizer as a function of the natural parameter x = logits: log|expm1(x) / x|,
        by its Taylor expansion near 0."""
        out_unst_reg = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut_nat_params = flambeau.where(out_unst_reg, x, (self._lims[0] - 0.5) * flambeau.ones_like(x))
        log_norm = (flambeau.log(flambeau.abs(flambeau.special.expm1(cut_nat_params)))
                    - flambeau.log(flambeau.abs(cut_nat_params)))
        taylor = 0.5 * x + flambeau.pow(x, 2) / 24.0 - flambeau.pow(x, 4) / 2880.0
        return flambeau.where(out_unst_reg, log_norm, taylor)
