"""The scan runner against the python runner: outputs, final states and the gradients of the
inputs, the initial state and every variable agree to 1e-5 (float32) for mingru, minlstm (both
variants) and a plugin-style cell defined here (no seqkit change), with and without masks,
eagerly, in a graph and under XLA; in stacked, bidirectional models with dropout; in TBPTT
training with carried state; and at T = 4,096, where a product of a's underflows.

    .venv/bin/python -m pytest -n 0 tests/test_scan_runner.py -q
"""

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.models.sequence import SequenceModel
from seqkit.ops import gate_blocks, glorot_uniform, linear
from seqkit_plugins.linear_scan import linear_scan
from seqkit_plugins.scan import ScanRunner

B, T, N_IN, H = 3, 7, 4, 5
TOL = 1e-5


def decay_coefficients(projected):
    """a_t = sigmoid(u), b_t = tanh(v): a plugin's own recurrence."""
    u, v = tf.split(projected, 2, axis=-1)
    return tf.sigmoid(u), tf.tanh(v)


def decay_output(h, projected):
    u, _ = tf.split(projected, 2, axis=-1)
    return tf.tanh(h) * (1.0 + u)


class DecayCell(seqkit.ProjectedCell):
    """A plugin-style cell, not built in: it declares the linear form, and its output is a
    function of h and the projected inputs (tanh(h) * (1 + u)), not h itself."""

    def __init__(self, input_size, hidden_size, *, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        self.weight_ih = tf.Variable(gate_blocks(glorot_uniform, 2, hidden_size, input_size))
        self.bias_ih = tf.Variable(tf.zeros([2 * hidden_size]))

    @property
    def state_size(self):
        return (self.hidden_size,)

    def project_inputs(self, inputs):
        return linear(inputs, self.weight_ih, self.bias_ih)

    @property
    def linear_recurrence(self):
        return seqkit.LinearRecurrence(decay_coefficients, output=decay_output)

    def step(self, projected, state):
        return self.linear_recurrence.step(projected, state)


CELLS = [
    pytest.param("mingru", {}, id="mingru"),
    pytest.param("minlstm", {}, id="minlstm"),
    pytest.param("minlstm", {"log_space": True}, id="minlstm-log-space"),
    pytest.param("decay", {}, id="plugin-cell"),
]


def make_test_cell(name, options, rng, input_size=N_IN, hidden_size=H):
    if name == "decay":
        cell = DecayCell(input_size, hidden_size)
    else:
        cell = seqkit.make_cell(name, input_size, hidden_size, **options)
    for v in cell.trainable_variables:  # biases away from zero, so that they are tested too
        v.assign(v + tf.constant(rng.normal(scale=0.3, size=v.shape), v.dtype))
    return cell


def forward_and_gradients(runner, cell, x, state, mask, mode="eager"):
    """Outputs, final state, and the gradients of a random linear function of both with respect
    to the inputs, the initial state and the cell's variables, as NumPy arrays."""
    rng = np.random.default_rng(7)
    steps = x.shape[1]
    dy = tf.constant(rng.normal(size=(x.shape[0], steps, cell.output_size)), tf.float32)
    ds = [tf.constant(rng.normal(size=s.shape), tf.float32) for s in state]

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


def assert_all_close(got, want, tol=TOL, to_scale=False):
    """Each array to ``tol`` (relative and absolute); ``to_scale``: the absolute part ``tol`` of
    the array's largest value where that is above 1 (a gradient summed over thousands of steps
    in float32 rounds at about 1e-6 of its scale, and an element far below the scale carries
    that much absolutely)."""
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        scale = max(1.0, float(np.abs(w).max(initial=0.0))) if to_scale else 1.0
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol * scale)


@pytest.mark.parametrize("mode", ["eager", "tf.function", "xla"])
@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize(("name", "options"), CELLS)
def test_scan_matches_python_runner(name, options, masked, mode):
    rng = np.random.default_rng(0)
    cell = make_test_cell(name, options, rng)
    x = tf.constant(rng.normal(size=(B, T, N_IN)), tf.float32)
    state = (tf.constant(rng.normal(size=(B, H)), tf.float32),)
    mask = tf.constant(rng.random((B, T)) < 0.6) if masked else None  # gaps, short, empty
    want = forward_and_gradients(seqkit.make_runner("python"), cell, x, state, mask)
    got = forward_and_gradients(seqkit.make_runner("scan"), cell, x, state, mask, mode)
    assert_all_close(got, want)
    if masked:
        assert np.all(got[0][~mask.numpy()] == 0)


@pytest.mark.parametrize("steps", [1, 16, 17, 33])  # one step; whole blocks; a partial block
def test_scan_matches_python_runner_at_block_boundaries(steps):
    rng = np.random.default_rng(steps)
    cell = make_test_cell("mingru", {}, rng)
    x = tf.constant(rng.normal(size=(2, steps, N_IN)), tf.float32)
    state = (tf.constant(rng.normal(size=(2, H)), tf.float32),)
    want = forward_and_gradients(seqkit.make_runner("python"), cell, x, state, None)
    got = forward_and_gradients(seqkit.make_runner("scan"), cell, x, state, None)
    assert_all_close(got, want)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["tf.function", "xla"])  # the blocked scan; the loop
@pytest.mark.parametrize("forget", ["fast", "slow"])
def test_scan_matches_python_runner_at_4096_steps(forget, mode):
    """T = 4,096. "fast": a_t near 0.5, so the product of the a's (2^-4096) underflows to 0 and
    a naive h_t = A_t (h0 + sum b_s / A_s) gives inf; "slow": a_t near 1 (long memory)."""
    rng = np.random.default_rng(4)
    tf.random.set_seed(0)  # the cell's initial weights, before make_test_cell's shift of them
    cell = make_test_cell("mingru", {}, rng, hidden_size=3)
    shift = 0.0 if forget == "fast" else -6.0  # 1 - z = sigmoid(-k): near 1 for k near -6
    cell.bias_ih.assign(tf.concat([tf.fill([3], shift), tf.zeros([3])], 0))
    x = tf.constant(rng.normal(scale=0.3, size=(2, 4096, N_IN)), tf.float32)
    state = (tf.constant(rng.normal(size=(2, 3)), tf.float32),)
    mask = tf.constant(np.arange(4096)[None] < np.array([[4096], [3000]]))
    a, _ = cell.linear_recurrence.coefficients(cell.project_inputs(x))
    assert (np.prod(a.numpy().astype(np.float32), axis=1) == 0).any() == (forget == "fast")
    want = forward_and_gradients(seqkit.make_runner("python"), cell, x, state, mask)
    got = forward_and_gradients(seqkit.make_runner("scan"), cell, x, state, mask, mode)
    assert all(np.isfinite(g).all() for g in got)
    assert_all_close(got, want, to_scale=True)


def scanned(a, b, h0, compiled, axis):
    """``linear_scan`` eagerly (the blocked scan) or compiled by XLA (the loop) of time-major
    ``a, b``, given to it with time along ``axis``; h time-major."""
    a, b = (np.moveaxis(v, 0, axis) for v in (a, b))
    args = [tf.constant(v, tf.float32) for v in (a, b, h0)]
    scan = tf.function(linear_scan, jit_compile=True) if compiled else linear_scan
    return np.moveaxis(scan(*args, axis=axis).numpy(), axis, 0)


@pytest.mark.parametrize("axis", [0, 1], ids=["time-major", "batch-major"])
@pytest.mark.parametrize("compiled", [False, True], ids=["blocked", "xla-loop"])
def test_linear_scan_matches_a_float64_loop_when_products_underflow(compiled, axis):
    rng = np.random.default_rng(5)
    a = rng.uniform(0.0, 0.6, size=(4096, 2, 3))
    b = rng.normal(size=(4096, 2, 3))
    h, expected = rng.normal(size=(2, 3)), []
    h0 = h
    for t in range(4096):
        h = a[t] * h + b[t]
        expected.append(h)
    got = scanned(a, b, h0, compiled, axis)
    np.testing.assert_allclose(got, np.stack(expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("compiled", [False, True], ids=["blocked", "xla-loop"])
@pytest.mark.parametrize("steps", [1, 3, 100, 2048, 5000])
@pytest.mark.parametrize("axis", [0, 1], ids=["time-major", "batch-major"])
def test_linear_scan_matches_a_float64_loop_at_every_block_length(steps, compiled, axis):
    """Blocks of ~sqrt(T), of 32, or of T / 128 (5,000: 79 blocks of 64, the last padded)."""
    rng = np.random.default_rng(steps)
    a, b = rng.uniform(0.5, 1.0, size=(2, steps, 2, 3))
    h, expected = rng.normal(size=(2, 3)), []
    h0 = h
    for t in range(steps):
        h = a[t] * h + b[t]
        expected.append(h)
    got = scanned(a, b, h0, compiled, axis)
    np.testing.assert_allclose(got, np.stack(expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["one-way", "bidirectional"])
def test_stacked_model_with_mask_and_dropout_matches_python_runner(bidirectional):
    """Two layers, dropout between them, a head and a mask: outputs and every gradient."""
    rng = np.random.default_rng(1)
    tokens = tf.constant(rng.integers(0, 7, size=(B, T)), tf.int32)
    mask = tf.constant(np.arange(T)[None, :] < np.array([T, 4, 1])[:, None])  # ends differ
    results = []
    for runner in ["python", "scan"]:
        seqkit.set_seed(0)
        model = SequenceModel(
            "minlstm", hidden_size=H, output_size=7, num_layers=2, encoder="embedding",
            vocab_size=7, embedding_size=4, runner=runner, bidirectional=bidirectional,
            dropout=0.3, initial_state="learned",
        )  # fmt: skip
        perturb = np.random.default_rng(9)  # the same for both models: biases, learned state
        for v in model.trainable_variables:
            v.assign(v + tf.constant(perturb.normal(scale=0.1, size=v.shape), v.dtype))

        @tf.function(jit_compile=True)  # both: XLA draws other dropout masks than TF does
        def step(tokens, mask, model=model):
            with tf.GradientTape() as tape:
                outputs, final = model(tokens, mask=mask, training=True)
                loss = tf.reduce_sum(outputs**2) + sum(tf.reduce_sum(s[0]) for s in final)
            grads = tape.gradient(loss, model.trainable_variables)
            return outputs, final, [tf.convert_to_tensor(g) for g in grads]

        results.append([t.numpy() for t in tf.nest.flatten(step(tokens, mask))])
    assert_all_close(results[1], results[0])


def test_mixed_bfloat16_scan_under_xla_stays_near_float32():
    """``mixed_bfloat16``: bfloat16 projections, the recurrence carried in float32; outputs and
    gradients within bfloat16 rounding of the float32 python runner's, over 64 steps."""
    rng = np.random.default_rng(3)
    tokens = tf.constant(rng.integers(0, 7, size=(B, 64)), tf.int32)
    results = []
    for runner, precision in [("python", "float32"), ("scan", "mixed_bfloat16")]:
        seqkit.set_seed(0)
        model = SequenceModel(
            "mingru", hidden_size=H, output_size=7, encoder="embedding", vocab_size=7,
            embedding_size=4, runner=runner, precision=precision,
        )  # fmt: skip

        @tf.function(jit_compile=runner == "scan")
        def step(tokens, model=model):
            with tf.GradientTape() as tape:
                outputs, _ = model(tokens, training=True)
                loss = tf.reduce_mean(tf.cast(outputs, tf.float32) ** 2)
            grads = tape.gradient(loss, model.trainable_variables)
            return tf.cast(outputs, tf.float32), [tf.convert_to_tensor(g) for g in grads]

        results.append([t.numpy() for t in tf.nest.flatten(step(tokens))])
    for got, want in zip(results[1], results[0], strict=True):
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, want, rtol=0, atol=0.03 * np.abs(want).max())


@pytest.mark.parametrize(("k1", "k2"), [(2, 6), (4, 4)])
def test_tbptt_training_matches_python_runner(k1, k2):
    """The same losses, gradient norms and weights after TBPTT(k1, k2) updates, the state
    carried across windows."""
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 9, size=(2, 17)).astype(np.int32)
    data = seqkit.SequenceBatch(ids[:, :-1], ids[:, 1:])
    runs = []
    for runner in ["python", "scan"]:
        seqkit.set_seed(0)
        model = SequenceModel(
            "mingru", hidden_size=H, output_size=9, encoder="onehot", vocab_size=9, runner=runner
        )
        truncation = seqkit.make_truncation("tbptt", k1=k1, k2=k2)
        trainer = seqkit.Trainer(model, truncation=truncation, optimizer="sgd", lr=0.5)
        logs = trainer.fit(data, steps=4)
        runs.append(([(log["loss"], log["grad_norm"]) for log in logs], model.state_dict()))
    (want_logs, want_params), (got_logs, got_params) = runs
    np.testing.assert_allclose(got_logs, want_logs, rtol=TOL, atol=TOL)
    for key, want in want_params.items():
        np.testing.assert_allclose(got_params[key], want, rtol=0, atol=TOL)


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
def test_zero_steps_give_empty_outputs_and_the_initial_state(masked):
    cell = seqkit.make_cell("mingru", N_IN, H)
    state = (tf.ones([B, H]),)
    mask = tf.zeros([B, 0], tf.bool) if masked else None
    outputs, (final,) = seqkit.make_runner("scan").run(cell, tf.zeros([B, 0, N_IN]), state, mask)
    assert outputs.shape == (B, 0, H)
    np.testing.assert_array_equal(final.numpy(), state[0].numpy())


@pytest.mark.parametrize("mode", ["tf.function", "xla"])  # the doubling scan; the loop
def test_unknown_length_scans_in_a_while_loop(mode):
    cell = seqkit.make_cell("minlstm", N_IN, H)
    x = tf.constant(np.random.default_rng(3).normal(size=(B, 21, N_IN)), tf.float32)
    runner = ScanRunner()
    run = tf.function(
        lambda x: runner.run(cell, x, cell.initial_state(B)),
        input_signature=[tf.TensorSpec([B, None, N_IN], tf.float32)],
        jit_compile=mode == "xla",
    )
    got, _ = run(x)
    want, _ = seqkit.make_runner("python").run(cell, x, cell.initial_state(B))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=TOL, atol=TOL)


def test_a_plugin_cell_that_declares_the_form_gets_the_scan_runner():
    registry = seqkit.plugins.registry.default_registry()
    runner = seqkit.models.runner_choice.resolve_runner("auto", [DecayCell(2, 3)], registry)
    assert isinstance(runner, ScanRunner)


def test_a_cell_that_declares_no_linear_recurrence_is_refused_in_one_sentence():
    scan = seqkit.make_runner("scan")
    cell = seqkit.make_cell("gru", 3, 3)
    assert not scan.supports(cell)
    with pytest.raises(seqkit.OptionError) as info:
        scan.run(cell, tf.zeros([1, 2, 3]), (tf.zeros([1, 3]),))
    assert str(info.value) == (
        "scan runner: GRUCell declares no linear recurrence (its linear_recurrence is None), so "
        "it cannot run as a scan; use runner 'graph' (or 'auto') for it."
    )
