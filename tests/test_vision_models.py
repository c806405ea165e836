"""flambeau.vision.models against numbers recorded from torchvision 0.29.1 (torch 2.14.1, CPU).

torchvision is not imported here. Each literal below was printed by torchvision with the call
written next to it; the helpers ``_keys_digest``, ``_values_digest`` and ``_image`` are the ones the
recording script used, written the same way for both libraries.
"""
import copy
import hashlib
import http.server
import os
import pickle
import threading
import urllib.error
import warnings

import numpy as np
import pytest

import flambeau
from flambeau import nn
from flambeau.vision import models as M
from flambeau.vision.models import _hub
from flambeau.vision.models.densenet import DenseNet
from flambeau.vision.models.resnet import BasicBlock, Bottleneck, ResNet


def _keys_digest(sd):
    return hashlib.sha256("\n".join(f"{k}:{tuple(v.shape)}" for k, v in sd.items()).encode()).hexdigest()[:16]


def _values_digest(sd):
    """sha256 of every tensor's bytes, in state_dict order: equal digests mean bit-identical weights."""
    h = hashlib.sha256()
    for v in sd.values():
        h.update(np.ascontiguousarray(v.detach().numpy()).tobytes())
    return h.hexdigest()[:16]


def _image(n, h, w):
    return flambeau.tensor(np.sin(0.1 * np.arange(n * 3 * h * w)).reshape(n, 3, h, w).astype(np.float32))


def _num_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.fixture
def no_random_init(monkeypatch):
    """Builds without drawing random numbers (parameters stay zero): for tests of structure only,
    so that a 143M-parameter VGG builds in a fraction of a second."""
    monkeypatch.setattr(flambeau.Tensor, "uniform_", lambda self, *a, **k: self)
    monkeypatch.setattr(flambeau.Tensor, "normal_", lambda self, *a, **k: self)


@pytest.fixture(autouse=True)
def only_localhost(monkeypatch):
    """No test reaches the real download.pytorch.org."""
    import socket
    real = socket.socket.connect

    def connect(self, address, *args):
        if not (isinstance(address, tuple) and address[0] in ("127.0.0.1", "localhost")):
            raise OSError(f"network is unreachable in the tests (tried {address})")
        return real(self, address, *args)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", _local_getaddrinfo(socket.getaddrinfo))


def _local_getaddrinfo(real):
    def getaddrinfo(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost"):
            import socket
            raise socket.gaierror(-2, "Name or service not known (the tests have no network)")
        return real(host, *args, **kwargs)
    return getaddrinfo


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty TORCH_HOME; returns its hub/checkpoints directory."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path / "torch_home" / "hub" / "checkpoints"


# --------------------------------------------------------------------------------------------------
# structure: parameter counts and state_dict keys of every model

# torchvision: m = models.get_model(name)
#   (sum of p.numel(), len(m.state_dict()), _keys_digest(m.state_dict()), sha256(repr(m).encode()).hexdigest()[:16])
KEYS = {
    "alexnet": (61100840, 16, "7cf57469ad654ca3", "2891f54c81b8aa3e"),
    "densenet121": (7978856, 727, "604b78c2bbed70c0", "86b22cc67387a261"),
    "densenet161": (28681000, 967, "3f911412d51f2ecc", "dc4f327189dbcb4c"),
    "densenet169": (14149480, 1015, "56728b035e841ddf", "648eb480a9e2f25f"),
    "densenet201": (20013928, 1207, "82cfe2e7fe9f5e8e", "4197f53101994ee8"),
    "mobilenet_v2": (3504872, 314, "2a375ead3e9604e1", "e80e6fd178749cf5"),
    "resnet101": (44549160, 626, "708e8813e2eb3461", "72376a8a23df2e9b"),
    "resnet152": (60192808, 932, "9e3321003337a848", "de32e2bfc835d938"),
    "resnet18": (11689512, 122, "3e58b0798c806a0c", "78a0ce552ae923a0"),
    "resnet34": (21797672, 218, "97e365907d64da74", "a60cf71e278ea118"),
    "resnet50": (25557032, 320, "781bb16f43b8f96f", "11201e7f2419f050"),
    "resnext101_32x8d": (88791336, 626, "d8d4f6f347fc1097", "8c3edcfc7fd4238c"),
    "resnext101_64x4d": (83455272, 626, "b1642e95df84809d", "a45a57f0719c7665"),
    "resnext50_32x4d": (25028904, 320, "7140c3dbddac5382", "d87d3de8a4f26dde"),
    "squeezenet1_0": (1248424, 52, "d028ebe5030ca989", "8b319b5bfbc68eec"),
    "squeezenet1_1": (1235496, 52, "d93224ce3d6af260", "db09563d9ff04db0"),
    "vgg11": (132863336, 22, "5e6ee14c22dc415d", "b38617afb5581bf3"),
    "vgg11_bn": (132868840, 62, "96ee5d41fde5cc7f", "a45245226f1806de"),
    "vgg13": (133047848, 26, "054bce641758c677", "20ce33fda78f78a8"),
    "vgg13_bn": (133053736, 76, "98a0a0f25977c5dd", "150a2ffa03c913c7"),
    "vgg16": (138357544, 32, "77334610293d95e2", "b628f277d195f69a"),
    "vgg16_bn": (138365992, 97, "a463166a74dc0850", "de68bea10f12c3b8"),
    "vgg19": (143667240, 38, "b4eb1243614e83cf", "d889f0547ed59fbd"),
    "vgg19_bn": (143678248, 118, "e6e7b876b32ca010", "aca2e40c329146a8"),
    "wide_resnet101_2": (126886696, 626, "b36705398a51e311", "ef25943054748a9d"),
    "wide_resnet50_2": (68883240, 320, "31ec3ad967f7b3b9", "8dfeb5afc91029e6"),
}


def test_registry_lists_the_models():
    assert M.list_models() == sorted(KEYS)
    assert M.list_models(module=M) == sorted(KEYS)
    assert M.list_models(include="resnet*") == ["resnet101", "resnet152", "resnet18", "resnet34", "resnet50"]
    assert M.list_models(include=["vgg1?", "alex*"], exclude="*_bn") == ["alexnet", "vgg11", "vgg13", "vgg16",
                                                                         "vgg19"]
    assert M.list_models(include="dense*", exclude=["*161", "*169"]) == ["densenet121", "densenet201"]
    assert M.get_model_builder("ResNet18") is M.resnet18
    assert M.get_model_weights("resnet50") is M.ResNet50_Weights
    assert M.get_model_weights(M.vgg11_bn) is M.VGG11_BN_Weights
    assert M.get_weight("ResNet50_Weights.IMAGENET1K_V2") is M.ResNet50_Weights.IMAGENET1K_V2


@pytest.mark.parametrize("name", sorted(KEYS))
def test_parameters_keys_and_repr_match_torchvision(name, no_random_init):
    num_params, num_keys, digest, repr_digest = KEYS[name]
    model = M.get_model(name)
    sd = model.state_dict()
    assert _num_params(model) == num_params == M.get_model_weights(name).DEFAULT.meta["num_params"]
    assert (len(sd), _keys_digest(sd)) == (num_keys, digest)
    assert hashlib.sha256(repr(model).encode()).hexdigest()[:16] == repr_digest


# --------------------------------------------------------------------------------------------------
# initialization: bit-identical weights after the same seed

# torchvision: torch.manual_seed(0); m = <call>; sd = m.state_dict()
#   (_values_digest(sd), first weight key, its float64 sum, last weight key, its float64 sum)
SEEDED = {
    # models.squeezenet1_0()
    "squeezenet1_0": ("c2ec1711883f3f8c", "features.0.weight", -6.394128887479383, "classifier.1.weight",
                      5.554832047091853),
    # models.squeezenet1_1()
    "squeezenet1_1": ("309bfa75ce6442af", "features.0.weight", -9.121530188247561, "classifier.1.weight",
                      6.04134187798647),
    # models.mobilenet_v2()
    "mobilenet_v2": ("f791068566d4e439", "features.0.0.weight", 0.0755554725261618, "classifier.1.weight",
                     17.54908452786463),
    # models.resnet18()
    "resnet18": ("206b847474536f20", "conv1.weight", -5.018750041808971, "fc.weight", 22.258755403208127),
    # models.densenet121()
    "densenet121": ("1272ce22078a663a", "features.conv0.weight", -4.048442504681589, "classifier.weight",
                    -10.309460088610649),
    # models.mobilenet_v2(width_mult=0.5, num_classes=10)
    "mobilenet_v2_w05": ("c18693cd96ef9d23", "features.0.0.weight", 1.810822364554042, "classifier.1.weight",
                         0.33135553752686064),
    # models.resnet.ResNet(Bottleneck, [1, 1, 1, 1], num_classes=10, zero_init_residual=True, groups=2,
    #                      width_per_group=32, replace_stride_with_dilation=[False, True, True])
    "small_resnext": ("71443c84fba593e2", "conv1.weight", 2.7201193022769132, "fc.weight", 1.4815978519598048),
    # models.resnet.ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10, zero_init_residual=True,
    #                      norm_layer=lambda c: torch.nn.GroupNorm(8, c))
    "small_resnet_gn": ("0fde5060c3c356dd", "conv1.weight", 2.920638468886615, "fc.weight", -0.735140419548884),
    # models.densenet.DenseNet(growth_rate=8, block_config=(2, 2, 2, 2), num_init_features=16, bn_size=2,
    #                          drop_rate=0.2, num_classes=10)
    "small_densenet": ("5bb9b3873e660bab", "features.conv0.weight", -5.523745365419018, "classifier.weight",
                       0.3936790775042027),
}

BUILD = {
    "squeezenet1_0": lambda: M.squeezenet1_0(),
    "squeezenet1_1": lambda: M.squeezenet1_1(),
    "mobilenet_v2": lambda: M.mobilenet_v2(),
    "resnet18": lambda: M.resnet18(),
    "densenet121": lambda: M.densenet121(),
    "mobilenet_v2_w05": lambda: M.mobilenet_v2(width_mult=0.5, num_classes=10),
    "small_resnext": lambda: ResNet(Bottleneck, [1, 1, 1, 1], num_classes=10, zero_init_residual=True, groups=2,
                                    width_per_group=32, replace_stride_with_dilation=[False, True, True]),
    "small_resnet_gn": lambda: ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10, zero_init_residual=True,
                                      norm_layer=lambda c: nn.GroupNorm(8, c)),
    "small_densenet": lambda: DenseNet(growth_rate=8, block_config=(2, 2, 2, 2), num_init_features=16, bn_size=2,
                                       drop_rate=0.2, num_classes=10),
}

_built = {}


def _seeded(name):
    """The model built after manual_seed(0), shared by the tests (each gets a deep copy)."""
    if name not in _built:
        flambeau.manual_seed(0)
        _built[name] = BUILD[name]()
    return copy.deepcopy(_built[name])


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_seeded_weights_equal_torchvision_bit_for_bit(name):
    digest, first, first_sum, last, last_sum = SEEDED[name]
    sd = _seeded(name).state_dict()
    # the sums say where a difference starts; the digest says that nothing differs at all
    assert sd[first].double().sum().item() == pytest.approx(first_sum, rel=1e-12, abs=1e-12)
    assert sd[last].double().sum().item() == pytest.approx(last_sum, rel=1e-12, abs=1e-12)
    assert _values_digest(sd) == digest


def test_zero_init_residual_and_dilation(no_random_init):
    model = _seeded("small_resnext")
    for block in model.modules():
        if isinstance(block, Bottleneck):
            assert float(block.bn3.weight.abs().sum()) == 0.0
            assert float(block.bn2.weight.sum()) == block.bn2.weight.numel()
    # a dilated stage's first block keeps the dilation before it (torchvision's ResNet(Bottleneck, [2, 1, 1, 2],
    # replace_stride_with_dilation=[False, True, True]) has 1, 2, 4 for layer3[0], layer4[0], layer4[1])
    deeper = ResNet(Bottleneck, [2, 1, 1, 2], replace_stride_with_dilation=[False, True, True])
    assert [m.conv2.dilation for m in (deeper.layer3[0], deeper.layer4[0], deeper.layer4[1])] == [(1, 1), (2, 2),
                                                                                                   (4, 4)]
    assert deeper.layer4[0].conv2.stride == (1, 1) and deeper.layer4[0].downsample[0].stride == (1, 1)


# --------------------------------------------------------------------------------------------------
# forward passes

# torchvision: the SEEDED model, .eval(), y = m(_image(1, 64, 64)): (y[0, :4], y.sum(), y.norm())
EVAL_64 = {
    "resnet18": ([0.2859247, 0.3190812, -0.2484099, 0.1513076], 21.11904639331624, 10.921555722065566),
    "mobilenet_v2": ([7.078103e-11, -3.304531e-10, -3.442217e-10, 2.309454e-10], 1.169992488092228e-08,
                     8.602508183080715e-09),
    "squeezenet1_0": ([0.002948603, 0.0, 0.01934734, 0.02887917], 47.446217149881704, 2.517667936119477),
    "squeezenet1_1": ([0.06075982, 0.04828195, 0.06867612, 0.03110078], 38.47592866103514, 1.9403102020904168),
    "densenet121": ([0.01922382, -0.2307761, -0.2980368, -0.1884813], -1.5520043026190251, 7.856422448298616),
    "small_resnext": ([0.03503162, -0.0132437, -0.02562777, -0.001798258], -0.011929620755836368,
                      0.06231620464051349),
    "small_resnet_gn": ([-0.2068068, -0.1252398, -0.09435508, 0.5103527], 0.0004970990121364594,
                        0.7655036228603611),
    "small_densenet": ([-0.006741814, 0.1162124, -0.629638, 0.1996623], 0.08616143465042114, 0.9325851078567102),
}

# torchvision: the SEEDED model, .train(), torch.manual_seed(1), y = m(_image(2, 64, 64)): (y[1, :4], y.sum(), y.norm())
# (batch statistics, and dropout masks drawn from the generator)
TRAIN_64 = {
    "squeezenet1_1": ([0.1130629, 0.02180772, 0.09938294, 0.02161073], 101.58980764372973, 3.0581339263866267),
    "mobilenet_v2": ([-0.2460872, -0.01349969, -0.1399694, 0.07983865], 20.276072553824633, 8.44719277975056),
    "small_densenet": ([-0.2193507, 0.2413789, -0.2288384, -0.2485303], 0.12588493060320616, 1.1680246153748688),
}


def _check_output(y, row, expected):
    first, total, norm = expected
    y = y.detach().numpy().astype(np.float64)
    assert np.linalg.norm(y) == pytest.approx(norm, rel=1e-4)
    np.testing.assert_allclose(y[row, :4], first, rtol=1e-4, atol=1e-5 * norm)
    assert abs(y.sum() - total) <= 1e-4 * norm


@pytest.mark.parametrize("name", sorted(EVAL_64))
def test_eval_output_matches_torchvision(name):
    model = _seeded(name).eval()
    with flambeau.no_grad():
        y = model(_image(1, 64, 64))
    assert tuple(y.shape) == (1, 10 if name.startswith("small") else 1000)
    _check_output(y, 0, EVAL_64[name])


@pytest.mark.parametrize("name", sorted(TRAIN_64))
def test_train_output_matches_torchvision(name):
    model = _seeded(name).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flambeau.manual_seed(1)
    y = model(_image(2, 64, 64))
    _check_output(y, 1, TRAIN_64[name])
    after = model.state_dict()
    tracked = [k for k in after if k.endswith("num_batches_tracked")]      # none in SqueezeNet
    assert all(int(after[k]) == 1 for k in tracked)
    assert all(not np.array_equal(before[k].numpy(), after[k].numpy()) for k in after if "running_var" in k)
    # eval mode: running statistics, no dropout, nothing updated, the same output twice
    model.eval()
    with flambeau.no_grad():
        a, b = model(_image(2, 64, 64)), model(_image(2, 64, 64))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert all(int(model.state_dict()[k]) == 1 for k in tracked)


def _pattern(n):
    base = (((np.arange(2003) * 7919) % 2003) - 1001) / 1001.0
    return np.resize(base.astype(np.float32), n)


def _fill(model):
    """Deterministic weights without the generator (a VGG draws 133M numbers otherwise)."""
    for _, p in model.named_parameters():
        scale = 1 / np.sqrt(p[0].numel()) if p.dim() > 1 else 0.1
        out = p.detach().numpy().reshape(-1)         # a view: the parameter is written in place
        np.multiply(_pattern(p.numel()), np.float32(scale), out=out)


def test_vgg11_forward_matches_torchvision(no_random_init):
    # torchvision: m = models.vgg11(init_weights=False); _fill(m); m.eval(); y = m(_image(1, 64, 64))
    #              m.train(); torch.manual_seed(1); y2 = m(_image(2, 64, 64))
    model = M.vgg11(init_weights=False)
    _fill(model)
    model.eval()
    with flambeau.no_grad():
        y = model(_image(1, 64, 64))
    assert tuple(y.shape) == (1, 1000)
    _check_output(y, 0, ([0.923473, 0.3475832, -0.2000678, -0.3584496], 0.7744897287338972, 14.507295160806699))
    model.train()
    flambeau.manual_seed(1)
    with flambeau.no_grad():
        y2 = model(_image(2, 64, 64))      # dropout in the classifier
    _check_output(y2, 1, ([0.5591543, 0.2370929, 0.1150401, -0.2979775], 1.409599938429892, 19.214056303108226))


def test_densenet_memory_efficient_gives_the_same_gradients():
    x = _image(2, 32, 32)
    grads = []
    for memory_efficient in (False, True):
        flambeau.manual_seed(0)
        model = DenseNet(growth_rate=4, block_config=(2, 2, 2, 2), num_init_features=8, bn_size=2, num_classes=3,
                         memory_efficient=memory_efficient)
        flambeau.manual_seed(1)
        model(x).pow(2).sum().backward()
        grads.append({k: p.grad.numpy() for k, p in model.named_parameters()})
    for k in grads[0]:
        np.testing.assert_allclose(grads[1][k], grads[0][k], rtol=1e-5, atol=1e-7, err_msg=k)


def test_backward_through_resnet_reaches_every_parameter():
    model = _seeded("small_resnet_gn").train()
    model(_image(2, 32, 32)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


# --------------------------------------------------------------------------------------------------
# reprs

def test_repr_is_torchvisions(no_random_init):
    # torchvision: repr(models.mobilenet_v2(width_mult=0.5, num_classes=10)), its start and end
    text = repr(M.mobilenet_v2(width_mult=0.5, num_classes=10))
    assert text.startswith(
        "MobileNetV2(\n  (features): Sequential(\n    (0): Conv2dNormActivation(\n"
        "      (0): Conv2d(3, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)\n"
        "      (1): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)\n"
        "      (2): ReLU6(inplace=True)\n    )\n    (1): InvertedResidual(\n")
    assert text.endswith("  (classifier): Sequential(\n    (0): Dropout(p=0.2, inplace=False)\n"
                         "    (1): Linear(in_features=1280, out_features=10, bias=True)\n  )\n)")
    assert hashlib.sha256(text.encode()).hexdigest()[:16] == "ba2bf6b868e0f957"
    # torchvision: repr(models.squeezenet1_1().features[3])
    assert repr(M.squeezenet1_1().features[3]) == (
        "Fire(\n  (squeeze): Conv2d(64, 16, kernel_size=(1, 1), stride=(1, 1))\n"
        "  (squeeze_activation): ReLU(inplace=True)\n"
        "  (expand1x1): Conv2d(16, 64, kernel_size=(1, 1), stride=(1, 1))\n"
        "  (expand1x1_activation): ReLU(inplace=True)\n"
        "  (expand3x3): Conv2d(16, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "  (expand3x3_activation): ReLU(inplace=True)\n)")


# --------------------------------------------------------------------------------------------------
# the weights API

def test_weights_enums():
    w = M.ResNet50_Weights.DEFAULT
    assert w is M.ResNet50_Weights.IMAGENET1K_V2 and list(M.ResNet50_Weights) == [M.ResNet50_Weights.IMAGENET1K_V1, w]
    assert repr(w) == str(w) == "ResNet50_Weights.IMAGENET1K_V2"
    assert w.url == "https://download.pytorch.org/models/resnet50-11ad3fa6.pth"
    assert w.meta["num_params"] == 25557032 and w.meta["min_size"] == (1, 1)
    assert w.meta["_metrics"]["ImageNet-1K"]["acc@1"] == 80.858
    cats = w.meta["categories"]
    assert len(cats) == len(set(cats)) == 1000 and cats[0] == "tench" and cats[-1] == "toilet tissue"
    # torchvision: hashlib.sha256("\n".join(_IMAGENET_CATEGORIES).encode()).hexdigest()[:16]
    assert hashlib.sha256("\n".join(cats).encode()).hexdigest()[:16] == "0b0f9fee7c952f25"
    assert M.AlexNet_Weights.DEFAULT.url.endswith("/alexnet-owt-7be5be79.pth")
    assert M.VGG16_Weights.IMAGENET1K_FEATURES.meta["categories"] is None
    assert isinstance(w, M.WeightsEnum) and isinstance(w.value, M.Weights)
    assert copy.deepcopy(w) is w and pickle.loads(pickle.dumps(w)) is w
    assert M.ResNet18_Weights.verify("IMAGENET1K_V1") is M.ResNet18_Weights.verify(
        "ResNet18_Weights.IMAGENET1K_V1") is M.ResNet18_Weights.IMAGENET1K_V1
    assert M.ResNet18_Weights.verify(None) is None


def test_weights_transforms():
    t = M.ResNet50_Weights.IMAGENET1K_V2.transforms()
    assert repr(t) == ("ImageClassification(\n    crop_size=[224]\n    resize_size=[232]\n"
                       "    mean=[0.485, 0.456, 0.406]\n    std=[0.229, 0.224, 0.225]\n"
                       "    interpolation=InterpolationMode.BILINEAR\n)")
    img = flambeau.tensor(np.full((3, 300, 400), 255, dtype=np.uint8))
    out = t(img)
    assert tuple(out.shape) == (3, 224, 224) and out.dtype == flambeau.float32
    np.testing.assert_allclose(out.numpy()[:, 100, 100], [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224,
                                                         (1 - 0.406) / 0.225], rtol=1e-5)
    pil = pytest.importorskip("PIL.Image")
    out = M.ResNet18_Weights.DEFAULT.transforms()(pil.new("RGB", (320, 240), (0, 0, 0)))
    assert tuple(out.shape) == (3, 224, 224)
    np.testing.assert_allclose(out.numpy()[0, 0, 0], -0.485 / 0.229, rtol=1e-5)


@pytest.mark.parametrize("call, error", [
    (lambda: M.resnet18(weights=M.ResNet50_Weights.DEFAULT), TypeError),
    (lambda: M.ResNet18_Weights.verify(3), TypeError),
    (lambda: M.resnet18(weights="IMAGENET1K_V9"), KeyError),
    (lambda: M.get_model("resnet9000"), ValueError),
    (lambda: M.get_model_weights("resnet9000"), ValueError),
    (lambda: M.get_weight("ResNet50_Weights"), ValueError),
    (lambda: M.get_weight("Nope_Weights.X"), ValueError),
    (lambda: M.resnext50_32x4d(groups=8), ValueError),
    (lambda: M.wide_resnet50_2(width_per_group=64), ValueError),
    (lambda: M.resnet18(weights="DEFAULT", num_classes=10), ValueError),
    (lambda: M.resnet18(groups=2), ValueError),
    (lambda: M.resnet18(replace_stride_with_dilation=[False, False, True]), NotImplementedError),
    (lambda: M.resnet50(replace_stride_with_dilation=[True]), ValueError),
    (lambda: M.squeezenet.SqueezeNet(version="1_2"), ValueError),
    (lambda: M.MobileNetV2(inverted_residual_setting=[[1, 16, 1]]), ValueError),
    (lambda: M.mobilenetv2.InvertedResidual(8, 8, 3, 2), ValueError),
    (lambda: M.squeezenet1_1(foo=1), TypeError),
])
def test_bad_arguments_raise_torchvisions_exceptions(call, error, no_random_init, torch_home):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error):
            call()


def test_legacy_pretrained_keyword(no_random_init, torch_home):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = M.squeezenet1_1(pretrained=False)
    assert [str(w.message)[:40] for w in caught] == ["The parameter 'pretrained' is deprecated",
                                                     "Arguments other than a weight enum or `N"]
    assert isinstance(model, M.SqueezeNet)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        M.squeezenet1_1(False)
    assert any("'weights' as positional parameter" in str(w.message) for w in caught)
    # pretrained=True means the first weights, IMAGENET1K_V1, not DEFAULT (IMAGENET1K_V2 for resnet50)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(urllib.error.URLError, match="resnet50-0676ba61.pth"):
            M.resnet50(pretrained=True)
    assert any("weights=ResNet50_Weights.IMAGENET1K_V1" in str(w.message) for w in caught)


# --------------------------------------------------------------------------------------------------
# loading weights from torch hub's cache, downloading them

def _save(state_dict, path, writer):
    if writer == "torch":
        torch = pytest.importorskip("torch")
        torch.save({k: torch.from_numpy(v.numpy().copy()) for k, v in state_dict.items()}, str(path))
    else:
        flambeau.save(state_dict, str(path))


@pytest.mark.parametrize("writer", ["flambeau", "torch"])
def test_weights_load_from_the_hub_cache(torch_home, writer):
    flambeau.manual_seed(5)
    source = M.squeezenet1_1()
    torch_home.mkdir(parents=True)
    _save(source.state_dict(), torch_home / "squeezenet1_1-b8a52dc0.pth", writer)
    flambeau.manual_seed(0)
    model = M.squeezenet1_1(weights=M.SqueezeNet1_1_Weights.DEFAULT)
    assert _values_digest(model.state_dict()) == _values_digest(source.state_dict())
    with pytest.warns(UserWarning):
        legacy = M.squeezenet1_1(pretrained=True)
    assert _values_digest(legacy.state_dict()) == _values_digest(source.state_dict())


def test_xdg_cache_home_is_the_fallback(tmp_path, monkeypatch):
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _hub.get_dir() == str(tmp_path / "xdg" / "torch" / "hub")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert _hub.get_dir() == os.path.expanduser("~/.cache/torch/hub")


def test_densenet_weights_with_old_key_names(torch_home):
    """The published DenseNet files predate num_batches_tracked and name layers "norm.1", "conv.2"."""
    source = _seeded("densenet121")
    old = {}
    for k, v in source.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        for name in ("norm", "relu", "conv"):
            for i in "12":
                k = k.replace(f".{name}{i}.", f".{name}.{i}.") if ".denselayer" in k else k
        old[k] = v
    assert "features.denseblock1.denselayer1.norm.1.weight" in old
    torch_home.mkdir(parents=True)
    flambeau.save(old, str(torch_home / "densenet121-a639ec97.pth"))
    model = M.densenet121(weights="DEFAULT")
    sd = model.state_dict()
    assert int(sd["features.denseblock1.denselayer1.norm1.num_batches_tracked"]) == 0
    expected = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert _values_digest(expected) == _values_digest({k: sd[k] for k in expected})


def test_missing_file_without_network_is_a_clear_error(torch_home):
    with pytest.raises(urllib.error.URLError) as info:
        M.squeezenet1_0(weights="DEFAULT")
    message = str(info.value)
    assert "squeezenet1_0-b66bff10.pth" in message and str(torch_home) in message
    assert "https://download.pytorch.org/models/squeezenet1_0-b66bff10.pth" in message
    assert os.listdir(torch_home) == []          # no partial file left behind


class _Server(http.server.BaseHTTPRequestHandler):
    files = {}

    def do_GET(self):
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Server.files = {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Server.files
    httpd.shutdown()


def test_download_checks_the_hash_in_the_file_name(server, tmp_path, capsys):
    base, files = server
    state = {"w": flambeau.arange(6.0).reshape(2, 3), "b": flambeau.tensor([1, 2])}
    flambeau.save(state, str(tmp_path / "blob"))
    body = (tmp_path / "blob").read_bytes()
    digest = hashlib.sha256(body).hexdigest()
    files[f"/m/tiny-{digest[:8]}.pth"] = body
    files["/m/tiny-0badbeef.pth"] = body
    cache = tmp_path / "cache"

    got = _hub.load_state_dict_from_url(f"{base}/m/tiny-{digest[:8]}.pth", model_dir=str(cache), check_hash=True,
                                        progress=False)
    np.testing.assert_array_equal(got["w"].numpy(), state["w"].numpy())
    assert os.listdir(cache) == [f"tiny-{digest[:8]}.pth"]
    assert "Downloading" in capsys.readouterr().out
    files.clear()                                  # cached now: no second download
    _hub.load_state_dict_from_url(f"{base}/m/tiny-{digest[:8]}.pth", model_dir=str(cache), check_hash=True)

    files["/m/tiny-0badbeef.pth"] = body
    with pytest.raises(RuntimeError, match="invalid hash value"):
        _hub.load_state_dict_from_url(f"{base}/m/tiny-0badbeef.pth", model_dir=str(cache), check_hash=True,
                                      progress=False)
    assert os.listdir(cache) == [f"tiny-{digest[:8]}.pth"]      # written under a temporary name, removed
    # without check_hash the same file is accepted, and file_name renames it
    _hub.load_state_dict_from_url(f"{base}/m/tiny-0badbeef.pth", model_dir=str(cache), file_name="x.pth",
                                  progress=False)
    assert sorted(os.listdir(cache)) == sorted([f"tiny-{digest[:8]}.pth", "x.pth"])
    with pytest.raises(urllib.error.URLError, match="404"):
        _hub.load_state_dict_from_url(f"{base}/m/missing-12345678.pth", model_dir=str(cache), progress=False)


def test_docstring_examples():
    import doctest
    from flambeau.vision.models import _presets
    for module in (M, _presets):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, module.__name__
