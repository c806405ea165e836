"""vision.datasets: IDX and CIFAR files written here (small), the embedded subset, the real data (slow)."""
import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

import flambeau
from flambeau.vision import datasets, transforms
from flambeau.vision.datasets.mnist import read_idx
from flambeau.vision.datasets.cifar import load_batch

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Tests never reach real hosts: any connection attempt fails the test."""
    import socket

    def refuse(self, address, *args):
        raise AssertionError(f"a test tried to connect to {address}")
    monkeypatch.setattr(socket.socket, "connect", refuse)


def _idx(array, code=0x08):
    return bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + \
        array.astype(array.dtype.newbyteorder(">")).tobytes()


def _write_mnist(root, name="MNIST", n=(7, 3), gz=True, seed=0):
    rng = np.random.default_rng(seed)
    raw = root / name / "raw"
    raw.mkdir(parents=True)
    out = {}
    for split, count in zip(("train", "t10k"), n):
        imgs = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, count).astype(np.uint8)
        for kind, arr, code in (("images-idx3", imgs, 0x08), ("labels-idx1", labels, 0x08)):
            path = raw / f"{split}-{kind}-ubyte"
            data = _idx(arr, code)
            if gz:
                (raw / f"{split}-{kind}-ubyte.gz").write_bytes(gzip.compress(data))
            else:
                path.write_bytes(data)
        out[split] = (imgs, labels)
    return out


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_layout_and_items(tmp_path, gz):
    arrays = _write_mnist(tmp_path, gz=gz)
    for train, split in ((True, "train"), (False, "t10k")):
        ds = datasets.MNIST(str(tmp_path), train=train)
        imgs, labels = arrays[split]
        assert ds.data.dtype == flambeau.uint8 and tuple(ds.data.shape) == imgs.shape
        np.testing.assert_array_equal(ds.data.numpy(), imgs)
        assert ds.targets.dtype == flambeau.int64 and ds.targets.tolist() == labels.tolist()
        img, target = ds[1]
        assert type(target) is int and target == labels[1]
        np.testing.assert_array_equal(np.asarray(img), imgs[1])
        assert img.mode == "L"
    assert ds.class_to_idx["3 - three"] == 3 and len(ds.classes) == 10
    with pytest.warns(UserWarning, match="train_data has been renamed data"):
        assert ds.train_data is ds.data
    with pytest.warns(UserWarning):
        assert ds.test_labels is ds.targets
    t = datasets.MNIST(str(tmp_path), transform=transforms.ToTensor(), target_transform=lambda y: y + 100)
    x, y = t[0]
    assert x.shape == (1, 28, 28) and x.dtype == flambeau.float32 and y == arrays["train"][1][0] + 100
    np.testing.assert_allclose(x.numpy()[0], arrays["train"][0][0] / np.float32(255), rtol=0, atol=0)
    assert "Split: Train" in repr(t) and "Number of datapoints: 7" in repr(t)


def test_fashion_mnist_uses_its_own_folder(tmp_path):
    _write_mnist(tmp_path, name="FashionMNIST", n=(4, 2))
    ds = datasets.FashionMNIST(tmp_path, train=False)
    assert len(ds) == 2 and ds.classes[9] == "Ankle boot"
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True"):
        datasets.MNIST(tmp_path)


def test_idx_reader_dtypes(tmp_path):
    for code, dt in ((0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32),
                     (0x0E, np.float64)):
        a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dt)
        p = tmp_path / f"f{code}"
        p.write_bytes(_idx(a, code))
        back = read_idx(p)
        assert back.dtype == dt and back.shape == a.shape
        np.testing.assert_array_equal(back, a)


def test_damaged_idx_files_name_the_file(tmp_path):
    good = _idx(np.zeros((3, 28, 28), np.uint8))
    cases = {
        "truncated": (good[:-5],
                      "truncated IDX data: shape \\(3, 28, 28\\) of uint8 needs 2352 bytes, the file has 2347"),
        "magic": (b"\x08\x03\x00\x00" + good[4:], "not an IDX file: magic number 0x08030000"),
        "type": (b"\x00\x00\x07\x03" + good[4:], "not an IDX file: magic number 0x00000703"),
        "tiny": (b"\x00\x00", "not an IDX file: 2 bytes, shorter than the 4-byte magic number"),
        "header": (good[:9], "truncated IDX header: 3 dimensions need 16 bytes"),
        "long": (good + b"\x00", "too long IDX data"),
    }
    for name, (data, msg) in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(RuntimeError, match=f"{name}: {msg}"):
            read_idx(p)
    p = tmp_path / "bad.gz"
    p.write_bytes(gzip.compress(good)[:-20])
    with pytest.raises(RuntimeError, match="bad.gz: damaged gzip file"):
        read_idx(p)


def test_mnist_images_labels_mismatch_and_wrong_kind(tmp_path):
    _write_mnist(tmp_path, n=(5, 2), gz=False)
    raw = tmp_path / "MNIST" / "raw"
    (raw / "train-labels-idx1-ubyte").write_bytes(_idx(np.zeros(4, np.uint8)))
    with pytest.raises(RuntimeError, match="5 images but 4 labels"):
        datasets.MNIST(tmp_path)
    (raw / "train-labels-idx1-ubyte").write_bytes(_idx(np.zeros((5, 2), np.uint8)))
    with pytest.raises(RuntimeError, match="train-labels-idx1-ubyte: expected uint8 labels of shape \\(N,\\)"):
        datasets.MNIST(tmp_path)


def test_embedded_subset():
    train, test = datasets.MNIST.embedded(), datasets.MNIST.embedded(train=False, transform=transforms.ToTensor())
    assert len(train) == len(test) == 1000
    assert train.targets[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]     # SOURCES.md
    assert test.targets[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    x, y = test[0]
    assert x.shape == (1, 28, 28) and y == 7 and 0 <= x.min().item() and x.max().item() == 1.0
    readme = Path(datasets.mnist.__file__).resolve().parents[2] / "data" / "README.md"
    assert "LeCun" in readme.read_text() and "CC BY-SA 3.0" in readme.read_text()


@pytest.mark.slow
def test_embedded_subset_equals_real_data():
    for train in (True, False):
        real = datasets.MNIST(str(SHARED), train=train)
        emb = datasets.MNIST.embedded(train=train)
        np.testing.assert_array_equal(emb.data.numpy(), real.data.numpy()[:1000])
        np.testing.assert_array_equal(emb.targets.numpy(), real.targets.numpy()[:1000])


@pytest.mark.slow
def test_real_mnist_and_fashion_mnist():
    m = datasets.MNIST(str(SHARED), train=True, download=True)          # present: no network
    assert tuple(m.data.shape) == (60000, 28, 28)
    assert np.bincount(m.targets.numpy()).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert abs(m.data.numpy().mean() - 33.32) < 0.01
    f = datasets.FashionMNIST(str(SHARED), train=False)
    assert np.bincount(f.targets.numpy()).tolist() == [1000] * 10
    assert f.targets[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]


def _cifar_batch(n, rng, label_key="labels", extra=None):
    d = {"batch_label": "testing batch", label_key: rng.integers(0, 10, n).tolist(),
         "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "filenames": [f"img{i}.png" for i in range(n)]}
    d.update(extra or {})
    return d


def _write_cifar10(root, counts=(3, 2, 2, 1, 2), test=4, seed=0):
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = []
    for i, n in enumerate(counts, 1):
        b = _cifar_batch(n, rng)
        batches.append(b)
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(b, protocol=2))
    tb = _cifar_batch(test, rng)
    (folder / "test_batch").write_bytes(pickle.dumps(tb, protocol=2))
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names, "num_vis": 3072}, protocol=2))
    return batches, tb


def test_cifar10_layout_and_lecture_usage(tmp_path):
    batches, tb = _write_cifar10(tmp_path)
    ds = datasets.CIFAR10(str(tmp_path), train=True)
    expected = np.vstack([b["data"] for b in batches]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    assert isinstance(ds.data, np.ndarray) and ds.data.dtype == np.uint8 and ds.data.shape == (10, 32, 32, 3)
    np.testing.assert_array_equal(ds.data, expected)
    assert ds.targets == [t for b in batches for t in b["labels"]]
    assert ds.classes[7] == "horse" and ds.class_to_idx["truck"] == 9
    x = flambeau.from_numpy(ds.train_data).transpose(1, 3).transpose(2, 3).float()   # the lecture's line
    assert x.shape == (10, 3, 32, 32)
    np.testing.assert_array_equal(x.numpy(), expected.transpose(0, 3, 1, 2).astype(np.float32))
    img, y = ds[4]
    assert img.mode == "RGB" and img.size == (32, 32) and y == ds.targets[4]
    np.testing.assert_array_equal(np.asarray(img), expected[4])
    t = datasets.CIFAR10(tmp_path, train=False, transform=transforms.ToTensor())
    assert len(t) == 4 and t[0][0].shape == (3, 32, 32) and t.test_data is t.data


def test_cifar100(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    tr = _cifar_batch(5, rng, "fine_labels", {"coarse_labels": [0] * 5})
    (folder / "train").write_bytes(pickle.dumps(tr, protocol=2))
    (folder / "test").write_bytes(pickle.dumps(_cifar_batch(2, rng, "fine_labels"), protocol=2))
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": [f"c{i}" for i in range(100)],
                                                "coarse_label_names": ["x"]}, protocol=4))
    ds = datasets.CIFAR100(tmp_path)
    assert ds.targets == tr["fine_labels"] and len(ds.classes) == 100 and ds.data.shape == (5, 32, 32, 3)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar_batches_are_read_without_running_code(tmp_path):
    _write_cifar10(tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    (folder / "data_batch_2").write_bytes(pickle.dumps({"data": _Evil(), "labels": []}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="data_batch_2: unsupported global posix.system"):
        datasets.CIFAR10(tmp_path)
    obj_array = np.array([1, "x"], dtype=object)
    (folder / "data_batch_2").write_bytes(pickle.dumps({"data": obj_array, "labels": [0, 1]}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="dtype 'O8' is not allowed"):
        datasets.CIFAR10(tmp_path)


def test_damaged_cifar_batches(tmp_path):
    _write_cifar10(tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    good = (folder / "data_batch_1").read_bytes()
    (folder / "data_batch_1").write_bytes(good[:len(good) // 2])
    with pytest.raises(RuntimeError, match="data_batch_1: damaged CIFAR batch file"):
        datasets.CIFAR10(tmp_path)
    (folder / "data_batch_1").write_bytes(pickle.dumps([1, 2], protocol=2))
    with pytest.raises(RuntimeError, match="data_batch_1: a CIFAR batch is a dict"):
        datasets.CIFAR10(tmp_path)
    (folder / "data_batch_1").write_bytes(pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}))
    with pytest.raises(RuntimeError, match=r"data_batch_1: 'data' must be a uint8 array of shape \(N, 3072\)"):
        datasets.CIFAR10(tmp_path)
    (folder / "data_batch_1").write_bytes(pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}))
    with pytest.raises(RuntimeError, match="data_batch_1: 2 images but 1 labels"):
        datasets.CIFAR10(tmp_path)
    (folder / "data_batch_1").unlink()
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted.*data_batch_1"):
        datasets.CIFAR10(tmp_path)
    assert load_batch(folder / "test_batch")["batch_label"] == "testing batch"


def test_works_without_pillow(tmp_path, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("no Pillow")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    ds = datasets.MNIST.embedded(transform=transforms.ToTensor())
    x, y = ds[0]
    assert x.shape == (1, 28, 28) and y == 5
    raw, _ = datasets.MNIST.embedded()[0]
    assert isinstance(raw, np.ndarray) and raw.shape == (28, 28)
    _write_cifar10(tmp_path)
    img, _ = datasets.CIFAR10(tmp_path)[0]
    assert isinstance(img, np.ndarray) and transforms.ToTensor()(img).shape == (3, 32, 32)
