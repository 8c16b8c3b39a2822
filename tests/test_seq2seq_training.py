"""An encoder-decoder through ``seqkit.Trainer``: the context (the source) is split with the
streams over data-parallel replicas, and two replicas make one device's updates."""

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
