"""The ``[task]`` section of a config: the task's name and its own options, checked and with the
task's defaults filled in.

    section = resolve_task_section({"name": "adding", "length": 200})
    # {"name": "adding", "length": 200, "seed": 0, "train_size": ..., ...}
    task = build_task(section)

A task's options are the keyword arguments of its factory (its constructor), with their
defaults. A default of ``None`` is written ``""`` in the config (TOML has no null) and passed
back as ``None``. Options a factory lists in ``runtime_options`` (char-lm's ``vocabulary``, given
back from a run directory) are not config keys.
"""

from __future__ import annotations

import inspect
from typing import Any

from seqkit.errors import ConfigError, closest_match
from seqkit.interfaces import Task
from seqkit.registry import Registry, default_registry


def task_defaults(name: str, registry: Registry | None = None) -> dict[str, Any]:
    """The options of the task ``name`` and their defaults, as config values."""
    factory = (registry or default_registry()).get("task", name).factory
    hidden = set(getattr(factory, "runtime_options", ()))
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # a factory without a signature takes no config options
        return {}
    return {
        p.name: "" if p.default is None else p.default
        for p in parameters
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        and p.default is not p.empty
        and p.name not in hidden
    }


_SCALARS = (str, int, float, bool)  # what a config file can hold as one value


def _check_type(name: str, key: str, value: Any, default: Any) -> None:
    if default == "" or default is None:  # an optional value: the task checks it
        if not isinstance(value, _SCALARS):
            raise ConfigError(
                f"Task {name!r}: option {key!r} must be one value (text or a number), "
                f"got {value!r} ({type(value).__name__})."
            )
        return
    expected = type(default)
    accepted = (int, float) if expected is float else (expected,)
    if isinstance(value, bool) != (expected is bool) or not isinstance(value, accepted):
        raise ConfigError(
            f"Task {name!r}: option {key!r} must be like {default!r} "
            f"({expected.__name__}), got {value!r} ({type(value).__name__})."
        )


def resolve_task_section(section: dict[str, Any], registry: Registry | None = None) -> dict:
    """``section`` with every option of its task, defaults filled in; unknown options fail."""
    name = section["name"]
    defaults = task_defaults(name, registry)
    for key, value in section.items():
        if key == "name":
            continue
        if key not in defaults:
            near = closest_match(key, defaults)
            hint = f" Did you mean 'task.{near}'?" if near else ""
            known = ", ".join(defaults) or "none"
            raise ConfigError(
                f"Task {name!r} has no option {key!r}.{hint} Its options are: {known}."
            )
        _check_type(name, key, value, defaults[key])
    return {"name": name, **defaults, **{k: v for k, v in section.items() if k != "name"}}


def build_task(section: dict[str, Any], registry: Registry | None = None, **runtime) -> Task:
    """The task of a resolved ``[task]`` section; ``runtime`` adds options such as a
    vocabulary that are not config keys."""
    registry = registry or default_registry()
    factory = registry.get("task", section["name"]).factory
    try:
        parameters = inspect.signature(factory).parameters.values()
        optional = {p.name for p in parameters if p.default is None}  # "" in the config
    except (TypeError, ValueError):
        optional = set()
    options = {
        k: (None if v == "" and k in optional else v) for k, v in section.items() if k != "name"
    }
    return registry.make("task", section["name"], **options, **runtime)
