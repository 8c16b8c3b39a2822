"""The interfaces of the components a trainer runs a cell with: ``Runner`` (unrolls a cell
over time), ``Loss`` (the mean of per-step losses) and ``TruncationStrategy`` (a pure schedule
of ``Window``s: which steps each update takes its loss from and back-propagates through).
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass

import tensorflow as tf

from seqkit.interfaces.cell import Cell, State


class Runner(abc.ABC):
    """Unrolls a cell over time.

    ``supports(cell)`` says whether it can unroll a cell; ``runner="auto"`` picks among the
    built-in runners by a rule about the cell (``seqkit.models.runner_choice.resolve_runner``).
    ``jit_compile``
    asks the code that runs the model (the trainer's update step, sampling) to compile that
    whole step with XLA.
    """

    jit_compile: bool = False  # ask the step that runs the model to compile itself with XLA
    # its graphs hold TensorFlow custom ops (a native library), which run only where that library
    # is loaded: no SavedModel is built from them, and XLA cannot compile them
    custom_ops: bool = False
    # run() accepts its inputs as ``TokenRows`` (an embedding's table and ids, not yet gathered),
    # which a model with an embedding encoder then gives its first layer; see token_rows.py
    takes_token_rows: bool = False

    def supports(self, cell: Cell) -> bool:
        """Whether this runner can unroll ``cell`` (all cells, unless a runner says otherwise)."""
        return True

    @abc.abstractmethod
    def run(
        self,
        cell: Cell,
        inputs: tf.Tensor,
        initial_state: State,
        mask: tf.Tensor | None = None,
    ) -> tuple[tf.Tensor, State]:
        """Unroll ``cell`` over ``inputs`` ``[B, T, I]`` from ``initial_state``.

        Returns ``(outputs [B, T, O], final_state)``. Where ``mask`` ``[B, T]`` (bool) is false,
        the state is carried through unchanged and the output is zero. A runner that says
        ``takes_token_rows`` may receive ``inputs`` as ``TokenRows``.
        """


class Loss(abc.ABC):
    """A training loss: the mean of the per-step losses L_t over the counted steps and the batch.

    ``per_step`` says whether the loss is a mean of per-step losses L_t. False for a loss of
    the whole sequence at once: on its last step only (one label per sequence), or over every
    step together (CTC, whose targets are not aligned with the steps). A trainer then computes
    it only in the window that ends the sequence, and evaluation reads whole sequences; it
    weighs a sequence, not a step.
    """

    per_step: bool = True

    @abc.abstractmethod
    def __call__(
        self, targets: tf.Tensor, outputs: tf.Tensor, mask: tf.Tensor | None = None
    ) -> tf.Tensor:
        """The scalar loss of ``outputs`` ``[B, T, O]`` against ``targets``.

        Targets are ``[B, T]`` (class ids) or ``[B, T, O]`` (values) for a per-step loss and
        ``[B]`` or ``[B, O]`` for a last-step loss. Steps where ``mask`` ``[B, T]`` is false do
        not count.
        """


@dataclass(frozen=True)
class Window:
    """One update of truncated back-propagation through time, over steps ``[backprop_from, end)``.

    The state at ``backprop_from`` is a constant; the loss is the mean of L_t over the steps
    ``[loss_from, end)``; gradients flow back to ``backprop_from`` and no further.
    """

    backprop_from: int
    loss_from: int
    end: int


class TruncationStrategy(abc.ABC):
    """A pure schedule of updates over a sequence: no TensorFlow."""

    @abc.abstractmethod
    def windows(self, length: int) -> Iterator[Window]:
        """The updates over a sequence of ``length`` steps, in order."""
