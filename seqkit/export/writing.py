"""``export_run``: a run's model written to a file or folder the user names, checked first.

    export_run(run, "torch", Path("model.npz"))        # torch.nn.LSTM names and layouts
    export_run(run, "saved_model", Path("exported/"))  # runs where seqkit is not installed

The output must be new (an existing file, or a folder that is not empty, is refused), its
folder must exist, and a file system that refuses the write is one line, not a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

from seqkit.errors import os_reason
from seqkit.export.errors import ExportError

DEFAULT_BEAM_WIDTH = 4  # an export's beam search where the run's config asks for none


def _problem(out: Path, exc: OSError) -> ExportError:
    why = os_reason(exc)
    return ExportError(f"Cannot write {str(out)[:200]!r}: {why}; give another path.")


def _check_parent(out: Path) -> None:
    parent = out.parent if str(out.parent) else Path(".")
    try:
        if parent.exists() and not parent.is_dir():
            raise ExportError(
                f"{str(parent)!r} (the folder of {str(out)!r}) is a file, not a folder; give "
                "another path."
            )
        if not parent.is_dir():
            raise ExportError(
                f"The folder {str(parent)!r} of {str(out)!r} does not exist; make it first or "
                "give another path."
            )
    except OSError as exc:
        raise _problem(out, exc) from None


def write_torch(model, out: Path) -> Path:
    """The weights as an .npz of torch names, written to a new file (never through a link)."""
    import numpy as np

    from seqkit.export.torch_format import torch_state_dict

    if out.suffix != ".npz":
        raise ExportError("--format torch writes an .npz file; give OUT a name like model.npz.")
    _check_parent(out)
    weights = torch_state_dict(model)  # refuses a model torch has no module for
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(out, flags, 0o644)
    except FileExistsError:
        raise ExportError(f"{str(out)!r} already exists; give a new file name.") from None
    except OSError as exc:
        raise _problem(out, exc) from None
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **weights)
    except OSError as exc:
        out.unlink(missing_ok=True)
        raise _problem(out, exc) from None
    return out


def beam_width_of(run, given: int | None) -> int:
    """The beam width of an export's ``decode_beam``: ``given``, else the run's
    ``sample.beam_width`` where it asks for a beam search, else ``DEFAULT_BEAM_WIDTH``."""
    if given is not None:
        return given
    width = run.config["sample"]["beam_width"]
    return width if width > 1 else DEFAULT_BEAM_WIDTH


def write_saved_model(run, out: Path, beam_width: int | None = None) -> Path:
    """A SavedModel of ``run``'s model into a new (or empty) folder: a character model's
    ``generate`` and ``step``, a seq2seq or CTC model's ``decode`` and ``decode_beam``, or for
    any other task its ``predict`` in the task's terms."""
    from seqkit.export.ctc_export import export_ctc
    from seqkit.export.predictor import export_predictor
    from seqkit.export.saved_model import export_saved_model
    from seqkit.export.seq2seq_export import export_seq2seq

    _check_parent(out)
    try:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ExportError(
                f"{str(out)!r} already exists and is not an empty directory; "
                "give a new directory to export to."
            )
        vocabulary = run.vocabulary
        if vocabulary is not None and vocabulary.separator == "":
            return export_saved_model(run.model, "".join(vocabulary.tokens), out)
        task = run.task
        if task.target_form == "seq2seq":
            width = beam_width_of(run, beam_width)
            return export_seq2seq(run.model, task.serving_terms(), width, out)
        if task.target_form == "unaligned":
            width = beam_width_of(run, beam_width)
            return export_ctc(run.model, task.serving_terms(), width, out)
        return export_predictor(run.model, task.serving_terms(), task.target_form, out)
    except OSError as exc:
        raise _problem(out, exc) from None


def export_run(run, format: str, out: Path, beam_width: int | None = None) -> Path:  # noqa: A002
    """Write ``run``'s model in ``format`` (``"torch"`` or ``"saved_model"``) to ``out``; a
    seq2seq or transcribe SavedModel's ``decode_beam`` searches ``beam_width`` (see
    ``beam_width_of``)."""
    import tensorflow as tf

    from seqkit.models.seq2seq import Seq2SeqModel
    from seqkit.models.sequence import SequenceModel

    kind = type(run.model).__name__
    if format == "torch" and not isinstance(run.model, SequenceModel):
        raise ExportError(
            f"--format torch writes a single stack (a torch.nn.LSTM, GRU or RNN); this run's "
            f"model is a {kind}, which torch.nn has no module for: export it with --format "
            "saved_model."
        )
    if not isinstance(run.model, SequenceModel | Seq2SeqModel):
        raise ExportError(
            f"export writes a SequenceModel or a Seq2SeqModel; the run's model is a {kind}: "
            "read it with seqkit.open_run, or its state_dict()."
        )
    try:
        if format == "torch":
            return write_torch(run.model, out)
        return write_saved_model(run, out, beam_width)
    except tf.errors.OpError as exc:  # TensorFlow's file system layer: a read-only disk, ...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportError(
            f"Cannot write {str(out)[:200]!r}: {first[:160]}; give another path."
        ) from None
