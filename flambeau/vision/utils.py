"""``make_grid`` and ``save_image``: tile a batch of images into one picture, write it as PNG."""
import math

import numpy as np

from .._tensor import Tensor, _make
from .._xp import to_host

__all__ = ["make_grid", "save_image"]


def _as_array(tensor):
    if isinstance(tensor, (list, tuple)):
        if not all(isinstance(t, Tensor) for t in tensor):
            raise TypeError(f"tensor or list of tensors expected, got {[type(t).__name__ for t in tensor]}")
        return np.stack([to_host(t.detach()._data) for t in tensor])
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    return to_host(tensor.detach()._data)


def _grid_array(x, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """make_grid on a NumPy array; computes in the array's dtype, as the tensor ops would."""
    if x.ndim == 2:                                   # one (H, W) image
        x = x[None]
    if x.ndim == 3:                                   # one (C, H, W) image
        if x.shape[0] == 1:
            x = np.concatenate((x, x, x), 0)
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"make_grid(): expected a batch (B, C, H, W), an image (C, H, W) or (H, W), got shape "
                         f"{x.shape}")
    if x.shape[1] == 1:                               # grey -> RGB
        x = np.concatenate((x, x, x), 1)
    if normalize:
        x = x.copy()
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are numbers")

        def norm_range(t):
            low, high = (value_range if value_range is not None else (float(t.min()), float(t.max())))
            np.clip(t, low, high, out=t)
            t -= np.asarray(low, t.dtype)
            t /= np.asarray(max(high - low, 1e-5), t.dtype)

        if scale_each:
            for t in x:
                norm_range(t)
        else:
            norm_range(x)
    if x.shape[0] == 1:
        return x[0]
    nmaps = x.shape[0]
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(x.shape[2] + padding), int(x.shape[3] + padding)
    grid = np.full((x.shape[1], height * ymaps + padding, width * xmaps + padding), pad_value, dtype=x.dtype)
    k = 0
    for y in range(ymaps):
        for col in range(xmaps):
            if k >= nmaps:
                break
            grid[:, y * height + padding:(y + 1) * height, col * width + padding:(col + 1) * width] = x[k]
            k += 1
    return grid


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0,
              **kwargs):
    """Tile a batch (B, C, H, W) (or a list of (C, H, W) images) into one (3, H', W') image.

    Args:
        nrow (int): images per row; the grid has ``ceil(B / nrow)`` rows.
        padding (int): pixels between (and around) the images.
        normalize (bool): shift and scale to [0, 1], by ``value_range`` (min, max) or by the
            batch's min and max (each image's own with ``scale_each``).
        pad_value (float): value of the padding pixels.

    One-channel images become three channels (grey). A batch of one image is returned as is
    (after normalization), without padding.

    Example:
        >>> import flambeau as torch
        >>> make_grid(torch.zeros(5, 3, 4, 4), nrow=2).shape
        torch.Size([3, 20, 14])
    """
    if "range" in kwargs:
        value_range = kwargs.pop("range")
    if kwargs:
        raise TypeError(f"make_grid() got unexpected keyword arguments {sorted(kwargs)}")
    like = tensor[0] if isinstance(tensor, (list, tuple)) and tensor else tensor
    grid = _grid_array(_as_array(tensor), nrow, padding, normalize, value_range, scale_each, pad_value)
    out = _make(np.ascontiguousarray(grid))
    return out if not isinstance(like, Tensor) or like.device.type == "cpu" else out.to(like.device)


def to_uint8_hwc(grid):
    """A float (C, H, W) array in [0, 1] -> uint8 (H, W, C): ``mul(255).add(0.5).clamp(0, 255)``, truncated."""
    x = grid * np.asarray(255, grid.dtype) + np.asarray(0.5, grid.dtype)
    x = np.clip(x, 0, 255)
    return np.ascontiguousarray(x.transpose(1, 2, 0).astype(np.uint8))


def save_image(tensor, fp, format=None, **kwargs):
    """Write ``make_grid(tensor, **kwargs)`` as an image file (PNG unless ``format`` or the file
    name says otherwise). Values are taken in [0, 1]. Needs Pillow."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("save_image needs Pillow: pip install 'flambeau[vision]'") from None
    grid = _grid_array(_as_array(tensor), **{k: v for k, v in kwargs.items() if k != "range"},
                       **({"value_range": kwargs["range"]} if "range" in kwargs else {}))
    if grid.ndim == 2:
        grid = grid[None]
    arr = to_uint8_hwc(grid)
    if arr.shape[2] == 1:
        arr = arr[:, :, 0]
    Image.fromarray(arr).save(fp, format=format)
