"""loss.png: the smoothing of the training curve, and a picture drawn from metrics rows."""

import numpy as np

from seqkit.runs.plot import draw, log_scale_suits, smoothed, smoothing_half_width


def test_smoothing_is_a_centred_moving_average_that_does_not_trail():
    values = [3.0, 1.0, 2.0, 6.0, 4.0]
    expected = [3.0, 2.0, 3.0, 4.0, 4.0]  # by hand: means of (3), (3 1 2), (1 2 6), (2 6 4), (4)
    np.testing.assert_allclose(smoothed(values, 1), expected)
    falling = [1.0 - 0.01 * n for n in range(100)]  # a steady trend: the curve stays on it
    np.testing.assert_allclose(smoothed(falling), falling, atol=1e-12)


def test_a_short_run_is_not_smoothed_and_a_long_one_is():
    assert smoothing_half_width(19) == 0 and smoothed([3.0, 1.0, 2.0]) == [3.0, 1.0, 2.0]
    assert smoothing_half_width(100) == 5 and smoothing_half_width(1000) == 50


def test_a_loss_over_more_than_two_decades_gets_a_logarithmic_axis():
    assert log_scale_suits([0.5, 0.1, 0.004]) and not log_scale_suits([2.0, 1.2, 0.9])
    assert not log_scale_suits([0.5, 0.0]) and not log_scale_suits([1.0])


def test_the_plot_draws_training_and_validation_rows_or_nothing():
    rows = [
        {"step": s, "train_loss": 3.0 / s, "train_bpc": 4.3 / s, "val_loss": None}
        for s in range(1, 30)
    ] + [{"step": 30, "train_loss": 0.1, "val_loss": 0.2, "val_bpc": 0.29}]
    image = draw(rows, {"loss": 1.5}, "run")
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) > 10_000
    assert draw([], {}, "empty") is None
