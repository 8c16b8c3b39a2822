"""seqkit as a library: a config-driven run from Python (``seqkit.load_config``, ``train``,
``open_run``) does what ``seqkit run`` does; a task plugin gets sampling and evaluation on another
text by implementing ``seqkit.LanguageModelTask``; a plugin cell's options come from the config.
"""

from __future__ import annotations

import ast
import json
import random
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli.main import cli

sys.path.insert(0, str(Path(__file__).parent))
from test_plugins import install_fake_plugin  # noqa: E402

ROOT = Path(__file__).parent.parent
TINY = [
    "model.hidden_size=16",
    "model.embedding_size=8",
    "model.runner=graph",
    "train.steps=12",
    "train.batch_size=4",
    "train.k1=16",
    "train.eval_every=6",
    "train.checkpoint_every=6",
    "train.log_every=3",
    "sample.length=30",
]


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _sets(pairs):
    return [arg for pair in pairs for arg in ("--set", pair)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    rng = random.Random(3)
    words = "a library run is the same run as the command line makes".split()
    lines = [" ".join(rng.choice(words) for _ in range(9)) + "." for _ in range(60)]
    path = tmp_path_factory.mktemp("data") / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_run_from_python_is_the_run_the_cli_makes(corpus, tmp_path, capsys):
    settings = [f"task.corpus={corpus}", *TINY]
    config = seqkit.load_config(None, settings)
    assert isinstance(config, seqkit.Config) and config == seqkit.load_config(config)
    assert tomllib.loads(str(config)) == config  # prints as the TOML it is
    trained = seqkit.train(config, tmp_path / "lib")
    assert capsys.readouterr().out == ""  # the library prints nothing by default
    cli_run = _invoke("run", *_sets(settings), "--out", tmp_path / "cli")
    assert cli_run.exit_code == 0, cli_run.output
    from_cli = seqkit.open_run(tmp_path / "cli", "last")
    assert trained.step == from_cli.step == 12
    for key, value in trained.model.state_dict().items():
        np.testing.assert_allclose(from_cli.model.state_dict()[key], value, atol=1e-6, err_msg=key)
    untimed = [{k: v for k, v in r.items() if k != "tokens_per_s"} for r in trained.metrics]
    assert untimed == [
        {k: v for k, v in r.items() if k != "tokens_per_s"} for r in from_cli.metrics
    ]
    reopened = seqkit.open_run(tmp_path / "lib", "last")
    text = reopened.sample(prime="a ", length=20, temperature=0.8, seed=4)
    assert text == _invoke("sample", tmp_path / "cli", "--checkpoint", "last", "--prime", "a ",
                           "--length", 20, "--seed", 4).stdout.rstrip("\n")  # fmt: skip
    scores = reopened.evaluate()
    printed = _invoke("eval", tmp_path / "cli", "--checkpoint", "last").stdout
    assert f"loss {scores['loss']:.4f}" in printed and f"bpc {scores['bpc']:.4f}" in printed
    assert reopened.evaluate(corpus=str(corpus))["loss"] > 0
    best = seqkit.open_run(tmp_path / "lib")  # the best checkpoint: the lowest validation loss
    val = {r["step"]: r["val_loss"] for r in best.metrics if r["val_loss"] is not None}
    assert best.step == min(val, key=val.get)
    assert best.evaluate()["loss"] == pytest.approx(val[best.step], abs=1e-5)  # one definition


def test_resume_and_export_from_python(corpus, tmp_path):
    config = seqkit.load_config(None, [f"task.corpus={corpus}", *TINY, "train.steps=6"])
    seqkit.train(config, tmp_path / "run")
    more = seqkit.train(config.with_overrides(["train.steps=9"]), tmp_path / "run", resume=True)
    assert more.step == 9 and [r["step"] for r in more.metrics][-1] == 9
    assert seqkit.open_run(tmp_path / "run", "last").config["train"]["steps"] == 9
    weights = more.export("torch", tmp_path / "w.npz")
    assert set(np.load(weights)) >= {"weight_ih_l0", "head.weight"}
    with pytest.raises(seqkit.SeqkitError, match="--resume cannot change 'model.hidden_size'"):
        seqkit.train(config.with_overrides(["model.hidden_size=8"]), tmp_path / "run", resume=True)


# -- a task plugin that gets sampling through the declared protocol -----------------------------

WORD_LM = '''
import numpy as np
import seqkit

TEXT = "the cat sat on the mat . the dog sat on the log . a cat saw a dog . " * 30


class WordLM(seqkit.LanguageModelTask):
    """A word-level language model: whitespace-separated words, an unknown token."""

    default_loss = "cross-entropy"
    default_truncation = "tbptt"

    def __init__(self, corpus: str = "", vocabulary=None):
        text = open(corpus).read() if corpus else TEXT
        words = ("<unk>", *sorted(set(text.split())))
        self._vocabulary = vocabulary or seqkit.TextVocabulary(words, " ", unknown="<unk>")
        ids = self._vocabulary.encode(text)
        self.train_ids, self.val_ids = ids[: len(ids) * 9 // 10], ids[len(ids) * 9 // 10 :]

    @property
    def vocabulary(self):
        return self._vocabulary

    def model_dims(self):
        return {"vocab_size": len(self._vocabulary), "output_size": len(self._vocabulary)}

    def _streams(self, ids, batch):
        length = (len(ids) - 1) // batch
        used = ids[: batch * length + 1]
        return [seqkit.SequenceBatch(used[:-1].reshape(batch, -1), used[1:].reshape(batch, -1))]

    def train_batches(self, batch_size, seed=0):
        return self._streams(self.train_ids, batch_size)

    def eval_batches(self, batch_size):
        return self._streams(self.val_ids, batch_size)

    def corpus_batches(self, corpus, batch_size):
        return self._streams(self._vocabulary.encode(open(corpus).read()), batch_size)


@seqkit.hookimpl
def seqkit_register_tasks(register):
    register("word-lm", WordLM)
'''


def test_a_word_level_task_plugin_is_sampled_and_evaluated_through_the_protocol(
    tmp_path, monkeypatch
):
    module = f"fake_seqkit_wordlm_{tmp_path.name}".replace("-", "_")
    install_fake_plugin(
        tmp_path, monkeypatch, "wordlm", "1.0", {"word-lm": module}, {module: WORD_LM}
    )
    out = tmp_path / "run"
    settings = ["task.name=word-lm", *TINY, "train.k1=8", "train.steps=6", "train.eval_every=3"]
    result = _invoke("run", *_sets(settings), "--out", out)
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "vocab.json").read_text())
    assert saved["separator"] == " " and saved["unknown"] == "<unk>" and "cat" in saved["tokens"]
    sampled = _invoke("sample", out, "--prime", "the cat", "--length", 7, "--seed", 1)
    assert sampled.exit_code == 0, sampled.output
    words = sampled.stdout.split()
    assert words[:2] == ["the", "cat"] and len(words) == 9 and set(words) <= set(saved["tokens"])
    other = tmp_path / "other.txt"
    other.write_text("the dog sat on the cat . " * 20)
    evaluated = _invoke("eval", out, "--corpus", other)
    assert evaluated.exit_code == 0 and f"on {other}: loss " in evaluated.stdout, evaluated.output


# -- a plugin cell with a required option, from the config ---------------------------------------

SCALED_CELL = '''
import tensorflow as tf
import seqkit
from seqkit.ops import glorot_uniform, linear


class ScaledCell(seqkit.Cell):
    """h_t = tanh(W x_t + scale * h_{t-1}): ``scale`` has no default."""

    def __init__(self, input_size, hidden_size, *, scale, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        if not 0 < scale <= 1:
            raise seqkit.OptionError(f"scaled: scale must be in (0, 1], got {scale}.")
        self.scale = float(scale)
        self.weight_ih = tf.Variable(glorot_uniform(hidden_size, input_size, self.dtype))

    @property
    def state_size(self):
        return (self.hidden_size,)

    def __call__(self, inputs, state):
        h = tf.tanh(linear(inputs, self.weight_ih) + self.scale * state[0])
        return h, (h,)


@seqkit.hookimpl
def seqkit_register_cells(register):
    register("scaled", ScaledCell)
'''


def test_a_plugin_cell_with_a_required_option_trains_from_the_cli(corpus, tmp_path, monkeypatch):
    module = f"fake_seqkit_scaled_{tmp_path.name}".replace("-", "_")
    install_fake_plugin(
        tmp_path, monkeypatch, "scaled", "1.0", {"scaled": module}, {module: SCALED_CELL}
    )
    listed = _invoke("config", "--set", "model.cell=scaled")
    assert listed.exit_code == 0 and "[model.cell_options]\n# scale = " in listed.stdout
    base = [f"task.corpus={corpus}", *TINY, "model.cell=scaled", "train.steps=3"]
    missing = _invoke("run", *_sets(base), "--out", tmp_path / "no")
    assert missing.exit_code == 1 and not (tmp_path / "no").exists()
    assert "Cell 'scaled' needs the option 'scale', which has no default: set it with --set " \
           "model.cell_options.scale=VALUE" in missing.output  # fmt: skip
    small = ["--seq-len", "2", "--hidden-size", "4", "--warmup", "1", "--repeats", "1"]
    bench_missing = _invoke("bench", "--cell", "scaled", *small)
    assert bench_missing.exit_code == 1 and bench_missing.output == (
        "Error: Cell 'scaled' needs the option 'scale', which has no default: set it with "
        "--cell-option scale=VALUE.\n"
    )
    bench_fused = _invoke("bench", "--cell", "scaled", "--cell-option", "scale=0.5", "--runner",
                          "fused", *small)  # fmt: skip
    assert (
        bench_fused.exit_code == 1
        and bench_fused.output.startswith("Error: runner 'fused' does not support ScaledCell")
        and len(bench_fused.output.splitlines()) == 1
    ), bench_fused.output
    typo = _invoke("run", *_sets([*base, "model.cell_options.scal=0.5"]), "--out", tmp_path / "no")
    assert (
        "Cell 'scaled' has no option 'scal'. Did you mean 'model.cell_options.scale'?"
        in typo.output
    )
    out = tmp_path / "run"
    result = _invoke("run", *_sets([*base, "model.cell_options.scale=0.5"]), "--out", out)
    assert result.exit_code == 0, result.output
    assert tomllib.loads((out / "config.toml").read_text())["model"]["cell_options"] == {
        "scale": 0.5
    }
    assert all(cell.scale == 0.5 for cell in seqkit.open_run(out, "last").model.cells)
    refused = _invoke(
        "run", *_sets([*base, "model.cell_options.scale=2"]), "--out", tmp_path / "no"
    )
    assert refused.exit_code == 1 and "scaled: scale must be in (0, 1], got 2." in refused.output


# -- the CLI is a layer on top, never underneath ------------------------------------------------


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_nothing_but_the_cli_imports_the_cli():
    sources = [
        *(p for p in (ROOT / "seqkit").rglob("*.py") if "cli" not in p.relative_to(ROOT).parts),
        *(ROOT / "seqkit_plugins").rglob("*.py"),
        *(ROOT / "benchmarks").rglob("*.py"),
        *(ROOT / "examples").rglob("*.py"),
    ]
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources
        if any(name == "seqkit.cli" or name.startswith("seqkit.cli.") for name in _imports(path))
    ]
    assert len(sources) > 40 and offenders == []


def test_every_name_seqkit_lists_resolves_and_errors_are_among_them():
    import seqkit.errors

    for name in seqkit.__all__:
        assert getattr(seqkit, name) is not None, name  # the list and the look-up are one
    errors = {n for n, v in vars(seqkit.errors).items() if isinstance(v, type)}
    assert {n for n in errors if issubclass(getattr(seqkit.errors, n), Exception)} <= set(
        seqkit.__all__
    )
