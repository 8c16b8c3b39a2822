"""Reading a data file that a user names: a regular file of bounded size, or a one-line error.

    data = read_data_file("char-lm", "corpus.txt")     # bytes, at most MAX_DATA_BYTES
    text = decode_text("char-lm", "corpus.txt", data)  # UTF-8; a leading byte-order mark dropped

A device (``/dev/zero``), a named pipe or a socket would be read without end, or block; a
directory is not a file. Each is refused before a byte is read, by what ``stat`` says of the
path and again of the opened file (so that a path swapped in between changes nothing), and a
regular file larger than the limit is refused by its size. Task plugins, built-in or not, read
their files through here.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from seqkit.errors import DataError

# 200 MB: the most a task holds in memory as text (a labelled task's file); a language model's
# corpus has no limit: it is read in chunks into a token file (``seqkit.data.token_files``).
MAX_DATA_BYTES = 200 * 1000 * 1000

# O_NONBLOCK: should a FIFO be swapped in after the stat, opening it does not wait for a writer
# (it is then refused by fstat); it changes nothing for a regular file. O_BINARY: Windows.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)

_KINDS = [
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
]


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _size_text(count: int) -> str:
    return f"{count / 1e6:,.0f} MB" if count >= 1e6 else f"{count:,} bytes"


def _refuse_non_regular(owner: str, path: str, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise DataError(
            f"{owner}: {path!r} is {_kind(mode)}, not a regular file; give a data file."
        )


def _refuse_too_large(owner: str, path: str, size: int, limit: int) -> None:
    if size > limit:
        raise DataError(
            f"{owner}: {path!r} holds more than {_size_text(limit)} (the most a task reads); "
            "give a smaller file, or a part of it."
        )


def open_data_file(owner: str, path: str | os.PathLike, if_missing: str = "give an existing file"):
    """The regular file ``path`` opened for binary reading (of any size: the caller reads it
    in bounded chunks); a ``DataError`` (naming ``owner``) if it is missing (``if_missing``
    says what to do then), unreadable or not a regular file."""
    shown = str(path)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISREG(mode):
            fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise DataError(f"{owner}: the file {shown!r} does not exist; {if_missing}.") from None
    except ValueError:  # a NUL byte in the name
        raise DataError(f"{owner}: {shown!r} is not a valid file name; {if_missing}.") from None
    except OSError as exc:
        raise DataError(
            f"{owner}: the file {shown!r} cannot be read ({exc.strerror}); check the path and "
            "its permissions."
        ) from None
    _refuse_non_regular(owner, shown, mode)
    file = os.fdopen(fd, "rb")
    opened = os.fstat(file.fileno())
    if not stat.S_ISREG(opened.st_mode):
        file.close()
        _refuse_non_regular(owner, shown, opened.st_mode)
    return file


def read_data_file(
    owner: str,
    path: str | os.PathLike,
    limit: int | None = None,
    if_missing: str = "give an existing file",
) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them (None:
    ``MAX_DATA_BYTES``); a ``DataError`` (naming ``owner``, the task) if it is missing
    (``if_missing`` says what to do then), unreadable, not a regular file or larger."""
    shown = str(path)
    limit = MAX_DATA_BYTES if limit is None else limit
    with open_data_file(owner, path, if_missing) as file:
        _refuse_too_large(owner, shown, os.fstat(file.fileno()).st_size, limit)
        data = file.read(limit + 1)  # a file that grew since the stat is still bounded
    _refuse_too_large(owner, shown, len(data), limit)
    return data


def decode_text(owner: str, path: str | os.PathLike, data: bytes) -> str:
    """``data`` as UTF-8 text, a leading byte-order mark (U+FEFF) dropped; a ``DataError`` that
    names the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{owner}: {str(path)!r} is not UTF-8 text (byte {exc.start} cannot be decoded); "
            "convert it, e.g. with `iconv -t UTF-8`."
        ) from None


def split_lines(text: str) -> list[str]:
    """The lines of ``text``, split at line ends only, ``\\n`` and ``\\r\\n``: never at the
    other characters that ``str.splitlines`` takes as ends (a lone ``\\r``, form feed, U+2028,
    U+0085, ...), so that line n is the n-th line of a text editor; no final empty line."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    return lines[:-1] if lines[-1] == "" else lines


def outside_runs(files: list[Path], root: Path) -> list[Path]:
    """``files`` (under the folder ``root``) less those inside a seqkit run directory (a folder
    holding ``config.toml`` and ``task.json``): a run kept in a corpus folder is no corpus, so
    that its ``samples.txt`` never becomes training text."""
    from seqkit.runs.directory import MARKERS

    verdicts: dict[Path, bool] = {}

    def in_run(folder: Path) -> bool:
        if folder not in verdicts:
            marked = all((folder / name).is_file() for name in MARKERS)
            verdicts[folder] = marked or (folder != root and in_run(folder.parent))
        return verdicts[folder]

    return [path for path in files if not in_run(path.parent)]
