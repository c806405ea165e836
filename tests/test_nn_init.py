"""nn.init and every layer's default initialization: exact gains and fans, distributions statistically."""
import math

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, need_torch
from _nn_helpers import assert_on_device, no_host_reads

torch = need_torch()
init = flambeau.nn.init


@pytest.mark.parametrize("nl,param", [("linear", None), ("conv2d", None), ("conv_transpose1d", None),
                                      ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
                                      ("leaky_relu", 0.2), ("leaky_relu", 3), ("selu", None)])
def test_calculate_gain_exact(nl, param):
    assert init.calculate_gain(nl, param) == torch.nn.init.calculate_gain(nl, param)


def test_calculate_gain_errors():
    for lib in (flambeau, torch):
        with pytest.raises(ValueError):
            lib.nn.init.calculate_gain("swish")
        with pytest.raises(ValueError):
            lib.nn.init.calculate_gain("leaky_relu", "a")


def test_bad_fan_mode_message_matches_torch():
    messages = []
    for lib in (flambeau, torch):
        with pytest.raises(ValueError) as e:
            lib.nn.init.kaiming_normal_(lib.empty(2, 2), mode="Fan")
        messages.append(str(e.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("shape", [(3, 4), (8, 2, 3), (6, 4, 3, 5), (2, 3, 1, 1, 2)])
def test_fan_in_fan_out_exact(shape):
    ours = init._calculate_fan_in_and_fan_out(flambeau.empty(shape))
    ref = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert tuple(ours) == tuple(ref)
    for lib in (flambeau, torch):
        with pytest.raises(ValueError):
            lib.nn.init._calculate_fan_in_and_fan_out(lib.empty(5))
        with pytest.raises(ValueError):
            lib.nn.init.kaiming_uniform_(lib.empty(3, 4), mode="fan_avg")


def _check_uniform(t, bound):
    a = t.detach().cpu().numpy().astype(np.float64)
    assert np.abs(a).max() <= bound * (1 + 1e-6)
    assert np.abs(a).max() > bound * 0.97           # the sample reaches near the bound
    assert abs(a.mean()) < 4 * bound / math.sqrt(3 * a.size)
    assert abs(a.std() - bound / math.sqrt(3)) < 0.03 * bound


def _check_normal(t, mean, std):
    a = t.detach().cpu().numpy().astype(np.float64)
    assert abs(a.mean() - mean) < 5 * std / math.sqrt(a.size)
    assert abs(a.std() - std) < 0.03 * std


def test_uniform_normal_constant(device):
    flambeau.manual_seed(0)
    t = flambeau.empty(200, 100, device=device)
    with no_host_reads(device):
        assert init.uniform_(t, -0.5, 0.5) is t
    assert_on_device(t, device)
    _check_uniform(t, 0.5)
    init.uniform_(t, 2.0, 3.0)
    assert t.min().item() >= 2.0 and t.max().item() < 3.0
    init.normal_(t, 1.0, 0.3)
    _check_normal(t, 1.0, 0.3)
    init.constant_(t, 0.7)
    assert flambeau.allclose(t, flambeau.full((200, 100), 0.7, device=device))
    assert_on_device(t, device)
    assert (init.ones_(t) == 1).all() and (init.zeros_(t) == 0).all()


def test_init_runs_without_recording_on_parameters(device):
    p = flambeau.nn.Parameter(flambeau.empty(3, 4, device=device))
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_, init.orthogonal_,
               init.trunc_normal_, init.zeros_, init.ones_, init.eye_, lambda t: init.sparse_(t, 0.5)):
        with no_host_reads(device):
            out = fn(p)
        assert out is p and p.grad_fn is None and p.is_leaf and p.requires_grad
        assert_on_device(p, device)


def test_xavier(device):
    flambeau.manual_seed(1)
    t = flambeau.empty(300, 200, device=device)
    init.xavier_uniform_(t, gain=2.0)
    _check_uniform(t, 2.0 * math.sqrt(6.0 / 500))
    init.xavier_normal_(t, gain=0.5)
    _check_normal(t, 0.0, 0.5 * math.sqrt(2.0 / 500))
    c = flambeau.empty(64, 16, 3, 3, device=device)
    init.xavier_uniform_(c)
    assert_on_device([t, c], device)
    _check_uniform(c, math.sqrt(6.0 / (16 * 9 + 64 * 9)))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nl,a", [("relu", 0), ("leaky_relu", 0.1), ("linear", 0), ("tanh", 0)])
def test_kaiming(mode, nl, a, device):
    flambeau.manual_seed(2)
    t = flambeau.empty(200, 50, 3, device=device)
    fan = 50 * 3 if mode == "fan_in" else 200 * 3
    gain = torch.nn.init.calculate_gain(nl, a)
    init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nl)
    _check_uniform(t, gain * math.sqrt(3.0 / fan))
    init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nl)
    _check_normal(t, 0.0, gain / math.sqrt(fan))
    assert_on_device(t, device)


def test_trunc_normal(device):
    flambeau.manual_seed(3)
    t = flambeau.empty(100000, device=device)
    with no_host_reads(device):
        init.trunc_normal_(t, mean=0.5, std=1.0, a=-1.0, b=1.5)
    assert_on_device(t, device)
    a = t.cpu().numpy()
    assert a.min() >= -1.0 and a.max() <= 1.5
    ref = torch.empty(100000)
    torch.manual_seed(0)
    torch.nn.init.trunc_normal_(ref, mean=0.5, std=1.0, a=-1.0, b=1.5)
    assert abs(a.mean() - ref.mean().item()) < 0.01
    assert abs(a.std() - ref.std().item()) < 0.01


def test_orthogonal(device):
    flambeau.manual_seed(4)
    for shape in ((5, 8), (8, 5), (4, 2, 3)):
        t = flambeau.empty(shape, dtype=flambeau.float64, device=device)
        init.orthogonal_(t, gain=2.0)
        assert_on_device(t, device)
        m = t.reshape(shape[0], -1).cpu().numpy()
        if m.shape[0] <= m.shape[1]:
            np.testing.assert_allclose(m @ m.T, 4 * np.eye(m.shape[0]), atol=1e-10)
        else:
            np.testing.assert_allclose(m.T @ m, 4 * np.eye(m.shape[1]), atol=1e-10)
    for lib in (flambeau, torch):
        with pytest.raises(ValueError):
            lib.nn.init.orthogonal_(lib.empty(3))


def test_eye_and_dirac_exact(device):
    eye = init.eye_(flambeau.empty(3, 5, device=device))
    assert_on_device(eye, device)
    assert_same(eye, torch.nn.init.eye_(torch.empty(3, 5)))
    for shape, groups in (((4, 4, 3), 1), ((6, 3, 3, 3), 2), ((2, 3, 1, 3, 2), 1)):
        dirac = init.dirac_(flambeau.empty(shape, device=device), groups)
        assert_on_device(dirac, device)
        assert_same(dirac, torch.nn.init.dirac_(torch.empty(shape), groups))
    x = np.random.default_rng(0).standard_normal((1, 4, 5, 5)).astype(np.float32)
    w = init.dirac_(flambeau.empty(4, 4, 3, 3, device=device))
    out = flambeau.nn.functional.conv2d(flambeau.tensor(x, device=device), w, padding=1)
    np.testing.assert_allclose(out.cpu().numpy(), x, rtol=1e-6)
    for lib in (flambeau, torch):
        with pytest.raises(ValueError):
            lib.nn.init.eye_(lib.empty(2, 2, 2))
        with pytest.raises(ValueError):
            lib.nn.init.dirac_(lib.empty(3, 3))


def test_sparse(device):
    flambeau.manual_seed(5)
    t = init.sparse_(flambeau.empty(20, 30, device=device), sparsity=0.3, std=0.5)
    assert_on_device(t, device)
    zeros = (t == 0).sum(0)
    assert (zeros >= 6).all()
    nz = t[t != 0].cpu().numpy()
    assert abs(nz.std() - 0.5) < 0.08


def test_manual_seed_reproduces_layers(device):
    flambeau.manual_seed(7)
    a = flambeau.nn.Linear(10, 4, device=device)
    flambeau.manual_seed(7)
    b = flambeau.nn.Linear(10, 4, device=device)
    assert_on_device([a.weight, b.weight], device)
    assert flambeau.equal(a.weight, b.weight) and flambeau.equal(a.bias, b.bias)


# -- every layer's default initialization ------------------------------------------------------
def _params(m):
    return dict(m.named_parameters())


def test_linear_bilinear_default_init(device):
    flambeau.manual_seed(0)
    m = flambeau.nn.Linear(400, 300, device=device)
    _check_uniform(m.weight, 1 / math.sqrt(400))
    a = m.bias.detach().cpu().numpy()
    assert np.abs(a).max() <= 1 / math.sqrt(400) and np.abs(a).max() > 0.9 / math.sqrt(400)
    b = flambeau.nn.Bilinear(30, 20, 100, device=device)
    _check_uniform(b.weight, 1 / math.sqrt(30))
    assert_on_device(list(m.parameters()) + list(b.parameters()), device)


def test_conv_default_init(device):
    flambeau.manual_seed(0)
    c = flambeau.nn.Conv2d(16, 64, 3, groups=2, device=device)
    _check_uniform(c.weight, 1 / math.sqrt(8 * 9))
    assert np.abs(c.bias.detach().cpu().numpy()).max() <= 1 / math.sqrt(8 * 9)
    t = flambeau.nn.ConvTranspose2d(64, 32, 3, device=device)
    _check_uniform(t.weight, 1 / math.sqrt(32 * 9))
    assert tuple(t.weight.shape) == tuple(torch.nn.ConvTranspose2d(64, 32, 3).weight.shape)
    c1 = flambeau.nn.Conv1d(20, 200, 5, device=device)
    _check_uniform(c1.weight, 1 / math.sqrt(100))
    assert_on_device(list(c.parameters()) + list(t.parameters()) + list(c1.parameters()), device)


def test_rnn_embedding_norm_default_init(device):
    flambeau.manual_seed(0)
    for m in (flambeau.nn.LSTM(30, 100, 2, device=device), flambeau.nn.GRUCell(50, 64, device=device),
              flambeau.nn.RNN(40, 80, device=device)):
        assert_on_device(list(m.parameters()), device)
        for name, p in m.named_parameters():
            if p.numel() > 5000:
                _check_uniform(p, 1 / math.sqrt(m.hidden_size))
            assert np.abs(p.detach().cpu().numpy()).max() <= 1 / math.sqrt(m.hidden_size)
    e = flambeau.nn.Embedding(1000, 50, padding_idx=3, device=device)
    assert_on_device(e.weight, device)
    w = e.weight.detach().cpu().numpy()
    assert (w[3] == 0).all()
    _check_normal(flambeau.tensor(np.delete(w, 3, 0)), 0.0, 1.0)
    for m in (flambeau.nn.BatchNorm2d(5, device=device), flambeau.nn.LayerNorm(5, device=device),
              flambeau.nn.GroupNorm(5, 5, device=device), flambeau.nn.InstanceNorm2d(5, affine=True, device=device)):
        assert_on_device(list(m.parameters()), device)
        assert (m.weight == 1).all() and (m.bias == 0).all()
    bn = flambeau.nn.BatchNorm1d(4, device=device)
    assert_on_device(list(bn.buffers()), device)
    assert (bn.running_mean == 0).all() and (bn.running_var == 1).all() and bn.num_batches_tracked.item() == 0
    assert (flambeau.nn.PReLU(3, device=device).weight == 0.25).all()


def test_reset_parameters_docstrings_state_the_math():
    for cls in (flambeau.nn.Linear, flambeau.nn.Conv2d, flambeau.nn.LSTM, flambeau.nn.Bilinear):
        doc = cls.reset_parameters.__doc__ or ""
        assert "U(" in doc and "sqrt" in doc, cls
