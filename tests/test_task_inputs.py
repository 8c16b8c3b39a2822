"""Data files that the task plugins must refuse in one honest line, or read right: too few
examples for a validation split, values whose normalisation overflows, line separators that
are not line ends, a byte-order mark, devices, pipes, directories and files too large.

    .venv/bin/python -m pytest tests/test_task_inputs.py -q

Each case writes its file under a fresh folder and builds the task, as ``seqkit run`` does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli.main import cli
from seqkit.data.files import MAX_DATA_BYTES, split_lines
from seqkit.errors import DataError


def _file(folder: Path, name: str, content: str | bytes) -> str:
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return str(path)


def _sparse(folder: Path, name: str, size: int) -> str:
    """A file of ``size`` bytes that takes no disk space (its size is all that is read)."""
    path = folder / name
    with path.open("wb") as f:
        f.truncate(size)
    return str(path)


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "pipe.tsv")  # opening it to read would wait for a writer
    return str(folder / "pipe.tsv")


def _eval(task):
    return task.eval_batches(8)


def _series_rows(*values: str) -> str:
    return "t,x\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))


NORMAL = [str(v) for v in range(1, 60)]  # a plain column: 59 rows


@dataclass(frozen=True)
class Refused:
    """A case: ``build(folder)`` raises a DataError whose message matches ``message`` whole."""

    name: str
    build: Callable[[Path], object]
    message: str


REFUSED = [
    # -- too few examples for a validation split (val_fraction 0.1 is above 0) --------------
    Refused("classify-one-row",
            lambda d: _eval(seqkit.make_task("classify", path=_file(d, "c.tsv", "pos\tfine\n"))),
            r"classify: the file has 1 example, too few for a validation split at "
            r"val_fraction = 0\.1 \(which needs at least 10\); add examples or raise "
            r"val_fraction\."),
    Refused("classify-nine-rows-at-0.3",
            lambda d: _eval(seqkit.make_task(
                "classify", path=_file(d, "c.tsv", "pos\tok\n" * 3), val_fraction=0.3)),
            r"classify: the file has 3 examples, too few for a validation split at "
            r"val_fraction = 0\.3 \(which needs at least 4\); add examples or raise "
            r"val_fraction\."),
    Refused("tag-one-sentence",
            lambda d: _eval(seqkit.make_task("tag", path=_file(d, "t.tsv", "a\tDET\ndog\tN\n"))),
            r"tag: the file has 1 sentence, too few for a validation split at "
            r"val_fraction = 0\.1 \(which needs at least 10\); add sentences or raise "
            r"val_fraction\."),
    Refused("char-lm-tiny-corpus",
            lambda d: _eval(seqkit.make_task("char-lm", corpus=_file(d, "c.txt", "abcdefg"))),
            r"char-lm: the corpus has 7 characters, too few for a validation split at "
            r"val_fraction = 0\.1 \(which needs at least 10\); add characters or raise "
            r"val_fraction\."),
    # -- values whose normalisation overflows -------------------------------------------------
    Refused("series-plus-minus-1e308",
            lambda d: seqkit.make_task("series", path=_file(
                d, "s.csv", _series_rows(*["1e308", "-1e308"] * 30))),
            r"series: column 'x' of '.*s\.csv' cannot be normalised: its values are too large "
            r"\(line 2 holds 1e\+308\); rescale the column, e\.g\. in other units\."),
    Refused("series-1e200-squares-overflow",
            lambda d: seqkit.make_task("series", path=_file(
                d, "s.csv", _series_rows(*NORMAL[:20], "-3e200", *NORMAL[20:]))),
            r"series: column 'x' of '.*s\.csv' cannot be normalised: its values are too large "
            r"\(line 22 holds -3e\+200\); rescale the column, e\.g\. in other units\."),
    Refused("series-huge-value-in-the-validation-split",
            lambda d: seqkit.make_task("series", path=_file(
                d, "s.csv", _series_rows(*NORMAL, "1e300")), window=4),
            r"series: column 'x' of '.*s\.csv' cannot be normalised: its values are too large "
            r"\(line 61 holds 1e\+300\); rescale the column, e\.g\. in other units\."),
    # -- files that are not regular files, or too large ---------------------------------------
    Refused("classify-dev-zero", lambda d: seqkit.make_task("classify", path="/dev/zero"),
            r"classify: '/dev/zero' is a character device, not a regular file; give a data "
            r"file\."),
    Refused("series-dev-zero", lambda d: seqkit.make_task("series", path="/dev/zero"),
            r"series: '/dev/zero' is a character device, not a regular file; give a data file\."),
    Refused("char-lm-dev-zero", lambda d: seqkit.make_task("char-lm", corpus="/dev/zero"),
            r"char-lm: '/dev/zero' is a character device, not a regular file; give a data "
            r"file\."),
    Refused("tag-fifo", lambda d: seqkit.make_task("tag", path=_fifo(d)),
            r"tag: '.*pipe\.tsv' is a named pipe \(FIFO\), not a regular file; give a data "
            r"file\."),
    Refused("classify-directory", lambda d: seqkit.make_task("classify", path=str(d)),
            r"classify: '.*' is a directory, not a regular file; give a data file\."),
    Refused("classify-too-large",
            lambda d: seqkit.make_task("classify", path=_sparse(d, "big.tsv", MAX_DATA_BYTES + 1)),
            r"classify: '.*big\.tsv' holds more than 200 MB \(the most a task reads\); give a "
            r"smaller file, or a part of it\."),
    # a corpus has no size limit (it streams into a token file); 250 MB of NULs is refused
    # at its first chunk, in one line
    Refused("char-lm-large-binary",
            lambda d: seqkit.make_task("char-lm", corpus=_sparse(d, "big.txt", 250 * 10**6)),
            r"char-lm: '.*big\.txt' looks binary \(byte 0 is NUL\), not text; give a UTF-8 "
            r"text file\."),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.name)
def test_each_bad_data_file_is_refused_in_one_line(tmp_path, case):
    with pytest.raises(DataError) as raised:
        case.build(tmp_path)
    message = str(raised.value)
    assert re.fullmatch(case.message, message), message
    assert "\n" not in message


def test_the_overflowing_series_gives_no_numpy_warning(tmp_path, recwarn):
    path = _file(tmp_path, "s.csv", _series_rows(*["1e308", "-1e308"] * 30))
    with pytest.raises(DataError):
        seqkit.make_task("series", path=path)
    assert [str(w.message) for w in recwarn] == []


def test_large_but_normalisable_values_are_accepted(tmp_path):
    values = [f"{v}e150" for v in range(1, 60)]
    path = _file(tmp_path, "s.csv", _series_rows(*values))
    task = seqkit.make_task("series", path=path, columns="x", window=4)
    assert np.isfinite(task.train[0]).all() and np.isfinite(task.baselines()["mse"])


# -- line ends: only \n and \r\n end a line ------------------------------------------------

SEPARATORS = ["\u2028", "\u2029", "\x0c", "\x0b", "\x85", "\x1c", "\r"]


@pytest.mark.parametrize("separator", SEPARATORS, ids=lambda s: f"U+{ord(s):04X}")
def test_classify_keeps_other_separators_inside_a_line(tmp_path, separator):
    text = f"pos\tgood{separator}film\nneg\tbad\r\npos\tfine\n"
    task = seqkit.make_task("classify", path=_file(tmp_path, "c.tsv", text), val_fraction=0.0)
    assert task.labels == ["neg", "pos"] and len(task.train[0]) == 3
    assert separator in task.vocabulary.tokens


@pytest.mark.parametrize("separator", SEPARATORS, ids=lambda s: f"U+{ord(s):04X}")
def test_a_bad_line_after_a_separator_has_the_editors_line_number(tmp_path, separator):
    text = f"pos\tgood{separator}film\nneg\tbad\nno tab here\n"
    with pytest.raises(DataError, match=r"classify: line 3 of .* \(it has no tab\)"):
        seqkit.make_task("classify", path=_file(tmp_path, "c.tsv", text))
    text = f"a{separator}b\tNOUN\n.\tPUNCT\n\nbroken\n"
    with pytest.raises(DataError, match=r"tag: line 4 of .* \(it has no tab\)"):
        seqkit.make_task("tag", path=_file(tmp_path, "t.tsv", text))


def test_tag_reads_a_token_with_a_line_separator_as_one_token(tmp_path):
    text = "the\tDET\nwatch\u2028strap\tNOUN\n\nit\tPRON\n"
    task = seqkit.make_task("tag", path=_file(tmp_path, "t.tsv", text), val_fraction=0.0)
    assert sorted(len(ids) for ids in task.train[0]) == [1, 2]
    assert "watch\u2028strap" in task.vocabulary.tokens


def test_crlf_files_read_as_lf_files(tmp_path):
    lf = "pos\tgood\nneg\tbad\n\npos\tfine\n"
    one = seqkit.make_task("classify", path=_file(tmp_path, "lf.tsv", lf), val_fraction=0.0)
    two = seqkit.make_task(
        "classify", path=_file(tmp_path, "crlf.tsv", lf.replace("\n", "\r\n")), val_fraction=0.0
    )
    assert one.vocabulary.tokens == two.vocabulary.tokens
    assert [ids.tolist() for ids in one.train[0]] == [ids.tolist() for ids in two.train[0]]


@pytest.mark.parametrize(
    "text, lines",
    [
        ("a\nb\n", ["a", "b"]),
        ("a\r\nb", ["a", "b"]),
        ("a\n\nb\n\n", ["a", "", "b", ""]),
        ("a\u2028b\x0cc\rd\n", ["a\u2028b\x0cc\rd"]),
        ("", []),
    ],
)
def test_split_lines_splits_at_line_ends_only(text, lines):
    assert split_lines(text) == lines


# -- a byte-order mark is no character of the text -----------------------------------------


def test_char_lm_drops_a_leading_byte_order_mark(tmp_path):
    corpus = _file(tmp_path, "c.txt", "\ufeffhello world, hello there\n".encode())
    task = seqkit.make_task("char-lm", corpus=corpus)
    assert "\ufeff" not in task.vocabulary
    assert task.text == "hello world, hello there\n"


def test_char_lm_drops_the_mark_of_each_file_of_a_directory(tmp_path):
    for name in ("a.txt", "b.txt"):
        _file(tmp_path, name, "\ufeffabc abc abc\n")
    task = seqkit.make_task("char-lm", corpus=str(tmp_path))
    assert task.text == "abc abc abc\n\nabc abc abc\n"


def test_file_tasks_drop_a_byte_order_mark(tmp_path):
    bom = "\ufeff"
    classify = seqkit.make_task("classify", path=_file(tmp_path, "c.tsv", bom + "pos\tok\n"))
    assert classify.labels == ["pos"]
    series = seqkit.make_task(
        "series", path=_file(tmp_path, "s.csv", bom + _series_rows(*NORMAL)), window=4
    )
    assert series.columns == ["t", "x"]  # not "\ufefft"


# -- the command line ----------------------------------------------------------------------


def test_seqkit_run_refuses_a_device_as_corpus_in_one_line(tmp_path):
    result = CliRunner().invoke(
        cli, ["run", "--set", "task.corpus=/dev/zero", "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 1
    assert result.output == (
        "Error: char-lm: '/dev/zero' is a character device, not a regular file; give a data file.\n"
    )
