"""The Huber loss (Huber, 1964): squared error near zero, absolute error past ``delta``.

    e_t = y_t - target_t
    L_t = mean over features of  0.5 e^2                    where |e| <= delta
                                 delta (|e| - 0.5 delta)    elsewhere

The loss is the mean of L_t over the steps where the mask is true. Outputs and targets are
``[B, T, O]`` (or ``[B, T]`` targets for one output).

    loss = seqkit.make_loss("huber", delta=0.5)
    trainer = seqkit.Trainer(model, loss=loss)
"""

from __future__ import annotations

import seqkit
import tensorflow as tf
from seqkit.errors import OptionError, ShapeError


class Huber(seqkit.Loss):
    """Huber loss per step, averaged over the counted steps and the batch."""

    def __init__(self, delta: float = 1.0):
        if isinstance(delta, bool) or not isinstance(delta, int | float) or not delta > 0:
            raise OptionError(f"huber: delta must be a positive number, got {delta!r}.")
        self.delta = float(delta)

    def __call__(self, targets, outputs, mask=None):
        outputs = tf.convert_to_tensor(outputs)
        targets = tf.cast(targets, outputs.dtype)
        if targets.shape.rank == 2 and outputs.shape.rank == 3 and outputs.shape[-1] == 1:
            targets = targets[..., None]
        if outputs.shape.rank != 3 or targets.shape != outputs.shape:
            raise ShapeError(
                f"huber: outputs and targets must both be [batch, time, features], got "
                f"{outputs.shape} and {targets.shape}."
            )
        error = tf.abs(outputs - targets)
        quadratic = tf.minimum(error, self.delta)
        per_step = tf.reduce_mean(0.5 * quadratic**2 + self.delta * (error - quadratic), -1)
        if mask is None:
            return tf.reduce_mean(per_step)
        weights = tf.cast(mask, per_step.dtype)
        return tf.reduce_sum(per_step * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)

    def __repr__(self) -> str:
        return f"Huber(delta={self.delta})"


@seqkit.hookimpl
def seqkit_register_losses(register):
    register("huber", Huber)
