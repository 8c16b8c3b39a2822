"""Means pooled over batches: each batch adds a ``(total, count)`` pair per metric, and the mean
is the sum of the totals over the sum of the counts, so every counted item weighs the same
whatever the batch sizes.

    >>> means = Means()
    >>> means.add("accuracy", 3, 4)
    >>> means.add("accuracy", 1, 4)
    >>> means.add("loss", 0.0, 0)
    >>> means.result()
    {'accuracy': 0.5, 'loss': nan}
"""

from __future__ import annotations


class Means:
    """``{name: sum(total) / sum(count)}`` of the pairs added; NaN where nothing was counted."""

    def __init__(self) -> None:
        self._sums: dict[str, list[float]] = {}

    def add(self, name: str, total: float, count: float) -> None:
        """Adds ``total`` (a sum over ``count`` items) to the metric ``name``."""
        entry = self._sums.setdefault(name, [0.0, 0.0])
        entry[0] += float(total)
        entry[1] += float(count)

    def add_all(self, pairs: dict[str, tuple[float, float]]) -> None:
        """Adds every ``{name: (total, count)}`` pair of ``pairs``."""
        for name, (total, count) in pairs.items():
            self.add(name, total, count)

    def result(self) -> dict[str, float]:
        """The mean of each metric added so far, in the order first added."""
        return {
            name: (total / count if count else float("nan"))
            for name, (total, count) in self._sums.items()
        }
