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


# -- in-place arithmetic: one launch into the tensor's own memory ------------------------------
def _launch_total():
    import _emulated_cupy
    return sum(_emulated_cupy.LAUNCHES.values())


@cuda
@pytest.mark.parametrize("case", [
    ("add_", "float32", lambda lib, x: 1.5), ("sub_", "int64", lambda lib, x: 3), ("mul_", "int8", lambda lib, x: 100),
    ("add_", "int8", lambda lib, x: 1000), ("div_", "float64", lambda lib, x: 4.0), ("mul_", "float16", lambda lib, x: 0.1),
    ("add_", "float32", lambda lib, x: lib.ones(3, 4)), ("sub_", "float32", lambda lib, x: lib.arange(4.0)),
    ("mul_", "int32", lambda lib, x: lib.full((3, 1), 7, dtype=lib.int32)),
    ("add_", "float32", lambda lib, x: x), ("add_", "float32", lambda lib, x: x.flip(0)),          # overlapping
    ("sub_", "float32", lambda lib, x: x[0]), ("add_", "float32", lambda lib, x: lib.ones(3, 4, dtype=lib.float64)),
], ids=lambda c: f"{c[0]}-{c[1]}")
def test_in_place_arithmetic_on_cuda_agrees_with_the_cpu(case):
    name, dtype, make_other = case
    results = []
    for device in ("cpu", "cuda"):
        x = (flambeau.arange(12) - 5).reshape(3, 4).to(getattr(flambeau, dtype)).to(device)
        other = make_other(flambeau, x)
        other = other.to(device) if isinstance(other, flambeau.Tensor) and other.device != x.device else other
        version, ptr = x._version, x.data_ptr()
        try:
            getattr(x, name)(other)
        except RuntimeError as e:
            results.append(type(e))
            continue
        assert x.data_ptr() == ptr and x._version > version
        results.append(x.cpu())
    if isinstance(results[0], type):
        assert results[1] is results[0]
    else:
        assert flambeau.equal(results[0], results[1])


@cuda
def test_in_place_arithmetic_with_a_number_or_a_separate_tensor_is_one_launch():
    from conftest import CUDA_MODE
    if CUDA_MODE != "emulated":
        pytest.skip("counts launches on the emulated CuPy")
    x, y = flambeau.zeros(3, 4, device="cuda"), flambeau.ones(4, device="cuda")
    for op in (lambda: x.add_(1), lambda: x.mul_(y), lambda: x.sub_(y[None]), lambda: x.div_(2.0)):
        before = _launch_total()
        op()
        assert _launch_total() - before == 1
    before = _launch_total()
    x.add_(x.flip(0))                   # reads what it writes: a new array, then copied in
    assert _launch_total() - before >= 2
