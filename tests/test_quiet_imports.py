"""A Python program that uses seqkit prints nothing that it did not ask for: none of
TensorFlow's native start-up lines (unless ``SEQKIT_TF_LOGS=1`` or the user's own
``TF_CPP_MIN_LOG_LEVEL`` asks for them), and no ``tf.function`` retracing warning from
seqkit's own functions when it builds several models.

    .venv/bin/python -m pytest tests/test_quiet_imports.py -q

The programs run in fresh interpreters: TensorFlow prints its lines once per process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from seqkit import quiet_tensorflow

RECORD = re.compile(r"^[IWEF]\d{4} ", re.M)  # a line of TensorFlow's native (absl) log


def run_python(code: str, **environ: str) -> subprocess.CompletedProcess:
    """``python -c code`` with the user's environment minus seqkit's and TF's log settings."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("SEQKIT_TF_LOGS", "TF_CPP_MIN_LOG_LEVEL")
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**env, **environ},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done


# One program for two tests (a fresh interpreter costs seconds): seqkit's user builds, calls
# and trains a model (an XLA-compiled update), then samples from eight more models.
PROGRAM = """
import os
import numpy as np
import seqkit
from seqkit.decoding.sampling import Sampler
x = np.zeros((2, 5, 3), np.float32)
model = seqkit.SequenceModel("lstm", input_size=3, hidden_size=4, output_size=2)
print(model(x)[0].shape)
trainer = seqkit.Trainer(model, loss="mse", truncation="bptt")
trainer.fit(seqkit.SequenceBatch(x, np.zeros((2, 5, 2), np.float32)), steps=1)
for seed in range(8):
    other = seqkit.SequenceModel("lstm", hidden_size=4, output_size=5, encoder="embedding",
                                 vocab_size=5, embedding_size=3)
    Sampler(other, jit_compile=False)([1, 2], 5, seed=seed)  # no XLA: the same traces
print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
"""


@pytest.fixture(scope="module")
def program() -> subprocess.CompletedProcess:
    return run_python(PROGRAM)


def test_importing_seqkit_and_training_a_model_prints_nothing(program):
    assert program.stderr == ""
    assert program.stdout == "(2, 5, 2)\nNone\n"  # and the user's environment is as it was


def test_sampling_from_eight_models_triggers_no_retracing(program):
    assert "retracing" not in program.stderr, program.stderr


@pytest.mark.parametrize(
    "environ",
    [{"SEQKIT_TF_LOGS": "1"}, pytest.param({"TF_CPP_MIN_LOG_LEVEL": "0"}, marks=pytest.mark.slow)],
    ids=lambda e: str(e),
)
def test_the_user_can_ask_for_tensorflows_lines(environ):
    done = run_python(
        "import seqkit, tensorflow as tf; tf.config.list_physical_devices()", **environ
    )
    assert RECORD.search(done.stderr), done.stderr  # e.g. "I0000 ... cudart_stub.cc:31] ..."


def test_a_tensorflow_imported_before_seqkit_is_left_alone():
    import tensorflow  # noqa: F401 (as a user who imported it first)

    quiet_tensorflow.uninstall()
    quiet_tensorflow.install()
    assert quiet_tensorflow._FINDER not in sys.meta_path


HELD = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:17.1 1 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n"
    "I0000 00:00:17.2 1 cpu_feature_guard.cc:227] This TensorFlow binary is optimized.\n"
    "To enable the following instructions: AVX2 FMA, rebuild TensorFlow.\n"
    "W0000 00:00:17.3 1 some.cc:1] a warning\n"
    "E0000 00:00:17.4 1 cuda_platform.cc:52] failed call to cuInit\n"
)


@pytest.mark.parametrize(
    "level, kept",
    [
        (None, []),  # the user set no level: none of TensorFlow's start-up records
        (0, [0, 1, 2, 3, 4, 5]),  # every line, as TensorFlow writes them
        (1, [4, 5]),  # INFO dropped, with its continuation line and absl's notice
        (2, [5]),
        (3, []),  # as the CLI sets it
    ],
)
def test_the_held_lines_shown_follow_the_users_level(level, kept):
    lines = HELD.splitlines(keepends=True)
    assert quiet_tensorflow.shown_lines(HELD, level) == "".join(lines[i] for i in kept)


def test_lines_that_are_no_log_records_are_always_shown():
    other = "/usr/lib/python3/site-packages/x.py:3: UserWarning: numpy is old\n"
    assert quiet_tensorflow.shown_lines(other + HELD, None) == other


def test_what_was_held_is_shown_whole_when_the_import_fails(capfd, monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    with pytest.raises(ImportError):
        with quiet_tensorflow._native_stderr_held():
            os.write(2, b"I0000 00:00:17.1 1 loader.cc:1] libtensorflow.so: cannot open\n")
            raise ImportError("no libtensorflow")
    assert capfd.readouterr().err == (
        "I0000 00:00:17.1 1 loader.cc:1] libtensorflow.so: cannot open\n"
    )
    with quiet_tensorflow._native_stderr_held():  # an import that works: nothing shown
        os.write(2, b"I0000 00:00:17.1 1 loader.cc:1] loaded\n")
    assert capfd.readouterr().err == ""


# -- retracing ------------------------------------------------------------------------------

EIGHT_MODELS = """
import numpy as np
import seqkit
x = np.zeros((2, 5), np.int32)
for seed in range(8):
    model = seqkit.SequenceModel("lstm", hidden_size=4, output_size=5, encoder="embedding",
                                 vocab_size=5, embedding_size=3)
    model(x)
"""


def test_calling_eight_models_triggers_no_retracing():
    done = run_python(EIGHT_MODELS)
    assert "retracing" not in done.stderr, done.stderr
