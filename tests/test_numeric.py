"""gcd/lcm, frexp/ldexp, rsub, unravel_index, broadcast_shapes, gradient, window functions and the
top-level aliases (torch.clamp_(x), torch.selu, old norms, settings), against torch."""
import warnings

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, check_against_torch, need_torch, on_device, run_both as both, same_error

torch = need_torch()


# -- gcd, lcm, frexp, ldexp, rsub -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["gcd", "lcm"])
@pytest.mark.parametrize("dtypes", [("int64", "int64"), ("int32", "int64"), ("int16", "uint8")])
def test_gcd_lcm(name, dtypes, device):
    a, b = [12, -18, 0, 7, 0, -4], [8, 12, 0, 5, 9, 6]

    def fn(lib):
        x = lib.tensor(a, dtype=getattr(lib, dtypes[0]))
        y = lib.tensor(np.abs(b), dtype=getattr(lib, dtypes[1]))
        out = getattr(lib, name)(x, y)
        inplace = getattr(x.clone(), name + "_")(y) if x.dtype == out.dtype else out
        return out, inplace
    ours, ref = both(fn, device)
    assert_same(ours, ref)


@pytest.mark.parametrize("args", [("float32", "float32"), ("bool", "bool")])
def test_gcd_refuses_floats_and_bools(args):
    same_error(lambda lib: lib.gcd(lib.ones(2, dtype=getattr(lib, args[0])), lib.ones(2, dtype=getattr(lib, args[1]))))
    same_error(lambda lib: lib.gcd(lib.ones(2, dtype=lib.int64), 3))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_frexp(dtype, device):
    ours, ref = both(lambda lib: lib.frexp(lib.tensor([8.0, 0.3, -5.0, 0.0, 1e-30, np.inf], dtype=getattr(lib, dtype))),
                     device)
    assert type(ours).__name__ == type(ref).__name__ == "frexp"
    assert_same(tuple(ours), tuple(ref))
    assert_same(ours.exponent, ref.exponent)
    same_error(lambda lib: lib.frexp(lib.tensor([8])))


def test_ldexp_and_rsub(device):
    # gradients with exponents >= 0 only: torch's ldexp backward takes 2 ** other in integers, so it
    # gives 0 where other < 0 (flambeau gives the true 2 ** other)
    check_against_torch(lambda lib, x: lib.ldexp(x, lib.tensor([3, 1, 0])), (3,), device=device)
    ours, ref = both(lambda lib: lib.ldexp(lib.tensor([1.0, 3.0, -2.0]), lib.tensor([-1, 2, -3])), device)
    assert_same(ours, ref)
    ours, ref = both(lambda lib: (lib.ldexp(lib.tensor([1, 2]), lib.tensor([3, 1])),
                                  lib.ldexp(lib.tensor([1.0, 2.0]), lib.tensor([2.0, -2.0])),
                                  lib.tensor([1.0, 3.0]).ldexp_(lib.tensor([2, 1]))), device)
    assert_same(ours, ref)
    check_against_torch(lambda lib, x, y: lib.rsub(x, y, alpha=2), (2, 3), (3,), device=device)
    check_against_torch(lambda lib, x: lib.rsub(x, 5.0), (2, 3), device=device)
    ours, ref = both(lambda lib: lib.rsub(lib.tensor([1, 2]), 5, alpha=2), device)
    assert_same(ours, ref)


# -- indices and shapes ---------------------------------------------------------------------------
@pytest.mark.parametrize("indices,shape", [([4, 1], (2, 3)), (5, (2, 3)), ([6, -1], (2, 3)), ([[0, 7], [3, 11]], (3, 4)),
                                           ([2], 5), ([0, 1], (2, 1, 3))])
def test_unravel_index(indices, shape, device):
    ours, ref = both(lambda lib: lib.unravel_index(lib.tensor(indices), shape), device)
    assert_same(ours, ref)


def test_unravel_index_errors():
    same_error(lambda lib: lib.unravel_index(lib.tensor([1.0]), (2, 3)))


@pytest.mark.parametrize("shapes", [((2, 1), (3,)), ((), (4, 1)), ((2, 1), (1, 3), (4, 1, 3)), ((0,), (1,)), (3, (2, 1)),
                                    ((2, 1), (3, 2)), ((4,), (2, 3)), ((5, 2), (3, 5, 3))])
def test_broadcast_shapes(shapes):
    try:
        ref = torch.broadcast_shapes(*shapes)
    except RuntimeError:
        same_error(lambda lib: lib.broadcast_shapes(*shapes))
        return
    ours = flambeau.broadcast_shapes(*shapes)
    assert repr(ours) == repr(ref)


def test_split_with_sizes_and_is_same_size(device):
    ours, ref = both(lambda lib: lib.split_with_sizes(lib.arange(10).view(5, 2), [2, 3]) +
                     lib.arange(10).view(2, 5).split_with_sizes([1, 4], dim=1), device)
    assert_same(ours, ref)
    same_error(lambda lib: lib.split_with_sizes(lib.arange(5), [2, 2]))
    assert flambeau.is_same_size(flambeau.zeros(2, 3), flambeau.ones(2, 3))
    assert not flambeau.is_same_size(flambeau.zeros(2, 3), flambeau.ones(3, 2))


# -- gradient ---------------------------------------------------------------------------------------
GRADIENTS = [
    ({}, (6,)),
    ({"spacing": 2.0}, (5, 4)),
    ({"spacing": [0.5, 3.0]}, (4, 5)),
    ({"dim": 1, "edge_order": 2}, (3, 5)),
    ({"dim": [0, -1], "spacing": 0.25, "edge_order": 2}, (4, 3, 5)),
    ({"spacing": "coords"}, (5,)),
    ({"spacing": "coords", "edge_order": 2}, (5,)),
    ({"spacing": "coords2", "dim": [1, 0]}, (5, 4)),
]


@pytest.mark.parametrize("kw,shape", GRADIENTS)
def test_gradient(kw, shape, device):
    def fn(lib, x):
        k = dict(kw)
        if k.get("spacing") == "coords":
            k["spacing"] = (lib.tensor([0.0, 1.0, 3.0, 4.0, 7.5], dtype=x.dtype),)
        elif k.get("spacing") == "coords2":
            k["spacing"] = [lib.tensor([0.0, 0.5, 2.0, 2.5], dtype=x.dtype),
                            lib.tensor([1.0, 1.5, 2.0, 4.0, 4.5], dtype=x.dtype)]
        return lib.gradient(x, **k)
    check_against_torch(fn, shape, device=device)


def test_gradient_of_integers_and_errors(device):
    ours, ref = both(lambda lib: lib.gradient(lib.tensor([1, 4, 9, 16])), device)
    assert_same(ours, ref)
    same_error(lambda lib: lib.gradient(lib.ones(2), edge_order=2))
    same_error(lambda lib: lib.gradient(lib.ones(4), edge_order=3))
    same_error(lambda lib: lib.gradient(lib.ones(4, 3), spacing=[1.0, 2.0, 3.0]))
    same_error(lambda lib: lib.gradient(lib.ones(4, 3), spacing=[1.0, 2.0], dim=0))


# -- windows ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kw", [("hann_window", {}), ("hamming_window", {}), ("hamming_window", {"alpha": 0.5}),
                                     ("bartlett_window", {}), ("blackman_window", {}), ("kaiser_window", {}),
                                     ("kaiser_window", {"beta": 5.0})])
@pytest.mark.parametrize("length", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_windows(name, kw, length, periodic, dtype):
    ours, ref = both(lambda lib: getattr(lib, name)(length, periodic, dtype=getattr(lib, dtype), **kw))
    assert_same(ours, ref, rtol=1e-5, atol=1e-6)


def test_windows_on_cuda_and_errors(device):
    w = flambeau.hann_window(4, device=device, requires_grad=True)
    assert w.device.type == flambeau.device(device).type and w.requires_grad
    with pytest.raises(RuntimeError):
        flambeau.hann_window(3, dtype=flambeau.int64)
    with pytest.raises(RuntimeError):
        torch.hann_window(3, dtype=torch.int64)
    same_error(lambda lib: lib.hann_window(-1))


# -- aliases -------------------------------------------------------------------------------------
def test_inplace_functions_at_the_top(device):
    def fn(lib):
        x = lib.tensor([0.5, -0.2, 0.9])
        y = lib.tensor([1.5, -2.5, 0.4])
        out = [lib.arccos_(x.clone()), lib.clamp_(y.clone(), -1, 1), lib.round_(y.clone()), lib.negative_(y.clone()),
               lib.nan_to_num_(lib.tensor([np.nan, 1.0]), nan=3.0), lib.fix_(y.clone()), lib.arctanh_(x.clone() * 0.5)]
        z = y.clone()
        assert lib.clamp_min_(z, 0.0) is z
        return out + [z]
    ours, ref = both(fn, device)
    assert_same(ours, ref)


@pytest.mark.parametrize("name,args", [("celu", (1.5,)), ("selu", ()), ("threshold", (0.1, 20.0)), ("hardshrink", (0.3,)),
                                       ("pixel_shuffle", (2,))])
def test_functional_ops_at_the_top(name, args, device):
    shape = (1, 8, 2, 3) if name == "pixel_shuffle" else (2, 5)
    check_against_torch(lambda lib, x: getattr(lib, name)(x, *args), shape, device=device)


def test_old_norms(device):
    check_against_torch(lambda lib, x: lib.frobenius_norm(x, (0, 1)), (3, 4), device=device)
    check_against_torch(lambda lib, x: lib.frobenius_norm(x, [1], True), (3, 4), device=device)
    check_against_torch(lambda lib, x: lib.nuclear_norm(x), (3, 4), device=device)
    check_against_torch(lambda lib, x: lib.nuclear_norm(x, True), (3, 4), device=device)


def test_settings():
    for lib in (flambeau, torch):
        before = lib.get_float32_matmul_precision()
        lib.set_float32_matmul_precision("high")
        assert lib.get_float32_matmul_precision() == "high"
        lib.set_float32_matmul_precision(before)
        assert lib.get_default_device() == lib.device("cpu")
        lib.set_deterministic_debug_mode("warn")
        assert lib.get_deterministic_debug_mode() == 1
        lib.set_deterministic_debug_mode(0)
        assert not lib.is_warn_always_enabled()
        assert lib.is_neg(lib.ones(2)) is False


def test_unknown_float32_matmul_precision_warns_and_keeps_the_setting():
    """PyTorch warns (it does not raise) and the call changes nothing; matmul.allow_tf32 mirrors it."""
    messages = []
    for lib in (flambeau, torch):
        lib.set_float32_matmul_precision("medium")
        with pytest.warns(UserWarning) as caught:
            lib.set_float32_matmul_precision("low")
        messages.append(str(caught[0].message).split(" (Triggered")[0])
        assert lib.get_float32_matmul_precision() == "medium"
        assert lib.backends.cuda.matmul.allow_tf32 is True
        lib.set_float32_matmul_precision("highest")
        lib.backends.cuda.matmul.allow_tf32 = True
        assert lib.get_float32_matmul_precision() == "high"
        lib.set_float32_matmul_precision("highest")
        assert lib.backends.cuda.matmul.allow_tf32 is False
    assert messages[0] == messages[1]


def test_backend_switches_as_torch():
    results = []
    for lib in (flambeau, torch):
        b = lib.backends
        seen = [b.cudnn.allow_tf32, b.mkldnn.enabled, b.mkldnn.deterministic,
                b.cuda.matmul.allow_fp16_reduced_precision_reduction]
        with b.cudnn.flags(enabled=False, benchmark=True, deterministic=True):
            seen += [b.cudnn.enabled, b.cudnn.benchmark, b.cudnn.deterministic]
        seen += [b.cudnn.enabled, b.cudnn.benchmark, b.cudnn.deterministic]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")      # torch: oneDNN TF32 needs an Intel GPU
            with b.mkldnn.flags():
                seen.append(b.mkldnn.enabled)
        seen.append(b.mkldnn.enabled)
        for name in ("allow_tf33", "fast"):
            with pytest.raises(AttributeError, match=f"^Unknown attribute {name}$"):
                setattr(b.cuda.matmul, name, True)
        with pytest.raises(AttributeError, match="^Unknown attribute allow_tf33$"):
            b.cuda.matmul.allow_tf33
        with pytest.raises(TypeError, match="expects a bool or a tuple/list of bools, but got <class 'int'>"):
            b.cuda.matmul.allow_fp16_reduced_precision_reduction = 1
        results.append(seen)
    assert results[0] == results[1]
    assert flambeau.backends.mkldnn.is_available() is False     # NumPy, not oneDNN, computes here
    # built with CUDA: flambeau can serve the cuda device (CuPy, or the tests' emulation)
    assert flambeau.backends.cuda.is_built() is flambeau.cuda.is_available()
    if not flambeau.backends.cudnn.is_available():
        assert flambeau.backends.cudnn.version() is None


def test_deterministic_algorithms_setting_is_the_debug_mode():
    for lib in (flambeau, torch):
        assert not lib.are_deterministic_algorithms_enabled()
        for args, kw, state in (((True,), {"warn_only": True}, (True, True, 1)), ((True,), {}, (True, False, 2)),
                                ((False,), {}, (False, False, 0))):
            lib.use_deterministic_algorithms(*args, **kw)
            assert (lib.are_deterministic_algorithms_enabled(), lib.is_deterministic_algorithms_warn_only_enabled(),
                    lib.get_deterministic_debug_mode()) == state
        lib.set_deterministic_debug_mode("error")
        assert lib.are_deterministic_algorithms_enabled() and not lib.is_deterministic_algorithms_warn_only_enabled()
        lib.set_deterministic_debug_mode(0)
        with pytest.raises(TypeError):
            lib.use_deterministic_algorithms("yes")


@pytest.mark.parametrize("name,args", [("celu_", (1.5,)), ("selu_", ()), ("rrelu_", (0.1, 0.3)), ("threshold_", (0.1, 2.0))])
def test_inplace_activations_at_the_top_and_in_functional(name, args, device):
    def fn(lib):
        x, y = lib.tensor([-1.0, 0.05, 2.0]), lib.tensor([-1.0, 0.05, 2.0])
        assert getattr(lib, name)(x, *args) is x
        assert getattr(lib.nn.functional, name)(y, *args) is y
        return x, y
    ours, ref = both(fn, device)
    assert_same(ours, ref)


def test_binomial_and_channel_shuffle_at_the_top(device):
    lib = on_device(flambeau, device)
    lib.manual_seed(0)
    count = lib.tensor([10.0, 20.0, 0.0, 5.0] * 2500)
    prob = lib.tensor([0.5, 0.1, 0.7, 1.0] * 2500)
    draws = lib.binomial(count, prob)
    assert draws.dtype == count.dtype and draws.device == count.device
    d = draws.view(-1, 4).cpu().numpy()
    assert (d >= 0).all() and (d <= np.array([10, 20, 0, 5])).all() and (d[:, 3] == 5).all()
    np.testing.assert_allclose(d.mean(0), [5.0, 2.0, 0.0, 5.0], atol=0.15)
    same_error(lambda L: L.binomial(L.tensor([10, 20]), L.tensor([0.5, 0.1])))
    same_error(lambda L: L.binomial(L.tensor([10.0]), L.tensor([0.5], dtype=L.float64)))
    ours, ref = both(lambda L: L.channel_shuffle(L.arange(8.0).view(1, 4, 2), 2), device)
    assert_same(ours, ref)
