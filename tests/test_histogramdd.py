"""flambeau.histogramdd against torch.histogramdd: counts, weights, density, bin edges from counts, ranges
or tensors, points on the edges, empty input, the result type, autograd and the errors."""
import numpy as np
import pytest

import flambeau
from _oracle import assert_same, expected_reads, host_reads, need_torch, no_host_reads

torch = need_torch()


def _tensors(device, *arrays):
    """Each array as a flambeau tensor on device and as a torch tensor (None stays None)."""
    ours = [None if a is None else flambeau.tensor(a, device=device) for a in arrays]
    ref = [None if a is None else torch.tensor(a) for a in arrays]
    return ours, ref


def _compare(device, x, bins, rtol=1e-6, atol=1e-12, weight=None, **kw):
    """histogramdd on both; bins as given (ints) or as a list of arrays (edges); the results must agree."""
    (xo, wo), (xr, wr) = _tensors(device, x, weight)
    if isinstance(bins, (list, tuple)) and bins and isinstance(bins[0], np.ndarray):
        bo = [flambeau.tensor(b, device=device) for b in bins]
        br = [torch.tensor(b) for b in bins]
    else:
        bo = br = bins
    ours = flambeau.histogramdd(xo, bo, weight=wo, **kw)
    ref = torch.histogramdd(xr, br, weight=wr, **kw)
    assert type(ours).__name__ == "histogramdd" and isinstance(ours.bin_edges, tuple)
    assert len(ours.bin_edges) == len(ref.bin_edges)
    assert_same(ours.hist, ref.hist, rtol=rtol, atol=atol, device=device)
    assert_same(list(ours.bin_edges), list(ref.bin_edges), rtol=0, atol=0, device=device)
    return ours


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bins", [1, 4, [3, 1, 5], (2, 7, 3)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("density", [False, True])
def test_random_points_match_torch(dtype, bins, weighted, density, device):
    rng = np.random.default_rng(len(str(bins)) + weighted)
    x = rng.standard_normal((200, 3)).astype(dtype)
    w = rng.uniform(0.1, 2.0, 200).astype(dtype) if weighted else None
    # float32 sums round differently (flambeau sums in float64): density and weights within a few ulps
    rtol = 1e-5 if dtype == "float32" and (weighted or density) else 1e-12
    _compare(device, x, bins, rtol=rtol, weight=w, density=density)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_explicit_range(dtype, device):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 2)).astype(dtype)
    w = rng.standard_normal(300).astype(dtype)           # negative weights too
    for rg in ([-1.0, 1.0, -0.5, 2.0], (0, 3, -3, 0), [-5.0, 5.0, -5.0, 5.0], [0.25, 0.25, 1.0, 1.5],
               [10.0, 11.0, -1.0, 1.0]):
        for density in (False, True):
            _compare(device, x, [4, 6], rtol=1e-5, weight=w, range=rg, density=density)


def test_higher_dimensional_input_and_weight(device):
    rng = np.random.default_rng(2)
    x = rng.uniform(-2, 2, (4, 5, 6, 2))
    w = rng.uniform(0, 1, (4, 5, 6))
    _compare(device, x, [3, 4], weight=w)
    _compare(device, x, 5, weight=w, density=True)
    _compare(device, rng.uniform(size=(50, 1)), 7)                        # N = 1
    _compare(device, rng.uniform(size=(50, 5)), [2, 3, 1, 2, 3], density=True)
    _compare(device, np.ones((1, 2)), 2, weight=np.array(3.0))           # torch reads a 0-d weight as (1,)


def test_explicit_edges_and_points_on_them(device):
    # every bin holds its left edge; the last also its right edge; points outside any dimension drop out
    e0 = np.array([0.0, 0.5, 1.0, 2.0])
    e1 = np.array([-1.0, 0.25, 0.75])
    x = np.array([[0.0, -1.0], [0.5, 0.25], [1.0, 0.75], [2.0, 0.75], [2.0, 0.76], [-0.1, 0.0], [0.49, 0.7],
                  [1.99999, 0.2499], [np.nan, 0.0], [0.2, np.nan], [np.inf, 0.0], [0.7, -np.inf]])
    w = np.arange(1.0, 13.0)
    for density in (False, True):
        _compare(device, x, [e0, e1], weight=w, density=density)
        _compare(device, x, [e0, e1], density=density)
    # repeated edges: an empty bin between them, as torch's binary search places the points
    _compare(device, x, [np.array([0.0, 0.5, 0.5, 1.0, 2.0]), e1], weight=w)
    # edges from counts, with data sitting exactly on them
    grid = np.stack(np.meshgrid(np.linspace(0, 1, 5), np.linspace(-2, 2, 9)), -1).reshape(-1, 2)
    for dtype in ("float32", "float64"):
        _compare(device, grid.astype(dtype), [4, 8])
        _compare(device, grid.astype(dtype), [4, 8], range=[0.0, 1.0, -2.0, 2.0])
        _compare(device, grid.astype(dtype), [3, 7], range=[0.0, 0.9, -1.0, 1.0])


def test_tensor_bins_are_returned_as_given_and_range_ignored(device):
    x = flambeau.tensor([[0.1, 0.2], [0.6, 0.9]], device=device)
    bins = [flambeau.tensor([0.0, 0.5, 1.0], device=device), flambeau.tensor([0.0, 1.0], device=device)]
    r = flambeau.histogramdd(x, bins, range=[5.0, 6.0])        # torch ignores range (even a wrong-sized one)
    assert r.bin_edges[0] is bins[0] and r.bin_edges[1] is bins[1]
    assert r.hist.tolist() == [[1.0], [1.0]]


def test_empty_and_constant_input(device):
    # no data: [0, 1] per dimension (or the range); a constant dimension widens by 0.5 each way
    _compare(device, np.zeros((0, 2), np.float32), 3)
    _compare(device, np.zeros((0, 2)), [2, 4], range=[2.0, 3.0, -1.0, 0.0])
    _compare(device, np.zeros((3, 0, 2)), 2, weight=np.zeros((3, 0)))
    _compare(device, np.zeros((0, 2)), 2, density=True)                    # 0 / 0: NaN, as torch
    _compare(device, np.zeros((0, 2)), [np.array([0.0, 1.0]), np.array([0.0, 2.0, 3.0])])
    _compare(device, np.ones((4, 2)), 2)
    _compare(device, np.array([[1.0, 5.0], [1.0, 6.0]]), [3, 2], range=[1.0, 1.0, 5.0, 6.0])
    _compare(device, np.ones((4, 2)), 2, weight=np.zeros(4), density=True)
    # no dimensions at all: a 0-d histogram of nothing, no edges
    for kw in ({}, {"density": True}, {"range": []}):
        _compare(device, np.zeros((3, 0)), 2, **kw)
        _compare(device, np.zeros((3, 0)), [], **kw)


def test_float16(device):
    x = np.array([[0.1, 0.2], [0.6, 0.9], [0.7, 0.3]], np.float16)
    _compare(device, x, 2, range=[0.0, 1.0, 0.0, 1.0])
    _compare(device, x, [np.array([0.0, 0.5, 1.0], np.float16)] * 2, weight=np.ones(3, np.float16))
    _compare(device, np.zeros((0, 2), np.float16), 2)


def test_extreme_values(device):
    _compare(device, np.array([[1e30, 0.0], [0.0, 0.0]], np.float32), 2)
    _compare(device, np.array([[3.4e38, -3.4e38], [0.0, 0.0]], np.float32), 2)
    _compare(device, np.array([[1e-300, 0.0], [2e-300, 1.0]]), 3)


def test_density_integrates_to_one(device):
    rng = np.random.default_rng(3)
    x = flambeau.tensor(rng.standard_normal((500, 3)), device=device)
    r = flambeau.histogramdd(x, [4, 5, 6], density=True)
    widths = [np.diff(e.cpu().numpy()) for e in r.bin_edges]
    volume = widths[0][:, None, None] * widths[1][None, :, None] * widths[2][None, None, :]
    assert abs((r.hist.cpu().numpy() * volume).sum() - 1) < 1e-12


def test_result_type_and_namespace():
    r = flambeau.histogramdd(flambeau.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), bins=[2, 2])
    h, edges = r
    assert h is r.hist and edges is r.bin_edges and isinstance(r, tuple) and len(r) == 2
    assert repr(r).startswith("torch.return_types.histogramdd(\nhist=tensor(")
    assert h.tolist() == [[1.0, 0.0], [0.0, 2.0]] and h.is_contiguous()
    assert hasattr(flambeau.Tensor, "histogramdd") == hasattr(torch.Tensor, "histogramdd")
    # torch's arguments: bins required, range/weight/density positional or keyword, no out=
    x = flambeau.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert flambeau.histogramdd(x, 2, [0.0, 2.0, 0.0, 2.0], flambeau.ones(2), True).hist.shape == (2, 2)
    for lib in (flambeau, torch):
        with pytest.raises(TypeError):
            lib.histogramdd(lib.tensor([[0.0, 1.0]]))
        with pytest.raises(TypeError):
            lib.histogramdd(lib.tensor([[0.0, 1.0]]), 2, out=None)


def test_autograd_records_a_refusing_node():
    for make in (lambda lib, x, w: lib.histogramdd(x, 2, weight=w),
                 lambda lib, x, w: lib.histogramdd(x, [lib.tensor([0.0, 1.0, 2.0])] * 2, weight=w)):
        results = []
        for lib in (flambeau, torch):
            for grad_x, grad_w in ((True, False), (False, True)):
                x = lib.tensor([[0.0, 1.0], [1.0, 2.0]], requires_grad=grad_x)
                w = lib.tensor([1.0, 2.0], requires_grad=grad_w)
                r = make(lib, x, w)
                assert r.hist.requires_grad
                assert type(r.hist.grad_fn).__name__ == "NotImplemented"
                with pytest.raises(RuntimeError) as e:
                    r.hist.sum().backward()
                results.append((str(e.value), [type(b.grad_fn).__name__ for b in r.bin_edges]))
        assert results[:2] == results[2:]
    r = flambeau.histogramdd(flambeau.tensor([[0.0, 1.0]]), 2)
    assert not r.hist.requires_grad and r.hist.grad_fn is None


def test_host_reads(device):
    """Only the edges inferred from the data read the device (once, for every dimension's min and max)."""
    x = flambeau.tensor(np.random.default_rng(4).uniform(size=(40, 3)), device=device)
    w = flambeau.ones(40, device=device, dtype=flambeau.float64)
    bins = [flambeau.tensor([0.0, 0.5, 1.0], device=device, dtype=flambeau.float64)] * 3
    with no_host_reads(device):
        flambeau.histogramdd(x, bins, weight=w, density=True)
        flambeau.histogramdd(x, [2, 3, 4], range=[0.0, 1.0] * 3, weight=w)
    with host_reads() as n:
        flambeau.histogramdd(x, 3)
    assert n[0] == expected_reads(device, 1)


def _same_error(fn, device):
    """fn(lib, dev) raises the same exception type and message with flambeau on device and torch on the CPU."""
    errors = []
    for lib, dev in ((flambeau, device), (torch, "cpu")):
        with pytest.raises(Exception) as e:
            fn(lib, dev)
        errors.append((e.type, str(e.value)))
    assert errors[0] == errors[1]
    return errors[0][0]


def _t(lib, dev, values, dtype="float32"):
    return lib.tensor(values, dtype=getattr(lib, dtype), device=dev)


X = [[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [2.0, 2.0]]
E = [0.0, 1.0, 2.0]
ERRORS = {
    "1-d input": lambda lib, d: lib.histogramdd(_t(lib, d, [1.0, 2.0]), 2),
    "1-d input, edges": lambda lib, d: lib.histogramdd(_t(lib, d, [1.0, 2.0]), [_t(lib, d, E)]),
    "0-d input, int": lambda lib, d: lib.histogramdd(_t(lib, d, 1.0), 2),
    "0-d input, ints": lambda lib, d: lib.histogramdd(_t(lib, d, 1.0), [2, 2]),
    "int input": lambda lib, d: lib.histogramdd(_t(lib, d, X, "int64"), 2),
    "float16 input, no range": lambda lib, d: lib.histogramdd(_t(lib, d, X, "float16"), 2),
    "bool input": lambda lib, d: lib.histogramdd(_t(lib, d, [[True, False]], "bool"), 2),
    "int input, range": lambda lib, d: lib.histogramdd(_t(lib, d, X, "int64"), 2, [0.0, 1.0, 0.0, 1.0]),
    "int input, empty": lambda lib, d: lib.histogramdd(_t(lib, d, np.zeros((0, 2)), "int64"), 2),
    "int input, int edges": lambda lib, d: lib.histogramdd(_t(lib, d, X, "int64"), [_t(lib, d, [0, 1], "int64")] * 2),
    "int input, float edges": lambda lib, d: lib.histogramdd(_t(lib, d, X, "int64"), [_t(lib, d, E)] * 2),
    "int input, bad range": lambda lib, d: lib.histogramdd(_t(lib, d, X, "int64"), 2, [1.0, 0.0, 0.0, 1.0]),
    "bins 0": lambda lib, d: lib.histogramdd(_t(lib, d, X), 0),
    "bins -1": lambda lib, d: lib.histogramdd(_t(lib, d, X), [2, -1]),
    "bins -2": lambda lib, d: lib.histogramdd(_t(lib, d, X), [2, -2]),
    "too many counts": lambda lib, d: lib.histogramdd(_t(lib, d, X), [2, 2, 2]),
    "too few counts": lambda lib, d: lib.histogramdd(_t(lib, d, X), [2]),
    "too few edges": lambda lib, d: lib.histogramdd(_t(lib, d, X), [_t(lib, d, E)]),
    "edges dtype": lambda lib, d: lib.histogramdd(_t(lib, d, X), [_t(lib, d, E), _t(lib, d, E, "float64")]),
    "edges int dtype": lambda lib, d: lib.histogramdd(_t(lib, d, X), [_t(lib, d, [0, 1], "int64")] * 2),
    "edges 2-d": lambda lib, d: lib.histogramdd(_t(lib, d, X), [_t(lib, d, E), _t(lib, d, [E])]),
    "edges empty": lambda lib, d: lib.histogramdd(_t(lib, d, X), [_t(lib, d, E), _t(lib, d, [])]),
    "one edge": lambda lib, d: lib.histogramdd(_t(lib, d, X), [_t(lib, d, E), _t(lib, d, [1.0])]),
    "range size": lambda lib, d: lib.histogramdd(_t(lib, d, X), 2, [0.0, 1.0]),
    "range size before counts": lambda lib, d: lib.histogramdd(_t(lib, d, X), [1, 2, 3], [0.0, 1.0, 0.0]),
    "range min > max": lambda lib, d: lib.histogramdd(_t(lib, d, X), 2, [0.0, 1.0, 2.0, 1.5]),
    "range inf": lambda lib, d: lib.histogramdd(_t(lib, d, X), 2, [0.0, float("inf"), 0.0, 1.0]),
    "range nan": lambda lib, d: lib.histogramdd(_t(lib, d, X), 2, [0.0, 1.0, float("nan"), 1.0]),
    "range overflows float32": lambda lib, d: lib.histogramdd(_t(lib, d, X), 2, [0.0, 1e40, 0.0, 1.0]),
    "data nan": lambda lib, d: lib.histogramdd(_t(lib, d, [[float("nan"), 1.0], [0.0, 0.0]]), 2),
    "data inf": lambda lib, d: lib.histogramdd(_t(lib, d, [[0.0, 1.0], [0.0, -float("inf")]]), 2),
    "data large": lambda lib, d: lib.histogramdd(_t(lib, d, [[0.5, 1.0], [-1e30, float("inf")]]), 2),
    "weight dtype": lambda lib, d: lib.histogramdd(_t(lib, d, X), 2, weight=_t(lib, d, [1.0] * 4, "float64")),
    "weight int": lambda lib, d: lib.histogramdd(_t(lib, d, X, "float64"), [_t(lib, d, E, "float64")] * 2,
                                                 weight=_t(lib, d, [1] * 4, "int64")),
    "weight shape": lambda lib, d: lib.histogramdd(_t(lib, d, X), 2, weight=_t(lib, d, [1.0] * 3)),
    "weight flat for 3-d": lambda lib, d: lib.histogramdd(_t(lib, d, np.zeros((2, 3, 2))), 2,
                                                          weight=_t(lib, d, [1.0] * 6)),
    "weight 0-d, 2 points": lambda lib, d: lib.histogramdd(_t(lib, d, X[:2]), 2, weight=_t(lib, d, 1.0)),
    "weight before one edge": lambda lib, d: lib.histogramdd(_t(lib, d, X), [_t(lib, d, [1.0])] * 2,
                                                             weight=_t(lib, d, [1.0] * 3)),
    "float16 weight": lambda lib, d: lib.histogramdd(_t(lib, d, X, "float16"), 2, [0.0, 1.0, 0.0, 1.0],
                                                     _t(lib, d, [1.0] * 4)),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_match_torch(case, device):
    _same_error(ERRORS[case], device)


def test_argument_type_errors():
    x = [[0.0, 1.0], [1.0, 0.0]]
    bad = [
        lambda lib: lib.histogramdd(x, 2),                                     # input not a tensor
        lambda lib: lib.histogramdd(lib.tensor(x), 2.0),
        lambda lib: lib.histogramdd(lib.tensor(x), True),
        lambda lib: lib.histogramdd(lib.tensor(x), [2, 2.0]),
        lambda lib: lib.histogramdd(lib.tensor(x), [2, lib.tensor([0.0, 1.0])]),
        lambda lib: lib.histogramdd(lib.tensor(x), lib.tensor([0.0, 1.0])),    # one tensor, not a sequence
        lambda lib: lib.histogramdd(lib.tensor(x), 2, [(0, 1), (0, 1)]),
        lambda lib: lib.histogramdd(lib.tensor(x), 2, 1.0),
        lambda lib: lib.histogramdd(lib.tensor(x), 2, [lib.tensor(0.0), 1.0, 0.0, 1.0]),
        lambda lib: lib.histogramdd(lib.tensor(x), 2, weight=[1.0, 1.0]),
        lambda lib: lib.histogramdd(lib.tensor(x), 2, density=1),
    ]
    for fn in bad:
        for lib in (flambeau, torch):
            with pytest.raises(TypeError):
                fn(lib)
    # a 0-d integer tensor counts as an int, as torch's parser takes it
    assert flambeau.histogramdd(flambeau.tensor(x), flambeau.tensor(2)).hist.tolist() == \
        torch.histogramdd(torch.tensor(x), torch.tensor(2)).hist.tolist()


def test_different_devices(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    x = flambeau.tensor([[0.0, 1.0]], device=device)
    with pytest.raises(RuntimeError, match="same device"):
        flambeau.histogramdd(x, [flambeau.tensor([0.0, 1.0])] * 2)
    with pytest.raises(RuntimeError, match="same device"):
        flambeau.histogramdd(x, 2, weight=flambeau.ones(1))
