"""Looking inside convnets with hooks (EE-559): activations, gradients, saliency, occlusion,
deconvolution, gradient ascent, and the hook machinery itself (order, removal, prepend, kwargs,
always_call, global hooks, mistakes); a tiny seeded convnet on random images."""
import warnings

import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(0)


def r4(t):
    return [round(v, 4) for v in t.flatten().tolist()]


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2, return_indices=False)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.fc(x.flatten(1))


net = TinyNet().eval()
images = torch.randn(2, 1, 8, 8)

# ---- forward hooks on every layer: shapes and statistics
stats = []
handles = [m.register_forward_hook(lambda m, i, o, name=name: stats.append(
    (name, type(i).__name__, len(i), tuple(o.shape), round(o.mean().item(), 4), round(o.std().item(), 4))))
    for name, m in net.named_children()]
out = net(images)
for s in stats:
    print(s)
print(r4(out), out.grad_fn.name())
print(type(handles[0]).__name__, [h.id for h in handles][1] - [h.id for h in handles][0])
for h in handles:
    h.remove()
handles[0].remove()                  # removing twice is harmless
stats.clear()
net(images)
print("after remove", stats, len(net.conv1._forward_hooks))

# ---- forward pre-hooks that modify the input: a single tensor or a tuple
hpre = net.conv1.register_forward_pre_hook(lambda m, args: args[0] * 0)
print("zeroed input", r4(net(images)[0]), r4(net.fc.bias))
hpre.remove()
hpre = net.conv1.register_forward_pre_hook(lambda m, args: (args[0].flip(-1),))
print("flipped", r4(net(images)[0]))
hpre.remove()
hkw = net.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] + 1,), kwargs), with_kwargs=True)
print("shifted", r4(net(images)[0]))
hkw.remove()

# ---- firing order: pre, forward, post; prepend puts a hook first
order = []
a = net.fc.register_forward_hook(lambda m, i, o: order.append("fwd-a"))
b = net.fc.register_forward_hook(lambda m, i, o: order.append("fwd-b"))
c = net.fc.register_forward_hook(lambda m, i, o: order.append("fwd-first"), prepend=True)
d = net.fc.register_forward_pre_hook(lambda m, i: order.append("pre-a"))
e = net.fc.register_forward_pre_hook(lambda m, i: order.append("pre-first"), prepend=True)
f = net.register_forward_hook(lambda m, i, o: order.append("net"))
g = net.conv1.register_forward_pre_hook(lambda m, i: order.append("conv1-pre"))
net(images)
print(order)
print(list(net.fc._forward_hooks.keys()) == [c.id, a.id, b.id], list(net.fc._forward_pre_hooks) == [e.id, d.id])
for h in (a, b, c, d, e, f, g):
    h.remove()

# ---- hooks with keyword arguments, and always_call when forward fails
class Scaled(nn.Module):
    def forward(self, x, scale=1.0):
        if scale < 0:
            raise ValueError("negative scale")
        return x * scale


sc = Scaled()
seen = []
sc.register_forward_hook(lambda m, args, kwargs, o: seen.append((len(args), dict(kwargs), o.tolist())),
                         with_kwargs=True)
sc.register_forward_pre_hook(lambda m, args, kwargs: (args, {"scale": kwargs.get("scale", 1.0) * 2}),
                             with_kwargs=True)
sc(torch.tensor([1.0, 2.0]), scale=3.0)
sc(torch.tensor([1.0]))
print(seen)
called = []
sc2 = Scaled()
sc2.register_forward_hook(lambda m, i, o: called.append("always"), always_call=True)
sc2.register_forward_hook(lambda m, i, o: called.append("normal"))
try:
    sc2(torch.ones(1), scale=-1.0)
except ValueError as err:
    print(type(err).__name__, err, called)

# ---- full backward hooks: grad_input / grad_output shapes and None-ness
bw = []


def show_grads(module, grad_input, grad_output):
    bw.append((type(module).__name__,
               [None if g is None else tuple(g.shape) for g in grad_input],
               [None if g is None else tuple(g.shape) for g in grad_output]))


hs = [m.register_full_backward_hook(show_grads) for m in (net.conv1, net.conv2, net.fc)]
hpre = net.fc.register_full_backward_pre_hook(lambda m, go: bw.append(("pre", round(go[0].sum().item(), 4))))
net(images).sum().backward()             # the input does not require grad: conv1's grad_input is None
for s in bw:
    print(s)
bw.clear()
x = images.clone().requires_grad_()
net.zero_grad()
net(x)[:, 0].sum().backward()
for s in bw:
    print(s)
for h in hs + [hpre]:
    h.remove()


# non-tensor arguments and outputs appear as None in grad_input / grad_output
class Mixed(nn.Module):
    def forward(self, x, power, y):
        return x ** power + y, power, (x * y).detach()


mixed = Mixed()
mixed.register_full_backward_hook(show_grads)
mixed.register_full_backward_pre_hook(lambda m, go: bw.append(("pre", len(go), [g is None for g in go])))
bw.clear()
u, v = torch.ones(2, requires_grad=True), torch.ones(2)
out3 = mixed(u, 3, v)
out3[0].sum().backward()
print(bw, type(out3).__name__, out3[1], out3[2].requires_grad, u.grad)

# a backward pre-hook replacing grad_output, a backward hook replacing grad_input
hpre = net.fc.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
x.grad = None
net(x)[:, 0].sum().backward()
doubled = x.grad.clone()
hpre.remove()
x.grad = None
net(x)[:, 0].sum().backward()
print("pre-hook doubles", torch.allclose(doubled, 2 * x.grad))
hb = net.conv1.register_full_backward_hook(lambda m, gi, go: (torch.ones_like(gi[0]),))
x.grad = None
net(x).sum().backward()
print("replaced grad_input", x.grad.sum().item(), x.grad.shape)
hb.remove()

# ---- tensor hooks and retain_grad on intermediates
x.grad = None
h1 = net.conv1(x)
h1.retain_grad()
a1 = F.relu(h1)
a1.register_hook(lambda grad: grad * 0.5)
a1.retain_grad()
score = net.fc(net.pool2(net.relu2(net.conv2(net.pool1(a1)))).flatten(1))[0, 1]
score.backward()
print(h1.grad.shape, round(h1.grad.abs().sum().item(), 4), round(a1.grad.abs().sum().item(), 4),
      h1.is_leaf, a1.requires_grad, round(x.grad.abs().sum().item(), 4))

# ---- saliency map: gradient of a class score wrt the image, abs, max over channels
img = torch.randn(1, 3, 6, 6)
cnet = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3)).eval()
img.requires_grad_()
scores = cnet(img)
k = scores.argmax().item()
scores[0, k].backward()
sal = img.grad.abs().amax(dim=1)
print("class", k, sal.shape, r4(sal[0, 0]), round(sal.sum().item(), 4))
# SmoothGrad with seeded noise
torch.manual_seed(3)
acc = torch.zeros_like(img)
for _ in range(5):
    noisy = (img.detach() + 0.2 * torch.randn(img.shape)).requires_grad_(True)
    cnet(noisy)[0, k].backward()
    acc += noisy.grad
smooth = (acc / 5).abs().max(dim=1).values
print("smoothgrad", smooth.shape, round(smooth.mean().item(), 4), round(smooth.max().item(), 4))

# guided backprop via hooks on ReLU modules that clamp the gradient
guided = [m.register_full_backward_hook(lambda m, gi, go: (gi[0].clamp(min=0),))
          for m in cnet.modules() if isinstance(m, nn.ReLU)]
img.grad = None
cnet(img)[0, k].backward()
print("guided", round(img.grad.sum().item(), 4), (img.grad >= 0).float().mean().item() >= 0)
for h in guided:
    h.remove()

# ---- occlusion sensitivity: slide a zero patch and record the score drop
with torch.no_grad():
    base = cnet(img)[0, k]
    drops = torch.zeros(3, 3)
    for i in range(3):
        for j in range(3):
            occluded = img.clone()
            occluded[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2] = 0
            drops[i, j] = base - cnet(occluded)[0, k]
print("occlusion", r4(drops), divmod(drops.argmax().item(), 3))

# ---- deconvolution: unpool with the max indices, transposed conv with the same weights
conv = net.conv1
with torch.no_grad():
    act = F.relu(conv(images[:1]))
    pooled, idx = F.max_pool2d(act, 2, return_indices=True)
    print(pooled.shape, idx.shape, idx.dtype, idx[0, 0, 0].tolist())
    unpooled = F.max_unpool2d(pooled, idx, 2)
    print(unpooled.shape, (unpooled != 0).sum().item() <= pooled.numel(), torch.equal(unpooled.amax((2, 3)),
                                                                                     pooled.amax((2, 3))))
    deconv = nn.ConvTranspose2d(4, 1, 3, padding=1, bias=False)
    deconv.weight.copy_(conv.weight)
    recon = deconv(F.relu(unpooled))
    print(deconv, recon.shape, round(recon.abs().mean().item(), 4))
    print(torch.allclose(recon, F.conv_transpose2d(F.relu(unpooled), conv.weight, padding=1), atol=1e-6))
    pool = nn.MaxPool2d(2, return_indices=True)
    p2, i2 = pool(act)
    print(pool, nn.MaxUnpool2d(2)(p2, i2, output_size=act.shape).shape, torch.equal(i2, idx))

# ---- gradient ascent on the input to maximise one unit of conv2
for p in net.parameters():
    p.requires_grad_(False)
torch.manual_seed(4)
z = (0.1 * torch.randn(1, 1, 8, 8)).requires_grad_()
holder = {}
hh = net.conv2.register_forward_hook(lambda m, i, o: holder.update(act=o))
for step in range(4):
    net(z)
    unit = holder["act"][0, 2].mean()
    z.grad = None
    unit.backward()
    with torch.no_grad():
        z += 0.5 * z.grad / (z.grad.norm() + 1e-8)
    print("ascent", step, round(unit.item(), 4), round(z.norm().item(), 4))
hh.remove()
for p in net.parameters():
    p.requires_grad_(True)

# ---- global hooks on every module
glob = []
g0 = torch.nn.modules.module.register_module_full_backward_pre_hook(
    lambda m, go: glob.append("bwpre:" + type(m).__name__))
g4 = torch.nn.modules.module.register_module_forward_hook(lambda m, args, kwargs, o: glob.append(sorted(kwargs)),
                                                          with_kwargs=True)
g1 = torch.nn.modules.module.register_module_forward_pre_hook(lambda m, i: glob.append("pre:" + type(m).__name__))
g2 = torch.nn.modules.module.register_module_forward_hook(lambda m, i, o: glob.append(type(m).__name__))
g3 = torch.nn.modules.module.register_module_full_backward_hook(
    lambda m, gi, go: glob.append("bw:" + type(m).__name__))
net.fc(torch.randn(1, 6, requires_grad=True)).sum().backward()
net.fc(input=torch.randn(1, 6))
for h in (g0, g1, g2, g3, g4):
    h.remove()
net.fc(torch.randn(1, 6))
print(glob)
g5 = torch.nn.modules.module.register_module_forward_hook(lambda m, i, o: glob.append(("always", o)),
                                                          always_call=True)
glob.clear()
try:
    sc(torch.ones(1), scale=-1.0)
except ValueError as err:
    print(type(err).__name__, err, glob)
g5.remove()


def failing_hook(m, i, o):
    raise KeyError("from the hook")


sc3 = Scaled()
sc3.register_forward_hook(failing_hook, always_call=True)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        sc3(torch.ones(1), scale=-2.0)
    except ValueError as err:
        print(type(err).__name__, err, [(w.category.__name__, str(w.message)) for w in caught])

# ---- typical mistakes
try:
    torch.ones(3).register_hook(lambda g: g)
except RuntimeError as err:
    print(type(err).__name__, err)
try:
    t = torch.ones(3, requires_grad=True)
    t.register_hook(lambda g: g[:2])
    (t * 2).sum().backward()
except RuntimeError as err:
    print(type(err).__name__, err)
try:
    bad = net.fc.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    net.fc(torch.randn(1, 6, requires_grad=True)).sum().backward()
except RuntimeError as err:
    print(type(err).__name__, err)
bad.remove()
try:
    bad = net.fc.register_forward_pre_hook(lambda m, args, kwargs: args[0], with_kwargs=True)
    net.fc(torch.randn(1, 6))
except RuntimeError as err:
    print(type(err).__name__, err)
bad.remove()
try:
    relu = nn.ReLU(inplace=True)
    relu.register_full_backward_hook(show_grads)
    relu(torch.randn(3, requires_grad=True) * 1)
except RuntimeError as err:
    print(type(err).__name__, str(err)[:80])
try:
    bad = net.fc.register_full_backward_pre_hook(lambda m, go: (go[0], go[0]))
    net.fc(torch.randn(1, 6, requires_grad=True)).sum().backward()
except RuntimeError as err:
    print(type(err).__name__, err)
bad.remove()
try:
    bad = net.fc.register_full_backward_hook(lambda m, gi, go: (torch.zeros(1, 6),))
    net.fc(torch.randn(1, 6)).sum().backward()
except RuntimeError as err:
    print(type(err).__name__, err)
bad.remove()


class DictOut(nn.Module):
    def forward(self, x):
        return {"y": x * 2}


dout = DictOut()
dout.register_full_backward_hook(show_grads)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(dout(torch.ones(2, requires_grad=True))["y"].grad_fn.name(), [str(w.message) for w in caught])
