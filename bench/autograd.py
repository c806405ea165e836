"""Autograd overhead, flambeau next to PyTorch in one run.

    python3 bench/autograd.py [--profile]

Times (best of several rounds, interleaved so both see the same machine load):
  small:  forward+backward of y = ((x @ w).relu() * 2).sum(), x 4x8, w 8x8
  mlp:    one SGD step of a 784-100-10 MLP on a batch of 64 with cross-entropy
and prints flambeau's time per step over PyTorch's. ``--profile`` runs cProfile on
flambeau's small step.
"""
import os
import sys
import time

# One BLAS thread on both sides: the comparison is of per-op overhead, and a multi-threaded
# OpenBLAS on a busy machine spins (a 64x784 @ 784x100 product then takes 12 ms instead of 0.7).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import flambeau  # noqa: E402

try:
    import torch
except ImportError:       # the bench still times flambeau alone
    torch = None


def small_case(lib):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((4, 8)), dtype=lib.float32)
    w = lib.tensor(rng.standard_normal((8, 8)), dtype=lib.float32, requires_grad=True)

    def step():
        y = ((x @ w).relu() * 2).sum()
        y.backward()
        w.grad = None
    return step


def _cross_entropy(lib, logits, target):
    f = getattr(getattr(lib.nn, "functional", None), "cross_entropy", None)
    if f is not None:
        return f(logits, target)
    return -logits.log_softmax(1).gather(1, target[:, None]).mean()


def mlp_case(lib):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((64, 784)), dtype=lib.float32)
    target = lib.tensor(rng.integers(0, 10, 64))
    params = []
    for fan_in, fan_out in ((784, 100), (100, 10)):
        bound = 1 / np.sqrt(fan_in)    # U(-1/sqrt(in_features), 1/sqrt(in_features))
        params.append(lib.tensor(rng.uniform(-bound, bound, (fan_out, fan_in)), dtype=lib.float32,
                                 requires_grad=True))
        params.append(lib.tensor(rng.uniform(-bound, bound, fan_out), dtype=lib.float32, requires_grad=True))
    w1, b1, w2, b2 = params

    def step():
        h = (x @ w1.t() + b1).relu()
        loss = _cross_entropy(lib, h @ w2.t() + b2, target)
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= 0.1 * p.grad
                p.grad = None
    return step


# CPU time of this process, not wall time: the machines this runs on are shared, and time
# spent descheduled would otherwise land on whichever library happened to be running.
_clock = time.process_time


def best_time(step, n, rounds):
    best = float("inf")
    for _ in range(rounds):
        t = _clock()
        for _ in range(n):
            step()
        best = min(best, (_clock() - t) / n)
    return best


def compare(name, make, n, rounds=15):
    flambeau.set_num_threads(1)     # as PyTorch below: process time would count a second thread
    ours = make(flambeau)
    for _ in range(n // 5 + 1):
        ours()
    ref = make(torch) if torch is not None else None
    if ref is not None:
        torch.set_num_threads(1)
        for _ in range(n // 5 + 1):
            ref()
    t_ours, t_ref = float("inf"), float("inf")
    for _ in range(rounds):          # interleave so both see the same load
        t_ours = min(t_ours, best_time(ours, n, 1))
        if ref is not None:
            t_ref = min(t_ref, best_time(ref, n, 1))
    line = f"{name:6s} flambeau {t_ours * 1e6:9.1f} us/step"
    if ref is not None:
        line += f"   torch {t_ref * 1e6:9.1f} us/step   ratio {t_ours / t_ref:5.2f}x"
    print(line)
    return t_ours, t_ref


def profile_small(n=3000):
    import cProfile
    import pstats
    step = small_case(flambeau)
    for _ in range(100):
        step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        step()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(20)


def main(argv=None):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _common import parser, row, emit
    p = parser("Forward+backward of a tiny graph and one SGD step of a 784-100-10 MLP, "
               "flambeau next to PyTorch (CPU time, one BLAS thread on both sides).")
    p.add_argument("--profile", action="store_true", help="cProfile flambeau's small case")
    args = p.parse_args(argv)
    rounds = 5 if args.quick else 15
    small = compare("small", small_case, 200, rounds)
    mlp = compare("mlp", mlp_case, 40, rounds)
    if args.profile:
        profile_small()
    print()
    emit([row("autograd: ((x @ w).relu() * 2).sum() fwd+bwd, x 4x8", *small),
          row("autograd: MLP 784-100-10 SGD step, batch 64", *mlp)], args)


if __name__ == "__main__":
    main()
