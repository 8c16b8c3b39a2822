"""The bad-input matrix, third round: plugins that misbehave at run time. Each case installs
the small plugin modules of ``tests/misbehaving_plugins/`` as a fake distribution
``misbehaving==1.0`` and runs the real command line (click's runner) with one of them.

- Before training: what a run checks of a plugin before its first update (the task's batches,
  the truncation's windows, the cell's step, the runner's outputs, a scalar loss) is one line
  naming the plugin, its distribution and its contract; nothing is written
  (``bad_input_matrix.check_case``).
- While training: an error a plugin raises after the checks (for a batch size, in validation),
  running out of memory and a NaN from a plugin are one error line, a non-zero exit, no
  traceback, and the last checkpoint kept with the command that resumes the run.

    .venv/bin/python -m pytest tests/test_bad_plugins.py -q
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from seqkit.cli.main import cli

sys.path.insert(0, str(Path(__file__).parent))
from bad_input_matrix import TINY, Case, Context, check_case, forget_fake_modules, sets  # noqa: E402
from test_plugins import install_fake_plugin  # noqa: E402

MISBEHAVING = Path(__file__).parent / "misbehaving_plugins"
KINDS = ("cells", "losses", "runners", "truncations", "tasks")
DIST = r"from misbehaving==1\.0 \(plugin 'misbehaving-\w+'\)"


def install_misbehaving(ctx: Context, monkeypatch) -> None:
    """``misbehaving==1.0``: one plugin (entry point) for each module of misbehaving_plugins/."""
    modules = {f"fake_seqkit_misbehaving_{k}": (MISBEHAVING / f"{k}.py").read_text() for k in KINDS}
    points = {f"misbehaving-{k}": f"fake_seqkit_misbehaving_{k}" for k in KINDS}
    install_fake_plugin(ctx.tmp, monkeypatch, "misbehaving", "1.0", points, modules)


def _task(name: str, *pairs: str):
    return lambda c: ["run", *sets([*TINY, f"task.name={name}", *pairs]), "--out", c.new()]


def _bad(case_id: str, args, message: str) -> Case:
    return Case(case_id, args, message, install_misbehaving)


CELL = "a cell's step\\(inputs \\[B, I\\], state\\) returns tensors of the model's dtype"
RUNNER = "a runner's run\\(cell, inputs \\[B, T, I\\], state, mask\\) returns tensors"
LOSS = "a loss returns one number \\(a scalar tensor, the mean over the counted steps\\)"
WINDOWS = "a truncation strategy's windows\\(length\\) yields seqkit\\.Window"
TASK = "a task gives non-empty lists of SequenceBatch of arrays whose ids lie in its declared"

BEFORE_TRAINING = [
    # -- cells -------------------------------------------------------------------------------
    _bad("cell-output-of-one-row", lambda c: c.train("model.cell=bad-wrong-batch"),
         rf"The cell 'bad-wrong-batch' {DIST} returned an output of shape \[1, 16\] and a state "
         r"of shapes \[\[2, 16\]\] for a batch of 2; expected \[2, 16\]"),
    _bad("cell-numpy-output", lambda c: c.train("model.cell=bad-numpy"),
         rf"The cell 'bad-numpy' {DIST} returned an output that is a ndarray, not a tensor; "
         rf"{CELL}"),
    _bad("cell-list-output", lambda c: c.train("model.cell=bad-list"),
         rf"The cell 'bad-list' {DIST} returned an output that is a list, not a tensor; {CELL}"),
    _bad("cell-float64-in-float32", lambda c: c.train("model.cell=bad-float64"),
         rf"The cell 'bad-float64' {DIST} returned an output of float64 in a float32 model; "
         rf"{CELL}"),
    _bad("cell-recurrence-weight-not-the-state", lambda c: c.train("model.cell=bad-recurrence"),
         rf"The cell 'bad-recurrence' {DIST} returned an output of shape \[2, 16\] and a state "
         r"of shapes \[\[2, 8\]\] for a batch of 2; expected \[2, 16\] and \[\[2, 16\]\]"),
    _bad("cell-recurrence-on-the-fused-runner",
         lambda c: c.train("model.cell=bad-recurrence", "model.runner=auto"),
         rf"The cell 'bad-recurrence' {DIST} returned an output of shape \[2, 16\] and a state "
         r"of shapes \[\[2, 8\]\]"),
    _bad("cell-state-size-raises", lambda c: c.train("model.cell=bad-state-size"),
         rf"The cell 'bad-state-size' {DIST} failed on one step: AttributeError: "
         rf"'StateSizeRaises' object has no attribute 'units'; {CELL}"),
    _bad("cell-initial-state-raises", lambda c: c.train("model.cell=bad-initial-state"),
         rf"The cell 'bad-initial-state' {DIST} failed on one step: TypeError: initial_state\(\) "
         rf"takes 2 positional arguments but 3 were given; {CELL}"),
    # -- runners -----------------------------------------------------------------------------
    _bad("runner-raises", lambda c: c.train("model.runner=bad-raises"),
         rf"The runner 'bad-raises' {DIST} failed in run on a sliver of the first batch, before "
         rf"training: RuntimeError: the loop is not written yet; {RUNNER}.* \(set SEQKIT_DEBUG=1 "
         r"for the traceback\)"),
    _bad("runner-drops-a-step", lambda c: c.train("model.runner=bad-short"),
         rf"The runner 'bad-short' {DIST} gave outputs of shape \[2, 15, 22\] for inputs of "
         rf"shape \[2, 16\]; expected \[2, 16, 22\]; {RUNNER}"),
    # -- losses ------------------------------------------------------------------------------
    _bad("loss-returns-a-float", lambda c: c.train("train.loss=bad-python-float"),
         rf"The loss 'bad-python-float' {DIST} returned a float; {LOSS}"),
    # -- truncation strategies ---------------------------------------------------------------
    _bad("truncation-raises", lambda c: c.train("train.truncation=bad-raises"),
         rf"The truncation 'bad-raises' {DIST} failed in windows on the data's lengths, before "
         rf"training: ZeroDivisionError: division by zero; {WINDOWS}"),
    _bad("truncation-no-windows", lambda c: c.train("train.truncation=bad-none"),
         rf"The truncation 'bad-none' {DIST} yielded no window for a sequence of \d+ steps, so "
         rf"training would never update .*; {WINDOWS}"),
    _bad("truncation-past-the-end", lambda c: c.train("train.truncation=bad-past-end"),
         rf"The truncation 'bad-past-end' {DIST} yielded Window\(backprop_from=0, loss_from=0, "
         rf"end=(\d+)\) for a sequence of \d+ steps; {WINDOWS}"),
    _bad("truncation-loss-before-backprop", lambda c: c.train("train.truncation=bad-backwards"),
         rf"The truncation 'bad-backwards' {DIST} yielded Window\(backprop_from=4, loss_from=2, "
         rf"end=\d+\) for a sequence of \d+ steps; {WINDOWS}"),
    _bad("truncation-tuples", lambda c: c.train("train.truncation=bad-tuples"),
         rf"The truncation 'bad-tuples' {DIST} yielded a tuple, not a seqkit\.Window; {WINDOWS}"),
    # -- tasks -------------------------------------------------------------------------------
    _bad("task-train-batches-raise", _task("bad-train-raises"),
         rf"The task 'bad-train-raises' {DIST} failed in train_batches making its data, before "
         rf"training: OSError: the data server is down; {TASK}"),
    _bad("task-no-batches", _task("bad-no-batches"),
         rf"The task 'bad-no-batches' {DIST} gave no batches from train_batches; {TASK}"),
    _bad("task-no-eval-batches", _task("bad-no-eval-batches"),
         rf"The task 'bad-no-eval-batches' {DIST} gave no batches from eval_batches; {TASK}"),
    _bad("task-ids-past-the-vocabulary", _task("bad-ids-past-vocabulary"),
         rf"The task 'bad-ids-past-vocabulary' {DIST} gave inputs holding id \d\d in batch 0 of "
         r"train_batches, outside its declared vocabulary of 5 \(ids 0 to 4, model_dims\)"),
    _bad("task-eval-ids-past-the-vocabulary", _task("bad-eval-ids-past-vocabulary"),
         rf"The task 'bad-eval-ids-past-vocabulary' {DIST} gave inputs holding id \d\d in batch "
         r"0 of eval_batches, outside its declared vocabulary of 5"),
    _bad("task-tuples-not-batches", _task("bad-not-batches"),
         rf"The task 'bad-not-batches' {DIST} gave a tuple in batch 0 of train_batches, not a "
         rf"seqkit\.SequenceBatch; {TASK}"),
    _bad("task-lists-not-arrays", _task("bad-lists"),
         rf"The task 'bad-lists' {DIST} gave inputs that are a list in batch 0 of "
         r"train_batches, not a NumPy array"),
    _bad("task-float-ids", _task("bad-float-ids"),
         rf"The task 'bad-float-ids' {DIST} gave inputs of dtype float64 in batch 0 of "
         r"train_batches, not integer ids"),
    _bad("task-nan-inputs", _task("bad-nan-inputs"),
         rf"The task 'bad-nan-inputs' {DIST} gave inputs holding NaN or infinite values in batch "
         r"0 of train_batches"),
    _bad("task-targets-shorter-than-inputs", _task("bad-short-targets"),
         rf"The task 'bad-short-targets' {DIST} gave targets of shape \[8, 9\] for inputs of "
         r"shape \[8, 12\] in batch 0 of train_batches; a target per step needs \[B, T\] = "
         r"\[8, 12\]"),
    _bad("task-metric-raises", _task("bad-counts-raise"),
         rf"The task 'bad-counts-raise' {DIST} failed in counts scoring a sliver of the "
         rf"validation data, before training: KeyError: 'accuracy'; {TASK}"),
    _bad("task-derived-metric-raises", _task("bad-metrics-raise"),
         rf"The task 'bad-metrics-raise' {DIST} failed in metrics scoring a sliver of the "
         r"validation data, before training: ValueError: math domain error"),
]  # fmt: skip


@dataclass
class Later:
    """A plugin that breaks its contract only once training runs: ``kept`` is the step of the
    checkpoint that must be kept (None: a new run that never trained, whose folder is removed)."""

    id: str
    args: list[str]  # --set pairs of a tiny char-lm run (a task's name for a task case)
    message: str  # a regular expression that the error must match, whole
    kept: int | None


RESUME = r" The last checkpoint \(step 1\) is kept; once that is fixed: seqkit run --resume \S+"
NOTHING = r" Nothing was kept \(the run had not trained\); fix that and run it again\."
HINT = r" \(set SEQKIT_DEBUG=1 for the traceback\)"
NAN = r"Training stopped at step 1: the loss \(nan\) or the gradient norm \(\S+\) is not finite; "

WHILE_TRAINING = [
    Later("cell-raises-for-the-batch-size", ["model.cell=bad-raises-in-graph"],
          rf"The cell 'bad-raises-in-graph' {DIST} failed in __call__ while training \(0 of 4 "
          rf"steps done\): ValueError: cannot take a batch of 8; {CELL}.*\.{NOTHING}{HINT}", None),
    Later("cell-assertion-in-a-compiled-step", ["model.cell=bad-asserts-at-run-time"],
          rf"The cell 'bad-asserts-at-run-time' {DIST} failed in __call__ while training \(0 of 4 "
          r"steps done\): InvalidArgumentError: assertion failed: \[a batch of at most 2 rows\] "
          rf".*; {CELL}.*{NOTHING}{HINT}", None),
    Later("runner-returns-numpy-in-a-compiled-step", ["model.runner=bad-numpy"],
          rf"The runner 'bad-numpy' {DIST} failed in run while training \(0 of 4 steps done\): "
          rf"NotImplementedError: Cannot convert a symbolic tf\.Tensor .*; {RUNNER}.*{NOTHING}"
          rf"{HINT}", None),
    Later("loss-vector-for-some-batches", ["train.loss=bad-vector"],
          rf"The loss 'bad-vector' {DIST} failed while training \(0 of 4 steps done\): "
          r"LossNotScalar: VectorForLargeBatches returned \[8\] for outputs of shape \[8, 8, 22\], "
          rf"not one number; {LOSS}.*{NOTHING}{HINT}", None),
    Later("loss-raises-for-some-batch-sizes", ["train.loss=bad-raises-for-batches"],
          rf"The loss 'bad-raises-for-batches' {DIST} failed in __call__ while training \(0 of 4 "
          rf"steps done\): ValueError: this loss takes batches of 2, not 8; {LOSS}.*", None),
    Later("loss-raises-in-validation", ["train.loss=bad-raises-in-validation"],
          rf"The loss 'bad-raises-in-validation' {DIST} failed in __call__ while training \(2 of "
          rf"4 steps done\): ValueError: this loss takes at most 16 steps, not \d+; {LOSS}.*"
          rf"{RESUME}{HINT}", 1),
    Later("loss-exits-in-validation", ["train.loss=bad-exits-in-validation"],
          rf"The loss 'bad-exits-in-validation' {DIST} failed in __call__ while training \(2 of 4 "
          rf"steps done\): SystemExit with exit code 3; {LOSS}.*{RESUME}{HINT}", 1),
    Later("task-metric-raises-in-validation", ["task.name=bad-counts-raise-in-validation"],
          rf"The task 'bad-counts-raise-in-validation' {DIST} failed in counts while training "
          rf"\(2 of 4 steps done\): IndexError: index 16 is out of bounds .*; {TASK}.*{RESUME}"
          rf"{HINT}", 1),
    Later("out-of-memory-in-validation", ["model.runner=bad-out-of-memory"],
          r"Training ran out of memory after step 2 \(ResourceExhaustedError\) with "
          r"train\.batch_size = 8, windows of 8 steps \(train\.k1 = 8, train\.k2 = 8\), "
          r"model\.hidden_size = 16, model\.num_layers = 1 and a vocabulary of 22: lower "
          r"train\.batch_size, train\.k1/k2, model\.hidden_size or model\.num_layers in a new run "
          rf"\(a resume keeps them\), or free memory\.{RESUME}", 1),
    Later("out-of-memory-at-the-first-update", ["model.cell=bad-out-of-memory"],
          rf"Training ran out of memory after step 0 \(ResourceExhaustedError\) with .*{NOTHING}",
          None),
    Later("cell-nan-at-step-1", ["model.cell=bad-nan"],
          rf"{NAN}the model's output is not finite before any update: it comes from the cell "
          rf"'bad-nan' {DIST}\.\nReport this to the plugin's authors, then run it again \(nothing "
          r"was kept: the run had not trained\); or --set train\.nonfinite=skip to skip such "
          r"updates\.", None),
    Later("loss-nan-at-step-1", ["train.loss=bad-nan"],
          rf"{NAN}the loss 'bad-nan' {DIST} returned it on finite outputs\.\nReport this to the "
          r"plugin's authors, then run it again .*", None),
]  # fmt: skip


@pytest.fixture(autouse=True)
def _forget_fake_modules():
    yield
    forget_fake_modules()


def test_every_kind_of_plugin_has_cases_before_and_while_training():
    for table in (BEFORE_TRAINING, WHILE_TRAINING):
        assert len({c.id for c in table}) == len(table)
    kinds = {c.id.split("-")[0] for c in BEFORE_TRAINING}
    assert kinds == {"cell", "runner", "loss", "truncation", "task"}
    assert {"cell", "runner", "loss", "task", "out"} <= {c.id.split("-")[0] for c in WHILE_TRAINING}


@pytest.mark.parametrize("case", BEFORE_TRAINING, ids=[c.id for c in BEFORE_TRAINING])
def test_a_broken_contract_is_named_before_training(
    case, pristine_run, corpus, tmp_path, monkeypatch
):
    check_case(case, pristine_run, corpus, tmp_path, monkeypatch)


def _run_later(case: Later, corpus: Path, out: Path, *extra: str):
    pairs = [*TINY, "train.checkpoint_every=1", *case.args]
    if not any(p.startswith("task.name=") for p in case.args):
        pairs.insert(0, f"task.corpus={corpus}")
    return CliRunner().invoke(cli, ["run", *sets(pairs), "--out", str(out), *extra])


@pytest.mark.parametrize("case", WHILE_TRAINING, ids=[c.id for c in WHILE_TRAINING])
def test_a_plugin_that_fails_while_training_keeps_the_last_checkpoint(
    case, corpus, tmp_path, monkeypatch
):
    monkeypatch.delenv("SEQKIT_DEBUG", raising=False)
    install_misbehaving(Context(tmp_path, tmp_path, corpus), monkeypatch)
    out = tmp_path / "run"
    result = _run_later(case, corpus, out)
    output = result.output
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), output
    assert "Traceback" not in output
    error = output.split("Error: ", 1)[1].strip()
    assert re.fullmatch(case.message, error), error
    assert len(error.splitlines()) <= 2
    assert sum(line.startswith("Error: ") for line in output.splitlines()) == 1
    checkpoints = sorted((out / "checkpoints" / "last").glob("ckpt-*.index"))
    if case.kept is None:  # a new run that never trained leaves nothing behind
        assert not out.exists()
    else:
        assert (out / "config.toml").exists() and f"--resume {out}" in error
        assert [p.name for p in checkpoints][-1:] == [f"ckpt-{case.kept}.index"]


def test_the_debug_flag_shows_the_plugins_traceback(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQKIT_DEBUG", "0")  # --debug sets it for the process; restored after
    install_misbehaving(Context(tmp_path, tmp_path, corpus), monkeypatch)
    case = next(c for c in WHILE_TRAINING if c.id == "loss-raises-in-validation")
    result = _run_later(case, corpus, tmp_path / "run", "--debug")
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)
    output = result.output
    assert "Traceback (most recent call last)" in output
    assert 'fake_seqkit_misbehaving_losses.py", line' in output  # the plugin's own line
    assert "this loss takes at most 16 steps" in output.split("Error: ")[1]
    assert "SEQKIT_DEBUG=1 for the traceback" not in output


def test_seqkit_debug_shows_the_traceback_of_a_check_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQKIT_DEBUG", "1")
    install_misbehaving(Context(tmp_path, tmp_path, tmp_path), monkeypatch)
    result = CliRunner().invoke(
        cli, _task("bad-train-raises")(Context(tmp_path, tmp_path, tmp_path))
    )
    assert result.exit_code != 0
    assert "Traceback (most recent call last)" in result.output
    assert 'fake_seqkit_misbehaving_tasks.py", line' in result.output
    assert result.output.rstrip().splitlines()[-1].startswith("Error: The task 'bad-train-raises'")


def test_a_run_stopped_by_a_plugin_resumes_once_the_plugin_is_fixed(corpus, tmp_path, monkeypatch):
    install_misbehaving(Context(tmp_path, tmp_path, corpus), monkeypatch)
    case = next(c for c in WHILE_TRAINING if c.id == "loss-raises-in-validation")
    out = tmp_path / "run"
    assert _run_later(case, corpus, out).exit_code != 0
    losses = sys.modules["fake_seqkit_misbehaving_losses"]

    def fixed(self, targets, outputs, mask=None):  # the plugin's new release
        import tensorflow as tf

        return tf.reduce_mean(losses.cross_entropy(targets, outputs))

    monkeypatch.setattr(losses.RaisesForLongSequences, "__call__", fixed)
    result = CliRunner().invoke(cli, ["run", "--resume", str(out)])
    assert result.exit_code == 0, result.output
    steps = [line.split(",")[0] for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == ["2", "4"]  # the rows of steps 2 and 4, once each
    assert (out / "checkpoints" / "last" / "ckpt-4.index").exists()
