"""The five kinds of plugin: Cell, Runner, Loss, TruncationStrategy and Task.

Each is an abstract base class whose abstract methods hold only a docstring. Plugins subclass
them and register a factory through the hooks in ``seqkit.hookspecs``. A cell may also declare
its step as a ``Recurrence`` (one recurrent matmul, then elementwise work), which the fused
runner runs with a hand-written gradient.

Shapes are written beside the code: B batch, T time, I input size, H hidden size, G gates.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from seqkit.errors import OptionError, ShapeError
from seqkit.ops import linear
from seqkit.parameters import load_parameters, named_variables
from seqkit.vocabulary import TextVocabulary

State = tuple[tf.Tensor, ...]


def check_size(owner: str, what: str, value: Any) -> int:
    """``value`` as a positive int, or an OptionError that names ``owner`` and ``what``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise OptionError(f"{owner}: {what} must be a positive integer, got {value!r}.")
    return int(value)


Pointwise = Callable[[tf.Tensor, tf.Tensor, State], tuple[tf.Tensor, State]]


@dataclass(frozen=True, eq=False)
class Recurrence:
    """A cell's step declared as one recurrent matmul followed by elementwise work:

        recurrent_t       = h_{t-1} @ weight^T + bias                  [B, G*H]
        output_t, state_t = pointwise(projected_t, recurrent_t, state_{t-1})

    ``projected_t`` is step t of the cell's ``project_inputs`` ``[B, P]`` and h_{t-1} is
    ``state_{t-1}[hidden_index]`` ``[B, H]``. A cell declares this by returning a Recurrence from
    its ``recurrence`` property; the fused runner then owns the loop, the matmuls and the
    gradient (per step the VJP of ``pointwise`` and dz @ weight; the weight's gradient one
    matmul after the loop). The cell's ``step`` returns ``self.recurrence.step(projected,
    state)``, so that the python, graph and xla runners and the fused one use one equation.

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

    def __post_init__(self):
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
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(sizes):
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


class Cell(tf.Module, abc.ABC):
    """One time step of a recurrent network: ``cell(x_t, state) -> (output, new_state)``.

    Built as ``Cls(input_size, hidden_size, **options)``; the variables exist from construction.
    A state is a tuple of tensors, one ``[B, n]`` tensor for each ``n`` in ``state_size``.

    Variables assigned as attributes are the cell's parameters, named by their attribute name
    (as in PyTorch); ``state_dict()`` and ``load_state_dict()`` use those names. Built-in cells
    store their weights in PyTorch's layouts, so their state dicts load into torch unchanged.

    Runners call ``project_inputs(xs)`` once over all steps and then ``step(projected_t, state)``
    per step. By default the projection is the identity and ``step`` is ``__call__``; a cell with
    a time-parallel part subclasses ``ProjectedCell`` instead. A cell whose step is one recurrent
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
        """The recurrent part of the step, given one step of ``project_inputs``' output."""
        return self(projected, state)

    @property
    def recurrence(self) -> Recurrence | None:
        """The step as one recurrent matmul and a ``pointwise`` function (``Recurrence``), or
        None (the default) for a step that is not of that form."""
        return None

    def named_parameters(self) -> dict[str, tf.Variable]:
        """The variables by name, in the order they were created (``weight_ih``, ...)."""
        return named_variables(self)

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter as a NumPy array, under its name."""
        return {name: v.numpy() for name, v in self.named_parameters().items()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Assign parameters from a dict of arrays (NumPy, TensorFlow or PyTorch CPU tensors).

        Keys and shapes must match ``state_dict()``; with ``strict=False`` missing keys are
        left as they are and unexpected keys are ignored.
        """
        load_parameters(
            self.named_parameters(), state_dict, owner=type(self).__name__, strict=strict
        )


class ProjectedCell(Cell):
    """A cell split into a time-parallel input projection and a recurrent step.

    ``__call__`` is ``step(project_inputs(x), state)``, so a subclass writes the maths once.
    """

    @abc.abstractmethod
    def project_inputs(self, inputs: tf.Tensor) -> tf.Tensor:
        """The input projection of any number of steps: ``[..., I] -> [..., P]``."""

    @abc.abstractmethod
    def step(self, projected: tf.Tensor, state: State) -> tuple[tf.Tensor, State]:
        """The recurrent step from one projected input ``[B, P]`` and ``state``."""

    def __call__(self, inputs: tf.Tensor, state: State) -> tuple[tf.Tensor, State]:
        return self.step(self.project_inputs(inputs), state)


class Runner(abc.ABC):
    """Unrolls a cell over time.

    ``supports(cell)`` says whether it can unroll a cell; ``runner="auto"`` picks among the
    built-in runners by a rule about the cell (``seqkit.model.resolve_runner``). ``jit_compile``
    asks the code that runs the model (the trainer's update step, sampling) to compile that
    whole step with XLA.
    """

    jit_compile: bool = False  # ask the step that runs the model to compile itself with XLA

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
        the state is carried through unchanged and the output is zero.
        """


class Loss(abc.ABC):
    """A training loss: the mean of the per-step losses L_t over the counted steps and the batch.

    ``per_step`` is false for a loss on the last step only (one label per sequence): a trainer
    then computes it only in the window that ends the sequence.
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


@dataclass(frozen=True)
class SequenceBatch:
    """A batch of B sequences (or B parallel streams): inputs ``[B, T, ...]``, targets, mask.

    ``context`` is what the model reads besides the steps, never sliced over time: a nest of
    ``[B, ...]`` arrays (an encoder-decoder model's source, ``{"source": [B, S],
    "source_mask": [B, S]}``), given to the model as ``model(..., context=context)``.
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray | None = None
    context: Any = None


class Task(abc.ABC):
    """Makes the data and says what the targets are.

    ``target_form`` is ``"sequence"`` (one label per sequence: the loss is on the last counted
    step), ``"step"`` (a label per step) or ``"shifted"`` (the input shifted by one).
    ``default_loss`` names a registered loss; ``default_truncation`` the truncation strategy a
    run uses unless its config names one (``"bptt"`` for sets of whole sequences, ``"tbptt"``
    for long streams). A task whose inputs are integer ids says so with ``vocab_size`` in
    ``model_dims``; one with dense inputs gives ``input_size``.

    Options are the keyword arguments of the task's constructor; ``seqkit run`` passes the
    config's ``[task]`` keys to it.
    """

    target_form: str = "step"
    default_loss: str = "cross-entropy"
    default_truncation: str = "bptt"
    # Config values a run of this task does well with ({"train.steps": 400, ...}), used for
    # the keys a config leaves unset, so that `seqkit run --set task.name=X` ends in minutes.
    recommended: Mapping[str, Any] = {}

    @abc.abstractmethod
    def model_dims(self) -> dict[str, int]:
        """The sizes a model for this task needs: ``vocab_size`` or ``input_size``, and
        ``output_size``."""

    @abc.abstractmethod
    def train_batches(self, batch_size: int, seed: int) -> list[SequenceBatch]:
        """The training data: a list of batches (streams are one long batch per epoch)."""

    @abc.abstractmethod
    def eval_batches(self, batch_size: int) -> list[SequenceBatch]:
        """The validation data."""

    def loss_options(self) -> dict[str, Any]:
        """Options for ``default_loss``: ``last_step=True`` for one label per sequence."""
        return {"last_step": True} if self.target_form == "sequence" else {}

    def metrics(self, mean_loss: float) -> dict[str, float]:
        """Metrics derived from a mean loss (bits per character, ...); none by default."""
        return {}

    def counts(self, targets, outputs, mask=None) -> dict[str, tuple[float, float]]:
        """The task's own metrics over one batch of model ``outputs`` (NumPy arrays), as
        ``name -> (total, count)``; over the data the metric is sum(total) / sum(count)
        (accuracy: correct predictions, counted predictions). None by default."""
        return {}

    def baselines(self) -> dict[str, float]:
        """What a model-free predictor scores on the validation data, under the names that
        ``metrics`` and ``counts`` use (the adding problem's always-1 MSE, a majority class'
        accuracy, ...), computed from the data; none by default."""
        return {}


class LanguageModelTask(Task):
    """A task whose model predicts the next token of a text: a run of it can be sampled from,
    keeps its vocabulary (``vocab.json``) and can be evaluated on another text.

    Inputs are token ids, targets the ids shifted by one (``target_form = "shifted"``). The
    factory takes a ``vocabulary`` keyword (a ``TextVocabulary``, listed in ``runtime_options``
    so that it is no config key): a run directory gives back the vocabulary it trained with, so
    that every id keeps its meaning; None builds the vocabulary from the data.

        class WordLM(seqkit.LanguageModelTask):
            def __init__(self, corpus="", vocabulary=None): ...
            @property
            def vocabulary(self): return self._vocabulary     # TextVocabulary(..., " ")
            def corpus_batches(self, corpus, batch_size): ...  # seqkit eval RUN --corpus
    """

    target_form = "shifted"
    runtime_options: tuple[str, ...] = ("vocabulary",)

    @property
    @abc.abstractmethod
    def vocabulary(self) -> TextVocabulary:
        """The tokens by id, and how a text splits into them."""

    @abc.abstractmethod
    def corpus_batches(self, corpus: str, batch_size: int) -> list[SequenceBatch]:
        """All of another text (a path, as the task's own corpus option takes it) as evaluation
        batches in this task's vocabulary: ``seqkit eval RUN --corpus PATH``."""


class DecodingTask(abc.ABC):
    """What a task whose predictions are decoded sequences offers (``seq2seq``, ``transcribe``),
    so that a run can decode a source a user gives (``seqkit sample RUN --source TEXT``) and
    score decoded output (``seqkit eval``, ``seqkit.evaluate_decoded``).

    A task subclasses both ``Task`` and ``DecodingTask``. Its ``target_form`` says which model
    reads it: ``"seq2seq"`` (a ``seqkit.Seq2SeqModel``: the batches' ``context`` holds the
    source, the inputs are the target shifted right, the loss is per step) or ``"unaligned"``
    (a ``SequenceModel`` whose outputs over the input frames are scored with a loss over the
    whole sequence, such as CTC; targets ``[B, L]`` padded with 0). The names of
    ``decoded_counts`` are also keys of ``baselines``.
    """

    @abc.abstractmethod
    def read_sources(self, texts: Sequence[str]) -> SequenceBatch:
        """The batch the model reads for ``texts`` (B sources as the user writes them): inputs,
        mask and context as the task's own batches hold them, and no targets (``[B, 0]``)."""

    @abc.abstractmethod
    def decode(self, model, batch: SequenceBatch, beam_width: int = 1) -> list[np.ndarray]:
        """The model's prediction for each row of ``batch``: B arrays of target ids (no start,
        end or padding ids), by greedy decoding (``beam_width`` 1) or beam search."""

    @abc.abstractmethod
    def target_text(self, ids) -> str:
        """Target ids ``[n]`` (a prediction from ``decode``) as text."""

    def vocabulary_fingerprint(self) -> str | None:
        """A digest of the tokens by id (both sides'), which a run's ``task.json`` keeps so that
        a data file changed since training, which would change what the ids mean, is found;
        None where the task has no vocabulary to guard."""
        return None

    @abc.abstractmethod
    def decoded_counts(
        self, batch: SequenceBatch, predicted: Sequence[np.ndarray]
    ) -> dict[str, tuple[float, float]]:
        """The task's metrics of decoded output over one batch, ``name -> (total, count)``
        (exact match: matching rows, rows); over the data a metric is sum(total) /
        sum(count)."""
