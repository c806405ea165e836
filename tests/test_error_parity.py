"""Bad arguments get PyTorch's exception, in PyTorch's words (found running PyTorch's OpInfo error
inputs through flambeau): each call below must fail, or succeed, as it does in PyTorch."""
import warnings

import pytest
import torch

import flambeau

ONLY_THE_TYPE = {"hsplit str", "linspace", "logspace"}      # PyTorch lists overloads; flambeau names the argument


def cases(lib, device):
    F = lib.nn.functional
    x = lib.ones(3, 4, device=device)
    return {
     "arange inf": lambda: lib.arange(0, float("inf")),
     "arange nan": lambda: lib.arange(0, float("nan")),
     "arange -inf step": lambda: lib.arange(float("-inf"), 1),
     "complex out": lambda: lib.complex(lib.ones(2, dtype=lib.float64), lib.ones(2, dtype=lib.float64),
                                        out=lib.empty(2, dtype=lib.complex64)),
     "cov 3d": lambda: lib.cov(lib.ones(2, 2, 2)),
     "diff -1": lambda: lib.diff(lib.ones(3), n=-1),
     "diag_embed same": lambda: lib.diag_embed(x, dim1=1, dim2=1),
     "diag_embed far": lambda: lib.diag_embed(x, dim1=10000),
     "diag_embed far2": lambda: lib.diag_embed(x, dim2=10000),
     "gradient dup": lambda: lib.gradient(x, dim=(1, 1)),
     "isclose rtol": lambda: lib.isclose(x, x, rtol=-0.4),
     "isclose atol": lambda: lib.isclose(x, x, atol=-0.4),
     "isclose rtol integral": lambda: lib.isclose(x, x, rtol=-1.0),
     "isclose atol tiny": lambda: lib.isclose(x, x, atol=-1e-7),
     "isclose dtypes": lambda: lib.isclose(x, x.double()),
     "allclose dtypes": lambda: lib.allclose(lib.ones(2, dtype=lib.int8), lib.ones(2, dtype=lib.bool)),
     "layer_norm empty": lambda: F.layer_norm(x, []),
     "layer_norm weight": lambda: F.layer_norm(x, [4], lib.ones(3)),
     "layer_norm bias": lambda: F.layer_norm(x, [4], None, lib.ones(3)),
     "native_layer_norm empty": lambda: lib.native_layer_norm(x, [], None, None, 1e-5),
     "native_layer_norm weight": lambda: lib.native_layer_norm(x, [4], lib.ones(3), None, 1e-5),
     "rms_norm empty": lambda: F.rms_norm(x, []),
     "rms_norm shape": lambda: F.rms_norm(x, [3]),
     "rms_norm weight": lambda: F.rms_norm(x, [4], lib.ones(3)),
     "multi_margin weight 2d": lambda: F.multi_margin_loss(lib.ones(2, 3), lib.tensor([0, 1]), weight=lib.ones(3, 1)),
     "narrow tensor start 1d": lambda: x.narrow(1, lib.tensor([1, 2]), 2),
     "narrow tensor start bool": lambda: x.narrow(1, lib.tensor(True), 2),
     "narrow tensor start float": lambda: x.narrow(1, lib.tensor(1.0), 2),
     "narrow tensor start ok": lambda: x.narrow(1, lib.tensor(1), 2).shape,
     "roll empty": lambda: lib.roll(lib.ones(5), []),
     "roll 0d": lambda: lib.roll(lib.tensor(1.), 0, 0),
     "roll misaligned": lambda: lib.roll(x, [2, 1], 0),
     "roll dim out": lambda: lib.roll(lib.ones(5), 0, 2),
     "hsplit 0d": lambda: lib.hsplit(lib.tensor(1.), 2),
     "vsplit 1d": lambda: lib.vsplit(lib.ones(4), 2),
     "dsplit 1d": lambda: lib.dsplit(lib.ones(4), 2),
     "hsplit str": lambda: lib.hsplit(x, "a"),
     "hsplit uneven": lambda: lib.hsplit(x, 3),
     "index_add shape": lambda: lib.ones(3, 2).index_add(0, lib.tensor([0, 1]), lib.ones(2)),
     "index_add shape2": lambda: lib.ones(3, 2).index_add(0, lib.tensor([0, 1]), lib.ones(2, 3)),
     "index_add len": lambda: lib.ones(3, 2).index_add(0, lib.tensor([0, 1]), lib.ones(3, 2)),
     "index_copy shape": lambda: lib.ones(3, 2).index_copy(0, lib.tensor([0, 1]), lib.ones(2)),
     "take out": lambda: lib.take(x, lib.tensor([0, 5]), out=lib.empty(2)),
     "eye neg m": lambda: lib.eye(3, -3),
     "eye neg n": lambda: lib.eye(-3),
     "hstack empty": lambda: lib.hstack([]),
     "vstack empty": lambda: lib.vstack([]),
     "dstack empty": lambda: lib.dstack([]),
     "column_stack empty": lambda: lib.column_stack([]),
     "cat tensor": lambda: lib.cat(x),
     "stack tensor": lambda: lib.stack(x),
     "linalg.cross dim": lambda: lib.linalg.cross(lib.ones(3, 3), lib.ones(3, 3), dim=5),
     "cross dim": lambda: lib.cross(lib.ones(3, 3), lib.ones(3, 3), dim=5),
     "logspace": lambda: lib.logspace(1, 2, 2.5),
     "linspace": lambda: lib.linspace(1, 2, 2.5),
     "searchsorted side": lambda: lib.searchsorted(lib.ones(3), lib.ones(2), side="up"),
     "diff prepend ndim": lambda: lib.diff(x, prepend=lib.zeros(3)),
     "diff append shape": lambda: lib.diff(x, append=lib.zeros(2, 1)),
     "diff n=0 prepend ndim": lambda: lib.diff(x, n=0, prepend=lib.zeros(3)),
     "cartesian_prod 2d": lambda: lib.cartesian_prod(lib.ones(2), x),
     "cartesian_prod 0d": lambda: lib.cartesian_prod(lib.tensor(1.)),
     "cartesian_prod none": lambda: lib.cartesian_prod(),
     "combinations 2d": lambda: lib.combinations(x),
     "combinations r<0": lambda: lib.combinations(lib.ones(3), r=-1),
     "combinations r=0": lambda: lib.combinations(lib.ones(3), r=0),
     "combinations r>n": lambda: lib.combinations(lib.ones(2), r=3),
     "tensordot lists": lambda: lib.tensordot(x, x, dims=([0, 1], [0])),
     "inner last dim": lambda: lib.inner(x, lib.ones(4, 3)),
     "inner 1d": lambda: lib.inner(lib.ones(3), lib.ones(2)),
     "take_along_dim ndim": lambda: lib.take_along_dim(x, lib.tensor([0, 1]), dim=1),
     "take_along_dim int32": lambda: lib.take_along_dim(x, lib.tensor([[0]], dtype=lib.int32), dim=1),
     "take_along_dim float": lambda: lib.take_along_dim(x, lib.tensor([[0.0]]), dim=1),
     "index_reduce float index": lambda: x.index_reduce(0, lib.tensor([0.0]), lib.ones(1, 4), "amax"),
     "index_reduce index high": lambda: x.index_reduce(0, lib.tensor([3]), lib.ones(1, 4), "amax"),
     "index_reduce index neg": lambda: x.index_reduce(0, lib.tensor([-1]), lib.ones(1, 4), "prod"),
     "index_reduce neg no self": lambda: x.index_reduce(0, lib.tensor([-1]), lib.ones(1, 4), "prod",
                                                        include_self=False),
     "index_reduce far no self": lambda: x.index_reduce_(0, lib.tensor([0, -4]), lib.ones(2, 4), "mean",
                                                         include_self=False),
}


def _outcome(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = fn()
    except Exception as e:          # noqa: BLE001 - the exception is the outcome compared
        return type(e).__name__, str(e).split("\n")[0]
    return "ok", tuple(r.shape) if hasattr(r, "shape") else len(r)


@pytest.mark.parametrize("case", sorted(cases(torch, "cpu")))
def test_against_pytorch(case, device):
    expected = _outcome(cases(torch, "cpu")[case])
    flambeau.set_default_device(device)         # every tensor a case makes, on the device under test
    try:
        got = _outcome(cases(flambeau, device)[case])
    finally:
        flambeau.set_default_device(None)
    if case in ONLY_THE_TYPE:
        assert got[0] == expected[0]
    else:
        assert got == expected
