"""Property tests of strided views: random shapes and view chains, checked against NumPy and PyTorch."""
import warnings

import numpy as np
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import flambeau

SMALL = settings(max_examples=40, deadline=None, derandomize=True)
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)


def _values(shape):
    n = int(np.prod(shape))
    return np.arange(n, dtype=np.float32).reshape(shape)


@st.composite
def view_chain(draw):
    """A base shape and a list of view steps, each valid for the shape it is applied to."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    steps, cur = [], list(shape)
    for _ in range(draw(st.integers(1, 5))):
        nd = len(cur)
        kind = draw(st.sampled_from(["permute", "narrow", "expand", "transpose", "unsqueeze", "squeeze", "slice",
                                     "select", "diagonal", "unfold", "view"]))
        if nd == 0 and kind not in ("unsqueeze", "view"):
            kind = "unsqueeze"
        if kind == "permute":
            p = draw(st.permutations(range(nd)))
            steps.append(("permute", tuple(p)))
            cur = [cur[i] for i in p]
        elif kind == "narrow":
            d = draw(st.integers(0, nd - 1))
            start = draw(st.integers(0, cur[d]))
            length = draw(st.integers(0, cur[d] - start))
            steps.append(("narrow", (d, start, length)))
            cur[d] = length
        elif kind == "expand":
            new = [draw(st.integers(1, 3)) if n == 1 else n for n in cur]
            lead = draw(st.integers(0, 1))
            new = [2] * lead + new
            steps.append(("expand", tuple(new)))
            cur = new
        elif kind == "transpose":
            a, b = draw(st.integers(0, nd - 1)), draw(st.integers(0, nd - 1))
            steps.append(("transpose", (a, b)))
            cur[a], cur[b] = cur[b], cur[a]
        elif kind == "unsqueeze":
            d = draw(st.integers(0, nd))
            steps.append(("unsqueeze", (d,)))
            cur.insert(d, 1)
        elif kind == "squeeze":
            d = draw(st.integers(0, nd - 1))
            steps.append(("squeeze", (d,)))
            if cur[d] == 1:
                cur.pop(d)
        elif kind == "slice":
            d = draw(st.integers(0, nd - 1))
            start, step = draw(st.integers(0, 4)), draw(st.integers(1, 3))
            key = (slice(None),) * d + (slice(start, None, step),)
            steps.append(("getitem", (key,)))
            cur[d] = len(range(cur[d])[start::step])
        elif kind == "select":
            d = draw(st.integers(0, nd - 1))
            if cur[d] == 0:
                continue
            i = draw(st.integers(-cur[d], cur[d] - 1))
            steps.append(("select", (d, i)))
            cur.pop(d)
        elif kind == "diagonal":
            if nd < 2:
                continue
            off = draw(st.integers(-2, 2))
            steps.append(("diagonal", (off, 0, nd - 1)))
            n1, n2 = cur[0], cur[nd - 1]
            length = max(0, min(n1, n2 - off) if off >= 0 else min(n1 + off, n2))
            cur = cur[1:nd - 1] + [length]
        elif kind == "unfold":
            d = draw(st.integers(0, nd - 1))
            if cur[d] == 0:
                continue
            size, step = draw(st.integers(1, cur[d])), draw(st.integers(1, 2))
            steps.append(("unfold", (d, size, step)))
            cur = cur[:d] + [(cur[d] - size) // step + 1] + cur[d + 1:] + [size]
        else:
            steps.append(("reshape", (-1,)))
            cur = [int(np.prod(cur))]
    return tuple(shape), steps


def _apply(t, steps):
    for name, args in steps:
        t = t[args[0]] if name == "getitem" else getattr(t, name)(*args)
    return t


def _apply_numpy(a, steps):
    for name, args in steps:
        if name == "permute":
            a = a.transpose(args)
        elif name == "narrow":
            d, s, n = args
            a = a[(slice(None),) * d + (slice(s, s + n),)]
        elif name == "expand":
            a = np.broadcast_to(a, args)
        elif name == "transpose":
            a = np.swapaxes(a, *args)
        elif name == "unsqueeze":
            a = np.expand_dims(a, args[0])
        elif name == "squeeze":
            a = np.squeeze(a, args[0]) if a.shape[args[0]] == 1 else a
        elif name == "getitem":
            a = a[args[0]]
        elif name == "select":
            a = np.take(a, args[1], axis=args[0])
        elif name == "diagonal":
            a = np.diagonal(a, *args)
        elif name == "unfold":
            d, size, step = args
            w = np.lib.stride_tricks.sliding_window_view(a, size, axis=d)
            a = w[(slice(None),) * d + (slice(None, None, step),)]
        else:
            a = a.reshape(-1)
    return a


@SMALL
@given(view_chain())
def test_a_view_reads_what_numpy_reads(chain):
    shape, steps = chain
    a = _values(shape)
    ours = _apply(flambeau.tensor(a), steps)
    np.testing.assert_array_equal(ours.numpy(), _apply_numpy(a, steps))


@SMALL
@given(view_chain())
def test_strides_and_offsets_equal_torch(chain):
    shape, steps = chain
    ours = _apply(flambeau.arange(float(np.prod(shape))).reshape(shape), steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = _apply(torch.arange(float(np.prod(shape))).reshape(shape), steps)
    assert tuple(ours.shape) == tuple(ref.shape)
    assert ours.stride() == ref.stride()
    assert ours.is_contiguous() == ref.is_contiguous()
    if ref.numel():
        assert ours.storage_offset() == ref.storage_offset()


@SMALL
@given(view_chain())
def test_contiguous_keeps_values(chain):
    shape, steps = chain
    v = _apply(flambeau.tensor(_values(shape)), steps)
    c = v.contiguous()
    assert c.is_contiguous()
    np.testing.assert_array_equal(c.numpy(), v.numpy())
    assert (c is v) == v.is_contiguous()
    np.testing.assert_array_equal(v.reshape(-1).numpy(), v.numpy().reshape(-1))


@SMALL
@given(view_chain(), st.floats(-5, 5, allow_nan=False, width=32))
def test_writing_through_a_view_is_visible_in_the_base(chain, value):
    shape, steps = chain
    bases = []
    for lib in (torch, flambeau):
        base = lib.arange(float(np.prod(shape))).reshape(shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _apply(base, steps).fill_(value)
        bases.append(base.numpy())
    np.testing.assert_array_equal(bases[1], bases[0])


@SMALL
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4))
def test_broadcast_shape_is_numpy_broadcast_shapes(shapes_):
    s1, s2 = shapes_.input_shapes
    a, b = flambeau.zeros(s1), flambeau.ones(s2)
    assert tuple((a + b).shape) == np.broadcast_shapes(s1, s2)
    x, y = flambeau.broadcast_tensors(a, b)
    assert tuple(x.shape) == tuple(y.shape) == np.broadcast_shapes(s1, s2)
    assert a.expand(np.broadcast_shapes(s1, s2)).stride() == torch.zeros(s1).expand(np.broadcast_shapes(s1, s2)).stride()


@SMALL
@given(shapes, st.data())
def test_noncontiguous_inputs_reduce_like_numpy(shape, data):
    a = _values(shape)
    t = flambeau.tensor(a)
    if a.ndim >= 2:
        p = data.draw(st.permutations(range(a.ndim)))
        t, a = t.permute(*p), a.transpose(p)
    if a.ndim:
        t, a = t[..., ::2], a[..., ::2]
    np.testing.assert_allclose(t.sum().item(), a.sum(dtype=np.float64), rtol=1e-6)
    assert t.tolist() == a.tolist()
