"""flambeau.fft and stft/istft against torch: values, dtypes, gradients (real and complex inputs), errors."""
import warnings

import numpy as np
import pytest
import torch

import flambeau
from _oracle import assert_same, on_device, same_error, host_reads

NORMS = (None, "backward", "ortho", "forward")
# every n, dim and norm, not every combination (kept fast)
ONE_D_ARGS = [dict(), dict(n=4), dict(n=9, dim=0), dict(n=9, norm="backward"), dict(dim=0, norm="ortho"),
              dict(n=4, norm="forward"), dict(n=9, norm="ortho")]


def _input(rng, shape, kind):
    a = rng.standard_normal(shape)
    if kind == "complex":
        return a + 1j * rng.standard_normal(shape)
    if kind == "int":
        return np.rint(a * 3).astype(np.int64)
    if kind == "float32":
        return a.astype(np.float32)
    return a


def compare(fn, a, device, grad=True, seed=1):
    """fn(lib, x) on flambeau (on device) and torch: the result, then the gradient of x under a random
    (complex, for a complex result) upstream gradient."""
    grad = grad and a.dtype.kind in "fc"
    ours = flambeau.tensor(a, device=device, requires_grad=grad)
    ref = torch.tensor(a, requires_grad=grad)
    single = a.dtype in (np.float32, np.complex64) or a.dtype.kind == "i"      # integers become float32
    tol = dict(rtol=1e-4, atol=1e-5) if single else dict(rtol=1e-7, atol=1e-9)
    out, out_ref = fn(on_device(flambeau, device), ours), fn(torch, ref)
    assert_same(out, out_ref, device=device, **tol)
    if not grad:
        return
    cot = _input(np.random.default_rng(seed), tuple(out_ref.shape), "complex" if out_ref.is_complex() else "real")
    out.backward(flambeau.tensor(cot, device=device))
    out_ref.backward(torch.tensor(cot))
    assert_same(ours.grad, ref.grad, device=device, **tol)


# -- one-dimensional transforms ---------------------------------------------------------------------
ONE_D = {"fft": ("real", "complex"), "ifft": ("real", "complex"), "rfft": ("real",), "ihfft": ("real",),
         "irfft": ("real", "complex"), "hfft": ("real", "complex")}


@pytest.mark.parametrize("name", sorted(ONE_D))
def test_one_dimensional_values_and_gradients(name, device):
    rng = np.random.default_rng(0)
    for kind in ONE_D[name]:
        a = _input(rng, (3, 6), kind)
        for args in ONE_D_ARGS:
            compare(lambda lib, x: getattr(lib.fft, name)(x, **args), a, device)


@pytest.mark.parametrize("name", sorted(ONE_D))
def test_one_dimensional_dtypes(name, device):
    """float32 -> complex64 (or float32), integers to the default float, complex64 kept."""
    rng = np.random.default_rng(1)
    for kind in ("float32", "int"):
        compare(lambda lib, x: getattr(lib.fft, name)(x), _input(rng, (5,), kind), device)
    if "complex" in ONE_D[name]:
        compare(lambda lib, x: getattr(lib.fft, name)(x, n=7), _input(rng, (2, 5), "complex").astype(np.complex64),
                device)


# -- n-dimensional transforms -----------------------------------------------------------------------
SHAPES_AND_DIMS = [dict(), dict(s=(3, 5)), dict(dim=(0, 2)), dict(s=(4, -1), dim=(2, 0)), dict(s=(7,)),
                   dict(dim=1), dict(s=(2, 3, 9))]
N_D = {"fftn": ("real", "complex"), "ifftn": ("real", "complex"), "rfftn": ("real",), "ihfftn": ("real",),
       "irfftn": ("real", "complex"), "hfftn": ("real", "complex")}


@pytest.mark.parametrize("name", sorted(N_D))
def test_n_dimensional_values_and_gradients(name, device):
    rng = np.random.default_rng(2)
    for kind in N_D[name]:
        a = _input(rng, (4, 3, 6), kind)
        for i, args in enumerate(SHAPES_AND_DIMS):
            norm = NORMS[i % len(NORMS)]
            compare(lambda lib, x: getattr(lib.fft, name)(x, norm=norm, **args), a, device)


@pytest.mark.parametrize("name", ["fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2"])
def test_two_dimensional(name, device):
    rng = np.random.default_rng(3)
    kinds = ("real",) if name in ("rfft2", "ihfft2") else ("real", "complex")
    for kind in kinds:
        a = _input(rng, (2, 4, 5), kind)
        for args, norm in ((dict(), "ortho"), (dict(s=(5, 3), dim=(-1, 0)), "forward")):
            compare(lambda lib, x: getattr(lib.fft, name)(x, norm=norm, **args), a, device)
    compare(lambda lib, x: getattr(lib.fft, name)(x), _input(rng, (3, 4), "float32"), device)
    compare(lambda lib, x: getattr(lib.fft, name)(x), _input(rng, (3, 4), "int"), device)


def test_round_trips_and_compositions(device):
    """Second derivatives and chains: the backward of each transform is itself differentiable."""
    rng = np.random.default_rng(4)
    a = _input(rng, (4, 6), "real")
    compare(lambda lib, x: lib.fft.irfft(lib.fft.rfft(x, norm="ortho"), n=6, norm="ortho"), a, device)
    compare(lambda lib, x: lib.fft.ifftn(lib.fft.fftn(x) * lib.fft.fftn(x)).real, a, device)
    compare(lambda lib, x: lib.fft.fftn(x, dim=()), a, device)
    c = _input(rng, (4, 6), "complex")
    compare(lambda lib, x: lib.fft.ifftn(x, dim=(), norm="forward"), c, device)
    compare(lambda lib, x: lib.fft.hfft(lib.fft.ihfft(x.abs(), n=7), n=7), c, device)
    ours = flambeau.tensor(a, device=device, requires_grad=True)
    ref = torch.tensor(a, requires_grad=True)
    grads = []
    for lib, x in ((on_device(flambeau, device), ours), (torch, ref)):
        y = lib.fft.irfft(lib.fft.rfft(x) * lib.fft.rfft(x), n=6).pow(2).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sin().sum(), x)
        grads.append((g, gg))
    assert_same(grads[0], grads[1], rtol=1e-7, atol=1e-9, device=device)


@pytest.mark.parametrize("name,kind,args", [
    ("fft", "complex", dict(n=5)), ("ifft", "real", dict(n=7, norm="ortho")), ("rfft", "real", dict(n=7)),
    ("irfft", "complex", dict(n=9)), ("hfft", "complex", dict(n=8, norm="forward")), ("ihfft", "real", dict(n=5)),
    ("fftn", "real", dict(s=(3, 7))), ("rfft2", "real", dict(s=(3, 7))), ("irfftn", "complex", dict(s=(3, 7))),
    ("hfftn", "complex", dict(s=(5, 5), norm="ortho")), ("ihfftn", "real", dict(s=(5, 5))),
    ("ifft2", "complex", dict(dim=(1, 0)))])
def test_gradcheck_float64(name, kind, args, device):
    a = _input(np.random.default_rng(5), (4, 6), kind)
    x = flambeau.tensor(a, device=device, requires_grad=True)
    fn = getattr(flambeau.fft, name)
    assert flambeau.autograd.gradcheck(lambda t: fn(t, **args), (x,))
    if name in ("irfft", "ihfft", "rfft2", "hfftn"):    # the backward of each primitive, differentiated
        assert flambeau.autograd.gradgradcheck(lambda t: fn(t, **args), (x,))


def test_results_stay_on_the_device_without_host_reads(device):
    x = flambeau.tensor(_input(np.random.default_rng(6), (3, 8), "real"), device=device, requires_grad=True)
    with host_reads() as reads:
        y = flambeau.fft.irfftn(flambeau.fft.rfftn(x), s=(3, 8)) + flambeau.fft.fft2(x).abs()
        y.sum().backward()
    assert reads[0] == 0
    assert y.device.type == x.grad.device.type == flambeau.device(device).type


def test_out(device):
    rng = np.random.default_rng(7)
    a, c = _input(rng, (3, 4), "real"), _input(rng, (3, 4), "complex")
    for name, x, out_dtype in (("fft", a, "complex64"), ("fftn", c, "complex128"), ("rfft", a, "complex128"),
                               ("irfft", c, "float32"), ("hfft2", c, "float64"), ("ihfft", a, "complex128")):
        results = []
        for lib in (on_device(flambeau, device), torch):
            out = lib.zeros(2, dtype=getattr(lib, out_dtype))
            r = getattr(lib.fft, name)(lib.tensor(x), out=out)
            assert r is out
            results.append(out)
        assert_same(results[0], results[1], rtol=1e-5, atol=1e-6, device=device)


@pytest.mark.parametrize("call", [
    lambda lib: lib.fft.fft(lib.ones(4, 6), n=0),
    lambda lib: lib.fft.fft(lib.ones(4, 6), dim=2),
    lambda lib: lib.fft.fft(lib.tensor(1.0)),
    lambda lib: lib.fft.fft(lib.ones(4, dtype=lib.float16)),
    lambda lib: lib.fft.rfftn(lib.ones(4, dtype=lib.float16)),
    lambda lib: lib.fft.fft(lib.ones(4), norm="bad"),
    lambda lib: lib.fft.rfft(lib.ones(4, dtype=lib.complex64)),
    lambda lib: lib.fft.ihfft(lib.ones(4, dtype=lib.complex64)),
    lambda lib: lib.fft.rfftn(lib.ones(4, dtype=lib.complex64)),
    lambda lib: lib.fft.ihfftn(lib.ones(4, 4, dtype=lib.complex64)),
    lambda lib: lib.fft.irfft(lib.ones(1)),
    lambda lib: lib.fft.hfft(lib.ones(1, dtype=lib.complex128)),
    lambda lib: lib.fft.fftn(lib.ones(4, 6), s=(3,), dim=(0, 1)),
    lambda lib: lib.fft.fftn(lib.ones(4, 6), s=(3, 3, 3)),
    lambda lib: lib.fft.fftn(lib.ones(4, 6), dim=(0, -2)),
    lambda lib: lib.fft.fftn(lib.ones(4, 6), s=(0, 3)),
    lambda lib: lib.fft.fft(lib.ones(4, 0)),
    lambda lib: lib.fft.rfftn(lib.ones(4, 6), dim=()),
    lambda lib: lib.fft.irfftn(lib.ones(4, 6), dim=()),
    lambda lib: lib.fft.hfftn(lib.ones(4, 6), dim=()),
    lambda lib: lib.fft.ihfftn(lib.ones(4, 6), dim=()),
    lambda lib: lib.fft.fft2(lib.ones(3)),
    lambda lib: lib.fft.fft(lib.ones(3), out=lib.zeros(3)),
    lambda lib: lib.fft.rfft(lib.ones(3), out=lib.zeros(3)),
    lambda lib: lib.fft.irfft(lib.ones(3), out=lib.zeros(3, dtype=lib.complex64)),
    lambda lib: lib.fft.fft(lib.ones(3, requires_grad=True), out=lib.zeros(3, dtype=lib.complex64,
                                                                             requires_grad=True)),
    lambda lib: lib.fft.fftfreq(5, dtype=lib.int64),
    lambda lib: lib.fft.fftfreq(-1),
    lambda lib: lib.fft.fftshift(lib.ones(2, 3), dim=5),
])
def test_errors(call, device):
    same_error(call, device)


def test_fftfreq_rfftfreq(device):
    for n in (0, 1, 4, 7):
        for d in (1.0, 0.3):
            for dtype in (None, "float64", "float32"):
                for name in ("fftfreq", "rfftfreq"):
                    mine = getattr(flambeau.fft, name)(n, d, dtype=dtype and getattr(flambeau, dtype), device=device)
                    ref = getattr(torch.fft, name)(n, d=d, dtype=dtype and getattr(torch, dtype))
                    assert_same(mine, ref, device=device)
    assert flambeau.fft.fftfreq(4, requires_grad=True).requires_grad


def test_fftshift_ifftshift(device):
    rng = np.random.default_rng(8)
    for shape in ((5,), (4, 7), (2, 3, 5)):
        for dim in (None, 0, -1, (0, -1)):
            for name in ("fftshift", "ifftshift"):
                compare(lambda lib, x: getattr(lib.fft, name)(x, dim=dim), _input(rng, shape, "complex"), device)
                compare(lambda lib, x: getattr(lib.fft, name)(x, dim=dim), _input(rng, shape, "int"), device)
    freqs = flambeau.fft.fftfreq(7, device=device)
    assert_same(flambeau.fft.ifftshift(flambeau.fft.fftshift(freqs)), torch.fft.fftfreq(7), device=device)


# -- stft / istft -----------------------------------------------------------------------------------
STFT_OPTIONS = [dict(), dict(hop_length=5, win_length=12, window="hann"), dict(center=False, normalized=True),
                dict(onesided=False, window="hann"), dict(pad_mode="constant", hop_length=3),
                dict(win_length=10, hop_length=4), dict(pad_mode="replicate", normalized=True, hop_length=8)]


def _window(lib, options, device, dtype="float64"):
    options = dict(options)
    if options.get("window") == "hann":
        where = {} if lib is torch else {"device": device}
        options["window"] = lib.hann_window(options.get("win_length", 16), dtype=getattr(lib, dtype), **where)
    return options


@pytest.mark.parametrize("options", STFT_OPTIONS)
def test_stft_istft(options, device):
    rng = np.random.default_rng(9)
    for shape, kind in (((2, 60), "real"), ((50,), "real"), ((40,), "complex")):     # complex: two-sided
        a = _input(rng, shape, kind)

        def both(lib, x):
            opts = _window(lib, options, device)
            spec = lib.stft(x, 16, return_complex=True, **opts)
            opts.pop("pad_mode", None)
            back = lib.istft(spec, 16, length=shape[-1], return_complex=kind == "complex", **opts)
            return spec, back
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = flambeau.tensor(a, device=device, requires_grad=True)
            ref = torch.tensor(a, requires_grad=True)
            out, out_ref = both(on_device(flambeau, device), ours), both(torch, ref)
            assert_same(out, out_ref, rtol=1e-7, atol=1e-9, device=device)
            cot = [_input(rng, tuple(r.shape), "complex" if r.is_complex() else "real") for r in out_ref]
            flambeau.autograd.backward(list(out), [flambeau.tensor(c, device=device) for c in cot])
            torch.autograd.backward(list(out_ref), [torch.tensor(c) for c in cot])
            assert_same(ours.grad, ref.grad, rtol=1e-7, atol=1e-9, device=device)


def test_stft_istft_methods_window_gradient_and_dtypes(device):
    rng = np.random.default_rng(10)
    signal = _input(rng, (70,), "float32")
    window = np.hanning(12)
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lib in (on_device(flambeau, device), torch):
            x = lib.tensor(signal, requires_grad=True)
            w = lib.tensor(window, requires_grad=True)     # float64: promotes the float32 signal
            spec = x.stft(12, hop_length=3, window=w, return_complex=True)
            real_view = x.stft(12, hop_length=3, window=w, return_complex=False)
            back = spec.istft(12, hop_length=3, window=w, center=True)
            back.pow(2).sum().backward()
            results.append((spec, real_view, back, x.grad, w.grad))
    assert_same(results[0], results[1], rtol=1e-6, atol=1e-7, device=device)


def test_stft_istft_gradcheck(device):
    x = flambeau.tensor(_input(np.random.default_rng(11), (40,), "real"), device=device, requires_grad=True)
    w = flambeau.hann_window(10, dtype=flambeau.float64, device=device).requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert flambeau.autograd.gradcheck(
            lambda t, win: flambeau.istft(flambeau.stft(t, 10, hop_length=3, window=win, return_complex=True) * 2,
                                          10, hop_length=3, window=win + 1, length=40), (x, w))


@pytest.mark.parametrize("call", [
    lambda lib: lib.stft(lib.ones(100), 16),
    lambda lib: lib.stft(lib.ones(2, 3, 100), 16, return_complex=True),
    lambda lib: lib.stft(lib.ones(100), 200, center=False, return_complex=True),
    lambda lib: lib.stft(lib.ones(100), 16, hop_length=0, return_complex=True),
    lambda lib: lib.stft(lib.ones(100), 16, win_length=20, return_complex=True),
    lambda lib: lib.stft(lib.ones(100), 16, window=lib.ones(5), return_complex=True),
    lambda lib: lib.stft(lib.ones(100, dtype=lib.complex64), 16, onesided=True, return_complex=True),
    lambda lib: lib.stft(lib.ones(100, dtype=lib.int64), 16, return_complex=True),
    lambda lib: lib.istft(lib.ones(9, 13), 16),
    lambda lib: lib.istft(lib.ones(9, 13, dtype=lib.complex64), 16, onesided=False),
    lambda lib: lib.istft(lib.ones(9, dtype=lib.complex64), 16),
    lambda lib: lib.istft(lib.ones(0, 9, 13, dtype=lib.complex64), 16),
    lambda lib: lib.istft(lib.ones(9, 13, dtype=lib.complex64), 16, hop_length=20),
    lambda lib: lib.istft(lib.ones(9, 13, dtype=lib.complex64), 16, win_length=20),
    lambda lib: lib.istft(lib.ones(9, 13, dtype=lib.complex64), 16, window=lib.ones(4)),
    lambda lib: lib.istft(lib.ones(9, 13, dtype=lib.complex64), 16, window=lib.zeros(16)),
    lambda lib: lib.istft(lib.ones(9, 13, dtype=lib.complex64), 16, return_complex=True),
    lambda lib: lib.istft(lib.ones(9, 13, dtype=lib.complex64), 16, window=lib.ones(16, dtype=lib.complex64)),
])
def test_stft_istft_errors(call, device):
    """As same_error, flambeau's message on cuda read as torch's on the CPU (torch names the tensor
    type there: torch.cuda.FloatTensor, CUDAComplexFloatType)."""
    errors = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lib in (on_device(flambeau, device), torch):
            with pytest.raises(Exception) as e:
                call(lib)
            errors.append((e.type, str(e.value)))
    assert errors[0] == (errors[1][0], errors[1][1] if device == "cpu" else
                         errors[1][1].replace("torch.", "torch.cuda.").replace("CPU", "CUDA"))


def test_istft_pads_to_a_longer_length(device):
    spec = _input(np.random.default_rng(12), (9, 13), "complex")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compare(lambda lib, s: lib.istft(s, 16, window=lib.ones(16, dtype=lib.float64), length=70), spec, device)
    assert any("shorter than the length parameter" in str(w.message) for w in caught)


def test_stft_complex_window_of_a_real_signal(device):
    """A complex window makes the transform two-sided (c2c), as torch."""
    rng = np.random.default_rng(13)
    window = _input(rng, (16,), "complex")

    def fn(lib, x):
        where = {} if lib is torch else {"device": device}
        return lib.stft(x, 16, hop_length=5, window=lib.tensor(window, **where), return_complex=True)
    compare(fn, _input(rng, (2, 50), "real"), device)


def test_fft_of_a_real_delta_prints_as_torchs(device):
    # torch builds the whole spectrum of a real signal from its one-sided half: the last bin of the fft
    # of a delta is conj(1+0j) = 1-0j, where a complex transform gives 1+0j
    ours = flambeau.fft.fft(flambeau.tensor([1, 0, 0, 0], device=device))
    ref = torch.fft.fft(torch.tensor([1, 0, 0, 0]))
    assert_same(ours, ref, device=device)
    assert repr(ours.cpu()) == repr(ref) == "tensor([1.+0.j, 1.+0.j, 1.+0.j, 1.-0.j])"


@pytest.mark.parametrize("shape,fn", [((5,), "fft"), ((8,), "ifft"), ((3, 4), "fft2"), ((2, 3, 5), "fftn"),
                                      ((4, 6), "ifft2")])
def test_real_input_full_spectrum_mirrors_exactly(shape, fn, device):
    # the bins past the one-sided half are exact conjugates of their mirrors X[-k], signed zeros included
    b = np.random.default_rng(3).standard_normal(shape)
    ours = getattr(flambeau.fft, fn)(flambeau.tensor(b, device=device))
    assert_same(ours, getattr(torch.fft, fn)(torch.tensor(b)).resolve_conj(), rtol=1e-12, atol=1e-12)
    spectrum = ours.cpu().numpy()
    mirrored = np.conj(spectrum[np.ix_(*[(-np.arange(n)) % n for n in shape])])
    filled = slice(shape[-1] // 2 + 1, None)        # the kernel's own half need not be self-conjugate
    np.testing.assert_array_equal(spectrum[..., filled].view(np.float64), mirrored[..., filled].view(np.float64))
