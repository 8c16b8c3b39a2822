"""The fused runner against the python runner: outputs, final states and gradients agree to
1e-5 for every cell that declares its recurrence (the built-in vanilla with tanh, sigmoid and
relu, GRU and LSTM; the example plugin's JANET; a test cell with a peephole variable, h second
in its state and an output that is no state), on the hand-written kernels and on the generic
path, with and without masks, eagerly, in a graph and compiled by XLA; in stacked and
bidirectional models and in TBPTT training. Also: ``runner="auto"`` picks it for declaring cells
and the graph runner for other cells, and the compiled sampler gives the plain graph loop's ids.

    .venv/bin/python -m pytest tests/test_fast_runner.py -q
"""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.decoding.sampling import Sampler, generation_loop
from seqkit.models.runner_choice import resolve_runner
from seqkit.models.sequence import SequenceModel
from seqkit.ops import gate_blocks, glorot_uniform, linear
from seqkit.plugins.registry import default_registry
from seqkit_plugins.fused import FusedRunner
from seqkit_plugins.runners import GraphRunner

CELLS = [
    ("vanilla", {"activation": "tanh"}),
    ("vanilla", {"activation": "sigmoid"}),
    ("vanilla", {"activation": "relu"}),
    ("gru", {}),
    ("lstm", {}),
]
IDS = [f"{name}-{opts.get('activation', '')}".rstrip("-") for name, opts in CELLS]
KERNEL_CELLS = ["gru", "lstm"]  # the built-in cells that declare a hand-written kernel
B, T, N_IN, H = 3, 6, 4, 5
TOL = 1e-5
# and 1e-5 of the value (the "to 1e-5"): the peephole cell's gradients are sums of
# terms up to ~40, where 1e-5 absolute is 2-3 float32 ulps of a term, and XLA's summation order
# differs between runs and machines: 1.1e-5 apart at -38.87 (relative 2.9e-7), then on a clean
# CI checkout 1.4e-5 at -1.896 (7.4e-6) and 2.3e-5 at 8.177 (2.8e-6), passing locally 3 in 3
RTOL = 1e-5


def peephole_pointwise(cell, projected, recurrent, state):
    """c_t = sigmoid(a + p * c) * c + tanh(b), h_t = tanh(c_t); the output h_t * c_t."""
    c, _ = state
    a, b = tf.split(projected + recurrent, 2, axis=-1)
    c = tf.sigmoid(a + cell.peephole * c) * c + tf.tanh(b)
    h = tf.tanh(c)
    return h * c, (c, h)


class PeepholeCell(seqkit.ProjectedCell):
    """A declaring cell unlike the built-ins: ``pointwise`` reads a variable (the peephole), the
    matmul takes the second state tensor (hidden_index 1), the output is no state tensor, and
    the recurrent bias is declared."""

    def __init__(self, input_size, hidden_size, *, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        H = self.hidden_size  # noqa: N806
        self.weight_ih = tf.Variable(gate_blocks(glorot_uniform, 2, H, self.input_size))
        self.weight_hh = tf.Variable(gate_blocks(glorot_uniform, 2, H, H))
        self.bias_ih = tf.Variable(tf.zeros([2 * H]))
        self.bias_hh = tf.Variable(tf.zeros([2 * H]))
        self.peephole = tf.Variable(tf.fill([H], 0.5))

    @property
    def state_size(self):
        return (self.hidden_size, self.hidden_size)

    def project_inputs(self, inputs):
        return linear(inputs, self.weight_ih, self.bias_ih)

    @property
    def recurrence(self):
        pointwise = lambda p, r, s: peephole_pointwise(self, p, r, s)  # noqa: E731
        return seqkit.Recurrence(self.weight_hh, pointwise, bias=self.bias_hh, hidden_index=1)

    def step(self, projected, state):
        return self.recurrence.step(projected, state)


def make_test_cell(name, options):
    if name == "peephole":
        return PeepholeCell(N_IN, H)
    return seqkit.make_cell(name, N_IN, H, **options)


# (cell, options, runner options): every declaring cell on the path the fused runner takes for
# it, and each cell that has a hand-written kernel on the generic path too.
PATHS = (
    [pytest.param(n, o, {}, id=i) for (n, o), i in zip(CELLS, IDS, strict=True)]
    + [pytest.param(n, {}, {"kernels": False}, id=f"{n}-generic") for n in KERNEL_CELLS]
    + [
        pytest.param("peephole", {}, {}, id="peephole"),
        pytest.param("janet", {}, {}, id="janet"),
    ]
)


def forward_and_gradients(runner_name, cell, x, state, mask, mode, runner_options=None):
    """Outputs, final state, and the gradients of a random linear function of both with respect
    to the inputs, the initial state and the cell's variables, as NumPy arrays."""
    runner = seqkit.make_runner(runner_name, **(runner_options or {}))
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
@pytest.mark.parametrize(("name", "options", "runner_options"), PATHS)
def test_fused_matches_python_runner(name, options, runner_options, masked, mode):
    rng = np.random.default_rng(0)
    cell = make_test_cell(name, options)
    for v in cell.trainable_variables:  # biases away from zero, so that they are tested too
        v.assign(v + tf.constant(rng.normal(scale=0.3, size=v.shape), v.dtype))
    x = tf.constant(rng.normal(size=(B, T, N_IN)), tf.float32)
    state = tuple(tf.constant(rng.normal(size=(B, n)), tf.float32) for n in cell.state_size)
    # a gap in the middle, a sequence cut short, and one of length 0
    mask = tf.constant(rng.random((B, T)) < 0.6) if masked else None
    want = forward_and_gradients("python", cell, x, state, mask, "eager")
    got = forward_and_gradients("fused", cell, x, state, mask, mode, runner_options)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=TOL)
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


@pytest.mark.parametrize("kernels", [True, False], ids=["kernel", "generic"])
@pytest.mark.parametrize("name", ["gru", "lstm"])
def test_unknown_length_runs_the_while_loop(name, kernels):
    """Inside a tf.function with the length unknown, the loop is a tf.while_loop."""
    cell = seqkit.make_cell(name, N_IN, H)
    x = tf.constant(np.random.default_rng(3).normal(size=(B, T, N_IN)), tf.float32)
    runner = seqkit.make_runner("fused", kernels=kernels)
    run = tf.function(
        lambda x: runner.run(cell, x, cell.initial_state(B)),
        input_signature=[tf.TensorSpec([B, None, N_IN], tf.float32)],
    )
    got, _ = run(x)
    want, _ = seqkit.make_runner("python").run(cell, x, cell.initial_state(B))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=TOL)


# (cell, fused runner options, bidirectional): the built-ins as "auto" runs them, the LSTM on
# the generic path too, and the example's JANET; both directions for the LSTM's two paths and
# JANET (each of these compiles a few XLA steps: the list is kept short)
MODEL_PATHS = [
    pytest.param("vanilla", {}, False, id="vanilla", marks=pytest.mark.slow),
    pytest.param("gru", {}, False, id="gru"),
    pytest.param("lstm", {}, False, id="lstm"),
    pytest.param("lstm", {}, True, id="lstm-bidirectional"),
    pytest.param("lstm", {"kernels": False}, False, id="lstm-generic", marks=pytest.mark.slow),
    pytest.param(  # the generic path with a stack both ways: janet-bidirectional, below
        "lstm", {"kernels": False}, True, id="lstm-generic-bidirectional", marks=pytest.mark.slow
    ),
    pytest.param(  # lstm-bidirectional runs by default; janet is on the generic path above
        "janet", {}, True, id="janet-bidirectional", marks=pytest.mark.slow
    ),
]


@pytest.mark.parametrize(("name", "runner_options", "bidirectional"), MODEL_PATHS)
def test_stacked_model_with_mask_matches_python_runner(name, runner_options, bidirectional):
    """Two layers and a head, with a mask: outputs and every parameter's gradient."""
    rng = np.random.default_rng(1)
    tokens = tf.constant(rng.integers(0, 7, size=(B, T)), tf.int32)
    mask = tf.constant(np.arange(T)[None, :] < np.array([T, 4, 1])[:, None])  # ends differ
    results = []
    for runner in [seqkit.make_runner("python"), seqkit.make_runner("fused", **runner_options)]:
        seqkit.set_seed(0)
        model = SequenceModel(
            name, hidden_size=H, output_size=7, num_layers=2, encoder="embedding",
            vocab_size=7, embedding_size=4, runner=runner, bidirectional=bidirectional,
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


@pytest.mark.parametrize(
    ("name", "runner_options", "k1", "k2"),
    [
        pytest.param("lstm", {}, 4, 4, id="lstm-4-4", marks=pytest.mark.slow),
        pytest.param("lstm", {}, 2, 6, id="lstm-2-6"),
        pytest.param(
            "lstm", {"kernels": False}, 2, 6, id="lstm-generic-2-6", marks=pytest.mark.slow
        ),
        pytest.param("janet", {}, 2, 6, id="janet-2-6"),
    ],
)
def test_tbptt_training_matches_python_runner(name, runner_options, k1, k2):
    """The same losses, gradient norms and weights after a few TBPTT(k1, k2) updates."""
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 9, size=(2, 17)).astype(np.int32)
    data = seqkit.SequenceBatch(ids[:, :-1], ids[:, 1:])
    runs = []
    for runner in [seqkit.make_runner("python"), seqkit.make_runner("fused", **runner_options)]:
        seqkit.set_seed(0)
        model = SequenceModel(
            name, hidden_size=H, output_size=9, encoder="onehot", vocab_size=9, runner=runner
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


def test_the_kernel_cells_are_the_cells_with_a_kernel():
    """KERNEL_CELLS, which the generic-path tests cover, are the cells that declare a kernel."""
    with_kernel = [
        n for n, o in CELLS if seqkit.make_cell(n, 2, 2, **o).recurrence.kernel is not None
    ]
    assert sorted(set(with_kernel)) == sorted(KERNEL_CELLS)


def test_a_declared_kernel_is_what_the_fused_runner_runs():
    """The fused runner calls ``Recurrence.kernel`` where a cell declares one (here a kernel
    that halves the generic path's outputs), and ``kernels=False`` ignores it."""
    from seqkit_plugins.fused_recurrence import fused_recurrence

    def halved(recurrence, xp, state, keep):
        outputs, final = fused_recurrence(recurrence, xp, state, keep)
        return outputs * 0.5, final

    class HalvedLSTM(type(seqkit.make_cell("lstm", 2, 2))):
        @property
        def recurrence(self):
            return dataclasses.replace(super().recurrence, kernel=halved)

    cell = HalvedLSTM(N_IN, H)
    x = tf.constant(np.random.default_rng(4).normal(size=(B, T, N_IN)), tf.float32)
    want, _ = seqkit.make_runner("python").run(cell, x, cell.initial_state(B))
    for kernels, factor in [(True, 0.5), (False, 1.0)]:
        got, _ = seqkit.make_runner("fused", kernels=kernels).run(cell, x, cell.initial_state(B))
        np.testing.assert_allclose(got.numpy(), factor * want.numpy(), rtol=0, atol=TOL)


def test_auto_picks_fused_for_declaring_cells_and_graph_for_others():
    """fused for a declaring cell without a native kernel (or where native kernels are turned
    off: tests/test_native_build.py), graph for any other cell."""
    registry = default_registry()
    assert type(resolve_runner("auto", [PeepholeCell(2, 3)], registry)) is FusedRunner
    assert isinstance(resolve_runner("auto", [PlainTanhCell(3, 3)], registry), GraphRunner)
    fused = seqkit.make_runner("fused")
    assert fused.jit_compile and not fused.supports(PlainTanhCell(3, 3))
    with pytest.raises(seqkit.OptionError) as info:
        fused.run(PlainTanhCell(3, 3), tf.zeros([1, 2, 3]), (tf.zeros([1, 3]),))
    assert str(info.value) == (
        "fused runner: PlainTanhCell declares no recurrence (its recurrence is None), so it "
        "cannot run fused; use runner 'graph' (or 'auto') for it."
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
    loop = tf.function(generation_loop)(model, prime, length, temperature, tf.constant(4, tf.int64))
    assert compiled.shape == (length,) and compiled.dtype == np.int32
    np.testing.assert_array_equal(compiled, graph)
    np.testing.assert_array_equal(compiled, loop.numpy()[0])
    again = Sampler(model)([1, 2, 3], length, temperature, seed=4)
    np.testing.assert_array_equal(compiled, again)
    if temperature > 0:
        other = Sampler(model)([1, 2, 3], length, temperature, seed=5)
        assert np.any(other != compiled)
    assert Sampler(model)([1], 0).shape == (0,)
