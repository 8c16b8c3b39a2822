"""``seqkit.Recurrence``, the declared step: the built-in cells' declarations are their steps,
and a declaration that cannot fit is refused in one sentence.

    .venv/bin/python -m pytest tests/test_recurrence.py -q
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.interfaces import declared_recurrence
from seqkit.models.runner_choice import resolve_runner
from seqkit.ops import linear
from seqkit.plugins.registry import default_registry

B, N_IN, H = 3, 4, 5


def test_a_cell_declares_nothing_by_default():
    class Plain(seqkit.Cell):
        state_size = (2,)

        def __call__(self, inputs, state):
            return inputs, state

    assert Plain(2, 2).recurrence is None and declared_recurrence(Plain(2, 2)) is None


@pytest.mark.parametrize(
    ("name", "options", "bias"),
    [("vanilla", {"activation": "relu"}, None), ("gru", {}, "bias_hh"), ("lstm", {}, None)],
)
def test_built_in_declarations_name_weight_hh_and_compute_the_step(name, options, bias):
    cell = seqkit.make_cell(name, N_IN, H, **options)
    rng = np.random.default_rng(0)
    for v in cell.trainable_variables:
        v.assign(tf.constant(rng.normal(scale=0.5, size=v.shape), v.dtype))
    recurrence = declared_recurrence(cell)
    assert recurrence.weight is cell.weight_hh and recurrence.hidden_index == 0
    assert recurrence.bias is (None if bias is None else getattr(cell, bias))
    x = tf.constant(rng.normal(size=(B, N_IN)), tf.float32)
    state = tuple(tf.constant(rng.normal(size=(B, n)), tf.float32) for n in cell.state_size)
    projected = cell.project_inputs(x)
    recurrent = linear(state[0], cell.weight_hh, recurrence.bias)
    by_hand = recurrence.pointwise(projected, recurrent, state)
    for got, want in zip(tf.nest.flatten(cell(x, state)), tf.nest.flatten(by_hand), strict=True):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def pointwise(projected, recurrent, state):
    h = tf.tanh(projected + recurrent)
    return h, (h,)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda: seqkit.Recurrence(tf.zeros([4, 2]), "tanh"),
            seqkit.OptionError,
            "Recurrence: pointwise must be a function (projected, recurrent, state) -> "
            "(output, new_state), got str.",
        ),
        (
            lambda: seqkit.Recurrence(tf.zeros([4]), pointwise),
            seqkit.ShapeError,
            "Recurrence: weight must be a [G*H, H] matrix (PyTorch's weight_hh layout), got "
            "shape (4,).",
        ),
        (
            lambda: seqkit.Recurrence(tf.zeros([4, 2]), pointwise, bias=tf.zeros([2])),
            seqkit.ShapeError,
            "Recurrence: bias must be [G*H] = [4] to match the weight (4, 2), got shape (2,).",
        ),
    ],
)
def test_a_malformed_declaration_is_refused(make, error, message):
    with pytest.raises(error) as info:
        make()
    assert str(info.value) == message


class Declares(seqkit.Cell):
    """A one-tensor state of width 3 that declares whatever it is given."""

    def __init__(self, recurrence):
        super().__init__(3, 3)
        self._recurrence = recurrence

    state_size = (3,)

    @property
    def recurrence(self):
        return self._recurrence

    def __call__(self, inputs, state):
        return inputs, state


@pytest.mark.parametrize(
    ("recurrence", "error", "message"),
    [
        (
            "tanh",
            seqkit.OptionError,
            "Declares.recurrence must be a seqkit.Recurrence or None, got str.",
        ),
        (
            seqkit.Recurrence(tf.zeros([6, 3]), pointwise, hidden_index=1),
            seqkit.OptionError,
            "Declares.recurrence: hidden_index must name one of the 1 state tensors (0 to 0), "
            "got 1.",
        ),
        (
            seqkit.Recurrence(tf.zeros([6, 2]), pointwise),
            seqkit.ShapeError,
            "Declares.recurrence: the weight (6, 2) takes 2 features, but state tensor 0 has 3; "
            "expected [G*H, 3] in PyTorch's weight_hh layout.",
        ),
    ],
)
def test_a_declaration_that_does_not_fit_the_cell_is_refused(recurrence, error, message):
    with pytest.raises(error) as info:
        declared_recurrence(Declares(recurrence))
    assert str(info.value) == message
    with pytest.raises(error):  # "auto" refuses it too, rather than pick another runner
        resolve_runner("auto", [Declares(recurrence)], default_registry())
