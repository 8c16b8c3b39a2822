"""The ``ctc`` loss: connectionist temporal classification (Graves et al., 2006), for labels
shorter than the input and not aligned with it (speech to text).

    loss = seqkit.make_loss("ctc")
    value = loss(labels, logits, mask)      # labels [B, L], logits [B, T, C], mask [B, T]

The outputs are per-frame logits over C classes, of which class 0 is the blank
(``seqkit.decoding.ctc.BLANK``) and 1..C-1 the labels. A sequence's loss is
-log p(labels | frames), summed over every alignment of its labels to its frames (blanks
between and around them, each label over one or more frames) by TensorFlow's
``tf.nn.ctc_loss`` (in float32, the one type it takes); the loss is the mean over the
sequences, in the outputs' type.

The targets are label ids ``[B, L]``, each row padded after its labels with 0 (the blank is
never a label), so that a row's label count is its number of non-zero ids. A row's frame
count is its number of true steps in ``mask`` (a prefix; every frame without one). A row needs
at least as many frames as labels, plus one between each pair of equal neighbours; with fewer
its loss is infinite. A row with no frames does not count. The loss is on the whole sequence
(``per_step = False``): a trainer computes it only in the window that ends the sequence, and
``bptt`` gives that window the whole sequence.
"""

from __future__ import annotations

import tensorflow as tf

import seqkit
from seqkit.decoding.ctc import BLANK
from seqkit.errors import ShapeError


class CTCLoss(seqkit.Loss):
    """The mean over sequences of the CTC negative log-likelihood of their labels."""

    per_step = False  # one loss per sequence, from all its frames

    def __call__(self, targets, outputs, mask=None):
        outputs = tf.convert_to_tensor(outputs)
        targets = tf.convert_to_tensor(targets)
        if outputs.shape.rank != 3:
            raise ShapeError(
                f"ctc: outputs must be [batch, frames, classes] logits, got shape {outputs.shape}."
            )
        if targets.shape.rank != 2 or not targets.dtype.is_integer:
            raise ShapeError(
                "ctc: targets must be [batch, labels] integer label ids padded with 0 (the "
                f"blank), got shape {targets.shape} of {targets.dtype.name}."
            )
        targets = tf.cast(targets, tf.int32)
        label_lengths = tf.reduce_sum(tf.cast(targets != BLANK, tf.int32), axis=1)
        if mask is None:
            frame_lengths = tf.fill([tf.shape(outputs)[0]], tf.shape(outputs)[1])
        else:
            frame_lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        losses = tf.nn.ctc_loss(
            labels=targets,
            logits=tf.cast(outputs, tf.float32),  # the only type TensorFlow's CTC takes
            label_length=label_lengths,
            logit_length=frame_lengths,
            logits_time_major=False,
            blank_index=BLANK,
        )  # [B]
        counted = frame_lengths > 0
        total = tf.reduce_sum(tf.where(counted, losses, tf.zeros_like(losses)))
        mean = total / tf.maximum(tf.reduce_sum(tf.cast(counted, losses.dtype)), 1.0)
        return tf.cast(mean, outputs.dtype)


@seqkit.hookimpl
def seqkit_register_losses(register):
    register("ctc", CTCLoss)
