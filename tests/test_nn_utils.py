"""nn.utils against torch: gradient clipping, parameter/vector conversion, pad_sequence."""
import importlib
import math

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, need_torch
from _nn_helpers import assert_on_device, copy_state, no_host_reads

torch = need_torch()
importlib.import_module("torch.nn.utils.prune")     # not imported by torch.nn.utils itself


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


def test_parameters_to_vector_iterates_a_tensor_like_torch(device):
    rows = np.arange(6.0).reshape(2, 3)
    assert_same(flambeau.nn.utils.parameters_to_vector(flambeau.tensor(rows, device=device)),
                torch.nn.utils.parameters_to_vector(torch.tensor(rows)))


def _pruning_pair(device, make):
    torch.manual_seed(0)
    ref = make(torch.nn)
    ours = make(flambeau.nn).to(device)
    copy_state(ours, ref, device)
    return ours, ref


def _names(m):
    return ([n for n, _ in m.named_parameters()], [n for n, _ in m.named_buffers()], list(m.state_dict().keys()))


def test_prune_l1_then_ln_structured_as_torch(device):
    ours, ref = _pruning_pair(device, lambda nn: nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU(), nn.Linear(2, 4)))
    for lib, m in ((flambeau, ours), (torch, ref)):
        lib.nn.utils.prune.l1_unstructured(m[0], "weight", amount=0.3)
        lib.nn.utils.prune.ln_structured(m[0], "weight", amount=2, n=2, dim=0)   # chained: a PruningContainer
        lib.nn.utils.prune.ln_structured(m[0], "weight", amount=1, n=1, dim=-3)
        lib.nn.utils.prune.l1_unstructured(m[2], "bias", amount=2)
    assert _names(ours) == _names(ref)
    assert type(ours[0]._forward_pre_hooks[next(iter(ours[0]._forward_pre_hooks))]).__name__ == "PruningContainer"
    assert_same(ours[0].weight_mask, ref[0].weight_mask, device=device)
    assert_same(ours[2].bias_mask, ref[2].bias_mask, device=device)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    out, rout = ours(flambeau.tensor(x, device=device)), ref(torch.tensor(x))
    assert_same(out, rout, rtol=1e-5, atol=1e-6)
    out.sum().backward()
    rout.sum().backward()
    assert_same(ours[0].weight_orig.grad, ref[0].weight_orig.grad, rtol=1e-5, atol=1e-6)
    assert float((ours[0].weight_orig.grad * (1 - ours[0].weight_mask)).abs().sum()) == 0.0
    for lib, m in ((flambeau, ours), (torch, ref)):
        assert lib.nn.utils.prune.is_pruned(m)
        lib.nn.utils.prune.remove(m[0], "weight")
        lib.nn.utils.prune.remove(m[2], "bias")
        assert not lib.nn.utils.prune.is_pruned(m)
    assert _names(ours) == _names(ref)
    assert isinstance(ours[0].weight, flambeau.nn.Parameter)
    assert_same(ours[0].weight, ref[0].weight, device=device)


def test_prune_global_unstructured_and_custom_mask_as_torch(device):
    ours, ref = _pruning_pair(device, lambda nn: nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 3)))
    for lib, m in ((flambeau, ours), (torch, ref)):
        prune = lib.nn.utils.prune
        prune.custom_from_mask(m[1], "bias", lib.tensor([1.0, 0.0, 1.0], device=device if lib is flambeau else "cpu"))
        pairs = [(m[0], "weight"), (m[1], "weight"), (m[1], "bias")]
        prune.global_unstructured(pairs, pruning_method=prune.L1Unstructured, amount=0.5)
        prune.global_unstructured(pairs[:2], pruning_method=prune.L1Unstructured, amount=3)
    assert _names(ours) == _names(ref)
    for o, r in zip(ours, ref):
        for name in ("weight_mask", "bias_mask"):
            if hasattr(r, name):
                assert_same(getattr(o, name), getattr(r, name), device=device)
    with pytest.raises(TypeError, match="PRUNING_TYPE"):
        flambeau.nn.utils.prune.global_unstructured([(ours[0], "weight")], flambeau.nn.utils.prune.LnStructured,
                                                    amount=1, n=2, dim=0)


def test_prune_random_unstructured_follows_the_seed():
    masks = []
    for lib in (flambeau, torch):
        lib.manual_seed(3)
        lin = lib.nn.Linear(6, 5)
        lib.nn.utils.prune.random_unstructured(lin, "weight", amount=0.4)
        lib.nn.utils.prune.random_structured(lin, "weight", amount=2, dim=1)
        masks.append(lin.weight_mask)
    assert_same(*masks)
    assert int((masks[0].sum(0) == 0).sum()) >= 2      # two whole input columns pruned


def test_prune_errors_as_torch():
    for lib in (flambeau, torch):
        prune = lib.nn.utils.prune
        for kwargs, kind in (({"amount": 1.5}, ValueError), ({"amount": -1}, ValueError),
                             ({"amount": "half"}, TypeError), ({"amount": 9}, ValueError)):
            lin = lib.nn.Linear(2, 2)
            with pytest.raises(kind, match="amount"):
                prune.l1_unstructured(lin, "weight", **kwargs)
            # a failed pruning leaves the module untouched
            assert [n for n, _ in lin.named_parameters()] in (["weight", "bias"], ["bias", "weight"])
            assert not prune.is_pruned(lin)
        with pytest.raises(ValueError, match="has to be pruned before"):
            prune.remove(lib.nn.Linear(2, 2), "weight")
        with pytest.raises(ValueError, match="multidimensional"):
            prune.ln_structured(lib.nn.Linear(2, 2), "bias", amount=1, n=2, dim=0)
        with pytest.raises(IndexError):
            prune.ln_structured(lib.nn.Linear(2, 2), "weight", amount=1, n=2, dim=2)
        with pytest.raises(AssertionError, match="importance_scores"):
            prune.l1_unstructured(lib.nn.Linear(2, 2), "weight", amount=1, importance_scores=lib.ones(3))
