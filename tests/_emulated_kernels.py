"""CuPy's RawKernel for the emulated CuPy: the kernel's own CUDA source, run on the CPU.

The source is compiled by the host's C++ compiler inside a small harness: CUDA's qualifiers are
defined away, ``blockIdx``/``threadIdx``/``blockDim``/``gridDim`` are globals, and a launcher runs
every thread of the grid one after the other. That runs the exact code a GPU would, for kernels
that need no shared memory, barriers or atomics (flambeau's own have none). Floating-point
contraction is off, so results round as NumPy's separate operations do.

Arguments are checked as strictly as the kernel's signature demands: a device array for each
pointer (C-contiguous, of the pointer's type), and for each scalar a NumPy scalar of its exact type
(CuPy would pass a Python int as ``long long`` and a float as ``double``, reading garbage in a
kernel that expects ``int`` or ``float``).
"""
import ctypes
import hashlib
import os
import re
import subprocess
import tempfile
from pathlib import Path

import numpy

_C_TYPES = {"float": numpy.float32, "double": numpy.float64, "int": numpy.int32, "long long": numpy.int64,
            "unsigned int": numpy.uint32, "short": numpy.int16, "signed char": numpy.int8,
            "unsigned char": numpy.uint8, "bool": numpy.bool_}
_CTYPES = {numpy.float32: ctypes.c_float, numpy.float64: ctypes.c_double, numpy.int32: ctypes.c_int32,
           numpy.int64: ctypes.c_int64, numpy.uint32: ctypes.c_uint32, numpy.int16: ctypes.c_int16,
           numpy.int8: ctypes.c_int8, numpy.uint8: ctypes.c_uint8, numpy.bool_: ctypes.c_bool}
_PYTHON_SCALARS = {numpy.int64: int, numpy.float64: float, numpy.bool_: bool}

_HARNESS = """#include <math.h>
namespace emulated { struct uint3 { unsigned int x, y, z; }; }
static emulated::uint3 blockIdx, threadIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
"""
_CACHE = Path(tempfile.gettempdir()) / f"flambeau-emulated-kernels-{os.getuid()}"
_libraries = {}


class _Param:
    def __init__(self, text, typedefs):
        m = re.fullmatch(r"\s*(?:const\s+)?([\w ]+?)\s*(\*?)\s*(?:__restrict__\s*)?(\w+)\s*", text)
        if m is None:
            raise NotImplementedError(f"the emulated RawKernel cannot read the parameter {text!r}")
        base, star, self.name = m.groups()
        base = typedefs.get(base, base)
        if base not in _C_TYPES:
            raise NotImplementedError(f"the emulated RawKernel has no type {base!r} (parameter {text!r})")
        self.text, self.pointer, self.dtype = text.strip(), bool(star), numpy.dtype(_C_TYPES[base])


def _signature(code, name):
    typedefs = dict((alias, real.strip()) for real, alias in re.findall(r"typedef\s+([\w ]+?)\s+(\w+)\s*;", code))
    m = re.search(r'extern\s+"C"\s+__global__\s+void\s+' + re.escape(name) + r"\s*\(([^)]*)\)", code)
    if m is None:
        raise AttributeError(f"no extern \"C\" __global__ function named {name!r} in the kernel source "
                             "(CUDA_ERROR_NOT_FOUND)")
    return [_Param(p, typedefs) for p in m.group(1).split(",")]


def _library(code, name, params):
    harness = (_HARNESS + code + f"""
extern "C" void emulated_launch(unsigned _gx, unsigned _gy, unsigned _gz, unsigned _bx, unsigned _by, unsigned _bz,
                                {", ".join(p.text for p in params)}) {{
    gridDim = {{_gx, _gy, _gz}};
    blockDim = {{_bx, _by, _bz}};
    for (unsigned _z = 0; _z < _gz; ++_z) for (unsigned _y = 0; _y < _gy; ++_y) for (unsigned _x = 0; _x < _gx; ++_x)
        for (unsigned _tz = 0; _tz < _bz; ++_tz) for (unsigned _ty = 0; _ty < _by; ++_ty)
            for (unsigned _tx = 0; _tx < _bx; ++_tx) {{
                blockIdx = {{_x, _y, _z}};
                threadIdx = {{_tx, _ty, _tz}};
                {name}({", ".join(p.name for p in params)});
            }}
}}
""")
    key = hashlib.sha256(harness.encode()).hexdigest()[:24]
    lib = _libraries.get(key)
    if lib is not None:
        return lib
    _CACHE.mkdir(exist_ok=True)
    path = _CACHE / f"{name}-{key}.so"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=_CACHE)
        os.close(fd)
        cxx = os.environ.get("CXX", "g++")
        done = subprocess.run([cxx, "-O1", "-ffp-contract=off", "-shared", "-fPIC", "-x", "c++", "-", "-o", tmp],
                              input=harness, capture_output=True, text=True)
        if done.returncode:
            os.unlink(tmp)
            raise RuntimeError(f"kernel {name} does not compile:\n{done.stderr}")
        os.replace(tmp, path)             # whole or not at all, for parallel test workers
    lib = _libraries[key] = ctypes.CDLL(str(path))
    return lib


def _dim3(value, what):
    value = tuple(value) if isinstance(value, tuple) else (value,)
    if not 1 <= len(value) <= 3 or not all(isinstance(v, int) and v > 0 for v in value):
        raise ValueError(f"{what} must be 1 to 3 positive ints, got {value}")
    return value + (1,) * (3 - len(value))


def raw_kernel_class(ndarray, count_launch):
    """cupy.RawKernel over the emulated ``ndarray``, telling ``count_launch`` of each launch."""

    class RawKernel:
        def __init__(self, code, name, options=(), backend="nvrtc", translate_cucomplex=False, *,
                     enable_cooperative_groups=False, jitify=False):
            self.code, self.name, self.options, self.backend = code, name, options, backend

        def __call__(self, grid, block, args, *, shared_mem=0):
            params = _signature(self.code, self.name)
            if len(args) != len(params):
                raise TypeError(f"kernel {self.name} takes {len(params)} arguments, given {len(args)}")
            values = []
            for p, a in zip(params, args):
                if p.pointer:
                    if not isinstance(a, ndarray):
                        raise TypeError(f"{self.name}: parameter {p.text} needs a device array, "
                                        f"given {type(a).__name__}")
                    if a.dtype != p.dtype or not a._a.flags.c_contiguous:
                        raise TypeError(f"{self.name}: parameter {p.text} needs a C-contiguous {p.dtype} array, "
                                        f"given {a.dtype} with strides {a.strides}")
                    values.append(ctypes.c_void_p(a._a.ctypes.data))
                else:
                    ok = (isinstance(a, numpy.generic) and a.dtype == p.dtype) or \
                        type(a) is _PYTHON_SCALARS.get(p.dtype.type)
                    if not ok:
                        raise TypeError(f"{self.name}: parameter {p.text} needs a {p.dtype} scalar, "
                                        f"given {a!r} ({type(a).__name__})")
                    values.append(_CTYPES[p.dtype.type](a))
            count_launch(f"RawKernel {self.name}")
            fn = _library(self.code, self.name, params).emulated_launch
            fn.restype = None
            fn(*map(ctypes.c_uint, _dim3(grid, "grid") + _dim3(block, "block")), *values)

    return RawKernel
