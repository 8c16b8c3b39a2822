"""The task interfaces: ``SequenceBatch`` (the data), ``Task`` (makes it and says what the
targets are), and the protocols a task declares for what a run can do with it:
``LanguageModelTask`` (sampling, ``vocab.json``, evaluation on another text) and
``DecodingTask`` (decoding a source a user gives, scoring decoded output).
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seqkit.data.vocabulary import TextVocabulary
from seqkit.errors import OptionError


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


def as_batch(data, caller: str) -> SequenceBatch:
    """``data`` as a ``SequenceBatch``: one already, or an ``(inputs, targets[, mask[,
    context]])`` tuple; anything else fails in one line naming ``caller``."""
    if isinstance(data, SequenceBatch):
        return data
    if isinstance(data, tuple) and 2 <= len(data) <= 4:
        return SequenceBatch(*data)
    raise OptionError(
        f"{caller}: data must be a SequenceBatch, an (inputs, targets[, mask[, context]]) "
        f"tuple, or an iterable of them; got {type(data).__name__}."
    )


def as_batches(data, caller: str) -> list[SequenceBatch]:
    """One batch (a ``SequenceBatch`` or a tuple) or an iterable of them, as a list of
    ``SequenceBatch`` (see ``as_batch``)."""
    single = isinstance(data, SequenceBatch | tuple)
    return [as_batch(batch, caller) for batch in ([data] if single else data)]


class TargetForm(enum.StrEnum):
    """What a task's targets are, which picks the model and how the loss reads them. A value
    compares equal to its name as text (``"sequence"``), so a task may give either."""

    SEQUENCE = "sequence"  # one label per sequence: the loss on the last counted step
    STEP = "step"  # a label per step
    SHIFTED = "shifted"  # the input shifted by one (a language model)
    SEQ2SEQ = "seq2seq"  # another sequence, read by a Seq2SeqModel (the source in the context)
    UNALIGNED = "unaligned"  # another, shorter sequence scored over the whole input (CTC)


@dataclass(frozen=True)
class ServingTerms:
    """How a model exported from a run of a task reads and answers in the task's own terms
    (``seqkit export --format saved_model``), beside its ``predict`` over ids or numbers.

    ``input_tokens``: the token of each input id (id 0 padding, as the task's batches pad),
    where the inputs are text: the export then takes raw text, split into ``split`` ("words"
    at white space, or "chars"), a token outside them read as ``unknown_id``. ``output_names``:
    the name of each output class (labels, tags), where the outputs are classes: the export
    then answers with names. None where the task has no such terms (numbers in, numbers out).

    A ``DecodingTask``'s export answers with decoded sequences as text: ``output_names`` are
    then its target tokens by id, joined by ``output_separator`` ("" for characters, " " for
    words). A seq2seq task also gives its target vocabulary's ``start_id`` and ``end_id`` and
    decoding's bound ``max_length`` (ids, the end symbol included), as its own decoder has them.
    """

    input_tokens: tuple[str, ...] | None = None
    split: str = "words"
    unknown_id: int = 1
    output_names: tuple[str, ...] | None = None
    output_separator: str = ""
    start_id: int | None = None
    end_id: int | None = None
    max_length: int | None = None


class Task(abc.ABC):
    """Makes the data and says what the targets are.

    ``target_form`` is a ``TargetForm``: ``"sequence"`` (one label per sequence: the loss is on
    the last counted step), ``"step"`` (a label per step), ``"shifted"`` (the input shifted by
    one), or for a ``DecodingTask`` ``"seq2seq"`` or ``"unaligned"``.
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

    def serving_terms(self) -> ServingTerms:
        """How an exported model of this task reads text and names its classes
        (``ServingTerms``); by default it takes and gives numbers only."""
        return ServingTerms()

    def baselines(self) -> dict[str, float]:
        """What a model-free predictor scores on the validation data, under the names that
        ``metrics`` and ``counts`` use (the adding problem's always-1 MSE, a majority class'
        accuracy, ...), computed from the data; none by default."""
        return {}


class CorpusTask(abc.ABC):
    """What a task that can read another file of its kind offers, so that a run can be scored
    on it (``seqkit eval RUN --corpus PATH``, ``Run.evaluate(corpus=...)``): every language
    model, ``classify`` and ``tag``. A task subclasses both ``Task`` and ``CorpusTask``."""

    @abc.abstractmethod
    def corpus_batches(self, corpus: str, batch_size: int) -> list[SequenceBatch]:
        """All of another file (a path, as the task's own file option takes it) as evaluation
        batches in this task's vocabulary. A task may take an ``unknown`` keyword
        (``"refuse"``, ``"skip"`` or ``"map"``): what becomes of a token its vocabulary lacks
        (``--unknown``)."""


class LanguageModelTask(Task, CorpusTask):
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
