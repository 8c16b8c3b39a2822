"""Every task trains from the command line with one command, reports its baseline beside its
own figures, and evaluates; the model options they need (learned initial state, bidirectional
stacks) go through the config."""

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from seqkit.cli.main import cli

DATA = Path(__file__).parent.parent / "examples" / "data"
TINY = ["model.hidden_size=8", "model.runner=graph", "train.steps=4", "train.batch_size=16",
        "train.eval_every=2", "train.checkpoint_every=2", "train.log_every=2"]  # fmt: skip

TASKS = {
    "adding": (["task.length=12", "task.train_size=64", "task.val_size=32"], ["mse"]),
    "copy": (["task.symbols=3", "task.length=6", "task.train_size=64", "task.val_size=32",
              "model.initial_state=learned"], ["accuracy"]),
    "series": ([f"task.path={DATA / 'temperatures.csv'}", "task.window=12", "task.stride=24"],
               ["mse"]),
    "classify": ([f"task.path={DATA / 'sentiment.tsv'}", "model.bidirectional=true"],
                 ["accuracy"]),
    "tag": ([f"task.path={DATA / 'tagging.tsv'}", "model.bidirectional=true",
             "model.num_layers=2"], ["accuracy"]),
}  # fmt: skip


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _sets(pairs):
    return [arg for pair in pairs for arg in ("--set", pair)]


@pytest.mark.parametrize("name", list(TASKS))
def test_each_task_trains_reports_its_baseline_and_evaluates(name, tmp_path):
    options, metrics = TASKS[name]
    out = tmp_path / name
    result = _invoke("run", *_sets([f"task.name={name}", *options, *TINY]), "--out", out)
    assert result.exit_code == 0, result.output
    baselines = json.loads((out / "task.json").read_text())["baselines"]
    for metric in metrics:
        assert metric in baselines
        assert f"{metric} " in result.stdout and "(baseline" in result.stdout
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["2", "4"]
    assert {f"val_{m}" for m in metrics} <= set(rows[0])
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert not (out / "samples.txt").exists()  # no text to sample
    evaluated = _invoke("eval", out, "--checkpoint", "last")
    assert evaluated.exit_code == 0, evaluated.output
    assert f"{metrics[0]} " in evaluated.stdout and "step 4 (last checkpoint)" in evaluated.stdout


def test_sampling_a_run_that_predicts_no_text_is_refused(tmp_path):
    options, _ = TASKS["adding"]
    out = tmp_path / "adding"
    assert (
        _invoke("run", *_sets(["task.name=adding", *options, *TINY]), "--out", out).exit_code == 0
    )
    result = _invoke("sample", out)
    assert result.exit_code == 1
    assert "trained task 'adding', which does not predict text" in result.output


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["model.bidirectional=true"], "model.bidirectional reads each sequence from both ends"),
        (["task.name=classify", f"task.path={DATA / 'sentiment.tsv'}", "model.bidirectional=true",
          "train.truncation=tbptt"], "model.bidirectional needs whole sequences"),
        (["task.name=adding", "model.encoder=embedding"],
         "Task 'adding' feeds vectors, not ids: model.encoder must be 'none' or 'auto'"),
    ],
)  # fmt: skip
def test_model_options_that_do_not_fit_the_task(overrides, message, tmp_path):
    result = _invoke("run", *_sets([*overrides, *TINY]), "--out", tmp_path / "r")
    assert result.exit_code == 1 and message in result.output, result.output
    assert not (tmp_path / "r").exists()


def test_a_named_loss_that_cannot_score_the_task_is_one_line_before_training(tmp_path):
    settings = ["task.name=classify", f"task.path={DATA / 'sentiment.tsv'}", "train.loss=mse"]
    result = _invoke("run", *_sets([*settings, *TINY]), "--out", tmp_path / "r")
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: mse: targets must be [batch, time, features]")
    assert "Traceback" not in result.output and not (tmp_path / "r").exists()


def test_a_loss_without_last_step_is_refused_for_one_label_per_sequence(tmp_path, monkeypatch):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_plugins import install_fake_plugin

    module = f"fake_seqkit_{tmp_path.name}_loss".replace("-", "_")
    source = """
import tensorflow as tf
import seqkit

class Absolute(seqkit.Loss):
    def __call__(self, targets, outputs, mask=None):
        return tf.reduce_mean(tf.abs(tf.cast(targets, outputs.dtype) - outputs))

@seqkit.hookimpl
def seqkit_register_losses(register):
    register("absolute", Absolute)
"""
    install_fake_plugin(tmp_path, monkeypatch, "absdist", "2.0", {"absolute": module},
                        {module: source})  # fmt: skip
    from seqkit.plugins.registry import default_registry

    default_registry.cache_clear()
    options, _ = TASKS["adding"]
    settings = ["task.name=adding", *options, "train.loss=absolute", *TINY]
    result = _invoke("run", *_sets(settings), "--out", tmp_path / "r")
    default_registry.cache_clear()
    assert result.exit_code == 1, result.output
    assert (
        "Task 'adding' has one label per sequence, but loss 'absolute' from absdist==2.0 takes "
        "no last_step option" in result.output
    )
