"""``python -m flambeau.compat SCRIPT.py [args]``: run a PyTorch script on flambeau."""
import os
import sys

from . import run_script


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print("usage: python -m flambeau.compat SCRIPT.py [args ...]\n"
              "Runs a script written for PyTorch with torch/torchvision imports resolved to flambeau.")
        return 0 if len(sys.argv) >= 2 else 2
    path = sys.argv[1]
    if not os.path.isfile(path):
        print(f"flambeau.compat: error: no such script: {path}", file=sys.stderr)
        return 2
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    run_script(path, sys.argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
