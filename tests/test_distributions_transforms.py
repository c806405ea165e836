"""flambeau.distributions' transforms, constraint registry (biject_to, transform_to) and the relaxed and
matrix families (LogisticNormal, RelaxedBernoulli, LogitRelaxedBernoulli, RelaxedOneHotCategorical,
ExpRelaxedCategorical, LKJCholesky, Wishart) against torch.distributions: values, gradients, log-det-Jacobians
(also against numerically computed Jacobians), shapes, equality, caching, errors, and loose statistical
checks of the samples."""
import math
import warnings

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, check_against_torch, gradcheck, need_torch, to_numpy

torch = need_torch()


def _pos(lib, t):
    return lib.nn.functional.softplus(t) + 0.1


# -- transforms: values and gradients against torch ------------------------------------------------
# name -> (make(lib, *params) -> transform, x shape, param shapes); x is standard normal (every transform
# here has an unconstrained domain), params are mapped into range by differentiable ops
TRANSFORMS = {
    "softplus": (lambda lib: lib.distributions.SoftplusTransform(), (3, 4), []),
    "softmax": (lambda lib: lib.distributions.SoftmaxTransform(), (3, 4), []),
    "stick_breaking": (lambda lib: lib.distributions.StickBreakingTransform(), (3, 4), []),
    "stick_breaking_1": (lambda lib: lib.distributions.StickBreakingTransform(), (2, 1), []),
    "lower_cholesky": (lambda lib: lib.distributions.LowerCholeskyTransform(), (2, 3, 3), []),
    "positive_definite": (lambda lib: lib.distributions.PositiveDefiniteTransform(), (2, 3, 3), []),
    "corr_cholesky_2": (lambda lib: lib.distributions.CorrCholeskyTransform(), (3, 1), []),
    "corr_cholesky_4": (lambda lib: lib.distributions.CorrCholeskyTransform(), (2, 6), []),
    "corr_cholesky_5": (lambda lib: lib.distributions.CorrCholeskyTransform(), (10,), []),
    "independent_affine": (lambda lib, a, b: lib.distributions.IndependentTransform(
        lib.distributions.AffineTransform(a, _pos(lib, b)), 1), (3, 4), [(4,), (4,)]),
    "independent_stick": (lambda lib: lib.distributions.IndependentTransform(
        lib.distributions.StickBreakingTransform(), 1), (2, 3, 4), []),
    "reshape": (lambda lib: lib.distributions.ReshapeTransform((6,), (2, 3)), (4, 6), []),
    "cat_scalar": (lambda lib, a: lib.distributions.CatTransform(
        [lib.distributions.ExpTransform(), lib.distributions.SoftplusTransform(),
         lib.distributions.AffineTransform(a, 2.0)], dim=-1, lengths=[1, 2, 3]), (2, 6), [(3,)]),
    "cat_event_sum": (lambda lib: lib.distributions.CatTransform(
        [lib.distributions.IndependentTransform(lib.distributions.ExpTransform(), 1),
         lib.distributions.IndependentTransform(lib.distributions.SigmoidTransform(), 1)],
        dim=-1, lengths=[1, 3]), (3, 4), []),
    "cat_event_join": (lambda lib: lib.distributions.CatTransform(
        [lib.distributions.IndependentTransform(lib.distributions.ExpTransform(), 1),
         lib.distributions.IndependentTransform(lib.distributions.SoftplusTransform(), 1)],
        dim=1, lengths=[1, 2]), (5, 3, 4), []),
    "stack": (lambda lib: lib.distributions.StackTransform(
        [lib.distributions.ExpTransform(), lib.distributions.SoftplusTransform(), lib.distributions.TanhTransform()],
        dim=1), (2, 3, 4), []),
    "cdf": (lambda lib, a, b: lib.distributions.CumulativeDistributionTransform(
        lib.distributions.Normal(a, _pos(lib, b))), (3, 4), [(4,), (4,)]),
    "compose_stick": (lambda lib, a: lib.distributions.ComposeTransform(
        [lib.distributions.AffineTransform(a, 0.5), lib.distributions.StickBreakingTransform()]), (2, 3), [(3,)]),
}
NO_JACOBIAN = {"softmax", "lower_cholesky", "positive_definite"}  # torch raises NotImplementedError there


def _transform_outputs(name):
    make, _, _ = TRANSFORMS[name]

    def fn(lib, x, *params):
        t = make(lib, *params)
        y = t(x)
        if name in NO_JACOBIAN:
            return y, t.inv(y)
        x_back = t.inv(y)
        ladj = t.log_abs_det_jacobian(x, y)
        return y, x_back, ladj, t.inv.log_abs_det_jacobian(y, x_back)
    return fn


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_values_and_gradients_match_torch(name):
    _, xshape, pshapes = TRANSFORMS[name]
    check_against_torch(_transform_outputs(name), xshape, *pshapes, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["stick_breaking", "corr_cholesky_4", "positive_definite", "cat_event_join",
                                  "stack", "cdf"])
def test_transform_values_on_device(name, device):
    _, xshape, pshapes = TRANSFORMS[name]
    check_against_torch(_transform_outputs(name), xshape, *pshapes, device=device, rtol=1e-6, atol=1e-9)


def test_transforms_keep_float32():
    for name in ("softplus", "stick_breaking", "corr_cholesky_4", "cat_scalar"):
        _, xshape, pshapes = TRANSFORMS[name]
        check_against_torch(_transform_outputs(name), xshape, *pshapes, dtype="float32", rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["softplus", "stick_breaking", "corr_cholesky_4", "cat_event_join", "stack",
                                  "independent_affine"])
def test_transform_gradcheck(name):
    make, xshape, pshapes = TRANSFORMS[name]

    def fn(lib, x, *params):
        t = make(lib, *params)
        y = t(x)
        return y.sum() + t.inv(y).sum() + t.log_abs_det_jacobian(x, y).sum()
    gradcheck(fn, xshape, *pshapes)


def test_softplus_is_linear_above_threshold_and_inverts_large_values():
    x = np.array([-30.0, -5.0, 0.0, 19.0, 21.0, 60.0])
    for dtype in ("float64", "float32"):
        ours, ref = flambeau.distributions.SoftplusTransform(), torch.distributions.SoftplusTransform()
        xf, xt = flambeau.tensor(x.astype(dtype)), torch.tensor(x.astype(dtype))
        assert_same(ours(xf), ref(xt), rtol=1e-6)
        assert_same(ours.log_abs_det_jacobian(xf, ours(xf)), ref.log_abs_det_jacobian(xt, ref(xt)), rtol=1e-6)
        y = np.array([1e-3, 0.5, 5.0, 30.0, 80.0]).astype(dtype)
        assert_same(ours.inv(flambeau.tensor(y)), ref.inv(torch.tensor(y)), rtol=1e-5)


# -- transforms: round trips, properties, shapes ---------------------------------------------------
def _make_both(name, seed=0):
    make, xshape, pshapes = TRANSFORMS[name]
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in [xshape] + pshapes]
    ours = [flambeau.tensor(a) for a in arrays]
    ref = [torch.tensor(a) for a in arrays]
    return make(flambeau, *ours[1:]), make(torch, *ref[1:]), ours[0], ref[0]


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_round_trip(name):
    t, _, x, _ = _make_both(name)
    y = t(x)
    if t.bijective:
        np.testing.assert_allclose(to_numpy(t.inv(y)), to_numpy(x), rtol=1e-7, atol=1e-9)
    else:
        # a right inverse only: inv picks one preimage, which maps back to y
        np.testing.assert_allclose(to_numpy(t(t.inv(y))), to_numpy(y), rtol=1e-7, atol=1e-9)
    assert bool(t.codomain.check(y).all())
    assert bool(t.domain.check(x).all())


def _properties(t, x):
    y = t(x)
    out = {"bijective": t.bijective, "domain": (t.domain.event_dim, repr(t.domain)),
           "codomain": (t.codomain.event_dim, repr(t.codomain)), "repr": repr(t),
           "forward_shape": tuple(t.forward_shape(x.shape)), "inverse_shape": tuple(t.inverse_shape(y.shape)),
           "inv_shapes": (tuple(t.inv.forward_shape(y.shape)), tuple(t.inv.inverse_shape(x.shape))),
           "domain_check": to_numpy(t.domain.check(x)).tolist(),
           "codomain_check": to_numpy(t.codomain.check(y)).tolist(),
           "y_shape": tuple(y.shape)}
    for key, read in (("event_dim", lambda: t.event_dim), ("sign", lambda: t.sign),
                      ("inv_sign", lambda: t.inv.sign)):
        try:
            value = read()
            out[key] = to_numpy(value).tolist() if hasattr(value, "shape") else value
        except (NotImplementedError, ValueError) as e:
            out[key] = type(e).__name__
    return out


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_properties_match_torch(name):
    ours, ref, x, xt = _make_both(name)
    mine, theirs = _properties(ours, x), _properties(ref, xt)
    assert mine == theirs


def test_transform_shape_errors_match_torch():
    def attempts(lib):
        D = lib.distributions
        return [lambda: D.StickBreakingTransform().forward_shape(()),
                lambda: D.StickBreakingTransform().inverse_shape(()),
                lambda: D.SoftmaxTransform().forward_shape(()),
                lambda: D.CorrCholeskyTransform().forward_shape((3, 4)),
                lambda: D.CorrCholeskyTransform().inverse_shape((3, 4)),
                lambda: D.CorrCholeskyTransform().inverse_shape((3,)),
                lambda: D.ReshapeTransform((2, 3), (7,)),
                lambda: D.ReshapeTransform((2, 3), (6,)).forward_shape((4, 3, 2)),
                lambda: D.ReshapeTransform((2, 3), (6,)).inverse_shape(()),
                lambda: D.IndependentTransform(D.ExpTransform(), 2)(lib.zeros(3)),
                lambda: D.CatTransform([D.ExpTransform()], dim=0, lengths=[2])(lib.zeros(3)),
                lambda: D.CatTransform([D.ExpTransform()], dim=2, lengths=[3])(lib.zeros(3)),
                lambda: D.CatTransform([D.ExpTransform()], lengths=[1, 2]),
                lambda: D.CatTransform(["exp"]),
                lambda: D.StackTransform([D.ExpTransform()], dim=0)(lib.zeros(3)),
                lambda: D.StackTransform([D.ExpTransform()]).inv(lib.zeros(2, 2)),
                lambda: D.SoftmaxTransform().log_abs_det_jacobian(lib.zeros(2), lib.zeros(2)),
                lambda: D.LowerCholeskyTransform().log_abs_det_jacobian(lib.zeros(2, 2), lib.zeros(2, 2)),
                lambda: D.CorrCholeskyTransform().sign,
                lambda: D.SoftplusTransform(cache_size=2)]
    errors = []
    for lib in (flambeau, torch):
        row = []
        for attempt in attempts(lib):
            try:
                attempt()
                row.append(None)
            except Exception as e:      # the type of each error (or its absence) is compared with torch
                row.append(type(e).__name__)
        errors.append(row)
    assert errors[0] == errors[1]
    assert None not in errors[0]


# -- log-det-Jacobians against numerically computed Jacobians ---------------------------------------
def _free_tril(lib, y):
    return lib.distributions.utils.tril_matrix_to_vec(y, diag=-1)


# name -> (make(lib), x shape, the free coordinates of y that the Jacobian is taken of)
JACOBIANS = {
    "softplus": (lambda lib: lib.distributions.SoftplusTransform(), (5,), lambda lib, y: y),
    "stick_breaking": (lambda lib: lib.distributions.StickBreakingTransform(), (2, 4), lambda lib, y: y[..., :-1]),
    "corr_cholesky_3": (lambda lib: lib.distributions.CorrCholeskyTransform(), (3,), _free_tril),
    "corr_cholesky_5": (lambda lib: lib.distributions.CorrCholeskyTransform(), (2, 10), _free_tril),
    "independent": (lambda lib: lib.distributions.IndependentTransform(
        lib.distributions.AffineTransform(lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64),
                                   lib.tensor([2.0, -0.3, 1.5], dtype=lib.float64)), 1),
        (2, 3), lambda lib, y: y),
    "reshape": (lambda lib: lib.distributions.ReshapeTransform((2, 3), (3, 2)), (2, 3), lambda lib, y: y),
    "cat": (lambda lib: lib.distributions.CatTransform(
        [lib.distributions.ExpTransform(), lib.distributions.SoftplusTransform(),
         lib.distributions.TanhTransform()], dim=-1, lengths=[2, 1, 2]), (2, 5), lambda lib, y: y),
    "cat_event": (lambda lib: lib.distributions.CatTransform(
        [lib.distributions.IndependentTransform(lib.distributions.ExpTransform(), 1),
         lib.distributions.IndependentTransform(lib.distributions.SigmoidTransform(), 1)],
        dim=0, lengths=[1, 2]), (3, 2), lambda lib, y: y),
    "stack": (lambda lib: lib.distributions.StackTransform(
        [lib.distributions.SoftplusTransform(), lib.distributions.SigmoidTransform()], dim=-1), (3, 2),
        lambda lib, y: y),
    "cdf": (lambda lib: lib.distributions.CumulativeDistributionTransform(
        lib.distributions.Normal(lib.tensor(0.5, dtype=lib.float64), 2.0)), (4,), lambda lib, y: y),
    "compose": (lambda lib: lib.distributions.ComposeTransform(
        [lib.distributions.AffineTransform(0.3, 1.7), lib.distributions.StickBreakingTransform()]), (3,),
        lambda lib, y: y[..., :-1]),
}


def _central_difference_jacobian(f, x, eps=1e-6):
    """d f / d x by central differences, x and f(x) flattened (NumPy in, NumPy out)."""
    cols = []
    for i in range(x.size):
        step = np.zeros_like(x)
        step.flat[i] = eps
        cols.append((f(x + step) - f(x - step)) / (2 * eps))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("name", sorted(JACOBIANS))
def test_log_abs_det_jacobian_against_numerical_jacobian(name):
    make, xshape, free = JACOBIANS[name]
    t = make(flambeau)
    x = np.random.default_rng(3).standard_normal(xshape)

    def f_flat(v):
        return free(flambeau, t(v.reshape(xshape))).reshape(-1)

    # every batch entry maps independently, so the full Jacobian is block diagonal and its log|det| is the
    # sum of the per-event log-det-Jacobians
    jac = flambeau.autograd.functional.jacobian(f_flat, flambeau.tensor(x.reshape(-1)))
    jac = to_numpy(jac)
    fd = _central_difference_jacobian(lambda v: to_numpy(f_flat(flambeau.tensor(v))), x.reshape(-1))
    np.testing.assert_allclose(jac, fd, atol=1e-6)
    sign, logdet = np.linalg.slogdet(jac)
    assert sign != 0
    xf = flambeau.tensor(x)
    ladj = t.log_abs_det_jacobian(xf, t(xf))
    np.testing.assert_allclose(to_numpy(ladj).sum(), logdet, rtol=1e-8, atol=1e-9)
    # and the inverse's is its negative
    np.testing.assert_allclose(to_numpy(t.inv.log_abs_det_jacobian(t(xf), xf)).sum(), -logdet, rtol=1e-8)


def test_log_abs_det_jacobian_batch_shapes_match_torch():
    for name in sorted(JACOBIANS):
        make, xshape, _ = JACOBIANS[name]
        x = np.random.default_rng(0).standard_normal(xshape)
        ours, ref = make(flambeau), make(torch)
        xf, xt = flambeau.tensor(x), torch.tensor(x)
        assert_same(ours.log_abs_det_jacobian(xf, ours(xf)), ref.log_abs_det_jacobian(xt, ref(xt)), rtol=1e-8)


def test_transformed_distributions_with_new_transforms_match_torch():
    def fn(lib, loc, s, x, z):
        D = lib.distributions
        scale = _pos(lib, s)
        reshaped = D.TransformedDistribution(D.Normal(loc, scale), [D.ReshapeTransform((6,), (2, 3))])
        corr = D.TransformedDistribution(D.Normal(loc, scale), [D.CorrCholeskyTransform()])
        tril = D.LowerCholeskyTransform()(s[:4].reshape(2, 2))
        mvn = D.MultivariateNormal(lib.zeros(2, dtype=loc.dtype), scale_tril=tril)
        copula = D.TransformedDistribution(mvn, [D.CumulativeDistributionTransform(D.Normal(0.0, 1.0))])
        simplex = D.TransformedDistribution(D.Normal(loc[:3], scale[:3]), [D.SoftplusTransform().inv,
                                                                          D.StickBreakingTransform()])
        return (reshaped.log_prob(x), corr.log_prob(D.CorrCholeskyTransform()(x.reshape(4, 6))),
                copula.log_prob(lib.sigmoid(z)), simplex.log_prob(lib.softmax(x.reshape(-1, 4) * 0.3, -1)))
    check_against_torch(fn, (6,), (6,), (4, 2, 3), (5, 2))

    def shapes(lib):
        D = lib.distributions
        ds = [D.TransformedDistribution(D.Normal(lib.zeros(4, 6), 1.0), [D.ReshapeTransform((6,), (2, 3))]),
              D.TransformedDistribution(D.Normal(lib.zeros(6), 1.0), [D.CorrCholeskyTransform()]),
              D.TransformedDistribution(D.Normal(lib.zeros(3), 1.0), [D.StickBreakingTransform()]),
              D.TransformedDistribution(D.Normal(lib.zeros(2, 3), 1.0), [D.IndependentTransform(D.ExpTransform(), 2)])]
        return [(tuple(d.batch_shape), tuple(d.event_shape), tuple(d.sample((2,)).shape),
                 tuple(d.expand((5,) + tuple(d.batch_shape)).sample().shape), repr(d.support)) for d in ds]
    assert shapes(flambeau) == shapes(torch)


# -- equality and caching --------------------------------------------------------------------------
def _equalities(lib):
    D = lib.distributions
    a, b = lib.tensor([1.0, 2.0]), lib.tensor([3.0])
    ts = [D.SoftplusTransform(), D.SoftplusTransform(), D.SoftmaxTransform(), D.SoftmaxTransform(),
          D.StickBreakingTransform(), D.StickBreakingTransform(), D.LowerCholeskyTransform(),
          D.LowerCholeskyTransform(), D.PositiveDefiniteTransform(), D.PositiveDefiniteTransform(),
          D.CorrCholeskyTransform(), D.CorrCholeskyTransform(), D.IndependentTransform(D.ExpTransform(), 1),
          D.ReshapeTransform((2,), (2, 1)), D.CatTransform([D.ExpTransform()]), D.StackTransform([D.ExpTransform()]),
          D.CumulativeDistributionTransform(D.Normal(0.0, 1.0)), D.ExpTransform(), D.SigmoidTransform(),
          D.AffineTransform(a, b), D.AffineTransform(a, b), D.SoftplusTransform().inv, D.SoftplusTransform().inv,
          D.StickBreakingTransform().inv, D.SoftplusTransform(cache_size=1),
          D.ComposeTransform([D.SoftplusTransform(), D.StickBreakingTransform()]),
          D.ComposeTransform([D.SoftplusTransform(), D.StickBreakingTransform()])]
    return [[bool(s == t) for t in ts] for s in ts] + [[bool(s != t) for t in ts] for s in ts]


def test_equality_matches_torch():
    assert _equalities(flambeau) == _equalities(torch)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_cache(name):
    t, _, x, _ = _make_both(name)
    cached = t.with_cache(1)
    assert cached.with_cache(1) is cached
    assert t.with_cache(0) is t
    assert type(cached) is type(t)
    y = cached(x)
    assert cached(x) is y                        # the same input gives back the stored output
    assert cached.inv(y) is x                    # and inverting that output gives back the input
    np.testing.assert_allclose(to_numpy(y), to_numpy(t(x)))
    x2 = x + 0.25
    y2 = cached(x2)
    assert y2 is not y and cached(x2) is y2
    assert t(x) is not t(x)                      # no cache by default


def test_cache_reaches_parts_and_inverse():
    D = flambeau.distributions
    x = flambeau.randn(2, 3, dtype=flambeau.float64)
    for t in (D.CatTransform([D.ExpTransform(), D.SoftplusTransform()], dim=-1, lengths=[1, 2], cache_size=1),
              D.StackTransform([D.ExpTransform(), D.SoftplusTransform()], dim=0, cache_size=1),
              D.IndependentTransform(D.StickBreakingTransform(), 1, cache_size=1)):
        parts = getattr(t, "transforms", None) or [t.base_transform]
        assert all(p._cache_size == 1 for p in parts)
        y = t(x)
        assert t.inv(y) is x
    t = D.StickBreakingTransform(cache_size=1)
    y = flambeau.softmax(x, -1)
    x_back = t.inv(y)
    assert t(x_back) is y                    # the cache works from the inverse side too
    assert D.IndependentTransform(D.ExpTransform(), 1).with_cache().base_transform._cache_size == 1
    with pytest.raises(ValueError):
        D.StickBreakingTransform(cache_size=3)


# -- the constraint registry -----------------------------------------------------------------------
def _registry_cases(lib):
    C = lib.distributions.constraints
    # constraint, unconstrained input shape, registries that answer for it (b: biject_to, t: transform_to)
    return [(C.real, (5, 3), "bt"), (C.real_vector, (5, 3), "bt"), (C.positive, (5, 3), "bt"),
            (C.nonnegative, (5, 3), "bt"), (C.greater_than(2.0), (5, 3), "bt"),
            (C.greater_than_eq(-1.0), (5, 3), "bt"), (C.less_than(3.0), (5, 3), "bt"),
            (C.interval(-1.0, 2.0), (5, 3), "bt"), (C.unit_interval, (5, 3), "bt"),
            (C.half_open_interval(0.0, 5.0), (5, 3), "bt"), (C.interval(lib.tensor(-1.0), lib.tensor(1.0)), (5,), "bt"),
            (C.simplex, (5, 3), "bt"), (C.corr_cholesky, (5, 6), "bt"), (C.lower_cholesky, (5, 3, 3), "t"),
            (C.positive_definite, (5, 3, 3), "t"), (C.positive_semidefinite, (5, 3, 3), "t"),
            (C.independent(C.positive, 1), (5, 3), "bt"), (C.independent(C.interval(0.0, 2.0), 2), (5, 3), "bt"),
            (C.independent(C.simplex, 1), (5, 2, 3), "bt"),
            (C.cat([C.positive, C.real, C.interval(0.0, 1.0)], dim=-1, lengths=[2, 1, 3]), (5, 6), "bt"),
            (C.stack([C.positive, C.real, C.less_than(0.0)], dim=-1), (5, 3), "bt"),
            (C.stack([C.positive, C.unit_interval], dim=0), (2, 4), "bt"),
            (C.boolean, (5,), ""), (C.lower_triangular, (5, 3, 3), ""), (C.square, (5, 3, 3), ""),
            (C.symmetric, (5, 3, 3), ""), (C.one_hot, (5, 3), ""), (C.nonnegative_integer, (5,), ""),
            (C.integer_interval(0, 3), (5,), ""), (C.multinomial(3), (5, 3), "")]


@pytest.mark.parametrize("index", range(len(_registry_cases(flambeau))))
def test_registry_matches_torch_and_satisfies_constraint(index):
    D = flambeau.distributions
    c, shape, answers = _registry_cases(flambeau)[index]
    c_ref = _registry_cases(torch)[index][0]
    for registry, registry_ref, key in ((D.biject_to, torch.distributions.biject_to, "b"),
                                        (D.transform_to, torch.distributions.transform_to, "t")):
        if key not in answers:
            with pytest.raises(NotImplementedError):
                registry(c)
            with pytest.raises(NotImplementedError):
                registry_ref(c_ref)
            continue
        t, t_ref = registry(c), registry_ref(c_ref)
        assert repr(t) == repr(t_ref)
        assert t.bijective == t_ref.bijective
        for seed in range(3):
            x = np.random.default_rng(seed).standard_normal(shape) * 3
            xf, xt = flambeau.tensor(x), torch.tensor(x)
            y = t(xf)
            assert_same(y, t_ref(xt), rtol=1e-7, atol=1e-10)
            assert bool(c.check(y).all()), (c, to_numpy(y))
            if key == "b":
                np.testing.assert_allclose(to_numpy(t.inv(y)), x, rtol=1e-5, atol=1e-6)
                assert_same(t.log_abs_det_jacobian(xf, y), t_ref.log_abs_det_jacobian(xt, t_ref(xt)), rtol=1e-7)


def test_registry_on_device(device):
    C, D = flambeau.distributions.constraints, flambeau.distributions
    x = flambeau.randn(4, 6, dtype=flambeau.float64, device=device)
    for c in (C.simplex, C.corr_cholesky, C.positive, C.interval(-2.0, 1.0)):
        for registry in (D.biject_to, D.transform_to):
            y = registry(c)(x)
            assert y.device.type == flambeau.device(device).type
            assert bool(c.check(y).all())


def test_registry_register_and_errors():
    C, D = flambeau.distributions.constraints, flambeau.distributions
    registry = D.constraint_registry.ConstraintRegistry()
    with pytest.raises(NotImplementedError, match="Cannot transform _Real constraints"):
        registry(C.real)

    class _Odd(C.Constraint):
        def check(self, value):
            return value % 2 == 1

    @registry.register(_Odd)
    def _odd_factory(constraint):
        return D.AffineTransform(1.0, 2.0)
    assert isinstance(registry(_Odd()), D.AffineTransform)
    registry.register(C.positive, lambda c: D.SoftplusTransform())   # an instance stands for its class
    assert isinstance(registry(C.greater_than(0.5)), D.SoftplusTransform)
    with pytest.raises(TypeError):
        registry.register(int, lambda c: None)
    with pytest.raises(TypeError):
        torch.distributions.constraint_registry.ConstraintRegistry().register(int, lambda c: None)
    # the shared registries are untouched, and answer by class
    assert D.biject_to(C.greater_than(0.5)).parts[1].loc == 0.5
    assert D.transform_to(C.simplex) == D.SoftmaxTransform() and D.biject_to(C.simplex) == D.StickBreakingTransform()
    assert D.biject_to is D.constraint_registry.biject_to


# -- the families: values and gradients against torch ---------------------------------------------
def _logistic_normal(lib, loc, s, x):
    d = lib.distributions.LogisticNormal(loc, _pos(lib, s))
    return d.log_prob(lib.softmax(x, -1)), d.loc, d.scale


def _logistic_normal_scalar(lib, loc, s, x):
    d = lib.distributions.LogisticNormal(loc[0], _pos(lib, s[0]))
    return (d.log_prob(lib.softmax(x, -1)),)


def _relaxed_bernoulli(lib, t, p, x):
    d = lib.distributions.RelaxedBernoulli(_pos(lib, t), probs=lib.sigmoid(p))
    return d.log_prob(lib.sigmoid(x)), d.logits, d.probs, d.temperature


def _relaxed_bernoulli_logits(lib, t, p, x):
    d = lib.distributions.RelaxedBernoulli(_pos(lib, t), logits=p)
    return d.log_prob(lib.sigmoid(x)), d.probs


def _logit_relaxed_bernoulli(lib, t, p, x):
    d = lib.distributions.relaxed_bernoulli.LogitRelaxedBernoulli(_pos(lib, t), logits=p)
    return d.log_prob(x), d.probs, d.logits


def _exp_relaxed(lib, t, p, x):
    d = lib.distributions.relaxed_categorical.ExpRelaxedCategorical(_pos(lib, t), logits=p)
    return d.log_prob(lib.log_softmax(x, -1)), d.probs, d.logits


def _relaxed_one_hot(lib, t, p, x):
    d = lib.distributions.RelaxedOneHotCategorical(_pos(lib, t), probs=lib.softmax(p, -1))
    return d.log_prob(lib.softmax(x, -1)), d.probs, d.logits, d.temperature


def _lkj(dim):
    def fn(lib, c, x):
        d = lib.distributions.LKJCholesky(dim, _pos(lib, c) * 2)
        return (d.log_prob(lib.distributions.CorrCholeskyTransform()(x)),)
    return fn


def _spd(lib, a):
    return a @ a.mT + lib.eye(a.shape[-1], dtype=a.dtype)


def _wishart(param):
    def fn(lib, df, a, x):
        p = a.shape[-1]
        kwargs = {param: lib.linalg.cholesky(_spd(lib, a)) if param == "scale_tril" else _spd(lib, a)}
        d = lib.distributions.Wishart(_pos(lib, df) + p + 1, **kwargs)
        value = _spd(lib, x)
        return (d.log_prob(value), d.entropy(), d.mean, d.mode, d.variance, d.covariance_matrix,
                d.precision_matrix, d.scale_tril)
    return fn


FAMILIES = {
    "logistic_normal": (_logistic_normal, [(3,), (3,), (2, 4)]),
    "logistic_normal_scalar": (_logistic_normal_scalar, [(1,), (1,), (3, 2)]),
    "relaxed_bernoulli": (_relaxed_bernoulli, [(), (4,), (2, 4)]),
    "relaxed_bernoulli_logits": (_relaxed_bernoulli_logits, [(4,), (4,), (3, 4)]),
    "logit_relaxed_bernoulli": (_logit_relaxed_bernoulli, [(2, 1), (2, 3), (2, 3)]),
    "exp_relaxed_categorical": (_exp_relaxed, [(), (2, 4), (3, 2, 4)]),
    "relaxed_one_hot_categorical": (_relaxed_one_hot, [(), (2, 4), (3, 2, 4)]),
    "lkj_2": (_lkj(2), [(3,), (3, 1)]),
    "lkj_3": (_lkj(3), [(2,), (4, 2, 3)]),
    "lkj_5": (_lkj(5), [(), (2, 10)]),
    "wishart_covariance": (_wishart("covariance_matrix"), [(2,), (2, 3, 3), (4, 2, 3, 3)]),
    "wishart_precision": (_wishart("precision_matrix"), [(), (3, 3), (2, 3, 3)]),
    "wishart_scale_tril": (_wishart("scale_tril"), [(2,), (1, 2, 2), (3, 2, 2, 2)]),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_values_and_gradients_match_torch(name):
    fn, shapes = FAMILIES[name]
    check_against_torch(fn, *shapes, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["logistic_normal", "relaxed_one_hot_categorical", "lkj_3", "wishart_covariance"])
def test_family_values_on_device(name, device):
    fn, shapes = FAMILIES[name]
    check_against_torch(fn, *shapes, device=device, rtol=1e-6, atol=1e-9)


def test_family_float32():
    for name in ("relaxed_bernoulli", "exp_relaxed_categorical", "lkj_3", "wishart_scale_tril"):
        fn, shapes = FAMILIES[name]
        check_against_torch(fn, *shapes, dtype="float32", rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["logistic_normal", "relaxed_bernoulli", "exp_relaxed_categorical", "lkj_3",
                                  "wishart_covariance"])
def test_family_gradcheck(name):
    fn, shapes = FAMILIES[name]
    gradcheck(lambda lib, *xs: fn(lib, *xs)[0], *shapes)


def test_kl_divergences_match_torch():
    def logistic_normal(lib, a, b, c, e):
        D = lib.distributions
        return D.kl_divergence(D.LogisticNormal(a, _pos(lib, b)), D.LogisticNormal(c, _pos(lib, e)))
    check_against_torch(logistic_normal, (2, 3), (2, 3), (2, 3), (2, 3))

    def wishart(lib, df1, a, df2, b):
        D = lib.distributions
        p = D.Wishart(_pos(lib, df1) + 3, covariance_matrix=_spd(lib, a))
        q = D.Wishart(_pos(lib, df2) + 3, scale_tril=lib.linalg.cholesky(_spd(lib, b)))
        return D.kl_divergence(p, q)
    check_against_torch(wishart, (2,), (2, 3, 3), (2,), (3, 3))


def test_wishart_entropy_by_bregman():
    # the generic ExponentialFamily entropy (autograd through the log normalizer) equals the closed form
    D = flambeau.distributions
    a = flambeau.tensor(np.random.default_rng(1).standard_normal((2, 3, 3)))
    d = D.Wishart(flambeau.tensor([3.5, 8.0], dtype=flambeau.float64), covariance_matrix=_spd(flambeau, a))
    np.testing.assert_allclose(to_numpy(D.ExponentialFamily.entropy(d)), to_numpy(d.entropy()), rtol=1e-9)


# -- shapes, expand, supports, errors ---------------------------------------------------------------
def _family_shapes(lib):
    D, t = lib.distributions, lib.tensor
    dists = [D.LogisticNormal(t([0.0, 1.0, 2.0]), 1.0), D.LogisticNormal(0.0, 1.0),
             D.LogisticNormal(lib.zeros(2, 3), lib.ones(3)),
             D.RelaxedBernoulli(t(0.5), probs=t([0.2, 0.7])), D.RelaxedBernoulli(t([0.5]), logits=0.3),
             D.relaxed_bernoulli.LogitRelaxedBernoulli(t(2.0), probs=t([[0.2], [0.9]])),
             D.relaxed_bernoulli.LogitRelaxedBernoulli(t(1.0), logits=0.5),
             D.RelaxedOneHotCategorical(t(0.5), probs=t([0.2, 0.3, 0.5])),
             D.RelaxedOneHotCategorical(t(1.5), logits=lib.zeros(2, 4)),
             D.relaxed_categorical.ExpRelaxedCategorical(t(2.0), logits=lib.zeros(3, 2)),
             D.LKJCholesky(3), D.LKJCholesky(2, t([0.5, 2.0])), D.LKJCholesky(4, t([[1.0], [3.0]])),
             D.Wishart(t(4.0), covariance_matrix=lib.eye(2)), D.Wishart(t([3.0, 5.0]), scale_tril=lib.eye(3)),
             D.Wishart(5, precision_matrix=lib.eye(2).expand(3, 2, 2))]
    rows = []
    for d in dists:
        e = d.expand((2,) + tuple(d.batch_shape))
        s = d.sample((2, 3))
        rows.append((type(d).__name__, tuple(d.batch_shape), tuple(d.event_shape), tuple(d.sample().shape),
                     tuple(s.shape), str(s.dtype), tuple(e.batch_shape), tuple(e.sample().shape),
                     tuple(e.log_prob(e.sample()).shape), tuple(d.log_prob(s).shape), d.has_rsample,
                     d.has_enumerate_support, repr(d.support), d.support.event_dim))
    return rows


def test_family_shapes_samples_and_expand_match_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # torch's Wishart warns on every sample (see test_wishart_warnings)
        assert _family_shapes(flambeau) == _family_shapes(torch)


def _family_errors(lib):
    D, t = lib.distributions, lib.tensor
    attempts = [lambda: D.LogisticNormal(0.0, -1.0), lambda: D.LogisticNormal(t([0.0]), 1.0).log_prob(t([0.3, 0.3])),
                lambda: D.RelaxedBernoulli(t(0.5)), lambda: D.RelaxedBernoulli(t(0.5), t([0.5]), t([0.0])),
                lambda: D.RelaxedBernoulli(t(0.5), probs=t([1.5])),
                lambda: D.RelaxedBernoulli(t(0.5), probs=t([0.5])).log_prob(t([1.5])),
                lambda: D.relaxed_bernoulli.LogitRelaxedBernoulli(t(0.5), probs=t([-0.5])),
                lambda: D.RelaxedOneHotCategorical(t(0.5), probs=t([-0.5, 1.5])),
                lambda: D.RelaxedOneHotCategorical(t(0.5)),
                lambda: D.RelaxedOneHotCategorical(t(0.5), probs=t([0.5, 0.5])).log_prob(t([0.2, 0.2])),
                lambda: D.relaxed_categorical.ExpRelaxedCategorical(t(0.5), logits=t(1.0)),
                lambda: D.LKJCholesky(1), lambda: D.LKJCholesky(3, -1.0), lambda: D.LKJCholesky(3, t([0.0])),
                lambda: D.LKJCholesky(2).log_prob(t([[1.0, 0.0], [0.5, 0.5]])),
                lambda: D.LKJCholesky(2).log_prob(t([[1.0, 0.0, 0.0]])),
                lambda: D.Wishart(t(1.5), covariance_matrix=lib.eye(3)),
                lambda: D.Wishart(t(4.0), covariance_matrix=lib.eye(3), scale_tril=lib.eye(3)),
                lambda: D.Wishart(t(4.0)), lambda: D.Wishart(t(4.0), covariance_matrix=t([1.0])),
                lambda: D.Wishart(t(4.0), covariance_matrix=t([[1.0, 2.0], [2.0, 1.0]])),
                lambda: D.Wishart(t(4.0), scale_tril=t([[1.0, 1.0], [0.0, 1.0]])),
                lambda: D.Wishart(t(4.0), covariance_matrix=lib.eye(2)).log_prob(t([[1.0, 2.0], [2.0, 1.0]])),
                lambda: D.LogisticNormal(0.0, 1.0).mean, lambda: D.LogisticNormal(0.0, 1.0).entropy(),
                lambda: D.LKJCholesky(3).mean, lambda: D.LKJCholesky(3).rsample(),
                lambda: D.LKJCholesky(3).entropy(), lambda: D.RelaxedBernoulli(t(0.5), probs=t([0.5])).mean,
                lambda: D.RelaxedOneHotCategorical(t(0.5), probs=t([0.5, 0.5])).entropy(),
                lambda: D.relaxed_bernoulli.LogitRelaxedBernoulli(t(0.5), logits=t([0.5])).cdf(t([0.0])),
                lambda: D.relaxed_categorical.ExpRelaxedCategorical(t(0.5), logits=t([0.5, 1.0])).enumerate_support()]
    out = []
    for attempt in attempts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                attempt()
            out.append(None)
        except Exception as e:          # the type of each error (or its absence) is compared with torch
            out.append(type(e).__name__)
    return out


def test_family_errors_match_torch():
    assert _family_errors(flambeau) == _family_errors(torch)


def test_validate_args_off():
    D, t = flambeau.distributions, flambeau.tensor
    d = D.RelaxedOneHotCategorical(t(0.5), probs=t([0.5, 0.5]), validate_args=False)
    assert bool(d.log_prob(t([0.2, 0.2])).isfinite())
    assert bool(D.LKJCholesky(2, validate_args=False).log_prob(t([[1.0, 0.0], [0.5, 0.5]])).isfinite())
    assert D.LogisticNormal(0.0, -1.0, validate_args=False).scale.item() == -1.0


def test_wishart_warnings():
    D = flambeau.distributions
    with pytest.warns(UserWarning, match="Low df"):
        D.Wishart(flambeau.tensor(2.5), covariance_matrix=flambeau.eye(3))
    # torch 2.13 warns "Singular sample detected." for every regular sample (it tests the support check the
    # wrong way round); flambeau warns only when a sample is singular
    f64 = flambeau.float64
    d = D.Wishart(flambeau.tensor([4.0, 9.0], dtype=f64), covariance_matrix=flambeau.eye(2, dtype=f64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d.rsample((5,))
    # df just above p - 1 gives numerically singular samples: those (and only those) are redrawn
    with pytest.warns(UserWarning, match="Low df"):
        d = D.Wishart(flambeau.tensor(2.0001), covariance_matrix=flambeau.eye(3))
    flambeau.manual_seed(0)
    with pytest.warns(UserWarning, match="Singular sample detected"):
        first = d.rsample((500,), max_try_correction=0)
    flambeau.manual_seed(0)
    with pytest.warns(UserWarning, match="Singular sample detected"):
        corrected = d.rsample((500,), max_try_correction=10)
    regular = d.support.check(first)
    assert 0 < int((~regular).sum()) and int((~d.support.check(corrected)).sum()) < int((~regular).sum())
    np.testing.assert_array_equal(to_numpy(corrected[regular]), to_numpy(first[regular]))


# -- samples ---------------------------------------------------------------------------------------
def _f64(device):
    return lambda v: flambeau.tensor(v, dtype=flambeau.float64, device=device)


def test_relaxed_bernoulli_samples(device):
    D, t = flambeau.distributions, _f64(device)
    flambeau.manual_seed(0)
    n, probs, temp = 20000, np.array([0.2, 0.5, 0.9]), 0.7
    d = D.RelaxedBernoulli(t(temp), probs=t(probs))
    s = d.sample((n,))
    assert s.device.type == flambeau.device(device).type and bool(d.support.check(s).all())
    # X > 1/2 exactly when the logistic noise exceeds -logits, which has probability probs
    np.testing.assert_allclose((to_numpy(s) > 0.5).mean(0), probs, atol=4 * 0.5 / math.sqrt(n))
    # temperature * logit(X) - logits is a standard logistic: compare its empirical cdf with sigmoid
    z = np.sort((temp * to_numpy(D.relaxed_bernoulli.LogitRelaxedBernoulli(t(temp), probs=t(probs)).sample((n,))) -
                 np.log(probs / (1 - probs))).ravel())
    cdf = 1 / (1 + np.exp(-z))
    assert np.max(np.abs(cdf - np.arange(1, z.size + 1) / z.size)) < 0.015


def test_relaxed_categorical_samples(device):
    D, t = flambeau.distributions, _f64(device)
    flambeau.manual_seed(1)
    n, probs = 20000, np.array([0.1, 0.6, 0.3])
    d = D.RelaxedOneHotCategorical(t(0.4), probs=t(probs))
    s = d.sample((n,))
    assert tuple(s.shape) == (n, 3) and bool(d.support.check(s).all())
    # Gumbel-max: the argmax of (logits + G) / t is categorical with probs, whatever the temperature
    np.testing.assert_allclose(np.bincount(to_numpy(s).argmax(-1), minlength=3) / n, probs, atol=0.015)
    e = D.relaxed_categorical.ExpRelaxedCategorical(t(2.0), probs=t(probs)).sample((n,))
    np.testing.assert_allclose(to_numpy(e.exp().sum(-1)), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.bincount(to_numpy(e).argmax(-1), minlength=3) / n, probs, atol=0.015)


def test_logistic_normal_samples(device):
    D, t = flambeau.distributions, _f64(device)
    flambeau.manual_seed(2)
    n, loc, scale = 20000, np.array([0.5, -1.0, 0.0]), np.array([1.0, 0.5, 2.0])
    d = D.LogisticNormal(t(loc), t(scale))
    s = d.sample((n,))
    assert tuple(s.shape) == (n, 4) and bool(d.support.check(s).all())
    base = to_numpy(D.StickBreakingTransform().inv(s))  # back to the Normal
    np.testing.assert_allclose(base.mean(0), loc, atol=5 * scale.max() / math.sqrt(n))
    np.testing.assert_allclose(base.std(0), scale, rtol=0.03)


@pytest.mark.parametrize("dim, eta", [(2, 0.5), (3, 1.0), (4, 2.5)])
def test_lkj_cholesky_samples(dim, eta):
    # every correlation of an LKJ(eta) matrix has the marginal Beta(b, b) on (-1, 1) with
    # b = eta - 1 + dim / 2: mean 0, variance 1 / (2 eta + dim - 1)
    # (torch 2.13's onion sampler draws row i >= 2 with the wrong Beta and misses this; see the report)
    D = flambeau.distributions
    flambeau.manual_seed(3)
    n = 20000
    d = D.LKJCholesky(dim, flambeau.tensor(eta, dtype=flambeau.float64))
    s = d.sample((n,))
    assert tuple(s.shape) == (n, dim, dim) and s.dtype is flambeau.float64
    assert bool(d.support.check(s).all())
    corr = to_numpy(s @ s.mT)
    i, j = np.tril_indices(dim, -1)
    r = corr[:, i, j]
    var = 1 / (2 * eta + dim - 1)
    np.testing.assert_allclose(r.mean(0), 0.0, atol=5 * math.sqrt(var / n))
    np.testing.assert_allclose(r.var(0), var, rtol=0.05)
    np.testing.assert_allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0, rtol=1e-12)


def test_wishart_samples(device):
    D, t = flambeau.distributions, _f64(device)
    flambeau.manual_seed(4)
    n = 20000
    cov = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])
    d = D.Wishart(t([3.5, 8.0]), covariance_matrix=t(cov))
    s = d.sample((n,))
    assert tuple(s.shape) == (n, 2, 3, 3) and s.device.type == flambeau.device(device).type
    assert bool(d.support.check(s).all()) and bool(d.log_prob(s[:10]).isfinite().all())
    x = to_numpy(s)
    mean, var = to_numpy(d.mean), to_numpy(d.variance)
    assert np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(var / n))
    np.testing.assert_allclose(x.var(0), var, rtol=0.1)


def test_rsample_gradients():
    D = flambeau.distributions
    flambeau.manual_seed(5)
    n = 20000
    # Wishart: E[X] = df L L^T, so d E[sum X] / d df = sum(L L^T), d E[sum X] / d L = 2 df 1 1^T L
    df = flambeau.tensor(4.0, dtype=flambeau.float64, requires_grad=True)
    tril = flambeau.tensor([[1.0, 0.0], [0.5, 0.8]], dtype=flambeau.float64, requires_grad=True)
    D.Wishart(df, scale_tril=tril).rsample((n,)).mean(0).sum().backward()
    sigma = to_numpy(tril @ tril.mT)
    np.testing.assert_allclose(to_numpy(df.grad), sigma.sum(), rtol=0.05)
    np.testing.assert_allclose(to_numpy(tril.grad), 2 * 4.0 * np.ones((2, 2)) @ to_numpy(tril), rtol=0.05)

    # LogitRelaxedBernoulli: X = (logit(U) + logits) / t, so dX/dlogits = 1 / t and dX/dt = -X / t
    temp = flambeau.tensor([0.5, 2.0], dtype=flambeau.float64, requires_grad=True)
    logits = flambeau.tensor([0.3, -1.0], dtype=flambeau.float64, requires_grad=True)
    x = D.relaxed_bernoulli.LogitRelaxedBernoulli(temp, logits=logits).rsample((3,))
    x.sum().backward()
    np.testing.assert_allclose(to_numpy(logits.grad), 3 / to_numpy(temp), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(temp.grad), -(to_numpy(x) / to_numpy(temp)).sum(0), rtol=1e-10)

    # RelaxedOneHotCategorical: softmax((logits + G) / t); the gradient of a sample reaches every parameter
    temp = flambeau.tensor(0.5, dtype=flambeau.float64, requires_grad=True)
    logits = flambeau.tensor([0.3, -1.0, 2.0], dtype=flambeau.float64, requires_grad=True)
    y = D.RelaxedOneHotCategorical(temp, logits=logits).rsample((4,))
    (y * flambeau.tensor([1.0, 2.0, 3.0], dtype=flambeau.float64)).sum().backward()
    assert temp.grad is not None and logits.grad is not None
    np.testing.assert_allclose(to_numpy(logits.grad).sum(), 0.0, atol=1e-12)  # logits are shift invariant

    # LogisticNormal: the samples are StickBreakingTransform of loc + scale * eps
    loc = flambeau.zeros(2, dtype=flambeau.float64, requires_grad=True)
    d = D.LogisticNormal(loc, flambeau.ones(2, dtype=flambeau.float64))
    s = d.rsample()
    s[..., 0].backward()
    eps = to_numpy(D.StickBreakingTransform().inv(s.detach()))
    tref = torch.tensor(eps, requires_grad=True)
    torch.distributions.StickBreakingTransform()(tref)[..., 0].backward()
    np.testing.assert_allclose(to_numpy(loc.grad), tref.grad.numpy(), rtol=1e-8)


def test_samples_are_reproducible_with_manual_seed():
    D, t = flambeau.distributions, flambeau.tensor
    ds = [D.LogisticNormal(t([0.0, 1.0]), 1.0), D.RelaxedBernoulli(t(0.5), probs=t([0.3])),
          D.RelaxedOneHotCategorical(t(0.5), probs=t([0.3, 0.7])), D.LKJCholesky(3, 2.0),
          D.Wishart(t(5.0), covariance_matrix=flambeau.eye(2))]
    flambeau.manual_seed(11)
    first = [to_numpy(d.sample((4,))) for d in ds]
    flambeau.manual_seed(11)
    second = [to_numpy(d.sample((4,))) for d in ds]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
