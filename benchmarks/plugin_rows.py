"""The rows of ``benchmarks/compare.py`` for plugin cells (the example plugin's, where it is
installed): its declaring cell JANET against the built-in cells of nearest FLOPs, and the
runner ``auto`` picks against every runner for a declaring (JANET) and a non-declaring (MGU)
cell, so that the rule of ``seqkit.models.runner_choice.AUTO_RUNNERS`` is seen to hold.

FLOP-normalised speed: tokens/s x FLOPs/token (the matmul FLOPs of the model's weights), the
FLOP/s a training step achieves; a cell with fewer gate blocks trains more tokens a second at
the same FLOP/s. Figures are medians of interleaved rounds, all seqkit in one worker process.
"""

from __future__ import annotations

import statistics

BUILT_IN = ("vanilla", "gru", "lstm")
DECLARING, NON_DECLARING = "janet", "mgu"  # the example plugin's cells


def time_interleaved(worker, builds: dict[str, dict], args) -> dict[str, float]:
    """Median seconds a step of each ``key -> (config with runner)``, rounds interleaved."""
    for key, config in builds.items():
        worker.ask(
            cmd="build", key=key, variant=config["runner"], config=config, warmup=args.warmup
        )
    times = {key: [] for key in builds}
    for _ in range(args.rounds):
        for key in builds:
            reply = worker.ask(cmd="time", key=key, steps=args.steps, settle=args.settle)
            times[key] += reply["times"]
    worker.ask(cmd="drop")
    return {key: statistics.median(t) for key, t in times.items()}


def nearest_flops(flops: dict[str, float], cell: str) -> list[str]:
    """The built-in cells whose FLOPs a token are nearest ``cell``'s (all of them on a tie)."""
    gaps = {name: abs(flops[name] - flops[cell]) for name in BUILT_IN}
    best = min(gaps.values())
    return [name for name in BUILT_IN if gaps[name] <= best * (1 + 1e-9)]


def plugin_rows(worker, configs: dict[str, dict], args) -> list[dict]:
    """JANET against its nearest built-ins (runner auto), FLOP-normalised, for each config."""
    rows = []
    for name, sizes in configs.items():
        base = dict(sizes, layers=1, runner="auto")
        flops = {
            cell: worker.ask(cmd="model_info", config=dict(base, cell=cell))["flops_per_token"]
            for cell in (*BUILT_IN, DECLARING)
        }
        cells = [DECLARING, *nearest_flops(flops, DECLARING)]
        medians = time_interleaved(worker, {c: dict(base, cell=c) for c in cells}, args)
        tokens = sizes["batch"] * sizes["seq"]
        row = {"name": name, "cells": {}}
        for cell in cells:
            rate = tokens / medians[cell]
            row["cells"][cell] = {
                "tokens_per_s": round(rate),
                "flops_per_token": flops[cell],
                "gflops": round(rate * flops[cell] / 1e9, 2),
            }
        mine = row["cells"][DECLARING]["gflops"]
        row["flop_ratio"] = {c: round(mine / row["cells"][c]["gflops"], 2) for c in cells[1:]}
        rows.append(row)
        print_plugin_row(row, first=len(rows) == 1)
    return rows


def auto_rows(worker, sizes: dict, args, with_python: bool) -> list[dict]:
    """For JANET and the MGU: tokens/s on every runner that supports it, and auto's pick."""
    rows = []
    for cell in (DECLARING, NON_DECLARING):
        base = dict(sizes, cell=cell, layers=1, runner="auto")
        info = worker.ask(cmd="model_info", config=base)
        runners = [r for r in info["runners"] if with_python or r != "python"]
        medians = time_interleaved(worker, {r: dict(base, runner=r) for r in runners}, args)
        tokens = sizes["batch"] * sizes["seq"]
        rates = {r: round(tokens / m) for r, m in medians.items()}
        fastest = max(rates, key=rates.get)
        row = {
            "cell": cell, "declares": info["declares"], "auto": info["auto_runner"],
            "tokens_per_s": rates, "fastest": fastest, "holds": info["auto_runner"] == fastest,
        }  # fmt: skip
        rows.append(row)
        print_auto_row(row, first=len(rows) == 1)
    return rows


def print_plugin_row(row: dict, first: bool) -> None:
    if first:
        print("\nplugin cell JANET against the built-in cells of nearest FLOPs (runner auto):")
    parts = [
        f"{cell} {f['tokens_per_s']:,} tokens/s x {f['flops_per_token'] / 1e6:.2f} MFLOP = "
        f"{f['gflops']:.1f} GFLOP/s"
        for cell, f in row["cells"].items()
    ]
    ratios = ", ".join(f"{DECLARING}/{c} {r:.2f}" for c, r in row["flop_ratio"].items())
    print(f"  {row['name']}: " + "; ".join(parts) + f"   FLOP-normalised {ratios}", flush=True)


def print_auto_row(row: dict, first: bool) -> None:
    if first:
        print("\nrunner 'auto' against every runner (tokens/s, config A):")
    rates = "  ".join(f"{r} {v:,}" for r, v in row["tokens_per_s"].items())
    kind = "declares its recurrence" if row["declares"] else "declares none"
    share = row["tokens_per_s"][row["auto"]] / row["tokens_per_s"][row["fastest"]]
    verdict = (
        "holds"
        if row["holds"]
        else (f"does NOT hold (fastest: {row['fastest']}; auto's pick at {share:.2f} of it)")
    )
    print(f"  {row['cell']} ({kind}): {rates}   auto picks {row['auto']}: {verdict}", flush=True)
