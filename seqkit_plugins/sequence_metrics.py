"""Metrics of predicted sequences against references, as ``(total, count)`` counts (over a data
set a metric is sum(total) / sum(count)). Not a plugin itself (it registers nothing).

    exact_match(references, predictions)        # (rows equal to their reference, rows)
    token_accuracy(references, predictions)     # (ids right in place, reference ids + ends)
    label_errors(references, predictions)       # (edit distance, reference ids): error rate
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf


def exact_match(references: Sequence, predictions: Sequence) -> tuple[float, float]:
    """Rows whose prediction is its reference, id for id, and the number of rows."""
    same = sum(np.array_equal(r, p) for r, p in zip(references, predictions, strict=True))
    return float(same), float(len(references))


def token_accuracy(references: Sequence, predictions: Sequence) -> tuple[float, float]:
    """Position by position, each reference's ids and its end: ``(right, counted)``.

    Reference ``r`` and prediction ``p`` are compared as ``r + [end]`` against ``p + [end]``
    over the ``len(r) + 1`` positions of the first, so that a prediction that stops early or
    runs on loses the positions it gets wrong, and a prediction longer than its reference loses
    the end's position.
    """
    right = counted = 0
    for reference, predicted in zip(references, predictions, strict=True):
        reference, predicted = np.asarray(reference), np.asarray(predicted)
        n = min(len(reference), len(predicted))
        right += int(np.sum(reference[:n] == predicted[:n])) + int(len(reference) == len(predicted))
        counted += len(reference) + 1
    return float(right), float(counted)


def _sparse(rows: Sequence) -> tf.SparseTensor:
    """Rows of ids as a ``[B, max length]`` sparse tensor, as ``tf.edit_distance`` takes them."""
    indices = [(b, t) for b, row in enumerate(rows) for t in range(len(row))]
    values = [int(v) for row in rows for v in row]
    width = max([len(row) for row in rows] + [1])
    return tf.SparseTensor(
        tf.constant(indices, tf.int64, shape=[len(indices), 2]),
        tf.constant(values, tf.int64, shape=[len(values)]),
        [len(rows), width],
    )


def edit_distances(references: Sequence, predictions: Sequence) -> np.ndarray:
    """The Levenshtein distance ``[B]`` from each prediction to its reference (insertions,
    deletions and substitutions of one id each), by ``tf.edit_distance``."""
    if len(references) != len(predictions):
        raise ValueError("edit_distances: as many predictions as references are needed.")
    if not references:
        return np.zeros([0])
    distance = tf.edit_distance(_sparse(predictions), _sparse(references), normalize=False)
    return distance.numpy()


def label_errors(references: Sequence, predictions: Sequence) -> tuple[float, float]:
    """The summed edit distance and the summed reference length: their ratio is the label
    error rate (a prediction with nothing right and nothing extra scores 1)."""
    total = float(np.sum(edit_distances(references, predictions)))
    return total, float(sum(len(r) for r in references))
