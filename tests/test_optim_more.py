"""flambeau.optim's Rprop, ASGD, Adafactor and Muon against torch.optim: trajectories step by step,
option flags, complex parameters, schedulers, state dicts (torch's saved into flambeau's) and errors.

Muon orthogonalizes its update in bfloat16, whose sums torch and flambeau accumulate in different
orders; its exact trajectories are checked with ``ns_steps=0`` (the bfloat16 rounding and scaling
only), and the full iteration against torch's to bfloat16 rounding.
"""
import contextlib
import copy
import importlib

import numpy as np
import pytest

import flambeau
from _oracle import need_torch, to_numpy, no_host_reads
from _nn_helpers import assert_on_device
from test_optim import _compare_structure, _torch_state_to_flambeau

torch = need_torch()

SHAPES = {"Rprop": [(3, 4), (5,), ()], "ASGD": [(3, 4), (5,), ()], "Adafactor": [(3, 4), (5,), (), (2, 3, 4)],
          "Muon": [(4, 6), (6, 4), (5, 5)]}

# (optimizer, options): every option of each appears at least once, foreach=None/False/True included
CASES = [
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.02, maximize=True, foreach=True)),
    ("Rprop", dict(lr=0.02, step_sizes=(0.005, 0.01), foreach=False, capturable=False, differentiable=False)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.6, t0=5, weight_decay=0.1)),
    ("ASGD", dict(lr=0.05, t0=3, maximize=True, foreach=True)),
    ("ASGD", dict(lr=0.05, lambd=0.02, t0=2, weight_decay=0.1, maximize=True, foreach=True)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.1, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=2.0, weight_decay=0.1)),
    ("Adafactor", dict(lr=0.05, maximize=True, foreach=True)),
    ("Adafactor", dict(eps=(1e-3, 1e-3), weight_decay=0.5, foreach=False)),
    ("Muon", dict(ns_steps=0)),
    ("Muon", dict(lr=0.02, momentum=0.5, nesterov=False, weight_decay=0.3, adjust_lr_fn="match_rms_adamw",
                  ns_steps=0)),
    ("Muon", dict(lr=0.05, weight_decay=0.0, adjust_lr_fn="original", ns_steps=0, eps=1e-3)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for name, kw in CASES]
TOLERANCE = {np.float64: dict(rtol=1e-12, atol=1e-14), np.float32: dict(rtol=1e-5, atol=1e-6)}


def _reads_values(name, kw):
    """ASGD (without capturable) and Adafactor read state values on the host, as torch does."""
    return name == "Adafactor" or (name == "ASGD" and not kw.get("capturable"))


def _step_context(name, kw, device):
    return contextlib.nullcontext() if _reads_values(name, kw) else no_host_reads(device)


def _make_pair(name, kw, device, dtype, rng, shapes=None, kw_ref=None):
    shapes = SHAPES[name] if shapes is None else shapes
    init = [(rng.standard_normal(s) + (1j * rng.standard_normal(s) if np.dtype(dtype).kind == "c" else 0))
            .astype(dtype) for s in shapes]
    ours = [flambeau.tensor(a.copy(), requires_grad=True, device=device) for a in init]
    ref = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt_ref = getattr(torch.optim, name)(ref, **(kw if kw_ref is None else kw_ref))
    return ours, ref, getattr(flambeau.optim, name)(ours, **kw), opt_ref


def _random_grads(rng, ref, dtype, step):
    """Mostly positive gradients (so Rprop's signs repeat), a zero row now and then, and one parameter
    without a gradient at step 2."""
    grads = []
    for t in ref:
        g = rng.standard_normal(tuple(t.shape)) + 0.5
        if t.is_complex():
            g = g + 1j * (rng.standard_normal(tuple(t.shape)) - 0.5)
        if step % 4 == 3 and g.ndim:
            g[0] = 0
        grads.append(g.astype(dtype))
    if step == 2:
        grads[1] = None
    return grads


def _set_grads(params, grads, device=None):
    lib = flambeau if isinstance(params[0], flambeau.Tensor) else torch
    for p, g in zip(params, grads):
        if g is None:
            p.grad = None
        else:
            p.grad = lib.tensor(g, device=device) if lib is flambeau else torch.tensor(g)


def _assert_params(ours, ref, rtol, atol, what=""):
    for i, (p, t) in enumerate(zip(ours, ref)):
        assert p.dtype == getattr(flambeau, str(t.dtype).split(".")[1])
        np.testing.assert_allclose(to_numpy(p), to_numpy(t), rtol=rtol, atol=atol, err_msg=f"{what} param {i}")


def _assert_states(opt, opt_ref, rtol, atol):
    """The state tensors of every parameter equal torch's, key by key (same keys, shapes, dtypes)."""
    for group, group_ref in zip(opt.param_groups, opt_ref.param_groups):
        for p, t in zip(group["params"], group_ref["params"]):
            state, state_ref = opt.state.get(p, {}), opt_ref.state.get(t, {})
            assert list(state) == list(state_ref)
            for key, ref_value in state_ref.items():
                assert tuple(state[key].shape) == tuple(ref_value.shape), key
                assert str(state[key].dtype) == str(ref_value.dtype), key
                np.testing.assert_allclose(to_numpy(state[key]), to_numpy(ref_value), rtol=rtol, atol=atol,
                                           err_msg=key)


def _assert_state_devices(opt, device, host_keys=("step",)):
    """State tensors live with their parameter, except the keys torch keeps on the CPU."""
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                assert_on_device(value, "cpu" if key in host_keys else device)


def _host_keys(name, kw):
    if name == "ASGD" or kw.get("capturable"):
        return ()
    return ("step",)


def _run(name, kw, ours, ref, opt, opt_ref, rng, device, dtype, steps, tol=None):
    tol = TOLERANCE[dtype] if tol is None else tol
    for step in range(steps):
        grads = _random_grads(rng, ref, dtype, step)
        _set_grads(ours, grads, device)
        _set_grads(ref, grads)
        with _step_context(name, kw, device):
            opt.step()
        opt_ref.step()
        _assert_params(ours, ref, what=f"step {step}", **tol)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_trajectory_matches_torch(name, kw, dtype, device):
    rng = np.random.default_rng(0)
    ours, ref, opt, opt_ref = _make_pair(name, kw, device, dtype, rng)
    _run(name, kw, ours, ref, opt, opt_ref, rng, device, dtype, steps=25)
    _assert_states(opt, opt_ref, **TOLERANCE[dtype])
    _assert_state_devices(opt, device, _host_keys(name, kw))


@pytest.mark.parametrize("name,kw", [("Rprop", dict(lr=0.05)), ("Rprop", dict(etas=(0.2, 1.3), maximize=True)),
                                     ("Rprop", dict(lr=0.03, foreach=True)), ("ASGD", dict(lr=0.05, t0=4)),
                                     ("ASGD", dict(lr=0.05, t0=4, weight_decay=0.1, maximize=True, foreach=True))])
@pytest.mark.parametrize("dtype", [np.complex128, np.complex64], ids=["complex128", "complex64"])
def test_complex_params_match_torch(name, kw, dtype, device):
    """Complex parameters step as pairs of real numbers (Rprop keeps a step size for each half)."""
    rng = np.random.default_rng(1)
    ours, ref, opt, opt_ref = _make_pair(name, kw, device, dtype, rng, shapes=[(2, 3), (4,)])
    real = np.float64 if dtype == np.complex128 else np.float32
    _run(name, kw, ours, ref, opt, opt_ref, rng, device, dtype, steps=20, tol=TOLERANCE[real])
    _assert_states(opt, opt_ref, **TOLERANCE[real])


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_complex_params_refused_like_torch(name, device):
    results = []
    for lib in (flambeau, torch):
        p = lib.zeros(2, 3, dtype=lib.complex64, requires_grad=True, device=device if lib is flambeau else "cpu")
        q = lib.zeros(3, 2, requires_grad=True, device=device if lib is flambeau else "cpu")
        opt = getattr(lib.optim, name)([q, p])
        q.grad, p.grad = lib.ones_like(q), lib.ones_like(p)
        with pytest.raises(RuntimeError) as exc:
            opt.step()
        results.append((str(exc.value), to_numpy(q)))
    (msg, q), (msg_ref, q_ref) = results
    assert msg == msg_ref
    np.testing.assert_array_equal(q, q_ref)          # no parameter moved before the error


# -- capturable: state scalars on the device, no host reads --------------------------------------
@pytest.mark.parametrize("name,kw", [("Rprop", dict(lr=0.05, capturable=True)),
                                     ("Rprop", dict(lr=0.05, capturable=True, foreach=True, maximize=True)),
                                     ("ASGD", dict(lr=0.05, t0=4, capturable=True)),
                                     ("ASGD", dict(lr=0.05, t0=4, weight_decay=0.1, capturable=True, foreach=True)),
                                     ("ASGD", dict(lr=flambeau.tensor(0.05), t0=4, capturable=True))])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_capturable(name, kw, dtype, device):
    """On cuda the step counters stay on the device and the step reads nothing back, with torch's
    capturable arithmetic; on the CPU torch's AssertionError."""
    if device == "cpu":
        results = []
        for lib in (flambeau, torch):
            p = lib.zeros(3, requires_grad=True)
            p.grad = lib.ones(3)
            options = dict(kw, lr=0.05)
            with pytest.raises(AssertionError) as exc:
                getattr(lib.optim, name)([p], **options).step()
            results.append(str(exc.value))
        assert results[0] == results[1]
        return
    kw_ref = dict(kw, lr=torch.tensor(0.05)) if isinstance(kw["lr"], flambeau.Tensor) else kw
    rng = np.random.default_rng(2)
    with _patched_capturable():
        ours, ref, opt, opt_ref = _make_pair(name, kw, device, dtype, rng, kw_ref=kw_ref)
        _run(name, kw, ours, ref, opt, opt_ref, rng, device, dtype, steps=20)
        _assert_states(opt, opt_ref, **TOLERANCE[dtype])
        _assert_state_devices(opt, device, host_keys=())
        # loading torch's (CPU) state: capturable steps become float32 on the parameter's device
        resumed = [flambeau.tensor(to_numpy(t), requires_grad=True, device=device) for t in ref]
        opt_resumed = getattr(flambeau.optim, name)(resumed, **kw)
        opt_resumed.load_state_dict(_torch_state_to_flambeau(opt_ref.state_dict()))
        resumed_ref = [torch.tensor(to_numpy(t), requires_grad=True) for t in ref]
        opt_resumed_ref = getattr(torch.optim, name)(resumed_ref, **kw_ref)
        opt_resumed_ref.load_state_dict(copy.deepcopy(opt_ref.state_dict()))
        _assert_state_devices(opt_resumed, device, host_keys=())
        assert all(st["step"].dtype == flambeau.float32 for st in opt_resumed.state.values())
        _run(name, kw, resumed, resumed_ref, opt_resumed, opt_resumed_ref, rng, device, dtype, steps=5)


@contextlib.contextmanager
def _patched_capturable():
    """torch refuses capturable=True on the CPU; for the oracle, its capturable arithmetic runs there."""
    with pytest.MonkeyPatch.context() as mp:
        for module in ("torch.optim.rprop", "torch.optim.asgd"):
            mp.setattr(importlib.import_module(module), "_get_capturable_supported_devices",
                       lambda supports_xla=True: ["cpu", "cuda"])
        yield


# -- schedulers, tensor lr, closures ----------------------------------------------------------------
def _quartic_closure(lib, opt, params):
    def closure():
        opt.zero_grad()
        loss = sum((p ** 4).sum() - (p * 0.5).sum() for p in params)
        loss.backward()
        return loss
    return closure


@pytest.mark.parametrize("name,kw", [("Rprop", dict()), ("ASGD", dict(t0=5)), ("ASGD", dict(t0=5, foreach=True)),
                                     ("Adafactor", dict(weight_decay=0.1)), ("Muon", dict(ns_steps=0))])
@pytest.mark.parametrize("tensor_lr", [False, True], ids=["float-lr", "tensor-lr"])
def test_lr_schedulers_match_torch(name, kw, tensor_lr, device):
    """A float lr under CosineAnnealingLR, a float32 Tensor lr under ExponentialLR (filled in place):
    20 closure steps of a quartic, the lr values and the parameters as torch's."""
    results = []
    rng = np.random.default_rng(3)
    init = [rng.standard_normal(s) for s in SHAPES[name]]
    for lib in (flambeau, torch):
        dev = device if lib is flambeau else "cpu"
        params = [lib.tensor(a, requires_grad=True, device=dev) for a in init]
        lr = lib.tensor(0.05) if tensor_lr else 0.05
        opt = getattr(lib.optim, name)(params, lr=lr, **kw)
        if tensor_lr:
            sched = lib.optim.lr_scheduler.ExponentialLR(opt, 0.8)
        else:
            sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=7)
        trace = []
        for _ in range(20):
            loss = opt.step(_quartic_closure(lib, opt, params))
            sched.step()
            trace.append((loss.item(), float(opt.param_groups[0]["lr"]), float(sched.get_last_lr()[0]),
                          [to_numpy(p).copy() for p in params]))
        results.append(trace)
    for (loss, lr, last, params), (loss_ref, lr_ref, last_ref, params_ref) in zip(*results):
        np.testing.assert_allclose(loss, loss_ref, rtol=1e-12)
        assert lr == lr_ref and last == last_ref
        for p, p_ref in zip(params, params_ref):
            np.testing.assert_allclose(p, p_ref, rtol=1e-12, atol=1e-14)


def _mlp_loss(params, x, y):
    w1, b1, w2, b2 = params
    h = (x @ w1.t() + b1).tanh()
    return ((h @ w2.t() + b2 - y) ** 2).mean()


@pytest.mark.parametrize("name,kw", [("Rprop", dict(lr=0.01)), ("ASGD", dict(lr=0.05, t0=10, weight_decay=0.01)),
                                     ("Adafactor", dict(lr=0.05)), ("Muon", dict(lr=0.02, ns_steps=0))])
def test_small_model_with_closure_matches_torch(name, kw, device):
    """An MLP trained 25 steps through closures. For Muon, which takes only matrices, Muon gets the two
    weights and runs the closure, and an Adafactor steps the biases on the same gradients."""
    rng = np.random.default_rng(4)
    shapes = [(8, 3), (8,), (2, 8), (2,)]
    init = [rng.standard_normal(s) * 0.5 for s in shapes]
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    results = []
    for lib in (flambeau, torch):
        dev = device if lib is flambeau else "cpu"
        params = [lib.tensor(a, requires_grad=True, device=dev) for a in init]
        xs, ys = lib.tensor(x, device=dev), lib.tensor(y, device=dev)
        if name == "Muon":
            opts = [lib.optim.Muon(params[0::2], **kw), lib.optim.Adafactor(params[1::2], lr=0.05)]
        else:
            opts = [getattr(lib.optim, name)(params, **kw)]

        def closure():
            assert lib.is_grad_enabled()
            for o in opts:
                o.zero_grad()
            loss = _mlp_loss(params, xs, ys)
            loss.backward()
            return loss

        losses = []
        with lib.no_grad():
            for _ in range(25):
                losses.append(opts[0].step(closure).item())
                for o in opts[1:]:
                    o.step()
        results.append((losses, [to_numpy(p) for p in params]))
    (losses, params), (losses_ref, params_ref) = results
    np.testing.assert_allclose(losses, losses_ref, rtol=1e-11)
    for p, p_ref in zip(params, params_ref):
        np.testing.assert_allclose(p, p_ref, rtol=1e-11, atol=1e-13)
    assert losses[-1] < losses[0]


def test_param_groups_add_param_group_and_zero_grad(device):
    """Two groups with their own options, a third added after 5 steps, gradients zeroed in place or
    dropped between steps: as torch."""
    for name, group_options in [("Rprop", dict(etas=(0.4, 1.1))), ("ASGD", dict(lambd=0.01, t0=3)),
                                ("Adafactor", dict(d=1.5, weight_decay=0.2)), ("Muon", dict(momentum=0.8))]:
        rng = np.random.default_rng(5)
        shapes = SHAPES[name]
        init = [rng.standard_normal(s) for s in shapes]
        extra = rng.standard_normal((5, 5) if name == "Muon" else (2, 2))
        ours = [flambeau.tensor(a, requires_grad=True, device=device) for a in init]
        ref = [torch.tensor(a, requires_grad=True) for a in init]
        kw = dict(ns_steps=0) if name == "Muon" else {}
        opt = getattr(flambeau.optim, name)([{"params": ours[:2]}, dict(params=ours[2:], lr=0.003, **group_options)],
                                            **kw)
        opt_ref = getattr(torch.optim, name)([{"params": ref[:2]}, dict(params=ref[2:], lr=0.003, **group_options)],
                                             **kw)
        for step in range(12):
            if step == 5:
                ours.append(flambeau.tensor(extra, requires_grad=True, device=device))
                ref.append(torch.tensor(extra, requires_grad=True))
                opt.add_param_group({"params": ours[-1], "lr": 0.02})
                opt_ref.add_param_group({"params": ref[-1], "lr": 0.02})
                assert opt.param_groups[-1].keys() == opt_ref.param_groups[-1].keys()
            grads = _random_grads(rng, ref, np.float64, step)
            for p, t, g in zip(ours, ref, grads):
                if g is None:
                    continue
                for q, lib in ((p, flambeau), (t, torch)):
                    (q * lib.tensor(g, device=device if lib is flambeau else "cpu")).sum().backward()
            with _step_context(name, {}, device):
                opt.step()
            opt_ref.step()
            _assert_params(ours, ref, what=f"{name} step {step}", **TOLERANCE[np.float64])
            opt.zero_grad(set_to_none=step % 2 == 0)
            opt_ref.zero_grad(set_to_none=step % 2 == 0)
            assert [p.grad is None for p in ours] == [t.grad is None for t in ref]
        _assert_states(opt, opt_ref, **TOLERANCE[np.float64])


# -- state dicts -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_state_dict_structure_matches_torch(name, kw, device):
    rng = np.random.default_rng(6)
    ours, ref, _, _ = _make_pair(name, kw, device, np.float64, rng)
    opt = getattr(flambeau.optim, name)([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.003}], **kw)
    opt_ref = getattr(torch.optim, name)([{"params": ref[:2]}, {"params": ref[2:], "lr": 0.003}], **kw)
    _compare_structure(opt.state_dict(), opt_ref.state_dict())
    _run(name, kw, ours, ref, opt, opt_ref, rng, device, np.float64, steps=3)
    _compare_structure(opt.state_dict(), opt_ref.state_dict())
    assert repr(opt) == repr(opt_ref)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_state_dict_from_torch_continues_identically(name, kw, device):
    """After 6 steps, torch's state_dict (through NumPy) and flambeau's own are loaded into fresh
    flambeau optimizers (whose options differ: they come from the state dict); 20 more steps match a
    torch optimizer resumed from the same state dict."""
    rng = np.random.default_rng(7)
    ours, ref, opt, opt_ref = _make_pair(name, kw, device, np.float64, rng)
    _run(name, kw, ours, ref, opt, opt_ref, rng, device, np.float64, steps=6)

    def fresh(lib, params, dev):
        return [lib.tensor(to_numpy(p), requires_grad=True, device=dev) for p in params]

    from_torch = fresh(flambeau, ref, device)
    opt_from_torch = getattr(flambeau.optim, name)(from_torch, lr=0.123)
    opt_from_torch.load_state_dict(_torch_state_to_flambeau(opt_ref.state_dict()))
    from_ours = fresh(flambeau, ours, device)
    opt_from_ours = getattr(flambeau.optim, name)(from_ours, lr=0.123)
    opt_from_ours.load_state_dict(copy.deepcopy(opt.state_dict()))
    resumed_ref = [torch.tensor(to_numpy(t), requires_grad=True) for t in ref]
    opt_resumed_ref = getattr(torch.optim, name)(resumed_ref, lr=0.123)
    opt_resumed_ref.load_state_dict(copy.deepcopy(opt_ref.state_dict()))
    _compare_structure(opt_from_torch.state_dict(), opt_resumed_ref.state_dict())
    _compare_structure(opt_from_ours.state_dict(), opt_resumed_ref.state_dict())
    # torch leaves ``step`` where it was saved: torch's on the CPU, ours (ASGD's) on the device
    _assert_state_devices(opt_from_torch, device, ("step",))
    _assert_state_devices(opt_from_ours, device, () if name == "ASGD" else ("step",))

    for step in range(20):
        grads = _random_grads(rng, ref, np.float64, step + 6)
        for params in (from_torch, from_ours):
            _set_grads(params, grads, device)
        _set_grads(resumed_ref, grads)
        for o in (opt_from_torch, opt_from_ours):
            with _step_context(name, kw, device):
                o.step()
        opt_resumed_ref.step()
        _assert_params(from_torch, resumed_ref, what=f"from torch, step {step}", **TOLERANCE[np.float64])
        _assert_params(from_ours, resumed_ref, what=f"from flambeau, step {step}", **TOLERANCE[np.float64])


@pytest.mark.parametrize("name,keys", [("Rprop", ("step",)), ("ASGD", ("step", "eta", "mu")),
                                       ("Adafactor", ("step",))])
def test_state_scalars_saved_as_numbers_load_like_torch(name, keys, device):
    """Older checkpoints hold the state scalars as Python floats: loading turns them into tensors
    (ASGD's on the parameter's device) and the steps go on as torch's."""
    rng = np.random.default_rng(8)
    kw = dict(lr=0.05, t0=2) if name == "ASGD" else {}
    ours, ref, opt, opt_ref = _make_pair(name, kw, device, np.float64, rng)
    _run(name, kw, ours, ref, opt, opt_ref, rng, device, np.float64, steps=4)
    saved, saved_ref = copy.deepcopy(opt.state_dict()), copy.deepcopy(opt_ref.state_dict())
    for sd in (saved, saved_ref):
        for st in sd["state"].values():
            for key in keys:
                st[key] = float(st[key])
    opt.load_state_dict(saved)
    opt_ref.load_state_dict(saved_ref)
    _compare_structure(opt.state_dict(), opt_ref.state_dict())
    _assert_state_devices(opt, device, () if name == "ASGD" else ("step",))
    _run(name, kw, ours, ref, opt, opt_ref, rng, device, np.float64, steps=5)


@pytest.mark.parametrize("name,kw", [("Rprop", dict()), ("ASGD", dict(t0=2)), ("Adafactor", dict())])
def test_default_dtype_float64_state_scalars(name, kw, device):
    """Under a float64 default dtype the state scalars are float64, as torch's."""
    rng = np.random.default_rng(9)
    prev, prev_ref = flambeau.get_default_dtype(), torch.get_default_dtype()
    flambeau.set_default_dtype(flambeau.float64)
    torch.set_default_dtype(torch.float64)
    try:
        ours, ref, opt, opt_ref = _make_pair(name, kw, device, np.float32, rng)
        _run(name, kw, ours, ref, opt, opt_ref, rng, device, np.float32, steps=6)
        _compare_structure({k: v for k, v in opt.state_dict().items() if k != "state"},
                           {k: v for k, v in opt_ref.state_dict().items() if k != "state"})
        _assert_states(opt, opt_ref, **TOLERANCE[np.float32])
    finally:
        flambeau.set_default_dtype(prev)
        torch.set_default_dtype(prev_ref)


# -- Muon's bfloat16 Newton-Schulz iteration ----------------------------------------------------------
def _orthogonalized(lib, grad, device, **kw):
    """Muon's update of a zero parameter with lr 1 and no momentum or decay: minus the orthogonalized
    gradient scaled by the shape's lr ratio."""
    p = lib.zeros(*grad.shape, dtype=getattr(lib, grad.dtype.name), requires_grad=True, device=device)
    opt = lib.optim.Muon([p], lr=1.0, weight_decay=0.0, momentum=0.0, nesterov=False, **kw)
    p.grad = lib.tensor(grad, device=device)
    with no_host_reads(device):
        opt.step()
    return -to_numpy(p)


@pytest.mark.parametrize("kw", [dict(), dict(ns_coefficients=(2.0, -1.5, 0.5), ns_steps=3, eps=1e-4),
                                dict(ns_steps=8, adjust_lr_fn="match_rms_adamw")],
                         ids=["defaults", "coefficients", "steps"])
def test_muon_orthogonalization_agrees_with_torch_in_bfloat16(kw, device):
    """Wide, tall, square and single-row gradients, float32 and float64: almost every element of the
    update equals torch's bfloat16 result exactly; the rest differ by a few bfloat16 rounding steps
    (torch and flambeau add the products in different orders)."""
    rng = np.random.default_rng(10)
    equal = total = 0
    for shape in [(4, 6), (6, 4), (5, 5), (1, 7), (7, 1), (3, 16), (12, 5)]:
        for dtype in (np.float32, np.float64):
            grad = (rng.standard_normal(shape) * rng.uniform(0.01, 100)).astype(dtype)
            ours = _orthogonalized(flambeau, grad, device, **kw)
            ref = _orthogonalized(torch, grad, "cpu", **kw)
            scale = np.abs(ref).max()
            np.testing.assert_allclose(ours, ref, rtol=0, atol=scale * 2.0 ** -5, err_msg=str(shape))
            equal += int((ours == ref).sum())
            total += ours.size
    assert equal >= 0.9 * total, (equal, total)


@pytest.mark.parametrize("kw", [dict(lr=0.02), dict(lr=0.02, nesterov=False, adjust_lr_fn="match_rms_adamw"),
                                dict(lr=0.01, momentum=0.9, weight_decay=0.0, ns_steps=3)],
                         ids=["defaults", "no-nesterov-adamw-lr", "momentum-ns3"])
def test_muon_trajectory_agrees_with_torch_to_bfloat16(kw, device):
    """20 steps with the full iteration: momentum buffers as torch's to float64 rounding, parameters
    within a few bfloat16 rounding steps of the update per step."""
    rng = np.random.default_rng(11)
    ours, ref, opt, opt_ref = _make_pair("Muon", kw, device, np.float64, rng)
    # the largest lr an update gets: (6, 4) under "original", the 6-long side under "match_rms_adamw"
    largest_lr = kw["lr"] * (0.2 * np.sqrt(6) if kw.get("adjust_lr_fn") else np.sqrt(1.5))
    for step in range(20):
        grads = _random_grads(rng, ref, np.float64, step)
        _set_grads(ours, grads, device)
        _set_grads(ref, grads)
        with no_host_reads(device):
            opt.step()
        opt_ref.step()
        _assert_params(ours, ref, rtol=0, atol=(step + 1) * largest_lr * 2.0 ** -6, what=f"step {step}")
    for p, t in zip(ours, ref):
        np.testing.assert_allclose(to_numpy(opt.state[p]["momentum_buffer"]),
                                   to_numpy(opt_ref.state[t]["momentum_buffer"]), rtol=1e-12, atol=1e-14)


# -- errors --------------------------------------------------------------------------------------------
ERROR_CASES = [
    ("Rprop", dict(lr=-0.1)), ("Rprop", dict(etas=(1.5, 1.2))), ("Rprop", dict(etas=(0.5, 0.9))),
    ("Rprop", dict(etas=(0.0, 1.2))), ("Rprop", dict(lr="tensor2")),
    ("ASGD", dict(lr=-1e-3)), ("ASGD", dict(weight_decay=-0.5)), ("ASGD", dict(lr="tensor2")),
    ("Adafactor", dict(lr=-0.01)), ("Adafactor", dict(beta2_decay=0.5)), ("Adafactor", dict(eps=(-1e-3, 1e-3))),
    ("Adafactor", dict(eps=(None, -1.0))), ("Adafactor", dict(d=0.5)), ("Adafactor", dict(weight_decay=-0.1)),
    ("Adafactor", dict(lr="tensor2")), ("Adafactor", dict(capturable=True)),
    ("Muon", dict(lr=-0.02)), ("Muon", dict(momentum=-0.9)), ("Muon", dict(weight_decay=-0.1)),
    ("Muon", dict(adjust_lr_fn="spectral")), ("Muon", dict(lr="tensor2")), ("Muon", dict(foreach=True)),
]


@pytest.mark.parametrize("name,kw", ERROR_CASES, ids=[f"{n}-{kw}" for n, kw in ERROR_CASES])
def test_invalid_arguments_raise_like_torch(name, kw):
    results = []
    for lib in (torch, flambeau):
        options = {k: (lib.tensor([0.1, 0.2]) if v == "tensor2" else v) for k, v in kw.items()}
        with pytest.raises(Exception) as exc:
            getattr(lib.optim, name)([lib.zeros(2, 2, requires_grad=True)], **options)
        results.append(exc)
    ref, ours = results
    assert type(ours.value) is type(ref.value)
    if isinstance(ref.value, ValueError):
        assert str(ours.value) == str(ref.value)


def _step_errors(lib):
    p = lib.zeros(2, 3, requires_grad=True)
    v = lib.zeros(3, requires_grad=True)

    def with_grads(opt, *params):
        for q in params:
            q.grad = lib.ones_like(q)
        return opt

    return [
        lambda: lib.optim.Muon([v]),                                                  # 1-D at construction
        lambda: lib.optim.Muon([lib.zeros(2, 3, 4, requires_grad=True)]),             # 3-D
        lambda: _muon_with(lib, p, v).step(),
        lambda: with_grads(lib.optim.Muon([p], ns_steps=100), p).step(),
        lambda: with_grads(lib.optim.Muon([p], ns_coefficients=(1.0, 2.0)), p).step(),
        lambda: lib.optim.Muon([]),
        lambda: lib.optim.Rprop(p),
        lambda: lib.optim.ASGD([p, 1.0]),
        lambda: lib.optim.Adafactor([{"params": [p]}, {"params": [p]}]),
    ]


def _muon_with(lib, p, v):
    """A Muon whose second group got a 1-D parameter through add_param_group (torch only checks the
    parameters given to the constructor): the step refuses its gradient."""
    opt = lib.optim.Muon([p])
    opt.add_param_group({"params": [v]})
    p.grad, v.grad = lib.ones_like(p), lib.ones_like(v)
    return opt


@pytest.mark.parametrize("i", range(len(_step_errors(flambeau))))
def test_parameter_and_step_errors_like_torch(i):
    results = []
    for lib in (torch, flambeau):
        try:
            _step_errors(lib)[i]()
        except Exception as exc:        # noqa: BLE001 (the error is the result)
            results.append((type(exc), str(exc)))
        else:
            results.append(None)
    ref, ours = results
    assert ref is not None and ours is not None and ours[0] is ref[0]
    assert ours[1] in (ref[1], ref[1].replace("torch.", "flambeau.")), (ours, ref)


@pytest.mark.parametrize("name", ["Rprop", "ASGD"])
def test_differentiable_is_refused_clearly(name):
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        getattr(flambeau.optim, name)([flambeau.zeros(2, requires_grad=True)], differentiable=True)


def test_signatures_match_torch():
    import inspect
    for name in ("Rprop", "ASGD", "Adafactor", "Muon"):
        ours = inspect.signature(getattr(flambeau.optim, name).__init__).parameters
        ref = inspect.signature(getattr(torch.optim, name).__init__).parameters
        assert [(p.name, p.kind, p.default) for p in ours.values()] == \
               [(p.name, p.kind, p.default) for p in ref.values()], name


def test_docstring_examples_run():
    import doctest
    from flambeau.optim import rprop, asgd, _adafactor, _muon
    for module in (rprop, asgd, _adafactor, _muon):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, module.__name__
