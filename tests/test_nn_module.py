"""nn.Module and containers: registration, iteration, state_dict, hooks, conversion, repr."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, need_torch
from _nn_helpers import assert_on_device, copy_state, no_host_reads

torch = need_torch()
DEVICES = [p for p in ("cpu", "cuda") if p == "cpu" or flambeau.cuda.is_available()]


class Flattener:
    """The lecture's Flattener, defined against either library."""

    @staticmethod
    def make(nn):
        class Flattener(nn.Module):
            def forward(self, x):
                return x.view(x.size(0), -1)
        return Flattener()


def lecture_model(nn):
    return nn.Sequential(
        nn.Conv2d(1, 32, 5), nn.MaxPool2d(3), nn.ReLU(),
        nn.Conv2d(32, 64, 5), nn.MaxPool2d(2), nn.ReLU(),
        Flattener.make(nn),
        nn.Linear(256, 200), nn.ReLU(),
        nn.Linear(200, 10),
    )


class Net:
    @staticmethod
    def make(nn):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
                                              nn.MaxPool2d(2))
                self.blocks = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)] + [nn.Linear(4, 2)])
                self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Identity()})
                self.scale = nn.Parameter(nn.init.ones_(flambeau.empty(1) if nn is flambeau.nn else torch.empty(1)))
                self.register_buffer("step", (flambeau if nn is flambeau.nn else torch).zeros(1))
                self.register_buffer("cache", (flambeau if nn is flambeau.nn else torch).zeros(2), persistent=False)
                self.drop = nn.Dropout(0.1)
                self.rnn = nn.LSTM(4, 3, 2, bidirectional=True)
                self.emb = nn.Embedding(10, 4, padding_idx=0)
                self.norm = nn.LayerNorm([4])
                self.gn = nn.GroupNorm(2, 4)

            def forward(self, x):
                return x
        return Net()


REPR_MODELS = [
    lecture_model,
    Net.make,
    lambda nn: nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10), nn.LogSoftmax(dim=1)),
    lambda nn: nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 4, 3, bias=False, padding="same")),
                                          ("bn", nn.BatchNorm2d(4, momentum=None, affine=False)),
                                          ("act", nn.LeakyReLU(0.1, inplace=True)),
                                          ("pool", nn.AdaptiveAvgPool2d((1, 1))), ("flat", nn.Flatten()),
                                          ("drop", nn.Dropout(p=0.25)), ("fc", nn.Linear(4, 3, bias=False))])),
    lambda nn: nn.Sequential(nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1), nn.Upsample(scale_factor=2),
                             nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True), nn.ZeroPad2d(1),
                             nn.ReflectionPad2d((1, 2, 3, 4)), nn.ConstantPad1d(2, 0.5), nn.PixelShuffle(2),
                             nn.AvgPool2d(2, padding=1), nn.AvgPool1d(3), nn.MaxPool1d(2, 1, 1, ceil_mode=True),
                             nn.MaxUnpool2d(2), nn.AdaptiveMaxPool1d(3), nn.Unflatten(1, (2, 2)),
                             nn.InstanceNorm2d(3, affine=True), nn.Embedding(5, 2, max_norm=1.0),
                             nn.GRU(3, 4, bias=False), nn.RNN(2, 3, 2, batch_first=True, dropout=0.5),
                             nn.LSTMCell(2, 3), nn.RNNCell(2, 3, nonlinearity="relu"), nn.GRUCell(2, 3, bias=False),
                             nn.Bilinear(2, 3, 4), nn.PReLU(3), nn.GELU(approximate="tanh"), nn.ELU(alpha=0.5),
                             nn.Softplus(beta=2), nn.Hardtanh(-2.0, 2.0), nn.Threshold(0.1, 20),
                             nn.Softmax(dim=-1), nn.Softmin(1), nn.ReLU6(inplace=True), nn.SELU(), nn.CELU(),
                             nn.Softshrink(), nn.Hardshrink(0.2), nn.GLU(), nn.CosineSimilarity(),
                             nn.PairwiseDistance(), nn.Conv1d(2, 3, 3, stride=2, dilation=2, groups=1,
                                                             padding_mode="circular", padding=2),
                             nn.CrossEntropyLoss(label_smoothing=0.1), nn.MSELoss(reduction="sum"),
                             nn.AlphaDropout(0.2), nn.Dropout2d(0.3, inplace=True), nn.Identity(),
                             nn.ParameterList([nn.Parameter(flambeau.zeros(2, 3) if nn is flambeau.nn
                                                            else torch.zeros(2, 3))])),
    lambda nn: nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)]),
    lambda nn: nn.ModuleList(),
]


@pytest.mark.parametrize("i", range(len(REPR_MODELS)))
def test_repr_identical_to_torch(i):
    assert repr(REPR_MODELS[i](flambeau.nn)) == repr(REPR_MODELS[i](torch.nn))


def test_lecture_model_state_dict_keys_and_shapes():
    ours, ref = lecture_model(flambeau.nn), lecture_model(torch.nn)
    sd, rsd = ours.state_dict(), ref.state_dict()
    assert list(sd.keys()) == list(rsd.keys())
    for k in sd:
        assert tuple(sd[k].shape) == tuple(rsd[k].shape), k
        assert str(sd[k].dtype) == str(rsd[k].dtype)


def test_complex_model_state_dict_and_names():
    ours, ref = Net.make(flambeau.nn), Net.make(torch.nn)
    sd, rsd = ours.state_dict(), ref.state_dict()
    assert list(sd.keys()) == list(rsd.keys())
    for k in sd:
        assert tuple(sd[k].shape) == tuple(rsd[k].shape), k
        assert str(sd[k].dtype) == str(rsd[k].dtype), k
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in ref.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in ref.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in ref.named_children()]
    assert len(list(ours.modules())) == len(list(ref.modules()))
    assert len(list(ours.parameters(recurse=False))) == 1
    assert ours.get_submodule("features.1") is ours.features[1]
    assert ours.get_parameter("blocks.0.weight") is ours.blocks[0].weight
    with pytest.raises(AttributeError):
        ours.get_submodule("features.9")
    assert "cache" not in sd and "cache" in dict(ours.named_buffers())
    assert sd["features.1.num_batches_tracked"].dtype == flambeau.int64


def test_state_dict_roundtrip_from_torch_gives_same_outputs(device):
    torch.manual_seed(0)
    ref = lecture_model(torch.nn)
    ours = lecture_model(flambeau.nn).to(device)
    copy_state(ours, ref)                                   # a CPU state dict into a module on device
    assert_on_device(list(ours.parameters()), device)
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    with no_host_reads(device):
        out = ours(flambeau.tensor(x, device=device))
    assert_on_device(out, device)
    assert_same(out, ref(torch.tensor(x)), rtol=1e-4, atol=1e-5)
    sd = ours.state_dict()
    assert sd["0.weight"].requires_grad is False
    assert_on_device(sd, device)
    assert ours.state_dict(keep_vars=True)["0.weight"] is ours[0].weight


def test_load_state_dict_strict_errors_like_torch():
    msgs = []
    for lib in (flambeau, torch):
        m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
        sd = m.state_dict()
        del sd["0.bias"]
        sd["extra"] = lib.zeros(1)
        with pytest.raises(RuntimeError) as e:
            m.load_state_dict(sd)
        msgs.append(str(e.value))
        r = m.load_state_dict(sd, strict=False)
        assert r.missing_keys == ["0.bias"] and r.unexpected_keys == ["extra"]
        assert type(r).__name__ == "_IncompatibleKeys"
        sd2 = m.state_dict()
        sd2["0.weight"] = lib.zeros(4, 2)
        with pytest.raises(RuntimeError, match="size mismatch for 0.weight"):
            m.load_state_dict(sd2, strict=False)
        assert repr(m.load_state_dict(m.state_dict())) == "<All keys matched successfully>"
    assert msgs[0] == msgs[1]


def test_load_state_dict_copies_values_in_place(device):
    m = flambeau.nn.Linear(2, 2).to(device)
    w = m.weight
    new = {"weight": flambeau.ones(2, 2), "bias": flambeau.zeros(2)}
    m.load_state_dict(new)
    assert m.weight is w and (m.weight == 1).all()
    assert_on_device(list(m.parameters()), device)          # values copied onto the module's device
    new["weight"].fill_(5)
    assert (m.weight == 1).all()


def test_state_dict_across_devices(device):
    """The state dict of a module on device holds tensors on device sharing the parameters' memory;
    loading it into a module on the other device copies the values there."""
    torch.manual_seed(0)
    ref = Net.make(torch.nn)
    ours = Net.make(flambeau.nn)
    copy_state(ours, ref)
    ours.to(device)
    sd = ours.state_dict()
    assert_on_device(sd, device)
    assert sd["blocks.0.weight"].data_ptr() == ours.blocks[0].weight.data_ptr()
    other_device = "cpu" if device != "cpu" else DEVICES[-1]
    other = Net.make(flambeau.nn).to(other_device)
    other.load_state_dict(sd)
    assert_on_device(list(other.parameters()) + list(other.buffers()), other_device)
    for k, v in other.state_dict().items():
        assert_same(v, ref.state_dict()[k])
    assigned = Net.make(flambeau.nn).to(other_device)
    assigned.load_state_dict(sd, assign=True)               # assign keeps the state dict's tensors
    assert_on_device(list(assigned.parameters()), device)
    assert isinstance(assigned.blocks[0].weight, flambeau.nn.Parameter)


def test_attribute_registration_and_errors():
    for lib in (flambeau, torch):
        m = lib.nn.Module()
        m.w = lib.nn.Parameter(lib.ones(2))
        m.sub = lib.nn.Linear(2, 2)
        m.register_buffer("b", lib.zeros(2))
        m.plain = lib.zeros(1)
        assert [n for n, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]
        assert [n for n, _ in m.named_buffers()] == ["b"]
        with pytest.raises(TypeError):
            m.w = lib.zeros(2)
        with pytest.raises(TypeError):
            m.sub = 3
        with pytest.raises(KeyError):
            m.register_buffer("plain", lib.zeros(1))
        with pytest.raises(KeyError):
            m.register_parameter("a.b", None)
        with pytest.raises(KeyError):
            m.register_parameter("b", None)
        with pytest.raises(KeyError):
            m.register_buffer("w", None)
        with pytest.raises(TypeError):
            m.register_buffer("c", [1, 2])
        with pytest.raises(AttributeError):
            m.nope
        m.w = None
        assert m.w is None and "w" not in dict(m.named_parameters())
        del m.sub
        assert not hasattr(m, "sub")
        m.sub = lib.nn.ReLU()
        m.sub = None
        assert list(m.children()) == []
        with pytest.raises(AttributeError):
            class Bad(lib.nn.Module):
                def __init__(self):
                    self.p = lib.nn.Parameter(lib.ones(1))
            Bad()


def test_train_eval_apply_requires_grad_zero_grad(device):
    m = Net.make(flambeau.nn).to(device)
    assert m.training and all(c.training for c in m.modules())
    assert m.eval() is m and not any(c.training for c in m.modules())
    m.train()
    assert all(c.training for c in m.modules())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "Net" and seen.count("Linear") == 5
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    lin = m.blocks[0]
    lin(flambeau.randn(3, 4, device=device)).sum().backward()
    assert lin.weight.grad is not None
    assert_on_device(lin.weight, device)
    with no_host_reads(device):
        m.zero_grad(set_to_none=False)
    assert_on_device(lin.weight, device)
    assert (lin.weight.grad == 0).all()
    m.zero_grad()
    assert lin.weight.grad is None


def test_to_and_dtype_conversions():
    m = Net.make(flambeau.nn)
    w = m.blocks[0].weight
    assert m.double() is m
    assert m.blocks[0].weight is w and w.dtype == flambeau.float64
    assert m.features[1].num_batches_tracked.dtype == flambeau.int64
    assert m.step.dtype == flambeau.float64
    m.float()
    assert w.dtype == flambeau.float32
    m.to(flambeau.float64)
    assert w.dtype == flambeau.float64
    m.to("cpu", dtype=flambeau.float32)
    assert w.dtype == flambeau.float32
    m.half()
    assert w.dtype == flambeau.float16
    m.to(flambeau.zeros(1, dtype=flambeau.float64))
    assert w.dtype == flambeau.float64
    assert m.cpu() is m
    with pytest.raises(TypeError):
        m.to(flambeau.int64)
    with pytest.raises(TypeError):
        torch.nn.Linear(2, 2).to(torch.int64)


def test_to_moves_grads_and_params_keep_identity(device):
    m = flambeau.nn.Linear(3, 2)
    m(flambeau.randn(4, 3)).sum().backward()
    w = m.weight
    m.to(device)
    assert m.weight is w and str(w.device).startswith(device) and str(w.grad.device).startswith(device)
    out = m(flambeau.randn(4, 3, device=device))
    assert str(out.device).startswith(device)


def test_to_moves_every_parameter_and_buffer(device):
    m = Net.make(flambeau.nn)
    params = list(m.parameters())
    m.blocks[0](flambeau.randn(2, 4)).sum().backward()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    assert m.to(device) is m
    assert list(m.parameters()) == params                   # the same Parameter objects
    assert_on_device(list(m.parameters()) + list(m.buffers()), device)
    assert m.cache.device.type == flambeau.device(device).type        # non-persistent buffers move too
    assert m.features[1].num_batches_tracked.dtype == flambeau.int64
    for k, v in m.state_dict().items():
        assert flambeau.equal(v.cpu(), before[k]), k
    m.to(device, dtype=flambeau.float64, non_blocking=True)
    assert_on_device(list(m.parameters()), device)
    assert m.blocks[0].weight.dtype == flambeau.float64
    m.to(flambeau.zeros(1, dtype=flambeau.float32, device=device))
    assert m.blocks[0].weight.dtype == flambeau.float32
    assert_on_device(list(m.parameters()), device)
    assert m.cpu() is m
    assert_on_device(list(m.parameters()) + list(m.buffers()), "cpu")


@pytest.mark.cuda
def test_cuda_and_cpu_methods_move_the_module():
    m = Net.make(flambeau.nn)
    w = m.blocks[0].weight
    assert m.cuda() is m and m.blocks[0].weight is w
    assert_on_device(list(m.parameters()) + list(m.buffers()), "cuda")
    m.cpu()
    assert_on_device(list(m.parameters()) + list(m.buffers()), "cpu")
    m.cuda(0)
    assert_on_device(list(m.parameters()), "cuda")
    m.to("cpu").to(flambeau.device("cuda", 0))
    assert_on_device(list(m.parameters()) + list(m.buffers()), "cuda")


def test_sequential_container_ops():
    for lib in (flambeau, torch):
        nn = lib.nn
        a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
        s = nn.Sequential(a, b)
        assert len(s) == 2 and s[0] is a and s[-1] is b
        s.append(c)
        assert len(s) == 3 and s[2] is c and list(s) == [a, b, c]
        sl = s[1:]
        assert isinstance(sl, nn.Sequential) and list(sl) == [b, c]
        d = nn.Tanh()
        s.insert(1, d)
        assert list(s) == [a, d, b, c]
        assert list(s._modules.keys()) == ["0", "1", "2", "3"]
        del s[1]
        assert list(s) == [a, b, c] and list(s._modules.keys()) == ["0", "1", "2"]
        s[1] = d
        assert s[1] is d
        with pytest.raises(IndexError):
            s[5]
        s2 = nn.Sequential(OrderedDict([("first", a), ("second", b)]))
        assert s2.first is a
        assert len(s + s2) == 5
        s.extend([nn.Identity()])
        assert len(s) == 4
        assert s.pop(3).__class__.__name__ == "Identity"


def test_module_list_dict_parameter_containers():
    for lib in (flambeau, torch):
        nn = lib.nn
        ml = nn.ModuleList([nn.Linear(1, 1), nn.ReLU()])
        ml.append(nn.Tanh())
        ml.extend([nn.Sigmoid()])
        ml.insert(0, nn.Identity())
        assert [type(m).__name__ for m in ml] == ["Identity", "Linear", "ReLU", "Tanh", "Sigmoid"]
        assert len(ml[1:3]) == 2 and type(ml[-1]).__name__ == "Sigmoid"
        del ml[0]
        assert type(ml[0]).__name__ == "Linear"
        with pytest.raises(TypeError):
            ml.extend(nn.Linear(1, 1))
        md = nn.ModuleDict({"a": nn.ReLU()})
        md["b"] = nn.Linear(2, 2)
        md.update([("c", nn.Tanh())])
        assert list(md.keys()) == ["a", "b", "c"] and "b" in md and len(md) == 3
        assert type(md.pop("a")).__name__ == "ReLU" and len(md) == 2
        pl = nn.ParameterList([nn.Parameter(lib.ones(2)), lib.zeros(3)])
        assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
        pl.append(lib.ones(1))
        assert [tuple(p.shape) for p in pl.parameters()] == [(2,), (3,), (1,)]
        pd = nn.ParameterDict({"x": lib.ones(2)})
        pd["y"] = nn.Parameter(lib.zeros(1))
        assert list(pd.keys()) == ["x", "y"] and isinstance(pd["x"], nn.Parameter)
        holder = nn.Module()
        holder.pl, holder.pd = pl, pd
        assert [n for n, _ in holder.named_parameters()] == ["pl.0", "pl.1", "pl.2", "pd.x", "pd.y"]
    for nn in (flambeau.nn, torch.nn):
        lib = flambeau if nn is flambeau.nn else torch
        pl = nn.ParameterList([nn.Parameter(lib.ones(2, 3))])
        pd = nn.ParameterDict({"w": nn.Parameter(lib.ones(4))})
        assert repr(pl) == repr(torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2, 3))]))
        assert repr(pd) == repr(torch.nn.ParameterDict({"w": torch.nn.Parameter(torch.ones(4))}))


def test_forward_hooks_and_pre_hooks(device):
    m = flambeau.nn.Linear(2, 2, device=device)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append("pre") or (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append("post") or out + 1)
    out = m(flambeau.randn(3, 2, device=device))
    assert calls == ["pre", "post"]
    assert_on_device(out, device)
    assert flambeau.allclose(out, m.bias.detach() + 1)
    h1.remove()
    h2.remove()
    x = flambeau.randn(3, 2, device=device)
    assert flambeau.allclose(m(x), flambeau.nn.functional.linear(x, m.weight, m.bias))
    assert not m._has_hooks
    h = m.register_forward_pre_hook(lambda mod, args, kwargs: (args, kwargs), with_kwargs=True)
    m(x)
    h.remove()
    g = flambeau.nn.modules.module.register_module_forward_hook(lambda mod, a, o: calls.append(type(mod).__name__))
    calls.clear()
    flambeau.nn.Sequential(flambeau.nn.ReLU())(x)
    g.remove()
    assert calls == ["ReLU", "Sequential"]
    calls.clear()
    flambeau.nn.ReLU()(x)
    assert calls == []


def test_full_backward_hook_matches_torch(device):
    results = []
    for lib in (flambeau, torch):
        dev = {"device": device} if lib is flambeau else {}
        torch.manual_seed(0)
        ref = torch.nn.Linear(3, 2).double()
        m = ref if lib is torch else flambeau.nn.Linear(3, 2).double().to(device)
        if lib is not torch:
            copy_state(m, ref, device)
        seen = {}

        def hook(mod, grad_input, grad_output):
            assert_on_device([g for g in grad_input + grad_output if g is not None], dev.get("device", "cpu"))
            seen["gi"] = [None if g is None else g.detach().cpu().numpy().copy() for g in grad_input]
            seen["go"] = [g.detach().cpu().numpy().copy() for g in grad_output]
            return None if grad_input[0] is None else (grad_input[0] * 2,)
        m.register_full_backward_hook(hook)
        x = lib.tensor(np.arange(6.0).reshape(2, 3) / 7, requires_grad=True, **dev)
        m(x).pow(2).sum().backward()
        results.append((dict(seen), x.grad.cpu().numpy().copy()))
        x2 = lib.tensor(np.ones((2, 3)), **dev)
        with pytest.warns(UserWarning, match="Full backward hook is firing"):
            m(x2).sum().backward()      # input without grad: grad_input is (None,)
        results[-1] = results[-1] + (seen["gi"],)
    (s0, g0, n0), (s1, g1, n1) = results
    np.testing.assert_allclose(s0["gi"][0], s1["gi"][0])
    np.testing.assert_allclose(s0["go"][0], s1["go"][0])
    np.testing.assert_allclose(g0, g1)
    assert n0 == [None] and n1 == [None]


def test_in_place_relu_after_a_module_with_a_full_backward_hook_is_refused_as_in_torch(device):
    """The hooked module's output is a view made by BackwardHookFunction: an in-place op on it
    would bypass the hook, so torch refuses it (guided backprop code meets this with ReLU(inplace=True))."""
    messages = []
    for lib in (torch, flambeau):
        dev = {"device": device} if lib is flambeau else {}
        conv = lib.nn.Conv2d(1, 2, 3, **dev)
        conv.register_full_backward_hook(lambda m, gi, go: None)
        x = lib.ones(1, 1, 4, 4, requires_grad=True, **dev)
        with pytest.raises(RuntimeError) as e:
            lib.nn.ReLU(inplace=True)(conv(x))
        messages.append(str(e.value))
        relu = lib.nn.ReLU(inplace=True)            # hooked in-place module: its input is such a view
        relu.register_full_backward_hook(lambda m, gi, go: None)
        with pytest.raises(RuntimeError) as e:
            relu(x * 1)
        messages.append(str(e.value))
        lib.nn.ReLU(inplace=True)(conv(x).clone()).sum().backward()      # the fix torch suggests
    assert messages[0] == messages[2] and messages[1] == messages[3]
    assert messages[0].startswith("Output 0 of BackwardHookFunction is a view and is being modified inplace.")


class _Mixed:
    """A module whose arguments and outputs mix tensors, a number and a tensor without grad."""

    @staticmethod
    def make(nn):
        class Mixed(nn.Module):
            def forward(self, x, power, y, z):
                return x ** power + y, power, (x * y).detach(), x * z
        return Mixed()


def test_full_backward_hooks_see_one_entry_per_argument_and_output_as_torch(device):
    """None for what is not a tensor or gets no gradient on the output side; zeros for tensor
    inputs without a gradient on the input side (and at an unused leaf, as torch does)."""
    results = []
    for lib in (flambeau, torch):
        dev = {"device": device} if lib is flambeau else {}
        m = _Mixed.make(lib.nn)
        seen = []

        def show(g):
            return None if g is None else g.detach().cpu().numpy().tolist()
        m.register_full_backward_pre_hook(lambda mod, go: seen.append([show(g) for g in go]))
        m.register_full_backward_hook(lambda mod, gi, go: seen.append(([show(g) for g in gi], [show(g) for g in go])))
        u = lib.tensor([1.0, 2.0], requires_grad=True, **dev)
        w = lib.tensor([1.0, 1.0], requires_grad=True, **dev)
        out = m(u, 3, lib.ones(2, **dev), w)
        out[0].sum().backward()
        results.append((seen, show(u.grad), show(w.grad), out[1]))
    assert results[0] == results[1]


def test_backward_pre_hook_and_no_input_grad_hook_errors_as_torch(device):
    messages = []
    for lib in (flambeau, torch):
        dev = {"device": device} if lib is flambeau else {}
        m = lib.nn.Linear(3, 2, **dev)
        h = m.register_full_backward_pre_hook(lambda mod, go: (go[0], go[0]))
        with pytest.raises(RuntimeError) as e:
            m(lib.ones(1, 3, requires_grad=True, **dev)).sum().backward()
        messages.append(str(e.value))
        h.remove()
        m.register_full_backward_hook(lambda mod, gi, go: (lib.zeros(1, 3, **dev),))
        with pytest.warns(UserWarning, match="no inputs require gradients. See https") as w:
            with pytest.raises(RuntimeError) as e:
                m(lib.ones(1, 3, **dev)).sum().backward()
        messages.append(str(e.value))
        assert w[0].filename == __file__        # the warning points at the user's backward() call
    assert messages[:2] == messages[2:]


def test_always_call_forward_hooks_run_when_forward_raises(device):
    results = []
    for lib in (flambeau, torch):
        class Failing(lib.nn.Module):
            def forward(self, x, fail=False):
                if fail:
                    raise ValueError("forward failed")
                return x * 2
        m = Failing()
        calls = []
        m.register_forward_hook(lambda mod, args, out: calls.append(("always", out)), always_call=True)
        m.register_forward_hook(lambda mod, args, kwargs, out: calls.append(("kwargs", sorted(kwargs))),
                                with_kwargs=True, always_call=True)
        m.register_forward_hook(lambda mod, args, out: calls.append(("plain", out)))
        g = lib.nn.modules.module.register_module_forward_hook(lambda mod, args, out: calls.append(("global", out)),
                                                                always_call=True)
        try:
            with pytest.raises(ValueError, match="forward failed"):
                m(lib.ones(1, device=device if lib is flambeau else "cpu"), fail=True)
            n_failed = len(calls)
            m(lib.ones(1))                  # a normal call runs each hook once
            n_normal = len(calls) - n_failed
        finally:
            g.remove()
        m2 = Failing()
        m2.register_forward_hook(lambda mod, args, out: {}["missing"], always_call=True)
        with pytest.warns(UserWarning, match="always_call=True`` raised an exception that was silenced"):
            with pytest.raises(ValueError):
                m2(lib.ones(1), fail=True)
        results.append((calls[:n_failed], n_normal, m._forward_hooks_always_called.keys()
                        <= m._forward_hooks.keys()))
    assert results[0] == results[1]
    assert results[0][0] == [("global", None), ("always", None), ("kwargs", ["fail"])]


def test_global_backward_hooks_run_before_the_modules_own(device):
    results = []
    for lib in (flambeau, torch):
        dev = {"device": device} if lib is flambeau else {}
        calls = []
        mm = lib.nn.modules.module
        handles = [mm.register_module_full_backward_pre_hook(lambda m, go: calls.append("global-pre")),
                   mm.register_module_full_backward_hook(lambda m, gi, go: calls.append(("global", len(gi)))),
                   mm.register_module_forward_hook(lambda m, a, kw, o: calls.append(sorted(kw)), with_kwargs=True)]
        lin = lib.nn.Linear(2, 2, **dev)
        lin.register_full_backward_pre_hook(lambda m, go: calls.append("own-pre"))
        lin.register_full_backward_hook(lambda m, gi, go: calls.append("own"))
        try:
            with pytest.warns(UserWarning, match="no inputs require gradients"):    # no positional input
                lin(input=lib.ones(1, 2, requires_grad=True, **dev)).sum().backward()
        finally:
            for h in handles:
                h.remove()
        lin(lib.ones(1, 2, requires_grad=True, **dev)).sum().backward()
        results.append(calls)
    assert results[0] == results[1]
    assert results[0][:5] == [["input"], "global-pre", "own-pre", ("global", 0), "own"]


def test_hook_handles_are_removable_handles(device):
    m = flambeau.nn.Linear(2, 2, device=device)
    x = flambeau.ones(1, 2, requires_grad=True, device=device)
    handles = [m.register_forward_hook(lambda *a: None), m.register_forward_pre_hook(lambda *a: None),
               m.register_full_backward_hook(lambda *a: None), x.register_hook(lambda g: g),
               flambeau.nn.modules.module.register_module_forward_hook(lambda *a: None),
               flambeau.optim.SGD(m.parameters(), lr=0.1).register_step_pre_hook(lambda *a: None)]
    assert {type(h).__name__ for h in handles} == {"RemovableHandle"}
    assert all(type(h) is flambeau.utils.hooks.RemovableHandle for h in handles)
    assert type(torch.nn.Linear(2, 2).register_forward_hook(lambda *a: None)) is torch.utils.hooks.RemovableHandle
    assert len({h.id for h in handles}) == len(handles)
    for h in handles:
        h.remove()
        h.remove()          # a second remove() is harmless
    assert not m._has_hooks and not m._forward_hooks and not x._hooks
    table, extra = {}, {}
    h = flambeau.utils.hooks.RemovableHandle(table, extra_dict=extra)      # torch's signature
    table[h.id], extra[h.id] = "hook", True
    with h:
        pass
    assert table == {} and extra == {}


def test_deepcopy_and_pickle(device):
    m = Net.make(flambeau.nn).to(device)
    c = copy.deepcopy(m)
    assert c.blocks[0].weight is not m.blocks[0].weight
    assert flambeau.equal(c.blocks[0].weight, m.blocks[0].weight)
    assert isinstance(c.blocks[0].weight, flambeau.nn.Parameter)
    assert_on_device(list(c.parameters()) + list(c.buffers()), device)
    lin = flambeau.nn.Sequential(flambeau.nn.Linear(2, 3), flambeau.nn.ReLU()).to(device)
    p = pickle.loads(pickle.dumps(lin))
    assert repr(p) == repr(lin) and flambeau.equal(p[0].weight, lin[0].weight)
    assert_on_device(list(p.parameters()), device)
    assert isinstance(p[0].weight, flambeau.nn.Parameter) and p[0].weight.requires_grad


def test_forward_missing_raises_like_torch():
    for lib in (flambeau, torch):
        with pytest.raises(NotImplementedError):
            lib.nn.Module()(1)


def test_parameter_basics(device):
    p = flambeau.nn.Parameter(flambeau.ones(2, device=device))
    assert p.requires_grad and p.is_leaf and isinstance(p, flambeau.Tensor)
    assert_on_device(p, device)
    if device == "cpu":
        assert repr(p) == repr(torch.nn.Parameter(torch.ones(2)))
    else:
        assert repr(p) == "Parameter containing:\ntensor([1., 1.], device='cuda:0', requires_grad=True)"
    q = flambeau.nn.Parameter(flambeau.ones(2), requires_grad=False)
    assert not q.requires_grad
    with pytest.raises(RuntimeError):
        flambeau.nn.Parameter(flambeau.ones(2, dtype=flambeau.int64))


def test_docstring_examples_run():
    import doctest
    import importlib
    names = {k: getattr(flambeau.nn, k) for k in dir(flambeau.nn) if not k.startswith("_")}
    failed = 0
    for mod in ("container", "linear", "conv", "loss", "activation", "normalization"):
        m = importlib.import_module(f"flambeau.nn.modules.{mod}")
        r = doctest.testmod(m, extraglobs=dict(names, flambeau=flambeau, nn=flambeau.nn), verbose=False)
        failed += r.failed
    assert failed == 0


def test_buffer_assignment_like_torch():
    for lib in (flambeau, torch):
        m = lib.nn.Module()
        m.a = lib.nn.Buffer(lib.zeros(2))
        m.b = lib.nn.Buffer(lib.ones(1), persistent=False)
        assert list(m.state_dict().keys()) == ["a"]
        assert [n for n, _ in m.named_buffers()] == ["a", "b"]
        m.a = lib.ones(2)                          # a plain tensor replaces a registered buffer
        assert (m.state_dict()["a"] == 1).all()
        with pytest.raises(TypeError):
            m.a = 3


# Every layer with representative constructor arguments: repr and state_dict keys/shapes as torch.
SWEEP = {
 "Identity": (), "Linear": (3, 4), "Bilinear": (2, 3, 4), "Flatten": (), "Unflatten": (1, (2, 2)),
 "Conv1d": (2, 3, 3), "Conv2d": (2, 3, 3), "ConvTranspose1d": (2, 3, 3), "ConvTranspose2d": (2, 3, (3, 2)),
 "MaxPool1d": (2,), "MaxPool2d": ((2, 3),), "AvgPool1d": (2,), "AvgPool2d": (3, 1), "MaxUnpool1d": (2,),
 "MaxUnpool2d": (2,), "AdaptiveAvgPool1d": (2,), "AdaptiveAvgPool2d": (None,), "AdaptiveMaxPool1d": (2,),
 "AdaptiveMaxPool2d": ((2, None),), "LPPool1d": (2, 3), "LPPool2d": (1.5, 2, 1),
 "BatchNorm1d": (3,), "BatchNorm2d": (3,), "BatchNorm3d": (3,), "InstanceNorm1d": (3,), "InstanceNorm2d": (3,),
 "InstanceNorm3d": (3,), "LayerNorm": ([2, 3],), "GroupNorm": (1, 3), "RMSNorm": ([3],), "LocalResponseNorm": (3,),
 "Dropout": (), "Dropout1d": (), "Dropout2d": (), "Dropout3d": (), "AlphaDropout": (), "FeatureAlphaDropout": (),
 "Embedding": (4, 2), "RNN": (2, 3), "LSTM": (2, 3), "GRU": (2, 3), "RNNCell": (2, 3), "LSTMCell": (2, 3),
 "GRUCell": (2, 3), "Upsample": (None, 1.5), "UpsamplingNearest2d": (None, 2), "UpsamplingBilinear2d": ((3, 3),),
 "ZeroPad1d": (1,), "ZeroPad2d": (1,), "ZeroPad3d": (1,), "ConstantPad1d": (1, 2.0), "ConstantPad2d": (1, 2),
 "ConstantPad3d": (1, 0.5), "ReflectionPad1d": (1,), "ReflectionPad2d": (1,), "ReflectionPad3d": (1,),
 "ReplicationPad1d": (1,), "ReplicationPad2d": (1,), "ReplicationPad3d": (1,), "CircularPad1d": (1,),
 "CircularPad2d": (1,), "CircularPad3d": (1,), "PixelShuffle": (2,), "PixelUnshuffle": (2,),
 "CosineSimilarity": (), "PairwiseDistance": (), "Softmax2d": (), "ReLU": (), "ReLU6": (), "LeakyReLU": (),
 "PReLU": (), "RReLU": (), "ELU": (), "SELU": (), "CELU": (), "GELU": (), "SiLU": (), "Mish": (), "Sigmoid": (),
 "Tanh": (), "Softplus": (), "Softsign": (), "Softmax": (), "LogSoftmax": (), "Softmin": (), "Hardtanh": (),
 "Hardsigmoid": (), "Hardswish": (), "Threshold": (0.5, 1.0), "Tanhshrink": (), "LogSigmoid": (),
 "Softshrink": (), "Hardshrink": (), "GLU": (),
}
SWEEP_LOSSES = ["L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
          "BCEWithLogitsLoss", "KLDivLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss",
          "TripletMarginLoss", "MultiMarginLoss", "SoftMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss",
          "MultiLabelSoftMarginLoss"]


def _takes_device(name):
    import inspect
    return "device" in inspect.signature(getattr(torch.nn, name)).parameters


@pytest.mark.parametrize("name", [n for n in SWEEP if _takes_device(n) or n in ("RNN", "LSTM", "GRU")])
def test_every_layer_built_on_a_device(name, device):
    """device= in a layer's constructor puts every parameter and buffer there, as torch's factory kwargs."""
    m = getattr(flambeau.nn, name)(*SWEEP[name], device=device)
    ref = getattr(torch.nn, name)(*SWEEP[name])
    assert [(k, tuple(v.shape), str(v.dtype)) for k, v in m.state_dict().items()] == \
        [(k, tuple(v.shape), str(v.dtype)) for k, v in ref.state_dict().items()]
    assert_on_device(list(m.parameters()) + list(m.buffers()), device)
    m64 = getattr(flambeau.nn, name)(*SWEEP[name], device=device, dtype=flambeau.float64)
    assert all(p.dtype == flambeau.float64 for p in m64.parameters())
    assert_on_device(list(m64.parameters()) + list(m64.buffers()), device)


@pytest.mark.parametrize("name,args", list(SWEEP.items()) + [(n, ()) for n in SWEEP_LOSSES],
                         ids=list(SWEEP) + SWEEP_LOSSES)
def test_every_layer_repr_and_state_dict(name, args):
    ours, ref = getattr(flambeau.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(ref)
    assert [(k, tuple(v.shape), str(v.dtype)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape), str(v.dtype)) for k, v in ref.state_dict().items()]


def test_state_dict_hooks_as_torch():
    def run(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU())
        calls = []
        m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: calls.append(("pre", prefix, keep_vars)))
        def drop_bias(mod, sd, prefix, meta):
            del sd[prefix + "bias"]
        m[0].register_state_dict_post_hook(drop_bias)
        h = m._register_state_dict_hook(lambda mod, sd, prefix, meta: calls.append(("legacy", list(sd))))
        keys = list(m.state_dict())
        h.remove()
        return calls, keys, list(m.state_dict())
    assert run(flambeau) == run(torch)


def test_load_state_dict_hooks_rename_keys_and_edit_the_incompatible_keys():
    def run(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 3))
        old = {"0.w": lib.ones(3, 2), "0.bias": lib.zeros(3), "extra": lib.ones(1)}

        def rename(mod, sd, prefix, meta, strict, missing, unexpected, errors):
            if prefix + "w" in sd:
                sd[prefix + "weight"] = sd.pop(prefix + "w")
        m[0].register_load_state_dict_pre_hook(rename)
        m.register_load_state_dict_post_hook(lambda mod, keys: keys.unexpected_keys.clear())
        result = m.load_state_dict(old)
        legacy = []
        m[0]._register_load_state_dict_pre_hook(lambda sd, prefix, *rest: legacy.append(prefix))
        m.load_state_dict(m.state_dict())
        return m[0].weight.detach(), repr(result), legacy
    ours, ref = run(flambeau), run(torch)
    assert ours[1:] == ref[1:]
    assert_same(ours[0], ref[0])


def test_set_submodule_as_pytorch():
    import torch
    results = []
    for lib in (torch, flambeau):
        nn = lib.nn
        m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
        out = []
        for target, module, strict in (("1.0", nn.Tanh(), False), ("", nn.Tanh(), False), ("2.0", nn.Tanh(), False),
                                       ("0.weight", nn.Tanh(), False), ("1.5", nn.Tanh(), True),
                                       ("1.5", nn.Tanh(), False), ("0", 3, False)):
            try:
                m.set_submodule(target, module, strict=strict)
                out.append(repr(m))
            except (ValueError, AttributeError) as e:
                out.append(f"{type(e).__name__}: {e}")
        results.append(out)
    assert results[0] == results[1]


def test_to_empty_keeps_shapes_dtypes_and_parameters(device):
    m = flambeau.nn.Sequential(flambeau.nn.Linear(3, 2), flambeau.nn.BatchNorm1d(2))
    params = list(m.parameters())
    m.to_empty(device=device)
    assert [p is q for p, q in zip(m.parameters(), params)] == [True] * 4
    assert [tuple(p.shape) for p in m.parameters()] == [(2, 3), (2,), (2,), (2,)]
    assert all(t.device.type == device for t in list(m.parameters()) + list(m.buffers()))
    assert m[1].running_var.dtype is flambeau.float32 and m[1].num_batches_tracked.dtype is flambeau.int64


def test_parameter_dict_sorts_a_plain_dict_keeps_ordered_ones():
    import torch
    for lib in (flambeau, torch):
        pd = lib.nn.ParameterDict({"w": lib.nn.Parameter(lib.ones(3)), "b": lib.nn.Parameter(lib.zeros(1))})
        pd.update(OrderedDict([("z", lib.nn.Parameter(lib.ones(1))), ("a", lib.nn.Parameter(lib.ones(2)))]))
        pd.update([("c", lib.nn.Parameter(lib.ones(1)))])
        pd.update({"y": lib.nn.Parameter(lib.ones(1)), "x": lib.nn.Parameter(lib.ones(1))})
        assert list(pd.keys()) == ["b", "w", "z", "a", "c", "x", "y"]
        assert [n for n, _ in pd.named_parameters()] == list(pd.keys())
    for bad, kind in (([("x", 1, 2)], ValueError), (3, TypeError), ([3], TypeError)):
        errors = []
        for lib in (flambeau, torch):
            with pytest.raises(kind) as e:
                lib.nn.ParameterDict().update(bad)
            errors.append(str(e.value))
        assert errors[0] == errors[1]


def test_named_modules_memo_prefix_and_duplicates_as_torch():
    def tree(nn):
        shared = nn.Linear(2, 2)
        return nn.Sequential(shared, nn.ReLU(), nn.Sequential(shared, nn.Linear(2, 1))), shared

    (ours, o_shared), (ref, r_shared) = tree(flambeau.nn), tree(torch.nn)
    for kwargs in ({}, {"remove_duplicate": False}, {"prefix": "net"}):
        assert [n for n, _ in ours.named_modules(**kwargs)] == [n for n, _ in ref.named_modules(**kwargs)]
    # a memo holds modules: those in it are skipped, and it fills up with what was visited
    memo, r_memo = {o_shared}, {r_shared}
    assert [n for n, _ in ours.named_modules(memo=memo)] == [n for n, _ in ref.named_modules(memo=r_memo)]
    assert ours[2] in memo and len(memo) == len(r_memo)


def test_compile_wraps_a_module_as_torch():
    """torch.compile(module) is an OptimizedModule: weights under "_orig_mod.", the module shared."""
    seen = []
    for lib in (flambeau, torch):
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.Tanh())
        compiled = lib.compile(net)
        x = lib.randn(2, 4)
        assert compiled._orig_mod is net and type(compiled).__name__ == "OptimizedModule"
        assert lib.allclose(compiled(x), net(x))       # (torch's generated kernel may differ by an ulp)
        compiled.eval()
        with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "_orig_mod.0.weight"'):
            net.load_state_dict(compiled.state_dict())
        with pytest.raises(TypeError, match="'OptimizedModule' object is not subscriptable"):
            compiled[0]
        assert lib.compile(net, disable=True) is net and net.compile() is None
        seen.append((repr(compiled), list(compiled.state_dict()), net.training, len(compiled),
                     [n for n, _ in compiled.named_modules()], list(net.state_dict()),
                     repr(compiled.get_submodule("_orig_mod.0"))))
    assert seen[0] == seen[1]


def test_compile_functions_decorators_and_argument_errors():
    def double(a):
        return a * 2

    for lib in (flambeau, torch):
        compiled = lib.compile(double)
        assert compiled is not double and compiled.__wrapped__ is double and compiled.__name__ == "double"
        assert lib.equal(lib.compile(mode="reduce-overhead")(double)(lib.ones(2)), lib.full((2,), 2.0))
        with pytest.raises(RuntimeError, match="^Unrecognized mode=bogus, should be one of: default, lite, "
                                               "reduce-overhead, max-autotune-no-cudagraphs, max-autotune$"):
            lib.compile(double, mode="bogus")
        with pytest.raises(RuntimeError, match="^Either mode or options can be specified"):
            lib.compile(double, mode="default", options={"a": 1})
        with pytest.raises(AssertionError, match="^A callable function is expected, but <class 'int'> is provided.$"):
            lib.compile(3)
        with pytest.raises(RuntimeError, match="^Model can't be None$"):
            lib.compile()(None)
