"""Convolutions against PyTorch: values, input/weight/bias gradients, double backward, errors."""
import numpy as np
import pytest

import flambeau
from _oracle import assert_same, check_against_torch, gradcheck, need_torch

torch = need_torch()


def F(lib):
    return lib.nn.functional


CONV2D = [
    # (input, weight, bias, kwargs)
    ((2, 3, 8, 8), (4, 3, 3, 3), (4,), {}),
    ((2, 3, 8, 9), (4, 3, 3, 2), (4,), dict(stride=2, padding=1)),
    ((3, 4, 9, 9), (6, 2, 3, 3), (6,), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)),
    ((2, 3, 10, 11), (4, 3, 4, 3), (4,), dict(padding="same", dilation=2)),      # asymmetric 'same'
    ((2, 3, 7, 7), (5, 3, 2, 2), None, dict(padding="same")),
    ((2, 3, 7, 7), (5, 3, 3, 3), (5,), dict(padding="valid")),
    ((1, 3, 20, 20), (6, 1, 3, 3), (6,), dict(groups=3)),                        # depthwise, large plane
    ((2, 6, 18, 17), (6, 2, 3, 3), (6,), dict(groups=3, stride=(1, 2))),       # per-sample layout
    ((3, 4, 6, 6), (8, 4, 1, 1), (8,), {}),                                     # 1x1
    ((3, 2, 5, 5), (3, 2, 5, 5), (3,), {}),                                     # kernel == input
    ((3, 2, 9, 9), (4, 2, 3, 3), (4,), dict(stride=3)),                         # kernel == stride
    ((2, 3, 6, 6), (4, 3, 3, 3), (4,), dict(stride=2, padding=2, dilation=2)),
    ((6, 5, 5), (4, 6, 3, 3), (4,), dict(padding=1)),                           # unbatched
]


@pytest.mark.parametrize("xs, ws, bs, kw", CONV2D)
def test_conv2d_matches_torch(device, xs, ws, bs, kw):
    shapes = (xs, ws) + ((bs,) if bs else ())
    check_against_torch(lambda lib, x, w, *b: F(lib).conv2d(x, w, *b, **kw), *shapes, device=device)


def test_conv2d_positional_and_top_level(device):
    check_against_torch(lambda lib, x, w, b: lib.conv2d(x, w, b, 2, 1, 1, 1), (2, 3, 7, 7), (4, 3, 3, 3), (4,),
                        device=device)


def test_conv2d_non_contiguous_input_and_weight(device):
    def fn(lib, x, w):
        return F(lib).conv2d(x.transpose(2, 3), w.permute(1, 0, 2, 3), padding=1)
    check_against_torch(fn, (2, 3, 7, 6), (3, 4, 3, 3), device=device)
    check_against_torch(lambda lib, x, w: F(lib).conv2d(x[:, ::2, 1:, ::2], w), (2, 6, 9, 9), (4, 3, 3, 3),
                        device=device)


def test_conv2d_float32_matches_torch(device):
    out = check_against_torch(lambda lib, x, w, b: F(lib).conv2d(x, w, b, padding=1), (4, 3, 9, 9), (5, 3, 3, 3),
                              (5,), device=device, dtype="float32", rtol=1e-4, atol=1e-4)
    assert out.dtype == flambeau.float32


def test_conv2d_lecture_shapes(device):
    """The lecture's two layers (large output plane, then small) in float32."""
    check_against_torch(lambda lib, x, w, b: F(lib).conv2d(x, w, b), (6, 1, 28, 28), (32, 1, 5, 5), (32,),
                        device=device, dtype="float32", rtol=1e-4, atol=1e-4)
    check_against_torch(lambda lib, x, w, b: F(lib).conv2d(x, w, b), (6, 32, 8, 8), (64, 32, 5, 5), (64,),
                        device=device, dtype="float32", rtol=1e-4, atol=1e-3)


CONV1D = [
    ((2, 3, 30), (4, 3, 3), (4,), dict(stride=2, padding=1)),
    ((2, 4, 11), (6, 2, 4), (6,), dict(groups=2, dilation=2, padding="same")),
    ((4, 12), (5, 4, 3), None, {}),                                             # unbatched
]


@pytest.mark.parametrize("xs, ws, bs, kw", CONV1D)
def test_conv1d_matches_torch(device, xs, ws, bs, kw):
    shapes = (xs, ws) + ((bs,) if bs else ())
    check_against_torch(lambda lib, x, w, *b: F(lib).conv1d(x, w, *b, **kw), *shapes, device=device)


CONV_T2D = [
    ((2, 4, 5, 5), (4, 3, 3, 3), (3,), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 5, 6), (4, 3, 3, 3), (6,), dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2,
                                             dilation=(1, 2))),
    ((2, 4, 18, 18), (4, 3, 3, 3), None, {}),
    ((4, 3, 3), (4, 2, 2, 2), (2,), dict(stride=2)),                            # unbatched
]


@pytest.mark.parametrize("xs, ws, bs, kw", CONV_T2D)
def test_conv_transpose2d_matches_torch(device, xs, ws, bs, kw):
    shapes = (xs, ws) + ((bs,) if bs else ())
    check_against_torch(lambda lib, x, w, *b: F(lib).conv_transpose2d(x, w, *b, **kw), *shapes, device=device)


def test_conv_transpose1d_matches_torch(device):
    check_against_torch(lambda lib, x, w, b: F(lib).conv_transpose1d(x, w, b, stride=3, padding=1,
                                                                     output_padding=2),
                        (2, 4, 5), (4, 3, 3), (3,), device=device)


def test_unfold_fold_match_torch(device):
    kw = dict(kernel_size=(2, 3), padding=1, stride=2, dilation=(1, 2))
    check_against_torch(lambda lib, x: F(lib).unfold(x, **kw), (2, 3, 7, 8), device=device)
    check_against_torch(lambda lib, x: F(lib).fold(x, (7, 8), **kw), (2, 18, 12), device=device)
    check_against_torch(lambda lib, x: F(lib).unfold(x, 3), (2, 6, 6), device=device)           # unbatched
    check_against_torch(lambda lib, x: F(lib).fold(x, (4, 4), 2), (12, 9), device=device)


def test_conv_gradcheck(device):
    gradcheck(lambda lib, x, w, b: F(lib).conv2d(x, w, b, stride=2, padding=1, groups=2),
              (1, 4, 5, 5), (2, 2, 3, 3), (2,), device=device)
    gradcheck(lambda lib, x, w: F(lib).conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
              (1, 2, 3, 3), (2, 3, 3, 3), device=device)


@pytest.mark.parametrize("op, xs, ws, kw", [
    ("conv2d", (2, 2, 6, 6), (3, 2, 3, 3), dict(stride=2, padding=1)),
    ("conv2d", (1, 4, 20, 20), (2, 2, 3, 3), dict(groups=2)),
    ("conv_transpose2d", (2, 3, 4, 4), (3, 2, 3, 3), dict(stride=2, output_padding=1)),
])
def test_double_backward_matches_torch(device, op, xs, ws, kw):
    """Gradients of (grad_x . r1 + grad_w . r2) with respect to x, w and the upstream gradient."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in (xs, ws)]
    results = []
    for lib in (flambeau, torch):
        x, w = (lib.tensor(a, requires_grad=True) for a in arrays)
        if lib is not torch:
            x, w = (flambeau.tensor(a, requires_grad=True, device=device) for a in arrays)
        y = getattr(F(lib), op)(x, w, **kw)
        g = rng.standard_normal(tuple(y.shape)) if lib is not torch else g_np
        g_np = g
        gt = lib.tensor(g, requires_grad=True) if lib is torch else flambeau.tensor(g, requires_grad=True,
                                                                                    device=device)
        gx, gw = lib.autograd.grad(y, (x, w), gt, create_graph=True)
        r1 = np.random.default_rng(1).standard_normal(tuple(gx.shape))
        r2 = np.random.default_rng(2).standard_normal(tuple(gw.shape))
        as_t = (lambda a: flambeau.tensor(a, device=device)) if lib is not torch else torch.tensor
        s = (gx * as_t(r1)).sum() + (gw * as_t(r2)).sum()
        results.append(lib.autograd.grad(s, (x, w, gt)))
    for ours, ref in zip(*results):
        assert_same(ours, ref)


def test_zero_batch(device):
    check_against_torch(lambda lib, x, w, b: F(lib).conv2d(x, w, b), (0, 3, 5, 5), (2, 3, 3, 3), (2,),
                        device=device)


def _raises_like_torch(fn, *arrays, match=None):
    ref_exc = None
    try:
        fn(torch, *[torch.tensor(a) for a in arrays])
    except Exception as e:          # the oracle's exception type
        ref_exc = e
    assert ref_exc is not None, "torch accepted this input"
    with pytest.raises(type(ref_exc), match=match) as info:
        fn(flambeau, *[flambeau.tensor(a) for a in arrays])
    return info


def test_conv_errors_match_torch():
    z = np.zeros
    msg = (r"Given groups=1, weight of size \[32, 1, 5, 5\], expected input\[100, 3, 28, 28\] to have 1 "
           r"channels, but got 3 channels instead")
    _raises_like_torch(lambda lib, x, w: F(lib).conv2d(x, w), z((100, 3, 28, 28), "f4"), z((32, 1, 5, 5), "f4"),
                       match=msg)
    _raises_like_torch(lambda lib, x, w: F(lib).conv2d(x, w), z((8, 8)), z((4, 3, 3, 3)),
                       match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d")
    _raises_like_torch(lambda lib, x, w: F(lib).conv2d(x, w), z((2, 3, 4, 4)), z((4, 3, 5, 5)),
                       match="Kernel size can't be greater than actual input size")
    _raises_like_torch(lambda lib, x, w: F(lib).conv2d(x, w, groups=2), z((2, 2, 4, 4)), z((3, 1, 3, 3)),
                       match="divisible by 2")
    _raises_like_torch(lambda lib, x, w: F(lib).conv2d(x, w, stride=0), z((2, 3, 8, 8)), z((4, 3, 3, 3)))
    _raises_like_torch(lambda lib, x, w: F(lib).conv2d(x, w, padding=-1), z((2, 3, 8, 8)), z((4, 3, 3, 3)))
    _raises_like_torch(lambda lib, x, w: F(lib).conv2d(x, w, padding="same", stride=2), z((2, 3, 8, 8)),
                       z((4, 3, 3, 3)), match="strided")
    _raises_like_torch(lambda lib, x, w: F(lib).conv2d(x, w, padding="full"), z((2, 3, 8, 8)), z((4, 3, 3, 3)))
    _raises_like_torch(lambda lib, x, w: F(lib).conv2d(x, w), z((2, 3, 8, 8)), z((4, 3, 3, 3), "f4"))
    _raises_like_torch(lambda lib, x, w, b: F(lib).conv2d(x, w, b), z((2, 3, 8, 8)), z((4, 3, 3, 3)), z(5),
                       match="expected bias to be 1-dimensional with 4 elements")
    _raises_like_torch(lambda lib, x, w: F(lib).conv1d(x, w), z((2, 3, 4, 5)), z((4, 3, 3)))
    _raises_like_torch(lambda lib, x, w: F(lib).conv_transpose2d(x, w), z((2, 3, 8, 8)), z((4, 3, 3, 3)),
                       match="Given transposed=1")
    _raises_like_torch(lambda lib, x, w: F(lib).conv_transpose2d(x, w, output_padding=1), z((2, 3, 8, 8)),
                       z((3, 2, 3, 3)), match="output padding must be smaller")
    _raises_like_torch(lambda lib, x: F(lib).fold(x, (4, 4), 2), z((2, 13, 9)), match="divisible")
    _raises_like_torch(lambda lib, x: F(lib).fold(x, (4, 4), 2), z((2, 12, 8)), match="sliding blocks")


def test_two_thread_batch_split_matches_torch(monkeypatch):
    """Batches split in two halves on two threads (forced here for small shapes) give torch's results."""
    from flambeau._ops import conv
    monkeypatch.setattr(conv, "_SPLIT_MIN_ELEMENTS", 0)
    if conv._helper_thread() is None:
        pytest.skip("a single core: batches are not split")
    check_against_torch(lambda lib, x, w, b: F(lib).conv2d(x, w, b, padding=1), (5, 2, 17, 16), (3, 2, 3, 3), (3,))
    check_against_torch(lambda lib, x, w, b: F(lib).conv_transpose2d(x, w, b, stride=2), (5, 3, 16, 16),
                        (3, 2, 3, 3), (2,))


@pytest.mark.parametrize("shape", [(100, 2048), (7, 5), (64, 512), (3, 1), (33, 70), (100, 18432)])
def test_batch_transpose_kernel(shape):
    """The compiled transposing copy (either walking order) equals NumPy's."""
    from flambeau._ops import conv
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for src in (a, a[:, ::-1], np.asfortranarray(a)):
        out = conv._transpose_2d(src)
        assert out.flags.c_contiguous
        np.testing.assert_array_equal(out, src.T)


BATCH_LAST_GEOMETRIES = [
    # (input, weight, stride, padding, dilation, groups): planes under 256, the batch-last layout
    ((5, 4, 8, 8), (6, 4, 5, 5), 1, 0, 1, 1),
    ((3, 4, 9, 8), (6, 2, 3, 2), (2, 1), (1, 2), (2, 1), 2),
    ((2, 3, 7, 7), (4, 3, 3, 3), 3, 2, 1, 1),          # windows partly in the padding
    ((4, 2, 6, 5), (2, 2, 2, 3), (1, 2), (0, 1), (3, 2), 1),
    ((0, 2, 6, 6), (3, 2, 3, 3), 1, 1, 1, 1),         # an empty batch
    # planes of 256 or more: the per-sample layout's compiled im2col_planes and col2im_planes
    ((3, 4, 20, 20), (6, 2, 3, 3), 1, 1, 1, 2),
    ((2, 3, 40, 37), (4, 3, 3, 5), (1, 2), (2, 1), (2, 1), 1),
    ((2, 2, 30, 30), (3, 2, 4, 4), 3, 3, 1, 1),
]


@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups", BATCH_LAST_GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_column_kernels_equal_numpy_path(monkeypatch, xs, ws, stride, padding, dilation, groups, dtype):
    """The compiled im2col and col2im (Note [Compiled batch-last im2col and col2im]) give what the
    strided NumPy copies and adds give, forward and both gradients."""
    from flambeau._ops import conv
    if conv._compiled_columns() is None:
        pytest.skip("numba is not installed: only the NumPy path exists")
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)

    def run():
        xt = flambeau.tensor(x, requires_grad=True)
        wt = flambeau.tensor(w, requires_grad=True)
        y = F(flambeau).conv2d(xt, wt, stride=stride, padding=padding, dilation=dilation, groups=groups)
        y.backward(flambeau.tensor(np.linspace(-1, 1, y.numel(), dtype=dtype).reshape(y.shape)))
        return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()

    compiled = run()
    monkeypatch.setattr(conv, "_compiled_columns", lambda: None)
    strided = run()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(compiled, strided):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_helper_thread_reraises_and_survives():
    """An exception on the helper thread reaches the caller; the helper serves the next split."""
    from flambeau._ops import conv
    helper = conv._helper_thread()
    if helper is None:
        pytest.skip("a single core: batches are not split")

    def there():
        raise ValueError("raised on the helper")
    with pytest.raises(ValueError, match="raised on the helper"):
        helper.run_pair(lambda: 1, there)
    assert helper.run_pair(lambda: 1, lambda: 2) == [1, 2]


def test_bias_gradient_without_graph_matches_torch(device):
    """The bias gradient's summation order (batch first, then the plane) keeps torch's values."""
    check_against_torch(lambda lib, x, w, b: F(lib).conv2d(x, w, b), (6, 3, 20, 20), (5, 3, 3, 3), (5,),
                        device=device)


def test_same_padding_asymmetric_warns_once_as_torch(monkeypatch):
    """padding='same' needing more padding after than before warns once per process, as torch does."""
    from flambeau._ops import conv
    monkeypatch.setattr(conv, "_warned_same", [False])
    x, w = flambeau.ones(1, 1, 5, 5), flambeau.ones(1, 1, 2, 2)
    with pytest.warns(UserWarning, match="padding='same' with even kernel lengths") as record:
        F(flambeau).conv2d(x, w, padding="same")
    assert record[0].filename == __file__          # pointed at the caller, not at flambeau
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F(flambeau).conv2d(x, w, padding="same")            # not again
        F(flambeau).conv2d(x, flambeau.ones(1, 1, 3, 3), padding="same")       # symmetric: never
