"""Truncated back-propagation through time: TBPTT(k1, k2), and its named cases.

TBPTT(k1, k2): every k1 steps, back-propagate through the last k2 steps. Counting steps from 1:
updates happen after steps k1, 2 k1, 3 k1, ... and after the last step n for the rest. The update
at step t takes the mean of the per-step losses L_tau over the new steps tau in (t - k1, t] (for
the last update, the steps since the one before), and its gradients flow back to step t - k2 at
most: the state there is a constant.

As windows (0-based, half open): ``Window(backprop_from=max(0, t - k2), loss_from=t_prev, end=t)``.

    bptt    TBPTT(n, n)   one update over the whole sequence: full back-propagation through time
    tbptt   TBPTT(k1, k2) k2 defaults to k1: chunks of k1 with the state carried between them;
                          k2 > k1: overlapping windows, each new step seen by ceil(k2 / k1) backward
                          passes' worth of history
    online  TBPTT(1, n)   an update after every step, back-propagated to the start
"""

from __future__ import annotations

from collections.abc import Iterator

import seqkit
from seqkit.errors import OptionError
from seqkit.validation import whole_number


def _steps(name: str, value) -> int:
    return whole_number(f"tbptt: {name}", value, minimum=1)


def tbptt_windows(length: int, k1: int, k2: int | None) -> Iterator[seqkit.Window]:
    """The windows of TBPTT(k1, k2) over ``length`` steps (``None`` for k1 or k2: ``length``)."""
    if length < 1:
        return
    k1 = length if k1 is None else k1
    k2 = length if k2 is None else k2
    previous = 0
    while previous < length:
        end = min(previous + k1, length)
        yield seqkit.Window(backprop_from=max(0, end - k2), loss_from=previous, end=end)
        previous = end


class TBPTT(seqkit.TruncationStrategy):
    """TBPTT(k1, k2): an update every k1 steps, back-propagated through the last k2 steps."""

    def __init__(self, k1: int, k2: int | None = None):
        self.k1 = _steps("k1", k1)
        self.k2 = self.k1 if k2 is None else _steps("k2", k2)
        if self.k2 < self.k1:
            raise OptionError(
                f"tbptt: k2 ({self.k2}) must be at least k1 ({self.k1}): each update "
                "back-propagates through at least the k1 steps whose losses it takes; "
                f"set k2 >= {self.k1} or leave it out (k2 = k1)."
            )

    def windows(self, length: int) -> Iterator[seqkit.Window]:
        return tbptt_windows(length, self.k1, self.k2)

    def __repr__(self) -> str:
        return f"TBPTT(k1={self.k1}, k2={self.k2})"


class BPTT(seqkit.TruncationStrategy):
    """TBPTT(n, n): full back-propagation through time, one update per sequence."""

    def windows(self, length: int) -> Iterator[seqkit.Window]:
        return tbptt_windows(length, None, None)

    def __repr__(self) -> str:
        return "BPTT()"


class Online(seqkit.TruncationStrategy):
    """TBPTT(1, n): an update after every step, back-propagated to the start of the sequence."""

    def windows(self, length: int) -> Iterator[seqkit.Window]:
        return tbptt_windows(length, 1, None)

    def __repr__(self) -> str:
        return "Online()"


@seqkit.hookimpl
def seqkit_register_truncations(register):
    register("bptt", BPTT)
    register("tbptt", TBPTT)
    register("online", Online)
