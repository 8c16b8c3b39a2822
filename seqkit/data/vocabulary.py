"""``TextVocabulary``: the tokens a language model reads and writes, and how a text splits into
them. A run directory keeps it in ``vocab.json``, so that a reopened or resumed run gives every
id the meaning it was trained with.

>>> from seqkit.data.vocabulary import TextVocabulary
>>> chars = TextVocabulary.of_text("a cab")  # one token a character, sorted
>>> chars.tokens
(' ', 'a', 'b', 'c')
>>> chars.encode("cab")
array([3, 1, 2], dtype=int32)
>>> chars.decode([2, 1])
'ba'
>>> chars.encode("cad")
Traceback (most recent call last):
seqkit.errors.DataError: The text holds 'd', which is not in the vocabulary of 4 tokens; ...
>>> words = TextVocabulary(("<unk>", "cat", "the"), separator=" ", unknown="<unk>")
>>> words.encode("the dog")  # "dog" is unknown
array([2, 0], dtype=int32)
>>> TextVocabulary.of_bytes().encode("é")  # its UTF-8 bytes
array([195, 169], dtype=int32)

A task's vocabulary of the tokens it saw, padding and unknown first (ids 0 and 1):

>>> counted = TextVocabulary.counted(["b", "a", "b", "z"], min_count=1, separator=" ")
>>> counted.tokens
('<pad>', '<unk>', 'a', 'b', 'z')
>>> counted.encode(["a", "q"])  # tokens split already; "q" is unknown
array([2, 1], dtype=int32)
"""

from __future__ import annotations

import collections
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from seqkit.errors import DataError

SEPARATORS = ("", " ")  # characters, or whitespace-separated words
BYTE_TOKENS = tuple(chr(i) for i in range(256))  # byte b is the token chr(b)
PADDING, UNKNOWN = "<pad>", "<unk>"  # the reserved tokens of ``TextVocabulary.counted``
PAD, UNK = 0, 1  # their ids


@dataclass(frozen=True)
class TextVocabulary:
    """Tokens by id. ``separator`` ``""``: each character is a token; ``" "``: tokens are the
    text's whitespace-separated words, joined by a space. ``unknown`` names the token that
    stands for any other (None: a token outside the vocabulary is an error). ``byte_level``:
    the 256 tokens are a text's UTF-8 bytes (token i is ``chr(i)``). ``end_of_line`` (words
    only) names the token a line end stands for (``<eos>``), decoded as a newline.
    ``reserved``: the first tokens stand for no text (padding, unknown, markers): no text
    reads as them, they may be longer than one character in a vocabulary of characters, and a
    token of the text spelt the same is a token of its own, after them."""

    tokens: tuple[str, ...]
    separator: str = ""
    unknown: str | None = None
    byte_level: bool = False
    end_of_line: str | None = None
    reserved: int = 0
    _index: dict = field(init=False, repr=False, compare=False)
    _unknown_id: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        tokens = tuple(self.tokens)
        object.__setattr__(self, "tokens", tokens)
        if not tokens or not all(isinstance(t, str) and t for t in tokens):
            raise DataError("A vocabulary needs at least one token, each a non-empty string.")
        if self.separator not in SEPARATORS:
            raise DataError(f"A vocabulary's separator is '' or ' ', got {self.separator!r}.")
        if not isinstance(self.reserved, int) or not 0 <= self.reserved <= len(tokens):
            raise DataError(
                f"A vocabulary's reserved count is 0 to {len(tokens)}, got {self.reserved!r}."
            )
        readable = tokens[self.reserved :]
        if self.separator == "" and any(len(t) != 1 for t in readable):
            raise DataError(
                "A vocabulary of characters (separator '') holds one character a token."
            )
        if any(len(set(part)) != len(part) for part in (tokens[: self.reserved], readable)):
            raise DataError("A vocabulary holds each token once; this one repeats some.")
        if self.unknown is not None and self.unknown not in tokens:
            raise DataError(f"The unknown token {self.unknown!r} is not in the vocabulary.")
        if self.byte_level and tokens != BYTE_TOKENS:
            raise DataError("A byte-level vocabulary holds the 256 bytes in order.")
        eol = self.end_of_line
        if eol is not None and (self.separator != " " or eol not in tokens):
            raise DataError(f"The end-of-line token {eol!r} is no word of the vocabulary.")
        index = {t: i for i, t in enumerate(tokens) if i >= self.reserved}
        object.__setattr__(self, "_index", index)
        unknown_id = None if self.unknown is None else tokens.index(self.unknown)  # the first
        object.__setattr__(self, "_unknown_id", unknown_id)

    @classmethod
    def of_bytes(cls) -> TextVocabulary:
        """The 256 byte values: a text is read as its UTF-8 bytes."""
        return cls(BYTE_TOKENS, byte_level=True)

    @classmethod
    def of_text(cls, text: str) -> TextVocabulary:
        """The sorted characters of ``text``."""
        return cls(tuple(sorted(set(text))))

    @classmethod
    def counted(
        cls,
        tokens: Iterable[str],
        min_count: int = 1,
        separator: str = "",
        markers: Sequence[str] = (),
    ) -> TextVocabulary:
        """``<pad>`` (id 0), ``<unk>`` (id 1), then ``markers`` (``<s>``), then the tokens seen at
        least ``min_count`` times, sorted (but for the markers); rarer ones read as ``<unk>``.
        The markers are reserved (read from no text) in a vocabulary of characters only, where
        no character could be one."""
        counts = collections.Counter(tokens)
        kept = sorted(t for t, n in counts.items() if n >= min_count and t not in markers)
        reserved = 2 + (len(markers) if separator == "" else 0)
        listed = (PADDING, UNKNOWN, *markers, *kept)
        return cls(listed, separator, UNKNOWN, reserved=reserved)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def split(self, text: str) -> list[str]:
        """The text's tokens: its characters (or UTF-8 bytes), or its whitespace-separated
        words (with ``end_of_line`` at each line end)."""
        if self.byte_level:
            return list(text.encode("utf-8").decode("latin-1"))
        if self.separator == "":
            return list(text)
        if self.end_of_line is not None:
            text = text.replace("\n", f" {self.end_of_line} ")
        return text.split()

    def missing(self, text: str) -> list[str]:
        """The tokens of ``text`` that the vocabulary lacks, in the order they first appear
        (none where it has an unknown token)."""
        if self.unknown is not None:
            return []
        return list(dict.fromkeys(t for t in self.split(text) if t not in self._index))

    def first_unknown(self, tokens: Iterable[str]) -> str | None:
        """The first of ``tokens`` the vocabulary lacks (None: it has them all), whether or not
        an unknown token stands for it."""
        return next((t for t in tokens if t not in self._index), None)

    def encode(self, text: str | Sequence[str]) -> np.ndarray:
        """A text, or its tokens split already, to ids ``[n]`` int32; a token outside the
        vocabulary is ``unknown``'s id, or a DataError that names it."""
        tokens = self.split(text) if isinstance(text, str) else list(text)
        default = self._unknown_id
        ids = [self._index.get(t, default) for t in tokens]
        if default is None and None in ids:
            bad = tokens[ids.index(None)]
            raise DataError(
                f"The text holds {bad!r}, which is not in the vocabulary of {len(self)} tokens; "
                "use text made of the training corpus' tokens."
            )
        return np.asarray(ids, dtype=np.int32)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to text, the tokens joined by the separator (bytes decoded as UTF-8, a byte
        that ends no character shown as U+FFFD; an end-of-line token as a newline)."""
        tokens = [self.tokens[int(i)] for i in np.asarray(ids).reshape(-1)]
        if self.byte_level:
            return "".join(tokens).encode("latin-1").decode("utf-8", errors="replace")
        if self.end_of_line is None:
            return self.separator.join(tokens)
        lines: list[list[str]] = [[]]
        for token in tokens:
            if token == self.end_of_line:
                lines.append([])
            else:
                lines[-1].append(token)
        return "\n".join(" ".join(line) for line in lines)

    def to_json(self) -> str:
        """``vocab.json``'s text."""
        record = {"tokens": list(self.tokens), "separator": self.separator, "unknown": self.unknown}
        if self.byte_level:  # only where set: older runs' vocab.json and fingerprints stay
            record = {"bytes": True, "separator": "", "unknown": None}
        if self.end_of_line is not None:
            record["end_of_line"] = self.end_of_line
        if self.reserved:
            record["reserved"] = self.reserved
        return json.dumps(record, ensure_ascii=False, indent=None) + "\n"

    def fingerprint(self) -> str:
        """A SHA-256 of the tokens in order: a run's ``task.json`` keeps it, so that a changed
        or reordered ``vocab.json`` is found before it silently changes every id's meaning."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_json(cls, data) -> TextVocabulary:
        """The vocabulary of parsed ``vocab.json`` data: the record ``to_json`` writes, or a
        string of characters (the form seqkit wrote before)."""
        if isinstance(data, str):
            return cls(tuple(data))
        if isinstance(data, dict) and data.get("bytes") is True:
            return cls.of_bytes()
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), Sequence):
            raise DataError("A vocabulary is a JSON object with a list of tokens.")
        return cls(
            tuple(data["tokens"]),
            data.get("separator", ""),
            data.get("unknown"),
            end_of_line=data.get("end_of_line"),
            reserved=data.get("reserved", 0),
        )
