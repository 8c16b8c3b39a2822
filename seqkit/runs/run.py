"""``Run``: a run directory read back, and ``open_run``.

    run = seqkit.open_run("runs/demo")               # the best checkpoint's model
    run.config["model"]["hidden_size"], run.step     # 256, 1500
    run.metrics[-1]                                  # {"step": 2000, "val_loss": 1.24, ...}
    run.sample(prime="The ", length=200, seed=1)     # text, for a language model's run
    run.evaluate()                                   # {"loss": 1.24, "bpc": 1.79}
    run.evaluate(corpus="other.txt")
    run.export("torch", "model.npz")

``seqkit sample``, ``eval`` and ``export`` call these, and nothing else.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import tensorflow as tf

from seqkit.config.files import Config, load_config
from seqkit.data.vocabulary import TextVocabulary
from seqkit.errors import DataError, OptionError
from seqkit.interfaces import CorpusTask, DecodingTask, Task
from seqkit.interfaces.cell import state_sizes
from seqkit.option_words import UNKNOWN_POLICIES
from seqkit.runs.checkpoints import restore_newest_intact
from seqkit.runs.data_identity import batches_fingerprint, check_same_data
from seqkit.runs.directory import RunDirectory
from seqkit.runs.logs import METRICS_FILE, parse_rows
from seqkit.runs.records import read_format, read_task_info, read_vocabulary
from seqkit.training.progress import TrainingProgress
from seqkit.validation import is_whole_number, real_number, whole_number

CHECKPOINTS = ("best", "last")
EXPORT_FORMATS = ("saved_model", "torch")


class Run:
    """A run: its directory, config, model (restored from one checkpoint), task and metrics."""

    def __init__(self, path, config: Config, model, step: int, checkpoint: str,
                 task: Task | None = None, vocabulary: TextVocabulary | None = None,
                 task_info: dict | None = None):  # fmt: skip
        self.path = Path(path)
        self.task_info = task_info or {}  # task.json: the model's sizes, the baselines
        self.config, self.model, self.step, self.checkpoint = config, model, step, checkpoint
        self._task, self.vocabulary = task, vocabulary
        self._sampler = None
        self.accept_changed_data = False  # evaluate(): validation data other than the run's

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, step={self.step}, checkpoint={self.checkpoint!r})"

    @property
    def task(self) -> Task:
        """The run's task, built from its config (with the run's vocabulary) on first use."""
        if self._task is None:
            from seqkit.runs.checks import check_task_dims
            from seqkit.runs.compose import build_task, task_info

            task = build_task(self.config, vocabulary=self.vocabulary)
            if isinstance(task, DecodingTask):  # its vocabularies come from its data file
                check_task_dims(task_info(task), self.task_info, str(self.path))
            self._task = task
        return self._task

    @property
    def metrics(self) -> list[dict]:
        """metrics.csv's rows as dicts (the step an int, other cells floats, empty ones None)."""
        path = self.path / METRICS_FILE
        return parse_rows(path.read_text(encoding="utf-8")) if path.is_file() else []

    def scorer(self, beam_width: int | None = None):
        """The one definition of the run's scores (as validation computes them); a decoding
        task's beam width is ``sample.beam_width`` unless given."""
        from seqkit.runs.compose import build_loss, loss_name
        from seqkit.runs.scoring import Scorer

        task = self.task
        derived = loss_name(self.config, task) == task.default_loss
        width = self.config["sample"]["beam_width"] if beam_width is None else beam_width
        _check_beam_width(width)
        return Scorer(task, build_loss(self.config, task), derived, width)

    def sample(self, prime: str = "", length: int | None = None, temperature: float | None = None,
               seed: int | None = None) -> str:  # fmt: skip
        """Text from the model: the prime, then ``length`` generated tokens. Defaults come from
        the run's ``[sample]`` section; temperature 0 always takes the likeliest token."""
        from seqkit.config.keys import MAX_SAMPLE_LENGTH
        from seqkit.decoding.sampling import Sampler, prime_ids

        if self.vocabulary is None:
            raise DataError(
                f"The run {str(self.path)!r} trained task {self.config['task']['name']!r}, which "
                "does not predict text: only a language model's run can be sampled."
            )
        settings = self.config["sample"]
        length = settings["length"] if length is None else length
        temperature = settings["temperature"] if temperature is None else temperature
        seed = settings["seed"] if seed is None else seed
        _check_sampling(length, temperature, seed, MAX_SAMPLE_LENGTH, 2**63)
        ids = prime_ids(self.vocabulary, prime)
        if self._sampler is None:
            self._sampler = Sampler(self.model)
        generated = self._sampler(ids, length, float(temperature), seed)
        return self.vocabulary.decode([*ids, *generated])

    def evaluate(self, corpus: str | None = None, beam_width: int | None = None,
                 unknown: str | None = None) -> dict:  # fmt: skip
        """The run's scores on its validation split, or on all of ``corpus`` (a file as the
        task reads its data: a language model's text, a labelled task's file): ``{"loss":
        ..., **metrics}``, as validation computes them; a decoding task's decoded metrics with
        ``beam_width`` (``sample.beam_width`` unless given). ``unknown``: what becomes of a
        token of ``corpus`` the run never saw, ``"refuse"``, ``"skip"`` or ``"map"`` (to the
        unknown token); None: the task's default."""
        batch_size = self.config["train"]["batch_size"]
        scorer = self.scorer(beam_width)
        if corpus is None:
            batches = self.task.eval_batches(batch_size)
            if not self.accept_changed_data:
                found = {"eval_sha256": batches_fingerprint(batches)}
                check_same_data(found, self.task_info, str(self.path), splits=("eval",))
            return scorer(self.model, batches)
        return scorer(self.model, corpus_batches(self, corpus, batch_size, unknown))

    def decode(self, source: str, beam_width: int | None = None) -> str:
        """The model's output for one ``source`` as the task reads it (a date in words, a typed
        digit string rendered as frames), as text: greedy, or a beam search of ``beam_width``
        (``sample.beam_width`` unless given)."""
        return self.decode_all([source], beam_width)[0]

    def decode_all(self, sources, beam_width: int | None = None) -> list[str]:
        """``decode`` of each of ``sources``, a batch (``train.batch_size``) at a time."""
        task = self.task
        if not isinstance(task, DecodingTask):
            raise DataError(
                f"The run {str(self.path)!r} trained task {self.config['task']['name']!r}, which "
                "decodes no sources: --source is for a seq2seq or transcribe run."
            )
        width = self.config["sample"]["beam_width"] if beam_width is None else beam_width
        _check_beam_width(width)
        sources = list(sources)
        for number, source in enumerate(sources, 1):
            if not isinstance(source, str) or not source.strip():
                where = f" (source {number})" if len(sources) > 1 else ""
                raise OptionError(
                    f"--source must be some text to decode, e.g. '5 march 1991'{where}."
                )
        size, decoded = self.config["train"]["batch_size"], []
        for start in range(0, len(sources), size):
            batch = task.read_sources(sources[start : start + size])
            decoded += [task.target_text(ids) for ids in task.decode(self.model, batch, width)]
        return decoded

    def export(self, format: str, out, beam_width: int | None = None) -> Path:  # noqa: A002
        """Write the model to ``out``: ``"saved_model"`` (a folder that runs without seqkit,
        answering in the task's terms: a seq2seq or transcribe run's decodes, greedy and by a
        beam search of ``beam_width``, ``sample.beam_width`` unless given, 4 where that is 1)
        or ``"torch"`` (an .npz of torch.nn.LSTM/GRU/RNN weights; not a seq2seq run's)."""
        from seqkit.export.writing import export_run

        if format not in EXPORT_FORMATS:
            raise OptionError(f"export: format must be 'saved_model' or 'torch', got {format!r}.")
        if beam_width is not None:
            _check_beam_width(beam_width)
            if format != "saved_model" or not isinstance(self.task, DecodingTask):
                raise OptionError(
                    "--beam-width is for the SavedModel of a seq2seq or transcribe run (its "
                    "decode_beam); leave it out."
                )
        return export_run(self, format, Path(out), beam_width)


def corpus_batches(run: Run, corpus, batch_size: int, unknown: str | None):
    """The batches of ``corpus`` in the run's task, ``unknown`` passed where it is given; a
    DataError where the task reads no other file."""
    task = run.task
    if not isinstance(task, CorpusTask):
        raise DataError(
            f"--corpus is for a task that can read another file (a language model, classify, "
            f"tag); the run {str(run.path)!r} trained task {run.config['task']['name']!r}."
        )
    if unknown is None:
        return task.corpus_batches(corpus, batch_size)
    if unknown not in UNKNOWN_POLICIES:
        raise OptionError(f"unknown must be 'refuse', 'skip' or 'map', got {unknown!r}.")
    if "unknown" not in inspect.signature(task.corpus_batches).parameters:
        raise OptionError(
            f"The task {run.config['task']['name']!r} takes no --unknown: its corpus_batches "
            "has no 'unknown' option; leave it out."
        )
    return task.corpus_batches(corpus, batch_size, unknown=unknown)


def _check_beam_width(width) -> None:
    whole_number("--beam-width", width, 1, 256)


def _check_sampling(length, temperature, seed, max_length: int, seed_limit: int) -> None:
    whole_number("--length", length, 1, max_length, hint="give e.g. 200")
    real_number(
        "--temperature",
        temperature,
        minimum=0,
        below=float("inf"),
        allowed="0 (the likeliest character) or more",
        hint="give e.g. 0.8",
    )
    if not is_whole_number(seed) or not 0 <= seed < seed_limit:
        raise OptionError(f"--seed must be a whole number from 0 to 2^63 - 1, got {seed!r}.")


def open_run(path, checkpoint: str = "best", *, warn=None, accept_changed_data=False) -> Run:
    """The run in ``path``, its model restored from its ``"best"`` (lowest validation loss) or
    ``"last"`` checkpoint; a damaged one is reported through ``warn`` (a function of one
    message; by default a ``RuntimeWarning``), left as it is, and the one before used.
    ``evaluate()`` refuses validation data that differs from the run's unless
    ``accept_changed_data``."""
    from seqkit.runs.compose import build_model

    if checkpoint not in CHECKPOINTS:
        raise OptionError(f"checkpoint must be 'best' or 'last', got {checkpoint!r}.")
    directory = RunDirectory.existing(path)
    read_format(directory)
    info = read_task_info(directory)
    config = load_config(directory.path / "config.toml")
    vocabulary = read_vocabulary(directory, info)
    model = build_model(config, info)
    progress = TrainingProgress(state_sizes(model.cells))
    restored = restore_newest_intact(
        tf.train.Checkpoint(model=model, progress=progress),
        directory.path / "checkpoints" / checkpoint,
        directory.path,
        warn=warn or _warn,
        partial=True,
        keep_damaged=True,  # reading a run changes nothing in it
    )
    if restored is None:
        other = "last" if checkpoint == "best" else "best"
        raise DataError(
            f"The run {str(directory.path)!r} has no intact {checkpoint!r} checkpoint; try "
            f"--checkpoint {other}, or resume the run to write one."
        )
    run = Run(directory.path, config, model, int(progress.step.numpy()), checkpoint,
              vocabulary=vocabulary, task_info=info)  # fmt: skip
    run.accept_changed_data = bool(accept_changed_data)
    return run


def _warn(message: str) -> None:
    import warnings

    warnings.warn(message, RuntimeWarning, stacklevel=3)
