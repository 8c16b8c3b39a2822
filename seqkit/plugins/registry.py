"""Names to factories: what the plugins registered, who provides each, and ``make_*``.

The registry is built from a plugin manager. Each plugin's hooks are called through pluggy
(``subset_hook_caller``), one plugin at a time; a plugin whose hook raises, or that registers a
name already taken, is recorded as broken and none of its registrations is kept, so a plugin
either works whole or not at all. Hooks and factories run inside
``seqkit.plugins.guard.plugin_code``: a ``sys.exit`` in them is reported as the plugin's
failure, and their prints go to standard error. ``made_by(component)`` says how the registry
built a component (name and options), so that it can be described again: a Keras layer saves a
registry-made cell by its name and options.
"""

from __future__ import annotations

import functools
import inspect
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from seqkit.errors import OptionError, PluginError, SeqkitError, UnknownNameError
from seqkit.interfaces import Cell, Loss, Runner, Task, TruncationStrategy
from seqkit.plugins.guard import failure_text, plugin_code
from seqkit.plugins.loading import BrokenPlugin, LoadedPlugins, PluginInfo, make_plugin_manager

# kind -> (hook name, the interface a factory must return)
KINDS: dict[str, tuple[str, type]] = {
    "cell": ("seqkit_register_cells", Cell),
    "runner": ("seqkit_register_runners", Runner),
    "loss": ("seqkit_register_losses", Loss),
    "truncation": ("seqkit_register_truncations", TruncationStrategy),
    "task": ("seqkit_register_tasks", Task),
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Registration:
    """One registered component: its kind, name, factory and the plugin that provides it."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: PluginInfo


@dataclass(frozen=True)
class MadeBy:
    """How ``Registry.make`` built a component: its registration and the factory's arguments."""

    registration: Registration
    args: tuple[Any, ...]
    options: Mapping[str, Any]

    def arguments(self) -> dict[str, Any] | None:
        """Every argument by the factory's parameter name (``make_cell("gru", 8, 16)``:
        ``{"input_size": 8, "hidden_size": 16}``); None when a positional argument has no name
        (a factory with ``*args``, or without a signature)."""
        try:
            signature = inspect.signature(self.registration.factory)
            bound = signature.bind(*self.args, **self.options)
        except (TypeError, ValueError):
            return None if self.args else dict(self.options)
        named: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            kind = signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                if value:
                    return None
            elif kind is inspect.Parameter.VAR_KEYWORD:
                named.update(value)
            else:
                named[name] = value
        return named


# id(component) -> (a weak reference to it, how it was made); an entry goes with its component.
_MADE: dict[int, tuple[weakref.ref, MadeBy]] = {}


def _remember(component: Any, how: MadeBy) -> None:
    key = id(component)
    try:
        # the table is bound now: at interpreter exit the module's globals may be None already
        ref = weakref.ref(component, lambda _, made=_MADE: made.pop(key, None))
    except TypeError:  # an object without weak references cannot be described later
        return
    _MADE[key] = (ref, how)


def made_by(component: Any) -> MadeBy | None:
    """How the registry built ``component`` (by ``make_cell`` or any ``Registry.make``): its
    registration (kind, name, plugin) and the arguments given; None for a component that no
    registry built, e.g. one constructed directly from its class."""
    entry = _MADE.get(id(component))
    if entry is None or entry[0]() is not component:
        return None
    return entry[1]


class _Rejected(Exception):
    """A plugin broke a registration rule; the message is the reason."""


class Registry:
    """What the loaded plugins registered, by kind and name."""

    def __init__(self, plugins: LoadedPlugins):
        self.plugins = plugins
        self.broken: list[BrokenPlugin] = list(plugins.broken)
        self._entries: dict[str, dict[str, Registration]] = {kind: {} for kind in KINDS}
        for name, info in plugins.infos.items():
            self._add_plugin(name, info)

    def _add_plugin(self, plugin_name: str, info: PluginInfo) -> None:
        staged: list[Registration] = []
        manager = self.plugins.manager
        # The other plugins, left out of each call: a hook is called one plugin at a time, so a
        # failure or a duplicate name is the plugin's own, and its registrations all go with it.
        others = manager.get_plugins() - {manager.get_plugin(plugin_name)}
        kind = ""
        try:
            for kind, (hook_name, _) in KINDS.items():
                call_hook = manager.subset_hook_caller(hook_name, remove_plugins=others)
                with plugin_code():
                    call_hook(register=self._registrar(kind, info, staged))
        except _Rejected as exc:
            self.broken.append(BrokenPlugin(info, str(exc)))
            return
        except Exception as exc:  # a plugin's own bug must not break the others
            self.broken.append(BrokenPlugin(info, f"its {kind} hook raised {failure_text(exc)}"))
            return
        for entry in staged:
            self._entries[entry.kind][entry.name] = entry

    def _registrar(self, kind: str, info: PluginInfo, staged: list[Registration]):
        """The ``register(name, factory)`` callback one plugin's hook of ``kind`` receives."""

        def register(name: str, factory: Callable[..., Any]) -> None:
            if not isinstance(name, str) or not _NAME.match(name):
                raise _Rejected(f"registered an invalid {kind} name {name!r}")
            if not callable(factory):
                raise _Rejected(f"registered {kind} {name!r} with a factory that is not callable")
            taken = self._entries[kind].get(name) or next(
                (r for r in staged if r.kind == kind and r.name == name), None
            )
            if taken is not None:
                raise _Rejected(
                    f"registers {kind} {name!r}, which {taken.plugin.provider} "
                    f"(plugin {taken.plugin.name!r}) already provides"
                )
            staged.append(Registration(kind, name, factory, info))

        return register

    def names(self, kind: str) -> list[str]:
        """The registered names of one kind, sorted."""
        return sorted(self._kind(kind))

    def registrations(self) -> list[Registration]:
        """Every registration, by kind then name."""
        return [self._kind(k)[n] for k in KINDS for n in self.names(k)]

    def get(self, kind: str, name: str) -> Registration:
        """The registration of ``name``; an UnknownNameError lists the known names."""
        entries = self._kind(kind)
        if not isinstance(name, str) or name not in entries:
            raise UnknownNameError(kind, str(name), entries, self._broken_note())
        return entries[name]

    def _broken_note(self) -> str:
        """For an unknown name: the plugins that failed to load, which may have provided it."""
        if not self.broken:
            return ""
        shown = "; ".join(
            f"plugin {b.plugin.name!r} from {b.plugin.provider}: {b.reason[:200]}"
            for b in self.broken[:3]
        )
        more = f" (and {len(self.broken) - 3} more)" if len(self.broken) > 3 else ""
        return f"Broken plugins, not loaded: {shown}{more}; `seqkit plugins` lists them."

    def make(self, kind: str, name: str, *args: Any, **options: Any) -> Any:
        """Build the component ``name`` of ``kind`` with ``factory(*args, **options)``;
        ``made_by(component)`` tells later how it was made."""
        entry = self.get(kind, name)
        _check_options(entry, args, options)
        try:
            with plugin_code():
                made = entry.factory(*args, **options)
        except SeqkitError:
            raise
        except Exception as exc:
            if _out_of_memory(exc):  # the sizes asked for, not the plugin
                raise OptionError(
                    f"{kind} {name!r} does not fit in memory at the sizes asked for "
                    f"({type(exc).__name__}); use smaller sizes."
                ) from None
            raise PluginError(
                f"{kind} {name!r} from {entry.plugin.provider} failed to build: {failure_text(exc)}"
            ) from exc
        interface = KINDS[kind][1]
        if not isinstance(made, interface):
            raise PluginError(
                f"{kind} {name!r} from {entry.plugin.provider} built a "
                f"{type(made).__name__}, which is not a seqkit.{interface.__name__}."
            )
        _remember(made, MadeBy(entry, tuple(args), dict(options)))
        return made

    def _kind(self, kind: str) -> dict[str, Registration]:
        if kind not in self._entries:
            raise UnknownNameError("kind", kind, KINDS)
        return self._entries[kind]


def _out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says the machine ran out of memory (TensorFlow's or Python's)."""
    return isinstance(exc, MemoryError | tf.errors.ResourceExhaustedError)


def _check_options(entry: Registration, args: tuple, options: dict) -> None:
    """Name the option a factory does not take, before calling it."""
    try:
        signature = inspect.signature(entry.factory)
    except (TypeError, ValueError):  # builtins and some callables have no signature
        return
    try:
        signature.bind(*args, **options)
    except TypeError as exc:
        takes = [
            p.name
            for p in signature.parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is not p.empty
        ]
        raise OptionError(
            f"{entry.kind} {entry.name!r}: {exc}; its options are: {', '.join(takes) or 'none'}."
        ) from None


@functools.cache
def default_registry() -> Registry:
    """The registry of the installed plugins, built on first use."""
    return Registry(make_plugin_manager())


def available(kind: str) -> list[str]:
    """The registered names of ``kind`` (cell, runner, loss, truncation or task), sorted.

    >>> import seqkit
    >>> seqkit.available("truncation")
    ['bptt', 'online', 'tbptt']
    >>> {"gru", "lstm", "vanilla"} <= set(seqkit.available("cell"))  # and the plugins' cells
    True
    """
    return default_registry().names(kind)


def make_cell(name: str, input_size: int, hidden_size: int, **options: Any) -> Cell:
    """Build the registered cell ``name``; ``options`` are the cell's own (its factory's).

    >>> import seqkit
    >>> cell = seqkit.make_cell("gru", 8, 16)
    >>> cell.state_size, cell.output_size
    ((16,), 16)
    >>> {name: value.shape for name, value in cell.state_dict().items()}  # torch's layout
    {'weight_ih': (48, 8), 'weight_hh': (48, 16), 'bias_ih': (48,), 'bias_hh': (48,)}
    >>> seqkit.make_cell("vanilla", 8, 16, nonlinearity="tanh")
    Traceback (most recent call last):
    seqkit.errors.OptionError: cell 'vanilla': ...; its options are: activation, ...
    """
    return default_registry().make("cell", name, input_size, hidden_size, **options)


def make_runner(name: str, **options: Any) -> Runner:
    """Build the registered runner ``name``."""
    return default_registry().make("runner", name, **options)


def make_loss(name: str, **options: Any) -> Loss:
    """Build the registered loss ``name``."""
    return default_registry().make("loss", name, **options)


def make_truncation(name: str, **options: Any) -> TruncationStrategy:
    """Build the registered truncation strategy ``name``. Its windows over a sequence of
    ``length`` steps are the updates of one pass: each one's loss counts the steps
    ``loss_from`` to ``end - 1``, and its gradient flows back to step ``backprop_from``.

    >>> import seqkit
    >>> tbptt = seqkit.make_truncation("tbptt", k1=2, k2=4)  # overlapping: k1 < k2 < n
    >>> for window in tbptt.windows(7):
    ...     print(window)
    Window(backprop_from=0, loss_from=0, end=2)
    Window(backprop_from=0, loss_from=2, end=4)
    Window(backprop_from=2, loss_from=4, end=6)
    Window(backprop_from=3, loss_from=6, end=7)
    >>> list(seqkit.make_truncation("tbptt", k1=3).windows(6))  # k2 = k1: disjoint windows
    [Window(backprop_from=0, loss_from=0, end=3), Window(backprop_from=3, loss_from=3, end=6)]
    """
    return default_registry().make("truncation", name, **options)


def make_task(name: str, **options: Any) -> Task:
    """Build the registered task ``name``."""
    return default_registry().make("task", name, **options)
