"""vision.transforms, checked against torch arithmetic, NumPy and Pillow."""
import numpy as np
import pytest
import torch
from PIL import Image

import flambeau
from flambeau.vision import transforms as T


def _rng_img(h=5, w=7, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def test_to_tensor_matches_torch_formula():
    arr = _rng_img()
    ref = torch.from_numpy(arr).permute(2, 0, 1).contiguous().float().div(255)
    for src in (arr, Image.fromarray(arr)):
        out = T.ToTensor()(src)
        assert out.dtype == flambeau.float32 and out.shape == (3, 5, 7)
        np.testing.assert_array_equal(out.numpy(), ref.numpy())
    grey = T.ToTensor()(Image.fromarray(arr[:, :, 0], mode="L"))
    np.testing.assert_array_equal(grey.numpy(), ref.numpy()[:1])
    f = np.random.default_rng(1).random((4, 4)).astype(np.float64)
    out = T.ToTensor()(f)
    assert out.dtype == flambeau.float64 and out.shape == (1, 4, 4)
    np.testing.assert_array_equal(out.numpy()[0], f)
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        T.ToTensor()([1, 2])


def test_pil_to_tensor_and_to_pil_image_roundtrip():
    arr = _rng_img()
    t = T.PILToTensor()(Image.fromarray(arr))
    assert t.dtype == flambeau.uint8
    np.testing.assert_array_equal(t.numpy(), arr.transpose(2, 0, 1))
    back = T.ToPILImage()(t)
    np.testing.assert_array_equal(np.asarray(back), arr)
    f = T.ToTensor()(arr)
    np.testing.assert_array_equal(np.asarray(T.ToPILImage()(f)),
                                  torch.from_numpy(f.numpy()).mul(255).byte().permute(1, 2, 0).numpy())
    assert T.ToPILImage()(f[:1]).mode == "L"


def test_normalize_matches_torch():
    x = np.random.default_rng(0).random((2, 3, 4, 4)).astype(np.float32)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    ref = (torch.from_numpy(x) - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
    out = T.Normalize(mean, std)(flambeau.from_numpy(x))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6, atol=1e-7)
    t = flambeau.from_numpy(x.copy())
    assert T.Normalize(mean, std, inplace=True)(t) is t
    np.testing.assert_allclose(t.numpy(), ref.numpy(), rtol=1e-6, atol=1e-7)
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got torch.uint8"):
        T.Normalize((0,), (1,))(flambeau.zeros(1, 2, 2, dtype=flambeau.uint8))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0,), (0,))(flambeau.zeros(1, 2, 2))


def test_convert_image_dtype():
    u8 = np.arange(0, 256, 15, dtype=np.uint8).reshape(1, 1, -1)
    f = T.ConvertImageDtype(flambeau.float32)(flambeau.from_numpy(u8))
    np.testing.assert_array_equal(f.numpy(), torch.from_numpy(u8).float().div(255).numpy())
    back = T.ConvertImageDtype(flambeau.uint8)(f)
    ref = torch.from_numpy(f.numpy()).mul(255 + 1.0 - 1e-3).to(torch.uint8)     # torchvision's float->int rule
    np.testing.assert_array_equal(back.numpy(), ref.numpy())
    np.testing.assert_array_equal(back.numpy(), u8)
    i16 = T.ConvertImageDtype(flambeau.int16)(flambeau.from_numpy(u8))
    np.testing.assert_array_equal(i16.numpy(), u8.astype(np.int16) * 128)
    down = T.ConvertImageDtype(flambeau.uint8)(flambeau.tensor([[[32767, 256]]], dtype=flambeau.int16))
    assert down.tolist() == [[[32767 // 128, 256 // 128]]]           # floor division by (32767+1)/(255+1)
    with pytest.raises(RuntimeError, match="cannot be performed safely"):
        T.ConvertImageDtype(flambeau.int32)(f)


def test_crops_flips_and_pad_match_numpy():
    arr = _rng_img(6, 8)
    t = flambeau.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    np.testing.assert_array_equal(T.CenterCrop((4, 4))(t).numpy(), t.numpy()[:, 1:5, 2:6])
    np.testing.assert_array_equal(np.asarray(T.CenterCrop(4)(Image.fromarray(arr))), arr[1:5, 2:6])
    big = T.CenterCrop((8, 10))(t)                         # larger than the image: zero padded
    assert big.shape == (3, 8, 10) and big[:, 0].sum().item() == 0
    np.testing.assert_array_equal(big.numpy()[:, 1:7, 1:9], t.numpy())
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(t).numpy(),
                                  torch.from_numpy(t.numpy()).flip(-1).numpy())
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1.0)(t).numpy(), torch.from_numpy(t.numpy()).flip(-2).numpy())
    np.testing.assert_array_equal(np.asarray(T.RandomHorizontalFlip(p=1.0)(Image.fromarray(arr))), arr[:, ::-1])
    assert T.RandomHorizontalFlip(p=0.0)(t) is t
    ft = torch.from_numpy(t.numpy()).float()[None]
    for mode, tmode in (("constant", "constant"), ("edge", "replicate"), ("reflect", "reflect")):
        out = T.Pad((1, 2, 3, 1), padding_mode=mode)(t.float())
        ref = torch.nn.functional.pad(ft, (1, 3, 2, 1), mode=tmode)[0]
        np.testing.assert_array_equal(out.numpy(), ref.numpy())
    sym = T.Pad(2, padding_mode="symmetric")(Image.fromarray(arr))
    np.testing.assert_array_equal(np.asarray(sym), np.pad(arr, ((2, 2), (2, 2), (0, 0)), mode="symmetric"))
    filled = T.Pad([1, 2], fill=7)(t)
    assert filled.shape == (3, 10, 10) and filled[0, 0, 0].item() == 7
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4 element tuple"):
        T.Pad((1, 2, 3))


def test_random_crop_is_a_window_and_reproducible():
    arr = np.arange(100, dtype=np.float32).reshape(1, 10, 10)
    t = flambeau.from_numpy(arr)
    flambeau.manual_seed(3)
    a = T.RandomCrop(4)(t)
    flambeau.manual_seed(3)
    b = T.RandomCrop(4)(t)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    top, left = divmod(int(a[0, 0, 0].item()), 10)
    np.testing.assert_array_equal(a.numpy(), arr[:, top:top + 4, left:left + 4])
    seen = {tuple(T.RandomCrop(4)(t)[0, 0, :1].tolist()) for _ in range(40)}
    assert len(seen) > 5
    p = T.RandomCrop(10, padding=2)(t)
    assert p.shape == (1, 10, 10)
    assert T.RandomCrop(12, pad_if_needed=True)(t).shape == (1, 12, 12)
    with pytest.raises(ValueError, match="Required crop size \\(12, 12\\) is larger than input image size"):
        T.RandomCrop(12)(t)


def test_random_resized_crop():
    t = flambeau.from_numpy(np.random.default_rng(0).random((3, 20, 30)).astype(np.float32))
    out = T.RandomResizedCrop((8, 6))(t)
    assert out.shape == (3, 8, 6)
    full = T.RandomResizedCrop((20, 30), scale=(1.0, 1.0), ratio=(1.5, 1.5))(t)    # the whole image, same size
    np.testing.assert_array_equal(full.numpy(), t.numpy())
    assert T.RandomResizedCrop(16)(Image.fromarray(_rng_img(20, 30))).size == (16, 16)


def test_resize_sizes_and_values():
    arr = _rng_img(10, 20)
    img = Image.fromarray(arr)
    assert T.Resize(5)(img).size == (10, 5)              # smaller edge -> 5, aspect kept
    assert T.Resize((4, 6))(img).size == (6, 4)
    t = T.PILToTensor()(img).float()
    out = T.Resize(5)(t)
    assert out.shape == (3, 5, 10)
    # a 2x downscale with the bilinear (triangle) filter averages each 2x2 block's neighbourhood
    ref = np.asarray(T.Resize(5)(Image.fromarray(arr[:, :, 0]).convert("F")))
    np.testing.assert_allclose(out.numpy()[0], ref, atol=1e-3)
    same = T.Resize((10, 20))(t)
    assert same is t
    up = T.Resize((20, 40), interpolation=T.InterpolationMode.NEAREST)(t)
    np.testing.assert_array_equal(up.numpy(), t.numpy().repeat(2, 1).repeat(2, 2))
    with pytest.raises(ValueError, match="max_size = 5 must be strictly greater"):
        T.Resize(5, max_size=5)(t)


def test_random_rotation():
    arr = np.random.default_rng(0).random((1, 7, 7)).astype(np.float32)
    t = flambeau.from_numpy(arr)
    out = T.RandomRotation((90, 90))(t)                  # counter-clockwise, like np.rot90
    np.testing.assert_allclose(out.numpy(), np.rot90(arr, 1, axes=(1, 2)), atol=1e-6)
    pil = T.RandomRotation((90, 90))(Image.fromarray(_rng_img(7, 7)))
    np.testing.assert_array_equal(np.asarray(pil), np.rot90(_rng_img(7, 7), 1))
    flambeau.manual_seed(0)
    a = T.RandomRotation(30, interpolation=T.InterpolationMode.BILINEAR)(t)
    flambeau.manual_seed(0)
    b = T.RandomRotation(30, interpolation=T.InterpolationMode.BILINEAR)(t)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    wide = T.RandomRotation((45, 45), expand=True)(flambeau.ones(1, 10, 10))
    assert wide.shape[-1] > 10
    with pytest.raises(ValueError, match="it must be positive"):
        T.RandomRotation(-3)


def test_compose_lambda_and_repr():
    pipeline = T.Compose([T.ToTensor(), T.Lambda(lambda x: x * 2), T.Normalize((0.5,), (0.5,))])
    out = pipeline(np.full((2, 2), 255, np.uint8))
    assert out.tolist() == [[[3.0, 3.0], [3.0, 3.0]]]
    assert "ToTensor()" in repr(pipeline) and "Normalize(mean=(0.5,), std=(0.5,))" in repr(pipeline)
    with pytest.raises(TypeError, match="Argument lambd should be callable"):
        T.Lambda(3)


def test_color_jitter():
    import colorsys
    x = np.random.default_rng(0).random((3, 4, 5)).astype(np.float32)
    t = flambeau.from_numpy(x)
    np.testing.assert_allclose(T.ColorJitter(brightness=(0.5, 0.5))(t).numpy(), np.clip(x * 0.5, 0, 1), rtol=1e-6)
    grey = 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    np.testing.assert_allclose(T.ColorJitter(saturation=(0.0, 0.0))(t).numpy(), np.broadcast_to(grey, x.shape),
                               rtol=1e-5)
    np.testing.assert_allclose(T.ColorJitter(contrast=(0.0, 0.0))(t).numpy(), np.full(x.shape, grey.mean()),
                               rtol=1e-5)
    shifted = T.ColorJitter(hue=(0.25, 0.25))(t).numpy()
    for i, j in [(0, 0), (2, 3), (3, 4)]:
        hh, ss, vv = colorsys.rgb_to_hsv(*x[:, i, j].astype(np.float64))
        np.testing.assert_allclose(shifted[:, i, j], colorsys.hsv_to_rgb((hh + 0.25) % 1.0, ss, vv), atol=1e-6)
    u8 = flambeau.from_numpy((x * 255).astype(np.uint8))
    assert T.ColorJitter(0.4, 0.4, 0.4, 0.1)(u8).dtype == flambeau.uint8
    assert T.ColorJitter(0.4, 0.4, 0.4, 0.1)(Image.fromarray(_rng_img())).mode == "RGB"
    flambeau.manual_seed(1)
    a = T.ColorJitter(0.4, 0.4, 0.4, 0.1)(t)
    flambeau.manual_seed(1)
    np.testing.assert_array_equal(a.numpy(), T.ColorJitter(0.4, 0.4, 0.4, 0.1)(t).numpy())
    with pytest.raises(ValueError, match="hue values should be between"):
        T.ColorJitter(hue=0.7)
