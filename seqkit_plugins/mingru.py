"""The minimal GRU (Feng et al. 2024, "Were RNNs All We Needed?"): gates that read the input
only, so that the state update is a diagonal linear recurrence.

    z_t  = sigmoid(W_z x_t + b_z)
    h~_t = W_h x_t + b_h                  (g(W_h x_t + b_h) with log_space=True)
    h_t  = (1 - z_t) * h_{t-1} + z_t * h~_t

The step is declared as a ``seqkit.LinearRecurrence``, a_t = 1 - z_t and b_t = z_t * h~_t, which
the ``scan`` runner computes for all steps at once and every other runner step by step.

``log_space=True`` is the paper's log-space variant: h~_t = g(W_h x_t + b_h) with
g(x) = x + 0.5 for x >= 0 and sigmoid(x) otherwise, and the initial state g(0) = 0.5, so that
every h_t is positive (the paper computes log h_t with a log-space scan). seqkit's scan runs in
linear space either way; the option changes the cell's equations, not how they are computed.
A state passed in (a carried state) is h itself and is not passed through g again.

Parameters in PyTorch's names: ``weight_ih`` [2H, I] (blocks z, h), ``bias_ih`` [2H]; there is
no ``weight_hh``.
"""

from __future__ import annotations

import tensorflow as tf

import seqkit
from seqkit.errors import OptionError
from seqkit.ops import gate_blocks, glorot_uniform, linear


def positive_activation(x: tf.Tensor) -> tf.Tensor:
    """The paper's g: x + 0.5 for x >= 0, sigmoid(x) below (continuous, positive, g(0) = 0.5)."""
    return tf.where(x >= 0, x + 0.5, tf.sigmoid(x))


def mingru_coefficients(projected: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """``projected`` [..., 2H] = [W_z x + b_z, h~] -> (a = 1 - z, b = z * h~), each [..., H]."""
    k, candidate = tf.split(projected, 2, axis=-1)
    return tf.sigmoid(-k), tf.sigmoid(k) * candidate  # 1 - sigmoid(k) = sigmoid(-k), exactly


def check_log_space(kind: str, log_space) -> bool:
    """``log_space`` as a bool, or an OptionError naming the cell."""
    if not isinstance(log_space, bool):
        raise OptionError(f"{kind}: log_space must be true or false, got {log_space!r}.")
    return log_space


class InputGatedCell(seqkit.ProjectedCell):
    """The part minGRU and minLSTM share: ``blocks`` projections of x_t (the gates, then h~_t),
    and a state update h_t = a_t * h_{t-1} + b_t with (a_t, b_t) = ``coefficients`` of them."""

    blocks: int  # the projected blocks: the gates, then h~
    coefficients: staticmethod  # projected [..., blocks*H] -> (a, b), each [..., H]

    def __init__(self, input_size, hidden_size, *, log_space=False, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        self.log_space = check_log_space(type(self).__name__, log_space)
        n_in, H, G = self.input_size, self.hidden_size, self.blocks  # noqa: N806 (as in the maths)
        self.weight_ih = tf.Variable(
            gate_blocks(glorot_uniform, G, H, n_in, self.dtype), name="weight_ih"
        )
        self.bias_ih = tf.Variable(tf.zeros([G * H], self.dtype), name="bias_ih")

    @property
    def state_size(self):
        return (self.hidden_size,)

    def initial_state(self, batch_size, dtype=None):
        """Zeros; with ``log_space`` g(0) = 0.5, the paper's g applied to the zero state."""
        (h,) = super().initial_state(batch_size, dtype)
        return (h + 0.5,) if self.log_space else (h,)

    def project_inputs(self, inputs):
        """``[..., I] -> [..., G*H]``: the gates' pre-activations, then h~ (through g in log
        space), the last block."""
        projected = linear(inputs, self.weight_ih, self.bias_ih)
        if not self.log_space:
            return projected
        gates, candidate = tf.split(projected, [-1, self.hidden_size], axis=-1)
        return tf.concat([gates, positive_activation(candidate)], axis=-1)

    @property
    def linear_recurrence(self):
        return seqkit.LinearRecurrence(self.coefficients)

    def step(self, projected, state):
        return self.linear_recurrence.step(projected, state)


class MinGRUCell(InputGatedCell):
    """minGRU: h_t = (1 - z_t) * h_{t-1} + z_t * h~_t with z_t and h~_t from x_t alone."""

    blocks = 2  # z, h~
    coefficients = staticmethod(mingru_coefficients)


@seqkit.hookimpl
def seqkit_register_cells(register):
    register("mingru", MinGRUCell)
