"""The ``classify`` task: one label per sequence, from a file of labelled lines.

    task = seqkit.make_task("classify", tokens="words")   # the embedded data; or path="my.tsv"
    batch = task.train_batches(batch_size=32, seed=0)[0]  # inputs, mask [32, T]; targets [32]
    task.labels                                            # ["neg", "pos"]: class id = index
    task.baselines()                                       # {"accuracy": ...}: majority class

The file (``path``) is UTF-8 text with one example a line, ``label<TAB>text``: the label is
everything before the first tab, the text everything after it (both stripped of surrounding
spaces); blank lines are skipped; lines end at ``\n`` or ``\r\n`` only. An empty ``path`` (the
default) reads the embedded data set, 300 synthetic reviews labelled ``pos`` or ``neg``
(``seqkit_plugins/default_data/sentiment.tsv``, made by the script beside it).

``tokens`` cuts the text into characters (``"chars"``) or whitespace-separated words
(``"words"``). The vocabulary holds the training split's tokens seen at least ``min_count``
times, sorted, after id 0 (padding) and id 1 (unknown). The labels are the file's, sorted.

The lines are shuffled by ``seed``; the last ``floor(lines * val_fraction)`` of them are the
validation split. A batch is padded with id 0 to its longest sequence, with a mask that is true
on each sequence's steps (a prefix); the loss is on each sequence's last true step.
"""

from __future__ import annotations

import numpy as np

import seqkit
from seqkit.data.files import split_lines
from seqkit.data.vocabulary import UNK, TextVocabulary
from seqkit.errors import DataError
from seqkit.ops import last_counted_step
from seqkit_plugins.task_data import (
    TOKEN_SEPARATORS,
    accuracy,
    check_choice,
    check_fraction,
    check_int,
    no_validation_split,
    padded_batches,
    read_data,
    refuse_unseen,
    shuffled_split,
    train_order,
)

NAME = "classify"
DEFAULT_DATA = "sentiment.tsv"  # in seqkit_plugins.default_data
TOKENS = ("chars", "words")


def read_labelled_lines(path) -> list[tuple[str, str]]:
    """The ``(label, text)`` pairs of a ``label<TAB>text`` file (empty: the embedded one), in
    file order."""
    return [(label, text) for _, label, text in read_numbered_lines(path)[1]]


def read_numbered_lines(path) -> tuple[str, list[tuple[int, str, str]]]:
    """The file's name as messages quote it and its ``(line number, label, text)`` triples."""
    found, text = read_data(NAME, path, DEFAULT_DATA)
    examples = []
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        label, tab, text = line.partition("\t")
        label, text = label.strip(), text.strip()
        why = _malformed(tab, label, text)
        if why:
            raise DataError(
                f"{NAME}: line {number} of {found!r} is not label<TAB>text ({why}); "
                "write one example a line, its label, a tab, then its text."
            )
        examples.append((number, label, text))
    return found, examples


def _malformed(tab: str, label: str, text: str) -> str:
    """What is wrong with a line split into ``label``, ``tab`` and ``text``; "" if nothing."""
    if not tab:
        return "it has no tab"
    if not label:
        return "its label is empty"
    return "" if text else "its text is empty"


class ClassifyTask(seqkit.Task, seqkit.CorpusTask):
    """Label each sequence; the loss is the cross-entropy at its last step."""

    target_form = "sequence"
    default_loss = "cross-entropy"
    default_truncation = "bptt"  # whole sequences: the label depends on all of them
    recommended = {"train.steps": 300, "train.eval_every": 100, "train.checkpoint_every": 100}

    def __init__(
        self,
        path: str = "",  # a label<TAB>text file; empty: the embedded data set
        tokens: str = "chars",  # characters need no tokeniser and have few unknowns
        min_count: int = 1,  # rarer training tokens are unknown (id 1)
        val_fraction: float = 0.1,
        seed: int = 0,  # the shuffle before the split
    ):
        self.tokens = check_choice(NAME, "tokens", tokens, TOKENS)
        min_count = check_int(NAME, "min_count", min_count, 1)
        self.val_fraction = check_fraction(NAME, "val_fraction", val_fraction)
        self.seed = check_int(NAME, "seed", seed, 0)
        examples = read_labelled_lines(path)
        self.examples = len(examples)
        train_rows, val_rows = shuffled_split(len(examples), self.val_fraction, self.seed)
        self.labels = sorted({label for label, _ in examples})
        split = [self.tokenise(text) for _, text in examples]
        self.vocabulary = TextVocabulary.counted(
            (t for row in train_rows for t in split[row]), min_count, TOKEN_SEPARATORS[self.tokens]
        )
        label_ids = {label: i for i, label in enumerate(self.labels)}
        ids = [self.vocabulary.encode(tokens) for tokens in split]
        classes = [label_ids[label] for label, _ in examples]
        self.train = ([ids[i] for i in train_rows], [classes[i] for i in train_rows])
        self.val = ([ids[i] for i in val_rows], [classes[i] for i in val_rows])

    def tokenise(self, text: str) -> list[str]:
        """The text's tokens: its characters, or its whitespace-separated words."""
        return list(text) if self.tokens == "chars" else text.split()

    def encode(self, text: str) -> np.ndarray:
        """A text to ids ``[n]`` int32; unknown tokens are id 1."""
        return self.vocabulary.encode(self.tokenise(text))

    def serving_terms(self) -> seqkit.ServingTerms:
        """An export reads raw text as this task splits it, and answers with label names."""
        split = "chars" if self.tokens == "chars" else "words"
        return seqkit.ServingTerms(
            tuple(self.vocabulary.tokens), split, UNK, output_names=tuple(self.labels)
        )

    def corpus_batches(self, corpus, batch_size: int, unknown: str = "map"):
        """All of another ``label<TAB>text`` file in the run's vocabulary and labels
        (``seqkit eval RUN --corpus``): a label the run never saw is refused in one line that
        names it and its line; so is a token with ``unknown="refuse"`` (``"map"``: unknown)."""
        found, examples = read_numbered_lines(corpus)
        label_ids = {label: i for i, label in enumerate(self.labels)}
        ids, classes = [], []
        for number, label, text in examples:
            tokens = self.tokenise(text)
            where = f"line {number} of {found!r}"
            refuse_unseen(NAME, where, label, self.labels, tokens, self.vocabulary, unknown)
            ids.append(self.vocabulary.encode(tokens))
            classes.append(label_ids[label])
        return padded_batches(NAME, ids, classes, batch_size, np.arange(len(ids)))

    def model_dims(self) -> dict[str, int]:
        return {"vocab_size": len(self.vocabulary), "output_size": len(self.labels)}

    def train_batches(self, batch_size: int, seed: int = 0) -> list[seqkit.SequenceBatch]:
        """The training examples in an order shuffled by ``seed``, each batch padded to its
        longest; the last batch may be smaller."""
        ids, classes = self.train
        return padded_batches(NAME, ids, classes, batch_size, train_order(len(ids), seed))

    def eval_batches(self, batch_size: int) -> list[seqkit.SequenceBatch]:
        """The validation examples in file order; the last batch may be smaller."""
        ids, classes = self.val
        if not ids:
            raise no_validation_split(NAME, self.examples, "examples", self.val_fraction)
        return padded_batches(NAME, ids, classes, batch_size, np.arange(len(ids)))

    def metrics(self, mean_loss: float) -> dict[str, float]:
        """The loss: the cross-entropy in nats per sequence."""
        return {"loss": float(mean_loss)}

    def counts(self, targets, outputs, mask=None) -> dict[str, tuple[float, float]]:
        """Accuracy of the class predicted at each sequence's last counted step.

        ``targets`` ``[B]``, ``outputs`` logits ``[B, T, classes]``, ``mask`` ``[B, T]``; a
        sequence with no counted step is not counted.
        """
        predicted = np.argmax(last_counted_step(outputs, mask), axis=-1)  # [B]
        counted = (
            np.ones(len(predicted), dtype=bool)
            if mask is None
            else np.asarray(mask, dtype=bool).any(axis=1)
        )
        return {"accuracy": accuracy(predicted, targets, counted)}

    def baselines(self) -> dict[str, float]:
        """The validation accuracy of always predicting the training split's most frequent
        class; none without a validation split."""
        val_classes = np.asarray(self.val[1])
        if len(val_classes) == 0:
            return {}
        majority = np.argmax(np.bincount(self.train[1], minlength=len(self.labels)))
        return {"accuracy": float(np.mean(val_classes == majority))}


@seqkit.hookimpl
def seqkit_register_tasks(register):
    register(NAME, ClassifyTask)
