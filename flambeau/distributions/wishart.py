"""Wishart(df, covariance_matrix | precision_matrix | scale_tril): distributions over positive-definite matrices."""
import math
import warnings

import flambeau

from . import constraints
from .exp_family import ExponentialFamily
from .gamma import _standard_gamma
from .multivariate_normal import _precision_to_scale_tril
from .utils import _Number, lazy_property

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x, p):
    """The multivariate digamma function: sum_{i<p} digamma(x - i / 2), the derivative of mvlgamma(x, p)."""
    if not bool(x.gt((p - 1) / 2).all()):
        raise ValueError(f"_mvdigamma(): expected every x > (p - 1) / 2 = {(p - 1) / 2}")
    halves = flambeau.arange(p, dtype=x.dtype, device=x.device) / 2
    return flambeau.digamma(x.unsqueeze(-1) - halves).sum(-1)


class Wishart(ExponentialFamily):
    """The Wishart distribution of df degrees of freedom (df > p - 1 for p x p matrices) and scale matrix
    Sigma, given as exactly one of covariance_matrix (Sigma), precision_matrix (Sigma^-1) or scale_tril
    (L, Sigma = L L^T); computations run on scale_tril. For integer df it is the law of X^T X for df rows
    X_k ~ MultivariateNormal(0, Sigma); mean df Sigma, Var(X_ij) = df (Sigma_ij^2 + Sigma_ii Sigma_jj).

    Samples use the Bartlett decomposition (L A)(L A)^T with A lower triangular, A_ii^2 ~ Chi2(df - i) and
    A_ij ~ Normal(0, 1) below the diagonal; they are reparameterized in df and the scale.
    """
    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        given = [p for p in (covariance_matrix, precision_matrix, scale_tril) if p is not None]
        if len(given) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                                 "specified.")
        param = given[0]
        if param.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, _Number):
            batch_shape = flambeau.Size(param.shape[:-2])
            self.df = flambeau.tensor(df, dtype=param.dtype, device=param.device)
        else:
            batch_shape = flambeau.broadcast_shapes(param.shape[:-2], df.shape)
            self.df = df.expand(batch_shape)
        event_shape = param.shape[-2:]
        p = event_shape[-1]
        if bool(self.df.le(p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")

        if scale_tril is not None:
            self.scale_tril = param.expand(batch_shape + (-1, -1))
        elif covariance_matrix is not None:
            self.covariance_matrix = param.expand(batch_shape + (-1, -1))
        else:
            self.precision_matrix = param.expand(batch_shape + (-1, -1))

        if bool(self.df.lt(p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for "
                          "ndim - 1 < df < ndim.", stacklevel=2)

        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        self._batch_dims = [-(x + 1) for x in range(len(self._batch_shape))]

        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = flambeau.linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = flambeau.Size(batch_shape)
        cov_shape = batch_shape + self.event_shape
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(cov_shape)
        new.df = self.df.expand(batch_shape)
        new._batch_dims = [-(x + 1) for x in range(len(batch_shape))]
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(cov_shape))
        super(Wishart, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._batch_shape + self._event_shape)

    @lazy_property
    def covariance_matrix(self):
        tril = self._unbroadcasted_scale_tril
        return (tril @ tril.mT).expand(self._batch_shape + self._event_shape)

    @lazy_property
    def precision_matrix(self):
        tril = self._unbroadcasted_scale_tril
        identity = flambeau.eye(self._event_shape[-1], dtype=tril.dtype, device=tril.device)
        return flambeau.cholesky_solve(identity, tril).expand(self._batch_shape + self._event_shape)

    @property
    def mean(self):
        return self.df.view(self._batch_shape + (1, 1)) * self.covariance_matrix

    @property
    def mode(self):
        # (df - p - 1) Sigma, defined for df > p + 1 only
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = flambeau.where(factor > 0, factor, flambeau.full_like(factor, math.nan))
        return factor.view(self._batch_shape + (1, 1)) * self.covariance_matrix

    @property
    def variance(self):
        cov = self.covariance_matrix
        diag = cov.diagonal(dim1=-2, dim2=-1)
        return self.df.view(self._batch_shape + (1, 1)) * (cov.pow(2) + diag.unsqueeze(-1) * diag.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape=flambeau.Size()):
        p = self._event_shape[-1]
        tril = self._unbroadcasted_scale_tril
        shape = self._extended_shape(sample_shape)
        # Chi2(k) = 2 Gamma(k / 2, 1), k = df - i on row i
        chi2_df = self.df.unsqueeze(-1) - flambeau.arange(p, dtype=tril.dtype, device=tril.device)
        chi2 = 2 * _standard_gamma((chi2_df / 2).expand(shape[:-1]))
        diag = chi2.sqrt().clamp(min=flambeau.finfo(chi2.dtype).eps)
        noise = flambeau.randn(shape, dtype=tril.dtype, device=tril.device).tril(-1) + diag.diag_embed()
        chol = tril @ noise
        return chol @ chol.mT

    def _singular(self, sample):
        """Which samples (over sample_shape) have a singular matrix in some batch entry."""
        singular = ~self.support.check(sample)
        if self._batch_shape:
            singular = singular.amax(self._batch_dims)
        return singular

    def rsample(self, sample_shape=flambeau.Size(), max_try_correction=None):
        """Reparameterized samples. The Bartlett decomposition may return numerically singular matrices
        (mostly for df < p): those are redrawn up to max_try_correction (default 10) times, with a warning;
        any still singular after that are returned as they are (their log_prob may be -inf)."""
        if max_try_correction is None:
            max_try_correction = 10
        sample_shape = flambeau.Size(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        singular = self._singular(sample)
        if bool(singular.any()):
            warnings.warn("Singular sample detected.", stacklevel=2)
            expand_mask = singular.view(sample_shape + (1,) * (len(self._batch_shape) + 2))
            for _ in range(max_try_correction):
                sample = flambeau.where(expand_mask, self._bartlett_sampling(sample_shape), sample)
                singular = self._singular(sample)
                if not bool(singular.any()):
                    break
                expand_mask = singular.view(sample_shape + (1,) * (len(self._batch_shape) + 2))
        return sample

    def log_prob(self, value):
        # log p(X) = -df (p log 2 / 2 + log det L) - mvlgamma(df / 2, p) + (df - p - 1) / 2 log det X
        #            - tr(Sigma^-1 X) / 2
        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        p = self._event_shape[-1]
        tril = self._unbroadcasted_scale_tril
        half_log_det_sigma = tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        trace = flambeau.cholesky_solve(value, tril).diagonal(dim1=-2, dim2=-1).sum(-1)
        return (-nu * (p * _LOG_2 / 2 + half_log_det_sigma) - flambeau.mvlgamma(nu / 2, p=p)
                + (nu - p - 1) / 2 * flambeau.linalg.slogdet(value).logabsdet - trace / 2)

    def entropy(self):
        # H = (p + 1) (p log 2 / 2 + log det L) + mvlgamma(df / 2, p) - (df - p - 1) / 2 mvdigamma(df / 2, p)
        #     + df p / 2
        nu = self.df
        p = self._event_shape[-1]
        half_log_det_sigma = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return ((p + 1) * (p * _LOG_2 / 2 + half_log_det_sigma) + flambeau.mvlgamma(nu / 2, p=p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p=p) + nu * p / 2)

    @property
    def _natural_params(self):
        # theta = (-Sigma^-1 / 2, (df - p - 1) / 2) for the statistics (X, log det X)
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x, y):
        # with a = y + (p + 1) / 2 = df / 2: a (p log 2 - log det(-2 x)) + mvlgamma(a, p)
        p = self._event_shape[-1]
        a = y + (p + 1) / 2
        return a * (-flambeau.linalg.slogdet(-2 * x).logabsdet + _LOG_2 * p) + flambeau.mvlgamma(a, p=p)
