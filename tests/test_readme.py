"""What README shows runs: each of its ```python snippets. A snippet that no longer works with
the code fails here (``tests/test_examples.py`` checks ``examples/``).

The snippets run in this process, each in a temporary directory and a fresh namespace, with the
few text replacements of ``FAST`` (fewer steps, a tiny model) that keep them quick; a
replacement that no longer finds its text fails too, so that README and this file change
together. A snippet that needs torch or the example plugin is skipped, with the reason, where
that is missing.
"""

from __future__ import annotations

import importlib.util
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

import seqkit

ROOT = Path(__file__).parents[1]
FENCE = re.compile(r"^( *)```python\n(.*?)^\1```$", re.DOTALL | re.MULTILINE)
EXAMPLE_PLUGIN_NAMES = ("mgu", "janet", "qrnn", "huber")  # examples/seqkit-plugin-example

# The settings of the library snippet's my.toml: a tiny character model on a small corpus.
MY_TOML = """
[task]
corpus = "corpus.txt"

[model]
hidden_size = 16
embedding_size = 8
runner = "graph"

[train]
batch_size = 4
k1 = 16
eval_every = 4
checkpoint_every = 4
log_every = 2

[sample]
length = 20
"""

# A phrase that picks a snippet -> the replacements that make it quick.
FAST = {
    "seqkit.load_config(": [
        ('"train.steps=500"', '"train.steps=4"'),
        ('"train.steps=1000"', '"train.steps=8"'),
        ("length=200", "length=20"),
    ],
    "trainer.fit(": [("steps=150", "steps=30")],
}


def python_snippets(markdown: str) -> list[tuple[int, str]]:
    """The ```python blocks of a Markdown text (an indented one dedented), each with the line
    its code starts on."""
    return [
        (markdown.count("\n", 0, match.start(2)) + 1, textwrap.dedent(match.group(2)))
        for match in FENCE.finditer(markdown)
    ]


SNIPPETS = python_snippets((ROOT / "README.md").read_text(encoding="utf-8"))


def made_fast(code: str) -> str:
    for phrase, replacements in FAST.items():
        if phrase in code:
            for old, new in replacements:
                assert old in code, f"README's snippet no longer holds {old!r}: update FAST"
                code = code.replace(old, new)
    return code


def missing_requirement(code: str) -> str | None:
    """Why the snippet cannot run here, or None."""
    if re.search(r"^\s*(import|from) torch\b", code, re.MULTILINE):
        if importlib.util.find_spec("torch") is None:
            return "needs torch (pip install torch==2.13.0)"
    used = [name for name in EXAMPLE_PLUGIN_NAMES if f'"{name}"' in code]
    registered = {n for kind in ("cell", "loss") for n in seqkit.available(kind)}
    if any(name not in registered for name in used):
        return "needs the example plugin (pip install ./examples/seqkit-plugin-example)"
    return None


@pytest.fixture
def in_a_new_folder(tmp_path, monkeypatch, corpus):
    (tmp_path / "my.toml").write_text(MY_TOML, encoding="utf-8")
    text = "The one line names what to do.\n" * 20 + corpus.read_text(encoding="utf-8")
    (tmp_path / "corpus.txt").write_text(text, encoding="utf-8")  # README's prime is "The "
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_snippet(line: int, code: str) -> dict:
    reason = missing_requirement(code)
    if reason:
        pytest.skip(f"README.md:{line}: {reason}")
    namespace: dict = {"__name__": "__readme__"}
    exec(compile(made_fast(code), f"README.md:{line}", "exec"), namespace)
    return namespace


def test_readme_has_the_snippets_this_file_checks():
    phrases = ["seqkit.load_config(", 'make_cell("lstm"', "trainer.fit(", "seqkit.keras.RNN"]
    assert [sum(p in code for _, code in SNIPPETS) for p in phrases] == [1, 1, 1, 1]


@pytest.mark.parametrize(("line", "code"), SNIPPETS, ids=[f"line{n}" for n, _ in SNIPPETS])
def test_every_readme_snippet_runs(line, code, in_a_new_folder, capsys):
    namespace = run_snippet(line, code)
    printed = capsys.readouterr().out
    if "seqkit.load_config(" in code:  # the run, its resume, the best checkpoint's export
        resumed = seqkit.open_run("runs/mine")
        assert resumed.step == 8 and resumed.metrics[-1]["step"] == 8
        assert namespace["best"].step in (4, 8)
        assert "weight_ih_l0" in np.load(in_a_new_folder / "mine.npz")
        assert '[model]\ncell = "lstm"\nhidden_size = 16\n' in printed  # print(config)
    if 'make_cell("lstm"' in code:
        assert namespace["output"].shape == (4, 32)
        assert [tuple(s.shape) for s in namespace["state"]] == [(4, 32), (4, 32)]
    if "trainer.fit(" in code:  # the loss falls, as README's output shows
        losses = [float(found) for found in re.findall(r"loss (\d+\.\d+)", printed)]
        assert len(losses) == 2 and losses[1] < losses[0] - 1.0, printed
    if "seqkit.keras.RNN" in code:
        assert tuple(namespace["model"](np.ones([3, 5], np.int32)).shape) == (3, 2)


def test_the_tbptt_snippet_is_the_example_file():
    (code,) = [code for _, code in SNIPPETS if "trainer.fit(" in code]
    example = (ROOT / "examples" / "tbptt_quickstart.py").read_text(encoding="utf-8")
    assert example.endswith(code), "README's TBPTT snippet and examples/tbptt_quickstart.py differ"
