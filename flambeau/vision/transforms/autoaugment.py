"""Automatic augmentation policies, as torchvision has them: ``AutoAugment`` (with an
``AutoAugmentPolicy``), ``RandAugment``, ``TrivialAugmentWide`` and ``AugMix``.

Each policy picks operations from a table (shear, translate, rotate, colour enhancements,
posterize, solarize, autocontrast, equalize, invert) and a magnitude from that operation's bins,
then applies them through ``transforms.functional``. Images are PIL images ("L" or "RGB") or uint8
tensors (..., 1 or 3, H, W); float tensors take the geometric and enhancement operations (posterize,
equalize and solarize's 0..255 thresholds raise for them, as in torchvision).

The random choices are drawn with flambeau's ``randint`` / ``rand`` (and, for AugMix, Dirichlet
weights from ``_sample_dirichlet``) in the order and with the calls torchvision makes, so that one seed
gives the same choices as torchvision's wherever flambeau's generator gives torch's numbers (its CPU
generator: Note [AutoAugment draws]). NumPy arrays (H, W[, C]) are taken too, as
``transforms.functional`` takes them.
"""
import math
from enum import Enum

import numpy as np

from ... import _dtype
from ..._tensor import Tensor
from ..._ops import creation as _creation
from ...nn import Module
from . import functional as F
from .functional import InterpolationMode

__all__ = ["AutoAugmentPolicy", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix"]

# Note [AutoAugment draws]
# torchvision draws, per call:
#   AutoAugment:        randint(n_policies, (1,)), rand((2,)), randint(2, (2,))
#   RandAugment:        num_ops x [randint(n_ops, (1,)), randint(2, (1,)) if the op is signed]
#   TrivialAugmentWide: randint(n_ops, (1,)), randint(n_bins, (1,)) if the op has bins,
#                       randint(2, (1,)) if signed
#   AugMix:             _sample_dirichlet([alpha] * 2), _sample_dirichlet([alpha] * mixture_width), then per
#                       chain randint(1, 4, (1,)) unless chain_depth > 0, and per op randint(n_ops, (1,)),
#                       randint(severity, (1,)) if the op has bins, randint(2, (1,)) if signed
# The classes below make exactly these calls, in this order, and no others.


# ------------------------------------------------------------------ the operations

def _shear_degrees(magnitude):
    # the policies give a shear as the slope (x += magnitude * y); affine takes it as an angle
    return math.degrees(math.atan(magnitude))


def _shear_x(img, magnitude, interpolation, fill):
    # about the top-left corner, as the original TensorFlow policies shear
    return F.affine(img, angle=0.0, translate=[0, 0], scale=1.0, shear=[_shear_degrees(magnitude), 0.0],
                    interpolation=interpolation, fill=fill, center=[0, 0])


def _shear_y(img, magnitude, interpolation, fill):
    return F.affine(img, angle=0.0, translate=[0, 0], scale=1.0, shear=[0.0, _shear_degrees(magnitude)],
                    interpolation=interpolation, fill=fill, center=[0, 0])


def _translate(img, dx, dy, interpolation, fill):
    return F.affine(img, angle=0.0, translate=[dx, dy], scale=1.0, shear=[0.0, 0.0], interpolation=interpolation,
                    fill=fill)


_OPS = {
    "ShearX": _shear_x,
    "ShearY": _shear_y,
    "TranslateX": lambda img, m, interpolation, fill: _translate(img, int(m), 0, interpolation, fill),
    "TranslateY": lambda img, m, interpolation, fill: _translate(img, 0, int(m), interpolation, fill),
    "Rotate": lambda img, m, interpolation, fill: F.rotate(img, m, interpolation=interpolation, fill=fill),
    "Brightness": lambda img, m, interpolation, fill: F.adjust_brightness(img, 1.0 + m),
    "Color": lambda img, m, interpolation, fill: F.adjust_saturation(img, 1.0 + m),
    "Contrast": lambda img, m, interpolation, fill: F.adjust_contrast(img, 1.0 + m),
    "Sharpness": lambda img, m, interpolation, fill: F.adjust_sharpness(img, 1.0 + m),
    "Posterize": lambda img, m, interpolation, fill: F.posterize(img, int(m)),
    "Solarize": lambda img, m, interpolation, fill: F.solarize(img, m),
    "AutoContrast": lambda img, m, interpolation, fill: F.autocontrast(img),
    "Equalize": lambda img, m, interpolation, fill: F.equalize(img),
    "Invert": lambda img, m, interpolation, fill: F.invert(img),
    "Identity": lambda img, m, interpolation, fill: img,
}


def _apply_op(img, op_name, magnitude, interpolation, fill):
    """Apply the operation ``op_name`` of the policy tables with ``magnitude`` (its meaning depends on the
    operation: a slope, pixels, degrees, an enhancement offset from 1, bits, a threshold)."""
    if op_name not in _OPS:
        raise ValueError(f"The provided operator {op_name} is not recognized.")
    return _OPS[op_name](img, magnitude, interpolation, fill)


# ------------------------------------------------------------------ magnitude bins

def _linear_bins(end, num_bins):
    """num_bins magnitudes from 0 to ``end`` (float32, as torch.linspace makes them)."""
    return _creation.linspace(0.0, end, num_bins)


def _posterize_bins(most_bits, num_bins, span):
    """Bits from ``most_bits`` down by ``span`` over the bins, rounded (int32)."""
    return most_bits - (_creation.arange(num_bins) / ((num_bins - 1) / span)).round().int()


def _no_bins():
    """The magnitude of an operation that takes none (a 0-d tensor)."""
    return _creation.tensor(0.0)


def _shared_space(num_bins, shear, translate, rotate, enhance, posterize_span):
    """{op_name: (magnitude bins, signed)} of the thirteen operations the policies share, in torchvision's
    order: their largest magnitudes (translate: (x, y)) and the span of posterize's bits below 8."""
    return {
        "ShearX": (_linear_bins(shear, num_bins), True),
        "ShearY": (_linear_bins(shear, num_bins), True),
        "TranslateX": (_linear_bins(translate[0], num_bins), True),
        "TranslateY": (_linear_bins(translate[1], num_bins), True),
        "Rotate": (_linear_bins(rotate, num_bins), True),
        "Brightness": (_linear_bins(enhance, num_bins), True),
        "Color": (_linear_bins(enhance, num_bins), True),
        "Contrast": (_linear_bins(enhance, num_bins), True),
        "Sharpness": (_linear_bins(enhance, num_bins), True),
        "Posterize": (_posterize_bins(8, num_bins, posterize_span), False),
        "Solarize": (_creation.linspace(255.0, 0.0, num_bins), False),
        "AutoContrast": (_no_bins(), False),
        "Equalize": (_no_bins(), False),
    }


def _tensor_fill(img, fill):
    """Tensor images take one float per channel (torchvision converts it there); PIL images take ``fill`` as is."""
    if not isinstance(img, (Tensor, np.ndarray)):
        return fill
    if isinstance(fill, (int, float)):
        return [float(fill)] * F.get_dimensions(img)[0]
    if fill is not None:
        return [float(f) for f in fill]
    return None


def _draw_index(n, dtype=None):
    return int(_creation.randint(n, (1,), dtype=dtype).item())


def _draw_sign_flip():
    # a 1-element tensor taken as a bool: 1 flips the sign
    return bool(_creation.randint(2, (1,)))


# ------------------------------------------------------------------ AutoAugment

class AutoAugmentPolicy(Enum):
    """The policies AutoAugment learned on ImageNet, CIFAR-10 and SVHN."""
    IMAGENET = "imagenet"
    CIFAR10 = "cifar10"
    SVHN = "svhn"


# Each policy is 25 sub-policies of two (operation, probability, magnitude bin or None) steps: the
# policies AutoAugment learned (Cubuk et al., 2019), as torchvision 0.29 lists them.
_POLICIES = {
    AutoAugmentPolicy.IMAGENET: [
        (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
        (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
        (("Solarize", 0.6, 3), ("Equalize", 0.6, None)),
        (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
        (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)),
        (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
        (("Rotate", 0.8, 8), ("Color", 0.4, 0)),
        (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
        (("Equalize", 0.0, None), ("Equalize", 0.8, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
        (("Color", 0.8, 8), ("Solarize", 0.8, 7)),
        (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
        (("ShearX", 0.6, 5), ("Equalize", 1.0, None)),
        (("Color", 0.4, 0), ("Equalize", 0.6, None)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    ],
    AutoAugmentPolicy.CIFAR10: [
        (("Invert", 0.1, None), ("Contrast", 0.2, 6)),
        (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
        (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)),
        (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)),
        (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
        (("Color", 0.4, 3), ("Brightness", 0.6, 7)),
        (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
        (("Equalize", 0.6, None), ("Equalize", 0.5, None)),
        (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
        (("Color", 0.7, 7), ("TranslateX", 0.5, 8)),
        (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
        (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)),
        (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
        (("Solarize", 0.5, 2), ("Invert", 0.0, None)),
        (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.2, None), ("Equalize", 0.6, None)),
        (("Color", 0.9, 9), ("Equalize", 0.6, None)),
        (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)),
        (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
        (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)),
        (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)),
        (("Equalize", 0.8, None), ("Invert", 0.1, None)),
        (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
    ],
    AutoAugmentPolicy.SVHN: [
        (("ShearX", 0.9, 4), ("Invert", 0.2, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.6, None), ("Solarize", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("AutoContrast", 0.8, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.4, None)),
        (("ShearY", 0.9, 5), ("Solarize", 0.2, 6)),
        (("Invert", 0.9, None), ("AutoContrast", 0.8, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("Solarize", 0.3, 3)),
        (("ShearY", 0.8, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.9, None), ("TranslateY", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Contrast", 0.3, 3), ("Rotate", 0.8, 4)),
        (("Invert", 0.8, None), ("TranslateY", 0.0, 2)),
        (("ShearY", 0.7, 6), ("Solarize", 0.4, 8)),
        (("Invert", 0.6, None), ("Rotate", 0.8, 4)),
        (("ShearY", 0.3, 7), ("TranslateX", 0.9, 3)),
        (("ShearX", 0.1, 6), ("Invert", 0.6, None)),
        (("Solarize", 0.7, 2), ("TranslateY", 0.6, 7)),
        (("ShearY", 0.8, 4), ("Invert", 0.8, None)),
        (("ShearX", 0.7, 9), ("TranslateY", 0.8, 3)),
        (("ShearY", 0.8, 5), ("AutoContrast", 0.7, None)),
        (("ShearX", 0.7, 2), ("Invert", 0.1, None)),
    ],
}


class AutoAugment(Module):
    """AutoAugment (Cubuk et al., 2019): pick one of the policy's 25 sub-policies; apply each of its
    two steps with the step's probability, at the step's magnitude bin (of 10), with a random sign
    for the signed operations.

    Args:
        policy (AutoAugmentPolicy): the learned policy. Default: ``AutoAugmentPolicy.IMAGENET``.
        interpolation (InterpolationMode): for the geometric operations; tensors take ``NEAREST`` or
            ``BILINEAR``. Default: ``NEAREST``.
        fill (sequence or number, optional): the value of the pixels outside the moved image, one per
            band or one for all. Default: zeros.

    Example:
        >>> import flambeau as torch
        >>> t = AutoAugment(AutoAugmentPolicy.CIFAR10)
        >>> t
        AutoAugment(policy=AutoAugmentPolicy.CIFAR10, fill=None)
        >>> t(torch.zeros(3, 8, 8, dtype=torch.uint8)).shape
        torch.Size([3, 8, 8])
    """

    def __init__(self, policy=AutoAugmentPolicy.IMAGENET, interpolation=InterpolationMode.NEAREST, fill=None):
        super().__init__()
        self.policy = policy
        self.interpolation = interpolation
        self.fill = fill
        self.policies = self._get_policies(policy)

    def _get_policies(self, policy):
        if not isinstance(policy, AutoAugmentPolicy):
            raise ValueError(f"The provided policy {policy} is not recognized.")
        return list(_POLICIES[policy])

    def _augmentation_space(self, num_bins, image_size):
        """{op_name: (magnitude bins, signed)} for an image of ``image_size`` (height, width)."""
        height, width = image_size
        space = _shared_space(num_bins, 0.3, (150.0 / 331.0 * width, 150.0 / 331.0 * height), 30.0, 0.9, 4)
        space["Invert"] = (_no_bins(), False)
        return space

    @staticmethod
    def get_params(transform_num):
        """(the sub-policy's index, a uniform draw per step (2,), a sign bit per step (2,): 0 negates)."""
        policy_id = _draw_index(transform_num)
        probs = _creation.rand((2,))
        signs = _creation.randint(2, (2,))
        return policy_id, probs, signs

    def forward(self, img):
        fill = _tensor_fill(img, self.fill)
        _, height, width = F.get_dimensions(img)
        transform_id, probs, signs = self.get_params(len(self.policies))
        op_meta = self._augmentation_space(10, (height, width))
        for i, (op_name, p, magnitude_id) in enumerate(self.policies[transform_id]):
            # compared as torch compares a float32 tensor with a Python number: in float32
            if not bool(probs[i] <= p):
                continue
            magnitudes, signed = op_meta[op_name]
            magnitude = 0.0 if magnitude_id is None else float(magnitudes[magnitude_id].item())
            if signed and int(signs[i].item()) == 0:
                magnitude *= -1.0
            img = _apply_op(img, op_name, magnitude, interpolation=self.interpolation, fill=fill)
        return img

    def __repr__(self):
        return f"{self.__class__.__name__}(policy={self.policy}, fill={self.fill})"


# ------------------------------------------------------------------ RandAugment

class RandAugment(Module):
    """RandAugment (Cubuk et al., 2020): apply ``num_ops`` operations, each picked uniformly from 14
    (identity included), all at bin ``magnitude`` of ``num_magnitude_bins``, with a random sign for
    the signed operations.

    Args:
        num_ops (int): operations applied one after the other. Default: 2.
        magnitude (int): the bin of every operation's magnitude. Default: 9.
        num_magnitude_bins (int): the number of bins. Default: 31.
        interpolation (InterpolationMode): for the geometric operations. Default: ``NEAREST``.
        fill (sequence or number, optional): the value outside the moved image. Default: zeros.

    Example:
        >>> RandAugment()
        RandAugment(num_ops=2, magnitude=9, num_magnitude_bins=31, interpolation=InterpolationMode.NEAREST, fill=None)
    """

    def __init__(self, num_ops=2, magnitude=9, num_magnitude_bins=31, interpolation=InterpolationMode.NEAREST,
                 fill=None):
        super().__init__()
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.num_magnitude_bins = num_magnitude_bins
        self.interpolation = interpolation
        self.fill = fill

    def _augmentation_space(self, num_bins, image_size):
        """{op_name: (magnitude bins, signed)}, in the order the operation's index is drawn from."""
        height, width = image_size
        return {"Identity": (_no_bins(), False),
                **_shared_space(num_bins, 0.3, (150.0 / 331.0 * width, 150.0 / 331.0 * height), 30.0, 0.9, 4)}

    def forward(self, img):
        fill = _tensor_fill(img, self.fill)
        _, height, width = F.get_dimensions(img)
        op_meta = self._augmentation_space(self.num_magnitude_bins, (height, width))
        names = list(op_meta)
        for _ in range(self.num_ops):
            op_name = names[_draw_index(len(op_meta))]
            magnitudes, signed = op_meta[op_name]
            magnitude = float(magnitudes[self.magnitude].item()) if magnitudes.ndim > 0 else 0.0
            if signed and _draw_sign_flip():
                magnitude *= -1.0
            img = _apply_op(img, op_name, magnitude, interpolation=self.interpolation, fill=fill)
        return img

    def __repr__(self):
        return (f"{self.__class__.__name__}(num_ops={self.num_ops}, magnitude={self.magnitude}, "
                f"num_magnitude_bins={self.num_magnitude_bins}, interpolation={self.interpolation}, "
                f"fill={self.fill})")


# ------------------------------------------------------------------ TrivialAugmentWide

class TrivialAugmentWide(Module):
    """TrivialAugment Wide (Müller and Hutter, 2021): one operation picked uniformly from 14
    (identity included), at a magnitude bin picked uniformly, with a random sign for the signed
    operations; the "wide" ranges (shear 0.99, translate 32 pixels, rotate 135 degrees).

    Args:
        num_magnitude_bins (int): the number of bins. Default: 31.
        interpolation (InterpolationMode): for the geometric operations. Default: ``NEAREST``.
        fill (sequence or number, optional): the value outside the moved image. Default: zeros.

    Example:
        >>> TrivialAugmentWide(num_magnitude_bins=11)
        TrivialAugmentWide(num_magnitude_bins=11, interpolation=InterpolationMode.NEAREST, fill=None)
    """

    def __init__(self, num_magnitude_bins=31, interpolation=InterpolationMode.NEAREST, fill=None):
        super().__init__()
        self.num_magnitude_bins = num_magnitude_bins
        self.interpolation = interpolation
        self.fill = fill

    def _augmentation_space(self, num_bins):
        """{op_name: (magnitude bins, signed)}, in the order the operation's index is drawn from."""
        return {"Identity": (_no_bins(), False), **_shared_space(num_bins, 0.99, (32.0, 32.0), 135.0, 0.99, 6)}

    def forward(self, img):
        fill = _tensor_fill(img, self.fill)
        op_meta = self._augmentation_space(self.num_magnitude_bins)
        op_name = list(op_meta)[_draw_index(len(op_meta))]
        magnitudes, signed = op_meta[op_name]
        magnitude = float(magnitudes[_draw_index(len(magnitudes), _dtype.int64)].item()) \
            if magnitudes.ndim > 0 else 0.0
        if signed and _draw_sign_flip():
            magnitude *= -1.0
        return _apply_op(img, op_name, magnitude, interpolation=self.interpolation, fill=fill)

    def __repr__(self):
        return (f"{self.__class__.__name__}(num_magnitude_bins={self.num_magnitude_bins}, "
                f"interpolation={self.interpolation}, fill={self.fill})")


# ------------------------------------------------------------------ AugMix

class AugMix(Module):
    """AugMix (Hendrycks et al., 2020): ``mixture_width`` chains of 1 to 3 random operations (or
    ``chain_depth``) at a magnitude bin below ``severity``, mixed with weights ~ Dirichlet(alpha),
    and the mixture blended with the original image by a Beta(alpha, alpha) weight.

    The operations of a chain apply to the whole batch; the weights are drawn per image of the
    first dimension (of a 4-D or larger tensor). PIL images are mixed as uint8 tensors and come back
    as PIL images; uint8 results are truncated, as ``Tensor.to(torch.uint8)`` does.

    Args:
        severity (int): magnitude bins 0 .. severity - 1 of 10 are drawn from, 1 <= severity <= 10.
            Default: 3.
        mixture_width (int): the number of chains. Default: 3.
        chain_depth (int): operations per chain; a negative value draws 1 to 3 per chain. Default: -1.
        alpha (float): the concentration of the Beta and Dirichlet weights. Default: 1.0.
        all_ops (bool): include brightness, colour, contrast and sharpness. Default: True.
        interpolation (InterpolationMode): for the geometric operations. Default: ``BILINEAR``.
        fill (sequence or number, optional): the value outside the moved image. Default: zeros.

    Example:
        >>> import flambeau as torch
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <...>
        >>> img = torch.full((3, 8, 8), 100, dtype=torch.uint8)
        >>> AugMix(severity=5, all_ops=False)(img).shape
        torch.Size([3, 8, 8])
    """

    def __init__(self, severity=3, mixture_width=3, chain_depth=-1, alpha=1.0, all_ops=True,
                 interpolation=InterpolationMode.BILINEAR, fill=None):
        super().__init__()
        self._PARAMETER_MAX = 10
        if not 1 <= severity <= self._PARAMETER_MAX:
            raise ValueError(f"The severity must be between [1, {self._PARAMETER_MAX}]. Got {severity} instead.")
        self.severity = severity
        self.mixture_width = mixture_width
        self.chain_depth = chain_depth
        self.alpha = alpha
        self.all_ops = all_ops
        self.interpolation = interpolation
        self.fill = fill

    def _augmentation_space(self, num_bins, image_size):
        """{op_name: (magnitude bins, signed)}, in the order the operation's index is drawn from."""
        height, width = image_size
        space = {
            "ShearX": (_linear_bins(0.3, num_bins), True),
            "ShearY": (_linear_bins(0.3, num_bins), True),
            "TranslateX": (_linear_bins(width / 3.0, num_bins), True),
            "TranslateY": (_linear_bins(height / 3.0, num_bins), True),
            "Rotate": (_linear_bins(30.0, num_bins), True),
            "Posterize": (_posterize_bins(4, num_bins, 4), False),
            "Solarize": (_creation.linspace(255.0, 0.0, num_bins), False),
            "AutoContrast": (_no_bins(), False),
            "Equalize": (_no_bins(), False),
        }
        if self.all_ops:
            space["Brightness"] = (_linear_bins(0.9, num_bins), True)
            space["Color"] = (_linear_bins(0.9, num_bins), True)
            space["Contrast"] = (_linear_bins(0.9, num_bins), True)
            space["Sharpness"] = (_linear_bins(0.9, num_bins), True)
        return space

    def _pil_to_tensor(self, img):
        return F.pil_to_tensor(img)

    def _tensor_to_pil(self, img):
        return F.to_pil_image(img)

    def _sample_dirichlet(self, params):
        """One Dirichlet(params[i]) sample per row of ``params`` (N, K): torch._sample_dirichlet's draws (its
        own method, as in torchvision, so that tests can replace it)."""
        return _creation._sample_dirichlet(params)

    def forward(self, orig_img):
        fill = self.fill
        _, height, width = F.get_dimensions(orig_img)
        if isinstance(orig_img, Tensor):
            img = orig_img
            fill = _tensor_fill(orig_img, fill)
        elif isinstance(orig_img, np.ndarray):
            img = F._array_to_tensor(orig_img, "AugMix")
            fill = _tensor_fill(orig_img, fill)
        else:
            img = self._pil_to_tensor(orig_img)      # fill stays as given, as in torchvision
        op_meta = self._augmentation_space(self._PARAMETER_MAX, (height, width))
        names = list(op_meta)

        orig_dims = list(img.shape)
        batch = img.reshape([1] * max(4 - img.ndim, 0) + orig_dims)        # (N, ..., C, H, W)
        n = batch.shape[0]
        batch_dims = [n] + [1] * (batch.ndim - 1)

        # column 0: the weight of the original image, 1: of the mixed chains (a Beta(alpha, alpha) pair)
        m = self._sample_dirichlet(_creation.tensor([self.alpha, self.alpha], device=batch.device).expand(n, -1))
        chain_weights = self._sample_dirichlet(
            _creation.tensor([self.alpha] * self.mixture_width, device=batch.device).expand(n, -1))
        combined_weights = chain_weights * m[:, 1].reshape(n, -1)             # (N, mixture_width)

        mix = m[:, 0].reshape(batch_dims) * batch
        for i in range(self.mixture_width):
            aug = batch
            depth = self.chain_depth if self.chain_depth > 0 else \
                int(_creation.randint(low=1, high=4, size=(1,)).item())
            for _ in range(depth):
                op_name = names[_draw_index(len(op_meta))]
                magnitudes, signed = op_meta[op_name]
                magnitude = float(magnitudes[_draw_index(self.severity, _dtype.int64)].item()) \
                    if magnitudes.ndim > 0 else 0.0
                if signed and _draw_sign_flip():
                    magnitude *= -1.0
                aug = _apply_op(aug, op_name, magnitude, interpolation=self.interpolation, fill=fill)
            mix.add_(combined_weights[:, i].reshape(batch_dims) * aug)
        mix = mix.reshape(orig_dims).to(dtype=img.dtype)

        if isinstance(orig_img, Tensor):
            return mix
        if isinstance(orig_img, np.ndarray):
            return F._tensor_to_array(mix, orig_img)
        return self._tensor_to_pil(mix)

    def __repr__(self):
        return (f"{self.__class__.__name__}(severity={self.severity}, mixture_width={self.mixture_width}, "
                f"chain_depth={self.chain_depth}, alpha={self.alpha}, all_ops={self.all_ops}, "
                f"interpolation={self.interpolation}, fill={self.fill})")
