# A Dataset / DataLoader loop.
import torch
from torch.utils.data import Dataset, DataLoader, TensorDataset


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return torch.tensor([float(i)]), i * i


loader = DataLoader(Squares(10), batch_size=4)
for x, y in loader:
    print(x.shape, x.view(-1), y)

ds = TensorDataset(torch.arange(12).view(6, 2), torch.arange(6))
for a, b in DataLoader(ds, batch_size=4, drop_last=True):
    print(a, b)
print(len(DataLoader(ds, batch_size=4)), len(DataLoader(ds, batch_size=4, drop_last=True)))
