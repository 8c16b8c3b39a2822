"""model.tie_embeddings: the output layer reads with the embedding matrix (one variable)."""

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.config.files import load_config
from seqkit.errors import OptionError


def _model(**options):
    settings = dict(hidden_size=6, output_size=11, encoder="embedding", vocab_size=11,
                    embedding_size=6, runner="graph")  # fmt: skip
    settings.update(options)
    return seqkit.SequenceModel("lstm", **settings)


def test_tied_outputs_are_the_hidden_state_times_the_embedding():
    tied, untied = _model(tie_embeddings=True), _model()
    assert tied.head_weight is tied.embedding
    assert len(tied.trainable_variables) == len(untied.trainable_variables) - 1
    hidden = np.random.default_rng(0).normal(size=(2, 3, 6)).astype(np.float32)
    expected = hidden @ tied.embedding.numpy().T + tied.head_bias.numpy()  # NumPy, W_out = E
    np.testing.assert_allclose(tied.head(tf.constant(hidden)).numpy(), expected, rtol=1e-5)
    with tf.GradientTape() as tape:
        outputs, _ = tied(tf.constant([[1, 2, 3]]))
        loss = tf.reduce_sum(outputs[..., 4])  # reaches row 4 of E through the head only
    grad = tf.convert_to_tensor(tape.gradient(loss, tied.embedding))
    assert np.abs(grad.numpy()[4]).sum() > 0 and np.abs(grad.numpy()[5]).sum() == 0


def test_tying_needs_matching_sizes_and_is_a_config_key():
    with pytest.raises(OptionError, match=r"embedding_size = the top layer's width \(8\)"):
        _model(tie_embeddings=True, hidden_size=8)
    with pytest.raises(OptionError, match="needs an embedding encoder"):
        _model(tie_embeddings=True, encoder="onehot", embedding_size=None)
    assert load_config(None)["model"]["tie_embeddings"] is False


def test_io_dropout_drops_the_stack_inputs_and_outputs_in_training_only():
    seqkit.set_seed(1)
    plain = _model()
    seqkit.set_seed(1)
    dropping = _model(io_dropout=0.5)
    ids = tf.constant([[1, 2, 3, 4, 5, 6]])
    np.testing.assert_array_equal(dropping(ids)[0].numpy(), plain(ids)[0].numpy())
    assert not np.allclose(dropping(ids, training=True)[0].numpy(), plain(ids)[0].numpy())
    # with the stack's outputs all dropped the logits are the bias: rate near 1 on [1, 6, 6]
    seqkit.set_seed(1)
    nearly_all = _model(io_dropout=0.999)
    outputs = nearly_all(ids, training=True)[0].numpy()
    rows = np.isclose(outputs, nearly_all.head_bias.numpy()).all(axis=-1)
    assert rows.mean() > 0.9  # each step's 6 units dropped with probability 0.999^6
    with pytest.raises(OptionError, match=r"io_dropout must be a number in \[0, 1\)"):
        _model(io_dropout=1.0)


def test_init_range_draws_every_parameter_uniformly_in_it():
    from seqkit.runs.compose import build_model

    config = load_config(None, ["model.hidden_size=8", "model.init_range=0.05"])
    info = {"model_dims": {"vocab_size": 7, "output_size": 7}, "target_form": "shifted"}
    model = build_model(config, info)
    values = np.concatenate([v.numpy().ravel() for v in model.trainable_variables])
    assert np.abs(values).max() <= 0.05 and np.abs(values).max() > 0.045
    assert abs(values.mean()) < 0.005 and values.std() == pytest.approx(0.05 / np.sqrt(3), 0.1)
