"""The checkpoints of a run directory: saved whole, checked on the way back in, and the one
before used when the newest is damaged.

    checkpoints = RunCheckpoints(checkpoint, run)        # run: a RunDirectory
    checkpoints.save_last(step); checkpoints.save_best(step)
    last = run.path / "checkpoints" / "last"
    path = restore_newest_intact(checkpoint, last, run.path, warn=print)

A checkpoint is never half-written where seqkit looks for one: ``tf.train.Checkpoint`` writes
the data into a temporary folder, then moves it in and writes the ``.index`` (which holds a
CRC32C of every tensor) last, through a temporary file and a rename; the manager records the
new checkpoint in its ``checkpoint`` file (atomically) only after that. A checkpoint whose
files were damaged or cut short afterwards fails ``verify`` (a missing file, a short read or a
checksum that does not match): it is reported, renamed ``*.damaged``, and the one before it is
used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

from seqkit.errors import DataError
from seqkit.runs.directory import RunDirectory

KEEP_LAST = 3  # checkpoints kept in checkpoints/last: two to fall back on
FOLDER = "checkpoints"


class RunCheckpoints:
    """The last three checkpoints of a run (``checkpoints/last``) and its best by validation
    (``checkpoints/best``), saved into real folders of the run directory."""

    def __init__(self, checkpoint: tf.train.Checkpoint, run: RunDirectory):
        self.checkpoint, self.run = checkpoint, run
        self._last = self._best = None

    def _manager(self, which: str, keep: int) -> tf.train.CheckpointManager:
        folder = self.run.folder(FOLDER, which)  # checked: no link on the way
        return tf.train.CheckpointManager(self.checkpoint, str(folder), keep)

    @property
    def latest(self) -> str | None:
        """The newest checkpoint in checkpoints/last (its prefix), or None."""
        found = saved_checkpoints(self.run.path / FOLDER / "last")
        return found[0] if found else None

    def save_last(self, step: int) -> str:
        if self._last is None:
            self._last = self._manager("last", KEEP_LAST)
        return self._save(self._last, step)

    def save_best(self, step: int) -> str:
        if self._best is None:
            self._best = self._manager("best", 1)
        return self._save(self._best, step)

    def _save(self, manager: tf.train.CheckpointManager, step: int) -> str:
        try:
            return manager.save(checkpoint_number=step)
        except (tf.errors.OpError, OSError) as exc:  # a full disk, a vanished folder, ...
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            kept = step_of(self.latest) if self.latest else None
            where = f"the checkpoint of step {kept} is intact" if kept else "no checkpoint is kept"
            raise DataError(
                f"Saving the checkpoint of step {step} into {manager.directory!r} failed "
                f"({type(exc).__name__}: {first[:120]}); {where}: free space (or fix the "
                f"folder), then `seqkit run --resume {self.run.path}`."
            ) from None


def saved_checkpoints(directory: Path) -> list[str]:
    """The checkpoint prefixes in ``directory`` that have an index, newest (highest) first.

    The folder is read, not the manager's ``checkpoint`` file, so that a checkpoint written
    whole but not yet recorded (a kill between the two) still counts."""
    found = []
    for index in Path(directory).glob("ckpt-*.index"):
        match = re.fullmatch(r"ckpt-(\d+)\.index", index.name)
        if match:
            found.append((int(match.group(1)), str(index.with_suffix(""))))
    return [prefix for _, prefix in sorted(found, reverse=True)]


def verify(prefix: str) -> str | None:
    """Why the checkpoint ``prefix`` cannot be read back (None when every tensor reads with a
    matching checksum)."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        for key in reader.get_variable_to_dtype_map():
            reader.get_tensor(key)  # reads the bytes and checks their CRC32C
    except Exception as exc:  # the reader raises OpError, IndexError (a short read), ...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"{type(exc).__name__}: {first[:160]}"
    return None


def set_aside(prefix: str) -> None:
    """Rename the files of a damaged checkpoint ``*.damaged``, so that no reader picks it."""
    for path in Path(prefix).parent.glob(Path(prefix).name + ".*"):
        if not path.name.endswith(".damaged"):
            path.replace(path.with_name(path.name + ".damaged"))


def restore_newest_intact(
    checkpoint: tf.train.Checkpoint | Callable[[str], tf.train.Checkpoint],
    directory: Path,
    run_dir: Path,
    warn: Callable[[str], None],
    partial: bool = False,
    keep_damaged: bool = False,
) -> str | None:
    """Restore the newest intact checkpoint of ``directory`` into ``checkpoint`` (or into
    ``checkpoint(prefix)``: what that checkpoint holds); its prefix, or None where there is
    none. Damaged ones are reported through ``warn`` and set aside (left as they are with
    ``keep_damaged``, for commands that only read a run). ``partial``: the checkpoint may hold
    more than ``checkpoint`` (the model only)."""
    for prefix in saved_checkpoints(directory):
        problem = verify(prefix)
        if problem is not None:
            done = "it is left as it is" if keep_damaged else "it is renamed *.damaged"
            warn(
                f"The checkpoint {prefix!r} is damaged ({problem}); {done} and the one "
                "before it is used."
            )
            if not keep_damaged:
                set_aside(prefix)
            continue
        try:
            into = checkpoint if isinstance(checkpoint, tf.train.Checkpoint) else checkpoint(prefix)
            status = into.restore(prefix)
            status.expect_partial() if partial else status.assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DataError(
                f"The checkpoint {prefix!r} of {str(run_dir)!r} does not match the model its "
                f"config builds ({first[:160]}); resume with the run's own config.toml and "
                "vocab.json."
            ) from None
        return prefix
    return None


def step_of(prefix: str | None) -> int:
    """The step in a checkpoint's name (``ckpt-15``: 15); 0 for none."""
    return int(prefix.rsplit("-", 1)[1]) if prefix else 0
