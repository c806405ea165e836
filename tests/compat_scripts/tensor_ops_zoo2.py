"""Less common tensor ops with their argument variants, gradients and typical mistakes, seeded."""
import os
import warnings

import torch


def r(t, d=4):
    """Rounded list of a float tensor: long computations may differ by an ulp."""
    return [round(v, d) + 0.0 for v in t.flatten().tolist()]


def attempt(label, fn):
    try:
        print(label, "->", fn())
    except Exception as e:      # the message is part of what is compared
        print(label, "!!", type(e).__name__, str(e).splitlines()[0])


def grad_of(fn, *inputs):
    """Gradients of fn(*inputs) against the cotangent 1, 2, 3, ..., rounded."""
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    out = fn(*leaves)
    (out * torch.arange(1., out.numel() + 1).view(out.shape)).sum().backward()
    return [r(t.grad) for t in leaves]


def warned(label, fn):
    """fn()'s result and its warnings: message (without torch's C++ location suffix) and the file blamed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    for w in caught:
        print(label, "warns", w.category.__name__, str(w.message).split(" (Triggered")[0], os.path.basename(w.filename))
    return out


torch.manual_seed(0)

# --- hsplit / vsplit / dsplit ---
a = torch.arange(24.).view(2, 3, 4)
print([p.shape for p in torch.hsplit(a, 3)], [p.shape for p in torch.vsplit(a, [1])])
print([p.shape for p in torch.dsplit(a, 2)], [p.shape for p in torch.dsplit(a, [1, 3])])
print(torch.hsplit(torch.arange(6), 3), torch.hsplit(torch.arange(6), [2, 5]))
print(a.hsplit([1, 2])[1].shape, a.vsplit(2)[0].is_contiguous(), a.dsplit([1])[1].stride())
attempt("hsplit uneven", lambda: torch.hsplit(a, 2))
attempt("vsplit 1d", lambda: torch.vsplit(torch.arange(4), 2))
attempt("dsplit 2d", lambda: torch.dsplit(torch.zeros(2, 2), 2))
attempt("dsplit uneven", lambda: torch.dsplit(a, 3))
attempt("hsplit 0d", lambda: torch.hsplit(torch.tensor(1.), 1))
print(grad_of(lambda t: torch.cat(torch.hsplit(t, 2)[::-1], 1), torch.randn(2, 4)))

# --- type_as, aminmax, logcumsumexp, cummin, renorm ---
i = torch.tensor([1, 2, 3])
f = torch.tensor([0.5, 1.5], dtype=torch.float64)
print(i.type_as(f), f.type_as(i), i.type_as(torch.tensor([True])), f.type_as(f) is f)
x = torch.randn(3, 4)
mm = torch.aminmax(x)
print(type(mm).__name__, r(mm.min), r(mm.max), torch.aminmax(x, dim=1, keepdim=True).max.shape)
print(torch.aminmax(torch.tensor([3, 1, 2])), x.aminmax(dim=0).min.shape)
attempt("aminmax empty", lambda: torch.aminmax(torch.zeros(0)))
print(r(torch.logcumsumexp(x, dim=1)), r(torch.logcumsumexp(x, -2)))
print(torch.logcumsumexp(torch.tensor([float("-inf"), 0., float("-inf")]), 0))
print(grad_of(lambda t: torch.logcumsumexp(t, 1), x))
attempt("logcumsumexp int", lambda: torch.logcumsumexp(torch.tensor([1, 2]), 0))
cm = torch.cummin(torch.tensor([3., 1., 2., 1., 0.]), 0)
print(cm, type(cm).__name__, torch.cummin(torch.tensor([[2, 1], [0, 3]]), dim=1))
print(grad_of(lambda t: torch.cummin(t, 1).values, x))
print(r(torch.renorm(x, p=1, dim=0, maxnorm=1.5)), r(x.renorm(2, 1, 0.5)), r(torch.renorm(x, float("inf"), 0, 0.9)))
print(grad_of(lambda t: torch.renorm(t, 2, 0, 1.0), x))
attempt("renorm neg p", lambda: torch.renorm(x, -1, 0, 1.0))
attempt("renorm maxnorm", lambda: torch.renorm(x, 2, 0, -1.0))

# --- quantile / nanquantile ---
q = torch.tensor([[0., 3., 1., 7.], [2., 2., 5., 4.], [9., 6., 8., 1.]])
for mode in ["linear", "lower", "higher", "midpoint", "nearest"]:
    print(mode, torch.quantile(q, 0.4, interpolation=mode), torch.quantile(q, torch.tensor([0.1, 0.75]), dim=1, interpolation=mode),
          torch.quantile(q, 0.5, dim=0, keepdim=True, interpolation=mode))
qn = torch.tensor([[1., float("nan"), 3., 2.], [float("nan")] * 4])
for mode in ["linear", "lower", "higher", "midpoint", "nearest"]:
    print(mode, torch.nanquantile(qn, 0.5, dim=1, interpolation=mode), torch.quantile(qn, 0.5, dim=1, interpolation=mode))
print(torch.quantile(q, torch.tensor([0.5]), dim=-1, keepdim=True).shape, torch.quantile(q, torch.tensor([0.2, 0.8]), keepdim=True).shape)
print(grad_of(lambda t: torch.quantile(t, torch.tensor([0.3, 0.6]), dim=1), x))
attempt("quantile mode", lambda: torch.quantile(q, 0.5, interpolation="cubic"))
attempt("quantile int", lambda: torch.quantile(torch.tensor([1, 2]), 0.5))
attempt("quantile q 2d", lambda: torch.quantile(q, torch.ones(2, 2) / 2))
attempt("quantile dtype", lambda: torch.quantile(q, torch.tensor([0.5], dtype=torch.float64)))
attempt("quantile empty", lambda: torch.quantile(torch.zeros(0), 0.5))

# --- searchsorted / bucketize ---
edges = torch.tensor([1., 3., 3., 5., 7.])
vals = torch.tensor([[0., 3., 6.], [7., 8., 3.]])
print(torch.searchsorted(edges, vals), torch.searchsorted(edges, vals, side="right"), torch.searchsorted(edges, vals, right=True))
print(torch.searchsorted(edges, vals, out_int32=True).dtype, torch.searchsorted(edges, 3.0), torch.searchsorted(edges, torch.tensor(4.)))
unsorted = torch.tensor([5., 1., 7., 3.])
print(torch.searchsorted(unsorted, torch.tensor([2., 6.]), sorter=torch.argsort(unsorted)))
print(torch.searchsorted(torch.tensor([[1, 3, 5], [2, 4, 6]]), torch.tensor([[3], [3]])))
print(torch.bucketize(vals, edges), torch.bucketize(vals, edges, right=True), torch.bucketize(4, torch.tensor([1, 5])))
attempt("searchsorted side", lambda: torch.searchsorted(edges, vals, side="up"))
attempt("searchsorted both", lambda: torch.searchsorted(edges, vals, side="left", right=True))
attempt("searchsorted rows", lambda: torch.searchsorted(torch.ones(3, 2), torch.ones(2, 1)))

# --- histogram / histogramdd ---
h = torch.tensor([0.5, 1.0, 1.5, 2.5, 4.0, 3.9])
print(torch.histogram(h, bins=3), torch.histogram(h, 4, range=(1., 3.)))
print(torch.histogram(h, torch.tensor([0., 1., 3., 5.]), density=True), torch.histogram(h, 2, weight=torch.arange(6.), density=True))
hist, bin_edges = torch.histogram(h.double(), bins=2, weight=torch.ones(6, dtype=torch.float64))
print(hist.dtype, bin_edges.dtype, type(torch.histogram(h, 2)).__name__)
attempt("histogram int", lambda: torch.histogram(torch.tensor([1, 2]), bins=2))
attempt("histogram range", lambda: torch.histogram(h, bins=2, range=(3., 1.)))
attempt("histogram bins", lambda: torch.histogram(h, bins=-1))
pts = torch.tensor([[0., 0.], [1., 1.], [0.5, 2.], [2., 0.5], [1.5, 1.5]])
hd = torch.histogramdd(pts, bins=[2, 2])
print(type(hd).__name__, hd.hist, hd.bin_edges)
print(torch.histogramdd(pts, bins=2, range=[0., 2., 0., 2.], density=True).hist)
print(torch.histogramdd(pts, bins=[torch.tensor([0., 1., 2.]), torch.tensor([0., 2.])], weight=torch.arange(5.)).hist)
attempt("histogramdd bins", lambda: torch.histogramdd(pts, bins=[2, 2, 2]))

# --- trapezoid / cumulative_trapezoid / diff / gradient ---
y = torch.tensor([[1., 4., 9., 16.], [0., 1., 0., 1.]])
xs = torch.tensor([0., 1., 3., 4.])
print(torch.trapezoid(y), torch.trapezoid(y, dx=0.5), torch.trapezoid(y, x=xs), torch.trapezoid(y, dim=0))
print(torch.trapezoid(y, torch.tensor([[0., 1., 2., 3.], [0., 2., 4., 6.]])), torch.trapz(y, xs), torch.trapz(y, dx=2.))
print(torch.cumulative_trapezoid(y), torch.cumulative_trapezoid(y, dx=2.), torch.cumulative_trapezoid(y, x=xs, dim=-1))
print(torch.cumulative_trapezoid(y, dim=0), torch.trapezoid(torch.tensor([1, 2, 3])), torch.cumulative_trapezoid(torch.tensor([1, 2, 3])))
print(grad_of(lambda t, s: torch.trapezoid(t, x=s), y, xs), grad_of(lambda t: torch.cumulative_trapezoid(t, dx=0.5), y))
attempt("trapezoid x len", lambda: torch.trapezoid(y, x=torch.arange(3.)))
attempt("trapezoid both", lambda: torch.trapezoid(y, xs, dx=1.))
d = torch.tensor([1, 4, 9, 16, 25])
print(torch.diff(d, n=2), torch.diff(d, n=5), torch.diff(d, prepend=torch.tensor([0])), torch.diff(d, append=torch.tensor([36, 49]), n=2))
print(torch.diff(y, dim=0), torch.diff(y, prepend=torch.zeros(2, 1), append=torch.ones(2, 2)), torch.diff(d.float(), n=0))
print(grad_of(lambda t: torch.diff(t, n=2, append=t[:, :1]), y))
attempt("diff prepend dims", lambda: torch.diff(y, prepend=torch.zeros(2)))
attempt("diff append shape", lambda: torch.diff(y, append=torch.zeros(3, 1)))
attempt("diff n", lambda: torch.diff(d, n=-1))
g1 = torch.tensor([1., 2., 4., 7., 11.])
print(torch.gradient(g1), torch.gradient(g1, spacing=2.), torch.gradient(g1, spacing=[torch.tensor([0., 1., 1.5, 3., 4.])]))
print(torch.gradient(g1, edge_order=2), torch.gradient(g1, spacing=(0.5,), edge_order=2))
g2 = torch.tensor([[1., 2., 4., 8.], [10., 20., 40., 80.], [3., 1., 2., 5.]])
print(torch.gradient(g2), torch.gradient(g2, dim=1), torch.gradient(g2, spacing=[2., 1.], dim=[0, 1]))
print(torch.gradient(g2, spacing=(torch.tensor([0., 1., 3.]), torch.tensor([0., 1., 2., 4.])), edge_order=2))
print(torch.gradient(torch.tensor([1, 4, 9, 16])), grad_of(lambda t: torch.gradient(t, dim=1)[0], g2))
attempt("gradient short", lambda: torch.gradient(torch.tensor([1.]), edge_order=1))
attempt("gradient edge", lambda: torch.gradient(g1, edge_order=3))
attempt("gradient spacing", lambda: torch.gradient(g2, spacing=[1., 2., 3.]))

# --- vander / cartesian_prod / combinations / block_diag / tensordot / inner ---
print(torch.vander(torch.tensor([2., 3.]), N=0), torch.vander(torch.tensor([2., 3.]), 1), torch.vander(torch.tensor([True, False])))
attempt("vander 2d", lambda: torch.vander(torch.ones(2, 2)))
attempt("vander N", lambda: torch.vander(torch.ones(2), N=-1))
print(torch.cartesian_prod(torch.tensor([1, 2, 3])), torch.cartesian_prod(torch.tensor([1.]), torch.tensor([2., 3.])).dtype)
attempt("cartesian 2d", lambda: torch.cartesian_prod(torch.ones(2, 2)))
print(torch.combinations(torch.tensor([1, 2, 3]), r=0), torch.combinations(torch.tensor([1, 2]), r=3), torch.combinations(torch.tensor([4, 5]), r=3, with_replacement=True))
print(torch.combinations(torch.tensor([1., 2., 3.]), with_replacement=True).shape, grad_of(lambda t: torch.combinations(t), torch.tensor([1., 2., 3.])))
attempt("combinations r", lambda: torch.combinations(torch.arange(3), r=-1))
attempt("combinations 2d", lambda: torch.combinations(torch.ones(2, 2)))
print(torch.block_diag(), torch.block_diag(torch.tensor([1, 2]), torch.tensor([[3.5]])), torch.block_diag(torch.zeros(0, 2), torch.ones(1, 1)))
attempt("block_diag 3d", lambda: torch.block_diag(torch.ones(1, 1, 1)))
A, B = torch.randn(2, 3, 4), torch.randn(4, 3, 5)
print(torch.tensordot(A, B, dims=0).shape, torch.tensordot(A, B, dims=([1, 2], [1, 0])).shape, torch.tensordot(A, B, ([2], [0])).shape)
print(r(torch.tensordot(A, B, dims=[[1], [1]]).sum()), torch.tensordot(A, A, dims=torch.tensor(3)).shape)
print(grad_of(lambda s, t: torch.tensordot(s, t, dims=([1, 2], [1, 0])), A, B)[0][:4])
attempt("tensordot size", lambda: torch.tensordot(A, B, dims=([0], [0])))
attempt("tensordot lists", lambda: torch.tensordot(A, B, dims=([1, 2], [1])))
attempt("tensordot neg", lambda: torch.tensordot(A, B, dims=-1))
print(torch.inner(torch.tensor([1., 2.]), torch.tensor([3., 4.])), torch.inner(torch.ones(2, 3), torch.arange(6.).view(2, 3)))
print(torch.inner(torch.tensor(2.), torch.ones(2, 2)), torch.inner(torch.tensor([1, 2]), torch.tensor([3, 4])))
print(grad_of(lambda s, t: torch.inner(s, t), torch.randn(2, 3), torch.randn(4, 3))[1][:3])
attempt("inner shape", lambda: torch.inner(torch.ones(2, 3), torch.ones(3, 2)))

# --- frexp / ldexp / copysign / nextafter / heaviside / logaddexp / float_power / true_divide ---
m, e = torch.frexp(torch.tensor([0., 1., -3.5, 1024., 0.1]))
print(m, e, e.dtype, torch.frexp(torch.tensor([2.5], dtype=torch.float64)), torch.tensor([6.]).frexp())
attempt("frexp int", lambda: torch.frexp(torch.tensor([1, 2])))
print(torch.ldexp(torch.tensor([1., 0.5]), torch.tensor([3, -1])), torch.ldexp(torch.tensor([1]), torch.tensor([2])), torch.ldexp(m, e))
print(grad_of(lambda t: torch.ldexp(t, torch.tensor([2, 3])), torch.tensor([1., 2.])))
print(torch.copysign(torch.tensor([1, -2, 3]), -1.), torch.copysign(torch.tensor([2.]), torch.tensor([-0., 0.])))
print(grad_of(lambda s, t: torch.copysign(s, t), torch.tensor([1., -2., 3.]), torch.tensor([-1., -1., 2.])))
print(torch.nextafter(torch.tensor([1., 1.]), torch.tensor([2., 0.])) - 1, torch.nextafter(torch.tensor([0.], dtype=torch.float64), torch.tensor([1.], dtype=torch.float64)))
attempt("nextafter dtypes", lambda: torch.nextafter(torch.tensor([1.]), torch.tensor([2.], dtype=torch.float64)))
attempt("nextafter int", lambda: torch.nextafter(torch.tensor([1]), torch.tensor([2])))
print(torch.heaviside(torch.tensor([-1, 0, 3]), torch.tensor([7])), torch.heaviside(torch.tensor([0., 0.]), torch.tensor([0.25, 0.75])))
attempt("heaviside dtypes", lambda: torch.heaviside(torch.tensor([0.]), torch.tensor([1])))
attempt("heaviside grad", lambda: torch.heaviside(torch.zeros(2, requires_grad=True), torch.tensor(0.5)).sum().backward())
la, lb = torch.tensor([0., -100., 50.]), torch.tensor([0., -101., 1000.])
print(torch.logaddexp(la, lb), torch.logaddexp2(la, lb), torch.logaddexp(torch.tensor([float("-inf")]), torch.tensor([float("-inf")])))
print(grad_of(torch.logaddexp, la, lb), grad_of(torch.logaddexp2, la, lb), torch.logaddexp(torch.tensor([1, 2]), torch.tensor([0.])).dtype)
print(torch.float_power(torch.tensor([2., 3.]), torch.tensor([0.5, 2])), torch.float_power(2, torch.tensor([3])), torch.tensor([4]).float_power(0.5))
print(grad_of(lambda s, t: torch.float_power(s, t), torch.tensor([2., 3.]), torch.tensor([1.5, 2.])))
attempt("float_power_ inplace", lambda: torch.tensor([2.]).float_power_(2))
print(torch.true_divide(torch.tensor([5, 6]), torch.tensor([2, 4])), torch.tensor([True]).true_divide(2), torch.true_divide(7, torch.tensor([2])))

# --- bitwise ops and shifts on ints and bools, gcd / lcm, count_nonzero ---
u, v = torch.tensor([12, -5, 7], dtype=torch.int32), torch.tensor([10, 3, 255], dtype=torch.int32)
bt, bf = torch.tensor([True, False, True]), torch.tensor([True, True, False])
print(torch.bitwise_and(u, v), torch.bitwise_or(u, v), torch.bitwise_xor(u, v), torch.bitwise_not(u), torch.bitwise_not(bt))
print(torch.bitwise_and(bt, bf), torch.bitwise_or(bt, bf), torch.bitwise_xor(bt, True), torch.bitwise_and(u, 6), torch.bitwise_or(3, v))
print(torch.bitwise_left_shift(u, 2), torch.bitwise_right_shift(u, torch.tensor([1, 1, 3], dtype=torch.int32)), u >> 1, 1 << torch.tensor([0, 3, 5]))
print(torch.tensor([1], dtype=torch.uint8) << 7, torch.tensor([200], dtype=torch.uint8) >> 3, torch.bitwise_xor(bt, 1), (bt << 1).dtype)
print(torch.bitwise_and(u, torch.tensor([1], dtype=torch.uint8)).dtype, u.bitwise_and(v).dtype, u.bitwise_xor_(v), u)
attempt("bitwise float", lambda: torch.bitwise_and(torch.tensor([1.]), torch.tensor([1.])))
attempt("bitwise_not float", lambda: torch.bitwise_not(torch.tensor([1.])))
attempt("shift float", lambda: torch.bitwise_left_shift(torch.tensor([1.]), 1))
print(torch.gcd(torch.tensor([0, -12, 7]), torch.tensor([5, 18, 0])), torch.lcm(torch.tensor([0, -4, 6]), torch.tensor([3, 6, -4])))
print(torch.lcm(torch.tensor([4, 6], dtype=torch.int16), torch.tensor([6], dtype=torch.int16)), torch.tensor([12]).gcd_(torch.tensor([8])))
attempt("gcd float", lambda: torch.gcd(torch.tensor([4.]), torch.tensor([2.])))
cz = torch.tensor([[0, 1, 2], [0, 0, 3]])
print(torch.count_nonzero(cz), torch.count_nonzero(cz, dim=1), torch.count_nonzero(cz, dim=(0, 1)), cz.count_nonzero(-2), torch.count_nonzero(torch.tensor([0., float("nan")])))

# --- corrcoef / cov with correction and weights ---
obs = torch.randn(3, 6)
fw, aw = torch.tensor([1, 2, 1, 3, 1, 2]), torch.tensor([0.5, 1., 2., 1., 0.3, 1.])
print(r(torch.cov(obs)), r(torch.cov(obs, correction=0)), r(torch.cov(obs, correction=2)))
print(r(torch.cov(obs, fweights=fw)), r(torch.cov(obs, aweights=aw)), r(torch.cov(obs, correction=0, fweights=fw, aweights=aw)))
print(torch.cov(torch.tensor([1., 2., 4.])), torch.cov(torch.tensor([1, 2, 4])).dtype, r(obs.cov()), r(torch.corrcoef(obs)), torch.corrcoef(torch.tensor([1., 3., 2.])))
print(grad_of(lambda t: torch.cov(t, aweights=aw), obs)[0][:4], grad_of(lambda t: torch.corrcoef(t), obs)[0][:4])
attempt("cov fweights float", lambda: torch.cov(obs, fweights=aw))
attempt("cov fweights neg", lambda: torch.cov(obs, fweights=-fw))
attempt("cov aweights len", lambda: torch.cov(obs, aweights=torch.ones(5)))
attempt("cov aweights neg", lambda: torch.cov(obs, aweights=-aw))
print(warned("cov dof", lambda: torch.cov(torch.ones(2, 1))), warned("corrcoef const", lambda: torch.corrcoef(torch.ones(2, 3))))

# --- isin / unique_consecutive ---
el, te = torch.tensor([[1, 5, 2], [7, 2, 9]]), torch.tensor([2, 9, 4])
print(torch.isin(el, te), torch.isin(el, te, invert=True), torch.isin(el, te, assume_unique=True), torch.isin(el, 9), torch.isin(2.0, te))
print(torch.isin(torch.tensor([1., 2.5]), torch.tensor([2.5, 3.])), torch.isin(el, torch.tensor([], dtype=torch.int64)))
uc = torch.tensor([1, 1, 2, 2, 2, 3, 1, 1])
print(torch.unique_consecutive(uc, return_inverse=True), torch.unique_consecutive(uc, return_counts=True, return_inverse=True))
mat = torch.tensor([[1, 1, 2, 2], [3, 3, 3, 4], [3, 3, 3, 4], [1, 1, 2, 2]])
print(torch.unique_consecutive(mat, dim=0), torch.unique_consecutive(mat, dim=1, return_counts=True), mat.unique_consecutive(return_inverse=True, dim=0))
print(torch.unique_consecutive(torch.tensor([])), torch.unique_consecutive(torch.tensor(5)), torch.unique_consecutive(torch.tensor([2., float("nan"), float("nan")])))

# --- flatten / unflatten / take_along_dim / narrow with a tensor start ---
t4 = torch.arange(24).view(2, 3, 4)
print(t4.flatten(1).shape, t4.flatten(-2, -1).shape, torch.flatten(torch.tensor(3.)), torch.flatten(t4, 0, 0).shape)
print(t4.unflatten(-1, (2, 2)).shape, t4.unflatten(1, [3]).shape, torch.unflatten(t4, 0, (1, 2, 1)).shape, t4.flatten().unflatten(0, (-1, 6)).shape)
attempt("flatten order", lambda: t4.flatten(2, 1))
attempt("unflatten empty", lambda: t4.unflatten(0, ()))
attempt("unflatten two -1", lambda: t4.unflatten(2, (-1, -1)))
print(torch.take_along_dim(t4, torch.tensor([[[3], [0], [1]]]), dim=2), torch.take_along_dim(t4, t4.argmax(dim=1, keepdim=True), dim=1))
print(torch.take_along_dim(t4.float(), torch.argsort(t4, dim=-1, descending=True), -1)[0, 0], grad_of(lambda t: torch.take_along_dim(t, torch.tensor([[2, 2], [0, 1]]), 1), x[:2]))
attempt("take_along_dim dims", lambda: torch.take_along_dim(t4, torch.tensor([0, 1]), dim=1))
attempt("take_along_dim dtype", lambda: torch.take_along_dim(t4, torch.tensor([[[0.]]]), dim=1))
attempt("take_along_dim int32", lambda: torch.take_along_dim(t4, torch.tensor([[[0]]], dtype=torch.int32), dim=1))
s0 = torch.tensor(1)
print(t4.narrow(1, s0, 2).shape, torch.narrow(t4, -1, torch.tensor(2), 2)[0], t4.narrow(0, torch.tensor(-1), 1).shape)
attempt("narrow neg length", lambda: t4.narrow(1, 0, -1))
attempt("narrow start", lambda: t4.narrow(1, 4, 0))

# --- select_scatter / slice_scatter / diagonal_scatter ---
base = torch.zeros(3, 4)
print(torch.select_scatter(base, torch.ones(4), 0, 1), torch.select_scatter(base, torch.arange(3.), 1, -1))
print(torch.slice_scatter(base, torch.ones(3, 2), dim=1, start=1, end=3), torch.slice_scatter(base, torch.ones(2, 4), start=1))
print(torch.slice_scatter(base, torch.ones(3, 2), 1, 0, None, 2), torch.slice_scatter(base, 2 * torch.ones(1, 4), 0, -1))
print(torch.diagonal_scatter(base, torch.ones(3)), torch.diagonal_scatter(base, torch.ones(3), 1), torch.diagonal_scatter(base, torch.ones(2), -1))
print(torch.diagonal_scatter(torch.zeros(2, 2, 3), torch.ones(3, 2), 0, 0, 1).shape)
print(grad_of(lambda b, s: torch.select_scatter(b, s, 0, 1), base, torch.ones(4)), grad_of(lambda b, s: torch.slice_scatter(b, s, 1, 1, 3), base, torch.ones(3, 2)))
print(grad_of(lambda b, s: torch.diagonal_scatter(b, s, 1), base, torch.ones(3)))
attempt("select_scatter shape", lambda: torch.select_scatter(base, torch.ones(3), 0, 1))
attempt("slice_scatter shape", lambda: torch.slice_scatter(base, torch.ones(3, 3), 1, 1, 3))
attempt("diagonal_scatter shape", lambda: torch.diagonal_scatter(base, torch.ones(4)))
attempt("select_scatter index", lambda: torch.select_scatter(base, torch.ones(4), 0, 3))

# --- index_reduce ---
target = torch.tensor([[1., 2.], [3., 4.], [5., 6.]])
idx = torch.tensor([0, 2, 0, 0])
src = torch.tensor([[2., 1.], [10., 10.], [3., -1.], [0.5, 8.]])
attempt("index_reduce how", lambda: target.index_reduce(0, idx, src, "sum"))
attempt("index_reduce float index", lambda: target.index_reduce(0, idx.float(), src, "amin"))
for how in ["prod", "mean", "amax", "amin"]:
    print(how, warned("index_reduce", lambda: target.index_reduce(0, idx, src, how)), target.index_reduce(0, idx, src, how, include_self=False))
print(torch.index_reduce(target, 1, torch.tensor([1, 1, 0]), torch.arange(9.).view(3, 3), "mean"))
tt = target.clone()
print(tt.index_reduce_(0, torch.tensor([1]), torch.tensor([[2., 2.]]), "prod"), tt)
print(torch.tensor([[4, 8]]).index_reduce(0, torch.tensor([0, 0]), torch.tensor([[1, 2], [3, 5]]), "mean"))
print(grad_of(lambda tg, sc: tg.index_reduce(0, idx, sc, "prod"), target, src))
print(grad_of(lambda tg, sc: tg.index_reduce(0, idx, sc, "mean", include_self=False), target, src))
print(grad_of(lambda tg, sc: tg.index_reduce(0, idx, sc, "amax"), target, src))
attempt("index_reduce index", lambda: target.index_reduce(0, torch.tensor([0, 3]), src[:2], "amax"))
attempt("index_reduce neg", lambda: target.index_reduce(0, torch.tensor([0, -1]), src[:2], "amax"))
attempt("index_reduce neg no self", lambda: target.index_reduce(0, torch.tensor([0, -1]), src[:2], "amax", include_self=False))
attempt("index_reduce far no self", lambda: target.index_reduce(0, torch.tensor([0, 5]), src[:2], "amax", include_self=False))
attempt("index_reduce src", lambda: target.index_reduce(0, idx, torch.ones(4, 3), "amin"))
