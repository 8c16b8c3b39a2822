"""Errors a user can cause. Each carries one clear sentence: what was wrong, what was expected,
and how to fix it. The CLI prints the sentence and exits non-zero, without a traceback."""

from __future__ import annotations

import difflib
import errno
from collections.abc import Iterable


class SeqkitError(Exception):
    """Base class of every error a user of seqkit can cause."""


class UnknownNameError(SeqkitError, KeyError):
    """A plugin name (cell, runner, loss, truncation or task) that no plugin registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str], note: str = ""):
        self.kind, self.name, self.known = kind, name, sorted(known)
        self.closest = closest_match(name, self.known)
        hint = f" Did you mean {self.closest!r}?" if self.closest else ""
        listed = ", ".join(self.known) or "none"
        note = f" {note}" if note else ""
        kinds = kind + ("es" if kind.endswith("s") else "s")  # losses
        super().__init__(f"Unknown {kind} {name!r}.{hint} Known {kinds}: {listed}.{note}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class PluginError(SeqkitError):
    """A plugin that failed to load, or that produced something that breaks its contract."""


class OptionError(SeqkitError, TypeError):
    """An option a component does not take, or a value it cannot use."""


class StateDictError(SeqkitError, ValueError):
    """A state dict with missing or unexpected keys, or an array of the wrong shape."""


class ShapeError(SeqkitError, ValueError):
    """A tensor of the wrong rank or size for the component it was given to."""


class DataError(SeqkitError, ValueError):
    """A corpus or data set that is missing, empty, unreadable or too short for the settings."""


class ConfigError(SeqkitError, ValueError):
    """A config file or ``--set`` override with an unknown key or a value of the wrong type."""


class NonFiniteError(SeqkitError, ArithmeticError):
    """A training update whose loss or gradient norm was NaN or infinite (not applied);
    ``job`` is its window (a ``seqkit.training.window_walk.WindowJob``), where the trainer knows
    it."""

    def __init__(self, message: str, step: int, loss: float, grad_norm: float, job=None):
        super().__init__(message)
        self.step, self.loss, self.grad_norm, self.job = step, loss, grad_norm, job


class TrainingInterrupted(SeqkitError):
    """A run stopped by SIGINT or SIGTERM after its checkpoint was saved; it can be resumed."""

    def __init__(self, message: str, signal_name: str, exit_code: int, step: int):
        super().__init__(message)
        self.signal_name, self.exit_code, self.step = signal_name, exit_code, step


def closest_match(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name``, or None when none is close.

    >>> closest_match("lstn", ["gru", "lstm", "vanilla"])
    'lstm'
    >>> closest_match("transformer", ["gru", "lstm"]) is None
    True
    """
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


# Why an OSError happened, in the words of seqkit's one-line messages.
OS_REASONS = {
    errno.ENAMETOOLONG: "the path is too long",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOSPC: "no space is left on the device",
    errno.EDQUOT: "the disk quota is used up",
    errno.EEXIST: "it already exists",
    errno.ELOOP: "it is a symbolic link",
}


def os_reason(exc: OSError) -> str:
    """Why ``exc`` happened, in a few words (the system's own text where seqkit has none)."""
    return OS_REASONS.get(exc.errno, exc.strerror or type(exc).__name__)
