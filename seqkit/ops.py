"""Small tensor helpers shared by cells, the model and plugins."""

from __future__ import annotations

import math

import tensorflow as tf


def linear(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | None = None) -> tf.Tensor:
    """``x @ weight^T + bias`` over the last axis, as ``torch.nn.functional.linear``.

    ``x`` ``[..., I]``, ``weight`` ``[O, I]`` (PyTorch's layout), ``bias`` ``[O]`` -> ``[..., O]``.
    """
    x = tf.convert_to_tensor(x, dtype_hint=weight.dtype)  # NumPy arrays too, as tf.matmul takes
    if x.shape.rank == 2:
        return _add_bias(_matmul_transposed(x, weight), bias)
    # one 2-D matmul over all leading axes: faster than a batched matmul
    lead = tf.shape(x)[:-1]
    y = _add_bias(_matmul_transposed(tf.reshape(x, [-1, tf.shape(x)[-1]]), weight), bias)
    return tf.reshape(y, tf.concat([lead, tf.shape(weight)[:1]], 0))


def _add_bias(y: tf.Tensor, bias) -> tf.Tensor:
    """``y [N, O] + bias [O]``, its bias gradient a matrix product (``_bias_added``)."""
    if bias is None:
        return y
    return _bias_added(y, tf.convert_to_tensor(bias, dtype_hint=y.dtype))


@tf.custom_gradient
def _bias_added(y: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """``tf.nn.bias_add(y, bias)`` with the bias gradient a matrix product, ``(ones [4, N] @
    dy)[0]``. XLA compiled the column sum of a fused producer (TensorFlow's ``BiasAddGrad``, or
    the broadcast add's ``Sum``) in the minGRU scan step (batch 32, T 1,024, hidden 256, ``dy``
    ``[32768, 512]``) into a reduce-window that took 19 ms of 81; with the product the step took
    92-106 ms against 113-124 (AMD Zen 5, 3 interleaved rounds, ``benchmarks/scan_speed.py``).
    Four rows, not one: XLA compiles ``ones [1, N] @ dy`` as a matrix-vector product with the
    producer fused in, 7-8 ms against 1.2 at ``[2048, 1024]`` (config A's LSTM projection);
    four rows are a matrix product and take 1.2. Without XLA the product is the fastest form
    (0.55 ms against 0.77 for ``BiasAddGrad`` and 1.4 for ``Sum`` at ``[2048, 1024]``;
    ``benchmarks/linear_forms.py``)."""

    def gradient(dy):
        ones = tf.ones([4, tf.shape(dy)[0]], dy.dtype)
        return dy, tf.reshape(tf.matmul(ones, dy)[0], tf.shape(bias))

    return tf.nn.bias_add(y, bias), gradient


def _matmul_transposed(x: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
    """``x [N, I] @ weight^T``, with the weight gradient in its fast form.

    The weight gradient of a matmul transposes one of its two tall ``[N, .]`` operands, and
    TensorFlow's CPU matmul is several times slower transposing the wider one (N 2048, I 64,
    O 1024: 12.2 ms against 3.9 ms; ``python benchmarks/linear_forms.py``). So where the output is
    wider than the input, the gradient is ``(x^T @ dy)^T``, else TensorFlow's ``dy^T @ x``.
    """
    weight = tf.convert_to_tensor(weight)
    if not weight.shape[0] or not weight.shape[1] or weight.shape[0] <= weight.shape[1]:
        return tf.matmul(x, weight, transpose_b=True)
    return _matmul_transposed_wide(x, weight)


@tf.custom_gradient
def _matmul_transposed_wide(x, weight):
    def grad(dy):
        return tf.matmul(dy, weight), tf.transpose(tf.matmul(x, dy, transpose_a=True))

    return tf.matmul(x, weight, transpose_b=True), grad


def glorot_uniform(rows: int, cols: int, dtype=tf.float32) -> tf.Tensor:
    """A ``[rows, cols]`` matrix uniform in +-sqrt(6 / (rows + cols)) (Glorot and Bengio)."""
    limit = math.sqrt(6.0 / (rows + cols))
    return tf.random.uniform([rows, cols], -limit, limit, dtype=dtype)


def orthogonal(rows: int, cols: int, dtype=tf.float32) -> tf.Tensor:
    """A ``[rows, cols]`` matrix with orthonormal rows or columns (Saxe et al.)."""
    a = tf.random.normal([max(rows, cols), min(rows, cols)], dtype=tf.float64)
    q, r = tf.linalg.qr(a)
    q *= tf.sign(tf.linalg.diag_part(r))  # a uniform draw over orthogonal matrices
    q = q if rows >= cols else tf.transpose(q)
    return tf.cast(q, dtype)


def gate_blocks(init, gates: int, hidden: int, cols: int, dtype=tf.float32) -> tf.Tensor:
    """``gates`` blocks of ``[hidden, cols]``, each drawn by ``init``, stacked: ``[G*H, cols]``."""
    return tf.concat([init(hidden, cols, dtype) for _ in range(gates)], axis=0)


def last_counted_step(outputs, mask=None) -> tf.Tensor:
    """The output at each sequence's last counted step: ``[B, T, O] -> [B, O]``; the last step
    where ``mask`` ``[B, T]`` is None. Masks are true on a prefix of each sequence (left-aligned,
    as padding makes them); a sequence with no counted step gives its first.

    >>> outputs = tf.reshape(tf.range(6.0), [2, 3, 1])
    >>> last_counted_step(outputs, [[True, True, False], [True, True, True]]).numpy().tolist()
    [[1.0], [5.0]]
    """
    if mask is None:
        return tf.convert_to_tensor(outputs)[:, -1]
    last = tf.maximum(tf.reduce_sum(tf.cast(mask, tf.int32), axis=1) - 1, 0)
    return tf.gather(outputs, last, axis=1, batch_dims=1)
