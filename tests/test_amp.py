"""Automatic mixed precision (torch.amp): autocast's casting policy, its state, GradScaler.

PyTorch 2.13's CPU autocast with dtype=float16 is the oracle on the CPU. On cuda, where no GPU
torch is here, each op's expected category is written down from PyTorch's CUDA list (the torch.amp
docs' "CUDA Ops that can autocast to float16 / float32 / promote"), and the reference is torch on
the CPU run without autocast on the inputs that category casts.
"""
import pickle
import threading
import warnings

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, expected_reads, host_reads, need_oracle, need_torch, on_device, to_numpy

torch = need_torch()

F16, F32 = flambeau.float16, flambeau.float32


def _autocast(lib, device):
    return lib.autocast(device, dtype=lib.float16)


# -- op categories -------------------------------------------------------------------------------
# Input specs: dtype letters and shape; "+" positive values, "u" inside (-0.9, 0.9), "p" inside
# (0.05, 0.95), "d" square matrices far from singular.
def _array(spec, rng):
    kind, _, shape = spec.partition(":")
    shape = tuple(int(s) for s in shape.split(",")) if shape else ()
    if kind.startswith("i"):
        return rng.integers(0, 3, shape)
    a = rng.standard_normal(shape)
    if kind.endswith("+"):
        a = np.abs(a) + 0.5
    elif kind.endswith("u"):
        a = np.tanh(a) * 0.9
    elif kind.endswith("p"):
        a = rng.uniform(0.05, 0.95, shape)
    elif kind.endswith("d"):
        a = a * 0.3 + 4 * np.eye(shape[-1])
    return a


_DTYPES = {"f16": "float16", "f32": "float32", "f64": "float64", "i64": "int64"}


def _make(lib, spec, array, device):
    name = _DTYPES[spec.partition(":")[0].rstrip("+upd")]
    kw = {} if lib is torch else {"device": device}
    return lib.tensor(array, dtype=getattr(lib, name), **kw)


def _as_category(t, category, widest):
    """What autocast's category does to one input of an op (float16 autocast)."""
    if not t.is_floating_point() or t.dtype == torch.float64 or category in ("keep", "banned"):
        return t
    return t.to({"lower": torch.float16, "fp32": torch.float32, "promote": widest}[category])


# (name, fn(lib, *inputs), input specs, CPU category, cuda category[, tolerance]); a category of None:
# not compared there (torch on the CPU has no float16 kernel to give the reference, or see the comment).
# Categories: lower (float16), fp32, promote (widest input), keep (not cast), banned (refused).
# The reference casts the inputs of fn; where fn computes something before the listed op (a
# composite: pairwise_distance subtracts in float16 first) the tolerance is float16's.
_HALF_TOL = (2e-3, 1e-3)
CASES = [
    # PyTorch's "lower precision" lists
    ("mm", lambda L, a, b: L.mm(a, b), ["f32:4,5", "f32:5,3"], "lower", "lower"),
    ("matmul operator", lambda L, a, b: a @ b, ["f32:2,4,5", "f32:5,3"], "lower", "lower"),
    ("Tensor.matmul", lambda L, a, b: a.matmul(b), ["f32:4,5", "f32:5"], "lower", "lower"),
    ("bmm", lambda L, a, b: L.bmm(a, b), ["f32:2,3,4", "f32:2,4,5"], "lower", "lower"),
    ("baddbmm", lambda L, c, a, b: L.baddbmm(c, a, b), ["f32:2,3,5", "f32:2,3,4", "f32:2,4,5"], "lower", "lower"),
    ("addbmm", lambda L, c, a, b: L.addbmm(c, a, b), ["f32:3,5", "f32:2,3,4", "f32:2,4,5"], "lower", "lower"),
    ("addmm", lambda L, c, a, b: c.addmm(a, b), ["f32:3,5", "f32:3,4", "f32:4,5"], "lower", "lower"),
    ("linear", lambda L, x, w, b: L.nn.functional.linear(x, w, b), ["f32:3,4", "f32:5,4", "f32:5"], "lower", "lower"),
    ("conv1d", lambda L, x, w: L.nn.functional.conv1d(x, w), ["f32:2,3,7", "f32:4,3,3"], "lower", "lower"),
    ("conv2d", lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, padding=1), ["f32:1,2,5,5", "f32:3,2,3,3", "f32:3"],
     "lower", "lower"),
    ("conv_transpose2d", lambda L, x, w: L.nn.functional.conv_transpose2d(x, w), ["f32:1,2,4,4", "f32:2,3,3,3"],
     "lower", "lower"),
    ("prelu", lambda L, x, w: L.nn.functional.prelu(x, w), ["f32:2,3,4", "f32:3"], "lower", "lower"),
    ("scaled_dot_product_attention", lambda L, q, k, v: L.nn.functional.scaled_dot_product_attention(q, k, v),
     ["f32:2,3,4", "f32:2,3,4", "f32:2,3,4"], "lower", "lower"),
    ("linalg.vecdot", lambda L, a, b: L.linalg.vecdot(a, b), ["f32:3,4", "f32:3,4"], "lower", "lower"),
    ("einsum", lambda L, a, b: L.einsum("ij,jk->ik", a, b), ["f32:3,4", "f32:4,2"], "lower", "lower"),
    ("linalg.multi_dot", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), ["f32:3,4", "f32:4,2", "f32:2,5"],
     "lower", "lower"),
    ("matrix_power", lambda L, a: L.linalg.matrix_power(a, 3), ["f32:3,3"], "lower", "lower"),
    ("tensordot", lambda L, a, b: L.tensordot(a, b, 1), ["f32:3,4", "f32:4,2"], "lower", "promote"),
    ("inner", lambda L, a, b: L.inner(a, b), ["f32:3,4", "f32:2,4"], "lower", "promote"),
    ("mv", lambda L, a, b: L.mv(a, b), ["f32:3,4", "f32:4"], "keep", "lower"),
    ("addmv", lambda L, c, a, b: L.addmv(c, a, b), ["f32:3", "f32:3,4", "f32:4"], "keep", "lower"),
    ("addr", lambda L, c, a, b: L.addr(c, a, b), ["f32:3,4", "f32:3", "f32:4"], "keep", "lower"),
    ("mm int64", lambda L, a, b: L.mm(a, b), ["i64:3,4", "i64:4,2"], "keep", "keep"),
    ("mm float64", lambda L, a, b: L.mm(a, b), ["f64:3,4", "f64:4,2"], "keep", "keep"),
    ("mm float64 with float32", lambda L, a, b: L.mm(a, b), ["f64:3,4", "f32:4,2"], "lower", "lower"),
    ("cov", lambda L, a: L.cov(a), ["f32:3,5"], "lower", None),
    # PyTorch's "float32" lists
    ("exp", lambda L, a: L.exp(a), ["f16:3,4"], "keep", "fp32"),
    ("Tensor.log", lambda L, a: a.log(), ["f16+:3,4"], "keep", "fp32"),
    ("log1p, expm1, log2, log10", lambda L, a: (a.log1p(), a.expm1(), L.log2(a), L.log10(a)), ["f16+:5"],
     "keep", "fp32"),
    ("sinh, cosh, tan", lambda L, a: (a.sinh(), L.cosh(a), a.tan()), ["f16u:5"], "keep", "fp32"),
    ("asin, acos, erfinv", lambda L, a: (a.asin(), L.acos(a), a.erfinv()), ["f16u:5"], "keep", "fp32"),
    ("reciprocal, rsqrt", lambda L, a: (a.reciprocal(), L.rsqrt(a)), ["f16+:5"], "keep", "fp32"),
    ("power operator", lambda L, a: a ** 2, ["f16:3,4"], "keep", "fp32"),
    ("reflected power", lambda L, a: 2 ** a, ["f16:3,4"], "keep", "fp32"),
    ("pow", lambda L, a, b: L.pow(a, b), ["f16+:4", "f16:4"], "keep", "fp32"),
    ("scalar divided by tensor", lambda L, a: 2 / a, ["f16+:3,4"], "keep", "fp32"),
    ("softplus", lambda L, a: L.nn.functional.softplus(a), ["f16:3,4"], "keep", "fp32"),
    ("layer_norm", lambda L, a, w: L.nn.functional.layer_norm(a, (4,), w), ["f16:3,4", "f32:4"], "keep", "fp32"),
    ("group_norm", lambda L, a: L.nn.functional.group_norm(a, 2), ["f16:2,4,3"], "keep", "fp32"),
    ("sum", lambda L, a: a.sum(), ["f16:3,4"], "keep", "fp32"),
    ("sum over a dim", lambda L, a: L.sum(a, 1), ["f16:3,4"], "keep", "fp32"),
    ("sum with a dtype", lambda L, a: a.sum(dtype=L.float16), ["f32:3,4"], "keep", "keep"),
    ("softmax", lambda L, a: L.nn.functional.softmax(a, 1), ["f16:3,4"], "keep", "fp32"),
    ("Tensor.log_softmax", lambda L, a: a.log_softmax(1), ["f16:3,4"], "keep", "fp32"),
    ("softmax with a dtype", lambda L, a: L.softmax(a, 1, dtype=L.float64), ["f16:3,4"], "keep", "keep"),
    ("softmin", lambda L, a: L.nn.functional.softmin(a, 1), ["f16:3,4"], "keep", "fp32"),
    ("cumsum, cumprod", lambda L, a: (a.cumsum(1), L.cumprod(a, 0)), ["f16:3,4"], "keep", "fp32"),
    ("prod", lambda L, a: (a.prod(), a.prod(1)), ["f16:3,4"], "fp32", "fp32"),
    ("norm", lambda L, a: (a.norm(), L.norm(a, 1, 1)), ["f16:3,4"], "keep", "fp32"),
    ("linalg.vector_norm", lambda L, a: L.linalg.vector_norm(a), ["f16:3,4"], "keep", "fp32"),
    ("logsumexp", lambda L, a: a.logsumexp(1), ["f16:3,4"], "keep", "fp32"),
    ("dist", lambda L, a, b: L.dist(a, b), ["f16:3,4", "f16:3,4"], "keep", "fp32"),
    ("renorm", lambda L, a: a.renorm(2, 0, 1.0), ["f16:3,4"], "keep", "fp32"),
    ("cosine_similarity", lambda L, a, b: L.nn.functional.cosine_similarity(a, b), ["f16:3,4", "f16:3,4"],
     "keep", "fp32"),
    ("normalize", lambda L, a: L.nn.functional.normalize(a), ["f16:3,4"], "keep", "fp32"),
    ("pairwise_distance", lambda L, a, b: L.nn.functional.pairwise_distance(a, b), ["f16:3,4", "f16:3,4"],
     "keep", "fp32", _HALF_TOL),
    ("cdist", lambda L, a, b: L.cdist(a, b), ["f16:3,4", "f16:2,4"], "fp32", "fp32"),
    ("mse_loss", lambda L, a, b: L.nn.functional.mse_loss(a, b), ["f16:3,4", "f16:3,4"], "fp32", "fp32"),
    ("l1, smooth_l1, huber", lambda L, a, b: (L.nn.functional.l1_loss(a, b), L.nn.functional.smooth_l1_loss(a, b),
                                              L.nn.functional.huber_loss(a, b)), ["f16:3,4", "f32:3,4"],
     "fp32", "fp32"),
    ("kl_div", lambda L, a, b: L.nn.functional.kl_div(a, b, reduction="batchmean"), ["f16:3,4", "f16+:3,4"],
     "fp32", "fp32"),
    ("nll_loss", lambda L, a: L.nn.functional.nll_loss(a, L.tensor([0, 3, 1])), ["f16:3,4"], "fp32", "fp32"),
    ("cross_entropy", lambda L, a: L.nn.functional.cross_entropy(a, L.tensor([0, 3, 1])), ["f16:3,4"],
     "fp32", "fp32"),
    ("cross_entropy, probabilities", lambda L, a, p: L.nn.functional.cross_entropy(a, p.softmax(1)),
     ["f16:3,4", "f32:3,4"], "fp32", "fp32"),
    ("binary_cross_entropy_with_logits", lambda L, a, t: L.nn.functional.binary_cross_entropy_with_logits(a, t),
     ["f16:3,4", "f16+:3,4"], "fp32", "fp32"),
    ("binary_cross_entropy", lambda L, a, t: L.nn.functional.binary_cross_entropy(a, t),
     ["f16p:3,4", "f16p:3,4"], "fp32", "banned"),
    ("margin and embedding losses", lambda L, a, b, t: (
        L.nn.functional.margin_ranking_loss(a, b, t.sign()), L.nn.functional.hinge_embedding_loss(a, t.sign()),
        L.nn.functional.soft_margin_loss(a, t.sign()), L.nn.functional.cosine_embedding_loss(a.view(2, 2),
                                                                                              b.view(2, 2),
                                                                                              t[:2].sign())),
     ["f16:4", "f16:4", "f16:4"], "fp32", "fp32"),
    ("poisson_nll_loss", lambda L, a, t: L.nn.functional.poisson_nll_loss(a, t), ["f16:3,4", "f16+:3,4"],
     "fp32", "fp32"),
    ("triplet_margin_loss", lambda L, a, p, n: L.nn.functional.triplet_margin_loss(a, p, n),
     ["f16:3,4", "f16:3,4", "f16:3,4"], "fp32", "fp32"),
    ("multi_margin_loss", lambda L, a: L.nn.functional.multi_margin_loss(a, L.tensor([0, 3, 1])), ["f16:3,4"],
     "fp32", "fp32"),
    ("interpolate bilinear", lambda L, a: L.nn.functional.interpolate(a, scale_factor=2, mode="bilinear"),
     ["f16:1,2,3,3"], "keep", "fp32"),
    ("interpolate area", lambda L, a: L.nn.functional.interpolate(a, size=(2, 2), mode="area"),
     ["f32:1,2,4,4"], "keep", "keep"),
    ("adaptive_avg_pool2d", lambda L, a: L.nn.functional.adaptive_avg_pool2d(a, 2), ["f32:1,2,5,5"], "keep", "keep"),
    ("adaptive_avg_pool3d", lambda L, a: L.nn.functional.adaptive_avg_pool3d(a, 2), ["f16:1,2,4,4,4"],
     "fp32", "keep"),
    ("max_pool3d", lambda L, a: L.nn.functional.max_pool3d(a, 2), ["f16:1,2,4,4,4"], "fp32", "keep"),
    ("max_pool3d with indices", lambda L, a: L.nn.functional.max_pool3d(a, 2, return_indices=True),
     ["f16:1,2,4,4,4"], "keep", "keep"),
    ("reflection pad 2-d", lambda L, a: L.nn.functional.pad(a, (1, 1, 1, 1), mode="reflect"), ["f16:1,2,3,3"],
     "fp32", "keep"),
    ("reflection pad 3-d", lambda L, a: L.nn.functional.pad(a, (1, 1, 1, 1, 1, 1), mode="reflect"),
     ["f16:1,2,3,3,3"], "keep", "keep"),
    ("replication pad", lambda L, a: L.nn.functional.pad(a, (1, 2), mode="replicate"), ["f16:1,2,3"], "fp32", "keep"),
    ("constant pad", lambda L, a: L.nn.functional.pad(a, (1, 2)), ["f16:1,2,3"], "keep", "keep"),
    ("trace", lambda L, a: L.trace(a), ["f16:3,3"], "fp32", "keep"),
    # single unlisted kernels in torch that flambeau builds from listed ops: nothing is cast
    ("logsigmoid, mish", lambda L, a: (L.nn.functional.logsigmoid(a), L.nn.functional.mish(a)), ["f16:3,4"],
     "keep", "keep"),
    ("instance_norm", lambda L, a: L.nn.functional.instance_norm(a), ["f16:2,3,5"], "keep", "keep"),
    ("nanmean", lambda L, a: L.nanmean(a, 1), ["f16:3,4"], "keep", "keep"),
    ("fft.rfft", lambda L, a: L.fft.rfft(a), ["f16:8"], "fp32", None),
    ("linalg.inv", lambda L, a: L.linalg.inv(a), ["f16d:3,3"], "fp32", None),
    ("quantile", lambda L, a: L.quantile(a, 0.25), ["f16:7"], "fp32", None),
    # PyTorch's "promote" lists
    ("atan2", lambda L, a, b: L.atan2(a, b), ["f16:4", "f32:4"], "keep", "promote"),
    ("atan2, both float16", lambda L, a, b: L.atan2(a, b), ["f16:4", "f16:4"], "keep", "promote"),
    ("addcmul, addcdiv", lambda L, c, a, b: (L.addcmul(c, a, b), c.addcdiv(a, b)), ["f32:4", "f16:4", "f16+:4"],
     "keep", "promote"),
    ("dot", lambda L, a, b: L.dot(a, b), ["f16:4", "f32:4"], "keep", "promote"),
    # without autocast torch refuses these mixed dtypes, as flambeau does: no value to compare there
    ("cross", lambda L, a, b: L.cross(a, b, dim=1), ["f16:2,3", "f32:2,3"], None, "promote"),
    ("scatter_add", lambda L, a, s: a.scatter_add(0, L.tensor([[0, 1, 0]]), s), ["f32:2,3", "f16:1,3"],
     None, "promote"),
    ("bilinear", lambda L, a, b, w: L.nn.functional.bilinear(a, b, w), ["f16:3,4", "f16:3,2", "f32:5,4,2"],
     "keep", "promote"),
    ("grid_sample", lambda L, a, g: L.nn.functional.grid_sample(a, g, align_corners=False),
     ["f16:1,2,4,4", "f32u:1,3,3,2"], "fp32", "promote"),
    ("cat", lambda L, a, b: L.cat([a, b]), ["f16:2,3", "f32:1,3"], "promote", "keep"),
    ("stack", lambda L, a, b: L.stack([a, b]), ["f16:2,3", "f16:2,3"], "promote", "keep"),
    ("index_copy", lambda L, a, s: a.index_copy(0, L.tensor([1]), s), ["f32:2,3", "f16:1,3"], "promote", None),
]

_TOL = {torch.float16: (2e-2, 2e-2), torch.complex64: (1e-5, 1e-6)}


def _run(fn, lib, device, specs, arrays, autocast_on, category=None):
    """fn's outputs (or the exception type) with inputs made from arrays; under autocast, or
    without it on inputs cast as ``category`` casts them."""
    inputs = [_make(lib, s, a, device) for s, a in zip(specs, arrays)]
    L = lib if lib is torch else on_device(lib, device)
    try:
        if autocast_on:
            with _autocast(lib, device), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return fn(L, *inputs)
        floating = [t for t in inputs if t.is_floating_point() and t.dtype != torch.float64]
        widest = torch.float32 if any(t.dtype == torch.float32 for t in floating) else torch.float16
        if category == "banned":
            return RuntimeError
        return fn(L, *[_as_category(t, category, widest) for t in inputs])
    except Exception as e:        # noqa: BLE001 -- the type is compared
        return type(e)


def _compare(ours, ref, device, tol=None):
    if isinstance(ref, type):
        assert ours is ref or (isinstance(ours, type) and issubclass(ours, ref)), (ours, ref)
        return
    assert not isinstance(ours, type), f"raised {ours.__name__}, expected a result"
    if isinstance(ref, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(ref)
        for o, r in zip(ours, ref):
            _compare(o, r, device, tol)
        return
    rtol, atol = _TOL.get(ref.dtype, tol or (1e-5, 1e-6))
    if isinstance(ours, torch.Tensor):      # torch's own autocast against the category's reference
        assert ours.dtype == ref.dtype, (ours.dtype, ref.dtype)
        np.testing.assert_allclose(to_numpy(ours), to_numpy(ref), rtol=rtol, atol=atol)
        return
    assert_same(ours, ref, rtol=rtol, atol=atol, device=device)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_op_category(device, case):
    name, fn, specs, cpu_category, cuda_category = case[:5]
    category = cpu_category if device == "cpu" else cuda_category
    if category is None:
        pytest.skip("no reference on this device (see the case's comment)")
    if name == "trace":
        need_oracle(2, 13, "trace of float16 on the CPU")
    arrays = [_array(s, np.random.default_rng(k)) for k, s in enumerate(specs)]
    ref = _run(fn, torch, "cpu", specs, arrays, False, category)
    tol = case[5] if len(case) > 5 else None
    if device == "cpu":          # the category written here is what torch's CPU autocast does
        _compare(_run(fn, torch, "cpu", specs, arrays, True), ref, None, tol)
    _compare(_run(fn, flambeau, device, specs, arrays, True), ref, device, tol)


def test_banned_binary_cross_entropy_message(device):
    """cuda refuses binary_cross_entropy inside autocast, with torch's message; the CPU runs it in float32."""
    x = flambeau.rand(3, device=device)
    if device == "cpu":
        with flambeau.autocast("cpu", dtype=F16):
            assert flambeau.nn.functional.binary_cross_entropy(x.half(), x.half()).dtype is F32
        return
    with flambeau.autocast("cuda"):
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            flambeau.nn.BCELoss()(x, x)


def test_out_argument_is_not_autocast(device):
    a, b = flambeau.randn(3, 4, device=device), flambeau.randn(4, 2, device=device)
    out = flambeau.empty(3, 2, device=device)
    with flambeau.autocast(device, dtype=F16):
        r = flambeau.mm(a, b, out=out)
    assert r is out and out.dtype is F32
    assert_same(out, torch.mm(torch.tensor(a.cpu().numpy()), torch.tensor(b.cpu().numpy())), rtol=1e-5)


def test_every_listed_op_is_hooked():
    """The table names PyTorch's ops: each is hooked wherever flambeau has it, and those it lacks
    are the ones the table says it may lack."""
    from flambeau.amp import _policy
    for lists in (_policy.CUDA, _policy.CPU):
        for ops in lists.values():
            for op in ops.split():
                found = [p for p in _policy.entry_points(op) if _policy._resolve(p) is not None]
                assert found or op in _policy.NO_ENTRY_POINT, f"{op}: no flambeau entry point"
                for p in found:
                    owner, name = _policy._resolve(p)
                    assert hasattr(vars(owner)[name], "_autocast_categories"), p
    for dev in ("cpu", "cuda"):
        for op in list(_policy.COMPOSITES[dev]) + _policy.OWN_KERNELS[dev].split():
            paths = (op,) if "." in op else _policy.entry_points(op)
            assert any(_policy._resolve(p) is not None for p in paths), op


def test_hooks_keep_names_and_docs():
    assert flambeau.nn.functional.linear.__name__ == "linear"
    assert flambeau.Tensor.__matmul__.__wrapped__ is not None
    assert flambeau.mm.__doc__ == flambeau.mm.__wrapped__.__doc__


# -- a model, forward and backward -----------------------------------------------------------------
def _model(lib):
    return lib.nn.Sequential(lib.nn.Conv2d(1, 4, 3), lib.nn.ReLU(), lib.nn.MaxPool2d(2), lib.nn.Flatten(),
                             lib.nn.Linear(36, 16), lib.nn.ReLU(), lib.nn.Linear(16, 3))


def _same_weights(fl_model, t_model, device):
    for p, q in zip(fl_model.parameters(), t_model.parameters()):
        with flambeau.no_grad():
            p.copy_(flambeau.tensor(q.detach().numpy(), device=device))


def test_model_forward_backward(device):
    """conv, linear: float16; relu, pooling keep it; cross_entropy float32 (on both devices' lists).
    Gradients reach the float32 weights in float32."""
    t_model = _model(torch)
    fl_model = _model(flambeau).to(device)
    _same_weights(fl_model, t_model, device)
    x = np.random.default_rng(0).standard_normal((5, 1, 8, 8))
    target = [0, 2, 1, 1, 0]
    results = []
    for lib, model, kw in ((flambeau, fl_model, {"device": device}), (torch, t_model, {})):
        xt = lib.tensor(x, dtype=lib.float32, **kw)
        with lib.autocast(device if lib is flambeau else "cpu", dtype=lib.float16):
            hidden = model[:5](xt)
            out = model(xt)
            loss = lib.nn.functional.cross_entropy(out, lib.tensor(target, **kw))
        loss.backward()
        results.append((hidden, out, loss, [p.grad for p in model.parameters()]))
    (h, o, loss, grads), (th, to, tloss, tgrads) = results
    assert_same(h, th, rtol=2e-2, atol=2e-2, device=device)
    assert_same(o, to, rtol=2e-2, atol=2e-2, device=device)
    assert_same(loss, tloss, rtol=1e-2, atol=1e-3)
    for g, tg in zip(grads, tgrads):
        assert_same(g, tg, rtol=5e-2, atol=5e-3, device=device)


def _leaves(seed, device):
    """A float16 (3, 4) and a float32 (4, 2) leaf, for flambeau on device and for torch."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    for lib, dev in ((flambeau, device), (torch, "cpu")):
        kw = {"device": dev} if lib is flambeau else {}
        yield (lib, dev, lib.tensor(a, dtype=lib.float16, requires_grad=True, **kw),
               lib.tensor(b, dtype=lib.float32, requires_grad=True, **kw))


def test_backward_inside_the_region_and_float16_leaves(device):
    """Gradients come back in each leaf's dtype, also when backward runs inside the region."""
    got = []
    for lib, dev, x, w in _leaves(1, device):
        with lib.autocast(dev, dtype=lib.float16):
            y = (x @ w).float().sum()
            y.backward()
        got.append((y, x.grad, w.grad))
    for ours, ref in zip(*got):
        assert_same(ours, ref, rtol=2e-2, atol=2e-2, device=device)


def test_no_grad_inside_autocast(device):
    """A no_grad forward inside the region leaves nothing behind for a later forward with grad
    (the cached weight casts are only made with grad mode on), as in torch."""
    lin = flambeau.nn.Linear(4, 3).to(device)
    x = flambeau.randn(2, 4, device=device)
    with flambeau.autocast(device, dtype=F16):
        with flambeau.no_grad():
            y0 = lin(x)
        y1 = lin(x)
    assert y0.dtype is F16 and not y0.requires_grad
    assert y1.dtype is F16 and y1.requires_grad
    y1.float().sum().backward()
    assert lin.weight.grad is not None and lin.weight.grad.dtype is F32
    assert lin.bias.grad is not None


def test_weight_cast_is_cached_within_a_region(device):
    """Like torch: a float32 weight is cast once per (outermost) region, so an in-place change of the
    weight inside the same region is not seen by later ops there; a new region casts again."""
    got = []
    for lib, dev in ((flambeau, device), (torch, "cpu")):
        kw = {"device": dev} if lib is flambeau else {}
        w = lib.ones(2, 2, requires_grad=True, **kw)
        x = lib.ones(1, 2, **kw)
        with lib.autocast(dev, dtype=lib.float16):
            y1 = x @ w
            with lib.no_grad():
                w.mul_(2)
            y2 = x @ w
        with lib.autocast(dev, dtype=lib.float16):
            y3 = x @ w
        with lib.autocast(dev, dtype=lib.float16, cache_enabled=False):
            y4 = x @ w
            with lib.no_grad():
                w.mul_(2)
            y5 = x @ w
        got.append((y1, y2, y3, y4, y5))
    for ours, ref in zip(*got):
        assert_same(ours, ref, device=device)


def _recurrent(lib, kind):
    lib.manual_seed(0)
    return {"LSTMCell": lib.nn.LSTMCell(6, 5), "GRUCell": lib.nn.GRUCell(6, 5), "RNNCell": lib.nn.RNNCell(6, 5),
            "LSTM": lib.nn.LSTM(6, 5), "GRU": lib.nn.GRU(6, 5), "RNN": lib.nn.RNN(6, 5)}[kind]


@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell", "RNNCell", "LSTM", "GRU", "RNN"])
def test_recurrent_layers(device, kind):
    """On the CPU torch builds the cells from linear (float16) and pointwise ops, so a float32 state
    stays float32; cuda's cells and cuDNN's sequences run all in float16 (the reference: torch's layer
    made float16, without autocast). torch's CPU LSTM in float16 has no kernel."""
    if device == "cpu" and kind == "LSTM":
        pytest.skip("torch's CPU LSTM has no float16 kernel under autocast")
    t_layer = _recurrent(torch, kind)
    layer = _recurrent(flambeau, kind).to(device)
    _same_weights(layer, t_layer, device)
    x = np.random.default_rng(3).standard_normal((4, 6) if kind.endswith("Cell") else (3, 2, 6))
    with flambeau.autocast(device, dtype=F16):
        out = layer(flambeau.tensor(x, dtype=F32, device=device))
    if device == "cpu":
        with torch.autocast("cpu", dtype=torch.float16):
            ref = t_layer(torch.tensor(x, dtype=torch.float32))
    else:
        ref = t_layer.half()(torch.tensor(x, dtype=torch.float16))
    if not kind.endswith("Cell"):
        out, ref = out[0], ref[0]
    # float32 states built from float16 gates: float16's precision
    _compare(tuple(out) if isinstance(out, tuple) else out, tuple(ref) if isinstance(ref, tuple) else ref, device,
             (2e-2, 2e-3))


def test_multihead_attention_with_mask(device):
    """Its projections run in float16 and the masked scores through baddbmm (float16 too); the
    weights come from softmax: float32 on cuda's list, float16 on the CPU."""
    t_mha = torch.nn.MultiheadAttention(6, 2)
    mha = flambeau.nn.MultiheadAttention(6, 2).to(device)
    _same_weights(mha, t_mha, device)
    q = np.random.default_rng(4).standard_normal((3, 2, 6))
    mask = np.triu(np.full((3, 3), -1e4), 1)
    with flambeau.autocast(device, dtype=F16):
        qf = flambeau.tensor(q, dtype=F32, device=device)
        out, weights = mha(qf, qf, qf, attn_mask=flambeau.tensor(mask, dtype=F32, device=device))
    with torch.autocast("cpu", dtype=torch.float16):
        qt = torch.tensor(q, dtype=torch.float32)
        t_out, t_weights = t_mha(qt, qt, qt, attn_mask=torch.tensor(mask, dtype=torch.float32))
    assert_same(out, t_out, rtol=2e-2, atol=2e-2, device=device)
    assert weights.dtype is (F16 if device == "cpu" else F32)
    assert_same(weights, t_weights, rtol=2e-2, atol=2e-2, check_dtype=device == "cpu", device=device)


# -- the region: nesting, threads, decorators, state --------------------------------------------------
def test_nesting_and_disabled_regions(device):
    a, b = flambeau.randn(3, 4, device=device), flambeau.randn(4, 2, device=device)
    assert not flambeau.is_autocast_enabled(device)
    with flambeau.autocast(device, dtype=F16):
        assert flambeau.is_autocast_enabled(device)
        assert flambeau.mm(a, b).dtype is F16
        with flambeau.autocast(device, enabled=False):
            assert not flambeau.is_autocast_enabled(device)
            assert flambeau.mm(a, b).dtype is F32
            with flambeau.autocast(device):          # no dtype: the enclosing region's
                assert flambeau.get_autocast_dtype(device) is F16
                inner = flambeau.mm(a, b)
        assert flambeau.mm(a, b).dtype is F16
    assert inner.dtype is F16                        # tensors made inside keep their dtype
    assert not flambeau.is_autocast_enabled(device)
    assert flambeau.mm(a, b).dtype is F32
    assert (inner + a[:, :2]).dtype is F32           # and mix by ordinary promotion afterwards


def test_other_device_types_region_does_not_apply(device):
    other = "cuda" if device == "cpu" else "cpu"
    a = flambeau.randn(3, 4, device=device)
    if other == "cuda" and not flambeau.cuda.is_available():
        pytest.skip("no cuda")
    with flambeau.autocast(other, dtype=F16):
        assert flambeau.mm(a, a.t()).dtype is F32


def test_state_is_per_thread(device):
    a = flambeau.randn(3, 4, device=device)
    seen = {}

    def worker():
        seen["enabled"] = flambeau.is_autocast_enabled(device)
        seen["dtype"] = flambeau.mm(a, a.t()).dtype
        with flambeau.autocast(device, dtype=F16):
            seen["inside"] = flambeau.mm(a, a.t()).dtype

    with flambeau.autocast(device, dtype=F16):
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert flambeau.mm(a, a.t()).dtype is F16
    assert seen == {"enabled": False, "dtype": F32, "inside": F16}
    assert flambeau.mm(a, a.t()).dtype is F32


def test_decorator(device):
    @flambeau.autocast(device, dtype=F16)
    def forward(a, b):
        """doc"""
        return a @ b, flambeau.is_autocast_enabled(device)

    a = flambeau.randn(2, 3, device=device)
    out, enabled = forward(a, a.t())
    assert out.dtype is F16 and enabled and forward.__doc__ == "doc"
    assert not flambeau.is_autocast_enabled(device)


def test_exception_inside_restores_state(device):
    with pytest.raises(ValueError):
        with flambeau.autocast(device, dtype=F16):
            raise ValueError
    assert not flambeau.is_autocast_enabled(device)
    assert flambeau.mm(flambeau.ones(2, 2, device=device), flambeau.ones(2, 2, device=device)).dtype is F32


def test_state_functions_as_torch():
    seq = []
    for lib in (flambeau, torch):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out = [lib.is_autocast_enabled(), lib.is_autocast_enabled("cpu"), lib.get_autocast_dtype("cuda"),
                   lib.is_autocast_cache_enabled()]
            lib.set_autocast_enabled("cpu", True)
            lib.set_autocast_dtype("cpu", lib.float16)
            out += [lib.is_autocast_enabled("cpu"), lib.get_autocast_dtype("cpu"), lib.is_autocast_cpu_enabled(),
                    lib.autocast_increment_nesting(), lib.autocast_decrement_nesting()]
            lib.set_autocast_enabled("cpu", False)
            lib.set_autocast_enabled(True)             # the older one-argument form: cuda
            out += [lib.is_autocast_enabled("cuda"), lib.get_autocast_gpu_dtype()]
            lib.set_autocast_enabled(False)
            out += [lib.is_autocast_enabled("cuda")]
        seq.append(([str(v) for v in out], sorted({x.category.__name__ for x in w})))
    assert seq[0] == seq[1]
    flambeau.set_autocast_dtype("cpu", F16)     # leave this thread's CPU dtype as the test found it
    flambeau.amp.autocast_mode.state.dtype["cpu"] = None


def test_errors_as_torch():
    for fn, exc in ((lambda lib: lib.autocast(lib.device("cpu")), ValueError),
                    (lambda lib: lib.autocast("xyz"), RuntimeError),
                    (lambda lib: lib.is_autocast_enabled("xyz"), RuntimeError),
                    (lambda lib: lib.is_autocast_enabled(3), TypeError),
                    (lambda lib: lib.set_autocast_enabled("cpu"), TypeError),
                    (lambda lib: lib.set_autocast_dtype("cpu", "float16"), TypeError),
                    (lambda lib: lib.autocast("cpu", dtype=lib.float16)(3), TypeError),
                    (lambda lib: lib.amp.custom_fwd(lambda ctx: 0, device_type=lib.device("cpu")), ValueError)):
        for lib in (flambeau, torch):
            with pytest.raises(exc):
                fn(lib)


def test_unsupported_cpu_dtype_disables_with_torchs_warning():
    for lib in (flambeau, torch):
        with pytest.warns(UserWarning, match="CPU Autocast only supports"):
            region = lib.autocast("cpu", dtype=lib.float32)
        with region:
            assert not lib.is_autocast_enabled("cpu")


def test_bfloat16_is_refused_with_a_clear_error():
    """torch's CPU default is bfloat16, which flambeau lacks: a RuntimeError names float16 instead."""
    for make in (lambda: flambeau.autocast("cpu"), lambda: flambeau.autocast(device_type="cpu", enabled=True),
                 lambda: flambeau.get_autocast_dtype("cpu"), lambda: flambeau.cpu.amp.autocast(),
                 lambda: flambeau.autocast("cpu", dtype=torch.bfloat16),
                 lambda: flambeau.set_autocast_dtype("cpu", torch.bfloat16)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            with pytest.raises(RuntimeError, match="bfloat16.*float16"):
                make()
    with flambeau.autocast("cpu", enabled=False):     # nothing to run in bfloat16: allowed, as in torch
        assert not flambeau.is_autocast_enabled("cpu")
    assert not flambeau.is_autocast_enabled("cpu")


def test_deprecated_spellings(device):
    from flambeau.cuda.amp import autocast, GradScaler  # noqa: F401  (course code's import)
    from flambeau.cpu.amp import autocast as cpu_autocast
    a = flambeau.randn(2, 3, device=device)
    with pytest.warns(FutureWarning, match="deprecated"):
        region = (flambeau.cuda.amp.autocast() if device == "cuda"
                  else cpu_autocast(dtype=F16))
    with region:
        assert (a @ a.t()).dtype is F16
    with pytest.warns(FutureWarning):
        flambeau.cuda.amp.GradScaler(init_scale=8.0)
    for lib in (flambeau, torch):       # torch's cuda spelling warns FutureWarning too (where it runs)
        with pytest.warns(FutureWarning):
            lib.cpu.amp.GradScaler()


# -- custom autograd Functions ---------------------------------------------------------------------
def _custom_mm(lib, device_type, cast_inputs):
    class MyMM(lib.autograd.Function):
        @staticmethod
        @lib.amp.custom_fwd(device_type=device_type, cast_inputs=cast_inputs)
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            ctx.seen = (a.dtype, b.dtype, lib.is_autocast_enabled(device_type))
            return a.mm(b)

        @staticmethod
        @lib.amp.custom_bwd(device_type=device_type)
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            ctx.seen_backward = lib.is_autocast_enabled(device_type)
            return grad.mm(b.t()), a.t().mm(grad)
    return MyMM


@pytest.mark.parametrize("cast_inputs", [None, "float32"])
def test_custom_fwd_bwd(device, cast_inputs):
    """What forward gets (dtypes, autocast on or off) and what backward runs under, as in torch."""
    got = []
    for lib, dev, x, w in _leaves(2, device):
        fn = _custom_mm(lib, dev, cast_inputs and getattr(lib, cast_inputs))
        with lib.autocast(dev, dtype=lib.float16):
            y = fn.apply(x, w)
        y.float().sum().backward()
        node = y.grad_fn
        got.append((y, x.grad, w.grad, [str(v) for v in node.seen] + [node.seen_backward]))
    for ours, ref in zip(got[0][:3], got[1][:3]):
        assert_same(ours, ref, rtol=2e-2, atol=2e-2, device=device)
    assert got[0][3] == got[1][3]


def test_custom_fwd_outside_a_region_changes_nothing(device):
    fn = _custom_mm(flambeau, device, F32)
    x = flambeau.randn(3, 4, dtype=F16, device=device, requires_grad=True)
    with pytest.raises(RuntimeError):       # float16 @ float32 without autocast: as torch, no cast
        fn.apply(x, flambeau.randn(4, 2, device=device))
    y = fn.apply(x, flambeau.randn(4, 2, dtype=F16, device=device))
    assert y.dtype is F16


# -- GradScaler --------------------------------------------------------------------------------------
def _scaler_run(lib, device, scaler_device, steps, **scaler_kw):
    """A linear model trained with a GradScaler through ``steps`` ("ok", "inf", "nan", "unscale"):
    after each, the scale, growth tracker and weights."""
    kw = {"device": device} if lib is flambeau else {}
    w = lib.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True, **kw)
    opt = lib.optim.SGD([w], lr=0.1)
    scaler = lib.amp.GradScaler(scaler_device, **scaler_kw)
    x = lib.tensor([[1.0, 2.0], [3.0, -1.0]], **kw)
    trace = []
    for step in steps:
        opt.zero_grad()
        loss = (x @ w).pow(2).sum()
        if step == "inf":
            loss = loss * float("inf")
        elif step == "nan":
            loss = loss * float("nan")
        scaler.scale(loss).backward()
        if step == "unscale":
            scaler.unscale_(opt)
            lib.nn.utils.clip_grad_norm_([w], 1.0)
        scaler.step(opt)
        scaler.update()
        trace.append((scaler.get_scale(), scaler._get_growth_tracker(), w.detach().cpu().numpy().copy()))
    return trace, scaler


@pytest.mark.parametrize("steps", [["ok", "ok", "ok", "inf", "ok", "ok", "nan", "ok"],
                                   ["unscale", "ok", "inf", "unscale", "ok"]])
def test_grad_scaler_sequence(device, steps):
    ours, scaler = _scaler_run(flambeau, device, device, steps, init_scale=2.0 ** 10, growth_interval=2)
    ref, t_scaler = _scaler_run(torch, "cpu", "cpu", steps, init_scale=2.0 ** 10, growth_interval=2)
    for (s, g, w), (ts, tg, tw) in zip(ours, ref):
        assert (s, g) == (ts, tg)
        np.testing.assert_allclose(w, tw, rtol=1e-6)
    assert scaler.state_dict() == t_scaler.state_dict()


def test_grad_scaler_reads_the_device_once_per_step(device):
    w = flambeau.ones(3, 3, device=device, requires_grad=True)
    b = flambeau.zeros(3, device=device, requires_grad=True)
    opt = flambeau.optim.SGD([w, b], lr=0.1)
    scaler = flambeau.amp.GradScaler(device)
    x = flambeau.ones(2, 3, device=device)
    for _ in range(2):
        opt.zero_grad()
        with host_reads() as n_scale:
            scaler.scale((x @ w + b).sum()).backward()
        with host_reads() as n_step:
            scaler.step(opt)
        with host_reads() as n_update:
            scaler.update()
        assert (n_scale[0], n_step[0], n_update[0]) == (0, expected_reads(device, 1), 0)


def test_grad_scaler_state_dict_and_pickle(device):
    s = flambeau.amp.GradScaler(device, init_scale=16.0, growth_factor=3.0, backoff_factor=0.25, growth_interval=5)
    t = torch.amp.GradScaler("cpu", init_scale=16.0, growth_factor=3.0, backoff_factor=0.25, growth_interval=5)
    assert s.state_dict() == t.state_dict()
    assert s.get_scale() == t.get_scale() == 16.0
    state = {"scale": 4.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 7, "_growth_tracker": 3}
    s.scale(flambeau.ones(1, device=device))
    s.load_state_dict(state)
    t.load_state_dict(state)
    assert s.state_dict() == t.state_dict() == state
    s2 = pickle.loads(pickle.dumps(s))
    assert s2.state_dict() == state and s2.is_enabled()
    assert (s.get_growth_factor(), s.get_backoff_factor(), s.get_growth_interval()) == (2.0, 0.5, 7)


def test_grad_scaler_disabled_and_errors(device):
    off = flambeau.amp.GradScaler(device, enabled=False)
    loss = flambeau.ones((), device=device)
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {} and not off.is_enabled()
    for lib, dev in ((flambeau, device), (torch, "cpu")):
        with pytest.raises(AssertionError):
            lib.amp.GradScaler(dev, growth_factor=1.0)
        with pytest.raises(AssertionError):
            lib.amp.GradScaler(dev, backoff_factor=1.0)
        kw = {"device": dev} if lib is flambeau else {}
        w = lib.ones(2, requires_grad=True, **kw)
        opt = lib.optim.SGD([w], lr=0.1)
        scaler = lib.amp.GradScaler(dev)
        with pytest.raises(AssertionError):
            scaler.step(opt)                                  # no scale() yet
        scaler.scale(w.sum()).backward()
        scaler.unscale_(opt)
        with pytest.raises(RuntimeError, match="already been called"):
            scaler.unscale_(opt)
        scaler.step(opt)
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
            scaler.step(opt)
        with pytest.raises(RuntimeError, match="Closure"):
            scaler.step(opt, closure=lambda: 0)
        with pytest.raises(RuntimeError, match="empty"):
            scaler.load_state_dict({})
        w16 = lib.ones(2, dtype=lib.float16, requires_grad=True, **kw)
        opt16 = lib.optim.SGD([w16], lr=0.1)
        scaler.scale(w16.sum()).backward()
        with pytest.raises(ValueError, match="FP16 gradients"):
            scaler.unscale_(opt16)


def test_grad_scaler_new_scale_and_several_outputs(device):
    ours = flambeau.amp.GradScaler(device, init_scale=4.0)
    ref = torch.amp.GradScaler("cpu", init_scale=4.0)
    outs = []
    for scaler, lib, kw in ((ours, flambeau, {"device": device}), (ref, torch, {})):
        out = scaler.scale([lib.ones(2, **kw), (lib.full((1,), 3.0, **kw),)])
        assert isinstance(out, list) and isinstance(out[1], tuple)
        scaler.update(new_scale=2.0)
        scaler.update(new_scale=lib.tensor(8.0, **kw))
        outs.append(out)
    assert_same(outs[0][0], outs[1][0], device=device)
    assert_same(outs[0][1][0], outs[1][1][0], device=device)
    assert ours.get_scale() == ref.get_scale() == 8.0


def test_grad_scaler_cuda_without_cuda_disables(monkeypatch):
    monkeypatch.setattr(flambeau.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="CUDA is not available"):
        s = flambeau.amp.GradScaler()
    assert not s.is_enabled()
    with pytest.warns(UserWarning, match="CUDA is not available"):
        region = flambeau.autocast("cuda")
    with region:
        assert not flambeau.is_autocast_enabled("cuda")


def test_amp_kernels_as_torch(device):
    got = []
    for lib, dev in ((flambeau, device), (torch, "cpu")):
        kw = {"device": dev} if lib is flambeau else {}
        grads = [lib.tensor([1.0, 2.0, 4.0], **kw), lib.tensor([8.0, -2.0], dtype=lib.float16, **kw),
                 lib.tensor([1.0, float("inf")], dtype=lib.float64, **kw)]
        found = lib.zeros((), **kw)
        inv = lib.full((), 0.25, **kw)
        lib._amp_foreach_non_finite_check_and_unscale_(grads[:2], found, inv)
        clean = found.clone()
        lib._amp_foreach_non_finite_check_and_unscale_(grads[2:], found, inv)
        scale, tracker = lib.full((), 1024.0, **kw), lib.zeros((), dtype=lib.int32, **kw)
        history = []
        for f in (0.0, 0.0, 1.0, 0.0, 0.0, 0.0):
            lib._amp_update_scale_(scale, tracker, lib.full((), f, **kw), 3.0, 0.3, 2)
            history.append((scale.item(), tracker.item()))
        big = lib.full((), 3e38, **kw)
        lib._amp_update_scale_(big, lib.ones((), dtype=lib.int32, **kw), lib.zeros((), **kw), 2.0, 0.5, 2)
        got.append((grads, clean, found, history, big))
    (g, clean, found, history, big), (tg, tclean, tfound, thistory, tbig) = got
    for a, b in zip(g, tg):
        assert_same(a, b, device=device)
    assert_same(clean, tclean, device=device)
    assert_same(found, tfound, device=device)
    assert history == thistory
    assert_same(big, tbig, device=device)
    for lib in (flambeau, torch):
        with pytest.raises(RuntimeError, match="1-element"):
            lib._amp_foreach_non_finite_check_and_unscale_([lib.ones(2)], lib.zeros(2), lib.ones(()))
        with pytest.raises(RuntimeError, match="int tensor"):
            lib._amp_update_scale_(lib.ones(()), lib.zeros(()), lib.zeros(()), 2.0, 0.5, 2)


_COURSE_SCRIPT = '''
import warnings
warnings.simplefilter("ignore")
import torch
from torch.cuda.amp import autocast, GradScaler
from torch.cpu.amp import autocast as cpu_autocast

x = torch.linspace(-1, 1, 12).view(3, 4)
w = torch.linspace(0.5, -0.5, 8).view(4, 2).requires_grad_()
opt = torch.optim.SGD([w], lr=0.1)
scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
with torch.autocast("cpu", dtype=torch.float16):
    y = x @ w
    loss = torch.nn.functional.mse_loss(y, torch.zeros(3, 2))
print(y.dtype, loss.dtype, torch.is_autocast_enabled("cpu"), torch.is_autocast_enabled("cpu"))
with cpu_autocast(dtype=torch.float16):
    print((x @ w).dtype)
scaler.scale(loss).backward()
scaler.step(opt)
scaler.update()
print(scaler.get_scale(), [round(v, 4) for v in w.detach().flatten().tolist()])
print(autocast.__name__, GradScaler.__name__, GradScaler().is_enabled() == torch.cuda.is_available())
'''


def test_course_script_through_compat(tmp_path):
    """``from torch.cuda.amp import autocast, GradScaler`` and friends run unchanged on flambeau."""
    import os
    import subprocess
    import sys
    script = tmp_path / "amp_script.py"
    script.write_text(_COURSE_SCRIPT)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    runs = [subprocess.run([sys.executable] + args + [str(script)], capture_output=True, text=True, env=env,
                           timeout=300) for args in ([], ["-m", "flambeau.compat"])]
    for r in runs:
        assert r.returncode == 0, r.stderr[-3000:]
    assert runs[1].stdout == runs[0].stdout
