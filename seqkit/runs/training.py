"""``seqkit.train``: a config-driven run, from a config to a trained run directory.

    config = seqkit.load_config(overrides=["model.hidden_size=128", "train.steps=500"])
    run = seqkit.train(config, "runs/small")           # -> seqkit.Run
    run = seqkit.train(None, "runs/small", resume=True)  # goes on (to a higher train.steps)

Every check runs before the first write (``seqkit.runs.preparation``). A new run goes into a
new or empty folder; a resumed one must hold a run, whose lock (``run.lock``) this process holds
until it returns. The run directory gets ``config.toml``, ``run.json``, ``task.json``,
``vocab.json`` (language models), ``metrics.csv``, ``checkpoints/``, ``tensorboard/``,
``loss.png`` and ``samples.txt`` (language models). SIGINT and SIGTERM stop after the current
update with a checkpoint (``TrainingInterrupted``); a NaN stops with the last good checkpoint
kept (``NonFiniteError``). The end of a run (a final validation, checkpoint, sample and plot) is
recorded in run.json; a resume of a run whose end was cut short writes it, and a resume of a
finished run writes nothing.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from seqkit.decoding.sampling import prime_ids
from seqkit.errors import OptionError, TrainingInterrupted
from seqkit.interfaces import LanguageModelTask
from seqkit.runs.checkpoints import step_of
from seqkit.runs.checks import is_streams
from seqkit.runs.directory import MARKERS, already_a_run
from seqkit.runs.failures import training_failures
from seqkit.runs.plot import write_plot
from seqkit.runs.preparation import Prepared, prepare_new, prepare_resume
from seqkit.runs.records import TASK_FILE, VOCABULARY_FILE, write_format
from seqkit.runs.reporting import Progress, RunSummary
from seqkit.runs.run import Run
from seqkit.runs.session import RunParts, RunSession
from seqkit.runs.signals import Interrupts
from seqkit.training.callbacks import Callback

CONFIG_FILE = "config.toml"


def default_out() -> Path:
    """``runs/<date>-<time>``: where a run goes when no folder is named."""
    return Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")


def train(
    config=None,
    out=None,
    *,
    resume: bool = False,
    callbacks: Iterable[Callback] = (),
    progress: Progress | None = None,
    accept_changed_data: bool = False,
) -> Run:
    """Train as ``config`` says (a ``Config``, a TOML path, a dict, or None for the defaults; on
    resume None is the run's own) into the run directory ``out``; return the trained ``Run``.

    ``resume=True`` continues the run in ``out`` from its last intact checkpoint up to
    ``train.steps``; only ``train.*`` keys that the checkpoint does not fix and ``sample.*`` may
    differ from the run's own config. ``callbacks`` are ``seqkit.Callback``s of the trainer;
    ``progress`` receives the run's report (``seqkit.Progress``; None prints nothing).
    A resume refuses data that differs from what the run trained on (``task.json``'s
    fingerprint) unless ``accept_changed_data``.
    """
    progress = progress or Progress()
    if resume:
        if out is None:
            raise OptionError("train(resume=True) needs out: the run directory to continue.")
        prepared = prepare_resume(out, config, progress, accept_changed_data)
    else:
        prepared = prepare_new(default_out() if out is None else out, config, out is None)
    try:
        return _train_prepared(prepared, list(callbacks), progress)
    finally:
        prepared.source.unlock()


def _train_prepared(p: Prepared, callbacks: list, progress: Progress) -> Run:
    trainer, steps = p.trainer, p.config["train"]["steps"]
    if p.resume and trainer.step >= steps and p.record.get("finished_step") == trainer.step:
        return _run_of(p)  # finished: nothing to do, nothing written
    with Interrupts() as interrupts:
        try:
            _open(p)
            parts = p.parts()
            _start_logs(p, parts)
            session = RunSession(parts, progress, interrupts, lambda: _write_config(p))
            started = time.perf_counter()
            if trainer.step < steps:
                progress.started(_summary(p))
                with training_failures(p):
                    _fit(p, steps - trainer.step, [session, *callbacks])
        except BaseException:
            if p.owns_new_folder and trainer.step == 0:
                _forget_new_run(p)  # a new run that never trained leaves nothing behind
            raise
        if interrupts.received:
            _stop_for_signal(p, parts, interrupts)
        _write_config(p)
        with training_failures(p):
            final = _finish(p, parts, session, interrupts, progress)
        progress.finished(trainer.step, time.perf_counter() - started, final)
    if p.directory is not p.source:
        shutil.rmtree(p.directory.path, ignore_errors=True)  # a non-chief worker's copy
    return _run_of(p)


def _open(p: Prepared) -> None:
    """A new run's folder, lock and first files (``config.toml`` last: it marks a run)."""
    directory = p.directory
    if not p.resume or directory is not p.source:
        directory.create()
        if directory is p.source:
            directory.lock()
            if any(directory.exists(name) for name in MARKERS):  # another run started there
                directory.unlock()
                raise OptionError(already_a_run(directory.path))
            p.owns_new_folder = not p.resume  # from here on, a failure empties it again
        write_format(directory)
        directory.write_text(TASK_FILE, json.dumps(p.info, indent=1) + "\n")
        if isinstance(p.task, LanguageModelTask):
            directory.write_text(VOCABULARY_FILE, p.task.vocabulary.to_json())
        directory.write_text(CONFIG_FILE, str(p.config))
    directory.claim_lock()


def _start_logs(p: Prepared, parts: RunParts) -> None:
    """The logs trimmed back to the restored checkpoint's step, and the header in place."""
    step, train = p.trainer.step, p.config["train"]
    parts.metrics.trim(step)
    if parts.samples is not None:
        parts.samples.trim(step)
    if p.resume and p.record.get("finished_step") == step < train["steps"]:  # trains further
        # what only the run's end wrote goes: the rows become an uninterrupted run's
        parts.metrics.blank(step, step % train["log_every"] != 0, step % train["eval_every"] != 0)
    parts.metrics.start()


def _write_config(p: Prepared) -> None:
    """A resumed run's new values, once training with them has started."""
    if p.resume and p.saved_config is not None and p.config != p.saved_config:
        p.directory.write_text(CONFIG_FILE, str(p.config))
        p.saved_config = p.config


def _forget_new_run(p: Prepared) -> None:
    p.directory.unlock()
    p.directory.remove_created()
    if p.directory.path.is_dir():  # an empty folder the user named: empty it again
        for entry in list(p.directory.path.iterdir()):
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


def _fit(p: Prepared, remaining: int, callbacks: list) -> None:
    """``remaining`` updates with the session's and the caller's callbacks."""
    data = p.data[0] if len(p.data) == 1 else p.data  # streams go in as one batch, repeated
    trainer = p.trainer
    before = trainer.callbacks
    trainer.callbacks = [*before, *callbacks]
    try:
        trainer.fit(data, steps=remaining)
    finally:
        trainer.callbacks = before


def _summary(p: Prepared) -> RunSummary:
    model, train, step = p.config["model"], p.config["train"], p.trainer.step
    if is_streams(p.data):
        rows, length = p.data[0].inputs.shape[:2]
        described = f"{rows} streams of {length:,} steps"
    else:
        described = f"{sum(len(b.inputs) for b in p.data):,} sequences in {len(p.data)} batches"
    every, steps = train["eval_every"], train["steps"]
    validations = steps // every - step // every + (1 if steps % every else 0)
    return RunSummary(
        resuming=p.resume, cell=model["cell"], hidden_size=model["hidden_size"],
        num_layers=model["num_layers"], bidirectional=model["bidirectional"],
        runner=type(p.model.runner).__name__, task=p.config["task"]["name"], data=described,
        truncation=type(p.trainer.truncation).__name__, first_step=step + 1, last_step=steps,
        directory=str(p.source.path), baselines=p.info["baselines"],
        validations_left=validations, precision=train["precision"],
    )  # fmt: skip


def _stop_for_signal(p: Prepared, parts: RunParts, interrupts: Interrupts) -> None:
    step, steps = p.trainer.step, p.config["train"]["steps"]
    if step_of(parts.checkpoints.latest) != step:
        parts.checkpoints.save_last(step)
    parts.board.close()
    raise TrainingInterrupted(
        f"Interrupted by {interrupts.name} at step {step} of {steps}; saved a checkpoint. "
        f"Resume with: seqkit run --resume {p.source.path}",
        signal_name=interrupts.name,
        exit_code=interrupts.exit_code,
        step=step,
    )


def _finish(p: Prepared, parts: RunParts, session: RunSession, interrupts, progress) -> str | None:
    """The end of a run: its last validation (unless done), checkpoint, final sample and plot,
    then run.json records it. A signal on the way stops before the record."""
    step = p.trainer.step
    progress.phase("finishing")
    if session.validated_step != step and not parts.metrics.has_validation(step):
        session.write_row(step, session.validate(p.trainer, step))
    if step_of(parts.checkpoints.latest) != step:
        session.checkpoint(step)
    final = None
    if parts.sampling is not None:
        progress.phase("sampling")
        text = parts.sampling.sample(parts.sampling.length)
        if not parts.samples.has_final(step):
            parts.samples.append(f"final sample, step {step}", text, parts.sampling.temperature)
        vocabulary = p.task.vocabulary
        final = vocabulary.decode(prime_ids(vocabulary, p.config["sample"]["prime"])) + text
    if interrupts.received:
        _stop_for_signal(p, parts, interrupts)
    write_plot(p.directory, parts.metrics.rows(), parts.baselines)
    write_format(p.directory, finished_step=step)
    parts.board.close()
    return final


def _run_of(p: Prepared) -> Run:
    vocabulary = p.task.vocabulary if isinstance(p.task, LanguageModelTask) else None
    return Run(p.source.path, p.config, p.model, p.trainer.step, "last", task=p.task,
               vocabulary=vocabulary, task_info=p.info)  # fmt: skip
