"""How a config becomes a run's parts: the task, the model, the loss, the truncation strategy
and the trainer. Each builder reads the config and what came before it, nothing else.

    task = build_task(config)
    info = task_info(task)                       # what task.json keeps
    model = build_model(config, info)
    trainer = build_trainer(config, model, task)
"""

from __future__ import annotations

import inspect
from contextlib import nullcontext
from typing import Any

import keras

from seqkit.config.options import (
    build_task as build_task_from,
)
from seqkit.config.options import (
    check_required_cell_options,
    factory_arguments,
    resolve_task_section,
)
from seqkit.data.vocabulary import TextVocabulary
from seqkit.errors import ConfigError
from seqkit.interfaces import DecodingTask, LanguageModelTask, Model, Task, check_model
from seqkit.models.sequence import SequenceModel
from seqkit.plugins.registry import default_registry, make_loss, make_truncation
from seqkit.runs.lr_plateau import check_plateau_keys
from seqkit.training.trainer import Trainer


def build_task(config, vocabulary: TextVocabulary | None = None, **overrides) -> Task:
    """The config's task. ``vocabulary`` gives a language-model task a run's own tokens back;
    ``overrides`` replace options of the config's."""
    section = {**resolve_task_section(config["task"]), **overrides}
    runtime = {"vocabulary": vocabulary} if vocabulary is not None else {}
    return build_task_from(section, **runtime)


def task_info(task: Task) -> dict[str, Any]:
    """What a run directory keeps of its task (``task.json``): the model's sizes, the target
    form, the baselines, and a language model's vocabulary fingerprint."""
    info = {
        "model_dims": task.model_dims(),
        "target_form": task.target_form,
        "baselines": task.baselines(),
    }
    if isinstance(task, LanguageModelTask):
        info["vocabulary_sha256"] = task.vocabulary.fingerprint()
    elif isinstance(task, DecodingTask) and task.vocabulary_fingerprint() is not None:
        info["vocabulary_sha256"] = task.vocabulary_fingerprint()
    return info


def _encoder(config, dims: dict) -> str | None:
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


def cell_arguments(config) -> dict[str, Any]:
    """``[model.cell_options]`` as the cell factory's keyword arguments; every required option
    must be set."""
    model = config["model"]
    options = dict(model["cell_options"])
    check_required_cell_options(model["cell"], options)
    factory = default_registry().get("cell", model["cell"]).factory
    return factory_arguments(factory, options)


ENCODER_DECODER_KEYS = {"attention": False, "bridge": "copy", "encoder_cell": ""}


# Keys of a single stack that an encoder-decoder has no use for, with the value it runs with:
# it embeds both sides' ids, and its decoder starts from the encoder's state (model.bridge).
SINGLE_STACK_KEYS = {"initial_state": "zeros", "encoder": ("auto", "embedding")}


def _check_encoder_decoder_keys(config, info: dict) -> None:
    """The encoder-decoder's keys are for a task of target form ``seq2seq`` only, and the
    single stack's ``initial_state`` and ``encoder`` are not for it."""
    if info["target_form"] == "seq2seq":
        for key, allowed in SINGLE_STACK_KEYS.items():
            if config["model"][key] not in (allowed if isinstance(allowed, tuple) else (allowed,)):
                raise ConfigError(
                    f"model.{key} = {config['model'][key]!r} is a single stack's; task "
                    f"{config['task']['name']!r} trains an encoder-decoder, which embeds its ids "
                    "and starts its decoder from the encoder (model.bridge): leave it out."
                )
        return
    for key, default in ENCODER_DECODER_KEYS.items():
        if config["model"][key] != default:
            raise ConfigError(
                f"model.{key} is an encoder-decoder's (a seq2seq task's); task "
                f"{config['task']['name']!r} trains a single stack: leave it out."
            )


def build_seq2seq_model(config, dims: dict):
    """An encoder-decoder (``seqkit.Seq2SeqModel``) for a task of target form ``seq2seq``."""
    from seqkit.models.seq2seq import Seq2SeqModel

    model = config["model"]
    return Seq2SeqModel(
        model["cell"],
        hidden_size=model["hidden_size"],
        embedding_size=model["embedding_size"],
        num_layers=model["num_layers"],
        encoder_cell=model["encoder_cell"] or None,
        bidirectional=model["bidirectional"],
        attention=model["attention"],
        bridge=model["bridge"],
        dropout=model["dropout"],
        runner=model["runner"],
        cell_options=cell_arguments(config),
        precision=config["train"]["precision"],
        **dims,
    )


def build_model(config, info: dict, strategy=None) -> Model:
    """The config's model for a task's ``info`` (``task_info``), its variables made in the
    scope of ``strategy`` (a ``tf.distribute.Strategy``, from ``distribute.make_strategy``):
    a ``SequenceModel``, or a ``Seq2SeqModel`` for a task of target form ``seq2seq``; either
    checked once against ``seqkit.interfaces.Model``, what the rest of a run reads of it."""
    _check_encoder_decoder_keys(config, info)
    with strategy.scope() if strategy else nullcontext():
        if info["target_form"] == "seq2seq":
            built = build_seq2seq_model(config, info["model_dims"])
        else:
            built = build_sequence_model(config, info)
        return check_model(uniform_init(built, config["model"]["init_range"]))


def build_sequence_model(config, info: dict) -> SequenceModel:
    """A single stack (``seqkit.SequenceModel``) for a task of any target form but
    ``seq2seq``."""
    model = config["model"]
    dims = info["model_dims"]
    encoder = _encoder(config, dims)
    if model["bidirectional"] and info["target_form"] == "shifted":
        raise ConfigError(
            f"model.bidirectional reads each sequence from both ends; task "
            f"{config['task']['name']!r} predicts the next step, where that would see the "
            "answer. Use it for one label per sequence or per step (classify, tag)."
        )
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
        tie_embeddings=model["tie_embeddings"],
        io_dropout=model["io_dropout"],
        bidirectional=model["bidirectional"],
        cell_options=cell_arguments(config),
        precision=config["train"]["precision"],  # the trainer reads it from the model
    )


def uniform_init(model, limit: float):
    """``model`` with every trainable variable drawn again from U(-limit, limit), as Zaremba
    et al. (2014) initialise (0: the components' own initialisation kept)."""
    if limit:
        import tensorflow as tf

        for variable in model.trainable_variables:
            values = tf.random.uniform(variable.shape, -limit, limit, dtype=variable.dtype)
            variable.assign(values)
    return model


def truncation_name(config, task: Task) -> str:
    """``train.truncation``, with ``auto`` as the task's own."""
    name = config["train"]["truncation"]
    return task.default_truncation if name == "auto" else name


def build_truncation(config, task: Task):
    """The config's truncation strategy; ``auto`` is the task's own (tbptt for streams, bptt
    for sets of whole sequences)."""
    train = config["train"]
    name = truncation_name(config, task)
    if config["model"]["bidirectional"] and name != "bptt":
        raise ConfigError(
            "model.bidirectional needs whole sequences: set train.truncation = 'bptt' "
            f"(or 'auto'), not {name!r}."
        )
    options = {"k1": train["k1"], "k2": train["k2"] or None} if name == "tbptt" else {}
    return make_truncation(name, **options)


def loss_name(config, task: Task) -> str:
    """``train.loss``, with ``auto`` as the task's own."""
    name = config["train"]["loss"]
    return task.default_loss if name == "auto" else name


def build_loss(config, task: Task):
    """``train.loss``: ``auto`` is the task's own loss; a named one gets the task's loss options
    (``last_step=True`` for one label per sequence) and must take them."""
    name = loss_name(config, task)
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


def build_trainer(config, model: SequenceModel, task: Task, strategy=None) -> Trainer:
    """The config's trainer: the task's loss, truncation, optimizer, learning rate (and its
    fixed decay; a plateau's divisions are the run session's), clipping, data parallel under
    ``strategy`` (the one ``model`` was built under)."""
    train = config["train"]
    check_plateau_keys(train)  # the rate divided on a plateau (seqkit.runs.lr_plateau)
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
