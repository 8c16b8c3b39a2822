"""What a run checks of its plugins' output before the first update, where the contract can
be checked cheaply: the task's batches (a non-empty list of ``SequenceBatch`` of arrays, ids
inside the declared vocabulary, targets as long as the inputs), the truncation strategy's
windows over the data's lengths, and the model's outputs on a sliver of the data (tensors of
the declared size). Each failure is one ``PluginFailure`` line naming the plugin.

    check_batches(task, data, eval_data, suspects)
    check_truncation(truncation, data, per_step, suspects)
    check_outputs(model, outputs, part, suspects)
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from seqkit.data.token_streams import Streams
from seqkit.interfaces import SequenceBatch, Window
from seqkit.runs.blame import CONTRACTS, PluginFailure, Suspect

# Target forms whose targets are class ids of the model's output, one per step or sequence.
ID_TARGETS = ("sequence", "step", "shifted")


def _who(suspects: list[Suspect], kind: str, fallback: str) -> str:
    found = [s for s in suspects if s.kind == kind]
    return f"The {found[0].describe()}" if found else fallback


def _fail(suspects: list[Suspect], kind: str, fallback: str, what: str) -> PluginFailure:
    return PluginFailure(f"{_who(suspects, kind, fallback)} {what}; {CONTRACTS[kind]}.")


def _array(value) -> bool:
    return isinstance(value, np.ndarray | tf.Tensor | Streams)


# Lazy streams of a token file (any size) are checked on their first steps only: reading all of
# a corpus of gigabytes to check it would undo the streaming (seqkit's own token files hold the
# ids of their own vocabulary by construction).
STREAM_STEPS_CHECKED = 4096


def _values(value):
    """``value`` as an array to check: lazy streams cut to their first steps."""
    if isinstance(value, Streams):
        return np.asarray(value[:, :STREAM_STEPS_CHECKED])
    return value


def _id_range(name: str, values, high: int, where: str) -> str | None:
    """Why ``values`` are no ids in [0, high), or None when they are."""
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.integer):
        return f"gave {name} of dtype {values.dtype} {where}, not integer ids"
    if values.size == 0:
        return None
    low, top = int(values.min()), int(values.max())
    if low < 0 or top >= high:
        bad = low if low < 0 else top
        return (
            f"gave {name} holding id {bad} {where}, outside its declared vocabulary of "
            f"{high} (ids 0 to {high - 1}, model_dims)"
        )
    return None


def _batch_problem(batch, dims: dict, form: str, where: str) -> str | None:
    """Why ``batch`` breaks the task's contract, or None."""
    if not isinstance(batch, SequenceBatch):
        return f"gave a {type(batch).__name__} {where}, not a seqkit.SequenceBatch"
    for name in ("inputs", "targets"):
        value = getattr(batch, name)
        if not _array(value):
            return f"gave {name} that are a {type(value).__name__} {where}, not a NumPy array"
    inputs, targets = batch.inputs, batch.targets
    if len(inputs.shape) < 2 or len(targets.shape) < 1 or targets.shape[0] != inputs.shape[0]:
        return (
            f"gave inputs of shape {list(inputs.shape)} and targets of shape "
            f"{list(targets.shape)} {where}; expected [B, T, ...] and targets for the same B rows"
        )
    if form in ("step", "shifted") and tuple(targets.shape[:2]) != tuple(inputs.shape[:2]):
        return (
            f"gave targets of shape {list(targets.shape)} for inputs of shape "
            f"{list(inputs.shape)} {where}; a target per step needs [B, T] = "
            f"{list(inputs.shape[:2])}"
        )
    inputs, targets = _values(inputs), _values(targets)
    for name, value in (("inputs", inputs), ("targets", targets)):
        array = np.asarray(value)
        if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
            return f"gave {name} holding NaN or infinite values {where}"
    if "vocab_size" in dims:
        problem = _id_range("inputs", inputs, dims["vocab_size"], where)
        if problem:
            return problem
    if form in ID_TARGETS and np.issubdtype(np.asarray(targets).dtype, np.integer):
        return _id_range("targets", targets, dims["output_size"], where)
    return None


def check_batches(task, data, eval_data, suspects: list[Suspect]) -> None:
    """The task's training and validation batches keep its contract (see module docstring)."""
    dims, form = task.model_dims(), task.target_form
    for method, batches in (("train_batches", data), ("eval_batches", eval_data)):
        if not isinstance(batches, list | tuple) or not batches:
            got = "no batches" if isinstance(batches, list | tuple) else type(batches).__name__
            raise _fail(suspects, "task", "The task", f"gave {got} from {method}")
        for index, batch in enumerate(batches):
            problem = _batch_problem(batch, dims, form, f"in batch {index} of {method}")
            if problem:
                raise _fail(suspects, "task", "The task", problem)


def _window_problem(window, length: int) -> str | None:
    if not isinstance(window, Window):
        return f"yielded a {type(window).__name__}, not a seqkit.Window"
    b, lo, end = window.backprop_from, window.loss_from, window.end
    if not all(isinstance(x, int | np.integer) for x in (b, lo, end)):
        return f"yielded {window}, whose bounds are not whole numbers"
    if not 0 <= b <= lo < end <= length:
        return f"yielded {window} for a sequence of {length} steps"
    return None


# The windows of a long stream are checked this far, then only for an update: listing all the
# 2.3 million windows of a 5 GB corpus took 19 s and 250 MB before the first update.
CHECKED_WINDOWS = 10_000


def check_truncation(truncation, data, per_step: bool, suspects: list[Suspect]) -> None:
    """The first ``CHECKED_WINDOWS`` windows over every length in ``data`` are valid, and at
    least one of them is an update (a last-step loss updates only in a window that ends the
    sequence)."""
    fallback = "The truncation strategy"
    for length in sorted({int(batch.inputs.shape[1]) for batch in data}):
        count, updates = 0, False
        for window in truncation.windows(length):
            count += 1
            problem = _window_problem(window, length) if count <= CHECKED_WINDOWS else None
            if problem:
                raise _fail(suspects, "truncation", fallback, problem)
            updates = updates or per_step or window.end == length
            if updates and count >= CHECKED_WINDOWS:
                break
        if not updates:
            what = "no window" if not count else "no window that ends the sequence"
            raise _fail(
                suspects, "truncation", fallback,
                f"yielded {what} for a sequence of {length} steps, so training would never "
                "update (a last-step loss needs a window that ends the sequence)",
            )  # fmt: skip


def check_outputs(model, outputs, part: SequenceBatch, suspects: list[Suspect]) -> None:
    """The model's outputs on ``part`` are a tensor ``[B, T, output_size]`` (a runner's)."""
    if not isinstance(outputs, tf.Tensor):
        raise _fail(
            suspects, "runner", "The runner",
            f"gave outputs that are a {type(outputs).__name__}, not a tensor",
        )  # fmt: skip
    rows, steps = part.inputs.shape[:2]
    expected = [rows, steps, model.output_size]
    if list(outputs.shape) != expected and part.context is None:
        raise _fail(
            suspects, "runner", "The runner",
            f"gave outputs of shape {list(outputs.shape)} for inputs of shape "
            f"{list(part.inputs.shape)}; expected {expected}",
        )  # fmt: skip
