"""The character language model at equal training time: the LSTM against minGRU and minLSTM.

    python examples/char_lm_equal_time.py [--seconds 120] [--models lstm mingru:2 minlstm:2]
                                          [--out runs/equal-time]

Each model is the default ``seqkit run`` (the embedded corpus, 32 streams x 64 characters,
Adam 3e-3, hidden 256) with ``model.cell`` and ``model.num_layers`` set (``CELL:LAYERS``), trained
in this process with ``seqkit.train`` until its updates have taken ``--seconds`` (the time of
the updates alone, compiling included: an XLA-compiled step (the min cells' scan runner)
compiles once for the 64-step window and once for the shorter last window of the first
pass, about 3.5 s each on 2 cores; validating and writing are not counted), then validated
once.
The min cells have no recurrent matmul and train on the scan runner, so in the same time they
see several times the characters of the LSTM; the table says whether that buys a lower
validation loss. Prints a Markdown table; each run's directory stays under ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import seqkit

MODELS = ("lstm", "mingru:2", "minlstm:2")
NEVER = 10**9  # train.steps and the intervals: the time budget ends the run instead


class TimeBudget(seqkit.Callback):
    """Stops training once the updates have taken ``seconds`` in all."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.spent = 0.0
        self.tokens = 0

    def on_update_end(self, trainer, logs) -> None:
        self.spent += logs["seconds"]
        self.tokens += logs["tokens"]
        if self.spent >= self.seconds:
            trainer.stop_training = True


def parse_model(text: str) -> tuple[str, int]:
    """``"mingru:2"`` -> ("mingru", 2); a bare cell name is one layer."""
    cell, _, layers = text.partition(":")
    return cell, int(layers or 1)


def train(cell: str, layers: int, seconds: float, out: Path) -> dict:
    """One model trained for ``seconds`` of updates: its row of the table."""
    overrides = [
        f"model.cell={cell}",
        f"model.num_layers={layers}",
        f"train.steps={NEVER}",
        f"train.eval_every={NEVER}",
        f"train.checkpoint_every={NEVER}",
    ]
    budget = TimeBudget(seconds)
    run = seqkit.train(seqkit.load_config(None, overrides), out, callbacks=[budget])
    scores = run.evaluate()
    return {
        "model": f"{cell} x{layers}",
        "updates": run.metrics[-1]["step"],
        "characters": budget.tokens,
        "rate": budget.tokens / budget.spent,
        "bpc": scores["bpc"],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="of updates, per model")
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="CELL[:LAYERS]")
    parser.add_argument("--out", type=Path, default=Path("runs/equal-time"))
    args = parser.parse_args(argv)
    print(f"| model | updates in {args.seconds:g} s | characters | chars/s | val bpc |")
    print("| --- | --- | --- | --- | --- |")
    for text in args.models:
        cell, layers = parse_model(text)
        row = train(cell, layers, args.seconds, args.out / f"{cell}-x{layers}")
        print(
            f"| {row['model']} | {row['updates']:,} | {row['characters']:,} "
            f"| {row['rate']:,.0f} | {row['bpc']:.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
