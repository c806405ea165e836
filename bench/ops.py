"""Per-op time, flambeau next to PyTorch in one run.

    python3 bench/ops.py [--quick] [--json FILE] [--threads N] [--profile]

Elementwise ops (add, mul, exp, relu) and reductions (sum, mean, max) on float32 tensors of
10 elements (the per-call dispatch cost) and of 10^6 elements (the kernels), and a 512x512
matmul. Each row prints both times per call and flambeau / PyTorch. Both sides run on the
same number of threads (default 1: NumPy's ufuncs are single-threaded, so a multi-threaded
PyTorch would measure cores, not code). ``--profile`` runs cProfile on ``x + y`` for
10-element tensors, the path that dominates small-op overhead.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))


def _threads(argv):
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


# The BLAS thread count must be fixed before NumPy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, _threads(sys.argv))

import numpy as np  # noqa: E402

import flambeau  # noqa: E402
from _common import emit, parser, per_call, row  # noqa: E402

try:
    import torch
except ImportError:       # the bench still times flambeau alone
    torch = None

ELEMENTWISE = {
    "add": lambda lib, x, y: x + y,
    "mul": lambda lib, x, y: x * y,
    "exp": lambda lib, x, y: x.exp(),
    "relu": lambda lib, x, y: lib.relu(x),
}
REDUCTIONS = {
    "sum": lambda lib, x, y: x.sum(),
    "mean": lambda lib, x, y: x.mean(),
    "max": lambda lib, x, y: x.max(),
}


def operands(lib, shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.standard_normal(shape).astype(np.float32)
    return lib.from_numpy(x.copy()), lib.from_numpy(y.copy())


def case(lib, fn, shape):
    x, y = operands(lib, shape)
    return lambda: fn(lib, x, y)


def cases():
    for size_name, shape in (("10", (10,)), ("1e6", (1000, 1000))):
        for name, fn in {**ELEMENTWISE, **REDUCTIONS}.items():
            yield f"{name} [{size_name}]", fn, shape
    yield "matmul [512x512]", (lambda lib, x, y: x @ y), (512, 512)


def measure(args):
    """Best of interleaved rounds for each side: on a shared machine the minimum is the time the
    code needs, the rest is other people's load."""
    min_time = 0.02 if args.quick else 0.05
    rounds = 3 if args.quick else 7
    flambeau.set_num_threads(int(args.threads))     # both libraries on the same threads
    if torch is not None:
        torch.set_num_threads(int(args.threads))
    rows = []
    for name, fn, shape in cases():
        ours_fn = case(flambeau, fn, shape)
        ref_fn = case(torch, fn, shape) if torch is not None else None
        ours = ref = float("inf")
        for _ in range(rounds):
            ours = min(ours, per_call(ours_fn, min_time, 1))
            if ref_fn is not None:
                ref = min(ref, per_call(ref_fn, min_time, 1))
        rows.append(row(f"ops: {name}", ours, ref if ref_fn is not None else float("nan")))
    return rows


def check_results():
    """The benchmarked expressions give torch's values (a benchmark of wrong answers is worthless)."""
    if torch is None:
        return
    for name, fn, shape in cases():
        if shape == (512, 512):
            shape = (64, 64)
        a = fn(flambeau, *operands(flambeau, shape))
        b = fn(torch, *operands(torch, shape))
        np.testing.assert_allclose(np.asarray(a), b.numpy(), rtol=1e-5, atol=1e-5, err_msg=name)


def profile_small_add(n=50000):
    import cProfile
    import pstats
    x, y = operands(flambeau, (10,))
    for _ in range(1000):
        x + y
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        x + y
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(12)


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--threads", default="1", help="threads for PyTorch and BLAS (default 1)")
    p.add_argument("--profile", action="store_true", help="cProfile flambeau's small x + y")
    args = p.parse_args(argv)
    check_results()
    if args.profile:
        profile_small_add()
        return 0
    emit(measure(args), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
