"""The bad-input matrix, second round: links inside a run directory, --out folders that are no
place for a run, resumes that cannot apply, numbers out of range, paths the operating system
refuses. Each case gets one or two lines, a non-zero exit, no traceback, the run directory as it
was, nothing new, and not a byte written outside (``tests/bad_input_matrix.py``).

    .venv/bin/python -m pytest tests/test_bad_links_and_bounds.py -q
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from bad_input_matrix import Case, Context, check_case  # noqa: E402

LINK = (r"'.*{name}' is a symbolic link inside the run directory: a run's files are never links, "
        r"so it is damaged; remove the link \(restore the file\) and try again\.")  # fmt: skip
LONG = "x" * 300


def _link(name: str, target: str, *, keep: bool = False):
    """A case's args: ``name`` in the run replaced by a link to ``target`` beside the run (a
    copy of the original there, unless the target is left dangling), then a resume."""

    def args(ctx: Context) -> list[str]:
        inside, outside = ctx.run / name, ctx.tmp / target
        if keep and inside.is_dir():
            shutil.copytree(inside, outside)
        elif keep:
            shutil.copy(inside, outside)
        if inside.exists():
            shutil.rmtree(inside) if inside.is_dir() else inside.unlink()
        os.symlink(outside, inside)
        return ctx.resume("train.steps=8")

    return args


def _planted(name: str):
    """A resume with ``name`` in the run planted as a link to a victim file beside the run."""

    def args(ctx: Context) -> list[str]:
        os.symlink(ctx.file("victim.txt", "the user's own file\n"), ctx.run / name)
        return ctx.resume("train.steps=8")

    return args


def _edit_json(name: str, change):
    def args(ctx: Context) -> list[str]:
        path = ctx.run / name
        path.write_text(json.dumps(change(json.loads(path.read_text()))))
        return ctx.resume("train.steps=8")

    return args


def _user_folder(ctx: Context) -> list[str]:
    folder = ctx.tmp / "mine"
    folder.mkdir()
    for name in ("metrics.csv", "task.json", "samples.txt"):
        (folder / name).write_text("the user's own\n")
    return ["run", *ctx.train()[1:-1], str(folder)]


def _nested(depth: int) -> str:
    return "[task]\nx = " + "[" * depth + "]" * depth + "\n"


def _without_output_size(info: dict) -> dict:
    info["model_dims"].pop("output_size")
    return info


def _string_size(info: dict) -> dict:
    info["model_dims"]["vocab_size"] = str(info["model_dims"]["vocab_size"])
    return info


def _permuted(vocabulary: dict) -> dict:
    return {**vocabulary, "tokens": vocabulary["tokens"][::-1]}


CASES = [
    # -- links inside a run directory are damage, never followed -------------------------------
    Case("link-as-temporary-config", _planted(".config.toml.tmp"),
         LINK.format(name=r"\.config\.toml\.tmp")),
    Case("link-as-temporary-plot", _planted(".loss.png.tmp"),
         LINK.format(name=r"\.loss\.png\.tmp")),
    Case("link-samples-dangling", _link("samples.txt", "gone.txt"),
         LINK.format(name="samples.txt")),
    Case("link-metrics", _link("metrics.csv", "metrics.csv", keep=True),
         LINK.format(name="metrics.csv")),
    Case("link-config", _link("config.toml", "config.toml", keep=True),
         LINK.format(name="config.toml")),
    Case("link-tensorboard", _link("tensorboard", "board", keep=True),
         LINK.format(name="tensorboard")),
    Case("link-checkpoints-last", _link("checkpoints/last", "last", keep=True),
         LINK.format(name="checkpoints/last")),
    Case("link-sampled-run",
         lambda c: [_link("vocab.json", "v.json", keep=True)(c), "sample", str(c.run)][1:],
         LINK.format(name="vocab.json")),
    # -- --out must be a new or empty folder ----------------------------------------------------
    Case("out-root", lambda c: c.train()[:-1] + ["/"],
         r"--out '/' holds other files \(.*\); give a new or empty directory for the run, so that "
         r"nothing of yours is overwritten\."),
    Case("out-with-the-users-files", _user_folder,
         r"--out '.*mine' holds other files \(metrics\.csv, samples\.txt, task\.json\); give a new "
         r"or empty directory"),
    Case("out-under-a-file", lambda c: c.train()[:-1] + [str(c.file("f", "x") / "run")],
         r"Cannot make the run in '.*f/run': a part of the path is a file, not a folder; give "
         r"another path or fix that\."),
    Case("out-refused-by-the-system", lambda c: c.train()[:-1] + ["/sys/seqkit-run"],
         r"Cannot make the run (directory|in) '/sys/seqkit-run': (permission denied|the file "
         r"system is read-only); give another path or fix that\."),
    Case("out-too-long", lambda c: c.train()[:-1] + [str(c.tmp / LONG)],
         r"Cannot use '.*\.\.\..*': the path is too long; give another path or fix that\."),
    # -- paths the operating system refuses -----------------------------------------------------
    Case("config-path-too-long", lambda c: ["run", str(c.tmp / (LONG + ".toml"))],
         r"The config file '.*' cannot be read \(File name too long\); check it\."),
    Case("resume-path-too-long", lambda c: ["run", "--resume", str(c.tmp / LONG)],
         r"Cannot use '.*': the path is too long"),
    Case("sample-path-too-long", lambda c: ["sample", str(c.tmp / LONG)],
         r"Cannot use '.*': the path is too long"),
    Case("config-is-a-device", lambda c: ["run", "/dev/zero"],
         r"The config file '/dev/zero' is not a TOML file of at most 1,000,000 bytes \(a device, a "
         r"pipe or a large file\); give a TOML file\."),
    Case("config-nested-too-deeply", lambda c: ["run", str(c.file("deep.toml", _nested(700)))],
         r"'.*deep\.toml' nests arrays or tables too deeply to be a config; a config holds single "
         r"values under \[section\] headers\."),
    Case("set-nested-too-deeply", lambda c: c.train("model.hidden_size=" + "[" * 700 + "]" * 700),
         r"Config key 'model\.hidden_size' must be an integer \(like 256\), got '\[\[\["),
    Case("export-into-a-missing-folder",
         lambda c: ["export", str(c.run), "--format", "torch", str(c.tmp / "missing" / "m.npz")],
         r"The folder '.*missing' of '.*m\.npz' does not exist; make it first or give another "
         r"path\."),
    Case("export-under-a-file",
         lambda c: ["export", str(c.run), "--format", "saved_model", str(c.file("f", "x") / "out")],
         r"'.*f' \(the folder of '.*out'\) is a file, not a folder; give another path\."),
    # -- a resume that cannot apply is refused before anything is written -----------------------
    Case("resume-other-batch-size", lambda c: c.resume("train.batch_size=16"),
         r"--resume cannot change 'train\.batch_size': the checkpoints hold that model, data and "
         r"schedule"),
    Case("resume-fewer-steps", lambda c: c.resume("train.steps=2"),
         r"train\.steps = 2 is below the run's step 4: a run cannot go back; give train\.steps of "
         r"4 or more \(more to train further\)\."),
    Case("resume-other-truncation", lambda c: c.resume("train.k1=4"),
         r"--resume cannot change 'train\.k1'"),
    Case("resume-another-runs-metrics",
         lambda c: [(c.run / "metrics.csv").write_text("step,loss\n1,2\n"),
                    *c.resume("train.steps=8")][1:],
         r"'.*metrics\.csv' has the columns step,loss, but this run writes step,train_loss,.*: it "
         r"is another run's file; restore the run's own metrics\.csv or start a new run\."),
    Case("task-json-without-output-size", _edit_json("task.json", _without_output_size),
         r"'.*task\.json' lacks output_size, or both vocab_size and input_size: the run directory "
         r"is damaged; restore the file or start a new run\."),
    Case("task-json-string-size", _edit_json("task.json", _string_size),
         r"'.*task\.json' gives model_dims\.vocab_size = '\d+', not a positive integer: the run "
         r"directory is damaged"),
    Case("run-json-newer-without-writer", _edit_json("run.json", lambda r: {"format": 99}),
         r"The run '.*run' was written by a newer seqkit in run format 99; this seqkit reads "
         r"formats up to 2: upgrade seqkit to read it\."),
    Case("vocab-json-permuted", _edit_json("vocab.json", _permuted),
         r"'.*vocab\.json' is not the vocabulary this run trained with \(its tokens or their order "
         r"changed, task\.json's fingerprint differs\), so every id would change meaning; restore "
         r"the run's own vocab\.json\."),
    # -- every number a user gives is bounded ------------------------------------------------------
    Case("train-seed-too-large", lambda c: c.train("train.seed=4294967296"),
         r"Config key 'train\.seed' must be at most 4,294,967,295, got 4294967296\."),
    Case("sample-seed-too-large", lambda c: c.train("sample.seed=9223372036854775808"),
         r"Config key 'sample\.seed' must be at most 9,223,372,036,854,775,807, got "
         r"9223372036854775808\."),
    Case("sample-length-too-large", lambda c: c.train("sample.length=1000001"),
         r"Config key 'sample\.length' must be at most 1,000,000, got 1000001\."),
    Case("hidden-size-too-large", lambda c: c.train("model.hidden_size=1000000"),
         r"Config key 'model\.hidden_size' must be at most 65,536, got 1000000\."),
    Case("sample-seed-option-too-large", lambda c: ["sample", str(c.run), "--seed", str(2**64)],
         r"--seed must be a whole number from 0 to 2\^63 - 1, got 18446744073709551616\."),
    Case("sample-length-option-too-large",
         lambda c: ["sample", str(c.run), "--length", str(10**12)],
         r"--length must be a whole number from 1 to 1,000,000, got 1000000000000; give e\.g\. "
         r"200\."),
    Case("sample-length-option-huge", lambda c: ["sample", str(c.run), "--length", str(10**9)],
         r"--length must be a whole number from 1 to 1,000,000"),
    Case("bench-size-out-of-memory",
         lambda c: ["bench", "--hidden-size", "200000", "--repeats", "1"],
         r"^Error: cell 'lstm' does not fit in memory at the sizes asked for "
         r"\(ResourceExhaustedError\); use smaller sizes\.$"),
    # -- the command line itself ---------------------------------------------------------------
    Case("unknown-option", lambda c: ["run", "--nope"],
         r"^Error: No such option '--nope'\. \(`seqkit run --help` lists them\)$"),
    Case("missing-argument", lambda c: ["sample"],
         r"^Error: Missing argument 'RUN'\. \(`seqkit sample --help` lists them\)$"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_input_gets_a_clear_answer(case, pristine_run, corpus, tmp_path, monkeypatch):
    check_case(case, pristine_run, corpus, tmp_path, monkeypatch)
