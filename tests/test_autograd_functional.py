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


@pytest.mark.parametrize("vectorize", [False, True])
def test_jacobian_vectorize_and_forward_mode(vectorize, device):
    def run(lib):
        F = lib.autograd.functional
        rev = F.jacobian(f_pair, (t(lib, A), t(lib, B)), vectorize=vectorize)
        fwd = F.jacobian(f_pair, (t(lib, A), t(lib, B)), vectorize=True, strategy="forward-mode")
        one = F.jacobian(f_single, t(lib, A), vectorize=True, strategy="forward-mode")
        hess = F.hessian(f_scalar_pair, (t(lib, A), t(lib, B)), vectorize=True, outer_jacobian_strategy="forward-mode")
        return rev, fwd, one, hess
    ours, ref = both(run, device)
    assert_same(ours, ref)


def test_hessian_and_hvp_nesting(device):
    def run(lib):
        F = lib.autograd.functional
        h = F.hessian(f_scalar_pair, (t(lib, A), t(lib, B)))
        out, hv = F.hvp(lambda x: x.sum() * 3, t(lib, B), t(lib, B))    # linear: a zero Hessian
        return h, len(h), len(h[0]), out, hv
    ours, ref = both(run, device)
    assert_same(ours, ref)


FUNCTIONAL_ERRORS = {
    "list inputs": (TypeError, r"The inputs given to jacobian must be either a Tensor or a tuple of Tensors but the "
                    r"given inputs has type <class 'list'>",
                    lambda F, x: F.jacobian(f_single, [x])),
    "non-tensor in tuple": (TypeError, r"but the value at index 1 has type <class 'float'>",
                            lambda F, x: F.vjp(lambda a, b: a * b, (x, 2.0), x)),
    "non-tensor output": (TypeError, "The outputs of the user-provided function given to jacobian must be",
                          lambda F, x: F.jacobian(lambda a: a.sum().item(), x)),
    "strict independent output": (RuntimeError, "Output 0 of the user-provided function does not require gradients",
                                  lambda F, x: F.jacobian(lambda a: a.detach() * 2, x, strict=True)),
    "strict unused input": (RuntimeError, "Output 0 of the user-provided function is independent of input 1",
                            lambda F, x: F.jacobian(lambda a, b: a * 2, (x, x), strict=True)),
    "strict vectorize": (RuntimeError, "`strict=True` and `vectorized=True` are not supported together",
                         lambda F, x: F.jacobian(f_single, x, strict=True, vectorize=True)),
    "strict vjp": (RuntimeError, "The output of the user-provided function is independent of input 1",
                   lambda F, x: F.vjp(lambda a, b: a.sum(), (x, x), strict=True)),
    "strict hvp linear": (RuntimeError, "the jacobian of the user-provided function with respect to input 0 is "
                          "independent of the input", lambda F, x: F.hvp(lambda a: a.sum(), x, x, strict=True)),
    "forward-mode without vectorize": (NotImplementedError, "only implemented for `vectorize=True`",
                                       lambda F, x: F.jacobian(f_single, x, strategy="forward-mode")),
    "forward-mode create_graph": (NotImplementedError, "`create_graph=True` and `strategy=\"forward-mode\"`",
                                  lambda F, x: F.jacobian(f_single, x, create_graph=True, strategy="forward-mode")),
    "bad strategy": (AssertionError, "Expected strategy to be either",
                     lambda F, x: F.jacobian(f_single, x, strategy="both")),
    "v wrong size": (RuntimeError, r"v has invalid size: should be torch.Size\(\[3, 2\]\) but got torch.Size\(\[3\]\)",
                     lambda F, x: F.jvp(f_single, x, x[:, 0])),
    "v wrong count": (RuntimeError, "v is a tuple of invalid length: should be 2 but got 1",
                      lambda F, x: F.jvp(f_pair, (x, x[:, 0]), (x,))),
    "v missing": (RuntimeError, "The vector v can only be None if the user-provided function returns a single",
                  lambda F, x: F.vjp(f_single, x)),
    "hessian non-scalar": (RuntimeError, "The Tensor returned by the function given to hessian should contain a "
                           "single element", lambda F, x: F.hessian(f_single, x)),
    "vhp tuple output": (RuntimeError, "The function given to vhp should return a single Tensor",
                         lambda F, x: F.vhp(lambda a: (a.sum(), a.sum()), x, x)),
}


@pytest.mark.parametrize("case", sorted(FUNCTIONAL_ERRORS))
def test_functional_errors_match_torch(case, device):
    exc, match, fn = FUNCTIONAL_ERRORS[case]
    for lib in (on_device(flambeau, device), torch):
        with pytest.raises(exc, match=match):
            fn(lib.autograd.functional, t(lib, A))
