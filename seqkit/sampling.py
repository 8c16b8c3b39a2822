"""Generation from a trained model, inside the graph: one ``tf.function`` with a while loop.

    ids = generate(model, prime_ids, length=500, temperature=0.8, seed=1)   # [length] int32

The prime runs through the model's runner in one call; then each new id comes from
``model.step``, drawn from softmax(logits / temperature) with ``tf.random.stateless_categorical``
seeded by ``(seed, step)``, so the same seed gives the same text. Temperature 0 takes the argmax.
"""

from __future__ import annotations

import tensorflow as tf

from seqkit.errors import OptionError


def _pick(logits, temperature, seed, index):
    """The next ids ``[B]`` from ``logits`` ``[B, V]``."""

    def draw():
        scaled = logits / tf.maximum(temperature, 1e-6)
        ids = tf.random.stateless_categorical(scaled, 1, seed=tf.stack([seed, index]))
        return tf.cast(ids[:, 0], tf.int32)

    def argmax():
        return tf.argmax(logits, axis=-1, output_type=tf.int32)

    return tf.cond(temperature > 0.0, draw, argmax)


def _loop(model, prime, length, temperature, seed):
    """``prime`` ``[B, P]`` ids -> ``[B, length]`` ids that follow it."""
    batch = tf.shape(prime)[0]
    outputs, state = model(prime, model.initial_state(batch))
    logits = tf.cast(outputs[:, -1], tf.float32)
    ids = tf.TensorArray(tf.int32, size=length)

    def body(i, logits, state, ids):
        nxt = _pick(logits, temperature, seed, tf.cast(i, tf.int64))
        step_logits, state = model.step(nxt, state)
        return i + 1, tf.cast(step_logits, tf.float32), state, ids.write(i, nxt)

    _, _, _, ids = tf.while_loop(
        lambda i, *_: i < length, body, (tf.constant(0), logits, state, ids)
    )
    return tf.transpose(ids.stack())  # [length, B] -> [B, length]


class Sampler:
    """A model's compiled generation loop, traced once for any prime length and sample length."""

    def __init__(self, model):
        self.model = model
        self._run = tf.function(
            lambda prime, length, temperature, seed: _loop(model, prime, length, temperature, seed),
            input_signature=[
                tf.TensorSpec([None, None], tf.int32),
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([], tf.float32),
                tf.TensorSpec([], tf.int64),
            ],
        )

    def __call__(self, prime_ids, length: int, temperature: float = 1.0, seed: int = 0):
        """The ``length`` ids ``[length]`` (int32) that follow ``prime_ids`` ``[P]``."""
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise OptionError(f"sample: length must be a non-negative integer, got {length!r}.")
        if not temperature >= 0:
            raise OptionError(f"sample: temperature must be 0 or more, got {temperature!r}.")
        prime = tf.reshape(tf.cast(prime_ids, tf.int32), [1, -1])
        if prime.shape[1] == 0:
            raise OptionError("sample: the prime must hold at least one character.")
        ids = self._run(prime, tf.constant(length), tf.constant(temperature, tf.float32), seed)
        return ids.numpy()[0]


def generate(model, prime_ids, length: int, temperature: float = 1.0, seed: int = 0):
    """``length`` ids that follow ``prime_ids``; see ``Sampler`` to sample again without a trace."""
    return Sampler(model)(prime_ids, length, temperature, seed)
