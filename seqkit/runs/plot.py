"""``loss.png``: how training went, at a glance.

The training loss of every logged row (the mean of ``train.log_every`` updates each) faint, an
exponential moving average of it on top, the validation losses as points, the task's baseline as
a dashed line where it has a loss-like one, and, for a loss in nats with bits per character
derived from it, a second axis in bits per character. Drawn from ``metrics.csv`` at each
validation and at the end, and written whole through the run directory.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

from seqkit.runs.directory import RunDirectory

PLOT_FILE = "loss.png"


def smoothing_weight(points: int) -> float:
    """The moving average's weight of the past: about a tenth of the points are averaged
    (at most the last 10), so that a short run's curve does not lag behind its points."""
    return min(0.9, max(0.0, 1.0 - 10.0 / max(points, 1)))


def smoothed(values: Sequence[float], weight: float | None = None) -> list[float]:
    """An exponential moving average, bias-corrected so that it starts at the first value."""
    weight = smoothing_weight(len(values)) if weight is None else weight
    if weight == 0.0:
        return list(values)
    out, average = [], 0.0
    for n, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        out.append(average / (1 - weight**n))
    return out


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
