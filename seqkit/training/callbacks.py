"""``Callback``: hooks into ``Trainer.fit``, before the first update, after each, after the last
(``seqkit.runs.session.RunSession`` is one: checkpoints, validation, the run's log)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seqkit.training.trainer import Trainer


class Callback:
    """Hooks into training. ``trainer.stop_training = True`` ends ``fit`` after this update."""

    def on_train_begin(self, trainer: Trainer) -> None:
        """Before the first update of ``fit``."""

    def on_update_end(self, trainer: Trainer, logs: Mapping[str, Any]) -> None:
        """After each update: ``logs`` has step, loss, grad_norm, tokens, window, epoch, and
        ``nonfinite`` and ``skipped`` (True) where a NaN or infinite update was skipped."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last update of ``fit``."""
