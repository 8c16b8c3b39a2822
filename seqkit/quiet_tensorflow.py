"""TensorFlow imported without its native start-up lines, unless the user asks for them.

    import seqkit                        # installs the quiet path; TensorFlow is not imported
    model = seqkit.SequenceModel(...)    # imports TensorFlow: nothing on standard error

TensorFlow's C++ runtime writes lines such as "Could not find cuda drivers on your machine" and
"failed call to cuInit" to file descriptor 2 while it is imported and while it first looks for
devices, before its own log settings are read, so that even ``TF_CPP_MIN_LOG_LEVEL=3`` shows
some. ``import seqkit`` installs a one-shot import hook (``install``); the first import of
``tensorflow`` after it, by seqkit, a plugin or the user's own code, runs with file descriptor 2
pointed at a temporary file, and lists the physical devices before letting go. What was held
back is then:

- shown whole if the import fails, above the error;
- filtered by ``TF_CPP_MIN_LOG_LEVEL`` if the user set it (0 shows every line, 1 drops INFO, 2
  WARNING too, 3 ERROR too), as TensorFlow would have done had it read the setting in time;
- otherwise dropped, except lines that are not TensorFlow's log records (a Python warning).

Later, TensorFlow's C++ code logs at INFO level too ("XLA service ... initialized", "Compiled
cluster using XLA!" at the first compiled step). It reads ``TF_CPP_MIN_LOG_LEVEL`` once, while
it is imported; so if the user has not set it, the import runs with it at 2 (INFO and WARNING
dropped, errors kept: its runtime warnings differ from CPU to CPU, such as oneDNN's fallback
notes on CPUs without some AVX-512 feature) and it is unset again right after, so that the
user's environment, and that of the processes they start, stays as it was.

``SEQKIT_TF_LOGS=1`` turns all this off: TensorFlow writes as it does without seqkit. A
TensorFlow the user imported before seqkit is left as it is. The hook removes itself at the
first import of TensorFlow.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
from collections.abc import Iterator

SHOW_VARIABLE = "SEQKIT_TF_LOGS"  # set to 1 to see TensorFlow's start-up lines as they come
LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
# TensorFlow's later C++ lines when the user sets no level: errors only. Its runtime warnings
# depend on the CPU and say nothing a seqkit user can act on. (One such note, "oneDNN supports
# DT_INT32 only on platforms with AVX-512. Falling back ...", comes at error level on an AMD
# Zen 5 for any integer transpose: seqkit's own graphs transpose no integers, see
# seqkit.decoding.sampling._batch_major.)
RUNTIME_LEVEL = "2"

# absl's line prefix: severity (Info, Warning, Error, Fatal), then MMDD: "I0000 00:00:17..."
_RECORD = re.compile(r"^([IWEF])\d{4} ")
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
# printed by absl before the records it writes ahead of its own set-up; as informative as they
_ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called"


def _asked_for_logs() -> bool:
    value = os.environ.get(SHOW_VARIABLE, "").strip().lower()
    return value not in ("", "0", "false", "no")


def _user_level() -> int | None:
    """The user's ``TF_CPP_MIN_LOG_LEVEL``; None if unset (an unreadable value is 0, as in TF)."""
    value = os.environ.get(LEVEL_VARIABLE)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return 0


def shown_lines(held: str, level: int | None) -> str:
    """What to show of the ``held`` text: its log records of severity ``level`` and above (all
    of them at 0; none for None), and every line that is not part of a record."""
    shown: list[str] = []
    keep = True  # a line that does not start a record belongs to the record above it
    in_record = False
    for line in held.splitlines(keepends=True):
        record = _RECORD.match(line)
        if record or line.startswith(_ABSL_NOTICE):
            severity = _SEVERITY[record.group(1)] if record else 0
            in_record, keep = True, level is not None and severity >= level
        elif not in_record:
            keep = True
        if keep:
            shown.append(line)
    return "".join(shown)


@contextlib.contextmanager
def _native_stderr_held() -> Iterator[None]:
    """File descriptor 2 points at a temporary file inside; its text is shown as
    ``shown_lines`` says after, or whole if an exception leaves. (Another thread's writes to
    standard error meanwhile are held too, and shown as lines that are no log records.)"""
    import tempfile  # here: `import seqkit` stays light

    _flush_stderr()
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to hold back
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            _flush_stderr()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", "replace")
            text = text if failed else shown_lines(text, _user_level())
            if text and sys.stderr is not None:
                sys.stderr.write(text)
                sys.stderr.flush()


def _flush_stderr() -> None:
    if sys.stderr is not None:
        sys.stderr.flush()


@contextlib.contextmanager
def _runtime_level_while_importing() -> Iterator[None]:
    """``TF_CPP_MIN_LOG_LEVEL`` at ``RUNTIME_LEVEL`` inside, if the user has not set it."""
    if LEVEL_VARIABLE in os.environ:
        yield
        return
    os.environ[LEVEL_VARIABLE] = RUNTIME_LEVEL
    try:
        yield
    finally:
        os.environ.pop(LEVEL_VARIABLE, None)


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run with native standard error held back."""

    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        if _asked_for_logs():
            self._loader.exec_module(module)
        else:
            with _native_stderr_held(), _runtime_level_while_importing():
                self._loader.exec_module(module)
                module.config.list_physical_devices()  # the CUDA probe writes on first use
        module.__loader__ = module.__spec__.loader = self._loader  # as if never wrapped

    def __getattr__(self, name: str):  # resource readers and the like: the real loader's
        return getattr(self._loader, name)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as the other finders do, and wraps its loader; once."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        uninstall()
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


_FINDER = _QuietFinder()


def install() -> None:
    """Make the next import of TensorFlow quiet; nothing if it is imported already."""
    if "tensorflow" not in sys.modules and _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    """Leave TensorFlow's import as it is (undoes ``install``)."""
    with contextlib.suppress(ValueError):
        sys.meta_path.remove(_FINDER)


def import_tensorflow() -> None:
    """Import TensorFlow now, quietly unless the user asks for its lines (see above)."""
    install()
    import tensorflow  # noqa: F401
