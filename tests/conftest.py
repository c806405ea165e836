"""Shared test fixtures: the ``device`` fixture and the PyTorch oracle.

PyTorch is the oracle for values, dtypes, shapes, error types and gradients. Oracle tests
must run, not skip: when torch is missing the session fails, unless
FLAMBEAU_ALLOW_NO_ORACLE=1 is set (for a quick local run without it).
"""
import os

import pytest

from _oracle import HAVE_TORCH

try:
    from hypothesis import settings
    settings.register_profile("ci", deadline=None, derandomize=True, max_examples=25)
    settings.load_profile("ci")
except ImportError:
    pass


def pytest_sessionstart(session):
    if not HAVE_TORCH and os.environ.get("FLAMBEAU_ALLOW_NO_ORACLE") != "1":
        raise pytest.UsageError(
            "torch==2.13.0 (the test oracle) is not importable: install the test extra, "
            "pip install -e '.[test]' (or set FLAMBEAU_ALLOW_NO_ORACLE=1 to skip oracle tests)")


def _cuda_available():
    if os.environ.get("FLAMBEAU_TEST_CUDA", "1") == "0":
        return False
    import flambeau
    return flambeau.cuda.is_available()


DEVICES = ["cpu"] + (["cuda"] if _cuda_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    """Every test taking ``device`` runs on cpu, and on cuda when CuPy finds a GPU."""
    return request.param


def pytest_collection_modifyitems(config, items):
    if "cuda" in DEVICES:
        return
    skip = pytest.mark.skip(reason="no CUDA GPU (CuPy) on this machine")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
