"""Grad modes and autograd plumbing as a course shows them: no_grad / enable_grad / set_grad_enabled /
inference_mode as context managers and decorators, inference tensors and their errors, anomaly detection,
saved-tensor hooks, checkpointing, jit on small functions, custom Functions' ctx options, gradient
accumulation and zeroing; seeded."""
import warnings

import torch
import torch.nn as nn
from torch.autograd import Function
from torch.autograd.function import once_differentiable
from torch.utils.checkpoint import checkpoint

torch.manual_seed(0)


def attempt(label, fn):
    try:
        print(label, "->", fn())
    except Exception as e:
        print(label, "!!", type(e).__name__, str(e).splitlines()[0][:200])


def modes():
    return torch.is_grad_enabled(), torch.is_inference_mode_enabled()


x = torch.randn(3, requires_grad=True)

# -- context managers, nested ---------------------------------------------------------------------------
print("start", modes())
with torch.no_grad():
    print("no_grad", modes(), (x * 2).requires_grad)
    with torch.enable_grad():
        print(" enable_grad inside no_grad", modes(), (x * 2).requires_grad)
        with torch.set_grad_enabled(False):
            print("  set_grad_enabled(False)", modes(), (x * 2).requires_grad)
        print(" back", modes())
    print("back to no_grad", modes())
with torch.inference_mode():
    print("inference_mode", modes(), (x * 2).requires_grad)
    with torch.enable_grad():
        y = x * 2
        print(" enable_grad inside inference_mode", modes(), y.requires_grad, y.is_inference())
    with torch.inference_mode(False):
        z = x * 2
        print(" inference_mode(False)", modes(), z.requires_grad, z.is_inference())
with torch.inference_mode(mode=False):
    print("inference_mode(mode=False)", modes())
with torch.no_grad(), torch.inference_mode():
    print("no_grad + inference_mode", modes())
print("after", modes())
prev = torch.is_grad_enabled()
torch.set_grad_enabled(False)
print("set_grad_enabled as a call", modes(), (x * 2).requires_grad)
torch.set_grad_enabled(prev)
print("restored", modes())
try:
    with torch.no_grad():
        raise ValueError("boom")
except ValueError as e:
    print("exception inside no_grad:", e, modes())


# -- decorators: functions, methods, generators --------------------------------------------------------
@torch.no_grad()
def double(t):
    """Doubles without a graph."""
    return t * 2, torch.is_grad_enabled()


@torch.enable_grad()
def square_with_grad(t):
    return t * t


@torch.inference_mode()
def infer(t):
    return t + 1


@torch.set_grad_enabled(False)
def off(t):
    return t * 3


print("decorated no_grad", double(x)[0].requires_grad, double(x)[1], double.__name__, double.__doc__)
with torch.no_grad():
    print("enable_grad decorator in no_grad", square_with_grad(x).requires_grad)
r = infer(x)
print("inference decorator", r.requires_grad, r.is_inference(), torch.is_inference_mode_enabled())
print("set_grad_enabled decorator", off(x).requires_grad, torch.is_grad_enabled())


@torch.no_grad
def bare(t):
    return t * 5


@torch.enable_grad
def bare_on(t):
    return t * 5


@torch.inference_mode
def bare_inf(t):
    return t * 5


print("bare no_grad decorator", bare(x).requires_grad, bare.__name__)
with torch.no_grad():
    print("bare enable_grad decorator", bare_on(x).requires_grad, bare_on.__name__)
print("bare inference_mode decorator", bare_inf(x).is_inference(), bare_inf.__name__)
attempt("set_grad_enabled with an int", lambda: torch.set_grad_enabled(1))
print("still", modes())


class Scaler(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))

    def forward(self, t):
        return t * self.w

    @torch.no_grad()
    def predict(self, t):
        return self.forward(t), torch.is_grad_enabled()


s = Scaler()
out, mode_inside = s.predict(x)
print("method decorated", out.requires_grad, mode_inside, s(x).requires_grad)


@torch.no_grad()
def gen(n):
    for i in range(n):
        yield i, torch.is_grad_enabled(), (x * i).requires_grad


g = gen(2)
print("generator first", next(g), torch.is_grad_enabled())
print("between yields", (x * 2).requires_grad)
print("generator second", next(g))
print("generator list", list(gen(2)))

# -- inference tensors ------------------------------------------------------------------------------------
with torch.inference_mode():
    inf = torch.ones(3)
    inf_view = inf[:2]
    inf.add_(1)
    print("in-place inside inference_mode ok", inf, inf.is_inference(), inf_view.is_inference())
normal = torch.ones(3)
print("normal is_inference", normal.is_inference(), normal.detach().is_inference())
attempt("in-place on inference tensor", lambda: inf.add_(1))
attempt("setitem on inference tensor", lambda: inf.__setitem__(0, 5.0))
attempt("requires_grad_ on inference tensor", lambda: inf.requires_grad_())
attempt("inference tensor saved for backward", lambda: (x * inf).sum().backward())
attempt("inference tensor in add (not saved)", lambda: (x + inf).sum().backward() or x.grad)
x.grad = None
with torch.inference_mode():
    inf = torch.full((3,), 2.0)
attempt("clone is normal", lambda: (inf.clone().is_inference(), inf.clone().add_(1)))
attempt("out-of-place on inference tensor", lambda: ((inf * 2).is_inference(), inf * 2))
attempt("detach of inference tensor, in place", lambda: (inf.detach().is_inference(), inf.detach().mul_(1)))
with torch.inference_mode():
    lin = nn.Linear(3, 2)
attempt("Linear made in inference_mode, trained", lambda: lin(torch.randn(4, 3)).sum().backward())
attempt("its weight", lambda: (lin.weight.is_inference(), lin.weight.requires_grad))
with torch.no_grad():
    lin2 = nn.Linear(3, 2)
print("Linear made in no_grad", lin2.weight.is_inference(), lin2.weight.requires_grad)

# -- requires_grad_, detach_, non-leaf ---------------------------------------------------------------------
a = torch.randn(3, requires_grad=True)
b = a * 2
attempt("requires_grad_(False) on non-leaf", lambda: b.requires_grad_(False))
attempt("requires_grad_(True) on non-leaf", lambda: (b.requires_grad_(True).requires_grad, b.is_leaf))
attempt("requires_grad_ on int tensor", lambda: torch.arange(3).requires_grad_())
attempt("requires_grad= on int tensor", lambda: torch.tensor([1, 2], requires_grad=True))
c = a * 3
c.detach_()
print("detach_", c.requires_grad, c.is_leaf, c.grad_fn)
v = (a * 1)[:2]
attempt("detach_ on a view", lambda: v.detach_())
d = a.detach()
d[0] = 100.0
print("detach shares memory", round(a[0].item(), 1))
leaf = torch.zeros(2)
leaf.requires_grad_()
print("leaf requires_grad_", leaf.requires_grad, leaf.is_leaf)

# -- grad accumulation and zeroing ------------------------------------------------------------------------
w = torch.tensor([1.0, 2.0], requires_grad=True)
(w * w).sum().backward()
print("first backward", w.grad)
(w * 3).sum().backward()
print("accumulated", w.grad)
model = nn.Linear(2, 1)
model(torch.ones(1, 2)).sum().backward()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
opt.zero_grad(set_to_none=False)
print("set_to_none=False", model.weight.grad, model.bias.grad)
model.zero_grad(set_to_none=True)
print("set_to_none=True", model.weight.grad, model.bias.grad)
model(torch.ones(1, 2)).sum().backward()
model.zero_grad()
print("zero_grad default", model.weight.grad)
attempt("step with no grads", lambda: (opt.step(), model.bias.data.shape)[1])

# -- torch.autograd.grad with allow_unused / materialize_grads -------------------------------------------
p, q = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0], requires_grad=True)
print("allow_unused", torch.autograd.grad((p ** 2).sum(), (p, q), allow_unused=True))
print("materialize_grads", torch.autograd.grad((p ** 2).sum(), (p, q), materialize_grads=True))
attempt("materialize_grads with allow_unused=False",
        lambda: torch.autograd.grad((p ** 2).sum(), (p, q), allow_unused=False, materialize_grads=True))
attempt("grad of a tensor without grad", lambda: torch.autograd.grad(torch.ones(2).sum(), p))
attempt("grad w.r.t. a tensor without grad", lambda: torch.autograd.grad((p ** 2).sum(), torch.ones(2)))
print("p.grad untouched", p.grad)


# -- custom Functions: ctx options -----------------------------------------------------------------------
class SortWithIndex(Function):
    @staticmethod
    def forward(ctx, t):
        values, idx = t.sort()
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        return values, idx

    @staticmethod
    def backward(ctx, grad_values, grad_idx):
        (idx,) = ctx.saved_tensors
        print("  grad_idx is", grad_idx if grad_idx is None else tuple(grad_idx.shape))
        out = torch.zeros_like(grad_values)
        out[idx] = grad_values
        return out


class TwoOut(Function):
    @staticmethod
    def forward(ctx, t, materialize):
        ctx.set_materialize_grads(materialize)
        return t * 2, t * 3

    @staticmethod
    @once_differentiable
    def backward(ctx, g1, g2):
        print("  TwoOut got", g1 if g1 is None else g1.tolist(), g2 if g2 is None else g2.tolist(),
              torch.is_grad_enabled())
        total = 0
        if g1 is not None:
            total = total + 2 * g1
        if g2 is not None:
            total = total + 3 * g2
        return total, None


t = torch.tensor([3.0, 1.0, 2.0], requires_grad=True)
vals, idx = SortWithIndex.apply(t)
print("sorted", vals, idx, vals.requires_grad, idx.requires_grad)
(vals * torch.tensor([1.0, 10.0, 100.0])).sum().backward()
print("grad through sort", t.grad)
for mat in (True, False):
    t.grad = None
    o1, o2 = TwoOut.apply(t, mat)
    o1.sum().backward()
    print("materialize", mat, t.grad)
t.grad = None
o1, o2 = TwoOut.apply(t, True)
gg = torch.autograd.grad(o1.sum(), t, create_graph=True)[0]
print("once_differentiable result requires_grad", gg.requires_grad)
attempt("double backward through once_differentiable", lambda: gg.sum().backward())

# -- anomaly detection ----------------------------------------------------------------------------------
print("anomaly", torch.is_anomaly_enabled())
with torch.autograd.set_detect_anomaly(True):
    print("inside", torch.is_anomaly_enabled())
    zz = torch.tensor([0.0, 4.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        attempt("nan in backward", lambda: (zz.sqrt() * torch.tensor([0.0, 1.0])).sum().backward())
    print("warned:", [str(c.message).splitlines()[0] for c in caught])
print("after", torch.is_anomaly_enabled())
zz.grad = None
(zz.sqrt() * torch.tensor([0.0, 1.0])).sum().backward()
print("without anomaly", zz.grad)

# -- saved tensor hooks --------------------------------------------------------------------------------
calls = {"pack": 0, "unpack": 0}


def pack(t):
    calls["pack"] += 1
    return t.clone()


def unpack(t):
    calls["unpack"] += 1
    return t


h1, h2 = torch.randn(3, requires_grad=True), torch.randn(3, requires_grad=True)
with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
    prod = h1 * h2
    print("after mul", calls)
    e = prod.sin()
    print("after sin", calls)
    ex = prod.exp()
    print("after exp", calls)
    tot = (e + ex).sum()
    print("after add/sum", calls)
tot.backward()
print("after backward", calls)
print("grads", [round(v, 4) for v in h1.grad.tolist()])
calls.update(pack=0, unpack=0)
with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
    with torch.no_grad():
        _ = h1 * h2
print("under no_grad", calls)
with torch.autograd.graph.save_on_cpu():
    r = (h1 * h2 * h1).sum()
r.backward()
print("save_on_cpu grads", [round(v, 4) for v in h1.grad.tolist()])

calls.update(pack=0, unpack=0)
with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
    outer_y = h1.sin()
    with torch.autograd.graph.saved_tensors_hooks(lambda t: print("  inner pack", tuple(t.shape)) or t.detach(),
                                                  lambda t: t):
        inner_y = h2.cos()
    print("nested: outer calls", calls)
    sorted_vals, _ = SortWithIndex.apply(h1)
print("custom Function saves", calls)
(outer_y.sum() + inner_y.sum() + sorted_vals.sum()).backward()
print("after nested backward", calls)
with torch.autograd.graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda t: t):
    sq = h1.sin()
    first = torch.autograd.grad(sq.sum(), h1, create_graph=True)[0]
print("double backward through hooks", [round(v, 4) for v in torch.autograd.grad(first.sum(), h1)[0].tolist()])
with torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 3):
    bad = h1.sin()
attempt("unpack returns an int", lambda: bad.sum().backward())
base_t = h1 * 1
with torch.autograd.graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda t: t):
    prod2 = base_t * base_t
base_t.add_(1)
attempt("in-place after packing a copy", lambda: torch.autograd.grad(prod2.sum(), h1)[0].shape)
prod3 = base_t * base_t
base_t.add_(1)
attempt("in-place without hooks", lambda: torch.autograd.grad(prod3.sum(), h1)[0].shape)

# -- checkpoint ----------------------------------------------------------------------------------------
torch.manual_seed(1)
net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
inp = torch.randn(5, 4, requires_grad=True)
net(inp).pow(2).sum().backward()
plain = [p.grad.clone() for p in net.parameters()] + [inp.grad.clone()]
net.zero_grad()
inp.grad = None
ck = checkpoint(net, inp, use_reentrant=False)
print("checkpoint out", ck.shape, ck.requires_grad, ck.grad_fn is not None)
ck.pow(2).sum().backward()
again = [p.grad for p in net.parameters()] + [inp.grad]
print("checkpoint same grads", all(torch.allclose(u, v) for u, v in zip(plain, again)))
print("grad of input", [round(v, 4) for v in inp.grad[0].tolist()])
with torch.no_grad():
    print("checkpoint under no_grad", checkpoint(net, inp, use_reentrant=False).requires_grad)

# -- jit on small things --------------------------------------------------------------------------------


@torch.jit.script
def scaled_relu(t, k: float):
    return torch.relu(t) * k


traced = torch.jit.trace(nn.Linear(3, 2), torch.randn(1, 3))
print("script fn", scaled_relu(torch.tensor([-1.0, 2.0]), 1.5))
print("traced out shape", traced(torch.randn(4, 3)).shape)
scripted = torch.jit.script(nn.Sequential(nn.Linear(3, 3), nn.ReLU()))
print("scripted out", scripted(torch.zeros(2, 3)).shape, torch.jit.is_scripting())
