"""Window functions of M points, as torch.signal.windows (scipy.signal.windows' conventions).

Every window takes M and the keywords ``sym`` (True: symmetric, for filter design; False: periodic,
for spectral analysis: the symmetric window of M + 1 points less its last), ``dtype`` (float32 or
float64; default: the default dtype), ``layout`` (strided only), ``device`` and ``requires_grad``.
Each is built from flambeau ops over a ``linspace`` of M points, as torch builds it, so the values
agree with torch's to the last bit in most places and the result runs on any device; with
requires_grad=True that linspace is the leaf and the window its (non-leaf) result, as in torch.

Example::

    >>> import flambeau.signal.windows as W
    >>> W.hann(5)
    tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000])
"""
import math
from collections.abc import Iterable

import flambeau
from flambeau._layout import strided as _STRIDED

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]

def _window_function_checks(name, M, dtype, layout):
    """The checks every window makes first (PyTorch raises ValueError for all three)."""
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if layout != _STRIDED:
        raise ValueError(f"{name} is implemented for strided tensors only, got: {layout}")
    if dtype not in (flambeau.float32, flambeau.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dtype}")


def _empty(dtype, device, requires_grad):
    return flambeau.empty((0,), dtype=dtype, device=device, requires_grad=requires_grad)


def _ones(dtype, device, requires_grad):
    return flambeau.ones((1,), dtype=dtype, device=device, requires_grad=requires_grad)


def _points(start, constant, M, dtype, device, requires_grad):
    """(start + n) * constant for n = 0..M-1, as a linspace (the leaf when requires_grad)."""
    return flambeau.linspace(start * constant, (start + (M - 1)) * constant, M, dtype=dtype, device=device,
                             requires_grad=requires_grad)


def _denominator(M, sym):
    """The symmetric window's M - 1 spans; the periodic one is the symmetric window of M + 1 points."""
    return M - 1 if sym else M


def exponential(M, *, center=None, tau=1.0, sym=True, dtype=None, layout=_STRIDED, device=None,
                requires_grad=False):
    """The exponential (Poisson) window: w_n = exp(-|n - c| / tau).

    Args:
        center (float, optional): c, where the window peaks; only for sym=False. Default: (M - 1) / 2
            if sym, else M / 2.
        tau (float, optional): the decay length, > 0. Default: 1.0.
    """
    dtype = dtype or flambeau.get_default_dtype()
    _window_function_checks("exponential", M, dtype, layout)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    if M == 0:
        return _empty(dtype, device, requires_grad)
    if center is None:
        center = (M if not sym and M > 1 else M - 1) / 2.0
    k = _points(-center, 1 / tau, M, dtype, device, requires_grad)      # (n - c) / tau
    return flambeau.exp(-flambeau.abs(k))


def cosine(M, *, sym=True, dtype=None, layout=_STRIDED, device=None, requires_grad=False):
    """The cosine (sine) window, as SciPy's: w_n = sin(pi (n + 0.5) / M), non-zero at both ends."""
    dtype = dtype or flambeau.get_default_dtype()
    _window_function_checks("cosine", M, dtype, layout)
    if M == 0:
        return _empty(dtype, device, requires_grad)
    k = _points(0.5, math.pi / (M + 1 if not sym and M > 1 else M), M, dtype, device, requires_grad)
    return flambeau.sin(k)


def gaussian(M, *, std=1.0, sym=True, dtype=None, layout=_STRIDED, device=None, requires_grad=False):
    """The Gaussian window: w_n = exp(-(n - (M - 1) / 2)^2 / (2 std^2)).

    Args:
        std (float, optional): the standard deviation, in samples, > 0. Default: 1.0.
    """
    dtype = dtype or flambeau.get_default_dtype()
    _window_function_checks("gaussian", M, dtype, layout)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    if M == 0:
        return _empty(dtype, device, requires_grad)
    start = -(M if not sym and M > 1 else M - 1) / 2.0
    k = _points(start, 1 / (std * math.sqrt(2)), M, dtype, device, requires_grad)     # (n - c) / (sqrt(2) std)
    return flambeau.exp(-(k ** 2))


def kaiser(M, *, beta=12.0, sym=True, dtype=None, layout=_STRIDED, device=None, requires_grad=False):
    """The Kaiser window: w_n = I0(beta sqrt(1 - ((n - N/2) / (N/2))^2)) / I0(beta), N = M - 1 if sym else M.

    Args:
        beta (float, optional): the shape parameter, >= 0 (0 is the rectangular window). Default: 12.0.
    """
    dtype = dtype or flambeau.get_default_dtype()
    _window_function_checks("kaiser", M, dtype, layout)
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    if M == 0:
        return _empty(dtype, device, requires_grad)
    if M == 1:
        return _ones(dtype, device, requires_grad)
    # k runs over [-beta, beta] and w = I0(sqrt(beta^2 - k^2)) / I0(beta). The bounds are computed in
    # dtype's precision (as torch does) on the host, so that sqrt never sees beta^2 - k^2 < 0 and
    # the device is not read; min() keeps rounding from stepping past beta.
    b = flambeau.tensor(beta, dtype=dtype)
    start = -b
    end = flambeau.minimum(b, start + (M - 1) * (2.0 * b / _denominator(M, sym)))
    k = flambeau.linspace(start, end, M, dtype=dtype, device=device, requires_grad=requires_grad)
    b = flambeau.tensor(beta, dtype=dtype, device=device)
    return flambeau.i0(flambeau.sqrt(b * b - k ** 2)) / flambeau.i0(b)


def general_cosine(M, *, a, sym=True, dtype=None, layout=_STRIDED, device=None, requires_grad=False):
    """A sum of cosines: w_n = sum_i (-1)^i a_i cos(2 pi i n / (M - 1)).

    Args:
        a (Iterable): the coefficients a_i (for example [0.5, 0.5], the Hann window).
    """
    dtype = dtype or flambeau.get_default_dtype()
    _window_function_checks("general_cosine", M, dtype, layout)
    if M == 0:
        return _empty(dtype, device, requires_grad)
    if M == 1:
        return _ones(dtype, device, requires_grad)
    if not isinstance(a, Iterable):
        raise TypeError("Coefficients must be a list/tuple")
    a = list(a)
    if not a:
        raise ValueError("Coefficients cannot be empty")
    k = _points(0, 2 * math.pi / _denominator(M, sym), M, dtype, device, requires_grad)   # 2 pi n / N
    signed = flambeau.tensor([(-1) ** i * float(w) for i, w in enumerate(a)], dtype=dtype, device=device,
                             requires_grad=requires_grad)
    i = flambeau.arange(len(a), dtype=dtype, device=device, requires_grad=requires_grad)
    return (signed.unsqueeze(-1) * flambeau.cos(i.unsqueeze(-1) * k)).sum(0)     # (terms, M) summed over terms


def general_hamming(M, *, alpha=0.54, sym=True, dtype=None, layout=_STRIDED, device=None, requires_grad=False):
    """The generalized Hamming window: w_n = alpha - (1 - alpha) cos(2 pi n / (M - 1)).

    Args:
        alpha (float, optional): the window coefficient. Default: 0.54 (the Hamming window).
    """
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def hamming(M, *, sym=True, dtype=None, layout=_STRIDED, device=None, requires_grad=False):
    """The Hamming window: w_n = 0.54 - 0.46 cos(2 pi n / (M - 1))."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)


def hann(M, *, sym=True, dtype=None, layout=_STRIDED, device=None, requires_grad=False):
    """The Hann window: w_n = 0.5 - 0.5 cos(2 pi n / (M - 1)) = sin^2(pi n / (M - 1))."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def blackman(M, *, sym=True, dtype=None, layout=_STRIDED, device=None, requires_grad=False):
    """The Blackman window: w_n = 0.42 - 0.5 cos(2 pi n / (M - 1)) + 0.08 cos(4 pi n / (M - 1))."""
    dtype = dtype or flambeau.get_default_dtype()
    _window_function_checks("blackman", M, dtype, layout)
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def bartlett(M, *, sym=True, dtype=None, layout=_STRIDED, device=None, requires_grad=False):
    """The Bartlett (triangular) window: w_n = 1 - |2n / (M - 1) - 1|."""
    dtype = dtype or flambeau.get_default_dtype()
    _window_function_checks("bartlett", M, dtype, layout)
    if M == 0:
        return _empty(dtype, device, requires_grad)
    if M == 1:
        return _ones(dtype, device, requires_grad)
    constant = 2 / _denominator(M, sym)                   # k = 2n / N - 1
    k = flambeau.linspace(-1, -1 + (M - 1) * constant, M, dtype=dtype, device=device, requires_grad=requires_grad)
    return 1 - flambeau.abs(k)


def nuttall(M, *, sym=True, dtype=None, layout=_STRIDED, device=None, requires_grad=False):
    """Nuttall's minimum 4-term Blackman-Harris window:
    w_n = 0.3635819 - 0.4891775 cos(z_n) + 0.1365995 cos(2 z_n) - 0.0106411 cos(3 z_n), z_n = 2 pi n / (M - 1).

    Nuttall, "Some windows with very good sidelobe behavior", IEEE Trans. ASSP 29(1), 1981.
    """
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)
