"""The checks a run makes before it writes anything: each one names what does not fit in one
line, so that a config, a corpus, a plugin or a resume that cannot work leaves no file behind.

    check_task(task); check_cells(model); check_loss(model, loss, data)
    check_windows(truncation, k1, data)
    check_resume_keys(saved, config); check_resume_progress(config, step, rows, at)
    check_task_dims(info, saved, where)
"""

from __future__ import annotations

import tensorflow as tf

from seqkit.data.token_streams import materialized
from seqkit.errors import ConfigError, DataError, PluginError, SeqkitError
from seqkit.interfaces import SequenceBatch, TargetForm, Task
from seqkit.models.sequence import SequenceModel
from seqkit.plugins.registry import Registry, default_registry
from seqkit.runs.blame import CONTRACTS, PluginFailure, Suspect, error_text, plugin_contract
from seqkit.runs.contracts import check_outputs

TARGET_FORMS = tuple(form.value for form in TargetForm)
# What --set may change on --resume: what the checkpoint does not fix. The model, the data
# (task, batch size, seed), the truncation schedule, the loss and the optimizer are fixed.
# train.precision is fixed too, although a checkpoint would allow a change (its variables and
# the optimizer's state are float32 in either precision): a run's curve and its evaluations then
# come from one precision, and a resumed run goes on as the interrupted one would have.
RESUMABLE = (
    "train.steps",
    "train.lr",
    "train.lr_decay",
    "train.lr_decay_every",
    "train.lr_plateau_factor",
    "train.lr_plateau_patience",
    "train.lr_min",
    "train.clip_norm",
    "train.nonfinite",
    "train.eval_every",
    "train.checkpoint_every",
    "train.log_every",
    "train.distribute",
    "train.cpu_devices",
    "sample.length",
    "sample.temperature",
    "sample.prime",
    "sample.seed",
)


def sliver(batch: SequenceBatch, per_step: bool) -> SequenceBatch:
    """Two rows of ``batch``, and its first 16 steps where a per-step loss can score a part of
    a sequence (all of them for a last-step loss or a batch with a context): enough to see
    what a loss or a metric makes of the model's outputs, before training."""
    rows = slice(0, min(2, len(batch.inputs)))
    cut = per_step and batch.context is None
    steps = slice(0, min(16, batch.inputs.shape[1])) if cut else slice(None)
    context = None
    if batch.context is not None:
        context = tf.nest.map_structure(lambda x: x[rows], batch.context)
    return SequenceBatch(
        materialized(batch.inputs[rows][:, steps]),
        materialized(batch.targets[rows][:, steps] if cut else batch.targets[rows]),
        None if batch.mask is None else batch.mask[rows][:, steps],
        context,
    )


def check_loss(model: SequenceModel, loss, data, suspects: list[Suspect] = ()) -> None:
    """The model and the loss on a sliver of the first batch, run eagerly, so that a runner or
    a loss that cannot take this task's data says so in one line before training (inside the
    compiled step TensorFlow would wrap its message in a trace): the outputs a tensor
    ``[B, T, output_size]``, the loss a scalar tensor."""
    suspects = list(suspects)
    part = sliver(data[0], loss.per_step)
    extra = {} if part.context is None else {"context": part.context}
    with plugin_contract(suspects, "on a sliver of the first batch, before training"):
        outputs, _ = model(part.inputs, mask=part.mask, **extra)
    check_outputs(model, outputs, part, suspects)
    who = f"loss {type(loss).__name__}"
    who = next((s.describe() for s in suspects if s.kind == "loss"), who)
    try:
        value = loss(part.targets, outputs, part.mask)
    except SeqkitError:
        raise
    except Exception as exc:  # a plugin's bug, reported in one line
        raise PluginFailure(
            f"The {who} failed on this task's outputs: {error_text(exc)}", exc
        ) from None
    if not isinstance(value, tf.Tensor) or not value.dtype.is_floating:
        got = type(value).__name__
        got += f" of {value.dtype.name}" if isinstance(value, tf.Tensor) else ""
        raise PluginFailure(f"The {who} returned a {got}; {CONTRACTS['loss']}.")
    if tuple(value.shape) != ():
        raise PluginError(
            f"The {who} returned shape {list(value.shape)}; a loss returns "
            "one number (the mean over counted steps)."
        )


def is_streams(data) -> bool:
    """Whether a task's training data is one batch of long streams (not a set of sequences)."""
    return len(data) == 1 and data[0].inputs.ndim >= 2 and data[0].mask is None


def check_windows(truncation: str, k1: int, data) -> None:
    """Streams shorter than one window of train.k1 give no full update: say so before a run."""
    if truncation != "tbptt" or not is_streams(data):
        return
    rows, steps = data[0].inputs.shape[:2]
    if steps < k1:
        raise DataError(
            f"The training data gives {rows} streams of {steps} steps, shorter than one "
            f"window of train.k1 = {k1} steps; use a longer corpus, a smaller "
            "train.batch_size or a smaller train.k1."
        )


def check_cells(model, registry: Registry | None = None) -> None:
    """One step of each distinct cell (an encoder-decoder's encoder cells too) on zeros,
    checked against its declared sizes, so that a plugin's broken cell is named with its
    distribution before any training."""
    stacks = [(model.cell_name, model.cells), (model.encoder_cell_name, model.encoder_cells)]
    for name, cells in stacks:
        if cells:  # a SequenceModel has no encoder cells
            _check_stack(model, name, cells, registry or default_registry())


def _check_stack(model, name: str, cells, registry: Registry) -> None:
    entry = registry.get("cell", name)
    who = f"cell {name!r} from {entry.plugin.provider} (plugin {entry.plugin.name!r})"
    for cell in {id(c): c for c in cells}.values():
        _check_one_cell(who, cell, model.dtype)


def _check_one_cell(who: str, cell, dtype, batch: int = 2) -> None:
    """One step of ``cell`` on zeros, as a user calls it and as a runner does."""
    inputs = tf.zeros([batch, cell.input_size], dtype)
    calls = {
        "one step": lambda: cell(inputs, cell.initial_state(batch, dtype)),
        "one step as a runner calls it (step(project_inputs(x), state))": lambda: cell.step(
            cell.project_inputs(inputs[:, None])[:, 0], cell.initial_state(batch, dtype)
        ),
    }
    for call, run in calls.items():
        try:
            output, new_state = run()
        except Exception as exc:  # a plugin's bug, reported with the plugin's name
            text = f"failed on {call}: {error_text(exc)}; {CONTRACTS['cell']}."
            raise PluginFailure(f"The {who} {text}", exc) from None
        _check_step(who, cell, batch, output, new_state, dtype)


def _check_step(who: str, cell, batch: int, output, new_state, dtype) -> None:
    """A cell's step result: tensors of ``dtype``, of its declared sizes."""
    states = list(new_state) if isinstance(new_state, tuple | list) else [new_state]
    for what, value in [("an output", output), *(("a state", x) for x in states)]:
        if not isinstance(value, tf.Tensor):
            problem = f"returned {what} that is a {type(value).__name__}, not a tensor"
        elif value.dtype != dtype:
            problem = f"returned {what} of {value.dtype.name} in a {dtype.name} model"
        else:
            continue
        raise PluginFailure(f"The {who} {problem}; {CONTRACTS['cell']}.")
    shapes = [tuple(t.shape) for t in states]
    expected = [(batch, n) for n in tf.nest.flatten(cell.state_size)]
    if tuple(output.shape) != (batch, cell.output_size) or shapes != expected:
        raise PluginError(
            f"The {who} returned an output of shape {list(output.shape)} and a state of "
            f"shapes {[list(x) for x in shapes]} for a batch of {batch}; expected "
            f"{[batch, cell.output_size]} and {[list(x) for x in expected]} "
            "(its output_size and state_size): report this to the plugin's authors."
        )


def check_resume_keys(saved, config) -> None:
    """Only the keys a checkpoint does not fix may differ from the run's own config."""
    fixed = [key for key in config.changed_keys(saved) if not key.startswith(RESUMABLE)]
    if fixed:
        raise ConfigError(
            f"--resume cannot change {fixed[0]!r}: the checkpoints hold that model, data and "
            f"schedule; on resume only {', '.join(RESUMABLE)} may change."
        )


def check_resume_progress(config, step: int, carried_rows: int, carried_at: int) -> None:
    """The restored checkpoint agrees with the config: the streams it carries, and the steps."""
    batch = config["train"]["batch_size"]
    if carried_at >= 0 and carried_rows not in (0, batch):
        raise ConfigError(
            f"The checkpoint carries the state of {carried_rows} streams, but train.batch_size "
            f"is {batch}; resume with the run's own batch size."
        )
    steps = config["train"]["steps"]
    if steps < step:
        raise ConfigError(
            f"train.steps = {steps} is below the run's step {step}: a run cannot go back; give "
            f"train.steps of {step} or more (more to train further)."
        )


def check_task_dims(info: dict, saved: dict, where: str) -> None:
    """The task still gives the model the run was trained with, and the same vocabulary."""
    if info["model_dims"] != saved["model_dims"]:
        raise DataError(
            f"The task now gives a model of sizes {info['model_dims']}, but the run "
            f"{where!r} holds one of {saved['model_dims']} (task.json): its data or "
            "vocabulary changed; resume with the run's own data, or start a new run."
        )
    recorded = saved.get("vocabulary_sha256")
    if recorded is not None and info.get("vocabulary_sha256", recorded) != recorded:
        raise DataError(
            f"The task's data now gives other tokens (or another order of them) than the run "
            f"{where!r} trained with (task.json's fingerprint), so every id would change "
            "meaning; use the run's own data file, or start a new run."
        )


def check_task(task: Task) -> None:
    """A task's declared form is one the run can train."""
    if task.target_form not in TARGET_FORMS:
        raise PluginError(
            f"The task {type(task).__name__} has target_form {task.target_form!r}; expected "
            f"one of {', '.join(map(repr, TARGET_FORMS))}."
        )
