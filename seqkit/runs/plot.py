"""``loss.png``: how training went, at a glance.

The training loss of every logged row (the mean of ``train.log_every`` updates each) faint,
a centred moving average of it on top (no lag behind the raw curve), the validation losses as
points, the task's baseline as a dashed line where it has a loss-like one, and, for a loss in
nats with bits per character derived from it, a second axis in bits per character; the loss
axis is logarithmic where the losses span more than two decades. Drawn from ``metrics.csv`` at
each validation and at the end, and written whole through the run directory.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

from seqkit.runs.directory import RunDirectory

PLOT_FILE = "loss.png"


def smoothing_half_width(points: int) -> int:
    """How many rows on each side the smoothing averages: about a tenth of the rows in all (a
    short run's curve is left as it is)."""
    return points // 20


def smoothed(values: Sequence[float], half_width: int | None = None) -> list[float]:
    """A centred moving average: each row the mean of the rows up to ``half_width`` on either
    side (fewer near the ends, the same number on both sides), so that the curve does not trail
    the raw one as a moving average of the past does, and a steady trend is drawn where it is."""
    half = smoothing_half_width(len(values)) if half_width is None else half_width
    out = []
    for n in range(len(values)):
        reach = min(half, n, len(values) - 1 - n)
        window = values[n - reach : n + reach + 1]
        out.append(sum(window) / len(window))
    return out


def log_scale_suits(values: Sequence[float]) -> bool:
    """Whether the losses span more than two decades (a loss that falls to 0.001): then a
    logarithmic axis shows the end of the curve that a linear one flattens."""
    positive = [v for v in values if v > 0]
    return len(positive) == len(values) > 1 and max(positive) > 100 * min(positive)


def _baseline(baselines: Mapping[str, float]) -> tuple[str, float] | None:
    for name in ("loss", "mse"):  # the baselines in the loss's own units
        if name in baselines:
            return name, baselines[name]
    return None


def draw(rows: Sequence[Mapping], baselines: Mapping[str, float], title: str) -> bytes | None:
    """The PNG of ``rows`` (metrics.csv's), or None when there is nothing to draw yet."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(r["step"], r["train_loss"]) for r in rows if r.get("train_loss") is not None]
    val = [(r["step"], r["val_loss"]) for r in rows if r.get("val_loss") is not None]
    if not train and not val:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if train:
        steps, losses = zip(*train, strict=True)
        ax.plot(steps, losses, color="tab:blue", alpha=0.25, linewidth=1, label="train (raw)")
        ax.plot(steps, smoothed(losses), color="tab:blue", linewidth=2, label="train (smoothed)")
    if val:
        steps, losses = zip(*val, strict=True)
        ax.plot(steps, losses, "o-", color="tab:orange", label="validation")
    found = _baseline(baselines)
    if found is not None:
        ax.axhline(found[1], color="grey", linestyle="--", label=f"baseline {found[1]:.3f}")
    ax.set(xlabel="update", ylabel="loss", title=title)
    if log_scale_suits([loss for _, loss in train + val]):
        ax.set_yscale("log")
    if any("train_bpc" in r or "val_bpc" in r for r in rows):  # nats -> bits per character
        second = ax.secondary_yaxis("right", functions=(_bits, _nats))
        second.set_ylabel("bits per character")
    ax.grid(alpha=0.3)
    ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=100, bbox_inches="tight", format="png")
    plt.close(fig)
    return buffer.getvalue()


def _bits(nats):
    return nats / math.log(2.0)


def _nats(bits):
    return bits * math.log(2.0)


def write_plot(run: RunDirectory, rows: Sequence[Mapping], baselines: Mapping[str, float]) -> None:
    """Draw ``loss.png`` from the rows, into the run directory."""
    image = draw(rows, baselines, run.path.name)
    if image is not None:
        run.write_bytes(PLOT_FILE, image)
