"""loss.png: the smoothing of the training curve, and a picture drawn from metrics rows."""

import numpy as np
import pytest

from seqkit.runs.plot import draw, smoothed, smoothing_weight


def test_smoothing_is_a_bias_corrected_moving_average():
    values = [4.0, 3.0, 3.5, 2.0, 2.5, 1.0]
    weight = 0.5
    average, expected = 0.0, []
    for n, value in enumerate(values, start=1):  # written from the definition
        average = weight * average + (1 - weight) * value
        expected.append(average / (1 - weight**n))
    np.testing.assert_allclose(smoothed(values, weight), expected)
    assert smoothed([7.0], 0.9) == [pytest.approx(7.0)]  # starts at the first value


def test_a_short_run_is_not_smoothed_and_a_long_one_is():
    assert smoothing_weight(4) == 0.0 and smoothed([3.0, 1.0, 2.0]) == [3.0, 1.0, 2.0]
    assert smoothing_weight(20) == 0.5 and smoothing_weight(1000) == 0.9


def test_the_plot_draws_training_and_validation_rows_or_nothing():
    rows = [
        {"step": s, "train_loss": 3.0 / s, "train_bpc": 4.3 / s, "val_loss": None}
        for s in range(1, 30)
    ] + [{"step": 30, "train_loss": 0.1, "val_loss": 0.2, "val_bpc": 0.29}]
    image = draw(rows, {"loss": 1.5}, "run")
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) > 10_000
    assert draw([], {}, "empty") is None
