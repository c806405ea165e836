"""Gradients of every differentiable op of the tensor core against torch's.

Each op runs through ``check_against_torch`` (float64, random upstream gradient) on
contiguous inputs, and, where it has a matrix operand, also on transposed and on sliced
(strided) inputs; binary ops also with broadcasting. A representative subset is also
checked against finite differences with ``gradcheck``.
"""
import numpy as np
import pytest

import flambeau
from _oracle import assert_same, check_against_torch, gradcheck, need_oracle, need_torch, no_host_reads, on_device

torch = need_torch()


def _pos(rng, s):
    return np.abs(rng.standard_normal(s)) + 0.5


def _unit(rng, s):                       # inside (-1, 1), away from the ends
    return rng.uniform(-0.9, 0.9, s)


def _gt1(rng, s):
    return np.abs(rng.standard_normal(s)) + 1.5


def _distinct(rng, s):                   # no ties, well separated (max/sort/median kinks)
    n = int(np.prod(s))
    return (rng.permutation(n).reshape(s) + rng.uniform(0.1, 0.4, s)) / 3


# name: (fn(lib, *xs), shapes, input maker or None)
UNARY = {
    "neg": (lambda L, x: -x, None), "abs": (lambda L, x: x.abs(), None), "exp": (lambda L, x: x.exp(), None),
    "exp2": (lambda L, x: x.exp2(), None), "expm1": (lambda L, x: x.expm1(), None),
    "log": (lambda L, x: x.log(), _pos), "log2": (lambda L, x: x.log2(), _pos), "log10": (lambda L, x: x.log10(), _pos),
    "log1p": (lambda L, x: x.log1p(), _pos), "sqrt": (lambda L, x: x.sqrt(), _pos), "rsqrt": (lambda L, x: x.rsqrt(), _pos),
    "square": (lambda L, x: x.square(), None), "reciprocal": (lambda L, x: x.reciprocal(), _pos),
    "sin": (lambda L, x: x.sin(), None), "cos": (lambda L, x: x.cos(), None), "tan": (lambda L, x: x.tan(), _unit),
    "asin": (lambda L, x: x.asin(), _unit), "acos": (lambda L, x: x.acos(), _unit), "atan": (lambda L, x: x.atan(), None),
    "sinh": (lambda L, x: x.sinh(), None), "cosh": (lambda L, x: x.cosh(), None), "tanh": (lambda L, x: x.tanh(), None),
    "asinh": (lambda L, x: x.asinh(), None), "acosh": (lambda L, x: x.acosh(), _gt1), "atanh": (lambda L, x: x.atanh(), _unit),
    "sigmoid": (lambda L, x: x.sigmoid(), None), "relu": (lambda L, x: x.relu(), None),
    "erf": (lambda L, x: x.erf(), None), "erfc": (lambda L, x: x.erfc(), None), "erfinv": (lambda L, x: x.erfinv(), _unit),
    "lgamma": (lambda L, x: x.lgamma(), _pos), "digamma": (lambda L, x: x.digamma(), _pos),
    "sinc": (lambda L, x: x.sinc(), None), "logit": (lambda L, x: x.sigmoid().logit(), None),
    "deg2rad": (lambda L, x: x.deg2rad(), None), "rad2deg": (lambda L, x: x.rad2deg(), None),
    "sign": (lambda L, x: x.sign(), None), "floor": (lambda L, x: x.floor(), None), "ceil": (lambda L, x: x.ceil(), None),
    "round": (lambda L, x: x.round(), None), "trunc": (lambda L, x: x.trunc(), None), "frac": (lambda L, x: x.frac(), None),
    "pow_scalar": (lambda L, x: x ** 3, None), "pow_frac": (lambda L, x: x ** 2.5, _pos), "rpow": (lambda L, x: 2.0 ** x, None),
    "pow_neg": (lambda L, x: x ** -1.5, _pos), "mul_scalar": (lambda L, x: x * 3, None), "rsub": (lambda L, x: 2 - x, None),
    "rdiv": (lambda L, x: 2 / x, _pos), "div_scalar": (lambda L, x: x / 4, None), "add_scalar": (lambda L, x: x + 1.5, None),
    "clamp": (lambda L, x: x.clamp(-0.5, 0.5), None), "clamp_min": (lambda L, x: x.clamp(min=0.1), None),
    "clamp_max": (lambda L, x: x.clamp(max=0.1), None), "nan_to_num": (lambda L, x: x.nan_to_num(), None),
    "positive": (lambda L, x: x.positive(), None), "float_power": (lambda L, x: x.float_power(2), None),
    "polygamma": (lambda L, x: L.polygamma(1, x), _pos), "digamma_poly": (lambda L, x: x.polygamma(2), _pos),
    "to_float32": (lambda L, x: x.float() * 1, None), "to_same": (lambda L, x: x.to(L.float64) * 1, None),
    "double_float_double": (lambda L, x: x.float().double(), None), "type_as": (lambda L, x: x.type_as(x.float()), None),
    "clone": (lambda L, x: x.clone(), None), "contiguous": (lambda L, x: x.contiguous() * 1, None),
    "nn_softplus_like": (lambda L, x: (1 + x.exp()).log(), None),
}


def _strided_variants(fn, shape, maker):
    """(label, fn over raw input, raw input shape): contiguous, transposed, sliced."""
    out = [("contig", fn, shape)]
    if len(shape) >= 2:
        tshape = shape[:-2] + (shape[-1], shape[-2])
        out.append(("transposed", lambda L, x: fn(L, x.transpose(-1, -2)), tshape))
        out.append(("sliced", lambda L, x: fn(L, x[..., 1::2]), shape[:-1] + (2 * shape[-1] + 1,)))
    return out


UNARY_CASES = [(n, v) for n in sorted(UNARY) for v in ("contig", "transposed", "sliced")]


@pytest.mark.parametrize("name,variant", UNARY_CASES)
def test_unary(name, variant, device):
    fn, maker = UNARY[name]
    label, f, shape = {v[0]: v for v in _strided_variants(fn, (3, 4), maker)}[variant]
    check_against_torch(f, shape, device=device, make_input=maker, rtol=1e-6, atol=1e-9)


# binary (and ternary) ops with broadcasting: (fn, shapes, maker)
BINARY = {
    "add": (lambda L, a, b: a + b, [(3, 4), (4,)]), "add_alpha": (lambda L, a, b: L.add(a, b, alpha=2.5), [(3, 1), (1, 4)]),
    "sub": (lambda L, a, b: a - b, [(2, 3, 4), (3, 1)]), "sub_alpha": (lambda L, a, b: a.sub(b, alpha=-2), [(3, 4), (3, 4)]),
    "mul": (lambda L, a, b: a * b, [(3, 4), (3, 1)]), "div": (lambda L, a, b: a / (b.abs() + 0.5), [(3, 4), (4,)]),
    "pow": (lambda L, a, b: (a.abs() + 0.5) ** b, [(3, 4), (1, 4)]), "atan2": (lambda L, a, b: L.atan2(a, b), [(3, 4), (4,)]),
    "maximum": (lambda L, a, b: L.maximum(a, b), [(3, 4), (4,)]), "minimum": (lambda L, a, b: L.minimum(a, b), [(3, 4), (3, 4)]),
    "fmax": (lambda L, a, b: L.fmax(a, b), [(3, 4), (3, 4)]), "fmin": (lambda L, a, b: L.fmin(a, b), [(3, 4), (4,)]),
    "hypot": (lambda L, a, b: L.hypot(a, b), [(3, 4), (4,)]), "remainder": (lambda L, a, b: a.remainder(b.abs() + 1), [(3, 4), (4,)]),
    "fmod": (lambda L, a, b: a.fmod(b.abs() + 1), [(3, 4), (4,)]), "lerp_scalar": (lambda L, a, b: a.lerp(b, 0.3), [(3, 4), (4,)]),
    "lerp_tensor": (lambda L, a, b, w: a.lerp(b, w), [(3, 4), (3, 4), (4,)]),
    "where": (lambda L, a, b: L.where(a > 0, a, b), [(3, 4), (4,)]),
    "addcmul": (lambda L, a, b, c: a.addcmul(b, c, value=0.5), [(3, 4), (4,), (3, 1)]),
    "addcdiv": (lambda L, a, b, c: a.addcdiv(b, c.abs() + 0.5, value=2), [(3, 4), (4,), (3, 4)]),
    "clamp_tensor": (lambda L, a, b, c: a.clamp(b - 1, c + 1), [(3, 4), (4,), (3, 4)]),
    "dist": (lambda L, a, b: a.dist(b), [(3, 4), (4,)]), "xlogy_like": (lambda L, a, b: a * (b.abs() + 0.1).log(), [(3, 4), (4,)]),
    "matmul_broadcast": (lambda L, a, b: a @ b, [(2, 3, 4), (4, 5)]), "cross": (lambda L, a, b: L.cross(a, b, dim=1), [(4, 3), (4, 3)]),
}

BINARY_CASES = [(n, v) for n in sorted(BINARY) for v in ("contig", "transposed")]


@pytest.mark.parametrize("name,variant", BINARY_CASES)
def test_binary_broadcast(name, variant, device):
    fn, shapes = BINARY[name]
    if variant == "transposed":           # first operand a transposed (non-contiguous) view
        s0 = shapes[0]
        if len(s0) < 2:
            pytest.skip("1-d operand")
        raw = [s0[:-2] + (s0[-1], s0[-2])] + list(shapes[1:])
        f = lambda L, a, *rest: fn(L, a.transpose(-1, -2), *rest)  # noqa: E731
    else:
        raw, f = shapes, fn
    check_against_torch(f, *raw, device=device, rtol=1e-6, atol=1e-9)


# reductions: dims and keepdim; inputs without ties where the op picks elements
REDUCTIONS = {
    "sum": lambda L, x: x.sum(), "sum_dim": lambda L, x: x.sum(1), "sum_dims_keep": lambda L, x: x.sum((0, 2), keepdim=True),
    "mean": lambda L, x: x.mean(), "mean_dim": lambda L, x: x.mean(-1, keepdim=True), "mean_dims": lambda L, x: x.mean((0, 1)),
    "prod": lambda L, x: x.prod(), "prod_dim": lambda L, x: x.prod(1, keepdim=True),
    "var": lambda L, x: x.var(), "var_dim": lambda L, x: x.var(1), "var_unbiased0": lambda L, x: x.var(2, unbiased=False),
    "var_corr": lambda L, x: x.var((0, 2), correction=0, keepdim=True), "std": lambda L, x: x.std(), "std_dim": lambda L, x: x.std(0),
    "max": lambda L, x: x.max(), "max_dim": lambda L, x: x.max(1)[0], "max_dim_keep": lambda L, x: x.max(2, keepdim=True).values,
    "min": lambda L, x: x.min(), "min_dim": lambda L, x: x.min(0).values, "amax": lambda L, x: x.amax((0, 2)),
    "amin": lambda L, x: x.amin(1, keepdim=True), "norm": lambda L, x: x.norm(), "norm_dim": lambda L, x: x.norm(dim=1),
    "norm_p1": lambda L, x: x.norm(p=1), "logsumexp": lambda L, x: x.logsumexp(1), "logsumexp_keep": lambda L, x: x.logsumexp((0, 2), keepdim=True),
    "softmax": lambda L, x: x.softmax(1), "softmax_last": lambda L, x: x.softmax(-1), "log_softmax": lambda L, x: x.log_softmax(0),
    "cumsum": lambda L, x: x.cumsum(1), "cumsum_last": lambda L, x: x.cumsum(-1), "cumprod": lambda L, x: x.cumprod(2),
    "logcumsumexp": lambda L, x: x.logcumsumexp(1), "cummax": lambda L, x: x.cummax(1)[0], "cummin": lambda L, x: x.cummin(2).values,
    "median": lambda L, x: x.median(), "median_dim": lambda L, x: x.median(1).values, "sort": lambda L, x: x.sort(1)[0],
    "sort_desc": lambda L, x: x.sort(-1, descending=True).values, "topk": lambda L, x: x.topk(2, dim=1).values,
    "kthvalue": lambda L, x: x.kthvalue(2, 1).values, "msort": lambda L, x: x.msort(), "nansum": lambda L, x: x.nansum(1),
    "nanmean": lambda L, x: x.nanmean(), "trace": lambda L, x: x[0].trace(), "diff": lambda L, x: x.diff(dim=1),
    "quantile": lambda L, x: x.quantile(0.3, dim=1), "mode": lambda L, x: x.round().mode(1).values,
}

RED_CASES = [(n, v) for n in sorted(REDUCTIONS) for v in ("contig", "transposed")]


@pytest.mark.parametrize("name,variant", RED_CASES)
def test_reduction(name, variant, device):
    fn = REDUCTIONS[name]
    if name == "trace" and variant == "transposed":
        need_oracle(2, 13, "trace's gradient for a tall matrix")     # older torch filled a fourth 'diagonal' entry
    if variant == "transposed":
        f = lambda L, x: fn(L, x.permute(2, 0, 1))  # noqa: E731
        shape = (5, 3, 4)
    else:
        f, shape = fn, (3, 4, 5)
    check_against_torch(f, shape, device=device, make_input=_distinct, rtol=1e-6, atol=1e-9)


# ties: PyTorch's choice of where the gradient goes
TIES = {
    "max_all": lambda L, x: x.max(), "min_all": lambda L, x: x.min(), "max_dim": lambda L, x: x.max(1)[0],
    "min_dim": lambda L, x: x.min(0)[0], "amax": lambda L, x: x.amax(1), "amin": lambda L, x: x.amin(),
    "median_all": lambda L, x: x.median(), "median_dim": lambda L, x: x.median(1)[0], "sort": lambda L, x: x.sort(1)[0],
    "maximum": lambda L, x: L.maximum(x, x.flip(1)), "clamp_at_edge": lambda L, x: x.clamp(0.0, 1.0),
    "relu_at_zero": lambda L, x: (x - x).relu() + x.relu(), "abs_at_zero": lambda L, x: (x * 0).abs() + x,
    "cummax": lambda L, x: x.cummax(1)[0], "cummin": lambda L, x: x.cummin(0)[0],
}


def _ties(rng, s):
    return rng.integers(0, 2, s).astype(np.float64)


@pytest.mark.parametrize("name", sorted(TIES))
def test_ties_as_pytorch(name):
    check_against_torch(TIES[name], (4, 5), make_input=_ties)


# views and shape ops
VIEWS = {
    "view": lambda L, x: x.view(4, 15), "view_infer": lambda L, x: x.view(-1), "reshape": lambda L, x: x.reshape(6, 10),
    "flatten": lambda L, x: x.flatten(1), "unflatten": lambda L, x: x.unflatten(2, (5, 1)), "t": lambda L, x: x[0].t(),
    "transpose": lambda L, x: x.transpose(0, 2), "T": lambda L, x: x[1].T, "mT": lambda L, x: x.mT, "permute": lambda L, x: x.permute(2, 0, 1),
    "movedim": lambda L, x: x.movedim(0, -1), "expand": lambda L, x: x[:, :1].expand(2, 3, 4, 5), "expand_as": lambda L, x: x[:1].expand_as(x),
    "broadcast_to": lambda L, x: L.broadcast_to(x[:, :, :1], (3, 4, 5)), "squeeze": lambda L, x: x[:, :1].squeeze(),
    "squeeze_dim": lambda L, x: x[:, 1:2].squeeze(1), "unsqueeze": lambda L, x: x.unsqueeze(1), "narrow": lambda L, x: x.narrow(2, 1, 3),
    "select": lambda L, x: x.select(1, 2), "slice": lambda L, x: x[1:, ::2, 1:4], "slice_neg": lambda L, x: x[..., -2:],
    "int_index": lambda L, x: x[1], "none_index": lambda L, x: x[None, :, 0], "diagonal": lambda L, x: x.diagonal(0, 1, 2),
    "diagonal_off": lambda L, x: x.diagonal(1, 0, 2), "unfold": lambda L, x: x.unfold(2, 2, 1), "as_strided": lambda L, x: x.contiguous().as_strided((3, 3), (4, 1), 2),
    "split": lambda L, x: x.split(2, 1), "split_sizes": lambda L, x: x.split([1, 3], 1), "chunk": lambda L, x: x.chunk(2, 2),
    "unbind": lambda L, x: x.unbind(1), "tensor_split": lambda L, x: x.tensor_split(3, 2), "hsplit": lambda L, x: x.hsplit(2),
    "view_as": lambda L, x: x.view_as(x.reshape(5, 12)), "ravel": lambda L, x: x.ravel(), "swapaxes": lambda L, x: x.swapaxes(0, 1),
    "adjoint": lambda L, x: x.adjoint(), "rot90": lambda L, x: x.rot90(1, (1, 2)), "fliplr": lambda L, x: x[0].fliplr(),
    "flip": lambda L, x: x.flip(0, 2), "roll": lambda L, x: x.roll(2, 1), "roll_flat": lambda L, x: x.roll(3),
    "repeat": lambda L, x: x.repeat(2, 1, 1, 2), "tile": lambda L, x: x.tile((2,)), "repeat_interleave": lambda L, x: x.repeat_interleave(2, dim=1),
    "tril": lambda L, x: x.tril(), "triu": lambda L, x: x.triu(1), "diag": lambda L, x: x[0].diag(), "diag_embed": lambda L, x: L.diag_embed(x[0]),
}

VIEW_CASES = [(n, v) for n in sorted(VIEWS) for v in ("contig", "transposed")]


@pytest.mark.parametrize("name,variant", VIEW_CASES)
def test_view_and_shape_ops(name, variant, device):
    fn = VIEWS[name]
    if variant == "transposed" and name in ("view", "view_infer", "view_as", "unflatten", "as_strided"):
        pytest.skip("view() of a non-contiguous tensor is an error in PyTorch too")
    f, shape = (fn, (3, 4, 5)) if variant == "contig" else (lambda L, x: fn(L, x.permute(1, 2, 0)), (5, 3, 4))
    check_against_torch(f, shape, device=device)


# indexing, gather/scatter, masked ops, joining
def _idx(L, vals):
    return L.tensor(vals)


INDEXING = {
    "adv_index": (lambda L, x: x[[0, 2, 0]], [(3, 4)]), "adv_index_2d": (lambda L, x: x[[0, 2, 2], [1, 1, 3]], [(3, 4)]),
    "adv_index_tensor": (lambda L, x: x[:, _idx(L, [[3, 0], [3, 3]])], [(3, 4)]), "bool_mask": (lambda L, x: x[x > 0], [(3, 4)]),
    "mixed_index": (lambda L, x: x[1:, [0, 0, 2]], [(3, 4)]), "index_select": (lambda L, x: x.index_select(1, _idx(L, [3, 0, 3])), [(3, 4)]),
    "gather": (lambda L, x: x.gather(1, _idx(L, [[0, 0, 3], [1, 2, 1], [3, 3, 3]])), [(3, 4)]),
    "take": (lambda L, x: x.take(_idx(L, [0, 5, 5, 11])), [(3, 4)]),
    "take_along_dim": (lambda L, x: L.take_along_dim(x, _idx(L, [[0], [3], [1]]), 1), [(3, 4)]),
    "scatter": (lambda L, x, s: x.scatter(1, _idx(L, [[0, 1], [2, 3], [1, 0]]), s), [(3, 4), (3, 2)]),
    "scatter_add": (lambda L, x, s: x.scatter_add(0, _idx(L, [[0, 1, 2, 0], [0, 0, 1, 2]]), s), [(3, 4), (2, 4)]),
    "scatter_value": (lambda L, x: x.scatter(1, _idx(L, [[0], [2], [3]]), 1.5), [(3, 4)]),
    "index_add": (lambda L, x, s: x.index_add(0, _idx(L, [2, 0, 2]), s, alpha=2), [(3, 4), (3, 4)]),
    "index_copy": (lambda L, x, s: x.index_copy(1, _idx(L, [3, 0]), s), [(3, 4), (3, 2)]),
    "index_fill": (lambda L, x: x.index_fill(1, _idx(L, [1, 2]), -1.0), [(3, 4)]),
    "index_put": (lambda L, x, v: x.index_put((_idx(L, [0, 2]),), v), [(3, 4), (2, 4)]),
    "index_put_acc": (lambda L, x, v: x.index_put((_idx(L, [0, 0]), _idx(L, [1, 1])), v, accumulate=True), [(3, 4), (2,)]),
    "masked_fill": (lambda L, x: x.masked_fill(x > 0.2, 0.5), [(3, 4)]),
    "masked_fill_tensor": (lambda L, x, v: x.masked_fill(x < 0, v.sum()), [(3, 4), (2,)]),
    "masked_select": (lambda L, x: x.masked_select(x > 0), [(3, 4)]),
    "masked_scatter": (lambda L, x, s: x.masked_scatter(x > 0, s), [(3, 4), (12,)]),
    "setitem_out_of_place": (lambda L, x, v: _setitem(x, v), [(3, 4), (4,)]),
    "cat": (lambda L, a, b: L.cat([a, b], 1), [(3, 4), (3, 2)]), "cat_neg": (lambda L, a, b: L.cat([a, b, a], -2), [(3, 4), (1, 4)]),
    "stack": (lambda L, a, b: L.stack([a, b, a], 1), [(3, 4), (3, 4)]), "hstack": (lambda L, a, b: L.hstack([a, b]), [(3, 4), (3, 1)]),
    "vstack": (lambda L, a, b: L.vstack([a, b]), [(3, 4), (4,)]), "dstack": (lambda L, a, b: L.dstack([a, b]), [(3, 4), (3, 4)]),
    "where_scalar": (lambda L, x: L.where(x > 0, x, 0.0), [(3, 4)]), "tril_indices_gather": (lambda L, x: x[L.tril_indices(3, 3, 0).unbind()], [(3, 4)]),
}


def _setitem(x, v):
    y = x * 1
    y[1] = v
    y[:, 0] = y[:, 0] * 3
    return y


@pytest.mark.parametrize("name", sorted(INDEXING))
def test_indexing(name, device):
    fn, shapes = INDEXING[name]
    check_against_torch(fn, *shapes, device=device)


@pytest.mark.parametrize("name", ["adv_index", "gather", "index_select", "masked_fill", "cat", "scatter"])
def test_indexing_non_contiguous(name):
    fn, shapes = INDEXING[name]
    raw = [(s[1], s[0]) for s in shapes]
    check_against_torch(lambda L, *xs: fn(L, *[x.t() for x in xs]), *raw)


# matmul family
MATMUL = {
    "mm": (lambda L, a, b: a.mm(b), [(3, 4), (4, 5)]), "matmul_2d": (lambda L, a, b: a @ b, [(3, 4), (4, 5)]),
    "matmul_mv": (lambda L, a, b: a @ b, [(3, 4), (4,)]), "matmul_vm": (lambda L, a, b: a @ b, [(4,), (4, 5)]),
    "matmul_dot": (lambda L, a, b: a @ b, [(4,), (4,)]), "matmul_batched": (lambda L, a, b: a @ b, [(2, 3, 4), (2, 4, 5)]),
    "matmul_bcast": (lambda L, a, b: a @ b, [(2, 1, 3, 4), (3, 4, 2)]), "matmul_bv": (lambda L, a, b: a @ b, [(2, 3, 4), (4,)]),
    "bmm": (lambda L, a, b: a.bmm(b), [(2, 3, 4), (2, 4, 5)]), "mv": (lambda L, a, b: a.mv(b), [(3, 4), (4,)]),
    "dot": (lambda L, a, b: a.dot(b), [(4,), (4,)]), "vdot": (lambda L, a, b: a.vdot(b), [(4,), (4,)]),
    "inner": (lambda L, a, b: L.inner(a, b), [(3, 4), (2, 4)]), "outer": (lambda L, a, b: L.outer(a, b), [(3,), (4,)]),
    "addmm": (lambda L, c, a, b: L.addmm(c, a, b, beta=0.5, alpha=2), [(5,), (3, 4), (4, 5)]),
    "addmv": (lambda L, c, a, b: L.addmv(c, a, b), [(3,), (3, 4), (4,)]), "addr": (lambda L, c, a, b: L.addr(c, a, b), [(3, 4), (3,), (4,)]),
    "baddbmm": (lambda L, c, a, b: L.baddbmm(c, a, b), [(3, 5), (2, 3, 4), (2, 4, 5)]),
    "addbmm": (lambda L, c, a, b: L.addbmm(c, a, b), [(3, 5), (2, 3, 4), (2, 4, 5)]),
    "einsum": (lambda L, a, b: L.einsum("bij,jk->bik", a, b), [(2, 3, 4), (4, 5)]),
    "einsum_trace": (lambda L, a: L.einsum("ii->", a), [(4, 4)]), "tensordot": (lambda L, a, b: L.tensordot(a, b, dims=2), [(2, 3, 4), (3, 4, 5)]),
    "kron": (lambda L, a, b: L.kron(a, b), [(2, 3), (3, 2)]), "matrix_power": (lambda L, a: a.matrix_power(3), [(3, 3)]),
    "linear": (lambda L, x, w, b: x @ w.t() + b, [(5, 4), (3, 4), (3,)]),
}

MATMUL_CASES = [(n, v) for n in sorted(MATMUL) for v in ("contig", "transposed")]


@pytest.mark.parametrize("name,variant", MATMUL_CASES)
def test_matmul_family(name, variant, device):
    fn, shapes = MATMUL[name]
    if variant == "transposed":            # every >=2-d operand given as a transposed view
        raw = [s[:-2] + (s[-1], s[-2]) if len(s) >= 2 else s for s in shapes]
        f = lambda L, *xs: fn(L, *[x.transpose(-1, -2) if x.ndim >= 2 else x for x in xs])  # noqa: E731
    else:
        raw, f = shapes, fn
    check_against_torch(f, *raw, device=device, rtol=1e-6, atol=1e-9)


def test_casts_between_dtypes(device):
    def fn(L, x):
        a = x.float() * 2                  # float64 -> float32 -> (grad cast back)
        b = a.half().float() if False else a
        return (b.double() + x.to(L.float32).to(L.float64)).sum(1)
    check_against_torch(fn, (3, 4), device=device, rtol=1e-6, atol=1e-6)
    # integer outputs are not differentiable; float32 inputs get float32 gradients
    check_against_torch(lambda L, x: x * x.long() + x.int().float() * 0, (3, 4), device=device,
                        dtype="float32", rtol=1e-5, atol=1e-6)


def test_float32_gradients(device):
    check_against_torch(lambda L, a, b: ((a @ b).tanh() * a.sum(1, keepdim=True)).softmax(1), (3, 4), (4, 4),
                        device=device, dtype="float32", rtol=1e-5, atol=1e-6)


def test_expanded_and_zero_size_inputs(device):
    check_against_torch(lambda L, x: (x.expand(4, 3, 5) * x.exp()).sum(0), (3, 1), device=device)
    check_against_torch(lambda L, x: (x * 2).sum(1), (0, 3), device=device)
    check_against_torch(lambda L, x: x[:, :0].exp(), (3, 4), device=device)


# finite differences for a representative subset (float64, torch's defaults)
GRADCHECK = {
    "mul_bcast": (lambda L, a, b: a * b.exp(), [(3, 4), (4,)], False),
    "div": (lambda L, a, b: a / b, [(3, 4), (3, 1)], True),
    "pow": (lambda L, a, b: a ** b, [(3, 4), (4,)], True),
    "matmul_t": (lambda L, a, b: a.t() @ b, [(4, 3), (4, 2)], False),
    "softmax": (lambda L, x: x.log_softmax(1) * x.softmax(0), [(3, 4)], False),
    "logsumexp": (lambda L, x: x.logsumexp(0), [(3, 4)], False),
    "var_mean": (lambda L, x: x.var(1) + x.mean(0).sum(), [(3, 4)], False),
    "norm": (lambda L, x: x.norm(dim=1), [(3, 4)], False),
    "cumprod": (lambda L, x: x.cumprod(1), [(3, 4)], False),
    "index_gather": (lambda L, x: x[[0, 2, 0]].gather(1, L.tensor([[0, 1], [3, 3], [2, 0]])), [(3, 4)], False),
    "scatter_add": (lambda L, x, s: x.scatter_add(1, L.tensor([[0, 0], [1, 3], [2, 2]]), s), [(3, 4), (3, 2)], False),
    "masked": (lambda L, x: x.masked_fill(L.tensor([[True, False, False, True]] * 3), 0.0).sum(0), [(3, 4)], False),
    "cat_stack": (lambda L, a, b: L.stack([L.cat([a, b]), L.cat([b, a])]), [(2, 3), (2, 3)], False),
    "expand_slice": (lambda L, x: x[:, 1:3].expand(2, 3, 2) * x[0, 0], [(3, 4)], False),
    "sigmoid_tanh": (lambda L, x: x.sigmoid() * x.tanh() + x.sin(), [(3, 4)], False),
    "lerp_where": (lambda L, a, b: L.where(a > 0, a.lerp(b, 0.3), b * 2), [(3, 4), (3, 4)], False),
    "clamp": (lambda L, x: x.clamp(-0.5, 0.5), [(3, 4)], False),
    "sqrt_log": (lambda L, x: x.sqrt() + x.log(), [(3, 4)], True),
    "flip_roll_repeat": (lambda L, x: x.flip(0).roll(1, 1).repeat(2, 1), [(3, 4)], False),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck(name, device):
    fn, shapes, positive = GRADCHECK[name]
    gradcheck(fn, *shapes, positive=positive, device=device)


# ops recorded as one node named as PyTorch's (or composed as PyTorch composes them): the result's
# grad_fn class name is torch's
GRAD_FN_NAMES = [
    "L.stack([x, x])", "L.stack([x, x], -1)", "L.cartesian_prod(x[0], x[1])", "L.addcmul(x, x, x)",
    "L.addcdiv(x, x, x, value=2)", "1 / x", "2 / x", "x.repeat_interleave(2, dim=0)", "x.repeat_interleave(3)",
    "x.rot90()", "x.rot90(2)", "x.rot90(0)", "x.rot90(-1, (1, 0))", "x.diag()", "x.diag(1)", "x[0].diag()",
    "x.tril()", "x.triu(1)", "L.kron(x, x)", "L.baddbmm(x[None], x[None], x[None])", "L.addbmm(x, x[None], x[None])",
    "L.addmv(x[0], x, x[0])", "L.addr(x, x[0], x[1])", "L.addmm(x, x, x)", "x.nan_to_num()",
    "x.sigmoid().logit()", "x.sigmoid().logit(1e-3)", "L.xlogy(x, x)", "L.xlogy(2.0, x)", "L.xlogy(x, 3.0)",
    "L.block_diag(x, x[0])", "L.cdist(x, x)", "L.cdist(x, x, p=1)", "L.cdist(x, x, p=float('inf'))",
    "L.cdist(x[:1].expand(30, 2), x)", "L.cdist(x, x, compute_mode='use_mm_for_euclid_dist')",
    "x.log1p()", "x.deg2rad()", "x.rad2deg()", "x.exp2()", "x.expm1()", "x.log10()", "x.log2()",
    "L.trapezoid(x)", "L.trapezoid(x, x[0])", "L.trapz(x, dx=2)", "L.cumulative_trapezoid(x)",
    "L.cumulative_trapezoid(x, x)", "x.renorm(2, 0, 1)", "L.renorm(x, 1, 1, 0.5)", "L.mvlgamma(x + 1, 3)",
]


@pytest.mark.parametrize("code", GRAD_FN_NAMES)
def test_grad_fn_name_matches_torch(code, device):
    names = []
    for L in (torch, on_device(flambeau, device)):
        x = L.tensor([[0.25, 0.5], [0.75, 2.0]], requires_grad=True)
        names.append(type(eval(code, {"L": L, "x": x}).grad_fn).__name__)
    assert names[1] == names[0], f"{code}: flambeau {names[1]}, torch {names[0]}"


# values and gradients of the ops above, on awkward inputs
def _with_nonfinite(rng, s):
    a = rng.standard_normal(s)
    a.flat[::5] = [np.nan, np.inf, -np.inf][: len(a.flat[::5])] if a.size >= 15 else a.flat[::5]
    return a


FUSED = {
    "stack_neg_dim": (lambda L, a, b: L.stack([a, b], -2), [(3, 4), (3, 4)], None),
    "cartesian_prod": (lambda L, a, b: L.cartesian_prod(a, b), [(3,), (4,)], None),
    "rdiv_int_scalar": (lambda L, x: 3 / x, [(3, 4)], _pos),
    "rot90_k3": (lambda L, x: x.rot90(3, (2, 0)), [(2, 3, 4)], None),
    "rot90_neg": (lambda L, x: x.rot90(-2, (1, 2)), [(2, 3, 4)], None),
    "diag_offset": (lambda L, x: x.diag(-1), [(3, 4)], None),
    "diag_vector": (lambda L, x: x.diag(2), [(3,)], None),
    "tril_neg": (lambda L, x: x.tril(-1), [(2, 3, 4)], None),
    "kron_3d": (lambda L, a, b: L.kron(a, b), [(2, 1, 3), (3, 2)], None),
    "addmv_beta0": (lambda L, c, a, b: L.addmv(c, a, b, beta=0, alpha=-2), [(3,), (3, 4), (4,)], None),
    "addr_scaled": (lambda L, c, a, b: L.addr(c, a, b, beta=0.5, alpha=3), [(4,), (3,), (4,)], None),
    "baddbmm_scaled": (lambda L, c, a, b: L.baddbmm(c, a, b, beta=2, alpha=0.5), [(1, 5), (2, 3, 4), (2, 4, 5)], None),
    "addbmm_scaled": (lambda L, c, a, b: L.addbmm(c, a, b, beta=0, alpha=2), [(3, 5), (2, 3, 4), (2, 4, 5)], None),
    "nan_to_num": (lambda L, x: x.nan_to_num(1.5, 2.0, -3.0), [(3, 5)], _with_nonfinite),
    "nan_to_num_default": (lambda L, x: x.nan_to_num(), [(3, 5)], _with_nonfinite),
    "logit_eps": (lambda L, x: x.logit(0.2), [(3, 4)], lambda r, s: r.uniform(0.05, 0.95, s)),
    "logit_outside": (lambda L, x: x.logit(), [(3, 4)], lambda r, s: r.uniform(-0.5, 1.5, s)),
    "xlogy": (lambda L, a, b: L.xlogy(a.relu(), b.abs() + 0.1), [(3, 4), (4,)], None),
    "xlogy_scalar_self": (lambda L, b: L.xlogy(2.5, b.abs() + 0.1), [(3, 4)], None),
    "xlogy_scalar_other": (lambda L, a: L.xlogy(a.relu(), 0.5), [(3, 4)], None),
    "block_diag": (lambda L, a, b, c: L.block_diag(a, b, c[0, 0], c), [(2, 3), (4,), (3, 1)], None),
    "cdist_p": (lambda L, a, b: L.cdist(a, b, p=1.5), [(2, 3, 4), (5, 4)], None),
    "cdist_p_small": (lambda L, a, b: L.cdist(a, b, p=0.7), [(3, 4), (5, 4)], None),
    "cdist_inf": (lambda L, a, b: L.cdist(a, b, p=float("inf")), [(3, 4), (5, 4)], None),
    "cdist_mm": (lambda L, a, b: L.cdist(a, b), [(2, 30, 4), (5, 4)], None),
    "trapezoid_x": (lambda L, y, x: L.trapezoid(y, x.cumsum(0), dim=1), [(3, 4, 2), (4,)], None),
    "trapezoid_x_nd": (lambda L, y, x: L.trapezoid(y, x, dim=0), [(3, 4), (3, 4)], None),
    "trapz_dx": (lambda L, y: L.trapz(y, dx=0.25, dim=0), [(3, 4)], None),
    "cumulative_trapezoid": (lambda L, y: L.cumulative_trapezoid(y, dx=2), [(3, 4)], None),
    "cumulative_trapezoid_x": (lambda L, y, x: L.cumulative_trapezoid(y, x, dim=0), [(4, 3), (4,)], None),
    "renorm_2": (lambda L, x: x.renorm(2, 1, 1.0), [(3, 4, 2)], None),
    "renorm_1": (lambda L, x: x.renorm(1, 0, 2.0), [(3, 4)], None),
    "renorm_inf": (lambda L, x: x.renorm(float("inf"), 0, 0.5), [(3, 4)], _distinct),
    "renorm_3": (lambda L, x: L.renorm(x, 3, -1, 0.8), [(4, 3)], None),
    "renorm_half": (lambda L, x: x.renorm(0.5, 0, 3.0), [(3, 4)], None),
    "mvlgamma": (lambda L, x: x.mvlgamma(4), [(3, 4)], lambda r, s: r.uniform(1.6, 4.0, s)),
}


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_ops_against_torch(name, device):
    fn, shapes, maker = FUSED[name]
    check_against_torch(fn, *shapes, device=device, make_input=maker, rtol=1e-6, atol=1e-9)


# their backwards are flambeau ops: second derivatives agree with torch's
DOUBLE_BACKWARD = {
    "stack": (lambda L, a, b: L.stack([a * b, b], 1), [(3, 4), (3, 4)]),
    "addcmul": (lambda L, a, b, c: L.addcmul(a, b, c, value=0.5), [(3, 4), (4,), (3, 1)]),
    "addcdiv": (lambda L, a, b, c: L.addcdiv(a, b, c.abs() + 0.5, value=2), [(3, 4), (4,), (3, 4)]),
    "rdiv": (lambda L, x: 2 / (x.abs() + 0.5), [(3, 4)]),
    "rot90": (lambda L, x: x.rot90(1) * x.rot90(1), [(3, 4)]),
    "diag": (lambda L, x: x.diag(1) * x.diag(1), [(3, 4)]),
    "tril_triu": (lambda L, x: x.tril() * x.triu(), [(4, 4)]),
    "kron": (lambda L, a, b: L.kron(a, b * b), [(2, 3), (3, 2)]),
    "addmv": (lambda L, c, a, b: L.addmv(c, a, b * b, alpha=2), [(3,), (3, 4), (4,)]),
    "addr": (lambda L, c, a, b: L.addr(c * c, a, b, beta=0.5), [(3, 4), (3,), (4,)]),
    "baddbmm": (lambda L, c, a, b: L.baddbmm(c, a * a, b, alpha=0.5), [(3, 5), (2, 3, 4), (2, 4, 5)]),
    "addbmm": (lambda L, c, a, b: L.addbmm(c, a, b * b), [(3, 5), (2, 3, 4), (2, 4, 5)]),
    "nan_to_num": (lambda L, x: (x * x).nan_to_num(), [(3, 4)]),
    "logit": (lambda L, x: x.sigmoid().logit(0.3), [(3, 4)]),
    "xlogy": (lambda L, a, b: L.xlogy(a, b.abs() + 0.5), [(3, 4), (3, 4)]),
    "block_diag": (lambda L, a, b: L.block_diag(a * a, b), [(2, 3), (3,)]),
    "cdist_mm": (lambda L, a, b: L.cdist(a, b), [(30, 4), (5, 4)]),
    "trapezoid": (lambda L, y, x: L.trapezoid(y * y, x * x), [(3, 4), (4,)]),
    "renorm": (lambda L, x: x.renorm(2, 0, 1.0), [(3, 4)]),
    "renorm_p": (lambda L, x: x.renorm(1.5, 1, 0.5), [(3, 4)]),
    "mvlgamma": (lambda L, x: L.mvlgamma(x.abs() + 2, 2), [(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(DOUBLE_BACKWARD))
def test_double_backward_against_torch(name, device):
    fn, shapes = DOUBLE_BACKWARD[name]
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in shapes]
    results = []
    for L in (torch, on_device(flambeau, device)):
        xs = [L.tensor(a, requires_grad=True) for a in arrays]
        y = fn(L, *xs)
        cot = L.tensor(np.random.default_rng(2).standard_normal(tuple(y.shape)))
        grads = L.autograd.grad(y, xs, cot, create_graph=True)
        weights = [L.tensor(np.random.default_rng(3 + i).standard_normal(tuple(g.shape))) for i, g in enumerate(grads)]
        total = sum((g * w).sum() for g, w in zip(grads, weights))
        results.append((grads, L.autograd.grad(total, xs, allow_unused=True)))
    (g_ref, gg_ref), (g, gg) = results
    assert_same(list(g), list(g_ref), rtol=1e-6, atol=1e-9, device=device)
    for ours, ref in zip(gg, gg_ref):
        if ref is None:
            assert ours is None or not np.any(ours.cpu().numpy())
        else:
            assert_same(ours, ref, rtol=1e-6, atol=1e-9, device=device)


# finite differences of the gradients (torch has no double backward for cdist below 26 rows)
GRADGRADCHECK = dict({k: DOUBLE_BACKWARD[k] for k in ("addcdiv", "rot90", "kron", "baddbmm", "renorm", "xlogy",
                                                       "block_diag", "cdist_mm", "trapezoid")},
                     cdist=(lambda L, a, b: L.cdist(a, b, p=3), [(3, 4), (5, 4)]),
                     cdist_2=(lambda L, a, b: L.cdist(a, b), [(3, 4), (5, 4)]),
                     cdist_1=(lambda L, a, b: L.cdist(a, b, p=1) * L.cdist(a, b, p=1.5), [(3, 4), (5, 4)]))


@pytest.mark.parametrize("name", sorted(GRADGRADCHECK))
def test_gradgradcheck(name):
    fn, shapes = GRADGRADCHECK[name]
    rng = np.random.default_rng(0)
    xs = tuple(flambeau.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes)
    assert flambeau.autograd.gradgradcheck(lambda *t: fn(flambeau, *t), xs)


# -- complex inputs: PyTorch's rule grad_in = grad_out * conj(f'(z)) for holomorphic f -----------
CX = [0.5 + 0.3j, 1.2 - 0.4j, -0.7 + 0.2j]
CY = [0.8 - 0.6j, -0.3 + 0.9j, 1.1 + 0.5j]
CR = [0.4, 1.3, 0.7]
COMPLEX_UNARY = ["neg", "abs", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "square",
                 "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
                 "sigmoid", "reciprocal", "sgn", "angle", "positive", "sinc", "logit", "conj_physical"]
COMPLEX_BINARY = {
    "add": lambda L, x, y, r: x + y, "sub": lambda L, x, y, r: x - y, "mul": lambda L, x, y, r: x * y,
    "div": lambda L, x, y, r: x / y, "pow": lambda L, x, y, r: x ** y, "pow_self": lambda L, x, y, r: x ** x,
    "pow_2": lambda L, x, y, r: x ** 2, "pow_half": lambda L, x, y, r: x ** 0.5,
    "pow_complex_scalar": lambda L, x, y, r: x ** (1.5 + 0.5j), "rpow": lambda L, x, y, r: 2 ** x,
    "rpow_negative": lambda L, x, y, r: (-2) ** x, "rpow_complex": lambda L, x, y, r: (1 + 1j) ** x,
    "reciprocal_of_product": lambda L, x, y, r: 1 / (x * 2), "div_complex_scalar": lambda L, x, y, r: x / (2 + 1j),
    "mul_complex_scalar": lambda L, x, y, r: x * (2 + 1j), "rsub": lambda L, x, y, r: 3j - x,
    "add_alpha": lambda L, x, y, r: x.add(y, alpha=2 + 1j), "sub_alpha": lambda L, x, y, r: x.sub(y, alpha=2 + 1j),
    "lerp": lambda L, x, y, r: x.lerp(y, 0.3), "lerp_complex_weight": lambda L, x, y, r: x.lerp(y, 0.3 + 0.2j),
    "lerp_tensor": lambda L, x, y, r: x.lerp(y, y * 0.5),
    "addcmul": lambda L, x, y, r: x.addcmul(y, x, value=1 + 2j), "addcdiv": lambda L, x, y, r: x.addcdiv(y, x * 2, value=1 + 2j),
    "where": lambda L, x, y, r: L.where(x.real > 0, x, y), "float_power": lambda L, x, y, r: x.float_power(2),
    "float_power_tensor": lambda L, x, y, r: x.float_power(y),
    "complex_pow_real": lambda L, x, y, r: x ** r, "real_pow_complex": lambda L, x, y, r: r ** x,
    "complex_div_real": lambda L, x, y, r: x / r, "real_div_complex": lambda L, x, y, r: r / x,
    "complex_mul_real": lambda L, x, y, r: x * r,
    "prod": lambda L, x, y, r: x.prod(), "prod_dim": lambda L, x, y, r: x.reshape(1, 3).prod(1),
    "prod_with_zero": lambda L, x, y, r: (x * L.tensor([1.0, 0.0, 1.0], dtype=L.complex128)).prod(),
    "cumprod": lambda L, x, y, r: x.cumprod(0),
    "cumprod_with_zero": lambda L, x, y, r: (x * L.tensor([1.0, 0.0, 1.0], dtype=L.complex128)).cumprod(0),
    "logsumexp": lambda L, x, y, r: x.logsumexp(0), "real": lambda L, x, y, r: x.real * y,
    "imag": lambda L, x, y, r: x.imag * y, "logaddexp": lambda L, x, y, r: L.logaddexp(x, y),
}


def _complex_grads(L, fn):
    x = L.tensor(CX, dtype=L.complex128, requires_grad=True)
    y = L.tensor(CY, dtype=L.complex128, requires_grad=True)
    r = L.tensor(CR, dtype=L.float64, requires_grad=True)
    out = fn(L, x, y, r)
    grads = L.autograd.grad(out.abs().sum(), [x, y, r], allow_unused=True)
    return (out,) + tuple(L.zeros(1) if g is None else g for g in grads)


@pytest.mark.parametrize("name", COMPLEX_UNARY + sorted(COMPLEX_BINARY))
def test_complex_backward_conjugates_the_derivative(name, device):
    fn = COMPLEX_BINARY.get(name) or (lambda L, x, y, r: getattr(L, name)(x))
    try:
        ref = _complex_grads(torch, fn)
    except (RuntimeError, NotImplementedError) as e:     # no complex kernel in torch: the same error
        with pytest.raises(type(e)):
            _complex_grads(on_device(flambeau, device), fn)
        return
    ours = _complex_grads(on_device(flambeau, device), fn)
    assert_same(ours, ref, rtol=1e-9, atol=1e-12, device=device)


@pytest.mark.parametrize("zeros", [[], [(0, 0)], [(1, 2)], [(0, 1), (0, 3)], [(2, 0), (2, 4), (1, 4)]])
def test_cumprod_gradient_with_zeros_reads_nothing(zeros, device):
    # no zero, a first zero at the start, inside, two zeros in one row, zeros at both ends
    def fn(lib, x):
        mask = np.ones((3, 5))
        for i, j in zeros:
            mask[i, j] = 0.0
        return (x * lib.tensor(mask, dtype=x.dtype)).cumprod(1)
    check_against_torch(fn, (3, 5), device=device)
    x = flambeau.tensor(np.arange(1.0, 16.0).reshape(3, 5), device=device, requires_grad=True)
    y = (x * flambeau.tensor([1.0, 0.0, 1.0, 0.0, 1.0], device=device)).cumprod(1).sum()
    with no_host_reads(device):
        y.backward()


def test_cumprod_with_zeros_differentiates_twice():
    x = flambeau.tensor([[1.5, 0.0, 2.0, -1.0], [0.5, 2.0, 0.0, 0.0]], dtype=flambeau.float64, requires_grad=True)
    assert flambeau.autograd.gradgradcheck(lambda x: x.cumprod(1), (x,))


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_prod_gradient_with_and_without_zeros_reads_nothing(dim, device):
    for mask in (np.ones((3, 4)), np.array([[1.0, 0, 1, 1], [1, 1, 1, 1], [0, 1, 0, 1]])):
        def fn(lib, x):
            y = x * lib.tensor(mask, dtype=x.dtype)
            return y.prod() if dim is None else y.prod(dim)
        check_against_torch(fn, (3, 4), device=device)
        x = flambeau.tensor(np.arange(1.0, 13.0).reshape(3, 4) * mask, device=device, requires_grad=True)
        y = x.prod() if dim is None else x.prod(dim).sum()
        with no_host_reads(device):
            y.backward()
