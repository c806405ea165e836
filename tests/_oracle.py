"""PyTorch as the oracle: run the same function on flambeau and torch, compare everything."""
import contextlib

import numpy as np
import pytest

import flambeau

try:
    import torch
    HAVE_TORCH = True
except ImportError:          # conftest turns this into a session error unless explicitly allowed
    torch = None
    HAVE_TORCH = False


def need_torch():
    if not HAVE_TORCH:
        pytest.skip("torch (oracle) not installed")
    return torch


def oracle_version():
    """The oracle's (major, minor): a GPU machine may hold an older torch than the 2.13 that CI pins."""
    return tuple(int(p) for p in torch.__version__.split("+")[0].split(".")[:2]) if HAVE_TORCH else (0, 0)


def need_oracle(major, minor, what):
    """Skip where the installed torch predates (major, minor), which changed ``what``."""
    if oracle_version() < (major, minor):
        pytest.skip(f"the oracle is torch {torch.__version__}; {what} follows torch >= {major}.{minor}")


def real_gpu():
    """True when flambeau's cuda device is a real GPU (CuPy), False under the emulated CuPy or none."""
    cupy = flambeau._xp.cupy
    return cupy is not None and not getattr(cupy, "_EMULATED", False)


def flush_subnormals(a):
    """float32/complex64 subnormals as signed zeros: CuPy compiles its kernels with -ftz=true, so a GPU
    flushes them (torch's CUDA kernels do not). Comparisons on a real GPU flush both sides."""
    a = np.asarray(a)
    if a.dtype not in (np.float32, np.complex64):
        return a
    tiny = np.finfo(np.float32).tiny
    parts = [a.real, a.imag] if a.dtype.kind == "c" else [a]
    flushed = [np.where(np.abs(p) < tiny, np.copysign(np.float32(0), p), p) for p in parts]
    return (flushed[0] + 1j * flushed[1]).astype(a.dtype) if a.dtype.kind == "c" else flushed[0].astype(a.dtype)


def to_numpy(t):
    """flambeau or torch tensor (or number) -> NumPy array."""
    if isinstance(t, flambeau.Tensor):
        return np.asarray(t.detach().cpu().numpy())
    if HAVE_TORCH and isinstance(t, torch.Tensor):
        return t.detach().cpu().resolve_conj().numpy()
    return np.asarray(t)


class OnDevice:
    """flambeau with its factory functions defaulting to ``device``: ``fn(lib, ...)`` written
    for torch on the CPU builds its index and mask tensors where the inputs are."""

    FACTORIES = ("tensor", "as_tensor", "arange", "zeros", "ones", "full", "empty", "randperm", "eye",
                 "linspace", "randint", "rand", "randn", "zeros_like", "ones_like", "full_like")

    def __init__(self, lib, device):
        self._lib, self._device = lib, device

    def __getattr__(self, name):
        attr = getattr(self._lib, name)
        if name not in self.FACTORIES or name.endswith("_like"):
            return attr

        def on_device(*args, **kwargs):
            kwargs.setdefault("device", self._device)
            return attr(*args, **kwargs)
        return on_device


def on_device(lib, device):
    """lib itself on the CPU, else a view of it whose factories default to device."""
    return lib if str(device) == "cpu" else OnDevice(lib, device)


def reads_counted():
    """Whether host_reads() counts: the emulated CuPy counts each read, and on a real GPU each read
    passes CuPy's synchronisation check, which host_reads wraps."""
    return getattr(flambeau._xp.cupy, "count_syncs", None) is not None or real_gpu()


@contextlib.contextmanager
def host_reads():
    """``with host_reads() as n``: n[0] counts the reads of device values by the host inside the block
    (0 where no cuda device is present)."""
    count = getattr(flambeau._xp.cupy, "count_syncs", None)
    if count is not None:
        with count() as n:
            yield n
    elif real_gpu():
        # every read of device memory by the host calls syncdetect._declare_synchronize (the hook
        # behind cupyx.allow_synchronize), looked up on the module at each call
        from cupy._core import syncdetect
        declare, n = syncdetect._declare_synchronize, [0]

        def counted():
            n[0] += 1
            declare()
        syncdetect._declare_synchronize = counted
        try:
            yield n
        finally:
            syncdetect._declare_synchronize = declare
    else:
        yield [0]


def expected_reads(device, n):
    """n host reads on cuda, none on the CPU."""
    return n if str(device).startswith("cuda") and reads_counted() else 0


def no_host_reads(device):
    """On cuda, a context in which any read of device values by the host raises (CuPy's
    allow_synchronize(False), real or emulated); on the CPU, nothing."""
    if flambeau.device(device).type != "cuda":
        return contextlib.nullcontext()
    import cupyx
    return cupyx.allow_synchronize(False)


def assert_same(ours, ref, rtol=1e-6, atol=1e-8, check_dtype=True, device=None):
    """Values, shape and dtype of a flambeau result equal torch's (and, given ``device``, the result
    is on that device: torch on the CPU stands for torch on any device)."""
    if isinstance(ref, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(ref), (ours, ref)
        for o, r in zip(ours, ref):
            assert_same(o, r, rtol, atol, check_dtype, device)
        return
    if HAVE_TORCH and isinstance(ref, torch.Tensor):
        assert isinstance(ours, flambeau.Tensor), f"expected a Tensor, got {type(ours).__name__}"
        if device is not None:
            assert ours.device.type == flambeau.device(device).type, f"on {ours.device}, expected {device}"
        assert tuple(ours.shape) == tuple(ref.shape), f"shape {tuple(ours.shape)} != {tuple(ref.shape)}"
        if check_dtype:
            assert str(ours.dtype) == str(ref.dtype), f"dtype {ours.dtype} != {ref.dtype}"
    a, b = to_numpy(ours), to_numpy(ref)
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        np.testing.assert_allclose(a.astype(np.complex128 if a.dtype.kind == "c" else np.float64),
                                   b.astype(np.complex128 if b.dtype.kind == "c" else np.float64),
                                   rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(a, b)


def check_against_torch(fn, *shapes, device="cpu", seed=0, rtol=1e-6, atol=1e-8, dtype="float64",
                        grad=True, positive=False, make_input=None):
    """fn(lib, *tensors) runs on flambeau and torch; outputs and input gradients must agree.

    The upstream gradient is random (not ones), which catches transposed or mis-summed grads.
    """
    tt = need_torch()
    rng = np.random.default_rng(seed)
    arrays = []
    for s in shapes:
        a = make_input(rng, s) if make_input else rng.standard_normal(s)
        if positive:
            a = np.abs(a) + 0.5
        arrays.append(np.asarray(a, dtype=dtype))
    ours = [flambeau.tensor(a, device=device, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    ref = [tt.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    out, out_ref = fn(on_device(flambeau, device), *ours), fn(tt, *ref)
    assert_same(out, out_ref, rtol, atol, device=device)
    if not grad:
        return out
    outs = out if isinstance(out, (tuple, list)) else (out,)
    outs_ref = out_ref if isinstance(out_ref, (tuple, list)) else (out_ref,)
    pairs = [(o, r) for o, r in zip(outs, outs_ref) if r.requires_grad]
    if not pairs:
        return out
    cots = [rng.standard_normal(tuple(r.shape)).astype(dtype) for _, r in pairs]
    flambeau.autograd.backward([o for o, _ in pairs], [flambeau.tensor(c, device=device) for c in cots])
    tt.autograd.backward([r for _, r in pairs], [tt.tensor(c) for c in cots])
    for a, b in zip(ours, ref):
        if b.grad is None:
            assert a.grad is None or not np.any(to_numpy(a.grad)), "flambeau produced a gradient torch did not"
        else:
            assert a.grad is not None, "flambeau produced no gradient"
            assert_same(a.grad, b.grad, rtol, atol, device=device)
    return out


def gradcheck(fn, *shapes, seed=0, positive=False, device="cpu"):
    """flambeau.autograd.gradcheck in float64 with torch's defaults (eps 1e-6, atol 1e-5, rtol 1e-3)."""
    rng = np.random.default_rng(seed)
    ins = []
    for s in shapes:
        a = rng.standard_normal(s)
        if positive:
            a = np.abs(a) + 0.5
        ins.append(flambeau.tensor(a, dtype=flambeau.float64, device=device, requires_grad=True))
    lib = on_device(flambeau, device)
    assert flambeau.autograd.gradcheck(lambda *xs: fn(lib, *xs), tuple(ins))


def run_both(fn, device="cpu"):
    """fn(lib) under flambeau (its factories on ``device``) and under torch."""
    import torch
    return fn(on_device(flambeau, device)), fn(torch)


def same_error(fn, device="cpu"):
    """fn(lib) raises the same exception type with the same message under flambeau and torch."""
    import pytest
    import torch
    errors = []
    for lib in (on_device(flambeau, device), torch):
        with pytest.raises(Exception) as e:
            fn(lib)
        errors.append((e.type, str(e.value)))
    assert errors[0] == errors[1]
