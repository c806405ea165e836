"""Reproducible randomness as course code relies on it: the same seed gives the same numbers, streams,
generators, dropout masks, initializations, sampler orders and distribution samples as PyTorch."""
import torch
from torch import nn
import torch.nn.functional as F
from torch.utils.data import (DataLoader, TensorDataset, random_split, RandomSampler, SubsetRandomSampler,
                              WeightedRandomSampler)
from torch.distributions import (Normal, Bernoulli, Categorical, Uniform, Exponential, Beta, Gamma, Dirichlet,
                                 Multinomial)

torch.set_printoptions(precision=6)


def head(t, k=6):
    """A long draw summarized: shape, dtype, its first values and a rounded sum."""
    flat = t.flatten()
    return f"{tuple(t.shape)} {t.dtype} {flat[:k].tolist()} sum={flat.double().sum().item():.4f}"


# -- basic draws: sizes around the 16-element vectorized normal block ----------------------------
torch.manual_seed(0)
print(torch.rand(3), torch.randn(2, 2), torch.rand(0), torch.randn(0).shape)
for n in (1, 15, 16, 17):
    print(n, torch.rand(n), torch.randn(n))
print(head(torch.rand(1000)), head(torch.randn(1000)), head(torch.randn(10, 100)))
print(torch.rand(4, dtype=torch.float64), torch.randn(5, dtype=torch.float64))
print(torch.rand(3, dtype=torch.float16), torch.randn(17, dtype=torch.float16))
print(torch.randn(3, 4).t().contiguous(), torch.randn(2, 3, dtype=torch.float64))

torch.manual_seed(1)
print(torch.randint(10, (6,)), torch.randint(-5, 5, (2, 4)), torch.randint(3, (0,)))
print(torch.randint(0, 256, (5,), dtype=torch.uint8), torch.randint(0, 2, (5,), dtype=torch.bool))
print(torch.randint(0, 100, (4,), dtype=torch.float32), torch.randint(-3, 3, (4,), dtype=torch.int16))
print(torch.randint(0, 2 ** 40, (3,)), torch.randint(1 << 30, (3,), dtype=torch.int64))
print(head(torch.randint(0, 1000, (1000,))))
base = torch.zeros(2, 3)
print(torch.rand_like(base), torch.randn_like(base), torch.randint_like(base, 10), torch.randint_like(base, 3, 7))
print(torch.rand_like(base, dtype=torch.float64), torch.randn_like(torch.zeros(3, dtype=torch.float16)))

torch.manual_seed(2)
print(torch.randperm(1), torch.randperm(0), torch.randperm(8), torch.randperm(5, dtype=torch.int32))
print(torch.randperm(10, dtype=torch.float32), head(torch.randperm(5000)))

torch.manual_seed(3)
print(torch.normal(torch.zeros(3), torch.ones(3)), torch.normal(torch.arange(4.), 0.5))
print(torch.normal(1.0, torch.tensor([1., 2., 3.])), torch.normal(2.0, 3.0, size=(2, 3)))
print(torch.normal(torch.zeros(2, 1), torch.ones(1, 3)), torch.normal(0.0, 1.0, (20,)))
print(torch.normal(torch.zeros(17, dtype=torch.float64), torch.ones(17, dtype=torch.float64)))

# -- in-place samplers ----------------------------------------------------------------------------
torch.manual_seed(4)
print(torch.empty(5).normal_(), torch.empty(3).normal_(2.0, 0.5), torch.empty(4).uniform_(-2, 3))
print(torch.empty(4, dtype=torch.float64).uniform_(-1, 1), torch.empty(4, dtype=torch.float16).uniform_(0, 10))
print(torch.empty(4).exponential_(), torch.empty(3, dtype=torch.float64).exponential_(2.5))
print(torch.empty(6).geometric_(0.3), torch.empty(4).log_normal_(), torch.empty(3).log_normal_(1.0, 0.25))
print(torch.empty(4).cauchy_(), torch.empty(3, dtype=torch.float64).cauchy_(1.0, 2.0))
print(torch.empty(5, dtype=torch.int64).random_(), torch.empty(5).random_(10), torch.empty(5).random_(3, 9))
print(torch.empty(4, dtype=torch.uint8).random_(), torch.empty(4, dtype=torch.int32).random_(-10, 10))
print(torch.empty(3, dtype=torch.bool).random_(), torch.empty(3, dtype=torch.float64).random_())
print(torch.empty(3, 4).t().normal_(), torch.empty(2, 8)[:, ::2].uniform_())

torch.manual_seed(5)
probs = torch.tensor([0.1, 0.5, 0.9, 0.0, 1.0])
print(torch.bernoulli(probs), torch.bernoulli(torch.full((2, 3), 0.3)), torch.bernoulli(probs, 0.5))
print(torch.empty(6).bernoulli_(0.25), torch.zeros(5).bernoulli_(probs), torch.rand(4).bernoulli())
print(torch.bernoulli(torch.full((3,), 0.5, dtype=torch.float64)), torch.full((20,), 0.5).bernoulli().sum())
w = torch.tensor([1., 2., 3., 4.])
print(torch.multinomial(w, 1), torch.multinomial(w, 3), torch.multinomial(w, 10, replacement=True))
print(torch.multinomial(torch.tensor([[1., 0., 1.], [0.2, 0.3, 0.5]]), 2))
print(torch.multinomial(torch.tensor([[1., 1.], [9., 1.]]), 6, replacement=True), w.multinomial(2))
print(torch.poisson(torch.tensor([0.5, 1.0, 4.0, 20.0, 0.0])), torch.poisson(torch.full((2, 3), 100.)))

# -- generator objects --------------------------------------------------------------------------
g = torch.Generator()
print(g.initial_seed(), torch.initial_seed(), g.manual_seed(123) is g, g.initial_seed())
print(torch.rand(3, generator=g), torch.randn(3, generator=g), torch.randint(0, 9, (4,), generator=g))
print(torch.randperm(6, generator=g), torch.normal(torch.zeros(2), 1.0, generator=g))
print(torch.normal(0.0, 1.0, (3,), generator=g), torch.empty(3).uniform_(generator=g))
print(torch.empty(3).normal_(generator=g), torch.empty(3).exponential_(generator=g))
print(torch.empty(3).random_(0, 5, generator=g), torch.empty(3).geometric_(0.5, generator=g))
print(torch.empty(2).cauchy_(generator=g), torch.empty(2).log_normal_(generator=g))
print(torch.bernoulli(probs, generator=g), torch.multinomial(w, 2, generator=g))
print(torch.poisson(torch.tensor([3.0, 7.0]), generator=g), torch.rand(2, generator=g, dtype=torch.float64))

a, b = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
print([torch.rand(1, generator=gen).item() for gen in (a, b, a, b)])
torch.manual_seed(7)
print(torch.rand(1).item(), a.initial_seed(), torch.initial_seed())
state = g.get_state()
print(state.dtype, state.shape, torch.rand(2, generator=g))
g.set_state(state)
print(torch.rand(2, generator=g), torch.equal(g.get_state(), torch.Generator().manual_seed(1).get_state()))
torch.manual_seed(8)
_ = torch.randn(3)  # leaves a cached normal in the state
saved = torch.get_rng_state()
first = (torch.randn(1), torch.rand(3), torch.randint(5, (3,)))
torch.set_rng_state(saved)
second = (torch.randn(1), torch.rand(3), torch.randint(5, (3,)))
print(all(torch.equal(x, y) for x, y in zip(first, second)), first)
with torch.random.fork_rng():
    torch.manual_seed(99)
    inner = torch.rand(2)
print(inner, torch.rand(2), torch.equal(torch.get_rng_state(), saved))
s = torch.seed()
print(torch.initial_seed() == s, g.seed() == g.initial_seed())
print(torch.default_generator.initial_seed() == s, torch.manual_seed(9) is torch.default_generator)

# -- layers and utilities that draw ---------------------------------------------------------------
torch.manual_seed(10)
x = torch.ones(2, 8)
drop = nn.Dropout(0.5)
print(drop(x), F.dropout(x, 0.25), F.dropout(x, 0.25, training=False).sum())
print(F.dropout2d(torch.ones(1, 4, 2, 2), 0.5).sum((2, 3)), nn.Dropout1d(0.5)(torch.ones(2, 3, 2)))
print(F.alpha_dropout(torch.ones(2, 5), 0.5, training=True), nn.AlphaDropout(0.2)(torch.ones(6)))
print(F.feature_alpha_dropout(torch.ones(2, 3, 2), 0.5, training=True))
print(nn.Dropout(0.3)(torch.ones(20)).eq(0).sum(), F.dropout(torch.ones(3, dtype=torch.float64), 0.5))

torch.manual_seed(11)
lin, conv = nn.Linear(5, 3), nn.Conv2d(2, 4, 3)
print(lin.weight, lin.bias)
print(f"{conv.weight.sum().item():.4f} {conv.bias.sum().item():.4f}", conv.weight[0, 0, 0], conv.bias)
print(nn.Embedding(4, 3).weight, nn.LSTM(2, 3).weight_hh_l0[:2], nn.BatchNorm1d(3).weight)
wt = torch.empty(3, 5)
for name, init in [("uniform_", lambda t: nn.init.uniform_(t, -0.1, 0.1)),
                   ("normal_", lambda t: nn.init.normal_(t, 0.0, 0.02)),
                   ("xavier_uniform_", nn.init.xavier_uniform_),
                   ("xavier_normal_", lambda t: nn.init.xavier_normal_(t, gain=2.0)),
                   ("kaiming_uniform_", lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu")),
                   ("kaiming_normal_", lambda t: nn.init.kaiming_normal_(t, mode="fan_out")),
                   ("trunc_normal_", lambda t: nn.init.trunc_normal_(t, std=0.5)),
                   ("orthogonal_", nn.init.orthogonal_),
                   ("sparse_", lambda t: nn.init.sparse_(t, 0.5))]:
    out = init(wt)
    print(name, out is wt, [f"{v:.4f}" for v in wt[0].tolist()])
print(nn.init.kaiming_uniform_(torch.empty(2, 3), generator=torch.Generator().manual_seed(0)))

ds = TensorDataset(torch.arange(10.), torch.arange(10) % 2)
gen = torch.Generator().manual_seed(12)
parts = random_split(ds, [6, 4], generator=gen)
print([p.indices for p in parts], [len(p) for p in random_split(ds, [0.7, 0.3], generator=gen)])
torch.manual_seed(12)
print([p.indices for p in random_split(range(7), [3, 4])])
print(list(RandomSampler(range(6))), list(RandomSampler(range(6), generator=torch.Generator().manual_seed(1))))
print(list(RandomSampler(range(4), replacement=True, num_samples=8)), len(RandomSampler(range(5), num_samples=3)))
print(list(SubsetRandomSampler([3, 7, 9, 11])), list(SubsetRandomSampler(range(5), generator=gen)))
weights = [0.1, 0.4, 0.0, 0.5]
print(list(WeightedRandomSampler(weights, 8)), list(WeightedRandomSampler(weights, 3, replacement=False)))
print(list(WeightedRandomSampler(torch.tensor(weights, dtype=torch.float64), 5, generator=gen)))
print([yb.tolist() for _, yb in DataLoader(ds, batch_size=4, shuffle=True)])
print([xb.tolist() for xb, _ in DataLoader(ds, batch_size=3, shuffle=True, generator=torch.Generator().manual_seed(5))])
torch.manual_seed(13)
epochs = [[xb.tolist() for xb, _ in DataLoader(ds, batch_size=5, shuffle=True)] for _ in range(2)]
print(epochs, torch.rand(1))

# -- distributions ------------------------------------------------------------------------------
torch.manual_seed(14)
print(Normal(torch.zeros(3), torch.ones(3)).sample(), Normal(0.0, 2.0).sample((4,)), Normal(1.0, 0.5).rsample((2, 2)))
print(Bernoulli(torch.tensor([0.2, 0.8])).sample((3,)), Bernoulli(logits=torch.zeros(4)).sample())
print(Categorical(torch.tensor([0.1, 0.2, 0.7])).sample((8,)), Categorical(logits=torch.zeros(2, 5)).sample((3,)))
print(Uniform(-1.0, 1.0).sample((4,)), Uniform(torch.zeros(2), torch.tensor([1., 10.])).rsample())
print(Exponential(torch.tensor([1.0, 0.5])).sample((2,)), Exponential(3.0).sample((3,)))
print(Gamma(torch.tensor([2.0, 0.5]), torch.tensor([1.0, 2.0])).sample((3,)), Gamma(3.0, 1.0).rsample((2,)))
print(Beta(torch.tensor([2.0, 0.5]), torch.tensor([3.0, 0.5])).sample((2,)), Beta(1.0, 1.0).sample())
print(Dirichlet(torch.tensor([1.0, 2.0, 3.0])).sample((2,)), Dirichlet(torch.ones(2, 4)).sample())
print(Multinomial(10, torch.tensor([0.2, 0.3, 0.5])).sample((3,)), Multinomial(5, logits=torch.zeros(4)).sample())
print(Normal(torch.zeros(1000), 1.0).sample().mean().abs() < 0.1, head(Gamma(2.0, 1.0).sample((1000,))))

# -- autograd through samplers, keyword forms and typical mistakes -------------------------------
torch.manual_seed(15)
mu, sigma = torch.zeros(3, requires_grad=True), torch.ones(3, requires_grad=True)
z = torch.normal(mu, sigma)
print(z, z.grad_fn.name(), torch.normal(mu, 0.5).grad_fn.name(), torch.normal(0.0, sigma).grad_fn.name())
z.sum().backward()
print(mu.grad, sigma.grad, torch.bernoulli(torch.full((3,), 0.5, requires_grad=True)))
h = mu * 2
h.normal_()
print(h.grad_fn.name(), h._version, [type((mu * 1).uniform_().grad_fn).__name__, (mu * 1).random_(5).grad_fn.name()])
print(torch.rand(size=(2, 2)), torch.randn(size=[3]),
      torch.randn_like(base, generator=torch.Generator().manual_seed(0)))
sparse_probs = torch.tensor([0., 2., 0., 1.])
print(sorted(torch.multinomial(sparse_probs, 4).tolist()), torch.multinomial(sparse_probs, 2))
print(torch.randperm(256, dtype=torch.uint8)[:5], torch.randperm(2049, dtype=torch.float16)[:3])


def show_error(fn):
    try:
        fn()
    except Exception as e:
        print(type(e).__name__, str(e).split("\n")[0])


show_error(lambda: torch.randint(5))
show_error(lambda: torch.randint(2, 5))
show_error(lambda: torch.randint(0, 300, (2,), dtype=torch.uint8))
show_error(lambda: torch.randint(5, 3, (2,)))
show_error(lambda: torch.randperm(300, dtype=torch.uint8))
show_error(lambda: torch.multinomial(torch.tensor([1, 2]), 1))
show_error(lambda: torch.multinomial(torch.ones(3), 4))
show_error(lambda: torch.multinomial(torch.zeros(3), 1))
show_error(lambda: torch.bernoulli(torch.tensor([1.5])))
show_error(lambda: torch.normal(0.0, 1.0))
show_error(lambda: torch.empty(2).uniform_(2, 1))
show_error(lambda: torch.empty(2).normal_(0, -1))
show_error(lambda: torch.empty(2, dtype=torch.int64).normal_())
show_error(lambda: torch.rand(2, dtype=torch.int64))
show_error(lambda: nn.Dropout(1.5))
show_error(lambda: random_split(range(10), [3, 3]))
show_error(lambda: torch.manual_seed(2 ** 64))
