# Autograd beyond .backward(): a custom Function, torch.autograd.grad with create_graph (second
# derivatives), hooks on tensors, retain_grad, grad-mode switches, gradcheck, anomaly detection.
import torch
from torch.autograd import Function, gradcheck, gradgradcheck


class Cube(Function):
    """x ** 3 with a hand-written backward; a flag argument to show needs_input_grad."""

    @staticmethod
    def forward(ctx, x, scale, flag):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return scale * x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        print("  Cube.backward needs_input_grad", ctx.needs_input_grad)
        grad_x = grad * 3 * ctx.scale * x ** 2 if ctx.needs_input_grad[0] else None
        return grad_x, None, None


class ClampedExp(Function):
    @staticmethod
    def forward(ctx, x):
        out = x.clamp(max=3).exp()
        ctx.save_for_backward(out, x)
        ctx.mark_non_differentiable()
        return out

    @staticmethod
    def backward(ctx, grad):
        out, x = ctx.saved_tensors
        return grad * out * (x <= 3)


class MulPair(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b, a + b

    @staticmethod
    def backward(ctx, grad_prod, grad_sum):
        a, b = ctx.saved_tensors
        return grad_prod * b + grad_sum, grad_prod * a + grad_sum


class BadShape(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad.sum(0)          # wrong: drops a dimension


x = torch.linspace(-1, 2, 6, requires_grad=True)
y = Cube.apply(x, 2.0, True)
print(y.grad_fn.__class__.__name__, y.requires_grad)
y.sum().backward()
print("dy/dx", x.grad)
print("matches 6x^2", torch.allclose(x.grad, 6 * x.detach() ** 2))
c = torch.tensor([0.5, 1.5], requires_grad=False)
print("no grad needed", Cube.apply(c, 1.0, False).requires_grad)

e = ClampedExp.apply(torch.tensor([1.0, 4.0], requires_grad=True))
e.sum().backward()
p, s = MulPair.apply(torch.tensor([2.0, 3.0], requires_grad=True), torch.tensor([4.0, 5.0], requires_grad=True))
print(p, s, p.grad_fn is s.grad_fn)

# gradcheck on float64
xd = torch.linspace(-1, 1, 5, dtype=torch.float64, requires_grad=True)
print("gradcheck Cube", gradcheck(lambda t: Cube.apply(t, 1.5, True), (xd,), eps=1e-6, atol=1e-4))
a = torch.linspace(0.5, 1.5, 3, dtype=torch.float64, requires_grad=True)
b = torch.linspace(-1, 1, 3, dtype=torch.float64, requires_grad=True)
print("gradcheck MulPair", gradcheck(MulPair.apply, (a, b)))
print("gradgradcheck tanh*sin", gradgradcheck(lambda t: t.tanh() * t.sin(), (xd,)))
try:
    gradcheck(lambda t: BadShape.apply(t), (torch.ones(2, 3, dtype=torch.float64, requires_grad=True),))
except RuntimeError as err:
    print("gradcheck RuntimeError:", str(err).splitlines()[0][:60])


class WrongGrad(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos() * 1.1


print("gradcheck wrong grad, raise_exception=False:",
      gradcheck(WrongGrad.apply, (xd,), raise_exception=False))
try:
    gradcheck(WrongGrad.apply, (xd,))
except Exception as err:  # torch.autograd.gradcheck.GradcheckError, a RuntimeError
    print(type(err).__name__, isinstance(err, RuntimeError), str(err).splitlines()[0])

# the engine names a backward that returns the wrong shape
bad_in = torch.ones(2, 3, requires_grad=True)
try:
    BadShape.apply(bad_in).sum().backward()
except RuntimeError as err:
    print("RuntimeError:", err)
with torch.autograd.detect_anomaly():
    try:
        BadShape.apply(bad_in).sum().backward()
    except RuntimeError as err:
        print("under detect_anomaly, RuntimeError:", err)
print("anomaly enabled outside:", torch.is_anomaly_enabled())
with torch.autograd.set_detect_anomaly(True):
    print("anomaly enabled inside:", torch.is_anomaly_enabled())
    z = torch.tensor([0.0, 1.0], requires_grad=True)
    try:
        (z.sqrt() * 0).sum().backward()         # 0 * inf = nan in sqrt's backward
        print("no error", z.grad)
    except RuntimeError as err:
        print("RuntimeError:", err)

# torch.autograd.grad, second derivatives
t = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
f = (t ** 3).sum() + (t.sin() * t).sum()
(g,) = torch.autograd.grad(f, t, create_graph=True)
print("first", g.detach(), g.requires_grad)
(h,) = torch.autograd.grad(g.sum(), t)
print("second", h, "expected", 6 * t.detach() + 2 * t.detach().cos() - t.detach() * t.detach().sin())
print("t.grad untouched by autograd.grad", t.grad)
u = torch.tensor(1.5, requires_grad=True)
v = u ** 4
(d1,) = torch.autograd.grad(v, u, create_graph=True)
(d2,) = torch.autograd.grad(d1, u, create_graph=True)
(d3,) = torch.autograd.grad(d2, u)
print("d/du u^4:", d1.item(), d2.item(), d3.item())
w = torch.ones(3, requires_grad=True)
unused = torch.ones(2, requires_grad=True)
gs = torch.autograd.grad((w * 2).sum(), [w, unused], allow_unused=True)
print(gs[0], gs[1])
try:
    torch.autograd.grad((w * 2).sum(), [w, unused])
except RuntimeError as err:
    print("RuntimeError:", err)
vec = torch.autograd.grad(w * torch.tensor([1.0, 2.0, 3.0]), w, grad_outputs=torch.tensor([1.0, 0.5, 0.25]))
print("vjp", vec[0])
try:
    torch.autograd.grad(w * 2, w)
except RuntimeError as err:
    print("RuntimeError:", err)
loss = (w * 3).sum()
torch.autograd.grad(loss, w, retain_graph=True)
print("retain_graph second call", torch.autograd.grad(loss, w)[0])
try:
    torch.autograd.grad(loss, w)
except RuntimeError as err:
    print("RuntimeError:", str(err).split(".")[0])

# hooks on tensors and retain_grad
seen = []
a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
h1 = a.register_hook(lambda g: seen.append(g.clone()))
h2 = a.register_hook(lambda g: g * 10)            # replaces the gradient
mid = a * a
mid.retain_grad()
mid_hook = mid.register_hook(lambda g: print("  mid hook got", g))
out = (mid * torch.tensor([1.0, -1.0, 0.5])).sum()
out.backward()
print("a.grad", a.grad, "seen", seen, "mid.grad", mid.grad)
print("retains_grad", mid.retains_grad, a.retains_grad, a.is_leaf, mid.is_leaf)
h2.remove()
a.grad = None
(a * a).sum().backward()
print("after remove", a.grad, len(seen))
nonleaf = a * 2
print("non-leaf .grad is None:", (nonleaf.sum().backward(), nonleaf.grad)[1])

# grad modes
base = torch.ones(2, requires_grad=True)
with torch.no_grad():
    n1 = base * 2
    with torch.enable_grad():
        n2 = base * 2
print(n1.requires_grad, n2.requires_grad, torch.is_grad_enabled())
with torch.set_grad_enabled(False):
    n3 = base * 2
print(n3.requires_grad, torch.is_grad_enabled())
torch.set_grad_enabled(False)
print(torch.is_grad_enabled(), (base * 2).requires_grad)
torch.set_grad_enabled(True)


@torch.no_grad()
def predict(t):
    return t * 3


print(predict(base).requires_grad, predict.__name__)
with torch.inference_mode():
    inf = base * 2
print(inf.requires_grad, torch.is_inference_mode_enabled())
try:
    base.add_(1)
except RuntimeError as err:
    print("RuntimeError:", err)
with torch.no_grad():
    base.add_(1)
print(base, base.requires_grad, base.grad_fn)

# detach vs detach_ vs data, and version counting on saved tensors
q = torch.tensor([1.0, 2.0], requires_grad=True)
r = q.exp()
r_det = r.detach()
print(r_det.requires_grad, r_det.data_ptr() == r.data_ptr())
s = q.sigmoid()
s.mul_(2)
try:
    s.sum().backward()
except RuntimeError as err:
    print("RuntimeError:", err)
m = q * 1
prod = m * m
m.add_(1)
try:
    prod.sum().backward()
except RuntimeError as err:
    print("RuntimeError:", err)


# a backward that passes nothing back: the custom Function before it still runs, on zeros
class Cut(Function):
    @staticmethod
    def forward(ctx, x):
        return x + 1

    @staticmethod
    def backward(ctx, grad):
        return None


leaf_in = torch.tensor([1.0, 2.0], requires_grad=True)
Cut.apply(Cube.apply(leaf_in, 1.0, True)).sum().backward()
print("grad through a cut custom chain", leaf_in.grad)
leaf_in = torch.tensor([1.0, 2.0], requires_grad=True)
Cut.apply(leaf_in.exp()).sum().backward()
print("grad through a cut built-in chain", leaf_in.grad)
