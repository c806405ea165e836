"""cross_entropy and nll_loss read their targets as PyTorch does: a target shaped like the input is
class probabilities (floating point), any other is class indices (int64 or uint8); the errors for
other targets are PyTorch's."""
import pytest
import torch

import flambeau

CASES = {
    "float indices": lambda L, F: F.cross_entropy(L.ones(4, 3), L.ones(4)),
    "double indices": lambda L, F: F.cross_entropy(L.ones(4, 3), L.ones(4, dtype=L.float64)),
    "float indices, 1-D input": lambda L, F: F.cross_entropy(L.ones(3), L.ones(())),
    "float indices, label smoothing": lambda L, F: F.cross_entropy(L.ones(4, 3), L.ones(4), label_smoothing=0.1),
    "2-D target for a 2-D input": lambda L, F: F.cross_entropy(L.ones(4, 3), L.ones(4, 2)),
    "int64 probabilities": lambda L, F: F.cross_entropy(L.ones(4, 3), L.ones(4, 3, dtype=L.long)),
    "int32 indices": lambda L, F: F.cross_entropy(L.ones(4, 3), L.ones(4, dtype=L.int32)),
    "uint8 indices": lambda L, F: F.cross_entropy(L.arange(12.).view(4, 3), L.tensor([0, 2, 1, 2], dtype=L.uint8)),
    "uint8 indices, 4-D (refused)": lambda L, F: F.cross_entropy(L.arange(24.).view(2, 3, 2, 2),
                                                       L.tensor([[[0, 1], [2, 1]], [[1, 1], [0, 2]]], dtype=L.uint8)),
    "probabilities": lambda L, F: F.cross_entropy(L.arange(12.).view(4, 3), L.full((4, 3), 1 / 3)),
    "nll float": lambda L, F: F.nll_loss(L.ones(4, 3), L.ones(4)),
    "nll int32": lambda L, F: F.nll_loss(L.ones(4, 3), L.ones(4, dtype=L.int32)),
    "nll uint8": lambda L, F: F.nll_loss(L.arange(12.).view(4, 3), L.tensor([0, 2, 1, 2], dtype=L.uint8)),
    "nll input-shaped float": lambda L, F: F.nll_loss(L.ones(4, 3), L.ones(4, 3)),
}


def _run(L, name, device):
    if L is flambeau:
        L = _on(device)
    try:
        return "ok", round(float(CASES[name](L, L.nn.functional)), 5)
    except RuntimeError as e:
        return "RuntimeError", str(e)


def _on(device):
    from _oracle import on_device
    return on_device(flambeau, device)


@pytest.mark.parametrize("name", list(CASES))
def test_class_targets_as_pytorch(name, device):
    assert _run(flambeau, name, device) == _run(torch, name, "cpu")


def test_uint8_targets_give_int64_targets_gradients(device):
    x = flambeau.arange(12., device=device).view(4, 3).requires_grad_()
    target = flambeau.tensor([0, 2, 1, 2], device=device)
    g64, = flambeau.autograd.grad(flambeau.nn.functional.cross_entropy(x, target), x)
    g8, = flambeau.autograd.grad(flambeau.nn.functional.cross_entropy(x, target.to(flambeau.uint8)), x)
    assert flambeau.equal(g8, g64)
