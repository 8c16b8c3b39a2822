"""The encoding pass of a token file: a corpus' chunks to ids on disk, and what becomes of a
token outside the vocabulary (``refuse``: one line naming it, its file and line; ``skip``:
dropped; ``map``: the vocabulary's unknown token).

    result = encode_corpus("char-lm", chunks, tokeniser, vocabulary, "refuse", path)
    result.count, result.dtype, result.skipped, result.mapped
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqkit.data.corpus import Chunk
from seqkit.data.tokenisation import id_dtype
from seqkit.data.vocabulary import TextVocabulary
from seqkit.errors import DataError


@dataclass(frozen=True)
class Encoded:
    count: int  # ids written
    dtype: str  # their type on disk
    skipped: int  # tokens outside the vocabulary dropped
    mapped: int  # tokens outside the vocabulary written as its unknown token


def unseen_token(owner: str, chunk: Chunk, tokeniser, index: int, size: int) -> DataError:
    """The error for the ``index``-th token of ``chunk``, which a vocabulary of ``size`` lacks."""
    token, lines = tokeniser.locate(chunk.data, index)
    return DataError(
        f"{owner}: {str(chunk.path)!r} line {chunk.lines_before + lines + 1} holds {token!r}, "
        f"which is not in the run's vocabulary of {size:,} tokens; pass --unknown skip (drop "
        "such tokens) or --unknown map (where the vocabulary has an unknown token)."
    )


def _known(owner, chunk, tokeniser, ids, vocabulary, unknown) -> tuple[np.ndarray, int, int]:
    """``ids`` with the policy applied to the -1s: (ids, skipped, mapped)."""
    bad = ids < 0
    if not bad.any():
        return ids, 0, 0
    if unknown == "refuse":
        raise unseen_token(owner, chunk, tokeniser, int(np.argmax(bad)), len(vocabulary))
    if unknown == "skip":
        return ids[~bad], int(bad.sum()), 0
    if vocabulary.unknown is None:
        raise DataError(
            f"{owner}: the run's vocabulary has no unknown token to map "
            f"{tokeniser.locate(chunk.data, int(np.argmax(bad)))[0]!r} to; pass --unknown skip "
            "to drop the tokens it lacks, or --unknown refuse."
        )
    ids[bad] = vocabulary.tokens.index(vocabulary.unknown)
    return ids, 0, int(bad.sum())


def encode_corpus(owner: str, chunks: Iterable[Chunk], tokeniser, vocabulary: TextVocabulary,
                  unknown: str, path: Path) -> Encoded:  # fmt: skip
    """Write the ids of ``chunks`` to ``path`` in the smallest type that holds the vocabulary,
    flushed to disk; a token outside ``vocabulary`` is dealt with as ``unknown`` says."""
    dtype = id_dtype(len(vocabulary))
    count = skipped = mapped = 0
    with open(path, "wb") as file:
        for chunk in chunks:
            ids = tokeniser.encode(chunk.data, vocabulary)
            ids, dropped, replaced = _known(owner, chunk, tokeniser, ids, vocabulary, unknown)
            file.write(ids.astype(dtype).tobytes())
            count, skipped, mapped = count + len(ids), skipped + dropped, mapped + replaced
        file.flush()
        os.fsync(file.fileno())
    return Encoded(count, dtype.name, skipped, mapped)
