"""The run directory: how ``seqkit run`` builds a run from its config, and how a run is read
back.

    runs/<time>/config.toml        the resolved config, the task's options included
                run.json           the run directory's format (a newer one is refused)
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

import inspect
from pathlib import Path

import keras
import tensorflow as tf

from seqkit.cli.checkpoints import restore_newest_intact
from seqkit.cli.run_files import check_format, read_json
from seqkit.config import load_config
from seqkit.errors import ConfigError, DataError, PluginError, SeqkitError
from seqkit.interfaces import Task
from seqkit.model import SequenceModel
from seqkit.progress import TrainingProgress
from seqkit.registry import Registry, default_registry, make_loss, make_truncation
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
        loss=build_loss(config, task),
        truncation=build_truncation(config, task),
        optimizer=train["optimizer"],
        lr=lr,
        clip_norm=train["clip_norm"] or None,
        distribute=strategy or "none",
        nonfinite=train["nonfinite"],
    )


def build_loss(config: dict, task: Task):
    """``train.loss``: ``auto`` is the task's own loss; a named one gets the task's loss options
    (``last_step=True`` for one label per sequence) and must take them."""
    name = config["train"]["loss"]
    name = task.default_loss if name == "auto" else name
    options = task.loss_options()
    if options:
        entry = default_registry().get("loss", name)
        try:
            inspect.signature(entry.factory).bind(**options)
        except TypeError:
            raise ConfigError(
                f"Task {config['task']['name']!r} has one label per sequence, but loss {name!r} "
                f"from {entry.plugin.provider} takes no {', '.join(options)} option: it cannot "
                "score the last step only. Use train.loss = 'auto' or a loss that takes it."
            ) from None
        except ValueError:  # a factory without a signature: let it decide
            pass
    return make_loss(name, **options)


def check_loss(model: SequenceModel, loss, data) -> None:
    """The loss on the model's outputs for two rows of the first batch, run eagerly, so that a
    loss that cannot score this task's outputs says so in one line before training (inside the
    compiled step TensorFlow would wrap its message in a trace)."""
    batch = data[0]
    rows = slice(0, min(2, len(batch.inputs)))
    steps = slice(None) if not loss.per_step else slice(0, min(16, batch.inputs.shape[1]))
    inputs = batch.inputs[rows][:, steps]
    targets = batch.targets[rows][:, steps] if loss.per_step else batch.targets[rows]
    mask = None if batch.mask is None else batch.mask[rows][:, steps]
    outputs, _ = model(inputs, mask=mask)
    try:
        value = loss(targets, outputs, mask)
    except SeqkitError:
        raise
    except Exception as exc:  # a plugin's bug, reported in one line
        raise PluginError(
            f"The loss {type(loss).__name__} failed on this task's outputs: "
            f"{type(exc).__name__}: {str(exc)[:200]}"
        ) from None
    if tuple(value.shape) != ():
        raise PluginError(
            f"The loss {type(loss).__name__} returned shape {list(value.shape)}; a loss returns "
            "one number (the mean over counted steps)."
        )


def is_streams(data) -> bool:
    """Whether a task's training data is one batch of long streams (not a set of sequences)."""
    return len(data) == 1 and data[0].inputs.ndim >= 2 and data[0].mask is None


def check_windows(config: dict, task: Task, data) -> None:
    """Streams shorter than one window of train.k1 give no full update: say so before a run."""
    train = config["train"]
    truncation = train["truncation"]
    if (truncation if truncation != "auto" else task.default_truncation) != "tbptt":
        return
    if is_streams(data):
        rows, steps = data[0].inputs.shape[:2]
        if steps < train["k1"]:
            raise DataError(
                f"The training data gives {rows} streams of {steps} steps, shorter than one "
                f"window of train.k1 = {train['k1']} steps; use a longer corpus, a smaller "
                "train.batch_size or a smaller train.k1."
            )


def check_cells(model: SequenceModel, registry: Registry | None = None) -> None:
    """One step of each distinct cell on zeros, checked against its declared sizes, so that a
    plugin's broken cell is named with its distribution before any training."""
    registry = registry or default_registry()
    entry = registry.get("cell", model.cell_name)
    who = f"cell {model.cell_name!r} from {entry.plugin.provider} (plugin {entry.plugin.name!r})"
    for cell in {id(c): c for c in model.cells}.values():
        batch = 2
        state = cell.initial_state(batch, model.dtype)
        inputs = tf.zeros([batch, cell.input_size], model.dtype)
        try:
            output, new_state = cell(inputs, state)
            shapes = [tuple(t.shape) for t in tf.nest.flatten(new_state)]
            output_shape = tuple(output.shape)
        except Exception as exc:  # a plugin's bug, reported with the plugin's name
            raise PluginError(
                f"The {who} failed on one step: {type(exc).__name__}: {str(exc)[:200]}"
            ) from None
        expected = [(batch, n) for n in tf.nest.flatten(cell.state_size)]
        if output_shape != (batch, cell.output_size) or shapes != expected:
            raise PluginError(
                f"The {who} returned an output of shape {list(output_shape)} and a state of "
                f"shapes {[list(x) for x in shapes]} for a batch of {batch}; expected "
                f"{[batch, cell.output_size]} and {[list(x) for x in expected]} "
                "(its output_size and state_size): report this to the plugin's authors."
            )


def read_task_info(run_dir: Path) -> dict:
    """A run's ``task.json``; a directory without one (or a config) is no run; a run of a newer
    format is refused."""
    if not Path(run_dir).is_dir():
        raise DataError(
            f"The run directory {str(run_dir)!r} does not exist; give the directory that "
            "`seqkit run --out` wrote."
        )
    needed = ("config.toml", "task.json")
    if not all((run_dir / name).is_file() for name in needed):
        raise DataError(
            f"{str(run_dir)!r} is not a run directory (no config.toml and task.json); give the "
            "directory that `seqkit run --out` wrote."
        )
    check_format(run_dir)
    info = read_json(run_dir / "task.json", "the task's sizes")
    if not isinstance(info, dict) or not isinstance(info.get("model_dims"), dict):
        raise DataError(
            f"{str(run_dir / 'task.json')!r} lacks the model's sizes (model_dims): the run "
            "directory is damaged; restore the file or start a new run."
        )
    return info


def read_vocabulary(run_dir: Path, info: dict) -> str | None:
    """A run's ``vocab.json`` (None where the task has none), checked against the model's
    vocabulary size in ``task.json``."""
    path = Path(run_dir) / "vocab.json"
    if not path.is_file():
        return None
    vocabulary = read_json(path, "the characters")
    size = info["model_dims"].get("vocab_size")
    if not isinstance(vocabulary, str) or (size is not None and len(vocabulary) != size):
        length = len(vocabulary) if isinstance(vocabulary, str) else "no"
        raise DataError(
            f"{str(path)!r} holds {length} characters, but the run's model reads {size} "
            "(task.json): the vocabulary does not match the run; restore the run's own "
            "vocab.json."
        )
    return vocabulary


def read_run(run_dir: Path, which: str = "best"):
    """``(config, vocabulary, model, step)`` of a run, the model restored from ``which``;
    ``vocabulary`` is None for a task without characters to sample."""
    import click

    run_dir = Path(run_dir)
    info = read_task_info(run_dir)
    config = load_config(run_dir / "config.toml")
    vocabulary = read_vocabulary(run_dir, info)
    model = build_model(config, info)
    progress = TrainingProgress([n for cell in model.cells for n in cell.state_size])
    checkpoint = tf.train.Checkpoint(model=model, progress=progress)
    path = restore_newest_intact(
        checkpoint,
        run_dir / "checkpoints" / which,
        run_dir,
        warn=lambda message: click.echo(message, err=True),
        partial=True,
        keep_damaged=True,  # sample, eval and export only read the run
    )
    if path is None:
        other = "last" if which == "best" else "best"
        raise DataError(
            f"The run {str(run_dir)!r} has no intact {which!r} checkpoint; try "
            f"--checkpoint {other}, or resume the run to write one."
        )
    return config, vocabulary, model, int(progress.step.numpy())
