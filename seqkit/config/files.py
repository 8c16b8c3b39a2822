"""A run's config: ``load_config`` reads and checks it, ``Config`` holds it.

>>> import seqkit
>>> config = seqkit.load_config(overrides=["model.hidden_size=512", "train.lr=1e-3"])
>>> config["model"]["hidden_size"], config["train"]["lr"]
(512, 0.001)
>>> print(config)  # the resolved TOML, every default included
[task]
name = "char-lm"
corpus = ""
...
[model]
cell = "lstm"
hidden_size = 512
...
>>> config == seqkit.load_config(config.to_dict())  # compares by value
True
>>> config.changed_keys(seqkit.load_config())  # the keys that differ from the defaults
['model.hidden_size', 'train.lr']

``source`` may also be a TOML file's path: ``seqkit.load_config("run.toml", overrides=[...])``.

A config is resolved exactly as ``seqkit run`` resolves it: the defaults
(``seqkit.config.keys``), then a TOML file or a dict, then ``--set``-style overrides, then the
task's recommended values (``Task.recommended``) for the keys none of those set, then the task's
and the cell's own options checked against their factories, with their defaults filled in
(``seqkit.config.options``). An override's value is read as a TOML literal where it parses (``512``,
``1e-3``, ``true``, ``"text"``), else as a plain string (``model.cell=gru``). An unknown section
or key, or a value of the wrong type, is a ``ConfigError`` that names the key and the closest
known one.
"""

from __future__ import annotations

import copy
import os
import stat
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import tomli_w

from seqkit.config.keys import DEFAULTS, set_value
from seqkit.errors import ConfigError, closest_match

MAX_CONFIG_BYTES = 1_000_000  # a config is a few hundred bytes; anything this big is no config


def _frozen(value):
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    return value


def _thawed(value):
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    return copy.deepcopy(value)


class Config(Mapping):
    """A resolved run config: sections ``task``, ``model``, ``train``, ``sample`` of read-only
    mappings. Prints as TOML (``str(config)``), compares by value with a Config or a dict."""

    def __init__(self, sections: Mapping[str, Mapping[str, Any]]):
        self._sections = _frozen(sections)

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        return self._sections[section]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sections)

    def __len__(self) -> int:
        return len(self._sections)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return self.to_dict() == _thawed(other)

    __hash__ = None  # a mapping compared by value

    def __str__(self) -> str:
        return dumps(self)

    def __repr__(self) -> str:
        return f"Config({self.to_dict()!r})"

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """A plain, mutable deep copy."""
        return _thawed(self._sections)

    def with_overrides(self, overrides: Iterable[str]) -> Config:
        """This config with ``"key=value"`` overrides applied, resolved again."""
        return load_config(self, overrides)

    def changed_keys(self, other: Mapping) -> list[str]:
        """The ``section.key`` names whose values differ between this config and ``other``."""
        mine, theirs = self.to_dict(), _thawed(other)
        return [
            f"{section}.{key}"
            for section in sorted(set(mine) | set(theirs))
            for key in sorted(set(mine.get(section, {})) | set(theirs.get(section, {})))
            if mine.get(section, {}).get(key) != theirs.get(section, {}).get(key)
        ]


def merge(config: dict, data: Mapping, source: str, given: set[str] | None = None) -> None:
    """Set every key of a parsed TOML document (or dict) ``data``; add each to ``given``."""
    for section, keys in data.items():
        if not isinstance(keys, Mapping):
            raise ConfigError(
                f"{source}: {section!r} must be a section like [{section}], got a value; "
                f"the sections are {', '.join(DEFAULTS)}."
            )
        if section not in DEFAULTS:
            near = closest_match(section, DEFAULTS)
            hint = f" Did you mean [{near}]?" if near else ""
            raise ConfigError(
                f"{source}: unknown config section [{section}].{hint} "
                f"The sections are {', '.join(DEFAULTS)}."
            )
        for name, value in keys.items():
            set_value(config, f"{section}.{name}", value)
            if given is not None:
                given.add(f"{section}.{name}")


def parse_override(text: str) -> tuple[str, Any]:
    """``"key=value"`` -> ``(key, value)``, the value a TOML literal where it parses, else the
    text as given.

    >>> parse_override("model.hidden_size=512")
    ('model.hidden_size', 512)
    >>> parse_override("train.lr = 1e-3")
    ('train.lr', 0.001)
    >>> parse_override("model.cell=gru")  # no TOML literal: a string
    ('model.cell', 'gru')
    >>> parse_override("model.hidden_size")
    Traceback (most recent call last):
    seqkit.errors.ConfigError: --set takes KEY=VALUE (like model.hidden_size=512), got ...
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set takes KEY=VALUE (like model.hidden_size=512), got {text!r}.")
    raw = raw.strip()
    try:
        value = parse_toml(f"v = {raw}", "--set")["v"]
    except ConfigError:
        value = raw
    return key, value


def read_config_file(path: str | Path) -> str:
    """The text of a config file: a regular UTF-8 file (a leading byte-order mark dropped) of at
    most ``MAX_CONFIG_BYTES``."""
    path = Path(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError(f"The config file {str(path)!r} is a directory; give a TOML file.")
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"The config file {str(path)!r} is not a TOML file of at most "
                f"{MAX_CONFIG_BYTES:,} bytes (a device, a pipe or a large file); give a TOML file."
            )
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            f"The config file {str(path)!r} does not exist; check the path "
            "(`seqkit config` prints a full config to start from)."
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"The config file {str(path)[:200]!r} cannot be read ({exc.strerror}); check it."
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"The config file {str(path)!r} is not UTF-8 text (byte {exc.start}); give a TOML file."
        ) from None


def parse_toml(text: str, source: str) -> dict:
    """A TOML document as data (never evaluated); a ConfigError that names the line where it
    is not TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"The config file {source!r} is not valid TOML ({exc}); fix that line, "
            "e.g. key = value under a [section]."
        ) from None
    except RecursionError:
        raise ConfigError(
            f"{source!r} nests arrays or tables too deeply to be a config; a config holds "
            "single values under [section] headers."
        ) from None


def raw_config(source=None, overrides: Iterable[str] = ()) -> tuple[dict, set[str]]:
    """The defaults, updated from ``source`` (a TOML path, a mapping, or None), then from the
    ``overrides``: checked key by key, but the task's and cell's options not yet resolved.
    Returns the config and the keys that the source and the overrides set."""
    config, given = copy.deepcopy(DEFAULTS), set()
    if isinstance(source, Mapping):
        merge(config, _thawed(source), "the config", given)
    elif source is not None:
        if not isinstance(source, str | os.PathLike):
            raise ConfigError(
                f"A config is a TOML file's path, a dict or None, got {type(source).__name__}."
            )
        merge(config, parse_toml(read_config_file(source), str(source)), str(source), given)
    if isinstance(overrides, str):
        raise ConfigError("overrides is a list of 'key=value' strings, not one string.")
    for text in overrides:
        key, value = parse_override(text)
        set_value(config, key, value)
        given.add(key)
    return config, given


def apply_recommended(config: dict, given: set[str]) -> None:
    """The task's recommended values (``Task.recommended``) for the keys nobody set."""
    from seqkit.plugins.registry import default_registry

    factory = default_registry().get("task", config["task"]["name"]).factory
    for key, value in dict(getattr(factory, "recommended", {})).items():
        if key not in given:
            set_value(config, key, value)


def load_config(source=None, overrides: Iterable[str] = ()) -> Config:
    """The run config of ``source`` (a TOML file's path, a dict or Config, or None for the
    defaults) with ``overrides`` (``"key=value"`` strings) applied, resolved and checked as
    ``seqkit run`` does: the task's and the cell's options included."""
    from seqkit.config.options import resolve_cell_options, resolve_task_section

    config, given = raw_config(source, overrides)
    apply_recommended(config, given)
    config["task"] = resolve_task_section(config["task"])
    model = config["model"]
    model["cell_options"] = resolve_cell_options(model["cell"], model["cell_options"])
    return Config(config)


def dumps(config: Mapping) -> str:
    """The config as TOML, written by ``tomli_w``: one table after another, each sub-table
    after its table's own keys. An option still ``REQUIRED`` has no value to write: it is the
    comment ``# key = ...  (required: the component has no default)`` after its table's keys."""
    return "\n".join(_table_text((section,), keys) for section, keys in config.items())


def _table_text(path: tuple[str, ...], table: Mapping[str, Any]) -> str:
    """The TOML of the table at ``path`` (its header and own keys), then of its sub-tables."""
    from seqkit.config.options import REQUIRED

    own: dict[str, Any] = {
        key: value
        for key, value in table.items()
        if value is not REQUIRED and not isinstance(value, Mapping)
    }
    for name in reversed(path):  # tomli_w writes the header of the innermost table only
        own = {name: own}
    text = tomli_w.dumps(own) + "".join(
        f"# {key} = ...  (required: the component has no default)\n"
        for key, value in table.items()
        if value is REQUIRED
    )
    subtables = [_table_text((*path, k), v) for k, v in table.items() if isinstance(v, Mapping)]
    return "\n".join([text, *subtables])
