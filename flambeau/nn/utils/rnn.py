"""Padding variable-length sequences: pad_sequence, and PackedSequence (a container only)."""
from collections import namedtuple

from ... import _ops

__all__ = ["PackedSequence", "pad_sequence", "unpad_sequence"]


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Marks packed input; flambeau's recurrent layers take padded tensors instead."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shape (L_i, *) into (L_max, B, *) (or (B, L_max, *)), padding with padding_value."""
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    max_len = max(s.shape[0] for s in sequences)
    trailing = tuple(sequences[0].shape[1:])
    out = _ops.creation.full((len(sequences), max_len) + trailing, padding_value, dtype=sequences[0].dtype,
                             device=sequences[0].device)
    padded = []
    for s in sequences:
        n = s.shape[0]
        if n == max_len:
            padded.append(s)
            continue
        fill = _ops.creation.full((max_len - n,) + trailing, padding_value, dtype=s.dtype, device=s.device)
        padded.append(_ops.creation.cat([s, fill] if padding_side == "right" else [fill, s], 0))
    out = _ops.creation.stack(padded, 0)
    return out if batch_first else out.transpose(0, 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:int(n)] for seq, n in zip(padded_sequences, lengths)]
