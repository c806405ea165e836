"""Elementwise results are laid out as PyTorch lays them out: as their operands (transposed,
channels-last, sliced, broadcast), on the CPU and on cuda (where CuPy allocates row-major)."""
import random

import numpy as np
import pytest
import torch

import flambeau
from _oracle import assert_same
from flambeau._ops._util import elementwise_strides


def _strided(lib, values, order, step, device):
    """values (a NumPy array) as a lib tensor whose memory holds its dims in order (outermost first),
    each dim taken every step[d] elements of a larger tensor."""
    grown = np.zeros([n * k for n, k in zip((values.shape[d] for d in order), (step[d] for d in order))])
    kw = {} if lib is torch else {"device": device}
    t = lib.tensor(grown, **kw)[tuple(slice(None, None, step[d]) for d in order)]
    t = t.permute(*np.argsort(order).tolist())
    t.copy_(lib.tensor(values, **kw))
    return t


def _layouts(seed, count):
    rng = random.Random(seed)
    for _ in range(count):
        nd = rng.randint(2, 4)
        shape = tuple(rng.choice([1, 2, 3]) for _ in range(nd))
        yield shape, rng.sample(range(nd), nd), [rng.choice([1, 1, 2]) for _ in range(nd)], rng


OPS = {
    "exp": lambda lib, a, b: a.exp(),
    "neg": lambda lib, a, b: -a,
    "add": lambda lib, a, b: a + b,
    "mul scalar": lambda lib, a, b: a * 2,
    "rsub scalar": lambda lib, a, b: 1 - a,
    "div": lambda lib, a, b: a / b,
    "lt": lambda lib, a, b: a < b,
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "atan2": lambda lib, a, b: lib.atan2(a, b),
    "pow": lambda lib, a, b: a.abs() ** b,
    "remainder": lambda lib, a, b: lib.remainder(a, b),
    "logical_and": lambda lib, a, b: lib.logical_and(a, b),
    "isnan": lambda lib, a, b: a.isnan(),
    "clamp": lambda lib, a, b: a.clamp(-0.3, 0.4),
    "clamp tensor": lambda lib, a, b: a.clamp(min=b),
    "where": lambda lib, a, b: lib.where(a > 0, a, b),
    "lerp": lambda lib, a, b: lib.lerp(a, b, 0.25),
    "addcmul": lambda lib, a, b: lib.addcmul(a, a, b, value=2),
    "xlogy": lambda lib, a, b: lib.xlogy(a, b),
    "gelu": lambda lib, a, b: lib.nn.functional.gelu(a),
    "leaky_relu": lambda lib, a, b: lib.nn.functional.leaky_relu(a, 0.1),
    "hardtanh": lambda lib, a, b: lib.nn.functional.hardtanh(a),
}


@pytest.mark.parametrize("op", sorted(OPS))
def test_results_keep_torchs_layout(op, device):
    for shape, order, step, rng in _layouts(sum(map(ord, op)), 40):
        x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) / 7 - 1
        other_shape = shape[rng.randint(0, len(shape) - 1):] if rng.random() < 0.4 else shape
        y = np.full(other_shape, 0.5) + np.arange(np.prod(other_shape)).reshape(other_shape) / 11
        other_order = rng.sample(range(len(other_shape)), len(other_shape))
        other_step = [rng.choice([1, 2]) for _ in other_shape]
        results = []
        for lib in (flambeau, torch):
            a = _strided(lib, x, order, step, device)
            b = _strided(lib, y, other_order, other_step, device)
            results.append(OPS[op](lib, a, b))
        ours, ref = results
        assert ours.stride() == ref.stride(), (op, shape, order, step, other_shape, ours.stride(), ref.stride())
        assert_same(ours, ref, device=device)


def test_strides_of_torchs_rule_on_examples():
    # the operands' own dense layout; channels-last kept; the first operand deciding a conflict;
    # a broadcast operand not telling; equal strides putting the smaller dim inside
    t = np.zeros((3, 4)).T
    assert elementwise_strides((4, 3), [t]) == (1, 4)
    cl = np.zeros((2, 5, 5, 3)).transpose(0, 3, 1, 2)
    assert elementwise_strides((2, 3, 5, 5), [cl, cl]) == (75, 1, 15, 3)
    assert elementwise_strides((4, 3), [t, np.zeros((4, 3))]) == (1, 4)
    assert elementwise_strides((4, 3), [np.zeros((4, 3)), t]) == (3, 1)
    assert elementwise_strides((4, 3), [np.zeros(3), t]) == (1, 4)
    square = np.lib.stride_tricks.as_strided(np.zeros(9), (3, 3), (8, 8))
    assert elementwise_strides((3, 3), [square], scalar=True) == (3, 1)


def test_cat_keeps_a_format_all_inputs_share(device):
    for lib in (flambeau, torch):
        kw = {"device": device} if lib is flambeau else {}
        a = lib.ones(2, 3, 4, 5, **kw).to(memory_format=lib.channels_last)
        b = lib.ones(2, 3, 4, 5, **kw)
        assert lib.cat([a, a], 1).stride() == (120, 1, 30, 6)
        assert lib.cat([a, b], 1).stride() == (120, 20, 5, 1)


REDUCTIONS = {
    "sum": lambda t: t.sum(1), "sum keepdim": lambda t: t.sum(1, keepdim=True),
    "sum of two dims": lambda t: t.sum((0, 2)),
    "mean": lambda t: t.mean(1), "prod": lambda t: t.prod(1), "amax": lambda t: t.amax(1),
    "max": lambda t: t.max(1), "argmin": lambda t: t.argmin(1), "std": lambda t: t.std(1),
    "var": lambda t: t.var(1), "norm": lambda t: t.norm(dim=1),
    "logsumexp": lambda t: t.logsumexp(1), "any": lambda t: (t > 0).any(1),
    "count_nonzero": lambda t: t.count_nonzero(1),
    "cumsum": lambda t: t.cumsum(1), "cumprod": lambda t: t.cumprod(1), "cummax": lambda t: t.cummax(1),
    "logcumsumexp": lambda t: t.logcumsumexp(1), "softmax": lambda t: t.softmax(1),
    "log_softmax": lambda t: t.log_softmax(2),
    "flip": lambda t: t.flip(1), "sort": lambda t: t.sort(1), "topk": lambda t: t.topk(2, 1),
    "masked_fill": lambda t: t.masked_fill(t > 0, 0.5), "tril": lambda t: t.tril(), "roll": lambda t: t.roll(1, 1),
    "index_select": lambda t: t.index_select(1, t.new_zeros(2).long()),
    "cat": lambda t: _lib(t).cat([t, t], 1), "stack": lambda t: _lib(t).stack([t, t], 1),
    "layer_norm": lambda t: _lib(t).nn.functional.layer_norm(t, (3,)), "logit": lambda t: t.sigmoid().logit(),
}


def _lib(t):
    return torch if isinstance(t, torch.Tensor) else flambeau


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
@pytest.mark.parametrize("grad", [False, True])
def test_reductions_scans_and_others_are_laid_out_as_torchs(op, grad, device):
    # row-major whatever the input's layout (NumPy's and CuPy's differ from it and from each other),
    # but for flip and sort, which keep the input's, and logit, an elementwise op
    values = np.arange(24.0).reshape(2, 3, 4) / 5 - 2
    results = []
    for lib in (flambeau, torch):
        t = (lib.tensor(values, device=device) if lib is flambeau else torch.tensor(values)).requires_grad_(grad)
        results.append(REDUCTIONS[op](t.permute(2, 0, 1)))
    for ours, ref in zip(*(r if isinstance(r, tuple) else (r,) for r in results)):
        assert ours.stride() == ref.stride(), (op, ours.stride(), ref.stride())
        assert_same(ours.detach(), ref.detach(), device=device)
