"""Sorting and order statistics against torch: values, indices, dtypes, ties, NaN, gradients."""
import numpy as np
import pytest
import torch

import flambeau
from _oracle import assert_same, check_against_torch, gradcheck, on_device, same_error

NAN = float("nan")


def both(fn, data, dtype=None, device="cpu"):
    """fn(lib, tensor) on flambeau and torch for the same data."""
    ours = flambeau.tensor(data, dtype=getattr(flambeau, dtype) if dtype else None, device=device)
    ref = torch.tensor(data, dtype=getattr(torch, dtype) if dtype else None)
    return fn(flambeau, ours), fn(torch, ref)


TIES = [[3, 1, 2, 1, 3, 3, 0, 2], [5, 5, 5, 1, 1, 0, 9, 9]]
WITH_NAN = [[1.0, NAN, -2.0, 3.0, NAN, 0.5], [2.0, 2.0, 1.0, -1.0, 7.0, 1.0]]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "uint8", "int16", "bool"])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_stable_ties_match(dtype, descending, device):
    data = np.array(TIES) % 2 if dtype == "bool" else TIES
    ours, ref = both(lambda lib, t: lib.sort(t, dim=1, descending=descending, stable=True), data, dtype, device)
    assert_same(ours.values, ref.values)
    assert_same(ours.indices, ref.indices)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_nan_order(descending, device):
    ours, ref = both(lambda lib, t: lib.sort(t, descending=descending, stable=True), WITH_NAN, "float32", device)
    assert_same(ours.values, ref.values)
    assert_same(ours.indices, ref.indices)


def test_sort_noncontiguous_and_dims(device):
    x = np.random.default_rng(0).standard_normal((4, 5, 3))
    for dim in (0, 1, -1):
        ours, ref = both(lambda lib, t: t.transpose(0, 2)[:, ::2].sort(dim), x, "float64", device)
        assert_same(ours, ref)
        ours, ref = both(lambda lib, t: (t.argsort(dim, descending=True), lib.msort(t)), x, "float64", device)
        assert_same(ours, ref)


def test_sort_expanded_zero_size_and_scalar(device):
    ours, ref = both(lambda lib, t: t[:, None].expand(3, 4).sort(dim=0, stable=True), [3.0, 1.0, 2.0], None, device)
    assert_same(ours, ref)
    ours, ref = both(lambda lib, t: t.reshape(0, 3).sort(1), [], None, device)
    assert_same(ours, ref)
    ours, ref = both(lambda lib, t: t.sort(), 2.5, None, device)
    assert_same(ours, ref)


def test_sort_gradient(device):
    check_against_torch(lambda lib, x: lib.sort(x, 1, descending=True).values * 2, (3, 6), device=device)
    check_against_torch(lambda lib, x: x.topk(3, dim=0).values, (5, 4), device=device)
    check_against_torch(lambda lib, x: x.topk(2, largest=False, sorted=True).values, (3, 4), device=device)
    gradcheck(lambda lib, x: x.sort(0).values.sin(), (4, 3), device=device)
    out = flambeau.sort(flambeau.ones(3, requires_grad=True) * 2).values
    assert out.grad_fn.name() == "SortBackward0"


@pytest.mark.parametrize("largest", [True, False])
def test_topk_values_indices(largest, device):
    x = np.random.default_rng(1).permutation(40).reshape(5, 8).astype(np.float32)
    for dim in (0, 1):
        ours, ref = both(lambda lib, t: lib.topk(t, 3, dim=dim, largest=largest), x, None, device)
        assert_same(ours, ref)


def test_topk_k_out_of_range_raises_like_torch(device):
    F = on_device(flambeau, device)
    with pytest.raises(RuntimeError) as ref:
        torch.topk(torch.ones(3), 4)
    with pytest.raises(RuntimeError) as ours:
        flambeau.topk(F.ones(3), 4)
    assert str(ours.value) == str(ref.value)        # the nearest neighbours' k > vocabulary slip
    with pytest.raises(RuntimeError) as ref:
        torch.ones(3, 3).topk(5, dim=1)
    with pytest.raises(RuntimeError) as ours:
        F.ones(3, 3).topk(5, dim=1)
    assert str(ours.value) == str(ref.value)


def test_kthvalue(device):
    x = np.random.default_rng(2).permutation(30).reshape(5, 6) * 1.5
    for k in (1, 3, 5):
        ours, ref = both(lambda lib, t: lib.kthvalue(t, k, 0, keepdim=True), x, None, device)
        assert_same(ours, ref)
    check_against_torch(lambda lib, x: x.kthvalue(2, 1).values, (3, 5), device=device)
    with pytest.raises(RuntimeError):
        torch.kthvalue(torch.ones(3), 5)
    with pytest.raises(RuntimeError):
        flambeau.kthvalue(flambeau.ones(3), 5)


def same_error(fn, device="cpu"):
    """fn(lib) raises the same exception type with the same message under flambeau and torch."""
    with pytest.raises(Exception) as e_ref:
        fn(torch, "cpu")
    with pytest.raises(Exception) as e_ours:
        fn(flambeau, device)
    assert (type(e_ours.value).__name__, str(e_ours.value)) == (type(e_ref.value).__name__, str(e_ref.value))


@pytest.mark.parametrize("case", [
    lambda lib, dev: lib.kthvalue(lib.arange(3.0, device=dev), 5),
    lambda lib, dev: lib.kthvalue(lib.ones(2, 3, device=dev), 0, dim=-1),
    lambda lib, dev: lib.kthvalue(lib.ones(2, 0, device=dev), 1, dim=1),      # empty: IndexError first
    lambda lib, dev: lib.kthvalue(lib.ones(0, 3, device=dev), 1, dim=0),
    lambda lib, dev: lib.quantile(lib.arange(3.0, device=dev), 1.5),
    lambda lib, dev: lib.nanquantile(lib.arange(3.0, device=dev), float("nan")),
    lambda lib, dev: lib.quantile(lib.arange(3.0, device=dev), lib.tensor([0.5, 1.5], device=dev)),
    lambda lib, dev: lib.quantile(lib.arange(3.0, device=dev), lib.tensor([[0.5]], device=dev)),
    lambda lib, dev: lib.quantile(lib.arange(3.0, device=dev), lib.tensor([0.5], dtype=lib.float64, device=dev)),
    lambda lib, dev: lib.quantile(lib.arange(3, device=dev), 0.5),
    lambda lib, dev: lib.nanquantile(lib.arange(3, device=dev), 0.5, interpolation="bogus"),
    lambda lib, dev: lib.quantile(lib.ones(0, device=dev), 0.5),
    lambda lib, dev: lib.quantile(lib.ones(3, 0, device=dev), lib.tensor([2.0], device=dev), dim=0),
    lambda lib, dev: lib.quantile(lib.arange(3.0, device=dev), lib.tensor([2.0], device=dev), dim=4),
])
def test_kthvalue_quantile_errors_match_torch(case, device):
    # order of the checks and the messages as PyTorch's (nanquantile's say quantile() too)
    same_error(case, device)


@pytest.mark.parametrize("data", [[[4.0, 1.0, 3.0, 2.0], [9.0, 8.0, 7.0, 6.0]], [[1.0, NAN, 2.0], [3.0, 5.0, 4.0]],
                                  [[5, 2, 8, 1, 9], [0, 0, 3, 3, 1]]])
def test_median_and_nanmedian(data, device):
    for fn in (lambda lib, t: lib.median(t), lambda lib, t: lib.nanmedian(t),
               lambda lib, t: lib.median(t, 1), lambda lib, t: lib.nanmedian(t, 1, keepdim=True),
               lambda lib, t: t.median(0)):
        ours, ref = both(fn, data, None, device)
        if isinstance(ref, tuple):
            assert_same(ours.values, ref.values)
            assert_same(ours.indices, ref.indices)
        else:
            assert_same(ours, ref)


def test_median_all_nan_row_and_grads(device):
    ours, ref = both(lambda lib, t: lib.nanmedian(t, 1), [[NAN, NAN], [1.0, 2.0]], None, device)
    assert_same(ours, ref)
    check_against_torch(lambda lib, x: lib.median(x), (4, 5), device=device)
    check_against_torch(lambda lib, x: lib.median(x, 0).values, (5, 3), device=device)
    # global median spreads the gradient evenly over ties
    for lib in (flambeau, torch):
        x = lib.tensor([1.0, 2.0, 2.0, 3.0, 2.0], requires_grad=True)
        x.median().backward()
        if lib is torch:
            assert_same(ours_grad, x.grad)
        ours_grad = x.grad


def test_mode(device):
    data = [[1, 2, 2, 1, 3, 1, 2], [3, 3, 1, 1, 2, 2, 0], [7, 7, 7, 7, 7, 7, 7]]
    for dim, keep in ((1, False), (0, True)):
        ours, ref = both(lambda lib, t: lib.mode(t, dim, keep), data, None, device)
        assert_same(ours.values, ref.values)
        assert_same(ours.indices, ref.indices)
    ours, ref = both(lambda lib, t: lib.mode(t), [[0.5, 0.5, -1.0, -1.0, 2.0]], None, device)
    assert_same(ours, ref)
    ours, ref = both(lambda lib, t: lib.mode(t, 1), [[1.0, NAN, NAN], [2.0, 2.0, NAN]], None, device)
    assert_same(ours, ref)


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_interpolations(interpolation, device):
    x = np.random.default_rng(3).standard_normal((4, 7))
    q = [0.0, 0.25, 0.5, 0.9, 1.0]
    for dim, keep in ((None, False), (1, False), (0, True), (None, True)):
        ours = flambeau.quantile(flambeau.tensor(x, device=device), flambeau.tensor(q, dtype=flambeau.float64,
                                 device=device), dim=dim, keepdim=keep, interpolation=interpolation)
        ref = torch.quantile(torch.tensor(x), torch.tensor(q, dtype=torch.float64), dim=dim, keepdim=keep,
                             interpolation=interpolation)
        assert_same(ours, ref)
        ours, ref = both(lambda lib, t: lib.quantile(t, 0.3, dim=dim, keepdim=keep, interpolation=interpolation),
                         x, None, device)
        assert_same(ours, ref)


def test_quantile_nan_and_grad(device):
    for name in ("quantile", "nanquantile"):
        ours, ref = both(lambda lib, t: getattr(lib, name)(t, 0.4, dim=1), WITH_NAN + [[NAN] * 6], None, device)
        assert_same(ours, ref)
    check_against_torch(lambda lib, x: lib.quantile(x, 0.35, dim=0), (6, 3), device=device)
    with pytest.raises(RuntimeError):
        torch.quantile(torch.ones(3, dtype=torch.int64), 0.5)
    with pytest.raises(RuntimeError):
        flambeau.quantile(flambeau.ones(3, dtype=flambeau.int64), 0.5)
    with pytest.raises(RuntimeError):
        flambeau.quantile(flambeau.ones(3), 1.5)
    for fn in (lambda lib: lib.quantile(lib.tensor(2.0), 0.5, dim=0), lambda lib: lib.quantile(lib.tensor(2.0), 0.5),
               lambda lib: lib.nanquantile(lib.tensor(2.0), 0.25, dim=0, keepdim=True)):
        assert_same(fn(flambeau), fn(torch))
    with pytest.raises(RuntimeError):
        torch.quantile(torch.ones(3), 0.5, interpolation="bogus")
    with pytest.raises(RuntimeError):
        flambeau.quantile(flambeau.ones(3), 0.5, interpolation="bogus")


def test_unique_variants(device):
    data = [[3, 1, 2], [1, 3, 3], [3, 1, 2]]
    for kw in ({}, {"return_inverse": True}, {"return_counts": True},
               {"return_inverse": True, "return_counts": True}, {"dim": 0, "return_inverse": True,
                                                                 "return_counts": True},
               {"dim": 1, "return_counts": True}):
        ours, ref = both(lambda lib, t: lib.unique(t, **kw), data, None, device)
        assert_same(ours, ref)
    ours, ref = both(lambda lib, t: t.unique(), [2.5, NAN, -1.0, 2.5], None, device)
    assert_same(ours, ref)
    ours, ref = both(lambda lib, t: t.unique(return_counts=True), [NAN, 1.0, NAN, 1.0], None, device)
    assert_same(ours, ref)


def test_unique_consecutive(device):
    for kw in ({}, {"return_inverse": True, "return_counts": True}):
        ours, ref = both(lambda lib, t: lib.unique_consecutive(t, **kw), [1, 1, 2, 2, 3, 1, 1, 2], None, device)
        assert_same(ours, ref)
    ours, ref = both(lambda lib, t: lib.unique_consecutive(t, return_counts=True, dim=0),
                     [[1, 2], [1, 2], [3, 4], [1, 2]], None, device)
    assert_same(ours, ref)


def test_bincount_histc_histogram(device):
    idx = [0, 1, 1, 4, 2, 1]
    ours, ref = both(lambda lib, t: lib.bincount(t), idx, None, device)
    assert_same(ours, ref)
    ours, ref = both(lambda lib, t: lib.bincount(t, minlength=8), idx, None, device)
    assert_same(ours, ref)
    for wdt in ("float32", "float64", "int64", "float16"):
        ours = flambeau.bincount(flambeau.tensor(idx, device=device),
                                 flambeau.arange(6, dtype=getattr(flambeau, wdt), device=device))
        ref = torch.bincount(torch.tensor(idx), torch.arange(6, dtype=getattr(torch, wdt)))
        assert_same(ours, ref)
    with pytest.raises(RuntimeError):
        torch.bincount(torch.tensor([-1, 2]))
    with pytest.raises(RuntimeError):
        flambeau.bincount(flambeau.tensor([-1, 2]))
    x = np.random.default_rng(4).standard_normal(50).astype(np.float32)
    for kw in ({}, {"bins": 7}, {"bins": 5, "min": -1, "max": 1}):
        ours, ref = both(lambda lib, t: lib.histc(t, **kw), x, None, device)
        assert_same(ours, ref)
    ours, ref = both(lambda lib, t: lib.histogram(t, 6), x, None, device)
    assert_same(ours, ref, rtol=1e-5)


@pytest.mark.parametrize("case", [
    lambda lib, dev: lib.bincount(lib.tensor([1.0, 2.0], device=dev), minlength=-1),      # dtype first
    lambda lib, dev: lib.bincount(lib.tensor([True, False], device=dev)),
    lambda lib, dev: lib.bincount(lib.tensor([-1, 2], device=dev), minlength=-1),
    lambda lib, dev: lib.bincount(lib.tensor([-1, 2], device=dev)),
    lambda lib, dev: lib.bincount(lib.tensor([[1, 2]], device=dev)),
    lambda lib, dev: lib.bincount(lib.tensor(3, device=dev)),
    lambda lib, dev: lib.bincount(lib.tensor([1, 2], device=dev), weights=lib.ones(3, device=dev)),
    lambda lib, dev: lib.histc(lib.arange(3, device=dev), bins=0),                        # bins first
    lambda lib, dev: lib.histc(lib.arange(3, device=dev), bins=2, min=2, max=1),
    lambda lib, dev: lib.histc(lib.arange(3, device=dev), bins=2),
    lambda lib, dev: lib.histc(lib.tensor([True, False], device=dev), bins=2),
    lambda lib, dev: lib.histc(lib.ones(3, 2, device=dev), bins=2, min=0, max=float("inf")),
    lambda lib, dev: lib.histc(lib.ones(0, device=dev), bins=2, min=float("inf"), max=float("inf")),
    lambda lib, dev: lib.histc(lib.ones(3, device=dev), bins=2, min=2.5, max=1),
    lambda lib, dev: lib.histc(lib.ones(3, device=dev), bins=2.0),
    lambda lib, dev: lib.histc(lib.ones(3, device=dev), bins=True),
    lambda lib, dev: lib.histogram(lib.arange(3.0, device=dev), bins=0, range=(3.0, 1.0)),
    lambda lib, dev: lib.histogram(lib.arange(3.0, device=dev), bins=2, range=(3.0, 1.0)),
    lambda lib, dev: lib.histogram(lib.tensor([1.0, float("inf")], device=dev), bins=2),
    lambda lib, dev: lib.histogram(lib.arange(3, device=dev), bins=2),
    lambda lib, dev: lib.histogram(lib.arange(3.0, device=dev), lib.tensor([0.0, 1.0], dtype=lib.float64,
                                                                            device=dev)),
    lambda lib, dev: lib.histogram(lib.arange(3.0, device=dev), lib.tensor([[0.0, 1.0]], device=dev)),
    lambda lib, dev: lib.histogram(lib.arange(3.0, device=dev), lib.tensor([0.0], device=dev)),
    lambda lib, dev: lib.histogram(lib.arange(3.0, device=dev), bins=2, weight=lib.ones(2, device=dev)),
])
def test_bincount_histc_histogram_errors_match_torch(case, device):
    same_error(case, device)


def test_histc_histogram_edge_cases_match_torch(device):
    big = [1e10, 1e10 + 1024, 1e10 - 1024]
    for fn, data, dtype in [
            (lambda lib, t: lib.histc(t, bins=2, min=1e10, max=1e10), [1e10], "float32"),   # one float32 step out
            (lambda lib, t: lib.histc(t, bins=3), big, "float32"),
            (lambda lib, t: lib.histc(t, bins=3, min=1e20, max=1e20), [1e20], "float64"),
            (lambda lib, t: lib.histc(t, bins=3), [2.0, 2.0], "float16"),
            (lambda lib, t: lib.histc(t, bins=lib.tensor(3)), [0.0, 2.0, 2.5], "float32"),
            (lambda lib, t: lib.bincount(t, weights=t.float(), minlength=2), [], "int64"),    # int64 zeros
            (lambda lib, t: lib.histogram(t, bins=3), [[1.0, 1.0], [4.0, 2.0]], "float32"),
            (lambda lib, t: lib.histogram(t, lib.tensor([2.0, 1.0, 0.0], device=t.device)), [0.0, 0.5, 1.0],
             "float32"),
            (lambda lib, t: lib.histogram(t, bins=2, range=(0.0, 1.0), density=True), [0.0, 0.5, 2.0], "float32"),
            (lambda lib, t: lib.histogram(t, bins=3, weight=lib.arange(3.0, dtype=t.dtype, device=t.device)),
             [0.0, 1.0, 2.0], "float64")]:
        ours, ref = both(fn, data, dtype, device)
        assert_same(ours, ref)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin(name, device):
    data = [[1.0, 3.0, 2.0, 3.0, NAN, 5.0, NAN, 1.0], [4.0, 4.0, 2.0, 2.0, 5.0, 1.0, 1.0, 6.0]]
    ours, ref = both(lambda lib, t: getattr(lib, name)(t, 1), data, None, device)
    assert_same(ours.values, ref.values)
    assert_same(ours.indices, ref.indices)
    ours, ref = both(lambda lib, t: getattr(t, name)(0), [[3, 1], [3, 5], [2, 5]], "int32", device)
    assert_same(ours, ref)
    check_against_torch(lambda lib, x: getattr(lib, name)(x, 0).values, (5, 3), device=device)


def test_integer_inputs_rejected_like_torch(device):
    for fn in (lambda lib: lib.logcumsumexp(lib.tensor([1, 2]), 0), lambda lib: lib.histc(lib.tensor([1, 2])),
               lambda lib: lib.sort(lib.tensor([1 + 1j]))):
        with pytest.raises(Exception) as ref:
            fn(torch)
        with pytest.raises(type(ref.value)):
            fn(on_device(flambeau, device))


def test_logcumsumexp(device):
    check_against_torch(lambda lib, x: lib.logcumsumexp(x * 30, 1), (3, 6), device=device, rtol=1e-6)
    ours, ref = both(lambda lib, t: t.logcumsumexp(0), [1000.0, 1000.0, -float("inf")], None, device)
    assert_same(ours, ref)
    # elements far below a later maximum keep their own scale (one shift by the max underflows them)
    ours, ref = both(lambda lib, t: t.logcumsumexp(0), [-1000.0, 0.0, -2000.0, 5.0], None, device)
    assert_same(ours, ref)
    gradcheck(lambda lib, x: lib.logcumsumexp(x, 0), (5, 2), device=device)


def test_searchsorted_and_bucketize(device):
    seq = [1.0, 3.0, 3.0, 5.0, 7.0]
    vals = [[0.0, 3.0, 6.0], [7.0, 8.0, 1.0]]
    for kw in ({}, {"right": True}, {"side": "right"}, {"out_int32": True}):
        ours = flambeau.searchsorted(flambeau.tensor(seq, device=device), flambeau.tensor(vals, device=device), **kw)
        ref = torch.searchsorted(torch.tensor(seq), torch.tensor(vals), **kw)
        assert_same(ours, ref)
        kw.pop("side", None)
        ours = flambeau.bucketize(flambeau.tensor(vals, device=device), flambeau.tensor(seq, device=device), **kw)
        ref = torch.bucketize(torch.tensor(vals), torch.tensor(seq), **kw)
        assert_same(ours, ref)
    seq2 = [[1, 3, 5], [2, 4, 6]]
    ours = flambeau.searchsorted(flambeau.tensor(seq2, device=device), flambeau.tensor([[3, 0], [6, 5]],
                                                                                        device=device))
    assert_same(ours, torch.searchsorted(torch.tensor(seq2), torch.tensor([[3, 0], [6, 5]])))
    assert_same(flambeau.searchsorted(flambeau.tensor(seq, device=device), 4.0),
                torch.searchsorted(torch.tensor(seq), 4.0))


@pytest.mark.parametrize("kw", [{"side": "up"}, {"side": "left", "right": True}])
def test_searchsorted_bad_side_raises_torchs_message(kw):
    same_error(lambda lib: lib.searchsorted(lib.tensor([1.0, 3.0]), lib.tensor([2.0]), **kw))


def test_diff(device):
    x = np.random.default_rng(5).standard_normal((3, 5))
    for kw in ({}, {"n": 2}, {"dim": 0}, {"n": 3, "dim": 1}):
        check_against_torch(lambda lib, t: lib.diff(t, **kw), (3, 5), device=device)
    ours = flambeau.diff(flambeau.tensor(x, device=device), prepend=flambeau.zeros(3, 1, dtype=flambeau.float64,
                                                                                   device=device))
    assert_same(ours, torch.diff(torch.tensor(x), prepend=torch.zeros(3, 1, dtype=torch.float64)))
    ours, ref = both(lambda lib, t: lib.diff(t), [True, False, False, True], None, device)
    assert_same(ours, ref)
    ours, ref = both(lambda lib, t: lib.diff(t, n=2), [1, 4, 9, 16], "int32", device)
    assert_same(ours, ref)


@pytest.mark.parametrize("case", [
    lambda L: L.isin(L.tensor([1, 2, 3, 2]), L.tensor([2, 5])),
    lambda L: L.isin(L.tensor([[1.0, 2.0], [float("nan"), 4.0]]), L.tensor([4.0, float("nan")])),
    lambda L: L.isin(L.tensor([1.0, 2.0]), 2.0),
    lambda L: L.isin(3, L.tensor([1, 3])),
    lambda L: L.isin(L.tensor([1, 2, 3]), L.tensor([2, 5]), invert=True),
    lambda L: L.isin(L.tensor([1, 2]), L.tensor([1.5, 2.0])),
    lambda L: L.isin(L.tensor([3, 1, 2]), L.tensor([1, 2, 3]), assume_unique=True),
])
def test_isin_as_torch(case, device):
    assert_same(case(on_device(flambeau, device)), case(torch), device=device)


def test_isin_needs_a_tensor():
    for L in (torch, flambeau):
        with pytest.raises(TypeError):
            L.isin(1, 2)


@pytest.mark.parametrize("call", [lambda lib, z: lib.sort(z), lambda lib, z: z.sort(descending=True),
                                  lambda lib, z: lib.argsort(z), lambda lib, z: lib.msort(z),
                                  lambda lib, z: z.topk(1)])
def test_complex_sort_and_topk_raise_torchs_message(call):
    same_error(lambda lib: call(lib, lib.tensor([1 + 1j, 2j])))
