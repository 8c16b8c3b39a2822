"""``Streams``: B contiguous streams of a long id array, read when a window needs them.

    inputs = Streams(ids, rows=32, length=n)               # [32, n]: row b is ids[b*n : (b+1)*n]
    targets = Streams(ids, rows=32, length=n, shift=1)     # the same, one token later
    window = inputs[:, 640:704]                            # still lazy: nothing read yet
    np.asarray(window)                                      # [32, 64] int32, read now

``ids`` may be a ``numpy.memmap`` of a token file: a window reads B runs of its length from the
file, so the memory a run holds does not grow with the corpus. A view keeps the rows and steps
it was sliced to (``inputs[8:16]`` is streams 8 to 15: a replica of a distributed run reads
only its own). ``remap`` (an array, old id -> new id) gives the ids of another vocabulary.
"""

from __future__ import annotations

import numpy as np


class Streams:
    """A lazy ``[B, N]`` int32 array of B contiguous streams of a 1-D array ``ids``."""

    ndim = 2
    dtype = np.dtype(np.int32)

    def __init__(self, ids, rows: int, length: int, shift: int = 0, offset: int = 0,
                 remap: np.ndarray | None = None):  # fmt: skip
        self.ids, self.remap = ids, remap
        self.starts = offset + shift + length * np.arange(rows, dtype=np.int64)
        self.columns = (0, length)

    @classmethod
    def _view(cls, base: Streams, starts: np.ndarray, columns: tuple[int, int]) -> Streams:
        view = cls.__new__(cls)
        view.ids, view.remap, view.starts, view.columns = base.ids, base.remap, starts, columns
        return view

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.starts), self.columns[1] - self.columns[0])

    def __len__(self) -> int:
        return len(self.starts)

    def __repr__(self) -> str:
        return f"Streams(shape={self.shape})"

    def __getitem__(self, key):
        rows, steps = key if isinstance(key, tuple) else (key, slice(None))
        if isinstance(rows, int | np.integer):  # one stream: read it
            return np.asarray(self[int(rows) : int(rows) + 1, steps])[0]
        if not isinstance(steps, slice) or steps.step not in (None, 1):
            raise IndexError("Streams take a slice of steps (without a stride).")
        first, last, _ = steps.indices(self.shape[1])
        first = self.columns[0] + first
        columns = (first, max(first, self.columns[0] + last))
        return Streams._view(self, self.starts[rows], columns)

    def __array__(self, dtype=None, copy=None):
        first, last = self.columns
        out = np.empty(self.shape, dtype=np.int32)
        for row, start in enumerate(self.starts):
            part = self.ids[start + first : start + last]
            out[row] = part if self.remap is None else self.remap[part]
        return out if dtype is None else out.astype(dtype)


def materialized(values):
    """``values`` as a NumPy array where it is ``Streams`` (anything else as it is)."""
    return np.asarray(values) if isinstance(values, Streams) else values


def as_tensor(values):
    """``values`` as a tensor, lazy ``Streams`` read now; None stays None."""
    if values is None:
        return None
    import tensorflow as tf

    return tf.convert_to_tensor(materialized(values))


def stream_pair(ids, batch_size: int, remap: np.ndarray | None = None) -> tuple[Streams, Streams]:
    """Inputs and targets (the inputs one token later) of ``batch_size`` streams of equal
    length N = (len(ids) - 1) // batch_size over ``ids``: stream b starts at ``b * N``."""
    length = (len(ids) - 1) // batch_size
    inputs = Streams(ids, batch_size, length, remap=remap)
    return inputs, Streams(ids, batch_size, length, shift=1, remap=remap)
