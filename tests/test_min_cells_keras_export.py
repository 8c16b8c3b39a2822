"""minGRU and minLSTM where every cell goes: the Keras layer (scan runner against the python
runner, masked, both directions; fit; save and load), the SavedModel export, and the torch export,
which refuses them in one sentence since torch.nn has no such module.

    .venv/bin/python -m pytest -n 0 tests/test_min_cells_keras_export.py -q
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import seqkit
import seqkit.keras
from seqkit.export import ExportError
from seqkit.export.saved_model import export_saved_model
from seqkit.export.torch_format import torch_state_dict
from seqkit_plugins.scan import ScanRunner

V, E, H = 6, 4, 5


def _padded_ids(seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, V, size=(4, 7)).astype(np.int32)
    for row, length in enumerate([7, 5, 2, 0]):  # ends differ; the last row all padding
        ids[row, length:] = 0
    return ids


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backwards"])
@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_keras_layer_scans_as_the_python_runner_steps(cell, go_backwards):
    keras.utils.set_random_seed(0)
    x = tf.constant(np.random.default_rng(1).standard_normal((4, 7, E)), tf.float32)
    mask = tf.constant(_padded_ids() != 0)
    layers = {
        runner: seqkit.keras.RNN(
            cell,
            H,
            runner=runner,
            return_sequences=True,
            return_state=True,
            go_backwards=go_backwards,
        )  # fmt: skip
        for runner in ["auto", "python"]
    }
    got = layers["auto"](x, mask=mask)
    assert isinstance(layers["auto"].runner, ScanRunner)
    layers["python"].build(x.shape)
    layers["python"].cell.load_state_dict(layers["auto"].cell.state_dict())
    want = layers["python"](x, mask=mask)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-6)


def _three_line_model(cell, **options):
    return keras.Sequential(
        [
            keras.layers.Embedding(V, E, mask_zero=True),
            seqkit.keras.RNN(cell, H, cell_options=options),
            keras.layers.Dense(1),
        ]
    )


def test_keras_fit_trains_and_the_model_saves_and_loads(tmp_path):
    keras.utils.set_random_seed(2)
    ids = _padded_ids(3)[:3]  # no empty sequence
    targets = (ids != 0).sum(axis=1, keepdims=True).astype(np.float32) / 7  # the length
    model = _three_line_model("minlstm", log_space=True)
    model.compile(keras.optimizers.Adam(0.05), "mse")
    first = model.evaluate(ids, targets, verbose=0)
    model.fit(ids, targets, epochs=30, batch_size=3, verbose=0)
    assert model.evaluate(ids, targets, verbose=0) < 0.2 * first
    expected = model.predict(ids, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    layer = loaded.layers[1]
    assert layer.cell.log_space and list(layer.cell.state_dict()) == ["weight_ih", "bias_ih"]
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), expected, rtol=1e-6, atol=1e-6)


def test_saved_model_steps_as_the_model_does(tmp_path):
    seqkit.set_seed(0)
    model = seqkit.SequenceModel(
        "mingru", hidden_size=H, output_size=V, num_layers=2, encoder="embedding",
        vocab_size=V, embedding_size=E,
    )  # fmt: skip
    out = export_saved_model(model, "abcdef", tmp_path / "saved")
    loaded = tf.saved_model.load(str(out))
    state = loaded.signatures["initial_state"](batch_size=tf.constant(2))["state"]
    ours = model.initial_state(2)
    for ids in ([1, 2], [3, 0]):
        step = loaded.signatures["step"](ids=tf.constant(ids), state=state)
        logits, ours = model.step(tf.constant(ids), ours)
        np.testing.assert_allclose(step["logits"].numpy(), logits.numpy(), rtol=1e-6, atol=1e-6)
        state = step["state"]
    text = loaded.signatures["generate"](
        prime=tf.constant("ab"), length=tf.constant(5), temperature=tf.constant(0.0),
        seed=tf.constant(0, tf.int64),
    )["text"]  # fmt: skip
    assert len(text.numpy().decode()) == 5


def test_torch_export_refuses_a_min_cell_in_one_sentence():
    model = seqkit.SequenceModel("mingru", input_size=2, hidden_size=3)
    with pytest.raises(ExportError, match=r"torch\.nn has no module for the cell 'mingru'"):
        torch_state_dict(model)
