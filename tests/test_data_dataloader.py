"""DataLoader: every option, in the main process and with worker processes."""
import collections
import os
import signal
import time
import warnings

import numpy as np
import pytest
import torch

import flambeau
from flambeau.utils import data as fdata


@pytest.fixture(autouse=True)
def no_hang():
    """A loader must raise, never hang: fail the test if it runs for more than 60 s."""
    def _fail(*_):
        raise AssertionError("DataLoader test hung")
    old = signal.signal(signal.SIGALRM, _fail)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _plain(x):
    if isinstance(x, (list, tuple)):
        return [_plain(e) for e in x]
    return x.tolist() if hasattr(x, "tolist") else x


def _lists(loader):
    return [_plain(b) for b in loader]


def _pair(n=10):
    x = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    return (fdata.TensorDataset(flambeau.from_numpy(x), flambeau.from_numpy(y)),
            torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)))


@pytest.mark.parametrize("kw", [dict(), dict(batch_size=3), dict(batch_size=3, drop_last=True),
                                dict(batch_size=None), dict(batch_size=4, collate_fn=lambda b: len(b))])
def test_sequential_matches_torch(kw):
    ours, ref = _pair()
    a, b = fdata.DataLoader(ours, **kw), torch.utils.data.DataLoader(ref, **kw)
    assert len(a) == len(b)
    assert _lists(a) == _lists(b)


def test_sampler_and_batch_sampler_options():
    ours, ref = _pair()
    idx = [9, 1, 4, 4, 0]
    assert _lists(fdata.DataLoader(ours, batch_size=2, sampler=idx)) == \
        _lists(torch.utils.data.DataLoader(ref, batch_size=2, sampler=idx))
    bs = [[3, 2], [7], [0, 1, 2]]
    assert _lists(fdata.DataLoader(ours, batch_sampler=bs)) == \
        _lists(torch.utils.data.DataLoader(ref, batch_sampler=bs))
    assert len(fdata.DataLoader(ours, batch_sampler=bs)) == 3


def test_shuffle_is_a_permutation_and_reproducible():
    ours, _ = _pair(20)
    loader = fdata.DataLoader(ours, batch_size=6, shuffle=True, generator=flambeau.Generator().manual_seed(0))
    e1 = [i for b in loader for i in b[1].tolist()]
    e2 = [i for b in loader for i in b[1].tolist()]
    assert sorted(e1) == list(range(20)) and e1 != e2
    flambeau.manual_seed(7)
    a = [b[1].tolist() for b in fdata.DataLoader(ours, batch_size=6, shuffle=True)]
    flambeau.manual_seed(7)
    assert [b[1].tolist() for b in fdata.DataLoader(ours, batch_size=6, shuffle=True)] == a


@pytest.mark.parametrize("kw, err", [
    (dict(num_workers=-1), "num_workers option should be non-negative"),
    (dict(timeout=-1), "timeout option should be non-negative"),
    (dict(prefetch_factor=2), "prefetch_factor option could only be specified in multiprocessing"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(shuffle=True, sampler=[0]), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching"),
])
def test_option_errors_match_torch(kw, err):
    ours, ref = _pair()
    with pytest.raises(ValueError, match=err):
        fdata.DataLoader(ours, **kw)
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(ref, **kw)


class Squares(fdata.Dataset):
    """Sample i: (a float32 vector, NumPy's global random draw, flambeau's global random draw, worker id)."""

    def __len__(self):
        return 24

    def __getitem__(self, i):
        info = fdata.get_worker_info()
        return (flambeau.full((2,), float(i * i)), np.random.randint(1 << 30),
                flambeau.randint(0, 1 << 30, ()).item(), -1 if info is None else info.id)


def test_workers_give_same_batches_as_main_process():
    ds = fdata.TensorDataset(flambeau.arange(30).float().view(15, 2), flambeau.arange(15))
    batches = {}
    for nw in (0, 2):
        loader = fdata.DataLoader(ds, batch_size=4, shuffle=True, num_workers=nw,
                                  generator=flambeau.Generator().manual_seed(11))
        batches[nw] = [[t.tolist() for t in b] for b in loader]
    assert batches[0] == batches[2]
    assert [b[0].dtype for b in fdata.DataLoader(ds, batch_size=4, num_workers=2)] == [flambeau.float32] * 4


def test_worker_seeds_distinct_and_reproducible():
    def run():
        loader = fdata.DataLoader(Squares(), batch_size=3, num_workers=2, generator=flambeau.Generator().manual_seed(1))
        return [[t.tolist() if hasattr(t, "tolist") else t for t in b] for b in loader]
    a, b = run(), run()
    assert a == b                                        # reproducible
    assert [w for batch in a for w in batch[3]] == [0, 0, 0, 1, 1, 1] * 4     # round robin, in order
    np_draws = [batch[1] for batch in a]
    assert np_draws[0] != np_draws[1]                    # workers 0 and 1 have distinct NumPy seeds
    fl_draws = [batch[2] for batch in a]
    assert fl_draws[0] != fl_draws[1]
    assert a[0][0] == [[0.0, 0.0], [1.0, 1.0], [4.0, 4.0]]


def _init(worker_id):
    info = fdata.get_worker_info()
    assert info.id == worker_id and info.num_workers == 3
    os.environ["FLAMBEAU_TEST_WORKER"] = str(worker_id * 10)


class EnvDataset(fdata.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return int(os.environ["FLAMBEAU_TEST_WORKER"]), fdata.get_worker_info().seed


def test_worker_init_fn_and_worker_info():
    assert fdata.get_worker_info() is None
    loader = fdata.DataLoader(EnvDataset(), batch_size=2, num_workers=3, worker_init_fn=_init, prefetch_factor=1,
                              generator=flambeau.Generator().manual_seed(0))
    out = [(b[0].tolist(), b[1].tolist()) for b in loader]
    assert [o[0] for o in out] == [[0, 0], [10, 10], [20, 20]]
    seeds = [o[1][0] for o in out]
    assert seeds[1] == seeds[0] + 1 and seeds[2] == seeds[0] + 2   # base_seed + worker_id, as torch


class Threads(fdata.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return flambeau.get_num_threads()


def test_workers_run_on_one_thread_each():
    """As in torch, each worker process computes on one thread; the main process keeps its own."""
    before = flambeau.get_num_threads()
    assert [int(b) for b in fdata.DataLoader(Threads(), batch_size=None, num_workers=2)] == [1, 1, 1, 1]
    assert flambeau.get_num_threads() == before


class Failing(fdata.Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 7:
            raise ValueError(f"sample {i} is broken")
        return i


def test_worker_exception_propagates_with_traceback():
    loader = fdata.DataLoader(Failing(), batch_size=2, num_workers=2)
    got = []
    with pytest.raises(ValueError) as info:
        for b in loader:
            got.append(b.tolist())
    assert got == [[0, 1], [2, 3], [4, 5]]          # batches before the failing one came out, in order
    msg = str(info.value)
    assert "Caught ValueError in DataLoader worker process 1" in msg
    assert "sample 7 is broken" in msg and "Traceback" in msg and "__getitem__" in msg


class Unsendable(fdata.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        class LocalError(Exception):
            pass
        if i == 3:
            raise LocalError("cannot be pickled")
        return (lambda: i) if i == 1 else i


def test_unpicklable_batches_and_exceptions_raise_instead_of_hanging():
    loader = fdata.DataLoader(Unsendable(), batch_size=None, num_workers=1, collate_fn=lambda x: x)
    it = iter(loader)
    assert next(it) == 0
    with pytest.raises(Exception, match="in DataLoader worker process 0 \\(sending the batch\\)"):
        next(it)
    it = iter(fdata.DataLoader(Unsendable(), sampler=[3], batch_size=None, num_workers=1))
    with pytest.raises(RuntimeError, match="(?s)Caught LocalError in DataLoader worker process 0.*cannot be pickled"):
        next(it)


def test_exception_in_main_process_is_plain():
    with pytest.raises(ValueError, match="sample 7 is broken"):
        list(fdata.DataLoader(Failing(), batch_size=2))


class Dying(fdata.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            os._exit(3)
        return i


def test_dead_worker_raises():
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid \d+\) exited unexpectedly with exit code 3"):
        list(fdata.DataLoader(Dying(), batch_size=2, num_workers=2))


class Slow(fdata.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(30)
        return i


def test_abandoned_iterator_stops_its_workers_quickly():
    it = iter(fdata.DataLoader(Squares(), batch_size=1, num_workers=2, prefetch_factor=4))
    next(it)
    workers = list(it._pool.workers)
    it._pool.shutdown()
    assert all(not w.is_alive() for w in workers)
    assert all(w.exitcode == 0 for w in workers)           # they exited on their own, not terminated


def test_timeout_raises():
    loader = fdata.DataLoader(Slow(), batch_size=2, num_workers=1, timeout=0.5)
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.5 seconds"):
        next(iter(loader))


class Stream(fdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = fdata.get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))

    def __len__(self):
        return self.n


def test_iterable_dataset_matches_torch():
    class TorchStream(torch.utils.data.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            if info is None:
                return iter(range(self.n))
            return iter(range(info.id, self.n, info.num_workers))

    for kw in [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)]:
        for nw in (0, 2):
            ours = _lists(fdata.DataLoader(Stream(11), num_workers=nw, **kw))
            ref = _lists(torch.utils.data.DataLoader(TorchStream(11), num_workers=nw, **kw))
            assert ours == ref, (kw, nw)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        fdata.DataLoader(Stream(3), shuffle=True)
    assert len(fdata.DataLoader(Stream(11), batch_size=3)) == 4


class Overlong(fdata.IterableDataset):
    """Reports a length of 2 but yields 5 samples."""

    def __len__(self):
        return 2

    def __iter__(self):
        return iter(range(5))


class TorchOverlong(torch.utils.data.IterableDataset):
    def __len__(self):
        return 2

    def __iter__(self):
        return iter(range(5))


def _length_warnings(lib, dataset, call_len, **kw):
    """The fetched-count parts of the length warnings an epoch raises."""
    loader = lib.utils.data.DataLoader(dataset, **kw)
    if call_len:
        len(loader)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        list(loader)
    return [(w.category, str(w.message).split(" was reported to be ")[1]) for w in caught]


@pytest.mark.parametrize("call_len, kw", [(False, dict(batch_size=None)), (True, dict(batch_size=None)),
                                          (True, dict(batch_size=2)), (True, dict(batch_size=None, num_workers=1))])
def test_iterable_length_warning_matches_torch(call_len, kw):
    """As torch: armed only by an earlier len(loader), and it counts batches against len(dataset)."""
    ours = _length_warnings(flambeau, Overlong(), call_len, **kw)
    ref = _length_warnings(torch, TorchOverlong(), call_len, **kw)
    assert ours == ref


@pytest.mark.parametrize("context, num_workers, err", [
    ("bogus", 1, ValueError), (3, 1, TypeError), ("fork", 0, ValueError), ("spawn", 1, None)])
def test_multiprocessing_context_validation_matches_torch(context, num_workers, err):
    ours, ref = _pair()
    if err is None:
        a = fdata.DataLoader(ours, num_workers=num_workers, multiprocessing_context=context)
        b = torch.utils.data.DataLoader(ref, num_workers=num_workers, multiprocessing_context=context)
        assert type(a.multiprocessing_context) is type(b.multiprocessing_context)
        return
    with pytest.raises(err) as ref_err:
        torch.utils.data.DataLoader(ref, num_workers=num_workers, multiprocessing_context=context)
    with pytest.raises(err) as our_err:
        fdata.DataLoader(ours, num_workers=num_workers, multiprocessing_context=context)
    assert str(our_err.value) == str(ref_err.value)


@pytest.mark.parametrize("name, value", [("batch_size", 4), ("drop_last", True), ("sampler", None),
                                         ("dataset", None), ("num_workers", 0)])
def test_attributes_frozen_after_init_match_torch(name, value):
    ours, ref = _pair()
    a, b = fdata.DataLoader(ours, batch_size=2), torch.utils.data.DataLoader(ref, batch_size=2)
    try:
        setattr(b, name, value)
    except ValueError as e:
        with pytest.raises(ValueError, match=f"^{e}$"):
            setattr(a, name, value)
    else:
        setattr(a, name, value)
        assert getattr(a, name) == value


def test_persistent_workers_reuse_processes():
    ds = fdata.TensorDataset(flambeau.arange(10))
    loader = fdata.DataLoader(ds, batch_size=3, num_workers=2, persistent_workers=True)
    first = _lists(loader)
    pids = [w.pid for w in loader._pool.workers]
    it = iter(loader)
    next(it)                                               # abandon an epoch midway
    assert _lists(loader) == first
    assert [w.pid for w in loader._pool.workers] == pids
    stream = fdata.DataLoader(Stream(7), batch_size=2, num_workers=2, persistent_workers=True)
    assert _lists(stream) == _lists(stream) == [[0, 2], [1, 3], [4, 6], [5]]
    loader._pool.shutdown()
    stream._pool.shutdown()


def _tensors(batch):
    if isinstance(batch, dict):
        return [t for v in batch.values() for t in _tensors(v)]
    if isinstance(batch, (list, tuple)):
        return [t for v in batch for t in _tensors(v)]
    return [batch] if isinstance(batch, flambeau.Tensor) else []


def test_pin_memory_and_contexts_accepted():
    ds = fdata.TensorDataset(flambeau.arange(6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # no accelerator: torch and flambeau warn
        a = _lists(fdata.DataLoader(ds, batch_size=4, pin_memory=True))
        b = _lists(fdata.DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn",
                                    pin_memory=True))
    assert a == b == [[[0, 1, 2, 3]], [[4, 5]]]


class Records(fdata.Dataset):
    """Samples with a tensor, a NumPy array, a number and a string, in a dict and a named tuple."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": flambeau.full((2, 3), float(i)), "np": np.full(2, i, np.int16), "y": i, "name": str(i),
                "pair": Pair(flambeau.tensor([i, -i]), float(i))}


Pair = collections.namedtuple("Pair", "a b")


@pytest.mark.parametrize("num_workers", [0, 2])
def test_pin_memory_gives_pinned_cpu_batches(num_workers):
    """As torch where a GPU exists: every tensor of every batch is a pinned CPU tensor, containers
    keep their types; without one, it warns as torch does and gives plain CPU tensors."""
    loader = fdata.DataLoader(Records(), batch_size=2, num_workers=num_workers, pin_memory=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batches = list(loader)
    plain = list(fdata.DataLoader(Records(), batch_size=2, num_workers=num_workers))
    assert _lists([list(b.values()) for b in batches]) == _lists([list(b.values()) for b in plain])
    gpu = flambeau.cuda.is_available()
    assert any("no accelerator is found" in str(w.message) for w in caught) == (not gpu)
    for batch in batches:
        assert isinstance(batch["pair"], Pair) and isinstance(batch["name"], list)
        for t in _tensors(batch):
            assert t.device.type == "cpu" and t.is_pinned() == gpu
    ref = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(4)), batch_size=2,
                                      pin_memory=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [b[0].is_pinned() for b in ref] == [torch.cuda.is_available()] * 2
    assert any("no accelerator is found" in str(w.message) for w in caught) == (not torch.cuda.is_available())


def test_pin_memory_device_is_deprecated():
    for lib, data in ((flambeau, fdata), (torch, torch.utils.data)):
        ds = data.TensorDataset(lib.arange(4))
        with pytest.warns(UserWarning, match="pin_memory_device is deprecated"):
            list(data.DataLoader(ds, batch_size=2, pin_memory=True, pin_memory_device="cuda"))


def test_batches_move_to_the_device(device):
    """The training loop's ``x.to(device, non_blocking=True)`` on (pinned) batches."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loader = fdata.DataLoader(Records(), batch_size=2, pin_memory=True, shuffle=True,
                                  generator=flambeau.Generator().manual_seed(0))
        for batch in loader:
            x = batch["x"].to(device, non_blocking=True)
            y = batch["pair"].a.to(flambeau.device(device), non_blocking=True)
            assert x.device.type == y.device.type == flambeau.device(device).type
            assert x.tolist() == batch["x"].tolist() and y.tolist() == batch["pair"].a.tolist()
            assert batch["x"].device.type == "cpu"


def test_dict_and_numpy_samples_through_workers():
    class D(fdata.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full((2, 2), i, np.uint8), "y": float(i), "name": str(i)}

    for nw in (0, 2):
        out = list(fdata.DataLoader(D(), batch_size=2, num_workers=nw))
        assert out[0]["x"].dtype == flambeau.uint8 and out[0]["x"].shape == (2, 2, 2)
        assert out[2]["y"].dtype == flambeau.float64 and out[2]["name"] == ["4"]
