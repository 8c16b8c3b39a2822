"""The vanilla (Elman) recurrent cell.

    h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

``act`` is ``tanh`` (the default, as in ``torch.nn.RNNCell``), ``sigmoid`` (the classic
formulation) or ``relu``. Parameters in PyTorch's names and layouts: ``weight_ih`` [H, I],
``weight_hh`` [H, H], ``bias_ih`` [H], ``bias_hh`` [H].
"""

from __future__ import annotations

import tensorflow as tf

import seqkit
from seqkit.errors import OptionError
from seqkit.ops import glorot_uniform, linear, orthogonal

ACTIVATIONS = {"tanh": tf.tanh, "sigmoid": tf.sigmoid, "relu": tf.nn.relu}


def vanilla_step(projected, h, weight_hh, activation):
    """The recurrent part: ``projected`` = W_ih x_t + b_ih + b_hh ``[B, H]``, ``h`` ``[B, H]``."""
    return activation(projected + tf.matmul(h, weight_hh, transpose_b=True))


class VanillaCell(seqkit.ProjectedCell):
    """h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh); the output is h_t."""

    def __init__(self, input_size, hidden_size, *, activation="tanh", dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        if activation not in ACTIVATIONS:
            raise OptionError(
                f"VanillaCell: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}."
            )
        self.activation = activation
        n_in, H = self.input_size, self.hidden_size  # noqa: N806 (H as in the equations)
        self.weight_ih = tf.Variable(glorot_uniform(H, n_in, self.dtype), name="weight_ih")
        self.weight_hh = tf.Variable(orthogonal(H, H, self.dtype), name="weight_hh")
        self.bias_ih = tf.Variable(tf.zeros([H], self.dtype), name="bias_ih")
        self.bias_hh = tf.Variable(tf.zeros([H], self.dtype), name="bias_hh")

    @property
    def state_size(self):
        return (self.hidden_size,)

    def project_inputs(self, inputs):
        return linear(inputs, self.weight_ih, self.bias_ih + self.bias_hh)

    def step(self, projected, state):
        (h,) = state
        h = vanilla_step(projected, h, self.weight_hh, ACTIVATIONS[self.activation])
        return h, (h,)


@seqkit.hookimpl
def seqkit_register_cells(register):
    register("vanilla", VanillaCell)
