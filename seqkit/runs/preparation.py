"""Everything a run needs, built and checked before its first write: ``prepare_new`` for a new
run, ``prepare_resume`` for one that goes on. A config, a corpus, a plugin, a checkpoint or a
resume that cannot work fails here, in one line, and leaves no file behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import tensorflow as tf

from seqkit.config.files import Config, load_config
from seqkit.decoding.sampling import Sampler, prime_ids
from seqkit.errors import DataError
from seqkit.interfaces import LanguageModelTask, SequenceBatch, Task
from seqkit.plugins.registry import default_registry
from seqkit.runs import checks
from seqkit.runs.blame import Suspect, named_plugins, plugin_contract, run_plugins
from seqkit.runs.checkpoints import RunCheckpoints, restore_newest_intact, step_of
from seqkit.runs.compose import (
    build_model,
    build_task,
    build_trainer,
    loss_name,
    task_info,
    truncation_name,
)
from seqkit.runs.contracts import check_batches, check_truncation
from seqkit.runs.data_identity import check_same_data, data_record
from seqkit.runs.directory import RunDirectory
from seqkit.runs.logs import Board, MetricsLog, SampleLog, columns
from seqkit.runs.lr_plateau import set_learning_rate
from seqkit.runs.records import (
    check_resumable,
    read_format,
    read_task_info,
    read_vocabulary,
)
from seqkit.runs.reporting import Progress
from seqkit.runs.scoring import Scorer
from seqkit.runs.session import RunState, Sampling
from seqkit.training import distribute
from seqkit.training.trainer import Trainer, set_seed


@dataclass
class Prepared:
    """A run ready to train: its config, its folders and every part, checked."""

    config: Config
    source: RunDirectory  # the run directory
    directory: RunDirectory  # where this process writes: the run, or a worker's own copy
    resume: bool
    task: Task
    data: list[SequenceBatch]
    eval_data: list[SequenceBatch]
    info: dict
    model: object
    trainer: Trainer
    scorer: Scorer
    header: list[str]
    suspects: list[Suspect] = field(default_factory=list)  # the run's plugins, for its errors
    state: RunState = field(default_factory=RunState)
    record: dict = field(default_factory=dict)  # run.json of a resumed run
    saved_config: Config | None = None
    owns_new_folder: bool = False  # a new run's folder, locked by this process and ours to empty

    @cached_property
    def checkpoint(self) -> tf.train.Checkpoint:
        return self.trainer.checkpoint(run=self.state)

    def parts(self):
        """The parts a ``RunSession`` works with."""
        from seqkit.runs.session import RunParts

        checkpoints = RunCheckpoints(self.checkpoint, self.directory)
        language = isinstance(self.task, LanguageModelTask)
        return RunParts(
            train=dict(self.config["train"]),
            task=self.task,
            model=self.model,
            scorer=self.scorer,
            eval_data=self.eval_data,
            checkpoints=checkpoints,
            state=self.state,
            metrics=MetricsLog(self.directory, self.header),
            board=Board(self.directory),
            samples=SampleLog(self.directory) if language else None,
            sampling=sampling_of(self.config, self.task, self.model) if language else None,
            baselines=self.info["baselines"],
        )


def sampling_of(config, task: LanguageModelTask, model) -> Sampling:
    """How the run samples text: ``[sample]``'s prime, temperature and seed, compiled."""
    settings, vocabulary = config["sample"], task.vocabulary
    prime = prime_ids(vocabulary, settings["prime"])
    sampler = Sampler(model)

    def sample(length: int) -> str:
        return vocabulary.decode(sampler(prime, length, settings["temperature"], settings["seed"]))

    return Sampling(sample, settings["length"], settings["temperature"])


def _allocated(build):
    """``build()``; a model too large for this machine's memory is one line."""
    try:
        return build()
    except (tf.errors.ResourceExhaustedError, MemoryError) as exc:
        raise DataError(
            f"The model does not fit in memory ({type(exc).__name__}); lower model.hidden_size, "
            "model.num_layers or model.embedding_size."
        ) from None


def build_parts(config: Config, vocabulary=None) -> dict:
    """The task, its data, the model, the trainer and the scorer of ``config``, checked."""
    train = config["train"]
    task = build_task(config, vocabulary=vocabulary)
    checks.check_task(task)
    suspects = run_plugins(task=task)
    with plugin_contract(suspects, "making its data, before training"):
        data = task.train_batches(train["batch_size"], train["seed"])
        eval_data = task.eval_batches(train["batch_size"])
        check_batches(task, data, eval_data, suspects)
        info = {**task_info(task), "data": data_record(data, eval_data)}
    checks.check_windows(truncation_name(config, task), train["k1"], data)
    set_seed(train["seed"])
    # the strategy comes before TensorFlow's first op (cpu_devices needs that)
    strategy = distribute.make_strategy(train["distribute"], train["cpu_devices"])
    if strategy is not None:
        for size in sorted({len(batch.inputs) for batch in data}):
            distribute.check_batch(strategy, size)
    with plugin_contract(
        _configured(config, task, suspects), "building the model, before training"
    ):
        model = _allocated(lambda: build_model(config, info, strategy))
        checks.check_cells(model)
        trainer = build_trainer(config, model, task, strategy)
    suspects = run_plugins(task, model, trainer.loss, trainer.truncation)
    with plugin_contract(suspects, "on the data's lengths, before training"):
        check_truncation(trainer.truncation, data, trainer.loss.per_step, suspects)
    checks.check_loss(model, trainer.loss, data, suspects)
    derived = loss_name(config, task) == task.default_loss
    scorer = Scorer(task, trainer.loss, derived, beam_width=config["sample"]["beam_width"])
    with plugin_contract(suspects, "scoring a sliver of the validation data, before training"):
        header = columns(["loss", *scorer.derive(1.0)], scorer.names(model, eval_data))
    return dict(task=task, data=data, eval_data=eval_data, info=info, model=model,
                trainer=trainer, scorer=scorer, header=header, suspects=suspects)  # fmt: skip


def _configured(config: Config, task, suspects: list[Suspect]) -> list[Suspect]:
    """The run's plugins by the names its config gives, before they are built."""
    model = config["model"]
    names = {
        "cell": [model["cell"], model["encoder_cell"] or model["cell"]],
        "runner": [model["runner"]],
        "loss": [loss_name(config, task)],
        "truncation": [truncation_name(config, task)],
    }
    return [*suspects, *named_plugins(default_registry(), names)]


def _writer(source: RunDirectory, trainer: Trainer) -> RunDirectory:
    """Where this process writes: the run itself on the chief, else a worker's own folder."""
    folder = distribute.write_dir(source.path, trainer.strategy)
    return source if folder == source.path else RunDirectory(folder)


def prepare_new(out, config, numbered: bool = False) -> Prepared:
    """A new run into ``out`` (a new or empty folder), every check done; nothing written.
    ``numbered``: ``out`` is a name seqkit chose, moved on to ``-2``, ``-3``, ... where taken."""
    source = RunDirectory.for_new_run(out, numbered)
    config = config if isinstance(config, Config) else load_config(config)
    built = build_parts(config)
    return Prepared(config, source, _writer(source, built["trainer"]), False, **built)


def prepare_resume(out, config, progress: Progress, accept_changed_data: bool = False) -> Prepared:
    """The run in ``out`` with ``config`` (None: its own), restored from its newest intact
    checkpoint, every check done; data other than the run's is refused unless
    ``accept_changed_data``. The caller holds the run's lock from here on."""
    source = RunDirectory.existing(out)
    source.lock()
    try:
        return _prepare_locked(source, config, progress, accept_changed_data)
    except BaseException:
        source.unlock()
        raise


def _restore(prepared: Prepared, source: RunDirectory, progress: Progress) -> None:
    """The newest intact checkpoint of ``checkpoints/last``; where none is left, the best one
    (the run goes on from there), so that a resume never starts again from step 0 over an
    intact best checkpoint."""
    folder = source.path / "checkpoints"
    for which in ("last", "best"):
        found = restore_newest_intact(
            lambda prefix: _checkpoint_for(prepared, prefix), folder / which, source.path,
            progress.note,
        )  # fmt: skip
        if found is not None:
            if which == "best":
                progress.note(
                    f"checkpoints/last holds no intact checkpoint; the run goes on from its best "
                    f"checkpoint, step {step_of(found)}."
                )
            return


def _checkpoint_for(prepared: Prepared, prefix: str) -> tf.train.Checkpoint:
    """The run's checkpoint, or for one saved before the learning rate's plateau was kept
    (``run/plateau/``), the same variables without it: such a run goes on with a fresh one."""
    names = (name for name, _ in tf.train.list_variables(prefix))
    if any(name.startswith("run/plateau/") for name in names):
        return prepared.checkpoint
    return prepared.trainer.checkpoint(run=prepared.state.before_plateau())


def _apply_changed_lr(prepared: Prepared) -> None:
    """A resume that changes ``train.lr`` trains with it: the checkpoint's rate (the optimizer's
    variable, divided on a plateau perhaps) is the run's own only while train.lr is."""
    train, saved = prepared.config["train"], prepared.saved_config["train"]
    if train["lr"] != saved["lr"] and train["lr_decay"] == 1.0:  # a schedule is the config's
        set_learning_rate(prepared.trainer.optimizer, train["lr"])


def _prepare_locked(
    source: RunDirectory, config, progress: Progress, accept_changed_data: bool
) -> Prepared:
    record = read_format(source)
    saved_info = read_task_info(source)
    check_resumable(source, record)
    saved = load_config(source.path / "config.toml")
    config = (
        saved if config is None else (config if isinstance(config, Config) else load_config(config))
    )
    checks.check_resume_keys(saved, config)
    vocabulary = read_vocabulary(source, saved_info)
    built = build_parts(config, vocabulary)
    checks.check_task_dims(built["info"], saved_info, str(source.path))
    if not accept_changed_data:
        check_same_data(built["info"]["data"], saved_info, str(source.path))
    prepared = Prepared(config, source, _writer(source, built["trainer"]), True, **built)
    prepared.record, prepared.saved_config = record, saved
    _restore(prepared, source, progress)  # every worker restores the chief's checkpoint
    _apply_changed_lr(prepared)
    progress_vars = prepared.trainer.progress
    checks.check_resume_progress(
        config,
        prepared.trainer.step,
        int(tf.shape(progress_vars.carried[0])[0]) if progress_vars.carried else 0,
        int(progress_vars.carried_at.numpy()),
    )
    MetricsLog(source, prepared.header).check()
    return prepared
