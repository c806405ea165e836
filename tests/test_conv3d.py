"""3-D convolution and pooling against PyTorch: values, shapes, dtypes, gradients (and second
gradients), node names, modules and errors."""
import numpy as np
import pytest

import flambeau
from _oracle import assert_same, check_against_torch, gradcheck, need_torch, no_host_reads

torch = need_torch()


def F(lib):
    return lib.nn.functional


def _ties(rng, shape):
    """Values from a small set: many windows hold their maximum more than once."""
    return rng.integers(0, 3, shape).astype(np.float64)


CONV3D = [
    # (input, weight, bias, kwargs)
    ((2, 3, 5, 6, 4), (4, 3, 3, 3, 2), (4,), {}),
    ((2, 4, 6, 7, 5), (6, 2, 3, 2, 3), (6,), dict(stride=(1, 2, 1), padding=(1, 0, 2), dilation=(2, 1, 1),
                                                   groups=2)),
    ((2, 3, 4, 5, 6), (4, 3, 2, 3, 4), (4,), dict(padding="same")),             # asymmetric 'same'
    ((2, 3, 5, 5, 5), (2, 3, 3, 3, 3), None, dict(padding="valid", stride=2)),
    ((1, 2, 8, 8, 8), (3, 2, 2, 2, 2), (3,), {}),                               # per-sample layout
    ((3, 4, 5, 6), (4, 3, 2, 2, 2), (4,), dict(padding=1)),                     # unbatched
]


@pytest.mark.parametrize("xs, ws, bs, kw", CONV3D)
def test_conv3d_matches_torch(device, xs, ws, bs, kw):
    shapes = (xs, ws) + ((bs,) if bs else ())
    check_against_torch(lambda lib, x, w, *b: F(lib).conv3d(x, w, *b, **kw), *shapes, device=device)


def test_conv3d_dtypes_and_layouts(device):
    out = check_against_torch(lambda lib, x, w, b: lib.conv3d(x, w, b, 2, 1), (2, 3, 5, 5, 4), (4, 3, 3, 3, 3),
                              (4,), device=device, dtype="float32", rtol=1e-4, atol=1e-5)
    assert out.dtype == flambeau.float32
    check_against_torch(lambda lib, x, w: F(lib).conv3d(x, w), (2, 2, 4, 4, 3), (3, 2, 2, 2, 2), device=device,
                        dtype="int64", grad=False, make_input=lambda rng, s: rng.integers(-5, 5, s))
    check_against_torch(lambda lib, x, w: F(lib).conv3d(x.transpose(2, 4), w[:, ::2]), (2, 3, 4, 5, 6),
                        (3, 6, 2, 2, 2), device=device)
    check_against_torch(lambda lib, x, w, b: F(lib).conv3d(x, w, b), (0, 3, 4, 4, 4), (2, 3, 3, 3, 3), (2,),
                        device=device)


CONV_T3D = [
    ((2, 4, 3, 4, 3), (4, 3, 3, 2, 3), (6,), dict(stride=2, padding=1, output_padding=(1, 0, 1), groups=2,
                                                   dilation=(1, 2, 1))),
    ((2, 3, 3, 3, 3), (3, 2, 2, 2, 2), None, dict(stride=(1, 2, 3))),
    ((1, 2, 7, 7, 7), (2, 2, 3, 3, 3), (2,), dict(padding=1)),
    ((4, 3, 3, 3), (4, 2, 2, 2, 2), (2,), {}),                                  # unbatched
]


@pytest.mark.parametrize("xs, ws, bs, kw", CONV_T3D)
def test_conv_transpose3d_matches_torch(device, xs, ws, bs, kw):
    shapes = (xs, ws) + ((bs,) if bs else ())
    check_against_torch(lambda lib, x, w, *b: F(lib).conv_transpose3d(x, w, *b, **kw), *shapes, device=device)


def test_conv3d_gradcheck(device):
    gradcheck(lambda lib, x, w, b: F(lib).conv3d(x, w, b, stride=2, padding=1, groups=2),
              (1, 4, 3, 4, 3), (2, 2, 2, 2, 2), (2,), device=device)
    gradcheck(lambda lib, x, w: F(lib).conv_transpose3d(x, w, stride=2, padding=1, output_padding=1),
              (1, 2, 2, 2, 2), (2, 1, 2, 2, 2), device=device)


def _second_order(device, fn, xs, ws):
    """Gradients of (grad_x . r1 + grad_w . r2) with respect to x, w and the upstream gradient."""
    rng = np.random.default_rng(0)
    x_np, w_np = rng.standard_normal(xs), rng.standard_normal(ws)
    results = []
    for lib in (flambeau, torch):
        kw = dict(device=device) if lib is not torch else {}
        x, w = lib.tensor(x_np, requires_grad=True, **kw), lib.tensor(w_np, requires_grad=True, **kw)
        y = fn(lib, x, w)
        g = lib.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)), requires_grad=True, **kw)
        gx, gw = lib.autograd.grad(y, (x, w), g, create_graph=True)
        names = y.grad_fn.name()
        r1 = lib.tensor(np.random.default_rng(2).standard_normal(tuple(gx.shape)), **kw)
        r2 = lib.tensor(np.random.default_rng(3).standard_normal(tuple(gw.shape)), **kw)
        results.append((names, lib.autograd.grad((gx * r1).sum() + (gw * r2).sum(), (x, w, g))))
    (names, ours), (ref_names, ref) = results
    assert names == ref_names
    assert_same(ours, ref, device=device)


def test_conv3d_double_backward_matches_torch(device):
    _second_order(device, lambda lib, x, w: F(lib).conv3d(x, w, stride=2, padding=1), (2, 2, 4, 4, 3),
                  (3, 2, 2, 3, 2))
    _second_order(device, lambda lib, x, w: F(lib).conv_transpose3d(x, w, stride=2), (2, 3, 2, 3, 2),
                  (3, 2, 2, 2, 2))


MAX_POOL3D = [
    ((2, 3, 4, 6, 4), (2,), {}),
    ((2, 3, 5, 6, 7), (3, 2, 1), {}),                                           # overlapping, padded
    ((2, 2, 5, 6, 7), ((3, 2, 2), (2, 1, 2), (1, 0, 1)), dict(ceil_mode=True)),
    ((2, 2, 6, 7, 6), (2, 1), dict(dilation=(2, 1, 2))),
    ((3, 5, 4, 5), (2,), dict(ceil_mode=True)),                                 # unbatched
]


@pytest.mark.parametrize("xs, args, kw", MAX_POOL3D)
def test_max_pool3d_matches_torch(device, xs, args, kw):
    check_against_torch(lambda lib, x: F(lib).max_pool3d(x, *args, **kw), xs, device=device)
    check_against_torch(lambda lib, x: F(lib).max_pool3d(x, *args, return_indices=True, **kw), xs,
                        device=device, make_input=_ties)


def test_max_pool3d_dtypes(device):
    out = check_against_torch(lambda lib, x: lib.max_pool3d(x, 2), (2, 3, 4, 4, 4), device=device,
                              dtype="float32")
    assert out.dtype == flambeau.float32
    check_against_torch(lambda lib, x: F(lib).max_pool3d(x, 2, 1, 1, return_indices=True), (2, 2, 3, 4, 3),
                        device=device, dtype="int64", make_input=lambda rng, s: rng.integers(-9, 9, s))
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4, 4))
    x[0, 0, 1, 1, 1] = x[0, 1, 2, 3, 0] = np.nan
    assert_same(F(flambeau).max_pool3d(flambeau.tensor(x, device=device), 2, 1),
                F(torch).max_pool3d(torch.tensor(x), 2, 1))


def test_max_pool3d_gradients(device):
    gradcheck(lambda lib, x: F(lib).max_pool3d(x, 2, 1, 1), (1, 2, 3, 4, 3), device=device)
    gradcheck(lambda lib, x: F(lib).max_pool3d(x, 2), (1, 2, 4, 2, 4), device=device)
    _second_order(device, lambda lib, x, w: F(lib).max_pool3d(x * w, 3, 2, 1), (2, 2, 5, 4, 5), (1, 1, 1))


AVG_POOL3D = [
    ((2, 3, 4, 6, 4), (2,), {}),
    ((2, 2, 5, 6, 7), (3, 2, 1), dict(ceil_mode=True)),
    ((2, 2, 5, 6, 7), (3, 2, 1), dict(ceil_mode=True, count_include_pad=False)),
    ((2, 2, 5, 6, 5), ((3, 2, 2), (2, 1, 2), (1, 1, 0)), dict(divisor_override=5)),
    ((3, 5, 4, 5), (2, 1), {}),                                                 # unbatched
]


@pytest.mark.parametrize("xs, args, kw", AVG_POOL3D)
def test_avg_pool3d_matches_torch(device, xs, args, kw):
    check_against_torch(lambda lib, x: F(lib).avg_pool3d(x, *args, **kw), xs, device=device)


def test_avg_pool3d_dtypes_and_gradients(device):
    out = check_against_torch(lambda lib, x: F(lib).avg_pool3d(x, 2, 1), (2, 3, 4, 4, 4), device=device,
                              dtype="float32", rtol=1e-5)
    assert out.dtype == flambeau.float32
    check_against_torch(lambda lib, x: F(lib).avg_pool3d(x, 2, 1, 1), (2, 2, 3, 4, 3), device=device,
                        dtype="int64", make_input=lambda rng, s: rng.integers(-9, 9, s))
    gradcheck(lambda lib, x: F(lib).avg_pool3d(x, 3, 2, 1, ceil_mode=True), (1, 2, 4, 5, 3), device=device)
    _second_order(device, lambda lib, x, w: F(lib).avg_pool3d(x * w, 2, 1, 1, count_include_pad=False),
                  (2, 2, 3, 4, 3), (1, 1, 1))


@pytest.mark.parametrize("op, xs, size", [
    ("adaptive_avg_pool3d", (2, 3, 4, 6, 8), (2, 3, 4)),                        # equal windows
    ("adaptive_avg_pool3d", (2, 3, 5, 7, 6), (3, None, 4)),
    ("adaptive_avg_pool3d", (3, 5, 5, 5), 2),                                   # unbatched
    ("adaptive_max_pool3d", (2, 3, 5, 7, 6), (3, 2, 4)),
    ("adaptive_max_pool3d", (2, 2, 4, 4, 4), (1, None, 3)),
    ("adaptive_max_pool3d", (3, 5, 4, 5), 2),                                   # unbatched
])
def test_adaptive_pool3d_matches_torch(device, op, xs, size):
    check_against_torch(lambda lib, x: getattr(F(lib), op)(x, size), xs, device=device)
    if "max" in op:
        check_against_torch(lambda lib, x: getattr(F(lib), op)(x, size, return_indices=True), xs, device=device,
                            make_input=_ties)


def test_adaptive_max_pool3d_gradcheck(device):
    gradcheck(lambda lib, x: F(lib).adaptive_max_pool3d(x, (2, 3, 2)), (1, 2, 3, 4, 5), device=device)


def test_max_unpool3d_matches_torch(device):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 6, 4))
    for args, kw in (((2,), {}), ((2,), dict(output_size=(5, 7, 5))), (((2, 3, 2), (2, 3, 1)), {})):
        out, idx = F(flambeau).max_pool3d(flambeau.tensor(x, device=device), *args, return_indices=True)
        ref, ref_idx = F(torch).max_pool3d(torch.tensor(x), *args, return_indices=True)
        assert_same(F(flambeau).max_unpool3d(out, idx, *args, **kw), F(torch).max_unpool3d(ref, ref_idx, *args, **kw),
                    device=device)
    out, idx = F(flambeau).max_pool3d(flambeau.tensor(x[0], device=device), 2, return_indices=True)   # unbatched
    ref, ref_idx = F(torch).max_pool3d(torch.tensor(x[0]), 2, return_indices=True)
    assert_same(flambeau.nn.MaxUnpool3d(2)(out, idx), torch.nn.MaxUnpool3d(2)(ref, ref_idx), device=device)


def test_lp_pool3d_matches_torch(device):
    check_against_torch(lambda lib, x: F(lib).lp_pool3d(x, 2, 2, 1), (2, 2, 3, 4, 3), device=device, positive=True)
    check_against_torch(lambda lib, x: lib.nn.LPPool3d(3, (2, 1, 2))(x), (2, 2, 4, 3, 4), device=device,
                        positive=True)


def test_pool3d_node_names_match_torch():
    """The pooling nodes and their backward's nodes (a convolution's are checked above)."""
    x_np = np.random.default_rng(0).standard_normal((1, 2, 4, 4, 4))
    names = []
    for lib in (flambeau, torch):
        x = lib.tensor(x_np, requires_grad=True)
        row = []
        for y in (F(lib).max_pool3d(x, 2), F(lib).max_pool3d(x, 3, 1, return_indices=True)[0],
                  F(lib).avg_pool3d(x, 2)):
            (g,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
            row.append((y.grad_fn.name(), g.grad_fn.name()))
        names.append(row)
    assert names[0] == names[1]


def test_no_host_reads_on_cuda(device):
    """Forward, backward and double backward of every 3-D op stay on the device."""
    x = flambeau.randn(2, 4, 5, 6, 5, device=device, requires_grad=True)
    w = flambeau.randn(4, 2, 2, 3, 2, device=device, requires_grad=True)
    with no_host_reads(device):
        ys = [F(flambeau).conv3d(x, w, groups=2, padding=1), F(flambeau).conv_transpose3d(x, w, stride=2),
              F(flambeau).max_pool3d(x, 2, 1, 1), F(flambeau).max_pool3d(x, 3, return_indices=True)[0],
              F(flambeau).avg_pool3d(x, 2, ceil_mode=True), F(flambeau).adaptive_avg_pool3d(x, (2, 3, 4)),
              F(flambeau).adaptive_max_pool3d(x, (2, 4, 3)), F(flambeau).lp_pool3d(x.abs(), 2, 2)]
        gx, gw = flambeau.autograd.grad(sum((y * y).sum() for y in ys), (x, w), create_graph=True)
        (gx.sum() + gw.sum()).backward()
    assert all(y.device.type == flambeau.device(device).type for y in ys + [x.grad, w.grad])


# ---------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------

def _same_module(device, make, *shapes, call=None):
    """make(lib) -> module; flambeau's takes torch's parameters, then outputs and gradients are compared."""
    ref = make(torch).double()
    ours = make(flambeau).double().to(device)
    with flambeau.no_grad():
        for p, q in zip(ours.parameters(), ref.parameters()):
            p.copy_(flambeau.tensor(q.detach().numpy(), device=device))
    mods = {"flambeau": ours, "torch": ref}
    check_against_torch(lambda lib, *xs: (call or (lambda m, *a: m(*a)))(
        mods["torch" if lib is torch else "flambeau"], *xs), *shapes, device=device)
    assert repr(ours) == repr(ref)
    for p, q in zip(ours.parameters(), ref.parameters()):
        assert_same(p.grad, q.grad, device=device)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv3d_module_padding_modes(device, mode):
    _same_module(device, lambda lib: lib.nn.Conv3d(2, 4, (3, 2, 3), stride=(1, 2, 1), padding=(1, 1, 2),
                                                   padding_mode=mode), (2, 2, 4, 5, 4))


def test_conv3d_module_same_padding_and_groups(device):
    _same_module(device, lambda lib: lib.nn.Conv3d(4, 6, 2, padding="same", groups=2, bias=False), (2, 4, 3, 4, 3))


def test_conv_transpose3d_module(device):
    _same_module(device, lambda lib: lib.nn.ConvTranspose3d(2, 4, (3, 2, 2), stride=2, padding=1,
                                                            output_padding=(1, 0, 1)), (2, 2, 3, 3, 2))
    _same_module(device, lambda lib: lib.nn.ConvTranspose3d(2, 3, 2, stride=2), (2, 2, 3, 3, 2),
                 call=lambda m, x: m(x, output_size=(7, 6, 5)))
    m = flambeau.nn.ConvTranspose3d(2, 3, 3)
    assert tuple(m.weight.shape) == (2, 3, 3, 3, 3) and tuple(m.bias.shape) == (3,)
    with pytest.raises(ValueError):
        flambeau.nn.ConvTranspose3d(2, 3, 2, stride=2)(flambeau.zeros(1, 2, 3, 3, 3), output_size=(9, 9, 9))


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.MaxPool3d(3, 2, 1, ceil_mode=True),
    lambda lib: lib.nn.MaxPool3d((2, 2, 3), return_indices=True),
    lambda lib: lib.nn.AvgPool3d(2, 1, 1, count_include_pad=False),
    lambda lib: lib.nn.AvgPool3d((2, 3, 2), divisor_override=4),
    lambda lib: lib.nn.AdaptiveAvgPool3d((2, None, 3)),
    lambda lib: lib.nn.AdaptiveMaxPool3d(2, return_indices=True),
])
def test_pool3d_modules(device, make):
    _same_module(device, make, (2, 2, 5, 6, 5))


def test_modules_are_exported():
    for name in ("Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d",
                 "MaxUnpool3d", "LPPool3d"):
        assert isinstance(getattr(flambeau.nn, name), type), name
    for name in ("conv3d", "conv_transpose3d", "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d",
                 "adaptive_max_pool3d", "max_unpool3d", "max_pool3d_with_indices", "adaptive_max_pool3d_with_indices",
                 "lp_pool3d"):
        assert callable(getattr(F(flambeau), name)), name
    assert not isinstance(flambeau.nn.AvgPool3d(2), flambeau.nn.AvgPool2d)


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------

def _raises_like_torch(fn, *arrays, match=None):
    try:
        fn(torch, *[torch.tensor(a) for a in arrays])
    except Exception as e:          # the oracle's exception type
        ref_exc = e
    else:
        raise AssertionError("torch accepted this input")
    with pytest.raises(type(ref_exc), match=match):
        fn(flambeau, *[flambeau.tensor(a) for a in arrays])


def test_conv3d_errors_match_torch():
    z = np.zeros
    conv, convt = (lambda lib, x, w: F(lib).conv3d(x, w)), (lambda lib, x, w: F(lib).conv_transpose3d(x, w))
    _raises_like_torch(conv, z((3, 4, 4)), z((4, 3, 3, 3, 3)),
                       match=r"Expected 4D \(unbatched\) or 5D \(batched\) input to conv3d, but got input of size: "
                             r"\[3, 4, 4\]")
    _raises_like_torch(conv, z((2, 3, 4, 4)), z((4, 3, 3, 3, 3)),
                       match=r"expected input\[1, 2, 3, 4, 4\] to have 3 channels, but got 2 channels instead")
    _raises_like_torch(conv, z((2, 3, 4, 4, 4)), z((4, 3, 3, 3)), match="list of 2 values")
    _raises_like_torch(conv, z((2, 3, 4, 4, 4)), z((4, 3, 5, 3, 3)),
                       match=r"Calculated padded input size per channel: \(4 x 4 x 4\). Kernel size: \(5 x 3 x 3\)")
    _raises_like_torch(lambda lib, x, w: F(lib).conv3d(x, w, groups=2), z((2, 4, 4, 4, 4)), z((3, 2, 3, 3, 3)),
                       match="divisible by 2")
    _raises_like_torch(lambda lib, x, w, b: F(lib).conv3d(x, w, b), z((2, 3, 4, 4, 4)), z((4, 3, 3, 3, 3)), z(3),
                       match="expected bias to be 1-dimensional with 4 elements")
    _raises_like_torch(lambda lib, x, w: F(lib).conv3d(x, w, stride=(1, 1)), z((2, 3, 4, 4, 4)), z((4, 3, 3, 3, 3)))
    _raises_like_torch(lambda lib, x, w: F(lib).conv3d(x, w, padding="same", stride=2), z((2, 3, 4, 4, 4)),
                       z((4, 3, 3, 3, 3)), match="strided")
    _raises_like_torch(conv, z((2, 3, 4, 4, 4), "f4"), z((4, 3, 3, 3, 3)))
    _raises_like_torch(conv, z((2, 3, 4, 4, 4), bool), z((4, 3, 3, 3, 3), bool))
    _raises_like_torch(convt, z((2, 3, 4, 4, 4)), z((4, 3, 3, 3, 3)), match="Given transposed=1")
    _raises_like_torch(lambda lib, x, w: F(lib).conv_transpose3d(x, w, output_padding=1), z((2, 3, 4, 4, 4)),
                       z((3, 3, 3, 3, 3)), match="output_padding_depth: 1 output_padding_height: 1")
    _raises_like_torch(lambda lib, x, w: F(lib).conv_transpose3d(x, w, padding="same"), z((2, 3, 4, 4, 4)),
                       z((3, 3, 3, 3, 3)))
    _raises_like_torch(lambda lib, x, w: F(lib).conv_transpose3d(x, w, padding=1), z((2, 3, 1, 1, 1)),
                       z((3, 3, 1, 1, 1)))
    _raises_like_torch(convt, z((3, 4, 4)), z((3, 2, 2, 2, 2)), match="Expected 4D")


def test_pool3d_errors_match_torch():
    x = np.zeros((2, 3, 4, 4, 4))
    cases = [
        (lambda lib, t: F(lib).max_pool3d(t, 2), np.zeros((3, 4, 4)), "non-empty 4D or 5D"),
        (lambda lib, t: F(lib).max_pool3d(t, 5), x, "Output size is too small"),
        (lambda lib, t: F(lib).max_pool3d(t, 2, padding=2), x, "pad should be at most half"),
        (lambda lib, t: F(lib).max_pool3d(t, (2, 2)), x, None),
        (lambda lib, t: F(lib).max_pool3d(t, 2, 0), x, "stride should not be zero"),
        (lambda lib, t: F(lib).max_pool3d(t, 2, dilation=0), x, "dilation should be greater than zero"),
        (lambda lib, t: F(lib).max_pool3d(t, 2), np.zeros((2, 0, 4, 4, 4)), None),
        (lambda lib, t: F(lib).max_pool3d(t, 2), x.astype(bool), "not implemented for 'Bool'"),
        (lambda lib, t: F(lib).avg_pool3d(t, 2), np.zeros((3, 4, 4)), "non-empty 4D or 5D"),
        (lambda lib, t: F(lib).avg_pool3d(t, 5), x, r"input image \(T: 4 H: 4 W: 4\) smaller than kernel size"),
        (lambda lib, t: F(lib).avg_pool3d(t, 2, 1, padding=1), np.zeros((2, 3, 1, 4, 4)), "smaller than kernel"),
        (lambda lib, t: F(lib).avg_pool3d(t, 2, padding=2), x, "pad should be at most half"),
        (lambda lib, t: F(lib).avg_pool3d(t, 2, divisor_override=0), x, "divisor must be not zero"),
        (lambda lib, t: F(lib).avg_pool3d(t, 2), x.astype(bool), None),
        (lambda lib, t: F(lib).adaptive_avg_pool3d(t, 2), np.zeros((3, 4, 4)), None),
        (lambda lib, t: F(lib).adaptive_avg_pool3d(t, (2, 2)), x, None),
        (lambda lib, t: F(lib).adaptive_avg_pool3d(t, 2), np.zeros((2, 3, 0, 4, 4)), "dimension 2 being empty"),
        (lambda lib, t: F(lib).adaptive_avg_pool3d(t, 2), x.astype(np.int64), "not implemented for 'Long'"),
        (lambda lib, t: F(lib).adaptive_max_pool3d(t, 2), np.zeros((3, 4, 4)), None),
        (lambda lib, t: F(lib).adaptive_max_pool3d(t, (2, 2)), x, None),
        (lambda lib, t: F(lib).adaptive_max_pool3d(t, 2), x.astype(bool), None),
    ]
    for fn, a, match in cases:
        _raises_like_torch(fn, a, match=match)


def test_max_unpool3d_errors_match_torch():
    v, i = np.zeros((2, 3, 2, 2, 2)), np.zeros((2, 3, 2, 2, 2), np.int64)
    _raises_like_torch(lambda lib, a, b: F(lib).max_unpool3d(a, b, 2), v, i + 64,
                       match=r"Found an invalid max index: 64 \(output volumes are of size 4x4x4")
    _raises_like_torch(lambda lib, a, b: F(lib).max_unpool3d(a, b, 2), v, i - 1, match="invalid max index: -1")
    _raises_like_torch(lambda lib, a, b: F(lib).max_unpool3d(a, b, 2), v, i[..., :1], match="shape of indices")
    _raises_like_torch(lambda lib, a, b: F(lib).max_unpool3d(a, b, 2), v, i.astype(np.int32), match="int64")
    _raises_like_torch(lambda lib, a, b: F(lib).max_unpool3d(a, b, 2, output_size=(5, 5)), v, i,
                       match="3 or 5 elements")
    _raises_like_torch(lambda lib, a, b: F(lib).max_unpool3d(a, b, 2, output_size=(9, 4, 4)), v, i,
                       match="dim 0 must be between 2 and 6")
    _raises_like_torch(lambda lib, a, b: F(lib).max_unpool3d(a, b, 2, 0), v, i)
    _raises_like_torch(lambda lib, a, b: F(lib).max_unpool3d(a, b, 2, 1, 5), v, i, match="non-negative")
    _raises_like_torch(lambda lib, a, b: F(lib).max_unpool3d(a, b, 2, output_size=(3, 4, 4, 4)), v, i)
    _raises_like_torch(lambda lib, a, b: F(lib).max_unpool3d(a, b, 2), v[0, 0], i[0, 0])
