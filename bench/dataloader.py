"""DataLoader throughput on MNIST: batches of 100, shuffled, ToTensor + Normalize per sample,
with 0 and 2 worker processes, flambeau's DataLoader and torch.utils.data.DataLoader on the
same uint8 images (the torch side converts each image through PIL exactly as ToTensor does).
Reports samples per second (higher is better; ratio = flambeau / torch)."""
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import parser, row, emit  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MEAN, STD = 0.1307, 0.3081


def flambeau_loader(n, workers):
    import flambeau
    from flambeau.utils.data import DataLoader, Subset
    from flambeau.vision import datasets, transforms
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    if (SHARED / "MNIST" / "raw").is_dir():
        ds = datasets.MNIST(str(SHARED), train=True, transform=tf)
    else:
        ds = datasets.MNIST.embedded(train=True, transform=tf)
    ds = Subset(ds, range(min(n, len(ds))))
    return DataLoader(ds, batch_size=100, shuffle=True, num_workers=workers,
                      generator=flambeau.Generator().manual_seed(0)), len(ds)


def torch_loader(n, workers):
    import torch
    from PIL import Image
    from flambeau.vision import datasets
    if (SHARED / "MNIST" / "raw").is_dir():
        src = datasets.MNIST(str(SHARED), train=True)
    else:
        src = datasets.MNIST.embedded(train=True)
    images = src.data.numpy()[:n]
    labels = src.targets.numpy()[:n]

    class MNISTArrays(torch.utils.data.Dataset):
        def __len__(self):
            return len(images)

        def __getitem__(self, i):
            img = Image.fromarray(images[i], mode="L")                        # as torchvision's MNIST
            x = torch.from_numpy(np.array(img, copy=True)).unsqueeze(0).float().div(255)    # ToTensor
            return (x - MEAN) / STD, int(labels[i])                             # Normalize

    return torch.utils.data.DataLoader(MNISTArrays(), batch_size=100, shuffle=True, num_workers=workers,
                                       generator=torch.Generator().manual_seed(0)), len(images)


def samples_per_s(make, n, workers, epochs):
    loader, count = make(n, workers)
    best = 0.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        seen = 0
        for x, y in loader:
            seen += len(y)
        best = max(best, seen / (time.perf_counter() - t0))
    assert seen == count
    return best


def main(argv=None):
    args = parser(__doc__).parse_args(argv)
    n = 10_000 if args.quick else 60_000
    import flambeau
    import torch
    torch.set_num_threads(1)
    flambeau.set_num_threads(1)
    rows = []
    for workers in (0, 2):
        ours = samples_per_s(flambeau_loader, n, workers, 2)
        theirs = samples_per_s(torch_loader, n, workers, 2)
        rows.append(row(f"MNIST DataLoader, {workers} workers ({n} samples, batch 100)", ours, theirs,
                        "samples/s", "higher is better"))
    emit(rows, args)


if __name__ == "__main__":
    main()
