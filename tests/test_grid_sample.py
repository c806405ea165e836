"""F.grid_sample and F.affine_grid against torch: values and gradients over the modes, the padding modes and
align_corners, 4-D and 5-D, with grids reaching outside [-1, 1], on cpu and cuda."""
import itertools
import warnings

import numpy as np
import pytest
import torch

import flambeau
from _oracle import assert_same, check_against_torch, need_oracle, no_host_reads, on_device

PADDINGS = ("zeros", "border", "reflection")
CASES_2D = list(itertools.product(("bilinear", "nearest", "bicubic"), PADDINGS, (False, True)))
CASES_3D = list(itertools.product(("bilinear", "nearest"), PADDINGS, (False, True)))


def sampler(mode, padding, align, spread=1.7):
    """fn(lib, x, g) for check_against_torch: a grid from standard normals, spread to reach past the borders
    (beyond one reflection)."""
    return lambda lib, x, g: lib.nn.functional.grid_sample(x, g * spread, mode, padding, align)


def away_from_kinks(rng, shape, sizes, align):
    """Grid coordinates whose pixel coordinates (per axis: x is the last size) lie 0.2 to 0.3 away from the
    integers and half-integers, where the sampling or the clipping and reflection have kinks; some lie up to
    3 pixels outside the input."""
    out = np.empty(shape)
    for comp, size in enumerate(reversed(sizes)):
        k = rng.integers(-3, size + 3, shape[:-1])
        f = rng.uniform(0.2, 0.3, shape[:-1]) + 0.5 * rng.integers(0, 2, shape[:-1])
        s = k + f
        out[..., comp] = s / ((size - 1) / 2) - 1 if align else (2 * s + 1) / size - 1
    return out


def both(fn, *arrays, device="cpu", requires_grad=True):
    """fn run on flambeau (on device) and torch with the same float64 inputs; returns (ours, ref, inputs)."""
    ours = [flambeau.tensor(a, device=device, requires_grad=requires_grad) for a in arrays]
    ref = [torch.tensor(a, requires_grad=requires_grad) for a in arrays]
    return fn(on_device(flambeau, device), *ours), fn(torch, *ref), ours, ref


# -- values and gradients ------------------------------------------------------------------------
@pytest.mark.parametrize("mode,padding,align", CASES_2D)
def test_grid_sample_2d(device, mode, padding, align):
    check_against_torch(sampler(mode, padding, align), (2, 3, 5, 6), (2, 4, 7, 2), device=device)


@pytest.mark.parametrize("mode,padding,align", CASES_3D)
def test_grid_sample_3d(device, mode, padding, align):
    check_against_torch(sampler(mode, padding, align), (2, 2, 3, 4, 5), (2, 3, 2, 4, 3), device=device)


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_grid_sample_float32(device, mode):
    for padding, align in itertools.product(PADDINGS, (False, True)):
        check_against_torch(sampler(mode, padding, align), (2, 3, 5, 6), (2, 4, 3, 2), device=device,
                            dtype="float32", rtol=1e-4, atol=1e-5)
        if mode != "bicubic":
            check_against_torch(sampler(mode, padding, align), (1, 2, 3, 4, 5), (1, 3, 2, 4, 3), device=device,
                                dtype="float32", rtol=1e-4, atol=1e-5)


def test_grid_sample_float16(device):
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((2, 3, 5, 6)).astype(np.float16), rng.uniform(-1.5, 1.5, (2, 4, 3, 2)).astype(np.float16)
    for mode, padding, align in CASES_2D:
        ours = flambeau.nn.functional.grid_sample(flambeau.tensor(x, device=device), flambeau.tensor(g, device=device),
                                                  mode, padding, align)
        ref = torch.nn.functional.grid_sample(torch.tensor(x), torch.tensor(g), mode, padding, align)
        assert_same(ours, ref, rtol=1e-2, atol=1e-2, device=device)


def test_unit_sizes(device):
    # a spatial size of 1: with align_corners, every point reads pixel 0 and the grid has no gradient
    for (mode, padding, align), shape in itertools.product(CASES_2D, [(1, 2, 1, 4), (1, 2, 3, 1)]):
        check_against_torch(sampler(mode, padding, align), shape, (1, 3, 2, 2), device=device)
    for mode, padding, align in CASES_3D:
        check_against_torch(sampler(mode, padding, align), (1, 1, 1, 2, 1), (1, 2, 2, 1, 3), device=device)


def test_empty_and_strided(device):
    for shape_x, shape_g in [((0, 2, 3, 4), (0, 3, 2, 2)), ((2, 0, 3, 4), (2, 3, 2, 2)), ((2, 3, 3, 4), (2, 0, 2, 2)),
                             ((1, 2, 2, 3, 4), (1, 2, 0, 1, 3))]:
        check_against_torch(sampler("bilinear", "zeros", False), shape_x, shape_g, device=device)
    # transposed (non-contiguous) input and grid
    check_against_torch(lambda lib, x, g: lib.nn.functional.grid_sample(
        x.transpose(2, 3), g.transpose(1, 2) * 1.3, "bicubic", "reflection", True), (2, 3, 6, 5), (2, 7, 4, 2),
        device=device)


def test_non_finite_grid_2d(device):
    # PyTorch's CPU kernel: NaN clips to the first pixel, inf to the last; with zeros padding NaN reads NaN
    # for bilinear and bicubic (its weights are NaN) and 0 for nearest
    x = np.arange(1.0, 13.0).reshape(1, 1, 3, 4)
    g = np.array([[[[np.nan, 0.0], [np.inf, 0.0], [-np.inf, 0.0], [0.3, np.nan], [1e30, 0.0], [-1e30, 0.5],
                    [5.5, -7.25]]]])
    for dtype, (mode, padding, align) in itertools.product((np.float32, np.float64), CASES_2D):
        ours, ref, _, _ = both(lambda lib, x, g: lib.nn.functional.grid_sample(x, g, mode, padding, align),
                               x.astype(dtype), g.astype(dtype), device=device, requires_grad=False)
        assert_same(ours, ref, device=device)


def test_gradcheck_away_from_kinks(device):
    rng = np.random.default_rng(1)
    cases = ([(c, (1, 2, 3, 4), (1, 3, 2, 2)) for c in CASES_2D] +
             [(c, (1, 1, 2, 3, 4), (1, 2, 2, 1, 3)) for c in CASES_3D])
    # finite differences write the input element by element: on (emulated) cuda a sample of the cases
    for (mode, padding, align), shape_x, shape_g in cases if device == "cpu" else cases[::5]:
        x = flambeau.tensor(rng.standard_normal(shape_x), device=device, requires_grad=True)
        g = flambeau.tensor(away_from_kinks(rng, shape_g, shape_x[2:], align), device=device, requires_grad=True)
        fn = lambda x, g: flambeau.nn.functional.grid_sample(x, g, mode, padding, align)  # noqa: E731
        assert flambeau.autograd.gradcheck(fn, (x, g)), (mode, padding, align)


def test_second_derivatives(device):
    rng = np.random.default_rng(2)
    cases = [("bilinear", "reflection", False), ("bicubic", "border", True), ("bicubic", "zeros", False),
             ("bilinear", "zeros", True)]
    for mode, padding, align in cases if device == "cpu" else cases[1:3]:
        x = flambeau.tensor(rng.standard_normal((1, 1, 3, 3)), device=device, requires_grad=True)
        g = flambeau.tensor(away_from_kinks(rng, (1, 2, 1, 2), (3, 3), align), device=device, requires_grad=True)
        fn = lambda x, g: flambeau.nn.functional.grid_sample(x, g, mode, padding, align)  # noqa: E731
        assert flambeau.autograd.gradgradcheck(fn, (x, g)), (mode, padding, align)
    x = flambeau.tensor(rng.standard_normal((1, 1, 2, 2, 3)), device=device, requires_grad=True)
    g = flambeau.tensor(away_from_kinks(rng, (1, 1, 1, 2, 3), (2, 2, 3), True), device=device, requires_grad=True)
    assert flambeau.autograd.gradgradcheck(
        lambda x, g: flambeau.nn.functional.grid_sample(x, g, "bilinear", "border", True), (x, g))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_double_backward_matches_torch(device, mode):
    need_oracle(2, 13, "grid_sample's double backward")
    rng = np.random.default_rng(3)
    x, g = rng.standard_normal((2, 3, 4, 5)), rng.uniform(-3.3, 3.3, (2, 3, 2, 2))
    go, u, v = rng.standard_normal((2, 3, 3, 2)), rng.standard_normal(x.shape), rng.standard_normal(g.shape)

    def fn(lib, x, g, go, u, v):
        out = lib.nn.functional.grid_sample(x, g, mode, "reflection", False)
        gx, gg = lib.autograd.grad(out, (x, g), go, create_graph=True)
        return lib.autograd.grad((gx * u).sum() + (gg * v).sum(), (go, x, g))
    ours, ref, _, _ = both(fn, x, g, go, u, v, device=device)
    assert_same(ours, ref, device=device)


def test_grad_fn_names_and_partial_grads(device):
    F = flambeau.nn.functional
    x = flambeau.randn(1, 2, 3, 4, device=device, requires_grad=True)
    g = flambeau.rand(1, 2, 2, 2, device=device) * 2 - 1
    assert F.grid_sample(x, g, align_corners=False).grad_fn.name() == "GridSampler2DBackward0"
    x3 = flambeau.randn(1, 2, 3, 4, 5, device=device)
    g3 = (flambeau.rand(1, 2, 2, 2, 3, device=device) * 2 - 1).requires_grad_()
    assert F.grid_sample(x3, g3, align_corners=True).grad_fn.name() == "GridSampler3DBackward0"
    assert F.grid_sample(x.detach(), g, align_corners=False).grad_fn is None
    # only the input, or only the grid, requires grad
    for mode in ("bilinear", "nearest", "bicubic"):
        for fn in (lambda lib, x, g: lib.nn.functional.grid_sample(x, g.detach() * 1.4, mode, "border", False),
                   lambda lib, x, g: lib.nn.functional.grid_sample(x.detach(), g * 1.4, mode, "border", False)):
            check_against_torch(fn, (2, 3, 4, 5), (2, 3, 2, 2), device=device)


def test_default_align_corners_warns(device):
    F = flambeau.nn.functional
    x, g = flambeau.randn(1, 1, 3, 3, device=device), flambeau.rand(1, 2, 2, 2, device=device) * 2 - 1
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        out = F.grid_sample(x, g)
    assert_same(out, torch.nn.functional.grid_sample(torch.tensor(x.cpu().numpy()), torch.tensor(g.cpu().numpy()),
                                                     align_corners=False), device=device)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(flambeau.eye(2, 3, device=device)[None], (1, 1, 2, 2))


def test_no_host_reads(device):
    F = flambeau.nn.functional
    theta = (flambeau.eye(2, 3, device=device) + 0.1 * flambeau.randn(2, 3, device=device))[None].requires_grad_()
    x = flambeau.randn(1, 2, 5, 6, device=device, requires_grad=True)
    x3 = flambeau.randn(1, 2, 3, 4, 5, device=device, requires_grad=True)
    g3 = (flambeau.rand(1, 2, 2, 2, 3, device=device) * 3 - 1.5).requires_grad_()
    with no_host_reads(device):
        for mode, padding, align in CASES_2D:
            grid = F.affine_grid(theta * 1.5, (1, 2, 4, 3), align_corners=align)
            out = F.grid_sample(x, grid, mode, padding, align)
            assert out.device.type == flambeau.device(device).type
            if mode == "nearest":
                out.sum().backward()
                continue
            gx, gg = flambeau.autograd.grad((out * out).sum(), (x, theta), create_graph=True)
            (gx.sum() + gg.sum()).backward()
        for mode, padding, align in CASES_3D:
            F.grid_sample(x3, g3, mode, padding, align).sum().backward()


# -- errors --------------------------------------------------------------------------------------
def same_error(fn, *arrays, device="cpu"):
    """fn raises the same exception, with the same message, on torch and on flambeau."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as ref:
            fn(torch, *[torch.tensor(a) for a in arrays])
        with pytest.raises(Exception) as ours:
            fn(on_device(flambeau, device), *[flambeau.tensor(a, device=device) for a in arrays])
    assert ours.type is ref.type, (ours.value, ref.value)
    assert str(ours.value) == str(ref.value)


def test_grid_sample_errors(device):
    def gs(**kw):
        return lambda lib, x, g: lib.nn.functional.grid_sample(x, g, **kw)
    x, g = np.zeros((2, 3, 4, 5), np.float32), np.zeros((2, 6, 7, 2), np.float32)
    x3, g3 = np.zeros((2, 3, 4, 5, 6), np.float32), np.zeros((2, 6, 7, 1, 3), np.float32)
    same_error(gs(mode="area", align_corners=False), x, g, device=device)
    same_error(gs(padding_mode="circular", align_corners=False), x, g, device=device)
    same_error(gs(align_corners=1), x, g, device=device)
    same_error(gs(align_corners=False), x, g.astype(np.float64), device=device)
    same_error(gs(align_corners=False), x.astype(np.float64), g, device=device)
    same_error(gs(align_corners=False), x.astype(np.int32), g, device=device)
    same_error(gs(align_corners=False), x3.astype(np.int64), g3, device=device)
    same_error(gs(align_corners=False), x.astype(np.complex64), g.astype(np.complex64), device=device)
    same_error(gs(align_corners=False), x[0], g, device=device)
    same_error(gs(align_corners=False), x, g[:1], device=device)
    same_error(gs(align_corners=False), x, g[..., :1], device=device)
    same_error(gs(align_corners=False), x, g[:, :, :, None], device=device)
    same_error(gs(align_corners=False), x[..., :0], g, device=device)
    same_error(gs(align_corners=False), x3, g3[..., :2], device=device)
    same_error(gs(align_corners=False), x3, g3[:, :, :, 0, :2], device=device)
    same_error(gs(mode="bicubic", align_corners=False), x3, g3, device=device)
    same_error(gs(align_corners=False), np.zeros(()), np.zeros(()), device=device)
    same_error(lambda lib, x, g: lib.nn.functional.grid_sample(x, g.numpy(), align_corners=False), x, g)
    if device != "cpu":
        with pytest.raises(RuntimeError, match="cpu"):
            flambeau.nn.functional.grid_sample(flambeau.tensor(x, device=device), flambeau.tensor(g),
                                               align_corners=False)


def test_affine_grid_errors(device):
    def ag(size, align=False):
        return lambda lib, theta: lib.nn.functional.affine_grid(theta, size, align)
    theta = np.zeros((2, 2, 3), np.float32)
    same_error(ag((2, 3, 4)), theta, device=device)
    same_error(ag([2, 3, 4, 5, 6]), theta, device=device)
    same_error(ag((2, 3, 4, 5)), theta[0], device=device)
    same_error(ag((2, 3, 4, 5)), theta.astype(np.int64), device=device)
    same_error(ag((2, 3, 4, 5)), theta.astype(np.complex64), device=device)
    same_error(ag((3, 3, 4, 5)), theta, device=device)
    same_error(ag([2, 3, 0, 5]), theta, device=device)
    same_error(ag([2, 3, 4, -5], True), theta, device=device)
    same_error(ag((3, 3, 1, 5), True), theta, device=device)
    same_error(ag([2, 3, 4, 5, 6]), np.zeros((2, 3, 3), np.float32), device=device)


# -- affine_grid ---------------------------------------------------------------------------------
@pytest.mark.parametrize("align", [False, True])
def test_affine_grid(device, align):
    for size in [(2, 3, 4, 5), (2, 1, 1, 5), (2, 1, 6, 1), (2, 1, 1, 1)]:
        check_against_torch(lambda lib, th: lib.nn.functional.affine_grid(th, size, align), (2, 2, 3),
                            device=device)
    for size in [(2, 3, 2, 3, 4), (2, 1, 1, 3, 2)]:
        check_against_torch(lambda lib, th: lib.nn.functional.affine_grid(th, list(size), align), (2, 3, 4),
                            device=device)
    check_against_torch(lambda lib, th: lib.nn.functional.affine_grid(th, torch.Size((2, 3, 7, 5)) if lib is torch
                                                                      else flambeau.Size((2, 3, 7, 5)), align),
                        (2, 2, 3), device=device, dtype="float32", rtol=1e-6, atol=1e-6)
    check_against_torch(lambda lib, th: lib.nn.functional.affine_grid(th, (1, 2, 3, 4, 5), align), (1, 3, 4),
                        device=device, dtype="float32", rtol=1e-6, atol=1e-6)
    theta = flambeau.randn(2, 2, 3, device=device, requires_grad=True)
    assert flambeau.nn.functional.affine_grid(theta, (2, 1, 3, 3), align).grad_fn.name() == \
        "AffineGridGeneratorBackward0"
    assert flambeau.autograd.gradgradcheck(lambda th: flambeau.nn.functional.affine_grid(th, (2, 1, 3, 2), align),
                                           (theta.double().detach().requires_grad_(),))


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_spatial_transformer(device, mode):
    # affine_grid then grid_sample: gradients flow to theta through the grid
    def stn(lib, x, theta):
        grid = lib.nn.functional.affine_grid(theta * 0.8, (2, 3, 6, 5), align_corners=False)
        return lib.nn.functional.grid_sample(x, grid, mode, "border", False)
    check_against_torch(stn, (2, 3, 4, 7), (2, 2, 3), device=device)

    def stn3d(lib, x, theta):
        grid = lib.nn.functional.affine_grid(theta, (1, 2, 3, 4, 2), align_corners=True)
        return lib.nn.functional.grid_sample(x, grid, "nearest" if mode == "nearest" else "bilinear", "zeros", True)
    check_against_torch(stn3d, (1, 2, 3, 3, 4), (1, 3, 4), device=device)
