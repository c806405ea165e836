"""flambeau's malloc settings (Note [Keeping freed memory for the next step] in flambeau/_malloc.py)."""
import os
import subprocess
import sys

import pytest

import flambeau

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# In a fresh process: import flambeau, then allocate and free the same 4 MiB array 50 times and
# count the page faults that cost after the first round.
CHILD = r"""
import resource, sys
import numpy as np
import flambeau
from flambeau import _malloc
x = np.ones(1 << 20, np.float32)
del x
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    x = np.ones(1 << 20, np.float32)
    del x
print(_malloc.tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def run_child(**env):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES", "FLAMBEAU_MALLOC"))}
    full.update(env, PYTHONPATH=REPO)
    out = subprocess.run([sys.executable, "-c", CHILD], env=full, capture_output=True, text=True, check=True)
    tuned, faults = out.stdout.split()
    return tuned == "True", int(faults)


glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
                           reason="mallopt is glibc's")


@glibc
def test_freed_large_arrays_are_reused_without_page_faults():
    tuned, faults = run_child()
    assert tuned
    assert faults < 50            # one 4 MiB array on fresh pages would be 1,024 faults alone


@glibc
def test_malloc_is_left_alone_when_asked():
    tuned, _ = run_child(FLAMBEAU_MALLOC_TUNING="0")
    assert not tuned


@glibc
def test_the_users_own_malloc_settings_win():
    tuned, faults = run_child(MALLOC_MMAP_THRESHOLD_="131072")
    assert not tuned
    # the user's fixed threshold: every round maps fresh pages, at least two faults a round (NumPy
    # asks for 2 MiB huge pages for arrays this large; where the kernel has none free, 1,024)
    assert faults >= 100


def test_tuning_is_reported():
    from flambeau import _malloc
    assert _malloc.tuned == _malloc.tune()
