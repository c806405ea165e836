"""default_collate (a list of samples -> one batch) and default_convert (arrays -> tensors)."""
import collections.abc
import copy
import re

import numpy as np

from ... import _dtype
from ..._tensor import Tensor, _make
from ..._ops import creation as _creation

__all__ = ["default_collate", "default_convert", "pin_memory"]

_NOT_NUMERIC = re.compile(r"[SaUO]")      # NumPy string / object dtypes cannot become tensors

_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}")


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def default_convert(data):
    """NumPy arrays and scalars become tensors, inside dicts, lists, tuples and named tuples."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray) or isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        if isinstance(data, np.ndarray) and _NOT_NUMERIC.search(data.dtype.str):
            return data
        return _creation.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        try:
            return type(data)({k: default_convert(v) for k, v in data.items()})
        except TypeError:
            return {k: default_convert(v) for k, v in data.items()}
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def default_collate(batch):
    """Stack a list of samples into a batch, following the structure of the first sample.

    Tensors and NumPy arrays are stacked along a new first dimension, Python floats become a
    float64 tensor, ints an int64 tensor, strings stay a list; dicts, named tuples and
    sequences are collated field by field (a tuple of fields gives a list, as PyTorch).

    Example:
        >>> default_collate([(1, 'a'), (2, 'b')])
        [tensor([1, 2]), ['a', 'b']]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        if all(type(t) is Tensor and t.is_cpu and not t.requires_grad for t in batch):
            try:                                  # plain CPU tensors: one NumPy stack, no graph to record
                return _make(np.stack([t._data for t in batch]))
            except ValueError:
                pass                              # shapes differ: let stack() say so
        return _creation.stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        if _NOT_NUMERIC.search(elem.dtype.str):
            raise TypeError(_ERR.format(elem.dtype))
        return _creation.from_numpy(np.stack([np.asarray(b) for b in batch]))
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return _creation.from_numpy(np.asarray(batch, dtype=elem.dtype))
    if isinstance(elem, bool):
        return _creation.tensor(batch, dtype=_dtype.bool)
    if isinstance(elem, float):
        return _creation.tensor(batch, dtype=_dtype.float64)
    if isinstance(elem, int):
        return _creation.tensor(batch, dtype=_dtype.int64)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        fields = {k: default_collate([d[k] for d in batch]) for k in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                out = copy.copy(elem)      # keeps the mapping's type (even a dict subclass) and extra state
                out.update(fields)
                return out
            return type(elem)(fields)
        except TypeError:
            return fields
    # fields are collated as the tuples zip() makes, so a field of strings stays a tuple, as PyTorch
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        size = len(next(it))
        if not all(len(e) == size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [default_collate(s) for s in transposed]
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                out = copy.copy(elem)      # keeps the sequence's type and extra state
                for i, s in enumerate(transposed):
                    out[i] = default_collate(s)
                return out
            return type(elem)([default_collate(s) for s in transposed])
        except TypeError:
            return [default_collate(s) for s in transposed]
    raise TypeError(_ERR.format(type(elem)))


def pin_memory(data):
    """The batch with its tensors (and objects with a ``pin_memory`` method) copied into page-locked
    host memory, inside dicts, named tuples, tuples and sequences, as PyTorch's DataLoader does."""
    if isinstance(data, Tensor) or hasattr(data, "pin_memory"):
        return data.pin_memory()
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                out = copy.copy(data)          # keeps the mapping's type and extra state
                out.update({k: pin_memory(v) for k, v in data.items()})
                return out
            return type(data)({k: pin_memory(v) for k, v in data.items()})
        except TypeError:
            return {k: pin_memory(v) for k, v in data.items()}
    if isinstance(data, tuple):
        if _is_namedtuple(data):
            return type(data)(*(pin_memory(d) for d in data))
        return type(data)(pin_memory(d) for d in data)
    if isinstance(data, collections.abc.Sequence):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                out = copy.copy(data)
                for i, d in enumerate(data):
                    out[i] = pin_memory(d)
                return out
            return type(data)([pin_memory(d) for d in data])
        except TypeError:
            return [pin_memory(d) for d in data]
    return data
