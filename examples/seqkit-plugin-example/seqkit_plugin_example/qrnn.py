"""The quasi-recurrent network's fo-pooling (Bradbury et al., 2016) with a window of one step:
gates that read the input only, so that the state update is a diagonal linear recurrence.

    z_t = tanh(W_z x_t + b_z)                   candidate
    f_t = sigmoid(W_f x_t + b_f)                forget gate
    o_t = sigmoid(W_o x_t + b_o)                output gate
    c_t = f_t * c_{t-1} + (1 - f_t) * z_t       the state
    h_t = o_t * c_t                             the output

The cell declares the recurrence (``linear_recurrence``): a_t = f_t, b_t = (1 - f_t) * z_t, and
the output o_t * c_t, which reads the step's projected inputs. seqkit's ``scan`` runner then
computes every c_t at once, and ``runner="auto"`` picks it; no seqkit change is needed.
Parameters in PyTorch's names: ``weight_ih`` [3H, I] (blocks z, f, o), ``bias_ih`` [3H].

    import seqkit
    model = seqkit.SequenceModel("qrnn", input_size=8, hidden_size=32)   # runner "auto": scan
"""

from __future__ import annotations

import seqkit
import tensorflow as tf
from seqkit.ops import gate_blocks, glorot_uniform, linear


def qrnn_coefficients(projected):
    """``projected`` [..., 3H] in the blocks z, f, o -> (a = f_t, b = (1 - f_t) * z_t)."""
    z, f, _ = tf.split(projected, 3, axis=-1)
    return tf.sigmoid(f), tf.sigmoid(-f) * tf.tanh(z)  # 1 - sigmoid(f) = sigmoid(-f)


def qrnn_output(c, projected):
    """h_t = o_t * c_t, the output gate from the step's projected inputs."""
    _, _, o = tf.split(projected, 3, axis=-1)
    return tf.sigmoid(o) * c


class QRNNCell(seqkit.ProjectedCell):
    """fo-pooling with a window of one: c_t = f_t c_{t-1} + (1 - f_t) z_t, output o_t c_t."""

    def __init__(self, input_size, hidden_size, *, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        n_in, H = self.input_size, self.hidden_size  # H as in the equations
        self.weight_ih = tf.Variable(
            gate_blocks(glorot_uniform, 3, H, n_in, self.dtype), name="weight_ih"
        )
        self.bias_ih = tf.Variable(tf.zeros([3 * H], self.dtype), name="bias_ih")

    @property
    def state_size(self):
        return (self.hidden_size,)

    def project_inputs(self, inputs):
        """W x_t + b for every step at once: ``[..., I] -> [..., 3H]``."""
        return linear(inputs, self.weight_ih, self.bias_ih)

    @property
    def linear_recurrence(self):
        """c_t = a_t * c_{t-1} + b_t with (a_t, b_t) from the inputs alone; output o_t * c_t."""
        return seqkit.LinearRecurrence(qrnn_coefficients, output=qrnn_output)

    def step(self, projected, state):
        return self.linear_recurrence.step(projected, state)  # one equation, every runner


@seqkit.hookimpl
def seqkit_register_cells(register):
    register("qrnn", QRNNCell)
