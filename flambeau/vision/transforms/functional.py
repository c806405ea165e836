"""``torchvision.transforms.functional``: the image operations the transform classes are built on.

Usually imported as ``import flambeau.vision.transforms.functional as TF`` (or ``F``). Each function
takes a PIL image (and then uses Pillow's own operation, as torchvision does) or a tensor image
(..., C, H, W) (leading batch dims allowed; float images in [0, 1], integer images in [0, max of
the dtype]) and returns the same kind. NumPy arrays (H, W) or (H, W, C) are accepted too, as the
datasets give them when Pillow is not installed: they go through the tensor path and come back as
arrays (torchvision takes arrays only in ``to_tensor`` and ``to_pil_image``).

Example:
    >>> import flambeau as torch
    >>> import flambeau.vision.transforms.functional as TF
    >>> img = torch.arange(12, dtype=torch.uint8).reshape(1, 3, 4)
    >>> TF.hflip(img)[0, 0].tolist(), TF.center_crop(img, 2).shape
    ([3, 2, 1, 0], torch.Size([1, 2, 2]))
"""
import math
import numbers
import sys
import warnings
from enum import Enum

import numpy as np

from ... import _dtype
from ..._tensor import Tensor, _make
from ..._xp import to_host
from . import _functional_pil as F_pil
from . import _functional_tensor as F_t

__all__ = ["InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels", "to_tensor",
           "pil_to_tensor", "convert_image_dtype", "to_pil_image", "normalize", "resize", "pad", "crop",
           "center_crop", "resized_crop", "hflip", "vflip", "perspective", "five_crop", "ten_crop",
           "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue", "adjust_gamma", "rotate",
           "affine", "to_grayscale", "rgb_to_grayscale", "erase", "gaussian_blur", "invert", "posterize",
           "solarize", "adjust_sharpness", "autocontrast", "equalize", "elastic_transform"]


class InterpolationMode(Enum):
    """Interpolation methods: ``nearest``, ``nearest-exact``, ``bilinear``, ``bicubic``, and for PIL
    images only ``box``, ``hamming``, ``lanczos``."""
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


# Pillow's resampling filter numbers (Image.Resampling), written out so that Pillow need not be imported
pil_modes_mapping = {InterpolationMode.NEAREST: 0, InterpolationMode.BILINEAR: 2, InterpolationMode.BICUBIC: 3,
                     InterpolationMode.NEAREST_EXACT: 0, InterpolationMode.BOX: 4, InterpolationMode.HAMMING: 5,
                     InterpolationMode.LANCZOS: 1}
_MODES_FROM_INT = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR, 3: InterpolationMode.BICUBIC,
                   4: InterpolationMode.BOX, 5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}


def _interpolation_modes_from_int(i):
    if i not in _MODES_FROM_INT:
        raise KeyError(f"{i} is not a Pillow resampling filter; expected one of {sorted(_MODES_FROM_INT)}")
    return _MODES_FROM_INT[i]


def _interpolation(interpolation):
    if isinstance(interpolation, int) and not isinstance(interpolation, bool):
        return _interpolation_modes_from_int(interpolation)
    if not isinstance(interpolation, InterpolationMode):
        raise TypeError(f"Argument interpolation should be a InterpolationMode or a corresponding Pillow integer "
                        f"constant, got {interpolation!r}")
    return interpolation


def _is_pil_image(img):
    return F_pil._is_pil(img)


# ------------------------------------------------------------------ NumPy arrays ride the tensor path

def _array_to_tensor(arr, op):
    if arr.ndim not in (2, 3):
        raise ValueError(f"{op}(): an array image should have shape (H, W) or (H, W, C), got {arr.shape}")
    return _make(np.ascontiguousarray(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)))


def _tensor_to_array(out, like):
    if isinstance(out, (tuple, list)):
        return type(out)(_tensor_to_array(o, like) for o in out)
    x = to_host(out.detach()._data)
    if x.ndim == 2:
        return x
    if like.ndim == 2 and x.shape[0] == 1:
        return np.ascontiguousarray(x[0])
    return np.ascontiguousarray(x.transpose(1, 2, 0))


def _apply(img, op, on_tensor, on_pil):
    """on_tensor(img) for a tensor (or an array, converted), on_pil(img) for a PIL image."""
    if isinstance(img, Tensor):
        return on_tensor(img)
    if isinstance(img, np.ndarray):
        return _tensor_to_array(on_tensor(_array_to_tensor(img, op)), img)
    if F_pil._is_pil(img):
        return on_pil(img)
    raise TypeError(f"{op}(): img should be PIL Image or Tensor. Got {type(img)}")


# ------------------------------------------------------------------ sizes

def get_dimensions(img):
    """[channels, height, width] of an image."""
    if isinstance(img, np.ndarray):
        return F_t.get_dimensions(_array_to_tensor(img, "get_dimensions"))
    if isinstance(img, Tensor):
        return F_t.get_dimensions(img)
    return F_pil.get_dimensions(img)


def get_image_size(img):
    """[width, height] of an image."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img):
    return get_dimensions(img)[0]


# ------------------------------------------------------------------ conversions

def to_tensor(pic):
    """PIL image or ndarray (H, W[, C]) -> tensor (C, H, W). 8-bit data becomes the default float
    dtype divided by 255; other dtypes (int16/int32/float images) keep their values.

    Example:
        >>> to_tensor(np.full((1, 2), 255, np.uint8)).tolist()
        [[[1.0, 1.0]]]
    """
    if not (F_pil._is_pil(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if isinstance(pic, np.ndarray) and pic.ndim not in (2, 3):
        raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    default_float = _dtype.get_default_dtype()
    if isinstance(pic, np.ndarray):
        arr = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        np_type = {"I": np.int32, "I;16" if sys.byteorder == "little" else "I;16B": np.int16,
                   "F": np.float32}.get(pic.mode, np.uint8)
        arr = np.array(pic, np_type, copy=True)
        if pic.mode == "1":
            arr = arr * np.uint8(255)
        arr = arr.reshape(pic.height, pic.width, len(pic.getbands()))
    chw = np.ascontiguousarray(arr.transpose(2, 0, 1))
    if chw.dtype == np.uint8:
        return _make((chw.astype(default_float.np) / default_float.np.type(255)).astype(default_float.np))
    return _make(chw)


def pil_to_tensor(pic):
    """PIL image -> tensor (C, H, W) of the image's own dtype (uint8 for 8-bit images), unscaled."""
    if not F_pil._is_pil(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    if arr.dtype == np.uint16:
        raise NotImplementedError(f"pil_to_tensor(): a {pic.mode} image gives a uint16 tensor in torchvision; "
                                  "flambeau has no uint16 dtype (use to_tensor, which reads it as int16)")
    arr = arr.reshape(pic.height, pic.width, len(pic.getbands()))
    return _make(arr).permute(2, 0, 1)          # a (C, H, W) view, as torchvision returns


def convert_image_dtype(image, dtype=_dtype.float32):
    """Convert a tensor image to ``dtype``, rescaling the values: floats span [0, 1], integers
    [0, max of the dtype] (float -> int maps 1.0 to max + 1 - 0.001, then truncates).

    Raises:
        RuntimeError: float32 -> int32/int64 and float64 -> int64, which cannot be done exactly.
    """
    if not isinstance(image, Tensor):
        raise TypeError(f"Input img should be Tensor Image, got {type(image).__name__}")
    return F_t.convert_image_dtype(image, dtype)


_MODES_BY_CHANNELS = {2: ["LA"], 4: ["RGBA", "CMYK", "RGBX"], 3: ["RGB", "YCbCr", "HSV"]}
_DEFAULT_MODES = {2: "LA", 3: "RGB", 4: "RGBA"}


def _image_from_array(arr, mode):
    """A PIL image of ``mode`` reading the array's bytes as that mode's raw layout."""
    from PIL import Image
    arr = np.ascontiguousarray(arr)
    return Image.frombytes(mode, (arr.shape[1], arr.shape[0]), arr.tobytes(), "raw", mode)


def to_pil_image(pic, mode=None):
    """Tensor (C, H, W) or ndarray (H, W, C) -> PIL image. Float values are taken in [0, 1] and
    become uint8 by ``(x * 255).astype(uint8)`` (unless ``mode="F"``). The mode follows from the
    dtype and channels: L / I;16 / I / F for one channel, LA, RGB, RGBA."""
    if isinstance(pic, Tensor):
        arr = to_host(pic.detach()._data)
        if arr.ndim == 3:
            arr = arr.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        arr = pic
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"pic should be 2/3 dimensional. Got {arr.ndim} dimensions.")
    if arr.shape[-1] > 4:
        raise ValueError(f"pic should not have > 4 channels. Got {arr.shape[-1]} channels.")
    if np.issubdtype(arr.dtype, np.floating) and mode != "F":
        arr = (arr * 255).astype(np.uint8)
    channels = arr.shape[2]
    if channels == 1:
        arr = arr[:, :, 0]
        expected = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16" if sys.byteorder == "little" else "I;16B",
                    np.dtype(np.int32): "I", np.dtype(np.float32): "F"}.get(arr.dtype)
        if mode is not None and mode != expected:
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {arr.dtype}. Should be {expected}")
        mode = expected
    else:
        if mode is not None and mode not in _MODES_BY_CHANNELS[channels]:
            raise ValueError(f"Only modes {_MODES_BY_CHANNELS[channels]} are supported for {channels}D inputs, "
                             f"got mode {mode!r}")
        if mode is None and arr.dtype == np.uint8:
            mode = _DEFAULT_MODES[channels]
    if mode is None:
        raise TypeError(f"Input type {arr.dtype} is not supported (with {channels} channels)")
    return _image_from_array(arr, mode)


def normalize(tensor, mean, std, inplace=False):
    """``(x - mean[c]) / std[c]`` per channel of a float tensor image (..., C, H, W).

    Example:
        >>> import flambeau as torch
        >>> normalize(torch.ones(2, 1, 1), [0.5, 0.0], [0.5, 2.0]).flatten().tolist()
        [1.0, 0.5]
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    return F_t.normalize(tensor, mean, std, inplace)


# ------------------------------------------------------------------ geometry

def _parse_padding(padding):
    """(left, top, right, bottom) from an int, [all], [left/right, top/bottom] or [l, t, r, b]."""
    if isinstance(padding, numbers.Number):
        return [int(padding)] * 4
    if len(padding) == 1:
        return [int(padding[0])] * 4
    if len(padding) == 2:
        return [int(padding[0]), int(padding[1])] * 2
    return [int(p) for p in padding]


_PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def _check_padding(padding, padding_mode):
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError(f"Got inappropriate padding arg: expected an int or a sequence of 1, 2 or 4 ints, got "
                        f"{type(padding).__name__}")
    if not isinstance(padding_mode, str):
        raise TypeError(f"Got inappropriate padding_mode arg: expected a str, got {type(padding_mode).__name__}")
    if isinstance(padding, (tuple, list)) and len(padding) not in (1, 2, 4):
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple")
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f"Padding mode should be either constant, edge, reflect or symmetric, got {padding_mode!r}")


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad the borders by ``padding``: an int (all sides), [left/right, top/bottom] or
    [left, top, right, bottom] (negative values crop). ``padding_mode``: constant (``fill``; a
    number for tensors, a number or one per band for PIL), edge, reflect (without repeating the
    edge) or symmetric (repeating it)."""
    _check_padding(padding, padding_mode)

    def on_tensor(t):
        f = 0 if fill is None else fill
        if not isinstance(f, (int, float)):
            raise TypeError(f"Got inappropriate fill arg: a tensor image takes an int or float fill, got {fill!r}")
        return F_t.pad(t, _parse_padding(padding), f, padding_mode)

    def on_pil(im):
        if fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
            raise TypeError(f"Got inappropriate fill arg: expected a number or a sequence, got {fill!r}")
        return F_pil.pad(im, _parse_padding(padding), fill, padding_mode)

    return _apply(img, "pad", on_tensor, on_pil)


def crop(img, top, left, height, width):
    """The region rows [top, top + height), columns [left, left + width); zero outside the image."""
    return _apply(img, "crop", lambda t: F_t.crop(t, top, left, height, width),
                  lambda im: F_pil.crop(im, top, left, height, width))


def _size_pair(size, what):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return size[0], size[0]
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise ValueError(f"{what}: please provide only two dimensions (h, w) for size, got {size!r}")
    return size[0], size[1]


def center_crop(img, output_size):
    """The central ``output_size`` (h, w) region (top/left rounded); zero padded where the image is smaller."""
    crop_h, crop_w = _size_pair(output_size, "center_crop()")
    _, h, w = get_dimensions(img)
    if crop_w > w or crop_h > h:
        pads = [(crop_w - w) // 2 if crop_w > w else 0, (crop_h - h) // 2 if crop_h > h else 0,
                (crop_w - w + 1) // 2 if crop_w > w else 0, (crop_h - h + 1) // 2 if crop_h > h else 0]
        img = pad(img, pads, fill=0)
        _, h, w = get_dimensions(img)
        if crop_w == w and crop_h == h:
            return img
    return crop(img, int(round((h - crop_h) / 2.0)), int(round((w - crop_w) / 2.0)), crop_h, crop_w)


def _resized_output_size(h, w, size, max_size):
    if len(size) == 1:                                   # the smaller edge becomes size[0]
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = size[0], int(size[0] * long / short)
        if max_size is not None:
            if max_size <= size[0]:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the requested size for the "
                                 f"smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return [new_long, new_short] if w <= h else [new_short, new_long]
    return [size[0], size[1]]


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to ``size`` [h, w], or (an int or [n]) make the smaller edge n keeping the aspect
    ratio, the longer edge at most ``max_size``. PIL images use Pillow's filters (always
    antialiased); tensors use ``interpolate`` (antialiased for bilinear/bicubic when ``antialias``)."""
    interpolation = _interpolation(interpolation)
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError(f"Size must be an int or a 1 or 2 element tuple/list, not a {len(size)} element "
                             "tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("max_size should only be passed if size specifies the length of the smaller edge, i.e. "
                             f"size should be an int or a sequence of length 1, got size={size}")
    elif not isinstance(size, int):
        raise TypeError(f"Size should be int or sequence. Got {type(size)}")
    _, h, w = get_dimensions(img)
    out = _resized_output_size(h, w, [size] if isinstance(size, int) else list(size), max_size)
    if [h, w] == out:
        return img

    def on_pil(im):
        if antialias is False:
            warnings.warn("Anti-alias option is always applied for PIL Image input. Argument antialias is ignored.")
        return F_pil.resize(im, out, pil_modes_mapping[interpolation])

    return _apply(img, "resize", lambda t: F_t.resize(t, out, interpolation.value, antialias), on_pil)


def resized_crop(img, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR, antialias=True):
    """``crop`` then ``resize``."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def hflip(img):
    """Mirror left-right."""
    return _apply(img, "hflip", F_t.hflip, F_pil.hflip)


def vflip(img):
    """Mirror upside down."""
    return _apply(img, "vflip", F_t.vflip, F_pil.vflip)


def _perspective_coeffs(startpoints, endpoints):
    """The 8 coefficients of the homography taking each endpoint to its startpoint (output -> input):
    x_in = (a x + b y + c) / (g x + h y + 1), y_in = (d x + e y + f) / (g x + h y + 1)."""
    if len(startpoints) != 4 or len(endpoints) != 4:
        raise ValueError(f"Please provide exactly four corners, got {len(startpoints)} startpoints and "
                         f"{len(endpoints)} endpoints.")
    a = np.zeros((8, 8))
    b = np.zeros(8)
    for k, ((x, y), (u, v)) in enumerate(zip(endpoints, startpoints)):
        a[2 * k] = [x, y, 1, 0, 0, 0, -u * x, -u * y]
        a[2 * k + 1] = [0, 0, 0, x, y, 1, -v * x, -v * y]
        b[2 * k], b[2 * k + 1] = u, v
    solution = np.linalg.lstsq(a, b, rcond=None)[0]
    return solution.astype(np.float32).tolist()              # torchvision hands float32 values on


def perspective(img, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR, fill=None):
    """Warp so that ``startpoints`` (4 corners [x, y] of the input) land on ``endpoints``. Tensors take
    nearest or bilinear; ``fill`` is the value outside (None: zeros, no masking)."""
    coeffs = _perspective_coeffs(startpoints, endpoints)
    interpolation = _interpolation(interpolation)
    return _apply(img, "perspective", lambda t: F_t.perspective(t, coeffs, interpolation.value, fill),
                  lambda im: F_pil.perspective(im, coeffs, pil_modes_mapping[interpolation], fill))


def five_crop(img, size):
    """The four corner crops and the central crop of ``size`` (h, w): (tl, tr, bl, br, center)."""
    if isinstance(size, numbers.Number):
        size = (int(size), int(size))
    elif isinstance(size, (tuple, list)) and len(size) == 1:
        size = (size[0], size[0])
    if len(size) != 2:
        raise ValueError(f"Please provide only two dimensions (h, w) for size, got {size!r}")
    _, h, w = get_dimensions(img)
    ch, cw = size
    if cw > w or ch > h:
        raise ValueError(f"Requested crop size {size} is bigger than input size {(h, w)}")
    return (crop(img, 0, 0, ch, cw), crop(img, 0, w - cw, ch, cw), crop(img, h - ch, 0, ch, cw),
            crop(img, h - ch, w - cw, ch, cw), center_crop(img, [ch, cw]))


def ten_crop(img, size, vertical_flip=False):
    """``five_crop`` of the image, then of its flip (horizontal, or vertical with ``vertical_flip``)."""
    if isinstance(size, numbers.Number):
        size = (int(size), int(size))
    elif isinstance(size, (tuple, list)) and len(size) == 1:
        size = (size[0], size[0])
    if len(size) != 2:
        raise ValueError(f"Please provide only two dimensions (h, w) for size, got {size!r}")
    first = five_crop(img, size)
    return first + five_crop(vflip(img) if vertical_flip else hflip(img), size)


def _inverse_affine_matrix(center, angle, translate, scale, shear):
    """The output -> input map [a, b, c, d, e, f] (x_in = a x + b y + c, y_in = d x + e y + f) of:
    about ``center``, rotate by ``angle`` degrees (counter-clockwise on screen), scale, shear by
    (sx, sy) degrees, then translate.

    The forward linear part is R(angle) S(scale) SHy(sy) SHx(sx), whose unscaled factor has
    determinant 1, so its inverse is the adjugate divided by the scale."""
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    # forward R(rot) SHy(sy) SHx(sx), unscaled
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]
    # x_in = M (x_out - center - translate) + center
    m[2] = m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx
    m[5] = m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy
    return m


def _check_center(center):
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError(f"Argument center should be a sequence, got {type(center).__name__}")


def _tensor_center(center, img):
    """A pixel ``center`` as an offset from the image centre (what the tensor grids use)."""
    if center is None:
        return [0.0, 0.0]
    _, h, w = get_dimensions(img)
    return [1.0 * (c - s * 0.5) for c, s in zip(center, [w, h])]


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=None):
    """Rotate by ``angle`` degrees counter-clockwise about ``center`` (default: the image centre).
    ``expand`` grows the output to hold the whole rotated image. Outside pixels are zero, or
    ``fill``. Tensors take nearest or bilinear."""
    interpolation = _interpolation(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError(f"Argument angle should be int or float, got {type(angle).__name__}")
    _check_center(center)

    def on_tensor(t):
        matrix = _inverse_affine_matrix(_tensor_center(center, t), -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
        return F_t.rotate(t, matrix, interpolation.value, expand, fill)

    return _apply(img, "rotate", on_tensor,
                  lambda im: F_pil.rotate(im, angle, pil_modes_mapping[interpolation], expand, center, fill))


def affine(img, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST, fill=None, center=None):
    """Rotate by ``angle`` (degrees, counter-clockwise), scale, shear (degrees: a number for x, or
    [x, y]) about ``center`` (default: the image centre), then translate by [tx, ty] pixels; the
    image keeps its size. Tensors take nearest or bilinear."""
    interpolation = _interpolation(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError(f"Argument angle should be int or float, got {type(angle).__name__}")
    if not isinstance(translate, (list, tuple)):
        raise TypeError(f"Argument translate should be a sequence, got {type(translate).__name__}")
    if len(translate) != 2:
        raise ValueError(f"Argument translate should be a sequence of length 2, got {len(translate)}")
    if scale <= 0.0:
        raise ValueError(f"Argument scale should be positive, got {scale}")
    if not isinstance(shear, (numbers.Number, list, tuple)):
        raise TypeError(f"Shear should be either a single value or a sequence of two values, got "
                        f"{type(shear).__name__}")
    if isinstance(shear, numbers.Number):
        shear = [shear, 0.0]
    shear = list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    _check_center(center)
    angle, translate = float(angle), list(translate)

    def on_tensor(t):
        matrix = _inverse_affine_matrix(_tensor_center(center, t), angle, [1.0 * v for v in translate], scale, shear)
        return F_t.affine(t, matrix, interpolation.value, fill)

    def on_pil(im):
        c = [im.width * 0.5, im.height * 0.5] if center is None else center
        matrix = _inverse_affine_matrix(c, angle, translate, scale, shear)
        return F_pil.affine(im, matrix, pil_modes_mapping[interpolation], fill)

    return _apply(img, "affine", on_tensor, on_pil)


def elastic_transform(img, displacement, interpolation=InterpolationMode.BILINEAR, fill=None):
    """Move each output pixel's sampling point by ``displacement`` (1, H, W, 2), in normalized
    [-1, 1] units (x, y)."""
    if isinstance(interpolation, int) and not isinstance(interpolation, bool):
        warnings.warn("Argument interpolation should be of type InterpolationMode instead of int. Please, use "
                      "InterpolationMode enum.")
    interpolation = _interpolation(interpolation)
    if not isinstance(displacement, Tensor):
        raise TypeError(f"Argument displacement should be a Tensor, got {type(displacement).__name__}")

    def on_tensor(t):
        shape = (1, t.shape[-2], t.shape[-1], 2)
        if tuple(displacement.shape) != shape:
            raise ValueError(f"Argument displacement shape should be {shape}, but given {tuple(displacement.shape)}")
        return F_t.elastic_transform(t, displacement, interpolation.value, fill)

    return _apply(img, "elastic_transform", on_tensor,
                  lambda im: to_pil_image(on_tensor(pil_to_tensor(im)), mode=im.mode))


# ------------------------------------------------------------------ colour

def adjust_brightness(img, brightness_factor):
    """Multiply by ``brightness_factor`` (0: black, 1: unchanged), clamped."""
    return _apply(img, "adjust_brightness", lambda t: F_t.adjust_brightness(t, brightness_factor),
                  lambda im: F_pil.adjust_brightness(im, brightness_factor))


def adjust_contrast(img, contrast_factor):
    """Blend with the mean grey level: ``factor * img + (1 - factor) * mean``, clamped."""
    return _apply(img, "adjust_contrast", lambda t: F_t.adjust_contrast(t, contrast_factor),
                  lambda im: F_pil.adjust_contrast(im, contrast_factor))


def adjust_saturation(img, saturation_factor):
    """Blend with the grayscale image: 0 gives grey, 1 the image, 2 doubles the saturation."""
    return _apply(img, "adjust_saturation", lambda t: F_t.adjust_saturation(t, saturation_factor),
                  lambda im: F_pil.adjust_saturation(im, saturation_factor))


def adjust_hue(img, hue_factor):
    """Rotate the hue by ``hue_factor`` of a turn, in [-0.5, 0.5] (through HSV)."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    return _apply(img, "adjust_hue", lambda t: F_t.adjust_hue(t, hue_factor),
                  lambda im: F_pil.adjust_hue(im, hue_factor))


def adjust_gamma(img, gamma, gain=1):
    """``out = gain * in ** gamma`` on values in [0, 1], clamped (integer images are scaled to [0, 1] and back)."""
    if gamma < 0:
        raise ValueError(f"Gamma should be a non-negative real number, got {gamma}")
    return _apply(img, "adjust_gamma", lambda t: F_t.adjust_gamma(t, gamma, gain),
                  lambda im: F_pil.adjust_gamma(im, gamma, gain))


def adjust_sharpness(img, sharpness_factor):
    """Blend with a smoothed image: 0 blurs, 1 keeps, 2 sharpens (the one-pixel border is kept)."""
    return _apply(img, "adjust_sharpness", lambda t: F_t.adjust_sharpness(t, sharpness_factor),
                  lambda im: F_pil.adjust_sharpness(im, sharpness_factor))


def to_grayscale(img, num_output_channels=1):
    """PIL image -> grayscale PIL image ("L", or "RGB" with three equal bands)."""
    if F_pil._is_pil(img):
        return F_pil.to_grayscale(img, num_output_channels)
    raise TypeError(f"Input should be PIL Image, got {type(img)} (use rgb_to_grayscale for tensors)")


def rgb_to_grayscale(img, num_output_channels=1):
    """Grayscale with 1 or 3 (equal) channels. Tensors: 0.2989 R + 0.587 G + 0.114 B (truncated
    for integer dtypes); PIL: Pillow's ``convert("L")`` (299/587/114 per mille, rounded)."""
    return _apply(img, "rgb_to_grayscale", lambda t: F_t.rgb_to_grayscale(t, num_output_channels),
                  lambda im: F_pil.to_grayscale(im, num_output_channels))


def erase(img, i, j, h, w, v, inplace=False):
    """Set rows [i, i + h), columns [j, j + w) of a tensor image to ``v`` (broadcast)."""
    if not isinstance(img, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    return F_t.erase(img, i, j, h, w, v, inplace=inplace)


def _blur_args(kernel_size, sigma):
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError(f"kernel_size should be int or a sequence of integers. Got {type(kernel_size)}")
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. Got {len(kernel_size)}")
    for k in kernel_size:
        if k % 2 == 0 or k < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. Got {kernel_size}")
    if sigma is None:
        sigma = [k * 0.15 + 0.35 for k in kernel_size]
    if not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if len(sigma) == 1:
        sigma = [sigma[0], sigma[0]]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")
    return list(kernel_size), list(sigma)


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur by a Gaussian kernel of ``kernel_size`` [x, y] (odd) and ``sigma`` [x, y] (default
    ``0.15 * k + 0.35``), reflecting at the borders. PIL images are blurred as tensors."""
    kernel_size, sigma = _blur_args(kernel_size, sigma)
    return _apply(img, "gaussian_blur", lambda t: F_t.gaussian_blur(t, kernel_size, sigma),
                  lambda im: to_pil_image(F_t.gaussian_blur(pil_to_tensor(im), kernel_size, sigma), mode=im.mode))


def invert(img):
    """``max - img`` (1 - img for floats)."""
    return _apply(img, "invert", F_t.invert, F_pil.invert)


def posterize(img, bits):
    """Keep the top ``bits`` (0..8) bits of each uint8 value."""
    if not 0 <= bits <= 8:
        raise ValueError(f"The number if bits should be between 0 and 8. Got {bits}")
    return _apply(img, "posterize", lambda t: F_t.posterize(t, bits), lambda im: F_pil.posterize(im, bits))


def solarize(img, threshold):
    """Invert the values at or above ``threshold``."""
    return _apply(img, "solarize", lambda t: F_t.solarize(t, threshold), lambda im: F_pil.solarize(im, threshold))


def autocontrast(img):
    """Stretch each channel so that its darkest value becomes 0 and its brightest the maximum."""
    return _apply(img, "autocontrast", F_t.autocontrast, F_pil.autocontrast)


def equalize(img):
    """Equalize the histogram of each channel of a uint8 image (Pillow's lookup table)."""
    return _apply(img, "equalize", F_t.equalize, F_pil.equalize)
