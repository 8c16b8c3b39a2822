"""The ``char-lm`` task: a character-level language model over B parallel contiguous streams.

    task = seqkit.make_task("char-lm", corpus="shakespeare.txt", val_fraction=0.1)
    batch = next(iter(task.train_batches(batch_size=32, seed=0)))   # inputs, targets [32, N]
    task.decode(task.encode("hello"))                                # "hello"

The corpus is a UTF-8 text file, or a directory whose text files (``*.txt``, ``*.md``,
``*.rst``, ``*.text``, sorted by path, recursively, none from inside a seqkit run directory) are
joined with a newline; a byte-order
mark at the start of a file is dropped, and at most ``MAX_DATA_BYTES`` (200 MB) are read. The
vocabulary is the sorted set of the corpus' characters. The last ``val_fraction`` of the text is the
validation split. Each split is cut into B contiguous streams of equal length N: stream b is
the text from ``b * N``, and its targets are the same text shifted by one character, so that a
truncated-BPTT trainer carries each stream's state from one window to the next.

With no corpus (``corpus=None``) the task uses an embedded corpus that every CPython install
ships: the English text of Python's own reference documentation, the ``topics`` dict of the
standard library module ``pydoc_data.topics`` (generated from the Language Reference when
CPython is built; ``help("if")`` prints from it). Its values joined in key order make about
465 KB of text with about 100 distinct characters; its exact content follows the Python version.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import seqkit
from seqkit.data_files import MAX_DATA_BYTES, decode_text, outside_runs, read_data_file
from seqkit.errors import DataError, OptionError
from seqkit_plugins.task_data import no_validation_split

TEXT_SUFFIXES = (".txt", ".md", ".rst", ".text")


def embedded_corpus() -> str:
    """The text of Python's reference documentation (``pydoc_data.topics``), in key order."""
    from pydoc_data.topics import topics

    return "".join(topics[key] for key in sorted(topics))


def read_corpus(corpus: str | Path | None) -> str:
    """The text of ``corpus``: a UTF-8 file, a directory of text files, or None (embedded)."""
    if corpus is None or str(corpus) == "":
        return embedded_corpus()
    if not isinstance(corpus, str | Path) or "\0" in str(corpus):
        raise DataError(
            f"char-lm: the corpus must be the path of a text file or directory, got {corpus!r}."
        )
    path = Path(corpus).expanduser()
    if path.is_dir():
        return "\n".join(_read_text(p) for p in _text_files(path))
    if not path.exists():
        raise DataError(
            f"char-lm: the corpus {str(path)!r} does not exist; give a UTF-8 text file or a "
            "directory of text files, or leave task.corpus empty for the embedded corpus."
        )
    return _read_text(path)


def _text_files(directory: Path) -> list[Path]:
    """The text files under ``directory``, sorted; a DataError if there are none or if they
    hold more than ``MAX_DATA_BYTES`` together."""
    found = [p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES]
    files = sorted(outside_runs(found, directory))
    if not files:
        raise DataError(
            f"char-lm: the directory {str(directory)!r} holds no text files "
            f"({', '.join('*' + s for s in TEXT_SUFFIXES)}); add some or name a file."
        )
    if sum(p.stat().st_size for p in files) > MAX_DATA_BYTES:
        raise DataError(
            f"char-lm: the text files of {str(directory)!r} hold more than "
            f"{MAX_DATA_BYTES // 10**6} MB together (the most a task reads); give a smaller "
            "directory, or a part of it."
        )
    return files


def _read_text(path: Path) -> str:
    """A corpus file's UTF-8 text, a leading byte-order mark dropped (it is no character of
    the text); a DataError if it is not a regular file, too large, binary or not UTF-8."""
    data = read_data_file("char-lm", path)
    nul = data.find(b"\0")
    if nul >= 0:  # text files hold no NUL bytes; images, archives and models do
        raise DataError(
            f"char-lm: {str(path)!r} looks binary (byte {nul} is NUL), not text; "
            "give a UTF-8 text file."
        )
    return decode_text("char-lm", path, data)


def make_streams(ids: np.ndarray, batch_size: int, what: str) -> seqkit.SequenceBatch:
    """B contiguous streams of ``ids``: inputs ``[B, N]`` and targets shifted by one."""
    length = (len(ids) - 1) // batch_size
    if length < 2:
        raise DataError(
            f"char-lm: the {what} text has {len(ids)} characters, too short for {batch_size} "
            f"streams of at least 2 steps; need at least {2 * batch_size + 1} characters: "
            "use a longer corpus or a smaller batch size."
        )
    used = ids[: batch_size * length + 1]
    inputs = used[:-1].reshape(batch_size, length)
    targets = used[1:].reshape(batch_size, length)
    return seqkit.SequenceBatch(inputs.astype(np.int32), targets.astype(np.int32))


class CharLM(seqkit.LanguageModelTask):
    """Predict the next character: inputs are character ids, targets the ids shifted by one."""

    default_loss = "cross-entropy"
    default_truncation = "tbptt"  # B long streams, the state carried from window to window

    def __init__(
        self,
        corpus: str | None = None,
        val_fraction: float = 0.1,
        vocabulary: seqkit.TextVocabulary | str | None = None,
    ):
        if isinstance(val_fraction, bool) or not isinstance(val_fraction, int | float):
            raise OptionError(f"char-lm: val_fraction must be a number, got {val_fraction!r}.")
        if not 0.0 <= val_fraction <= 1.0:
            raise OptionError(f"char-lm: val_fraction must be in [0, 1], got {val_fraction}.")
        self.val_fraction = float(val_fraction)
        self.text = read_corpus(corpus)
        if not self.text:
            raise DataError(f"char-lm: the corpus {corpus!r} is empty; give it some text.")
        if isinstance(
            vocabulary, str
        ):  # characters, as a run wrote them before vocab.json held a record
            vocabulary = seqkit.TextVocabulary(tuple(vocabulary))
        # a run's vocabulary, given back to read another text with the same ids
        self._vocabulary = vocabulary or seqkit.TextVocabulary.of_text(self.text)
        ids = self.encode(self.text)
        split = len(ids) - int(math.floor(len(ids) * float(val_fraction)))
        self.train_ids, self.val_ids = ids[:split], ids[split:]

    @property
    def vocabulary(self) -> seqkit.TextVocabulary:
        """The corpus' characters, sorted (or the run's, given back)."""
        return self._vocabulary

    @property
    def vocab_size(self) -> int:
        return len(self._vocabulary)

    def encode(self, text: str) -> np.ndarray:
        """Characters to ids ``[len(text)]`` int32; a character outside the vocabulary fails."""
        missing = self._vocabulary.missing(text)
        if missing:
            raise DataError(
                f"char-lm: the character {missing[0]!r} is not in the vocabulary of "
                f"{self.vocab_size} characters; use text made of the training corpus' characters."
            )
        return self._vocabulary.encode(text)

    def decode(self, ids) -> str:
        """Ids to text."""
        return self._vocabulary.decode(ids)

    def corpus_batches(self, corpus: str, batch_size: int) -> list[seqkit.SequenceBatch]:
        """All of the text ``corpus`` (a file or a folder) as B streams, in this vocabulary."""
        return [make_streams(self.encode(read_corpus(corpus)), batch_size, "evaluation")]

    def model_dims(self) -> dict[str, int]:
        return {"vocab_size": self.vocab_size, "output_size": self.vocab_size}

    def train_batches(self, batch_size: int, seed: int = 0) -> list[seqkit.SequenceBatch]:
        """One batch of B streams over the training split (an epoch); ``seed`` is unused:
        contiguous streams have one order."""
        return [make_streams(self.train_ids, batch_size, "training")]

    def eval_batches(self, batch_size: int) -> list[seqkit.SequenceBatch]:
        """One batch of B streams over the validation split."""
        if len(self.val_ids) == 0:
            raise no_validation_split(
                "char-lm", len(self.text), "characters", self.val_fraction, "the corpus"
            )
        return [make_streams(self.val_ids, batch_size, "validation")]

    def metrics(self, mean_loss: float) -> dict[str, float]:
        """The loss in nats and in bits per character."""
        return {"loss": float(mean_loss), "bpc": float(mean_loss) / math.log(2.0)}


@seqkit.hookimpl
def seqkit_register_tasks(register):
    register("char-lm", CharLM)
