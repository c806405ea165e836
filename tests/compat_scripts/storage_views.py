"""Lecture 1's core: a tensor is a strided view (size, stride, offset) of a flat 1-D storage."""
import warnings

import numpy as np
import torch

warnings.simplefilter("ignore")          # TypedStorage deprecation goes to stderr, not compared
torch.manual_seed(0)


def attempt(label, fn):
    try:
        out = fn()
        print(label, "ok", out)
    except Exception as e:
        print(label, type(e).__name__, str(e).split("\n")[0])


def layout(label, t):
    print(label, tuple(t.size()), t.stride(), t.storage_offset(), t.is_contiguous())


# -- storage, offset, stride of the basic views --------------------------------------------------
x = torch.arange(12.)
m = x.view(3, 4)
layout("m", m)
layout("m.t()", m.t())
layout("m[1]", m[1])
layout("m[:, 1]", m[:, 1])
layout("m[1:, 2:]", m[1:, 2:])
layout("m.narrow(1, 1, 2)", m.narrow(1, 1, 2))
layout("m[::2, ::3]", m[::2, ::3])
layout("m.diagonal()", m.diagonal())
layout("m.diagonal(1)", m.diagonal(1))
layout("m.unsqueeze(1)", m.unsqueeze(1))
layout("m.view(3, 1, 4).squeeze()", m.view(3, 1, 4).squeeze())
layout("m.view(2, 3, 2).permute(2, 0, 1)", m.view(2, 3, 2).permute(2, 0, 1))
layout("m.unfold(1, 2, 1)", m.unfold(1, 2, 1))
layout("x.unfold(0, 4, 2)", x.unfold(0, 4, 2))
layout("m.select(0, 2)", m.select(0, 2))
layout("expand", torch.tensor([[1.], [2.]]).expand(2, 5))
layout("scalar", torch.tensor(3.))
print(m.size(), m.size(1), m.size(-1), m.stride(0), m.stride(-1), m.dim(), m.numel())
print(m.storage().size(), len(m.storage()), m[1:].storage().size(), m.t().storage().data_ptr() == x.storage().data_ptr())
print(m.untyped_storage().nbytes(), m.untyped_storage().size(), m.storage().element_size(), m.storage().dtype)
print(m.element_size(), m.nbytes, m.itemsize, torch.zeros(3, dtype=torch.int16).nbytes, torch.zeros(2, 2, dtype=torch.float64).itemsize)
print(m[1:, 1:].nbytes, torch.ones(4).expand(3, 4).nbytes, torch.ones(4).expand(3, 4).untyped_storage().nbytes())
print(m.storage().tolist()[:5], m.storage()[3], m[2].storage()[0], list(m.t().storage())[-2:])
print(m.storage())
print(torch.tensor([1, 2, 3], dtype=torch.int8).storage())
print(torch.tensor([True, False]).storage())
print(torch.tensor([1., 2.]).untyped_storage())
print(torch.tensor([1], dtype=torch.int16).untyped_storage().tolist())

# -- writing through views changes the base -----------------------------------------------------
base = torch.zeros(3, 4)
base[1].fill_(1)
base[:, 2] = 2
base.t()[3].add_(5)
base.narrow(0, 2, 1).mul_(10)
base.diagonal().fill_(-1)
print(base)
v = base.view(12)
v[0] = 100
base.view(2, 6)[1, 5] = 7
print(base)
u = base.unsqueeze(0).permute(2, 0, 1)
u[0, 0, 0] = 42
print(base[0], u.shape, u.is_contiguous())
w = torch.arange(8.)
w.unfold(0, 3, 2)[1, 0] = -9
w.view(2, 4).select(1, 3).zero_()
print(w, w.view(4, 2)[:, 0].squeeze(), w.view(1, 8).squeeze(0).data_ptr() == w.data_ptr())

# -- as_strided, overlapping windows, set_ -------------------------------------------------------
s = torch.arange(10.)
win = s.as_strided((4, 3), (2, 1))
layout("windows", win)
print(win)
print(s.as_strided((3, 3), (1, 1), 2), s.as_strided((2, 2), (0, 3), 1))
hank = torch.as_strided(s, (3, 4), (1, 1))
print(hank, hank.storage_offset(), hank.sum())
win[0, 2] = 50.                # also visible in row 1 (overlap)
print(s, win[1])
attempt("as_strided out of bounds", lambda: s.as_strided((4, 4), (3, 1)))
attempt("as_strided negative stride", lambda: s.as_strided((2,), (-1,)))
c = torch.empty(0)
c.set_(s.storage(), 2, (2, 3), (3, 1))
layout("set_", c)
print(c)
c[0, 0] = -2
print(s[:4], c.storage().data_ptr() == s.storage().data_ptr())
d = torch.empty(0).set_(s.storage())
print(d.shape, d.storage_offset(), d.is_set_to(s), torch.empty(0).set_(s).is_set_to(s))
e = torch.tensor([1.]).set_(s.storage(), 1, (3,), (3,))
print(e, e.stride())
grown = torch.empty(0).set_(torch.FloatStorage(2), 1, (2, 3))          # set_ grows a storage too small
print(grown.shape, grown.stride(), grown.storage().size(), grown.untyped_storage().nbytes())
attempt("set_ negative offset", lambda: torch.empty(0).set_(s.storage(), -1, (2,)))
attempt("set_ size/stride mismatch", lambda: torch.empty(0).set_(s.storage(), 0, (2, 2), (1,)))
attempt("set_ negative stride", lambda: torch.empty(0).set_(s.storage(), 0, (2,), (-1,)))
attempt("as_strided mismatch", lambda: s.as_strided((2, 2), (1,)))
attempt("as_strided negative offset", lambda: s.as_strided((2,), (1,), -1))
attempt("as_strided past the end", lambda: s.as_strided((2,), (1,), 9))
print(s.as_strided((0, 3), (1, 1), 20).shape, torch.empty(0).set_(s.storage(), 12, (0, 3)).shape)
attempt("set_ wrong dtype", lambda: torch.empty(0, dtype=torch.long).set_(s.storage()))
print(torch.empty(3).set_().shape, torch.empty(3).set_().storage().size())

# -- contiguous(): when it copies ----------------------------------------------------------------
a = torch.arange(6).view(2, 3)
print(a.contiguous() is a, a.contiguous().data_ptr() == a.data_ptr())
at = a.t()
ac = at.contiguous()
print(at.is_contiguous(), ac.is_contiguous(), ac.data_ptr() == at.data_ptr(), ac.stride(), ac)
ac[0, 0] = 99
print(a[0, 0].item())
print(a[:, :1].is_contiguous(), a[:1].is_contiguous(), a[:, 1:2].contiguous().data_ptr() == a[:, 1:2].data_ptr())
print(torch.ones(1, 3).expand(1, 3).is_contiguous(), torch.ones(3, 1).expand(3, 4).is_contiguous(), torch.empty(0, 2).t().is_contiguous())
print(torch.zeros(3, 1).t().is_contiguous(), torch.zeros(1, 4)[:, ::2].is_contiguous(), torch.zeros(4, 1)[::2].is_contiguous())

# -- reshape vs view -----------------------------------------------------------------------------
attempt("view of t()", lambda: at.view(6))
attempt("view of slice", lambda: torch.arange(12).view(3, 4)[:, :2].view(6))
attempt("view bad size", lambda: a.view(4, 2))
attempt("view two -1", lambda: a.view(-1, -1))
attempt("view 0 elems", lambda: torch.empty(0).view(2, -1))
r = at.reshape(6)
print(r, r.data_ptr() == at.data_ptr(), a.reshape(3, 2).data_ptr() == a.data_ptr())
print(at.view(3, 2).shape if at.is_contiguous() else "not contiguous", a.t().view(3, 1, 2).stride(), a.view(3, 2).stride())
print(torch.arange(24).view(2, 3, 4).transpose(0, 1).view(3, 2, 2, 2).stride())
attempt("view 3d transposed", lambda: torch.arange(24).view(2, 3, 4).transpose(1, 2).view(2, 12))
print(torch.arange(24).view(2, 3, 4)[:, 1:].reshape(2, 8).data_ptr() == torch.arange(24).data_ptr())
f = torch.arange(6.).view(2, 3)
print(f.view(torch.int32).shape, f.view(torch.int16).shape, f.view(-1, 1).flatten().data_ptr() == f.data_ptr(), f.flatten() is f)
attempt("view dtype bad", lambda: f[:, :1].view(torch.int8))
g8 = torch.arange(8.).view(2, 4)
for label, t, dt in [("as double", g8, torch.float64), ("as int16", g8, torch.int16), ("row as double", g8[1], torch.float64),
                     ("cols as double", g8[:, 2:], torch.float64), ("odd offset", torch.arange(4.)[1:3], torch.float64),
                     ("odd stride", torch.arange(12.).view(4, 3)[:, :2], torch.float64), ("t() as int8", g8.t(), torch.int8),
                     ("scalar", torch.tensor(1.), torch.float64), ("as bool", torch.tensor([1., 2.]), torch.bool),
                     ("as uint8", torch.tensor([1., -2.]), torch.uint8)]:
    attempt(label, lambda: (lambda r: (tuple(r.shape), r.stride(), r.storage_offset(), r.storage().size(), r.storage().dtype))(t.view(dt)))
bits = torch.tensor([1.0, -2.0, 0.5])
print(bits.view(torch.int32), bits.view(torch.uint8), bits.view(torch.int16).view(torch.float32))
dv = torch.zeros(4).view(torch.float64)
dv[0] = 1.0
print(dv, torch.arange(3., requires_grad=True).view(torch.int32).requires_grad)

# -- expand + in-place ---------------------------------------------------------------------------
ex = torch.tensor([[1.], [2.]]).expand(2, 3)
attempt("expand add_", lambda: ex.add_(1))
attempt("expand fill_", lambda: ex.fill_(0))
attempt("expand setitem", lambda: ex.__setitem__((0, 0), 5.))
attempt("expand bad size", lambda: torch.ones(2, 3).expand(4, 3))
attempt("expand fewer dims", lambda: torch.ones(2, 3).expand(3))
print(ex.clone().add_(1), ex.contiguous().stride(), ex.expand(4, 2, 3).stride(), ex.expand(-1, 3).shape)
print(torch.ones(2, 3).expand_as(torch.empty(5, 2, 3)).stride())

# -- clone(memory_format=...) --------------------------------------------------------------------
img = torch.arange(24.).view(1, 2, 3, 4)
cl = img.clone(memory_format=torch.channels_last)
print(cl.stride(), cl.is_contiguous(), cl.is_contiguous(memory_format=torch.channels_last), torch.equal(cl, img))
print(img.permute(0, 2, 3, 1).clone().stride(), img.t().clone(memory_format=torch.preserve_format).stride() if img.dim() == 2 else img.transpose(2, 3).clone().stride())
print(img.transpose(2, 3).clone(memory_format=torch.contiguous_format).stride(), cl.contiguous().stride(), cl.contiguous(memory_format=torch.channels_last) is cl)
print(img[:, :, ::2].clone().stride(), torch.empty_like(cl).stride(), torch.zeros_like(img.transpose(1, 3)).stride())

# -- NumPy shares memory both ways ---------------------------------------------------------------
arr = np.arange(6, dtype=np.float32).reshape(2, 3)
ft = torch.from_numpy(arr)
arr[0, 0] = 10
ft[1, 2] = -1
print(ft, arr.tolist(), ft.dtype, ft.stride())
back = ft.numpy()
back[0, 1] = 7
print(ft[0], back.dtype, np.shares_memory(back, arr), ft.t().numpy().strides, ft[:, 1].numpy().flags["C_CONTIGUOUS"])
ft.add_(1)
print(arr)
tn = torch.ones(3)
nn_ = tn.numpy()
tn.mul_(4)
print(nn_, torch.as_tensor(arr).data_ptr() == ft.data_ptr(), torch.tensor(arr).data_ptr() == ft.data_ptr())
attempt("numpy of requires_grad", lambda: torch.ones(2, requires_grad=True).numpy())
print(torch.ones(2, requires_grad=True).detach().numpy(), torch.from_numpy(np.arange(3)).dtype)
print(torch.from_numpy(arr[:, ::2]).stride(), torch.from_numpy(arr[:, 1:]).storage_offset(), torch.from_numpy(arr.T).is_contiguous())

# -- .data vs .detach(): both alias ---------------------------------------------------------------
p = torch.ones(3, requires_grad=True)
pd, pdt = p.data, p.detach()
pd[0] = 5
pdt[1] = 6
print(p, pd.requires_grad, pdt.requires_grad, pd.data_ptr() == p.data_ptr(), pdt.data_ptr() == p.data_ptr())
print(p._version, pd._version, pdt._version)
q = p * 2
q.sum().backward()
print(p.grad, p.is_leaf)
sg = torch.ones(3, requires_grad=True)
out = sg.sigmoid()
out.data.mul_(2)                # hidden from autograd: backward runs on the changed values
out.sum().backward()
print(sg.grad, out._version)
out2 = torch.ones(3, requires_grad=True).sigmoid()
out2.detach().mul_(2)           # seen by autograd through the shared version counter
attempt("backward after detach().mul_", lambda: out2.sum().backward())

# -- in-place ops on overlapping views ------------------------------------------------------------
o = torch.arange(8.)
o[1:].add_(o[:-1].clone())
print(o)
o2 = torch.arange(8.)
o2[2:5] = o2[0:3].clone()
print(o2)
o3 = torch.arange(8.)
o3[:4].copy_(o3[4:])
print(o3)
o4 = torch.arange(6.).view(2, 3)
o4.t()[0].mul_(100)
print(o4)
attempt("overlapping add_ of shifted view", lambda: o.view(-1)[1:].add_(o.view(-1)[:-1]))
ov = torch.zeros(5)
ov.as_strided((3, 2), (1, 1)).clone().add_(1)
print(ov, torch.zeros(5).as_strided((3, 2), (1, 1)).sum())

# -- storage resizing ----------------------------------------------------------------------------
g = torch.arange(4.)
g.resize_(2, 3)
print(g.shape, g[:1], g.storage().size(), g.stride())
h = torch.arange(6.)
h.resize_(2, 2)
print(h, h.storage().size(), h.numel())
h.resize_(0)
print(h.shape, h.storage().size())
st = torch.arange(3.).storage()
print(st.size(), st.dtype, type(st).__name__)
st2 = torch.FloatStorage(4)
print(st2.size(), torch.tensor(st2).shape if False else torch.empty(0).set_(st2).shape)
attempt("resize grad", lambda: torch.ones(2, requires_grad=True).resize_(3))
st3 = torch.FloatStorage(4)
st3.resize_(6)
print(st3.size(), torch.empty(0).set_(st3).shape)
