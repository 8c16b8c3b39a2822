"""Which plugin of a run broke its contract: an error raised while a run trains (or checks its
parts before training) named after the plugin whose code raised it, its distribution and what
that kind of plugin promises, in one line.

    suspects = run_plugins(task=task, model=model, loss=loss, truncation=truncation)
    with plugin_contract(suspects, "the first validation"):
        scorer(model, eval_data)          # a task's metric that raises -> PluginFailure

A plugin's code is found by where the error was raised: the innermost frame of its traceback
(or, for an error TensorFlow raised while running a compiled step, of the op's creation stack
that TensorFlow writes into the message) that lies in one of the run's plugins' source files.
A plugin of a third-party distribution is named before seqkit's own: a built-in runner that
fails on what a plugin's cell gave it is the cell's failure. ``SEQKIT_DEBUG=1`` (``seqkit run
--debug``) prints the original traceback, for the plugin's author.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from seqkit.errors import PluginError, SeqkitError
from seqkit.plugins.guard import PluginExit, describe_exit
from seqkit.plugins.loading import OWN_DISTRIBUTION
from seqkit.plugins.registry import Registry, made_by
from seqkit.training.window_walk import LossNotScalar

DEBUG_VARIABLE = "SEQKIT_DEBUG"

# What each kind of plugin promises a run, in the words of the one-line error.
CONTRACTS = {
    "cell": "a cell's step(inputs [B, I], state) returns tensors of the model's dtype: an output "
    "[B, output_size] and a state of state_size, for any batch size",
    "runner": "a runner's run(cell, inputs [B, T, I], state, mask) returns tensors: outputs "
    "[B, T, output_size] and the final state, for any batch size and length",
    "loss": "a loss returns one number (a scalar tensor, the mean over the counted steps) for "
    "every batch it is given, in training and in validation",
    "truncation": "a truncation strategy's windows(length) yields seqkit.Window(backprop_from, "
    "loss_from, end) with 0 <= backprop_from <= loss_from < end <= length",
    "task": "a task gives non-empty lists of SequenceBatch of arrays whose ids lie in its "
    "declared vocabulary, and its metrics (counts, metrics) score any batch of them",
}


@dataclass(frozen=True)
class Suspect:
    """One plugin component of a run: its kind, registered name, distribution and files."""

    kind: str
    name: str
    plugin: str  # the plugin's (entry point's) name
    provider: str  # "misbehaving==1.0"
    files: frozenset[str]

    @property
    def third_party(self) -> bool:
        return not self.provider.startswith(OWN_DISTRIBUTION + "==")

    def describe(self) -> str:
        return f"{self.kind} {self.name!r} from {self.provider} (plugin {self.plugin!r})"


def _files(code) -> frozenset[str]:
    """The source files of ``code`` (a class or a function; an instance: its class), and of
    every class a class inherits from that is not seqkit's core (a plugin's base class in
    another of its modules counts as its code)."""
    if not (inspect.isclass(code) or inspect.isfunction(code)):
        code = type(code)
    found = set()
    for part in code.__mro__ if inspect.isclass(code) else (code,):
        module = getattr(inspect.getmodule(part), "__name__", "")
        if module.split(".")[0] in ("seqkit", "builtins", "abc", "tensorflow", "keras"):
            continue
        with contextlib.suppress(TypeError, OSError):
            found.add(os.path.realpath(inspect.getfile(part)))
    return frozenset(found)


def suspect_of(component, kind: str) -> Suspect | None:
    """``component`` as a suspect, if the registry built it (else None: the caller's own)."""
    how = made_by(component)
    if how is None:
        return None
    entry = how.registration
    return Suspect(kind, entry.name, entry.plugin.name, entry.plugin.provider, _files(component))


def named_plugins(registry: Registry, names: dict[str, list[str]]) -> list[Suspect]:
    """The registered plugins of ``names`` (kind -> names; unknown ones left out), as suspects
    before their components are built, third-party ones first."""
    found = []
    for kind, listed in names.items():
        for name in dict.fromkeys(listed):
            if name in registry.names(kind):
                entry = registry.get(kind, name)
                files = _files(entry.factory)
                found.append(Suspect(kind, name, entry.plugin.name, entry.plugin.provider, files))
    return sorted(found, key=lambda s: not s.third_party)


def run_plugins(task=None, model=None, loss=None, truncation=None) -> list[Suspect]:
    """The plugin components of a run, third-party ones first."""
    components = [("task", task), ("loss", loss), ("truncation", truncation)]
    if model is not None:
        cells = [*model.encoder_cells, *model.cells]
        components += [("cell", c) for c in cells] + [("runner", model.runner)]
    found = {}
    for kind, component in components:
        suspect = suspect_of(component, kind) if component is not None else None
        if suspect is not None:
            found.setdefault((kind, suspect.name), suspect)
    return sorted(found.values(), key=lambda s: not s.third_party)


def _raised_in(exc: BaseException) -> list[tuple[str, str]]:
    """``(file, function)`` of every frame that ``exc`` (and the errors it came from) passed
    through, innermost first, and the files of TensorFlow's op-creation stack in its message."""
    frames, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        stack = traceback.extract_tb(exc.__traceback__)
        frames += [(os.path.realpath(f.filename), f.name) for f in reversed(stack)]
        for line in reversed(str(exc).splitlines()):  # '  File "/x/cells.py", line 9, in step'
            words = line.strip().split('"')
            if line.strip().startswith("File ") and len(words) >= 3:
                name = line.rsplit(" in ", 1)[-1].rstrip(" *") if " in " in line else "?"
                frames.append((os.path.realpath(words[1]), name))
        exc = exc.__cause__ or exc.__context__
    return frames


def culprit(exc: BaseException, suspects: list[Suspect]) -> tuple[Suspect, str] | None:
    """The suspect whose code raised ``exc`` and the function it raised in; a third-party
    plugin before seqkit's own; None where no plugin's code is in the error's way."""
    kind = getattr(type(exc), "broken_contract", None)  # a break the core found, by kind
    if kind is None and f"{LossNotScalar.__name__}: " in str(exc):  # as TensorFlow wraps it
        kind = LossNotScalar.broken_contract
    for suspect in suspects if kind else ():
        if suspect.kind == kind:
            return suspect, ""
    frames = _raised_in(exc)
    for wanted in (True, False):
        for file, function in frames:
            for suspect in suspects:
                if suspect.third_party == wanted and file in suspect.files:
                    return suspect, function
    return None


class PluginFailure(PluginError):
    """A plugin's code raised, or gave what breaks its contract, while a run used it;
    ``original`` is the plugin's own error (``SEQKIT_DEBUG=1`` prints its traceback)."""

    def __init__(self, message: str, original: BaseException | None = None):
        super().__init__(message)
        self.original = original


def error_text(exc: BaseException) -> str:
    """An error in a few words: its type and the first line of its message (TensorFlow's
    'in user code' preambles and op-creation stacks left out)."""
    if isinstance(exc, PluginExit):
        return describe_exit(exc.original)
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    noise = ("in user code", "File ", "Graph execution", "Detected at node", "[[")
    useful = [x for x in lines if not x.startswith(noise)]
    text = (useful or lines or [""])[-1 if "in user code" in str(exc) else 0]
    text = text.removeprefix(f"{type(exc).__name__}: ")
    if text.startswith(f"{LossNotScalar.__name__}: "):  # TensorFlow's StagingError around it
        return text[:200]
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def blame_text(exc: BaseException, suspects: list[Suspect], doing: str) -> str:
    """'The loss 'x' from d==1 (plugin 'p') failed in __call__ during training: ValueError:
    ...; <its contract>.' -- or, where no plugin is found, what failed, naming the plugins."""
    found = culprit(exc, suspects)
    if found is None:
        named = ", ".join(s.describe() for s in suspects if s.third_party)
        among = f" (the run's third-party plugins: {named})" if named else ""
        return f"Seqkit failed {doing}{among}: {error_text(exc)}."
    suspect, function = found
    where = f" in {function}" if function and not function.startswith("<") else ""
    return (
        f"The {suspect.describe()} failed{where} {doing}: {error_text(exc)}; "
        f"{CONTRACTS[suspect.kind]}."
    )


def debugging() -> bool:
    """Whether the user asked for the tracebacks behind one-line errors (SEQKIT_DEBUG=1)."""
    return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


def _text(value: str | Callable[[], str]) -> str:
    return value() if callable(value) else value


@contextlib.contextmanager
def plugin_contract(
    suspects: list[Suspect], doing: str | Callable[[], str], after: str | Callable[[], str] = ""
) -> Iterator[None]:
    """Run a part of a run that calls plugin code: an error that is no ``SeqkitError`` (or a
    plugin's own ``sys.exit``) becomes a one-line ``PluginFailure`` naming the plugin, its
    distribution and its contract. ``doing`` says when (``"while training"``); ``after`` is
    appended (what was kept, how to go on); either may be a function, called on failure."""
    try:
        yield
    except SeqkitError:
        raise
    except (Exception, SystemExit) as exc:
        if isinstance(exc, SystemExit):  # a plugin's sys.exit must not end a run silently
            exc, exited = PluginExit(exc), exc
            exc.__cause__ = exited  # where it was raised, for culprit()
        if _is_out_of_memory(exc):
            raise
        text = blame_text(exc, suspects, _text(doing))
        hint = "" if debugging() else f" (set {DEBUG_VARIABLE}=1 for the traceback)"
        raise PluginFailure(f"{text}{_text(after)}{hint}", exc) from exc


def _is_out_of_memory(exc: BaseException) -> bool:
    """TensorFlow's ResourceExhaustedError or Python's MemoryError: the machine's limit, not a
    plugin's broken contract (``seqkit.runs.failures`` reports it with the run's sizes)."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError"
