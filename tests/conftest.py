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


def _cuda_mode():
    """'gpu' with CuPy on a real GPU, 'emulated' (CuPy emulated on NumPy) elsewhere, None when off.

    FLAMBEAU_TEST_CUDA=0 turns the cuda runs off; =emulate forces the emulation even on a GPU.
    """
    flag = os.environ.get("FLAMBEAU_TEST_CUDA", "1")
    if flag == "0":
        return None
    import flambeau
    from flambeau import _xp
    if flag != "emulate" and flambeau.cuda.is_available():
        return "gpu"
    import _emulated_cupy
    _xp.use_cupy(_emulated_cupy.install())
    return "emulated"


CUDA_MODE = _cuda_mode()
DEVICES = ["cpu"] + (["cuda"] if CUDA_MODE else [])


def pytest_report_header(config):
    return {"gpu": "cuda: a real GPU through CuPy",
            "emulated": "cuda: emulated CuPy on NumPy (no GPU; checks CuPy's API and strictness, not GPU numerics)",
            None: "cuda: off (FLAMBEAU_TEST_CUDA=0)"}[CUDA_MODE]


@pytest.fixture(params=DEVICES)
def device(request):
    """Every test taking ``device`` runs on cpu, and on cuda (a real GPU, or the emulation)."""
    return request.param


def pytest_collection_modifyitems(config, items):
    if CUDA_MODE == "gpu":
        return
    skip = pytest.mark.skip(reason="needs a real CUDA GPU (CuPy)" if CUDA_MODE else "cuda runs are off")
    for item in items:
        if "gpu" in item.keywords or ("cuda" in item.keywords and not CUDA_MODE):
            item.add_marker(skip)
