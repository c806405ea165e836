"""Helpers shared by the distributions (torch.distributions.utils)."""
import numbers
from functools import update_wrapper

import flambeau
from flambeau import Tensor

euler_constant = 0.57721566490153286060  # Euler Mascheroni Constant

__all__ = ["broadcast_all", "logits_to_probs", "clamp_probs", "probs_to_logits", "lazy_property",
           "tril_matrix_to_vec", "vec_to_tril_matrix"]

_Number = (numbers.Number,)


def broadcast_all(*values):
    """The values broadcast together; numbers become tensors of the first tensor's dtype and device
    (of the default dtype when all are numbers)."""
    if not all(isinstance(v, (Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of Number, "
                         "torch.Tensor or objects implementing __torch_function__.")
    if not all(isinstance(v, Tensor) for v in values):
        options = dict(dtype=flambeau.get_default_dtype())
        for value in values:
            if isinstance(value, Tensor):
                options = dict(dtype=value.dtype, device=value.device)
                break
        values = [v if isinstance(v, Tensor) else flambeau.tensor(v, **options) for v in values]
    return flambeau.broadcast_tensors(*values)


def _standard_normal(shape, dtype, device):
    return flambeau.empty(shape, dtype=dtype, device=device).normal_()


def _sum_rightmost(value, dim):
    """Sum out the dim rightmost dimensions of value."""
    if dim == 0:
        return value
    required_shape = value.shape[:-dim] + (-1,)
    return value.reshape(required_shape).sum(-1)


def logits_to_probs(logits, is_binary=False):
    """Log-odds (is_binary) or unnormalized log-probabilities along the last dim -> probabilities."""
    if is_binary:
        return flambeau.sigmoid(logits)
    return flambeau.nn.functional.softmax(logits, dim=-1)


def clamp_probs(probs):
    """Probabilities clamped to [eps, 1 - eps], eps the dtype's machine epsilon."""
    eps = flambeau.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    """Probabilities -> log-odds (is_binary) or log-probabilities."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return flambeau.log(ps_clamped) - flambeau.log1p(-ps_clamped)
    return flambeau.log(ps_clamped)


class lazy_property:
    """A property computed on first use (with grad enabled) and then stored on the instance."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        with flambeau.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):
    """A lazy_property that also looks like a property when read from the class."""

    def __init__(self, wrapped):
        property.__init__(self, wrapped)


def _tril_mask(n, diag, device):
    arange = flambeau.arange(n, device=device)
    return arange < arange.view(-1, 1) + (diag + 1)


def tril_matrix_to_vec(mat, diag=0):
    """The lower-triangular entries of (a batch of) D x D matrices, row by row."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    return mat[..., _tril_mask(n, diag, mat.device)]


def vec_to_tril_matrix(vec, diag=0):
    """(A batch of) vectors -> D x D lower-triangular matrices filled row by row."""
    # +ve root of D**2 + (1+2*diag)*D - |diag| * (diag+1) - 2*vec.shape[-1] = 0
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * vec.shape[-1] + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    eps = flambeau.finfo(vec.dtype).eps
    if round(n) - n > eps:
        raise ValueError(f"The size of last dimension is {vec.shape[-1]} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = round(n)
    mat = vec.new_zeros(vec.shape[:-1] + flambeau.Size((n, n)))
    mat[..., _tril_mask(n, diag, vec.device)] = vec
    return mat


def batch_shape_of(given, broadcast):
    """The batch shape of a distribution built from parameters ``given`` (as passed) and ``broadcast``
    (after broadcast_all): empty when every parameter was a Python number, as torch."""
    return flambeau.Size() if all(isinstance(p, _Number) for p in given) else broadcast.size()


class BinaryProbs:
    """``probs`` and ``logits`` of a distribution parametrized by a success probability, each computed
    from the other on first use (Bernoulli, Binomial, Geometric)."""

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)
