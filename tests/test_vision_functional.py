"""vision.transforms.functional: against torch 2.13 ops (interpolate, affine_grid + grid_sample, conv2d,
pad) following torchvision's documented algorithms, NumPy, Pillow, hand-computed values, invariants, and
a few literals produced with torchvision 0.29.1 (torchvision does not import beside torch 2.13 here)."""
import colorsys
import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

import flambeau
import flambeau.vision.transforms.functional as TF
from flambeau.vision.transforms import InterpolationMode as IM

TNF = torch.nn.functional


def _u8(c=3, h=6, w=7, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (c, h, w), dtype=np.uint8)


def _f32(*shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def _t(a):
    return flambeau.from_numpy(np.ascontiguousarray(a))


def _pil(chw):
    return Image.fromarray(np.ascontiguousarray(chw[0] if chw.shape[0] == 1 else chw.transpose(1, 2, 0)))


def _chw(pil):
    a = np.asarray(pil)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


# a 4x5 RGB test card, the input of the torchvision literals below
CARD = ((np.arange(60).reshape(3, 4, 5) * 37 + 11) % 256).astype(np.uint8)


# ------------------------------------------------------------------ sizes and conversions

def test_dimensions_of_each_image_kind():
    t = flambeau.zeros(2, 3, 5, 7)
    assert TF.get_dimensions(t) == [3, 5, 7] and TF.get_image_size(t) == [7, 5] and TF.get_image_num_channels(t) == 3
    assert TF.get_dimensions(flambeau.zeros(5, 7)) == [1, 5, 7]
    assert TF.get_dimensions(Image.new("RGBA", (7, 5))) == [4, 5, 7]
    assert TF.get_image_size(Image.new("L", (7, 5))) == [7, 5]
    assert TF.get_dimensions(np.zeros((5, 7, 3))) == [3, 5, 7]
    with pytest.raises(TypeError, match="Tensor is not a torch image"):
        TF.get_dimensions(flambeau.zeros(3))
    with pytest.raises(TypeError, match="img should be PIL Image or Tensor. Got <class 'list'>"):
        TF.get_dimensions([1, 2])


def test_to_tensor_of_pil_modes():
    rgb = _u8(3, 4, 5).transpose(1, 2, 0).copy()
    img = Image.fromarray(rgb)
    np.testing.assert_array_equal(TF.to_tensor(img).numpy(), rgb.transpose(2, 0, 1) / np.float32(255))
    rgba = TF.to_tensor(img.convert("RGBA"))
    assert rgba.shape == (4, 4, 5) and rgba[3].min().item() == 1.0
    bw = TF.to_tensor(img.convert("1"))                     # bilevel: 0 or 1
    assert bw.dtype == flambeau.float32 and set(np.unique(bw.numpy())) <= {0.0, 1.0}
    i32 = TF.to_tensor(img.convert("I"))                    # 32-bit images keep their values
    assert i32.dtype == flambeau.int32
    np.testing.assert_array_equal(i32.numpy()[0], np.asarray(img.convert("I")))
    f = TF.to_tensor(img.convert("F"))
    assert f.dtype == flambeau.float32 and f.max().item() > 1
    i16 = TF.to_tensor(Image.fromarray((rgb[:, :, 0].astype(np.uint16) * 100)))
    assert i16.dtype == flambeau.int16 and i16.shape == (1, 4, 5)
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4 dimensions"):
        TF.to_tensor(np.zeros((1, 2, 3, 4)))
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        TF.to_tensor(flambeau.zeros(3, 2, 2))


def test_pil_to_tensor_keeps_the_dtype():
    a = _u8(3, 4, 5)
    t = TF.pil_to_tensor(_pil(a))
    assert t.dtype == flambeau.uint8 and t.shape == (3, 4, 5)
    np.testing.assert_array_equal(t.numpy(), a)
    assert TF.pil_to_tensor(_pil(a).convert("F")).dtype == flambeau.float32
    with pytest.raises(NotImplementedError, match="no uint16 dtype"):
        TF.pil_to_tensor(Image.fromarray(np.zeros((2, 2), np.uint16)))
    with pytest.raises(TypeError, match="pic should be PIL Image"):
        TF.pil_to_tensor(a)


@pytest.mark.parametrize("dtype, channels, mode", [(np.uint8, 1, "L"), (np.int16, 1, "I;16"), (np.int32, 1, "I"),
                                                   (np.float32, 1, "L"), (np.uint8, 2, "LA"), (np.uint8, 3, "RGB"),
                                                   (np.uint8, 4, "RGBA"), (np.float64, 3, "RGB")])
def test_to_pil_image_modes(dtype, channels, mode):
    a = (_f32(channels, 3, 4) * (1 if np.dtype(dtype).kind == "f" else 200)).astype(dtype)
    img = TF.to_pil_image(_t(a))
    assert img.mode == mode and img.size == (4, 3)
    expected = (a * 255).astype(np.uint8) if np.dtype(dtype).kind == "f" else a
    back = np.asarray(img)
    np.testing.assert_array_equal(back if back.ndim == 3 else back[:, :, None], expected.transpose(1, 2, 0))


def test_to_pil_image_mode_checks():
    f = _t(_f32(1, 3, 4))
    img = TF.to_pil_image(f, mode="F")                      # float32 values kept as they are
    np.testing.assert_array_equal(np.asarray(img), f.numpy()[0])
    hsv = TF.to_pil_image(_t(_u8(3, 2, 2)), mode="HSV")     # the bytes read as HSV
    np.testing.assert_array_equal(np.asarray(hsv), _u8(3, 2, 2).transpose(1, 2, 0))
    with pytest.raises(ValueError, match="Only modes \\['RGB', 'YCbCr', 'HSV'\\] are supported for 3D inputs"):
        TF.to_pil_image(_t(_u8(3, 2, 2)), mode="RGBA")
    with pytest.raises(ValueError, match="Incorrect mode \\(L\\) supplied for input type int32. Should be I"):
        TF.to_pil_image(_t(np.zeros((1, 2, 2), np.int32)), mode="L")
    with pytest.raises(ValueError, match="pic should not have > 4 channels. Got 5 channels"):
        TF.to_pil_image(_t(_u8(5, 2, 2)))
    with pytest.raises(TypeError, match="Input type int64 is not supported"):
        TF.to_pil_image(_t(np.zeros((1, 2, 2), np.int64)))
    with pytest.raises(TypeError, match="pic should be Tensor or ndarray"):
        TF.to_pil_image([1])


def test_convert_image_dtype_follows_the_scaling_rules():
    u8 = _t(np.array([[[0, 1, 127, 128, 255]]], np.uint8))
    ref = torch.tensor([[[0, 1, 127, 128, 255]]], dtype=torch.uint8)
    np.testing.assert_array_equal(TF.convert_image_dtype(u8, flambeau.float64).numpy(), (ref.double() / 255).numpy())
    np.testing.assert_array_equal(TF.convert_image_dtype(u8, flambeau.int32).numpy(), ref.int().numpy() * 2 ** 23)
    f = _t(np.array([[[0.0, 0.25, 0.5, 0.999, 1.0]]], np.float32))
    ref_f = torch.tensor([[[0.0, 0.25, 0.5, 0.999, 1.0]]])
    np.testing.assert_array_equal(TF.convert_image_dtype(f, flambeau.int16).numpy(),
                                  ref_f.mul(32767 + 1.0 - 1e-3).to(torch.int16).numpy())
    i16 = _t(np.array([[[0, 255, 256, 32767]]], np.int16))
    assert TF.convert_image_dtype(i16, flambeau.uint8).tolist() == [[[0, 1, 2, 255]]]     # floor by 128
    b = _t(np.array([[[True, False]]]))
    assert TF.convert_image_dtype(b, flambeau.float32).tolist() == [[[1.0, 0.0]]]
    assert TF.convert_image_dtype(f, flambeau.float32) is f
    with pytest.raises(RuntimeError, match="The cast from torch.float64 to torch.int64 cannot be performed safely"):
        TF.convert_image_dtype(f.double(), flambeau.int64)
    with pytest.raises(TypeError, match="Input img should be Tensor Image"):
        TF.convert_image_dtype(np.zeros(3))


def test_normalize_function():
    x = _t(_f32(2, 3, 4, 4))
    ref = (torch.from_numpy(x.numpy()) - torch.tensor([0.1, 0.2, 0.3])[:, None, None]) / 0.5
    np.testing.assert_allclose(TF.normalize(x, [0.1, 0.2, 0.3], [0.5] * 3).numpy(), ref.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="Expected tensor to be a tensor image of size \\(..., C, H, W\\)"):
        TF.normalize(flambeau.zeros(3, 3), [0.5], [0.5])
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        TF.normalize(np.zeros((3, 2, 2), np.float32), [0.5], [0.5])


# ------------------------------------------------------------------ geometry without resampling

def test_flips_are_involutions_and_mirror():
    a = _u8(3, 5, 6)
    t, p = _t(a), _pil(a)
    np.testing.assert_array_equal(TF.hflip(t).numpy(), a[:, :, ::-1])
    np.testing.assert_array_equal(TF.vflip(t).numpy(), a[:, ::-1])
    np.testing.assert_array_equal(TF.hflip(TF.hflip(t)).numpy(), a)
    np.testing.assert_array_equal(_chw(TF.vflip(TF.vflip(p))), a)
    np.testing.assert_array_equal(_chw(TF.hflip(p)), a[:, :, ::-1])
    hwc = a.transpose(1, 2, 0).copy()                        # arrays (H, W, C) come back as arrays
    out = TF.hflip(hwc)
    assert isinstance(out, np.ndarray) and out.shape == hwc.shape
    np.testing.assert_array_equal(out, hwc[:, ::-1])
    batch = _t(_f32(2, 3, 4, 5))
    np.testing.assert_array_equal(TF.vflip(batch).numpy(), batch.numpy()[:, :, ::-1])
    with pytest.raises(TypeError, match="hflip\\(\\): img should be PIL Image or Tensor. Got <class 'int'>"):
        TF.hflip(3)


def test_crop_inside_outside_and_pil():
    a = _u8(3, 6, 7)
    t = _t(a)
    np.testing.assert_array_equal(TF.crop(t, 1, 2, 3, 4).numpy(), a[:, 1:4, 2:6])
    out = TF.crop(t, -2, 5, 4, 4)                            # partly outside: zeros there (as PIL does)
    expected = np.zeros((3, 4, 4), np.uint8)
    expected[:, 2:, :2] = a[:, :2, 5:]
    np.testing.assert_array_equal(out.numpy(), expected)
    np.testing.assert_array_equal(_chw(TF.crop(_pil(a), -2, 5, 4, 4)), expected)
    gone = TF.crop(t, -5, -6, 2, 3)                          # wholly outside: all zeros, the requested size
    assert gone.shape == (3, 2, 3) and gone.sum().item() == 0


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_modes_match_numpy(mode):
    a = _u8(3, 5, 6)
    np_mode = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}[mode]
    kw = {"constant_values": 9} if mode == "constant" else {}
    expected = np.pad(a, ((0, 0), (2, 1), (1, 3)), mode=np_mode, **kw)
    out = TF.pad(_t(a), [1, 2, 3, 1], fill=9, padding_mode=mode)
    assert out.dtype == flambeau.uint8
    np.testing.assert_array_equal(out.numpy(), expected)
    np.testing.assert_array_equal(_chw(TF.pad(_pil(a), [1, 2, 3, 1], fill=9, padding_mode=mode)), expected)
    f = _t(_f32(2, 3, 4, 5))                                 # batched, float
    np.testing.assert_array_equal(TF.pad(f, [2, 1], padding_mode=mode).numpy(),
                                  np.pad(f.numpy(), ((0, 0), (0, 0), (1, 1), (2, 2)), mode=np_mode))
    cropped = TF.pad(_t(a), [-1, 1, 0, -2], padding_mode=mode)   # negative padding crops
    np.testing.assert_array_equal(cropped.numpy(), np.pad(a[:, :-2, 1:], ((0, 0), (1, 0), (0, 0)), mode=np_mode,
                                                          **({"constant_values": 0} if kw else {})))


def test_pad_fill_and_argument_errors():
    a = _u8(3, 3, 3)
    out = _chw(TF.pad(_pil(a), 1, fill=(1, 2, 3)))           # one fill per band for PIL
    assert out[:, 0, 0].tolist() == [1, 2, 3]
    pal = _pil(a[:1]).convert("P")
    assert TF.pad(pal, 2, padding_mode="reflect").mode == "P"
    assert TF.pad(_t(a[0]), 1).shape == (5, 5)               # (H, W) tensors too
    with pytest.raises(TypeError, match="Got inappropriate fill arg"):
        TF.pad(_t(a), 1, fill=(1, 2, 3))
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4 element tuple, not a 3 element"):
        TF.pad(_t(a), [1, 2, 3])
    with pytest.raises(ValueError, match="Padding mode should be either constant, edge, reflect or symmetric"):
        TF.pad(_t(a), 1, padding_mode="wrap")
    with pytest.raises(TypeError, match="Got inappropriate padding arg"):
        TF.pad(_t(a), "1")


def test_center_crop_rounding_and_padding():
    a = np.arange(5 * 8, dtype=np.float32).reshape(1, 5, 8)
    t = _t(a)
    np.testing.assert_array_equal(TF.center_crop(t, [2, 3]).numpy(), a[:, 2:4, 2:5])   # round(1.5)=2, round(2.5)=2
    np.testing.assert_array_equal(TF.center_crop(t, 3).numpy(), a[:, 1:4, 2:5])
    big = TF.center_crop(t, [8, 11])                          # pads left (11-8)//2, right (11-8+1)//2
    np.testing.assert_array_equal(big.numpy(), np.pad(a, ((0, 0), (1, 2), (1, 2))))
    assert TF.center_crop(_pil(_u8(3, 5, 8)), [8, 11]).size == (11, 8)


def test_five_crop_and_ten_crop_are_crops():
    a = _u8(3, 7, 9)
    t = _t(a)
    tl, tr, bl, br, center = TF.five_crop(t, [3, 4])
    for piece, (i, j) in zip((tl, tr, bl, br), [(0, 0), (0, 5), (4, 0), (4, 5)]):
        np.testing.assert_array_equal(piece.numpy(), a[:, i:i + 3, j:j + 4])
    np.testing.assert_array_equal(center.numpy(), TF.center_crop(t, [3, 4]).numpy())
    ten = TF.ten_crop(t, 3)
    assert len(ten) == 10
    for x, y in zip(ten[5:], TF.five_crop(TF.hflip(t), 3)):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    np.testing.assert_array_equal(TF.ten_crop(t, 3, vertical_flip=True)[5].numpy(), a[:, ::-1][:, :3, :3])
    pil_pieces = TF.five_crop(_pil(a), 3)
    assert all(p.size == (3, 3) for p in pil_pieces)
    np.testing.assert_array_equal(_chw(pil_pieces[3]), a[:, 4:, 6:])
    with pytest.raises(ValueError, match="Requested crop size \\(8, 8\\) is bigger than input size \\(7, 9\\)"):
        TF.five_crop(t, 8)


# ------------------------------------------------------------------ resize

@pytest.mark.parametrize("mode", [IM.BILINEAR, IM.BICUBIC])
@pytest.mark.parametrize("size", [[4, 5], [13, 17]])
def test_resize_matches_torch_interpolate(mode, size):
    a = _u8(3, 9, 11)
    x = torch.from_numpy(a).float()[None]
    ref = TNF.interpolate(x, size=size, mode=mode.value, align_corners=False, antialias=True)
    if mode == IM.BICUBIC:
        ref = ref.clamp(0, 255)
    ref = ref.round().to(torch.uint8)[0].numpy()
    out = TF.resize(_t(a), size, mode)
    assert out.dtype == flambeau.uint8 and out.shape == (3, *size)
    assert np.abs(out.numpy().astype(int) - ref).max() <= 1        # float32 ties at .5 may round either way
    f = _f32(2, 3, 9, 11)
    ref_f = TNF.interpolate(torch.from_numpy(f), size=size, mode=mode.value, align_corners=False, antialias=False)
    np.testing.assert_allclose(TF.resize(_t(f), size, mode, antialias=False).numpy(), ref_f.numpy(), atol=2e-6)


def test_resize_nearest_and_pil():
    a = _u8(3, 4, 6)
    up = TF.resize(_t(a), [8, 12], IM.NEAREST)
    np.testing.assert_array_equal(up.numpy(), a.repeat(2, 1).repeat(2, 2))
    ref = TNF.interpolate(torch.from_numpy(a).float()[None], size=[3, 4], mode="nearest")[0].to(torch.uint8)
    np.testing.assert_array_equal(TF.resize(_t(a), [3, 4], IM.NEAREST).numpy(), ref.numpy())
    pil = _pil(a)
    np.testing.assert_array_equal(np.asarray(TF.resize(pil, [3, 5], IM.BICUBIC)),
                                  np.asarray(pil.resize((5, 3), Image.Resampling.BICUBIC)))
    np.testing.assert_array_equal(np.asarray(TF.resize(pil, [3, 5], 1)),       # a Pillow filter number: LANCZOS
                                  np.asarray(pil.resize((5, 3), Image.Resampling.LANCZOS)))
    with pytest.warns(UserWarning, match="Anti-alias option is always applied for PIL Image input"):
        TF.resize(pil, [3, 5], antialias=False)


def test_resize_sizes():
    t = flambeau.zeros(3, 10, 23)
    assert TF.resize(t, 7).shape == (3, 7, 16)               # smaller edge 7, int(7 * 23 / 10) = 16
    assert TF.resize(t, [7]).shape == (3, 7, 16)
    assert TF.resize(t, 7, max_size=12).shape == (3, 5, 12)  # the longer edge capped: int(12 * 7 / 16) = 5
    assert TF.resize(t, [5, 9]).shape == (3, 5, 9)
    assert TF.resize(t, 10) is t                             # already that size: the same object
    assert TF.resize(_pil(_u8(3, 10, 23)), 7).size == (16, 7)
    assert TF.resize(flambeau.zeros(2, 2, 3, 8, 8), [4, 4]).shape == (2, 2, 3, 4, 4)
    with pytest.raises(ValueError, match="max_size = 7 must be strictly greater than the requested size"):
        TF.resize(t, 7, max_size=7)
    with pytest.raises(ValueError, match="max_size should only be passed if size specifies the length of the smaller"):
        TF.resize(t, [7, 8], max_size=9)
    with pytest.raises(ValueError, match="Size must be an int or a 1 or 2 element tuple/list, not a 3 element"):
        TF.resize(t, [1, 2, 3])
    with pytest.raises(TypeError, match="Argument interpolation should be a InterpolationMode"):
        TF.resize(t, 5, "bilinear")


def test_resized_crop_is_crop_then_resize():
    a = _u8(3, 9, 11)
    out = TF.resized_crop(_t(a), 1, 2, 6, 7, [4, 4])
    np.testing.assert_array_equal(out.numpy(), TF.resize(_t(a[:, 1:7, 2:9]), [4, 4]).numpy())


# ------------------------------------------------------------------ rotate, affine, perspective

def _forward_affine(angle, translate, scale, shear, center):
    """torchvision's documented forward map M = T * C * RSS * C^-1 as a 3x3 matrix, with
    RSS = R(a) S(s) SHy(sy) SHx(sx), SHx(s) = [[1, -tan s], [0, 1]], SHy(s) = [[1, 0], [-tan s, 1]]."""
    a, sx, sy = (math.radians(v) for v in (angle, shear[0], shear[1]))
    rot = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    shx = np.array([[1, -math.tan(sx), 0], [0, 1, 0], [0, 0, 1]])
    shy = np.array([[1, 0, 0], [-math.tan(sy), 1, 0], [0, 0, 1]])
    c = np.array([[1, 0, center[0]], [0, 1, center[1]], [0, 0, 1]])
    t = np.array([[1, 0, translate[0]], [0, 1, translate[1]], [0, 0, 1]])
    return t @ c @ rot @ np.diag([scale, scale, 1]) @ shy @ shx @ np.linalg.inv(c)


def _grid_transform_ref(x, inverse, out_hw, mode, fill=None):
    """torchvision's tensor grid transform with torch ops: output pixel centres (relative to the image
    centre) mapped by ``inverse`` (2x3, relative to the image centre) to input positions, sampled by
    grid_sample(align_corners=False), zeros outside; with ``fill``, a channel of ones resampled alongside
    says how much of each pixel came from inside, and the rest takes the fill value."""
    n, c, h, w = x.shape
    oh, ow = out_hw
    a, b, cc, d, e, f = np.asarray(inverse, np.float64).reshape(-1)
    theta = torch.tensor([[[a * ow / w, b * oh / w, 2 * cc / w], [d * ow / h, e * oh / h, 2 * f / h]]], dtype=x.dtype)
    grid = TNF.affine_grid(theta, [1, c, oh, ow], align_corners=False).expand(n, -1, -1, -1)
    if fill is not None:
        x = torch.cat([x, torch.ones(n, 1, h, w, dtype=x.dtype)], 1)
    y = TNF.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)
    if fill is not None:
        mask, y = y[:, -1:], y[:, :-1]
        fill_img = torch.tensor(fill, dtype=y.dtype).view(1, -1, 1, 1).expand_as(y)
        y = torch.where(mask < 0.5, fill_img, y) if mode == "nearest" else y * mask + (1 - mask) * fill_img
    return y


def test_inverse_affine_matrix_inverts_the_documented_forward_map():
    cases = [(30, (2, -1), 1.3, (10, 5), (4, 3)), (-75, (0, 0), 0.6, (0, -20), (0, 0)), (0, (3, 4), 1, (0, 0), (1, 1))]
    for angle, translate, scale, shear, center in cases:
        m = TF._inverse_affine_matrix(center, angle, translate, scale, shear)
        forward = _forward_affine(angle, translate, scale, shear, center)
        np.testing.assert_allclose(np.array(m).reshape(2, 3), np.linalg.inv(forward)[:2], atol=1e-12)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_rotate_matches_the_grid_sample_reference(mode):
    x = _f32(2, 3, 7, 9)
    for angle, fill, center in [(33.0, None, None), (-20.0, [0.2, 0.5, 0.9], None), (120.0, [1.0], [2, 5])]:
        out = TF.rotate(_t(x), angle, IM(mode), center=center, fill=fill)
        cf = (0.0, 0.0) if center is None else (center[0] - 9 / 2, center[1] - 7 / 2)   # offset from the centre
        inverse = np.linalg.inv(_forward_affine(-angle, (0, 0), 1.0, (0, 0), cf))[:2]     # rotate: counter-clockwise
        ref = _grid_transform_ref(torch.from_numpy(x), inverse, (7, 9), mode, None if fill is None else
                                  (fill * 3 if len(fill) == 1 else fill))
        np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-5)


def test_rotate_invariants_and_expand():
    a = _u8(3, 7, 7)
    t = _t(a)
    for mode in (IM.NEAREST, IM.BILINEAR):
        np.testing.assert_array_equal(TF.rotate(t, 0.0, mode).numpy(), a)                 # rotate by 0 = identity
        np.testing.assert_array_equal(TF.rotate(t, 90, mode).numpy(), np.rot90(a, 1, axes=(1, 2)))
        np.testing.assert_array_equal(TF.rotate(t, 180, mode).numpy(), a[:, ::-1, ::-1])
        np.testing.assert_array_equal(TF.rotate(TF.rotate(t, 90, mode), -90, mode).numpy(), a)
    np.testing.assert_array_equal(_chw(TF.rotate(_pil(a), 90)), np.rot90(a, 1, axes=(1, 2)))
    # expand: the box of the rotated image corners (at +-w/2, +-h/2 about the centre), as
    # ceil(max) - floor(min) per axis in pixel coordinates
    wide = TF.rotate(flambeau.ones(1, 10, 20), 30.0, expand=True)
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    ew, eh = (20 * c + 10 * s) / 2, (20 * s + 10 * c) / 2
    assert wide.shape == (1, math.ceil(5 + eh) - math.floor(5 - eh), math.ceil(10 + ew) - math.floor(10 - ew))
    assert TF.rotate(flambeau.ones(1, 10, 20), 90, expand=True).shape == (1, 20, 10)
    assert TF.rotate(_pil(a), 45, expand=True).size[0] > 7
    with pytest.raises(ValueError, match="Interpolation mode 'bicubic' is unsupported with Tensor input"):
        TF.rotate(t, 10.0, IM.BICUBIC)
    with pytest.raises(TypeError, match="Argument angle should be int or float"):
        TF.rotate(t, "10")
    with pytest.raises(ValueError, match="'fill' cannot broadcast to match the number of channels of the image"):
        TF.rotate(t, 10.0, fill=[1.0, 2.0])
    with pytest.raises(TypeError, match="Argument center should be a sequence"):
        TF.rotate(t, 10.0, center=3)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_affine_matches_the_grid_sample_reference(mode):
    x = _f32(3, 8, 9, seed=2)
    cases = [(25.0, [2, -1], 1.2, [10.0, 5.0], None), (-10.0, [0, 3], 0.8, [0.0, -15.0], [0.5]),
             (0.0, [1, 1], 1.0, [20.0, 0.0], [0.1, 0.2, 0.3])]
    for angle, translate, scale, shear, fill in cases:
        out = TF.affine(_t(x), angle, translate, scale, shear, IM(mode), fill=fill)
        inverse = np.linalg.inv(_forward_affine(angle, translate, scale, shear, (0, 0)))[:2]
        ref = _grid_transform_ref(torch.from_numpy(x)[None], inverse, (8, 9), mode,
                                  None if fill is None else (fill * 3 if len(fill) == 1 else fill))[0]
        np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-5)


def test_affine_translation_shifts_and_checks_arguments():
    a = _u8(3, 6, 7)
    shifted = TF.affine(_t(a), 0.0, [2, 1], 1.0, 0.0)        # right by 2, down by 1, zeros coming in
    expected = np.zeros_like(a)
    expected[:, 1:, 2:] = a[:, :-1, :-2]
    np.testing.assert_array_equal(shifted.numpy(), expected)
    np.testing.assert_array_equal(_chw(TF.affine(_pil(a), 0.0, [2, 1], 1.0, 0.0)), expected)
    np.testing.assert_array_equal(TF.affine(_t(a), 0.0, [0, 0], 1.0, [0.0, 0.0], IM.BILINEAR).numpy(), a)
    with pytest.raises(ValueError, match="Argument scale should be positive"):
        TF.affine(_t(a), 0.0, [0, 0], 0.0, 0.0)
    with pytest.raises(TypeError, match="Argument translate should be a sequence"):
        TF.affine(_t(a), 0.0, 3, 1.0, 0.0)
    with pytest.raises(ValueError, match="Shear should be a sequence containing two values"):
        TF.affine(_t(a), 0.0, [0, 0], 1.0, [1.0, 2.0, 3.0])


def test_perspective_coefficients_and_grid():
    start = [[0, 0], [8, 0], [8, 6], [0, 6]]
    end = [[1, 2], [7, 0], [8, 5], [2, 6]]
    a, b, c, d, e, f, g, h = TF._perspective_coeffs(start, end)
    for (x, y), (u, v) in zip(end, start):                   # each endpoint maps back to its startpoint
        den = g * x + h * y + 1
        np.testing.assert_allclose([(a * x + b * y + c) / den, (d * x + e * y + f) / den], [u, v], atol=1e-4)
    img = _f32(2, 3, 7, 9, seed=3)
    for mode, fill in (("bilinear", None), ("nearest", [0.7])):
        out = TF.perspective(_t(img), start, end, IM(mode), fill=fill)
        # reference: output pixel centres (x + 0.5, y + 0.5) through the homography, normalized for grid_sample
        ys, xs = torch.meshgrid(torch.arange(7.0) + 0.5, torch.arange(9.0) + 0.5, indexing="ij")
        den = g * xs + h * ys + 1
        grid = torch.stack([(a * xs + b * ys + c) / den / 4.5 - 1, (d * xs + e * ys + f) / den / 3.5 - 1], -1)[None]
        x = torch.from_numpy(img)
        if fill is not None:
            x = torch.cat([x, torch.ones(2, 1, 7, 9)], 1)
        ref = TNF.grid_sample(x, grid.expand(2, -1, -1, -1).float(), mode=mode, align_corners=False)
        if fill is not None:
            ref = torch.where(ref[:, -1:] < 0.5, torch.tensor(0.7), ref[:, :-1])
        # nearest: leave out the pixels whose source lies on a rounding boundary (float32 noise decides those)
        src = ((grid[0] + 1) * torch.tensor([9.0, 7.0]) - 1) / 2
        tie = ((src - src.floor() - 0.5).abs() < 1e-4).any(-1) if mode == "nearest" else torch.zeros(7, 9, dtype=bool)
        np.testing.assert_allclose(out.numpy()[..., ~tie.numpy()], ref.numpy()[..., ~tie.numpy()], atol=1e-5)
    same = TF.perspective(_t(_u8()), [[0, 0], [6, 0], [6, 5], [0, 5]], [[0, 0], [6, 0], [6, 5], [0, 5]])
    np.testing.assert_array_equal(same.numpy(), _u8())
    assert TF.perspective(_pil(_u8()), start, end).size == (7, 6)
    with pytest.raises(ValueError, match="Please provide exactly four corners, got 1 startpoints and 1 endpoints"):
        TF.perspective(_t(img), [[0, 0]], [[1, 1]])


def test_elastic_transform_zero_displacement_is_identity():
    x = _t(_f32(3, 5, 6))
    np.testing.assert_allclose(TF.elastic_transform(x, flambeau.zeros(1, 5, 6, 2)).numpy(), x.numpy(), atol=1e-6)
    shift = flambeau.zeros(1, 5, 6, 2)
    shift[..., 0] = 2.0 / 6                                  # one pixel to the right in normalized units
    out = TF.elastic_transform(x, shift, IM.NEAREST)
    np.testing.assert_array_equal(out.numpy()[:, :, :-1], x.numpy()[:, :, 1:])
    with pytest.raises(ValueError, match="Argument displacement shape should be \\(1, 5, 6, 2\\)"):
        TF.elastic_transform(x, flambeau.zeros(1, 5, 5, 2))


def test_geometry_against_torchvision_literals():
    # produced with torchvision 0.29.1 (torch 2.14.1): TF.<call> on torch.tensor(CARD), printed with .tolist()
    card = _t(CARD)
    rotate = [[[10, 43, 98, 95, 25], [43, 111, 36, 143, 33], [184, 198, 182, 191, 179], [42, 118, 115, 68, 15]],
              [[17, 32, 83, 67, 36], [130, 139, 187, 132, 240], [173, 170, 167, 163, 160], [39, 90, 87, 57, 21]],
              [[34, 36, 94, 108, 33], [225, 179, 218, 202, 212], [145, 142, 139, 135, 132], [37, 109, 59, 46, 28]]]
    # TF.rotate(card, 30.0, InterpolationMode.BILINEAR, fill=[10.0, 20.0, 30.0])
    assert TF.rotate(card, 30.0, IM.BILINEAR, fill=[10.0, 20.0, 30.0]).tolist() == rotate
    # TF.rotate(card, -35.0, InterpolationMode.NEAREST, expand=True), first channel
    expand0 = [[0, 0, 0, 0, 0, 0, 0], [0, 0, 11, 0, 0, 0, 0], [0, 196, 196, 48, 85, 0, 0],
               [0, 125, 162, 14, 51, 122, 0], [0, 91, 162, 199, 51, 88, 0], [0, 0, 128, 165, 17, 17, 0],
               [0, 0, 0, 0, 202, 0, 0], [0, 0, 0, 0, 0, 0, 0]]
    assert TF.rotate(card, -35.0, IM.NEAREST, expand=True)[0].tolist() == expand0
    # TF.affine(card, 15.0, [1, -1], 1.2, [10.0, 5.0], InterpolationMode.BILINEAR)
    affine = [[[76, 179, 210, 66, 40], [85, 134, 173, 189, 191], [51, 88, 128, 167, 172], [0, 16, 39, 71, 111]],
              [[63, 151, 190, 229, 109], [61, 106, 145, 180, 166], [28, 61, 100, 139, 178], [0, 11, 31, 59, 95]],
              [[50, 123, 162, 201, 226], [112, 97, 117, 156, 195], [174, 38, 72, 111, 150], [1, 7, 23, 46, 79]]]
    assert TF.affine(card, 15.0, [1, -1], 1.2, [10.0, 5.0], IM.BILINEAR).tolist() == affine
    # TF.perspective(card, [[0, 0], [4, 0], [4, 3], [0, 3]], [[1, 0], [4, 1], [3, 3], [0, 2]], BILINEAR, fill=[0.0])
    persp = [[[4, 21, 17, 1, 0], [93, 215, 32, 105, 57], [72, 145, 218, 70, 0], [0, 6, 71, 78, 0]],
             [[10, 139, 10, 0, 0], [76, 187, 191, 77, 47], [44, 117, 190, 171, 1], [0, 5, 60, 74, 0]],
             [[9, 193, 35, 0, 0], [58, 159, 177, 120, 37], [169, 89, 162, 163, 0], [0, 3, 48, 62, 0]]]
    assert TF.perspective(card, [[0, 0], [4, 0], [4, 3], [0, 3]], [[1, 0], [4, 1], [3, 3], [0, 2]], IM.BILINEAR,
                          fill=[0.0]).tolist() == persp
    # TF.resize(card, [6, 3], InterpolationMode.BICUBIC)
    bicubic = [[[11, 86, 151], [119, 69, 106], [219, 84, 67], [154, 196, 100], [96, 174, 154], [62, 123, 194]],
               [[143, 38, 123], [171, 115, 69], [183, 195, 59], [124, 179, 212], [68, 132, 206], [34, 95, 156]],
               [[237, 73, 79], [199, 154, 98], [139, 223, 138], [85, 159, 199], [120, 96, 171], [166, 57, 128]]]
    assert TF.resize(card, [6, 3], IM.BICUBIC).tolist() == bicubic


# ------------------------------------------------------------------ colour

def test_brightness_contrast_saturation_formulas():
    x = _f32(3, 4, 5)
    t = _t(x)
    grey = 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    np.testing.assert_allclose(TF.adjust_brightness(t, 1.6).numpy(), np.clip(1.6 * x, 0, 1), rtol=1e-6)
    np.testing.assert_allclose(TF.adjust_contrast(t, 0.3).numpy(), np.clip(0.3 * x + 0.7 * grey.mean(), 0, 1),
                               rtol=1e-5)
    np.testing.assert_allclose(TF.adjust_saturation(t, 1.5).numpy(), np.clip(1.5 * x - 0.5 * grey, 0, 1), atol=1e-6)
    u = _u8(3, 4, 5)
    ref = (1.7 * torch.from_numpy(u)).clamp(0, 255).to(torch.uint8)    # integer images truncate
    np.testing.assert_array_equal(TF.adjust_brightness(_t(u), 1.7).numpy(), ref.numpy())
    for f in (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_sharpness):
        np.testing.assert_array_equal(f(_t(u), 1.0).numpy(), u)                     # factor 1 = identity
        np.testing.assert_array_equal(_chw(f(_pil(u), 1.0)), u)
    np.testing.assert_array_equal(TF.adjust_saturation(_t(u[:1]), 0.0).numpy(), u[:1])   # one channel: unchanged
    with pytest.raises(ValueError, match="brightness_factor \\(-1\\) is not non-negative"):
        TF.adjust_brightness(t, -1)
    with pytest.raises(TypeError, match="permitted channel values are \\[1, 3\\], but found 4"):
        TF.adjust_brightness(flambeau.zeros(4, 2, 2), 0.5)


def test_hue_matches_colorsys_and_wraps():
    x = _f32(3, 4, 5, seed=4)
    for factor in (0.25, -0.4):
        out = TF.adjust_hue(_t(x), factor).numpy()
        for i, j in [(0, 0), (1, 3), (3, 4)]:
            h, s, v = colorsys.rgb_to_hsv(*x[:, i, j].astype(np.float64))
            np.testing.assert_allclose(out[:, i, j], colorsys.hsv_to_rgb((h + factor) % 1.0, s, v), atol=2e-6)
    np.testing.assert_allclose(TF.adjust_hue(_t(x), 0.0).numpy(), x, atol=2e-6)
    np.testing.assert_allclose(TF.adjust_hue(_t(x), 0.5).numpy(), TF.adjust_hue(_t(x), -0.5).numpy(), atol=2e-6)
    grey = _t(_u8(1, 3, 3))
    assert TF.adjust_hue(grey, 0.3) is grey
    # produced with torchvision 0.29.1: TF.adjust_hue(torch.tensor(CARD), 0.3).tolist()
    assert TF.adjust_hue(_t(CARD), 0.3).tolist() == [
        [[166, 248, 29, 66, 103], [140, 177, 169, 251, 32], [69, 106, 143, 180, 172], [254, 35, 72, 109, 146]],
        [[11, 20, 85, 122, 159], [196, 233, 14, 23, 88], [125, 162, 199, 236, 17], [26, 91, 128, 165, 202]],
        [[239, 37, 45, 83, 120], [157, 194, 242, 40, 48], [86, 123, 160, 197, 245], [43, 52, 89, 126, 163]]]
    pil = _pil(_u8())                                        # Pillow's 8-bit HSV, hue shifted modulo 256
    h, s, v = pil.convert("HSV").split()
    shifted = Image.merge("HSV", (Image.fromarray(((np.asarray(h).astype(int) + 76) % 256).astype(np.uint8)), s, v))
    np.testing.assert_array_equal(np.asarray(TF.adjust_hue(pil, 0.3)), np.asarray(shifted.convert("RGB")))
    with pytest.raises(ValueError, match="hue_factor \\(0.7\\) is not in \\[-0.5, 0.5\\]"):
        TF.adjust_hue(_t(x), 0.7)


def test_gamma():
    x = _f32(3, 4, 5)
    np.testing.assert_allclose(TF.adjust_gamma(_t(x), 2.2, 1.1).numpy(), np.clip(1.1 * x ** 2.2, 0, 1), rtol=1e-5)
    u = _u8()
    expected = (np.clip((u / np.float32(255)) ** np.float32(0.5), 0, 1) * np.float32(255.999)).astype(np.uint8)
    np.testing.assert_array_equal(TF.adjust_gamma(_t(u), 0.5).numpy(), expected)
    np.testing.assert_array_equal(_chw(TF.adjust_gamma(_pil(u), 0.5)), TF.adjust_gamma(_t(u), 0.5).numpy())
    with pytest.raises(ValueError, match="Gamma should be a non-negative real number"):
        TF.adjust_gamma(_t(x), -1)


def test_grayscale_weights():
    x = _f32(3, 4, 5)
    out = TF.rgb_to_grayscale(_t(x))
    assert out.shape == (1, 4, 5)
    np.testing.assert_allclose(out.numpy()[0], 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2], rtol=1e-6)
    three = TF.rgb_to_grayscale(_t(x), 3)
    assert three.shape == (3, 4, 5) and (three[0] == three[2]).all().item()
    u = _u8(3, 4, 5)
    pil = TF.rgb_to_grayscale(_pil(u))                        # Pillow: 0.299 R + 0.587 G + 0.114 B, rounded
    assert pil.mode == "L"
    ref = 0.299 * u[0] + 0.587 * u[1] + 0.114 * u[2]
    assert np.abs(np.asarray(pil).astype(float) - ref).max() <= 0.5 + 1e-6
    assert TF.to_grayscale(_pil(u), 3).mode == "RGB"
    assert TF.rgb_to_grayscale(_t(u[:1]), 3).shape == (1, 4, 5)   # as torchvision: one channel stays one
    with pytest.raises(ValueError, match="num_output_channels should be either 1 or 3"):
        TF.rgb_to_grayscale(_t(x), 2)
    with pytest.raises(TypeError, match="at least 3 dimensions"):
        TF.rgb_to_grayscale(_t(x[0]))
    with pytest.raises(TypeError, match="Input should be PIL Image"):
        TF.to_grayscale(_t(x))


def _blur_ref(x, ks, sigma):
    def k1(n, s):
        v = torch.linspace(-(n - 1) / 2, (n - 1) / 2, n)
        p = torch.exp(-0.5 * (v / s) ** 2)
        return p / p.sum()
    kernel = k1(ks[1], sigma[1])[:, None] * k1(ks[0], sigma[0])[None, :]
    c = x.shape[1]
    y = TNF.pad(x, [ks[0] // 2, ks[0] // 2, ks[1] // 2, ks[1] // 2], mode="reflect")
    return TNF.conv2d(y, kernel.expand(c, 1, *kernel.shape), groups=c)


def test_gaussian_blur_matches_conv2d():
    x = _f32(2, 3, 8, 9)
    out = TF.gaussian_blur(_t(x), [3, 5], [0.8, 1.4])
    np.testing.assert_allclose(out.numpy(), _blur_ref(torch.from_numpy(x), [3, 5], [0.8, 1.4]).numpy(), atol=1e-6)
    u = _u8(3, 6, 7)
    ref = _blur_ref(torch.from_numpy(u).float()[None], [5, 5], [5 * 0.15 + 0.35] * 2)[0].round().to(torch.uint8)
    assert np.abs(TF.gaussian_blur(_t(u), 5).numpy().astype(int) - ref.numpy()).max() <= 1
    np.testing.assert_array_equal(_chw(TF.gaussian_blur(_pil(u), 3, 1.0)), TF.gaussian_blur(_t(u), 3, 1.0).numpy())
    np.testing.assert_array_equal(TF.gaussian_blur(_t(u), 1).numpy(), u)      # a 1x1 kernel changes nothing
    blur = [[[126, 110, 83, 85, 103], [149, 135, 112, 100, 103], [144, 145, 150, 138, 128],
             [110, 128, 165, 167, 156]]]
    # produced with torchvision 0.29.1: TF.gaussian_blur(torch.tensor(CARD), [3, 3], [0.9, 0.9])[:1].tolist()
    assert TF.gaussian_blur(_t(CARD), [3, 3], [0.9, 0.9])[:1].tolist() == blur
    with pytest.raises(ValueError, match="kernel_size should have odd and positive integers. Got \\[4, 4\\]"):
        TF.gaussian_blur(_t(u), 4)
    with pytest.raises(ValueError, match="sigma should have positive values"):
        TF.gaussian_blur(_t(u), 3, 0.0)
    with pytest.raises(TypeError, match="kernel_size should be int or a sequence of integers"):
        TF.gaussian_blur(_t(u), 3.0)


def test_sharpness_blends_with_the_smoothed_image():
    x = _f32(3, 6, 7)
    kernel = torch.ones(3, 3)
    kernel[1, 1] = 5
    kernel = (kernel / 13).expand(3, 1, 3, 3)
    smooth = torch.from_numpy(x.copy())
    smooth[:, 1:-1, 1:-1] = TNF.conv2d(torch.from_numpy(x)[None], kernel, groups=3)[0]
    np.testing.assert_allclose(TF.adjust_sharpness(_t(x), 0.0).numpy(), smooth.numpy(), atol=1e-6)
    np.testing.assert_allclose(TF.adjust_sharpness(_t(x), 2.0).numpy(), np.clip(2 * x - smooth.numpy(), 0, 1),
                               atol=1e-6)
    u = _u8(3, 6, 7)
    np.testing.assert_array_equal(TF.adjust_sharpness(_t(u), 2.5).numpy(), _chw(TF.adjust_sharpness(_pil(u), 2.5)))
    tiny = _t(_f32(3, 2, 5))
    assert TF.adjust_sharpness(tiny, 0.5) is tiny


def test_invert_posterize_solarize_equalize_agree_with_imageops():
    u = _u8(3, 9, 11)
    u[0] = u[0] // 2 + 40                                    # a channel whose histogram is not full
    t, pil = _t(u), _pil(u)
    np.testing.assert_array_equal(TF.invert(t).numpy(), 255 - u)
    np.testing.assert_array_equal(_chw(TF.invert(pil)), 255 - u)
    np.testing.assert_allclose(TF.invert(_t(_f32(3, 2, 2))).numpy(), 1 - _f32(3, 2, 2))
    for bits in (1, 3, 8):
        np.testing.assert_array_equal(TF.posterize(t, bits).numpy(), u & (256 - 2 ** (8 - bits)))
        np.testing.assert_array_equal(TF.posterize(t, bits).numpy(), _chw(ImageOps.posterize(pil, bits)))
    assert TF.posterize(t, 0).sum().item() == 0
    np.testing.assert_array_equal(TF.solarize(t, 100).numpy(), np.where(u >= 100, 255 - u, u))
    np.testing.assert_array_equal(TF.solarize(t, 100).numpy(), _chw(ImageOps.solarize(pil, 100)))
    # equalize needs more than 255 pixels per channel to change anything: a 3x24x24 image, skewed
    big = (np.random.default_rng(7).random((3, 24, 24)) ** np.array([1, 3, 0.3])[:, None, None] * 255).astype(np.uint8)
    eq = TF.equalize(_t(big)).numpy()
    np.testing.assert_array_equal(eq, _chw(ImageOps.equalize(_pil(big))))
    assert not (eq == big).all()
    batch = TF.equalize(_t(np.stack([big, big[::-1].copy()])))
    np.testing.assert_array_equal(batch.numpy()[1], _chw(ImageOps.equalize(_pil(big[::-1].copy()))))
    np.testing.assert_array_equal(TF.equalize(t).numpy(), u)          # 99 pixels: the histogram step is 0
    const = _t(np.full((1, 4, 4), 7, np.uint8))
    np.testing.assert_array_equal(TF.equalize(const).numpy(), const.numpy())
    with pytest.raises(TypeError, match="Only torch.uint8 image tensors are supported, but found torch.float32"):
        TF.posterize(_t(_f32(3, 2, 2)), 2)
    with pytest.raises(ValueError, match="The number if bits should be between 0 and 8. Got 9"):
        TF.posterize(t, 9)
    with pytest.raises(TypeError, match="Threshold should be less than bound of img"):
        TF.solarize(_t(_f32(3, 2, 2)), 2.0)
    with pytest.raises(TypeError, match="Input image tensor should have 3 or 4 dimensions"):
        TF.equalize(flambeau.zeros(1, 1, 1, 2, 2, dtype=flambeau.uint8))


def test_autocontrast_stretches_each_channel():
    x = _f32(3, 4, 5) * 0.5 + 0.2
    out = TF.autocontrast(_t(x)).numpy()
    lo, hi = x.min(axis=(1, 2), keepdims=True), x.max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out, (x - lo) / (hi - lo), atol=1e-6)
    const = _t(np.full((3, 2, 2), 9, np.uint8))
    np.testing.assert_array_equal(TF.autocontrast(const).numpy(), const.numpy())   # a flat channel stays
    u = _u8()
    u[1] = u[1] // 4 + 30
    assert np.abs(TF.autocontrast(_t(u)).numpy().astype(int) - _chw(ImageOps.autocontrast(_pil(u)))).max() <= 1


def test_erase():
    x = flambeau.zeros(3, 5, 6)
    out = TF.erase(x, 1, 2, 3, 2, flambeau.tensor([[[1.0]], [[2.0]], [[3.0]]]))
    expected = np.zeros((3, 5, 6), np.float32)
    expected[:, 1:4, 2:4] = np.array([1, 2, 3])[:, None, None]
    np.testing.assert_array_equal(out.numpy(), expected)
    assert x.sum().item() == 0                               # not in place by default
    assert TF.erase(x, 0, 0, 1, 1, flambeau.tensor(5.0), inplace=True) is x and x[0, 0, 0].item() == 5
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        TF.erase(_pil(_u8()), 0, 0, 1, 1, flambeau.tensor(0.0))


# ------------------------------------------------------------------ arrays, autograd

def test_arrays_take_the_tensor_path():
    hwc = _u8(3, 6, 8).transpose(1, 2, 0).copy()
    chw = hwc.transpose(2, 0, 1)
    out = TF.resize(hwc, [3, 4])
    assert isinstance(out, np.ndarray) and out.shape == (3, 4, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, TF.resize(_t(chw), [3, 4]).numpy().transpose(1, 2, 0))
    grey = TF.rotate(hwc[:6, :6, 0].copy(), 90)
    np.testing.assert_array_equal(grey, np.rot90(hwc[:6, :6, 0]))
    pieces = TF.five_crop(hwc, 2)
    assert all(isinstance(p, np.ndarray) and p.shape == (2, 2, 3) for p in pieces)


def test_float_paths_are_differentiable():
    x = np.random.default_rng(0).random((1, 3, 6, 7))
    ours = flambeau.tensor(x, requires_grad=True)
    ref = torch.tensor(x, requires_grad=True)
    w = np.random.default_rng(1).standard_normal((1, 3, 4, 5))
    (TF.resize(ours, [4, 5]) * flambeau.tensor(w)).sum().backward()
    (TNF.interpolate(ref, size=[4, 5], mode="bilinear", antialias=True) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy(), atol=1e-12)
    ours.grad = None
    TF.rotate(ours, 20.0, IM.BILINEAR, fill=[0.5, 0.5, 0.5]).sum().backward()
    assert ours.grad.shape == (1, 3, 6, 7) and ours.grad.abs().sum().item() > 0
