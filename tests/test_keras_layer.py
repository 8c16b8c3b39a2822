"""``seqkit.keras.RNN``: seqkit cells in Keras models, against Keras' own LSTM as the reference.

.venv/bin/python -m pytest tests/test_keras_layer.py -q
"""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import seqkit
import seqkit.keras
from seqkit.errors import OptionError, UnknownNameError

sys.path.insert(0, str(Path(__file__).parent))
from test_plugins import install_fake_plugin  # noqa: E402

V, E, H = 12, 4, 6  # vocabulary, embedding and hidden sizes: small and all different


def _padded_ids(seed=0):
    """Token ids [5, 7], padded with 0 after lengths 7, 4, 1, 6 and 0."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, V, (5, 7)).astype(np.int32)
    for row, length in enumerate([7, 4, 1, 6, 0]):
        ids[row, length:] = 0
    return ids


def _keras_lstm_weights(cell):
    """seqkit's LSTM weights in keras.layers.LSTM's layout (gates i, f, c, o in both)."""
    p = cell.state_dict()
    return [p["weight_ih"].T, p["weight_hh"].T, p["bias_ih"] + p["bias_hh"]]


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
def test_masked_outputs_and_state_match_keras_lstm(go_backwards):
    """Embedding(mask_zero=True) -> RNN: the last unmasked output and the state carried over
    padding agree with keras.layers.LSTM given the same weights."""
    keras.utils.set_random_seed(0)
    tokens = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(V, E, mask_zero=True)(tokens)
    ours = seqkit.keras.RNN("lstm", H, return_state=True, go_backwards=go_backwards)
    theirs = keras.layers.LSTM(H, return_state=True, go_backwards=go_backwards)
    model = keras.Model(tokens, [*ours(embedded), *theirs(embedded)])
    rng = np.random.default_rng(1)  # non-zero biases, so that padding read as input would show
    ours.cell.load_state_dict(
        {k: rng.uniform(-0.5, 0.5, v.shape) for k, v in ours.cell.state_dict().items()}
    )
    theirs.set_weights(_keras_lstm_weights(ours.cell))
    output, h, c, k_output, k_h, k_c = (t.numpy() for t in model(_padded_ids()))
    np.testing.assert_allclose(output, k_output, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h, k_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c, k_c, rtol=1e-5, atol=1e-6)
    assert np.all(output[4] == 0) and np.all(c[4] == 0)  # all padding: the zero state


def test_return_sequences_matches_keras_lstm_where_the_mask_is_true():
    keras.utils.set_random_seed(1)
    layer = seqkit.keras.RNN("lstm", H, return_sequences=True)
    reference = keras.layers.LSTM(H, return_sequences=True)
    x = np.random.default_rng(2).standard_normal((5, 7, E)).astype(np.float32)
    mask = _padded_ids() != 0
    ours = layer(x, mask=mask).numpy()
    reference.build(x.shape)
    reference.set_weights(_keras_lstm_weights(layer.cell))
    theirs = reference(x, mask=mask).numpy()
    np.testing.assert_allclose(ours[mask], theirs[mask], rtol=1e-5, atol=1e-6)
    assert np.all(ours[~mask] == 0)  # past a sequence's end: zeros, as seqkit's runners give
    assert layer.compute_mask(x, tf.constant(mask)) is not None  # the mask goes on downstream


def _three_line_model(cell="lstm"):
    return keras.Sequential(
        [
            keras.layers.Embedding(V, E, mask_zero=True),
            seqkit.keras.RNN(cell, H),
            keras.layers.Dense(1),
        ]
    )


def test_fit_trains_the_cells_own_variables():
    keras.utils.set_random_seed(2)
    ids = _padded_ids(3)[:4]  # no empty sequence
    targets = (ids != 0).sum(axis=1, keepdims=True).astype(np.float32) / 7  # the length
    model = _three_line_model()
    model.compile(keras.optimizers.Adam(0.05), "mse")
    model.build((None, None))
    layer = model.layers[1]
    assert len(layer.trainable_weights) == 4 and not layer.non_trainable_weights
    before = layer.cell.state_dict()
    first = model.evaluate(ids, targets, verbose=0)
    model.fit(ids, targets, epochs=30, batch_size=4, verbose=0)
    assert model.evaluate(ids, targets, verbose=0) < 0.2 * first
    after = layer.cell.state_dict()
    for name in before:  # what Keras trained is what the cell computes with
        assert not np.allclose(after[name], before[name]), name
        np.testing.assert_array_equal(
            after[name], [w for w in layer.weights if w.name == name][0].numpy()
        )


def test_save_and_load_in_the_keras_format_with_safe_mode(tmp_path):
    keras.utils.set_random_seed(3)
    model = _three_line_model("gru")
    ids = _padded_ids(4)
    expected = model.predict(ids, verbose=0)
    model.save(tmp_path / "model.keras")
    keras.utils.set_random_seed(4)  # the loaded model starts from other weights
    assert not np.allclose(_three_line_model("gru").predict(ids, verbose=0), expected)
    loaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    assert isinstance(loaded.layers[1], seqkit.keras.RNN)
    assert loaded.layers[1].cell.state_dict().keys() == {
        "weight_ih",
        "weight_hh",
        "bias_ih",
        "bias_hh",
    }
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), expected, rtol=1e-6, atol=1e-6)


def test_a_cell_instance_runs_but_cannot_be_saved_unless_the_registry_made_it(tmp_path):
    made = seqkit.make_cell("vanilla", E, H, activation="relu")
    cell = type(made)(E, H, activation="relu")  # built from its class: nothing records how
    model = keras.Sequential([keras.Input((None, E)), seqkit.keras.RNN(cell)])
    x = np.random.default_rng(5).standard_normal((2, 3, E)).astype(np.float32)
    h = np.zeros((2, H), np.float32)
    p = cell.state_dict()
    for t in range(3):  # h_t = relu(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), in NumPy
        h = np.maximum(x[:, t] @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T, 0)
    np.testing.assert_allclose(model(x).numpy(), h, rtol=1e-5, atol=1e-6)
    with pytest.raises(OptionError) as raised:
        model.save(tmp_path / "model.keras")
    assert str(raised.value) == (
        "RNN: a layer made from a cell instance that seqkit's registry did not build "
        "(VanillaCell constructed directly) cannot be saved, since nothing says which options "
        "built it; make the cell with seqkit.make_cell(...), or the layer from the cell's name, "
        "e.g. seqkit.keras.RNN('lstm', 32)."
    )


def _round_trip(tmp_path, cell, x):
    """A model of ``RNN(cell)``: its output on ``x``, and the model saved and loaded back."""
    model = keras.Sequential([keras.Input((None, x.shape[-1])), seqkit.keras.RNN(cell)])
    expected = model(x).numpy()
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    assert loaded.layers[0].cell is not cell
    return expected, loaded


def test_a_layer_of_a_registry_made_cell_saves_and_loads(tmp_path):
    keras.utils.set_random_seed(7)
    x = np.random.default_rng(8).standard_normal((3, 5, 8)).astype(np.float32)
    expected, loaded = _round_trip(
        tmp_path, seqkit.make_cell("gru", input_size=8, hidden_size=16), x
    )
    layer = loaded.layers[0]
    assert (layer.cell_name, layer.hidden_size, type(layer.cell).__name__) == ("gru", 16, "GRUCell")
    np.testing.assert_array_equal(loaded(x).numpy(), expected)


def test_a_registry_made_cell_keeps_its_options_and_dtype(tmp_path):
    cell = seqkit.make_cell("vanilla", E, H, activation="relu", dtype=tf.float64)
    x = np.random.default_rng(9).standard_normal((2, 4, E))
    expected, loaded = _round_trip(tmp_path, cell, x)
    assert loaded.layers[0].cell.dtype == tf.float64
    assert loaded.layers[0].cell_options == {"activation": "relu", "dtype": "float64"}
    np.testing.assert_array_equal(loaded(x).numpy(), expected)


SCALED_CELL = """
import tensorflow as tf
import seqkit


class ScaledCell(seqkit.Cell):
    \"\"\"h_t = tanh(scale * (W_ih x_t + W_hh h_{t-1})): a plugin cell with an option.\"\"\"

    def __init__(self, input_size, hidden_size, *, scale=1.0, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        self.scale = float(scale)
        self.weight_ih = tf.Variable(tf.random.normal([hidden_size, input_size], dtype=dtype))
        self.weight_hh = tf.Variable(tf.random.normal([hidden_size, hidden_size], dtype=dtype))

    @property
    def state_size(self):
        return (self.hidden_size,)

    def __call__(self, inputs, state):
        recurrent = tf.matmul(state[0], self.weight_hh, transpose_b=True)
        h = tf.tanh(self.scale * (tf.matmul(inputs, self.weight_ih, transpose_b=True) + recurrent))
        return h, (h,)


@seqkit.hookimpl
def seqkit_register_cells(register):
    register("scaled", ScaledCell)
"""


def test_a_plugin_cell_with_options_saves_and_loads(tmp_path, monkeypatch):
    module = f"fake_seqkit_scaled_{tmp_path.name}"
    install_fake_plugin(
        tmp_path, monkeypatch, "scaleddist", "0.1", {"scaled": module}, {module: SCALED_CELL}
    )
    keras.utils.set_random_seed(10)
    x = np.random.default_rng(11).standard_normal((2, 6, E)).astype(np.float32)
    expected, loaded = _round_trip(tmp_path, seqkit.make_cell("scaled", E, H, scale=0.25), x)
    assert loaded.layers[0].cell.scale == 0.25  # with the default, 1.0, the outputs differ
    np.testing.assert_array_equal(loaded(x).numpy(), expected)
    sys.modules.pop(module, None)


def test_stateful_carries_the_state_from_batch_to_batch():
    keras.utils.set_random_seed(5)
    x = np.random.default_rng(6).standard_normal((2, 8, E)).astype(np.float32)
    layer = seqkit.keras.RNN("gru", H, return_sequences=True, stateful=True)
    first = layer(x[:, :4]).numpy()  # builds the layer, for a batch of 2
    halves = np.concatenate([first, layer(x[:, 4:]).numpy()], axis=1)
    whole = seqkit.keras.RNN(layer.cell, return_sequences=True)
    np.testing.assert_allclose(halves, whole(x).numpy(), rtol=1e-5, atol=1e-6)
    layer.reset_state()
    np.testing.assert_allclose(layer(x[:, :4]).numpy(), whole(x[:, :4]).numpy(), atol=1e-6)


def test_errors_name_the_problem():
    with pytest.raises(UnknownNameError, match="Unknown cell 'lstn'. Did you mean 'lstm'?"):
        seqkit.keras.RNN("lstn", 4)
    with pytest.raises(OptionError, match="RNN: hidden_size must be a positive integer"):
        seqkit.keras.RNN("lstm")
    with pytest.raises(seqkit.ShapeError, match="the cell takes 3 features, the inputs have 5"):
        seqkit.keras.RNN(seqkit.make_cell("gru", 3, 4))(np.zeros((1, 2, 5), np.float32))
