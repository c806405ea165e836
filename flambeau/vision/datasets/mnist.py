"""MNIST and FashionMNIST, read from IDX files (gzipped or not) in torchvision's layout.

``root/MNIST/raw/train-images-idx3-ubyte(.gz)`` and friends; ``download=True`` fetches the
canonical files from torchvision's mirrors and checks their MD5s.

Embedded subset: flambeau ships the first 1,000 training and the first 1,000 test images of
MNIST (with labels) inside the package, for examples and tests that must run offline:

    >>> from flambeau.vision.datasets import MNIST
    >>> ds = MNIST.embedded(train=True)
    >>> len(ds), ds.data.shape, ds.targets[:5].tolist()
    (1000, torch.Size([1000, 28, 28]), [5, 0, 4, 1, 9])

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0 as commonly
redistributed); see ``flambeau/data/README.md``.
"""
import gzip
import os
import warnings
import zlib
from pathlib import Path

import numpy as np

from ..._ops.creation import from_numpy
from .utils import download_from_mirrors
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "read_idx", "read_image_file", "read_label_file"]

_EMBEDDED = Path(__file__).resolve().parents[2] / "data"

# IDX type codes -> big-endian NumPy dtypes
_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_bytes(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise RuntimeError(f"{path}: damaged gzip file ({e})") from None
    return raw


def read_idx(path):
    """An IDX file (the format of MNIST) as a NumPy array of its native dtype.

    Raises:
        RuntimeError: naming the file, when the magic number, header or data length is wrong.
    """
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise RuntimeError(f"{path}: not an IDX file: {len(raw)} bytes, shorter than the 4-byte magic number")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise RuntimeError(f"{path}: not an IDX file: magic number 0x{raw[:4].hex()}, expected 0x0000TTNN "
                           f"with type TT in {{08, 09, 0b, 0c, 0d, 0e}}")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise RuntimeError(f"{path}: truncated IDX header: {ndim} dimensions need {header} bytes, the file has "
                           f"{len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        what = "truncated" if len(raw) - header < expected else "too long"
        raise RuntimeError(f"{path}: {what} IDX data: shape {shape} of {dtype.name} needs {expected} bytes, "
                           f"the file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def read_image_file(path):
    x = read_idx(path)
    if x.dtype != np.uint8 or x.ndim != 3:
        raise RuntimeError(f"{path}: expected uint8 images of shape (N, H, W), got {x.dtype} {x.shape}")
    return from_numpy(x)


def read_label_file(path):
    x = read_idx(path)
    if x.dtype != np.uint8 or x.ndim != 1:
        raise RuntimeError(f"{path}: expected uint8 labels of shape (N,), got {x.dtype} {x.shape}")
    return from_numpy(x.astype(np.int64))


class MNIST(VisionDataset):
    """The MNIST digits (60,000 training and 10,000 test images, 28x28 grey levels).

    Args:
        root (str): folder holding ``MNIST/raw`` (the IDX files, gzipped or not).
        train (bool): training set (``train-*``) or test set (``t10k-*``).
        transform: applied to the image (a PIL image, or the uint8 (28, 28) array
            when Pillow is not installed).
        target_transform: applied to the int label.
        download (bool): fetch the files from the mirrors when they are missing.

    Attributes: ``data`` (uint8 tensor (N, 28, 28)), ``targets`` (int64 tensor (N,)),
    ``classes``, ``class_to_idx``.
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    resources = [("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                 ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                 ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if root is None:
            raise TypeError(f"{type(self).__name__}(): root is required; for the offline subset use "
                            f"{type(self).__name__}.embedded()")
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        self.data, self.targets = self._load_data()

    @classmethod
    def embedded(cls, train=True, transform=None, target_transform=None):
        """The first 1,000 training (or test) MNIST images, shipped inside flambeau."""
        if cls is not MNIST:
            raise NotImplementedError(f"{cls.__name__}.embedded(): only MNIST ships an embedded subset")
        self = cls.__new__(cls)
        VisionDataset.__init__(self, None, transform=transform, target_transform=target_transform)
        self.train = train
        split = "train" if train else "t10k"
        self.data = read_image_file(_EMBEDDED / f"mnist-1k-{split}-images-idx3-ubyte.gz")
        self.targets = read_label_file(_EMBEDDED / f"mnist-1k-{split}-labels-idx1-ubyte.gz")
        return self

    @property
    def raw_folder(self):
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def processed_folder(self):
        return os.path.join(self.root, self.__class__.__name__, "processed")

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def _file(self, name):
        """The path of ``name`` (an .gz resource) in raw/: gzipped or uncompressed, whichever exists."""
        gz = os.path.join(self.raw_folder, name)
        plain = gz[:-3] if gz.endswith(".gz") else gz
        return plain if os.path.isfile(plain) else gz

    def _check_exists(self):
        return all(os.path.isfile(self._file(name)) for name, _ in self.resources)

    def _load_data(self):
        split = "train" if self.train else "t10k"
        data = read_image_file(self._file(f"{split}-images-idx3-ubyte.gz"))
        targets = read_label_file(self._file(f"{split}-labels-idx1-ubyte.gz"))
        if data.shape[0] != targets.shape[0]:
            raise RuntimeError(f"{self.raw_folder}: {data.shape[0]} images but {targets.shape[0]} labels")
        return data, targets

    def download(self):
        """Fetch the missing files (never touching the network when they are all present)."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            if not os.path.isfile(self._file(filename)):
                download_from_mirrors(self.mirrors, filename, self.raw_folder, md5)

    def __getitem__(self, index):
        img, target = self.data._data[index], int(self.targets._data[index])
        img = _to_image(img, "L")
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self):
        return len(self.data)

    def extra_repr(self):
        return f"Split: {'Train' if self.train is True else 'Test'}"

    # the names of torchvision < 0.3
    @property
    def train_labels(self):
        warnings.warn("train_labels has been renamed targets")
        return self.targets

    @property
    def test_labels(self):
        warnings.warn("test_labels has been renamed targets")
        return self.targets

    @property
    def train_data(self):
        warnings.warn("train_data has been renamed data")
        return self.data

    @property
    def test_data(self):
        warnings.warn("test_data has been renamed data")
        return self.data


def _to_image(array, mode):
    """A PIL image when Pillow is installed, else the array itself (ToTensor accepts both)."""
    try:
        from PIL import Image
    except ImportError:
        return array
    return Image.fromarray(array, mode=mode) if mode == "L" else Image.fromarray(array)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's format and sizes, ten kinds of clothing."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                 ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                 ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
