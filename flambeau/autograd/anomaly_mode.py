"""Anomaly detection: record each op's creation traceback and fail on NaN gradients."""
import warnings

from .function import _anomaly


def is_anomaly_enabled():
    return _anomaly[0]


class detect_anomaly:
    """Context manager: a backward that produces NaN raises, naming the forward op and its traceback."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                      "enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self):
        self._prev = _anomaly[0]
        _anomaly[0] = True

    def __exit__(self, *exc):
        _anomaly[0] = self._prev
        return False


class set_detect_anomaly:
    def __init__(self, mode, check_nan=True):
        self._prev = _anomaly[0]
        _anomaly[0] = bool(mode)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _anomaly[0] = self._prev
        return False
