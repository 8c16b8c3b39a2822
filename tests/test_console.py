"""The console's ETA: from the recent update time alone, plus what the validations and
checkpoints still to come will take, so that it is within 25% of the real remaining time from
the first 5% of a run on (a simulated run with a fake clock: compile, jitter, slow validations).
"""

from __future__ import annotations

import numpy as np
import pytest

from seqkit.cli.console import EtaClock

STEPS, EVAL_EVERY, CHECKPOINT_EVERY = 2000, 500, 500


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def simulate(update_seconds, validation_seconds, checkpoint_seconds, compile_seconds):
    """Drive an EtaClock as a run's session does; return (step, eta, true remaining) rows."""
    clock = FakeClock()
    validations = STEPS // EVAL_EVERY
    eta = EtaClock(STEPS, validations, clock=clock)
    eta.phase("compiling")
    predictions, finish_times = [], {}
    for step in range(1, STEPS + 1):
        seconds = update_seconds[step - 1] + (compile_seconds if step == 1 else 0.0)
        clock.now += seconds
        if step == 1:
            eta.phase("training")
        eta.update(seconds)
        if step % 20 == 0:
            left = (STEPS // CHECKPOINT_EVERY) - step // CHECKPOINT_EVERY
            predictions.append((step, eta.remaining(step, left), clock.now))
        if step % EVAL_EVERY == 0:
            eta.phase("validating")
            clock.now += validation_seconds * 0.8
            eta.phase("sampling")
            clock.now += validation_seconds * 0.2
            eta.phase("training")
            eta.phase("checkpointing")
            clock.now += checkpoint_seconds
            eta.phase("training")
        finish_times[step] = clock.now
    end = clock.now
    return [(step, predicted, end - now) for step, predicted, now in predictions]


@pytest.mark.parametrize("validation_seconds", [0.5, 3.0])
def test_the_eta_is_within_a_quarter_of_the_truth_from_five_percent_on(validation_seconds):
    rng = np.random.default_rng(0)
    updates = 0.045 * rng.uniform(0.8, 1.2, STEPS)  # a noisy machine
    updates[rng.integers(0, STEPS, 20)] *= 6  # and the odd slow update
    rows = simulate(updates, validation_seconds, 0.3, compile_seconds=8.0)
    for step, predicted, truth in rows:
        if step >= STEPS * 0.05 and truth > 1.0:
            assert predicted == pytest.approx(truth, rel=0.25), (step, predicted, truth)


def test_compiling_does_not_count_and_there_is_no_eta_before_a_rate():
    clock = FakeClock()
    eta = EtaClock(100, 1, clock=clock)
    eta.update(30.0)  # the first update compiles the step
    assert eta.remaining(1) is None
    eta.update(0.1)
    assert eta.remaining(2) == pytest.approx(98 * 0.1)
