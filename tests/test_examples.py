"""What ``examples/`` holds works: every ``*.toml`` config passes the checks ``seqkit run`` makes
of a config, and the example programs run to their end with a few updates (slow-marked, about a
minute: ``python -m pytest -m slow tests/test_examples.py``). ``examples/tbptt_quickstart.py``
is README's TBPTT snippet, which ``tests/test_readme.py`` runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import seqkit

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.toml")), ids=lambda p: p.name)
def test_every_example_config_passes_the_config_checks(path):
    """As ``seqkit run FILE`` and ``seqkit config FILE`` check it before anything is written:
    keys, types, bounds, the task's and the cell's options; and every name it gives is a
    registered component, so that the run does not stop on one."""
    config = seqkit.load_config(path)
    written = tomllib.loads(path.read_text(encoding="utf-8"))
    for section, keys in written.items():
        for key, value in keys.items():
            if not isinstance(value, dict):
                assert config[section][key] == value, f"{path.name}: {section}.{key}"
    model, train = config["model"], config["train"]
    assert model["cell"] in seqkit.available("cell")
    assert model["runner"] == "auto" or model["runner"] in seqkit.available("runner")
    assert train["truncation"] == "auto" or train["truncation"] in seqkit.available("truncation")
    assert train["loss"] == "auto" or train["loss"] in seqkit.available("loss")
    assert config["task"]["name"] in seqkit.available("task")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("program", "arguments", "printed"),
    [
        (
            "encoder_decoder.py",
            ["--steps", "2"],
            ["attention=True: 2 updates", "transcribe: 2 updates"],
        ),
        (
            "long_term_dependencies.py",
            ["--lengths", "10", "--steps", "2", "--out", "runs"],
            ["| 10 | vanilla |", "| 10 | gru |", "| 10 | lstm |"],
        ),
        (
            "truncation_experiment.py",
            ["--steps", "2", "--adding-steps", "2", "--out", "runs"],
            ["| TBPTT(32, 64) | 2 |", "| TBPTT(20, 60) |"],
        ),
        (
            "char_lm_equal_time.py",
            ["--seconds", "1", "--models", "mingru:2", "--out", "runs"],
            ["| mingru x2 |"],
        ),
    ],
)
def test_the_example_programs_run(program, arguments, printed, tmp_path):
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]  # this seqkit, as the test process's
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / program), *arguments],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for line in printed:
        assert line in done.stdout, done.stdout
