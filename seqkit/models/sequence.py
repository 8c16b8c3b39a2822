"""``SequenceModel``: encoder -> a stack of cells unrolled by a runner -> output head.

>>> import numpy as np
>>> import seqkit
>>> model = seqkit.SequenceModel(
...     "lstm", hidden_size=16, output_size=5, num_layers=2,
...     encoder="embedding", vocab_size=5, embedding_size=4, runner="python",
... )
>>> tokens = np.zeros([2, 3], np.int32)  # [B, T]
>>> logits, state = model(tokens)
>>> logits.shape  # [B, T, output_size]
TensorShape([2, 3, 5])
>>> [[tuple(s.shape) for s in layer] for layer in state]  # (h, c) of each layer
[[(2, 16), (2, 16)], [(2, 16), (2, 16)]]
>>> {name: value.shape for name, value in model.state_dict().items()}
{'embedding.weight': (5, 4),
 'weight_ih_l0': (64, 4), 'weight_hh_l0': (64, 16), 'bias_ih_l0': (64,), 'bias_hh_l0': (64,),
 'weight_ih_l1': (64, 16), 'weight_hh_l1': (64, 16), 'bias_ih_l1': (64,), 'bias_hh_l1': (64,),
 'head.weight': (5, 16), 'head.bias': (5,)}

As ``torch.nn.LSTM``: a state is one tuple per layer (and direction), and ``state_dict()`` names
the stack's parameters ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``,
``..._l1``, and with ``bidirectional=True`` also ``weight_ih_l0_reverse``, ... With
``initial_state="learned"`` the start state is a parameter too, ``initial_state_l0.0`` (h) and
``initial_state_l0.1`` (c), one value for every row. The encoder's are ``embedding.weight``
([V, E], as ``torch.nn.Embedding``) and the head's ``head.weight`` ([O, H]) and ``head.bias``
([O]): y_t = f(W_out h_t + b_out).

``precision="mixed_bfloat16"`` (Keras' policy name; ``seqkit.training.precision``) computes the
encoder's
output, the stack (every cell, through ``seqkit.training.precision.autocast``) and the head in
bfloat16,
with float32 variables; the outputs (the logits a loss reads, and f of them) and the states it
takes and returns are float32, so that the loss, the carried state and checkpoints are float32.
The default ``"float32"`` computes everything in ``dtype``, with no cast.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from seqkit.errors import OptionError, ShapeError
from seqkit.interfaces import (
    Cell,
    Runner,
    State,
    TokenRows,
    check_size,
)
from seqkit.models.runner_choice import resolve_runner
from seqkit.ops import glorot_uniform, linear
from seqkit.option_words import ENCODERS, INITIAL_STATES
from seqkit.parameters import StateDict
from seqkit.plugins.registry import Registry, default_registry
from seqkit.training.precision import Precision, resolve_precision
from seqkit.validation import one_of, real_number

OUTPUT_ACTIVATIONS = {
    None: tf.identity,
    "linear": tf.identity,
    "tanh": tf.tanh,
    "sigmoid": tf.sigmoid,
    "relu": tf.nn.relu,
    "softmax": tf.nn.softmax,
}


def reverse_steps(x: tf.Tensor, mask: tf.Tensor | None) -> tf.Tensor:
    """``x`` ``[B, T, ...]`` with each sequence's counted steps in reverse order; the padding
    after a sequence's end (``mask`` false on a suffix) stays where it is. ``TokenRows``
    reverse their ids."""
    if isinstance(x, TokenRows):
        return x._replace(ids=reverse_steps(x.ids, mask))
    if mask is None:
        return tf.reverse(x, axis=[1])
    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    return tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)


def _checked_precision(precision, dtype: tf.DType) -> Precision:
    """``precision`` resolved; a mixed one only over float32 variables."""
    resolved = resolve_precision(precision, "SequenceModel")
    if resolved.mixed and dtype != tf.float32:
        raise OptionError(
            f"SequenceModel: precision {resolved.name!r} keeps float32 variables, "
            f"but dtype is {dtype.name}; leave dtype out, or use precision 'float32'."
        )
    return resolved


def _check_choices(dropout, encoder, output_activation, initial_state) -> None:
    """The model's options that are one of a few values, each refused in one sentence."""
    real_number("SequenceModel: dropout", dropout, minimum=0, below=1)
    one_of("SequenceModel: encoder", encoder, ENCODERS)
    one_of("SequenceModel: output_activation", output_activation, OUTPUT_ACTIVATIONS)
    one_of("SequenceModel: initial_state", initial_state, INITIAL_STATES)


class SequenceModel(StateDict, tf.Module):
    """A recurrent network: encoder, ``num_layers`` cells of ``hidden_size``, output head."""

    # No source encoder (``seqkit.interfaces.Model``): the trainer carries the state of
    # ``cells``, and those are all the cells there are.
    encoder_cells: tuple[Cell, ...] = ()
    encoder_cell_name: str | None = None

    def __init__(
        self,
        cell: str,
        input_size: int | None = None,
        hidden_size: int = 128,
        output_size: int | None = None,
        num_layers: int = 1,
        dropout: float = 0.0,
        encoder: str | None = None,
        vocab_size: int | None = None,
        embedding_size: int | None = None,
        output_activation: str | None = None,
        runner: str | Runner = "auto",
        initial_state: str = "zeros",
        bidirectional: bool = False,
        cell_options: Mapping[str, Any] | None = None,
        tie_embeddings: bool = False,
        io_dropout: float = 0.0,
        dtype=tf.float32,
        precision: str | Precision = "float32",
        registry: Registry | None = None,
        name: str | None = None,
    ):
        super().__init__(name=name)
        registry = registry or default_registry()
        self.dtype = tf.as_dtype(dtype)
        self.precision = _checked_precision(precision, self.dtype)
        self.compute_dtype = self.precision.compute_dtype or self.dtype
        self.hidden_size = check_size("SequenceModel", "hidden_size", hidden_size)
        self.num_layers = check_size("SequenceModel", "num_layers", num_layers)
        _check_choices(dropout, encoder, output_activation, initial_state)
        self.dropout = float(dropout)
        # on the first layer's inputs and the last's outputs
        self.io_dropout = real_number("SequenceModel: io_dropout", io_dropout, minimum=0, below=1)
        self.encoder = encoder
        self.output_activation = output_activation
        self.vocab_size = None
        self.input_size = self._encoder_input_size(input_size, vocab_size, embedding_size)
        self.cell_name = cell
        self.bidirectional = bool(bidirectional)
        self.directions = 2 if self.bidirectional else 1
        self.cells = self._make_cells(registry, cell, dict(cell_options or {}))
        self.learned_state = self._make_learned_state() if initial_state == "learned" else None
        self.output_size, self.tie_embeddings = None, bool(tie_embeddings)
        if output_size is not None:
            self._make_head(check_size("SequenceModel", "output_size", output_size))
        self.runner = resolve_runner(runner, self.cells, registry)
        # Dropout draws from a generator the model owns, so that a checkpoint holds its state
        # and a resumed run drops the same units as an uninterrupted one.
        seed = int(tf.random.uniform([], 0, 2**31 - 1, dtype=tf.int64))  # repeats after set_seed
        self.dropout_rng = tf.random.Generator.from_seed(seed)

    def _make_cells(self, registry: Registry, cell: str, options: dict) -> list[Cell]:
        """One cell per layer and direction, in torch.nn.LSTM's order: l0, l0_reverse, l1, ..."""
        width = self.hidden_size * self.directions  # a layer's output: both directions, joined
        sizes = [self.input_size] + [width] * (self.num_layers - 1)
        return [
            registry.make("cell", cell, size, self.hidden_size, dtype=self.dtype, **options)
            for size in sizes
            for _ in range(self.directions)
        ]

    def _make_learned_state(self) -> list[list[tf.Variable]]:
        """h_0 (and c_0) of each cell as parameters, one row that every stream starts from."""
        return [
            [
                tf.Variable(tf.zeros([n], self.dtype), name=f"initial_state_{i}")
                for i, n in enumerate(c.state_size)
            ]
            for c in self.cells
        ]

    def _make_head(self, output_size: int) -> None:
        """W_out ``[O, H * directions]`` and b_out ``[O]``."""
        self.output_size = output_size
        width = self.cells[-1].output_size * self.directions
        if self.tie_embeddings:  # W_out is the embedding [V, E] (Press & Wolf, 2017)
            if self.encoder != "embedding" or tuple(self.embedding.shape) != (output_size, width):
                raise OptionError(
                    f"SequenceModel: tie_embeddings reads the outputs with the embedding, which "
                    f"needs an embedding encoder of vocab_size = output_size ({output_size}) and "
                    f"embedding_size = the top layer's width ({width}); set them so, or leave "
                    "tie_embeddings off."
                )
            self.head_weight = self.embedding  # one variable in both places
            self.head_bias = tf.Variable(tf.zeros([output_size], self.dtype), name="head_bias")
            return
        self.head_weight = tf.Variable(
            glorot_uniform(self.output_size, width, self.dtype), name="head_weight"
        )
        self.head_bias = tf.Variable(tf.zeros([self.output_size], self.dtype), name="head_bias")

    def _encoder_input_size(self, input_size, vocab_size, embedding_size) -> int:
        if self.encoder is None:
            return check_size("SequenceModel", "input_size", input_size)
        self.vocab_size = check_size("SequenceModel", "vocab_size", vocab_size)
        if self.encoder == "onehot":
            if input_size not in (None, self.vocab_size):
                raise OptionError(
                    f"SequenceModel: a one-hot encoder gives vocab_size ({vocab_size}) inputs; "
                    f"input_size {input_size} disagrees (leave it out)."
                )
            return self.vocab_size
        size = check_size("SequenceModel", "embedding_size", embedding_size or input_size)
        limit = 1.0  # as torch.nn.Embedding's N(0, 1), but bounded
        self.embedding = tf.Variable(
            tf.random.uniform([self.vocab_size, size], -limit, limit, dtype=self.dtype),
            name="embedding",
        )
        return size

    # -- state -------------------------------------------------------------------------------

    @property
    def learns_initial_state(self) -> bool:
        """Whether the state at each sequence's start is a trained parameter."""
        return self.learned_state is not None

    def initial_state(self, batch_size: int) -> tuple[State, ...]:
        """The state at a sequence's start, one tuple per cell (per layer, and per direction
        where bidirectional): zeros, or the learned state repeated for every row."""
        if self.learned_state is None:
            return tuple(cell.initial_state(batch_size, self.dtype) for cell in self.cells)
        return tuple(
            tuple(tf.tile(v[None], [batch_size, 1]) for v in variables)
            for variables in self.learned_state
        )

    # -- forward -----------------------------------------------------------------------------

    def encode(self, inputs) -> tf.Tensor:
        """Inputs to cell inputs: ``[B, T]`` ids -> ``[B, T, I]``, or dense ``[B, T, I]`` as is."""
        inputs = tf.convert_to_tensor(inputs)
        if self.encoder is None:
            if inputs.shape.rank != 3:
                raise ShapeError(
                    f"SequenceModel: dense inputs must be [batch, time, {self.input_size}], "
                    f"got shape {inputs.shape}."
                )
            return tf.cast(inputs, self.compute_dtype)
        self._check_ids(inputs)
        if self.encoder == "onehot":
            return tf.one_hot(inputs, self.vocab_size, dtype=self.compute_dtype)
        return self.precision.compute(tf.gather(self.embedding, inputs))  # the rows, then a cast

    def _check_ids(self, inputs: tf.Tensor) -> None:
        if not inputs.dtype.is_integer:
            raise ShapeError(
                f"SequenceModel: the {self.encoder} encoder takes integer ids, "
                f"got {inputs.dtype.name}."
            )

    def _stack_inputs(self, inputs, training: bool):
        """The first layer's inputs: the encoded ``inputs``, with dropout in training; or, where
        the runner takes them and no dropout falls on them, the embedding's rows not yet
        gathered (``TokenRows``: the runner may project the table instead of every token)."""
        dropout = training and self.io_dropout
        if self.encoder == "embedding" and self.runner.takes_token_rows and not dropout:
            inputs = tf.convert_to_tensor(inputs)
            self._check_ids(inputs)
            return TokenRows(self.precision.compute(self.embedding), inputs)  # a cast, then rows
        return self._io_dropout(self.encode(inputs), training)

    def head(self, hidden: tf.Tensor) -> tf.Tensor:
        """y_t = f(W_out h_t + b_out), or h_t where the model has no head; in the variables'
        dtype (the matmul in the compute dtype, then W_out h_t + b_out cast to float32)."""
        if self.output_size is None:
            return self.precision.stored(hidden)
        weight, bias = self.precision.compute((self.head_weight, self.head_bias))
        logits = self.precision.stored(linear(hidden, weight, bias))
        return OUTPUT_ACTIVATIONS[self.output_activation](logits)

    def __call__(self, inputs, initial_state=None, mask=None, training: bool = False):
        """``(outputs [B, T, O], final_state)``; the state is one tuple per layer (per layer
        and direction where bidirectional: l0, l0_reverse, l1, ...)."""
        inputs = tf.convert_to_tensor(inputs)
        x = self._stack_inputs(inputs, training)
        if initial_state is None:
            initial_state = self.initial_state(tf.shape(inputs)[0])
        if len(initial_state) != len(self.cells):
            raise ShapeError(
                f"SequenceModel: initial_state has {len(initial_state)} layers, the model has "
                f"{len(self.cells)}"
                + (" (one per layer and direction)." if self.bidirectional else ".")
            )
        if mask is not None:
            mask = tf.cast(mask, tf.bool)
        initial_state = self.precision.compute(initial_state)
        with self.precision.casting(self.cells):  # the cells' variables read in compute dtype
            x, final = self._stack(x, initial_state, mask, training)
        return self.head(self._io_dropout(x, training)), self.precision.stored(final)

    def _io_dropout(self, x, training: bool):
        """Dropout on a non-recurrent connection, the stack's input or its output (Zaremba et
        al., 2014), in training only."""
        if not (training and self.io_dropout):
            return x
        seed = self.dropout_rng.make_seeds(1)[:, 0]
        return tf.nn.experimental.stateless_dropout(x, rate=self.io_dropout, seed=seed)

    def _stack(self, x, initial_state, mask, training: bool):
        """The layers over ``x`` ``[B, T, I]``: ``(the top layer's outputs, each cell's final
        state)``, in the compute dtype."""
        final = []
        d = self.directions
        for layer in range(self.num_layers):
            cells = self.cells[layer * d : (layer + 1) * d]
            states = initial_state[layer * d : (layer + 1) * d]
            x_forward, state = self.runner.run(cells[0], x, tuple(states[0]), mask)
            final.append(state)
            if self.bidirectional:
                backward, state = self.runner.run(
                    cells[1], reverse_steps(x, mask), tuple(states[1]), mask
                )
                final.append(state)
                x_forward = tf.concat([x_forward, reverse_steps(backward, mask)], axis=-1)
            x = x_forward
            if training and self.dropout and layer < self.num_layers - 1:
                x = tf.nn.experimental.stateless_dropout(  # between layers, as torch.nn.LSTM
                    x, rate=self.dropout, seed=self.dropout_rng.make_seeds(1)[:, 0]
                )
        return x, tuple(final)

    def step(self, inputs, state):
        """One step through every layer: ``inputs`` ``[B]`` ids or ``[B, I]`` -> ``[B, O]``."""
        if self.bidirectional:
            raise OptionError(
                "SequenceModel: a bidirectional model reads whole sequences and has no step; "
                "generation needs a unidirectional model."
            )
        x = self.encode(tf.expand_dims(inputs, 1))[:, 0]
        state = self.precision.compute(state)
        new_state = []
        with self.precision.casting(self.cells):
            for cell, layer_state in zip(self.cells, state, strict=True):
                x, layer_state = cell(x, tuple(layer_state))
                new_state.append(tuple(layer_state))
        return self.head(x), self.precision.stored(tuple(new_state))

    # -- parameters --------------------------------------------------------------------------

    def named_parameters(self) -> dict[str, tf.Variable]:
        """Parameters in ``torch.nn.LSTM``'s names: ``weight_ih_l0``, ..., then encoder, head."""
        params = {}
        if self.encoder == "embedding":
            params["embedding.weight"] = self.embedding
        for index, cell in enumerate(self.cells):
            layer, direction = divmod(index, self.directions)
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            params.update({f"{k}{suffix}": v for k, v in cell.named_parameters().items()})
            if self.learned_state is not None:
                for i, variable in enumerate(self.learned_state[index]):
                    params[f"initial_state{suffix}.{i}"] = variable
        if self.output_size is not None:
            params["head.weight"] = self.head_weight
            params["head.bias"] = self.head_bias
        return params
