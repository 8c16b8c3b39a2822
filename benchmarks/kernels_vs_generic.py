"""Whether each hand-written kernel of the fused runner (``Recurrence.kernel``, declared by the
cell) still trains faster than the generic path of a declared recurrence, which it overrides.

    .venv/bin/python benchmarks/kernels_vs_generic.py               # configs A and B
    .venv/bin/python benchmarks/kernels_vs_generic.py --config A --rounds 40

For each built-in cell with a kernel: a training step (forward, backward, Adam) of the same
character model as ``benchmarks/compare.py``, once with ``FusedRunner()`` (the kernel) and once
with ``FusedRunner(kernels=False)`` (the generic path), timed in pairs whose order alternates,
in one process. The figure is the median of the pairs' ratios generic speed / kernel speed,
with its quartiles: below 1, the kernel earns its place.
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


def paired_ratio(kernel, generic, rounds: int) -> tuple[float, float, float]:
    """Quartiles of (kernel seconds / generic seconds) over ``rounds`` pairs, order alternating."""
    ratios = []
    for i in range(rounds):
        pair = {}
        for name, step in (("kernel", kernel), ("generic", generic))[:: 1 if i % 2 else -1]:
            start = time.perf_counter()
            step()
            pair[name] = time.perf_counter() - start
        ratios.append(pair["kernel"] / pair["generic"])
    q1, median, q3 = statistics.quantiles(ratios, n=4)
    return q1, median, q3


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=sorted(CONFIGS), action="append")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args(argv)

    import seqkit
    from seqkit.benchmarking import training_step

    cells = [n for n in ("vanilla", "gru", "lstm") if seqkit.make_cell(n, 2, 2).recurrence.kernel]
    for config in a.config or sorted(CONFIGS):
        for cell in cells:
            steps = [
                training_step(
                    cell, **CONFIGS[config], runner=seqkit.make_runner("fused", kernels=k)
                )
                for k in (True, False)
            ]
            for step in steps * a.warmup:
                step()
            q1, median, q3 = paired_ratio(*steps, a.rounds)
            print(
                f"config {config} {cell}: generic/kernel speed {median:.3f} "
                f"(quartiles {q1:.3f}-{q3:.3f}, {a.rounds} pairs)",
                flush=True,
            )


if __name__ == "__main__":
    main()
