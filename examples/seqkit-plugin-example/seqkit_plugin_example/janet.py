"""JANET, "just another network" (van der Westhuizen and Lasenby, 2018): an LSTM with only its
forget gate, two gate blocks against the LSTM's four.

    f_t  = sigmoid(W_f x_t + b_if + U_f h_{t-1} + b_hf)          forget gate
    c~_t = tanh(W_c x_t + b_ic + U_c h_{t-1} + b_hc)             candidate
    c_t  = f_t * c_{t-1} + (1 - f_t) * c~_t
    h_t  = c_t

The paper writes one bias per equation (and subtracts a constant beta in the candidate's gate,
here 0); here each is split into an input and a recurrent bias, as PyTorch's cells have them.
Since h_t = c_t, the state is ``(h,)``; the output is h_t. Parameters in PyTorch's names and
layouts, in the block order f, c: ``weight_ih`` [2H, I] = [W_f; W_c], ``weight_hh`` [2H, H] =
[U_f; U_c], ``bias_ih`` [2H], ``bias_hh`` [2H]. The forget gate's input bias starts at 1, as
the LSTM's does, so that memory is kept at first.

The step is one recurrent matmul, U h_{t-1} + b_h for both blocks, followed by elementwise work,
so the cell declares it (``recurrence``): the fused runner then runs it with a hand-written
gradient, as fast as the built-in cells.

    import seqkit
    model = seqkit.SequenceModel("janet", input_size=8, hidden_size=32)   # runner "auto": fused
"""

from __future__ import annotations

import seqkit
import tensorflow as tf
from seqkit.ops import gate_blocks, glorot_uniform, linear, orthogonal


def janet_pointwise(projected, recurrent, state):
    """The step after the recurrent matmul: ``projected`` = W x_t + b_i and ``recurrent`` =
    U h_{t-1} + b_h, both ``[B, 2H]`` in the blocks f, c; ``state`` = (h,) ``[B, H]``."""
    (c,) = state
    f, candidate = tf.split(projected + recurrent, 2, axis=-1)
    f = tf.sigmoid(f)
    c = f * c + (1.0 - f) * tf.tanh(candidate)
    return c, (c,)


class JANETCell(seqkit.ProjectedCell):
    """The JANET step: a forget-gate-only LSTM; the output is h_t = c_t, the state ``(h_t,)``."""

    def __init__(self, input_size, hidden_size, *, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        n_in, H = self.input_size, self.hidden_size  # H as in the equations
        self.weight_ih = tf.Variable(
            gate_blocks(glorot_uniform, 2, H, n_in, self.dtype), name="weight_ih"
        )
        self.weight_hh = tf.Variable(gate_blocks(orthogonal, 2, H, H, self.dtype), name="weight_hh")
        forget_one = tf.concat([tf.ones([H]), tf.zeros([H])], 0)
        self.bias_ih = tf.Variable(tf.cast(forget_one, self.dtype), name="bias_ih")
        self.bias_hh = tf.Variable(tf.zeros([2 * H], self.dtype), name="bias_hh")

    @property
    def state_size(self):
        return (self.hidden_size,)

    def project_inputs(self, inputs):
        """W x_t + b_i for every step at once: ``[..., I] -> [..., 2H]``."""
        return linear(inputs, self.weight_ih, self.bias_ih)

    @property
    def recurrence(self):
        """The step as ``janet_pointwise(projected, h @ weight_hh^T + bias_hh, state)``."""
        return seqkit.Recurrence(self.weight_hh, janet_pointwise, bias=self.bias_hh)


@seqkit.hookimpl
def seqkit_register_cells(register):
    register("janet", JANETCell)
