"""Nothing lost: a run killed (SIGKILL) at any point, interrupted (SIGINT, SIGTERM) or stopped by
a NaN resumes to the weights and the last metrics row of an uninterrupted run.

    .venv/bin/python -m pytest tests/test_crash_safety.py -q

The faults are injected into a real ``seqkit run`` process by ``tests/crash_child.py``; each run
is tiny (hidden 16, 20 updates, the graph runner) so that CPU results are exact.
"""

from __future__ import annotations

import csv
import os
import random
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli.main import cli

CHILD = Path(__file__).parent / "crash_child.py"
TIMEOUT = 120  # seconds a child process may take: TensorFlow's import and 20 small updates

TINY = [
    "model.hidden_size=16",
    "model.embedding_size=8",
    "model.runner=graph",
    "train.steps=20",
    "train.batch_size=8",
    "train.k1=8",
    "train.eval_every=5",
    "train.checkpoint_every=5",
    "train.log_every=5",
    "sample.length=20",
]


def _sets(pairs):
    return [arg for pair in pairs for arg in ("--set", pair)]


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = random.Random(1)
    words = "a crash safe run loses nothing when it is killed and then resumed".split()
    lines = [" ".join(rng.choice(words) for _ in range(8)) + "." for _ in range(100)]
    path = tmp_path_factory.mktemp("data") / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def settings(corpus):
    return [f"task.corpus={corpus}", *TINY]


@pytest.fixture(scope="module")
def whole(settings, tmp_path_factory):
    """The uninterrupted run; it writes nothing outside its run directory."""
    cwd = tmp_path_factory.mktemp("cwd")
    before = os.getcwd()
    os.chdir(cwd)
    try:
        result = _invoke("run", *_sets(settings), "--out", "whole")
    finally:
        os.chdir(before)
    assert result.exit_code == 0, result.output
    assert [p.name for p in cwd.iterdir()] == ["whole"]  # no file written outside it
    return cwd / "whole"


def _rows(run: Path) -> list[dict]:
    with open(run / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def _without_timing(run: Path) -> str:
    """metrics.csv's bytes with the wall-clock column (tokens_per_s) blanked: every other byte
    of a resumed run's file must be the uninterrupted run's."""
    lines = (run / "metrics.csv").read_bytes().decode("utf-8").split("\n")
    column = lines[0].split(",").index("tokens_per_s")
    blanked = [
        ",".join("" if i == column else c for i, c in enumerate(line.split(",")))
        for line in lines[1:]
    ]
    return "\n".join([lines[0], *blanked])


def _validation_steps(run: Path) -> list[str]:
    return [r["step"] for r in _rows(run) if r["val_loss"]]


def _assert_same_as(run: Path, whole: Path) -> None:
    run_a, run_b = seqkit.open_run(whole, "last"), seqkit.open_run(run, "last")
    model_a, step_a, model_b, step_b = run_a.model, run_a.step, run_b.model, run_b.step
    assert step_a == step_b == 20
    a, b = model_a.state_dict(), model_b.state_dict()
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=0, atol=1e-6, err_msg=key)
    text = (run / "metrics.csv").read_text()
    assert text.endswith("\n") and "\r" not in text
    assert _validation_steps(run) == ["5", "10", "15", "20"]
    assert _without_timing(run) == _without_timing(whole)  # each row once, byte for byte
    titles = re.findall(
        r"^=== (?:final sample, )?step (\d+) ", (run / "samples.txt").read_text(), re.M
    )
    assert titles == ["5", "10", "15", "20", "20"]  # each validation's sample once, the final


def _start(mode: str, settings, out: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    args = [sys.executable, str(CHILD), mode, "run", *_sets(settings), "--out", str(out)]
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=open(log, "w"), text=True, env=env
    )
    timer = threading.Timer(TIMEOUT, process.kill)  # a hung child fails the test, not CI
    timer.daemon = True
    timer.start()
    return process


def _wait_for(process: subprocess.Popen, text: str) -> str:
    seen = ""
    for line in process.stdout:
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"the child ended before printing {text!r}:\n{seen}")


@pytest.mark.parametrize(
    "mode, where",
    [
        # The kill in the middle of a checkpoint write runs by default; the other two moments
        # are in the slow set (python -m pytest -m slow).
        pytest.param(
            "slow",
            "sent by the test after the validation at step 5, between checkpoints",
            marks=pytest.mark.slow,
        ),
        ("kill-in-checkpoint:10", "while checkpoint 10 is written"),
        pytest.param(
            "kill-before-checkpoint:15",
            "after step 15's metrics row, before its checkpoint",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_a_killed_run_resumes_to_the_uninterrupted_result(mode, where, settings, whole, tmp_path):
    out = tmp_path / "run"
    process = _start(mode, settings, out, tmp_path / "stderr.txt")
    if mode == "slow":
        _wait_for(process, "validation at step 5")
        process.send_signal(signal.SIGKILL)
    process.communicate(timeout=TIMEOUT)
    assert process.returncode == -signal.SIGKILL, (where, (tmp_path / "stderr.txt").read_text())
    state = (out / "checkpoints" / "last" / "checkpoint").read_text() if mode != "slow" else ""
    if mode.startswith("kill-in-checkpoint"):  # ckpt-10 half written and not yet recorded
        assert 'model_checkpoint_path: "ckpt-5"' in state
        assert (out / "checkpoints" / "last" / "ckpt-10.index").exists()
    if mode.startswith("kill-before-checkpoint"):  # a row the checkpoint does not cover
        assert 'model_checkpoint_path: "ckpt-10"' in state
        assert _validation_steps(out) == ["5", "10", "15"]

    resumed = _invoke("run", "--resume", out)
    assert resumed.exit_code == 0, resumed.output
    assert "Resuming lstm" in resumed.output and "Traceback" not in resumed.output
    if mode.startswith("kill-in-checkpoint"):
        assert re.search(
            r"The checkpoint '.*ckpt-10' is damaged \(IndexError: Read less bytes "
            r"than requested\); it is renamed \*\.damaged and the one before it is "
            r"used\.",
            resumed.output,
        )
        assert "steps 6-20" in resumed.output
    _assert_same_as(out, whole)


@pytest.mark.parametrize(  # SIGINT takes the same path as SIGTERM: the slow set has it
    "signum, code",
    [pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow), (signal.SIGTERM, 143)],
)
def test_an_interrupt_saves_a_checkpoint_and_says_how_to_resume(
    signum, code, settings, whole, tmp_path
):
    out = tmp_path / "run"
    log = tmp_path / "stderr.txt"
    process = _start("slow", settings, out, log)
    _wait_for(process, "step 5/20")
    process.send_signal(signum)
    process.communicate(timeout=TIMEOUT)
    stderr = log.read_text()
    assert process.returncode == code, stderr
    name = signal.Signals(signum).name
    match = re.search(
        rf"Interrupted by {name} at step (\d+) of 20; saved a checkpoint\. "
        rf"Resume with: seqkit run --resume {re.escape(str(out))}\n",
        stderr,
    )
    assert match and "Traceback" not in stderr, stderr
    step = int(match.group(1))
    assert 5 <= step < 20
    assert (out / "checkpoints" / "last" / f"ckpt-{step}.index").exists()
    resumed = _invoke("run", "--resume", out)
    assert resumed.exit_code == 0, resumed.output
    assert f"steps {step + 1}-20" in resumed.output
    _assert_same_as(out, whole)


NAN = ["train.optimizer=sgd", "train.lr=1e38", "train.clip_norm=0", "train.checkpoint_every=1"]


def test_a_nan_stops_the_run_names_the_step_and_keeps_the_last_good_checkpoint(settings, tmp_path):
    out = tmp_path / "run"
    result = _invoke("run", *_sets([*settings, *NAN]), "--out", out)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    message = result.output.split("Error: ", 1)[1]
    match = re.fullmatch(
        r"Training stopped at step (\d+): the loss \((inf|nan)\) or the gradient norm "
        r"\(([-+.e\d]+|inf|nan)\) is not finite; (the model's output|the loss|the gradient) is "
        r"not finite: the learning rate \(train\.lr = 1e\+38\) is likely too high and the "
        r"gradients are not clipped \(train\.clip_norm = 0\)\.\n"
        rf"Lower train\.lr or set train\.clip_norm, then `seqkit run --resume "
        rf"{re.escape(str(out))}` \(the last good checkpoint, step (\d+), is kept\); or --set "
        r"train\.nonfinite=skip to skip such updates\.\n",
        message,
    )
    assert match, message
    step, kept = int(match.group(1)), int(match.group(5))
    assert kept == step - 1 >= 1
    reopened = seqkit.open_run(out, "last")
    model, restored = reopened.model, reopened.step
    assert restored == kept
    assert all(np.isfinite(v).all() for v in model.state_dict().values())


def test_the_skip_option_goes_on_past_nan_updates(settings, tmp_path):
    out = tmp_path / "run"
    args = _sets([*settings, *NAN, "train.nonfinite=skip", "train.steps=6"])
    result = _invoke("run", *args, "--out", out)
    assert result.exit_code == 0, result.output
    assert re.search(
        r"step \d: the loss or gradient is not finite \((inf|nan)\); update skipped "
        r"\(train\.nonfinite = 'skip'\)\.",
        result.output,
    ), result.output
    reopened = seqkit.open_run(out, "last")
    model, step = reopened.model, reopened.step
    assert step == 6 and all(np.isfinite(v).all() for v in model.state_dict().values())


def test_a_damaged_checkpoint_is_detected_by_its_checksum(whole, tmp_path):
    import shutil

    from seqkit.runs.checkpoints import saved_checkpoints, verify

    copy = tmp_path / "copy"
    shutil.copytree(whole / "checkpoints" / "last", copy)
    newest = saved_checkpoints(copy)[0]
    assert newest.endswith("ckpt-20") and verify(newest) is None
    (data,) = copy.glob("ckpt-20.data-*")
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    assert "Checksum does not match" in verify(newest)


def test_a_run_trained_further_logs_the_rows_of_one_that_never_stopped(settings, whole, tmp_path):
    """A run that ended at step 7 (not a multiple of train.log_every = 5 or eval_every) and is
    resumed to step 20 writes the uninterrupted run's metrics.csv: the training window's sums
    go on from the checkpoint, and the rows only the end of the short run wrote are gone."""
    out = tmp_path / "run"
    short = [*settings, "train.steps=7"]
    assert _invoke("run", *_sets(short), "--out", out).exit_code == 0
    assert [r["step"] for r in _rows(out)][-2:] == ["5", "7"]  # the short run's end row
    result = _invoke("run", "--resume", out, "--set", "train.steps=20")
    assert result.exit_code == 0, result.output
    assert _without_timing(out) == _without_timing(whole)
    a, b = seqkit.open_run(whole, "last").model, seqkit.open_run(out, "last").model
    for key, value in a.state_dict().items():
        np.testing.assert_allclose(b.state_dict()[key], value, rtol=0, atol=1e-6, err_msg=key)
