"""``RunSession``: what a run does around each update of its trainer.

Every ``train.log_every`` updates a training row (metrics.csv, TensorBoard, the progress
report); every ``train.eval_every`` a validation (scores, the best checkpoint, a short sample
for a language model, the plot, the learning rate divided on a plateau); every
``train.checkpoint_every`` a checkpoint; after every update a look at the signals (SIGINT,
SIGTERM stop training after the update). What the rows accumulate lives in ``RunState``, saved
in every checkpoint, so that a resumed run writes the rows of an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

from seqkit.interfaces import SequenceBatch, Task
from seqkit.runs.checkpoints import RunCheckpoints
from seqkit.runs.logs import Board, MetricsLog, SampleLog
from seqkit.runs.lr_plateau import PlateauState, learning_rate
from seqkit.runs.plot import write_plot
from seqkit.runs.reporting import Progress
from seqkit.runs.scoring import Scorer
from seqkit.runs.signals import Interrupts
from seqkit.training.callbacks import Callback


class RunState(tf.Module):
    """The sums of the current training row's updates, the best validation loss so far, and
    the learning rate's plateau (``seqkit.runs.lr_plateau``)."""

    def __init__(self):
        super().__init__(name="run_state")

        def variable(value, dtype, name):
            return tf.Variable(value, dtype=dtype, trainable=False, name=name)

        self.loss_sum = variable(0.0, tf.float64, "loss_sum")
        self.norm_sum = variable(0.0, tf.float64, "norm_sum")
        self.count = variable(0, tf.int64, "count")  # applied updates since the last row
        self.best_val_loss = variable(math.inf, tf.float64, "best_val_loss")
        self.plateau = PlateauState()

    def before_plateau(self) -> tf.Module:
        """The state as checkpoints made before the plateau's state hold it (the same
        variables), to resume a run from such a checkpoint with a fresh plateau."""
        older = tf.Module(name="run_state")
        older.loss_sum, older.norm_sum = self.loss_sum, self.norm_sum
        older.count, older.best_val_loss = self.count, self.best_val_loss
        return older

    def add(self, loss: float, norm: float) -> None:
        self.loss_sum.assign_add(loss)
        self.norm_sum.assign_add(norm)
        self.count.assign_add(1)

    def take(self, reset: bool = True) -> tuple[float, float] | None:
        """The mean loss and gradient norm since the last row (None for no update); reset,
        unless the row only ends the run (a resume that trains further goes on with the sums
        in its checkpoint, so that its rows are those of a run that never stopped)."""
        count = int(self.count.numpy())
        means = None
        if count:
            means = float(self.loss_sum.numpy()) / count, float(self.norm_sum.numpy()) / count
        if not reset:
            return means
        self.loss_sum.assign(0.0)
        self.norm_sum.assign(0.0)
        self.count.assign(0)
        return means


@dataclass
class Sampling:
    """How a language-model run samples: ``sample(length) -> text`` and the settings."""

    sample: Callable[[int], str]
    length: int
    temperature: float


@dataclass
class RunParts:
    """What a session works with; built by ``seqkit.runs.training``."""

    train: dict  # the config's [train] section
    task: Task
    model: object
    scorer: Scorer
    eval_data: list[SequenceBatch]
    checkpoints: RunCheckpoints
    state: RunState
    metrics: MetricsLog
    board: Board
    samples: SampleLog | None
    sampling: Sampling | None
    baselines: dict


class RunSession(Callback):
    """The trainer callback that logs, validates, checkpoints and minds the signals."""

    def __init__(self, parts: RunParts, progress: Progress, interrupts: Interrupts,
                 on_first_update: Callable[[], None] = lambda: None):  # fmt: skip
        self.parts, self.progress, self.interrupts = parts, progress, interrupts
        self.on_first_update = on_first_update
        self.validated_step = -1
        self._first = True
        self._tokens, self._seconds = 0, 0.0

    def on_train_begin(self, trainer) -> None:
        self.progress.phase("compiling")

    def on_update_end(self, trainer, logs) -> None:
        step, parts, train = logs["step"], self.parts, self.parts.train
        if self._first:
            self._first = False
            self.on_first_update()
            self.progress.phase("training")
        if logs.get("skipped"):
            self.progress.note(
                f"step {step}: the loss or gradient is not finite ({logs['loss']}); "
                "update skipped (train.nonfinite = 'skip')."
            )
        else:
            parts.state.add(logs["loss"], logs["grad_norm"])
        self._tokens += logs["tokens"]
        self._seconds += logs["seconds"]
        self.progress.update(step, train["steps"], logs)
        row = {}
        last = step == train["steps"]  # the last rows hold the rest of the updates
        if step % train["log_every"] == 0 or last:
            row.update(self.training_row(trainer, step, reset=step % train["log_every"] == 0))
        if step % train["eval_every"] == 0 or last:
            row.update(self.validate(trainer, step))
        self.write_row(step, row)
        if step % train["checkpoint_every"] == 0:
            self.checkpoint(step)
        if self.interrupts.received:
            trainer.stop_training = True

    def training_row(self, trainer, step: int, reset: bool = True) -> dict:
        means = self.parts.state.take(reset)
        if means is None:
            return {}
        loss, norm = means
        rate = self._tokens / self._seconds if self._seconds > 0 else None
        self._tokens, self._seconds = 0, 0.0
        row = {
            "train_loss": loss,
            "tokens_per_s": rate,
            "lr": current_lr(trainer),
            "grad_norm": norm,
        }
        row.update({f"train_{k}": v for k, v in self.parts.scorer.derive(loss).items()})
        self.progress.logged(step, self.parts.train["steps"], row)
        return row

    def validate(self, trainer, step: int) -> dict:
        parts = self.parts
        self.progress.phase("validating")
        scores = parts.scorer(parts.model, parts.eval_data)
        best = scores["loss"] < float(parts.state.best_val_loss.numpy())
        if best:
            parts.state.best_val_loss.assign(scores["loss"])
            parts.checkpoints.save_best(step)
        text = None
        if parts.sampling is not None:
            self.progress.phase("sampling")
            text = parts.sampling.sample(max(parts.sampling.length // 5, 1))
            parts.samples.append(f"step {step}", text, parts.sampling.temperature)
        parts.board.write(step, {f"val/{k}": v for k, v in scores.items()}, text)
        self.validated_step = step
        self.progress.validated(step, scores, best, text)
        if step % parts.train["eval_every"] == 0:  # the grid's: a resume past the end repeats it
            change = parts.state.plateau.after_validation(
                trainer.optimizer, scores["loss"], parts.train
            )
            if change is not None:
                self.progress.note(f"step {step}: {change}")
        self.progress.phase("training")
        return {"lr": current_lr(trainer), **{f"val_{k}": v for k, v in scores.items()}}

    def write_row(self, step: int, row: dict) -> None:
        if not row:
            return
        parts = self.parts
        parts.metrics.write(step, row)
        scalars = {  # the validation's scalars went to TensorBoard with its sample
            "train/" + k.removeprefix("train_"): v
            for k, v in row.items()
            if v is not None and not k.startswith("val_")
        }
        if scalars:
            parts.board.write(step, scalars)
        if any(k.startswith("val_") for k in row):
            write_plot(parts.metrics.run, parts.metrics.rows(), parts.baselines)

    def checkpoint(self, step: int) -> None:
        self.progress.phase("checkpointing")
        self.parts.checkpoints.save_last(step)
        self.progress.phase("training")


def current_lr(trainer) -> float:
    """The learning rate the optimizer uses next (a decayed schedule's current value)."""
    return learning_rate(trainer.optimizer)
