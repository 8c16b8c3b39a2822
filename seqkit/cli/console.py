"""``ConsoleReporter``: a run's report on the terminal, the ``seqkit.Progress`` that ``seqkit
run`` passes to ``seqkit.train``.

    [#####---------------] step 500/2000  loss 1.310  bpc 1.890  48,042 tok/s  ETA 1m03s

The ETA counts only what is left: the updates still to do at the recent time of one update
(the median of the last ``RECENT`` updates, so that compiling the step and the odd slow update
do not count), plus the validations still to come at the time the last one took (and the
checkpoints likewise). On a terminal the line is redrawn in place and says when the run is
compiling or validating.
"""

from __future__ import annotations

import collections
import statistics
import time

import click

from seqkit.runs.reporting import Progress, RunSummary

RECENT = 50  # updates whose median time predicts the next ones


def _clock(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 60}m{seconds % 60:02d}s"


class EtaClock:
    """The remaining time of a run from what it has done so far: the recent update time, and
    how long the last validation (its sample included) and the last checkpoint took."""

    def __init__(self, total: int, validations: int, clock=time.perf_counter):
        self.total, self.validations_left = total, validations
        self.updates = collections.deque(maxlen=RECENT)
        self.validation_seconds = self.checkpoint_seconds = 0.0
        self._clock = clock
        self._validating = self._checkpointing = None  # when the current one started

    def phase(self, name: str) -> None:
        now = self._clock()
        if self._validating is not None and name != "sampling":  # a validation has ended
            self.validation_seconds = now - self._validating
            self.validations_left = max(self.validations_left - 1, 0)
            self._validating = None
        if self._checkpointing is not None:
            self.checkpoint_seconds, self._checkpointing = now - self._checkpointing, None
        if name == "validating":
            self._validating = now
        elif name == "checkpointing":
            self._checkpointing = now

    def update(self, seconds: float) -> None:
        self.updates.append(seconds)

    def remaining(self, step: int, checkpoints_left: int = 0) -> float | None:
        """Seconds left after ``step``; None until an update past the first (which compiles)."""
        recent = list(self.updates)[1:] if len(self.updates) < RECENT else list(self.updates)
        if not recent:
            return None
        seconds = (self.total - step) * statistics.median(recent)
        seconds += self.validations_left * self.validation_seconds
        return seconds + checkpoints_left * self.checkpoint_seconds


class ConsoleReporter(Progress):
    """Progress lines, validations and samples on standard output; notes on standard error."""

    def __init__(self, checkpoint_every: int = 0):
        self.tty = click.get_text_stream("stdout").isatty()
        self.eta: EtaClock | None = None
        self.checkpoint_every = checkpoint_every
        self.step, self.total, self.status = 0, 0, ""
        self.started_run = self.finished_run = False
        self.baselines: dict = {}

    def started(self, summary: RunSummary) -> None:
        self.started_run = True
        self.baselines = dict(summary.baselines)
        self.total = summary.last_step
        self.eta = EtaClock(summary.last_step, summary.validations_left)
        shape = f"hidden {summary.hidden_size} x {summary.num_layers}"
        shape += ", bidirectional" if summary.bidirectional else ""
        shape += f", {summary.precision}" if summary.precision != "float32" else ""
        click.echo(
            f"{'Resuming' if summary.resuming else 'Training'} {summary.cell} ({shape}, runner "
            f"{summary.runner}) on {summary.task}: {summary.data}; {summary.truncation}; steps "
            f"{summary.first_step}-{summary.last_step}; run directory {summary.directory}"
        )
        if summary.baselines:
            shown = "  ".join(f"{k} {v:.4f}" for k, v in summary.baselines.items())
            click.echo(f"baseline: {shown}")

    def phase(self, name: str) -> None:
        if self.eta is not None:
            self.eta.phase(name)
        self.status = {"compiling": "compiling the step", "validating": "validating"}.get(name, "")
        if self.tty and self.status:
            click.echo(f"\r{self._bar()}  {self.status}...{' ' * 20}", nl=False)

    def update(self, step, total, logs) -> None:
        self.step, self.total = step, total
        if self.eta is not None:
            self.eta.update(logs["seconds"])

    def _bar(self) -> str:
        done = self.step / self.total if self.total else 0.0
        filled = int(20 * done)
        return f"[{'#' * filled}{'-' * (20 - filled)}] step {self.step}/{self.total}"

    def logged(self, step, total, row) -> None:
        shown = [f"loss {row['train_loss']:.3f}"]
        shown += [
            f"{k[6:]} {v:.3f}"
            for k, v in row.items()
            if k.startswith("train_") and k != "train_loss"
        ]
        if row.get("tokens_per_s"):
            shown.append(f"{row['tokens_per_s']:,.0f} tok/s")
        left = self.eta.remaining(step, self._checkpoints_left(step)) if self.eta else None
        shown.append(f"ETA {_clock(left)}" if left is not None else "ETA --")
        line = f"{self._bar()}  {'  '.join(shown)}"
        click.echo(f"\r{line}   " if self.tty else line, nl=not self.tty)

    def _checkpoints_left(self, step: int) -> int:
        every = self.checkpoint_every
        return (self.total // every - step // every) if every else 0

    def validated(self, step, scores, best, sample) -> None:
        if self.tty:
            click.echo()
        shown = "  ".join(
            f"{k} {v:.4f}" + (f" (baseline {self.baselines[k]:.4f})" if k in self.baselines else "")
            for k, v in scores.items()
        )
        click.echo(f"validation at step {step}: {shown}{'  (best)' if best else ''}")
        if sample is not None:
            click.echo("  | " + sample.replace("\n", "\n  | "))

    def note(self, text: str) -> None:
        if self.tty:
            click.echo()
        click.echo(text, err=True)

    def finished(self, step, seconds, sample) -> None:
        self.finished_run = True
        if self.tty:
            click.echo()
        if self.started_run:
            click.echo(f"Trained to step {step} in {seconds:.0f} s.")
        else:
            click.echo(f"Finished the run at step {step}: its end is written.")
        if sample:
            click.echo(f"\n{sample}")
