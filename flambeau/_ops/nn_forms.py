"""nn.functional ops in the form PyTorch also exposes them at its top level (``torch.layer_norm``,
``torch.embedding``, ``torch.lstm_cell`` ...): their own argument order, reductions given as
numbers (0 none, 1 mean, 2 sum) and modes as numbers. Each calls nn.functional, which holds the
op and its backward."""
from .._dtype import bool as _bool

__all__ = ["cosine_similarity", "pairwise_distance", "dropout", "alpha_dropout", "feature_dropout",
           "feature_alpha_dropout", "dropout_", "alpha_dropout_", "feature_dropout_", "feature_alpha_dropout_",
           "native_dropout", "layer_norm", "native_layer_norm", "rms_norm", "batch_norm", "native_batch_norm",
           "group_norm", "native_group_norm", "instance_norm", "embedding", "embedding_renorm_", "constant_pad_nd",
           "convolution", "kl_div", "binary_cross_entropy_with_logits", "cosine_embedding_loss",
           "hinge_embedding_loss", "margin_ranking_loss", "triplet_margin_loss", "poisson_nll_loss", "ctc_loss",
           "rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell", "norm_except_dim", "grid_sampler",
           "grid_sampler_2d", "grid_sampler_3d", "affine_grid_generator"]

_INTERPOLATIONS = ("bilinear", "nearest", "bicubic")
_PADDINGS = ("zeros", "border", "reflection")


def _F():
    from ..nn import functional
    return functional


def _named(names, value, what):
    """The name an enum number stands for (interpolation_mode=1 is 'nearest')."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < len(names):
        raise ValueError(f"{value} is not a valid value for {what}")
    return names[value]


def _reduction(value):
    """reduction=1 is 'mean', 2 'sum'; PyTorch leaves a loss unreduced for any other number."""
    return {1: "mean", 2: "sum"}.get(value, "none")


# -- dropout ----------------------------------------------------------------------------------
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    return _F().cosine_similarity(x1, x2, dim, eps)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    return _F().pairwise_distance(x1, x2, p, eps, keepdim)


def dropout(input, p, train):
    return _F().dropout(input, p, train)


def alpha_dropout(input, p, train):
    return _F().alpha_dropout(input, p, train)


def _feature_dropout(input, p, train, inplace, alpha=False):
    F = _F()
    if alpha:
        return F.feature_alpha_dropout(input, p, train, inplace)
    return (F.dropout2d if input.ndim == 4 else F.dropout1d)(input, p, train, inplace)


def feature_dropout(input, p, train):
    return _feature_dropout(input, p, train, False)


def feature_alpha_dropout(input, p, train):
    return _feature_dropout(input, p, train, False, alpha=True)


def dropout_(input, p, train):
    return _F().dropout(input, p, train, inplace=True)


def alpha_dropout_(input, p, train):
    return _F().alpha_dropout(input, p, train, inplace=True)


def feature_dropout_(input, p, train):
    return _feature_dropout(input, p, train, True)


def feature_alpha_dropout_(input, p, train):
    return _feature_dropout(input, p, train, True, alpha=True)


def native_dropout(input, p, train):
    """(output, mask): the mask (bool) of the elements kept, all True when not training."""
    from .creation import empty_like, ones_like
    if train is False:                  # (train=None counts as training, as in PyTorch)
        return input.clone(), ones_like(input, dtype=_bool)
    keep = empty_like(input).bernoulli_(1 - p)          # torch's draws, even for p = 0 or 1
    return input * keep * (1.0 / (1 - p) if p < 1 else 0.0), keep.to(_bool)


# -- normalization ----------------------------------------------------------------------------
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    return _F().layer_norm(input, normalized_shape, weight, bias, eps)


def native_layer_norm(input, normalized_shape, weight, bias, eps):
    """(output, mean, rstd), the statistics over the normalized dims kept as size-1 dims."""
    dims = tuple(range(input.ndim - len(normalized_shape), input.ndim))
    mean, rstd = _statistics(input, dims)
    return _F().layer_norm(input, normalized_shape, weight, bias, eps), mean, (rstd + eps).rsqrt()


def _statistics(input, dims):
    """The mean and biased variance over dims (kept), without a graph."""
    x = input.detach()
    mean = x.mean(dims, keepdim=True)
    return mean, ((x - mean) ** 2).mean(dims, keepdim=True)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    return _F().rms_norm(input, normalized_shape, weight, eps)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
    return _F().batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """(output, batch mean, batch 1/std) per channel when training; the statistics empty otherwise."""
    from .creation import empty
    if training:
        dims = (0,) + tuple(range(2, input.ndim))
        mean, var = _statistics(input, dims)
        saved = mean.reshape(-1), (var + eps).rsqrt().reshape(-1)
    else:
        saved = tuple(empty(0, dtype=input.dtype, device=input.device) for _ in range(2))
    out = _F().batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    return (out,) + saved


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    return _F().group_norm(input, num_groups, weight, bias, eps)


def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    """(output, mean, rstd), the statistics of each (sample, group). Unlike the other native norms',
    PyTorch's are differentiable: a gradient through them reaches input."""
    groups = input.reshape(N, group, C // group * HxW)          # (explicit: N may be 0)
    mean = groups.mean(2, keepdim=True)
    rstd = (((groups - mean) ** 2).mean(2) + eps).rsqrt()
    out = _F().group_norm(input, group, weight, bias, eps)
    return out, mean.reshape(N, group), rstd


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled):
    return _F().instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


# -- embedding, padding, convolution ----------------------------------------------------------
def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """Rows of weight picked by indices; a negative padding_idx means none (nn.functional has
    already wrapped the user's)."""
    return _F().embedding(indices, weight, None if padding_idx < 0 else padding_idx,
                          scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def embedding_renorm_(input, indices, max_norm, norm_type):
    """Rescale, in place, the rows of input that indices picks to norms of at most max_norm."""
    _F()._embedding_renorm_(input, indices, max_norm, norm_type)
    return input


def constant_pad_nd(input, pad, value=0):
    return _F().pad(input, pad, mode="constant", value=value)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """The convolution of input's spatial dims (1 to 3 of them, from weight's shape), or its transpose."""
    F = _F()
    spatial = weight.ndim - 2
    if spatial not in (1, 2, 3):
        raise RuntimeError(f"convolution: expected a weight of 3 to 5 dims, got {weight.ndim}")
    if transposed:
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[spatial - 1]
        return conv(input, weight, bias, stride, padding, output_padding, groups, dilation)
    conv = (F.conv1d, F.conv2d, F.conv3d)[spatial - 1]
    return conv(input, weight, bias, stride, padding, dilation, groups)


# -- losses -----------------------------------------------------------------------------------
def kl_div(input, target, reduction=1, *, log_target=False):
    how = _reduction(reduction)
    loss = _F().kl_div(input, target, reduction="none", log_target=log_target)
    return loss.mean() if how == "mean" else loss.sum() if how == "sum" else loss     # (no 'batchmean' warning)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=1):
    return _F().binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(reduction),
                                                 pos_weight=pos_weight)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=1):
    return _F().cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def hinge_embedding_loss(input, target, margin=1.0, reduction=1):
    return _F().hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=1):
    return _F().margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction=1):
    return _F().triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    return _F().poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction(reduction))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=1, zero_infinity=False):
    return _F().ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _reduction(reduction), zero_infinity)


# -- recurrent cells --------------------------------------------------------------------------
def _cell(mode, input, states, w_ih, w_hh, b_ih, b_hh):
    """One step of a batch (N, input_size): the gates split along dim 1, as PyTorch's, which takes no
    unbatched input here (nn's cells do)."""
    from ..nn.modules.rnn import _rnn_step
    gi = _F().linear(input, w_ih, b_ih)
    h, c = _rnn_step(mode, gi, states[0], w_hh, b_hh, states[1] if mode == "LSTM" else None, fused=False)
    return (h, c) if mode == "LSTM" else (h,)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """tanh(input w_ih^T + b_ih + hx w_hh^T + b_hh)"""
    return _cell("RNN_TANH", input, [hx], w_ih, w_hh, b_ih, b_hh)[0]


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """relu(input w_ih^T + b_ih + hx w_hh^T + b_hh)"""
    return _cell("RNN_RELU", input, [hx], w_ih, w_hh, b_ih, b_hh)[0]


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step from hx = (h, c): returns (h', c')."""
    if len(hx) != 2:
        raise RuntimeError(f"lstm_cell expects two hidden states, got {len(hx)}")
    return _cell("LSTM", input, list(hx), w_ih, w_hh, b_ih, b_hh)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step: returns h'."""
    return _cell("GRU", input, [hx], w_ih, w_hh, b_ih, b_hh)[0]


# -- norms and sampling -----------------------------------------------------------------------
def norm_except_dim(v, pow=2, dim=0):
    """The pow-norm of v over every dim but dim (kept, the others size 1); dim=-1: of all of v."""
    if dim == -1:
        return v.norm(pow)
    others = tuple(d for d in range(v.ndim) if d != dim)
    return v.norm(pow, dim=others, keepdim=True)


def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):
    return _F().grid_sample(input, grid, _named(_INTERPOLATIONS, interpolation_mode, "interpolation_mode"),
                            _named(_PADDINGS, padding_mode, "padding_mode"), align_corners)


grid_sampler_2d = grid_sampler_3d = grid_sampler


def affine_grid_generator(theta, size, align_corners):
    return _F().affine_grid(theta, size, align_corners)

