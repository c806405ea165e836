"""flambeau.optim against torch.optim: trajectories, state dicts, errors, hooks, LBFGS."""
import copy
import warnings

import numpy as np
import pytest

import flambeau
from _oracle import need_torch, to_numpy
from _nn_helpers import assert_on_device, no_host_reads

torch = need_torch()

# (optimizer name, options): every option of every optimizer appears at least once
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, maximize=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.01, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, amsgrad=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.2, amsgrad=True, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.05, betas=(0.8, 0.95), weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for name, kw in CASES]
SHAPES = [(3, 4), (5,), ()]


def _pair(arrays, device="cpu"):
    ours = [flambeau.tensor(a.copy(), requires_grad=True, device=device) for a in arrays]
    ref = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return ours, ref


def _set_grads(ours, ref, grads, device="cpu"):
    for p, t, g in zip(ours, ref, grads):
        if g is None:
            p.grad, t.grad = None, None
        else:
            p.grad, t.grad = flambeau.tensor(g, device=device), torch.tensor(g)


def _assert_params(ours, ref, rtol=1e-12, atol=1e-14):
    for p, t in zip(ours, ref):
        np.testing.assert_allclose(to_numpy(p), to_numpy(t), rtol=rtol, atol=atol)


def _run(ours, ref, opt, opt_ref, rng, steps, device="cpu", dtype=np.float64, rtol=1e-12, atol=1e-14):
    for step in range(steps):
        grads = [rng.standard_normal(p.shape).astype(dtype) for p in ref]
        if step == 2:
            grads[1] = None          # a parameter without gradient is skipped
        _set_grads(ours, ref, grads, device)
        with no_host_reads(device):
            opt.step()
        opt_ref.step()
        _assert_params(ours, ref, rtol, atol)
    _assert_state_devices(opt, device)


def _assert_state_devices(opt, device, host_keys=("step", "mu_product")):
    """Parameters and their state tensors on device, except the scalar counters: 0-d CPU tensors, as
    torch keeps them (load_state_dict moves all but ``step`` to the parameter's device, as torch's)."""
    for group in opt.param_groups:
        assert_on_device(group["params"], device)
        for p in group["params"]:
            for k, v in opt.state.get(p, {}).items():
                if isinstance(v, flambeau.Tensor):
                    assert_on_device(v, "cpu" if k in host_keys else device)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_trajectory_matches_torch(name, kw, device):
    rng = np.random.default_rng(0)
    ours, ref = _pair([rng.standard_normal(s) for s in SHAPES], device)
    opt = getattr(flambeau.optim, name)(ours, **kw)
    opt_ref = getattr(torch.optim, name)(ref, **kw)
    _run(ours, ref, opt, opt_ref, rng, 8, device)


@pytest.mark.parametrize("name,kw", CASES[::3], ids=IDS[::3])
def test_trajectory_float32(name, kw, device):
    rng = np.random.default_rng(1)
    ours, ref = _pair([rng.standard_normal(s).astype(np.float32) for s in SHAPES], device)
    opt = getattr(flambeau.optim, name)(ours, **kw)
    opt_ref = getattr(torch.optim, name)(ref, **kw)
    _run(ours, ref, opt, opt_ref, rng, 6, device, dtype=np.float32, rtol=1e-5, atol=1e-6)
    for p in ours:
        assert p.dtype == flambeau.float32


@pytest.mark.parametrize("name,kw", [CASES[4], CASES[9], CASES[15], CASES[17], CASES[20], CASES[22], CASES[25],
                                     CASES[28]])
def test_param_groups_and_noncontiguous_params(name, kw, device):
    """Two groups with their own options; one parameter is a transposed (non-contiguous) leaf."""
    rng = np.random.default_rng(2)
    a, b, c = rng.standard_normal((4, 3)), rng.standard_normal((2, 5)), rng.standard_normal(6)
    ours = [flambeau.tensor(a, device=device).t().detach().requires_grad_(),
            flambeau.tensor(b, requires_grad=True, device=device), flambeau.tensor(c, requires_grad=True, device=device)]
    ref = [torch.tensor(a).t().detach().requires_grad_(), torch.tensor(b, requires_grad=True),
           torch.tensor(c, requires_grad=True)]
    assert not ours[0].is_contiguous()
    lr = kw.get("lr", 0.01)
    opt = getattr(flambeau.optim, name)([{"params": ours[:2]}, {"params": ours[2:], "lr": lr / 3}], **kw)
    opt_ref = getattr(torch.optim, name)([{"params": ref[:2]}, {"params": ref[2:], "lr": lr / 3}], **kw)
    _run(ours, ref, opt, opt_ref, rng, 6, device)


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1)), ("Adam", dict(lr=0.1)),
                                     ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
                                     ("Adagrad", dict(lr=0.1)), ("NAdam", dict(lr=0.1)),
                                     ("RAdam", dict(lr=0.1)), ("Adamax", dict(lr=0.1)), ("Adadelta", dict())])
def test_complex_params(name, kw, device):
    rng = np.random.default_rng(3)
    init = [rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3)) for _ in range(2)]
    ours, ref = _pair(init, device)
    opt = getattr(flambeau.optim, name)(ours, **kw)
    opt_ref = getattr(torch.optim, name)(ref, **kw)
    for _ in range(5):
        grads = [rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3)) for _ in range(2)]
        _set_grads(ours, ref, grads, device)
        with no_host_reads(device):
            opt.step()
        opt_ref.step()
    _assert_params(ours, ref)
    _assert_state_devices(opt, device)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
                                  "RAdam", "LBFGS"])
def test_tensor_lr_with_scheduler_matches_torch(name, device):
    """A float32 Tensor lr: derived step sizes round in float32, and a scheduler fills it in place."""
    results = []
    for lib in (flambeau, torch):
        p = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64, requires_grad=True,
                       device=device if lib is not torch else "cpu")
        kw = {} if name in ("LBFGS", "SGD") else dict(weight_decay=0.1)
        opt = getattr(lib.optim, name)([p], lr=lib.tensor(0.05), **kw)
        sched = lib.optim.lr_scheduler.ExponentialLR(opt, 0.5)

        def closure():
            opt.zero_grad()
            loss = (p ** 4).sum()
            loss.backward()
            return loss

        for _ in range(4):
            opt.step(closure)
            sched.step()
        results.append((to_numpy(p), opt.param_groups[0]["lr"], sched.get_last_lr()[0]))
    (p, lr, last), (p_ref, lr_ref, last_ref) = results
    np.testing.assert_allclose(p, p_ref, rtol=1e-14, atol=1e-15)
    assert isinstance(lr, flambeau.Tensor) and isinstance(last, flambeau.Tensor)
    assert lr.item() == lr_ref.item() and last.item() == last_ref.item()


def _mlp_loss(lib, params, x, y):
    w1, b1, w2, b2 = params
    h = (x @ w1.t() + b1).tanh()
    return ((h @ w2.t() + b2 - y) ** 2).mean()


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                     ("Adam", dict(lr=0.01, amsgrad=True)), ("RMSprop", dict(lr=0.01))])
def test_closure_with_backward_matches_torch(name, kw, device):
    """A small MLP trained through closures in both frameworks; the closure runs with grad enabled."""
    rng = np.random.default_rng(4)
    shapes = [(8, 3), (8,), (2, 8), (2,)]
    ours, ref = _pair([rng.standard_normal(s) * 0.5 for s in shapes], device)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    opt = getattr(flambeau.optim, name)(ours, **kw)
    opt_ref = getattr(torch.optim, name)(ref, **kw)

    def make_closure(lib, o, params):
        def closure():
            assert lib.is_grad_enabled()
            o.zero_grad()
            dev = {"device": device} if lib is flambeau else {}
            loss = _mlp_loss(lib, params, lib.tensor(x, **dev), lib.tensor(y, **dev))
            loss.backward()
            return loss
        return closure

    with flambeau.no_grad(), torch.no_grad():
        for _ in range(6):
            loss = opt.step(make_closure(flambeau, opt, ours))
            loss_ref = opt_ref.step(make_closure(torch, opt_ref, ref))
            np.testing.assert_allclose(loss.item(), loss_ref.item(), rtol=1e-12)
    _assert_params(ours, ref)
    _assert_state_devices(opt, device)


# -- state dicts ----------------------------------------------------------------------------
def _compare_structure(ours, ref, path="state_dict"):
    if isinstance(ref, torch.Tensor):
        assert isinstance(ours, flambeau.Tensor), f"{path}: expected a Tensor, got {type(ours).__name__}"
        assert tuple(ours.shape) == tuple(ref.shape), path
        assert str(ours.dtype) == str(ref.dtype), f"{path}: dtype {ours.dtype} != {ref.dtype}"
        np.testing.assert_allclose(to_numpy(ours), to_numpy(ref), rtol=1e-12, atol=1e-14, err_msg=path)
    elif isinstance(ref, dict):
        assert isinstance(ours, dict), path
        assert list(ours.keys()) == list(ref.keys()), f"{path}: keys {list(ours)} != {list(ref)}"
        for k in ref:
            _compare_structure(ours[k], ref[k], f"{path}[{k!r}]")
    elif isinstance(ref, (list, tuple)):
        assert type(ours) is type(ref) and len(ours) == len(ref), f"{path}: {ours!r} != {ref!r}"
        for i, (o, r) in enumerate(zip(ours, ref)):
            _compare_structure(o, r, f"{path}[{i}]")
    else:
        assert ours == ref and type(ours) is type(ref), f"{path}: {ours!r} != {ref!r}"


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_state_dict_structure_matches_torch(name, kw, device):
    rng = np.random.default_rng(5)
    ours, ref = _pair([rng.standard_normal(s) for s in SHAPES], device)
    opt = getattr(flambeau.optim, name)([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.003}], **kw)
    opt_ref = getattr(torch.optim, name)([{"params": ref[:2]}, {"params": ref[2:], "lr": 0.003}], **kw)
    _compare_structure(opt.state_dict(), opt_ref.state_dict())          # before any step
    _run(ours, ref, opt, opt_ref, rng, 3, device)
    _compare_structure(opt.state_dict(), opt_ref.state_dict())
    assert repr(opt) == repr(opt_ref)


def _torch_state_to_flambeau(sd):
    """A torch optimizer state_dict with its tensors turned into flambeau (CPU) tensors."""
    def conv(v):
        if isinstance(v, torch.Tensor):
            return flambeau.tensor(v.detach().numpy().copy())
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v
    return conv(sd)


@pytest.mark.parametrize("name,kw", CASES[1::2], ids=IDS[1::2])
def test_state_dict_round_trip_continues_identically(name, kw, device):
    """Save after 4 steps, load into fresh optimizers (from ours, and from torch's), continue 4 steps.

    Loading casts floating state to the parameter's dtype (NAdam's float32 ``mu_product`` becomes
    float64) and moves it to the parameter's device, so resumed runs are compared with a torch run
    resumed the same way. On cuda, ours resumes on the CPU and torch's CPU state resumes on cuda.
    """
    rng = np.random.default_rng(6)
    ours, ref = _pair([rng.standard_normal(s) for s in SHAPES], device)
    opt = getattr(flambeau.optim, name)(ours, **kw)
    opt_ref = getattr(torch.optim, name)(ref, **kw)
    _run(ours, ref, opt, opt_ref, rng, 4, device)
    saved = copy.deepcopy(opt.state_dict())
    assert_on_device([v for st in saved["state"].values() for k, v in st.items()
                      if k not in ("step", "mu_product")], device)

    resumed = [flambeau.tensor(p.detach().cpu().numpy(), requires_grad=True) for p in ours]
    opt2 = getattr(flambeau.optim, name)(resumed, lr=123.0)           # options come from the state dict
    opt2.load_state_dict(saved)
    _assert_state_devices(opt2, "cpu")
    from_torch = [flambeau.tensor(p.detach().cpu().numpy(), requires_grad=True, device=device) for p in ours]
    opt3 = getattr(flambeau.optim, name)(from_torch)
    opt3.load_state_dict(_torch_state_to_flambeau(opt_ref.state_dict()))
    _assert_state_devices(opt3, device, host_keys=("step",))
    ref_resumed = [torch.tensor(t.detach().numpy(), requires_grad=True) for t in ref]
    opt_ref2 = getattr(torch.optim, name)(ref_resumed)
    opt_ref2.load_state_dict(copy.deepcopy(opt_ref.state_dict()))
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    _compare_structure(opt2.state_dict(), opt_ref2.state_dict())

    for _ in range(4):
        grads = [rng.standard_normal(p.shape) for p in ref]
        for params in (ours, resumed, from_torch):
            for p, g in zip(params, grads):
                p.grad = flambeau.tensor(g, device=p.device)
        for params in (ref, ref_resumed):
            for t, g in zip(params, grads):
                t.grad = torch.tensor(g)
        for o in (opt, opt2, opt3, opt_ref, opt_ref2):
            o.step()
    _assert_params(ours, ref)
    _assert_params(resumed, ref_resumed)
    _assert_params(from_torch, ref_resumed)
    _assert_state_devices(opt3, device, host_keys=("step",))


def test_load_state_dict_validates_groups():
    a = [flambeau.zeros(2, requires_grad=True), flambeau.zeros(3, requires_grad=True)]
    opt = flambeau.optim.SGD(a, lr=0.1)
    other = flambeau.optim.SGD([{"params": a[:1]}, {"params": a[1:]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(other.state_dict())
    small = flambeau.optim.SGD(a[:1], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(small.state_dict())


# -- construction errors (type and message as torch's) ----------------------------------------
ERROR_CASES = [
    ("SGD", dict(lr=-0.1)), ("SGD", dict(momentum=-0.5)), ("SGD", dict(weight_decay=-1.0)),
    ("SGD", dict(nesterov=True)), ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1)),
    ("Adam", dict(lr=-1e-3)), ("Adam", dict(eps=-1.0)), ("Adam", dict(betas=(1.0, 0.999))),
    ("Adam", dict(betas=(0.9, -0.1))), ("Adam", dict(weight_decay=-0.1)), ("Adam", dict(betas=(0.9, 1))),
    ("AdamW", dict(lr=-2.0)), ("RMSprop", dict(alpha=-0.5)), ("RMSprop", dict(momentum=-0.5)),
    ("RMSprop", dict(eps=-1e-3)), ("Adagrad", dict(lr_decay=-1.0)),
    ("Adagrad", dict(initial_accumulator_value=-1.0)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(lr=-1.0)),
    ("Adamax", dict(betas=(0.9, 1.5))), ("NAdam", dict(momentum_decay=-1.0)), ("RAdam", dict(betas=(-0.1, 0.9))),
    ("LBFGS", dict(lr=-1.0)),
]


@pytest.mark.parametrize("name,kw", ERROR_CASES, ids=[f"{n}-{kw}" for n, kw in ERROR_CASES])
def test_invalid_arguments_raise_like_torch(name, kw):
    with pytest.raises(Exception) as ref_exc:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw)
    with pytest.raises(type(ref_exc.value)) as exc:
        getattr(flambeau.optim, name)([flambeau.zeros(2, requires_grad=True)], **kw)
    assert str(exc.value) == str(ref_exc.value)


def test_invalid_learning_rate_message():
    with pytest.raises(ValueError, match=r"^Invalid learning rate: -0.1$"):
        flambeau.optim.SGD([flambeau.zeros(1, requires_grad=True)], lr=-0.1)


def _param_errors(lib):
    p, q = lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)
    return [
        lambda: lib.optim.SGD([], lr=0.1),                                          # empty list
        lambda: lib.optim.SGD(p, lr=0.1),                                           # a bare tensor
        lambda: lib.optim.SGD([{"params": [p]}, {"params": [p, q]}], lr=0.1),     # shared parameter
        lambda: lib.optim.SGD([p * 2], lr=0.1),                                     # non-leaf
        lambda: lib.optim.SGD([p, 1.0], lr=0.1),                                    # not a tensor
        lambda: lib.optim.SGD([{"params": {p, q}}], lr=0.1),                       # unordered
        lambda: lib.optim.SGD([("a", p), q], lr=0.1),                               # names missing
        lambda: lib.optim.SGD([p]).add_param_group([q]),                            # not a dict
        lambda: lib.optim.LBFGS([{"params": [p]}, {"params": [q]}]),               # LBFGS: one group
    ]


@pytest.mark.parametrize("i", range(len(_param_errors(flambeau))))
def test_parameter_errors_like_torch(i):
    with pytest.raises(Exception) as ref_exc:
        _param_errors(torch)[i]()
    with pytest.raises(type(ref_exc.value)) as exc:
        _param_errors(flambeau)[i]()
    ours, ref = str(exc.value), str(ref_exc.value)
    assert ours == ref.replace("torch.", "flambeau.") or ours == ref, (ours, ref)


def test_duplicate_parameter_in_group_warns():
    p = flambeau.zeros(2, requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        flambeau.optim.SGD([p, p], lr=0.1)


def test_add_param_group_fills_defaults_and_names():
    p, q = flambeau.zeros(2, requires_grad=True), flambeau.zeros(3, requires_grad=True)
    opt = flambeau.optim.Adam([p], lr=0.5)
    opt.add_param_group({"params": q, "eps": 1e-3})
    assert opt.param_groups[1]["params"] == [q]
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["eps"] == 1e-3
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    named = flambeau.optim.SGD([("w", p), ("b", q)], lr=0.1)
    assert named.param_groups[0]["param_names"] == ["w", "b"]
    assert named.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]


# -- zero_grad, hooks, versions -----------------------------------------------------------
def test_zero_grad(device):
    p = flambeau.ones(3, requires_grad=True, device=device)
    (p * 2).sum().backward()
    opt = flambeau.optim.SGD([p], lr=0.1)
    g = p.grad
    with no_host_reads(device):
        opt.zero_grad(set_to_none=False)
    assert p.grad is g and np.array_equal(p.grad.cpu().numpy(), np.zeros(3))
    assert_on_device(p, device)
    opt.zero_grad()
    assert p.grad is None


def test_step_hooks_and_version_counter(device):
    p = flambeau.ones(3, requires_grad=True, device=device)
    opt = flambeau.optim.SGD([p], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt)))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o is opt)))
    p.grad = flambeau.ones(3, device=device)
    v = p._version
    opt.step()
    assert calls == [("pre", True), ("post", True)]
    assert p._version > v
    h1.remove()
    opt.step()
    assert calls[-1] == ("post", True) and len(calls) == 3
    assert_on_device(p, device)
    np.testing.assert_allclose(p.detach().cpu().numpy(), np.full(3, 0.8))


def test_step_hooks_see_the_optimizer_in_args_like_torch(device):
    """torch passes step's full positional args, the optimizer first, to pre and post hooks, and runs
    step with the args a pre hook returns."""
    torch = need_torch()

    def run(lib, dev):
        p = lib.tensor([1.0, 2.0], requires_grad=True, device=dev)
        opt = lib.optim.SGD([p], lr=0.5)
        seen = []
        opt.register_step_pre_hook(lambda o, args, kwargs: seen.append(("pre", len(args), args[0] is o,
                                                                       sorted(kwargs))))
        opt.register_step_post_hook(lambda o, args, kwargs: seen.append(("post", len(args), args[0] is o,
                                                                         sorted(kwargs))))
        closure = lambda: 7.0  # noqa: E731
        p.grad = lib.ones(2, device=dev)
        opt.step()
        opt.step(closure)
        opt.step(closure=closure)
        # a pre hook that drops the closure: step then runs without it and returns None
        opt.register_step_pre_hook(lambda o, args, kwargs: ((o,), {}))
        dropped = opt.step(closure)
        with pytest.raises(RuntimeError, match="must return None or a tuple of"):
            bad = lib.optim.SGD([p], lr=0.5)
            bad.register_step_pre_hook(lambda o, args, kwargs: 3)
            bad.step()
        return seen, dropped, p.detach().cpu().tolist()

    assert run(flambeau, device) == run(torch, "cpu")


def test_base_optimizer_step_raises_bare_not_implemented():
    torch = need_torch()
    for lib in (flambeau, torch):
        p = lib.ones(2, requires_grad=True)
        with pytest.raises(NotImplementedError) as info:
            lib.optim.Optimizer([p], {}).step()
        assert str(info.value) == ""


def test_user_optimizer_subclass():
    """A user's Optimizer subclass gets defaults, state, hooks, and runs step in the caller's grad mode."""
    class SignSGD(flambeau.optim.Optimizer):
        def __init__(self, params, lr=0.01):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            seen.append(flambeau.is_grad_enabled())
            with flambeau.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        if p.grad is not None:
                            self.state[p]["count"] = self.state[p].get("count", 0) + 1
                            p.sub_(p.grad.sign() * group["lr"])

    seen = []
    p = flambeau.tensor([1.0, -2.0], requires_grad=True)
    opt = SignSGD([p], lr=0.5)
    posts = []
    opt.register_step_post_hook(lambda o, a, k: posts.append(1))
    p.grad = flambeau.tensor([3.0, -0.1])
    opt.step()
    assert seen == [True] and posts == [1]
    np.testing.assert_array_equal(p.detach().numpy(), [0.5, -1.5])
    assert opt.state_dict()["state"] == {0: {"count": 1}}
    assert opt.state_dict()["param_groups"] == [{"lr": 0.5, "params": [0]}]


def test_step_is_not_recorded_and_invalidates_saved_tensors(device):
    """In-place updates bump the version: a graph that saved the parameter refuses to backward (as torch)."""
    p = flambeau.ones(3, requires_grad=True, device=device)
    opt = flambeau.optim.SGD([p], lr=0.1)
    loss = (p * p).sum()
    p.grad = flambeau.ones(3, device=device)
    opt.step()
    assert p.grad_fn is None and p.is_leaf
    with pytest.raises(RuntimeError):
        loss.backward()


def test_sgd_updates_through_views(device):
    """A parameter that is a view (e.g. a slice of a shared buffer) is updated in its storage."""
    base = flambeau.zeros(6, device=device)
    p = base[2:5].detach().requires_grad_()
    opt = flambeau.optim.SGD([p], lr=1.0)
    p.grad = flambeau.tensor([1.0, 2.0, 3.0], device=device)
    opt.step()
    np.testing.assert_array_equal(p.detach().cpu().numpy(), [-1.0, -2.0, -3.0])
    np.testing.assert_array_equal(base.cpu().numpy(), [0.0, 0.0, -1.0, -2.0, -3.0, 0.0])


# -- LBFGS --------------------------------------------------------------------------------
def _rosenbrock(lib, x):
    return ((1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2) + (x[2:] ** 2).sum()


@pytest.mark.parametrize("kw", [dict(), dict(lr=0.5, history_size=3, max_iter=7),
                                dict(line_search_fn="strong_wolfe"),
                                dict(line_search_fn="strong_wolfe", history_size=2, max_iter=10, max_eval=15)])
def test_lbfgs_matches_torch(kw, device):
    init = np.array([-1.2, 1.0, 0.5, -0.3])
    ours, ref = _pair([init], device)
    opt = flambeau.optim.LBFGS(ours, **kw)
    opt_ref = torch.optim.LBFGS(ref, **kw)

    def make_closure(lib, o, x):
        def closure():
            o.zero_grad()
            loss = _rosenbrock(lib, x)
            loss.backward()
            return loss
        return closure

    for _ in range(4):
        loss = opt.step(make_closure(flambeau, opt, ours[0]))
        loss_ref = opt_ref.step(make_closure(torch, opt_ref, ref[0]))
        # the Rosenbrock valley amplifies rounding differences (dot products summed in another order)
        np.testing.assert_allclose(loss.item(), loss_ref.item(), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(to_numpy(ours[0]), to_numpy(ref[0]), rtol=1e-8, atol=1e-9)
        assert opt.state[ours[0]]["func_evals"] == opt_ref.state[ref[0]]["func_evals"]
    st, st_ref = opt.state[ours[0]], opt_ref.state[ref[0]]
    assert sorted(st) == sorted(st_ref)
    assert st["func_evals"] == st_ref["func_evals"] and st["n_iter"] == st_ref["n_iter"]
    sd, sd_ref = opt.state_dict()["state"][0], opt_ref.state_dict()["state"][0]
    assert list(sd) == list(sd_ref)
    for k, v in sd_ref.items():           # same kinds of values: Tensors where torch keeps tensors
        assert type(sd[k]).__name__ == type(v).__name__, k
        if isinstance(v, list):
            assert [type(x).__name__ for x in sd[k]] == [type(x).__name__ for x in v], k


def test_lbfgs_requires_closure_and_known_line_search():
    p = flambeau.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError):
        flambeau.optim.LBFGS([p]).step(None)
    opt = flambeau.optim.LBFGS([p], line_search_fn="armijo")

    def closure():
        opt.zero_grad()
        loss = (p ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)


def test_docstring_examples_run():
    import doctest
    from flambeau.optim import sgd, adam, adamw, rmsprop, adagrad, adadelta, adamax, nadam, radam, lbfgs
    for mod in (sgd, adam, adamw, rmsprop, adagrad, adadelta, adamax, nadam, radam, lbfgs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, mod.__name__


# -- end to end and weight averaging ---------------------------------------------------------
def _copy_weights(ours, ref):
    ours.load_state_dict({k: flambeau.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})


def test_convnet_sgd_training_matches_torch(device):
    """The lecture's loop (zero_grad, backward, step) on a small convnet, from torch's initial weights."""
    def build(lib):
        nn = lib.nn
        return nn.Sequential(nn.Conv2d(1, 4, 5), nn.MaxPool2d(3), nn.ReLU(), nn.Flatten(),
                             nn.Linear(4 * 8 * 8, 10)).double()

    ref_model = build(torch)
    model = build(flambeau).to(device)
    _copy_weights(model, ref_model)
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((12, 1, 28, 28)), rng.integers(0, 10, 12)
    losses = []
    for lib, m in ((flambeau, model), (torch, ref_model)):
        dev = {"device": device} if lib is flambeau else {}
        opt = lib.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        if lib is flambeau:
            ours_opt = opt
        criterion = lib.nn.CrossEntropyLoss()
        out = []
        for input, target in zip(lib.tensor(x, **dev).split(4), lib.tensor(y, **dev).split(4)):
            loss = criterion(m(input), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            out.append(loss.item())
        losses.append(out)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-12)
    _assert_state_devices(ours_opt, device)
    for p, t in zip(model.parameters(), ref_model.parameters()):
        np.testing.assert_allclose(to_numpy(p), to_numpy(t), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("how", ["swa", "ema-multi", "ema", "swa-buffers", "swa-on-cpu"])
def test_averaged_model_and_update_bn_match_torch(how, device):
    """The model trains on device; the average lives there too, or on the CPU (device="cpu")."""
    def build(lib):
        nn = lib.nn
        return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).double()

    ref_model = build(torch)
    model = build(flambeau).to(device)
    _copy_weights(model, ref_model)
    avg_device = "cpu" if how == "swa-on-cpu" else device
    results = []
    for lib, m in ((flambeau, model), (torch, ref_model)):
        dev = {"device": device} if lib is flambeau else {}
        swa = lib.optim.swa_utils
        kw = {"ema-multi": dict(multi_avg_fn=swa.get_ema_multi_avg_fn(0.9)),
              "ema": dict(avg_fn=swa.get_ema_avg_fn(0.9)), "swa-buffers": dict(use_buffers=True),
              "swa-on-cpu": dict(device="cpu")}.get(how, {})
        avg = swa.AveragedModel(m, **kw)
        opt = lib.optim.SGD(m.parameters(), lr=0.1)
        rng = np.random.default_rng(8)
        for _ in range(5):
            opt.zero_grad()
            m(lib.tensor(rng.standard_normal((8, 3)), **dev)).pow(2).sum().backward()
            opt.step()
            avg.update_parameters(m)
        if lib is flambeau:
            assert_on_device(list(avg.module.parameters()) + list(avg.module.buffers()), avg_device)
            assert_on_device(list(m.parameters()), device)
        bn_dev = {"device": avg_device} if lib is flambeau else {}
        swa.update_bn([lib.tensor(rng.standard_normal((8, 3)), **dev) for _ in range(3)], avg,
                      device=avg_device if lib is flambeau else None)
        results.append((avg.state_dict(), avg(lib.tensor(np.ones((2, 3)), **bn_dev)), avg.training))
    (sd, out, training), (sd_ref, out_ref, training_ref) = results
    assert_on_device(out, avg_device)
    assert list(sd) == list(sd_ref) and training == training_ref
    for k in sd_ref:
        np.testing.assert_allclose(to_numpy(sd[k]), to_numpy(sd_ref[k]), rtol=1e-12, atol=1e-14, err_msg=k)
    np.testing.assert_allclose(to_numpy(out), to_numpy(out_ref), rtol=1e-12, atol=1e-14)


def test_averaged_model_argument_errors():
    model = flambeau.nn.Linear(2, 2)
    swa = flambeau.optim.swa_utils
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        swa.AveragedModel(model, avg_fn=swa.get_ema_avg_fn(), multi_avg_fn=swa.get_ema_multi_avg_fn())
    with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided"):
        swa.get_ema_avg_fn(1.5)
