# A hand-written MLP forward and backward (no autograd), checked against autograd.
import torch


def sigma(x):
    return x.tanh()


def dsigma(x):
    return 4 * (x.exp() + x.mul(-1).exp()).pow(-2)


def loss(v, t):
    return (v - t).pow(2).sum()


def dloss(v, t):
    return 2 * (v - t)


x = torch.linspace(-1, 1, 12).view(3, 4)
t = torch.tensor([[1., 0.], [0., 1.], [1., 1.]])
w1 = torch.linspace(-0.5, 0.5, 20).view(5, 4)
b1 = torch.linspace(0.1, 0.2, 5)
w2 = torch.linspace(0.3, -0.3, 10).view(2, 5)
b2 = torch.tensor([0.05, -0.05])

acc = torch.zeros(2, 5)
for n in range(x.size(0)):
    s1 = w1.mv(x[n]) + b1
    x1 = sigma(s1)
    s2 = w2.mv(x1) + b2
    x2 = sigma(s2)
    dl_dx2 = dloss(x2, t[n])
    dl_ds2 = dsigma(s2) * dl_dx2
    acc += dl_ds2.view(-1, 1).mm(x1.view(1, -1))
print(acc)

w2.requires_grad_()
l = sum(loss(sigma(w2.mv(sigma(w1.mv(x[n]) + b1)) + b2), t[n]) for n in range(3))
l.backward()
print(w2.grad)
print(torch.allclose(acc, w2.grad, atol=1e-6))
