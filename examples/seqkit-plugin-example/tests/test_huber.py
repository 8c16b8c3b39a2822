"""The Huber loss: the seqkit loss contract and the values from its definition."""

import numpy as np
import pytest
import seqkit
from seqkit.testing import check_loss

from seqkit_plugin_example.huber import Huber


def test_keeps_the_loss_contract():
    check_loss(Huber())
    check_loss(Huber(delta=0.3))


def test_quadratic_inside_delta_linear_outside():
    outputs = np.array([[[0.5], [3.0]]], np.float32)  # errors 0.5 and 3.0 against zeros
    value = Huber(delta=1.0)(np.zeros((1, 2, 1)), outputs)
    assert float(value) == pytest.approx((0.5 * 0.5**2 + 1.0 * (3.0 - 0.5)) / 2)


def test_a_bad_delta_is_named():
    with pytest.raises(
        seqkit.OptionError, match=r"huber: delta must be a positive number, got 0\."
    ):
        Huber(delta=0)
