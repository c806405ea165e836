"""The cuda device: moving tensors, mixing devices, index checks, host reads, flambeau.cuda.

These run on a real GPU, or on the emulated CuPy (tests/_emulated_cupy.py) elsewhere.
"""
import numpy as np
import pytest

import flambeau
import flambeau.nn.functional as F
from flambeau import _xp, nn
from _oracle import need_torch

torch = need_torch()
cuda = pytest.mark.cuda


def _cupyx():
    import cupyx
    return cupyx


# -- without CUDA -----------------------------------------------------------------------------
# without CuPy flambeau is PyTorch's CPU-only build (AssertionError "Torch not compiled with CUDA
# enabled"); with CuPy but no GPU, PyTorch's CUDA build on a machine without one (RuntimeError)
@pytest.mark.parametrize("error,raised,why", [
    (ImportError("No module named 'cupy'"), AssertionError, "Torch not compiled with CUDA enabled\n.*CuPy is not installed"),
    (RuntimeError("CuPy found no CUDA device"), RuntimeError, "no usable CUDA GPU")])
def test_cuda_unavailable_says_why(monkeypatch, error, raised, why):
    monkeypatch.setattr(_xp, "cupy", None)
    monkeypatch.setattr(_xp, "_cuda_error", error)
    assert not flambeau.cuda.is_available() and flambeau.cuda.device_count() == 0
    for attempt in (lambda: flambeau.zeros(2).to("cuda"), lambda: flambeau.zeros(2, device="cuda"),
                    lambda: flambeau.zeros(2).cuda(), lambda: nn.Linear(2, 2).to("cuda"),
                    lambda: flambeau.cuda.get_device_name(0), lambda: flambeau.cuda.synchronize()):
        with pytest.raises(raised, match=why):
            attempt()
    with pytest.raises(RuntimeError, match="accelerator"):
        flambeau.zeros(2).pin_memory()


def _device_or_error(lib, *args):
    try:
        return repr(lib.device(*args))
    except Exception as e:      # noqa: BLE001 - the error is what is compared
        return f"{type(e).__name__}: {str(e).splitlines()[0]}"      # torch's TypeError lists overloads after


@pytest.mark.parametrize("args", [("cpu",), ("cuda",), ("cuda:1",), ("cuda", 2), ("cpu", 0), ("gpu",), ("CPU",),
                                  ("cu_da",), ("cpu:",), (" cpu",), ("cuda:01",), ("cuda:1:2",), ("cuda:a",),
                                  ("cpu:-1",), ("cuda", -1), (-1,), (1.5,), ("cuda:0", 1)])
def test_device_strings_parse_as_in_torch(args):
    assert _device_or_error(flambeau, *args) == _device_or_error(torch, *args)


def test_torch_device_types_flambeau_lacks_are_named():
    for kind in ("meta", "mps", "xla"):
        assert torch.device(kind).type == kind
        with pytest.raises(NotImplementedError, match=f"flambeau has no '{kind}' device"):
            flambeau.device(kind)


def test_device_never_equals_a_string():
    for lib in (torch, flambeau):
        cpu = lib.device("cpu")
        assert cpu == lib.device("cpu") and cpu != lib.device("cuda") and lib.device("cuda") == lib.device("cuda")
        assert not cpu == "cpu" and cpu != "cpu" and "cpu" != cpu
        assert {cpu: 1}[lib.device("cpu")] == 1 and cpu != 0


def test_bare_index_is_the_accelerator(monkeypatch):
    assert flambeau.device(1) == flambeau.device("cuda", 1)        # the emulated or real GPU
    monkeypatch.setattr(_xp, "cupy", None)
    monkeypatch.setattr(_xp, "_cuda_error", ImportError("No module named 'cupy'"))
    assert _device_or_error(flambeau, 0) == _device_or_error(torch, 0) == (
        "RuntimeError: Cannot access accelerator device when none is available.")


# -- moving tensors -----------------------------------------------------------------------------
@cuda
def test_to_cuda_and_back():
    x = flambeau.arange(6.0).reshape(2, 3)
    for moved in (x.to("cuda"), x.cuda(), x.to("cuda:0"), x.to(flambeau.device("cuda", 0)),
                  x.to("cuda", non_blocking=True), x.to(device="cuda", dtype=flambeau.float16)):
        assert moved.is_cuda and moved.device == flambeau.device("cuda", 0) and moved.get_device() == 0
        assert moved.cpu().tolist() == x.tolist()
    assert x.get_device() == -1 and not x.is_cuda
    y = x.cuda()
    assert y.cuda() is y and y.to("cuda") is y and x.cpu() is x
    assert repr(y) == "tensor([[0., 1., 2.],\n        [3., 4., 5.]], device='cuda:0')"
    with pytest.raises(TypeError, match="cuda"):
        y.numpy()                       # as torch: copy to the host first with .cpu()


@cuda
def test_pinned_memory_round_trip():
    x = flambeau.arange(4.0)
    pinned = x.pin_memory()
    assert pinned.is_pinned() and not x.is_pinned() and pinned.device.type == "cpu"
    assert pinned.pin_memory() is pinned and pinned.tolist() == x.tolist()
    assert pinned.to("cuda", non_blocking=True).tolist() == x.tolist()
    with pytest.raises(RuntimeError, match="only dense CPU tensors can be pinned"):
        x.cuda().pin_memory()


# -- mixing devices -----------------------------------------------------------------------------
MIXED = {
    "add": lambda g, c, ci: g + c, "mul_": lambda g, c, ci: g.mul_(c), "matmul": lambda g, c, ci: g @ c.t(),
    "cat": lambda g, c, ci: flambeau.cat([g, c]), "where": lambda g, c, ci: flambeau.where(c > 0, g, g),
    "gather": lambda g, c, ci: g.gather(1, ci), "scatter_add": lambda g, c, ci: g.scatter_add(1, ci, g[:, :2]),
    "index_select": lambda g, c, ci: g.index_select(0, ci[:, 0]), "take": lambda g, c, ci: g.take(ci),
    "masked_fill": lambda g, c, ci: g.masked_fill(c > 0, 0.0), "index_add": lambda g, c, ci: g.index_add(0, ci[:1, 0], g[:1]),
    "lerp": lambda g, c, ci: g.lerp(c, 0.5), "maximum": lambda g, c, ci: flambeau.maximum(g, c),
    "linear": lambda g, c, ci: F.linear(g, c), "conv2d": lambda g, c, ci: F.conv2d(g[None, None], c[None, None, :2, :2]),
    "cross_entropy": lambda g, c, ci: F.cross_entropy(g, ci[:, 0]), "mse_loss": lambda g, c, ci: F.mse_loss(g, c),
    "embedding": lambda g, c, ci: F.embedding(ci, g), "dist": lambda g, c, ci: flambeau.dist(g, c),
    "allclose": lambda g, c, ci: flambeau.allclose(g, c), "searchsorted": lambda g, c, ci: flambeau.searchsorted(c[0], g),
    "batch_norm": lambda g, c, ci: F.batch_norm(g, c[0], c[1]),
    "addmm": lambda g, c, ci: flambeau.addmm(c[:, :3], g, g.t()),
}


@cuda
@pytest.mark.parametrize("name", sorted(MIXED))
def test_mixing_devices_names_both(name):
    g = flambeau.randn(3, 4, device="cuda")
    c = flambeau.randn(3, 4)
    ci = flambeau.tensor([[0, 1], [2, 3], [1, 0]])
    with pytest.raises(RuntimeError, match=r"same device.*(cuda:0 and cpu|cpu and cuda:0)"):
        MIXED[name](g, c, ci)


@cuda
def test_cpu_scalars_join_cuda_ops_as_in_torch():
    g = flambeau.ones(3, device="cuda")
    out = g * flambeau.tensor(2.0) + flambeau.tensor(1.0)
    assert out.device.type == "cuda" and out.tolist() == [3.0, 3.0, 3.0]
    assert g[flambeau.tensor([0, 2])].device.type == "cuda"      # CPU index tensors may index cuda tensors


# -- out-of-range indices -------------------------------------------------------------------
# CuPy wraps out-of-range array indices around; flambeau checks them, so cuda raises as the CPU does.
OUT_OF_RANGE = {
    "getitem": lambda L, x, i: x[i], "setitem": lambda L, x, i: x.__setitem__(i, 0.0),
    "gather": lambda L, x, i: x.gather(0, i[:, None].expand(-1, 4)),
    "index_select": lambda L, x, i: x.index_select(0, i), "take": lambda L, x, i: x.take(i * 4),
    "index_add": lambda L, x, i: x.index_add(0, i, x[:2]), "put_": lambda L, x, i: x.put_(i * 4, x[0, :2].clone()),
    "scatter": lambda L, x, i: x.scatter(0, i[:, None].expand(-1, 4), 1.0),
    "embedding": lambda L, x, i: L.nn.functional.embedding(i, x),
    "cross_entropy": lambda L, x, i: L.nn.functional.cross_entropy(x[:2, :3], i),
    "nll_loss": lambda L, x, i: L.nn.functional.nll_loss(x[:2, :3], i),
    "one_hot": lambda L, x, i: L.nn.functional.one_hot(i, 3),
}


@cuda
@pytest.mark.parametrize("name", sorted(OUT_OF_RANGE))
def test_out_of_range_indices_raise_on_cuda_as_on_cpu(name):
    fn = OUT_OF_RANGE[name]
    outcomes = []
    for lib, device in ((torch, "cpu"), (flambeau, "cpu"), (flambeau, "cuda")):
        x = lib.arange(12.0).reshape(3, 4)
        i = lib.tensor([1, 3])                                      # 3 is out of range everywhere
        x, i = (x.to(device), i.to(device)) if lib is flambeau else (x, i)
        with pytest.raises(Exception) as caught:
            fn(lib, x, i)
        outcomes.append(type(caught.value))
    assert outcomes[1] is outcomes[0] and outcomes[2] is outcomes[0], outcomes
    x = flambeau.arange(12.0, device="cuda").reshape(3, 4)
    fn(flambeau, x, flambeau.tensor([1, 2], device="cuda"))         # in range: runs


# -- no reads of the device by the host inside a training step -------------------------------
class LectureNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=5)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=5)
        self.fc1 = nn.Linear(256, 200)
        self.fc2 = nn.Linear(200, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), kernel_size=3, stride=3))
        x = F.relu(F.max_pool2d(self.conv2(x), kernel_size=2, stride=2))
        x = F.relu(self.fc1(x.view(-1, 256)))
        return self.fc2(x)


def _step(model, optimizer, x, target, loss_fn):
    loss = loss_fn(model(x), target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


@cuda
@pytest.mark.parametrize("make", [
    lambda: (LectureNet(), flambeau.optim.SGD, dict(lr=0.1), (8, 1, 28, 28)),
    lambda: (nn.Sequential(nn.Linear(20, 50), nn.BatchNorm1d(50), nn.ReLU(), nn.Dropout(0.3), nn.Linear(50, 10)),
             flambeau.optim.Adam, dict(lr=1e-3, weight_decay=1e-4), (16, 20)),
    lambda: (nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2),
                           nn.Flatten(), nn.Linear(4 * 14 * 14, 10)),
             flambeau.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), (4, 1, 28, 28)),
], ids=["lecture-convnet-sgd", "mlp-batchnorm-dropout-adam", "cnn-batchnorm-avgpool-nesterov"])
def test_training_step_never_reads_the_device(make):
    flambeau.manual_seed(0)
    model, opt_cls, options, shape = make()
    model.to("cuda")
    optimizer = opt_cls(model.parameters(), **options)
    x = flambeau.randn(*shape, device="cuda")
    target = F.one_hot(flambeau.arange(shape[0], device="cuda") % 10, 10).float()
    _step(model, optimizer, x, target, F.mse_loss)                  # the first step creates the state
    with _cupyx().allow_synchronize(False):
        _step(model, optimizer, x, target, F.mse_loss)
    # class-index targets are checked for range: the one read of the step
    labels = flambeau.arange(shape[0], device="cuda") % 10
    with pytest.raises(_cupyx().DeviceSynchronized):
        with _cupyx().allow_synchronize(False):
            _step(model, optimizer, x, labels, F.cross_entropy)


def _second_step_launches(name):
    """How many times a second training step of the lecture's net launches ``name`` (emulated CuPy)."""
    from conftest import CUDA_MODE
    if CUDA_MODE != "emulated":
        pytest.skip("counts launches on the emulated CuPy")
    import _emulated_cupy
    model = LectureNet().to("cuda")
    optimizer = flambeau.optim.SGD(model.parameters(), lr=0.1)
    x, y = flambeau.randn(4, 1, 28, 28, device="cuda"), flambeau.arange(4, device="cuda")
    _step(model, optimizer, x, y, F.cross_entropy)
    before = _emulated_cupy.LAUNCHES.get(name, 0)
    _step(model, optimizer, x, y, F.cross_entropy)
    return _emulated_cupy.LAUNCHES.get(name, 0) - before


@cuda
def test_first_gradients_of_a_step_are_kept_without_copies():
    # conv weights reshaped, linear weights through t(), biases summed: each gradient owns its array
    assert _second_step_launches("ndarray.copy") == 0


@cuda
def test_a_training_step_reuses_its_loss_seed():
    assert _second_step_launches("cupy.ones") == 0          # no fill for backward()'s ones


@cuda
def test_batches_of_targets_kept_on_the_device_are_checked_once():
    # the lecture's loop: batches narrowed out of targets moved to the device once
    logits = flambeau.randn(64, 10, device="cuda", requires_grad=True)
    targets = flambeau.arange(64, device="cuda") % 10
    want = F.cross_entropy(logits.detach().cpu(), targets.cpu(), reduction="none")
    F.cross_entropy(logits[:8], targets.narrow(0, 0, 8)).backward()     # reads the whole range once
    with _cupyx().allow_synchronize(False):
        for b, batch in zip(range(0, 64, 8), targets.split(8)):
            loss = F.cross_entropy(logits[b:b + 8], batch, reduction="none")
            loss.sum().backward()
            got = loss
    assert flambeau.allclose(got.detach().cpu(), want[56:], rtol=1e-6, atol=1e-6)
    # a write to the targets moves their version: read again, and a batch out of range raises
    targets[5] = 10
    with pytest.raises(IndexError, match="Target 10 is out of bounds"):
        F.cross_entropy(logits[:8], targets.narrow(0, 0, 8))
    F.cross_entropy(logits[8:16], targets.narrow(0, 8, 8))           # in range: checked on its own
    targets[5] = 5
    # ignore_index within the targets' range: each batch is checked (and masked) on its own
    with pytest.raises(_cupyx().DeviceSynchronized):
        with _cupyx().allow_synchronize(False):
            F.cross_entropy(logits[:8], targets.narrow(0, 0, 8), ignore_index=3)
    # the base's data replaced: a view of the old memory is checked against that memory
    targets[0] = 12
    old = targets.narrow(0, 0, 8)
    targets.data = flambeau.arange(64, device="cuda") % 10
    F.cross_entropy(logits[:8], targets.narrow(0, 0, 8))
    with pytest.raises(IndexError, match="Target 12 is out of bounds"):
        F.cross_entropy(logits[:8], old)


@cuda
def test_lecture_convnet_step_agrees_with_cpu():
    flambeau.manual_seed(0)
    cpu_model = LectureNet()
    cuda_model = LectureNet()
    cuda_model.load_state_dict(cpu_model.state_dict())
    cuda_model.to("cuda")
    x, y = flambeau.randn(16, 1, 28, 28), flambeau.randint(0, 10, (16,))
    for model, device in ((cpu_model, "cpu"), (cuda_model, "cuda")):
        optimizer = flambeau.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(3):
            loss = _step(model, optimizer, x.to(device), y.to(device), F.cross_entropy)
        model.final_loss = loss.item()
    assert cuda_model.final_loss == pytest.approx(cpu_model.final_loss, rel=1e-4)
    for (name, p), q in zip(cpu_model.named_parameters(), cuda_model.parameters()):
        assert q.device.type == "cuda" and q.grad.device.type == "cuda", name
        np.testing.assert_allclose(q.detach().cpu().numpy(), p.detach().numpy(), rtol=1e-4, atol=1e-5)


# -- flambeau.cuda ----------------------------------------------------------------------------
@cuda
def test_device_queries():
    cu = flambeau.cuda
    assert cu.is_available() and cu.device_count() >= 1 and cu.current_device() == 0
    props = cu.get_device_properties(0)
    assert isinstance(cu.get_device_name(), str) and cu.get_device_name(0) == props.name
    assert props.total_memory > 0 and cu.get_device_capability() == (props.major, props.minor)
    cu.set_device(0)
    with cu.device(0):
        assert flambeau.zeros(1, device="cuda").device == flambeau.device("cuda", 0)
    cu.synchronize()


@cuda
def test_memory_statistics_follow_allocations():
    cu = flambeau.cuda
    cu.empty_cache()
    base = cu.memory_allocated()
    cu.reset_peak_memory_stats()
    assert cu.max_memory_allocated() == base
    big = flambeau.empty(1024, 1024, device="cuda")           # 4 MiB
    assert cu.memory_allocated() >= base + 4 * 2 ** 20
    del big
    assert cu.memory_allocated() < base + 4 * 2 ** 20
    assert cu.max_memory_allocated() >= base + 4 * 2 ** 20        # the peak remembers it
    cu.reset_peak_memory_stats()
    assert cu.max_memory_allocated() < base + 4 * 2 ** 20
    assert cu.memory_reserved() >= cu.memory_allocated()


@cuda
def test_events_streams_and_seeds():
    cu = flambeau.cuda
    start, end = cu.Event(enable_timing=True), cu.Event(enable_timing=True)
    start.record()
    y = flambeau.randn(64, 64, device="cuda") @ flambeau.randn(64, 64, device="cuda")
    end.record()
    end.synchronize()
    assert end.query() and cu.Event().query() in (True, False)
    assert start.elapsed_time(end) >= 0.0
    s = cu.Stream()
    with s:
        z = y + 1
    s.synchronize()
    assert z.device.type == "cuda" and isinstance(cu.current_stream(), cu.Stream)
    for seed_all in (flambeau.manual_seed, cu.manual_seed, cu.manual_seed_all):
        seed_all(7)
        a = flambeau.randn(5, device="cuda")
        seed_all(7)
        assert flambeau.equal(a, flambeau.randn(5, device="cuda"))


@cuda
def test_cuda_rng_state_functions():
    """flambeau.cuda's default generator, as torch.cuda's: a CPU ByteTensor state that brings back the
    draws that followed it, seeds of its own, and fork_rng restoring it."""
    from _oracle import no_host_reads
    cu = flambeau.cuda

    def tensors():
        return [flambeau.rand(4, device="cuda"), flambeau.randn(3, device="cuda"),
                flambeau.randint(0, 9, (5,), device="cuda"), flambeau.randperm(6, device="cuda"),
                flambeau.empty(3, device="cuda").normal_(), flambeau.bernoulli(flambeau.full((4,), 0.5, device="cuda"))]

    def draws():
        return [t.tolist() for t in tensors()]
    flambeau.manual_seed(11)
    assert cu.initial_seed() == 11 and flambeau.initial_seed() == 11
    a = draws()
    own = flambeau.Generator("cuda").manual_seed(11)        # the default stream is a generator seeded alike
    assert flambeau.rand(4, device="cuda", generator=own).tolist() == a[0]
    flambeau.manual_seed(11)
    assert draws() == a
    state = cu.get_rng_state()
    ref = torch.Generator().get_state()
    assert (state.dtype, state.device.type, state.ndim) == (flambeau.uint8, ref.device.type, ref.ndim)
    assert cu.get_rng_state("cuda:0").tolist() == state.tolist() == cu.get_rng_state(0).tolist()
    with no_host_reads("cuda"):             # drawing and capturing read nothing from the device
        b = tensors()
        cu.get_rng_state()
    b = [t.tolist() for t in b]
    cu.set_rng_state(state)
    assert draws() == b
    cu.set_rng_state(state, device="cuda:0")
    assert draws() == b
    states = cu.get_rng_state_all()
    assert isinstance(states, list) and len(states) == cu.device_count()
    c = draws()
    cu.set_rng_state_all(states)
    assert draws() == c
    with flambeau.random.fork_rng(devices=[0]):
        inside = draws()
    assert draws() == inside
    with pytest.raises(TypeError):
        cu.set_rng_state(flambeau.zeros(16))
    with pytest.raises(RuntimeError):
        cu.set_rng_state(flambeau.zeros(3, dtype=flambeau.uint8))
    cu.manual_seed(12)                                       # the cuda stream only
    assert cu.initial_seed() == 12 and flambeau.initial_seed() == 11
    cu.manual_seed_all(13)
    assert cu.initial_seed() == 13
    assert cu.seed() is None and cu.initial_seed() != 13
    assert cu.seed_all() is None
    before = cu.initial_seed()
    flambeau.manual_seed(11)
    assert cu.initial_seed() == 11 and draws() == a and before != 11
