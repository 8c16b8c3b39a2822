"""The vanilla (Elman) recurrent cell.

    h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

``act`` is ``tanh`` (the default, as in ``torch.nn.RNNCell``), ``sigmoid`` (the classic
formulation) or ``relu``. The step is declared as a ``seqkit.Recurrence``: the matmul
W_hh h_{t-1}, then ``vanilla_pointwise``, which the fused runner runs too. Parameters in
PyTorch's names and layouts: ``weight_ih`` [H, I], ``weight_hh`` [H, H], ``bias_ih`` [H],
``bias_hh`` [H].
"""

from __future__ import annotations

from functools import partial

import tensorflow as tf

import seqkit
from seqkit.ops import glorot_uniform, linear, orthogonal
from seqkit.validation import one_of
from seqkit_plugins.native_kernels import VANILLA_NATIVE

ACTIVATIONS = {"tanh": tf.tanh, "sigmoid": tf.sigmoid, "relu": tf.nn.relu}


def vanilla_pointwise(projected, recurrent, state, activation=tf.tanh):
    """The step after the recurrent matmul: ``projected`` = W_ih x_t + b_ih + b_hh and
    ``recurrent`` = W_hh h_{t-1}, both ``[B, H]``."""
    h = activation(projected + recurrent)
    return h, (h,)


# One pointwise function per activation, made once.
POINTWISE = {name: partial(vanilla_pointwise, activation=f) for name, f in ACTIVATIONS.items()}


class VanillaCell(seqkit.ProjectedCell):
    """h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh); the output is h_t."""

    def __init__(self, input_size, hidden_size, *, activation="tanh", dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        one_of("VanillaCell: activation", activation, sorted(ACTIVATIONS))
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

    @property
    def recurrence(self):
        # b_hh is in project_inputs; step comes from this declaration
        native = VANILLA_NATIVE[self.activation]
        return seqkit.Recurrence(self.weight_hh, POINTWISE[self.activation], native_kernel=native)


@seqkit.hookimpl
def seqkit_register_cells(register):
    register("vanilla", VanillaCell)
