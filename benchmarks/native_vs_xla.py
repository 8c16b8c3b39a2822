"""The native kernels against the XLA fused path: a training step of the same character model
as ``benchmarks/compare.py`` (embedding, recurrent layers, head; forward, backward, Adam), with
the ``native`` runner (C++ custom ops in a plain ``tf.function`` step) and with the ``fused``
runner (the cell's XLA kernel in an XLA-compiled step), timed in pairs whose order alternates,
in one process. The figure is the median of the pairs' ratios fused seconds / native seconds,
with its quartiles: above 1, the native kernel is faster (and ``runner="auto"`` should pick it).

    .venv/bin/python benchmarks/native_vs_xla.py                       # configs A and B, 1 layer
    .venv/bin/python benchmarks/native_vs_xla.py --config A --layers 2 --rounds 40
    SEQKIT_NATIVE_SHARDS=1 .venv/bin/python benchmarks/native_vs_xla.py   # one thread a kernel

Also prints the milliseconds a step of each (medians). Cells without a native kernel are left
out, with a line.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIGS = {  # name: batch, seq, embed, hidden, vocab (as compare.py's)
    "A": dict(batch=32, seq=64, embed=64, hidden=256, vocab=65),
    "B": dict(batch=64, seq=100, embed=64, hidden=512, vocab=65),
}


def paired(native, fused, rounds: int):
    """Quartiles of fused / native seconds over ``rounds`` pairs (order alternating), and the
    median seconds of each."""
    ratios, times = [], {"native": [], "fused": []}
    for i in range(rounds):
        pair = {}
        for name, step in (("native", native), ("fused", fused))[:: 1 if i % 2 else -1]:
            start = time.perf_counter()
            step()
            pair[name] = time.perf_counter() - start
            times[name].append(pair[name])
        ratios.append(pair["fused"] / pair["native"])
    quartiles = statistics.quantiles(ratios, n=4)
    return quartiles, {k: statistics.median(v) for k, v in times.items()}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=sorted(CONFIGS), action="append")
    p.add_argument("--cell", action="append", help="default: every built-in with a native kernel")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args(argv)

    import seqkit
    from seqkit.benchmarking import training_step

    cells = a.cell or ["vanilla", "gru", "lstm"]
    for config in a.config or sorted(CONFIGS):
        for cell in cells:
            if seqkit.make_cell(cell, 2, 2).recurrence.native_kernel is None:
                print(f"{cell}: no native kernel, left out")
                continue
            native, fused = (
                training_step(cell, **CONFIGS[config], layers=a.layers, runner=r)
                for r in ("native", "fused")
            )
            for _ in range(a.warmup):
                native(), fused()
            (q1, median, q3), ms = paired(native, fused, a.rounds)
            print(
                f"config {config} {cell} x{a.layers}: fused/native speed {median:.2f} "
                f"(quartiles {q1:.2f}-{q3:.2f}); step {ms['native'] * 1e3:.1f} ms native, "
                f"{ms['fused'] * 1e3:.1f} ms fused (XLA), {a.rounds} pairs",
                flush=True,
            )


if __name__ == "__main__":
    main()
