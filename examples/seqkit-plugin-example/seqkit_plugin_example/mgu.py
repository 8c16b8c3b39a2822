"""The minimal gated unit (Zhou, Wu, Zhang and Zhou, 2016): one gate, the forget gate f_t.

    f_t  = sigmoid(W_f x_t + b_if + U_f h_{t-1} + b_hf)          forget gate
    h~_t = tanh(W_h x_t + b_ih + U_h (f_t * h_{t-1}) + b_hh)      candidate
    h_t  = (1 - f_t) * h_{t-1} + f_t * h~_t

The paper writes one bias per equation; here each is split into an input and a recurrent bias,
as PyTorch's cells have them. Parameters in PyTorch's names and layouts, in the block order
f, h: ``weight_ih`` [2H, I] = [W_f; W_h], ``weight_hh`` [2H, H] = [U_f; U_h], ``bias_ih`` [2H],
``bias_hh`` [2H]. The state is ``(h,)``; the output is h_t.

The step has two recurrent matmuls, and the second, U_h (f_t * h_{t-1}), takes the gate that the
first one made: it is not one matmul followed by elementwise work, so the cell declares no
``seqkit.Recurrence`` and runs on the python, graph and xla runners (``"auto"``: graph), not
the fused one.

    import seqkit
    cell = seqkit.make_cell("mgu", input_size=8, hidden_size=32)
"""

from __future__ import annotations

import seqkit
import tensorflow as tf
from seqkit.ops import gate_blocks, glorot_uniform, linear, orthogonal


def mgu_step(projected, h, weight_hh, bias_hh):
    """The recurrent part: ``projected`` = W x_t + b_i ``[B, 2H]``, ``h`` ``[B, H]``."""
    x_f, x_h = tf.split(projected, 2, axis=-1)
    u_f, u_h = tf.split(weight_hh, 2, axis=0)  # [H, H] each
    b_f, b_h = tf.split(bias_hh, 2, axis=0)
    f = tf.sigmoid(x_f + linear(h, u_f, b_f))
    candidate = tf.tanh(x_h + linear(f * h, u_h, b_h))
    return (1.0 - f) * h + f * candidate


class MGUCell(seqkit.ProjectedCell):
    """The MGU step: a GRU with one gate; the output is h_t and the state ``(h_t,)``."""

    def __init__(self, input_size, hidden_size, *, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        n_in, H = self.input_size, self.hidden_size  # H as in the equations
        self.weight_ih = tf.Variable(
            gate_blocks(glorot_uniform, 2, H, n_in, self.dtype), name="weight_ih"
        )
        self.weight_hh = tf.Variable(gate_blocks(orthogonal, 2, H, H, self.dtype), name="weight_hh")
        self.bias_ih = tf.Variable(tf.zeros([2 * H], self.dtype), name="bias_ih")
        self.bias_hh = tf.Variable(tf.zeros([2 * H], self.dtype), name="bias_hh")

    @property
    def state_size(self):
        return (self.hidden_size,)

    def project_inputs(self, inputs):
        """W x_t + b_i for every step at once: ``[..., I] -> [..., 2H]``."""
        return linear(inputs, self.weight_ih, self.bias_ih)

    def step(self, projected, state):
        (h,) = state
        h = mgu_step(projected, h, self.weight_hh, self.bias_hh)
        return h, (h,)


@seqkit.hookimpl
def seqkit_register_cells(register):
    register("mgu", MGUCell)
