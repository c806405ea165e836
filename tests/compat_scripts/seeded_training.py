# A seeded course-style training run with default initialization, dropout and a shuffling DataLoader:
# the same seed gives the same weights, masks and batch order, so the same printed numbers as PyTorch.
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
x = torch.randn(200, 10)
y = (x[:, :3].sum(1) > 0).long()
print(x[0, :4], y[:10])
model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 2))
print(model[0].weight[0, :4], model[3].bias)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
loader = DataLoader(TensorDataset(x, y), batch_size=20, shuffle=True)
for epoch in range(3):
    total = 0.0
    for xb, yb in loader:
        loss = nn.functional.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(f"epoch {epoch} loss {total / len(loader):.4f}")
model.eval()
with torch.no_grad():
    print(f"train accuracy {(model(x).argmax(1) == y).float().mean().item():.3f}")
print(torch.randint(0, 10, (8,)), torch.randperm(6), torch.rand(3), torch.empty(4).normal_(2.0, 0.5))
print(torch.empty(2, 3).uniform_(-1, 1), torch.bernoulli(torch.full((6,), 0.5)), torch.multinomial(torch.ones(5), 3))
