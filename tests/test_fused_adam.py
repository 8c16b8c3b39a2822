"""``FusedAdam`` (what a Trainer's ``optimizer="adam"`` makes): Adam's update from its equations in
NumPy, Keras' Adam, and the fused op agree over several steps, eagerly and under XLA; it keeps
Keras' slot variables, and an IndexedSlices gradient takes Keras' own update.

    .venv/bin/python -m pytest tests/test_fused_adam.py -q
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit.training.fused_adam import FusedAdam
from seqkit.training.optimizers import make_optimizer

LR, STEPS = 1e-2, 12


def numpy_adam(w, grads, lr=LR, b1=0.9, b2=0.999, eps=1e-7):
    """Adam (Kingma and Ba, 2015, with Keras' epsilon) from its equations."""
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    return w


@pytest.mark.parametrize("compiled", ["eager", "xla"])
def test_fused_adam_follows_adams_equations_and_keras(compiled):
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(6, 4)).astype(np.float32)
    grads = [rng.normal(size=(6, 4)).astype(np.float32) for _ in range(STEPS)]
    results = {}
    for name, cls in (("fused", FusedAdam), ("keras", keras.optimizers.Adam)):
        w = tf.Variable(w0)
        opt = cls(learning_rate=LR)

        def update(g, opt=opt, w=w):
            opt.apply_gradients([(g, w)])

        if compiled == "xla":
            update = tf.function(update, jit_compile=True)
        for g in grads:
            update(tf.constant(g))
        results[name] = w.numpy()
    expected = numpy_adam(w0.astype(np.float64), grads)
    np.testing.assert_allclose(results["fused"], expected, atol=1e-5)
    np.testing.assert_allclose(results["fused"], results["keras"], atol=1e-5)
    assert np.abs(results["fused"] - w0).max() > 0.05  # the steps moved the weights


def test_adam_by_name_is_fused_and_keeps_keras_slots():
    opt = make_optimizer("adam", 1e-3)
    assert isinstance(opt, FusedAdam) and isinstance(opt, keras.optimizers.Adam)
    w = tf.Variable(tf.ones([3, 2]))
    opt.apply_gradients([(tf.ones([3, 2]), w)])
    keras_opt = keras.optimizers.Adam(1e-3)
    keras_opt.apply_gradients([(tf.ones([3, 2]), tf.Variable(tf.ones([3, 2])))])
    assert opt.name.split("_")[0] == keras_opt.name.split("_")[0] == "adam"
    slots = [[v.path.split("/", 1)[1] for v in o.variables] for o in (opt, keras_opt)]
    assert slots[0] == slots[1]  # iteration, then each variable's momentum and velocity


def test_an_indexed_slices_gradient_takes_keras_update():
    w0 = np.arange(12, dtype=np.float32).reshape(4, 3)
    results = []
    for cls in (FusedAdam, keras.optimizers.Adam):
        w = tf.Variable(w0)
        grad = tf.IndexedSlices(tf.ones([2, 3]), tf.constant([0, 2]), tf.constant([4, 3]))
        cls(learning_rate=LR).apply_gradients([(grad, w)])
        results.append(w.numpy())
    np.testing.assert_array_equal(results[0], results[1])
    assert np.all(results[0][[1, 3]] == w0[[1, 3]])  # rows without a gradient kept
