"""Differential tests of nn.functional and the nn layers against PyTorch, with random arguments.

Hypothesis draws shapes and options (strides, paddings, reductions, flags...); each case runs on
flambeau and torch in float64 and must agree in values, dtypes, shapes, error types and the
gradients of every differentiable input (the upstream gradient is random).
FLAMBEAU_FUZZ_EXAMPLES raises the number of examples per test for a longer local hunt.
"""
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import flambeau
from _oracle import assert_same, need_oracle, need_torch, on_device, oracle_version, to_numpy

torch = need_torch()

EXAMPLES = int(os.environ.get("FLAMBEAU_FUZZ_EXAMPLES", "16"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
FEW = settings(FUZZ, max_examples=max(EXAMPLES * 5 // 8, 1))           # the slower tests: 10 by default


def run_fuzz(device, base, check, **strategies):
    """check(**drawn) over examples of the strategies: base's number on the CPU, a third of it on
    (emulated, slower) cuda, which mostly checks that the same array code runs there."""
    examples = base.max_examples if device == "cpu" else max(base.max_examples // 3, 3)
    settings(base, max_examples=examples)(given(**strategies)(check))()


def F(lib):
    return lib.nn.functional


def _inputs(lib, arrays, grad, device):
    """Tensors of the arrays; grad: True (every floating one requires grad), False, or one flag each."""
    out = []
    flags = grad if isinstance(grad, (list, tuple)) else [grad] * len(arrays)
    for a, g in zip(arrays, flags):
        if lib is torch:
            t = torch.tensor(a)
        else:
            t = flambeau.tensor(a, device=device)
        if g and a.dtype.kind == "f":
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
    if not any(grad if isinstance(grad, (list, tuple)) else [grad]):
        return out
    outs = out if isinstance(out, (tuple, list)) else (out,)
    refs = ref if isinstance(ref, (tuple, list)) else (ref,)
    pairs = [(o, r) for o, r in zip(outs, refs)
             if isinstance(r, torch.Tensor) and r.requires_grad and r.dtype.is_floating_point]
    if not pairs:
        return out
    rng = np.random.default_rng(seed + 1)
    cots = [rng.standard_normal(tuple(r.shape)) for _, r in pairs]
    ours_cots = [flambeau.tensor(c, device=device, dtype=getattr(flambeau, str(r.dtype)[6:]))
                 for c, (_, r) in zip(cots, pairs)]
    try:
        torch.autograd.backward([r for _, r in pairs],
                                [torch.tensor(c, dtype=r.dtype) for c, (_, r) in zip(cots, pairs)])
    except Exception as e:          # torch's backward refuses: so must flambeau's
        with pytest.raises(type(e)):
            flambeau.autograd.backward([o for o, _ in pairs], ours_cots)
        return out
    flambeau.autograd.backward([o for o, _ in pairs], ours_cots)
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
    broken = draw(st.integers(0, 12))           # now and then an invalid call, to compare the errors
    if padding == "same" and broken != 1:
        stride = 1
    sizes = tuple(draw(st.integers(1, 7)) for _ in range(nd))
    batched = draw(st.booleans())
    shape = ((draw(st.integers(1, 3)),) if batched else ()) + (cin + (broken == 2),) + sizes
    weight = (cout + (broken == 3), cin // groups) + kernel
    if broken == 4:
        padding = -1
    return dict(shape=shape, weight=weight, bias=draw(st.booleans()) or broken == 5,
                bias_extra=int(broken == 5),
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
def test_conv_fuzz(device, nd):
    def check(case):
        c = case.draw(conv_case(nd))
        _compare_conv(f"conv{nd}d", c, c["weight"][0], device)
    run_fuzz(device, FUZZ, check, case=st.data())


def _compare_conv(op, c, out_channels, device):
    x = _make_layout(randn(c["seed"], *c["shape"]), c["layout"])
    arrays = [x, randn(c["seed"] + 1, *c["weight"])]
    if c["bias"]:
        arrays.append(randn(c["seed"] + 2, out_channels + c.get("bias_extra", 0)))
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
def test_conv_transpose_fuzz(device, nd):
    def check(case):
        c = case.draw(conv_transpose_case(nd))
        _compare_conv(f"conv_transpose{nd}d", c, c["weight"][1] * c["kw"]["groups"], device)
    run_fuzz(device, FUZZ, check, case=st.data())


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


# -- pooling -----------------------------------------------------------------------------------
@st.composite
def pool_case(draw, nd, kind):
    kernel = _per_dim(draw, nd, st.integers(1, 3))
    stride = draw(st.one_of(st.none(), st.just(()), _per_dim_strategy(nd, st.integers(1, 3))))
    # padding at most half the kernel, sometimes more to compare the errors
    half = min(_expand(kernel, nd)) // 2
    padding = _per_dim(draw, nd, st.integers(0, half + (draw(st.integers(0, 9)) == 0)))
    sizes = tuple(draw(st.integers(1, 6)) for _ in range(nd))
    batched = draw(st.booleans())
    shape = ((draw(st.integers(1, 2)),) if batched else ()) + (draw(st.integers(1, 2)),) + sizes
    kw = dict(kernel_size=kernel, stride=stride, ceil_mode=draw(st.booleans()))
    if kind == "max":
        kw.update(padding=padding, dilation=_per_dim(draw, nd, st.integers(1, 2)),
                  return_indices=draw(st.booleans()))
    elif kind == "avg":
        kw.update(padding=padding, count_include_pad=draw(st.booleans()))
        if nd > 1:
            kw["divisor_override"] = draw(st.sampled_from([None, None, 1, 2, 5]))
    else:
        # (torch < 2.13 computed x ** inf for an infinite norm; 2.13 takes the max of |x|, as flambeau)
        infinite = [float("inf"), -float("inf")] if oracle_version() >= (2, 13) else []
        kw["norm_type"] = draw(st.sampled_from([1, 2, 3, 1.5, 2.0] + infinite))
    return dict(shape=shape, kw=kw, layout=draw(st.sampled_from(["contiguous", "transposed", "strided"])),
                seed=draw(seeds), values=draw(st.sampled_from(["normal", "normal", "ties", "special"])))


def _pool_values(seed, shape, values):
    """Normal values, or small integers (ties in the windows), or normal ones with some -inf and NaN."""
    x = randn(seed, *shape)
    if values == "ties":
        return np.round(x)
    if values == "special":
        pick = np.random.default_rng(seed).integers(0, 6, shape)
        x[pick == 0] = -np.inf
        x[pick == 1] = np.nan
    return x


def _per_dim_strategy(nd, values):
    return st.one_of(values, st.tuples(*[values] * nd))


@pytest.mark.parametrize("kind", ["max", "avg", "lp"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_pool_fuzz(device, nd, kind):
    def check(case):
        c = case.draw(pool_case(nd, kind))
        kw = dict(c["kw"])
        x = _pool_values(c["seed"], c["shape"], c["values"] if kind == "max" else "normal")
        if kind == "lp":
            norm_type = kw.pop("norm_type")
            if abs(norm_type) != float("inf") and norm_type != int(norm_type):    # fractional powers of negatives: NaN
                x = np.abs(x) + 0.1
            op = lambda lib, x: getattr(F(lib), f"lp_pool{nd}d")(x, norm_type, **kw)    # noqa: E731
        else:
            op = lambda lib, x: getattr(F(lib), f"{kind}_pool{nd}d")(x, **kw)           # noqa: E731
        # torch's max-pool backward writes out of bounds for a window that dilation steps over the
        # whole input with (a heap corruption): such cases compare values here, gradients below
        grad = not (kind == "max" and _window_in_padding(c["shape"][-nd:], kw))
        out = compare(lambda lib, x: op(lib, _layout(lib, x, c["layout"])), _make_layout(x, c["layout"]),
                      device=device, grad=grad)
        if not grad and out is not None:
            _compare_max_pool_grad_padded_by_hand(x, nd, kw, device)
    run_fuzz(device, FUZZ, check, case=st.data())


def _compare_max_pool_grad_padded_by_hand(x, nd, kw, device):
    """The gradient of max pooling against torch's for the input padded with -inf by F.pad (whose
    windows all start inside), cut to the same windows (ceil_mode may keep one more there)."""
    kw = dict(kw, return_indices=False)
    padding = _expand(kw.pop("padding"), nd)
    pool = getattr(F(torch), f"max_pool{nd}d")
    xt = torch.tensor(x, requires_grad=True)
    pads = tuple(p for p in reversed(padding) for _ in range(2))
    ref = pool(F(torch).pad(xt, pads, value=-np.inf), **kw)
    ours_in = flambeau.tensor(x, device=device, requires_grad=True)
    ours = getattr(F(flambeau), f"max_pool{nd}d")(ours_in, padding=padding, **kw)
    ref = ref[(Ellipsis,) + tuple(slice(0, n) for n in ours.shape[-nd:])]
    cot = randn(7, *ours.shape)
    ref.backward(torch.tensor(cot))
    ours.backward(flambeau.tensor(cot, device=device))
    assert_same(ours, ref, device=device)
    assert_same(ours_in.grad, xt.grad, device=device)


def _window_in_padding(sizes, kw):
    """Whether a max-pool window of these options has no position inside the input."""
    nd = len(sizes)
    kernel, padding, dilation = (_expand(kw[k], nd) for k in ("kernel_size", "padding", "dilation"))
    stride = _expand(kw["stride"], nd) if kw["stride"] not in (None, ()) else kernel
    for n, k, s, p, d in zip(sizes, kernel, stride, padding, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        o = (span + (s - 1 if kw["ceil_mode"] else 0)) // s + 1
        if kw["ceil_mode"] and (o - 1) * s >= n + p:
            o -= 1
        for start in range(-p, o * s - p, s):
            first = -(min(start, 0) // d)
            if first >= k or start + first * d >= n:
                return True
    return False


@st.composite
def adaptive_case(draw, nd):
    sizes = tuple(draw(st.integers(1, 7)) for _ in range(nd))
    out = draw(st.one_of(st.integers(1, 5), st.tuples(*[st.one_of(st.integers(1, 5), st.none())] * nd)))
    batched = draw(st.booleans())
    shape = ((draw(st.integers(1, 2)),) if batched else ()) + (draw(st.integers(1, 2)),) + sizes
    return dict(shape=shape, out=out, return_indices=draw(st.booleans()),
                layout=draw(st.sampled_from(["contiguous", "transposed", "strided"])), seed=draw(seeds),
                values=draw(st.sampled_from(["normal", "normal", "ties", "special"])))


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_adaptive_pool_fuzz(device, nd, kind):
    def check(case):
        c = case.draw(adaptive_case(nd))
        kw = dict(return_indices=c["return_indices"]) if kind == "max" else {}
        op = f"adaptive_{kind}_pool{nd}d"
        compare(lambda lib, x: getattr(F(lib), op)(_layout(lib, x, c["layout"]), c["out"], **kw),
                _make_layout(_pool_values(c["seed"], c["shape"], c["values"] if kind == "max" else "normal"),
                             c["layout"]), device=device)
    run_fuzz(device, FUZZ, check, case=st.data())


@pytest.fixture(params=["compiled", "numpy"])
def pool_kernels(request, monkeypatch):
    """Max pooling through the compiled kernels (when numba is there) and through array code."""
    from flambeau._ops import pooling
    if request.param == "numpy":
        monkeypatch.setattr(pooling, "_kernels", [None])
    elif pooling._compiled() is None:
        pytest.skip("numba is not installed")


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_window_in_padding(device, pool_kernels, nd):
    """With dilation a window may have no position inside the input: torch's lowest value at the
    window's first in-range offset, and (unlike torch's backward, which writes there out of
    bounds) no gradient from it."""
    shape = (2, 2) + (3,) * (nd - 1) + (1,)
    kw = dict(kernel_size=(3,) * (nd - 1) + (2,), padding=(1,) * (nd - 1) + (1,), dilation=2)
    pool = lambda lib, x: getattr(F(lib), f"max_pool{nd}d")(x, **kw)       # noqa: E731
    compare(lambda lib, x: pool(lib, x), randn(0, *shape), device=device, grad=False)
    compare(lambda lib, x: getattr(F(lib), f"max_pool{nd}d")(x, return_indices=True, **kw), randn(0, *shape),
            device=device, grad=False)
    compare(lambda lib, x: getattr(F(lib), f"max_pool{nd}d")(x.long(), **kw), randn(0, *shape), device=device,
            grad=False)
    _compare_max_pool_grad_padded_by_hand(randn(0, *shape), nd, dict(kw, stride=None, ceil_mode=False), device)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_all_lowest_window_index(device, pool_kernels, nd):
    """A window of -inf values only points at its first position inside the input, not in the padding."""
    x = np.full((1, 1) + (2,) * (nd - 1) + (3,), -np.inf)
    x[..., -1] = 1.0
    compare(lambda lib, x: getattr(F(lib), f"max_pool{nd}d")(x, 2, stride=1, padding=1, return_indices=True),
            x, device=device)


def test_max_pool_padding_bound_ignores_dilation(device):
    """Max pooling's padding is at most half the kernel as given, though dilation widens the window."""
    for nd in (1, 2, 3):
        for indices in (False, True):
            compare(lambda lib, x: getattr(F(lib), f"max_pool{nd}d")(x, 3, padding=2, dilation=2,
                                                                     return_indices=indices),
                    randn(0, 1, 1, *(9,) * nd), device=device)
    torch_error, ours_error = [], []
    for lib, errors in ((torch, torch_error), (flambeau, ours_error)):
        for nd, indices in ((1, False), (1, True), (2, False), (3, False)):
            with pytest.raises(RuntimeError) as e:
                getattr(F(lib), f"max_pool{nd}d")(lib.ones((1, 1) + (9,) * nd), 3, padding=2, dilation=2,
                                                  return_indices=indices)
            errors.append(str(e.value))
    assert ours_error == torch_error


def test_lp_pool_infinite_norm_and_kernel_types(device):
    need_oracle(2, 13, "lp_pool with an infinite norm")
    for p in (float("inf"), -float("inf")):
        for nd in (1, 2, 3):
            compare(lambda lib, x: getattr(F(lib), f"lp_pool{nd}d")(x, p, 2, ceil_mode=True),
                    randn(nd, 1, 2, *(5,) * nd), device=device)
    compare(lambda lib, x: F(lib).lp_pool1d(x, 2, (2,)), randn(0, 1, 2, 5), device=device)        # TypeError
    compare(lambda lib, x: F(lib).lp_pool1d(x, 2, (7,)), randn(0, 1, 2, 5), device=device)        # too small first
    compare(lambda lib, x: F(lib).lp_pool2d(x, 2, (2,)), randn(0, 1, 2, 5, 5), device=device)     # ValueError
    compare(lambda lib, x: F(lib).lp_pool3d(x, 2, (2, 2)), randn(0, 1, 2, 5, 5, 5), device=device)


@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pool_output_size_types(device, kind):
    for nd, size in ((1, None), (1, (None,)), (1, 2.0), (1, (2.0,)), (2, None), (2, 2.0), (2, (2.0, 2)),
                     (2, (None, 2)), (3, (None, 2, None)), (2, (2,))):
        compare(lambda lib, x: getattr(F(lib), f"adaptive_{kind}_pool{nd}d")(x, size),
                randn(0, 1, 2, *(5,) * nd), device=device)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_adaptive_max_pool_last_nan_wins(device, nd):
    x = np.arange(2.0 * 4 ** nd).reshape((2,) + (4,) * nd)
    x.reshape(2, -1)[:, [1, 2]] = np.nan
    compare(lambda lib, x: getattr(F(lib), f"adaptive_max_pool{nd}d")(x, 1, return_indices=True), x, device=device)
    compare(lambda lib, x: getattr(F(lib), f"adaptive_max_pool{nd}d")(x, 3), x, device=device)


# -- losses ------------------------------------------------------------------------------------
reductions = st.sampled_from(["none", "mean", "sum"])


@st.composite
def class_case(draw, smoothing):
    """Logits (N, C, *extra), (C,) or (N, C), class targets (some ignored) or probabilities, options."""
    c = draw(st.integers(1, 4))
    layout = draw(st.sampled_from(["batchless", "flat", "spatial"]))
    n = draw(st.integers(1, 3))
    extra = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 2)))) if layout == "spatial" else ()
    shape = (c,) if layout == "batchless" else (n, c) + extra
    target_shape = () if layout == "batchless" else (n,) + extra
    seed = draw(seeds)
    rng = np.random.default_rng(seed)
    ignore_index = draw(st.sampled_from([-100, 0, c - 1, 7]))
    probabilities = smoothing and draw(st.integers(0, 3)) == 0
    if probabilities:
        target = rng.random(shape)
        target /= target.sum(axis=0 if layout == "batchless" else 1, keepdims=True)
    else:
        target = rng.integers(0, c, target_shape)
        if draw(st.booleans()):                         # some ignored targets (all of them, sometimes)
            target = np.where(rng.random(target_shape) < draw(st.sampled_from([0.3, 1.0])), ignore_index, target)
        target = np.asarray(target, np.int64)
    kw = dict(reduction=draw(reductions), ignore_index=ignore_index)
    if smoothing:
        kw["label_smoothing"] = draw(st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0]))
    weight = rng.random(c) + 0.1 if draw(st.booleans()) else None
    return dict(input=rng.standard_normal(shape), target=target, weight=weight, kw=kw,
                target_grad=probabilities and draw(st.booleans()))


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_class_loss_fuzz(device, loss):
    def check(case):
        c = case.draw(class_case(loss == "cross_entropy"))
        arrays = [c["input"], c["target"]] + ([c["weight"]] if c["weight"] is not None else [])
        compare(lambda lib, x, t, *w: getattr(F(lib), loss)(x, t, *w, **c["kw"]), *arrays, device=device,
                grad=[True, c["target_grad"], False])
    run_fuzz(device, FUZZ, check, case=st.data())


def _broadcastable_shape(draw, shape):
    """shape, or (sometimes) one that broadcasts against it: dims dropped in front or set to 1."""
    if not shape or draw(st.integers(0, 3)):
        return shape
    out = list(shape[draw(st.integers(0, len(shape))):])
    return tuple(1 if draw(st.booleans()) else n for n in out)


@st.composite
def elementwise_loss_case(draw, loss):
    shape = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 3))))
    target_shape = _broadcastable_shape(draw, shape)
    seed = draw(seeds)
    rng = np.random.default_rng(seed)
    x, t = rng.standard_normal(shape), rng.standard_normal(target_shape)
    kw = dict(reduction=draw(reductions))
    arrays, grad = [x, t], [True, True]
    if loss in ("mse_loss", "l1_loss", "huber_loss") and draw(st.booleans()):
        kw["weight"] = rng.random(_broadcastable_shape(draw, shape))
    if loss == "smooth_l1_loss":
        kw["beta"] = draw(st.sampled_from([1.0, 0.5, 0.0, 2.0]))
    if loss == "huber_loss":
        kw["delta"] = draw(st.sampled_from([1.0, 0.5, 2.0]))
    if loss in ("binary_cross_entropy", "binary_cross_entropy_with_logits"):
        t = rng.random(target_shape)
        if draw(st.booleans()):
            t = np.round(t)                                 # hard labels, log(0) terms included
        if loss == "binary_cross_entropy":
            x = rng.random(shape)
            if draw(st.integers(0, 4)) == 0:
                x.reshape(-1)[0] = draw(st.sampled_from([0.0, 1.0]))     # torch clamps the log at -100
        arrays = [x, t]
        if draw(st.booleans()):
            arrays.append(rng.random(_broadcastable_shape(draw, shape)))
            grad.append(False)
        if loss == "binary_cross_entropy_with_logits" and draw(st.booleans()):
            kw["pos_weight"] = rng.random(shape[-1:] if shape and draw(st.booleans()) else ()) + 0.5
    if loss == "kl_div":
        kw["log_target"] = draw(st.booleans())
        kw["reduction"] = draw(st.sampled_from(["none", "mean", "sum", "batchmean"]))
        if not kw["log_target"]:
            arrays[1] = rng.random(target_shape) * (rng.random(target_shape) > 0.2)     # zeros: 0 log 0 = 0
    if loss == "poisson_nll_loss":
        kw.update(log_input=draw(st.booleans()), full=draw(st.booleans()), eps=draw(st.sampled_from([1e-8, 0.5])))
        if not kw["log_input"]:
            arrays[0] = rng.random(shape) * 3
        arrays[1] = np.round(rng.random(target_shape) * 4)          # counts, 0 and 1 included
    if loss == "soft_margin_loss":
        arrays[1] = np.sign(rng.standard_normal(target_shape))
    return dict(arrays=arrays, grad=grad, kw=kw)


ELEMENTWISE_LOSSES = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
                      "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss", "soft_margin_loss"]


@pytest.mark.parametrize("loss", ELEMENTWISE_LOSSES)
def test_elementwise_loss_fuzz(device, loss):
    def check(case):
        _compare_loss(loss, case.draw(elementwise_loss_case(loss)), device)
    run_fuzz(device, FUZZ, check, case=st.data())


def _compare_loss(loss, case, device):
    """The loss of case's arrays, its tensor-valued options (weight, pos_weight) made from arrays too."""
    kw = dict(case["kw"])
    names = [n for n in ("weight", "pos_weight") if n in kw]
    arrays = list(case["arrays"]) + [kw.pop(n) for n in names]
    n_plain = len(case["arrays"])

    def fn(lib, *ts):
        return getattr(F(lib), loss)(*ts[:n_plain], **kw, **dict(zip(names, ts[n_plain:])))
    compare(fn, *arrays, device=device, grad=list(case["grad"]) + [False] * len(names))


def _signs(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


@st.composite
def margin_loss_case(draw, loss):
    rng = np.random.default_rng(draw(seeds))
    batched = draw(st.booleans())
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    kw = dict(reduction=draw(reductions))
    grad = None
    if loss == "margin_ranking_loss":
        shape = (n,) if batched else ()
        arrays = [rng.standard_normal(shape), rng.standard_normal(shape), _signs(rng, shape)]
        kw["margin"] = draw(st.sampled_from([0.0, 0.5, 1.0]))
    elif loss == "hinge_embedding_loss":
        shape = (n, c) if batched else (c,)
        arrays = [rng.standard_normal(shape), _signs(rng, shape)]
        kw["margin"] = draw(st.sampled_from([1.0, 0.5, 0.0]))
        grad = [True, False]
    elif loss == "cosine_embedding_loss":
        shape = (n, c) if batched else (c,)
        a, b = rng.standard_normal(shape), rng.standard_normal(shape)
        if draw(st.integers(0, 4)) == 0:
            b = 0 * b                                       # a zero vector: torch's eps keeps it finite
        arrays = [a, b, _signs(rng, shape[:-1])]
        kw["margin"] = draw(st.sampled_from([0.0, 0.5, -0.5]))
        grad = [True, True, False]
    elif loss == "triplet_margin_loss":
        shape = (n, c) if batched else (c,)
        anchor = rng.standard_normal(shape)
        positive = anchor.copy() if draw(st.integers(0, 4)) == 0 else rng.standard_normal(shape)
        arrays = [anchor, positive, rng.standard_normal(shape)]
        kw.update(margin=draw(st.sampled_from([1.0, 0.5, 2.0, 0.0])), p=draw(st.sampled_from([1, 2, 3, 1.5])),
                  eps=draw(st.sampled_from([1e-6, 0.1])), swap=draw(st.booleans()))
    elif loss == "multi_margin_loss":
        shape = (n, c) if batched else (c,)
        arrays = [rng.standard_normal(shape), rng.integers(0, c, shape[:-1])]
        kw.update(p=draw(st.sampled_from([1, 2])), margin=draw(st.sampled_from([1.0, 0.5, 2.0])))
        if draw(st.booleans()):
            kw["weight"] = rng.random(c) + 0.1
    elif loss == "multilabel_soft_margin_loss":
        shape = (n, c) if batched else (c,)
        arrays = [rng.standard_normal(shape), np.round(rng.random(shape))]
        if draw(st.booleans()):
            kw["weight"] = rng.random(draw(st.sampled_from([(c,), shape]))) + 0.1
    elif loss == "multilabel_margin_loss":
        shape = (n, c) if batched else (c,)
        target = rng.integers(-1, c, shape)
        arrays = [rng.standard_normal(shape), target]
    elif loss == "gaussian_nll_loss":
        shape = (n, c) if batched else (c,)
        var_shape = draw(st.sampled_from([shape, shape[:-1] + (1,), shape[:-1]]))
        var = rng.random(var_shape) + 0.05
        if draw(st.integers(0, 5)) == 0:
            var.reshape(-1)[0] = 0.0                        # clamped up to eps
        arrays = [rng.standard_normal(shape), rng.standard_normal(shape), var]
        kw.update(full=draw(st.booleans()), eps=draw(st.sampled_from([1e-6, 0.1])))
    return dict(arrays=arrays, kw=kw, grad=grad if grad is not None else [True] * len(arrays))


MARGIN_LOSSES = ["margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss",
                 "multi_margin_loss", "multilabel_soft_margin_loss", "multilabel_margin_loss", "gaussian_nll_loss"]


@pytest.mark.parametrize("loss", MARGIN_LOSSES)
def test_margin_loss_fuzz(device, loss):
    def check(case):
        _compare_loss(loss, case.draw(margin_loss_case(loss)), device)
    run_fuzz(device, FUZZ, check, case=st.data())


def test_loss_corner_cases_as_torch(device):
    """Found by the loss fuzzing: probability targets refuse an ignore_index, kl_div and poisson_nll's
    Stirling term give torch's (NaN) target gradient at 0, soft_margin_loss has no target gradient,
    triplet_margin_loss refuses a margin <= 0."""
    rng = np.random.default_rng(0)
    x, p = rng.standard_normal((2, 3)), rng.random((2, 3))
    compare(lambda lib, x, t: F(lib).cross_entropy(x, t, ignore_index=1), x, p, device=device)
    compare(lambda lib, x, t: F(lib).cross_entropy(x, t, ignore_index=-1), x, p, device=device)
    t = np.array([0.0, 0.5, 1.0, 2.0, 3.0])
    compare(lambda lib, x, t: F(lib).kl_div(x, t, reduction="none"), rng.standard_normal(5), t, device=device)
    compare(lambda lib, x, t: F(lib).poisson_nll_loss(x, t, full=True, reduction="none"), rng.standard_normal(5), t,
            device=device)
    compare(lambda lib, x, t: F(lib).soft_margin_loss(x, t), x, np.sign(p - 0.5), device=device)
    compare(lambda lib, x, t: F(lib).soft_margin_loss(x, t), x, np.sign(p - 0.5), device=device, grad=[True, False])
    compare(lambda lib, a, b, c: F(lib).triplet_margin_loss(a, b, c, margin=0), x, p, x, device=device)


# -- normalization -----------------------------------------------------------------------------
@st.composite
def norm_case(draw, kind):
    rng = np.random.default_rng(draw(seeds))
    c = draw(st.integers(1, 4))
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0 if kind == "batch" else 1, 3))))
    n = draw(st.integers(1, 3))
    shape = (n, c) + spatial
    x = rng.standard_normal(shape) * 2 + 1
    if kind in ("instance", "group") and draw(st.integers(0, 3)) == 0:
        shape = shape[1:]                                 # unbatched (through the modules)
        x = x[0]
    affine = draw(st.booleans())
    return dict(x=x, c=c, affine=affine, batched=len(shape) == 2 + len(spatial), w=rng.standard_normal(c),
                b=rng.standard_normal(c),
                rm=rng.standard_normal(c), rv=rng.random(c) + 0.5, training=draw(st.booleans()),
                stats=draw(st.booleans()), momentum=draw(st.sampled_from([0.1, 0.5, 1.0, 0.0])),
                eps=draw(st.sampled_from([1e-5, 0.1])), seed=draw(seeds))


def test_batch_norm_fuzz(device):
    def check(case):
        c = case
        arrays = [c["x"], c["rm"], c["rv"]] + ([c["w"], c["b"]] if c["affine"] else [])
        stats = c["stats"] or not c["training"]

        def fn(lib, x, rm, rv, *wb):
            out = F(lib).batch_norm(x, rm if stats else None, rv if stats else None, *wb, training=c["training"],
                                    momentum=c["momentum"], eps=c["eps"])
            return out, rm, rv
        compare(fn, *arrays, device=device, grad=[True, False, False, True, True])
    run_fuzz(device, FUZZ, check, case=norm_case("batch"))


def test_instance_norm_fuzz(device):
    def check(case):
        c = case
        if c["x"].ndim == 2:
            return
        arrays = [c["x"], c["rm"], c["rv"]] + ([c["w"], c["b"]] if c["affine"] else [])
        use_input_stats = c["training"] or not c["stats"]

        def fn(lib, x, rm, rv, *wb):
            out = F(lib).instance_norm(x, rm if c["stats"] else None, rv if c["stats"] else None, *wb,
                                       use_input_stats=use_input_stats, momentum=c["momentum"], eps=c["eps"])
            return out, rm, rv
        compare(fn, *arrays, device=device, grad=[True, False, False, True, True])
    run_fuzz(device, FUZZ, check, case=norm_case("instance"))


def test_group_norm_fuzz(device):
    def check(case, groups):
        c = case
        if c["x"].ndim == 2:
            return
        arrays = [c["x"]] + ([c["w"], c["b"]] if c["affine"] else [])
        compare(lambda lib, x, *wb: F(lib).group_norm(x, groups, *wb, eps=c["eps"]), *arrays, device=device)
    run_fuzz(device, FUZZ, check, case=norm_case("group"), groups=st.integers(1, 4))


def test_layer_and_rms_norm_fuzz(device):
    def check(shape, k, affine, bias, eps, seed, as_int):
        k = min(k, len(shape))
        normalized = tuple(shape[-k:])
        if as_int and k == 1:
            normalized = normalized[0]
        rng = np.random.default_rng(seed)
        arrays = [rng.standard_normal(shape) * 3 + 1]
        if affine:
            arrays.append(rng.standard_normal(shape[-k:]))
        if affine and bias:
            arrays.append(rng.standard_normal(shape[-k:]))
        compare(lambda lib, x, *wb: F(lib).layer_norm(x, normalized, *wb, eps=1e-5 if eps is None else eps), *arrays,
                device=device)
        compare(lambda lib, x, *w: F(lib).rms_norm(x, normalized, *w[:1], eps=eps), *arrays, device=device)
    run_fuzz(device, FUZZ, check, shape=st.lists(st.integers(1, 3), min_size=1, max_size=4), k=st.integers(1, 3),
             affine=st.booleans(), bias=st.booleans(), eps=st.sampled_from([1e-5, 0.1, None]), seed=seeds,
             as_int=st.booleans())


def compare_module(make, inputs, device="cpu", train=True, seed=0, rtol=1e-7, atol=1e-9):
    """make(lib) builds the same layer in torch and flambeau (float64); the flambeau one takes the torch
    one's random state. Each array of inputs goes through both in turn: outputs, input and parameter
    gradients, and the buffers after each step (running statistics...) must agree."""
    rng = np.random.default_rng(seed)
    try:
        ref = make(torch).double()
    except Exception as e:          # torch refuses the layer's arguments: so must flambeau
        with pytest.raises(type(e)):
            make(flambeau)
        return
    ours = make(flambeau).double()
    with torch.no_grad():
        for t in ref.parameters():
            t.copy_(torch.tensor(rng.standard_normal(tuple(t.shape))))
    ours.load_state_dict({k: flambeau.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    ours.to(device)
    ref.train(train)
    ours.train(train)
    for step, x in enumerate(inputs):
        ref.zero_grad()
        ours.zero_grad()
        out = compare(lambda lib, x: (ref if lib is torch else ours)(x), x, device=device, rtol=rtol, atol=atol,
                      seed=seed + step)
        if out is None:                 # both refused
            return
        for (name, a), (_, b) in zip(ours.named_parameters(), ref.named_parameters()):
            if b.grad is None:
                assert a.grad is None, name
            else:
                assert_same(a.grad, b.grad, rtol, atol, device=device)
        ours_state, ref_state = ours.state_dict(), ref.state_dict()
        assert list(ours_state) == list(ref_state)
        for k in ref_state:
            assert_same(ours_state[k], ref_state[k], rtol, atol, device=device)


def test_batch_norm_module_fuzz(device):
    def check(nd, case, track, cumulative, steps):
        c = case
        x = c["x"]
        if x.ndim != nd + 2 and not (nd == 1 and x.ndim == 2):
            x = x.reshape(x.shape[:2] + (-1,) + (1,) * (nd - 1))
        momentum = None if cumulative else c["momentum"]
        make = lambda lib: getattr(lib.nn, f"BatchNorm{nd}d")(c["c"], eps=c["eps"], momentum=momentum,   # noqa: E731
                                                              affine=c["affine"], track_running_stats=track)
        compare_module(make, [x * (i + 1) for i in range(steps)], device=device, train=c["training"], seed=c["seed"])
    run_fuzz(device, FUZZ, check, nd=st.sampled_from([1, 2, 3]), case=norm_case("batch"), track=st.booleans(),
             cumulative=st.booleans(), steps=st.integers(1, 3))


def test_instance_norm_module_fuzz(device):
    def check(nd, case, track, steps):
        c = case
        lead = c["x"].shape[:2 if c["batched"] else 1]
        x = c["x"].reshape(lead + (-1,) + (1,) * (nd - 1))
        make = lambda lib: getattr(lib.nn, f"InstanceNorm{nd}d")(c["c"], eps=c["eps"], momentum=c["momentum"],  # noqa
                                                                 affine=c["affine"], track_running_stats=track)
        compare_module(make, [x * (i + 1) for i in range(steps)], device=device, train=c["training"], seed=c["seed"])
    run_fuzz(device, FUZZ, check, nd=st.sampled_from([1, 2, 3]), case=norm_case("instance"), track=st.booleans(),
             steps=st.integers(1, 2))


def test_group_and_layer_norm_modules_fuzz(device):
    def check(case, groups):
        c = case
        channels = c["x"].shape[1] if c["x"].ndim > 2 else c["x"].shape[0]
        compare_module(lambda lib: lib.nn.GroupNorm(groups, groups * channels, eps=c["eps"], affine=c["affine"]),
                       [np.concatenate([c["x"]] * groups, axis=1 if c["x"].ndim > 2 else 0)], device=device,
                       seed=c["seed"])
        shape = c["x"].shape[-2:]
        compare_module(lambda lib: lib.nn.LayerNorm(shape, eps=c["eps"], elementwise_affine=c["affine"],
                                                    bias=c["training"]), [c["x"]], device=device, seed=c["seed"])
        compare_module(lambda lib: lib.nn.RMSNorm(shape[-1], elementwise_affine=c["affine"]), [c["x"]], device=device,
                       seed=c["seed"])
        compare_module(lambda lib: lib.nn.LocalResponseNorm(2 + groups, alpha=0.5, beta=0.75, k=c["eps"] + 1),
                       [c["x"]], device=device, seed=c["seed"])
    run_fuzz(device, FUZZ, check, case=norm_case("group"), groups=st.sampled_from([1, 2]))


def test_norm_argument_checks_as_torch(device):
    """layer_norm and rms_norm take normalized_shape as a sequence only; group_norm refuses one value per
    group (before the divisibility check), as torch's functional forms."""
    x = randn(0, 2, 3)
    for fn in ("layer_norm", "rms_norm"):
        compare(lambda lib, x: getattr(F(lib), fn)(x, 3), x, device=device)
        compare(lambda lib, x: getattr(F(lib), fn)(x, [3]), x, device=device)
    for shape, groups in (((1, 3, 1), 2), ((1, 2, 1), 2), ((1, 2), 2), ((1, 4, 1), 3), ((1, 4, 2), 2)):
        compare(lambda lib, x: F(lib).group_norm(x, groups), randn(1, *shape), device=device)


# -- activations -------------------------------------------------------------------------------
# name -> (strategy of keyword arguments, whether it has inplace=)
ACTIVATIONS = {
    "relu": (st.just({}), True),
    "relu6": (st.just({}), True),
    "elu": (st.fixed_dictionaries({"alpha": st.sampled_from([1.0, 0.5, 2.0, 0.0])}), True),
    "selu": (st.just({}), True),
    "celu": (st.fixed_dictionaries({"alpha": st.sampled_from([1.0, 0.5, 2.0])}), True),
    "gelu": (st.fixed_dictionaries({"approximate": st.sampled_from(["none", "tanh"])}), False),
    "silu": (st.just({}), True),
    "mish": (st.just({}), True),
    "hardtanh": (st.sampled_from([{}, {"min_val": -2.0, "max_val": 0.5}, {"min_val": 0.0, "max_val": 0.0},
                                  {"min_val": 1.0, "max_val": -1.0}]), True),
    "hardsigmoid": (st.just({}), True),
    "hardswish": (st.just({}), True),
    "leaky_relu": (st.fixed_dictionaries({"negative_slope": st.sampled_from([0.01, 0.2, 1.0, -0.5, 0.0])}),
                   True),
    "softplus": (st.fixed_dictionaries({"beta": st.sampled_from([1.0, 2.0, 0.5, -1.0]),
                                        "threshold": st.sampled_from([20.0, 1.0, 0.5])}), False),
    "softsign": (st.just({}), False),
    "logsigmoid": (st.just({}), False),
    "softshrink": (st.fixed_dictionaries({"lambd": st.sampled_from([0.5, 0.0, 1.0])}), False),
    "hardshrink": (st.fixed_dictionaries({"lambd": st.sampled_from([0.5, 0.0, 1.0])}), False),
    "tanhshrink": (st.just({}), False),
    "threshold": (st.fixed_dictionaries({"threshold": st.sampled_from([0.0, 0.5, -1.0]),
                                         "value": st.sampled_from([0.0, -3.0, 2.0])}), True),
    "rrelu": (st.fixed_dictionaries({"lower": st.sampled_from([0.125, 0.3]), "upper": st.sampled_from([1 / 3, 0.5])}),
              True),
    "sigmoid": (st.just({}), False),
    "tanh": (st.just({}), False),
}
# values at the kinks and thresholds of the activations above, where the subgradient conventions show
KINKS = np.array([0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 0.5, -0.5, 2.0, -2.0, 6.0, 20.0, -20.0, 40.0, -40.0])


def _activation_input(seed, shape, special):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3
    if special and x.size:
        flat = x.reshape(-1)
        flat[:] = np.where(rng.random(flat.size) < 0.6, rng.choice(KINKS, flat.size), flat)
    return x


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_fuzz(device, name):
    def check(case):
        kw_strategy, has_inplace = ACTIVATIONS[name]
        kw = case.draw(kw_strategy)
        shape = case.draw(st.lists(st.integers(0, 3), max_size=3).map(tuple))
        x = _activation_input(case.draw(seeds), shape, case.draw(st.booleans()))
        layout = case.draw(st.sampled_from(["contiguous", "transposed"])) if len(shape) >= 2 else "contiguous"
        fn = getattr(F(flambeau), name)
        compare(lambda lib, x: getattr(F(lib), name)(_layout(lib, x, layout), **kw), x, device=device)
        if has_inplace:
            # in place on a non-leaf: the same values and gradient; on a leaf that requires grad: torch's error
            compare(lambda lib, x: getattr(F(lib), name)(_layout(lib, x * 1, layout), inplace=True, **kw), x,
                    device=device)
            compare(lambda lib, x: getattr(F(lib), name)(x, inplace=True, **kw), x, device=device)
            if compare(lambda lib, x: getattr(F(lib), name)(x, **kw), x, device=device, grad=False) is not None:
                t = flambeau.tensor(x, device=device)               # without autograd: x itself, overwritten
                assert fn(t, inplace=True, **kw) is t
                assert_same(t, getattr(F(torch), name)(torch.tensor(x), **kw), device=device)
    run_fuzz(device, FEW, check, case=st.data())


def test_prelu_fuzz(device):
    def check(shape, per_channel, seed, special):
        channels = shape[1] if len(shape) >= 2 else (shape[0] if shape else 1)
        weight = randn(seed + 1, channels if per_channel else 1)
        compare(lambda lib, x, w: F(lib).prelu(x, w), _activation_input(seed, shape, special), weight, device=device)
        compare(lambda lib, x, w: lib.nn.PReLU(channels if per_channel else 1).double().to(x.device)(x) * w.sum(),
                _activation_input(seed, shape, special), weight, device=device)
    run_fuzz(device, FUZZ, check, shape=st.lists(st.integers(1, 3), max_size=4).map(tuple),
             per_channel=st.booleans(), seed=seeds, special=st.booleans())


def test_glu_fuzz(device):
    def check(shape, dim, seed):
        compare(lambda lib, x: F(lib).glu(x, dim), randn(seed, *shape), device=device)
    run_fuzz(device, FUZZ, check, shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
             dim=st.integers(-3, 2), seed=seeds)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_family_fuzz(device, name):
    def check(shape, dim, dtype, source, special, seed):
        x = _activation_input(seed, shape, special)
        if special and x.size:
            x.reshape(-1)[0] = -np.inf
        x = x.astype(source) if source != "int64" else np.round(x).astype(np.int64)

        def fn(lib, x):
            kw = {} if dtype is None else {"dtype": getattr(lib, dtype)}
            return getattr(F(lib), name)(x, dim, **kw)
        compare(fn, x, device=device, rtol=1e-5 if "float32" in (dtype, source) else 1e-7,
                atol=1e-6 if "float32" in (dtype, source) else 1e-9)
    run_fuzz(device, FUZZ, check, shape=st.lists(st.integers(0, 3), max_size=3).map(tuple),
             dim=st.one_of(st.none(), st.integers(-3, 2)), dtype=st.sampled_from([None, "float32", "float64"]),
             source=st.sampled_from(["float64", "float32", "int64"]), special=st.booleans(), seed=seeds)


def test_activation_kinks_and_dtypes_as_torch(device):
    """Found by the activation fuzzing: the gradients at the kinks (logsigmoid at 0, hardsigmoid and
    hardswish at +-3, rrelu at 0), NaN through the shrinks, integer inputs refused, hardtanh_ without
    the min <= max check, in-place leaky_relu's backward refused for a negative slope, prelu on 1-D and
    0-dim inputs, softmin negating before the dtype cast."""
    x = np.array([0.0, -0.0, 3.0, -3.0, 1.0, -1.0, 20.0, -20.0, np.nan])
    for name in ("logsigmoid", "hardsigmoid", "hardswish", "rrelu", "softshrink", "hardshrink"):
        compare(lambda lib, x: getattr(F(lib), name)(x), x, device=device)
        compare(lambda lib, x: getattr(F(lib), name)(x.long()), x[:-1], device=device)
    compare(lambda lib, x: F(lib).hardshrink(x, -1.0), x, device=device)
    compare(lambda lib, x: F(lib).hardtanh_(x.long(), 1.0, -1.0), x[:-1], device=device)
    compare(lambda lib, x: F(lib).leaky_relu(x * 1, -0.5, inplace=True), x, device=device)
    compare(lambda lib, x: F(lib).leaky_relu(x * 1, 0.5, inplace=True), x, device=device)
    for xs, ws in (((), (1,)), ((3,), (1,)), ((3,), (3,)), ((2, 3), ()), ((), (2,)), ((2, 3), (3, 1))):
        compare(lambda lib, x, w: F(lib).prelu(x, w), randn(0, *xs), randn(1, *ws), device=device)
    compare(lambda lib, x: F(lib).softmin(x.to(lib.uint8), 0, dtype=lib.float64), np.array([0.0, 1.0, 3.0]),
            device=device)


# -- padding, shuffles, folds ------------------------------------------------------------------
def test_pad_fuzz(device):
    def check(mode, ndim, k, data, seed):
        shape = tuple(data.draw(st.integers(1, 4)) for _ in range(ndim))
        pads = tuple(data.draw(st.integers(-2, 4)) for _ in range(2 * min(k, ndim + 1)))
        if mode == "circular":      # torch wraps the cropped part: a pad past it reads uninitialized memory there
            sizes = shape[::-1]
            pads = tuple(p if p <= 0 or i // 2 >= ndim or p <= sizes[i // 2] + min(pads[i ^ 1], 0) else 0
                         for i, p in enumerate(pads))
        value = data.draw(st.sampled_from([None, 0.0, 1.5, -2]))
        dtype = data.draw(st.sampled_from(["float64", "float64", "int64"]))
        x = randn(seed, *shape)
        x = x.astype(dtype) if dtype == "float64" else np.round(x * 3).astype(np.int64)
        kw = {} if value is None else {"value": value}
        compare(lambda lib, x: F(lib).pad(x, pads, mode=mode, **kw), x, device=device)
        if ndim >= 2:
            compare(lambda lib, x: F(lib).pad(x.transpose(0, -1), pads, mode=mode, **kw), x, device=device)
    run_fuzz(device, FUZZ, check, mode=st.sampled_from(["constant", "reflect", "replicate", "circular"]),
             ndim=st.integers(1, 5), k=st.integers(1, 3), data=st.data(), seed=seeds)


def test_pixel_shuffle_fuzz(device):
    def check(factor, lead, c, hw, seed, broken):
        # channels a multiple of factor**2 (and sizes of factor), or now and then not, to compare the errors
        channels = c * factor ** 2 + (broken == 0)
        # torch's pixel_unshuffle returns an empty input as it is (not reshaped), so the backward of an
        # empty pixel_shuffle fails there: values only for empty shuffles, none for empty unshuffles
        compare(lambda lib, x: F(lib).pixel_shuffle(x, factor), randn(seed, *lead, channels, *hw), device=device,
                grad=hw[0] > 0)
        sizes = tuple(n * factor + (broken == 1) for n in hw)
        if hw[0] > 0:
            compare(lambda lib, x: F(lib).pixel_unshuffle(x, factor), randn(seed, *lead, c, *sizes), device=device)
    run_fuzz(device, FUZZ, check, factor=st.integers(1, 3), lead=st.lists(st.integers(1, 2), max_size=2).map(tuple),
             c=st.integers(1, 3), hw=st.tuples(st.integers(0, 3), st.integers(1, 3)), seed=seeds,
             broken=st.integers(0, 5))


def test_unfold_fold_fuzz(device):
    def check(data, seed):
        kernel = _per_dim(data.draw, 2, st.integers(1, 3))
        dilation = _per_dim(data.draw, 2, st.integers(1, 2))
        padding = _per_dim(data.draw, 2, st.integers(0, 2))
        stride = _per_dim(data.draw, 2, st.integers(1, 3))
        batched = data.draw(st.booleans())
        c = data.draw(st.integers(1, 3))
        size = (data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6)))
        lead = (data.draw(st.integers(1, 2)),) if batched else ()
        kw = dict(kernel_size=kernel, dilation=dilation, padding=padding, stride=stride)
        unfolded = compare(lambda lib, x: F(lib).unfold(x, **kw), randn(seed, *lead, c, *size), device=device)
        if unfolded is None:
            return
        compare(lambda lib, x: F(lib).fold(x, size, **kw), randn(seed + 1, *unfolded.shape), device=device)
        compare(lambda lib, x: lib.nn.Fold(size, **kw)(lib.nn.Unfold(**kw)(x)), randn(seed, *lead, c, *size),
                device=device)
    run_fuzz(device, FUZZ, check, data=st.data(), seed=seeds)


def test_distances_fuzz(device):
    def check(shape, data, seed):
        other = _broadcastable_shape(data.draw, shape)
        dim = data.draw(st.integers(-len(shape), len(shape) - 1))
        eps = data.draw(st.sampled_from([1e-8, 1e-6, 0.5, 2.0]))
        a, b = randn(seed, *shape), randn(seed + 1, *other)
        zero = data.draw(st.sampled_from(["none", "a", "b", "same"]))   # eps decides around zero vectors
        if zero == "a":
            a = 0 * a
        elif zero == "b":
            b = 0 * b
        elif zero == "same":
            b = np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape))[tuple(slice(0, n) for n in b.shape)].copy() \
                if b.shape == a.shape else b
        compare(lambda lib, x, y: F(lib).cosine_similarity(x, y, dim, eps), a, b, device=device)
        p = data.draw(st.sampled_from([2.0, 1.0, 3.0, 0.0, float("inf"), 1.5]))
        keepdim = data.draw(st.booleans())
        # p=0 (a count): flambeau's norm records no node (see test_distances_p0_values), values only
        compare(lambda lib, x, y: F(lib).pairwise_distance(x, y, p, eps, keepdim), a, b, device=device, grad=p != 0)
        compare(lambda lib, x: F(lib).normalize(x, p if p else 2.0, dim, eps), a, device=device)
    run_fuzz(device, FUZZ, check, shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple),
             data=st.data(), seed=seeds)


def test_one_hot_fuzz(device):
    def check(shape, num_classes, seed):
        x = np.random.default_rng(seed).integers(0, 4, shape)
        compare(lambda lib, x: F(lib).one_hot(x, num_classes), x, device=device)
    run_fuzz(device, FUZZ, check, shape=st.lists(st.integers(0, 3), max_size=3).map(tuple),
             num_classes=st.sampled_from([-1, 3, 5, 0]), seed=seeds)


def test_pad_and_distance_corners_as_torch(device):
    """Found by the fuzzing: non-constant pads with negative sizes (too-small outputs refused, some empty
    padded dims allowed), circular padding wraps the cropped part, a value with a non-constant mode is a
    RuntimeError; cosine_similarity clamps the norms' values only (their gradient stays the norms')."""
    x = randn(0, 1, 2, 4)
    for mode in ("reflect", "replicate", "circular"):
        for pads in ((0, -1), (-1, 2), (-2, -1), (2, -3), (3, 0), (4, 0), (-1, -3), (-5, 5), (0, -4, 0, 0),
                     (0, -4, 0, -2), (0, 0, 0, -3), (1, 1)):
            if mode == "circular" and pads in ((2, -3), (-5, 5)):
                continue            # torch reads memory it never wrote there
            compare(lambda lib, x: F(lib).pad(x, pads, mode=mode), x, device=device)
        compare(lambda lib, x: F(lib).pad(x, (1, 1), mode=mode, value=1.5), x, device=device)
        compare(lambda lib, x: F(lib).pad(x, (1, 1), mode=mode, value=0), x, device=device)
    a, b = np.array([[0.3, 0.0], [2.0, 1.0]]), np.array([[0.2, 0.1], [0.0, 0.0]])
    for eps in (1e-8, 0.5):
        compare(lambda lib, x, y: F(lib).cosine_similarity(x, y, 1, eps), a, b, device=device)


def test_distances_p0_values(device):
    """pairwise_distance with p=0 counts the nonzero differences; torch keeps a (zero) gradient there,
    flambeau's norm records no node for p=0 (its vector norm), so only the values are compared."""
    compare(lambda lib, x, y: F(lib).pairwise_distance(x, y, 0.0), randn(0, 3, 4), randn(1, 3, 4), device=device,
            grad=False)


# -- embedding, dropout ------------------------------------------------------------------------
def test_embedding_fuzz(device):
    def check(num, dim, shape, padding_idx, max_norm, norm_type, scale, seed):
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, num, shape)
        weight = rng.standard_normal((num, dim))
        kw = dict(padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type, scale_grad_by_freq=scale)

        def fn(lib, i, w):
            if max_norm is None:
                return F(lib).embedding(i, w, **kw)
            w = w * 1                   # max_norm renormalizes the rows in place: not on a leaf
            return F(lib).embedding(i, w, **kw), w
        compare(fn, idx, weight, device=device)

        def module(lib, i, w):
            emb = lib.nn.Embedding(num, dim, **kw).double().to(w.device)
            with lib.no_grad():
                emb.weight.copy_(w)
            return emb(i) * w.sum(), emb.weight
        compare(module, idx, weight, device=device)
    run_fuzz(device, FUZZ, check, num=st.integers(1, 5), dim=st.integers(1, 3),
             shape=st.lists(st.integers(0, 3), max_size=3).map(tuple),
             padding_idx=st.one_of(st.none(), st.integers(-5, 4)),
             max_norm=st.sampled_from([None, None, 0.5, 1.0, 2.0]), norm_type=st.sampled_from([2.0, 1.0, 3.0]),
             scale=st.booleans(), seed=seeds)


DROPOUTS = {   # name -> input shapes (large enough that a mask constant along a dim by chance is unlikely)
    "dropout": [(40,), (6, 7), (3, 4, 5)],
    "dropout1d": [(6, 9), (3, 6, 9), (2, 3, 4, 5)],
    "dropout2d": [(6, 4, 5), (3, 6, 4, 5), (6, 9), (2, 3, 4, 5, 6)],
    "dropout3d": [(6, 3, 4, 5), (2, 6, 3, 4, 5), (6, 4, 5)],
    "alpha_dropout": [(40,), (6, 7)],
    "feature_alpha_dropout": [(6, 7), (3, 6, 5), (7,)],
}


def _mask_structure(lib, name, shape, p, seed, draws=4):
    """What torch and flambeau must share for a random dropout of an input of ones: the dims along
    which the kept/dropped pattern stays constant over a few draws, the output's dtype and shape and,
    for a draw, that the gradient is the output's multiplier (the output itself, x being ones)."""
    lib.manual_seed(seed)
    varying = set()
    for _ in range(draws):
        x = lib.ones(shape, dtype=lib.float64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = getattr(F(lib), name)(x * 1, p, True)
        dropped = to_numpy(y == y.reshape(-1)[0] if "alpha" in name else y == 0)
        varying |= {d for d in range(len(shape)) if (dropped != dropped.take([0], axis=d)).any()}
    (y * 1.0).sum().backward()
    kept = to_numpy(y) if "alpha" not in name else None
    if kept is not None:
        np.testing.assert_allclose(to_numpy(x.grad), kept)
    return sorted(set(range(len(shape))) - varying), str(y.dtype), tuple(y.shape)


@pytest.mark.parametrize("name", sorted(DROPOUTS))
def test_dropout_structure(device, name):
    def check(p, seed, data):
        shape = data.draw(st.sampled_from(DROPOUTS[name]))
        try:
            ref = _mask_structure(torch, name, shape, p, seed)
        except Exception as e:
            with pytest.raises(type(e)):
                _mask_structure(on_device(flambeau, device), name, shape, p, seed)
            return
        assert _mask_structure(on_device(flambeau, device), name, shape, p, seed) == ref
    run_fuzz(device, FEW, check, p=st.sampled_from([0.5, 0.3, 0.0, 1.0, -0.1, 1.5]), seed=seeds, data=st.data())


@pytest.mark.parametrize("name", ["dropout", "dropout2d", "alpha_dropout"])
def test_dropout_rate_and_scale(device, name):
    """Over many elements the dropped fraction is p, the kept ones scaled by 1/(1-p); alpha dropout
    keeps mean 0 and variance 1 of a standard normal input."""
    lib = on_device(flambeau, device)
    lib.manual_seed(0)
    shape = (200, 100, 3, 3) if name == "dropout2d" else (200000,)
    x = lib.randn(shape, dtype=lib.float64)
    for p in (0.1, 0.5, 0.8):
        y = getattr(F(lib), name)(x, p, True)
        if name == "alpha_dropout":
            assert abs(float(y.mean())) < 0.02 and abs(float(y.var()) - 1) < 0.03
            continue
        dropped = float((y == 0).double().mean())
        n = 20000 if name == "dropout2d" else 200000
        assert abs(dropped - p) < 5 * (p * (1 - p) / n) ** 0.5
        kept = y != 0
        np.testing.assert_allclose(to_numpy(y[kept]), to_numpy(x[kept]) / (1 - p), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(DROPOUTS))
def test_dropout_eval_inplace_and_leaf(device, name):
    """Not training: the input itself (in place or not); in place: the input, changed; in place on a
    leaf that requires grad: torch's error."""
    shape = DROPOUTS[name][0]
    identities = []
    for lib in (torch, on_device(flambeau, device)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = lib.randn(shape, dtype=lib.float64)
            leaf = lib.ones(shape, dtype=lib.float64, requires_grad=True)
            try:        # unbatched dropout1d/3d: torch's unsqueeze_ refuses the leaf
                in_place_leaf = getattr(F(lib), name)(leaf, 0.5, False, inplace=True) is leaf
            except RuntimeError:
                in_place_leaf = RuntimeError
            identities.append((getattr(F(lib), name)(x, 0.5, False) is x,       # unbatched 1d/3d: a view
                               in_place_leaf, getattr(F(lib), name)(x, 0.5, True, inplace=True) is x))
    assert identities[0] == identities[1]
    compare(lambda lib, x: getattr(F(lib), name)(x, 0.5, True, inplace=True), np.ones(shape), device=device)


# -- layers ------------------------------------------------------------------------------------
def test_conv_modules_fuzz(device):
    def check(nd, data, transposed):
        c = data.draw(conv_transpose_case(nd) if transposed else conv_case(nd))
        kw = dict(c["kw"])
        cin = c["shape"][-nd - 1]
        groups = kw["groups"]
        kernel = c["weight"][2:]
        if transposed:
            cout = c["weight"][1] * groups
            layer = f"ConvTranspose{nd}d"
        else:
            cout = c["weight"][0]
            layer = f"Conv{nd}d"
            kw["padding_mode"] = data.draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
        compare_module(lambda lib: getattr(lib.nn, layer)(cin, cout, kernel, bias=c["bias"], **kw),
                       [randn(c["seed"], *c["shape"])], device=device, seed=c["seed"])
    run_fuzz(device, FEW, check, nd=st.sampled_from([1, 2, 3]), data=st.data(), transposed=st.booleans())


def test_pool_modules_fuzz(device):
    def check(nd, kind, data):
        c = data.draw(pool_case(nd, kind))
        kw = dict(c["kw"])
        x = randn(c["seed"], *c["shape"])
        if kind == "lp":
            layer = f"LPPool{nd}d"
            norm_type = kw.pop("norm_type")
            if abs(norm_type) != float("inf") and norm_type != int(norm_type):
                x = np.abs(x) + 0.1
            kw = dict(norm_type=norm_type, **kw)
        else:
            layer = f"{kind.capitalize()}Pool{nd}d"
            if kind == "max" and _window_in_padding(c["shape"][-nd:], kw):
                return                  # torch's backward writes out of bounds there (see test_pool_fuzz)
        compare_module(lambda lib: getattr(lib.nn, layer)(**kw), [x], device=device, seed=c["seed"])
    run_fuzz(device, FEW, check, nd=st.sampled_from([1, 2, 3]), kind=st.sampled_from(["max", "avg", "lp"]),
             data=st.data())


def test_max_unpool_fuzz(device):
    def check(nd, data, seed):
        kernel = data.draw(st.integers(1, 3))
        stride = data.draw(st.one_of(st.none(), st.integers(1, 3)))
        padding = data.draw(st.integers(0, kernel // 2))
        shape = (data.draw(st.integers(1, 2)), 2) + tuple(data.draw(st.integers(kernel, 6)) for _ in range(nd))
        if data.draw(st.booleans()):
            shape = shape[1:]
        sizes = None
        if data.draw(st.booleans()):
            sizes = [n + data.draw(st.integers(0, 2)) for n in shape[-nd:]]   # any size the windows fit in

        def fn(lib, x):
            out, idx = getattr(F(lib), f"max_pool{nd}d")(x, kernel, stride, padding, return_indices=True)
            return getattr(F(lib), f"max_unpool{nd}d")(out, idx, kernel, stride, padding, output_size=sizes)
        compare(fn, randn(seed, *shape), device=device)
    run_fuzz(device, FEW, check, nd=st.sampled_from([1, 2, 3]), data=st.data(), seed=seeds)


def test_max_unpool_into_empty_output(device):
    """An output with no element takes any index (PyTorch writes, and checks, nothing there); the
    gradient, which gathers at the indices, refuses them."""
    for nd, shape in ((1, (1, 2, 2)), (2, (1, 2, 2, 4)), (3, (2, 2, 4, 2, 4))):
        def fn(lib, x):
            out, idx = getattr(F(lib), f"max_pool{nd}d")(x, 2, 3, 1, return_indices=True)
            return getattr(F(lib), f"max_unpool{nd}d")(out, idx, 2, 3, 1)
        compare(fn, randn(nd, *shape), device=device)


LOSS_MODULES = {   # layer -> (functional case strategy, the layer's keyword arguments from a case's)
    "CrossEntropyLoss": lambda: class_case(True),
    "NLLLoss": lambda: class_case(False),
    "MSELoss": lambda: elementwise_loss_case("mse_loss"),
    "L1Loss": lambda: elementwise_loss_case("l1_loss"),
    "SmoothL1Loss": lambda: elementwise_loss_case("smooth_l1_loss"),
    "HuberLoss": lambda: elementwise_loss_case("huber_loss"),
    "BCELoss": lambda: elementwise_loss_case("binary_cross_entropy"),
    "BCEWithLogitsLoss": lambda: elementwise_loss_case("binary_cross_entropy_with_logits"),
    "KLDivLoss": lambda: elementwise_loss_case("kl_div"),
    "PoissonNLLLoss": lambda: elementwise_loss_case("poisson_nll_loss"),
    "SoftMarginLoss": lambda: elementwise_loss_case("soft_margin_loss"),
    "MarginRankingLoss": lambda: margin_loss_case("margin_ranking_loss"),
    "HingeEmbeddingLoss": lambda: margin_loss_case("hinge_embedding_loss"),
    "CosineEmbeddingLoss": lambda: margin_loss_case("cosine_embedding_loss"),
    "TripletMarginLoss": lambda: margin_loss_case("triplet_margin_loss"),
    "MultiMarginLoss": lambda: margin_loss_case("multi_margin_loss"),
    "MultiLabelSoftMarginLoss": lambda: margin_loss_case("multilabel_soft_margin_loss"),
    "MultiLabelMarginLoss": lambda: margin_loss_case("multilabel_margin_loss"),
    "GaussianNLLLoss": lambda: margin_loss_case("gaussian_nll_loss"),
}


@pytest.mark.parametrize("layer", sorted(LOSS_MODULES))
def test_loss_modules_fuzz(device, layer):
    """The loss layers over the functional cases, with the deprecated size_average/reduce flags or an
    invalid reduction now and then."""
    def check(data, legacy):
        c = data.draw(LOSS_MODULES[layer]())
        if "arrays" not in c:               # a class-loss case
            c = dict(arrays=[c["input"], c["target"]], grad=[True, c["target_grad"]],
                     kw=dict(c["kw"], **({"weight": c["weight"]} if c["weight"] is not None else {})))
        kw = dict(c["kw"])
        tensors = [n for n in ("weight", "pos_weight") if n in kw]
        arrays = list(c["arrays"]) + [kw.pop(n) for n in tensors]
        n_plain = len(c["arrays"])
        if legacy == "bad":
            kw["reduction"] = "average"
        elif legacy is not None and layer != "GaussianNLLLoss" and layer != "HuberLoss":
            kw.pop("reduction", None)
            kw["size_average"], kw["reduce"] = legacy

        def fn(lib, *ts):
            module = getattr(lib.nn, layer)(**kw, **dict(zip(tensors, ts[n_plain:])))
            return module(*ts[:n_plain])
        compare(fn, *arrays, device=device, grad=list(c["grad"]) + [False] * len(tensors))
    run_fuzz(device, settings(FUZZ, max_examples=max(EXAMPLES // 2, 1)), check, data=st.data(),
             legacy=st.sampled_from([None, None, (True, False), (False, True), (None, True), "bad"]))


def test_instance_norm_checks_as_torch(device):
    """instance_norm checks its per-channel tensors as torch's (which batch-normalizes (1, N * C, ...)
    with them repeated N times), after the spatial-size check, and wants running stats without input
    stats (a RuntimeError)."""
    x = randn(0, 2, 3, 4)
    compare(lambda lib, x: F(lib).instance_norm(x, use_input_stats=False), x, device=device)
    for kw in (dict(running_mean=np.zeros(2), running_var=np.ones(3)),
               dict(running_mean=np.zeros(3), running_var=np.ones(2)), dict(weight=np.ones(2)),
               dict(bias=np.ones(4)), dict(running_mean=np.zeros(3), running_var=np.ones(3))):
        names = list(kw)
        compare(lambda lib, x, *ts: F(lib).instance_norm(x, **dict(zip(names, ts))), x, *kw.values(),
                device=device, grad=[True, False, False])
    compare(lambda lib, x, m: F(lib).instance_norm(x, m, m), randn(0, 2, 3, 1), np.zeros(2), device=device)


# -- second order ------------------------------------------------------------------------------
def _hessian_vector(lib, fn, arrays, device, seed):
    """d<grad(fn) . u, v>/d(inputs) for random u (the upstream gradient) and v, through the backward's
    own graph; zeros where the first gradient has no graph (a backward that is constant in the inputs:
    torch records one there, with zero derivatives)."""
    ins = _inputs(lib, arrays, True, device)
    floats = [t for t in ins if t.dtype.is_floating_point]
    kw = {} if lib is torch else {"device": device}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(on_device(lib, device) if lib is not torch else lib, *ins)
    outs = [o for o in (out if isinstance(out, (tuple, list)) else (out,)) if o.requires_grad]
    rng = np.random.default_rng(seed)
    cots = [lib.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype, **kw) for o in outs]
    grads = lib.autograd.grad(outs, floats, cots, create_graph=True, allow_unused=True)
    terms = [(g * lib.tensor(rng.standard_normal(tuple(g.shape)), dtype=g.dtype, **kw)).sum()
             for g in grads if g is not None]
    terms = [t for t in terms if t.requires_grad]
    second = lib.autograd.grad(sum(terms), floats, allow_unused=True) if terms else [None] * len(floats)
    return [lib.zeros_like(x) if h is None else h for x, h in zip(floats, second)]


def compare_double_backward(fn, *arrays, device="cpu", rtol=1e-7, atol=1e-9, seed=0):
    """Hessian-vector products of fn against torch's. Where torch's backward is not differentiable
    again (it refuses), flambeau may give its (zero) derivative."""
    try:
        ref = _hessian_vector(torch, fn, arrays, "cpu", seed)
    except RuntimeError:            # invalid arguments (compared by the first-order tests) or no double backward
        return
    except Exception as e:
        with pytest.raises(type(e)):
            _hessian_vector(flambeau, fn, arrays, device, seed)
        return
    ours = _hessian_vector(flambeau, fn, arrays, device, seed)
    assert_same(ours, ref, rtol, atol, device=device)


SECOND_ORDER = {
    "conv2d": (lambda lib, x, w, b: F(lib).conv2d(x, w, b, stride=(1, 2), padding=1, dilation=(2, 1), groups=2),
               [(2, 4, 5, 5), (4, 2, 3, 2), (4,)]),
    "conv_transpose1d": (lambda lib, x, w: F(lib).conv_transpose1d(x, w, stride=2, padding=1, output_padding=1),
                         [(2, 2, 4), (2, 3, 3)]),
    "conv_transpose1d_opad_past_stride": (
        lambda lib, x, w: F(lib).conv_transpose1d(x, w, stride=1, dilation=2, output_padding=1),
        [(2, 2, 3), (2, 2, 2)]),
    "max_pool2d": (lambda lib, x: F(lib).max_pool2d(x, 3, 2, 1, ceil_mode=True), [(2, 2, 5, 6)]),
    "max_pool3d": (lambda lib, x: F(lib).max_pool3d(x, 2, 1, 1), [(1, 2, 3, 3, 3)]),
    "avg_pool2d": (lambda lib, x: F(lib).avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                   [(2, 2, 5, 6)]),
    "adaptive_max_pool2d": (lambda lib, x: F(lib).adaptive_max_pool2d(x, (2, 3)), [(2, 2, 5, 4)]),
    "adaptive_avg_pool1d": (lambda lib, x: F(lib).adaptive_avg_pool1d(x, 3), [(2, 2, 7)]),
    "lp_pool2d": (lambda lib, x: F(lib).lp_pool2d(x.abs() + 0.1, 1.5, 2), [(2, 2, 4, 4)]),
    "batch_norm_train": (lambda lib, x, w, b: F(lib).batch_norm(x, None, None, w, b, True), [(4, 3, 2), (3,), (3,)]),
    "batch_norm_eval": (lambda lib, x, w, b: F(lib).batch_norm(x, lib.zeros(3, dtype=x.dtype, device=x.device),
                                                                lib.ones(3, dtype=x.dtype, device=x.device), w, b),
                        [(4, 3, 2), (3,), (3,)]),
    "layer_norm": (lambda lib, x, w, b: F(lib).layer_norm(x, (2, 3), w, b), [(4, 2, 3), (2, 3), (2, 3)]),
    "group_norm": (lambda lib, x, w, b: F(lib).group_norm(x, 2, w, b), [(3, 4, 2), (4,), (4,)]),
    "instance_norm": (lambda lib, x: F(lib).instance_norm(x), [(2, 3, 4)]),
    "rms_norm": (lambda lib, x, w: F(lib).rms_norm(x, (3,), w), [(4, 3), (3,)]),
    "cross_entropy": (lambda lib, x, t: F(lib).cross_entropy(x, t, label_smoothing=0.2), [(4, 3), (4, 3)]),
    "cross_entropy_weighted": (lambda lib, x, t, w: F(lib).cross_entropy(x.reshape(2, 3, 2), t.reshape(2, 3, 2), w,
                                                                          reduction="none", label_smoothing=0.3),
                               [(4, 3), (4, 3), (3,)]),
    "cross_entropy_indices": (lambda lib, x: F(lib).cross_entropy(x, lib.tensor([0, 2, -100, 1], device=x.device),
                                                                  label_smoothing=0.1), [(4, 3)]),
    "nll_loss": (lambda lib, x: F(lib).nll_loss(x.log_softmax(1), lib.tensor([0, 2, 1, 2], device=x.device)),
                 [(4, 3)]),
    "bce_with_logits": (lambda lib, x, t: F(lib).binary_cross_entropy_with_logits(
        x, t.sigmoid(), pos_weight=lib.tensor([1.0, 2.0, 0.5], dtype=x.dtype, device=x.device)), [(4, 3), (4, 3)]),
    "binary_cross_entropy": (lambda lib, x, t: F(lib).binary_cross_entropy(x.sigmoid(), t.sigmoid()),
                             [(4, 3), (4, 3)]),
    "smooth_l1": (lambda lib, x, t: F(lib).smooth_l1_loss(x, t, beta=0.5), [(4, 3), (4, 3)]),
    "huber": (lambda lib, x, t: F(lib).huber_loss(x, t, delta=0.5), [(4, 3), (4, 3)]),
    "kl_div": (lambda lib, x, t: F(lib).kl_div(x, t, reduction="batchmean", log_target=True), [(4, 3), (4, 3)]),
    "poisson_nll": (lambda lib, x, t: F(lib).poisson_nll_loss(x, t.abs() * 3, full=True), [(4, 3), (4, 3)]),
    "gaussian_nll": (lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v.abs() + 0.1), [(4, 3), (4, 3), (4, 1)]),
    "multi_margin": (lambda lib, x: F(lib).multi_margin_loss(x, lib.tensor([0, 2, 1, 2], device=x.device), p=2),
                     [(4, 3)]),
    "triplet_margin": (lambda lib, a, p, n: F(lib).triplet_margin_loss(a, p, n, swap=True), [(4, 3)] * 3),
    "cosine_similarity": (lambda lib, a, b: F(lib).cosine_similarity(a, b), [(4, 3), (4, 3)]),
    "pairwise_distance": (lambda lib, a, b: F(lib).pairwise_distance(a, b, 3.0), [(4, 3), (4, 3)]),
    "normalize": (lambda lib, a: F(lib).normalize(a, 1.5), [(4, 3)]),
    "pad_reflect": (lambda lib, x: F(lib).pad(x, (2, -1, 1, 1), mode="reflect"), [(2, 2, 3, 4)]),
    "unfold_fold": (lambda lib, x: F(lib).fold(F(lib).unfold(x, 2, padding=1, stride=2) ** 2, (3, 4), 2, padding=1,
                                               stride=2), [(2, 2, 3, 4)]),
    "embedding": (lambda lib, w: F(lib).embedding(lib.tensor([[0, 2], [2, 1]], device=w.device), w ** 2,
                                                  padding_idx=1), [(3, 2)]),
    "glu": (lambda lib, x: F(lib).glu(x, 0), [(4, 3)]),
    "log_softmax": (lambda lib, x: F(lib).log_softmax(x, 1), [(4, 3)]),
    "softmin": (lambda lib, x: F(lib).softmin(x, 0), [(4, 3)]),
    "prelu": (lambda lib, x, w: F(lib).prelu(x, w), [(4, 3), (3,)]),
}
SECOND_ORDER.update({name: (lambda lib, x, name=name: getattr(F(lib), name)(x), [(4, 3)])
                     for name in ["elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign",
                                  "logsigmoid", "hardswish", "hardsigmoid", "tanhshrink", "softshrink",
                                  "hardshrink", "hardtanh", "leaky_relu", "relu6", "rrelu"]})


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_order_as_torch(device, name):
    fn, shapes = SECOND_ORDER[name]
    arrays = [randn(i, *s) * (3 if name in ("hardswish", "hardsigmoid", "relu6") else 1) for i, s in enumerate(shapes)]
    compare_double_backward(fn, *arrays, device=device)


@pytest.mark.parametrize("transposed", [False, True])
def test_conv_double_backward_fuzz(device, transposed):
    def check(nd, data):
        c = data.draw(conv_transpose_case(nd) if transposed else conv_case(nd))
        op = f"conv_transpose{nd}d" if transposed else f"conv{nd}d"
        arrays = [randn(c["seed"], *c["shape"]), randn(c["seed"] + 1, *c["weight"])]
        compare_double_backward(lambda lib, x, w: getattr(F(lib), op)(x, w, **c["kw"]), *arrays, device=device)
    run_fuzz(device, FEW, check, nd=st.sampled_from([1, 2, 3]), data=st.data())


@pytest.mark.parametrize("kind", ["max", "avg", "adaptive_max", "adaptive_avg"])
def test_pool_double_backward_fuzz(device, kind):
    def check(nd, data):
        if kind.startswith("adaptive"):
            c = data.draw(adaptive_case(nd))
            kw = {}
            op = lambda lib, x: getattr(F(lib), f"{kind}_pool{nd}d")(x, c["out"])      # noqa: E731
        else:
            c = data.draw(pool_case(nd, kind))
            kw = dict(c["kw"], return_indices=False) if kind == "max" else c["kw"]
            if kind == "max" and _window_in_padding(c["shape"][-nd:], kw):
                return              # torch's backward writes out of bounds there
            op = lambda lib, x: getattr(F(lib), f"{kind}_pool{nd}d")(x, **kw)         # noqa: E731
        compare_double_backward(op, randn(c["seed"], *c["shape"]), device=device)
    run_fuzz(device, FEW, check, nd=st.sampled_from([1, 2, 3]), data=st.data())


# -- linear layers, random activations ---------------------------------------------------------
def test_linear_bilinear_fuzz(device):
    def check(lead, fin, fout, weight_1d, bias, broken, seed):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(lead + (fin + (broken == 1),))
        w = rng.standard_normal((fin,) if weight_1d else (fout, fin))
        arrays = [x, w] + ([rng.standard_normal(() if weight_1d else (fout + (broken == 2),))] if bias else [])
        compare(lambda lib, x, w, *b: F(lib).linear(x, w, *b), *arrays, device=device)
        x2 = rng.standard_normal(lead + (2,))
        w3 = rng.standard_normal((fout, fin + (broken == 1), 2))
        arrays = [x, x2, w3] + ([rng.standard_normal(fout + (broken == 2))] if bias else [])
        compare(lambda lib, a, b, w, *bb: F(lib).bilinear(a, b, w, *bb), *arrays, device=device)
    run_fuzz(device, FUZZ, check, lead=st.lists(st.integers(0, 3), max_size=3).map(tuple), fin=st.integers(1, 3),
             fout=st.integers(1, 3), weight_1d=st.booleans(), bias=st.booleans(), broken=st.integers(0, 8),
             seed=seeds)


def test_rrelu_training_slopes(device):
    """rrelu in training: x > 0 kept, x <= 0 times a slope drawn from U(lower, upper) per element (the
    gradient that slope), the mean slope (lower + upper) / 2; in place, the input itself."""
    lib = on_device(flambeau, device)
    lib.manual_seed(0)
    x = lib.randn(100000, dtype=lib.float64, requires_grad=True)
    y = F(lib).rrelu(x, 0.1, 0.3, training=True)
    y.sum().backward()
    xs, ys, gs = to_numpy(x), to_numpy(y), to_numpy(x.grad)
    neg = xs <= 0
    np.testing.assert_array_equal(ys[~neg], xs[~neg])
    np.testing.assert_array_equal(gs[~neg], 1.0)
    slopes = ys[neg] / xs[neg]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.002
    np.testing.assert_allclose(gs[neg], slopes)
    z = x.detach().clone()
    assert F(lib).rrelu(z, 0.1, 0.3, training=True, inplace=True) is z
    compare(lambda lib, x: F(lib).rrelu(x, training=True, inplace=True), np.ones(3), device=device)


def test_gumbel_softmax(device):
    """Soft samples sum to 1 along dim; hard ones are one-hot at the soft argmax with the soft
    gradient; over many draws the argmax follows softmax(logits); the deprecated eps warns."""
    lib = on_device(flambeau, device)
    lib.manual_seed(0)
    logits = lib.tensor([[1.0, 0.0, -1.0]] * 20000, dtype=lib.float64, requires_grad=True)
    soft = F(lib).gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(to_numpy(soft.sum(-1)), 1.0)
    hard = F(lib).gumbel_softmax(logits, tau=0.5, hard=True, dim=1)
    assert set(np.unique(to_numpy(hard)).tolist()) == {0.0, 1.0}
    np.testing.assert_array_equal(to_numpy(hard.sum(1)), 1.0)
    frequencies = to_numpy(hard).mean(0)
    np.testing.assert_allclose(frequencies, np.exp([1, 0, -1]) / np.exp([1, 0, -1]).sum(), atol=0.015)
    (hard * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
    assert logits.grad is not None and np.all(np.isfinite(to_numpy(logits.grad)))
    for library in (torch, lib):
        with pytest.warns(UserWarning, match="eps"):
            F(library).gumbel_softmax(library.zeros(2, 3, dtype=library.float64), eps=1e-5)


ACTIVATION_LAYERS = [
    ("ReLU", {}), ("ReLU", {"inplace": True}), ("ReLU6", {"inplace": True}), ("Hardtanh", {"min_val": -0.5}),
    ("Hardtanh", {"min_val": -2.0, "max_val": 0.5, "inplace": True}), ("ELU", {"alpha": 0.5, "inplace": True}),
    ("CELU", {"alpha": 2.0}), ("SELU", {"inplace": True}), ("GELU", {"approximate": "tanh"}), ("SiLU", {}),
    ("SiLU", {"inplace": True}), ("Mish", {"inplace": True}), ("Hardswish", {"inplace": True}),
    ("Hardsigmoid", {}), ("LeakyReLU", {"negative_slope": 0.2, "inplace": True}), ("RReLU", {"lower": 0.2}),
    ("Threshold", {"threshold": 0.5, "value": -1.0}), ("Threshold", {"threshold": 0.5, "value": -1.0, "inplace": True}),
    ("Softplus", {"beta": 2.0, "threshold": 1.0}), ("Softshrink", {"lambd": 0.3}), ("Hardshrink", {"lambd": 0.3}),
    ("Tanhshrink", {}), ("Softsign", {}), ("LogSigmoid", {}), ("Sigmoid", {}), ("Tanh", {}),
    ("Softmax", {"dim": 1}), ("LogSoftmax", {"dim": 0}), ("Softmin", {"dim": -1}), ("Softmax2d", {}),
    ("GLU", {"dim": 1}), ("PReLU", {"num_parameters": 4, "init": 0.1}), ("Identity", {}),
]


@pytest.mark.parametrize("layer, kw", ACTIVATION_LAYERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(ACTIVATION_LAYERS)])
def test_activation_layers(device, layer, kw):
    """The activation layers (in place ones on a non-leaf), their outputs, gradients and repr."""
    x = _activation_input(0, (2, 4, 3), True)
    compare_module(lambda lib: getattr(lib.nn, layer)(**kw), [x], device=device, train=False)
    assert repr(getattr(flambeau.nn, layer)(**kw)) == repr(getattr(torch.nn, layer)(**kw))
    if kw.get("inplace"):
        compare(lambda lib, x: getattr(lib.nn, layer)(**kw)(x * 1), x, device=device)


# -- dtypes ------------------------------------------------------------------------------------
DTYPE_CASES = {     # name -> fn(lib, dtype): each must give torch's result dtype and values, or its error type
    "conv2d": lambda lib, d: F(lib).conv2d(lib.ones(1, 2, 4, 4, dtype=d), lib.ones(3, 2, 2, 2, dtype=d)),
    "conv2d_mixed": lambda lib, d: F(lib).conv2d(lib.ones(1, 2, 4, 4, dtype=d), lib.ones(3, 2, 2, 2)),
    "conv_transpose2d": lambda lib, d: F(lib).conv_transpose2d(lib.ones(1, 2, 4, 4, dtype=d),
                                                               lib.ones(2, 3, 2, 2, dtype=d)),
    "conv_transpose1d": lambda lib, d: F(lib).conv_transpose1d(lib.ones(1, 2, 4, dtype=d), lib.ones(2, 3, 2, dtype=d)),
    "max_pool2d": lambda lib, d: F(lib).max_pool2d(lib.ones(1, 2, 4, 4, dtype=d), 2),
    "avg_pool1d": lambda lib, d: F(lib).avg_pool1d(lib.arange(8).reshape(1, 2, 4).to(d), 3, 1),
    "avg_pool3d": lambda lib, d: F(lib).avg_pool3d(lib.ones(1, 2, 4, 4, 4, dtype=d), 2),
    "adaptive_max_pool1d": lambda lib, d: F(lib).adaptive_max_pool1d(lib.ones(1, 2, 5, dtype=d), 3),
    "adaptive_max_pool3d": lambda lib, d: F(lib).adaptive_max_pool3d(lib.ones(1, 2, 5, 4, 3, dtype=d), 2),
    "lp_pool2d": lambda lib, d: F(lib).lp_pool2d(lib.ones(1, 2, 4, 4, dtype=d), 2, 2),
    "unfold": lambda lib, d: F(lib).unfold(lib.ones(1, 2, 3, 3, dtype=d), 2),
    "fold": lambda lib, d: F(lib).fold(lib.ones(1, 8, 4, dtype=d), (3, 3), 2),
    "group_norm": lambda lib, d: F(lib).group_norm(lib.ones(2, 4, 2, dtype=d), 2),
    "instance_norm": lambda lib, d: F(lib).instance_norm(lib.ones(2, 4, 2, dtype=d)),
    "rms_norm": lambda lib, d: F(lib).rms_norm(lib.ones(2, 3, dtype=d), (3,)),
    "local_response_norm": lambda lib, d: F(lib).local_response_norm(lib.arange(24).reshape(2, 4, 3).to(d), 3),
    "local_response_norm_4d": lambda lib, d: F(lib).local_response_norm(lib.arange(24).reshape(1, 4, 3, 2).to(d), 2),
    "cross_entropy": lambda lib, d: F(lib).cross_entropy(lib.ones(2, 3, dtype=d), lib.tensor([0, 1])),
    "cross_entropy_probabilities": lambda lib, d: F(lib).cross_entropy(lib.ones(2, 3, dtype=d), lib.ones(2, 3)),
    "nll_loss": lambda lib, d: F(lib).nll_loss(lib.ones(2, 3, dtype=d), lib.tensor([0, 1])),
    "nll_loss_int32_target": lambda lib, d: F(lib).nll_loss(lib.ones(2, 3, dtype=d), lib.tensor([0, 1]).int()),
    "huber_loss": lambda lib, d: F(lib).huber_loss(lib.ones(2, 3, dtype=d), lib.zeros(2, 3)),
    "kl_div": lambda lib, d: F(lib).kl_div(lib.ones(2, 3, dtype=d), lib.ones(2, 3), reduction="sum"),
    "bce_with_logits": lambda lib, d: F(lib).binary_cross_entropy_with_logits(lib.ones(2, 3, dtype=d),
                                                                              lib.ones(2, 3)),
    "glu": lambda lib, d: F(lib).glu(lib.ones(2, 4, dtype=d)),
    "prelu": lambda lib, d: F(lib).prelu(lib.ones(2, 4, dtype=d), lib.ones(1, dtype=d)),
    "hardtanh": lambda lib, d: F(lib).hardtanh(lib.ones(2, 3, dtype=d)),
    "relu6": lambda lib, d: F(lib).relu6(lib.ones(2, 3, dtype=d)),
    "threshold": lambda lib, d: F(lib).threshold(lib.ones(2, 3, dtype=d), 0.5, 2),
    "pad_reflect": lambda lib, d: F(lib).pad(lib.ones(1, 2, 3, dtype=d), (1, 1), mode="reflect"),
    "pad_replicate": lambda lib, d: F(lib).pad(lib.ones(1, 2, 3, dtype=d), (1, 1), mode="replicate"),
    "pad_circular": lambda lib, d: F(lib).pad(lib.ones(1, 2, 3, dtype=d), (1, 1), mode="circular"),
    "cosine_similarity": lambda lib, d: F(lib).cosine_similarity(lib.ones(2, 3, dtype=d), lib.ones(2, 3, dtype=d)),
    "logsigmoid": lambda lib, d: F(lib).logsigmoid(lib.ones(2, 3, dtype=d)),
    "softmax": lambda lib, d: F(lib).softmax(lib.ones(2, 3, dtype=d), 1),
    "log_softmax_to_float64": lambda lib, d: F(lib).log_softmax(lib.ones(2, 3, dtype=d), 1, dtype=lib.float64),
}


@pytest.mark.parametrize("dtype", ["float32", "float16", "int64", "int32", "uint8", "bool", "complex64"])
@pytest.mark.parametrize("name", sorted(DTYPE_CASES))
def test_dtypes_as_torch(device, name, dtype):
    if dtype == "complex64" and name.startswith("conv"):
        pytest.skip("flambeau refuses complex convolutions (NotImplementedError)")
    if dtype == "float16" and name in ("avg_pool3d", "local_response_norm_4d"):
        pytest.skip("torch's CPU avg_pool3d has no float16 kernel (its cuda one has)")
    if name == "nll_loss_int32_target":
        need_oracle(2, 13, "nll_loss's check of an int32 target")
    fn = DTYPE_CASES[name]
    compare(lambda lib, _: fn(lib, getattr(lib, dtype)), np.zeros(1), device=device, grad=False, rtol=4e-3,
            atol=1e-3)


# -- recurrent layers --------------------------------------------------------------------------
def _flat(out):
    """A layer's output (nested tuples of tensors) as a flat tuple."""
    if isinstance(out, (tuple, list)):
        return tuple(t for o in out for t in _flat(o))
    return (out,)


def _same_layer(lib, make, params, device):
    """make() in float64: torch's (first) keeps its random state in params, flambeau's takes it."""
    layer = make().double()
    if lib is torch:
        params.update({k: v.detach().numpy().copy() for k, v in layer.state_dict().items()})
    else:
        layer.load_state_dict({k: lib.tensor(v) for k, v in params.items()})
        layer.to(device)
    return layer


def test_rnn_layers_fuzz(device):
    def check(mode, layers, bidirectional, batch_first, bias, proj, batched, with_h0, seq, batch, seed, sizes):
        input_size, hidden = sizes
        kw = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
        if mode == "RNN":
            kw["nonlinearity"] = "relu" if proj else "tanh"
        elif mode == "LSTM" and proj and hidden > 1:
            kw["proj_size"] = hidden - 1
        rng = np.random.default_rng(seed)
        shape = ((batch, seq) if batch_first else (seq, batch)) if batched else (seq,)
        arrays = [rng.standard_normal(shape + (input_size,))]
        directions = 2 if bidirectional else 1
        h_size = kw.get("proj_size", hidden)
        lead = (layers * directions,) + ((batch,) if batched else ())
        if with_h0:
            arrays.append(rng.standard_normal(lead + (h_size,)))
            if mode == "LSTM":
                arrays.append(rng.standard_normal(lead + (hidden,)))
        params = {}

        def fn(lib, x, *h):
            layer = _same_layer(lib, lambda: getattr(lib.nn, mode)(input_size, hidden, **kw), params, x.device)
            hx = None if not h else (tuple(h) if mode == "LSTM" else h[0])
            return _flat(layer(x, hx))
        compare(fn, *arrays, device=device, rtol=1e-6, atol=1e-8, seed=seed)
    run_fuzz(device, FEW, check, mode=st.sampled_from(["RNN", "LSTM", "GRU"]), layers=st.integers(1, 2),
             bidirectional=st.booleans(), batch_first=st.booleans(), bias=st.booleans(), proj=st.booleans(),
             batched=st.booleans(), with_h0=st.booleans(), seq=st.integers(1, 4), batch=st.integers(1, 3),
             seed=seeds, sizes=st.tuples(st.integers(1, 3), st.integers(1, 3)))


def test_rnn_cells_fuzz(device):
    def check(mode, bias, batched, with_h0, batch, seed, sizes):
        input_size, hidden = sizes
        rng = np.random.default_rng(seed)
        lead = (batch,) if batched else ()
        arrays = [rng.standard_normal(lead + (input_size,))]
        if with_h0:
            arrays += [rng.standard_normal(lead + (hidden,)) for _ in range(2 if mode == "LSTMCell" else 1)]
        params = {}

        def fn(lib, x, *h):
            cell = _same_layer(lib, lambda: getattr(lib.nn, mode)(input_size, hidden, bias=bias), params, x.device)
            hx = None if not h else (tuple(h) if mode == "LSTMCell" else h[0])
            return _flat(cell(x, hx))
        compare(fn, *arrays, device=device, rtol=1e-6, atol=1e-8, seed=seed)
    run_fuzz(device, FEW, check, mode=st.sampled_from(["RNNCell", "LSTMCell", "GRUCell"]), bias=st.booleans(),
             batched=st.booleans(), with_h0=st.booleans(), batch=st.integers(1, 3), seed=seeds,
             sizes=st.tuples(st.integers(1, 3), st.integers(1, 3)))


def test_transformer_layers_fuzz(device):
    def check(kind, heads, per_head, ff, activation, batch_first, norm_first, bias, batched, seq, batch, masks,
              seed):
        d = heads * per_head
        kw = dict(dim_feedforward=ff, dropout=0.0, activation=activation, batch_first=batch_first,
                  norm_first=norm_first, bias=bias)
        rng = np.random.default_rng(seed)
        shape = ((batch, seq) if batch_first else (seq, batch)) if batched else (seq,)
        arrays = [rng.standard_normal(shape + (d,))]
        if kind == "decoder":
            arrays.append(rng.standard_normal(shape + (d,)))
        params = {}

        def fn(lib, x, *memory):
            layer = _same_layer(lib, lambda: getattr(lib.nn, f"Transformer{kind.capitalize()}Layer")(d, heads, **kw),
                                params, x.device)
            layer.train()           # dropout 0: the plain (not fast) path, both sides
            extra = {}
            if masks:
                causal = lib.nn.Transformer.generate_square_subsequent_mask(seq, dtype=lib.float64).to(x.device)
                extra["src_mask" if kind == "encoder" else "tgt_mask"] = causal
                if batched:
                    padding = lib.zeros(batch, seq, dtype=lib.bool).to(x.device)
                    padding[:, -1] = seq > 1
                    extra["src_key_padding_mask" if kind == "encoder" else "memory_key_padding_mask"] = padding
            return layer(x, *memory, **extra)
        compare(fn, *arrays, device=device, rtol=1e-6, atol=1e-8, seed=seed)
    run_fuzz(device, FEW, check, kind=st.sampled_from(["encoder", "decoder"]), heads=st.integers(1, 2),
             per_head=st.integers(1, 3), ff=st.integers(1, 4), activation=st.sampled_from(["relu", "gelu"]),
             batch_first=st.booleans(), norm_first=st.booleans(), bias=st.booleans(), batched=st.booleans(),
             seq=st.integers(1, 3), batch=st.integers(1, 2), masks=st.booleans(), seed=seeds)


def test_extreme_values_as_torch(device):
    """Found with extreme inputs: elu/selu/celu pass the gradient at NaN (x <= 0 is false there);
    binary_cross_entropy_with_logits and soft_margin_loss keep torch's forms, whose infinite logits give
    NaN losses (and beyond exp's range an infinite loss with a NaN gradient)."""
    x = np.array([0.0, 1.0, -1.0, 50.0, -50.0, 710.0, -710.0, 1e30, -1e30, np.inf, -np.inf, np.nan])
    for name in ("elu", "selu", "celu"):
        compare(lambda lib, x: getattr(F(lib), name)(x), x, device=device)
    t = np.linspace(0, 1, x.size)
    compare(lambda lib, x, t: F(lib).binary_cross_entropy_with_logits(x, t, reduction="none"), x, t, device=device)
    compare(lambda lib, x, t, w: F(lib).binary_cross_entropy_with_logits(x, t, reduction="none", pos_weight=w), x, t,
            np.full(x.size, 2.0), device=device, grad=[True, True, False])
    compare(lambda lib, x, y: F(lib).soft_margin_loss(x, y, reduction="none"), x, np.sign(t - 0.5) + (t == 0.5),
            device=device, grad=[True, False])


@pytest.mark.parametrize("kind", ["Zero", "Constant", "Reflection", "Replication", "Circular"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_padding_layers(device, kind, nd):
    """The padding layers take an int, or a sequence of any length as F.pad does (torch checks only the
    circular ones' input ranks); repr as torch's."""
    rng = np.random.default_rng(nd)
    for padding in (1, 2, (1, 0), (0, 1, 2, 1), (1, 1, 0, 2, 1, 0)):
        for ndim in range(1, 6):
            x = rng.standard_normal(tuple(rng.integers(2, 4, ndim)))

            def make(lib):
                cls = getattr(lib.nn, f"{kind}Pad{nd}d")
                return cls(padding, 1.5) if kind == "Constant" else cls(padding)
            compare(lambda lib, x: make(lib)(x), x, device=device)
            assert repr(make(flambeau)) == repr(make(torch))


# -- empty tensors -----------------------------------------------------------------------------
EMPTY_CASES = {     # name -> (fn(lib, *tensors), input shapes)
    "conv2d_batch0": (lambda lib, x, w: F(lib).conv2d(x, w, padding=1), [(0, 2, 4, 4), (3, 2, 3, 3)]),
    "conv2d_no_output_channels": (lambda lib, x, w: F(lib).conv2d(x, w), [(2, 2, 4, 4), (0, 2, 3, 3)]),
    "conv2d_groups_no_output_channels": (lambda lib, x, w: F(lib).conv2d(x, w, groups=2),
                                         [(2, 2, 4, 4), (0, 1, 3, 3)]),
    "conv1d_length0_padded": (lambda lib, x, w: F(lib).conv1d(x, w, padding=1), [(1, 2, 0), (3, 2, 1)]),
    "conv3d_depth0_padded": (lambda lib, x, w: F(lib).conv3d(x, w, padding=1), [(1, 2, 0, 3, 3), (3, 2, 1, 1, 1)]),
    "conv2d_unbatched_height0": (lambda lib, x, w: F(lib).conv2d(x, w, padding=1), [(2, 0, 3), (3, 2, 1, 1)]),
    "conv_transpose2d_height0": (lambda lib, x, w: F(lib).conv_transpose2d(x, w), [(1, 2, 0, 3), (2, 3, 1, 1)]),
    "conv_transpose2d_batch0": (lambda lib, x, w: F(lib).conv_transpose2d(x, w, stride=2), [(0, 2, 4, 4), (2, 3, 3, 3)]),
    "max_pool2d_batch0": (lambda lib, x: F(lib).max_pool2d(x, 2), [(0, 2, 4, 4)]),
    "max_pool2d_channels0": (lambda lib, x: F(lib).max_pool2d(x, 2), [(2, 0, 4, 4)]),
    "max_pool3d_batch0": (lambda lib, x: F(lib).max_pool3d(x, 2), [(0, 2, 4, 4, 4)]),
    "max_pool1d_batch0": (lambda lib, x: F(lib).max_pool1d(x, 2, return_indices=True), [(0, 2, 4)]),
    "avg_pool2d_batch0": (lambda lib, x: F(lib).avg_pool2d(x, 2), [(0, 2, 4, 4)]),
    "adaptive_max_pool2d_batch0": (lambda lib, x: F(lib).adaptive_max_pool2d(x, 2), [(0, 2, 4, 4)]),
    "max_unpool2d_batch0": (lambda lib, x: F(lib).max_unpool2d(*F(lib).max_pool2d(x, 2, return_indices=True), 2),
                            [(0, 2, 4, 4)]),
    "batch_norm_batch0": (lambda lib, x, w, b: F(lib).batch_norm(x, None, None, w, b, training=True),
                          [(0, 3), (3,), (3,)]),
    "group_norm_batch0": (lambda lib, x, w: F(lib).group_norm(x, 3, w), [(0, 3, 2), (3,)]),
    "instance_norm_batch0": (lambda lib, x: F(lib).instance_norm(x), [(0, 3, 2)]),
    "layer_norm_batch0": (lambda lib, x: F(lib).layer_norm(x, (3,)), [(0, 3)]),
    "cross_entropy_batch0": (lambda lib, x: F(lib).cross_entropy(x, lib.zeros(0, dtype=lib.int64)), [(0, 3)]),
    "cross_entropy_probabilities_batch0": (lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="sum"),
                                           [(0, 3), (0, 3)]),
    "kl_div_batchmean_batch0": (lambda lib, x, t: F(lib).kl_div(x, t, reduction="batchmean"), [(0, 2), (0, 2)]),
    "pad_reflect_batch0": (lambda lib, x: F(lib).pad(x, (1, 1), mode="reflect"), [(0, 2, 3)]),
    "pad_replicate_channels0": (lambda lib, x: F(lib).pad(x, (1, 1), mode="replicate"), [(2, 0, 3)]),
    "pad_reflect_unbatched_channels0": (lambda lib, x: F(lib).pad(x, (1, 1, 1, 1), mode="reflect"), [(0, 3, 3)]),
    "pad_circular_channels0": (lambda lib, x: F(lib).pad(x, (1, 1), mode="circular"), [(2, 0, 3)]),
    "unfold_batch0": (lambda lib, x: F(lib).unfold(x, 2), [(0, 2, 3, 3)]),
    "unfold_channels0": (lambda lib, x: F(lib).unfold(x, 2), [(1, 0, 3, 3)]),
    "fold_batch0": (lambda lib, x: F(lib).fold(x, (3, 3), 2), [(0, 8, 4)]),
    "fold_blocks0": (lambda lib, x: F(lib).fold(x, (1, 1), 2), [(1, 8, 0)]),
    "local_response_norm_batch0": (lambda lib, x: F(lib).local_response_norm(x, 2), [(0, 3, 2)]),
}


@pytest.mark.parametrize("name", sorted(EMPTY_CASES))
def test_empty_tensors_as_torch(device, name):
    """Empty batches, channels and spatial dims: torch's empty results and gradients, or its errors.
    (Left out, torch's own slips: pixel_unshuffle returns an empty input unreshaped, adaptive pooling's
    backward refuses an empty output, multi_margin_loss's mean over nothing reads uninitialized memory,
    a convolution with zero input channels gives zero output channels.)"""
    fn, shapes = EMPTY_CASES[name]
    compare(fn, *[randn(i, *s) for i, s in enumerate(shapes)], device=device)


def test_feature_dropout_p1_before_rank_check(device):
    """p = 1 zeroes the input before torch looks at its rank: a 1-D input is fine there."""
    for name in ("feature_alpha_dropout", "dropout2d", "dropout3d"):
        compare(lambda lib, x: getattr(F(lib), name)(x, 1.0, True), randn(0, 7), device=device)
        compare(lambda lib, x: getattr(F(lib), name)(x, 0.5, True) * 0, randn(0, 7), device=device)


def test_linear_1d_weight_with_bias_as_torch(device):
    """A 2-D input with a 1-D weight and a bias goes through torch's addmm, which refuses the weight."""
    for shape in ((0, 1), (2, 1), (1,), (3, 2, 1)):
        compare(lambda lib, x, w, b: F(lib).linear(x, w, b), randn(0, *shape), randn(1, 1), randn(2), device=device)
        compare(lambda lib, x, w: F(lib).linear(x, w), randn(0, *shape), randn(1, 1), device=device)


def test_linear_bias_paths_as_torch(device):
    """torch adds a (squeezed) 1-D contiguous bias to a contiguous input's rows through addmm (a 1-D
    weight refused, the bias expanded to the rows), any other bias in place to the product."""
    for x, w, b in (((1,), (1,), (2,)), ((1,), (2, 1), (1, 2)), ((1,), (2, 1), (2, 2)), ((2, 3, 1), (1, 1), (6, 1)),
                    ((2, 3, 1), (2, 1), (3, 2)), ((2, 3, 1), (2, 1), (4, 2, 3, 2)), ((2, 2, 3, 1), (2, 1), (2, 1, 3, 2))):
        compare(lambda lib, x, w, b: F(lib).linear(x, w, b), randn(0, *x), randn(1, *w), randn(2, *b), device=device)
    compare(lambda lib, x, w, b: F(lib).linear(x.transpose(0, 1), w, b), randn(0, 3, 2, 1), randn(1, 2, 1), randn(2, 2),
            device=device)     # not contiguous: the product's in-place sum


def test_bilinear_bias_as_torch(device):
    """bilinear checks the dtypes first, then the bias's first size only; the bias adds to the output
    with broadcasting."""
    def fn(lib, a, b, w, bias):
        return F(lib).bilinear(a, b, w, bias)
    compare(fn, randn(0, 2), randn(1, 3), randn(2, 2, 2, 3), randn(3, 2, 1), device=device)
    compare(fn, randn(0, 0, 1), randn(1, 0, 2), randn(2, 1, 1, 2), randn(3, 2), device=device)
    compare(fn, randn(0, 4, 2), randn(1, 4, 3), randn(2, 2, 2, 3), randn(3), device=device)
    compare(lambda lib, a, b, w, bias: fn(lib, a, b, w, bias.float()), randn(0, 4, 2), randn(1, 4, 3),
            randn(2, 2, 2, 3), randn(3, 2), device=device)
