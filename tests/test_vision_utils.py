"""make_grid / save_image against torchvision's documented algorithm written with torch ops,
and the lecture's CIFAR pictures example."""
import math
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

import flambeau
from flambeau.vision.utils import make_grid, save_image


def ref_make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """torchvision.utils.make_grid's documented algorithm, with torch ops."""
    if isinstance(tensor, list):
        tensor = torch.stack(tensor, dim=0)
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:
        if tensor.size(0) == 1:
            tensor = torch.cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:
        tensor = torch.cat((tensor, tensor, tensor), 1)
    if normalize:
        tensor = tensor.clone()

        def norm_ip(img, low, high):
            img.clamp_(min=low, max=high)
            img.sub_(low).div_(max(high - low, 1e-5))

        def norm_range(t):
            if value_range is not None:
                norm_ip(t, value_range[0], value_range[1])
            else:
                norm_ip(t, float(t.min()), float(t.max()))

        if scale_each:
            for t in tensor:
                norm_range(t)
        else:
            norm_range(tensor)
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
    grid = tensor.new_full((tensor.size(1), height * ymaps + padding, width * xmaps + padding), pad_value)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid.narrow(1, y * height + padding, height - padding).narrow(
                2, x * width + padding, width - padding).copy_(tensor[k])
            k += 1
    return grid


def ref_png_pixels(tensor, **kwargs):
    grid = ref_make_grid(tensor, **kwargs)
    return grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu", torch.uint8).numpy()


CASES = [
    ((48, 3, 8, 8), dict(nrow=12)),
    ((5, 1, 4, 6), dict(nrow=2, padding=1, pad_value=0.5)),
    ((7, 3, 5, 5), dict(normalize=True)),
    ((7, 3, 5, 5), dict(normalize=True, scale_each=True, padding=0)),
    ((4, 3, 5, 5), dict(normalize=True, value_range=(-0.5, 0.5), nrow=3)),
    ((1, 3, 4, 4), dict(normalize=True)),
    ((3, 6, 6), dict()),
    ((1, 6, 6), dict(padding=3)),
    ((6, 6), dict()),
]


@pytest.mark.parametrize("shape, kw", CASES)
def test_make_grid_matches_reference(shape, kw):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 0.7 + 0.3
    ours = make_grid(flambeau.from_numpy(x.copy()), **kw)
    ref = ref_make_grid(torch.from_numpy(x.copy()), **kw)
    assert tuple(ours.shape) == tuple(ref.shape) and ours.dtype == flambeau.float32
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())


def test_make_grid_list_noncontiguous_and_errors():
    x = np.random.default_rng(1).random((4, 3, 5, 6)).astype(np.float32)
    t = flambeau.from_numpy(x).transpose(2, 3)                      # a non-contiguous view
    np.testing.assert_array_equal(make_grid(t, nrow=3).numpy(),
                                  ref_make_grid(torch.from_numpy(x).transpose(2, 3), nrow=3).numpy())
    np.testing.assert_array_equal(make_grid([t[0], t[1]]).numpy(),
                                  ref_make_grid([torch.from_numpy(x).transpose(2, 3)[i] for i in range(2)]).numpy())
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        make_grid(t, normalize=True, value_range=[0, 1])
    with pytest.raises(TypeError, match="tensor or list of tensors expected"):
        make_grid(x)


@pytest.mark.parametrize("shape, kw", CASES[:6])
def test_save_image_pixels(tmp_path, shape, kw):
    x = np.random.default_rng(2).random(shape).astype(np.float32) * 1.2 - 0.1      # some values outside [0, 1]
    path = tmp_path / "grid.png"
    save_image(flambeau.from_numpy(x), str(path), **kw)
    with Image.open(path) as im:
        assert im.format == "PNG"
        got = np.asarray(im)
    np.testing.assert_array_equal(got, ref_png_pixels(torch.from_numpy(x), **kw))


def test_cifar_grids_example(tmp_path):
    from flambeau.examples import cifar_grids
    rng = np.random.default_rng(0)
    folder = tmp_path / "data" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = []
    for i in range(1, 6):
        b = {"data": rng.integers(0, 256, (12, 3072), dtype=np.uint8), "labels": [i] * 12}
        batches.append(b["data"])
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(b, protocol=2))
    (folder / "test_batch").write_bytes(pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "labels": [0]}))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [str(i) for i in range(10)]}))
    cifar_grids.main(["--data", str(tmp_path / "data"), "--out", str(tmp_path)])
    x = torch.from_numpy(np.vstack(batches).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy())
    x = x.transpose(1, 3).transpose(2, 3).float() / 255       # the lecture's code, run by torch
    x = x.narrow(0, 0, 48).float()
    expected = {"cifar-4x12.png": ref_png_pixels(x, nrow=12)}
    x.transpose_(2, 3)
    expected["cifar-4x12-rotated.png"] = ref_png_pixels(x, nrow=12)
    x.narrow(1, 1, 2).fill_(0)
    expected["cifar-4x12-rotated-and-red.png"] = ref_png_pixels(x, nrow=12)
    for name, pixels in expected.items():
        with Image.open(tmp_path / name) as im:
            got = np.asarray(im)
        assert got.shape == (4 * 34 + 2, 12 * 34 + 2, 3)
        np.testing.assert_array_equal(got, pixels)
    assert (np.asarray(Image.open(tmp_path / "cifar-4x12-rotated-and-red.png"))[..., 1:] == 0).all()
