"""The tensor half of ``transforms.functional``, written with flambeau ops.

Images are tensors (..., C, H, W) (or (H, W)) of any leading batch shape, on any device. Float
images hold values in [0, 1], integer images in [0, max of the dtype]. The float paths are
differentiable, as torchvision's are. Resampling (resize, rotate, affine, perspective) and
filtering (blur, sharpness) cast integer images to float32 and round on the way back.
"""
import math

import numpy as np

from ... import _dtype
from ..._tensor import Tensor, _make
from ..._ops import creation as _c, pointwise as _pw
from ..._xp import to_host
from ...nn import functional as _nnF

__all__ = []


def _shape(img):
    return tuple(img.shape)


def assert_image_tensor(img, op):
    if not isinstance(img, Tensor):
        raise TypeError(f"{op}(): img should be a Tensor, got {type(img)}")
    if img.ndim < 2:
        raise TypeError(f"{op}(): Tensor is not a torch image: expected shape (..., H, W), got {_shape(img)}")


def get_dimensions(img):
    assert_image_tensor(img, "get_dimensions")
    return [1 if img.ndim == 2 else img.shape[-3], img.shape[-2], img.shape[-1]]


def max_value(dtype):
    """The value of white: 1 for floats (and bool), the dtype's maximum for integers."""
    if dtype.is_floating_point or dtype is _dtype.bool or dtype.is_complex:
        return 1
    return int(np.iinfo(dtype.np).max)


def _assert_channels(img, permitted, op):
    c = get_dimensions(img)[0]
    if c not in permitted:
        raise TypeError(f"{op}(): Input image tensor permitted channel values are {permitted}, but found {c} "
                        f"(shape {_shape(img)})")


def _assert_3d(img, op):
    if img.ndim < 3:
        raise TypeError(f"{op}(): Input image tensor should have at least 3 dimensions (..., C, H, W), but found "
                        f"{img.ndim} (shape {_shape(img)})")


def _float_dtype(img):
    return img.dtype if img.dtype.is_floating_point else _dtype.float32


def _as_batch(img, dtype=None):
    """(N, C, H, W) view (or copy) of (..., C, H, W) or (H, W), cast to ``dtype``; and the leading shape."""
    lead = _shape(img)[:-3] if img.ndim >= 3 else ()
    c = 1 if img.ndim == 2 else img.shape[-3]
    x = img.reshape(math.prod(lead), c, img.shape[-2], img.shape[-1])
    if dtype is not None and x.dtype is not dtype:
        x = x.to(dtype)
    return x, lead, img.ndim == 2


def _from_batch(x, lead, flat, out_dtype):
    """Undo ``_as_batch``: round when going back to an integer dtype (as torchvision does)."""
    if x.dtype is not out_dtype:
        if not out_dtype.is_floating_point and out_dtype is not _dtype.bool:
            x = x.round()
        x = x.to(out_dtype)
    if flat:
        return x.reshape(x.shape[-2], x.shape[-1])
    return x.reshape(*lead, *x.shape[1:])


def _const(values, dtype, like):
    """A tensor on ``like``'s device from host values."""
    return _c.tensor(np.asarray(values, dtype=dtype.np), device=like.device)


# ------------------------------------------------------------------ dtype conversion and normalization

def convert_image_dtype(image, dtype):
    """Scale values to the range of ``dtype``: floats [0, 1], integers [0, max]."""
    if not isinstance(dtype, _dtype.dtype):
        raise TypeError(f"convert_image_dtype(): dtype should be a torch.dtype, got {type(dtype).__name__}")
    src = image.dtype
    if src is dtype:
        return image
    if src.is_floating_point:
        if dtype.is_floating_point:
            return image.to(dtype)
        if (src is _dtype.float32 and dtype in (_dtype.int32, _dtype.int64)) or \
                (src is _dtype.float64 and dtype is _dtype.int64):
            raise RuntimeError(f"The cast from {src} to {dtype} cannot be performed safely.")
        # 1.0 maps to max + 1 - eps, so that each integer gets an equal share of [0, 1]
        return image.mul(float(max_value(dtype)) + 1.0 - 1e-3).to(dtype)
    top_in = float(max_value(src))
    if dtype.is_floating_point:
        return image.to(dtype) / top_in
    top_out = float(max_value(dtype))
    if top_in > top_out:
        factor = int((top_in + 1) // (top_out + 1))
        return image.div(factor, rounding_mode="floor").to(dtype)
    factor = int((top_out + 1) // (top_in + 1))
    return image.to(dtype) * factor


def normalize(tensor, mean, std, inplace=False):
    assert_image_tensor(tensor, "normalize")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = "
                         f"{_shape(tensor)}")
    dt = tensor.dtype.np
    mean = np.asarray(to_host(mean.detach()._data) if isinstance(mean, Tensor) else mean, dtype=dt)
    std = np.asarray(to_host(std.detach()._data) if isinstance(std, Tensor) else std, dtype=dt)
    if (std == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by zero.")
    if mean.ndim == 1:
        mean = mean[:, None, None]
    if std.ndim == 1:
        std = std[:, None, None]
    if not inplace and not tensor.requires_grad and tensor.is_cpu:
        return _make((tensor._data - mean) / std)           # the common case, without op dispatch
    m, s = _c.tensor(mean, device=tensor.device), _c.tensor(std, device=tensor.device)
    if inplace:
        return tensor.sub_(m).div_(s)
    return (tensor - m) / s


# ------------------------------------------------------------------ geometry without resampling

def hflip(img):
    assert_image_tensor(img, "hflip")
    return img.flip(-1)


def vflip(img):
    assert_image_tensor(img, "vflip")
    return img.flip(-2)


def crop(img, top, left, height, width):
    """Rows top..top+height, columns left..left+width; the part outside the image is zero."""
    assert_image_tensor(img, "crop")
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    if right <= 0 or bottom <= 0 or left >= w or top >= h:
        # all outside (torchvision slices with the negative end as a Python index here and returns a
        # wrongly sized image): all zeros
        return _c.zeros(*_shape(img)[:-2], height, width, dtype=img.dtype, device=img.device)
    if left < 0 or top < 0 or right > w or bottom > h:
        inside = img[..., max(top, 0):bottom, max(left, 0):right]
        pads = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return pad(inside, pads, 0, "constant")
    return img[..., top:bottom, left:right]


def _symmetric_index(n, before, after):
    """Source indices of a symmetric (edge-repeating mirror) padding of a length-n axis."""
    idx = np.arange(-before, n + after)
    period = 2 * n
    idx = np.mod(idx, period)
    return np.where(idx >= n, period - 1 - idx, idx)


def pad(img, padding, fill, padding_mode):
    """``padding`` is (left, top, right, bottom), already parsed; negative values crop."""
    assert_image_tensor(img, "pad")
    left, top, right, bottom = padding
    if padding_mode == "symmetric":
        if min(padding) < 0:
            img = img[..., max(-top, 0):img.shape[-2] - max(-bottom, 0), max(-left, 0):img.shape[-1] - max(-right, 0)]
            left, top, right, bottom = (max(p, 0) for p in padding)
        rows = _c.tensor(_symmetric_index(img.shape[-2], top, bottom), device=img.device)
        cols = _c.tensor(_symmetric_index(img.shape[-1], left, right), device=img.device)
        return img.index_select(-2, rows).index_select(-1, cols)
    x, lead, flat = _as_batch(img)
    out_dtype = x.dtype
    if padding_mode == "constant":
        y = _nnF.pad(x, [left, right, top, bottom], mode="constant", value=float(fill))
    else:
        if out_dtype not in (_dtype.float32, _dtype.float64):
            x = x.to(_dtype.float32)
        y = _nnF.pad(x, [left, right, top, bottom], mode="replicate" if padding_mode == "edge" else "reflect")
        y = y.to(out_dtype)
    if flat:
        return y.reshape(y.shape[-2], y.shape[-1])
    return y.reshape(*lead, *y.shape[1:])


# ------------------------------------------------------------------ resampling

def resize(img, size, interpolation, antialias):
    """``size`` is [h, w]; ``interpolation`` an InterpolationMode value ("bilinear", ...)."""
    assert_image_tensor(img, "resize")
    if antialias is None:
        antialias = False
    if interpolation not in ("bilinear", "bicubic"):
        antialias = False
    out_dtype = img.dtype
    x, lead, flat = _as_batch(img, out_dtype if out_dtype in (_dtype.float32, _dtype.float64) else _dtype.float32)
    align = False if interpolation in ("bilinear", "bicubic") else None
    y = _nnF.interpolate(x, size=[int(size[0]), int(size[1])], mode=interpolation, align_corners=align,
                         antialias=antialias)
    if interpolation == "bicubic" and out_dtype is _dtype.uint8:
        y = y.clamp(0, 255)                     # bicubic overshoots
    return _from_batch(y, lead, flat, out_dtype)


def _check_grid_inputs(img, interpolation, fill, op):
    assert_image_tensor(img, op)
    if fill is not None and not isinstance(fill, (int, float, tuple, list)):
        raise TypeError(f"{op}(): fill should be a number or a sequence of numbers, got {type(fill).__name__}")
    c = get_dimensions(img)[0]
    if isinstance(fill, (tuple, list)) and len(fill) > 1 and len(fill) != c:
        raise ValueError(f"The number of elements in 'fill' cannot broadcast to match the number of channels of the "
                         f"image ({len(fill)} != {c})")
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"Interpolation mode '{interpolation}' is unsupported with Tensor input (use nearest or "
                         "bilinear)")


def _apply_grid(img, grid, mode, fill):
    """grid_sample (zeros outside, align_corners=False) of img by grid (1, oh, ow, 2) in normalized
    coordinates; with ``fill``, the pixels whose source falls (mostly) outside take the fill value."""
    x, lead, flat = _as_batch(img, grid.dtype)
    n = x.shape[0]
    grid = grid.expand(n, *grid.shape[1:])
    if fill is not None:
        # an extra channel of ones, resampled like the image, measures how much of each output
        # pixel comes from inside the image
        x = _c.cat([x, _c.ones(n, 1, x.shape[2], x.shape[3], dtype=x.dtype, device=x.device)], 1)
    y = _nnF.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)
    if fill is not None:
        mask, y = y[:, -1:], y[:, :-1]
        values = [float(v) for v in fill] if isinstance(fill, (tuple, list)) else [float(fill)]
        fill_img = _const(values, y.dtype, y).reshape(1, len(values), 1, 1)
        if mode == "nearest":
            y = _pw.where(mask < 0.5, fill_img.expand_as(y), y)
        else:
            y = y * mask + (1.0 - mask) * fill_img
    return _from_batch(y, lead, flat, img.dtype)


def _affine_grid(matrix, w, h, ow, oh, dtype, like):
    """Normalized sampling grid (1, oh, ow, 2) of the inverse affine ``matrix`` (output -> input,
    in pixel coordinates centred on the image centre)."""
    dt = dtype.np
    xs = (np.arange(ow, dtype=np.float32) - np.float32(ow * 0.5 - 0.5)).astype(dt)
    ys = (np.arange(oh, dtype=np.float32) - np.float32(oh * 0.5 - 0.5)).astype(dt)
    theta = np.asarray(matrix, dtype=dt).reshape(2, 3)
    scale = np.asarray([0.5 * w, 0.5 * h], dtype=dt)
    rescaled = theta.T / scale                                   # (3, 2): pixels -> [-1, 1]
    base = np.empty((oh, ow, 3), dtype=dt)
    base[..., 0] = xs[None, :]
    base[..., 1] = ys[:, None]
    base[..., 2] = 1
    return _c.tensor((base.reshape(-1, 3) @ rescaled).reshape(1, oh, ow, 2), device=like.device)


def affine_output_size(matrix, w, h):
    """(ow, oh) of the box holding the forward-mapped image corners (``matrix`` maps output to input)."""
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0], [0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, -0.5 * h, 1.0]], dtype=np.float32)
    theta = np.asarray(matrix, dtype=np.float32).reshape(2, 3)
    new = pts @ theta.T
    lo = new.min(axis=0) + np.array([w * 0.5, h * 0.5], np.float32)
    hi = new.max(axis=0) + np.array([w * 0.5, h * 0.5], np.float32)
    tol = np.float32(1e-4)              # a corner a rounding error past an integer does not add a pixel
    cmax = np.ceil(np.trunc(hi / tol) * tol)
    cmin = np.floor(np.trunc(lo / tol) * tol)
    size = cmax - cmin
    return int(size[0]), int(size[1])


def affine(img, matrix, interpolation, fill, op="affine"):
    _check_grid_inputs(img, interpolation, fill, op)
    w, h = img.shape[-1], img.shape[-2]
    grid = _affine_grid(matrix, w, h, w, h, _float_dtype(img), img)
    return _apply_grid(img, grid, interpolation, fill)


def rotate(img, matrix, interpolation, expand, fill):
    _check_grid_inputs(img, interpolation, fill, "rotate")
    w, h = img.shape[-1], img.shape[-2]
    ow, oh = affine_output_size(matrix, w, h) if expand else (w, h)
    grid = _affine_grid(matrix, w, h, ow, oh, _float_dtype(img), img)
    return _apply_grid(img, grid, interpolation, fill)


def perspective(img, coeffs, interpolation, fill):
    """``coeffs`` (a..h) map output pixel (x, y) to input ((a x + b y + c) / (g x + h y + 1), (d x + e y + f) / (...)),
    in Pillow's coordinates (pixel centres at +0.5)."""
    _check_grid_inputs(img, interpolation, fill, "perspective")
    if len(coeffs) != 8:
        raise ValueError(f"perspective(): coeffs should have 8 float values, got {len(coeffs)}")
    ow, oh = img.shape[-1], img.shape[-2]
    dt = _float_dtype(img).np
    base = np.empty((oh, ow, 3), dtype=dt)
    base[..., 0] = (np.arange(ow, dtype=np.float32) + np.float32(0.5)).astype(dt)[None, :]
    base[..., 1] = (np.arange(oh, dtype=np.float32) + np.float32(0.5)).astype(dt)[:, None]
    base[..., 2] = 1
    theta1 = np.asarray([coeffs[:3], coeffs[3:6]], dtype=dt)
    theta2 = np.asarray([[coeffs[6], coeffs[7], 1.0], [coeffs[6], coeffs[7], 1.0]], dtype=dt)
    flat = base.reshape(-1, 3)
    num = flat @ (theta1.T / np.asarray([0.5 * ow, 0.5 * oh], dtype=dt))
    den = flat @ theta2.T
    grid = (num / den - dt.type(1.0)).reshape(1, oh, ow, 2)
    return _apply_grid(img, _c.tensor(grid, device=img.device), interpolation, fill)


def elastic_transform(img, displacement, interpolation, fill):
    assert_image_tensor(img, "elastic_transform")
    h, w = img.shape[-2], img.shape[-1]
    dt = displacement.dtype.np if displacement.dtype.is_floating_point else np.float32
    ys = np.linspace((-h + 1) / h, (h - 1) / h, h, dtype=np.float32).astype(dt)
    xs = np.linspace((-w + 1) / w, (w - 1) / w, w, dtype=np.float32).astype(dt)
    identity = np.stack(np.broadcast_arrays(xs[None, :], ys[:, None]), -1)[None]      # (1, h, w, 2): (x, y)
    grid = _c.tensor(identity, device=img.device) + displacement.to(img.device)
    return _apply_grid(img, grid, interpolation, fill)


# ------------------------------------------------------------------ filters

def _gaussian_kernel1d(size, sigma, dt):
    half = (size - 1) * 0.5
    x = np.linspace(-half, half, size, dtype=np.float32).astype(dt)
    pdf = np.exp(dt.type(-0.5) * (x / dt.type(sigma)) ** 2)
    return pdf / pdf.sum()


def _depthwise(x, kernel):
    """conv2d of (N, C, H, W) with the same 2-D kernel on each channel (no padding)."""
    c = x.shape[1]
    k = _c.tensor(kernel, device=x.device).expand(c, 1, *kernel.shape)
    return _nnF.conv2d(x, k, groups=c)


def gaussian_blur(img, kernel_size, sigma):
    """``kernel_size`` and ``sigma`` are [x (width), y (height)]; reflect padding keeps the size."""
    assert_image_tensor(img, "gaussian_blur")
    dtype = _float_dtype(img)
    dt = dtype.np
    kx = _gaussian_kernel1d(kernel_size[0], sigma[0], dt)
    ky = _gaussian_kernel1d(kernel_size[1], sigma[1], dt)
    kernel = ky[:, None] * kx[None, :]                           # (ky, kx)
    x, lead, flat = _as_batch(img, dtype)
    px, py = kernel_size[0] // 2, kernel_size[1] // 2
    x = _nnF.pad(x, [px, px, py, py], mode="reflect")
    return _from_batch(_depthwise(x, kernel), lead, flat, img.dtype)


def _blend(img1, img2, ratio):
    """ratio * img1 + (1 - ratio) * img2, clamped to the image range, truncated back to img1's dtype."""
    ratio = float(ratio)
    return (ratio * img1 + (1.0 - ratio) * img2).clamp(0, max_value(img1.dtype)).to(img1.dtype)


def _blurred_degenerate(img):
    """The image smoothed by [[1 1 1] [1 5 1] [1 1 1]] / 13, its one-pixel border kept."""
    dtype = _float_dtype(img)
    kernel = np.ones((3, 3), dtype=dtype.np)
    kernel[1, 1] = 5.0
    kernel /= kernel.sum()
    x, lead, flat = _as_batch(img, dtype)
    inner = _from_batch(_depthwise(x, kernel), lead, flat, img.dtype)
    out = img.clone()
    out[..., 1:-1, 1:-1] = inner
    return out


def adjust_sharpness(img, factor):
    if factor < 0:
        raise ValueError(f"sharpness_factor ({factor}) is not non-negative.")
    assert_image_tensor(img, "adjust_sharpness")
    _assert_channels(img, [1, 3], "adjust_sharpness")
    if img.shape[-1] <= 2 or img.shape[-2] <= 2:
        return img
    return _blend(img, _blurred_degenerate(img), factor)


# ------------------------------------------------------------------ colour

def rgb_to_grayscale(img, num_output_channels=1):
    """L = 0.2989 R + 0.587 G + 0.114 B (truncated for integer images)."""
    if not isinstance(img, Tensor) or img.ndim < 3:
        raise TypeError(f"rgb_to_grayscale(): Input image tensor should have at least 3 dimensions (..., C, H, W), "
                        f"but found shape {_shape(img) if isinstance(img, Tensor) else type(img)}")
    _assert_channels(img, [1, 3], "rgb_to_grayscale")
    if num_output_channels not in (1, 3):
        raise ValueError(f"num_output_channels should be either 1 or 3, got {num_output_channels}")
    if img.shape[-3] == 3:
        r, g, b = img.unbind(-3)
        grey = (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(-3)
    else:
        grey = img.clone()
    if num_output_channels == 3:
        return grey.expand(_shape(img))           # as torchvision: a 1-channel input stays 1 channel
    return grey


def adjust_brightness(img, factor):
    if factor < 0:
        raise ValueError(f"brightness_factor ({factor}) is not non-negative.")
    assert_image_tensor(img, "adjust_brightness")
    _assert_channels(img, [1, 3], "adjust_brightness")
    return _blend(img, _c.zeros_like(img), factor)


def adjust_contrast(img, factor):
    if factor < 0:
        raise ValueError(f"contrast_factor ({factor}) is not non-negative.")
    assert_image_tensor(img, "adjust_contrast")
    _assert_channels(img, [3, 1], "adjust_contrast")
    dtype = _float_dtype(img)
    grey = rgb_to_grayscale(img) if get_dimensions(img)[0] == 3 else img
    mean = grey.to(dtype).mean(dim=(-3, -2, -1), keepdim=True)
    return _blend(img, mean, factor)


def adjust_saturation(img, factor):
    if factor < 0:
        raise ValueError(f"saturation_factor ({factor}) is not non-negative.")
    assert_image_tensor(img, "adjust_saturation")
    _assert_channels(img, [1, 3], "adjust_saturation")
    if get_dimensions(img)[0] == 1:
        return img
    return _blend(img, rgb_to_grayscale(img), factor)


def _rgb_to_hsv(img):
    r, g, b = img.unbind(-3)
    maxc, minc = img.amax(-3), img.amin(-3)
    grey = maxc == minc                      # no hue, no saturation; divisors of 1 keep the arithmetic finite
    delta = maxc - minc
    ones = _c.ones_like(maxc)
    s = delta / _pw.where(grey, ones, maxc)
    d = _pw.where(grey, ones, delta)
    rc, gc, bc = (maxc - r) / d, (maxc - g) / d, (maxc - b) / d
    zero = _c.zeros_like(maxc)
    h = _pw.where(maxc == r, bc - gc, zero) + \
        _pw.where((maxc == g) & (maxc != r), 2.0 + rc - bc, zero) + \
        _pw.where((maxc != g) & (maxc != r), 4.0 + gc - rc, zero)
    h = _pw.fmod(h / 6.0 + 1.0, 1.0)
    return h, s, maxc


def _hsv_to_rgb(h, s, v):
    i = (h * 6.0).floor()
    f = h * 6.0 - i
    i = i.to(_dtype.int32) % 6
    p = (v * (1.0 - s)).clamp(0.0, 1.0)
    q = (v * (1.0 - s * f)).clamp(0.0, 1.0)
    t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0)

    def pick(*choices):                      # choices[k] where i == k
        out = choices[5]
        for k in range(4, -1, -1):
            out = _pw.where(i == k, choices[k], out)
        return out

    return _c.stack([pick(v, q, p, p, t, v), pick(t, v, v, q, p, p), pick(p, p, t, v, v, q)], -3)


def adjust_hue(img, hue_factor):
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    assert_image_tensor(img, "adjust_hue")
    _assert_channels(img, [1, 3], "adjust_hue")
    if get_dimensions(img)[0] == 1:
        return img
    x = convert_image_dtype(img, _dtype.float32)
    h, s, v = _rgb_to_hsv(x)
    return convert_image_dtype(_hsv_to_rgb((h + hue_factor) % 1.0, s, v), img.dtype)


def adjust_gamma(img, gamma, gain=1):
    if not isinstance(img, Tensor):
        raise TypeError(f"adjust_gamma(): Input img should be a Tensor, got {type(img)}")
    _assert_channels(img, [1, 3], "adjust_gamma")
    if gamma < 0:
        raise ValueError(f"Gamma should be a non-negative real number, got {gamma}")
    x = img if img.is_floating_point() else convert_image_dtype(img, _dtype.float32)
    return convert_image_dtype((gain * x.pow(gamma)).clamp(0, 1), img.dtype)


def invert(img):
    assert_image_tensor(img, "invert")
    _assert_3d(img, "invert")
    _assert_channels(img, [1, 3], "invert")
    return max_value(img.dtype) - img


def posterize(img, bits):
    assert_image_tensor(img, "posterize")
    _assert_3d(img, "posterize")
    if img.dtype is not _dtype.uint8:
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {img.dtype}")
    _assert_channels(img, [1, 3], "posterize")
    return img & ((-(2 ** (8 - bits))) & 0xFF)          # keep the top ``bits`` bits


def solarize(img, threshold):
    assert_image_tensor(img, "solarize")
    _assert_3d(img, "solarize")
    _assert_channels(img, [1, 3], "solarize")
    if threshold > max_value(img.dtype):
        raise TypeError(f"Threshold should be less than bound of img: got {threshold}, the bound of {img.dtype} is "
                        f"{max_value(img.dtype)}")
    return _pw.where(img >= threshold, invert(img), img)


def autocontrast(img):
    """Stretch each channel linearly so that its minimum becomes 0 and its maximum white."""
    assert_image_tensor(img, "autocontrast")
    _assert_3d(img, "autocontrast")
    _assert_channels(img, [1, 3], "autocontrast")
    bound = max_value(img.dtype)
    dtype = _float_dtype(img)
    lo = img.amin(dim=(-2, -1), keepdim=True).to(dtype)
    hi = img.amax(dim=(-2, -1), keepdim=True).to(dtype)
    flat = hi == lo                                   # a constant channel is left as it is
    scale = bound / _pw.where(flat, _c.ones_like(hi), hi - lo)
    scale = _pw.where(flat, _c.ones_like(scale), scale)
    lo = _pw.where(flat, _c.zeros_like(lo), lo)
    return ((img - lo) * scale).clamp(0, bound).to(img.dtype)


def _equalize_channel(chan):
    """Histogram equalization of one uint8 channel (H, W), with Pillow's lookup table."""
    hist = np.bincount(chan.reshape(-1), minlength=256)
    nonzero = hist[hist != 0]
    step = int(nonzero[:-1].sum()) // 255
    if step == 0:
        return chan
    lut = (np.cumsum(hist) + step // 2) // step
    lut = np.clip(np.concatenate([[0], lut[:-1]]), 0, 255).astype(np.uint8)
    return lut[chan]


def equalize(img):
    assert_image_tensor(img, "equalize")
    if not 3 <= img.ndim <= 4:
        raise TypeError(f"Input image tensor should have 3 or 4 dimensions, but found {img.ndim} (shape "
                        f"{_shape(img)})")
    if img.dtype is not _dtype.uint8:
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {img.dtype}")
    _assert_channels(img, [1, 3], "equalize")
    x = to_host(img._data)
    flat = x.reshape(-1, x.shape[-2], x.shape[-1])
    out = np.stack([_equalize_channel(chan) for chan in flat]).reshape(x.shape)
    return _c.tensor(out, device=img.device)


def erase(img, i, j, h, w, v, inplace=False):
    assert_image_tensor(img, "erase")
    if not inplace:
        img = img.clone()
    img[..., i:i + h, j:j + w] = v
    return img
