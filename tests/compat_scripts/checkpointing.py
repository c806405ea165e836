"""Saving and resuming work as course code does: torch.save/torch.load of tensors, containers, views,
modules, optimizers and schedulers; strict loading errors; deepcopy and pickle; seeded."""
import copy
import io
import os
import pickle
import tempfile

import torch
from torch import nn

torch.manual_seed(0)
workdir = tempfile.mkdtemp()


def round_trip(obj, **load_kw):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, **load_kw)


def attempt(name, fn):
    try:
        out = fn()
        print(name, "ok", out)
    except Exception as e:
        print(name, "->", type(e).__name__, e)


# --- tensors and containers through a file ---
x = torch.randn(3, 4)
path = os.path.join(workdir, "x.pt")
torch.save(x, path)
y = torch.load(path)
print(type(y).__name__, y.shape, y.dtype, torch.equal(x, y), y is x, y.is_contiguous())
stuff = {"a": x, "list": [torch.arange(3), torch.ones(2, dtype=torch.float64)], "n": 7, "name": "run1",
         "t": (1.5, None, True), "lr": 0.01}
back = round_trip(stuff)
print(sorted(back), type(back["list"]).__name__, type(back["t"]).__name__, back["t"], back["n"], back["name"])
print(back["list"][0], back["list"][1].dtype, torch.equal(back["a"], x))

# --- views: does storage sharing survive the round trip? ---
base = torch.arange(12.)
v1, v2 = base[:6], base.view(3, 4)[1]
a, b, c = round_trip([base, v1, v2])
a[4] = 100.0
print(b[4].item(), c[0].item(), b.storage_offset(), c.storage_offset(), c.stride())
print(a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr())
solo = round_trip(v2)
print(solo, solo.storage_offset(), len(solo.untyped_storage()) // solo.element_size())
t = torch.arange(6.).view(2, 3).t()
tl = round_trip(t)
print(tl.shape, tl.stride(), tl.is_contiguous(), tl)
tied = round_trip({"w": x, "same": x})
print(round_trip(x.expand(2, 3, 4)).stride(), round_trip(x[:, 1]).stride(), len(round_trip(x[:, 1]).untyped_storage()))
print(round_trip({"s": torch.Size([2, 3]), "dt": torch.float16, "dev": torch.device("cpu")}, weights_only=True))
print(tied["w"] is tied["same"])

# --- requires_grad, grads and Parameters ---
w = torch.randn(3, requires_grad=True)
(w * 2).sum().backward()
wl = round_trip(w)
print(wl.requires_grad, wl.is_leaf, wl.grad, wl.grad_fn)
p = nn.Parameter(torch.randn(2, 2))
pl = round_trip(p)
print(type(pl).__name__, isinstance(pl, nn.Parameter), pl.requires_grad)
print(type(round_trip(nn.Parameter(torch.ones(2), requires_grad=False))).__name__)
nonleaf = w * 3
nl = round_trip(nonleaf.detach())
print(nl.requires_grad, nl.grad_fn)

# --- dtype preservation, empty and 0-d ---
for dt in [torch.float32, torch.float64, torch.float16, torch.int8, torch.uint8, torch.int16,
           torch.int32, torch.int64, torch.bool, torch.complex64, torch.complex128]:
    src = (torch.arange(4) % 2 == 0) if dt == torch.bool else torch.arange(4).to(dt)
    out = round_trip(src)
    print(dt, out.dtype, torch.equal(out, src), out.tolist())
e = round_trip(torch.empty(0, 3))
s = round_trip(torch.tensor(3.5))
print(e.shape, e.dtype, e.numel(), s, s.dim(), s.shape, s.item())
print(round_trip(torch.tensor(2, dtype=torch.int64)), round_trip(torch.zeros(2, 0, 4)).shape)

# --- modules, buffers and state dicts ---


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.bn = nn.BatchNorm1d(8)
        self.fc2 = nn.Linear(8, 2)
        self.register_buffer("mean", torch.zeros(4))
        self.register_buffer("cache", torch.ones(3), persistent=False)

    def forward(self, x):
        return self.fc2(torch.relu(self.bn(self.fc1(x - self.mean))))


net = Net()
sd = net.state_dict()
print(type(sd).__name__, list(sd.keys()))
print([n for n, _ in net.named_buffers()], sd["bn.num_batches_tracked"], sd["fc1.bias"].requires_grad)
print(sd["fc2.weight"].data_ptr() == net.fc2.weight.data_ptr())
file = os.path.join(workdir, "net.pt")
torch.save(net.state_dict(), file)
net2 = Net()
print(net2.load_state_dict(torch.load(file)))
print(all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), net2.state_dict().values())))
print(type(net2.fc1.weight).__name__, net2.fc1.weight.requires_grad)

# strict loading mistakes
attempt("missing", lambda: net2.load_state_dict({k: v for k, v in sd.items() if k != "fc2.bias"}))
attempt("unexpected", lambda: net2.load_state_dict({**sd, "extra.weight": torch.zeros(1)}))
attempt("size", lambda: net2.load_state_dict({**sd, "fc1.weight": torch.zeros(3, 4)}))
attempt("both", lambda: net2.load_state_dict({"fc1.weight": sd["fc1.weight"], "zzz": torch.zeros(1)}))
res = net2.load_state_dict({"fc1.weight": sd["fc1.weight"], "zzz": torch.zeros(1)}, strict=False)
print(res)
print(res.missing_keys, res.unexpected_keys, type(res).__name__)
missing, unexpected = res
print(len(missing), unexpected)
attempt("strict=False size", lambda: net2.load_state_dict({"fc1.weight": torch.zeros(3, 3)}, strict=False))
attempt("not a mapping", lambda: net2.load_state_dict([1, 2]))
attempt("dtype converts", lambda: net2.load_state_dict({**sd, "mean": torch.ones(4, dtype=torch.float64)}))
print(net2.mean.dtype, net2.mean)

# whole-module save is not weights-only
buf = io.BytesIO()
torch.save(sd, buf)
buf.seek(0)
print(list(torch.load(buf, weights_only=True).keys())[:3])
buf.seek(0)
print(list(torch.load(buf, weights_only=False).keys())[-2:])
plain = {"epoch": 3, "losses": [0.5, 0.25], "best": None, "cfg": {"lr": 0.1, "tag": "a"}}
print(round_trip(plain, weights_only=True), round_trip(plain, weights_only=False) == plain)
print(round_trip(x, map_location="cpu").device, round_trip(x, map_location=torch.device("cpu")).device)
print(round_trip(x, map_location=lambda storage, loc: storage).device)

# state dicts alias the parameters; keep_vars; prefixes; files given as paths and file objects
sd_alias = net.state_dict()
sd_alias["fc1.bias"][0] = 42.0
print(net.fc1.bias[0].item(), sd_alias["fc1.bias"].requires_grad, sd_alias["fc1.bias"].is_leaf)
kv = net.state_dict(keep_vars=True)
print(type(kv["fc1.weight"]).__name__, kv["fc1.weight"] is net.fc1.weight, type(kv["mean"]).__name__)
print(list(net.fc2.state_dict(prefix="head.").keys()), list(nn.Sequential(net.fc1, nn.ReLU()).state_dict()))
cloned = {k: v.clone() for k, v in net.state_dict().items()}
net.fc1.bias.data.zero_()
print(cloned["fc1.bias"][0].item(), net.fc1.bias[0].item())
attempt("non-persistent key", lambda: net.load_state_dict({**net.state_dict(), "cache": torch.ones(3)}))
wide = Net().double()
print(wide.load_state_dict(net.state_dict()), wide.fc1.weight.dtype, torch.allclose(wide.fc1.weight.float(), net.fc1.weight))
import pathlib
ppath = pathlib.Path(workdir) / "sub.pt"
torch.save({"w": net.fc2.weight.detach()}, ppath)
with open(ppath, "rb") as fh:
    print(sorted(torch.load(fh)), ppath.exists())
with open(os.path.join(workdir, "fh.pt"), "wb") as fh:
    torch.save([1, torch.ones(2)], fh)
print(torch.load(os.path.join(workdir, "fh.pt")))
try:
    torch.load(os.path.join(workdir, "nope.pt"))
except FileNotFoundError as e:
    print(e.errno, os.path.basename(e.filename))

# the random state goes into checkpoints too
torch.manual_seed(5)
state = {"rng": torch.get_rng_state(), "step": 1}
after = torch.rand(3)
rs = round_trip(state)
print(rs["rng"].dtype, rs["rng"].shape == state["rng"].shape)
torch.set_rng_state(rs["rng"])
print(torch.equal(torch.rand(3), after))

# --- optimizer + scheduler: resume gives the same losses as an uninterrupted run ---
data = torch.randn(16, 4)
target = torch.randn(16, 2)


def make(opt_name):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))
    if opt_name == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched


def train(model, opt, sched, steps):
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(data) - target) ** 2).mean()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(f"{loss.item():.5f}")
    return losses


for opt_name in ["sgd", "adam"]:
    full = train(*make(opt_name), 6)
    model, opt, sched = make(opt_name)
    first = train(model, opt, sched, 3)
    ckpt_path = os.path.join(workdir, f"ckpt_{opt_name}.pt")
    torch.save({"epoch": 3, "model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()},
               ckpt_path)
    ckpt = torch.load(ckpt_path)
    model2, opt2, sched2 = make(opt_name)
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    second = train(model2, opt2, sched2, 3)
    print(opt_name, full)
    print(opt_name, first + second, full == first + second, ckpt["epoch"])
    osd = ckpt["opt"]
    print(sorted(osd), sorted(osd["state"]), sorted(osd["state"][0]), osd["param_groups"][0]["params"])
    print({k: v for k, v in sorted(osd["param_groups"][0].items()) if k in ("lr", "momentum", "betas", "initial_lr")})
    print(sorted(ckpt["sched"]), ckpt["sched"]["last_epoch"], ckpt["sched"]["_last_lr"], sched2.get_last_lr())
    st = opt2.state[model2[0].weight]
    print({k: (tuple(v.shape), v.dtype) if torch.is_tensor(v) else v for k, v in sorted(st.items())})

# parameter groups, other schedulers, and a keep-the-best loop
torch.manual_seed(2)
mlp = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))
groups = [{"params": mlp[0].parameters(), "lr": 0.05}, {"params": mlp[3].parameters()}]
opt = torch.optim.SGD(groups, lr=0.1, momentum=0.5, nesterov=True)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
best, best_state = float("inf"), None
for epoch in range(5):
    opt.zero_grad()
    loss = ((mlp(data) - target) ** 2).mean()
    loss.backward()
    opt.step()
    plateau.step(1.0 if epoch % 2 else 2.0)
    if loss.item() < best:
        best, best_state = loss.item(), copy.deepcopy(mlp.state_dict())
print(f"{best:.4f}", [g["lr"] for g in opt.param_groups], best_state["1.num_batches_tracked"])
osd = round_trip(opt.state_dict())
print([g["params"] for g in osd["param_groups"]], [g["lr"] for g in osd["param_groups"]], osd["param_groups"][1]["nesterov"])
psd = round_trip(plateau.state_dict())
print(sorted(k for k in psd if not k.startswith("_")), psd["best"], psd["num_bad_epochs"], psd["last_epoch"])
restored = copy.deepcopy(mlp)
restored.load_state_dict(best_state)
restored.eval()
mlp.eval()
print(restored[1].running_mean.shape, torch.equal(restored[1].running_var, best_state["1.running_var"]))
cos_opt = torch.optim.Adam(nn.Linear(2, 2).parameters(), lr=0.1)
cos = torch.optim.lr_scheduler.CosineAnnealingLR(cos_opt, T_max=4)
for _ in range(2):
    cos_opt.step()
    cos.step()
cos2 = torch.optim.lr_scheduler.CosineAnnealingLR(torch.optim.Adam(nn.Linear(2, 2).parameters(), lr=0.1), T_max=4)
cos2.load_state_dict(round_trip(cos.state_dict()))
print([f"{lr:.4f}" for lr in cos2.get_last_lr()], cos2.last_epoch, cos2.T_max)
assigned = nn.Linear(2, 2)
src = {"weight": torch.ones(2, 2), "bias": torch.zeros(2)}
print(assigned.load_state_dict(src, assign=True), type(assigned.weight).__name__, assigned.weight.requires_grad)
print(assigned.weight.data_ptr() == src["weight"].data_ptr())

# --- deepcopy and pickle ---
m = nn.Linear(3, 2)
m(torch.randn(4, 3)).sum().backward()
mc = copy.deepcopy(m)
print(mc, mc.weight is m.weight, torch.equal(mc.weight, m.weight), type(mc.weight).__name__)
print(mc.weight.grad is None, m.weight.grad is None)   # a Parameter's deepcopy drops its grad
with torch.no_grad():
    mc.weight.add_(1.0)
print(torch.equal(mc.weight, m.weight))
g = torch.randn(3, requires_grad=True)
(g ** 2).sum().backward()
gc = copy.deepcopy(g)
print(gc.requires_grad, gc.is_leaf, torch.equal(gc.grad, g.grad), gc.grad is g.grad)
attempt("deepcopy non-leaf", lambda: copy.deepcopy(g * 2))
shared = torch.zeros(4)
pair = copy.deepcopy([shared, shared[1:3]])
pair[0][1] = 5.0
print(pair[1])
pk = pickle.loads(pickle.dumps(torch.arange(5.).view(5, 1)))
print(pk, pk.shape, pk.dtype)
pp = pickle.loads(pickle.dumps(nn.Parameter(torch.ones(2))))
print(type(pp).__name__, pp.requires_grad)
mp = pickle.loads(pickle.dumps(m))
print(mp, torch.equal(mp.weight, m.weight))
pa, pb = pickle.loads(pickle.dumps([torch.arange(6.), torch.arange(6.)[2:4]]))
print(pb, pb.storage_offset(), pb.stride())
tp = pickle.loads(pickle.dumps(torch.arange(6).view(2, 3).t()))
print(tp.stride(), tp.is_contiguous(), tp.dtype, tp)
wg = torch.ones(2, requires_grad=True)
wg.grad = torch.full((2,), 3.0)
wp = pickle.loads(pickle.dumps(wg))
print(wp, wp.grad, wp.is_leaf, pickle.loads(pickle.dumps(wg * 2)))
print(pickle.loads(pickle.dumps(torch.tensor(1.5, dtype=torch.float64))), pickle.loads(pickle.dumps(torch.empty(0, 2))).shape)
tagged = torch.ones(3, requires_grad=True)
tagged.note = "epoch 3"
print(copy.deepcopy(tagged).note, copy.copy(torch.ones(2)), copy.deepcopy(torch.tensor(7)).dim())
