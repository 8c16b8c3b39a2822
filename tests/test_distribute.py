"""Data-parallel training: MirroredStrategy over 2 logical CPU devices, MultiWorkerMirrored over
two processes on 127.0.0.1, and resume under mirrored, each against one device.

The distributed runs are subprocesses (tests/distributed_worker.py): logical devices and
TF_CONFIG must be set before TensorFlow starts, which it has in this process. The one-device
reference trains here, on the same global batch of 4 streams.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import distributed_worker as worker
import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.training.distribute import check_batch, is_chief, make_strategy, split_cpu

WORKER = Path(__file__).with_name("distributed_worker.py")
TIMEOUT = 240  # seconds for a distributed run; two CPU cores shared with other test runs


@pytest.fixture(scope="module")
def one_device():
    """The state dict and losses of STEPS updates on one device."""
    trainer = worker.make_trainer("none")
    losses = worker.train(trainer, worker.STEPS)
    return trainer.model.state_dict(), losses


def _env(tf_config=None):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


def _run(args, env, log: Path):
    """Start the worker script; its output goes to ``log``."""
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, str(WORKER), *map(str, args)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait(processes, logs):
    """Wait for every process, bounded by TIMEOUT; kill them all and fail on a timeout."""
    deadline = time.monotonic() + TIMEOUT
    try:
        for process in processes:
            process.wait(timeout=max(deadline - time.monotonic(), 1))
    except subprocess.TimeoutExpired:
        for process in processes:
            process.kill()
            process.wait()
        tails = "\n".join(log.read_text()[-2000:] for log in logs)
        pytest.fail(f"a distributed run did not end within {TIMEOUT} s:\n{tails}")
    for process, log in zip(processes, logs, strict=True):
        assert process.returncode == 0, log.read_text()[-4000:]


def _assert_same(result: Path, reference):
    weights, losses = reference
    got = np.load(result)
    assert int(got["step"]) == worker.STEPS
    np.testing.assert_allclose(got["losses"], losses, rtol=0, atol=1e-5)
    assert set(weights) <= set(got.files)
    for key, value in weights.items():
        np.testing.assert_allclose(got[key], value, rtol=0, atol=1e-5, err_msg=key)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_mirrored_on_two_cpu_devices_matches_one_device(tmp_path, one_device):
    log = tmp_path / "mirrored.log"
    _wait([_run(["mirrored", tmp_path / "out.npz"], _env(), log)], [log])
    _assert_same(tmp_path / "out.npz", one_device)


def test_mirrored_skips_a_nonfinite_update_on_every_replica(tmp_path):
    """nonfinite='skip' under a strategy: a NaN update leaves every weight and the optimizer
    as they were (it used to be applied, making every weight NaN), and training goes on."""
    log = tmp_path / "nonfinite.log"
    _wait([_run(["nonfinite", tmp_path / "out.npz"], _env(), log)], [log])
    got = np.load(tmp_path / "out.npz")
    assert got["skipped"] and np.isnan(got["loss"]) and np.isfinite(got["fine_loss"])
    names = [k.split("/", 1)[1] for k in got.files if k.startswith("before/")]
    assert names
    for name in names:
        np.testing.assert_array_equal(got[f"after/{name}"], got[f"before/{name}"], err_msg=name)
    assert got["skipped_iterations"] == 0 and got["iterations"] == 1


@pytest.mark.slow  # the mirrored update is checked by default above; its resume in the slow set
def test_resume_under_mirrored_continues_exactly(tmp_path, one_device):
    log = tmp_path / "resume.log"
    (tmp_path / "ckpt").mkdir()
    _wait([_run(["resume", tmp_path / "out.npz", tmp_path / "ckpt"], _env(), log)], [log])
    _assert_same(tmp_path / "out.npz", one_device)


@pytest.mark.slow  # two processes of TensorFlow on two cores: about 25 s
def test_two_workers_match_one_device_and_only_the_chief_writes(tmp_path, one_device):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    ckpt = tmp_path / "ckpt"
    processes, logs = [], []
    for index in range(2):
        config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        logs.append(tmp_path / f"worker{index}.log")
        env = _env(config)
        processes.append(_run(["multi-worker", tmp_path / f"w{index}.npz", ckpt], env, logs[-1]))
    _wait(processes, logs)
    for index in range(2):
        _assert_same(tmp_path / f"w{index}.npz", one_device)
    assert (ckpt / "checkpoint").is_file()  # the chief's
    assert "worker-0 wrote to " + str(ckpt) in logs[0].read_text()
    elsewhere = logs[1].read_text().split("worker-1 wrote to ")[1].split()[0]
    assert elsewhere != str(ckpt) and not Path(elsewhere).exists()


def test_bad_names_and_settings_are_clear_errors(monkeypatch):
    with pytest.raises(seqkit.SeqkitError, match="distribute must be one of 'none', 'mirrored'"):
        make_strategy("mirror")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(seqkit.SeqkitError, match="TF_CONFIG environment variable, which is not"):
        make_strategy("multi-worker")
    with pytest.raises(seqkit.SeqkitError, match="cpu_devices must be a positive integer"):
        split_cpu(0)
    tf.zeros([1])  # TensorFlow's runtime has started, with the whole CPU as one device
    with pytest.raises(seqkit.SeqkitError, match="TensorFlow has already started with 1 CPU"):
        split_cpu(3)
    assert is_chief(None)


def test_a_model_built_outside_the_scope_is_a_clear_error():
    model = seqkit.SequenceModel("vanilla", input_size=2, hidden_size=4, runner="graph")
    with pytest.raises(seqkit.SeqkitError, match="made outside the distribution strategy's"):
        seqkit.Trainer(model, loss="mse", distribute=tf.distribute.MirroredStrategy(["/cpu:0"]))


def test_streams_must_split_evenly():
    class TwoReplicas:  # in this process TensorFlow has one CPU device
        num_replicas_in_sync = 2

    assert check_batch(TwoReplicas(), 4) == 2
    with pytest.raises(seqkit.SeqkitError, match="3 streams cannot be split evenly over 2"):
        check_batch(TwoReplicas(), 3)


@pytest.mark.slow  # the in-process mirrored tests above cover the strategy, this its CLI
def test_cli_run_and_resume_under_mirrored_match_one_device(tmp_path):
    """`seqkit run` on 2 logical CPU devices for 4 updates, resumed to 6: the metrics of a
    one-device run of 6 updates (made here, in-process)."""
    from click.testing import CliRunner

    from seqkit.cli.main import cli

    corpus = tmp_path / "corpus.txt"
    words = "the quick brown fox jumps over a lazy dog while seven tired cats sleep".split()
    rng = np.random.default_rng(0)
    corpus.write_text(" ".join(rng.choice(words, 600)) + "\n", encoding="utf-8")
    settings = [
        f"task.corpus={corpus}",
        "task.val_fraction=0.1",
        "model.encoder=embedding",
        "model.hidden_size=8",
        "model.embedding_size=4",
        "model.runner=graph",
        "train.truncation=tbptt",
        "train.batch_size=4",
        "train.k1=8",
        "train.eval_every=2",
        "train.checkpoint_every=2",
        "train.log_every=2",
        "sample.length=5",
    ]
    sets = [arg for pair in settings for arg in ("--set", pair)]
    seqkit_cli = Path(sys.executable).with_name("seqkit")
    mirrored = ["--set", "train.distribute=mirrored", "--set", "train.cpu_devices=2"]
    runs = [
        [*sets, "--set", "train.steps=4", *mirrored, "--out", tmp_path / "run"],
        ["--resume", tmp_path / "run", "--set", "train.steps=6", *mirrored],
    ]
    for args in runs:
        log = tmp_path / "cli.log"
        with open(log, "w") as out:
            process = subprocess.Popen(
                [str(seqkit_cli), "run", *map(str, args)], env=_env(), stdout=out, stderr=out
            )
        _wait([process], [log])
    single = tmp_path / "single"
    result = CliRunner().invoke(cli, ["run", *sets, "--set", "train.steps=6", "--out", single])
    assert result.exit_code == 0, result.output

    def rows(run):  # every column but the wall-clock one
        header, *lines = (run / "metrics.csv").read_text().splitlines()
        keep = [i for i, name in enumerate(header.split(",")) if name != "tokens_per_s"]
        return np.array([[float(line.split(",")[i]) for i in keep] for line in lines])

    assert rows(tmp_path / "run")[:, 0].tolist() == [2, 4, 6]
    np.testing.assert_allclose(rows(tmp_path / "run"), rows(single), rtol=0, atol=1e-5)
