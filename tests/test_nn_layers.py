"""Every layer against torch: outputs, input and parameter gradients, buffers, for torch's weights."""
import warnings

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, need_torch, on_device, same_error
from _nn_helpers import assert_on_device, check_module, copy_state, no_host_reads

torch = need_torch()


LAYERS = [
    ("Identity", lambda nn: nn.Identity(3, foo=1), [(4, 3)]),
    ("Linear", lambda nn: nn.Linear(5, 3), [(4, 5)]),
    ("Linear3d", lambda nn: nn.Linear(5, 3), [(2, 4, 5)]),
    ("Linear1d", lambda nn: nn.Linear(5, 3), [(5,)]),
    ("LinearNoBias", lambda nn: nn.Linear(5, 3, bias=False), [(4, 5)]),
    ("Bilinear", lambda nn: nn.Bilinear(3, 4, 2), [(5, 3), (5, 4)]),
    ("Flatten", lambda nn: nn.Flatten(), [(2, 3, 4)]),
    ("Flatten02", lambda nn: nn.Flatten(0, 1), [(2, 3, 4)]),
    ("Unflatten", lambda nn: nn.Unflatten(1, (2, 3)), [(4, 6)]),
    ("Conv1d", lambda nn: nn.Conv1d(2, 3, 3, stride=2, padding=1), [(2, 2, 9)]),
    ("Conv2d", lambda nn: nn.Conv2d(2, 4, 3, padding=1, groups=2), [(2, 2, 6, 5)]),
    ("Conv2dDil", lambda nn: nn.Conv2d(3, 2, (3, 2), stride=(2, 1), dilation=2, bias=False), [(1, 3, 9, 7)]),
    ("Conv2dSame", lambda nn: nn.Conv2d(2, 2, 4, padding="same"), [(1, 2, 6, 6)]),
    ("Conv2dReflect", lambda nn: nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"), [(1, 2, 5, 5)]),
    ("Conv2dCircular", lambda nn: nn.Conv2d(2, 2, 3, padding=(1, 2), padding_mode="circular"), [(1, 2, 5, 6)]),
    ("ConvTranspose1d", lambda nn: nn.ConvTranspose1d(2, 3, 3, stride=2), [(2, 2, 5)]),
    ("ConvTranspose2d", lambda nn: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2),
     [(2, 4, 4, 3)]),
    ("MaxPool1d", lambda nn: nn.MaxPool1d(2), [(2, 3, 8)]),
    ("MaxPool2d", lambda nn: nn.MaxPool2d(3), [(2, 3, 9, 7)]),
    ("MaxPool2dPad", lambda nn: nn.MaxPool2d(3, 2, 1, ceil_mode=True), [(1, 2, 8, 8)]),
    ("AvgPool1d", lambda nn: nn.AvgPool1d(3), [(2, 3, 9)]),
    ("AvgPool2d", lambda nn: nn.AvgPool2d(2, padding=1, count_include_pad=False), [(2, 3, 6, 5)]),
    ("AdaptiveAvgPool1d", lambda nn: nn.AdaptiveAvgPool1d(3), [(2, 3, 7)]),
    ("AdaptiveAvgPool2d", lambda nn: nn.AdaptiveAvgPool2d((2, 3)), [(2, 3, 7, 8)]),
    ("AdaptiveMaxPool1d", lambda nn: nn.AdaptiveMaxPool1d(3), [(2, 3, 7)]),
    ("AdaptiveMaxPool2d", lambda nn: nn.AdaptiveMaxPool2d(2), [(2, 3, 7, 6)]),
    ("BatchNorm1d", lambda nn: nn.BatchNorm1d(3), [(6, 3)]),
    ("BatchNorm1d3d", lambda nn: nn.BatchNorm1d(3), [(4, 3, 5)]),
    ("BatchNorm2d", lambda nn: nn.BatchNorm2d(3, momentum=0.3), [(4, 3, 2, 5)]),
    ("BatchNorm2dNoAffine", lambda nn: nn.BatchNorm2d(3, affine=False), [(4, 3, 2, 2)]),
    ("BatchNorm2dNoStats", lambda nn: nn.BatchNorm2d(3, track_running_stats=False), [(4, 3, 2, 2)]),
    ("BatchNorm2dMomentumNone", lambda nn: nn.BatchNorm2d(3, momentum=None), [(4, 3, 2, 2)]),
    ("LayerNorm", lambda nn: nn.LayerNorm(5), [(3, 4, 5)]),
    ("LayerNorm2", lambda nn: nn.LayerNorm([4, 5], elementwise_affine=False), [(3, 4, 5)]),
    ("LayerNormNoBias", lambda nn: nn.LayerNorm(5, bias=False), [(3, 5)]),
    ("GroupNorm", lambda nn: nn.GroupNorm(2, 4), [(3, 4, 5, 2)]),
    ("InstanceNorm2d", lambda nn: nn.InstanceNorm2d(3), [(2, 3, 4, 5)]),
    ("InstanceNorm2dAffineStats", lambda nn: nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
     [(2, 3, 4, 5)]),
    ("ReLU", lambda nn: nn.ReLU(), [(4, 5)]),
    ("ReLU6", lambda nn: nn.ReLU6(), [(4, 5)]),
    ("LeakyReLU", lambda nn: nn.LeakyReLU(0.2), [(4, 5)]),
    ("PReLU", lambda nn: nn.PReLU(), [(4, 5)]),
    ("PReLUChannels", lambda nn: nn.PReLU(3, init=0.1), [(2, 3, 4)]),
    ("ELU", lambda nn: nn.ELU(0.7), [(4, 5)]),
    ("SELU", lambda nn: nn.SELU(), [(4, 5)]),
    ("CELU", lambda nn: nn.CELU(1.5), [(4, 5)]),
    ("GELU", lambda nn: nn.GELU(), [(4, 5)]),
    ("GELUTanh", lambda nn: nn.GELU(approximate="tanh"), [(4, 5)]),
    ("SiLU", lambda nn: nn.SiLU(), [(4, 5)]),
    ("Mish", lambda nn: nn.Mish(), [(4, 5)]),
    ("Sigmoid", lambda nn: nn.Sigmoid(), [(4, 5)]),
    ("Tanh", lambda nn: nn.Tanh(), [(4, 5)]),
    ("Softplus", lambda nn: nn.Softplus(beta=2.0, threshold=1.0), [(4, 5)]),
    ("Softsign", lambda nn: nn.Softsign(), [(4, 5)]),
    ("Softmax", lambda nn: nn.Softmax(dim=1), [(4, 5)]),
    ("LogSoftmax", lambda nn: nn.LogSoftmax(dim=-1), [(2, 4, 5)]),
    ("Softmin", lambda nn: nn.Softmin(dim=0), [(4, 5)]),
    ("Hardtanh", lambda nn: nn.Hardtanh(-0.5, 0.7), [(4, 5)]),
    ("Hardsigmoid", lambda nn: nn.Hardsigmoid(), [(4, 5)]),
    ("Hardswish", lambda nn: nn.Hardswish(), [(4, 5)]),
    ("Threshold", lambda nn: nn.Threshold(0.1, 20.0), [(4, 5)]),
    ("Tanhshrink", lambda nn: nn.Tanhshrink(), [(4, 5)]),
    ("LogSigmoid", lambda nn: nn.LogSigmoid(), [(4, 5)]),
    ("Softshrink", lambda nn: nn.Softshrink(0.3), [(4, 5)]),
    ("Hardshrink", lambda nn: nn.Hardshrink(0.3), [(4, 5)]),
    ("GLU", lambda nn: nn.GLU(), [(4, 6)]),
    ("Upsample", lambda nn: nn.Upsample(scale_factor=2), [(1, 2, 3, 4)]),
    ("UpsampleSize", lambda nn: nn.Upsample(size=(5, 7)), [(1, 2, 3, 4)]),
    ("UpsampleBilinear", lambda nn: nn.Upsample(scale_factor=2, mode="bilinear"), [(1, 2, 3, 4)]),
    ("UpsampleBilinearAC", lambda nn: nn.Upsample(size=(5, 7), mode="bilinear", align_corners=True),
     [(1, 2, 3, 4)]),
    ("UpsampleLinear", lambda nn: nn.Upsample(scale_factor=1.5, mode="linear"), [(1, 2, 5)]),
    ("ZeroPad2d", lambda nn: nn.ZeroPad2d((1, 2, 0, 3)), [(1, 2, 3, 4)]),
    ("ConstantPad1d", lambda nn: nn.ConstantPad1d(2, 3.5), [(2, 3, 4)]),
    ("ConstantPad2dNeg", lambda nn: nn.ConstantPad2d((-1, 2, 1, -1), 1.0), [(1, 2, 3, 4)]),
    ("ReflectionPad2d", lambda nn: nn.ReflectionPad2d((1, 2, 2, 1)), [(1, 2, 3, 4)]),
    ("ReplicationPad2d", lambda nn: nn.ReplicationPad2d(2), [(1, 2, 3, 4)]),
    ("CircularPad2d", lambda nn: nn.CircularPad2d((1, 2, 0, 3)), [(1, 2, 3, 4)]),
    ("PixelShuffle", lambda nn: nn.PixelShuffle(2), [(2, 8, 3, 2)]),
    ("PixelUnshuffle", lambda nn: nn.PixelUnshuffle(2), [(2, 2, 4, 6)]),
    ("CosineSimilarity", lambda nn: nn.CosineSimilarity(), [(4, 5), (4, 5)]),
    ("PairwiseDistance", lambda nn: nn.PairwiseDistance(p=3.0), [(4, 5), (4, 5)]),
    ("RNN", lambda nn: nn.RNN(3, 4), [(5, 2, 3)]),
    ("RNNRelu2", lambda nn: nn.RNN(3, 4, 2, nonlinearity="relu", batch_first=True), [(2, 5, 3)]),
    ("LSTM", lambda nn: nn.LSTM(3, 4), [(5, 2, 3)]),
    ("LSTMBi2", lambda nn: nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True), [(2, 5, 3)]),
    ("LSTMUnbatched", lambda nn: nn.LSTM(3, 4), [(5, 3)]),
    ("GRU", lambda nn: nn.GRU(3, 4, bias=False), [(5, 2, 3)]),
    ("GRUBi", lambda nn: nn.GRU(3, 4, num_layers=2, bidirectional=True), [(4, 2, 3)]),
    ("RNNCell", lambda nn: nn.RNNCell(3, 4), [(2, 3)]),
    ("LSTMCell", lambda nn: nn.LSTMCell(3, 4), [(2, 3)]),
    ("GRUCell", lambda nn: nn.GRUCell(3, 4), [(2, 3)]),
    ("Sequential", lambda nn: nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)), [(3, 4)]),
]


# Layers whose cuda forward reads device values on the host. BatchNorm with momentum=None: torch
# reads num_batches_tracked too (its cumulative factor is a Python float). AdaptiveMaxPool: the
# gather in flambeau/_ops/pooling.py checks the range of indices it computed itself.
HOST_READS = {"BatchNorm2dMomentumNone"}      # torch reads num_batches_tracked there too


@pytest.mark.parametrize("name,make,shapes", LAYERS, ids=[x[0] for x in LAYERS])
def test_layer_matches_torch(name, make, shapes, device):
    check_module(make, *shapes, device=device, host_reads=name in HOST_READS)


@pytest.mark.parametrize("make,shape", [
    (lambda nn: nn.BatchNorm2d(3), (4, 3, 2, 2)),
    (lambda nn: nn.BatchNorm1d(3, momentum=None), (4, 3)),
    (lambda nn: nn.InstanceNorm2d(3, track_running_stats=True), (2, 3, 4, 4)),
    (lambda nn: nn.Dropout(0.3), (4, 5)),
    (lambda nn: nn.LSTM(3, 4, 2, dropout=0.5), (5, 2, 3)),
])
def test_eval_mode_matches_torch(make, shape, device):
    """Eval mode (running statistics, no dropout) after a few training steps."""
    torch.manual_seed(0)
    ref = make(torch.nn).double()
    ours = make(flambeau.nn).double().to(device)
    copy_state(ours, ref, device)
    rng = np.random.default_rng(1)
    if not any(isinstance(m, (torch.nn.Dropout, torch.nn.LSTM)) for m in ref.modules()):
        for _ in range(3):
            a = rng.standard_normal(shape) * 2 + 1
            ours(flambeau.tensor(a, device=device))
            ref(torch.tensor(a))
        for (n, b), (_, rb) in zip(ours.named_buffers(), ref.named_buffers()):
            assert_same(b, rb, rtol=1e-6, atol=1e-8)
    ours.eval()
    ref.eval()
    a = rng.standard_normal(shape)
    o = ours(flambeau.tensor(a, device=device))
    r = ref(torch.tensor(a))
    o = o[0] if isinstance(o, tuple) else o
    r = r[0] if isinstance(r, tuple) else r
    assert_same(o, r)


def test_embedding_matches_torch(device):
    idx = np.array([[1, 2, 0, 4], [4, 3, 2, 9]])
    for kw in ({}, {"padding_idx": 2}, {"padding_idx": -1}):
        torch.manual_seed(0)
        ref = torch.nn.Embedding(10, 3, **kw).double()
        ours = flambeau.nn.Embedding(10, 3, **kw).double().to(device)
        copy_state(ours, ref, device)
        o = ours(flambeau.tensor(idx, device=device))
        r = ref(torch.tensor(idx))
        assert_same(o, r)
        cot = np.random.default_rng(0).standard_normal(tuple(r.shape))
        o.backward(flambeau.tensor(cot, device=device))
        r.backward(torch.tensor(cot))
        assert_same(ours.weight.grad, ref.weight.grad)


def test_embedding_max_norm_renormalizes_rows(device):
    torch.manual_seed(0)
    ref = torch.nn.Embedding(6, 4, max_norm=1.0).double()
    ours = flambeau.nn.Embedding(6, 4, max_norm=1.0).double().to(device)
    copy_state(ours, ref, device)
    idx = np.array([0, 2, 2, 5])
    out = ours(flambeau.tensor(idx, device=device))
    assert_on_device([out, ours.weight], device)
    assert_same(out, ref(torch.tensor(idx)), rtol=1e-6)
    assert_same(ours.weight, ref.weight, rtol=1e-6)


def test_embedding_padding_row_is_zero_and_errors(device):
    m = flambeau.nn.Embedding(5, 3, padding_idx=1, device=device)
    assert m.weight.device.type == flambeau.device(device).type
    assert (m.weight[1] == 0).all()
    with pytest.raises(IndexError):
        m(flambeau.tensor([0, 5], device=device))
    with pytest.raises(IndexError):
        m(flambeau.tensor([-1, 0], device=device))
    with pytest.raises(AssertionError):
        flambeau.nn.Embedding(5, 3, padding_idx=5)
    with pytest.raises(AssertionError):
        torch.nn.Embedding(5, 3, padding_idx=5)


def test_dropout_statistics_and_scaling(device):
    flambeau.manual_seed(0)
    x = flambeau.ones(200, 100, device=device)
    with no_host_reads(device):
        y = flambeau.nn.Dropout(0.3)(x)
    assert_on_device(y, device)
    vals = np.unique(y.cpu().numpy())
    assert len(vals) == 2 and vals[0] == 0 and np.isclose(vals[1], 1 / 0.7)
    assert abs((y == 0).float().mean().item() - 0.3) < 0.02
    y2 = flambeau.nn.Dropout2d(0.5)(flambeau.ones(50, 40, 3, 3, device=device))
    assert_on_device(y2, device)
    per_channel = y2.reshape(50, 40, 9)
    assert ((per_channel == 0).all(2) | (per_channel == 2).all(2)).all()
    m = flambeau.nn.Dropout(0.3).eval()
    assert m(x) is x
    with pytest.raises(ValueError):
        flambeau.nn.Dropout(1.5)
    with pytest.raises(ValueError):
        torch.nn.Dropout(1.5)


def test_dropout_gradient_uses_same_mask(device):
    flambeau.manual_seed(3)
    x = flambeau.randn(30, 20, requires_grad=True, device=device)
    with no_host_reads(device):
        y = flambeau.nn.functional.dropout(x, 0.4)
        y.sum().backward()
    assert_on_device(x, device)
    mask = (y.detach() != 0).float() / 0.6
    assert flambeau.allclose(x.grad, mask)


def test_alpha_dropout_keeps_moments(device):
    flambeau.manual_seed(0)
    x = flambeau.randn(200000, device=device)
    with no_host_reads(device):
        y = flambeau.nn.AlphaDropout(0.2).train()(x)
    assert_on_device(y, device)
    assert abs(y.mean().item()) < 0.02
    assert abs(y.std().item() - 1) < 0.02
    assert flambeau.nn.AlphaDropout(0.2).eval()(x) is x


def test_rnn_initial_state_and_errors(device):
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, 4, 2).double()
    ours = flambeau.nn.LSTM(3, 4, 2).double().to(device)
    copy_state(ours, ref, device)
    rng = np.random.default_rng(0)
    x, h, c = rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 2, 4)), rng.standard_normal((2, 2, 4))
    o, (hn, cn) = ours(flambeau.tensor(x, device=device), (flambeau.tensor(h, device=device),
                                                          flambeau.tensor(c, device=device)))
    ro, (rh, rc) = ref(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
    assert_same(o, ro)
    assert_same(hn, rh)
    assert_same(cn, rc)
    for lib, m in ((flambeau, ours), (torch, ref)):
        with pytest.raises(RuntimeError):
            m(lib.zeros(5, 2, 4, dtype=lib.float64, device=device if lib is not torch else "cpu"))
        with pytest.raises(ValueError):
            m(lib.zeros(5, dtype=lib.float64, device=device if lib is not torch else "cpu"))
        with pytest.raises(RuntimeError):
            m(lib.zeros(5, 2, 3, dtype=lib.float64, device=device if lib is not torch else "cpu"),
              (lib.zeros(2, 3, 4, dtype=lib.float64, device=device if lib is not torch else "cpu"),) * 2)


def test_conv_transpose_output_size(device):
    torch.manual_seed(0)
    ref = torch.nn.ConvTranspose2d(2, 3, 3, stride=2).double()
    ours = flambeau.nn.ConvTranspose2d(2, 3, 3, stride=2).double().to(device)
    copy_state(ours, ref, device)
    a = np.random.default_rng(0).standard_normal((1, 2, 4, 4))
    out = ours(flambeau.tensor(a, device=device), output_size=[10, 10])
    assert_on_device(out, device)
    assert_same(out, ref(torch.tensor(a), output_size=[10, 10]))
    with pytest.raises(ValueError):
        ours(flambeau.tensor(a, device=device), output_size=[12, 12])
    with pytest.raises(ValueError):
        ref(torch.tensor(a), output_size=[12, 12])


def test_max_unpool_roundtrip(device):
    a = np.random.default_rng(0).standard_normal((1, 2, 4, 6))
    outs = []
    for lib in (on_device(flambeau, device), torch):
        pool = lib.nn.MaxPool2d(2, return_indices=True)
        unpool = lib.nn.MaxUnpool2d(2)
        y, idx = pool(lib.tensor(a))
        outs.append(unpool(y, idx))
    assert_on_device(outs[0], device)
    assert_same(outs[0], outs[1])


def test_constructor_errors_match_torch():
    for lib in (flambeau, torch):
        with pytest.raises(ValueError):
            lib.nn.Conv2d(3, 4, 3, groups=2)
        with pytest.raises(ValueError):
            lib.nn.Conv2d(2, 4, 3, padding="full")
        with pytest.raises(ValueError):
            lib.nn.Conv2d(2, 4, 3, stride=2, padding="same")
        with pytest.raises(ValueError):
            lib.nn.GroupNorm(3, 4)
        with pytest.raises(ValueError):
            lib.nn.RNN(3, 4, nonlinearity="sigmoid")


def test_forward_errors_match_torch(device):
    for lib in (on_device(flambeau, device), torch):
        dev = {} if lib is torch else {"device": device}
        with pytest.raises(RuntimeError):
            lib.nn.Linear(4, 3, **dev)(lib.zeros(2, 5))
        with pytest.raises(ValueError):
            lib.nn.BatchNorm2d(3, **dev)(lib.zeros(2, 3, 4))
        with pytest.raises(ValueError):
            lib.nn.BatchNorm1d(3, **dev)(lib.zeros(1, 3))
        with pytest.raises(RuntimeError):
            lib.nn.LayerNorm(4, **dev)(lib.zeros(2, 5))


def test_linear_error_message_names_shapes(device):
    with pytest.raises(RuntimeError, match=r"2x5 and 4x3"):
        flambeau.nn.Linear(4, 3, device=device)(flambeau.zeros(2, 5, device=device))


MIXED = [
    ("Linear", lambda nn: nn.Linear(3, 2), (4, 3)),
    ("Bilinear", lambda nn: nn.Bilinear(3, 3, 2), (4, 3)),
    ("Conv2d", lambda nn: nn.Conv2d(3, 2, 3), (1, 3, 5, 5)),
    ("ConvTranspose2d", lambda nn: nn.ConvTranspose2d(3, 2, 3), (1, 3, 5, 5)),
    ("BatchNorm1d", lambda nn: nn.BatchNorm1d(3), (4, 3)),
    ("BatchNorm1dEval", lambda nn: nn.BatchNorm1d(3).eval(), (4, 3)),
    ("LayerNorm", lambda nn: nn.LayerNorm(3), (4, 3)),
    ("GroupNorm", lambda nn: nn.GroupNorm(1, 3), (4, 3, 2)),
    ("InstanceNorm1d", lambda nn: nn.InstanceNorm1d(3, affine=True), (4, 3, 5)),
    ("PReLU", lambda nn: nn.PReLU(3), (4, 3)),
    ("RNN", lambda nn: nn.RNN(3, 2), (5, 4, 3)),
    ("LSTM", lambda nn: nn.LSTM(3, 2), (5, 4, 3)),
    ("GRUCell", lambda nn: nn.GRUCell(3, 2), (4, 3)),
    ("Embedding", lambda nn: nn.Embedding(5, 3), None),
]


@pytest.mark.cuda
@pytest.mark.parametrize("name,make,shape", MIXED, ids=[m[0] for m in MIXED])
def test_module_and_input_on_different_devices_raise(name, make, shape):
    """A cuda module called on a CPU input, or a CPU module on a cuda input, raises as torch:
    RuntimeError naming both devices."""
    for module_device, input_device in (("cuda", "cpu"), ("cpu", "cuda")):
        m = make(flambeau.nn).to(module_device)
        x = flambeau.tensor([[1, 2], [0, 4]], device=input_device) if shape is None else \
            flambeau.randn(*shape, device=input_device)
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device") as info:
            m(*(x, x) if name == "Bilinear" else (x,))
        assert "cpu" in str(info.value) and "cuda:0" in str(info.value)


@pytest.mark.cuda
@pytest.mark.parametrize("on_cpu", ["weight", "bias"])
def test_linear_with_one_parameter_on_another_device_raises(on_cpu):
    m = flambeau.nn.Linear(3, 2).to("cuda")
    setattr(m, on_cpu, flambeau.nn.Parameter(getattr(m, on_cpu).detach().cpu()))
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        m(flambeau.randn(4, 3, device="cuda"))


def test_lecture_model_trains_like_torch(device):
    """Linear/ReLU/CrossEntropyLoss with SGD steps written out by hand: losses agree step by step."""
    torch.manual_seed(0)

    def make(nn):
        return nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 10))
    ref = make(torch.nn).double()
    ours = make(flambeau.nn).double().to(device)
    copy_state(ours, ref, device)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 20))
    t = rng.integers(0, 10, 100)
    for _ in range(3):
        lo = flambeau.nn.CrossEntropyLoss()(ours(flambeau.tensor(x, device=device)), flambeau.tensor(t, device=device))
        lr = torch.nn.CrossEntropyLoss()(ref(torch.tensor(x)), torch.tensor(t))
        assert_same(lo, lr)
        ours.zero_grad()
        ref.zero_grad()
        lo.backward()
        lr.backward()
        with flambeau.no_grad():
            for p in ours.parameters():
                p -= 0.1 * p.grad
        with torch.no_grad():
            for p in ref.parameters():
                p -= 0.1 * p.grad
    assert_on_device(list(ours.parameters()), device)


@pytest.mark.parametrize("make,shape,view", [
    (lambda nn: nn.Linear(4, 3), (4, 6), lambda x: x.t()),                       # transposed
    (lambda nn: nn.Conv2d(2, 3, 3), (2, 1, 6, 5), lambda x: x.expand(2, 2, 6, 5)),  # expanded
    (lambda nn: nn.BatchNorm1d(3), (3, 5), lambda x: x.t()),
    (lambda nn: nn.LSTM(3, 2, batch_first=True), (5, 2, 3), lambda x: x.transpose(0, 1)),
    (lambda nn: nn.LayerNorm(3), (4, 6), lambda x: x[:, ::2]),                    # strided
])
def test_non_contiguous_inputs(make, shape, view, device):
    torch.manual_seed(0)
    ref = make(torch.nn).double()
    ours = make(flambeau.nn).double().to(device)
    copy_state(ours, ref, device)
    a = np.random.default_rng(0).standard_normal(shape)
    x = flambeau.tensor(a, device=device, requires_grad=True)
    rx = torch.tensor(a, requires_grad=True)
    o, r = ours(view(x)), ref(view(rx))
    o, r = (o[0], r[0]) if isinstance(o, tuple) else (o, r)
    assert_same(o, r)
    cot = np.random.default_rng(1).standard_normal(tuple(r.shape))
    o.backward(flambeau.tensor(cot, device=device))
    r.backward(torch.tensor(cot))
    assert_same(x.grad, rx.grad)


@pytest.mark.parametrize("make,shape", [
    (lambda nn: nn.Linear(4, 3), (0, 4)),
    (lambda nn: nn.Conv2d(2, 3, 3), (0, 2, 5, 5)),
    (lambda nn: nn.ReLU(), (0, 3)),
    (lambda nn: nn.LayerNorm(4), (0, 4)),
    (lambda nn: nn.Embedding(5, 2), None),
])
def test_zero_size_batches(make, shape, device):
    torch.manual_seed(0)
    ref = make(torch.nn)
    ours = make(flambeau.nn).to(device)
    if shape is None:
        o, r = ours(flambeau.zeros(0, 3, dtype=flambeau.int64, device=device)), ref(torch.zeros(0, 3, dtype=torch.int64))
    else:
        o, r = ours(flambeau.zeros(shape, device=device)), ref(torch.zeros(shape))
    assert_on_device(o, device)
    assert tuple(o.shape) == tuple(r.shape) and str(o.dtype) == str(r.dtype)


def test_gaussian_nll_loss_refuses_negative_variance(device):
    for lib in (on_device(flambeau, device), torch):
        x, var = lib.zeros(3), lib.tensor([1.0, -0.5, 2.0])
        with pytest.raises(ValueError, match="var has negative entry"):
            lib.nn.GaussianNLLLoss()(x, x, var)


def test_cross_entropy_empty_batch_and_noncontiguous(device):
    for reduction in ("mean", "sum", "none"):
        o = flambeau.nn.functional.cross_entropy(flambeau.zeros(0, 3, device=device),
                                                 flambeau.zeros(0, dtype=flambeau.int64, device=device),
                                                 reduction=reduction)
        assert_on_device(o, device)
        r = torch.nn.functional.cross_entropy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.int64),
                                              reduction=reduction)
        assert_same(o, r)
    a = np.random.default_rng(0).standard_normal((4, 6))
    t = np.array([0, 3, 1, 2, 2, 1])
    x, rx = flambeau.tensor(a, requires_grad=True, device=device), torch.tensor(a, requires_grad=True)
    lo = flambeau.nn.functional.cross_entropy(x.t(), flambeau.tensor(t, device=device))
    lr = torch.nn.functional.cross_entropy(rx.t(), torch.tensor(t))
    assert_same(lo, lr)
    lo.backward()
    lr.backward()
    assert_on_device(x, device)
    assert_same(x.grad, rx.grad)


@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 5)])
def test_instance_norm_names_the_channel_dim_in_its_error(shape):
    messages = []
    for lib in (flambeau, torch):
        with pytest.raises(ValueError) as e:
            lib.nn.InstanceNorm1d(4, affine=True)(lib.randn(*shape))
        messages.append(str(e.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_batch_first_output_node_is_transpose_in_place(kind):
    import torch
    outs = []
    for lib in (flambeau, torch):
        lib.manual_seed(0)
        rnn = getattr(lib.nn, kind)(3, 4, batch_first=True)
        out, _ = rnn(lib.randn(2, 5, 3))
        outs.append(type(out.grad_fn).__name__)
        assert tuple(out.shape) == (2, 5, 4)
    assert outs[0] == outs[1] == ("TransposeBackward0" if kind == "LSTM" else "TransposeBackward1")


def test_group_norm_errors_name_the_sizes(device):
    same_error(lambda lib: lib.nn.GroupNorm(3, 4))
    same_error(lambda lib: lib.nn.GroupNorm(2, 4)(lib.randn(2, 6, 3)), device)
    # PyTorch's bias message shows the weight's shape ([0] without one)
    same_error(lambda lib: lib.nn.functional.group_norm(lib.randn(2, 6, 3), 3, lib.ones(6), lib.ones(5)), device)
    same_error(lambda lib: lib.nn.functional.group_norm(lib.randn(2, 6, 3), 3, None, lib.ones(5)), device)
    same_error(lambda lib: lib.nn.functional.group_norm(lib.randn(2, 6, 3), 3, lib.ones(2, 3)), device)


@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 5)])
def test_instance_norm_without_affine_warns_on_a_channel_mismatch(shape):
    messages = []
    for lib in (flambeau, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = lib.nn.InstanceNorm1d(4)(lib.randn(*shape))
        assert tuple(out.shape) == shape
        messages.append([str(w.message) for w in caught if w.category is UserWarning])
    assert messages[0] == messages[1] and len(messages[0]) == 1
