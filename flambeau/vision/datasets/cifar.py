"""CIFAR10 and CIFAR100 from the python version's pickled batches, in torchvision's layout.

``root/cifar-10-batches-py/data_batch_1..5, test_batch, batches.meta`` (CIFAR-100:
``root/cifar-100-python/train, test, meta``). The batches are Python pickles; they are read
by a restricted unpickler that builds only dicts, lists, strings, numbers and uint8/int
NumPy arrays, so a tampered file cannot run code.
"""
import os
import pickle

import numpy as np

from .mnist import _to_image
from .utils import check_integrity, download_and_extract_archive
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100", "load_batch"]


def _reconstruct(cls, shape, dtype_code):
    if cls is not np.ndarray:
        raise _Refused("only plain NumPy arrays may be rebuilt")
    return np.ndarray.__new__(np.ndarray, shape, np.uint8)


def _dtype(code, align=False, copy=True):
    if code not in ("u1", "i1", "i2", "i4", "i8", "f4", "f8", "b1"):
        raise _Refused(f"NumPy dtype {code!r} is not allowed (only numeric dtypes)")
    return np.dtype(code)


def _encode(text, encoding="latin1"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused("_codecs.encode is allowed only for latin1 strings")
    return text.encode("latin1")



_ALLOWED = {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): _dtype, ("_codecs", "encode"): _encode}


class _Refused(pickle.UnpicklingError):
    """A global that a CIFAR batch may not name."""


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        fn = _ALLOWED.get((module, name))
        if fn is None:
            raise _Refused(f"unsupported global {module}.{name} (a CIFAR batch holds only "
                                         "dicts, lists, strings, numbers and NumPy arrays)")
        return fn


def load_batch(path):
    """One CIFAR batch file as a dict with ``str`` keys."""
    try:
        with open(path, "rb") as f:
            entry = _BatchUnpickler(f, encoding="latin1").load()
    except _Refused as e:
        raise pickle.UnpicklingError(f"{path}: {e}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            OverflowError, MemoryError,
            UnicodeDecodeError, __import__("struct").error) as e:
        raise RuntimeError(f"{path}: damaged CIFAR batch file ({type(e).__name__}: {e})") from None
    if not isinstance(entry, dict):
        raise RuntimeError(f"{path}: a CIFAR batch is a dict, this file holds a {type(entry).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}


class CIFAR10(VisionDataset):
    """CIFAR-10: 50,000 training and 10,000 test colour images, 32x32, ten classes.

    Args:
        root (str): folder holding ``cifar-10-batches-py``.
        train (bool): the five training batches, or the test batch.
        transform / target_transform: applied to the PIL image (the uint8 (32, 32, 3) array
            without Pillow) and to the int label.
        download (bool): fetch and extract the archive unless the batches are there with the
            right MD5s ("Files already downloaded and verified").

    Attributes: ``data`` (NumPy uint8 (N, 32, 32, 3)), ``targets`` (list of int),
    ``classes``, ``class_to_idx``; ``train_data`` / ``test_data`` are ``data`` (older names).
    """

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [["data_batch_1", "c99cafc152244af753f735de768cd75f"],
                  ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
                  ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
                  ["data_batch_4", "634d18415352ddfa80567beed471001a"],
                  ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"]]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names", "md5": "5ff9c542aee3614f3951f8cda6e48888"}
    _label_key = "labels"

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        files = self.train_list if train else self.test_list
        missing = [n for n, _ in files + [[self.meta["filename"], None]]
                   if not os.path.isfile(os.path.join(self.root, self.base_folder, n))]
        if missing:
            raise RuntimeError(f"Dataset not found or corrupted. You can use download=True to download it "
                               f"(missing in {os.path.join(self.root, self.base_folder)}: {', '.join(missing)})")
        data, targets = [], []
        for name, _ in files:
            path = os.path.join(self.root, self.base_folder, name)
            entry = load_batch(path)
            labels = entry.get(self._label_key, entry.get("labels", entry.get("fine_labels")))
            pixels = entry.get("data")
            if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 2 \
                    or pixels.shape[1] != 3072:
                raise RuntimeError(f"{path}: 'data' must be a uint8 array of shape (N, 3072), got "
                                   f"{getattr(pixels, 'dtype', type(pixels).__name__)} "
                                   f"{getattr(pixels, 'shape', '')}")
            if labels is None or len(labels) != pixels.shape[0]:
                raise RuntimeError(f"{path}: {pixels.shape[0]} images but "
                                   f"{'no' if labels is None else len(labels)} labels")
            data.append(pixels)
            targets.extend(int(t) for t in labels)
        self.data = np.vstack(data).reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))     # HWC
        self.targets = targets
        self._load_meta()

    def _load_meta(self):
        path = os.path.join(self.root, self.base_folder, self.meta["filename"])
        names = load_batch(path).get(self.meta["key"])
        if not isinstance(names, list):
            raise RuntimeError(f"{path}: no list of class names under {self.meta['key']!r}")
        self.classes = [n.decode("latin1") if isinstance(n, bytes) else n for n in names]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def _check_integrity(self):
        for name, md5 in self.train_list + self.test_list + [[self.meta["filename"], self.meta["md5"]]]:
            if not check_integrity(os.path.join(self.root, self.base_folder, name), md5):
                return False
        return True

    def download(self):
        if self._check_integrity():
            print("Files already downloaded and verified")
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename, md5=self.tgz_md5)

    def __getitem__(self, index):
        img, target = _to_image(self.data[index], "RGB"), self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self):
        return len(self.data)

    def extra_repr(self):
        return f"Split: {'Train' if self.train is True else 'Test'}"

    # the names of torchvision < 0.3 (the lecture reads cifar.train_data)
    @property
    def train_data(self):
        return self.data

    @property
    def test_data(self):
        return self.data

    @property
    def train_labels(self):
        return self.targets

    @property
    def test_labels(self):
        return self.targets


class CIFAR100(CIFAR10):
    """CIFAR-100: CIFAR-10's format with 100 fine classes (``targets`` are the fine labels)."""

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {"filename": "meta", "key": "fine_label_names", "md5": "7973b15100ade9c7d40fb424638fde48"}
    _label_key = "fine_labels"
