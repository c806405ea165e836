"""scaled_dot_product_attention and multi_head_attention_forward, as PyTorch computes them.

Both are compositions of differentiable flambeau ops (matmul, softmax, dropout, linear...),
so their gradients, and second gradients, come from those ops. scaled_dot_product_attention
is PyTorch's math backend: q and k each scaled by sqrt(scale), half precision computed in
float32, and a row whose keys are all masked out gives zeros (not NaN), with a zero gradient.
multi_head_attention_forward is torch.nn.functional's, step for step (there is no nested
tensor fast path: flambeau has no nested tensors).
"""
import math
import warnings

from .._tensor import Tensor
from .._ops import creation as _creation
from .._ops._util import check_same_device, broadcast_shapes, _type_word
from .._ops.blas import baddbmm
from .. import _dtype
from . import functional as F   # functional imports this module: its names are read at call time

# dtype names as PyTorch's C++ messages print them
_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
              "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "bool": "bool", "complex64": "c10::complex<float>",
              "complex128": "c10::complex<double>"}


def _cpp_name(dtype):
    return _CPP_NAMES.get(dtype.name, dtype.name)


def _check_tensor_arg(name, position, x, optional=False):
    if optional and x is None:
        return
    if not isinstance(x, Tensor):
        where = f" (position {position})" if position else ""
        raise TypeError(f"scaled_dot_product_attention(): argument '{name}'{where} must be Tensor, "
                        f"not {type(x).__name__}")


def _validate_sdpa_input(query, key, value, attn_mask):
    for i, (name, x) in enumerate((("query", query), ("key", key), ("value", value)), 1):
        _check_tensor_arg(name, i, x)
    _check_tensor_arg("attn_mask", 0, attn_mask, optional=True)
    if not query.dtype == key.dtype == value.dtype:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{_cpp_name(query.dtype)} key.dtype: {_cpp_name(key.dtype)} and value.dtype: "
                           f"{_cpp_name(value.dtype)} instead.")
    if not query.device == key.device == value.device:
        raise RuntimeError(f"Expected query, key, and value to have the same device type, but got query.device: "
                           f"{query.device} key.device: {key.device} and value.device: {value.device} instead.")
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError(f"Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                           f"{query.dim()} key.dim: {key.dim()} and value.dim: {value.dim()} instead.")
    if attn_mask is not None:
        mask_dtype = attn_mask.dtype
        if mask_dtype not in (_dtype.bool, _dtype.float32, query.dtype):
            raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                               f"attn_mask.dtype: {_cpp_name(mask_dtype)} and  query.dtype: "
                               f"{_cpp_name(query.dtype)} instead.")
        check_same_device("scaled_dot_product_attention", query, attn_mask)
    if not query.is_floating_point():
        if query.is_complex():
            raise NotImplementedError(f'"softmax_lastdim_kernel_impl" not implemented for '
                                      f"'{_type_word(query.dtype)}'")
        # torch's message: the scaled query has become float, the key has not
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: float != {_cpp_name(query.dtype)}")


def _grouped_key_value(query, key, value, enable_gqa):
    """Grouped-query attention: each key/value head serves query.size(-3) // its heads query heads."""
    if not enable_gqa:
        return key, value
    q_heads, k_heads, v_heads = query.size(-3), key.size(-3), value.size(-3)
    all_equal = q_heads == k_heads == v_heads
    if not (all_equal or (q_heads % k_heads == 0 and q_heads % v_heads == 0)):
        raise RuntimeError("Number of heads in key and value must divide the number of heads in ")
    if all_equal:
        return key, value
    return key.repeat_interleave(q_heads // k_heads, -3), value.repeat_interleave(q_heads // v_heads, -3)


def _check_mask_fits(scores, mask):
    """The mask is added in place to the scores in torch: it may broadcast, but not grow them."""
    shape = broadcast_shapes(tuple(scores.shape), tuple(mask.shape))
    if shape != tuple(scores.shape):
        raise RuntimeError(f"output with shape {list(scores.shape)} doesn't match the broadcast shape {list(shape)}")


def _masked_scores(scores, mask):
    """scores with the mask applied, and the rows (keepdim on the last axis) in which every key is
    masked out: those rows get finite scores here and zero weights after the softmax, as torch's
    safe softmax gives them (not NaN), with no gradient through them."""
    _check_mask_fits(scores, mask)
    flat = mask if mask.dim() else mask.reshape(1)
    if mask.dtype == _dtype.bool:
        dead_rows = flat.logical_not().all(-1, keepdim=True)
        return scores.masked_fill((mask | dead_rows).logical_not(), float("-inf")), dead_rows
    dead_rows = (flat == float("-inf")).all(-1, keepdim=True)
    return scores + mask.masked_fill(dead_rows, 0.0), dead_rows


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, *,
                                 scale=None, enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value over the last two dims, the leading dims broadcast.

    Args:
        query: (N, ..., Hq, L, E); key: (N, ..., H, S, E); value: (N, ..., H, S, Ev)
        attn_mask: bool (True = take part) or float (added to the scores), broadcastable to (..., L, S)
        dropout_p: dropout on the attention weights (always applied: pass 0.0 in evaluation)
        is_causal: query i attends to keys j <= i (a lower triangular (L, S) mask); excludes attn_mask
        scale: the scores' factor, 1 / sqrt(E) by default
        enable_gqa: key and value may have fewer heads (dim -3) than query, dividing its number

    Returns (N, ..., Hq, L, Ev).
    """
    _validate_sdpa_input(query, key, value, attn_mask)
    out_dtype = query.dtype
    if out_dtype in (_dtype.float16, getattr(_dtype, "bfloat16", None)):
        # torch keeps the intermediates of half precision attention in float32
        query, key, value = query.float(), key.float(), value.float()
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
        attn_mask = _creation.ones((query.size(-2), key.size(-2)), dtype=_dtype.bool, device=query.device).tril()
    scale_factor = 1.0 / math.sqrt(query.size(-1)) if scale is None else float(scale)
    root = math.sqrt(abs(scale_factor))
    key, value = _grouped_key_value(query, key, value, enable_gqa)
    scores = (query * (-root if scale_factor < 0 else root)).matmul(key.transpose(-2, -1) * root)
    dead_rows = None
    if attn_mask is not None:
        scores, dead_rows = _masked_scores(scores, attn_mask)
    weights = scores.softmax(-1)
    if dead_rows is not None:
        weights = weights.masked_fill(dead_rows, 0.0)
    if dropout_p > 0.0:
        if dropout_p > 1.0:
            raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
        weights = F.dropout(weights, dropout_p, True)
    out = weights.matmul(value)
    return out if out.dtype == out_dtype else out.to(out_dtype)


# -- multi-head attention ----------------------------------------------------------------------
def _none_or_dtype(input):
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """A bool mask (True = masked out) as an additive float mask of target_type (-inf where True);
    a float mask as it is."""
    if mask is None:
        return None
    is_float = mask.is_floating_point()
    if mask.dtype != _dtype.bool and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both "
                      "instead.", stacklevel=3)
    if not is_float:
        mask = _creation.zeros_like(mask, dtype=target_type).masked_fill_(mask, float("-inf"))
    return mask


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """True for batched (3-D) input, False for unbatched (2-D); torch's errors otherwise."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                                 f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                                 f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                 f"found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                                 f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D but "
                                 f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                                     f"but found {attn_mask.dim()}-D tensor instead")
            expected = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.dim() == 3 and tuple(attn_mask.shape) != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D query "
                         "tensor")


def _in_projection_packed(q, k, v, w, b=None):
    """q, k, v through the three row blocks of the packed in_proj weight: one product when
    q, k and v are the same tensor, two when k is v."""
    E = q.size(-1)
    if k is v:
        if q is k:
            return F.linear(q, w, b).chunk(3, -1)
        w_q, w_kv = w.split([E, E * 2])
        b_q, b_kv = (None, None) if b is None else b.split([E, E * 2])
        return (F.linear(q, w_q, b_q),) + F.linear(k, w_kv, b_kv).chunk(2, -1)
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return F.linear(q, w_q, b_q), F.linear(k, w_k, b_k), F.linear(v, w_v, b_v)


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    """q, k, v through their own projection weights (kdim or vdim differ from embed_dim)."""
    Eq, Ek, Ev = q.size(-1), k.size(-1), v.size(-1)
    for what, w, shape in (("query", w_q, (Eq, Eq)), ("key", w_k, (Eq, Ek)), ("value", w_v, (Eq, Ev))):
        if tuple(w.shape) != shape:
            raise AssertionError(f"expecting {what} weights shape of {shape}, but got {w.shape}")
    for what, b in (("query", b_q), ("key", b_k), ("value", b_v)):
        if b is not None and tuple(b.shape) != (Eq,):
            raise AssertionError(f"expecting {what} bias shape of {(Eq,)}, but got {b.shape}")
    return F.linear(q, w_q, b_q), F.linear(k, w_k, b_k), F.linear(v, w_v, b_v)


def _check_key_padding_mask(key_padding_mask, src_len, bsz):
    if key_padding_mask.shape[0] != bsz:
        raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got {key_padding_mask.shape[0]}")
    if key_padding_mask.shape[1] != src_len:
        raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                             f"{key_padding_mask.shape[1]}")


def _check_static(name, static, bsz_heads, head_dim):
    if static.size(0) != bsz_heads:
        raise AssertionError(f"expecting {name}.size(0) of {bsz_heads}, but got {static.size(0)}")
    if static.size(2) != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.size(2)}")


def _pad_last(mask):
    """One more key column that nothing masks (for bias_k/bias_v and add_zero_attn)."""
    return None if mask is None else F.pad(mask, (0, 1))


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """Multi-head attention of (L, N, E) query over (S, N, Ek) key and (S, N, Ev) value (or unbatched
    (L, E), (S, Ek), (S, Ev)), as torch.nn.functional's.

    key_padding_mask (N, S) and attn_mask (L, S) or (N * num_heads, L, S) are bool (True = masked
    out) or additive float. Returns (attn_output (L, N, E), attn_weights (N, L, S) averaged over
    the heads, (N, num_heads, L, S) without average_attn_weights, or None without need_weights).
    """
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]

    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask), "attn_mask",
                                       query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        # scaled_dot_product_attention builds the causal mask itself
        attn_mask = None
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False

    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match value's "
                                 f"{value.shape[:2]}")
    elif key.shape != value.shape:
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")

    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    else:
        for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is None")
        b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, b_q, b_k, b_v)

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = _creation.cat([k, bias_k.repeat(1, bsz, 1)])
        v = _creation.cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")

    # heads folded into the batch: (N * num_heads, length, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    if static_k is None:
        k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        _check_static("static_k", static_k, bsz * num_heads, head_dim)
        k = static_k
    if static_v is None:
        v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        _check_static("static_v", static_v, bsz * num_heads, head_dim)
        v = static_v

    if add_zero_attn:
        zeros = _creation.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype, device=k.device)
        k = _creation.cat([k, zeros], 1)
        v = _creation.cat([v, zeros.to(v.dtype)], 1)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)

    src_len = k.size(1)
    if key_padding_mask is not None:
        _check_key_padding_mask(key_padding_mask, src_len, bsz)
        key_padding_mask = (key_padding_mask.view(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1)
                            .reshape(bsz * num_heads, 1, src_len))
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask

    if not training:
        dropout_p = 0.0

    if need_weights:
        E = q.shape[-1]
        q_scaled = q * math.sqrt(1.0 / float(E))
        if is_causal and attn_mask is None:
            # torch asserts here too (its caller requires attn_mask with is_causal, so it is not reached)
            raise AssertionError("is_causal without attn_mask cannot give attention weights (need_weights=True)")
        k_t = k.transpose(-2, -1)
        if attn_mask is not None:
            weights = baddbmm(attn_mask, q_scaled, k_t)
        else:
            weights = q_scaled.bmm(k_t)
        weights = F.softmax(weights, dim=-1)
        if dropout_p > 0.0:
            weights = F.dropout(weights, p=dropout_p)
        attn_output = weights.bmm(v)
        attn_output = attn_output.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        attn_output = F.linear(attn_output, out_proj_weight, out_proj_bias)
        attn_output = attn_output.view(tgt_len, bsz, attn_output.size(1))
        weights = weights.view(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not is_batched:
            attn_output, weights = attn_output.squeeze(1), weights.squeeze(0)
        return attn_output, weights

    if attn_mask is not None:
        if attn_mask.size(0) == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.view(bsz, num_heads, -1, src_len)
    q = q.view(bsz, num_heads, tgt_len, head_dim)
    k = k.view(bsz, num_heads, src_len, head_dim)
    v = v.view(bsz, num_heads, src_len, head_dim)
    attn_output = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    attn_output = attn_output.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    attn_output = F.linear(attn_output, out_proj_weight, out_proj_bias)
    attn_output = attn_output.view(tgt_len, bsz, attn_output.size(1))
    if not is_batched:
        attn_output = attn_output.squeeze(1)
    return attn_output, None

