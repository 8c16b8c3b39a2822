"""Two versions of seqkit's training step side by side: one live process per source tree (e.g.
main and a ``git worktree`` of an older commit), which take turns running blocks of steps; the
first steps of each block are left out (the first steps after another process held the cores run
slow), and the figure is each tree's median step with the ratio of the second to the first.
Run it twice with the trees in the other order: the place in the rotation moves a ratio by a few
percent on a 2-core machine. Each tree builds its own native library (cached by source hash).

    git worktree add /tmp/base e7288a0
    .venv/bin/python benchmarks/step_ab.py /tmp/base .                 # LSTM, config A, one layer
    .venv/bin/python benchmarks/step_ab.py . /tmp/base --layers 2 --precision mixed_bfloat16
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CONFIGS = {  # name: batch, seq, embed, hidden, vocab (as compare.py's)
    "A": dict(batch=32, seq=64, embed=64, hidden=256, vocab=65),
    "B": dict(batch=64, seq=100, embed=64, hidden=512, vocab=65),
}


def serve(tree: str, options: dict) -> None:
    """A worker: builds the step from ``tree``'s seqkit, then times blocks of steps on demand
    (a line "N" on stdin -> a JSON list of N step times in ms on stdout)."""
    sys.path.insert(0, os.path.abspath(tree))
    out, sys.stdout = sys.stdout, sys.stderr  # TensorFlow's and seqkit's messages go to stderr
    import seqkit
    from seqkit.benchmarking import training_step

    if not seqkit.__file__.startswith(os.path.abspath(tree)):
        raise SystemExit(f"step_ab: {tree} did not provide seqkit ({seqkit.__file__})")
    step = training_step(
        options["cell"],
        **CONFIGS[options["config"]],
        layers=options["layers"],
        precision=options["precision"],
    )
    for _ in range(5):  # traces, compiles, warms up
        step()
    print("ready", file=out, flush=True)
    for line in sys.stdin:
        times = []
        for _ in range(int(line)):
            start = time.perf_counter()
            step()
            times.append((time.perf_counter() - start) * 1e3)
        print(json.dumps(times), file=out, flush=True)


def compare(trees: list[str], options: dict, rounds: int, block: int, skip: int) -> list[float]:
    """Each tree's median step (ms) over ``rounds`` turns of ``block`` steps, the first
    ``skip`` of each turn left out."""
    command = [sys.executable, __file__, "--worker", json.dumps(options)]
    workers = [
        subprocess.Popen([*command, tree], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for tree in trees
    ]
    for worker, tree in zip(workers, trees, strict=True):
        if worker.stdout.readline().strip() != "ready":
            raise SystemExit(f"step_ab: the worker for {tree} failed (its messages are above)")
    times: list[list[float]] = [[] for _ in trees]
    for _ in range(rounds):
        for worker, kept in zip(workers, times, strict=True):
            worker.stdin.write(f"{block}\n")
            worker.stdin.flush()
            kept += json.loads(worker.stdout.readline())[skip:]
    for worker in workers:
        worker.stdin.close()
        worker.wait()
    return [statistics.median(kept) for kept in times]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("trees", nargs=2, help="two source trees (the ratio is second / first)")
    p.add_argument("--cell", default="lstm")
    p.add_argument("--config", choices=sorted(CONFIGS), default="A")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--precision", choices=["float32", "mixed_bfloat16"], default="float32")
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--block", type=int, default=15, help="steps a turn")
    p.add_argument("--skip", type=int, default=3, help="first steps of a turn left out")
    args = p.parse_args(argv)
    options = dict(cell=args.cell, config=args.config, layers=args.layers, precision=args.precision)
    first, second = compare(args.trees, options, args.rounds, args.block, args.skip)
    print(
        f"{args.cell} x{args.layers} config {args.config} {args.precision}: "
        f"{args.trees[0]} {first:.2f} ms, {args.trees[1]} {second:.2f} ms, "
        f"ratio {second / first:.3f}"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        serve(sys.argv[3], json.loads(sys.argv[2]))
    else:
        main()
