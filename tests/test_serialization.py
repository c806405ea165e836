"""flambeau.save / flambeau.load: round trips, PyTorch files, damaged and hostile files, atomicity."""
import collections
import io
import os
import pickle
import random
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import flambeau
from flambeau.nn.parameter import Parameter
from flambeau.serialization import save, load
from _nn_helpers import assert_on_device
from _oracle import on_device

ROOT = Path(__file__).resolve().parents[1]
DEVICES = ["cpu"] + (["cuda"] if flambeau.cuda.is_available() else [])


def _roundtrip(obj, **kw):
    buf = io.BytesIO()
    save(obj, buf)
    buf.seek(0)
    return load(buf, **kw)


def _equal(a, b):
    """Deep equality, tensors by dtype/shape/strides/device/values, containers by exact type."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, flambeau.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.stride() == b.stride()
        assert a.requires_grad == b.requires_grad and a.device == b.device
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _equal(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _equal(x, y)
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


def _sample(device="cpu"):
    lib = on_device(flambeau, device)
    x = lib.arange(24, dtype=flambeau.float32).view(2, 3, 4)
    od = collections.OrderedDict(weight=lib.randn(3, 2), bias=lib.zeros(3, dtype=flambeau.float64))
    od._metadata = {"": {"version": 1}}
    return {
        "x": x, "perm": x.permute(2, 0, 1), "narrow": x.narrow(2, 1, 2), "expanded": lib.ones(1, 3).expand(4, 3),
        "flipped": x.flip(0), "scalar": lib.tensor(3.5), "empty": lib.zeros(0, 5),
        "ints": lib.tensor([1, -2], dtype=flambeau.int64),
        "bytes8": lib.tensor([0, 255], dtype=flambeau.uint8), "bools": lib.tensor([True, False]),
        "half": lib.tensor([1.5], dtype=flambeau.float16), "cplx": lib.tensor([1 + 2j]),
        "param": Parameter(lib.randn(4)), "frozen": Parameter(lib.randn(2), requires_grad=False),
        "leaf": lib.randn(2).requires_grad_(), "state_dict": od, "cpu_too": flambeau.ones(2),
        "nested": [1, 2.5, "s", None, True, False, (1, (2, [3])), {"k": [None]}, {7: "int key", (1, 2): "tuple"}],
        "special": [float("inf"), float("-inf"), float("nan"), 2 ** 70, -0.0, "$", {"$": "not a tag"}],
        "misc": [b"\x00\xff", 1 + 2j, flambeau.float16, flambeau.Size([2, 3]), flambeau.device("cpu"), {1, 2},
                 frozenset({"a"}), collections.Counter({2: 1, 4: 3})],
    }


def test_roundtrip_every_supported_type(device):
    obj = _sample(device)
    back = _roundtrip(obj)
    _equal(obj, back)
    assert isinstance(back["param"], Parameter) and back["param"].requires_grad
    assert isinstance(back["frozen"], Parameter) and not back["frozen"].requires_grad
    assert back["state_dict"]._metadata == {"": {"version": 1}}


@pytest.mark.parametrize("map_location", [None, "cpu", "cuda"])
def test_views_share_one_storage_after_load(device, map_location):
    if map_location == "cuda" and "cuda" not in DEVICES:
        pytest.skip("no cuda device")
    back = _roundtrip(_sample(device), map_location=map_location)
    assert_on_device([back["x"], back["perm"], back["narrow"]], map_location or device)
    x, perm, narrow = back["x"], back["perm"], back["narrow"]
    assert x.untyped_storage().data_ptr() == perm.untyped_storage().data_ptr() == narrow.untyped_storage().data_ptr()
    assert narrow.storage_offset() == 1 and narrow.stride() == (12, 4, 1)
    x[0, 0, 1] = -7.0                       # writes through one view are seen by the others
    assert narrow[0, 0, 0].item() == -7.0 and perm[1, 0, 0].item() == -7.0
    assert back["expanded"].stride() == (0, 1)
    same = [flambeau.ones(2, device=device)] * 2                # one tensor object twice stays one object
    a, b = _roundtrip(same, map_location=map_location)
    assert a is b


def test_grads_are_not_saved_like_torch(device):
    """torch.save keeps values and requires_grad but drops .grad, for plain leaves and Parameters."""
    def saved_grads(lib, save_fn, load_fn):
        leaf = lib.ones(3, requires_grad=True)
        param = lib.nn.Parameter(lib.ones(2))
        (leaf * 2).sum().backward()
        (param * 3).sum().backward()
        buf = io.BytesIO()
        save_fn({"leaf": leaf, "param": param}, buf)
        buf.seek(0)
        back = load_fn(buf)
        return [(type(t).__name__, t.requires_grad, t.is_leaf, t.grad is None) for t in back.values()]
    assert saved_grads(on_device(flambeau, device), save, load) == saved_grads(torch, torch.save, torch.load)


def test_optimizer_state_dict_roundtrip():
    state = {"state": {0: {"momentum_buffer": flambeau.randn(3, 2)}, 1: {"step": flambeau.tensor(4.0),
                                                                       "exp_avg": flambeau.zeros(3)}},
             "param_groups": [{"lr": 0.1, "momentum": 0.9, "nesterov": False, "foreach": None, "params": [0, 1]}]}
    _equal(state, _roundtrip(state))


def _cuda_model():
    torch.manual_seed(0)
    m = flambeau.nn.Sequential(flambeau.nn.Linear(3, 4), flambeau.nn.BatchNorm1d(4)).to("cuda")
    m(flambeau.randn(5, 3, device="cuda")).sum().backward()
    return m


# map_location as torch takes it, and the device each tensor saved on cuda:0 ends up on
MAP_LOCATIONS = {
    "none": (None, "cuda"), "cpu": ("cpu", "cpu"), "cuda": ("cuda", "cuda"), "cuda:0": ("cuda:0", "cuda"),
    "device-cpu": (flambeau.device("cpu"), "cpu"), "device-cuda": (flambeau.device("cuda", 0), "cuda"),
    "dict-to-cpu": ({"cuda:0": "cpu"}, "cpu"), "dict-other": ({"cuda:1": "cpu"}, "cuda"),
    "function-identity": (lambda storage, loc: storage, "cpu"),
    "function-to-cuda": (lambda storage, loc: storage.cuda(), "cuda"),
    "function-none": (lambda storage, loc: None, "cuda"),
}


@pytest.mark.cuda
@pytest.mark.parametrize("how", list(MAP_LOCATIONS))
def test_cuda_module_save_load_map_location(tmp_path, how):
    """A cuda module's state dict (and its optimizer's) saved and loaded with every kind of map_location.

    As torch: a function receives each storage (on the CPU) and the location it was saved at; when
    it returns None, the default placement applies."""
    map_location, expected = MAP_LOCATIONS[how]
    m = _cuda_model()
    opt = flambeau.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    opt.step()
    path = tmp_path / "ckpt.pt"
    save({"model": m.state_dict(), "opt": opt.state_dict(), "w": m[0].weight}, path)
    back = load(path, map_location=map_location)
    assert_on_device(list(back["model"].values()), expected)
    assert_on_device([v["momentum_buffer"] for v in back["opt"]["state"].values()], expected)
    w = back["w"]
    assert isinstance(w, Parameter) and w.requires_grad and w.device.type == expected
    assert w.grad is None                # as torch.save: gradients are not part of a checkpoint
    for k, v in m.state_dict().items():
        _equal(v.to(expected), back["model"][k])
    # a module on either device loads it; values land on the module's device
    for device in ("cpu", "cuda"):
        fresh = flambeau.nn.Sequential(flambeau.nn.Linear(3, 4), flambeau.nn.BatchNorm1d(4)).to(device)
        fresh.load_state_dict(back["model"])
        assert_on_device(list(fresh.parameters()) + list(fresh.buffers()), device)
        x = flambeau.randn(2, 3)
        fresh.eval()
        m.eval()
        np.testing.assert_allclose(fresh(x.to(device)).detach().cpu().numpy(),
                                   m(x.to("cuda")).detach().cpu().numpy(), rtol=1e-6)


@pytest.mark.cuda
def test_cpu_file_loads_onto_cuda(tmp_path):
    path = tmp_path / "cpu.pt"
    x = flambeau.arange(6.0).view(2, 3)
    save({"x": x, "t": x.t(), "p": Parameter(flambeau.ones(2))}, path)
    for map_location in ("cuda", flambeau.device("cuda"), {"cpu": "cuda:0"}, lambda s, loc: s.cuda()):
        back = load(path, map_location=map_location)
        assert_on_device(list(back.values()), "cuda")
        assert back["t"].untyped_storage().data_ptr() == back["x"].untyped_storage().data_ptr()
        assert isinstance(back["p"], Parameter) and back["p"].requires_grad
        assert back["t"].stride() == (1, 3) and back["t"].tolist() == x.t().tolist()
    torch.save({"w": torch.arange(4.0)}, tmp_path / "torch.pt")       # a PyTorch file, too
    w = load(tmp_path / "torch.pt", map_location="cuda")["w"]
    assert w.device.type == "cuda" and w.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_save_to_path_and_map_location(tmp_path):
    p = tmp_path / "m.pt"
    save({"w": flambeau.ones(2)}, p)
    save({"w": flambeau.zeros(2)}, str(p))                      # replace
    assert load(p, map_location="cpu")["w"].tolist() == [0.0, 0.0]
    assert load(str(p), map_location=lambda t, loc: t)["w"].tolist() == [0.0, 0.0]
    assert load(p, map_location={"cpu": "cpu"})["w"].tolist() == [0.0, 0.0]
    assert sorted(os.listdir(tmp_path)) == ["m.pt"]             # no temporary file left


def test_unsupported_object_raises_type_error():
    with pytest.raises(TypeError, match="cannot save an object of type .*object"):
        save({"x": object()}, io.BytesIO())


class LectureNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 32, kernel_size=5)
        self.conv2 = torch.nn.Conv2d(32, 64, kernel_size=5)
        self.fc1 = torch.nn.Linear(256, 200)
        self.fc2 = torch.nn.Linear(200, 10)


def _assert_like_torch(ours, ref):
    assert isinstance(ours, flambeau.Tensor)
    assert str(ours.dtype) == str(ref.dtype) and tuple(ours.shape) == tuple(ref.shape)
    assert ours.stride() == ref.stride() and ours.storage_offset() == ref.storage_offset()
    np.testing.assert_array_equal(ours.detach().numpy(), ref.detach().numpy())


def test_loads_torch_state_dict(tmp_path):
    torch.manual_seed(0)
    net = LectureNet()
    path = tmp_path / "convnet.pt"
    torch.save(net.state_dict(), path)
    sd = load(path)
    ref = net.state_dict()
    assert isinstance(sd, collections.OrderedDict) and list(sd) == list(ref)
    for k in ref:
        _assert_like_torch(sd[k], ref[k])
    assert sd._metadata == dict(ref._metadata)


def test_scheduler_state_dicts_roundtrip_and_load_from_torch(tmp_path):
    """MultiStepLR keeps its milestones in a Counter: saved by either library, loaded by flambeau."""
    for lib in (flambeau, torch):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=0.5)
        sched = lib.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 4, 4], gamma=0.1)
        opt.step()
        sched.step()
        state = sched.state_dict()
        path = tmp_path / f"sched_{lib.__name__}.pt"
        lib.save({"sched": state}, path)
        back = load(path)["sched"]
        assert type(back["milestones"]) is collections.Counter
        assert back["milestones"] == collections.Counter({2: 1, 4: 2}) and back["last_epoch"] == 1
        fresh = flambeau.optim.lr_scheduler.MultiStepLR(flambeau.optim.SGD([flambeau.nn.Parameter(flambeau.zeros(2))],
                                                                            lr=0.5), milestones=[9])
        fresh.load_state_dict(back)
        assert fresh.milestones == collections.Counter({2: 1, 4: 2}) and fresh.last_epoch == 1


def test_loads_torch_views_parameters_and_optimizer_state(tmp_path):
    base = torch.arange(20, dtype=torch.float64).view(4, 5)
    # what torch.optim.SGD(momentum=0.9).state_dict() holds after one step (torch.optim is slow to import)
    opt_state = {"state": {0: {"momentum_buffer": torch.randn(2, 3)}, 1: {"momentum_buffer": torch.randn(2)}},
                 "param_groups": [{"lr": 0.1, "momentum": 0.9, "dampening": 0, "weight_decay": 0, "nesterov": False,
                                   "maximize": False, "foreach": None, "differentiable": False, "fused": None,
                                   "params": [0, 1]}]}
    obj = {"base": base, "t": base.t(), "col": base[:, 2], "p": torch.nn.Parameter(torch.randn(3)),
           "ints": torch.tensor([1, 2], dtype=torch.int16), "b": torch.tensor([True]), "opt": opt_state,
           "tup": (1, "x", None, 2.5)}
    path = tmp_path / "mixed.pt"
    torch.save(obj, path)
    back = load(path)
    for k in ("base", "t", "col", "ints", "b"):
        _assert_like_torch(back[k], obj[k])
    assert back["t"].untyped_storage().data_ptr() == back["base"].untyped_storage().data_ptr()
    assert isinstance(back["p"], Parameter) and back["p"].requires_grad
    np.testing.assert_array_equal(back["p"].detach().numpy(), obj["p"].detach().numpy())
    assert back["opt"]["param_groups"][0]["lr"] == 0.1 and back["opt"]["param_groups"][0]["params"] == [0, 1]
    _assert_like_torch(back["opt"]["state"][0]["momentum_buffer"], obj["opt"]["state"][0]["momentum_buffer"])
    assert back["tup"] == (1, "x", None, 2.5)


def test_torch_bfloat16_is_refused_clearly(tmp_path):
    path = tmp_path / "bf16.pt"
    torch.save({"w": torch.ones(2, dtype=torch.bfloat16)}, path)
    with pytest.raises(pickle.UnpicklingError, match="torch.BFloat16Storage: flambeau has no BFloat16 dtype"):
        load(path)


def _torch_zip(payload: bytes):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/byteorder", "little")
    return buf.getvalue()


class _Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


@pytest.mark.parametrize("fn, name", [(os.system, "posix.system"), (eval, "builtins.eval"), (exec, "builtins.exec"),
                                      (subprocess.call, "subprocess.call"), (getattr, "builtins.getattr")])
def test_hostile_pickles_are_refused(tmp_path, fn, name):
    marker = tmp_path / "pwned"
    arg = f"open({str(marker)!r}, 'w')" if fn in (eval, exec) else f"touch {marker}"
    for proto in (0, 2, 4):
        payload = pickle.dumps({"w": _Evil(fn, arg)}, protocol=proto)
        with pytest.raises(pickle.UnpicklingError, match=f"unsupported global {name}"):
            load(io.BytesIO(_torch_zip(payload)))
    assert not marker.exists()


def test_allowed_globals_cannot_be_abused():
    # a storage type called as a function, a rebuild function fed a non-storage
    bad = [b"\x80\x02ctorch\nFloatStorage\nK\x01\x85R.",
           b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(K\x01K\x00K\x01\x85K\x01\x85\x89tR.",
           b"\x80\x02ccollections\nOrderedDict\nK\x05\x85R.",
           b"\x80\x02(X\x07\x00\x00\x00storageK\x01tQ."]
    for payload in bad:
        with pytest.raises(pickle.UnpicklingError):
            load(io.BytesIO(_torch_zip(payload)))


def _loads_or_clear_error(blob, ok):
    """A damaged file must raise RuntimeError / UnpicklingError, or load to an acceptable value."""
    try:
        out = load(io.BytesIO(blob))
    except (RuntimeError, pickle.UnpicklingError) as e:
        assert str(e)
        return True
    ok(out)
    return False


def test_fuzz_damaged_files():
    rng = random.Random(1234)
    obj = {"w": flambeau.arange(6, dtype=flambeau.float32).view(2, 3), "v": [1, "a", (2.5, None)],
           "sd": collections.OrderedDict(b=flambeau.tensor([1, 2], dtype=flambeau.int64))}
    buf = io.BytesIO()
    save(obj, buf)
    good = buf.getvalue()
    tbuf = io.BytesIO()
    torch.save({"w": torch.arange(6.0).view(2, 3), "v": [1, "a"]}, tbuf)
    tgood = tbuf.getvalue()

    def same_as_saved(out):
        _equal(out, obj)

    def same_as_torch_saved(out):
        assert out["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and out["v"] == [1, "a"]

    def any_value(out):
        pass

    raised = 0
    cases = 0
    for original, ok in ((good, same_as_saved), (tgood, same_as_torch_saved)):
        for _ in range(300):
            b = bytearray(original)
            kind = rng.randrange(3)
            if kind == 0:                                     # flip a bit
                i = rng.randrange(len(b))
                b[i] ^= 1 << rng.randrange(8)
            elif kind == 1:                                   # truncate
                b = b[:rng.randrange(len(b))]
            else:                                             # swap two bytes
                i, j = rng.randrange(len(b)), rng.randrange(len(b))
                b[i], b[j] = b[j], b[i]
                if b == original:
                    continue
            cases += 1
            raised += _loads_or_clear_error(bytes(b), ok)
    # mutations inside the archive's records, re-zipped with valid CRCs: reach the parsers
    manifest = zipfile.ZipFile(io.BytesIO(good)).read("flambeau/manifest.json")
    pkl = zipfile.ZipFile(io.BytesIO(tgood)).read("archive/data.pkl")
    for _ in range(250):
        m = bytearray(manifest)
        for _ in range(rng.randrange(1, 4)):
            m[rng.randrange(len(m))] = rng.choice(b'0123456789-[]{}",:$tensorageidx ')
        z = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(z, "w") as dst:
            for info in src.infolist():
                dst.writestr(info.filename, bytes(m) if info.filename.endswith("manifest.json") else src.read(info))
        cases += 1
        raised += _loads_or_clear_error(z.getvalue(), any_value)
    for _ in range(250):
        p = bytearray(pkl)
        i = rng.randrange(len(p))
        p[i] = rng.randrange(256)
        if rng.random() < 0.3:
            p = p[:rng.randrange(len(p))]
        z = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(tgood)) as src, zipfile.ZipFile(z, "w") as dst:
            for info in src.infolist():
                dst.writestr(info.filename, bytes(p) if info.filename.endswith("data.pkl") else src.read(info))
        cases += 1
        raised += _loads_or_clear_error(z.getvalue(), any_value)
    assert cases >= 1000
    assert raised > cases // 2


def test_not_an_archive(tmp_path):
    p = tmp_path / "junk.pt"
    p.write_bytes(b"hello")
    with pytest.raises(RuntimeError, match="junk.pt: not a zip archive"):
        load(p)
    p.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(RuntimeError, match="legacy"):
        load(p)


def test_legacy_torch_files_load(tmp_path):
    import torch
    x = torch.arange(6.).view(2, 3)
    obj = {"w": x, "v": x[1], "i": torch.tensor([7, 8], dtype=torch.int16), "p": torch.nn.Parameter(torch.ones(2)),
           "sd": torch.nn.Linear(2, 3).state_dict(), "n": [1, "a", (2.5, None)], "b": torch.tensor([True, False])}
    p = tmp_path / "old.pth"
    torch.save(obj, p, _use_new_zipfile_serialization=False)        # the format of torch < 1.6
    got = load(p)
    assert got["n"] == [1, "a", (2.5, None)] and isinstance(got["p"], flambeau.nn.Parameter)
    for k in ("w", "v", "i", "p", "b"):
        np.testing.assert_array_equal(got[k].detach().numpy(), obj[k].detach().numpy())
        assert str(got[k].dtype) == str(obj[k].dtype)
    assert list(got["sd"]) == ["weight", "bias"]
    got["w"][1, 0] = 100.0                                             # the view still shares its storage
    assert got["v"][0].item() == 100.0
    assert load(p, map_location="cpu")["i"].tolist() == [7, 8]
    data = p.read_bytes()
    for cut in (len(data) - 3, len(data) // 2, 40):
        p.write_bytes(data[:cut])
        with pytest.raises(RuntimeError):
            load(p)


_CHILD = r"""
import sys, flambeau
from flambeau.serialization import save
big = flambeau.ones(2_000_000)
print("ready", flush=True)
while True:
    save({"v": big}, sys.argv[1])
"""


def test_killed_save_leaves_previous_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    save({"v": flambeau.zeros(2_000_000)}, path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for delay in (0.1,):
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, env=env)
        assert child.stdout.readline().strip() == b"ready"
        import time
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        v = load(path)["v"]                                  # the old file or a complete new one
        assert v.shape == (2_000_000,) and v.min().item() == v.max().item() in (0.0, 1.0)
