"""The evaluation preprocessing attached to classification weights (``weights.transforms()``)."""
from ... import _dtype
from ..._tensor import Tensor
from ...nn import Module
from ..transforms import InterpolationMode
from ..transforms import functional as F

__all__ = ["ImageClassification"]


class ImageClassification(Module):
    """Resize the smaller edge to ``resize_size``, center-crop ``crop_size``, scale to [0, 1] floats
    and normalize per channel with ``mean`` and ``std``.

    Accepts a PIL image or a tensor image ``(C, H, W)`` / batch ``(B, C, H, W)``.

    Example:
        >>> from flambeau.vision.models import ResNet18_Weights
        >>> ResNet18_Weights.IMAGENET1K_V1.transforms().crop_size
        [224]
    """

    def __init__(self, *, crop_size, resize_size=256, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        super().__init__()
        self.crop_size = [crop_size]
        self.resize_size = [resize_size]
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = interpolation
        self.antialias = antialias

    def forward(self, img):
        img = F.resize(img, self.resize_size, interpolation=self.interpolation, antialias=self.antialias)
        img = F.center_crop(img, self.crop_size)
        if not isinstance(img, Tensor):
            img = F.pil_to_tensor(img)
        img = F.convert_image_dtype(img, _dtype.float32)
        return F.normalize(img, mean=self.mean, std=self.std)

    def __repr__(self):
        fields = [f"crop_size={self.crop_size}", f"resize_size={self.resize_size}", f"mean={self.mean}",
                  f"std={self.std}", f"interpolation={self.interpolation}"]
        return self.__class__.__name__ + "(" + "".join("\n    " + f for f in fields) + "\n)"

    def describe(self):
        return ("Accepts ``PIL.Image``, batched ``(B, C, H, W)`` and single ``(C, H, W)`` image ``torch.Tensor`` "
                f"objects. The images are resized to ``resize_size={self.resize_size}`` using "
                f"``interpolation={self.interpolation}``, followed by a central crop of "
                f"``crop_size={self.crop_size}``. "
                f"Finally the values are first rescaled to ``[0.0, 1.0]`` and then normalized using "
                f"``mean={self.mean}`` and ``std={self.std}``.")
