"""Nothing a run holds is lost, and no data other than a run's is used without a word: a failed
new run removes only its own folders; a resume with no intact last checkpoint goes on from the
intact best one; data changed since training (a corpus edited, labels renamed, a relative path
read from another folder) is refused in one line unless accepted; a hard link of a log keeps
its bytes; empty paths and runs started in the same second are sound; a run inside its own
corpus folder is no corpus; the CLI writes nothing into the user's home.

The runs are tiny (hidden 16, the graph runner), in this process through click's runner.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli.main import cli
from seqkit.errors import DataError
from seqkit.runs.directory import RunDirectory

TINY = [
    "model.hidden_size=16",
    "model.embedding_size=8",
    "model.runner=graph",
    "train.steps=10",
    "train.batch_size=4",
    "train.k1=8",
    "train.eval_every=5",
    "train.checkpoint_every=5",
    "train.log_every=5",
    "sample.length=10",
]


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _sets(pairs):
    return [arg for pair in pairs for arg in ("--set", pair)]


@pytest.fixture()
def text(tmp_path) -> Path:
    path = tmp_path / "data" / "corpus.txt"
    path.parent.mkdir()
    path.write_text("the quick brown fox jumps over the lazy dog.\n" * 40, encoding="utf-8")
    return path


@pytest.fixture()
def trained(text, tmp_path) -> Path:
    out = tmp_path / "run"
    result = _invoke("run", *_sets([f"task.corpus={text}", *TINY]), "--out", out)
    assert result.exit_code == 0, result.output
    return out


def test_a_finished_run_holds_no_lock_file(trained):
    assert not (trained / "run.lock").exists()
    assert _invoke("run", "--resume", trained).exit_code == 0  # a finished run: nothing to do
    assert not (trained / "run.lock").exists()


def test_training_into_a_run_from_python_says_how_to_continue_it(trained):
    with pytest.raises(DataError, match=r"continue it \(.*resume=True in seqkit.train\)"):
        seqkit.train(None, trained)


def test_a_failed_new_run_removes_only_the_folders_it_made(text, tmp_path):
    parent, other = tmp_path / "made" / "by", tmp_path / "made" / "by" / "another-run"

    class AnotherRunStartsThenThisOneFails(seqkit.Callback):
        def on_train_begin(self, trainer):
            other.mkdir()
            (other / "config.toml").write_text("kept\n")
            raise KeyboardInterrupt  # Ctrl-C twice: the run stops before its first update

    config = seqkit.load_config(overrides=[f"task.corpus={text}", *TINY])
    with pytest.raises(KeyboardInterrupt):
        seqkit.train(config, parent / "mine", callbacks=[AnotherRunStartsThenThisOneFails()])
    assert not (parent / "mine").exists()
    assert (other / "config.toml").read_text() == "kept\n"


def test_a_resume_without_last_checkpoints_goes_on_from_the_best_one(trained):
    best = trained / "checkpoints" / "best"
    (index,) = best.glob("ckpt-*.index")
    step = int(index.name.split("-")[1].split(".")[0])
    shutil.rmtree(trained / "checkpoints" / "last")
    result = _invoke("run", "--resume", trained, "--set", "train.steps=12")
    assert result.exit_code == 0, result.output
    assert f"goes on from its best checkpoint, step {step}." in result.output
    steps = [int(line.split(",")[0]) for line in (trained / "metrics.csv").read_text().split()[1:]]
    assert steps == sorted(set(steps)) and steps[-1] == 12  # each row once, up to the new end
    (now,) = best.glob("ckpt-*.index")  # the best is kept, or replaced by a later, better one
    assert int(now.name.split("-")[1].split(".")[0]) >= step


@pytest.mark.parametrize("command", ["resume", "eval"])
def test_a_changed_corpus_is_refused_unless_accepted(trained, text, command):
    text.write_text("the quick brown fox jumps over the lazy cat.\n" * 40, encoding="utf-8")
    args = ["run", "--resume", trained] if command == "resume" else ["eval", trained]
    before = (trained / "metrics.csv").read_bytes()
    result = _invoke(*args)
    assert result.exit_code != 0
    assert "differ from what the run" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert (trained / "metrics.csv").read_bytes() == before
    if command == "resume":
        args += ["--set", "train.steps=11"]
    accepted = _invoke(*args, "--accept-changed-data")
    assert accepted.exit_code == 0, accepted.output


def test_a_relative_corpus_read_from_another_folder_is_refused(text, tmp_path, monkeypatch):
    monkeypatch.chdir(text.parent)
    out = tmp_path / "relative-run"
    result = _invoke("run", *_sets(["task.corpus=corpus.txt", *TINY]), "--out", out)
    assert result.exit_code == 0, result.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "corpus.txt").write_text("the lazy dog jumps over the quick brown fox.\n" * 40)
    monkeypatch.chdir(elsewhere)
    refused = _invoke("run", "--resume", out, "--set", "train.steps=11")
    assert refused.exit_code != 0
    assert f"the run began in {str(text.parent)!r}" in refused.output


def test_appending_to_a_log_leaves_its_hard_links_outside_the_run_alone(trained, tmp_path):
    outside = tmp_path / "metrics-backup.csv"
    os.link(trained / "metrics.csv", outside)
    before = outside.read_bytes()
    result = _invoke("run", "--resume", trained, "--set", "train.steps=15")
    assert result.exit_code == 0, result.output
    assert outside.read_bytes() == before
    assert (trained / "metrics.csv").read_bytes() != before


@pytest.mark.parametrize("flag", ["--resume", "--out"])
def test_an_empty_path_is_one_line(flag, text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _invoke("run", *_sets([f"task.corpus={text}", *TINY]), flag, "")
    assert result.exit_code != 0
    assert "is empty" in result.output and len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_default_run_folders_of_one_second_get_their_own_names(tmp_path):
    first = RunDirectory.for_new_run(tmp_path / "runs" / "20260101-000000", numbered=True)
    second = RunDirectory.for_new_run(tmp_path / "runs" / "20260101-000000", numbered=True)
    first.create()
    second.create()  # the same name was free when both were checked: the second moves on
    assert first.path.name == "20260101-000000"
    assert second.path.name == "20260101-000000-2"
    third = RunDirectory.for_new_run(tmp_path / "runs" / "20260101-000000", numbered=True)
    assert third.path.name == "20260101-000000-3"


def test_a_run_inside_its_corpus_folder_is_not_read_as_corpus(text):
    out = text.parent / "runs" / "inside"
    result = _invoke("run", *_sets([f"task.corpus={text.parent}", *TINY]), "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "samples.txt").exists()
    resumed = _invoke("run", "--resume", out, "--set", "train.steps=12")
    assert resumed.exit_code == 0, resumed.output
    evaluated = _invoke("eval", out)
    assert evaluated.exit_code == 0, evaluated.output


def test_the_cli_writes_nothing_into_the_home_folder(tmp_path):
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_HOME", "MPLCONFIGDIR")}
    env.update(HOME=str(home), SEQKIT_CACHE_DIR=str(cache), XDG_CACHE_HOME=str(home / ".cache"))
    seqkit_command = [sys.executable, "-m", "seqkit.cli", "config"]
    done = subprocess.run(seqkit_command, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert list(home.rglob("*")) == []
