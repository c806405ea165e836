"""nn.utils against torch: gradient clipping, parameter/vector conversion, pad_sequence."""
import math

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, need_torch
from _nn_helpers import assert_on_device, copy_state, no_host_reads

torch = need_torch()


def _models_with_grads(device="cpu"):
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)).double()
    ours = flambeau.nn.Sequential(flambeau.nn.Linear(4, 5), flambeau.nn.Tanh(), flambeau.nn.Linear(5, 3)).double()
    ours.to(device)
    copy_state(ours, ref, device)
    x = np.random.default_rng(0).standard_normal((6, 4)) * 3
    (ours(flambeau.tensor(x, device=device)) ** 2).sum().backward()
    (ref(torch.tensor(x)) ** 2).sum().backward()
    return ours, ref


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm(norm_type, max_norm, device):
    ours, ref = _models_with_grads(device)
    with no_host_reads(device):
        n = flambeau.nn.utils.clip_grad_norm_(ours.parameters(), max_norm, norm_type)
    rn = torch.nn.utils.clip_grad_norm_(ref.parameters(), max_norm, norm_type)
    assert_on_device([n] + list(ours.parameters()), device)
    assert_same(n, rn)
    for p, rp in zip(ours.parameters(), ref.parameters()):
        assert_same(p.grad, rp.grad)


def test_clip_grad_norm_single_tensor_and_nonfinite(device):
    p = flambeau.nn.Parameter(flambeau.tensor([3.0, 4.0], device=device))
    p.grad = flambeau.tensor([3.0, 4.0], device=device)
    n = flambeau.nn.utils.clip_grad_norm_(p, 1.0)
    assert_on_device([n, p], device)
    assert abs(n.item() - 5.0) < 1e-6 and abs(p.grad.norm().item() - 1.0) < 1e-5
    p.grad = flambeau.tensor([float("nan"), 1.0], device=device)
    with pytest.raises(RuntimeError):
        flambeau.nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    q = flambeau.nn.Parameter(flambeau.ones(2, device=device))
    assert flambeau.nn.utils.clip_grad_norm_([q], 1.0).item() == 0.0


def test_clip_grad_value(device):
    ours, ref = _models_with_grads(device)
    with no_host_reads(device):
        flambeau.nn.utils.clip_grad_value_(ours.parameters(), 0.7)
    assert_on_device(list(ours.parameters()), device)
    torch.nn.utils.clip_grad_value_(ref.parameters(), 0.7)
    for p, rp in zip(ours.parameters(), ref.parameters()):
        assert_same(p.grad, rp.grad)


def test_parameters_vector_roundtrip(device):
    ours, ref = _models_with_grads(device)
    with no_host_reads(device):
        v = flambeau.nn.utils.parameters_to_vector(ours.parameters())
    assert_on_device(v, device)
    rv = torch.nn.utils.parameters_to_vector(ref.parameters())
    assert_same(v, rv)
    w = ours[0].weight
    flambeau.nn.utils.vector_to_parameters(v * 2, ours.parameters())
    torch.nn.utils.vector_to_parameters(rv * 2, ref.parameters())
    assert ours[0].weight is w
    for p, rp in zip(ours.parameters(), ref.parameters()):
        assert_same(p, rp)
    for lib in (flambeau, torch):
        with pytest.raises(TypeError):
            lib.nn.utils.vector_to_parameters([1.0], [lib.nn.Parameter(lib.ones(1))])


def test_pad_sequence(device):
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((n, 3)) for n in (4, 2, 5)]
    for batch_first in (False, True):
        for side in ("right", "left"):
            ours = flambeau.nn.utils.rnn.pad_sequence([flambeau.tensor(s, device=device) for s in seqs],
                                                      batch_first, -1.0, side)
            ref = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first, -1.0, side)
            assert_on_device(ours, device)
            assert_same(ours, ref)
