"""MixtureSameFamily(mixture_distribution, component_distribution): a mixture of k components of one family."""
import flambeau

from . import constraints
from .categorical import Categorical
from .distribution import Distribution

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    """A (batch of) mixture(s): a component drawn from mixture_distribution (a Categorical over k), then a
    value from that component of component_distribution, whose rightmost batch dim (of size k) indexes the
    components.

    Args:
        mixture_distribution (Categorical): the probabilities of the k components; its batch_shape
            broadcasts with component_distribution.batch_shape[:-1]
        component_distribution (Distribution): the components, of batch_shape ``(..., k)``

    Example::

        >>> mix = Categorical(flambeau.tensor([0.25, 0.75]))
        >>> comp = flambeau.distributions.Normal(flambeau.tensor([-1., 1.]), flambeau.tensor([1., 1.]))
        >>> MixtureSameFamily(mix, comp).mean
        tensor(0.5000)
    """
    arg_constraints = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        if not isinstance(self._mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an "
                             " instance of torch.distributions.Categorical")
        if not isinstance(self._component_distribution, Distribution):
            raise ValueError("The Component distribution needs to be an "
                             "instance of torch.distributions.Distribution")

        mdbs = self._mixture_distribution.batch_shape
        cdbs = self._component_distribution.batch_shape[:-1]
        for size1, size2 in zip(reversed(mdbs), reversed(cdbs)):
            if size1 != 1 and size2 != 1 and size1 != size2:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mdbs}) is not "
                                 f"compatible with `component_distribution.batch_shape`({cdbs})")

        km = self._mixture_distribution.logits.shape[-1]
        kc = self._component_distribution.batch_shape[-1]
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not"
                             f" equal `component_distribution.batch_shape[-1]` ({kc})")
        self._num_component = km

        event_shape = self._component_distribution.event_shape
        self._event_ndims = len(event_shape)
        super().__init__(batch_shape=cdbs, event_shape=event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = flambeau.Size(batch_shape)
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        new._component_distribution = self._component_distribution.expand(batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component = self._num_component
        new._event_ndims = self._event_ndims
        super(MixtureSameFamily, new).__init__(batch_shape=batch_shape,
                                               event_shape=new._component_distribution.event_shape,
                                               validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    @property
    def mean(self):
        # E[Y] = sum_k p_k E[Y | k]
        probs = self._pad_mixture_dimensions(self.mixture_distribution.probs)
        return (probs * self.component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        # law of total variance: Var(Y) = E[Var(Y | k)] + Var(E[Y | k])
        probs = self._pad_mixture_dimensions(self.mixture_distribution.probs)
        dim = -1 - self._event_ndims
        mean_cond_var = (probs * self.component_distribution.variance).sum(dim)
        var_cond_mean = (probs * (self.component_distribution.mean - self._pad(self.mean)).pow(2.0)).sum(dim)
        return mean_cond_var + var_cond_mean

    def cdf(self, x):
        cdf_x = self.component_distribution.cdf(self._pad(x))
        return (cdf_x * self.mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        if self._validate_args:
            self._validate_sample(x)
        # log sum_k p_k f_k(x), through logsumexp
        log_prob_x = self.component_distribution.log_prob(self._pad(x))  # (S, B, k)
        log_mix_prob = flambeau.log_softmax(self.mixture_distribution.logits, dim=-1)  # (B, k)
        return flambeau.logsumexp(log_prob_x + log_mix_prob, dim=-1)  # (S, B)

    def sample(self, sample_shape=flambeau.Size()):
        with flambeau.no_grad():
            gather_dim = len(sample_shape) + len(self.batch_shape)
            es = self.event_shape
            # one component per batch element, also where the mixture's batch_shape only broadcasts to it
            mix = self.mixture_distribution
            if mix.batch_shape != self.batch_shape:
                mix = mix.expand(self.batch_shape)
            mix_sample = mix.sample(sample_shape)  # (S, B)
            comp_samples = self.component_distribution.sample(sample_shape)  # (S, B, k, E)
            # the drawn component's value: index (S, B, 1, E) along the k dim
            index = mix_sample.reshape(mix_sample.shape + (1,) * (len(es) + 1))
            index = index.expand(mix_sample.shape + (1,) + es)
            return flambeau.gather(comp_samples, gather_dim, index).squeeze(gather_dim)

    def _pad(self, x):
        """x with a component dim of size 1 before its event dims."""
        return x.unsqueeze(-1 - self._event_ndims)

    def _pad_mixture_dimensions(self, x):
        """Mixture probabilities (B, k) as (B, k, 1...), one 1 per event dim, to broadcast with the
        components' (B, k, E) moments."""
        return x.reshape(x.shape + (1,) * self._event_ndims)

    def __repr__(self):
        return f"MixtureSameFamily(\n  {self.mixture_distribution},\n  {self.component_distribution})"
