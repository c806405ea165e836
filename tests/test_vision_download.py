"""download=True against a local HTTP server on 127.0.0.1 (the real mirrors are never contacted)."""
import gzip
import hashlib
import http.server
import os
import struct
import threading

import numpy as np
import pytest

from flambeau.vision import datasets
from flambeau.vision.datasets import utils as dl


@pytest.fixture(autouse=True)
def only_localhost(monkeypatch):
    import socket
    real = socket.socket.connect

    def connect(self, address, *args):
        if not (isinstance(address, tuple) and address[0] in ("127.0.0.1", "localhost")):
            raise AssertionError(f"a test tried to connect to {address}")
        return real(self, address, *args)
    monkeypatch.setattr(socket.socket, "connect", connect)


class _Handler(http.server.BaseHTTPRequestHandler):
    files = {}            # path -> bytes
    cut = set()           # paths whose transfer stops halfway
    hits = []

    def do_GET(self):
        self.hits.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in self.cut:
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.files, _Handler.cut, _Handler.hits = {}, set(), []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Handler
    httpd.shutdown()
    httpd.server_close()


def _mnist_files(n=3):
    rng = np.random.default_rng(0)
    out = {}
    for split in ("train", "t10k"):
        imgs = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        out[f"{split}-images-idx3-ubyte.gz"] = gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", n, 28, 28)
                                                             + imgs.tobytes())
        out[f"{split}-labels-idx1-ubyte.gz"] = gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", n)
                                                             + labels.tobytes())
    return out


def _md5(b):
    return hashlib.md5(b).hexdigest()


def _patch_mnist(monkeypatch, files, mirrors, md5s=None):
    resources = [(name, (md5s or {}).get(name, _md5(body))) for name, body in files.items()]
    monkeypatch.setattr(datasets.MNIST, "resources", resources)
    monkeypatch.setattr(datasets.MNIST, "mirrors", mirrors)


def test_download_verifies_and_falls_back_to_next_mirror(tmp_path, server, monkeypatch, capsys):
    base, handler = server
    files = _mnist_files()
    for name, body in files.items():
        handler.files[f"/good/{name}"] = body
    _patch_mnist(monkeypatch, files, [f"{base}/missing/", f"{base}/good/"])
    ds = datasets.MNIST(tmp_path, download=True)
    assert len(ds) == 3
    raw = tmp_path / "MNIST" / "raw"
    assert sorted(os.listdir(raw)) == sorted(files)
    for name, body in files.items():
        assert (raw / name).read_bytes() == body
    out = capsys.readouterr().out
    assert "Failed to download (trying next)" in out and "404" in out
    assert sum(h.startswith("/missing/") for h in handler.hits) == 4
    handler.hits.clear()
    datasets.MNIST(tmp_path, download=True, train=False)          # all present: no request at all
    assert handler.hits == []


def test_checksum_failure_leaves_nothing(tmp_path, server, monkeypatch):
    base, handler = server
    files = _mnist_files()
    for name, body in files.items():
        handler.files[f"/m/{name}"] = body
    _patch_mnist(monkeypatch, files, [f"{base}/m/"], md5s={"train-images-idx3-ubyte.gz": "0" * 32})
    with pytest.raises(RuntimeError, match="Error downloading train-images-idx3-ubyte.gz"):
        datasets.MNIST(tmp_path, download=True)
    raw = tmp_path / "MNIST" / "raw"
    assert "train-images-idx3-ubyte.gz" not in os.listdir(raw)
    assert not [f for f in os.listdir(raw) if f.endswith(".part")]


def test_checksum_failure_then_good_mirror(tmp_path, server, monkeypatch):
    base, handler = server
    files = _mnist_files()
    for name, body in files.items():
        handler.files[f"/good/{name}"] = body
        handler.files[f"/bad/{name}"] = body + b"tampered"
    _patch_mnist(monkeypatch, files, [f"{base}/bad/", f"{base}/good/"])
    ds = datasets.MNIST(tmp_path, download=True)
    assert len(ds) == 3 and sorted(os.listdir(tmp_path / "MNIST" / "raw")) == sorted(files)


def test_interrupted_transfer_leaves_nothing_behind(tmp_path, server):
    base, handler = server
    body = os.urandom(100_000)
    handler.files["/f.bin"] = body
    handler.cut.add("/f.bin")
    with pytest.raises(Exception):
        dl.download_url(f"{base}/f.bin", tmp_path, md5=None)
    assert os.listdir(tmp_path) == []
    handler.cut.clear()
    dl.download_url(f"{base}/f.bin", tmp_path, md5=_md5(body))
    assert (tmp_path / "f.bin").read_bytes() == body
    handler.hits.clear()
    dl.download_url(f"{base}/f.bin", tmp_path, md5=_md5(body))   # verified copy present: no request
    assert handler.hits == []


def test_cifar_download_and_already_verified(tmp_path, server, monkeypatch, capsys):
    import io
    import pickle
    import tarfile
    base, handler = server
    rng = np.random.default_rng(0)
    members = {}
    for name in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]:
        members[name] = pickle.dumps({"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), "labels": [1, 2]},
                                     protocol=2)
    members["batches.meta"] = pickle.dumps({"label_names": [str(i) for i in range(10)]}, protocol=2)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    archive = buf.getvalue()
    handler.files["/kriz/cifar-10-python.tar.gz"] = archive
    monkeypatch.setattr(datasets.CIFAR10, "url", f"{base}/kriz/cifar-10-python.tar.gz")
    monkeypatch.setattr(datasets.CIFAR10, "tgz_md5", _md5(archive))
    monkeypatch.setattr(datasets.CIFAR10, "train_list", [[n, _md5(members[n])] for n in list(members)[:5]])
    monkeypatch.setattr(datasets.CIFAR10, "test_list", [["test_batch", _md5(members["test_batch"])]])
    monkeypatch.setattr(datasets.CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names",
                                                   "md5": _md5(members["batches.meta"])})
    ds = datasets.CIFAR10(str(tmp_path), train=True, download=True)
    assert ds.data.shape == (10, 32, 32, 3)
    capsys.readouterr()
    handler.hits.clear()
    datasets.CIFAR10(str(tmp_path), train=True, download=True)
    assert capsys.readouterr().out == "Files already downloaded and verified\n"
    assert handler.hits == []


def test_archive_extraction_refuses_escaping_paths(tmp_path):
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../evil.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    path = tmp_path / "a.tar.gz"
    path.write_bytes(buf.getvalue())
    (tmp_path / "out").mkdir()
    with pytest.raises(RuntimeError, match="refusing to extract '../evil.txt'"):
        dl.extract_archive(str(path), str(tmp_path / "out"))
    assert not (tmp_path / "evil.txt").exists()
