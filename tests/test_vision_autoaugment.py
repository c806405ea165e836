"""vision.transforms.autoaugment: AutoAugment, RandAugment, TrivialAugmentWide and AugMix, without torchvision.

Each operation is checked against the functional it applies and against hand-computed pixels; the
magnitude tables against hand-computed bins; the random draws against a replay of the calls torchvision
makes (Note [AutoAugment draws] in the module); reprs, errors and a few outputs are literals recorded
with torchvision 0.29.1 (torch 2.14.1), each beside the call that produced it. The literals of seeded
draws rest on flambeau's CPU generator being torch's MT19937 stream (tests/test_torch_rng.py)."""
import math

import numpy as np
import pytest
from PIL import Image

import flambeau
import flambeau.vision.transforms.functional as TF
from flambeau.vision import transforms as T
from flambeau.vision.transforms import autoaugment as AA
from flambeau.vision.transforms import InterpolationMode as IM

# a 5x6 RGB test card, the input of the torchvision literals below
CARD = ((np.arange(90).reshape(3, 5, 6) * 37 + 11) % 256).astype(np.uint8)

RAND_ORDER = ["Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color", "Contrast",
              "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize"]
AUGMIX_ORDER = ["ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Posterize", "Solarize", "AutoContrast",
                "Equalize", "Brightness", "Color", "Contrast", "Sharpness"]
SIGNED = {"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color", "Contrast", "Sharpness"}


def _card():
    return flambeau.from_numpy(CARD.copy())


def _pil(chw):
    return Image.fromarray(np.ascontiguousarray(chw.transpose(1, 2, 0)))


def _u8(*shape, seed=0):
    return flambeau.from_numpy(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8))


def _arr(x):
    if isinstance(x, Image.Image):
        a = np.asarray(x)
        return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return x.numpy()


def _same(a, b):
    np.testing.assert_array_equal(_arr(a), _arr(b))


@pytest.fixture
def op_log(monkeypatch):
    """The (op_name, magnitude) pairs the transforms apply, in order (the operations still run)."""
    log = []
    real = AA._apply_op

    def logging_apply(img, op_name, magnitude, interpolation, fill):
        log.append((op_name, magnitude))
        return real(img, op_name, magnitude, interpolation, fill)

    monkeypatch.setattr(AA, "_apply_op", logging_apply)
    return log


def _torch_stream():
    """flambeau's CPU generator gives torch's numbers (the generator state is kept)."""
    state = flambeau.get_rng_state()
    flambeau.manual_seed(0)
    first = flambeau.rand(3).tolist()
    flambeau.set_rng_state(state)
    # torch.manual_seed(0); torch.rand(3).tolist()
    assert first == [0.49625658988952637, 0.7682217955589294, 0.08847743272781372]


def _next_draw():
    return flambeau.rand(1).item()


# ------------------------------------------------------------------ exports, reprs, errors

def test_exports_and_modules():
    for name in ("AutoAugmentPolicy", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix"):
        assert getattr(T, name) is getattr(AA, name) and name in T.__all__
    assert [p.value for p in T.AutoAugmentPolicy] == ["imagenet", "cifar10", "svhn"]
    for t in (T.AutoAugment(), T.RandAugment(), T.TrivialAugmentWide(), T.AugMix()):
        assert isinstance(t, flambeau.nn.Module)


def test_defaults_and_reprs():
    a, r, t, m = T.AutoAugment(), T.RandAugment(), T.TrivialAugmentWide(), T.AugMix()
    assert (a.policy, a.interpolation, a.fill) == (T.AutoAugmentPolicy.IMAGENET, IM.NEAREST, None)
    assert (r.num_ops, r.magnitude, r.num_magnitude_bins, r.interpolation) == (2, 9, 31, IM.NEAREST)
    assert (t.num_magnitude_bins, t.interpolation) == (31, IM.NEAREST)
    assert (m.severity, m.mixture_width, m.chain_depth, m.alpha, m.all_ops, m.interpolation) == \
        (3, 3, -1, 1.0, True, IM.BILINEAR)
    # repr(torchvision.transforms.<the same constructor call>), torchvision 0.29.1
    assert repr(a) == "AutoAugment(policy=AutoAugmentPolicy.IMAGENET, fill=None)"
    assert repr(T.AutoAugment(T.AutoAugmentPolicy.SVHN, IM.BILINEAR, fill=[1, 2, 3])) == \
        "AutoAugment(policy=AutoAugmentPolicy.SVHN, fill=[1, 2, 3])"
    assert repr(T.RandAugment(3, 5, 11, IM.BILINEAR, 4)) == \
        "RandAugment(num_ops=3, magnitude=5, num_magnitude_bins=11, interpolation=InterpolationMode.BILINEAR, fill=4)"
    assert repr(T.TrivialAugmentWide(7, IM.BILINEAR, (1.5,))) == \
        "TrivialAugmentWide(num_magnitude_bins=7, interpolation=InterpolationMode.BILINEAR, fill=(1.5,))"
    assert repr(T.AugMix(2, 4, 2, 0.5, False, IM.NEAREST, [0])) == \
        ("AugMix(severity=2, mixture_width=4, chain_depth=2, alpha=0.5, all_ops=False, "
         "interpolation=InterpolationMode.NEAREST, fill=[0])")
    assert repr(m) == ("AugMix(severity=3, mixture_width=3, chain_depth=-1, alpha=1.0, all_ops=True, "
                       "interpolation=InterpolationMode.BILINEAR, fill=None)")


def test_errors():
    with pytest.raises(ValueError, match="The provided policy imagenet is not recognized."):
        T.AutoAugment("imagenet")
    for severity in (0, 11):
        with pytest.raises(ValueError, match=rf"The severity must be between \[1, 10\]. Got {severity} instead."):
            T.AugMix(severity=severity)
    with pytest.raises(ValueError, match="The provided operator Blur is not recognized."):
        AA._apply_op(_card(), "Blur", 1.0, IM.NEAREST, None)
    with pytest.raises(IndexError, match="index 31 is out of bounds for dimension 0 with size 31"):
        T.RandAugment(magnitude=31)(_card())
    # float images take no posterize / equalize, nor solarize thresholds above 1 (torchvision raises the same)
    f = flambeau.rand(3, 5, 6)
    for op, magnitude in (("Posterize", 4.0), ("Equalize", 0.0), ("Solarize", 128.0)):
        with pytest.raises(TypeError):
            AA._apply_op(f, op, magnitude, IM.NEAREST, None)


# ------------------------------------------------------------------ the policy and magnitude tables

def test_policy_tables():
    for policy, probability_sum, bin_sum in ((T.AutoAugmentPolicy.IMAGENET, 31.0, 159),
                                             (T.AutoAugmentPolicy.CIFAR10, 26.5, 187),
                                             (T.AutoAugmentPolicy.SVHN, 32.9, 143)):
        table = T.AutoAugment(policy).policies
        assert len(table) == 25 and all(len(sub) == 2 for sub in table)
        space = T.AutoAugment()._augmentation_space(10, (32, 32))
        for op, p, magnitude_id in (step for sub in table for step in sub):
            assert op in space and 0.0 <= p <= 1.0
            assert (magnitude_id is None) == (space[op][0].ndim == 0)
            assert magnitude_id is None or 0 <= magnitude_id <= 9
        # digests of torchvision 0.29.1's tables: sum of the probabilities and of the magnitude bins
        assert round(sum(p for sub in table for _, p, _ in sub), 6) == probability_sum
        assert sum(b for sub in table for _, _, b in sub if b is not None) == bin_sum
    assert T.AutoAugment().policies[0] == (("Posterize", 0.4, 8), ("Rotate", 0.6, 9))
    assert T.AutoAugment().policies[-1] == (("Equalize", 0.8, None), ("Equalize", 0.6, None))
    assert T.AutoAugment(T.AutoAugmentPolicy.CIFAR10).policies[3] == (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9))
    assert T.AutoAugment(T.AutoAugmentPolicy.SVHN).policies[15] == (("Invert", 0.8, None), ("TranslateY", 0.0, 2))


def _bins(space, op):
    magnitudes, signed = space[op]
    return magnitudes.tolist(), signed


def test_autoaugment_magnitude_bins():
    space = T.AutoAugment()._augmentation_space(10, (331, 662))          # (height, width)
    assert list(space) == ["ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color",
                           "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize", "Invert"]
    for op, end in (("ShearX", 0.3), ("TranslateX", 300.0), ("TranslateY", 150.0), ("Rotate", 30.0), ("Color", 0.9)):
        values, signed = _bins(space, op)
        np.testing.assert_allclose(values, [end * k / 9 for k in range(10)], rtol=1e-6, atol=1e-6)
        assert signed and space[op][0].dtype == flambeau.float32
    # 8 - round(k / 2.25)
    assert _bins(space, "Posterize") == ([8, 8, 7, 7, 6, 6, 5, 5, 4, 4], False)
    assert space["Posterize"][0].dtype == flambeau.int32
    # torch.linspace(255.0, 0.0, 10).tolist()
    assert _bins(space, "Solarize") == ([255.0, 226.6666717529297, 198.3333282470703, 170.0, 141.66665649414062,
                                         113.33333587646484, 85.0, 56.66666793823242, 28.33333396911621, 0.0], False)
    for op in ("AutoContrast", "Equalize", "Invert"):
        assert space[op][0].ndim == 0 and space[op][0].item() == 0.0 and space[op][1] is False


def test_randaugment_and_trivialaugment_bins():
    space = T.RandAugment()._augmentation_space(31, (20, 40))
    assert list(space) == RAND_ORDER
    assert {op for op in space if space[op][1]} == SIGNED
    # 8 - round(k / 7.5)
    assert _bins(space, "Posterize")[0] == [8] * 4 + [7] * 8 + [6] * 7 + [5] * 8 + [4] * 4
    assert _bins(space, "TranslateX")[0][-1] == pytest.approx(150 / 331 * 40, rel=1e-6)
    assert _bins(space, "TranslateY")[0][-1] == pytest.approx(150 / 331 * 20, rel=1e-6)
    wide = T.TrivialAugmentWide()._augmentation_space(31)
    assert list(wide) == RAND_ORDER
    # 8 - round(k / 5)
    assert _bins(wide, "Posterize")[0] == [8] * 3 + [7] * 5 + [6] * 5 + [5] * 5 + [4] * 5 + [3] * 5 + [2] * 3
    for op, end in (("ShearY", 0.99), ("TranslateX", 32.0), ("Rotate", 135.0), ("Sharpness", 0.99)):
        np.testing.assert_allclose(_bins(wide, op)[0], [end * k / 30 for k in range(31)], rtol=1e-6, atol=1e-6)
    assert _bins(wide, "Rotate")[0][:4] == [0.0, 4.5, 9.0, 13.5]


def test_augmix_bins():
    space = T.AugMix()._augmentation_space(10, (9, 12))
    assert list(space) == AUGMIX_ORDER
    assert list(T.AugMix(all_ops=False)._augmentation_space(10, (9, 12))) == AUGMIX_ORDER[:9]
    assert _bins(space, "Posterize")[0] == [4, 4, 3, 3, 2, 2, 1, 1, 0, 0]         # 4 - round(k / 2.25)
    np.testing.assert_allclose(_bins(space, "TranslateX")[0], [4.0 * k / 9 for k in range(10)], rtol=1e-6)
    np.testing.assert_allclose(_bins(space, "TranslateY")[0], [3.0 * k / 9 for k in range(10)], rtol=1e-6)


# ------------------------------------------------------------------ each operation

def test_each_op_is_its_functional():
    x, pil = _u8(3, 9, 11, seed=1), _pil(_u8(3, 9, 11, seed=1).numpy())
    fill = [10.0, 20.0, 30.0]
    cases = [
        ("ShearX", 0.25, lambda i, f: TF.affine(i, 0.0, [0, 0], 1.0, [math.degrees(math.atan(0.25)), 0.0], IM.BILINEAR,
                                                f, center=[0, 0])),
        ("ShearY", -0.6, lambda i, f: TF.affine(i, 0.0, [0, 0], 1.0, [0.0, math.degrees(math.atan(-0.6))],
                                                IM.BILINEAR, f, center=[0, 0])),
        ("TranslateX", -3.9, lambda i, f: TF.affine(i, 0.0, [-3, 0], 1.0, [0.0, 0.0], IM.BILINEAR, f)),
        ("TranslateY", 2.2, lambda i, f: TF.affine(i, 0.0, [0, 2], 1.0, [0.0, 0.0], IM.BILINEAR, f)),
        ("Rotate", 17.5, lambda i, f: TF.rotate(i, 17.5, IM.BILINEAR, fill=f)),
        ("Brightness", -0.3, lambda i, f: TF.adjust_brightness(i, 0.7)),
        ("Color", 0.45, lambda i, f: TF.adjust_saturation(i, 1.45)),
        ("Contrast", -0.8, lambda i, f: TF.adjust_contrast(i, 0.2)),
        ("Sharpness", 0.9, lambda i, f: TF.adjust_sharpness(i, 1.9)),
        ("Posterize", 5.0, lambda i, f: TF.posterize(i, 5)),
        ("Solarize", 99.5, lambda i, f: TF.solarize(i, 99.5)),
        ("AutoContrast", 0.0, lambda i, f: TF.autocontrast(i)),
        ("Equalize", 0.0, lambda i, f: TF.equalize(i)),
        ("Invert", 0.0, lambda i, f: TF.invert(i)),
    ]
    for op, magnitude, expected in cases:
        _same(AA._apply_op(x, op, magnitude, IM.BILINEAR, fill), expected(x, fill))
        _same(AA._apply_op(pil, op, magnitude, IM.BILINEAR, 7), expected(pil, 7))
    assert AA._apply_op(x, "Identity", 3.0, IM.NEAREST, None) is x


def test_ops_by_hand():
    x = _u8(3, 7, 9, seed=2)
    a = x.numpy()
    # ShearX by slope m about the top-left corner, nearest: row y reads x + round(m * (y + 0.5)) (pixel centres)
    for m in (0.3, -0.45, 0.99):
        for img in (x, _pil(a)):
            out = _arr(AA._apply_op(img, "ShearX", m, IM.NEAREST, None))
            for y in range(7):
                shift = math.floor(0.5 + m * (y + 0.5))
                for col in range(9):
                    src = col + shift
                    assert (out[:, y, col] == (a[:, y, src] if 0 <= src < 9 else 0)).all(), (m, y, col)
        out = AA._apply_op(x, "ShearY", m, IM.NEAREST, None).numpy()
        for col in range(9):
            shift = math.floor(0.5 + m * (col + 0.5))
            for y in range(7):
                src = y + shift
                assert (out[:, y, col] == (a[:, src, col] if 0 <= src < 7 else 0)).all(), (m, y, col)
    # translations move by int(magnitude) pixels (truncated towards zero), the rest is the fill
    out = AA._apply_op(x, "TranslateX", 2.7, IM.NEAREST, [5.0, 6.0, 7.0]).numpy()
    np.testing.assert_array_equal(out[:, :, 2:], a[:, :, :-2])
    np.testing.assert_array_equal(out[:, :, :2], np.broadcast_to(np.array([5, 6, 7])[:, None, None], (3, 7, 2)))
    out = AA._apply_op(x, "TranslateY", -1.99, IM.BILINEAR, None).numpy()
    np.testing.assert_array_equal(out[:, :-1], a[:, 1:])
    assert (out[:, -1] == 0).all()
    # Rotate is counter-clockwise: 90 degrees of a square image is np.rot90
    sq = _u8(3, 5, 5, seed=3)
    np.testing.assert_array_equal(AA._apply_op(sq, "Rotate", 90.0, IM.NEAREST, None).numpy(),
                                  np.rot90(sq.numpy(), 1, axes=(1, 2)))
    # colour operations: factor 1 + magnitude
    np.testing.assert_array_equal(AA._apply_op(x, "Brightness", -0.5, IM.NEAREST, None).numpy(), a // 2)
    np.testing.assert_array_equal(AA._apply_op(x, "Brightness", 0.0, IM.NEAREST, None).numpy(), a)
    np.testing.assert_array_equal(AA._apply_op(x, "Posterize", 3.9, IM.NEAREST, None).numpy(), a & 0b11100000)
    np.testing.assert_array_equal(AA._apply_op(x, "Solarize", 128.0, IM.NEAREST, None).numpy(),
                                  np.where(a >= 128, 255 - a, a))
    np.testing.assert_array_equal(AA._apply_op(x, "Invert", 0.0, IM.NEAREST, None).numpy(), 255 - a)
    low = flambeau.from_numpy((a // 4 + 50).astype(np.uint8))                     # values 50 .. 113
    stretched = AA._apply_op(low, "AutoContrast", 0.0, IM.NEAREST, None).numpy()
    assert (stretched.min(axis=(1, 2)) == 0).all() and (stretched.max(axis=(1, 2)) == 255).all()
    grey = flambeau.full((1, 4, 4), 77, dtype=flambeau.uint8)
    np.testing.assert_array_equal(AA._apply_op(grey, "Color", 0.9, IM.NEAREST, None).numpy(), 77)   # no saturation


def test_op_literals_from_torchvision():
    x = _card()
    # torchvision.transforms.autoaugment._apply_op(torch.from_numpy(CARD), "ShearX", 0.3, NEAREST, None)[0]
    assert AA._apply_op(x, "ShearX", 0.3, IM.NEAREST, None)[0].tolist() == [
        [11, 48, 85, 122, 159, 196], [233, 14, 51, 88, 125, 162], [236, 17, 54, 91, 128, 0],
        [202, 239, 20, 57, 94, 0], [168, 205, 242, 23, 60, 0]]
    # _apply_op(torch.from_numpy(CARD), "ShearY", -0.45, BILINEAR, [10.0, 20.0, 30.0])
    assert AA._apply_op(x, "ShearY", -0.45, IM.BILINEAR, [10.0, 20.0, 30.0]).tolist() == [
        [[9, 12, 10, 10, 10, 10], [183, 37, 66, 28, 10, 10], [207, 86, 55, 108, 151, 59],
         [173, 225, 21, 74, 126, 178], [139, 191, 211, 40, 92, 144]],
        [[63, 28, 20, 20, 20, 20], [71, 123, 133, 49, 20, 20], [37, 89, 141, 194, 233, 17],
         [201, 55, 107, 160, 212, 143], [225, 104, 73, 126, 178, 230]],
        [[117, 43, 30, 30, 30, 30], [157, 209, 5, 24, 30, 30], [123, 175, 195, 24, 72, 45],
         [89, 141, 193, 98, 42, 94], [55, 107, 159, 212, 8, 60]]]
    # _apply_op(torch.from_numpy(CARD), "Rotate", -13.5, BILINEAR, [0.0, 0.0, 0.0])
    assert AA._apply_op(x, "Rotate", -13.5, IM.BILINEAR, [0.0, 0.0, 0.0]).tolist() == [
        [[55, 63, 62, 92, 70, 39], [148, 121, 46, 82, 126, 170], [182, 219, 43, 57, 101, 145],
         [157, 201, 187, 33, 77, 80], [34, 93, 196, 125, 53, 30]],
        [[27, 104, 148, 168, 112, 32], [29, 80, 124, 168, 212, 156], [151, 56, 100, 143, 187, 231],
         [209, 91, 75, 119, 163, 140], [53, 71, 46, 95, 139, 61]],
        [[58, 190, 118, 18, 28, 21], [90, 166, 210, 56, 42, 86], [98, 142, 186, 200, 24, 61],
         [73, 117, 161, 197, 122, 21], [15, 51, 122, 181, 180, 33]]]
    # np.asarray(_apply_op(PIL.Image.fromarray(CARD.transpose(1, 2, 0)), "TranslateX", -2.7, NEAREST, 9))[..., 0]
    assert np.asarray(AA._apply_op(_pil(CARD), "TranslateX", -2.7, IM.NEAREST, 9))[..., 0].tolist() == [
        [85, 122, 159, 196, 9, 9], [51, 88, 125, 162, 9, 9], [17, 54, 91, 128, 9, 9], [239, 20, 57, 94, 9, 9],
        [205, 242, 23, 60, 9, 9]]


# ------------------------------------------------------------------ the fill each class hands the operations

@pytest.mark.parametrize("make", [lambda fill: T.AutoAugment(T.AutoAugmentPolicy.SVHN, fill=fill),
                                  lambda fill: T.RandAugment(num_ops=3, fill=fill),
                                  lambda fill: T.TrivialAugmentWide(fill=fill),
                                  lambda fill: T.AugMix(chain_depth=2, fill=fill)])
def test_fill_per_image_kind(monkeypatch, make):
    seen = []
    monkeypatch.setattr(AA, "_apply_op", lambda img, op, m, interpolation, fill: seen.append(fill) or img)
    flambeau.manual_seed(0)
    for _ in range(6):
        make(7)(_u8(3, 8, 8))
        make((1, 2.5, 3))(_u8(2, 3, 8, 8))
        make(None)(_u8(1, 8, 8))
    assert set(map(repr, seen)) == {"[7.0, 7.0, 7.0]", "[1.0, 2.5, 3.0]", "None"}
    seen.clear()
    pil = _pil(_u8(3, 8, 8).numpy())
    for _ in range(6):
        make(7)(pil)
    assert set(seen) == {7}                         # PIL images (and AugMix's tensor of one) take it as given


# ------------------------------------------------------------------ the random draws

def test_autoaugment_get_params_and_draws(op_log):
    policy_id, probs, signs = T.AutoAugment.get_params(25)
    assert isinstance(policy_id, int) and 0 <= policy_id < 25
    assert probs.shape == (2,) and probs.dtype == flambeau.float32 and signs.shape == (2,)
    assert signs.dtype == flambeau.int64 and set(signs.tolist()) <= {0, 1}
    t = T.AutoAugment(T.AutoAugmentPolicy.CIFAR10)
    space = t._augmentation_space(10, (5, 6))
    for seed in range(12):
        flambeau.manual_seed(seed)
        i = int(flambeau.randint(25, (1,)).item())
        probs, signs = flambeau.rand((2,)), flambeau.randint(2, (2,))
        after = _next_draw()
        expected = []
        for k, (op, p, magnitude_id) in enumerate(t.policies[i]):
            if probs[k].item() <= p:
                magnitude = 0.0 if magnitude_id is None else space[op][0][magnitude_id].item()
                expected.append((op, -magnitude if space[op][1] and signs[k].item() == 0 else magnitude))
        op_log.clear()
        flambeau.manual_seed(seed)
        t(_card())
        assert op_log == expected and _next_draw() == after, seed        # the same draws, and no others


def test_autoaugment_applies_the_chosen_steps(monkeypatch):
    x = _u8(3, 10, 10, seed=4)
    t = T.AutoAugment()                   # IMAGENET sub-policy 0: (Posterize, 0.4, bin 8), (Rotate, 0.6, bin 9)

    def forced(probs, signs):
        monkeypatch.setattr(T.AutoAugment, "get_params", staticmethod(
            lambda n: (0, flambeau.tensor(probs, dtype=flambeau.float32), flambeau.tensor(signs))))
        return t(x)

    # bin 8 of Posterize is 4 bits; bin 9 of Rotate 30 degrees, negated by a sign bit of 0
    _same(forced([0.0, 0.0], [0, 1]), TF.rotate(TF.posterize(x, 4), 30.0, IM.NEAREST))
    _same(forced([0.0, 0.0], [1, 0]), TF.rotate(TF.posterize(x, 4), -30.0, IM.NEAREST))
    _same(forced([0.5, 0.5], [1, 1]), TF.rotate(x, 30.0, IM.NEAREST))                 # 0.5 > 0.4: no posterize
    _same(forced([0.99, 0.61], [1, 1]), x)
    # a draw equal to float32(p) passes "probs[i] <= p", compared in float32 as torch does
    _same(forced([0.4, 0.6], [1, 1]), TF.rotate(TF.posterize(x, 4), 30.0, IM.NEAREST))


def _replay_rand_augment(num_ops, magnitude, space):
    out = []
    for _ in range(num_ops):
        op = RAND_ORDER[int(flambeau.randint(14, (1,)).item())]
        value = space[op][0][magnitude].item() if space[op][0].ndim else 0.0
        if space[op][1] and flambeau.randint(2, (1,)).item():
            value = -value
        out.append((op, value))
    return out


def test_randaugment_draws(op_log):
    t = T.RandAugment(num_ops=3, magnitude=13)
    space = t._augmentation_space(31, (5, 6))
    ops = set()
    for seed in range(15):
        flambeau.manual_seed(seed)
        expected, after = _replay_rand_augment(3, 13, space), _next_draw()
        op_log.clear()
        flambeau.manual_seed(seed)
        t(_card())
        assert op_log == expected and _next_draw() == after, seed
        ops.update(op for op, _ in op_log)
    assert len(ops) >= 10


def test_trivialaugment_draws(op_log):
    t = T.TrivialAugmentWide(num_magnitude_bins=11)
    space = t._augmentation_space(11)
    for seed in range(20):
        flambeau.manual_seed(seed)
        op = RAND_ORDER[int(flambeau.randint(14, (1,)).item())]
        value = 0.0
        if space[op][0].ndim:
            value = space[op][0][int(flambeau.randint(11, (1,)).item())].item()
        if space[op][1] and flambeau.randint(2, (1,)).item():
            value = -value
        after = _next_draw()
        op_log.clear()
        flambeau.manual_seed(seed)
        t(_card())
        assert op_log == [(op, value)] and _next_draw() == after, seed


def test_same_seed_same_output_and_batches_share_the_ops():
    x = _u8(2, 3, 12, 10, seed=5)
    for t in (T.AutoAugment(T.AutoAugmentPolicy.SVHN), T.RandAugment(), T.TrivialAugmentWide(),
              T.AugMix(chain_depth=2)):
        runs = []
        for seed in (3, 3, 4, 5, 6):
            flambeau.manual_seed(seed)
            runs.append(t(x).numpy())
        assert runs[0].shape == (2, 3, 12, 10) and runs[0].dtype == np.uint8
        np.testing.assert_array_equal(runs[0], runs[1])
        assert any(not np.array_equal(runs[0], r) for r in runs[2:])
        if not isinstance(t, T.AugMix):                  # one draw of operations for the whole batch
            flambeau.manual_seed(3)
            np.testing.assert_array_equal(runs[0][1], t(x[1]).numpy())


def test_pil_and_float_images():
    pil = _pil(CARD)
    for t in (T.AutoAugment(), T.RandAugment(), T.TrivialAugmentWide(), T.AugMix()):
        flambeau.manual_seed(1)
        out = t(pil)
        assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == (6, 5)
    grey = Image.fromarray(CARD[0])
    flambeau.manual_seed(1)
    assert T.AugMix()(grey).mode == "L"
    f = flambeau.rand(2, 3, 8, 8)
    flambeau.manual_seed(0)                              # TranslateY, Color: no uint8-only operation drawn
    out = T.RandAugment()(f)
    assert out.dtype == flambeau.float32 and 0.0 <= out.min().item() and out.max().item() <= 1.0


# ------------------------------------------------------------------ AugMix

class _FixedWeights(T.AugMix):
    """AugMix with the Dirichlet draws replaced by fixed weights (no use of the generator)."""

    def _sample_dirichlet(self, params):
        n, k = params.shape
        rows = np.arange(1, k + 1, dtype=np.float32)[None] * np.arange(1, n + 1, dtype=np.float32)[:, None] ** 2
        return flambeau.from_numpy(rows / rows.sum(1, keepdims=True))


def test_augmix_fixed_depth_draws_no_depth(op_log):
    t = _FixedWeights(severity=10, mixture_width=3, chain_depth=2, all_ops=False)
    space = t._augmentation_space(10, (5, 6))
    for seed in range(6):
        flambeau.manual_seed(seed)
        expected = []
        for _ in range(3 * 2):
            op = AUGMIX_ORDER[int(flambeau.randint(9, (1,)).item())]
            value = space[op][0][int(flambeau.randint(10, (1,)).item())].item() if space[op][0].ndim else 0.0
            if space[op][1] and flambeau.randint(2, (1,)).item():
                value = -value
            expected.append((op, value))
        after = _next_draw()
        op_log.clear()
        flambeau.manual_seed(seed)
        t(_card())
        assert op_log == expected and _next_draw() == after, seed


def test_augmix_draws_and_mixture(op_log):
    t = _FixedWeights(severity=4, mixture_width=2)
    x = _u8(3, 9, 9, seed=6)
    space = t._augmentation_space(10, (9, 9))
    for seed in range(8):
        flambeau.manual_seed(seed)
        chains = []
        for _ in range(2):
            depth = int(flambeau.randint(1, 4, (1,)).item())
            chain = []
            for _ in range(depth):
                op = AUGMIX_ORDER[int(flambeau.randint(13, (1,)).item())]
                value = space[op][0][int(flambeau.randint(4, (1,)).item())].item() if space[op][0].ndim else 0.0
                if space[op][1] and flambeau.randint(2, (1,)).item():
                    value = -value
                chain.append((op, value))
            chains.append(chain)
        after = _next_draw()
        op_log.clear()
        flambeau.manual_seed(seed)
        out = t(x)
        assert op_log == chains[0] + chains[1] and _next_draw() == after, seed
        # m = [1/3, 2/3] (original, chains); chain weights [1/3, 2/3] of the 2/3: the mix, truncated to uint8
        augs = []
        for chain in chains:
            aug = x
            for op, value in chain:
                aug = AA._apply_op(aug, op, value, IM.BILINEAR, None)
            augs.append(aug.numpy().astype(np.float32))
        m = np.float32([1 / 3, 2 / 3])
        mix = m[0] * x.numpy().astype(np.float32)
        mix += (m[0] * m[1]) * augs[0]
        mix += (m[1] * m[1]) * augs[1]
        np.testing.assert_array_equal(out.numpy(), mix.astype(np.uint8))


class _RowWeights(T.AugMix):
    """AugMix whose every image gets the fixed weights of row ``row`` of _FixedWeights' pattern."""

    def __init__(self, row, **kwargs):
        super().__init__(**kwargs)
        self.row = row

    def _sample_dirichlet(self, params):
        n, k = params.shape
        w = np.arange(1, k + 1, dtype=np.float32) ** (self.row + 1)
        return flambeau.from_numpy(np.tile(w / w.sum(), (n, 1)))


class _PerImageWeights(T.AugMix):
    def _sample_dirichlet(self, params):
        n, k = params.shape
        return flambeau.cat([_RowWeights(i)._sample_dirichlet(params[:1]) for i in range(n)])


def test_augmix_weights_per_image_of_the_first_dim():
    for shape in ((3, 3, 6, 6), (3, 2, 3, 6, 6)):             # (N, C, H, W); (N, 2, C, H, W): weights per N
        x = _u8(*shape, seed=7)
        flambeau.manual_seed(2)
        out = _PerImageWeights(mixture_width=2).forward(x).numpy()
        rows = []
        for i in range(3):
            flambeau.manual_seed(2)                             # the same chains for the whole batch
            rows.append(_RowWeights(i, mixture_width=2)(x).numpy())
            np.testing.assert_array_equal(out[i], rows[i][i])
        assert not np.array_equal(rows[0], rows[2])
    plane = _u8(6, 7, seed=8)                                # (H, W) images keep their shape
    assert T.AugMix()(plane).shape == (6, 7)


def test_arrays_ride_the_tensor_path():
    hwc = CARD.transpose(1, 2, 0).copy()
    for make in (T.RandAugment, T.TrivialAugmentWide, lambda: T.AugMix(fill=3)):
        for seed in range(3):
            flambeau.manual_seed(seed)
            out = make()(hwc)
            flambeau.manual_seed(seed)
            expected = make()(_card()).numpy().transpose(1, 2, 0)
            assert isinstance(out, np.ndarray) and out.shape == (5, 6, 3)
            np.testing.assert_array_equal(out, expected)


def test_augmix_pil_is_the_tensor_path():
    pil = _pil(CARD)
    for seed in range(3):
        flambeau.manual_seed(seed)
        via_pil = T.AugMix(all_ops=False)(pil)
        flambeau.manual_seed(seed)
        _same(via_pil, T.AugMix(all_ops=False)(_card()))


def test_sample_dirichlet():
    params = flambeau.tensor([1.0, 2.0, 3.0]).expand(4000, -1)
    flambeau.manual_seed(0)
    w = T.AugMix()._sample_dirichlet(params)
    assert w.shape == (4000, 3) and w.dtype == flambeau.float32
    a = w.numpy()
    assert (a > 0).all() and (a < 1).all()
    np.testing.assert_allclose(a.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(a.mean(0), [1 / 6, 2 / 6, 3 / 6], atol=0.015)       # alpha / sum(alpha)
    # Beta(0.3, 0.3) through the alpha < 1 branch: mean 1/2, variance ab / ((a + b)^2 (a + b + 1)) = 0.15625
    b = T.AugMix()._sample_dirichlet(flambeau.tensor([0.3, 0.3]).expand(4000, -1)).numpy()[:, 0]
    assert abs(b.mean() - 0.5) < 0.02 and abs(b.var() - 0.15625) < 0.01
    flambeau.manual_seed(9)
    first = T.AugMix()._sample_dirichlet(params[:5])
    flambeau.manual_seed(9)
    np.testing.assert_array_equal(first.numpy(), T.AugMix()._sample_dirichlet(params[:5]).numpy())
    w64 = T.AugMix()._sample_dirichlet(flambeau.tensor([[0.5, 4.0]], dtype=flambeau.float64))
    assert w64.dtype == flambeau.float64 and abs(w64.sum().item() - 1.0) < 1e-12
    # a zero concentration gives a zero gamma variate: weights clamped into (0, 1)
    zero = T.AugMix()._sample_dirichlet(flambeau.tensor([0.0, 1.0])).numpy()
    assert zero.tolist() == [np.finfo(np.float32).tiny, np.nextafter(np.float32(1), np.float32(0))]
    with pytest.raises(NotImplementedError, match="\"dirichlet\" not implemented for 'Long'"):
        T.AugMix()._sample_dirichlet(flambeau.tensor([1, 1]))


# ------------------------------------------------------------------ torchvision's draws, seed for seed

def test_seeded_literals_from_torchvision(op_log):
    _torch_stream()
    # torch.manual_seed(0); AutoAugment.get_params(25)
    flambeau.manual_seed(0)
    i, probs, signs = T.AutoAugment.get_params(25)
    assert (i, probs.tolist(), signs.tolist()) == (19, [0.7682217955589294, 0.08847743272781372], [0, 1])
    # torch.manual_seed(0); AugMix()._sample_dirichlet(torch.tensor([1.0, 1.0, 1.0]).expand(2, -1))
    flambeau.manual_seed(0)
    assert T.AugMix()._sample_dirichlet(flambeau.tensor([1.0, 1.0, 1.0]).expand(2, -1)).tolist() == [
        [0.8349001407623291, 0.13168619573116302, 0.033413659781217575],
        [0.07785498350858688, 0.347474068403244, 0.5746709704399109]]
    # torch.manual_seed(5); AugMix()._sample_dirichlet(torch.tensor([0.3, 0.3]).expand(3, -1))
    flambeau.manual_seed(5)
    assert T.AugMix()._sample_dirichlet(flambeau.tensor([0.3, 0.3]).expand(3, -1)).tolist() == [
        [0.03606565669178963, 0.9639343619346619], [0.7878011465072632, 0.212198868393898],
        [0.013563101179897785, 0.9864369034767151]]
    # float64 shows the float32 constants of torch's Gamma sampler and its in-order row sums:
    # torch.manual_seed(3); torch._sample_dirichlet(torch.tensor([[2.5, 0.7, 1.0, 4.0, 0.2]], dtype=torch.float64))
    flambeau.manual_seed(3)
    assert T.AugMix()._sample_dirichlet(flambeau.tensor([[2.5, 0.7, 1.0, 4.0, 0.2]], dtype=flambeau.float64)).tolist() \
        == [[0.4455528029974711, 0.14966033499842207, 0.04074090492069512, 0.36394982645465473, 9.613062875691534e-05]]
    # torch.manual_seed(4); torch._sample_dirichlet(torch.tensor([-0.5, 1.0, 2.0])): no error for alpha < 0
    flambeau.manual_seed(4)
    assert T.AugMix()._sample_dirichlet(flambeau.tensor([-0.5, 1.0, 2.0])).tolist() == \
        [0.3296527564525604, 0.25340035557746887, 0.4169468879699707]
    # the (op, magnitude) pairs torchvision applies: torch.manual_seed(seed); <transform>(torch.from_numpy(CARD))
    recorded = {
        (T.RandAugment, 0): [("TranslateY", -0.6797583103179932), ("Color", 0.26999998092651367)],
        (T.RandAugment, 1): [("Color", -0.26999998092651367), ("TranslateY", 0.6797583103179932)],
        (T.RandAugment, 2): [("ShearY", -0.09000000357627869), ("Solarize", 178.5)],
        (T.TrivialAugmentWide, 0): [("TranslateY", -32.0)],
        (T.TrivialAugmentWide, 1): [("Color", 0.824999988079071)],
        (T.TrivialAugmentWide, 2): [("ShearY", -0.6270000338554382)],
        (lambda: T.AutoAugment(T.AutoAugmentPolicy.SVHN), 1): [("Solarize", 198.3333282470703),
                                                               ("TranslateY", 1.7623363733291626)],
        (lambda: T.AutoAugment(T.AutoAugmentPolicy.SVHN), 2): [("ShearY", -0.1666666716337204), ("AutoContrast", 0.0)],
        (T.AugMix, 1): [("Posterize", 4.0), ("TranslateX", 0.2222222238779068), ("Solarize", 226.6666717529297),
                        ("ShearX", -0.0), ("TranslateY", -0.0), ("Color", 0.19999998807907104),
                        ("Brightness", -0.19999998807907104)],
    }
    for (make, seed), ops in recorded.items():
        op_log.clear()
        flambeau.manual_seed(seed)
        make()(_card())
        assert op_log == ops, (make, seed)
    # torch.manual_seed(0); RandAugment()(torch.from_numpy(CARD)).tolist()
    flambeau.manual_seed(0)
    assert T.RandAugment()(_card()).tolist() == [
        [[0, 29, 74, 111, 148, 225], [255, 0, 32, 77, 114, 151], [228, 255, 0, 35, 80, 117],
         [154, 231, 255, 1, 38, 83], [120, 157, 234, 255, 4, 41]],
        [[101, 138, 183, 220, 255, 9], [46, 104, 141, 186, 223, 255], [12, 49, 107, 144, 189, 226],
         [255, 15, 52, 110, 147, 192], [229, 255, 18, 55, 113, 150]],
        [[210, 247, 0, 4, 41, 119], [156, 213, 250, 0, 7, 44], [122, 159, 216, 253, 0, 10],
         [47, 125, 162, 219, 255, 0], [13, 50, 128, 165, 222, 255]]]
    # torch.manual_seed(0); AugMix()(torch.from_numpy(CARD)).tolist()
    flambeau.manual_seed(0)
    assert T.AugMix()(_card()).tolist() == [
        [[11, 47, 83, 119, 155, 190], [229, 14, 50, 87, 124, 160], [197, 232, 16, 53, 90, 127],
         [163, 200, 235, 20, 56, 93], [129, 166, 203, 237, 24, 59]],
        [[95, 132, 168, 204, 238, 26], [62, 99, 136, 172, 209, 241], [29, 65, 102, 139, 175, 212],
         [247, 32, 68, 105, 142, 178], [214, 249, 35, 71, 108, 144]],
        [[180, 215, 1, 37, 73, 108], [147, 184, 219, 4, 40, 77], [114, 150, 187, 222, 7, 44],
         [80, 117, 153, 190, 224, 11], [46, 83, 120, 156, 193, 224]]]


def test_docstring_examples():
    import doctest
    result = doctest.testmod(AA, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0
