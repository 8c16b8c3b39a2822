"""A corpus read in bounded memory: its files, and their text a chunk at a time.

    files = corpus_files("char-lm", ["books/", "extra.txt"])   # a file, a folder, or several
    for chunk in read_chunks("char-lm", files, reads_bytes=False, whole_lines=False):
        chunk.path, chunk.lines_before, chunk.data        # str (or bytes), at most ~8 MB

A folder stands for its text files (``*.txt``, ``*.md``, ``*.rst``, ``*.text``), sorted by path,
recursively, none from inside a seqkit run directory. The files are joined with a newline
(``whole_lines``: each file's last line ended instead, so that a word-level corpus has one
``<eos>`` a line). Text is UTF-8 (a byte-order mark at the start of a file dropped), decoded
incrementally so that a chunk never splits a character; a NUL byte or bytes that are not UTF-8
are refused in one line that names the file.
"""

from __future__ import annotations

import codecs
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from seqkit.data.files import open_data_file, outside_runs
from seqkit.errors import DataError

TEXT_SUFFIXES = (".txt", ".md", ".rst", ".text")
CHUNK_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Chunk:
    path: Path
    lines_before: int  # the line ends of this file before the chunk
    data: str | bytes


def _as_paths(owner: str, corpus) -> list[Path]:
    items = [corpus] if isinstance(corpus, str | os.PathLike) else corpus
    if not isinstance(items, Sequence) or not items:
        raise DataError(f"{owner}: the corpus must be a path or a list of paths, got {corpus!r}.")
    paths = []
    for item in items:
        if not isinstance(item, str | os.PathLike) or not str(item) or "\0" in str(item):
            raise DataError(
                f"{owner}: the corpus must be the path of a text file or folder, got {item!r}."
            )
        paths.append(Path(item).expanduser())
    return paths


def _folder_files(owner: str, folder: Path) -> list[Path]:
    found = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES]
    files = sorted(outside_runs(found, folder))  # a run kept in the folder is no corpus
    if not files:
        raise DataError(
            f"{owner}: the directory {str(folder)!r} holds no text files "
            f"({', '.join('*' + s for s in TEXT_SUFFIXES)}); add some or name a file."
        )
    return files


def corpus_files(owner: str, corpus) -> list[Path]:
    """The files of ``corpus`` (a path or a list of paths, each a file or a folder), resolved,
    in reading order; a DataError if one is missing or a folder holds no text files."""
    files: list[Path] = []
    for path in _as_paths(owner, corpus):
        if path.is_dir():
            files.extend(_folder_files(owner, path))
        elif not path.exists():
            raise DataError(
                f"{owner}: the corpus {str(path)!r} does not exist; give a UTF-8 text file or a "
                "directory of text files, or leave task.corpus empty for the embedded corpus."
            )
        else:
            files.append(path)
    return [f.resolve() for f in files]


def _decoded(owner: str, path: Path, decoder, data: bytes, offset: int, final: bool) -> str:
    try:
        return decoder.decode(data, final)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{owner}: {str(path)!r} is not UTF-8 text (byte {offset + exc.start} cannot be "
            "decoded); convert it, e.g. with `iconv -t UTF-8`."
        ) from None


def _file_chunks(owner: str, path: Path, reads_bytes: bool, meter) -> Iterator[str | bytes]:
    """The file's text (or bytes) in chunks; a NUL byte in a text file is refused."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset = 0
    with open_data_file(owner, path) as file:
        while True:
            data = file.read(CHUNK_BYTES)
            meter(data)
            if reads_bytes:
                if data:
                    yield data
            else:
                nul = data.find(b"\0")
                if nul >= 0:  # text files hold no NUL bytes; images, archives and models do
                    raise DataError(
                        f"{owner}: {str(path)!r} looks binary (byte {offset + nul} is NUL), "
                        "not text; give a UTF-8 text file."
                    )
                text = _decoded(owner, path, decoder, data, offset, not data)
                if text:
                    yield text
            offset += len(data)
            if not data:
                return


def read_chunks(owner: str, files: Sequence[Path], reads_bytes: bool, whole_lines: bool,
                meter=None) -> Iterator[Chunk]:  # fmt: skip
    """The corpus' chunks, file after file (see the module's text); ``meter(data)`` is given
    the bytes of the files as they are read. With ``whole_lines`` each chunk ends at a line end."""
    meter = meter or (lambda data: None)
    newline = b"\n" if reads_bytes else "\n"
    for number, path in enumerate(files):
        lines, last, carried = 0, None, newline[:0]
        if number and not whole_lines:
            yield Chunk(path, 0, newline)
        for data in _file_chunks(owner, path, reads_bytes, meter):
            if whole_lines:
                data = carried + data
                cut = data.rfind(newline) + 1
                data, carried = data[:cut], data[cut:]
            if data:
                yield Chunk(path, lines, data)
                lines += data.count(newline)
                last = data[-1:]
        if whole_lines and (carried or (last is not None and last != newline)):
            yield Chunk(path, lines, carried + newline)


class ProgressBar:
    """A progress line on standard error for long work (more than ``least`` bytes):
    ``preparing: 45% 230/512 MB, 38 MB/s``, redrawn at most twice a second."""

    def __init__(self, label: str, total: int, least: int = 64 * 10**6, stream=None):
        self.label, self.total, self.done = label, max(total, 1), 0
        self.shown = total >= least
        self.stream = stream or sys.stderr
        self.started = self.drawn = time.perf_counter()

    def __call__(self, data: bytes) -> None:
        self.done += len(data)
        now = time.perf_counter()
        if self.shown and now - self.drawn >= 0.5:
            self.drawn = now
            self._draw(now)

    def _draw(self, now: float, end: str = "") -> None:
        rate = self.done / max(now - self.started, 1e-9) / 1e6
        percent = min(100.0, 100.0 * self.done / self.total)
        line = f"\r{self.label}: {percent:3.0f}% {self.done / 1e6:,.0f}/{self.total / 1e6:,.0f} MB"
        self.stream.write(f"{line}, {rate:,.0f} MB/s{end}")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self._draw(time.perf_counter(), "\n")
