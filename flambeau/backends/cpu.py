"""``flambeau.backends.cpu``: what the CPU offers, and flambeau's CPU convolution switch."""

__all__ = ["get_cpu_capability", "winograd"]

# 3x3 and 5x5 float32 convolutions (stride 1) run as Winograd products (Note [Winograd
# convolution] in flambeau/_ops/winograd.py): 4-6x fewer multiplications for ~10x im2col's
# rounding error. False: every convolution takes im2col's exact products.
winograd = True


def get_cpu_capability():
    """The widest vector instruction set NumPy's kernels use here: "AVX512", "AVX2" or "DEFAULT"."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:                 # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    if features.get("AVX512_SKX"):
        return "AVX512"
    if features.get("AVX2"):
        return "AVX2"
    return "DEFAULT"
