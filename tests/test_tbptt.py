"""``tbptt_gradients`` against brute force: every truncation strategy, masks, last-step losses.

The reference is built from ``model(...)`` alone, straight from the meaning of a window
``(b, l, e)``: run the model from the initial state over steps ``[0, b)`` without a tape, stop
the gradient at the state it reaches, then under a tape run steps ``[b, e)`` from there and take
the loss over steps ``[l, e)``. It recomputes everything for every window, so it shares nothing
with the walk's bookkeeping (kept states, split forward passes). float64 models throughout.

    .venv/bin/python -m pytest tests/test_tbptt.py -q
"""

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.models.sequence import SequenceModel
from seqkit.training.window_walk import tbptt_gradients

N, B = 11, 3  # sequence length (not a multiple of 3 or 4), batch
V = 5  # vocabulary of the LSTM's embedding and classes of its cross-entropy
ATOL = 1e-9  # float64: the two computations differ by rounding only
LENGTHS = [11, 7, 2]  # a left-aligned mask: one full sequence, one ending mid-window, one short


def make_model(kind, runner="python"):
    tf.random.set_seed(0)
    if kind == "vanilla":
        return SequenceModel(
            "vanilla", input_size=3, hidden_size=4, output_size=2, dtype=tf.float64,
            runner=runner,
        )  # fmt: skip
    return SequenceModel(  # stacked, so the carried state is a tuple of (h, c) per layer
        "lstm", hidden_size=4, output_size=V, num_layers=2, encoder="embedding",
        vocab_size=V, embedding_size=3, dtype=tf.float64, runner=runner,
    )  # fmt: skip


def make_data(kind, last_step=False):
    """``(inputs, targets, loss)``: dense inputs and mse for vanilla, ids and cross-entropy for
    the LSTM."""
    rng = np.random.default_rng(1)
    if kind == "vanilla":
        inputs = tf.constant(rng.normal(size=(B, N, 3)))
        targets = rng.normal(size=(B, 2) if last_step else (B, N, 2))
        loss = seqkit.make_loss("mse", last_step=last_step)
    else:
        inputs = tf.constant(rng.integers(0, V, size=(B, N)), tf.int32)
        targets = rng.integers(0, V, size=(B,) if last_step else (B, N)).astype(np.int32)
        loss = seqkit.make_loss("cross-entropy", last_step=last_step)
    return inputs, tf.constant(targets), loss


def left_aligned(lengths):
    return tf.constant(np.arange(N)[None, :] < np.array(lengths)[:, None])


def cut(x, start, stop):
    return None if x is None else x[:, start:stop]


def dense(grads, variables):
    """Gradients as arrays (IndexedSlices from the embedding made dense, None as zeros)."""
    return [
        np.zeros(v.shape) if g is None else tf.convert_to_tensor(g).numpy()
        for g, v in zip(grads, variables, strict=True)
    ]


def brute_force(model, loss, inputs, targets, truncation, mask=None, initial_state=None):
    """``[((b, l, e), gradients)]``: each window recomputed from scratch, from ``model`` alone."""
    start = model.initial_state(B) if initial_state is None else initial_state
    results = []
    for w in truncation.windows(N):
        b, lf, e = w.backprop_from, w.loss_from, w.end
        if not loss.per_step and e != N:  # a last-step loss: only the window that ends it
            continue
        state = start if b == 0 else model(inputs[:, :b], start, cut(mask, 0, b))[1]
        state = tf.nest.map_structure(tf.stop_gradient, state)
        with tf.GradientTape() as tape:
            outputs, _ = model(inputs[:, b:e], state, cut(mask, b, e))
            if loss.per_step:
                value = loss(targets[:, lf:e], outputs[:, lf - b :], cut(mask, lf, e))
            else:
                value = loss(targets, outputs, cut(mask, b, e))
        grads = tape.gradient(value, model.trainable_variables)
        results.append(((b, lf, e), dense(grads, model.trainable_variables)))
    return results


def full_bptt(model, loss, inputs, targets, mask=None, initial_state=None):
    """One tape over the whole sequence."""
    with tf.GradientTape() as tape:
        outputs, _ = model(inputs, initial_state, mask)
        value = loss(targets, outputs, mask)
    return dense(tape.gradient(value, model.trainable_variables), model.trainable_variables)


def as_arrays(results, model):
    return [
        ((w.backprop_from, w.loss_from, w.end), dense(g, model.trainable_variables))
        for w, g in results
    ]


def assert_same(got, expected, atol=ATOL):
    assert [w for w, _ in got] == [w for w, _ in expected]
    for (window, grads), (_, reference) in zip(got, expected, strict=True):
        assert len(grads) == len(reference)
        for g, r in zip(grads, reference, strict=True):
            np.testing.assert_allclose(g, r, rtol=0, atol=atol, err_msg=f"window {window}")


def norm(grads):
    return float(np.sqrt(sum((g**2).sum() for g in grads)))


# (strategy, options, its windows over N = 11 steps worked out by hand, masks to try): every
# strategy with a mask (the general path); without one only where that adds a path of its own
STRATEGIES = [
    ("online(1,n)", "online", {}, [(0, t, t + 1) for t in range(N)], [True]),
    ("bptt(n,n)", "bptt", {}, [(0, 0, N)], [False, True]),
    ("tbptt(4,4)", "tbptt", {"k1": 4}, [(0, 0, 4), (4, 4, 8), (7, 8, 11)], [True]),
    ("tbptt(3,5)", "tbptt", {"k1": 3, "k2": 5}, [(0, 0, 3), (1, 3, 6), (4, 6, 9), (6, 9, 11)],
     [False, True]),
    ("tbptt(3,7)", "tbptt", {"k1": 3, "k2": 7}, [(0, 0, 3), (0, 3, 6), (2, 6, 9), (4, 9, 11)],
     [True]),
]  # fmt: skip
BRUTE_FORCE_CASES = [
    pytest.param(name, options, windows, masked, id=f"{label}-{'mask' if masked else 'no-mask'}")
    for label, name, options, windows, masks in STRATEGIES
    for masked in masks
]


@pytest.mark.parametrize("name, options, windows, masked", BRUTE_FORCE_CASES)
@pytest.mark.parametrize("kind", ["vanilla", "lstm"])
def test_matches_brute_force(kind, name, options, windows, masked):
    model = make_model(kind)
    inputs, targets, loss = make_data(kind)
    mask = left_aligned(LENGTHS) if masked else None
    truncation = seqkit.make_truncation(name, **options)
    before = model.state_dict()

    results = tbptt_gradients(model, loss, inputs, targets, truncation, mask=mask)

    got = as_arrays(results, model)
    assert [w for w, _ in got] == windows
    assert [w for w, _ in results] == list(truncation.windows(N))
    expected = brute_force(model, loss, inputs, targets, truncation, mask)
    assert_same(got, expected)
    assert all(norm(g) > 1e-3 for _, g in got)  # every window has a gradient worth comparing
    for k, v in model.state_dict().items():  # nothing was updated
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("kind", ["vanilla", "lstm"])
def test_truncation_changes_the_gradient(kind):
    """The comparison above can tell truncated from untruncated gradients: the last window of
    TBPTT(3, 5) is not the gradient of its loss back-propagated to step 0, nor TBPTT(3, 7)'s."""
    model = make_model(kind)
    inputs, targets, loss = make_data(kind)
    (window, grads) = as_arrays(
        tbptt_gradients(model, loss, inputs, targets, seqkit.make_truncation("tbptt", k1=3, k2=5)),
        model,
    )[-1]
    assert window == (6, 9, 11)
    with tf.GradientTape() as tape:
        outputs, _ = model(inputs)
        value = loss(targets[:, 9:], outputs[:, 9:])
    untruncated = dense(tape.gradient(value, model.trainable_variables), model.trainable_variables)
    longer = as_arrays(
        tbptt_gradients(model, loss, inputs, targets, seqkit.make_truncation("tbptt", k1=3, k2=7)),
        model,
    )[-1][1]
    for other in (untruncated, longer):
        assert max(np.abs(g - o).max() for g, o in zip(grads, other, strict=True)) > 1e-6


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize("kind", ["vanilla", "lstm"])
def test_tbptt_n_n_is_full_bptt(kind, masked):
    model = make_model(kind)
    inputs, targets, loss = make_data(kind)
    mask = left_aligned(LENGTHS) if masked else None
    expected = [((0, 0, N), full_bptt(model, loss, inputs, targets, mask))]
    for truncation in (seqkit.make_truncation("tbptt", k1=N), seqkit.make_truncation("bptt")):
        got = tbptt_gradients(model, loss, inputs, targets, truncation, mask=mask)
        assert_same(as_arrays(got, model), expected)


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize("kind", ["vanilla", "lstm"])
def test_tbptt_k_k_is_chunking_by_hand(kind, masked):
    """With n a multiple of k: k-step chunks, the stopped final state of one the start of the
    next. (With n not a multiple of k the last update still reaches back k steps, into the
    chunk before: see test_matches_brute_force[...tbptt(4,4)...].)"""
    k, n = 4, 8
    model = make_model(kind)
    inputs, targets, loss = make_data(kind)
    inputs, targets = inputs[:, :n], targets[:, :n]
    mask = left_aligned(LENGTHS)[:, :n] if masked else None
    expected, state = [], model.initial_state(B)
    for s in range(0, n, k):
        with tf.GradientTape() as tape:
            outputs, final = model(inputs[:, s : s + k], state, cut(mask, s, s + k))
            value = loss(targets[:, s : s + k], outputs, cut(mask, s, s + k))
        grads = tape.gradient(value, model.trainable_variables)
        expected.append(((s, s, s + k), dense(grads, model.trainable_variables)))
        state = tf.nest.map_structure(tf.stop_gradient, final)
    got = tbptt_gradients(
        model, loss, inputs, targets, seqkit.make_truncation("tbptt", k1=k), mask=mask
    )
    assert_same(as_arrays(got, model), expected)


@pytest.mark.parametrize("kind", ["vanilla", "lstm"])
def test_from_a_given_initial_state(kind):
    model = make_model(kind)
    inputs, targets, loss = make_data(kind)
    rng = np.random.default_rng(2)
    state = tuple(
        tuple(tf.constant(rng.normal(size=(B, n))) for n in cell.state_size) for cell in model.cells
    )
    truncation = seqkit.make_truncation("tbptt", k1=3, k2=5)
    got = as_arrays(
        tbptt_gradients(model, loss, inputs, targets, truncation, initial_state=state), model
    )
    assert_same(got, brute_force(model, loss, inputs, targets, truncation, initial_state=state))
    from_zero = as_arrays(tbptt_gradients(model, loss, inputs, targets, truncation), model)
    assert max(np.abs(a - z).max() for a, z in zip(got[0][1], from_zero[0][1], strict=True)) > 1e-6


def test_a_window_past_every_sequence_end_has_zero_gradient():
    """Lengths 8, 5, 2: TBPTT(3, 5)'s last window (6, 9, 11) counts no step; its loss is 0."""
    model = make_model("lstm")
    inputs, targets, loss = make_data("lstm")
    mask = left_aligned([8, 5, 2])
    truncation = seqkit.make_truncation("tbptt", k1=3, k2=5)
    got = as_arrays(tbptt_gradients(model, loss, inputs, targets, truncation, mask=mask), model)
    assert_same(got, brute_force(model, loss, inputs, targets, truncation, mask))
    assert got[-1][0] == (6, 9, 11) and norm(got[-1][1]) == 0.0
    assert all(norm(g) > 1e-3 for _, g in got[:-1])


LAST_STEP_STRATEGIES = [
    pytest.param("bptt", {}, id="bptt"),
    pytest.param("tbptt", {"k1": 3, "k2": 5}, id="tbptt(3,5)"),
]


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize("name, options", LAST_STEP_STRATEGIES)
@pytest.mark.parametrize("kind", ["vanilla", "lstm"])
def test_last_step_loss_updates_only_in_the_final_window(kind, name, options, masked):
    """One label per sequence: the only update is the window that ends the sequence. Every
    sequence here ends inside that window (lengths 11, 10, 8; the last window starts at 6 at
    the latest), so each one's label counts."""
    model = make_model(kind)
    inputs, targets, loss = make_data(kind, last_step=True)
    mask = left_aligned([11, 10, 8]) if masked else None
    truncation = seqkit.make_truncation(name, **options)
    got = as_arrays(tbptt_gradients(model, loss, inputs, targets, truncation, mask=mask), model)
    final = list(truncation.windows(N))[-1]
    assert [w for w, _ in got] == [(final.backprop_from, final.loss_from, final.end)]
    assert_same(got, brute_force(model, loss, inputs, targets, truncation, mask))
    assert norm(got[0][1]) > 1e-3
    if final.backprop_from == 0:  # nothing truncated: the gradient of the whole sequence
        expected = full_bptt(model, loss, inputs, targets, mask)
        assert_same(got, [((0, final.loss_from, N), expected)])


# the graph runner traces once per length it is given, so one strategy whose windows take
# every path of the walk: split forward passes (k2 > k1) and a short last window
@pytest.mark.parametrize("kind", ["vanilla", "lstm"])
def test_python_and_graph_runners_agree(kind):
    python, graph = make_model(kind, runner="python"), make_model(kind, runner="graph")
    graph.load_state_dict(python.state_dict())
    inputs, targets, loss = make_data(kind)
    mask = left_aligned(LENGTHS)
    truncation = seqkit.make_truncation("tbptt", k1=3, k2=5)
    from_python = as_arrays(
        tbptt_gradients(python, loss, inputs, targets, truncation, mask=mask), python
    )
    from_graph = as_arrays(
        tbptt_gradients(graph, loss, inputs, targets, truncation, mask=mask), graph
    )
    assert_same(from_graph, from_python)  # and from_python is checked against brute force above
