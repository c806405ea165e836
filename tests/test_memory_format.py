"""Memory formats: channels_last(_3d) layouts from contiguous/to/empty/clone, and is_contiguous for
each format, against PyTorch on random strided views."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import flambeau
from _oracle import need_torch, assert_same

torch = need_torch()

FORMATS = ["contiguous_format", "channels_last", "channels_last_3d"]


def _views(lib, shape, perm, steps):
    """A permuted, step-sliced view of arange(shape), built the same way in both libraries."""
    x = lib.arange(float(np.prod(shape))).reshape(shape).permute(*perm)
    return x[tuple(slice(None, None, s) for s in steps)]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.integers(3, 5).flatmap(lambda rank: st.tuples(
    st.lists(st.integers(0, 3), min_size=rank, max_size=rank),
    st.permutations(list(range(rank))),
    st.lists(st.integers(1, 2), min_size=rank, max_size=rank))))
def test_is_contiguous_per_format_as_torch(case):
    shape, perm, steps = case
    ours, ref = _views(flambeau, shape, perm, steps), _views(torch, shape, perm, steps)
    assert ours.stride() == ref.stride()
    for name in FORMATS:
        assert ours.is_contiguous(memory_format=getattr(flambeau, name)) == \
            ref.is_contiguous(memory_format=getattr(torch, name)), name
        if name != "contiguous_format" and ours.dim() != (4 if name == "channels_last" else 5):
            continue
        moved, ref_moved = ours.to(memory_format=getattr(flambeau, name)), ref.to(memory_format=getattr(torch, name))
        assert (moved is ours) == (ref_moved is ref) and moved.stride() == ref_moved.stride(), name


@pytest.mark.parametrize("shape,name", [((2, 3, 4, 5), "channels_last"), ((2, 1, 4, 5), "channels_last"),
                                        ((2, 3, 1, 1), "channels_last"), ((2, 3, 4, 5, 6), "channels_last_3d"),
                                        ((2, 3, 4, 5), "contiguous_format")])
def test_layouts_made_in_a_format_as_torch(shape, name, device):
    ours_fmt, ref_fmt = getattr(flambeau, name), getattr(torch, name)
    x = flambeau.arange(float(np.prod(shape)), device=device).reshape(shape)
    r = torch.arange(float(np.prod(shape))).reshape(shape)
    made = {
        "contiguous": (x.contiguous(memory_format=ours_fmt), r.contiguous(memory_format=ref_fmt)),
        "to": (x.to(memory_format=ours_fmt), r.to(memory_format=ref_fmt)),
        "clone": (x.clone(memory_format=ours_fmt), r.clone(memory_format=ref_fmt)),
        "empty": (flambeau.empty(shape, memory_format=ours_fmt, device=device).fill_(1),
                  torch.empty(shape, memory_format=ref_fmt).fill_(1)),
        "back": (x.contiguous(memory_format=ours_fmt).contiguous(), r.contiguous(memory_format=ref_fmt).contiguous()),
    }
    for how, (o, t) in made.items():
        assert o.stride() == t.stride(), how
        assert_same(o, t)
        for fmt in FORMATS:
            assert o.is_contiguous(memory_format=getattr(flambeau, fmt)) == \
                t.is_contiguous(memory_format=getattr(torch, fmt)), (how, fmt)
    # when the same tensor comes back (to() goes by the format the strides suggest, which calls
    # ambiguous layouts contiguous; contiguous() by is_contiguous in that format), as torch
    for ours_src, ref_src in ((x, r), (x.clone(memory_format=ours_fmt), r.clone(memory_format=ref_fmt))):
        assert (ours_src.contiguous(memory_format=ours_fmt) is ours_src) == \
            (ref_src.contiguous(memory_format=ref_fmt) is ref_src)
        assert (ours_src.to(memory_format=ours_fmt) is ours_src) == (ref_src.to(memory_format=ref_fmt) is ref_src)


def test_contiguous_in_channels_last_keeps_the_gradient(device):
    x = flambeau.randn(2, 3, 4, 5, device=device, dtype=flambeau.float64, requires_grad=True)
    y = x.contiguous(memory_format=flambeau.channels_last)
    (y * flambeau.arange(120.0, device=device, dtype=flambeau.float64).reshape(2, 3, 4, 5)).sum().backward()
    assert_same(x.grad, torch.arange(120.0, dtype=torch.float64).reshape(2, 3, 4, 5))


@pytest.mark.parametrize("make", [
    lambda lib: lib.ones(2, 3).contiguous(memory_format=lib.channels_last),
    lambda lib: lib.ones(2, 3, 4, 5).to(memory_format=lib.channels_last_3d),
    lambda lib: lib.empty(2, 3, memory_format=lib.channels_last),
])
def test_wrong_rank_errors_as_torch(make):
    with pytest.raises(RuntimeError) as theirs:
        make(torch)
    with pytest.raises(RuntimeError, match=str(theirs.value)):
        make(flambeau)
