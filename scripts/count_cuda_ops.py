"""Count the array operations one training step issues on cuda, on the emulated CuPy (no GPU needed).

On a GPU each array operation is (at least) one kernel launch, and for small networks the launches,
not the arithmetic, set the time; this counts them for the lecture's convnet and a 784-100-10 MLP.

    python3 scripts/count_cuda_ops.py                # totals
    python3 scripts/count_cuda_ops.py --by-caller    # and where in flambeau each operation comes from
"""
import argparse
import collections
import os
import sys
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "tests"), os.path.join(REPO, "bench"), REPO]

import _emulated_cupy  # noqa: E402
import flambeau  # noqa: E402

flambeau._xp.use_cupy(_emulated_cupy.install())
from flambeau import nn  # noqa: E402
from seed_convnet import make_model  # noqa: E402


class _ByCaller(collections.Counter):
    """LAUNCHES that also records the flambeau line issuing each operation."""

    def __init__(self):
        super().__init__()
        self.callers = collections.Counter()

    def __missing__(self, key):
        return 0

    def __setitem__(self, key, value):
        frames = [f for f in traceback.extract_stack()[:-1] if os.sep + "flambeau" + os.sep in f.filename]
        where = f"{frames[-1].filename.split('flambeau' + os.sep)[-1]}:{frames[-1].lineno}" if frames else "?"
        self.callers[(where, key)] += 1
        super().__setitem__(key, value)


def count(name, model, x, y, by_caller, optimizer=flambeau.optim.SGD):
    optimizer = optimizer(model.parameters(), lr=0.1)

    def step():
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    step()                      # the first step makes the gradients and any state
    _emulated_cupy.LAUNCHES = tally = _ByCaller()
    step()
    print(f"{name}: {sum(tally.values())} array operations per step")
    if by_caller:
        for (where, op), n in tally.callers.most_common():
            print(f"  {n:4d}  {where:45s} {op}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--by-caller", action="store_true")
    args = p.parse_args()
    flambeau.manual_seed(0)
    count("lecture convnet, batch 100", make_model(flambeau).to("cuda"),
          flambeau.randn(100, 1, 28, 28, device="cuda"), flambeau.randint(0, 10, (100,), device="cuda"),
          args.by_caller)
    for optimizer in (flambeau.optim.SGD, flambeau.optim.Adam):
        count(f"MLP 784-100-10, batch 64, {optimizer.__name__}",
              nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10)).to("cuda"),
              flambeau.randn(64, 784, device="cuda"), flambeau.randint(0, 10, (64,), device="cuda"), args.by_caller,
              optimizer)


if __name__ == "__main__":
    main()
