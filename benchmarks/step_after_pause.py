"""How much slower seqkit's training step is right after the machine was idle (or another process
ran): rounds of a few steps, each round after a pause, against the same steps back to back.
In ``benchmarks/compare.py`` each turn follows every other framework's turn and runs ``--settle``
untimed steps (2 by default) before its 3 timed ones.

    .venv/bin/python benchmarks/step_after_pause.py                      # LSTM, config A
    .venv/bin/python benchmarks/step_after_pause.py --cell gru --pause 0.5 --rounds 8
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIG_A = dict(batch=32, seq=64, embed=64, hidden=256, vocab=65)  # as compare.py's


def timed_rounds(step, rounds: int, steps: int, pause: float) -> list[float]:
    """Milliseconds of every step of ``rounds`` rounds of ``steps``, each after ``pause`` s."""
    times = []
    for _ in range(rounds):
        time.sleep(pause)
        for _ in range(steps):
            start = time.perf_counter()
            step()
            times.append((time.perf_counter() - start) * 1e3)
    return times


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cell", default="lstm")
    p.add_argument("--runner", default="auto")
    p.add_argument("--pause", type=float, default=0.5, help="seconds idle before each round")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--steps", type=int, default=3, help="timed steps a round")
    a = p.parse_args(argv)

    from seqkit.benchmarking import training_step

    step = training_step(a.cell, **CONFIG_A, runner=a.runner)
    for _ in range(5):
        step()
    for pause in (0.0, a.pause, 0.0, a.pause):  # alternated
        ms = statistics.median(timed_rounds(step, a.rounds, a.steps, pause))
        print(f"{a.cell} config A, {a.steps} steps a round after {pause:.1f} s: median {ms:.1f} ms")


if __name__ == "__main__":
    main()
