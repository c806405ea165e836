"""Gradients at the corners PyTorch's OpInfo samples reach: 0-dim reductions over a dim, index_fill over
repeated indices, p < 1 norms at zero, empty reductions, frexp's mantissa. Against PyTorch, and
finite differences where PyTorch itself is wrong (as_strided_scatter)."""
import numpy as np
import pytest
import torch

import flambeau
from flambeau.autograd import gradcheck


def _both(device, fn):
    """fn(lib, dev) under both libraries: the oracle on the CPU, flambeau on the device under test."""
    return fn(torch, "cpu"), fn(flambeau, device)


def _grads(lib, dev, make, loss):
    x = make(lib, dev)
    loss(lib, x).backward()
    return x.grad.cpu().numpy()


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["max", "min"])
def test_reduction_over_a_dim_of_a_0_dim_tensor(op, keepdim, device):
    def run(lib, dev):
        x = lib.tensor(3.0, dtype=lib.float64, device=dev, requires_grad=True)
        v, i = getattr(x, op)(dim=0, keepdim=keepdim)
        (v * 2).backward()
        return x.grad.item(), tuple(v.shape), i.item()
    ref, ours = _both(device, run)
    assert ours == ref == (2.0, (), 0)


def test_index_fill_value_gradient_counts_each_position_once(device):
    def run(lib, dev):
        x = lib.ones(5, 5, dtype=lib.float64, device=dev, requires_grad=True)
        value = lib.tensor(-7.5, dtype=lib.float64, device=dev, requires_grad=True)
        weights = lib.arange(25.0, dtype=lib.float64, device=dev).reshape(5, 5)
        (x.index_fill(-1, lib.tensor([4, 3, 3, 4, 0], device=dev), value) * weights).sum().backward()
        return value.grad.item(), x.grad.cpu().numpy().tolist()
    ref, ours = _both(device, run)
    assert ours == ref


@pytest.mark.parametrize("values", [[0.0, 1.0, 2.0], [0.0, 0.0, 0.0], [3.0, -1.0, 0.0]])
@pytest.mark.parametrize("p", [0.5, 1.5, 3.0])
def test_vector_norm_gradient_at_zero_elements(values, p, device):
    def run(lib, dev):
        return _grads(lib, dev, lambda lib, dev: lib.tensor(values, dtype=lib.float64, device=dev, requires_grad=True),
                      lambda lib, x: lib.linalg.vector_norm(x, p))
    ref, ours = _both(device, run)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    assert np.isfinite(ours).all()


def test_empty_reductions_over_a_dim(device):
    def run(lib, dev):
        x = lib.ones(5, 0, 5, dtype=lib.float64, device=dev, requires_grad=True)
        low, high = lib.aminmax(x, dim=0)
        (low.sum() + high.sum() + lib.amax(x, (0, 2)).sum()).backward()
        return tuple(low.shape), tuple(high.shape), tuple(x.grad.shape)
    ref, ours = _both(device, run)
    assert ours == ref


def test_frexp_mantissa_is_differentiable(device):
    def run(lib, dev):
        x = lib.tensor([3.0, -0.7, 0.0, 1e-3, 8.0], dtype=lib.float64, device=dev, requires_grad=True)
        mantissa, exponent = lib.frexp(x)
        (mantissa * lib.arange(1.0, 6.0, dtype=lib.float64, device=dev)).sum().backward()
        return mantissa.requires_grad, exponent.requires_grad, str(exponent.dtype), x.grad.cpu().numpy().tolist()
    ref, ours = _both(device, run)
    assert ours == ref
    assert gradcheck(lambda x: flambeau.frexp(x)[0],
                     (flambeau.tensor([3.0, -0.7, 1e-3], dtype=flambeau.float64, device=device, requires_grad=True),))


def test_as_strided_scatter_gradient_by_finite_differences(device):
    # (PyTorch's own gradient for its input is wrong here: torch.autograd.gradcheck fails on it)
    x = flambeau.randn(3, 3, dtype=flambeau.float64, device=device, requires_grad=True)
    src = flambeau.randn(2, 2, dtype=flambeau.float64, device=device, requires_grad=True)
    assert gradcheck(lambda x, s: flambeau.as_strided_scatter(x, s, (2, 2), (1, 2), storage_offset=0), (x, src))


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_and_inverse_gradients_are_pytorchs(upper, complex_, device):
    # PyTorch's formula is dense: the factor's other triangle, never read by the solve, gets values too
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4)) + (1j * rng.standard_normal((4, 4)) if complex_ else 0)
    factor = np.linalg.cholesky(a @ a.conj().T + 4 * np.eye(4))
    factor = (factor.conj().T if upper else factor) + 0.3 * rng.standard_normal((4, 4))
    b = rng.standard_normal((3, 4, 2)) + (1j * rng.standard_normal((3, 4, 2)) if complex_ else 0)
    weights = rng.standard_normal((3, 4, 2))

    def run(lib, dev):
        f = lib.tensor(factor, device=dev, requires_grad=True)
        rhs = lib.tensor(b, device=dev, requires_grad=True)
        (lib.cholesky_solve(rhs, f, upper).real * lib.tensor(weights, device=dev)).sum().backward()
        f2 = lib.tensor(factor, device=dev, requires_grad=True)
        (lib.cholesky_inverse(f2, upper).real * lib.tensor(weights[0, :, :1], device=dev)).sum().backward()
        return [t.grad.cpu().resolve_conj().numpy() for t in (f, rhs, f2)]
    ref, ours = _both(device, run)
    for got, expected in zip(ours, ref):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_cholesky_solve_second_derivatives(device):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 3))
    factor = flambeau.tensor(np.linalg.cholesky(a @ a.T + 3 * np.eye(3)), device=device, requires_grad=True)
    rhs = flambeau.tensor(rng.standard_normal((3, 2)), device=device, requires_grad=True)
    assert flambeau.autograd.gradgradcheck(lambda b, f: flambeau.cholesky_solve(b, f.tril()), (rhs, factor))
