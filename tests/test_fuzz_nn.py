"""Differential tests of nn.functional and the nn layers against PyTorch, with random arguments.

Hypothesis draws shapes and options (strides, paddings, reductions, flags...); each case runs on
flambeau and torch in float64 and must agree in values, dtypes, shapes, error types and the
gradients of every differentiable input (the upstream gradient is random).
"""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import flambeau
from _oracle import assert_same, need_torch, on_device, to_numpy

torch = need_torch()

FUZZ = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])
FEW = settings(FUZZ, max_examples=12)


def F(lib):
    return lib.nn.functional


def _inputs(lib, arrays, grad, device):
    out = []
    for a in arrays:
        if lib is torch:
            t = torch.tensor(a)
        else:
            t = flambeau.tensor(a, device=device)
        if grad and a.dtype.kind == "f":
            t.requires_grad_(True)
        out.append(t)
    return out


def _run(fn, lib, arrays, grad, device):
    ins = _inputs(lib, arrays, grad, device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ins, fn(on_device(lib, device) if lib is not torch else lib, *ins)


def compare(fn, *arrays, device="cpu", grad=True, rtol=1e-7, atol=1e-9, seed=0):
    """fn(lib, *tensors) on flambeau and torch: the same values, dtypes and shapes, or the same
    error type; then the gradients of every floating input for a random upstream gradient."""
    try:
        ref_ins, ref = _run(fn, torch, arrays, grad, "cpu")
    except Exception as e:          # torch refuses: flambeau must refuse with the same type
        with pytest.raises(type(e)):
            _run(fn, flambeau, arrays, grad, device)
        return None
    ins, out = _run(fn, flambeau, arrays, grad, device)
    assert_same(out, ref, rtol, atol, device=device)
    if not grad:
        return out
    outs = out if isinstance(out, (tuple, list)) else (out,)
    refs = ref if isinstance(ref, (tuple, list)) else (ref,)
    pairs = [(o, r) for o, r in zip(outs, refs)
             if isinstance(r, torch.Tensor) and r.requires_grad and r.dtype.is_floating_point]
    if not pairs:
        return out
    rng = np.random.default_rng(seed + 1)
    cots = [rng.standard_normal(tuple(r.shape)) for _, r in pairs]
    torch.autograd.backward([r for _, r in pairs], [torch.tensor(c, dtype=r.dtype) for c, (_, r) in zip(cots, pairs)])
    flambeau.autograd.backward([o for o, _ in pairs],
                               [flambeau.tensor(c, device=device, dtype=getattr(flambeau, str(r.dtype)[6:]))
                                for c, (_, r) in zip(cots, pairs)])
    for i, (a, b) in enumerate(zip(ins, ref_ins)):
        if not b.requires_grad:
            continue
        if b.grad is None:
            assert a.grad is None or not np.any(to_numpy(a.grad)), f"input {i}: a gradient torch has not"
        else:
            assert a.grad is not None, f"input {i}: no gradient"
            assert_same(a.grad, b.grad, rtol, atol, device=device)
    return out


def randn(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


seeds = st.integers(0, 2 ** 16)


# -- convolutions ------------------------------------------------------------------------------
def _per_dim(draw, nd, values):
    """An int or an nd-tuple drawn from values."""
    if draw(st.booleans()):
        return draw(values)
    return tuple(draw(values) for _ in range(nd))


def _expand(v, nd):
    return (v,) * nd if isinstance(v, int) else tuple(v)


@st.composite
def conv_case(draw, nd):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = _per_dim(draw, nd, st.integers(1, 3))
    dilation = _per_dim(draw, nd, st.integers(1, 2))
    padding = draw(st.one_of(st.just("same"), st.just("valid"), st.integers(0, 2),
                             st.tuples(*[st.integers(0, 2)] * nd)))
    if padding == "same":
        stride = 1
    sizes = tuple(draw(st.integers(1, 7)) for _ in range(nd))
    batched = draw(st.booleans())
    shape = ((draw(st.integers(1, 3)),) if batched else ()) + (cin,) + sizes
    return dict(shape=shape, weight=(cout, cin // groups) + kernel, bias=draw(st.booleans()),
                kw=dict(stride=stride, padding=padding, dilation=dilation, groups=groups),
                layout=draw(st.sampled_from(["contiguous", "transposed", "strided"])), seed=draw(seeds))


def _layout(lib, x, layout):
    """x itself, or the same values through a non-contiguous view."""
    if layout == "transposed":
        return x.transpose(-1, -2).contiguous().transpose(-1, -2)
    if layout == "strided":
        return x[..., ::2]
    return x


def _make_layout(a, layout):
    """The array to feed so that _layout(x) has a's values: strided views read every other element."""
    if layout == "strided":
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],))
        wide[..., ::2] = a
        return wide
    return a


@pytest.mark.parametrize("nd", [1, 2, 3])
@given(case=st.data())
@FUZZ
def test_conv_fuzz(device, nd, case):
    c = case.draw(conv_case(nd))
    _compare_conv(f"conv{nd}d", c, c["weight"][0], device)


def _compare_conv(op, c, out_channels, device):
    x = _make_layout(randn(c["seed"], *c["shape"]), c["layout"])
    arrays = [x, randn(c["seed"] + 1, *c["weight"])]
    if c["bias"]:
        arrays.append(randn(c["seed"] + 2, out_channels))
    compare(lambda lib, x, w, *b: getattr(F(lib), op)(_layout(lib, x, c["layout"]), w, *b, **c["kw"]), *arrays,
            device=device)


@st.composite
def conv_transpose_case(draw, nd):
    groups = draw(st.sampled_from([1, 1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    # output_padding must be below stride or dilation; sometimes break the rule to compare errors
    output_padding = tuple(draw(st.integers(0, max(s, d) - (0 if draw(st.integers(0, 9)) == 0 else 1)))
                           for s, d in zip(stride, dilation))
    sizes = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    batched = draw(st.booleans())
    shape = ((draw(st.integers(1, 3)),) if batched else ()) + (cin,) + sizes
    pack = draw(st.booleans())      # ints when all dims agree, else tuples

    def squash(t):
        return t[0] if pack and len(set(t)) == 1 else t
    return dict(shape=shape, weight=(cin, cout // groups) + kernel, bias=draw(st.booleans()),
                kw=dict(stride=squash(stride), padding=squash(padding), output_padding=squash(output_padding),
                        groups=groups, dilation=squash(dilation)),
                layout=draw(st.sampled_from(["contiguous", "strided"])), seed=draw(seeds))


@pytest.mark.parametrize("nd", [1, 2, 3])
@given(case=st.data())
@FUZZ
def test_conv_transpose_fuzz(device, nd, case):
    c = case.draw(conv_transpose_case(nd))
    _compare_conv(f"conv_transpose{nd}d", c, c["weight"][1] * c["kw"]["groups"], device)


# -- regressions found by the fuzzing above ----------------------------------------------------
def test_conv_transpose_output_padding_past_stride_gradients(device):
    """output_padding may reach the stride when below the dilation: conv then maps the output back
    onto more positions than the input has, and the gradients must drop the extra ones."""
    compare(lambda lib, x, w, b: F(lib).conv_transpose1d(x, w, b, stride=1, dilation=2, output_padding=1),
            randn(0, 2, 2, 3), randn(1, 2, 3, 2), randn(2, 3), device=device)
    compare(lambda lib, x, w: F(lib).conv_transpose2d(x, w, stride=(1, 2), dilation=(3, 1), output_padding=(2, 1)),
            randn(0, 1, 2, 3, 2), randn(1, 2, 1, 2, 2), device=device)
    x = flambeau.tensor(randn(3, 1, 2, 3), device=device, requires_grad=True)
    w = flambeau.tensor(randn(4, 2, 1, 2), device=device, requires_grad=True)
    assert flambeau.autograd.gradgradcheck(
        lambda x, w: flambeau.nn.functional.conv_transpose1d(x, w, stride=1, dilation=2, output_padding=1), (x, w))
