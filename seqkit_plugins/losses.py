"""Losses: the mean of the per-step losses L_t over the counted steps and the batch.

    cross-entropy   L_t = -log softmax(y_t)[target_t], from logits and integer targets
    mse             L_t = mean over features of (y_t - target_t)^2

Each takes ``last_step=True`` for one label per sequence: only the last counted step of each
sequence (the last step where the mask is true) has a loss, and targets are ``[B]`` or ``[B, O]``.
The mean over counted steps makes grad L = 1/N sum_t grad L_t.
"""

from __future__ import annotations

import tensorflow as tf

import seqkit
from seqkit.errors import ShapeError
from seqkit.ops import last_counted_step


def masked_mean(values: tf.Tensor, mask: tf.Tensor | None) -> tf.Tensor:
    """The mean of ``values`` ``[B, T]`` over the steps where ``mask`` is true (0 if none)."""
    if mask is None:
        return tf.reduce_mean(values)
    weights = tf.cast(mask, values.dtype)
    return tf.reduce_sum(values * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)


class _StepLoss(seqkit.Loss):
    """A loss built from a per-step loss function ``[B, T, ...] -> [B, T]``."""

    name = ""
    last_step_ranks: tuple[int, ...] = ()
    last_step_shapes = ""

    def __init__(self, last_step: bool = False):
        self.last_step = bool(last_step)
        self.per_step = not self.last_step

    def per_step_losses(self, targets: tf.Tensor, outputs: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def __call__(self, targets, outputs, mask=None):
        outputs = tf.convert_to_tensor(outputs)
        if outputs.shape.rank != 3:
            raise ShapeError(
                f"{self.name}: outputs must be [batch, time, features], got shape {outputs.shape}."
            )
        if self.last_step:
            targets = tf.convert_to_tensor(targets)
            if targets.shape.rank not in self.last_step_ranks:
                raise ShapeError(
                    f"{self.name}: with last_step=True the targets are one per sequence, "
                    f"{self.last_step_shapes}; got shape {targets.shape}."
                )
            mask_any = None if mask is None else tf.reduce_any(tf.cast(mask, tf.bool), axis=1)
            outputs = last_counted_step(outputs, mask)[:, None]
            targets = targets[:, None]
            return masked_mean(self.per_step_losses(targets, outputs), _col(mask_any))
        return masked_mean(self.per_step_losses(targets, outputs), mask)


def _col(mask):
    return None if mask is None else mask[:, None]


class CrossEntropy(_StepLoss):
    """Softmax cross-entropy from logits ``[B, T, C]`` and integer targets ``[B, T]``."""

    name = "cross-entropy"
    last_step_ranks, last_step_shapes = (1,), "[batch] class ids"

    def per_step_losses(self, targets, outputs):
        targets = tf.convert_to_tensor(targets)
        if not targets.dtype.is_integer:
            raise ShapeError(
                f"cross-entropy: targets must be integer class ids, got {targets.dtype.name}."
            )
        if targets.shape.rank != 2:
            raise ShapeError(
                f"cross-entropy: targets must be [batch, time] class ids (or [batch] with "
                f"last_step=True), got shape {targets.shape}."
            )
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=outputs)


class MeanSquaredError(_StepLoss):
    """Squared error averaged over features: outputs and targets ``[B, T, O]``."""

    name = "mse"
    last_step_ranks, last_step_shapes = (1, 2), "[batch] or [batch, features]"

    def per_step_losses(self, targets, outputs):
        targets = tf.cast(targets, outputs.dtype)
        if targets.shape.rank == 2 and outputs.shape[-1] == 1:  # [B, T] targets for 1 output
            targets = targets[..., None]
        if targets.shape.rank != 3:
            raise ShapeError(
                f"mse: targets must be [batch, time, features] (or [batch, features] with "
                f"last_step=True), got shape {targets.shape}."
            )
        return tf.reduce_mean(tf.square(outputs - targets), axis=-1)


@seqkit.hookimpl
def seqkit_register_losses(register):
    register("cross-entropy", CrossEntropy)
    register("mse", MeanSquaredError)
