"""Running a plugin's code (its import, its hooks, its factories) so that it cannot end the
process or write into a command's output.

    with plugin_code():
        module = entry_point.load()     # a print goes to stderr; sys.exit(3) -> PluginExit

A plugin is someone else's code. Inside ``plugin_code()``:

- what it prints goes to standard error, so that it never lands in the text a command writes
  to standard output (``seqkit sample``'s sample, ``seqkit config``'s TOML);
- a ``SystemExit`` (``sys.exit``), a ``KeyboardInterrupt`` that it raised itself, or any other
  ``BaseException`` that is not an ``Exception`` becomes a ``PluginExit``, an ordinary
  ``Exception`` that the caller reports as a broken plugin;
- a real Ctrl-C (SIGINT), or SIGTERM where Python handles it, that arrives while the plugin's
  code runs still stops the program: whatever it raises goes on unchanged.

A signal is told apart from a plugin's own ``raise KeyboardInterrupt`` by wrapping the Python
handlers of SIGINT and SIGTERM for the duration. Python runs signal handlers in the main thread
only, so in any other thread no exception can come from a signal.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

WATCHED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class PluginExit(Exception):
    """Plugin code raised a ``BaseException`` that would end the program (``SystemExit``, its
    own ``KeyboardInterrupt``, ...); ``original`` is that exception."""

    def __init__(self, original: BaseException):
        super().__init__(describe_exit(original))
        self.original = original


def describe_exit(exc: BaseException) -> str:
    """What an exit-like exception would have done: ``"SystemExit with exit code 3"``."""
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None or isinstance(code, int):  # sys.exit() and sys.exit(n)
            return f"SystemExit with exit code {code or 0}"
        return f"SystemExit with exit code 1: {code}"  # sys.exit("message") prints it, exits 1
    if isinstance(exc, KeyboardInterrupt):
        return "KeyboardInterrupt raised by the plugin itself (no Ctrl-C was pressed)"
    text = str(exc)
    return type(exc).__name__ + (f": {text}" if text else "")


def failure_text(exc: BaseException) -> str:
    """An exception from plugin code as a broken plugin's reason: ``"ValueError: bad"``."""
    if isinstance(exc, PluginExit):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class _SignalWatch:
    """Wraps the Python handlers of ``WATCHED_SIGNALS``, recording that one was called."""

    def __init__(self) -> None:
        self.arrived = False
        self._previous: dict[int, object] = {}

    def _wrap(self, previous):
        def handler(signum, frame):
            self.arrived = True
            return previous(signum, frame)

        return handler

    def __enter__(self) -> _SignalWatch:
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in WATCHED_SIGNALS:
            previous = signal.getsignal(signum)
            if callable(previous):  # SIG_DFL and SIG_IGN raise nothing in Python: left alone
                self._previous[signum] = previous
                signal.signal(signum, self._wrap(previous))
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()


@contextlib.contextmanager
def plugin_code() -> Iterator[None]:
    """Run plugin code with its prints on standard error and its exits as ``PluginExit``."""
    with _SignalWatch() as watch, contextlib.redirect_stdout(sys.stderr):
        try:
            yield
        except Exception:
            raise
        except BaseException as exc:
            if watch.arrived:
                raise  # the user's Ctrl-C or a SIGTERM: the program must still stop
            raise PluginExit(exc) from exc
