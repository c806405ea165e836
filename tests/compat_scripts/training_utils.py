"""Training-loop utilities: checkpoints of models, optimizers and schedulers, metrics, gradient
clipping, parametrizations, freezing, seeded."""
import io

import torch
from torch import nn
import torch.nn.functional as F
from torch.nn.utils import parametrizations, parametrize

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))
opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3)
sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 4], gamma=0.1)
x, y = torch.randn(30, 5), torch.randint(0, 3, (30,))
for epoch in range(3):
    model.train()
    for xb, yb in zip(x.split(10), y.split(10)):
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 0.5)
        opt.step()
    sched.step()
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(1)
    acc = (pred == y).float().mean().item()
    print(epoch, round(loss.item(), 4), round(acc, 4), sched.get_last_lr())

conf = torch.bincount(y * 3 + pred, minlength=9).view(3, 3)
print(conf, torch.histc(x[:, 0], bins=4, min=-2, max=2), torch.bucketize(torch.tensor([-1., 0.5]), torch.tensor([0., 1.])))

buf = io.BytesIO()
torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
buf.seek(0)
ck = torch.load(buf)
print(sorted(ck["opt"].keys()), ck["opt"]["param_groups"][0]["lr"], sorted(ck["opt"]["state"][0].keys()))
print({k: v for k, v in ck["sched"].items() if k != "_get_lr_called_within_step"})
model2 = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))
opt2 = torch.optim.SGD(model2.parameters(), lr=0.1, momentum=0.9)
model2.load_state_dict(ck["model"])
opt2.load_state_dict(ck["opt"])
print(opt2.param_groups[0]["lr"], opt2.param_groups[0]["weight_decay"], torch.equal(opt2.state[model2[0].weight]["momentum_buffer"], opt.state[model[0].weight]["momentum_buffer"]))
missing = model2.load_state_dict({"0.weight": torch.zeros(8, 5)}, strict=False)
print(missing.missing_keys, missing.unexpected_keys)
try:
    model2.load_state_dict({"0.weight": torch.zeros(8, 4)}, strict=False)
except RuntimeError as e:
    print(str(e).splitlines()[0])

# freezing and parameter groups
for p in model[0].parameters():
    p.requires_grad_(False)
opt3 = torch.optim.Adam([{"params": model[3].parameters(), "lr": 1e-3}, {"params": [], "lr": 5e-1}], lr=1e-2)
print([g["lr"] for g in opt3.param_groups], [len(g["params"]) for g in opt3.param_groups], opt3.defaults["betas"])
opt3.add_param_group({"params": model[0].parameters()})
print(len(opt3.param_groups), opt3.param_groups[2]["lr"])

# parametrizations
lin = nn.Linear(4, 3)
parametrizations.weight_norm(lin)
print(sorted(n for n, _ in lin.named_parameters()), lin.weight.shape)
sn = parametrizations.spectral_norm(nn.Linear(4, 4))
print(torch.linalg.matrix_norm(sn.weight, 2).item().__round__(3) <= 1.01)


class Symmetric(nn.Module):
    def forward(self, w):
        return w.triu() + w.triu(1).T


sym = nn.Linear(3, 3)
parametrize.register_parametrization(sym, "weight", Symmetric())
print(torch.allclose(sym.weight, sym.weight.T), parametrize.is_parametrized(sym), type(sym).__name__)
print(nn.utils.parameters_to_vector(model.parameters()).shape, sum(p.numel() for p in model.parameters() if p.requires_grad))
print(torch.nn.utils.clip_grad_norm_([torch.ones(2, requires_grad=True)], 1.0))
