"""``flambeau.save`` / ``flambeau.load``: tensors and state dicts on disk, without pickle.

Note [Save format]
A file is a zip archive (stored, not compressed) holding ``flambeau/manifest.json`` and one
raw little-endian buffer per storage, ``flambeau/data/<n>``. The manifest describes the
saved object as JSON: plain values as themselves, containers and tensors as tagged objects
(``{"$": "tensor", "storage": n, "offset": o, "shape": [...], "stride": [...]}``). A tensor
records the storage it views, so two views of one storage load back as views of one storage.
Loading reads only data, never code: every field is type- and bounds-checked, and the zip's
CRCs catch flipped bits, so a damaged file raises ``RuntimeError`` naming the file.

Files written by PyTorch's ``torch.save`` (a zip with ``data.pkl`` and ``data/<key>``
records) are read too: their pickle goes through a restricted unpickler that knows only
tensor rebuilding, storage types, ``OrderedDict``, ``Counter`` and plain containers; any other global
raises ``pickle.UnpicklingError`` naming it, before anything is called.

Saving to a path is atomic: the archive is written to a temporary file in the same folder,
flushed and fsync'ed, then renamed over the target, so an interrupted save leaves the
previous file intact.
"""
import collections
import io
import json
import os
import pickle
import tempfile
import zipfile

import numpy as np

from . import _dtype, _xp
from ._tensor import Tensor, Size, _make

__all__ = ["save", "load"]

_FORMAT = "flambeau"
_VERSION = 1
_MANIFEST = "flambeau/manifest.json"
_MAX_MANIFEST = 1 << 30


# --- save -----------------------------------------------------------------------------------

class _Writer:
    """Turns an object into a JSON-able tree plus a list of storage buffers."""

    def __init__(self):
        self.storages = []          # host arrays, one per distinct storage
        self._storage_ids = {}      # id(root tensor) -> storage number
        self._tensor_ids = {}       # id(tensor) -> tensor number (identity kept on load)
        self._keep = []             # keeps saved objects alive so ids stay unique

    def encode(self, obj):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return obj if type(obj) is int else int(obj)
        if isinstance(obj, float):
            if obj != obj or obj in (float("inf"), float("-inf")):
                return {"$": "float", "v": repr(obj)}
            return obj
        if isinstance(obj, Tensor):
            from .nn.parameter import is_lazy, UninitializedParameter
            if is_lazy(obj):             # no data yet: what it will be materialized as
                return {"$": "uninitialized", "parameter": isinstance(obj, UninitializedParameter),
                        "dtype": obj.dtype.name, "device": str(obj.device), "requires_grad": bool(obj.requires_grad)}
            return self._tensor(obj)
        if isinstance(obj, _dtype.dtype):
            return {"$": "dtype", "v": obj.name}
        if isinstance(obj, Size):
            return {"$": "size", "v": [int(s) for s in obj]}
        if isinstance(obj, complex):
            return {"$": "complex", "v": [obj.real, obj.imag]}
        if isinstance(obj, bytes):
            return {"$": "bytes", "v": obj.hex()}
        if isinstance(obj, np.generic) and obj.dtype.kind in "biufc":
            return self.encode(obj.item())
        from ._device import device
        if isinstance(obj, device):
            return {"$": "device", "v": str(obj)}
        if type(obj) is collections.Counter:      # MultiStepLR's milestones
            return {"$": "counter", "v": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        if isinstance(obj, collections.OrderedDict):
            return {"$": "odict", "v": [[self.encode(k), self.encode(v)] for k, v in obj.items()],
                    "meta": self.encode(getattr(obj, "_metadata", None))}
        if type(obj) is dict:
            if all(type(k) is str for k in obj) and "$" not in obj:
                return {k: self.encode(v) for k, v in obj.items()}
            return {"$": "dict", "v": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        if type(obj) is list:
            return [self.encode(v) for v in obj]
        if type(obj) is tuple:
            return {"$": "tuple", "v": [self.encode(v) for v in obj]}
        if type(obj) in (set, frozenset):
            return {"$": type(obj).__name__, "v": [self.encode(v) for v in obj]}
        raise TypeError(f"flambeau.save(): cannot save an object of type {type(obj).__module__}."
                        f"{type(obj).__qualname__}; supported: tensors, Parameters, dicts, OrderedDicts, Counters, "
                        "lists, tuples, sets, numbers, strings, bytes, None, dtypes, devices")

    def _tensor(self, t):
        if id(t) in self._tensor_ids:
            return {"$": "ref", "v": self._tensor_ids[id(t)]}
        self._keep.append(t)
        root = t._root()
        base = t._storage_array()
        stride = t.stride()
        if any(s < 0 for s in stride) or t._data.dtype != base.dtype:
            # not expressible as (offset, strides) over its storage: save a compact copy
            base = _xp.array_module(t._data).ascontiguousarray(t._data).reshape(-1)
            offset, stride, key = 0, _contiguous_strides(t.shape), ("copy", id(t))
        else:
            offset, key = t.storage_offset(), ("root", id(root))
        if key not in self._storage_ids:
            self._storage_ids[key] = len(self.storages)
            self._keep.append(root)
            self.storages.append(base)
        number = len(self._tensor_ids)
        self._tensor_ids[id(t)] = number
        from .nn.parameter import Parameter
        out = {"$": "tensor", "id": number, "storage": self._storage_ids[key], "dtype": t.dtype.name,
               "offset": int(offset), "shape": [int(s) for s in t.shape], "stride": [int(s) for s in stride],
               "device": str(t.device), "requires_grad": bool(t.requires_grad)}
        if isinstance(t, Parameter):
            out["parameter"] = True
        return out                  # as torch.save, .grad is not saved: a checkpoint holds values, not gradients


def _contiguous_strides(shape):
    strides, acc = [], 1
    for n in reversed(tuple(shape)):
        strides.append(acc)
        acc *= max(int(n), 1)
    return tuple(reversed(strides))


def _write_archive(fileobj, obj):
    w = _Writer()
    tree = w.encode(obj)
    hosts = [np.ascontiguousarray(_xp.to_host(arr)) for arr in w.storages]
    storages = [{"dtype": _dtype._BY_NP[h.dtype].name, "numel": int(h.size), "device": str(_xp.device_of(arr))}
                for h, arr in zip(hosts, w.storages)]
    manifest = {"format": _FORMAT, "version": _VERSION, "byteorder": "little", "storages": storages, "root": tree}
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr(_MANIFEST, json.dumps(manifest, separators=(",", ":")))
        for i, host in enumerate(hosts):
            data = host.astype(host.dtype.newbyteorder("<"), copy=False) if host.dtype.byteorder == ">" else host
            with z.open(f"flambeau/data/{i}", "w", force_zip64=data.nbytes > (1 << 31)) as f:
                f.write(memoryview(data.reshape(-1).view(np.uint8)))


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Save ``obj`` (tensors, state dicts, nested containers of them) to a path or binary file.

    Writing to a path is atomic: a reader sees the old file or the new one, never a mix.

    Example:
        >>> import flambeau as torch, io
        >>> buf = io.BytesIO()
        >>> torch.save({"w": torch.ones(2)}, buf)
        >>> _ = buf.seek(0)
        >>> torch.load(buf)
        {'w': tensor([1., 1.])}
    """
    if pickle_module is not None:
        raise NotImplementedError("flambeau.save(): pickle_module is not supported; flambeau writes its own "
                                  "code-free format")
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                _write_archive(out, obj)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        try:                      # make the rename itself durable
            dfd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass
        return
    if not hasattr(f, "write"):
        raise TypeError(f"flambeau.save(): expected a path or a writable binary file, got {type(f).__name__}")
    _write_archive(f, obj)
    if hasattr(f, "flush"):
        f.flush()


# --- load -----------------------------------------------------------------------------------

class _Corrupt(Exception):
    """Internal: what is wrong with the file (turned into a RuntimeError naming it)."""


def _need(cond, what):
    if not cond:
        raise _Corrupt(what)


def _is_int(x):
    return type(x) is int


def _map_location(t, location, map_location):
    """Apply ``map_location`` (None, str, device, dict or callable) to a storage (a flat CPU tensor)
    saved at ``location``; as in PyTorch, the views of a storage are made on the mapped storage."""
    target = location
    if map_location is not None:
        if callable(map_location) and not isinstance(map_location, (str, dict)):
            out = map_location(t, location)
            if out is not None:
                if not (isinstance(out, Tensor) and out.shape == t.shape and out.dtype == t.dtype):
                    raise RuntimeError("map_location function must return the storage it was given, or a copy "
                                       f"of it on another device (got {type(out).__name__})")
                return out
        elif isinstance(map_location, dict):
            target = map_location.get(location, location)
        else:
            target = str(map_location)
    target = str(target)
    if target.startswith("cpu"):
        return t
    if target.startswith("cuda"):
        if not _xp.cuda_available():
            raise RuntimeError("Attempting to deserialize object on a CUDA device but torch.cuda.is_available() "
                               "is False. If you are running on a CPU-only machine, please use torch.load with "
                               "map_location=torch.device('cpu') to map your storages to the CPU.")
        return t.to(target)
    raise RuntimeError(f"don't know how to restore data location of a tensor saved on {location!r} "
                       f"(map_location={map_location!r})")


def _check_geometry(shape, stride, offset, numel):
    _need(isinstance(shape, list) and all(_is_int(s) and s >= 0 for s in shape), f"bad tensor shape {shape!r}")
    _need(isinstance(stride, list) and len(stride) == len(shape) and all(_is_int(s) and s >= 0 for s in stride),
          f"bad tensor stride {stride!r} for shape {shape!r}")
    _need(_is_int(offset) and offset >= 0, f"bad storage offset {offset!r}")
    _need(len(shape) <= 64, f"tensor has {len(shape)} dimensions")
    if 0 in shape:
        _need(offset <= numel, f"storage offset {offset} beyond a storage of {numel} elements")
        return
    last = offset + sum((n - 1) * s for n, s in zip(shape, stride))
    _need(last < numel, f"a tensor of shape {tuple(shape)}, stride {tuple(stride)}, offset {offset} reaches "
                        f"element {last} of a storage of {numel} elements")


class _Reader:
    def __init__(self, zf, prefix, manifest, map_location):
        self.zf = zf
        self.prefix = prefix
        self.map_location = map_location
        storages = manifest.get("storages")
        _need(isinstance(storages, list), "manifest has no storage list")
        self.storage_meta = storages
        self.roots = {}
        self.tensors = {}

    def storage(self, n, location):
        """Storage n, read once and placed by map_location (``location``: where a file without
        storage devices says the tensor was)."""
        _need(_is_int(n) and 0 <= n < len(self.storage_meta), f"tensor refers to missing storage {n!r}")
        if n not in self.roots:
            meta = self.storage_meta[n]
            _need(isinstance(meta, dict) and meta.get("dtype") in _dtype._BY_NAME and _is_int(meta.get("numel"))
                  and meta["numel"] >= 0, f"bad storage record {meta!r}")
            dt = _dtype._BY_NAME[meta["dtype"]].np
            name = f"{self.prefix}data/{n}"
            info = _zip_info(self.zf, name)
            _need(info.file_size == meta["numel"] * dt.itemsize,
                  f"record {name} has {info.file_size} bytes, expected {meta['numel'] * dt.itemsize} "
                  f"({meta['numel']} x {meta['dtype']})")
            raw = self.zf.read(info)
            location = meta.get("device", location)
            _need(isinstance(location, str), "bad storage device")
            root = _make(np.frombuffer(raw, dtype=dt.newbyteorder("<")).astype(dt))
            self.roots[n] = _map_location(root, location, self.map_location)
        return self.roots[n]

    def decode(self, x, depth=0):
        _need(depth < 500, "objects nested more than 500 deep")
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        if isinstance(x, list):
            return [self.decode(v, depth + 1) for v in x]
        _need(isinstance(x, dict), f"unexpected JSON value of type {type(x).__name__}")
        tag = x.get("$")
        if tag is None:
            return {k: self.decode(v, depth + 1) for k, v in x.items()}
        v = x.get("v")
        if tag == "tensor":
            return self.tensor(x, depth)
        if tag == "uninitialized":
            return self.uninitialized(x)
        if tag == "ref":
            _need(v in self.tensors, f"reference to unknown tensor {v!r}")
            return self.tensors[v]
        if tag in ("dict", "odict", "counter"):
            _need(isinstance(v, list) and all(isinstance(p, list) and len(p) == 2 for p in v),
                  f"bad {tag} record")
            pairs = [(self.decode(k, depth + 1), self.decode(val, depth + 1)) for k, val in v]
            for k, _ in pairs:
                _need(not isinstance(k, (list, dict, Tensor)) or isinstance(k, tuple), "unhashable dict key")
            out = {"dict": dict, "odict": collections.OrderedDict, "counter": collections.Counter}[tag](dict(pairs))
            if tag == "odict" and x.get("meta") is not None:
                out._metadata = self.decode(x["meta"], depth + 1)
            return out
        if tag in ("tuple", "set", "frozenset"):
            _need(isinstance(v, list), f"bad {tag} record")
            items = [self.decode(e, depth + 1) for e in v]
            if tag == "tuple":
                return tuple(items)
            _need(all(not isinstance(e, (list, dict)) for e in items), "unhashable set element")
            return set(items) if tag == "set" else frozenset(items)
        if tag == "float":
            _need(v in ("nan", "inf", "-inf"), f"bad float {v!r}")
            return float(v)
        if tag == "complex":
            _need(isinstance(v, list) and len(v) == 2 and all(isinstance(e, (int, float)) for e in v), "bad complex")
            return complex(*v)
        if tag == "bytes":
            _need(isinstance(v, str), "bad bytes record")
            try:
                return bytes.fromhex(v)
            except ValueError:
                raise _Corrupt("bad bytes record") from None
        if tag == "dtype":
            _need(v in _dtype._BY_NAME, f"unknown dtype {v!r}")
            return _dtype._BY_NAME[v]
        if tag == "size":
            _need(isinstance(v, list) and all(_is_int(e) for e in v), "bad torch.Size record")
            return Size(v)
        if tag == "device":
            _need(isinstance(v, str), "bad device record")
            from ._device import device
            try:
                return device(v)
            except Exception:
                raise _Corrupt(f"bad device {v!r}") from None
        raise _Corrupt(f"unknown record type {tag!r}")

    def uninitialized(self, x):
        from .nn.parameter import UninitializedParameter, UninitializedBuffer
        _need(x.get("dtype") in _dtype._BY_NAME and isinstance(x.get("device"), str), "bad uninitialized tensor")
        dt = _dtype._BY_NAME[x["dtype"]]
        from ._ops.creation import empty
        placed = _map_location(empty(0, dtype=dt), x["device"], self.map_location)    # where map_location says
        cls = UninitializedParameter if x.get("parameter") else UninitializedBuffer
        return cls(requires_grad=bool(x.get("requires_grad")), device=placed.device, dtype=dt)

    def tensor(self, x, depth):
        number = x.get("id")
        _need(_is_int(number) and number not in self.tensors, f"bad or repeated tensor id {number!r}")
        location = x.get("device", "cpu")
        _need(isinstance(location, str), "bad device")
        root = self.storage(x.get("storage"), location)
        _need(x.get("dtype") == root.dtype.name, f"tensor dtype {x.get('dtype')!r} differs from its storage's "
                                                 f"{root.dtype.name}")
        shape, stride, offset = x.get("shape"), x.get("stride"), x.get("offset")
        _check_geometry(shape, stride, offset, root.numel())
        item = root._data.itemsize
        if offset == 0 and list(shape) == [root.numel()] and stride == [1]:
            t = root.detach() if root.requires_grad else root
            if any(t is other for other in self.tensors.values()):
                t = _view(root, shape, stride, offset, item)
        else:
            t = _view(root, shape, stride, offset, item)
        if x.get("parameter"):
            from .nn.parameter import Parameter
            t = Parameter(t, requires_grad=bool(x.get("requires_grad")))
        elif x.get("requires_grad"):
            _need(t.dtype.is_floating_point or t.dtype.is_complex, "an integer tensor marked requires_grad")
            t.requires_grad_(True)
        self.tensors[number] = t       # a "grad" record of files from older flambeau is ignored, as torch.load would
        return t


def _view(root, shape, stride, offset, item):
    base = root._data
    arr = _xp.as_strided(base[offset:] if offset < base.shape[0] else base[base.shape[0]:], tuple(shape),
                         tuple(s * item for s in stride))
    t = _make(arr)
    t._base = root
    t._version_counter = root._version_counter
    return t


def _zip_info(zf, name):
    try:
        return zf.getinfo(name)
    except KeyError:
        raise _Corrupt(f"record {name} is missing") from None


def _load_flambeau(zf, prefix, map_location):
    info = _zip_info(zf, prefix + "manifest.json")
    _need(info.file_size <= _MAX_MANIFEST, "manifest is too large")
    try:
        manifest = json.loads(zf.read(info).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise _Corrupt(f"manifest is not valid JSON ({e})") from None
    _need(isinstance(manifest, dict) and manifest.get("format") == _FORMAT, "not a flambeau archive")
    _need(manifest.get("version") == _VERSION, f"unsupported format version {manifest.get('version')!r} "
                                               f"(this flambeau reads version {_VERSION})")
    _need(manifest.get("byteorder") == "little", "unsupported byte order")
    _need("root" in manifest, "manifest has no root object")
    reader = _Reader(zf, prefix, manifest, map_location)
    return reader.decode(manifest["root"])


# --- PyTorch files --------------------------------------------------------------------------

_TORCH_STORAGES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16, "LongStorage": np.int64,
    "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_, "ComplexFloatStorage": np.complex64, "ComplexDoubleStorage": np.complex128,
}


class _StorageType:
    """Stands for ``torch.FloatStorage`` & co. inside a PyTorch pickle; cannot be called."""

    def __init__(self, name):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise pickle.UnpicklingError(f"torch.{self.name} may only appear as a storage type")


class _TorchStorage:
    def __init__(self, root):
        self.root = root


def _rebuild_tensor(storage, storage_offset, size, stride, *rest):
    if not isinstance(storage, _TorchStorage):
        raise pickle.UnpicklingError("_rebuild_tensor_v2 expects a storage as first argument")
    size, stride = list(size), list(stride)
    root = storage.root
    try:
        _check_geometry(size, stride, storage_offset, root.numel())
    except _Corrupt as e:
        raise pickle.UnpicklingError(str(e)) from None
    requires_grad = bool(rest[0]) if rest else False
    t = _view(root, size, stride, storage_offset, root._data.itemsize)
    if requires_grad and (t.dtype.is_floating_point or t.dtype.is_complex):
        t.requires_grad_(True)
    return t


def _rebuild_parameter(data, requires_grad, backward_hooks=None, state=None):
    if not isinstance(data, Tensor):
        raise pickle.UnpicklingError("_rebuild_parameter expects a tensor")
    from .nn.parameter import Parameter
    return Parameter(data.detach(), bool(requires_grad))


def _ordered_dict(*args):
    if args and not isinstance(args[0], (list, tuple)):
        raise pickle.UnpicklingError("OrderedDict expects a list of pairs")
    return collections.OrderedDict(*args)


def _counter(*args):
    if args and not isinstance(args[0], dict):
        raise pickle.UnpicklingError("Counter expects a dict")
    return collections.Counter(*args)


def _torch_device(*args):
    from ._device import device
    return device(*args)


def _torch_size(*args):
    return Size(*args)


_TORCH_GLOBALS = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("collections", "OrderedDict"): _ordered_dict,
    ("collections", "Counter"): _counter,
    ("torch", "device"): _torch_device,
    ("torch", "Size"): _torch_size,
}


class _TorchUnpickler(pickle.Unpickler):
    """Knows tensors, storages, OrderedDict, Counter and plain containers; nothing else is resolved."""

    def __init__(self, data, zf, prefix, map_location, byteorder):
        super().__init__(io.BytesIO(data))
        self._zf, self._prefix, self._map_location, self._byteorder = zf, prefix, map_location, byteorder
        self._storages = {}

    def find_class(self, module, name):
        # protocol 0-2 pickles spell some modules the Python 2 way (__builtin__, commands)
        import _compat_pickle
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        fn = _TORCH_GLOBALS.get((module, name))
        if fn is not None:
            return fn
        if module == "torch" and name in _TORCH_STORAGES:
            return _StorageType(name)
        if module == "torch" and name.endswith("Storage"):
            raise pickle.UnpicklingError(f"torch.{name}: flambeau has no {name[:-7] or 'untyped'} dtype; convert "
                                         "the tensors (e.g. to float32) before torch.save")
        if module == "torch" and name in _dtype._BY_NAME:
            return _dtype._BY_NAME[name]
        raise pickle.UnpicklingError(f"unsupported global {module}.{name}: flambeau.load reads only tensors, "
                                     "storages, OrderedDict, Counter and plain containers from PyTorch files")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        _, stype, key, location, numel = pid
        if not isinstance(stype, _StorageType) or not isinstance(key, str) or not _is_int(numel) or numel < 0:
            raise pickle.UnpicklingError(f"bad storage record {pid!r:.80}")
        if key not in self._storages:
            dt = np.dtype(_TORCH_STORAGES[stype.name])
            name = f"{self._prefix}data/{key}"
            try:
                info = self._zf.getinfo(name)
            except KeyError:
                raise pickle.UnpicklingError(f"record {name} is missing") from None
            if info.file_size != numel * dt.itemsize:
                raise pickle.UnpicklingError(f"record {name} has {info.file_size} bytes, expected "
                                             f"{numel * dt.itemsize}")
            order = "<" if self._byteorder == "little" else ">"
            root = _make(np.frombuffer(self._zf.read(info), dtype=dt.newbyteorder(order)).astype(dt))
            root = _map_location(root, location if isinstance(location, str) else "cpu", self._map_location)
            self._storages[key] = _TorchStorage(root)
        return self._storages[key]


def _load_torch(zf, prefix, map_location):
    byteorder = "little"
    if prefix + "byteorder" in zf.namelist():
        byteorder = zf.read(prefix + "byteorder").decode("ascii", "replace").strip()
        _need(byteorder in ("little", "big"), f"bad byteorder record {byteorder!r}")
    info = _zip_info(zf, prefix + "data.pkl")
    _need(info.file_size <= _MAX_MANIFEST, "data.pkl is too large")
    return _TorchUnpickler(zf.read(info), zf, prefix, map_location, byteorder).load()


# Note [Legacy PyTorch files]
# Before the zip format (torch < 1.6, and _use_new_zipfile_serialization=False), torch.save wrote
# pickles one after the other: a magic number, the protocol (1001), the system's sizes, the object
# (whose storages are persistent ids ('storage', type, key, location, numel, view)), the sorted storage
# keys, then each storage as an int64 element count and its bytes. The storages come after the object
# that refers to them, so the object is read twice: once skimmed for its end, once for real.
_LEGACY_MAGIC, _LEGACY_PROTOCOL = 0x1950a86a20f9469cfc6c, 1001


class _PlainUnpickler(pickle.Unpickler):
    """Numbers, strings and containers only (the legacy header records)."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in a legacy header")


class _Anything(dict):
    """What a skimmed global builds: takes any arguments, items, appends and state."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def __setstate__(self, state):
        pass

    def append(self, item):
        pass

    def extend(self, items):
        pass


class _Skimmer(pickle.Unpickler):
    """Reads past a pickle without building anything from its globals."""

    def find_class(self, module, name):
        return _Anything

    def persistent_load(self, pid):
        return _Anything()


class _LegacyUnpickler(_TorchUnpickler):
    def __init__(self, data, storages, map_location):
        super().__init__(data, None, "", map_location, "little")
        self._loaded = storages

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        _, stype, key, location, numel, view = pid
        if not isinstance(stype, _StorageType) or key not in self._loaded:
            raise pickle.UnpicklingError(f"bad storage record {pid!r:.80}")
        if view is not None:
            raise NotImplementedError("legacy storage views (files of torch < 0.4) are not read")
        if key not in self._storages:
            values = self._loaded[key].view(np.dtype(_TORCH_STORAGES[stype.name]))
            _need(values.shape[0] == numel, f"storage {key} holds {values.shape[0]} elements, expected {numel}")
            root = _map_location(_make(values), location if isinstance(location, str) else "cpu", self._map_location)
            self._storages[key] = _TorchStorage(root)
        return self._storages[key]


def _load_legacy(fh, map_location):
    try:
        main, storages = _read_legacy(fh)
    except pickle.UnpicklingError as e:         # a cut or damaged file: its pickles end early
        raise _Corrupt(f"the legacy file is damaged ({e})") from None
    return _LegacyUnpickler(main, storages, map_location).load()


def _read_legacy(fh):
    """The object's pickle and the storages' bytes (by key) of a legacy file."""
    fh.seek(0)
    _need(_PlainUnpickler(fh).load() == _LEGACY_MAGIC, "a pickle, but not a legacy PyTorch file (bad magic number)")
    _need(_PlainUnpickler(fh).load() == _LEGACY_PROTOCOL, "unsupported legacy protocol version")
    info = _PlainUnpickler(fh).load()
    _need(isinstance(info, dict), "bad legacy system record")
    order = "<" if info.get("little_endian", True) else ">"
    start = fh.tell()
    _Skimmer(fh).load()
    end = fh.tell()
    keys = _PlainUnpickler(fh).load()
    _need(isinstance(keys, list) and all(isinstance(k, str) for k in keys), "bad legacy storage list")
    # each storage: its element count, then its bytes; the element size comes from the records
    sizes = {}
    fh.seek(start)
    main = fh.read(end - start)

    class _Sizes(_Skimmer):
        def persistent_load(self, pid):
            if isinstance(pid, tuple) and len(pid) == 6 and isinstance(pid[1], str):
                sizes[pid[2]] = pid[1]
            return _Anything()

        def find_class(self, module, name):
            return name if module == "torch" and name in _TORCH_STORAGES else _Anything
    _Sizes(io.BytesIO(main)).load()
    fh.seek(end)
    _PlainUnpickler(fh).load()
    storages = {}
    for key in keys:
        _need(key in sizes, f"storage {key} is not used by the object")
        dt = np.dtype(_TORCH_STORAGES[sizes[key]])
        count = int(np.frombuffer(fh.read(8), dtype=order + "i8")[0])
        _need(0 <= count < 2 ** 40, f"bad size {count} of storage {key}")
        raw = fh.read(count * dt.itemsize)
        _need(len(raw) == count * dt.itemsize, f"storage {key} is cut short")
        storages[key] = np.frombuffer(raw, dtype=dt.newbyteorder(order)).astype(dt).view(np.uint8)
    return main, storages


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    """Load an object saved by :func:`save` (or a PyTorch ``torch.save`` zip file).

    Args:
        f: a path or a readable binary file.
        map_location: where tensors go: ``None`` (where they were saved), a device or string,
            a dict ``{saved_location: new_location}``, or ``fn(tensor, saved_location)``.
        weights_only: accepted for compatibility; flambeau never runs code from a file
            whatever its value.

    Raises:
        RuntimeError: the file is not a flambeau or PyTorch archive, or it is damaged.
        pickle.UnpicklingError: a PyTorch file names a global other than tensors, storages
            and plain containers.
    """
    if pickle_module is not None:
        raise NotImplementedError("flambeau.load(): pickle_module is not supported")
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", repr(f))
    try:
        if isinstance(f, (str, os.PathLike)):
            with open(f, "rb") as fh:
                return _load_file(fh, map_location)
        return _load_file(f, map_location)
    except _Corrupt as e:
        raise RuntimeError(f"flambeau.load(): {name}: {e}") from None
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(f"flambeau.load(): {name}: {e}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, OverflowError, MemoryError, RecursionError, UnicodeDecodeError,
            NotImplementedError, __import__("zlib").error, __import__("struct").error) as e:
        raise RuntimeError(f"flambeau.load(): {name}: the file is damaged or not a saved object "
                           f"({type(e).__name__}: {e})") from None


def _load_file(fh, map_location):
    try:
        zf = zipfile.ZipFile(fh)
    except zipfile.BadZipFile:
        try:
            fh.seek(0)
            head = fh.read(2)
        except Exception:
            head = b""
        if head[:1] == b"\x80":
            return _load_legacy(fh, map_location)
        raise _Corrupt("not a zip archive (flambeau and PyTorch files are zip archives)") from None
    with zf:
        names = zf.namelist()
        _need(len(names) < 1_000_000, "too many records")
        if _MANIFEST in names:
            return _load_flambeau(zf, "flambeau/", map_location)
        pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if pkl:
            return _load_torch(zf, pkl[0][:-len("data.pkl")], map_location)
        raise _Corrupt("the archive holds neither flambeau/manifest.json nor <name>/data.pkl")
