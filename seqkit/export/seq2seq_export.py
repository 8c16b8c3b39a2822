"""An encoder-decoder (``Seq2SeqModel``) as a TensorFlow SavedModel that runs without seqkit,
decoding source text into target text in one graph: the task's split and vocabularies, the
encoder, and a ``tf.while_loop`` of decoder steps bounded by the task's ``max_length``.

    export_seq2seq(model, task.serving_terms(), beam_width=4, out="exported/")

    m = tf.saved_model.load("exported/")                        # seqkit installed or not
    m.signatures["decode"](text=tf.constant(["5 march 1991"]))["text"]   # [b"1991-03-05"]
    m.signatures["decode_beam"](text=..., length_penalty=tf.constant(1.0))

Signatures (B batch, L the task's ``max_length``):

    decode(text [B] string)                              greedy decoding
    decode_beam(text [B] string, length_penalty [] float32)
                                                         the best of a beam search of the
                                                         export's beam width
        -> text [B] string     each row's output tokens joined ("" for characters, " " words)
           ids [B, L] int32    output ids, then end symbols
           lengths [B] int32   ids before the end symbol (L where a row never ended)
           finished [B] bool   whether the row produced the end symbol
           scores [B] float32  summed log-probability (beam: over length ** length_penalty)

The loops are ``seqkit.decoding.seq2seq.greedy_loop`` and ``seqkit.decoding.beam_search``'s,
traced into the graph, so that they give ``seqkit sample RUN --source`` 's ids. A source text
with no token fails with an InvalidArgumentError that says so; an unseen token is unknown.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from seqkit.decoding.beam_search import beam_loop
from seqkit.decoding.seq2seq import greedy_loop
from seqkit.export.errors import ExportError
from seqkit.export.graph_runners import without_custom_ops
from seqkit.export.text_tables import join_tokens, read_text, token_table
from seqkit.interfaces import ServingTerms


def _check_terms(model, terms: ServingTerms) -> None:
    missing = [
        name
        for name in ("input_tokens", "output_names", "start_id", "end_id", "max_length")
        if getattr(terms, name) is None
    ]
    if missing:
        raise ExportError(
            f"saved_model export of an encoder-decoder needs the task's {', '.join(missing)} "
            "in its serving_terms(); give them in the task's ServingTerms."
        )
    if model.encoder.encoder != "embedding":
        raise ExportError(
            "saved_model export of an encoder-decoder reads source text; this model's encoder "
            "reads vectors, not token ids."
        )
    if len(terms.output_names) != model.output_size:
        raise ExportError(
            f"saved_model export: the task has {len(terms.output_names)} target tokens, the "
            f"model predicts {model.output_size}; export the run's own model."
        )


class Seq2SeqExport(tf.Module):
    """A ``Seq2SeqModel`` with the signatures of the module docstring."""

    def __init__(self, model, terms: ServingTerms, beam_width: int):
        super().__init__(name="seqkit_seq2seq")
        _check_terms(model, terms)
        self.model, self.terms, self.beam_width = model, terms, int(beam_width)
        self.table = token_table(terms.input_tokens, terms.unknown_id)
        targets = tf.constant(list(terms.output_names), tf.string)
        self.target_tokens = tf.Variable(targets, trainable=False, name="target_tokens")

    def _source(self, text):
        return read_text(self.table, text, self.terms.split, "decode")

    def _answer(self, ids, lengths, finished, scores) -> dict:
        text = join_tokens(self.target_tokens, ids, lengths, self.terms.output_separator)
        return {"text": text, "ids": ids, "lengths": lengths, "finished": finished,
                "scores": tf.cast(scores, tf.float32)}  # fmt: skip

    def decode(self, text):
        source, mask = self._source(text)
        terms = self.terms
        found = greedy_loop(
            self.model, source, mask, terms.start_id, terms.end_id, terms.max_length
        )
        return self._answer(*found)

    def decode_beam(self, text, length_penalty):
        source, mask = self._source(text)
        terms = self.terms
        ids, lengths, scores = beam_loop(
            self.model, source, mask, terms.start_id, terms.end_id, terms.max_length,
            self.beam_width, length_penalty,
        )  # fmt: skip
        ids, lengths, scores = ids[:, 0], lengths[:, 0], scores[:, 0]  # the best of each pool
        return self._answer(ids, lengths, lengths < terms.max_length, scores)

    def signatures(self) -> dict:
        """The concrete functions to save, by signature name."""
        text = tf.TensorSpec([None], tf.string, name="text")
        penalty = tf.TensorSpec([], tf.float32, name="length_penalty")
        return {
            "decode": tf.function(self.decode).get_concrete_function(text),
            "decode_beam": tf.function(self.decode_beam).get_concrete_function(text, penalty),
        }


def export_seq2seq(model, terms: ServingTerms, beam_width: int, out: str | Path) -> Path:
    """Write the encoder-decoder ``model`` as a SavedModel decoding in ``terms`` into ``out``."""
    module = Seq2SeqExport(model, terms, beam_width)
    with without_custom_ops(model):
        tf.saved_model.save(module, str(out), signatures=module.signatures())
    return Path(out)
