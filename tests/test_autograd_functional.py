"""autograd.functional (jacobian, hessian, vjp, jvp, hvp, vhp) against torch.autograd.functional."""
import numpy as np
import pytest

import flambeau
from _oracle import assert_same, need_torch, on_device
from _nn_helpers import assert_on_device

torch = need_torch()

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 2))
B = RNG.standard_normal(3)
V2 = RNG.standard_normal((3, 2))


def t(lib, a, grad=False):
    return lib.tensor(np.asarray(a, dtype="float64"), requires_grad=grad)


def both(fn, device="cpu"):
    ours = fn(on_device(flambeau, device))
    assert_on_device(ours, device)
    return ours, fn(torch)


def f_single(x):                        # (3, 2) -> (3,)
    return (x.tanh() * x).sum(1) + x[:, 0] ** 3


def f_pair(x, b):                       # ((3, 2), (3,)) -> (3, 2), (3,)
    return x * b[:, None].exp(), (x ** 2).sum(1) * b


def f_scalar(x):
    return (x.sin() * x ** 2).sum() + x.prod()


def f_scalar_pair(x, b):
    return ((x @ x.t()) * b.exp()).sum()


@pytest.mark.parametrize("create_graph", [False, True])
def test_jacobian(create_graph, device):
    def run(lib):
        F = lib.autograd.functional
        j1 = F.jacobian(f_single, t(lib, A), create_graph=create_graph)
        j2 = F.jacobian(f_pair, (t(lib, A), t(lib, B)), create_graph=create_graph)
        j3 = F.jacobian(f_single, (t(lib, A),), create_graph=create_graph)
        return j1, j2, j3, j1.requires_grad
    ours, ref = both(run, device)
    assert_same(ours, ref)


def test_hessian(device):
    def run(lib):
        F = lib.autograd.functional
        return F.hessian(f_scalar, t(lib, A)), F.hessian(f_scalar_pair, (t(lib, A), t(lib, B)))
    ours, ref = both(run, device)
    assert_same(ours, ref)


def test_vjp(device):
    def run(lib):
        F = lib.autograd.functional
        o1, g1 = F.vjp(f_single, t(lib, A), t(lib, B))
        o2, g2 = F.vjp(f_pair, (t(lib, A), t(lib, B)), (t(lib, V2), t(lib, B)))
        o3, g3 = F.vjp(f_scalar, t(lib, A))
        return o1, g1, o2, g2, o3, g3, g1.requires_grad
    ours, ref = both(run, device)
    assert_same(ours, ref)


def test_jvp(device):
    def run(lib):
        F = lib.autograd.functional
        o1, j1 = F.jvp(f_single, t(lib, A), t(lib, V2))
        o2, j2 = F.jvp(f_pair, (t(lib, A), t(lib, B)), (t(lib, V2), t(lib, B)))
        return o1, j1, o2, j2
    ours, ref = both(run, device)
    assert_same(ours, ref)


@pytest.mark.parametrize("which", ["hvp", "vhp"])
def test_hvp_vhp(which, device):
    def run(lib):
        fn = getattr(lib.autograd.functional, which)
        o1, h1 = fn(f_scalar, t(lib, A), t(lib, V2))
        o2, h2 = fn(f_scalar_pair, (t(lib, A), t(lib, B)), (t(lib, V2), t(lib, B)))
        return o1, h1, o2, h2
    ours, ref = both(run, device)
    assert_same(ours, ref)


def test_functional_create_graph_is_differentiable(device):
    def run(lib):
        x = t(lib, A, grad=True)
        _, g = lib.autograd.functional.vjp(f_scalar, x, create_graph=True)
        g.sum().backward()
        return x.grad
    ours, ref = both(run, device)
    assert_same(ours, ref)


def test_jacobian_of_unused_input_is_zero(device):
    def run(lib):
        return lib.autograd.functional.jacobian(lambda x, y: x * 2, (t(lib, B), t(lib, A)))
    ours, ref = both(run, device)
    assert_same(ours, ref)


def test_inputs_are_not_modified_and_grads_untouched(device):
    x = t(on_device(flambeau, device), A, grad=True)
    flambeau.autograd.functional.jacobian(f_single, x)
    flambeau.autograd.functional.hessian(f_scalar, x)
    assert x.grad is None
