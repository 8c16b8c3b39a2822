"""``RunDirectory``: the one place through which a run writes, and the checks of a run directory.

    run = RunDirectory.for_new_run("runs/x")     # new or empty, on a writable file system
    run.create(); run.lock()                     # a lock file held for the run's life
    run.write_text("config.toml", text)          # whole or not at all; never through a link
    run.append_text("metrics.csv", "20,1.5\\n")
    run.folder("checkpoints", "last")            # a real folder inside the run, for TensorFlow

Nothing is written through a symbolic link: temporary files are made with ``O_EXCL |
O_NOFOLLOW`` (``tempfile.mkstemp``), appends are opened with ``O_NOFOLLOW``, every path written
must resolve inside the run directory, and a link found inside a run directory is damage,
refused in one line that names it. A reader sees a file as it was or as it is now: whole files
are written to a temporary file, synced, then renamed over the old one (atomic on POSIX).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path

from seqkit.errors import DataError, os_reason

LOCK_FILE = "run.lock"
MARKERS = ("config.toml", "task.json")  # the files that make a folder a run directory


def _describe(path: Path) -> str:
    text = str(path)
    return repr(text if len(text) <= 120 else text[:60] + "..." + text[-40:])


def os_problem(path: Path, exc: OSError, doing: str) -> DataError:
    """An OSError on ``path`` as one sentence: what failed, why, and what to do."""
    why = os_reason(exc)
    return DataError(f"Cannot {doing} {_describe(path)}: {why}; give another path or fix that.")


def lexists(path: Path) -> bool:
    """Whether ``path`` exists (a link counts, followed or not); an unusable path is an error."""
    try:
        os.lstat(path)
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            return False
        raise os_problem(path, exc, "use") from None


class RunDirectory:
    """A run directory: where a run's files go, and the only way seqkit writes them."""

    def __init__(self, path: str | os.PathLike, numbered: bool = False):
        self.path = Path(path)
        self.numbered = numbered  # a default name: another run's of the same second moves it on
        self._lock_fd: int | None = None
        self._made: list[Path] = []  # folders this object created, for a failed new run

    # -- what a folder is ----------------------------------------------------------------------

    @classmethod
    def for_new_run(cls, path: str | os.PathLike, numbered: bool = False) -> RunDirectory:
        """``path`` checked for a new run: a new folder (on a writable file system) or an empty
        one; a folder that holds a run or any other file is refused. ``numbered``: a name seqkit
        chose, which moves on to ``-2``, ``-3``, ... where taken."""
        if str(path).strip() == "":
            raise DataError("--out is empty; give the directory for the run (or leave --out out).")
        run = cls(path, numbered)
        target = run.path
        if numbered:
            while lexists(run.path):
                run.path = target.with_name(f"{target.name}-{_next_number(run.path, target)}")
            run._check_writable()
            return run
        if lexists(target) and target.is_symlink() and not target.is_dir():
            raise DataError(f"--out {_describe(target)} is a link to no folder; give a directory.")
        if lexists(target) and not target.is_dir():
            raise DataError(f"--out {_describe(target)} is a file; give a directory for the run.")
        if lexists(target):
            entries = run._entries()
            if lexists(target / "config.toml"):
                raise DataError(already_a_run(target))
            if entries:
                shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
                raise DataError(
                    f"--out {_describe(target)} holds other files ({shown}); give a new or "
                    "empty directory for the run, so that nothing of yours is overwritten."
                )
        run._check_writable()
        return run

    @classmethod
    def existing(cls, path: str | os.PathLike) -> RunDirectory:
        """``path`` checked as a run directory: it exists, holds a run's files, and no links."""
        run = cls(path)
        if not lexists(run.path) or not run.path.is_dir():
            raise DataError(
                f"The run directory {_describe(run.path)} does not exist; give the directory that "
                "`seqkit run --out` wrote."
            )
        if not all((run.path / name).is_file() for name in MARKERS):
            raise DataError(
                f"{_describe(run.path)} is not a run directory (no config.toml and task.json); "
                "give the directory that `seqkit run --out` wrote."
            )
        run.check_no_links()
        return run

    def _entries(self) -> list[str]:
        try:
            return os.listdir(self.path)
        except OSError as exc:
            raise os_problem(self.path, exc, "read the folder") from None

    def _check_writable(self) -> None:
        """The nearest existing folder of the path can be written (or a clear error)."""
        probe = self.path
        while not lexists(probe):
            if probe.parent == probe:
                break
            probe = probe.parent
        if lexists(probe) and not probe.is_dir():
            raise os_problem(self.path, OSError(errno.ENOTDIR, "not a folder"), "make the run in")
        if not os.access(probe, os.W_OK | os.X_OK):
            error = errno.EROFS if _read_only(probe) else errno.EACCES
            raise os_problem(self.path, OSError(error, ""), "make the run in")

    def check_no_links(self) -> None:
        """A DataError naming the first symbolic link inside the run directory."""
        for folder, folders, files in os.walk(self.path):
            for name in sorted(folders + files):
                path = Path(folder) / name
                if path.is_symlink():
                    raise DataError(
                        f"{_describe(path)} is a symbolic link inside the run directory: a run's "
                        "files are never links, so it is damaged; remove the link (restore the "
                        "file) and try again."
                    )

    # -- the lock ------------------------------------------------------------------------------

    def lock(self) -> None:
        """Take the run's lock (``run.lock``) for this process, or refuse in one line: another
        process holds it. The operating system drops it when the process ends, however it ends,
        so a lock left by a killed run is no lock. ``unlock`` removes the file while holding it;
        a lock taken on a file removed meanwhile is taken again on the new one."""
        import fcntl

        path = self._inside(LOCK_FILE)
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise os_problem(path, exc, "open the lock file") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise DataError(
                    f"The run {_describe(self.path)} is in use by another seqkit process (pid "
                    f"{holder}, {LOCK_FILE}); wait for it to finish, or stop it, then try again."
                ) from None
            if _same_file(fd, path):
                self._lock_fd = fd
                return
            os.close(fd)  # its holder removed that file as it let go: lock the new one

    def claim_lock(self) -> None:
        """Write this process's id into the held lock file (for the message others see)."""
        if self._lock_fd is not None:
            os.ftruncate(self._lock_fd, 0)
            os.pwrite(self._lock_fd, f"{os.getpid()}\n".encode(), 0)

    def unlock(self) -> None:
        """Let go of the lock and remove ``run.lock``: a run at rest holds no lock file."""
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path / LOCK_FILE)  # while held, so that no one locks it meanwhile
            os.close(self._lock_fd)  # closing the descriptor releases the lock
            self._lock_fd = None

    # -- writing -------------------------------------------------------------------------------

    def create(self) -> None:
        """Make the run's folder (and its parents), remembering which it made. The run's own
        folder is made atomically: where another process made it since the checks, a numbered
        run (``for_new_run(..., numbered=True)``, the default ``runs/<time>``) takes the next
        free name (``-2``, ``-3``, ...); a named ``--out`` is refused in one line."""
        missing = []
        probe = self.path
        while not lexists(probe):
            missing.append(probe)
            probe = probe.parent
        if self.numbered and not missing:  # taken since the checks: the next name will do
            missing = [self.path]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if missing:
                self._make_own_folder(missing)
        except OSError as exc:
            raise os_problem(self.path, exc, "make the run directory") from None
        self._made = missing

    def _make_own_folder(self, missing: list[Path]) -> None:
        base, number = self.path, 1
        while True:
            try:
                os.mkdir(self.path)
                missing[0] = self.path
                return
            except FileExistsError:
                if not self.numbered:
                    raise DataError(
                        f"--out {str(self.path)!r} was made by another process while this run "
                        "started; give each run its own --out."
                    ) from None
                number += 1
                self.path = base.with_name(f"{base.name}-{number}")

    def remove_created(self) -> None:
        """Undo ``create`` for a run that failed before it trained: the run's own folder (which
        only this locked run writes) and then each parent folder it made, innermost first, only
        while it is empty: a folder that another run (or anything else) has since put files in
        is left as it is."""
        import shutil

        if not self._made:
            return
        run_folder, *parents = self._made  # innermost first: the run's folder, then its parents
        shutil.rmtree(run_folder, ignore_errors=True)
        for parent in parents:
            try:
                os.rmdir(parent)  # only an empty folder goes
            except OSError:
                break
        self._made = []

    def _inside(self, *parts: str) -> Path:
        """The path of ``parts`` in the run; an error where it would lead out of the run or
        through a link."""
        root = self.path.resolve()
        path = self.path.joinpath(*parts)
        for depth in range(1, len(parts) + 1):
            step = self.path.joinpath(*parts[:depth])
            if step.is_symlink():
                raise DataError(
                    f"{_describe(step)} is a symbolic link inside the run directory: a run's "
                    "files are never links, so it is damaged; remove the link (restore the "
                    "file) and try again."
                )
        if root not in path.resolve().parents and path.resolve() != root:
            raise DataError(f"{_describe(path)} lies outside the run directory {root}.")
        return path

    def folder(self, *parts: str) -> Path:
        """A real folder inside the run (made where missing), for files TensorFlow writes."""
        for depth in range(1, len(parts) + 1):
            path = self._inside(*parts[:depth])
            if not path.is_dir():
                try:
                    os.mkdir(path)
                except OSError as exc:
                    raise os_problem(path, exc, "make the folder") from None
        return self._inside(*parts)

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write ``name`` whole or not at all: a new temporary file (never a link), synced, then
        renamed over the old file."""
        target = self._inside(name)
        try:
            fd, temporary = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
            )
        except OSError as exc:
            raise os_problem(target, exc, "write") from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise os_problem(target, exc, "write") from None
        return target

    def write_text(self, name: str, text: str) -> Path:
        """``write_bytes`` of UTF-8 text."""
        return self.write_bytes(name, text.encode("utf-8"))

    def append_text(self, name: str, text: str) -> None:
        """Append UTF-8 text to ``name`` in one write (made where missing; never through a link).
        A file with other hard links (a copy made with ``cp -l``, a backup) is first replaced by
        a file of its own, so that the other names keep their bytes."""
        target = self._inside(name)
        if lexists(target) and os.lstat(target).st_nlink > 1:
            self.write_bytes(name, target.read_bytes())
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(target, flags, 0o644)
            try:
                os.write(fd, text.encode("utf-8"))
            finally:
                os.close(fd)
        except OSError as exc:
            raise os_problem(target, exc, "write") from None

    # -- reading -------------------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        return lexists(self.path / name)

    def read_text(self, name: str) -> str:
        """A file of the run as text (undecodable bytes replaced)."""
        path = self._inside(name)
        try:
            return path.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            raise os_problem(path, exc, "read") from None

    def read_json(self, name: str, what: str):
        """A JSON file of the run; a damaged one is a DataError that names it."""
        path = self._inside(name)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise DataError(
                f"{str(path)!r} ({what}) is not valid JSON: the run directory is damaged; "
                "restore the file from a copy or start a new run."
            ) from None
        except OSError as exc:
            raise os_problem(path, exc, "read") from None


def _same_file(fd: int, path: Path) -> bool:
    """Whether the open ``fd`` is still the file at ``path``."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False))
    except OSError:
        return False


def already_a_run(path: Path) -> str:
    """The one line for a new run pointed at a folder that holds a run, for the CLI and Python."""
    return (
        f"{str(path)!r} already holds a run; continue it (seqkit run --resume {path}, or "
        "resume=True in seqkit.train) or give the new run another directory (--out)."
    )


def _next_number(current: Path, base: Path) -> int:
    """2 after ``base``, then one more than ``current``'s suffix."""
    return 2 if current == base else int(current.name.rsplit("-", 1)[1]) + 1


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False
