"""flambeau.accelerator: PyTorch's device-neutral accelerator API, served by cuda."""
import pytest

import flambeau
from flambeau import _xp
from _oracle import need_torch

torch = need_torch()
cuda = pytest.mark.cuda


def test_without_an_accelerator_as_torch_without_one(monkeypatch):
    # this torch is a CPU build: its answers are the ones of a machine without an accelerator
    monkeypatch.setattr(_xp, "cupy", None)
    monkeypatch.setattr(_xp, "_cuda_error", ImportError("No module named 'cupy'"))
    acc = flambeau.accelerator
    assert acc.is_available() is torch.accelerator.is_available() is False
    assert acc.current_accelerator() is torch.accelerator.current_accelerator() is None
    assert acc.current_accelerator(check_available=True) is None
    assert acc.device_count() == torch.accelerator.device_count() == 0
    for name in ("current_device_index", "current_device_idx", "synchronize", "memory_allocated", "empty_cache",
                 "reset_peak_memory_stats", "memory_reserved", "max_memory_reserved", "memory_stats",
                 "get_memory_info"):
        with pytest.raises(RuntimeError) as theirs:
            getattr(torch.accelerator, name)()
        with pytest.raises(RuntimeError, match=str(theirs.value)):
            getattr(acc, name)()


def test_cupy_without_a_gpu_still_names_cuda(monkeypatch):
    monkeypatch.setattr(_xp, "cupy", None)
    monkeypatch.setattr(_xp, "_cuda_error", RuntimeError("CuPy found no CUDA device"))
    assert flambeau.accelerator.current_accelerator() == flambeau.device("cuda")
    assert flambeau.accelerator.current_accelerator(check_available=True) is None


@cuda
def test_the_usual_device_choice_picks_cuda():
    acc = flambeau.accelerator
    device = acc.current_accelerator() if acc.is_available() else "cpu"
    assert device == flambeau.device("cuda") and str(device) == "cuda"
    model = flambeau.nn.Linear(3, 2).to(device)
    assert model(flambeau.ones(4, 3, device=device)).device.type == "cuda"
    assert acc.device_count() == flambeau.cuda.device_count() >= 1


@cuda
def test_device_index_and_synchronize():
    acc = flambeau.accelerator
    assert acc.current_device_index() == acc.current_device_idx() == flambeau.cuda.current_device()
    with acc.device_index(0):
        assert acc.current_device_index() == 0
    with acc.device_index(None):
        pass
    acc.set_device_index("cuda:0")
    acc.set_device_idx(flambeau.device("cuda", 0))
    with pytest.raises(ValueError, match="cpu"):
        acc.set_device_index("cpu")
    x = flambeau.ones(1000, device="cuda") * 2
    acc.synchronize()
    acc.synchronize("cuda")
    assert x.sum().item() == 2000


@cuda
def test_memory_and_streams():
    acc = flambeau.accelerator
    before = acc.memory_allocated()
    x = flambeau.empty(1 << 20, device="cuda")
    assert acc.memory_allocated() >= before + x.nbytes
    assert acc.max_memory_allocated() >= acc.memory_allocated()
    assert acc.max_memory_reserved() >= acc.memory_reserved() >= acc.memory_allocated()
    assert acc.memory_stats()["allocated_bytes.all.current"] == acc.memory_allocated()
    free, total = acc.get_memory_info()
    assert 0 <= free <= total
    acc.reset_peak_memory_stats()
    del x
    acc.empty_cache()
    assert isinstance(acc.get_device_capability(), dict) and set(acc.get_device_capability()) == {"major", "minor"}
    default, s = acc.current_stream(), flambeau.cuda.Stream()
    acc.set_stream(s)
    assert acc.current_stream()._s is s._s
    acc.set_stream(default)
    assert acc.current_stream()._s is default._s
