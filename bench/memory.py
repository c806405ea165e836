"""Peak memory of training the lecture's convnet for 20 steps (batch 100), each framework in a fresh
process: the maximum resident set size minus the process's size after imports and data setup."""
import json
import subprocess
import sys

from _common import parser, row, emit

CHILD = r"""
import json, resource, sys, numpy as np
lib = sys.argv[1]
if lib == "torch":
    import torch
    torch.set_num_threads(2)
else:
    import flambeau as torch
nn = torch.nn
rng = np.random.default_rng(0)
x = torch.tensor(rng.standard_normal((2000, 1, 28, 28)).astype(np.float32))
y = torch.tensor(rng.integers(0, 10, 2000))
model = nn.Sequential(nn.Conv2d(1, 32, 5), nn.MaxPool2d(3), nn.ReLU(), nn.Conv2d(32, 64, 5), nn.MaxPool2d(2),
                      nn.ReLU(), nn.Flatten(), nn.Linear(256, 200), nn.ReLU(), nn.Linear(200, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
crit = nn.CrossEntropyLoss()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for xb, yb in zip(x.split(100), y.split(100)):
    loss = crit(model(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"base_mb": base / 1024, "peak_mb": peak / 1024}))
"""


def measure(lib):
    out = subprocess.run([sys.executable, "-c", CHILD, lib], check=True, capture_output=True, text=True).stdout
    d = json.loads(out.strip().splitlines()[-1])
    return d["peak_mb"] - d["base_mb"], d["peak_mb"]


def main(argv=None):
    args = parser(__doc__).parse_args(argv)
    ours, ours_total = measure("flambeau")
    theirs, theirs_total = measure("torch")
    emit([row("peak memory over 20 convnet steps (above baseline)", ours, theirs, "MB"),
          row("peak resident memory of that process", ours_total, theirs_total, "MB")], args)


if __name__ == "__main__":
    main()
