"""PackedSequence (pack/pad and friends) and the recurrent layers on packed input, and LSTM's
proj_size, against torch with identical weights: values, final states, and the gradients of the
inputs, the initial states and every parameter."""
import contextlib
import math

import numpy as np
import pytest

import flambeau
from _oracle import assert_same, gradcheck, need_torch, on_device
from _nn_helpers import assert_on_device, check_module, copy_state, no_host_reads

torch = need_torch()
ours_rnn = flambeau.nn.utils.rnn
ref_rnn = torch.nn.utils.rnn


def _pair(array, device, grad=True):
    return (flambeau.tensor(array, device=device, requires_grad=grad),
            torch.tensor(array, requires_grad=grad))


def _assert_packed_same(ours, ref, device):
    assert type(ours).__name__ == "PackedSequence" and len(ours) == 4
    assert_same(ours.data, ref.data, device=device)
    assert_same(ours.batch_sizes, ref.batch_sizes, device="cpu")
    for o, r in ((ours.sorted_indices, ref.sorted_indices), (ours.unsorted_indices, ref.unsorted_indices)):
        assert (o is None) == (r is None)
        if r is not None:
            assert_same(o, r, device=device)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("trailing", [(), (2, 3)])
def test_pack_then_pad_against_torch(batch_first, enforce_sorted, trailing, device):
    rng = np.random.default_rng(0)
    lengths = [5, 3, 3, 1] if enforce_sorted else [2, 5, 1, 3]
    shape = ((4, 5) if batch_first else (5, 4)) + trailing
    x, xr = _pair(rng.standard_normal(shape), device)
    for lens_ours, lens_ref in ((lengths, lengths), (flambeau.tensor(lengths), torch.tensor(lengths))):
        with no_host_reads(device):
            packed = ours_rnn.pack_padded_sequence(x, lens_ours, batch_first, enforce_sorted)
        packed_ref = ref_rnn.pack_padded_sequence(xr, lens_ref, batch_first, enforce_sorted)
        _assert_packed_same(packed, packed_ref, device)
    padded, lens = ours_rnn.pad_packed_sequence(packed, batch_first, padding_value=-2.5, total_length=7)
    padded_ref, lens_ref = ref_rnn.pad_packed_sequence(packed_ref, batch_first, padding_value=-2.5, total_length=7)
    assert_same(padded, padded_ref, device=device)
    assert_same(lens, lens_ref, device="cpu")
    cot = rng.standard_normal(tuple(padded_ref.shape))
    padded.backward(flambeau.tensor(cot, device=device))
    padded_ref.backward(torch.tensor(cot))
    assert_same(x.grad, xr.grad, device=device)
    # the default total_length: the longest sequence
    assert_same(ours_rnn.pad_packed_sequence(packed)[0], ref_rnn.pad_packed_sequence(packed_ref)[0], device=device)


def test_pack_and_pad_gradcheck(device):
    def pack_pad(lib, x):
        packed = lib.nn.utils.rnn.pack_padded_sequence(x, [3, 4, 1], batch_first=True, enforce_sorted=False)
        doubled = type(packed)(packed.data * 2, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
        return lib.nn.utils.rnn.pad_packed_sequence(doubled, padding_value=0.5, total_length=5)[0]
    gradcheck(pack_pad, (3, 4, 2), device=device)
    gradcheck(lambda lib, x: lib.nn.utils.rnn.pack_sequence([x[:3], x[1:]], enforce_sorted=False).data, (4, 2),
              device=device)


def test_pack_sequence_unpack_and_unpad(device):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((n, 2)) for n in (2, 4, 1)]
    seqs = [flambeau.tensor(a, device=device, requires_grad=True) for a in arrays]
    refs = [torch.tensor(a, requires_grad=True) for a in arrays]
    packed, packed_ref = ours_rnn.pack_sequence(seqs, enforce_sorted=False), ref_rnn.pack_sequence(refs, False)
    _assert_packed_same(packed, packed_ref, device)
    unpacked, unpacked_ref = ours_rnn.unpack_sequence(packed), ref_rnn.unpack_sequence(packed_ref)
    assert_same(unpacked, unpacked_ref, device=device)
    sum(((u * (i + 1)) ** 2).sum() for i, u in enumerate(unpacked)).backward()
    sum(((u * (i + 1)) ** 2).sum() for i, u in enumerate(unpacked_ref)).backward()
    assert_same([s.grad for s in seqs], [r.grad for r in refs], device=device)
    sorted_seqs = sorted(seqs, key=len, reverse=True)
    _assert_packed_same(ours_rnn.pack_sequence(sorted_seqs),
                        ref_rnn.pack_sequence(sorted(refs, key=len, reverse=True)), device)
    for batch_first in (False, True):
        padded = ours_rnn.pad_sequence(seqs, batch_first)
        padded_ref = ref_rnn.pad_sequence(refs, batch_first)
        lens = [3, 4, 1]
        assert_same(ours_rnn.unpad_sequence(padded, flambeau.tensor(lens), batch_first),
                    ref_rnn.unpad_sequence(padded_ref.detach().clone(), torch.tensor(lens), batch_first),
                    device=device)
    # the result takes the first sequence's dtype, as torch's
    mixed = ours_rnn.pad_sequence([seqs[0].float(), seqs[1]])
    assert_same(mixed, ref_rnn.pad_sequence([refs[0].float(), refs[1]]), device=device, rtol=1e-6, atol=1e-6)


def test_pack_errors_match_torch(device):
    x = np.arange(12.0).reshape(4, 3)
    cases = [
        (RuntimeError, lambda lib, x: lib.nn.utils.rnn.pack_padded_sequence(x, [1, 3, 2])),       # unsorted
        (RuntimeError, lambda lib, x: lib.nn.utils.rnn.pack_padded_sequence(x, [3, 2, 0])),       # a zero length
        (RuntimeError, lambda lib, x: lib.nn.utils.rnn.pack_padded_sequence(x, [1, 3, 0], enforce_sorted=False)),
        (RuntimeError, lambda lib, x: lib.nn.utils.rnn.pack_padded_sequence(x, [3, 2])),           # too few
        (RuntimeError, lambda lib, x: lib.nn.utils.rnn.pack_padded_sequence(x, lib.tensor([[3, 2, 1]]))),
        (RuntimeError, lambda lib, x: lib.nn.utils.rnn.pack_padded_sequence(x[:0], [1, 1, 1])),    # empty
        (IndexError, lambda lib, x: lib.nn.utils.rnn.pack_padded_sequence(x[0], [1])),
        (ValueError, lambda lib, x: lib.nn.utils.rnn.pad_packed_sequence(
            lib.nn.utils.rnn.pack_padded_sequence(x, [4, 2, 1]), total_length=3)),
        (RuntimeError, lambda lib, x: lib.nn.utils.rnn.pad_sequence([])),
    ]
    for error, fn in cases:
        for lib, xs in ((flambeau, flambeau.tensor(x, device=device)), (torch, torch.tensor(x))):
            with pytest.raises(error):
                fn(lib, xs)
    # lengths and batch_sizes live on the CPU: on a device they are refused, with torch's messages
    if device != "cpu":
        for enforce_sorted in (True, False):
            with pytest.raises(RuntimeError, match="1D CPU int64 tensor, but got 1D cuda:0 Long tensor"):
                ours_rnn.pack_padded_sequence(flambeau.tensor(x, device=device),
                                              flambeau.tensor([3, 2, 1], device=device), enforce_sorted=enforce_sorted)
        with pytest.raises(ValueError, match="batch_sizes should always be on CPU"):
            ours_rnn.PackedSequence(flambeau.zeros(3, device=device), flambeau.tensor([2, 1], device=device))


def test_packed_sequence_container(device):
    x = flambeau.arange(6.0, device=device).reshape(3, 2)
    packed = ours_rnn.pack_padded_sequence(x, [3, 1], enforce_sorted=False)
    ref = ref_rnn.pack_padded_sequence(torch.arange(6.0).reshape(3, 2), [3, 1], enforce_sorted=False)
    assert repr(packed).startswith("PackedSequence(data=tensor(")
    assert packed.is_cuda == (device != "cpu") and packed.to(device) is packed
    as_double = packed.double()
    _assert_packed_same(as_double, ref.double(), device)
    assert as_double.sorted_indices is packed.sorted_indices          # only data changed
    assert packed.long().data.dtype == flambeau.int64 and packed.float() is packed
    on_cpu = packed.cpu()
    _assert_packed_same(on_cpu, ref, "cpu")
    if device != "cpu":
        _assert_packed_same(on_cpu.cuda(), ref, device)
        _assert_packed_same(on_cpu.to(device), ref, device)
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    rebuilt = ours_rnn.PackedSequence((data, batch_sizes), sorted_indices=sorted_indices)
    _assert_packed_same(rebuilt, ref, device)
    perm = [2, 0, 3, 1]
    assert_same(ours_rnn.invert_permutation(flambeau.tensor(perm, device=device)),
                ref_rnn.invert_permutation(torch.tensor(perm)), device=device)
    assert ours_rnn.invert_permutation(None) is None


RNN_CASES = [
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2, "bidirectional": True, "bias": False}),
    ("GRU", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {}),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2}),
]


@pytest.mark.parametrize("kind,kwargs", RNN_CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(RNN_CASES)])
@pytest.mark.parametrize("lengths,enforce_sorted,with_hx", [([2, 5, 1, 3], False, True), ([4, 4, 2], True, False)],
                         ids=["unsorted-hx", "sorted-nohx"])
def test_rnn_on_packed_input_against_torch(kind, kwargs, lengths, enforce_sorted, with_hx, device):
    rng = np.random.default_rng(2)
    torch.manual_seed(0)
    ref = getattr(torch.nn, kind)(3, 4, **kwargs).double()
    ours = getattr(flambeau.nn, kind)(3, 4, **kwargs).double().to(device)
    copy_state(ours, ref, device)
    batch, steps = len(lengths), max(lengths)
    x, xr = _pair(rng.standard_normal((steps, batch, 3)), device)
    packed = ours_rnn.pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)
    packed_ref = ref_rnn.pack_padded_sequence(xr, lengths, enforce_sorted=enforce_sorted)
    lstm = kind == "LSTM"
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    state_shapes = [(layers, batch, kwargs.get("proj_size") or 4)] + ([(layers, batch, 4)] if lstm else [])
    states = [_pair(rng.standard_normal(s), device) for s in state_shapes] if with_hx else []
    hx = (tuple(s for s, _ in states) if lstm else states[0][0]) if with_hx else None
    hx_ref = (tuple(r for _, r in states) if lstm else states[0][1]) if with_hx else None
    # permuting the states by sorted_indices range-checks those device indices (a read by the host)
    with no_host_reads(device) if enforce_sorted else contextlib.nullcontext():
        out, final = ours(packed, hx)
    out_ref, final_ref = ref(packed_ref, hx_ref)
    _assert_packed_same(out, out_ref, device)
    finals = list(final) if lstm else [final]
    finals_ref = list(final_ref) if lstm else [final_ref]
    assert_same(finals, finals_ref, device=device)
    # gradients through the packed output (padded back) and the final states
    padded = ours_rnn.pad_packed_sequence(out, batch_first=True)[0]
    padded_ref = ref_rnn.pad_packed_sequence(out_ref, batch_first=True)[0]
    cots = [rng.standard_normal(tuple(t.shape)) for t in [padded_ref] + finals_ref]
    flambeau.autograd.backward([padded] + finals, [flambeau.tensor(c, device=device) for c in cots])
    torch.autograd.backward([padded_ref] + finals_ref, [torch.tensor(c) for c in cots])
    assert_same(x.grad, xr.grad, device=device)
    for s, r in states:
        assert_same(s.grad, r.grad, device=device)
    ref_params = dict(ref.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(ref_params)
    for name, p in ours.named_parameters():
        assert_same(p.grad, ref_params[name].grad, device=device)


def test_packed_input_errors_match_torch(device):
    torch.manual_seed(0)
    x = np.random.default_rng(3).standard_normal((4, 3, 2))
    for lib in (flambeau, torch):
        dev = device if lib is not torch else "cpu"
        gru = lib.nn.GRU(2, 5).double().to(dev)
        lstm = lib.nn.LSTM(2, 5, proj_size=3).double().to(dev)
        packed = lib.nn.utils.rnn.pack_padded_sequence(lib.tensor(x, device=dev), [4, 2, 1])
        three_d = lib.nn.utils.rnn.PackedSequence(packed.data.unsqueeze(1), packed.batch_sizes)
        with pytest.raises(RuntimeError):
            gru(three_d)
        with pytest.raises(RuntimeError):                   # h_0 for two sequences, three packed
            gru(packed, lib.zeros(1, 2, 5, dtype=lib.float64, device=dev))
        with pytest.raises(RuntimeError):                   # c_0 given proj_size features
            lstm(packed, (lib.zeros(1, 3, 3, dtype=lib.float64, device=dev),) * 2)
        with pytest.raises(ValueError):                     # float32 data, float64 weights
            gru(packed.float())


def test_lstm_proj_size_padded_against_torch(device):
    check_module(lambda nn: nn.LSTM(3, 5, proj_size=2), (4, 2, 3), device=device)
    check_module(lambda nn: nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True, proj_size=3,
                                    bias=False), (2, 4, 3), device=device)
    check_module(lambda nn: nn.LSTM(3, 5, proj_size=2), (4, 3), device=device)          # unbatched
    rng = np.random.default_rng(4)
    h, c = rng.standard_normal((2, 2, 2)), rng.standard_normal((2, 2, 5))
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, 5, bidirectional=True, proj_size=2).double()
    ours = flambeau.nn.LSTM(3, 5, bidirectional=True, proj_size=2).double().to(device)
    copy_state(ours, ref, device)
    x = rng.standard_normal((3, 2, 3))
    states = [_pair(a, device) for a in (h, c)]
    out, (hn, cn) = ours(flambeau.tensor(x, device=device), tuple(s for s, _ in states))
    out_ref, (hn_ref, cn_ref) = ref(torch.tensor(x), tuple(r for _, r in states))
    assert_same([out, hn, cn], [out_ref, hn_ref, cn_ref], device=device)
    (out.sum() + (hn * cn[..., :2]).sum()).backward()
    (out_ref.sum() + (hn_ref * cn_ref[..., :2]).sum()).backward()
    for s, r in states:
        assert_same(s.grad, r.grad, device=device)


def test_lstm_proj_size_parameters_and_init(device):
    ref = torch.nn.LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=2)
    flambeau.manual_seed(0)
    ours = flambeau.nn.LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=2, device=device)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in ref.named_parameters()]
    assert ours._flat_weights_names == ref._flat_weights_names
    assert [[n for n in names] for names in ours._all_weights] == ref._all_weights
    assert repr(ours) == repr(ref)
    assert_on_device(list(ours.parameters()), device)
    bound = 1 / math.sqrt(6)
    for name, p in ours.named_parameters():
        values = p.detach().cpu().numpy()
        assert np.abs(values).max() <= bound and values.std() > bound / 4, name
    for lib in (flambeau, torch):
        for kwargs in ({"proj_size": 6}, {"proj_size": -1}, {"proj_size": 7}):
            with pytest.raises(ValueError):
                lib.nn.LSTM(3, 6, **kwargs)
        for cls in (lib.nn.GRU, lib.nn.RNN):
            with pytest.raises(ValueError):
                cls(3, 6, proj_size=2)
        for args, kwargs in (((3.0, 6), {}), ((3, 6.0), {}), ((3, 6), {"bias": 1}), ((3, 6), {"batch_first": None})):
            with pytest.raises(TypeError):
                lib.nn.LSTM(*args, **kwargs)
        for args in ((0, 6), (3, 6, 0)):
            with pytest.raises(ValueError):
                lib.nn.GRU(*args)


@pytest.mark.parametrize("mode,use", [("LSTM", "output"), ("LSTM", "h_n"), ("LSTM", "c_n"), ("LSTM", "all"),
                                      ("GRU", "output"), ("GRU", "h_n"), ("GRU", "all")])
def test_fused_steps_first_and_second_derivatives(mode, use, device):
    """The fused LSTM and GRU steps (one node per step) and the one-node split of the sequence into
    steps: gradients and second derivatives against torch, whichever outputs the loss uses."""
    def loss(rnn, x):
        out, state = rnn(x)
        h, c = state if mode == "LSTM" else (state, None)
        parts = {"output": [out], "h_n": [h], "c_n": [c], "all": [out, h] + ([c] if c is not None else [])}[use]
        return sum((p * p).sum() for p in parts)

    torch.manual_seed(0)
    ref = getattr(torch.nn, mode)(3, 4, num_layers=2, bidirectional=True).double()
    ours = getattr(flambeau.nn, mode)(3, 4, num_layers=2, bidirectional=True).double()
    copy_state(ours, ref)
    ours = ours.to(device)
    a = np.random.default_rng(1).standard_normal((5, 2, 3))
    results = []
    for lib, lstm in ((flambeau, ours), (torch, ref)):
        x = flambeau.tensor(a, device=device, requires_grad=True) if lib is flambeau else torch.tensor(a, requires_grad=True)
        g, = lib.autograd.grad(loss(lstm, x), x, create_graph=True)
        gg, = lib.autograd.grad((g * g).sum(), x)
        results.append([t.detach().cpu().numpy() for t in (g, gg)])
    for mine, theirs in zip(*results):
        np.testing.assert_allclose(mine, theirs, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("cell,shapes", [("_LSTMCell", ((2, 8), (2, 8), (2, 2))), ("_GRUCell", ((2, 6), (2, 6), (2, 2)))])
def test_fused_cell_gradgradcheck(cell, shapes):
    from flambeau.nn.modules import rnn
    fn = getattr(rnn, cell)
    rng = np.random.default_rng(2)
    ins = [flambeau.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert flambeau.autograd.gradcheck(lambda *t: fn.apply(*t), ins)
    assert flambeau.autograd.gradgradcheck(lambda *t: fn.apply(*t), ins)


def _lstm_state_mistakes(lib, device):
    """A decoder's common slips with LSTM states: h_0 alone, a 1-tuple, three states; padded and packed."""
    torch.manual_seed(0)
    one, two = lib.nn.LSTM(2, 3), lib.nn.LSTM(2, 3, num_layers=2)
    x = lib.zeros(4, 5, 2, device=device)
    h1, h2 = lib.zeros(1, 5, 3, device=device), lib.zeros(2, 5, 3, device=device)
    seqs = [lib.ones(3, 2, device=device), lib.ones(2, 2, device=device)]
    packed = lib.nn.utils.rnn.pack_sequence(seqs)
    unsorted = lib.nn.utils.rnn.pack_sequence(seqs[::-1], enforce_sorted=False)
    z = lib.zeros(1, 2, 3, device=device)
    return {
        "h_0 alone": lambda: one.to(device)(x, h1),
        "h_0 alone, two layers": lambda: two.to(device)(x, h2),
        "1-tuple": lambda: one.to(device)(x, (h1,)),
        "3-tuple": lambda: one.to(device)(x, (h1, h1, h1)),
        "unbatched h_0 alone": lambda: one.to(device)(x[:, 0], h1[:, 0]),
        "unbatched h_0 alone, two layers": lambda: two.to(device)(x[:, 0], h2[:, 0]),
        "packed 1-tuple": lambda: one.to(device)(packed, (z,)),
        "unsorted packed 1-tuple": lambda: one.to(device)(unsorted, (z,)),
        "unsorted packed h_0 alone": lambda: one.to(device)(unsorted, z),
        "GRU given a tuple": lambda: lib.nn.GRU(2, 3).to(device)(x, (h1,)),
        "GRU packed given a tuple": lambda: lib.nn.GRU(2, 3).to(device)(packed, (z,)),
    }


@pytest.mark.parametrize("case", sorted(_lstm_state_mistakes(torch, "cpu")))
def test_lstm_state_mistakes_fail_as_in_pytorch(case, device):
    errors = []
    for lib, dev in ((flambeau, device), (torch, "cpu")):
        with pytest.raises(Exception) as e:
            _lstm_state_mistakes(lib, dev)[case]()
        errors.append((e.type, str(e.value)))
    assert errors[0] == errors[1]


def test_lstm_with_a_tensor_for_its_packed_states_is_a_type_error(device):
    packed = ours_rnn.pack_sequence([flambeau.ones(3, 2, device=device), flambeau.ones(2, 2, device=device)])
    with pytest.raises(TypeError, match="tuple of Tensors"):
        flambeau.nn.LSTM(2, 3).to(device)(packed, flambeau.zeros(1, 2, 3, device=device))
    with pytest.raises(RuntimeError, match="lstm expects two hidden states"):
        flambeau.nn.LSTM(2, 3).to(device)(packed, (flambeau.zeros(1, 2, 3, device=device),) * 3)
    # a list of two is as good as a tuple, and three states for an unsorted packed batch drop the third
    unsorted = ours_rnn.pack_sequence([flambeau.ones(2, 2, device=device), flambeau.ones(3, 2, device=device)],
                                      enforce_sorted=False)
    z = flambeau.zeros(1, 2, 3, device=device)
    assert flambeau.nn.LSTM(2, 3).to(device)(unsorted, (z, z, z))[1][0].shape == (1, 2, 3)
    assert flambeau.nn.LSTM(2, 3).to(device)(flambeau.zeros(4, 2, 2, device=device), [z, z])[1][0].shape == (1, 2, 3)


@pytest.mark.parametrize("case", ["trailing mismatch", "broadcast row", "extra dim", "narrow source",
                                  "bad padding side"])
def test_pad_sequence_copies_each_sequence_as_pytorch_does(case, device):
    # PyTorch copy_()s each sequence into the first one's trailing shape: it broadcasts or fails as copy_
    def run(lib):
        seqs = {"trailing mismatch": [lib.ones(2, 3), lib.ones(1, 4)],
                "broadcast row": [lib.ones(2, 3), 2 * lib.ones(3)],
                "extra dim": [lib.ones(2, 3), lib.ones(1, 1, 3)],
                "narrow source": [lib.ones(2, 3), 3 * lib.ones(1, 1)],
                "bad padding side": [lib.ones(2, 3)]}[case]
        return lib.nn.utils.rnn.pad_sequence(seqs, padding_side="middle" if case == "bad padding side" else "right")
    outcomes = []
    for lib in (on_device(flambeau, device), torch):
        try:
            outcomes.append(run(lib).tolist())
        except Exception as e:
            outcomes.append((type(e), str(e)))
    assert outcomes[0] == outcomes[1]
