"""What the task plugins share: option checks, seeded splits, batching, vocabularies, padding
and accuracy counts. NumPy only; not a plugin itself (it registers nothing).

    ids, mask = pad([np.array([5, 6, 7]), np.array([8])])   # [2, 3] int32, [2, 3] bool

A task's vocabulary is ``seqkit.TextVocabulary.counted(tokens, min_count, separator)``: ids 0
and 1 are padding and unknown (``seqkit.data.vocabulary.PAD`` and ``UNK``), then the tokens
seen, sorted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import seqkit
from seqkit.data.files import decode_text, read_data_file
from seqkit.data.vocabulary import TextVocabulary
from seqkit.errors import DataError, OptionError
from seqkit.interfaces import check_size
from seqkit.validation import one_of, real_number, whole_number
from seqkit_plugins.default_data import default_file

# -- options ---------------------------------------------------------------------------------


def check_int(owner: str, name: str, value: Any, minimum: int) -> int:
    """``value`` as an int of at least ``minimum``, or an OptionError naming the option."""
    return whole_number(f"{owner}: {name}", value, minimum)


def check_fraction(owner: str, name: str, value: Any) -> float:
    """``value`` as a float in [0, 1), or an OptionError naming the option."""
    return real_number(f"{owner}: {name}", value, minimum=0, below=1)


def check_choice(owner: str, name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, or an OptionError listing them."""
    return one_of(f"{owner}: {name}", value, choices)


def read_data(owner: str, path: Any, default: str) -> tuple[str, str]:
    """The UTF-8 text of a task's data file ``path`` and its name as messages quote it; an
    empty ``path`` reads ``default``, a file of the task's data set inside the package
    (``seqkit_plugins.default_data``). A DataError if the file is missing, not a regular file,
    larger than ``seqkit.data.files.MAX_DATA_BYTES``, not UTF-8 or only whitespace; a
    byte-order mark is dropped."""
    if path is None or (isinstance(path, str) and not path.strip()):
        found = default_file(default)
        shown, data = str(found), found.read_bytes()
    elif isinstance(path, str | Path):
        found = Path(path).expanduser()
        fix = "give an existing file, or leave path empty for the embedded data set"
        shown, data = str(found), read_data_file(owner, found, if_missing=fix)
    else:
        raise OptionError(f"{owner}: path must be a file name, got {path!r}.")
    text = decode_text(owner, shown, data)
    if not text.strip():
        raise DataError(f"{owner}: the file {shown!r} is empty; give it some data.")
    return shown, text


# -- splits and batches ----------------------------------------------------------------------


def generator(seed: int, stream: int) -> np.random.Generator:
    """An independent generator for each (seed, stream): stream 0 training, 1 validation."""
    return np.random.default_rng([stream, seed])


def shuffled_split(count: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation items: a shuffle by ``seed``, whose last
    ``floor(count * val_fraction)`` items are the validation split (each in file order)."""
    order = np.random.default_rng(seed).permutation(count)
    val_count = math.floor(count * val_fraction)
    return np.sort(order[: count - val_count]), np.sort(order[count - val_count :])


def fewest_for_validation(val_fraction: float) -> int:
    """The fewest items whose ``floor(count * val_fraction)`` is at least 1 (val_fraction > 0)."""
    count = math.ceil(1.0 / val_fraction)
    return count if math.floor(count * val_fraction) >= 1 else count + 1


def no_validation_split(
    owner: str, count: int, items: str, val_fraction: float, source: str = "the file"
) -> DataError:
    """The error for an empty validation split: ``val_fraction`` is 0, or the ``count``
    ``items`` (examples, sentences) of ``source`` are too few for it."""
    if val_fraction == 0:
        return DataError(f"{owner}: there is no validation split; set val_fraction above 0.")
    return DataError(
        f"{owner}: {source} has {count:,} {items if count != 1 else items[:-1]}, too few for "
        "a validation split at "
        f"val_fraction = {val_fraction:g} (which needs at least "
        f"{fewest_for_validation(val_fraction)}); add {items} or raise val_fraction."
    )


def batch_slices(owner: str, count: int, batch_size: int) -> list[slice]:
    """Consecutive slices of ``batch_size`` over ``count`` items; the last may be smaller."""
    batch_size = check_size(owner, "batch_size", batch_size)
    return [slice(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]


def dense_batches(
    owner: str, inputs: np.ndarray, targets: np.ndarray, batch_size: int, order: np.ndarray
) -> list[seqkit.SequenceBatch]:
    """Batches of equal-length sequences taken in ``order``; the last batch may be smaller."""
    return [
        seqkit.SequenceBatch(inputs[order[part]], targets[order[part]])
        for part in batch_slices(owner, len(order), batch_size)
    ]


def train_order(count: int, seed: int) -> np.ndarray:
    """The order of the training items for ``train_batches(batch_size, seed)``."""
    return np.random.default_rng(seed).permutation(count)


class GeneratedSplits:
    """``train_batches`` and ``eval_batches`` of a task whose ``train`` and ``val`` are
    ``(inputs, targets)`` arrays of equal-length sequences; ``owner`` names the task in errors."""

    owner = ""
    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]

    def train_batches(self, batch_size: int, seed: int = 0) -> list[seqkit.SequenceBatch]:
        """The training sequences in an order shuffled by ``seed``; the last batch may be
        smaller."""
        inputs, targets = self.train
        order = train_order(len(inputs), seed)
        return dense_batches(self.owner, inputs, targets, batch_size, order)

    def eval_batches(self, batch_size: int) -> list[seqkit.SequenceBatch]:
        """The validation sequences in order; the last batch may be smaller."""
        inputs, targets = self.val
        return dense_batches(self.owner, inputs, targets, batch_size, np.arange(len(inputs)))


class ListedSplits:
    """``train_batches`` and ``eval_batches`` of a task whose ``train`` and ``val`` are
    ``(inputs, targets)`` lists of sequences of any length, which its ``batch(inputs, targets)``
    pads into one ``SequenceBatch``; ``owner`` names the task in errors."""

    owner = ""
    train: tuple[list, list]
    val: tuple[list, list]

    def batch(self, inputs: list, targets: list) -> seqkit.SequenceBatch:
        raise NotImplementedError

    def _batches(self, split, batch_size: int, order) -> list[seqkit.SequenceBatch]:
        inputs, targets = split
        return [
            self.batch([inputs[i] for i in order[part]], [targets[i] for i in order[part]])
            for part in batch_slices(self.owner, len(order), batch_size)
        ]

    def train_batches(self, batch_size: int, seed: int = 0) -> list[seqkit.SequenceBatch]:
        """The training split in an order shuffled by ``seed``; the last batch may be smaller."""
        return self._batches(self.train, batch_size, train_order(len(self.train[0]), seed))

    def eval_batches(self, batch_size: int) -> list[seqkit.SequenceBatch]:
        """The validation split in file order; the last batch may be smaller."""
        if not self.val[0]:
            raise DataError(
                f"{self.owner}: there is no validation split; set val_fraction above 0."
            )
        return self._batches(self.val, batch_size, np.arange(len(self.val[0])))


# -- vocabularies and padding ----------------------------------------------------------------

# A task's ``tokens`` option -> its vocabulary's separator: characters joined, or words by spaces.
TOKEN_SEPARATORS = {"chars": "", "words": " "}


def refuse_unseen(owner: str, where: str, label: str, labels: Sequence[str], tokens: Sequence[str],
                  vocabulary: TextVocabulary, unknown: str) -> None:  # fmt: skip
    """A labelled file read with a run's vocabulary and labels (``seqkit eval RUN --corpus``):
    a DataError naming a ``label`` the run never saw and ``where`` it is (``line 7 of
    'x.tsv'``), or, with ``unknown="refuse"``, the first of ``tokens`` it never saw (``"map"``:
    such a token is read as the unknown token, id 1)."""
    check_choice(owner, "unknown", unknown, ("map", "refuse"))
    if label not in labels:
        shown = ", ".join(labels[:10]) + (", ..." if len(labels) > 10 else "")
        raise DataError(
            f"{owner}: {where} has the label {label!r}, which the run never saw (its labels: "
            f"{shown}); evaluate on data labelled as the run's training data."
        )
    unseen = vocabulary.first_unknown(tokens) if unknown == "refuse" else None
    if unseen is not None:
        raise DataError(
            f"{owner}: {where} holds {unseen!r}, which the run never saw; pass --unknown map "
            "to read such tokens as the unknown token."
        )


# Padded lengths are rounded up to a multiple of this, so that a compiled training step sees
# a few sequence lengths (one trace each) rather than one per batch.
LENGTH_BUCKET = 32


def pad(sequences: Sequence[np.ndarray], multiple: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of ids, padded with 0 to the longest (rounded up to ``multiple``):
    ``(ids [N, T] int32, mask [N, T] bool)``.

    Left-aligned: row n holds sequence n from step 0, and its mask is true on that prefix.
    """
    length = max(len(s) for s in sequences)
    length = -(-length // multiple) * multiple
    ids = np.zeros((len(sequences), length), dtype=np.int32)
    mask = np.zeros((len(sequences), length), dtype=bool)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = True
    return ids, mask


# -- counts ----------------------------------------------------------------------------------


def accuracy(predicted: np.ndarray, targets: np.ndarray, where: np.ndarray) -> tuple[float, float]:
    """``(correct, counted)`` over the positions where ``where`` is true."""
    where = np.asarray(where, dtype=bool)
    correct = (np.asarray(predicted) == np.asarray(targets)) & where
    return float(correct.sum()), float(where.sum())


def padded_batches(
    owner: str,
    sequences: Sequence[np.ndarray],
    targets: Sequence[Any],
    batch_size: int,
    order: np.ndarray,
) -> list[seqkit.SequenceBatch]:
    """Batches of id sequences taken in ``order``, each padded to its longest sequence
    (rounded up to ``LENGTH_BUCKET`` steps).

    Inputs ``[B, T]`` int32 and mask ``[B, T]`` (true on each row's prefix); targets ``[B]``
    int32 when each target is one id, or ``[B, T]`` (padded with 0) when each is an array of
    ids, a label per step. The last batch may be smaller.
    """
    batches = []
    for part in batch_slices(owner, len(order), batch_size):
        rows = order[part]
        ids, mask = pad([sequences[i] for i in rows], LENGTH_BUCKET)
        chosen = [targets[i] for i in rows]
        if isinstance(chosen[0], np.ndarray):
            labels, _ = pad(chosen, LENGTH_BUCKET)
        else:
            labels = np.asarray(chosen, dtype=np.int32)
        batches.append(seqkit.SequenceBatch(ids, labels, mask))
    return batches
