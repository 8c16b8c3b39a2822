"""A model trained with CTC (a ``transcribe`` run's) as a TensorFlow SavedModel that runs
without seqkit, transcribing frames in one graph: the model over the frames, then TensorFlow's
own CTC decoders (``tf.nn.ctc_greedy_decoder``, ``tf.nn.ctc_beam_search_decoder``).

    export_ctc(model, task.serving_terms(), beam_width=4, out="exported/")

    m = tf.saved_model.load("exported/")                  # seqkit installed or not
    m.signatures["decode"](frames=frames, lengths=lengths)["text"]   # [b"31415", ...]

Signatures (B batch, T frames, F features, L the longest output), beside ``predict`` and
``labels`` (``seqkit.export.predictor``):

    decode(frames [B, T, F] float32, lengths [B] int32)        the best path (greedy)
    decode_beam(frames [B, T, F] float32, lengths [B] int32)   a prefix beam search of the
                                                               export's beam width
        -> text [B] string    each row's labels, joined as the task writes them
           ids [B, L] int32   label ids (1..C-1; class 0 is the blank), 0 past a row's end
           lengths [B] int32  each row's count of labels

Frames at or past a row's ``lengths`` are not read: they give the ids of
``seqkit.decoding.ctc``'s ``ctc_greedy_decode`` and ``ctc_beam_decode`` with that mask.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from seqkit.decoding.ctc import BLANK
from seqkit.export.errors import ExportError
from seqkit.export.graph_runners import without_custom_ops
from seqkit.export.predictor import PredictorExport
from seqkit.export.text_tables import join_tokens
from seqkit.interfaces import ServingTerms


class CTCExport(PredictorExport):
    """A ``SequenceModel`` over frames with ``predict`` and the decoding signatures above."""

    def __init__(self, model, terms: ServingTerms, beam_width: int):
        super().__init__(model, terms, per_sequence=False)
        if model.encoder is not None or terms.output_names is None:
            raise ExportError(
                "saved_model export of a CTC model needs a model over frames and the task's "
                "label names (output_names in its serving_terms())."
            )
        self.beam_width = int(beam_width)

    def _time_major(self, frames, lengths):
        """Logits ``[T, B, C]`` float32 over the frames up to each row's length."""
        mask = tf.sequence_mask(lengths, tf.shape(frames)[1])
        outputs, _ = self._outputs(frames, mask)
        return tf.transpose(outputs, [1, 0, 2])

    def _answer(self, decoded: tf.SparseTensor, batch, shift: int) -> dict:
        rows = decoded.indices[:, 0]
        width = decoded.dense_shape[1]
        labels = tf.SparseTensor(decoded.indices, tf.cast(decoded.values, tf.int32) + shift,
                                 tf.stack([tf.cast(batch, tf.int64), width]))  # fmt: skip
        ids = tf.sparse.to_dense(labels, default_value=0)
        lengths = tf.math.bincount(tf.cast(rows, tf.int32), minlength=batch, maxlength=batch)
        text = join_tokens(self.names, ids, lengths, self.terms.output_separator)
        return {"text": text, "ids": ids, "lengths": lengths}

    def decode(self, frames, lengths):
        time_major = self._time_major(frames, lengths)
        (decoded,), _ = tf.nn.ctc_greedy_decoder(
            time_major, lengths, merge_repeated=True, blank_index=BLANK
        )
        return self._answer(decoded, tf.shape(frames)[0], shift=0)

    def decode_beam(self, frames, lengths):
        # TensorFlow's beam search takes the last class as the blank: class 0 moves there, so
        # that its class k - 1 is our k (as seqkit.decoding.ctc does)
        rolled = tf.roll(self._time_major(frames, lengths), shift=-1, axis=-1)
        decoded, _ = tf.nn.ctc_beam_search_decoder(
            rolled, lengths, beam_width=self.beam_width, top_paths=1
        )
        return self._answer(decoded[0], tf.shape(frames)[0], shift=1)

    def signatures(self) -> dict:
        """``predict`` and ``labels``, and the decoding signatures, by name."""
        found = super().signatures()
        frames = tf.TensorSpec([None, None, self.model.input_size], tf.float32, name="frames")
        lengths = tf.TensorSpec([None], tf.int32, name="lengths")
        for name in ("decode", "decode_beam"):
            found[name] = tf.function(getattr(self, name)).get_concrete_function(frames, lengths)
        return found


def export_ctc(model, terms: ServingTerms, beam_width: int, out: str | Path) -> Path:
    """Write the CTC ``model`` as a SavedModel transcribing in ``terms`` into ``out``."""
    module = CTCExport(model, terms, beam_width)
    with without_custom_ops(model):
        tf.saved_model.save(module, str(out), signatures=module.signatures())
    return Path(out)
