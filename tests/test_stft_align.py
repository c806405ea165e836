"""torch.stft(..., center=False, align_to_window=...) against torch 2.13: values, gradients, errors."""
import warnings

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, need_torch, on_device, same_error

torch = need_torch()


def _signal(rng, shape, kind):
    a = rng.standard_normal(shape)
    return a + 1j * rng.standard_normal(shape) if kind == "complex" else a


def _both(fn, a, device, rng):
    """fn(lib, x) on flambeau and torch: values, then the gradient of x under a random upstream gradient."""
    ours = flambeau.tensor(a, device=device, requires_grad=True)
    ref = torch.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, out_ref = fn(on_device(flambeau, device), ours), fn(torch, ref)
    assert_same(out, out_ref, rtol=1e-7, atol=1e-9, device=device)
    cot = _signal(rng, tuple(out_ref.shape), "complex" if out_ref.is_complex() else "real")
    out.backward(flambeau.tensor(cot, device=device))
    out_ref.backward(torch.tensor(cot))
    assert_same(ours.grad, ref.grad, rtol=1e-7, atol=1e-9, device=device)


# (length, n_fft, win_length, hop): even and odd n_fft - win_length, the odd ones short of the torch
# failure (see test_odd_padding_that_torch_cannot_view)
CASES = [(20, 8, 4, 3), (21, 8, 5, 3), (40, 16, 10, 4), (33, 16, 9, 5), (16, 16, 16, 4), (30, 12, 12, 5),
         (6, 6, 2, 1), (26, 10, 3, 2)]


@pytest.mark.parametrize("length,n_fft,win,hop", CASES)
@pytest.mark.parametrize("align", [True, False, None])
def test_align_to_window(length, n_fft, win, hop, align, device):
    rng = np.random.default_rng(length * n_fft + win)
    for shape in ((length,), (2, length)):
        _both(lambda lib, x: lib.stft(x, n_fft, hop_length=hop, win_length=win, center=False, return_complex=True,
                                      align_to_window=align),
              _signal(rng, shape, "real"), device, rng)


@pytest.mark.parametrize("options", [dict(window="hann"), dict(window="hann", normalized=True),
                                     dict(onesided=False), dict(kind="complex"), dict(return_complex=False),
                                     dict(window="hann", kind="complex", normalized=True)])
def test_align_to_window_options(options, device):
    rng = np.random.default_rng(4)
    options = dict(options)
    kind = options.pop("kind", "real")
    window = options.pop("window", None)
    return_complex = options.pop("return_complex", True)

    def fn(lib, x):
        where = {} if lib is torch else {"device": device}
        w = lib.hann_window(6, dtype=lib.float64, **where) if window else None
        return lib.stft(x, 11, hop_length=2, win_length=6, window=w, center=False, align_to_window=True,
                        return_complex=return_complex, **options)
    _both(fn, _signal(rng, (2, 31), kind), device, rng)


def test_window_gradient(device):
    """The window's gradient too (float32 signal promoted by the float64 window), through the method."""
    rng = np.random.default_rng(6)
    signal, window = rng.standard_normal(38).astype(np.float32), np.hanning(7)
    results = []
    for lib in (on_device(flambeau, device), torch):
        x = lib.tensor(signal, requires_grad=True)
        w = lib.tensor(window, requires_grad=True)
        spec = x.stft(12, hop_length=3, win_length=7, window=w, center=False, return_complex=True,
                      align_to_window=True)
        spec.abs().pow(2).sum().backward()
        results.append((spec, x.grad, w.grad))
    assert_same(results[0], results[1], rtol=1e-5, atol=1e-6, device=device)


def test_gradcheck(device):
    x = flambeau.tensor(np.random.default_rng(7).standard_normal(23), device=device, requires_grad=True)
    w = flambeau.hann_window(5, dtype=flambeau.float64, device=device).requires_grad_()
    assert flambeau.autograd.gradcheck(
        lambda t, win: flambeau.view_as_real(flambeau.stft(t, 9, hop_length=2, window=win, win_length=5,
                                                           center=False, align_to_window=True,
                                                           return_complex=True)), (x, w))


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("align", [True, False])
def test_center_refuses_align(align, device):
    same_error(lambda lib: lib.stft(lib.ones(40), 8, return_complex=True, align_to_window=align), device)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("shape,n_fft,win,hop,dtype", [((20,), 8, 5, 3, "float64"), ((2, 20), 8, 5, 3, "float64"),
                                                       ((9,), 8, 3, 2, "float32"), ((3, 9), 8, 3, 2, "complex64")])
def test_odd_padding_that_torch_cannot_view(shape, n_fft, win, hop, dtype, device):
    """With n_fft - win_length odd, torch pads one sample too few on the right: when the last frame
    needs it, its strided view of the padded signal fails. flambeau raises the same error."""
    same_error(lambda lib: lib.stft(lib.ones(*shape, dtype=getattr(lib, dtype)), n_fft, hop_length=hop,
                                    win_length=win, center=False, return_complex=True, align_to_window=True), device)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("align", [True, False, None])
def test_signal_shorter_than_n_fft(align):
    """torch checks n_fft against the length even when aligning the shorter window, and names
    win_length in its message (which names the CPU tensor type: compared on the CPU)."""
    same_error(lambda lib: lib.stft(lib.ones(6), 8, hop_length=1, win_length=4, center=False, return_complex=True,
                                    align_to_window=align))
