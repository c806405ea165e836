"""Autograd as students meet it: manual SGD, in-place pitfalls and the errors they raise, seeded."""
import torch

torch.manual_seed(0)

def attempt(label, fn):
    try:
        out = fn()
        print(label, "->", out)
    except Exception as e:
        print(label, "!!", type(e).__name__, str(e).splitlines()[0][:150])

# manual SGD as in the lecture
w = torch.randn(3, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
x, y = torch.randn(8, 3), torch.randn(8)
for step in range(3):
    loss = ((x @ w + b - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        b -= 0.1 * b.grad
    w.grad.zero_()
    b.grad.zero_()
    print(step, round(loss.item(), 5), w.data)
w.data.mul_(0.5)
print(w, w.data.requires_grad, w.detach().requires_grad)

def modified_saved():
    a = torch.ones(3, requires_grad=True)
    b = a.exp()
    b.add_(1)
    b.sum().backward()
attempt("exp saved output modified", modified_saved)
def sigmoid_inplace():
    a = torch.ones(3, requires_grad=True) * 2
    s = a.sigmoid()
    a.mul_(2)
    (s * a).sum().backward()
    return "ok"
attempt("sigmoid input modified", sigmoid_inplace)
def mul_inplace_input():
    a = torch.ones(3, requires_grad=True)
    c = a * 2
    d = c * c
    c.add_(1)
    d.sum().backward()
attempt("mul input modified", mul_inplace_input)
attempt("leaf requires_grad inplace", lambda: torch.ones(2, requires_grad=True).mul_(2))
attempt("requires_grad on non-leaf", lambda: (torch.ones(2, requires_grad=True) * 2).requires_grad_(False))
def twice():
    a = torch.ones(2, requires_grad=True)
    l = (a * a).sum()
    l.backward()
    l.backward()
attempt("backward twice", twice)
def grad_of_unused():
    a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    return torch.autograd.grad((a * 2).sum(), [a, b])
attempt("unused input", grad_of_unused)
def grad_of_unused_allowed():
    a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    return torch.autograd.grad((a * 2).sum(), [a, b], allow_unused=True)
attempt("unused allowed", grad_of_unused_allowed)
def nonscalar():
    a = torch.ones(2, requires_grad=True)
    (a * 3).backward(torch.tensor([1.0, 0.5]))
    return a.grad
attempt("nonscalar with gradient", nonscalar)
attempt("nonscalar without", lambda: (torch.ones(2, requires_grad=True) * 3).backward())
attempt("no grad_fn", lambda: torch.ones(2).sum().backward())
def accumulate():
    a = torch.ones(2, requires_grad=True)
    (a * 2).sum().backward()
    (a * 3).sum().backward()
    return a.grad
attempt("accumulate", accumulate)
def retain():
    a = torch.ones(2, requires_grad=True)
    l = (a.exp()).sum()
    l.backward(retain_graph=True)
    l.backward()
    return a.grad
attempt("retain graph", retain)
def nograd_view():
    a = torch.ones(3, requires_grad=True)
    with torch.no_grad():
        v = a[:2]
    v.mul_(2)
attempt("no_grad view inplace", nograd_view)
def hooks():
    a = torch.ones(2, requires_grad=True)
    h = a.register_hook(lambda g: g * 10)
    (a * 2).sum().backward()
    h.remove()
    (a * 2).sum().backward()
    return a.grad
attempt("hook then removed", hooks)
attempt("item of grad none", lambda: torch.ones(2, requires_grad=True).grad)
attempt("grad of non-leaf", lambda: ((torch.ones(2, requires_grad=True) * 2).sum(), None)[1])
def nonleaf_grad_warning():
    a = torch.ones(2, requires_grad=True)
    b = a * 2
    b.sum().backward()
    import warnings
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        g = b.grad
    return g, [str(x.message)[:60] for x in w]
attempt("non-leaf .grad", nonleaf_grad_warning)
attempt("detach inplace shares", lambda: (lambda a: (a.detach().zero_(), a)[1])(torch.ones(2, requires_grad=True)))
attempt("numel/ndim", lambda: (torch.ones(2, 3).numel(), torch.ones(2, 3).ndim, len(torch.ones(4, 2))))
