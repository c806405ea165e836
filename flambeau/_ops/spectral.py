"""Short-time Fourier transforms: stft and istft (and their Tensor methods), as torch's.

stft frames the signal with unfold (a view), windows the frames and transforms each one with the fft
primitives of ``flambeau.fft``; istft transforms back, windows again and overlap-adds the frames,
dividing by the overlap-added squared window. Everything is differentiable through those ops.
"""
import warnings

from .. import _xp
from .._tensor import _wrap_dim
from ..autograd.function import Function
from .. import fft as _fft
from ._util import register, _type_word
from .creation import ones

__all__ = ["stft", "istft"]


class _OverlapAdd(Function):
    """Frames (batch, n_frames, size) summed into signals (batch, length), frame k starting at k * hop:
    the adjoint of unfold (torch's unfold_backward)."""
    _node_name = "UnfoldBackwardBackward0"

    @staticmethod
    def forward(ctx, frames, length, hop):
        a = frames._data
        xp = _xp.array_module(a)
        batch, count, size = a.shape
        ctx.size, ctx.hop = size, hop
        # each frame is cut in pieces of hop samples; piece j of frame k lands in block k + j
        pieces = -(-size // hop)
        padded = xp.zeros((batch, count, pieces * hop), dtype=a.dtype)
        padded[..., :size] = a
        blocks = xp.zeros((batch, count - 1 + pieces, hop), dtype=a.dtype)
        for j in range(pieces):
            blocks[:, j:j + count] += padded[:, :, j * hop:(j + 1) * hop]
        return xp.ascontiguousarray(blocks.reshape(batch, -1)[:, :length])

    @staticmethod
    def backward(ctx, grad):
        return grad.unfold(1, ctx.size, ctx.hop), None, None


def _opt(value):
    return "None" if value is None else str(int(value))


def _tensor_repr(t):
    return "None" if t is None else f"{t.type()}{{{list(t.shape)}}}"


def _warn_no_window(what):
    warnings.warn(f"A window was not provided. A rectangular window will be applied,{what}To suppress this "
                  "warning and use a rectangular window, explicitly set `window=torch.ones(n_fft, "
                  "device=<device>)`.", UserWarning, stacklevel=3)


def _align_to_window(signals, n_fft, hop, win):
    """The signals padded so that frame m, taken at m * hop, holds its window (centered in the n_fft
    samples) over samples m * hop .. m * hop + win: torch pads (n_fft - win) // 2 zeros on each side and
    takes 1 + (length - win) // hop frames."""
    batch, length = signals.shape
    side = (n_fft - win) // 2
    padded = length + 2 * side
    count = 1 + (length - win) // hop
    # with n_fft - win odd, the last frame may reach one sample past the padding: torch's strided view
    # of the padded signals then fails
    needed = (batch - 1) * padded + (count - 1) * hop + n_fft
    if needed > batch * padded:
        size = signals.element_size()
        raise RuntimeError(f"setStorage: sizes [{batch}, {count}, {n_fft}], strides [{padded}, {hop}, 1], storage "
                           f"offset 0, and itemsize {size} requiring a storage size of {needed * size} are out of "
                           f"bounds for storage of size {batch * padded * size}")
    from ..nn.functional import pad
    return pad(signals, [side, side])


@register("stft")
def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None, align_to_window=None):
    """The short-time Fourier transform: (n_fft // 2 + 1 or n_fft frequencies, frames) per signal.
    With center=False, align_to_window=True starts frame m's window (not its n_fft samples) at m * hop."""
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    if center:          # torch pads in Python, before its checks
        from ..nn.functional import pad
        signal_dim = input.ndim
        extended = [1] * (3 - signal_dim) + list(input.shape)
        half = n_fft // 2
        input = pad(input.view(extended), [half, half], pad_mode)
        input = input.view(input.shape[-signal_dim:])
    if window is None:
        _warn_no_window("which is known to cause spectral leakage. Other windows such as torch.hann_window or "
                        "torch.hamming_window are recommended to reduce spectral leakage.")
    as_complex = input.is_complex() or (window is not None and window.is_complex())
    as_complex = as_complex if return_complex is None else bool(return_complex)
    if not as_complex:
        if return_complex is None:
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will "
                               "further require that return_complex=True in a future PyTorch release.")
        warnings.warn("stft with return_complex=False is deprecated. In a future pytorch release, stft will "
                      "return complex tensors for all inputs, and return_complex=False will raise an error.\n"
                      "Note: you can still call torch.view_as_real on the complex output to recover the old "
                      "return format.", UserWarning, stacklevel=2)
    hop = n_fft >> 2 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    where = (f"stft({input.type()}{list(input.shape)}, n_fft={n_fft}, hop_length={hop}, win_length={win}, "
             f"window={_tensor_repr(window)}, normalized={int(normalized)}, onesided={_opt(onesided)}, "
             f"return_complex={int(as_complex)}, align_to_window={_opt(align_to_window)}) : ")
    if not (input.is_floating_point() or input.is_complex()):
        raise RuntimeError(where + "expected a tensor of floating point or complex values")
    if input.ndim not in (1, 2):
        raise RuntimeError(where + "expected a 1D or 2D tensor")
    signals = input.unsqueeze(0) if input.ndim == 1 else input
    length = signals.shape[1]
    if n_fft <= 0 or n_fft > length:
        raise RuntimeError(where + f"expected 0 < n_fft < {length}, but got n_fft={win}")   # sic: torch's
    if hop <= 0:
        raise RuntimeError(where + f"expected hop_length > 0, but got hop_length={hop}")
    if win <= 0 or win > n_fft:
        raise RuntimeError(where + f"expected 0 < win_length <= n_fft, but got win_length={win}")
    if window is not None and (window.ndim != 1 or window.shape[0] != win):
        raise RuntimeError(where + f"expected a 1D window tensor of size equal to win_length={win}, but got "
                           f"window with size {list(window.shape)}")
    if align_to_window and win < n_fft:
        signals = _align_to_window(signals, n_fft, hop, win)
    if win < n_fft:     # the window centered in n_fft samples
        left = (n_fft - win) // 2
        if window is None:
            window = ones(win, dtype=input.dtype, device=input.device)
        from ..nn.functional import pad
        window = pad(window, [left, n_fft - win - left])
    frames = signals.unfold(1, n_fft, hop)          # (batch, n_frames, n_fft), a view
    if window is not None:
        frames = frames * window
    _fft._check_kernel_dtype(frames)
    side = not frames.is_complex() if onesided is None else onesided
    mode = _fft._BY_ROOT_N if normalized else _fft._NONE
    if frames.is_complex():
        if side:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        out = _fft._FftC2C.apply(frames, (2,), mode, True)
    else:
        out = _fft._FftR2C.apply(frames, (2,), mode, side)
    out = out.transpose(1, 2)
    if input.ndim == 1:
        out = out.squeeze(0)
    if as_complex:
        return out
    from .views import view_as_real
    return view_as_real(out)


@register("istft")
def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
          onesided=None, length=None, return_complex=False):
    """The inverse of stft: frames transformed back, windowed and overlap-added, divided by the
    overlap-added squared window."""
    if window is None:
        _warn_no_window("Please provide the same window used by stft to make the inversion lossless.")
    hop = n_fft >> 2 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    if not input.is_complex():
        raise RuntimeError("istft requires a complex-valued input tensor matching the output from stft with "
                           "return_complex=True.")
    # torch reads the sizes of view_as_real(input): (..., frequencies, frames, 2)
    real_shape = tuple(input.shape) + (2,)
    n_frames = real_shape[_wrap_dim(-2, len(real_shape))]
    fft_size = real_shape[_wrap_dim(-3, len(real_shape))]
    expected = n_fft + hop * (n_frames - 1)
    device = "CPU" if input.device.type == "cpu" else "CUDA"
    where = (f"istft({device}{_type_word(input.dtype)}Type{list(input.shape)}, n_fft={n_fft}, hop_length={hop}, "
             f"win_length={win}, window={_tensor_repr(window)}, center={int(center)}, "
             f"normalized={int(normalized)}, onesided={_opt(onesided)}, length={_opt(length)}, "
             f"return_complex={int(return_complex)})")
    if input.numel() == 0:
        raise RuntimeError(where + " : input tensor cannot be empty.")
    if len(real_shape) not in (3, 4):
        raise RuntimeError(where + " : expected a tensor with three or four dimensions of real, or two or three "
                           f"dimensions of complex, but got {len(real_shape)}")
    side = fft_size != n_fft if onesided is None else onesided
    if side and n_fft // 2 + 1 != fft_size:
        raise RuntimeError(where + " : expected the frequency dimension (3rd to the last) of the input tensor to "
                           f"match n_fft / 2 + 1 when onesided=True, but got {fft_size}")
    if not side and n_fft != fft_size:
        raise RuntimeError(where + " : expected the frequency dimension (3rd to the last) of the input tensor to "
                           f"match n_fft when onesided=False, but got {fft_size}")
    if not 0 < hop <= win:
        raise RuntimeError(where + " : expected 0 < hop_length <= win_length")
    if not 0 < win <= n_fft:
        raise RuntimeError(where + " : expected 0 < win_length <= n_fft")
    if window is not None and (window.ndim != 1 or window.shape[0] != win):
        raise RuntimeError(where + " : Invalid window shape. window has to be 1D and length of `win_length`")
    if window is None:
        window = ones(win, dtype=_fft._REAL_OF[input.dtype.name], device=input.device)
    if win != n_fft:
        from ..nn.functional import pad
        left = (n_fft - win) // 2
        window = pad(window, [left, n_fft - win - left])
    spectra = (input.unsqueeze(0) if input.ndim == 2 else input).transpose(1, 2)   # (channel, frames, freq)
    mode = _fft._BY_ROOT_N if normalized else _fft._BY_N
    if return_complex:
        if side:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        frames = _fft._FftC2C.apply(spectra, (2,), mode, False)
    else:
        if window.is_complex():
            raise RuntimeError("Complex windows are incompatible with return_complex=False")
        if not side:
            spectra = spectra.narrow(-1, 0, n_fft // 2 + 1)
        frames = _fft._FftC2R.apply(spectra, (2,), mode, n_fft)
    signal = _OverlapAdd.apply(frames * window.view(1, 1, n_fft), expected, hop)
    envelope = _OverlapAdd.apply(window.pow(2).expand(1, n_frames, n_fft), expected, hop)
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = -(n_fft // 2) if center else expected
    signal, envelope = signal[:, start:end], envelope[:, start:end]
    # torch reads this check's result on the host too
    if bool((envelope.abs().min() < 1e-11).item()):
        raise RuntimeError(where + f" window overlap add min: 1\n[ {device}BoolType{{}} ]")
    signal = signal / envelope
    if input.ndim == 2:
        signal = signal.squeeze(0)
    if end > expected:
        warnings.warn("The length of signal is shorter than the length parameter. Result is being padded with "
                      "zeros in the tail. Please check your center and hop_length settings.", UserWarning,
                      stacklevel=2)
        from ..nn.functional import pad
        signal = pad(signal, [0, end - expected])
    return signal

