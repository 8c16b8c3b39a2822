"""``seqkit plugins``: what each installed plugin provides, and which plugins are broken."""

from __future__ import annotations

import click


@click.command()
def plugins() -> None:
    """List the registered cells, runners, losses, truncations and tasks, and broken plugins.

    Exits 0 even when a plugin is broken: the others still work.
    """
    from seqkit.plugins.registry import default_registry

    registry = default_registry()
    rows = [("KIND", "NAME", "PROVIDED BY")]
    rows += [
        (r.kind, r.name, f"{r.plugin.provider} ({r.plugin.name})") for r in registry.registrations()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for kind, name, provider in rows:
        click.echo(f"{kind:<{widths[0]}}  {name:<{widths[1]}}  {provider}")
    click.echo('\nWhat runner "auto" runs each cell on:')
    for name in registry.names("cell"):
        click.echo(f"  {name:<{widths[1]}}  {_active_kernel(registry, name)}")
    skipped = registry.plugins.skipped
    if skipped:
        click.echo(f"\nDisabled by SEQKIT_DISABLE_PLUGINS: {', '.join(skipped)}")
    outside = registry.plugins.third_party_skipped
    if outside:
        names = ", ".join(f"{info.name} from {info.provider}" for info in outside)
        click.echo(f"\nNot loaded (SEQKIT_NO_THIRD_PARTY_PLUGINS): {names}")
    if registry.broken:
        click.echo("\nBroken plugins (not loaded):")
        for broken in registry.broken:
            info = broken.plugin
            click.echo(f"  {info.name} from {info.provider}: {broken.reason}")


def _active_kernel(registry, name: str) -> str:
    """What ``runner="auto"`` runs a one-layer model of cell ``name`` on, in a few words."""
    from seqkit.benchmarking import runner_name
    from seqkit.models.runner_choice import resolve_runner

    try:
        cell = registry.make("cell", name, 1, 1)
        runner = resolve_runner("auto", [cell], registry)
    except Exception as exc:  # a plugin's cell that cannot be built at size 1: say why
        return f"unknown ({type(exc).__name__}: {exc})"
    recurrence, kind = cell.recurrence, runner_name(runner, registry)
    if runner.custom_ops:
        return f"{kind}: its native kernel (library {recurrence.native_kernel.library.status})"
    if recurrence is None and cell.linear_recurrence is not None:
        return f"{kind}: its linear recurrence, every step at once"
    if recurrence is None:
        return f"{kind}: the cell's own step in a loop"
    kernel = "its own XLA kernel" if recurrence.kernel else "the generic XLA recurrence"
    return f"{kind}: {kernel}"
