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


@pytest.mark.parametrize("shapes", [((2, 3, 2, 2), (2, 1, 2)), ((2, 3, 2, 2), (2, 2)), ((2, 3, 2, 2), (2, 2, 2, 2)),
                                    ((2, 3, 2, 2), (3, 2)), ((2, 3, 4), (2, 3)), ((2, 3, 2, 2, 2), (2, 2, 2, 1)),
                                    ((3,), (2,)), ((3,), (1, 1)), ((2, 3), (3,))])
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_class_index_target_shape_errors_as_pytorch(shapes, fn, device):
    """Misshaped class-index targets: PyTorch's errors, nll_loss2d's own wording for 4-D inputs."""
    from _oracle import same_error
    shape, target_shape = shapes
    same_error(lambda L: getattr(L.nn.functional, fn)(L.zeros(shape), L.zeros(target_shape, dtype=L.long)), device)


@pytest.mark.parametrize("kw", [{}, {"reduction": "none"}, {"weight": True}, {"weight": True, "reduction": "sum"}])
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_one_dimensional_input_takes_a_one_element_target(kw, fn, device):
    """A 1-D input (one sample's C scores) takes a 0-D target or, in the forward pass, a 1-D target of
    one element (PyTorch's backward then refuses the latter, flambeau's reads it as the former)."""
    import numpy as np
    x = np.random.default_rng(0).standard_normal(4)
    results = []
    for L in (flambeau, torch):
        kwargs = dict(kw, weight=L.tensor([1.0, 2.0, 0.5, 1.5], dtype=L.float64)) if "weight" in kw else kw
        if L is flambeau and "weight" in kw:
            kwargs["weight"] = kwargs["weight"].to(device)
        make = L.tensor if L is torch else lambda a: flambeau.tensor(a, device=device)
        out = getattr(L.nn.functional, fn)(make(x), make([2]), **kwargs)
        results.append((tuple(out.shape), round(out.item(), 10)))
    assert results[0] == results[1]
