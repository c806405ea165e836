"""Batch normalization, the other norms and dropout in train vs eval mode, as the lecture exercises them."""
import warnings

import torch
from torch import nn
import torch.nn.functional as F


def r(t, n=4):
    """Rounded flat list: values that come out of reductions may differ by an ulp."""
    return [round(v, n) + 0.0 for v in t.detach().flatten().tolist()]


def err(fn):
    try:
        fn()
        print("  no error")
    except Exception as e:
        print(" ", type(e).__name__, e)


def warns(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    for w in caught:
        print("  warning", w.category.__name__, str(w.message))
    return out


torch.manual_seed(0)
# BatchNorm1d on (N, C) and (N, C, L): running stats after several train steps
for momentum in (0.1, None, 0.5):
    bn = nn.BatchNorm1d(3, momentum=momentum)
    print(bn, bn.momentum)
    for step in range(3):
        x = torch.randn(8, 3) * (step + 1) + step
        y = bn(x)
    print("  mean", r(bn.running_mean), "var", r(bn.running_var), bn.num_batches_tracked, bn.num_batches_tracked.dtype)
    print("  out mean", r(y.mean(0)), "out var (biased)", r(y.var(0, unbiased=False)))
x = torch.randn(4, 2, 5)
bn = nn.BatchNorm1d(2)
y = bn(x)
print("NCL", y.shape, r(y.mean((0, 2))), r(y.var((0, 2), unbiased=False), 3))
print("  batch var unbiased", r(x.var((0, 2))), "biased", r(x.var((0, 2), unbiased=False)))
print("  running_var", r(bn.running_var), "= 0.9 + 0.1 * unbiased:", torch.allclose(bn.running_var, 0.9 + 0.1 * x.var((0, 2))))
print("  running_mean", r(bn.running_mean), torch.allclose(bn.running_mean, 0.1 * x.mean((0, 2))))
manual = (x - x.mean((0, 2), keepdim=True)) / torch.sqrt(x.var((0, 2), unbiased=False, keepdim=True) + bn.eps)
print("  normalizes with the biased var:", torch.allclose(y, manual, atol=1e-6))
bn.eval()
ye = bn(x)
manual_eval = (x - bn.running_mean[None, :, None]) / torch.sqrt(bn.running_var[None, :, None] + bn.eps)
print("  eval uses running stats:", torch.allclose(ye, manual_eval, atol=1e-6), bn.num_batches_tracked.item())
print("  eval grad_fn", type(ye.grad_fn).__name__, ye.requires_grad)

# BatchNorm2d/3d
bn2 = nn.BatchNorm2d(3, eps=1e-3, momentum=0.2)
for _ in range(4):
    bn2(torch.randn(2, 3, 4, 4) * 3 + 1)
print(bn2, r(bn2.running_mean), r(bn2.running_var), bn2.num_batches_tracked.item())
bn3 = nn.BatchNorm3d(2, momentum=None)
for k in range(3):
    bn3(torch.full((2, 2, 2, 2, 2), float(k)) + torch.randn(2, 2, 2, 2, 2) * 0.1)
print(bn3, r(bn3.running_mean), r(bn3.running_var))
print("  weight", bn3.weight, "bias", bn3.bias)

# wrong input ranks and channel counts
err(lambda: nn.BatchNorm1d(3)(torch.randn(2, 3, 4, 5)))
err(lambda: nn.BatchNorm2d(3)(torch.randn(2, 3, 4)))
err(lambda: nn.BatchNorm3d(3)(torch.randn(2, 3, 4, 4)))
err(lambda: nn.BatchNorm2d(3)(torch.randn(2, 4, 2, 2)))
err(lambda: nn.BatchNorm1d(3)(torch.randn(1, 3)))
err(lambda: nn.BatchNorm2d(3)(torch.randn(1, 3, 1, 1)))
print("batch 1 with L>1 is fine:", nn.BatchNorm1d(3)(torch.randn(1, 3, 2)).shape)
b1 = nn.BatchNorm1d(3).eval()
print("batch 1 in eval:", b1(torch.ones(1, 3)))

# track_running_stats=False and affine=False
free = nn.BatchNorm1d(2, track_running_stats=False)
print(free, free.running_mean, free.running_var, free.num_batches_tracked)
print([n for n, _ in free.named_buffers()], list(free.state_dict().keys()))
x = torch.randn(5, 2) * 4 + 2
free.eval()
print("  eval still batch stats:", r(free(x).mean(0)), free.training)
bare = nn.BatchNorm2d(2, affine=False)
print(bare, bare.weight, bare.bias, list(bare.parameters()), list(bare.state_dict().keys()))

# reset_running_stats / reset_parameters
bn = nn.BatchNorm1d(2)
bn(torch.randn(4, 2) + 3)
with torch.no_grad():
    bn.weight.fill_(2.0)
    bn.bias.fill_(-1.0)
bn.reset_running_stats()
print("reset stats", bn.running_mean, bn.running_var, bn.num_batches_tracked, bn.weight.data)
bn(torch.randn(4, 2) + 3)
bn.reset_parameters()
print("reset params", r(bn.running_mean), bn.num_batches_tracked, bn.weight.data, bn.bias.data)

# state_dict and an old checkpoint without num_batches_tracked
sd = nn.BatchNorm1d(2).state_dict()
print(list(sd.keys()), [(k, v.dtype, tuple(v.shape)) for k, v in sd.items()])
old = {k: v for k, v in sd.items() if k != "num_batches_tracked"}
old["running_mean"] = torch.tensor([1.0, 2.0])
new = nn.BatchNorm1d(2)
new.num_batches_tracked.fill_(7)
print(new.load_state_dict(old), new.running_mean, new.num_batches_tracked)
res = nn.Sequential(nn.BatchNorm1d(2)).load_state_dict({"0." + k: v for k, v in old.items()})
print(res, res.missing_keys)
err(lambda: nn.BatchNorm1d(2).load_state_dict({k: v for k, v in sd.items() if k != "running_var"}))
print(nn.BatchNorm1d(2).load_state_dict(old, strict=False))
print(nn.BatchNorm1d(2, track_running_stats=False).load_state_dict(sd, strict=False))

# InstanceNorm with and without affine / running stats
torch.manual_seed(1)
x = torch.randn(2, 3, 6)
for inorm in (nn.InstanceNorm1d(3), nn.InstanceNorm1d(3, affine=True), nn.InstanceNorm1d(3, track_running_stats=True),
              nn.InstanceNorm2d(3, affine=True, track_running_stats=True, momentum=0.3)):
    inp = x if isinstance(inorm, nn.InstanceNorm1d) else x.view(2, 3, 2, 3)
    y = inorm(inp)
    print(inorm, [n for n, _ in inorm.named_parameters()], [n for n, _ in inorm.named_buffers()])
    print("  per-instance mean", r(y.mean(-1) if y.dim() == 3 else y.mean((-2, -1)), 3))
    if inorm.track_running_stats:
        print("  running", r(inorm.running_mean), r(inorm.running_var), inorm.num_batches_tracked)
        inorm.eval()
        print("  eval", r(inorm(inp)[0, 0], 3))
warns(lambda: nn.InstanceNorm1d(4)(torch.randn(2, 3, 5)))
warns(lambda: nn.InstanceNorm1d(3, affine=True)(torch.randn(3, 6)))
err(lambda: nn.InstanceNorm2d(3)(torch.randn(3, 4)))
err(lambda: nn.InstanceNorm1d(3)(torch.randn(2, 3, 1)))

# GroupNorm
gn = nn.GroupNorm(2, 4)
x = torch.randn(2, 4, 3)
y = gn(x)
print(gn, r(y.view(2, 2, -1).mean(-1), 3), r(y.view(2, 2, -1).var(-1, unbiased=False), 3))
print("  gn(1 group) == layer norm over (C, L):", torch.allclose(nn.GroupNorm(1, 4, affine=False)(x), F.layer_norm(x, x.shape[1:]), atol=1e-6))
err(lambda: nn.GroupNorm(3, 4))
err(lambda: nn.GroupNorm(2, 4)(torch.randn(2, 6, 3)))

# LayerNorm and RMSNorm
x = torch.randn(2, 3, 4)
for ln in (nn.LayerNorm(4), nn.LayerNorm([3, 4]), nn.LayerNorm(4, elementwise_affine=False), nn.LayerNorm(4, bias=False)):
    print(ln, ln.normalized_shape, [n for n, _ in ln.named_parameters()], r(ln(x)[0, 0], 3))
err(lambda: nn.LayerNorm(5)(x))
rms = nn.RMSNorm(4)
print(rms, rms.eps, r(rms(x)[0, 0]), r(x[0, 0] / x[0, 0].pow(2).mean().sqrt()))
print(nn.RMSNorm([3, 4], eps=1e-6), r(nn.RMSNorm([3, 4], elementwise_affine=False)(x)[1, 2]))
lrn = nn.LocalResponseNorm(2, alpha=1e-1, beta=0.75, k=1.0)
print(lrn, r(lrn(torch.arange(8.).view(1, 4, 2))))

# dropout: seeded masks, scaling by 1/(1-p), eval is the identity
torch.manual_seed(3)
for drop in (nn.Dropout(0.5), nn.Dropout(0.25), nn.Dropout(0.0), nn.Dropout(1.0)):
    y = drop(torch.ones(2, 6))
    print(drop, y.tolist(), drop.eval()(torch.ones(3)).tolist())
x = torch.ones(2, 3, 4)
torch.manual_seed(4)
y = nn.Dropout1d(0.5)(x)
print("Dropout1d zeroes whole channels", y[:, :, 0].tolist(), bool((y == y[:, :, :1]).all()))
y = nn.Dropout2d(0.5)(torch.ones(2, 3, 2, 2))
print("Dropout2d", y[:, :, 0, 0].tolist())
y = nn.Dropout3d(0.5)(torch.ones(1, 4, 1, 2, 2))
print("Dropout3d", y[0, :, 0, 0, 0].tolist())
y = warns(lambda: nn.Dropout2d(0.5)(torch.ones(3, 2, 2)))
print("  3-D into Dropout2d", y[:, 0, 0].tolist())
torch.manual_seed(5)
ad = nn.AlphaDropout(0.5)
y = ad(torch.randn(1000))
print(ad, f"{y.mean().item():.1f}", f"{y.std().item():.1f}", r(ad(torch.zeros(4))), r(ad.eval()(torch.ones(2))))
fad = nn.FeatureAlphaDropout(0.5)
y = fad(torch.zeros(2, 3, 2))
print(fad, r(y))
for bad in (-0.1, 1.5):
    err(lambda: nn.Dropout(bad))
    err(lambda: F.dropout(torch.ones(2), bad))
err(lambda: nn.Dropout2d(2.0))
print(F.dropout(torch.ones(3), 0.5, training=False), F.dropout(torch.ones(3), p=0.0))
x = torch.ones(4, requires_grad=True)
torch.manual_seed(6)
y = F.dropout(x, 0.5)
y.sum().backward()
print("grad through the mask", x.grad.tolist(), y.tolist(), type(y.grad_fn).__name__)

# train()/eval() propagate; freezing BN by eval() on a submodule
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.5))
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.body(x))


torch.manual_seed(7)
net = Net()
print([(n, m.training) for n, m in net.named_modules()])
print(net.eval() is net, [m.training for m in net.modules()])
net.train(False)
print([m.training for m in net.modules()])
net.train()
for m in net.modules():
    if isinstance(m, nn.BatchNorm1d):
        m.eval()
print([(n, m.training) for n, m in net.named_modules()])
before = net.body[1].running_mean.clone()
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for _ in range(3):
    opt.zero_grad()
    loss = net(torch.randn(6, 3)).pow(2).mean()
    loss.backward()
    opt.step()
print("frozen BN stats unchanged:", torch.equal(before, net.body[1].running_mean), net.body[1].num_batches_tracked.item())
print("BN affine still learns:", r(net.body[1].weight), f"{loss.item():.4f}")
err(lambda: net.train("yes"))

# functional forms
torch.manual_seed(8)
x = torch.randn(4, 3, 2)
rm, rv = torch.zeros(3), torch.ones(3)
y = F.batch_norm(x, rm, rv, training=True, momentum=0.1)
print("F.batch_norm train", r(y[0, 0]), r(rm), r(rv))
y = F.batch_norm(x, rm, rv)
print("F.batch_norm eval", r(y[0, 0]), r(rm))
y = F.batch_norm(x, None, None, training=True)
print("F.batch_norm no stats", r(y[0, 0]))
w, b = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, 0.5, -0.5])
print("F.batch_norm affine", r(F.batch_norm(x, rm, rv, w, b, eps=1e-3)[0]))
err(lambda: F.batch_norm(x, None, None))
err(lambda: F.batch_norm(x, rm, rv, training=True, momentum=None))
err(lambda: F.batch_norm(x, rm, None, training=True))
err(lambda: F.instance_norm(x, rm, None))
err(lambda: F.dropout(x, 0.5, training=None))
err(lambda: F.dropout2d(torch.ones(2, 3, 2, 2), 0.5, training=1))
err(lambda: nn.LocalResponseNorm(2)(torch.randn(2, 3)))
print("F.layer_norm", r(F.layer_norm(x, (2,))[0]), r(F.layer_norm(x, [3, 2], eps=1e-3)[1, 0]))
print("F.group_norm", r(F.group_norm(torch.randn(2, 4, 3), 2)[0, 0]))
print("F.instance_norm", r(F.instance_norm(x)[0, 0]))
rm, rv = torch.zeros(3), torch.ones(3)
y = F.instance_norm(x, rm, rv, use_input_stats=True, momentum=0.5)
print("F.instance_norm stats", r(y[0, 0]), r(rm), r(rv))
print("F.rms_norm", r(F.rms_norm(x, (2,), eps=None)[0]))

# gradients through BatchNorm in train mode
torch.manual_seed(9)
bn = nn.BatchNorm1d(3)
x = torch.randn(5, 3, requires_grad=True)
y = bn(x)
(y * torch.arange(15.).view(5, 3)).sum().backward()
print(type(y.grad_fn).__name__)
print("dx", r(x.grad))
print("dgamma", r(bn.weight.grad), "dbeta", r(bn.bias.grad))
print("dx sums to ~0 per channel", r(x.grad.sum(0), 3))
x.grad = None
bn.eval()
bn(x).sum().backward()
print("eval dx", r(x.grad))

# running stats move under no_grad in train mode; toggling track_running_stats at run time
torch.manual_seed(10)
bn = nn.BatchNorm1d(2)
with torch.no_grad():
    y = bn(torch.randn(4, 2) + 5)
print("no_grad train step", r(bn.running_mean), bn.num_batches_tracked.item(), y.requires_grad, y.grad_fn)
bn.track_running_stats = False
bn.eval()
print("eval, tracking off: batch stats", r(bn(torch.randn(4, 2) + 5).mean(0)), r(bn.running_mean), bn.num_batches_tracked.item())
bn.track_running_stats = True
bn.momentum = None
bn.train()
bn(torch.randn(4, 2) - 5)
print("momentum None after 1 step:", r(bn.running_mean), bn.num_batches_tracked.item())
print("buffers need no grad:", bn.running_mean.requires_grad, bn.running_var.is_leaf, bn.num_batches_tracked.dtype)
bn64 = nn.BatchNorm1d(2).double()
print(bn64.running_mean.dtype, bn64.num_batches_tracked.dtype, bn64(torch.randn(3, 2, dtype=torch.float64)).dtype)
err(lambda: nn.BatchNorm1d(2)(torch.randn(3, 2, dtype=torch.float64)))
err(lambda: nn.BatchNorm1d(2).eval()(torch.randn(3, 4)))

# more dropout: RNG parity, in-place, functional variants and their checks
torch.manual_seed(11)
nn.Dropout(0.3)(torch.ones(10))
nn.Dropout2d(0.3)(torch.ones(2, 3, 2, 2))
print("rng after dropouts", r(torch.rand(3)))
x = torch.ones(2, 4)
drop = nn.Dropout(0.5, inplace=True)
y = drop(x)
print("inplace", y is x, x.tolist())
x = torch.ones(3, requires_grad=True)
err(lambda: F.dropout(x, 0.5, inplace=True))
h = x * 2
y = F.dropout(h, 0.5, inplace=True)
print("inplace on non-leaf", type(y.grad_fn).__name__, y is h)
x = torch.ones(3)
print("eval dropout returns its input:", nn.Dropout(0.5).eval()(x) is x, F.dropout(x, 0.5, training=False) is x)
warns(lambda: F.dropout2d(torch.ones(2, 3), 0.5))
warns(lambda: F.dropout3d(torch.ones(2, 2, 2, 2), 0.5))
err(lambda: F.dropout1d(torch.ones(2, 2, 2, 2), 0.5))
warns(lambda: nn.Dropout3d(0.5)(torch.ones(2, 2)))
torch.manual_seed(12)
print("F.alpha_dropout", r(F.alpha_dropout(torch.zeros(6), 0.5, training=True)), r(F.alpha_dropout(torch.ones(2), 0.5)))
print("F.feature_alpha_dropout", r(F.feature_alpha_dropout(torch.zeros(1, 3, 2), 0.5, training=True)))
print("alpha dropout p=1", r(nn.AlphaDropout(1.0)(torch.ones(3))), "p=0", r(nn.AlphaDropout(0.0)(torch.ones(3))))
err(lambda: F.dropout(torch.ones(3, dtype=torch.long), 0.5))

# gradients in train mode vs torch.autograd.gradcheck
torch.manual_seed(13)
bn = nn.BatchNorm2d(2).double()
x = torch.randn(3, 2, 2, 2, dtype=torch.float64, requires_grad=True)
print("gradcheck BN train:", torch.autograd.gradcheck(lambda t: bn(t), (x,)))
print("gradcheck GN:", torch.autograd.gradcheck(lambda t: F.group_norm(t, 1), (x,)))
print("gradcheck LN:", torch.autograd.gradcheck(lambda t: F.layer_norm(t, (2, 2)), (x,)))
g = torch.autograd.grad(F.batch_norm(x, None, None, training=True).pow(3).sum(), x)[0]
print("d/dx sum(bn(x)^3)", r(g[0]))
