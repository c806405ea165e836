"""Large CPU arrays reuse freed memory instead of fresh pages from the kernel.

Note [Keeping freed memory for the next step]
A training step allocates the same large temporaries every time (im2col columns, activations,
gradients: megabytes each). glibc's malloc serves blocks above its mmap threshold (128 KiB at
first, raised as such blocks are freed) with fresh mmap'd pages, and hands freed memory at the
top of the heap back to the kernel once more than its trim threshold (twice that) is free. Either
way the next step's arrays land on new pages, and every 4 KiB page costs a fault and the kernel
zeroing it: for the lecture's convnet about 1,500 faults per step, a quarter of the CPU time
of a step on one thread. PyTorch keeps such memory in its own allocator; flambeau asks malloc to
keep it: blocks up to 32 MiB (glibc's largest mmap threshold) come from the heap, and up to 1 GiB
of freed heap is kept for reuse instead of being returned.

The price is the resident size: memory a step freed stays with the process, as in any caching
allocator. It is a setting of the whole process, made once at import; any of glibc's own malloc
settings in the environment (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES) or
FLAMBEAU_MALLOC_TUNING=0 leaves malloc as it is. On other C libraries it does nothing.
"""
import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD = -1           # glibc's mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20        # glibc's upper bound for this parameter on 64-bit systems
TRIM_THRESHOLD = 1 << 30

_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES")

tuned = False


def tune():
    """Set malloc's thresholds (see the Note above); True when they were set."""
    global tuned
    if tuned:
        return True
    if os.environ.get("FLAMBEAU_MALLOC_TUNING", "1") == "0" or any(v in os.environ for v in _USER_SETTINGS):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):         # not glibc (musl, macOS, Windows)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt returns 1 on success; the mmap threshold first, so a refusal leaves the trim alone
    tuned = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return tuned
