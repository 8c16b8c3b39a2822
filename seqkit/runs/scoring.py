"""What a run is scored by, defined once: the mean of the run's own loss (``train.loss``) over
data, the metrics the task derives from that loss where it is the task's own (bits per
character, MSE), the task's own counts (accuracy), and for a task whose output is decoded
(``DecodingTask``: seq2seq, transcribe) the metrics of decoded output (exact match, label
error rate). Validation, ``seqkit eval``
(``Run.evaluate``) and the choice of the best checkpoint all use ``Scorer``.

    scorer = Scorer(task, loss, derived=True)
    scores = scorer(model, task.eval_batches(32))     # {"loss": 1.24, "bpc": 1.79}
"""

from __future__ import annotations

from collections.abc import Sequence

from seqkit.decoding.scores import evaluate_decoded
from seqkit.interfaces import DecodingTask, Loss, SequenceBatch, Task
from seqkit.training.evaluation import evaluate


class Scorer:
    """The run's figures of a model on some batches: ``{"loss": ..., **metrics}``."""

    def __init__(self, task: Task, loss: Loss, derived: bool, beam_width: int = 1):
        self.task, self.loss = task, loss
        self.derived = derived  # the loss is the task's own, so its derived metrics hold
        self.beam_width = beam_width  # a decoding task's: 1 greedy, more a beam search

    def derive(self, mean_loss: float) -> dict[str, float]:
        """The metrics derived from a mean loss (bpc), without a repeat of the loss."""
        if not self.derived:
            return {}
        return {k: v for k, v in self.task.metrics(mean_loss).items() if k != "loss"}

    def __call__(self, model, batches: Sequence[SequenceBatch]) -> dict[str, float]:
        result = evaluate(model, self.loss, batches, counts=self.task.counts)
        loss = result.pop("loss", float("nan"))
        scores = {"loss": loss, **self.derive(loss), **result}
        if isinstance(self.task, DecodingTask):  # what the model makes of a source by itself
            scores.update(evaluate_decoded(model, self.task, batches, self.beam_width))
        return scores

    def names(self, model, batches: Sequence[SequenceBatch]) -> list[str]:
        """The names the scores will have, from scoring a sliver of ``batches`` (two rows, a
        few steps): the columns of metrics.csv are known before training."""
        from seqkit.runs.checks import sliver

        return list(self(model, [sliver(batches[0], self.loss.per_step)]))
