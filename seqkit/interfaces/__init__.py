"""The five kinds of plugin: Cell, Runner, Loss, TruncationStrategy and Task; and Model, what
seqkit's consumers read of a model (``check_model`` checks it where a run makes one).

Each is an abstract base class whose abstract methods hold only a docstring. Plugins subclass
them and register a factory through the hooks in ``seqkit.plugins.hookspecs``. A cell may also
declare
its step as a ``Recurrence`` (one recurrent matmul, then elementwise work), which the fused
runner runs with a hand-written gradient.

Shapes are written beside the code: B batch, T time, I input size, H hidden size, G gates.

    seqkit/interfaces/cell.py        Cell, ProjectedCell, Recurrence, Kernel
    seqkit/interfaces/linear_recurrence.py  LinearRecurrence (h_t = a_t h_{t-1} + b_t)
    seqkit/interfaces/components.py  Runner, Loss, Window, TruncationStrategy
    seqkit/interfaces/task.py        SequenceBatch, Task, LanguageModelTask, DecodingTask,
                                     CorpusTask
    seqkit/interfaces/model.py       Model, check_model
    seqkit/interfaces/token_rows.py  TokenRows (an embedding's rows, not yet gathered)
"""

from seqkit.interfaces.cell import (
    Cell,
    Kernel,
    Pointwise,
    ProjectedCell,
    Recurrence,
    State,
    check_size,
    declared_recurrence,
)
from seqkit.interfaces.components import Loss, Runner, TruncationStrategy, Window
from seqkit.interfaces.linear_recurrence import LinearRecurrence, declared_linear_recurrence
from seqkit.interfaces.model import Model, check_model
from seqkit.interfaces.task import (
    CorpusTask,
    DecodingTask,
    LanguageModelTask,
    SequenceBatch,
    ServingTerms,
    TargetForm,
    Task,
)
from seqkit.interfaces.token_rows import TokenRows, dense_inputs, project_rows

__all__ = [
    "Cell",
    "CorpusTask",
    "DecodingTask",
    "Kernel",
    "LanguageModelTask",
    "LinearRecurrence",
    "Loss",
    "Model",
    "Pointwise",
    "ProjectedCell",
    "Recurrence",
    "Runner",
    "SequenceBatch",
    "ServingTerms",
    "State",
    "TargetForm",
    "Task",
    "TokenRows",
    "TruncationStrategy",
    "Window",
    "check_model",
    "check_size",
    "declared_linear_recurrence",
    "declared_recurrence",
    "dense_inputs",
    "project_rows",
]
