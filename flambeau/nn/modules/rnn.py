"""RNN, LSTM, GRU (multi-layer, optionally bidirectional) and their single-step cells.

The input-to-hidden products of a whole sequence are one matmul per layer and direction;
only the hidden-to-hidden products run step by step. A PackedSequence runs the same loop, each
step on the sequences still running at that step.
"""
import math
import numbers
import warnings

from ... import _ops, _xp
from ..._tensor import Tensor, _make
from ..._ops.views import Transpose
from ...autograd.function import Function
from ...autograd import grad_mode
from ...autograd.grad_mode import no_grad
from ..parameter import Parameter
from .. import functional as F
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_step(mode, gi, h, w_hh, b_hh, c=None, w_hr=None, fused=True):
    """One time step given gi = x W_ih^T + b_ih (N, G*H) and the previous state; w_hr projects an
    LSTM's h (proj_size > 0). An LSTM or GRU step is one node when fused (inside nn.LSTM and nn.GRU,
    where no step is seen), else torch's ops (the cells' outputs show torch's nodes)."""
    gh = F.linear(h, w_hh, b_hh)      # one linear, as torch's cells: autocast casts its bias too
    if mode == "RNN_TANH":
        return (gi + gh).tanh(), None
    if mode == "RNN_RELU":
        return (gi + gh).relu(), None
    if mode == "LSTM":
        if fused:
            h_new, c_new = _LSTMCell.apply(gi, gh, c)
        else:
            i, f, g, o = (gi + gh).chunk(4, 1)
            c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
            h_new = o.sigmoid() * c_new.tanh()
        return (h_new if w_hr is None else h_new.matmul(w_hr.t())), c_new
    if fused:
        return _GRUCell.apply(gi, gh, h), None
    ir, iz, in_ = gi.chunk(3, 1)
    hr, hz, hn = gh.chunk(3, 1)
    r = (ir + hr).sigmoid()
    z = (iz + hz).sigmoid()
    n = (in_ + r * hn).tanh()
    return (1 - z) * n + z * h, None


def _lstm_gates(sigmoid, tanh, gates, c):
    """i, f, g, o, the new cell c' and tanh(c') from the gates' pre-activations (N, 4H) and c."""
    k = gates.shape[1] // 4
    i, f, g, o = (gates[:, j * k:(j + 1) * k] for j in range(4))
    i, f, g, o = sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
    c_new = f * c + i * g
    return i, f, g, o, c_new, tanh(c_new)


class _LSTMCell(Function):
    """h' = o tanh(c'), c' = f c + i g from the gates' pre-activations gi + gh (x's and h's products)
    and c: one node for the dozen pointwise ops of a step, as torch's fused cell."""
    _node_name = "ThnnFusedLstmCellBackward0"

    @staticmethod
    def forward(ctx, gi, gh, c):
        from ..._ops.pointwise import _sigmoid
        xp = _xp.array_module(gi._data)
        i, f, g, o, c_new, tc = _lstm_gates(lambda a: _sigmoid(xp, a), xp.tanh, gi._data + gh._data, c._data)
        ctx.save_for_backward(gi, gh, c)
        ctx.arrays = i, f, g, o, c._data, tc
        return o * tc, c_new

    @staticmethod
    def backward(ctx, grad_h, grad_c):
        if grad_mode.is_grad_enabled():     # a recorded backward: the activations again, as ops
            gi, gh, c = ctx.saved_tensors
            i, f, g, o, _, tc = _lstm_gates(lambda t: t.sigmoid(), lambda t: t.tanh(), gi + gh, c)
            cat = _ops.creation.cat
        else:
            i, f, g, o, c, tc = ctx.arrays
            xp = _xp.array_module(i)
            cat = xp.concatenate
            grad_h, grad_c = (None if t is None else t._data for t in (grad_h, grad_c))
        grad_h = 0 * tc if grad_h is None else grad_h       # an output no loss depends on
        grad_c = 0 * tc if grad_c is None else grad_c
        # d c' = grad_c + grad_h o (1 - tanh(c')^2); then each gate's pre-activation
        dc = grad_c + grad_h * o * (1 - tc * tc)
        d_o = grad_h * tc * o * (1 - o)
        d_gates = cat([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g), d_o], 1)
        d_c = dc * f
        if not grad_mode.is_grad_enabled():
            d_gates, d_c = _make(d_gates), _make(d_c)
        return d_gates, d_gates, d_c


def _gru_gates(sigmoid, tanh, gi, gh):
    """r, z, n and h's share hn from the pre-activations gi (x's product) and gh (h's), (N, 3H) each."""
    k = gi.shape[1] // 3
    ir, iz, in_ = (gi[:, j * k:(j + 1) * k] for j in range(3))
    hr, hz, hn = (gh[:, j * k:(j + 1) * k] for j in range(3))
    r, z = sigmoid(ir + hr), sigmoid(iz + hz)
    return r, z, tanh(in_ + r * hn), hn


class _GRUCell(Function):
    """h' = (1 - z) n + z h, n = tanh(i_n + r h_n), r and z sigmoids of i + h: one node for a step."""
    _node_name = "ThnnFusedGruCellBackward0"

    @staticmethod
    def forward(ctx, gi, gh, h):
        from ..._ops.pointwise import _sigmoid
        xp = _xp.array_module(gi._data)
        r, z, n, hn = _gru_gates(lambda a: _sigmoid(xp, a), xp.tanh, gi._data, gh._data)
        ctx.save_for_backward(gi, gh, h)
        ctx.arrays = r, z, n, hn, h._data
        return n + z * (h._data - n)

    @staticmethod
    def backward(ctx, grad):
        if grad_mode.is_grad_enabled():     # a recorded backward: the activations again, as ops
            gi, gh, h = ctx.saved_tensors
            r, z, n, hn = _gru_gates(lambda t: t.sigmoid(), lambda t: t.tanh(), gi, gh)
            cat = _ops.creation.cat
        else:
            r, z, n, hn, h = ctx.arrays
            cat = _xp.array_module(r).concatenate
            grad = grad._data
        d_n = grad * (1 - z) * (1 - n * n)          # through tanh's pre-activation
        d_r = d_n * hn * r * (1 - r)
        d_z = grad * (h - n) * z * (1 - z)
        d_gi, d_gh, d_h = cat([d_r, d_z, d_n], 1), cat([d_r, d_z, d_n * r], 1), grad * z
        if not grad_mode.is_grad_enabled():
            d_gi, d_gh, d_h = _make(d_gi), _make(d_gh), _make(d_h)
        return d_gi, d_gh, d_h


class _Steps(Function):
    """x[start:stop] for each (start, stop) in bounds along dim 0 (x[start] when squeeze): a
    sequence's steps as one node. Its backward makes the sequence's gradient once; a select per
    step would make each step's gradient as large as the whole sequence (O(L^2) for L steps)."""
    _node_name = "UnbindBackward0"

    @staticmethod
    def forward(ctx, x, bounds, squeeze):
        ctx.bounds, ctx.squeeze, ctx.like = bounds, squeeze, (tuple(x.shape[1:]), x.dtype, x.device)
        a = x._data
        return tuple(a[start] if squeeze else a[start:stop] for start, stop in bounds)

    @staticmethod
    def backward(ctx, *grads):
        rest, dtype, device = ctx.like
        parts = []
        for g, (start, stop) in zip(grads, ctx.bounds):
            if g is None:           # a step no loss depends on
                g = _ops.creation.zeros(rest if ctx.squeeze else (stop - start,) + rest, dtype=dtype, device=device)
            parts.append(g)
        whole = _ops.creation.stack(parts, 0) if ctx.squeeze else _ops.creation.cat(parts, 0)
        return whole, None, None


def _rows(x, start, stop):
    """x[start:stop] along dim 0, x itself when that is all of it (no extra node in the graph)."""
    if x is None or (start == 0 and stop == x.shape[0]):
        return x
    return x[start:stop]


def _cat_rows(parts):
    parts = [p for p in parts if p is not None]
    return parts[0] if len(parts) == 1 else _ops.creation.cat(parts, 0)


def _run_direction(mode, step_inputs, h0, c0, w_hh, b_hh, w_hr, reverse):
    """One layer in one direction. step_inputs[t] = x_t W_ih^T + b_ih for the sequences still
    running at step t: a prefix of the batch that shrinks with t (a PackedSequence's layout; the
    whole batch at every step for padded input). h0, c0: initial states of the whole batch.

    Returns the per-step outputs in time order and the final states, each sequence's taken at
    its own last step: going forward, a sequence's state is set aside when it ends; going
    backward, a sequence joins from its initial state at its last step.
    """
    outputs = [None] * len(step_inputs)
    if not reverse:
        h, c = h0, c0
        ended_h, ended_c = [], []
        for t, gi in enumerate(step_inputs):
            running = gi.shape[0]
            if running < h.shape[0]:
                ended_h.append(h[running:])
                h = h[:running]
                if c is not None:
                    ended_c.append(c[running:])
                    c = c[:running]
            h, c = _rnn_step(mode, gi, h, w_hh, b_hh, c, w_hr)
            outputs[t] = h
        h = _cat_rows([h] + ended_h[::-1])
        c = _cat_rows([c] + ended_c[::-1]) if c is not None else None
        return outputs, h, c
    h = c = None
    running = 0
    for t in range(len(step_inputs) - 1, -1, -1):
        gi = step_inputs[t]
        if gi.shape[0] > running:
            h = _cat_rows([h, _rows(h0, running, gi.shape[0])])
            c = _cat_rows([c, _rows(c0, running, gi.shape[0])]) if c0 is not None else None
            running = gi.shape[0]
        h, c = _rnn_step(mode, gi, h, w_hh, b_hh, c, w_hr)
        outputs[t] = h
    if running < h0.shape[0]:           # no step at all (an empty padded input): the initial state
        h = _cat_rows([h, _rows(h0, running, h0.shape[0])])
        c = _cat_rows([c, _rows(c0, running, c0.shape[0])]) if c0 is not None else None
    return outputs, h, c


class RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")
        for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                                  ("input_size", input_size, int), ("hidden_size", hidden_size, int)):
            if not isinstance(value, kind):
                raise TypeError(f"{name} should be of type {kind.__name__}, got: {type(value).__name__}")
            if kind is int and value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        gate_size = _GATES[mode] * hidden_size
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        num_directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden_size * num_directions
                suffix = "_reverse" if direction == 1 else ""
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(gate_size, layer_input), (gate_size, real_hidden_size)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(gate_size,), (gate_size,)]
                if proj_size > 0:
                    names.append(f"weight_hr_l{layer}{suffix}")
                    shapes.append((proj_size, hidden_size))
                for name, shape in zip(names, shapes):
                    setattr(self, name, Parameter(_ops.creation.empty(shape, device=device, dtype=dtype)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias (and projection, weight_hr) ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        with no_grad():
            for w in self.parameters():
                w.uniform_(-stdv, stdv)

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    def flatten_parameters(self):
        """Kept for API compatibility: flambeau's weights need no contiguous packing."""

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    def _state_shapes(self, batch):
        """Expected shapes of h_0 (and c_0 for an LSTM): h has proj_size features when projecting."""
        layers = self.num_layers * (2 if self.bidirectional else 1)
        h_shape = (layers, batch, self.proj_size if self.proj_size > 0 else self.hidden_size)
        return (h_shape, (layers, batch, self.hidden_size)) if self.mode == "LSTM" else (h_shape,)

    def _check_states(self, states, batch):
        lstm = self.mode == "LSTM"
        for i, (s, expected) in enumerate(zip(states, self._state_shapes(batch))):
            if tuple(s.size()) != expected:       # size(), as PyTorch asks: a tuple given for h_0 fails alike
                what = f"hidden[{i}]" if lstm else "hidden"
                raise RuntimeError(f"Expected {what} size {expected}, got {list(s.shape)}")

    def _check_input(self, input, expected_dim):
        weight = getattr(self, self._flat_weights_names[0])
        if input.dtype != weight.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). "
                             f"Convert input: input.to({weight.dtype}), or convert model: model.to({input.dtype})")
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.shape[-1]}")

    def _run(self, input, hx, batch_sizes=None):
        """input: padded (L, N, H_in), or the data (sum(batch_sizes), H_in) of a PackedSequence given
        its batch_sizes (a list); hx: tuple of (D*layers, N, ·) states. Returns output (laid out as
        input) and the final states."""
        lstm = self.mode == "LSTM"
        num_directions = 2 if self.bidirectional else 1
        if batch_sizes is None:
            def split(gi):
                return list(_Steps.apply(gi, [(t, t + 1) for t in range(gi.shape[0])], True))

            def join(steps, h):
                return (_ops.creation.stack(steps, 0) if steps else
                        _ops.creation.zeros((0,) + tuple(h.shape), dtype=h.dtype, device=h.device))
        else:
            starts = [0]
            for n in batch_sizes[:-1]:
                starts.append(starts[-1] + n)

            def split(gi):
                return list(_Steps.apply(gi, [(start, start + n) for start, n in zip(starts, batch_sizes)], False))

            def join(steps, h):
                return _ops.creation.cat(steps, 0)
        layer_input = input
        h_final, c_final = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(num_directions):
                suffix = "_reverse" if direction == 1 else ""
                w_ih = getattr(self, f"weight_ih_l{layer}{suffix}")
                w_hh = getattr(self, f"weight_hh_l{layer}{suffix}")
                b_ih = getattr(self, f"bias_ih_l{layer}{suffix}") if self.bias else None
                b_hh = getattr(self, f"bias_hh_l{layer}{suffix}") if self.bias else None
                w_hr = getattr(self, f"weight_hr_l{layer}{suffix}") if self.proj_size > 0 else None
                idx = layer * num_directions + direction
                gi_all = F.linear(layer_input, w_ih, b_ih)           # every step's x W_ih^T, one matmul
                steps, h, c = _run_direction(self.mode, split(gi_all), hx[0][idx], hx[1][idx] if lstm else None,
                                             w_hh, b_hh, w_hr, reverse=direction == 1)
                outs.append(join(steps, h))
                h_final.append(h)
                if lstm:
                    c_final.append(c)
            layer_input = outs[0] if num_directions == 1 else _ops.creation.cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        h_n = _ops.creation.stack(h_final, 0)
        return layer_input, (h_n, _ops.creation.stack(c_final, 0)) if lstm else (h_n,)

    def _zero_states(self, batch, like):
        return tuple(_ops.creation.zeros(shape, dtype=like.dtype, device=like.device)
                     for shape in self._state_shapes(batch))

    @staticmethod
    def _lstm_states(hx, reordered):
        """(h_0, c_0) of a packed LSTM call; mistakes fail as they do in PyTorch."""
        if reordered:       # PyTorch first reorders hx[0] and hx[1]: a 1-tuple raises IndexError, extras drop
            return hx[0], hx[1]
        if isinstance(hx, Tensor):
            raise TypeError("lstm() received an invalid combination of arguments - got a Tensor for hx, but expected "
                            "a tuple of Tensors (h_0, c_0)")
        if len(hx) != 2:
            raise RuntimeError("lstm expects two hidden states")
        return tuple(hx)

    def _forward_packed(self, packed, hx):
        """A PackedSequence in, a PackedSequence out; h_0 and h_n in the caller's batch order."""
        from ..utils.rnn import PackedSequence
        lstm = self.mode == "LSTM"
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        sizes = [int(n) for n in batch_sizes.tolist()]
        self._check_input(data, 2)
        if hx is None:
            states = self._zero_states(sizes[0], data)
        else:
            states = self._lstm_states(hx, sorted_indices is not None) if lstm else (hx,)
            if sorted_indices is not None:
                states = tuple(s.index_select(1, sorted_indices) for s in states)
            self._check_states(states, sizes[0])
        output, final = self._run(data, states, sizes)
        if unsorted_indices is not None:
            final = tuple(s.index_select(1, unsorted_indices) for s in final)
        return PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices), (final if lstm else final[0])

    def forward(self, input, hx=None):
        from ..utils.rnn import PackedSequence
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        lstm = self.mode == "LSTM"
        name = {"LSTM": "LSTM", "GRU": "GRU"}.get(self.mode, "RNN")
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D tensor instead")
        batched = input.dim() == 3
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        n = input.shape[1]
        if hx is None:
            states = self._zero_states(n, input)
        else:
            # indexed as PyTorch does: a lone h_0 of one layer, or a 1-tuple, raises IndexError
            states = (hx[0], hx[1]) if lstm else (hx,)
            expected_dim = 3 if batched else 2
            if any(s.dim() != expected_dim for s in states):
                kind = "batched 3-D" if batched else "unbatched 2-D"
                if lstm:
                    dims = ", ".join(f"{s.dim()}-D" for s in states)
                    raise RuntimeError(f"For {kind} input, hx and cx should also be {expected_dim}-D but got "
                                       f"({dims}) tensors")
                raise RuntimeError(f"For {kind} input, hx should also be {expected_dim}-D but got "
                                   f"{states[0].dim()}-D tensor")
            if not batched:
                states = tuple(s.unsqueeze(1) for s in states)
        self._check_input(input, 3)
        if hx is not None:
            self._check_states(states, n)
            if lstm and batched and len(hx) != 2:       # PyTorch's kernel counts the states last
                raise RuntimeError("lstm expects two hidden states")
        output, final = self._run(input, states)
        if not batched:
            output = output.squeeze(1)
            final = tuple(s.squeeze(1) for s in final)
        elif self.batch_first:
            # PyTorch's RNN and GRU kernels transpose their fresh output in place (transpose_'s node);
            # its CPU LSTM (oneDNN) returns a transposed view
            output = Transpose.named("TransposeBackward0" if lstm else "TransposeBackward1").apply(output, 0, 1)
        return output, (final if lstm else final[0])


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    Shape: input (L, N, H_in) (or (N, L, H_in) with batch_first, or (L, H_in)); h_0 (D*num_layers, N, H_out).
    Returns output (L, N, D*H_out) and h_n (D*num_layers, N, H_out).

    Initialization: all weights and biases ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        nl = self.nonlinearity
        super().__init__(mode, *args, **kwargs)
        self.nonlinearity = nl


class LSTM(RNNBase):
    """LSTM: i, f, g, o gates; c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t).

    With proj_size > 0, h_t = W_hr (o * tanh(c_t)): h (and the output) has proj_size features, c keeps
    hidden_size, and each layer and direction gains weight_hr_l{k} of shape (proj_size, hidden_size).

    Returns output and (h_n, c_n).

    Initialization: all weights and biases ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
    """

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """GRU: r, z gates; n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h_t = (1 - z) * n + z * h_{t-1}.

    Initialization: all weights and biases ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    _mode = None

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(_ops.creation.empty((num_chunks * hidden_size, input_size), device=device,
                                                       dtype=dtype))
        self.weight_hh = Parameter(_ops.creation.empty((num_chunks * hidden_size, hidden_size), device=device,
                                                       dtype=dtype))
        if bias:
            self.bias_ih = Parameter(_ops.creation.empty((num_chunks * hidden_size,), device=device, dtype=dtype))
            self.bias_hh = Parameter(_ops.creation.empty((num_chunks * hidden_size,), device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        with no_grad():
            for w in self.parameters():
                w.uniform_(-stdv, stdv)

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def _prepare(self, input, hx, n_states):
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected {self.input_size}")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        n = input.shape[0]
        if hx is None:
            z = _ops.creation.zeros((n, self.hidden_size), dtype=input.dtype, device=input.device)
            states = (z,) * n_states
        else:
            states = tuple(hx) if n_states == 2 else (hx,)
            if not batched:
                states = tuple(s.unsqueeze(0) for s in states)
            for s in states:
                if tuple(s.shape) != (n, self.hidden_size):
                    raise RuntimeError(f"{name}: Expected hidden size ({n}, {self.hidden_size}), got "
                                       f"{list(s.shape)}")
        return input, states, batched

    def forward(self, input, hx=None):
        lstm = self._mode == "LSTM"
        x, states, batched = self._prepare(input, hx, 2 if lstm else 1)
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        mode = self._mode if self._mode != "RNN" else ("RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU")
        h, c = _rnn_step(mode, gi, states[0], self.weight_hh, self.bias_hh, states[1] if lstm else None, fused=False)
        if not batched:
            h = h.squeeze(0)
            c = c.squeeze(0) if c is not None else None
        return (h, c) if lstm else h


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""
    _mode = "RNN"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity


class LSTMCell(RNNCellBase):
    """One LSTM step: returns (h', c')."""
    _mode = "LSTM"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)


class GRUCell(RNNCellBase):
    """One GRU step."""
    _mode = "GRU"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)
