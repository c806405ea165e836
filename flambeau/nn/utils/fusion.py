"""Folding an eval-mode batch norm into the convolution or linear layer before it: one layer that
computes ``bn(layer(x))`` as ``layer'(x)``, with weight' = weight * gamma / sqrt(var + eps) (per output
channel) and bias' = (bias - mean) * gamma / sqrt(var + eps) + beta."""
import copy

from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]


def _check_eval(layer, bn):
    if layer.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")


def _scale_and_shift(bias, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """gamma / sqrt(var + eps) per channel, and the fused bias (missing affine terms are 1 and 0)."""
    scale = (bn_rv + bn_eps).rsqrt()
    if bn_w is not None:
        scale = scale * bn_w
    if bias is None:
        bias = bn_rm.new_zeros(bn_rm.shape)
    shift = (bias - bn_rm) * scale
    return scale, shift if bn_b is None else shift + bn_b


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of ``conv`` that computes ``bn(conv(x))`` (both in eval mode)."""
    _check_eval(conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """(weight, bias) Parameters of the convolution that computes conv then batch norm. The output
    channels are dim 0 of a convolution's weight, dim 1 of a transposed one's."""
    weight_dtype = conv_w.dtype
    bias_dtype = conv_b.dtype if conv_b is not None else weight_dtype
    bias_requires_grad = conv_b.requires_grad if conv_b is not None else False
    scale, bias = _scale_and_shift(conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b)
    channel_shape = [1, -1] if transpose else [-1, 1]
    weight = conv_w * scale.reshape(channel_shape + [1] * (conv_w.dim() - 2))
    return (Parameter(weight.to(weight_dtype), conv_w.requires_grad),
            Parameter(bias.to(bias_dtype), bias_requires_grad))


def fuse_linear_bn_eval(linear, bn):
    """A copy of ``linear`` that computes ``bn(linear(x))`` (both in eval mode)."""
    _check_eval(linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError("To fuse, linear.out_features == bn.num_features or bn.num_features == 1, got "
                             f"linear.out_features={linear.out_features} and bn.num_features={bn.num_features}")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """(weight, bias) Parameters of the linear layer that computes linear then batch norm."""
    bias_requires_grad = linear_b.requires_grad if linear_b is not None else False
    scale, bias = _scale_and_shift(linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b)
    return Parameter(linear_w * scale.unsqueeze(-1), linear_w.requires_grad), Parameter(bias, bias_requires_grad)
