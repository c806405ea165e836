# Course-style tensor exercises, written for PyTorch.
import torch

m = torch.full((13, 13), 1, dtype=torch.int64)
m[3:5, :] = 2
m[:, 3:5] = 2
m[8:10, :] = 2
m[:, 8:10] = 2
m[1, 1] = 3
print(m)

x = torch.arange(1, 10).view(3, 3).float()
print(x.t() @ x, x.sum(0), x.mean(1), x.max(), x.argmax())
print(torch.cat((x, x), 1).shape, torch.stack((x, x)).shape)
d = torch.diag(torch.arange(1., 4.))
print(d.inverse() @ d)
y = torch.linspace(0, 1, 5)
print(y, y.dtype, (y > 0.5).sum().item())
print(x[x > 4], x.narrow(0, 1, 2), x.view(-1)[::2])
