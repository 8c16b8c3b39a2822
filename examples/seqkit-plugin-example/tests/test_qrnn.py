"""The QRNN cell: the seqkit cell contract (its declared linear recurrence and the scan runner
included), a NumPy reference from the equations on every runner, and ``auto`` picking the scan.

    pip install -e examples/seqkit-plugin-example && pytest examples/seqkit-plugin-example
"""

import numpy as np
import pytest
import seqkit
import tensorflow as tf
from seqkit.testing import check_cell

from seqkit_plugin_example.qrnn import QRNNCell

B, N_IN, H = 3, 4, 5  # batch, input size, hidden size: small and all different


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def qrnn_reference(p, x, c):
    """The equations of the module docstring, in float64 NumPy: (h_t, c_t)."""
    w_z, w_f, w_o = np.split(p["weight_ih"], 3)
    b_z, b_f, b_o = np.split(p["bias_ih"], 3)
    z, f, o = np.tanh(x @ w_z.T + b_z), sigmoid(x @ w_f.T + b_f), sigmoid(x @ w_o.T + b_o)
    c = f * c + (1 - f) * z
    return o * c, c


def test_keeps_the_cell_contract_and_scans():
    check_cell(QRNNCell)  # with a declared linear recurrence: the scan against the python runner


@pytest.mark.parametrize("runner", ["python", "graph", "scan"])
def test_matches_the_numpy_reference(runner):
    rng = np.random.default_rng(0)
    cell = QRNNCell(N_IN, H, dtype=tf.float64)
    weights = {k: rng.uniform(-0.5, 0.5, v.shape) for k, v in cell.state_dict().items()}
    cell.load_state_dict(weights)
    xs, c = rng.standard_normal((B, 6, N_IN)), rng.standard_normal((B, H))
    outputs, (final,) = seqkit.make_runner(runner).run(cell, tf.constant(xs), (tf.constant(c),))
    for t in range(6):
        h, c = qrnn_reference(weights, xs[:, t], c)
        np.testing.assert_allclose(outputs[:, t].numpy(), h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(final.numpy(), c, rtol=1e-10, atol=1e-12)


def test_auto_picks_the_scan_runner():
    model = seqkit.SequenceModel("qrnn", input_size=N_IN, hidden_size=H)
    assert type(model.runner).__name__ == "ScanRunner"
