"""ResNet, ResNeXt and Wide ResNet (torchvision's layout: the "V1.5" bottleneck strides in its 3x3 conv)."""
from functools import partial
from typing import Optional

from ... import flatten, nn
from ._api import Weights, WeightsEnum, register_model
from ._meta import _IMAGENET_CATEGORIES
from ._presets import ImageClassification
from ._utils import _ovewrite_named_param, handle_legacy_interface

__all__ = ["ResNet", "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights", "ResNet101_Weights",
           "ResNet152_Weights", "ResNeXt50_32X4D_Weights", "ResNeXt101_32X8D_Weights", "ResNeXt101_64X4D_Weights",
           "Wide_ResNet50_2_Weights", "Wide_ResNet101_2_Weights", "resnet18", "resnet34", "resnet50", "resnet101",
           "resnet152", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2",
           "wide_resnet101_2"]


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution without bias, padded to keep the size at stride 1."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups,
                     bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution without bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), two 3x3 convolutions; conv1 and
    ``downsample`` (the shortcut, when given) carry the stride."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x if self.downsample is None else self.downsample(x)     # after the branch, as torchvision (hook order)
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 (reduce to ``width``), 3x3 (``groups``, stride, dilation), 1x1 (expand to ``planes * 4``)
    convolutions, each followed by its norm, plus the shortcut, with ReLUs between.

    ``width = int(planes * base_width / 64) * groups``. The stride sits in the 3x3 convolution, not the
    first 1x1 as in the paper ("ResNet V1.5",
    https://ngc.nvidia.com/catalog/model-scripts/nvidia:resnet_50_v1_5_for_pytorch).
    """

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


class ResNet(nn.Module):
    """conv 7x7/2 (64) + norm + ReLU + max pool 3x3/2, four stages of ``layers[i]`` blocks with 64,
    128, 256, 512 planes (stages 2-4 halve the size), global average pooling and a Linear.

    Args:
        block: BasicBlock or Bottleneck.
        layers: blocks per stage, e.g. [2, 2, 2, 2] for ResNet-18.
        num_classes: outputs of the final Linear.
        zero_init_residual: set the last norm layer's weight of every block to 0, so each residual
            branch starts at zero and each block as the identity (https://arxiv.org/abs/1706.02677).
        groups, width_per_group: Bottleneck widths, ``int(planes * width_per_group / 64) * groups``.
        replace_stride_with_dilation: three bools, for stages 2-4: keep stride 1 and dilate instead.
        norm_layer: called with a channel count; default BatchNorm2d.

    Initialization, after the layers' own: Conv2d weights N(0, 2 / fan_out) with fan_out =
    out_channels * k * k; BatchNorm2d and GroupNorm weight 1, bias 0; the Linear keeps its default.

    Shape:
        - Input: (N, 3, H, W)
        - Output: (N, num_classes)
    """

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1, width_per_group=64,
                 replace_stride_with_dilation=None, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("replace_stride_with_dilation should be None "
                             f"or a 3-element tuple, got {replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2, dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        """One stage: the first block takes the stride (or, with ``dilate``, multiplies the dilation
        by it) and a 1x1 conv + norm shortcut when the shape changes; the rest keep the shape."""
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width, previous_dilation,
                        norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                                dilation=self.dilation, norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def _forward_impl(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(flatten(self.avgpool(x), 1))

    def forward(self, x):
        return self._forward_impl(x)


def _resnet(block, layers, weights, progress, **kwargs):
    if weights is not None:
        _ovewrite_named_param(kwargs, "num_classes", len(weights.meta["categories"]))
    model = ResNet(block, layers, **kwargs)
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
    return model


_COMMON_META = {"min_size": (1, 1), "categories": _IMAGENET_CATEGORIES}
_RECIPE_V1 = "https://github.com/pytorch/vision/tree/main/references/classification#"
_RECIPE_V2 = "https://github.com/pytorch/vision/issues/3995#"
_DOCS_V1 = "These weights reproduce closely the results of the paper using a simple training recipe."
_DOCS_V2 = ("These weights improve upon the results of the original paper by using TorchVision's `new training "
            "recipe <https://pytorch.org/blog/how-to-train-state-of-the-art-models-using-torchvision-latest-"
            "primitives/>`_.")


def _weights(file, num_params, recipe, acc1, acc5, ops, file_size, resize_size=None, docs=_DOCS_V1):
    transform = partial(ImageClassification, crop_size=224)
    if resize_size is not None:
        transform = partial(ImageClassification, crop_size=224, resize_size=resize_size)
    return Weights(
        url=f"https://download.pytorch.org/models/{file}",
        transforms=transform,
        meta={**_COMMON_META, "num_params": num_params, "recipe": recipe,
              "_metrics": {"ImageNet-1K": {"acc@1": acc1, "acc@5": acc5}}, "_ops": ops, "_file_size": file_size,
              "_docs": docs},
    )


class ResNet18_Weights(WeightsEnum):
    IMAGENET1K_V1 = _weights("resnet18-f37072fd.pth", 11689512, _RECIPE_V1 + "resnet", 69.758, 89.078, 1.814, 44.661)
    DEFAULT = IMAGENET1K_V1


class ResNet34_Weights(WeightsEnum):
    IMAGENET1K_V1 = _weights("resnet34-b627a593.pth", 21797672, _RECIPE_V1 + "resnet", 73.314, 91.420, 3.664, 83.275)
    DEFAULT = IMAGENET1K_V1


class ResNet50_Weights(WeightsEnum):
    IMAGENET1K_V1 = _weights("resnet50-0676ba61.pth", 25557032, _RECIPE_V1 + "resnet", 76.130, 92.862, 4.089, 97.781)
    IMAGENET1K_V2 = _weights("resnet50-11ad3fa6.pth", 25557032, _RECIPE_V2 + "issuecomment-1013906621", 80.858,
                             95.434, 4.089, 97.79, resize_size=232, docs=_DOCS_V2)
    DEFAULT = IMAGENET1K_V2


class ResNet101_Weights(WeightsEnum):
    IMAGENET1K_V1 = _weights("resnet101-63fe2227.pth", 44549160, _RECIPE_V1 + "resnet", 77.374, 93.546, 7.801,
                             170.511)
    IMAGENET1K_V2 = _weights("resnet101-cd907fc2.pth", 44549160, _RECIPE_V2 + "new-recipe", 81.886, 95.780, 7.801,
                             170.53, resize_size=232, docs=_DOCS_V2)
    DEFAULT = IMAGENET1K_V2


class ResNet152_Weights(WeightsEnum):
    IMAGENET1K_V1 = _weights("resnet152-394f9c45.pth", 60192808, _RECIPE_V1 + "resnet", 78.312, 94.046, 11.514,
                             230.434)
    IMAGENET1K_V2 = _weights("resnet152-f82ba261.pth", 60192808, _RECIPE_V2 + "new-recipe", 82.284, 96.002, 11.514,
                             230.474, resize_size=232, docs=_DOCS_V2)
    DEFAULT = IMAGENET1K_V2


class ResNeXt50_32X4D_Weights(WeightsEnum):
    IMAGENET1K_V1 = _weights("resnext50_32x4d-7cdf4587.pth", 25028904, _RECIPE_V1 + "resnext", 77.618, 93.698, 4.23,
                             95.789)
    IMAGENET1K_V2 = _weights("resnext50_32x4d-1a0047aa.pth", 25028904, _RECIPE_V2 + "new-recipe", 81.198, 95.340,
                             4.23, 95.833, resize_size=232, docs=_DOCS_V2)
    DEFAULT = IMAGENET1K_V2


class ResNeXt101_32X8D_Weights(WeightsEnum):
    IMAGENET1K_V1 = _weights("resnext101_32x8d-8ba56ff5.pth", 88791336, _RECIPE_V1 + "resnext", 79.312, 94.526,
                             16.414, 339.586)
    IMAGENET1K_V2 = _weights("resnext101_32x8d-110c445d.pth", 88791336, _RECIPE_V2 + "new-recipe-with-fixres",
                             82.834, 96.228, 16.414, 339.673, resize_size=232, docs=_DOCS_V2)
    DEFAULT = IMAGENET1K_V2


class ResNeXt101_64X4D_Weights(WeightsEnum):
    IMAGENET1K_V1 = _weights(
        "resnext101_64x4d-173b62eb.pth", 83455272, "https://github.com/pytorch/vision/pull/5935", 83.246, 96.454,
        15.46, 319.318, resize_size=232,
        docs="These weights were trained from scratch by using TorchVision's `new training recipe "
             "<https://pytorch.org/blog/how-to-train-state-of-the-art-models-using-torchvision-latest-primitives/>`_.")
    DEFAULT = IMAGENET1K_V1


class Wide_ResNet50_2_Weights(WeightsEnum):
    IMAGENET1K_V1 = _weights("wide_resnet50_2-95faca4d.pth", 68883240,
                             "https://github.com/pytorch/vision/pull/912#issue-445437439", 78.468, 94.086, 11.398,
                             131.82)
    IMAGENET1K_V2 = _weights("wide_resnet50_2-9ba9bcbe.pth", 68883240, _RECIPE_V2 + "new-recipe-with-fixres",
                             81.602, 95.758, 11.398, 263.124, resize_size=232, docs=_DOCS_V2)
    DEFAULT = IMAGENET1K_V2


class Wide_ResNet101_2_Weights(WeightsEnum):
    IMAGENET1K_V1 = _weights("wide_resnet101_2-32ee1156.pth", 126886696,
                             "https://github.com/pytorch/vision/pull/912#issue-445437439", 78.848, 94.284, 22.753,
                             242.896)
    IMAGENET1K_V2 = _weights("wide_resnet101_2-d733dc28.pth", 126886696, _RECIPE_V2 + "new-recipe", 82.510, 96.020,
                             22.753, 484.747, resize_size=232, docs=_DOCS_V2)
    DEFAULT = IMAGENET1K_V2


_BUILDER_DOC = """{title}

    Args:
        weights: a :class:`{enum}` member (or its name) to load, or ``None`` for random weights.
        progress: show a progress bar while downloading the weights.
        **kwargs: passed to :class:`ResNet` (``num_classes``, ``zero_init_residual``,
            ``replace_stride_with_dilation``, ``norm_layer``{fixed}).
    """


def _document(title, enum, fixed=""):
    def decorate(fn):
        fn.__doc__ = _BUILDER_DOC.format(title=title, enum=enum.__name__, fixed=fixed)
        return fn
    return decorate


_RESNET_PAPER = "`Deep Residual Learning for Image Recognition <https://arxiv.org/abs/1512.03385>`__"
_RESNEXT_PAPER = "`Aggregated Residual Transformation for Deep Neural Networks <https://arxiv.org/abs/1611.05431>`_"
_WIDE_PAPER = ("`Wide Residual Networks <https://arxiv.org/abs/1605.07146>`_: ResNet with twice the channels "
               "inside each bottleneck (e.g. 2048-1024-2048 in the last block instead of 2048-512-2048)")


@register_model()
@handle_legacy_interface(weights=("pretrained", ResNet18_Weights.IMAGENET1K_V1))
@_document(f"ResNet-18 from {_RESNET_PAPER}.", ResNet18_Weights, ", ``groups``, ``width_per_group``")
def resnet18(*, weights: Optional[ResNet18_Weights] = None, progress: bool = True, **kwargs) -> ResNet:
    return _resnet(BasicBlock, [2, 2, 2, 2], ResNet18_Weights.verify(weights), progress, **kwargs)


@register_model()
@handle_legacy_interface(weights=("pretrained", ResNet34_Weights.IMAGENET1K_V1))
@_document(f"ResNet-34 from {_RESNET_PAPER}.", ResNet34_Weights, ", ``groups``, ``width_per_group``")
def resnet34(*, weights: Optional[ResNet34_Weights] = None, progress: bool = True, **kwargs) -> ResNet:
    return _resnet(BasicBlock, [3, 4, 6, 3], ResNet34_Weights.verify(weights), progress, **kwargs)


@register_model()
@handle_legacy_interface(weights=("pretrained", ResNet50_Weights.IMAGENET1K_V1))
@_document(f"ResNet-50 from {_RESNET_PAPER}.", ResNet50_Weights, ", ``groups``, ``width_per_group``")
def resnet50(*, weights: Optional[ResNet50_Weights] = None, progress: bool = True, **kwargs) -> ResNet:
    return _resnet(Bottleneck, [3, 4, 6, 3], ResNet50_Weights.verify(weights), progress, **kwargs)


@register_model()
@handle_legacy_interface(weights=("pretrained", ResNet101_Weights.IMAGENET1K_V1))
@_document(f"ResNet-101 from {_RESNET_PAPER}.", ResNet101_Weights, ", ``groups``, ``width_per_group``")
def resnet101(*, weights: Optional[ResNet101_Weights] = None, progress: bool = True, **kwargs) -> ResNet:
    return _resnet(Bottleneck, [3, 4, 23, 3], ResNet101_Weights.verify(weights), progress, **kwargs)


@register_model()
@handle_legacy_interface(weights=("pretrained", ResNet152_Weights.IMAGENET1K_V1))
@_document(f"ResNet-152 from {_RESNET_PAPER}.", ResNet152_Weights, ", ``groups``, ``width_per_group``")
def resnet152(*, weights: Optional[ResNet152_Weights] = None, progress: bool = True, **kwargs) -> ResNet:
    return _resnet(Bottleneck, [3, 8, 36, 3], ResNet152_Weights.verify(weights), progress, **kwargs)


@register_model()
@handle_legacy_interface(weights=("pretrained", ResNeXt50_32X4D_Weights.IMAGENET1K_V1))
@_document(f"ResNeXt-50 32x4d from {_RESNEXT_PAPER}.", ResNeXt50_32X4D_Weights,
           "; ``groups`` must be 32 and ``width_per_group`` 4 if given")
def resnext50_32x4d(*, weights: Optional[ResNeXt50_32X4D_Weights] = None, progress: bool = True,
                    **kwargs) -> ResNet:
    weights = ResNeXt50_32X4D_Weights.verify(weights)
    _ovewrite_named_param(kwargs, "groups", 32)
    _ovewrite_named_param(kwargs, "width_per_group", 4)
    return _resnet(Bottleneck, [3, 4, 6, 3], weights, progress, **kwargs)


@register_model()
@handle_legacy_interface(weights=("pretrained", ResNeXt101_32X8D_Weights.IMAGENET1K_V1))
@_document(f"ResNeXt-101 32x8d from {_RESNEXT_PAPER}.", ResNeXt101_32X8D_Weights,
           "; ``groups`` must be 32 and ``width_per_group`` 8 if given")
def resnext101_32x8d(*, weights: Optional[ResNeXt101_32X8D_Weights] = None, progress: bool = True,
                     **kwargs) -> ResNet:
    weights = ResNeXt101_32X8D_Weights.verify(weights)
    _ovewrite_named_param(kwargs, "groups", 32)
    _ovewrite_named_param(kwargs, "width_per_group", 8)
    return _resnet(Bottleneck, [3, 4, 23, 3], weights, progress, **kwargs)


@register_model()
@handle_legacy_interface(weights=("pretrained", ResNeXt101_64X4D_Weights.IMAGENET1K_V1))
@_document(f"ResNeXt-101 64x4d from {_RESNEXT_PAPER}.", ResNeXt101_64X4D_Weights,
           "; ``groups`` must be 64 and ``width_per_group`` 4 if given")
def resnext101_64x4d(*, weights: Optional[ResNeXt101_64X4D_Weights] = None, progress: bool = True,
                     **kwargs) -> ResNet:
    weights = ResNeXt101_64X4D_Weights.verify(weights)
    _ovewrite_named_param(kwargs, "groups", 64)
    _ovewrite_named_param(kwargs, "width_per_group", 4)
    return _resnet(Bottleneck, [3, 4, 23, 3], weights, progress, **kwargs)


@register_model()
@handle_legacy_interface(weights=("pretrained", Wide_ResNet50_2_Weights.IMAGENET1K_V1))
@_document(f"Wide ResNet-50-2 from {_WIDE_PAPER}.", Wide_ResNet50_2_Weights,
           ", ``groups``; ``width_per_group`` must be 128 if given")
def wide_resnet50_2(*, weights: Optional[Wide_ResNet50_2_Weights] = None, progress: bool = True,
                    **kwargs) -> ResNet:
    weights = Wide_ResNet50_2_Weights.verify(weights)
    _ovewrite_named_param(kwargs, "width_per_group", 64 * 2)
    return _resnet(Bottleneck, [3, 4, 6, 3], weights, progress, **kwargs)


@register_model()
@handle_legacy_interface(weights=("pretrained", Wide_ResNet101_2_Weights.IMAGENET1K_V1))
@_document(f"Wide ResNet-101-2 from {_WIDE_PAPER}.", Wide_ResNet101_2_Weights,
           ", ``groups``; ``width_per_group`` must be 128 if given")
def wide_resnet101_2(*, weights: Optional[Wide_ResNet101_2_Weights] = None, progress: bool = True,
                     **kwargs) -> ResNet:
    weights = Wide_ResNet101_2_Weights.verify(weights)
    _ovewrite_named_param(kwargs, "width_per_group", 64 * 2)
    return _resnet(Bottleneck, [3, 4, 23, 3], weights, progress, **kwargs)
