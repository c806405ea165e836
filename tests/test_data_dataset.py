"""Datasets, samplers and collation of flambeau.utils.data, against torch.utils.data."""
import collections

import numpy as np
import pytest
import torch

import flambeau
from flambeau.utils import data as fdata


def _same(ours, ref):
    """Nested equality of a flambeau batch and a torch batch (types, dtypes, values)."""
    if isinstance(ref, torch.Tensor):
        assert isinstance(ours, flambeau.Tensor), type(ours)
        assert str(ours.dtype) == str(ref.dtype)
        assert tuple(ours.shape) == tuple(ref.shape)
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    elif isinstance(ref, dict):
        assert type(ours).__name__ == type(ref).__name__ and list(ours) == list(ref)
        for k in ref:
            _same(ours[k], ref[k])
    elif isinstance(ref, (list, tuple)):
        assert type(ours).__name__ == type(ref).__name__ and len(ours) == len(ref)
        for a, b in zip(ours, ref):
            _same(a, b)
    else:
        assert ours == ref and type(ours) is type(ref)


Point = collections.namedtuple("Point", "x y")


def _batch(lib):
    return [
        {"img": lib.arange(6).view(2, 3) + i, "label": i, "w": 0.5 * i, "name": f"s{i}",
         "np": np.full((2,), i, np.float32), "npscalar": np.int16(i), "flag": i % 2 == 0,
         "pair": (i, 2.0 * i), "pt": Point(i, lib.tensor([float(i)])), "lst": [i, i + 1],
         "od": collections.OrderedDict(b=i, a=1.0)}
        for i in range(3)]


def test_default_collate_matches_torch():
    from torch.utils.data import default_collate as ref_collate
    _same(fdata.default_collate(_batch(flambeau)), ref_collate(_batch(torch)))


def test_default_collate_errors():
    from torch.utils.data import default_collate as ref_collate
    with pytest.raises(RuntimeError, match="equal size"):
        fdata.default_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError):
        ref_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        fdata.default_collate([object(), object()])
    with pytest.raises(TypeError):
        fdata.default_collate([np.array(["a"]), np.array(["b"])])


class Tagged(dict):
    """A dict subclass: collation must keep the subclass (torch copies the first sample)."""


class Row(list):
    """A list subclass."""


@pytest.mark.parametrize("batch", [
    [(1, "a"), (2, "b")],
    [Point("x", 1), Point("y", 2)],
    [{"k": ("u", 1)}, {"k": ("v", 2)}],
    [Tagged(a=1, s="p"), Tagged(a=2, s="q")],
    [Row([1, "s"]), Row([2, "t"])],
    [[1, ("a", 2.5)], [2, ("b", 0.5)]],
])
def test_default_collate_containers_match_torch(batch):
    """Strings gathered from tuple or named-tuple fields stay tuples; dict and list subclasses survive."""
    from torch.utils.data import default_collate as ref_collate
    _same(fdata.default_collate(batch), ref_collate(batch))


def test_stack_dataset_errors_match_torch():
    a, b = list(range(4)), list(range(3))
    for lib in (fdata, torch.utils.data):
        with pytest.raises(ValueError, match="^Size mismatch between datasets$"):
            lib.StackDataset(a, b)
        with pytest.raises(ValueError, match="^Size mismatch between datasets$"):
            lib.StackDataset(x=a, y=b)
        with pytest.raises(ValueError, match="^At least one dataset should be passed$"):
            lib.StackDataset()
        with pytest.raises(ValueError, match="but both types are given"):
            lib.StackDataset(a, y=a)


def test_default_convert_matches_torch():
    from torch.utils.data import default_convert as ref_convert
    sample = {"a": np.arange(3), "b": (np.float64(2.0), "s"), "c": [np.ones((1, 2), np.float32)]}
    _same(fdata.default_convert(sample), ref_convert(sample))


def test_device_tensors_collate_on_their_device(device):
    """Samples holding tensors on device collate into batches on device (torch's default_collate stacks them)."""
    x = flambeau.arange(12.0, device=device).view(6, 2)
    y = flambeau.arange(6, device=device)
    loader = fdata.DataLoader(fdata.TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert [tuple(b[0].shape) for b in batches] == [(4, 2), (2, 2)]
    for bx, by in batches:
        assert bx.device.type == by.device.type == flambeau.device(device).type
    assert batches[1][0].tolist() == [[8.0, 9.0], [10.0, 11.0]] and batches[0][1].tolist() == [0, 1, 2, 3]
    collated = fdata.default_collate([{"t": x[0], "n": 1}, {"t": x[1], "n": 2}])
    assert collated["t"].device.type == flambeau.device(device).type and collated["t"].tolist() == [[0, 1], [2, 3]]
    assert collated["n"].device.type == "cpu"


def test_tensor_dataset_subset_concat():
    x, y = flambeau.arange(10).view(5, 2), flambeau.arange(5)
    ds = fdata.TensorDataset(x, y)
    assert len(ds) == 5 and ds[3][0].tolist() == [6, 7] and ds[3][1].item() == 3
    with pytest.raises(ValueError, match="Size mismatch"):
        fdata.TensorDataset(x, flambeau.arange(4))
    sub = fdata.Subset(ds, [4, 0])
    assert len(sub) == 2 and sub[0][1].item() == 4
    cat = ds + sub
    assert isinstance(cat, fdata.ConcatDataset) and len(cat) == 7
    assert [cat[i][1].item() for i in range(7)] == [0, 1, 2, 3, 4, 4, 0]
    assert cat[-1][1].item() == 0
    with pytest.raises(IndexError):
        cat[7]
    assert cat.cumulative_sizes == torch.utils.data.ConcatDataset(
        [torch.utils.data.TensorDataset(torch.zeros(5)), torch.utils.data.TensorDataset(torch.zeros(2))]
    ).cumulative_sizes
    st = fdata.StackDataset(a=ds, b=list(range(5)))
    assert st[2]["b"] == 2


def test_chain_dataset():
    class Count(fdata.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    chain = Count(2) + Count(3)
    assert isinstance(chain, fdata.ChainDataset) and list(chain) == [0, 1, 0, 1, 2]


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.34, 0.33, 0.33], [10, 0]])
def test_random_split(lengths):
    parts = fdata.random_split(range(10), lengths, generator=flambeau.Generator().manual_seed(0))
    ref = torch.utils.data.random_split(range(10), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [len(p) for p in ref]
    flat = sorted(i for p in parts for i in p)
    assert flat == list(range(10))
    again = fdata.random_split(range(10), lengths, generator=flambeau.Generator().manual_seed(0))
    assert [list(p) for p in parts] == [list(p) for p in again]


def test_random_split_errors():
    with pytest.raises(ValueError, match="Sum of input lengths"):
        fdata.random_split(range(10), [3, 3])
    with pytest.raises(ValueError):
        torch.utils.data.random_split(range(10), [3, 3])


def test_sequential_and_batch_sampler_match_torch():
    for bs, dl in [(3, False), (3, True), (5, False), (12, True)]:
        ours = fdata.BatchSampler(fdata.SequentialSampler(range(10)), bs, dl)
        ref = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(10)), bs, dl)
        assert list(ours) == list(ref) and len(ours) == len(ref)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        fdata.BatchSampler(range(3), 0, False)


def test_random_sampler():
    s = fdata.RandomSampler(range(10), generator=flambeau.Generator().manual_seed(3))
    first, second = list(s), list(s)
    assert sorted(first) == list(range(10)) and first != second     # a new permutation per epoch
    s2 = fdata.RandomSampler(range(10), generator=flambeau.Generator().manual_seed(3))
    assert list(s2) == first
    more = list(fdata.RandomSampler(range(4), num_samples=10, generator=flambeau.Generator().manual_seed(0)))
    assert len(more) == 10 and sorted(more[:4]) == [0, 1, 2, 3] and sorted(more[4:8]) == [0, 1, 2, 3]
    rep = list(fdata.RandomSampler(range(3), replacement=True, num_samples=70))
    assert len(rep) == 70 and set(rep) == {0, 1, 2}
    flambeau.manual_seed(5)
    a = list(fdata.RandomSampler(range(10)))
    flambeau.manual_seed(5)
    assert list(fdata.RandomSampler(range(10))) == a
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        fdata.RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        fdata.RandomSampler(range(3), replacement=1)


def test_subset_and_weighted_samplers():
    s = list(fdata.SubsetRandomSampler([5, 7, 9], generator=flambeau.Generator().manual_seed(0)))
    assert sorted(s) == [5, 7, 9]
    w = fdata.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], num_samples=400)
    draws = list(w)
    assert len(w) == 400 and set(draws) <= {1, 3} and 200 < draws.count(3) < 380
    nr = list(fdata.WeightedRandomSampler([1, 1, 1], 3, replacement=False))
    assert sorted(nr) == [0, 1, 2]
    with pytest.raises(ValueError, match="num_samples"):
        fdata.WeightedRandomSampler([1.0], num_samples=-1)


def test_distributed_sampler_matches_torch_partition():
    ds = list(range(11))
    for drop_last in (False, True):
        ours = [list(fdata.DistributedSampler(ds, 3, r, shuffle=False, drop_last=drop_last)) for r in range(3)]
        ref = [list(torch.utils.data.DistributedSampler(ds, 3, r, shuffle=False, drop_last=drop_last))
               for r in range(3)]
        assert ours == ref
    shuffled = [fdata.DistributedSampler(ds, 2, r, seed=4) for r in range(2)]
    e0 = [list(s) for s in shuffled]
    assert sorted(e0[0] + e0[1])[:11] == sorted(set(ds)) or set(e0[0] + e0[1]) == set(ds)
    for s in shuffled:
        s.set_epoch(1)
    assert [list(s) for s in shuffled] != e0
    with pytest.raises(ValueError, match="Invalid rank"):
        fdata.DistributedSampler(ds, 2, 2)
