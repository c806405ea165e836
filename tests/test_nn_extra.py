"""embedding_bag / EmbeddingBag, embedding's scale_grad_by_freq, ctc_loss / CTCLoss, Fold / Unfold,
channel_shuffle / ChannelShuffle, multilabel_margin_loss and triplet_margin_with_distance_loss,
against torch."""
import numpy as np
import pytest

import flambeau
from _oracle import assert_same, check_against_torch, expected_reads, gradcheck, host_reads, need_torch, on_device
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
        assert n[0] == expected_reads(device, 1)
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


# -- ctc_loss ----------------------------------------------------------------------------------
T, N, C = 7, 4, 5
INPUT_LENGTHS = [7, 6, 3, 5]
TARGET_LENGTHS = [3, 2, 0, 3]
TARGETS = np.array([[1, 1, 2, 0], [3, 4, 9, 9], [9, 9, 9, 9], [2, 3, 2, 0]])      # 1, 1: a repeat


def _log_probs(seed=8, dtype=np.float64, shape=(T, N, C)):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _ctc_both(device, lp, targets, input_lengths, target_lengths, as_tensors=True, targets_device=None, **kw):
    """ctc_loss of log_softmax(lp) in flambeau and torch: (ours, ref, our leaf, torch leaf)."""
    lf, lt = _pair(lp, device, grad=True)
    tf = flambeau.tensor(targets, device=targets_device or device)
    if as_tensors:
        args_f = (flambeau.tensor(input_lengths, device=device), flambeau.tensor(target_lengths, device=device))
        args_t = (torch.tensor(input_lengths), torch.tensor(target_lengths))
    else:
        args_f = args_t = (tuple(input_lengths), tuple(target_lengths))
    out = flambeau.nn.functional.ctc_loss(lf.log_softmax(-1), tf, *args_f, **kw)
    ref = torch.nn.functional.ctc_loss(lt.log_softmax(-1), torch.tensor(targets), *args_t, **kw)
    return out, ref, lf, lt


def test_ctc_loss_matches_torch(device):
    concatenated = np.concatenate([row[:n] for row, n in zip(TARGETS, TARGET_LENGTHS)])
    for reduction in ("none", "mean", "sum"):
        for targets, as_tensors in ((TARGETS, True), (concatenated, False), (TARGETS.astype(np.int32), False)):
            out, ref, lf, lt = _ctc_both(device, _log_probs(), targets, INPUT_LENGTHS, TARGET_LENGTHS, as_tensors,
                                         reduction=reduction)
            assert_same(out, ref, rtol=1e-10, device=device)
            _backward_both(out, ref)
            assert_same(lf.grad, lt.grad, rtol=1e-8, atol=1e-12, device=device)
    out, ref, lf, lt = _ctc_both(device, _log_probs(), TARGETS % 4 + 1, INPUT_LENGTHS, TARGET_LENGTHS, blank=0,
                                 reduction="none")
    assert out.grad_fn.name() == "CtcLossBackward0"
    out, ref, lf, lt = _ctc_both(device, _log_probs(), np.where(TARGETS == 4, 0, TARGETS), INPUT_LENGTHS,
                                 TARGET_LENGTHS, blank=4, reduction="sum")
    assert_same(out, ref, rtol=1e-10, device=device)
    _backward_both(out, ref)
    assert_same(lf.grad, lt.grad, rtol=1e-8, atol=1e-12, device=device)


def test_ctc_loss_gradient_of_raw_log_probs(device):
    """The gradient torch gives for log_probs themselves (exp(log_probs) minus the posteriors), float32 too."""
    for dtype, rtol in ((np.float64, 1e-8), (np.float32, 1e-4)):
        lp = np.log(np.random.default_rng(9).dirichlet(np.ones(C), size=(T, N))).astype(dtype)
        lf, lt = _pair(lp, device, grad=True)
        out = flambeau.nn.functional.ctc_loss(lf, flambeau.tensor(TARGETS, device=device), tuple(INPUT_LENGTHS),
                                              tuple(TARGET_LENGTHS), reduction="sum")
        ref = torch.nn.functional.ctc_loss(lt, torch.tensor(TARGETS), tuple(INPUT_LENGTHS), tuple(TARGET_LENGTHS),
                                           reduction="sum")
        assert_same(out, ref, rtol=rtol, device=device)
        _backward_both(out, ref)
        assert_same(lf.grad, lt.grad, rtol=rtol, atol=rtol, device=device)


def test_ctc_loss_infinite_and_zero_infinity(device):
    # sample 1 cannot fit its target in one step, sample 2 has no step at all
    lengths = [7, 1, 0, 5]
    for zero_infinity in (False, True):
        for reduction in ("none", "sum", "mean"):
            out, ref, lf, lt = _ctc_both(device, _log_probs(), TARGETS, lengths, TARGET_LENGTHS,
                                         reduction=reduction, zero_infinity=zero_infinity)
            assert_same(out, ref, rtol=1e-10, device=device)
            _backward_both(out, ref)
            assert_same(lf.grad, lt.grad, rtol=1e-8, atol=1e-12, device=device)     # NaN where torch's is


def test_ctc_loss_unbatched(device):
    lp = _log_probs(shape=(T, C))
    for targets, lengths in (([1, 2, 2], (7, 3)), ([[1, 2, 2, 0]], (6, 3))):
        for reduction in ("none", "mean"):
            for as_tensors in (True, False):
                lf, lt = _pair(lp, device, grad=True)
                il, tl = lengths
                args_f = (flambeau.tensor(il, device=device), flambeau.tensor(tl, device=device)) if as_tensors \
                    else ((il,), (tl,))
                args_t = (torch.tensor(il), torch.tensor(tl)) if as_tensors else ((il,), (tl,))
                out = flambeau.nn.functional.ctc_loss(lf.log_softmax(-1), flambeau.tensor(targets, device=device),
                                                      *args_f, reduction=reduction)
                ref = torch.nn.functional.ctc_loss(lt.log_softmax(-1), torch.tensor(targets), *args_t,
                                                   reduction=reduction)
                assert_same(out, ref, rtol=1e-10, device=device)
                _backward_both(out, ref)
                assert_same(lf.grad, lt.grad, rtol=1e-8, atol=1e-12, device=device)


def test_ctc_loss_targets_on_cpu_and_host_reads(device):
    out, ref, lf, lt = _ctc_both(device, _log_probs(), TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, as_tensors=False,
                                 targets_device="cpu", reduction="mean")
    assert_same(out, ref, rtol=1e-10, device=device)
    lf = flambeau.tensor(_log_probs(), device=device, requires_grad=True)
    with host_reads() as n:
        loss = flambeau.nn.functional.ctc_loss(lf.log_softmax(-1), flambeau.tensor(TARGETS, device=device),
                                               tuple(INPUT_LENGTHS), tuple(TARGET_LENGTHS))
    assert n[0] == expected_reads(device, 1)           # the labels' range check
    with host_reads() as n:
        loss.backward()
    assert n[0] == 0
    assert_on_device([loss, lf], device)


def test_ctc_loss_gradcheck(device):
    # through log_softmax, whose backward cancels the exp(log_probs) term of torch's gradient; the
    # second sample cannot fit its repeated label in two steps: zero_infinity makes it a constant 0
    targets = flambeau.tensor([[1, 3], [2, 2]], device=device)
    gradcheck(lambda lib, x: lib.nn.functional.ctc_loss(x.log_softmax(-1), targets, (5, 2), (2, 2), blank=0,
                                                        reduction="mean", zero_infinity=True), (5, 2, 4), device=device)


def test_ctc_loss_errors(device):
    def ctc(lp_shape=(T, N, C), targets=TARGETS, il=INPUT_LENGTHS, tl=TARGET_LENGTHS, tensors=True, dtype=None,
            **kw):
        def fn(lib):
            lp = lib.zeros(lp_shape, dtype=getattr(lib, dtype or "float64"))
            lengths = (lib.tensor(il), lib.tensor(tl)) if tensors else (tuple(il), tuple(tl))
            return lib.nn.functional.ctc_loss(lp, lib.tensor(targets), *lengths, **kw)
        return fn
    cases = [
        ctc(reduction="foo"), ctc(blank=5), ctc(blank=-1), ctc(il=[8, 1, 1, 1]), ctc(il=[-1, 1, 1, 1]),
        ctc(il=[1, 1, 1]), ctc(tl=[1, 1, 1]), ctc(tl=[5, 1, 1, 1]), ctc(tl=[-1, 1, 1, 1]), ctc(targets=TARGETS[:3]),
        ctc(targets=TARGETS.reshape(-1)), ctc(targets=TARGETS[None]), ctc(lp_shape=(T, N, 1, C)),
        ctc(lp_shape=(T, 0, C), il=[], tl=[], targets=np.zeros((0, 2), np.int64)),
        ctc(dtype="float16"), ctc(dtype="int32"),
        lambda lib: lib.nn.functional.ctc_loss(lib.zeros(T, N, C), lib.tensor(TARGETS), lib.tensor([1.0] * N),
                                               lib.tensor(TARGET_LENGTHS)),
        lambda lib: lib.nn.functional.ctc_loss(lib.zeros(T, N, C), lib.tensor(TARGETS), lib.tensor(INPUT_LENGTHS),
                                               lib.tensor([True] * N)),
    ]
    for fn in cases:
        if fn is cases[-4] or fn is cases[-3]:          # dtypes: torch's class names differ by device
            with pytest.raises(NotImplementedError):
                fn(on_device(flambeau, device))
            with pytest.raises(NotImplementedError):
                fn(torch)
            continue
        _same_error(fn, device)
    for lengths in (((7, 6, 3, 5), torch.tensor(TARGET_LENGTHS)), (7, 3), ((7.5, 1, 1, 1), (1, 1, 1, 1))):
        lengths_f = tuple(flambeau.tensor(v.numpy()) if isinstance(v, torch.Tensor) else v for v in lengths)
        with pytest.raises(TypeError):
            torch.nn.functional.ctc_loss(torch.zeros(T, N, C), torch.tensor(TARGETS), *lengths)
        with pytest.raises(TypeError):
            flambeau.nn.functional.ctc_loss(flambeau.zeros(T, N, C), flambeau.tensor(TARGETS), *lengths_f)
    bad = TARGETS.copy()
    bad[0, 0] = C
    with pytest.raises(RuntimeError, match="target labels"):     # torch reads past its array here
        flambeau.nn.functional.ctc_loss(flambeau.zeros(T, N, C, device=device), flambeau.tensor(bad, device=device),
                                        INPUT_LENGTHS, TARGET_LENGTHS)


# -- channel_shuffle --------------------------------------------------------------
def test_channel_shuffle(device):
    for groups, shape in ((3, (2, 6, 3)), (2, (2, 6, 2, 2)), (1, (1, 4, 3)), (4, (1, 4, 2, 1, 2)), (2, (0, 6, 2))):
        check_against_torch(lambda lib, x: lib.nn.functional.channel_shuffle(x, groups), shape, device=device)
    check_against_torch(lambda lib, x: lib.nn.functional.channel_shuffle(x.transpose(0, 2), 3), (3, 6, 2),
                        device=device)
    x = flambeau.arange(12, device=device).reshape(1, 6, 2).to(flambeau.int32)
    out = flambeau.nn.functional.channel_shuffle(x, 1)
    assert_same(out, torch.nn.functional.channel_shuffle(torch.arange(12).reshape(1, 6, 2).int(), 1), device=device)
    out[0, 0, 0] = 100                      # a new tensor, even where nothing moves
    assert x[0, 0, 0].item() == 0 and out.is_contiguous()
    assert flambeau.nn.functional.native_channel_shuffle(x, 2).tolist() == \
        torch.nn.functional.native_channel_shuffle(torch.arange(12).reshape(1, 6, 2), 2).tolist()
    x = flambeau.randn(2, 6, 3, device=device, dtype=flambeau.float64, requires_grad=True)
    assert flambeau.nn.functional.channel_shuffle(x, 3).grad_fn.name() == "ChannelShuffleBackward0"
    gradcheck(lambda lib, x: lib.nn.functional.channel_shuffle(x, 3) * lib.arange(18.).reshape(1, 6, 3), (2, 6, 3),
              device=device)
    for groups, shape in ((2, (6, 3)), (0, (2, 6, 3)), (-2, (2, 6, 3)), (4, (2, 6, 3)), (2.0, (2, 6, 3)),
                          (True, (2, 6, 3))):
        _same_error(lambda lib: lib.nn.functional.channel_shuffle(lib.zeros(shape), groups), device)


# -- multilabel_margin_loss --------------------------------------------------------------------
MULTILABEL_TARGETS = np.array([[3, 0, -1, 1, 2], [0, 1, 2, 3, 4], [-1, 0, 0, 0, 0], [1, 1, -1, 4, 0],
                               [4, -1, 0, 0, 0]])


def test_multilabel_margin_loss(device):
    tf, tt = _pair(MULTILABEL_TARGETS, device)
    for reduction in ("none", "mean", "sum"):
        check_against_torch(lambda lib, x: lib.nn.functional.multilabel_margin_loss(
            x, tf if lib is not torch else tt, reduction=reduction), (5, 5), device=device)
        check_against_torch(lambda lib, x: lib.nn.functional.multilabel_margin_loss(
            x, tf[4] if lib is not torch else tt[4], reduction=reduction), (5,), device=device)
        check_against_torch(lambda lib, x: lib.nn.functional.multilabel_margin_loss(
            x, lib.tensor(0), reduction=reduction), (), device=device)
        if reduction != "mean":             # torch's mean of no frame is a value it never wrote
            check_against_torch(lambda lib, x: lib.nn.functional.multilabel_margin_loss(
                x, lib.zeros(0, 5, dtype=lib.int64), reduction=reduction), (0, 5), device=device)
    check_against_torch(lambda lib, x: lib.nn.functional.multilabel_margin_loss(
        x, tf if lib is not torch else tt, reduce=False), (5, 5), device=device)
    check_against_torch(lambda lib, x: lib.nn.functional.multilabel_margin_loss(
        x, tf if lib is not torch else tt, size_average=False), (5, 5), device=device)
    check_against_torch(lambda lib, x: lib.nn.functional.multilabel_margin_loss(x, tf if lib is not torch else tt),
                        (5, 5), device=device, dtype="float32", rtol=1e-5)
    gradcheck(lambda lib, x: lib.nn.functional.multilabel_margin_loss(x, tf, reduction="sum"), (5, 5), device=device)


def test_multilabel_margin_loss_errors(device):
    def mlm(x_shape, target, dtype=None, **kw):
        return lambda lib: lib.nn.functional.multilabel_margin_loss(lib.zeros(x_shape, dtype=dtype or lib.float64),
                                                                    lib.tensor(target), **kw)
    y = MULTILABEL_TARGETS[:3]
    for fn in (mlm((3, 5), y[:2]), mlm((3, 5), y[:, :4]), mlm((1, 3, 5), y[None]), mlm((3, 0), y[:, :0]),
               mlm((0,), y[0, :0]), mlm((3, 5), y * 0 - 2), mlm((3, 5), np.minimum(y, 2) * 2), mlm((), 1),
               mlm((3, 5), y, reduction="foo"), mlm((3, 5), y.astype(np.int32)), mlm((3, 5), y.astype(np.float32))):
        _same_error(fn, device)
    with pytest.raises(NotImplementedError):
        mlm((3, 5), y, dtype=flambeau.int32)(on_device(flambeau, device))


# -- triplet_margin_with_distance_loss ---------------------------------------------------------
def test_triplet_margin_with_distance_loss(device):
    def cosine(lib):
        return lambda a, b: 1.0 - lib.nn.functional.cosine_similarity(a, b)
    for reduction in ("none", "mean", "sum"):
        for swap in (False, True):
            check_against_torch(lambda lib, a, p, n: lib.nn.functional.triplet_margin_with_distance_loss(
                a, p, n, swap=swap, reduction=reduction, margin=1.5), (4, 3), (4, 3), (4, 3), device=device)
            check_against_torch(lambda lib, a, p, n: lib.nn.functional.triplet_margin_with_distance_loss(
                a, p, n, distance_function=cosine(lib), swap=swap, reduction=reduction, margin=0.5),
                (4, 3), (4, 3), (4, 3), device=device)
    check_against_torch(lambda lib, a, p, n: lib.nn.functional.triplet_margin_with_distance_loss(a, p, n),
                        (3,), (3,), (3,), device=device)
    for fn in (lambda lib: lib.nn.functional.triplet_margin_with_distance_loss(lib.zeros(2, 3), lib.zeros(2, 3),
                                                                               lib.zeros(3)),
               lambda lib: lib.nn.functional.triplet_margin_with_distance_loss(lib.zeros(3), lib.zeros(3),
                                                                               lib.zeros(3), margin=0),
               lambda lib: lib.nn.functional.triplet_margin_with_distance_loss(lib.zeros(3), lib.zeros(3),
                                                                               lib.zeros(3), reduction="x")):
        _same_error(fn, device)


# -- modules ---------------------------------------------------------------------------------
def test_embedding_bag_module(device):
    idx = INDICES.reshape(2, 5)
    for kw in ({}, {"mode": "sum", "padding_idx": 4}, {"mode": "max", "max_norm": 1.0}):
        check_module(lambda nn: nn.EmbeddingBag(10, 3, **kw), device=device, inputs=[idx], host_reads=True)
    check_module(lambda nn: nn.EmbeddingBag(10, 3, mode="sum", include_last_offset=True), device=device,
                 inputs=[INDICES, np.array([0, 4, 4, 10])], host_reads=True)
    for kw in ({}, {"padding_idx": -1, "mode": "max", "max_norm": 1.0}, {"norm_type": 3.0, "scale_grad_by_freq": True}):
        assert repr(flambeau.nn.EmbeddingBag(10, 3, **kw)) == repr(torch.nn.EmbeddingBag(10, 3, **kw))
    ours = flambeau.nn.EmbeddingBag(10, 3, padding_idx=-2, device=device, dtype=flambeau.float64)
    assert ours.padding_idx == 8 and ours.weight.dtype is flambeau.float64
    assert_on_device(ours.weight, device)
    assert not ours.weight[8].any()
    with pytest.raises(AssertionError):
        flambeau.nn.EmbeddingBag(10, 3, padding_idx=10)
    w = np.random.default_rng(6).standard_normal((10, 3))
    for freeze in (True, False):
        ours = flambeau.nn.EmbeddingBag.from_pretrained(flambeau.tensor(w, device=device), freeze=freeze, mode="sum")
        ref = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), freeze=freeze, mode="sum")
        assert ours.weight.requires_grad is ref.weight.requires_grad is (not freeze)
        assert_same(ours(flambeau.tensor(idx, device=device)), ref(torch.tensor(idx)), device=device)
        assert repr(ours) == repr(ref)
    with pytest.raises(AssertionError):
        flambeau.nn.EmbeddingBag.from_pretrained(flambeau.zeros(3))


def test_ctc_loss_module(device):
    for kw in ({}, {"blank": 4, "reduction": "sum"}, {"reduction": "none", "zero_infinity": True}):
        targets = np.where(TARGETS == 4, 0, TARGETS) if kw.get("blank") == 4 else TARGETS
        lf, lt = _pair(_log_probs(), device, grad=True)
        lengths = ((7, 1, 3, 5), tuple(TARGET_LENGTHS))
        out = flambeau.nn.CTCLoss(**kw)(lf.log_softmax(-1), flambeau.tensor(targets, device=device), *lengths)
        ref = torch.nn.CTCLoss(**kw)(lt.log_softmax(-1), torch.tensor(targets), *lengths)
        assert_same(out, ref, rtol=1e-10, device=device)
        _backward_both(out, ref)
        assert_same(lf.grad, lt.grad, rtol=1e-8, atol=1e-12, device=device)
    assert repr(flambeau.nn.CTCLoss(blank=2)) == repr(torch.nn.CTCLoss(blank=2)) == "CTCLoss()"
    m = flambeau.nn.CTCLoss(blank=3, reduction="sum", zero_infinity=True)
    assert (m.blank, m.reduction, m.zero_infinity) == (3, "sum", True)


def test_fold_unfold_modules(device):
    check_module(lambda nn: nn.Unfold(2, padding=1), (2, 3, 4, 5), device=device)
    check_module(lambda nn: nn.Unfold((2, 3), dilation=(1, 2), stride=2), (1, 2, 6, 7), device=device)
    check_module(lambda nn: nn.Fold((4, 5), 2), (2, 12, 12), device=device)
    check_module(lambda nn: nn.Fold(5, (2, 3), padding=1, stride=(1, 2)), (1, 6, 18), device=device)
    for make in (lambda nn: nn.Fold((4, 5), 2), lambda nn: nn.Fold(4, (2, 3), stride=(1, 2)),
                 lambda nn: nn.Unfold(2, padding=1), lambda nn: nn.Unfold((2, 3), 2, 1, (1, 2))):
        assert repr(make(flambeau.nn)) == repr(make(torch.nn))


def test_channel_shuffle_module(device):
    for groups, shape in ((3, (2, 6, 3)), (2, (2, 6, 2, 2))):
        check_module(lambda nn: nn.ChannelShuffle(groups), shape, device=device)
    assert repr(flambeau.nn.ChannelShuffle(3)) == repr(torch.nn.ChannelShuffle(3))


def test_multilabel_margin_loss_module(device):
    tf, tt = _pair(MULTILABEL_TARGETS, device)
    for kw in ({}, {"reduction": "none"}, {"size_average": False}):
        check_against_torch(lambda lib, x: lib.nn.MultiLabelMarginLoss(**kw)(x, tf if lib is not torch else tt),
                            (5, 5), device=device)
    assert repr(flambeau.nn.MultiLabelMarginLoss()) == repr(torch.nn.MultiLabelMarginLoss())


def test_triplet_margin_with_distance_loss_module(device):
    check_against_torch(lambda lib, a, p, n: lib.nn.TripletMarginWithDistanceLoss(swap=True)(a, p, n),
                        (4, 3), (4, 3), (4, 3), device=device)
    check_against_torch(lambda lib, a, p, n: lib.nn.TripletMarginWithDistanceLoss(
        distance_function=lib.nn.PairwiseDistance(p=1), margin=0.7, reduction="none")(a, p, n),
        (4, 3), (4, 3), (4, 3), device=device)
    for make in (lambda nn: nn.TripletMarginWithDistanceLoss(), lambda nn: nn.TripletMarginWithDistanceLoss(
            distance_function=nn.PairwiseDistance(p=1), margin=2.0)):
        assert repr(make(flambeau.nn)) == repr(make(torch.nn))
    m = flambeau.nn.TripletMarginWithDistanceLoss(distance_function=None, margin=2.0, swap=True, reduction="sum")
    assert isinstance(m.distance_function, flambeau.nn.PairwiseDistance) and (m.margin, m.swap) == (2.0, True)
    _same_error(lambda lib: lib.nn.TripletMarginWithDistanceLoss(margin=-1.0), device)
