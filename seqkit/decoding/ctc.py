"""Decoding the per-frame outputs of a model trained with CTC (Graves et al., 2006).

    labels = ctc_greedy_decode(logits, mask)                 # logits [B, T, C], mask [B, T]
    labels = ctc_beam_decode(logits, mask, beam_width=16)    # B arrays of label ids

Class 0 is the blank, as in the ``ctc`` loss (``seqkit_plugins.ctc``): the labels are ids
1..C-1. A frame sequence reads as a labelling by merging repeated ids and then dropping blanks
(``a a - a b -`` is ``a a b``). Greedy decoding takes the most likely class of every frame (the
best path); beam search looks for the most likely labelling, summed over all its alignments,
with TensorFlow's prefix beam search (``tf.nn.ctc_beam_search_decoder``). Frames where
``mask`` is false (padding after a sequence's end) are not read.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from seqkit.errors import ShapeError
from seqkit.validation import whole_number

BLANK = 0  # the blank's class id: the ctc loss' and both decoders'


def _time_major(logits, mask):
    """Logits ``[T, B, C]`` and each sequence's frame count ``[B]``."""
    logits = tf.convert_to_tensor(logits)
    if logits.shape.rank != 3:
        raise ShapeError(
            f"CTC decoding: logits must be [batch, time, classes], got {logits.shape}."
        )
    if mask is None:
        lengths = tf.fill([tf.shape(logits)[0]], tf.shape(logits)[1])
    else:
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    return tf.transpose(tf.cast(logits, tf.float32), [1, 0, 2]), lengths


def _rows(decoded: tf.SparseTensor, batch: int, shift: int = 0) -> list[np.ndarray]:
    """A decoder's sparse ``[B, L]`` result as B arrays of ids (plus ``shift``)."""
    dense = tf.sparse.to_dense(decoded, default_value=-1).numpy()
    rows = [row[row >= 0].astype(np.int32) + shift for row in dense]
    return rows + [np.zeros([0], np.int32)] * (batch - len(rows))


def ctc_greedy_decode(logits, mask=None) -> list[np.ndarray]:
    """The best path of each sequence: argmax per frame, repeats merged, blanks dropped."""
    time_major, lengths = _time_major(logits, mask)
    (decoded,), _ = tf.nn.ctc_greedy_decoder(
        time_major, lengths, merge_repeated=True, blank_index=BLANK
    )
    return _rows(decoded, int(time_major.shape[1]))


def ctc_beam_decode(logits, mask=None, beam_width: int = 16) -> list[np.ndarray]:
    """The most likely labelling of each sequence found by a prefix beam search of
    ``beam_width`` prefixes."""
    beam_width = whole_number("CTC beam search: beam_width", beam_width, minimum=1)
    time_major, lengths = _time_major(logits, mask)
    # TensorFlow's beam search takes the last class as the blank: move class 0 there, so that
    # class k (k >= 1) is k - 1 in the decoder's output
    rolled = tf.roll(time_major, shift=-1, axis=-1)
    decoded, _ = tf.nn.ctc_beam_search_decoder(rolled, lengths, beam_width=beam_width, top_paths=1)
    return _rows(decoded[0], int(time_major.shape[1]), shift=1)
