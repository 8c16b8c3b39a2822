"""The ``series`` task: next-step forecasting of numeric columns of a CSV file.

    task = seqkit.make_task("series", window=48)           # the embedded data; or path="my.csv"
    batch = task.train_batches(batch_size=32, seed=0)[0]   # inputs, targets [32, 48, C] float32
    task.denormalise(batch.targets)                         # back in the file's units
    task.baselines()                                        # {"mse": ...}: predict the last value

The file (``path``) is CSV with a header row of column names. An empty ``path`` (the default)
reads the embedded data set, 90 days of a synthetic hourly temperature and humidity series
(``seqkit_plugins/default_data/temperatures.csv``, made by the script beside it). ``columns``
names the columns to forecast, as a list or a comma-separated string; empty means every
numeric column, those whose first row holds a number (a time stamp column is skipped). Every
row of a chosen column must hold a finite number, small enough that the normalisation below
stays finite in float32.

The first ``1 - val_fraction`` of the rows are the training split, the rest the validation
split, in time order. Both are normalised with the training split's mean and standard
deviation per column (a constant column's is taken as 1); ``normalise`` and ``denormalise``
convert. A sequence is ``window`` steps: inputs x_t ``[window, C]`` and targets the next
step's values x_{t+1} ``[window, C]``. Training windows start every ``stride`` rows (1: at
every row, the most sequences from a short series; they take ``2 * N * window * C`` floats, so
raise it for a long file); validation windows never overlap, and the rows after the last whole
window are left out.
"""

from __future__ import annotations

import csv
import io
import math
from typing import NamedTuple

import numpy as np

import seqkit
from seqkit.errors import DataError, OptionError
from seqkit_plugins.task_data import (
    check_fraction,
    check_int,
    dense_batches,
    read_data,
    train_order,
)

NAME = "series"
DEFAULT_DATA = "temperatures.csv"  # in seqkit_plugins.default_data


def parse_columns(columns) -> list[str]:
    """The ``columns`` option as a list of names; empty for every numeric column."""
    if isinstance(columns, str):
        return [c.strip() for c in columns.split(",") if c.strip()]
    if isinstance(columns, list | tuple) and all(isinstance(c, str) for c in columns):
        return [c.strip() for c in columns]
    raise OptionError(
        f"{NAME}: columns must be a list of column names or a comma-separated string, "
        f"got {columns!r}."
    )


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class Series(NamedTuple):
    """The chosen columns of a CSV file."""

    file: str  # the file's name, as messages quote it
    names: list[str]  # [C]
    values: np.ndarray  # [rows, C] float64
    lines: list[int]  # [rows]: the line of the file that each row comes from


def read_series(path, columns: list[str]) -> Series:
    """The chosen columns of a CSV file (an empty ``path``: the embedded one)."""
    found, text = read_data(NAME, path, DEFAULT_DATA)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader)]
    rows: list[list[str]] = []
    lines: list[int] = []
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue  # blank lines
        if len(row) != len(header):
            raise DataError(
                f"{NAME}: line {reader.line_num} of {found!r} has {len(row)} fields but the "
                f"header has {len(header)}; give every row one value per column."
            )
        rows.append(row)
        lines.append(reader.line_num)
    if not rows:
        raise DataError(f"{NAME}: {found!r} has a header but no rows; add some data.")
    if columns:
        missing = [c for c in columns if c not in header]
        if missing:
            raise OptionError(
                f"{NAME}: {found!r} has no column {missing[0]!r}; its columns are "
                f"{', '.join(header)}."
            )
        chosen = [header.index(c) for c in columns]
    else:
        chosen = [i for i, text in enumerate(rows[0]) if _number(text) is not None]
        if not chosen:
            raise DataError(
                f"{NAME}: {found!r} has no numeric column (its first row holds no number); "
                "give a CSV file with numbers in some columns."
            )
    values = np.empty((len(rows), len(chosen)), dtype=np.float64)
    for r, (row, line) in enumerate(zip(rows, lines, strict=True)):
        for c, i in enumerate(chosen):
            value = _number(row[i])
            if value is None:
                raise DataError(
                    f"{NAME}: line {line} of {found!r} has {row[i]!r} in column "
                    f"{header[i]!r}, not a finite number; fill or drop that row."
                )
            values[r, c] = value
    return Series(found, [header[i] for i in chosen], values, lines)


def normalisation(series: Series, split: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean ``[C]`` and standard deviation ``[C]`` (1 for a constant column) of the first
    ``split`` rows; a DataError naming a column and line where values are so large that
    these, or a value normalised by them, are not finite in float32."""
    values = series.values
    with np.errstate(all="ignore"):  # an overflow is found below and reported as such
        mean = values[:split].mean(axis=0)
        std = values[:split].std(axis=0)
        std = np.where(std > 0, std, 1.0)
        scaled = ((values - mean) / std).astype(np.float32)  # [rows, C]
    finite = np.isfinite(scaled).all(axis=0) & np.isfinite(mean) & np.isfinite(std)
    if not finite.all():
        column = int(np.argmin(finite))
        if np.isfinite(mean[column]) and np.isfinite(std[column]):
            row = int(np.argmin(np.isfinite(scaled[:, column])))  # the first that overflows
        else:
            row = int(np.argmax(np.abs(values[:split, column])))  # the largest in magnitude
        raise DataError(
            f"{NAME}: column {series.names[column]!r} of {series.file!r} cannot be normalised: "
            f"its values are too large (line {series.lines[row]} holds "
            f"{values[row, column]:g}); rescale the column, e.g. in other units."
        )
    return mean, std


def windows(values: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``values`` ``[rows, C]``: inputs ``[N, window, C]`` and the next steps."""
    starts = np.arange(0, len(values) - window, stride)  # each needs window + 1 rows
    steps = starts[:, None] + np.arange(window)[None, :]  # [N, window]
    return values[steps].astype(np.float32), values[steps + 1].astype(np.float32)


class SeriesTask(seqkit.Task):
    """Forecast the next step of each column; the loss is the squared error of every step."""

    target_form = "step"
    default_loss = "mse"
    default_truncation = "bptt"  # windows are independent sequences
    recommended = {"train.steps": 400, "train.eval_every": 100, "train.checkpoint_every": 100}

    def __init__(
        self,
        path: str = "",  # a CSV file with a header row; empty: the embedded data set
        columns: str | list[str] = "",  # empty: every numeric column
        window: int = 48,  # two days of the example's hourly readings
        stride: int = 1,  # a window at every row: the most sequences from a short series
        val_fraction: float = 0.1,
    ):
        self.window = check_int(NAME, "window", window, 1)
        self.stride = check_int(NAME, "stride", stride, 1)
        val_fraction = check_fraction(NAME, "val_fraction", val_fraction)
        series = read_series(path, parse_columns(columns))
        self.columns, values = series.names, series.values
        split = len(values) - math.floor(len(values) * val_fraction)
        train, val = values[:split], values[split:]
        if len(train) < self.window + 1:
            raise DataError(
                f"{NAME}: the training split has {len(train)} rows, fewer than window + 1 = "
                f"{self.window + 1}; use a longer file, a smaller window or a smaller "
                "val_fraction."
            )
        self.mean, self.std = normalisation(series, split)  # [C] each
        self.train = windows(self.normalise(train), self.window, self.stride)
        self.val = windows(self.normalise(val), self.window, self.window)

    def normalise(self, values) -> np.ndarray:
        """File units to model units: ``(x - mean) / std`` per column, ``[..., C]``."""
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.std

    def denormalise(self, values) -> np.ndarray:
        """Model units back to file units: ``x * std + mean`` per column, ``[..., C]``."""
        return np.asarray(values, dtype=np.float64) * self.std + self.mean

    def model_dims(self) -> dict[str, int]:
        return {"input_size": len(self.columns), "output_size": len(self.columns)}

    def train_batches(self, batch_size: int, seed: int = 0) -> list[seqkit.SequenceBatch]:
        """The training windows in an order shuffled by ``seed``; the last batch may be
        smaller."""
        inputs, targets = self.train
        return dense_batches(NAME, inputs, targets, batch_size, train_order(len(inputs), seed))

    def eval_batches(self, batch_size: int) -> list[seqkit.SequenceBatch]:
        """The validation windows in time order; the last batch may be smaller."""
        inputs, targets = self.val
        if len(inputs) == 0:
            raise DataError(
                f"{NAME}: the validation split is shorter than window + 1 = {self.window + 1} "
                "rows; raise val_fraction or lower window."
            )
        return dense_batches(NAME, inputs, targets, batch_size, np.arange(len(inputs)))

    def metrics(self, mean_loss: float) -> dict[str, float]:
        """The loss is the mean squared error per step and column, in normalised units."""
        return {"mse": float(mean_loss)}

    def baselines(self) -> dict[str, float]:
        """The naive forecast, x_{t+1} = x_t, over the validation windows, in normalised units;
        none without a validation window."""
        inputs, targets = self.val
        if len(inputs) == 0:
            return {}
        diff = inputs.astype(np.float64) - targets.astype(np.float64)
        return {"mse": float(np.mean(diff**2))}


@seqkit.hookimpl
def seqkit_register_tasks(register):
    register(NAME, SeriesTask)
