"""The continuous univariate families of flambeau.distributions (Cauchy, HalfCauchy, HalfNormal, Gumbel,
StudentT, Chi2, Pareto, Weibull, FisherSnedecor, InverseGamma, Kumaraswamy, GeneralizedPareto, VonMises,
ContinuousBernoulli) and their KL divergences, against torch.distributions."""
import math
import warnings

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, check_against_torch, gradcheck, need_torch, to_numpy

torch = need_torch()

FAMILIES = ["Cauchy", "HalfCauchy", "HalfNormal", "Gumbel", "StudentT", "Chi2", "Pareto", "Weibull", "FisherSnedecor",
            "InverseGamma", "Kumaraswamy", "GeneralizedPareto", "VonMises", "ContinuousBernoulli"]
MODULES = ["cauchy", "half_cauchy", "half_normal", "gumbel", "studentT", "chi2", "pareto", "weibull", "fishersnedecor",
           "inverse_gamma", "kumaraswamy", "generalized_pareto", "von_mises", "continuous_bernoulli"]


def _pos(lib, t):
    return lib.nn.functional.softplus(t) + 0.1


# -- values and gradients against torch ------------------------------------------------------------
# name -> (fn(lib, *inputs) returning a tuple of tensors, input shapes); the standard normal inputs are
# mapped into each parameter's range by differentiable ops so that the gradients reach them
def _cauchy(lib, loc, s, x):
    d = lib.distributions.Cauchy(loc, _pos(lib, s))
    return (d.log_prob(x), d.cdf(x), d.icdf(lib.sigmoid(x)), d.entropy(), d.mean, d.mode, d.variance, d.stddev)


def _half_cauchy(lib, s, x):
    d = lib.distributions.HalfCauchy(_pos(lib, s))
    x = x.abs()
    return d.log_prob(x), d.cdf(x), d.icdf(lib.sigmoid(x)), d.entropy(), d.mean, d.mode, d.variance


def _half_normal(lib, s, x):
    d = lib.distributions.HalfNormal(_pos(lib, s))
    x = x.abs()
    return d.log_prob(x), d.cdf(x), d.icdf(lib.sigmoid(x)), d.entropy(), d.mean, d.mode, d.variance, d.stddev


def _gumbel(lib, loc, s, x):
    d = lib.distributions.Gumbel(loc, _pos(lib, s))
    return d.log_prob(x), d.cdf(x), d.icdf(lib.sigmoid(x)), d.entropy(), d.mean, d.mode, d.variance, d.stddev


def _student_t(lib, df, loc, s, x):
    # df from 0.3 to ~10: the mean and variance take each of their branches (nan, inf, finite)
    d = lib.distributions.StudentT(_pos(lib, df) * 3, loc, _pos(lib, s))
    return d.log_prob(x), d.entropy(), d.mean, d.mode, d.variance


def _chi2(lib, df, x):
    d = lib.distributions.Chi2(_pos(lib, df) * 3)
    x = x.abs() + 0.01
    # torch differentiates the incomplete gamma function in x only: the cdf sees a detached df
    cdf = lib.distributions.Chi2(_pos(lib, df.detach()) * 3).cdf(x)
    return d.log_prob(x), cdf, d.entropy(), d.mean, d.mode, d.variance, d.df


def _pareto(lib, s, a, x):
    d = lib.distributions.Pareto(_pos(lib, s), _pos(lib, a) + 2.1)
    x = d.scale + x.abs()
    return d.log_prob(x), d.cdf(x), d.icdf(lib.sigmoid(x)), d.entropy(), d.mean, d.mode, d.variance


def _weibull(lib, s, c, x):
    d = lib.distributions.Weibull(_pos(lib, s), _pos(lib, c) * 2)
    x = x.abs() + 0.01
    return d.log_prob(x), d.cdf(x), d.icdf(lib.sigmoid(x)), d.entropy(), d.mean, d.mode, d.variance


def _fisher_snedecor(lib, df1, df2, x):
    d = lib.distributions.FisherSnedecor(_pos(lib, df1) * 3, _pos(lib, df2) * 4)
    x = x.abs() + 0.01
    return d.log_prob(x), d.mean, d.mode, d.variance


def _inverse_gamma(lib, c, r, x):
    d = lib.distributions.InverseGamma(_pos(lib, c) * 3, _pos(lib, r))
    x = x.abs() + 0.05
    cdf = lib.distributions.InverseGamma(_pos(lib, c.detach()) * 3, _pos(lib, r.detach())).cdf(x)
    return d.log_prob(x), cdf, d.entropy(), d.mean, d.mode, d.variance


def _kumaraswamy(lib, a, b, x):
    d = lib.distributions.Kumaraswamy(_pos(lib, a) * 2, _pos(lib, b) * 2)
    x = lib.sigmoid(x)
    return d.log_prob(x), d.cdf(x), d.icdf(lib.sigmoid(x * 0.7)), d.entropy(), d.mean, d.variance


def _generalized_pareto(lib, loc, s, c, x):
    # concentration of both signs; values inside the support through icdf
    d = lib.distributions.GeneralizedPareto(loc, _pos(lib, s), c * 0.4)
    u = lib.sigmoid(x) * 0.98 + 0.01
    v = d.icdf(u)
    return (d.log_prob(v), d.cdf(v), d.log_cdf(v), d.log_survival_function(v), v, d.entropy(), d.mean,
            d.mode, d.variance, d.support.upper_bound)


def _von_mises(lib, loc, c, x):
    # concentrations on both sides of 3.75, where the Bessel approximations switch
    d = lib.distributions.VonMises(loc, _pos(lib, c) * 4)
    return d.log_prob(x * 3), d.mean, d.mode, d.variance, d.stddev


def _cb_probs(lib, p, x):
    d = lib.distributions.ContinuousBernoulli(probs=lib.sigmoid(p))
    x = lib.sigmoid(x)
    return (d.log_prob(x), d.cdf(x), d.icdf(x), d.entropy(), d.mean, d.variance, d.stddev, d.logits)


def _cb_logits(lib, logit, x):
    d = lib.distributions.ContinuousBernoulli(logits=logit * 3)
    x = lib.sigmoid(x)
    return d.log_prob(x), d.cdf(x), d.icdf(x), d.entropy(), d.mean, d.variance, d.probs


def _cb_near_half(lib, p, x):
    # probs inside lims = (0.499, 0.501): the Taylor branches
    d = lib.distributions.ContinuousBernoulli(probs=0.5 + 0.0009 * lib.tanh(p), lims=(0.499, 0.501))
    x = lib.sigmoid(x)
    return d.log_prob(x), d.cdf(x), d.icdf(x), d.entropy(), d.mean, d.variance


CASES = {
    "cauchy": (_cauchy, [(3,), (3,), (2, 3)]),
    "half_cauchy": (_half_cauchy, [(3,), (2, 3)]),
    "half_normal": (_half_normal, [(3,), (2, 3)]),
    "gumbel": (_gumbel, [(3,), (3,), (2, 3)]),
    "student_t": (_student_t, [(6,), (6,), (6,), (2, 6)]),
    "chi2": (_chi2, [(4,), (2, 4)]),
    "pareto": (_pareto, [(3,), (3,), (2, 3)]),
    "weibull": (_weibull, [(4,), (4,), (2, 4)]),
    "fisher_snedecor": (_fisher_snedecor, [(6,), (6,), (2, 6)]),
    "inverse_gamma": (_inverse_gamma, [(4,), (4,), (2, 4)]),
    "kumaraswamy": (_kumaraswamy, [(4,), (4,), (2, 4)]),
    "von_mises": (_von_mises, [(6,), (6,), (2, 6)]),
    "cb_probs": (_cb_probs, [(4,), (2, 4)]),
    "cb_logits": (_cb_logits, [(4,), (2, 4)]),
    "cb_near_half": (_cb_near_half, [(4,), (2, 4)]),
}


def test_generalized_pareto_matches_torch_in_float32():
    # torch's GeneralizedPareto.log_prob compares concentration with a float32 zero (torch.isclose), which
    # raises for float64 parameters: the comparison with torch is in float32
    check_against_torch(_generalized_pareto, (6,), (6,), (6,), (2, 6), dtype="float32", rtol=2e-5, atol=1e-5)


def test_generalized_pareto_at_zero_concentration_is_exponential():
    D = flambeau.distributions
    x = flambeau.tensor([0.1, 1.0, 3.0], dtype=flambeau.float64)
    gp = D.GeneralizedPareto(0.0, flambeau.tensor([2.0, 2.0, 2.0], dtype=flambeau.float64), 0.0)
    ex = D.Exponential(flambeau.tensor([0.5, 0.5, 0.5], dtype=flambeau.float64))
    for ours, ref in ((gp.log_prob(x), ex.log_prob(x)), (gp.cdf(x), ex.cdf(x)),
                      (gp.icdf(x / 4), ex.icdf(x / 4)), (gp.entropy(), ex.entropy()), (gp.mean, ex.mean),
                      (gp.variance, ex.variance)):
        np.testing.assert_allclose(to_numpy(ours), to_numpy(ref), rtol=1e-12)
    assert gp.support.upper_bound.isinf().all()
    # and float64 works in flambeau (see above), agreeing with torch in float32
    ref = torch.distributions.GeneralizedPareto(0.0, torch.tensor([2.0, 2.0, 2.0]), 0.0)
    np.testing.assert_allclose(to_numpy(gp.log_prob(x)), ref.log_prob(torch.tensor([0.1, 1.0, 3.0])).numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name, device):
    fn, shapes = CASES[name]
    check_against_torch(fn, *shapes, device=device, rtol=1e-6, atol=1e-9)


def test_float32_keeps_dtype():
    # (not ContinuousBernoulli: its variance cancels two large terms near probs = 1/2, and float32 rounding
    # of log1p differs between the libraries)
    for name in ("gumbel", "weibull", "student_t", "von_mises", "half_normal", "pareto"):
        fn, shapes = CASES[name]
        check_against_torch(fn, *shapes, dtype="float32", rtol=2e-5, atol=2e-6)


def test_moments_at_parameter_edges_match_torch():
    # the branches where a moment is infinite or undefined, with parameters given as tensors and numbers
    def fn(lib):
        D, t = lib.distributions, lib.tensor
        a = t([0.5, 1.0, 1.5, 2.0, 3.0, 5.0])
        return (D.StudentT(a).mean, D.StudentT(a).variance, D.Pareto(1.0, a).mean, D.Pareto(2.0, a).variance,
                D.FisherSnedecor(a, a).mean, D.FisherSnedecor(a, a).mode, D.FisherSnedecor(a, a + 1).variance,
                D.InverseGamma(a, 2.0).mean, D.InverseGamma(a, 2.0).variance, D.Weibull(1.0, a).mode,
                D.GeneralizedPareto(0.0, 1.0, a - 1.2).mean, D.GeneralizedPareto(0.0, 1.0, a - 1.2).variance,
                D.GeneralizedPareto(0.0, 1.0, a - 1.2).support.upper_bound,
                D.Cauchy(0.0, 1.0).mean, D.Cauchy(t([0.0, 1.0]), 1.0).variance, D.HalfCauchy(t([1.0])).mean,
                D.HalfCauchy(2.0).variance, D.Chi2(a).mode, D.Chi2(3.0).variance,
                D.Kumaraswamy(a, 2.0).variance, D.VonMises(0.0, 2.0).variance,
                D.GeneralizedPareto(0.0, 1.0, 0.2).entropy(), D.Gumbel(0.0, 1.0).entropy())
    assert_same(fn(flambeau), fn(torch), rtol=1e-5)   # float32: lgamma and exp round differently


def test_kumaraswamy_mode_is_the_argmax_of_the_density():
    # torch's Kumaraswamy.mode is nan for every parameter (it evaluates log1p(-concentration0)); flambeau
    # returns ((a - 1) / (a b - 1))^(1/a), checked here on torch's own log_prob
    a = np.array([2.0, 1.5, 5.0, 1.0, 3.0])
    b = np.array([3.0, 1.2, 0.999999, 4.0, 1.0])
    b[2] = 1.5
    d = flambeau.distributions.Kumaraswamy(flambeau.tensor(a, dtype=flambeau.float64),
                                           flambeau.tensor(b, dtype=flambeau.float64))
    mode = to_numpy(d.mode)
    np.testing.assert_allclose(mode, ((a - 1) / (a * b - 1)) ** (1 / a), rtol=1e-12)
    grid = np.linspace(1e-6, 1 - 1e-6, 200001)[:, None]
    ref = torch.distributions.Kumaraswamy(torch.tensor(a), torch.tensor(b))
    argmax = grid[ref.log_prob(torch.tensor(grid).expand(-1, 5)).numpy().argmax(0), 0]
    np.testing.assert_allclose(mode, argmax, atol=1e-4)
    undefined = flambeau.distributions.Kumaraswamy(flambeau.tensor([0.5, 2.0]), flambeau.tensor([2.0, 0.5])).mode
    assert undefined.isnan().all()


def test_continuous_bernoulli_is_normalized_and_matches_its_exponential_family_form():
    D = flambeau.distributions
    probs = flambeau.tensor([0.05, 0.3, 0.4995, 0.5, 0.7, 0.97], dtype=flambeau.float64)
    d = D.ContinuousBernoulli(probs)
    x = np.linspace(0, 1, 20001)
    dens = np.exp(to_numpy(d.log_prob(flambeau.tensor(x[:, None]).expand(-1, 6))))
    np.testing.assert_allclose(np.trapezoid(dens, x, axis=0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.trapezoid(dens * x[:, None], x, axis=0), to_numpy(d.mean), rtol=1e-6)
    # the generic ExponentialFamily entropy, through autograd of the log normalizer, agrees with the closed form
    np.testing.assert_allclose(to_numpy(D.ExponentialFamily.entropy(d)), to_numpy(d.entropy()), rtol=1e-6)
    assert d.param_shape == (6,) and D.ContinuousBernoulli(logits=flambeau.zeros(2, 3)).param_shape == (2, 3)


def test_von_mises_bessel_approximation_is_close_to_the_exact_functions():
    from scipy.special import i0e, i1e

    from flambeau.distributions.von_mises import _log_modified_bessel_fn
    x = np.array([1e-3, 0.5, 2.0, 3.7, 3.8, 10.0, 100.0])
    t = flambeau.tensor(x, dtype=flambeau.float64)
    np.testing.assert_allclose(to_numpy(_log_modified_bessel_fn(t, 0)), np.log(i0e(x)) + x, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(to_numpy(_log_modified_bessel_fn(t, 1)), np.log(i1e(x)) + x, rtol=1e-6, atol=1e-6)
    with pytest.raises(AssertionError):
        _log_modified_bessel_fn(t, 2)


# -- gradcheck in float64 --------------------------------------------------------------------------
GRADCHECK = {
    "cauchy": (lambda lib, a, b, x: lib.distributions.Cauchy(a, b).log_prob(x), [(3,), (3,), (2, 3)]),
    "half_cauchy": (lambda lib, s, x: lib.distributions.HalfCauchy(s).log_prob(x), [(3,), (2, 3)]),
    "half_normal": (lambda lib, s, x: lib.distributions.HalfNormal(s).log_prob(x), [(3,), (2, 3)]),
    "gumbel": (lambda lib, a, b, x: lib.distributions.Gumbel(a, b).log_prob(x), [(3,), (3,), (2, 3)]),
    "student_t": (lambda lib, df, a, b, x: lib.distributions.StudentT(df, a, b).log_prob(x) +
                  lib.distributions.StudentT(df, a, b).entropy(), [(3,), (3,), (3,), (2, 3)]),
    "chi2": (lambda lib, df, x: lib.distributions.Chi2(df).log_prob(x), [(3,), (2, 3)]),
    "pareto": (lambda lib, s, a, x: lib.distributions.Pareto(s, a + 2).log_prob(x + 3.5), [(3,), (3,), (2, 3)]),
    "weibull": (lambda lib, s, c, x: lib.distributions.Weibull(s, c).log_prob(x), [(3,), (3,), (2, 3)]),
    "fisher_snedecor": (lambda lib, a, b, x: lib.distributions.FisherSnedecor(a, b).log_prob(x),
                        [(3,), (3,), (2, 3)]),
    "inverse_gamma": (lambda lib, c, r, x: lib.distributions.InverseGamma(c, r).log_prob(x), [(3,), (3,), (2, 3)]),
    "kumaraswamy": (lambda lib, a, b, x: lib.distributions.Kumaraswamy(a, b).log_prob(x / 3.5),
                    [(3,), (3,), (2, 3)]),
    # concentration in (-0.5, inf), and values inside the support [0.1, 0.1 + s / |c|] when c < 0
    "generalized_pareto": (lambda lib, s, c, x: lib.distributions.GeneralizedPareto(0.1, s, c - 1).log_prob(
                           0.1 + 0.2 * x),
                           [(3,), (3,), (2, 3)]),
    "von_mises": (lambda lib, a, c, x: lib.distributions.VonMises(a, c * 3).log_prob(x), [(3,), (3,), (2, 3)]),
    "continuous_bernoulli": (lambda lib, p, x: lib.distributions.ContinuousBernoulli(p / 3.5).log_prob(x / 3.5),
                             [(3,), (2, 3)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_log_prob_gradcheck(name):
    fn, shapes = GRADCHECK[name]
    gradcheck(fn, *shapes, positive=True)   # inputs |N(0, 1)| + 0.5


def _seeded_rsample(make):
    def fn(lib, *params):
        flambeau.manual_seed(4)   # the same noise on every call: rsample is then a function of the parameters
        return make(lib.distributions, *params).rsample((4,))
    return fn


@pytest.mark.parametrize("make", [
    lambda D, a, b: D.Cauchy(a, b), lambda D, a, b: D.HalfCauchy(a * b), lambda D, a, b: D.HalfNormal(a + b),
    lambda D, a, b: D.Gumbel(a, b), lambda D, a, b: D.Pareto(a, b), lambda D, a, b: D.Weibull(a, b),
    lambda D, a, b: D.Kumaraswamy(a, b), lambda D, a, b: D.GeneralizedPareto(a, b, a - 1.0),
    lambda D, a, b: D.ContinuousBernoulli(a / 4), lambda D, a, b: D.ContinuousBernoulli(logits=a - b)],
    ids=["cauchy", "half_cauchy", "half_normal", "gumbel", "pareto", "weibull", "kumaraswamy", "generalized_pareto",
         "cb_probs", "cb_logits"])
def test_rsample_gradcheck(make):
    gradcheck(_seeded_rsample(make), (3,), (3,), positive=True)


def test_rsample_gradients_of_gamma_based_families_are_unbiased():
    # d/dtheta E[x] by reparameterized samples (through the implicit Gamma gradient) equals the derivative
    # of the closed-form mean
    D = flambeau.distributions
    flambeau.manual_seed(9)
    n = 40000
    df = flambeau.tensor([1.5, 4.0], dtype=flambeau.float64, requires_grad=True)
    D.Chi2(df).rsample((n,)).mean(0).sum().backward()
    np.testing.assert_allclose(to_numpy(df.grad), [1.0, 1.0], rtol=0.05)

    conc = flambeau.tensor([4.0, 6.0], dtype=flambeau.float64, requires_grad=True)
    rate = flambeau.tensor([2.0, 1.0], dtype=flambeau.float64, requires_grad=True)
    D.InverseGamma(conc, rate).rsample((n,)).mean(0).sum().backward()
    c, r = np.array([4.0, 6.0]), np.array([2.0, 1.0])
    np.testing.assert_allclose(to_numpy(conc.grad), -r / (c - 1) ** 2, rtol=0.08)
    np.testing.assert_allclose(to_numpy(rate.grad), 1 / (c - 1), rtol=0.03)

    df2 = flambeau.tensor([12.0, 20.0], dtype=flambeau.float64, requires_grad=True)
    D.FisherSnedecor(flambeau.tensor([5.0, 5.0], dtype=flambeau.float64), df2).rsample((n,)).mean(0).sum().backward()
    np.testing.assert_allclose(to_numpy(df2.grad), -2 / (np.array([12.0, 20.0]) - 2) ** 2, rtol=0.15)

    loc = flambeau.tensor([0.5], dtype=flambeau.float64, requires_grad=True)
    scale = flambeau.tensor([2.0], dtype=flambeau.float64, requires_grad=True)
    x = D.StudentT(flambeau.tensor([5.0], dtype=flambeau.float64), loc, scale).rsample((n,))
    x.abs().mean().backward()
    assert loc.grad is not None and scale.grad is not None
    # d/dscale E|x - loc| = E|x - loc| / scale for a location-scale family
    np.testing.assert_allclose(to_numpy(scale.grad), to_numpy((x - 0.5).abs().mean()) / 2.0, rtol=0.05)


# -- KL divergences ----------------------------------------------------------------------------------
def _kl(make_p, make_q=None):
    make_q = make_q or make_p

    def fn(lib, a, b, c, e):
        return lib.distributions.kl_divergence(make_p(lib, a, b), make_q(lib, c, e))
    return fn


def _cauchy_d(lib, a, b):
    return lib.distributions.Cauchy(a, _pos(lib, b))


def _cb_d(lib, a, b):
    return lib.distributions.ContinuousBernoulli(lib.sigmoid(a * b))


def _gumbel_d(lib, a, b):
    return lib.distributions.Gumbel(a, _pos(lib, b))


def _pareto_d(lib, a, b):
    return lib.distributions.Pareto(_pos(lib, a), _pos(lib, b) + 2.1)


def _normal_d(lib, a, b):
    return lib.distributions.Normal(a, _pos(lib, b))


def _exponential_d(lib, a, b):
    return lib.distributions.Exponential(_pos(lib, a + b))


def _gamma_d(lib, a, b):
    return lib.distributions.Gamma(_pos(lib, a), _pos(lib, b))


def _beta_d(lib, a, b):
    return lib.distributions.Beta(_pos(lib, a), _pos(lib, b))


KL_CASES = {
    "cauchy_cauchy": _kl(_cauchy_d),
    "cb_cb": _kl(_cb_d),
    "gumbel_gumbel": _kl(_gumbel_d),
    "halfnormal_halfnormal": _kl(lambda lib, a, b: lib.distributions.HalfNormal(_pos(lib, a + b))),
    "pareto_pareto": _kl(_pareto_d),
    "halfcauchy_halfcauchy": _kl(lambda lib, a, b: lib.distributions.HalfCauchy(_pos(lib, a * b))),
    "inversegamma_inversegamma": _kl(lambda lib, a, b: lib.distributions.InverseGamma(_pos(lib, a), _pos(lib, b))),
    "chi2_chi2": _kl(lambda lib, a, b: lib.distributions.Chi2(_pos(lib, a + b))),
    "beta_cb": _kl(_beta_d, _cb_d),
    "cb_exponential": _kl(_cb_d, _exponential_d),
    "cb_normal": _kl(_cb_d, _normal_d),
    "cb_uniform": _kl(_cb_d, lambda lib, a, b: lib.distributions.Uniform(-_pos(lib, a), 1 + _pos(lib, b))),
    "uniform_cb": _kl(lambda lib, a, b: lib.distributions.Uniform(lib.sigmoid(a) * 0.4, 0.6 + lib.sigmoid(b) * 0.4),
                      _cb_d),
    "exponential_gumbel": _kl(_exponential_d, _gumbel_d),
    "gamma_gumbel": _kl(_gamma_d, _gumbel_d),
    "chi2_gumbel": _kl(lambda lib, a, b: lib.distributions.Chi2(_pos(lib, a * b)), _gumbel_d),
    "gumbel_normal": _kl(_gumbel_d, _normal_d),
    "normal_gumbel": _kl(_normal_d, _gumbel_d),
    "uniform_gumbel": _kl(lambda lib, a, b: lib.distributions.Uniform(a - 1, a + _pos(lib, b)), _gumbel_d),
    "pareto_exponential": _kl(_pareto_d, _exponential_d),
    "pareto_gamma": _kl(_pareto_d, _gamma_d),
    "pareto_normal": _kl(_pareto_d, _normal_d),
    "uniform_pareto": _kl(lambda lib, a, b: lib.distributions.Uniform(_pos(lib, a) + 1,
                                                                      _pos(lib, a) + 1 + _pos(lib, b)), _pareto_d),
}


@pytest.mark.parametrize("name", sorted(KL_CASES))
def test_kl_divergence_matches_torch(name, device):
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # an ambiguous dispatch warns
        check_against_torch(KL_CASES[name], (5,), (5,), (5,), (5,), device=device)


def _kl_edges(lib):
    # the pairs whose KL is infinite (p has mass outside q's support), and the branches set to inf
    D, t = lib.distributions, lib.tensor
    ones = t([1.0, 2.0])
    cb, gu, pa = D.ContinuousBernoulli(t([0.3, 0.8])), D.Gumbel(t([0.0, 1.0]), ones), D.Pareto(ones, ones + 0.5)
    ex, ga, be = D.Exponential(ones), D.Gamma(ones, ones), D.Beta(ones, ones)
    no, la, un = D.Normal(t([0.0, 1.0]), ones), D.Laplace(t([0.0, 1.0]), ones), D.Uniform(t([0.1, 0.2]), ones)
    pairs = [(be, pa), (cb, pa), (ex, cb), (ex, pa), (ga, cb), (ga, pa), (gu, be), (gu, cb), (gu, ex), (gu, ga),
             (gu, pa), (gu, un), (la, cb), (la, pa), (no, cb), (no, pa), (pa, be), (pa, cb), (pa, un),
             (D.Chi2(ones), pa), (D.Chi2(ones), cb)]
    out = [D.kl_divergence(p, q) for p, q in pairs]
    a = t([0.5, 1.0, 1.5, 2.5, 3.0])
    p = D.Pareto(t([1.0, 2.0, 0.5, 1.0, 3.0]), a)
    out += [D.kl_divergence(p, D.Pareto(t([1.5, 1.0, 0.5, 2.0, 2.0]), 2.0)), D.kl_divergence(p, D.Exponential(1.0)),
            D.kl_divergence(p, D.Gamma(2.0, 1.0)), D.kl_divergence(p, D.Normal(0.0, 1.0)),
            D.kl_divergence(D.Uniform(t([0.5, 2.0, 0.1]), 4.0), D.Pareto(1.0, 2.0)),
            D.kl_divergence(cb, D.Uniform(t([0.0, -0.5]), t([1.5, 1.0]))),
            D.kl_divergence(D.Uniform(t([0.0, 0.2]), t([0.5, 1.0])), cb),
            D.kl_divergence(D.Weibull(ones, ones), D.Weibull(ones, ones)),
            D.kl_divergence(D.Kumaraswamy(ones, ones), D.Kumaraswamy(ones, ones))]
    return out


def test_kl_infinite_pairs_and_branches_match_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same(_kl_edges(flambeau), _kl_edges(torch))


def test_kl_without_a_formula_raises_as_torch():
    def attempts(lib):
        D, t = lib.distributions, lib.tensor
        return [lambda: D.kl_divergence(D.Weibull(t([1.0]), t([1.0])), D.Weibull(t([1.0]), t([2.0]))),
                lambda: D.kl_divergence(D.Cauchy(0.0, 1.0), D.Normal(0.0, 1.0)),
                lambda: D.kl_divergence(D.Gumbel(0.0, 1.0), D.Laplace(0.0, 1.0)),
                lambda: D.kl_divergence(D.Pareto(1.0, 1.0), D.Gumbel(0.0, 1.0)),
                lambda: D.kl_divergence(D.VonMises(0.0, 1.0), D.VonMises(0.0, 1.0)),
                lambda: D.kl_divergence(D.StudentT(2.0), D.StudentT(3.0))]
    for ours, ref in zip(attempts(flambeau), attempts(torch)):
        with pytest.raises(NotImplementedError):
            ref()
        with pytest.raises(NotImplementedError):
            ours()


# -- shapes, expand, samples, constraints, repr, errors ----------------------------------------------
def _instances(lib):
    D, t = lib.distributions, lib.tensor
    col = t([[1.0], [2.0]])
    return [D.Cauchy(t([0.0, 1.0]), 1.0), D.Cauchy(0.0, 2.0), D.HalfCauchy(t([1.0, 2.0])), D.HalfCauchy(1.0),
            D.HalfNormal(col), D.HalfNormal(2.0), D.Gumbel(t([0.0, 1.0]), col), D.Gumbel(0.0, 1.0),
            D.StudentT(t([3.0, 4.0]), col), D.StudentT(3.0), D.Chi2(col), D.Chi2(2.0), D.Pareto(t([1.0, 2.0]), col),
            D.Pareto(1.0, 2.0), D.Weibull(col, t([1.0, 2.0, 3.0])), D.Weibull(1.0, 2.0),
            D.FisherSnedecor(col, t([3.0, 5.0])), D.FisherSnedecor(3.0, 5.0), D.InverseGamma(col, t([1.0, 2.0])),
            D.InverseGamma(2.0, 1.0), D.Kumaraswamy(t([1.0, 2.0]), col), D.Kumaraswamy(2.0, 3.0),
            D.GeneralizedPareto(t([0.0, 1.0]), col, 0.1), D.GeneralizedPareto(0.0, 1.0, -0.2),
            D.VonMises(t([0.0, 1.0]), col), D.VonMises(0.5, 2.0), D.ContinuousBernoulli(col * 0.3),
            D.ContinuousBernoulli(0.3), D.ContinuousBernoulli(logits=t([0.2, -1.0]))]


def _shapes(lib):
    rows = []
    for d in _instances(lib):
        e = d.expand((5,) + tuple(d.batch_shape))
        s, es = d.sample((2, 3)), e.sample()
        rows.append((type(d).__name__, tuple(d.batch_shape), tuple(d.event_shape), tuple(d.sample().shape),
                     tuple(s.shape), str(s.dtype), type(e).__name__, tuple(e.batch_shape), tuple(es.shape),
                     tuple(e.log_prob(es).shape), tuple(d.log_prob(s).shape), d.has_rsample, d.has_enumerate_support,
                     type(d.support).__name__, d.support.event_dim, d.support.is_discrete,
                     sorted(d.arg_constraints), tuple(e.mean.shape), tuple(e.variance.shape)))
    return rows


def test_shapes_samples_and_expand_match_torch():
    assert _shapes(flambeau) == _shapes(torch)


def test_scalar_gamma_based_families_sample_a_0d_tensor():
    # NumPy's standard_gamma returns a bare float for a 0-d concentration
    D = flambeau.distributions
    for d in (D.Chi2(2.0), D.StudentT(3.0), D.FisherSnedecor(3.0, 5.0), D.InverseGamma(2.0, 1.0), D.Gamma(2.0, 1.0)):
        assert tuple(d.sample().shape) == () and tuple(d.rsample().shape) == ()


def test_expand_shares_parameters_and_keeps_values():
    for ours, ref in zip(_instances(flambeau), _instances(torch)):
        shape = (4,) + tuple(ours.batch_shape)
        e, er = ours.expand(shape), ref.expand(shape)
        assert e._validate_args == ours._validate_args
        assert_same(e.mean, er.mean, rtol=1e-5)
        # ContinuousBernoulli's variance cancels two large terms: 1 ulp of float32 sigmoid shows at 1e-4
        assert_same(e.variance, er.variance, rtol=1e-3)
        assert_same(e.variance, ours.variance.expand(shape), rtol=0, atol=0)
        x = ref.sample((4,))
        assert_same(e.log_prob(flambeau.tensor(x.numpy())), er.log_prob(x), rtol=1e-5, atol=1e-6)


def test_float64_parameters_give_float64_samples():
    D = flambeau.distributions
    one = flambeau.tensor([1.0, 2.0], dtype=flambeau.float64, requires_grad=True)
    for d in (D.Cauchy(one, one), D.HalfNormal(one), D.Gumbel(one, one), D.StudentT(one), D.Chi2(one),
              D.Pareto(one, one), D.Weibull(one, one), D.FisherSnedecor(one, one), D.InverseGamma(one, one),
              D.Kumaraswamy(one, one), D.GeneralizedPareto(one, one, one), D.VonMises(one, one),
              D.ContinuousBernoulli(one / 3)):
        s = d.sample((3,))
        assert s.dtype is flambeau.float64 and not s.requires_grad, type(d).__name__
        if d.has_rsample:
            assert d.rsample((3,)).requires_grad, type(d).__name__
        else:
            with pytest.raises(NotImplementedError):
                d.rsample()


def test_lowercase_modules_and_names_match_torch():
    import importlib
    D = flambeau.distributions
    for cls, mod in zip(FAMILIES, MODULES):
        ours = importlib.import_module(f"flambeau.distributions.{mod}")
        theirs = importlib.import_module(f"torch.distributions.{mod}")
        assert getattr(D, mod) is ours
        assert getattr(ours, cls) is getattr(D, cls) and cls in D.__all__
        assert ours.__all__ == theirs.__all__
    assert issubclass(D.Chi2, D.Gamma) and issubclass(D.ContinuousBernoulli, D.ExponentialFamily)
    for cls in ("HalfCauchy", "HalfNormal", "Gumbel", "Pareto", "Weibull", "InverseGamma", "Kumaraswamy"):
        assert issubclass(getattr(D, cls), D.TransformedDistribution) == issubclass(
            getattr(torch.distributions, cls), torch.distributions.TransformedDistribution)


def _reprs(lib):
    D, t = lib.distributions, lib.tensor
    ds = _instances(lib)[::2] + [D.Pareto(t([1.0, 2.0]), 1.0).support, D.Gumbel(0.0, 1.0).transforms[1],
                                 D.GeneralizedPareto(0.0, 1.0, t([-0.5, 0.5])).support]
    return [repr(d) for d in ds]


def test_repr_matches_torch():
    assert _reprs(flambeau) == _reprs(torch)


def _errors(lib):
    D, t = lib.distributions, lib.tensor
    one = t([1.0])
    attempts = [
        lambda: D.Cauchy(0.0, -1.0), lambda: D.Cauchy(t([float("nan")]), 1.0), lambda: D.HalfCauchy(t([0.0])),
        lambda: D.HalfNormal(-1.0), lambda: D.Gumbel(one, t([0.0])), lambda: D.StudentT(t([-1.0])),
        lambda: D.StudentT(1.0, 0.0, -2.0), lambda: D.Chi2(t([0.0])), lambda: D.Pareto(one, t([-1.0])),
        lambda: D.Pareto(-1.0, 2.0), lambda: D.Weibull(-1.0, 2.0), lambda: D.Weibull(one, t([0.0])),
        lambda: D.FisherSnedecor(t([0.0]), 1.0), lambda: D.FisherSnedecor(1.0, -1.0),
        lambda: D.InverseGamma(one, t([-1.0])), lambda: D.InverseGamma(-1.0, 1.0), lambda: D.Kumaraswamy(-1.0, 1.0),
        lambda: D.Kumaraswamy(one, t([0.0])), lambda: D.GeneralizedPareto(0.0, -1.0, 0.0),
        lambda: D.GeneralizedPareto(t([float("nan")]), 1.0, 0.0), lambda: D.VonMises(one, t([-1.0])),
        lambda: D.ContinuousBernoulli(t([1.5])), lambda: D.ContinuousBernoulli(t([1.5]), validate_args=True),
        lambda: D.ContinuousBernoulli(t([1.5]), validate_args=False), lambda: D.ContinuousBernoulli(),
        lambda: D.ContinuousBernoulli(t([0.5]), t([0.0])), lambda: D.ContinuousBernoulli(logits=t([float("nan")])),
        # values outside the support, or of the wrong shape
        lambda: D.HalfNormal(one).log_prob(t([-1.0])), lambda: D.HalfCauchy(one).cdf(t([-1.0])),
        lambda: D.Pareto(one, one).log_prob(t([0.5])), lambda: D.Weibull(one, one).log_prob(t([-0.5])),
        lambda: D.Kumaraswamy(one, one).log_prob(t([1.5])), lambda: D.Chi2(one).log_prob(t([-1.0])),
        lambda: D.ContinuousBernoulli(t([0.3])).log_prob(t([2.0])), lambda: D.InverseGamma(one, one).log_prob(-one),
        lambda: D.FisherSnedecor(one, one).log_prob(t([0.0])), lambda: D.Cauchy(0.0, 1.0).log_prob(0.5),
        lambda: D.GeneralizedPareto(0.0, 1.0, -0.5).log_prob(t([3.0])),
        lambda: D.GeneralizedPareto(0.0, 1.0, 0.5).log_survival_function(t([-1.0])),
        lambda: D.Gumbel(t([0.0, 0.0]), 1.0).log_prob(t([1.0, 2.0, 3.0])),
        lambda: D.StudentT(t([2.0])).log_prob(t([float("nan")])),
        # what the families do not define
        lambda: D.StudentT(one).cdf(one), lambda: D.StudentT(one).icdf(t([0.5])),
        lambda: D.FisherSnedecor(one, one).cdf(one), lambda: D.FisherSnedecor(one, one).entropy(),
        lambda: D.VonMises(one, one).cdf(one), lambda: D.VonMises(one, one).entropy(),
        lambda: D.VonMises(one, one).rsample(),
        lambda: D.Cauchy(one, one).enumerate_support(), lambda: D.Chi2(one).icdf(t([0.5])),
        lambda: D.GeneralizedPareto(0.0, 1.0, 0.5).enumerate_support(),
        lambda: D.InverseGamma(one, one).cdf(one).item() + D.Weibull(one, one).icdf(t([0.5])).item()]
    out = []
    for attempt in attempts:
        try:
            attempt()
            out.append(None)
        except Exception as e:          # the type of each error (or its absence) is compared with torch
            out.append(type(e).__name__)
    return out


def test_errors_match_torch():
    assert _errors(flambeau) == _errors(torch)


def test_validate_args_off():
    D = flambeau.distributions
    assert D.Cauchy(0.0, -1.0, validate_args=False).scale.item() == -1.0
    assert D.Pareto(1.0, 1.0, validate_args=False).log_prob(flambeau.tensor(0.5)).isfinite()
    with pytest.raises(ValueError):      # as torch: the Chi2 inside StudentT validates by default
        D.StudentT(-1.0, validate_args=False)
    D.Distribution.set_default_validate_args(False)
    try:
        assert D.HalfNormal(1.0).log_prob(flambeau.tensor(-1.0)).item() == -math.inf
        assert D.Kumaraswamy(-1.0, 1.0).concentration1.item() == -1.0
    finally:
        D.Distribution.set_default_validate_args(True)


# -- samples --------------------------------------------------------------------------------------
def _moment_cases(D, t):
    return {
        "half_normal": D.HalfNormal(t([0.5, 2.0])), "gumbel": D.Gumbel(t([0.0, 3.0]), t([1.0, 0.5])),
        "student_t": D.StudentT(t([6.0, 12.0]), t([1.0, -1.0]), t([2.0, 0.5])), "chi2": D.Chi2(t([0.7, 3.0, 10.0])),
        "pareto": D.Pareto(t([1.0, 0.5]), t([6.0, 9.0])), "weibull": D.Weibull(t([1.0, 2.0]), t([0.8, 3.0])),
        "fisher_snedecor": D.FisherSnedecor(t([3.0, 10.0]), t([14.0, 20.0])),
        "inverse_gamma": D.InverseGamma(t([5.0, 8.0]), t([2.0, 1.0])),
        "kumaraswamy": D.Kumaraswamy(t([0.5, 2.0, 5.0]), t([0.8, 3.0, 1.0])),
        "generalized_pareto": D.GeneralizedPareto(t([0.0, 1.0, -1.0]), t([1.0, 2.0, 0.5]), t([0.0, 0.2, -0.6])),
        "continuous_bernoulli": D.ContinuousBernoulli(t([0.05, 0.3, 0.5, 0.9])),
    }


@pytest.mark.parametrize("name", ["half_normal", "gumbel", "student_t", "chi2", "pareto", "weibull", "fisher_snedecor",
                                  "inverse_gamma", "kumaraswamy", "generalized_pareto", "continuous_bernoulli"])
def test_sample_moments(name, device):
    flambeau.manual_seed(7)
    d = _moment_cases(flambeau.distributions, lambda v: flambeau.tensor(v, dtype=flambeau.float64, device=device))[name]
    n = 20000
    s = d.sample((n,))
    assert s.device.type == flambeau.device(device).type
    assert tuple(s.shape) == (n,) + tuple(d.batch_shape)
    assert bool(d.support.check(s).all())
    x = to_numpy(s)
    mean, var = to_numpy(d.mean), to_numpy(d.variance)
    np.testing.assert_allclose(x.mean(0), mean, atol=5 * np.max(np.sqrt(var)) / math.sqrt(n) + 1e-3)
    np.testing.assert_allclose(x.var(0), var, rtol=0.1, atol=1e-3)


def _ks_cases(D, TD):
    import scipy.stats
    return [(D.Cauchy(1.0, 2.0), TD.Cauchy(1.0, 2.0).cdf), (D.HalfCauchy(1.5), TD.HalfCauchy(1.5).cdf),
            (D.HalfNormal(0.7), TD.HalfNormal(0.7).cdf), (D.Gumbel(-1.0, 2.0), TD.Gumbel(-1.0, 2.0).cdf),
            (D.StudentT(1.5, 0.5, 2.0), lambda x: torch.tensor(scipy.stats.t(1.5, 0.5, 2.0).cdf(x.numpy()))),
            (D.FisherSnedecor(2.0, 3.0), lambda x: torch.tensor(scipy.stats.f(2.0, 3.0).cdf(x.numpy()))),
            (D.Pareto(2.0, 0.8), TD.Pareto(2.0, 0.8).cdf), (D.Weibull(1.5, 0.6), TD.Weibull(1.5, 0.6).cdf),
            (D.InverseGamma(0.8, 2.0), TD.InverseGamma(0.8, 2.0).cdf),
            (D.Kumaraswamy(0.4, 0.7), TD.Kumaraswamy(0.4, 0.7).cdf),
            (D.GeneralizedPareto(1.0, 2.0, 0.7), TD.GeneralizedPareto(1.0, 2.0, 0.7).cdf),
            (D.ContinuousBernoulli(0.2), TD.ContinuousBernoulli(0.2).cdf),
            # samples wrapped into [-pi, pi); scipy's von Mises lives on [loc - pi, loc + pi)
            (D.VonMises(0.0, 0.6), lambda x: torch.tensor(scipy.stats.vonmises(0.6, 0.0).cdf(x.numpy())))]


def test_sample_distribution_by_ks_statistic():
    # the whole distribution, heavy tails included: the largest gap between the empirical cdf and the true one
    flambeau.manual_seed(3)
    n = 5000
    for ours, cdf in _ks_cases(flambeau.distributions, torch.distributions):
        s = np.sort(to_numpy(ours.sample((n,))).astype(np.float64))
        ref = cdf(torch.tensor(s)).double().numpy()
        gap = np.max(np.abs(ref - np.arange(1, n + 1) / n))
        assert gap < 0.025, (type(ours).__name__, gap)


def test_von_mises_samples(device):
    D = flambeau.distributions
    flambeau.manual_seed(5)
    loc = flambeau.tensor([0.5, 3.0, -2.0, 0.0], device=device)
    conc = flambeau.tensor([1e-6, 0.7, 4.0, 50.0], device=device)
    d = D.VonMises(loc, conc)
    s = d.sample((20000,))
    assert s.dtype is flambeau.float32 and s.device.type == flambeau.device(device).type
    x = to_numpy(s).astype(np.float64)
    assert np.all(x >= -math.pi) and np.all(x < math.pi)
    # E[cos(x - loc)] = I1(kappa) / I0(kappa) = 1 - circular variance; E[sin(x - loc)] = 0
    lc = to_numpy(loc).astype(np.float64)
    np.testing.assert_allclose(np.cos(x - lc).mean(0), 1 - to_numpy(d.variance), atol=0.02)
    np.testing.assert_allclose(np.sin(x - lc).mean(0), 0.0, atol=0.02)
    e = d.expand((3, 4))
    assert type(e) is D.VonMises and tuple(e.sample().shape) == (3, 4)


def test_samples_are_reproducible_with_manual_seed(device):
    def draw():
        flambeau.manual_seed(11)
        return [to_numpy(d.sample((5,))) for d in _moment_cases(
            flambeau.distributions, lambda v: flambeau.tensor(v, device=device)).values()]
    first, second = draw(), draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_docstring_examples_run():
    import doctest
    import importlib
    for mod in MODULES:
        m = importlib.import_module(f"flambeau.distributions.{mod}")
        result = doctest.testmod(m, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted >= 1, mod
