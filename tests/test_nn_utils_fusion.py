"""nn.utils: batch-norm fusion, skip_init and conv weight memory formats, against PyTorch."""
import numpy as np
import pytest

import flambeau
from _oracle import need_torch, assert_same

torch = need_torch()


def _pair(make, *args, seed=0, **kwargs):
    """The same module in both libraries, flambeau's loaded from torch's state (random running stats)."""
    torch.manual_seed(seed)
    ref = make(torch.nn)(*args, **kwargs)
    ours = make(flambeau.nn)(*args, **kwargs)
    state = {k: flambeau.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()}
    ours.load_state_dict(state)
    return ours, ref


def _batch_norm_pair(kind, channels, device, affine=True):
    ours, ref = _pair(lambda nn: getattr(nn, kind), channels, affine=affine)
    rng = np.random.default_rng(1)
    mean, var = rng.standard_normal(channels), rng.uniform(0.5, 2.0, channels)
    for lib, m in ((flambeau, ours), (torch, ref)):
        m.running_mean.copy_(lib.tensor(mean, dtype=lib.float32))
        m.running_var.copy_(lib.tensor(var, dtype=lib.float32))
    return ours.to(device).eval(), ref.eval()


@pytest.mark.parametrize("conv,bn,shape,transpose,bias,affine", [
    ("Conv2d", "BatchNorm2d", (2, 3, 7, 7), False, True, True),
    ("Conv2d", "BatchNorm2d", (2, 3, 7, 7), False, False, True),
    ("Conv2d", "BatchNorm2d", (2, 3, 7, 7), False, True, False),
    ("Conv1d", "BatchNorm1d", (2, 3, 9), False, True, True),
    ("ConvTranspose2d", "BatchNorm2d", (2, 3, 5, 5), True, True, True),
])
def test_fuse_conv_bn_eval_as_torch(conv, bn, shape, transpose, bias, affine, device):
    ours_conv, ref_conv = _pair(lambda nn: getattr(nn, conv), 3, 4, 3, bias=bias)
    ours_conv, ref_conv = ours_conv.to(device).eval(), ref_conv.eval()
    ours_bn, ref_bn = _batch_norm_pair(bn, 4, device, affine)
    fused = flambeau.nn.utils.fuse_conv_bn_eval(ours_conv, ours_bn, transpose=transpose)
    ref_fused = torch.nn.utils.fuse_conv_bn_eval(ref_conv, ref_bn, transpose=transpose)
    assert type(fused) is type(ours_conv) and fused is not ours_conv
    assert_same(fused.weight, ref_fused.weight, rtol=1e-5, atol=1e-6, device=device)
    assert_same(fused.bias, ref_fused.bias, rtol=1e-5, atol=1e-6, device=device)
    assert fused.bias.requires_grad == ref_fused.bias.requires_grad and fused.weight.is_leaf
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    assert_same(fused(flambeau.tensor(x, device=device)), ref_bn(ref_conv(torch.tensor(x))), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("bn_features", [5, 1])
def test_fuse_linear_bn_eval_as_torch(bn_features, device):
    ours_lin, ref_lin = _pair(lambda nn: nn.Linear, 4, 5)
    ours_lin, ref_lin = ours_lin.to(device).eval(), ref_lin.eval()
    ours_bn, ref_bn = _batch_norm_pair("BatchNorm1d", bn_features, device)
    fused = flambeau.nn.utils.fuse_linear_bn_eval(ours_lin, ours_bn)
    ref_fused = torch.nn.utils.fuse_linear_bn_eval(ref_lin, ref_bn)
    assert_same(fused.weight, ref_fused.weight, rtol=1e-5, atol=1e-6, device=device)
    assert_same(fused.bias, ref_fused.bias, rtol=1e-5, atol=1e-6, device=device)


def test_fusion_errors_as_torch():
    for lib in (flambeau, torch):
        u = lib.nn.utils
        with pytest.raises(AssertionError, match="Fusion only for eval!"):
            u.fuse_conv_bn_eval(lib.nn.Conv2d(2, 3, 3), lib.nn.BatchNorm2d(3))
        with pytest.raises(AssertionError, match="linear.out_features=5 and bn.num_features=3"):
            u.fuse_linear_bn_eval(lib.nn.Linear(4, 5).eval(), lib.nn.BatchNorm1d(3).eval())
        with pytest.raises(AssertionError, match="must not be None"):
            u.fuse_linear_bn_eval(lib.nn.Linear(4, 5).eval(), lib.nn.BatchNorm1d(5, track_running_stats=False).eval())


def test_fuse_weights_keep_dtypes_and_grad_flags():
    w = flambeau.randn(4, 3, 3, 3, dtype=flambeau.float64, requires_grad=True)
    fw, fb = flambeau.nn.utils.fuse_conv_bn_weights(w, None, flambeau.zeros(4), flambeau.ones(4), 1e-5,
                                                    flambeau.ones(4), flambeau.zeros(4))
    rw, rb = torch.nn.utils.fuse_conv_bn_weights(torch.randn(4, 3, 3, 3, dtype=torch.float64, requires_grad=True),
                                                 None, torch.zeros(4), torch.ones(4), 1e-5, torch.ones(4),
                                                 torch.zeros(4))
    assert (str(fw.dtype), str(fb.dtype), fw.requires_grad, fb.requires_grad) == \
        (str(rw.dtype), str(rb.dtype), rw.requires_grad, rb.requires_grad)


def test_skip_init_leaves_the_generator_and_initialises_nothing(device):
    flambeau.manual_seed(3)
    expected = flambeau.rand(3)
    flambeau.manual_seed(3)
    m = flambeau.nn.utils.skip_init(flambeau.nn.Linear, 6, 4, device=device)
    assert flambeau.equal(flambeau.rand(3), expected)
    assert m.weight.shape == (4, 6) and m.weight.device.type == device and m.bias.shape == (4,)
    assert float(m.weight.abs().sum()) == 0.0
    assert isinstance(m.weight, flambeau.nn.Parameter) and m.weight.requires_grad


def test_skip_init_errors_as_torch():
    class NoDevice(torch.nn.Module):
        pass

    class NoDeviceOurs(flambeau.nn.Module):
        pass

    for lib, no_device in ((torch, NoDevice), (flambeau, NoDeviceOurs)):
        with pytest.raises(RuntimeError, match="Expected a Module; got <class 'int'>"):
            lib.nn.utils.skip_init(int)
        with pytest.raises(RuntimeError, match="Module must support a 'device' arg to skip initialization"):
            lib.nn.utils.skip_init(no_device)


def test_convert_conv_weight_memory_format(device):
    for lib in (flambeau, torch):
        model = lib.nn.Sequential(lib.nn.Conv2d(2, 3, 3), lib.nn.ReLU(),
                                  lib.nn.Sequential(lib.nn.ConvTranspose2d(3, 2, 3)), lib.nn.Conv3d(1, 1, 1))
        before = [p.detach().clone() for p in model.parameters()]
        assert lib.nn.utils.convert_conv2d_weight_memory_format(model, lib.channels_last) is model
        assert model[0].weight.is_contiguous(memory_format=lib.channels_last)
        assert model[2][0].weight.is_contiguous(memory_format=lib.channels_last)
        assert model[3].weight.is_contiguous()
        lib.nn.utils.convert_conv3d_weight_memory_format(model, lib.channels_last_3d)
        assert all(lib.equal(a, b) for a, b in zip(before, model.parameters()))
        assert isinstance(model[0].weight, lib.nn.Parameter)
