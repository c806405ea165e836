"""Indexing against PyTorch: getitem/setitem with every key kind, gather/scatter, masks, index_* ops."""
import warnings

import numpy as np
import pytest
import torch

import flambeau
from _oracle import assert_same, check_against_torch, no_host_reads, on_device, same_error

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 5, 6)).astype(np.float32)


def run_both(fn, *arrays, device="cpu"):
    """fn(lib, *tensors) on torch and flambeau: same result, or the same exception type."""
    results = []
    for lib in (torch, on_device(flambeau, device)):
        ts = [lib.tensor(a) for a in arrays]
        try:
            results.append(fn(lib, *ts))
        except Exception as e:          # noqa: BLE001 - the exception type is what is compared
            results.append(e)
    ref, ours = results
    for o in ours if isinstance(ours, tuple) else (ours,):
        if isinstance(o, flambeau.Tensor):
            assert o.device.type == device, f"result on {o.device}, expected {device}"
    if isinstance(ref, Exception):
        assert isinstance(ours, Exception), f"torch raised {ref!r}, flambeau returned {ours!r}"
        assert type(ours) is type(ref), f"torch raised {type(ref).__name__}, flambeau {type(ours).__name__}: {ours}"
        return ref, ours
    assert not isinstance(ours, Exception), f"flambeau raised {ours!r}, torch returned a result"
    assert_same(ours, ref)
    return ref, ours


GET_KEYS = [
    1, -1, (1, 2), (1, 2, 3), (-4, -5, -6), slice(1, 3), slice(None, None, 2), slice(-3, None),
    (slice(None), 2), (Ellipsis, 1), (None, 1), (1, None, Ellipsis, None), (Ellipsis, None),
    (slice(1, None, 2), None, slice(None, None, 3)), (slice(10, 20),), (slice(-10, 2),), (),
    [0, 2], [[0, 1], [2, 3]], ([0, 1], [1, 2]), (slice(None), [0, 4]), ([0, 1], slice(None), [1, 2]),
    (1, [0, 2], slice(None)), (slice(None), [[0], [1]], [1, 2]), (Ellipsis, [0, -1]), ([-1, 0],),
    (None, [0, 1]), ([0, 1], None, [1, 2]), (slice(None), 1, [0, 2]), ([True, False, True, False],),
    True, False, None, Ellipsis, ([0, 0, 1], [2, 2, 2], [5, 5, 0]), ([], ),
]


@pytest.mark.parametrize("key", GET_KEYS, ids=repr)
def test_getitem_matches_torch(key, device):
    run_both(lambda lib, x: x[key], X, device=device)


@pytest.mark.parametrize("key", [
    lambda lib: lib.tensor([0, 3]), lambda lib: lib.tensor([[1], [2]]), lambda lib: lib.tensor(2),
    lambda lib: lib.tensor([0, 1], dtype=lib.int32), lambda lib: lib.tensor([True, False, True, True]),
    lambda lib: (lib.tensor([0, 1]), lib.tensor([1, 2])), lambda lib: (slice(None), lib.tensor([4, 0])),
    lambda lib: lib.tensor([[True, False, True, False, True]] * 4), lambda lib: lib.tensor(X > 0),
    lambda lib: (lib.tensor(1), lib.tensor([2, 3])), lambda lib: lib.tensor([], dtype=lib.int64),
])
def test_getitem_tensor_keys(key, device):
    run_both(lambda lib, x: x[key(lib)], X, device=device)


@pytest.mark.parametrize("key", [
    4, -5, (0, 5), (0, 0, 6), (0, 0, 0, 0), [0, 4], (slice(None), [5]), ([0], [0], [-7]),
    ([True, False],), (Ellipsis, Ellipsis), 1.5, "a",
])
def test_getitem_errors_match_torch(key, device):
    run_both(lambda lib, x: x[key], X, device=device)


def test_getitem_zero_step_and_negative_step(device):
    F = on_device(flambeau, device)
    for lib in (torch, F):
        x = lib.tensor(X)
        with pytest.raises(ValueError):
            x[::0]
        with pytest.raises(ValueError):
            x[::-1]


def test_getitem_0d(device):
    run_both(lambda lib, x: x[None], np.float32(3.5), device=device)
    run_both(lambda lib, x: x[...], np.float32(3.5), device=device)
    run_both(lambda lib, x: x[0], np.float32(3.5), device=device)
    run_both(lambda lib, x: x[()], np.float32(3.5), device=device)


def test_basic_index_is_a_view_with_torch_strides(device):
    F = on_device(flambeau, device)
    for key in [1, (1, 2), (slice(1, None, 2), None, slice(None, None, 3)), (Ellipsis, None), (None, 0, None),
                (slice(5, None),), (slice(None), slice(2, 2))]:
        t, f = torch.tensor(X)[key], F.tensor(X)[key]
        assert f.stride() == t.stride(), key
        if t.numel():
            assert f.storage_offset() == t.storage_offset(), key


def test_int_index_writes_through(device):
    F = on_device(flambeau, device)
    x = F.zeros(3)
    x[1].fill_(5.0)          # a 0-d view, not a copy
    assert x.tolist() == [0.0, 5.0, 0.0]
    x.select(0, 2).add_(1)
    assert x.tolist() == [0.0, 5.0, 1.0]


SET_CASES = [
    (1, 0.5), ((1, 2), 7), (slice(None, None, 2), -1), ((Ellipsis, 0), 3.25), ([0, 2], 9.0),
    ((slice(None), [1, 3]), 2.0), (np.s_[:, 1:3], np.ones((5, 2), np.float32)), (np.s_[0], np.arange(6.)),
    (np.s_[..., None, 1], np.arange(5.)), (np.s_[[0, 0]], 1.0), ((X > 0,), 0.0), ((1, [0, 1], [2, 3]), 4.0),
    (np.s_[:2], np.arange(30).reshape(5, 6)), (np.s_[1:3], np.ones((3, 5, 6))), (np.s_[0], np.ones((2, 6))),
]


@pytest.mark.parametrize("key,value", SET_CASES, ids=lambda v: repr(v)[:30])
def test_setitem_matches_torch(key, value, device):
    def fn(lib, x):
        k = lib.tensor(key[0]) if isinstance(key, tuple) and isinstance(key[0], np.ndarray) else key
        v = lib.tensor(value) if isinstance(value, np.ndarray) else value
        x[k] = v
        return x
    run_both(fn, X.copy(), device=device)


def test_setitem_casts_to_the_tensor_dtype(device):
    def fn(lib, x):
        x[0] = lib.tensor([1.7, -2.2, 3.9])
        x[1] = 2.9
        x[2, :2] = True
        return x
    run_both(fn, np.zeros((3, 3), np.int64), device=device)


def test_setitem_on_views_is_visible_in_base(device):
    F = on_device(flambeau, device)
    for lib in (torch, F):
        base = lib.arange(24.).reshape(4, 6)
        v = base.t()[1:4]
        v[:, 0] = -1
        v[0][[1, 2]] = lib.tensor([7.0, 8.0])
        if lib is torch:
            ref = base.cpu().numpy().copy()
        else:
            np.testing.assert_array_equal(base.cpu().numpy(), ref)


def test_setitem_broadcast_tensor(device):
    def fn(lib, x):
        x[:, 1:3] = lib.tensor([[-1.0], [-2.0], [-3.0], [-4.0]]).unsqueeze(-1)
        return x
    run_both(fn, X.copy(), device=device)


def test_setitem_bad_shape_raises_like_torch(device):
    def fn(lib, x):
        x[0] = lib.ones(4, 4)
    run_both(fn, X.copy(), device=device)


def test_out_of_range_setitem_leaves_data_untouched(device):
    F = on_device(flambeau, device)
    x = F.tensor(X.copy())
    for key in [(0, [0, 9]), [1, 7], (Ellipsis, 6)]:
        with pytest.raises(IndexError):
            x[key] = 0.0
    np.testing.assert_array_equal(x.cpu().numpy(), X)


# -- ops along a dim -------------------------------------------------------------------------------
IDX = np.array([[0, 4, 1], [2, 2, 0], [3, 1, 4], [0, 0, 0]], dtype=np.int64)


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.index_select(1, lib.tensor([0, 4, 4])),
    lambda lib, x: lib.index_select(x, -1, lib.tensor([1], dtype=lib.int32)),
    lambda lib, x: x.index_select(0, lib.tensor([], dtype=lib.int64)),
    lambda lib, x: x.index_select(0, lib.tensor(2)),
    lambda lib, x: x[:, :3].gather(1, lib.tensor(IDX[:, :2] % 3)),
    lambda lib, x: lib.gather(x[:, :, 0], 1, lib.tensor(IDX)),
    lambda lib, x: x[:, :, 0].gather(0, lib.tensor(IDX[:, :1] % 4)),
    lambda lib, x: x[:, :, 0].scatter(1, lib.tensor(IDX), 1.5),
    lambda lib, x: x[:, :, 0].scatter(1, lib.tensor(IDX[:, :1]), x[:, :2, 1]),
    lambda lib, x: x[:, :, 0].scatter_add(0, lib.tensor(IDX % 4), x[:, :3, 1]),
    lambda lib, x: x[:, :, 0].clone().scatter_(1, lib.tensor(IDX), x[:, :, 2], reduce="add"),
    lambda lib, x: x[:, :, 0].clone().scatter_(1, lib.tensor(IDX), x[:, :, 2], reduce="multiply"),
    lambda lib, x: x[:, :, 0].clone().scatter_(1, lib.tensor(IDX), 2.0, reduce="multiply"),
    lambda lib, x: x[:, :, 0].clone().scatter_add_(1, lib.tensor(IDX), x[:, :, 2]),
    lambda lib, x: x[:, :, 0].scatter_reduce(1, lib.tensor(IDX), x[:, :, 2], "sum"),
    lambda lib, x: x[:, :, 0].scatter_reduce(1, lib.tensor(IDX), x[:, :, 2], "prod", include_self=False),
    lambda lib, x: x[:, :, 0].scatter_reduce(1, lib.tensor(IDX), x[:, :, 2], "mean"),
    lambda lib, x: x[:, :, 0].scatter_reduce(1, lib.tensor(IDX), x[:, :, 2], "mean", include_self=False),
    lambda lib, x: x[:, :, 0].scatter_reduce(1, lib.tensor(IDX), x[:, :, 2], "amax"),
    lambda lib, x: x[:, :, 0].scatter_reduce(1, lib.tensor(IDX), x[:, :, 2], "amin", include_self=False),
    lambda lib, x: x.masked_fill(x > 0, -1.0),
    lambda lib, x: x.masked_fill(lib.tensor([True, False, True, False, False, True]), lib.tensor(2.0)),
    lambda lib, x: x.clone().masked_fill_(x < 0, 0),
    lambda lib, x: x.masked_select(x > 0.5),
    lambda lib, x: x[0].masked_select(lib.tensor([True, False, False, True, False, True])),
    lambda lib, x: x.masked_scatter(x > 0, -x),
    lambda lib, x: x[0].clone().masked_scatter_(lib.tensor([True, False, True, False, True, False]),
                                               lib.arange(100.).reshape(10, 10)),
    lambda lib, x: lib.where(x > 0, x, lib.zeros(6)),
    lambda lib, x: lib.where(x > 0, x, 0.5),
    lambda lib, x: lib.where(x > 0),
    lambda lib, x: (x > 0).nonzero(),
    lambda lib, x: x[0, 0].nonzero(as_tuple=True),
    lambda lib, x: lib.nonzero(x > 1, as_tuple=True),
    lambda lib, x: lib.tensor(0.0).nonzero(),
    lambda lib, x: lib.tensor(2.0).nonzero(as_tuple=True),
    lambda lib, x: x.clone().index_add_(1, lib.tensor([0, 4, 0]), x[:, :3]),
    lambda lib, x: x.index_add(0, lib.tensor([1, 1]), x[:2], alpha=2),
    lambda lib, x: x.clone().index_copy_(2, lib.tensor([5, 0]), x[:, :, :2]),
    lambda lib, x: x.clone().index_fill_(1, lib.tensor([0, 3]), -2.0),
    lambda lib, x: x.index_fill(-1, lib.tensor([1]), lib.tensor(7.0)),
    lambda lib, x: x.take(lib.tensor([[0, 119], [-1, 5]])),
    lambda lib, x: lib.take(x[:, ::2], lib.tensor([3, 4, 59])),
    lambda lib, x: x.clone().put_(lib.tensor([0, 7, -1]), lib.tensor([1.0, 2.0, 3.0])),
    lambda lib, x: x.clone().put_(lib.tensor([1, 1]), lib.tensor([1.0, 2.0]), accumulate=True),
    lambda lib, x: x.transpose(0, 2).put(lib.tensor([1, 50]), lib.tensor([1.0, 2.0])),
    lambda lib, x: x.put(lib.tensor([1]), lib.tensor([1.0, 2.0])),
    lambda lib, x: x.put(lib.tensor([1]), lib.tensor([1.0], dtype=lib.float64)),
    lambda lib, x: x.flip(0), lambda lib, x: x.flip((0, 2)), lambda lib, x: lib.flip(x, [-1]),
    lambda lib, x: x.roll(2), lambda lib, x: x.roll(-1, 1), lambda lib, x: x.roll((1, 7), (0, 2)),
    lambda lib, x: x.repeat(2, 1, 1), lambda lib, x: x.repeat(1, 2, 3, 1), lambda lib, x: x[0, 0].repeat(2),
    lambda lib, x: x.tile((2,)), lambda lib, x: lib.tile(x, (2, 1, 1, 2)),
    lambda lib, x: x.repeat_interleave(2), lambda lib, x: x.repeat_interleave(3, dim=1),
    lambda lib, x: x.repeat_interleave(lib.tensor([1, 0, 2, 1]), dim=0),
    lambda lib, x: lib.repeat_interleave(lib.tensor([2, 0, 3])),
], ids=lambda f: f.__code__.co_firstlineno.__str__())
def test_dim_ops_match_torch(fn, device):
    run_both(fn, X, device=device)


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.index_select(1, lib.tensor([0, 5])),
    lambda lib, x: x.index_select(1, lib.tensor([-6])),
    lambda lib, x: x.index_select(0, lib.tensor([1, 4])),
    lambda lib, x: x.index_select(2, lib.tensor([-1])),
    lambda lib, x: x.index_select(0, lib.tensor([0.0])),
    lambda lib, x: x.gather(1, lib.tensor([[[5]]])),
    lambda lib, x: x.gather(1, lib.tensor([[[0]]], dtype=lib.int32)),
    lambda lib, x: x.scatter(2, lib.tensor([[[6]]]), 1.0),
    lambda lib, x: x.masked_fill(x, 1.0),
    lambda lib, x: x.masked_fill(x > 0, lib.tensor([1.0, 2.0])),
    lambda lib, x: x.take(lib.tensor([120])),
    lambda lib, x: x.clone().put_(lib.tensor([-121]), lib.tensor([1.0])),
    lambda lib, x: x.clone().index_add_(1, lib.tensor([5]), x[:, :1]),
    lambda lib, x: x.clone().index_fill_(2, lib.tensor([6]), 0.0),
    lambda lib, x: x.clone().index_copy_(0, lib.tensor([4]), x[:1]),
    lambda lib, x: x.repeat(2, 2),
    lambda lib, x: x.flip(3),
    lambda lib, x: x.roll((1, 2), (0,)),
], ids=lambda f: f.__code__.co_firstlineno.__str__())
def test_dim_op_errors_match_torch(fn, device):
    run_both(fn, X, device=device)


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.clone().index_add_(1, lib.tensor([5]), x[:, :1]),
    lambda lib, x: x.index_fill_(2, lib.tensor([6]), 0.0),
    lambda lib, x: x.index_copy_(0, lib.tensor([4]), x[:1]),
    lambda lib, x: x.put_(lib.tensor([0, 200]), lib.tensor([1.0, 2.0])),
    lambda lib, x: x.scatter_(2, lib.tensor([[[0, 6]]]), 1.0),
    lambda lib, x: x.__setitem__(([0, 4], 0), 1.0),
])
def test_out_of_range_leaves_data_untouched(fn, device):
    F = on_device(flambeau, device)
    x = F.tensor(X.copy())
    with pytest.raises((IndexError, RuntimeError)):
        fn(F, x)
    np.testing.assert_array_equal(x.cpu().numpy(), X)


@pytest.mark.parametrize("fn,shapes", [
    (lambda lib, x: x[1:, [0, 2]] * 2, [(3, 4)]),
    (lambda lib, x: x[x.detach() > 0].sum(), [(3, 4)]),
    (lambda lib, x: x[[0, 0, 1]], [(3, 4)]),
    (lambda lib, x: x.index_select(1, lib.tensor([1, 1, 3])), [(3, 4)]),
    (lambda lib, x: x.gather(1, lib.tensor([[0, 0], [3, 1], [2, 2]])), [(3, 4)]),
    (lambda lib, x, y: x.scatter(1, lib.tensor([[0, 2], [3, 1], [2, 0]]), y), [(3, 4), (3, 2)]),
    (lambda lib, x, y: x.scatter_add(1, lib.tensor([[0, 0], [3, 1], [2, 2]]), y), [(3, 4), (3, 2)]),
    (lambda lib, x: x.masked_fill(lib.tensor([True, False, True, False]), 0.0), [(3, 4)]),
    (lambda lib, x: x.masked_select(lib.tensor([True, False, True, False])), [(3, 4)]),
    (lambda lib, x: x.take(lib.tensor([0, 5, 5, 11])), [(3, 4)]),
    (lambda lib, x: x.flip(1).roll(1, 0), [(3, 4)]),
    (lambda lib, x: x.repeat(2, 3), [(3, 4)]),
    (lambda lib, x: x.repeat_interleave(2, dim=1), [(3, 4)]),
    (lambda lib, x, y: lib.where(x > 0, x, y), [(3, 4), (4,)]),
    (lambda lib, x, y: x.index_add(0, lib.tensor([2, 0, 2]), y), [(3, 4), (3, 4)]),
    (lambda lib, x, y: x.index_add(1, lib.tensor([1, 1]), y, alpha=-2), [(3, 4), (3, 2)]),
    (lambda lib, x, y: x.index_copy(1, lib.tensor([3, 0]), y), [(3, 4), (3, 2)]),
    (lambda lib, x: x.index_fill(0, lib.tensor([2]), -1.0), [(3, 4)]),
    (lambda lib, x, y: x.masked_scatter(lib.tensor([True, False, True, True]), y), [(3, 4), (4, 3)]),
    (lambda lib, x, y: (x * 1).index_copy_(0, lib.tensor([1]), y), [(3, 4), (1, 4)]),
    (lambda lib, x, y: (x * 1).masked_scatter_(x.detach() > 0, y), [(3, 4), (3, 4)]),
])
def test_indexing_gradients_match_torch(fn, shapes, device):
    check_against_torch(fn, *shapes, device=device)


@pytest.mark.parametrize("reduce", ["sum", "mean", "amax", "amin", "prod"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradients_match_torch(reduce, include_self, device):
    for idx in ([[0, 2], [3, 1], [2, 0]], [[0, 0], [3, 3], [2, 2]]):
        check_against_torch(lambda lib, x, y: x.scatter_reduce(1, lib.tensor(idx), y, reduce,
                                                               include_self=include_self), (3, 4), (3, 2),
                            device=device)
    check_against_torch(lambda lib, x, y: (x * 1).scatter_reduce_(0, lib.tensor([[0, 2, 1, 1]]), y, reduce,
                                                                  include_self=include_self), (3, 4), (1, 4),
                        device=device)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("zeros", [[(0, 1)], [(0, 1), (2, 0)], [], [(1, 0), (1, 1)]])
def test_scatter_reduce_prod_gradient_with_zeros(zeros, include_self, device):
    # zeros in src: alone in their slot, two in one slot (idx row 1 sends both to slot 3), or in self
    idx = [[0, 2], [3, 3], [2, 0]]

    def fn(lib, x, y):
        y = y.clone()
        for i, j in zeros:
            y = y.index_put((lib.tensor([i]), lib.tensor([j])), lib.tensor(0.0, dtype=y.dtype))
        x = x.index_put((lib.tensor([1, 2]), lib.tensor([0, 2])), lib.tensor(0.0, dtype=x.dtype))
        return x.scatter_reduce(1, lib.tensor(idx), y, "prod", include_self=include_self)
    check_against_torch(fn, (3, 4), (3, 2), device=device)
    x = flambeau.tensor(X[0, :3, :4], device=device, requires_grad=True)
    y = flambeau.zeros(3, 2, device=device, requires_grad=True)
    out = x.scatter_reduce(1, flambeau.tensor(idx, device=device), y, "prod", include_self=include_self)
    with no_host_reads(device):
        out.sum().backward()


def test_scatter_reduce_prod_gradgradcheck_with_zeros():
    idx = flambeau.tensor([[0, 2], [3, 1]])
    x = flambeau.tensor([[1.5, 0.0, 2.0, -1.0], [0.5, 2.0, 0.0, 3.0]], dtype=flambeau.float64, requires_grad=True)
    y = flambeau.tensor([[0.0, 2.0], [1.5, -0.5]], dtype=flambeau.float64, requires_grad=True)
    assert flambeau.autograd.gradcheck(lambda x, y: x.scatter_reduce(1, idx, y, "prod"), (x, y))


def test_put_gradients_match_torch(device):
    check_against_torch(lambda lib, x, y: x.put(lib.tensor([0, 5, 11]), y), (3, 4), (3,), device=device)
    check_against_torch(lambda lib, x, y: x.put(lib.tensor([0, 5, 5]), y, accumulate=True), (3, 4), (3,), device=device)
    check_against_torch(lambda lib, x, y: (x * 1).put_(lib.tensor([[0, -1]]), y), (3, 4), (1, 2), device=device)
    check_against_torch(lambda lib, x, y: x.t().put(lib.tensor([1, 4]), y), (3, 4), (2,), device=device)


def test_setitem_gradient_matches_torch(device):
    def fn(lib, x, y):
        z = x * 1
        z[1:, ::2] = y
        z[0, [0, 3]] = y[0]
        return z
    check_against_torch(fn, (3, 4), (2, 2), device=device)


def test_index_tensors_on_the_cpu_with_a_cuda_tensor(device):
    """Index and mask tensors for [] may live on the CPU (torch moves them); the index_* family, gather, scatter,
    take and put need them on the input's device and say which two devices they found."""
    if device == "cpu":
        pytest.skip("needs a second device")
    x, ref = flambeau.tensor(X, device=device), torch.tensor(X)
    for key in (lambda lib: lib.tensor([0, 3]), lambda lib: (lib.tensor([0, 1]), lib.tensor([1, 2])),
                lambda lib: lib.tensor(X > 0), lambda lib: (slice(None), lib.tensor([4, 0]))):
        out = x[key(flambeau)]
        assert out.device == x.device
        assert_same(out, ref[key(torch)])
    host = flambeau.tensor([[[0]]])
    for fn in (lambda: x.index_select(1, host[0, 0]), lambda: x.gather(1, host), lambda: x.scatter(1, host, 1.0),
               lambda: x.take(host), lambda: x.clone().put_(host[0, 0], x[0, 0, :1]),
               lambda: x.clone().index_add_(0, host[0, 0], x[:1]), lambda: x.scatter_reduce(1, host, x, "amax"),
               lambda: x.masked_fill(flambeau.tensor(X > 0), 0.0)):
        with pytest.raises(RuntimeError, match="cuda:0.*cpu|cpu.*cuda:0"):
            fn()


def test_indexing_grad_fn_names_match_torch(device):
    F = on_device(flambeau, device)
    a = np.arange(12.0).reshape(3, 4)
    for code in ["x[0]", "x[:, 1]", "x[1:]", "x[None]", "x[..., 1:2]", "x[:, :]", "x[[0, 2]]", "x[x > 3]",
                 "x.index_select(1, torch.tensor([0]))", "x.gather(1, torch.tensor([[0], [1], [2]]))",
                 "x.scatter(1, torch.tensor([[0], [1], [2]]), 2.0)", "x.scatter_add(1, torch.tensor([[0], [1], [2]]), x)",
                 "x.scatter_reduce(1, torch.tensor([[0], [1], [2]]), x, 'amax')", "x.masked_fill(x > 3, 0.0)",
                 "x.masked_select(x > 3)", "x.masked_scatter(x > 3, x)", "x.take(torch.tensor([1]))",
                 "x.put(torch.tensor([1]), torch.tensor([5.0], dtype=torch.float64))", "x.index_add(0, torch.tensor([0]), x[:1])",
                 "x.index_copy(0, torch.tensor([0]), x[:1])", "x.index_fill(0, torch.tensor([0]), 1.0)",
                 "x.flip(0)", "x.roll(1, 0)", "x.repeat(2, 1)", "x.tile((2,))"]:
        names = [type(eval(code, {"torch": lib, "x": lib.tensor(a, requires_grad=True)}).grad_fn).__name__
                 for lib in (torch, F)]
        assert names[1] == names[0], code


SETITEM_KEYS = [0, slice(None), Ellipsis, None, True, False, (slice(None), 0), (Ellipsis, 1), (0, [0, 1]),
                slice(0, 100), (slice(None), slice(None)), slice(1, None)]


@pytest.mark.parametrize("key", SETITEM_KEYS)
@pytest.mark.parametrize("value", ["number", "scalar tensor", "row", "full"])
def test_setitem_records_torchs_node(key, value):
    """A write through a key is recorded as in torch: CopySlices through a view, CopyBackwards or
    FillBackward3 when the key takes the whole tensor, IndexPutBackward0 for index tensors, nothing
    for False; the gradients agree."""
    names, grads = [], []
    for lib in (flambeau, torch):
        x = lib.arange(6.).view(2, 3).requires_grad_()
        v = {"number": 2.5, "scalar tensor": lib.tensor(2.5), "row": lib.ones(3), "full": lib.ones(2, 3)}[value]
        y = x.clone()
        try:
            y[key] = v
        except (RuntimeError, IndexError) as e:
            names.append(type(e).__name__)
            continue
        names.append(type(y.grad_fn).__name__)
        (y * lib.arange(6.).view(2, 3)).sum().backward()
        grads.append(x.grad.tolist())
    assert names[0] == names[1]
    assert grads[0] == grads[1] if len(grads) == 2 else True


def test_fill_and_zero_node_names_match_torch():
    for lib, names in ((flambeau, []), (torch, [])):
        x = lib.zeros(2, requires_grad=True)
        for y in (lib.fill(x, 1.), lib.fill(x, lib.tensor(1.)), x.clone().fill_(1.), x.clone().fill_(lib.tensor(1.)),
                  x.clone().zero_()):
            names.append(type(y.grad_fn).__name__)
        if lib is flambeau:
            ours = names
    assert ours == names == ["FillBackward0", "FillBackward1", "FillBackward2", "FillBackward3", "ZeroBackward0"]


def test_writes_into_a_detached_tensor_leave_its_leaf_alone():
    """A detached tensor shares memory, not history: copies and writes into it (or its views) record nothing."""
    for lib in (flambeau, torch):
        w = lib.ones(3, requires_grad=True)
        d = w.detach()
        d[0:1].copy_(lib.tensor([5.0]))
        d[1] = 7.0
        d[2:].fill_(2.0)
        assert w.is_leaf and w.grad_fn is None and w.requires_grad
        assert w.tolist() == [5.0, 7.0, 2.0]


MASK_MISTAKES = {
    # out of place PyTorch broadcasts the mask against self (the mask is "tensor a"); in place, self first
    "fill, mask too long": lambda lib: lib.zeros(1, 1, 4).masked_fill(lib.ones(1, 1, 5, dtype=lib.bool), 0.0),
    "fill_, mask too long": lambda lib: lib.zeros(1, 1, 4).masked_fill_(lib.ones(1, 1, 5, dtype=lib.bool), 0.0),
    "fill, mask too short": lambda lib: lib.zeros(3, 1).masked_fill(lib.ones(2, 4, dtype=lib.bool), 0.0),
    "fill_, mask widens self": lambda lib: lib.zeros(2, 4).masked_fill_(lib.ones(3, 1, 4, dtype=lib.bool), 1.0),
    "scatter, mask too long": lambda lib: lib.zeros(2, 4).masked_scatter(lib.ones(1, 5, dtype=lib.bool),
                                                                         lib.ones(40)),
    "scatter_, mask too long": lambda lib: lib.zeros(2, 4).masked_scatter_(lib.ones(1, 5, dtype=lib.bool),
                                                                           lib.ones(40)),
    # each op names a non-boolean mask's dtype in its own words
    "fill, long mask": lambda lib: lib.zeros(2).masked_fill(lib.ones(2, dtype=lib.int64), 1.0),
    "fill_, float mask": lambda lib: lib.zeros(2).masked_fill_(lib.ones(2), 1.0),
    "fill, double mask": lambda lib: lib.masked_fill(lib.zeros(2), lib.ones(2, dtype=lib.float64), 1.0),
    "scatter, float mask": lambda lib: lib.zeros(2).masked_scatter(lib.ones(2), lib.arange(2.0)),
    "scatter_, int mask": lambda lib: lib.zeros(2).masked_scatter_(lib.ones(2, dtype=lib.int32), lib.arange(2.0)),
    "select, byte mask": lambda lib: lib.zeros(2).masked_select(lib.ones(2, dtype=lib.uint8)),
    "select, long mask": lambda lib: lib.zeros(2).masked_select(lib.ones(2, dtype=lib.int64)),
}


@pytest.mark.parametrize("case", sorted(MASK_MISTAKES))
def test_mask_mistakes_fail_as_in_pytorch(case, device):
    same_error(MASK_MISTAKES[case], device)


def test_attention_mask_of_the_wrong_length_names_the_mask_first(device):
    # the seq2seq mistake: a padded batch's mask against one sequence's scores
    same_error(lambda lib: lib.zeros(1, 1, 4).masked_fill(~lib.ones(1, 1, 5, dtype=lib.bool), float("-inf")),
               device)


def test_mask_that_is_not_a_tensor_is_a_type_error(device):
    F = on_device(flambeau, device)
    with pytest.raises(TypeError, match="mask"):
        F.zeros(2).masked_fill([True, False], 1.0)
    with pytest.raises(TypeError):
        torch.zeros(2).masked_fill([True, False], 1.0)


def test_masked_scatter_warns_of_byte_masks_before_refusing_them(device):
    for lib in (on_device(flambeau, device), torch):
        with pytest.warns(UserWarning, match="masked_scatter_ received a mask with dtype torch.uint8"):
            with pytest.raises(RuntimeError, match="but got mask with dtype Byte"):
                lib.zeros(2).masked_scatter(lib.ones(2, dtype=lib.uint8), lib.arange(2.0))


def test_masked_fill_with_broadcast_mask_still_fills(device):
    # the explicit broadcast check must not refuse what PyTorch accepts
    F = on_device(flambeau, device)
    ours = F.zeros(2, 4).masked_fill(F.tensor([[True], [False]]), 1.0)
    ours_in_place = F.zeros(2, 4).masked_fill_(F.tensor([True, False, True, False]), 2.0)
    ref = torch.zeros(2, 4).masked_fill(torch.tensor([[True], [False]]), 1.0)
    ref_in_place = torch.zeros(2, 4).masked_fill_(torch.tensor([True, False, True, False]), 2.0)
    assert_same(ours, ref)
    assert_same(ours_in_place, ref_in_place)
    assert_same(F.zeros(2, 4).masked_fill(F.ones(3, 1, 4, dtype=F.bool), 1.0),
                torch.zeros(2, 4).masked_fill(torch.ones(3, 1, 4, dtype=torch.bool), 1.0))


# -- the errors and warnings of course-style indexing mistakes, in PyTorch's order and words --------------
def _bool(lib, *shape):
    return lib.ones(*shape, dtype=lib.bool)


KEY_MISTAKES = {
    # a mask names the tensor it indexes: self after the ints, slices and None, and its dim there
    "mask on dim 1": lambda lib: lib.zeros(3, 4, 5)[:, lib.tensor([True, False, True])],
    "2-d mask, second dim": lambda lib: lib.zeros(3, 4, 5)[_bool(lib, 3, 3)],
    "mask after a slice": lambda lib: lib.zeros(3, 4, 5)[1:, None, ..., lib.tensor([True, False, True])],
    "mask after an int": lambda lib: lib.zeros(3, 4, 5)[0, _bool(lib, 3)],
    "mask after None": lambda lib: lib.zeros(3, 4, 5)[None, _bool(lib, 2)],
    "setitem mask": lambda lib: lib.zeros(3, 4, 5).__setitem__((slice(None), _bool(lib, 4, 4)), 1.0),
    # ints first, then masks' shapes, then the broadcast (a mask counts as one column per dim)
    "int before broadcast": lambda lib: lib.zeros(3, 4, 5)[5, [0, 1], [0, 1, 2]],
    "mask before broadcast": lambda lib: lib.zeros(3, 4, 5)[[0, 1], _bool(lib, 3, 5)],
    "2-d mask in broadcast": lambda lib: lib.zeros(3, 4, 5)[[0, 1], _bool(lib, 4, 5)],
    # an int's dimension is its place in the key
    "int after None": lambda lib: lib.zeros(3, 4, 5)[None, 0, 9],
    "int after Ellipsis": lambda lib: lib.zeros(3, 4, 5)[..., 8],
    "int after None, Ellipsis, None": lambda lib: lib.zeros(3, 4, 5)[None, ..., None, 6],
    # a basic key's value is written by copy_: expand's errors
    "value too short": lambda lib: lib.zeros(3, 4).__setitem__(slice(None), lib.ones(2)),
    "value has more rows": lambda lib: lib.zeros(3, 4).__setitem__(slice(0, 2), lib.ones(1, 3, 4)),
    "value under Ellipsis, None": lambda lib: lib.zeros(3, 4).__setitem__((Ellipsis, None), lib.ones(4, 2)),
    # a lone byte mask with one value goes to masked_fill_, which refuses it
    "byte mask fill": lambda lib: lib.zeros(2, 3).__setitem__(lib.tensor([1, 0], dtype=lib.uint8), 1),
    "byte mask fill, 1-element value": lambda lib: lib.zeros(2, 3).__setitem__(
        (Ellipsis, lib.tensor([1, 0, 1], dtype=lib.uint8)), lib.ones(1, 1)),
}


@pytest.mark.parametrize("case", sorted(KEY_MISTAKES))
def test_key_mistakes_fail_as_in_pytorch(case, device):
    same_error(KEY_MISTAKES[case], device)


def test_basic_setitem_drops_the_value_leading_ones(device):
    for lib in (torch, on_device(flambeau, device)):
        a = lib.ones(1, 1, 4, requires_grad=True)
        z = lib.zeros(3, 4, requires_grad=True).clone()
        z[1] = a * 2
        z[0] = lib.arange(4.0).view(1, 4)
        (z * lib.arange(12.0).view(3, 4)).sum().backward()
        assert z.grad_fn.name().endswith("CopySlices")
        assert a.grad.tolist() == [[[8.0, 10.0, 12.0, 14.0]]] and z[0].tolist() == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("key, message", [
    (lambda lib: lib.tensor([1, 0], dtype=lib.uint8), "indexing with dtype torch.uint8 is now deprecated"),
    (lambda lib: [[0, 1], [1, 2]], "Using a non-tuple sequence for multidimensional indexing is deprecated"),
    (lambda lib: [lib.tensor([0, 1]), slice(None)], "Using a non-tuple sequence"),
])
def test_deprecated_keys_warn_at_every_use(key, message, device):
    counts = []
    for lib in (torch, on_device(flambeau, device)):
        x = lib.zeros(2, 3)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            x[key(lib)]
            x[key(lib)] = lib.ones(x[key(lib)].shape[1:])     # more than one value: not a masked_fill_
        counts.append([str(w.message).startswith(message) and w.filename == __file__ for w in caught])
    assert counts[1] == counts[0] == [True, True, True]     # two reads, one write


def test_no_warning_for_plain_keys_and_0_dim_byte_index(device):
    F = on_device(flambeau, device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = F.zeros(2, 3)
        x[[0, 1]], x[F.tensor([0, 1]), :], x[F.tensor(1, dtype=F.uint8)], x[(F.tensor([True, False]),)]


def test_scatter_reduce_argument_warns_once(device, monkeypatch):
    from flambeau._ops import indexing
    monkeypatch.setattr(indexing, "_scatter_reduce_warned", [False])
    F = on_device(flambeau, device)
    i = F.tensor([[0]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.ones(2, 4).scatter_add(1, i, F.ones(1, 1))
        F.ones(2, 4).scatter_add_(1, i, F.ones(1, 1))
        F.ones(2, 4).scatter_(1, i, 2.0, reduce="multiply")        # a number src: no warning
        assert not caught
        F.ones(2, 4).scatter_(1, i, F.ones(1, 1), reduce="add")
        F.scatter(F.ones(2, 4), 1, i, F.ones(1, 1), reduce="multiply")
    assert len(caught) == 1 and caught[0].filename == __file__
    assert str(caught[0].message).startswith("The reduce argument of torch.scatter with Tensor src is deprecated")


@pytest.mark.parametrize("op", ["index_select", "index_add", "index_add_", "index_fill", "index_fill_",
                                "index_copy", "index_copy_", "take", "put_"])
@pytest.mark.parametrize("index", ["[0.]", "[0], dtype=lib.int16", "[True]", "[[0]]", "[[0.]]",
                                   "[0], dtype=lib.int32", "[0], dtype=lib.uint8"])
def test_index_op_index_form_errors_match_torch(op, index, device):
    calls = {"index_select": "m.index_select(0, i)", "index_add": "m.index_add(0, i, lib.ones(1, 4))",
             "index_add_": "m.index_add_(0, i, lib.ones(1, 4))", "index_fill": "m.index_fill(0, i, 1.)",
             "index_fill_": "m.index_fill_(0, i, 1.)", "index_copy": "m.index_copy(0, i, lib.ones(1, 4))",
             "index_copy_": "m.index_copy_(0, i, lib.ones(1, 4))", "take": "lib.take(m, i)",
             "put_": "m.put_(i, lib.ones(i.shape))"}

    def call(lib):
        m, i = lib.ones(3, 4), eval(f"lib.tensor({index})", {"lib": lib})
        return eval(calls[op], {"lib": lib, "m": m, "i": i})
    try:
        call(torch)
    except Exception:           # noqa: BLE001 - the cases torch refuses
        same_error(call, device)
        return
    call(on_device(flambeau, device))


@pytest.mark.parametrize("value", [[1, 2], (1, 2), [[1, 2]], None, np.float32(3), np.array(5.0), np.array([1., 2.]),
                                   np.bool_(True), 3, True, 2.5, np.int64(2), np.float64(1.5)])
def test_setitem_takes_tensors_and_python_numbers_only(value):
    results = []
    for lib in (torch, flambeau):
        t = lib.zeros(2, 2)
        try:
            t[0] = value
            results.append(t.tolist())
        except TypeError as e:
            results.append(str(e))
    assert results[0] == results[1]
