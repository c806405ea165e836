"""The default device: set_default_device, ``with device(...)``, set_default_tensor_type, and which
factory functions follow it (PyTorch's own list, checked against torch with its 'meta' device)."""
import threading
import warnings

import numpy as np
import pytest

import flambeau
from _oracle import need_torch

torch = need_torch()
cuda = pytest.mark.cuda


@pytest.fixture(autouse=True)
def _restore_defaults():
    yield
    flambeau.set_default_device(None)
    flambeau.set_default_dtype(flambeau.float32)
    torch.set_default_device(None)
    torch.set_default_dtype(torch.float32)


# Each factory call, run by flambeau and torch alike; ``src`` is a CPU tensor of that library.
FACTORIES = {
    "zeros": lambda lib, src: lib.zeros(2),
    "ones": lambda lib, src: lib.ones(2, 3),
    "empty": lambda lib, src: lib.empty(2),
    "full": lambda lib, src: lib.full((2,), 1.5),
    "eye": lambda lib, src: lib.eye(2),
    "arange": lambda lib, src: lib.arange(3),
    "linspace": lambda lib, src: lib.linspace(0, 1, 4),
    "logspace": lambda lib, src: lib.logspace(0, 1, 4),
    "empty_strided": lambda lib, src: lib.empty_strided((2, 2), (1, 2)),
    "rand": lambda lib, src: lib.rand(2),
    "randn": lambda lib, src: lib.randn(2),
    "randint": lambda lib, src: lib.randint(0, 5, (2,)),
    "randperm": lambda lib, src: lib.randperm(3),
    "tensor(list)": lambda lib, src: lib.tensor([1.0, 2.0]),
    "tensor(tensor)": lambda lib, src: lib.tensor(src),
    "as_tensor(list)": lambda lib, src: lib.as_tensor([1.0]),
    "as_tensor(tensor)": lambda lib, src: lib.as_tensor(src),
    "as_tensor(ndarray)": lambda lib, src: lib.as_tensor(np.ones(2)),
    "asarray": lambda lib, src: lib.asarray([1, 2]),
    "scalar_tensor": lambda lib, src: lib.scalar_tensor(1.0),
    "tril_indices": lambda lib, src: lib.tril_indices(3, 3),
    "triu_indices": lambda lib, src: lib.triu_indices(3, 3),
    "hann_window": lambda lib, src: lib.hann_window(4),
    "fft.fftfreq": lambda lib, src: lib.fft.fftfreq(4),
    "nn.Linear": lambda lib, src: lib.nn.Linear(2, 3).weight,
    "nn.Conv2d": lambda lib, src: lib.nn.Conv2d(1, 2, 3).bias,
    # these stay on the CPU, in torch too
    "from_numpy": lambda lib, src: lib.from_numpy(np.ones(2)),
    "Tensor(2)": lambda lib, src: lib.Tensor(2),
    "FloatTensor(2)": lambda lib, src: lib.FloatTensor(2),
    "zeros_like": lambda lib, src: lib.zeros_like(src),
    "new_zeros": lambda lib, src: src.new_zeros(2),
    "src + 1": lambda lib, src: src + 1,
    "normal(size=)": lambda lib, src: lib.normal(0.0, 1.0, (2,)),
}


def _follows_default_in_torch(make):
    torch.set_default_device("meta")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return make(torch, torch.zeros(2, device="cpu")).device.type == "meta"
    finally:
        torch.set_default_device(None)


@cuda
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_which_factories_follow_the_default_device(name):
    make = FACTORIES[name]
    src = flambeau.zeros(2)
    flambeau.set_default_device("cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        made = make(flambeau, src)
    flambeau.set_default_device(None)
    assert made.device.type == ("cuda" if _follows_default_in_torch(make) else "cpu")


@cuda
def test_with_device_block_nests_and_restores():
    assert flambeau.get_default_device() == flambeau.device("cpu")
    with flambeau.device("cuda") as d:
        assert d == flambeau.device("cuda")
        assert flambeau.zeros(1).device == flambeau.device("cuda:0")
        assert flambeau.get_default_device() == flambeau.device("cuda:0")      # the index filled in
        with flambeau.device("cpu"):
            assert flambeau.zeros(1).device.type == "cpu"
        assert flambeau.rand(1).device.type == "cuda"
        assert flambeau.zeros(1, device="cpu").device.type == "cpu"           # an explicit device wins
    assert flambeau.zeros(1).device.type == "cpu"


@cuda
def test_with_device_block_wins_over_set_default_device():
    flambeau.set_default_device("cuda")
    with flambeau.device("cpu"):
        assert flambeau.ones(1).device.type == "cpu"
    assert flambeau.ones(1).device.type == "cuda"
    flambeau.set_default_device(None)
    assert flambeau.ones(1).device.type == "cpu"


@cuda
def test_a_model_built_under_a_cuda_default_trains_there():
    flambeau.set_default_device("cuda")
    flambeau.manual_seed(0)
    model = flambeau.nn.Sequential(flambeau.nn.Linear(4, 8), flambeau.nn.ReLU(), flambeau.nn.Linear(8, 2))
    opt = flambeau.optim.SGD(model.parameters(), lr=0.1)
    x, y = flambeau.randn(5, 4), flambeau.tensor([0, 1, 0, 1, 1])
    loss = flambeau.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    assert all(p.device.type == "cuda" and p.grad.device.type == "cuda" for p in model.parameters())


@cuda
def test_default_device_is_per_thread():
    flambeau.set_default_device("cuda")
    seen = []
    worker = threading.Thread(target=lambda: seen.append(flambeau.zeros(1).device.type))
    worker.start()
    worker.join()
    assert seen == ["cpu"] and flambeau.zeros(1).device.type == "cuda"


def test_cpu_default_changes_nothing():
    flambeau.set_default_device("cpu")
    assert flambeau.zeros(1).device.type == "cpu" and flambeau.get_default_device() == torch_like_cpu()


def torch_like_cpu():
    assert str(torch.get_default_device()) == "cpu"
    return flambeau.device("cpu")


def test_set_default_device_errors_like_torch():
    for bad in ("cudax", "gpu"):
        with pytest.raises(RuntimeError):
            torch.set_default_device(bad)
        with pytest.raises(RuntimeError):
            flambeau.set_default_device(bad)


@pytest.mark.parametrize("kind,dtype", [("torch.DoubleTensor", "float64"), ("torch.FloatTensor", "float32"),
                                        ("torch.HalfTensor", "float16")])
def test_set_default_tensor_type_sets_the_dtype(kind, dtype):
    with pytest.warns(UserWarning, match="deprecated"):
        flambeau.set_default_tensor_type(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.set_default_tensor_type(kind)
    assert str(flambeau.get_default_dtype()) == str(torch.get_default_dtype()) == f"torch.{dtype}"
    assert str(flambeau.zeros(1).dtype) == str(torch.zeros(1).dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flambeau.set_default_tensor_type(flambeau.FloatTensor)
        torch.set_default_tensor_type(torch.FloatTensor)
    assert flambeau.get_default_dtype() is flambeau.float32


@pytest.mark.parametrize("kind", ["torch.IntTensor", "torch.LongTensor", "foo", "foo.FloatTensor"])
def test_set_default_tensor_type_errors_like_torch(kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as theirs:
            torch.set_default_tensor_type(kind)
        with pytest.raises(type(theirs.value), match=str(theirs.value).split(" (")[0]):
            flambeau.set_default_tensor_type(kind)


@cuda
def test_set_default_tensor_type_cuda_sets_the_device_too():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flambeau.set_default_tensor_type("torch.cuda.DoubleTensor")
    x = flambeau.ones(2)
    assert x.device.type == "cuda" and x.dtype is flambeau.float64
    assert x.type() == "torch.cuda.DoubleTensor"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flambeau.set_default_tensor_type("torch.FloatTensor")
    assert flambeau.ones(1).device.type == "cpu" and flambeau.ones(1).dtype is flambeau.float32


@cuda
def test_type_takes_the_legacy_classes():
    from flambeau._legacy_types import CUDA_TYPES
    x = flambeau.ones(2)
    assert x.type(flambeau.DoubleTensor).dtype is flambeau.float64
    moved = x.type(CUDA_TYPES["LongTensor"])
    assert moved.type() == "torch.cuda.LongTensor" and isinstance(moved, CUDA_TYPES["LongTensor"])
    assert not isinstance(x, CUDA_TYPES["FloatTensor"]) and isinstance(x.cuda(), CUDA_TYPES["FloatTensor"])
    assert moved.type(flambeau.FloatTensor).device.type == "cpu"
    assert repr(CUDA_TYPES["FloatTensor"]) == "<class 'torch.cuda.FloatTensor'>" == repr(torch.cuda.FloatTensor)
