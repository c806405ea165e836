"""The transform classes added beside the original ones: each against the functional it applies (with its
get_params drawn under the same seed), its probabilities, its argument checks and its repr (the reprs
are torchvision 0.29.1's strings for the same constructor calls)."""
import numpy as np
import pytest
from PIL import Image

import flambeau
import flambeau.vision.transforms.functional as TF
from flambeau.vision import transforms as T
from flambeau.vision.transforms import InterpolationMode as IM


def _u8(c=3, h=8, w=9, seed=0):
    return flambeau.from_numpy(np.random.default_rng(seed).integers(0, 256, (c, h, w), dtype=np.uint8))


def _f32(*shape, seed=0):
    return flambeau.from_numpy(np.random.default_rng(seed).random(shape).astype(np.float32))


def _same(a, b):
    np.testing.assert_array_equal(np.asarray(a) if isinstance(a, Image.Image) else a.numpy(),
                                  np.asarray(b) if isinstance(b, Image.Image) else b.numpy())


def _seeded(seed, fn):
    flambeau.manual_seed(seed)
    return fn()


def test_classes_are_modules_and_compose_in_sequential():
    assert isinstance(T.RandomAffine(10), flambeau.nn.Module) and isinstance(T.Normalize([0], [1]), flambeau.nn.Module)
    assert not isinstance(T.Compose([]), flambeau.nn.Module) and not isinstance(T.ToTensor(), flambeau.nn.Module)
    seq = flambeau.nn.Sequential(T.CenterCrop(4), T.ConvertImageDtype(flambeau.float32),
                                 T.Normalize([0.5] * 3, [0.5] * 3))
    out = seq(_u8())
    assert out.shape == (3, 4, 4) and out.dtype == flambeau.float32


@pytest.mark.parametrize("cls, fn", [
    (T.RandomInvert, TF.invert), (T.RandomAutocontrast, TF.autocontrast), (T.RandomEqualize, TF.equalize),
    (lambda p: T.RandomPosterize(3, p), lambda x: TF.posterize(x, 3)),
    (lambda p: T.RandomSolarize(100, p), lambda x: TF.solarize(x, 100)),
    (lambda p: T.RandomAdjustSharpness(2.5, p), lambda x: TF.adjust_sharpness(x, 2.5)),
    (lambda p: T.RandomGrayscale(p), lambda x: TF.rgb_to_grayscale(x, 3)),
])
def test_probability_transforms(cls, fn):
    x = _u8()
    _same(cls(1.0)(x), fn(x))
    assert cls(0.0)(x) is x
    pil = TF.to_pil_image(x)
    _same(cls(1.0)(pil), fn(pil))
    flambeau.manual_seed(0)
    changed = sum(not (cls(0.3)(x) is x) for _ in range(200))
    assert 35 <= changed <= 85                                # p = 0.3 of 200 draws


def test_grayscale():
    x = _f32(3, 4, 5)
    _same(T.Grayscale()(x), TF.rgb_to_grayscale(x))
    assert T.Grayscale(3)(x).shape == (3, 4, 5)
    assert T.Grayscale()(TF.to_pil_image(x)).mode == "L"
    grey = _u8(1)
    assert T.RandomGrayscale(1.0)(grey).shape == (1, 8, 9)    # keeps the number of channels


def test_random_affine_applies_its_params():
    x = _u8(seed=1)
    t = T.RandomAffine(30, translate=(0.2, 0.1), scale=(0.8, 1.2), shear=(-5, 5, -3, 3), interpolation=IM.BILINEAR,
                       fill=7)
    out = _seeded(4, lambda: t(x))
    angle, translate, scale, shear = _seeded(4, lambda: T.RandomAffine.get_params(t.degrees, t.translate, t.scale,
                                                                                  t.shear, [9, 8]))
    assert -30 <= angle <= 30 and abs(translate[0]) <= 2 and abs(translate[1]) <= 1 and 0.8 <= scale <= 1.2
    assert -5 <= shear[0] <= 5 and -3 <= shear[1] <= 3
    _same(out, TF.affine(x, angle, list(translate), scale, list(shear), IM.BILINEAR, fill=[7.0] * 3))
    pil = TF.to_pil_image(x)
    _same(_seeded(4, lambda: t(pil)), TF.affine(pil, angle, list(translate), scale, list(shear), IM.BILINEAR, fill=7))
    assert T.RandomAffine.get_params([0, 0], None, None, None, [9, 8]) == (0.0, (0, 0), 1.0, (0.0, 0.0))
    np.testing.assert_array_equal(T.RandomAffine(0)(x).numpy(), x.numpy())      # no change drawn: identity
    with pytest.raises(ValueError, match="translation values should be between 0 and 1"):
        T.RandomAffine(0, translate=(0.1, 2))
    with pytest.raises(ValueError, match="scale values should be positive"):
        T.RandomAffine(0, scale=(0, 1))
    with pytest.raises(ValueError, match="shear should be a sequence of length 2 or 4"):
        T.RandomAffine(0, shear=(1, 2, 3))
    with pytest.raises(ValueError, match="If degrees is a single number, it must be positive"):
        T.RandomAffine(-1)
    with pytest.raises(TypeError, match="Fill should be either a sequence or a number"):
        T.RandomAffine(0, fill={})


def test_random_rotation_fills_tensors_per_channel():
    x = _f32(3, 7, 7)
    out = _seeded(2, lambda: T.RandomRotation((10, 50), interpolation=IM.BILINEAR, fill=0.5)(x))
    angle = _seeded(2, lambda: T.RandomRotation.get_params([10.0, 50.0]))
    assert 10 <= angle <= 50
    _same(out, TF.rotate(x, angle, IM.BILINEAR, fill=[0.5, 0.5, 0.5]))
    with pytest.raises(ValueError, match="center should be a sequence of length 2"):
        T.RandomRotation(5, center=(1, 2, 3))


def test_random_perspective():
    x = _u8(seed=2)
    t = T.RandomPerspective(0.6, p=1.0, fill=3)
    out = _seeded(5, lambda: t(x))
    start, end = _seeded(5, lambda: (flambeau.rand(1), T.RandomPerspective.get_params(9, 8, 0.6))[1])
    assert start == [[0, 0], [8, 0], [8, 7], [0, 7]]
    # each corner moves inwards by at most int(0.6 * half size)
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = end
    assert 0 <= x0 <= 2 and 0 <= y0 <= 2 and 6 <= x1 <= 8 and 0 <= y1 <= 2
    assert 6 <= x2 <= 8 and 5 <= y2 <= 7 and 0 <= x3 <= 2 and 5 <= y3 <= 7
    _same(out, TF.perspective(x, start, end, IM.BILINEAR, [3.0] * 3))
    assert T.RandomPerspective(p=0.0)(x) is x


def test_random_erasing():
    x = flambeau.zeros(3, 20, 30)
    flambeau.manual_seed(0)
    out = T.RandomErasing(p=1.0, value=(1, 2, 3))(x)
    assert x.sum().item() == 0                                # not in place
    rows, cols = np.nonzero(out.numpy()[0])
    h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert len(rows) == h * w and 0.02 * 600 - 3 * (h + w) <= h * w <= 0.33 * 600 + 3 * (h + w)
    block = out.numpy()[:, rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    assert (block == np.array([1, 2, 3])[:, None, None]).all() and out.sum().item() == 6 * h * w
    flambeau.manual_seed(1)
    noisy = T.RandomErasing(p=1.0, value="random")(x)
    assert noisy.abs().sum().item() > 0 and noisy.std().item() > 0
    same = flambeau.zeros(3, 20, 30)
    assert T.RandomErasing(p=1.0, inplace=True)(same) is same
    assert T.RandomErasing(p=0.0)(x) is x
    i, j, h, w, v = T.RandomErasing.get_params(x, (0.999, 1.0), (1.0, 1.0), value=[0.0])   # cannot fit: no-op
    assert (i, j, h, w) == (0, 0, 20, 30) and v is x
    with pytest.raises(ValueError, match="it should have either a single value or 3"):
        T.RandomErasing(p=1.0, value=(1, 2))(x)
    with pytest.raises(ValueError, match="If value is str, it should be 'random'"):
        T.RandomErasing(value="noise")
    with pytest.raises(ValueError, match="Random erasing probability should be between 0 and 1"):
        T.RandomErasing(p=1.5)
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        T.RandomErasing(p=1.0)(TF.to_pil_image(x))


def test_gaussian_blur_class():
    x = _f32(3, 8, 9)
    out = _seeded(3, lambda: T.GaussianBlur(5, sigma=(0.5, 1.5))(x))
    sigma = _seeded(3, lambda: T.GaussianBlur.get_params(0.5, 1.5))
    assert 0.5 <= sigma <= 1.5
    _same(out, TF.gaussian_blur(x, [5, 5], [sigma, sigma]))
    _same(T.GaussianBlur((3, 5), sigma=0.8)(x), TF.gaussian_blur(x, [3, 5], [0.8, 0.8]))
    with pytest.raises(ValueError, match="Kernel size value should be an odd and positive number"):
        T.GaussianBlur(4)
    with pytest.raises(ValueError, match="sigma values should be positive and of the form \\(min, max\\)"):
        T.GaussianBlur(3, sigma=(2, 1))
    with pytest.raises(ValueError, match="If sigma is a single number, it must be positive"):
        T.GaussianBlur(3, sigma=0)


def test_five_and_ten_crop_classes():
    x = _u8()
    for a, b in zip(T.FiveCrop(4)(x), TF.five_crop(x, [4, 4])):
        _same(a, b)
    ten = T.TenCrop((3, 4), vertical_flip=True)(x)
    assert len(ten) == 10 and all(p.shape == (3, 3, 4) for p in ten)
    _same(ten[5], TF.vflip(x)[:, :3, :4])
    batch = flambeau.stack([TF.pil_to_tensor(p) for p in T.FiveCrop(4)(TF.to_pil_image(x))])
    assert batch.shape == (5, 3, 4, 4)


def test_linear_transformation_whitens():
    x = _f32(2, 1, 2, 3)
    m = _f32(6, 6, seed=1)
    mean = _f32(6, seed=2)
    out = T.LinearTransformation(m, mean)(x)
    expected = ((x.numpy().reshape(-1, 6) - mean.numpy()) @ m.numpy()).reshape(2, 1, 2, 3)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="transformation_matrix should be square. Got \\(2, 3\\) rectangular matrix"):
        T.LinearTransformation(flambeau.zeros(2, 3), flambeau.zeros(2))
    with pytest.raises(ValueError, match="mean_vector should have the same length 3"):
        T.LinearTransformation(flambeau.zeros(2, 2), flambeau.zeros(3))
    with pytest.raises(ValueError, match="Input tensors should have the same dtype"):
        T.LinearTransformation(flambeau.zeros(2, 2), flambeau.zeros(2, dtype=flambeau.float64))
    with pytest.raises(ValueError, match="Input tensor and transformation matrix have incompatible shape"):
        T.LinearTransformation(m, mean)(flambeau.zeros(1, 2, 2))


def test_random_apply_choice_order():
    x = _u8()
    inv = T.RandomInvert(1.0)
    _same(T.RandomApply([inv, T.Grayscale()], p=1.0)(x), TF.rgb_to_grayscale(TF.invert(x)))
    assert T.RandomApply([inv], p=0.0)(x) is x
    flambeau.manual_seed(0)
    applied = sum(T.RandomApply([inv], p=0.25)(x) is not x for _ in range(400))
    assert 70 <= applied <= 130
    add = [T.Lambda(lambda v, k=k: v * 10 + k) for k in range(3)]
    assert T.RandomChoice(add, p=[0, 0, 5])(1) == 12            # weights need not sum to one
    flambeau.manual_seed(0)
    picks = [T.RandomChoice(add, p=[1, 3, 0])(0) for _ in range(400)]
    assert set(picks) == {0, 1} and 240 <= picks.count(1) <= 360
    flambeau.manual_seed(1)
    orders = {T.RandomOrder(add)(0) for _ in range(200)}        # the last one applied is the units digit
    assert orders == {12, 21, 102, 120, 201, 210}
    a = _seeded(9, lambda: [T.RandomOrder(add)(0) for _ in range(10)])
    assert a == _seeded(9, lambda: [T.RandomOrder(add)(0) for _ in range(10)])
    with pytest.raises(TypeError, match="Argument transforms should be a sequence"):
        T.RandomOrder(3)
    with pytest.raises(TypeError, match="Argument p should be a sequence"):
        T.RandomChoice(add, p=3)
    with pytest.raises(ValueError, match="The number of weights does not match the population"):
        T.RandomChoice(add, p=[1, 2])(0)


def test_elastic_transform_class():
    x = _f32(3, 10, 12)
    out = _seeded(0, lambda: T.ElasticTransform(alpha=5.0, sigma=2.0)(x))
    disp = _seeded(0, lambda: T.ElasticTransform.get_params([5.0, 5.0], [2.0, 2.0], [10, 12]))
    assert disp.shape == (1, 10, 12, 2)
    _same(out, TF.elastic_transform(x, disp, IM.BILINEAR, [0.0]))
    np.testing.assert_allclose(T.ElasticTransform(alpha=0.0, sigma=1.0)(x).numpy(), x.numpy(), atol=1e-6)
    with pytest.raises(TypeError, match="alpha should be float or a sequence of floats"):
        T.ElasticTransform(alpha=1)


def test_random_transforms_are_reproducible():
    x = _u8(seed=5)
    pipeline = T.Compose([T.RandomResizedCrop(6), T.RandomHorizontalFlip(),
                          T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)]), T.RandomGrayscale(0.5),
                          T.RandomAffine(20, translate=(0.1, 0.1), shear=5), T.RandomPerspective(),
                          T.GaussianBlur(3), T.RandomErasing(), T.RandomChoice([T.RandomInvert(), T.RandomEqualize()]),
                          T.RandomOrder([T.RandomPosterize(4), T.RandomSolarize(128)])])
    a = [_seeded(11, lambda: pipeline(x)).numpy() for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])
    outs = {pipeline(x).numpy().tobytes() for _ in range(5)}
    assert len(outs) > 1


def test_color_jitter_calls_the_adjust_functions():
    x = _u8(seed=6)
    t = T.ColorJitter(0.5, 0.5, 0.5, 0.2)
    out = _seeded(8, lambda: t(x))
    order, b, c, s, h = _seeded(8, lambda: T.ColorJitter.get_params(t.brightness, t.contrast, t.saturation, t.hue))
    assert sorted(order.tolist()) == [0, 1, 2, 3]
    y = x
    for k in order.tolist():
        y = [lambda v: TF.adjust_brightness(v, b), lambda v: TF.adjust_contrast(v, c),
             lambda v: TF.adjust_saturation(v, s), lambda v: TF.adjust_hue(v, h)][k](y)
    _same(out, y)


def test_reprs_match_torchvision():
    # each string is repr() of the same constructor call in torchvision 0.29.1
    cases = [
        (T.Resize((3, 4), interpolation=IM.BICUBIC, antialias=False),
         "Resize(size=(3, 4), interpolation=bicubic, max_size=None, antialias=False)"),
        (T.Resize(5, interpolation=0), "Resize(size=5, interpolation=nearest, max_size=None, antialias=True)"),
        (T.RandomResizedCrop(4, scale=(0.3, 0.9)),
         "RandomResizedCrop(size=(4, 4), scale=(0.3, 0.9), ratio=(0.75, 1.3333), interpolation=bilinear, "
         "antialias=True)"),
        (T.RandomRotation(30, center=(1, 2)),
         "RandomRotation(degrees=[-30.0, 30.0], interpolation=nearest, expand=False, center=(1, 2), fill=0)"),
        (T.RandomAffine(10, translate=(0.1, 0.2), scale=(0.9, 1.1), shear=5, interpolation=IM.BILINEAR, fill=1,
                        center=(1, 1)),
         "RandomAffine(degrees=[-10.0, 10.0], translate=(0.1, 0.2), scale=(0.9, 1.1), shear=[-5.0, 5.0], "
         "interpolation=bilinear, fill=1, center=(1, 1))"),
        (T.RandomAffine(0), "RandomAffine(degrees=[0.0, 0.0])"),
        (T.Grayscale(3), "Grayscale(num_output_channels=3)"),
        (T.RandomErasing(), "RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False)"),
        (T.GaussianBlur(5), "GaussianBlur(kernel_size=(5, 5), sigma=(0.1, 2.0))"),
        (T.RandomPerspective(), "RandomPerspective(p=0.5)"),
        (T.RandomPosterize(3), "RandomPosterize(bits=3,p=0.5)"),
        (T.RandomSolarize(100), "RandomSolarize(threshold=100,p=0.5)"),
        (T.RandomAdjustSharpness(2), "RandomAdjustSharpness(sharpness_factor=2,p=0.5)"),
        (T.RandomApply([T.RandomInvert(), T.Grayscale()], p=0.3),
         "RandomApply(\n    p=0.3\n    RandomInvert(p=0.5)\n    Grayscale(num_output_channels=1)\n)"),
        (T.RandomChoice([T.RandomInvert()], p=[1]), "RandomChoice(\n    RandomInvert(p=0.5)\n)(p=[1])"),
        (T.TenCrop((3, 4), vertical_flip=True), "TenCrop(size=(3, 4), vertical_flip=True)"),
        (T.LinearTransformation(flambeau.eye(2), flambeau.zeros(2)),
         "LinearTransformation(transformation_matrix=[[1.0, 0.0], [0.0, 1.0]], mean_vector=[0.0, 0.0])"),
        (T.ToPILImage("RGB"), "ToPILImage(mode=RGB)"),
    ]
    for t, expected in cases:
        assert repr(t) == expected
