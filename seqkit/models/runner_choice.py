"""Which runner unrolls a model's cells: a runner by name (refused in one line where it does not
support a cell), or for ``runner="auto"`` the best installed one by what the cells declare.

    resolve_runner("auto", model.cells, registry)      # a Runner
    auto_runners(cells)                                # the names auto tries, best first
"""

from __future__ import annotations

from collections.abc import Sequence

from seqkit.errors import OptionError
from seqkit.interfaces import Cell, Runner, declared_linear_recurrence, declared_recurrence
from seqkit.plugins.registry import Registry

# ``runner="auto"``: the runners it tries, best first, by what the cell is. The rule is what
# benchmarks/compare.py's "auto" rows measure (every runner on a declaring and a non-declaring
# plugin cell): a cell that declares its recurrence trains fastest on its native kernel where it
# has one and the library loads (the native runner supports no other cell), else on the fused
# runner; any other cell on the graph runner, which measured faster than xla for every such cell.
# A cell that declares a linear recurrence runs every step at once on the scan runner
# (benchmarks/scan_speed.py).
AUTO_RUNNERS = {
    "declares a linear recurrence": ("scan", "fused", "graph", "xla", "python"),
    "declares its recurrence": ("native", "fused", "graph", "xla", "python"),
    "other": ("graph", "xla", "python"),
}


def auto_runners(cells: Sequence[Cell]) -> tuple[str, ...]:
    """The runner names ``"auto"`` tries for ``cells``, best first (``AUTO_RUNNERS``)."""
    if all(declared_linear_recurrence(cell) is not None for cell in cells):
        return AUTO_RUNNERS["declares a linear recurrence"]
    declares = all(
        declared_recurrence(cell) is not None or declared_linear_recurrence(cell) is not None
        for cell in cells
    )  # the fused runner runs either declaration
    return AUTO_RUNNERS["declares its recurrence" if declares else "other"]


def resolve_runner(
    runner: str | Runner, cells: Sequence[Cell], registry: Registry, custom_ops: bool = True
) -> Runner:
    """A runner by name, or for ``"auto"`` the first of ``auto_runners(cells)`` that is
    installed and supports every cell. ``custom_ops`` false skips runners whose graphs hold
    custom ops (``Runner.custom_ops``): for a SavedModel, a Keras layer. A
    named runner that does not support a cell is refused here, in one line."""
    if not isinstance(runner, Runner) and runner == "auto":
        return _auto_runner(cells, registry, custom_ops)
    chosen = runner if isinstance(runner, Runner) else registry.make("runner", runner)
    refused = [cell for cell in cells if not chosen.supports(cell)]
    if refused:
        name = runner if isinstance(runner, str) else type(runner).__name__
        raise OptionError(
            f"runner {name!r} does not support {type(refused[0]).__name__} (its supports() is "
            "false: a runner that needs a declared recurrence or a native kernel, for one); use "
            "runner 'auto', which picks one that does, or 'graph'."
        )
    return chosen


def _auto_runner(cells: Sequence[Cell], registry: Registry, custom_ops: bool) -> Runner:
    installed = set(registry.names("runner"))
    names = auto_runners(cells)
    for name in names:
        if name in installed:
            candidate = registry.make("runner", name)
            if candidate.custom_ops and not custom_ops:
                continue
            if all(candidate.supports(cell) for cell in cells):
                return candidate
    raise OptionError(
        f"runner 'auto': none of the runners it picks from ({', '.join(names)}) is installed "
        f"and supports {type(cells[0]).__name__}; name a runner that does."
    )
