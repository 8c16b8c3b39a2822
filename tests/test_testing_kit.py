"""``seqkit.testing``: the built-in components pass, and each kind of broken one is named.

    .venv/bin/python -m pytest tests/test_testing_kit.py -q

The broken cells are a small correct Elman cell (and the same cell with a declared recurrence)
with one fault each; every test pins the sentence that names the fault.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.ops import linear
from seqkit.testing import (
    CellContractError,
    ContractError,
    LossContractError,
    RunnerContractError,
    TruncationContractError,
    check_cell,
    check_loss,
    check_runner,
    check_truncation,
)


class Elman(seqkit.Cell):
    """h_t = tanh(W x_t + U h_{t-1} + b): the correct cell the broken ones start from."""

    def __init__(self, input_size, hidden_size, *, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        rng = tf.random.uniform
        self.weight_ih = tf.Variable(rng([hidden_size, input_size], -0.5, 0.5, self.dtype))
        self.weight_hh = tf.Variable(rng([hidden_size, hidden_size], -0.5, 0.5, self.dtype))
        self.bias = tf.Variable(rng([hidden_size], -0.5, 0.5, self.dtype))

    @property
    def state_size(self):
        return (self.hidden_size,)

    def __call__(self, inputs, state):
        (h,) = state
        z = tf.matmul(inputs, self.weight_ih, transpose_b=True) + self.bias
        h = tf.tanh(z + tf.matmul(h, self.weight_hh, transpose_b=True))
        return h, (h,)


class WideOutput(Elman):
    def __call__(self, inputs, state):
        h, new_state = super().__call__(inputs, state)
        return tf.concat([h, h[:, :1]], axis=1), new_state


class UnusedVariable(Elman):
    def __init__(self, input_size, hidden_size, **kwargs):
        super().__init__(input_size, hidden_size, **kwargs)
        self.scale = tf.Variable(tf.ones([hidden_size], self.dtype))


class DropsKey(Elman):
    def state_dict(self):
        return {k: v for k, v in super().state_dict().items() if k != "bias"}


class HiddenVariable(Elman):
    def __init__(self, input_size, hidden_size, **kwargs):
        super().__init__(input_size, hidden_size, **kwargs)
        self._gain = tf.Variable(tf.ones([hidden_size], self.dtype))

    def __call__(self, inputs, state):
        h, _ = super().__call__(inputs, state)
        h = h * self._gain
        return h, (h,)


class ListStateSize(Elman):
    @property
    def state_size(self):
        return [self.hidden_size]


class CountsCalls(Elman):
    """Python state read at trace time: the traced step bakes in a stale count."""

    calls = 0

    def __call__(self, inputs, state):
        self.calls += 1
        h, new_state = super().__call__(inputs, state)
        return h + float(self.calls), new_state


class LaxLoad(Elman):
    def load_state_dict(self, state_dict, strict=True):
        for name, variable in self.named_parameters().items():
            if variable.shape == np.shape(state_dict[name]):
                variable.assign(state_dict[name])


class NoDtype(Elman):
    """Drops the dtype option that SequenceModel passes to every cell."""

    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)


class BadSplit(Elman):
    def project_inputs(self, inputs):
        return 2.0 * inputs


def elman_pointwise(projected, recurrent, state):
    h = tf.tanh(projected + recurrent)
    return h, (h,)


class DeclaredElman(seqkit.ProjectedCell):
    """The same cell split into W x_t + b and a declared recurrence: the correct declaring cell
    the broken declarations start from."""

    def __init__(self, input_size, hidden_size, *, dtype=tf.float32, name=None):
        super().__init__(input_size, hidden_size, dtype=dtype, name=name)
        rng = tf.random.uniform
        self.weight_ih = tf.Variable(rng([hidden_size, input_size], -0.5, 0.5, self.dtype))
        self.weight_hh = tf.Variable(rng([hidden_size, hidden_size], -0.5, 0.5, self.dtype))
        self.bias = tf.Variable(rng([hidden_size], -0.5, 0.5, self.dtype))

    @property
    def state_size(self):
        return (self.hidden_size,)

    def project_inputs(self, inputs):
        return linear(inputs, self.weight_ih, self.bias)

    @property
    def recurrence(self):
        return seqkit.Recurrence(self.weight_hh, elman_pointwise)

    def step(self, projected, state):
        return self.recurrence.step(projected, state)


def sigmoid_pointwise(projected, recurrent, state):
    h = tf.sigmoid(projected + recurrent)
    return h, (h,)


class DisagreesWithStep(DeclaredElman):
    """Declares a sigmoid where its step has a tanh."""

    @property
    def recurrence(self):
        return seqkit.Recurrence(self.weight_hh, sigmoid_pointwise)

    def step(self, projected, state):
        return elman_pointwise(projected, linear(state[0], self.weight_hh), state)


class HiddenIndexOutOfRange(DeclaredElman):
    @property
    def recurrence(self):
        return seqkit.Recurrence(self.weight_hh, elman_pointwise, hidden_index=1)


class InputWeightDeclared(DeclaredElman):
    """Names weight_ih [H, I] as the recurrent weight."""

    @property
    def recurrence(self):
        return seqkit.Recurrence(self.weight_ih, elman_pointwise)


class CutsGradientThroughTime(DeclaredElman):
    """Its step stops the gradient at h_{t-1}; the declaration does not: same outputs, other
    gradients."""

    def step(self, projected, state):
        h = tf.tanh(projected + linear(tf.stop_gradient(state[0]), self.weight_hh))
        return h, (h,)


def dawson_pointwise(projected, recurrent, state):
    h = tf.math.special.dawsn(projected + recurrent)  # no XLA kernel on CPU
    return h, (h,)


class NotCompiledByXLA(DeclaredElman):
    @property
    def recurrence(self):
        return seqkit.Recurrence(self.weight_hh, dawson_pointwise)


def test_contract_errors_are_seqkit_errors_and_test_failures():
    assert issubclass(CellContractError, seqkit.PluginError)
    assert issubclass(ContractError, AssertionError)


@pytest.mark.parametrize("name", ["vanilla", "gru", "lstm"])
def test_built_in_cells_pass(name):
    check_cell(name)


def test_a_cell_class_and_options_pass():
    check_cell(Elman, input_size=4, hidden_size=3, batch_size=1)
    check_cell(DeclaredElman, input_size=4, hidden_size=3)
    factory = seqkit.plugins.registry.default_registry().get("cell", "vanilla").factory
    check_cell(factory, options={"activation": "sigmoid"})


# (factory, the check that fails, the problem it names): "<Cls> fails check_cell (<check>): ..."
BROKEN = [
    (lambda i, h, **kw: object(), "interface", "it built a object, not a seqkit.Cell."),
    (
        WideOutput,
        "__call__",
        "the output has shape (2, 6), expected [batch, output_size] = (2, 5).",
    ),
    (ListStateSize, "state_size", "it is [5], expected a tuple of positive ints."),
    (CountsCalls, "tf.function", "outputs differ from eager by 1."),
    (UnusedVariable, "gradients", "no gradient reaches 'scale': the step does not use it."),
    (
        HiddenVariable,
        "named_parameters",
        "the variable 'Variable:0' is not among them; hold it in a public attribute.",
    ),
    (DropsKey, "state_dict", "it lacks the parameters ['bias']."),
    (LaxLoad, "load_state_dict", "it accepted 'weight_ih' of a wrong shape."),
    (BadSplit, "project_inputs/step", "step 0 differs from __call__ by"),
    (
        DisagreesWithStep,
        "recurrence",
        "pointwise(projected, h @ weight^T + bias, state) differs from step() by",
    ),
    (
        HiddenIndexOutOfRange,
        "recurrence",
        "HiddenIndexOutOfRange.recurrence: hidden_index must name one of the 1 state tensors "
        "(0 to 0), got 1.",
    ),
    (
        InputWeightDeclared,
        "recurrence",
        "InputWeightDeclared.recurrence: the weight (5, 3) takes 3 features, but state tensor 0 "
        "has 5; expected [G*H, 5] in PyTorch's weight_hh layout.",
    ),
    (
        CutsGradientThroughTime,
        "fused runner, eager",
        "the gradient of 'weight_ih' differs from the python runner's by",
    ),
    (
        NotCompiledByXLA,
        "fused runner, xla",
        "it raised InvalidArgumentError: Detected unsupported operations when trying to compile",
    ),
    (
        NoDtype,
        "construction",
        'factory(3, 5, dtype=tf.float64) raised TypeError("NoDtype.__init__() got an '
        "unexpected keyword argument 'dtype'\").",
    ),
]


@pytest.mark.parametrize(
    "factory, check, problem", BROKEN, ids=lambda v: getattr(v, "__name__", None)
)
def test_broken_cells_are_named(factory, check, problem):
    message = f"fails check_cell ({check}): {problem}"
    if isinstance(factory, type):
        message = f"{factory.__name__} {message}"
    with pytest.raises(CellContractError, match=re.escape(message)):
        check_cell(factory)


@pytest.mark.parametrize("name", ["python", "graph"])
def test_built_in_runners_pass(name):
    check_runner(seqkit.make_runner(name))


def test_a_runner_is_checked_with_the_cell_it_is_for():
    check_runner(seqkit.make_runner("graph"), cell="gru")


class LSTMOnly(seqkit.Runner):
    def supports(self, cell):
        return type(cell).__name__ == "LSTMCell"

    def run(self, cell, inputs, initial_state, mask=None):
        return seqkit.make_runner("python").run(cell, inputs, initial_state, mask)


def test_a_runner_that_does_not_support_the_cell_is_named():
    check_runner(LSTMOnly())
    message = "LSTMOnly fails check_runner (supports): it does not support the cell gru."
    with pytest.raises(RunnerContractError, match=re.escape(message)):
        check_runner(LSTMOnly(), cell="gru")


class IgnoresMask(seqkit.Runner):
    def run(self, cell, inputs, initial_state, mask=None):
        return seqkit.make_runner("python").run(cell, inputs, initial_state)


def test_a_runner_that_ignores_the_mask_is_named():
    message = "IgnoresMask fails check_runner (eager, mask): the outputs differ from a plain loop"
    with pytest.raises(RunnerContractError, match=re.escape(message)):
        check_runner(IgnoresMask())


def test_built_in_losses_pass():
    check_loss(seqkit.make_loss("mse"))
    check_loss(seqkit.make_loss("mse", last_step=True))
    check_loss(seqkit.make_loss("cross-entropy"), targets=np.zeros((3, 5), np.int32))
    check_loss(seqkit.make_loss("cross-entropy", last_step=True), targets=np.zeros(3, np.int32))


class MaskBlind(seqkit.Loss):
    def __call__(self, targets, outputs, mask=None):
        return tf.reduce_mean(tf.square(outputs - targets))


def test_a_loss_that_ignores_the_mask_is_named():
    message = "MaskBlind fails check_loss (mask): outputs at steps where the mask is false"
    with pytest.raises(LossContractError, match=re.escape(message)):
        check_loss(MaskBlind())


@pytest.mark.parametrize("options", [{}, {"k1": 3}, {"k1": 3, "k2": 5}])
def test_built_in_truncations_pass(options):
    check_truncation(seqkit.make_truncation("tbptt" if options else "bptt", **options))
    check_truncation(seqkit.make_truncation("online"))


class SkipsSteps(seqkit.TruncationStrategy):
    def windows(self, length):
        for end in range(2, length + 1, 2):
            yield seqkit.Window(end - 1, end - 1, end)


def test_a_schedule_with_a_gap_is_named():
    message = (
        "SkipsSteps fails check_truncation (length 4): Window(backprop_from=1, loss_from=1, "
        "end=2) starts its loss at 1, expected 0 (no gap or overlap)."
    )
    with pytest.raises(TruncationContractError, match=re.escape(message)):
        check_truncation(SkipsSteps(), lengths=[4])
