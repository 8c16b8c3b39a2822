"""A run directory is held by one process at a time, and the end of a run is never lost:
``run.lock`` refuses a second process and dies with its holder; a kill or a signal between the
last checkpoint and the end leaves a run whose resume writes the end; a resume of a finished
run writes nothing; a full disk while saving is one line and the run goes on after it.

The runs are tiny (hidden 16, 10 updates, the graph runner); faults are injected into a real
``seqkit run`` process by ``tests/crash_child.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from seqkit.cli.main import cli

sys.path.insert(0, str(Path(__file__).parent))
from bad_input_matrix import snapshot  # noqa: E402
from test_crash_safety import TIMEOUT, TINY, _rows, _sets, _start, _wait_for  # noqa: E402


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def settings(corpus):
    return [f"task.corpus={corpus}", *TINY, "train.steps=10"]  # two validations are enough


@pytest.fixture(scope="module")
def finished(settings, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "finished"
    result = _invoke("run", *_sets(settings), "--out", out)
    assert result.exit_code == 0, result.output
    return out


def _stat_snapshot(folder: Path) -> dict:
    """Every file's bytes and modification time: what "writes nothing" is checked against."""
    return {
        key: (digest, (folder / key).stat().st_mtime_ns) for key, digest in snapshot(folder).items()
    }


def test_a_resume_of_a_finished_run_writes_nothing(finished):
    before = _stat_snapshot(finished)
    result = _invoke("run", "--resume", finished)
    assert result.exit_code == 0, result.output
    assert "The run is already at step 10 of 10." in result.output
    assert _stat_snapshot(finished) == before


def test_a_second_process_is_refused_while_a_run_trains(settings, finished, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "crash_child.py"), "slow", "run",
         "--resume", str(run), "--set", "train.steps=16"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        _wait_for(process, "Resuming lstm")  # printed once the child holds the lock
        second = _invoke("run", "--resume", run, "--set", "train.steps=16")
        assert second.exit_code == 1 and "Traceback" not in second.output
        assert re.search(
            rf"The run '.*run' is in use by another seqkit process \(pid {process.pid}, "
            r"run\.lock\); wait for it to finish, or stop it, then try again\.",
            second.output,
        ), second.output
        sampled = _invoke("sample", run, "--length", 5)  # reading a run needs no lock
        assert sampled.exit_code == 0, sampled.output
    finally:
        process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0
    titles = re.findall(r"^=== (.*) \(temperature", (run / "samples.txt").read_text(), re.M)
    assert len(titles) == len(set(titles))  # each sample written once


@pytest.mark.slow  # flock's lock dies with its process; the refusal test above runs by default
def test_the_lock_of_a_killed_run_is_no_lock(settings, tmp_path):
    out = tmp_path / "run"
    process = _start("slow", settings, out, tmp_path / "stderr.txt")
    _wait_for(process, "validation at step 5")
    process.send_signal(signal.SIGKILL)  # the holder dies with the lock taken
    process.communicate(timeout=TIMEOUT)
    assert (out / "run.lock").read_text().strip() == str(process.pid)
    resumed = _invoke("run", "--resume", out)
    assert resumed.exit_code == 0, resumed.output
    assert "Trained to step 10" in resumed.output


ENDS = [  # the kill before the final sample is in the slow set: the SIGTERM in it is the harder
    pytest.param("kill-before-final-sample", -signal.SIGKILL, marks=pytest.mark.slow),
    ("term-in-final-sample", 143),
]


@pytest.mark.parametrize("mode, code", ENDS)
def test_an_end_cut_short_is_written_by_the_resume(mode, code, settings, finished, tmp_path):
    out = tmp_path / "run"
    process = _start(mode, settings, out, tmp_path / "stderr.txt")
    process.communicate(timeout=TIMEOUT)
    assert process.returncode == code, (tmp_path / "stderr.txt").read_text()
    assert (out / "checkpoints" / "last" / "ckpt-10.index").exists()
    assert "finished_step" not in (out / "run.json").read_text()
    if mode == "term-in-final-sample":
        assert "Interrupted by SIGTERM at step 10 of 10" in (tmp_path / "stderr.txt").read_text()
    resumed = _invoke("run", "--resume", out)
    assert resumed.exit_code == 0, resumed.output
    assert "Finished the run at step 10" in resumed.output
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "samples.txt").read_text() == (finished / "samples.txt").read_text()
    assert [r["step"] for r in _rows(out)] == [r["step"] for r in _rows(finished)]
    assert '"finished_step": 10' in (out / "run.json").read_text()
    before = _stat_snapshot(out)
    assert _invoke("run", "--resume", out).exit_code == 0
    assert _stat_snapshot(out) == before  # now finished: a resume writes nothing


def test_a_full_disk_while_saving_is_one_line_and_the_run_goes_on(settings, tmp_path, monkeypatch):
    import tensorflow as tf

    save = tf.train.CheckpointManager.save

    def full(self, checkpoint_number=None, **kwargs):
        if checkpoint_number == 10:
            raise tf.errors.ResourceExhaustedError(None, None, "No space left on device [SaveV2]")
        return save(self, checkpoint_number=checkpoint_number, **kwargs)

    out = tmp_path / "run"
    monkeypatch.setattr(tf.train.CheckpointManager, "save", full)
    result = _invoke("run", *_sets(settings), "--out", out)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert re.search(
        r"Error: Saving the checkpoint of step 10 into '.*(last|best)' failed "
        r"\(ResourceExhaustedError: No space left on device \[SaveV2\]\); the checkpoint of "
        r"step 5 is intact: free space \(or fix the folder\), then `seqkit run --resume .*run`\.",
        result.output,
    ), result.output
    monkeypatch.setattr(tf.train.CheckpointManager, "save", save)
    resumed = _invoke("run", "--resume", out)
    assert resumed.exit_code == 0 and "steps 6-10" in resumed.output, resumed.output


def test_an_uneven_split_over_replicas_is_refused_before_any_write(settings, tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    args = _sets([*settings, "train.distribute=mirrored", "train.cpu_devices=3"])
    done = subprocess.run(
        [sys.executable, "-m", "seqkit.cli", "run", *args, "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "8 streams cannot be split evenly over 3 replicas" in done.stderr
    assert not out.exists()
