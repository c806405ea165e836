"""ExponentialFamily: distributions of the form exp(<t(x), theta> - F(theta) + k(x))."""
import flambeau

from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """Subclasses give _natural_params, _log_normalizer and _mean_carrier_measure; the entropy (and the
    KL between two members of a family) then follow from the Bregman divergence of the log normalizer."""

    @property
    def _natural_params(self):
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def entropy(self):
        result = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        lg_normal = self._log_normalizer(*nparams)
        gradients = flambeau.autograd.grad(lg_normal.sum(), nparams, create_graph=True)
        result += lg_normal
        for param, g in zip(nparams, gradients):
            result -= (param * g).reshape(self._batch_shape + (-1,)).sum(-1)
        return result
