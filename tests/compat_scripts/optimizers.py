"""Optimizers and learning-rate schedules (EE-559 lectures 5.2-5.3): every torch.optim optimizer a few
steps on a tiny seeded MLP, their state_dicts and reprs, param groups, state round trips, typical
mistakes, every lr scheduler step by step, and gradient clipping."""
import io
import warnings

import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(0)
# float64 keeps the printed 6 decimals away from float32 rounding noise
X, Y = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64)


def make_model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()


def loss_of(model):
    return F.mse_loss(model(X), Y)


def show_params(model):
    return [[round(v, 6) for v in p.detach().flatten().tolist()[:4]] for p in model.parameters()]


def describe_state(opt):
    sd = opt.state_dict()
    names = sorted(sd["state"][0].keys()) if sd["state"] else []
    group = {k: v for k, v in sd["param_groups"][0].items() if k != "params"}
    return sorted(sd.keys()), sorted(sd["state"].keys()), names, group


def run(opt_cls, steps=4, **kw):
    model = make_model()
    opt = opt_cls(model.parameters(), **kw)
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_of(model)
        loss.backward()
        opt.step()
    print(opt_cls.__name__, kw, f"loss {loss_of(model).item():.6f}")
    print("  params", show_params(model))
    print("  state", describe_state(opt))
    return opt


# --- every optimizer, with its options ---
run(torch.optim.SGD, lr=0.1)
run(torch.optim.SGD, lr=0.1, momentum=0.9, dampening=0.1)
run(torch.optim.SGD, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
run(torch.optim.SGD, lr=0.1, maximize=True)
run(torch.optim.Adam, lr=0.01)
run(torch.optim.Adam, lr=0.01, amsgrad=True, weight_decay=0.1)
run(torch.optim.Adam, lr=0.01, maximize=True, betas=(0.8, 0.99), eps=1e-6)
run(torch.optim.AdamW, lr=0.01)
run(torch.optim.AdamW, lr=0.01, weight_decay=0.5, amsgrad=True)
run(torch.optim.RMSprop, lr=0.01)
run(torch.optim.RMSprop, lr=0.01, centered=True, momentum=0.5, alpha=0.9)
run(torch.optim.RMSprop, lr=0.01, weight_decay=0.1, momentum=0.9)
run(torch.optim.Adagrad, lr=0.1)
run(torch.optim.Adagrad, lr=0.1, lr_decay=0.1, initial_accumulator_value=0.5, weight_decay=0.01)
run(torch.optim.Adadelta)
run(torch.optim.Adadelta, lr=0.5, rho=0.8, weight_decay=0.1)
run(torch.optim.Adamax, lr=0.02)
run(torch.optim.Adamax, lr=0.02, weight_decay=0.1)
run(torch.optim.NAdam, lr=0.01)
run(torch.optim.NAdam, lr=0.01, momentum_decay=0.01, weight_decay=0.1, decoupled_weight_decay=True)
run(torch.optim.RAdam, lr=0.01, steps=7)
run(torch.optim.RAdam, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, steps=7)
run(torch.optim.ASGD, lr=0.05)
run(torch.optim.ASGD, lr=0.05, t0=2, lambd=0.01, alpha=0.5, weight_decay=0.1)
run(torch.optim.Rprop, lr=0.01)
run(torch.optim.Rprop, lr=0.02, etas=(0.3, 1.5), step_sizes=(1e-4, 0.05))

# --- the full state after a few steps on a quadratic, 1-D parameter ---
target = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
for opt_cls, kw in [(torch.optim.SGD, dict(lr=0.1, momentum=0.9)), (torch.optim.Adam, dict(lr=0.1, amsgrad=True)),
                    (torch.optim.RMSprop, dict(lr=0.1, centered=True, momentum=0.1)), (torch.optim.Adagrad, dict(lr=0.5)),
                    (torch.optim.Adadelta, dict(lr=1.0)), (torch.optim.Adamax, dict(lr=0.1)), (torch.optim.NAdam, dict(lr=0.1)),
                    (torch.optim.RAdam, dict(lr=0.1)), (torch.optim.ASGD, dict(lr=0.1, t0=1)), (torch.optim.Rprop, dict(lr=0.1))]:
    x = nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = opt_cls([x], **kw)
    for _ in range(5):
        opt.zero_grad()
        ((x - target) ** 2).sum().backward()
        opt.step()
    print(opt_cls.__name__, x.detach(), opt.state_dict()["state"][0])

for line_search in (None, "strong_wolfe"):
    model = make_model()
    opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=5, history_size=3, line_search_fn=line_search)
    calls = [0]

    def closure():
        calls[0] += 1
        opt.zero_grad()
        loss = loss_of(model)
        loss.backward()
        return loss

    for _ in range(2):
        first = opt.step(closure)
    print("LBFGS", line_search, f"{first.item():.6f}", f"{loss_of(model).item():.6f}", calls[0])
    print("  params", show_params(model))
    sd = opt.state_dict()
    print("  state", sorted(sd["state"][0].keys()), {k: v for k, v in sd["param_groups"][0].items() if k != "params"})
    print("  n_iter", opt.state[opt._params[0]]["n_iter"], opt.state[opt._params[0]]["func_evals"])

# --- param groups, add_param_group, zero_grad ---
model = make_model()
opt = torch.optim.SGD([{"params": model[0].parameters(), "lr": 0.1},
                       {"params": model[2].weight, "momentum": 0.5}], lr=0.01, momentum=0.9)
print(opt)
print([(g["lr"], g["momentum"], len(g["params"])) for g in opt.param_groups], opt.defaults)
opt.add_param_group({"params": [model[2].bias], "lr": 1.0, "nesterov": False})
print(len(opt.param_groups), {k: v for k, v in opt.param_groups[2].items() if k != "params"})
loss_of(model).backward()
opt.step()
print(show_params(model))
opt.zero_grad(set_to_none=False)
print([p.grad is None for p in model.parameters()], model[0].weight.grad.abs().sum().item())
opt.zero_grad()
print([p.grad is None for p in model.parameters()])
for bad in ({"params": model[2].bias}, {"params": [], "lr": 0.1}, {"lr": 0.1}):
    try:
        opt.add_param_group(bad)
        print("added", len(opt.param_groups))
    except (ValueError, TypeError, KeyError, AssertionError) as e:
        print(type(e).__name__, e)

adam = torch.optim.Adam([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.1}],
                        lr=1e-3, betas=(0.8, 0.9), weight_decay=1e-4, amsgrad=True)
print(adam)
print(torch.optim.RMSprop(model.parameters(), centered=True))
print(torch.optim.LBFGS(model.parameters()))
print(torch.optim.Rprop(model.parameters()))
print(repr(torch.optim.ASGD(model.parameters())).splitlines()[:4])

# --- state_dict round trip: a fresh optimizer continues exactly where the first stopped ---
for opt_cls, kw in [(torch.optim.Adam, dict(lr=0.01, amsgrad=True)), (torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
                    (torch.optim.RMSprop, dict(lr=0.01, centered=True)), (torch.optim.NAdam, dict(lr=0.01)),
                    (torch.optim.ASGD, dict(lr=0.05, t0=1)), (torch.optim.Rprop, {}), (torch.optim.Adagrad, {})]:
    model = make_model()
    opt = opt_cls(model.parameters(), **kw)
    for _ in range(3):
        opt.zero_grad()
        loss_of(model).backward()
        opt.step()
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    ck = torch.load(buf)
    twin = make_model()
    twin.load_state_dict(ck["model"])
    opt2 = opt_cls(twin.parameters(), lr=123.0)
    opt2.load_state_dict(ck["opt"])
    for m, o in ((model, opt), (twin, opt2)):
        for _ in range(3):
            o.zero_grad()
            loss_of(m).backward()
            o.step()
    same = all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))
    step = opt2.state[next(twin.parameters())].get("step")
    print(opt_cls.__name__, same, opt2.param_groups[0]["lr"], None if step is None else (step, step.dtype))

# --- typical mistakes ---
w = torch.randn(3, requires_grad=True)
mistakes = {
    "non-leaf": lambda: torch.optim.SGD([w * 2], lr=0.1),
    "empty": lambda: torch.optim.Adam([], lr=0.1),
    "tensor not list": lambda: torch.optim.SGD(w, lr=0.1),
    "negative lr": lambda: torch.optim.SGD([w], lr=-0.1),
    "negative momentum": lambda: torch.optim.SGD([w], lr=0.1, momentum=-1),
    "nesterov no momentum": lambda: torch.optim.SGD([w], lr=0.1, nesterov=True),
    "bad beta": lambda: torch.optim.Adam([w], betas=(1.0, 0.999)),
    "bad eps": lambda: torch.optim.Adam([w], eps=-1.0),
    "negative wd": lambda: torch.optim.AdamW([w], weight_decay=-0.1),
    "bad alpha": lambda: torch.optim.RMSprop([w], alpha=-0.5),
    "bad etas": lambda: torch.optim.Rprop([w], etas=(1.5, 1.2)),
    "bad rho": lambda: torch.optim.Adadelta([w], rho=1.5),
    "bad lr_decay": lambda: torch.optim.Adagrad([w], lr_decay=-1),
    "bad line search": lambda: torch.optim.LBFGS([w], line_search_fn="armijo"),
    "no closure": lambda: torch.optim.LBFGS([w]).step(),
    "grad of wrong size": lambda: setattr(w, "grad", torch.ones(4)),
    "grad of wrong dtype": lambda: setattr(w, "grad", torch.ones(3, dtype=torch.float64)),
    "grad not a tensor": lambda: setattr(w, "grad", [0.0, 1.0, 2.0]),
}
for name, fn in mistakes.items():
    try:
        fn()
        print(name, "ok")
    except Exception as e:
        print(name, "->", type(e).__name__, e)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        dup = torch.optim.SGD([w, w], lr=0.1)
        print("duplicate", len(dup.param_groups[0]["params"]))
    except Exception as e:
        print("duplicate ->", type(e).__name__, e)
print([(c.category.__name__, str(c.message)) for c in caught])
try:
    torch.optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
except ValueError as e:
    print(type(e).__name__, e)
bad = make_model()
opt = torch.optim.Adam(bad.parameters())
try:
    opt.load_state_dict(torch.optim.Adam(bad[0].parameters()).state_dict())
except ValueError as e:
    print(type(e).__name__, e)

# --- learning-rate schedulers, lr after each of 12 epochs ---
S = torch.optim.lr_scheduler


def schedule(make, opt_cls=torch.optim.SGD, steps=12, metric=None, **opt_kw):
    w = nn.Parameter(torch.zeros(2))
    opt = opt_cls([w], **(opt_kw or {"lr": 0.1, "momentum": 0.9}))
    sched = make(opt)
    lrs, moms = [repr(opt.param_groups[0]["lr"])], []
    for epoch in range(steps):
        opt.step()
        sched.step() if metric is None else sched.step(metric[epoch])
        lrs.append(repr(sched.get_last_lr()[0] if metric is None else opt.param_groups[0]["lr"]))
        group = opt.param_groups[0]
        moms.append(repr(group["momentum"] if "momentum" in group else group["betas"][0]))
    print(type(sched).__name__, " ".join(lrs))
    return sched, moms


schedule(lambda o: S.StepLR(o, step_size=3, gamma=0.5))
schedule(lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.1))
schedule(lambda o: S.ExponentialLR(o, gamma=0.8))
schedule(lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.01))
schedule(lambda o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2, eta_min=0.001))
schedule(lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3))
schedule(lambda o: S.LambdaLR(o, lr_lambda=lambda e: 1 / (1 + e)))
schedule(lambda o: S.MultiplicativeLR(o, lr_lambda=lambda e: 0.9))
schedule(lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4))
schedule(lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=6))
schedule(lambda o: S.ConstantLR(o, factor=0.5, total_iters=3))
schedule(lambda o: S.PolynomialLR(o, total_iters=8, power=2.0))
for kw in (dict(), dict(anneal_strategy="linear"), dict(three_phase=True, pct_start=0.25, div_factor=10)):
    _, moms = schedule(lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=13, **kw))
    print("  momentum", " ".join(moms))
sched, moms = schedule(lambda o: S.OneCycleLR(o, max_lr=0.01, epochs=3, steps_per_epoch=5, base_momentum=0.8),
                       torch.optim.Adam, lr=0.001, betas=(0.9, 0.99))
print("  beta1", " ".join(moms), sorted(sched.state_dict().keys()))
for mode in ("triangular", "triangular2", "exp_range"):
    _, moms = schedule(lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=3, mode=mode,
                                            gamma=0.9))
    print("  momentum", " ".join(moms))
schedule(lambda o: S.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=3, cycle_momentum=False),
         torch.optim.Adam, lr=0.01)
schedule(lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=3), S.ExponentialLR(o, gamma=0.9)],
                                  milestones=[3]))
schedule(lambda o: S.ChainedScheduler([S.ConstantLR(o, factor=0.1, total_iters=2), S.ExponentialLR(o, gamma=0.9)]))
losses = [1.0, 0.9, 0.95, 0.95, 0.94, 0.96, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
for kw in (dict(), dict(mode="max"), dict(threshold_mode="abs", threshold=0.05), dict(patience=1, cooldown=2),
           dict(patience=0, factor=0.5, min_lr=0.03), dict(mode="max", threshold_mode="abs", patience=1, eps=0.05)):
    sched, _ = schedule(lambda o: S.ReduceLROnPlateau(o, **kw), metric=losses)
    print("  ", kw, sched.best, sched.num_bad_epochs, sched.cooldown_counter, sched.get_last_lr())

# scheduler state_dicts and a round trip
w = nn.Parameter(torch.zeros(2))
opt = torch.optim.SGD([w], lr=0.1)
for sched in (S.StepLR(opt, 2), S.CosineAnnealingLR(opt, 4), S.LambdaLR(opt, lambda e: 0.5 ** e),
              S.OneCycleLR(opt, max_lr=1.0, total_steps=10), S.ReduceLROnPlateau(opt),
              S.CyclicLR(opt, 0.01, 0.1)):
    print(type(sched).__name__, sorted(sched.state_dict().keys()))
opt = torch.optim.SGD([w], lr=0.1)
sched = S.StepLR(opt, step_size=2, gamma=0.5)
for _ in range(3):
    opt.step()
    sched.step()
state = sched.state_dict()
print({k: v for k, v in state.items() if k != "_get_lr_called_within_step"})
opt2 = torch.optim.SGD([w], lr=0.1)
sched2 = S.StepLR(opt2, step_size=5)
sched2.load_state_dict(state)
print(sched2.last_epoch, sched2.step_size, sched2.get_last_lr(), opt2.param_groups[0]["lr"])
print(opt.param_groups[0]["initial_lr"], "initial_lr" in opt2.param_groups[0])

# mistakes with schedulers
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    opt = torch.optim.SGD([w], lr=0.1)
    sched = S.StepLR(opt, 1)
    sched.step()
    print(sched.get_last_lr())
    print(sched.get_lr())
print([(c.category.__name__, str(c.message)[:120]) for c in caught])
for fn in (lambda: S.StepLR(torch.optim.SGD([w], lr=0.1), 2, last_epoch=3),
           lambda: S.OneCycleLR(torch.optim.SGD([w], lr=0.1), max_lr=1.0),
           lambda: S.ReduceLROnPlateau(torch.optim.SGD([w], lr=0.1), mode="middle"),
           lambda: S.ReduceLROnPlateau(torch.optim.SGD([w], lr=0.1), factor=1.0),
           lambda: S.LinearLR(torch.optim.SGD([w], lr=0.1), start_factor=0),
           lambda: S.CyclicLR(torch.optim.Adagrad([w], lr=0.1), 0.01, 0.1),
           lambda: S.MultiStepLR(w, [1])):
    try:
        fn()
        print("ok")
    except Exception as e:
        print(type(e).__name__, e)

# --- writing one's own optimizer and scheduler, as in the lecture ---
class SignSGD(torch.optim.Optimizer):
    def __init__(self, params, lr=0.01, decay=0.0):
        if lr <= 0:
            raise ValueError(f"bad lr {lr}")
        super().__init__(params, dict(lr=lr, decay=decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                state["count"] = state.get("count", 0) + 1
                p.mul_(1 - group["decay"]).add_(p.grad.sign(), alpha=-group["lr"])
        return loss


class WarmupThenHalve(S.LRScheduler):
    def __init__(self, optimizer, warmup, last_epoch=-1):
        self.warmup = warmup
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch < self.warmup:
            return [base * (self.last_epoch + 1) / self.warmup for base in self.base_lrs]
        return [group["lr"] * 0.5 for group in self.optimizer.param_groups]


model = make_model()
opt = SignSGD([{"params": model[0].parameters()}, {"params": model[2].parameters(), "decay": 0.1}], lr=0.05)
sched = WarmupThenHalve(opt, warmup=3)
print(opt.defaults, [g["decay"] for g in opt.param_groups], sched.get_last_lr())
trace = []
pre = opt.register_step_pre_hook(lambda o, args, kwargs: trace.append(("pre", len(args), args[0] is o, list(kwargs))))
post = opt.register_step_post_hook(lambda o, args, kwargs: trace.append(("post", len(args))))
for epoch in range(6):
    loss = opt.step(lambda: (opt.zero_grad(), loss_of(model).backward(), loss_of(model))[-1])
    sched.step()
    print(epoch, f"{loss.item():.6f}", [f"{lr:.5f}" for lr in sched.get_last_lr()], opt.state[model[0].weight]["count"])
pre.remove()
opt.step()
print(trace[:2], len(trace), trace[-1], sorted(opt.state_dict()["state"].keys()), opt.state_dict()["state"][2])
try:
    torch.optim.Optimizer(model.parameters(), {}).step()
except NotImplementedError as e:
    print(type(e).__name__, repr(str(e)))
print(show_params(model))

# changing the lr by hand, and the old step(epoch) form
opt = torch.optim.SGD([w], lr=0.1)
for g in opt.param_groups:
    g["lr"] *= 0.5
print(opt.param_groups[0]["lr"], opt.state_dict()["param_groups"][0]["lr"])
sched = S.ExponentialLR(opt, gamma=0.5)
print(sched.get_last_lr(), sched.base_lrs, sched.last_epoch)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    opt.step()
    sched.step(4)
print(sched.get_last_lr(), [(c.category.__name__, str(c.message)[:80]) for c in caught])

# --- gradient clipping ---
def grads_for_clipping():
    a = nn.Parameter(torch.tensor([3.0, -4.0]))
    b = nn.Parameter(torch.tensor([[1.0, 2.0], [-2.0, 0.5]]))
    c = nn.Parameter(torch.ones(3))  # gets no gradient
    ((a * torch.tensor([1.0, 2.0])).sum() + (b ** 2).sum() * 0.5).backward()
    return [a, b, c]


for norm_type in (2, 2.0, 1, float("inf"), 3):
    params = grads_for_clipping()
    total = nn.utils.clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type)
    print(norm_type, total, [p.grad for p in params[:2]], params[2].grad)
params = grads_for_clipping()
print(nn.utils.clip_grad_norm_(params, max_norm=100.0), params[0].grad)
print(nn.utils.clip_grad_norm_(params[0], 0.5), params[0].grad)
print(nn.utils.clip_grad_norm_([params[2]], 1.0))
params = grads_for_clipping()
print(nn.utils.clip_grad_value_(params, clip_value=0.75), [p.grad for p in params[:2]])
params = grads_for_clipping()
params[1].grad[0, 0] = float("nan")
print(nn.utils.clip_grad_norm_(params, 1.0), params[0].grad)
params[0].grad[0] = float("inf")
try:
    nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
except RuntimeError as e:
    print(type(e).__name__, e)
print(nn.utils.clip_grad_norm_(params, 1.0, norm_type="inf"))
params = grads_for_clipping()
print(nn.utils.get_total_norm([p.grad for p in params[:2]], norm_type=1.0))
nn.utils.clip_grads_with_norm_(params, max_norm=1.0, total_norm=torch.tensor(10.0))
print(params[0].grad)
