"""The scan runner where users meet it: ``seqkit run --set model.cell=mingru`` trains with it,
``seqkit.testing.check_cell`` checks a declaring cell's scan path against the python runner and
names what is broken, and ``check_runner`` passes it.

    .venv/bin/python -m pytest -n 0 tests/test_scan_integration.py -q
"""

import csv
import math
import random
import re

import pytest
import tensorflow as tf
from click.testing import CliRunner

import seqkit
from seqkit.cli.main import cli
from seqkit.ops import linear
from seqkit.testing import CellContractError, check_cell, check_runner


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_seqkit_run_trains_a_min_cell_with_the_scan_runner(cell, tmp_path):
    rng = random.Random(0)
    words = "the quick brown fox jumps over a lazy dog".split()
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(rng.choices(words, k=8)) for _ in range(80)) + "\n")
    sets = [
        f"task.corpus={corpus}", f"model.cell={cell}", "model.hidden_size=16",
        "model.embedding_size=8", "train.steps=12", "train.batch_size=4", "train.k1=32",
        "train.eval_every=6", "train.checkpoint_every=6", "train.log_every=3",
        "sample.length=20",
    ]  # fmt: skip
    out = tmp_path / "run"
    args = ["run", *[a for s in sets for a in ("--set", s)], "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"Training {cell}" in result.stdout and "runner ScanRunner" in result.stdout
    with open(out / "metrics.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["3", "6", "9", "12"]
    assert all(math.isfinite(float(r["train_loss"])) for r in rows)
    validated = [float(r["val_loss"]) for r in rows if r["val_loss"]]
    assert len(validated) == 2 and validated[1] < validated[0]  # it learns
    assert seqkit.open_run(out).sample(prime="the ", length=10)


@pytest.mark.parametrize(
    "name, options", [("mingru", {}), ("minlstm", {}), ("minlstm", {"log_space": True})]
)
def test_built_in_min_cells_pass_check_cell(name, options):
    check_cell(name, options=options)


def test_the_scan_runner_passes_check_runner():
    check_runner(seqkit.make_runner("scan"), cell="mingru")


class LinearBase(seqkit.ProjectedCell):
    """A declaring cell: a = sigmoid(u), b = v; subclasses break one thing each."""

    def __init__(self, input_size, hidden_size, *, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        self.weight_ih = tf.Variable(
            tf.random.normal([2 * hidden_size, input_size], dtype=dtype), name="weight_ih"
        )

    @property
    def state_size(self):
        return (self.hidden_size,)

    def project_inputs(self, inputs):
        return linear(inputs, self.weight_ih)

    def coefficients(self, projected):
        u, v = tf.split(projected, 2, axis=-1)
        return tf.sigmoid(u), v

    @property
    def linear_recurrence(self):
        return seqkit.LinearRecurrence(self.coefficients)

    def step(self, projected, state):
        return self.linear_recurrence.step(projected, state)


class StepDisagrees(LinearBase):
    def step(self, projected, state):
        output, (h,) = self.linear_recurrence.step(projected, state)
        return output + 1.0, (h + 1.0,)


class TwoStates(LinearBase):
    @property
    def state_size(self):
        return (self.hidden_size, self.hidden_size)

    def step(self, projected, state):
        output, (h,) = self.linear_recurrence.step(projected, state[:1])
        return output, (h, state[1])


class StopsGradientOverTime(LinearBase):
    """Its coefficients differ when given all steps at once: the scan sees another gradient."""

    def coefficients(self, projected):
        a, b = super().coefficients(projected)
        return (tf.stop_gradient(a), b) if projected.shape.rank == 3 else (a, b)


@pytest.mark.parametrize(
    "factory, check, problem",
    [
        (LinearBase, None, None),
        (
            StepDisagrees,
            "linear_recurrence",
            "a * h + b with (a, b) = coefficients(projected) differs from step() by 1",
        ),
        (
            TwoStates,
            "linear_recurrence",
            "TwoStates.linear_recurrence: a linear recurrence has one state tensor h, but the "
            "cell's state_size is (5, 5); declare none, or keep the state (h,).",
        ),
        (
            StopsGradientOverTime,
            "scan runner, eager",
            "the gradient of 'weight_ih' differs from the python runner's by",
        ),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_check_cell_names_a_broken_linear_declaration(factory, check, problem):
    if check is None:
        check_cell(factory)
        return
    message = f"{factory.__name__} fails check_cell ({check}): {problem}"
    with pytest.raises(CellContractError, match=re.escape(message)):
        check_cell(factory)
