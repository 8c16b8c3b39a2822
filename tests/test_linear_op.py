"""``seqkit.ops.linear`` (every cell's input projection and the model's head): its value and
both gradients against NumPy, in the two forms it takes (an output wider than the input takes
the weight gradient as ``(x^T @ dy)^T``), eagerly, in a ``tf.function`` and under XLA."""

import numpy as np
import pytest
import tensorflow as tf

from seqkit.ops import linear


@pytest.mark.parametrize("shape", [(5, 3, 4, 12), (7, 4, 12, 3), (2, 1, 6, 6)])  # rows.., I, O
@pytest.mark.parametrize("mode", ["eager", "function", "xla"])
def test_linear_and_its_gradients_match_numpy(shape, mode):
    *lead, n_in, n_out = shape
    rng = np.random.default_rng(0)
    x = rng.normal(size=(*lead, n_in)).astype(np.float32)
    w = rng.normal(size=(n_out, n_in)).astype(np.float32)
    b = rng.normal(size=(n_out,)).astype(np.float32)
    dy = rng.normal(size=(*lead, n_out)).astype(np.float32)

    def value_and_grads(x, w, b):
        with tf.GradientTape() as tape:
            tape.watch([x, w, b])
            y = linear(x, w, b)
            loss = tf.reduce_sum(y * dy)
        return (y, *tape.gradient(loss, [x, w, b]))

    run = value_and_grads
    if mode != "eager":
        run = tf.function(value_and_grads, jit_compile=mode == "xla")
    y, dx, dw, db = (t.numpy() for t in run(*map(tf.constant, (x, w, b))))
    x2, dy2 = x.reshape(-1, n_in), dy.reshape(-1, n_out)
    np.testing.assert_allclose(y, x @ w.T + b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx, dy @ w, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dw, dy2.T @ x2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(db, dy2.sum(0), rtol=1e-5, atol=1e-5)


def test_linear_gradient_reaches_variables():
    w = tf.Variable(np.ones((8, 2), np.float32))
    b = tf.Variable(np.zeros(8, np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(linear(tf.ones([3, 2]), w) * tf.range(8.0))
        loss += tf.reduce_sum(linear(tf.ones([3, 2]), w, b) * tf.range(8.0))
    dw, db = tape.gradient(loss, [w, b])
    np.testing.assert_allclose(dw.numpy(), 6.0 * np.arange(8.0)[:, None].repeat(2, 1))
    np.testing.assert_allclose(db.numpy(), 3.0 * np.arange(8.0))
