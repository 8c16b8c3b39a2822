"""Where training is, as variables: what a checkpoint must hold for a resumed run to go on
exactly where the interrupted one stopped."""

from __future__ import annotations

import tensorflow as tf


class TrainingProgress(tf.Module):
    """The update count, the position in the data, and the state the next window starts from.

    ``epoch`` counts finished passes over the data, ``batch`` the finished batches of the
    current pass, ``window`` the next window of the current batch. ``carried`` holds, flat, the
    state at step ``carried_at`` of the current batch (one variable per state tensor of the
    model, any batch size). Save it with the model and the optimizer in a
    ``tf.train.Checkpoint``.
    """

    def __init__(self, state_sizes: list[int], dtype=tf.float32):
        super().__init__(name="progress")

        def counter(name):
            return tf.Variable(0, dtype=tf.int64, trainable=False, name=name)

        self.step, self.epoch, self.batch, self.window = (
            counter(n) for n in ("step", "epoch", "batch", "window")
        )
        self.carried_at = tf.Variable(-1, dtype=tf.int64, trainable=False, name="carried_at")
        self.carried = [
            tf.Variable(
                tf.zeros([0, n], dtype),
                shape=tf.TensorShape([None, n]),
                trainable=False,
                name=f"carried_{i}",
            )
            for i, n in enumerate(state_sizes)
        ]

    def carry(self, position: int, state) -> None:
        """Remember ``state`` as the state at step ``position`` of the current batch."""
        self.carried_at.assign(position)
        for variable, value in zip(self.carried, tf.nest.flatten(state), strict=True):
            variable.assign(value)

    def record(self, state, after, when=True) -> tf.Tensor:
        """In a compiled update: the update is done, ``after`` ``[3]`` int64 is
        ``(next window, position, end)`` (``WindowJob.after``): count it, remember ``state`` as
        the state at step ``position``, and go on to the next window; ``end`` 1: to the next
        batch (as ``next_batch``), 2: to the next pass (as ``next_epoch``). Nothing where
        ``when`` (a bool tensor) is false. Returns ``[step, epoch]``: the updates counted, and
        the pass this update belongs to.

        Recorded inside the update's graph: as eager ops (an assign each, and the reads for the
        update's logs) it took ~1.5 ms of every update of config A's LSTM step
        (``benchmarks/compare.py``)."""
        epoch = self.epoch.read_value()

        def write():
            next_window, position, end = tf.unstack(after)
            done, new_pass = end > 0, end > 1
            zero = tf.constant(0, tf.int64)
            self.step.assign_add(1)
            self.epoch.assign_add(tf.cast(new_pass, tf.int64))
            self.batch.assign(tf.where(new_pass, zero, self.batch + tf.cast(done, tf.int64)))
            self.window.assign(tf.where(done, zero, next_window))
            self.carried_at.assign(tf.where(done, tf.constant(-1, tf.int64), position))
            for variable, value in zip(self.carried, tf.nest.flatten(state), strict=True):
                variable.assign(value)
            return tf.constant(True)

        if when is True:
            write()
        else:
            tf.cond(when, write, lambda: tf.constant(False))
        return tf.stack([self.step.read_value(), epoch])  # in order: automatic control deps

    def carried_state(self, like):
        """The carried state, in the structure of ``like`` (a state of the model)."""
        return tf.nest.pack_sequence_as(like, [v.read_value() for v in self.carried])

    def next_batch(self) -> None:
        self.batch.assign_add(1)
        self.window.assign(0)
        self.carried_at.assign(-1)

    def next_epoch(self) -> None:
        self.epoch.assign_add(1)
        self.batch.assign(0)
        self.window.assign(0)
        self.carried_at.assign(-1)
