"""Dirichlet(concentration): distributions over the probability simplex."""
import numpy as np

import flambeau
from flambeau import _xp
from flambeau._ops._util import _type_word
from flambeau._ops.pointwise import _special_module
from flambeau.autograd import Function

from . import constraints
from .exp_family import ExponentialFamily

__all__ = ["Dirichlet"]

# Note [gradient of a Dirichlet sample]
# Each coordinate x of a Dirichlet(alpha) sample is Beta(alpha_i, total - alpha_i) distributed, so (implicit
# reparameterization, as for Gamma) dx/dalpha_i = -(dF/dalpha)(x) / f(x) for the Beta CDF F and density f.
# torch approximates it by cases, reproduced here: Taylor series near x = 0 and x = 1, Rice's saddle point
# expansion when both Beta parameters exceed 6, and elsewhere a rational correction (fitted coefficients) of
# x (digamma(total) - digamma(alpha)) / beta. The other coordinates follow through the normalization.

_RATIONAL_COEFS = np.array([
    [[[1.003668233, -0.01061107488, -0.0657888334, 0.01201642863],
      [0.6336835991, -0.3557432599, 0.05486251648, -0.001465281033],
      [-0.03276231906, 0.004474107445, 0.002429354597, -0.0001557569013]],
     [[0.221950385, -0.3187676331, 0.01799915743, 0.01074823814],
      [-0.2951249643, 0.06219954479, 0.01535556598, 0.001550077057],
      [0.02155310298, 0.004170831599, 0.001292462449, 6.976601077e-05]],
     [[-0.05980841433, 0.008441916499, 0.01085618172, 0.002319392565],
      [0.02911413504, 0.01400243777, -0.002721828457, 0.000751041181],
      [0.005900514878, -0.001936558688, -9.495446725e-06, 5.385558597e-05]]],
    [[[1, -0.02924021934, -0.04438342661, 0.007285809825],
      [0.6357567472, -0.3473456711, 0.05454656494, -0.002407477521],
      [-0.03301322327, 0.004845219414, 0.00231480583, -0.0002307248149]],
     [[0.5925320577, -0.1757678135, 0.01505928619, 0.000564515273],
      [0.1014815858, -0.06589186703, 0.01272886114, -0.0007316646956],
      [-0.007258481865, 0.001096195486, 0.0003934994223, -4.12701925e-05]],
     [[0.06469649321, -0.0236701437, 0.002902096474, -5.896963079e-05],
      [0.001925008108, -0.002869809258, 0.0008000589141, -6.063713228e-05],
      [-0.0003477407336, 6.959756487e-05, 1.097287507e-05, -1.650964693e-06]]]])   # [p, q][u^i][a^j][b^k]


def _beta_grad_near_zero(x, alpha, beta, digamma):
    """dx/dalpha for x ~ Beta(alpha, beta) near 0, from the series of its CDF in x."""
    factor = digamma(alpha) - digamma(alpha + beta) - np.log(x)
    numer = np.ones_like(x)
    series = numer / alpha * (factor + 1 / alpha)
    for i in range(1, 11):
        numer = numer * ((i - beta) * x / i)
        denom = alpha + i
        series = series + numer / denom * (factor + 1 / denom)
    result = x * (1 - x) ** -beta * series
    return np.where(np.isnan(result), 0.0, result)


def _beta_grad_beta_near_zero(x, alpha, beta, digamma):
    """dx/dbeta for x ~ Beta(alpha, beta) near 0 (used at 1 - x with the parameters swapped)."""
    factor = digamma(alpha + beta) - digamma(beta)
    numer, betas, dbetas = np.ones_like(x), np.ones_like(x), np.zeros_like(x)
    series = factor / alpha
    for i in range(1, 9):
        numer = numer * (-x / i)
        dbetas = dbetas * (beta - i) + betas
        betas = betas * (beta - i)
        series = series + numer / (alpha + i) * (dbetas + factor * betas)
    result = -(1 - x) ** (1 - beta) * series
    return np.where(np.isnan(result), 0.0, result)


def _beta_grad_saddle_point(x, alpha, beta):
    """dx/dalpha for x ~ Beta(alpha, beta) with alpha and beta large: Rice's saddle point expansion, a
    polynomial within a tenth of a standard deviation of the mean (where the expansion is singular)."""
    total = alpha + beta
    mean = alpha / total
    std = np.sqrt(alpha * beta / (total + 1)) / total
    poly = 47 * x * (beta * beta) * (beta * beta) + alpha * (
        (43 + 20 * (16 + 27 * beta) * x) * (beta * beta) * beta + alpha * (
            3 * (59 + 180 * beta - 90 * x) * (beta * beta) + alpha * (
                (453 + 1620 * beta * (1 - x) - 455 * x) * beta + alpha * (8 * (1 - x) * (135 * beta - 11)))))
    prefactor_num = (1 + 12 * alpha) * (1 + 12 * beta) / (total * total)
    prefactor_den = 12960 * alpha * alpha * alpha * beta * beta * (1 + 12 * total)
    near = prefactor_num / (1 - x) * poly / prefactor_den
    prefactor = -x / np.sqrt(2 * alpha * beta / total)
    stirling = ((1 + 1 / (12 * alpha) + 1 / (288 * alpha * alpha)) * (1 + 1 / (12 * beta) + 1 / (288 * beta * beta))
                / (1 + 1 / (12 * total) + 1 / (288 * total * total)))
    term1_num = 2 * (alpha * alpha) * (x - 1) + alpha * beta * (x - 1) - x * (beta * beta)
    axbx = alpha * (x - 1) + beta * x
    term1 = term1_num / (np.sqrt(2 * alpha / beta) * total ** 1.5 * axbx * axbx)
    term2 = 0.5 * np.log(alpha / (total * x))
    term3 = np.sqrt(8 * alpha * beta / total) / (beta * x + alpha * (x - 1))
    term4 = (beta * np.log(beta / (total * (1 - x))) + alpha * np.log(alpha / (total * x))) ** -1.5
    far = stirling * prefactor * (term1 + term2 * (term3 + np.where(x < mean, term4, -term4)))
    return np.where((mean - 0.1 * std <= x) & (x <= mean + 0.1 * std), near, far)


def _dirichlet_grad_array(x, alpha, total):
    """dx/dalpha for x ~ Beta(alpha, total - alpha), elementwise in float64 (Note [gradient of a Dirichlet sample])."""
    digamma = _special_module(np).digamma
    x, alpha, total = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(x, alpha, total))
    beta = total - alpha
    boundary = total * x * (1 - x)
    with np.errstate(all="ignore"):
        near_zero = _beta_grad_near_zero(x, alpha, beta, digamma)
        near_one = -_beta_grad_beta_near_zero(1 - x, beta, alpha, digamma)
        saddle = _beta_grad_saddle_point(x, alpha, beta)
        u = np.log(x)
        a = np.log(alpha) - u
        b = np.log(total) - a
        pq = []
        for c in _RATIONAL_COEFS:
            acc = np.zeros_like(x)
            for i in range(3):
                for j in range(3):
                    cb = c[i, j]
                    acc = acc + u ** i * a ** j * (cb[0] + b * (cb[1] + b * (cb[2] + b * cb[3])))
            pq.append(acc)
        rational = pq[0] / pq[1] * (x * (digamma(total) - digamma(alpha)) / beta)
    return np.where((x <= 0.5) & (boundary < 2.5), near_zero,
                    np.where((x >= 0.5) & (boundary < 0.75), near_one,
                             np.where((alpha > 6) & (beta > 6), saddle, rational)))


def _dirichlet_grad(x, alpha, total):
    """torch._dirichlet_grad: dx/dalpha for samples x of Beta(alpha, total - alpha), in x's dtype."""
    for t in (alpha, total):
        if t.dtype is not x.dtype:
            raise RuntimeError(f"Found dtype {_type_word(t.dtype)} but expected {_type_word(x.dtype)}")
    if x.dtype not in (flambeau.float32, flambeau.float64):
        raise NotImplementedError(f"\"_dirichlet_grad_cpu\" not implemented for '{_type_word(x.dtype)}'")

    def compute():
        arrays = [_xp.to_host(t.detach()._data) for t in (x, alpha, total)]
        grad = _dirichlet_grad_array(*arrays).astype(x.dtype.np)
        return flambeau.tensor(grad, device=x.device)

    if not flambeau.is_grad_enabled() or not any(t.requires_grad for t in (x, alpha, total)):
        return compute()
    from flambeau.linalg import _not_differentiable
    return _not_differentiable("_dirichlet_grad", compute, x, alpha, total)


class _Dirichlet(Function):
    """Dirichlet samples (torch._sample_dirichlet), differentiable in the concentration through each
    coordinate's Beta marginal (Note [gradient of a Dirichlet sample]), as torch's _Dirichlet."""

    @staticmethod
    def forward(ctx, concentration):
        x = flambeau._sample_dirichlet(concentration)
        ctx.x = x
        ctx.save_for_backward(concentration)
        return x

    @staticmethod
    def backward(ctx, grad_output):         # dx_j/dalpha_i through x_i's Beta marginal and the normalization
        (concentration,) = ctx.saved_tensors
        x = ctx.x
        with flambeau.no_grad():
            total = concentration.sum(-1, True).expand_as(concentration)
            grad = _dirichlet_grad(x, concentration, total)
            return grad * (grad_output - (x * grad_output).sum(-1, True))


def _sample_dirichlet(concentration):
    """Reparameterized Dirichlet samples: torch's draws, differentiable as torch's _Dirichlet."""
    return _Dirichlet.apply(concentration)


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
