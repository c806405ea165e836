"""Data pipelines as course code writes them, on synthetic data, seeded."""
import numpy as np
import torch
from torch.utils.data import (DataLoader, Dataset, TensorDataset, random_split, Subset, ConcatDataset,
                              WeightedRandomSampler, SubsetRandomSampler, BatchSampler, SequentialSampler)

torch.manual_seed(0)
g = torch.Generator().manual_seed(42)

x = torch.arange(40.).view(20, 2)
y = torch.arange(20) % 3
ds = TensorDataset(x, y)
print(len(ds), ds[3])
train, val = random_split(ds, [15, 5], generator=g)
print(len(train), len(val), val.indices if hasattr(val, "indices") else None)
print([b[1].tolist() for b in DataLoader(train, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(1))])
print([b[0].shape for b in DataLoader(ds, batch_size=6, drop_last=True)])
print(list(BatchSampler(SequentialSampler(range(7)), 3, False)), list(SubsetRandomSampler([1, 5, 9], generator=torch.Generator().manual_seed(2))))
print(list(WeightedRandomSampler([0.1, 0.0, 0.9], 6, generator=torch.Generator().manual_seed(3))))
print(len(ConcatDataset([ds, Subset(ds, [0, 1])])), Subset(ds, [4, 2])[1])


class Pairs(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"image": torch.full((1, 2, 2), float(i)), "label": i, "name": f"s{i}", "arr": np.ones(2) * i}


batch = next(iter(DataLoader(Pairs(), batch_size=3)))
print(batch["image"].shape, batch["label"], batch["name"], batch["arr"])
print(next(iter(DataLoader(Pairs(), batch_size=2, collate_fn=lambda b: [s["label"] for s in b]))))

