"""nn.NLLLoss2d, nn.CrossMapLRN2d and nn.LinearCrossEntropyLoss (with F.linear_cross_entropy and
nn.LinearCrossEntropyOptions) against torch: values, gradients, state_dict, warnings, errors."""
import warnings

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, need_oracle, need_torch, on_device, same_error

torch = need_torch()


def _tensor(lib, a, device, **kw):
    return lib.tensor(a, **kw) if lib is torch else lib.tensor(a, device=device, **kw)


# -- NLLLoss2d -----------------------------------------------------------------------------------
def test_nll_loss2d_warns_as_deprecated():
    messages = []
    for lib in (flambeau, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loss = lib.nn.NLLLoss2d()

            class Sub(lib.nn.NLLLoss2d):
                pass
        assert isinstance(loss, lib.nn.NLLLoss) and repr(loss) == "NLLLoss2d()"
        messages.append([(w.category, str(w.message)) for w in caught])
    assert messages[0] == messages[1] and len(messages[0]) == 2
    assert flambeau.nn.NLLLoss2d.__deprecated__ == torch.nn.NLLLoss2d.__deprecated__


@pytest.mark.parametrize("kw", [{}, {"reduction": "sum", "ignore_index": 1}, {"reduction": "none", "weight": True},
                                {"weight": True, "ignore_index": 2}])
def test_nll_loss2d(kw, device):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3, 4, 5))
    t = rng.integers(0, 3, (2, 4, 5))
    w = rng.random(3) + 0.5
    outs = []
    for lib in (on_device(flambeau, device), torch):
        options = dict(kw)
        if options.pop("weight", False):
            options["weight"] = _tensor(lib, w, device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            loss = lib.nn.NLLLoss2d(**options)
        x = _tensor(lib, a, device, requires_grad=True)
        y = loss(x.log_softmax(1), _tensor(lib, t, device))
        y.sum().backward()
        outs.append((y, x.grad, list(loss.state_dict())))
    assert outs[0][2] == outs[1][2]
    assert_same(outs[0][:2], outs[1][:2], device=device)


# -- CrossMapLRN2d -------------------------------------------------------------------------------
def _lrn_both(device, size, shape, dtype="float64", seed=0, **kw):
    rng = np.random.default_rng(seed)
    a, g = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    outs = []
    for lib in (on_device(flambeau, device), torch):
        x = _tensor(lib, a, device, requires_grad=True)
        y = lib.nn.CrossMapLRN2d(size, **kw)(x)
        y.backward(_tensor(lib, g, device))
        outs.append((y, x.grad))
    return outs


@pytest.mark.parametrize("size", [2, 3, 4, 5, 8])
@pytest.mark.parametrize("channels", [1, 3, 6, 11])
def test_cross_map_lrn2d(size, channels, device):
    """Forward and backward equal torch's, including its window (channel 0 is never dropped from the
    running sum) and its backward formula."""
    ours, ref = _lrn_both(device, size, (2, channels, 3, 4), alpha=0.3, beta=0.75, k=1.5)
    assert_same(ours, ref, device=device)


@pytest.mark.parametrize("kw", [{}, {"alpha": 1.0, "beta": 0.5, "k": 2}, {"alpha": 2e-3, "beta": 1.25, "k": 0.5}])
def test_cross_map_lrn2d_float32_and_defaults(kw, device):
    ours, ref = _lrn_both(device, 5, (3, 7, 4, 2), dtype="float32", seed=2, **kw)
    assert_same(ours, ref, rtol=1e-5, atol=1e-6, device=device)


def test_cross_map_lrn2d_backward_is_torchs_formula():
    """Torch's legacy backward is not its forward's derivative once there are several channels:
    gradcheck fails there for torch and for flambeau alike, and passes with one channel."""
    for lib in (flambeau, torch):
        m = lib.nn.CrossMapLRN2d(3, alpha=0.5)
        several = lib.randn(1, 4, 2, 2, dtype=lib.float64, requires_grad=True)
        one = lib.randn(1, 1, 2, 2, dtype=lib.float64, requires_grad=True)
        assert not lib.autograd.gradcheck(m, (several,), raise_exception=False)
        assert lib.autograd.gradcheck(m, (one,))


def test_cross_map_lrn2d_node_repr_and_empty_batch(device):
    ours, ref = _lrn_both(device, 3, (0, 4, 2, 2))
    assert_same(ours, ref, device=device)
    x = flambeau.randn(1, 3, 2, 2, requires_grad=True, device=device)
    assert type(flambeau.nn.CrossMapLRN2d(3)(x).grad_fn).__name__ == "CrossMapLRN2dBackward"
    assert repr(flambeau.nn.CrossMapLRN2d(3)) == repr(torch.nn.CrossMapLRN2d(3)) == \
        "CrossMapLRN2d(3, alpha=0.0001, beta=0.75, k=1)"


def test_cross_map_lrn2d_size_one(device):
    """Size 1 normalizes each channel by itself; torch's backward then fails on its padded buffer."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 3, 2, 2))
    outs = [lib.nn.CrossMapLRN2d(1, alpha=0.5)(_tensor(lib, a, device)) for lib in (on_device(flambeau, device), torch)]
    assert_same(outs[0], outs[1], device=device)

    def backward(lib):
        x = _tensor(lib, a, device, requires_grad=True)
        lib.nn.CrossMapLRN2d(1)(x).sum().backward()
    same_error(backward, device)


@pytest.mark.parametrize("make", [lambda lib: lib.ones(3, 4, 4), lambda lib: lib.ones(1, 3, 2, 2, dtype=lib.int64),
                                  lambda lib: lib.ones(1, 0, 2, 2)])
def test_cross_map_lrn2d_errors(make, device):
    same_error(lambda lib: lib.nn.CrossMapLRN2d(3)(make(lib)), device)


def test_cross_map_lrn2d_refuses_create_graph(device):
    def second_order(lib):
        x = lib.randn(1, 3, 2, 2, requires_grad=True)
        lib.autograd.grad(lib.nn.CrossMapLRN2d(3)(x).sum(), x, create_graph=True)
    same_error(second_order, device)


# -- LinearCrossEntropyLoss ----------------------------------------------------------------------
def test_linear_cross_entropy_loss_state_dict_and_repr():
    need_oracle(2, 13, "linear_cross_entropy")
    for kw in ({}, {"bias": True}, {"out_features": (2, 3), "bias": True},
               {"weight": "w", "reduction": "sum", "ignore_index": 2}):
        built = []
        for lib in (flambeau, torch):
            options = dict(kw)
            if options.get("weight") == "w":
                options["weight"] = lib.ones(4)
            m = lib.nn.LinearCrossEntropyLoss(5, 4, **options)
            built.append(({k: tuple(v.shape) for k, v in m.state_dict().items()}, repr(m)))
        assert built[0] == built[1]


def _module_pair(device, in_features, num_classes, seed=0, **kw):
    """The same LinearCrossEntropyLoss in flambeau (on device) and torch: torch's parameters loaded."""
    torch.manual_seed(seed)
    ref = torch.nn.LinearCrossEntropyLoss(in_features, num_classes, **kw).double()
    ours_kw = dict(kw)
    if isinstance(kw.get("weight"), torch.Tensor):
        ours_kw["weight"] = flambeau.tensor(kw["weight"].numpy())
    ours = flambeau.nn.LinearCrossEntropyLoss(in_features, num_classes, **ours_kw).double()
    ours.load_state_dict({k: flambeau.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    return ours.to(device), ref


def _compare_module(ours, ref, a, t, device, probabilities=False):
    x, xt = flambeau.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)
    target = (flambeau.tensor(t, device=device), torch.tensor(t))
    y, yt = ours(x, target[0]), ref(xt, target[1])
    assert_same(y, yt, device=device)
    g = np.random.default_rng(9).standard_normal(tuple(yt.shape))
    y.backward(flambeau.tensor(g, device=device))
    yt.backward(torch.tensor(g))
    assert_same(x.grad, xt.grad, device=device)
    for (name, p), (_, pt) in zip(ours.named_parameters(), ref.named_parameters()):
        assert_same(p.grad, pt.grad, device=device)


@pytest.mark.parametrize("kw", [{}, {"bias": True, "reduction": "sum"}, {"reduction": "none", "ignore_index": 1},
                                {"label_smoothing": 0.2, "bias": True}, {"weight": True, "reduction": "mean"}])
def test_linear_cross_entropy_loss(kw, device):
    need_oracle(2, 13, "linear_cross_entropy")
    rng = np.random.default_rng(4)
    if kw.get("weight"):
        kw = dict(kw, weight=torch.tensor(rng.random(6) + 0.5))
    ours, ref = _module_pair(device, 5, 6, **kw)
    _compare_module(ours, ref, rng.standard_normal((7, 5)), rng.integers(0, 6, 7), device)


def test_linear_cross_entropy_loss_k_dimensional(device):
    need_oracle(2, 13, "linear_cross_entropy")
    rng = np.random.default_rng(5)
    ours, ref = _module_pair(device, 4, 3, out_features=(2, 5), bias=True)
    _compare_module(ours, ref, rng.standard_normal((6, 4)), rng.integers(0, 3, (6, 2, 5)), device)
    probs = rng.random((6, 3, 2, 5))
    _compare_module(ours, ref, rng.standard_normal((6, 4)), probs / probs.sum(1, keepdims=True), device)


def test_linear_cross_entropy_loss_unbatched_and_probabilities(device):
    need_oracle(2, 13, "linear_cross_entropy")
    rng = np.random.default_rng(6)
    ours, ref = _module_pair(device, 4, 5, bias=True, reduction="none")
    _compare_module(ours, ref, rng.standard_normal(4), np.int64(3), device)
    probs = rng.random(5)
    _compare_module(ours, ref, rng.standard_normal(4), probs / probs.sum(), device)


def test_linear_cross_entropy_loss_constructor_errors():
    need_oracle(2, 13, "linear_cross_entropy")
    for kw in ({"weight": "bad"}, {"label_smoothing": 1.5}):
        def build(lib):
            options = dict(kw)
            if options.get("weight") == "bad":
                options["weight"] = lib.ones(3)
            lib.nn.LinearCrossEntropyLoss(5, 4, **options)
        same_error(build)


# -- linear_cross_entropy, chunked ---------------------------------------------------------------
def _lce_both(device, a, w, t, bias=None, class_weight=None, dtype="float64", opts=None, **kw):
    """F.linear_cross_entropy on flambeau (on device) and torch (options built from opts, unless None):
    the values and the gradients of input, linear weight and bias; the two results' grad_fn names."""
    results, names = [], []
    g = None
    for lib in (on_device(flambeau, device), torch):
        options = None if opts is None else lib.nn.LinearCrossEntropyOptions(**opts)
        x = _tensor(lib, a.astype(dtype), device, requires_grad=True)
        lw = _tensor(lib, w.astype(dtype), device, requires_grad=True)
        lb = None if bias is None else _tensor(lib, bias.astype(dtype), device, requires_grad=True)
        cw = None if class_weight is None else _tensor(lib, class_weight, device)
        y = lib.nn.functional.linear_cross_entropy(x, lw, _tensor(lib, t, device), linear_bias=lb, weight=cw,
                                                   options=options, **kw)
        if g is None:
            g = np.random.default_rng(3).standard_normal(tuple(y.shape)).astype(dtype)
        y.backward(_tensor(lib, g, device))
        results.append((y, x.grad, lw.grad) + (() if lb is None else (lb.grad,)))
        names.append(type(y.grad_fn).__name__)
    return results, names


CHUNK_OPTIONS = [{}, {"batch_chunk_size": 3}, {"chunking_method": "aspect_ratio"}, {"chunking_method": None},
                 {"acc_policy": "accurate", "batch_chunk_size": 1}]


@pytest.mark.parametrize("opts", CHUNK_OPTIONS, ids=[str(o) for o in CHUNK_OPTIONS])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_chunked_values_and_grads(opts, reduction, device):
    need_oracle(2, 13, "linear_cross_entropy")
    rng = np.random.default_rng(7)
    a, w, b = rng.standard_normal((10, 4)), rng.standard_normal((9, 4)), rng.standard_normal(9)
    t = rng.integers(0, 9, 10)
    t[2] = -100
    for bias, class_weight, ignore_index in ((None, None, None), (b, rng.random(9) + 0.5, 4)):
        if ignore_index is not None:
            t[2] = t[5] = ignore_index
        (ours, ref), names = _lce_both(device, a, w, t, bias, class_weight, reduction=reduction,
                                       ignore_index=ignore_index, opts=opts)
        assert_same(ours, ref, device=device)
        assert names[0] == names[1] and names[0].startswith("GeneratedBackwardFor_torch_nn__linear_cross_entropy")


def test_chunked_float32_and_unbatched(device):
    need_oracle(2, 13, "linear_cross_entropy")
    rng = np.random.default_rng(8)
    (ours, ref), _ = _lce_both(device, rng.standard_normal((6, 5)), rng.standard_normal((7, 5)),
                               rng.integers(0, 7, 6), dtype="float32", opts={"batch_chunk_size": 4})
    assert_same(ours, ref, rtol=1e-5, atol=1e-6, device=device)
    for reduction in ("mean", "none"):
        (ours, ref), names = _lce_both(device, rng.standard_normal(5), rng.standard_normal((7, 5)), np.int64(2),
                                       reduction=reduction, opts={})
        assert_same(ours, ref, device=device)
        assert names[0] == names[1]


def test_chunked_float16_accumulates_in_float32(device):
    """float16 inputs: chunks computed in float32 ("auto"), results and gradients back in float16."""
    need_oracle(2, 13, "linear_cross_entropy")
    rng = np.random.default_rng(12)
    (ours, ref), _ = _lce_both(device, rng.standard_normal((8, 4)), rng.standard_normal((6, 4)),
                               rng.integers(0, 6, 8), dtype="float16", opts={})
    assert_same(ours, ref, rtol=2e-3, atol=2e-3, device=device)


def test_chunked_all_ignored_and_empty_batch(device):
    need_oracle(2, 13, "linear_cross_entropy")
    rng = np.random.default_rng(10)
    w = rng.standard_normal((5, 3))
    for a, t, reduction in ((rng.standard_normal((4, 3)), np.full(4, -100), "mean"),
                            (np.zeros((0, 3)), np.zeros(0, dtype=np.int64), "mean"),
                            (np.zeros((0, 3)), np.zeros(0, dtype=np.int64), "sum")):
        outs = []
        for lib in (on_device(flambeau, device), torch):
            y = lib.nn.functional.linear_cross_entropy(_tensor(lib, a, device), _tensor(lib, w, device),
                                                       _tensor(lib, t, device), reduction=reduction,
                                                       options=lib.nn.LinearCrossEntropyOptions())
            outs.append(y)
        assert_same(outs[0], outs[1], device=device)


def test_chunked_backward_once_unless_retained(device):
    need_oracle(2, 13, "linear_cross_entropy")
    def twice(lib, **kw):
        x = lib.randn(4, 3, requires_grad=True, dtype=lib.float64)
        w = lib.randn(5, 3, requires_grad=True, dtype=lib.float64)
        y = lib.nn.functional.linear_cross_entropy(x, w, lib.tensor([0, 1, 2, 3]),
                                                   options=lib.nn.LinearCrossEntropyOptions(**kw))
        y.backward(retain_graph=True)
        first = x.grad.clone()
        y.backward()
        return first, x.grad
    same_error(twice, device)
    first, second = twice(on_device(flambeau, device), allow_retain_graph=True)
    assert_same(second, torch.tensor(2 * first.cpu().numpy()))


def test_chunked_falls_back_with_a_warning(device):
    need_oracle(2, 13, "linear_cross_entropy")
    rng = np.random.default_rng(11)
    a, w = rng.standard_normal((4, 3)), rng.standard_normal((5, 2, 3))
    cases = [(w[:, 0], rng.integers(0, 5, 4), {"label_smoothing": 0.1}),
             (w, rng.integers(0, 5, (4, 2)), {}),
             (w[:, 0], rng.random((4, 5)), {})]
    for lw, t, kw in cases:
        outs, messages = [], []
        for lib in (on_device(flambeau, device), torch):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                y = lib.nn.functional.linear_cross_entropy(_tensor(lib, a, device), _tensor(lib, lw, device),
                                                           _tensor(lib, t, device),
                                                           options=lib.nn.LinearCrossEntropyOptions(), **kw)
            outs.append(y)
            messages.append([str(m.message) for m in caught])
        assert_same(outs[0], outs[1], device=device)
        assert messages[0] == messages[1] and len(messages[0]) == 1


F_ERRORS = [
    ("input_3d", lambda lib: lib.nn.functional.linear_cross_entropy(lib.ones(2, 2, 3), lib.ones(4, 3),
                                                                     lib.tensor([0, 1]))),
    ("weight_1d", lambda lib: lib.nn.functional.linear_cross_entropy(lib.ones(2, 3), lib.ones(3), lib.tensor([0, 1]))),
    ("in_features", lambda lib: lib.nn.functional.linear_cross_entropy(lib.ones(2, 3), lib.ones(4, 2),
                                                                        lib.tensor([0, 1]))),
    ("bias_shape", lambda lib: lib.nn.functional.linear_cross_entropy(lib.ones(2, 3), lib.ones(4, 3),
                                                                       lib.tensor([0, 1]), linear_bias=lib.ones(3))),
    ("k_dim_unbatched", lambda lib: lib.nn.functional.linear_cross_entropy(lib.ones(3), lib.ones(4, 2, 3),
                                                                            lib.tensor(0))),
    ("ignore_with_probabilities", lambda lib: lib.nn.functional.linear_cross_entropy(
        lib.ones(2, 3), lib.ones(4, 3), lib.ones(2, 4), ignore_index=1)),
    ("chunked_target_out_of_range", lambda lib: lib.nn.functional.linear_cross_entropy(
        lib.ones(2, 3), lib.ones(4, 3), lib.tensor([0, 7]), options=lib.nn.LinearCrossEntropyOptions())),
    ("chunked_dtypes", lambda lib: lib.nn.functional.linear_cross_entropy(
        lib.ones(2, 3), lib.ones(4, 3, dtype=lib.float64), lib.tensor([0, 1]),
        options=lib.nn.LinearCrossEntropyOptions())),
    ("chunk_size_conflict", lambda lib: lib.nn.functional.linear_cross_entropy(
        lib.ones(4, 3), lib.ones(5, 3), lib.tensor([0, 1, 2, 3]),
        options=lib.nn.LinearCrossEntropyOptions(batch_chunk_size=3, chunking_method="aspect_ratio"))),
]


@pytest.mark.parametrize("name,call", F_ERRORS, ids=[e[0] for e in F_ERRORS])
def test_linear_cross_entropy_errors(name, call, device):
    need_oracle(2, 13, "linear_cross_entropy")
    same_error(call, device)


@pytest.mark.parametrize("kw", [{"acc_policy": "fast"}, {"chunking_method": "rows"},
                                {"chunking_method": "aspect_ratio:0"}, {"batch_chunk_size": 0}, {"batch_chunk_size": 2.5}, {"acc_dtype": "int64"}])
def test_options_validation(kw):
    def build(lib):
        options = dict(kw)
        if options.get("acc_dtype") == "int64":
            options["acc_dtype"] = lib.int64
        lib.nn.LinearCrossEntropyOptions(**options)
    same_error(build)


@pytest.mark.parametrize("kw,call", [({}, (100, 8, 1000, "float32")), ({}, (100, 8, 1000, "float16")),
                                     ({"batch_chunk_size": 7}, (20, 4, 9, "float64")),
                                     ({"chunking_method": "aspect_ratio:4", "acc_policy": "balanced"},
                                      (64, 16, 100, "float32")),
                                     ({"chunking_method": None}, (10, 4, 3, "float16"))])
def test_options_resolution(kw, call):
    """What "auto" and None resolve to for a call (chunk size, policy, accumulation dtype), and the repr."""
    got = []
    for lib in (flambeau, torch):
        options = lib.nn.LinearCrossEntropyOptions(**kw)
        n, f, c, dt = call
        got.append((repr(options), repr(options._adjust(n, f, c, getattr(lib, dt), lib.device("cpu")))))
    assert got[0] == got[1]
    with pytest.raises(dataclasses_frozen_error()):
        flambeau.nn.LinearCrossEntropyOptions().batch_chunk_size = 3


def dataclasses_frozen_error():
    import dataclasses
    return dataclasses.FrozenInstanceError
