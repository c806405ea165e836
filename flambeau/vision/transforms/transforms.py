"""Image transform classes with torchvision's names, arguments and semantics.

Each class calls ``transforms.functional``; images are PIL images, tensors (..., C, H, W), or
NumPy arrays (H, W[, C]) where the functional takes them. Random transforms draw from flambeau's
default generator, so ``flambeau.manual_seed`` makes them reproducible (and DataLoader workers
seed it per worker). The classes torchvision makes ``nn.Module`` s are ``flambeau.nn.Module`` s.
"""
import math
import numbers
import warnings
from collections.abc import Sequence

from ..._tensor import Tensor
from ..._ops import creation as _creation
from ...nn import Module
from . import functional as F
from .functional import InterpolationMode, _interpolation_modes_from_int

__all__ = ["Compose", "ToTensor", "PILToTensor", "ConvertImageDtype", "ToPILImage", "Normalize", "Resize",
           "CenterCrop", "Pad", "Lambda", "RandomApply", "RandomChoice", "RandomOrder", "RandomCrop",
           "RandomHorizontalFlip", "RandomVerticalFlip", "RandomResizedCrop", "FiveCrop", "TenCrop",
           "LinearTransformation", "ColorJitter", "RandomRotation", "RandomAffine", "Grayscale", "RandomGrayscale",
           "RandomPerspective", "RandomErasing", "GaussianBlur", "InterpolationMode", "RandomInvert",
           "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness", "RandomAutocontrast", "RandomEqualize",
           "ElasticTransform"]


# ------------------------------------------------------------------ random draws (flambeau's generator)

def _rand():
    return _creation.rand(1).item()


def _uniform(low, high):
    return float(_creation.empty(1).uniform_(float(low), float(high)).item())


def _randint(low, high):
    return int(_creation.randint(low, high, (1,)).item())


# ------------------------------------------------------------------ argument checks

def _setup_size(size, error_msg):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError(f"{error_msg} Got {size!r}")
    return size


def _check_sequence_input(x, name, req_sizes):
    msg = req_sizes[0] if len(req_sizes) < 2 else " or ".join(str(s) for s in req_sizes)
    if not isinstance(x, Sequence):
        raise TypeError(f"{name} should be a sequence of length {msg}, got {type(x).__name__}.")
    if len(x) not in req_sizes:
        raise ValueError(f"{name} should be a sequence of length {msg}, got length {len(x)}.")


def _setup_angle(x, name, req_sizes=(2,)):
    if isinstance(x, numbers.Number):
        if x < 0:
            raise ValueError(f"If {name} is a single number, it must be positive.")
        x = [-x, x]
    else:
        _check_sequence_input(x, name, req_sizes)
    return [float(d) for d in x]


def _check_fill(fill):
    if fill is None:
        return 0
    if not isinstance(fill, (Sequence, numbers.Number)):
        raise TypeError(f"Fill should be either a sequence or a number, got {type(fill).__name__}.")
    return fill


def _tensor_fill(fill, img):
    """A tensor image takes one fill value per channel (which also turns on the fill masking)."""
    if not isinstance(img, Tensor):
        return fill
    if isinstance(fill, (int, float)):
        return [float(fill)] * F.get_dimensions(img)[0]
    return [float(f) for f in fill]


def _interp_arg(interpolation):
    if isinstance(interpolation, int) and not isinstance(interpolation, bool):
        return _interpolation_modes_from_int(interpolation)
    return interpolation


_SIZE_MSG = "Please provide only two dimensions (h, w) for size."


# ------------------------------------------------------------------ containers

class Compose:
    """Apply transforms one after the other.

    Example:
        >>> import numpy as np
        >>> t = Compose([ToTensor(), Normalize((0.5,), (0.5,))])
        >>> t(np.zeros((2, 2), np.uint8)).tolist()
        [[[-1.0, -1.0], [-1.0, -1.0]]]
    """

    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{self.__class__.__name__}({body}\n)"


class RandomTransforms:
    """Base class of the transforms applying a random subset or order of ``transforms``."""

    def __init__(self, transforms):
        if not isinstance(transforms, Sequence):
            raise TypeError(f"Argument transforms should be a sequence, got {type(transforms).__name__}")
        self.transforms = transforms

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(f"{self.__class__.__name__} does not define __call__")

    def __repr__(self):
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{self.__class__.__name__}({body}\n)"


class RandomApply(Module):
    """Apply all of ``transforms`` (in order) with probability ``p``, else none."""

    def __init__(self, transforms, p=0.5):
        super().__init__()
        self.transforms = transforms
        self.p = p

    def forward(self, img):
        if self.p < _rand():
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{self.__class__.__name__}(\n    p={self.p}{body}\n)"


class RandomOrder(RandomTransforms):
    """Apply ``transforms`` in a random order (a permutation from flambeau's generator)."""

    def __call__(self, img):
        for i in _creation.randperm(len(self.transforms)).tolist():
            img = self.transforms[i](img)
        return img


class RandomChoice(RandomTransforms):
    """Apply one of ``transforms``, picked with relative weights ``p`` (default: uniform)."""

    def __init__(self, transforms, p=None):
        super().__init__(transforms)
        if p is not None and not isinstance(p, Sequence):
            raise TypeError(f"Argument p should be a sequence, got {type(p).__name__}")
        self.p = p

    def _pick(self):
        n = len(self.transforms)
        weights = [1.0] * n if self.p is None else [float(w) for w in self.p]
        if len(weights) != n:
            raise ValueError(f"The number of weights does not match the population: {len(weights)} weights for "
                             f"{n} transforms")
        total = sum(weights)
        if not total > 0.0:
            raise ValueError(f"Total of weights must be greater than zero, got {weights}")
        u, acc = _rand() * total, 0.0
        for i, w in enumerate(weights):
            acc += w
            if u < acc:
                return i
        return max(i for i, w in enumerate(weights) if w > 0)      # u rounded up to the total

    def __call__(self, *args):
        return self.transforms[self._pick()](*args)

    def __repr__(self):
        return f"{super().__repr__()}(p={self.p})"


class Lambda:
    """Apply a user function."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {repr(type(lambd).__name__)}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return self.__class__.__name__ + "()"


# ------------------------------------------------------------------ conversions

class ToTensor:
    """PIL image or ndarray (H, W[, C]) -> tensor (C, H, W); uint8 (and 8-bit PIL) become float32
    in [0, 1], other dtypes keep their values."""

    def __call__(self, pic):
        return F.to_tensor(pic)

    def __repr__(self):
        return self.__class__.__name__ + "()"


class PILToTensor:
    """PIL image -> tensor (C, H, W) of the same dtype (uint8 for 8-bit images), no scaling."""

    def __call__(self, pic):
        return F.pil_to_tensor(pic)

    def __repr__(self):
        return self.__class__.__name__ + "()"


class ConvertImageDtype(Module):
    """Convert a tensor image to ``dtype``, rescaling: floats are in [0, 1], integers in
    [0, max of the dtype]."""

    def __init__(self, dtype):
        super().__init__()
        self.dtype = dtype

    def forward(self, image):
        return F.convert_image_dtype(image, self.dtype)


class ToPILImage:
    """Tensor (C, H, W) or ndarray (H, W, C) -> PIL image; float values in [0, 1] are scaled
    by 255 (as ``pic.mul(255).byte()``)."""

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        return F.to_pil_image(pic, self.mode)

    def __repr__(self):
        return f"{self.__class__.__name__}(mode={self.mode})" if self.mode is not None else \
            self.__class__.__name__ + "()"


class Normalize(Module):
    """``(x - mean[c]) / std[c]`` per channel of a float tensor image (..., C, H, W)."""

    def __init__(self, mean, std, inplace=False):
        super().__init__()
        self.mean, self.std, self.inplace = mean, std, inplace

    def forward(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self):
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


class LinearTransformation(Module):
    """Flatten each image (C*H*W values), subtract ``mean_vector``, multiply by
    ``transformation_matrix`` (D, D) on the right, and restore the shape (ZCA whitening)."""

    def __init__(self, transformation_matrix, mean_vector):
        super().__init__()
        m, v = transformation_matrix, mean_vector
        if m.size(0) != m.size(1):
            raise ValueError(f"transformation_matrix should be square. Got {tuple(m.size())} rectangular matrix.")
        if v.size(0) != m.size(0):
            raise ValueError(f"mean_vector should have the same length {v.size(0)} as any one of the dimensions of "
                             f"the transformation_matrix [{tuple(m.size())}]")
        if m.device != v.device:
            raise ValueError(f"Input tensors should be on the same device. Got {m.device} and {v.device}")
        if m.dtype != v.dtype:
            raise ValueError(f"Input tensors should have the same dtype. Got {m.dtype} and {v.dtype}")
        self.transformation_matrix = m
        self.mean_vector = v

    def forward(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"LinearTransformation: expected a tensor image, got {type(tensor).__name__}")
        shape = tuple(tensor.shape)
        n = shape[-3] * shape[-2] * shape[-1]
        if n != self.transformation_matrix.shape[0]:
            raise ValueError("Input tensor and transformation matrix have incompatible shape."
                             f"[{shape[-3]} x {shape[-2]} x {shape[-1]}] != {self.transformation_matrix.shape[0]}")
        if tensor.device.type != self.mean_vector.device.type:
            raise ValueError("Input tensor should be on the same device as transformation matrix and mean vector. "
                             f"Got {tensor.device} vs {self.mean_vector.device}")
        flat = tensor.reshape(-1, n) - self.mean_vector
        return flat.mm(self.transformation_matrix.to(flat.dtype)).reshape(shape)

    def __repr__(self):
        return (f"{self.__class__.__name__}(transformation_matrix={self.transformation_matrix.tolist()}, "
                f"mean_vector={self.mean_vector.tolist()})")


# ------------------------------------------------------------------ geometry

class Resize(Module):
    """Resize to ``size`` (h, w), or make the smaller edge ``size`` keeping the aspect ratio
    (the longer edge at most ``max_size``).

    PIL images use Pillow's resampling (always antialiased); tensors and arrays use
    ``interpolate``, antialiased for bilinear and bicubic when ``antialias``."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
        super().__init__()
        if not isinstance(size, (int, Sequence)):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError(f"If size is a sequence, it should have 1 or 2 values, got {len(size)}")
        self.size, self.max_size = size, max_size
        self.interpolation = _interp_arg(interpolation)
        self.antialias = antialias

    def forward(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self):
        return (f"{self.__class__.__name__}(size={self.size}, interpolation={self.interpolation.value}, "
                f"max_size={self.max_size}, antialias={self.antialias})")


class CenterCrop(Module):
    """The central (h, w) region (zero padded when the image is smaller)."""

    def __init__(self, size):
        super().__init__()
        self.size = _setup_size(size, _SIZE_MSG)

    def forward(self, img):
        return F.center_crop(img, self.size)

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size})"


class Pad(Module):
    """Pad the borders: ``padding`` is an int, (left/right, top/bottom) or (left, top, right,
    bottom); ``padding_mode`` is constant (with ``fill``), edge, reflect or symmetric."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        super().__init__()
        if not isinstance(padding, (numbers.Number, tuple, list)):
            raise TypeError(f"Got inappropriate padding arg: expected an int or a sequence, got "
                            f"{type(padding).__name__}")
        if not isinstance(fill, (numbers.Number, tuple, list)):
            raise TypeError(f"Got inappropriate fill arg: expected a number or a sequence, got {type(fill).__name__}")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"Padding mode should be either constant, edge, reflect or symmetric, got "
                             f"{padding_mode!r}")
        if isinstance(padding, Sequence) and len(padding) not in (1, 2, 4):
            raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element "
                             "tuple")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def forward(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self):
        return f"{self.__class__.__name__}(padding={self.padding}, fill={self.fill}, " \
               f"padding_mode={self.padding_mode})"


class RandomCrop(Module):
    """A random (h, w) region, after optional ``padding`` (and ``pad_if_needed``)."""

    @staticmethod
    def get_params(img, output_size):
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size {(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        return _randint(0, h - th + 1), _randint(0, w - tw + 1), th, tw

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        super().__init__()
        self.size = tuple(_setup_size(size, _SIZE_MSG))
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = padding, pad_if_needed, fill, padding_mode

    def forward(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, h, w = F.get_dimensions(img)
        if self.pad_if_needed and w < self.size[1]:
            img = F.pad(img, [self.size[1] - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < self.size[0]:
            img = F.pad(img, [0, self.size[0] - h], self.fill, self.padding_mode)
        i, j, th, tw = self.get_params(img, self.size)
        return F.crop(img, i, j, th, tw)

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size}, padding={self.padding})"


class RandomResizedCrop(Module):
    """A random region of random area (fraction ``scale`` of the image) and aspect ratio
    (``ratio``, drawn log-uniformly), resized to ``size``."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        super().__init__()
        self.size = _setup_size(size, _SIZE_MSG)
        if not isinstance(scale, Sequence):
            raise TypeError(f"Scale should be a sequence, got {type(scale).__name__}")
        if not isinstance(ratio, Sequence):
            raise TypeError(f"Ratio should be a sequence, got {type(ratio).__name__}")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn(f"Scale and ratio should be of kind (min, max), got scale={scale}, ratio={ratio}")
        self.interpolation = _interp_arg(interpolation)
        self.antialias, self.scale, self.ratio = antialias, scale, ratio

    @staticmethod
    def get_params(img, scale, ratio):
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * _uniform(scale[0], scale[1])
            aspect = math.exp(_uniform(log_ratio[0], log_ratio[1]))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return _randint(0, height - h + 1), _randint(0, width - w + 1), h, w
        in_ratio = float(width) / float(height)      # fallback: a central crop
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def forward(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation, antialias=self.antialias)

    def __repr__(self):
        return (f"{self.__class__.__name__}(size={self.size}, scale={tuple(round(s, 4) for s in self.scale)}, "
                f"ratio={tuple(round(r, 4) for r in self.ratio)}, interpolation={self.interpolation.value}, "
                f"antialias={self.antialias})")


class FiveCrop(Module):
    """The four corner crops and the central crop of ``size``, as a tuple of 5 images."""

    def __init__(self, size):
        super().__init__()
        self.size = _setup_size(size, _SIZE_MSG)

    def forward(self, img):
        return F.five_crop(img, self.size)

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size})"


class TenCrop(Module):
    """``FiveCrop`` of the image and of its flip (horizontal, or vertical with ``vertical_flip``)."""

    def __init__(self, size, vertical_flip=False):
        super().__init__()
        self.size = _setup_size(size, _SIZE_MSG)
        self.vertical_flip = vertical_flip

    def forward(self, img):
        return F.ten_crop(img, self.size, self.vertical_flip)

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size}, vertical_flip={self.vertical_flip})"


class RandomHorizontalFlip(Module):
    """Flip left-right with probability ``p``."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, img):
        return F.hflip(img) if _rand() < self.p else img

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p})"


class RandomVerticalFlip(Module):
    """Flip upside down with probability ``p``."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, img):
        return F.vflip(img) if _rand() < self.p else img

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p})"


class RandomPerspective(Module):
    """With probability ``p``, move each corner inwards by up to ``distortion_scale`` of half the
    image size and warp the image accordingly."""

    def __init__(self, distortion_scale=0.5, p=0.5, interpolation=InterpolationMode.BILINEAR, fill=0):
        super().__init__()
        self.p = p
        self.interpolation = _interp_arg(interpolation)
        self.distortion_scale = distortion_scale
        self.fill = _check_fill(fill)

    @staticmethod
    def get_params(width, height, distortion_scale):
        half_h, half_w = height // 2, width // 2
        dw, dh = int(distortion_scale * half_w), int(distortion_scale * half_h)
        topleft = [_randint(0, dw + 1), _randint(0, dh + 1)]
        topright = [_randint(width - dw - 1, width), _randint(0, dh + 1)]
        botright = [_randint(width - dw - 1, width), _randint(height - dh - 1, height)]
        botleft = [_randint(0, dw + 1), _randint(height - dh - 1, height)]
        startpoints = [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]]
        return startpoints, [topleft, topright, botright, botleft]

    def forward(self, img):
        fill = _tensor_fill(self.fill, img)
        _, height, width = F.get_dimensions(img)
        if _rand() < self.p:
            startpoints, endpoints = self.get_params(width, height, self.distortion_scale)
            return F.perspective(img, startpoints, endpoints, self.interpolation, fill)
        return img

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p})"


class RandomRotation(Module):
    """Rotate by an angle drawn uniformly in ``degrees`` (a (min, max) pair, or d for (-d, d)),
    counter-clockwise; ``expand`` grows the output to hold the whole rotated image."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=0):
        super().__init__()
        self.interpolation = _interp_arg(interpolation)
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        self.center, self.expand = center, expand
        self.fill = _check_fill(fill)

    @staticmethod
    def get_params(degrees):
        return _uniform(degrees[0], degrees[1])

    def forward(self, img):
        fill = _tensor_fill(self.fill, img)
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, fill)

    def __repr__(self):
        s = f"{self.__class__.__name__}(degrees={self.degrees}, interpolation={self.interpolation.value}, " \
            f"expand={self.expand}"
        if self.center is not None:
            s += f", center={self.center}"
        if self.fill is not None:
            s += f", fill={self.fill}"
        return s + ")"


class RandomAffine(Module):
    """A random affine map keeping the image centre: rotation by an angle in ``degrees``,
    translation by up to ``translate`` (fractions of width, height), scale in ``scale`` and shear
    in ``shear`` (degrees: x range, or x and y ranges)."""

    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation=InterpolationMode.NEAREST,
                 fill=0, center=None):
        super().__init__()
        self.interpolation = _interp_arg(interpolation)
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        if translate is not None:
            _check_sequence_input(translate, "translate", req_sizes=(2,))
            for t in translate:
                if not 0.0 <= t <= 1.0:
                    raise ValueError(f"translation values should be between 0 and 1, got {translate}")
        self.translate = translate
        if scale is not None:
            _check_sequence_input(scale, "scale", req_sizes=(2,))
            for s in scale:
                if s <= 0:
                    raise ValueError(f"scale values should be positive, got {scale}")
        self.scale = scale
        self.shear = None if shear is None else _setup_angle(shear, name="shear", req_sizes=(2, 4))
        self.fill = _check_fill(fill)
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        self.center = center

    @staticmethod
    def get_params(degrees, translate, scale_ranges, shears, img_size):
        """(angle, (tx, ty), scale, (shear_x, shear_y)); ``img_size`` is [width, height]."""
        angle = _uniform(degrees[0], degrees[1])
        if translate is not None:
            max_dx, max_dy = float(translate[0] * img_size[0]), float(translate[1] * img_size[1])
            translations = (int(round(_uniform(-max_dx, max_dx))), int(round(_uniform(-max_dy, max_dy))))
        else:
            translations = (0, 0)
        scale = _uniform(scale_ranges[0], scale_ranges[1]) if scale_ranges is not None else 1.0
        shear_x = shear_y = 0.0
        if shears is not None:
            shear_x = _uniform(shears[0], shears[1])
            if len(shears) == 4:
                shear_y = _uniform(shears[2], shears[3])
        return angle, translations, scale, (shear_x, shear_y)

    def forward(self, img):
        fill = _tensor_fill(self.fill, img)
        _, height, width = F.get_dimensions(img)
        ret = self.get_params(self.degrees, self.translate, self.scale, self.shear, [width, height])
        return F.affine(img, *ret, interpolation=self.interpolation, fill=fill, center=self.center)

    def __repr__(self):
        s = f"{self.__class__.__name__}(degrees={self.degrees}"
        s += f", translate={self.translate}" if self.translate is not None else ""
        s += f", scale={self.scale}" if self.scale is not None else ""
        s += f", shear={self.shear}" if self.shear is not None else ""
        s += f", interpolation={self.interpolation.value}" if self.interpolation != InterpolationMode.NEAREST else ""
        s += f", fill={self.fill}" if self.fill != 0 else ""
        s += f", center={self.center}" if self.center is not None else ""
        return s + ")"


class ElasticTransform(Module):
    """Displace pixels by a random field: uniform noise in [-1, 1] blurred by a Gaussian of
    ``sigma``, scaled by ``alpha`` (pixels)."""

    def __init__(self, alpha=50.0, sigma=5.0, interpolation=InterpolationMode.BILINEAR, fill=0):
        super().__init__()
        self.alpha = self._pair(alpha, "alpha")
        self.sigma = self._pair(sigma, "sigma")
        self.interpolation = _interp_arg(interpolation)
        if isinstance(fill, (int, float)):
            fill = [float(fill)]
        elif isinstance(fill, (list, tuple)):
            fill = [float(f) for f in fill]
        else:
            raise TypeError(f"fill should be int or float or a list or tuple of them. Got {type(fill)}")
        self.fill = fill

    @staticmethod
    def _pair(value, name):
        if not isinstance(value, (float, Sequence)):
            raise TypeError(f"{name} should be float or a sequence of floats. Got {type(value)}")
        if isinstance(value, Sequence):
            if len(value) != 2:
                raise ValueError(f"If {name} is a sequence its length should be 2. Got {len(value)}")
            for v in value:
                if not isinstance(v, float):
                    raise TypeError(f"{name} should be a sequence of floats. Got {type(v)}")
            return list(value)
        return [float(value), float(value)]

    @staticmethod
    def get_params(alpha, sigma, size):
        """The displacement field (1, H, W, 2) for an image of ``size`` [H, W]."""
        fields = []
        for k in range(2):
            d = _creation.rand(1, 1, *size) * 2 - 1
            if sigma[k] > 0.0:
                ks = int(8 * sigma[k] + 1)
                ks += 1 - ks % 2                                  # odd
                d = F.gaussian_blur(d, [ks, ks], sigma)
            fields.append(d * alpha[k] / size[1 - k])
        return _creation.cat(fields, 1).permute(0, 2, 3, 1)

    def forward(self, tensor):
        _, height, width = F.get_dimensions(tensor)
        displacement = self.get_params(self.alpha, self.sigma, [height, width])
        return F.elastic_transform(tensor, displacement, self.interpolation, self.fill)

    def __repr__(self):
        return (f"{self.__class__.__name__}(alpha={self.alpha}, sigma={self.sigma}, "
                f"interpolation={self.interpolation}, fill={self.fill})")


# ------------------------------------------------------------------ colour

class ColorJitter(Module):
    """Random brightness, contrast, saturation and hue changes, applied in a random order.

    Each of brightness/contrast/saturation is a factor range (``b`` means [max(0, 1-b), 1+b]);
    hue is a shift range within [-0.5, 0.5] (``h`` means [-h, h])."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        super().__init__()
        self.brightness = self._check_input(brightness, "brightness")
        self.contrast = self._check_input(contrast, "contrast")
        self.saturation = self._check_input(saturation, "saturation")
        self.hue = self._check_input(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first_on_zero=False)

    @staticmethod
    def _check_input(value, name, center=1, bound=(0, float("inf")), clip_first_on_zero=True):
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f"If {name} is a single number, it must be non negative.")
            value = [center - float(value), center + float(value)]
            if clip_first_on_zero:
                value[0] = max(value[0], 0.0)
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            value = [float(value[0]), float(value[1])]
        else:
            raise TypeError(f"{name} should be a single number or a list/tuple with length 2.")
        if not bound[0] <= value[0] <= value[1] <= bound[1]:
            raise ValueError(f"{name} values should be between {bound}, but got {value}.")
        return None if value[0] == value[1] == center else tuple(value)

    _range = _check_input            # the name flambeau used before

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        """(order: a permutation tensor of 0..3, brightness, contrast, saturation, hue factors or None)."""
        order = _creation.randperm(4)
        draw = [None if r is None else _uniform(r[0], r[1]) for r in (brightness, contrast, saturation, hue)]
        return (order, *draw)

    def forward(self, img):
        order, b, c, s, h = self.get_params(self.brightness, self.contrast, self.saturation, self.hue)
        for fn in order.tolist():
            if fn == 0 and b is not None:
                img = F.adjust_brightness(img, b)
            elif fn == 1 and c is not None:
                img = F.adjust_contrast(img, c)
            elif fn == 2 and s is not None:
                img = F.adjust_saturation(img, s)
            elif fn == 3 and h is not None:
                img = F.adjust_hue(img, h)
        return img

    def __repr__(self):
        return (f"{self.__class__.__name__}(brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue})")


class Grayscale(Module):
    """Convert to grayscale with 1 or 3 (equal) channels."""

    def __init__(self, num_output_channels=1):
        super().__init__()
        self.num_output_channels = num_output_channels

    def forward(self, img):
        return F.rgb_to_grayscale(img, num_output_channels=self.num_output_channels)

    def __repr__(self):
        return f"{self.__class__.__name__}(num_output_channels={self.num_output_channels})"


class RandomGrayscale(Module):
    """With probability ``p``, convert to grayscale keeping the number of channels."""

    def __init__(self, p=0.1):
        super().__init__()
        self.p = p

    def forward(self, img):
        channels, _, _ = F.get_dimensions(img)
        if _rand() < self.p:
            return F.rgb_to_grayscale(img, num_output_channels=channels)
        return img

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p})"


class RandomErasing(Module):
    """With probability ``p``, set a random rectangle of a tensor image (area fraction in
    ``scale``, aspect ratio in ``ratio``) to ``value``: a number, one per channel, or
    ``"random"`` (standard normal noise)."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        super().__init__()
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError(f"Argument value should be either a number or str or a sequence, got "
                            f"{type(value).__name__}")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"If value is str, it should be 'random', got {value!r}")
        if not isinstance(scale, Sequence):
            raise TypeError(f"Scale should be a sequence, got {type(scale).__name__}")
        if not isinstance(ratio, Sequence):
            raise TypeError(f"Ratio should be a sequence, got {type(ratio).__name__}")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn(f"Scale and ratio should be of kind (min, max), got scale={scale}, ratio={ratio}")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError(f"Scale should be between 0 and 1, got {scale}")
        if p < 0 or p > 1:
            raise ValueError(f"Random erasing probability should be between 0 and 1, got {p}")
        self.p, self.scale, self.ratio, self.value, self.inplace = p, scale, ratio, value, inplace

    @staticmethod
    def get_params(img, scale, ratio, value=None):
        """(i, j, h, w, v): the rectangle and its values (noise (C, h, w) when ``value`` is None);
        after 10 failed draws, the whole image and the image itself (no change)."""
        img_c, img_h, img_w = img.shape[-3], img.shape[-2], img.shape[-1]
        area = img_h * img_w
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            erase_area = area * _uniform(scale[0], scale[1])
            aspect = math.exp(_uniform(log_ratio[0], log_ratio[1]))
            h = int(round(math.sqrt(erase_area * aspect)))
            w = int(round(math.sqrt(erase_area / aspect)))
            if not (h < img_h and w < img_w):
                continue
            if value is None:
                v = _creation.empty(img_c, h, w).normal_()
            else:
                v = _creation.tensor(value)[:, None, None]
            return _randint(0, img_h - h + 1), _randint(0, img_w - w + 1), h, w, v
        return 0, 0, img_h, img_w, img

    def forward(self, img):
        if not isinstance(img, Tensor):
            raise TypeError(f"RandomErasing: img should be Tensor Image. Got {type(img)}")
        if _rand() < self.p:
            if isinstance(self.value, (int, float)):
                value = [float(self.value)]
            elif isinstance(self.value, str):
                value = None
            else:
                value = [float(v) for v in self.value]
            if value is not None and len(value) not in (1, img.shape[-3]):
                raise ValueError(f"If value is a sequence, it should have either a single value or {img.shape[-3]} "
                                 f"(number of input channels), got {len(value)}")
            x, y, h, w, v = self.get_params(img, scale=self.scale, ratio=self.ratio, value=value)
            return F.erase(img, x, y, h, w, v, self.inplace)
        return img

    def __repr__(self):
        return (f"{self.__class__.__name__}(p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value}, "
                f"inplace={self.inplace})")


class GaussianBlur(Module):
    """Gaussian blur with ``kernel_size`` (odd) and a standard deviation drawn uniformly in
    ``sigma`` (min, max) (a number: fixed)."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        super().__init__()
        self.kernel_size = _setup_size(kernel_size, "Kernel size should be a tuple/list of two integers.")
        for ks in self.kernel_size:
            if ks <= 0 or ks % 2 == 0:
                raise ValueError(f"Kernel size value should be an odd and positive number, got {kernel_size}.")
        if isinstance(sigma, numbers.Number):
            if sigma <= 0:
                raise ValueError(f"If sigma is a single number, it must be positive, got {sigma}.")
            sigma = (sigma, sigma)
        elif isinstance(sigma, Sequence) and len(sigma) == 2:
            if not 0.0 < sigma[0] <= sigma[1]:
                raise ValueError(f"sigma values should be positive and of the form (min, max), got {sigma}.")
        else:
            raise ValueError(f"sigma should be a single number or a list/tuple with length 2, got {sigma!r}.")
        self.sigma = sigma

    @staticmethod
    def get_params(sigma_min, sigma_max):
        return _uniform(sigma_min, sigma_max)

    def forward(self, img):
        sigma = self.get_params(self.sigma[0], self.sigma[1])
        return F.gaussian_blur(img, list(self.kernel_size), [sigma, sigma])

    def __repr__(self):
        return f"{self.__class__.__name__}(kernel_size={self.kernel_size}, sigma={self.sigma})"


class _RandomOp(Module):
    """Apply ``_op`` with probability ``p``."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, img):
        return self._op(img) if _rand() < self.p else img

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p})"


class RandomInvert(_RandomOp):
    """Invert the colours with probability ``p``."""

    def _op(self, img):
        return F.invert(img)


class RandomPosterize(_RandomOp):
    """Keep the top ``bits`` bits of each value (uint8 images) with probability ``p``."""

    def __init__(self, bits, p=0.5):
        super().__init__(p)
        self.bits = bits

    def _op(self, img):
        return F.posterize(img, self.bits)

    def __repr__(self):
        return f"{self.__class__.__name__}(bits={self.bits},p={self.p})"


class RandomSolarize(_RandomOp):
    """Invert the values at or above ``threshold`` with probability ``p``."""

    def __init__(self, threshold, p=0.5):
        super().__init__(p)
        self.threshold = threshold

    def _op(self, img):
        return F.solarize(img, self.threshold)

    def __repr__(self):
        return f"{self.__class__.__name__}(threshold={self.threshold},p={self.p})"


class RandomAdjustSharpness(_RandomOp):
    """``adjust_sharpness(img, sharpness_factor)`` with probability ``p``."""

    def __init__(self, sharpness_factor, p=0.5):
        super().__init__(p)
        self.sharpness_factor = sharpness_factor

    def _op(self, img):
        return F.adjust_sharpness(img, self.sharpness_factor)

    def __repr__(self):
        return f"{self.__class__.__name__}(sharpness_factor={self.sharpness_factor},p={self.p})"


class RandomAutocontrast(_RandomOp):
    """Stretch each channel's range to the full range with probability ``p``."""

    def _op(self, img):
        return F.autocontrast(img)


class RandomEqualize(_RandomOp):
    """Equalize the histogram (uint8 images) with probability ``p``."""

    def _op(self, img):
        return F.equalize(img)
