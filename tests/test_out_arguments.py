"""out= and keyword forms PyTorch accepts, checked against PyTorch: the result is written into out
(resized from empty), returned (a named pair for pair results), and a wrong out dtype is refused
as PyTorch refuses it."""
import numpy as np
import pytest
import torch

import flambeau


def _operands(lib, device):
    kw = {} if lib is torch else {"device": device}
    x = lib.tensor([[1., -2., 3.], [4., 5., -6.]], **kw)
    i = lib.tensor([[0, 1, 2], [2, 1, 0]], **kw)
    return x, i, lambda dtype=None: lib.empty(0, dtype=dtype or lib.float32, **kw)


CASES = {
    "logsumexp": lambda lib, x, i, E: lib.logsumexp(x, 1, out=E()),
    "logcumsumexp": lambda lib, x, i, E: lib.logcumsumexp(x, 1, out=E()),
    "masked_select": lambda lib, x, i, E: lib.masked_select(x, x > 0, out=E()),
    "mode": lambda lib, x, i, E: lib.mode(x, 1, out=(E(), E(lib.long))),
    "nanmean": lambda lib, x, i, E: lib.nanmean(x, 1, out=E()),
    "cummax": lambda lib, x, i, E: lib.cummax(x, 1, out=(E(), E(lib.long))),
    "cummin": lambda lib, x, i, E: lib.cummin(x, 1, out=(E(), E(lib.long))),
    "aminmax": lambda lib, x, i, E: lib.aminmax(x, dim=1, out=(E(), E())),
    "clamp_max": lambda lib, x, i, E: lib.clamp_max(x, 1., out=E()),
    "clamp_min": lambda lib, x, i, E: lib.clamp_min(x, 1., out=E()),
    "diff": lambda lib, x, i, E: lib.diff(x, dim=1, out=E()),
    "take_along_dim": lambda lib, x, i, E: lib.take_along_dim(x, i, 1, out=E()),
    "polygamma": lambda lib, x, i, E: lib.polygamma(1, x.abs(), out=E()),
    "polygamma into float64": lambda lib, x, i, E: lib.polygamma(1, x.abs(), out=E(lib.float64)),
    "signbit": lambda lib, x, i, E: lib.signbit(x, out=E(lib.bool)),
    "isposinf": lambda lib, x, i, E: lib.isposinf(x / 0, out=E(lib.bool)),
    "isneginf": lambda lib, x, i, E: lib.isneginf(x / 0, out=E(lib.bool)),
    "msort": lambda lib, x, i, E: lib.msort(x, out=E()),
    "kron": lambda lib, x, i, E: lib.kron(x, x, out=E()),
    "narrow_copy": lambda lib, x, i, E: lib.narrow_copy(x, 1, 0, 2, out=E()),
    "float_power": lambda lib, x, i, E: lib.float_power(x, 2, out=E(lib.float64)),
    "fmax": lambda lib, x, i, E: lib.fmax(x, -x, out=E()),
    "fmin": lambda lib, x, i, E: lib.fmin(x, -x, out=E()),
    "flip dims=": lambda lib, x, i, E: lib.flip(x, dims=[1]),
    "Tensor.flip dims=": lambda lib, x, i, E: x.flip(dims=(0, 1)),
    "permute dims=": lambda lib, x, i, E: lib.permute(x, dims=(1, 0)),
    "Tensor.permute dims=": lambda lib, x, i, E: x.permute(dims=[1, 0]),
    # factories: out's dtype unless dtype= says otherwise
    "zeros": lambda lib, x, i, E: lib.zeros(2, 3, out=E(lib.long)),
    "ones": lambda lib, x, i, E: lib.ones(2, 3, out=E()),
    "full into long": lambda lib, x, i, E: lib.full((2,), 2.5, out=E(lib.long)),
    "empty": lambda lib, x, i, E: lib.empty(2, 3, out=E()).shape,
    "eye": lambda lib, x, i, E: lib.eye(2, out=E(lib.long)),
    "linspace": lambda lib, x, i, E: lib.linspace(0, 1, 5, out=E(lib.float64)),
    "logspace": lambda lib, x, i, E: lib.logspace(0, 1, 5, out=E()),
    "arange": lambda lib, x, i, E: lib.arange(5, out=E(lib.long)),
    "rand": lambda lib, x, i, E: _shape_and_dtype(lib.rand(2, 3, out=E(lib.float64))),
    "randn": lambda lib, x, i, E: _shape_and_dtype(lib.randn(4, out=E())),
    "randint": lambda lib, x, i, E: _shape_and_dtype(lib.randint(0, 5, (2, 3), out=E())),
    "randperm": lambda lib, x, i, E: lib.randperm(5, out=E()).sort().values,
    "normal": lambda lib, x, i, E: _shape_and_dtype(lib.normal(0., 1., (2, 3), out=E(lib.float64))),
    "bernoulli": lambda lib, x, i, E: lib.bernoulli(lib.ones_like(x), out=E()),
    "multinomial": lambda lib, x, i, E: lib.multinomial(lib.ones_like(x[0]), 3, out=E(lib.long)).sort().values,
    # ops whose out= is written
    "gather": lambda lib, x, i, E: lib.gather(x, 1, i, out=E()),
    "index_select": lambda lib, x, i, E: lib.index_select(x, 1, i[0], out=E()),
    "nonzero": lambda lib, x, i, E: lib.nonzero(x > 0, out=E(lib.long)),
    "norm": lambda lib, x, i, E: lib.norm(x, dim=1, out=E()),
    "inner": lambda lib, x, i, E: lib.inner(x, x, out=E()),
    "quantile": lambda lib, x, i, E: lib.quantile(x, 0.5, dim=1, out=E()),
    "nanquantile": lambda lib, x, i, E: lib.nanquantile(x, 0.5, dim=1, out=E()),
    "histc": lambda lib, x, i, E: lib.histc(x, 4, out=E()),
    "histogram": lambda lib, x, i, E: lib.histogram(x, 4, out=(E(), E())),
    "searchsorted": lambda lib, x, i, E: lib.searchsorted(x[0].sort().values, x, out=E(lib.long)),
    "bucketize": lambda lib, x, i, E: lib.bucketize(x, x[0].sort().values, out=E(lib.long)),
    "diag": lambda lib, x, i, E: lib.diag(x[0], out=E()),
    "linalg.svd": lambda lib, x, i, E: lib.linalg.svd(x, full_matrices=False, out=(E(), E(), E()))[1],
    "linalg.slogdet": lambda lib, x, i, E: lib.linalg.slogdet(x @ x.T, out=(E(), E())),
    "linalg.eigh": lambda lib, x, i, E: lib.linalg.eigh(x @ x.T, out=(E(), E()))[0],
    "linalg.qr": lambda lib, x, i, E: lib.linalg.qr(x.T, out=(E(), E()))[1].abs(),
    "linalg.inv_ex": lambda lib, x, i, E: lib.linalg.inv_ex(x @ x.T, out=(E(), E(lib.int32))),
    "linalg.cholesky_ex": lambda lib, x, i, E: lib.linalg.cholesky_ex(x @ x.T, out=(E(), E(lib.int32))),
    "linalg.solve_ex": lambda lib, x, i, E: lib.linalg.solve_ex(x @ x.T, x, out=(E(), E(lib.int32))),
    "linalg.lu_factor": lambda lib, x, i, E: lib.linalg.lu_factor(x @ x.T, out=(E(), E(lib.int32))),
    "linalg.lu": lambda lib, x, i, E: lib.linalg.lu(x @ x.T, out=(E(), E(), E())),
    "geqrf": lambda lib, x, i, E: lib.geqrf(x.T, out=(E(), E()))[0].abs(),
    "triangular_solve": lambda lib, x, i, E: lib.triangular_solve(x, (x @ x.T).triu(), out=(E(), E())),
    "triangular_solve shapes": lambda lib, x, i, E: lib.triangular_solve(x.T, (x @ x.T).triu()),
    "tuple out of the wrong length": lambda lib, x, i, E: lib.linalg.slogdet(x @ x.T, out=(E(),)),
    # refused out dtypes
    "signbit into float": lambda lib, x, i, E: lib.signbit(x, out=E()),
    "isposinf into float": lambda lib, x, i, E: lib.isposinf(x, out=E()),
    "float_power into float32": lambda lib, x, i, E: lib.float_power(x, 2, out=E()),
    "clamp_min into long": lambda lib, x, i, E: lib.clamp_min(x, 0., out=E(lib.long)),
    "polygamma into long": lambda lib, x, i, E: lib.polygamma(1, x, out=E(lib.long)),
}


def _shape_and_dtype(t):
    """Random values differ between libraries: compare what they must agree on."""
    return t.new_zeros(()) + len(t.shape) * 100 + t.numel() + (0.5 if t.dtype.is_floating_point else 0)


def _run(lib, name, device):
    x, i, E = _operands(lib, device)
    try:
        r = CASES[name](lib, x, i, E)
    except (RuntimeError, TypeError) as e:       # (Python words TypeErrors its own way)
        return ("error", type(e).__name__, str(e) if isinstance(e, RuntimeError) else "")
    if isinstance(r, lib.Size):
        return ("ok", "Size", [(np.asarray(r), "", ())])
    parts = list(r) if isinstance(r, tuple) else [r]
    return ("ok", type(r).__name__ if isinstance(r, tuple) else "Tensor",
            [(p.cpu().numpy(), str(p.dtype).replace("torch.", ""), tuple(p.shape)) for p in parts])


@pytest.mark.parametrize("name", list(CASES))
def test_out_and_keywords_as_pytorch(name, device):
    got, want = _run(flambeau, name, device), _run(torch, name, "cpu")
    assert got[0] == want[0], (got, want)
    if got[0] == "error":
        assert got[1:] == want[1:]
        return
    assert got[1] == want[1]
    for (g, gdt, gshape), (w, wdt, wshape) in zip(got[2], want[2]):
        assert (gdt, gshape) == (wdt, wshape)
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_out_is_the_tensor_returned(device):
    x = flambeau.tensor([[1., -2., 3.], [4., 5., -6.]], device=device)
    out = flambeau.empty(0, device=device)
    assert flambeau.logsumexp(x, 1, out=out) is out
    values, indices = flambeau.empty(0, device=device), flambeau.empty(0, dtype=flambeau.long, device=device)
    r = flambeau.cummax(x, 1, out=(values, indices))
    assert r.values is values and r.indices is indices
