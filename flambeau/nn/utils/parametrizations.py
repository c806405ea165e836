"""``nn.utils.parametrizations``: weight_norm, spectral_norm and orthogonal, registered with
``nn.utils.parametrize`` (state_dict keys ``parametrizations.weight.original0`` ...)."""
from enum import Enum, auto

import flambeau
from ..._tensor import Tensor
from ...autograd import grad_mode
from .. import functional as F
from ..modules.module import Module
from . import parametrize

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


def _norm_except_dim(v, pow, dim):
    """torch.norm_except_dim: the p-norm over every dimension but ``dim``, kept as size-1
    dimensions; dim == -1 means the norm of the whole tensor (a 0-dim result)."""
    if dim == -1:
        return flambeau.linalg.vector_norm(v, pow)
    dim = dim % v.ndim
    others = [d for d in range(v.ndim) if d != dim]
    if not others:
        return v.abs()
    return flambeau.linalg.vector_norm(v, pow, dim=others, keepdim=True)


def _weight_norm(v, g, dim):
    return v * (g / _norm_except_dim(v, 2, dim))


def _householder_product(A, tau):
    """linalg.householder_product: the first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^H,
    v_i being column i of A below the diagonal with a 1 on it (differentiable)."""
    m, n = A.shape[-2], A.shape[-1]
    rows = flambeau.arange(m, device=A.device)
    Q = flambeau.eye(m, dtype=A.dtype, device=A.device).expand(*A.shape[:-2], m, m)
    for i in range(tau.shape[-1]):
        v = A[..., :, i] * (rows > i).to(A.dtype) + (rows == i).to(A.dtype)
        Qv = (Q @ v.unsqueeze(-1))                                    # (..., m, 1)
        Q = Q - (tau[..., i, None, None] * Qv) @ v.conj().unsqueeze(-2)
    return Q[..., :, :n]


def _geqrf(A):
    """torch.geqrf for real matrices: R on and above the diagonal, the Householder vectors
    below it (LAPACK's convention, v_0 = 1), and their scales tau."""
    R = A.clone()
    m, n = R.shape[-2], R.shape[-1]
    taus = []
    for j in range(min(m, n)):
        alpha = R[..., j, j]
        rest = R[..., j + 1:, j]
        xnorm = flambeau.linalg.vector_norm(rest, dim=-1)
        reflect = xnorm != 0              # LAPACK leaves a column with nothing below as it is
        # beta carries the sign opposite to alpha's (zero counts as positive, as LAPACK's SIGN)
        beta = -flambeau.where(alpha >= 0, 1.0, -1.0).to(R.dtype) * flambeau.hypot(alpha, xnorm)
        safe_beta = flambeau.where(reflect, beta, flambeau.ones_like(beta))
        tau = flambeau.where(reflect, (beta - alpha) / safe_beta, flambeau.zeros_like(beta))
        scale = flambeau.where(reflect, 1.0 / (alpha - safe_beta), flambeau.zeros_like(beta))
        v_rest = rest * scale.unsqueeze(-1)
        v = flambeau.cat([flambeau.ones_like(alpha).unsqueeze(-1), v_rest], dim=-1)   # (..., m - j)
        trailing = R[..., j:, j + 1:]
        R[..., j:, j + 1:] = trailing - tau[..., None, None] * v.unsqueeze(-1) @ (v.unsqueeze(-2) @ trailing)
        R[..., j, j] = flambeau.where(reflect, beta, alpha)
        R[..., j + 1:, j] = flambeau.where(reflect.unsqueeze(-1), v_rest, rest)
        taus.append(tau)
    return R, flambeau.stack(taus, dim=-1)


def _is_orthogonal(Q, eps=None):
    n, k = Q.size(-2), Q.size(-1)
    Id = flambeau.eye(k, dtype=Q.dtype, device=Q.device)
    eps = 10.0 * n * flambeau.finfo(Q.dtype).eps      # a reasonable eps, but not too large
    return flambeau.allclose(Q.mH @ Q, Id, atol=eps)


def _make_orthogonal(A):
    """The Q of A's QR decomposition whose R has a positive (real) diagonal."""
    Q, R = flambeau.linalg.qr(A)
    return Q * R.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        # complex reflectors cannot be told apart from their tau: no complex householder
        if weight.is_complex() and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.size(-2), X.size(-1)
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        # X is now a tall matrix
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = X.tril()       # n * k - k * (k - 1) / 2 parameters
            if n != k:
                X = flambeau.cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)], dim=-1)
            A = X - X.mH       # skew-symmetric (skew-hermitian)
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = flambeau.matrix_exp(A)
            else:
                # the Cayley retraction (I + A/2)(I - A/2)^{-1}
                Id = flambeau.eye(n, dtype=A.dtype, device=A.device)
                Q = flambeau.linalg.solve(flambeau.add(Id, A, alpha=-0.5), flambeau.add(Id, A, alpha=0.5))
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = _householder_product(A, tau)
            # X's diagonal holds 1s and -1s, neither differentiated nor updated: hence the cast
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if hasattr(self, "base"):
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    @grad_mode.no_grad()
    def right_inverse(self, Q):
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {Q.shape}.")
        Q_init = Q
        n, k = Q.size(-2), Q.size(-1)
        transpose = n < k
        if transpose:
            Q = Q.mT
            n, k = k, n
        if not hasattr(self, "base"):
            if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                raise NotImplementedError("It is not possible to assign to the matrix exponential "
                                          "or the Cayley parametrizations when use_trivialization=False.")
            # householder (real only): Q's QR, with diag(R) > 0 so that -Q @ -Id is not an answer too
            A, tau = _geqrf(Q)
            A.diagonal(dim1=-2, dim2=-1).sign_()
            # LAPACK returns exactly zero when it skips a reflection
            A.diagonal(dim1=-2, dim2=-1)[tau == 0.0] *= -1
            return A.mT if transpose else A
        if n == k:
            Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
        else:
            # complete Q into an n x n orthogonal matrix
            N = flambeau.randn(*(Q.size()[:-2] + (n, n - k)), dtype=Q.dtype, device=Q.device)
            Q = _make_orthogonal(flambeau.cat([Q, N], dim=-1))
        self.base = Q
        # -Id, as the householder map uses the diagonal: householder(zeros(m, n)) == eye(m, n)
        neg_Id = flambeau.zeros_like(Q_init)
        neg_Id.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
        return neg_Id


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Constrain the matrix (or batch of matrices) ``module.<name>`` to be orthogonal (unitary).

    orthogonal_map: "matrix_exp" (default for square or complex), "cayley", or "householder"
    (default otherwise)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = ("matrix_exp" if weight.size(-2) == weight.size(-1) or weight.is_complex()
                          else "householder")
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if orth_enum is None:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return _norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """``module.<name>`` = g * v / ||v||, the norm over every dimension but ``dim`` (all of them
    for dim=None); g is ``parametrizations.<name>.original0``, v ``original1``."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def load_old_keys(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        # a checkpoint of the old weight_norm (name_g, name_v) loads into this one, as torch's does
        g, v = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g in state_dict and v in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v)
    module._register_load_state_dict_pre_hook(load_old_keys)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but "
                             f"got n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            # a vector needs no approximation (see forward)
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight)
            h, w = weight_mat.size()
            u = weight_mat.new_empty(h).normal_(0, 1)
            v = weight_mat.new_empty(w).normal_(0, 1)
            self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            # start from reasonable u, v
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    @grad_mode.no_grad()
    def _power_method(self, weight_mat, n_power_iterations):
        # u and v are updated in place (a module replica sharing them sees the update) and
        # cloned in forward, so that two forwards can be backpropagated together
        for _ in range(n_power_iterations):
            self._u = F.normalize(flambeau.mv(weight_mat, self._v), dim=0, eps=self.eps, out=self._u)
            self._v = F.normalize(flambeau.mv(weight_mat.H, self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u = self._u.clone(memory_format=flambeau.contiguous_format)
        v = self._v.clone(memory_format=flambeau.contiguous_format)
        sigma = flambeau.vdot(u, flambeau.mv(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """``module.<name>`` divided by its largest singular value, estimated by power iteration
    (one step per forward in training mode; the vectors are the buffers
    ``parametrizations.<name>.0._u`` and ``._v``)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if isinstance(module, (flambeau.nn.ConvTranspose1d, flambeau.nn.ConvTranspose2d,
                                       flambeau.nn.ConvTranspose3d)) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
