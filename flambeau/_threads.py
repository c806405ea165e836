"""Threads: flambeau's own intra-op parallelism, and the BLAS library's thread pool under NumPy.

flambeau splits large convolution/pooling batches across its own threads (Note [Two halves of
a batch on two threads] in _ops/conv.py). While it does, the BLAS library must not start
threads of its own: two of ours each running a multi-threaded OpenBLAS product oversubscribe
the cores. OpenBLAS has no Python API; its C entry points are found through the shared
library NumPy loaded (as threadpoolctl does), and where none is found these are no-ops.
"""
import contextlib
import ctypes
import os

_intra_op = [None]
_blas = []            # [(set_fn, get_fn)] or [None] once looked up


def _cores():
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _openblas():
    if _blas:
        return _blas[0]
    found = None
    try:
        import numpy  # noqa: F401  (makes sure NumPy's BLAS is loaded)
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and line.split()[-1].startswith("/")}
        for path in sorted(paths):
            lib = ctypes.CDLL(path)
            for prefix in ("scipy_openblas", "openblas"):
                for suffix in ("64_", "", "_64"):
                    setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                    getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                    if setter is not None and getter is not None:
                        getter.restype = ctypes.c_int
                        found = (setter, getter)
                        break
                if found:
                    break
            if found:
                break
    except (OSError, ImportError):
        found = None
    _blas.append(found)
    return found


def blas_num_threads():
    lib = _openblas()
    return lib[1]() if lib else None


def set_blas_num_threads(n):
    lib = _openblas()
    if lib:
        lib[0](ctypes.c_int(int(n)))


@contextlib.contextmanager
def single_threaded_blas():
    """BLAS runs on one thread inside (flambeau's own threads are busy); restored on exit."""
    lib = _openblas()
    if not lib:
        yield
        return
    before = lib[1]()
    if before != 1:
        lib[0](ctypes.c_int(1))
    try:
        yield
    finally:
        if before != 1:
            lib[0](ctypes.c_int(before))


def get_num_threads():
    """Threads flambeau uses for an op (torch.get_num_threads): the usable cores by default."""
    return _intra_op[0] if _intra_op[0] is not None else _cores()


def set_num_threads(n):
    """Threads for flambeau's ops and for the BLAS library (torch.set_num_threads)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n!r}")
    _intra_op[0] = n
    set_blas_num_threads(n)
