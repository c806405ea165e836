"""Lazy modules and uninitialized parameters/buffers, against torch: shapes inferred on the first
call, the class they become, state dicts, conversions before the first call, optimizers built
before it, and the errors raised by touching an uninitialized tensor."""
import copy

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, need_oracle, need_torch, to_numpy

torch = need_torch()


def _input(lib, shape, device="cpu", dtype="float64", seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    if lib is torch:
        return torch.tensor(a, dtype=getattr(torch, dtype))
    return flambeau.tensor(a, dtype=getattr(flambeau, dtype), device=device)


def _raises_like(fn_ours, fn_ref):
    """Both raise the same exception type; returns the two messages."""
    with pytest.raises(Exception) as ref:
        fn_ref()
    with pytest.raises(type(ref.value)) as ours:
        fn_ours()
    return str(ours.value), str(ref.value)


def _same_tail(ours, ref):
    """The uninitialized-use message names the function, then explains: the explanation matches."""
    head = "Attempted to use an uninitialized parameter in "
    assert ours.startswith(head) and ref.startswith(head), (ours, ref)
    assert ours.split(">. ", 1)[1] == ref.split(">. ", 1)[1], (ours, ref)


def _types(params):
    return [type(p).__name__ for p in params]


def _load_torch_state(ours, ref, device):
    """ref's (initialized) state into ours, keeping our tensors' dtypes."""
    sd = {k: flambeau.tensor(v.detach().numpy(), device=device) for k, v in ref.state_dict().items()}
    ours.load_state_dict(sd)


# -- uninitialized tensors -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["UninitializedParameter", "UninitializedBuffer"])
def test_uninitialized_tensor_properties(device, kind):
    ours = getattr(flambeau.nn.parameter, kind)(device=device, dtype=flambeau.float64)
    ref = getattr(torch.nn.parameter, kind)(dtype=torch.float64)
    assert repr(ours) == repr(ref) == f"<{kind}>"
    assert str(ours) == str(ref)
    assert ours.requires_grad == ref.requires_grad
    assert str(ours.dtype) == str(ref.dtype)
    assert ours.device.type == flambeau.device(device).type
    assert tuple(ours.size()) == tuple(ref.size()) == (0,)
    assert ours.ndim == ref.ndim
    assert ours.is_floating_point() and not ours.is_complex()
    assert ours.get_device() == (-1 if device == "cpu" else 0)
    assert ours.grad is None and ours.is_leaf
    assert flambeau.nn.parameter.is_lazy(ours) and torch.nn.parameter.is_lazy(ref)
    assert isinstance(ours, flambeau.nn.Parameter) == isinstance(ref, torch.nn.Parameter)
    assert type(ours.data) is flambeau.Tensor and tuple(ours.data.size()) == (0,)
    assert ours.cls_to_become is (flambeau.nn.Parameter if kind == "UninitializedParameter" else flambeau.Tensor)
    assert hash(ours) == hash(ours)
    assert getattr(flambeau.nn, kind) is getattr(flambeau.nn.parameter, kind)


@pytest.mark.parametrize("kind", ["UninitializedParameter", "UninitializedBuffer"])
def test_uninitialized_tensor_refuses_use(device, kind):
    ours = getattr(flambeau.nn.parameter, kind)(device=device)
    ref = getattr(torch.nn.parameter, kind)()
    x, x_ref = flambeau.ones(2, 2, device=device), torch.ones(2, 2)
    uses = [
        (lambda t, lib: t.numel()), (lambda t, lib: t.dim()), (lambda t, lib: t.stride()),
        (lambda t, lib: t + 1), (lambda t, lib: lib.add(t, 1)), (lambda t, lib: t.detach()),
        (lambda t, lib: t.clone()), (lambda t, lib: t.zero_()), (lambda t, lib: t.uniform_()),
        (lambda t, lib: t.sum()), (lambda t, lib: t.item()), (lambda t, lib: len(t)),
        (lambda t, lib: t.requires_grad_(False)), (lambda t, lib: t.type()), (lambda t, lib: f"{t}"),
        (lambda t, lib: lib.nn.functional.linear(x if lib is flambeau else x_ref, t)),
        (lambda t, lib: (x if lib is flambeau else x_ref) @ t),
    ]
    for use in uses:
        msg, msg_ref = _raises_like(lambda: use(ours, flambeau), lambda: use(ref, torch))
        _same_tail(msg, msg_ref)
        assert kind in msg
    # the shape itself: a RuntimeError that says what to do
    msg, msg_ref = _raises_like(lambda: ours.shape, lambda: ref.shape)
    assert msg == msg_ref
    msg, msg_ref = _raises_like(lambda: ours.share_memory_(), lambda: ref.share_memory_())
    assert msg == msg_ref


def test_uninitialized_conversions(device):
    p = flambeau.nn.UninitializedParameter(device=device)
    p_ref = torch.nn.UninitializedParameter()
    for convert in (lambda t: t.float(), lambda t: t.to(t.dtype)):
        assert convert(p) is p and convert(p_ref) is p_ref
    for convert in (lambda t: t.double(), lambda t: t.half(), lambda t: t.int(),
                    lambda t: t.to(dtype=(flambeau if isinstance(t, flambeau.Tensor) else torch).float64)):
        with flambeau.no_grad(), torch.no_grad():
            out, out_ref = convert(p), convert(p_ref)
        assert type(out) is flambeau.Tensor and type(out_ref) is torch.Tensor
        assert str(out.dtype) == str(out_ref.dtype)
        assert out.device.type == flambeau.device(device).type
    # outside no_grad the copy is recorded, as torch's
    out, out_ref = p.double(), p_ref.double()
    assert type(out.grad_fn).__name__ == type(out_ref.grad_fn).__name__ == "ToCopyBackward0"
    b = flambeau.nn.UninitializedBuffer(device=device)
    b_ref = torch.nn.UninitializedBuffer()
    for convert in (lambda t: t.double(), lambda t: t.int(), lambda t: t.cpu()):
        out, out_ref = convert(b), convert(b_ref)
        assert type(out).__name__ == type(out_ref).__name__ == "UninitializedBuffer"
        assert str(out.dtype) == str(out_ref.dtype)
    assert b.cpu().device.type == "cpu"
    if device == "cuda":
        c = flambeau.nn.UninitializedBuffer().cuda()
        assert type(c) is flambeau.nn.UninitializedBuffer and c.device.type == "cuda"


@pytest.mark.parametrize("kind", ["UninitializedParameter", "UninitializedBuffer"])
def test_materialize(device, kind):
    ours = getattr(flambeau.nn.parameter, kind)(device=device, dtype=flambeau.float64)
    ref = getattr(torch.nn.parameter, kind)(dtype=torch.float64)
    ours.materialize((2, 3))
    ref.materialize((2, 3))
    assert type(ours).__name__ == type(ref).__name__
    assert tuple(ours.shape) == tuple(ref.shape) == (2, 3)
    assert str(ours.dtype) == str(ref.dtype)
    assert ours.device.type == flambeau.device(device).type
    assert ours.requires_grad == ref.requires_grad
    assert not flambeau.nn.parameter.is_lazy(ours)
    with flambeau.no_grad():
        ours.fill_(2.0)
    assert float(ours.sum()) == 12.0
    other = getattr(flambeau.nn.parameter, kind)(device=device)
    other.materialize((4,), dtype=flambeau.float16)
    assert tuple(other.shape) == (4,) and other.dtype is flambeau.float16


def test_uninitialized_copy_and_pickle_protocol(device):
    p = flambeau.nn.UninitializedParameter(requires_grad=False, device=device, dtype=flambeau.float64)
    q = copy.deepcopy(p)
    assert type(q) is type(p) and q is not p
    assert q.dtype is flambeau.float64 and q.device == p.device and not q.requires_grad
    cls, args = p.__reduce_ex__(2)
    ref_cls, ref_args = torch.nn.UninitializedParameter(requires_grad=False).__reduce_ex__(2)
    assert cls is flambeau.nn.UninitializedParameter and args == ref_args == (False,)


def test_parameter_str_as_torch():
    ours = flambeau.nn.Parameter(flambeau.ones(2))
    ref = torch.nn.Parameter(torch.ones(2))
    assert str(ours) == str(ref) == repr(ref)


# -- LazyLinear ------------------------------------------------------------------------------------

def test_lazy_linear_first_call(device):
    def make(lib):
        return lib.nn.LazyLinear(3, device=device if lib is flambeau else None, dtype=lib.float64)
    ours, ref = make(flambeau), make(torch)
    assert repr(ours) == repr(ref)
    assert _types(ours.parameters()) == _types(ref.parameters()) == ["UninitializedParameter"] * 2
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["weight", "bias"]
    assert _types(ours.state_dict().values()) == _types(ref.state_dict().values())
    assert ours.has_uninitialized_params() and ref.has_uninitialized_params()
    x, x_ref = _input(flambeau, (5, 4), device), _input(torch, (5, 4))
    y, y_ref = ours(x), ref(x_ref)
    assert type(ours) is flambeau.nn.Linear and type(ref) is torch.nn.Linear
    assert repr(ours) == repr(ref)
    assert ours.in_features == ref.in_features == 4
    assert _types(ours.parameters()) == _types(ref.parameters()) == ["Parameter"] * 2
    for (name, p), (name_ref, p_ref) in zip(ours.named_parameters(), ref.named_parameters()):
        assert name == name_ref and tuple(p.shape) == tuple(p_ref.shape)
        assert str(p.dtype) == str(p_ref.dtype) and p.device.type == flambeau.device(device).type
    assert tuple(y.shape) == tuple(y_ref.shape) and y.device.type == flambeau.device(device).type
    assert not ours._forward_pre_hooks and not ref._forward_pre_hooks
    assert not hasattr(ours, "_initialize_hook") and not hasattr(ref, "_initialize_hook")
    # now a Linear: same outputs as torch's with torch's weights
    _load_torch_state(ours, ref, device)
    assert_same(ours(x), ref(x_ref), device=device)


def test_lazy_linear_without_bias_and_batched_inputs(device):
    ours, ref = flambeau.nn.LazyLinear(2, bias=False), torch.nn.LazyLinear(2, bias=False)
    ours.to(device)
    assert repr(ours) == repr(ref)
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["weight"]
    ours(_input(flambeau, (2, 3, 6), device, "float32"))
    ref(_input(torch, (2, 3, 6), dtype="float32"))
    assert repr(ours) == repr(ref)
    assert tuple(ours.weight.shape) == tuple(ref.weight.shape) and ours.bias is None


def test_lazy_linear_init_as_linear(device):
    """Materializing draws as the regular class's reset_parameters: same seed, same weights."""
    x = _input(flambeau, (3, 5), device, "float32")
    flambeau.manual_seed(7)
    regular = flambeau.nn.Linear(5, 4, device=device)
    flambeau.manual_seed(7)
    lazy = flambeau.nn.LazyLinear(4, device=device)
    lazy(x)
    assert_same(lazy.weight, regular.weight.detach(), rtol=0, atol=0)
    assert_same(lazy.bias, regular.bias.detach(), rtol=0, atol=0)
    bound = 1 / np.sqrt(5)
    assert np.abs(to_numpy(lazy.weight)).max() <= bound
    flambeau.manual_seed(3)
    regular.reset_parameters()
    flambeau.manual_seed(3)
    lazy.reset_parameters()
    assert_same(lazy.weight, regular.weight.detach(), rtol=0, atol=0)
    assert_same(lazy.bias, regular.bias.detach(), rtol=0, atol=0)


def test_lazy_linear_reset_parameters_before_first_call_does_nothing():
    ours, ref = flambeau.nn.LazyLinear(3), torch.nn.LazyLinear(3)
    assert ours.reset_parameters() is None and ref.reset_parameters() is None
    assert type(ours.weight) is flambeau.nn.UninitializedParameter


# -- conversions before the first call ------------------------------------------------------------

def test_lazy_module_moved_and_cast_before_first_call(device):
    need_oracle(2, 13, "the norm layers' bias argument")
    def make(lib):
        return lib.nn.Sequential(lib.nn.LazyLinear(6), lib.nn.ReLU(), lib.nn.LazyLinear(2), lib.nn.LazyBatchNorm1d())
    ours, ref = make(flambeau), make(torch)
    assert repr(ours) == repr(ref)
    ours.to(device)
    ours.double()
    ref.double()
    assert all(flambeau.nn.parameter.is_lazy(p) for p in ours.parameters())
    assert [p.device.type for p in ours.parameters()] == [flambeau.device(device).type] * 6
    assert [str(p.dtype) for p in ours.parameters()] == [str(p.dtype) for p in ref.parameters()]
    assert _types(ours.buffers()) == _types(ref.buffers())
    assert [str(b.dtype) for b in ours.buffers()] == [str(b.dtype) for b in ref.buffers()]
    y, y_ref = ours(_input(flambeau, (4, 3), device)), ref(_input(torch, (4, 3)))
    assert repr(ours) == repr(ref)
    assert str(y.dtype) == str(y_ref.dtype) and y.device.type == flambeau.device(device).type
    for t, t_ref in zip(list(ours.parameters()) + list(ours.buffers()),
                        list(ref.parameters()) + list(ref.buffers())):
        assert type(t).__name__ == type(t_ref).__name__
        assert tuple(t.shape) == tuple(t_ref.shape) and str(t.dtype) == str(t_ref.dtype)
        assert t.device.type == flambeau.device(device).type


def test_lazy_module_cuda_before_first_call(device):
    m = flambeau.nn.LazyConv2d(3, 2)
    m = m.cuda() if device == "cuda" else m.cpu()
    assert m.weight.device.type == device and flambeau.nn.parameter.is_lazy(m.weight)
    y = m(flambeau.randn(1, 2, 4, 4, device=device))
    assert type(m) is flambeau.nn.Conv2d and m.weight.device.type == device and y.device.type == device
    assert tuple(m.weight.shape) == (3, 2, 2, 2)


def test_lazy_module_refuses_what_torch_refuses(device):
    ours, ref = flambeau.nn.LazyLinear(3).to(device), torch.nn.LazyLinear(3)
    msg, msg_ref = _raises_like(lambda: ours.requires_grad_(False), lambda: ref.requires_grad_(False))
    _same_tail(msg, msg_ref)
    # zero_grad and train/eval do not touch the data
    ours.zero_grad()
    ours.eval()
    assert ours.weight.grad is None
    msg, msg_ref = _raises_like(lambda: ours.to(flambeau.int64), lambda: ref.to(torch.int64))
    assert msg == msg_ref


# -- optimizers built before the first call -------------------------------------------------------

@pytest.mark.parametrize("opt", ["SGD", "Adam"])
def test_optimizer_built_before_first_call(device, opt):
    def make(lib):
        torch.manual_seed(0)
        return lib.nn.Sequential(lib.nn.LazyLinear(5), lib.nn.Tanh(), lib.nn.LazyLinear(1)).double()
    ours, ref = make(flambeau).to(device), make(torch)
    kwargs = {"lr": 0.1, "momentum": 0.9} if opt == "SGD" else {"lr": 0.05}
    opt_ours = getattr(flambeau.optim, opt)(ours.parameters(), **kwargs)
    opt_ref = getattr(torch.optim, opt)(ref.parameters(), **kwargs)
    x, x_ref = _input(flambeau, (8, 3), device), _input(torch, (8, 3))
    t, t_ref = _input(flambeau, (8, 1), device, seed=1), _input(torch, (8, 1), seed=1)
    ours(x)
    ref(x_ref)
    # the optimizer holds the materialized parameters themselves
    assert [p is q for p, q in zip(opt_ours.param_groups[0]["params"], ours.parameters())] == [True] * 4
    _load_torch_state(ours, ref, device)
    for _ in range(3):
        for model, optim, xx, tt, lib in ((ours, opt_ours, x, t, flambeau), (ref, opt_ref, x_ref, t_ref, torch)):
            optim.zero_grad()
            loss = lib.nn.functional.mse_loss(model(xx), tt)
            loss.backward()
            optim.step()
    for p, p_ref in zip(ours.parameters(), ref.parameters()):
        assert_same(p, p_ref, rtol=1e-10, atol=1e-12, device=device)


# -- state dicts -------------------------------------------------------------------------------------

def test_state_dict_of_lazy_module(device):
    ours = flambeau.nn.LazyBatchNorm2d(device=device)
    ref = torch.nn.LazyBatchNorm2d()
    sd, sd_ref = ours.state_dict(), ref.state_dict()
    assert list(sd) == list(sd_ref)
    assert _types(sd.values()) == _types(sd_ref.values())
    assert sd["weight"] is ours.weight and sd["running_mean"] is ours.running_mean
    assert int(sd["num_batches_tracked"]) == 0 and sd["num_batches_tracked"].device.type == flambeau.device(device).type
    assert list(ours.state_dict(keep_vars=True)) == list(ref.state_dict(keep_vars=True))
    ours(_input(flambeau, (2, 3, 4, 4), device, "float32"))
    ref(_input(torch, (2, 3, 4, 4), dtype="float32"))
    sd, sd_ref = ours.state_dict(), ref.state_dict()
    assert list(sd) == list(sd_ref)
    assert _types(sd.values()) == _types(sd_ref.values()) == ["Tensor"] * 5
    for k in sd:
        assert_same(sd[k], sd_ref[k], rtol=1e-5, atol=1e-6, device=device)


def test_load_initialized_state_into_lazy_module(device):
    ref_full = torch.nn.Linear(4, 3).double()
    ours, ref = flambeau.nn.LazyLinear(3, device=device, dtype=flambeau.float64), torch.nn.LazyLinear(3).double()
    sd = {k: flambeau.tensor(v.detach().numpy(), device=device) for k, v in ref_full.state_dict().items()}
    assert repr(ours.load_state_dict(sd)) == repr(ref.load_state_dict(ref_full.state_dict()))
    assert type(ours) is flambeau.nn.LazyLinear and type(ref) is torch.nn.LazyLinear
    assert _types(ours.parameters()) == _types(ref.parameters()) == ["Parameter"] * 2
    assert ours.in_features == ref.in_features == 0
    assert_same(ours.weight, ref.weight, device=device)
    msg, msg_ref = _raises_like(lambda: copy.deepcopy(ours)(_input(flambeau, (2, 5), device)),
                                lambda: copy.deepcopy(ref)(_input(torch, (2, 5))))
    assert msg == msg_ref
    x, x_ref = _input(flambeau, (2, 4), device), _input(torch, (2, 4))
    assert_same(ours(x), ref(x_ref), device=device)
    assert type(ours) is flambeau.nn.Linear and ours.in_features == ref.in_features == 4


def test_load_state_into_lazy_batchnorm(device):
    need_oracle(2, 13, "the norm layers' bias argument")
    ref_full = torch.nn.BatchNorm1d(3)
    ref_full(torch.randn(5, 3))
    ours, ref = flambeau.nn.LazyBatchNorm1d(device=device), torch.nn.LazyBatchNorm1d()
    _load_torch_state(ours, ref_full, device)
    ref.load_state_dict(ref_full.state_dict())
    assert _types(ours.buffers()) == _types(ref.buffers()) == ["Tensor"] * 3
    for b, b_ref in zip(ours.buffers(), ref.buffers()):
        assert_same(b, b_ref, device=device)
    ours.eval()
    ref.eval()
    assert_same(ours(_input(flambeau, (4, 3), device, "float32")), ref(_input(torch, (4, 3), dtype="float32")),
                rtol=1e-5, atol=1e-6, device=device)
    # as torch's, num_features is not read off an input once the state is loaded
    assert type(ours) is flambeau.nn.BatchNorm1d and repr(ours) == repr(ref)


def test_load_lazy_state(device):
    # into a lazy module: accepted, and nothing is materialized
    ours = flambeau.nn.LazyLinear(3, device=device)
    ref = torch.nn.LazyLinear(3)
    assert repr(ours.load_state_dict(flambeau.nn.LazyLinear(3).state_dict())) == \
        repr(ref.load_state_dict(torch.nn.LazyLinear(3).state_dict()))
    assert type(ours.weight) is flambeau.nn.UninitializedParameter
    # into an initialized module: the shape cannot be compared
    lazy_state, lazy_state_ref = flambeau.nn.LazyLinear(3).state_dict(), torch.nn.LazyLinear(3).state_dict()
    msg, msg_ref = _raises_like(lambda: flambeau.nn.Linear(4, 3).load_state_dict(lazy_state),
                                lambda: torch.nn.Linear(4, 3).load_state_dict(lazy_state_ref))
    assert msg == msg_ref


# -- convolutions and normalization ----------------------------------------------------------------

CONV_CASES = [
    ("LazyConv1d", (4, 3), {}, (2, 3, 7)),
    ("LazyConv1d", (4, 3), {"padding": 1, "bias": False}, (3, 7)),
    ("LazyConv2d", (6, (2, 3)), {"stride": 2, "groups": 2}, (1, 4, 6, 7)),
    ("LazyConv2d", (4, 3), {"padding": "same", "padding_mode": "reflect", "dilation": 2}, (2, 6, 6)),
    ("LazyConv3d", (2, 2), {}, (1, 3, 4, 4, 4)),
    ("LazyConv3d", (4, (1, 2, 2)), {"groups": 2, "padding": 1}, (2, 3, 3, 3)),
    ("LazyConvTranspose1d", (4, 3), {"stride": 2, "output_padding": 1}, (2, 3, 5)),
    ("LazyConvTranspose2d", (4, 3), {"groups": 2, "bias": False}, (1, 6, 3, 3)),
    ("LazyConvTranspose2d", (2, 2), {"dilation": 2}, (3, 4, 4)),
    ("LazyConvTranspose3d", (2, 2), {"stride": 2}, (1, 3, 2, 3, 2)),
    ("LazyConvTranspose3d", (4, 2), {"groups": 2, "bias": False}, (2, 2, 2, 2)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", CONV_CASES)
def test_lazy_conv(device, name, args, kwargs, shape):
    ours = getattr(flambeau.nn, name)(*args, **kwargs, device=device, dtype=flambeau.float64)
    ref = getattr(torch.nn, name)(*args, **kwargs, dtype=torch.float64)
    assert repr(ours) == repr(ref)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert _types(ours.parameters()) == _types(ref.parameters())
    x, x_ref = _input(flambeau, shape, device), _input(torch, shape)
    y, y_ref = ours(x), ref(x_ref)
    assert type(ours).__name__ == type(ref).__name__ == name[4:]
    assert repr(ours) == repr(ref)
    assert ours.in_channels == ref.in_channels
    for p, p_ref in zip(ours.parameters(), ref.parameters()):
        assert type(p) is flambeau.nn.Parameter
        assert tuple(p.shape) == tuple(p_ref.shape) and str(p.dtype) == str(p_ref.dtype)
        assert p.device.type == flambeau.device(device).type
    assert tuple(y.shape) == tuple(y_ref.shape)
    _load_torch_state(ours, ref, device)
    assert_same(ours(x), ref(x_ref), device=device)


def test_lazy_conv_init_as_conv(device):
    x = _input(flambeau, (2, 4, 6, 6), device, "float32")
    for regular_cls, lazy_cls in ((flambeau.nn.Conv2d, flambeau.nn.LazyConv2d),
                                  (flambeau.nn.ConvTranspose2d, flambeau.nn.LazyConvTranspose2d)):
        flambeau.manual_seed(11)
        regular = regular_cls(4, 6, 3, groups=2, device=device)
        flambeau.manual_seed(11)
        lazy = lazy_cls(6, 3, groups=2, device=device)
        lazy(x)
        assert type(lazy) is regular_cls
        assert_same(lazy.weight, regular.weight.detach(), rtol=0, atol=0)
        assert_same(lazy.bias, regular.bias.detach(), rtol=0, atol=0)


def test_lazy_conv_errors(device):
    msg, msg_ref = _raises_like(lambda: flambeau.nn.LazyConv1d(4, 3).to(device)(flambeau.ones(5, device=device)),
                                lambda: torch.nn.LazyConv1d(4, 3)(torch.ones(5)))
    assert msg == msg_ref
    msg, msg_ref = _raises_like(
        lambda: flambeau.nn.LazyConvTranspose1d(4, 3, groups=2).to(device)(flambeau.ones(1, 3, 5, device=device)),
        lambda: torch.nn.LazyConvTranspose1d(4, 3, groups=2)(torch.ones(1, 3, 5)))
    assert msg == msg_ref


NORM_CASES = [
    ("LazyBatchNorm1d", {}, (4, 3)),
    ("LazyBatchNorm1d", {"affine": False}, (4, 3, 5)),
    ("LazyBatchNorm2d", {"track_running_stats": False}, (2, 3, 4, 4)),
    ("LazyBatchNorm2d", {"momentum": None, "bias": False}, (2, 3, 4, 4)),
    ("LazyBatchNorm3d", {"eps": 1e-3}, (2, 2, 3, 3, 3)),
    ("LazyInstanceNorm1d", {}, (2, 3, 6)),
    ("LazyInstanceNorm2d", {"affine": False}, (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", {"track_running_stats": False}, (1, 2, 3, 3, 3)),
]


@pytest.mark.parametrize("name,kwargs,shape", NORM_CASES)
def test_lazy_norm(device, name, kwargs, shape):
    need_oracle(2, 13, "the norm layers' bias argument")
    ours = getattr(flambeau.nn, name)(**kwargs, device=device, dtype=flambeau.float64)
    ref = getattr(torch.nn, name)(**kwargs, dtype=torch.float64)
    assert repr(ours) == repr(ref)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert _types(ours.state_dict().values()) == _types(ref.state_dict().values())
    assert ours.has_uninitialized_params() == ref.has_uninitialized_params()
    x, x_ref = _input(flambeau, shape, device), _input(torch, shape)
    y, y_ref = ours(x), ref(x_ref)
    assert type(ours).__name__ == type(ref).__name__ == name[4:]
    assert repr(ours) == repr(ref)
    assert_same(y, y_ref, rtol=1e-10, atol=1e-12, device=device)
    sd, sd_ref = ours.state_dict(), ref.state_dict()
    assert list(sd) == list(sd_ref)
    for k in sd:
        assert_same(sd[k], sd_ref[k], rtol=1e-10, atol=1e-12, device=device)


# -- the mixin itself ------------------------------------------------------------------------------

def _custom_lazy(lib, materialize, becomes):
    nn = lib.nn

    class Scale(nn.modules.lazy.LazyModuleMixin, nn.Module):
        cls_to_become = None

        def __init__(self):
            super().__init__()
            self.scale = nn.UninitializedParameter()

        def initialize_parameters(self, x):
            if materialize:
                self.scale.materialize(x.shape[1:])
                with lib.no_grad():
                    self.scale.fill_(2.0)

        def forward(self, x):
            return x * self.scale

    class Plain(nn.Module):
        def forward(self, x):
            return x * self.scale

    if becomes:
        Scale.cls_to_become = Plain
    return Scale()


@pytest.mark.parametrize("becomes", [False, True])
def test_custom_lazy_module(device, becomes):
    ours, ref = _custom_lazy(flambeau, True, becomes), _custom_lazy(torch, True, becomes)
    ours.to(device)
    x, x_ref = _input(flambeau, (2, 3), device), _input(torch, (2, 3))
    assert_same(ours(x), ref(x_ref).detach(), device=device)
    assert type(ours).__name__ == type(ref).__name__ == ("Plain" if becomes else "Scale")
    assert not hasattr(ours, "_initialize_hook") and not ours._forward_pre_hooks
    assert type(ours.scale) is flambeau.nn.Parameter and tuple(ours.scale.shape) == (3,)


def test_lazy_module_not_fully_initialized():
    msg, msg_ref = _raises_like(lambda: _custom_lazy(flambeau, False, False)(flambeau.ones(2, 3)),
                                lambda: _custom_lazy(torch, False, False)(torch.ones(2, 3)))
    assert msg == msg_ref

    class NoInit(flambeau.nn.modules.lazy.LazyModuleMixin, flambeau.nn.Module):
        pass

    class NoInitRef(torch.nn.modules.lazy.LazyModuleMixin, torch.nn.Module):
        pass
    msg, msg_ref = _raises_like(lambda: NoInit()(1), lambda: NoInitRef()(1))
    assert msg.replace("NoInit", "NoInitRef") == msg_ref


def test_deepcopy_of_lazy_module(device):
    m = flambeau.nn.LazyLinear(2, device=device)
    c = copy.deepcopy(m)
    assert type(c.weight) is flambeau.nn.UninitializedParameter and c.weight is not m.weight
    c(flambeau.ones(1, 5, device=device))
    assert type(c) is flambeau.nn.Linear and type(m) is flambeau.nn.LazyLinear
    assert tuple(c.weight.shape) == (2, 5) and c.weight.device.type == flambeau.device(device).type
    m(flambeau.ones(1, 3, device=device))
    assert tuple(m.weight.shape) == (2, 3)


def test_uninitialized_buffer_assigned_to_module(device):
    def make(lib):
        m = lib.nn.Module()
        m.a = lib.nn.UninitializedBuffer(persistent=False)
        m.b = lib.nn.UninitializedBuffer()
        m.c = lib.nn.UninitializedParameter()
        return m
    ours, ref = make(flambeau).to(device), make(torch)
    assert [(k, type(b).__name__) for k, b in ours.named_buffers()] == \
        [(k, type(b).__name__) for k, b in ref.named_buffers()]
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in ref.named_parameters()] == ["c"]
    assert ours.b.device.type == flambeau.device(device).type
    # a plain Module detaches what it saves, which an uninitialized tensor refuses
    msg, msg_ref = _raises_like(lambda: ours.state_dict(), lambda: ref.state_dict())
    _same_tail(msg, msg_ref)


def test_share_memory_refuses_uninitialized_parameters():
    messages = []
    for lib in (flambeau, torch):
        with pytest.raises(RuntimeError) as e:
            lib.nn.LazyLinear(3).share_memory()
        messages.append(str(e.value))
        m = lib.nn.LazyLinear(3)
        m(lib.ones(2, 4))
        assert m.share_memory() is m
    assert messages[0] == messages[1]


def test_a_lazy_state_dict_saves_and_loads(tmp_path, device):
    kinds = []
    for lib in (flambeau, torch):
        m = lib.nn.LazyBatchNorm1d()
        if lib is flambeau:
            m = m.to(device)
        path = tmp_path / f"{lib.__name__}.pt"
        lib.save(m.state_dict(), path)
        sd = lib.load(path, weights_only=False)
        kinds.append({k: (type(v).__name__, v.dtype.is_floating_point, v.requires_grad) for k, v in sd.items()})
        fresh = lib.nn.LazyBatchNorm1d()
        fresh.load_state_dict(sd)
        assert type(fresh).__name__ == "LazyBatchNorm1d"
        if lib is flambeau:
            assert all(v.device.type == flambeau.device(device).type for k, v in sd.items() if k != "num_batches_tracked")
    assert kinds[0] == kinds[1]
