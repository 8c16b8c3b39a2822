"""The fused runner against the python runner: outputs, final states and gradients agree to
1e-5 for every built-in cell (vanilla with tanh, sigmoid and relu; GRU; LSTM), with and without
masks, eagerly, in a graph and compiled by XLA; in stacked models and in TBPTT training. Also:
``runner="auto"`` picks it for the built-in cells and falls back for other cells, and the
compiled sampler gives the plain graph loop's ids.

    .venv/bin/python -m pytest tests/test_fast_runner.py -q
"""

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.model import SequenceModel
from seqkit.sampling import Sampler, _loop

CELLS = [
    ("vanilla", {"activation": "tanh"}),
    ("vanilla", {"activation": "sigmoid"}),
    ("vanilla", {"activation": "relu"}),
    ("gru", {}),
    ("lstm", {}),
]
IDS = [f"{name}-{opts.get('activation', '')}".rstrip("-") for name, opts in CELLS]
B, T, N_IN, H = 3, 6, 4, 5
TOL = 1e-5


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

    if mode != "eager":
        run = tf.function(run, jit_compile=(mode == "xla"))
    return [t.numpy() for t in tf.nest.flatten(run(x, state))]


@pytest.mark.parametrize("mode", ["eager", "tf.function", "xla"])
@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize(("name", "options"), CELLS, ids=IDS)
def test_fused_matches_python_runner(name, options, masked, mode):
    rng = np.random.default_rng(0)
    cell = seqkit.make_cell(name, N_IN, H, **options)
    for v in cell.trainable_variables:  # biases away from zero, so that they are tested too
        v.assign(v + tf.constant(rng.normal(scale=0.3, size=v.shape), v.dtype))
    x = tf.constant(rng.normal(size=(B, T, N_IN)), tf.float32)
    state = tuple(tf.constant(rng.normal(size=(B, n)), tf.float32) for n in cell.state_size)
    # a gap in the middle, a sequence cut short, and one of length 0
    mask = tf.constant(rng.random((B, T)) < 0.6) if masked else None
    want = forward_and_gradients("python", cell, x, state, mask, "eager")
    got = forward_and_gradients("fused", cell, x, state, mask, mode)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=TOL)
    if masked:
        outputs = got[0]
        assert np.all(outputs[~mask.numpy()] == 0)


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
def test_zero_steps_give_empty_outputs_and_the_initial_state(masked):
    cell = seqkit.make_cell("lstm", N_IN, H)
    state = cell.initial_state(B)
    mask = tf.zeros([B, 0], tf.bool) if masked else None
    outputs, final = seqkit.make_runner("fused").run(cell, tf.zeros([B, 0, N_IN]), state, mask)
    assert outputs.shape == (B, 0, H)
    for s, s0 in zip(final, state, strict=True):
        np.testing.assert_array_equal(s.numpy(), s0.numpy())


def test_unknown_length_runs_the_while_loop():
    """Inside a tf.function with the length unknown, the loop is a tf.while_loop."""
    cell = seqkit.make_cell("gru", N_IN, H)
    x = tf.constant(np.random.default_rng(3).normal(size=(B, T, N_IN)), tf.float32)
    run = tf.function(
        lambda x: seqkit.make_runner("fused").run(cell, x, cell.initial_state(B)),
        input_signature=[tf.TensorSpec([B, None, N_IN], tf.float32)],
    )
    got, _ = run(x)
    want, _ = seqkit.make_runner("python").run(cell, x, cell.initial_state(B))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=TOL)


@pytest.mark.parametrize("name", ["vanilla", "gru", "lstm"])
def test_stacked_model_with_mask_matches_python_runner(name):
    """Two layers and a head, with a mask: outputs and every parameter's gradient."""
    rng = np.random.default_rng(1)
    tokens = tf.constant(rng.integers(0, 7, size=(B, T)), tf.int32)
    mask = tf.constant(rng.random((B, T)) < 0.7)
    results = []
    for runner in ["python", "fused"]:
        seqkit.set_seed(0)
        model = SequenceModel(
            name, hidden_size=H, output_size=7, num_layers=2, encoder="embedding",
            vocab_size=7, embedding_size=4, runner=runner,
        )  # fmt: skip

        @tf.function(jit_compile=model.runner.jit_compile)
        def step(tokens, mask, model=model):
            with tf.GradientTape() as tape:
                outputs, _ = model(tokens, mask=mask)
                loss = tf.reduce_sum(outputs**2)
            grads = tape.gradient(loss, model.trainable_variables)
            return outputs, [tf.convert_to_tensor(g) for g in grads]  # the embedding's: sparse

        results.append([t.numpy() for t in tf.nest.flatten(step(tokens, mask))])
    for got, want in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


@pytest.mark.parametrize(("k1", "k2"), [(4, 4), (2, 6)])
def test_tbptt_training_matches_python_runner(k1, k2):
    """The same losses, gradient norms and weights after a few TBPTT(k1, k2) updates."""
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 9, size=(2, 17)).astype(np.int32)
    data = seqkit.SequenceBatch(ids[:, :-1], ids[:, 1:])
    runs = []
    for runner in ["python", "fused"]:
        seqkit.set_seed(0)
        model = SequenceModel(
            "lstm", hidden_size=H, output_size=9, encoder="onehot", vocab_size=9, runner=runner
        )
        truncation = seqkit.make_truncation("tbptt", k1=k1, k2=k2)
        trainer = seqkit.Trainer(model, truncation=truncation, optimizer="sgd", lr=0.1)
        logs = trainer.fit(data, steps=3)
        runs.append(([(log["loss"], log["grad_norm"]) for log in logs], model.state_dict()))
    (want_logs, want_params), (got_logs, got_params) = runs
    np.testing.assert_allclose(got_logs, want_logs, rtol=1e-5, atol=TOL)
    for key, want in want_params.items():
        np.testing.assert_allclose(got_params[key], want, rtol=0, atol=TOL)


class PlainTanhCell(seqkit.Cell):
    """A third-party cell the fused runner does not know."""

    @property
    def state_size(self):
        return (self.hidden_size,)

    def __call__(self, inputs, state):
        h = tf.tanh(inputs + state[0])
        return h, (h,)


def test_auto_picks_fused_for_built_in_cells_and_falls_back_for_others():
    fused = seqkit.make_runner("fused")
    assert fused.jit_compile and fused.priority > seqkit.make_runner("xla").priority
    for name, options in CELLS:
        model = SequenceModel(name, input_size=2, hidden_size=3, cell_options=options)
        assert type(model.runner) is type(fused)
    assert not fused.supports(PlainTanhCell(3, 3))
    with pytest.raises(seqkit.OptionError) as info:
        fused.run(PlainTanhCell(3, 3), tf.zeros([1, 2, 3]), (tf.zeros([1, 3]),))
    assert str(info.value) == (
        "fused runner: it runs LSTMCell, GRUCell and VanillaCell, not PlainTanhCell; "
        "use runner 'xla' (or 'auto') for other cells."
    )


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_compiled_sampler_gives_the_graph_loops_ids(temperature):
    seqkit.set_seed(0)
    model = SequenceModel(
        "lstm", hidden_size=16, output_size=11, encoder="embedding", vocab_size=11,
        embedding_size=4,
    )  # fmt: skip
    length = 300  # more than one chunk
    compiled = Sampler(model)([1, 2, 3], length, temperature, seed=4)
    graph = Sampler(model, jit_compile=False)([1, 2, 3], length, temperature, seed=4)
    prime = tf.constant([[1, 2, 3]])
    loop = tf.function(_loop)(model, prime, length, temperature, tf.constant(4, tf.int64))
    assert compiled.shape == (length,) and compiled.dtype == np.int32
    np.testing.assert_array_equal(compiled, graph)
    np.testing.assert_array_equal(compiled, loop.numpy()[0])
    again = Sampler(model)([1, 2, 3], length, temperature, seed=4)
    np.testing.assert_array_equal(compiled, again)
    if temperature > 0:
        other = Sampler(model)([1, 2, 3], length, temperature, seed=5)
        assert np.any(other != compiled)
    assert Sampler(model)([1], 0).shape == (0,)
