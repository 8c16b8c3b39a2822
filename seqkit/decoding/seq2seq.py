"""Generation from a ``Seq2SeqModel``: greedy decoding and beam search, batched, compiled.

    decoder = seqkit.Seq2SeqDecoder(model, start_id=2, end_id=3, max_length=20)
    found = decoder.greedy(source, source_mask)            # source [B, S] ids, mask [B, S]
    found = decoder.beam(source, source_mask, beam_width=4)
    found.sequences()                                      # B arrays of ids, without the end

Both read the source once (``model.encode``), then run the decoder one step at a time from the
start symbol, feeding back the id they chose, until every row has produced the end symbol or
``max_length`` ids (the end symbol counts as one). Greedy decoding takes the most likely id at
each step; beam search (``seqkit.decoding.beam_search``) keeps ``beam_width`` hypotheses per row,
and
beam width 1 gives greedy decoding's ids exactly. Each row reads only its own source steps
(the source mask); rows that are done wait, with the end symbol, for the others.

Each is one ``tf.function``, the encoder, the loop and every decoder step in one graph, traced
once per batch and source shape (and beam width). ``jit_compile=True`` compiles it with XLA:
about twice as fast per call once compiled, but each new shape then costs seconds of compiling
(indicative, from one run on a busy 2-core CPU, GRU 64 with attention: ~5 s greedy, ~13 s beam,
against ~2 s of tracing), so it pays off only for many batches of one shape; the default is the
plain graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from seqkit.decoding.beam_search import beam_loop
from seqkit.errors import OptionError
from seqkit.validation import real_number, whole_number


@dataclass(frozen=True)
class Decoded:
    """Decoded ids ``[B, L]`` (end symbols after each row's output), the output's length
    ``[B]`` (ids before the end symbol; L where a row never ended), whether each row produced
    the end symbol ``[B]``, and its score ``[B]``: the summed log-probability of its ids and end
    symbol (beam search: divided by the length to the power ``length_penalty``)."""

    ids: np.ndarray
    lengths: np.ndarray
    finished: np.ndarray
    scores: np.ndarray

    def sequences(self) -> list[np.ndarray]:
        """Each row's output ids, without the end symbol."""
        return [row[:n] for row, n in zip(self.ids, self.lengths, strict=True)]


def greedy_loop(model, source, source_mask, start_id: int, end_id: int, max_length: int):
    """``(ids [B, L], lengths [B], finished [B], scores [B])`` of greedy decoding."""
    encoded = model.encode(source, source_mask)
    batch = tf.shape(source)[0]
    dtype = tf.float64 if model.dtype == tf.float64 else tf.float32
    ids = tf.fill([batch, max_length], end_id)
    lengths = tf.fill([batch], max_length)
    done = tf.zeros([batch], tf.bool)
    scores = tf.zeros([batch], dtype)

    def body(i, previous, state, ids, lengths, done, scores):
        logits, state = model.step(previous, state, encoded)
        logits = tf.cast(logits, dtype)
        chosen = tf.argmax(logits, axis=-1, output_type=tf.int32)
        logp = tf.gather(tf.nn.log_softmax(logits), chosen, batch_dims=1)
        chosen = tf.where(done, end_id, chosen)
        scores += tf.where(done, tf.zeros_like(logp), logp)
        ends = ~done & tf.equal(chosen, end_id)
        lengths = tf.where(ends, i, lengths)
        ids = tf.where(tf.range(max_length) == i, chosen[:, None], ids)
        return i + 1, chosen, state, ids, lengths, done | ends, scores

    start = tf.fill([batch], start_id)
    _, _, _, ids, lengths, done, scores = tf.while_loop(
        lambda i, *_: (i < max_length) & ~tf.reduce_all(done),
        body,
        (tf.constant(0), start, encoded.state, ids, lengths, done, scores),
        maximum_iterations=max_length,
    )
    return ids, lengths, done, scores


class Seq2SeqDecoder:
    """A model's compiled greedy and beam-search loops; ``start_id`` and ``end_id`` are the
    target vocabulary's start and end symbols, ``max_length`` bounds the ids generated."""

    def __init__(self, model, start_id: int, end_id: int, max_length: int, jit_compile=False):
        self.model = model
        self.start_id = whole_number("Seq2SeqDecoder: start_id", start_id, 0)
        self.end_id = whole_number("Seq2SeqDecoder: end_id", end_id, 0)
        self.max_length = whole_number("Seq2SeqDecoder: max_length", max_length, 1)
        for what, value in (("start_id", self.start_id), ("end_id", self.end_id)):
            if value >= model.output_size:
                raise OptionError(
                    f"Seq2SeqDecoder: {what} {value} is not an id of the model's "
                    f"{model.output_size} outputs; give the target vocabulary's symbol."
                )
        self._greedy = tf.function(
            lambda source, mask: greedy_loop(
                model, source, mask, self.start_id, self.end_id, self.max_length
            ),
            jit_compile=jit_compile,
        )
        self._beam = tf.function(
            lambda source, mask, width, penalty: beam_loop(
                model, source, mask, self.start_id, self.end_id, self.max_length, width, penalty
            ),
            jit_compile=jit_compile,
        )

    def _inputs(self, source, source_mask):
        source = tf.convert_to_tensor(source)
        if source.shape.rank not in (2, 3) or source.shape[1] == 0:
            raise OptionError(
                f"Seq2SeqDecoder: the source must be [batch, steps] ids (or [batch, steps, "
                f"features]) with at least one step, got shape {source.shape}."
            )
        if source_mask is None:
            source_mask = tf.ones(tf.shape(source)[:2], tf.bool)
        return source, tf.cast(source_mask, tf.bool)

    def greedy(self, source, source_mask=None) -> Decoded:
        """The most likely id at each step, for every row of ``source`` ``[B, S]``."""
        source, mask = self._inputs(source, source_mask)
        found = self._greedy(source, mask)
        return Decoded(*(np.asarray(x) for x in found))

    def beam(self, source, source_mask=None, beam_width=4, length_penalty=1.0) -> Decoded:
        """The best hypothesis of a beam search of ``beam_width`` per row (see
        ``seqkit.decoding.beam_search`` for ``length_penalty``)."""
        width = whole_number("Seq2SeqDecoder: beam_width", beam_width, 1)
        length_penalty = real_number("Seq2SeqDecoder: length_penalty", length_penalty)
        source, mask = self._inputs(source, source_mask)
        penalty = tf.constant(float(length_penalty), tf.float64)
        ids, lengths, scores = self._beam(source, mask, width, penalty)
        ids, lengths, scores = (np.asarray(x)[:, 0] for x in (ids, lengths, scores))
        return Decoded(ids, lengths, lengths < self.max_length, scores)  # the best of each pool
