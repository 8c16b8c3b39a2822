"""The ``char-lm`` task: a language model over B parallel contiguous streams of a corpus, its
tokens characters (``tokens = "char"``), UTF-8 bytes (``"byte"``) or words (``"word"``).

    task = seqkit.make_task("char-lm", corpus="shakespeare.txt", val_fraction=0.1)
    batch = next(iter(task.train_batches(batch_size=32, seed=0)))   # inputs, targets [32, N]
    task.decode(task.encode("hello"))                                # "hello"
    words = seqkit.make_task("char-lm", corpus="ptb/", tokens="word", vocab_size=10000)

The corpus is a UTF-8 text file, a directory whose text files (``*.txt``, ``*.md``, ``*.rst``,
``*.text``, sorted by path, recursively) are joined with a newline, a list of either, or a
token file that ``seqkit prepare`` made. A raw corpus is encoded once into a token file in
seqkit's cache (``seqkit.data.token_files``) and read back through a memory map: a window of the
streams is read when an update needs it, so that a corpus of any size trains in flat memory.

``char``: the vocabulary is the sorted set of the corpus' characters, a byte-order mark at the
start of a file dropped. ``byte``: the 256 byte values of the files as they are (bits per byte
reported). ``word``: whitespace-separated words and ``<eos>`` at each line end, the
``vocab_size`` most frequent (or the words of ``vocab_file``), ``<unk>`` for the rest
(perplexity reported). The last ``val_fraction`` of the ids is the validation split, of which
the first ``val_tokens`` are read (0: all). Each split is cut into B contiguous streams of
equal length N: stream b is the ids from ``b * N``, its targets the same shifted by one token,
so that a truncated-BPTT trainer carries each stream's state from one window to the next.

With no corpus (``corpus=None``) the task uses an embedded corpus that every CPython install
ships: the English text of Python's own reference documentation, the ``topics`` dict of the
standard library module ``pydoc_data.topics`` (generated from the Language Reference when
CPython is built; ``help("if")`` prints from it). Its values joined in key order make about
465 KB of text with about 100 distinct characters; its exact content follows the Python version.
"""

from __future__ import annotations

import math

import numpy as np

import seqkit
from seqkit.data.token_files import cached_token_file, is_token_file, open_token_file, stale_sources
from seqkit.data.token_streams import stream_pair
from seqkit.data.tokenisation import TOKENISATIONS, make_tokeniser, read_word_list
from seqkit.errors import DataError
from seqkit.validation import real_number
from seqkit_plugins.task_data import check_choice, check_int, no_validation_split, read_data

UNITS = {"char": "characters", "byte": "bytes", "word": "words"}


def embedded_corpus() -> str:
    """The text of Python's reference documentation (``pydoc_data.topics``), in key order."""
    from pydoc_data.topics import topics

    return "".join(topics[key] for key in sorted(topics))


def encode_in_memory(text: str, tokens: str, vocab_size: int, vocabulary=None):
    """``(ids, vocabulary)`` of a text held in memory (the embedded corpus), as a token file
    of it would hold them."""
    tokeniser = make_tokeniser(tokens, vocab_size)
    data = text.encode("utf-8") if tokeniser.reads_bytes else text
    if tokens == "word" and data and not data.endswith("\n"):
        data += "\n"
    if vocabulary is None:
        tokeniser.count(data)
        vocabulary = tokeniser.vocabulary()
    ids = tokeniser.encode(data, vocabulary)
    if (ids < 0).any():
        missing = tokeniser.locate(data, int(np.argmax(ids < 0)))[0]
        raise unknown_character(missing, len(vocabulary))
    return ids.astype(np.int32), vocabulary


def unknown_character(token: str, size: int) -> DataError:
    return DataError(
        f"char-lm: the character {token!r} is not in the vocabulary of {size} characters; use "
        "text made of the training corpus' characters."
    )


def first_of(ids, wanted: list[int], chunk: int = 1 << 24) -> int:
    """The first of ``wanted`` that ``ids`` holds, read a chunk at a time (-1: none)."""
    for start in range(0, len(ids), chunk):
        part = np.asarray(ids[start : start + chunk])
        found = np.flatnonzero(np.isin(part, wanted))
        if len(found):
            return int(part[found[0]])
    return -1


def remap_ids(ids, file_vocabulary, vocabulary) -> np.ndarray | None:
    """The run's id of each of a token file's ids (None where the vocabularies are one); a
    DataError naming the first token of the file that the run's vocabulary lacks."""
    if file_vocabulary == vocabulary:
        return None
    missing = [i for i, t in enumerate(file_vocabulary.tokens) if t not in vocabulary]
    if missing:
        first = first_of(ids, missing)
        raise unknown_character(file_vocabulary.tokens[first], len(vocabulary))
    index = {t: i for i, t in enumerate(vocabulary.tokens)}
    return np.asarray([index[t] for t in file_vocabulary.tokens], dtype=np.int32)


def make_streams(ids, batch_size: int, what: str, unit: str = "characters", remap=None):
    """B contiguous streams of ``ids``, read when needed: inputs ``[B, N]`` and targets
    shifted by one."""
    if (len(ids) - 1) // batch_size < 2:
        raise DataError(
            f"char-lm: the {what} text has {len(ids)} {unit}, too short for {batch_size} "
            f"streams of at least 2 steps; need at least {2 * batch_size + 1} {unit}: "
            "use a longer corpus or a smaller batch size."
        )
    return seqkit.SequenceBatch(*stream_pair(ids, batch_size, remap))


def _check_options(val_fraction, tokens, vocab_size, val_tokens) -> None:
    real_number("char-lm: val_fraction", val_fraction, minimum=0, maximum=1)
    check_choice("char-lm", "tokens", tokens, TOKENISATIONS)
    check_int("char-lm", "vocab_size", vocab_size, 3)
    check_int("char-lm", "val_tokens", val_tokens, 0)


class CharLM(seqkit.LanguageModelTask):
    """Predict the next token: inputs are token ids, targets the ids shifted by one."""

    default_loss = "cross-entropy"
    default_truncation = "tbptt"  # B long streams, the state carried from window to window

    def __init__(self, corpus: str | None = None, val_fraction: float = 0.1,
                 vocabulary: seqkit.TextVocabulary | str | None = None, tokens: str = "char",
                 vocab_size: int = 10000, vocab_file: str = "",
                 val_tokens: int = 1_000_000):  # fmt: skip
        _check_options(val_fraction, tokens, vocab_size, val_tokens)
        self.val_fraction, self.tokens, self.val_tokens = float(val_fraction), tokens, val_tokens
        self.vocab_size_option, self.unit = vocab_size, UNITS[tokens]
        if isinstance(vocabulary, str):  # characters, as runs wrote them before vocab.json's record
            vocabulary = seqkit.TextVocabulary(tuple(vocabulary))
        if vocabulary is None and vocab_file and tokens == "word":
            shown, text = read_data("char-lm", vocab_file, "")
            vocabulary = read_word_list("char-lm", text, shown)
        self.ids, self._vocabulary, self.remap = self._read(corpus, vocabulary)
        if len(self.ids) == 0:
            raise DataError(f"char-lm: the corpus {corpus!r} is empty; give it some text.")
        self.split = len(self.ids) - int(math.floor(len(self.ids) * self.val_fraction))

    def _read(self, corpus, vocabulary):
        """The corpus' ids (a memory map, or an array for the embedded corpus), vocabulary and
        the map from its ids to the run's."""
        if corpus is None or (isinstance(corpus, str) and corpus == ""):
            ids, vocabulary = encode_in_memory(
                embedded_corpus(), self.tokens, self.vocab_size_option, vocabulary
            )
            return ids, vocabulary, None
        if isinstance(corpus, str) and is_token_file(corpus):
            made = open_token_file(corpus, "char-lm")
            changed = stale_sources(made.record)
            if changed:
                raise DataError(
                    f"char-lm: the token file {corpus!r} is stale ({changed}); make it again "
                    "with `seqkit prepare`."
                )
        else:
            made = cached_token_file(corpus, self.tokens, self.vocab_size_option, owner="char-lm")
        if made.record.get("tokens") != self.tokens:
            raise DataError(
                f"char-lm: the token file {str(made.path)!r} holds {made.record.get('tokens')!r} "
                f"tokens, not {self.tokens!r}; set task.tokens to match, or prepare another."
            )
        if vocabulary is not None and self.tokens == "word" and made.vocabulary != vocabulary:
            made = cached_token_file(corpus, "word", self.vocab_size_option, vocabulary,
                                     unknown="map", owner="char-lm")  # fmt: skip
        vocabulary = vocabulary or made.vocabulary
        return made.ids, vocabulary, remap_ids(made.ids, made.vocabulary, vocabulary)

    @property
    def train_ids(self) -> np.ndarray:
        return self._ids(self.ids[: self.split])

    @property
    def val_ids(self) -> np.ndarray:
        return self._ids(self.ids[self.split :])

    def _ids(self, ids) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int32)
        return ids if self.remap is None else self.remap[ids]

    @property
    def text(self) -> str:
        """The whole corpus decoded (for a corpus that fits in memory)."""
        return self.decode(self._ids(self.ids))

    @property
    def vocabulary(self) -> seqkit.TextVocabulary:
        """The corpus' tokens (or the run's, given back)."""
        return self._vocabulary

    @property
    def vocab_size(self) -> int:
        return len(self._vocabulary)

    def encode(self, text: str) -> np.ndarray:
        """A text to ids ``[n]`` int32; a token outside the vocabulary fails (words: ``<unk>``)."""
        missing = self._vocabulary.missing(text)
        if missing:
            raise unknown_character(missing[0], self.vocab_size)
        return self._vocabulary.encode(text)

    def decode(self, ids) -> str:
        """Ids to text."""
        return self._vocabulary.decode(ids)

    def corpus_batches(self, corpus, batch_size: int, unknown: str | None = None):
        """All of the text ``corpus`` (a file, a folder or a list) as B streams in this
        vocabulary; a token outside it is refused (naming it and its line), skipped or
        mapped to the unknown token (``unknown``; None: words mapped to ``<unk>``, a
        character refused)."""
        if isinstance(corpus, str) and is_token_file(corpus):  # made by `seqkit prepare`
            made = open_token_file(corpus, "char-lm")
            remap = remap_ids(made.ids, made.vocabulary, self._vocabulary)
            return [make_streams(made.ids, batch_size, "evaluation", self.unit, remap)]
        if unknown is None:
            unknown = "map" if self._vocabulary.unknown is not None else "refuse"
        made = cached_token_file(corpus, self.tokens, self.vocab_size_option,
                                 self._vocabulary, unknown, owner="char-lm")  # fmt: skip
        return [make_streams(made.ids, batch_size, "evaluation", self.unit)]

    def model_dims(self) -> dict[str, int]:
        return {"vocab_size": self.vocab_size, "output_size": self.vocab_size}

    def train_batches(self, batch_size: int, seed: int = 0) -> list[seqkit.SequenceBatch]:
        """One batch of B streams over the training split (an epoch); ``seed`` is unused:
        contiguous streams have one order."""
        ids = self.ids[: self.split]
        return [make_streams(ids, batch_size, "training", self.unit, self.remap)]

    def eval_batches(self, batch_size: int) -> list[seqkit.SequenceBatch]:
        """One batch of B streams over the validation split (its first ``val_tokens``)."""
        end = len(self.ids) if not self.val_tokens else self.split + self.val_tokens
        ids = self.ids[self.split : end]
        if len(ids) == 0:
            raise no_validation_split(
                "char-lm", len(self.ids), self.unit, self.val_fraction, "the corpus"
            )
        return [make_streams(ids, batch_size, "validation", self.unit, self.remap)]

    def metrics(self, mean_loss: float) -> dict[str, float]:
        """The loss in nats and in bits per character (per byte), or the perplexity (words)."""
        loss = float(mean_loss)
        if self.tokens == "word":
            return {"loss": loss, "perplexity": math.exp(min(loss, 700.0))}
        return {"loss": loss, "bpc" if self.tokens == "char" else "bpb": loss / math.log(2.0)}


@seqkit.hookimpl
def seqkit_register_tasks(register):
    register("char-lm", CharLM)
