"""``flambeau.vision.models``: torchvision's image classification models (AlexNet, VGG, ResNet,
ResNeXt, Wide ResNet, MobileNetV2, SqueezeNet, DenseNet) with its module and parameter names, so
torchvision state dicts load unchanged, and its initialization, so the same ``manual_seed`` gives
the same weights.

Pretrained weights come from torch hub's cache, ``$TORCH_HOME/hub/checkpoints`` (default
``~/.cache/torch/hub/checkpoints``), and are downloaded there when missing.

Example:
    >>> from flambeau.vision import models
    >>> model = models.get_model("squeezenet1_1", weights=None, num_classes=10)
    >>> sum(p.numel() for p in model.parameters())
    727626
    >>> models.ResNet50_Weights.DEFAULT.url
    'https://download.pytorch.org/models/resnet50-11ad3fa6.pth'
"""
from .alexnet import *  # noqa: F401,F403
from .densenet import *  # noqa: F401,F403
from .mobilenetv2 import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
from ._api import Weights, WeightsEnum, get_model, get_model_builder, get_model_weights, get_weight, list_models
