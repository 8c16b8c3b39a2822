"""The native kernels (TensorFlow custom ops in C++, ``seqkit_plugins.native_kernels``) against
the python runner: outputs, final states and the gradients of inputs, initial state, weights and
biases agree to 1e-5 for every built-in cell (vanilla with tanh, relu and sigmoid, GRU, LSTM),
with and without masks, eagerly and in a ``tf.function``; in stacked and bidirectional models and
in TBPTT training. Also: the build falls back in one line where it
cannot build or load (turned off, no compiler, an unusable cache), ``runner="auto"`` then runs
the XLA kernels, and a SavedModel export never holds the custom op.

The library is built on first use (cached; ``SEQKIT_CACHE_DIR``). These tests fail, not skip,
where it cannot build: CI builds it from nothing.

    .venv/bin/python -m pytest tests/test_native_kernels.py -q
"""

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.models.sequence import SequenceModel
from seqkit_plugins.native_kernels import LIBRARY
from seqkit_plugins.native_runner import NativeRunner

CELLS = [  # the built-in cells, each of which declares a native kernel
    ("vanilla", {"activation": "tanh"}),
    ("vanilla", {"activation": "relu"}),
    ("vanilla", {"activation": "sigmoid"}),
    ("gru", {}),
    ("lstm", {}),
]
IDS = [f"{name}-{opts.get('activation', '')}".rstrip("-") for name, opts in CELLS]
B, T, N_IN, H = 8, 6, 4, 5  # B 8: two shards of the batch where there are two threads
TOL = 1e-5


@pytest.fixture(scope="module", autouse=True)
def native_library():
    """The library, built or loaded from the cache; a failure to build fails every test."""
    assert LIBRARY.load() is not None, f"the native library did not load: {LIBRARY.status}"


def forward_and_gradients(runner_name, cell, x, state, mask, mode):
    """Outputs, final state, and the gradients of a random linear function of both with respect
    to the inputs, the initial state and the cell's variables, as NumPy arrays."""
    runner = seqkit.make_runner(runner_name)
    rng = np.random.default_rng(7)
    dy = tf.constant(rng.normal(size=(B, T, cell.output_size)), tf.float32)
    ds = [tf.constant(rng.normal(size=(B, n)), tf.float32) for n in cell.state_size]

    def run(x, state):
        with tf.GradientTape() as tape:
            tape.watch([x, state])
            outputs, final = runner.run(cell, x, state, mask)
            loss = tf.reduce_sum(outputs * dy)
            loss += sum(tf.reduce_sum(s * d) for s, d in zip(final, ds, strict=True))
        grads = tape.gradient(loss, [x, state, cell.trainable_variables])
        return outputs, final, grads

    if mode == "tf.function":
        run = tf.function(run)
    return [t.numpy() for t in tf.nest.flatten(run(x, state))]


@pytest.mark.parametrize("mode", ["eager", "tf.function"])
@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize(("name", "options"), CELLS, ids=IDS)
def test_native_matches_python_runner(name, options, masked, mode):
    rng = np.random.default_rng(0)
    cell = seqkit.make_cell(name, N_IN, H, **options)
    for v in cell.trainable_variables:  # biases away from zero, so that they are tested too
        v.assign(v + tf.constant(rng.normal(scale=0.3, size=v.shape), v.dtype))
    x = tf.constant(rng.normal(size=(B, T, N_IN)), tf.float32)
    state = tuple(tf.constant(rng.normal(size=(B, n)), tf.float32) for n in cell.state_size)
    mask = tf.constant(rng.random((B, T)) < 0.6) if masked else None  # gaps, a row of none
    want = forward_and_gradients("python", cell, x, state, mask, "eager")
    got = forward_and_gradients("native", cell, x, state, mask, mode)
    assert len(got) == len(want) == 2 + 2 * len(cell.state_size) + len(cell.trainable_variables)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=TOL)
    if masked:
        assert np.all(got[0][~mask.numpy()] == 0)


@pytest.mark.parametrize(("name", "options"), [CELLS[0], CELLS[3], CELLS[4]], ids=IDS[:1] + IDS[3:])
def test_token_rows_read_by_id_match_the_python_runner_on_the_gathered_rows(name, options):
    """Inputs as ``TokenRows`` (a table of 5 rows, ids [8, 6]): the ops read each step's row of
    the projected table by id and sum its gradient per shard (two shards of 4 rows), against
    the python runner given the gathered tensor; masked, so that a skipped step adds nothing."""
    rng = np.random.default_rng(5)
    cell = seqkit.make_cell(name, N_IN, H, **options)
    table = tf.constant(rng.normal(size=(5, N_IN)), tf.float32)
    ids = tf.constant(rng.integers(0, 5, size=(B, T)), tf.int32)
    state = tuple(tf.constant(rng.normal(size=(B, n)), tf.float32) for n in cell.state_size)
    mask = tf.constant(rng.random((B, T)) < 0.7)
    dy = tf.constant(rng.normal(size=(B, T, cell.output_size)), tf.float32)
    results = []
    for runner, inputs in (("python", lambda: tf.gather(table, ids)), ("native", None)):
        with tf.GradientTape() as tape:
            tape.watch([table, state])
            x = inputs() if inputs else seqkit.TokenRows(table, ids)
            outputs, final = seqkit.make_runner(runner).run(cell, x, state, mask)
            loss = tf.reduce_sum(outputs * dy) + sum(tf.reduce_sum(f) for f in final)
        grads = tape.gradient(loss, [table, state, cell.trainable_variables])
        flat = tf.nest.flatten([outputs, final, grads], expand_composites=False)
        results.append([tf.convert_to_tensor(t).numpy() for t in flat])  # gather's: sparse
    for got, want in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=TOL)


def test_an_id_outside_the_table_is_an_error_that_names_it():
    ops = LIBRARY.load()
    table, h0 = tf.zeros([5, 4 * H]), tf.zeros([2, H])
    ids = tf.constant([[0, 1], [7, 2]], tf.int32)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"id 7 is outside \[0, 5\)"):
        ops.seqkit_lstm_forward(table, ids, h0, h0, tf.zeros([4 * H, H]), tf.zeros([0]))


@pytest.mark.parametrize("name", ["vanilla", "gru", "lstm"])
def test_widths_that_fill_whole_vector_panels_and_row_blocks(name):
    """Hidden 64 and 40 rows: whole panels of the packed weight (48 columns with AVX-512, 16 with
    AVX2) and a partial last one, blocks of 8 (6) rows and their remainders, in both shards."""
    rng = np.random.default_rng(3)
    cell = seqkit.make_cell(name, 3, 64)
    x = tf.constant(rng.normal(size=(40, 4, 3)), tf.float32)
    state = tuple(tf.constant(rng.normal(size=(40, n)), tf.float32) for n in cell.state_size)
    results = []
    for runner in ("python", "native"):
        with tf.GradientTape() as tape:
            tape.watch(state)
            out, final = seqkit.make_runner(runner).run(cell, x, state)
            loss = tf.reduce_sum(out * out) + sum(tf.reduce_sum(s) for s in final)
        grads = tape.gradient(loss, [state, cell.trainable_variables])
        results.append([t.numpy() for t in tf.nest.flatten([out, final, grads])])
    for got, want in zip(results[1], results[0], strict=True):
        # a weight gradient sums 160 products of order 1 here: float32 rounding in another
        # order moves it by up to ~160 ulps (1e-5 of it; measured 7e-6)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=TOL)


@pytest.mark.parametrize("name", ["vanilla", "gru", "lstm"])
def test_one_row_and_one_step_and_an_unknown_length(name):
    """A batch of one (one shard), one step, and a length known only when it runs."""
    cell = seqkit.make_cell(name, N_IN, H)
    runner = seqkit.make_runner("native")
    for shape in [(1, 1, N_IN), (3, 9, N_IN)]:
        x = tf.constant(np.random.default_rng(1).normal(size=shape), tf.float32)
        state = cell.initial_state(shape[0])
        run = tf.function(
            lambda x, state: runner.run(cell, x, state),
            input_signature=[
                tf.TensorSpec([shape[0], None, N_IN], tf.float32),
                tuple(tf.TensorSpec([shape[0], n], tf.float32) for n in cell.state_size),
            ],
        )
        got, got_final = run(x, state)
        want, want_final = seqkit.make_runner("python").run(cell, x, state)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=TOL)
        for g, w in zip(got_final, want_final, strict=True):
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=0, atol=TOL)


@pytest.mark.parametrize(
    ("name", "bidirectional"), [("lstm", False), ("lstm", True), ("gru", True), ("vanilla", True)]
)
def test_stacked_model_with_mask_matches_python_runner(name, bidirectional):
    """Two layers and a head, with a mask: outputs and every parameter's gradient."""
    rng = np.random.default_rng(1)
    tokens = tf.constant(rng.integers(0, 7, size=(B, T)), tf.int32)
    mask = tf.constant(np.arange(T)[None, :] < rng.integers(0, T + 1, size=B)[:, None])
    results = []
    for runner in ["python", "native"]:
        seqkit.set_seed(0)
        model = SequenceModel(
            name, hidden_size=H, output_size=7, num_layers=2, encoder="embedding",
            vocab_size=7, embedding_size=4, runner=runner, bidirectional=bidirectional,
        )  # fmt: skip

        def step(tokens, mask, model=model):
            with tf.GradientTape() as tape:
                outputs, _ = model(tokens, mask=mask)
                loss = tf.reduce_sum(outputs**2)
            grads = tape.gradient(loss, model.trainable_variables)
            return outputs, [tf.convert_to_tensor(g) for g in grads]  # the embedding's: sparse

        results.append([t.numpy() for t in tf.nest.flatten(tf.function(step)(tokens, mask))])
    for got, want in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


@pytest.mark.parametrize("name", ["gru", "lstm"])
def test_tbptt_training_matches_python_runner(name):
    """The same losses, gradient norms and weights after TBPTT(2, 6) updates, which carry the
    state from window to window."""
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 9, size=(2, 17)).astype(np.int32)
    data = seqkit.SequenceBatch(ids[:, :-1], ids[:, 1:])
    runs = []
    for runner in ["python", "native"]:
        seqkit.set_seed(0)
        model = SequenceModel(
            name, hidden_size=H, output_size=9, encoder="onehot", vocab_size=9, runner=runner
        )
        truncation = seqkit.make_truncation("tbptt", k1=2, k2=6)
        trainer = seqkit.Trainer(model, truncation=truncation, optimizer="sgd", lr=0.1)
        logs = trainer.fit(data, steps=3)
        runs.append(([(log["loss"], log["grad_norm"]) for log in logs], model.state_dict()))
    (want_logs, want_params), (got_logs, got_params) = runs
    np.testing.assert_allclose(got_logs, want_logs, rtol=1e-5, atol=TOL)
    for key, want in want_params.items():
        np.testing.assert_allclose(got_params[key], want, rtol=0, atol=TOL)


@pytest.mark.parametrize("name", ["vanilla", "gru", "lstm"])
def test_auto_runs_the_native_kernel_in_a_plain_tf_function(name):
    model = SequenceModel(name, input_size=2, hidden_size=3)
    assert isinstance(model.runner, NativeRunner)
    assert not model.runner.jit_compile and model.runner.custom_ops
    mixed = SequenceModel(name, input_size=2, hidden_size=3, precision="mixed_bfloat16")
    assert isinstance(mixed.runner, NativeRunner)  # test_precision, test_bf16_products
