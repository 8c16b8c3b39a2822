"""``seqkit plugins``: what each installed plugin provides, and which plugins are broken."""

from __future__ import annotations

import click


@click.command()
def plugins() -> None:
    """List the registered cells, runners, losses, truncations and tasks, and broken plugins.

    Exits 0 even when a plugin is broken: the others still work.
    """
    from seqkit.registry import default_registry

    registry = default_registry()
    rows = [("KIND", "NAME", "PROVIDED BY")]
    rows += [
        (r.kind, r.name, f"{r.plugin.provider} ({r.plugin.name})") for r in registry.registrations()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for kind, name, provider in rows:
        click.echo(f"{kind:<{widths[0]}}  {name:<{widths[1]}}  {provider}")
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
