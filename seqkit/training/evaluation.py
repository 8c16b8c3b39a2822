"""Forward-only evaluation: the mean loss and a task's own metrics over a set of batches.

    result = evaluate(model, loss, task.eval_batches(32), counts=task.counts)
    result["loss"], result["accuracy"]

Long streams run ``chunk`` steps at a time with the state carried, so memory does not grow with
the stream; the mean weighs every counted step (or, for a last-step loss, every sequence)
equally, whatever the chunking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import tensorflow as tf

from seqkit.data.token_streams import Streams, as_tensor
from seqkit.interfaces import Loss, SequenceBatch
from seqkit.interfaces.task import as_batches
from seqkit.means import Means
from seqkit.training.window_walk import scalar_loss

Counts = Callable[..., dict[str, tuple[float, float]]]


def evaluate(
    model,
    loss: Loss,
    data: SequenceBatch | Iterable[SequenceBatch],
    counts: Counts | None = None,
    chunk: int = 256,
) -> dict[str, float]:
    """``{"loss": mean loss, **task metrics}`` of ``model`` on ``data``, forward only."""
    totals = Means()
    for batch in as_batches(data, "evaluate"):
        lazy = isinstance(batch.inputs, Streams)  # long streams: read a chunk at a time
        inputs = batch.inputs if lazy else tf.convert_to_tensor(batch.inputs)
        targets = batch.targets if lazy else tf.convert_to_tensor(batch.targets)
        mask = None if batch.mask is None else tf.convert_to_tensor(batch.mask, tf.bool)
        rows, length = int(inputs.shape[0]), int(inputs.shape[1])
        extra = {} if batch.context is None else {"context": batch.context}
        if not loss.per_step:  # one label per sequence: the whole sequence at once
            outputs, _ = model(as_tensor(inputs), mask=mask, **extra)
            value = scalar_loss(loss, as_tensor(targets), outputs, mask)
            totals.add("loss", float(value) * rows, rows)
            _add_counts(totals, counts, batch.targets, outputs, batch.mask)
            continue
        state = None if extra else model.initial_state(rows)  # None: made from the context
        step = max(length, 1) if extra else chunk  # a context is read with the whole sequence
        for start in range(0, length, step):
            part = slice(start, min(start + step, length))
            m = None if mask is None else mask[:, part]
            outputs, state = model(as_tensor(inputs[:, part]), state, m, **extra)
            weight = (
                rows * (part.stop - part.start)
                if m is None
                else tf.reduce_sum(tf.cast(m, tf.float32))
            )
            part_targets = as_tensor(targets[:, part])
            value = scalar_loss(loss, part_targets, outputs, m)
            totals.add("loss", float(value) * float(weight), weight)
            m_np = None if batch.mask is None else np.asarray(batch.mask)[:, part]
            _add_counts(totals, counts, np.asarray(part_targets), outputs, m_np)
    return totals.result()


def _add_counts(totals: Means, counts: Counts | None, targets, outputs, mask) -> None:
    if counts is not None:
        totals.add_all(counts(np.asarray(targets), outputs.numpy(), mask))
