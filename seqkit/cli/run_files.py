"""The files of a run directory that are not checkpoints: written whole or not at all, read
back with a check of their format, and trimmed back to a checkpoint's step on resume.

    write_atomic(run / "config.toml", text)     # a temporary file, fsync, then os.replace
    check_format(run)                           # refuses a run written by a newer seqkit
    trim_samples(run / "samples.txt", step=15)  # drops entries after step 15, and a torn one

A reader sees a file either as it was or as it is now: ``os.replace`` is atomic on POSIX and
Windows. Logs that grow by appending (``metrics.csv``, ``samples.txt``) can end in a torn line
when the process is killed; ``seqkit run --resume`` trims them back to the restored step.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from seqkit.errors import DataError

# The layout of a run directory. Raise it when a file changes meaning; a seqkit that finds a
# higher number refuses the run rather than misread it. Runs without run.json are format 1.
RUN_FORMAT = 1
RUN_FILE = "run.json"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that no reader ever sees half of it."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def write_format(run_dir: Path) -> None:
    """``run.json``: the format of this run directory and the seqkit that wrote it."""
    from seqkit.version import __version__

    record = {"format": RUN_FORMAT, "seqkit": __version__}
    write_atomic(Path(run_dir) / RUN_FILE, json.dumps(record, indent=1) + "\n")


def check_format(run_dir: Path) -> None:
    """Refuse a run directory written in a format newer than this seqkit reads."""
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        return  # written before run.json existed: format 1
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        found = record["format"]
        if isinstance(found, bool) or not isinstance(found, int):
            raise TypeError
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise DataError(
            f"{str(path)!r} is damaged (expected JSON with an integer 'format'); restore it "
            f'or write {{"format": {RUN_FORMAT}}} into it.'
        ) from None
    if found > RUN_FORMAT:
        writer = record.get("seqkit", "a newer seqkit")
        raise DataError(
            f"The run {str(run_dir)!r} was written by seqkit {writer} in run format {found}; "
            f"this seqkit reads formats up to {RUN_FORMAT}: upgrade seqkit to read it."
        )


def read_json(path: Path, what: str):
    """A JSON file of a run directory; a damaged one is a DataError that names it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise DataError(
            f"{str(path)!r} ({what}) is not valid JSON: the run directory is damaged; "
            "restore the file from a copy or start a new run."
        ) from None


def trim_metrics(path: Path, step: int) -> None:
    """Drop the rows of ``metrics.csv`` written after ``step`` (and a torn last line), so that a
    resumed run writes each row once."""
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines.pop()  # a line torn by a kill
    kept = lines[:1] + [
        line
        for line in lines[1:]
        if line.split(",", 1)[0].isdigit() and int(line.split(",")[0]) <= step
    ]
    write_atomic(path, "".join(kept))


_SAMPLE_TITLE = re.compile(r"^=== (?:final sample, )?step (\d+) \(temperature [^\n]*\) ===$", re.M)


def trim_samples(path: Path, step: int) -> None:
    """Drop the entries of ``samples.txt`` after ``step``, and a last entry torn by a kill
    (each entry ends with a blank line)."""
    if not path.exists():
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    titles = list(_SAMPLE_TITLE.finditer(text))
    end = len(text)
    for title in titles:
        if int(title.group(1)) > step:
            end = title.start()
            break
    kept = text[:end]
    if kept and not kept.endswith("\n\n"):  # torn: cut back to the start of its entry
        starts = [t.start() for t in titles if t.start() < end]
        kept = kept[: starts[-1]] if starts else ""
    if kept != text:
        write_atomic(path, kept)
