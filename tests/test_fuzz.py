"""Property-based tests: any config text, any ``--set`` override and any corpus file gives a
result or a ``SeqkitError``, never another exception; a config that loads is written back as
TOML that reads the same.

    .venv/bin/python -m pytest tests/test_fuzz.py -q

Bounded in time: a fixed number of examples each, no deadline per example (the first one loads
the plugins), derandomized so that CI sees the same examples every run.
"""

from __future__ import annotations

import tempfile
import tomllib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqkit.config.files import dumps, load_config
from seqkit.config.keys import known_keys
from seqkit.errors import SeqkitError

BOUNDED = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# Keys seqkit knows, near misses and task options, so that examples reach the type checks.
KEYS = st.sampled_from([*known_keys(), "model.hiden_size", "task.corpus", "task.length", "x.y"])
LITERALS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(f), repr(f))
    ),
    st.sampled_from(["true", "false", "[]", "[1, 2]", "{a = 1}", "1979-05-27", '""', "gru"]),
    st.text(max_size=12).map(lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.text(max_size=12),  # not a TOML literal: a string to --set, a syntax error in a file
)


def _toml_lines() -> st.SearchStrategy[str]:
    section = st.sampled_from(["task", "model", "train", "sample", "modle", "train.sub"])
    line = st.one_of(
        section.map(lambda s: f"[{s}]"),
        st.tuples(KEYS.map(lambda k: k.split(".", 1)[1]), LITERALS).map(lambda kv: " = ".join(kv)),
        st.text(max_size=20),
    )
    return st.lists(line, max_size=8).map("\n".join)


def _loads_or_refuses(path: Path | None, overrides: list[str]) -> None:
    try:
        config = load_config(path, overrides)
    except SeqkitError:
        return
    assert tomllib.loads(dumps(config)) == config  # config.toml reads back the same


@BOUNDED
@given(text=st.one_of(_toml_lines(), st.text(max_size=200)))
def test_any_config_file_loads_or_is_refused(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _loads_or_refuses(path, [])


@BOUNDED
@given(raw=st.binary(max_size=200))
def test_any_bytes_as_a_config_file_load_or_are_refused(raw):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.toml"
        path.write_bytes(raw)
        _loads_or_refuses(path, [])


@BOUNDED
@given(
    overrides=st.lists(
        st.one_of(st.tuples(KEYS, LITERALS).map(lambda kv: "=".join(kv)), st.text(max_size=30)),
        max_size=4,
    )
)
def test_any_override_loads_or_is_refused(overrides):
    _loads_or_refuses(None, overrides)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)),
    name=st.text(min_size=1, max_size=10).filter(lambda n: "/" not in n and n not in (".", "..")),
    batch_size=st.integers(min_value=1, max_value=8),
    val_fraction=st.one_of(st.floats(min_value=-1, max_value=2), st.just(0.1)),
)
def test_any_corpus_loads_or_is_refused(content, name, batch_size, val_fraction):
    import seqkit

    with tempfile.TemporaryDirectory() as folder:
        try:
            path = Path(folder) / name
            path.write_bytes(content)
        except (OSError, ValueError, UnicodeEncodeError):
            path = Path(folder) / name  # a name the file system refuses: a missing corpus
        try:
            task = seqkit.make_task("char-lm", corpus=str(path), val_fraction=val_fraction)
            task.train_batches(batch_size)
            task.eval_batches(batch_size)
        except SeqkitError:
            pass
