"""Building blocks that torchvision keeps in ``torchvision.ops.misc``."""
from ... import nn

__all__ = ["Conv2dNormActivation"]


class Conv2dNormActivation(nn.Sequential):
    """Conv2d, then ``norm_layer(out_channels)``, then ``activation_layer(inplace=...)``, as a
    Sequential numbered 0, 1, 2 (a ``None`` layer is left out).

    Args:
        padding: default ``(kernel_size - 1) // 2 * dilation`` per dimension ("same" for odd kernels).
        norm_layer: default BatchNorm2d; ``None`` for no normalization.
        activation_layer: default ReLU; ``None`` for no activation.
        inplace: passed to the activation as ``inplace=``; ``None`` passes nothing.
        bias: the convolution's bias; default only when there is no norm layer.
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None, groups=1,
                 norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU, dilation=1, inplace=True, bias=None):
        if padding is None:
            if isinstance(kernel_size, int) and isinstance(dilation, int):
                padding = (kernel_size - 1) // 2 * dilation
            else:
                ndim = len(kernel_size) if not isinstance(kernel_size, int) else len(dilation)
                ks = (kernel_size,) * ndim if isinstance(kernel_size, int) else tuple(kernel_size)
                dil = (dilation,) * ndim if isinstance(dilation, int) else tuple(dilation)
                padding = tuple((k - 1) // 2 * d for k, d in zip(ks, dil))
                kernel_size, dilation = ks, dil
        if bias is None:
            bias = norm_layer is None
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation=dilation,
                            groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer(**({} if inplace is None else {"inplace": inplace})))
        super().__init__(*layers)
        self.out_channels = out_channels
