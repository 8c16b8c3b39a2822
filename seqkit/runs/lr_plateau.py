"""The learning rate divided on a validation plateau (``train.lr_plateau_factor``), as word-level
language models are trained with SGD: after ``train.lr_plateau_patience`` validations in a row
without a new best validation loss, the rate is divided by the factor, never below
``train.lr_min``.

    plateau = PlateauState()                       # saved in every checkpoint (RunState's)
    note = plateau.after_validation(optimizer, val_loss, config["train"])
    # "learning rate 1 -> 0.25: validation has not improved for 1 validation"

Only the validations of the ``train.eval_every`` grid count (not the extra one at a run's last
step), so a run resumed past its end divides where an uninterrupted run would. The rate lives in
the optimizer's own variable, which every checkpoint holds; the count and the best loss live
here, so a resumed run goes on with both.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from seqkit.errors import ConfigError

OFF = 1.0  # train.lr_plateau_factor's default: the rate is never divided


class PlateauState(tf.Module):
    """The best validation loss on the ``eval_every`` grid and the validations since it."""

    def __init__(self):
        super().__init__(name="lr_plateau")
        self.best = tf.Variable(math.inf, dtype=tf.float64, trainable=False, name="best")
        self.stale = tf.Variable(0, dtype=tf.int64, trainable=False, name="stale")

    def after_validation(self, optimizer, loss: float, train: dict) -> str | None:
        """Count a validation's ``loss``; divide the optimizer's rate where the plateau has
        lasted ``train.lr_plateau_patience`` validations. The line to report, or None."""
        if train["lr_plateau_factor"] == OFF:
            return None
        if loss < float(self.best.numpy()):
            self.best.assign(loss)
            self.stale.assign(0)
            return None
        self.stale.assign_add(1)
        stale = int(self.stale.numpy())
        if stale < train["lr_plateau_patience"]:
            return None
        old = learning_rate(optimizer)
        new = max(old / train["lr_plateau_factor"], train["lr_min"])
        self.stale.assign(0)
        if not np.float32(new) < np.float32(old):  # as the optimizer's float32 variable holds it
            return None  # at the floor already: nothing to say again
        set_learning_rate(optimizer, new)
        times = "validation" if stale == 1 else "validations"
        return (
            f"learning rate {old:.6g} -> {new:.6g}: validation has not improved for "
            f"{stale} {times}" + (" (train.lr_min)" if new == train["lr_min"] else "")
        )


def learning_rate(optimizer) -> float:
    """The rate the optimizer uses next (a decayed schedule's current value)."""
    return float(tf.convert_to_tensor(optimizer.learning_rate))


def set_learning_rate(optimizer, value: float) -> None:
    """Set the optimizer's own rate variable, which its checkpoint holds (a constant rate's;
    check_plateau_keys keeps a schedule, train.lr_decay, out)."""
    optimizer.learning_rate = value


def check_plateau_keys(train: dict) -> None:
    """The plateau's keys agree with each other and with the fixed decay (one line each)."""
    factor, floor = train["lr_plateau_factor"], train["lr_min"]
    if factor == OFF:
        if floor:
            raise ConfigError(
                "train.lr_min floors the divisions of train.lr_plateau_factor, which is off "
                "(1): set train.lr_plateau_factor above 1 (4 divides by 4), or leave lr_min 0."
            )
        return
    if train["lr_decay"] != 1.0:
        raise ConfigError(
            "train.lr_decay and train.lr_plateau_factor both lower the learning rate: use one "
            "(train.lr_decay = 1 turns the fixed decay off)."
        )
    if floor >= train["lr"]:
        raise ConfigError(
            f"train.lr_min ({floor:g}) must be below train.lr ({train['lr']:g}), or the rate "
            "could never be divided."
        )
