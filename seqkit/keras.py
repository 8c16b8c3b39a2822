"""``seqkit.keras.RNN``: any seqkit cell, built-in or from a plugin, as a Keras 3 layer.

    import keras, seqkit.keras
    model = keras.Sequential([keras.layers.Embedding(100, 16, mask_zero=True),
                              seqkit.keras.RNN("lstm", 32),
                              keras.layers.Dense(1)])
    model.compile("adam", "mse"); model.fit(tokens, targets)   # tokens [B, T] -> [B, 1]
    model.save("m.keras"); keras.models.load_model("m.keras")  # safe_mode=True works

The layer takes the cell by its registered name and hidden size, builds it once it sees the
input size, and unrolls it with a seqkit runner. The cell's own variables become the
layer's trainable weights (Keras variables that wrap the very same variables), so ``fit``
trains them, ``cell.state_dict()`` reads what Keras trained, and ``.keras`` files restore them.
A cell instance works too (``RNN(cell)``). A layer of a cell that the registry built
(``seqkit.make_cell("gru", 8, 16)``) saves as if made by name, since the registry recorded the
name and options (``seqkit.plugins.registry.made_by``); one of a cell constructed from its class
cannot be saved, because nothing says which options built it.

As ``keras.layers.RNN``: inputs ``[B, T, I]``; ``return_sequences`` gives ``[B, T, O]``,
otherwise the output of each sequence's last unmasked step ``[B, O]``; ``return_state`` adds
the final state tensors ``[B, n]`` (LSTM: ``h``, ``c``) after the output; where the mask (from
``Embedding(mask_zero=True)``, ``Masking`` or ``mask=``) is false the state is carried
through and the step's output is zero (Keras' ``zero_output_for_mask=True``);
``go_backwards`` reads the steps in reverse (and returns them in that order); ``stateful``
carries the final state of each batch over to the next (a fixed batch size).
Loading a saved model needs ``import seqkit.keras`` first, and the plugin of its cell installed.

The layer follows its Keras dtype policy (``dtype="mixed_bfloat16"``, or
``keras.mixed_precision.set_global_policy("mixed_bfloat16")``): the cell's variables in the
policy's variable dtype (float32), its maths in the compute dtype (bfloat16, the cell's
variables read as casts: ``seqkit.training.precision.autocast``), the outputs and states returned
in the
compute dtype, as Keras' own layers give them; a saved ``.keras`` model keeps the policy.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

import keras
import tensorflow as tf

from seqkit.errors import OptionError, ShapeError
from seqkit.interfaces import Cell, check_size
from seqkit.models.runner_choice import resolve_runner
from seqkit.plugins.registry import default_registry, made_by
from seqkit.training.precision import autocast

_BUILT_BY_LAYER = ("input_size", "hidden_size")  # cell arguments a saved layer gives itself


def last_output(outputs: tf.Tensor, mask: tf.Tensor | None) -> tf.Tensor:
    """Each sequence's output at its last step where ``mask`` is true: ``[B, T, O] -> [B, O]``.

    Zero for a sequence with no such step, as Keras' RNN gives.
    """
    if mask is None:
        return outputs[:, -1]
    mask = tf.cast(mask, tf.bool)
    steps = tf.shape(outputs)[1]
    from_end = tf.argmax(tf.reverse(tf.cast(mask, tf.int32), [1]), axis=1, output_type=tf.int32)
    last = tf.gather(outputs, steps - 1 - from_end, axis=1, batch_dims=1)
    return tf.where(tf.reduce_any(mask, axis=1)[:, None], last, tf.zeros_like(last))


@keras.saving.register_keras_serializable(package="seqkit")
class RNN(keras.layers.Layer):
    """A Keras layer that unrolls a seqkit cell over ``[B, T, I]``.

    Args:
        cell: a registered cell name (``"lstm"``, ``"gru"``, ``"vanilla"``, a plugin's) or a
            ``seqkit.Cell`` instance.
        hidden_size: the cell's hidden size H; required with a name, taken from an instance.
        return_sequences: return every step's output ``[B, T, O]``, not the last ``[B, O]``.
        return_state: return ``[output, *final_state]``.
        stateful: start each batch from the previous batch's final state.
        go_backwards: process the steps from last to first.
        cell_options: options of the cell's factory (``{"activation": "relu"}``), with a name.
        runner: the seqkit runner by name; ``"auto"`` picks the best installed one.
    """

    def __init__(
        self,
        cell: str | Cell,
        hidden_size: int | None = None,
        return_sequences: bool = False,
        return_state: bool = False,
        stateful: bool = False,
        go_backwards: bool = False,
        *,
        cell_options: Mapping[str, Any] | None = None,
        runner: str = "auto",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(cell, Cell):
            if hidden_size not in (None, cell.hidden_size) or cell_options:
                raise OptionError(
                    f"RNN: a cell instance brings its own hidden size ({cell.hidden_size}) and "
                    "options; give hidden_size and cell_options only with a cell name."
                )
            self.cell, self.cell_name = cell, None
            hidden_size = cell.hidden_size
        elif isinstance(cell, str):
            default_registry().get("cell", cell)  # an unknown name fails here, not at build
            self.cell, self.cell_name = None, cell
            hidden_size = check_size("RNN", "hidden_size", hidden_size)
        else:
            raise OptionError(
                f"RNN: cell must be a registered cell name or a seqkit.Cell, got "
                f"{type(cell).__name__}."
            )
        if not isinstance(runner, str):
            raise OptionError(f"RNN: runner must be a registered runner name, got {runner!r}.")
        self.hidden_size = hidden_size
        self.cell_options = dict(cell_options or {})
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.stateful = bool(stateful)
        self.go_backwards = bool(go_backwards)
        self.runner_name = runner
        self.supports_masking = True
        self.states: list[keras.Variable] = []

    # -- building ----------------------------------------------------------------------------

    def build(self, sequences_shape, initial_state_shape=None):
        if len(sequences_shape) != 3 or sequences_shape[-1] is None:
            raise ShapeError(
                f"RNN: inputs must be [batch, time, features] with a known number of features, "
                f"got shape {tuple(sequences_shape)}."
            )
        input_size = int(sequences_shape[-1])
        if self.cell is None:
            options = {"dtype": self.variable_dtype, **self.cell_options}  # a saved dtype wins
            with tf.init_scope():  # the cell's variables live outside any graph being traced
                self.cell = default_registry().make(
                    "cell", self.cell_name, input_size, self.hidden_size, **options
                )
        elif self.cell.input_size != input_size:
            raise ShapeError(
                f"RNN: the cell takes {self.cell.input_size} features, the inputs have "
                f"{input_size}."
            )
        # Keras compiles its train step with XLA where it can: no custom ops in a Keras layer
        self.runner = resolve_runner(
            self.runner_name, [self.cell], default_registry(), custom_ops=False
        )
        # Keras variables that wrap the cell's own: one set of numbers, seen by both.
        for name, variable in self.cell.named_parameters().items():
            wrapped = keras.Variable(
                initializer=variable,
                dtype=variable.dtype.name,
                trainable=variable.trainable,
                name=name.replace("/", "."),
            )
            self._track_variable(wrapped)
        if self.stateful:
            batch = sequences_shape[0]
            if batch is None:
                raise OptionError(
                    "RNN: stateful=True needs a fixed batch size; give "
                    "keras.Input(shape=..., batch_size=B) or call the layer on a batch first."
                )
            self.states = [
                self.add_weight(
                    shape=(batch, n),
                    initializer="zeros",
                    trainable=False,
                    dtype=self.cell.dtype.name,
                    name=f"state_{k}",
                )
                for k, n in enumerate(self.cell.state_size)
            ]
        self.built = True

    def _described_cell(self) -> tuple[str, dict[str, Any]]:
        """The cell's registered name and options: as given, or as the registry recorded
        them when it built the cell instance; an OptionError when nothing records them."""
        if self.cell_name is not None:
            return self.cell_name, self.cell_options
        made = made_by(self.cell)
        arguments = None if made is None else made.arguments()
        if made is None or made.registration.kind != "cell" or arguments is None:
            raise OptionError(
                f"RNN: a layer made from a cell instance that seqkit's registry did not build "
                f"({type(self.cell).__name__} constructed directly) cannot be saved, since "
                "nothing says which options built it; make the cell with seqkit.make_cell(...), "
                "or the layer from the cell's name, e.g. seqkit.keras.RNN('lstm', 32)."
            )
        options = {k: v for k, v in arguments.items() if k not in (*_BUILT_BY_LAYER, "dtype")}
        if self.cell.dtype.name != self.variable_dtype:
            options["dtype"] = self.cell.dtype.name
        try:
            json.dumps(options)
        except (TypeError, ValueError):
            raise OptionError(
                f"RNN: the cell {made.registration.name!r} was made with options that a .keras "
                f"file cannot hold ({options!r}); give them as text and numbers, or make the "
                "layer from the cell's name with cell_options."
            ) from None
        return made.registration.name, options

    def get_config(self) -> dict[str, Any]:
        cell_name, cell_options = self._described_cell()
        return {
            **super().get_config(),
            "cell": cell_name,
            "hidden_size": self.hidden_size,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "stateful": self.stateful,
            "go_backwards": self.go_backwards,
            "cell_options": cell_options,
            "runner": self.runner_name,
        }

    # -- running -----------------------------------------------------------------------------

    def reset_state(self) -> None:
        """Zero the carried state of a stateful layer."""
        for variable in self.states:
            variable.assign(tf.zeros(variable.shape, variable.dtype))

    def _casting(self):
        """The cell's variables read in the compute dtype, where the policy's differs."""
        compute = tf.as_dtype(self.compute_dtype)
        if compute == self.cell.dtype:
            return contextlib.nullcontext()
        return autocast([self.cell], compute)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        compute = tf.as_dtype(self.compute_dtype)  # the cell's dtype but under a mixed policy
        x = tf.cast(sequences, compute)
        if mask is not None:
            mask = tf.cast(mask, tf.bool)
        if self.go_backwards:
            x = tf.reverse(x, [1])
            mask = None if mask is None else tf.reverse(mask, [1])
        if initial_state is not None:
            state = tuple(tf.cast(s, compute) for s in tf.nest.flatten(initial_state))
            if len(state) != len(self.cell.state_size):
                raise ShapeError(
                    f"RNN: initial_state has {len(state)} tensors, the cell's state has "
                    f"{len(self.cell.state_size)} (state_size {self.cell.state_size})."
                )
        elif self.stateful:
            state = tuple(tf.cast(v, compute) for v in self.states)
        else:
            state = self.cell.initial_state(tf.shape(x)[0], compute)
        with self._casting():
            outputs, final = self.runner.run(self.cell, x, state, mask)
        if self.stateful:
            for variable, value in zip(self.states, final, strict=True):
                variable.assign(tf.cast(value, variable.dtype))
        output = outputs if self.return_sequences else last_output(outputs, mask)
        return [output, *final] if self.return_state else output

    def compute_mask(self, sequences, mask=None):
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.cell.state_size)
        return output_mask

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, steps = sequences_shape[0], sequences_shape[1]
        width = self.cell.output_size
        output = (batch, steps, width) if self.return_sequences else (batch, width)
        if self.return_state:
            return [output] + [(batch, n) for n in self.cell.state_size]
        return output
