"""The contract checks before training stay bounded on a long stream: the truncation check
reads the first ``CHECKED_WINDOWS`` windows of a corpus of any length (it listed every window:
19 s and 250 MB for the 2.3 million windows of a 5 GB corpus), yet still names a bad window
among them and a strategy that never updates."""

from types import SimpleNamespace

import pytest

import seqkit
from seqkit.runs.contracts import CHECKED_WINDOWS, check_truncation

LONG = 10**9  # steps: a 1 GB corpus's stream; listing its windows would not end in time


class Counting:
    """TBPTT(64, 64)'s windows, counted as they are read."""

    def __init__(self, bad_at=None):
        self.read, self.bad_at = 0, bad_at

    def windows(self, length):
        for start in range(0, length, 64):
            self.read += 1
            end = min(start + 64, length)
            if self.read == self.bad_at:
                end = length + 1  # past the sequence
            yield seqkit.Window(backprop_from=start, loss_from=start, end=end)


def data(length):
    return [SimpleNamespace(inputs=SimpleNamespace(shape=(2, length)))]


def test_a_long_stream_reads_a_bounded_number_of_windows():
    truncation = Counting()
    check_truncation(truncation, data(LONG), per_step=True, suspects=[])
    assert truncation.read == CHECKED_WINDOWS


def test_a_bad_window_among_the_first_is_named():
    with pytest.raises(seqkit.SeqkitError, match="for a sequence of 1000000000 steps"):
        check_truncation(Counting(bad_at=7), data(LONG), per_step=True, suspects=[])


def test_a_last_step_loss_still_needs_a_window_that_ends_the_sequence():
    class NeverEnds(Counting):
        def windows(self, length):
            yield seqkit.Window(backprop_from=0, loss_from=0, end=length - 1)

    with pytest.raises(seqkit.SeqkitError, match="no window that ends the sequence"):
        check_truncation(NeverEnds(), data(100), per_step=False, suspects=[])
