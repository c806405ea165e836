"""Anomaly detection: record each op's creation traceback and fail on NaN gradients.

While it is on, an error raised in the backward of a node also warns, as PyTorch does, with the
traceback of the forward call that created that node ("Error detected in SqrtBackward0...").
"""
import warnings

from .function import _anomaly


def is_anomaly_enabled():
    return _anomaly[0]


def is_anomaly_check_nan_enabled():
    """Whether anomaly mode, when on, also checks each backward's results for NaN (default True)."""
    return _anomaly[1]


def _set(mode, check_nan):
    _anomaly[0], _anomaly[1] = bool(mode), bool(check_nan)


class detect_anomaly:
    """Context manager: a backward that produces NaN raises (with ``check_nan``), and an error in
    a backward warns with the traceback of the forward op that made the failing node."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                      "enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self):
        self._prev = tuple(_anomaly)
        _set(True, self.check_nan)

    def __exit__(self, *exc):
        _set(*self._prev)
        return False


class set_detect_anomaly:
    """Turn anomaly mode on or off, as a function call or as a context manager (restored on exit)."""

    def __init__(self, mode, check_nan=True):
        self._prev = tuple(_anomaly)
        _set(mode, check_nan)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _set(*self._prev)
        return False


def _warn_error_in(node):
    """The warning PyTorch gives when a node's backward raises in anomaly mode."""
    trace = getattr(node, "_trace", None)
    if trace is not None or type(node).__name__ == "AccumulateGrad":     # a leaf's sink: an empty traceback
        detail = f"Traceback of forward call that caused the error:\n{trace or ''}"
    else:
        detail = ("No forward pass information available. Enable detect anomaly during forward pass for more "
                  "information.")
    warnings.warn(f"Error detected in {node.name()}. {detail}", UserWarning, stacklevel=3)
