"""seqkit against Keras and PyTorch, side by side in one run: training tokens/s, sampling
characters/s, TBPTT cost, and the FLOP ceiling from the measured sgemm rate; and, where the
example plugin is installed, its cells: JANET (which declares its recurrence) against the
built-in cells of nearest FLOPs, FLOP-normalised, and the runner ``auto`` picks against every
runner for JANET and the MGU (``benchmarks/plugin_rows.py``); and the bfloat16 rows (config A,
one layer; ``--no-bf16`` leaves them out): seqkit's ``train.precision = "mixed_bfloat16"``
against its own float32 and against ``torch.autocast("cpu", dtype=torch.bfloat16)``, with
whether this CPU computes bfloat16 natively (``/proc/cpuinfo``: AMX or AVX512_BF16) or emulates
it, which makes bfloat16 slower than float32.

    .venv/bin/python benchmarks/compare.py            # table, and benchmarks/results.json
    .venv/bin/python benchmarks/compare.py --quick    # config A, one layer only

A full run also has rows for mingru (log_space) and minlstm at config A: auto runs them on
the scan runner, fused and xla step by step, and torch's column is the paper's log-space minGRU.

Each framework runs in its own process (a worker: this file with ``--worker NAME``), and the
driver interleaves them: for every configuration, ``--rounds`` rounds in which each variant runs
``--settle`` untimed steps and then ``--steps`` timed training steps, so that load from others on
a shared machine falls on all alike. The untimed steps of a turn are there because the first
steps after another process held the cores run slow, by an amount that depends on the order of
the turns rather than on the framework (``--settle 0`` times them: README, "Speed"). Warm-up
steps (and compiles) are excluded; figures are medians of all timed steps.
A training step is forward, backward and Adam on a character model: embedding, recurrent
layers, dense head. seqkit's ``auto`` runs the native kernels (C++ custom ops in a plain
``tf.function`` step) where a cell declares one and the library loads, through ``Trainer.fit``
(``seqkit.benchmarking.training_step``); its ``plain`` column is the same model in a toolkit's
own ``tf.function`` step with Keras' Adam (``framework_steps.seqkit_plain_step``: no
``Trainer``); its ``fused`` column is the XLA path (the fused runner's kernels in an
XLA-compiled step). Ratios are to PyTorch's nn.LSTM/nn.GRU/nn.RNN and to the ceiling: sgemm
FLOP/s over the step's matmul FLOPs a token, counted from the seqkit model's weight matrices
(``seqkit bench`` gives the seqkit side alone).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from framework_steps import (
    keras_sampling,
    keras_step,
    model_info,
    seqkit_plain_step,
    seqkit_sampling,
    seqkit_tbptt,
    torch_sampling,
    torch_step,
)
from plugin_rows import DECLARING, NON_DECLARING, auto_rows, plugin_rows

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIGS = {  # name: batch, seq, embed, hidden, vocab
    "A": dict(batch=32, seq=64, embed=64, hidden=256, vocab=65),
    "B": dict(batch=64, seq=100, embed=64, hidden=512, vocab=65),
}
# The cells of a linear recurrence (issue 22): auto runs them on the scan runner, fused and xla
# step by step; torch's column is the paper's log-space minGRU (none for minLSTM, nor Keras).
MIN_CELLS = [("mingru", {"log_space": True}), ("minlstm", {})]
VARIANTS = [  # (worker, variant): the seqkit runners, Keras without and with XLA, PyTorch
    ("seqkit", "auto"),  # the native kernels where the cell has them and the library loads
    ("seqkit", "plain"),  # auto's model in a plain tf.function step with Keras' Adam
    ("seqkit", "fused"),  # the XLA fused path (what auto ran before the native kernels)
    ("seqkit", "xla"),
    ("keras", "plain"),
    ("keras", "jit"),
    ("torch", "native"),
]
# The bfloat16 rows (config A, one layer): seqkit's auto in float32 and in mixed_bfloat16,
# torch in float32 and under torch.autocast("cpu", dtype=torch.bfloat16).
BF16_VARIANTS = [
    ("seqkit", "auto"),
    ("seqkit", "auto+bf16"),
    ("torch", "native"),
    ("torch", "autocast"),
]


# -- workers: one process per framework, JSON lines in and out ---------------------------------


def build_step(framework: str, c: dict, variant: str):
    """``(step, reply)``: a training step of ``framework``'s model for config ``c``; for seqkit
    the reply holds the model's FLOPs a token and the runner it runs (what "auto" picked)."""
    args = (c["cell"], c["batch"], c["seq"], c["embed"], c["hidden"], c["vocab"])
    if framework == "keras":
        return keras_step(*args, c["layers"], variant == "jit"), {}
    if framework == "torch":
        return torch_step(*args, c["layers"], autocast=variant == "autocast"), {}
    from seqkit.benchmarking import flops_per_token, runner_name, training_step

    if variant == "plain":
        return seqkit_plain_step(*args, c["layers"]), {}
    sizes = {k: c[k] for k in ("cell", "batch", "seq", "embed", "hidden", "vocab", "layers")}
    runner, bf16, _ = variant.partition("+bf16")
    step = training_step(
        **sizes,
        runner=runner,
        cell_options=c.get("cell_options", {}),
        precision="mixed_bfloat16" if bf16 else "float32",
    )
    reply = {"flops_per_token": flops_per_token(step.model)}
    return step, dict(reply, runner=runner_name(step.model.runner))


def build_and_warm(steps: dict, framework: str, req: dict) -> dict:
    """Build the step ``req`` asks for into ``steps`` and run its warm-up steps; where the
    framework cannot run it here (torch's oneDNN LSTM has no bfloat16 primitive on a CPU without
    bfloat16), ``{"error": the reason}``, and the row goes on without it."""
    try:
        steps[req["key"]], reply = build_step(framework, req["config"], req["variant"])
        start = time.perf_counter()
        for _ in range(req["warmup"]):
            steps[req["key"]]()
    except Exception as exc:  # noqa: BLE001 (reported in the table, not raised)
        steps.pop(req["key"], None)
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"}
    reply["warmup_s"] = time.perf_counter() - start
    return reply


def worker(framework: str) -> None:
    """Serve the driver's requests on stdin/stdout, one JSON object a line."""
    steps = {}
    out = sys.stdout
    sys.stdout = sys.stderr  # library chatter must not reach the driver
    for line in sys.stdin:
        req = json.loads(line)
        cmd, reply = req["cmd"], {}
        if cmd == "build":
            reply = build_and_warm(steps, framework, req)
        elif cmd == "time":
            step, times = steps[req["key"]], []
            for _ in range(req.get("settle", 0)):  # the turn's untimed steps
                step()
            for _ in range(req["steps"]):
                start = time.perf_counter()
                step()
                times.append(time.perf_counter() - start)
            reply = {"times": times}
        elif cmd == "drop":
            steps.clear()
        elif cmd == "sgemm":
            from seqkit.benchmarking import bfloat16_support, sgemm_rate

            reply = {"flops": sgemm_rate(), "bfloat16": bfloat16_support()}
        elif cmd == "sample":
            length, repeats = req["length"], req["repeats"]
            if framework == "seqkit":
                reply = {"xla": seqkit_sampling(length, repeats, True)}
                reply["graph"] = seqkit_sampling(length, repeats, False)
            elif framework == "keras":
                reply = {"eager": keras_sampling(length, repeats)}
            else:
                reply = {"eager": torch_sampling(length, repeats)}
        elif cmd == "tbptt":
            reply = seqkit_tbptt(req["k1"], req["k2"], req["windows"], req["rounds"])
        elif cmd == "info":
            import importlib

            module = importlib.import_module({"seqkit": "tensorflow"}.get(framework, framework))
            reply = {"version": module.__version__}
        elif cmd == "model_info":
            reply = model_info(req["config"])
        elif cmd == "cells":
            import seqkit

            reply = {"cells": seqkit.available("cell")}
        out.write(json.dumps(reply) + "\n")
        out.flush()


# -- the driver --------------------------------------------------------------------------------


class Worker:
    def __init__(self, framework):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", framework],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def ask(self, **req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker died on {req}")
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def plan(quick: bool):
    runs = []
    for cell in ("lstm", "gru", "vanilla"):
        runs.append(dict(name="A", cell=cell, layers=1, **CONFIGS["A"]))
    if not quick:
        for cell in ("lstm", "gru", "vanilla"):
            runs.append(dict(name="A", cell=cell, layers=2, **CONFIGS["A"]))
        for cell in ("lstm", "gru", "vanilla"):
            runs.append(dict(name="B", cell=cell, layers=1, **CONFIGS["B"]))
        for cell, options in MIN_CELLS:
            runs.append(dict(name="A", cell=cell, layers=1, cell_options=options, **CONFIGS["A"]))
    return runs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--quick", action="store_true", help="config A, one layer, no sampling")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--steps", type=int, default=3, help="timed steps a variant a round")
    p.add_argument(
        "--settle",
        type=int,
        default=2,
        help="untimed steps a variant a round, before its timed ones",
    )
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument(
        "--skip", default="", help="comma-separated variants to leave out, e.g. keras:plain"
    )
    p.add_argument("--no-bf16", action="store_true", help="leave out the bfloat16 rows")
    p.add_argument("--json", default=os.path.join(os.path.dirname(__file__), "results.json"))
    a = p.parse_args(argv)
    if a.worker:
        return worker(a.worker)

    import torch  # noqa: F401  (fails early where PyTorch is missing)

    skip = set(filter(None, a.skip.split(",")))
    variants = [v for v in VARIANTS if f"{v[0]}:{v[1]}" not in skip]
    workers = {name: Worker(name) for name in {w for w, _ in variants} | {"seqkit", "torch"}}
    result = {
        "date": datetime.datetime.now().isoformat(timespec="minutes"),
        "command": "python benchmarks/compare.py " + " ".join(sys.argv[1:]),
        "turns": {"rounds": a.rounds, "settle": a.settle, "steps": a.steps},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or ''}",
        "versions": {name: w.ask(cmd="info")["version"] for name, w in workers.items()},
    }
    machine = workers["seqkit"].ask(cmd="sgemm")
    rate, result["bfloat16"] = machine["flops"], machine["bfloat16"]
    result["sgemm_gflops"] = round(rate / 1e9, 1)
    result["training"] = training_rows(workers, variants, plan(a.quick), rate, a)
    if not a.no_bf16:
        print(f"\nbfloat16 rows (bfloat16: {result['bfloat16']})")
        result["bfloat16_training"] = training_rows(workers, BF16_VARIANTS, plan(True), rate, a)
    plugin_sections(workers["seqkit"], result, a)
    if not a.quick:
        sampling_and_tbptt(workers, result)
    for w in workers.values():
        w.close()
    with open(a.json, "w") as f:
        json.dump(result, f, indent=1)
    print(f"\n{result['date']}, sgemm {result['sgemm_gflops']} GFLOP/s, wrote {a.json}")


def training_rows(workers, variants, runs, rate, a) -> list[dict]:
    """The training table: every variant on every configuration of ``runs``, interleaved."""
    rows = []
    for run in runs:
        config = {k: run[k] for k in ("cell", "batch", "seq", "embed", "hidden", "vocab", "layers")}
        keys, fpt = {}, None
        for framework, variant in variants:
            key = f"{framework}:{variant}"
            built = workers[framework].ask(
                cmd="build", key=key, variant=variant, config=config, warmup=a.warmup
            )
            if "error" in built:
                print(f"{key} cannot run {run['cell']} here: {built['error']}")
                run = dict(run, errors={**run.get("errors", {}), key: built["error"]})
                continue
            keys[key] = framework
            fpt = built.get("flops_per_token", fpt)  # the seqkit model's own count
        times = {key: [] for key in keys}
        for _ in range(a.rounds):
            for key, framework in keys.items():
                reply = workers[framework].ask(cmd="time", key=key, steps=a.steps, settle=a.settle)
                times[key] += reply["times"]
        for w in workers.values():
            w.ask(cmd="drop")
        row = dict(run, ceiling=round(rate / fpt), tokens_per_s={})
        for key, t in times.items():
            row["tokens_per_s"][key] = round(run["batch"] * run["seq"] / statistics.median(t))
        rows.append(row)
        print_row(row, [f"{w}:{v}" for w, v in variants], first=len(rows) == 1)
    return rows


def sampling_and_tbptt(workers, result) -> None:
    """Sampling characters/s at batch 1 for each framework, and seqkit's TBPTT cost a token."""
    result["sampling_chars_per_s"] = {
        "seqkit:xla": None, "seqkit:graph": None, "keras:eager": None, "torch:eager": None,
    }  # fmt: skip
    got = workers["seqkit"].ask(cmd="sample", length=2000, repeats=5)
    result["sampling_chars_per_s"].update({f"seqkit:{k}": round(v) for k, v in got.items()})
    if "keras" in workers:
        got = workers["keras"].ask(cmd="sample", length=200, repeats=1)
        result["sampling_chars_per_s"]["keras:eager"] = round(got["eager"])
    got = workers["torch"].ask(cmd="sample", length=2000, repeats=3)
    result["sampling_chars_per_s"]["torch:eager"] = round(got["eager"])
    print("\nsampling, batch 1, LSTM 1x256, chars/s:", result["sampling_chars_per_s"])
    tb = workers["seqkit"].ask(cmd="tbptt", k1=16, k2=64, windows=8, rounds=3)
    ratio = tb["64"] / tb["16"]
    result["tbptt"] = {
        "k1": 16, "k2": 64, "us_per_token_k2_eq_k1": round(tb["16"] * 1e6, 2),
        "us_per_token": round(tb["64"] * 1e6, 2), "ratio": round(ratio, 2),
        "bound": 1.1 * 64 / 16,
    }  # fmt: skip
    print(f"TBPTT(16, 64) / TBPTT(16, 16) per token: {ratio:.2f} (bound 1.1 x 4 = 4.4)")


def plugin_sections(worker, result, a):
    """The example plugin's rows (``plugin_rows``): JANET against the built-ins of nearest FLOPs
    (config A; B too in a full run), and auto against every runner (config A; the python
    runner only in a full run). Left out, with a line, where the example is not installed."""
    if not {DECLARING, NON_DECLARING} <= set(worker.ask(cmd="cells")["cells"]):
        print("\nplugin rows left out: pip install ./examples/seqkit-plugin-example")
        return
    configs = {"A": CONFIGS["A"]} if a.quick else CONFIGS
    result["plugin"] = plugin_rows(worker, configs, a)
    result["auto"] = auto_rows(worker, CONFIGS["A"], a, with_python=not a.quick)


def print_row(row, keys, first):
    if first:
        head = f"{'config':<22}" + "".join(f"{k:>18}" for k in keys) + f"{'ceiling':>10}"
        print(head + "   seqkit:auto/torch  /ceiling")
    torch_rate = row["tokens_per_s"].get("torch:native")
    name = f"{row['name']} {row['cell']} x{row['layers']}"
    cells = ""
    for k in keys:
        v = row["tokens_per_s"].get(k)
        if v is None:  # the variant could not run here (row["errors"] says why)
            cells += f"{'n/a':>18}"
            continue
        ratio = f"({v / torch_rate:.2f})" if torch_rate else ""
        cells += f"{v:>11,}{ratio:>7}"
    auto = row["tokens_per_s"].get("seqkit:auto")
    tail = f"{row['ceiling']:>10,}"
    if auto and torch_rate:
        tail += f"   {auto / torch_rate:>16.2f}  {auto / row['ceiling']:>7.0%}"
    bf16, autocast = (
        row["tokens_per_s"].get("seqkit:auto+bf16"),
        row["tokens_per_s"].get("torch:autocast"),
    )
    if bf16 and auto and autocast:
        tail += f"   bf16/f32 {bf16 / auto:.2f}, bf16/torch-autocast {bf16 / autocast:.2f}"
    print(f"{name:<22}{cells}{tail}", flush=True)


if __name__ == "__main__":
    main()
