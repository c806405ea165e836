"""Complex tensors, torch.fft on signals and torch.special as a course uses them, seeded."""
import math
import warnings

import torch

torch.manual_seed(0)


def show(label, fn):
    """Print what fn() returns, or the error a typical mistake raises."""
    try:
        print(label, fn())
    except Exception as e:  # noqa: BLE001 - the message is the point
        print(label, type(e).__name__, str(e).split("\n")[0])


def r(t, digits=4):
    """Round a real or complex tensor for printing (long computations may differ by an ulp)."""
    if t.is_complex():
        return torch.complex(t.real.round(decimals=digits), t.imag.round(decimals=digits)) + 0
    return t.round(decimals=digits) + 0


# --- complex construction and dtypes
re, im = torch.tensor([1., 0., -2.]), torch.tensor([0., 1., 0.5])
z = torch.complex(re, im)
print(z, z.dtype, z.shape, z.is_complex(), z.element_size())
print(torch.complex(re.double(), im.double()).dtype)
show("complex-mixed", lambda: torch.complex(re, im.double()))
show("complex-int", lambda: torch.complex(torch.tensor([1, 2]), torch.tensor([3, 4])))
p = torch.polar(torch.tensor([1., 2.]), torch.tensor([0., math.pi / 2]))
print(r(p), p.dtype)
print(torch.tensor([1 + 2j, 3 - 1j]), torch.tensor([1 + 2j]).dtype, torch.tensor(2j))
print(torch.tensor([1j], dtype=torch.complex128), torch.zeros(2, dtype=torch.cfloat), torch.ones(1, dtype=torch.cdouble))
print(torch.randn(2, dtype=torch.cfloat))
print((z + 1).dtype, (z * 2.5).dtype, (z + torch.tensor([1, 2, 3])).dtype, (z + torch.ones(3, dtype=torch.float64)).dtype)
print(torch.tensor([1.]) * 1j, (torch.arange(3) * 1j).dtype, torch.result_type(torch.tensor([1]), 1j))
print(torch.promote_types(torch.complex64, torch.float64), torch.promote_types(torch.int64, torch.complex64))
print(torch.get_default_dtype(), torch.tensor([1j]).real.dtype, torch.tensor([1j], dtype=torch.cdouble).imag.dtype)

vr = torch.view_as_real(z)
print(vr, vr.shape, vr.dtype)
pairs = torch.tensor([[1., 2.], [3., -4.]])
vc = torch.view_as_complex(pairs)
print(vc, vc.shape, vc.abs())
vc[0] = 5 + 5j
print(pairs)  # a view: writing the complex view changes the real tensor
show("view_as_complex-lastdim3", lambda: torch.view_as_complex(torch.zeros(2, 3)))
show("view_as_complex-double", lambda: torch.view_as_complex(torch.zeros(2, 2, dtype=torch.float64)).dtype)
show("view_as_complex-int", lambda: torch.view_as_complex(torch.zeros(2, 2, dtype=torch.int64)))
show("view_as_real-float", lambda: torch.view_as_real(torch.zeros(2)))

# --- parts, magnitude, phase, conjugation
print(z.real, z.imag, z.abs(), r(z.angle()), torch.abs(z).dtype)
zc = z.conj()
print(zc, z.is_conj(), zc.resolve_conj().is_conj(), torch.conj_physical(z).is_conj(), torch.conj_physical(z))
print(torch.conj(re) is re or torch.conj(re).data_ptr() == re.data_ptr(), re.is_conj())
print(z * z.conj(), (z * z.conj()).real, torch.sgn(z))
print(torch.angle(torch.tensor([-1., 0., 2.])), torch.abs(torch.tensor(-3 + 4j)))
z2 = z.clone()
z2.real[0] = 10.
z2.imag.mul_(2)
print(z2)
show("imag-of-real", lambda: re.imag)
print(re.real is not None, torch.real(re))
print(torch.exp(torch.tensor([1j * math.pi])).real.round(decimals=4), r(torch.sqrt(torch.tensor([-4 + 0j]))))
print(r(torch.tensor([1 + 1j]).log()), r(torch.tensor([2j]) ** 2), torch.tensor([1 + 1j]).reciprocal())
print(torch.tensor([1 + 2j, 3 + 4j]).sum(), torch.tensor([1 + 2j, 3 + 4j]).mean(), torch.tensor([1 + 2j, 3j]).prod())
print(torch.tensor([[1 + 1j, 2], [0, 1j]]) @ torch.tensor([1j, 1]))
print(torch.isclose(torch.tensor([1 + 1j]), torch.tensor([1 + 1.0000001j])), torch.tensor([1 + 1j]) == torch.tensor([1 + 1j]))

# --- complex ops that are not defined
show("max", lambda: z.max())
show("sort", lambda: torch.sort(z))
show("lt", lambda: z < z)
show("clamp", lambda: torch.clamp(z, 0, 1))
show("relu", lambda: torch.relu(z))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print("float-cast", z.float(), z.to(torch.float64).dtype)
    torch.zeros(3).copy_(z)
print([(w.category.__name__, str(w.message).split(" (Triggered")[0]) for w in caught])
show("item-complex", lambda: torch.tensor([2 + 3j]).item())
show("tolist", lambda: z.tolist())
show("argmax", lambda: z.argmax())

# --- torch.fft on signals
n = 64
t = torch.arange(n) / n
clean = torch.sin(2 * math.pi * 4 * t)
noisy = clean + 0.3 * torch.randn(n)
spectrum = torch.fft.rfft(noisy)
print(spectrum.shape, spectrum.dtype, r(spectrum.abs()[:6], 2))
freqs = torch.fft.rfftfreq(n, d=1 / n)
print(freqs[:6], freqs.dtype, freqs.shape)
print(torch.fft.fftfreq(8), torch.fft.fftfreq(5, d=0.5))
peak = spectrum.abs().argmax()
print("peak frequency", freqs[peak].item())
filtered = spectrum.clone()
filtered[freqs > 6] = 0
denoised = torch.fft.irfft(filtered, n=n)
print(denoised.shape, f"{(noisy - clean).pow(2).mean():.4f}", f"{(denoised - clean).pow(2).mean():.4f}")

x = torch.tensor([1., 2., 3., 4.])
X = torch.fft.fft(x)
print(X, torch.fft.ifft(X), torch.fft.ifft(X).real)
for norm in [None, "backward", "ortho", "forward"]:
    print(norm, r(torch.fft.fft(x, norm=norm)), r(torch.fft.ifft(torch.fft.fft(x, norm=norm), norm=norm).real))
print(torch.fft.fft(x, n=6), torch.fft.fft(x, n=2), torch.fft.rfft(x, n=3))
print(torch.fft.irfft(torch.fft.rfft(x)), torch.fft.irfft(torch.fft.rfft(x), n=5).shape)
print(torch.fft.hfft(torch.tensor([1., 2j, 3.])).shape, r(torch.fft.ihfft(x)))
img = torch.arange(12.).view(3, 4)
print(r(torch.fft.fft2(img)), torch.fft.rfft2(img).shape, torch.fft.fftn(img, dim=(0,)).shape)
print(r(torch.fft.ifft2(torch.fft.fft2(img)).real, 3), torch.fft.irfft2(torch.fft.rfft2(img), s=img.shape).shape)
print(torch.fft.fft(img, dim=0).shape, r(torch.fft.fft(img, dim=-1)[0]), torch.fft.fftn(img, s=(4, 4)).shape)
print(torch.fft.fftshift(torch.arange(6)), torch.fft.ifftshift(torch.arange(6)), torch.fft.fftshift(torch.arange(5)))
print(torch.fft.fftshift(img, dim=1), torch.fft.fftshift(torch.fft.fftfreq(6)))
print(torch.fft.fft(torch.tensor([1, 0, 0, 0])), torch.fft.rfft(torch.arange(4)).dtype)
print(torch.fft.fft(torch.ones(2, dtype=torch.float64)).dtype, torch.fft.fft(torch.tensor([True, False])))
show("irfft-complex-only", lambda: torch.fft.irfft(torch.tensor([1., 2.])))
show("rfft-complex", lambda: torch.fft.rfft(torch.tensor([1j, 2])))
show("fft-n0", lambda: torch.fft.fft(x, n=0))
show("fft-baddim", lambda: torch.fft.fft(x, dim=1))
show("fft-norm", lambda: torch.fft.fft(x, norm="sym"))

# convolution via FFT equals direct circular convolution
a, k = torch.randn(8), torch.tensor([1., -1., 0.5, 0., 0., 0., 0., 0.])
circ = torch.fft.irfft(torch.fft.rfft(a) * torch.fft.rfft(k), n=8)
direct = torch.stack([sum(a[(i - j) % 8] * k[j] for j in range(8)) for i in range(8)])
print(r(circ), torch.allclose(circ, direct, atol=1e-5))
lin = torch.fft.irfft(torch.fft.rfft(a, n=11) * torch.fft.rfft(torch.tensor([1., -1., 0.5]), n=11), n=10)
conv = torch.nn.functional.conv1d(a.view(1, 1, -1), torch.tensor([0.5, -1., 1.]).view(1, 1, -1), padding=2).view(-1)
print(r(lin), torch.allclose(lin, conv, atol=1e-5))

# --- gradients through the FFT and complex magnitude
s = torch.randn(8, requires_grad=True)
energy = torch.fft.rfft(s).abs().pow(2).sum()
energy.backward()
print(f"{energy.item():.4f}", r(s.grad, 3))
s.grad = None
back = torch.fft.irfft(torch.fft.rfft(s) * torch.tensor([1., 1., 0.5, 0., 0.]), n=8)
(back * torch.arange(8.)).sum().backward()
print(r(s.grad))
w = torch.tensor([3., 4.], requires_grad=True)
m = torch.complex(w[0], w[1]).abs()
m.backward()
print(m, w.grad)
u = torch.tensor([1 + 1j, 2 - 1j], requires_grad=True)
loss = (u * u.conj()).real.sum()
loss.backward()
print(u.grad, u.grad.dtype, u.is_leaf)
v = torch.randn(4, dtype=torch.cfloat, requires_grad=True)
torch.view_as_real(v).pow(2).sum().backward()
print(torch.allclose(v.grad, 2 * v.detach()))
q = torch.tensor([0.5, 1.0], requires_grad=True)
torch.polar(torch.ones(2), q).imag.sum().backward()
print(r(q.grad))

# --- torch.special with edge values
edge = torch.tensor([0., -1., 1., float("inf"), -float("inf"), float("nan")])
unit = torch.tensor([-1., -0.5, 0., 0.5, 1., 2., float("nan")])
prob = torch.tensor([0., 0.25, 0.5, 1., -0.1])
sp = torch.special
print(r(sp.erf(edge)), r(sp.erfc(edge)), r(sp.erfinv(unit)))
print(r(sp.expit(edge)), r(sp.logit(prob)), r(sp.logit(prob, eps=1e-6)))
print(sp.xlogy(torch.tensor([0., 0., 2., 1.]), torch.tensor([0., float("nan"), 3., -1.])))
print(sp.xlogy(2, torch.tensor([1., 4.])), r(sp.xlog1py(torch.tensor([0., 1., 3.]), torch.tensor([-1., 0., 2.]))))
pos = torch.tensor([0.5, 1., 2., 10., 0., -1., -2.5, float("inf")])
print(r(sp.gammaln(pos)), r(sp.digamma(pos)), r(torch.lgamma(pos)))
print(r(sp.polygamma(1, torch.tensor([1., 2., 0.5]))), r(sp.polygamma(2, torch.tensor([1., 3.]))))
print(r(sp.multigammaln(torch.tensor([2., 3.5]), 2)), r(torch.mvlgamma(torch.tensor([2.5]), p=3)))
show("multigammaln-small", lambda: sp.multigammaln(torch.tensor([0.5]), 3))
bes = torch.tensor([0., 1., -2., 5., 30.])
print(r(sp.i0(bes)), r(sp.i0e(bes)), r(sp.i1(bes)), r(sp.i1e(bes)), r(torch.i0(bes)))
print(r(sp.ndtr(edge)), r(sp.ndtri(prob)), r(sp.log_ndtr(torch.tensor([-40., -5., 0., 5.]))))
print(r(sp.sinc(torch.tensor([0., 0.5, 1., -1.5, float("inf")]))), r(torch.sinc(torch.tensor([0.25]))))
print(r(sp.entr(torch.tensor([0., 0.5, 1., -1., float("inf")]))), sp.entr(torch.tensor([0.3])).dtype)
mat = torch.randn(2, 5)
print(r(sp.logsumexp(mat, dim=1)), r(sp.logsumexp(mat, dim=1, keepdim=True)).shape)
print(r(sp.logsumexp(torch.tensor([-float("inf"), -float("inf")]), 0)), sp.logsumexp(torch.tensor([float("inf"), 1.]), 0))
print(r(sp.softmax(mat, dim=1).sum(1)), r(sp.log_softmax(mat, 0)), sp.softmax(torch.arange(3), 0, dtype=torch.float64))
print(sp.round(torch.tensor([0.5, 1.5, 2.5, -0.5, 1.2345])), sp.round(torch.tensor([1.2345]), decimals=2))
print(r(sp.exp2(torch.tensor([3., -1.]))), r(sp.expm1(torch.tensor([1e-8, 1.]))), r(sp.log1p(torch.tensor([-1., 1e-8]))))
print(r(sp.bessel_j0(bes)), r(sp.bessel_j1(bes)))
print(r(sp.erfcx(torch.tensor([0., 1., 30.]))), r(sp.psi(torch.tensor([1.]))), r(sp.gammainc(torch.tensor([2.]), torch.tensor([1.]))))
print(sp.erf(torch.tensor([1, 2])).dtype, sp.expit(torch.tensor([0])), sp.gammaln(torch.tensor([3])).dtype)
show("erf-complex", lambda: sp.erf(torch.tensor([1j])))
show("polygamma-neg", lambda: sp.polygamma(-1, torch.tensor([1.])))
show("digamma-bool", lambda: sp.digamma(torch.tensor([True])))

# gradients of special functions, rounded
g = torch.tensor([0.3, 1.2, 2.0], requires_grad=True)
(sp.erf(g) + sp.gammaln(g) + sp.expit(g) + sp.xlogy(g, g) + sp.i0(g) + sp.log_ndtr(g)).sum().backward()
print(r(g.grad))
g.grad = None
(sp.erfinv(g / 3) + sp.logit(g / 3) + sp.digamma(g) + sp.entr(g) + sp.sinc(g) + sp.ndtri(g / 3)).sum().backward()
print(r(g.grad))

# a few more a course meets: batched spectra, complex linear algebra, zeta and friends
batch = torch.randn(3, 16)
power = torch.fft.rfft(batch, dim=-1).abs().pow(2)
print(power.shape, r(power.sum(-1) / 16, 3), r(batch.pow(2).sum(-1), 3))
print(torch.fft.fft(torch.randn(4, 2), dim=0).shape, torch.fft.ifftn(torch.ones(2, 2, 2, dtype=torch.cfloat)))
cm = torch.tensor([[1 + 1j, 2], [3j, 4 - 1j]])
print(cm.T, cm.mH, cm.adjoint(), r(torch.linalg.det(cm)), cm.sum(dim=0), cm.abs().max())
print(cm.flatten(), cm.reshape(4)[1:], cm.unsqueeze(0).shape, torch.cat([cm, cm.conj()]).shape, cm.dtype.is_complex)
print(torch.zeros(2, dtype=torch.complex64).real.stride(), torch.view_as_real(cm).stride(), cm.is_floating_point())
print(r(sp.zeta(torch.tensor([2., 4.]), 1.)), r(sp.log1p(torch.tensor([float("inf"), -2.]))), sp.xlogy(torch.tensor([0.]), 0.))
print(r(sp.gammaincc(torch.tensor([1., 3.]), torch.tensor([2., 0.5]))), r(sp.logit(torch.tensor([0.2]), eps=0.3)))
ang = torch.tensor([1 + 1j, -1 - 2j], requires_grad=True)
(ang.angle().sum() + ang.abs().sum()).backward()
print(ang.grad)
zero = torch.zeros(2, dtype=torch.cfloat, requires_grad=True)
zero.abs().sum().backward()
print(zero.grad)
