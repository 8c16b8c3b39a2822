"""The run directory: how ``seqkit run`` builds a run from its config, and how a run is read
back.

    runs/<time>/config.toml        the resolved config, the task's options included
                task.json          the model's sizes, the target form and the task's baselines
                vocab.json         char-lm's characters, a JSON string (text tasks only)
                checkpoints/last   the last three checkpoints: model, optimizer, the trainer's
                                   progress (data position, carried states), run metrics
                checkpoints/best   the checkpoint with the lowest validation loss
                metrics.csv        step,train_loss,val_loss,val_<metric>..., a row each validation
                tensorboard/       tf.summary events: train/loss, train/bpc, val/*, samples
                loss.png           the loss curves (and the baseline)
                samples.txt        each validation's sample and the final one (text tasks)

Imported only by the commands that need TensorFlow.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import tensorflow as tf

from seqkit.config import load_config
from seqkit.errors import ConfigError, DataError
from seqkit.interfaces import Task
from seqkit.model import SequenceModel
from seqkit.progress import TrainingProgress
from seqkit.registry import make_loss, make_truncation
from seqkit.task_options import build_task as build_task_from
from seqkit.task_options import resolve_task_section
from seqkit.trainer import Trainer


def resolve_config(config: dict) -> dict:
    """``config`` with the task's options filled in from its defaults (checked against the
    task), as ``config.toml`` records it."""
    resolved = dict(config)
    resolved["task"] = resolve_task_section(config["task"])
    return resolved


def build_task(config: dict, vocabulary: str | None = None, **overrides) -> Task:
    """The config's task. ``vocabulary`` gives char-lm a run's own characters back;
    ``overrides`` replace options of the config's (``seqkit eval --corpus``)."""
    section = {**resolve_task_section(config["task"]), **overrides}
    runtime = {"vocabulary": vocabulary} if vocabulary is not None else {}
    return build_task_from(section, **runtime)


def _encoder(config: dict, dims: dict) -> str | None:
    """The encoder for the task's inputs: ``auto`` is an embedding for ids, none for vectors."""
    encoder = config["model"]["encoder"]
    takes_ids = "vocab_size" in dims
    if encoder == "auto":
        return "embedding" if takes_ids else None
    if encoder == "none":
        encoder = None
    if takes_ids and encoder is None:
        raise ConfigError(
            f"Task {config['task']['name']!r} feeds integer ids: model.encoder must be "
            "'embedding', 'onehot' or 'auto', not 'none'."
        )
    if not takes_ids and encoder is not None:
        raise ConfigError(
            f"Task {config['task']['name']!r} feeds vectors, not ids: model.encoder must be "
            f"'none' or 'auto', not {encoder!r}."
        )
    return encoder


def task_info(task: Task) -> dict:
    """What a run directory keeps of its task (``task.json``): the model's sizes, the target
    form, and the baselines."""
    return {
        "model_dims": task.model_dims(),
        "target_form": task.target_form,
        "baselines": task.baselines(),
    }


def build_model(config: dict, info: dict, strategy=None) -> SequenceModel:
    """The config's model for a task's ``info`` (``task_info``), its variables made in the
    scope of ``strategy`` (a ``tf.distribute.Strategy``, from ``distribute.make_strategy``)."""
    from contextlib import nullcontext

    model = config["model"]
    dims = info["model_dims"]
    encoder = _encoder(config, dims)
    if model["bidirectional"] and info["target_form"] == "shifted":
        raise ConfigError(
            f"model.bidirectional reads each sequence from both ends; task "
            f"{config['task']['name']!r} predicts the next step, where that would see the "
            "answer. Use it for one label per sequence or per step (classify, tag)."
        )
    with strategy.scope() if strategy else nullcontext():
        return SequenceModel(
            model["cell"],
            input_size=dims.get("input_size"),
            hidden_size=model["hidden_size"],
            output_size=dims["output_size"],
            num_layers=model["num_layers"],
            dropout=model["dropout"],
            encoder=encoder,
            vocab_size=dims.get("vocab_size"),
            embedding_size=model["embedding_size"] if encoder == "embedding" else None,
            runner=model["runner"],
            initial_state=model["initial_state"],
            bidirectional=model["bidirectional"],
        )


def build_truncation(config: dict, task: Task):
    """The config's truncation strategy; ``auto`` is the task's own (tbptt for streams, bptt
    for sets of whole sequences)."""
    train = config["train"]
    name = train["truncation"]
    if name == "auto":
        name = task.default_truncation
    if config["model"]["bidirectional"] and name != "bptt":
        raise ConfigError(
            "model.bidirectional needs whole sequences: set train.truncation = 'bptt' "
            f"(or 'auto'), not {name!r}."
        )
    options = {"k1": train["k1"], "k2": train["k2"] or None} if name == "tbptt" else {}
    return make_truncation(name, **options)


def build_trainer(config: dict, model: SequenceModel, task: Task, strategy=None) -> Trainer:
    """The config's trainer: the task's loss, truncation, optimizer, learning rate (and its
    decay), clipping, data parallel under ``strategy`` (the one ``model`` was built under)."""
    train = config["train"]
    lr = train["lr"]
    if train["lr_decay"] != 1.0:  # as char-rnn: the rate times lr_decay every lr_decay_every
        lr = keras.optimizers.schedules.ExponentialDecay(
            lr, train["lr_decay_every"], train["lr_decay"], staircase=True
        )
    return Trainer(
        model,
        loss=make_loss(task.default_loss, **task.loss_options()),
        truncation=build_truncation(config, task),
        optimizer=train["optimizer"],
        lr=lr,
        clip_norm=train["clip_norm"] or None,
        distribute=strategy or "none",
    )


def checkpoint_managers(checkpoint, out_dir: Path):
    """The managers of the last three checkpoints and of the best one."""
    last = tf.train.CheckpointManager(checkpoint, str(out_dir / "checkpoints" / "last"), 3)
    best = tf.train.CheckpointManager(checkpoint, str(out_dir / "checkpoints" / "best"), 1)
    return last, best


def restore_latest(checkpoint: tf.train.Checkpoint, manager, out_dir: Path) -> None:
    """Restore the newest checkpoint of ``manager`` into ``checkpoint`` (nothing where none)."""
    path = manager.latest_checkpoint
    if path is None:
        return  # stopped before its first checkpoint: start again from step 0
    try:
        checkpoint.restore(path).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"The checkpoint {path!r} of {str(out_dir)!r} does not match the model its config "
            f"builds ({first[:200]}); resume with the run's own config."
        ) from None


def trim_metrics(path: Path, step: int) -> None:
    """Drop the rows of ``metrics.csv`` written after ``step`` (and a torn last line), so that a
    resumed run writes each row once."""
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines.pop()  # a line torn by a kill
    kept = lines[:1] + [
        line
        for line in lines[1:]
        if line.split(",", 1)[0].isdigit() and int(line.split(",")[0]) <= step
    ]
    temporary = path.with_suffix(".csv.tmp")
    temporary.write_text("".join(kept), encoding="utf-8")
    temporary.replace(path)


def read_task_info(run_dir: Path) -> dict:
    """A run's ``task.json``; a directory without one (or a config) is no run."""
    needed = ("config.toml", "task.json")
    if not all((run_dir / name).is_file() for name in needed):
        raise DataError(
            f"{str(run_dir)!r} is not a run directory (no config.toml and task.json); give the "
            "directory that `seqkit run --out` wrote."
        )
    return json.loads((run_dir / "task.json").read_text(encoding="utf-8"))


def read_run(run_dir: Path, which: str = "best"):
    """``(config, vocabulary, model, step)`` of a run, the model restored from ``which``;
    ``vocabulary`` is None for a task without characters to sample."""
    info = read_task_info(run_dir)
    config = load_config(run_dir / "config.toml")
    vocab_file = run_dir / "vocab.json"
    vocabulary = json.loads(vocab_file.read_text("utf-8")) if vocab_file.is_file() else None
    model = build_model(config, info)
    progress = TrainingProgress([n for cell in model.cells for n in cell.state_size])
    path = tf.train.latest_checkpoint(str(run_dir / "checkpoints" / which))
    if path is None:
        raise DataError(f"The run {str(run_dir)!r} has no {which!r} checkpoint yet.")
    tf.train.Checkpoint(model=model, progress=progress).restore(path).expect_partial()
    return config, vocabulary, model, int(progress.step.numpy())
