"""Variable-length sequences: padding, and PackedSequence with pack/pad in both directions.

Packing and padding each gather rows with one index_select whose index is computed on the host
from the lengths (which torch keeps on the CPU) and is in range by construction: autograd flows
through them, the data stays on its device, and no device value is read back.
"""
from collections import namedtuple

import numpy as np

from ... import _dtype, _ops
from ..._tensor import Tensor
from ..functional import _select_in_range

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]

_UNSORTED_LENGTHS = ("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can "
                     "pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this "
                     "requirement if you do not need ONNX exportability.")


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Sequences packed time step by time step, longest first.

    data (sum(batch_sizes), *): at step t, one row for each of the batch_sizes[t] sequences still running.
    batch_sizes: int64, always on the CPU. sorted_indices / unsorted_indices: the permutation from the
    caller's batch order to the packed order and back (int64, on data's device), or None when the batch
    came sorted. Built by pack_padded_sequence and pack_sequence, not by hand.
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:          # PackedSequence((data, batch_sizes), sorted_indices)
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        elif batch_sizes.device.type != "cpu":
            raise ValueError("batch_sizes should always be on CPU. Instances of PackedSequence should never be "
                             "created manually. They should be instantiated by functions like pack_sequence and "
                             "pack_padded_sequences in nn.utils.rnn. "
                             "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data):
        """self if data is self.data, else a copy holding data; the indices follow data's device and
        batch_sizes stays on the CPU."""
        if data is self.data:
            return self

        def follow(t):
            return None if t is None else t.to(data.device)
        return type(self)(data, self.batch_sizes, follow(self.sorted_indices), follow(self.unsorted_indices))

    def to(self, *args, **kwargs):
        """Converts data as Tensor.to does (self when nothing changes)."""
        return self._with_data(self.data.to(*args, **kwargs))

    def cuda(self, *args, **kwargs):
        return self._with_data(self.data.cuda(*args, **kwargs))

    def cpu(self, *args, **kwargs):
        return self._with_data(self.data.cpu(*args, **kwargs))

    def pin_memory(self):
        return type(self)(self.data.pin_memory(), self.batch_sizes,
                          None if self.sorted_indices is None else self.sorted_indices.pin_memory(),
                          None if self.unsorted_indices is None else self.unsorted_indices.pin_memory())

    def double(self):
        return self.to(dtype=_dtype.float64)

    def float(self):
        return self.to(dtype=_dtype.float32)

    def half(self):
        return self.to(dtype=_dtype.float16)

    def long(self):
        return self.to(dtype=_dtype.int64)

    def int(self):
        return self.to(dtype=_dtype.int32)

    def short(self):
        return self.to(dtype=_dtype.int16)

    def char(self):
        return self.to(dtype=_dtype.int8)

    def byte(self):
        return self.to(dtype=_dtype.uint8)

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return self.data.is_pinned()


def invert_permutation(permutation):
    """The inverse of a 1-D permutation tensor (None for None)."""
    if permutation is None:
        return None
    output = _ops.creation.empty_like(permutation)
    output.scatter_(0, permutation, _ops.creation.arange(permutation.numel(), device=permutation.device))
    return output


def _check_long_vector(t):
    """What torch's packing kernels demand of lengths and batch_sizes: 1-D int64 on the CPU."""
    if t.dim() != 1 or t.device.type != "cpu" or t.dtype != _dtype.int64:
        type_name = {_dtype.int64: "Long", _dtype.int32: "Int", _dtype.float32: "Float",
                     _dtype.float64: "Double"}.get(t.dtype, str(t.dtype).replace("torch.", ""))
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got {t.dim()}D {t.device} "
                           f"{type_name} tensor")


def _int64_cpu(values):
    return _ops.creation.tensor(np.ascontiguousarray(values, dtype=np.int64), dtype=_dtype.int64)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) (or (B, T, *)) of sequences with the given lengths.

    lengths: a list or a CPU tensor. With enforce_sorted=False the batch is sorted by decreasing length
    first (sorted_indices records how); with True the lengths must already decrease.
    """
    if isinstance(lengths, Tensor):
        lengths = lengths.to(dtype=_dtype.int64)
    else:
        lengths = _ops.creation.as_tensor(lengths, dtype=_dtype.int64, device="cpu")
    if input.dim() < 2:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    _check_long_vector(lengths)
    if lengths.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    sorted_indices = unsorted_indices = None
    if enforce_sorted:
        columns = np.arange(len(lengths))
    else:
        lengths, sorted_indices = _ops.sorting.sort(lengths, descending=True)
        columns = np.asarray(sorted_indices.tolist(), dtype=np.int64)
        # both permutations made here, on the host: inverting on the device would read it back
        sorted_indices = sorted_indices.to(input.device)
        unsorted_indices = _int64_cpu(np.argsort(columns)).to(input.device)
    lens = np.asarray(lengths.tolist(), dtype=np.int64)
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if len(lens) != batch if enforce_sorted else len(lens) > batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} "
                           f"(batch_size={batch})")
    if lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if np.any(lens[1:] > lens[:-1]):
        raise RuntimeError(_UNSORTED_LENGTHS)
    batch_sizes = (lens[None, :] > np.arange(lens[0])[:, None]).sum(1)
    # Rows of the time steps the input holds (torch drops lengths past its end the same way),
    # time-major, the sequences of each step in packed order.
    t_idx, j_idx = np.nonzero(lens[None, :] > np.arange(min(int(lens[0]), steps))[:, None])
    column = columns[j_idx]
    flat_rows = column * steps + t_idx if batch_first else t_idx * batch + column
    flat = input.reshape((steps * batch,) + tuple(input.shape[2:]))
    data = _select_in_range(flat, 0, flat_rows)
    return PackedSequence(data, _int64_cpu(batch_sizes), sorted_indices, unsorted_indices)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Inverse of pack_padded_sequence: (padded (T, B, *) or (B, T, *), lengths int64 on the CPU),
    the batch back in the order it had before packing."""
    data, batch_sizes = sequence.data, sequence.batch_sizes
    max_seq_length = batch_sizes.shape[0]
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {max_seq_length}")
        max_seq_length = total_length
    _check_long_vector(batch_sizes)
    sizes = np.asarray(batch_sizes.tolist(), dtype=np.int64)
    if len(sizes) == 0:
        raise RuntimeError("pad_packed_sequence: batch_sizes is empty")
    n_rows, batch = int(sizes.sum()), int(sizes[0])
    if n_rows > data.shape[0]:
        raise RuntimeError(f"shape '[{len(sizes)}, {batch}]' is invalid: the packed data has {data.shape[0]} rows "
                           f"and batch_sizes sum to {n_rows}")
    # index[t, j]: the data row of sequence j at step t, or n_rows (the padding row appended below)
    cols = np.arange(batch)
    offsets = np.cumsum(sizes) - sizes
    index = np.full((max_seq_length, batch), n_rows, dtype=np.int64)
    index[:len(sizes)] = np.where(cols[None, :] < sizes[:, None], offsets[:, None] + cols[None, :], n_rows)
    lengths = (sizes[None, :] > cols[:, None]).sum(1)
    if sequence.unsorted_indices is not None:
        # back to the caller's batch order; torch reads these indices on the host here too
        order = np.asarray(sequence.unsorted_indices.cpu().tolist(), dtype=np.int64).reshape(-1)
        if order.size and (order.min() < 0 or order.max() >= batch):
            bad = order.max() if order.max() >= batch else order.min()
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={batch}")
        index, lengths = index[:, order], lengths[order]
    trailing = tuple(data.shape[1:])
    padding = _ops.creation.full((1,) + trailing, padding_value, dtype=data.dtype, device=data.device)
    rows = _ops.creation.cat([data[:n_rows], padding], 0)
    padded = _select_in_range(rows, 0, index.reshape(-1)).reshape((max_seq_length, index.shape[1]) + trailing)
    return (padded.transpose(0, 1) if batch_first else padded), _int64_cpu(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shape (L_i, *) into (L_max, B, *) (or (B, L_max, *)), padding with padding_value;
    the result has the first sequence's dtype."""
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    max_len = max(s.shape[0] for s in sequences)
    dtype = sequences[0].dtype
    trailing = tuple(sequences[0].shape[1:])
    padded = []
    for s in sequences:
        n = s.shape[0]
        if tuple(s.shape) != (n,) + trailing:       # PyTorch copy_()s each into its slot: broadcast or refused
            s = _ops.creation.empty((n,) + trailing, dtype=dtype, device=s.device).copy_(s)
        s = s.to(dtype)
        if n == max_len:
            padded.append(s)
            continue
        fill = _ops.creation.full((max_len - n,) + tuple(s.shape[1:]), padding_value, dtype=dtype, device=s.device)
        padded.append(_ops.creation.cat([s, fill] if padding_side == "right" else [fill, s], 0))
    out = _ops.creation.stack(padded, 0)
    return out if batch_first else out.transpose(0, 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences padded_sequences holds, each cut to its length.

    Unlike torch, which transposes padded_sequences in place when batch_first is False, the argument
    is left as it was.
    """
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:max(int(n), 0)] for seq, n in zip(padded_sequences, lengths, strict=True)]


def pack_sequence(sequences, enforce_sorted=True):
    """pack_padded_sequence(pad_sequence(sequences), their lengths)."""
    lengths = _ops.creation.as_tensor([v.shape[0] for v in sequences], device="cpu")
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences a PackedSequence holds, in their original order."""
    padded_sequences, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded_sequences, lengths, batch_first=True)
