"""The scan runner against the step-by-step runners, the recurrence removed, and PyTorch.

    .venv/bin/python benchmarks/scan_speed.py                      # every row of issue 22
    .venv/bin/python benchmarks/scan_speed.py --seqs 1024 --configs small --rounds 5

A row is one training step (forward, backward, Adam) of a character model: embedding 64,
one minGRU or minLSTM layer, a dense head over 65 symbols, at sequence length T. Variants:

    scan          the scan runner, the step in a plain tf.function
    scan+xla      the same, the step compiled by XLA (jit_compile: the runner's default, what
                  "auto" picks for these cells)
    step          the xla runner: the same declaration, step by step in an XLA-compiled loop
    no-recurrence the same step with h_t = b_t, compiled by XLA (the recurrence removed:
                  nothing sequential, the limit of any scan)
    torch         PyTorch, the paper's log-space minGRU (torch.logcumsumexp), where torch is
                  installed, minGRU only (its log-space variant: seqkit's cell with log_space)

Variants run interleaved, round by round, so that load from other processes falls on all alike;
the figure is the median ms a step over the rounds, after one warm-up step each (compiles).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from framework_steps import torch_step as framework_torch_step  # noqa: E402

from seqkit.benchmarking import training_step  # noqa: E402
from seqkit.interfaces import declared_linear_recurrence  # noqa: E402
from seqkit_plugins.scan import ScanRunner  # noqa: E402

CONFIGS = {"large": (32, 256), "small": (4, 64)}  # name: batch, hidden
EMBED, VOCAB = 64, 65


class CompiledScanRunner(ScanRunner):
    """The scan runner with the training step compiled by XLA (its default)."""

    jit_compile = True


class UncompiledScanRunner(ScanRunner):
    """The scan runner with the training step in a plain ``tf.function``."""

    jit_compile = False


class NoRecurrenceRunner(CompiledScanRunner):
    """h_t = b_t: the cell's projection and coefficients, no recurrence (the limit)."""

    def run(self, cell, inputs, initial_state, mask=None):
        declaration = declared_linear_recurrence(cell)
        projected = cell.project_inputs(inputs)
        _, b = declaration.coefficients(projected)
        return declaration.outputs(b, projected), (b[:, -1],)


RUNNERS = {
    "scan": UncompiledScanRunner,
    "scan+xla": CompiledScanRunner,
    "step": lambda: "xla",
    "no-recurrence": NoRecurrenceRunner,
}


def seqkit_step(cell, variant, batch, hidden, seq):
    step = training_step(
        cell, batch, seq, hidden, EMBED, VOCAB, runner=RUNNERS[variant](),
        cell_options={"log_space": True} if cell == "mingru" else None,
    )  # fmt: skip
    return step


def torch_step(batch, hidden, seq):
    """The paper's log-space minGRU (Feng et al. 2024, appendix), one layer, as a training step
    (``framework_steps.torch_log_space_mingru``)."""
    return framework_torch_step("mingru", batch, seq, EMBED, hidden, VOCAB, 1)


def has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def measure(steps: dict, rounds: int) -> dict[str, float]:
    """Median ms a call of each step, one warm-up call each, calls interleaved by round."""
    for step in steps.values():
        step()
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(1e3 * (time.perf_counter() - start))
    return {name: statistics.median(t) for name, t in times.items()}


def machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line),
        platform.processor(),
    )
    load = os.getloadavg()[0]
    return f"{model}, {os.cpu_count()} cores, load {load:.1f}; TF {tf.__version__}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["mingru", "minlstm"])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seqs", nargs="+", type=int, default=[64, 256, 1024, 4096])
    parser.add_argument("--variants", nargs="+", default=[*RUNNERS, "torch"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch_ok = has_torch()
    print(f"# {datetime.date.today()}: {machine()}; torch {'yes' if torch_ok else 'not installed'}")
    ratios = " | step/scan | scan/no-rec |"  # scan: scan+xla where measured
    header = "| cell | batch/hidden | T | " + " | ".join(args.variants) + ratios
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for cell in args.cells:
        for config in args.configs:
            batch, hidden = CONFIGS[config]
            for seq in args.seqs:
                steps = {}
                for variant in args.variants:
                    if variant == "torch":
                        if torch_ok and cell == "mingru":
                            steps[variant] = torch_step(batch, hidden, seq)
                    else:
                        steps[variant] = seqkit_step(cell, variant, batch, hidden, seq)
                ms = measure(steps, args.rounds)
                cells = [f"{ms[v]:.1f}" if v in ms else "-" for v in args.variants]
                scan = ms.get("scan+xla", ms.get("scan"))  # the runner's default first
                ratios = [
                    f"{ms['step'] / scan:.2f}x" if scan and "step" in ms else "-",
                    f"{scan / ms['no-recurrence']:.2f}x" if scan and "no-recurrence" in ms else "-",
                ]
                row = f"| {cell} | {batch}/{hidden} | {seq} | " + " | ".join(cells + ratios) + " |"
                print(row, flush=True)
    print("# ms a training step, medians of interleaved rounds; " + machine())


if __name__ == "__main__":
    main()
