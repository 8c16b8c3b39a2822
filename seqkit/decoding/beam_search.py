"""Beam search over a ``Seq2SeqModel``'s decoder, batched, as one graph loop.

Each row keeps K live hypotheses (K = ``beam_width``) and a pool of up to K finished ones. At
each step every live hypothesis is extended by its 2K most likely next ids (a beam's best
extensions are among them: K beams cannot take more), and of these K * 2K candidates the 2K of
highest log-probability are taken, in order. As in fairseq, an end symbol among the first K of
them finishes that hypothesis (it joins the pool), and the first K that are not end symbols are
the next live hypotheses. A row is done when its pool holds K hypotheses; the search stops when
every row is done or after ``max_length`` steps, when the unfinished live hypotheses join the
pool too.

A hypothesis' score is its log-probability divided by its length to the power
``length_penalty`` (its length counts its ids and its end symbol): 0 ranks by the summed
log-probability, which favours short outputs; the default 1 ranks by the mean log-probability
per id (fairseq's default). It ranks the finished pool only: live hypotheses compete by their
summed log-probability, so that beam width 1 takes the most likely id at each step and stops at
the first end symbol, exactly as greedy decoding does.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf


def _gather_rows(x, index):
    """``x`` ``[B, N, ...]`` at ``index`` ``[B, M]`` along axis 1 -> ``[B, M, ...]``."""
    return tf.gather(x, index, axis=1, batch_dims=1)


def _put(tokens, position, ids):
    """``tokens`` ``[B, M, L]`` with column ``position`` set to ``ids`` ``[B, M]``."""
    column = tf.range(tf.shape(tokens)[-1]) == position  # [L]
    return tf.where(column, ids[..., None], tokens)


def _merge(pool, new, width):
    """The ``width`` best of two pools ``(scores [B, N], tokens [B, N, L], lengths [B, N])``."""
    scores, tokens, lengths = (tf.concat([a, b], axis=1) for a, b in zip(pool, new, strict=True))
    best, index = tf.math.top_k(scores, k=width)
    return best, _gather_rows(tokens, index), _gather_rows(lengths, index)


def _candidates(logits, live_scores, width):
    """The 2K best extensions of the live hypotheses: ``(scores, beam, ids)``, each ``[B, 2K]``,
    best first. ``logits`` ``[B*K, V]``, ``live_scores`` ``[B, K]`` (-inf: no hypothesis)."""
    vocab = logits.shape[-1]
    per_beam = min(2 * width, vocab)
    # each beam's best ids by logit (log-softmax keeps their order and ties, so that width 1
    # takes the argmax as greedy decoding does), scored by log-probability
    _, ids = tf.math.top_k(logits, k=per_beam)  # [B*K, C]
    logp = tf.gather(tf.nn.log_softmax(logits), ids, batch_dims=1)
    batch = tf.shape(live_scores)[0]
    total = live_scores[:, :, None] + tf.reshape(logp, [batch, width, per_beam])
    scores, index = tf.math.top_k(
        tf.reshape(total, [batch, -1]), k=min(2 * width, width * per_beam)
    )
    ids = tf.gather(tf.reshape(ids, [batch, -1]), index, batch_dims=1)
    return scores, index // per_beam, ids


def beam_loop(model, source, source_mask, start_id, end_id, max_length, width, length_penalty):
    """Beam search for ``source`` ``[B, S]``: ``(ids [B, K, L], lengths [B, K], scores [B, K])``,
    the pool best first; ``lengths`` count ids before the end symbol, and ids after it are end
    symbols. ``width``, ``max_length``, ``start_id`` and ``end_id`` are Python ints."""
    encoded = model.encode(source, source_mask)
    batch = tf.shape(source)[0]
    repeat = lambda x: None if x is None else tf.repeat(x, width, axis=0)  # noqa: E731
    encoded = dataclasses.replace(  # each row's source K times: [B*K, ...], row-major
        encoded,
        memory=repeat(encoded.memory),
        mask=repeat(encoded.mask),
        state=tf.nest.map_structure(repeat, encoded.state),
    )
    dtype = tf.float64 if model.dtype == tf.float64 else tf.float32
    ninf = tf.constant(float("-inf"), dtype)
    penalty = tf.cast(length_penalty, dtype)
    first = tf.where(tf.range(width) == 0, tf.constant(0.0, dtype), ninf)  # only beam 0 at first
    first = tf.tile(first[None], [batch, 1])
    empty_tokens = tf.fill([batch, width, max_length], end_id)
    live = (first, empty_tokens)  # scores [B, K], tokens [B, K, L]
    pool = (tf.fill([batch, width], ninf), empty_tokens, tf.fill([batch, width], max_length))
    done = tf.zeros([batch], tf.bool)
    rows = tf.range(batch)[:, None] * width  # [B, 1]: the first beam of each row in [B*K]

    def body(i, live, state, pool, done):
        live_scores, live_tokens = live
        previous = tf.where(i > 0, live_tokens[:, :, tf.maximum(i - 1, 0)], start_id)
        logits, state = model.step(tf.reshape(previous, [-1]), state, encoded)
        scores, beam, ids = _candidates(tf.cast(logits, dtype), live_scores, width)
        tokens = _put(_gather_rows(live_tokens, beam), i, ids)  # [B, 2K, L]
        valid = scores > ninf
        ended = tf.equal(ids, end_id) & valid
        first_k = tf.range(scores.shape[1]) < width  # an end symbol finishes among the first K
        finishes = ended & first_k & ~done[:, None]
        normalised = scores / tf.pow(tf.cast(i + 1, dtype), penalty)
        new = (tf.where(finishes, normalised, ninf), tokens, tf.fill(tf.shape(ids), i))
        pool = _merge(pool, new, width)
        live_scores, pick = tf.math.top_k(tf.where(ended, ninf, scores), k=width)
        live = (live_scores, _gather_rows(tokens, pick))
        chosen = tf.reshape(rows + _gather_rows(beam, pick), [-1])  # [B*K] into the old beams
        state = tf.nest.map_structure(lambda s: tf.gather(s, chosen), state)
        done = tf.reduce_all(pool[0] > ninf, axis=1)
        return i + 1, live, state, pool, done

    _, live, _, pool, done = tf.while_loop(
        lambda i, *_: (i < max_length) & ~tf.reduce_all(done),
        body,
        (tf.constant(0), live, encoded.state, pool, done),
        maximum_iterations=max_length,
    )
    steps = tf.cast(max_length, dtype)
    unfinished = tf.where(done[:, None], ninf, live[0] / tf.pow(steps, penalty))
    lengths = tf.fill([batch, width], max_length)
    scores, tokens, lengths = _merge(pool, (unfinished, live[1], lengths), width)
    return tokens, lengths, scores
