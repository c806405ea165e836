"""Iterable datasets, workers, batching options and collation, as course code uses them."""
import collections
import math
import warnings

import numpy as np
import torch
from torch.utils.data import (DataLoader, Dataset, IterableDataset, TensorDataset, ChainDataset, StackDataset,
                              ConcatDataset, get_worker_info, default_collate, default_convert)

torch.manual_seed(0)


def show_error(f):
    try:
        f()
        print("no error")
    except Exception as e:
        print(type(e).__name__, str(e).splitlines()[0] if str(e) else "")


class Stream(IterableDataset):
    """A streaming range, not split between workers: every worker yields all of it."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        return iter(range(self.start, self.end))


class ShardedStream(Stream):
    """Each worker yields its own contiguous slice of the range."""

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.start, self.end))
        per_worker = int(math.ceil((self.end - self.start) / float(info.num_workers)))
        lo = self.start + info.id * per_worker
        return iter(range(lo, min(lo + per_worker, self.end)))


class Squares(IterableDataset):
    """A generator-based dataset yielding (x, x**2) pairs of tensors."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        wid, nw = (0, 1) if info is None else (info.id, info.num_workers)
        for i in range(wid, self.n, nw):
            yield torch.tensor([float(i)]), torch.tensor(i * i)


class WhoAmI(IterableDataset):
    def __iter__(self):
        info = get_worker_info()
        yield (-1, -1) if info is None else (info.id, info.num_workers)


class Sized(IterableDataset):
    """Claims a length smaller than what it yields."""

    def __init__(self, n, claimed):
        self.n, self.claimed = n, claimed

    def __len__(self):
        return self.claimed

    def __iter__(self):
        return iter(range(self.n))


# --- single process
print(list(DataLoader(Stream(3, 10), batch_size=3)))
print(list(DataLoader(Stream(3, 10), batch_size=3, drop_last=True)))
print(list(DataLoader(Stream(0, 4))))
print(list(DataLoader(Stream(0, 4), batch_size=None)))
for x, y in DataLoader(Squares(5), batch_size=2):
    print(x.shape, x.dtype, x.view(-1).tolist(), y.tolist())
print(list(WhoAmI()), get_worker_info())

# --- two workers, fork
if __name__ == "__main__":
    dup = [b.tolist() for b in DataLoader(Stream(0, 5), batch_size=2, num_workers=2)]
    print("dup", dup, sorted(sum(dup, [])))
    shard = [b.tolist() for b in DataLoader(ShardedStream(0, 9), batch_size=2, num_workers=2)]
    print("shard", shard, sorted(sum(shard, [])))
    print("shard nobatch", [int(b) for b in DataLoader(ShardedStream(0, 7), batch_size=None, num_workers=2)])
    print("shard droplast", [b.tolist() for b in DataLoader(ShardedStream(0, 9), batch_size=2, num_workers=2,
                                                              drop_last=True)])
    print("squares", [y.tolist() for _, y in DataLoader(Squares(7), batch_size=3, num_workers=2)])
    print("who", [b for b in DataLoader(WhoAmI(), batch_size=None, num_workers=2)])
    print("who batched", list(DataLoader(WhoAmI(), batch_size=1, num_workers=2)))

    def init_fn(worker_id):
        info = get_worker_info()
        np.random.seed(1234 + worker_id)
        info.dataset.tag = f"w{worker_id}:{info.id}/{info.num_workers}"

    class NumpyNoise(IterableDataset):
        tag = "main"

        def __iter__(self):
            yield self.tag, int(np.random.randint(0, 1000))

    noise = list(DataLoader(NumpyNoise(), batch_size=None, num_workers=2, worker_init_fn=init_fn))
    rng = [int(np.random.RandomState(1234 + w).randint(0, 1000)) for w in range(2)]
    print("noise", noise, [n[1] for n in noise] == rng, NumpyNoise.tag)

    loader = DataLoader(ShardedStream(0, 6), batch_size=2, num_workers=2, persistent_workers=True,
                        prefetch_factor=1)
    for epoch in range(2):
        print("epoch", epoch, [b.tolist() for b in loader])
    print(loader.persistent_workers, loader.prefetch_factor, loader.num_workers)
    print(DataLoader(Stream(0, 3), num_workers=2).prefetch_factor, DataLoader(Stream(0, 3)).prefetch_factor)
    show_error(lambda: DataLoader(Stream(0, 3), prefetch_factor=2))
    show_error(lambda: DataLoader(Stream(0, 3), persistent_workers=True))

    # a worker with nothing to do, the length warning with workers, start method contexts
    print("idle worker", [b.tolist() for b in DataLoader(ShardedStream(0, 1), batch_size=2, num_workers=2)])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        mp = DataLoader(Sized(3, 3), batch_size=None, num_workers=2)
        print(len(mp), sorted(mp))
    print(len(w), [str(x.message).split("fetched. ")[1][:60] for x in w][:1])
    ctx_loader = DataLoader(Stream(0, 4), batch_size=2, num_workers=1, multiprocessing_context="fork")
    print(type(ctx_loader.multiprocessing_context).__name__, [b.tolist() for b in ctx_loader])
    show_error(lambda: DataLoader(Stream(0, 3), num_workers=1, multiprocessing_context=3))

    # map-style with workers and batch_size=None
    tds = TensorDataset(torch.arange(6.), torch.arange(6) % 2)
    print([(a.item(), b.item()) for a, b in DataLoader(tds, batch_size=None, num_workers=2)])
    print([a.tolist() for a, _ in DataLoader(tds, batch_size=4, num_workers=2)])

# --- len() of iterable loaders and the over-length warning
ld = DataLoader(Sized(5, 3), batch_size=2)
print(len(ld), len(DataLoader(Sized(5, 3), batch_size=2, drop_last=True)), len(DataLoader(Sized(5, 3),
                                                                                       batch_size=None)))
show_error(lambda: len(DataLoader(Stream(0, 3))))
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    out = list(DataLoader(Sized(5, 2), batch_size=None))     # len() never called: no warning
    over = DataLoader(Sized(5, 2), batch_size=None)
    print(len(over), out, len(w))
    out = list(over)
    over2 = DataLoader(Sized(5, 3), batch_size=2)
    print(len(over2), [b.tolist() for b in over2])
print(out, len(w), [x.category.__name__ for x in w])
print([str(x.message).splitlines()[0].split(" was reported")[1] for x in w])
print([str(x.message).split("Length of IterableDataset ")[1][:23] for x in w])

# --- argument errors for iterable datasets
show_error(lambda: DataLoader(Stream(0, 3), shuffle=True))
show_error(lambda: DataLoader(Stream(0, 3), batch_size=None, drop_last=True))
show_error(lambda: DataLoader(Stream(0, 3), timeout=-1))
show_error(lambda: DataLoader(Stream(0, 3), num_workers=-1))
show_error(lambda: iter(DataLoader(Stream(0, 3), num_workers=1, multiprocessing_context="bogus")))
show_error(lambda: DataLoader(Stream(0, 3), num_workers=0, multiprocessing_context="fork"))
print(DataLoader(Stream(0, 3), timeout=1.5).timeout)
fixed = DataLoader(Stream(0, 3), batch_size=2)
show_error(lambda: setattr(fixed, "batch_size", 4))
show_error(lambda: setattr(fixed, "drop_last", True))
fixed.num_workers = 0
print(fixed.batch_size, fixed.num_workers)

# --- map-style without batching
class Rows(Dataset):
    def __len__(self):
        return 3

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float32), "i": i}


for s in DataLoader(Rows(), batch_size=None):
    print(type(s["x"]).__name__, s["x"].dtype, s["x"].tolist(), s["i"])
print(DataLoader(Rows(), batch_size=None).batch_size, DataLoader(Rows(), batch_size=None).batch_sampler)

# --- ChainDataset, StackDataset, ConcatDataset
chain = ChainDataset([Stream(0, 3), Stream(10, 12)])
print(list(chain), len(ChainDataset([Sized(4, 4), Sized(2, 2)])))
print([b.tolist() for b in DataLoader(chain, batch_size=2)])
print(list(Stream(0, 2) + Stream(5, 6)), type(Stream(0, 2) + Stream(5, 6)).__name__)
show_error(lambda: list(ChainDataset([Stream(0, 2), TensorDataset(torch.zeros(2))])))
a, b = TensorDataset(torch.arange(4.)), TensorDataset(torch.arange(4) * 10)
st = StackDataset(a, b)
print(len(st), st[1])
sd = StackDataset(inp=a, tgt=b)
print(len(sd), sd[2], list(sd[0].keys()))
print(next(iter(DataLoader(sd, batch_size=3))))
show_error(lambda: StackDataset(a, TensorDataset(torch.zeros(3))))
show_error(lambda: StackDataset(a, tgt=b))
show_error(lambda: StackDataset())
show_error(lambda: ConcatDataset([a, Stream(0, 3)]))
show_error(lambda: ConcatDataset([]))
print(len(ConcatDataset([a, b])), ConcatDataset([a, b]).cumulative_sizes, (a + b)[5])

# --- default_collate / default_convert
Point = collections.namedtuple("Point", ["x", "y"])
print(default_collate([Point(1, 2.0), Point(3, 4.5)]))
print(default_collate([{"a": {"b": 1, "c": "u"}}, {"a": {"b": 2, "c": "v"}}]))
print(default_collate([np.array([1, 2]), np.array([3, 4])]))
print(default_collate([np.float32(1.5), np.float32(2.5)]))
print(default_collate(["a", "b"]), default_collate([1.5, 2.0]), default_collate([True, False]))
print(default_collate([(1, 2.5), (3, 4.0)]), default_collate([[1, 2], [3, 4]]))
print(default_collate([torch.ones(2, dtype=torch.int32), torch.zeros(2, dtype=torch.int32)]))
show_error(lambda: default_collate([1, 2.5]))
print(default_collate([1.5, 2]))
show_error(lambda: default_collate([torch.zeros(2), torch.zeros(3)]))
show_error(lambda: default_collate([[1, 2], [3]]))
show_error(lambda: default_collate([object(), object()]))
show_error(lambda: default_collate([np.array(["a"]), np.array(["b"])]))
print(default_convert({"a": np.arange(3), "b": [np.float64(1.5), "s"], "c": Point(np.ones(1), 2)}))
print(default_convert((np.zeros(2, dtype=np.int16), 3)), default_convert(np.array(["x"])))
od = default_collate([collections.OrderedDict(b=1, a=np.float64(2)), collections.OrderedDict(b=3, a=np.float64(4))])
print(type(od).__name__, od)
print(default_collate([(np.array([1.0]), "p"), (np.array([2.0]), "q")]))
print(list(DataLoader([Point(np.int32(i), [i, i + 1]) for i in range(2)], batch_size=None)))
print(list(DataLoader([Point(np.int32(i), [i, i + 1]) for i in range(3)], batch_size=2)))

# --- generator reproducibility of shuffle
ds = TensorDataset(torch.arange(8))
r1 = [b[0].tolist() for b in DataLoader(ds, batch_size=3, shuffle=True, generator=torch.Generator().manual_seed(7))]
r2 = [b[0].tolist() for b in DataLoader(ds, batch_size=3, shuffle=True, generator=torch.Generator().manual_seed(7))]
print(r1, r1 == r2)
g = torch.Generator().manual_seed(3)
ld = DataLoader(ds, batch_size=4, shuffle=True, generator=g)
e1, e2 = [b[0].tolist() for b in ld], [b[0].tolist() for b in ld]
print(e1, e2, e1 != e2)
torch.manual_seed(5)
r3 = [b[0].tolist() for b in DataLoader(ds, batch_size=8, shuffle=True)]
torch.manual_seed(5)
print(r3 == [b[0].tolist() for b in DataLoader(ds, batch_size=8, shuffle=True)], r3)

# --- pin_memory on a CPU-only machine
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    batches = list(DataLoader(ds, batch_size=4, pin_memory=True))
print([b[0].is_pinned() for b in batches], [(x.category.__name__, str(x.message)) for x in w])
