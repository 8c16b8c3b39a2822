"""seqkit: recurrent sequence models on TensorFlow, with PyTorch-style abstractions and plugins.

>>> import seqkit
>>> import tensorflow as tf
>>> cell = seqkit.make_cell("lstm", input_size=8, hidden_size=32)
>>> state = cell.initial_state(batch_size=4)  # (h, c), each [4, 32]
>>> x_t = tf.ones([4, 8])
>>> output, state = cell(x_t, state)
>>> output.shape, [s.shape for s in state]
(TensorShape([4, 32]), [TensorShape([4, 32]), TensorShape([4, 32])])

``seqkit.available(kind)`` lists what the installed plugins provide (a cell, runner, loss,
truncation or task):

>>> seqkit.available("runner")
['fused', 'graph', 'native', 'python', 'scan', 'xla']

A config-driven run, as ``seqkit run`` makes it, from Python (README shows more):

    config = seqkit.load_config("my.toml", overrides=["train.steps=500"])
    run = seqkit.train(config, "runs/mine")          # seqkit.Run
    run.sample(prime="The "), run.evaluate(), run.metrics[-1]
    seqkit.open_run("runs/mine", checkpoint="best").export("torch", "mine.npz")

The names below load on first use (PEP 562), so that ``import seqkit.cli`` and
``seqkit --version`` do not wait for TensorFlow. When TensorFlow is imported, its native
start-up lines are held back (``seqkit.quiet_tensorflow``; ``SEQKIT_TF_LOGS=1`` shows them).
"""

import importlib
from typing import TYPE_CHECKING

from seqkit import moved_modules, quiet_tensorflow
from seqkit.version import __version__

quiet_tensorflow.install()  # a one-shot import hook: TensorFlow itself is not imported here
moved_modules.install()  # seqkit.registry, seqkit.model, ...: the paths before subpackages


def _lazy_exports() -> dict[str, str]:
    """name -> module, read from the ``TYPE_CHECKING`` imports at the end of this file: the one
    list of what ``seqkit.X`` offers, for type checkers and for the lazy look-up alike."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    block = next(
        n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"
    )
    return {
        alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


_MODULE_OF = _lazy_exports()

__all__ = ["__version__", *_MODULE_OF]


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'seqkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(__all__)


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from seqkit.config.files import Config, load_config  # noqa: F401
    from seqkit.data.vocabulary import TextVocabulary  # noqa: F401
    from seqkit.decoding.ctc import ctc_beam_decode, ctc_greedy_decode  # noqa: F401
    from seqkit.decoding.scores import evaluate_decoded  # noqa: F401
    from seqkit.decoding.seq2seq import Decoded, Seq2SeqDecoder  # noqa: F401
    from seqkit.errors import (  # noqa: F401
        ConfigError,
        DataError,
        NonFiniteError,
        OptionError,
        PluginError,
        SeqkitError,
        ShapeError,
        StateDictError,
        TrainingInterrupted,
        UnknownNameError,
    )
    from seqkit.interfaces import (  # noqa: F401
        Cell,
        CorpusTask,
        DecodingTask,
        LanguageModelTask,
        LinearRecurrence,
        Loss,
        Model,
        ProjectedCell,
        Recurrence,
        Runner,
        SequenceBatch,
        ServingTerms,
        TargetForm,
        Task,
        TokenRows,
        TruncationStrategy,
        Window,
    )
    from seqkit.models.seq2seq import Seq2SeqModel  # noqa: F401
    from seqkit.models.sequence import SequenceModel  # noqa: F401
    from seqkit.native.loading import NativeKernel, NativeLibrary  # noqa: F401
    from seqkit.plugins.hookspecs import hookimpl  # noqa: F401
    from seqkit.plugins.registry import (  # noqa: F401
        available,
        make_cell,
        make_loss,
        make_runner,
        make_task,
        make_truncation,
    )
    from seqkit.runs.reporting import Progress, RunSummary  # noqa: F401
    from seqkit.runs.run import Run, open_run  # noqa: F401
    from seqkit.runs.training import train  # noqa: F401
    from seqkit.training.trainer import Callback, Trainer, set_seed  # noqa: F401
    from seqkit.training.window_walk import tbptt_gradients  # noqa: F401
