"""More of flambeau.cuda: out-of-memory errors as PyTorch's, memory statistics, streams, the legacy
cuda tensor types."""
import pytest

import flambeau
from _oracle import need_torch

torch = need_torch()
cuda = pytest.mark.cuda


def test_names_as_torch():
    assert flambeau.OutOfMemoryError is flambeau.cuda.OutOfMemoryError
    assert issubclass(flambeau.OutOfMemoryError, RuntimeError) and issubclass(torch.OutOfMemoryError, RuntimeError)
    for name in ("FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
                 "CharTensor", "ByteTensor", "BoolTensor"):
        assert repr(getattr(flambeau.cuda, name)) == repr(getattr(torch.cuda, name))
    assert flambeau.cuda.is_bf16_supported() is False        # flambeau has no bfloat16


@cuda
def test_out_of_memory_raises_torchs_error_and_cupys():
    import cupy
    pool = cupy.get_default_memory_pool()
    keep = flambeau.ones(256, device="cuda")
    pool.set_limit(size=flambeau.cuda.memory_allocated() + (1 << 20))
    try:
        with pytest.raises(flambeau.cuda.OutOfMemoryError, match=r"CUDA out of memory\. Tried to allocate 4\.00 MiB"):
            flambeau.empty(1 << 20, device="cuda")
        with pytest.raises(cupy.cuda.memory.OutOfMemoryError):      # CuPy's own handlers still catch it
            flambeau.zeros(1 << 20, device="cuda")
        with pytest.raises(RuntimeError, match="allocated by flambeau"):
            flambeau.ones(4096, 4096, device="cuda") + 1
        small = flambeau.ones(16, device="cuda")          # below the limit, still fine
    finally:
        pool.set_limit(size=0)
    assert float(small.sum() + keep.sum()) == 272.0


@cuda
def test_memory_statistics():
    cu = flambeau.cuda
    cu.init()
    assert cu.is_initialized()
    cu.reset_peak_memory_stats()
    x = flambeau.empty(1 << 18, device="cuda")
    stats = cu.memory_stats()
    assert stats["allocated_bytes.all.current"] == cu.memory_allocated() >= x.nbytes
    assert stats["allocated_bytes.all.peak"] == cu.max_memory_allocated() >= x.nbytes
    assert cu.max_memory_reserved() >= cu.memory_reserved() >= cu.memory_allocated()
    assert cu.memory_cached() == cu.memory_reserved() and cu.max_memory_cached() == cu.max_memory_reserved()
    free, total = cu.mem_get_info()
    assert 0 <= free <= total and cu.mem_get_info(0) == cu.mem_get_info("cuda:0")
    assert "Allocated memory" in cu.memory_summary()
    del x
    cu.reset_max_memory_allocated()
    assert cu.max_memory_allocated() == cu.memory_allocated()


@cuda
def test_streams():
    cu = flambeau.cuda
    default = cu.default_stream()
    assert cu.current_stream() == default
    s = cu.Stream()
    with cu.stream(s) as inside:
        assert inside is s and cu.current_stream() == s
        y = flambeau.ones(3, device="cuda") * 2
    assert cu.current_stream() == default
    with cu.stream(None):
        assert cu.current_stream() == default
    cu.set_stream(s)
    assert cu.current_stream() == s
    cu.set_stream(default)
    with cu.StreamContext(s):
        assert cu.current_stream() == s
    s.synchronize()
    assert y.tolist() == [2.0, 2.0, 2.0]


@cuda
def test_legacy_cuda_types():
    x = flambeau.cuda.FloatTensor(2, 3)
    assert x.device.type == "cuda" and x.dtype is flambeau.float32 and x.type() == "torch.cuda.FloatTensor"
    assert isinstance(x, flambeau.cuda.FloatTensor) and not isinstance(x, flambeau.FloatTensor)
    y = flambeau.cuda.LongTensor([1, 2])
    assert y.device.type == "cuda" and y.tolist() == [1, 2]
    assert x.type(flambeau.FloatTensor).device.type == "cpu"
