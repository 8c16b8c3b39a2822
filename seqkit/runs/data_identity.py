"""What a run's data was, so that data changed since training is never used without a word.

    info["data"] = data_record(train_batches, eval_batches)    # kept in task.json
    check_same_data(data_record(...), info, "runs/x", "resume")  # a DataError where it changed

A record holds a SHA-256 of the training batches and one of the validation batches (every
array's dtype, shape and bytes, in order), and the working folder the run started in, which
names where a relative data path was read from. A task's data reads the same on every machine
(generated data comes from its seed), so a fingerprint that differs means other data: a
corpus edited, a labels file renamed, or a relative path read from another folder.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from seqkit.data.token_files import RECORD
from seqkit.data.token_streams import Streams
from seqkit.errors import DataError
from seqkit.interfaces import SequenceBatch

ACCEPT_HINT = "--accept-changed-data (accept_changed_data=True in Python)"


def batches_fingerprint(batches: Iterable[SequenceBatch]) -> str:
    """A SHA-256 of every array of ``batches``: inputs, targets, mask and context, in order."""
    digest = hashlib.sha256()
    for batch in batches:
        for part in (batch.inputs, batch.targets, batch.mask, batch.context):
            _add(digest, part)
    return digest.hexdigest()


def _add(digest, value) -> None:
    if isinstance(value, Streams):
        _add_streams(digest, value)
    elif value is None:
        digest.update(b"none;")
    elif isinstance(value, dict):
        for key in sorted(value):
            digest.update(f"{key}:".encode())
            _add(digest, value[key])
    elif isinstance(value, list | tuple):
        for item in value:
            _add(digest, item)
    else:
        array = np.ascontiguousarray(np.asarray(value))
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(array.tobytes())


def _add_streams(digest, streams: Streams) -> None:
    """Lazy streams of a token file without reading the corpus: the token file's own record
    (a SHA-256 of its sources, its tokenisation and vocabulary) and where the streams lie in
    it; streams of an array in memory by the array's bytes."""
    ids = streams.ids
    record = Path(ids.filename).parent / RECORD if isinstance(ids, np.memmap) else None
    if record is not None and record.is_file():
        digest.update(record.read_bytes())
    else:
        for start in range(0, len(ids), 1 << 24):  # bounded memory, whatever the size
            digest.update(np.ascontiguousarray(ids[start : start + (1 << 24)]).tobytes())
    _add(digest, [streams.starts, np.asarray(streams.columns), streams.remap])


def data_record(train_batches, eval_batches) -> dict:
    """What ``task.json`` keeps of the data: its fingerprints and the folder the run began in."""
    return {
        "train_sha256": batches_fingerprint(train_batches),
        "eval_sha256": batches_fingerprint(eval_batches),
        "working_directory": os.getcwd(),
    }


def check_same_data(now: dict, saved_info: dict, where: str, splits=("train", "eval")) -> None:
    """A DataError where the data of ``splits`` differs from what the run recorded (runs made
    before the record was kept are not checked)."""
    saved = saved_info.get("data")
    if not saved:
        return
    changed = [s for s in splits if now.get(f"{s}_sha256") != saved.get(f"{s}_sha256")]
    if not changed:
        return
    names = {"train": "training", "eval": "validation"}
    what = " and ".join(names[s] for s in changed) + " data"
    began = saved.get("working_directory")
    moved = (
        f"; the run began in {began!r}, and a relative data path in its config is read from "
        f"the current folder {os.getcwd()!r}: run from {began!r}"
        if began and began != os.getcwd()
        else ""
    )
    raise DataError(
        f"The task's {what} differ from what the run {where!r} trained on (task.json's "
        f"fingerprint): the data file changed or another one is read{moved}. Use the run's own "
        f"data, or give {ACCEPT_HINT} to go on with this data."
    )
