"""The ``tag`` task: a label per step, from a file of tagged tokens (CoNLL style).

    task = seqkit.make_task("tag")               # the embedded data set; or path="my.tsv"
    batch = task.train_batches(batch_size=32, seed=0)[0]  # inputs, targets, mask [32, T]
    task.labels                                            # the tags: tag id = index
    task.baselines()                   # {"accuracy": ...}: each token's most frequent tag

The file (``path``) is UTF-8 text with one token a line, ``token<TAB>tag``, and a blank line
between sentences; lines end at ``\n`` or ``\r\n`` only. A line with more tab-separated
fields takes the first as the token and the last as the tag (CoNLL-2003's ``token POS chunk
NER`` gives NER tags); ``-DOCSTART-`` lines are skipped. Each line is one step: a
character-level tagger is a file with one character a line. An empty ``path`` (the default)
reads the embedded data set, 300 synthetic sentences of a toy grammar
(``seqkit_plugins/default_data/tagging.tsv``, made by the script beside it).

The vocabulary holds the training split's tokens seen at least ``min_count`` times, sorted,
after id 0 (padding) and id 1 (unknown); the tags are the file's, sorted. The sentences are
shuffled by ``seed``; the last ``floor(sentences * val_fraction)`` are the validation split.
A batch is padded to its longest sentence, with a mask that is true on each sentence's tokens;
padded targets are 0 and do not count.
"""

from __future__ import annotations

import collections

import numpy as np

import seqkit
from seqkit.data.files import split_lines
from seqkit.data.vocabulary import UNK, TextVocabulary
from seqkit.errors import DataError
from seqkit_plugins.task_data import (
    accuracy,
    check_fraction,
    check_int,
    no_validation_split,
    padded_batches,
    read_data,
    refuse_unseen,
    shuffled_split,
    train_order,
)

NAME = "tag"
DEFAULT_DATA = "tagging.tsv"  # in seqkit_plugins.default_data


def read_tagged_sentences(path) -> list[list[tuple[str, str]]]:
    """The sentences of a ``token<TAB>tag`` file (empty: the embedded one): lists of
    ``(token, tag)``, in file order."""
    sentences = read_numbered_sentences(path)[1]
    return [[(token, tag) for _, token, tag in sentence] for sentence in sentences]


def read_numbered_sentences(path) -> tuple[str, list[list[tuple[int, str, str]]]]:
    """The file's name as messages quote it and its sentences of ``(line number, token,
    tag)``."""
    found, text = read_data(NAME, path, DEFAULT_DATA)
    sentences: list[list[tuple[int, str, str]]] = []
    current: list[tuple[int, str, str]] = []
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        fields = line.split("\t")
        token, tag = fields[0].strip(), fields[-1].strip()
        if line.startswith("-DOCSTART-"):
            continue
        why = _malformed(fields, token, tag)
        if why:
            raise DataError(
                f"{NAME}: line {number} of {found!r} is not token<TAB>tag ({why}); "
                "write one token a line, the token, a tab, then its tag, and a blank line "
                "between sentences."
            )
        current.append((number, token, tag))
    if current:
        sentences.append(current)
    if not sentences:
        raise DataError(f"{NAME}: {found!r} holds no sentence; give token<TAB>tag lines.")
    return found, sentences


def _malformed(fields: list[str], token: str, tag: str) -> str:
    """What is wrong with a line of tab-separated ``fields``; "" if nothing."""
    if len(fields) < 2:
        return "it has no tab"
    if not token:
        return "its token is empty"
    return "" if tag else "its tag is empty"


class TagTask(seqkit.Task, seqkit.CorpusTask):
    """Tag every token of a sentence; the loss is the cross-entropy of every real token."""

    target_form = "step"
    default_loss = "cross-entropy"
    default_truncation = "bptt"  # sentences are short, whole sequences
    recommended = {"train.steps": 200, "train.eval_every": 50, "train.checkpoint_every": 50}

    def __init__(
        self,
        path: str = "",  # a token<TAB>tag file; empty: the embedded data set
        min_count: int = 1,  # rarer training tokens are unknown (id 1)
        val_fraction: float = 0.1,
        seed: int = 0,  # the shuffle before the split
    ):
        min_count = check_int(NAME, "min_count", min_count, 1)
        self.val_fraction = check_fraction(NAME, "val_fraction", val_fraction)
        self.seed = check_int(NAME, "seed", seed, 0)
        sentences = read_tagged_sentences(path)
        self.sentences = len(sentences)
        train_rows, val_rows = shuffled_split(len(sentences), self.val_fraction, self.seed)
        self.labels = sorted({tag for sentence in sentences for _, tag in sentence})
        self.vocabulary = TextVocabulary.counted(
            (token for row in train_rows for token, _ in sentences[row]), min_count, " "
        )
        tag_ids = {tag: i for i, tag in enumerate(self.labels)}
        ids = [self.vocabulary.encode([token for token, _ in s]) for s in sentences]
        tags = [np.array([tag_ids[tag] for _, tag in s], dtype=np.int32) for s in sentences]
        self.train = ([ids[i] for i in train_rows], [tags[i] for i in train_rows])
        self.val = ([ids[i] for i in val_rows], [tags[i] for i in val_rows])

    def encode(self, tokens: list[str]) -> np.ndarray:
        """Tokens to ids ``[n]`` int32; unknown tokens are id 1."""
        return self.vocabulary.encode(tokens)

    def serving_terms(self) -> seqkit.ServingTerms:
        """An export reads a sentence of white-space tokens and answers with a tag a token."""
        return seqkit.ServingTerms(
            tuple(self.vocabulary.tokens), "words", UNK, output_names=tuple(self.labels)
        )

    def corpus_batches(self, corpus, batch_size: int, unknown: str = "map"):
        """All of another ``token<TAB>tag`` file in the run's vocabulary and tags (``seqkit
        eval RUN --corpus``): a tag the run never saw is refused in one line that names it and
        its line; so is a token with ``unknown="refuse"`` (``"map"``: the unknown token)."""
        found, sentences = read_numbered_sentences(corpus)
        tag_ids = {tag: i for i, tag in enumerate(self.labels)}
        ids, tags = [], []
        for sentence in sentences:
            for number, token, tag in sentence:
                where = f"line {number} of {found!r}"
                refuse_unseen(NAME, where, tag, self.labels, [token], self.vocabulary, unknown)
            ids.append(self.encode([token for _, token, _ in sentence]))
            tags.append(np.array([tag_ids[tag] for _, _, tag in sentence], dtype=np.int32))
        return padded_batches(NAME, ids, tags, batch_size, np.arange(len(ids)))

    def model_dims(self) -> dict[str, int]:
        return {"vocab_size": len(self.vocabulary), "output_size": len(self.labels)}

    def train_batches(self, batch_size: int, seed: int = 0) -> list[seqkit.SequenceBatch]:
        """The training sentences in an order shuffled by ``seed``, each batch padded to its
        longest; the last batch may be smaller."""
        ids, tags = self.train
        return padded_batches(NAME, ids, tags, batch_size, train_order(len(ids), seed))

    def eval_batches(self, batch_size: int) -> list[seqkit.SequenceBatch]:
        """The validation sentences in file order; the last batch may be smaller."""
        ids, tags = self.val
        if not ids:
            raise no_validation_split(NAME, self.sentences, "sentences", self.val_fraction)
        return padded_batches(NAME, ids, tags, batch_size, np.arange(len(ids)))

    def metrics(self, mean_loss: float) -> dict[str, float]:
        """The loss: the cross-entropy in nats per token."""
        return {"loss": float(mean_loss)}

    def counts(self, targets, outputs, mask=None) -> dict[str, tuple[float, float]]:
        """Accuracy over the real tokens: ``targets`` ``[B, T]``, ``outputs`` logits
        ``[B, T, tags]``, ``mask`` ``[B, T]`` (every step counts without one)."""
        targets = np.asarray(targets)
        counted = np.ones(targets.shape, dtype=bool) if mask is None else np.asarray(mask, bool)
        return {"accuracy": accuracy(np.argmax(outputs, axis=-1), targets, counted)}

    def most_frequent_tags(self) -> np.ndarray:
        """Each token id's most frequent training tag ``[V]``; the unknown id, padding and
        tokens without one get the most frequent tag overall (ties: the lower tag id)."""
        pairs = collections.Counter()
        for ids, tags in zip(*self.train, strict=True):
            pairs.update(zip(ids.tolist(), tags.tolist(), strict=True))
        table = np.zeros((len(self.vocabulary), len(self.labels)), dtype=np.int64)  # [V, tags]
        for (token, tag), count in pairs.items():
            table[token, tag] = count
        overall = int(np.argmax(table.sum(axis=0)))
        best = np.argmax(table, axis=1)
        best[table.sum(axis=1) == 0] = overall
        best[UNK] = overall
        return best

    def baselines(self) -> dict[str, float]:
        """The validation accuracy of tagging each token with its most frequent training tag
        (an unknown token with the most frequent tag overall); none without a validation
        split."""
        ids, tags = self.val
        if not ids:
            return {}
        best = self.most_frequent_tags()
        predicted = np.concatenate([best[i] for i in ids])
        return {"accuracy": float(np.mean(predicted == np.concatenate(tags)))}


@seqkit.hookimpl
def seqkit_register_tasks(register):
    register(NAME, TagTask)
