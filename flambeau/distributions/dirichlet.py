"""Dirichlet(concentration): distributions over the probability simplex."""
import flambeau

from . import constraints
from .exp_family import ExponentialFamily
from .gamma import _standard_gamma

__all__ = ["Dirichlet"]


def _sample_dirichlet(concentration):
    """Reparameterized Dirichlet samples: independent Gamma(concentration, 1) samples, normalized.

    The gradient flows through each Gamma sample (Note [gradient of a Gamma sample]) and the
    normalization; torch differentiates its samples through the Beta marginals instead, an estimator
    with the same expectation.
    """
    gammas = _standard_gamma(concentration)
    tiny = flambeau.finfo(gammas.dtype).tiny
    return gammas / gammas.sum(-1, True).clamp(min=tiny)


class Dirichlet(ExponentialFamily):
    """The Dirichlet distribution of concentration `concentration` (its last dim is the event)."""
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Dirichlet, batch_shape, _instance, ("concentration",), self.event_shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        concentration = self.concentration.expand(shape)
        return _sample_dirichlet(concentration)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (flambeau.xlogy(self.concentration - 1.0, value).sum(-1)
                + flambeau.lgamma(self.concentration.sum(-1)) - flambeau.lgamma(self.concentration).sum(-1))

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self):
        concentrationm1 = (self.concentration - 1).clamp(min=0.0)
        mode = concentrationm1 / concentrationm1.sum(-1, True)
        mask = (self.concentration < 1).all(dim=-1)
        mode[mask] = flambeau.nn.functional.one_hot(mode[mask].argmax(dim=-1), concentrationm1.shape[-1]).to(mode)
        return mode

    @property
    def variance(self):
        con0 = self.concentration.sum(-1, True)
        return self.concentration * (con0 - self.concentration) / (con0.pow(2) * (con0 + 1))

    def entropy(self):
        k = self.concentration.size(-1)
        a0 = self.concentration.sum(-1)
        return (flambeau.lgamma(self.concentration).sum(-1) - flambeau.lgamma(a0) - (k - a0) * flambeau.digamma(a0)
                - ((self.concentration - 1.0) * flambeau.digamma(self.concentration)).sum(-1))

    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return x.lgamma().sum(-1) - flambeau.lgamma(x.sum(-1))
