"""The emulated CuPy is only worth its runs if it is as strict as CuPy: these tests hold it to that."""
import numpy as np
import pytest

from _emulated_cupy import cupy_module as cp, cupyx_module as cpx


def test_device_arrays_never_become_numpy_implicitly():
    a = cp.arange(6).reshape(2, 3)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Unsupported type"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.concatenate([a, np.ones((1, 3))])
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.exp([1.0, 2.0])                        # ufuncs take device arrays or scalars only
    assert isinstance(cp.asarray(np.ones(3)), cp.ndarray)     # explicit transfers are allowed
    np.testing.assert_array_equal(cp.asnumpy(a), np.arange(6).reshape(2, 3))


def test_numpy_functions_dispatch_to_cupy_and_stay_on_the_device():
    a = cp.arange(6.0)
    assert isinstance(np.exp(a), cp.ndarray)
    assert isinstance(np.concatenate([a, a]), cp.ndarray)
    with pytest.raises(TypeError):
        np.add.at(np.zeros(3), np.array([0]), a)


def test_reductions_and_full_indexing_give_0d_device_arrays():
    a = cp.arange(6.0).reshape(2, 3)
    for r in (a.sum(), cp.max(a), a[1, 2]):
        assert isinstance(r, cp.ndarray) and r.ndim == 0
    with pytest.raises(TypeError):
        [1, 2, 3][cp.asarray(np.int64(1))]        # no __index__ on CuPy arrays


def test_only_names_and_keywords_of_real_cupy():
    with pytest.raises(AttributeError):
        cp.no_such_function
    with pytest.raises(TypeError, match="sparse"):
        cp.indices((2, 3), sparse=True)           # NumPy has sparse=, CuPy does not
    with pytest.raises(AttributeError):
        cp.arange(3).no_such_method()


def test_out_of_range_array_indices_wrap_as_in_cupy():
    a = cp.arange(5)
    assert a[cp.asarray(np.array([5, -6]))].tolist() == [0, 4]
    assert cp.take(a, cp.asarray(np.array([7]))).tolist() == [2]
    b = cp.zeros(3)
    cpx.scatter_add(b, cp.asarray(np.array([3, 4])), 1.0)
    assert b.tolist() == [1.0, 1.0, 0.0]
    with pytest.raises(IndexError):
        a[5]                                      # integer indices are checked by the host


def test_host_reads_are_counted_and_can_be_forbidden():
    a = cp.arange(4.0)
    with cp.count_syncs() as n:
        b = (a * 2).sum()
    assert n[0] == 0
    with cp.count_syncs() as n:
        float(b), a.tolist(), bool(b > 1), a[a > 1]
    assert n[0] == 4
    with cpx.allow_synchronize(False):
        a + 1
        with pytest.raises(cpx.DeviceSynchronized):
            a.get()


def test_views_share_memory_and_memory_is_counted():
    pool = cp.get_default_memory_pool()
    before = pool.used_bytes()
    a = cp.zeros((100, 100))
    assert pool.used_bytes() == before + a.nbytes
    v = a[10:20].T
    v[...] = 1
    assert float(a.sum()) == 1000.0 and v.strides == (8, 800)
    del a, v
    assert pool.used_bytes() == before


def test_views_hold_the_array_owning_their_memory_as_cupy_does():
    import sys
    a = cp.zeros((4, 6))
    v = a[1:].T
    assert v.base is a and v.T.base is a and a.base is None
    assert cp.ascontiguousarray(a) is a and cp.add(a, 1, out=a) is a
    refs = sys.getrefcount(a)
    w = a.reshape(24)
    assert sys.getrefcount(a) == refs + 1        # the view's base is a reference, as CuPy's
    del a
    assert w.base is v.base and float(w.base.sum()) == 24.0


def test_as_strided_views_have_no_base_as_cupys():
    # CuPy's as_strided is ndarray(memptr=x.data): base None though the memory is x's; views of
    # it take it as their base
    a = cp.zeros((4, 6))
    s = cp.lib.stride_tricks.as_strided(a, (3, 6), (48, 8))
    assert s.base is None and a.base is None
    assert s.reshape(18).base is s and s[1:].base is s and cp.ascontiguousarray(s) is s
    s[0, 0] = 5.0
    assert float(a[0, 0]) == 5.0


def test_memory_pointers_are_shared_as_cupys():
    # who shares an allocation shows in the reference counts of the arrays' pointers and of the
    # allocation, as with CuPy's MemoryPointer and PooledMemory
    import sys

    def alone(x):
        pointer = x.data
        return sys.getrefcount(pointer) <= 3 and sys.getrefcount(pointer.mem) <= 2
    a, b = cp.zeros((4, 6)), cp.ones(3)
    assert alone(a) and alone(b + 1) and a.data is a.data
    v = a[1:]
    assert not alone(a) and v.data.mem is a.data.mem
    del v
    assert alone(a)
    s = cp.lib.stride_tricks.as_strided(a, (3, 6), (48, 8))
    assert s.data is a.data and not alone(a) and not alone(s)
    del a
    assert alone(s)                   # the last holder of a's memory
    r = s.reshape(18)
    assert r.base is s and not alone(s)


def test_copies_are_counted_as_cupy_makes_them():
    import _emulated_cupy

    def launches(f):
        before = dict(_emulated_cupy.LAUNCHES)
        f()
        return sum(_emulated_cupy.LAUNCHES.values()) - sum(before.values())
    a, b = cp.ones((4, 6)), cp.ones((6, 5))
    assert launches(lambda: a.reshape(24)) == 0                 # a view
    assert launches(lambda: a.T.reshape(24)) == 1               # a copy
    assert launches(lambda: cp.matmul(a, b)) == 1
    assert launches(lambda: cp.matmul(b.T, a.T)) == 1           # cuBLAS takes a transposed matrix
    assert launches(lambda: cp.matmul(a[:, ::2], b[::2])) == 3  # both neither row- nor column-major
    batch, other, wide, four, one = (cp.ones(s) for s in ((3, 4, 6), (3, 6, 5), (3, 5, 6), (2, 3, 4, 6), (1, 3, 6, 5)))
    assert launches(lambda: cp.matmul(batch, other)) == 1
    assert launches(lambda: cp.matmul(batch, wide.transpose(0, 2, 1))) == 2     # copied first
    assert launches(lambda: cp.matmul(batch, other[:1])) == 1 + 3               # the pointer arrays
    assert launches(lambda: cp.matmul(four, b)) == 1 + 6                        # b broadcast too
    assert launches(lambda: cp.matmul(four, one)) == 1 + 6


def test_count_cuda_ops_script_counts_a_training_step():
    import os
    import re
    import subprocess
    import sys
    script = os.path.join(os.path.dirname(__file__), os.pardir, "scripts", "count_cuda_ops.py")
    def counts(kernels):
        env = dict(os.environ, FLAMBEAU_CUDA_KERNELS=kernels)
        out = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=300, check=True,
                             env=env).stdout
        found = [int(n) for n in re.findall(r": (\d+) array operations per step", out)]
        assert len(found) == 3 and all(0 < n < 1000 for n in found), out
        return found
    # flambeau's own kernels take fewer launches in every case (convnet+SGD, MLP+SGD, MLP+Adam)
    assert all(fused < plain for fused, plain in zip(counts("1"), counts("0")))
