"""NumPy's argument names, as PyTorch accepts them: axis= for dim=, keepdims= for keepdim=, and
PyTorch's own keyword names where flambeau's differed (input=, dims=, axis0=...), against torch."""
import numpy as np
import pytest
import torch

import flambeau


def _index(lib, x, values):
    return lib.tensor(values).to(x.device)


CASES = {
    "sum axis": lambda lib, x: lib.sum(x, axis=0),
    "Tensor.sum axis keepdims": lambda lib, x: x.sum(axis=1, keepdims=True),
    "mean axis": lambda lib, x: x.mean(axis=1),
    "std axis": lambda lib, x: x.std(axis=0),
    "var keepdims": lambda lib, x: x.var(1, keepdims=True),
    "max axis": lambda lib, x: x.max(axis=1),
    "argmax axis": lambda lib, x: x.argmax(axis=1),
    "amax axis keepdims": lambda lib, x: x.amax(axis=1, keepdims=True),
    "prod axis": lambda lib, x: x.prod(axis=1),
    "logsumexp axis": lambda lib, x: x.logsumexp(axis=1),
    "median axis": lambda lib, x: x.median(axis=1),
    "all keepdims": lambda lib, x: (x > 0).all(1, keepdims=True),
    "any axis": lambda lib, x: (x > 0).any(axis=1),
    "count_nonzero axis": lambda lib, x: x.count_nonzero(axis=1),
    "cumsum axis": lambda lib, x: x.cumsum(axis=1),
    "softmax axis": lambda lib, x: x.softmax(axis=1),
    "sort axis": lambda lib, x: x.sort(axis=1),
    "topk axis": lambda lib, x: x.topk(1, axis=1),
    "diff axis": lambda lib, x: x.diff(axis=1),
    "cat axis": lambda lib, x: lib.cat([x, x], axis=1),
    "concatenate axis": lambda lib, x: lib.concatenate([x, x], axis=1),
    "stack axis": lambda lib, x: lib.stack([x, x], axis=1),
    "squeeze axis": lambda lib, x: x[None].squeeze(axis=0),
    "unsqueeze axis": lambda lib, x: x.unsqueeze(axis=0),
    "narrow axis": lambda lib, x: x.narrow(axis=1, start=0, length=1),
    "select axis": lambda lib, x: x.select(axis=1, index=0),
    "chunk axis": lambda lib, x: x.chunk(2, axis=1),
    "unbind axis": lambda lib, x: x.unbind(axis=1),
    "gather axis": lambda lib, x: x.gather(axis=1, index=_index(lib, x, [[0], [2]])),
    "index_select axis": lambda lib, x: x.index_select(axis=1, index=_index(lib, x, [0])),
    "size axis": lambda lib, x: lib.tensor(x.size(axis=0)),
    "fft.fft axis": lambda lib, x: lib.fft.fft(x, axis=0),
    "linalg.vector_norm axis": lambda lib, x: lib.linalg.vector_norm(x, axis=0),
    "dim and axis both": lambda lib, x: lib.sum(x, dim=0, axis=0),
    "Tensor.sum out=None": lambda lib, x: x.sum(axis=None, out=None),     # np.sum(t) calls this
    "sum out=": lambda lib, x: lib.sum(x, axis=1, out=lib.empty(0, device=x.device)),
    # PyTorch's keyword names
    "transpose input=": lambda lib, x: lib.transpose(input=x, dim0=0, dim1=1),
    "flatten input=": lambda lib, x: lib.flatten(input=x),
    "unsqueeze input=": lambda lib, x: lib.unsqueeze(input=x, dim=0),
    "movedim input=": lambda lib, x: lib.movedim(input=x, source=0, destination=1),
    "swapaxes axis0=": lambda lib, x: lib.swapaxes(x, axis0=0, axis1=1),
    "Tensor.swapaxes axis0=": lambda lib, x: x.swapaxes(axis0=0, axis1=1),
    "swapdims dim0=": lambda lib, x: lib.swapdims(x, dim0=0, dim1=1),
    "dot tensor=": lambda lib, x: lib.dot(x[0], tensor=x[1]),
    "promote_types type1=": lambda lib, x: lib.zeros(1, dtype=lib.promote_types(type1=lib.float32, type2=lib.int64)),
}


# PyTorch's parser words these errors after the overload it tried last: only the type is compared
_OTHER_WORDS = {"Tensor.sum out=None"}


def _run(lib, name, device):
    x = lib.tensor([[1., -2., 3.], [4., 5., -6.]])
    if lib is flambeau:
        x = x.to(device)
    try:
        r = CASES[name](lib, x)
    except TypeError as e:
        return ("TypeError", str(e).replace("Tensor.", ""))
    parts = list(r) if isinstance(r, tuple) else [r]
    return ("ok", [(p.cpu().numpy(), str(p.dtype).replace("torch.", "")) for p in parts])


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_and_pytorch_argument_names(name, device):
    got, want = _run(flambeau, name, device), _run(torch, name, "cpu")
    assert got[0] == want[0], (got, want)
    if got[0] == "TypeError":
        if name not in _OTHER_WORDS:
            assert got[1] == want[1]
        return
    for (g, gdt), (w, wdt) in zip(got[1], want[1]):
        assert gdt == wdt
        np.testing.assert_allclose(g, w, rtol=1e-6)
