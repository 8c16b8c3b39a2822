"""The minimal LSTM (Feng et al. 2024, "Were RNNs All We Needed?"): forget and input gates that
read the input only, normalised to sum to one, so that the state update is a diagonal linear
recurrence (no output gate, no cell state apart from h).

    f_t  = sigmoid(W_f x_t + b_f)
    i_t  = sigmoid(W_i x_t + b_i)
    h~_t = W_h x_t + b_h                  (g(W_h x_t + b_h) with log_space=True)
    f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
    h_t  = f'_t * h_{t-1} + i'_t * h~_t

Declared as a ``seqkit.LinearRecurrence``, a_t = f'_t and b_t = i'_t * h~_t; the normalised gates
are computed as f'_t = sigmoid(log f_t - log i_t), which equals f_t / (f_t + i_t) and does not
lose precision where both gates are small. ``log_space=True`` is the paper's log-space variant,
as for minGRU (``seqkit_plugins.mingru``): h~_t and the initial state through g.

Parameters in PyTorch's names: ``weight_ih`` [3H, I] (blocks f, i, h), ``bias_ih`` [3H].
"""

from __future__ import annotations

import tensorflow as tf

import seqkit
from seqkit_plugins.mingru import InputGatedCell


def minlstm_coefficients(projected: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """``projected`` [..., 3H] = [W_f x + b_f, W_i x + b_i, h~] -> (f'_t, i'_t * h~_t)."""
    k_f, k_i, candidate = tf.split(projected, 3, axis=-1)
    log_f = -tf.nn.softplus(-k_f)  # log sigmoid(k_f)
    log_i = -tf.nn.softplus(-k_i)
    return tf.sigmoid(log_f - log_i), tf.sigmoid(log_i - log_f) * candidate


class MinLSTMCell(InputGatedCell):
    """minLSTM: h_t = f'_t * h_{t-1} + i'_t * h~_t, gates from x_t alone, normalised."""

    blocks = 3  # f, i, h~
    coefficients = staticmethod(minlstm_coefficients)


@seqkit.hookimpl
def seqkit_register_cells(register):
    register("minlstm", MinLSTMCell)
