"""A component's options from the config: the ``[task]`` section (the task's name and its own
options) and ``[model.cell_options]`` (the cell's), checked against the factory's signature and
with its defaults filled in.

>>> from seqkit.config.options import resolve_cell_options, resolve_task_section
>>> resolve_task_section({"name": "adding", "length": 200})  # the defaults filled in
{'name': 'adding', 'length': 200, 'train_size': 10000, 'val_size': 1000, 'seed': 0}
>>> resolve_task_section({"name": "adding", "lenght": 200})
Traceback (most recent call last):
seqkit.errors.ConfigError: Task 'adding' has no option 'lenght'. Did you mean 'task.length'? ...
>>> resolve_cell_options("vanilla", {})
{'activation': 'tanh'}

``build_task(section)`` makes the task of a resolved section.

A component's options are the keyword arguments of its factory (its constructor), with their
defaults; an option without a default is required (``REQUIRED`` stands for its value until the
config gives one). A default of ``None`` is written ``""`` in the config (TOML has no null) and
passed back as ``None``. Options a task factory lists in ``runtime_options`` (char-lm's
``vocabulary``, given back from a run directory) are not config keys; neither are a cell's
``input_size``, ``hidden_size``, ``dtype`` and ``name``, which the model gives it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from seqkit.errors import ConfigError, closest_match
from seqkit.interfaces import Task
from seqkit.plugins.registry import Registry, default_registry


class _Required:
    """The value of an option whose factory gives no default, until the config sets it."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()
CELL_ARGUMENTS = ("input_size", "hidden_size", "dtype", "name")  # given by the model
_SCALARS = (str, int, float, bool)  # what a config file can hold as one value


def factory_options(factory: Callable[..., Any], hidden=()) -> dict[str, Any]:
    """The keyword options of ``factory`` and their defaults, as config values (``""`` for None,
    ``REQUIRED`` where there is none); ``hidden`` names parameters that are not options."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # a factory without a signature takes no config options
        return {}
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return {
        p.name: REQUIRED if p.default is p.empty else ("" if p.default is None else p.default)
        for p in parameters
        if p.kind in kinds and p.name not in hidden
    }


def task_defaults(name: str, registry: Registry | None = None) -> dict[str, Any]:
    """The config options of the task ``name`` and their defaults."""
    factory = (registry or default_registry()).get("task", name).factory
    options = factory_options(factory, set(getattr(factory, "runtime_options", ())))
    return {k: v for k, v in options.items() if v is not REQUIRED}  # tasks: keywords only


def cell_defaults(name: str, registry: Registry | None = None) -> dict[str, Any]:
    """The options of the cell ``name`` and their defaults (``REQUIRED`` where it has none)."""
    factory = (registry or default_registry()).get("cell", name).factory
    return factory_options(factory, CELL_ARGUMENTS)


def _check_type(owner: str, key: str, value: Any, default: Any) -> None:
    if default == "" or default is None or default is REQUIRED:  # the component checks it
        if not isinstance(value, _SCALARS):
            raise ConfigError(
                f"{owner}: option {key!r} must be one value (text or a number), "
                f"got {value!r} ({type(value).__name__})."
            )
        return
    expected = type(default)
    accepted = (int, float) if expected is float else (expected,)
    if isinstance(value, bool) != (expected is bool) or not isinstance(value, accepted):
        raise ConfigError(
            f"{owner}: option {key!r} must be like {default!r} "
            f"({expected.__name__}), got {value!r} ({type(value).__name__})."
        )


def resolve_options(
    owner: str, prefix: str, given: Mapping[str, Any], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """``given`` checked against ``defaults`` (unknown names and wrong types fail, naming
    ``prefix + name`` and the closest option), with the defaults filled in."""
    for key, value in given.items():
        if key not in defaults:
            near = closest_match(key, defaults)
            hint = f" Did you mean '{prefix}{near}'?" if near else ""
            known = ", ".join(defaults) or "none"
            raise ConfigError(f"{owner} has no option {key!r}.{hint} Its options are: {known}.")
        _check_type(owner, key, value, defaults[key])
    return {**defaults, **given}


def resolve_task_section(section: Mapping[str, Any], registry: Registry | None = None) -> dict:
    """``section`` with every option of its task, defaults filled in; unknown options fail."""
    name = section["name"]
    given = {k: v for k, v in section.items() if k != "name"}
    options = resolve_options(f"Task {name!r}", "task.", given, task_defaults(name, registry))
    return {"name": name, **options}


def resolve_cell_options(
    cell: str, given: Mapping[str, Any], registry: Registry | None = None
) -> dict[str, Any]:
    """The options of the cell ``cell``: ``given`` checked, defaults filled in (a required option
    stays ``REQUIRED`` until given; ``check_required_cell_options`` refuses those)."""
    return resolve_options(
        f"Cell {cell!r}", "model.cell_options.", given, cell_defaults(cell, registry)
    )


CONFIG_CELL_OPTION = "--set model.cell_options.{key}=VALUE or under [model.cell_options]"


def check_required_cell_options(
    cell: str, options: Mapping[str, Any], how: str = CONFIG_CELL_OPTION
) -> None:
    """A ConfigError naming the first option of ``cell`` left unset, and ``how`` to set it (a
    template of ``{key}``: the config's way by default, ``--cell-option {key}=VALUE`` for
    ``seqkit bench``)."""
    missing = [k for k, v in options.items() if v is REQUIRED]
    if missing:
        raise ConfigError(
            f"Cell {cell!r} needs the option {missing[0]!r}, which has no default: set it with "
            f"{how.format(key=missing[0])}."
        )


def factory_arguments(factory: Callable[..., Any], options: Mapping[str, Any]) -> dict:
    """Config option values as the factory's arguments: ``""`` back to None where the factory's
    default is None."""
    try:
        parameters = inspect.signature(factory).parameters.values()
        optional = {p.name for p in parameters if p.default is None}  # "" in the config
    except (TypeError, ValueError):
        optional = set()
    return {k: (None if v == "" and k in optional else v) for k, v in options.items()}


def build_task(section: Mapping[str, Any], registry: Registry | None = None, **runtime) -> Task:
    """The task of a resolved ``[task]`` section; ``runtime`` adds options such as a
    vocabulary that are not config keys."""
    registry = registry or default_registry()
    factory = registry.get("task", section["name"]).factory
    options = factory_arguments(factory, {k: v for k, v in section.items() if k != "name"})
    return registry.make("task", section["name"], **options, **runtime)
