"""The files that describe a run: ``run.json`` (the directory's format, and whether the run's
end was written), ``task.json`` (the model's sizes, the target form, the baselines, the
vocabulary's fingerprint) and ``vocab.json`` (a language model's tokens).

    write_format(run, finished_step=None)       # run.json; a newer format is refused on read
    info = read_task_info(run)                  # checked: a damaged task.json is one line
    vocabulary = read_vocabulary(run, info)     # checked against task.json's fingerprint
"""

from __future__ import annotations

from seqkit.data.vocabulary import TextVocabulary
from seqkit.errors import DataError
from seqkit.runs.directory import RunDirectory
from seqkit.validation import is_whole_number
from seqkit.version import __version__

# The layout of a run directory. Raise it when a file changes meaning; a seqkit that finds a
# higher number refuses the run rather than misread it. Runs without run.json are format 1.
# Format 2: metrics.csv holds a training row every train.log_every updates beside the
# validation rows; vocab.json a record; task.json the vocabulary's fingerprint.
RUN_FORMAT = 2
FORMAT_FILE = "run.json"
TASK_FILE = "task.json"
VOCABULARY_FILE = "vocab.json"


def read_format(run: RunDirectory) -> dict:
    """``run.json`` as a dict (``{"format": 1}`` where there is none), checked."""
    if not run.exists(FORMAT_FILE):
        return {"format": 1}  # written before run.json existed
    try:
        record = run.read_json(FORMAT_FILE, "the run's format")
        found = record["format"]
        if not is_whole_number(found):
            raise TypeError
    except (DataError, KeyError, TypeError):
        raise DataError(
            f"{str(run.path / FORMAT_FILE)!r} is damaged (expected JSON with an integer "
            f"'format'); restore it or write {{\"format\": {RUN_FORMAT}}} into it."
        ) from None
    if found > RUN_FORMAT:
        writer = record.get("seqkit")
        by = f"seqkit {writer}" if isinstance(writer, str) else "a newer seqkit"
        raise DataError(
            f"The run {str(run.path)!r} was written by {by} in run format {found}; this seqkit "
            f"reads formats up to {RUN_FORMAT}: upgrade seqkit to read it."
        )
    return record


def check_resumable(run: RunDirectory, record: dict) -> None:
    """A run of an older format can be read but not continued in this format."""
    if record["format"] < RUN_FORMAT:
        raise DataError(
            f"The run {str(run.path)!r} is in run format {record['format']}, which this seqkit "
            f"reads (sample, eval, export) but does not continue (format {RUN_FORMAT}); start "
            "a new run."
        )


def write_format(run: RunDirectory, finished_step: int | None = None) -> None:
    """``run.json``: the format, the seqkit that wrote it, and the step whose end (final
    checkpoint, sample and plot) was written, if any."""
    import json

    record = {"format": RUN_FORMAT, "seqkit": __version__}
    if finished_step is not None:
        record["finished_step"] = int(finished_step)
    run.write_text(FORMAT_FILE, json.dumps(record, indent=1) + "\n")


def _damaged_task(run: RunDirectory, what: str) -> DataError:
    return DataError(
        f"{str(run.path / TASK_FILE)!r} {what}: the run directory is damaged; restore the file "
        "or start a new run."
    )


def read_task_info(run: RunDirectory) -> dict:
    """``task.json``, checked: ``model_dims`` holds positive integer sizes, ``output_size`` and
    ``vocab_size`` or ``input_size`` among them."""
    info = run.read_json(TASK_FILE, "the task's sizes")
    dims = info.get("model_dims") if isinstance(info, dict) else None
    if not isinstance(dims, dict):
        raise _damaged_task(run, "lacks the model's sizes (model_dims)")
    for key, value in dims.items():
        if not is_whole_number(value) or value < 1:
            raise _damaged_task(run, f"gives model_dims.{key} = {value!r}, not a positive integer")
    if "output_size" not in dims or not ({"vocab_size", "input_size"} & set(dims)):
        raise _damaged_task(run, "lacks output_size, or both vocab_size and input_size")
    info.setdefault("baselines", {})
    info.setdefault("target_form", "step")
    return info


def read_vocabulary(run: RunDirectory, info: dict) -> TextVocabulary | None:
    """A run's ``vocab.json`` (None where it has none), checked against ``task.json``: the
    model's vocabulary size, and the fingerprint of the tokens in order where recorded."""
    if not run.exists(VOCABULARY_FILE):
        return None
    path = str(run.path / VOCABULARY_FILE)
    try:
        vocabulary = TextVocabulary.from_json(run.read_json(VOCABULARY_FILE, "the tokens"))
    except DataError as exc:
        raise DataError(f"{path!r} is not a vocabulary ({exc}); restore the run's own.") from None
    size = info["model_dims"].get("vocab_size")
    if size is not None and len(vocabulary) != size:
        raise DataError(
            f"{path!r} holds {len(vocabulary)} tokens, but the run's model reads {size} "
            "(task.json): the vocabulary does not match the run; restore the run's own "
            "vocab.json."
        )
    recorded = info.get("vocabulary_sha256")
    if recorded is not None and recorded != vocabulary.fingerprint():
        raise DataError(
            f"{path!r} is not the vocabulary this run trained with (its tokens or their order "
            "changed, task.json's fingerprint differs), so every id would change meaning; "
            "restore the run's own vocab.json."
        )
    return vocabulary
