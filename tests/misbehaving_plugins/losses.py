"""Losses that break their contract at run time, each in one way (tests/test_bad_plugins.py).

The sliver a run checks a loss on before training has 2 rows and at most 16 steps; training
windows have train.batch_size rows; validation scores chunks of the whole validation streams.
"""

import sys

import tensorflow as tf

import seqkit


def cross_entropy(targets, outputs, mask=None):
    """The mean softmax cross-entropy over [B, T] (mask ignored: these tasks have none)."""
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(targets, tf.int32), logits=outputs
    )
    return losses


class VectorForLargeBatches(seqkit.Loss):
    """One number for 2 rows, but a loss per row for more."""

    def __call__(self, targets, outputs, mask=None):
        per_row = tf.reduce_mean(cross_entropy(targets, outputs), axis=1)
        return tf.reduce_mean(per_row) if outputs.shape[0] == 2 else per_row


class RaisesForLargeBatches(seqkit.Loss):
    """Raises for a batch of more than 2 rows."""

    def __call__(self, targets, outputs, mask=None):
        if outputs.shape[0] != 2:
            raise ValueError(f"this loss takes batches of 2, not {outputs.shape[0]}")
        return tf.reduce_mean(cross_entropy(targets, outputs))


class RaisesForLongSequences(seqkit.Loss):
    """Raises for more than 16 steps: training works, validation (longer chunks) does not."""

    def __call__(self, targets, outputs, mask=None):
        if outputs.shape[1] is not None and outputs.shape[1] > 16:
            raise ValueError(f"this loss takes at most 16 steps, not {outputs.shape[1]}")
        return tf.reduce_mean(cross_entropy(targets, outputs))


class ExitsInValidation(RaisesForLongSequences):
    """Ends the program (sys.exit) where the other one raises: in validation."""

    def __call__(self, targets, outputs, mask=None):
        if outputs.shape[1] is not None and outputs.shape[1] > 16:
            sys.exit(3)
        return super().__call__(targets, outputs, mask)


class PythonFloat(seqkit.Loss):
    """Returns a Python float (works eagerly, not inside a compiled step)."""

    def __call__(self, targets, outputs, mask=None):
        return float(tf.reduce_mean(cross_entropy(targets, outputs)))


class NanLoss(seqkit.Loss):
    """NaN from the first step: log of a negative number."""

    def __call__(self, targets, outputs, mask=None):
        return tf.reduce_mean(cross_entropy(targets, outputs)) + tf.math.log(-1.0)


@seqkit.hookimpl
def seqkit_register_losses(register):
    register("bad-vector", VectorForLargeBatches)
    register("bad-raises-for-batches", RaisesForLargeBatches)
    register("bad-raises-in-validation", RaisesForLongSequences)
    register("bad-exits-in-validation", ExitsInValidation)
    register("bad-python-float", PythonFloat)
    register("bad-nan", NanLoss)
