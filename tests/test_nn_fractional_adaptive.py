"""fractional_max_pool2d/3d and AdaptiveLogSoftmaxWithLoss against PyTorch: values, indices, gradients,
grad_fn names, errors; the pooling with the same _random_samples on both sides."""
import numpy as np
import pytest

import flambeau
from _oracle import assert_same, check_against_torch, need_oracle, need_torch, no_host_reads, same_error, to_numpy

torch = need_torch()


def _samples(lib, n, c, nd, seed=0, dtype="float64"):
    u = np.random.default_rng(seed).random((n, c, nd)).astype(dtype)
    return lib.tensor(u)


FRACTIONAL = [      # nd, input shape, kernel, output_size, output_ratio
    (2, (2, 3, 9, 11), 2, (4, 5), None),
    (2, (2, 3, 10, 10), (3, 2), 4, None),
    (2, (3, 7, 8), 2, None, (0.5, 0.7)),               # unbatched
    (2, (1, 2, 8, 9), 3, (6, 1), None),               # an output of 1 along a dim: its window ends the input
    (2, (2, 2, 8, 8), 1, 7, None),
    (3, (2, 2, 7, 8, 9), 2, (3, 4, 5), None),
    (3, (2, 6, 7, 8), (2, 3, 1), None, 0.5),           # unbatched
]


@pytest.mark.parametrize("nd, shape, kernel, size, ratio", FRACTIONAL)
def test_fractional_max_pool_matches_torch(device, nd, shape, kernel, size, ratio):
    n, c = (shape[0], shape[1]) if len(shape) == nd + 2 else (1, shape[0])

    def pool(lib, x):
        f = getattr(lib.nn.functional, f"fractional_max_pool{nd}d")
        return f(x, kernel, output_size=size, output_ratio=ratio, return_indices=True,
                 _random_samples=_samples(lib, n, c, nd))
    check_against_torch(pool, shape, device=device)
    check_against_torch(lambda lib, x: getattr(lib.nn.functional, f"fractional_max_pool{nd}d_with_indices")(
        x, kernel, size, ratio, _random_samples=_samples(lib, n, c, nd, seed=1)), shape, device=device)


def test_fractional_max_pool_float32_ties_and_nan(device):
    a = np.random.default_rng(3).integers(0, 3, (2, 3, 9, 9)).astype("float32")     # many ties
    a[0, 0, 2, 3] = a[1, 2, 5, 5] = a[1, 2, 5, 6] = np.nan

    def pool(lib):
        x = lib.tensor(a, requires_grad=True)
        y, i = lib.nn.functional.fractional_max_pool2d(x, 3, output_size=5, return_indices=True,
                                                        _random_samples=_samples(lib, 2, 3, 2, dtype="float32"))
        y.backward(lib.ones_like(y))
        return y, i, x.grad, type(y.grad_fn).__name__
    ours, ref = pool(_on(device)), pool(torch)
    assert_same(ours[:3], ref[:3], device=device)
    assert ours[3] == ref[3] == "FractionalMaxPool2DBackward0"


def _on(device):
    from _oracle import on_device
    return on_device(flambeau, device)


@pytest.mark.parametrize("nd", [2, 3])
def test_fractional_max_pool_double_backward_names(device, nd):
    shape = (2, 2) + (7,) * nd

    def run(lib):
        x = lib.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
        f = getattr(lib.nn.functional, f"fractional_max_pool{nd}d")
        y = f(x, 2, output_size=3, _random_samples=_samples(lib, 2, 2, nd))
        g = lib.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)), requires_grad=True)
        gx, = lib.autograd.grad(y, x, g, create_graph=True)
        w = lib.tensor(np.random.default_rng(2).standard_normal(shape))
        gg, = lib.autograd.grad((gx * w).sum(), g)
        return [type(t.grad_fn).__name__ for t in (y, gx)], gx, gg
    ours, ref = run(_on(device)), run(torch)
    assert ours[0] == ref[0]
    assert_same(ours[1:], ref[1:], device=device)


def test_fractional_max_pool_no_host_reads(device):
    x = flambeau.randn(2, 3, 9, 9, device=device, requires_grad=True)
    with no_host_reads(device):
        y, i = flambeau.nn.functional.fractional_max_pool2d(x, 2, output_ratio=(0.5, 0.5), return_indices=True)
        y.sum().backward()
    assert y.device == i.device == x.device and tuple(y.shape) == (2, 3, 4, 4)
    # without _random_samples the windows are random, but each output is the input at its index
    assert_same(y, torch.tensor(to_numpy(x)).flatten(2).gather(2, torch.tensor(to_numpy(i)).flatten(2)).view(
        2, 3, 4, 4).float(), device=device)


def test_fractional_max_pool_empty_batch_and_output(device):
    for shape, size in [((0, 3, 8, 8), 3), ((2, 3, 8, 8), 0)]:
        def pool(lib):
            return lib.nn.functional.fractional_max_pool2d(lib.zeros(shape), 2, output_size=size,
                                                           return_indices=True,
                                                           _random_samples=lib.full((2, 3, 2), 0.5))
        ours, ref = pool(_on(device)), pool(torch)
        assert_same(ours, ref, device=device)


ERRORS = [
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 8), 2),
    lambda lib: lib.nn.functional.fractional_max_pool3d(lib.zeros(2, 3, 8, 8, 8), 2),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 8), 2, output_size=8),
    lambda lib: lib.nn.functional.fractional_max_pool3d(lib.zeros(2, 3, 6, 7, 8), 2, output_size=(4, 6, 7)),
    lambda lib: lib.nn.functional.fractional_max_pool3d(lib.zeros(2, 3, 6, 7, 8), 2, output_size=(5, 6, 7)),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 8), (2, 2, 2), output_size=3),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 8), 2, output_size=(3, 3, 3)),
    lambda lib: lib.nn.functional.fractional_max_pool3d(lib.zeros(2, 3, 8, 8, 8), (2, 2), output_size=3),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 8), 2, output_size=-1),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 0), 2, output_size=3),
    lambda lib: lib.nn.functional.fractional_max_pool3d(lib.zeros(2, 3, 0, 8, 8), 2, output_size=3),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(8, 8), 2, output_size=3,
                                                        _random_samples=lib.zeros(1, 8, 2)),
    lambda lib: lib.nn.functional.fractional_max_pool3d(lib.zeros(8, 8, 8), 2, output_size=3,
                                                        _random_samples=lib.zeros(1, 8, 3)),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 8), 2, output_ratio=(0.5, 0.5, 0.5)),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 8), 2, output_ratio=0.5),
    lambda lib: lib.nn.functional.fractional_max_pool3d(lib.zeros(2, 3, 8, 8, 8), 2, output_ratio=(0.5, 0.5)),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 8), 2, output_size=3,
                                                        _random_samples=lib.zeros(2, 3, 2, dtype=lib.float64)),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 8), 2, output_size=3,
                                                        _random_samples=lib.zeros(3, 2)),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 8), 2, output_size=3,
                                                        _random_samples=lib.zeros(1, 3, 2)),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 8), 2, output_size=3,
                                                        _random_samples=lib.zeros(2, 2, 2)),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 8), 2, output_size=3,
                                                        _random_samples=lib.zeros(2, 3, 3)),
    lambda lib: lib.nn.functional.fractional_max_pool3d(lib.zeros(2, 3, 8, 8, 8), 2, output_size=3,
                                                        _random_samples=lib.zeros(2, 3, 2)),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 8, dtype=lib.int32), 2, output_size=3,
                                                        _random_samples=lib.zeros(2, 3, 2, dtype=lib.int32)),
    lambda lib: lib.nn.functional.fractional_max_pool2d(lib.zeros(2, 3, 8, 8), 2, output_size=3,
                                                        _random_samples=lib.zeros(2, 3, 2, dtype=lib.int32)),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_fractional_max_pool_errors(device, case):
    same_error(ERRORS[case], device=device)


@pytest.mark.parametrize("nd", [2, 3])
def test_fractional_max_pool_modules(device, nd):
    shape = (2, 3) + (8,) * nd

    def run(lib):
        cls = getattr(lib.nn, f"FractionalMaxPool{nd}d")
        m = cls(2, output_ratio=0.5, return_indices=True, _random_samples=_samples(lib, 2, 3, nd))
        x = lib.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
        y, i = m(x)
        y.sum().backward()
        return (y, i, x.grad), (m.kernel_size, m.output_size, m.output_ratio, list(dict(m.named_buffers())))
    ours, ref = run(_on(device)), run(torch)
    assert_same(ours[0], ref[0], device=device)
    assert ours[1] == ref[1]


FRACTIONAL_MODULE_ERRORS = [
    lambda lib: lib.nn.FractionalMaxPool2d(2),
    lambda lib: lib.nn.FractionalMaxPool3d(2),
    lambda lib: lib.nn.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5),
    lambda lib: lib.nn.FractionalMaxPool2d(2, output_ratio=(0.5, 1.0)),
    lambda lib: lib.nn.FractionalMaxPool3d(2, output_ratio=1.5),
    lambda lib: lib.nn.FractionalMaxPool3d(0, output_size=3),
    lambda lib: lib.nn.FractionalMaxPool3d((2, 0, 2), output_size=3),
]


@pytest.mark.parametrize("case", range(len(FRACTIONAL_MODULE_ERRORS)))
def test_fractional_max_pool_module_errors(case):
    same_error(FRACTIONAL_MODULE_ERRORS[case])


# -- AdaptiveLogSoftmaxWithLoss --------------------------------------------------------------------------

def _asm_pair(device, *args, **kw):
    ref = torch.nn.AdaptiveLogSoftmaxWithLoss(*args, **kw).double()
    ours = flambeau.nn.AdaptiveLogSoftmaxWithLoss(*args, **kw).double().to(device)
    ours.load_state_dict({k: flambeau.tensor(to_numpy(v)) for k, v in ref.state_dict().items()})
    return ours, ref


@pytest.mark.parametrize("kw", [dict(), dict(div_value=2.0, head_bias=True)])
def test_adaptive_log_softmax_matches_torch(device, kw):
    ours, ref = _asm_pair(device, 16, 20, [4, 9, 15], **kw)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((7, 16))
    target = np.array([0, 19, 5, 3, 12, 10, 16])
    x, xt = flambeau.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, out_ref = ours(x, flambeau.tensor(target, device=device)), ref(xt, torch.tensor(target))
    assert type(out).__name__ == "_ASMoutput" and out._fields == ("output", "loss")
    assert_same(tuple(out), tuple(out_ref), device=device)
    out.loss.backward()
    out_ref.loss.backward()
    assert_same(x.grad, xt.grad, device=device)
    for (name, p), (_, q) in zip(ours.named_parameters(), ref.named_parameters()):
        assert_same(p.grad, q.grad, device=device), name
    assert_same(ours.log_prob(x), ref.log_prob(xt), device=device)
    assert_same(ours.predict(x), ref.predict(xt), device=device)
    # unbatched: a 1-D input with a 0-d target
    assert_same(tuple(ours(x[2], flambeau.tensor(5, device=device))), tuple(ref(xt[2], torch.tensor(5))),
                device=device)


def test_adaptive_log_softmax_predict_paths(device):
    ours, ref = _asm_pair(device, 6, 10, [3])
    with torch.no_grad():            # a head that picks the shortlist, then the cluster, then a mix
        for bias in (10.0, -10.0):
            ref.head.weight[3].fill_(0.0)
            ref.head.weight[:3].fill_(0.0)
            ref.head.weight[3, 0] = bias
            ours.head.weight.data = flambeau.tensor(to_numpy(ref.head.weight), device=device)
            a = np.abs(np.random.default_rng(1).standard_normal((5, 6)))
            a[1, 0] = -a[1, 0]
            assert_same(ours.predict(flambeau.tensor(a, device=device)), ref.predict(torch.tensor(a)),
                        device=device)


ASM_ERRORS = [
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, []),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [5, 3]),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [0, 3]),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 10]),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 3]),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [2.5]),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(lib.zeros(4, 8), lib.tensor([0, 1, 2])),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(lib.zeros(3, 2, 8), lib.tensor([0, 1, 2])),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(lib.zeros(3, 8), lib.tensor(1)),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(lib.zeros(3, 8), lib.zeros(3, 1, dtype=lib.long)),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(lib.zeros(3, 8), lib.tensor([0, 10, -1])),
]


@pytest.mark.parametrize("case", range(len(ASM_ERRORS)))
def test_adaptive_log_softmax_errors(device, case):
    if case in (7, 8):
        need_oracle(2, 13, "AdaptiveLogSoftmaxWithLoss's messages for input and target ranks")
    same_error(ASM_ERRORS[case], device=device)
