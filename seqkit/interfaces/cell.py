"""The cell interface: ``Cell`` (one time step), ``ProjectedCell`` (split into a time-parallel
projection and a recurrent step), and ``Recurrence``, a cell's step declared as one recurrent
matmul and elementwise work, which the fused runner runs with a hand-written gradient.

Shapes are written beside the code: B batch, T time, I input size, H hidden size, G gates.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from seqkit.errors import OptionError, ShapeError
from seqkit.interfaces.linear_recurrence import LinearRecurrence
from seqkit.native.loading import NativeKernel
from seqkit.ops import linear
from seqkit.parameters import StateDict, named_variables
from seqkit.validation import is_whole_number, whole_number

State = tuple[tf.Tensor, ...]


def check_size(owner: str, what: str, value: Any) -> int:
    """``value`` as a positive int, or an OptionError that names ``owner`` and ``what``."""
    return whole_number(f"{owner}: {what}", value, minimum=1)


Pointwise = Callable[[tf.Tensor, tf.Tensor, State], tuple[tf.Tensor, State]]

# A kernel runs a declared recurrence over a whole sequence: ``(recurrence, xp [T, B, P]
# time-major projected inputs, state, keep [T, B, 1] bool or None) -> (outputs [T, B, O],
# final_state)``; outputs where ``keep`` is false are unspecified (the runner zeroes them).
Kernel = Callable[["Recurrence", tf.Tensor, State, tf.Tensor | None], tuple[tf.Tensor, State]]


@dataclass(frozen=True, eq=False)
class Recurrence:
    """A cell's step declared as one recurrent matmul followed by elementwise work:

        recurrent_t       = h_{t-1} @ weight^T + bias                  [B, G*H]
        output_t, state_t = pointwise(projected_t, recurrent_t, state_{t-1})

    ``projected_t`` is step t of the cell's ``project_inputs`` ``[B, P]`` and h_{t-1} is
    ``state_{t-1}[hidden_index]`` ``[B, H]``. A cell declares this by returning a Recurrence from
    its ``recurrence`` property; the fused runner then owns the loop, the matmuls and the
    gradient (per step the VJP of ``pointwise`` and dz @ weight; the weight's gradient one
    matmul after the loop). The cell's ``step`` is ``self.recurrence.step(projected, state)``
    (``Cell.step`` and ``ProjectedCell.step`` by default), so that the python, graph, xla and
    fused runners use one equation. A cell's own ``kernel`` (the LSTM's and the GRU's, and the
    native C++ ops) is a second, faster copy of that equation, held to it by tests against the
    python runner (``seqkit.testing.check_cell`` runs the fused runner, hence the ``kernel``;
    the native ops have exactness tests of their own).

    - ``weight``: the recurrent weight in PyTorch's layout, ``weight_hh`` ``[G*H, H]`` (a
      variable, or a tensor computed from variables; gradients reach them either way).
    - ``pointwise``: ``(projected [B, P], recurrent [B, G*H], state) -> (output [B, O],
      new_state)``: elementwise work (gates, activations, their products), pure TensorFlow and
      deterministic, since the backward pass computes it again. It may read the cell's other
      variables (a peephole, a gain); their gradients are summed over the steps. No second
      matmul of the state: a step whose second matmul depends on the first one's result (the
      minimal gated unit's U_h (f_t * h_{t-1})) does not fit, and such a cell does not declare.
    - ``bias``: the recurrent bias ``bias_hh`` ``[G*H]``, or None where ``project_inputs``
      already adds it (allowed wherever it is only summed with the projection, as in the LSTM).
    - ``hidden_index``: which state tensor is h, the one the matmul takes (0 unless given).
    - ``kernel``: optional, a hand-written ``Kernel`` in TensorFlow ops (XLA-compilable) that
      the fused runner calls instead of its generic loop, with the same results.
    - ``native_kernel``: optional, a ``seqkit.NativeKernel``: a ``Kernel`` over a TensorFlow
      custom op (C++, not XLA-compilable), which the ``native`` runner calls where its library
      builds and loads (``seqkit.native.loading``), with batch-major tensors (``xp``
      ``[B, T, P]``, ``keep`` ``[B, T, 1]``, outputs ``[B, T, O]``).

    The LSTM (``seqkit_plugins.lstm``), gates i, f, g, o, ``bias_hh`` inside the projection:

        def lstm_pointwise(projected, recurrent, state):
            h, c = state
            i, f, g, o = tf.split(projected + recurrent, 4, axis=-1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
            return h, (h, c)

        @property
        def recurrence(self):
            return seqkit.Recurrence(self.weight_hh, lstm_pointwise)
    """

    weight: tf.Variable | tf.Tensor
    pointwise: Pointwise
    bias: tf.Variable | tf.Tensor | None = None
    hidden_index: int = 0
    kernel: Kernel | None = None
    native_kernel: NativeKernel | None = None

    def __post_init__(self):
        if self.kernel is not None and not callable(self.kernel):
            raise OptionError(
                f"Recurrence: kernel must be a function (recurrence, xp, state, keep) -> "
                f"(outputs, final_state) or None, got {type(self.kernel).__name__}."
            )
        if self.native_kernel is not None and not isinstance(self.native_kernel, NativeKernel):
            raise OptionError(
                f"Recurrence: native_kernel must be a seqkit.NativeKernel (a custom-op library "
                f"and the function that calls it) or None, got "
                f"{type(self.native_kernel).__name__}."
            )
        if not callable(self.pointwise):
            raise OptionError(
                f"Recurrence: pointwise must be a function (projected, recurrent, state) -> "
                f"(output, new_state), got {type(self.pointwise).__name__}."
            )
        if self.weight.shape.rank != 2:
            raise ShapeError(
                f"Recurrence: weight must be a [G*H, H] matrix (PyTorch's weight_hh layout), "
                f"got shape {tuple(self.weight.shape)}."
            )
        if self.bias is not None and tuple(self.bias.shape) != tuple(self.weight.shape[:1]):
            raise ShapeError(
                f"Recurrence: bias must be [G*H] = [{self.weight.shape[0]}] to match the weight "
                f"{tuple(self.weight.shape)}, got shape {tuple(self.bias.shape)}."
            )

    def step(self, projected: tf.Tensor, state: State) -> tuple[tf.Tensor, State]:
        """One step from the declaration: ``pointwise(projected, h @ weight^T + bias, state)``."""
        recurrent = linear(state[self.hidden_index], self.weight, self.bias)
        return self.pointwise(projected, recurrent, tuple(state))


def declared_recurrence(cell: Cell) -> Recurrence | None:
    """``cell.recurrence``, checked against the cell's state: None where the cell declares none.

    Raises ``OptionError`` or ``ShapeError`` where the declaration cannot fit the cell.
    """
    recurrence = cell.recurrence
    if recurrence is None:
        return None
    kind = type(cell).__name__
    if not isinstance(recurrence, Recurrence):
        raise OptionError(
            f"{kind}.recurrence must be a seqkit.Recurrence or None, got "
            f"{type(recurrence).__name__}."
        )
    index, sizes = recurrence.hidden_index, cell.state_size
    if not is_whole_number(index) or not 0 <= index < len(sizes):
        raise OptionError(
            f"{kind}.recurrence: hidden_index must name one of the {len(sizes)} state tensors "
            f"(0 to {len(sizes) - 1}), got {index!r}."
        )
    if recurrence.weight.shape[1] != sizes[index]:
        raise ShapeError(
            f"{kind}.recurrence: the weight {tuple(recurrence.weight.shape)} takes "
            f"{recurrence.weight.shape[1]} features, but state tensor {index} has {sizes[index]}; "
            f"expected [G*H, {sizes[index]}] in PyTorch's weight_hh layout."
        )
    return recurrence


class Cell(StateDict, tf.Module, abc.ABC):
    """One time step of a recurrent network: ``cell(x_t, state) -> (output, new_state)``.

    Built as ``Cls(input_size, hidden_size, **options)``; the variables exist from construction.
    A state is a tuple of tensors, one ``[B, n]`` tensor for each ``n`` in ``state_size``.

    Variables assigned as attributes are the cell's parameters, named by their attribute name
    (as in PyTorch); ``state_dict()`` and ``load_state_dict()`` use those names. Built-in cells
    store their weights in PyTorch's layouts, so their state dicts load into torch unchanged.

    Runners call ``project_inputs(xs)`` once over all steps and then ``step(projected_t, state)``
    per step. By default the projection is the identity and ``step`` is the declared recurrence's
    step where the cell declares one, else ``__call__``; a cell with a time-parallel part
    subclasses ``ProjectedCell`` instead. A cell whose step is one recurrent
    matmul followed by elementwise work says so in ``recurrence`` (see ``Recurrence``), and runs
    on the fused runner.
    """

    def __init__(self, input_size: int, hidden_size: int, *, dtype=tf.float32, name=None):
        super().__init__(name=name)
        kind = type(self).__name__
        self.input_size = check_size(kind, "input_size", input_size)
        self.hidden_size = check_size(kind, "hidden_size", hidden_size)
        self.dtype = tf.as_dtype(dtype)
        if not self.dtype.is_floating:
            raise OptionError(f"{kind}: dtype must be a floating type, got {self.dtype.name}.")

    @property
    @abc.abstractmethod
    def state_size(self) -> tuple[int, ...]:
        """The width of each state tensor: ``(H,)`` for vanilla and GRU, ``(H, H)`` for LSTM."""

    @property
    def output_size(self) -> int:
        """The width of the output at each step (``H`` unless the cell says otherwise)."""
        return self.hidden_size

    def initial_state(self, batch_size: int, dtype=None) -> State:
        """The zero state: a tuple of ``[batch_size, n]`` zeros, one per entry of state_size."""
        dtype = self.dtype if dtype is None else dtype
        return tuple(tf.zeros([batch_size, n], dtype=dtype) for n in self.state_size)

    @abc.abstractmethod
    def __call__(self, inputs: tf.Tensor, state: State) -> tuple[tf.Tensor, State]:
        """One step: ``inputs`` ``[B, I]`` and ``state`` -> ``(output [B, O], new_state)``."""

    def project_inputs(self, inputs: tf.Tensor) -> tf.Tensor:
        """The time-parallel part of the step, for all steps at once: ``[B, T, I] -> [B, T, P]``."""
        return inputs

    def step(self, projected: tf.Tensor, state: State) -> tuple[tf.Tensor, State]:
        """The recurrent part of the step, given one step of ``project_inputs``' output: the
        declared recurrence's step where there is one (one equation for every runner), else
        ``__call__``."""
        recurrence = self.recurrence
        if recurrence is not None:
            return recurrence.step(projected, state)
        return self(projected, state)

    @property
    def recurrence(self) -> Recurrence | None:
        """The step as one recurrent matmul and a ``pointwise`` function (``Recurrence``), or
        None (the default) for a step that is not of that form."""
        return None

    def named_parameters(self) -> dict[str, tf.Variable]:
        """The variables by name, in the order they were created (``weight_ih``, ...)."""
        return named_variables(self)

    @property
    def linear_recurrence(self) -> LinearRecurrence | None:
        """The state update as a diagonal linear recurrence h_t = a_t * h_{t-1} + b_t with
        (a_t, b_t) from the inputs alone (``LinearRecurrence``), which the ``scan`` runner
        computes for every step at once; or None (the default)."""
        return None


class ProjectedCell(Cell):
    """A cell split into a time-parallel input projection and a recurrent step.

    ``__call__`` is ``step(project_inputs(x), state)``, so a subclass writes the maths once.
    A subclass defines ``step``, or declares its ``recurrence`` and takes ``step`` from it.
    """

    @abc.abstractmethod
    def project_inputs(self, inputs: tf.Tensor) -> tf.Tensor:
        """The input projection of any number of steps: ``[..., I] -> [..., P]``."""

    def step(self, projected: tf.Tensor, state: State) -> tuple[tf.Tensor, State]:
        """The recurrent step from one projected input ``[B, P]`` and ``state``: by default the
        declared recurrence's step; a cell that declares none defines its own."""
        recurrence = self.recurrence
        if recurrence is None:
            raise NotImplementedError(
                f"{type(self).__name__} must define step(projected, state) or declare its "
                f"recurrence (a seqkit.Recurrence)."
            )
        return recurrence.step(projected, state)

    def __call__(self, inputs: tf.Tensor, state: State) -> tuple[tf.Tensor, State]:
        return self.step(self.project_inputs(inputs), state)


def state_sizes(cells) -> list[int]:
    """The width of every state tensor of a stack of ``cells``, in order: a model's state,
    flattened (``[H, H, H]`` for an LSTM over a GRU)."""
    return [n for cell in cells for n in cell.state_size]
