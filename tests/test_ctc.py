"""The ``ctc`` loss against the forward algorithm in NumPy and against a sum over every path, the
greedy and beam CTC decoders against brute force, and edit distances against a plain dynamic
programme."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.testing import check_loss
from seqkit_plugins.sequence_metrics import edit_distances, label_errors, token_accuracy


def log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def forward_algorithm(logits, labels):
    """-log p(labels | frames) by Graves et al.'s recursion over the labels with blanks (0)
    between and around them: ``logits`` [T, C], ``labels`` a list of ids >= 1."""
    logp = log_softmax(logits)
    extended = [0]
    for label in labels:
        extended += [label, 0]
    steps, states = len(logp), len(extended)
    alpha = np.full((steps, states), -np.inf)
    alpha[0, 0] = logp[0, 0]
    if states > 1:
        alpha[0, 1] = logp[0, extended[1]]
    for t in range(1, steps):
        for s in range(states):
            a = alpha[t - 1, s]
            if s >= 1:
                a = np.logaddexp(a, alpha[t - 1, s - 1])
            if s >= 2 and extended[s] != 0 and extended[s] != extended[s - 2]:
                a = np.logaddexp(a, alpha[t - 1, s - 2])
            alpha[t, s] = a + logp[t, extended[s]]
    end = alpha[-1, -1] if states == 1 else np.logaddexp(alpha[-1, -1], alpha[-1, -2])
    return -end


def collapse(path):
    """A frame path as a labelling: repeats merged, then blanks dropped."""
    return tuple(k for k, _ in itertools.groupby(path) if k != 0)


def labelling_probabilities(logits):
    """p(labelling | frames) of every labelling, summed over all C^T paths."""
    probs = np.exp(log_softmax(logits))
    totals = {}
    for path in itertools.product(range(logits.shape[1]), repeat=len(logits)):
        p = np.prod([probs[t, k] for t, k in enumerate(path)])
        totals[collapse(path)] = totals.get(collapse(path), 0.0) + p
    return totals


CASES = [  # (frames, labels): repeats that need a blank between them, a blank-only target
    (7, [1, 2, 2]),
    (4, [3]),
    (7, [1, 1, 1]),
    (5, []),
    (6, [2, 3, 1, 2]),
]


def test_the_loss_is_the_forward_algorithms_mean_over_sequences():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((len(CASES), 9, 4))  # 9 frames: padding after each case's
    width = max(len(y) for _, y in CASES)
    targets = np.array([y + [0] * (width - len(y)) for _, y in CASES], np.int32)
    mask = np.arange(9)[None] < np.array([[t] for t, _ in CASES])
    got = seqkit.make_loss("ctc")(targets, tf.constant(logits), mask)
    want = np.mean([forward_algorithm(logits[b, :t], y) for b, (t, y) in enumerate(CASES)])
    assert float(got) == pytest.approx(want, rel=1e-5)  # TensorFlow's CTC runs in float32
    assert got.dtype == tf.float64  # the outputs' type


def test_the_forward_algorithm_is_the_sum_over_every_path():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((5, 3))
    totals = labelling_probabilities(logits)
    for labels in ([1], [1, 1], [2, 1], [1, 2, 1], []):
        assert forward_algorithm(logits, labels) == pytest.approx(-np.log(totals[tuple(labels)]))


def test_the_loss_keeps_the_loss_contract():
    targets = np.array([[1, 0], [2, 0], [1, 2]], np.int32)  # fits 1, 2 and 3 frames
    check_loss(seqkit.make_loss("ctc"), targets=targets)


def test_the_loss_has_no_gradient_off_the_mask_and_a_finite_one_on_it():
    rng = np.random.default_rng(2)
    logits = tf.constant(rng.standard_normal((2, 6, 4)), tf.float32)
    mask = np.arange(6)[None] < np.array([[6], [3]])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        value = seqkit.make_loss("ctc")(np.array([[1, 2, 3], [3, 0, 0]]), logits, mask)
    grad = tape.gradient(value, logits).numpy()
    assert np.isfinite(grad).all() and not grad[1, 3:].any() and grad[1, :3].any()


def test_bad_targets_are_one_sentence_errors():
    loss = seqkit.make_loss("ctc")
    with pytest.raises(seqkit.ShapeError, match=r"targets must be \[batch, labels\] integer"):
        loss(np.zeros((2, 3), np.float32), tf.zeros((2, 5, 4)))
    with pytest.raises(seqkit.ShapeError, match=r"outputs must be \[batch, frames, classes\]"):
        loss(np.zeros((2, 3), np.int32), tf.zeros((2, 5)))


def test_greedy_decoding_is_the_best_path_collapsed():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((3, 8, 4)) * 3
    mask = np.arange(8)[None] < np.array([[8], [5], [1]])
    got = seqkit.ctc_greedy_decode(logits, mask)
    for b in range(3):
        best = np.argmax(logits[b, : mask[b].sum()], axis=-1)
        assert tuple(got[b].tolist()) == collapse(best)


def test_beam_decoding_finds_the_most_likely_labelling():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((4, 5, 3))
    found = seqkit.ctc_beam_decode(logits, None, beam_width=64)  # wide: every prefix kept
    for b in range(4):
        totals = labelling_probabilities(logits[b])
        assert tuple(found[b].tolist()) == max(totals, key=totals.get)


def test_beam_and_greedy_differ_where_the_best_path_is_not_the_best_labelling():
    # two frames, p(blank) 0.6 each: the best path is "" (0.36), but "a" has 0.64
    logits = np.log(np.array([[[0.6, 0.4], [0.6, 0.4]]]))
    assert seqkit.ctc_greedy_decode(logits)[0].tolist() == []
    assert seqkit.ctc_beam_decode(logits, beam_width=4)[0].tolist() == [1]


def levenshtein(a, b):
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def test_edit_distances_and_the_label_error_rate():
    rng = np.random.default_rng(5)
    references = [rng.integers(1, 4, size=n) for n in (0, 3, 5, 6)]
    predictions = [rng.integers(1, 4, size=n) for n in (2, 0, 5, 7)]
    want = [
        levenshtein(r.tolist(), p.tolist()) for r, p in zip(references, predictions, strict=True)
    ]
    assert edit_distances(references, predictions).tolist() == want
    assert label_errors(references, predictions) == (float(sum(want)), 14.0)


def test_token_accuracy_counts_positions_and_the_end():
    references = [np.array([1, 2, 3]), np.array([4, 5])]
    predictions = [np.array([1, 2]), np.array([4, 5, 6])]
    # row 1: 1, 2 right, 3 and the end wrong; row 2: 4, 5 right, the end wrong
    assert token_accuracy(references, predictions) == (4.0, 7.0)
