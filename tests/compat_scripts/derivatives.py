"""Derivatives beyond .backward(): Jacobians, Hessians, vjp/jvp/hvp, torch.func transforms, higher-order
gradients by hand, hooks and in-place pitfalls, on small seeded functions."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp

torch.manual_seed(0)


def show(label, t):
    if isinstance(t, (tuple, list)):
        print(label, type(t).__name__, len(t))
        for i, x in enumerate(t):
            show(f"  [{i}]", x)
    elif isinstance(t, dict):
        print(label, "dict", sorted(t))
        for k in sorted(t):
            show(f"  [{k}]", t[k])
    elif isinstance(t, torch.Tensor):
        print(label, tuple(t.shape), t.dtype, t.requires_grad, [round(v, 4) for v in t.detach().reshape(-1).tolist()][:12])
    else:
        print(label, repr(t))


def attempt(label, fn):
    try:
        show(label, fn())
    except Exception as e:
        print(label, "!!", type(e).__name__, str(e).splitlines()[0][:160])


# -- torch.autograd.functional -------------------------------------------------------------------------
def poly(x):
    return x ** 3 - 2 * x ** 2 + x


def pair(x, y):
    return x * y.sum(), (x ** 2).sum() + y.exp().sum()


x = torch.randn(3)
y = torch.randn(2)
show("jacobian poly", jacobian(poly, x))
show("jacobian softmax", jacobian(lambda z: torch.softmax(z, 0), x))
show("jacobian vectorize", jacobian(lambda z: torch.softmax(z, 0), x, vectorize=True))
show("jacobian tuple in/out", jacobian(pair, (x, y)))
show("jacobian tuple in, one out", jacobian(lambda a, b: a * b[0], (x, y)))
show("jacobian one in, tuple out", jacobian(lambda a: (a.sin(), a.sum()), x))
show("jacobian scalar", jacobian(lambda a: (a ** 2).sum(), x))
show("jacobian forward-mode", jacobian(poly, x, vectorize=True, strategy="forward-mode"))
xr = x.clone().requires_grad_()
jc = jacobian(poly, xr, create_graph=True)
print("create_graph jac requires_grad", jc.requires_grad, jc.grad_fn is not None)
jc.trace().backward()
show("grad of trace of jacobian", xr.grad)
attempt("jacobian forward-mode no vectorize", lambda: jacobian(poly, x, strategy="forward-mode"))
attempt("jacobian bad strategy", lambda: jacobian(poly, x, strategy="sideways"))
attempt("jacobian non-tensor out", lambda: jacobian(lambda a: a.sum().item(), x))
attempt("jacobian non-tensor in", lambda: jacobian(poly, [1.0, 2.0]))
attempt("jacobian strict independent", lambda: jacobian(lambda a: torch.ones(2), x, strict=True))
show("jacobian non-strict independent", jacobian(lambda a: torch.ones(2), x))
attempt("jacobian strict detached", lambda: jacobian(lambda a: a.detach() * 2, x, strict=True))

def rosen(v):
    return (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2

p = torch.tensor([0.5, -0.25])
show("hessian rosenbrock", hessian(rosen, p))
show("hessian vectorize", hessian(rosen, p, vectorize=True))
show("hessian tuple", hessian(lambda a, b: (a * b.sum()).sum() + (a ** 3).sum(), (x, y)))
attempt("hessian non-scalar", lambda: hessian(poly, x))
v = torch.tensor([1.0, 2.0])
show("hvp", hvp(rosen, p, v))
show("vhp", vhp(rosen, p, v))
show("vjp poly", vjp(poly, x, torch.ones(3)))
show("vjp scalar no v", vjp(lambda a: (a ** 2).sum(), x))
attempt("vjp nonscalar no v", lambda: vjp(poly, x))
show("vjp tuple", vjp(pair, (x, y), (torch.ones(3), torch.tensor(2.0))))
show("jvp poly", jvp(poly, x, torch.ones(3)))
show("jvp tuple", jvp(pair, (x, y), (torch.ones(3), torch.ones(2))))
attempt("jvp wrong v shape", lambda: jvp(poly, x, torch.ones(2)))
attempt("hvp strict independent", lambda: hvp(lambda a: a.sum(), x, torch.ones(3), strict=True))
show("hvp linear non-strict", hvp(lambda a: a.sum(), x, torch.ones(3)))

# a tiny MLP's loss with respect to its weights
mlp = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
data, target = torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1])
w1, b1, w2, b2 = (t.detach() for t in mlp.parameters())

def mlp_loss(w1, b1, w2, b2):
    h = torch.tanh(data @ w1.t() + b1)
    return F.cross_entropy(h @ w2.t() + b2, target)

jac_w = jacobian(mlp_loss, (w1, b1, w2, b2))
print("mlp jacobian shapes", [tuple(j.shape) for j in jac_w])
hess_b2 = hessian(lambda b: mlp_loss(w1, b1, w2, b), b2)
show("mlp hessian wrt b2", hess_b2)
mlp(data).sum()
loss = F.cross_entropy(mlp(data), target)
loss.backward()
print("agrees with backward", torch.allclose(jac_w[0], mlp[0].weight.grad, atol=1e-6))

# -- torch.func ----------------------------------------------------------------------------------------
from torch.func import (functional_call, grad, grad_and_value, hessian as fhessian, jacfwd, jacrev,
                        stack_module_state, vjp as fvjp, jvp as fjvp, vmap)

show("func.grad sin", grad(torch.sin)(torch.tensor(0.5)))
show("grad of grad", grad(grad(lambda t: t ** 3))(torch.tensor(2.0)))
show("third", grad(grad(grad(lambda t: t.exp() * t)))(torch.tensor(1.0)))
show("grad argnums", grad(lambda a, b: (a * b).sum(), argnums=(0, 1))(x, x * 2))

def loss_aux(w, inp):
    out = inp @ w
    return (out ** 2).mean(), {"out": out, "norm": w.norm()}

wv = torch.randn(3)
g, (val, aux) = grad_and_value(loss_aux, has_aux=True)(wv, data)
show("grad_and_value grad", g)
show("grad_and_value value", val)
show("grad_and_value aux", aux)
attempt("grad non-scalar", lambda: grad(poly)(x))
attempt("grad has_aux not tuple", lambda: grad(lambda a: a.sum(), has_aux=True)(x))
attempt("grad bad argnums", lambda: grad(lambda a: a.sum(), argnums=2)(x))
out, fn = fvjp(poly, x)
show("func.vjp out", out)
show("func.vjp grads", fn(torch.ones(3)))
show("func.jvp", fjvp(poly, (x,), (torch.ones(3),)))
show("jacrev", jacrev(poly)(x))
show("jacfwd", jacfwd(poly)(x))
show("jacrev argnums", jacrev(pair, argnums=(0, 1))(x, y))
show("func.hessian", fhessian(rosen)(p))
show("jacfwd(jacrev)", jacfwd(jacrev(rosen))(p))
attempt("func.jvp primals not tuple", lambda: fjvp(poly, x, torch.ones(3)))

# vmap: per-sample gradients, in_dims/out_dims, nesting
show("vmap dot", vmap(torch.dot)(torch.randn(4, 3), torch.randn(4, 3)))
show("vmap in_dims", vmap(torch.mv, in_dims=(None, 0))(torch.randn(2, 3), torch.randn(5, 3)))
show("vmap in_dims 1", vmap(lambda a: a.sum(), in_dims=1)(torch.arange(6.0).view(2, 3)))
show("vmap out_dims 1", vmap(lambda a: a * 2, out_dims=1)(torch.arange(6.0).view(2, 3)))
show("nested vmap", vmap(vmap(lambda a, b: a * b, in_dims=(0, None)), in_dims=(None, 0))(torch.arange(3.0), torch.arange(2.0)))
show("vmap tuple out", vmap(lambda a: (a.sum(), a.max()))(torch.randn(3, 4)))
attempt("vmap size mismatch", lambda: vmap(torch.add)(torch.ones(2, 3), torch.ones(3, 3)))
attempt("vmap bad in_dim", lambda: vmap(torch.sum, in_dims=2)(torch.ones(2, 3)))

model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
params = {k: v.detach() for k, v in model.named_parameters()}
print("param keys", list(params))

def sample_loss(params, xs, ys):
    pred = functional_call(model, params, (xs.unsqueeze(0),))
    return F.mse_loss(pred.squeeze(), ys)

xs, ys = torch.randn(6, 3), torch.randn(6)
per_sample = vmap(grad(sample_loss), in_dims=(None, 0, 0))(params, xs, ys)
for k, gk in per_sample.items():
    print("per-sample grad", k, tuple(gk.shape), round(gk.sum().item(), 4))
mean_grad = grad(lambda p: F.mse_loss(functional_call(model, p, (xs,)).squeeze(), ys))(params)
print("mean of per-sample == batch grad",
      all(torch.allclose(per_sample[k].mean(0), mean_grad[k], atol=1e-6) for k in params))
zeros = {k: torch.zeros_like(v) for k, v in params.items()}
show("functional_call zeros", functional_call(model, zeros, (xs[:2],)))
show("model untouched", model[0].bias)

models = [nn.Linear(3, 2) for _ in range(4)]
ens_params, ens_buffers = stack_module_state(models)
print("stacked", {k: tuple(v.shape) for k, v in ens_params.items()}, ens_buffers)
print("stacked requires_grad", ens_params["weight"].requires_grad, ens_params["weight"].is_leaf)
base = nn.Linear(3, 2)

def run_one(p, b, inp):
    return functional_call(base, (p, b), (inp,))

ens_out = vmap(run_one, in_dims=(0, 0, None))(ens_params, ens_buffers, xs)
show("ensemble out", ens_out[:, :2])
print("ensemble matches loop", torch.allclose(ens_out, torch.stack([m(xs) for m in models]), atol=1e-6))

# -- higher-order gradients by hand ----------------------------------------------------------------------
for name, f in [("x**3", lambda t: t ** 3), ("sin", torch.sin), ("exp*x", lambda t: t.exp() * t),
                ("tanh", torch.tanh)]:
    t = torch.tensor(0.7, requires_grad=True)
    (d1,) = torch.autograd.grad(f(t), t, create_graph=True)
    (d2,) = torch.autograd.grad(d1, t, create_graph=True)
    (d3,) = torch.autograd.grad(d2, t)
    print(name, f"{d1.item():.5f} {d2.item():.5f} {d3.item():.5f}", d3.requires_grad)

# gradient penalty (WGAN-GP style)
critic = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
interp = torch.randn(4, 3, requires_grad=True)
score = critic(interp)
(gx,) = torch.autograd.grad(score, interp, grad_outputs=torch.ones_like(score), create_graph=True)
penalty = ((gx.norm(2, dim=1) - 1) ** 2).mean()
penalty.backward()
print("penalty", f"{penalty.item():.4f}", "critic grad", f"{critic[0].weight.grad.abs().sum().item():.4f}")

# Hessian-vector product by double backward
w = torch.randn(3, requires_grad=True)
f = (w ** 4).sum() + w.prod()
(gw,) = torch.autograd.grad(f, w, create_graph=True)
vec = torch.tensor([1.0, 0.0, -1.0])
(hv,) = torch.autograd.grad(gw, w, grad_outputs=vec)
show("double-backward Hv", hv)
show("matches hvp", hvp(lambda a: (a ** 4).sum() + a.prod(), w.detach(), vec)[1])

a = torch.ones(3, requires_grad=True)
b = torch.ones(2, requires_grad=True)
show("allow_unused", torch.autograd.grad((a * 2).sum(), [a, b], allow_unused=True))
show("materialize_grads", torch.autograd.grad((a * 2).sum(), [a, b], materialize_grads=True))
attempt("materialize without allow_unused", lambda: torch.autograd.grad((a * 2).sum(), [a, b], allow_unused=False,
                                                                        materialize_grads=True))
m = torch.arange(6.0).view(2, 3).requires_grad_()
out = m * 2
show("grad_outputs matrix", torch.autograd.grad(out, m, grad_outputs=torch.ones(2, 3) * 0.5))
attempt("grad_outputs wrong shape", lambda: torch.autograd.grad(m * 2, m, grad_outputs=torch.ones(3)))
attempt("grad_outputs wrong count", lambda: torch.autograd.grad([m.sum(), m.mean()], m, grad_outputs=[torch.tensor(1.0)]))
show("grad_outputs list", torch.autograd.grad([m.sum(), (m ** 2).sum()], m, grad_outputs=[torch.tensor(1.0), torch.tensor(0.5)]))
basis = torch.eye(3)
q = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
show("is_grads_batched jacobian", torch.autograd.grad(q ** 2, q, grad_outputs=basis, is_grads_batched=True))
show("is_grads_batched unused", torch.autograd.grad(q * 2, [q, b], basis, is_grads_batched=True, allow_unused=True))
show("is_grads_batched materialize", torch.autograd.grad(q * 2, [q, b], basis, is_grads_batched=True,
                                                         materialize_grads=True))
attempt("is_grads_batched wrong shape", lambda: torch.autograd.grad(q * 2, q, torch.ones(3), is_grads_batched=True))
attempt("is_grads_batched sizes", lambda: torch.autograd.grad([q * 2, q.sum()], q, [basis, torch.ones(2)],
                                                              is_grads_batched=True))
show("grad wrt dict", torch.autograd.grad((q * q).sum(), {"q": q}))
attempt("grad wrt nothing", lambda: torch.autograd.grad((q * q).sum(), []))
attempt("backward too few grads", lambda: torch.autograd.backward([q.sum(), q.mean()], [torch.tensor(1.0)]))
attempt("grad on non-requires-grad", lambda: torch.autograd.grad(torch.ones(2).sum(), torch.ones(2)))

r = torch.tensor([1.0, 2.0], requires_grad=True)
loss = (r.exp() * r).sum()
loss.backward()
attempt("second backward", lambda: loss.backward())

u = torch.tensor([1.0, 2.0], requires_grad=True)
k = torch.tensor([3.0, 4.0], requires_grad=True)
torch.autograd.backward((u * k).sum(), inputs=[u])
print("backward inputs=", u.grad, k.grad)
(u * k * k).sum().backward(inputs=[k])
print("backward inputs= again", u.grad, k.grad)

h = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
handle = h.register_hook(lambda g: g.clamp(min=0))
mid = h * torch.tensor([1.0, -1.0, 2.0])
mid.retain_grad()
mid2 = mid.exp()
mid2.retain_grad()
mid2.sum().backward()
show("clamped grad", h.grad)
show("mid grad", mid.grad)
show("mid2 grad", mid2.grad)
handle.remove()
doubled = torch.tensor([2.0], requires_grad=True)
doubled.register_hook(lambda g: g * 2)
doubled.register_hook(lambda g: print("  second hook sees", g))
(doubled ** 2).sum().backward()
show("hooks chained", doubled.grad)

# in-place modifications and the version counter
s = torch.tensor([0.5, 1.0], requires_grad=True)
e = s.exp()
print("version before", e._version)
e.mul_(2)
print("version after", e._version)
attempt("exp output modified", lambda: e.sum().backward())
s2 = s * 1
z = s2 ** 2
s2.add_(1)
attempt("pow input modified", lambda: z.sum().backward())
s3 = s * 1
z3 = s3 + 1
s3.mul_(3)
z3.sum().backward()
show("add input modified is fine", s.grad)
s.grad = None
s4 = s.clone()
s4[0] = 10.0
(s4 * s4).sum().backward()
show("grad after index assign", s.grad)
