"""The JANET cell: the seqkit cell contract (its declared recurrence and the fused runner
included), a NumPy reference from the equations, and use through seqkit once installed.

    pip install -e examples/seqkit-plugin-example && pytest examples/seqkit-plugin-example
"""

import numpy as np
import pytest
import seqkit
import tensorflow as tf
from seqkit.testing import check_cell

from seqkit_plugin_example.janet import JANETCell

B, N_IN, H = 3, 4, 5  # batch, input size, hidden size: small and all different


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def janet_reference(p, x, c):
    """The equations of the module docstring, in float64 NumPy."""
    w_f, w_c = np.split(p["weight_ih"], 2)
    u_f, u_c = np.split(p["weight_hh"], 2)
    b_if, b_ic = np.split(p["bias_ih"], 2)
    b_hf, b_hc = np.split(p["bias_hh"], 2)
    f = sigmoid(x @ w_f.T + b_if + c @ u_f.T + b_hf)
    candidate = np.tanh(x @ w_c.T + b_ic + c @ u_c.T + b_hc)
    return f * c + (1 - f) * candidate


def test_keeps_the_cell_contract_and_runs_fused():
    check_cell(JANETCell)  # with a declared recurrence: the fused runner against the python one


def test_declares_its_recurrence():
    cell = JANETCell(N_IN, H)
    recurrence = cell.recurrence
    assert recurrence.weight is cell.weight_hh and recurrence.bias is cell.bias_hh
    assert recurrence.hidden_index == 0


@pytest.mark.parametrize("runner", ["python", "fused"])
def test_matches_the_numpy_reference(runner):
    rng = np.random.default_rng(0)
    cell = JANETCell(N_IN, H, dtype=tf.float64)
    weights = {k: rng.uniform(-0.5, 0.5, v.shape) for k, v in cell.state_dict().items()}
    cell.load_state_dict(weights)
    xs, c = rng.standard_normal((B, 6, N_IN)), rng.standard_normal((B, H))
    outputs, (final,) = seqkit.make_runner(runner).run(cell, tf.constant(xs), (tf.constant(c),))
    expected = []
    for t in range(xs.shape[1]):
        c = janet_reference(weights, xs[:, t], c)
        expected.append(c)
    np.testing.assert_allclose(outputs.numpy(), np.stack(expected, 1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(final.numpy(), c, rtol=1e-12, atol=1e-12)


def test_parameters_in_pytorch_layout():
    shapes = {k: v.shape for k, v in JANETCell(N_IN, H).state_dict().items()}
    assert shapes == {
        "weight_ih": (2 * H, N_IN),
        "weight_hh": (2 * H, H),
        "bias_ih": (2 * H,),
        "bias_hh": (2 * H,),
    }


def test_installed_plugin_registers_janet_and_auto_runs_it_fused():
    from seqkit.plugins.registry import default_registry

    entry = default_registry().get("cell", "janet")
    assert entry.factory is JANETCell
    assert entry.plugin.provider == "seqkit-plugin-example==0.1.0"
    model = seqkit.SequenceModel("janet", input_size=2, hidden_size=4, output_size=1)
    assert type(model.runner).__name__ == "FusedRunner"


def test_trains_through_the_python_api():
    seqkit.set_seed(0)
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((8, 12, 2)).astype(np.float32)
    targets = np.cumsum(inputs[..., :1], axis=1) / 4  # a running sum: needs the memory
    model = seqkit.SequenceModel("janet", input_size=2, hidden_size=16, output_size=1)
    trainer = seqkit.Trainer(model, loss="huber", truncation="bptt", lr=1e-2)
    before = trainer.evaluate((inputs, targets))
    trainer.fit((inputs, targets), steps=40)
    assert trainer.evaluate((inputs, targets)) < 0.5 * before
