"""Reductions against PyTorch: values, output dtypes, dims/keepdim, empty tensors, NaN, errors, grads."""
import re

import numpy as np
import pytest
import torch

import flambeau
from _oracle import assert_same, check_against_torch, host_reads, on_device, oracle_version

RNG = np.random.default_rng(0)


def run_both(fn, *arrays, rtol=1e-5, atol=1e-6, device="cpu"):
    """fn(lib, *tensors) on torch and on flambeau (on device): same result, or the same exception type.
    A reduction computes on the device: its results stay there and the host reads no values."""
    results = []
    for lib in (torch, on_device(flambeau, device)):
        with host_reads() as reads:
            try:
                results.append(fn(lib, *[lib.tensor(a) for a in arrays]))
            except Exception as e:          # noqa: BLE001 - the exception type is what is compared
                results.append(e)
    ref, ours = results
    for o in ours if isinstance(ours, tuple) else (ours,):
        if isinstance(o, flambeau.Tensor):
            assert o.device.type == device, f"result on {o.device}, expected {device}"
            assert reads[0] == 0, f"{reads[0]} reads of device values by the host"
    if isinstance(ref, Exception):
        assert isinstance(ours, Exception), f"torch raised {ref!r}, flambeau returned {ours!r}"
        assert type(ours) is type(ref), f"torch raised {type(ref).__name__}, flambeau {type(ours).__name__}: {ours}"
        return
    assert not isinstance(ours, Exception), f"flambeau raised {ours!r}, torch returned a result"
    if isinstance(ref, tuple):
        assert type(ours).__name__ == type(ref).__name__ or isinstance(ours, tuple)
    assert_same(ours, ref, rtol=rtol, atol=atol)


REDUCTIONS = [
    "x.sum()", "x.sum(0)", "x.sum(-1, keepdim=True)", "x.sum((0, -1))", "x.sum(dtype=torch.float64)", "torch.sum(x, 0)",
    "x.sum(())", "x.mean()", "x.mean(0)", "x.mean((0, -1), keepdim=True)", "x.mean(dtype=torch.float64)",
    "x.nansum()", "x.nansum(0)", "x.nanmean()", "x.nanmean(-1, keepdim=True)",
    "x.std()", "x.std(0)", "x.std(0, unbiased=False)", "x.var(0, correction=0)", "x.var(correction=2)",
    "x.var(-1, keepdim=True)", "x.std(unbiased=False)", "x.var(False)",
    "torch.std_mean(x)", "torch.var_mean(x, 0)", "torch.std_mean(x, (0,), correction=0, keepdim=True)",
    "torch.var_mean(x, unbiased=False)",
    "x.prod()", "x.prod(0)", "x.prod(-1, keepdim=True)", "x.prod(dtype=torch.float64)",
    "x.max()", "x.min()", "x.max(0)", "x.min(-1, keepdim=True)", "x.max(dim=-1)",
    "x.argmax()", "x.argmin()", "x.argmax(0)", "x.argmin(-1, keepdim=True)", "x.argmax(keepdim=True)",
    "x.amax()", "x.amax(0)", "x.amin((0, -1))", "x.amin(-1, keepdim=True)",
    "x.aminmax()", "x.aminmax(dim=0)", "torch.aminmax(x, dim=-1, keepdim=True)",
    "x.all()", "x.any()", "x.all(0)", "x.any(-1, keepdim=True)", "torch.all(x, dim=(0, -1))",
    "x.norm()", "x.norm(1)", "x.norm(dim=0)", "x.norm(p=float('inf'))", "x.norm(3, dim=-1, keepdim=True)",
    "torch.dist(x, y)", "torch.dist(x, y, 1)", "torch.dist(x, y, 0)", "torch.dist(x, y, float('inf'))",
    "x.cumsum(0)", "x.cumsum(-1)", "x.cumprod(0)", "x.cumsum(0, dtype=torch.float64)",
    "x.logsumexp(0)", "x.logsumexp((0, -1))", "x.logsumexp(-1, keepdim=True)",
    "x.count_nonzero()", "x.count_nonzero(0)", "torch.count_nonzero(x, (0, -1))",
]
SHAPES = [(3, 4), (5,), (), (0,), (2, 0), (0, 3), (2, 3, 4), (1, 1)]
DTYPES = [np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_, np.float16, np.int8]


def _array(shape, dt, seed):
    a = np.random.default_rng(seed).standard_normal(shape) * 3
    return (a > 0) if dt == np.bool_ else a.astype(dt)


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_reductions_match_torch(shape, dt, device):
    x, y = _array(shape, dt, 1), _array(shape, dt, 2)
    tol = dict(rtol=2e-2, atol=2e-2) if dt == np.float16 else {}
    for code in REDUCTIONS:
        try:
            run_both(lambda lib, a, b: eval(code, {"torch": lib, "x": a, "y": b}), x, y, **tol, device=device)
        except AssertionError as e:
            raise AssertionError(f"{code}: {e}") from None


@pytest.mark.parametrize("code", ["x.sum(0)", "x.mean()", "x.max()", "x.max(1)", "x.min(0)", "x.argmax(1)",
                                  "x.amax(1)", "x.cumsum(1)", "x.prod(1)", "x.std(0)", "x.var()", "x.norm()",
                                  "x.logsumexp(1)", "x.nansum(1)", "x.nanmean(0)", "x.aminmax(dim=1)", "x.argmax()",
                                  "x.argmin(1)"])
def test_nan_propagation(code, device):
    x = RNG.standard_normal((3, 4))
    x[1, 2] = np.nan
    x[0, 0] = x[1, 0] = np.inf           # an inf before the NaN: the NaN still wins max/argmax
    run_both(lambda lib, a: eval(code, {"torch": lib, "x": a}), x, device=device)


def test_reductions_on_noncontiguous_inputs(device):
    base = RNG.standard_normal((4, 6, 5)).astype(np.float32)
    for code in ["x.sum(1)", "x.mean((0, 2))", "x.max(0)", "x.std(-1)", "x.cumsum(1)", "x.argmin(2)", "x.prod(0)"]:
        for view in ["a.transpose(0, 2)", "a[:, ::2]", "a.permute(2, 0, 1)", "a[1:, 1:, :1].expand(3, 5, 4)"]:
            run_both(lambda lib, a: eval(code, {"torch": lib, "x": eval(view, {"a": a})}), base, device=device)


def test_output_dtypes(device):
    for lib_dt in ["int8", "uint8", "int32", "int64", "bool"]:
        run_both(lambda lib, x: (str(x.sum().dtype), str(x.prod().dtype), str(x.cumsum(0).dtype),
                                 str(x.sum(dtype=lib.float32).dtype), str(x.sum(0).dtype)),
                 np.ones(3, dtype=lib_dt), device=device)


@pytest.mark.parametrize("code", ["x.mean()", "x.mean(0)", "x.std()", "x.var(0)", "x.nanmean()", "torch.std_mean(x)",
                                  "x.logsumexp(0)"])
def test_integer_input_errors_match_torch(code, device):
    run_both(lambda lib, x: eval(code, {"torch": lib, "x": x}), np.arange(6).reshape(2, 3), device=device)


@pytest.mark.parametrize("code", ["x.mean()", "x.mean(1)", "x.std()", "x.var(0)", "x.std(unbiased=False)",
                                  "torch.std_mean(x)", "torch.var_mean(x, 0)", "x.nanmean()"])
@pytest.mark.parametrize("dtype", ["int64", "int8", "bool"])
def test_integer_input_error_messages_match_torch(code, dtype, device):
    messages = []
    for lib in (torch, on_device(flambeau, device)):
        with pytest.raises(RuntimeError) as info:
            eval(code, {"torch": lib, "x": lib.ones(2, 3, dtype=getattr(lib, dtype))})
        messages.append(str(info.value))
    assert messages[1] == messages[0]


@pytest.mark.parametrize("code", ["x.sum(2)", "x.sum((0, 0))", "x.mean(-3)", "x.max(5)", "x.argmax(2)",
                                  "x.amax((0, 0))", "x.cumsum(2)", "x.prod(3)", "x.std(2)"])
def test_bad_dim_errors_match_torch(code, device):
    run_both(lambda lib, x: eval(code, {"torch": lib, "x": x}), np.ones((2, 3)), device=device)


def repr_off(device, ours, ref):
    """repr(ours) as torch's CPU repr ref would show it: off the CPU each tensor shows device='cuda:0' (torch
    does too), which moves where lines wrap, so the comparison there ignores the wrapping."""
    text = repr(ours)
    if device == "cpu":
        return text
    suffix = re.compile(r",\s+device='cuda:0'")
    assert len(suffix.findall(text)) == text.count("tensor("), text
    return " ".join(suffix.sub("", text).split()) == " ".join(ref.split()) and ref


def test_max_dim_returns_named_tuple_with_torch_repr(device):
    F = on_device(flambeau, device)
    a = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]], np.float32)
    for code in ["x.max(1)", "x.min(0, keepdim=True)", "x.aminmax()", "x.aminmax(dim=0)"]:
        ours = eval(code, {"x": F.tensor(a)})
        ref = eval(code, {"x": torch.tensor(a)})
        assert repr_off(device, ours, repr(ref)) == repr(ref), code
    r = F.tensor(a).max(1)
    values, indices = r
    assert r.values is values and r.indices is indices and r[0] is values
    assert indices.tolist() == [1, 0]
    m = F.tensor(a).aminmax()
    assert (m.min.item(), m.max.item()) == (0.0, 7.0)


def test_reduction_grad_fn_repr(device):
    F = on_device(flambeau, device)
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    for code in ["x.sum()", "x.sum(0)", "x.mean()", "x.mean(1)", "x.std()", "x.prod()", "x.prod(1)", "x.max()",
                 "x.amax(0)", "x.logsumexp(1)", "x.nansum()", "x.var(0)", "x.max(0)", "torch.var_mean(x, 1)",
                 "torch.std_mean(x)", "torch.dist(x, x * 2)", "torch.dist(x, x.detach(), 1)", "x.min()", "x.amin(1)",
                 *(["x.aminmax()"] if oracle_version() >= (2, 13) else []), "x.std(1)", "x.nanmean()", "x.cumsum(0)", "x.cumprod(1)", "x.mean(dim=None)"]:
        ours = eval(code, {"x": F.tensor(a, requires_grad=True), "torch": flambeau})
        ref = eval(code, {"x": torch.tensor(a, requires_grad=True), "torch": torch})
        assert repr_off(device, ours, repr(ref)) == repr(ref), code


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.sum(), lambda lib, x: x.sum((0, 2), keepdim=True), lambda lib, x: x.mean(1),
    lambda lib, x: x.nansum(0), lambda lib, x: x.std(1), lambda lib, x: x.var(0, correction=0),
    lambda lib, x: x.std(), lambda lib, x: lib.std_mean(x, 1)[0] + lib.var_mean(x, 2)[1].sum(),
    lambda lib, x: x.prod(1), lambda lib, x: x.prod(), lambda lib, x: x.max(), lambda lib, x: x.max(2)[0],
    lambda lib, x: x.min(0, keepdim=True)[0], lambda lib, x: x.amax((0, 1)), lambda lib, x: x.amin(2),
    lambda lib, x: x.norm(), lambda lib, x: x.norm(1, dim=1), lambda lib, x: x.cumsum(1), lambda lib, x: x.cumprod(2),
    lambda lib, x: x.logsumexp(2), lambda lib, x: x.logsumexp((0, 1), keepdim=True),
    lambda lib, x: lib.dist(x, x.detach() * 0.5),
], ids=lambda f: str(f.__code__.co_firstlineno))
def test_reduction_gradients_match_torch(fn, device):
    check_against_torch(fn, (2, 3, 4), device=device)


def test_prod_gradient_with_zeros(device):
    x = np.array([[1.0, 0.0, 3.0], [0.0, 0.0, 2.0], [4.0, 5.0, 6.0]])
    check_against_torch(lambda lib, t: t.prod(1), (3, 3), make_input=lambda rng, s: x, device=device)
    check_against_torch(lambda lib, t: t.prod(), (3, 3), make_input=lambda rng, s: x, device=device)


def test_lecture_mean_std_sum(device):
    F = on_device(flambeau, device)
    x = F.empty(2, 5).fill_(1.125)
    assert x.mean().item() == 1.125 and x.std().item() == 0.0
    assert x.sum().item() == 11.25


@pytest.mark.parametrize("shape,kwargs", [((1,), {}), ((0,), {}), ((2, 1), {"dim": 1}), ((3,), {"correction": 3}),
                                          ((3,), {"correction": 4}), ((0, 3), {"dim": 1}), ((0, 3), {"dim": 0}),
                                          ((), {}), ((2, 3), {"dim": 1}), ((3,), {"correction": 2})])
@pytest.mark.parametrize("op", ["var", "std", "var_mean", "std_mean"])
def test_nonpositive_degrees_of_freedom_warn_as_torch(op, shape, kwargs, device):
    """PyTorch's UserWarning (its words, before its C++ location) and NaN; NumPy's own warning stays silent."""
    import warnings
    results, messages = [], []
    for lib in (torch, on_device(flambeau, device)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results.append(getattr(lib, op)(lib.ones(shape), **kwargs))
        messages.append([(w.category, str(w.message).split(" (Triggered")[0]) for w in caught])
    assert messages[1] == messages[0]
    assert_same(results[1], results[0], device=device)


# trapezoid rule and renorm: values, dtypes and errors (types and messages) as torch's
INTEGRATION = [
    "torch.trapezoid(y)", "torch.trapezoid(y, dx=0.5)", "torch.trapezoid(y, dim=0)", "torch.trapezoid(y, x)",
    "torch.trapezoid(y, x2, dim=0)", "torch.trapezoid(y, y)", "torch.trapezoid(y, y[:1], dim=0)",
    "torch.trapezoid(y.long())", "torch.trapezoid(y.long(), dx=3)", "torch.trapezoid(y.long(), x.long())",
    "torch.trapezoid(y[:, :0])", "torch.trapezoid(y[:, :0].long())", "torch.trapezoid(y[:0], dim=0)",
    "torch.trapezoid(y[:, :1])", "torch.trapz(y)", "torch.trapz(y, x)", "torch.trapz(y, dx=2, dim=0)",
    "torch.cumulative_trapezoid(y)", "torch.cumulative_trapezoid(y, dx=2.5, dim=0)", "torch.cumulative_trapezoid(y, x)",
    "torch.cumulative_trapezoid(y, y, dim=0)", "torch.cumulative_trapezoid(y[:, :0])", "torch.cumulative_trapezoid(y.long())",
    "y.renorm(2, 0, 1)", "y.renorm(1, 1, 0.5)", "y.renorm(float('inf'), 0, 0.5)", "y.renorm(3, -1, 100)",
    "torch.renorm(y, 0.5, 0, 1)", "y.double().renorm(2, 1, 0.1)", "y[:0].renorm(2, 1, 0.1)", "y[:, :0].renorm(2, 0, 1)",
    "y.to(torch.complex64).renorm(2, 0, 1)",
]
INTEGRATION_ERRORS = [
    "torch.trapezoid(y > 0)", "torch.trapezoid(y, x > 0)", "torch.trapezoid(y, dx=1j)", "torch.trapezoid(y, dx=True)",
    "torch.trapezoid(y, x[:3])", "torch.trapezoid(y, dim=2)", "torch.trapezoid(y.sum())", "torch.trapezoid(y, x, dx=2)",
    "torch.trapezoid(y, 2)", "torch.trapezoid(y, None)", "torch.trapezoid(y, dx=None)", "torch.trapz(y, None)",
    "torch.cumulative_trapezoid(y > 0)", "torch.cumulative_trapezoid(y, dx=1j)", "torch.cumulative_trapezoid(y, x[:2])",
    "y.renorm(0, 0, 1)", "y.renorm(-1, 0, 1)", "y.renorm(2, 0, -1.5)", "y.renorm(1j, 0, 1)", "y.renorm(2, 0, 1j)",
    "y.renorm(2, 2, 1)", "y.long().renorm(2, 0, 1)", "y[0].renorm(2, 0, 1)", "y.sum().renorm(2, 0, 1)",
]


def _integration_inputs(lib, device="cpu"):
    rng = np.random.default_rng(5)
    y = lib.tensor(rng.standard_normal((3, 4)) * 2, dtype=lib.float32, device=device)
    x = lib.tensor(np.cumsum(rng.random(4)), dtype=lib.float32, device=device)
    x2 = lib.tensor(rng.random((3, 4)), dtype=lib.float32, device=device)
    return {"torch": lib, "y": y, "x": x, "x2": x2}


@pytest.mark.parametrize("code", INTEGRATION + INTEGRATION_ERRORS)
def test_trapezoid_and_renorm_match_torch(code, device):
    results = []
    for lib, dev in ((torch, "cpu"), (on_device(flambeau, device), device)):
        env = _integration_inputs(lib, dev)
        with host_reads() as reads:
            try:
                results.append(eval(code, env))
            except Exception as e:          # noqa: BLE001 - the exception is what is compared
                results.append(e)
    ref, ours = results
    if isinstance(ref, Exception):
        assert type(ours) is type(ref), f"torch raised {ref!r}, flambeau gave {ours!r}"
        assert str(ours).split("\n")[0] == str(ref).split("\n")[0]
        return
    assert not isinstance(ours, Exception), f"flambeau raised {ours!r}"
    assert reads[0] == 0, f"{reads[0]} reads of device values by the host"
    assert_same(ours, ref, rtol=1e-5, atol=1e-6, device=device)


@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (3, 3)])
def test_trace_node(shape, device):
    # flambeau.trace itself is defined in _legacy; this is the single-node version it can call
    from flambeau._ops.reduction import trace
    check_against_torch(lambda L, x: torch.trace(x) if L is torch else trace(x), shape, device=device)
    x = flambeau.ones(*shape, requires_grad=True, device=device)
    assert type(trace(x).grad_fn).__name__ == type(torch.ones(*shape, requires_grad=True).trace().grad_fn).__name__
    assert trace(flambeau.tensor([[1, 2], [3, 4]], dtype=flambeau.int32, device=device)).dtype is flambeau.int64


# complex numbers have no order (and some kernels have no complex loop): torch raises, with these types
COMPLEX_REJECTED = {
    "softmax_dim0": lambda L, x: x.softmax(0), "softmax_last": lambda L, x: x.softmax(-1),
    "log_softmax_dim0": lambda L, x: x.log_softmax(0), "log_softmax_last": lambda L, x: x.log_softmax(1),
    "functional_softmax": lambda L, x: L.nn.functional.softmax(x, 1), "max": lambda L, x: x.max(),
    "max_dim": lambda L, x: x.max(1), "min": lambda L, x: x.min(), "min_dim": lambda L, x: x.min(0),
    "amax": lambda L, x: x.amax(), "amin": lambda L, x: x.amin(1), "argmax": lambda L, x: x.argmax(),
    "argmin": lambda L, x: x.argmin(1), "aminmax": lambda L, x: L.aminmax(x), "nansum": lambda L, x: x.nansum(),
    "nanmean": lambda L, x: x.nanmean(), "fmax": lambda L, x: L.fmax(x, x), "fmin": lambda L, x: L.fmin(x, x),
    "cummax": lambda L, x: x.cummax(0), "cummin": lambda L, x: x.cummin(0), "median": lambda L, x: x.median(),
    "median_dim": lambda L, x: x.median(0), "nanmedian": lambda L, x: x.nanmedian(),
    "kthvalue": lambda L, x: x.kthvalue(1), "mode": lambda L, x: x.mode(), "unique": lambda L, x: L.unique(x),
    "searchsorted": lambda L, x: L.searchsorted(x[0], x[0]), "bucketize": lambda L, x: L.bucketize(x, x[0].real),
    "mvlgamma": lambda L, x: L.mvlgamma(x, 2), "digamma_via_polygamma": lambda L, x: L.polygamma(0, x),
    "trigamma": lambda L, x: L.polygamma(1, x), "polygamma": lambda L, x: L.polygamma(2, x),
    "copysign": lambda L, x: x.copysign(x), "heaviside": lambda L, x: x.heaviside(x), "xlogy": lambda L, x: L.xlogy(x, x),
    "deg2rad": lambda L, x: x.deg2rad(), "rad2deg": lambda L, x: x.rad2deg(),
    "nan_to_num_recorded": lambda L, x: x.requires_grad_().nan_to_num(),
}


@pytest.mark.parametrize("name", sorted(COMPLEX_REJECTED))
def test_complex_inputs_rejected_as_torch(name, device):
    data = np.array([[0.5 + 0.3j, 1.2 - 0.4j, -0.7 + 0.2j], [0.1 - 0.9j, 0.6 + 0.6j, -1.1 - 0.3j]])
    fn = COMPLEX_REJECTED[name]
    with pytest.raises(Exception) as ref:
        fn(torch, torch.tensor(data))
    with pytest.raises(type(ref.value), match=re.escape(str(ref.value)[:30])):
        fn(on_device(flambeau, device), on_device(flambeau, device).tensor(data))


@pytest.mark.parametrize("shape,dims", [((6, 4, 5, 7), (0, 2, 3)), ((6, 4, 5), (0, 2)), ((3, 2, 4, 5, 2), (0, 3, 4)),
                                        ((6, 4, 5, 7), (3, 0, 2)), ((0, 4, 5), (0, 2)), ((6, 4, 5, 7), (0, 3))])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_and_mean_over_batch_and_trailing_dims(shape, dims, keepdim):
    """The batch-first summation order (reduction.sum_array) on contiguous and strided inputs, against torch."""
    for dtype in ("float32", "float64"):
        for make in (lambda a: a, lambda a: a.swapaxes(0, 1).copy().swapaxes(0, 1)):     # contiguous, strided
            a = make(np.random.default_rng(0).standard_normal(shape).astype(dtype))
            for op in ("sum", "mean"):
                ours = getattr(flambeau.tensor(a), op)(dims, keepdim=keepdim)
                ref = getattr(torch.tensor(a), op)(dims, keepdim=keepdim)
                assert tuple(ours.shape) == tuple(ref.shape)
                np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-5 if dtype == "float32" else 1e-12,
                                           atol=1e-5 if dtype == "float32" else 1e-12)
