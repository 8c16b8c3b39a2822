"""Token files: a corpus encoded once into token ids, read back through ``numpy.memmap``.

    made = prepare_token_file(["books/"], "books.tokens", tokens="char")   # two passes
    opened = open_token_file("books.tokens")          # refuses a damaged or stale one
    opened.ids[1000:1064], opened.vocabulary          # uint8/16/32 ids, a TextVocabulary
    cached = cached_token_file(["books/"], tokens="word", vocab_size=10000)  # made or reused

A token file is a folder of three files: ``ids.bin`` (the ids, the smallest unsigned type that
holds the vocabulary), ``vocab.json`` and ``record.json`` (what it was made from: each source's
path, size and modification time, a SHA-256 of their bytes, the tokenisation and its options,
the count and the type of the ids, the vocabulary's fingerprint, the format's version). It is
made in a temporary folder beside its place and renamed there when whole, so that preparation
stopped at any moment leaves nothing half-made. Encoding streams through the text (a counting
pass for the vocabulary, then an encoding pass), its memory bounded by the chunk size.

A run given a raw corpus keeps its token file in the cache (``cache_dir()``): the folder
``SEQKIT_CACHE_DIR`` names, else ``$XDG_CACHE_HOME/seqkit``, else ``~/.cache/seqkit``, under
``tokens/``; one whose record no longer matches its sources is made again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqkit.cache import cache_dir
from seqkit.data.corpus import ProgressBar, corpus_files, read_chunks
from seqkit.data.token_encoding import encode_corpus
from seqkit.data.tokenisation import make_tokeniser
from seqkit.data.vocabulary import TextVocabulary
from seqkit.errors import DataError
from seqkit.option_words import UNKNOWN_POLICIES

FORMAT, VERSION = "seqkit-tokens", 1
IDS, VOCAB, RECORD = "ids.bin", "vocab.json", "record.json"


@dataclass(frozen=True)
class TokenFile:
    """An opened token file: its ids (a read-only memmap), vocabulary and record."""

    path: Path
    ids: np.ndarray
    vocabulary: TextVocabulary
    record: dict

    def __len__(self) -> int:
        return len(self.ids)


def _options(tokens: str, vocab_size: int, vocabulary, unknown: str) -> dict:
    """What a token file is made with; a counted vocabulary maps the words it leaves out."""
    fixed = None if vocabulary is None else vocabulary.fingerprint()
    unknown = "map" if vocabulary is None else unknown
    return {"tokens": tokens, "vocab_size": vocab_size if tokens == "word" else None,
            "vocabulary": fixed, "unknown": unknown}  # fmt: skip


def _sources(files) -> list[dict]:
    stats = [(str(f), f.stat()) for f in files]
    return [{"path": p, "size": s.st_size, "mtime_ns": s.st_mtime_ns} for p, s in stats]


def prepare_token_file(
    corpus,
    out,
    tokens: str = "char",
    vocab_size: int = 10000,
    vocabulary: TextVocabulary | None = None,
    unknown: str = "refuse",
    owner: str = "prepare",
) -> TokenFile:
    """Encode ``corpus`` (a path or a list of paths, files or folders) into the token file
    ``out``, replacing any there. ``vocabulary``: encode with this one (a run's) instead of
    counting one, a token outside it refused, skipped or mapped to its unknown token
    (``unknown``). Work on more than 64 MB shows a progress line on standard error."""
    if unknown not in UNKNOWN_POLICIES:
        raise DataError(f"unknown must be one of {', '.join(UNKNOWN_POLICIES)}, got {unknown!r}.")
    files = corpus_files(owner, corpus)
    options = _options(tokens, vocab_size, vocabulary, unknown)
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    work.chmod(0o755)  # mkdtemp's 0o700 would keep the token file from other users
    try:
        record, vocabulary = _encode(owner, corpus, files, options, vocabulary, work, out.name)
        (work / VOCAB).write_text(vocabulary.to_json(), encoding="utf-8")
        (work / RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        _replace(work, out)
    except BaseException:  # an error, Ctrl-C: nothing half-made is left
        shutil.rmtree(work, ignore_errors=True)
        raise
    return open_token_file(out, owner=owner)


def _encode(owner, corpus, files, options, vocabulary, work: Path, name: str):
    """The two passes into ``work``: ``(record, vocabulary)``."""
    tokeniser = make_tokeniser(options["tokens"], options["vocab_size"] or 0)
    words = tokeniser.name == "word"  # each file's last line ended: one <eos> a line
    counting = vocabulary is None and tokeniser.name != "byte"
    sources = _sources(files)
    bar = ProgressBar(f"preparing {name}", (1 + counting) * sum(s["size"] for s in sources))
    if counting:
        for chunk in read_chunks(owner, files, tokeniser.reads_bytes, words, bar):
            tokeniser.count(chunk.data)
        if tokeniser.name == "char" and not tokeniser.counts.any():
            shown = str(corpus) if isinstance(corpus, str | os.PathLike) else corpus
            raise DataError(f"{owner}: the corpus {shown!r} is empty; give it some text.")
    vocabulary = vocabulary or tokeniser.vocabulary()
    digest = hashlib.sha256()  # of the sources' bytes, file after file

    def hashed(data: bytes) -> None:
        bar(data)
        digest.update(data)

    chunks = read_chunks(owner, files, tokeniser.reads_bytes, words, hashed)
    made = encode_corpus(owner, chunks, tokeniser, vocabulary, options["unknown"], work / IDS)
    bar.close()
    record = {"format": FORMAT, "version": VERSION, **options, "sources": sources,
              "sha256": digest.hexdigest(), "count": made.count, "dtype": made.dtype,
              "skipped": made.skipped, "mapped": made.mapped,
              "vocabulary_sha256": vocabulary.fingerprint()}  # fmt: skip
    return record, vocabulary


def _replace(work: Path, out: Path) -> None:
    """Put the whole token file ``work`` at ``out`` (a rename), the one there first removed."""
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
        os.replace(out, old / "t")
        shutil.rmtree(old, ignore_errors=True)
    try:
        os.replace(work, out)
    except OSError:  # another process put one there first: keep it
        shutil.rmtree(work, ignore_errors=True)


def _damaged(path: Path, what: str) -> DataError:
    return DataError(
        f"The token file {str(path)!r} is damaged ({what}); make it again with `seqkit prepare`."
    )


def _read_record(path: Path) -> dict:
    try:
        record = json.loads((path / RECORD).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _damaged(path, f"it has no {RECORD}") from None
    except (OSError, ValueError) as exc:
        raise _damaged(path, f"{RECORD} cannot be read: {type(exc).__name__}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise _damaged(path, f"{RECORD} is not a token file's record")
    if record.get("version") != VERSION:
        raise DataError(
            f"The token file {str(path)!r} is of format version {record.get('version')!r}; this "
            f"seqkit reads version {VERSION}: make it again with `seqkit prepare`."
        )
    return record


def open_token_file(path, owner: str = "prepare") -> TokenFile:
    """The token file at ``path``: its ids memory-mapped. A DataError in one line if it is
    damaged (a missing or unreadable part, ids of the wrong size, another vocabulary)."""
    path = Path(path).expanduser()
    record = _read_record(path)
    try:
        vocabulary = TextVocabulary.from_json(json.loads((path / VOCAB).read_text("utf-8")))
        dtype, count = np.dtype(record["dtype"]), int(record["count"])
        size = (path / IDS).stat().st_size
    except (OSError, ValueError, KeyError, TypeError, DataError) as exc:
        raise _damaged(path, f"{type(exc).__name__} reading its parts") from None
    if vocabulary.fingerprint() != record.get("vocabulary_sha256"):
        raise _damaged(path, f"{VOCAB} is not the vocabulary its ids were made with")
    if size != count * dtype.itemsize:
        raise _damaged(path, f"{IDS} holds {size:,} bytes, not {count:,} ids of {dtype.name}")
    ids = np.memmap(path / IDS, dtype=dtype, mode="r") if count else np.zeros(0, dtype)
    return TokenFile(path, ids, vocabulary, record)


def stale_sources(record: dict) -> str | None:
    """What changed among a token file's sources since it was made (None: nothing, or the
    sources are gone, so that a token file can outlive its text)."""
    paths = [Path(s["path"]) for s in record.get("sources", [])]
    if not paths or not all(p.exists() for p in paths):
        return None
    for was, now in zip(record["sources"], _sources(paths), strict=True):
        if was != now:
            return f"{now['path']!r} changed since it was made"
    return None


def is_token_file(path) -> bool:
    """Whether ``path`` is a token file's folder (it holds a record)."""
    return Path(path).expanduser().joinpath(RECORD).is_file()


def cached_path(files, options: dict) -> Path:
    """Where the cache keeps the token file of ``files`` made with ``options``."""
    key = json.dumps([[str(f) for f in files], options], sort_keys=True)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return cache_dir() / "tokens" / f"{files[0].stem}-{digest}.tokens"


def cached_token_file(corpus, tokens: str = "char", vocab_size: int = 10000,
                      vocabulary: TextVocabulary | None = None, unknown: str = "refuse",
                      owner: str = "prepare") -> TokenFile:  # fmt: skip
    """The cache's token file of ``corpus``: reused where its record matches the sources and
    the options, else (missing, damaged or stale) made again."""
    files = corpus_files(owner, corpus)
    options = _options(tokens, vocab_size, vocabulary, unknown)
    path = cached_path(files, options)
    if path.exists():
        try:
            made = open_token_file(path, owner)
            record = made.record
            same = {k: record.get(k) for k in options} == options
            if same and record["sources"] == _sources(files):
                return made
        except DataError:
            pass  # damaged: made again below
    return prepare_token_file(corpus, path, tokens, vocab_size, vocabulary, unknown, owner)
