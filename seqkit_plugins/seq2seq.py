"""The ``seq2seq`` task: map a source sequence to a target sequence of another length, from a
file of ``source<TAB>target`` pairs, for an encoder-decoder model (``seqkit.Seq2SeqModel``).

    task = seqkit.make_task("seq2seq")                  # the embedded dates -> ISO dates
    batch = task.train_batches(batch_size=64, seed=0)[0]
    batch.context["source"], batch.context["source_mask"]   # [64, S] ids, [64, S] bools
    batch.inputs, batch.targets, batch.mask                 # [64, T]: <s> y, y </s>, mask
    model = seqkit.Seq2SeqModel("gru", **task.model_dims(), attention=True)
    task.target_text(task.decode(model, task.read_sources(["5 march 1991"]))[0])

The file (``path``) is UTF-8 text with one pair a line: the source is everything before the
first tab, the target everything after it, both stripped of surrounding spaces and tabs;
lines end at ``\\n`` (a ``\\r`` before it is dropped) and nothing else; blank lines are
skipped. Without a
path the task reads its embedded default, ``seqkit_plugins/default_data/dates.tsv``: 5,000 dates
written in 15 human forms ("tuesday, march 5, 1991", "05.03.1991", "5th of march 1991", ...)
with their ISO forms ("1991-03-05"), made by ``make_dates.py`` beside it.

``tokens`` cuts both sides into characters (``"chars"``) or whitespace-separated words
(``"words"``). The target vocabulary is id 0 padding, 1 unknown, 2 the start symbol ``<s>``,
3 the end symbol ``</s>``, then the training targets' tokens seen at least ``min_count`` times,
sorted; the source vocabulary is 0 padding, 1 unknown, then the training sources' tokens.
``shared_vocabulary=True`` makes one vocabulary of both sides (the target's layout).

The pairs are shuffled by ``seed``; the last ``floor(pairs * val_fraction)`` are the validation
split. A batch pads its sources and its targets, each to its longest (rounded up to 8 steps);
the masks are true on each row's own steps. The decoder reads ``<s> y_1 .. y_n`` and predicts
``y_1 .. y_n </s>``; the loss is the teacher-forced cross-entropy of every target step.

Decoded output is scored by exact match (the whole target right) and token accuracy (see
``sequence_metrics.token_accuracy``); the baseline predicts the training split's most frequent
target for every source. Decoding stops at ``</s>`` or after ``max_length`` ids (0: twice the
longest training target, and its end).
"""

from __future__ import annotations

import collections
import hashlib
import json

import numpy as np

import seqkit
from seqkit.data.vocabulary import TextVocabulary
from seqkit.decoding.seq2seq import Seq2SeqDecoder
from seqkit.errors import DataError
from seqkit.interfaces import DecodingTask
from seqkit_plugins.sequence_metrics import exact_match, token_accuracy
from seqkit_plugins.task_data import (
    TOKEN_SEPARATORS,
    ListedSplits,
    check_choice,
    check_fraction,
    check_int,
    pad,
    read_data,
    shuffled_split,
)

NAME = "seq2seq"
EXAMPLE = "dates.tsv"  # the embedded default, in seqkit_plugins.default_data
TOKENS = ("chars", "words")
START, END = 2, 3  # the target vocabulary's <s> and </s>
SPECIALS = ["<s>", "</s>"]
BUCKET = 8  # padded lengths are multiples of this: few shapes for a compiled step to trace


def read_pairs(path: str) -> list[tuple[str, str]]:
    """The ``(source, target)`` pairs of a ``source<TAB>target`` file ("" reads the embedded
    dates), in file order."""
    shown, text = read_data(NAME, path, EXAMPLE)  # "" reads the embedded file
    where = f"the embedded {EXAMPLE}" if path in (None, "") else repr(shown)
    pairs = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip(" \t"):
            continue
        source, tab, target = line.partition("\t")
        source, target = source.strip(" \t"), target.strip(" \t")
        problem = (
            "it has no tab" if not tab else "a side is empty" if not (source and target) else ""
        )
        if problem:
            raise DataError(
                f"{NAME}: line {number} of {where} is not source<TAB>target ({problem}); "
                "write one pair a line: the source, a tab, then the target."
            )
        pairs.append((source, target))
    if not pairs:
        raise DataError(f"{NAME}: {where} holds no pairs; write source<TAB>target lines.")
    return pairs


def target_vocabulary(tokens, min_count: int, separator: str) -> TextVocabulary:
    """Padding, unknown, ``<s>``, ``</s>``, then the tokens seen ``min_count`` times, sorted."""
    return TextVocabulary.counted(tokens, min_count, separator, markers=SPECIALS)


class Seq2SeqTask(ListedSplits, seqkit.Task, DecodingTask):
    """Translate each source into its target; teacher-forced cross-entropy, decoded metrics."""

    target_form = "seq2seq"
    default_loss = "cross-entropy"
    default_truncation = "bptt"  # the decoder starts from the whole source: no truncation
    # A small GRU with attention learns the embedded dates in a couple of minutes on 2 cores.
    owner = NAME  # in ListedSplits' errors
    recommended = {
        "model.cell": "gru",
        "model.hidden_size": 64,
        "model.embedding_size": 32,
        "model.attention": True,
        "train.batch_size": 64,
        "train.steps": 400,
        "train.eval_every": 100,
        "train.checkpoint_every": 100,
    }

    def __init__(
        self,
        path: str = "",  # "" is the embedded dates -> ISO dates
        tokens: str = "chars",  # characters need no tokeniser and have few unknowns
        shared_vocabulary: bool = False,  # one vocabulary for sources and targets
        min_count: int = 1,  # rarer training tokens are unknown (id 1)
        val_fraction: float = 0.1,
        max_length: int = 0,  # decoding's bound on ids, end included; 0: 2 x longest + 1
        seed: int = 0,  # the shuffle before the split
    ):
        self.tokens = check_choice(NAME, "tokens", tokens, TOKENS)
        min_count = check_int(NAME, "min_count", min_count, 1)
        val_fraction = check_fraction(NAME, "val_fraction", val_fraction)
        self.seed = check_int(NAME, "seed", seed, 0)
        pairs = read_pairs(path)
        train_rows, val_rows = shuffled_split(len(pairs), val_fraction, self.seed)
        sources = [self.tokenise(s) for s, _ in pairs]
        targets = [self.tokenise(t) for _, t in pairs]
        trained_targets = (t for row in train_rows for t in targets[row])
        separator = TOKEN_SEPARATORS[self.tokens]
        if shared_vocabulary:
            trained_sources = (t for row in train_rows for t in sources[row])
            self.target_vocabulary = target_vocabulary(
                [*trained_sources, *trained_targets], min_count, separator
            )
            self.source_vocabulary = self.target_vocabulary
        else:
            self.target_vocabulary = target_vocabulary(trained_targets, min_count, separator)
            self.source_vocabulary = TextVocabulary.counted(
                (t for row in train_rows for t in sources[row]), min_count, separator
            )
        source_ids = [self.source_vocabulary.encode(s) for s in sources]
        target_ids = [self.target_vocabulary.encode(t) for t in targets]
        self.train = ([source_ids[i] for i in train_rows], [target_ids[i] for i in train_rows])
        self.val = ([source_ids[i] for i in val_rows], [target_ids[i] for i in val_rows])
        longest = max(len(t) for t in self.train[1]) if len(train_rows) else 1
        self.max_length = check_int(NAME, "max_length", max_length, 0) or 2 * longest + 1
        self._decoder: Seq2SeqDecoder | None = None  # the last model's (it holds that model)

    def vocabulary_fingerprint(self) -> str:
        """A SHA-256 of both vocabularies' tokens in id order."""
        record = [self.source_vocabulary.tokens, self.target_vocabulary.tokens]
        return hashlib.sha256(json.dumps(record).encode("utf-8")).hexdigest()

    def tokenise(self, text: str) -> list[str]:
        """The text's tokens: its characters, or its whitespace-separated words."""
        return list(text) if self.tokens == "chars" else text.split()

    def model_dims(self) -> dict[str, int]:
        """``Seq2SeqModel``'s sizes: ``Seq2SeqModel(cell, **task.model_dims(), ...)``."""
        size = len(self.target_vocabulary)
        return {
            "source_vocab_size": len(self.source_vocabulary),
            "vocab_size": size,
            "output_size": size,
        }

    # -- batches -------------------------------------------------------------------------------

    def batch(self, sources, targets) -> seqkit.SequenceBatch:
        """One batch of id sequences: the sources in ``context``, the decoder's inputs
        (``<s>`` and the target), its targets (the target and ``</s>``) and their mask."""
        source, source_mask = pad(sources, BUCKET)
        inputs, mask = pad([np.concatenate([[START], t]).astype(np.int32) for t in targets], BUCKET)
        outputs, _ = pad([np.concatenate([t, [END]]).astype(np.int32) for t in targets], BUCKET)
        context = {"source": source, "source_mask": source_mask}
        return seqkit.SequenceBatch(inputs, outputs, mask, context)

    def read_sources(self, texts) -> seqkit.SequenceBatch:
        """The batch that decodes ``texts`` (sources as written; unknown tokens are id 1)."""
        if isinstance(texts, str) or not texts:
            raise DataError(f"{NAME}: give a list of source texts, got {texts!r}.")
        sources = [self.source_vocabulary.encode(self.tokenise(str(t))) for t in texts]
        if any(len(s) == 0 for s in sources):
            raise DataError(f"{NAME}: a source text is empty; give at least one token.")
        source, source_mask = pad(sources, BUCKET)
        rows = len(sources)
        return seqkit.SequenceBatch(
            np.full([rows, 1], START, np.int32),
            np.zeros([rows, 0], np.int32),
            None,
            {"source": source, "source_mask": source_mask},
        )

    def serving_terms(self) -> seqkit.ServingTerms:
        """An export reads source text as this task splits it and answers with target text,
        decoded from ``<s>`` to ``</s>`` or ``max_length`` ids, as ``decode`` does."""
        return seqkit.ServingTerms(
            tuple(self.source_vocabulary.tokens),
            self.tokens,
            unknown_id=1,
            output_names=tuple(self.target_vocabulary.tokens),
            output_separator="" if self.tokens == "chars" else " ",
            start_id=START,
            end_id=END,
            max_length=self.max_length,
        )

    # -- decoded output ------------------------------------------------------------------------

    def decoder(self, model) -> Seq2SeqDecoder:
        """The model's compiled decoder for this task's symbols and length bound, kept for the
        last model only: a cache of every model's would keep every model alive."""
        if self._decoder is None or self._decoder.model is not model:
            self._decoder = Seq2SeqDecoder(model, START, END, self.max_length)
        return self._decoder

    def decode(self, model, batch, beam_width: int = 1) -> list[np.ndarray]:
        """Each row's predicted target ids: greedy, or a beam search of ``beam_width``."""
        context = batch.context
        decoder = self.decoder(model)
        if beam_width == 1:
            found = decoder.greedy(context["source"], context["source_mask"])
        else:
            found = decoder.beam(context["source"], context["source_mask"], beam_width)
        return found.sequences()

    def target_text(self, ids) -> str:
        """Target ids as text: characters joined, or words joined by spaces."""
        return self.target_vocabulary.decode(ids)

    @staticmethod
    def references(batch) -> list[np.ndarray]:
        """The batch's target ids, each row without its ``</s>`` and padding."""
        lengths = np.asarray(batch.mask).sum(axis=1) - 1
        return [row[:n] for row, n in zip(np.asarray(batch.targets), lengths, strict=True)]

    def decoded_counts(self, batch, predicted) -> dict[str, tuple[float, float]]:
        """Exact match and token accuracy of ``predicted`` against the batch's targets."""
        return self.decoded_counts_of(self.references(batch), predicted)

    def metrics(self, mean_loss: float) -> dict[str, float]:
        """The loss: the teacher-forced cross-entropy in nats per target step."""
        return {"loss": float(mean_loss)}

    def most_frequent_target(self) -> np.ndarray:
        """The training split's most frequent target ids (ties: the first in the split)."""
        counts = collections.Counter(tuple(t.tolist()) for t in self.train[1])
        return np.array(counts.most_common(1)[0][0], np.int32)

    def baselines(self) -> dict[str, float]:
        """Exact match and token accuracy of predicting the most frequent training target for
        every validation source; none without a validation split."""
        references = self.val[1]
        if not references or not self.train[1]:
            return {}
        guess = [self.most_frequent_target()] * len(references)
        return {
            name: total / count
            for name, (total, count) in self.decoded_counts_of(references, guess).items()
        }

    @staticmethod
    def decoded_counts_of(references, predicted) -> dict[str, tuple[float, float]]:
        """``decoded_counts`` from lists of reference and predicted ids."""
        return {
            "exact_match": exact_match(references, predicted),
            "token_accuracy": token_accuracy(references, predicted),
        }


@seqkit.hookimpl
def seqkit_register_tasks(register):
    register(NAME, Seq2SeqTask)
