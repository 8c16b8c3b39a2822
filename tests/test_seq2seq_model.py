"""``Seq2SeqModel``: teacher forcing against a NumPy reference for every cell kind in both stacks,
gradients against a plain Python loop of the cells, padding on both sides changes nothing,
every runner agrees, parameter names, and one-sentence errors."""

import numpy as np
import pytest
import tensorflow as tf
from seq2seq_reference import Reference

import seqkit
from seqkit.training.window_walk import window_loss

CELLS = ["lstm", "gru", "vanilla", "mgu"]  # mgu: the example plugin's cell
V_SOURCE, V_TARGET = 9, 7


def make_model(cell="gru", seed=0, **options):
    """A small float64 model; the python runner, unless named (the maths is the runner's
    business only in test_every_runner_gives_the_python_runners_outputs)."""
    seqkit.set_seed(seed)
    settings = dict(hidden_size=5, vocab_size=V_TARGET, source_vocab_size=V_SOURCE)
    settings.update(embedding_size=4, dtype=tf.float64, runner="python")
    return seqkit.Seq2SeqModel(cell, **{**settings, **options})


def pairs(seed=0, batch=3, steps=(6, 5)):
    """Source ids and mask [B, S], decoder inputs, targets and mask [B, T]; the padding holds
    junk ids, which the masks must hide."""
    rng = np.random.default_rng(seed)
    source = rng.integers(1, V_SOURCE, size=(batch, steps[0])).astype(np.int32)
    source_mask = np.arange(steps[0])[None] < rng.integers(1, steps[0] + 1, size=(batch, 1))
    source_mask[0] = True
    inputs = rng.integers(1, V_TARGET, size=(batch, steps[1])).astype(np.int32)
    targets = rng.integers(1, V_TARGET, size=(batch, steps[1])).astype(np.int32)
    mask = np.arange(steps[1])[None] < rng.integers(1, steps[1] + 1, size=(batch, 1))
    mask[-1] = True
    return source, source_mask, inputs, targets, mask


def context_of(source, source_mask):
    return {"source": source, "source_mask": source_mask}


SETTINGS = [
    dict(attention=False, bidirectional=False, bridge="copy"),
    dict(attention=True, bidirectional=True, bridge="copy"),
    dict(attention=True, bidirectional=True, bridge="linear", num_layers=2),
]
NAMES = ["plain", "attention-bidirectional", "attention-bidirectional-linear-2"]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("settings", SETTINGS, ids=NAMES)
def test_teacher_forcing_matches_a_numpy_reference(cell, settings):
    model = make_model(cell, **settings)
    source, source_mask, inputs, _, mask = pairs()
    logits, _ = model(inputs, mask=mask, context=context_of(source, source_mask))
    want = Reference(model).teacher_forced(source, source_mask, inputs, mask)
    np.testing.assert_allclose(np.asarray(logits)[mask], want[mask], rtol=1e-9, atol=1e-12)


def test_the_encoder_and_decoder_may_have_different_cells():
    model = make_model("gru", encoder_cell="lstm", bridge="linear", attention=True)
    source, source_mask, inputs, _, mask = pairs(1)
    logits, _ = model(inputs, mask=mask, context=context_of(source, source_mask))
    want = Reference(model).teacher_forced(source, source_mask, inputs, mask)
    np.testing.assert_allclose(np.asarray(logits)[mask], want[mask], rtol=1e-9, atol=1e-12)


def brute_force_loss(model, source, source_mask, inputs, targets, mask):
    """The teacher-forced cross-entropy by plain Python loops over the model's cells, with the
    linear bridge, the attention over a bidirectional encoder and the head written out here."""
    x = tf.gather(model.encoder.embedding, source)
    d = 2 if model.bidirectional else 1
    finals = []
    for layer in range(model.encoder.num_layers):
        outputs = []
        for direction in range(d):
            cell = model.encoder.cells[layer * d + direction]
            state = cell.initial_state(len(source), tf.float64)
            steps = range(x.shape[1]) if direction == 0 else reversed(range(x.shape[1]))
            out = [None] * x.shape[1]
            for t in steps:  # padding is a suffix: backwards, it is read first, and skipped
                y, new = cell(x[:, t], state)
                keep = source_mask[:, t, None]
                state = tuple(tf.where(keep, n, o) for n, o in zip(new, state, strict=True))
                out[t] = tf.where(keep, y, tf.zeros_like(y))
            finals.append(state)
            outputs.append(tf.stack(out, axis=1))
        x = tf.concat(outputs, axis=-1)
    start = []
    for layer in range(model.decoder.num_layers):
        parts = finals[layer * d : (layer + 1) * d]
        joined = tf.concat([t for p in parts for t in p], axis=-1)
        weights = model.bridge.weights[layer]
        biases = model.bridge.biases[layer]
        start.append(
            tuple(
                tf.tanh(joined @ tf.transpose(w) + b) for w, b in zip(weights, biases, strict=True)
            )
        )
    y = tf.gather(model.decoder.embedding, inputs)
    states = start
    tops = []
    for t in range(inputs.shape[1]):
        h = y[:, t]
        for layer, cell in enumerate(model.decoder.cells):
            out, new = cell(h, states[layer])
            keep = mask[:, t, None]
            states[layer] = tuple(
                tf.where(keep, n, o) for n, o in zip(new, states[layer], strict=True)
            )
            h = tf.where(keep, out, tf.zeros_like(out))
        tops.append(h)
    h = tf.stack(tops, axis=1)  # [B, T, H]
    memory = x @ tf.transpose(model.attention.memory_weight)
    scores = tf.einsum("bth,bsh->bts", h, memory)
    scores = tf.where(source_mask[:, None, :], scores, tf.constant(-1e30, tf.float64))
    context = tf.einsum("bts,bsh->bth", tf.nn.softmax(scores), memory)
    attended = tf.tanh(tf.concat([context, h], -1) @ tf.transpose(model.attention.weight))
    logits = attended @ tf.transpose(model.head_weight) + model.head_bias
    nll = -tf.gather(tf.nn.log_softmax(logits), targets, batch_dims=2)
    weights = tf.cast(mask, tf.float64)
    return tf.reduce_sum(nll * weights) / tf.reduce_sum(weights)


@pytest.mark.parametrize("cell", CELLS)
def test_teacher_forcing_gradients_match_a_plain_loop_of_the_cells(cell):
    options = dict(attention=True, bidirectional=True, bridge="linear", num_layers=2)
    model = make_model(cell, seed=3, **options)
    source, source_mask, inputs, targets, mask = pairs(2)
    variables = model.trainable_variables
    loss = seqkit.make_loss("cross-entropy")
    with tf.GradientTape() as tape:  # the trainer's path: one window of BPTT, with a context
        value, _, _ = window_loss(
            model,
            loss,
            None,
            inputs,
            targets,
            mask,
            0,
            inputs.shape[1],
            context_of(source, source_mask),
        )
    got = tape.gradient(value, variables)
    with tf.GradientTape() as tape:
        want_value = brute_force_loss(model, source, source_mask, inputs, targets, mask)
    want = tape.gradient(want_value, variables)
    assert float(value) == pytest.approx(float(want_value), rel=1e-12)
    for variable, g, w in zip(variables, got, want, strict=True):
        np.testing.assert_allclose(
            tf.convert_to_tensor(g),
            tf.convert_to_tensor(w),
            rtol=1e-8,
            atol=1e-12,
            err_msg=variable.name,
        )


@pytest.mark.parametrize("settings", SETTINGS, ids=NAMES)
def test_padding_on_either_side_changes_nothing(settings):
    model = make_model("lstm", **settings)
    source, source_mask, inputs, targets, mask = pairs(4, batch=1, steps=(4, 3))
    source_mask[:], mask[:] = True, True
    logits, state = model(inputs, mask=mask, context=context_of(source, source_mask))
    rng = np.random.default_rng(9)
    padded_source = np.concatenate([source, rng.integers(1, V_SOURCE, (1, 5))], axis=1)
    padded_inputs = np.concatenate([inputs, rng.integers(1, V_TARGET, (1, 4))], axis=1)
    source_pad_mask = np.arange(9)[None] < 4
    pad_mask = np.arange(7)[None] < 3
    context = context_of(padded_source.astype(np.int32), source_pad_mask)
    padded, padded_state = model(padded_inputs.astype(np.int32), mask=pad_mask, context=context)
    np.testing.assert_allclose(np.asarray(padded)[:, :3], logits, rtol=1e-12, atol=1e-14)
    for a, b in zip(tf.nest.flatten(padded_state), tf.nest.flatten(state), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    loss = seqkit.make_loss("cross-entropy")
    padded_targets = np.concatenate([targets, np.ones((1, 4), np.int32)], axis=1)
    assert float(loss(padded_targets, padded, pad_mask)) == pytest.approx(
        float(loss(targets, logits, mask)), rel=1e-12
    )


@pytest.mark.parametrize("runner", ["graph", "xla", "fused"])
def test_every_runner_gives_the_python_runners_outputs(runner):
    source, source_mask, inputs, _, mask = pairs(5)
    context = context_of(source, source_mask)
    got = []
    for name in ("python", runner):
        model = make_model("lstm", seed=1, runner=name, attention=True, bidirectional=True)
        got.append(model(inputs, mask=mask, context=context)[0])
    np.testing.assert_allclose(got[1], got[0], rtol=1e-9, atol=1e-12)


def test_auto_picks_one_runner_for_both_stacks():
    assert type(make_model("lstm", runner="auto").runner).__name__ == "FusedRunner"
    mixed = make_model("lstm", encoder_cell="mgu", bridge="linear", runner="auto")
    assert mixed.encoder.runner is mixed.decoder.runner  # fused cannot run mgu: xla for both
    assert type(mixed.runner).__name__ == "GraphRunner"


def test_parameter_names_follow_pytorch_and_the_state_dict_round_trips():
    model = make_model("lstm", attention=True, bidirectional=True, bridge="linear")
    names = list(model.state_dict())
    assert names[:2] == ["encoder.embedding.weight", "encoder.weight_ih_l0"]
    assert "encoder.weight_hh_l0_reverse" in names and "decoder.weight_ih_l0" in names
    assert names[-4:] == ["attention.weight", "attention.memory_weight", "head.weight", "head.bias"]
    assert {"bridge.weight_l0.0", "bridge.bias_l0.1"} <= set(names)
    assert model.state_dict()["head.weight"].shape == (V_TARGET, 5)
    assert len(names) == len(model.trainable_variables)
    other = make_model("lstm", seed=7, attention=True, bidirectional=True, bridge="linear")
    other.load_state_dict(model.state_dict())
    source, source_mask, inputs, _, mask = pairs(6)
    context = context_of(source, source_mask)
    np.testing.assert_array_equal(
        other(inputs, mask=mask, context=context)[0], model(inputs, mask=mask, context=context)[0]
    )


def test_the_trainer_carries_the_decoders_state():
    model = make_model("lstm")
    assert model.cells is model.decoder.cells and not model.learns_initial_state  # none to learn
    zeros = model.initial_state(2)
    assert [tuple(t.shape) for t in zeros[0]] == [(2, 5), (2, 5)]


def test_dense_sources_are_read_without_an_embedding():
    seqkit.set_seed(0)
    model = seqkit.Seq2SeqModel(
        "gru", hidden_size=4, vocab_size=6, source_input_size=3, runner="python"
    )
    source = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    logits, _ = model(np.ones((2, 4), np.int32), context={"source": source})
    assert logits.shape == (2, 4, 6)
    assert "encoder.embedding.weight" not in model.state_dict()


def test_errors_say_what_was_wrong():
    with pytest.raises(seqkit.OptionError, match="give source_vocab_size .* exactly one"):
        seqkit.Seq2SeqModel("gru", hidden_size=4, vocab_size=6)
    with pytest.raises(
        seqkit.OptionError, match="bridge 'copy' gives decoder layer 0 .* use bridge='linear'"
    ):
        make_model("gru", encoder_cell="lstm")
    with pytest.raises(seqkit.OptionError, match="bridge must be one of 'copy', 'linear'"):
        make_model("gru", bridge="mean")
    with pytest.raises(seqkit.OptionError, match="vocab_size must be a positive integer"):
        seqkit.Seq2SeqModel("gru", source_vocab_size=5)
    model = make_model("gru")
    with pytest.raises(seqkit.ShapeError, match="the model reads a source; pass context="):
        model(np.ones((2, 3), np.int32))
