"""torch.nn.utils helpers and model utilities as course code uses them: parameter vectors, gradient clipping,
pruning, weight averaging (SWA / EMA), conv-bn fusion, module traversal and freezing, functional_call; seeded."""
import copy

import torch
from torch import nn
import torch.nn.functional as F
from torch.nn.utils import prune, parameters_to_vector, vector_to_parameters
from torch.optim.swa_utils import AveragedModel, SWALR, update_bn, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def err(f):
    try:
        out = f()
        print("ok", out)
    except Exception as e:
        print(type(e).__name__, " | ".join(str(e).splitlines())[:200])


def r(t, n=4):
    return [round(v, n) for v in t.flatten().tolist()]


# --- parameters_to_vector / vector_to_parameters ---
mlp = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
vec = parameters_to_vector(mlp.parameters())
print(vec.shape, vec.dtype, vec.requires_grad, vec.grad_fn is not None, r(vec[:5]))
vector_to_parameters(torch.arange(vec.numel(), dtype=torch.float32), mlp.parameters())
print(mlp[0].bias, mlp[2].weight, type(mlp[2].weight).__name__, mlp[2].weight.requires_grad)
back = parameters_to_vector(mlp.parameters())
print(torch.equal(back, torch.arange(vec.numel(), dtype=torch.float32)))
vector_to_parameters(vec, mlp.parameters())
print(torch.equal(parameters_to_vector(mlp.parameters()), vec))
err(lambda: vector_to_parameters(torch.zeros(5), mlp.parameters()))
err(lambda: vector_to_parameters(torch.zeros(vec.numel() + 3), [nn.Parameter(torch.ones(2))]))
err(lambda: vector_to_parameters([0.0] * vec.numel(), mlp.parameters()))
err(lambda: parameters_to_vector([]))
err(lambda: parameters_to_vector(torch.ones(2, 3)).shape)
err(lambda: parameters_to_vector([torch.ones(2), torch.ones(2, dtype=torch.float64)]).dtype)
# a flat-vector gradient, as in second-order / natural-gradient exercises
loss = mlp(torch.randn(5, 3)).pow(2).mean()
grads = torch.autograd.grad(loss, list(mlp.parameters()))
flat = parameters_to_vector(grads)
print(flat.shape, round(flat.norm().item(), 4))

# --- gradient clipping ---
def fresh_grads(seed):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    F.cross_entropy(net(torch.randn(8, 4) * 5), torch.randint(0, 3, (8,))).backward()
    return net


for norm_type in (2, 2.0, 1, float("inf"), "inf"):
    for foreach in (None, True, False):
        net = fresh_grads(1)
        total = nn.utils.clip_grad_norm_(net.parameters(), max_norm=0.5, norm_type=norm_type, foreach=foreach)
        after = nn.utils.get_total_norm([p.grad for p in net.parameters()], norm_type=norm_type)
        print(norm_type, foreach, type(total).__name__, total.dtype, total.shape, round(total.item(), 4), round(after.item(), 4))
net = fresh_grads(2)
print(round(nn.utils.clip_grad_norm_(net.parameters(), 1e6).item(), 4), r(net[0].bias.grad, 4))
nn.utils.clip_grad_value_(net.parameters(), clip_value=0.05, foreach=True)
print(r(net[0].bias.grad), max(p.grad.abs().max().item() for p in net.parameters()))
print(nn.utils.clip_grad_value_(net.parameters(), 0.01), nn.utils.clip_grad_norm_([], 1.0))
net = fresh_grads(3)
net[2].bias.grad[0] = float("nan")
err(lambda: nn.utils.clip_grad_norm_(net.parameters(), 1.0, error_if_nonfinite=True))
print(nn.utils.clip_grad_norm_(net.parameters(), 1.0), net[2].bias.grad.isnan().sum().item())
net = fresh_grads(4)
norm = nn.utils.get_total_norm((p.grad for p in net.parameters()), norm_type=2.0)
nn.utils.clip_grads_with_norm_(net.parameters(), max_norm=0.1, total_norm=norm)
print(round(norm.item(), 4), round(nn.utils.get_total_norm([p.grad for p in net.parameters()]).item(), 4))

# --- pruning ---
torch.manual_seed(0)
lin = nn.Linear(5, 4)
prune.random_unstructured(lin, name="weight", amount=0.3)
print([n for n, _ in lin.named_parameters()], [n for n, _ in lin.named_buffers()], list(lin.state_dict().keys()))
print(lin.weight_mask, int(lin.weight_mask.sum().item()), type(lin.weight).__name__, lin.weight.grad_fn is not None)
print(list(lin._forward_pre_hooks.values())[0].__class__.__name__, prune.is_pruned(lin), prune.is_pruned(nn.Linear(1, 1)))
print(torch.equal(lin.weight, lin.weight_orig * lin.weight_mask), lin)
prune.l1_unstructured(lin, name="bias", amount=2)
print(lin.bias_mask, r(lin.bias), list(lin.state_dict().keys()))
prune.l1_unstructured(lin, name="weight", amount=0.25)     # a second pass on weight: a PruningContainer
hook = [h for h in lin._forward_pre_hooks.values() if h._tensor_name == "weight"][0]
print(type(hook).__name__, len(hook), [type(m).__name__ for m in hook], int(lin.weight_mask.sum().item()))
x = torch.randn(3, 5)
out = lin(x)
print(r(out), torch.allclose(out, x @ (lin.weight_orig * lin.weight_mask).T + lin.bias_orig * lin.bias_mask))
out.sum().backward()
print(lin.weight_orig.grad * (1 - lin.weight_mask))     # pruned entries get no gradient
with torch.no_grad():
    lin.weight_orig.add_(1.0)
lin(x)                                                   # the pre-hook recomputes weight
print(torch.equal(lin.weight, lin.weight_orig * lin.weight_mask))
prune.remove(lin, "weight")
print([n for n, _ in lin.named_parameters()], [n for n, _ in lin.named_buffers()], type(lin.weight).__name__)
print((lin.weight == 0).sum().item(), len(lin._forward_pre_hooks), prune.is_pruned(lin))
err(lambda: prune.remove(lin, "weight"))
err(lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=1.5))
err(lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=-1))
err(lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=5))
err(lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount="half"))
err(lambda: prune.ln_structured(nn.Linear(2, 2), "bias", amount=1, n=2, dim=0))
err(lambda: prune.ln_structured(nn.Linear(2, 2), "weight", amount=1, n=2, dim=3))
err(lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=1, importance_scores=torch.ones(3)))
lin2 = nn.Linear(2, 2)
err(lambda: prune.l1_unstructured(lin2, "weight", amount=5))
print([n for n, _ in lin2.named_parameters()], prune.is_pruned(lin2))

torch.manual_seed(1)
conv = nn.Conv2d(3, 6, 3)
prune.ln_structured(conv, name="weight", amount=0.5, n=2, dim=0)
kept = conv.weight_mask.sum(dim=(1, 2, 3))
print(kept, r(conv.weight_orig.flatten(1).norm(dim=1)), conv.weight.shape)
prune.ln_structured(conv, name="weight", amount=1, n=1, dim=1)
print(conv.weight_mask.sum(dim=(0, 2, 3)), conv.weight_mask.sum(dim=(1, 2, 3)))
prune.random_structured(conv, "weight", amount=1, dim=-1)
print(conv.weight_mask.sum(dim=(0, 1, 2)), int(conv.weight_mask.sum().item()))
prune.l1_unstructured(conv, "bias", amount=0.5, importance_scores=torch.arange(6.0))
print(conv.bias_mask)
prune.custom_from_mask(conv, "bias", mask=torch.tensor([1.0, 0, 1, 1, 1, 1]))
print(conv.bias_mask, prune.is_pruned(conv))
state = conv.state_dict()
print(list(state.keys()), state["weight_mask"].dtype)
err(lambda: copy.deepcopy(conv))                          # weight is not a leaf: torch refuses
for name in ("weight", "bias"):
    prune.remove(conv, name)
print(list(conv.state_dict().keys()), prune.is_pruned(conv))

torch.manual_seed(2)
model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
to_prune = [(model[0], "weight"), (model[2], "weight"), (model[2], "bias")]
prune.global_unstructured(to_prune, pruning_method=prune.L1Unstructured, amount=0.4)
total = sum(m.weight.numel() for m, _ in to_prune[:2]) + model[2].bias.numel()
zeros = sum(int((getattr(m, n) == 0).sum().item()) for m, n in to_prune)
print(total, zeros, [int(getattr(m, n + "_mask").sum().item()) for m, n in to_prune], prune.is_pruned(model))
print(list(model.state_dict().keys()))
prune.global_unstructured(to_prune[:2], pruning_method=prune.RandomUnstructured, amount=3)
print([int(getattr(m, n + "_mask").sum().item()) for m, n in to_prune])
try:
    prune.global_unstructured(to_prune, pruning_method=prune.LnStructured, amount=1, n=2, dim=0)
except TypeError as e:
    print(type(e).__name__, str(e).split("Found")[0], str(e).split(">")[-1])
err(lambda: prune.global_unstructured(model[0], pruning_method=prune.L1Unstructured, amount=1))
sparsity = 100.0 * zeros / total
print(f"sparsity {sparsity:.2f}%", prune.L1Unstructured(amount=0.5).prune(torch.tensor([3.0, -1.0, 0.5, 2.0])))
print(prune.RandomUnstructured(0.5).compute_mask(torch.ones(4), default_mask=torch.ones(4)).sum())
print(prune.identity(nn.Linear(2, 1), "weight").weight_mask)

# the tutorial loop: prune every conv / linear layer, fine-tune, make it permanent
torch.manual_seed(7)
cnn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
for name, module in cnn.named_modules():
    if isinstance(module, nn.Conv2d):
        prune.l1_unstructured(module, name="weight", amount=0.2)
    elif isinstance(module, nn.Linear):
        prune.ln_structured(module, name="weight", amount=0.5, n=1, dim=0)
print(sorted(dict(cnn.named_buffers()).keys()), len(list(cnn.parameters())))
opt = torch.optim.SGD(cnn.parameters(), lr=0.1, momentum=0.9)
imgs, labels = torch.randn(6, 1, 6, 6), torch.tensor([0, 1, 2, 0, 1, 2])
for step in range(3):
    opt.zero_grad()
    loss = F.cross_entropy(cnn(imgs), labels)
    loss.backward()
    opt.step()
    print(step, round(loss.item(), 4), int((cnn[0].weight == 0).sum().item()), int((cnn[3].weight == 0).sum().item()))
sd = cnn.state_dict()
clone = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
err(lambda: clone.load_state_dict(sd))
prune.identity(clone[0], "weight"), prune.identity(clone[3], "weight")
print(clone.load_state_dict(sd), torch.equal(clone(imgs), cnn(imgs)))
for module in (cnn[0], cnn[3]):
    prune.remove(module, "weight")
zero_frac = sum(int((p == 0).sum().item()) for p in cnn.parameters()) / sum(p.numel() for p in cnn.parameters())
print(list(cnn.state_dict().keys()), f"{zero_frac:.4f}", round(F.cross_entropy(cnn(imgs), labels).item(), 4))
scores = {(cnn[3], "weight"): torch.arange(cnn[3].weight.numel(), dtype=torch.float32).view_as(cnn[3].weight)}
prune.global_unstructured([(cnn[0], "weight"), (cnn[3], "weight")], prune.L1Unstructured, importance_scores=scores, amount=20)
print(int(cnn[0].weight_mask.sum().item()), int(cnn[3].weight_mask.sum().item()), cnn[3].weight_mask[0, :6])
err(lambda: prune.global_unstructured([(cnn[0], "weight")], prune.L1Unstructured, importance_scores=[1], amount=1))

# --- stochastic weight averaging and EMA ---
torch.manual_seed(3)
net = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
swa = AveragedModel(net)
ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.9))
custom = AveragedModel(net, avg_fn=lambda avg, p, n: 0.5 * avg + 0.5 * p, use_buffers=True)
opt = torch.optim.SGD(net.parameters(), lr=0.1)
sched = SWALR(opt, swa_lr=0.05, anneal_epochs=3, anneal_strategy="cos")
X, Y = torch.randn(32, 3), torch.randn(32, 1)
loader = DataLoader(TensorDataset(X, Y), batch_size=8, shuffle=False)
lrs = []
for epoch in range(5):
    for xb, yb in loader:
        opt.zero_grad()
        F.mse_loss(net(xb), yb).backward()
        opt.step()
    for avg in (swa, ema, custom):
        avg.update_parameters(net)
    sched.step()
    lrs.append(round(sched.get_last_lr()[0], 6))
print(lrs, swa.n_averaged, ema.n_averaged.dtype)
print(r(swa.module[3].weight), r(ema.module[3].weight), r(custom.module[3].weight))
print(r(swa.module[1].running_mean[:3]), r(custom.module[1].running_mean[:3]), custom.module[1].num_batches_tracked)
print(list(swa.state_dict().keys())[:4], len(swa.state_dict()), swa.module[0].weight.requires_grad)
update_bn(loader, swa)
print(r(swa.module[1].running_mean[:4]), r(swa.module[1].running_var[:4]), swa.module[1].momentum, swa.training)
swa.eval()
print(r(swa(X[:3])))
opt2 = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
lin_sched = SWALR(opt2, swa_lr=0.1, anneal_epochs=4, anneal_strategy="linear")
vals = []
for _ in range(6):
    opt2.step()
    lin_sched.step()
    vals.append(round(lin_sched.get_last_lr()[0], 6))
print(vals, sorted(lin_sched.state_dict().keys())[:4])
err(lambda: SWALR(opt2, swa_lr=0.1, anneal_strategy="exp"))
err(lambda: SWALR(opt2, swa_lr=0.1, anneal_epochs=-1))
err(lambda: get_ema_multi_avg_fn(1.5))
print(swa)

# averaging variants: SWA and EMA helpers, buffers averaged too, several parameter groups
from torch.optim.swa_utils import get_swa_multi_avg_fn, get_ema_avg_fn, get_swa_avg_fn
torch.manual_seed(8)
base = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
avgs = {"swa_multi": AveragedModel(base, multi_avg_fn=get_swa_multi_avg_fn()),
        "swa_fn": AveragedModel(base, avg_fn=get_swa_avg_fn()),
        "ema_fn": AveragedModel(base, avg_fn=get_ema_avg_fn(0.8), use_buffers=True),
        "ema_multi": AveragedModel(base, multi_avg_fn=get_ema_multi_avg_fn(0.8), use_buffers=True),
        "weighted": AveragedModel(base, avg_fn=lambda a, p, n: a + (p - a) * 2.0 / (n + 2))}
for k in range(4):
    with torch.no_grad():
        for p in base.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    base(torch.randn(5, 2))
    for avg in avgs.values():
        avg.update_parameters(base)
for name, avg in avgs.items():
    print(name, avg.n_averaged.item(), r(avg.module[0].bias), r(avg.module[1].running_mean), avg.module[1].num_batches_tracked)
print(r(avgs["swa_multi"].module[0].weight) == r(avgs["swa_fn"].module[0].weight))
two = torch.optim.SGD([{"params": base[0].parameters(), "lr": 0.5}, {"params": base[1].parameters()}], lr=0.2)
swa_sched = SWALR(two, swa_lr=[0.05, 0.01], anneal_epochs=2)
vals = []
for _ in range(4):
    two.step()
    swa_sched.step()
    vals.append([round(v, 6) for v in swa_sched.get_last_lr()])
print(vals, [g["swa_lr"] for g in two.param_groups], [g["initial_lr"] for g in two.param_groups])
zero = SWALR(torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=1.0), swa_lr=0.3, anneal_epochs=0)
print(zero.get_last_lr())
err(lambda: SWALR(two, swa_lr=[0.1]))

# --- conv + batch-norm fusion ---
torch.manual_seed(4)
conv, bn = nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3)
bn.running_mean.uniform_(-1, 1)
bn.running_var.uniform_(0.5, 2)
conv.eval(), bn.eval()
fused = nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
img = torch.randn(1, 2, 4, 4)
print(fused, fused.bias.shape, torch.allclose(fused(img), bn(conv(img)), atol=1e-5), fused.weight.requires_grad)
lin, bn1 = nn.Linear(3, 2).eval(), nn.BatchNorm1d(2).eval()
fl = nn.utils.fusion.fuse_linear_bn_eval(lin, bn1)
print(torch.allclose(fl(torch.ones(2, 3)), bn1(lin(torch.ones(2, 3))), atol=1e-6))
err(lambda: nn.utils.fusion.fuse_conv_bn_eval(conv.train(), bn))

# --- module traversal, init and freezing ---
torch.manual_seed(5)
shared = nn.Linear(4, 4)
tree = nn.Sequential(shared, nn.ReLU(), nn.Sequential(shared, nn.Linear(4, 2)), nn.BatchNorm1d(2))


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain("relu"))
        nn.init.constant_(m.bias, 0.01)


print(tree.apply(init_weights) is tree, r(shared.bias), round(shared.weight.std().item(), 4))
print([n for n, _ in tree.named_modules()])
print([n for n, _ in tree.named_modules(remove_duplicate=False)])
print([n for n, _ in tree.named_modules(prefix="net")], [n for n, _ in tree.named_modules(memo={shared})])
print([n for n, _ in tree.named_parameters()], [n for n, _ in tree.named_parameters(remove_duplicate=False)])
print([n for n, _ in tree.named_parameters(prefix="m", recurse=False)], [n for n, _ in tree[2].named_parameters(prefix="x")])


def count(m):
    return sum(p.numel() for p in m.parameters() if p.requires_grad), sum(p.numel() for p in m.parameters())


print(count(tree))
tree[2].requires_grad_(False)
print(count(tree), tree[2].requires_grad_(True) is tree[2])
for name, p in tree.named_parameters():
    if not name.startswith("3."):
        p.requires_grad = False
print(count(tree), [n for n, p in tree.named_parameters() if p.requires_grad])
opt = torch.optim.Adam(filter(lambda p: p.requires_grad, tree.parameters()), lr=1e-3)
print(len(opt.param_groups[0]["params"]))
tree.apply(lambda m: m.requires_grad_(True))
print(count(tree), sum(1 for _ in tree.modules()), sum(1 for _ in tree.children()))

# --- functional_call with replaced parameters and buffers ---
from torch.func import functional_call
from torch.nn.utils import stateless

torch.manual_seed(6)
m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
m.eval()
xb = torch.randn(4, 3)
params = {k: torch.zeros_like(v) for k, v in m.named_parameters()}
print(functional_call(m, params, (xb,)), m[0].weight.abs().sum() > 0)
bufs = {"1.running_mean": torch.ones(2), "1.running_var": torch.full((2,), 4.0)}
print(r(functional_call(m, (dict(m.named_parameters()), bufs), xb)), r(m[1].running_mean))
print(r(stateless.functional_call(m, {"0.bias": torch.ones(2)}, (xb,))))
err(lambda: functional_call(m, {"0.bias": torch.ones(2), "extra": torch.ones(1)}, (xb,), strict=True))
err(lambda: functional_call(m, {"0.bias": torch.ones(2)}, (xb,), strict=True))
err(lambda: functional_call(m, ({"0.bias": torch.ones(2)}, {"0.bias": torch.zeros(2)}), (xb,)))
m.train()
before = m[1].running_mean.clone()
functional_call(m, {"1.running_mean": torch.zeros(2)}, (xb,))
print(torch.equal(m[1].running_mean, before), m[1].num_batches_tracked)
w = torch.randn(2, 3, requires_grad=True)
y = functional_call(m[0], {"weight": w}, xb).sum()
y.backward()
print(r(w.grad), m[0].weight.grad)
tied = nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 5, bias=False))
tied[1].weight = tied[0].weight
idx = torch.tensor([[1, 4]])
new_w = torch.ones(5, 3)
print(r(functional_call(tied, {"0.weight": new_w}, (idx,))), r(functional_call(tied, {"0.weight": new_w}, (idx,), tie_weights=False)))
print(r(functional_call(tied, {"0.weight": new_w, "1.weight": new_w}, (idx,))))
err(lambda: functional_call(tied, {"0.weight": new_w, "1.weight": torch.zeros(5, 3)}, (idx,)))
pruned_lin = prune.l1_unstructured(nn.Linear(3, 2), "weight", amount=3)
print(r(functional_call(pruned_lin, {"weight_orig": torch.ones(2, 3)}, (torch.ones(1, 3),)) - pruned_lin.bias))
print(sorted(k for k, _ in pruned_lin.named_parameters()), functional_call(nn.Identity(), {}, torch.ones(1)))
