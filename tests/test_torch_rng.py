"""flambeau's CPU random numbers equal torch's for the same seed (Note [torch's CPU generator]).

Each check runs the same function on torch and on flambeau after the same seed and compares the numbers
exactly (float64 normals and the transforms through libm of arrays above _cpu_rng._EXACT_LIBM within a
few ulps), then the generators' 5056-byte states, which must be equal byte for byte.
"""
import math

import numpy as np
import pytest
import torch

import flambeau
from flambeau._ops import _cpu_rng

SEEDS = [0, 1, 1234, 2 ** 32 + 5, 2 ** 63 + 11, -1, -(2 ** 40)]
SIZES = [1, 15, 16, 17, 33, 100]


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.detach().cpu().numpy())


def assert_same(ours, ref, ulps=0):
    """Equal shapes, dtypes and values (bit for bit; within ulps units in the last place if given)."""
    a, b = _np(ours), _np(ref)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    if ulps and a.dtype.kind in "fc":
        a, b = a.view(a.real.dtype).astype(np.float64), b.view(b.real.dtype).astype(np.float64)
        spacing = np.spacing(np.abs(b).astype(_np(ref).real.dtype)).astype(np.float64)
        assert (np.abs(a - b) <= ulps * spacing).all(), np.abs(a - b).max()
    else:
        np.testing.assert_array_equal(a, b)


def same_draws(fn, seed=0, ulps=0):
    """fn(lib) after lib.manual_seed(seed) gives the same tensors, and leaves the same generator state."""
    torch.manual_seed(seed)
    ref = fn(torch)
    flambeau.manual_seed(seed)
    ours = fn(flambeau)
    if isinstance(ref, (list, tuple)):
        assert len(ours) == len(ref)
        for o, r in zip(ours, ref):
            assert_same(o, r, ulps)
    else:
        assert_same(ours, ref, ulps)
    assert_same(flambeau.get_rng_state(), torch.get_rng_state())
    return ours


# -- the engine and the generator state -------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_raw_stream_and_state_match_torch(seed):
    torch.manual_seed(seed)
    flambeau.manual_seed(seed)
    assert flambeau.initial_seed() == torch.initial_seed()
    assert_same(flambeau.get_rng_state(), torch.get_rng_state())        # right after seeding: next = 0
    # random() % range below 2^28, random64() % range above
    ref = torch.randint(0, (1 << 28) - 1, (700,))
    eng = _cpu_rng.Engine(seed & (2 ** 64 - 1))
    np.testing.assert_array_equal(ref.numpy(), (eng.random(700) % np.uint64((1 << 28) - 1)).astype(np.int64))
    np.testing.assert_array_equal(torch.empty(5, dtype=torch.int64).random_().numpy(),
                                  (eng.random64(5) % np.uint64(1 << 63)).astype(np.int64))
    same_draws(lambda lib: [lib.randint(0, 1 << 28, (700,)), lib.empty(3, dtype=lib.int64).random_()], seed)


def test_default_seed_and_generators():
    assert flambeau.Generator().initial_seed() == torch.Generator().initial_seed() == 67280421310721
    assert_same(flambeau.Generator().get_state(), torch.Generator().get_state())
    assert_same(flambeau.rand(7, generator=flambeau.Generator()), torch.rand(7, generator=torch.Generator()))
    assert flambeau.get_rng_state().numel() == 5056


def test_state_round_trip_is_exact():
    """The state holds the twister, its position and the cached normal; set_state brings back the draws."""
    def draws(lib):
        return [lib.randn(3, dtype=lib.float64), lib.rand(5), lib.randn(1)]
    for lib in (torch, flambeau):
        lib.manual_seed(5)
        lib.randn(3, dtype=lib.float64)             # leaves a normal cached
    state, ref_state = flambeau.get_rng_state(), torch.get_rng_state()
    assert_same(state, ref_state)
    first, ref = draws(flambeau), draws(torch)
    for a, b in zip(first, ref):
        assert_same(a, b)
    flambeau.set_rng_state(state)
    for a, b in zip(draws(flambeau), first):
        assert_same(a, b)
    flambeau.set_rng_state(flambeau.tensor(ref_state.numpy()))           # torch's own state works too
    for a, b in zip(draws(flambeau), first):
        assert_same(a, b)
    assert_same(flambeau.get_rng_state(), torch.get_rng_state())
    g, tg = flambeau.Generator(), torch.Generator()
    g.set_state(flambeau.tensor(ref_state.numpy()))
    tg.set_state(ref_state)
    assert g.initial_seed() == tg.initial_seed() == 5
    assert_same(flambeau.randn(5, generator=g), torch.randn(5, generator=tg))


@pytest.mark.parametrize("bad", ["short", "left", "seeded", "next"])
def test_invalid_states_are_refused_as_torch(bad):
    import struct
    torch.manual_seed(3)
    blob = bytearray(bytes(torch.get_rng_state().numpy()))
    if bad == "short":
        blob = blob[:5048]
    else:
        offset, value = {"left": (8, 0), "seeded": (12, 0), "next": (16, 625)}[bad]
        struct.pack_into("<i" if bad != "next" else "<Q", blob, offset, value)
    for lib, g in ((torch, torch.Generator()), (flambeau, flambeau.Generator())):
        with pytest.raises(RuntimeError) as err:
            g.set_state(lib.tensor(list(blob), dtype=lib.uint8))
        if lib is torch:
            message = str(err.value)
    assert str(err.value) == message
    with pytest.raises(TypeError):
        flambeau.set_rng_state(flambeau.zeros(5056))


def test_seed_arguments_as_torch():
    for seed in (2 ** 64, -(2 ** 63) - 1):
        with pytest.raises(ValueError):
            flambeau.manual_seed(seed)
        with pytest.raises(ValueError):
            torch.manual_seed(seed)
    with pytest.raises(RuntimeError):
        flambeau.Generator().manual_seed(1.5)
    flambeau.manual_seed(2.7)                   # torch.manual_seed takes int(seed)
    assert flambeau.initial_seed() == 2
    s = flambeau.seed()
    assert flambeau.initial_seed() == s and 0 <= s < 2 ** 64


def test_generator_objects_and_the_default_generator_draw_alike():
    """A Generator seeded with s draws what the default generator draws after manual_seed(s), without
    disturbing it; a fork_rng block leaves the default generator as it found it."""
    flambeau.manual_seed(9)
    expected = [flambeau.randn(20).numpy(), flambeau.randperm(10).numpy()]
    flambeau.manual_seed(100)
    before = flambeau.get_rng_state()
    g = flambeau.Generator().manual_seed(9)
    got = [flambeau.randn(20, generator=g).numpy(), flambeau.randperm(10, generator=g).numpy()]
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    assert_same(flambeau.get_rng_state(), before)
    tg = torch.Generator().manual_seed(9)
    torch.randn(20, generator=tg)
    torch.randperm(10, generator=tg)
    assert_same(flambeau.rand(4, generator=g), torch.rand(4, generator=tg))
    assert_same(g.get_state(), tg.get_state())
    with flambeau.random.fork_rng():
        flambeau.rand(1000)
        flambeau.randn(3)
    assert_same(flambeau.get_rng_state(), before)


# -- samplers ---------------------------------------------------------------------------------------
FLOATS = ["float16", "float32", "float64"]


@pytest.mark.parametrize("seed", [0, 7, 2 ** 40 + 3])
@pytest.mark.parametrize("dtype", FLOATS)
def test_rand_and_uniform(seed, dtype):
    def fn(lib):
        dt = getattr(lib, dtype)
        out = [lib.rand(n, dtype=dt) for n in SIZES]
        out += [lib.empty(n, dtype=dt).uniform_(-2.5, 7.25) for n in SIZES]
        out += [lib.empty(4, 6, dtype=dt).t().uniform_(0.1, 0.3), lib.empty(9, dtype=dt).uniform_(3, 3)]
        out += [lib.rand_like(lib.ones(3, 8, dtype=dt).t()), lib.rand(2, 3, 4, dtype=dt)]
        return out
    same_draws(fn, seed)


@pytest.mark.parametrize("seed", [0, 3, 2 ** 33 + 1])
@pytest.mark.parametrize("dtype", FLOATS)
def test_randn_and_normal_(seed, dtype):
    """Blocks of 16 for contiguous outputs of 16 or more elements (the last block recomputed), the serial
    Box-Muller with its cached second value elsewhere; float32 and half match bit for bit (torch's AVX2
    float math emulated), float64 within an ulp where NumPy's log differs from libm's."""
    def fn(lib):
        dt = getattr(lib, dtype)
        out = [lib.randn(n, dtype=dt) for n in SIZES]
        out += [lib.empty(n, dtype=dt).normal_(0.5, 3.0) for n in SIZES]
        out += [lib.empty(6, 8, dtype=dt).t().normal_(), lib.randn(3, dtype=dt), lib.randn(2, dtype=dt),
                lib.randn_like(lib.ones(20, 3, dtype=dt).t()), lib.randn(4, 5, dtype=dt)]
        x = lib.zeros(4, 10, dtype=dt)
        x[:, ::2].normal_(-1.0, 0.5)
        return out + [x]
    same_draws(fn, seed)


def test_large_normals_within_ulps():
    same_draws(lambda lib: lib.randn(1000, 1000), 0)            # float32: exact
    same_draws(lambda lib: lib.randn(300000, dtype=lib.float64), 1, ulps=2)
    same_draws(lambda lib: lib.empty(300, 300, dtype=lib.float64).t().normal_(2.0, 3.0), 2, ulps=4)


def test_draws_larger_than_one_slice():
    """Large fills are computed slice by slice (_cpu_rng._SLICE elements): the values are torch's
    across the slice boundaries, in float32 and in half (whose opmath is float32)."""
    n = 2 * (1 << 18) + 37
    same_draws(lambda lib: [lib.empty(n).uniform_(-0.3, 0.7), lib.empty(n).normal_(0.5, 0.01), lib.rand(n),
                            lib.empty(n, dtype=lib.float16).uniform_(-2, 2), lib.randn(n, dtype=lib.float16)], 5)


def test_normal_overloads():
    def fn(lib):
        return [lib.normal(2.0, 3.0, (17,)), lib.normal(2.0, 3.0, size=(2, 3), dtype=lib.float64),
                lib.normal(lib.arange(20.0), 2.0), lib.normal(1.0, lib.arange(1, 21.0)),
                lib.normal(lib.zeros(3, 1), lib.ones(1, 6)), lib.normal(lib.arange(5.0), lib.full((5,), 0.5)),
                lib.normal(lib.zeros(2, dtype=lib.float64), 1.5)]
    same_draws(fn, 4)


def test_complex_samplers():
    def fn(lib):
        return [lib.randn(3, dtype=lib.complex64), lib.randn(9, dtype=lib.complex128),
                lib.rand(20, dtype=lib.complex64), lib.empty(4, dtype=lib.complex128).normal_(1.0, 2.0),
                lib.empty(5, dtype=lib.complex64).uniform_(-1, 1)]
    same_draws(fn, 6)


INTS = ["bool", "uint8", "int8", "int16", "int32", "int64"]


@pytest.mark.parametrize("dtype", INTS + FLOATS)
def test_random_all_forms(dtype):
    def fn(lib):
        dt = getattr(lib, dtype)
        out = [lib.empty(50, dtype=dt).random_(), lib.empty(4, 5, dtype=dt).t().random_()]
        if dtype != "bool":
            out += [lib.empty(50, dtype=dt).random_(100), lib.empty(50, dtype=dt).random_(3, 77),
                    lib.empty(50, dtype=dt).random_(5, None), lib.randint(2, 90, (50,), dtype=dt)]
        else:
            out += [lib.empty(20, dtype=dt).random_(2), lib.empty(20, dtype=dt).random_(0, None)]
        if dtype in ("int64", "float32", "float64"):
            out.append(lib.empty(20, dtype=dt).random_(-2 ** 63, None))
        if dtype in ("int16", "int32", "int64", "float32", "float64"):
            out.append(lib.empty(50, dtype=dt).random_(-1000, 1000))
        return out
    same_draws(fn, 3)


def test_randint_ranges():
    """random() % range below 2^28, random64() % range from there; floats move their bounds inward as torch."""
    def fn(lib):
        return [lib.randint(10, (7,)), lib.randint(-5, 5, (2, 3)), lib.randint(0, (1 << 28) - 1, (20,)),
                lib.randint(0, 1 << 28, (20,)), lib.randint(-(2 ** 40), 2 ** 40, (20,)),
                lib.randint(-100, 2 ** 31 - 1, (9,), dtype=lib.int32), lib.randint(0, 2, (9,), dtype=lib.bool),
                lib.randint_like(lib.ones(3, 4).t(), 3, 9)]
    same_draws(fn, 8)
    with pytest.warns(UserWarning, match="out of bounds"):
        same_draws(lambda lib: [lib.randint(0, 2 ** 28 - 1, (20,), dtype=lib.float32),
                                lib.randint(-(2 ** 30), 2 ** 30, (20,), dtype=lib.float32)], 9)
    for args in [(0, 2 ** 60, (2,), "float16"), (5, 3, (2,), "int64"), (0, 300, (2,), "uint8")]:
        for lib in (torch, flambeau):
            with pytest.raises(RuntimeError):
                lib.randint(*args[:3], dtype=getattr(lib, args[3]))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 100, 1000, 60000])
def test_randperm(n):
    same_draws(lambda lib: [lib.randperm(n), lib.randperm(n, dtype=lib.float32), lib.rand(2)], 11)


def test_bernoulli_forms():
    def fn(lib):
        return [lib.bernoulli(lib.rand(20)), lib.bernoulli(lib.rand(6, dtype=lib.float64)),
                lib.bernoulli(lib.rand(7, dtype=lib.float16)), lib.bernoulli(lib.zeros(9), p=0.3),
                lib.empty(12).bernoulli_(0.7), lib.empty(3, 4, dtype=lib.int64).bernoulli_(lib.rand(4)),
                lib.empty(5, dtype=lib.bool).bernoulli_(lib.rand(5, dtype=lib.float64)),
                lib.empty(5, 3).t().bernoulli_(0.5), lib.bernoulli(lib.rand(4, 6).t()),
                lib.empty(4).bernoulli_(lib.tensor(0.25)), lib.empty(8).bernoulli_(0.0), lib.empty(8).bernoulli_(1.0)]
    same_draws(fn, 12)


def test_bernoulli_scalar_path_is_torchs_default_kernel():
    """torch 2.13's CPU wheel has no MKL VSL streams: bernoulli_(p) takes one 53-bit uniform per element."""
    torch.manual_seed(2)
    ref = torch.empty(1000).bernoulli_(0.4).numpy()
    np.testing.assert_array_equal(ref, _cpu_rng.Engine(2).uniform_double(1000) < 0.4)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_exponential_geometric_cauchy_log_normal(dtype):
    def fn(lib):
        dt = getattr(lib, dtype)
        return [lib.empty(40, dtype=dt).exponential_(), lib.empty(40, dtype=dt).exponential_(2.5),
                lib.empty(40, dtype=dt).geometric_(0.2), lib.empty(40, dtype=lib.int32).geometric_(0.7),
                lib.empty(40, dtype=dt).cauchy_(), lib.empty(40, dtype=dt).cauchy_(1.5, 0.3),
                lib.empty(40, dtype=dt).log_normal_(), lib.empty(7, dtype=dt).log_normal_(0.5, 0.25),
                lib.empty(3, 5, dtype=dt).t().exponential_()]
    same_draws(fn, 13)


def test_multinomial():
    def fn(lib):
        p = lib.rand(3, 10) ** 2
        return [lib.multinomial(p, 4), lib.multinomial(p, 10), lib.multinomial(p, 6, True), lib.multinomial(p, 1),
                lib.multinomial(p.double(), 5, True), lib.multinomial(lib.tensor([0.1, 0.0, 2.0, 1.0]), 3),
                lib.multinomial(lib.rand(10), 1, True), lib.multinomial(lib.rand(8, 3).t(), 2)]
    same_draws(fn, 14)


def test_multinomial_draws_zero_probability_categories_last():
    # torch has no "not enough positive categories" error: once the positive ones are drawn (in torch's
    # order) the zero ones follow, in its sort's order for ties (flambeau: index order)
    def fn(lib):
        return [lib.multinomial(lib.tensor([0., 3., 0., 1.]), 4), lib.multinomial(lib.tensor([[1., 0., 0.],
                                                                                            [2., 1., 0.]]), 3)]
    torch.manual_seed(5)
    ref = fn(torch)
    flambeau.manual_seed(5)
    ours = fn(flambeau)
    for o, r, positives in zip(ours, ref, ([2], [1, 2])):
        for row_o, row_r, k in zip(o.view(-1, o.shape[-1]).tolist(), r.view(-1, r.shape[-1]).tolist(), positives):
            assert row_o[:k] == row_r[:k] and sorted(row_o) == sorted(row_r)
    assert_same(flambeau.get_rng_state(), torch.get_rng_state())


def test_multinomial_on_a_device_draws_zero_probability_categories(device):
    picked = flambeau.multinomial(flambeau.tensor([0., 2., 0.], device=device), 3)
    assert picked[0].item() == 1 and sorted(picked.tolist()) == [0, 1, 2]


@pytest.mark.parametrize("call", [
    lambda lib: lib.multinomial(lib.tensor([1, 2]), 1),
    lambda lib: lib.multinomial(lib.ones(2, 2, 2), 1),
    lambda lib: lib.multinomial(lib.tensor(1.), 1),
    lambda lib: lib.multinomial(lib.ones(3), 0),
    lambda lib: lib.multinomial(lib.ones(3), 1.5),
    lambda lib: lib.multinomial(lib.ones(2, 0), 1),
    lambda lib: lib.multinomial(lib.ones(3), 4),
    lambda lib: lib.multinomial(lib.zeros(2, 3), 1),
    lambda lib: lib.randperm(-1),
    lambda lib: lib.randperm(3.0),
    lambda lib: lib.randperm(257, dtype=lib.uint8),
    lambda lib: lib.randperm(129, dtype=lib.int8),
    lambda lib: lib.randperm(32769, dtype=lib.int16),
    lambda lib: lib.randperm(2050, dtype=lib.float16),
    lambda lib: lib.randperm(3, dtype=lib.bool),
    lambda lib: lib.randperm(3, dtype=lib.complex64),
    lambda lib: lib.randint(0, 300, (2,), dtype=lib.uint8),
    lambda lib: lib.empty(2, dtype=lib.int16).random_(0, 2 ** 40),
    lambda lib: lib.empty(2, dtype=lib.uint8).random_(-1, 2),
    lambda lib: lib.empty(2, dtype=lib.complex64).random_(0, 5),
    lambda lib: lib.randint(2, 5),
    lambda lib: lib.randint(5, size=3),
    lambda lib: lib.bernoulli(lib.tensor([1.5])),
    lambda lib: lib.empty(3).bernoulli_(lib.tensor([0.5, 2.0, 0.0])),
])
def test_sampler_argument_errors_as_torch(call):
    same_error(call)


@pytest.mark.parametrize("call", [
    lambda lib: lib.randint(5),
    lambda lib: lib.randint(0.5, 5.5, (3,)),
    lambda lib: lib.normal(0.0, 1.0),
    lambda lib: lib.normal(lib.zeros(2), lib.ones(2), (2,)),
    lambda lib: lib.rand(2, 3, size=(2,)),
])
def test_invalid_argument_combinations_as_torch(call):
    # torch lists its overloads after the first line; the first line names what it got
    with pytest.raises(TypeError) as ref:
        call(torch)
    with pytest.raises(TypeError) as ours:
        call(flambeau)
    assert str(ours.value).split("\n")[0] == str(ref.value).split("\n")[0]


def test_size_keyword_generators_of_like_samplers_and_randperm_dtypes():
    def fn(lib):
        g = lib.Generator().manual_seed(4)
        x = lib.zeros(2, 3)
        return [lib.rand(size=(2, 3)), lib.randn(size=[17]), lib.rand_like(x, generator=g),
                lib.randn_like(x, generator=g), lib.randint_like(x, 5, generator=g),
                lib.randint_like(x, 2, 9, generator=g), lib.randperm(256, dtype=lib.uint8),
                lib.randperm(2049, dtype=lib.float16), lib.randperm(lib.tensor(6)), g.get_state()]
    same_draws(fn, 3)


def _node(t):
    return None if t.grad_fn is None else type(t.grad_fn).__name__


IN_PLACE_SAMPLERS = [lambda x: x.normal_(), lambda x: x.uniform_(-1, 1), lambda x: x.bernoulli_(0.3),
                     lambda x, lib=None: x.bernoulli_(x.detach() * 0 + 0.5), lambda x: x.exponential_(),
                     lambda x: x.geometric_(0.4), lambda x: x.cauchy_(), lambda x: x.log_normal_(),
                     lambda x: x.random_(), lambda x: x.random_(7), lambda x: x.random_(2, 9),
                     lambda x: x.random_(3, None)]


@pytest.mark.parametrize("sample", IN_PLACE_SAMPLERS)
def test_in_place_samplers_record_zero_gradient_nodes(sample):
    def fn(lib):
        w = lib.tensor([1., 2., 3., 4.], requires_grad=True)
        x = w * 2
        before = x._version
        sample(x)
        name = type(x.grad_fn).__name__
        (x * lib.arange(4.)).sum().backward()
        return x.detach(), w.grad, name, x._version - before

    torch.manual_seed(9)
    ref = fn(torch)
    flambeau.manual_seed(9)
    ours = fn(flambeau)
    assert_same(ours[0], ref[0])
    assert_same(ours[1], ref[1])
    assert ours[2:] == ref[2:]


def test_in_place_sampler_on_a_view_and_on_a_device(device):
    w = flambeau.ones(2, 3, requires_grad=True, device=device)
    x = w * 1
    x[0].normal_()
    assert _node(x) == "CopySlices" and _node(x[0]) == "SelectBackward0"
    x.sum().backward()
    assert w.grad.tolist() == [[0., 0., 0.], [1., 1., 1.]]
    y = w * 1
    y.uniform_()
    assert _node(y) == "UniformBackward0"


def test_normal_and_bernoulli_record_zero_gradient_nodes():
    def fn(lib):
        mean = lib.zeros(3, requires_grad=True)
        std = lib.ones(2, 1, requires_grad=True)
        p = lib.full((3,), 0.5, requires_grad=True)
        outs = [lib.normal(mean, 2.0), lib.normal(1.0, std), lib.normal(mean, std), lib.normal(mean.detach(), std),
                lib.bernoulli(p)]
        names = [type(o.grad_fn).__name__ for o in outs]
        sum(o.sum() for o in outs).backward()
        return [o.detach() for o in outs] + [mean.grad, std.grad, p.grad], names

    torch.manual_seed(2)
    ref, ref_names = fn(torch)
    flambeau.manual_seed(2)
    ours, names = fn(flambeau)
    assert names == ref_names
    for o, r in zip(ours, ref):
        assert_same(o, r)
    assert flambeau.normal(flambeau.zeros(2), 1.0).grad_fn is None


# -- the rejection samplers: _standard_gamma, _sample_dirichlet, poisson, binomial ------------------------
# (Note [torch's rejection samplers]) Each element takes as many uniforms (and normals) as its own loop
# needs, so every test also compares the generator state afterwards, and a randn(1, float64) drawn after
# the sampler shows that the cached normal the gamma sampler shares with randn was left as torch leaves it.
ALPHAS = [0.0, 1e-30, 1e-3, 0.3, 1 / 3, 0.5, 0.999, 1.0, 1.0001, 2.0, 9.5, 10.0, 100.0, 1e6]


def same_error(fn):
    """fn(torch) and fn(flambeau) raise the same type of error, with the same message."""
    with pytest.raises(Exception) as ref:
        fn(torch)
    with pytest.raises(type(ref.value)) as ours:
        fn(flambeau)
    assert str(ours.value) == str(ref.value)


@pytest.mark.parametrize("seed", [0, 1, 2 ** 40 + 3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_standard_gamma(seed, dtype):
    def fn(lib):
        dt = getattr(lib, dtype)
        alphas = lib.tensor(ALPHAS, dtype=dt)
        grid = (lib.rand(6, 9, dtype=dt) * 3).t()                          # non-contiguous: filled in order
        first = lib._standard_gamma(alphas)
        lib.randn(3, dtype=lib.float64)                                   # leaves a normal cached
        return [first, lib._standard_gamma(grid), lib._standard_gamma(lib.tensor(0.7, dtype=dt)),
                lib._standard_gamma(lib.full((2, 0), 2.0, dtype=dt)), lib.randn(1, dtype=lib.float64)]
    same_draws(fn, seed)


def test_standard_gamma_computes_in_float_where_torch_does():
    """For float alphas 1 / alpha, alpha + 1 and alpha - 1/3 are rounded to float (in double, about
    a third of these samples would differ in the last bits), the rest is double."""
    same_draws(lambda lib: lib._standard_gamma(lib.rand(3000) * 4), 21)
    same_draws(lambda lib: lib._standard_gamma(lib.rand(3000, dtype=lib.float64) * 4), 22)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_standard_gamma_special_values(dtype):
    """NaN gives the smallest normal, inf gives inf; torch takes alpha < 0 too, its loop running on C's inf and
    NaN; huge alphas overflow float."""
    specials = [math.nan, math.inf, -0.5, -1.0, -1e-3, -2.0, -math.inf, -0.0, 1e-45, 1e30, 1e300, 2.0]
    same_draws(lambda lib: lib._standard_gamma(lib.tensor(specials, dtype=getattr(lib, dtype))), 23)


def test_standard_gamma_generator_and_errors():
    def fn(lib):
        g = lib.Generator().manual_seed(31)
        return [lib._standard_gamma(lib.tensor([0.4, 3.0]), g), lib._standard_gamma(lib.ones(3), generator=g),
                g.get_state()]
    same_draws(fn, 24)
    for dtype in ("float16", "int64", "bool", "complex64"):
        same_error(lambda lib: lib._standard_gamma(lib.ones(2, dtype=getattr(lib, dtype))))
    same_error(lambda lib: lib._standard_gamma(2.0))


@pytest.mark.parametrize("seed", [0, 3, 2 ** 33])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sample_dirichlet(seed, dtype):
    """Rows of 1 to 300 categories: the gammas in double, each row divided by its sum as torch adds it
    (in lanes of four from four categories on), cast and kept within [tiny, 1 - ulp]."""
    def fn(lib):
        dt = getattr(lib, dtype)
        out = [lib._sample_dirichlet(lib.tensor([0.5, 1.0, 2.0], dtype=dt)),
               lib._sample_dirichlet(lib.tensor([[0.0, 1.0], [0.0, 0.0], [1e-30, 1e-30], [2.0, 1e-3]], dtype=dt)),
               lib._sample_dirichlet(lib.tensor(2.0, dtype=dt)), lib._sample_dirichlet(lib.ones(3, 0, dtype=dt)),
               lib._sample_dirichlet(lib.tensor([0.3, 4.0], dtype=dt).expand(5, 2)),
               lib._sample_dirichlet((lib.rand(40, 3, dtype=dt) * 2).t())]
        out += [lib._sample_dirichlet(lib.rand(2, k, dtype=dt) * 3) for k in (4, 5, 7, 8, 13, 16, 33, 64, 300)]
        return out + [lib.randn(1, dtype=lib.float64)]
    same_draws(fn, seed)


def test_sample_dirichlet_errors():
    for dtype in ("float16", "int64"):
        same_error(lambda lib: lib._sample_dirichlet(lib.ones(2, dtype=getattr(lib, dtype))))
    same_error(lambda lib: lib._sample_dirichlet([1.0, 2.0]))


def test_row_sums_add_as_torch():
    """_cpu_rng.row_sums adds each row in the order of torch's sum(-1) of a contiguous double tensor."""
    rng = np.random.default_rng(0)
    for k in list(range(1, 70)) + [127, 128, 129, 256, 1000, 5003]:
        x = rng.exponential(1.0, (3, k)) * 10.0 ** rng.uniform(-6, 6, (3, k))
        np.testing.assert_array_equal(_cpu_rng.row_sums(x), torch.tensor(x).sum(-1).numpy())


POISSON_RATES = [0.0, 5e-324, 1e-8, 0.5, 1.0, 3.7, 9.99, 9.999999, 10.0, 10.000001, 11.0, 30.0, 1e3, 1e6]


@pytest.mark.parametrize("seed", [0, 5, 2 ** 40 + 3])
@pytest.mark.parametrize("dtype", FLOATS)
def test_poisson(seed, dtype):
    def fn(lib):
        dt = getattr(lib, dtype)
        rates = lib.tensor(POISSON_RATES, dtype=dt)
        grid = (lib.rand(5, 8, dtype=dt) * 25).t()
        return [lib.poisson(rates), lib.poisson(grid), lib.poisson(lib.tensor(12.5, dtype=dt)),
                lib.poisson(lib.empty(0, dtype=dt))]
    same_draws(fn, seed)


def test_poisson_extremes_and_errors():
    """An infinite rate gives C's conversion of an out-of-range count (INT64_MIN), in float16 too."""
    same_draws(lambda lib: [lib.poisson(lib.tensor([math.inf, 2.0 ** 62, 1e19, 5.0], dtype=lib.float64)),
                            lib.poisson(lib.tensor([math.inf, 7e4, 3.0], dtype=lib.float16)),
                            lib.poisson(lib.tensor([math.inf, 1e20, 3.0]))], 25)
    for bad in (-1.0, math.nan):
        # the rates before the bad one have drawn their counts: the generator has moved on
        torch.manual_seed(26)
        flambeau.manual_seed(26)
        same_error(lambda lib: lib.poisson(lib.tensor([5.0, 40.0, bad, 3.0])))
        assert_same(flambeau.get_rng_state(), torch.get_rng_state())
    for dtype in ("int64", "bool"):
        same_error(lambda lib: lib.poisson(lib.ones(2, dtype=getattr(lib, dtype))))
    same_error(lambda lib: lib.poisson(3.0))
    same_draws(lambda lib: lib.poisson(lib.full((4,), 3.0), lib.Generator().manual_seed(3)), 27)


BINOMIAL_CASES = [(0.0, 0.5), (5.0, 0.0), (5.0, 1.0), (5.0, 1.5), (5.0, -0.2), (-3.0, 0.5), (20.0, 0.5),
                  (20.0, 0.5000001), (7.5, 0.3), (7.5, 0.8), (25.0, 0.39999), (25.0, 0.4), (25.0, 0.6), (40.0, 0.75),
                  (100.0, 0.1), (99.0, 0.1), (1e6, 0.3), (1e6, 1e-5), (1e9, 0.5), (2.0 ** 40, 0.25), (1e30, 0.3),
                  (1e30, 1e-29), (5.0, 1e-45), (1e-30, 0.5), (math.inf, 0.3), (math.inf, 0.7), (math.inf, 0.0),
                  (-math.inf, 0.5), (5.0, math.nan), (5.0, math.inf)]


@pytest.mark.parametrize("seed", [0, 9, 2 ** 40 + 3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binomial(seed, dtype):
    """Inversion below n p = 10, BTRS above, the reflection for p > 1/2, and the edges."""
    def fn(lib):
        dt = getattr(lib, dtype)
        counts, probs = (lib.tensor(v, dtype=dt) for v in zip(*BINOMIAL_CASES))
        n = lib.tensor([[3.0, 30.0, 300.0, 3000.0]], dtype=dt).expand(5, 4)
        p = lib.rand(4, 5, dtype=dt).t()
        return [lib.binomial(counts, probs), lib.binomial(n, p), lib.binomial(lib.tensor(12.0, dtype=dt),
                lib.tensor(0.9, dtype=dt)), lib.binomial(lib.floor(lib.rand(2000, dtype=dt) * 200),
                                                         lib.rand(2000, dtype=dt))]
    same_draws(fn, seed)


@pytest.mark.parametrize("seed, count, prob", [(1, 275825.0, 1.0136841410712805e-05),
                                               (2, 34572.0, 2.488617155904649e-06),
                                               (48, 751727.0, 1.330270151811419e-05),
                                               (638, 4718324.0, 0.33286574482917786)])
def test_binomial_float_arithmetic(seed, count, prob):
    """Float inputs where torch's float arithmetic decides the draw: log1p(-p) as libm's log1pf (first two),
    n p rounded to float before the comparison with 10, and n p + 1/2 from float (last two)."""
    same_draws(lambda lib: lib.binomial(lib.tensor([count]), lib.tensor([prob])), seed)


def test_binomial_broadcasting_generator_and_errors():
    """A count of another shape than the result is resized, with torch's warning; torch then lays out and
    fills the result in prob's memory order."""
    def fn(lib):
        with pytest.warns(UserWarning, match="was resized since it had shape"):
            resized = lib.binomial(lib.tensor([50.0]), lib.linspace(0.1, 0.9, 12).reshape(3, 4).t())
        g = lib.Generator().manual_seed(8)
        return [resized, lib.binomial(lib.full((2, 3), 40.0), lib.tensor([0.1, 0.5, 0.9]), g),
                lib.binomial(lib.empty(0), lib.empty(0))]
    out = same_draws(fn, 28)
    assert out[0].stride() == (1, 4)
    for count, prob in (("int64", "float32"), ("float32", "int64"), ("float32", "float64"), ("float16", "float16")):
        same_error(lambda lib: lib.binomial(lib.ones(2, dtype=getattr(lib, count)),
                                            lib.ones(2, dtype=getattr(lib, prob))))
    same_error(lambda lib: lib.binomial(lib.ones(3), lib.ones(2)))
    same_error(lambda lib: lib.binomial(lib.ones(3), 0.5))
    same_error(lambda lib: lib.binomial(3.0, lib.ones(3)))
    with pytest.raises(RuntimeError, match="NaN count"):        # torch's loop never ends there
        flambeau.binomial(flambeau.tensor([math.nan]), flambeau.tensor([0.5]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_parameter_in_bulk(dtype):
    """poisson (rate >= 10), binomial and _standard_gamma (alpha >= 1) of one shared parameter draw in bulk
    (_cpu_rng._accepted_attempts, _inversions, _gammas): the same draws as the loops, the engine put back
    after the last one used and the normal left cached as the loop leaves it."""
    def fn(lib):
        dt = getattr(lib, dtype)

        def full(n, v):
            return lib.full((n,), v, dtype=dt)
        out = [lib.poisson(full(500, rate)) for rate in (10.0, 10.5, 37.0, 1e4, 3e9, 1e19)]
        out += [lib.binomial(full(300, n), full(300, p)) for n, p in
                ((25.0, 0.4), (100.0, 0.3), (100.0, 0.7), (1000.0, 0.5), (7.0e6, 0.25), (2.0 ** 25 + 3, 0.01),
                 (123.5, 0.2), (123.5, 0.9), (1e12, 1e-9), (1e9, 0.5), (2.0 ** 40, 0.75),
                 (20.0, 0.2), (20.0, 0.8), (7.5, 0.3), (1e6, 1e-6), (3.0, 0.5))]
        for alpha in (1.0, 2.0, 1e6):                   # gamma: with and without a normal cached before
            out += [lib._standard_gamma(full(3000, alpha)), lib.randn(1, dtype=lib.float64),
                    lib._standard_gamma(full(3001, alpha))]
        out.append(lib._standard_gamma(full(20000, 1.6)))   # a few y <= 0 on the way
        out.append(lib.distributions.Dirichlet(lib.ones(10, dtype=dt)).sample((500,)))
        out.append(lib.distributions.Binomial(100, probs=lib.tensor(0.3, dtype=dt)).sample((2000,)))
        out.append(lib.distributions.Poisson(lib.tensor(40.0, dtype=dt)).sample((2000,)))
        return out + [lib.poisson(full(2, 50.0)), lib.randn(1, dtype=lib.float64)]
    same_draws(fn, 33)
    same_draws(lambda lib: lib.binomial(lib.full((150000,), 40.0), lib.full((150000,), 0.5)), 34)


def test_rejection_samplers_across_blocks():
    """More draws than one block of the engine's uniforms (2^16): the blocks join up, and the engine is
    put back just after the last uniform used."""
    same_draws(lambda lib: [lib._standard_gamma(lib.full((40000,), 0.7)), lib.poisson(lib.full((30000,), 4.0)),
                            lib.randn(1, dtype=lib.float64)], 32)


def test_rejection_samplers_autograd():
    """_standard_gamma is differentiable through _standard_gamma_grad (whose own derivative torch leaves
    out); poisson's gradient is zero; _sample_dirichlet and binomial have no derivative."""
    grads = {}
    for lib in (torch, flambeau):
        lib.manual_seed(29)
        a = lib.tensor([0.5, 2.0, 30.0], requires_grad=True)
        x = lib._standard_gamma(a)
        assert x.grad_fn.name() == "StandardGammaBackward0"
        (g,) = lib.autograd.grad(x.sum(), a, create_graph=True)
        with pytest.raises(NotImplementedError, match="the derivative for '_standard_gamma_grad' is not implemented"):
            g.sum().backward()
        rate = lib.tensor([3.0, 20.0], requires_grad=True)
        lib.poisson(rate).sum().backward()
        grads[lib] = [x, g, rate.grad]
        for op in (lambda: lib._sample_dirichlet(a), lambda: lib.binomial(a, lib.full((3,), 0.5))):
            y = op()
            assert y.requires_grad
            with pytest.raises(RuntimeError, match="derivative for aten::.* is not implemented"):
                y.sum().backward()
    for ours, ref in zip(grads[flambeau], grads[torch]):
        np.testing.assert_allclose(_np(ours), _np(ref), rtol=1e-6)


def test_dirichlet_gradient_through_dirichlet_grad():
    """Dirichlet's rsample differentiates its samples as torch's _Dirichlet, through _dirichlet_grad."""
    rng = np.random.default_rng(1)
    x = rng.dirichlet([1.0, 1.0, 1.0], 400)
    alpha = rng.exponential(5.0, (400, 3)) + 0.05
    total = np.repeat(alpha.sum(-1, keepdims=True), 3, -1)
    for dt in ("float32", "float64"):
        args = [v.astype(dt) for v in (x, alpha, total)]
        ours = flambeau._dirichlet_grad(*(flambeau.tensor(v) for v in args))
        ref = torch._dirichlet_grad(*(torch.tensor(v) for v in args))
        assert ours.dtype == getattr(flambeau, dt)
        np.testing.assert_allclose(_np(ours), _np(ref), rtol=1e-4 if dt == "float32" else 1e-9, atol=1e-6)
    grads = []
    for lib in (torch, flambeau):
        lib.manual_seed(30)
        conc = lib.tensor([[0.7, 2.0, 9.0], [3.0, 0.2, 1.5]], dtype=lib.float64, requires_grad=True)
        sample = lib.distributions.Dirichlet(conc).rsample((6,))
        sample.backward(lib.arange(36, dtype=lib.float64).reshape(6, 2, 3).sin())
        grads.append((sample, conc.grad))
    assert_same(grads[1][0], grads[0][0])
    np.testing.assert_allclose(_np(grads[1][1]), _np(grads[0][1]), rtol=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_distributions_on_the_rejection_samplers(dtype):
    """The families built on the four samplers draw torch's samples after the same seed."""
    def fn(lib):
        D, dt = lib.distributions, getattr(lib, dtype)

        def t(v):
            return lib.tensor(v, dtype=dt)
        return [D.Gamma(t([2.0, 0.3, 15.0]), t(1.5)).sample((40,)), D.Gamma(t(0.5), t([1.0, 2.0])).rsample((3,)),
                D.Chi2(t([3.0, 0.8])).sample((20,)), D.StudentT(t([3.0, 10.0])).sample((20,)),
                D.Beta(t([2.0, 0.3]), t(1.5)).sample((30,)), D.Beta(2.0, 3.0).sample((5,)),
                D.Dirichlet(t([[2.0, 0.3, 5.0], [1.0, 1.0, 1.0]])).sample((25,)),
                D.Binomial(t([20.0, 50.0]), t([0.3, 0.7])).sample((30,)),
                D.Binomial(100, logits=t([-1.0, 2.0])).sample((10,)), D.Poisson(t([3.0, 30.0])).sample((30,)),
                D.NegativeBinomial(t([3.0, 30.0]), t([0.3, 0.6])).sample((20,)),
                D.FisherSnedecor(t([3.0, 30.0]), t([5.0, 2.0])).sample((20,))]
    same_draws(fn, 31)


def test_distributions_built_on_the_samplers():
    def fn(lib):
        D = lib.distributions
        return [D.Normal(lib.zeros(20), lib.ones(20)).sample(), D.Uniform(-1.0, 2.0).sample((5,)),
                D.Bernoulli(probs=lib.full((6,), 0.3)).sample(), D.Exponential(lib.tensor([2.0])).sample((4,)),
                D.Categorical(probs=lib.tensor([0.2, 0.3, 0.5])).sample((6,))]
    same_draws(fn, 16)


# -- nn --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 42])
def test_default_initialization_of_layers(seed):
    def fn(lib):
        nn = lib.nn
        mods = [nn.Linear(784, 256), nn.Linear(13, 7, bias=False), nn.Conv2d(3, 8, 3), nn.Conv2d(8, 16, (5, 3)),
                nn.Conv1d(4, 6, 3), nn.ConvTranspose2d(4, 3, 3), nn.Bilinear(3, 4, 5), nn.Embedding(10, 4),
                nn.LSTM(4, 6, 2), nn.GRU(3, 5, batch_first=True), nn.RNN(2, 3)]
        return [p for m in mods for p in m.parameters()]
    same_draws(fn, seed)


def test_init_functions():
    def fn(lib):
        init = lib.nn.init
        return [init.kaiming_uniform_(lib.empty(6, 5)), init.kaiming_uniform_(lib.empty(6, 5), a=math.sqrt(5)),
                init.kaiming_normal_(lib.empty(6, 5), mode="fan_out", nonlinearity="relu"),
                init.xavier_uniform_(lib.empty(6, 5), gain=2.0), init.xavier_normal_(lib.empty(40, 5)),
                init.uniform_(lib.empty(4, 4), -3, 2), init.normal_(lib.empty(4, 4), 1, 2),
                init.trunc_normal_(lib.empty(50, 50), std=0.02),
                init.trunc_normal_(lib.empty(300), mean=0.0, std=1.0, a=2.0, b=3.0),
                init.trunc_normal_(lib.empty(300), mean=0.0, std=1.0, a=-0.5, b=0.5),
                init.sparse_(lib.empty(10, 4), 0.3), init.kaiming_uniform_(lib.empty(8, 4, 3, 3, dtype=lib.float64))]
    same_draws(fn, 17)
    for lib in (torch, flambeau):
        lib.manual_seed(18)
    ours, ref = flambeau.nn.init.orthogonal_(flambeau.empty(5, 8)), torch.nn.init.orthogonal_(torch.empty(5, 8))
    np.testing.assert_allclose(_np(ours), _np(ref), atol=1e-6)         # the same normals; QR rounds its own way
    assert_same(flambeau.get_rng_state(), torch.get_rng_state())


@pytest.mark.parametrize("dtype", FLOATS)
def test_dropout_masks(dtype):
    """Dropout draws bernoulli_(1 - p) into a tensor laid out as the input and scales by 1 / (1 - p)."""
    def fn(lib):
        F, dt = lib.nn.functional, getattr(lib, dtype)
        x = lib.randn(8, 30).to(dt)
        drop = lib.nn.Dropout(0.3)
        out = [F.dropout(x, 0.5), F.dropout(x, 0.123), drop(x), F.dropout(x.t(), 0.4),
               F.dropout(x.clone(), 0.2, inplace=True), F.dropout2d(lib.randn(2, 5, 3, 3).to(dt), 0.4),
               F.dropout1d(lib.randn(2, 6, 4).to(dt), 0.5), F.alpha_dropout(x, 0.2, True),
               F.dropout(x, 0.3, training=False), F.dropout(x, 1.0), F.dropout(x, 0.0)]
        drop.eval()
        return out + [drop(x)]
    same_draws(fn, 19)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_native_dropout_and_rrelu(dtype):
    """native_dropout draws bernoulli_(1 - p) even at p = 0 or 1; rrelu draws one double per element <= 0."""
    def fn(lib):
        dt = getattr(lib, dtype)
        x = lib.linspace(-3, 3, 37, dtype=dt)
        x[5] = float("nan")                     # no draw for NaN
        out = [*lib.native_dropout(x, 0.3, True), *lib.native_dropout(x, 0.0, True), *lib.native_dropout(x, 1.0, True),
               *lib.native_dropout(x, 0.3, False), lib.nn.functional.rrelu(x, training=True),
               lib.nn.functional.rrelu(lib.linspace(-1, 1, 12, dtype=dt).view(3, 4).t(), 0.1, 0.9, training=True),
               lib.nn.RReLU()(x)]
        return [o.to(lib.float64) if o.dtype == lib.bool else o for o in out]
    same_draws(fn, 23)


def test_dropout_gradients_follow_the_mask():
    torch.manual_seed(20)
    xt = torch.randn(5, 7, requires_grad=True)
    torch.nn.functional.dropout(xt, 0.4).sum().backward()
    flambeau.manual_seed(20)
    xf = flambeau.randn(5, 7, requires_grad=True)
    flambeau.nn.functional.dropout(xf, 0.4).sum().backward()
    assert_same(xf.grad, xt.grad)


# -- data ------------------------------------------------------------------------------------------
def test_dataloader_shuffle_and_samplers():
    def run(lib):
        D = lib.utils.data
        ds = D.TensorDataset(lib.arange(25.0))
        loader = D.DataLoader(ds, batch_size=4, shuffle=True)
        out = [[b[0].tolist() for b in loader] for _ in range(2)]
        out.append(list(D.RandomSampler(range(10), replacement=True, num_samples=40)))
        out.append(list(D.RandomSampler(range(10), num_samples=25)))
        out.append(list(D.SubsetRandomSampler([3, 5, 7, 9, 11])))
        out.append(list(D.WeightedRandomSampler([0.1, 0.5, 2.0, 1.0], 12)))
        out.append(list(D.WeightedRandomSampler([0.1, 0.5, 2.0, 1.0], 3, replacement=False)))
        out.append([list(s.indices) for s in D.random_split(range(10), [3, 7])])
        g = lib.Generator().manual_seed(42)
        out.append([b[0].tolist() for b in D.DataLoader(ds, batch_size=5, shuffle=True, generator=g)])
        return out
    torch.manual_seed(21)
    ref = run(torch)
    flambeau.manual_seed(21)
    assert run(flambeau) == ref
    assert_same(flambeau.get_rng_state(), torch.get_rng_state())


def test_course_snippet():
    """The brief's example: the same numbers, weights and batch order as torch."""
    def run(lib):
        lib.manual_seed(0)
        x = lib.randn(3, 4)
        model = lib.nn.Linear(3, 2)
        ds = lib.utils.data.TensorDataset(lib.arange(10.0))
        order = [b[0].tolist() for b in lib.utils.data.DataLoader(ds, batch_size=3, shuffle=True)]
        return x.tolist(), model.weight.tolist(), model.bias.tolist(), order
    assert run(flambeau) == run(torch)


# -- exact arithmetic helpers ----------------------------------------------------------------------
def test_fused_multiply_add_emulation_is_exact():
    from fractions import Fraction
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(3000) * 10.0 ** rng.integers(-8, 8, 3000) for _ in range(3))
    exact = [float(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in zip(a, b, c)]
    np.testing.assert_array_equal(_cpu_rng.fma64(a, b, c), exact)
    a32, b32, c32 = (v.astype(np.float32) for v in (a, b, c))
    ties = np.float32([1 + 2 ** -12] * 2), np.float32([1 + 2 ** -12] * 2), np.float32([2 ** -80, -(2 ** -80)])
    for x, y, z in [(a32, b32, c32), ties]:
        want = []
        for p, q, r in zip(x, y, z):
            v = Fraction(float(p)) * Fraction(float(q)) + Fraction(float(r))
            f = np.float32(float(v))
            near = [f, np.nextafter(f, np.float32(np.inf)), np.nextafter(f, np.float32(-np.inf))]
            want.append(min(near, key=lambda w: (abs(Fraction(float(w)) - v), int(np.float32(w).view(np.int32)) & 1)))
        np.testing.assert_array_equal(_cpu_rng.fma32(x, y, z), np.array(want, np.float32))
