"""Loading plugins: one pluggy ``PluginManager("seqkit")`` per call of the factory.

Entry points of the group ``seqkit`` are loaded one at a time. A plugin that fails to import,
declares a hook wrongly or cannot be registered is recorded as a ``BrokenPlugin`` with its
distribution, version and reason; every other plugin keeps working. A plugin's import runs
inside ``seqkit.plugins.guard.plugin_code``: its prints go to standard error, and a
``sys.exit`` in it makes the plugin broken, not the program end. Disabled names are blocked
with pluggy's ``set_blocked``.

Seqkit does not call pluggy's ``load_setuptools_entrypoints``: it stops at the first plugin
that fails to import, runs the import outside ``plugin_code``, skips entry points by name only
(``SEQKIT_NO_THIRD_PARTY_PLUGINS`` skips them by distribution), and takes no list of entry
points (tests pass their own). Hence seqkit's loop, and ``PluginInfo`` instead of
``list_plugin_distributions``, which knows only what ``load_setuptools_entrypoints`` loaded.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import pluggy

from seqkit.errors import closest_match
from seqkit.plugins import hookspecs
from seqkit.plugins.guard import failure_text, plugin_code

ENTRY_POINT_GROUP = "seqkit"
DISABLE_VARIABLE = "SEQKIT_DISABLE_PLUGINS"
# Set to 1 to load seqkit's own plugins only: no code from any other installed distribution.
NO_THIRD_PARTY_VARIABLE = "SEQKIT_NO_THIRD_PARTY_PLUGINS"
OWN_DISTRIBUTION = "seqkit"


@dataclass(frozen=True)
class PluginInfo:
    """Where a plugin comes from: its name and the distribution that ships it."""

    name: str
    distribution: str
    version: str

    @property
    def provider(self) -> str:
        return f"{self.distribution}=={self.version}"


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that could not be used, and why."""

    plugin: PluginInfo
    reason: str


@dataclass
class LoadedPlugins:
    """A plugin manager with the plugins it holds and those it could not load."""

    manager: pluggy.PluginManager
    infos: dict[str, PluginInfo] = field(default_factory=dict)
    broken: list[BrokenPlugin] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    third_party_skipped: list[PluginInfo] = field(default_factory=list)


def disabled_plugins(environ: dict[str, str] | None = None) -> set[str]:
    """The plugin names listed in ``SEQKIT_DISABLE_PLUGINS`` (comma separated)."""
    value = (os.environ if environ is None else environ).get(DISABLE_VARIABLE, "")
    return {name.strip() for name in value.split(",") if name.strip()}


def third_party_disabled(environ: dict[str, str] | None = None) -> bool:
    """Whether ``SEQKIT_NO_THIRD_PARTY_PLUGINS`` asks for seqkit's own plugins only."""
    value = (os.environ if environ is None else environ).get(NO_THIRD_PARTY_VARIABLE, "")
    return value.strip().lower() not in ("", "0", "false", "no")


def seqkit_entry_points() -> list[metadata.EntryPoint]:
    """The installed entry points of the group ``seqkit``, seqkit's own first, then by name."""
    found = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    return sorted(found, key=lambda ep: (_distribution(ep)[0] != OWN_DISTRIBUTION, ep.name))


def make_plugin_manager(
    entry_points: Iterable[metadata.EntryPoint] | None = None,
    disabled: Iterable[str] | None = None,
) -> LoadedPlugins:
    """A new plugin manager with seqkit's hookspecs and the plugins of ``entry_points``.

    ``entry_points`` defaults to the installed ones, ``disabled`` to ``SEQKIT_DISABLE_PLUGINS``.
    With ``SEQKIT_NO_THIRD_PARTY_PLUGINS=1`` no entry point of another distribution is loaded
    (imported), so no third-party code runs.
    """
    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    loaded = LoadedPlugins(manager)
    for name in disabled_plugins() if disabled is None else disabled:
        manager.set_blocked(name)
    own_only = third_party_disabled()
    for ep in seqkit_entry_points() if entry_points is None else entry_points:
        distribution, version = _distribution(ep)
        info = PluginInfo(ep.name, distribution, version)
        if own_only and distribution != OWN_DISTRIBUTION:
            loaded.third_party_skipped.append(info)
            continue
        if manager.is_blocked(ep.name):
            loaded.skipped.append(ep.name)
            continue
        reason = _register(manager, ep, info, loaded.infos)
        if reason is None:
            loaded.infos[ep.name] = info
        else:
            loaded.broken.append(BrokenPlugin(info, reason))
    return loaded


def _register(
    manager: pluggy.PluginManager,
    ep: metadata.EntryPoint,
    info: PluginInfo,
    infos: dict[str, PluginInfo],
) -> str | None:
    """Load and register one entry point; the reason it failed, or None."""
    if manager.has_plugin(ep.name):
        return f"the plugin name {ep.name!r} is already taken by {infos[ep.name].provider}"
    try:
        with plugin_code():
            plugin = ep.load()
    except Exception as exc:  # a broken plugin must not break seqkit: record any failure
        return f"failed to import {ep.value!r}: {failure_text(exc)}"
    try:
        manager.register(plugin, name=ep.name)
    except pluggy.PluginValidationError as exc:
        return " ".join(str(exc).split())
    except ValueError as exc:  # the same module registered under two names
        return str(exc)
    # Not pluggy's ``check_pending``: it names only the first unknown hook of any plugin, with
    # no near match, and lets hooks marked ``optionalhook`` through; seqkit names them all.
    unknown = [c.name for c in manager.get_hookcallers(plugin) or [] if not c.has_spec()]
    if unknown:
        manager.unregister(plugin)
        known = [name for name in dir(hookspecs) if name.startswith("seqkit_")]
        hints = []
        for name in unknown:
            near = closest_match(name, known)
            hints.append(f"{name!r}" + (f" (did you mean {near!r}?)" if near else ""))
        return f"implements hooks that seqkit does not have: {', '.join(hints)}"
    return None


def _distribution(ep: metadata.EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown", "unknown"
    return dist.metadata["Name"] or "unknown", dist.version or "unknown"
