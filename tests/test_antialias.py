"""interpolate(antialias=True) (bilinear, bicubic, lanczos), uint8 images, and the corners of plain
interpolation (dims of unchanged size, 2-d nearest doubling, empty sizes, dtypes) against torch."""
import numpy as np
import pytest

import flambeau
from _oracle import (assert_same, check_against_torch, gradcheck, need_oracle, need_torch, no_host_reads, on_device,
                     same_error)

torch = need_torch()


def _interp(**kw):
    return lambda lib, x: lib.nn.functional.interpolate(x, **kw)


# Every resampled dim changes size and the output is wider than one pixel: torch's CPU backward
# differs from its forward on dims it leaves unchanged (see test_aa_unchanged_dim), and its vertical
# pass misreads width-1 images.
AA_CASES = [
    {"scale_factor": 0.5},
    {"scale_factor": 0.3},
    {"scale_factor": (0.45, 0.7)},
    {"scale_factor": 2},
    {"scale_factor": (1.7, 0.4)},
    {"size": (3, 4)},
    {"size": (13, 5)},
    {"size": (2, 2)},
    {"scale_factor": 0.6, "recompute_scale_factor": True},
    {"size": (4, 3), "align_corners": False},
]
AA_IDS = [str(sorted(k.items())) for k in AA_CASES]


@pytest.mark.parametrize("kw", AA_CASES, ids=AA_IDS)
@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "lanczos"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_aa_values_and_grads(kw, mode, dtype, device):
    if "lanczos" in str(mode):
        need_oracle(2, 13, "interpolate's lanczos mode")
    check_against_torch(_interp(mode=mode, antialias=True, **kw), (2, 3, 9, 11), device=device, dtype=dtype,
                        rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw", [{"size": (3, 4)}, {"scale_factor": 0.4}, {"size": (12, 15)}])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_aa_align_corners(kw, mode, device):
    check_against_torch(_interp(mode=mode, antialias=True, align_corners=True, **kw), (1, 2, 9, 11),
                        device=device)


@pytest.mark.parametrize("mode,kw,shape", [("bilinear", {"scale_factor": 0.5}, (1, 2, 6, 8)),
                                           ("bicubic", {"size": (3, 7)}, (1, 1, 7, 4)),
                                           ("lanczos", {"scale_factor": (0.4, 1.5)}, (1, 1, 8, 4)),
                                           ("bicubic", {"size": (4, 3), "align_corners": True}, (1, 1, 7, 5))])
def test_aa_gradcheck(mode, kw, shape, device):
    gradcheck(_interp(mode=mode, antialias=True, **kw), shape, device=device)


def test_aa_second_order(device):
    """The backward is itself made of flambeau ops: double backward works (gradgradcheck)."""
    rng = np.random.default_rng(3)
    x = flambeau.tensor(rng.standard_normal((1, 1, 6, 7)), device=device, requires_grad=True)

    def first_grad(x):
        y = flambeau.nn.functional.interpolate(x, size=(3, 4), mode="bicubic", antialias=True)
        (g,) = flambeau.autograd.grad((y * y).sum(), x, create_graph=True)
        return g
    assert flambeau.autograd.gradcheck(first_grad, (x,))


def test_aa_node_names():
    x = flambeau.zeros(1, 1, 4, 4, requires_grad=True)
    for mode, name in [("bilinear", "UpsampleBilinear2DAaBackward0"), ("bicubic", "UpsampleBicubic2DAaBackward0"),
                       ("lanczos", "UpsampleLanczos2DAaBackward0")]:
        y = flambeau.nn.functional.interpolate(x, scale_factor=0.5, mode=mode, antialias=True)
        ref = torch.nn.functional.interpolate(torch.zeros(1, 1, 4, 4, requires_grad=True), scale_factor=0.5,
                                              mode=mode, antialias=True)
        assert type(y.grad_fn).__name__ == type(ref.grad_fn).__name__ == name


def test_aa_reads_no_device_values(device):
    x = flambeau.randn(2, 3, 9, 11, device=device)
    with no_host_reads(device):
        y = flambeau.nn.functional.interpolate(x, scale_factor=0.5, mode="bicubic", antialias=True)
    assert y.device.type == flambeau.device(device).type


def test_aa_unchanged_dim(device):
    """A dim whose size the scale factor leaves as it is (5 * 1.1 -> 5) is left untouched by torch's
    forward: the values equal torch's. Torch's CPU backward resamples that dim by 1 / 1.1 all the same,
    so its gradient is not the derivative of its forward; flambeau's is: it equals torch's gradient for
    the same map given by size (scale 1 on that dim), and passes gradcheck."""
    need_oracle(2, 13, "interpolate's lanczos mode")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1, 2, 5, 8))
    g = rng.standard_normal((1, 2, 5, 4))
    for mode in ("bilinear", "bicubic", "lanczos"):
        x = flambeau.tensor(a, device=device, requires_grad=True)
        y = flambeau.nn.functional.interpolate(x, scale_factor=(1.1, 0.5), mode=mode, antialias=True)
        y.backward(flambeau.tensor(g, device=device))
        xt = torch.tensor(a, requires_grad=True)
        yt = torch.nn.functional.interpolate(xt, scale_factor=(1.1, 0.5), mode=mode, antialias=True)
        assert_same(y, yt, device=device)
        yt_size = torch.nn.functional.interpolate(xt, size=(5, 4), mode=mode, antialias=True)
        assert_same(y, yt_size, device=device)
        yt_size.backward(torch.tensor(g))
        assert_same(x.grad, xt.grad, device=device)
        gradcheck(_interp(scale_factor=(1.1, 0.5), mode=mode, antialias=True), (1, 1, 5, 8), device=device)
    # both dims unchanged: a copy, still recorded under torch's node
    x = flambeau.tensor(a, device=device, requires_grad=True)
    y = flambeau.nn.functional.interpolate(x, size=(5, 8), mode="bilinear", antialias=True)
    assert_same(y, torch.tensor(a), device=device)
    assert y.data_ptr() != x.data_ptr() and type(y.grad_fn).__name__ == "UpsampleBilinear2DAaBackward0"


def test_aa_empty_batch(device):
    check_against_torch(_interp(size=(2, 3), mode="bilinear", antialias=True), (0, 2, 5, 6), device=device)


# -- uint8 images --------------------------------------------------------------------------------
U8_CASES = [("bilinear", True, {"scale_factor": 0.4}), ("bicubic", True, {"size": (5, 9)}),
            ("lanczos", True, {"scale_factor": (0.45, 1.6)}), ("bilinear", True, {"size": (17, 4)}),
            ("bicubic", True, {"size": (4, 6), "align_corners": True}), ("bilinear", False, {"size": (13, 6)}),
            ("bilinear", False, {"scale_factor": 0.6, "align_corners": True}), ("bicubic", False, {"size": (5, 4)}),
            ("bicubic", False, {"size": (16, 25)}), ("bicubic", False, {"size": (15, 19), "align_corners": True}),
            ("bicubic", False, {"scale_factor": (2.5, 0.7)})]


@pytest.mark.parametrize("mode,antialias,kw", U8_CASES, ids=[f"{m}-{a}-{sorted(k.items())}" for m, a, k in U8_CASES])
def test_uint8_images(mode, antialias, kw, device):
    if "lanczos" in str(mode):
        need_oracle(2, 13, "interpolate's lanczos mode")
    """uint8 resampling as torch's: fixed-point weights, each pass rounded and clamped (bicubic
    overshoots), width first. Values must be equal."""
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (2, 3, 8, 11)).astype(np.uint8)
    fn = _interp(mode=mode, antialias=antialias, **kw)
    assert_same(fn(on_device(flambeau, device), flambeau.tensor(a, device=device)), fn(torch, torch.tensor(a)),
                device=device)


def test_uint8_random_sizes():
    """Many sizes and scales at once (values equal to torch's, to the last bit)."""
    rng = np.random.default_rng(11)
    for trial in range(60):
        mode = ("bilinear", "bicubic", "lanczos")[trial % 3]
        antialias = mode == "lanczos" or bool(trial % 2)
        align = mode != "lanczos" and trial % 5 == 0
        a = rng.integers(0, 256, (1, 3) + tuple(int(n) for n in rng.integers(2, 24, 2))).astype(np.uint8)
        size = tuple(int(n) for n in rng.integers(2, 30, 2))
        fn = _interp(size=size, mode=mode, antialias=antialias, align_corners=align)
        assert_same(fn(flambeau, flambeau.tensor(a)), fn(torch, torch.tensor(a)))


# -- plain interpolation: torch's corners -------------------------------------------------------
@pytest.mark.parametrize("mode,shape,sf", [("linear", (2, 3, 5), 1.1), ("bilinear", (2, 3, 5, 6), (1.1, 2.0)),
                                           ("bilinear", (2, 3, 5, 6), (0.5, 1.1)),
                                           ("trilinear", (1, 2, 5, 6, 4), (1.1, 2.0, 1.2)),
                                           ("nearest", (2, 3, 5, 6), (1.1, 0.7)),
                                           ("bicubic", (2, 3, 5, 6), (1.1, 2.0))])
def test_unchanged_dim(mode, shape, sf, device):
    """torch's separable kernels (the linear family, 2-d nearest) copy a dim whose size the scale
    factor keeps; bicubic resamples it by the factor."""
    check_against_torch(_interp(scale_factor=sf, mode=mode), shape, device=device)


@pytest.mark.parametrize("sf", [2.08, (2.3, 1.7), (1.3, 2.2), (0.6, 2.49)])
def test_nearest_2d_doubling(sf, device):
    """torch's 2-d nearest repeats each pixel twice when a dim doubles, whatever the exact factor."""
    check_against_torch(_interp(scale_factor=sf), (2, 3, 4, 5), device=device)


@pytest.mark.parametrize("mode,shape,kw", [("bilinear", (1, 1, 4, 4), {"size": 0}),
                                           ("bicubic", (1, 1, 4, 4), {"scale_factor": 0.1}),
                                           ("nearest", (1, 1, 0, 4), {"size": 3}),
                                           ("linear", (1, 1, 4), {"size": 0}),
                                           ("trilinear", (1, 1, 4, 4, 4), {"size": (2, 0, 2)}),
                                           ("nearest-exact", (1, 1, 4, 4, 4), {"size": 0}),
                                           ("bilinear", (1, 1, 4, 4), {"size": (0, 2), "antialias": True}),
                                           ("lanczos", (1, 1, 4, 0), {"size": 2, "antialias": True})])
def test_empty_sizes_error(mode, shape, kw, device):
    if "lanczos" in str(mode):
        need_oracle(2, 13, "interpolate's lanczos mode")
    same_error(lambda lib: lib.nn.functional.interpolate(lib.zeros(*shape), mode=mode, **kw), device=device)


def test_area_allows_empty_output():
    check_against_torch(_interp(size=(0, 2), mode="area"), (1, 1, 4, 4), grad=False)


ERRORS = [
    ("nearest_aa", (1, 1, 4, 4), {"scale_factor": 0.5, "antialias": True}),
    ("linear_aa", (1, 1, 4), {"scale_factor": 0.5, "mode": "linear", "antialias": True}),
    ("area_aa", (1, 1, 4, 4), {"size": 2, "mode": "area", "antialias": True}),
    ("trilinear_aa", (1, 1, 4, 4, 4), {"size": 2, "mode": "trilinear", "antialias": True}),
    ("bilinear_aa_3d", (1, 1, 4), {"size": 2, "mode": "bilinear", "antialias": True}),
    ("bicubic_aa_5d", (1, 1, 4, 4, 4), {"size": 2, "mode": "bicubic", "antialias": True}),
    ("lanczos_no_aa", (1, 1, 4, 4), {"size": 2, "mode": "lanczos"}),
    ("lanczos_align", (1, 1, 4, 4), {"size": 2, "mode": "lanczos", "antialias": True, "align_corners": True}),
    ("lanczos_3d", (1, 1, 4), {"size": 2, "mode": "lanczos"}),
    ("lanczos_5d", (1, 1, 4, 4, 4), {"size": 2, "mode": "lanczos"}),
    ("unknown_mode", (1, 1, 4, 4), {"size": 2, "mode": "cubic"}),
    ("rank_2", (4, 4), {"size": 2}),
    ("recompute_with_size", (1, 1, 4, 4), {"size": 2, "mode": "bilinear", "recompute_scale_factor": True}),
    ("float_size", (1, 1, 4, 4), {"size": (2.0, 3), "mode": "bilinear"}),
    ("nearest_align", (1, 1, 4, 4), {"size": 2, "align_corners": False}),
]


@pytest.mark.parametrize("name,shape,kw", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, shape, kw, device):
    need_oracle(2, 13, "interpolate's checks and messages (lanczos among the modes)")
    same_error(lambda lib: lib.nn.functional.interpolate(lib.zeros(*shape), **kw), device=device)


@pytest.mark.parametrize("dtype,mode,shape,kw", [
    ("float16", "bilinear", (1, 1, 4, 4), {"antialias": True}),
    ("float16", "lanczos", (1, 1, 4, 4), {"antialias": True}),
    ("int64", "bicubic", (1, 1, 4, 4), {"antialias": True}),
    ("int32", "bilinear", (1, 2, 4, 4), {}),
    ("int64", "bicubic", (1, 2, 4, 4), {}),
    ("uint8", "linear", (1, 2, 4), {}),
    ("uint8", "trilinear", (1, 2, 4, 4, 4), {}),
    ("int8", "nearest", (1, 2, 4), {}),
    ("int16", "nearest", (1, 2, 4, 4), {}),
    ("bool", "nearest-exact", (1, 2, 4, 4, 4), {}),
])
def test_dtype_errors(dtype, mode, shape, kw, device):
    if "lanczos" in str(mode):
        need_oracle(2, 13, "interpolate's lanczos mode")
    same_error(lambda lib: lib.nn.functional.interpolate(lib.zeros(*shape, dtype=getattr(lib, dtype)), size=2,
                                                         mode=mode, **kw), device=device)


@pytest.mark.parametrize("mode,shape", [("nearest", (1, 2, 5, 4)), ("nearest-exact", (1, 2, 5)),
                                        ("nearest", (1, 2, 3, 4, 5))])
def test_uint8_nearest(mode, shape, device):
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, shape).astype(np.uint8)
    fn = _interp(scale_factor=1.7, mode=mode)
    assert_same(fn(on_device(flambeau, device), flambeau.tensor(a, device=device)), fn(torch, torch.tensor(a)),
                device=device)
