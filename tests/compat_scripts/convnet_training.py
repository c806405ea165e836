# An nn.Module convnet and its training loop, deterministic weights so both frameworks agree.
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
        self.conv2 = nn.Conv2d(4, 8, kernel_size=3)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), kernel_size=2))
        x = F.relu(self.conv2(x))
        x = F.relu(self.fc1(x.view(-1, 8 * 2 * 2)))
        return self.fc2(x)


model = Net()
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.linspace(-0.3, 0.3, p.numel()).view(p.shape) * (1 + 0.1 * i))
print(model)
x = torch.linspace(-1, 1, 10 * 100).view(10, 1, 10, 10).sin()
y = torch.arange(10) % 3
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
criterion = nn.CrossEntropyLoss()
for epoch in range(5):
    for xb, yb in zip(x.split(5), y.split(5)):
        output = model(xb)
        loss = criterion(output, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch} loss {loss.item():.5f}")
print(sum(p.numel() for p in model.parameters()), [tuple(k.shape) for k in model.state_dict().values()])
