"""``flambeau.testing.assert_close``: PyTorch's default tolerances per dtype."""
import numpy as np

from . import _xp
from ._tensor import Tensor

_TOL = {"float16": (1e-3, 1e-5), "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7),
        "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7)}


def assert_close(actual, expected, *, rtol=None, atol=None, equal_nan=False, check_device=True, check_dtype=True,
                 msg=None):
    if not isinstance(actual, Tensor) or not isinstance(expected, Tensor):
        from ._ops.creation import tensor
        actual = actual if isinstance(actual, Tensor) else tensor(actual)
        expected = expected if isinstance(expected, Tensor) else tensor(expected)
        check_dtype = False
    if actual.shape != expected.shape:
        raise AssertionError(msg or f"The values for attribute 'shape' do not match: {actual.shape} != "
                                    f"{expected.shape}.")
    if check_dtype and actual.dtype is not expected.dtype:
        raise AssertionError(msg or f"The values for attribute 'dtype' do not match: {actual.dtype} != "
                                    f"{expected.dtype}.")
    if check_device and actual.device != expected.device:
        raise AssertionError(msg or f"The values for attribute 'device' do not match: {actual.device} != "
                                    f"{expected.device}.")
    r, a = _TOL.get(actual.dtype.name, (0.0, 0.0))
    rtol = r if rtol is None else rtol
    atol = a if atol is None else atol
    x, y = _xp.to_host(actual._data), _xp.to_host(expected._data)
    if not np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan):
        bad = ~np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)
        raise AssertionError(msg or f"Tensor-likes are not close!\n\nMismatched elements: {int(bad.sum())} / "
                                    f"{bad.size} ({100.0 * bad.sum() / max(bad.size, 1):.1f}%)\nGreatest absolute "
                                    f"difference: {np.max(np.abs(x - y)[bad])}")


assert_allclose = assert_close
