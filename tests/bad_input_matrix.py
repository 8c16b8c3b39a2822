"""The bad-input matrix's machinery: a tiny run to damage, a context for each case, and the
check every case must pass: one or two lines that say what is wrong and how to fix it, a
non-zero exit code, no traceback, an existing run directory left exactly as it was, no new run,
and no byte written outside.

The case tables are tests/test_bad_inputs.py (config, corpus, run directory, sample, plugins)
and tests/test_bad_links_and_bounds.py (links, --out, resume, bounds, paths).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from seqkit.cli.main import cli

TINY = [
    "model.hidden_size=16",
    "model.embedding_size=8",
    "model.runner=graph",
    "train.steps=4",
    "train.batch_size=8",
    "train.k1=8",
    "train.eval_every=2",
    "train.checkpoint_every=2",
    "sample.length=10",
]


def sets(pairs):
    return [arg for pair in pairs for arg in ("--set", pair)]


def make_pristine_run(corpus: Path, out: Path) -> Path:
    result = CliRunner().invoke(
        cli, ["run", *sets([f"task.corpus={corpus}", *TINY]), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


@dataclass
class Context:
    tmp: Path
    run: Path  # a fresh copy of a finished run, that a case may change before it runs
    corpus: Path

    def new(self) -> str:
        return str(self.tmp / "new")  # a run directory that must not appear

    def train(self, *pairs: str) -> list[str]:
        """``seqkit run`` of a new tiny run with ``pairs`` as --set overrides."""
        return ["run", *sets([f"task.corpus={self.corpus}", *TINY, *pairs]), "--out", self.new()]

    def file(self, name: str, content: str | bytes) -> Path:
        path = self.tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path

    def edit(self, name: str, change: Callable[[str], str]) -> None:
        path = self.run / name
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")

    def resume(self, *pairs: str) -> list[str]:
        return ["run", "--resume", str(self.run), *sets(pairs)]


@dataclass
class Case:
    id: str
    args: Callable[[Context], list[str]]
    message: str  # a regular expression, searched in the output
    setup: Callable | None = None


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder`` (links not followed): a link's target, a file's hash."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            key = str(path.relative_to(folder))
            if path.is_symlink():
                found[key] = "-> " + os.readlink(path)
            elif path.is_file():
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def check_case(case: Case, pristine_run: Path, corpus: Path, tmp_path: Path, monkeypatch) -> None:
    """Run ``case`` against a fresh copy of the pristine run and check what every case must."""
    run = tmp_path / "run"
    shutil.copytree(pristine_run, run, symlinks=True)
    work = tmp_path / "work"
    work.mkdir()
    ctx = Context(work, run, corpus)
    if case.setup is not None:
        case.setup(ctx, monkeypatch)
    args = [str(a) for a in case.args(ctx)]  # may damage the copy, as the case needs
    before, outside = snapshot(run), snapshot(work)
    result = CliRunner().invoke(cli, args)
    output = result.output
    assert result.exit_code != 0, output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # no other error
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert 1 <= len(lines) <= 2, output
    assert re.search(case.message, output), output
    assert snapshot(run) == before  # the run directory is as it was
    assert snapshot(work) == outside  # nothing written next to it, through a link or not
    assert not (work / "new" / "config.toml").exists()  # no run was started


def forget_fake_modules() -> None:
    for name in [name for name in sys.modules if name.startswith("fake_seqkit_")]:
        del sys.modules[name]
