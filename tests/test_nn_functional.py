"""nn.functional and the losses against torch: values, input gradients, errors."""
import warnings

import numpy as np
import pytest

import flambeau
from _oracle import (assert_same, check_against_torch, gradcheck, need_torch, no_host_reads, on_device,
                     same_error)

torch = need_torch()


def _targets(lib, a, device="cpu"):
    if lib is not torch:
        return flambeau.tensor(a, device=device)
    return torch.tensor(a)


# -- cross entropy / nll ------------------------------------------------------------------------
CE_CASES = [
    ("basic", (6, 5), (6,), {}),
    ("sum", (6, 5), (6,), {"reduction": "sum"}),
    ("none", (6, 5), (6,), {"reduction": "none"}),
    ("weight", (6, 5), (6,), {"weight": True}),
    ("ignore", (6, 5), (6,), {"ignore_index": 2}),
    ("weight_ignore_none", (6, 5), (6,), {"weight": True, "ignore_index": 1, "reduction": "none"}),
    ("smoothing", (6, 5), (6,), {"label_smoothing": 0.2}),
    ("smoothing_weight", (6, 5), (6,), {"label_smoothing": 0.1, "weight": True}),
    ("smoothing_weight_ignore_sum", (6, 5), (6,), {"label_smoothing": 0.3, "weight": True, "ignore_index": 0,
                                                   "reduction": "sum"}),
    ("smoothing_none", (6, 5), (6,), {"label_smoothing": 0.3, "reduction": "none", "ignore_index": 4}),
    ("nd", (3, 4, 2, 5), (3, 2, 5), {}),
    ("nd_weight_none", (3, 4, 2), (3, 2), {"weight": True, "reduction": "none"}),
    ("unbatched", (5,), (), {}),
]


@pytest.mark.parametrize("name,shape,tshape,kw", CE_CASES, ids=[c[0] for c in CE_CASES])
def test_cross_entropy_class_indices(name, shape, tshape, kw, device):
    c = shape[1] if len(shape) > 1 else shape[0]
    rng = np.random.default_rng(1)
    t = rng.integers(0, c, tshape)
    w = rng.random(c) + 0.5

    def fn(lib, x):
        k = dict(kw)
        if k.pop("weight", False):
            k["weight"] = lib.tensor(w, device=device) if lib is not torch else torch.tensor(w)
        return lib.nn.functional.cross_entropy(x, _targets(lib, t, device), **k)
    check_against_torch(fn, shape, device=device)


@pytest.mark.parametrize("targets", [[-100, 2, 0, -100, 4, 1], [3, 3, 3, 3, 3, 3], [0, 4, -100, 0, 4, 2]])
@pytest.mark.parametrize("kw", [{}, {"reduction": "sum"}, {"reduction": "none"}, {"ignore_index": 3},
                                {"ignore_index": 4, "reduction": "none"}])
def test_cross_entropy_with_and_without_ignored_targets(targets, kw, device):
    # the default ignore_index -100 among the targets, an ignore_index inside or at the edge of
    # their range, and none ignored at all take different paths
    t = np.array(targets)
    t[t == -100] = kw.get("ignore_index", -100)

    def fn(lib, x):
        return lib.nn.functional.cross_entropy(x, _targets(lib, t, device), **kw)
    check_against_torch(fn, (6, 5), device=device)


@pytest.mark.parametrize("targets,ignore", [([0, 5, 1], -100), ([-1, 2, 1], -100), ([-100, 7, 1], -100),
                                            ([2, -3, 2], 2), ([4, 1, 9], 4)])
def test_cross_entropy_target_out_of_bounds(targets, ignore, device):
    messages = []
    for lib in (on_device(flambeau, device), torch):
        with pytest.raises(IndexError) as e:
            lib.nn.functional.cross_entropy(lib.zeros(3, 5), lib.tensor(targets), ignore_index=ignore)
        messages.append(str(e.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("kw", [{}, {"reduction": "none"}, {"label_smoothing": 0.25, "weight": True},
                                {"reduction": "sum", "weight": True}])
def test_cross_entropy_probabilities(kw, device):
    rng = np.random.default_rng(2)
    w = rng.random(4) + 0.5

    def fn(lib, x, t):
        k = dict(kw)
        if k.pop("weight", False):
            k["weight"] = lib.tensor(w, device=device) if lib is not torch else torch.tensor(w)
        return lib.nn.functional.cross_entropy(x, t.softmax(1), **k)
    check_against_torch(fn, (5, 4), (5, 4), device=device)
    check_against_torch(fn, (2, 4, 3), (2, 4, 3), device=device)


def test_cross_entropy_grad_fn_and_double_backward():
    x = flambeau.randn(4, 3, dtype=flambeau.float64, requires_grad=True)
    t = flambeau.tensor([0, 2, 1, 2])
    loss = flambeau.nn.functional.cross_entropy(x, t)
    assert type(loss.grad_fn).__name__ == "NllLossBackward0"
    gradcheck(lambda lib, x: lib.nn.functional.cross_entropy(x, flambeau.tensor([0, 2, 1, 2]),
                                                             label_smoothing=0.1), (4, 3))
    # second derivative through the fused backward
    rx = torch.tensor(x.detach().numpy(), requires_grad=True)
    (g,) = flambeau.autograd.grad(loss, x, create_graph=True)
    (rg,) = torch.autograd.grad(torch.nn.functional.cross_entropy(rx, torch.tensor([0, 2, 1, 2])), rx,
                                create_graph=True)
    (gg,) = flambeau.autograd.grad((g * g).sum(), x)
    (rgg,) = torch.autograd.grad((rg * rg).sum(), rx)
    assert_same(gg, rgg)


def test_cross_entropy_float32_lecture_shape():
    """Batch 100, 10 classes, float32, as in the lecture's training loop."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 10)).astype(np.float32)
    t = rng.integers(0, 10, 100)
    ours = flambeau.tensor(x, requires_grad=True)
    ref = torch.tensor(x, requires_grad=True)
    lo = flambeau.nn.CrossEntropyLoss()(ours, flambeau.tensor(t))
    lr = torch.nn.CrossEntropyLoss()(ref, torch.tensor(t))
    assert_same(lo, lr, rtol=1e-5)
    lo.backward()
    lr.backward()
    assert_same(ours.grad, ref.grad, rtol=1e-5, atol=1e-7)


def test_cross_entropy_weight_gradient_rules_match_torch():
    rng = np.random.default_rng(0)
    w = rng.random(4) + 0.5
    check_against_torch(lambda lib, x, t, w: lib.nn.functional.cross_entropy(x, t.softmax(1), weight=w.abs()),
                        (5, 4), (5, 4), (4,))
    for lib in (flambeau, torch):
        wt = lib.tensor(w, requires_grad=True)
        with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
            lib.nn.functional.cross_entropy(lib.zeros(2, 4, dtype=lib.float64), lib.tensor([1, 2]), weight=wt)
        with lib.no_grad():
            lib.nn.functional.cross_entropy(lib.zeros(2, 4, dtype=lib.float64), lib.tensor([1, 2]), weight=wt)


def test_cross_entropy_errors_match_torch():
    for lib in (flambeau, torch):
        x = lib.zeros(3, 4)
        with pytest.raises(ValueError):
            lib.nn.functional.cross_entropy(x, lib.tensor([0, 1]))
        with pytest.raises(IndexError):
            lib.nn.functional.cross_entropy(x, lib.tensor([0, 1, 4]))
        with pytest.raises(RuntimeError):
            lib.nn.functional.cross_entropy(x, lib.tensor([0, 1, 2], dtype=lib.int32))
        with pytest.raises(RuntimeError):
            lib.nn.functional.cross_entropy(x, lib.tensor([0, 1, 2]), weight=lib.ones(3))
        with pytest.raises(ValueError):
            lib.nn.functional.cross_entropy(x, lib.tensor([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match=r"batch_size \(3\).*batch_size \(2\)"):
        flambeau.nn.functional.cross_entropy(flambeau.zeros(3, 4), flambeau.tensor([0, 1]))


@pytest.mark.parametrize("kw", [{}, {"reduction": "sum"}, {"reduction": "none"}, {"weight": True},
                                {"ignore_index": 1, "weight": True}])
def test_nll_loss(kw, device):
    rng = np.random.default_rng(3)
    t = rng.integers(0, 4, 6)
    w = rng.random(4) + 0.5

    def fn(lib, x):
        k = dict(kw)
        if k.pop("weight", False):
            k["weight"] = lib.tensor(w, device=device) if lib is not torch else torch.tensor(w)
        return lib.nn.functional.nll_loss(x.log_softmax(1), _targets(lib, t, device), **k)
    check_against_torch(fn, (6, 4), device=device)


def test_nll_loss_all_ignored_is_nan():
    for lib in (flambeau, torch):
        r = lib.nn.functional.nll_loss(lib.zeros(2, 3), lib.tensor([1, 1]), ignore_index=1)
        assert np.isnan(r.item())


# -- regression and other losses ----------------------------------------------------------------
RED = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("name,kw", [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}),
                                     ("smooth_l1_loss", {"beta": 0.5}), ("smooth_l1_loss", {"beta": 0.0}),
                                     ("huber_loss", {}), ("huber_loss", {"delta": 0.3}),
                                     ("soft_margin_loss", {}), ("poisson_nll_loss", {}),
                                     ("kl_div", {"log_target": True})])
def test_pointwise_losses(name, kw, reduction, device):
    def fn(lib, x, y):
        if name == "soft_margin_loss":      # torch does not differentiate its target
            y = y.detach().sign()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(lib.nn.functional, name)(x, y, reduction=reduction, **kw)
    check_against_torch(fn, (4, 5), (4, 5), device=device)


def test_kl_div(device):
    def fn(lib, x, t):
        return lib.nn.functional.kl_div(x.log_softmax(1), t.softmax(1), reduction="batchmean")
    check_against_torch(fn, (4, 5), (4, 5), device=device)
    with pytest.warns(UserWarning):
        flambeau.nn.functional.kl_div(flambeau.zeros(2, 2), flambeau.ones(2, 2))
    # zero targets contribute nothing (not nan)
    t = np.array([[0.0, 0.5, 0.5]])
    x = np.log(np.array([[0.2, 0.3, 0.5]]))
    assert_same(flambeau.nn.functional.kl_div(flambeau.tensor(x), flambeau.tensor(t), reduction="sum"),
                torch.nn.functional.kl_div(torch.tensor(x), torch.tensor(t), reduction="sum"))


@pytest.mark.parametrize("reduction", RED)
def test_bce_losses(reduction, device):
    rng = np.random.default_rng(4)
    w = rng.random(5) + 0.5
    pw = rng.random(5) + 0.5

    def bce(lib, x, t):
        return lib.nn.functional.binary_cross_entropy(x.sigmoid(), t.sigmoid(), reduction=reduction,
                                                      weight=lib.tensor(w, device=device) if lib is not torch
                                                      else torch.tensor(w))
    check_against_torch(bce, (4, 5), (4, 5), device=device)

    def bcel(lib, x, t):
        k = {"pos_weight": lib.tensor(pw, device=device) if lib is not torch else torch.tensor(pw)}
        return lib.nn.functional.binary_cross_entropy_with_logits(x * 5, t.sigmoid(), reduction=reduction, **k)
    check_against_torch(bcel, (4, 5), (4, 5), device=device)
    check_against_torch(lambda lib, x, t: lib.nn.BCEWithLogitsLoss(reduction=reduction)(x * 30, t.sigmoid()),
                        (4, 5), (4, 5), device=device)


def test_bce_errors_match_torch():
    for lib in (flambeau, torch):
        with pytest.raises(RuntimeError):
            lib.nn.functional.binary_cross_entropy(lib.tensor([1.5]), lib.tensor([1.0]))
        with pytest.raises(ValueError):
            lib.nn.functional.binary_cross_entropy(lib.tensor([0.5, 0.5]), lib.tensor([1.0]))
        with pytest.raises(ValueError):
            lib.nn.functional.binary_cross_entropy_with_logits(lib.tensor([0.5, 0.5]), lib.tensor([1.0]))


@pytest.mark.parametrize("x,t", [([float("nan")], [1.0]), ([0.5], [float("nan")]), ([0.5, 2.0], [2.0, 0.5]),
                                 ([2.0, 0.5], [0.5, 2.0]), ([0.5], [-0.1]), ([2.0], [2.0])])
def test_bce_range_checks_name_the_first_bad_element(x, t):
    # input, then target, element by element, as PyTorch's kernel checks; NaN is out of range
    messages = []
    for lib in (flambeau, torch):
        with pytest.raises(RuntimeError) as e:
            lib.nn.functional.binary_cross_entropy(lib.tensor(x), lib.tensor(t), reduction="none")
        messages.append(str(e.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("reduction", RED)
def test_margin_losses(reduction, device):
    rng = np.random.default_rng(5)
    y = np.where(rng.random(6) > 0.5, 1.0, -1.0)
    cls = rng.integers(0, 4, 6)
    yt = lambda lib: lib.tensor(y, device=device) if lib is not torch else torch.tensor(y)  # noqa: E731
    F = lambda lib: lib.nn.functional  # noqa: E731
    check_against_torch(lambda lib, a, b: F(lib).margin_ranking_loss(a, b, yt(lib), margin=0.3,
                                                                     reduction=reduction), (6,), (6,), device=device)
    check_against_torch(lambda lib, a: F(lib).hinge_embedding_loss(a, yt(lib), margin=0.5, reduction=reduction),
                        (6,), device=device)
    check_against_torch(lambda lib, a, b: F(lib).cosine_embedding_loss(a, b, yt(lib), margin=0.1,
                                                                       reduction=reduction),
                        (6, 3), (6, 3), device=device)
    check_against_torch(lambda lib, a, p, n: F(lib).triplet_margin_loss(a, p, n, reduction=reduction),
                        (6, 3), (6, 3), (6, 3), device=device)
    check_against_torch(lambda lib, a, p, n: F(lib).triplet_margin_loss(a, p, n, p=1, swap=True, margin=2.0,
                                                                        reduction=reduction),
                        (6, 3), (6, 3), (6, 3), device=device)
    for p in (1, 2):
        check_against_torch(lambda lib, x: F(lib).multi_margin_loss(x, _targets(lib, cls, device), p=p,
                                                                    reduction=reduction), (6, 4), device=device)
    w = rng.random(4) + 0.5
    check_against_torch(lambda lib, x: lib.nn.MultiMarginLoss(
        weight=lib.tensor(w, device=device) if lib is not torch else torch.tensor(w), margin=0.7,
        reduction=reduction)(x, _targets(lib, cls, device)), (6, 4), device=device)


@pytest.mark.parametrize("reduction", RED)
def test_nll_family(reduction, device):
    F = lambda lib: lib.nn.functional  # noqa: E731
    check_against_torch(lambda lib, x, t: F(lib).poisson_nll_loss(x, t.abs() * 3, log_input=True, full=True,
                                                                  reduction=reduction), (4, 5), (4, 5), device=device)
    check_against_torch(lambda lib, x, t: F(lib).poisson_nll_loss(x.abs() + 0.1, t.abs(), log_input=False,
                                                                  reduction=reduction), (4, 5), (4, 5), device=device)
    check_against_torch(lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v.abs() + 0.1, reduction=reduction),
                        (4, 5), (4, 5), (4, 5), device=device)
    check_against_torch(lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v.abs() + 0.1, full=True,
                                                                      reduction=reduction),
                        (4, 5), (4, 5), (4, 1), device=device)
    check_against_torch(lambda lib, x, t, v: lib.nn.GaussianNLLLoss(reduction=reduction)(x, t, v.abs()),
                        (4, 5), (4, 5), (4,), device=device)


def test_gaussian_nll_errors_match_torch():
    for lib in (flambeau, torch):
        with pytest.raises(ValueError):
            lib.nn.functional.gaussian_nll_loss(lib.zeros(4, 5), lib.zeros(4, 5), lib.ones(3, 2))
        with pytest.raises(ValueError):
            lib.nn.functional.gaussian_nll_loss(lib.zeros(4, 5), lib.zeros(4, 5), -lib.ones(4, 5))


def test_mse_loss_warns_on_broadcast_and_legacy_flags():
    with pytest.warns(UserWarning, match="target size"):
        flambeau.nn.functional.mse_loss(flambeau.zeros(3, 1), flambeau.zeros(3))
    x, y = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    for kw in ({"size_average": False}, {"reduce": False}, {"size_average": True, "reduce": True}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_same(flambeau.nn.MSELoss(**kw)(flambeau.tensor(x), flambeau.tensor(y)),
                        torch.nn.MSELoss(**kw)(torch.tensor(x), torch.tensor(y)))


def _warned(fn):
    """fn()'s result and the (category, message) of each warning it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [(w.category.__name__, str(w.message)) for w in caught]


LEGACY_LOSS_CALLS = {
    "mse size_average": lambda L, x, t: L.nn.functional.mse_loss(x, x.sin(), size_average=False),
    "l1 reduce": lambda L, x, t: L.nn.functional.l1_loss(x, x.sin(), reduce=False),
    "ce both": lambda L, x, t: L.nn.functional.cross_entropy(x, t, size_average=False, reduce=True),
    "nll wins over reduction": lambda L, x, t: L.nn.functional.nll_loss(x, t, reduce=False, reduction="sum"),
    "kl_div legacy": lambda L, x, t: L.nn.functional.kl_div(x, x.exp(), size_average=True),
    "kl_div batchmean legacy": lambda L, x, t: L.nn.functional.kl_div(x, x.exp(), reduce=False, reduction="batchmean"),
    "module size_average": lambda L, x, t: L.nn.MSELoss(size_average=False)(x, x.sin()),
    "module reduce": lambda L, x, t: L.nn.SoftMarginLoss(reduce=False)(x, x.sign()),
    "mse elementwise_mean": lambda L, x, t: L.nn.functional.mse_loss(x, x.sin(), reduction="elementwise_mean"),
    "ce elementwise_mean": lambda L, x, t: L.nn.functional.cross_entropy(x, t, reduction="elementwise_mean"),
    "kl_div elementwise_mean": lambda L, x, t: L.nn.functional.kl_div(x, x.exp(), reduction="elementwise_mean"),
    "module elementwise_mean": lambda L, x, t: L.nn.HingeEmbeddingLoss(reduction="elementwise_mean")(x, x.sign()),
    "multi_margin elementwise_mean": lambda L, x, t: L.nn.functional.multi_margin_loss(
        x, t, reduction="elementwise_mean"),
    "ctc elementwise_mean": lambda L, x, t: L.nn.functional.ctc_loss(
        x.log_softmax(1).unsqueeze(1).expand(4, 2, 3), L.tensor([[1], [2]]), (4, 3), (1, 1),
        reduction="elementwise_mean"),
}


@pytest.mark.parametrize("name", list(LEGACY_LOSS_CALLS))
def test_legacy_reduction_arguments_warn_as_torch(name, device):
    """size_average/reduce give PyTorch's deprecation warning (naming the reduction they stand for),
    and reduction='elementwise_mean' reads as 'mean' with its own."""
    x = np.random.default_rng(0).standard_normal((4, 3))
    t = np.array([0, 2, 1, 1])
    ours, our_warnings = _warned(lambda: LEGACY_LOSS_CALLS[name](
        on_device(flambeau, device), flambeau.tensor(x, device=device), flambeau.tensor(t, device=device)))
    ref, ref_warnings = _warned(lambda: LEGACY_LOSS_CALLS[name](torch, torch.tensor(x), torch.tensor(t)))
    assert_same(ours, ref)
    assert our_warnings == ref_warnings and ref_warnings


@pytest.mark.parametrize("call", [
    lambda F, x: F.poisson_nll_loss(x, x, reduction="elementwise_mean"),
    lambda F, x: F.gaussian_nll_loss(x, x, x.abs(), reduction="elementwise_mean"),
    lambda F, x: F.multilabel_soft_margin_loss(x, x, reduction="elementwise_mean"),
    lambda F, x: F.triplet_margin_with_distance_loss(x, x, x, reduction="elementwise_mean"),
    lambda F, x: F.gaussian_nll_loss(x, x, x.abs(), reduction="avg"),
])
def test_losses_reduced_in_python_refuse_elementwise_mean(call, device):
    # PyTorch reduces these in Python with its own check: no deprecated spelling, their own messages
    same_error(lambda lib: call(lib.nn.functional, lib.ones(2, 3)), device)


def test_ignored_targets_give_positive_zeros_as_torch(device):
    """An ignored target's loss, and the gradient of nll_loss off the targets, are +0 (PyTorch fills
    them with zeros), not the -0 of a negated product."""
    x = np.random.default_rng(1).standard_normal((4, 3))
    t = np.array([0, 2, 1, 2])
    calls = [lambda F, x, t: F.nll_loss(F.log_softmax(x, 1), t, reduction="none"),
             lambda F, x, t: F.nll_loss(x.abs(), t, ignore_index=2, reduction="none"),
             lambda F, x, t: F.nll_loss(F.log_softmax(x, 1), t, weight=x[0].detach().abs(), ignore_index=2,
                                        reduction="none"),
             lambda F, x, t: F.cross_entropy(x, t, weight=x[0].detach().abs(), ignore_index=0, reduction="none"),
             lambda F, x, t: F.cross_entropy(x, t, ignore_index=1, label_smoothing=0.3, reduction="none"),
             lambda F, x, t: F.nll_loss(F.log_softmax(x, 1), t, weight=x[0].detach().abs(), ignore_index=1)]
    for call in calls:
        signs = []
        for lib, tensor in ((flambeau, lambda a: flambeau.tensor(a, device=device)), (torch, torch.tensor)):
            xx = tensor(x).requires_grad_()
            out = call(lib.nn.functional, xx, tensor(t))
            out.backward(lib.ones_like(out))
            signs.append((np.signbit(out.detach().cpu().numpy()).tolist(),
                          np.signbit(xx.grad.cpu().numpy()).tolist()))
        assert signs[0] == signs[1]


FUSED_LOSSES = {
    "bce_with_logits": lambda L, x, t: L.nn.functional.binary_cross_entropy_with_logits(x, t.sigmoid(), reduction=R[0]),
    "bce_with_logits weights": lambda L, x, t: L.nn.functional.binary_cross_entropy_with_logits(
        x, t.sigmoid(), weight=L.tensor([[0.5], [2.0], [1.0]], dtype=L.float64),
        pos_weight=L.tensor([1.0, 3.0, 0.5, 2.0], dtype=L.float64), reduction=R[0]),
    "soft_margin": lambda L, x, t: L.nn.functional.soft_margin_loss(x, t.detach().sign(), reduction=R[0]),
    "multi_margin": lambda L, x, t: L.nn.functional.multi_margin_loss(x, L.tensor([0, 3, 1]), reduction=R[0]),
    "multi_margin p2 weight": lambda L, x, t: L.nn.functional.multi_margin_loss(
        x, L.tensor([2, 3, 1]), p=2, margin=0.7, weight=L.tensor([1.0, 2.0, 0.5, 1.5], dtype=L.float64),
        reduction=R[0]),
    "multi_margin 1-D": lambda L, x, t: L.nn.functional.multi_margin_loss(x[1], L.tensor([2]), reduction=R[0]),
    "multilabel_margin": lambda L, x, t: L.nn.functional.multilabel_margin_loss(
        x, L.tensor([[3, 0, -1, 1], [1, 2, 3, 0], [-1, 1, 1, 1]]), reduction=R[0]),
    "multilabel_margin 1-D": lambda L, x, t: L.nn.functional.multilabel_margin_loss(
        x[0], L.tensor([2, 1, -1, 0]), reduction=R[0]),
}
R = ["mean"]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name", list(FUSED_LOSSES))
def test_losses_with_their_own_node_match_torch(name, reduction, device):
    """The losses PyTorch computes in one kernel: values, gradients and the node's name (which
    print(loss) shows)."""
    R[0] = reduction
    check_against_torch(FUSED_LOSSES[name], (3, 4), (3, 4), device=device)
    x, t = np.random.default_rng(2).standard_normal((2, 3, 4))
    names = [type(FUSED_LOSSES[name](lib, lib.tensor(x, requires_grad=True), lib.tensor(t)).grad_fn).__name__
             for lib in (on_device(flambeau, device), torch)]
    assert names[0] == names[1]


def test_bce_with_logits_differentiates_twice_and_its_target(device):
    gradcheck(lambda L, x, t: L.nn.functional.binary_cross_entropy_with_logits(
        x, t.sigmoid(), pos_weight=L.tensor([2.0, 0.5, 1.0], dtype=L.float64)), (4, 3), (4, 3), device=device)
    gradcheck(lambda L, x: L.autograd.grad(L.nn.functional.binary_cross_entropy_with_logits(
        x, L.full((4, 3), 0.3, dtype=L.float64)), x, create_graph=True)[0], (4, 3), device=device)


@pytest.mark.parametrize("call", [
    lambda L, x: L.nn.functional.binary_cross_entropy_with_logits(x, x.sigmoid().double(), reduction="none"),
    lambda L, x: L.nn.functional.binary_cross_entropy_with_logits(x, x.sigmoid(), weight=L.ones(3, dtype=L.float64)),
    lambda L, x: L.nn.functional.binary_cross_entropy_with_logits(x, x.sigmoid(), pos_weight=L.ones(1, 2, 3)),
    lambda L, x: L.nn.functional.binary_cross_entropy_with_logits(x, x.sigmoid(), weight=L.ones(5, 2, 3)),
    lambda L, x: L.nn.functional.binary_cross_entropy_with_logits(x, (x > 0).long()),
    lambda L, x: L.nn.functional.binary_cross_entropy_with_logits(x, x > 0),
    lambda L, x: L.nn.functional.binary_cross_entropy_with_logits(x.long(), x.long()),
    lambda L, x: L.nn.functional.soft_margin_loss(x, x.sign().double(), reduction="none"),
    lambda L, x: L.nn.functional.soft_margin_loss(x, L.ones(3)),
    lambda L, x: L.nn.functional.soft_margin_loss(x, L.ones(4, 2, 3)),
    lambda L, x: L.nn.functional.soft_margin_loss(x.long(), x.long()),
    lambda L, x: L.nn.functional.multi_margin_loss(x, L.tensor([0, 3])),
    lambda L, x: L.nn.functional.multi_margin_loss(x, L.tensor([0, -1])),
    lambda L, x: L.nn.functional.multi_margin_loss(x, L.tensor([0, 1, 1])),
    lambda L, x: L.nn.functional.multi_margin_loss(x, L.tensor([[0, 1]])),
    lambda L, x: L.nn.functional.multi_margin_loss(x, L.tensor([0., 1])),
    lambda L, x: L.nn.functional.multi_margin_loss(x, L.tensor([0, 1]).int()),
    lambda L, x: L.nn.functional.multi_margin_loss(x, L.tensor([0, 1]), weight=L.ones(4)),
    lambda L, x: L.nn.functional.multi_margin_loss(x, L.tensor([0, 1]), weight=L.ones(3, dtype=L.float64)),
    lambda L, x: L.nn.functional.multi_margin_loss(x.long(), L.tensor([0., 1])),
    lambda L, x: L.nn.functional.multi_margin_loss(x[0], L.tensor([0, 1])),
    lambda L, x: L.nn.functional.multi_margin_loss(x.unsqueeze(0), L.tensor([0, 1])),
    lambda L, x: L.nn.functional.multi_margin_loss(x[:, :0], L.tensor([0, 1])),
    lambda L, x: L.nn.functional.multi_margin_loss(x, L.tensor([0, 1]), margin=L.tensor(2.0), reduction="none"),
    lambda L, x: L.nn.functional.cosine_embedding_loss(x, x[:, :2], L.ones(2)),
    lambda L, x: L.nn.functional.cosine_embedding_loss(x, x, L.ones(2, 1)),
    lambda L, x: L.nn.functional.cosine_embedding_loss(x[0], x[0], L.ones(2)),
    lambda L, x: L.nn.functional.cosine_embedding_loss(x, x, L.tensor(1.0)),
    lambda L, x: L.nn.functional.cosine_embedding_loss(x, x[:1], L.ones(2)),
    lambda L, x: L.nn.functional.cosine_embedding_loss(x[0], x[1], L.tensor(-1.0), margin=0.5),
])
def test_loss_dtypes_shapes_and_errors_as_torch(call, device):
    """Result dtype and shape (the fused losses write into input- or target-typed results), or the error."""
    x = np.random.default_rng(3).standard_normal((2, 3)).astype(np.float32)
    results = []
    for lib in (on_device(flambeau, device), torch):
        try:
            out = call(lib, flambeau.tensor(x, device=device) if lib is not torch else torch.tensor(x))
            results.append((out.dtype.__repr__(), tuple(out.shape), np.round(out.detach().cpu().numpy(), 5).tolist()))
        except Exception as e:
            results.append((type(e).__name__, str(e)))
    assert results[0] == results[1]


def test_composed_losses_name_their_last_node_as_torch(device):
    x = np.random.default_rng(4).standard_normal((4, 3))
    p = np.full((4, 3), 1 / 3)
    calls = [lambda F, x, L: F.cross_entropy(x, L.tensor(p)),
             lambda F, x, L: F.cross_entropy(x, L.tensor(p), reduction="sum"),
             lambda F, x, L: F.cross_entropy(x, L.tensor(p), reduction="none"),
             lambda F, x, L: F.cross_entropy(x, L.tensor([0, 2, 1, 1]), label_smoothing=0.1),
             lambda F, x, L: F.cross_entropy(x, L.tensor([0, 2, 1, 1])),
             lambda F, x, L: F.margin_ranking_loss(x, x.flip(0), x.sign(), reduction="none"),
             lambda F, x, L: F.triplet_margin_loss(x, x.flip(0), x.flip(1), reduction="none")]
    for call in calls:
        names = [type(call(lib.nn.functional, lib.tensor(x, requires_grad=True), lib).grad_fn).__name__
                 for lib in (on_device(flambeau, device), torch)]
        assert names[0] == names[1]


# -- activations / misc functional --------------------------------------------------------------
@pytest.mark.parametrize("name,kw", [("relu", {}), ("relu6", {}), ("elu", {"alpha": 0.5}), ("selu", {}),
                                     ("celu", {"alpha": 2.0}), ("gelu", {}), ("gelu", {"approximate": "tanh"}),
                                     ("silu", {}), ("mish", {}), ("softplus", {}), ("softsign", {}),
                                     ("hardtanh", {}), ("hardsigmoid", {}), ("hardswish", {}),
                                     ("leaky_relu", {"negative_slope": 0.2}), ("logsigmoid", {}),
                                     ("tanhshrink", {}), ("softshrink", {}), ("hardshrink", {"lambd": 0.2}),
                                     ("glu", {"dim": 0}), ("softmax", {"dim": 1}), ("log_softmax", {"dim": 0}),
                                     ("softmin", {"dim": 1}), ("normalize", {}), ("normalize", {"p": 1, "dim": 0})])
def test_activation_functions(name, kw, device):
    check_against_torch(lambda lib, x: getattr(lib.nn.functional, name)(x, **kw), (4, 6), device=device)


@pytest.mark.parametrize("name,kw", [("relu", {}), ("elu", {}), ("leaky_relu", {}), ("hardtanh", {}),
                                     ("silu", {}), ("threshold", {"threshold": 0.1, "value": 2.0})])
def test_inplace_activations(name, kw, device):
    def fn(lib, x):
        y = x * 1
        out = getattr(lib.nn.functional, name)(y, inplace=True, **kw)
        assert out is y
        return y
    check_against_torch(fn, (4, 5), device=device)


def test_inplace_activation_on_leaf_raises_like_torch():
    for lib in (flambeau, torch):
        x = lib.randn(3, requires_grad=True)
        with pytest.raises(RuntimeError):
            lib.nn.functional.relu(x, inplace=True)
        with pytest.raises(RuntimeError):
            lib.nn.functional.elu(x, inplace=True)


def test_prelu_rrelu_eval(device):
    check_against_torch(lambda lib, x, w: lib.nn.functional.prelu(x, w), (2, 3, 4), (3,), device=device)
    check_against_torch(lambda lib, x: lib.nn.functional.rrelu(x, training=False), (4, 5), device=device)


def test_linear_bilinear_functional(device):
    F = lambda lib: lib.nn.functional  # noqa: E731
    check_against_torch(lambda lib, x, w, b: F(lib).linear(x, w, b), (4, 3), (5, 3), (5,), device=device)
    check_against_torch(lambda lib, x, w: F(lib).linear(x, w), (2, 4, 3), (5, 3), device=device)
    check_against_torch(lambda lib, x, w, b: F(lib).linear(x.t(), w, b), (3, 4), (5, 3), (5,), device=device)
    check_against_torch(lambda lib, a, b, w, c: F(lib).bilinear(a, b, w, c), (2, 3, 4), (2, 3, 5), (6, 4, 5), (6,),
                        device=device)
    x = flambeau.randn(4, 3, requires_grad=True)
    assert type(flambeau.nn.functional.linear(x, flambeau.randn(5, 3), flambeau.randn(5)).grad_fn).__name__ \
        == "AddmmBackward0"


def test_one_hot():
    t = np.array([[0, 3], [2, 1]])
    assert_same(flambeau.nn.functional.one_hot(flambeau.tensor(t)), torch.nn.functional.one_hot(torch.tensor(t)))
    assert_same(flambeau.nn.functional.one_hot(flambeau.tensor(t), 6),
                torch.nn.functional.one_hot(torch.tensor(t), 6))
    for lib in (flambeau, torch):
        with pytest.raises(RuntimeError):
            lib.nn.functional.one_hot(lib.tensor([0, 5]), 3)
        with pytest.raises(RuntimeError):
            lib.nn.functional.one_hot(lib.tensor([0.0, 1.0]))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_modes(mode, device):
    for pad, shape in (([1, 2], (2, 3, 4)), ([1, 0, 2, 1], (1, 2, 3, 4)), ([2, 1, 1, 2], (2, 3, 4))):
        check_against_torch(lambda lib, x: lib.nn.functional.pad(x, pad, mode=mode), shape, device=device)
    check_against_torch(lambda lib, x: lib.nn.functional.pad(x, [1, 1, 2, 0, 1, 1], value=2.5), (2, 3, 4),
                        device=device)
    for lib in (flambeau, torch):
        with pytest.raises(RuntimeError):
            lib.nn.functional.pad(lib.zeros(2, 3), [1])


def test_pad_reflect_too_large_raises():
    for lib in (flambeau, torch):
        with pytest.raises(RuntimeError):
            lib.nn.functional.pad(lib.zeros(1, 2, 3), [3, 0], mode="reflect")


@pytest.mark.parametrize("kw", [{"scale_factor": 2}, {"size": (5, 3)}, {"scale_factor": 1.7},
                                {"scale_factor": 2, "mode": "bilinear"},
                                {"size": (7, 2), "mode": "bilinear", "align_corners": True},
                                {"scale_factor": 0.6, "mode": "bilinear"},
                                {"size": (5, 5), "mode": "nearest-exact"},
                                {"scale_factor": (1.5, 2.5), "mode": "bilinear", "recompute_scale_factor": True}])
def test_interpolate_2d(kw, device):
    check_against_torch(lambda lib, x: lib.nn.functional.interpolate(x, **kw), (2, 3, 4, 5), device=device)


@pytest.mark.parametrize("kw", [{"size": (2, 3, 2)}, {"scale_factor": 0.5}, {"size": 5}])
def test_interpolate_area_3d(kw, device):
    check_against_torch(lambda lib, x: lib.nn.functional.interpolate(x, mode="area", **kw), (2, 1, 4, 5, 6),
                        device=device)


@pytest.mark.parametrize("kw", [{"scale_factor": 2}, {"size": (7, 3)}, {"scale_factor": 0.6},
                                {"size": (9, 11), "align_corners": True}, {"scale_factor": (1.5, 2.5)},
                                {"size": (1, 1)}, {"size": (1, 1), "align_corners": True}, {"size": (4, 5)},
                                {"scale_factor": 1.7, "recompute_scale_factor": True}])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_interpolate_bicubic(kw, dtype, device):
    check_against_torch(lambda lib, x: lib.nn.functional.interpolate(x, mode="bicubic", **kw), (2, 3, 4, 5),
                        device=device, dtype=dtype, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape,mode", [((1, 2, 3), "bicubic"), ((1, 1, 2, 2, 2), "bicubic"),
                                        ((1, 1, 2, 2, 2, 2), "nearest"), ((1, 1, 2, 2, 2, 2), "area"),
                                        ((1, 1, 2, 2, 2, 2), "bilinear")])
def test_interpolate_input_rank_errors(shape, mode):
    messages = []
    for lib in (flambeau, torch):
        with pytest.raises(NotImplementedError) as e:
            lib.nn.functional.interpolate(lib.zeros(*shape), scale_factor=2, mode=mode)
        messages.append(str(e.value))
    assert messages[0] == messages[1]


def test_interpolate_1d_and_errors(device):
    check_against_torch(lambda lib, x: lib.nn.functional.interpolate(x, size=7, mode="linear"), (2, 3, 4),
                        device=device)
    check_against_torch(lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=3), (2, 3, 4), device=device)
    for lib in (flambeau, torch):
        with pytest.raises(ValueError):
            lib.nn.functional.interpolate(lib.zeros(1, 1, 3, 3), size=4, scale_factor=2)
        with pytest.raises(ValueError):
            lib.nn.functional.interpolate(lib.zeros(1, 1, 3, 3), scale_factor=2, align_corners=True)


def test_distances(device):
    F = lambda lib: lib.nn.functional  # noqa: E731
    check_against_torch(lambda lib, a, b: F(lib).cosine_similarity(a, b, dim=0), (4, 5), (4, 5), device=device)
    check_against_torch(lambda lib, a, b: F(lib).cosine_similarity(a, b), (4, 5, 2), (1, 5, 2), device=device)
    check_against_torch(lambda lib, a, b: F(lib).pairwise_distance(a, b, keepdim=True), (4, 5), (4, 5),
                        device=device)
    check_against_torch(lambda lib, a, b: F(lib).pairwise_distance(a, b, p=1.0), (5,), (5,), device=device)


def test_normalization_functionals(device):
    F = lambda lib: lib.nn.functional  # noqa: E731
    check_against_torch(lambda lib, x, w, b: F(lib).layer_norm(x, (4,), w, b), (3, 4), (4,), (4,), device=device)
    check_against_torch(lambda lib, x, w, b: F(lib).group_norm(x, 3, w, b), (2, 6, 5), (6,), (6,), device=device)
    check_against_torch(lambda lib, x: F(lib).instance_norm(x), (2, 3, 5), device=device)
    check_against_torch(lambda lib, x, w, b: F(lib).batch_norm(x, None, None, w, b, training=True), (5, 3, 2),
                        (3,), (3,), device=device)
    check_against_torch(lambda lib, x: F(lib).local_response_norm(x, 3), (2, 5, 4), device=device)
    check_against_torch(lambda lib, x, w: F(lib).rms_norm(x, (4,), w, eps=1e-6), (3, 4), (4,), device=device)


def test_pixel_shuffle_functional(device):
    check_against_torch(lambda lib, x: lib.nn.functional.pixel_shuffle(x, 3), (2, 18, 2, 3), device=device)
    check_against_torch(lambda lib, x: lib.nn.functional.pixel_unshuffle(x, 2), (3, 4, 6), device=device)
    for lib in (flambeau, torch):
        with pytest.raises(RuntimeError):
            lib.nn.functional.pixel_shuffle(lib.zeros(1, 5, 2, 2), 2)


def test_gumbel_softmax():
    flambeau.manual_seed(0)
    logits = flambeau.randn(4, 6, requires_grad=True)
    y = flambeau.nn.functional.gumbel_softmax(logits, tau=0.5)
    assert flambeau.allclose(y.sum(1), flambeau.ones(4))
    h = flambeau.nn.functional.gumbel_softmax(logits, hard=True)
    assert ((h == 0) | (h == 1)).all() and (h.sum(1) == 1).all()
    (h * flambeau.arange(6.0)).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_conv_pool_names_are_reexported():
    F = flambeau.nn.functional
    for name in ("conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d",
                 "max_unpool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
                 "adaptive_max_pool1d", "adaptive_max_pool2d", "unfold", "fold", "conv3d", "max_pool3d",
                 "grid_sample", "affine_grid", "ctc_loss", "embedding_bag", "scaled_dot_product_attention"):
        assert callable(getattr(F, name)), name
    with pytest.raises(AttributeError, match="no attribute 'no_such_function'"):
        F.no_such_function
    assert tuple(flambeau.nn.Conv3d(1, 1, 2)(flambeau.zeros(1, 1, 3, 3, 3)).shape) == (1, 1, 2, 2, 2)


def test_lp_pool(device):
    check_against_torch(lambda lib, x: lib.nn.functional.lp_pool2d(x.abs() + 0.1, 2.0, 2), (2, 3, 4, 6),
                        device=device)
    check_against_torch(lambda lib, x: lib.nn.LPPool1d(3, 2, stride=1)(x.abs() + 0.1), (2, 3, 7), device=device)
    assert repr(flambeau.nn.LPPool2d(2, 3)) == repr(torch.nn.LPPool2d(2, 3))


def test_dropout_functional_modes():
    x = flambeau.randn(3, 4)
    assert flambeau.nn.functional.dropout(x, 0.5, training=False) is x
    for lib in (flambeau, torch):
        with pytest.raises(ValueError):
            lib.nn.functional.dropout(lib.zeros(3), p=-0.1)
    y = flambeau.nn.functional.dropout(x, 1.0)
    assert (y == 0).all()



@pytest.mark.parametrize("name,args,node", [("dropout", (0.5,), "MulBackward0"), ("dropout", (1.0,), "MulBackward0"),
                                            ("dropout1d", (0.5,), "MulBackward0"),
                                            ("alpha_dropout", (0.5, True), "AddBackward0"),
                                            ("feature_alpha_dropout", (0.5, True), "AddBackward0")])
def test_dropout_in_place_multiplies_the_input(device, name, args, node):
    nodes = []
    for lib in (on_device(flambeau, device), torch):
        x = lib.ones(2, 3, 4, requires_grad=True)
        h = x * 2
        y = getattr(lib.nn.functional, name)(h, *args, inplace=True)
        assert y is h
        nodes.append(type(y.grad_fn).__name__)
        y.sum().backward()          # d/dx of (2x) * m + shift is 2m: y itself without alpha's shift
        if "alpha" not in name:
            assert bool((x.grad == y.detach()).all())
        assert len(set(x.grad.flatten().tolist()) - {0.0}) <= 1
    assert nodes == [node, node]


@pytest.mark.parametrize("dtype", ["long", "int32", "uint8", "bool"])
@pytest.mark.parametrize("name", ["dropout", "dropout2d", "alpha_dropout", "feature_alpha_dropout"])
def test_dropout_of_integers_fails_as_torch(device, name, dtype):
    def drop(lib):
        return getattr(lib.nn.functional, name)(lib.ones(2, 3, 2, dtype=getattr(lib, dtype)), 0.5, True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")         # dropout2d's 3-D input warning
        same_error(drop, device)
        for lib in (on_device(flambeau, device), torch):    # p == 1 zeroes any dtype
            assert not getattr(lib.nn.functional, name)(lib.ones(3, 2, dtype=getattr(lib, dtype)), 1.0, True).any()


ARGUMENT_MISTAKES = [
    lambda lib, x: lib.nn.functional.batch_norm(x, lib.zeros(3), lib.ones(3), training=True, momentum=None),
    lambda lib, x: lib.nn.functional.batch_norm(x, lib.zeros(3), lib.ones(3), momentum=None),
    lambda lib, x: lib.nn.functional.batch_norm(x, None, None, training=None),
    lambda lib, x: lib.nn.functional.batch_norm(x, lib.zeros(3), None, training=True),
    lambda lib, x: lib.nn.functional.batch_norm(x, None, lib.ones(3), training=True),
    lambda lib, x: lib.nn.functional.instance_norm(x, lib.zeros(3), None),
    lambda lib, x: lib.nn.functional.instance_norm(x, momentum=None),
    lambda lib, x: lib.nn.functional.instance_norm(x, use_input_stats=None),
    lambda lib, x: lib.nn.functional.dropout(x, 0.5, training=None),
    lambda lib, x: lib.nn.functional.dropout(x, 0.0, training=1),
    lambda lib, x: lib.nn.functional.dropout(x, 1.5, training=None),
    lambda lib, x: lib.nn.functional.dropout1d(x, 0.5, training=None),
    lambda lib, x: lib.nn.functional.alpha_dropout(x, 0.5, training=None),
    lambda lib, x: lib.nn.functional.feature_alpha_dropout(x, 0.5, training=0),
    lambda lib, x: lib.nn.functional.local_response_norm(x[0], 2),
]


@pytest.mark.parametrize("case", range(len(ARGUMENT_MISTAKES)))
def test_norm_and_dropout_argument_mistakes_fail_as_torch(device, case):
    same_error(lambda lib: ARGUMENT_MISTAKES[case](lib, lib.randn(4, 3, 2)), device)


NORM_DTYPE_CASES = [  # (call, input dtype, [weight, bias, running_mean, running_var] dtypes)
    ("batch_norm", "float64", ["float32", "float32", None, None]),
    ("batch_norm", "float64", [None, None, "float32", "float32"]),
    ("batch_norm", "float32", [None, None, "float64", "float64"]),
    ("batch_norm", "float64", [None, None, "float32", "float64"]),
    ("batch_norm", "float64", ["float64", "float32", "float64", "float64"]),
    ("batch_norm", "float16", ["float16", "float16", "float32", "float32"]),
    ("batch_norm", "float32", ["float16", "float16", "float16", "float16"]),
    ("batch_norm", "float16", ["float32", "float32", "float32", "float32"]),
    ("batch_norm_eval", "float64", [None, None, "float32", "float32"]),
    ("layer_norm", "float64", ["float32", None]),
    ("layer_norm", "float32", ["float64", "float32"]),
    ("layer_norm", "float64", ["float64", "float32"]),
    ("layer_norm", "float16", ["float32", "float16"]),
    ("layer_norm", "int64", ["float32", None]),
    ("group_norm", "float64", ["float32", None]),
    ("group_norm", "float64", ["float64", "float32"]),
    ("group_norm", "int64", ["float32", None]),
    ("group_norm", "float16", ["float32", "float32"]),
    ("instance_norm", "float64", ["float32", None, None, None]),
    ("instance_norm", "float64", [None, None, "float32", "float32"]),
    ("instance_norm", "float16", ["float32", None, "float16", "float16"]),
    ("instance_norm", "int64", ["float32", None, None, None]),
]


@pytest.mark.parametrize("call,dtype,params", NORM_DTYPE_CASES)
def test_norm_parameter_dtypes_as_torch_cpu(call, dtype, params):
    """PyTorch's CPU norms: parameters in the input's dtype, or float32 ones for a half input."""
    def run(lib):
        x = (lib.arange(24.0).view(4, 3, 2) % 5).to(getattr(lib, dtype))
        n = 2 if call == "layer_norm" else 3
        ts = [None if d is None else lib.ones(n, dtype=getattr(lib, d)) for d in params]
        F = lib.nn.functional
        if call.startswith("batch_norm"):
            w, b, rm, rv = ts
            return F.batch_norm(x, rm, rv, w, b, training=call == "batch_norm")
        if call == "layer_norm":
            return F.layer_norm(x, (2,), *ts)
        if call == "group_norm":
            return F.group_norm(x, 3, *ts)
        w, b, rm, rv = ts
        return F.instance_norm(x, rm, rv, w, b)
    try:
        ref = run(torch)
    except Exception:
        same_error(run)
        return
    assert_same(run(flambeau), ref, rtol=1e-3, atol=1e-3)


# -- finite differences (float64): inputs and parameters -----------------------------------------
GRADCHECKS = [
    ("linear", lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), [(3, 4), (2, 4), (2,)]),
    ("bilinear", lambda lib, a, b, w: lib.nn.functional.bilinear(a, b, w), [(2, 3), (2, 2), (2, 3, 2)]),
    ("layer_norm", lambda lib, x, w, b: lib.nn.functional.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)]),
    ("group_norm", lambda lib, x, w: lib.nn.functional.group_norm(x, 2, w), [(2, 4, 3), (4,)]),
    ("batch_norm", lambda lib, x, w: lib.nn.functional.batch_norm(x, None, None, w, training=True), [(5, 3), (3,)]),
    ("gelu_tanh", lambda lib, x: lib.nn.functional.gelu(x, approximate="tanh"), [(3, 4)]),
    ("mish", lambda lib, x: lib.nn.functional.mish(x), [(3, 4)]),
    ("softplus", lambda lib, x: lib.nn.functional.softplus(x, beta=2), [(3, 4)]),
    ("nll_weighted", lambda lib, x: lib.nn.functional.nll_loss(
        x.log_softmax(1), flambeau.tensor([1, 0, 2]), weight=flambeau.tensor([0.5, 2.0, 1.5], dtype=x.dtype)),
     [(3, 3)]),
    ("ce_probs", lambda lib, x, t: lib.nn.functional.cross_entropy(x, t.softmax(1)), [(3, 4), (3, 4)]),
    ("ce_probs_weight", lambda lib, x, t, w: lib.nn.functional.cross_entropy(x, t.softmax(1), weight=w,
                                                                             label_smoothing=0.2, reduction="sum"),
     [(3, 4), (3, 4), (4,)]),
    ("bce_logits", lambda lib, x, t: lib.nn.functional.binary_cross_entropy_with_logits(x, t.sigmoid()),
     [(3, 4), (3, 4)]),
    ("kl_div", lambda lib, x, t: lib.nn.functional.kl_div(x, t, reduction="batchmean", log_target=True),
     [(3, 4), (3, 4)]),
    ("cosine_similarity", lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b), [(3, 4), (3, 4)]),
    ("interpolate_bilinear", lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=2, mode="bilinear"),
     [(1, 1, 3, 3)]),
    ("pad_reflect", lambda lib, x: lib.nn.functional.pad(x, [2, 1], mode="reflect"), [(2, 2, 4)]),
    ("interpolate_bicubic", lambda lib, x: lib.nn.functional.interpolate(x, size=(5, 2), mode="bicubic"),
     [(1, 2, 3, 4)]),
    ("interpolate_bicubic_aligned", lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=1.5, mode="bicubic",
                                                                                 align_corners=True), [(1, 1, 3, 3)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRADCHECKS, ids=[g[0] for g in GRADCHECKS])
def test_gradcheck(name, fn, shapes):
    gradcheck(fn, *shapes)


def test_gradcheck_lstm_cell_and_embedding():
    rng = np.random.default_rng(0)
    cell = flambeau.nn.LSTMCell(3, 2).double()
    params = list(cell.parameters())

    def f(x, h, c, *ps):
        for p, v in zip(params, ps):
            p.data = v.detach()
        gi = flambeau.nn.functional.linear(x, ps[0], ps[2])
        from flambeau.nn.modules.rnn import _rnn_step
        hn, cn = _rnn_step("LSTM", gi, h, ps[1], ps[3], c)
        return hn + cn
    ins = [flambeau.tensor(rng.standard_normal(s), requires_grad=True) for s in ((2, 3), (2, 2), (2, 2))]
    ins += [p.detach().clone().requires_grad_() for p in params]
    assert flambeau.autograd.gradcheck(f, tuple(ins))
    w = flambeau.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    idx = flambeau.tensor([[0, 2], [4, 2]])
    assert flambeau.autograd.gradcheck(lambda w: flambeau.nn.functional.embedding(idx, w), (w,))


def test_more_functionals(device):
    rng = np.random.default_rng(7)
    w = rng.random(4) + 0.5
    for reduction in RED:
        check_against_torch(lambda lib, x, t: lib.nn.functional.multilabel_soft_margin_loss(
            x, (t > 0).to(x.dtype), weight=lib.tensor(w, device=device) if lib is not torch else torch.tensor(w),
            reduction=reduction), (3, 4), (3, 4), device=device)
    check_against_torch(lambda lib, x: lib.nn.functional.pdist(x), (5, 3), device=device)
    check_against_torch(lambda lib, x: lib.nn.Softmax2d()(x), (2, 3, 2, 2), device=device)
    check_against_torch(lambda lib, x: lib.nn.LocalResponseNorm(2)(x), (2, 4, 3, 3), device=device)
    check_against_torch(lambda lib, x: lib.nn.RMSNorm([3], eps=1e-6).double().to(x.device)(x), (2, 3), device=device)
    assert repr(flambeau.nn.RMSNorm(3)) == repr(torch.nn.RMSNorm(3))
    assert repr(flambeau.nn.LocalResponseNorm(2)) == repr(torch.nn.LocalResponseNorm(2))


# -- single-node functionals: torch's node names, double backward, dtypes, no host reads ---------
def _t(lib, a, device):
    """A constant (no grad) tensor of a on device, for either library."""
    return flambeau.tensor(a, device=device) if lib is not torch else torch.tensor(a)


_RM, _RV = np.array([0.1, -0.2, 0.3]), np.array([0.5, 1.5, 2.0])
_W3 = np.array([0.5, 1.5, 0.75])
# name: (fn(lib, device, *xs), shapes, torch's node name)
FUSED = {
    "gelu": (lambda L, d, x: L.nn.functional.gelu(x), [(3, 4)], "GeluBackward0"),
    "gelu_tanh": (lambda L, d, x: L.nn.functional.gelu(x, approximate="tanh"), [(3, 4)], "GeluBackward0"),
    "silu": (lambda L, d, x: L.nn.functional.silu(x), [(3, 4)], "SiluBackward0"),
    "softplus": (lambda L, d, x: L.nn.functional.softplus(x), [(3, 4)], "SoftplusBackward0"),
    "softplus_beta": (lambda L, d, x: L.nn.functional.softplus(x * 2, beta=1.5, threshold=1.0), [(3, 4)],
                      "SoftplusBackward0"),
    "elu": (lambda L, d, x: L.nn.functional.elu(x, alpha=0.7), [(3, 4)], "EluBackward0"),
    "selu": (lambda L, d, x: L.nn.functional.selu(x), [(3, 4)], "EluBackward0"),
    "celu": (lambda L, d, x: L.nn.functional.celu(x, alpha=1.5), [(3, 4)], "CeluBackward0"),
    "leaky_relu": (lambda L, d, x: L.nn.functional.leaky_relu(x, 0.2), [(3, 4)], "LeakyReluBackward0"),
    "hardtanh": (lambda L, d, x: L.nn.functional.hardtanh(x * 2, -0.5, 0.8), [(3, 4)], "HardtanhBackward0"),
    "relu6": (lambda L, d, x: L.nn.functional.relu6(x * 5), [(3, 4)], "HardtanhBackward0"),
    "elu_": (lambda L, d, x: L.nn.functional.elu(x * 1, inplace=True), [(3, 4)], "EluBackward1"),
    "selu_": (lambda L, d, x: L.nn.functional.selu(x * 1, inplace=True), [(3, 4)], "EluBackward1"),
    "celu_": (lambda L, d, x: L.nn.functional.celu(x * 1, 2.0, inplace=True), [(3, 4)], "CeluBackward1"),
    "leaky_relu_": (lambda L, d, x: L.nn.functional.leaky_relu(x * 1, inplace=True), [(3, 4)],
                    "LeakyReluBackward1"),
    "hardtanh_": (lambda L, d, x: L.nn.functional.hardtanh(x * 1, inplace=True), [(3, 4)], "HardtanhBackward0"),
    "silu_": (lambda L, d, x: L.nn.functional.silu(x * 1, inplace=True), [(3, 4)], "SiluBackward0"),
    "mse": (lambda L, d, x, t: L.nn.functional.mse_loss(x, t), [(3, 4), (3, 4)], "MseLossBackward0"),
    "mse_sum": (lambda L, d, x, t: L.nn.functional.mse_loss(x, t, reduction="sum"), [(3, 4), (3, 4)],
                "MseLossBackward0"),
    "mse_none": (lambda L, d, x, t: L.nn.functional.mse_loss(x, t, reduction="none"), [(3, 4), (3, 4)],
                 "MseLossBackward0"),
    "bce": (lambda L, d, x, t: L.nn.functional.binary_cross_entropy(x.sigmoid(), t.sigmoid()), [(3, 4), (3, 4)],
            "BinaryCrossEntropyBackward0"),
    "bce_weight_sum": (lambda L, d, x, t: L.nn.functional.binary_cross_entropy(
        x.sigmoid(), t.sigmoid(), weight=_t(L, np.arange(1.0, 5.0), d), reduction="sum"), [(3, 4), (3, 4)],
        "BinaryCrossEntropyBackward0"),
    "bce_none": (lambda L, d, x, t: L.nn.functional.binary_cross_entropy(x.sigmoid(), t.sigmoid(),
                                                                         reduction="none"), [(3, 4), (3, 4)],
                 "BinaryCrossEntropyBackward0"),
    "smooth_l1": (lambda L, d, x, t: L.nn.functional.smooth_l1_loss(x, t, beta=0.5), [(3, 4), (3, 4)],
                  "SmoothL1LossBackward0"),
    "smooth_l1_none": (lambda L, d, x, t: L.nn.functional.smooth_l1_loss(x, t, reduction="none"),
                       [(3, 4), (3, 4)], "SmoothL1LossBackward0"),
    "huber": (lambda L, d, x, t: L.nn.functional.huber_loss(x, t, delta=0.4, reduction="sum"), [(3, 4), (3, 4)],
              "HuberLossBackward0"),
    "l1": (lambda L, d, x, t: L.nn.functional.l1_loss(x, t), [(3, 4), (3, 4)], "MeanBackward0"),
    "layer_norm": (lambda L, d, x, w, b: L.nn.functional.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)],
                   "NativeLayerNormBackward0"),
    "layer_norm_2d": (lambda L, d, x: L.nn.functional.layer_norm(x, (3, 4)), [(2, 3, 4)],
                      "NativeLayerNormBackward0"),
    "layer_norm_weight": (lambda L, d, x, w: L.nn.functional.layer_norm(x, (3, 4), w), [(2, 3, 4), (3, 4)],
                          "NativeLayerNormBackward0"),
    "batch_norm": (lambda L, d, x, w, b: L.nn.functional.batch_norm(x, None, None, w, b, training=True),
                   [(5, 3), (3,), (3,)], "NativeBatchNormBackward0"),
    "batch_norm_4d": (lambda L, d, x, w: L.nn.functional.batch_norm(x, None, None, w, training=True),
                      [(4, 3, 2, 3), (3,)], "NativeBatchNormBackward0"),
    "batch_norm_eval": (lambda L, d, x, w, b: L.nn.functional.batch_norm(
        x, _t(L, _RM, d).to(x.dtype), _t(L, _RV, d).to(x.dtype), w, b, training=False), [(4, 3, 5), (3,), (3,)],
        "NativeBatchNormBackward0"),
    "batch_norm_running": (lambda L, d, x: L.nn.functional.batch_norm(
        x, _t(L, _RM, d).to(x.dtype), _t(L, _RV, d).to(x.dtype), training=True, momentum=0.3), [(4, 3, 5)],
        "NativeBatchNormBackward0"),
    "group_norm": (lambda L, d, x, w, b: L.nn.functional.group_norm(x, 2, w, b), [(3, 4, 5), (4,), (4,)],
                   "NativeGroupNormBackward0"),
    "group_norm_4d": (lambda L, d, x: L.nn.functional.group_norm(x, 3), [(2, 6, 2, 3)], "NativeGroupNormBackward0"),
    "instance_norm": (lambda L, d, x, w, b: L.nn.functional.instance_norm(x, weight=w, bias=b), [(2, 3, 5), (3,), (3,)],
                      "ViewBackward0"),
    "instance_norm_running": (lambda L, d, x: L.nn.functional.instance_norm(
        x, _t(L, _RM, d).to(x.dtype), _t(L, _RV, d).to(x.dtype), momentum=0.3), [(2, 3, 2, 2)], "ViewBackward0"),
}


def test_normalization_nodes_and_edges_match_torch():
    """grad_fn and its next_functions as torch's: batch norm's running statistics are no edges, instance
    norm is a view of a batch norm over (1, N * C, ...)."""
    def graph(lib):
        lib.manual_seed(0)
        x = lib.randn(4, 3, 2, 2)
        out = []
        for m in (lib.nn.BatchNorm2d(3), lib.nn.GroupNorm(1, 3), lib.nn.InstanceNorm2d(3, affine=True),
                  lib.nn.InstanceNorm2d(3, track_running_stats=True), lib.nn.LayerNorm([3, 2, 2])):
            y = m(x)
            fn = y.grad_fn
            out.append(None if fn is None else (type(fn).__name__, [type(f[0]).__name__ for f in fn.next_functions]))
            out.append([t.tolist() for t in m.buffers() if t.dtype.is_floating_point])
        return out
    ours, ref = graph(flambeau), graph(torch)
    assert [o for o in ours[::2]] == [r for r in ref[::2]]
    for a, b in zip(ours[1::2], ref[1::2]):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-6)


def _inputs(lib, shapes, device, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    if lib is torch:
        return [torch.tensor(a, requires_grad=True) for a in arrays]
    return [flambeau.tensor(a, device=device, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("name", list(FUSED))
def test_single_node_names_match_torch(name):
    fn, shapes, node = FUSED[name]
    ours = fn(flambeau, "cpu", *_inputs(flambeau, shapes, "cpu"))
    ref = fn(torch, "cpu", *_inputs(torch, shapes, "cpu"))
    assert type(ref.grad_fn).__name__ == node
    assert type(ours.grad_fn).__name__ == node


@pytest.mark.parametrize("name", list(FUSED))
def test_single_node_double_backward_matches_torch(name, device):
    """Values, first and second derivatives (of a random mix of the first ones) against torch,
    with no read of device values by the host."""
    fn, shapes, _ = FUSED[name]
    results = []
    for lib in (flambeau, torch):
        xs = _inputs(lib, shapes, device)
        rng = np.random.default_rng(1)
        with no_host_reads(device) if lib is not torch else warnings.catch_warnings():
            y = fn(on_device(lib, device) if lib is not torch else lib, device, *xs)
            cot = _t(lib, rng.standard_normal(tuple(y.shape)), device)
            gs = lib.autograd.grad(y, xs, cot, create_graph=True, allow_unused=True)
            mix = sum(((g * _t(lib, rng.standard_normal(tuple(g.shape)), device)) ** 2).sum()
                      for g in gs if g is not None)
            ggs = lib.autograd.grad(mix, xs, allow_unused=True) if mix.requires_grad else [None] * len(xs)
        results.append((y, gs, ggs, xs))
    (y, gs, ggs, xs), (ry, rgs, rggs, _) = results
    assert_same(y, ry, device=device)
    for x, *pair in list(zip(xs, gs, rgs)) + list(zip(xs, ggs, rggs)):
        # an unused input's gradient: None, or zeros (torch's may be a ZeroTensor)
        ours, ref = (np.zeros(tuple(x.shape)) if g is None else
                     g.detach().cpu().numpy(force=True) if isinstance(g, torch.Tensor) else g.detach().cpu().numpy()
                     for g in pair)
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", [n for n in FUSED if not n.endswith("_") and n not in ("hardtanh", "relu6",
                                                                                          "leaky_relu")])
def test_single_node_gradgradcheck(name):
    fn, shapes, _ = FUSED[name]
    xs = _inputs(flambeau, shapes, "cpu", seed=3)
    assert flambeau.autograd.gradgradcheck(lambda *a: fn(flambeau, "cpu", *a), tuple(xs))


@pytest.mark.parametrize("dtype,rtol", [("float32", 1e-5), ("float16", 2e-3)])
@pytest.mark.parametrize("name", list(FUSED))
def test_single_node_low_precision(name, dtype, rtol, device):
    fn, shapes, _ = FUSED[name]
    if dtype == "float16" and name.startswith("batch_norm_") and "4d" not in name:
        pytest.skip("torch's CPU batch norm of half inputs wants half running statistics")
    outs = []
    for lib in (flambeau, torch):
        xs = _inputs(lib, shapes, device, dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = fn(on_device(lib, device) if lib is not torch else lib, device, *xs)
        y.backward(_t(lib, np.ones(tuple(y.shape), dtype), device))
        outs.append((y, [x.grad for x in xs]))
    (y, gs), (ry, rgs) = outs
    assert str(y.dtype) == str(ry.dtype)
    assert_same(y, ry, rtol=rtol, atol=rtol, device=device)
    for g, rg in zip(gs, rgs):
        assert_same(g, rg, rtol=rtol, atol=rtol * 10)


def test_single_node_errors_match_torch():
    F = lambda lib: lib.nn.functional  # noqa: E731
    ints = lambda lib: lib.tensor([[1, 2], [3, 4]])  # noqa: E731
    for op in ("gelu", "silu", "softplus", "elu", "selu", "celu", "leaky_relu"):
        for lib in (flambeau, torch):
            with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
                getattr(F(lib), op)(ints(lib))
    for lib in (flambeau, torch):
        assert_same(F(flambeau).hardtanh(flambeau.tensor([-3, 0, 3])), F(torch).hardtanh(torch.tensor([-3, 0, 3])))
        with pytest.raises(RuntimeError, match="Bool inputs not supported for hardtanh"):
            F(lib).hardtanh(lib.tensor([True]))
        for op in ("mse_loss", "smooth_l1_loss", "huber_loss"):
            with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
                getattr(F(lib), op)(ints(lib), ints(lib))
        with pytest.raises(NotImplementedError, match="LayerNormKernelImpl"):
            F(lib).layer_norm(ints(lib), (2,))
        with pytest.raises(NotImplementedError, match="batch_norm"):
            F(lib).batch_norm(ints(lib), None, None, training=True)
        with pytest.raises(RuntimeError, match="Found dtype Float but expected Double"):
            F(lib).binary_cross_entropy(lib.full((2,), 0.5, dtype=lib.float64), lib.full((2,), 0.5))
        with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
            F(lib).binary_cross_entropy(lib.full((2,), 0.5), lib.full((2,), 0.5),
                                        weight=lib.ones(2, requires_grad=True))
        with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
            F(lib).batch_norm(lib.zeros(3, 2), None, None, training=False)
        with pytest.raises(ValueError, match="eps must be positive during training"):
            F(lib).batch_norm(lib.zeros(3, 2), None, None, training=True, eps=0.0)
        with pytest.raises(ValueError, match="eps must be non-negative"):
            F(lib).batch_norm(lib.zeros(3, 2), lib.zeros(2), lib.ones(2), eps=-1.0)
        with pytest.raises(RuntimeError, match="must match the size"):
            F(lib).mse_loss(lib.zeros(3, 2), lib.zeros(3))
        for op in ("mse_loss", "l1_loss", "huber_loss"):
            with pytest.raises(ValueError, match="Weights and input must have the same size"):
                getattr(F(lib), op)(lib.zeros(3, 2), lib.zeros(3, 2), weight=lib.ones(2))


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_weighted_regression_losses(name, reduction, device):
    """mse and l1 divide the weighted sum by the sum of the weights for 'mean'; huber takes the mean."""
    w = np.random.default_rng(8).random((4, 5)) + 0.5
    check_against_torch(lambda lib, x, t: getattr(lib.nn.functional, name)(x, t, weight=_t(lib, w, device),
                                                                           reduction=reduction),
                        (4, 5), (4, 5), device=device)


def test_mixed_dtype_losses_follow_torch(device):
    """Result dtypes (huber keeps the input's); torch's own backward refuses mixed dtypes."""
    for name in ("mse_loss", "smooth_l1_loss", "huber_loss"):
        for a, b in (("float32", "float64"), ("float64", "float32")):
            check_against_torch(lambda lib, x, t: getattr(lib.nn.functional, name)(x, t.to(getattr(lib, b))),
                                (3, 4), (3, 4), dtype=a, device=device, rtol=1e-5, grad=False)


def test_batch_norm_running_statistics(device):
    """Training updates the running statistics (unbiased variance) as torch does; eval reads them."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((6, 3, 4))
    stats = []
    for lib in (flambeau, torch):
        rm, rv = _t(lib, _RM, device), _t(lib, _RV, device)
        for momentum in (0.1, 0.5):
            lib.nn.functional.batch_norm(_t(lib, x, device), rm, rv, training=True, momentum=momentum)
        y = lib.nn.functional.batch_norm(_t(lib, x, device), rm, rv, training=False)
        stats.append((rm, rv, y))
    for ours, ref in zip(*stats):
        assert_same(ours, ref, device=device)


# Loss arguments without a derivative (class weights...): PyTorch refuses one that requires grad
# while a graph is recorded, naming its kernel.
NOT_DIFFERENTIABLE = {
    "bce weight": lambda F, lib, w, x, t, c: F.binary_cross_entropy(x.sigmoid(), t, weight=w),
    "bce logits weight": lambda F, lib, w, x, t, c: F.binary_cross_entropy_with_logits(x, t, weight=w),
    "bce logits pos_weight": lambda F, lib, w, x, t, c: F.binary_cross_entropy_with_logits(x, t, pos_weight=w),
    "nll weight": lambda F, lib, w, x, t, c: F.nll_loss(x.log_softmax(1), c, weight=w),
    "cross_entropy 3-D weight": lambda F, lib, w, x, t, c: F.cross_entropy(x.unsqueeze(2), c.unsqueeze(1), weight=w),
    "multi_margin weight": lambda F, lib, w, x, t, c: F.multi_margin_loss(x, c, weight=w),
    "soft_margin target": lambda F, lib, w, x, t, c: F.soft_margin_loss(x, t.requires_grad_()),
    "multilabel_soft_margin weight": lambda F, lib, w, x, t, c: F.multilabel_soft_margin_loss(x, t, weight=w),
}


@pytest.mark.parametrize("case", sorted(NOT_DIFFERENTIABLE))
def test_loss_arguments_without_a_derivative(case, device):
    outcomes = []
    for lib in (torch, flambeau):
        dev = device if lib is flambeau else "cpu"
        w = lib.tensor([0.5, 1.0, 2.0], device=dev, requires_grad=True)
        x = lib.tensor([[0.1, -0.4, 0.3], [1.2, 0.0, -0.7]], device=dev)
        t = lib.tensor([[0.2, 0.9, 0.5], [0.0, 1.0, 0.3]], device=dev)
        c = lib.tensor([0, 2], device=dev)
        try:
            outcomes.append(("ok", NOT_DIFFERENTIABLE[case](lib.nn.functional, lib, w, x, t, c).requires_grad))
        except RuntimeError as e:
            outcomes.append(("RuntimeError", str(e)))
        with lib.no_grad():         # nothing recorded: nothing refused
            NOT_DIFFERENTIABLE[case](lib.nn.functional, lib, w, x, t.detach(), c)
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("op", [lambda L, x: L.relu(x), lambda L, x: L.nn.functional.threshold(x, 0.5, -1.0)])
def test_threshold_gradient_drops_inf_and_nan_exactly(dtype, op):
    """relu's and threshold's gradient (Note [Masking without branches]): an inf or NaN gradient
    where the input is at or under the threshold becomes +0, a NaN input keeps its gradient, and
    a kept -0 stays -0, as in torch."""
    x = [1.0, -1.0, -1.0, -1.0, 0.0, float("nan"), 2.0, 0.5, 0.7, -3.0]
    g = [1.0, -2.0, float("inf"), float("nan"), float("-inf"), 3.0, -0.0, 5.0, float("inf"), -0.0]
    grads = []
    for lib in (flambeau, torch):
        xt = lib.tensor(x, dtype=getattr(lib, dtype), requires_grad=True)
        op(lib, xt).backward(lib.tensor(g, dtype=getattr(lib, dtype)))
        grads.append(xt.grad.detach().to(lib.float64).numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    assert np.signbit(grads[0]).tolist() == np.signbit(grads[1]).tolist()


def test_batch_norm_statistics_are_torchs_float64_sums():
    """torch's CPU batch norm sums its float32 statistics in float64 and rounds once: the running
    mean after one step (momentum 1) is the correctly rounded mean, bit for bit."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        a = (rng.standard_normal((8, 4, 14, 14)) * 3 + 1).astype(np.float32)
        means = []
        for lib in (flambeau, torch):
            bn = lib.nn.BatchNorm2d(4, momentum=1.0)
            bn(lib.tensor(a))
            means.append(bn.running_mean.numpy())
        np.testing.assert_array_equal(means[0], means[1])
        np.testing.assert_array_equal(means[0], a.astype(np.float64).mean(axis=(0, 2, 3)).astype(np.float32))


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "complex64"])
def test_cosine_similarity_refuses_non_floating_inputs(dtype, device):
    errors = []
    for lib in (on_device(flambeau, device), torch):
        with pytest.raises(RuntimeError) as e:
            lib.nn.functional.cosine_similarity(lib.ones(3, dtype=getattr(lib, dtype)),
                                                lib.ones(3, dtype=getattr(lib, dtype)), dim=0)
        errors.append(str(e.value))
    assert errors[0] == errors[1]


@pytest.mark.parametrize("index_dtype, offsets_dtype", [("int64", "int64"), ("int32", "int32"), ("int64", "int32"),
                                                        ("int32", "int64")])
def test_embedding_bag_offsets_must_start_at_zero(index_dtype, offsets_dtype):
    # PyTorch's CPU kernel prints offsets[0] as a 0-d tensor of the common index type
    errors = []
    for lib in (flambeau, torch):
        with pytest.raises(RuntimeError) as e:
            lib.nn.functional.embedding_bag(lib.tensor([1, 2], dtype=getattr(lib, index_dtype)), lib.ones(4, 2),
                                            lib.tensor([1], dtype=getattr(lib, offsets_dtype)))
        errors.append(str(e.value))
    assert errors[0] == errors[1]


@pytest.mark.parametrize("call", [
    "F.softmax(x)", "F.log_softmax(x)", "F.softmin(x)", "F.mse_loss(x, x[:1])", "F.l1_loss(x, x[:1])",
    "F.upsample(x[None, None], scale_factor=2)", "F.upsample_nearest(x[None, None], scale_factor=2)",
    "F.upsample_bilinear(x[None, None], scale_factor=2)",
])
def test_warnings_point_at_the_callers_line(call, device):
    """The user's line, as PyTorch's stacklevel gives it, even through autocast's wrapper."""
    outcomes = []
    for L in (on_device(flambeau, device), torch):
        F, x = L.nn.functional, L.ones(2, 3)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            eval(call)                              # the caller's line is eval's "<string>"
        outcomes.append([(w.filename, w.lineno, str(w.message)) for w in caught])
    assert outcomes[0] == outcomes[1] and len(outcomes[0]) == 1


def _node(t):
    return type(t.grad_fn).__name__


@pytest.mark.parametrize("name, fn, shapes", [
    ("mish", lambda lib, x: lib.nn.functional.mish(x * 8), [(3, 5)]),
    ("glu", lambda lib, x: lib.nn.functional.glu(x, 1), [(2, 4, 3)]),
    ("glu-last", lambda lib, x: lib.nn.functional.glu(x), [(3, 6)]),
    ("prelu-shared", lambda lib, x, w: lib.nn.functional.prelu(x, w), [(2, 3, 4), (1,)]),
    ("prelu-channels", lambda lib, x, w: lib.nn.functional.prelu(x, w), [(2, 3, 4), (3,)]),
    ("prelu-1d", lambda lib, x, w: lib.nn.functional.prelu(x, w), [(5,), (1,)]),
])
def test_activation_nodes_values_and_grads(device, name, fn, shapes):
    out = check_against_torch(fn, *shapes, device=device)
    ref = fn(torch, *[torch.randn(*s, requires_grad=True) for s in shapes])
    assert _node(out) == _node(ref)
    gradcheck(fn, *shapes, device=device)


def test_mish_large_and_inplace(device):
    x = [-100.0, -20.0, 0.0, 19.0, 21.0, 60.0, 100.0]
    assert_same(flambeau.nn.functional.mish(flambeau.tensor(x, device=device)), torch.nn.functional.mish(torch.tensor(x)),
                device=device)
    a, b = flambeau.tensor(x, device=device), torch.tensor(x)
    flambeau.nn.functional.mish(a, inplace=True)
    torch.nn.functional.mish(b, inplace=True)
    assert_same(a, b, device=device)


@pytest.mark.parametrize("mode, pad, shape", [("reflect", (2, 1), (1, 2, 5)), ("reflect", (1, 0, 2, 1), (1, 2, 4, 4)),
                                              ("replicate", (0, 3), (2, 5)), ("replicate", (1, 1, 0, 2), (1, 1, 3, 3)),
                                              ("reflect", (1, 1, 1, 0, 0, 1), (1, 1, 2, 3, 3)),
                                              ("replicate", (1, 0, 0, 1, 1, 0), (1, 1, 2, 2, 2)),
                                              ("circular", (1, 2), (1, 2, 4)), ("circular", (1, 2, 0, 1), (1, 1, 3, 3)),
                                              ("circular", (1, 1, 1, 1, 1, 1), (1, 1, 2, 2, 2)),
                                              ("reflect", (0, 0, 1, 1), (1, 1, 3, 3))])
def test_pad_modes_record_one_node_named_as_torch(device, mode, pad, shape):
    fn = lambda lib, x: lib.nn.functional.pad(x, pad, mode=mode)
    out = check_against_torch(fn, shape, device=device)
    assert _node(out) == _node(fn(torch, torch.randn(*shape, requires_grad=True)))
    gradcheck(fn, shape, device=device)


@pytest.mark.parametrize("kw, shape", [(dict(scale_factor=2), (1, 2, 3, 3)), (dict(size=(4, 5)), (1, 1, 3, 3)),
                                       (dict(scale_factor=2, mode="nearest-exact"), (1, 1, 3, 2)),
                                       (dict(size=5), (1, 2, 3)), (dict(scale_factor=(1, 2, 1.5)), (1, 1, 2, 2, 2)),
                                       (dict(size=3, mode="nearest-exact"), (1, 1, 5))])
def test_nearest_interpolation_records_one_node_named_as_torch(device, kw, shape):
    fn = lambda lib, x: lib.nn.functional.interpolate(x, **kw)
    out = check_against_torch(fn, shape, device=device)
    assert _node(out) == _node(fn(torch, torch.randn(*shape, requires_grad=True)))


@pytest.mark.parametrize("shuffle, r, shape", [("pixel_shuffle", 2, (1, 8, 2, 3)), ("pixel_shuffle", 3, (9, 1, 2)),
                                               ("pixel_unshuffle", 3, (1, 1, 6, 3)), ("pixel_unshuffle", 2, (2, 2, 2, 4, 4))])
def test_pixel_shuffles_are_one_node_each_others_adjoint(device, shuffle, r, shape):
    fn = lambda lib, x: getattr(lib.nn.functional, shuffle)(x, r)
    out = check_against_torch(fn, shape, device=device)
    assert _node(out) == _node(fn(torch, torch.randn(*shape, requires_grad=True)))
    gradcheck(fn, shape, device=device)
    x = flambeau.randn(*shape, dtype=flambeau.float64, device=device, requires_grad=True)
    g, = flambeau.autograd.grad((fn(flambeau, x) ** 2).sum(), x, create_graph=True)
    assert_same(flambeau.autograd.grad(g.sum(), x)[0], 2 * flambeau.ones_like(x), device=device)
