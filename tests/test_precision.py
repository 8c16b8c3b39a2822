"""Mixed precision (``seqkit.training.precision``): every cell, built-in or a plugin's, computes in
bfloat16 with float32 variables, on the python and the fused runner, with no change for float32.

Each built-in cell and the example plugin's JANET and MGU in a mixed_bfloat16 model against
the same model in float32: outputs, final states and the gradients of every parameter within
``BF16``, and evidence that the maths did run in bfloat16 (the results differ, a cell sees
bfloat16 tensors); the variables, their gradients, the logits and the states stay float32.

    .venv/bin/python -m pytest tests/test_precision.py -q
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.config import keys as config_keys
from seqkit.ops import gate_blocks, glorot_uniform, linear
from seqkit.training.precision import PRECISIONS, CastVariable, autocast, resolve_precision

# bfloat16 keeps 8 significant bits: each rounding is off by up to 2^-9 relative (unit roundoff
# u = 2^-8 ~ 0.0039 between neighbours). A step rounds its inputs, weights, the matmul's result
# and each activation, and 8 steps compound them; the differences measured here reach ~5u on
# outputs of order 1 and on gradients relative to their largest entry. 0.05 (~13u) of the
# largest magnitude leaves room for that and still fails for a wrong equation, a lost gradient
# or float16-like overflow, which are off by order 1.
BF16 = 0.05
B, T, V, E, H = 4, 8, 7, 6, 16


def assert_bf16_close(got, want, what):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    scale = max(1.0, float(np.max(np.abs(want))))
    diff = float(np.max(np.abs(got - want)))
    assert diff <= BF16 * scale, f"{what}: off by {diff:.4g}, above {BF16} x {scale:.3g}"
    return diff


def model_pair(cell, runner, **options):
    """The same model (weights and all) in float32 and in mixed_bfloat16."""
    models = []
    for precision in ("float32", "mixed_bfloat16"):
        seqkit.set_seed(0)
        models.append(
            seqkit.SequenceModel(
                cell,
                hidden_size=H,
                output_size=V,
                encoder="embedding",
                vocab_size=V,
                embedding_size=E,
                runner=runner,
                precision=precision,
                **options,
            )  # fmt: skip
        )
    models[1].load_state_dict(models[0].state_dict())
    return models


def forward_and_gradients(model, ids, jit: bool):
    """Logits, final state and the gradients of a fixed random function of both, as the
    trainer takes them (one compiled function where the runner asks for XLA)."""
    rng = np.random.default_rng(3)
    weights = tf.constant(rng.normal(size=(B, T, V)), tf.float32)

    def run():
        with tf.GradientTape() as tape:
            logits, state = model(ids, training=True)
            loss = tf.reduce_sum(logits * weights) + sum(
                tf.reduce_sum(s) for s in tf.nest.flatten(state)
            )
        grads = tape.gradient(loss, model.trainable_variables)
        return logits, state, [tf.convert_to_tensor(g) for g in grads]

    return tf.function(run, jit_compile=True)() if jit else run()


# Every cell on the python runner and on the runner it trains on (the MGU declares no recurrence:
# graph); the fused runner as called eagerly (its own tf.function), and the LSTM's also compiled
# by XLA with its gradient, as the trainer runs it (the generic path's: the peephole test below);
# the built-in cells' native kernels (auto's choice), whose state is float32 between casts and
# whose per-step products are bfloat16 where the CPU has AVX512_BF16 (test_bf16_products.py).
CASES = [
    pytest.param(cell, runner, False, id=f"{cell}-{runner}", marks=marks)
    for cell, marks in [
        ("lstm", ()), ("gru", ()), ("vanilla", ()), ("janet", ()),
        ("mgu", ()),
    ]
    for runner in ("python", "graph" if cell == "mgu" else "fused")
] + [pytest.param("lstm", "fused", True, id="lstm-fused-xla")] + [
    pytest.param(cell, "native", False, id=f"{cell}-native") for cell in ("lstm", "gru", "vanilla")
]  # fmt: skip


@pytest.mark.parametrize(("cell", "runner", "jit"), CASES)
def test_mixed_bfloat16_matches_float32_within_bfloat16_rounding(cell, runner, jit):
    full, mixed = model_pair(cell, runner)
    ids = tf.constant(np.random.default_rng(1).integers(0, V, (B, T)), tf.int32)
    logits32, state32, grads32 = forward_and_gradients(full, ids, jit)
    logits, state, grads = forward_and_gradients(mixed, ids, jit)
    assert logits.dtype == tf.float32  # what the loss and the metrics read
    assert all(s.dtype == tf.float32 for s in tf.nest.flatten(state))  # what TBPTT carries
    diffs = [assert_bf16_close(logits, logits32, "logits")]
    for s, s32 in zip(tf.nest.flatten(state), tf.nest.flatten(state32), strict=True):
        diffs.append(assert_bf16_close(s, s32, "final state"))
    names = [v.name for v in mixed.trainable_variables]
    for name, g, g32, v in zip(names, grads, grads32, mixed.trainable_variables, strict=True):
        assert v.dtype == tf.float32 and g.dtype == tf.float32, name
        diffs.append(assert_bf16_close(g, g32, f"gradient of {name}"))
    assert max(diffs) > 1e-4  # bfloat16 did the maths: float32 would agree to ~1e-7


class SpyCell(seqkit.ProjectedCell):
    """A plugin cell as docs/plugins.md describes one, recording the dtypes its step sees."""

    seen: list

    def __init__(self, input_size, hidden_size, *, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        self.weight_ih = tf.Variable(glorot_uniform(hidden_size, input_size, self.dtype))
        self.weight_hh = tf.Variable(glorot_uniform(hidden_size, hidden_size, self.dtype))
        self.biases = [tf.Variable(tf.zeros([hidden_size], self.dtype)) for _ in range(2)]
        self.seen = []

    @property
    def state_size(self):
        return (self.hidden_size,)

    def project_inputs(self, inputs):
        return linear(inputs, self.weight_ih, self.biases[0])

    def step(self, projected, state):
        self.seen.append((projected.dtype, self.weight_hh.dtype, self.biases[1].dtype))
        h = tf.tanh(projected + linear(state[0], self.weight_hh, self.biases[1]))
        return h, (h,)


def test_a_plugin_cell_sees_bfloat16_tensors_and_keeps_float32_variables():
    cell = SpyCell(3, 4)
    variables = {v.ref() for v in cell.trainable_variables}
    x, state = tf.random.normal([2, 5, 3]), (tf.zeros([2, 4]),)
    runner = seqkit.make_runner("python")
    with tf.GradientTape() as tape:
        with autocast([cell], tf.bfloat16):
            assert isinstance(cell.weight_hh, CastVariable)  # a list's variables too
            assert all(isinstance(b, CastVariable) for b in cell.biases)
            outputs, _ = runner.run(cell, tf.cast(x, tf.bfloat16), (tf.cast(state[0], "bfloat16"),))
        loss = tf.reduce_sum(tf.cast(outputs, tf.float32))
    assert outputs.dtype == tf.bfloat16
    assert set(cell.seen) == {(tf.bfloat16,) * 3}
    assert isinstance(cell.weight_hh, tf.Variable) and isinstance(cell.biases, list)
    assert {v.ref() for v in cell.trainable_variables} == variables  # the same variables after
    grads = tape.gradient(loss, cell.trainable_variables)
    assert all(g is not None and g.dtype == tf.float32 for g in grads)


def test_autocast_puts_the_variables_back_when_the_block_raises():
    cell = SpyCell(3, 4)
    before = dict(vars(cell))
    with pytest.raises(RuntimeError), autocast([cell], tf.bfloat16):
        raise RuntimeError("a failing step")
    assert all(vars(cell)[k] is v for k, v in before.items())
    assert list(cell.named_parameters()) == ["weight_ih", "weight_hh", "biases.0", "biases.1"]


def peephole_pointwise(cell, projected, recurrent, state):
    """c_t = sigmoid(a + p * c) * c + tanh(b); the output and the state c_t."""
    (c,) = state
    a, b = tf.split(projected + recurrent, 2, axis=-1)
    c = tf.sigmoid(a + cell.peephole * c) * c + tf.tanh(b)
    return c, (c,)


class PeepholeCell(seqkit.ProjectedCell):
    """A declaring cell whose pointwise reads a variable: the fused runner computes pointwise
    again in its backward pass, after the model's autocast block has ended."""

    def __init__(self, input_size, hidden_size, *, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        self.weight_ih = tf.Variable(gate_blocks(glorot_uniform, 2, hidden_size, input_size))
        self.weight_hh = tf.Variable(gate_blocks(glorot_uniform, 2, hidden_size, hidden_size))
        self.peephole = tf.Variable(tf.fill([hidden_size], 0.5))

    @property
    def state_size(self):
        return (self.hidden_size,)

    def project_inputs(self, inputs):
        return linear(inputs, self.weight_ih)

    @property
    def recurrence(self):
        pointwise = lambda p, r, s: peephole_pointwise(self, p, r, s)  # noqa: E731
        return seqkit.Recurrence(self.weight_hh, pointwise)

    def step(self, projected, state):
        return self.recurrence.step(projected, state)


@pytest.mark.parametrize("runner", ["python", "fused"])
def test_a_pointwise_that_reads_a_variable_gets_its_float32_gradient(runner):
    cell = PeepholeCell(3, H)
    x = tf.random.stateless_normal([B, T, 3], seed=[1, 2])
    state = (tf.zeros([B, H]),)
    run = seqkit.make_runner(runner).run

    def gradients(dtype):
        with tf.GradientTape() as tape:
            with autocast([cell], dtype) if dtype != tf.float32 else contextlib.nullcontext():
                outputs, _ = run(cell, tf.cast(x, dtype), tuple(tf.cast(s, dtype) for s in state))
            loss = tf.reduce_sum(tf.cast(outputs, tf.float32) ** 2)
        return outputs, tape.gradient(loss, [cell.peephole, cell.weight_hh, cell.weight_ih])

    compiled = tf.function(gradients, jit_compile=runner == "fused")
    want, want_grads = compiled(tf.float32)
    got, got_grads = compiled(tf.bfloat16)
    assert_bf16_close(tf.cast(got, tf.float32), want, "outputs")
    for g, w, name in zip(
        got_grads, want_grads, ["peephole", "weight_hh", "weight_ih"], strict=True
    ):
        assert g.dtype == tf.float32, name
        assert_bf16_close(g, w, f"gradient of {name}")


def test_a_float32_model_makes_no_cast():
    model = seqkit.SequenceModel(
        "lstm", hidden_size=H, output_size=V, encoder="embedding", vocab_size=V, embedding_size=E,
        runner="fused",
    )  # fmt: skip
    ids = tf.zeros([B, T], tf.int32)
    graph = tf.function(lambda: model(ids)).get_concrete_function().graph
    assert not [op.name for op in graph.get_operations() if op.type == "Cast"]


def test_a_mixed_model_keeps_float32_variables_and_outputs_for_every_encoder_and_head():
    for encoder, inputs in [
        ("onehot", tf.zeros([B, T], tf.int32)),
        (None, tf.zeros([B, T, 3])),
    ]:
        model = seqkit.SequenceModel(
            "gru", input_size=None if encoder else 3, hidden_size=H, output_size=V,
            encoder=encoder, vocab_size=V if encoder else None, output_activation="softmax",
            initial_state="learned", precision="mixed_bfloat16", runner="python",
        )  # fmt: skip
        assert {v.dtype for v in model.variables if v.dtype.is_floating} == {tf.float32}
        outputs, state = model(inputs)
        assert outputs.dtype == tf.float32
        np.testing.assert_allclose(tf.reduce_sum(outputs, -1), 1.0, rtol=1e-5)  # float32 softmax
        assert all(s.dtype == tf.float32 for s in tf.nest.flatten(state))
        assert all(s.dtype == tf.float32 for s in tf.nest.flatten(model.initial_state(B)))
        logits, step_state = model.step(inputs[:, 0], state)
        assert logits.dtype == tf.float32 and step_state[0][0].dtype == tf.float32


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: resolve_precision("mixed_float16", "SequenceModel"),
            "SequenceModel: precision must be one of 'float32', 'mixed_bfloat16'; got "
            "'mixed_float16'.",
        ),
        (
            lambda: seqkit.SequenceModel(
                "lstm", input_size=2, dtype=tf.float64, precision="mixed_bfloat16"
            ),
            "SequenceModel: precision 'mixed_bfloat16' keeps float32 variables, but dtype is "
            "float64; leave dtype out, or use precision 'float32'.",
        ),
    ],
)
def test_a_bad_precision_is_refused_in_one_sentence(make, message):
    with pytest.raises(seqkit.OptionError) as info:
        make()
    assert str(info.value) == message


def test_the_config_offers_the_precisions_the_model_knows():
    assert config_keys.PRECISIONS == tuple(PRECISIONS)
    assert config_keys.DEFAULTS["train"]["precision"] == "float32"


def test_a_mixed_seq2seq_model_returns_float32_logits_and_states():
    models = []
    for precision in ("float32", "mixed_bfloat16"):
        seqkit.set_seed(0)
        models.append(
            seqkit.Seq2SeqModel(
                "lstm",
                hidden_size=H,
                source_vocab_size=V,
                vocab_size=V,
                embedding_size=E,
                attention=True,
                bridge="linear",
                bidirectional=True,
                runner="python",
                precision=precision,
            )  # fmt: skip
        )
    models[1].load_state_dict(models[0].state_dict())
    rng = np.random.default_rng(0)
    context = {"source": tf.constant(rng.integers(0, V, (B, 5)), tf.int32)}
    inputs = tf.constant(rng.integers(0, V, (B, T)), tf.int32)
    (want, want_state), (got, got_state) = (m(inputs, context=context) for m in models)
    assert got.dtype == tf.float32 and models[1].encoder.precision.name == "mixed_bfloat16"
    assert_bf16_close(got, want, "logits")
    assert all(s.dtype == tf.float32 for s in tf.nest.flatten(got_state))
    encoded = models[1].encode(context["source"])
    assert all(s.dtype == tf.float32 for s in tf.nest.flatten(encoded.state))
    decoder = seqkit.Seq2SeqDecoder(models[1], start_id=1, end_id=2, max_length=4)
    assert decoder.greedy(context["source"]).ids.shape[0] == B
    assert decoder.beam(context["source"], beam_width=2).ids.shape[0] == B
