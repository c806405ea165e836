"""Image transforms with torchvision's names and semantics.

Images are PIL images (Pillow is optional: ``pip install 'flambeau[vision]'``), NumPy arrays
(H, W) or (H, W, C), or tensors (..., C, H, W). Random transforms draw from flambeau's
default generator, so ``flambeau.manual_seed`` makes them reproducible (and DataLoader
workers seed it per worker).
"""
import math
import numbers

import numpy as np

from .. import _dtype
from .._tensor import Tensor, _make
from .._ops import creation as _creation
from .._xp import to_host

__all__ = ["Compose", "ToTensor", "PILToTensor", "ConvertImageDtype", "Normalize", "Resize", "CenterCrop",
           "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation",
           "Pad", "Lambda", "ToPILImage", "ColorJitter", "InterpolationMode"]


class InterpolationMode:
    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


def _pil():
    try:
        from PIL import Image
        return Image
    except ImportError:
        return None


def _is_pil(img):
    Image = _pil()
    return Image is not None and isinstance(img, Image.Image)


def _pil_resample(mode):
    Image = _pil()
    return {InterpolationMode.NEAREST: Image.NEAREST, InterpolationMode.BILINEAR: Image.BILINEAR,
            InterpolationMode.BICUBIC: Image.BICUBIC}[mode]


def _check_image(img, op):
    if isinstance(img, Tensor):
        if img.dim() < 2:
            raise ValueError(f"{op}: expected a tensor image of shape (..., C, H, W) or (H, W), got shape "
                             f"{tuple(img.shape)}")
        return
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(f"{op}: expected an array image of shape (H, W) or (H, W, C), got {img.shape}")
        return
    if not _is_pil(img):
        raise TypeError(f"{op}: expected a PIL Image, NumPy array or Tensor, got {type(img).__name__}")


def _size_hw(img):
    if _is_pil(img):
        return img.height, img.width
    if isinstance(img, np.ndarray):
        return img.shape[0], img.shape[1]
    return img.shape[-2], img.shape[-1]


def _setup_size(size, what):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return int(size[0]), int(size[0])
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise ValueError(f"{what}: please provide only two dimensions (h, w) for size, got {size!r}")
    return int(size[0]), int(size[1])


def _crop(img, top, left, height, width):
    """A crop; the part outside the image is zero, as torchvision pads."""
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    h, w = _size_hw(img)
    if top < 0 or left < 0 or top + height > h or left + width > w:
        pads = [max(-left, 0), max(-top, 0), max(left + width - w, 0), max(top + height - h, 0)]
        img = _pad(img, pads, 0, "constant")
        top, left = top + pads[1], left + pads[0]
    if isinstance(img, np.ndarray):
        return img[top:top + height, left:left + width]
    return img[..., top:top + height, left:left + width]


def _flip(img, axis):           # axis: "h" (left-right) or "v" (up-down)
    if _is_pil(img):
        Image = _pil()
        return img.transpose(Image.FLIP_LEFT_RIGHT if axis == "h" else Image.FLIP_TOP_BOTTOM)
    if isinstance(img, np.ndarray):
        return img[:, ::-1].copy() if axis == "h" else img[::-1].copy()
    return img.flip(-1 if axis == "h" else -2)


def _parse_padding(padding):
    if isinstance(padding, numbers.Number):
        return [int(padding)] * 4
    padding = list(padding)
    if len(padding) == 1:
        return [int(padding[0])] * 4
    if len(padding) == 2:
        return [int(padding[0]), int(padding[1])] * 2
    if len(padding) == 4:
        return [int(p) for p in padding]
    raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple")


_NP_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}


def _pad(img, padding, fill, padding_mode):
    left, top, right, bottom = _parse_padding(padding)
    if padding_mode not in _NP_PAD_MODES:
        raise ValueError(f"Padding mode should be either constant, edge, reflect or symmetric, got {padding_mode!r}")
    kw = {"constant_values": fill} if padding_mode == "constant" else {}
    if _is_pil(img):
        arr = np.asarray(img)
        widths = [(top, bottom), (left, right)] + [(0, 0)] * (arr.ndim - 2)
        Image = _pil()
        if padding_mode == "constant" and not isinstance(fill, numbers.Number):
            kw = {}
            out = np.stack([np.pad(arr[..., c], widths[:2], constant_values=fill[c]) for c in range(arr.shape[2])], -1)
        else:
            out = np.pad(arr, widths, mode=_NP_PAD_MODES[padding_mode], **kw)
        res = Image.fromarray(out)
        if img.mode == "P":
            res.putpalette(img.getpalette())
        return res
    if isinstance(img, np.ndarray):
        widths = [(top, bottom), (left, right)] + [(0, 0)] * (img.ndim - 2)
        return np.pad(img, widths, mode=_NP_PAD_MODES[padding_mode], **kw)
    arr = to_host(img._data)
    widths = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
    return _back(np.pad(arr, widths, mode=_NP_PAD_MODES[padding_mode], **kw), img)


def _back(array, like):
    t = _make(np.ascontiguousarray(array))
    return t if like.device.type == "cpu" else t.to(like.device)


def _resample_weights(in_size, out_size, mode):
    """(out_size, in_size) matrix of an antialiased resampling along one axis (as PIL does)."""
    scale = in_size / out_size
    centers = (np.arange(out_size) + 0.5) * scale
    if mode == InterpolationMode.NEAREST:
        idx = np.minimum(np.floor((np.arange(out_size)) * scale).astype(np.int64), in_size - 1)
        m = np.zeros((out_size, in_size))
        m[np.arange(out_size), idx] = 1.0
        return m
    support = max(scale, 1.0)
    x = (np.arange(in_size)[None, :] + 0.5 - centers[:, None]) / support
    if mode == InterpolationMode.BICUBIC:
        a = -0.5
        ax = np.abs(x)
        w = np.where(ax <= 1, ((a + 2) * ax - (a + 3)) * ax * ax + 1,
                     np.where(ax < 2, ((a * ax - 5 * a) * ax + 8 * a) * ax - 4 * a, 0.0))
    else:
        w = np.clip(1.0 - np.abs(x), 0.0, None)
    return w / w.sum(axis=1, keepdims=True)


def _resize(img, size, interpolation, max_size=None):
    h, w = _size_hw(img)
    if isinstance(size, numbers.Number) or (isinstance(size, (list, tuple)) and len(size) == 1):
        s = int(size if isinstance(size, numbers.Number) else size[0])
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = s, int(s * long / short)
        if max_size is not None:
            if max_size <= s:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the requested size for "
                                 f"the smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        oh, ow = (new_long, new_short) if w <= h else (new_short, new_long)
    else:
        oh, ow = _setup_size(size, "Resize")
    if (oh, ow) == (h, w):
        return img
    if _is_pil(img):
        return img.resize((ow, oh), _pil_resample(interpolation))
    arr = np.asarray(img) if isinstance(img, np.ndarray) else to_host(img._data)
    hwc = isinstance(img, np.ndarray)
    x = arr.astype(np.float64)
    rows, cols = _resample_weights(h, oh, interpolation), _resample_weights(w, ow, interpolation)
    if hwc:
        x = np.einsum("oh,hw...->ow...", rows, x)
        x = np.einsum("pw,ow...->op...", cols, x)
    else:
        x = np.einsum("oh,...hw->...ow", rows, x)
        x = np.einsum("pw,...ow->...op", cols, x)
    if arr.dtype.kind in "iub":
        info = np.iinfo(arr.dtype)
        x = np.clip(np.round(x), info.min, info.max)
    out = x.astype(arr.dtype)
    return out if hwc else _back(out, img)


class Compose:
    """Apply transforms one after the other.

    Example:
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


class ToTensor:
    """PIL image or ndarray (H, W[, C]) -> tensor (C, H, W); uint8 (and PIL 8-bit) become
    float32 in [0, 1], other dtypes keep their values."""

    def __call__(self, pic):
        if _is_pil(pic):
            arr = np.array(pic, copy=True)
            if pic.mode == "1":
                arr = arr.astype(np.uint8) * 255
            elif pic.mode == "I;16":
                arr = arr.astype(np.int16)
        elif isinstance(pic, np.ndarray):
            if pic.ndim not in (2, 3):
                raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
            arr = pic
        else:
            raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
        if arr.ndim == 2:
            arr = arr[:, :, None]
        chw = np.ascontiguousarray(arr.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            return _make((chw.astype(np.float32) / np.float32(255)).astype(np.float32))
        return _make(chw)

    def __repr__(self):
        return self.__class__.__name__ + "()"


class PILToTensor:
    """PIL image -> tensor (C, H, W) of the same dtype (uint8 for 8-bit images), no scaling."""

    def __call__(self, pic):
        if not _is_pil(pic):
            raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
        arr = np.array(pic, copy=True)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        return _make(np.ascontiguousarray(arr.transpose(2, 0, 1)))

    def __repr__(self):
        return self.__class__.__name__ + "()"


class ConvertImageDtype:
    """Convert a tensor image to ``dtype``, rescaling: floats are in [0, 1], integers in
    [0, max of the dtype]."""

    def __init__(self, dtype):
        self.dtype = dtype

    def __call__(self, image):
        if not isinstance(image, Tensor):
            raise TypeError(f"Input img should be Tensor Image, got {type(image).__name__}")
        src, dst = image.dtype, self.dtype
        if src is dst:
            return image
        x = to_host(image._data)
        if src.is_floating_point:
            if dst.is_floating_point:
                return _back(x.astype(dst.np), image)
            if (src is _dtype.float32 and dst in (_dtype.int32, _dtype.int64)) or \
                    (src is _dtype.float64 and dst is _dtype.int64):
                raise RuntimeError(f"The cast from {src} to {dst} cannot be performed safely.")
            eps = 1e-3
            top = float(np.iinfo(dst.np).max)
            return _back((x * np.asarray(top + 1.0 - eps, x.dtype)).astype(dst.np), image)
        top_in = float(np.iinfo(src.np).max) if src is not _dtype.bool else 1.0
        if dst.is_floating_point:
            return _back((x.astype(dst.np) / np.asarray(top_in, dst.np)).astype(dst.np), image)
        top_out = int(np.iinfo(dst.np).max)
        if top_in > top_out:
            factor = (int(top_in) + 1) // (top_out + 1)
            return _back((x // factor).astype(dst.np), image)
        factor = (top_out + 1) // (int(top_in) + 1)
        return _back(x.astype(dst.np) * np.asarray(factor, dst.np), image)

    def __repr__(self):
        return f"{self.__class__.__name__}(dtype={self.dtype})"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a float tensor image (..., C, H, W)."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
        if not tensor.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if tensor.dim() < 3:
            raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = "
                             f"{tuple(tensor.shape)}")
        dt = tensor.dtype.np
        mean = np.asarray(self.mean.tolist() if isinstance(self.mean, Tensor) else self.mean, dtype=dt)
        std = np.asarray(self.std.tolist() if isinstance(self.std, Tensor) else self.std, dtype=dt)
        if (std == 0).any():
            raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by "
                             "zero.")
        if mean.ndim == 1:
            mean = mean[:, None, None]
        if std.ndim == 1:
            std = std[:, None, None]
        if not self.inplace and not tensor.requires_grad and tensor.is_cpu:
            return _make((tensor._data - mean) / std)           # the common case, without op dispatch
        from .._ops.creation import tensor as _tensor
        m, s = _tensor(mean, device=tensor.device), _tensor(std, device=tensor.device)
        if self.inplace:
            return tensor.sub_(m).div_(s)
        return (tensor - m) / s

    def __repr__(self):
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


class Resize:
    """Resize to ``size`` (h, w), or make the smaller edge ``size`` keeping the aspect ratio.

    PIL images use Pillow's resampling; arrays and tensors use the same antialiased
    separable filters (triangle for bilinear, Keys cubic for bicubic)."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
        self.size, self.interpolation, self.max_size, self.antialias = size, interpolation, max_size, antialias

    def __call__(self, img):
        _check_image(img, "Resize")
        return _resize(img, self.size, self.interpolation, self.max_size)

    def __repr__(self):
        return (f"{self.__class__.__name__}(size={self.size}, interpolation={self.interpolation}, "
                f"max_size={self.max_size}, antialias={self.antialias})")


class CenterCrop:
    """The central (h, w) region (zero padded when the image is smaller)."""

    def __init__(self, size):
        self.size = _setup_size(size, "CenterCrop")

    def __call__(self, img):
        _check_image(img, "CenterCrop")
        h, w = _size_hw(img)
        th, tw = self.size
        return _crop(img, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size})"


def _randint(low, high):
    return int(_creation.randint(low, high, (1,)).item())


class RandomCrop:
    """A random (h, w) region, after optional ``padding`` (and ``pad_if_needed``)."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _setup_size(size, "RandomCrop")
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = padding, pad_if_needed, fill, padding_mode

    @staticmethod
    def get_params(img, output_size):
        h, w = _size_hw(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size {(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        return _randint(0, h - th + 1), _randint(0, w - tw + 1), th, tw

    def __call__(self, img):
        _check_image(img, "RandomCrop")
        if self.padding is not None:
            img = _pad(img, self.padding, self.fill, self.padding_mode)
        h, w = _size_hw(img)
        if self.pad_if_needed and w < self.size[1]:
            img = _pad(img, [self.size[1] - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < self.size[0]:
            img = _pad(img, [0, self.size[0] - h], self.fill, self.padding_mode)
        i, j, th, tw = self.get_params(img, self.size)
        return _crop(img, i, j, th, tw)

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size}, padding={self.padding})"


class RandomResizedCrop:
    """A random region of random area (``scale``) and aspect ratio (``ratio``), resized to ``size``."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        self.size = _setup_size(size, "RandomResizedCrop")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError("Scale and ratio should be of kind (min, max)")
        self.scale, self.ratio, self.interpolation, self.antialias = scale, ratio, interpolation, antialias

    @staticmethod
    def get_params(img, scale, ratio):
        height, width = _size_hw(img)
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * _creation.empty(1).uniform_(scale[0], scale[1]).item()
            aspect = math.exp(_creation.empty(1).uniform_(log_ratio[0], log_ratio[1]).item())
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

    def __call__(self, img):
        _check_image(img, "RandomResizedCrop")
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return _resize(_crop(img, i, j, h, w), self.size, self.interpolation)

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size}, scale={self.scale}, ratio={self.ratio})"


class RandomHorizontalFlip:
    """Flip left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        _check_image(img, "RandomHorizontalFlip")
        return _flip(img, "h") if _creation.rand(1).item() < self.p else img

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p})"


class RandomVerticalFlip:
    """Flip upside down with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        _check_image(img, "RandomVerticalFlip")
        return _flip(img, "v") if _creation.rand(1).item() < self.p else img

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p})"


def _rotate_array(x, angle, interpolation, expand, center, fill, chw):
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (default: the image centre)."""
    h, w = (x.shape[-2], x.shape[-1]) if chw else (x.shape[0], x.shape[1])
    cx, cy = ((w - 1) * 0.5, (h - 1) * 0.5) if center is None else (center[0], center[1])
    a = math.radians(angle)
    cos, sin = math.cos(a), math.sin(a)
    oh, ow = h, w
    ocx, ocy = cx, cy
    if expand:
        corners = [(-cx, -cy), (w - 1 - cx, -cy), (-cx, h - 1 - cy), (w - 1 - cx, h - 1 - cy)]
        xs = [cos * px + sin * py for px, py in corners]
        ys = [-sin * px + cos * py for px, py in corners]
        ow, oh = int(math.ceil(max(xs) - min(xs) + 1 - 1e-9)), int(math.ceil(max(ys) - min(ys) + 1 - 1e-9))
        ocx, ocy = (ow - 1) * 0.5, (oh - 1) * 0.5
    yy, xx = np.mgrid[0:oh, 0:ow].astype(np.float64)
    dx, dy = xx - ocx, yy - ocy
    # inverse map: output pixel -> source pixel (image y axis points down)
    sx = cos * dx - sin * dy + cx
    sy = sin * dx + cos * dy + cy
    src = x if chw else np.moveaxis(x.reshape(h, w, -1), -1, 0)
    flat = src.reshape(-1, h, w).astype(np.float64)
    if interpolation == InterpolationMode.NEAREST:
        ix, iy = np.round(sx).astype(np.int64), np.round(sy).astype(np.int64)
        valid = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        out = np.where(valid, flat[:, np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)], 0.0)
    else:
        x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
        fx, fy = sx - x0, sy - y0
        out = np.zeros((flat.shape[0], oh, ow))
        valid = np.zeros((oh, ow), bool)
        for ddy, wy in ((0, 1 - fy), (1, fy)):
            for ddx, wx in ((0, 1 - fx), (1, fx)):
                px, py = x0 + ddx, y0 + ddy
                ok = (px >= 0) & (px < w) & (py >= 0) & (py < h)
                out += np.where(ok, flat[:, np.clip(py, 0, h - 1), np.clip(px, 0, w - 1)] * (wx * wy), 0.0)
                valid |= ok & (wx * wy > 0)
    fills = np.broadcast_to(np.asarray(0.0 if fill is None else fill, np.float64).reshape(-1, 1, 1),
                            (flat.shape[0], 1, 1))
    out = np.where(valid, out, fills)
    if x.dtype.kind in "iub":
        info = np.iinfo(x.dtype)
        out = np.clip(np.round(out), info.min, info.max)
    out = out.astype(x.dtype)
    if chw:
        return out.reshape(x.shape[:-2] + (oh, ow))
    out = np.moveaxis(out, 0, -1)
    return out.reshape((oh, ow) + x.shape[2:])


class RandomRotation:
    """Rotate by an angle drawn uniformly in ``degrees`` (a (min, max) pair, or d for (-d, d)),
    counter-clockwise; ``expand`` grows the output to hold the whole rotated image."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=0):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError("If degrees is a single number, it must be positive.")
            degrees = (-degrees, degrees)
        elif len(degrees) != 2:
            raise ValueError("If degrees is a sequence, it must be of len 2.")
        self.degrees = [float(d) for d in degrees]
        self.interpolation, self.expand, self.center, self.fill = interpolation, expand, center, fill

    @staticmethod
    def get_params(degrees):
        return float(_creation.empty(1).uniform_(float(degrees[0]), float(degrees[1])).item())

    def __call__(self, img):
        _check_image(img, "RandomRotation")
        angle = self.get_params(self.degrees)
        if _is_pil(img):
            fill = self.fill
            if isinstance(fill, numbers.Number) and len(img.getbands()) > 1:
                fill = tuple([int(fill)] * len(img.getbands()))
            return img.rotate(angle, _pil_resample(self.interpolation), self.expand, self.center, fillcolor=fill)
        if isinstance(img, np.ndarray):
            return _rotate_array(img, angle, self.interpolation, self.expand, self.center, self.fill, chw=False)
        return _back(_rotate_array(to_host(img._data), angle, self.interpolation, self.expand, self.center,
                                   self.fill, chw=True), img)

    def __repr__(self):
        return f"{self.__class__.__name__}(degrees={self.degrees}, interpolation={self.interpolation}, " \
               f"expand={self.expand}, fill={self.fill})"


class Pad:
    """Pad the borders: ``padding`` is an int, (left/right, top/bottom) or (left, top, right,
    bottom); ``padding_mode`` is constant (with ``fill``), edge, reflect or symmetric."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        _parse_padding(padding)
        if padding_mode not in _NP_PAD_MODES:
            raise ValueError(f"Padding mode should be either constant, edge, reflect or symmetric, got "
                             f"{padding_mode!r}")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img):
        _check_image(img, "Pad")
        return _pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self):
        return f"{self.__class__.__name__}(padding={self.padding}, fill={self.fill}, " \
               f"padding_mode={self.padding_mode})"


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


class ToPILImage:
    """Tensor (C, H, W) or ndarray (H, W, C) -> PIL image; float values in [0, 1] are scaled
    by 255 (as ``pic.mul(255).byte()``)."""

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        Image = _pil()
        if Image is None:
            raise ImportError("ToPILImage needs Pillow: pip install 'flambeau[vision]'")
        if isinstance(pic, Tensor):
            if pic.dim() not in (2, 3):
                raise ValueError(f"pic should be 2/3 dimensional. Got {pic.dim()} dimensions.")
            arr = to_host(pic.detach()._data)
            if arr.ndim == 2:
                arr = arr[None]
            if pic.is_floating_point() and self.mode != "F":
                arr = (arr * np.asarray(255, arr.dtype)).astype(np.uint8)
            arr = arr.transpose(1, 2, 0)
        elif isinstance(pic, np.ndarray):
            if pic.ndim not in (2, 3):
                raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
            arr = pic if pic.ndim == 3 else pic[:, :, None]
        else:
            raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
        if arr.shape[2] == 1:
            arr = arr[:, :, 0]
            if arr.dtype == np.int16:
                arr = arr.astype(np.int32)
        arr = np.ascontiguousarray(arr)
        img = Image.fromarray(arr)
        if self.mode is not None and img.mode != self.mode:
            img = img.convert(self.mode)
        return img

    def __repr__(self):
        return f"{self.__class__.__name__}(mode={self.mode})" if self.mode else self.__class__.__name__ + "()"


def _grey(x):
    """ITU-R 601-2 luma of (..., 3, H, W) (or (..., 1, H, W): itself), keeping the channel dim."""
    if x.shape[-3] == 1:
        return x
    r, g, b = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    return (0.2989 * r + 0.587 * g + 0.114 * b)[..., None, :, :]


def _rgb_to_hsv(x):
    r, g, b = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    maxc, minc = x.max(axis=-3), x.min(axis=-3)
    delta = maxc - minc
    v = maxc
    s = np.where(maxc > 0, delta / np.where(maxc > 0, maxc, 1), 0.0)
    d = np.where(delta > 0, delta, 1)
    rc, gc, bc = (maxc - r) / d, (maxc - g) / d, (maxc - b) / d
    h = np.where(maxc == r, bc - gc, np.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = np.where(delta > 0, (h / 6.0) % 1.0, 0.0)
    return h, s, v


def _hsv_to_rgb(h, s, v):
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int64) % 6
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    r = np.choose(i, [v, q, p, p, t, v])
    g = np.choose(i, [t, v, v, q, p, p])
    b = np.choose(i, [p, p, t, v, v, q])
    return np.stack([r, g, b], axis=-3)


class ColorJitter:
    """Random brightness, contrast, saturation and hue changes, applied in a random order.

    Each of brightness/contrast/saturation is a factor range (``b`` means [max(0, 1-b), 1+b]);
    hue is a shift range within [-0.5, 0.5] (``h`` means [-h, h]). Tensors are taken in [0, 1]
    (floats) or [0, 255] (uint8), shape (..., 3, H, W)."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = self._range(brightness, "brightness")
        self.contrast = self._range(contrast, "contrast")
        self.saturation = self._range(saturation, "saturation")
        self.hue = self._range(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first_on_zero=False)

    @staticmethod
    def _range(value, name, center=1, bound=(0, float("inf")), clip_first_on_zero=True):
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

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        order = _creation.randperm(4).tolist()
        draw = [None if r is None else float(_creation.empty(1).uniform_(r[0], r[1]).item())
                for r in (brightness, contrast, saturation, hue)]
        return (order, *draw)

    def __call__(self, img):
        _check_image(img, "ColorJitter")
        order, b, c, s, h = self.get_params(self.brightness, self.contrast, self.saturation, self.hue)
        pil = _is_pil(img)
        if pil:
            mode = img.mode
            x = np.asarray(img.convert("RGB") if mode not in ("RGB", "L") else img, dtype=np.float64)
            x = (x[None] if x.ndim == 2 else x.transpose(2, 0, 1)) / 255.0
            dt, top = None, 1.0
        elif isinstance(img, np.ndarray):
            raise TypeError("ColorJitter: expected a PIL Image or a Tensor, got a NumPy array (use ToTensor first)")
        else:
            dt = img._data.dtype
            top = 255.0 if dt == np.uint8 else 1.0
            x = to_host(img._data).astype(np.float64) / top
        for fn in order:
            if fn == 0 and b is not None:
                x = np.clip(x * b, 0, 1)
            elif fn == 1 and c is not None:
                mean = _grey(x).mean(axis=(-3, -2, -1), keepdims=True)
                x = np.clip(c * x + (1 - c) * mean, 0, 1)
            elif fn == 2 and s is not None:
                x = np.clip(s * x + (1 - s) * _grey(x), 0, 1)
            elif fn == 3 and h is not None and x.shape[-3] == 3:
                hh, ss, vv = _rgb_to_hsv(x)
                x = _hsv_to_rgb((hh + h) % 1.0, ss, vv)
        if pil:
            out = np.clip(np.round(x * 255), 0, 255).astype(np.uint8)
            out = out[0] if out.shape[0] == 1 else out.transpose(1, 2, 0)
            res = _pil().fromarray(out)
            return res.convert(mode) if res.mode != mode else res
        if dt == np.uint8:
            return _back(np.clip(np.round(x * 255), 0, 255).astype(np.uint8), img)
        return _back(x.astype(dt), img)

    def __repr__(self):
        return (f"{self.__class__.__name__}(brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue})")
