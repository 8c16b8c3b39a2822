"""Long short-term memory (Hochreiter and Schmidhuber, 1997; forget gate: Gers et al., 2000):

    i_t  = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)     input gate
    f_t  = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)     forget gate
    c~_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)        candidate
    o_t  = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)     output gate
    c_t  = f_t * c_{t-1} + i_t * c~_t
    h_t  = o_t * tanh(c_t)

The state is ``(h, c)``. The step is declared as a ``seqkit.Recurrence``: the matmul
W_h h_{t-1}, then ``lstm_pointwise``, with a hand-written kernel for the fused runner
(``seqkit_plugins.lstm_kernel``). Parameters in PyTorch's
names and layouts, gates in the order i, f, g, o: ``weight_ih`` [4H, I], ``weight_hh`` [4H, H],
``bias_ih`` [4H], ``bias_hh`` [4H].
The forget gate's bias starts at 1 (Jozefowicz et al., 2015), so that memory is kept at first.
"""

from __future__ import annotations

import tensorflow as tf

import seqkit
from seqkit.ops import gate_blocks, glorot_uniform, linear, orthogonal
from seqkit_plugins.lstm_kernel import lstm_kernel
from seqkit_plugins.native_kernels import LSTM_NATIVE


def lstm_pointwise(projected, recurrent, state):
    """The step after the recurrent matmul: ``projected`` = W_i x_t + b_i + b_h and
    ``recurrent`` = W_h h_{t-1}, both ``[B, 4H]``; ``state`` = (h, c) ``[B, H]`` each."""
    _, c = state
    i, f, g, o = tf.split(projected + recurrent, 4, axis=-1)
    c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
    h = tf.sigmoid(o) * tf.tanh(c)
    return h, (h, c)


class LSTMCell(seqkit.ProjectedCell):
    """The LSTM step; the output is h_t and the state ``(h_t, c_t)``."""

    def __init__(self, input_size, hidden_size, *, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        n_in, H = self.input_size, self.hidden_size  # noqa: N806 (H as in the equations)
        self.weight_ih = tf.Variable(
            gate_blocks(glorot_uniform, 4, H, n_in, self.dtype), name="weight_ih"
        )
        self.weight_hh = tf.Variable(gate_blocks(orthogonal, 4, H, H, self.dtype), name="weight_hh")
        forget_one = tf.concat([tf.zeros([H]), tf.ones([H]), tf.zeros([2 * H])], 0)
        self.bias_ih = tf.Variable(tf.cast(forget_one, self.dtype), name="bias_ih")
        self.bias_hh = tf.Variable(tf.zeros([4 * H], self.dtype), name="bias_hh")

    @property
    def state_size(self):
        return (self.hidden_size, self.hidden_size)

    def project_inputs(self, inputs):
        return linear(inputs, self.weight_ih, self.bias_ih + self.bias_hh)

    @property
    def recurrence(self):
        # b_hh is in project_inputs; step comes from this declaration
        return seqkit.Recurrence(
            self.weight_hh, lstm_pointwise, kernel=lstm_kernel, native_kernel=LSTM_NATIVE
        )


@seqkit.hookimpl
def seqkit_register_cells(register):
    register("lstm", LSTMCell)
