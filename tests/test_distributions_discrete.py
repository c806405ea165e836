"""Multinomial, NegativeBinomial, MixtureSameFamily and LowRankMultivariateNormal against torch.distributions:
values, gradients, shapes, errors, KL divergences and loose statistical checks of the samples."""
import math

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, check_against_torch, gradcheck, need_torch, same_error, to_numpy

torch = need_torch()


def _pos(lib, t):
    return lib.nn.functional.softplus(t) + 0.1


# name -> (fn(lib, *inputs) returning a tuple of tensors, input shapes); the inputs are standard normal,
# mapped into each parameter's range by differentiable ops so that the gradients reach them
def _multinomial_probs(lib, p, x):
    d = lib.distributions.Multinomial(6, probs=lib.softmax(p, -1))
    value = lib.tensor([[1., 2., 3., 0.], [6., 0., 0., 0.], [0., 1., 1., 4.]], dtype=p.dtype)
    return d.log_prob(value), d.entropy(), d.mean, d.variance, d.stddev, d.logits, d.probs


def _multinomial_logits(lib, logit, x):
    # unnormalized logits; the value's total differs from total_count, which log_prob allows unvalidated
    d = lib.distributions.Multinomial(3, logits=logit, validate_args=False)
    value = x.abs() * 2                       # non-integer counts: the gradient of value through lgamma
    return d.log_prob(value), d.entropy(), d.mean, d.variance, d.probs


def _negative_binomial_probs(lib, r, p, x):
    d = lib.distributions.NegativeBinomial(_pos(lib, r) * 3, probs=lib.sigmoid(p))
    k = (x.abs() * 3).floor()
    return d.log_prob(k), d.mean, d.mode, d.variance, d.stddev, d.logits


def _negative_binomial_logits(lib, r, logit, x):
    d = lib.distributions.NegativeBinomial(_pos(lib, r), logits=logit, validate_args=False)
    k = x.abs() * 3                           # real values: the gradient of value through lgamma
    return d.log_prob(k), d.mean, d.mode, d.variance, d.probs


def _mixture_normal(lib, w, loc, s, x):
    D = lib.distributions
    d = D.MixtureSameFamily(D.Categorical(logits=w), D.Normal(loc, _pos(lib, s)))
    return d.log_prob(x), d.cdf(x), d.mean, d.variance, d.stddev


def _mixture_broadcast_mixture(lib, w, loc, s, x):
    # the mixture weights (batch ()) shared by a batch of 2 x 3 mixtures of 4 gammas; torch's Gamma.cdf has no
    # derivative in the concentration
    D = lib.distributions
    d = D.MixtureSameFamily(D.Categorical(probs=lib.softmax(w, -1)),
                            D.Gamma(_pos(lib, loc.detach()) * 2, _pos(lib, s)))
    x = x.abs() + 0.1
    return d.log_prob(x), d.cdf(x), d.mean, d.variance


def _mixture_independent(lib, w, loc, s, x):
    # 2-d events: a batch of 3 mixtures of 4 diagonal normals
    D = lib.distributions
    d = D.MixtureSameFamily(D.Categorical(logits=w), D.Independent(D.Normal(loc, _pos(lib, s)), 1))
    return d.log_prob(x), d.mean, d.variance


def _mixture_lowrank(lib, w, loc, f, x):
    D = lib.distributions
    d = D.MixtureSameFamily(D.Categorical(logits=w),
                            D.LowRankMultivariateNormal(loc, f, _pos(lib, loc.detach()) + 0.5))
    return d.log_prob(x), d.mean, d.variance


def _lowrank(lib, loc, f, dg, x):
    d = lib.distributions.LowRankMultivariateNormal(loc, f, _pos(lib, dg))
    return (d.log_prob(x), d.entropy(), d.mean, d.mode, d.variance, d.stddev, d.scale_tril, d.covariance_matrix,
            d.precision_matrix)


CASES = {
    "multinomial_probs": (_multinomial_probs, [(3, 4), (1,)]),
    "multinomial_logits": (_multinomial_logits, [(2, 1, 5), (3, 5)]),
    "negative_binomial_probs": (_negative_binomial_probs, [(4,), (2, 4), (3, 2, 4)]),
    "negative_binomial_logits": (_negative_binomial_logits, [(2, 1), (3,), (2, 3)]),
    "mixture_normal": (_mixture_normal, [(5,), (5,), (5,), (4, 1)]),
    "mixture_broadcast_mixture": (_mixture_broadcast_mixture, [(4,), (2, 3, 4), (2, 3, 4), (5, 2, 3)]),
    "mixture_independent": (_mixture_independent, [(3, 4), (3, 4, 2), (3, 4, 2), (5, 3, 2)]),
    "mixture_lowrank": (_mixture_lowrank, [(4,), (4, 3), (4, 3, 2), (2, 3)]),
    # batch shapes that broadcast: loc (2, 3), cov_factor (3, 2), cov_diag (4, 1, 3)
    "lowrank": (_lowrank, [(2, 3), (3, 2), (4, 1, 3), (5, 4, 2, 3)]),
    "lowrank_full_rank": (_lowrank, [(4,), (4, 4), (4,), (2, 4)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name):
    fn, shapes = CASES[name]
    check_against_torch(fn, *shapes, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["multinomial_probs", "negative_binomial_probs", "mixture_normal", "lowrank"])
def test_values_and_gradients_on_device(name, device):
    fn, shapes = CASES[name]
    check_against_torch(fn, *shapes, device=device, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["multinomial_probs", "negative_binomial_logits", "mixture_independent",
                                  "lowrank"])
def test_float32_keeps_dtype(name):
    fn, shapes = CASES[name]
    check_against_torch(fn, *shapes, dtype="float32", rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name", ["multinomial_logits", "negative_binomial_logits", "mixture_normal",
                                  "mixture_independent", "lowrank"])
def test_gradcheck_float64(name):
    # central differences on every output (a weighted sum, so one scalar covers them all)
    fn, shapes = CASES[name]

    def scalar(lib, *xs):
        outs = fn(lib, *xs)
        return sum((o * (i + 1)).sum() for i, o in enumerate(outs) if o.dtype.is_floating_point)
    gradcheck(scalar, *shapes, seed=3)


def test_multinomial_log_prob_of_impossible_categories():
    # a category of logit -inf drawn 0 times contributes 0 (not nan), drawn once makes the value impossible;
    # probs of 0 are clamped to eps on the way to logits, as torch's
    def fn(lib):
        d = lib.distributions.Multinomial(3, logits=lib.tensor([-math.inf, 0.4, 0.6]))
        z = lib.distributions.Multinomial(3, lib.tensor([0., 0.4, 0.6]))
        value = lib.tensor([[0., 1., 2.], [1., 1., 1.]])
        return d.log_prob(value), d.entropy(), d.probs, z.log_prob(value), z.entropy(), z.logits
    ours, ref = fn(flambeau), fn(torch)
    assert_same(ours, ref)
    assert ours[0][1].item() == -math.inf and math.isfinite(ours[0][0].item())


def test_multinomial_zero_total_count():
    def fn(lib):
        d = lib.distributions.Multinomial(0, lib.tensor([0.2, 0.8]))
        return d.entropy(), d.log_prob(lib.tensor([0., 0.])), d.mean, d.variance
    assert_same(fn(flambeau), fn(torch))


def test_negative_binomial_zero_total_count():
    # r = 0: all mass at 0 (log_prob 0 there, where lgamma(0) would give nan), and samples are 0
    def fn(lib):
        d = lib.distributions.NegativeBinomial(lib.tensor([0., 2.]), lib.tensor([0.3, 0.3]))
        return d.log_prob(lib.tensor([0., 0.])), d.log_prob(lib.tensor([[1., 0.], [2., 3.]])), d.mean, d.mode
    assert_same(fn(flambeau), fn(torch))
    flambeau.manual_seed(0)
    s = flambeau.distributions.NegativeBinomial(0., flambeau.tensor([0.5])).sample((50,))
    assert s.abs().sum().item() == 0


# -- KL divergences ----------------------------------------------------------------------------
def _lr(lib, loc, f, dg):
    return lib.distributions.LowRankMultivariateNormal(loc, f, _pos(lib, dg))


def _mvn(lib, loc, a):
    return lib.distributions.MultivariateNormal(loc, scale_tril=a.tril(-1) + lib.diag_embed(
        _pos(lib, a.diagonal(dim1=-2, dim2=-1))))


KL_CASES = {
    "lowrank_lowrank": (lambda lib, a, b, c, d, e, f: lib.distributions.kl_divergence(
        _lr(lib, a, b, c), _lr(lib, d, e, f)), [(2, 3), (3, 2), (3,), (3,), (4, 1, 3, 1), (3,)]),
    "mvn_lowrank": (lambda lib, a, b, c, d, e: lib.distributions.kl_divergence(
        _mvn(lib, a, b), _lr(lib, c, d, e)), [(3,), (2, 3, 3), (4, 1, 3), (3, 2), (3,)]),
    "lowrank_mvn": (lambda lib, a, b, c, d, e: lib.distributions.kl_divergence(
        _lr(lib, a, b, c), _mvn(lib, d, e)), [(3,), (2, 1, 3, 2), (3,), (3,), (4, 3, 3)]),
    # every pair agrees with the full-covariance formula of MultivariateNormal
    "lowrank_lowrank_same_batch": (lambda lib, a, b, c, d, e, f: lib.distributions.kl_divergence(
        _lr(lib, a, b, c), _lr(lib, d, e, f)), [(2, 4), (2, 4, 3), (2, 4), (2, 4), (2, 4, 1), (2, 4)]),
}


@pytest.mark.parametrize("name", sorted(KL_CASES))
def test_kl_divergence_matches_torch(name):
    fn, shapes = KL_CASES[name]
    check_against_torch(fn, *shapes)


def test_kl_divergence_on_device(device):
    fn, shapes = KL_CASES["lowrank_mvn"]
    check_against_torch(fn, *shapes, device=device)
    fn, shapes = KL_CASES["lowrank_lowrank"]
    check_against_torch(fn, *shapes, device=device)


def test_kl_gradcheck_float64():
    for name in ("lowrank_lowrank", "mvn_lowrank", "lowrank_mvn"):
        fn, shapes = KL_CASES[name]
        gradcheck(lambda lib, *xs: fn(lib, *xs).sum(), *shapes, seed=1)


def test_kl_agrees_with_full_covariance_and_vanishes_at_equality():
    D = flambeau.distributions
    rng = np.random.default_rng(0)
    t = lambda a: flambeau.tensor(a)      # noqa: E731
    loc_p, loc_q = t(rng.standard_normal(4)), t(rng.standard_normal(4))
    p = D.LowRankMultivariateNormal(loc_p, t(rng.standard_normal((4, 2))), t(rng.random(4) + 0.5))
    q = D.LowRankMultivariateNormal(loc_q, t(rng.standard_normal((4, 1))), t(rng.random(4) + 0.5))
    full_p = D.MultivariateNormal(loc_p, p.covariance_matrix)
    full_q = D.MultivariateNormal(loc_q, q.covariance_matrix)
    ref = D.kl_divergence(full_p, full_q).item()
    for a, b in ((p, q), (full_p, q), (p, full_q)):
        np.testing.assert_allclose(D.kl_divergence(a, b).item(), ref, rtol=1e-10)
    np.testing.assert_allclose(D.kl_divergence(p, p).item(), 0.0, atol=1e-12)


def test_kl_errors_match_torch():
    def attempts(lib):
        D = lib.distributions
        lr2 = D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(2, 1), lib.ones(2))
        lr3 = D.LowRankMultivariateNormal(lib.zeros(3), lib.ones(3, 1), lib.ones(3))
        mvn3 = D.MultivariateNormal(lib.zeros(3), lib.eye(3))
        mult = D.Multinomial(3, lib.tensor([0.5, 0.5]))
        nb = D.NegativeBinomial(2., lib.tensor([0.5]))
        mix = D.MixtureSameFamily(D.Categorical(lib.ones(2)), D.Normal(lib.zeros(2), 1.))
        return [lambda: D.kl_divergence(lr2, lr3), lambda: D.kl_divergence(lr2, mvn3),
                lambda: D.kl_divergence(mvn3, lr2), lambda: D.kl_divergence(mult, mult),
                lambda: D.kl_divergence(nb, nb), lambda: D.kl_divergence(mix, mix),
                lambda: D.kl_divergence(lr2, D.Normal(0., 1.))]
    ours = [_error_type(a) for a in attempts(flambeau)]
    assert ours == [_error_type(a) for a in attempts(torch)]
    assert ours == ["ValueError"] * 3 + ["NotImplementedError"] * 4


# -- shapes, repr, support, validation ------------------------------------------------------------
def _shape_dists(lib):
    D, t = lib.distributions, lib.tensor
    return [D.Multinomial(4, t([0.2, 0.3, 0.5])), D.Multinomial(2, logits=lib.zeros(2, 3)),
            D.NegativeBinomial(3., t([0.2, 0.7])), D.NegativeBinomial(t([[1.], [2.]]), logits=t([0.5, -0.5, 0.])),
            D.MixtureSameFamily(D.Categorical(t([0.3, 0.7])), D.Normal(t([0., 3.]), 1.)),
            D.MixtureSameFamily(D.Categorical(lib.ones(2, 3)), D.Independent(D.Normal(lib.zeros(2, 3, 4), 1.), 1)),
            D.LowRankMultivariateNormal(lib.zeros(3), lib.ones(3, 2), lib.ones(3)),
            D.LowRankMultivariateNormal(lib.zeros(2, 3), lib.ones(4, 1, 3, 1), lib.ones(3))]


def _shapes(lib):
    rows = []
    for d in _shape_dists(lib):
        e = d.expand((5,) + tuple(d.batch_shape))
        s = d.sample((2, 3))
        rows.append((type(d).__name__, tuple(d.batch_shape), tuple(d.event_shape), tuple(d.sample().shape),
                     tuple(s.shape), str(s.dtype), tuple(e.batch_shape), tuple(e.event_shape),
                     tuple(e.sample().shape), tuple(e.log_prob(e.sample()).shape), tuple(e.mean.shape),
                     tuple(d.log_prob(s).shape), d.has_rsample, d.has_enumerate_support))
    return rows


def test_shapes_samples_and_expand_match_torch():
    assert _shapes(flambeau) == _shapes(torch)


def test_scalar_parameters():
    def fn(lib):
        D = lib.distributions
        d = D.NegativeBinomial(2., 0.5)
        return tuple(d.batch_shape), tuple(d.sample((2, 3)).shape), d.log_prob(lib.tensor(3.)), d.mean, d.mode
    ours, ref = fn(flambeau), fn(torch)
    assert ours[:2] == ref[:2]
    assert_same(ours[2:], ref[2:])


def test_scalar_sample_of_sample_shape_empty():
    assert tuple(flambeau.distributions.NegativeBinomial(2., 0.5).sample().shape) == ()


def test_mixture_of_narrower_mixture_batch_samples_each_batch_element():
    # torch's sample() fails (mixture batch ()) or returns the wrong shape (mixture batch (1,)) when the mixture's
    # batch_shape only broadcasts to the components'; flambeau draws one component per batch element
    D = flambeau.distributions
    flambeau.manual_seed(2)
    for mix in (D.Categorical(flambeau.tensor([0.5, 0.5])), D.Categorical(flambeau.tensor([[0.5, 0.5]]))):
        d = D.MixtureSameFamily(mix, D.Normal(flambeau.tensor([[-10., 10.]] * 3), 0.01))
        ref = torch.distributions.MixtureSameFamily(torch.distributions.Categorical(torch.tensor(to_numpy(mix.probs))),
                                                    torch.distributions.Normal(torch.zeros(3, 2), 1.))
        assert tuple(d.batch_shape) == tuple(ref.batch_shape) == (3,)
        s = to_numpy(d.sample((4000,)))
        assert s.shape == (4000, 3) and tuple(d.log_prob(flambeau.tensor(s)).shape) == (4000, 3)
        # the batch elements choose their components independently: all four sign pairs of two elements occur
        pairs = np.sign(s[:, :2])
        for a in (-1, 1):
            for b in (-1, 1):
                assert 0.2 < np.mean((pairs[:, 0] == a) & (pairs[:, 1] == b)) < 0.3
        e = d.expand((2, 3))
        assert tuple(e.sample((5,)).shape) == (5, 2, 3)


def test_mixture_moments_of_a_narrower_two_dim_mixture_batch():
    # mixture batch (2, 3) against component batch (4, 2, 3): torch pads the probabilities to (2, 3, 1, k), which
    # lines them up with the wrong component dims; flambeau broadcasts them as (2, 3, k) on the right
    D = flambeau.distributions
    rng = np.random.default_rng(0)
    w, loc, s = rng.random((2, 3, 5)) + 0.1, rng.standard_normal((4, 2, 3, 5)), rng.random((4, 2, 3, 5)) + 0.5
    d = D.MixtureSameFamily(D.Categorical(flambeau.tensor(w)), D.Normal(flambeau.tensor(loc), flambeau.tensor(s)))
    p = w / w.sum(-1, keepdims=True)
    mean = (p * loc).sum(-1)
    np.testing.assert_allclose(to_numpy(d.mean), mean, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(d.variance), (p * (s ** 2 + (loc - mean[..., None]) ** 2)).sum(-1),
                               rtol=1e-12)


def test_expand_keeps_values():
    def fn(lib):
        out = []
        for d in _shape_dists(lib):
            e = d.expand((2,) + tuple(d.batch_shape))
            x = d.mean.floor() if d.support.is_discrete else d.mean
            out += [e.mean, e.variance, e.log_prob(x)]
            if type(d).__name__ in ("Multinomial", "LowRankMultivariateNormal"):
                out.append(d.entropy())
            if type(d).__name__ == "LowRankMultivariateNormal":
                out += [e.covariance_matrix, e.precision_matrix, e.scale_tril, e.entropy()]
        return out
    assert_same(fn(flambeau), fn(torch), rtol=1e-6, atol=1e-7)
    # an expanded Multinomial keeps its entropy (torch's expand drops what entropy needs)
    m = flambeau.distributions.Multinomial(4, flambeau.tensor([0.2, 0.3, 0.5]))
    assert_same(m.expand((2,)).entropy(), torch.distributions.Multinomial(4, torch.tensor([0.2, 0.3, 0.5]))
                .entropy().expand(2), rtol=1e-6)


def _reprs(lib):
    D, t = lib.distributions, lib.tensor
    ds = [D.Multinomial(4, t([0.2, 0.8])), D.NegativeBinomial(3., t([0.2])), D.NegativeBinomial(t(3.), logits=t(0.5)),
          D.MixtureSameFamily(D.Categorical(lib.ones(3)), D.Normal(lib.zeros(3), lib.ones(3))),
          D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(2, 1), lib.ones(2))]
    return [repr(d) for d in ds] + [repr(d.support) for d in ds]


def test_repr_matches_torch():
    assert _reprs(flambeau) == _reprs(torch)


def _supports(lib):
    D, t = lib.distributions, lib.tensor
    m = D.Multinomial(3, t([0.2, 0.3, 0.5]))
    mix = D.MixtureSameFamily(D.Categorical(lib.ones(2)), D.Gamma(t([1., 2.]), 1.))
    mix_iid = D.MixtureSameFamily(D.Categorical(lib.ones(2)), D.Independent(D.Gamma(lib.ones(2, 3), 1.), 1))
    mix_cat = D.MixtureSameFamily(D.Categorical(lib.ones(2)), D.Categorical(t([[0.5, 0.5, 0.], [0.2, 0.2, 0.6]])))
    nb = D.NegativeBinomial(2., t([0.5]))
    lr = D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(2, 1), lib.ones(2))
    checks = [m.support.check(t([[1., 2., 0.], [1., 1., 2.], [-1., 2., 2.], [0., 0., 0.]])),
              mix.support.check(t([[0.5, -1.], [0., 2.]])), mix_iid.support.check(t([[0.5, 1., 2.], [0.5, -1., 2.]])),
              mix_cat.support.check(t([0, 2, 3])), nb.support.check(t([0., 1.5, 3., -1.])),
              lr.support.check(t([[0., 1.], [float("inf"), 0.]]))]
    flags = [(d.support.is_discrete, d.support.event_dim) for d in (m, mix, mix_iid, mix_cat, nb, lr)]
    return checks, flags


def test_supports_match_torch():
    ours, ref = _supports(flambeau), _supports(torch)
    assert_same(ours[0], ref[0])
    assert ours[1] == ref[1]
    D = flambeau.distributions
    assert D.NegativeBinomial.support is D.constraints.nonnegative_integer
    assert D.LowRankMultivariateNormal.support is D.constraints.real_vector
    assert D.constraints.is_dependent(D.Multinomial.support) and D.constraints.is_dependent(D.MixtureSameFamily.support)
    assert set(D.LowRankMultivariateNormal.arg_constraints) == {"loc", "cov_factor", "cov_diag"}
    assert set(D.NegativeBinomial.arg_constraints) == {"total_count", "probs", "logits"}
    assert D.MixtureSameFamily.arg_constraints == {}


def _error_type(attempt):
    try:
        attempt()
    except Exception as e:          # the type of each error (or its absence) is compared with torch
        return type(e).__name__
    return None


def _errors(lib):
    D, t = lib.distributions, lib.tensor
    p = t([0.2, 0.8])
    attempts = [
        # Multinomial
        lambda: D.Multinomial(3.0, p), lambda: D.Multinomial(t(3), p), lambda: D.Multinomial(3),
        lambda: D.Multinomial(3, p, logits=t([0., 0.])), lambda: D.Multinomial(3, t(0.5)),
        lambda: D.Multinomial(3, t([-0.5, 1.5])), lambda: D.Multinomial(3, t([0.5, float("nan")])),
        lambda: D.Multinomial(3, logits=t([0., float("nan")])),
        lambda: D.Multinomial(3, p).log_prob(t([1., 1.5])), lambda: D.Multinomial(3, p).log_prob(t([2., 2.])),
        lambda: D.Multinomial(3, p).log_prob(t([-1., 4.])), lambda: D.Multinomial(3, p).log_prob(t([1., 1., 1.])),
        lambda: D.Multinomial(3, p).log_prob([1., 2.]), lambda: D.Multinomial(3, p).enumerate_support(),
        lambda: D.Multinomial(3, p).mode, lambda: D.Multinomial(3, p).cdf(t([1., 2.])),
        lambda: D.Multinomial(3, p).rsample(), lambda: D.Multinomial(0, p).sample(),
        lambda: D.Multinomial(3, p, validate_args=False).log_prob(t([2., 2.])),
        # NegativeBinomial
        lambda: D.NegativeBinomial(2., t([1.0])), lambda: D.NegativeBinomial(2., t([-0.1])),
        lambda: D.NegativeBinomial(-1., t([0.5])), lambda: D.NegativeBinomial(2.), lambda: D.NegativeBinomial(0., 0.5),
        lambda: D.NegativeBinomial(2., t([0.5]), logits=t([0.])),
        lambda: D.NegativeBinomial(2., logits=t([float("nan")])),
        lambda: D.NegativeBinomial(2., t([0.5])).log_prob(t([1.5])),
        lambda: D.NegativeBinomial(2., t([0.5])).log_prob(t([-1.])),
        lambda: D.NegativeBinomial(t([2., 3.]), t([0.5, 0.5])).log_prob(t([1., 2., 3.])),
        lambda: D.NegativeBinomial(2., t([0.5])).entropy(), lambda: D.NegativeBinomial(2., t([0.5])).cdf(t([1.])),
        lambda: D.NegativeBinomial(2., t([0.5])).enumerate_support(),
        lambda: D.NegativeBinomial(2., t([0.5])).rsample(),
        lambda: D.NegativeBinomial(2., t([1.0]), validate_args=False).mean,
        # MixtureSameFamily
        lambda: D.MixtureSameFamily(D.Normal(0., 1.), D.Normal(lib.zeros(2), 1.)),
        lambda: D.MixtureSameFamily(D.Categorical(lib.ones(2)), 3),
        lambda: D.MixtureSameFamily(D.Categorical(lib.ones(3)), D.Normal(lib.zeros(2), 1.)),
        lambda: D.MixtureSameFamily(D.Categorical(lib.ones(3, 2)), D.Normal(lib.zeros(4, 2), 1.)),
        lambda: D.MixtureSameFamily(D.Categorical(lib.ones(1)), D.Normal(0., 1.)),
        lambda: D.MixtureSameFamily(D.Categorical(lib.ones(2)), D.Gamma(lib.ones(2), 1.)).log_prob(t(-1.)),
        lambda: D.MixtureSameFamily(D.Categorical(lib.ones(2)), D.Normal(lib.zeros(3, 2), 1.)).log_prob(
            lib.zeros(2)),
        lambda: D.MixtureSameFamily(D.Categorical(lib.ones(2)), D.Normal(lib.zeros(2), 1.)).rsample(),
        lambda: D.MixtureSameFamily(D.Categorical(lib.ones(2)), D.Normal(lib.zeros(2), 1.)).entropy(),
        lambda: D.MixtureSameFamily(D.Categorical(lib.ones(2)), D.Normal(lib.zeros(2), 1.)).mode,
        lambda: D.MixtureSameFamily(D.Categorical(lib.ones(2)), D.Normal(lib.zeros(2), 1.)).icdf(t(0.5)),
        lambda: D.MixtureSameFamily(D.Categorical(lib.ones(2)), D.Normal(lib.zeros(2), 1.)).enumerate_support(),
        lambda: D.MixtureSameFamily(D.Categorical(lib.ones(2)), D.Independent(D.Normal(lib.zeros(2, 3), 1.), 1)
                                    ).cdf(lib.zeros(3)),
        # LowRankMultivariateNormal
        lambda: D.LowRankMultivariateNormal(t(0.), lib.ones(1, 1), lib.ones(1)),
        lambda: D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(2), lib.ones(2)),
        lambda: D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(3, 1), lib.ones(2)),
        lambda: D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(2, 1), lib.ones(3)),
        lambda: D.LowRankMultivariateNormal(lib.zeros(2, 2), lib.ones(3, 2, 1), lib.ones(2)),
        lambda: D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(2, 1), t([1., 0.])),
        lambda: D.LowRankMultivariateNormal(lib.zeros(2), t([[1.], [float("inf")]]), lib.ones(2)),
        lambda: D.LowRankMultivariateNormal(t([0., float("nan")]), lib.ones(2, 1), lib.ones(2)),
        lambda: D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(2, 1), lib.ones(2)).log_prob(lib.zeros(3)),
        lambda: D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(2, 1), lib.ones(2)).log_prob(
            t([0., float("nan")])),
        lambda: D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(2, 1), lib.ones(2)).cdf(lib.zeros(2)),
        lambda: D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(2, 1), lib.ones(2)).enumerate_support(),
    ]
    return [_error_type(a) for a in attempts]


def test_errors_match_torch():
    ours, ref = _errors(flambeau), _errors(torch)
    assert ours == ref
    assert ours.count(None) >= 3 and ours.count("ValueError") >= 15 and ours.count("NotImplementedError") >= 15


@pytest.mark.parametrize("case", range(6))
def test_error_messages_match_torch(case):
    D = lambda lib: lib.distributions      # noqa: E731
    fns = [lambda lib: D(lib).MixtureSameFamily(D(lib).Normal(0., 1.), D(lib).Normal(lib.zeros(2), 1.)),
           lambda lib: D(lib).MixtureSameFamily(D(lib).Categorical(lib.ones(2)), 3),
           lambda lib: D(lib).MixtureSameFamily(D(lib).Categorical(lib.ones(3)), D(lib).Normal(lib.zeros(2), 1.)),
           lambda lib: D(lib).MixtureSameFamily(D(lib).Categorical(lib.ones(3, 2)), D(lib).Normal(lib.zeros(4, 2), 1.)),
           lambda lib: D(lib).Multinomial(2.5, lib.tensor([0.5, 0.5])),
           lambda lib: D(lib).LowRankMultivariateNormal(lib.zeros(2), lib.ones(3, 1), lib.ones(2))]
    same_error(fns[case])


def test_validate_args_off():
    D = flambeau.distributions
    nb = D.NegativeBinomial(2., flambeau.tensor([1.5]), validate_args=False)
    assert nb.probs.item() == 1.5
    m = D.Multinomial(2, flambeau.tensor([0.5, 0.5]), validate_args=False)
    assert np.isfinite(m.log_prob(flambeau.tensor([3., 1.])).item())
    for lib in (flambeau, torch):
        mix = lib.distributions.MixtureSameFamily(
            lib.distributions.Categorical(lib.ones(2)),
            lib.distributions.Gamma(lib.tensor([1., 2.]), 1., validate_args=False), validate_args=False)
        assert mix.log_prob(lib.tensor(-1.)).isnan().item()
    lr = D.LowRankMultivariateNormal(flambeau.zeros(2), flambeau.ones(2, 1), flambeau.ones(2), validate_args=False)
    assert lr.log_prob(flambeau.tensor([0., float("nan")])).isnan().item()


# -- samples ------------------------------------------------------------------------------------
def _moment_cases(t):
    D = flambeau.distributions
    return {
        "multinomial": D.Multinomial(10, t([[0.1, 0.3, 0.6], [0.5, 0.25, 0.25]])),
        "negative_binomial": D.NegativeBinomial(t([2.5, 1.]), t([0.3, 0.8])),
        "negative_binomial_logits": D.NegativeBinomial(t([4.]), logits=t([-1.])),
        "mixture": D.MixtureSameFamily(D.Categorical(t([0.3, 0.7])), D.Normal(t([-2., 3.]), t([1., 0.5]))),
        "mixture_batch": D.MixtureSameFamily(D.Categorical(t([0.3, 0.7])),
                                             D.Poisson(t([[1., 8.], [2., 4.], [0.5, 0.5]]))),
        "mixture_independent": D.MixtureSameFamily(
            D.Categorical(t([[0.5, 0.5], [0.9, 0.1]])),
            D.Independent(D.Normal(t([[[0., 1.], [4., -1.]], [[1., 1.], [-3., 2.]]]), 0.5), 1)),
        "lowrank": D.LowRankMultivariateNormal(t([1., -1., 0.]), t([[1., 0.], [0.5, 1.], [0., -1.]]),
                                               t([0.5, 0.2, 1.])),
    }


@pytest.mark.parametrize("name", ["multinomial", "negative_binomial", "negative_binomial_logits", "mixture",
                                  "mixture_batch", "mixture_independent", "lowrank"])
def test_sample_moments(name, device):
    flambeau.manual_seed(7)
    d = _moment_cases(lambda v: flambeau.tensor(v, dtype=flambeau.float64, device=device))[name]
    n = 20000
    s = d.sample((n,))
    assert s.device.type == flambeau.device(device).type and s.dtype is flambeau.float64
    assert tuple(s.shape) == (n,) + tuple(d.batch_shape) + tuple(d.event_shape)
    assert bool(d.support.check(s).all())
    x = to_numpy(s).astype(np.float64)
    mean, var = to_numpy(d.mean), to_numpy(d.variance)
    sd = np.sqrt(var)
    np.testing.assert_allclose(x.mean(0), mean, atol=5 * np.max(sd) / math.sqrt(n))
    np.testing.assert_allclose(x.var(0), var, rtol=0.08, atol=1e-3)
    if name == "multinomial":
        np.testing.assert_array_equal(x.sum(-1), 10.)         # each sample has total_count draws
        np.testing.assert_allclose(np.cov(x[:, 0].T)[0, 1], -10 * 0.1 * 0.3, atol=0.1)
    if name == "lowrank":
        np.testing.assert_allclose(np.cov(x.T), to_numpy(d.covariance_matrix), atol=0.08)


def test_sample_distribution_matches_pmf():
    # the frequencies of the whole pmf, not only two moments
    D = flambeau.distributions
    flambeau.manual_seed(3)
    n = 20000
    nb = D.NegativeBinomial(3., flambeau.tensor(0.4, dtype=flambeau.float64))
    counts = np.bincount(to_numpy(nb.sample((n,))).astype(int), minlength=30)[:12] / n
    pmf = np.exp(to_numpy(nb.log_prob(flambeau.arange(12, dtype=flambeau.float64))))
    np.testing.assert_allclose(counts, pmf, atol=0.012)
    m = D.Multinomial(2, flambeau.tensor([0.2, 0.3, 0.5], dtype=flambeau.float64))
    s = to_numpy(m.sample((n,))).astype(int)
    values, freq = np.unique(s, axis=0, return_counts=True)
    pmf = np.exp(to_numpy(m.log_prob(flambeau.tensor(values, dtype=flambeau.float64))))
    assert len(values) == 6
    np.testing.assert_allclose(freq / n, pmf, atol=0.012)


def test_samples_are_reproducible_with_manual_seed(device):
    ds = list(_moment_cases(lambda v: flambeau.tensor(v, device=device)).values())
    flambeau.manual_seed(11)
    first = [to_numpy(d.sample((5,))) for d in ds]
    flambeau.manual_seed(11)
    second = [to_numpy(d.sample((5,))) for d in ds]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(to_numpy(ds[-1].sample((5,))), first[-1])


def test_sample_dtypes_and_no_grad():
    D = flambeau.distributions
    p = flambeau.tensor([0.3, 0.7], dtype=flambeau.float64, requires_grad=True)
    for d in (D.Multinomial(3, p), D.NegativeBinomial(2., p),
              D.MixtureSameFamily(D.Categorical(p), D.Normal(p, 1.)),
              D.LowRankMultivariateNormal(p, p.unsqueeze(-1), p)):
        s = d.sample((2,))
        assert s.dtype is flambeau.float64 and s.requires_grad is False
    assert D.LowRankMultivariateNormal(p, p.unsqueeze(-1), p).rsample().requires_grad is True
    assert D.Multinomial(3, flambeau.tensor([0.5, 0.5])).sample().dtype is flambeau.float32
    assert D.NegativeBinomial(3., 0.5).sample((1,)).dtype is flambeau.float32


def test_lowrank_rsample_gradient(device):
    D = flambeau.distributions
    flambeau.manual_seed(5)
    f64 = dict(dtype=flambeau.float64, device=device)
    loc = flambeau.tensor([0.5, -1.0, 2.0], requires_grad=True, **f64)
    W = flambeau.tensor([[1.0, 0.5], [0.0, -1.0], [2.0, 0.3]], requires_grad=True, **f64)
    diag = flambeau.tensor([0.5, 1.0, 2.0], requires_grad=True, **f64)
    x = D.LowRankMultivariateNormal(loc, W, diag).rsample((4,))
    cot = flambeau.tensor(np.random.default_rng(0).standard_normal((4, 3)), device=device)
    (x * cot).sum().backward()
    np.testing.assert_allclose(to_numpy(loc.grad), to_numpy(cot).sum(0))
    # E ||x - loc||^2 = |W|_F^2 + sum(D): d/dW = 2 W, d/dD = 1, by the reparameterized samples
    n = 40000
    W.grad = diag.grad = None
    d = D.LowRankMultivariateNormal(loc.detach(), W, diag)
    ((d.rsample((n,)) - loc.detach()) ** 2).sum(-1).mean().backward()
    np.testing.assert_allclose(to_numpy(W.grad), 2 * to_numpy(W), rtol=0.06, atol=0.05)
    np.testing.assert_allclose(to_numpy(diag.grad), [1., 1., 1.], rtol=0.06)


def test_mixture_log_prob_is_a_density():
    # sum over a fine grid of exp(log_prob) integrates to 1, and cdf is its running integral
    D = flambeau.distributions
    mix = D.MixtureSameFamily(D.Categorical(flambeau.tensor([0.2, 0.5, 0.3], dtype=flambeau.float64)),
                              D.Normal(flambeau.tensor([-2., 0., 3.], dtype=flambeau.float64),
                                       flambeau.tensor([0.5, 1., 0.7], dtype=flambeau.float64)))
    grid = flambeau.linspace(-10, 10, 20001, dtype=flambeau.float64)
    dens = to_numpy(mix.log_prob(grid).exp())
    np.testing.assert_allclose(dens.sum() * 0.001, 1.0, rtol=1e-6)
    cdf = to_numpy(mix.cdf(grid))
    np.testing.assert_allclose(cdf[10000], dens[:10001].sum() * 0.001 - dens[10000] * 0.0005 - dens[0] * 0.0005,
                               atol=1e-6)


def test_docstring_examples_run():
    import doctest
    import importlib
    D = flambeau.distributions
    failed = 0
    for mod in ("multinomial", "negative_binomial", "mixture_same_family", "lowrank_multivariate_normal"):
        m = importlib.import_module(f"flambeau.distributions.{mod}")
        r = doctest.testmod(m, extraglobs=dict(flambeau=flambeau, Categorical=D.Categorical), verbose=False)
        failed += r.failed + (r.attempted == 0)
    assert failed == 0
