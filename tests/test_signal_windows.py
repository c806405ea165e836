"""flambeau.signal.windows against torch.signal.windows: values, dtypes, devices, the M = 0 and M = 1
corners, the autograd flags, signatures and errors."""
import inspect

import numpy as np
import pytest

import flambeau
import flambeau.signal.windows as W
from _oracle import assert_same, need_torch, no_host_reads

torch = need_torch()
import torch.signal.windows as TW  # noqa: E402

NAMES = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
         "hamming", "hann", "kaiser", "nuttall"]
# each window's own keywords, beyond the defaults (general_cosine needs a)
PARAMS = {
    "bartlett": [{}], "blackman": [{}], "cosine": [{}], "hamming": [{}], "hann": [{}], "nuttall": [{}],
    "exponential": [{}, {"tau": 0.3}, {"tau": 7.5}],
    "gaussian": [{}, {"std": 0.4}, {"std": 3.0}],
    "kaiser": [{}, {"beta": 0.0}, {"beta": 2.5}, {"beta": 40.0}],
    "general_cosine": [{"a": [0.5, 0.5]}, {"a": (0.3, 0.4, 0.2, 0.1)}, {"a": [1.0]}],
    "general_hamming": [{}, {"alpha": 0.5}, {"alpha": 0.8}],
}
CASES = [(n, kw) for n in NAMES for kw in PARAMS[n]]
SIZES = [0, 1, 2, 3, 4, 7, 10, 33]


def _tol(dtype, name=""):
    # float32: a few ulps apart where NumPy's and torch's sin/cos/exp/i0 round differently; the Kaiser
    # window's I0(x) / I0(beta) amplifies the rounding of x by about beta (both are ~2e-6 off at beta = 40)
    if dtype == "float32":
        return dict(rtol=1e-5 if name == "kaiser" else 2e-6, atol=1e-6)
    return dict(rtol=1e-12, atol=1e-14)


def _both(name, M, device, **kw):
    """The window from flambeau (on device) and from torch (on the CPU)."""
    dtype = kw.pop("dtype", None)
    ours = getattr(W, name)(M, dtype=None if dtype is None else getattr(flambeau, dtype), device=device, **kw)
    ref = getattr(TW, name)(M, dtype=None if dtype is None else getattr(torch, dtype), **kw)
    return ours, ref


def test_import_paths():
    import flambeau.signal
    assert flambeau.signal.windows is W
    assert flambeau.signal.__all__ == ["windows"]
    assert W.__all__ == TW.__all__ == NAMES
    assert flambeau.signal.windows.hann(3).tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_torch(name):
    ours, ref = inspect.signature(getattr(W, name)), inspect.signature(getattr(TW, name))
    assert list(ours.parameters) == list(ref.parameters)
    for p, q in zip(ours.parameters.values(), ref.parameters.values()):
        assert p.kind == q.kind, p.name
        assert str(p.default) == str(q.default), p.name       # torch.strided prints as "torch.strided"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sym", [True, False])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for n in NAMES for i in range(len(PARAMS[n]))])
def test_values_match_torch(name, kw, sym, dtype, device):
    for M in SIZES:
        ours, ref = _both(name, M, device, sym=sym, dtype=dtype, **kw)
        assert_same(ours, ref, device=device, **_tol(dtype, name))


@pytest.mark.parametrize("center", [0.0, 2.0, 4.5, -3.0, 20.0])
def test_exponential_center(center, device):
    for M in (1, 2, 9, 10):
        ours, ref = _both("exponential", M, device, sym=False, center=center, tau=2.0, dtype="float64")
        assert_same(ours, ref, device=device, **_tol("float64"))


def test_known_values():
    """A few windows by their formulas, independently of torch."""
    n = np.arange(9)
    np.testing.assert_allclose(W.hann(9, dtype=flambeau.float64).numpy(), 0.5 - 0.5 * np.cos(2 * np.pi * n / 8),
                               atol=1e-15)
    np.testing.assert_allclose(W.bartlett(9, dtype=flambeau.float64).numpy(), 1 - np.abs(n / 4 - 1), atol=1e-15)
    np.testing.assert_allclose(W.cosine(9, dtype=flambeau.float64).numpy(), np.sin(np.pi * (n + 0.5) / 9),
                               atol=1e-15)
    np.testing.assert_allclose(W.gaussian(9, std=2.0, dtype=flambeau.float64).numpy(),
                               np.exp(-((n - 4) ** 2) / 8), atol=1e-15)
    np.testing.assert_allclose(W.kaiser(9, beta=5.0, dtype=flambeau.float64).numpy(),
                               np.kaiser(9, 5.0), rtol=1e-12)
    # periodic = the symmetric window of M + 1 points less its last, as the older flambeau.hann_window
    for name in ("hann", "hamming", "blackman", "bartlett"):
        np.testing.assert_allclose(getattr(W, name)(8, sym=False, dtype=flambeau.float64).numpy(),
                                   getattr(W, name)(9, dtype=flambeau.float64).numpy()[:8], atol=1e-15)
        np.testing.assert_allclose(getattr(W, name)(8, sym=False, dtype=flambeau.float64).numpy(),
                                   getattr(flambeau, name + "_window")(8, dtype=flambeau.float64).numpy(), atol=1e-15)


def test_default_dtype_and_device(device):
    prev = flambeau.get_default_dtype()
    try:
        flambeau.set_default_dtype(flambeau.float64)
        torch.set_default_dtype(torch.float64)
        for name, kw in CASES:
            ours, ref = _both(name, 6, device, **kw)
            assert_same(ours, ref, device=device, **_tol("float64"))
    finally:
        flambeau.set_default_dtype(prev)
        torch.set_default_dtype(torch.float32)
    for name, kw in CASES:
        for M in (0, 1, 5):
            ours, ref = _both(name, M, device, **kw)
            assert str(ours.dtype) == str(ref.dtype) == "torch.float32"
            assert ours.device.type == flambeau.device(device).type


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for n in NAMES for i in range(len(PARAMS[n]))])
def test_requires_grad_like_torch(name, kw, device):
    """The linspace under the window is the leaf: the window itself requires grad and is not a leaf (a
    leaf for M = 0, and for M = 1 where torch returns ones), with torch's node."""
    for M in (0, 1, 2, 6):
        ours, ref = _both(name, M, device, requires_grad=True, **kw)
        assert ours.requires_grad == ref.requires_grad
        assert ours.is_leaf == ref.is_leaf, (name, M)
        assert type(ours.grad_fn).__name__ == type(ref.grad_fn).__name__
        if not ours.is_leaf:
            ours.sum().backward()              # the graph runs back to the hidden leaf
        ours, ref = _both(name, M, device, **kw)
        assert not ours.requires_grad and ours.is_leaf


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for n in NAMES for i in range(len(PARAMS[n]))])
def test_no_host_reads(name, kw, device):
    """The window is computed on the host and uploaded, or on the device: never read back."""
    with no_host_reads(device):
        w = getattr(W, name)(9, device=device, **kw)
    assert w.device.type == flambeau.device(device).type


def _same_error(fn):
    """fn(lib) raises the same exception type and message under flambeau and under torch."""
    errors = []
    for lib in (flambeau, torch):
        with pytest.raises(Exception) as e:
            fn(lib)
        errors.append((e.type, str(e.value)))
    assert errors[0] == errors[1]
    return errors[0]


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for n in NAMES for i in range(len(PARAMS[n]))])
def test_common_errors(name, kw):
    def win(lib, *args, **more):
        return getattr(lib.signal.windows, name)(*args, **kw, **more)

    assert _same_error(lambda lib: win(lib, -1))[0] is ValueError
    assert _same_error(lambda lib: win(lib, -3, dtype=lib.int64))[0] is ValueError        # M is checked first
    for dt in ("float16", "int32", "int64", "bool", "complex64", "uint8"):
        for M in (0, 1, 4):
            assert _same_error(lambda lib: win(lib, M, dtype=getattr(lib, dt)))[0] is ValueError
    for layout in (None, "sparse"):
        assert _same_error(lambda lib: win(lib, 3, layout=layout))[0] is ValueError


def test_parameter_errors():
    cases = [
        lambda lib: lib.signal.windows.exponential(5, tau=0.0),
        lambda lib: lib.signal.windows.exponential(5, tau=-2),
        lambda lib: lib.signal.windows.exponential(0, tau=-2),                 # before the M == 0 return
        lambda lib: lib.signal.windows.exponential(5, center=1.0),            # center only when sym=False
        lambda lib: lib.signal.windows.exponential(5, center=1.0, sym=True),
        lambda lib: lib.signal.windows.gaussian(5, std=0.0),
        lambda lib: lib.signal.windows.gaussian(0, std=-1.5),
        lambda lib: lib.signal.windows.kaiser(5, beta=-0.5),
        lambda lib: lib.signal.windows.kaiser(1, beta=-1),
        lambda lib: lib.signal.windows.general_cosine(5, a=[]),
        lambda lib: lib.signal.windows.general_cosine(5, a=()),
        lambda lib: lib.signal.windows.general_cosine(5, a=3.0),
        lambda lib: lib.signal.windows.general_cosine(5, a=None),
        lambda lib: lib.signal.windows.exponential(-1, tau=-1),              # the common checks come first
        lambda lib: lib.signal.windows.kaiser(3, beta=-1, dtype=lib.float16),
    ]
    kinds = [_same_error(c)[0] for c in cases]
    assert kinds == [ValueError] * 11 + [TypeError, TypeError, ValueError, ValueError]
    # a missing keyword-only argument, a positional one
    for fn in (lambda lib: lib.signal.windows.general_cosine(5),
               lambda lib: lib.signal.windows.hann(5, True),
               lambda lib: lib.signal.windows.hann()):
        for lib in (flambeau, torch):
            with pytest.raises(TypeError):
                fn(lib)


def test_small_corners_skip_parameter_checks_like_torch():
    """general_cosine returns before looking at a for M = 0 and 1 (torch too), sym=False changes nothing there."""
    for lib in (flambeau, torch):
        assert lib.signal.windows.general_cosine(0, a=3.0).shape == (0,)
        assert lib.signal.windows.general_cosine(1, a=[]).tolist() == [1.0]
    assert_same(W.exponential(1, sym=False, center=5.0), TW.exponential(1, sym=False, center=5.0),
                **_tol("float32"))


def test_coefficients_from_any_iterable(device):
    ours = W.general_cosine(7, a=iter([0.5, 0.5]), device=device, dtype=flambeau.float64)
    ref = TW.general_cosine(7, a=[0.5, 0.5], dtype=torch.float64)
    assert_same(ours, ref, device=device, **_tol("float64"))
    assert_same(W.hann(7, dtype=flambeau.float64, device=device), ref, device=device, **_tol("float64"))
