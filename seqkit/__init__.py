"""seqkit: recurrent sequence models on TensorFlow, with PyTorch-style abstractions and plugins.

    import seqkit
    cell = seqkit.make_cell("lstm", input_size=8, hidden_size=32)
    state = cell.initial_state(batch_size=4)
    output, state = cell(x_t, state)          # x_t [4, 8] -> output [4, 32]

``seqkit.available("cell")`` lists what the installed plugins provide.

The names below load on first use (PEP 562), so that ``import seqkit.cli`` and
``seqkit --version`` do not wait for TensorFlow.
"""

import importlib
from typing import TYPE_CHECKING

from seqkit.version import __version__

_EXPORTS = {
    "seqkit.errors": [
        "OptionError",
        "PluginError",
        "SeqkitError",
        "ShapeError",
        "StateDictError",
        "UnknownNameError",
    ],
    "seqkit.hookspecs": ["hookimpl"],
    "seqkit.interfaces": [
        "Cell",
        "Loss",
        "ProjectedCell",
        "Recurrence",
        "Runner",
        "SequenceBatch",
        "Task",
        "TruncationStrategy",
        "Window",
    ],
    "seqkit.model": ["SequenceModel"],
    "seqkit.tbptt": ["tbptt_gradients"],
    "seqkit.trainer": ["Callback", "Trainer", "set_seed"],
    "seqkit.registry": [
        "available",
        "make_cell",
        "make_loss",
        "make_runner",
        "make_task",
        "make_truncation",
    ],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

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
    from seqkit.errors import (  # noqa: F401
        OptionError,
        PluginError,
        SeqkitError,
        ShapeError,
        StateDictError,
        UnknownNameError,
    )
    from seqkit.hookspecs import hookimpl  # noqa: F401
    from seqkit.interfaces import (  # noqa: F401
        Cell,
        Loss,
        ProjectedCell,
        Recurrence,
        Runner,
        SequenceBatch,
        Task,
        TruncationStrategy,
        Window,
    )
    from seqkit.model import SequenceModel  # noqa: F401
    from seqkit.registry import (  # noqa: F401
        available,
        make_cell,
        make_loss,
        make_runner,
        make_task,
        make_truncation,
    )
    from seqkit.tbptt import tbptt_gradients  # noqa: F401
    from seqkit.trainer import Callback, Trainer, set_seed  # noqa: F401
