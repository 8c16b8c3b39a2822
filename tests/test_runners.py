"""Runners (python, graph, xla) and SequenceModel's stack: the unroll code, apart from real
cells and with them; stacked layers and shape errors (tests/test_sequence_model.py has the
encoders, state dicts, PyTorch parity and runner "auto").

Fake cells with a step checkable by hand test the loop itself: masks, carried state, zero
outputs, empty sequences. The real cells are then checked against the same cell stepped by hand
in a Python loop, and the model against its layers run one after the other.

    .venv/bin/python -m pytest tests/test_runners.py -q
"""

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.models.sequence import SequenceModel

RUNNERS = ["python", "graph", "xla"]
MODES = ["eager", "tf.function"]


# -- fakes -------------------------------------------------------------------------------------


class SumCell(seqkit.Cell):
    """state' = state + x, output = 2 state'; state_size (n,). No variables, no projection."""

    def __init__(self, size, dtype=tf.float64):
        super().__init__(size, size, dtype=dtype)

    @property
    def state_size(self):
        return (self.hidden_size,)

    def __call__(self, inputs, state):
        (total,) = state
        total = total + inputs
        return 2.0 * total, (total,)


class CountingCell(seqkit.ProjectedCell):
    """A projected cell with a two-tensor state and an output wider than its state.

    project_inputs(x) = 10 x; step: a' = a + p, c' = c + 1 (a step counter, [B, 1]);
    output = [a', c'] (output_size n + 1). A runner that called the cell on unprojected inputs,
    or projected twice, would get a multiple of 10 wrong.
    """

    def __init__(self, size, dtype=tf.float64):
        super().__init__(size, size, dtype=dtype)
        self.projected_shapes = []

    @property
    def state_size(self):
        return (self.hidden_size, 1)

    @property
    def output_size(self):
        return self.hidden_size + 1

    def project_inputs(self, inputs):
        self.projected_shapes.append(tuple(inputs.shape))
        return 10.0 * inputs

    def step(self, projected, state):
        a, c = state
        a, c = a + projected, c + 1.0
        return tf.concat([a, c], axis=-1), (a, c)


def sum_cell_reference(x, s0, mask):
    """SumCell unrolled with NumPy: masked steps add nothing and output zero."""
    keep = np.ones(x.shape[:2], bool) if mask is None else mask
    total, outputs = s0.copy(), np.zeros_like(x)
    for t in range(x.shape[1]):
        total = np.where(keep[:, t, None], total + x[:, t], total)
        outputs[:, t] = np.where(keep[:, t, None], 2.0 * total, 0.0)
    return outputs, total


def unroll(runner_name, cell, inputs, state, mask, mode):
    """Run ``runner_name``'s unroll eagerly or inside a tf.function (XLA-compiled for xla)."""
    runner = seqkit.make_runner(runner_name)

    def run(inputs, state, mask):
        return runner.run(cell, inputs, state, mask)

    if mode == "tf.function":
        run = tf.function(run, jit_compile=runner.jit_compile)
    outputs, final = run(tf.constant(inputs), tuple(tf.constant(s) for s in state), mask)
    return outputs.numpy(), tuple(s.numpy() for s in final)


# -- the loop, with fake cells -----------------------------------------------------------------

X = np.array(
    [
        [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
        [[1.0, -1.0], [2.0, -2.0], [4.0, -4.0]],
        [[7.0, 7.0], [7.0, 7.0], [7.0, 7.0]],
    ]
)
S0 = np.array([[0.0, 0.0], [10.0, 20.0], [-1.0, 1.0]])
MASK = np.array([[True, True, True], [True, True, False], [False, False, False]])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("runner", RUNNERS)
def test_fake_cell_by_hand(runner, mode):
    """Outputs and final state of SumCell, worked out by hand, with and without a mask; the
    third sequence has length 0 (mask all false): its state is the initial one, outputs zero."""
    cell = SumCell(2)
    outputs, (final,) = unroll(runner, cell, X, (S0,), None, mode)
    np.testing.assert_array_equal(
        outputs,
        [
            [[2, 4], [8, 12], [18, 24]],
            [[22, 38], [26, 34], [34, 26]],
            [[12, 16], [26, 30], [40, 44]],
        ],
    )
    np.testing.assert_array_equal(final, [[9, 12], [17, 13], [20, 22]])

    outputs, (final,) = unroll(runner, cell, X, (S0,), tf.constant(MASK), mode)
    np.testing.assert_array_equal(
        outputs,
        [
            [[2, 4], [8, 12], [18, 24]],
            [[22, 38], [26, 34], [0, 0]],
            [[0, 0], [0, 0], [0, 0]],
        ],
    )
    np.testing.assert_array_equal(final, [[9, 12], [13, 17], [-1, 1]])


@pytest.mark.parametrize("runner", RUNNERS)
def test_fake_cell_random_against_numpy_with_gaps_in_the_mask(runner):
    """A mask need not be a prefix: a false step anywhere keeps the state and outputs zero."""
    rng = np.random.default_rng(1)
    x, s0 = rng.normal(size=(3, 7, 4)), rng.normal(size=(3, 4))
    mask = rng.random((3, 7)) < 0.6
    outputs, (final,) = unroll(runner, SumCell(4), x, (s0,), tf.constant(mask), "eager")
    expected_outputs, expected_final = sum_cell_reference(x, s0, mask)
    np.testing.assert_allclose(outputs, expected_outputs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(final, expected_final, rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("runner", RUNNERS)
def test_projected_cell_two_state_tensors_and_wider_output(runner, mode):
    cell = CountingCell(2)
    a0, c0 = S0, np.array([[0.0], [100.0], [5.0]])
    outputs, (a, c) = unroll(runner, cell, X, (a0, c0), tf.constant(MASK), mode)
    expected_a = np.array([[90, 120], [40, -10], [-1, 1]])  # a0 + 10 * (sum of true steps)
    np.testing.assert_array_equal(a, expected_a)
    np.testing.assert_array_equal(c, [[3], [102], [5]])  # c0 + number of true steps
    np.testing.assert_array_equal(
        outputs,
        [
            [[10, 20, 1], [40, 60, 2], [90, 120, 3]],
            [[20, 10, 101], [40, -10, 102], [0, 0, 0]],
            [[0, 0, 0], [0, 0, 0], [0, 0, 0]],
        ],
    )
    # projected once for all steps, never step by step
    assert cell.projected_shapes and all(s == (3, 3, 2) for s in cell.projected_shapes)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
def test_zero_steps_give_empty_outputs_and_the_initial_state(runner, mode, masked):
    cell = CountingCell(2)
    x = np.zeros((3, 0, 2))
    mask = tf.zeros([3, 0], tf.bool) if masked else None
    c0 = np.array([[1.0], [2.0], [3.0]])
    outputs, (a, c) = unroll(runner, cell, x, (S0, c0), mask, mode)
    assert outputs.shape == (3, 0, 3)
    np.testing.assert_array_equal(a, S0)
    np.testing.assert_array_equal(c, c0)


# -- real cells --------------------------------------------------------------------------------

CELLS = ["vanilla", "gru", "lstm"]
B, T, N_IN, H = 3, 5, 4, 5
RAGGED = np.array([[1] * 5, [1] * 3 + [0] * 2, [0] * 5], dtype=bool)  # lengths 5, 3, 0


def by_hand(cell, x, state, mask):
    """The cell called step by step in a Python loop (``cell(x_t, state)``, no runner)."""
    state, outputs = tuple(state), []
    for t in range(x.shape[1]):
        output, new_state = cell(x[:, t], state)
        if mask is not None:
            keep = mask[:, t, None]
            output = tf.where(keep, output, tf.zeros_like(output))
            new_state = tuple(tf.where(keep, n, o) for n, o in zip(new_state, state, strict=True))
        outputs.append(output)
        state = tuple(new_state)
    return tf.stack(outputs, axis=1), state


def forward_and_gradients(unroll_fn, cell, x, state, mask):
    """Outputs, final state and the gradient of a loss that reads both, w.r.t. the cell."""
    with tf.GradientTape() as tape:
        outputs, final = unroll_fn(cell, x, state, mask)
        weights = tf.cast(tf.range(1, outputs.shape[-1] + 1), outputs.dtype)
        loss = tf.reduce_sum(tf.sin(outputs) * weights) + sum(tf.reduce_sum(s**2) for s in final)
    grads = tape.gradient(loss, cell.trainable_variables)
    return outputs, final, grads


@pytest.fixture(scope="module")
def real_inputs():
    rng = np.random.default_rng(2)
    x = tf.constant(rng.normal(size=(B, T, N_IN)), tf.float32)
    return x, rng


# every cell eagerly with and without a mask and in a tf.function with one; XLA compiles are
# slow, so the unmasked tf.function case is LSTM's alone
REAL_CASES = [
    pytest.param(name, masked, mode, id=f"{name}-{'mask' if masked else 'no-mask'}-{mode}")
    for name in CELLS
    for masked, mode in [(False, "eager"), (True, "eager"), (True, "tf.function")]
] + [pytest.param("lstm", False, "tf.function", id="lstm-no-mask-tf.function")]


@pytest.mark.parametrize("name, masked, mode", REAL_CASES)
def test_real_cells_runners_agree_with_the_cell_stepped_by_hand(name, masked, mode, real_inputs):
    x, rng = real_inputs
    tf.random.set_seed(3)
    cell = seqkit.make_cell(name, N_IN, H)
    state = tuple(tf.constant(rng.normal(size=(B, n)), tf.float32) for n in cell.state_size)
    mask = tf.constant(RAGGED) if masked else None
    ref_out, ref_final, ref_grads = forward_and_gradients(by_hand, cell, x, state, mask)
    assert np.abs(ref_out.numpy()).max() > 0.05  # a real signal to compare
    for runner_name in RUNNERS:
        runner = seqkit.make_runner(runner_name)

        def run(x, state, mask, runner=runner):
            return forward_and_gradients(runner.run, cell, x, state, mask)

        if mode == "tf.function":
            run = tf.function(run, jit_compile=runner.jit_compile)
        out, final, grads = run(x, state, mask)
        np.testing.assert_allclose(out.numpy(), ref_out.numpy(), rtol=0, atol=1e-6)
        assert len(final) == len(ref_final)
        for s, r in zip(final, ref_final, strict=True):
            np.testing.assert_allclose(s.numpy(), r.numpy(), rtol=0, atol=1e-6)
        if masked:  # the empty sequence keeps its initial state; its outputs are zero
            for s, s0 in zip(final, state, strict=True):
                np.testing.assert_array_equal(s.numpy()[2], s0.numpy()[2])
            np.testing.assert_array_equal(out.numpy()[1, 3:], 0.0)
        for g, r in zip(grads, ref_grads, strict=True):
            np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=0, atol=1e-5)


# -- SequenceModel ------------------------------------------------------------------------------


def linear_head(model, h):
    return h @ model.head_weight.numpy().T + model.head_bias.numpy()


@pytest.mark.parametrize("runner", ["python", "graph"])
@pytest.mark.parametrize("name", ["vanilla", "lstm"])
def test_stacked_model_is_its_layers_one_after_the_other(name, runner):
    tf.random.set_seed(4)
    model = SequenceModel(
        name, input_size=N_IN, hidden_size=H, output_size=3, num_layers=2,
        dtype=tf.float64, runner=runner,
    )  # fmt: skip
    model.head_bias.assign(tf.constant([0.5, -1.0, 2.0], tf.float64))  # not the zero it starts at
    rng = np.random.default_rng(5)
    x = tf.constant(rng.normal(size=(B, T, N_IN)))
    state = tuple(
        tuple(tf.constant(rng.normal(size=(B, n))) for n in cell.state_size) for cell in model.cells
    )
    mask = tf.constant(RAGGED)
    outputs, final = model(x, state, mask)

    h1, final1 = by_hand(model.cells[0], x, state[0], mask)
    h2, final2 = by_hand(model.cells[1], h1, state[1], mask)
    np.testing.assert_allclose(outputs.numpy(), linear_head(model, h2.numpy()), atol=1e-12)
    for got, want in zip(final, (final1, final2), strict=True):
        for s, r in zip(got, want, strict=True):
            np.testing.assert_allclose(s.numpy(), r.numpy(), atol=1e-12)
    # past a sequence's end the cells output zero, so the model outputs the head's bias
    np.testing.assert_allclose(outputs.numpy()[2], np.tile([0.5, -1.0, 2.0], (T, 1)), atol=1e-12)
    # model.step: one step through every layer, the first step of each unmasked sequence
    y0, _ = model.step(x[:, 0], state)
    np.testing.assert_allclose(y0.numpy()[:2], outputs.numpy()[:2, 0], atol=1e-12)


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("runner", RUNNERS)
def test_model_shape_errors(runner):
    model = SequenceModel("lstm", input_size=4, hidden_size=3, num_layers=2, runner=runner)
    cases = [
        (
            lambda: model(tf.zeros([2, 4])),
            "SequenceModel: dense inputs must be [batch, time, 4], got shape (2, 4).",
        ),
        (
            lambda: model(tf.zeros([2, 3, 5])),
            "runner: inputs have 5 features but the cell takes 4.",
        ),
        (
            lambda: model(tf.zeros([2, 3, 4]), model.initial_state(2)[:1]),
            "SequenceModel: initial_state has 1 layers, the model has 2.",
        ),
        (
            lambda: model(tf.zeros([2, 3, 4]), ((tf.zeros([2, 3]),), model.initial_state(2)[1])),
            "runner: the state has 1 tensors, the cell expects 2 (state_size (3, 3)).",
        ),
    ]
    for thunk, message in cases:
        with pytest.raises(seqkit.ShapeError) as info:
            thunk()
        assert str(info.value) == message


@pytest.mark.parametrize("runner", RUNNERS)
def test_runner_shape_errors(runner):
    cell = seqkit.make_cell("vanilla", 4, 3)
    run = seqkit.make_runner(runner).run
    state = cell.initial_state(2)
    cases = [
        (
            lambda: run(cell, tf.zeros([2, 4]), state),
            "runner: inputs must be [batch, time, features], got shape (2, 4).",
        ),
        (
            lambda: run(cell, tf.zeros([2, 3, 4]), state, tf.ones([2, 3, 1], tf.bool)),
            "runner: mask must be [batch, time], got shape (2, 3, 1).",
        ),
        (
            lambda: run(cell, tf.zeros([2, 3, 4]), state + state),
            "runner: the state has 2 tensors, the cell expects 1 (state_size (3,)).",
        ),
    ]
    for thunk, message in cases:
        with pytest.raises(seqkit.ShapeError) as info:
            thunk()
        assert str(info.value) == message


def test_encoder_takes_integer_ids():
    model = SequenceModel("gru", hidden_size=3, encoder="embedding", vocab_size=5, embedding_size=2)
    with pytest.raises(seqkit.ShapeError) as info:
        model(tf.zeros([2, 3]))
    assert str(info.value) == "SequenceModel: the embedding encoder takes integer ids, got float32."


@pytest.mark.parametrize("runner", ["graph", "fused"])
def test_a_compiled_runner_lets_go_of_a_cell_nobody_holds(runner):
    import gc
    import weakref

    made = seqkit.make_runner(runner)
    cell = seqkit.make_cell("vanilla", 2, 3)
    made.run(cell, tf.zeros([1, 4, 2]), cell.initial_state(1))
    gone = weakref.ref(cell)
    del cell
    gc.collect()
    assert gone() is None  # the runner's cache of compiled functions held it for ever
