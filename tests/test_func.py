"""flambeau.func (grad, vjp, jvp, jacrev, jacfwd, hessian, vmap, functional_call) against torch.func."""
import collections
import warnings

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, need_torch, no_host_reads, on_device, same_error

torch = need_torch()

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3))
Y = RNG.standard_normal(3)
W = RNG.standard_normal((3, 2))


def t(lib, a, grad=False):
    return lib.tensor(np.asarray(a, dtype="float64"), requires_grad=grad)


def same_tree(ours, ref, device=None, rtol=1e-6, atol=1e-8):
    """Two pytrees (tuples, lists, dicts) of the same structure, tensors equal as assert_same."""
    if isinstance(ref, dict):
        assert isinstance(ours, dict) and list(ours) == list(ref), (ours, ref)
        for k in ref:
            same_tree(ours[k], ref[k], device, rtol, atol)
    elif isinstance(ref, (tuple, list)):
        if type(ref).__module__ == "torch.return_types":     # torch's structseqs: flambeau's namedtuples
            assert type(ours).__name__ == type(ref).__name__ and isinstance(ours, tuple), (ours, ref)
        else:
            assert type(ours) is type(ref) and len(ours) == len(ref), (ours, ref)
        for o, r in zip(ours, ref):
            same_tree(o, r, device, rtol, atol)
    elif isinstance(ref, torch.Tensor):
        assert_same(ours, ref, rtol, atol, device=device)
    else:
        assert ours == ref


def both(fn, device="cpu", rtol=1e-6, atol=1e-8):
    ours, ref = fn(on_device(flambeau, device)), fn(torch)
    same_tree(ours, ref, device, rtol, atol)
    return ours, ref


# -- grad ---------------------------------------------------------------------------------------------------
def f_two(x, y):
    return (x.sin() * y).sum() + (x ** 2).sum() * y.exp().sum()


def test_grad_argnums_and_values(device):
    both(lambda lib: lib.func.grad(f_two)(t(lib, X), t(lib, Y)), device)
    both(lambda lib: lib.func.grad(f_two, argnums=1)(t(lib, X), t(lib, Y)), device)
    both(lambda lib: lib.func.grad(f_two, argnums=(1, -2))(t(lib, X), t(lib, Y)), device)
    both(lambda lib: lib.func.grad_and_value(f_two, argnums=(0, 1))(t(lib, X), t(lib, Y)), device)


def test_grad_pytree_input_and_aux(device):
    def f(params, x):
        out = (x @ params["w"]).tanh().sum() + params["b"][0].pow(2).sum() + params["b"][1].sum()
        return out, {"mean": x.mean(), "pair": (out * 2, x[0])}

    def run(lib):
        params = {"w": t(lib, W), "b": [t(lib, Y[:2]), t(lib, X[0])]}
        return lib.func.grad(f, has_aux=True)(params, t(lib, X)), \
            lib.func.grad_and_value(f, has_aux=True)(params, t(lib, X))
    both(run, device)


def test_grad_of_grad_and_unused_input(device):
    both(lambda lib: lib.func.grad(lambda x: lib.func.grad(lambda y: (y ** 3).sin().sum())(x).sum())(t(lib, Y)),
         device)
    # an input the output does not depend on gets zeros, as torch.func
    both(lambda lib: lib.func.grad(lambda x, y: (x * 2).sum(), argnums=(0, 1))(t(lib, Y), t(lib, X)), device)
    both(lambda lib: lib.func.grad(lambda x: lib.ones((), dtype=lib.float64))(t(lib, Y)), device)


def test_grad_inner_closes_over_outer_variable(device):
    # d/dx [ d/dy (x*y)^2 at y=x ] = d/dx 2 x^2 y |_{y=x} = 6 x^2 for each element
    def run(lib):
        def outer(x):
            return lib.func.grad(lambda y: ((x * y) ** 2).sum())(x).sum()
        return lib.func.grad(outer)(t(lib, Y))
    both(run, device)


def test_grad_results_keep_graph_only_to_outside_tensors():
    for lib in (flambeau, torch):
        p = t(lib, Y, grad=True)
        x = t(lib, Y)
        plain = lib.func.grad(lambda x: (x ** 3).sum())(x)
        through_p = lib.func.grad(lambda x: (x ** 2 * p).sum())(x)
        assert not plain.requires_grad
        assert through_p.requires_grad
    ours_p, ref_p = t(flambeau, Y, grad=True), t(torch, Y, grad=True)
    for lib, p in ((flambeau, ours_p), (torch, ref_p)):
        lib.func.grad(lambda x: (x.sin() * p ** 2).sum())(t(lib, X[0])).sum().backward()
    assert_same(ours_p.grad, ref_p.grad)
    with flambeau.no_grad():
        assert not flambeau.func.grad(lambda x: (x ** 2 * ours_p).sum())(t(flambeau, Y)).requires_grad


def test_grad_errors():
    x = Y
    same_error(lambda lib: lib.func.grad(lambda x: x)(t(lib, x)))
    same_error(lambda lib: lib.func.grad(lambda x: 3)(t(lib, x)))
    same_error(lambda lib: lib.func.grad(lambda x: x.sum(), argnums=1)(t(lib, x)))
    same_error(lambda lib: lib.func.grad(lambda x: x.sum(), argnums=-2)(t(lib, x)))
    same_error(lambda lib: lib.func.grad(lambda x: x.sum(), argnums=(0, 0))(t(lib, x)))
    same_error(lambda lib: lib.func.grad(lambda x: x.sum(), argnums=())(t(lib, x)))
    same_error(lambda lib: lib.func.grad(lambda x: x.sum(), argnums=[0])(t(lib, x)))
    same_error(lambda lib: lib.func.grad(lambda x: x.sum())(3.0))
    same_error(lambda lib: lib.func.grad(lambda x: x.sum(), has_aux=True)(t(lib, x)))
    same_error(lambda lib: lib.func.grad(lambda x: (x.sum(), 3), has_aux=True)(t(lib, x)))
    same_error(lambda lib: lib.func.grad(lambda x: x.sum())())
    # integer inputs cannot be differentiated, in torch.func's words (not requires_grad_'s)
    same_error(lambda lib: lib.func.grad(lambda x: x.sum())(lib.arange(3)))
    same_error(lambda lib: lib.func.jacrev(lambda x: x * 2)(lib.arange(3)))
    same_error(lambda lib: lib.func.vjp(lambda x: x * 2, lib.arange(3)))


# -- per-sample gradients over functional_call -----------------------------------------------------------
def make_mlp(lib):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(3, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2)).double()
    rng = np.random.default_rng(1)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape))))
    return model


def test_per_sample_grads_vmap_grad_functional_call(device):
    targets = RNG.standard_normal((4, 2))

    def run(lib):
        model = make_mlp(lib).to(device if lib is not torch else "cpu")
        params = {k: v.detach() for k, v in model.named_parameters()}

        def loss(params, x, y):
            out = lib.func.functional_call(model, params, (x.unsqueeze(0),))
            return lib.nn.functional.mse_loss(out, y.unsqueeze(0))
        grads = lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(params, t(lib, X), t(lib, targets))
        assert all(not g.requires_grad for g in grads.values())
        return grads
    ours, ref = both(run, device)
    assert list(ours) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert tuple(ours["0.weight"].shape) == (4, 5, 3)


def test_functional_call_dotted_names_dicts_and_restore(device):
    def run(lib):
        model = make_mlp(lib).to(device if lib is not torch else "cpu")
        w = model[0].weight
        new_w, new_b = t(lib, np.ones((5, 3))), t(lib, np.zeros(2))
        out_one = lib.func.functional_call(model, {"0.weight": new_w, "2.bias": new_b}, t(lib, X))
        out_two = lib.func.functional_call(model, ({"0.weight": new_w}, {"2.bias": new_b}), (t(lib, X),))
        out_kw = lib.func.functional_call(model.__getitem__(0), {"bias": t(lib, np.zeros(5))}, kwargs={"input": t(lib, X)})
        assert model[0].weight is w and isinstance(model[0].weight, lib.nn.Parameter)
        return out_one, out_two, out_kw, model(t(lib, X))
    both(run, device)


def test_functional_call_restores_after_error_and_errors():
    for lib in (flambeau, torch):
        model = make_mlp(lib)
        w = model[0].weight
        with pytest.raises(RuntimeError):
            lib.func.functional_call(model, {"0.weight": t(lib, np.ones((2, 2)))}, t(lib, X))
        assert model[0].weight is w
    same_error(lambda lib: lib.func.functional_call(make_mlp(lib), ({"0.bias": t(lib, Y)}, {"0.bias": t(lib, Y)}),
                                                    t(lib, X)))
    same_error(lambda lib: lib.func.functional_call(make_mlp(lib), [{"0.bias": t(lib, Y)}, 3], t(lib, X)))
    same_error(lambda lib: lib.func.functional_call(make_mlp(lib), 3, t(lib, X)))
    same_error(lambda lib: lib.func.functional_call(make_mlp(lib), {"0.bias": t(lib, np.zeros(5)), "junk": t(lib, Y)},
                                                    t(lib, X), strict=True))
    same_error(lambda lib: lib.func.functional_call(make_mlp(lib), {"9.bias": t(lib, Y)}, t(lib, X)))


class Tied:
    """A module whose two names share one parameter, built for either library."""

    @staticmethod
    def make(lib):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.foo = lib.nn.Parameter(lib.ones(3, dtype=lib.float64))
                self.foo_tied = self.foo
                self.register_buffer("count", lib.zeros((), dtype=lib.float64))

            def forward(self, x):
                self.count = self.count + 1         # a stateful module: torch writes it back to the dict
                return x + self.foo + 2 * self.foo_tied
        return M()


def test_functional_call_tied_weights_and_buffer_writeback():
    def run(lib):
        m = Tied.make(lib)
        z = t(lib, np.zeros(3))
        state = {"foo": z, "count": t(lib, 5.0)}
        tied = lib.func.functional_call(m, state, t(lib, Y))
        untied = lib.func.functional_call(m, {"foo": z}, t(lib, Y), tie_weights=False)
        both_given = lib.func.functional_call(m, {"foo": z, "foo_tied": z}, t(lib, Y))
        return tied, untied, both_given, state["count"], m.count, m.foo
    both(run)
    same_error(lambda lib: lib.func.functional_call(Tied.make(lib), {"foo": t(lib, Y), "foo_tied": t(lib, Y * 2)},
                                                    t(lib, Y)))


def test_stateless_functional_call_warns():
    from flambeau.nn.utils import stateless
    model = make_mlp(flambeau)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = stateless.functional_call(model, {"2.bias": t(flambeau, np.zeros(2))}, t(flambeau, X))
    assert any(issubclass(w.category, FutureWarning) for w in caught)
    ref_model = make_mlp(torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.nn.utils.stateless.functional_call(ref_model, {"2.bias": t(torch, np.zeros(2))}, t(torch, X))
    assert_same(out, ref)


def test_stack_module_state_and_ensemble(device):
    def run(lib):
        models = [make_mlp(lib).to(device if lib is not torch else "cpu") for _ in range(3)]
        params, buffers = lib.func.stack_module_state(models)

        def call(p, b, x):
            return lib.func.functional_call(models[0], (p, b), (x,))
        return lib.func.vmap(call, in_dims=(0, 0, None))(params, buffers, t(lib, X))
    both(run, device)


# -- vjp / jacrev / jacfwd / hessian / jvp ---------------------------------------------------------------
def f_pytree(inputs):
    x, (y,) = inputs["x"], inputs["rest"]
    return {"prod": x * y, "sum": [(x.sin() ** 2).sum(1), y.exp()]}


def test_vjp_pytrees_and_repeated_calls(device):
    def run(lib):
        inputs = {"x": t(lib, X), "rest": (t(lib, Y),)}
        out, vjp_fn = lib.func.vjp(f_pytree, inputs)
        cot = {"prod": t(lib, X * 0.5), "sum": [t(lib, X[:, 0]), t(lib, Y)]}
        return out, vjp_fn(cot), vjp_fn(cot)
    both(run, device)
    both(lambda lib: lib.func.vjp(lambda x: (x.exp(), x.mean()), t(lib, Y), has_aux=True)[::2], device)


def test_vjp_errors():
    same_error(lambda lib: lib.func.vjp(lambda x: 3, t(lib, Y)))
    same_error(lambda lib: lib.func.vjp(lambda x: x.long(), t(lib, Y)))
    same_error(lambda lib: lib.func.vjp(lambda x: (), t(lib, Y)))
    same_error(lambda lib: lib.func.vjp(lambda x: x, t(lib, Y))[1]((t(lib, Y),)))
    same_error(lambda lib: lib.func.vjp(lambda x: [x, {"a": x}], t(lib, Y))[1]([t(lib, Y)]))
    same_error(lambda lib: lib.func.vjp(lambda x: x, 3.0))
    same_error(lambda lib: lib.func.vjp(lambda x: x, t(lib, Y), has_aux=True))


def f_jac(x, y):
    return (x @ y.exp()).sin(), (x ** 2).sum() * y


def test_jacrev_jacfwd_values(device):
    for name in ("jacrev", "jacfwd"):
        both(lambda lib: getattr(lib.func, name)(f_jac)(t(lib, X), t(lib, Y)), device)
        both(lambda lib: getattr(lib.func, name)(f_jac, argnums=(0, 1))(t(lib, X), t(lib, Y)), device)
        both(lambda lib: getattr(lib.func, name)(lambda x: (f_jac(*x)[0], x[1].sum()), has_aux=True)(
            (t(lib, X), t(lib, Y))), device)
        both(lambda lib: getattr(lib.func, name)(f_pytree)({"x": t(lib, X[:2]), "rest": (t(lib, Y),)}), device)
    both(lambda lib: lib.func.jacrev(lambda x: x.sin(), chunk_size=2)(t(lib, Y)), device)
    both(lambda lib: lib.func.jacfwd(lambda x: x.long())(t(lib, Y)), device)
    both(lambda lib: lib.func.jacrev(lambda x: x * 2)(t(lib, np.zeros(0))), device)


def test_hessian_and_nested_jacobians(device):
    def f(x, y):
        return (x.sin() * y.unsqueeze(0)).sum() + (x ** 3).sum() * (y ** 2).sum()
    both(lambda lib: lib.func.hessian(f)(t(lib, X[:2]), t(lib, Y)), device)
    both(lambda lib: lib.func.hessian(f, argnums=(0, 1))(t(lib, X[:2]), t(lib, Y)), device)
    both(lambda lib: lib.func.jacrev(lib.func.jacrev(lambda x: x.tanh() * x.sum()))(t(lib, Y)), device)
    both(lambda lib: lib.func.jacfwd(lib.func.grad(lambda x: (x.exp() * x).sum()))(t(lib, Y)), device)


def test_jacobian_errors():
    same_error(lambda lib: lib.func.jacrev(lambda x: x, argnums=2)(t(lib, Y)))
    same_error(lambda lib: lib.func.jacrev(lambda x: x, chunk_size=0))
    same_error(lambda lib: lib.func.jacrev(lambda x: 3)(t(lib, Y)))
    same_error(lambda lib: lib.func.jacfwd(lambda x: 3)(t(lib, Y)))
    same_error(lambda lib: lib.func.jacrev(lambda x: x.long())(t(lib, Y)))
    same_error(lambda lib: lib.func.jacrev(lambda x: x, has_aux=True)(t(lib, Y)))
    same_error(lambda lib: lib.func.jacfwd(lambda x: x, has_aux=True)(t(lib, Y)))
    same_error(lambda lib: lib.func.jacrev(lambda x: x)(t(lib, Y).to(lib.complex128)))
    same_error(lambda lib: lib.func.jacfwd(lambda x: x)(t(lib, Y).to(lib.complex128)))
    same_error(lambda lib: lib.func.jacfwd(lambda x: x, randomness="foo")(t(lib, Y)))


def test_jvp_values(device):
    both(lambda lib: lib.func.jvp(f_jac, (t(lib, X), t(lib, Y)), (t(lib, X * 0.3), t(lib, -Y))), device)
    both(lambda lib: lib.func.jvp(lambda x: x * 3, (t(lib, Y),), (t(lib, Y ** 2),)), device)
    both(lambda lib: lib.func.jvp(lambda x: x, (t(lib, Y),), (t(lib, X[0]),)), device)
    both(lambda lib: lib.func.jvp(lambda x: lib.ones(2, dtype=lib.float64), (t(lib, Y),), (t(lib, Y),)), device)
    both(lambda lib: lib.func.jvp(lambda d: {"o": d["a"].exp() * d["b"].sum()},
                                  ({"a": t(lib, Y), "b": t(lib, W)},), ({"a": t(lib, -Y), "b": t(lib, W * 2)},)),
         device)
    both(lambda lib: lib.func.jvp(lambda x: (x.sin(), x.cos()), (t(lib, Y),), (t(lib, X[1]),), has_aux=True),
         device)
    both(lambda lib: lib.func.jvp(lambda x: x.long(), (t(lib, Y),), (t(lib, Y),)), device)
    # a jvp of a gradient: the Hessian-vector product
    both(lambda lib: lib.func.jvp(lib.func.grad(lambda x: (x ** 3).sin().sum()), (t(lib, Y),), (t(lib, X[2]),)),
         device)


def test_jvp_errors():
    y = Y
    same_error(lambda lib: lib.func.jvp(lambda x: x, t(lib, y), t(lib, y)))
    same_error(lambda lib: lib.func.jvp(lambda x: x, (t(lib, y),), t(lib, y)))
    same_error(lambda lib: lib.func.jvp(lambda x: x, (t(lib, y),), (t(lib, y), t(lib, y))))
    same_error(lambda lib: lib.func.jvp(lambda x: 3, (t(lib, y),), (t(lib, y),)))
    same_error(lambda lib: lib.func.jvp(lambda x: x, (t(lib, y),), (t(lib, np.ones(4)),)))
    same_error(lambda lib: lib.func.jvp(lambda x: x, (3.0,), (3.0,)))
    same_error(lambda lib: lib.func.jvp(lambda x: x, (), ()))
    same_error(lambda lib: lib.func.jvp(lambda x: x, (t(lib, y),), (t(lib, y),), has_aux=True))
    same_error(lambda lib: lib.func.jvp(lambda x: x * 2, (lib.arange(3),), (lib.arange(3),)))


def test_linearize_values_and_errors(device):
    def run(lib):
        out, jvp_fn = lib.func.linearize(lambda a, b: (a.sin() * b, a.sum() + 1, b * 0 + 3), t(lib, Y), t(lib, -Y))
        # one linearization, several tangents; an output independent of the inputs gets zeros
        return out, jvp_fn(t(lib, Y * 0 + 1), t(lib, Y * 0)), jvp_fn(t(lib, Y * 0), t(lib, Y ** 2))
    both(run, device)
    both(lambda lib: lib.func.linearize(lambda d: {"y": d["a"] ** 2}, {"a": t(lib, Y)})[1]({"a": t(lib, -Y)}), device)
    same_error(lambda lib: lib.func.linearize(lambda a, b: a * b, t(lib, Y), t(lib, Y))[1](t(lib, Y)))
    same_error(lambda lib: lib.func.linearize(lambda a: a * 2, t(lib, Y))[1](t(lib, Y[:2])))
    same_error(lambda lib: lib.func.linearize(lambda a: a * 2, t(lib, Y))[1](t(lib, Y).float()))


# -- vmap ------------------------------------------------------------------------------------------------
def test_vmap_in_dims_out_dims(device):
    def f(a, b):
        return a * b.sum(), a.sum(0)

    A = RNG.standard_normal((4, 4, 3))
    both(lambda lib: lib.func.vmap(f)(t(lib, A), t(lib, X)), device)
    both(lambda lib: lib.func.vmap(f, in_dims=(1, 0))(t(lib, A), t(lib, X)), device)
    both(lambda lib: lib.func.vmap(f, in_dims=(-2, None))(t(lib, A), t(lib, Y)), device)
    both(lambda lib: lib.func.vmap(f, in_dims=(2, -1), out_dims=(1, -1))(t(lib, A), t(lib, W.T)), device)
    both(lambda lib: lib.func.vmap(lambda x: x.sum(), out_dims=-1)(t(lib, X)), device)
    both(lambda lib: lib.func.vmap(lambda x, y: x, in_dims=(0, None))(t(lib, X), None), device)
    both(lambda lib: lib.func.vmap(lambda x, n, scale=1.0: x * n * scale)(t(lib, X), lib.arange(4), scale=2.0),
         device)


def test_vmap_pytrees_and_unmapped_outputs(device):
    def f(d, pair):
        return {"s": d["a"] + pair[0], "t": [pair[1] * 2, d["b"]]}

    def run(lib):
        d = {"a": t(lib, X), "b": t(lib, W)}
        pair = (t(lib, X.T), t(lib, Y))
        return lib.func.vmap(f, in_dims=({"a": 0, "b": None}, (1, None)),
                             out_dims={"s": 1, "t": [0, None]})(d, pair)
    both(run, device)
    # an output that is the same in every slice may keep out_dim None, Python values too
    both(lambda lib: lib.func.vmap(lambda x: (x, 3, lib.ones(2, dtype=lib.float64)), out_dims=(0, None, None))(
        t(lib, X)), device)


def test_nested_vmap_and_vmap_of_transforms(device):
    A = RNG.standard_normal((2, 4, 3))
    both(lambda lib: lib.func.vmap(lib.func.vmap(lambda x, y: (x * y).sum(), in_dims=(0, None)), in_dims=(0, 0))(
        t(lib, A), t(lib, A[:, 0])), device)
    both(lambda lib: lib.func.vmap(lib.func.vmap(lambda x: x.exp(), in_dims=1, out_dims=1), in_dims=2)(
        t(lib, A)), device)
    both(lambda lib: lib.func.vmap(lib.func.jacrev(lambda x: x.sin() * x.sum()))(t(lib, X)), device)
    both(lambda lib: lib.func.vmap(lib.func.hessian(lambda x: (x ** 3).sum()))(t(lib, X)), device)
    both(lambda lib: lib.func.vmap(lambda x: lib.func.jvp(lambda y: y.exp(), (x,), (x * 2,)))(t(lib, X)), device)
    both(lambda lib: lib.func.grad(lambda x: lib.func.vmap(lambda r: (r ** 2).sum())(x).sum())(t(lib, X)), device)


def test_vmap_is_differentiable_and_empty_batch(device):
    def run(lib):
        x = t(lib, X, grad=True)
        out = lib.func.vmap(lambda r: r.sin() * r.sum())(x)
        out.backward(t(lib, X[::-1].copy()))
        return out, x.grad, lib.func.vmap(lambda r: r @ r.new_ones(3, 2))(t(lib, np.zeros((0, 3))))
    both(run, device)


def test_vmap_randomness(device):
    x = flambeau.zeros(4, 3, device=device)
    flambeau.manual_seed(0)
    same = flambeau.func.vmap(lambda r: r + flambeau.rand(3, device=device), randomness="same")(x)
    flambeau.manual_seed(0)
    assert flambeau.equal(same[0], flambeau.rand(3, device=device))
    assert all(flambeau.equal(same[0], same[i]) for i in range(1, 4))
    assert same.device.type == flambeau.device(device).type
    for mode in ("different", "error"):     # 'error' cannot see the random op: it behaves as 'different'
        diff = flambeau.func.vmap(lambda r: r + flambeau.rand(3, device=device), randomness=mode)(x)
        assert not flambeau.equal(diff[0], diff[1])


def test_vmap_errors():
    same_error(lambda lib: lib.func.vmap(lambda x, y: x)(t(lib, X), t(lib, W)))
    same_error(lambda lib: lib.func.vmap(lambda x, y: x, in_dims=[0, 0])(t(lib, X), t(lib, X)))
    same_error(lambda lib: lib.func.vmap(lambda x, y: x, in_dims=(0, 0, 0))(t(lib, X), t(lib, X)))
    same_error(lambda lib: lib.func.vmap(lambda x, y: x, in_dims=(0, 0))(t(lib, X), None))
    same_error(lambda lib: lib.func.vmap(lambda x: x, in_dims=2)(t(lib, X)))
    same_error(lambda lib: lib.func.vmap(lambda x: x, in_dims=(0.5,))(t(lib, X)))
    same_error(lambda lib: lib.func.vmap(lambda x: x)(t(lib, 1.0)))
    same_error(lambda lib: lib.func.vmap(lambda x: x, in_dims=None)(t(lib, X)))
    same_error(lambda lib: lib.func.vmap(lambda: 1)())
    same_error(lambda lib: lib.func.vmap(lambda x: x, out_dims=3)(t(lib, X)))
    same_error(lambda lib: lib.func.vmap(lambda x: x, out_dims=(0, 1))(t(lib, X)))
    same_error(lambda lib: lib.func.vmap(lambda x: (x, x), out_dims=(0, 1, 2))(t(lib, X)))
    same_error(lambda lib: lib.func.vmap(lambda x: x, out_dims="a")(t(lib, X)))
    same_error(lambda lib: lib.func.vmap(lambda x: (x, 3))(t(lib, X)))
    same_error(lambda lib: lib.func.vmap(lambda x: (x, x), out_dims=(0, None))(t(lib, X)))
    same_error(lambda lib: lib.func.vmap(lambda x: x, chunk_size=0))
    same_error(lambda lib: lib.func.vmap(lambda x: x, randomness="foo"))


Pair = collections.namedtuple("Pair", "a b")


def test_vmap_namedtuples_and_return_types(device):
    both(lambda lib: lib.func.vmap(lambda r: r.max(0))(t(lib, X)), device)
    both(lambda lib: lib.func.vmap(lambda p: Pair(p.a * 2, p.b.sum()), in_dims=(Pair(0, 1),),
                                   out_dims=Pair(1, 0))(Pair(t(lib, X), t(lib, X.T))), device)
    both(lambda lib: lib.func.jacrev(lambda p: collections.OrderedDict(s=p.a * p.b))(
        Pair(t(lib, Y), t(lib, X[0]))), device)
    same_error(lambda lib: lib.func.vmap(lambda p: p.a, in_dims=((0, 1),))(Pair(t(lib, X), t(lib, X.T))))


def test_transforms_read_nothing_back_from_the_device(device):
    model = make_mlp(flambeau).to(device)
    params = {k: v.detach() for k, v in model.named_parameters()}
    x, y = flambeau.tensor(X, device=device), flambeau.tensor(np.zeros((4, 2)), device=device)

    def loss(p, x, y):
        out = flambeau.func.functional_call(model, p, (x.unsqueeze(0),))
        return flambeau.nn.functional.mse_loss(out, y.unsqueeze(0))
    with no_host_reads(device):
        grads = flambeau.func.vmap(flambeau.func.grad(loss), in_dims=(None, 0, 0))(params, x, y)
        hess = flambeau.func.hessian(lambda v: (v ** 3).sin().sum())(x[0])
        _, tangent = flambeau.func.jvp(lambda v: v.exp(), (x[0],), (x[1],))
    for r in (grads["0.weight"], hess, tangent):
        assert r.device.type == flambeau.device(device).type


def test_functional_call_through_a_parametrization(device):
    def run(lib):
        lin = lib.nn.Linear(3, 2).double().to(device if lib is not torch else "cpu")

        class Double(lib.nn.Module):
            def forward(self, w):
                return w * 2
        lib.nn.utils.parametrize.register_parametrization(lin, "weight", Double())
        state = {"parametrizations.weight.original": t(lib, W.T), "bias": t(lib, Y[:2])}
        return lib.func.functional_call(lin, state, t(lib, X), strict=True)
    both(run, device)
