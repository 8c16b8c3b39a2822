"""The example third-party plugin (``examples/seqkit-plugin-example``), installed and used.

    .venv/bin/pip install ./examples/seqkit-plugin-example
    .venv/bin/python -m pytest tests/test_plugin_example.py -q

Skipped where the example is not installed; CI (``.ci/run``) installs it.
"""

from __future__ import annotations

import importlib.metadata
import random

import keras
import numpy as np
import pytest
from click.testing import CliRunner

import seqkit

try:
    VERSION = importlib.metadata.version("seqkit-plugin-example")
except importlib.metadata.PackageNotFoundError:
    VERSION = None
pytestmark = pytest.mark.skipif(
    VERSION is None,
    reason="the example plugin is not installed: pip install ./examples/seqkit-plugin-example",
)


def _invoke(*args):
    from seqkit.cli.main import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def test_seqkit_plugins_lists_it_with_its_distribution_and_version():
    result = _invoke("plugins")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()]
    provider = f"seqkit-plugin-example=={VERSION}"
    assert ["cell", "mgu", provider, "(mgu)"] in rows
    assert ["loss", "huber", provider, "(huber)"] in rows
    assert "Broken plugins" not in result.stdout


def test_seqkit_run_trains_the_plugins_cell(tmp_path):
    rng = random.Random(0)
    words = "the quick brown fox jumps over a lazy dog".split()
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(rng.choices(words, k=8)) for _ in range(80)))
    settings = [
        f"task.corpus={corpus}",
        "model.cell=mgu",
        "model.hidden_size=16",
        "model.embedding_size=8",
        "model.runner=graph",
        "train.steps=30",
        "train.batch_size=8",
        "train.k1=16",
        "train.eval_every=15",
        "train.checkpoint_every=15",
        "train.log_every=15",
        "train.lr=0.01",
        "sample.length=20",
    ]
    out = tmp_path / "run"
    result = _invoke("run", *[a for s in settings for a in ("--set", s)], "--out", out)
    assert result.exit_code == 0, result.output
    assert "Training mgu" in result.stdout and "Trained to step 30" in result.stdout
    from seqkit_plugin_example.mgu import MGUCell

    import seqkit

    run = seqkit.open_run(out, "last")
    assert run.step == 30 and all(isinstance(cell, MGUCell) for cell in run.model.cells)
    losses = [row["val_loss"] for row in run.metrics if row["val_loss"] is not None]
    assert len(losses) == 2 and losses[1] < losses[0]  # validation loss falls: it learns


def test_python_api_builds_and_checks_the_plugins_components():
    from seqkit_plugin_example.huber import Huber
    from seqkit_plugin_example.mgu import MGUCell

    from seqkit.testing import check_cell, check_loss

    assert isinstance(seqkit.make_cell("mgu", 3, 4), MGUCell)
    assert isinstance(seqkit.make_loss("huber", delta=0.5), Huber)
    check_cell("mgu")  # by its registered name, through the installed registry
    check_loss(seqkit.make_loss("huber"))


def test_the_plugins_cell_in_a_keras_model_saves_and_loads(tmp_path):
    import seqkit.keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((None, 3)), seqkit.keras.RNN("mgu", 5), keras.layers.Dense(1)]
    )
    x = np.random.default_rng(0).standard_normal((4, 6, 3)).astype(np.float32)
    y = x[:, :, :1].sum(axis=1)
    model.compile(keras.optimizers.Adam(0.05), "mse")
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, verbose=0)
    assert model.evaluate(x, y, verbose=0) < first
    model.save(tmp_path / "mgu.keras")
    loaded = keras.models.load_model(tmp_path / "mgu.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
