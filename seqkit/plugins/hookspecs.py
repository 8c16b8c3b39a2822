"""The hooks a seqkit plugin implements. Declarations only.

A plugin is a module (or object) listed under the entry point group ``seqkit``; it marks its
hook functions with ``seqkit.hookimpl``. Each hook is called once per plugin, when the registry
is first built, with a ``register(name, factory)`` callback. ``factory(*args, **options)``
builds one component; it is usually the class itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("seqkit")
hookimpl = pluggy.HookimplMarker("seqkit")

Register = Callable[[str, Callable[..., Any]], None]


@hookspec
def seqkit_register_cells(register: Register) -> None:
    """Register cells: ``register("lstm", LSTMCell)``.

    The factory is called as ``factory(input_size, hidden_size, **options)`` and returns a
    ``seqkit.Cell``.
    """


@hookspec
def seqkit_register_runners(register: Register) -> None:
    """Register runners: ``register("graph", GraphRunner)``.

    The factory is called as ``factory(**options)`` and returns a ``seqkit.Runner``.
    """


@hookspec
def seqkit_register_losses(register: Register) -> None:
    """Register losses: ``register("mse", MeanSquaredError)``.

    The factory is called as ``factory(**options)`` and returns a ``seqkit.Loss``.
    """


@hookspec
def seqkit_register_truncations(register: Register) -> None:
    """Register truncation strategies: ``register("tbptt", TBPTT)``.

    The factory is called as ``factory(**options)`` and returns a ``seqkit.TruncationStrategy``.
    """


@hookspec
def seqkit_register_tasks(register: Register) -> None:
    """Register tasks: ``register("char-lm", CharLM)``.

    The factory is called as ``factory(**options)`` and returns a ``seqkit.Task``.
    """
