"""nn.utils.parametrize, nn.utils.parametrizations and the hook-based weight_norm / spectral_norm,
against torch: same weights (state dicts copied), outputs, gradients, state_dict keys, buffers."""
import copy
import pickle
import warnings

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, need_torch
from _nn_helpers import copy_state

torch = need_torch()
P = {flambeau: flambeau.nn.utils.parametrize, torch: torch.nn.utils.parametrize}


def _symmetric(nn):
    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()
    return Symmetric()


def _scaled(nn):
    class Scaled(nn.Module):
        def forward(self, X):
            return X * 2

        def right_inverse(self, A):
            return A / 2
    return Scaled()


def _sum_of_two(nn):
    class SumOfTwo(nn.Module):
        def forward(self, A, B):
            return A + B

        def right_inverse(self, Z):
            return Z * 0.25, Z * 0.75
    return SumOfTwo()


def _build(lib, register, device="cpu", cls="Linear", shape=(4, 4)):
    torch.manual_seed(0)
    m = getattr(lib.nn, cls)(*shape).double()
    if lib is not torch:
        m.to(device)
    register(lib, m)
    return m


def _pair(register, device, cls="Linear", shape=(4, 4), init=None):
    ref = _build(torch, register, cls=cls, shape=shape)
    if init is not None:
        init(ref)
    ours = _build(flambeau, register, device, cls=cls, shape=shape)
    assert list(ours.state_dict()) == list(ref.state_dict())
    copy_state(ours, ref, device)
    return ours, ref


def _compare_run(ours, ref, device, in_shape=(3, 4), seed=0):
    x = np.random.default_rng(seed).standard_normal(in_shape)
    out = ours(flambeau.tensor(x, device=device))
    rout = ref(torch.tensor(x))
    assert_same(out, rout, device=device)
    (out ** 2).sum().backward()
    (rout ** 2).sum().backward()
    for (n, p), (rn, rp) in zip(ours.named_parameters(), ref.named_parameters()):
        assert n == rn
        assert_same(p.grad, rp.grad, device=device)


def test_register_parametrization_class_swap_and_keys(device):
    def reg(lib, m):
        P[lib].register_parametrization(m, "weight", _symmetric(lib.nn))

    ours, ref = _pair(reg, device)
    assert type(ours).__name__ == type(ref).__name__ == "ParametrizedLinear"
    assert isinstance(ours, flambeau.nn.Linear)
    assert type(flambeau.nn.Linear(2, 2)) is flambeau.nn.Linear      # other instances keep the class
    assert P[flambeau].type_before_parametrizations(ours) is flambeau.nn.Linear
    assert P[flambeau].is_parametrized(ours) and P[flambeau].is_parametrized(ours, "weight")
    assert not P[flambeau].is_parametrized(ours, "bias")
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert isinstance(ours.parametrizations.weight.original, flambeau.nn.Parameter)
    assert_same(ours.weight, ref.weight, device=device)
    assert_same(ours.weight, ours.weight.T)
    _compare_run(ours, ref, device)
    with pytest.raises(RuntimeError, match="state_dict"):
        pickle.dumps(ours)
    clone = copy.deepcopy(ours)
    assert type(clone).__name__ == "ParametrizedLinear"
    assert_same(clone.weight, ref.weight)


def test_assignment_goes_through_right_inverse_and_keeps_the_parameter(device):
    def reg(lib, m):
        P[lib].register_parametrization(m, "weight", _scaled(lib.nn))

    ours, ref = _pair(reg, device)
    original = ours.parametrizations.weight.original
    value = np.arange(16.0).reshape(4, 4)
    ours.weight = flambeau.tensor(value, device=device)
    ref.weight = torch.tensor(value)
    assert ours.parametrizations.weight.original is original          # set in place: id() kept
    assert_same(ours.parametrizations.weight.original, ref.parametrizations.weight.original, device=device)
    assert_same(ours.weight, ref.weight, device=device)


def test_several_parametrizations_and_multi_tensor_original(device):
    def reg(lib, m):
        P[lib].register_parametrization(m, "weight", _sum_of_two(lib.nn))
        P[lib].register_parametrization(m, "weight", _symmetric(lib.nn))
        P[lib].register_parametrization(m, "weight", _scaled(lib.nn))

    ours, ref = _pair(reg, device)
    assert "parametrizations.weight.original0" in ours.state_dict()
    assert len(ours.parametrizations.weight) == 3
    _compare_run(ours, ref, device)
    with pytest.raises(ValueError, match="sequence of tensors"):
        P[flambeau].remove_parametrizations(ours, "weight", leave_parametrized=False)
    P[flambeau].remove_parametrizations(ours, "weight")
    P[torch].remove_parametrizations(ref, "weight")
    assert type(ours) is flambeau.nn.Linear and not hasattr(ours, "parametrizations")
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["bias", "weight"]
    assert_same(ours.weight, ref.weight, device=device)
    assert isinstance(ours.weight, flambeau.nn.Parameter)


@pytest.mark.parametrize("leave_parametrized", [True, False])
def test_remove_parametrizations(leave_parametrized, device):
    def reg(lib, m):
        P[lib].register_parametrization(m, "weight", _scaled(lib.nn))
        P[lib].register_parametrization(m, "bias", _scaled(lib.nn))

    ours, ref = _pair(reg, device)
    original = ours.parametrizations.weight.original
    P[flambeau].remove_parametrizations(ours, "weight", leave_parametrized=leave_parametrized)
    P[torch].remove_parametrizations(ref, "weight", leave_parametrized=leave_parametrized)
    assert ours.weight is original
    assert type(ours).__name__ == "ParametrizedLinear"                # bias is still parametrized
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert_same(ours.weight, ref.weight, device=device)
    P[flambeau].remove_parametrizations(ours, "bias", leave_parametrized=leave_parametrized)
    assert type(ours) is flambeau.nn.Linear
    with pytest.raises(ValueError, match="does not have a parametrization"):
        P[flambeau].remove_parametrizations(ours, "bias")


def test_registration_errors():
    for lib in (flambeau, torch):
        class Shrink(lib.nn.Module):
            def forward(self, X):
                return X[:2]
        with pytest.raises(ValueError, match="may not change the shape"):
            P[lib].register_parametrization(lib.nn.Linear(3, 3), "weight", Shrink())
        m = P[lib].register_parametrization(lib.nn.Linear(3, 3), "weight", Shrink(), unsafe=True)
        assert tuple(m.weight.shape) == (2, 3)
        with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
            P[lib].register_parametrization(lib.nn.Linear(3, 3), "nothing", Shrink())

        class ToFloat32(lib.nn.Module):
            def forward(self, X):
                return X.float()
        with pytest.raises(ValueError, match="may not change the dtype"):
            P[lib].register_parametrization(lib.nn.Linear(3, 3).double(), "weight", ToFloat32())


def test_cached_computes_once():
    calls = []

    class Counting(flambeau.nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 3

    m = flambeau.nn.Linear(3, 3)
    P[flambeau].register_parametrization(m, "weight", Counting())
    calls.clear()
    with P[flambeau].cached():
        a, b = m.weight, m.weight
    assert a is b and len(calls) == 1
    m.weight, m.weight
    assert len(calls) == 3


def test_buffer_parametrization():
    for lib in (flambeau, torch):
        bn = lib.nn.BatchNorm1d(3)
        P[lib].register_parametrization(bn, "running_var", _scaled(lib.nn))
        assert "parametrizations.running_var.original" in bn.state_dict()
        assert not isinstance(bn.parametrizations.running_var.original, lib.nn.Parameter)


# -- parametrizations --------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm(dim, device):
    def reg(lib, m):
        lib.nn.utils.parametrizations.weight_norm(m, dim=dim)

    ours, ref = _pair(reg, device, cls="Conv1d", shape=(2, 3, 3))
    assert list(ours.state_dict())[1:] == ["parametrizations.weight.original0", "parametrizations.weight.original1"]
    _compare_run(ours, ref, device, in_shape=(2, 2, 6))
    # right_inverse on assignment: g is the norm of the new value
    value = np.random.default_rng(1).standard_normal((3, 2, 3))
    ours.weight = flambeau.tensor(value, device=device)
    ref.weight = torch.tensor(value)
    assert_same(ours.parametrizations.weight.original0, ref.parametrizations.weight.original0, device=device)


def _sgd_steps(ours, ref, device, in_shape, steps=3):
    opt = flambeau.optim.SGD(ours.parameters(), lr=0.1)
    ropt = torch.optim.SGD(ref.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        x = rng.standard_normal(in_shape)
        for m, o, lib, dev in ((ours, opt, flambeau, device), (ref, ropt, torch, "cpu")):
            o.zero_grad()
            (m(lib.tensor(x, device=dev)) ** 2).mean().backward()
            o.step()


@pytest.mark.parametrize("cls,shape,in_shape", [("Linear", (5, 3), (4, 5)),
                                                ("Conv2d", (2, 3, 2), (1, 2, 4, 4)),
                                                ("ConvTranspose1d", (3, 2, 2), (1, 3, 5))])
def test_spectral_norm_training_steps(cls, shape, in_shape, device):
    def reg(lib, m):
        lib.nn.utils.parametrizations.spectral_norm(m, n_power_iterations=2)

    ours, ref = _pair(reg, device, cls=cls, shape=shape)       # u, v copied from torch
    assert "parametrizations.weight.0._u" in ours.state_dict()
    _sgd_steps(ours, ref, device, in_shape)
    for (k, v), (rk, rv) in zip(ours.state_dict().items(), ref.state_dict().items()):
        assert k == rk
        assert_same(v, rv, rtol=1e-5, atol=1e-8, device=device)
    # eval: the buffers stay as they are
    ours.eval()
    ref.eval()
    u = ours.parametrizations.weight[0]._u.clone()
    _compare_run(ours, ref, device, in_shape)
    assert_same(ours.parametrizations.weight[0]._u, u)
    assert_same(ours.weight, ref.weight, rtol=1e-5, device=device)


def test_spectral_norm_vector_and_errors():
    for lib in (flambeau, torch):
        m = lib.nn.Linear(3, 3)
        with pytest.raises(ValueError, match="n_power_iterations"):
            lib.nn.utils.parametrizations.spectral_norm(m, n_power_iterations=0)
        with pytest.raises(IndexError, match="Dimension out of range"):
            lib.nn.utils.parametrizations.spectral_norm(m, dim=2)
    ours = flambeau.nn.utils.parametrizations.spectral_norm(flambeau.nn.Linear(3, 3), "bias")
    ref = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(3, 3), "bias")
    copy_state(ours, ref)
    assert_same(ours.bias, ref.bias)


@pytest.mark.parametrize("orthogonal_map", [None, "matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
@pytest.mark.parametrize("use_trivialization", [True, False])
def test_orthogonal(orthogonal_map, shape, use_trivialization, device):
    def reg(lib, m):
        lib.nn.utils.parametrizations.orthogonal(m, orthogonal_map=orthogonal_map,
                                                 use_trivialization=use_trivialization)

    ours, ref = _pair(reg, device, shape=shape)
    w = ours.weight
    rows, cols = w.shape
    small = min(rows, cols)
    gram = w @ w.mT if rows <= cols else w.mT @ w
    assert_same(gram, torch.eye(small, dtype=torch.float64), atol=1e-10)
    _compare_run(ours, ref, device, in_shape=(2, shape[0]))


@pytest.mark.parametrize("weight_shape,kw", [
    ((4, 4), {}),                 # trivialization: base = the orthogonalized value, original = -I
    ((5, 3), dict(orthogonal_map="householder", use_trivialization=False)),
    ((3, 5), dict(orthogonal_map="householder", use_trivialization=False))])
def test_orthogonal_assignment(weight_shape, kw, device):
    # (a rectangular weight under trivialization is completed with random columns: not compared)
    def reg(lib, m):
        lib.nn.utils.parametrizations.orthogonal(m, "weight", **kw)

    ours, ref = _pair(reg, device, shape=weight_shape[::-1])
    value = np.random.default_rng(2).standard_normal(weight_shape)
    ours.weight = flambeau.tensor(value, device=device)
    ref.weight = torch.tensor(value)
    for (k, v), (rk, rv) in zip(ours.state_dict().items(), ref.state_dict().items()):
        assert k == rk
        assert_same(v, rv, atol=1e-10, device=device)
    assert_same(ours.weight, ref.weight, atol=1e-10, device=device)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 4, 3)])
def test_geqrf_matches_torch(shape, device):
    from flambeau.nn.utils.parametrizations import _geqrf, _householder_product
    a = np.random.default_rng(0).standard_normal(shape)
    a[..., 1:, 0] = 0.0 if len(shape) == 2 else a[..., 1:, 0]      # a column needing no reflection
    A, tau = _geqrf(flambeau.tensor(a, device=device))
    rA, rtau = torch.geqrf(torch.tensor(a))
    assert_same(A, rA, atol=1e-12, device=device)
    assert_same(tau, rtau, atol=1e-12, device=device)
    if shape[-2] >= shape[-1]:
        assert_same(_householder_product(A, tau), torch.linalg.householder_product(rA, rtau), atol=1e-12)


# -- the hook-based APIs -----------------------------------------------------------------------

def test_old_weight_norm(device):
    def reg(lib, m):
        with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
            lib.nn.utils.weight_norm(m, dim=1)

    ours, ref = _pair(reg, device, shape=(4, 3))
    assert list(ours.state_dict()) == ["bias", "weight_g", "weight_v"]
    _compare_run(ours, ref, device)
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"):
        flambeau.nn.utils.weight_norm(ours, dim=1)
    flambeau.nn.utils.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(ref)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert_same(ours.weight, ref.weight, device=device)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        flambeau.nn.utils.remove_weight_norm(ours)


def test_old_spectral_norm(device):
    def reg(lib, m):
        lib.nn.utils.spectral_norm(m, n_power_iterations=2)

    ours, ref = _pair(reg, device, cls="Conv1d", shape=(2, 3, 2))
    assert list(ours.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    _sgd_steps(ours, ref, device, (1, 2, 5))
    for (k, v), (rk, rv) in zip(ours.state_dict().items(), ref.state_dict().items()):
        assert k == rk
        assert_same(v, rv, rtol=1e-5, atol=1e-8, device=device)
    flambeau.nn.utils.remove_spectral_norm(ours)
    torch.nn.utils.remove_spectral_norm(ref)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert_same(ours.weight, ref.weight, rtol=1e-5, device=device)
    assert not ours._forward_pre_hooks
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _compare_run(ours, ref, device, in_shape=(1, 2, 5))


def test_chained_registration_errors_match_torch():
    def messages(lib):
        class Double(lib.nn.Module):
            def forward(self, x):
                return x * 2

        class Rows(lib.nn.Module):
            def forward(self, x):
                return x[:2]

        class WrongInverse(lib.nn.Module):
            def forward(self, x):
                return x

            def right_inverse(self, x):
                return x.double()

        m = lib.nn.Linear(3, 3)
        P[lib].register_parametrization(m, "weight", Double())
        out = []
        for p in (Rows(), WrongInverse()):
            with pytest.raises(ValueError) as e:
                P[lib].register_parametrization(m, "weight", p)
            out.append(str(e.value))
        return out

    assert messages(flambeau) == messages(torch)


def test_new_weight_norm_loads_an_old_weight_norm_checkpoint():
    outs = []
    for lib in (flambeau, torch):
        lib.manual_seed(0)
        old = lib.nn.utils.weight_norm(lib.nn.Linear(3, 2))
        state = {k: v.detach().clone() for k, v in old.state_dict().items()}
        new = lib.nn.utils.parametrizations.weight_norm(lib.nn.Linear(3, 2))
        new.load_state_dict(state)
        outs.append((sorted(state), sorted(new.state_dict()), new(lib.ones(1, 3)).detach(), old(lib.ones(1, 3)).detach()))
    assert outs[0][:2] == outs[1][:2]
    np.testing.assert_allclose(outs[0][2].numpy(), outs[0][3].numpy(), rtol=1e-6)
    np.testing.assert_allclose(outs[1][2].numpy(), outs[1][3].numpy(), rtol=1e-6)
