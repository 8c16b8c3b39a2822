"""The diagonal linear recurrence h_t = a_t * h_{t-1} + b_t for every t at once, by a parallel
scan, with a gradient that is the same scan run backwards.

    h = linear_scan(a, b, h0)        a, b [T, B, H], h0 [B, H] -> h [T, B, H]

The scan combines steps with the associative operator (a1, b1) then (a2, b2) = (a1 a2,
a2 b1 + b2), in the chunked form: a doubling scan (Hillis and Steele) inside chunks of
``CHUNK`` steps, the same over the chunks' totals, and one multiply-add to join them:
log2(CHUNK) + log2(T / CHUNK) rounds of elementwise work over all steps. It never divides by a
product of a's, so a product that underflows to 0 over thousands of steps (where a naive
h_t = A_t (h0 + sum b_s / A_s) overflows) only says, correctly, that h0 is forgotten.

The gradient: with g_t = dL/dh_t + a_{t+1} g_{t+1} (a scan in reverse over a shifted by one),
dL/db_t = g_t, dL/da_t = g_t h_{t-1} and dL/dh0 = a_0 g_0. Nothing of the forward scan's
rounds is kept for it: only a, h and h0.
"""

from __future__ import annotations

import tensorflow as tf

CHUNK = 16  # steps per chunk: measured against 8, 32, 64 and no chunks (benchmarks/scan_speed.py)


def _shifted(x: tf.Tensor, shift, fill: float, axis: int) -> tf.Tensor:
    """``x`` moved ``shift`` steps later along ``axis``; the first ``shift`` steps are ``fill``."""
    rank = x.shape.rank
    head = [slice(None)] * axis + [slice(None, -shift)]
    paddings = [[0, 0]] * axis + [[shift, 0]] + [[0, 0]] * (rank - axis - 1)
    return tf.pad(x[tuple(head)], paddings, constant_values=fill)


def doubling_scan(a: tf.Tensor, b: tf.Tensor, axis: int = 0) -> tuple[tf.Tensor, tf.Tensor]:
    """Inclusive scan along ``axis`` (of known length), from a zero state: ``(prod_{s<=t} a_s,
    h_t)`` for every t, in ceil(log2(length)) rounds."""
    steps = a.shape[axis]
    shift = 1
    while shift < steps:
        b = b + a * _shifted(b, shift, 0.0, axis)
        a = a * _shifted(a, shift, 1.0, axis)
        shift *= 2
    return a, b


def dynamic_doubling_scan(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """``doubling_scan``'s h along axis 0 for a length known only when it runs (a while loop)."""
    steps = tf.shape(a)[0]

    def body(shift, a, b):
        b = b + a * _shifted(b, shift, 0.0, 0)
        a = a * _shifted(a, shift, 1.0, 0)
        return shift * 2, a, b

    _, _, b = tf.while_loop(lambda shift, *_: shift < steps, body, (tf.constant(1), a, b))
    return b


def chunked_scan(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """h_t = a_t h_{t-1} + b_t along axis 0 from a zero state, in chunks of ``CHUNK`` steps."""
    steps = a.shape[0]
    if steps is None:
        return dynamic_doubling_scan(a, b)
    if steps <= CHUNK:
        return doubling_scan(a, b)[1]
    chunks = -(-steps // CHUNK)
    pad = [[0, chunks * CHUNK - steps]] + [[0, 0]] * (a.shape.rank - 1)  # identity steps
    shape = tf.concat([[chunks, CHUNK], tf.shape(a)[1:]], 0)
    a = tf.reshape(tf.pad(a, pad, constant_values=1.0), shape)  # [n, C, B, H]
    b = tf.reshape(tf.pad(b, pad), shape)
    decay, local = doubling_scan(a, b, axis=1)  # within each chunk, from a zero state
    _, ends = doubling_scan(decay[:, -1], local[:, -1])  # h at each chunk's end  [n, B, H]
    starts = _shifted(ends, 1, 0.0, 0)  # h entering each chunk
    h = local + decay * starts[:, None]
    return tf.reshape(h, tf.concat([[chunks * CHUNK], tf.shape(h)[2:]], 0))[:steps]


@tf.custom_gradient
def _linear_scan(a, b, h0):
    first = a[:1] * h0[None] + b[:1]  # h0 folded into the first step
    h = chunked_scan(a, tf.concat([first, b[1:]], 0))

    def gradient(dh):
        following = tf.concat([a[1:], tf.zeros_like(a[:1])], 0)  # a_{t+1}; nothing after T-1
        g = tf.reverse(chunked_scan(tf.reverse(following, [0]), tf.reverse(dh, [0])), [0])
        before = tf.concat([h0[None], h[:-1]], 0)  # h_{t-1}
        return g * before, g, a[0] * g[0]

    return h, gradient


def linear_scan(a: tf.Tensor, b: tf.Tensor, h0: tf.Tensor) -> tf.Tensor:
    """h_t = a_t * h_{t-1} + b_t for t = 0..T-1 from ``h0``: ``a, b`` [T, B, H] (T >= 1), ``h0``
    [B, H] -> h [T, B, H]. Half-precision inputs are scanned in float32, then cast back."""
    dtype = b.dtype
    wide = tf.float32 if dtype in (tf.bfloat16, tf.float16) else dtype
    h = _linear_scan(tf.cast(a, wide), tf.cast(b, wide), tf.cast(h0, wide))
    return tf.cast(h, dtype)
