"""EE-559 lectures 2, 3 and 5: k-means, k-NN, PCA, regression, perceptron, LDA, logistic regression,
penalties and initialisations, written with tensors as the course does, seeded."""
import math

import torch
from torch import nn


def r(t, d=4):
    """Rounded list of a float tensor: long computations may differ by an ulp."""
    return [round(v, d) + 0.0 for v in t.flatten().tolist()]     # + 0.0: no -0.0 from rounding noise


def attempt(label, fn):
    try:
        print(label, "->", fn())
    except Exception as e:      # the message is part of what is compared
        print(label, "!!", type(e).__name__, str(e).splitlines()[0])


torch.manual_seed(0)

# --- k-means on 2-D blobs ---
centres = torch.tensor([[0., 0.], [3., 3.], [-3., 3.]])
labels_true = torch.arange(3).repeat_interleave(20)
x = centres[labels_true] + 0.5 * torch.randn(60, 2)
print(x.shape, x.dtype, labels_true.bincount())
k = 3
c = x[torch.randperm(x.size(0))[:k]].clone()
for it in range(10):
    d = torch.cdist(x, c)                                      # (60, 3)
    assign = d.argmin(1)
    counts = torch.bincount(assign, minlength=k)
    sums = torch.zeros(k, 2).index_add_(0, assign, x)
    sums2 = torch.zeros(k, 2).scatter_add_(0, assign[:, None].expand(-1, 2), x)
    c = sums / counts[:, None].clamp(min=1)
print(d.shape, assign.dtype, counts, torch.allclose(sums, sums2))
print("centres", r(c.sort(0).values, 3), "inertia", f"{d.min(1).values.pow(2).sum().item():.3f}")
print(torch.cdist(torch.tensor([[0., 0.], [1., 1.]]), torch.tensor([[3., 4.]])),
      torch.cdist(torch.tensor([[0., 0.]]), torch.tensor([[3., 4.]]), p=1))
attempt("cdist dims", lambda: torch.cdist(torch.ones(2, 3), torch.ones(2, 4)))

# --- k-NN classification ---
train_x, train_y = x[::2], labels_true[::2]
test_x, test_y = x[1::2], labels_true[1::2]
dist = torch.cdist(test_x, train_x)
knn = dist.topk(5, dim=1, largest=False)
votes = train_y[knn.indices]
pred = votes.mode(1).values
print(knn.indices.shape, votes.dtype, pred[:10], (pred == test_y).float().mean())
print(torch.mode(torch.tensor([[1, 2, 2, 1], [3, 3, 1, 1]]), 1))

# --- PCA and whitening ---
z = torch.randn(200, 3) @ torch.tensor([[2., 0., 0.], [1., 1., 0.], [0., 0., 0.2]])
mu = z.mean(0, keepdim=True)
zc = z - mu
cov = zc.t() @ zc / (zc.size(0) - 1)
print(mu.shape, torch.allclose(cov, torch.cov(z.t()), atol=1e-5))
evals, evecs = torch.linalg.eigh(cov)
print(evals.dtype, evecs.shape, r(evals.flip(0), 3), r((evals / evals.sum()).flip(0), 3))


def signs(v):
    """Eigenvectors are defined up to sign: make each column's largest entry positive."""
    idx = v.abs().argmax(0)
    return v * v.gather(0, idx[None]).sign()


print("eigh", r(signs(evecs.flip(1)), 3))
U, S, V = torch.svd(zc)
print(U.shape, S.shape, V.shape, r(S.pow(2) / (zc.size(0) - 1), 3), r(signs(V), 3))
U2, S2, Vh = torch.linalg.svd(zc, full_matrices=False)
print(U2.shape, Vh.shape, torch.allclose(S, S2), torch.linalg.svd(zc).U.shape, torch.linalg.svdvals(zc).shape)
print("explained", r(S2.pow(2).cumsum(0) / S2.pow(2).sum(), 3))
Ul, Sl, Vl = torch.pca_lowrank(z, q=2, center=True)
print(Ul.shape, Sl.shape, Vl.shape, r(Sl, 1), r(signs(Vl), 2))
proj = zc @ signs(Vh.t())[:, :2]
print(proj.shape, r(proj.var(0), 3))
white = zc @ evecs / evals.sqrt()
print("white cov", r(torch.cov(white.t()), 3))

# --- polynomial regression, bias / variance ---
n = 30
t = torch.linspace(-1, 1, n)
y = torch.sin(3 * t) + 0.1 * torch.randn(n)
perm = torch.randperm(n)
tr_idx, te_idx = perm[:20], perm[20:]
print(perm.dtype, tr_idx[:5])
for degree in [1, 3, 9]:
    X = t[:, None].pow(torch.arange(degree + 1))               # (n, degree + 1)
    sol = torch.linalg.lstsq(X[tr_idx], y[tr_idx, None])
    w = sol.solution
    err_tr = (X[tr_idx] @ w - y[tr_idx, None]).pow(2).mean()
    err_te = (X[te_idx] @ w - y[te_idx, None]).pow(2).mean()
    print(degree, X.shape, w.shape, f"{err_tr.item():.4f} {err_te.item():.4f}")
V4 = torch.vander(t[:4], N=3)
print(V4, torch.vander(torch.tensor([1, 2, 3]), increasing=True))
X = torch.vander(t, N=6, increasing=True)
for lam in [0.0, 1e-2, 1.0]:
    A = X.t() @ X + lam * torch.eye(X.size(1))
    w = torch.linalg.solve(A, X.t() @ y)
    print("ridge", lam, f"{w.norm().item():.3f}", f"{(X @ w - y).pow(2).mean().item():.4f}")
attempt("solve shapes", lambda: torch.linalg.solve(torch.eye(3), torch.ones(4)))
attempt("lstsq rows", lambda: torch.linalg.lstsq(torch.ones(3, 2), torch.ones(4, 1)))

# cross-validation folds and normalisation
folds = torch.randperm(n).chunk(4)
print([f.numel() for f in folds], [s.tolist() for s in torch.arange(7).split(3)])
for i, val in enumerate(folds[:2]):
    train = torch.cat([f for j, f in enumerate(folds) if j != i])
    print(i, train.numel(), val.numel(), torch.isin(val, train).any().item())
data = torch.randn(10, 4) * torch.tensor([1., 10., 100., 0.1]) + 5
m, s = data.mean(0, keepdim=True), data.std(0, keepdim=True)
normed = (data - m) / s
print(m.shape, s.shape, r(normed.mean(0), 3), r(normed.std(0), 3), r(data.std(0, unbiased=False), 3))

# --- perceptron in pure tensors ---
xa = torch.cat([torch.randn(20, 2) + 2, torch.randn(20, 2) - 2])
ya = torch.cat([torch.ones(20), -torch.ones(20)])
w, b = torch.zeros(2), torch.zeros(())
for epoch in range(10):
    mistakes = 0
    for i in range(xa.size(0)):
        if ya[i] * (xa[i] @ w + b) <= 0:
            w, b = w + ya[i] * xa[i], b + ya[i]
            mistakes += 1
    if mistakes == 0:
        break
print("perceptron", epoch, r(w, 3), f"{b.item():.1f}", ((xa @ w + b).sign() == ya).float().mean().item())

# --- LDA with a shared covariance ---
m0, m1 = xa[ya > 0].mean(0), xa[ya < 0].mean(0)
c0, c1 = xa[ya > 0] - m0, xa[ya < 0] - m1
sigma = (c0.t() @ c0 + c1.t() @ c1) / (xa.size(0) - 2)
inv = torch.inverse(sigma)
print(torch.allclose(inv, torch.linalg.inv(sigma)), f"{torch.logdet(sigma).item():.4f}", torch.slogdet(sigma).sign)
sl = torch.linalg.slogdet(sigma)
print(type(sl).__name__, f"{sl.logabsdet.item():.4f}", f"{torch.det(sigma).log().item():.4f}")
wl = inv @ (m0 - m1)
bl = -0.5 * (m0 @ inv @ m0 - m1 @ inv @ m1)
print("lda", r(wl, 3), f"{bl.item():.3f}", ((xa @ wl + bl > 0).float() * 2 - 1 == ya).all().item())
print(torch.logdet(torch.tensor([[1., 2.], [2., 1.]])), torch.linalg.slogdet(torch.tensor([[1., 2.], [2., 1.]])))
attempt("inv singular", lambda: torch.linalg.inv(torch.ones(2, 2)))
attempt("inv non-square", lambda: torch.inverse(torch.ones(2, 3)))

# --- logistic regression by hand ---
yb = (ya > 0).float()
w = torch.zeros(2, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
for step in range(50):
    p = torch.sigmoid(xa @ w + b)
    loss = -(yb * p.log() + (1 - yb) * (1 - p).log()).mean()
    if w.grad is not None:
        w.grad.zero_()
        b.grad.zero_()
    loss.backward()
    with torch.no_grad():
        w -= 0.5 * w.grad
        b.sub_(0.5 * b.grad)
print("logreg", f"{loss.item():.4f}", r(w.detach(), 3), w.requires_grad, w.is_leaf, b.grad.shape)
bce = nn.functional.binary_cross_entropy(torch.sigmoid(xa @ w + b), yb)
print(f"{bce.item():.4f}", bce.grad_fn is not None)

# --- lecture 5: penalties and weight decay ---
torch.manual_seed(1)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
inp, tgt = torch.randn(16, 4), torch.randn(16, 1)
l1 = sum(p.abs().sum() for p in model.parameters())
l2 = sum(p.pow(2).sum() for p in model.parameters())
print(type(l1).__name__, l1.shape, f"{l1.item():.4f} {l2.item():.4f}", l1.grad_fn.name())
for opt_cls, kw in [(torch.optim.SGD, {"lr": 0.1, "weight_decay": 0.01}), (torch.optim.Adam, {"lr": 0.01, "weight_decay": 0.01})]:
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = opt_cls(net.parameters(), **kw)
    for _ in range(20):
        opt.zero_grad()
        loss = nn.functional.mse_loss(net(inp), tgt) + 1e-3 * sum(p.abs().sum() for p in net.parameters())
        loss.backward()
        opt.step()
    print(opt_cls.__name__, f"{loss.item():.4f}", opt.defaults["weight_decay"], net[0].weight.grad.shape)

# --- nn.init under a seed ---
torch.manual_seed(3)
w = torch.empty(64, 32)
print([round(nn.init.calculate_gain(nl), 4) for nl in ["linear", "relu", "tanh", "sigmoid", "selu"]],
      round(nn.init.calculate_gain("leaky_relu", 0.2), 4))
for name, fn in [("xavier_uniform", lambda: nn.init.xavier_uniform_(w)),
                 ("xavier_normal", lambda: nn.init.xavier_normal_(w, gain=nn.init.calculate_gain("tanh"))),
                 ("kaiming_normal_in", lambda: nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")),
                 ("kaiming_normal_out", lambda: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="leaky_relu")),
                 ("kaiming_uniform", lambda: nn.init.kaiming_uniform_(w, a=math.sqrt(5))),
                 ("orthogonal", lambda: nn.init.orthogonal_(w)),
                 ("trunc_normal", lambda: nn.init.trunc_normal_(w, std=0.5, a=-1.0, b=1.0)),
                 ("normal", lambda: nn.init.normal_(w, 0.0, 0.02)),
                 ("uniform", lambda: nn.init.uniform_(w, -0.1, 0.1))]:
    out = fn()
    print(name, out is w, f"{w.mean().item():.4f} {w.std().item():.4f} {w.abs().max().item():.4f}", r(w[0, :3]))
print(r(w.t()[:2, :2]), nn.init.zeros_(torch.empty(3)), nn.init.constant_(torch.empty(2, 2), 0.3))
q = nn.init.orthogonal_(torch.empty(4, 6))
print(torch.allclose(q @ q.t(), torch.eye(4), atol=1e-5), nn.init.eye_(torch.empty(2, 3)), nn.init.ones_(torch.empty(2)))
attempt("xavier 1-d", lambda: nn.init.xavier_uniform_(torch.empty(5)))
attempt("bad mode", lambda: nn.init.kaiming_normal_(torch.empty(2, 2), mode="fan"))
attempt("bad gain", lambda: nn.init.calculate_gain("swish"))

# activations through a deep stack under different inits
for init_name in ["normal1", "xavier", "kaiming"]:
    torch.manual_seed(4)
    h = torch.randn(256, 100)
    stds = []
    for layer in range(10):
        lin = nn.Linear(100, 100, bias=False)
        with torch.no_grad():
            if init_name == "normal1":
                lin.weight.normal_(0, 1)
            elif init_name == "xavier":
                nn.init.xavier_normal_(lin.weight)
            else:
                nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
            h = torch.relu(lin(h))
        stds.append(h.std().item())
    print(init_name, [f"{s:.3g}" for s in stds[::3]])

# --- histograms, quantiles, grids ---
v = torch.randn(1000)
print(torch.histc(v, bins=5), torch.histc(v, bins=4, min=-1, max=1), torch.histc(torch.tensor([1., 2., 1.]), bins=4))
edges = torch.tensor([-1., 0., 1.])
print(torch.bucketize(torch.tensor([-2., -1., 0.5, 1., 3.]), edges), torch.bucketize(torch.tensor([-1., 1.]), edges, right=True))
print(torch.searchsorted(edges, torch.tensor([0., 2.])), torch.bucketize(torch.tensor([[0.1], [5.]]), edges, out_int32=True))
print(r(torch.quantile(v, torch.tensor([0.1, 0.5, 0.9]))), torch.quantile(torch.arange(5.), 0.3, interpolation="lower"))
print(torch.quantile(torch.tensor([[1., 2., 3.], [6., 5., 4.]]), 0.5, dim=1, keepdim=True),
      torch.nanquantile(torch.tensor([1., float("nan"), 3.]), 0.5))
print(torch.median(torch.tensor([3., 1., 2., 4.])), torch.tensor([[3., 1.], [2., 4.]]).median(0), torch.tensor([1., 4.]).nanmedian())
print(torch.kthvalue(torch.tensor([5., 1., 4., 2.]), 2), torch.tensor([[5., 1.], [4., 2.]]).kthvalue(1, dim=0, keepdim=True))
vals, inv_idx, cnt = torch.unique(torch.tensor([3, 1, 3, 2, 1, 3]), return_inverse=True, return_counts=True)
print(vals, inv_idx, cnt, torch.unique(torch.tensor([[1, 2], [1, 2], [0, 1]]), dim=0))
print(torch.unique_consecutive(torch.tensor([1, 1, 2, 2, 1]), return_counts=True), torch.unique(torch.tensor([2., 1.]), sorted=False).sort().values)
attempt("quantile q", lambda: torch.quantile(torch.arange(3.), 1.5))
attempt("quantile int", lambda: torch.quantile(torch.arange(3), 0.5))
attempt("kthvalue k", lambda: torch.kthvalue(torch.arange(3.), 5))
attempt("histc int", lambda: torch.histc(torch.arange(3), bins=3))
gx, gy = torch.meshgrid(torch.linspace(-1, 1, 3), torch.linspace(0, 1, 2), indexing="ij")
hx, hy = torch.meshgrid(torch.linspace(-1, 1, 3), torch.linspace(0, 1, 2), indexing="xy")
print(gx.shape, hx.shape, gx, hy, gx.is_contiguous(), gx.stride())
grid = torch.stack([gx.flatten(), gy.flatten()], 1)
print(grid.shape, (grid @ wl.detach() + bl > 0).view(gx.shape))
print(torch.where(torch.tensor([1., -1., 2.]) > 0), torch.where(torch.tensor([True, False]), 1.0, 0), torch.where(torch.tensor([1, 0]) > 0, torch.tensor([1, 2]), 2.5))
keys = torch.tensor([2, 1, 2, 0, 1, 2])
print(keys.argsort(stable=True), keys.sort(stable=True, descending=True), torch.sort(torch.tensor([0.5, float("nan"), -1.])))
print(torch.argsort(torch.tensor([[3, 1, 2], [1, 3, 2]]), dim=1, descending=True), keys.sort(dim=0, descending=True, stable=True).indices)

# --- more of the same, as exercises vary it ---
import warnings

torch.manual_seed(5)
pts = torch.randn(12, 2)
assign = torch.randint(0, 3, (12,))
means = torch.zeros(3, 2).scatter_reduce(0, assign[:, None].expand(-1, 2), pts, reduce="mean", include_self=False)
print(r(means, 4), torch.bincount(assign, weights=torch.linspace(0, 1, 12)).dtype, torch.bincount(assign, minlength=5))
print(torch.bincount(torch.tensor([0, 2, 2]), weights=torch.tensor([0.5, 1., 2.], dtype=torch.float64)))
print(r(torch.cdist(pts[:3], pts[3:6], p=float("inf"))), r(torch.cdist(pts[None, :3], pts[None, :2]).squeeze(0)))
print(r(torch.cdist(pts[:3], pts[3:6], compute_mode="use_mm_for_euclid_dist")), torch.cdist(pts[:2], pts[:2], p=0))
pts.requires_grad_(True)
dd = torch.cdist(pts[:4], pts[4:8])
dd.sum().backward()
print(dd.grad_fn.name(), r(pts.grad[:5]))
first = torch.multinomial(torch.ones(12), 1)
probs = torch.cdist(pts.detach(), pts.detach()[first]).squeeze(1).pow(2)
print(first, torch.multinomial(probs / probs.sum(), 2), torch.multinomial(probs, 4, replacement=True))
print(r(torch.cov(pts.detach().t(), correction=0)), r(torch.corrcoef(pts.detach().t())))
print(r(torch.cov(pts.detach().t(), fweights=torch.arange(1, 13), aweights=torch.rand(12))))
ev, evec = torch.linalg.eigh(torch.tensor([[2., 1.], [1., 2.]]), UPLO="U")
print(ev, signs(evec), torch.linalg.eigvalsh(torch.tensor([[2., 1.], [1., 2.]])))
sol = torch.linalg.lstsq(torch.tensor([[1., 0.], [1., 1.], [1., 2.]]), torch.tensor([[1.], [2.], [4.]]), driver="gelsd")
print(sol.solution, sol.residuals, sol.rank, sol.singular_values)
A = torch.vander(torch.linspace(0, 1, 6), N=4)
print(torch.linalg.matrix_rank(A), f"{torch.linalg.cond(A).item():.1f}", r(torch.linalg.pinv(A) @ A, 3))
print(r(torch.pinverse(A)[:, :2], 3), r(torch.cholesky_solve(torch.ones(4, 1), torch.linalg.cholesky(A.t() @ A)), 2))
print(torch.tensor([[1., 2.], [3., 5.]]).std(1, keepdim=True, correction=0), torch.tensor([1., 2., 4.]).var(unbiased=True))

# bias / variance over resampled training sets
preds = []
for s_ in range(5):
    torch.manual_seed(10 + s_)
    tt = torch.rand(15) * 2 - 1
    yy = torch.sin(3 * tt) + 0.2 * torch.randn(15)
    XX = torch.vander(tt, N=4, increasing=True)
    ww = torch.linalg.lstsq(XX, yy[:, None]).solution
    preds.append(torch.vander(torch.linspace(-1, 1, 5), N=4, increasing=True) @ ww)
P = torch.stack(preds)                                        # (5, 5, 1)
print(P.shape, r(P.mean(0), 2), r(P.var(0), 3), r((P.mean(0).squeeze(1) - torch.sin(3 * torch.linspace(-1, 1, 5))).pow(2), 3))

# logistic regression with the library's pieces, and L2 == weight_decay for plain SGD
torch.manual_seed(6)
xs, ys = torch.randn(32, 3), (torch.rand(32) > 0.5).float()
lin1 = nn.Linear(3, 1)
lin2 = nn.Linear(3, 1)
lin2.load_state_dict(lin1.state_dict())
o1 = torch.optim.SGD(lin1.parameters(), lr=0.1, weight_decay=0.1)
o2 = torch.optim.SGD(lin2.parameters(), lr=0.1)
for _ in range(5):
    o1.zero_grad(), o2.zero_grad()
    nn.functional.binary_cross_entropy_with_logits(lin1(xs).squeeze(1), ys).backward()
    (nn.functional.binary_cross_entropy_with_logits(lin2(xs).squeeze(1), ys)
     + 0.05 * sum(p.pow(2).sum() for p in lin2.parameters())).backward()
    o1.step(), o2.step()
print(torch.allclose(lin1.weight, lin2.weight, atol=1e-6), r(lin1.weight), r(nn.functional.logsigmoid(torch.tensor([-2., 0., 2.]))))
o3 = torch.optim.AdamW(lin1.parameters(), lr=0.1)
print(o3.defaults["weight_decay"], torch.optim.SGD(lin1.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4).defaults)
attempt("neg decay", lambda: torch.optim.SGD(lin1.parameters(), lr=0.1, weight_decay=-1))
attempt("nesterov", lambda: torch.optim.SGD(lin1.parameters(), lr=0.1, nesterov=True))

# init on conv weights, parameters and with a generator
conv = nn.Conv2d(3, 8, 5)
print(nn.init._calculate_fan_in_and_fan_out(conv.weight), round(nn.init.calculate_gain("leaky_relu"), 6), nn.init.calculate_gain("conv2d"))
torch.manual_seed(8)
out = nn.init.kaiming_uniform_(conv.weight, mode="fan_out", nonlinearity="relu")
print(type(out).__name__, out.requires_grad, conv.weight.grad_fn, f"{conv.weight.std().item():.4f}")
print(r(nn.init.normal_(torch.empty(3), generator=torch.Generator().manual_seed(1))),
      r(nn.init.xavier_uniform_(torch.empty(2, 2), generator=torch.Generator().manual_seed(1))))
print(nn.init.dirac_(torch.empty(2, 2, 3)), (nn.init.sparse_(torch.empty(6, 3), sparsity=0.5) == 0).sum(0))
attempt("orthogonal 1-d", lambda: nn.init.orthogonal_(torch.empty(3)))
attempt("trunc a>b", lambda: nn.init.trunc_normal_(torch.empty(3), a=1.0, b=-1.0).shape)

# histograms, grids and selections, second round
h, edges = torch.histogram(torch.tensor([0., 0.5, 1., 2., 2.]), bins=4)
print(h, edges, torch.histogram(torch.tensor([1., 2., 1.]), bins=2, range=(0., 3.), density=True))
print(torch.histogram(torch.tensor([1., 2., 1.]), torch.tensor([0., 1.5, 3.]), weight=torch.tensor([1., 2., 3.])))
print(torch.histc(torch.tensor([-5., 0., 0.2, 5.]), bins=2, min=-1, max=1), torch.searchsorted(edges, torch.tensor([0.6]), side="right"))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    mx, my = torch.meshgrid(torch.arange(2), torch.arange(3))
print(mx.shape, [(w.category.__name__, str(w.message)[:60]) for w in caught])
print(torch.cartesian_prod(torch.tensor([0, 1]), torch.tensor([5, 6])), torch.argwhere(torch.tensor([[0, 1], [2, 0]])))
print(torch.where(torch.tensor([[0, 3], [4, 0]])), torch.masked_select(torch.arange(4), torch.tensor([True, False, True, False])))
print(torch.unique(torch.tensor([[1, 2, 1], [1, 2, 1]]), dim=1, return_inverse=True, return_counts=True))
print(torch.unique(torch.tensor([2., float("nan"), 2., float("nan")])), torch.tensor([3, 1, 2]).unique(sorted=True, return_inverse=True))
print(torch.sort(torch.tensor([1., 1., 0.5, 1.]), descending=True, stable=True), torch.tensor([[2, 1], [1, 2]]).argsort(dim=0, stable=True))
print(torch.median(torch.tensor([[1., 5., 3.], [2., 2., 9.]]), dim=1, keepdim=True))
print(torch.quantile(torch.tensor([1., 2., 3., 4.]), torch.tensor([0.25, 0.75]), interpolation="midpoint"),
      torch.quantile(torch.tensor([1., 2., 3., 4.]), 0.5, interpolation="nearest"), torch.quantile(torch.tensor([[1., 2.], [3., 4.]]), 0.5, dim=0))
attempt("median empty", lambda: torch.tensor([]).median())
attempt("median dim", lambda: torch.ones(2, 2).median(dim=2))
attempt("bucketize 2d", lambda: torch.bucketize(torch.tensor([1.]), torch.ones(2, 2)))
attempt("histc bins", lambda: torch.histc(torch.ones(3), bins=0))
attempt("bincount neg", lambda: torch.bincount(torch.tensor([-1, 2])))
attempt("bincount float", lambda: torch.bincount(torch.tensor([1., 2.])))
attempt("scatter_reduce", lambda: torch.zeros(3).scatter_reduce(0, torch.tensor([0]), torch.ones(1), reduce="avg"))
attempt("histc float bins", lambda: torch.histc(torch.ones(3), bins=2.0))
attempt("histogram range", lambda: torch.histogram(torch.ones(3), bins=2, range=(3., 1.)))
attempt("bce target", lambda: nn.functional.binary_cross_entropy(torch.tensor([0.5, 2.]), torch.tensor([2., 0.5])))
attempt("eigh UPLO", lambda: torch.linalg.eigh(torch.eye(2), UPLO="X"))
