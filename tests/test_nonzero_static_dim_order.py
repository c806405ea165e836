"""nonzero_static (fixed-size nonzero, no read back on cuda) and Tensor.dim_order, against PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import flambeau
from _oracle import need_torch, assert_same, no_host_reads

torch = need_torch()


@settings(max_examples=60, deadline=None, derandomize=True)
@given(shape=st.lists(st.integers(0, 4), min_size=0, max_size=3), size=st.integers(0, 12),
       fill=st.sampled_from([-1, 0, 7]), density=st.floats(0, 1), seed=st.integers(0, 99))
def test_nonzero_static_as_torch(shape, size, fill, density, seed):
    rng = np.random.default_rng(seed)
    values = (rng.random(shape) < density) * rng.integers(1, 5, shape)
    ours = flambeau.nonzero_static(flambeau.tensor(values), size=size, fill_value=fill)
    assert_same(ours, torch.nonzero_static(torch.tensor(values), size=size, fill_value=fill))


@pytest.mark.parametrize("dtype", ["float32", "bool", "int64", "complex64"])
def test_nonzero_static_dtypes_and_device(dtype, device):
    values = np.array([[0, 1.5, 0], [2, 0, -1]]).astype(dtype)
    x = flambeau.tensor(values, device=device)
    with no_host_reads(device):
        ours = x.nonzero_static(size=5)
    assert_same(ours, torch.tensor(values).nonzero_static(size=5), device=device)


def test_nonzero_static_bad_size():
    for lib in (flambeau, torch):
        with pytest.raises(RuntimeError, match="'size' must be an non-negative integer"):
            lib.nonzero_static(lib.ones(3), size=-1)


def _view(lib, case):
    shape, perm, steps, expand = case
    x = lib.zeros(shape).permute(*perm)
    x = x[tuple(slice(None, None, s) for s in steps)]
    if expand and x.dim():
        x = x.unsqueeze(0).expand(2, *x.shape)
    return x


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.integers(1, 5).flatmap(lambda rank: st.tuples(
    st.lists(st.integers(1, 4), min_size=rank, max_size=rank), st.permutations(list(range(rank))),
    st.lists(st.integers(1, 2), min_size=rank, max_size=rank), st.booleans())))
def test_dim_order_as_torch(case):
    ours, ref = _view(flambeau, case), _view(torch, case)
    assert ours.stride() == ref.stride()
    assert ours.dim_order() == ref.dim_order()
    for check in (True, [], [flambeau.contiguous_format], [flambeau.channels_last, flambeau.contiguous_format]):
        ref_check = check if check is True else [getattr(torch, f._name) for f in check]
        try:
            expected = ref.dim_order(ambiguity_check=ref_check)
        except RuntimeError as e:
            with pytest.raises(RuntimeError, match=str(e)):
                ours.dim_order(ambiguity_check=check)
        else:
            assert ours.dim_order(ambiguity_check=check) == expected


def test_dim_order_channels_last_and_errors():
    x = flambeau.ones(2, 3, 4, 5).contiguous(memory_format=flambeau.channels_last)
    assert x.dim_order() == torch.ones(2, 3, 4, 5).contiguous(memory_format=torch.channels_last).dim_order()
    for lib in (flambeau, torch):
        for bad in (3, [3], (lib.channels_last,)):
            with pytest.raises(TypeError, match="must be a bool or a list of memory formats"):
                lib.ones(2).dim_order(ambiguity_check=bad)
