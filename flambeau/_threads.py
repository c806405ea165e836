"""Threads: flambeau's own intra-op parallelism, and the BLAS library's thread pool under NumPy.

Where numba runs its parallel loops on spinning threads (OpenMP or TBB), flambeau's convolutions,
pooling and large products run as such loops, and BLAS stays on one thread (Note [Parallel
loops] below). Elsewhere, large convolution/pooling batches are split across two threads of
flambeau's own (Note [Two halves of a batch on two threads] in _ops/conv.py), with BLAS on one
thread while they run: two of ours each running a multi-threaded OpenBLAS product oversubscribe
the cores. OpenBLAS has no Python API; its C entry points are found through the shared
libraries loaded (as threadpoolctl does), and where none is found these are no-ops.
"""
import contextlib
import ctypes
import os
import types

_intra_op = [None]
_blas = []            # [[(set_fn, get_fn) of each OpenBLAS]] once looked up


def _cores():
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _openblas(refresh=False):
    """[(set_fn, get_fn)] of every OpenBLAS loaded in the process: NumPy's, and SciPy's once the
    parallel loops' products have loaded it (refresh=True looks again)."""
    if _blas and not refresh:
        return _blas[0]
    try:
        import numpy  # noqa: F401  (makes sure NumPy's BLAS is loaded)
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and line.split()[-1].startswith("/")}
    except (OSError, ImportError):
        paths = set()
    found = []
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            pair = None
            for suffix in ("64_", "", "_64"):
                setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    getter.restype = ctypes.c_int
                    pair = (setter, getter)
                    break
            if pair:
                found.append(pair)
                break
    _blas[:] = [found]
    return found


def blas_num_threads():
    libs = _openblas()
    return libs[0][1]() if libs else None


def set_blas_num_threads(n):
    for setter, _ in _openblas():
        setter(ctypes.c_int(int(n)))


@contextlib.contextmanager
def single_threaded_blas():
    """BLAS runs on one thread inside (flambeau's own threads are busy); restored on exit."""
    before = blas_num_threads()
    if before is None or before == 1:
        yield
        return
    set_blas_num_threads(1)
    try:
        yield
    finally:
        set_blas_num_threads(before)


# Note [Parallel loops]
# flambeau's compiled loops spread their outer loop over the cores with numba's prange: max
# pooling and its gradient, the Winograd transforms, batch-last transposes, and (in _ops/loops.py)
# 2-D convolutions sample by sample, their gradients, and large products in blocks. What makes
# that pay for loops of a fraction of a millisecond is the threading layer: OpenMP's (or TBB's)
# threads wait for work spinning, so a parallel loop starts in ~3 us, where waking a sleeping
# thread (a lock handoff, numba's own "workqueue" layer, a GIL handoff) takes 30-300 us on a VM,
# as long as the loop itself. The spinning threads hold their cores, so nothing else may thread
# beside them: BLAS runs on one thread (the loops split the products), and split_batch's helper
# thread stays idle (the lecture's convnet ran 2.5x slower with either one fighting the spinners).
# Where neither layer loads, in a process forked after OpenMP started (GNU OpenMP is not
# fork-safe: DataLoader workers), or under flambeau.set_num_threads(1), the same loops run
# compiled on the calling thread, and split_batch splits as before.
_parallel = []        # [pid of the process whose threading layer spins] or [None]


def parallel_loops():
    """Whether compiled loops spread over the cores here (Note [Parallel loops])."""
    if get_num_threads() < 2:
        return False
    if not _parallel:
        _parallel.append(_probe_threading_layer())
    return _parallel[0] == os.getpid()


def _probe_threading_layer():
    """This process's pid when numba's threading layer starts loops spinning (OpenMP, TBB) and its
    products have a BLAS (SciPy's), else None. From then on the BLAS libraries run on one thread:
    their own threads would fight the spinning ones for the cores."""
    try:
        import numba
        import numpy as np
        import scipy.linalg.cython_blas  # noqa: F401  (numba's np.dot calls it)
    except ImportError:
        return None
    prange = numba.prange

    def probe_loop(a):
        for i in prange(a.shape[0]):
            a[i] = i
    probe = numba.njit(cache=True, nogil=True, parallel=True)(probe_loop)
    try:
        probe(np.zeros(2))
        layer = numba.threading_layer()
    except (ValueError, RuntimeError):     # no threading layer could be loaded
        return None
    if layer not in ("omp", "tbb"):
        return None
    numba.set_num_threads(min(get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    _openblas(refresh=True)
    set_blas_num_threads(1)
    return os.getpid()


# Loops over fewer elements (or of other dtypes than float32/float64) run on the calling thread:
# a parallel loop's start costs more than the second core gives back, and each parallel build
# takes seconds to compile where a serial one takes a fraction of one.
PARALLEL_MIN_ELEMENTS = 1 << 16


class ParallelLoop:
    """A compiled loop whose numba.prange runs over the cores where that pays (Note [Parallel
    loops]), else serially; each build is compiled (or read from numba's cache) when first needed."""

    def __init__(self, fn):
        self._fn = fn
        self._parallel = self._serial = None

    def __call__(self, *args):
        work = args[0]      # the loop's first array sizes its work
        if work.size >= PARALLEL_MIN_ELEMENTS and work.dtype.char in "fd" and parallel_loops():
            return (self._parallel or self._build(parallel=True))(*args)
        return (self._serial or self._build(parallel=False))(*args)

    def _build(self, parallel):
        import numba
        fn = self._fn
        if parallel:
            self._parallel = numba.njit(cache=True, nogil=True, parallel=True)(fn)
            return self._parallel
        # a copy under its own name: numba's cache keys a function by name and line, and the two
        # builds of one function would overwrite each other's entry
        serial = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
        serial.__qualname__ = fn.__qualname__ + "_serial"
        self._serial = numba.njit(cache=True, nogil=True)(serial)
        return self._serial


def get_num_threads():
    """Threads flambeau uses for an op (torch.get_num_threads): the usable cores by default."""
    return _intra_op[0] if _intra_op[0] is not None else _cores()


def set_num_threads(n):
    """Threads for flambeau's ops and for the BLAS library (torch.set_num_threads)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n!r}")
    _intra_op[0] = n
    if _parallel and _parallel[0] == os.getpid():     # the loops use the cores, BLAS one thread
        import numba
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    else:
        set_blas_num_threads(n)
