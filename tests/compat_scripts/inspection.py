"""Looking inside networks (EE-559 lecture 8): parameters, activations through hooks, saliency maps,
guided backprop, adversarial examples, optimizing the input, total-variation priors; seeded."""
import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(0)


class SmallNet(nn.Module):
    def __init__(self, nb_classes=5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, kernel_size=3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((2, 2)),
        )
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, nb_classes))

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.view(x.size(0), -1))


model = SmallNet()
model.eval()

# ---- parameters: traversal and counts
nb_params = sum(p.numel() for p in model.parameters())
print("params", nb_params, sum(p.numel() for p in model.parameters() if p.requires_grad))
for name, p in model.named_parameters():
    print(f"{name:25s} {str(tuple(p.size())):16s} {p.dtype} norm={p.norm().item():.4f}")
print([name for name, _ in model.named_modules()])
print([type(m).__name__ for m in model.children()], [type(m).__name__ for m in model.features.children()])
print(list(dict(model.named_buffers()).keys()))
conv_layers = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
print(len(conv_layers), conv_layers[0], conv_layers[0].weight.shape, conv_layers[0].bias.shape)
for name, m in model.named_modules():
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        print(name, m.weight.numel() + (m.bias.numel() if m.bias is not None else 0))
w = model.features[0].weight
print(f"conv1 min={w.min().item():.4f} max={w.max().item():.4f} mean={w.mean().item():.4f} std={w.std().item():.4f}")
# normalize each filter to [0, 1], as one does to look at it
wmin = w.view(w.size(0), -1).min(1)[0].view(-1, 1, 1, 1)
wmax = w.view(w.size(0), -1).max(1)[0].view(-1, 1, 1, 1)
wn = (w - wmin) / (wmax - wmin)
print(wn.shape, wn.amin().item(), wn.amax().item(), wn.requires_grad)

# ---- activations through forward hooks
activations = {}


def save_activation(name):
    def hook(module, input, output):
        activations[name] = output.detach().clone()
    return hook


handles = []
for name, m in model.named_modules():
    if isinstance(m, (nn.ReLU, nn.MaxPool2d, nn.AdaptiveAvgPool2d)):
        handles.append(m.register_forward_hook(save_activation(name)))
x = torch.randn(2, 3, 16, 16)
with torch.no_grad():
    logits = model(x)
print(logits.shape, [f"{v:.4f}" for v in logits[0].tolist()])
for name, a in activations.items():
    print(name, tuple(a.shape), f"{a.mean().item():.4f}", f"{(a > 0).float().mean().item():.4f}")
for h in handles:
    h.remove()
activations.clear()
model(x)
print("after remove", len(activations), type(handles[0]).__name__)

# a pre-hook sees (and may replace) the input tuple
seen = []


def pre_hook(module, args):
    seen.append((type(module).__name__, type(args).__name__, len(args), tuple(args[0].shape)))
    return (args[0] * 0,)


h = model.classifier.register_forward_pre_hook(pre_hook)
out0 = model(x)
h.remove()
print(seen, torch.allclose(out0[0], out0[1]), out0.requires_grad)


# a forward hook that returns a value replaces the output
def clamp_hook(module, input, output):
    return output.clamp(max=0.1)


h = model.features[1].register_forward_hook(clamp_hook)
with torch.no_grad():
    print("clamped", f"{model(x).sum().item():.4f}", f"{logits.sum().item():.4f}")
h.remove()

# statistics of the activations of every layer of an nn.Sequential, the lecture's way
h = x
with torch.no_grad():
    for k, m in enumerate(model.features):
        h = m(h)
        print(k, type(m).__name__, tuple(h.shape), f"{h.abs().mean().item():.4f}")

# gradients through a full backward hook
grads = []


def backward_hook(module, grad_input, grad_output):
    grads.append((type(module).__name__, [None if g is None else tuple(g.shape) for g in grad_input],
                  [tuple(g.shape) for g in grad_output]))


hb = model.classifier[3].register_full_backward_hook(backward_hook)
hc = model.features[3].register_full_backward_hook(backward_hook)
xi = torch.randn(2, 3, 16, 16, requires_grad=True)
model(xi).sum().backward()
print(grads)
hb.remove()
hc.remove()
model.zero_grad()
print(model.features[0].weight.grad is None or model.features[0].weight.grad.abs().sum().item() == 0)

# ---- saliency: gradient of a class score with respect to the input
model.zero_grad(set_to_none=True)
img = torch.randn(1, 3, 16, 16, requires_grad=True)
scores = model(img)
c = scores.argmax(dim=1).item()
print("predicted", c, scores.requires_grad, scores.grad_fn.name())
scores[0, c].backward()
saliency = img.grad.abs().max(dim=1)[0]
print(saliency.shape, saliency.dtype, f"{saliency.max().item():.5f}", f"{saliency.sum().item():.4f}")
vals, idx = saliency.max(dim=1)
print(vals.shape, idx.shape, idx.dtype)
# SmoothGrad: average the gradient over noisy copies
smooth = torch.zeros_like(img)
for k in range(4):
    noisy = (img.detach() + 0.1 * torch.randn_like(img)).requires_grad_()
    g, = torch.autograd.grad(model(noisy)[0, c], noisy)
    smooth += g / 4
print("smoothgrad", f"{smooth.abs().max(dim=1)[0].mean().item():.5f}")


# ---- guided backprop: hooks on the ReLU modules keep positive gradients only
def guided_relu_hook(module, grad_input, grad_output):
    return (grad_input[0].clamp(min=0),)


relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
for m in relus:
    m.inplace = False           # full backward hooks do not accept in-place ReLUs
guided = [m.register_full_backward_hook(guided_relu_hook) for m in relus]
img.grad = None
model(img)[0, c].backward()
gb = img.grad.clone()
for hh in guided:
    hh.remove()
print("guided", len(guided), f"{gb.abs().sum().item():.4f}", (gb != 0).sum().item() > 0)
print(relus[0], relus[-1])

# the same with tensor hooks on the input of ReLU
def relu_with_tensor_hook(t):
    r = F.relu(t)
    if r.requires_grad:
        r.register_hook(lambda g: g.clamp(min=0))
    return r


t = torch.linspace(-1, 1, 6, requires_grad=True)
relu_with_tensor_hook(t).mul(torch.tensor([1., -1., 1., -1., 1., -1.])).sum().backward()
print(t.grad)

# ---- Grad-CAM: activations of the last conv block, and their gradient through a tensor hook
cam_store = {}


def keep_activation(module, input, output):
    cam_store["act"] = output
    output.register_hook(lambda g: cam_store.__setitem__("grad", g))


hcam = model.features[3].register_forward_hook(keep_activation)
model.zero_grad()
out = model(img.detach())
out[0, c].backward()
hcam.remove()
weights = cam_store["grad"].mean(dim=(2, 3), keepdim=True)
cam = F.relu((weights * cam_store["act"]).sum(dim=1, keepdim=True))
cam = F.interpolate(cam, size=img.shape[2:], mode="bilinear", align_corners=False)
cam = cam / (cam.max() + 1e-8)
print("gradcam", tuple(cam.shape), cam.requires_grad, f"{cam.mean().item():.4f}", cam_store["grad"].shape)

# hooks with keyword arguments, backward pre-hooks, global hooks
calls = []
hk = model.register_forward_hook(lambda m, args, kwargs, out: calls.append(sorted(kwargs)), with_kwargs=True)
hp = model.classifier[3].register_full_backward_pre_hook(lambda m, go: calls.append(("pre", tuple(go[0].shape))))
hg = nn.modules.module.register_module_forward_hook(lambda m, i, o: calls.append(type(m).__name__)
                                                    if isinstance(m, nn.Linear) else None)
model(x=img.detach().requires_grad_()).sum().backward()
print(calls)
for hh in (hk, hp, hg):
    hh.remove()
calls.clear()
model(img.detach())
print(calls, model._forward_hooks, len(model.classifier[3]._backward_pre_hooks))

# ---- adversarial examples, FGSM
torch.manual_seed(1)
x = torch.rand(4, 3, 16, 16)
y = torch.tensor([0, 1, 2, 3])
x_adv = x.clone().requires_grad_(True)
loss = F.cross_entropy(model(x_adv), y)
loss.backward()
eps = 0.05
x_adv = (x_adv + eps * x_adv.grad.sign()).clamp(0, 1).detach()
print("fgsm", f"{loss.item():.4f}", f"{F.cross_entropy(model(x_adv), y).item():.4f}",
      f"{(x_adv - x).abs().max().item():.4f}", x_adv.requires_grad, x_adv.min().item() >= 0)
print(x_adv.grad, torch.sign(torch.tensor([-2., 0., 3.])), torch.tensor([-0.0, 0.0]).sign())
# iterative version, projected back on the eps-ball
x_it = x.clone()
for k in range(3):
    x_it.requires_grad_(True)
    g, = torch.autograd.grad(F.cross_entropy(model(x_it), y), x_it)
    with torch.no_grad():
        x_it = x_it + 0.02 * g.sign()
        x_it = torch.max(torch.min(x_it, x + eps), x - eps).clamp(0, 1)
print("pgd", f"{F.cross_entropy(model(x_it), y).item():.4f}", f"{(x_it - x).abs().max().item():.4f}", x_it.is_leaf)


# ---- optimizing the input: class visualization with a total-variation prior
def total_variation(z):
    dh = z.narrow(2, 1, z.size(2) - 1) - z.narrow(2, 0, z.size(2) - 1)
    dw = z.narrow(3, 1, z.size(3) - 1) - z.narrow(3, 0, z.size(3) - 1)
    return dh.pow(2).sum() + dw.pow(2).sum()


def total_variation_diff(z):
    return z.diff(dim=2).abs().sum() + torch.diff(z, dim=3).abs().sum()


torch.manual_seed(2)
z0 = torch.rand(1, 3, 8, 8)
print(f"tv {total_variation(z0).item():.4f} {total_variation_diff(z0).item():.4f}", z0.diff(dim=2).shape,
      torch.diff(z0, n=2, dim=3).shape)
for p in model.parameters():
    p.requires_grad_(False)
print("frozen", sum(p.requires_grad for p in model.parameters()))
target = 3
z = torch.rand(1, 3, 16, 16).requires_grad_()
optimizer = torch.optim.Adam([z], lr=0.05)
print(optimizer.param_groups[0]["params"][0] is z, len(optimizer.param_groups[0]["params"]))
for step in range(10):
    optimizer.zero_grad()
    loss = -model(z)[0, target] + 0.1 * total_variation(z)
    loss.backward()
    optimizer.step()
    if step % 3 == 0:
        print(step, f"{loss.item():.4f}", z.grad.shape)
print("score", f"{model(z)[0, target].item():.3f}", z.is_leaf, z.requires_grad, model.features[0].weight.grad.shape)

# deep dream: maximize the norm of a layer's activation, gradient ascent by hand
store = {}
hd = model.features[3].register_forward_hook(lambda m, i, o: store.__setitem__("act", o))
dream = torch.rand(1, 3, 16, 16, requires_grad=True)
for step in range(3):
    model(dream)
    objective = store["act"].pow(2).mean()
    dream.grad = None
    objective.backward()
    with torch.no_grad():
        dream += 0.1 * dream.grad / (dream.grad.abs().mean() + 1e-8)
    print("dream", step, f"{objective.item():.4f}")
hd.remove()
print(dream.requires_grad, dream.grad_fn, dream.grad.shape)

# typical mistakes
try:
    torch.optim.SGD([torch.rand(3)], lr=0.1).step()
    print("SGD on a tensor without grad: no error")
except Exception as e:
    print(type(e).__name__, e)
try:
    torch.optim.SGD([torch.rand(3) * 2], lr=0.1)
except ValueError as e:
    print(type(e).__name__, e)
try:
    nonleaf = torch.rand(3, requires_grad=True) * 2
    torch.optim.SGD([nonleaf], lr=0.1)
except ValueError as e:
    print(type(e).__name__, e)
try:
    model(torch.rand(1, 3, 16, 16)).sum().backward()
except RuntimeError as e:
    print(type(e).__name__, e)
try:
    torch.rand(2, 2).requires_grad_().mul(2).backward()
except RuntimeError as e:
    print(type(e).__name__, e)
try:
    leaf = torch.rand(2, requires_grad=True)
    leaf += 1
except RuntimeError as e:
    print(type(e).__name__, e)
try:
    model.features[1].inplace = True
    model.features[1].register_full_backward_hook(backward_hook)
    model(torch.rand(1, 3, 16, 16, requires_grad=True)).sum().backward()
except RuntimeError as e:
    print(type(e).__name__, str(e)[:90])

# shared modules, handles as context managers, hooks that remove themselves, two-input modules
shared = nn.Linear(4, 4)
net2 = nn.Sequential(shared, nn.Tanh(), shared)
print(len(list(net2.modules())), len(list(net2.named_modules(remove_duplicate=False))),
      [n for n, _ in net2.named_modules(prefix="net")], sum(p.nelement() for p in net2.parameters()))
count = []
with shared.register_forward_hook(lambda m, i, o: count.append(tuple(o.shape))):
    net2(torch.zeros(3, 4))
net2(torch.zeros(3, 4))
print(count)


def once(module, input, output):
    once_handle.remove()
    return output * 0


once_handle = net2[1].register_forward_hook(once)
print(net2(torch.ones(1, 4)).abs().sum().item() == shared.bias.abs().sum().item(), net2[1]._forward_hooks)


class Pair(nn.Module):
    def forward(self, a, b):
        return a * b, a + b


pair = Pair()
seen = []
pair.register_full_backward_hook(lambda m, gi, go: seen.append(([tuple(g.shape) for g in gi], len(go))))
a, b = torch.ones(2, requires_grad=True), torch.full((2,), 3.0, requires_grad=True)
p, q = pair(a, b)
(p + 2 * q).sum().backward()
print(seen, a.grad, b.grad)
p, q = pair(a, b)
try:
    p.add_(1)
except RuntimeError as e:
    print(type(e).__name__, str(e)[:110])
try:
    pair(a, b)[0].unsqueeze(0).mul_(2)
except RuntimeError as e:
    print(type(e).__name__, str(e)[:50])
p, q = pair(a.detach(), b.detach())
p.add_(1)
print(p, p.requires_grad)
