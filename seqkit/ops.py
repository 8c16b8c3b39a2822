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
        y = tf.matmul(x, weight, transpose_b=True)
    else:  # one 2-D matmul over all leading axes: faster than a batched matmul
        lead = tf.shape(x)[:-1]
        y = tf.matmul(tf.reshape(x, [-1, tf.shape(x)[-1]]), weight, transpose_b=True)
        y = tf.reshape(y, tf.concat([lead, tf.shape(weight)[:1]], 0))
    return y if bias is None else y + bias


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
