"""Scoring decoded output: a ``DecodingTask`` decodes each batch and counts its metrics.

    scores = evaluate_decoded(model, task, task.eval_batches(64))              # greedy
    scores = evaluate_decoded(model, task, task.eval_batches(64), beam_width=4)
    scores["exact_match"], scores["token_accuracy"]     # seq2seq; transcribe: label_error_rate

The loss (teacher forced, or CTC) comes from ``seqkit.training.evaluation.evaluate``; these are the
metrics of what the model produces by itself, which a user of the model sees.
"""

from __future__ import annotations

from collections.abc import Iterable

from seqkit.errors import OptionError
from seqkit.interfaces import DecodingTask, SequenceBatch
from seqkit.means import Means
from seqkit.validation import whole_number


def evaluate_decoded(
    model, task: DecodingTask, batches: Iterable[SequenceBatch], beam_width: int = 1
) -> dict[str, float]:
    """``{metric: sum(total) / sum(count)}`` of ``task.decoded_counts`` over ``batches``,
    decoded by ``task.decode`` (greedy for ``beam_width`` 1, else beam search)."""
    if not isinstance(task, DecodingTask):
        raise OptionError(
            f"evaluate_decoded: the task {type(task).__name__} does not decode sequences (it is "
            "no seqkit.interfaces.DecodingTask); use seqkit.training.evaluation.evaluate for "
            "its metrics."
        )
    beam_width = whole_number("evaluate_decoded: beam_width", beam_width, minimum=1)
    means = Means()
    for batch in batches:
        predicted = task.decode(model, batch, beam_width)
        means.add_all(task.decoded_counts(batch, predicted))
    return means.result()
