"""The long-term dependency experiment: the adding problem at two lengths for the vanilla RNN,
the GRU and the LSTM, with the same budget, and the figure of validation MSE against steps.

    python examples/long_term_dependencies.py [--out runs/long-term] [--lengths 100 200]
                                              [--steps 3000]

Each run is ``seqkit run examples/long_term_dependencies.toml`` with ``model.cell`` and
``task.length`` set, in its own process; a run directory that is already complete is reused.
Writes ``adding.png`` into the output folder and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

CONFIG = Path(__file__).with_name("long_term_dependencies.toml")
CELLS = ("vanilla", "gru", "lstm")


def run(cell: str, length: int, steps: int, out: Path) -> float:
    """Train one model unless its run is complete; the seconds it took (0 if reused)."""
    if (out / "metrics.csv").exists() and (out / "checkpoints" / "last").exists():
        return 0.0
    started = time.perf_counter()
    command = [sys.executable, "-m", "seqkit.cli", "run", str(CONFIG), "--out", str(out),
               "--set", f"model.cell={cell}", "--set", f"task.length={length}",
               "--set", f"train.steps={steps}"]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def curve(out: Path) -> tuple[list[int], list[float]]:
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [int(r["step"]) for r in rows], [float(r["val_mse"]) for r in rows]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/long-term"))
    parser.add_argument("--lengths", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--steps", type=int, default=3000, help="updates, the same for each cell")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(args.lengths), figsize=(5 * len(args.lengths), 4))
    axes = [axes] if len(args.lengths) == 1 else list(axes)
    print("| length | cell | best val MSE | last val MSE | baseline | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    for ax, length in zip(axes, args.lengths, strict=True):
        baseline = None
        for cell in CELLS:
            out = args.out / f"{cell}-{length}"
            seconds = run(cell, length, args.steps, out)
            steps, mse = curve(out)
            baseline = json.loads((out / "task.json").read_text())["baselines"]["mse"]
            ax.plot(steps, mse, label=cell)
            print(f"| {length} | {cell} | {min(mse):.4f} | {mse[-1]:.4f} | {baseline:.3f} "
                  f"| {seconds:.0f} |")  # fmt: skip
        ax.axhline(baseline, color="grey", linestyle="--", label="always 1")
        ax.set(yscale="log", xlabel="update", ylabel="validation MSE",
               title=f"adding problem, length {length}")  # fmt: skip
        ax.legend()
    path = args.out / "adding.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
