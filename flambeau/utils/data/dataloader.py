"""DataLoader: batches from a dataset, in the main process or in worker processes."""
import itertools
import multiprocessing
import os
import pickle
import queue
import time
import warnings

from ..._ops import creation as _creation
from ... import _dtype, _xp
from . import _worker
from ._collate import default_collate, default_convert, pin_memory as _pin_memory
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]

get_worker_info = _worker.get_worker_info

_WAIT_S = 0.5            # how often a waiting main process checks that its workers are alive
_JOIN_S = 5.0            # how long shutdown waits for a worker before terminating it


class _InfiniteConstantSampler(Sampler):
    """For iterable datasets: an endless stream of ``None`` keys."""

    def __iter__(self):
        while True:
            yield None


class _Fetcher:
    """Turns a batch of keys (map-style) or the dataset's iterator (iterable) into one batch."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last, batch_size):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.batch_size = batch_size

    def map(self, indices):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[indices])
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(indices) if callable(getitems) else [self.dataset[i] for i in indices]
        return self.collate_fn(data)

    def iterable(self, iterator):
        if not self.auto_collation:
            return self.collate_fn(next(iterator))
        data = list(itertools.islice(iterator, self.batch_size))
        if not data or (self.drop_last and len(data) < self.batch_size):
            raise StopIteration
        return self.collate_fn(data)


class DataLoader:
    """Iterate over a dataset in batches.

    Args:
        dataset: a map-style :class:`Dataset` or an :class:`IterableDataset`.
        batch_size (int or None): samples per batch (default 1); ``None`` turns batching off.
        shuffle (bool): reshuffle at every epoch (a :class:`RandomSampler`).
        sampler / batch_sampler: where the keys (or lists of keys) come from.
        num_workers (int): worker processes (0: load in the main process). With a
            ``generator`` (or ``manual_seed``) the batches equal those of ``num_workers=0``.
        collate_fn: list of samples -> batch (default :func:`default_collate`).
        pin_memory (bool): copy each batch's CPU tensors into page-locked host memory (faster,
            asynchronous ``.to('cuda', non_blocking=True)``); without a GPU it warns and does nothing.
        pin_memory_device (str): deprecated (as in PyTorch): the cuda device is used.
        drop_last (bool): drop the last incomplete batch.
        timeout (float): seconds to wait for a worker's batch before raising (0: no limit;
            a dead worker is always noticed).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after seeding.
        multiprocessing_context: a start method name or context (default ``'fork'`` where
            available, else the platform's default). A dataset holding CUDA tensors needs
            ``'spawn'`` or ``'forkserver'``: CUDA cannot be used in a forked process.
        generator: draws the workers' base seed and, for ``shuffle=True``, the permutation.
        prefetch_factor (int): batches loaded ahead per worker (default 2 with workers).
        persistent_workers (bool): keep the workers between epochs.

    Example:
        >>> import flambeau as torch
        >>> from flambeau.utils.data import TensorDataset
        >>> loader = DataLoader(TensorDataset(torch.arange(5)), batch_size=2)
        >>> [b[0].tolist() for b in loader]
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = _checked_context(multiprocessing_context, num_workers)
        self.in_order = in_order
        self._is_iterable = isinstance(dataset, IterableDataset)

        if self._is_iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                 f"but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")
        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._pool = None
        # len(dataset) as last seen by len(loader), for the warning when a stream yields more
        self._IterableDataset_len_called = None
        self._initialized = True

    _initialized = False
    _FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")

    def __setattr__(self, name, value):
        # these shape the samplers and workers built in __init__: changing them later would be ignored
        if self._initialized and name in self._FROZEN:
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _fetcher(self):
        return _Fetcher(self.dataset, self._auto_collation, self.collate_fn, self.drop_last, self.batch_size)

    def __iter__(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        return _MultiProcessIter(self)

    def __len__(self):
        if self._is_iterable:
            n = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown()


def _draw_base_seed(generator):
    return int(_creation.empty((), dtype=_dtype.int64).random_(generator=generator).item())


class _BaseIter:
    def __init__(self, loader):
        self._loader = loader
        self._sampler_iter = iter(loader._index_sampler)
        self._base_seed = _draw_base_seed(loader.generator)
        self._num_yielded = 0
        if loader.pin_memory and loader.pin_memory_device:
            warnings.warn("pin_memory_device is deprecated, the current accelerator will be used as the device,"
                          f"ignore pin_memory_device='{loader.pin_memory_device}'.", stacklevel=3)
        self._pin = loader.pin_memory and _xp.cuda_available()
        if loader.pin_memory and not self._pin:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned "
                          "memory won't be used.", stacklevel=3)
        # as PyTorch: only a len(loader) taken before this epoch arms the warning, and it compares
        # batches yielded with the dataset's length, not with the number of batches
        self._length = loader._IterableDataset_len_called

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def _warn_length(self):
        self._num_yielded += 1
        if (self._loader._is_iterable and self._length is not None and self._num_yielded > self._length):
            msg = (f"Length of IterableDataset {self._loader.dataset} was reported to be {self._length}"
                   f"(when accessing len(dataloader)), but {self._num_yielded} samples have been fetched. ")
            if self._loader.num_workers > 0:
                msg += ("For multiprocessing data-loading, this could be caused by not properly configuring the "
                        "IterableDataset replica at each worker. Please see "
                        "https://pytorch.org/docs/stable/data.html#torch.utils.data.IterableDataset for examples.")
            warnings.warn(msg, stacklevel=3)


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._fetcher = loader._fetcher()
        self._dataset_iter = iter(loader.dataset) if loader._is_iterable else None

    def __next__(self):
        if self._loader._is_iterable:
            data = self._fetcher.iterable(self._dataset_iter)
        else:
            data = self._fetcher.map(next(self._sampler_iter))
        self._warn_length()
        return _pin_memory(data) if self._pin else data


def _checked_context(spec, num_workers):
    """``multiprocessing_context`` as given to the DataLoader: ``None``, or a start method name
    (turned into its context) or a context object, and only with worker processes."""
    if spec is None:
        return None
    if num_workers == 0:
        raise ValueError(f"multiprocessing_context can only be used with multi-process loading (num_workers > 0), "
                         f"but got num_workers={num_workers}")
    if isinstance(spec, str):
        methods = multiprocessing.get_all_start_methods()
        if spec not in methods:
            raise ValueError(f"multiprocessing_context option should specify a valid start method in {methods!r}, "
                             f"but got multiprocessing_context={spec!r}")
        spec = multiprocessing.get_context(spec)
    if not isinstance(spec, multiprocessing.context.BaseContext):
        raise TypeError(f"multiprocessing_context option should be a valid context object or a string specifying "
                        f"the start method, but got multiprocessing_context={spec}")
    return spec


def _context(spec):
    if spec is None:
        methods = multiprocessing.get_all_start_methods()
        return multiprocessing.get_context("fork" if "fork" in methods else None)
    return spec


class _WorkerPool:
    """The worker processes and their queues (kept across epochs with persistent_workers)."""

    def __init__(self, loader, base_seed):
        self.num_workers = loader.num_workers
        self.base_seed = base_seed
        ctx = _context(loader.multiprocessing_context)
        self.result_queue = ctx.Queue()
        self.done_event = ctx.Event()
        self.index_queues, self.workers = [], []
        fetcher = loader._fetcher()
        fetch = fetcher.iterable if loader._is_iterable else fetcher.map
        for i in range(self.num_workers):
            iq = ctx.Queue()
            iq.cancel_join_thread()
            w = ctx.Process(target=_worker.worker_loop, daemon=True,
                            args=(loader.dataset, loader._is_iterable, iq, self.result_queue, fetch, self.base_seed,
                                  loader.worker_init_fn, i, self.num_workers, os.getpid(), self.done_event))
            w.start()
            self.index_queues.append(iq)
            self.workers.append(w)
        self.epoch = 0
        self.closed = False

    def alive(self):
        return not self.closed and all(w.is_alive() for w in self.workers)

    def check_workers(self):
        for w in self.workers:
            if not w.is_alive():
                self.shutdown(graceful=False)
                raise RuntimeError(f"DataLoader worker (pid {w.pid}) exited unexpectedly with exit code "
                                   f"{w.exitcode}")

    def shutdown(self, graceful=True):
        """Stop the workers: ask them to exit (``graceful``), else terminate them at once."""
        if self.closed:
            return
        self.closed = True
        self.done_event.set()
        for iq in self.index_queues:
            try:
                iq.put(None)
            except Exception:
                pass
        deadline = time.monotonic() + (_JOIN_S if graceful else 0.0)
        for w in self.workers:
            w.join(max(0.0, deadline - time.monotonic()))
            if w.is_alive():
                w.terminate()
                w.join(1.0)
        for q in self.index_queues + [self.result_queue]:
            q.cancel_join_thread()
            q.close()


class _MultiProcessIter(_BaseIter):
    def __init__(self, loader):
        super().__init__(loader)
        owns_pool = not loader.persistent_workers
        if owns_pool:
            pool = _WorkerPool(loader, self._base_seed)
        else:
            if loader._pool is None or not loader._pool.alive():
                loader._pool = _WorkerPool(loader, self._base_seed)
            pool = loader._pool
        self._pool = pool
        self._owns_pool = owns_pool
        pool.epoch += 1
        self._epoch = pool.epoch
        if not owns_pool and loader._is_iterable and pool.epoch > 1:
            for iq in pool.index_queues:
                iq.put(("resume", self._epoch, None, None))
        self._timeout = loader.timeout
        self._send_idx = 0                      # next task id to send
        self._rcvd_idx = 0                      # next task id to yield
        self._task_worker = {}                  # task id -> worker id, for tasks not yet yielded
        self._done = {}                         # task id -> payload, received out of order
        self._active = [True] * pool.num_workers
        self._worker_cycle = itertools.cycle(range(pool.num_workers))
        self._sampler_done = False
        self._finished = False
        for _ in range(loader.prefetch_factor * pool.num_workers):
            self._send_task()

    def _send_task(self):
        if self._sampler_done:
            return
        for _ in range(self._pool.num_workers):
            wid = next(self._worker_cycle)
            if self._active[wid]:
                break
        else:
            return
        try:
            indices = next(self._sampler_iter)
        except StopIteration:
            self._sampler_done = True
            return
        self._pool.index_queues[wid].put(("task", self._epoch, self._send_idx, indices))
        self._task_worker[self._send_idx] = wid
        self._send_idx += 1

    def _get(self):
        """One result from the queue, raising if a worker died or the timeout passed."""
        start = time.monotonic()
        while True:
            wait = _WAIT_S
            if self._timeout > 0:
                left = self._timeout - (time.monotonic() - start)
                if left <= 0:
                    self._shutdown()
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
                wait = min(wait, left)
            try:
                return self._pool.result_queue.get(timeout=wait)
            except queue.Empty:
                self._pool.check_workers()
            except (EOFError, OSError) as e:
                self._shutdown()
                raise RuntimeError(f"DataLoader lost the connection to its workers: {e}") from None

    def __next__(self):
        while True:
            if self._finished:
                raise StopIteration
            # skip tasks of workers whose iterable dataset is exhausted
            while self._rcvd_idx < self._send_idx and self._rcvd_idx not in self._done and \
                    not self._active[self._task_worker[self._rcvd_idx]]:
                del self._task_worker[self._rcvd_idx]
                self._rcvd_idx += 1
            if self._rcvd_idx >= self._send_idx:
                self._finish()
                raise StopIteration
            if self._rcvd_idx in self._done:
                payload = self._done.pop(self._rcvd_idx)
                del self._task_worker[self._rcvd_idx]
                self._rcvd_idx += 1
                if isinstance(payload, _worker._IterableStop):
                    self._active[payload.worker_id] = False
                    continue
                self._send_task()
                if isinstance(payload, _worker.ExceptionWrapper):
                    self._shutdown()
                    payload.reraise()
                self._warn_length()
                data = _worker._unpack(payload)
                return _pin_memory(data) if self._pin else data
            epoch, task_id, blob = self._get()
            payload = pickle.loads(blob)
            if epoch != self._epoch:            # left over from an abandoned epoch
                continue
            if isinstance(payload, _worker._IterableStop):
                self._active[payload.worker_id] = False
            self._done[task_id] = payload

    def _finish(self):
        self._finished = True
        if self._owns_pool:
            self._pool.shutdown()

    def _shutdown(self):
        self._finished = True
        self._pool.shutdown(graceful=False)

    def __del__(self):
        if getattr(self, "_owns_pool", False):
            self._pool.shutdown()
