"""The bad-input matrix, first round: each thing a user can get wrong in a config, a corpus, a
run directory, a sample or a plugin is answered with one or two lines that say what is wrong
and how to fix it, a non-zero exit code, no traceback, and an existing run directory left
exactly as it was (``tests/bad_input_matrix.py`` checks each case).

    .venv/bin/python -m pytest tests/test_bad_inputs.py -q

Every case runs the real command line (click's runner) against a fresh copy of one tiny run.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from seqkit.cli.main import cli

sys.path.insert(0, str(Path(__file__).parent))
from bad_input_matrix import TINY, Case, Context, check_case, forget_fake_modules  # noqa: E402
from bad_input_matrix import sets as _sets  # noqa: E402
from test_plugins import TINY_CELL, install_fake_plugin  # noqa: E402


def _config(ctx: Context, text: str) -> list[str]:
    path = ctx.file("c.toml", text)
    return ["run", str(path), *_sets([f"task.corpus={ctx.corpus}", *TINY]), "--out", ctx.new()]


def _corpus(ctx: Context, content, *pairs) -> list[str]:
    path = ctx.file("corpus.txt", content) if content is not None else ctx.tmp / "none.txt"
    return ["run", *_sets([*TINY, f"task.corpus={path}", *pairs]), "--out", ctx.new()]


def _short(ctx: Context) -> list[str]:
    path = ctx.file("short.txt", "abcdefghij" * 30)  # 270 training characters: 33 per stream
    return ["run", *_sets([*TINY, f"task.corpus={path}", "train.k1=64"]), "--out", ctx.new()]


def _text_dir(ctx: Context) -> list[str]:
    (ctx.tmp / "pictures").mkdir()
    (ctx.tmp / "pictures" / "a.png").write_bytes(b"\x89PNG")
    return ["run", *_sets([*TINY, f"task.corpus={ctx.tmp / 'pictures'}"]), "--out", ctx.new()]


def _newer(ctx: Context) -> list[str]:
    (ctx.run / "run.json").write_text('{"format": 99, "seqkit": "9.0"}')
    return ["run", "--resume", str(ctx.run), "--set", "train.steps=6"]


def _other_corpus(ctx: Context) -> list[str]:
    other = ctx.file("other.txt", "Zebras QUIZ " * 200)
    ctx.edit(
        "config.toml", lambda t: re.sub(r"corpus = .*", f"corpus = {json.dumps(str(other))}", t)
    )
    return ["run", "--resume", str(ctx.run), "--set", "train.steps=6"]


def _damaged_best(ctx: Context) -> list[str]:
    for data in (ctx.run / "checkpoints" / "best").glob("ckpt-*.data-*"):
        data.write_bytes(data.read_bytes()[:10])
    return ["sample", str(ctx.run), "--length", "5"]


def _plugin(source: str, *entry_points: str):
    """A case that installs a fake distribution ``fakedist==1.0`` whose module is ``source``."""

    def install(ctx: Context, monkeypatch) -> None:
        module = f"fake_seqkit_bad_{ctx.tmp.parent.name}".replace("-", "_")
        points = {name: module for name in entry_points or ("tiny",)}
        install_fake_plugin(ctx.tmp, monkeypatch, "fakedist", "1.0", points, {module: source})

    return install


def _register(*names: str, call: str = "register", param: str = "register") -> str:
    lines = "".join(f"    {call}({name!r}, TinyCell)\n" for name in names)
    return f"{TINY_CELL}\n\n@seqkit.hookimpl\ndef seqkit_register_cells({param}):\n{lines}"


WRONG_SHAPE = TINY_CELL.replace("return state[0], state", "return state[0][:, :3], state")


CASES = [
    # -- the config ------------------------------------------------------------------------
    Case("config-not-toml", lambda c: _config(c, "[model\nhidden_size = 3\n"),
         r"The config file '.*c\.toml' is not valid TOML \(Expected ']' at the end of a table "
         r"declaration \(at line 1, column 7\)\); fix that line, e\.g\. key = value under a "
         r"\[section\]\."),
    Case("config-missing", lambda c: ["run", str(c.tmp / "nope.toml")],
         r"The config file '.*nope\.toml' does not exist; check the path \(`seqkit config` "
         r"prints a full config to start from\)\."),
    Case("config-not-utf8", lambda c: _config(c, b"[model]\ncell = '\xff'\n"),
         r"The config file '.*c\.toml' is not UTF-8 text \(byte 16\); give a TOML file\."),
    Case("unknown-section", lambda c: _config(c, "[modle]\ncell = 'gru'\n"),
         r"unknown config section \[modle\]\. Did you mean \[model\]\? The sections are task, "
         r"model, train, sample\."),
    Case("unknown-key", lambda c: c.train("model.hiden_size=3"),
         r"Unknown config key 'model\.hiden_size'\. Did you mean 'model\.hidden_size'\? "
         r"`seqkit config` prints every key with its default\."),
    Case("wrong-type", lambda c: c.train("train.steps=ten"),
         r"Config key 'train\.steps' must be an integer \(like 2000\), got 'ten' \(str\)\."),
    Case("wrong-type-in-file", lambda c: _config(c, '[train]\nsteps = "many"\n'),
         r"Config key 'train\.steps' must be an integer \(like 2000\), got 'many' \(str\)\."),
    Case("bool-for-number", lambda c: c.train("model.dropout=true"),
         r"Config key 'model\.dropout' must be a number \(like 0\.0\), got True \(bool\)\."),
    Case("zero-size", lambda c: c.train("model.hidden_size=0"),
         r"Config key 'model\.hidden_size' must be at least 1, got 0\."),
    Case("negative-size", lambda c: c.train("train.batch_size=-4"),
         r"Config key 'train\.batch_size' must be at least 1, got -4\."),
    Case("k2-below-k1", lambda c: c.train("train.k1=16", "train.k2=4"),
         r"tbptt: k2 \(4\) must be at least k1 \(16\): each update back-propagates through at "
         r"least the k1 steps whose losses it takes; set k2 >= 16 or leave it out \(k2 = k1\)\."),
    Case("unknown-cell", lambda c: c.train("model.cell=lstn"),
         r"Unknown cell 'lstn'\. Did you mean 'lstm'\? Known cells: .*gru, (janet, )?lstm"),
    Case("unknown-runner", lambda c: c.train("model.runner=grap"),
         r"Unknown runner 'grap'\. Did you mean 'graph'\? Known runners: "),
    Case("unknown-loss", lambda c: c.train("train.loss=cross-entropyy"),
         r"Unknown loss 'cross-entropyy'\. Did you mean 'cross-entropy'\? Known losses: "),
    Case("unknown-truncation", lambda c: c.train("train.truncation=tbtt"),
         r"Unknown truncation 'tbtt'\. Did you mean 'tbptt'\? Known truncations: "),
    Case("unknown-task", lambda c: c.train("task.name=char-lmm"),
         r"Unknown task 'char-lmm'\. Did you mean 'char-lm'\? Known tasks: "),
    Case("unknown-task-option", lambda c: c.train("task.corpous=x"),
         r"Task 'char-lm' has no option 'corpous'\. Did you mean 'task\.corpus'\? Its options "
         r"are: corpus, val_fraction, tokens, vocab_size, vocab_file, val_tokens\."),
    Case("dropout-out-of-range", lambda c: c.train("model.dropout=1.5"),
         r"Config key 'model\.dropout' must be at least 0 and below 1, got 1\.5\."),
    Case("lr-decay-out-of-range", lambda c: c.train("train.lr_decay=2"),
         r"Config key 'train\.lr_decay' must be above 0 and at most 1, got 2\."),
    Case("lr-zero", lambda c: c.train("train.lr=0"),
         r"Config key 'train\.lr' must be above 0, got 0\."),
    Case("lr-not-finite", lambda c: c.train("train.lr=nan"),
         r"Config key 'train\.lr' must be a finite number, got nan\."),
    Case("unknown-choice", lambda c: c.train("train.nonfinite=ignore"),
         r"Config key 'train\.nonfinite' must be one of 'stop', 'skip'; got 'ignore'\."),
    Case("set-without-value", lambda c: c.train("train.steps"),
         r"--set takes KEY=VALUE \(like model\.hidden_size=512\), got 'train\.steps'\."),
    Case("val-fraction-out-of-range", lambda c: c.train("task.val_fraction=2"),
         r"char-lm: val_fraction must be a number in \[0, 1\], got 2\."),
    # -- the corpus ------------------------------------------------------------------------
    Case("corpus-missing", lambda c: _corpus(c, None),
         r"char-lm: the corpus '.*none\.txt' does not exist; give a UTF-8 text file or a "
         r"directory of text files, or leave task\.corpus empty for the embedded corpus\."),
    Case("corpus-dir-without-text", _text_dir,
         r"char-lm: the directory '.*pictures' holds no text files \(\*\.txt, \*\.md, \*\.rst, "
         r"\*\.text\); add some or name a file\."),
    Case("corpus-empty", lambda c: _corpus(c, ""),
         r"char-lm: the corpus '.*corpus\.txt' is empty; give it some text\."),
    Case("corpus-too-short-for-streams", lambda c: _corpus(c, "abc"),
         r"char-lm: the training text has 3 characters, too short for 8 streams of at least 2 "
         r"steps; need at least 17 characters: use a longer corpus or a smaller batch size\."),
    Case("corpus-shorter-than-a-window", _short,
         r"The training data gives 8 streams of 33 steps, shorter than one window of "
         r"train\.k1 = 64 steps; use a longer corpus, a smaller train\.batch_size or a smaller "
         r"train\.k1\."),
    Case("corpus-not-utf8", lambda c: _corpus(c, "café au lait ".encode("latin-1") * 20),
         r"char-lm: '.*corpus\.txt' is not UTF-8 text \(byte 3 cannot be decoded\); convert "
         r"it, e\.g\. with `iconv -t UTF-8`\."),
    Case("corpus-binary", lambda c: _corpus(c, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20),
         r"char-lm: '.*corpus\.txt' looks binary \(byte 8 is NUL\), not text; give a UTF-8 "
         r"text file\."),
    Case("no-validation-split", lambda c: c.train("task.val_fraction=0"),
         r"char-lm: there is no validation split; set val_fraction above 0\."),
    # -- the run directory -----------------------------------------------------------------
    Case("resume-missing", lambda c: ["run", "--resume", str(c.tmp / "gone")],
         r"The run directory '.*gone' does not exist; give the directory that `seqkit run "
         r"--out` wrote\."),
    Case("resume-not-a-run", lambda c: ["run", "--resume", str(c.tmp)],
         r"'.*' is not a run directory \(no config\.toml and task\.json\); give the directory "
         r"that `seqkit run --out` wrote\."),
    Case("resume-newer-format", _newer,
         r"The run '.*run' was written by seqkit 9\.0 in run format 99; this seqkit reads "
         r"formats up to 2: upgrade seqkit to read it\."),
    Case("resume-damaged-run-json",
         lambda c: [c.file("x", ""), (c.run / "run.json").write_text("{"),
                    "run", "--resume", str(c.run)][2:],
         r"'.*run\.json' is damaged \(expected JSON with an integer 'format'\); restore it or "
         r'write \{"format": 2\} into it\.'),
    Case("resume-damaged-task-json",
         lambda c: [(c.run / "task.json").write_text("{\"model_dims\""), "run", "--resume",
                    str(c.run)][1:],
         r"'.*task\.json' \(the task's sizes\) is not valid JSON: the run directory is damaged; "
         r"restore the file from a copy or start a new run\."),
    Case("resume-vocabulary-mismatch",
         lambda c: [c.edit("vocab.json", lambda t: json.dumps(
                        {**json.loads(t), "tokens": json.loads(t)["tokens"][:-1]})),
                    "run", "--resume", str(c.run)][1:],
         r"'.*vocab\.json' holds \d+ tokens, but the run's model reads \d+ \(task\.json\): "
         r"the vocabulary does not match the run; restore the run's own vocab\.json\."),
    Case("resume-model-shape-mismatch",
         lambda c: [c.edit("config.toml", lambda t: t.replace("hidden_size = 16",
                                                              "hidden_size = 32")),
                    "run", "--resume", str(c.run), "--set", "train.steps=6"][1:],
         r"The checkpoint '.*ckpt-4' of '.*run' does not match the model its config builds "
         r"\(.*\); resume with the run's own config\.toml and vocab\.json\."),
    Case("resume-corpus-with-new-characters", _other_corpus,
         r"char-lm: the character 'Z' is not in the vocabulary of \d+ characters; use text made "
         r"of the training corpus' characters\."),
    Case("resume-changes-the-model",
         lambda c: ["run", "--resume", str(c.run), "--set", "model.hidden_size=32"],
         r"--resume cannot change 'model\.hidden_size': the checkpoints hold that model, data "
         r"and schedule; on resume only train\.steps, .*, sample\.seed may change\."),
    Case("resume-with-a-config-file",
         lambda c: ["run", str(c.file("c.toml", "")), "--resume", str(c.run)],
         r"--resume reads the run's own config\.toml; give --set, not a file\."),
    Case("resume-torn-config",
         lambda c: [c.edit("config.toml", lambda t: t[: len(t) // 2] + "= ["),
                    "run", "--resume", str(c.run)][1:],
         r"The config file '.*config\.toml' is not valid TOML \(.*\); fix that line"),
    Case("out-holds-a-run", lambda c: ["run", "--out", str(c.run)],
         r"'.*run' already holds a run; continue it \(seqkit run --resume .*run, or resume=True in "
         r"seqkit.train\) or give the new run another directory \(--out\)\."),
    Case("out-is-a-file", lambda c: ["run", "--out", str(c.file("f", "x"))],
         r"--out '.*f' is a file; give a directory for the run\."),
    # -- sample and eval -------------------------------------------------------------------
    Case("prime-outside-vocabulary", lambda c: ["sample", str(c.run), "--prime", "every#"],
         r"The prime holds characters the model never saw: '#'; use characters of the training "
         r"corpus\."),
    Case("temperature-below-0", lambda c: ["sample", str(c.run), "--temperature", "-1"],
         r"--temperature must be 0 \(the likeliest character\) or more, got -1\.0; give e\.g\. "
         r"0\.8\."),
    Case("length-below-1", lambda c: ["sample", str(c.run), "--length", "0"],
         r"--length must be a whole number from 1 to 1,000,000, got 0; give e\.g\. 200\."),
    Case("sample-missing-run", lambda c: ["sample", str(c.tmp / "gone")],
         r"The run directory '.*gone' does not exist; give the directory that `seqkit run "
         r"--out` wrote\."),
    Case("sample-damaged-best", _damaged_best,
         r"The checkpoint '.*best.*ckpt-4' is damaged \(.*\); it is left as it is and the one "
         r"before it is used\.\nError: The run '.*run' has no intact 'best' checkpoint; try "
         r"--checkpoint last, or resume the run to write one\."),
    Case("eval-missing-corpus", lambda c: ["eval", str(c.run), "--corpus", str(c.tmp / "n")],
         r"char-lm: the corpus '.*n' does not exist; give a UTF-8 text file"),
    # -- plugins -----------------------------------------------------------------------------
    Case("plugin-fails-to-import", lambda c: c.train("model.cell=tiny"),
         r"Unknown cell 'tiny'\. Known cells: .*\. Broken plugins, not loaded: plugin 'tiny' "
         r"from fakedist==1\.0: failed to import 'fake_seqkit_bad_\w+': ModuleNotFoundError: "
         r"No module named 'seqkit_missing_dependency'; `seqkit plugins` lists them\.",
         _plugin("import seqkit_missing_dependency\n")),
    Case("plugin-wrong-hook-signature", lambda c: c.train("model.cell=tiny"),
         r"Unknown cell 'tiny'\. Known cells: .*\. Broken plugins, not loaded: plugin 'tiny' "
         r"from fakedist==1\.0: .*seqkit_register_cells.*'registrar'",
         _plugin(_register("tiny", call="registrar", param="registrar"))),
    Case("plugin-duplicate-name", lambda c: c.train("model.cell=tiny"),
         r"Unknown cell 'tiny'\. Known cells: .*\. Broken plugins, not loaded: plugin 'tiny' "
         r"from fakedist==1\.0: registers cell 'lstm', which seqkit==[\w.+]+ \(plugin 'lstm'\) "
         r"already provides; `seqkit plugins` lists them\.",
         _plugin(_register("tiny", "lstm"))),
    Case("plugin-cell-wrong-shape", lambda c: c.train("model.cell=tiny"),
         r"The cell 'tiny' from fakedist==1\.0 \(plugin 'tiny'\) returned an output of shape "
         r"\[2, 3\] and a state of shapes \[\[2, 16\]\] for a batch of 2; expected \[2, 16\] and "
         r"\[\[2, 16\]\] \(its output_size and state_size\): report this to the plugin's "
         r"authors\.",
         _plugin(WRONG_SHAPE.replace("import seqkit\n", "import seqkit\n", 1)
                 + "\n\n@seqkit.hookimpl\ndef seqkit_register_cells(register):\n"
                   "    register('tiny', TinyCell)\n")),
]  # fmt: skip


@pytest.fixture(autouse=True)
def _forget_fake_modules():
    yield
    forget_fake_modules()


def test_the_matrix_has_at_least_40_cases():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_input_gets_a_clear_answer(case, pristine_run, corpus, tmp_path, monkeypatch):
    check_case(case, pristine_run, corpus, tmp_path, monkeypatch)


# -- what is loaded runs no code ---------------------------------------------------------------


def test_no_third_party_plugins_loads_none_of_their_code(tmp_path, monkeypatch):
    module = f"fake_seqkit_nothird_{tmp_path.name}".replace("-", "_")
    source = _register("tiny")
    install_fake_plugin(
        tmp_path, monkeypatch, "fakedist", "1.0", {"tiny": module}, {module: source}
    )
    from seqkit.plugins.registry import default_registry

    assert "tiny" in default_registry().names("cell")
    default_registry.cache_clear()
    sys.modules.pop(module, None)
    monkeypatch.setenv("SEQKIT_NO_THIRD_PARTY_PLUGINS", "1")
    registry = default_registry()
    assert "tiny" not in registry.names("cell") and "lstm" in registry.names("cell")
    assert module not in sys.modules  # never imported
    assert "fakedist==1.0" in [p.provider for p in registry.plugins.third_party_skipped]
    listed = CliRunner().invoke(cli, ["plugins"])
    assert "Not loaded (SEQKIT_NO_THIRD_PARTY_PLUGINS): " in listed.output
    assert "tiny from fakedist==1.0" in listed.output.split("Not loaded")[1]


def test_no_loader_of_seqkit_can_run_code_from_a_file():
    """Configs are TOML data, checkpoints TensorFlow's tensor bundles, exports SavedModels and
    Keras files loaded in safe mode: no pickle, eval or exec anywhere in the package."""
    root = Path(__file__).parent.parent
    sources = [*(root / "seqkit").rglob("*.py"), *(root / "seqkit_plugins").rglob("*.py")]
    pattern = re.compile(
        r"\bimport pickle\b|\bpickle\.load|\bmarshal\.loads|[^.\w]eval\(|[^.\w]exec\(|"
        r"safe_mode\s*=\s*False|allow_pickle\s*=\s*True|weights_only\s*=\s*False|yaml\.load\("
    )
    found = [
        f"{path.relative_to(root)}:{n}: {line.strip()}"
        for path in sources
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
