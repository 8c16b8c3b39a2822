"""The keys of a run config, their defaults, types and bounds, and the check of one value.

>>> import copy
>>> from seqkit.config.keys import DEFAULTS, set_value
>>> config = copy.deepcopy(DEFAULTS)
>>> set_value(config, "model.hidden_size", 512)  # checked: a positive int
>>> config["model"]["hidden_size"]
512
>>> set_value(config, "train.lr", "fast")
Traceback (most recent call last):
seqkit.errors.ConfigError: Config key 'train.lr' must be a number (like ...), got 'fast' (str).
>>> set_value(config, "model.hiden_size", 512)
Traceback (most recent call last):
seqkit.errors.ConfigError: Unknown config key 'model.hiden_size'.
Did you mean 'model.hidden_size'? ...
>>> set_value(config, "model.encoder", "bytes")
Traceback (most recent call last):
seqkit.errors.ConfigError: Config key 'model.encoder' must be one of 'auto', 'embedding', ...

Sections: task, model, train, sample. ``[task]`` holds ``name`` and the task's own options, and
``[model.cell_options]`` the cell's: this module stores those as given (a single value each),
and ``seqkit.config.options`` checks them against the task and the cell. Where TOML has no
"unset", the empty string or 0 stands for it: ``task.corpus = ""`` is the embedded corpus,
``train.k2 = 0`` means k2 = k1, ``train.clip_norm = 0`` means no clipping.
"""

from __future__ import annotations

import json
import math
from typing import Any

from seqkit.errors import ConfigError, closest_match
from seqkit.option_words import BRIDGES, ENCODERS, INITIAL_STATES, NONFINITE, PRECISIONS, STRATEGIES
from seqkit.validation import one_of

# The defaults train an LSTM on the embedded corpus (~465 KB) in about two minutes on two CPU
# cores with the native LSTM kernel (2,000 updates of 32 x 64; 2 min 6 s on README's quiet
# AMD EPYC Zen 2), to about 1.8 bits per character on
# the validation split: samples that read like Python's reference documentation.
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
        "tie_embeddings": False,  # the output layer reads with the embedding (needs E = H)
        "io_dropout": 0.0,  # on the first layer's inputs and the last's outputs (Zaremba 2014)
        "init_range": 0.0,  # every parameter drawn from U(-r, r); 0: each component's own
        "runner": "auto",  # the fastest installed runner that supports the cell
        "initial_state": "zeros",  # or "learned": a trained state at each sequence's start
        "bidirectional": False,  # a backward stack too (classify, tag; seq2seq's encoder)
        "cell_options": {},  # the cell's own options (its constructor's keyword arguments)
        # An encoder-decoder's (task seq2seq): Luong dot attention over the encoder's outputs,
        # how the encoder's final state starts the decoder, the encoder's cell ("": model.cell)
        "attention": False,
        "bridge": "copy",
        "encoder_cell": "",
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
        # divide the rate by this after lr_plateau_patience validations in a row without a new
        # best validation loss (SGD on words: 4 as PyTorch's word_language_model); 1: never
        "lr_plateau_factor": 1.0,
        "lr_plateau_patience": 1,  # 1: every validation that is not a new best divides
        "lr_min": 0.0,  # the plateau's divisions stop here; 0: no floor
        "clip_norm": 5.0,  # as char-rnn; 0: no clipping
        "nonfinite": "stop",  # a NaN or infinite loss stops the run; "skip": skip that update
        # "mixed_bfloat16": bfloat16 maths, float32 variables and optimizer state (Keras' name);
        # fast only where the CPU has bfloat16 instructions (AMX, AVX512_BF16)
        "precision": "float32",
        "seed": 0,
        "eval_every": 500,  # validation, a metrics row and a short sample
        "checkpoint_every": 500,
        "log_every": 20,  # a training row in metrics.csv, TensorBoard and the progress line
        "distribute": "none",  # "none", "mirrored" (local devices) or "multi-worker" (TF_CONFIG)
        "cpu_devices": 0,  # split the CPU into this many logical devices; 0: leave it whole
    },
    "sample": {
        "length": 600,  # characters of the final sample (a fifth of it at each validation)
        "temperature": 0.8,
        "prime": "",  # "": start from a newline
        "seed": 0,
        "beam_width": 1,  # decoding (seq2seq, transcribe): 1 is greedy, more a beam search
    },
}

# Sections whose keys are a component's own options, checked by seqkit.config.options.
OPEN_TABLES = {"model.cell_options"}
MAX_SAMPLE_LENGTH = 1_000_000  # tokens one sample may hold: ~1 MB of text, a minute or so
SEED_LIMIT = 2**32  # NumPy's and Keras' seeds are below 2^32
# An int is accepted where a float is expected; nothing else is converted.
_ACCEPTS = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}
# Bounds of numbers: (least, most), most None for no upper bound. The others are at least 0.
_BOUNDS = {
    "model.hidden_size": (1, 65_536),
    "model.num_layers": (1, 64),
    "model.embedding_size": (1, 65_536),
    "train.steps": (1, 10**9),
    "train.batch_size": (1, 65_536),
    "train.k1": (1, 10**9),
    "train.k2": (0, 10**9),
    "train.lr_decay_every": (1, 10**9),
    "train.lr_plateau_patience": (1, 10**9),
    "train.eval_every": (1, 10**9),
    "train.checkpoint_every": (1, 10**9),
    "train.log_every": (1, 10**9),
    "train.cpu_devices": (0, 256),
    "train.seed": (0, SEED_LIMIT - 1),
    "sample.length": (1, MAX_SAMPLE_LENGTH),
    "sample.seed": (0, 2**63 - 1),
    "sample.beam_width": (1, 256),
}
# Keys whose value must lie in an interval: the test and what the message says.
_RANGES = {
    "model.dropout": (lambda v: 0 <= v < 1, "at least 0 and below 1"),
    "model.io_dropout": (lambda v: 0 <= v < 1, "at least 0 and below 1"),
    "train.lr": (lambda v: v > 0, "above 0"),
    "train.lr_decay": (lambda v: 0 < v <= 1, "above 0 and at most 1"),
    "train.lr_plateau_factor": (lambda v: v >= 1, "at least 1 (1: the rate is never divided)"),
}
# Keys that take one of a few words (seqkit.option_words). The config's encoder adds "auto" (the
# task's choice) and "none" for the model's None (dense inputs).
_CHOICES = {
    "model.encoder": ("auto", *(name for name in ENCODERS if name), "none"),
    "model.initial_state": INITIAL_STATES,
    "model.bridge": BRIDGES,
    "train.distribute": STRATEGIES,
    "train.nonfinite": NONFINITE,
    "train.precision": PRECISIONS,
}
_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def known_keys() -> list[str]:
    """Every key as ``section.key``."""
    return [f"{s}.{k}" for s, keys in DEFAULTS.items() for k in keys]


def unknown_key(key: str) -> ConfigError:
    near = closest_match(key, known_keys())
    hint = f" Did you mean {near!r}?" if near else ""
    return ConfigError(
        f"Unknown config key {key!r}.{hint} `seqkit config` prints every key with its default."
    )


def set_value(config: dict, key: str, value: Any) -> None:
    """Set ``section.key`` (or ``model.cell_options.name``) to ``value``, checked."""
    section, _, name = key.partition(".")
    table, _, option = name.partition(".")
    if section == "task" and name and name not in DEFAULTS["task"]:
        check_scalar(key, value)
        config["task"][name] = value  # a task option: the task checks it (seqkit.config.options)
        return
    if f"{section}.{table}" in OPEN_TABLES and option:
        check_scalar(key, value)
        config[section][table][option] = value  # a cell option: the cell checks it
        return
    if section not in DEFAULTS or name not in DEFAULTS[section] or isinstance(value, dict):
        if f"{section}.{name}" in OPEN_TABLES and isinstance(value, dict):
            for option, item in value.items():
                set_value(config, f"{key}.{option}", item)
            return
        raise unknown_key(key)
    config[section][name] = checked(key, value, DEFAULTS[section][name])


def checked(key: str, value: Any, default: Any) -> Any:
    """``value`` for ``key`` converted to the default's type, or a ConfigError naming the key."""
    expected = type(default)
    if isinstance(default, dict):
        raise ConfigError(f"Config key {key!r} is a table; give its keys as {key}.NAME = VALUE.")
    is_bool = isinstance(value, bool)
    if (is_bool and expected is not bool) or not isinstance(value, _ACCEPTS[expected]):
        raise ConfigError(
            f"Config key {key!r} must be {_TYPE_NAMES[expected]} "
            f"(like {json.dumps(default)}), got {value!r} ({type(value).__name__})."
        )
    check_scalar(key, value)
    if expected in (int, float):
        least, most = _BOUNDS.get(key, (0, None))
        if not value >= least:
            raise ConfigError(f"Config key {key!r} must be at least {least}, got {value!r}.")
        if most is not None and value > most:
            raise ConfigError(f"Config key {key!r} must be at most {most:,}, got {value!r}.")
    if key in _CHOICES:
        one_of(f"Config key {key!r}", value, _CHOICES[key], error=ConfigError)
    if key in _RANGES:
        inside, words = _RANGES[key]
        if not inside(value):
            raise ConfigError(f"Config key {key!r} must be {words}, got {value!r}.")
    return expected(value)


def check_scalar(key: str, value: Any) -> None:
    """One value: a number must be finite, a string valid Unicode (one that a file can hold);
    a list or table is no option value."""
    if isinstance(value, list | dict):
        raise ConfigError(
            f"Config key {key!r} must be one value (text, a number or true/false), got "
            f"a {'list' if isinstance(value, list) else 'table'}."
        )
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
