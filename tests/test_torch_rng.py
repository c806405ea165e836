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


def test_samplers_without_torchs_algorithm_are_reproducible():
    """poisson and the gamma/binomial samplers draw from NumPy seeded by the torch stream: same seed, same
    numbers, one random64() draw (two 32-bit words) per call."""
    def draws():
        flambeau.manual_seed(15)
        rates = flambeau.full((6,), 3.0)
        return [flambeau.poisson(rates).tolist(), flambeau.distributions.Gamma(2.0, 1.0).sample((4,)).tolist(),
                flambeau.distributions.Binomial(10, 0.3).sample((4,)).tolist(), flambeau.rand(2).tolist()]
    assert draws() == draws()
    flambeau.manual_seed(15)
    flambeau.poisson(flambeau.full((6,), 3.0))
    torch.manual_seed(15)
    torch.empty(1, dtype=torch.int64).random_(-2 ** 63, None)          # one random64()
    assert_same(flambeau.get_rng_state(), torch.get_rng_state())


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
