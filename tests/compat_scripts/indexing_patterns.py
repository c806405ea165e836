"""Indexing, reshaping and einsum patterns from course exercises and model code, seeded."""
import warnings

import torch

torch.manual_seed(0)


def attempt(label, fn):
    try:
        out = fn()
        print(label, "->", out)
    except Exception as e:      # the message is part of what is compared
        print(label, "!!", type(e).__name__, str(e).splitlines()[0])


def layout(label, t):
    print(label, tuple(t.shape), t.stride(), t.is_contiguous())


# basic indexing: steps, negatives, None, Ellipsis
x = torch.arange(60).view(3, 4, 5)
print(x[1, ::2, -1], x[-1, 1:-1, ::2], x[..., 0].shape, x[None, :, None].shape)
print(x[:, None, ..., None].shape, x[..., 1:3, :].stride(), x[2][3][-2], x[::2, ::3, ::4])
layout("step view", x[:, ::2, 1::2])
print(x[torch.tensor(1)].shape, x[1, torch.tensor(2)], x[:, torch.tensor(0)].shape)

# advanced indexing: lists, repeated indices, tensors
print(x[[0, 2, 0]].shape, x[[0, 2], [1, 3]], x[torch.tensor([[0, 1], [2, 2]])].shape)
print(x[[0, 1], :, [2, 4]].shape, x[:, [0, 1], [2, 4]].shape, x[0, :, [1, 2]].shape)
print(x[[[0], [1]], [1, 2], :].shape, x[1:, [3, 0]][..., -1], x[:, [1, 1, 1], 0])
print(x[[0, 1]][:, None, [0, 2]].shape, x[..., [True, False, True, False, True]].shape)

# boolean masks
y = torch.randn(4, 3)
mask = y > 0
print(y[mask].shape, mask.sum().item(), y[y.sum(1) > 0].shape, y[:, mask[0]].shape)
print(x[torch.tensor([True, False, True])].shape, x[x % 7 == 0], torch.masked_select(y, mask).shape)
print(torch.masked_select(y.round(decimals=2), torch.tensor([True, False, True])))
attempt("mask shape", lambda: y[torch.tensor([True, False])])
attempt("float index", lambda: y[torch.tensor([0.0, 1.0])])
attempt("out of range", lambda: y[4])
attempt("out of range neg", lambda: y[:, -4])
attempt("list out of range", lambda: y[[0, 5]])
attempt("too many", lambda: y[0, 0, 0])
attempt("negative step", lambda: y[::-1])
attempt("float scalar", lambda: y[1.5])

# index assignment with broadcasting
z = torch.zeros(3, 4)
z[z == 0] = 1
z[1] = torch.tensor([1., 2., 3., 4.])
z[:, 0] = 9
z[[0, 2], 1:3] = torch.tensor([[5.], [6.]])
z[..., -1] += 10
print(z)
w = torch.zeros(2, 5)
w[:, [1, 1, 3]] += 1
print(w)
w[0, [2, 2, 2]] = torch.tensor([1., 2., 3.])
print(w[0])
w.index_put_((torch.tensor([1, 1, 1]), torch.tensor([0, 0, 4])), torch.tensor(2.), accumulate=True)
print(w)
v = torch.zeros(5)
v[torch.tensor([0, 0, 2])] += torch.tensor([1., 2., 3.])
print(v, v.index_put((torch.tensor([4, 4]),), torch.tensor([1., 1.]), accumulate=True))
attempt("assign shape", lambda: z.__setitem__(slice(None), torch.ones(2)))
attempt("assign mask count", lambda: z.__setitem__(z > 100, torch.ones(3)))

# views vs copies
src = torch.arange(6.)
sl, ad, bm = src[1:4], src[[1, 2]], src[src > 2]
sl[0] = -1
ad[0] = -2
bm[0] = -3
print(src, sl.data_ptr() == src.data_ptr() + src.element_size(), ad.data_ptr() == src.data_ptr())
r = src.view(2, 3)
r[1, 1] = 100
print(src, src.view(3, 2).t().reshape(6).data_ptr() == src.data_ptr(), src.reshape(3, 2).data_ptr() == src.data_ptr())

# gather / scatter / take
g = torch.arange(12.).view(3, 4)
idx = torch.tensor([[0, 3], [1, 1], [2, 0]])
print(torch.gather(g, 1, idx), g.gather(0, torch.tensor([[2, 1, 0, 0]])), torch.take(g, torch.tensor([[0, 11], [5, 5]])))
print(torch.take_along_dim(g, torch.tensor([[3], [0], [1]]), dim=1), torch.take_along_dim(g, torch.tensor([0, 5, 11])))
print(g.index_select(1, torch.tensor([3, 0, 3])), g.index_select(0, torch.tensor(1)).shape)
src2 = torch.tensor([[1., 2., 3.], [4., 5., 6.]])
si = torch.tensor([[0, 1, 0], [2, 0, 0]])
print(torch.zeros(2, 4).scatter(1, si, src2), torch.zeros(3, 3).scatter_(0, si, 7.))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(torch.zeros(2, 4).scatter_add(1, si, src2), torch.ones(2, 4).scatter(1, si, src2, reduce="multiply"))
    torch.zeros(3).scatter_(0, torch.tensor([1, 1]), torch.ones(2), reduce="add")
print([(w.category.__name__, str(w.message).split(" (Triggered")[0]) for w in caught])
for how in ["sum", "prod", "mean", "amax", "amin"]:
    base = torch.full((2, 4), 2.)
    print(how, base.scatter_reduce(1, si, src2, how), base.scatter_reduce(1, si, src2, how, include_self=False))
print(torch.zeros(4, dtype=torch.int64).scatter_reduce(0, torch.tensor([0, 0, 3]), torch.tensor([5, 2, 9]), "mean"))
attempt("gather oob", lambda: g.gather(1, torch.tensor([[4]])))
attempt("gather dtype", lambda: g.gather(1, torch.tensor([[1.0]])))
attempt("gather dims", lambda: g.gather(1, torch.tensor([0, 1])))
attempt("scatter dtype", lambda: torch.zeros(3).scatter_(0, torch.tensor([1]), torch.tensor([1])))
attempt("index_select oob", lambda: g.index_select(0, torch.tensor([3])))
attempt("take oob", lambda: torch.take(g, torch.tensor([12])))

# nonzero, argwhere, where
m = torch.tensor([[0, 3, 0], [1, 0, 2]])
print(torch.nonzero(m), torch.nonzero(m, as_tuple=True), m.nonzero().dtype, torch.argwhere(m).shape)
print(torch.where(m > 0), torch.where(torch.tensor([0., 1., 2.])), torch.nonzero(torch.tensor(5)), torch.nonzero(torch.tensor(0), as_tuple=True))
print(torch.where(m > 1, m, -1), torch.where(m > 1, 1.5, 0).dtype, torch.nonzero(torch.zeros(2, 0)).shape)

# reshaping and layout
t = torch.arange(24).view(2, 3, 4)
tt = t.transpose(1, 2)
layout("transpose", tt)
attempt("view non-contig", lambda: tt.view(24))
layout("reshape copy", tt.reshape(2, 12))
layout("permute reshape", t.permute(2, 0, 1).reshape(4, 6))
print(tt.contiguous().view(-1)[:6], tt.reshape(-1).data_ptr() == t.data_ptr(), t.view(6, 4).data_ptr() == t.data_ptr())
attempt("view -1 twice", lambda: t.view(-1, -1))
attempt("view bad", lambda: t.view(5, -1))
attempt("reshape bad", lambda: t.reshape(7, 3))
layout("flatten", t.flatten())
layout("flatten 1:", tt.flatten(1))
layout("unflatten", t.flatten().unflatten(0, (4, -1)))
layout("unflatten mid", t.unflatten(2, (2, 2)))
s = torch.zeros(1, 3, 1, 2, 1)
layout("squeeze multi", s.squeeze((0, 2)))
layout("squeeze all", s.squeeze())
layout("squeeze non1", s.squeeze(1))
layout("unsqueeze neg", t.unsqueeze(-1))
layout("movedim", t.movedim((0, 1), (2, 0)))
layout("permute", t.permute(2, 0, 1))
layout("swapaxes", t.swapaxes(0, 2))
attempt("permute bad", lambda: t.permute(0, 1))
attempt("permute dup", lambda: t.permute(0, 1, 1))
e = torch.tensor([[1], [2]])
layout("expand", e.expand(2, 3))
layout("expand -1", e.expand(4, -1, 5))
layout("repeat", e.repeat(2, 3))
layout("repeat more", e.repeat(2, 1, 2))
attempt("expand bad", lambda: torch.ones(2, 3).expand(4, 3))
attempt("repeat few", lambda: torch.ones(2, 3).repeat(2))
print(torch.tensor([1, 2, 3]).repeat_interleave(2), torch.tensor([1, 2, 3]).repeat_interleave(torch.tensor([1, 0, 2])))
print(e.repeat_interleave(2, dim=0), torch.repeat_interleave(torch.tensor([2, 1])), e.repeat_interleave(torch.tensor([3, 1]), dim=0, output_size=4))
print(e.tile((2,)), e.tile((1, 2, 2)).shape, torch.arange(6).view(2, 3).roll(1), torch.arange(6).view(2, 3).roll((1, -1), (0, 1)))
print(t.flip(0, 2)[0], torch.rot90(torch.arange(6).view(2, 3), 1, (0, 1)), torch.rot90(torch.arange(6).view(2, 3), -1).shape, torch.rot90(torch.arange(6).view(2, 3), 2))
layout("narrow", t.narrow(2, 1, 2))
layout("narrow neg", t.narrow(-1, -3, 2))
attempt("narrow bad", lambda: t.narrow(0, 1, 5))
u = torch.arange(10.)
print(u.unfold(0, 3, 2), u.view(2, 5).unfold(1, 2, 1).shape)
layout("unfold", torch.arange(12).view(3, 4).unfold(1, 2, 2))
print([c.shape for c in torch.arange(10).chunk(4)], [c.shape for c in torch.arange(5).chunk(3)], [c.tolist() for c in torch.arange(7).split(3)])
print([c.tolist() for c in torch.arange(7).tensor_split(3)], [c.tolist() for c in torch.arange(7).tensor_split([1, 5])], [c.shape for c in t.tensor_split((1,), dim=2)])
attempt("split sizes", lambda: torch.arange(7).split([3, 3]))
a2, b2 = torch.tensor([1, 2]), torch.tensor([3, 4])
print(torch.hstack([a2, b2]), torch.vstack([a2, b2]), torch.dstack([a2, b2]).shape, torch.column_stack([a2, b2]), torch.row_stack([a2, b2]).shape)
print(torch.column_stack([torch.ones(2, 2), a2]).shape, torch.dstack([torch.ones(2, 2), torch.zeros(2, 2)]).shape, torch.hstack([torch.ones(2, 1), torch.ones(2, 2)]).shape)
attempt("stack shapes", lambda: torch.stack([a2, torch.ones(3)]))
attempt("cat dims", lambda: torch.cat([torch.ones(2, 2), torch.ones(2)]))
attempt("cat empty", lambda: torch.cat([]))
attempt("vstack bad", lambda: torch.vstack([torch.ones(2, 2), torch.ones(3)]))
attempt("cat dim oob", lambda: torch.cat([a2, b2], dim=1))
print(torch.cat([a2, b2.float()]).dtype, torch.cat([torch.ones(2, 0), torch.ones(2, 3)], 1).shape, torch.stack([a2, b2], 1))

# einsum and friends
A, B = torch.randn(2, 3, 4), torch.randn(2, 4, 5)
print(torch.allclose(torch.einsum("bij,bjk->bik", A, B), A @ B), torch.einsum("ii", torch.arange(9.).view(3, 3)), torch.einsum("ii->i", torch.arange(9).view(3, 3)))
print(torch.einsum("i,j->ij", torch.tensor([1, 2]), torch.tensor([3, 4, 5])), torch.einsum("...ij,...jk", A, B).shape, torch.einsum("ij->ji", A[0]).stride())
q, M = torch.randn(3), torch.randn(3, 3)
print(f"{torch.einsum('i,ij,j->', q, M, q).item():.4f}", f"{(q @ M @ q).item():.4f}", torch.einsum("bij->b", A).shape, torch.einsum(A[0], [0, 1], [1]).shape)
attempt("einsum repeated out", lambda: torch.einsum("ij->ii", M))
attempt("einsum operands", lambda: torch.einsum("ij,jk->ik", M))
attempt("einsum size", lambda: torch.einsum("ij,jk->ik", M, torch.ones(2, 2)))
print(torch.tensordot(A, B[0], dims=1).shape, torch.tensordot(A, A, dims=([1, 2], [1, 2])).shape, torch.tensordot(A, A, dims=3).round(decimals=3).item() > 0)
print(torch.kron(torch.tensor([[1, 2], [3, 4]]), torch.tensor([[1, -1]])), torch.kron(torch.ones(2), torch.arange(3.)))
print(torch.block_diag(torch.tensor([[1, 2]]), torch.tensor(3), torch.tensor([[4], [5]])), torch.cartesian_prod(torch.tensor([1, 2]), torch.tensor([0]), torch.tensor([7, 8])))
print(torch.combinations(torch.tensor([1, 2, 3]), r=2, with_replacement=True), torch.combinations(torch.arange(4), 3).shape)
print(torch.tril_indices(3, 4, offset=1), torch.triu_indices(4, 3, offset=-1), torch.triu_indices(3, 3).dtype)
D = torch.arange(24).view(2, 3, 4)
print(torch.diag_embed(torch.tensor([[1, 2], [3, 4]]), offset=1), torch.diag_embed(torch.tensor([1, 2]), dim1=1, dim2=0).shape)
print(D.diagonal(), D.diagonal(offset=1, dim1=1, dim2=2), D.diagonal(-1, 0, 2), torch.diagonal(D[0], 2))
layout("diagonal", D.diagonal(0, 1, 2))
print(torch.diag(torch.tensor([1, 2]), -1), torch.diag(torch.arange(9).view(3, 3), 1))

# gradients through indexing and reshaping
p = torch.arange(6., requires_grad=True)
out = p.view(2, 3)[:, [0, 0, 2]] * torch.tensor([1., 2., 3.])
out.sum().backward()
print(p.grad)
p.grad = None
(p[p > 2] ** 2).sum().backward()
print(p.grad)
p.grad = None
torch.gather(p.view(2, 3), 1, torch.tensor([[1, 1], [0, 2]])).pow(2).sum().backward()
print(p.grad)
p.grad = None
torch.zeros(4).scatter_add(0, torch.tensor([0, 1, 1, 3, 3, 3]), p).mul(torch.tensor([1., 10., 100., 1000.])).sum().backward()
print(p.grad)
P = torch.randn(3, 3, requires_grad=True)
(torch.einsum("ii->", P) + torch.einsum("ij,ij->", P, P)).backward()
print(torch.allclose(P.grad, torch.eye(3) + 2 * P), P.grad.shape)
P.grad = None
P.diagonal(1).sum().backward()
print(P.grad)
P.grad = None
P.unfold(0, 2, 1).sum().backward()
print(P.grad)
Q = torch.ones(2, 2, requires_grad=True)
torch.kron(Q, torch.tensor([[1., 2.], [3., 4.]])).sum().backward()
print(Q.grad)
Q.grad = None
(Q.repeat(2, 3).sum() + Q.expand(3, 2, 2).sum() + Q.flip(1)[0, 0] + Q.roll(1, 0)[0, 1] * 5).backward()
print(Q.grad)
Q.grad = None
torch.block_diag(Q, 2 * Q).sum().backward()
print(Q.grad, torch.tensordot(Q, Q, dims=([0], [1])).requires_grad)
R = torch.zeros(3, requires_grad=True)
R2 = R.clone()
R2[torch.tensor([0, 0, 2])] = torch.tensor([1., 2., 3.])
print(R2, R2.grad_fn is not None)
(R2 * R).sum().backward()
print(R.grad)

# more indexing corners
h = torch.arange(24).view(2, 3, 4)
print(h[h.sum(-1) > 20].shape, h[torch.ones(2, 3, dtype=torch.bool)].shape, h[:, torch.tensor([True, False, True])][..., 0])
print(h[True].shape, h[False].shape, h[None, True, ..., None].shape, h[torch.tensor([-1])].shape, h[-1, -1, -1])
print(h[1, [0, 2]][:, torch.tensor([[1], [3]])].shape, h[[1, 0], 1:, [3, 2]], h[:, 1:3][:, :, 2:].stride())
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(h[torch.tensor([1, 0], dtype=torch.uint8)].shape, h[[[0, 1], [1, 2]]].shape)
print([(w.category.__name__, str(w.message).split(" (Triggered")[0][:60]) for w in caught])
k = torch.zeros(3, 4)
k.index_add_(1, torch.tensor([0, 0, 3]), torch.ones(3, 3))
k.index_fill_(0, torch.tensor([2]), -1)
k.index_copy_(1, torch.tensor([2]), torch.full((3, 1), 5.))
k.masked_fill_(k == 0, 0.5)
print(k, k.masked_scatter(k < 0, torch.arange(12.).view(3, 4)))
attempt("index_select dtype", lambda: k.index_select(0, torch.tensor([0.])))
attempt("index_add shape", lambda: k.index_add(1, torch.tensor([0]), torch.ones(2, 1)))
attempt("masked_fill float mask", lambda: k.masked_fill(k, 0.))
attempt("expanded write", lambda: torch.zeros(3, 1).expand(3, 4).add_(1))
attempt("expanded setitem", lambda: torch.zeros(1, 4).expand(3, 4).__setitem__((0, 0), 5))
ex = torch.zeros(2, 1).expand(2, 3)
print(ex.contiguous().add_(1).stride(), ex.clone().is_contiguous(), ex.clone().stride())

# more layout
tt2 = torch.arange(24).view(2, 3, 4).transpose(1, 2)
layout("view split ok", tt2.view(2, 2, 2, 3))
attempt("view merge bad", lambda: tt2.view(8, 3))
layout("T", torch.ones(2, 3).T)
layout("mT", torch.ones(4, 2, 3).mT)
layout("contiguous", tt2.contiguous())
layout("expand contig", torch.ones(3, 1).expand(3, 2).contiguous())
layout("unsqueeze stride", tt2.unsqueeze(1))
layout("select", tt2[:, 1])
layout("narrow tensor", torch.arange(10).narrow(0, torch.tensor(2), 3))
print([c.shape for c in torch.arange(3).chunk(5)], [c.shape for c in torch.arange(6).split([0, 6])], torch.arange(6).view(2, 3).split(2, 1)[1])
print(torch.arange(10).unfold(0, 4, 5), torch.arange(5.).unfold(0, 5, 1).shape, torch.arange(4).unflatten(0, (-1, 2)))
attempt("unfold size", lambda: torch.arange(4).unfold(0, 5, 1))
attempt("unflatten bad", lambda: torch.arange(6).unflatten(0, (4, -1)))
attempt("chunk zero", lambda: torch.arange(6).chunk(0))
attempt("squeeze dim", lambda: torch.ones(2, 1).squeeze(2))
attempt("flatten dims", lambda: torch.ones(2, 3).flatten(1, 0))
print(torch.triu(torch.arange(9).view(3, 3), 1), torch.tril(torch.ones(2, 3), -1), torch.arange(9).view(3, 3).diagonal(-1, 1, 0))
print(torch.swapdims(torch.ones(2, 3, 4), 0, 1).shape, torch.arange(6).view(2, 3).flip(-1).stride(), torch.fliplr(torch.arange(4).view(2, 2)))
print(torch.ones(2, 3).new_zeros(1).expand(4).stride(), torch.zeros(2, 3)[:, :0].shape, torch.zeros(0, 3).view(-1, 3).shape)
attempt("view empty", lambda: torch.zeros(0, 3).view(-1))
attempt("view -1 empty", lambda: torch.zeros(0, 3).view(-1, 0))
attempt("index_add dtype", lambda: k.index_add(0, torch.tensor([0], dtype=torch.int16), torch.ones(1, 4)))
attempt("index_copy 2d", lambda: k.index_copy(0, torch.tensor([[0]]), torch.ones(1, 4)))
attempt("index_fill dtype", lambda: k.index_fill(0, torch.tensor([0], dtype=torch.int32), 1.))
attempt("take dtype", lambda: torch.take(k, torch.tensor([0], dtype=torch.int32)))
attempt("mask vs int", lambda: h[torch.tensor([True, False]), 5])
attempt("mask 2d", lambda: h[torch.ones(2, 4, dtype=torch.bool)])
attempt("broadcast idx", lambda: h[[0, 1], [0, 1, 2]])
attempt("index oob later", lambda: h[None, 0, ..., 9])
attempt("byte mask fill", lambda: h.__setitem__(torch.tensor([1, 0], dtype=torch.uint8), 0))
attempt("einsum bad char", lambda: torch.einsum("i1->i", M))
attempt("einsum dots", lambda: torch.einsum("i.j->ij", M))
attempt("einsum out missing", lambda: torch.einsum("ij->k", M))
attempt("einsum diag size", lambda: torch.einsum("ii->i", torch.ones(2, 3)))
attempt("einsum ellipsis size", lambda: torch.einsum("...ij,...jk", torch.ones(2, 3, 4), torch.ones(3, 4, 5)))
attempt("einsum dtypes", lambda: torch.einsum("ij,jk->ik", M, M.double()))
print(torch.einsum("i,j->ij", q, q.double()).dtype, torch.einsum("i,i->", torch.ones(3), torch.ones(1)), torch.einsum("ij->...i", M).shape)
attempt("movedim repeat", lambda: t.movedim((0, 0), (1, 2)))
attempt("movedim count", lambda: t.movedim((0, 1), (1,)))
attempt("sum dims repeat", lambda: t.sum((1, -2)))
attempt("unflatten sizes", lambda: t.unflatten(1, (2, -1)))
attempt("view neg", lambda: t.view(4, -2))
