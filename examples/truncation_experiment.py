"""The truncation experiment: what back-propagating further than the update interval buys.

    python examples/truncation_experiment.py [--out runs/truncation] [--steps 1000]
                                             [--adding-steps 1500]

Part 1, char-lm at equal compute: an LSTM on the embedded corpus with TBPTT(32, 32) and with
TBPTT(32, 64). The (32, 64) run costs more per update, so (32, 32) also gets as many more
updates as that extra time buys; the table compares the validation loss of all three.

Part 2, a gap longer than the truncation: the adding problem at length 60, where the first
marked number sits in the first 30 steps and the loss is at the last step (so only the window
that ends the sequence is an update, and k1 does not matter). With k2 = 20 the
gradient never reaches the first number, so the best a model can learn is the second one
(MSE 1/12, about 0.083, against 0.167 for always answering 1); with k2 = 60 it can learn both.

Each run is ``seqkit.train`` in this process; a finished run directory is reused.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import seqkit

CHAR_LM = ["model.hidden_size=256", "train.batch_size=32", "train.eval_every=250"]
ADDING = ["task.name=adding", "task.length=60", "task.train_size=20000", "model.hidden_size=64",
          "train.batch_size=64", "train.lr=0.003", "train.clip_norm=1.0", "train.eval_every=100",
          "train.truncation=tbptt"]  # fmt: skip


def run(out: Path, settings: list[str]) -> float:
    """Train with ``settings`` into ``out`` unless done; its wall time in seconds (kept beside
    the run directory, so that a reused run reports the time it took)."""
    timing = out.with_name(out.name + ".seconds.json")
    if timing.exists() and (out / "config.toml").exists():
        return json.loads(timing.read_text())["seconds"]
    started = time.perf_counter()
    seqkit.train(seqkit.load_config(None, settings), out)
    seconds = time.perf_counter() - started
    timing.write_text(json.dumps({"seconds": seconds}))
    return seconds


def rows(out: Path) -> list[dict]:
    """The validation rows of a run's metrics."""
    return [row for row in seqkit.open_run(out, "last").metrics if row["val_loss"] is not None]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/truncation"))
    parser.add_argument("--steps", type=int, default=1000, help="updates of the char-lm runs")
    parser.add_argument("--adding-steps", type=int, default=1500, help="of the adding runs")
    args = parser.parse_args(argv)
    steps = args.steps

    print("Part 1: char-lm, LSTM 256, batch 32")
    print("| truncation | updates | seconds | best val loss (nats) | best val bpc |")
    print("| --- | --- | --- | --- | --- |")
    plain = run(args.out / "k32-32", [*CHAR_LM, "train.k1=32", f"train.steps={steps}"])
    overlap = run(args.out / "k32-64", [*CHAR_LM, "train.k1=32", "train.k2=64",
                                        f"train.steps={steps}"])  # fmt: skip
    # the updates (32, 32) gets in that time, on the validation grid
    more = max(steps, round(steps * overlap / plain / 250) * 250)
    equal = run(args.out / "k32-32-equal", [*CHAR_LM, "train.k1=32", f"train.steps={more}"])
    for name, label, updates, seconds in [
        ("k32-32", "TBPTT(32, 32)", steps, plain),
        ("k32-64", "TBPTT(32, 64)", steps, overlap),
        ("k32-32-equal", "TBPTT(32, 32), equal time", more, equal),
    ]:
        best = min(rows(args.out / name), key=lambda r: r["val_loss"])
        print(f"| {label} | {updates} | {seconds:.0f} | {best['val_loss']:.4f} "
              f"| {best['val_bpc']:.4f} |")  # fmt: skip

    print("\nPart 2: adding problem, length 60 (first number in steps 0-29), LSTM 64")
    print("| truncation | best val MSE | baseline |")
    print("| --- | --- | --- |")
    for k2 in (20, 40, 60):
        out = args.out / f"adding-k2-{k2}"
        run(out, [*ADDING, "train.k1=20", f"train.k2={k2}", f"train.steps={args.adding_steps}"])
        baseline = seqkit.open_run(out, "last").task_info["baselines"]["mse"]
        best = min(r["val_mse"] for r in rows(out))
        print(f"| TBPTT(20, {k2}) | {best:.4f} | {baseline:.4f} |")


if __name__ == "__main__":
    main()
