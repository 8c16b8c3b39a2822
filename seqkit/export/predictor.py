"""Any single stack as a TensorFlow SavedModel that runs without seqkit, answering in its task's
terms: a classifier, a tagger, a forecaster, a CTC transcriber.

    export_predictor(model, task.serving_terms(), task.target_form, "exported/")

    m = tf.saved_model.load("exported/")          # anywhere TensorFlow is, seqkit or not
    m.signatures["predict"](inputs=..., mask=...)  # -> outputs [B, T, O] (the model's own)
    m.signatures["predict_text"](text=tf.constant(["a fine film", "dull"]))  # text tasks
    m.signatures["labels"]()                       # -> labels [O] string, where classes have names

Signatures (B batch, T steps, I input features, O outputs):

    predict(inputs [B, T] int32 ids or [B, T, I] float32, mask [B, T] bool)
        -> outputs [B, T, O] float32, last [B, O] (the output at each row's last real step)
    predict_text(text [B] string)                       where the task reads text
        -> one label per sequence: label [B] string, probabilities [B, O]
        -> a label per step:       labels [B, T] string ("" past a row's end), probabilities
           [B, T, O], mask [B, T]
    labels() -> labels [O] string                        where the task names its classes

Text is split as the task splits it (white space, or characters) and looked up in the run's
vocabulary; a token it never saw is its unknown id, as in training.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from seqkit.export.errors import ExportError
from seqkit.export.graph_runners import without_custom_ops
from seqkit.interfaces import ServingTerms
from seqkit.ops import last_counted_step


class PredictorExport(tf.Module):
    """A ``SequenceModel`` over whole sequences, with the signatures of the module docstring."""

    def __init__(self, model, terms: ServingTerms, per_sequence: bool):
        super().__init__(name="seqkit_predictor")
        self.model, self.terms, self.per_sequence = model, terms, per_sequence
        if model.output_size is None:
            raise ExportError("saved_model export needs a model with an output head.")
        if terms.output_names is not None and len(terms.output_names) != model.output_size:
            raise ExportError(
                f"saved_model export: the task names {len(terms.output_names)} classes, the "
                f"model predicts {model.output_size}; export the run's own model."
            )
        self.names = tf.Variable(list(terms.output_names or [""]), trainable=False, name="labels")
        self.table = None
        if terms.input_tokens is not None:
            tokens = tf.constant(list(terms.input_tokens), tf.string)
            ids = tf.range(len(terms.input_tokens), dtype=tf.int32)
            self.table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(tokens, ids), default_value=terms.unknown_id
            )

    def input_spec(self) -> tf.TensorSpec:
        if self.model.encoder is not None:
            return tf.TensorSpec([None, None], tf.int32, name="inputs")
        return tf.TensorSpec([None, None, self.model.input_size], tf.float32, name="inputs")

    def _outputs(self, inputs, mask):
        inputs = inputs if inputs.dtype.is_integer else tf.cast(inputs, self.model.dtype)
        outputs, _ = self.model(inputs, mask=mask)
        outputs = tf.cast(outputs, tf.float32)
        return outputs, last_counted_step(outputs, mask)

    def predict(self, inputs, mask):
        outputs, last = self._outputs(inputs, mask)
        return {"outputs": outputs, "last": last}

    def predict_text(self, text):
        if self.terms.split == "chars":
            tokens = tf.strings.unicode_split(text, "UTF-8")
        else:
            tokens = tf.strings.split(text)
        ids = tf.ragged.map_flat_values(self.table.lookup, tokens)
        inputs = ids.to_tensor(default_value=0)
        mask = tf.sequence_mask(ids.row_lengths(), tf.shape(inputs)[1])
        outputs, last = self._outputs(inputs, mask)
        if self.per_sequence:
            probabilities = tf.nn.softmax(last)
            return {"label": tf.gather(self.names, tf.argmax(last, -1)),
                    "probabilities": probabilities}  # fmt: skip
        names = tf.where(mask, tf.gather(self.names, tf.argmax(outputs, -1)), "")
        return {"labels": names, "probabilities": tf.nn.softmax(outputs), "mask": mask}

    def labels(self):
        return {"labels": tf.identity(self.names)}

    def signatures(self) -> dict:
        """The concrete functions to save, by signature name."""
        found = {
            "predict": tf.function(self.predict).get_concrete_function(
                self.input_spec(), tf.TensorSpec([None, None], tf.bool, name="mask")
            )
        }
        if self.table is not None:
            found["predict_text"] = tf.function(self.predict_text).get_concrete_function(
                tf.TensorSpec([None], tf.string, name="text")
            )
        if self.terms.output_names is not None:
            found["labels"] = tf.function(self.labels).get_concrete_function()
        return found


def export_predictor(model, terms: ServingTerms, target_form: str, out: str | Path) -> Path:
    """Write ``model`` as a SavedModel answering in ``terms`` into the new directory ``out``."""
    module = PredictorExport(model, terms, per_sequence=target_form == "sequence")
    with without_custom_ops(model):
        tf.saved_model.save(module, str(out), signatures=module.signatures())
    return Path(out)
