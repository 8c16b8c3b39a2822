"""The model contract: ``Model``, what the trainer, the window walk, evaluation, the run checks
and the export read of any model, and ``check_model``, which a run calls once where it makes
one.

    model = check_model(SequenceModel("lstm", input_size=2, hidden_size=16, output_size=1))

``seqkit.SequenceModel`` and ``seqkit.Seq2SeqModel`` both satisfy it. What only one of them
offers is read after a consumer has picked the class, and is declared there: a
``SequenceModel``'s input encoder kind (``encoder``), ``input_size``, ``vocab_size`` and
``step(ids, state)``; a ``Seq2SeqModel``'s ``encode(source, mask)`` and
``step(ids, state, encoded)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import tensorflow as tf

from seqkit.errors import OptionError
from seqkit.interfaces.cell import Cell, State
from seqkit.interfaces.components import Runner


class Model(Protocol):
    """What seqkit's consumers of a model read of it; every member is declared on both model
    classes, so none of them is probed with ``getattr`` or ``hasattr``."""

    def __call__(
        self, inputs, initial_state=None, mask=None, training: bool = False
    ) -> tuple[tf.Tensor, tuple[State, ...]]:
        """``(outputs [B, T, O], final state)`` for ``inputs`` ``[B, T, ...]`` from
        ``initial_state`` (None: the model's own); a model that reads a batch's context (an
        encoder-decoder's source) also takes ``context=``."""

    def initial_state(self, batch_size: int) -> tuple[State, ...]:
        """The state a sequence starts from, one tuple per cell of ``cells``."""

    @property
    def learns_initial_state(self) -> bool:
        """Whether that start state is a trained parameter (made inside each update)."""

    @property
    def cells(self) -> Sequence[Cell]:
        """The cells whose state the trainer carries, in ``torch.nn.LSTM``'s order."""

    @property
    def cell_name(self) -> str:
        """The registered name of the cells of ``cells``."""

    @property
    def encoder_cells(self) -> Sequence[Cell]:
        """A source encoder's cells, which carry no state between windows; empty without."""

    @property
    def encoder_cell_name(self) -> str | None:
        """The registered name of ``encoder_cells``; None where there are none."""

    @property
    def runner(self) -> Runner:
        """The runner that unrolls ``cells`` (its ``jit_compile`` asks for an XLA step)."""

    @property
    def dtype(self) -> tf.DType:
        """The dtype of the variables and of the state."""

    @property
    def hidden_size(self) -> int:
        """The width of each cell's state."""

    @property
    def num_layers(self) -> int:
        """The layers of the stack (of each stack, in an encoder-decoder)."""

    @property
    def output_size(self) -> int | None:
        """The width of the outputs (the head's classes); None where there is no head."""

    @property
    def variables(self) -> Sequence[tf.Variable]:
        """Every variable (``tf.Module``'s), which a strategy's scope must have made."""

    @property
    def trainable_variables(self) -> Sequence[tf.Variable]:
        """The variables an update changes (``tf.Module``'s), in a fixed order."""

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter as a NumPy array, under its PyTorch-style name."""


# The members ``Model`` declares, read from the class itself so that they are spelled once.
MODEL_MEMBERS = ("__call__", *sorted(n for n in vars(Model) if not n.startswith("_")))


def missing_members(model: Any) -> list[str]:
    """The members of ``Model`` that ``model`` lacks, in ``MODEL_MEMBERS``' order."""
    return [
        name
        for name in MODEL_MEMBERS
        if not (callable(model) if name == "__call__" else hasattr(model, name))
    ]


def check_model(model: Any) -> Any:
    """``model``, once it has every member of ``Model``; else an OptionError that names, in
    one line, what it lacks."""
    missing = missing_members(model)
    if missing:
        raise OptionError(
            f"The model {type(model).__name__} lacks {', '.join(missing)}, which "
            "seqkit.interfaces.Model declares (what the trainer, the run checks and the "
            "export read of a model); declare them on its class."
        )
    return model
