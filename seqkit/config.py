"""The run config: sections task, model, train and sample, each key typed and with a default.

    config = load_config("run.toml", overrides=["model.hidden_size=512", "train.lr=1e-3"])
    config["model"]["hidden_size"]        # 512
    print(dumps(config))                  # the resolved TOML, defaults included

An override's value is read as a TOML literal where it parses (``512``, ``1e-3``, ``true``,
``"text"``), else as a plain string (``model.cell=gru``). An unknown section or key, or a value
of the wrong type, is a ``ConfigError`` that names the key and the closest known one.

Where TOML has no "unset", the empty string or 0 stands for it: ``task.corpus = ""`` is the
embedded corpus, ``train.k2 = 0`` means k2 = k1, ``train.clip_norm = 0`` means no clipping.

The ``[task]`` section holds ``name`` and the task's own options, which this module stores as
given; ``seqkit.task_options`` checks them against the task and adds its defaults.
"""

from __future__ import annotations

import copy
import json
import math
import tomllib
from pathlib import Path
from typing import Any

from seqkit.errors import ConfigError, closest_match

# The defaults train an LSTM on the embedded corpus (~465 KB) in under two minutes on two CPU
# cores with the fused runner (~48,000 characters a second: 2,000 updates of 32 x 64), to
# about 1.8 bits per character on the validation split: samples that read like Python's
# reference documentation.
DEFAULTS: dict[str, dict[str, Any]] = {
    # The other keys of [task] are the task's own options (its constructor's keyword
    # arguments, with its defaults): char-lm's are corpus ("": the embedded corpus) and
    # val_fraction. `seqkit config --set task.name=adding` prints another task's.
    "task": {
        "name": "char-lm",
    },
    "model": {
        "cell": "lstm",
        "hidden_size": 256,  # the largest that trains in the time budget on 2 cores
        "num_layers": 1,  # one layer learns fastest in a 3-minute budget
        "dropout": 0.0,  # between layers only; no need with one layer and ~12 epochs
        "encoder": "auto",  # "embedding" or "onehot" for ids, "none" for dense inputs
        "embedding_size": 64,
        "runner": "auto",  # the fastest installed runner that supports the cell
        "initial_state": "zeros",  # or "learned": a trained state at each sequence's start
        "bidirectional": False,  # a backward stack too (classify, tag); never for prediction
    },
    "train": {
        "steps": 2000,  # validation loss levels off near here on the embedded corpus
        "batch_size": 32,  # parallel streams
        "truncation": "auto",  # the task's: tbptt for streams, bptt for whole sequences
        "loss": "auto",  # the task's (cross-entropy for classes, mse for values), or a name
        "k1": 64,  # an update every 64 characters
        "k2": 0,  # back-propagate through the last k2 steps; 0: k2 = k1
        "optimizer": "adam",
        "lr": 0.003,  # Adam at 3e-3 with clipping is stable for a char-LSTM and fast
        "lr_decay": 1.0,  # the rate is multiplied by this every lr_decay_every updates; 1: none
        "lr_decay_every": 1000,
        "clip_norm": 5.0,  # as char-rnn; 0: no clipping
        "nonfinite": "stop",  # a NaN or infinite loss stops the run; "skip": skip that update
        "seed": 0,
        "eval_every": 500,  # validation, a metrics row and a short sample
        "checkpoint_every": 500,
        "log_every": 20,  # progress and TensorBoard every 20 updates
        "distribute": "none",  # "none", "mirrored" (local devices) or "multi-worker" (TF_CONFIG)
        "cpu_devices": 0,  # split the CPU into this many logical devices; 0: leave it whole
    },
    "sample": {
        "length": 600,  # characters of the final sample (a fifth of it at each validation)
        "temperature": 0.8,
        "prime": "",  # "": start from a newline
        "seed": 0,
    },
}

# An int is accepted where a float is expected; nothing else is converted.
_ACCEPTS = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}
# Keys whose value must be at least 1 (the others that are numbers must be at least 0).
_POSITIVE = {
    "model.hidden_size",
    "model.num_layers",
    "model.embedding_size",
    "train.steps",
    "train.batch_size",
    "train.k1",
    "train.lr_decay_every",
    "train.eval_every",
    "train.checkpoint_every",
    "train.log_every",
}
# Keys whose value must lie in an interval: the test and what the message says.
_RANGES = {
    "model.dropout": (lambda v: 0 <= v < 1, "at least 0 and below 1"),
    "train.lr": (lambda v: v > 0, "above 0"),
    "train.lr_decay": (lambda v: 0 < v <= 1, "above 0 and at most 1"),
}
# Keys that take one of a few words.
_CHOICES = {
    "model.encoder": ("auto", "embedding", "onehot", "none"),
    "model.initial_state": ("zeros", "learned"),
    "train.distribute": ("none", "mirrored", "multi-worker"),
    "train.nonfinite": ("stop", "skip"),
}
_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def default_config() -> dict[str, dict[str, Any]]:
    """A fresh copy of the defaults."""
    return copy.deepcopy(DEFAULTS)


def known_keys() -> list[str]:
    """Every key as ``section.key``."""
    return [f"{s}.{k}" for s, keys in DEFAULTS.items() for k in keys]


def _unknown(key: str) -> ConfigError:
    near = closest_match(key, known_keys())
    hint = f" Did you mean {near!r}?" if near else ""
    return ConfigError(
        f"Unknown config key {key!r}.{hint} `seqkit config` prints every key with its default."
    )


def set_value(config: dict, key: str, value: Any) -> None:
    """Set ``section.key`` to ``value``, checking the key and the value's type."""
    section, _, name = key.partition(".")
    if section == "task" and name and name not in DEFAULTS["task"]:
        check_scalar(key, value)
        config["task"][name] = value  # a task option: the task checks it (task_options.py)
        return
    if section not in DEFAULTS or name not in DEFAULTS[section]:
        raise _unknown(key)
    expected = type(DEFAULTS[section][name])
    is_bool = isinstance(value, bool)
    if (is_bool and expected is not bool) or not isinstance(value, _ACCEPTS[expected]):
        raise ConfigError(
            f"Config key {key!r} must be {_TYPE_NAMES[expected]} "
            f"(like {json.dumps(DEFAULTS[section][name])}), got {value!r} "
            f"({type(value).__name__})."
        )
    check_scalar(key, value)
    least = 1 if key in _POSITIVE else 0
    if expected in (int, float) and not value >= least:
        raise ConfigError(f"Config key {key!r} must be at least {least}, got {value!r}.")
    if key in _CHOICES and value not in _CHOICES[key]:
        words = ", ".join(repr(c) for c in _CHOICES[key])
        raise ConfigError(f"Config key {key!r} must be one of {words}; got {value!r}.")
    if key in _RANGES:
        inside, words = _RANGES[key]
        if not inside(value):
            raise ConfigError(f"Config key {key!r} must be {words}, got {value!r}.")
    config[section][name] = expected(value)


def check_scalar(key: str, value: Any) -> None:
    """A number must be finite, and a string valid Unicode (one that a file can hold)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"Config key {key!r} must be a finite number, got {value!r}.")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigError(
                f"Config key {key!r} holds text that is not valid Unicode ({value!r}); "
                "write it as UTF-8."
            ) from None


def merge(config: dict, data: dict, source: str) -> None:
    """Set every key of a parsed TOML document ``data``."""
    for section, keys in data.items():
        if not isinstance(keys, dict):
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


def parse_override(text: str) -> tuple[str, Any]:
    """``"key=value"`` -> ``(key, value)``, the value a TOML literal where it parses."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set takes KEY=VALUE (like model.hidden_size=512), got {text!r}.")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> dict:
    """The defaults, updated from the TOML file ``path`` (if any), then from ``overrides``."""
    config = default_config()
    if path is not None:
        path = Path(path)
        if path.is_dir():
            raise ConfigError(f"The config file {str(path)!r} is a directory; give a TOML file.")
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                f"The config file {str(path)!r} does not exist; check the path "
                "(`seqkit config` prints a full config to start from)."
            ) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"The config file {str(path)!r} is not UTF-8 text (byte {exc.start}); "
                "give a TOML file."
            ) from None
        except OSError as exc:
            raise ConfigError(
                f"The config file {str(path)!r} cannot be read ({exc.strerror}); check it."
            ) from None
        merge(config, parse_toml(text, str(path)), str(path))
    for text in overrides:
        set_value(config, *parse_override(text))
    return config


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


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # a JSON string is a TOML basic string, but for DEL
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    return repr(value)


def dumps(config: dict) -> str:
    """The config as TOML, one section after another."""
    lines = []
    for section, keys in config.items():
        lines.append(f"[{section}]")
        lines += [f"{name} = {_literal(value)}" for name, value in keys.items()]
        lines.append("")
    return "\n".join(lines)
