"""``seqkit run`` in a process of its own, with a fault injected; for tests/test_crash_safety.py.

    python tests/crash_child.py slow                  run ...   # 0.1 s after each update
    python tests/crash_child.py kill-in-checkpoint:10 run ...   # SIGKILL while step 10 saves
    python tests/crash_child.py kill-before-checkpoint:15 run ... # SIGKILL after step 15's
                                                                  # metrics row, before its save
    python tests/crash_child.py kill-before-final-sample run ...  # SIGKILL after the last
                                                                  # checkpoint, before the end
    python tests/crash_child.py term-in-final-sample run ...      # SIGTERM while the final
                                                                  # sample is drawn

``kill-in-checkpoint:N`` leaves what a kill in the middle of writing checkpoint N leaves: its
files with the data cut in half, and the manager's ``checkpoint`` file not yet pointing to it.
Each kill is SIGKILL sent by the process to itself: nothing can catch or clean up after it.
"""

import os
import signal
import sys
import time
from pathlib import Path


def kill() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    mode, args = sys.argv[1], sys.argv[2:]
    from seqkit.quiet_tensorflow import import_tensorflow

    import_tensorflow()
    import tensorflow as tf

    from seqkit.cli.main import cli
    from seqkit.runs.session import RunSession

    if mode in ("kill-before-final-sample", "term-in-final-sample"):
        from seqkit.runs.logs import SampleLog

        append = SampleLog.append

        def faulty_append(self, title, text, temperature):
            if title.startswith("final sample"):
                if mode == "kill-before-final-sample":
                    kill()
                os.kill(os.getpid(), signal.SIGTERM)  # arrives while the end is written
            return append(self, title, text, temperature)

        SampleLog.append = faulty_append
    elif mode == "slow":
        on_update_end = RunSession.on_update_end

        def slow(self, trainer, logs):
            on_update_end(self, trainer, logs)
            time.sleep(0.1)

        RunSession.on_update_end = slow
    else:
        kind, step = mode.split(":")
        save = tf.train.CheckpointManager.save

        def faulty_save(self, checkpoint_number=None, **kwargs):
            if checkpoint_number != int(step) or not self.directory.endswith("last"):
                return save(self, checkpoint_number=checkpoint_number, **kwargs)
            if kind == "kill-before-checkpoint":
                kill()
            state = Path(self.directory) / "checkpoint"
            recorded = state.read_bytes()
            prefix = save(self, checkpoint_number=checkpoint_number, **kwargs)
            state.write_bytes(recorded)  # not yet recorded
            (data,) = Path(self.directory).glob(f"ckpt-{step}.data-*")
            data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])  # half written
            kill()
            return prefix

        tf.train.CheckpointManager.save = faulty_save
    cli(args, prog_name="seqkit")


if __name__ == "__main__":
    main()
