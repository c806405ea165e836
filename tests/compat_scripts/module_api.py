"""nn.Module's API and autograd's finer points as exercises use them, seeded."""
import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
        self.heads = nn.ModuleDict({"a": nn.Linear(16, 3), "b": nn.Linear(16, 2)})
        self.blocks = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        h = self.features(x).flatten(1)
        h = F.adaptive_avg_pool1d(h[:, None], 16)[:, 0]
        out = self.heads["a"](h)
        for b in self.blocks:
            out = out + b(out).tanh()
        self.step += 1
        return out * self.scale, self.heads["b"](h)


net = Net()
print(net)
print(sum(p.numel() for p in net.parameters()), [n for n, _ in net.named_parameters()][:5])
print([n for n, _ in net.named_buffers()], [type(m).__name__ for m in net.modules()][:6])
print([n for n, _ in net.named_children()], net.training, net.features[1].training)
net.eval()
print(net.training, net.features[1].training)
net.train()
out_a, out_b = net(torch.randn(2, 1, 8, 8))
print(out_a, out_b.shape, net.step)
net.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)
print(net.heads["a"].bias, list(net.state_dict().keys())[-4:])
net.requires_grad_(False)
print(any(p.requires_grad for p in net.parameters()))
net.heads.requires_grad_(True)
print([n for n, p in net.named_parameters() if p.requires_grad])
print(net.heads["a"].weight.dtype, net.double().heads["a"].weight.dtype, net.float().step.dtype)
net.zero_grad()
print(nn.Linear(2, 2).extra_repr(), nn.utils.parameters_to_vector(nn.Linear(2, 1).parameters()).shape)

# autograd's finer points
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = x ** 3
g, = torch.autograd.grad(y.sum(), x, create_graph=True)
g2, = torch.autograd.grad(g.sum(), x)
print(g, g2, g.grad_fn is not None, g2.requires_grad)
h = x * 2
h.retain_grad()
(h * h).sum().backward()
print(h.grad, x.grad, h.is_leaf, x.is_leaf, h.grad_fn.next_functions[0][0].__class__.__name__)
(x * 3).sum().backward()
print(x.grad)          # accumulated
x.grad.zero_()
with torch.no_grad():
    z = x * 2
print(z.requires_grad, x.detach().requires_grad, (x * 1).detach_().requires_grad)
with torch.inference_mode():
    w = x + 1
print(w.requires_grad, torch.is_inference_mode_enabled(), torch.is_grad_enabled())
with torch.enable_grad():
    print(torch.is_grad_enabled())
@torch.no_grad()
def doubled(t):
    return t * 2
print(doubled(x).requires_grad)
a = torch.randn(3, requires_grad=True)
b = a.clone()
b[0] = 0
b.sum().backward()
print(a.grad, b.grad_fn.name())
v = torch.ones(2, 2, requires_grad=True)
out = (v @ v).sum()
print(torch.autograd.functional.jacobian(lambda t: (t ** 2).sum(1), v))
print(torch.autograd.functional.hessian(lambda t: (t ** 3).sum(), torch.tensor([1.0, 2.0])))

# functional odds and ends
img = torch.arange(16.).view(1, 1, 4, 4)
print(F.interpolate(img, scale_factor=0.5, mode="bilinear", align_corners=False))
print(F.pad(img, (1, 0, 0, 1), value=-1)[0, 0, :, :3], F.unfold(img, 2, stride=2).shape)
print(F.one_hot(torch.tensor([0, 2]), 3), F.normalize(torch.tensor([[3., 4.]]), dim=1), F.cosine_similarity(torch.ones(1, 3), torch.arange(3.)[None]))
print(F.gelu(torch.tensor([-1., 0., 1.])), F.silu(torch.tensor([1.])), F.softplus(torch.tensor([30.])), F.hardswish(torch.tensor([1.])))
print(F.avg_pool2d(img, 2), F.max_pool2d(img, 2, return_indices=True)[1], F.adaptive_max_pool2d(img, 1))
print(nn.Flatten()(img).shape, nn.Unflatten(1, (2, 8))(img.flatten(1)).shape, nn.PixelShuffle(2)(img.repeat(1, 4, 1, 1)).shape)
print(nn.Identity()(img).shape, nn.Softmax(dim=1)(torch.tensor([[1., 2.]])), nn.LogSoftmax(1)(torch.tensor([[0., 0.]])))
