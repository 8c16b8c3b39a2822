"""Generation from a trained model, inside the graph: a while loop over ``model.step``.

    ids = Sampler(model)(prime_ids, length=500, temperature=0.8, seed=1)   # [length] int32

The prime runs through the model's runner in one call; then each new id comes from
``model.step``, drawn from softmax(logits / temperature) by the inverse of its cumulative
distribution at a uniform number u_i. The u_i come ``CHUNK`` at a time from
``tf.random.stateless_uniform`` (Philox) seeded by ``(seed, i // CHUNK)``, so the same seed gives
the same text. Temperature 0 takes the argmax.

``Sampler`` runs each chunk of ``CHUNK`` steps as one XLA-compiled while loop (``jit_compile``:
XLA needs the loop's output buffer to have a fixed size), carrying logits and state from chunk
to chunk. Its two functions that hold a model are made per model, each traced once (per prime
length); the uniforms' function depends on no model and is traced once per process. The
uniforms are drawn outside XLA, because XLA's random numbers differ from the TensorFlow
kernels'; so it gives the ids of ``generation_loop``, the plain graph loop
that ``seqkit.export`` saves (up to float rounding of the logits, which moves a draw only when u_i
falls within rounding of a boundary of the distribution).
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from seqkit.errors import DataError, OptionError
from seqkit.validation import whole_number

CHUNK = 256  # ids per compiled call: ~1 us of call overhead per id, one compile per model


def _uniforms(seed, first_chunk, chunks, batch):
    """The uniforms of ``chunks`` chunks from ``first_chunk``: ``[chunks * CHUNK, B]``, or one
    chunk's where ``chunks`` is 0."""

    def one(c):
        seeds = tf.stack([seed, tf.cast(first_chunk + c, tf.int64)])
        return tf.random.stateless_uniform([CHUNK, batch], seed=seeds, alg="philox")

    count = tf.maximum(chunks, 1)  # one at least: map_fn cannot stack an empty list
    u = tf.map_fn(one, tf.range(count), fn_output_signature=tf.float32)  # [count, CHUNK, B]
    return tf.reshape(u, [-1, batch])


# One function for every Sampler: it holds no model, and its arguments are always int tensors.
_shared_uniforms = tf.function(
    _uniforms,
    input_signature=[
        tf.TensorSpec([], tf.int64),
        tf.TensorSpec([], tf.int32),
        tf.TensorSpec([], tf.int32),
        tf.TensorSpec([], tf.int32),
    ],
)


def _pick(logits, temperature, u):
    """The next ids ``[B]`` from ``logits`` ``[B, V]`` and uniforms ``u`` ``[B]``."""
    scaled = logits / tf.maximum(temperature, 1e-6)
    probs = tf.nn.softmax(scaled - tf.reduce_max(scaled, axis=-1, keepdims=True))
    cdf = tf.cumsum(probs, axis=-1)  # [B, V]
    below = tf.cast(cdf < u[:, None] * cdf[:, -1:], tf.int32)
    drawn = tf.minimum(tf.reduce_sum(below, axis=-1), tf.shape(logits)[-1] - 1)
    greedy = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return tf.where(temperature > 0.0, drawn, greedy)


def generation_loop(model, prime, length, temperature, seed):
    """``prime`` ``[B, P]`` ids -> ``[B, length]`` ids that follow it: the plain graph loop that
    ``seqkit.export`` saves, its uniforms drawn here for the whole length at once."""
    logits, state = _prime(model, prime)
    batch = tf.shape(prime)[0]
    u = _uniforms(seed, 0, (length + CHUNK - 1) // CHUNK, batch)  # [>= length, B]
    ids, _, _ = _steps(model, logits, state, u, temperature, length)
    return ids


def _prime(model, ids):
    """The prime ``[B, P]`` through the model: its last logits ``[B, V]`` and state."""
    outputs, state = model(ids, model.initial_state(tf.shape(ids)[0]))
    return tf.cast(outputs[:, -1], tf.float32), state


def _chunk(model, logits, state, u, temperature):
    """``CHUNK`` ids ``[B, CHUNK]`` after ``logits`` ``[B, V]`` and ``state``, drawn with the
    uniforms ``u`` ``[CHUNK, B]``. Returns the ids, the last logits and the last state."""
    return _steps(model, logits, state, u, temperature, CHUNK, maximum_iterations=CHUNK)


def _steps(model, logits, state, u, temperature, length, maximum_iterations=None):
    """``length`` ids ``[B, length]`` after ``logits`` ``[B, V]`` and ``state``, the i-th drawn
    with the uniforms ``u[i]`` ``[B]``; and the last logits and state. XLA needs
    ``maximum_iterations`` to size the loop's buffer."""
    ids = tf.TensorArray(tf.int32, size=length)

    def body(i, logits, state, ids):
        nxt = _pick(logits, temperature, u[i])
        step_logits, state = model.step(nxt, state)
        return i + 1, tf.cast(step_logits, tf.float32), state, ids.write(i, nxt)

    _, logits, state, ids = tf.while_loop(
        lambda i, *_: i < length,
        body,
        (tf.constant(0), logits, state, ids),
        maximum_iterations=maximum_iterations,
    )
    return _batch_major(ids.stack()), logits, state


def _batch_major(ids):
    """``[length, B]`` ids -> ``[B, length]``, transposed as float32 values (exact below 2^24,
    far above any vocabulary's size): an integer transpose makes TensorFlow 2.21's oneDNN graph
    pass log an error line on some AVX-512 CPUs (AMD Zen 5: "oneDNN supports DT_INT32 only on
    platforms with AVX-512. Falling back ...") before it falls back to its own kernel."""
    return tf.cast(tf.transpose(tf.cast(ids, tf.float32)), tf.int32)


class Sampler:
    """A model's compiled generation loop, traced once for any prime length and sample length.

    ``jit_compile`` true compiles each chunk of ``CHUNK`` steps with XLA; false runs the same
    loop as a plain graph; None (the default) asks the model's runner, as a trainer's update
    does (``Runner.jit_compile``: the fused and xla runners, yes; graph and python, no).
    """

    def __init__(self, model, jit_compile: bool | None = None):
        self.model = model
        if jit_compile is None:
            jit_compile = bool(model.runner.jit_compile)
        # functools.partial, not a closure: a closure's code is shared by every Sampler, and
        # TensorFlow counts the first trace of each model's own function, keyed by that code,
        # as a retrace of one function ("5 out of the last 5 calls ... triggered retracing").
        # A partial is its own function, bound to this model. The prime's is traced per prime
        # length: the python runner needs a known length.
        self._prime = tf.function(functools.partial(_prime, model))
        self._chunk = tf.function(functools.partial(_chunk, model), jit_compile=jit_compile)

    def __call__(self, prime_ids, length: int, temperature: float = 1.0, seed: int = 0):
        """The ``length`` ids ``[length]`` (int32) that follow ``prime_ids`` ``[P]``."""
        length = whole_number("sample: length", length, minimum=0)
        if not temperature >= 0:
            raise OptionError(f"sample: temperature must be 0 or more, got {temperature!r}.")
        prime = tf.reshape(tf.cast(prime_ids, tf.int32), [1, -1])
        if prime.shape[1] == 0:
            raise OptionError("sample: the prime must hold at least one character.")
        logits, state = self._prime(prime)
        temp = tf.constant(temperature, tf.float32)
        seed = tf.constant(seed, tf.int64)
        chunks = []
        count = (length + CHUNK - 1) // CHUNK
        u = _shared_uniforms(seed, tf.constant(0), tf.constant(count), tf.constant(1))
        for c in range(count):
            ids, logits, state = self._chunk(logits, state, u[c * CHUNK : (c + 1) * CHUNK], temp)
            chunks.append(ids.numpy()[0])
        if not chunks:
            return np.zeros([0], np.int32)
        return np.concatenate(chunks)[:length]


def prime_ids(vocabulary, prime: str) -> list[int]:
    """The ids of ``prime`` in a ``TextVocabulary`` (a newline, else the first token, where it
    is empty); a token outside the vocabulary fails, naming it."""
    if not prime:  # a word-level vocabulary reads a newline as its end-of-line token
        newline = "\n" in vocabulary.tokens or vocabulary.end_of_line is not None
        prime = "\n" if newline else vocabulary.tokens[0]
    missing = sorted(vocabulary.missing(prime))
    if missing:
        raise DataError(
            f"The prime holds characters the model never saw: {''.join(missing)!r}; "
            "use characters of the training corpus."
        )
    return [int(i) for i in vocabulary.encode(prime)]
