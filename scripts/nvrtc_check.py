"""Compile every one of flambeau's CUDA kernels with NVRTC, as CuPy's RawKernel does on a GPU machine.

No GPU is needed, only the NVRTC library, for example from its wheel:

    pip install --target /tmp/nvrtc "nvidia-cuda-nvrtc==13.*"
    python3 scripts/nvrtc_check.py --lib /tmp/nvrtc/nvidia/cu13/lib/libnvrtc.so.13

Exits 1 when a kernel does not compile (the compiler's log is printed).
"""
import argparse
import ctypes
import ctypes.util
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flambeau.cuda import _kernels  # noqa: E402


def compile_source(nvrtc, source, arch):
    """(ok, log) of NVRTC compiling ``source`` for virtual architecture ``arch``."""
    prog = ctypes.c_void_p()
    if nvrtc.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), b"kernel.cu", 0, None, None):
        raise RuntimeError("nvrtcCreateProgram failed")
    try:
        options = (ctypes.c_char_p * 1)(f"--gpu-architecture={arch}".encode())
        status = nvrtc.nvrtcCompileProgram(prog, 1, options)
        size = ctypes.c_size_t()
        nvrtc.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value)
        nvrtc.nvrtcGetProgramLog(prog, log)
        return status == 0, log.value.decode(errors="replace").strip()
    finally:
        nvrtc.nvrtcDestroyProgram(ctypes.byref(prog))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lib", default=ctypes.util.find_library("nvrtc"), help="path to libnvrtc.so")
    p.add_argument("--arch", default="compute_80")
    args = p.parse_args()
    if not args.lib:
        sys.exit("no libnvrtc found: pass --lib (see this script's help)")
    nvrtc = ctypes.CDLL(args.lib)
    failed = 0
    for name in sorted(_kernels.SOURCES):
        for dtype in _kernels.dtypes(name):
            ok, log = compile_source(nvrtc, _kernels.source(name, dtype), args.arch)
            print(f"{name:24s} {np.dtype(dtype).name:8s} {'ok' if ok else 'FAILED'}")
            if not ok or log:
                print(log)
            failed += not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
