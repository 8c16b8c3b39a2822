"""``Progress``: where a run reports what it does, as it does it.

    class Printer(seqkit.Progress):
        def validated(self, step, scores, best, sample):
            print(step, scores["loss"])

    seqkit.train(config, "runs/x", progress=Printer())

Every method does nothing here, so the library is silent by default; the CLI's console reporter
(``seqkit.cli.console``) draws the bar, the ETA and the validations from the same calls. The
calls come in this order: ``started``, then for each update ``phase("compiling")`` before the
first, ``update`` after each, ``logged`` every ``train.log_every``, and ``phase`` /
``validated`` around each validation, ``note`` whenever something is worth a line, and
``finished`` at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunSummary:
    """What a run is about to do, for the first line of a report."""

    resuming: bool
    cell: str
    hidden_size: int
    num_layers: int
    bidirectional: bool
    runner: str
    task: str
    data: str  # "32 streams of 13,077 steps", "9,000 sequences in 141 batches"
    truncation: str
    first_step: int
    last_step: int
    directory: str
    baselines: Mapping[str, float] = field(default_factory=dict)
    validations_left: int = 0  # validations between first_step and last_step, the final one too
    precision: str = "float32"  # train.precision: "mixed_bfloat16" computes in bfloat16


class Progress:
    """A run's report; override the calls you want (each does nothing here)."""

    def started(self, summary: RunSummary) -> None:
        """Training is about to start (or go on, when ``summary.resuming``)."""

    def phase(self, name: str) -> None:
        """What the run does next: ``"compiling"`` (before the first update, which traces and
        compiles the step), ``"training"``, ``"validating"``, ``"checkpointing"``,
        ``"sampling"``, ``"finishing"``."""

    def update(self, step: int, total: int, logs: Mapping[str, Any]) -> None:
        """After every update: ``logs`` as ``seqkit.Callback.on_update_end`` gets them
        (``loss``, ``grad_norm``, ``tokens``, ``seconds`` of the update alone, ...)."""

    def logged(self, step: int, total: int, row: Mapping[str, float]) -> None:
        """A training row of metrics.csv (every ``train.log_every`` updates): ``train_loss``,
        ``tokens_per_s``, ``lr``, ``grad_norm`` and the loss's derived metrics."""

    def validated(
        self, step: int, scores: Mapping[str, float], best: bool, sample: str | None
    ) -> None:
        """A validation: the run's scores (``loss`` first), whether it is the best so far, and a
        short sample for a language model (else None)."""

    def note(self, text: str) -> None:
        """Something worth one line: a damaged checkpoint set aside, a skipped update."""

    def finished(self, step: int, seconds: float, sample: str | None) -> None:
        """Training ended at ``step`` after ``seconds``; the final sample where there is one."""
