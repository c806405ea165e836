"""float16 products on the CPU are computed in float32 and rounded once, as PyTorch's CPU kernels
(Note [float16 products on the CPU]): a linear layer, a matrix product, a convolution and its
gradients give exactly the float32 results of the same inputs, rounded to float16 (convolutions on
cuda too). (NumPy's own
float16 arithmetic rounds every step: up to tens of ulps off near cancellations.)"""
import numpy as np
import pytest

import flambeau
import flambeau.nn.functional as F


def _half(rng, *shape, scale=1.0):
    return flambeau.tensor((rng.standard_normal(shape) * scale).astype(np.float16))


def _rounded_once(t):
    return t.half()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_and_matmul_round_once(seed):
    rng = np.random.default_rng(seed)
    x, w, b = _half(rng, 64, 256), _half(rng, 32, 256), _half(rng, 32, scale=10)
    assert flambeau.equal(F.linear(x, w, b), _rounded_once(F.linear(x.float(), w.float(), b.float())))
    assert flambeau.equal(x @ w.t(), _rounded_once(x.float() @ w.float().t()))
    assert flambeau.equal(flambeau.addmm(b, x, w.t()), _rounded_once(flambeau.addmm(b.float(), x.float(), w.float().t())))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_convolution_and_its_gradients_round_once(seed, device):
    # on both devices: the GPU's float16 convolution goes through float32 too (its bias then rounds once)
    rng = np.random.default_rng(seed)
    x, w, b, g = (t.to(device) for t in (_half(rng, 5, 3, 8, 8), _half(rng, 4, 3, 3, 3), _half(rng, 4, scale=10),
                                        _half(rng, 5, 4, 8, 8)))
    assert flambeau.equal(F.conv2d(x, w, b, padding=1), _rounded_once(F.conv2d(x.float(), w.float(), b.float(), padding=1)))
    grads = []
    for dtype in (flambeau.float16, flambeau.float32):
        xs, ws = x.to(dtype).requires_grad_(), w.to(dtype).requires_grad_()
        grads.append(flambeau.autograd.grad(F.conv2d(xs, ws, padding=1), [xs, ws], g.to(dtype)))
    (gx, gw), (gx32, gw32) = grads
    assert gx.dtype is flambeau.float16 and gw.dtype is flambeau.float16
    assert flambeau.equal(gx, _rounded_once(gx32)) and flambeau.equal(gw, _rounded_once(gw32))
