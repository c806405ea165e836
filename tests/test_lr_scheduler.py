"""flambeau.optim.lr_scheduler against torch.optim.lr_scheduler: learning-rate sequences, state, errors."""
import math
import warnings

import numpy as np
import pytest

import flambeau
from _oracle import need_torch, on_device
from _nn_helpers import assert_on_device

torch = need_torch()

STEPS = 30


def _optimizer(lib, name="SGD", lrs=(0.1, 0.02), **kw):
    """An optimizer over two parameter groups with different learning rates (flambeau's parameters
    on the device that ``lib`` makes tensors on)."""
    a, b = lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)
    return getattr(lib.optim, name)([{"params": [a], "lr": lrs[0]}, {"params": [b], "lr": lrs[1]}], **kw)


# name -> (optimizer name, optimizer kwargs, scheduler factory(lib, opt))
SCHEDULERS = {
    "StepLR": ("SGD", {}, lambda S, o: S.StepLR(o, step_size=4, gamma=0.5)),
    "MultiStepLR": ("SGD", {}, lambda S, o: S.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3)),
    "ExponentialLR": ("SGD", {}, lambda S, o: S.ExponentialLR(o, gamma=0.9)),
    "CosineAnnealingLR": ("SGD", {}, lambda S, o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.001)),
    "CosineAnnealingLR-long": ("SGD", {}, lambda S, o: S.CosineAnnealingLR(o, T_max=40)),
    "WarmRestarts": ("SGD", {}, lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=5, eta_min=0.001)),
    "WarmRestarts-mult": ("SGD", {}, lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2)),
    "LambdaLR": ("SGD", {}, lambda S, o: S.LambdaLR(o, lambda e: 0.95 ** e + 0.01 * e)),
    "LambdaLR-list": ("SGD", {}, lambda S, o: S.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e])),
    "MultiplicativeLR": ("SGD", {}, lambda S, o: S.MultiplicativeLR(o, lambda e: 0.97 if e % 2 else 0.99)),
    "OneCycleLR": ("SGD", {"momentum": 0.9}, lambda S, o: S.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=STEPS + 1)),
    "OneCycleLR-linear-3phase": ("Adam", {}, lambda S, o: S.OneCycleLR(
        o, max_lr=0.3, epochs=4, steps_per_epoch=8, pct_start=0.25, anneal_strategy="linear", three_phase=True,
        div_factor=10.0, final_div_factor=100.0)),
    "OneCycleLR-no-momentum": ("Adagrad", {}, lambda S, o: S.OneCycleLR(
        o, max_lr=0.3, total_steps=STEPS, cycle_momentum=False)),
    "CyclicLR": ("SGD", {"momentum": 0.9}, lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4)),
    "CyclicLR-triangular2": ("SGD", {"momentum": 0.9}, lambda S, o: S.CyclicLR(
        o, base_lr=[0.01, 0.001], max_lr=[0.1, 0.05], step_size_up=3, step_size_down=5, mode="triangular2")),
    "CyclicLR-exp_range-adam": ("Adam", {}, lambda S, o: S.CyclicLR(
        o, base_lr=0.001, max_lr=0.01, step_size_up=5, mode="exp_range", gamma=0.97)),
    "CyclicLR-scale_fn": ("SGD", {}, lambda S, o: S.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations",
        cycle_momentum=False)),
    "LinearLR": ("SGD", {}, lambda S, o: S.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=8)),
    "ConstantLR": ("SGD", {}, lambda S, o: S.ConstantLR(o, factor=0.4, total_iters=6)),
    "PolynomialLR": ("SGD", {}, lambda S, o: S.PolynomialLR(o, total_iters=12, power=2.0)),
    "SequentialLR": ("SGD", {}, lambda S, o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, total_iters=5), S.ExponentialLR(o, gamma=0.9),
            S.CosineAnnealingLR(o, T_max=6)], milestones=[5, 15])),
    "ChainedScheduler": ("SGD", {}, lambda S, o: S.ChainedScheduler(
        [S.ConstantLR(o, factor=0.5, total_iters=4), S.ExponentialLR(o, gamma=0.9),
         S.MultiStepLR(o, milestones=[10, 20])])),
}


def _run_schedule(lib, opt_name, opt_kw, make):
    """The rates and momenta over STEPS steps; each step updates the parameters with unit gradients."""
    opt = _optimizer(lib, opt_name, **opt_kw)
    sched = make(lib.optim.lr_scheduler, opt)
    seq = [(list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups],
            [g.get("momentum", g.get("betas")) for g in opt.param_groups])]
    for _ in range(STEPS):
        for g in opt.param_groups:
            for p in g["params"]:
                p.grad = lib.ones_like(p)
        opt.step()
        sched.step()
        seq.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups],
                    [g.get("momentum", g.get("betas")) for g in opt.param_groups]))
    return opt, sched, seq


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_schedule_equals_torch(name, device):
    opt_name, opt_kw, make = SCHEDULERS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # stepping in the right order warns nothing
        opt, _, ours = _run_schedule(on_device(flambeau, device), opt_name, opt_kw, make)
    ref_opt, _, ref = _run_schedule(torch, opt_name, opt_kw, make)
    params = [p for g in opt.param_groups for p in g["params"]]
    assert_on_device(params, device)
    for p, r in zip(params, [p for g in ref_opt.param_groups for p in g["params"]]):
        np.testing.assert_allclose(p.detach().cpu().numpy(), r.detach().numpy(), rtol=1e-6)   # float32
    for i, (o, r) in enumerate(zip(ours, ref)):
        assert o == r, f"step {i}: {o} != {r}"      # exactly: same formulas, same order of operations


def test_reduce_lr_on_plateau_equals_torch():
    rng = np.random.default_rng(0)
    metrics = list(np.round(rng.uniform(0.5, 1.0, 40), 1))
    configs = [dict(), dict(patience=2, factor=0.5), dict(mode="max", patience=1, threshold=0.05, cooldown=2),
               dict(patience=0, threshold_mode="abs", threshold=0.1, min_lr=[0.01, 0.005], factor=0.3),
               dict(mode="max", threshold_mode="abs", patience=3, eps=0.05)]
    for cfg in configs:
        seqs = []
        for lib in (flambeau, torch):
            opt = _optimizer(lib)
            sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **cfg)
            seq = []
            for m in metrics:
                opt.step()
                sched.step(m)
                seq.append((sched.get_last_lr(), sched.num_bad_epochs, sched.cooldown_counter, sched.best))
            seqs.append(seq)
        assert seqs[0] == seqs[1], cfg


def test_reduce_lr_on_plateau_accepts_tensor_metric(device):
    opt = _optimizer(on_device(flambeau, device))
    sched = flambeau.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    sched.step(flambeau.tensor(1.0, device=device))
    sched.step(flambeau.tensor(2.0, device=device))
    assert sched.get_last_lr() == [0.1 * 0.1, 0.02 * 0.1]


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "OneCycleLR", "CyclicLR", "SequentialLR",
                                  "ChainedScheduler", "WarmRestarts-mult", "LinearLR"])
def test_state_dict_round_trip(name, device):
    """Resume a schedule half way from state dicts: the rest of the sequence is unchanged."""
    lib = on_device(flambeau, device)
    opt_name, opt_kw, make = SCHEDULERS[name]
    _, _, full = _run_schedule(lib, opt_name, opt_kw, make)
    opt = _optimizer(lib, opt_name, **opt_kw)
    sched = make(flambeau.optim.lr_scheduler, opt)
    for _ in range(STEPS // 2):
        opt.step()
        sched.step()
    sd_sched, sd_opt = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in sd_sched

    opt2 = _optimizer(lib, opt_name, **opt_kw)
    sched2 = make(flambeau.optim.lr_scheduler, opt2)
    sched2.load_state_dict(sd_sched)
    opt2.load_state_dict(sd_opt)
    for i in range(STEPS // 2 + 1, STEPS + 1):
        opt2.step()
        sched2.step()
        assert sched2.get_last_lr() == full[i][0], f"step {i}"


def test_state_dict_keys_match_torch():
    for name in ["StepLR", "CosineAnnealingLR", "ReduceLROnPlateau", "LambdaLR", "OneCycleLR"]:
        dicts = []
        for lib in (flambeau, torch):
            S = lib.optim.lr_scheduler
            opt = _optimizer(lib, momentum=0.9)
            sched = (S.ReduceLROnPlateau(opt) if name == "ReduceLROnPlateau" else
                     S.OneCycleLR(opt, max_lr=1.0, total_steps=10) if name == "OneCycleLR" else
                     S.LambdaLR(opt, lambda e: 1.0) if name == "LambdaLR" else
                     S.StepLR(opt, 3) if name == "StepLR" else S.CosineAnnealingLR(opt, 5))
            dicts.append(sched.state_dict())
        ours, ref = dicts
        assert set(ours) == set(ref), (name, set(ours) ^ set(ref))
        for k in ref:
            assert ours[k] == ref[k] or k.startswith("_"), (name, k, ours[k], ref[k])


def test_lambda_state_dict_keeps_callable_objects_state():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    opt = _optimizer(flambeau)
    fn = Decay()
    sched = flambeau.optim.lr_scheduler.LambdaLR(opt, [fn, lambda e: 1.0])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.5}, None]
    fn2 = Decay()
    fn2.rate = 0.1
    sched2 = flambeau.optim.lr_scheduler.LambdaLR(_optimizer(flambeau), [fn2, lambda e: 1.0])
    sched2.load_state_dict(sd)
    assert fn2.rate == 0.5


def test_step_before_optimizer_step_warns():
    opt = _optimizer(flambeau)
    sched = flambeau.optim.lr_scheduler.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`"):
        sched.step()


def test_overridden_optimizer_step_warns():
    opt = _optimizer(flambeau)
    sched = flambeau.optim.lr_scheduler.ExponentialLR(opt, 0.5)
    opt.step = lambda closure=None: None
    with pytest.warns(UserWarning, match="has been overridden after learning rate scheduler"):
        sched.step()


def test_get_lr_outside_step_warns():
    opt = _optimizer(flambeau)
    sched = flambeau.optim.lr_scheduler.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()


def test_epoch_argument_uses_closed_form():
    seqs = []
    for lib in (flambeau, torch):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in [3, 7, 1, 12]:
                sched.step(epoch)
                out.append(sched.get_last_lr())
        seqs.append(out)
    assert seqs[0] == seqs[1]
    with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)` was not necessary"):
        opt = _optimizer(flambeau)
        sched = flambeau.optim.lr_scheduler.StepLR(opt, 2)
        opt.step()
        sched.step(4)
    assert sched.get_last_lr() == [0.1 * 0.1 ** 2, 0.02 * 0.1 ** 2]


def test_warm_restarts_fractional_epochs():
    seqs = []
    for lib in (flambeau, torch):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2)
        out = []
        for epoch in np.arange(0, 20, 0.7):
            sched.step(float(epoch))
            out.append(sched.get_last_lr())
        seqs.append(out)
    assert seqs[0] == seqs[1]


def test_resume_requires_initial_lr():
    opt = _optimizer(flambeau)
    with pytest.raises(KeyError, match="initial_lr"):
        flambeau.optim.lr_scheduler.StepLR(opt, 2, last_epoch=3)


ERRORS = [
    lambda S, o: S.StepLR(object(), 2),
    lambda S, o: S.ConstantLR(o, factor=1.5),
    lambda S, o: S.LinearLR(o, start_factor=0.0),
    lambda S, o: S.LinearLR(o, end_factor=1.5),
    lambda S, o: S.LambdaLR(o, [lambda e: 1.0]),
    lambda S, o: S.MultiplicativeLR(o, [1.0, 2.0]),
    lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=0),
    lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
    lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="x"),
    lambda S, o: S.ReduceLROnPlateau(o, factor=1.0),
    lambda S, o: S.ReduceLROnPlateau(o, mode="avg"),
    lambda S, o: S.ReduceLROnPlateau(o, threshold_mode="pct"),
    lambda S, o: S.ReduceLROnPlateau(o, min_lr=[0.1]),
    lambda S, o: S.OneCycleLR(o, max_lr=1.0),
    lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=0),
    lambda S, o: S.OneCycleLR(o, max_lr=1.0, epochs=0, steps_per_epoch=3),
    lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.5),
    lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"),
    lambda S, o: S.OneCycleLR(o, max_lr=[1.0], total_steps=10),
    lambda S, o: S.CyclicLR(o, 0.1, 1.0, mode="sawtooth"),
    lambda S, o: S.SequentialLR(o, [], milestones=[]),
    lambda S, o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(o, 3)], milestones=[]),
    lambda S, o: S.SequentialLR(o, [S.StepLR(o, 2), S.ReduceLROnPlateau(o)], milestones=[2]),
    lambda S, o: S.ChainedScheduler([]),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_like_torch(i):
    with pytest.raises(Exception) as ref_exc:
        ERRORS[i](torch.optim.lr_scheduler, _optimizer(torch, "Adagrad"))
    with pytest.raises(type(ref_exc.value)) as exc:
        ERRORS[i](flambeau.optim.lr_scheduler, _optimizer(flambeau, "Adagrad"))
    assert str(exc.value) == str(ref_exc.value)


def test_one_cycle_past_total_steps_raises():
    opt = _optimizer(flambeau)
    sched = flambeau.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
        opt.step()
        sched.step()


def test_scheduler_drives_training(device):
    """The rates a scheduler sets are the ones the optimizer uses."""
    p = flambeau.zeros(1, requires_grad=True, device=device)
    opt = flambeau.optim.SGD([p], lr=1.0)
    sched = flambeau.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    total = 0.0
    for _ in range(4):
        p.grad = flambeau.ones(1, device=device)
        total += opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
    assert_on_device(p, device)
    assert math.isclose(p.item(), -total) and total == 1.875


@pytest.mark.parametrize("kw", [dict(swa_lr=0.05), dict(swa_lr=[0.05, 0.01], anneal_epochs=4, anneal_strategy="linear"),
                                dict(swa_lr=0.2, anneal_epochs=0)])
def test_swalr_equals_torch(kw):
    seqs = []
    for lib in (flambeau, torch):
        opt = _optimizer(lib)
        sched = lib.optim.swa_utils.SWALR(opt, **kw)
        seq = [sched.get_last_lr()]
        for _ in range(15):
            opt.step()
            sched.step()
            seq.append(sched.get_last_lr())
        seqs.append(seq)
        assert "anneal_func" not in sched.state_dict()
    assert seqs[0] == seqs[1]


def test_swalr_errors_like_torch():
    for kw in [dict(swa_lr=0.1, anneal_strategy="exp"), dict(swa_lr=0.1, anneal_epochs=-1),
               dict(swa_lr=[0.1])]:
        with pytest.raises(Exception) as ref_exc:
            torch.optim.swa_utils.SWALR(_optimizer(torch), **kw)
        with pytest.raises(type(ref_exc.value)) as exc:
            flambeau.optim.swa_utils.SWALR(_optimizer(flambeau), **kw)
        assert str(exc.value) == str(ref_exc.value)


def test_docstring_examples_run():
    import doctest
    result = doctest.testmod(flambeau.optim.lr_scheduler, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
