"""Worker processes of the DataLoader: the loop each one runs, and what crosses the pipe.

Note [DataLoader workers]
The main process sends ``(epoch, task_id, indices)`` to worker ``task_id % num_workers``'s
own index queue and reads ``(epoch, task_id, payload)`` from one shared result queue,
reordering by ``task_id`` so batches come out in sampler order whatever worker finished
first. Tensors cross the pipe as NumPy arrays (``_pack``/``_unpack``). A worker that
raises sends an ``ExceptionWrapper`` with its formatted traceback, which the main process
re-raises; a worker that dies is noticed by polling ``is_alive()`` while waiting, so the
loader raises instead of hanging. Each worker watches its parent and exits if it is gone.
"""
import os
import pickle
import queue
import random
import sys
import traceback

import numpy as np

__all__ = ["get_worker_info", "WorkerInfo", "ExceptionWrapper"]

_POLL_S = 1.0          # how often a waiting worker checks that its parent is alive

_worker_info = None


class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker: ``id``, ``num_workers``, ``seed``,
    ``dataset`` (this worker's copy)."""

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            object.__setattr__(self, k, v)

    def __setattr__(self, key, val):
        raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, dataset={self.dataset!r})"


def get_worker_info():
    """In a DataLoader worker: its :class:`WorkerInfo`; in the main process: ``None``."""
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback."""

    def __init__(self, exc_info, where):
        self.exc_type = exc_info[0]
        self.exc_name = exc_info[0].__name__
        try:
            pickle.dumps(self.exc_type)
        except Exception:          # a class defined in a function: re-raised as RuntimeError
            self.exc_type = RuntimeError
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_name} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:          # an exception whose constructor wants other arguments
            raise RuntimeError(msg) from None
        raise exc


class KeyErrorMessage(str):
    """KeyError repr()s its message; this keeps the traceback readable."""

    def __repr__(self):
        return self


class _IterableStop:
    """A worker's iterable dataset is exhausted."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


class _Packed:
    """A tensor in transit: its NumPy array, device, requires_grad flag and class."""

    __slots__ = ("array", "requires_grad", "cls", "device")

    def __init__(self, array, requires_grad, cls, device="cpu"):
        self.array, self.requires_grad, self.cls, self.device = array, requires_grad, cls, device

    def __reduce__(self):
        return (_Packed, (self.array, self.requires_grad, self.cls, self.device))


def _pack(data):
    from ..._tensor import Tensor
    from ..._xp import to_host
    if isinstance(data, Tensor):
        return _Packed(np.ascontiguousarray(to_host(data._data)), data.requires_grad,
                       None if type(data) is Tensor else type(data), str(data.device))
    if isinstance(data, dict):
        try:
            return type(data)({k: _pack(v) for k, v in data.items()})
        except TypeError:
            return {k: _pack(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(_pack(d) for d in data))
    if type(data) in (list, tuple):
        return type(data)(_pack(d) for d in data)
    return data


def _unpack(data):
    if isinstance(data, _Packed):
        from ..._tensor import _make
        t = _make(data.array)
        if data.device != "cpu":
            t = t.to(data.device)
        if data.cls is not None:
            try:
                t = data.cls(t)
            except Exception:
                pass
        t.requires_grad_(data.requires_grad) if data.requires_grad else None
        return t
    if isinstance(data, dict):
        try:
            return type(data)({k: _unpack(v) for k, v in data.items()})
        except TypeError:
            return {k: _unpack(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(_unpack(d) for d in data))
    if type(data) in (list, tuple):
        return type(data)(_unpack(d) for d in data)
    return data


def _serialize(payload, worker_id):
    """Pickle here, not in the queue's feeder thread, so that a batch that cannot be pickled
    becomes an error the main process sees instead of a batch that never arrives."""
    from multiprocessing.reduction import ForkingPickler
    try:
        return bytes(ForkingPickler.dumps(payload))
    except Exception:
        err = ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process {worker_id} (sending the batch)")
        return bytes(ForkingPickler.dumps(err))


def numpy_seed(base_seed, worker_id):
    """NumPy's global seed for a worker: distinct per worker, derived from the base seed."""
    return np.random.SeedSequence([worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32]).generate_state(4)


def seed_worker(base_seed, worker_id):
    """Seed Python's, NumPy's and flambeau's global generators for one worker; return its seed."""
    from ..._ops.creation import default_generator
    seed = base_seed + worker_id
    random.seed(seed)
    # the CPU generator only: seeding CuPy's would touch CUDA, which a forked process cannot use
    default_generator.manual_seed(seed)
    np.random.seed(numpy_seed(base_seed, worker_id))
    return seed


def worker_loop(dataset, is_iterable, index_queue, result_queue, fetch, base_seed, init_fn, worker_id,
                num_workers, parent_pid, done_event):
    """Runs in each worker process until it reads ``None`` or its parent dies."""
    global _worker_info
    try:
        # one thread per worker, as in torch: the workers already share the cores between them
        # (and a forked process must not rely on its parent's helper threads)
        from ..._threads import set_num_threads
        set_num_threads(1)
        seed = seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        init_error = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
        except Exception:
            init_error = ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process {worker_id}")
        iterator = iter(dataset) if is_iterable and init_error is None else None
        exhausted = False
        while True:
            try:
                task = index_queue.get(timeout=_POLL_S)
            except queue.Empty:
                if os.getppid() != parent_pid:
                    return
                continue
            if task is None:
                return
            if done_event.is_set():            # shutting down: skip what is still queued
                continue
            kind, epoch, task_id, indices = task
            if kind == "resume":               # a new epoch of a persistent iterable worker
                iterator, exhausted = iter(dataset), False
                continue
            if init_error is not None:
                result_queue.put((epoch, task_id, _serialize(init_error, worker_id)))
                continue
            if exhausted:
                result_queue.put((epoch, task_id, _serialize(_IterableStop(worker_id), worker_id)))
                continue
            data = None
            try:
                if is_iterable:
                    data = fetch(iterator)
                else:
                    data = fetch(indices)
                payload = _pack(data)
            except StopIteration:
                exhausted = True
                payload = _IterableStop(worker_id)
            except Exception:
                payload = ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process {worker_id}")
            del data
            result_queue.put((epoch, task_id, _serialize(payload, worker_id)))
    except KeyboardInterrupt:
        pass
    finally:
        try:
            result_queue.close()
            result_queue.join_thread()       # flush what was put before exiting
        except Exception:
            pass
