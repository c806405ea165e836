"""capturable=True in the Adam family: refused on the CPU with torch's AssertionError; on cuda the
step counters live on the device and the trajectory is the one torch computes without it."""
import numpy as np
import pytest

import flambeau
from _oracle import need_torch, assert_same

torch = need_torch()
cuda = pytest.mark.cuda

OPTIMIZERS = ["Adam", "AdamW", "RMSprop", "NAdam", "RAdam", "Adamax", "Adadelta"]


def _param(lib, device=None):
    values = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    kwargs = {} if device is None else {"device": device}
    return lib.nn.Parameter(lib.tensor(values, dtype=lib.float64, **kwargs))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_capturable_on_the_cpu_errors_as_torch(name):
    for lib in (torch, flambeau):
        p = _param(lib)
        p.grad = lib.ones_like(p)
        opt = getattr(lib.optim, name)([p], lr=0.1, capturable=True)
        with pytest.raises(AssertionError) as e:
            opt.step()
        if lib is torch:
            expected = str(e.value)
        else:
            assert str(e.value) == expected


def _trajectory(lib, name, device, capturable, steps=6):
    p = _param(lib, device)
    kwargs = {"capturable": True} if capturable else {}
    opt = getattr(lib.optim, name)([p], lr=0.05, **kwargs)
    for k in range(steps):
        opt.zero_grad()
        (p * p * (k + 1)).sum().backward()
        opt.step()
    return p, opt


@cuda
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_capturable_on_cuda_keeps_steps_there_and_the_values(name):
    p, opt = _trajectory(flambeau, name, "cuda", capturable=True)
    ref, _ = _trajectory(torch, name, None, capturable=False)
    assert_same(p.detach(), ref.detach(), rtol=1e-12, atol=1e-14, device="cuda")
    state = opt.state[p]
    assert state["step"].device.type == "cuda" and float(state["step"]) == 6.0
    if name == "NAdam":
        assert state["mu_product"].device.type == "cuda"


@cuda
def test_load_state_dict_moves_capturable_steps_to_the_device():
    p, opt = _trajectory(flambeau, "Adam", "cuda", capturable=False)
    saved = opt.state_dict()
    assert saved["state"][0]["step"].device.type == "cpu"
    saved["param_groups"][0]["capturable"] = True
    again = flambeau.optim.Adam([p], lr=0.05, capturable=True)
    again.load_state_dict(saved)
    step = again.state[p]["step"]
    assert step.device.type == "cuda" and step.dtype is flambeau.float32 and float(step) == 6.0
    plain = flambeau.optim.Adam([p], lr=0.05)
    plain.load_state_dict(opt.state_dict())
    assert plain.state[p]["step"].device.type == "cpu"
