"""An encoder-decoder through ``seqkit.Trainer``: a checkpoint restored mid-training continues
exactly; the context (the source) is split with the streams over data-parallel replicas, and
two replicas make one device's updates."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import seq2seq_distributed_worker as worker

WORKER = Path(__file__).with_name("seq2seq_distributed_worker.py")


@pytest.mark.slow  # ~30 s: a process of its own, traced per replica
def test_mirrored_on_two_cpu_devices_makes_one_devices_updates(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = tmp_path / "out.npz"
    run = subprocess.run(
        [sys.executable, str(WORKER), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    trainer = worker.make_trainer("none")
    losses = worker.train(trainer)
    got = np.load(out)
    np.testing.assert_allclose(got["losses"], losses, rtol=0, atol=1e-5)
    for name, value in trainer.model.state_dict().items():  # float32 sums in another order,
        np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-4, err_msg=name)  # via Adam


def test_a_restored_checkpoint_continues_exactly(tmp_path):
    uninterrupted = worker.make_trainer("none")
    want = worker.train(uninterrupted)  # STEPS updates on the 4 pairs
    first = worker.make_trainer("none")
    losses = [logs["loss"] for logs in first.fit(worker.pairs(), steps=2)]
    path = first.checkpoint().save(str(tmp_path / "ckpt"))
    second = worker.make_trainer("none", seed=99)  # other initial weights
    second.checkpoint().restore(path).assert_consumed()
    losses += [logs["loss"] for logs in second.fit(worker.pairs(), steps=worker.STEPS - 2)]
    np.testing.assert_allclose(losses, want, rtol=1e-6)
    for name, value in uninterrupted.model.state_dict().items():
        np.testing.assert_allclose(second.model.state_dict()[name], value, rtol=1e-6, err_msg=name)
