r"""How a text becomes token ids, one chunk at a time: the three tokenisations of a language
model's corpus, each a counting pass (the vocabulary) and an encoding pass (the ids).

>>> from seqkit.data.tokenisation import make_tokeniser
>>> tokeniser = make_tokeniser("word", vocab_size=4)
>>> for chunk in ["the cat sat\n", "the cat\n"]:
...     tokeniser.count(chunk)  # pass 1 (none where the vocabulary is fixed)
>>> vocabulary = tokeniser.vocabulary()
>>> vocabulary.tokens  # <unk>, <eos>, then the most frequent words
('<unk>', '<eos>', 'cat', 'the')
>>> tokeniser.encode("the dog sat\n", vocabulary)  # pass 2: int64 ids, -1 where unknown
array([ 3, -1, -1,  1])

- ``char``: each Unicode character a token; the vocabulary is the sorted set of the corpus'
  characters (as the char-lm task has always built it). Counted and encoded with NumPy on the
  chunk's code points (``bincount`` and a lookup table), tens of MB/s.
- ``byte``: each UTF-8 byte a token; 256 tokens, no counting pass.
- ``word``: whitespace-separated words, ``<eos>`` at each line end (as in the Penn Treebank
  files), the ``vocab_size`` most frequent words (``<unk>`` and ``<eos>`` among them; ties in
  word order) or a given vocabulary; ``<unk>`` stands for any other word.

A chunk is ``bytes`` for ``byte`` and ``str`` otherwise; a ``word`` chunk ends at a line end.
"""

from __future__ import annotations

import collections
import itertools

import numpy as np

from seqkit.data.vocabulary import TextVocabulary
from seqkit.errors import DataError

TOKENISATIONS = ("char", "byte", "word")
UNKNOWN, END_OF_LINE = "<unk>", "<eos>"
_CODE_POINTS = 0x110000


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as a uint32 array (one NumPy view of its UTF-32)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


class CharTokens:
    """Unicode characters; the vocabulary is the sorted set of those counted."""

    name = "char"
    reads_bytes = False

    def __init__(self):
        self.counts = np.zeros(_CODE_POINTS, dtype=np.int64)
        self._table: tuple[TextVocabulary, np.ndarray] | None = None

    def count(self, text: str) -> None:
        self.counts += np.bincount(code_points(text), minlength=_CODE_POINTS)

    def vocabulary(self) -> TextVocabulary:
        return TextVocabulary(tuple(chr(c) for c in np.flatnonzero(self.counts)))

    def encode(self, text: str, vocabulary: TextVocabulary) -> np.ndarray:
        if self._table is None or self._table[0] is not vocabulary:
            table = np.full(_CODE_POINTS, -1, dtype=np.int64)
            table[[ord(t) for t in vocabulary.tokens]] = np.arange(len(vocabulary))
            self._table = (vocabulary, table)
        return self._table[1][code_points(text)]

    @staticmethod
    def locate(text: str, index: int) -> tuple[str, int]:
        """The ``index``-th token of ``text`` and the line ends before it."""
        return text[index], text.count("\n", 0, index)


class ByteTokens:
    """UTF-8 bytes: 256 tokens, nothing to count."""

    name = "byte"
    reads_bytes = True

    def count(self, data: bytes) -> None:
        pass

    def vocabulary(self) -> TextVocabulary:
        return TextVocabulary.of_bytes()

    def encode(self, data: bytes, vocabulary: TextVocabulary) -> np.ndarray:
        return np.frombuffer(data, dtype=np.uint8).astype(np.int64)

    @staticmethod
    def locate(data: bytes, index: int) -> tuple[str, int]:
        return chr(data[index]), data.count(b"\n", 0, index)


class WordTokens:
    """Whitespace-separated words, ``<eos>`` at each line end, the ``vocab_size`` most frequent."""

    name = "word"
    reads_bytes = False

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size
        self.counts: collections.Counter = collections.Counter()

    @staticmethod
    def words(text: str) -> list[str]:
        return text.replace("\n", f" {END_OF_LINE} ").split()

    def count(self, text: str) -> None:
        self.counts.update(text.split())

    def vocabulary(self) -> TextVocabulary:
        counts = {w: c for w, c in self.counts.items() if w not in (UNKNOWN, END_OF_LINE)}
        ranked = sorted(counts, key=lambda w: (-counts[w], w))[: max(self.vocab_size - 2, 0)]
        return word_vocabulary(ranked)

    def encode(self, text: str, vocabulary: TextVocabulary) -> np.ndarray:
        index = {t: i for i, t in enumerate(vocabulary.tokens)}
        words = self.words(text)
        found = map(index.get, words, itertools.repeat(-1))
        return np.fromiter(found, dtype=np.int64, count=len(words))

    def locate(self, text: str, index: int) -> tuple[str, int]:
        words = self.words(text)
        return words[index], words[:index].count(END_OF_LINE)


def word_vocabulary(words) -> TextVocabulary:
    """``<unk>``, ``<eos>`` and ``words`` (each once, in order): a word-level vocabulary."""
    tokens = [UNKNOWN, END_OF_LINE, *(w for w in words if w not in (UNKNOWN, END_OF_LINE))]
    return TextVocabulary(
        tuple(dict.fromkeys(tokens)), " ", unknown=UNKNOWN, end_of_line=END_OF_LINE
    )


def read_word_list(owner: str, text: str, shown: str) -> TextVocabulary:
    """A vocabulary file's words (one a line, or separated by whitespace) as a word-level
    vocabulary; a DataError if it holds none."""
    words = text.split()
    if not words:
        raise DataError(f"{owner}: the vocabulary file {shown!r} holds no words; give one a line.")
    return word_vocabulary(words)


def make_tokeniser(tokens: str, vocab_size: int = 10000):
    """The tokeniser named ``tokens`` (one of ``TOKENISATIONS``)."""
    if tokens == "char":
        return CharTokens()
    if tokens == "byte":
        return ByteTokens()
    if tokens == "word":
        return WordTokens(vocab_size)
    listed = ", ".join(repr(t) for t in TOKENISATIONS)
    raise DataError(f"tokens must be one of {listed}, got {tokens!r}.")


def id_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned integer type that holds every id of a vocabulary."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if vocab_size <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    raise DataError(f"A vocabulary of {vocab_size:,} tokens is too large for a token file.")
