"""The PIL-image half of ``transforms.functional``: Pillow's own operations, as torchvision uses them.

Pillow is imported only here, and only when a PIL image is given: an object can be a PIL image
only if ``PIL.Image`` is already imported, so ``_is_pil`` never imports it (flambeau.vision works
without Pillow, on arrays and tensors).
"""
import sys

import numpy as np

__all__ = []


def _is_pil(img):
    Image = sys.modules.get("PIL.Image")
    return Image is not None and isinstance(img, Image.Image)


def _check(img, op):
    if not _is_pil(img):
        raise TypeError(f"{op}(): img should be PIL Image or Tensor. Got {type(img)}")


def get_dimensions(img):
    _check(img, "get_dimensions")
    return [len(img.getbands()), img.height, img.width]


def get_image_size(img):
    _check(img, "get_image_size")
    return [img.width, img.height]


def get_image_num_channels(img):
    _check(img, "get_image_num_channels")
    return len(img.getbands())


def hflip(img):
    from PIL import Image
    _check(img, "hflip")
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def vflip(img):
    from PIL import Image
    _check(img, "vflip")
    return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)


def crop(img, top, left, height, width):
    _check(img, "crop")
    return img.crop((left, top, left + width, top + height))      # PIL fills the outside with zeros


def parse_fill(fill, img, name="fillcolor"):
    """``fill`` as Pillow takes it: one value per band (ints unless the image is float), 0 for None."""
    bands = get_image_num_channels(img)
    if fill is None:
        fill = 0
    if isinstance(fill, (int, float)) and bands > 1:
        fill = tuple([fill] * bands)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = tuple(fill) * bands
        elif len(fill) != bands:
            raise ValueError(f"The number of elements in 'fill' does not match the number of channels of the image "
                             f"({len(fill)} != {bands})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(x) for x in fill) if isinstance(fill, tuple) else int(fill)
    return {name: fill}


def pad(img, padding, fill, padding_mode):
    """``padding`` is (left, top, right, bottom), already parsed; negative values crop."""
    from PIL import Image, ImageOps
    _check(img, "pad")
    if padding_mode == "constant":
        opts = parse_fill(fill, img, name="fill")
        left, top, right, bottom = padding
        if min(padding) < 0:           # ImageOps.expand cannot crop: crop first
            img = img.crop((max(-left, 0), max(-top, 0), img.width - max(-right, 0), img.height - max(-bottom, 0)))
            left, top, right, bottom = (max(p, 0) for p in padding)
        out = ImageOps.expand(img, border=(left, top, right, bottom), **opts)
        if img.mode == "P":
            out.putpalette(img.getpalette())
        return out
    left, top, right, bottom = padding
    if min(padding) < 0:
        img = img.crop((max(-left, 0), max(-top, 0), img.width - max(-right, 0), img.height - max(-bottom, 0)))
        left, top, right, bottom = (max(p, 0) for p in padding)
    arr = np.asarray(img)
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (arr.ndim - 2)
    out = Image.fromarray(np.pad(arr, widths, mode=padding_mode))
    if img.mode == "P":
        out.putpalette(img.getpalette())
    return out


def resize(img, size, resample):
    """``size`` is [h, w]; Pillow's resampling filters widen with the scale (antialiasing)."""
    _check(img, "resize")
    return img.resize((int(size[1]), int(size[0])), resample)


def affine(img, matrix, resample, fill):
    """``matrix``: the 6 coefficients of the output -> input map, in Pillow's pixel coordinates."""
    from PIL import Image
    _check(img, "affine")
    return img.transform(img.size, Image.Transform.AFFINE, matrix, resample, **parse_fill(fill, img))


def rotate(img, angle, resample, expand, center, fill):
    _check(img, "rotate")
    return img.rotate(angle, resample, expand, None if center is None else tuple(center), **parse_fill(fill, img))


def perspective(img, coeffs, resample, fill):
    from PIL import Image
    _check(img, "perspective")
    return img.transform(img.size, Image.Transform.PERSPECTIVE, coeffs, resample, **parse_fill(fill, img))


def adjust_brightness(img, factor):
    from PIL import ImageEnhance
    _check(img, "adjust_brightness")
    return ImageEnhance.Brightness(img).enhance(factor)


def adjust_contrast(img, factor):
    from PIL import ImageEnhance
    _check(img, "adjust_contrast")
    return ImageEnhance.Contrast(img).enhance(factor)


def adjust_saturation(img, factor):
    from PIL import ImageEnhance
    _check(img, "adjust_saturation")
    return ImageEnhance.Color(img).enhance(factor)


def adjust_sharpness(img, factor):
    from PIL import ImageEnhance
    _check(img, "adjust_sharpness")
    return ImageEnhance.Sharpness(img).enhance(factor)


def adjust_hue(img, hue_factor):
    """Shift the hue channel of Pillow's 8-bit HSV by ``hue_factor`` of a turn, wrapping around."""
    from PIL import Image
    _check(img, "adjust_hue")
    mode = img.mode
    if mode in ("L", "1", "I", "F"):
        return img
    h, s, v = img.convert("HSV").split()
    shift = int(hue_factor * 255) % 256             # truncated toward zero, then taken modulo 256 as uint8 adds
    hue = ((np.asarray(h, dtype=np.uint16) + shift) % 256).astype(np.uint8)
    return Image.merge("HSV", (Image.fromarray(hue), s, v)).convert(mode)


def adjust_gamma(img, gamma, gain):
    """out = int(255.999 * gain * (in / 255) ** gamma), by a lookup table on each RGB band."""
    _check(img, "adjust_gamma")
    mode = img.mode
    table = [int((255 + 1 - 1e-3) * gain * pow(v / 255.0, gamma)) for v in range(256)] * 3
    return img.convert("RGB").point(table).convert(mode)


def to_grayscale(img, num_output_channels):
    from PIL import Image
    _check(img, "to_grayscale")
    if num_output_channels not in (1, 3):
        raise ValueError(f"num_output_channels should be either 1 or 3, got {num_output_channels}")
    grey = img.convert("L")                      # ITU-R 601-2: L = (299 R + 587 G + 114 B) / 1000
    if num_output_channels == 1:
        return grey
    return Image.merge("RGB", (grey, grey, grey))


def invert(img):
    from PIL import ImageOps
    _check(img, "invert")
    return ImageOps.invert(img)


def posterize(img, bits):
    from PIL import ImageOps
    _check(img, "posterize")
    return ImageOps.posterize(img, bits)


def solarize(img, threshold):
    from PIL import ImageOps
    _check(img, "solarize")
    return ImageOps.solarize(img, threshold)


def autocontrast(img):
    from PIL import ImageOps
    _check(img, "autocontrast")
    return ImageOps.autocontrast(img)


def equalize(img):
    from PIL import ImageOps
    _check(img, "equalize")
    return ImageOps.equalize(img)
