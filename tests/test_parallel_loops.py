"""The compiled loops spread over the cores (Note [Parallel loops] in flambeau/_threads.py):
convolutions and products in flambeau._ops.loops against PyTorch and NumPy, the serial builds
against the parallel ones, and a forked child that must not start OpenMP's threads."""
import multiprocessing
import os

import numpy as np
import pytest

import flambeau
import flambeau.nn.functional as F
from flambeau import _threads

numba = pytest.importorskip("numba")
pytest.importorskip("scipy")
loops = pytest.importorskip("flambeau._ops.loops")


@pytest.fixture
def two_threads():
    before = flambeau.get_num_threads()
    flambeau.set_num_threads(2)
    yield
    flambeau.set_num_threads(before)


GEOMETRIES = [  # (n, c, h, w, co, k, stride, pad, dilation)
    (6, 1, 12, 10, 4, 5, 1, 0, 1),
    (3, 3, 11, 11, 5, 3, 2, 1, 2),
    (2, 2, 9, 7, 3, 3, 1, 2, 1),
    (1, 4, 6, 6, 2, 1, 1, 0, 1),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_convolution_loops_match_torch(dtype, geometry):
    torch = pytest.importorskip("torch")
    n, c, h, w, co, k, stride, pad, dil = geometry
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((co, c, k, k)).astype(dtype)
    b = rng.standard_normal(co).astype(dtype)
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, wt, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad, dilation=dil)
    gy = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.from_numpy(gy))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)

    y = np.empty(gy.shape, dtype)
    loops.conv_forward(x, wt, b, stride, stride, pad, pad, dil, dil, y)
    np.testing.assert_allclose(y, ty.detach().numpy(), **tol)
    parts, bias_parts = np.empty((3,) + wt.shape, dtype), np.empty((3, co), dtype)     # 3 parts of n samples
    loops.conv_weight_grad(x, gy, stride, stride, pad, pad, dil, dil, parts, bias_parts)
    np.testing.assert_allclose(parts.sum(0), tw.grad.numpy(), **tol)
    np.testing.assert_allclose(bias_parts.sum(0), tb.grad.numpy(), **tol)
    gx = np.empty(x.shape, dtype)
    loops.conv_input_grad(gy, wt, stride, stride, pad, pad, dil, dil, gx)
    np.testing.assert_allclose(gx, tx.grad.numpy(), **tol)


@pytest.mark.parametrize("shapes", [((300, 200), (200, 100)), ((5, 70, 80), (5, 80, 90))])
@pytest.mark.parametrize("a_transposed", [False, True])
@pytest.mark.parametrize("b_transposed", [False, True])
def test_products_take_every_contiguous_layout(shapes, a_transposed, b_transposed, two_threads):
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal(s) for s in shapes)

    def laid_out(m, transposed):     # the same values, stored as the transpose of a contiguous array
        return np.ascontiguousarray(m.swapaxes(-1, -2)).swapaxes(-1, -2) if transposed else m
    out = loops.matmul(laid_out(a, a_transposed), laid_out(b, b_transposed))
    assert out is not None
    np.testing.assert_allclose(out, a @ b, rtol=1e-12, atol=1e-12)


def test_products_left_to_numpy():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((300, 200))
    assert loops.matmul(a, rng.standard_normal((200, 100)).astype(np.float32)) is None     # mixed dtypes
    assert loops.matmul(a[:, ::2], rng.standard_normal((100, 100))) is None                # strided
    assert loops.matmul(a[:2], rng.standard_normal((200, 3))) is None                      # too small to split
    assert loops.matmul(a.astype(np.int64), np.ones((200, 100), np.int64)) is None         # integers


def test_serial_and_parallel_builds_agree(two_threads):
    x = flambeau.randn(16, 8, 33, 31, requires_grad=True)      # over the loops' size threshold
    results = []
    for threads in (1, 2):
        flambeau.set_num_threads(threads)
        x.grad = None
        y, idx = F.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
        y.backward(flambeau.ones_like(y))
        results.append((y.detach().numpy().copy(), idx.numpy().copy(), x.grad.numpy().copy()))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_blas_stays_on_one_thread_beside_the_loops(two_threads):
    if not _threads.parallel_loops():
        pytest.skip("no spinning threading layer here: the loops do not run")
    flambeau.set_num_threads(2)
    assert _threads.blas_num_threads() in (None, 1)


def _child_convolves(queue):
    x = flambeau.ones(4, 2, 10, 10)
    w = flambeau.ones(3, 2, 3, 3)
    queue.put((F.max_pool2d(F.conv2d(x, w), 2).sum().item(), _threads.parallel_loops()))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_forked_child_runs_the_loops_serially(two_threads):
    # after the parent's loops started OpenMP's threads, a forked child must not start its own
    # (GNU OpenMP aborts): the child takes the serial builds
    F.max_pool2d(F.conv2d(flambeau.ones(4, 2, 10, 10), flambeau.ones(3, 2, 3, 3)), 2)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_convolves, args=(queue,))
    child.start()
    child.join(120)
    assert child.exitcode == 0
    total, parallel = queue.get(timeout=10)
    assert total == 4 * 3 * 4 * 4 * 18.0 and parallel is False


@pytest.mark.parametrize("case", ["conv5x5", "conv3x3_strided", "winograd", "linear"])
def test_one_thread_and_the_loops_agree(case, two_threads, monkeypatch):
    # flambeau.set_num_threads(1) takes the paths a machine without the loops takes
    import flambeau.nn as nn
    calls = []
    for name in ("conv_forward", "conv_weight_grad", "conv_input_grad", "matmul"):
        def counted(*args, _fn=getattr(loops, name), _name=name):
            calls.append(_name)
            return _fn(*args)
        monkeypatch.setattr(loops, name, counted)
    flambeau.manual_seed(0)
    if case == "conv5x5":
        model, shape = nn.Sequential(nn.Conv2d(1, 8, 5), nn.MaxPool2d(3), nn.ReLU()), (20, 1, 28, 28)
    elif case == "conv3x3_strided":
        model, shape = nn.Conv2d(3, 6, 3, stride=2, padding=1, dilation=2), (40, 3, 81, 77)
    elif case == "winograd":
        model, shape = nn.Conv2d(32, 64, 5), (30, 32, 8, 8)
    else:
        model, shape = nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 300)), (256, 512)
    x = flambeau.randn(*shape, requires_grad=True)
    results = []
    for threads in (2, 1):
        flambeau.set_num_threads(threads)
        model.zero_grad()
        x.grad = None
        y = model(x)
        (y * y).sum().backward()
        results.append([y.detach().numpy().copy(), x.grad.numpy().copy()]
                       + [p.grad.numpy().copy() for p in model.parameters()])
    for parallel, serial in zip(*results):
        np.testing.assert_allclose(parallel, serial, rtol=2e-5, atol=2e-5 * np.abs(serial).max())
    if _threads.parallel_loops():       # the loops ran, with two threads only
        expected = {"conv5x5": {"conv_forward", "conv_weight_grad"},
                    "conv3x3_strided": {"conv_forward", "conv_weight_grad", "conv_input_grad"},
                    "winograd": {"matmul"}, "linear": {"matmul"}}[case]
        assert expected <= set(calls)


_STEP = """
import numpy as np, flambeau, flambeau.nn as nn, flambeau._threads as T
flambeau.manual_seed(0)
model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(), nn.Conv2d(16, 32, 5),
                      nn.Flatten(), nn.Linear(32 * 16 * 16, 10))
x = flambeau.randn(64, 3, 40, 40)
loss = nn.functional.cross_entropy(model(x), flambeau.arange(64) % 10)
loss.backward()
print(T.parallel_loops(), repr(loss.item()), repr(float(model[0].weight.grad.abs().sum())),
      repr(float(model[3].weight.grad.abs().sum())))
"""


def test_without_a_spinning_layer_the_batches_split_as_before():
    # numba's own workqueue pool: no parallel loops; large batches go to split_batch's two threads
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    outs = []
    for layer in ("workqueue", None):
        env = dict(os.environ, PYTHONPATH=root)
        env.pop("NUMBA_THREADING_LAYER", None)
        if layer:
            env["NUMBA_THREADING_LAYER"] = layer
        r = subprocess.run([sys.executable, "-c", _STEP], capture_output=True, text=True, env=env, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        outs.append(r.stdout.split())
    assert outs[0][0] == "False"
    for ours, theirs in zip(outs[0][1:], outs[1][1:]):
        assert float(ours) == pytest.approx(float(theirs), rel=1e-4)
