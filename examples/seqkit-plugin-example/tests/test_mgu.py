"""The MGU cell: the seqkit cell contract, a NumPy reference from the equations, and use
through seqkit once the plugin is installed.

    pip install -e examples/seqkit-plugin-example && pytest examples/seqkit-plugin-example
"""

import numpy as np
import pytest
import seqkit
import tensorflow as tf
from seqkit.testing import check_cell

from seqkit_plugin_example.mgu import MGUCell

B, N_IN, H = 3, 4, 5  # batch, input size, hidden size: small and all different


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def mgu_reference(p, x, h):
    """The equations of the module docstring, in float64 NumPy."""
    w_f, w_h = np.split(p["weight_ih"], 2)
    u_f, u_h = np.split(p["weight_hh"], 2)
    b_if, b_ih = np.split(p["bias_ih"], 2)
    b_hf, b_hh = np.split(p["bias_hh"], 2)
    f = sigmoid(x @ w_f.T + b_if + h @ u_f.T + b_hf)
    candidate = np.tanh(x @ w_h.T + b_ih + (f * h) @ u_h.T + b_hh)
    return (1 - f) * h + f * candidate


def test_keeps_the_cell_contract():
    check_cell(MGUCell)


@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf.function"])
def test_matches_the_numpy_reference(graph):
    rng = np.random.default_rng(0)
    cell = MGUCell(N_IN, H, dtype=tf.float64)
    weights = {k: rng.uniform(-0.5, 0.5, v.shape) for k, v in cell.state_dict().items()}
    cell.load_state_dict(weights)
    xs, h = rng.standard_normal((6, B, N_IN)), rng.standard_normal((B, H))

    def unroll(xs, state):
        outputs = []
        for t in range(xs.shape[0]):
            output, state = cell(xs[t], state)
            outputs.append(output)
        return tf.stack(outputs), state

    run = tf.function(unroll) if graph else unroll
    outputs, (final,) = run(tf.constant(xs), (tf.constant(h),))
    expected = []
    for x in xs:
        h = mgu_reference(weights, x, h)
        expected.append(h)
    np.testing.assert_allclose(outputs.numpy(), np.stack(expected), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(final.numpy(), h, rtol=1e-12, atol=1e-12)


def test_parameters_in_pytorch_layout():
    shapes = {k: v.shape for k, v in MGUCell(N_IN, H).state_dict().items()}
    assert shapes == {
        "weight_ih": (2 * H, N_IN),
        "weight_hh": (2 * H, H),
        "bias_ih": (2 * H,),
        "bias_hh": (2 * H,),
    }


def test_installed_plugin_registers_mgu_and_huber():
    from seqkit.plugins.registry import default_registry

    registry = default_registry()
    entry = registry.get("cell", "mgu")
    assert entry.factory is MGUCell
    assert entry.plugin.provider == "seqkit-plugin-example==0.1.0"
    assert registry.get("loss", "huber").plugin.provider == "seqkit-plugin-example==0.1.0"


def test_declares_no_recurrence_so_auto_runs_it_on_the_graph_runner():
    assert MGUCell(N_IN, H).recurrence is None  # two dependent recurrent matmuls
    model = seqkit.SequenceModel("mgu", input_size=2, hidden_size=4, output_size=1)
    assert type(model.runner).__name__ == "GraphRunner"


def test_trains_through_the_python_api():
    seqkit.set_seed(0)
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((8, 12, 2)).astype(np.float32)
    targets = np.cumsum(inputs[..., :1], axis=1) / 4  # a running sum: needs the memory
    model = seqkit.SequenceModel("mgu", input_size=2, hidden_size=16, output_size=1)
    trainer = seqkit.Trainer(model, loss="huber", truncation="bptt", lr=1e-2)
    before = trainer.evaluate((inputs, targets))
    trainer.fit((inputs, targets), steps=40)
    assert trainer.evaluate((inputs, targets)) < 0.5 * before
