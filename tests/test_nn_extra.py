"""embedding_bag / EmbeddingBag, embedding's scale_grad_by_freq, ctc_loss / CTCLoss, Fold / Unfold,
channel_shuffle / ChannelShuffle, multilabel_margin_loss and triplet_margin_with_distance_loss,
against torch."""
import numpy as np
import pytest

import flambeau
from _oracle import assert_same, check_against_torch, gradcheck, host_reads, need_torch, on_device
from _nn_helpers import assert_on_device, check_module

torch = need_torch()


def _pair(array, device, grad=False, dtype=None):
    """The same values as a flambeau tensor on device and a torch tensor."""
    a = np.asarray(array) if dtype is None else np.asarray(array, dtype=dtype)
    return (flambeau.tensor(a, device=device, requires_grad=grad), torch.tensor(a, requires_grad=grad))


def _same_error(fn, device="cpu", match=None):
    """fn(lib) raises the same exception type (and message, or the part ``match``) in flambeau and torch."""
    errors = []
    for lib in (on_device(flambeau, device), torch):
        with pytest.raises(Exception) as e:
            fn(lib)
        errors.append((e.type, str(e.value).replace("torch.cuda.", "torch.")))    # torch's message is for the CPU
    assert errors[0][0] is errors[1][0], errors
    if match is None:
        assert errors[0][1] == errors[1][1], errors
    else:
        assert match in errors[0][1] and match in errors[1][1], errors


def _backward_both(ours, ref, seed=0):
    cot = np.random.default_rng(seed).standard_normal(tuple(ref.shape)).astype(to_np_dtype(ref))
    ours.backward(flambeau.tensor(cot, device=ours.device))
    ref.backward(torch.tensor(cot))


def to_np_dtype(t):
    return {torch.float32: np.float32, torch.float64: np.float64}[t.dtype]


# -- embedding_bag -----------------------------------------------------------------------------
INDICES = np.array([1, 2, 4, 5, 4, 3, 2, 9, 4, 4])
BAG_CASES = [                               # (offsets or None for the 2-D input, include_last_offset)
    (np.array([0, 4, 4, 7]), False),        # an empty bag
    (np.array([0, 3, 10]), True),
    (None, False),
]


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_matches_torch(device, mode):
    w = np.random.default_rng(1).standard_normal((10, 3))
    for offsets, last in BAG_CASES:
        for padding_idx in (None, 4, -1):
            for index_type in (np.int64, np.int32):
                wf, wt = _pair(w, device, grad=True)
                xf, xt = _pair(INDICES if offsets is not None else INDICES.reshape(2, 5), device, dtype=index_type)
                of, ot = _pair(offsets, device) if offsets is not None else (None, None)
                out = flambeau.nn.functional.embedding_bag(xf, wf, of, mode=mode, padding_idx=padding_idx,
                                                           include_last_offset=last)
                ref = torch.nn.functional.embedding_bag(xt, wt, ot, mode=mode, padding_idx=padding_idx,
                                                        include_last_offset=last)
                assert_same(out, ref, device=device)
                assert out.grad_fn.name() == "EmbeddingBagBackward0"
                _backward_both(out, ref)
                assert_same(wf.grad, wt.grad, device=device)


def test_embedding_bag_per_sample_weights(device):
    rng = np.random.default_rng(2)
    w, psw = rng.standard_normal((10, 3)), rng.random(10)
    for offsets, last in BAG_CASES:
        for padding_idx in (None, 2):
            wf, wt = _pair(w, device, grad=True)
            pf, pt = _pair(psw if offsets is not None else psw.reshape(2, 5), device, grad=True)
            xf, xt = _pair(INDICES if offsets is not None else INDICES.reshape(2, 5), device)
            of, ot = _pair(offsets, device) if offsets is not None else (None, None)
            out = flambeau.nn.functional.embedding_bag(xf, wf, of, mode="sum", per_sample_weights=pf,
                                                       include_last_offset=last, padding_idx=padding_idx)
            ref = torch.nn.functional.embedding_bag(xt, wt, ot, mode="sum", per_sample_weights=pt,
                                                    include_last_offset=last, padding_idx=padding_idx)
            assert_same(out, ref, device=device)
            _backward_both(out, ref, seed=3)
            assert_same(wf.grad, wt.grad, device=device)
            assert_same(pf.grad, pt.grad, device=device)


def test_embedding_bag_float32_max_ties_and_nan(device):
    w = np.random.default_rng(3).standard_normal((6, 4)).astype(np.float32)
    w[2] = w[1]                             # a tie: the first position of the bag wins
    w[3, 0] = np.nan                        # a NaN first in its bag stays; later in a bag it is passed over
    w[5, 1] = np.nan
    idx = np.array([1, 2, 0, 3, 1, 2, 4, 5])
    for offsets in ([0, 3, 6], [0, 2, 5]):
        wf, wt = _pair(w, device, grad=True)
        out = flambeau.nn.functional.embedding_bag(flambeau.tensor(idx, device=device), wf,
                                                   flambeau.tensor(offsets, device=device), mode="max")
        ref = torch.nn.functional.embedding_bag(torch.tensor(idx), wt, torch.tensor(offsets), mode="max")
        assert_same(out, ref, device=device)
        _backward_both(out, ref)
        assert_same(wf.grad, wt.grad, device=device)
    for mode in ("sum", "mean"):
        wf, wt = _pair(np.nan_to_num(w), device)
        assert_same(flambeau.nn.functional.embedding_bag(flambeau.tensor(idx, device=device), wf,
                                                         flambeau.tensor([0, 3], device=device), mode=mode),
                    torch.nn.functional.embedding_bag(torch.tensor(idx), wt, torch.tensor([0, 3]), mode=mode),
                    rtol=1e-6, atol=1e-6, device=device)


def test_embedding_bag_max_norm_renormalizes_weight(device):
    w = np.random.default_rng(4).standard_normal((10, 3)) * 2
    wf, wt = _pair(w, device)
    out = flambeau.nn.functional.embedding_bag(flambeau.tensor(INDICES, device=device), wf,
                                               flambeau.tensor([0, 5], device=device), max_norm=1.5, norm_type=3)
    ref = torch.nn.functional.embedding_bag(torch.tensor(INDICES), wt, torch.tensor([0, 5]), max_norm=1.5, norm_type=3)
    assert_same(out, ref, device=device)
    assert_same(wf, wt, device=device)


def test_embedding_bag_scale_grad_by_freq(device):
    # torch's CPU kernel scales some rows by another row's count when indices repeat unevenly, so the
    # reference is embedding(scale_grad_by_freq=True), whose scaling torch gets right, reduced per bag
    w = np.random.default_rng(5).standard_normal((10, 3))
    idx = np.array([[1, 2, 4, 2, 4], [9, 4, 3, 2, 4]])
    for mode in ("sum", "mean"):
        wf, wt = _pair(w, device, grad=True)
        out = flambeau.nn.functional.embedding_bag(flambeau.tensor(idx, device=device), wf, mode=mode,
                                                   scale_grad_by_freq=True)
        rows = torch.nn.functional.embedding(torch.tensor(idx), wt, scale_grad_by_freq=True)
        ref = rows.sum(1) if mode == "sum" else rows.mean(1)
        assert_same(out, ref, device=device)
        _backward_both(out, ref)
        assert_same(wf.grad, wt.grad, device=device)
    # where every index appears equally often, torch's embedding_bag itself agrees
    idx = np.array([1, 2, 4, 4, 1, 2])
    for mode in ("sum", "mean"):
        wf, wt = _pair(w, device, grad=True)
        out = flambeau.nn.functional.embedding_bag(flambeau.tensor(idx, device=device), wf,
                                                   flambeau.tensor([0, 2], device=device), mode=mode,
                                                   scale_grad_by_freq=True)
        ref = torch.nn.functional.embedding_bag(torch.tensor(idx), wt, torch.tensor([0, 2]), mode=mode,
                                                scale_grad_by_freq=True)
        _backward_both(out, ref)
        assert_same(wf.grad, wt.grad, device=device)


def test_embedding_bag_host_reads(device):
    """One read by the host for the index and offset checks; the backward reads nothing."""
    w = flambeau.randn(10, 3, device=device, requires_grad=True)
    psw = flambeau.rand(10, device=device, requires_grad=True)
    idx, offsets = flambeau.tensor(INDICES, device=device), flambeau.tensor([0, 4, 4, 7], device=device)
    for mode in ("sum", "max"):
        with host_reads() as n:
            out = flambeau.nn.functional.embedding_bag(idx, w, offsets, mode=mode, padding_idx=2,
                                                       per_sample_weights=psw if mode == "sum" else None)
        assert n[0] == (1 if device == "cuda" else 0)
        with host_reads() as n:
            out.sum().backward()
        assert n[0] == 0
        assert_on_device([out, w, psw], device)


def test_embedding_bag_gradcheck(device):
    idx = flambeau.tensor(INDICES, device=device)
    offsets = flambeau.tensor([0, 4, 4, 7], device=device)
    for mode in ("sum", "mean", "max"):
        gradcheck(lambda lib, w: lib.nn.functional.embedding_bag(idx, w, offsets, mode=mode, padding_idx=3),
                  (10, 3), device=device)
    gradcheck(lambda lib, w, p: lib.nn.functional.embedding_bag(idx, w, offsets, mode="sum", per_sample_weights=p),
              (10, 3), (10,), device=device)


def test_embedding_bag_errors(device):
    def bag(idx, offsets=None, shape=(10, 3), **kw):
        return lambda lib: lib.nn.functional.embedding_bag(
            lib.tensor(idx), lib.zeros(shape, dtype=lib.float64), None if offsets is None else lib.tensor(offsets),
            **kw)
    cases = [
        bag([1, 2], [1]), bag([1, 2], [0, 3]), bag([1, 10], [0]), bag([-1, 2], [0]),
        bag([1.0, 2.0], [0]), bag([1, 2], [0.0]), bag([1, 2], [0], mode="foo"), bag([1, 2], [0], padding_idx=10),
        bag([1, 2], [0], padding_idx=-11), bag([1, 2], [[0]]), bag([[[1, 2]]]), bag([1, 2]),
        bag([1, 2], [0], shape=(10,)), bag([1, 2], [0], mode="max", scale_grad_by_freq=True),
        bag([1, 2], [0], mode="max", sparse=True),
        lambda lib: lib.nn.functional.embedding_bag(lib.tensor([1, 2]), lib.zeros(10, 3, dtype=lib.int32),
                                                    lib.tensor([0])),
        lambda lib: lib.nn.functional.embedding_bag(lib.tensor([1, 2]), lib.zeros(10, 3), lib.tensor([0]),
                                                    mode="sum", per_sample_weights=lib.ones(2, dtype=lib.float64)),
        lambda lib: lib.nn.functional.embedding_bag(lib.tensor([1, 2]), lib.zeros(10, 3), lib.tensor([0]),
                                                    mode="sum", per_sample_weights=lib.ones(3)),
        lambda lib: lib.nn.functional.embedding_bag(lib.tensor([1, 2]), lib.zeros(10, 3), lib.tensor([0]),
                                                    mode="mean", per_sample_weights=lib.ones(2)),
    ]
    for fn in cases:
        # torch's first message ends with a printed tensor
        _same_error(fn, device, match="However, got 1" if fn is cases[0] else None)
    _same_error(bag([[1, 2]], [0]), device, match="if input is 2D, then offsets has to be None, as input is treated "
                "is a mini-batch of fixed length sequences. However, found offsets of type <class '")
    with pytest.raises(NotImplementedError):
        flambeau.nn.functional.embedding_bag(flambeau.tensor([1, 2]), flambeau.zeros(10, 3), flambeau.tensor([0]),
                                             sparse=True)
    if device == "cuda":
        with pytest.raises(RuntimeError, match="cuda"):
            flambeau.nn.functional.embedding_bag(flambeau.tensor([1, 2], device=device), flambeau.zeros(10, 3),
                                                 flambeau.tensor([0], device=device))


def test_embedding_scale_grad_by_freq(device):
    w = np.random.default_rng(7).standard_normal((10, 3))
    idx = np.array([[1, 2, 4, 2], [4, 4, 3, 9]])
    for padding_idx in (None, 4):
        wf, wt = _pair(w, device, grad=True)
        out = flambeau.nn.functional.embedding(flambeau.tensor(idx, device=device), wf, padding_idx=padding_idx,
                                               scale_grad_by_freq=True)
        ref = torch.nn.functional.embedding(torch.tensor(idx), wt, padding_idx=padding_idx, scale_grad_by_freq=True)
        assert_same(out, ref, device=device)
        _backward_both(out, ref)
        assert_same(wf.grad, wt.grad, device=device)
    check_module(lambda nn: nn.Embedding(10, 3, scale_grad_by_freq=True), device=device, inputs=[idx],
                 host_reads=True)
    with pytest.raises(NotImplementedError):
        flambeau.nn.functional.embedding(flambeau.tensor(idx), flambeau.zeros(10, 3), sparse=True)
