"""LKJCholesky(dim, concentration): the LKJ distribution over Cholesky factors of correlation matrices.

Lewandowski, Kurowicka and Joe, Generating random correlation matrices based on vines and extended onion
method, Journal of Multivariate Analysis 100 (2009).
"""
import math

import flambeau

from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """The distribution of the lower Cholesky factor L of a dim x dim correlation matrix M = L L^T with
    density proportional to det(M)^(concentration - 1): uniform over correlation matrices when
    concentration = 1, favouring the identity above 1 and strong correlations below.

    Samples come from the onion method (Lewandowski et al. 2009, section 3.2), drawn directly as Cholesky
    factors.
    """
    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = self.concentration.size()
        event_shape = flambeau.Size((dim, dim))
        # Row i >= 1 of L is (sqrt(y_i) u_i, sqrt(1 - y_i)) with u_i uniform on the unit sphere of R^i and
        # y_i ~ Beta(i / 2, concentration + (dim - 1 - i) / 2); row 0 is (1, 0, ...), its Beta draw unused.
        i = flambeau.arange(dim, dtype=self.concentration.dtype, device=self.concentration.device)
        conc1 = i.clamp(min=1) / 2
        conc0 = self.concentration.unsqueeze(-1) + (dim - 1 - i.clamp(min=1)) / 2
        self._beta = Beta(conc1, conc0)
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = flambeau.Size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        super(LKJCholesky, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=flambeau.Size()):
        y = self._beta.sample(sample_shape).unsqueeze(-1)  # (..., dim, 1): squared length off the diagonal
        with flambeau.no_grad():
            u = flambeau.randn(self._extended_shape(sample_shape), dtype=y.dtype, device=y.device).tril(-1)
            norm = u.norm(dim=-1, keepdim=True)
            u = u / flambeau.where(norm > 0, norm, flambeau.ones_like(norm))  # row 0 has nothing to normalize
            w = y.sqrt() * u
            # the diagonal completes each row to unit length; the clamp keeps rounding from a negative sqrt
            diag = (1 - (w * w).sum(-1)).clamp(min=flambeau.finfo(w.dtype).tiny).sqrt()
            return w + diag.diag_embed()

    def log_prob(self, value):
        # p(M) is proportional to det(M)^(eta - 1) = prod_i L_ii^(2 (eta - 1)), and the Jacobian of L -> M is
        # prod_{i=2..D} L_ii^(D - i) (1-based), so log p(L) = sum_{i=2..D} (2 (eta - 1) + D - i) log L_ii - log Z
        if self._validate_args:
            self._validate_sample(value)
        diag = value.diagonal(dim1=-2, dim2=-1)[..., 1:]
        i = flambeau.arange(2, self.dim + 1, device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - i
        unnormalized = (order * diag.log()).sum(-1)
        # log Z (Lewandowski et al. 2009, p. 1999), with alpha = eta + (D - 1) / 2:
        # (D - 1) log(pi) / 2 + mvlgamma(alpha - 1/2, D - 1) - (D - 1) lgamma(alpha); mvlgamma carries
        # (D - 1)(D - 2) log(pi) / 4 of the paper's D (D - 1) log(pi) / 4, the first term the rest
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        log_z = 0.5 * dm1 * math.log(math.pi) + flambeau.mvlgamma(alpha - 0.5, dm1) - dm1 * flambeau.lgamma(alpha)
        return unnormalized - log_z
