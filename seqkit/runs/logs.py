"""The logs a run appends to as it trains: ``metrics.csv``, ``samples.txt`` and TensorBoard's
events, each written through the ``RunDirectory`` and trimmed back to a checkpoint's step when a
run resumes, so that a resumed run's logs hold each row and sample once.

    metrics = MetricsLog(run, columns(["loss", "bpc"], ["loss", "bpc"]))
    metrics.start()                                    # the header, before the first row
    metrics.write(20, {"train_loss": 1.9, "tokens_per_s": 48000.0, ...})
    metrics.rows()                                     # [{"step": 20, "train_loss": 1.9, ...}]

``metrics.csv`` has a row for every step that logged something: a training row every
``train.log_every`` updates (the mean loss and gradient norm over those updates, tokens per
second of the updates alone, the learning rate) and the validation columns where a validation
ran (with the learning rate training goes on with after it); empty cells elsewhere. Lines end
in ``\\n`` and rows are written whole, one append each.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence

import tensorflow as tf

from seqkit.errors import DataError
from seqkit.runs.directory import RunDirectory

METRICS_FILE = "metrics.csv"
SAMPLES_FILE = "samples.txt"
BOARD_FOLDER = "tensorboard"
TIMING_COLUMNS = ("tokens_per_s",)  # wall-clock: the one column a resumed run cannot repeat


def columns(train_scores: Sequence[str], val_scores: Sequence[str]) -> list[str]:
    """metrics.csv's header: the step, the training columns, then ``val_`` + each score."""
    derived = [f"train_{name}" for name in train_scores if name != "loss"]
    return [
        "step",
        "train_loss",
        *derived,
        "tokens_per_s",
        "lr",
        "grad_norm",
        *(f"val_{name}" for name in val_scores),
    ]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.0f}" if abs(value) >= 1e5 else f"{value:.6g}"


class MetricsLog:
    """``metrics.csv``: a header from the start, then a row per logged step."""

    def __init__(self, run: RunDirectory, header: Sequence[str]):
        self.run, self.header = run, list(header)

    def check(self) -> None:
        """An existing file must have this run's header (read only)."""
        if not self.run.exists(METRICS_FILE) or not self.run.read_text(METRICS_FILE).strip():
            return
        found = self.run.read_text(METRICS_FILE).split("\n", 1)[0].strip().split(",")
        if found != self.header:
            raise DataError(
                f"{str(self.run.path / METRICS_FILE)!r} has the columns {','.join(found)}, but "
                f"this run writes {','.join(self.header)}: it is another run's file; restore "
                "the run's own metrics.csv or start a new run."
            )

    def start(self) -> None:
        """The header of a new (or empty) file, before any row."""
        self.check()
        if not self.run.exists(METRICS_FILE) or not self.run.read_text(METRICS_FILE).strip():
            self.run.write_text(METRICS_FILE, ",".join(self.header) + "\n")

    def write(self, step: int, values: Mapping[str, float]) -> None:
        """One row: ``values`` by column name, empty where missing."""
        row = [str(int(step))] + [_cell(values.get(name)) for name in self.header[1:]]
        self.run.append_text(METRICS_FILE, ",".join(row) + "\n")

    def trim(self, step: int) -> None:
        """Drop the rows after ``step`` (and a line torn by a kill); rewrite only if changed."""
        if not self.run.exists(METRICS_FILE):
            return
        text = self.run.read_text(METRICS_FILE)
        lines = text.split("\n")
        kept = lines[:1]  # the header; the last piece of the split is "" or a torn line
        for line in lines[1:-1]:
            first = line.split(",", 1)[0]
            if first.isdigit() and int(first) <= step:
                kept.append(line)
        trimmed = "\n".join(kept) + "\n"
        if trimmed != text:
            self.run.write_text(METRICS_FILE, trimmed)

    def blank(self, step: int, training: bool, validation: bool) -> None:
        """Empty the training and/or the validation cells of ``step``'s row, and drop the row
        if nothing is left: what only the end of a run wrote, when a resume trains further."""
        if not self.run.exists(METRICS_FILE) or not (training or validation):
            return
        text = self.run.read_text(METRICS_FILE)
        lines = text.split("\n")
        for index, line in enumerate(lines[1:-1], 1):
            cells = line.split(",")
            if cells[0] != str(step):
                continue
            for column, name in enumerate(self.header[1:], 1):
                if _blanked(name, training, validation) and column < len(cells):
                    cells[column] = ""
            lines[index] = ",".join(cells) if any(cells[1:]) else None
        kept = "\n".join(line for line in lines if line is not None)
        if kept != text:
            self.run.write_text(METRICS_FILE, kept)

    def rows(self) -> list[dict[str, float | int | None]]:
        """The rows, numbers parsed (the step an int, empty cells None)."""
        if not self.run.exists(METRICS_FILE):
            return []
        return parse_rows(self.run.read_text(METRICS_FILE))

    def has_validation(self, step: int) -> bool:
        """Whether the file holds the validation row of ``step``."""
        key = self.header[-1] if self.header[-1].startswith("val_") else None
        return any(r["step"] == step and key and r.get(key) is not None for r in self.rows())


def _blanked(column: str, training: bool, validation: bool) -> bool:
    """Whether ``blank`` empties ``column``: ``lr`` is written by a training row and by a
    validation (the rate after it), so it goes with both."""
    if column == "lr":
        return training and validation
    return validation if column.startswith("val_") else training


def parse_rows(text: str) -> list[dict[str, float | int | None]]:
    """metrics.csv's rows as dicts of numbers (the step an int, an empty cell None); a torn
    last line is left out."""
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows = []
    for record in csv.DictReader(io.StringIO(text)):
        row = {}
        for key, value in record.items():
            if key == "step":
                row[key] = int(value)
            else:
                row[key] = float(value) if value not in ("", None) else None
        rows.append(row)
    return rows


_SAMPLE_TITLE = re.compile(r"^=== (?:final sample, )?step (\d+) \(temperature [^\n]*\) ===$", re.M)


class SampleLog:
    """``samples.txt``: each validation's sample and the final one, under a title line."""

    def __init__(self, run: RunDirectory):
        self.run = run

    def append(self, title: str, text: str, temperature: float) -> None:
        entry = f"=== {title} (temperature {temperature}) ===\n{text}\n\n"
        self.run.append_text(SAMPLES_FILE, entry)  # one write; a torn one is trimmed on resume

    def has_final(self, step: int) -> bool:
        return self.run.exists(SAMPLES_FILE) and (
            f"=== final sample, step {step} (" in self.run.read_text(SAMPLES_FILE)
        )

    def trim(self, step: int) -> None:
        """Drop the entries after ``step``, and a last entry torn by a kill (each entry ends
        with a blank line); rewrite only if changed."""
        if not self.run.exists(SAMPLES_FILE):
            return
        text = self.run.read_text(SAMPLES_FILE)
        titles = list(_SAMPLE_TITLE.finditer(text))
        end = next((t.start() for t in titles if int(t.group(1)) > step), len(text))
        kept = text[:end]
        if kept and not kept.endswith("\n\n"):  # torn: cut back to the start of its entry
            starts = [t.start() for t in titles if t.start() < end]
            kept = kept[: starts[-1]] if starts else ""
        if kept != text:
            self.run.write_text(SAMPLES_FILE, kept)


class Board:
    """TensorBoard events, written by ``tf.summary.write`` with the metadata of TensorBoard's
    scalar and text plugins, so that the ``tensorboard`` package is not needed."""

    def __init__(self, run: RunDirectory):
        self.writer = tf.summary.create_file_writer(str(run.folder(BOARD_FOLDER)))

    def write(self, step: int, scalars: Mapping[str, float], text: str | None = None) -> None:
        from tensorflow.core.framework.summary_pb2 import SummaryMetadata

        def metadata(plugin: str) -> bytes:
            data = SummaryMetadata.PluginData(plugin_name=plugin)
            return SummaryMetadata(plugin_data=data).SerializeToString()

        with self.writer.as_default():
            for tag, value in scalars.items():
                tf.summary.write(tag, tf.constant(value, tf.float32), step, metadata("scalars"))
            if text is not None:
                tf.summary.write("sample", tf.constant(text), step, metadata("text"))
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
