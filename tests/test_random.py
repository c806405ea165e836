"""Random numbers: seeding, generators, state, dtypes/shapes/errors against torch, distribution moments."""
import math

import numpy as np
import pytest
import torch

import flambeau
from _oracle import on_device, host_reads
N = 4000


def same_error(fn, device="cpu"):
    """fn(lib) raises the same exception type on torch and on flambeau with factories on device."""
    with pytest.raises(Exception) as ref:
        fn(torch)
    with pytest.raises(type(ref.value)):
        fn(on_device(flambeau, device))


def same_meta(fn, device="cpu"):
    """fn(lib) gives tensors of the same dtype and shape, flambeau's on device (or the same error type)."""
    lib = on_device(flambeau, device)
    try:
        ref = fn(torch)
    except Exception as e:          # the oracle's exception type is part of the contract
        with pytest.raises(type(e)):
            fn(lib)
        return None
    ours = fn(lib)
    assert str(ours.dtype) == str(ref.dtype), f"dtype {ours.dtype} != {ref.dtype}"
    assert tuple(ours.shape) == tuple(ref.shape), f"shape {tuple(ours.shape)} != {tuple(ref.shape)}"
    assert ours.device.type == device, f"on {ours.device}, expected {device}"
    return ours


def test_manual_seed_reproduces_every_sampler(device):
    F = on_device(flambeau, device)
    samplers = [lambda: F.rand(5), lambda: F.randn(2, 3), lambda: F.randint(0, 10, (4,)),
                lambda: F.randperm(6), lambda: flambeau.normal(0.0, 1.0, (3,), device=device),
                lambda: F.empty(4).uniform_(-1, 1), lambda: F.empty(4).normal_(),
                lambda: flambeau.bernoulli(F.full((5,), 0.5)), lambda: flambeau.normal(F.zeros(3), F.ones(3)),
                lambda: flambeau.multinomial(F.ones(5), 3), lambda: flambeau.multinomial(F.ones(2, 3), 4, True),
                lambda: F.empty(3).exponential_(), lambda: F.empty(4, dtype=flambeau.int64).random_()]
    flambeau.manual_seed(123)
    assert all(f().device.type == device for f in samplers)        # torch.manual_seed seeds cuda too
    flambeau.manual_seed(123)
    first = [f().tolist() for f in samplers]
    flambeau.manual_seed(123)
    second = [f().tolist() for f in samplers]
    assert first == second
    flambeau.manual_seed(124)
    assert [f().tolist() for f in samplers] != first
    assert flambeau.initial_seed() == 124


def test_manual_seed_returns_generator_and_random_seed():
    g = flambeau.manual_seed(7)
    assert isinstance(g, flambeau.Generator) and g is flambeau.default_generator
    s = flambeau.seed()
    assert isinstance(s, int) and flambeau.initial_seed() == s
    assert flambeau.Generator().initial_seed() == torch.Generator().initial_seed()


def test_generator_objects_are_independent_streams(device):
    F = on_device(flambeau, device)
    g1, g2 = flambeau.Generator(device).manual_seed(5), flambeau.Generator(device).manual_seed(5)
    flambeau.manual_seed(0)
    a = F.rand(4, generator=g1)
    F.rand(10)                                   # the default generator does not disturb g2
    b = F.rand(4, generator=g2)
    assert a.tolist() == b.tolist()
    g3 = flambeau.Generator(device).manual_seed(5)
    for f in (lambda g: F.randn(3, generator=g), lambda g: F.randint(9, (3,), generator=g),
              lambda g: F.randperm(5, generator=g), lambda g: F.empty(3).normal_(generator=g),
              lambda g: F.empty(3).random_(0, 5, generator=g), lambda g: F.empty(3).bernoulli_(0.5, generator=g)):
        ga, gb = flambeau.Generator(device).manual_seed(9), flambeau.Generator(device).manual_seed(9)
        assert f(ga).tolist() == f(gb).tolist()
    assert g3.device.type == device
    if device != "cpu":          # a generator draws for tensors on its own type of device only, as in torch
        with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator but found 'cpu'"):
            F.rand(2, generator=flambeau.Generator())
        with pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator but found 'cuda'"):
            flambeau.rand(2, generator=g3)


def test_rng_state_round_trip():
    flambeau.manual_seed(42)
    state = flambeau.get_rng_state()
    assert state.dtype is flambeau.uint8 and state.ndim == 1
    a = flambeau.randn(5)
    flambeau.set_rng_state(state)
    assert flambeau.randn(5).tolist() == a.tolist()
    g = flambeau.Generator().manual_seed(3)
    st = g.get_state()
    x = flambeau.rand(3, generator=g)
    g.set_state(st)
    assert flambeau.rand(3, generator=g).tolist() == x.tolist()
    with flambeau.random.fork_rng():
        flambeau.rand(100)
    flambeau.set_rng_state(state)
    assert flambeau.randn(5).tolist() == a.tolist()
    with pytest.raises(TypeError):
        flambeau.set_rng_state(flambeau.zeros(3))
    with pytest.raises(RuntimeError):
        flambeau.set_rng_state(flambeau.zeros(3, dtype=flambeau.uint8))


def test_generator_state_round_trip(device):
    """get_state() is a CPU ByteTensor, as torch's, and set_state() brings back the draws that
    followed it, on the generator's device too (every sampler, whatever it drew in between)."""
    g = flambeau.Generator(device).manual_seed(7)

    def draws(g=g):
        return [flambeau.rand(5, generator=g, device=device).tolist(),
                flambeau.randn(3, generator=g, device=device).tolist(),
                flambeau.randint(0, 1 << 40, (4,), generator=g, device=device).tolist(),
                flambeau.randperm(9, generator=g, device=device).tolist(),
                flambeau.empty(3, device=device).exponential_(generator=g).tolist()]
    ref = torch.Generator().get_state()
    first = g.get_state()
    assert (first.dtype, first.device.type, first.ndim) == (flambeau.uint8, ref.device.type, ref.ndim)
    assert g.get_state().tolist() == first.tolist()        # a state read twice, no draws between
    a = draws()
    second = g.get_state()
    b = draws()
    assert a != b
    g.set_state(first)
    assert draws() == a
    assert g.get_state().tolist() == second.tolist()
    assert draws() == b
    g.set_state(second)
    assert draws() == b
    other = flambeau.Generator(device).manual_seed(8)
    other.set_state(first)
    assert other.initial_seed() == 7 and draws(other) == a
    with pytest.raises(TypeError):
        g.set_state(flambeau.zeros(16))
    with pytest.raises(RuntimeError):
        g.set_state(flambeau.zeros(3, dtype=flambeau.uint8))


@pytest.mark.parametrize("fn", [
    lambda lib: lib.rand(3, 2), lambda lib: lib.rand((2,), dtype=lib.float64), lambda lib: lib.rand(2, dtype=lib.half),
    lambda lib: lib.rand(2, dtype=lib.complex64), lambda lib: lib.rand(2, dtype=lib.int64), lambda lib: lib.rand(0),
    lambda lib: lib.randn(4), lambda lib: lib.randn(2, dtype=lib.complex128), lambda lib: lib.randn(2, dtype=lib.int32),
    lambda lib: lib.randint(5, (3,)), lambda lib: lib.randint(-3, 5, (2, 2)),
    lambda lib: lib.randint(0, 3, (2,), dtype=lib.float32), lambda lib: lib.randint(5, 3, (2,)),
    lambda lib: lib.randint(3, (2,), dtype=lib.bool), lambda lib: lib.randint(0, 300, (2,), dtype=lib.uint8),
    lambda lib: lib.randperm(5), lambda lib: lib.randperm(4, dtype=lib.float32), lambda lib: lib.randperm(0),
    lambda lib: lib.normal(0.0, 1.0, (2, 3), device=lib.zeros(0).device), lambda lib: lib.normal(lib.zeros(3), 1.0),
    lambda lib: lib.normal(0.0, lib.ones(2, 2, dtype=lib.float64)), lambda lib: lib.normal(lib.zeros(2, 1), lib.ones(3)),
    lambda lib: lib.normal(lib.zeros(2), lib.ones(3)), lambda lib: lib.normal(0.0, -1.0, (2,)),
    lambda lib: lib.normal(lib.zeros(2), -1.0), lambda lib: lib.normal(lib.zeros(2), -lib.ones(2)),
    lambda lib: lib.bernoulli(lib.full((3,), 0.3)),
    lambda lib: lib.bernoulli(lib.ones(2, dtype=lib.int64)), lambda lib: lib.bernoulli(lib.zeros(3), p=0.5),
    lambda lib: lib.multinomial(lib.tensor([0.2, 0.8]), 4, replacement=True),
    lambda lib: lib.multinomial(lib.tensor([[0.2, 0.8, 0.0], [1.0, 1.0, 1.0]]), 2),
    lambda lib: lib.multinomial(lib.tensor([0.5, 0.5]), 3), lambda lib: lib.multinomial(lib.tensor([-1.0, 2.0]), 1),
    lambda lib: lib.rand_like(lib.ones(2, dtype=lib.float64)), lambda lib: lib.randn_like(lib.ones(3)),
    lambda lib: lib.randint_like(lib.ones(2), 3, 7)])
def test_sampler_dtype_shape_and_errors(fn, device):
    same_meta(fn, device=device)


def test_bernoulli_checks_probabilities_on_the_cpu_only(device):
    """torch's CPU kernel checks the probabilities; its CUDA kernel does not read them back to the host."""
    if device == "cpu":
        same_error(lambda lib: lib.bernoulli(lib.tensor([1.5])))
        same_error(lambda lib: lib.zeros(2).bernoulli_(lib.tensor([0.5, -1.0])))
    else:
        with host_reads() as reads:
            x = flambeau.bernoulli(flambeau.tensor([1.5, 0.0], device=device))
            flambeau.zeros(2, device=device).bernoulli_(flambeau.tensor([0.5, -1.0], device=device))
        assert reads[0] == 0 and x.tolist() == [1.0, 0.0]


INPLACE = {
    "uniform_": lambda t: t.uniform_(), "uniform_ab": lambda t: t.uniform_(-2, 3), "normal_": lambda t: t.normal_(),
    "bernoulli_": lambda t: t.bernoulli_(0.3), "bernoulli_tensor": lambda t: t.bernoulli_(t.new_full((4,), 0.5)
                                                                                        .float()),
    "random_": lambda t: t.random_(), "random_to": lambda t: t.random_(7), "random_from_to": lambda t: t.random_(2, 9),
    "exponential_": lambda t: t.exponential_(), "geometric_": lambda t: t.geometric_(0.3),
    "cauchy_": lambda t: t.cauchy_(), "log_normal_": lambda t: t.log_normal_()}
DTYPES = ["float16", "float32", "float64", "uint8", "int8", "int64", "bool", "complex64"]


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_samplers_accept_what_torch_accepts(name, device):
    for d in DTYPES:
        def fn(lib):
            t = lib.zeros(4, dtype=getattr(lib, d))
            out = INPLACE[name](t)
            assert out is t
            return t
        same_meta(fn, device=device)


def test_inplace_sampler_argument_errors(device):
    for fn in (lambda lib: lib.zeros(2).uniform_(1, 0), lambda lib: lib.zeros(2).random_(2, 1),
               lambda lib: lib.zeros(2).exponential_(-1), lambda lib: lib.zeros(2).geometric_(1.5),
               lambda lib: lib.zeros(2).normal_(0, -1), lambda lib: lib.zeros(2).bernoulli_(1.5),
               lambda lib: lib.zeros(2, dtype=lib.uint8).random_(0, 300),
               lambda lib: lib.zeros(2).log_normal_(1.0, -2.0)):
        same_error(fn, device=device)


@pytest.mark.parametrize("bounds", [(2, 1), (0.1, 0.05), (1234567.0, 2.0), (-3e38, 3e38)])
def test_uniform_bound_messages_print_doubles_as_torch(bounds, device):
    # C++ prints a double as %g: from=2 > to=1, from=1.23457e+06
    with pytest.raises(RuntimeError) as ref:
        torch.zeros(2).uniform_(*bounds)
    with pytest.raises(RuntimeError) as ours:
        on_device(flambeau, device).zeros(2).uniform_(*bounds)
    assert str(ours.value) == str(ref.value)


def test_inplace_sampler_writes_through_views(device):
    F = on_device(flambeau, device)
    flambeau.manual_seed(0)
    t = F.zeros(3, 4)
    t[:, 1].uniform_(5, 6)
    t.t()[2].fill_(1).normal_(10, 0.01)
    assert ((t[:, 1] >= 5) & (t[:, 1] < 6)).all() and t[:, 0].eq(0).all()
    assert (t[:, 2] - 10).abs().max() < 0.1


def _moments(x):
    assert x.device.type == _moments.device, f"samples on {x.device}"
    a = x.double()
    return a.mean().item(), a.std().item()


def test_distribution_moments(device):
    F = on_device(flambeau, device)
    _moments.device = device
    flambeau.manual_seed(2024)
    se = 4 / math.sqrt(N)                          # loose bounds: about 4 standard errors
    m, s = _moments(F.rand(N))
    assert abs(m - 0.5) < se * math.sqrt(1 / 12) and abs(s - math.sqrt(1 / 12)) < 0.02
    m, s = _moments(F.randn(N, dtype=flambeau.float64))
    assert abs(m) < se and abs(s - 1) < 0.05
    m, s = _moments(flambeau.normal(3.0, 2.0, (N,), device=device))
    assert abs(m - 3) < 2 * se and abs(s - 2) < 0.1
    m, s = _moments(flambeau.normal(F.full((N,), -1.0), F.full((N,), 0.5)))
    assert abs(m + 1) < se and abs(s - 0.5) < 0.03
    m, s = _moments(F.empty(N).uniform_(-2, 4))
    assert abs(m - 1) < 6 * se * math.sqrt(1 / 12) and abs(s - 6 * math.sqrt(1 / 12)) < 0.1
    m, s = _moments(F.empty(N).exponential_(2.0))
    assert abs(m - 0.5) < se and abs(s - 0.5) < 0.05
    m, s = _moments(F.empty(N).geometric_(0.25))
    assert abs(m - 4) < 4 * se * math.sqrt(12) and abs(s - math.sqrt(12)) < 0.5
    m, s = _moments(F.empty(N).log_normal_(0.0, 0.25))
    assert abs(m - math.exp(0.25 ** 2 / 2)) < 0.02
    m, _ = _moments(F.empty(N).bernoulli_(0.3))
    assert abs(m - 0.3) < 0.03
    m, _ = _moments(flambeau.bernoulli(F.full((N,), 0.7)))
    assert abs(m - 0.7) < 0.03
    med = F.empty(N).cauchy_(1.0, 2.0).median().item()
    assert abs(med - 1.0) < 0.3
    ints = F.randint(-3, 4, (N,))
    assert ints.min().item() == -3 and ints.max().item() == 3 and abs(ints.double().mean().item()) < 0.25
    r = F.empty(N, dtype=flambeau.int16).random_(10)
    assert r.min().item() == 0 and r.max().item() == 9
    c = F.randn(N, dtype=flambeau.complex128)
    assert abs(c.real.var().item() - 0.5) < 0.05 and abs(c.imag.var().item() - 0.5) < 0.05


def test_randperm_and_multinomial_properties(device):
    F = on_device(flambeau, device)
    flambeau.manual_seed(1)
    p = F.randperm(50)
    assert p.device.type == device
    assert sorted(p.tolist()) == list(range(50))
    draws = flambeau.multinomial(F.tensor([1.0, 3.0, 0.0]), N, replacement=True)
    counts = flambeau.bincount(draws, minlength=3).tolist()
    assert counts[2] == 0 and abs(counts[1] / N - 0.75) < 0.03
    no_rep = flambeau.multinomial(F.ones(3, 6), 6)
    assert all(sorted(row) == list(range(6)) for row in no_rep.tolist())


def test_random_values_in_range_for_dtypes(device):
    F = on_device(flambeau, device)
    flambeau.manual_seed(3)
    assert F.empty(N, dtype=flambeau.uint8).random_().max().item() <= 255
    b = F.empty(100, dtype=flambeau.bool).random_()
    assert b.any() and not b.all()
    f = F.empty(N).random_(0, 4)
    assert set(f.unique().tolist()) == {0.0, 1.0, 2.0, 3.0}
    h = F.rand(N, dtype=flambeau.float16)
    assert (h < 1).all() and (h >= 0).all()


def test_poisson_draws_on_the_input_device(device):
    L = on_device(flambeau, device)
    rates = L.tensor([0.0, 0.5, 4.0, 50.0]).repeat(5000, 1)
    flambeau.manual_seed(3)
    with host_reads() as reads:
        counts = flambeau.poisson(rates)
    assert reads[0] == 0 and counts.device.type == flambeau.device(device).type
    assert counts.dtype is flambeau.float32 and counts.shape == rates.shape
    np.testing.assert_allclose(counts.mean(0).cpu().numpy(), [0.0, 0.5, 4.0, 50.0], rtol=0.05, atol=0.02)
    np.testing.assert_allclose(counts.var(0).cpu().numpy(), [0.0, 0.5, 4.0, 50.0], rtol=0.1, atol=0.02)
    flambeau.manual_seed(3)
    assert flambeau.equal(counts, flambeau.poisson(rates))              # same seed, same counts
    if flambeau.cuda.is_available():                                   # a generator of the other device
        here = flambeau.device(device).type
        with pytest.raises(RuntimeError, match=f"Expected a '{here}' device type for generator"):
            flambeau.poisson(rates, generator=flambeau.Generator("cuda" if here == "cpu" else "cpu"))
