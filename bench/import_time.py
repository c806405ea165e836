"""Import time: ``import flambeau`` vs ``import torch`` in a fresh interpreter (best of 5)."""
import subprocess
import sys
import time

from _common import parser, row, emit


def best_import(module, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None):
    args = parser(__doc__).parse_args(argv)
    n = 3 if args.quick else 5
    base = best_import("sys", n)
    rows = [row("import time (interpreter start excluded)", best_import("flambeau", n) - base,
                best_import("torch", n) - base)]
    emit(rows, args)


if __name__ == "__main__":
    main()
