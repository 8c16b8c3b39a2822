"""CompiledCall: the Trainer's update called straight into its traced graph, with the results,
the traces and the variable effects of calling the tf.function itself."""

import numpy as np
import tensorflow as tf

from seqkit.training.compiled_call import CompiledCall


def _function():
    total = tf.Variable(0.0)

    @tf.function
    def step(state, x, scale: int, extra=None):
        h, c = state
        out = tf.reduce_sum(x) * scale + tf.reduce_sum(h) - tf.reduce_sum(c)
        if extra is not None:
            out += extra["bias"]
        total.assign_add(out)
        return out, (h + 1.0, c * 2.0)

    return step, total


def test_results_and_state_match_the_tf_function_on_every_call():
    step, total = _function()
    call = CompiledCall(step)
    state = (tf.ones([2, 3]), tf.fill([2, 3], 0.5))
    x = tf.constant(np.arange(6.0, dtype=np.float32).reshape(2, 3))
    outs = []
    for _ in range(4):  # the first call traces, the second fetches the graph, then straight in
        out, state = call(state, x, 3)
        outs.append(float(out))
    # by hand: sum(x) * 3 = 45; sum(h) grows by 6 a call, sum(c) doubles from 3
    want = [45 + 6 * (1 + i) - 3 * 2**i for i in range(4)]
    np.testing.assert_allclose(outs, want)
    np.testing.assert_allclose(float(total.numpy()), sum(want))  # the variable was written
    np.testing.assert_allclose(state[1].numpy(), np.full([2, 3], 0.5 * 2**4))
    assert step.experimental_get_tracing_count() == 1  # no trace beyond the tf.function's


def test_each_shape_python_value_and_structure_has_its_own_graph():
    step, _ = _function()
    call = CompiledCall(step)
    state = (tf.zeros([2, 3]), tf.zeros([2, 3]))
    small, large = tf.ones([2, 3]), tf.ones([4, 3])
    for _ in range(3):  # every key is called past its first call
        assert float(call(state, small, 1)[0]) == 6.0
        assert float(call(state, small, 2)[0]) == 12.0  # a Python int is part of the graph
        assert float(call(state, large, 1)[0]) == 12.0  # so is a tensor's shape
        bias = {"bias": tf.constant(5.0)}
        assert float(call(state, small, 1, bias)[0]) == 11.0  # and None against a dict
    assert step.experimental_get_tracing_count() == 4


def test_a_variable_argument_goes_through_the_tf_function():
    step, _ = _function()
    call = CompiledCall(step)
    h = tf.Variable(tf.ones([2, 3]))  # no key is made for a variable: the tf.function decides
    for value in (1.0, 2.0, 3.0):
        h.assign(tf.fill([2, 3], value))
        out, _ = call((h, tf.zeros([2, 3])), tf.zeros([2, 3]), 1)
        assert float(out) == 6.0 * value
