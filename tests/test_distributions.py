"""flambeau.distributions against torch.distributions: values, gradients, shapes, errors, KL divergences,
and loose statistical checks of the samples."""
import math

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, check_against_torch, need_torch, to_numpy

torch = need_torch()


def _pos(lib, t):
    return lib.nn.functional.softplus(t) + 0.1


# name -> (fn(lib, *inputs) returning a tuple of tensors, input shapes); inputs are standard normal, mapped
# into each parameter's range by differentiable ops so that the gradients reach them
def _normal(lib, loc, s, x):
    d = lib.distributions.Normal(loc, _pos(lib, s))
    return d.log_prob(x), d.cdf(x), d.icdf(lib.sigmoid(x)), d.entropy(), d.mean, d.mode, d.variance, d.stddev


def _laplace(lib, loc, s, x):
    d = lib.distributions.Laplace(loc, _pos(lib, s))
    return d.log_prob(x), d.cdf(x), d.icdf(lib.sigmoid(x)), d.entropy(), d.mean, d.variance, d.stddev


def _exponential(lib, r, x):
    d = lib.distributions.Exponential(_pos(lib, r))
    x = x.abs()
    return d.log_prob(x), d.cdf(x), d.icdf(lib.sigmoid(x)), d.entropy(), d.mean, d.mode, d.variance, d.stddev


def _uniform(lib, lo, w, x):
    high = lo + _pos(lib, w)
    d = lib.distributions.Uniform(lo, high, validate_args=False)
    return d.log_prob(x), d.cdf(x), d.icdf(lib.sigmoid(x)), d.entropy(), d.mean, d.variance, d.stddev


def _gamma(lib, c, r, x):
    d = lib.distributions.Gamma(_pos(lib, c) * 3, _pos(lib, r))
    x = x.abs() + 0.01
    return d.log_prob(x), d.entropy(), d.mean, d.mode, d.variance


def _beta(lib, a, b, x):
    d = lib.distributions.Beta(_pos(lib, a) * 2, _pos(lib, b) * 2)
    x = lib.sigmoid(x)
    return d.log_prob(x), d.entropy(), d.mean, d.mode, d.variance


def _dirichlet(lib, c, x):
    d = lib.distributions.Dirichlet(_pos(lib, c) * 2)
    x = lib.softmax(x, -1)
    return d.log_prob(x), d.entropy(), d.mean, d.mode, d.variance


def _bernoulli_probs(lib, p, x):
    d = lib.distributions.Bernoulli(probs=lib.sigmoid(p))
    x = (x > 0).to(x.dtype)
    return d.log_prob(x), d.entropy(), d.mean, d.variance, d.logits, d.mode


def _bernoulli_logits(lib, logit, x):
    d = lib.distributions.Bernoulli(logits=logit)
    x = (x > 0).to(x.dtype)
    return d.log_prob(x), d.entropy(), d.mean, d.variance, d.probs


def _categorical_probs(lib, p, x):
    d = lib.distributions.Categorical(probs=lib.softmax(p, -1))
    return (d.log_prob(lib.tensor([0, 3, 1])), d.entropy(), d.mode, d.mean, d.logits,
            d.enumerate_support())


def _categorical_logits(lib, logit, x):
    d = lib.distributions.Categorical(logits=logit)
    return d.log_prob(lib.tensor([[2], [0]])), d.entropy(), d.probs, d.enumerate_support(False)


def _one_hot(lib, logit, x):
    d = lib.distributions.OneHotCategorical(logits=logit)
    value = lib.nn.functional.one_hot(lib.tensor([2, 0, 3]), 4).to(logit.dtype)
    return d.log_prob(value), d.entropy(), d.mean, d.mode, d.variance, d.enumerate_support()


def _poisson(lib, r, x):
    d = lib.distributions.Poisson(_pos(lib, r) * 3)
    return d.log_prob((x.abs() * 3).floor()), d.mean, d.mode, d.variance


def _binomial(lib, p, x):
    d = lib.distributions.Binomial(10, probs=lib.sigmoid(p))
    k = (x.abs() * 3).floor().clamp(max=10)
    return d.log_prob(k), d.entropy(), d.mean, d.mode, d.variance, d.logits


def _binomial_logits(lib, logit, x):
    d = lib.distributions.Binomial(lib.tensor([[3.], [7.]], dtype=logit.dtype), logits=logit)
    k = (x.abs() * 2).floor().clamp(max=3)
    return d.log_prob(k), d.mean, d.variance, d.probs


def _geometric(lib, p, x):
    d = lib.distributions.Geometric(lib.sigmoid(p))
    k = (x.abs() * 3).floor()
    return d.log_prob(k), d.entropy(), d.mean, d.mode, d.variance


def _mvn(lib, loc, a, x):
    cov = a @ a.mT + lib.eye(3, dtype=a.dtype)
    d = lib.distributions.MultivariateNormal(loc, covariance_matrix=cov)
    return d.log_prob(x), d.entropy(), d.mean, d.variance, d.scale_tril, d.precision_matrix


def _mvn_precision(lib, loc, a, x):
    prec = a @ a.mT + lib.eye(3, dtype=a.dtype)
    d = lib.distributions.MultivariateNormal(loc, precision_matrix=prec)
    return d.log_prob(x), d.entropy(), d.scale_tril, d.covariance_matrix


def _mvn_scale_tril(lib, loc, a, x):
    tril = a.tril(-1) + lib.diag_embed(_pos(lib, a.diagonal(dim1=-2, dim2=-1)))
    d = lib.distributions.MultivariateNormal(loc, scale_tril=tril)
    return d.log_prob(x), d.entropy(), d.covariance_matrix, d.variance


def _lognormal(lib, loc, s, x):
    d = lib.distributions.LogNormal(loc, _pos(lib, s))
    x = x.exp()
    return d.log_prob(x), d.cdf(x), d.icdf(lib.sigmoid(x)), d.entropy(), d.mean, d.mode, d.variance


def _independent(lib, loc, s, x):
    d = lib.distributions.Independent(lib.distributions.Normal(loc, _pos(lib, s)), 1)
    return d.log_prob(x), d.entropy(), d.mean, d.variance


def _transformed(lib, loc, s, x):
    D = lib.distributions
    base = D.Normal(loc, _pos(lib, s))
    d = D.TransformedDistribution(base, [D.AffineTransform(0.5, 2.0), D.TanhTransform(),
                                         D.AffineTransform(loc, -0.5), D.SigmoidTransform()])
    y = lib.sigmoid(loc + 0.3 * lib.tanh(x))
    return d.log_prob(y), d.cdf(y), d.icdf(lib.sigmoid(x) * 0.8 + 0.1)


def _compose(lib, loc, s, x):
    D = lib.distributions
    t = D.ComposeTransform([D.AffineTransform(loc, _pos(lib, s)), D.ExpTransform()])
    y = t(x)
    return y, t.inv(y), t.log_abs_det_jacobian(x, y), t.inv.log_abs_det_jacobian(y, x)


CASES = {
    "normal": (_normal, [(2, 3), (3,), (4, 1, 3)]),
    "laplace": (_laplace, [(3,), (2, 3), (2, 3)]),
    "exponential": (_exponential, [(4,), (5, 4)]),
    "uniform": (_uniform, [(3,), (3,), (2, 3)]),
    "gamma": (_gamma, [(3,), (3,), (2, 3)]),
    "beta": (_beta, [(3,), (3,), (2, 3)]),
    "dirichlet": (_dirichlet, [(2, 4), (3, 2, 4)]),
    "bernoulli_probs": (_bernoulli_probs, [(4,), (2, 4)]),
    "bernoulli_logits": (_bernoulli_logits, [(4,), (2, 4)]),
    "categorical_probs": (_categorical_probs, [(3, 5), (1,)]),
    "categorical_logits": (_categorical_logits, [(3, 5), (1,)]),
    "one_hot": (_one_hot, [(3, 4), (1,)]),
    "poisson": (_poisson, [(4,), (2, 4)]),
    "binomial": (_binomial, [(4,), (2, 4)]),
    "binomial_logits": (_binomial_logits, [(2, 3), (2, 3)]),
    "geometric": (_geometric, [(4,), (2, 4)]),
    "mvn_covariance": (_mvn, [(2, 3), (3, 3), (4, 2, 3)]),
    "mvn_precision": (_mvn_precision, [(3,), (2, 3, 3), (2, 3)]),
    "mvn_scale_tril": (_mvn_scale_tril, [(2, 3), (2, 3, 3), (5, 2, 3)]),
    "lognormal": (_lognormal, [(3,), (3,), (2, 3)]),
    "independent": (_independent, [(2, 3), (3,), (2, 3)]),
    "transformed": (_transformed, [(3,), (3,), (2, 3)]),
    "compose": (_compose, [(3,), (3,), (2, 3)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name):
    fn, shapes = CASES[name]
    check_against_torch(fn, *shapes, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["normal", "gamma", "dirichlet", "categorical_logits", "mvn_covariance",
                                  "bernoulli_probs", "transformed"])
def test_values_and_gradients_on_device(name, device):
    fn, shapes = CASES[name]
    check_against_torch(fn, *shapes, device=device, rtol=1e-6, atol=1e-9)


def test_float32_keeps_dtype():
    check_against_torch(_normal, (2, 3), (3,), (4, 1, 3), dtype="float32", rtol=1e-5, atol=1e-6)
    check_against_torch(_gamma, (3,), (3,), (2, 3), dtype="float32", rtol=1e-5, atol=1e-6)


def test_gamma_cdf_matches_torch():
    # torch differentiates the regularized incomplete gamma function in x only
    def fn(lib, c, x):
        d = lib.distributions.Gamma(_pos(lib, c.detach()) * 3, 2.0)
        return d.cdf(x.abs())
    check_against_torch(fn, (4,), (3, 4))
    d = flambeau.distributions.Gamma(flambeau.tensor([2.0], requires_grad=True), 1.0)
    with pytest.raises(NotImplementedError):
        d.cdf(flambeau.tensor([1.0])).sum().backward()


# -- KL divergences ----------------------------------------------------------------------------
def _kl(make):
    def fn(lib, a, b, c, e):
        p, q = make(lib, a, b), make(lib, c, e)
        return lib.distributions.kl_divergence(p, q)
    return fn


KL_CASES = {
    "normal": (_kl(lambda lib, a, b: lib.distributions.Normal(a, _pos(lib, b))), (3,)),
    "laplace": (_kl(lambda lib, a, b: lib.distributions.Laplace(a, _pos(lib, b))), (3,)),
    "exponential": (_kl(lambda lib, a, b: lib.distributions.Exponential(_pos(lib, a + b))), (3,)),
    "gamma": (_kl(lambda lib, a, b: lib.distributions.Gamma(_pos(lib, a), _pos(lib, b))), (3,)),
    "beta": (_kl(lambda lib, a, b: lib.distributions.Beta(_pos(lib, a), _pos(lib, b))), (3,)),
    "dirichlet": (_kl(lambda lib, a, b: lib.distributions.Dirichlet(_pos(lib, a * b))), (2, 4)),
    "bernoulli": (_kl(lambda lib, a, b: lib.distributions.Bernoulli(lib.sigmoid(a * b))), (3,)),
    "categorical": (_kl(lambda lib, a, b: lib.distributions.Categorical(logits=a + b)), (2, 4)),
    "one_hot": (_kl(lambda lib, a, b: lib.distributions.OneHotCategorical(lib.softmax(a + b, -1))), (2, 4)),
    "uniform": (_kl(lambda lib, a, b: lib.distributions.Uniform(a - 3, a + _pos(lib, b) + 3)), (3,)),
    "poisson": (_kl(lambda lib, a, b: lib.distributions.Poisson(_pos(lib, a + b))), (3,)),
    "geometric": (_kl(lambda lib, a, b: lib.distributions.Geometric(lib.sigmoid(a + b))), (3,)),
    "binomial": (_kl(lambda lib, a, b: lib.distributions.Binomial(5, lib.sigmoid(a + b))), (3,)),
    "independent": (_kl(lambda lib, a, b: lib.distributions.Independent(
        lib.distributions.Normal(a, _pos(lib, b)), 1)), (2, 3)),
    "mvn": (_kl(lambda lib, a, b: lib.distributions.MultivariateNormal(
        a[..., 0, :], scale_tril=b.tril(-1) + lib.diag_embed(_pos(lib, b.diagonal(dim1=-2, dim2=-1))))),
        (2, 3, 3)),
    "lognormal": (_kl(lambda lib, a, b: lib.distributions.LogNormal(a, _pos(lib, b))), (3,)),
}


@pytest.mark.parametrize("name", sorted(KL_CASES))
def test_kl_divergence_matches_torch(name):
    fn, shape = KL_CASES[name]
    check_against_torch(fn, shape, shape, shape, shape)


@pytest.mark.parametrize("name", ["normal", "mvn", "categorical", "gamma", "dirichlet"])
def test_kl_divergence_on_device(name, device):
    fn, shape = KL_CASES[name]
    check_against_torch(fn, shape, shape, shape, shape, device=device)


def test_kl_infinite_cases_and_mvn_batches():
    def fn(lib):
        D = lib.distributions
        t = lib.tensor
        return (D.kl_divergence(D.Uniform(t([0., 0.]), t([1., 2.])), D.Uniform(t([0., 0.5]), t([2., 3.]))),
                D.kl_divergence(D.Bernoulli(t([0., 1., 0.5, 0.3])), D.Bernoulli(t([0.5, 0.5, 0., 1.]))),
                D.kl_divergence(D.Categorical(t([[0.5, 0.5, 0.], [0.2, 0.3, 0.5]])),
                                D.Categorical(t([[0.5, 0., 0.5], [0.1, 0.1, 0.8]]))),
                D.kl_divergence(D.MultivariateNormal(t([[0., 1.], [1., 2.], [3., 0.]]), t([[2., 0.5], [0.5, 1.]])),
                                D.MultivariateNormal(t([0., 0.]), t([[[1., 0.], [0., 1.]]]))))
    assert_same(fn(flambeau), fn(torch))


def test_kl_dispatch_register_and_errors():
    D = flambeau.distributions
    with pytest.raises(NotImplementedError, match="No KL"):
        D.kl_divergence(D.Normal(0., 1.), D.Laplace(0., 1.))
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Binomial(2, flambeau.tensor([0.5])), D.Binomial(3, flambeau.tensor([0.5])))

    class MyNormal(D.Normal):
        pass
    # a subclass falls back to its base's formula until it registers its own
    assert_same(D.kl_divergence(MyNormal(0., 1.), D.Normal(1., 1.)), torch.tensor(0.5))

    @D.register_kl(MyNormal, D.Normal)
    def _kl_mine(p, q):
        return flambeau.tensor(7.0)
    assert D.kl_divergence(MyNormal(0., 1.), D.Normal(1., 1.)).item() == 7.0
    assert D.kl_divergence(D.Normal(0., 1.), D.Normal(1., 1.)).item() == 0.5


# -- shapes, repr, constraints, validation --------------------------------------------------------
def _shapes(lib):
    D, t = lib.distributions, lib.tensor
    dists = [D.Normal(t([0., 1.]), 1.), D.Normal(0., 1.), D.Categorical(t([[0.2, 0.8], [0.5, 0.5]])),
             D.OneHotCategorical(t([0.2, 0.3, 0.5])), D.Dirichlet(t([[1., 2.], [3., 4.], [5., 6.]])),
             D.MultivariateNormal(t([[0., 0.]]), scale_tril=lib.eye(2)), D.Beta(1., 2.), D.Beta(t([1.]), t([2.])),
             D.Independent(D.Normal(lib.zeros(2, 3, 4), 1.), 2), D.Binomial(t([3., 4.]), t([[0.5], [0.1]])),
             D.LogNormal(t([0., 0.]), 1.), D.Gamma(t([1.]), t([[1.], [2.]])),
             D.TransformedDistribution(D.Normal(lib.zeros(3), 1.), D.AffineTransform(lib.zeros(2, 1), 1.))]
    rows = []
    for d in dists:
        e = d.expand((5,) + tuple(d.batch_shape))
        rows.append((type(d).__name__, tuple(d.batch_shape), tuple(d.event_shape), tuple(d.sample().shape),
                     tuple(d.sample((2, 3)).shape), tuple(e.batch_shape), tuple(e.sample().shape),
                     tuple(e.log_prob(e.sample()).shape), d.has_rsample, d.has_enumerate_support))
    return rows


def test_shapes_samples_and_expand_match_torch():
    assert _shapes(flambeau) == _shapes(torch)


def _reprs(lib):
    D, t = lib.distributions, lib.tensor
    ds = [D.Normal(t([0., 1.]), 1.), D.Normal(0., 2.5), D.Bernoulli(logits=t([0.3])), D.Categorical(t([0.2, 0.8])),
          D.Uniform(0., 1.), D.Independent(D.Normal(lib.zeros(2), 1.), 1), D.Beta(1., 2.),
          D.MultivariateNormal(lib.zeros(2), lib.eye(2)), D.Poisson(t(3.))]
    cons = [D.constraints.real, D.constraints.positive, D.constraints.unit_interval, D.constraints.simplex,
            D.constraints.interval(0, 2), D.constraints.integer_interval(0, 4), D.constraints.greater_than(1.5),
            D.constraints.nonnegative_integer, D.constraints.real_vector, D.constraints.lower_cholesky,
            D.constraints.boolean, D.constraints.half_open_interval(0., 1.), ds[3].support, ds[6].support,
            D.ExpTransform(), D.ExpTransform().inv, D.ComposeTransform([D.ExpTransform(), D.TanhTransform()])]
    return [repr(d) for d in ds] + [repr(c) for c in cons]


def test_repr_matches_torch():
    assert _reprs(flambeau) == _reprs(torch)


def _constraint_checks(lib):
    C, t = lib.distributions.constraints, lib.tensor
    x = t([[-1., 0., 0.5, 1., 2., float("nan")]])
    m = t([[[2., 0.], [1., 3.]], [[1., 1.], [1., 1.]], [[1., 0.], [0., -1.]]])
    out = [c.check(x) for c in (C.real, C.positive, C.nonnegative, C.unit_interval, C.boolean,
                                C.nonnegative_integer, C.positive_integer, C.integer_interval(0, 1),
                                C.greater_than(0.5), C.greater_than_eq(0.5), C.less_than(1.),
                                C.interval(0., 1.), C.half_open_interval(0., 1.), C.real_vector,
                                C.independent(C.positive, 1))]
    out += [C.simplex.check(t([[0.2, 0.8], [0.5, 0.6], [-0.1, 1.1]])),
            C.one_hot.check(t([[0., 1.], [1., 1.], [1., 0.]])),
            C.lower_triangular.check(m), C.lower_cholesky.check(m), C.symmetric.check(m),
            C.positive_definite.check(m), C.positive_semidefinite.check(m), C.square.check(m),
            C.stack([C.positive, C.real], dim=-1).check(t([[1., -1.], [-1., 1.]])),
            C.cat([C.positive, C.real], dim=-1, lengths=[1, 2]).check(t([[1., -1., 2.], [-1., 1., 0.]]))]
    flags = [(c.is_discrete, c.event_dim) for c in (C.real, C.boolean, C.simplex, C.real_vector, C.lower_cholesky,
                                                  C.integer_interval(0, 2), C.independent(C.simplex, 2))]
    return out, flags, C.is_dependent(C.dependent), C.is_dependent(C.real)


def test_constraints_check_matches_torch(device):
    ours, ref = _constraint_checks(flambeau), _constraint_checks(torch)
    assert_same(ours[0], ref[0])
    assert ours[1:] == ref[1:]
    with pytest.raises(ValueError):
        flambeau.distributions.constraints.dependent.check(flambeau.zeros(1))


def test_support_and_arg_constraints():
    D = flambeau.distributions
    assert D.Normal.support is D.constraints.real and D.Gamma.support is D.constraints.nonnegative
    assert D.Categorical(flambeau.tensor([0.5, 0.5])).support.upper_bound == 1
    assert D.constraints.is_dependent(D.Uniform.support)
    assert D.Uniform.support.event_dim == 0 and not D.Uniform.support.is_discrete
    u = D.Uniform(flambeau.tensor([0.]), flambeau.tensor([2.]))
    assert u.support.check(flambeau.tensor([1.])).item() and not u.support.check(flambeau.tensor([3.])).item()
    assert set(D.MultivariateNormal.arg_constraints) == {"loc", "covariance_matrix", "precision_matrix",
                                                         "scale_tril"}
    assert D.Binomial(3, flambeau.tensor([0.5])).support.upper_bound.tolist() == [3.0]


def _errors(lib):
    D, t = lib.distributions, lib.tensor
    attempts = [lambda: D.Normal(0., -1.), lambda: D.Normal(t([0.]), t([0.])), lambda: D.Bernoulli(),
                lambda: D.Bernoulli(probs=t([0.5]), logits=t([0.])), lambda: D.Bernoulli(t([1.5])),
                lambda: D.Categorical(t(0.5)), lambda: D.Categorical(t([-0.5, 1.5])), lambda: D.Uniform(1., 0.),
                lambda: D.Dirichlet(t(1.)), lambda: D.Dirichlet(t([1., -1.])), lambda: D.Gamma(t([1.]), t([0.])),
                lambda: D.Normal(0., 1.).log_prob(0.5), lambda: D.Normal(t([0., 0.]), 1.).log_prob(t([1., 2., 3.])),
                lambda: D.Exponential(t([1.])).log_prob(t([-1.])), lambda: D.Bernoulli(t([0.5])).log_prob(t([0.5])),
                lambda: D.Dirichlet(t([1., 1.])).log_prob(t([0.5, 0.6])),
                lambda: D.Categorical(t([0.5, 0.5])).log_prob(t([2])), lambda: D.Poisson(t([-1.])),
                lambda: D.Geometric(t([0.])), lambda: D.Binomial(t([1.5]), t([0.5])),
                lambda: D.MultivariateNormal(t(0.), lib.eye(1)), lambda: D.MultivariateNormal(t([0.])),
                lambda: D.MultivariateNormal(t([0., 0.]), t([[1., 2.], [2., 1.]])),
                lambda: D.MultivariateNormal(t([0.]), scale_tril=t([1.])),
                lambda: D.Independent(D.Normal(t([0.]), 1.), 2),
                lambda: D.TransformedDistribution(D.Normal(0., 1.), "exp"),
                lambda: D.Normal(0., 1.).enumerate_support(), lambda: D.Gamma(1., 1.).icdf(t(0.5)),
                lambda: D.Beta(1., 1.).cdf(t(0.5)),
                lambda: D.Normal(0., 1.).mode.item() + D.Uniform(0., 1.).mode.item()]
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


def test_validate_args_off_and_default_switch():
    D = flambeau.distributions
    assert D.Normal(0., -1., validate_args=False).scale.item() == -1.
    D.Distribution.set_default_validate_args(False)
    try:
        assert D.Normal(0., -1.).log_prob(flambeau.tensor(0.)).isnan().item()
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(0., -1.)
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args("yes")


# -- samples ------------------------------------------------------------------------------------
def _moment_cases(lib, t):
    D = lib.distributions
    return {
        "normal": D.Normal(t([0., 2.]), t([1., 0.5])), "laplace": D.Laplace(t([1.]), t([2.])),
        "exponential": D.Exponential(t([0.5, 3.])), "uniform": D.Uniform(t([-1.]), t([3.])),
        "gamma": D.Gamma(t([0.3, 2.5, 12.]), t([1., 2., 0.5])), "beta": D.Beta(t([0.5, 3.]), t([2., 0.7])),
        "dirichlet": D.Dirichlet(t([0.4, 1., 3.])), "bernoulli": D.Bernoulli(t([0.2, 0.9])),
        "categorical": D.Categorical(t([0.1, 0.6, 0.3])), "one_hot": D.OneHotCategorical(t([0.1, 0.6, 0.3])),
        "poisson": D.Poisson(t([0.7, 6.])), "binomial": D.Binomial(t([5., 20.]), t([0.3, 0.8])),
        "geometric": D.Geometric(t([0.3, 0.8])), "lognormal": D.LogNormal(t([0.]), t([0.4])),
        "mvn": D.MultivariateNormal(t([1., -1.]), t([[2., 0.6], [0.6, 1.]])),
    }


@pytest.mark.parametrize("name", ["normal", "laplace", "exponential", "uniform", "gamma", "beta", "dirichlet",
                                  "bernoulli", "categorical", "one_hot", "poisson", "binomial", "geometric",
                                  "lognormal", "mvn"])
def test_sample_moments(name, device):
    flambeau.manual_seed(7)
    d = _moment_cases(flambeau, lambda v: flambeau.tensor(v, dtype=flambeau.float64, device=device))[name]
    n = 20000
    s = d.sample((n,))
    assert s.device.type == flambeau.device(device).type
    assert tuple(s.shape) == (n,) + tuple(d.batch_shape) + tuple(d.event_shape)
    assert bool(d.support.check(s).all())
    x = to_numpy(s).astype(np.float64)
    if name == "categorical":
        np.testing.assert_allclose(np.bincount(x.astype(int), minlength=3) / n, [0.1, 0.6, 0.3], atol=0.015)
        return
    mean, var = to_numpy(d.mean), to_numpy(d.variance)
    sd = np.sqrt(var)
    np.testing.assert_allclose(x.mean(0), mean, atol=5 * np.max(sd) / math.sqrt(n) + 1e-3)
    np.testing.assert_allclose(x.var(0), var, rtol=0.08, atol=1e-3)
    if name == "mvn":
        np.testing.assert_allclose(np.cov(x.T), [[2., 0.6], [0.6, 1.]], atol=0.08)


def test_sample_distribution_by_ks_statistic():
    # the whole distribution, not only two moments: the largest gap between the empirical cdf and torch's
    D = flambeau.distributions
    flambeau.manual_seed(3)
    for ours, ref in ((D.Gamma(0.4, 1.5), torch.distributions.Gamma(0.4, 1.5)),
                      (D.Beta(0.6, 2.0), torch.distributions.Beta(0.6, 2.0)),
                      (D.Laplace(1.0, 2.0), torch.distributions.Laplace(1.0, 2.0)),
                      (D.LogNormal(0.2, 0.7), torch.distributions.LogNormal(0.2, 0.7))):
        s = np.sort(to_numpy(ours.sample((5000,))).astype(np.float64))
        if isinstance(ref, torch.distributions.Beta):
            import scipy.stats
            cdf = scipy.stats.beta(0.6, 2.0).cdf(s)
        else:
            cdf = ref.cdf(torch.tensor(s, dtype=torch.float32)).double().numpy()
        gap = np.max(np.abs(cdf - np.arange(1, len(s) + 1) / len(s)))
        assert gap < 0.03, (type(ours).__name__, gap)


def test_samples_are_reproducible_with_manual_seed(device):
    D = flambeau.distributions
    t = lambda v: flambeau.tensor(v, device=device)   # noqa: E731
    ds = [D.Normal(t([0., 1.]), 1.), D.Gamma(t([0.5, 3.]), 1.), D.Dirichlet(t([1., 2.])), D.Poisson(t([4.])),
          D.Binomial(t([10.]), t([0.4])), D.Categorical(t([0.3, 0.7])), D.Bernoulli(t([0.4]))]
    flambeau.manual_seed(11)
    first = [to_numpy(d.sample((5,))) for d in ds]
    flambeau.manual_seed(11)
    second = [to_numpy(d.sample((5,))) for d in ds]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(to_numpy(ds[0].sample((5,))), first[0])


def test_sample_dtypes_and_no_grad():
    D = flambeau.distributions
    loc = flambeau.zeros(2, dtype=flambeau.float64, requires_grad=True)
    assert D.Normal(loc, 1.).sample().requires_grad is False
    assert D.Normal(loc, 1.).rsample().requires_grad is True
    assert D.Normal(loc, 1.).sample().dtype is flambeau.float64
    assert D.Gamma(flambeau.ones(2), 1.).sample().dtype is flambeau.float32
    assert D.Categorical(flambeau.tensor([0.5, 0.5])).sample((3,)).dtype is flambeau.int64
    assert D.Poisson(flambeau.tensor([1.])).sample().dtype is flambeau.float32
    assert D.Binomial(3, flambeau.tensor([0.5])).sample().dtype is flambeau.float32


# -- reparameterized gradients ------------------------------------------------------------------
def test_standard_gamma_grad_matches_torch():
    from flambeau.distributions.gamma import _standard_gamma_grad
    # a grid over the three regimes: small x, large alpha (near and far from the mode), and the rest
    alpha = np.array([0.05, 0.3, 1.0, 2.5, 7.9, 9.0, 20.0, 50.0, 100.0])
    ratio = np.array([0.01, 0.3, 0.7, 0.95, 1.0, 1.05, 1.5, 3.0])
    a, r = np.meshgrid(alpha, ratio)
    x = np.maximum(a * r, 1e-3)
    x[0, :] = 0.5                       # x < 0.8 for every alpha
    for dt in (np.float64, np.float32):
        ours = _standard_gamma_grad(flambeau.tensor(a.astype(dt)), flambeau.tensor(x.astype(dt)))
        ref = torch._standard_gamma_grad(torch.tensor(a.astype(dt)), torch.tensor(x.astype(dt)))
        single = dt is np.float32
        assert_same(ours, ref, rtol=1e-5 if single else 1e-9, atol=1e-7 if single else 1e-12)


def test_gamma_rsample_gradient(device):
    D = flambeau.distributions
    flambeau.manual_seed(5)
    conc = flambeau.tensor([0.7, 2.0, 15.0], dtype=flambeau.float64, device=device, requires_grad=True)
    rate = flambeau.tensor([1.0, 2.0, 0.5], dtype=flambeau.float64, device=device, requires_grad=True)
    x = D.Gamma(conc, rate).rsample((4,))
    cot = flambeau.tensor(np.random.default_rng(0).standard_normal((4, 3)), device=device)
    (x * cot).sum().backward()
    # the same samples through torch's formula: x = standard_gamma(conc) / rate
    xs, c = to_numpy(x), to_numpy(cot)
    a, r = np.array([0.7, 2.0, 15.0]), np.array([1.0, 2.0, 0.5])
    std = torch.tensor(xs * r)
    dconc = (torch._standard_gamma_grad(torch.tensor(a).expand(4, 3), std).numpy() / r * c).sum(0)
    np.testing.assert_allclose(to_numpy(conc.grad), dconc, rtol=1e-8)
    np.testing.assert_allclose(to_numpy(rate.grad), (-xs / r * c).sum(0), rtol=1e-8)


def test_rsample_gradients_are_unbiased():
    # d/dtheta E[x] by the reparameterized samples equals the derivative of the closed-form mean
    D = flambeau.distributions
    flambeau.manual_seed(9)
    n = 40000
    conc = flambeau.tensor([0.5, 3.0], dtype=flambeau.float64, requires_grad=True)
    D.Gamma(conc, 2.0).rsample((n,)).mean(0).sum().backward()
    np.testing.assert_allclose(to_numpy(conc.grad), [0.5, 0.5], rtol=0.05)

    a = flambeau.tensor([1.5, 0.8], dtype=flambeau.float64, requires_grad=True)
    b = flambeau.tensor([2.0, 0.6], dtype=flambeau.float64, requires_grad=True)
    D.Beta(a, b).rsample((n,)).mean(0).sum().backward()
    ta, tb = np.array([1.5, 0.8]), np.array([2.0, 0.6])
    np.testing.assert_allclose(to_numpy(a.grad), tb / (ta + tb) ** 2, rtol=0.06)
    np.testing.assert_allclose(to_numpy(b.grad), -ta / (ta + tb) ** 2, rtol=0.06)

    alpha = flambeau.tensor([1.0, 2.0, 0.5], dtype=flambeau.float64, requires_grad=True)
    (D.Dirichlet(alpha).rsample((n,))[:, 0]).mean().backward()
    s = 3.5
    np.testing.assert_allclose(to_numpy(alpha.grad), [(s - 1.0) / s ** 2, -1.0 / s ** 2, -1.0 / s ** 2],
                               rtol=0.06, atol=0.004)


def test_rsample_gradient_of_location_scale_families(device):
    D = flambeau.distributions
    flambeau.manual_seed(1)
    for make in (lambda l, s: D.Normal(l, s), lambda l, s: D.Laplace(l, s), lambda l, s: D.LogNormal(l, s),
                 lambda l, s: D.Uniform(l, l + s), lambda l, s: D.Independent(D.Normal(l, s), 1)):
        loc = flambeau.tensor([0.5, -1.0], dtype=flambeau.float64, device=device, requires_grad=True)
        scale = flambeau.tensor([1.0, 2.0], dtype=flambeau.float64, device=device, requires_grad=True)
        d = make(loc, scale)
        x = d.rsample((3,))
        x.sum().backward()
        assert loc.grad is not None and scale.grad is not None and loc.grad.device.type == x.device.type
    # Normal: x = loc + eps * scale, so the gradient of scale is the sum of eps
    loc = flambeau.zeros(2, dtype=flambeau.float64, device=device, requires_grad=True)
    scale = flambeau.full((2,), 2.0, dtype=flambeau.float64, device=device, requires_grad=True)
    x = D.Normal(loc, scale).rsample((4,))
    x.sum().backward()
    np.testing.assert_allclose(to_numpy(scale.grad), to_numpy(x).sum(0) / 2.0)
    np.testing.assert_allclose(to_numpy(loc.grad), [4.0, 4.0])

    probs = flambeau.tensor([0.2, 0.8], dtype=flambeau.float64, device=device, requires_grad=True)
    st = D.OneHotCategoricalStraightThrough(probs)
    (st.rsample() * flambeau.tensor([1.0, 3.0], dtype=flambeau.float64, device=device)).sum().backward()
    # the straight-through gradient is that of probs, which Categorical normalizes: c - <c, probs>
    np.testing.assert_allclose(to_numpy(probs.grad), [1.0 - 2.6, 3.0 - 2.6])


def test_exponential_family_entropy_by_bregman():
    # the generic ExponentialFamily entropy (through autograd) agrees with the closed forms
    D = flambeau.distributions
    for d in (D.Normal(flambeau.tensor([0.3, 1.]), flambeau.tensor([0.5, 2.])),
              D.Gamma(flambeau.tensor([0.5, 3.]), flambeau.tensor([2., 1.])),
              D.Exponential(flambeau.tensor([0.5, 3.]))):
        generic = D.ExponentialFamily.entropy(d)
        np.testing.assert_allclose(to_numpy(generic), to_numpy(d.entropy()), rtol=1e-5)


@pytest.mark.parametrize("make", [lambda D, t: D.Gamma(3., 1.), lambda D, t: D.Chi2(3.), lambda D, t: D.Beta(2., 3.),
                                  lambda D, t: D.Poisson(3.), lambda D, t: D.Dirichlet(t([1., 2.])),
                                  lambda D, t: D.Binomial(5, t(0.3)), lambda D, t: D.Gamma(t(2.).double(), 1.)])
def test_draws_of_zero_dim_parameters(make, device):
    # NumPy's samplers give a bare number for 0-d parameters: the draw is still a tensor of the batch shape
    t = lambda v, **kw: flambeau.tensor(v, device=device, **kw)   # noqa: E731
    d = make(flambeau.distributions, t)
    ref = make(torch.distributions, torch.tensor)
    for shape in ((), (3,)):
        s = d.sample(shape)
        assert s.shape == ref.sample(shape).shape and str(s.dtype) == str(ref.sample(shape).dtype)
    assert flambeau.poisson(t(3.)).shape == () and flambeau.poisson(t(3., dtype=flambeau.float64)).dtype == flambeau.float64
