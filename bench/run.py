"""Run every benchmark, one after the other (never at once: PyTorch collapses when cores are
shared), each side by side with PyTorch, and print one table of times and ratios.

    python -m bench [--quick] [--json FILE] [--only NAME ...]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _common import table, machine  # noqa: E402

# (script, extra arguments in --quick mode)
BENCHMARKS = [
    ("ops.py", []),
    ("autograd.py", []),
    ("seed_convnet.py", ["--n-train", "10000"]),
    ("dataloader.py", []),
    ("memory.py", []),
    ("import_time.py", []),
]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", metavar="FILE", help="write every row and the machine as JSON")
    p.add_argument("--quick", action="store_true", help="less data and fewer repetitions")
    p.add_argument("--only", nargs="*", help="run only these benchmarks (e.g. ops autograd)")
    args = p.parse_args(argv)
    rows = []
    for script, quick_args in BENCHMARKS:
        name = script[:-3]
        if args.only and name not in args.only:
            continue
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            path = f.name
        cmd = [sys.executable, os.path.join(HERE, script), "--json", path] + (
            ["--quick"] + quick_args if args.quick else [])
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        r = subprocess.run(cmd, cwd=os.path.dirname(HERE))
        if r.returncode != 0:
            print(f"   {name} failed (exit {r.returncode})", flush=True)
            continue
        with open(path) as f:
            rows += json.load(f)["rows"]
        os.unlink(path)
    print()
    m = machine()
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['date']}")
    table(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "machine": m}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
