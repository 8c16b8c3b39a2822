"""The long-term dependency experiment: the adding problem at two lengths for the vanilla RNN,
the GRU and the LSTM, with the same budget, and the figure of validation MSE against steps.

    python examples/long_term_dependencies.py [--out runs/long-term] [--lengths 100 200]
                                              [--steps 3000] [--cells vanilla gru lstm]
    python examples/long_term_dependencies.py --cells mingru minlstm --lengths 200 1000

Each run is ``examples/long_term_dependencies.toml`` with ``model.cell`` and ``task.length``
set, trained in this process with ``seqkit.train``; a run directory that is already complete is
reused (``seqkit.open_run``). Writes ``adding.png`` into the output folder and prints a Markdown
table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import seqkit

CONFIG = Path(__file__).with_name("long_term_dependencies.toml")
CELLS = ("vanilla", "gru", "lstm")


def run(cell: str, length: int, steps: int, out: Path) -> tuple[seqkit.Run, float]:
    """The trained run of one cell, and the seconds it took (0 if it was there already)."""
    overrides = [f"model.cell={cell}", f"task.length={length}", f"train.steps={steps}"]
    config = seqkit.load_config(CONFIG, overrides)
    if (out / "config.toml").exists():  # trained before: finish it if it was cut short
        return seqkit.train(config, out, resume=True), 0.0
    started = time.perf_counter()
    trained = seqkit.train(config, out)
    return trained, time.perf_counter() - started


def curve(trained: seqkit.Run) -> tuple[list[int], list[float]]:
    """The validation MSE by update."""
    rows = [row for row in trained.metrics if row["val_mse"] is not None]
    return [row["step"] for row in rows], [row["val_mse"] for row in rows]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/long-term"))
    parser.add_argument("--lengths", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--steps", type=int, default=3000, help="updates, the same for each cell")
    parser.add_argument("--cells", nargs="+", default=list(CELLS), help="registered cells")
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
        for cell in args.cells:
            trained, seconds = run(cell, length, args.steps, args.out / f"{cell}-{length}")
            steps, mse = curve(trained)
            baseline = trained.task_info["baselines"]["mse"]
            ax.plot(steps, mse, label=cell)
            print(f"| {length} | {cell} | {min(mse):.4f} | {mse[-1]:.4f} | {baseline:.3f} "
                  f"| {seconds:.0f} |")  # fmt: skip
        ax.axhline(baseline, color="grey", linestyle="--", label="always 1")
        ax.set(yscale="log", xlabel="update", ylabel="validation MSE",
               title=f"adding problem, length {length}")  # fmt: skip
        ax.legend()
    path = args.out / "adding.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
