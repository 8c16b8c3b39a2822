"""train.lr_plateau_factor: the learning rate divided after train.lr_plateau_patience validations
without a new best, never below train.lr_min; off by default; kept exactly across a resume.

The runs train with SGD on gradients clipped to a norm of 1e-30: no float32 weight moves by as
much as a rounding of what it is added to, so every validation loss equals the first and none is
a new best: the plateau is certain, and the rates read as plain numbers.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import keras
import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli.main import cli
from seqkit.config.files import load_config
from seqkit.runs.lr_plateau import PlateauState

TINY = [
    "model.hidden_size=8",
    "model.embedding_size=4",
    "model.runner=graph",
    "train.batch_size=2",
    "train.k1=8",
    "train.eval_every=1",
    "train.log_every=1",
    "train.checkpoint_every=2",
    "sample.length=5",
    "train.optimizer=sgd",
    "train.clip_norm=1e-30",
]
# 7 validations that never improve on the first: divided at step 3 (patience 2), then 5 reaches
# the floor (2 / 2 = 1 is below lr_min) and 7 can divide no further.
PLATEAU = ["train.lr=4", "train.lr_plateau_factor=2", "train.lr_plateau_patience=2",
           "train.lr_min=1.5", "train.steps=7"]  # fmt: skip
EXPECTED_LR = {1: 4.0, 2: 4.0, 3: 2.0, 4: 2.0, 5: 1.5, 6: 1.5, 7: 1.5}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    rng = random.Random(5)
    words = "the rate is divided when validation stops improving".split()
    lines = [" ".join(rng.choice(words) for _ in range(8)) for _ in range(40)]
    path = tmp_path_factory.mktemp("data") / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Notes(seqkit.Progress):
    def __init__(self):
        self.lines = []

    def note(self, text):
        self.lines.append(text)


class Killed(BaseException):
    """Stands for a SIGKILL: the process stops dead after an update."""


class KillAt(seqkit.Callback):
    def __init__(self, step):
        self.step = step

    def on_update_end(self, trainer, logs):
        if logs["step"] == self.step:
            raise Killed


def _validation_lr(run) -> dict[int, float]:
    return {r["step"]: r["lr"] for r in run.metrics if r["val_loss"] is not None}


def test_the_rate_is_divided_after_patience_validations_and_stops_at_the_floor(corpus, tmp_path):
    sets = [f"task.corpus={corpus}", *TINY, *PLATEAU]
    result = CliRunner().invoke(
        cli, ["run", *(a for s in sets for a in ("--set", s)), "--out", str(tmp_path / "cli")]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "learning rate" in line]
    assert lines == [
        "step 3: learning rate 4 -> 2: validation has not improved for 2 validations",
        "step 5: learning rate 2 -> 1.5: validation has not improved for 2 validations"
        " (train.lr_min)",
    ]
    run = seqkit.open_run(tmp_path / "cli", "last")
    assert _validation_lr(run) == pytest.approx(EXPECTED_LR, rel=1e-6)


def test_an_interrupted_run_resumes_with_the_divided_rate_and_the_count(corpus, tmp_path):
    config = load_config(None, [f"task.corpus={corpus}", *TINY, *PLATEAU])
    whole = seqkit.train(config, tmp_path / "whole")
    # killed after step 5: the checkpoint of step 4 holds the rate 2 and one validation
    # (step 4's) without a new best; the resume must divide at 5 as the whole run did
    with pytest.raises(Killed):
        seqkit.train(config, tmp_path / "killed", callbacks=[KillAt(5)])
    notes = Notes()
    resumed = seqkit.train(None, tmp_path / "killed", resume=True, progress=notes)
    assert [n.split(":")[0] for n in notes.lines if "learning rate" in n] == ["step 5"]
    untimed = [{k: v for k, v in r.items() if k != "tokens_per_s"} for r in whole.metrics]
    assert [{k: v for k, v in r.items() if k != "tokens_per_s"} for r in resumed.metrics] == (
        untimed
    )
    # a resume that sets another train.lr trains with it, not with the checkpoint's rate; the
    # count goes on (step 7's validation, at the floor, started it again; 8 and 9 make 2)
    faster = config.with_overrides(["train.steps=9", "train.lr=5"])
    notes = Notes()
    seqkit.train(faster, tmp_path / "killed", resume=True, progress=notes)
    assert notes.lines == [
        "step 9: learning rate 5 -> 2.5: validation has not improved for 2 validations"
    ]


def test_off_by_default_the_rate_never_changes():
    train = load_config(None)["train"]
    assert (train["lr_plateau_factor"], train["lr_plateau_patience"], train["lr_min"]) == (
        1.0,
        1,
        0.0,
    )
    optimizer = keras.optimizers.SGD(learning_rate=1.0)
    plateau = PlateauState()
    for loss in (2.0, 2.5, 3.0, 3.5):  # worse every time
        assert plateau.after_validation(optimizer, loss, train) is None
    assert float(optimizer.learning_rate) == 1.0


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.lr_plateau_factor=0.5", "'train.lr_plateau_factor' must be at least 1"),
        ("train.lr_plateau_patience=0", "'train.lr_plateau_patience' must be at least 1,"),
        ("train.lr_min=-1e-3", "'train.lr_min' must be at least 0,"),
        ("train.lr_min=1e-4", "train.lr_min floors the divisions of train.lr_plateau_factor"),
        ("train.lr_plateau_factor=4 train.lr_decay=0.5", "train.lr_decay and train.lr_plateau"),
        ("train.lr_plateau_factor=4 train.lr_min=1", r"train.lr_min \(1\) must be below"),
    ],
)
def test_bad_values_are_refused_in_one_line(corpus, tmp_path, override, message):
    sets = [f"task.corpus={corpus}", *TINY, *override.split()]
    result = CliRunner().invoke(
        cli, ["run", *(a for s in sets for a in ("--set", s)), "--out", str(tmp_path / "run")]
    )
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def test_a_run_checkpointed_before_the_plateau_was_kept_resumes(corpus, tmp_path, monkeypatch):
    from seqkit.runs import preparation

    def older(prepared):  # the checkpoint as seqkit saved it before run/plateau/
        return prepared.trainer.checkpoint(run=prepared.state.before_plateau())

    config = load_config(None, [f"task.corpus={corpus}", *TINY, "train.steps=2"])
    with monkeypatch.context() as patched:
        patched.setattr(preparation.Prepared, "checkpoint", property(older))
        seqkit.train(config, tmp_path / "run")
    resumed = seqkit.train(config.with_overrides(["train.steps=3"]), tmp_path / "run", resume=True)
    assert resumed.step == 3
