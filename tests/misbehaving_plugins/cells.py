"""Cells that break their contract at run time, each in one way (see tests/test_bad_plugins.py).

A good cell: h_t = tanh(W_ih x_t + W_hh h_{t-1}); ``output_size`` and ``state_size`` are H.
"""

import numpy as np
import tensorflow as tf

import seqkit


class GoodCell(seqkit.Cell):
    """h_t = tanh(x_t W_ih^T + h_{t-1} W_hh^T); the output is h_t."""

    def __init__(self, input_size, hidden_size, *, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        rng = np.random.default_rng(0)
        shape_ih, shape_hh = (hidden_size, input_size), (hidden_size, hidden_size)
        self.weight_ih = tf.Variable(rng.normal(0, 0.3, shape_ih), dtype=self.dtype)
        self.weight_hh = tf.Variable(rng.normal(0, 0.3, shape_hh), dtype=self.dtype)

    @property
    def state_size(self):
        return (self.hidden_size,)

    def __call__(self, inputs, state):
        h = tf.tanh(
            tf.matmul(inputs, self.weight_ih, transpose_b=True)
            + tf.matmul(state[0], self.weight_hh, transpose_b=True)
        )
        return h, (h,)


class WrongBatchCell(GoodCell):
    """Its output has one row, whatever the batch: a broadcast hides it in the forward pass."""

    def __call__(self, inputs, state):
        h, new_state = super().__call__(inputs, state)
        return tf.reduce_mean(h, axis=0, keepdims=True), new_state


class NumpyCell(GoodCell):
    """Returns NumPy arrays (its own maths in NumPy), not tensors."""

    def __call__(self, inputs, state):
        h, _ = super().__call__(inputs, state)
        h = np.asarray(h)
        return h, (h,)


class ListCell(GoodCell):
    """Returns Python lists, not tensors."""

    def __call__(self, inputs, state):
        h, _ = super().__call__(inputs, state)
        return np.asarray(h).tolist(), (np.asarray(h).tolist(),)


class Float64Cell(GoodCell):
    """Computes in float64 whatever the model's dtype."""

    def __call__(self, inputs, state):
        h, _ = super().__call__(inputs, state)
        h = tf.cast(h, tf.float64)
        return h, (h,)


class MismatchedRecurrence(GoodCell):
    """Declares a Recurrence whose weight makes a state of another width: [H, H] taken, but
    the pointwise function returns a state of H // 2."""

    def project_inputs(self, inputs):
        return tf.matmul(inputs, self.weight_ih, transpose_b=True)

    @property
    def recurrence(self):
        def pointwise(projected, recurrent, state):
            h = tf.tanh(projected + recurrent)
            half = h[:, : self.hidden_size // 2]
            return h, (half,)

        return seqkit.Recurrence(self.weight_hh, pointwise)

    def step(self, projected, state):
        return self.recurrence.step(projected, state)

    def __call__(self, inputs, state):
        return self.step(self.project_inputs(inputs), state)


class RaisesInGraphCell(GoodCell):
    """Works on a batch of 2 steps run one at a time, raises when traced for a longer batch."""

    def __call__(self, inputs, state):
        if inputs.shape[0] is not None and inputs.shape[0] > 2:
            raise ValueError(f"cannot take a batch of {inputs.shape[0]}")
        return super().__call__(inputs, state)


class AssertsAtRunTime(GoodCell):
    """An assertion that TensorFlow checks when the compiled step runs: a batch of at most 2."""

    def __call__(self, inputs, state):
        tf.debugging.assert_less(tf.shape(inputs)[0], 3, message="a batch of at most 2 rows")
        return super().__call__(inputs, state)


class OutOfMemoryCell(GoodCell):
    """As a cell too large for the machine: TensorFlow runs out of memory for a batch of more
    than 2 rows (the one-step check before training passes)."""

    def __call__(self, inputs, state):
        if inputs.shape[0] is not None and inputs.shape[0] > 2:
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
        return super().__call__(inputs, state)


class StateSizeRaises(GoodCell):
    @property
    def state_size(self):
        raise AttributeError("'StateSizeRaises' object has no attribute 'units'")


class InitialStateRaises(GoodCell):
    def initial_state(self, batch_size, dtype=None):
        raise TypeError("initial_state() takes 2 positional arguments but 3 were given")


class NanCell(GoodCell):
    """Its output is NaN wherever the state is 0 (0 / 0): from the first step on."""

    def __call__(self, inputs, state):
        h, _ = super().__call__(inputs, state)
        h = h + state[0] / state[0]
        return h, (h,)


@seqkit.hookimpl
def seqkit_register_cells(register):
    register("bad-good", GoodCell)
    register("bad-wrong-batch", WrongBatchCell)
    register("bad-numpy", NumpyCell)
    register("bad-list", ListCell)
    register("bad-float64", Float64Cell)
    register("bad-recurrence", MismatchedRecurrence)
    register("bad-raises-in-graph", RaisesInGraphCell)
    register("bad-asserts-at-run-time", AssertsAtRunTime)
    register("bad-out-of-memory", OutOfMemoryCell)
    register("bad-state-size", StateSizeRaises)
    register("bad-initial-state", InitialStateRaises)
    register("bad-nan", NanCell)
