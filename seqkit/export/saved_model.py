"""A character model as a TensorFlow SavedModel that runs without seqkit.

    export_saved_model(model, vocabulary, "exported/")          # seqkit export RUN ... OUT

    # anywhere TensorFlow is installed, seqkit or not:
    m = tf.saved_model.load("exported/")
    m.signatures["generate"](prime=tf.constant("The "), length=tf.constant(200),
                             temperature=tf.constant(0.8), seed=tf.constant(0, tf.int64))
    # -> {"text": b"...", "ids": [200] int32}: the same text as `seqkit sample` gives

Signatures (B batch, V vocabulary size, S the state width: every layer's state tensors side by
side, layer 0 first, each in its cell's order, e.g. ``h, c`` for an LSTM):

    initial_state(batch_size [] int32)               -> state [B, S]
    step(ids [B] int32, state [B, S])                -> logits [B, V], state [B, S]
    generate(prime [] string, length [] int32, temperature [] float32, seed [] int64)
                                                     -> text [] string, ids [length] int32
    vocabulary()                                     -> vocabulary [V] string, one character each

``generate`` runs the prime through the model, then draws each next character from
softmax(logits / temperature) with ``tf.random.stateless_categorical`` seeded by ``(seed,
step)``, in the graph of ``seqkit.decoding.sampling``: the same seed gives the same text as ``seqkit
sample``. Temperature 0 takes the likeliest character. A prime character outside the
vocabulary fails with an InvalidArgumentError that says so.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from seqkit.decoding.sampling import generation_loop
from seqkit.export.errors import ExportError
from seqkit.export.graph_runners import without_custom_ops
from seqkit.interfaces.cell import state_sizes
from seqkit.models.sequence import SequenceModel


class CharModelExport(tf.Module):
    """A ``SequenceModel`` over characters, with the signatures of the module docstring."""

    def __init__(self, model: SequenceModel, vocabulary: str):
        super().__init__(name="seqkit_export")
        if model.encoder is None or model.output_size is None:
            raise ExportError(
                "saved_model export needs a model over token ids with an output head "
                "(a char-lm run's model); this one has "
                f"encoder={model.encoder!r}, output_size={model.output_size!r}."
            )
        if model.bidirectional:
            raise ExportError(
                "saved_model export: a bidirectional model reads whole sequences and has no "
                "step to generate with; export a unidirectional model."
            )
        if len(vocabulary) != model.output_size:
            raise ExportError(
                f"saved_model export: the vocabulary has {len(vocabulary)} characters, the "
                f"model predicts {model.output_size}; give the run's own vocab.json."
            )
        self.model = model
        self.sizes = state_sizes(model.cells)
        characters = tf.constant(list(vocabulary), tf.string)
        self.characters = tf.Variable(characters, trainable=False, name="vocabulary")
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                characters, tf.range(len(vocabulary), dtype=tf.int32)
            ),
            default_value=-1,
        )

    def _flat(self, state) -> tf.Tensor:
        return tf.concat([s for layer in state for s in layer], axis=1)

    def _nested(self, flat: tf.Tensor):
        parts = iter(tf.split(flat, self.sizes, axis=1))
        return tuple(tuple(next(parts) for _ in cell.state_size) for cell in self.model.cells)

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="batch_size")])
    def initial_state(self, batch_size):
        return {"state": self._flat(self.model.initial_state(batch_size))}

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.int32, name="ids"),
            tf.TensorSpec([None, None], tf.float32, name="state"),
        ]
    )
    def step(self, ids, state):
        state = self._nested(tf.cast(state, self.model.dtype))
        logits, state = self.model.step(ids, state)
        return {"logits": tf.cast(logits, tf.float32), "state": self._flat(state)}

    @tf.function(
        input_signature=[
            tf.TensorSpec([], tf.string, name="prime"),
            tf.TensorSpec([], tf.int32, name="length"),
            tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([], tf.int64, name="seed"),
        ]
    )
    def generate(self, prime, length, temperature, seed):
        prime_ids = self.table.lookup(tf.strings.unicode_split(prime, "UTF-8"))
        checks = [
            tf.debugging.assert_positive(
                tf.size(prime_ids), message="generate: the prime must hold at least one character"
            ),
            tf.debugging.assert_non_negative(
                prime_ids, message="generate: the prime holds a character outside the vocabulary"
            ),
            tf.debugging.assert_non_negative(length, message="generate: length must be 0 or more"),
        ]
        with tf.control_dependencies(checks):
            prime_ids = tf.identity(prime_ids)
        ids = generation_loop(self.model, prime_ids[None, :], length, temperature, seed)[0]
        text = tf.strings.reduce_join(tf.gather(self.characters, ids))
        return {"text": text, "ids": ids}

    @tf.function(input_signature=[])
    def vocabulary(self):
        return {"vocabulary": tf.identity(self.characters)}


def export_saved_model(model: SequenceModel, vocabulary: str, out: str | Path) -> Path:
    """Write ``model`` and its ``vocabulary`` as a SavedModel in the directory ``out``."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(
            f"{str(out)!r} already exists and is not an empty directory; "
            "give a new directory to export to."
        )
    module = CharModelExport(model, vocabulary)
    with without_custom_ops(model):
        signatures = {
            name: getattr(module, name).get_concrete_function()
            for name in ("step", "generate", "initial_state", "vocabulary")
        }
        tf.saved_model.save(module, str(out), signatures=signatures)
    return out
