"""Smaller Tensor methods and their top-level forms, against torch: in-place shape changes,
cumulative ops in place, sum_to_size, the *_scatter family, index_reduce, fill_diagonal_,
comparisons in place, legacy new(), element-wise Python callbacks."""
import numpy as np
import pytest

import flambeau
from _oracle import assert_same, check_against_torch, need_torch, on_device, run_both as both, same_error

torch = need_torch()


SCATTERS = {
    "diagonal": lambda lib, x, s: lib.diagonal_scatter(x, s[0, :3], 1),
    "diagonal_dims": lambda lib, x, s: x.diagonal_scatter(s[0, :3], -1, 1, 0),
    "select": lambda lib, x, s: lib.select_scatter(x, s[1], 0, 2),
    "slice": lambda lib, x, s: lib.slice_scatter(x, s[:2], 0, 1, 4, 2),
    "slice_dim1": lambda lib, x, s: x.slice_scatter(s[:, :2], 1, 2),
}


@pytest.mark.parametrize("name", sorted(SCATTERS))
def test_scatter_into_views(name, device):
    check_against_torch(lambda lib, x, s: SCATTERS[name](lib, x, s), (4, 4), (4, 4), device=device)


def test_as_strided_scatter(device):
    # values against torch; gradients against finite differences: torch 2.13's gradient for input
    # is nonzero exactly where src was written, and zero elsewhere (the reverse of the truth)
    x0, s0 = np.arange(16.0).reshape(4, 4), np.arange(100.0, 104.0)
    ours, ref = both(lambda lib: lib.as_strided_scatter(lib.tensor(x0), lib.tensor(s0[:2]), (2,), (5,), 1), device)
    assert_same(ours, ref)
    x = flambeau.tensor(x0, requires_grad=True)
    s = flambeau.tensor(s0[:2], requires_grad=True)
    assert flambeau.autograd.gradcheck(lambda x, s: x.as_strided_scatter(s, (2,), (5,), 1) * 1.5, (x, s))


def test_scatter_into_views_refuses_a_wrong_src_shape():
    same_error(lambda lib: lib.select_scatter(lib.zeros(2, 3), lib.ones(2), 0, 1))


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce(reduce, include_self, device):
    idx = [0, 2, 0, 1]
    check_against_torch(lambda lib, x, s: x.index_reduce(0, lib.tensor(idx), s, reduce, include_self=include_self),
                        (3, 2), (4, 2), device=device)
    ours, ref = both(lambda lib: lib.ones(2, 3).index_reduce_(1, lib.tensor([2, 0, 2]), lib.full((2, 3), 3.0), reduce,
                                                              include_self=include_self), device)
    assert_same(ours, ref)


def test_index_reduce_errors():
    same_error(lambda lib: lib.ones(3).index_reduce(0, lib.tensor([0]), lib.ones(1), "sum"))
    same_error(lambda lib: lib.ones(3).index_reduce_(0, lib.tensor([0, 1]), lib.ones(3), "prod"))


@pytest.mark.parametrize("shape,wrap", [((3, 3), False), ((7, 3), True), ((7, 3), False), ((3, 5), False), ((2, 2, 2), False),
                                        ((4, 3), True)])
def test_fill_diagonal_(shape, wrap, device):
    ours, ref = both(lambda lib: lib.zeros(*shape).fill_diagonal_(5, wrap=wrap), device)
    assert_same(ours, ref)
    same_error(lambda lib: lib.zeros(2, 3, 4).fill_diagonal_(1))


@pytest.mark.parametrize("size", [(1, 3), (3,), (2, 1), (2, 3), (1, 1)])
def test_sum_to_size(size, device):
    check_against_torch(lambda lib, x: x.sum_to_size(*size), (2, 3), device=device)


def test_sum_to_size_error():
    same_error(lambda lib: lib.ones(2, 3).sum_to_size(4))


def test_inplace_shape_and_cumulative_ops(device):
    def fn(lib):
        a = lib.ones(2, 1, 3)
        b = lib.arange(6.0).view(2, 3)
        c = lib.arange(1.0, 7.0).view(2, 3)
        return (a.squeeze_(1).shape, a.unsqueeze_(0).shape, b.cumsum_(1), c.cumprod_(0),
                lib.tensor([1.0, 3.0]).greater_(2), lib.tensor([1.0, 3.0]).less_equal_(1),
                lib.tensor([1, 3]).not_equal_(lib.tensor([1, 2])), lib.tensor([0.5, 1.0]).polygamma_(1))
    ours, ref = both(fn, device)
    assert ours[:2] == ref[:2]
    assert_same(ours[2:], ref[2:])
    check_against_torch(lambda lib, x: (x * 2).cumsum_(1), (2, 3), device=device)
    check_against_torch(lambda lib, x: (x * 2).cumprod_(0), (2, 3), device=device)


def test_is_nonzero_new_and_callbacks():
    for lib in (flambeau, torch):
        assert lib.tensor([1.5]).is_nonzero() and not lib.tensor(0).is_nonzero()
        x = lib.ones(2, dtype=lib.float64)
        assert x.new(2, 3).shape == (2, 3) and x.new(2, 3).dtype == lib.float64
        assert x.new([1, 2]).tolist() == [1.0, 2.0] and x.new().shape == (0,)
        assert lib.arange(4.0).apply_(lambda v: v * v).tolist() == [0.0, 1.0, 4.0, 9.0]
        assert lib.arange(3.0).map_(lib.ones(3), lambda a, b: a + b).tolist() == [1.0, 2.0, 3.0]
        assert lib.arange(3.0).map2_(lib.ones(3), lib.ones(1), lambda a, b, c: a + b + c).tolist() == [2.0, 3.0, 4.0]
        assert lib.ones(2, 3).is_same_size(lib.zeros(2, 3))
        assert [t.shape for t in lib.unsafe_split(lib.arange(5), 2)] == [(2,), (2,), (1,)]
    same_error(lambda lib: lib.tensor([]).is_nonzero())
    same_error(lambda lib: lib.tensor([1.0, 2.0]).is_nonzero())
