"""Helpers for nn tests: build the same module in flambeau and torch, copy torch's weights, compare."""
import numpy as np

import flambeau
from _oracle import assert_same, need_torch, no_host_reads


def copy_state(ours, ref, device="cpu"):
    """Load torch module ref's state_dict into flambeau module ours."""
    sd = {k: flambeau.tensor(v.detach().numpy(), device=device) for k, v in ref.state_dict().items()}
    ours.load_state_dict(sd)


def _flat(out):
    if isinstance(out, (tuple, list)):
        r = []
        for o in out:
            r.extend(_flat(o))
        return r
    return [out]


def check_module(make, *shapes, device="cpu", seed=0, rtol=1e-6, atol=1e-8, train=True, inputs=None,
                 grad_inputs=True, host_reads=False):
    """make(nn) builds the module; inputs are float64 N(0,1) arrays of `shapes` (or given `inputs`).

    Compares outputs, input gradients and every parameter gradient (by name) under a random
    upstream gradient; returns (ours, ref) modules. On cuda, the forward and backward passes
    must not read device values on the host unless ``host_reads``; outputs, gradients and
    buffers must stay on the device.
    """
    import contextlib

    def reads():
        return contextlib.nullcontext() if host_reads else no_host_reads(device)
    torch = need_torch()
    torch.manual_seed(seed)
    ref = make(torch.nn).double()
    ours = make(flambeau.nn).double().to(device)
    copy_state(ours, ref, device)
    ref.train(train)
    ours.train(train)
    rng = np.random.default_rng(seed)
    arrays = inputs if inputs is not None else [rng.standard_normal(s) for s in shapes]
    xs = [flambeau.tensor(a, device=device, requires_grad=grad_inputs and a.dtype.kind == "f") for a in arrays]
    rs = [torch.tensor(a, requires_grad=grad_inputs and a.dtype.kind == "f") for a in arrays]
    with reads():
        out = _flat(ours(*xs))
    out_ref = _flat(ref(*rs))
    assert_on_device(out, device)
    assert len(out) == len(out_ref)
    for o, r in zip(out, out_ref):
        assert_same(o, r, rtol, atol)
    pairs = [(o, r) for o, r in zip(out, out_ref) if r.requires_grad]
    if pairs:
        cots = [rng.standard_normal(tuple(r.shape)) for _, r in pairs]
        cots_ours = [flambeau.tensor(c, device=device) for c in cots]
        with reads():
            flambeau.autograd.backward([o for o, _ in pairs], cots_ours)
        torch.autograd.backward([r for _, r in pairs], [torch.tensor(c) for c in cots])
        assert_on_device(xs, device)
        assert_on_device(list(ours.parameters()), device)
        for x, r in zip(xs, rs):
            if r.grad is not None:
                assert_same(x.grad, r.grad, rtol, atol)
        ref_params = dict(ref.named_parameters())
        for name, p in ours.named_parameters():
            g = ref_params[name].grad
            if g is None:
                assert p.grad is None, name
            else:
                assert p.grad is not None, f"no gradient for parameter {name}"
                assert_same(p.grad, g, rtol, atol)
    assert_on_device(list(ours.buffers()), device)
    for (name, b), (name_ref, b_ref) in zip(ours.named_buffers(), ref.named_buffers()):
        assert name == name_ref
        assert_same(b, b_ref, rtol, atol)
    return ours, ref


def assert_on_device(obj, device):
    """Every flambeau tensor in obj (nested lists, tuples, dicts) lives on device, as do their gradients."""
    if isinstance(obj, (list, tuple)):
        for o in obj:
            assert_on_device(o, device)
    elif isinstance(obj, dict):
        for o in obj.values():
            assert_on_device(o, device)
    elif isinstance(obj, flambeau.Tensor):
        assert obj.device.type == flambeau.device(device).type, f"tensor on {obj.device}, expected {device}"
        if obj.is_leaf and obj.grad is not None:
            assert_on_device(obj.grad, device)
