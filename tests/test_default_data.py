"""Every task runs with no data option: the file tasks read the data sets inside the package
(``seqkit_plugins/default_data``), which their scripts regenerate byte for byte.

    .venv/bin/python -m pytest tests/test_default_data.py -q
"""

from __future__ import annotations

import collections
import csv
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli.main import cli
from seqkit_plugins.default_data import default_file


@pytest.mark.parametrize(
    "module, data",
    [
        ("make_series", "temperatures.csv"),
        ("make_sentiment", "sentiment.tsv"),
        ("make_tagging", "tagging.tsv"),
    ],
)
def test_the_scripts_make_the_packaged_files(tmp_path, module, data):
    out = tmp_path / data
    command = [sys.executable, "-m", f"seqkit_plugins.default_data.{module}", str(out)]
    subprocess.run(command, check=True, timeout=60)
    assert out.read_bytes() == default_file(data).read_bytes()
    assert 5_000 < len(out.read_bytes()) < 100_000  # tens of KB: small enough to ship


def _stack(batches, field):
    return [getattr(b, field) for b in batches]


def test_series_with_no_path_forecasts_the_packaged_columns():
    task = seqkit.make_task("series")
    assert task.columns == ["temperature", "humidity"]
    batches = task.train_batches(batch_size=32, seed=0)
    first = batches[0]
    assert first.inputs.shape == (32, 48, 2) and first.inputs.dtype == np.float32
    assert first.mask is None
    np.testing.assert_array_equal(first.inputs[:, 1:], first.targets[:, :-1])  # the next step
    assert sum(len(b.inputs) for b in batches) == 2160 - 216 - 48  # a window at every row
    val = task.eval_batches(batch_size=32)
    inputs = np.concatenate(_stack(val, "inputs")).astype(np.float64)
    targets = np.concatenate(_stack(val, "targets")).astype(np.float64)
    assert inputs.shape == (4, 48, 2)  # 216 validation rows: 4 whole windows
    assert task.baselines()["mse"] == pytest.approx(np.mean((targets - inputs) ** 2))
    with default_file("temperatures.csv").open(newline="") as f:
        rows = list(csv.reader(f))[1:]
    temperatures = np.array([float(r[1]) for r in rows[:-216]])
    assert task.mean[0] == pytest.approx(temperatures.mean())  # normalised by the training rows


def test_classify_with_no_path_reads_the_packaged_reviews():
    task = seqkit.make_task("classify")
    assert task.labels == ["neg", "pos"]
    batches = task.train_batches(batch_size=32, seed=0)
    assert sum(len(b.inputs) for b in batches) == 1800 and len(task.val[0]) == 200
    for batch in batches:
        assert batch.inputs.dtype == np.int32 and batch.targets.shape == (len(batch.inputs),)
        lengths = batch.mask.sum(axis=1)
        for row, length in enumerate(lengths):  # the mask is true on each review's characters
            assert batch.mask[row, :length].all() and not batch.mask[row, length:].any()
            assert (batch.inputs[row, :length] > 1).all() and (
                batch.inputs[row, length:] == 0
            ).all()
    train = np.concatenate(_stack(batches, "targets"))
    val = np.concatenate(_stack(task.eval_batches(batch_size=8), "targets"))
    majority = np.bincount(train).argmax()
    assert task.baselines()["accuracy"] == pytest.approx(np.mean(val == majority))
    assert 0.4 < task.baselines()["accuracy"] < 0.7  # a model can beat it


def test_tag_with_no_path_reads_the_packaged_sentences():
    task = seqkit.make_task("tag")
    assert task.labels == ["ADJ", "ADP", "DET", "NOUN", "PUNCT", "VERB"]
    batches = task.train_batches(batch_size=32, seed=0)
    assert sum(len(b.inputs) for b in batches) == 270
    pairs = collections.defaultdict(collections.Counter)  # token id -> tag counts
    for batch in batches:
        assert batch.targets.shape == batch.inputs.shape == batch.mask.shape
        assert (batch.targets[~batch.mask] == 0).all() and (batch.inputs[~batch.mask] == 0).all()
        for ids, tags in zip(batch.inputs[batch.mask], batch.targets[batch.mask], strict=True):
            pairs[int(ids)][int(tags)] += 1
    overall = sum(pairs.values(), collections.Counter()).most_common(1)[0][0]
    correct = total = 0
    for batch in task.eval_batches(batch_size=8):
        for ids, tag in zip(batch.inputs[batch.mask], batch.targets[batch.mask], strict=True):
            guess = pairs[int(ids)].most_common(1)[0][0] if int(ids) in pairs else overall
            correct, total = correct + (guess == tag), total + 1
    assert task.baselines()["accuracy"] == pytest.approx(correct / total)
    assert task.baselines()["accuracy"] < 0.98  # "watch", "run", "book": a model can beat it


TINY = ["model.hidden_size=8", "model.embedding_size=4", "model.runner=graph",
        "train.steps=2", "train.batch_size=64", "train.k1=32", "train.eval_every=2",
        "train.checkpoint_every=2", "train.log_every=1", "sample.length=8"]  # fmt: skip


# The generated tasks never needed a file; their runs are slow (char-lm's corpus is 465 KB, the
# others hold 11,000 sequences), so only the file tasks run by default.
GENERATED = [pytest.param(name, marks=pytest.mark.slow) for name in ("char-lm", "adding", "copy")]


@pytest.mark.parametrize("name", [*GENERATED, "series", "classify", "tag"])
def test_each_task_trains_from_the_command_line_with_no_data_option(tmp_path, name):
    sets = [arg for pair in [f"task.name={name}", *TINY] for arg in ("--set", pair)]
    result = CliRunner().invoke(cli, ["run", *sets, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "validation at step 2: loss " in result.stdout
    assert "Trained to step 2" in result.stdout
