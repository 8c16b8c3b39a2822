"""The gated recurrent unit (Cho et al., 2014), with the reset gate applied after the matmul,
as in ``torch.nn.GRUCell`` and Keras' ``GRUCell(reset_after=True)``:

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

The step is declared as a ``seqkit.Recurrence``: the matmul W_h h_{t-1} + b_h, then
``gru_pointwise`` (the reset multiplies its third block), with a hand-written kernel for the
fused runner (``seqkit_plugins.gru_kernel``).
Parameters in PyTorch's names and layouts, gates in the order r, z, n: ``weight_ih`` [3H, I],
``weight_hh`` [3H, H], ``bias_ih`` [3H], ``bias_hh`` [3H].
"""

from __future__ import annotations

import tensorflow as tf

import seqkit
from seqkit.ops import gate_blocks, glorot_uniform, linear, orthogonal
from seqkit_plugins.gru_kernel import gru_kernel
from seqkit_plugins.native_kernels import GRU_NATIVE


def gru_pointwise(projected, recurrent, state):
    """The step after the recurrent matmul: ``projected`` = W_i x_t + b_i and ``recurrent`` =
    W_h h_{t-1} + b_h, both ``[B, 3H]``; ``state`` = (h,) ``[B, H]``."""
    (h,) = state
    x_r, x_z, x_n = tf.split(projected, 3, axis=-1)
    h_r, h_z, h_n = tf.split(recurrent, 3, axis=-1)
    r = tf.sigmoid(x_r + h_r)
    z = tf.sigmoid(x_z + h_z)
    n = tf.tanh(x_n + r * h_n)
    h = (1.0 - z) * n + z * h
    return h, (h,)


class GRUCell(seqkit.ProjectedCell):
    """The GRU step with reset after the matmul; the output is h_t."""

    def __init__(self, input_size, hidden_size, *, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        n_in, H = self.input_size, self.hidden_size  # noqa: N806 (H as in the equations)
        self.weight_ih = tf.Variable(
            gate_blocks(glorot_uniform, 3, H, n_in, self.dtype), name="weight_ih"
        )
        self.weight_hh = tf.Variable(gate_blocks(orthogonal, 3, H, H, self.dtype), name="weight_hh")
        self.bias_ih = tf.Variable(tf.zeros([3 * H], self.dtype), name="bias_ih")
        self.bias_hh = tf.Variable(tf.zeros([3 * H], self.dtype), name="bias_hh")

    @property
    def state_size(self):
        return (self.hidden_size,)

    def project_inputs(self, inputs):
        return linear(inputs, self.weight_ih, self.bias_ih)

    @property
    def recurrence(self):
        # step comes from this declaration
        return seqkit.Recurrence(
            self.weight_hh,
            gru_pointwise,
            bias=self.bias_hh,
            kernel=gru_kernel,
            native_kernel=GRU_NATIVE,
        )


@seqkit.hookimpl
def seqkit_register_cells(register):
    register("gru", GRUCell)
