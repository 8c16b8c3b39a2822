"""A corpus of any size: preparation's throughput and peak memory, and training's peak memory
and speed on it against a 5 MB corpus of the same kind.

    python benchmarks/big_corpus.py --size-mb 1000 --dir /tmp/seqkit-big      # minutes
    python benchmarks/big_corpus.py --size-mb 5000 --dir /data/seqkit-big     # the issue's 5 GB

Generates (once; not committed) BIG.txt of ``--size-mb`` MB and SMALL.txt of 5 MB: lines of
8-16 words drawn from a Zipf-like distribution over 2,000 made-up words (about 30 distinct
characters), 64 distinct 1 MB blocks in a seeded order. Then, each in a process of its own
(its peak RSS is the process' ru_maxrss, read with os.wait4):

1. ``seqkit prepare BIG.txt --tokens T --out ...``: MB/s of source text, peak RSS;
2. ``seqkit run --set task.corpus=X.tokens`` for SMALL and BIG, ``--steps`` updates of the
   default model (LSTM 256, 32 streams, k1 64): peak RSS, the median tokens/s of metrics.csv.

Prints one JSON object. The machine, the date and the command belong beside any figure.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BLOCK = 1 << 20


def _blocks(count: int = 64) -> list[bytes]:
    rng = np.random.default_rng(0)
    letters = np.array(list("etaoinshrdlucmfwypvbgkjqxz"))
    words = np.array(["".join(rng.choice(letters, size=rng.integers(2, 9))) for _ in range(2000)])
    weights = 1.0 / np.arange(1, len(words) + 1)
    blocks = []
    for _ in range(count):
        drawn = words[rng.choice(len(words), size=BLOCK // 4, p=weights / weights.sum())]
        ends = np.cumsum(rng.integers(8, 17, size=len(drawn) // 8))
        lines = [" ".join(drawn[a:b]) + " ." for a, b in zip(ends[:-1], ends[1:], strict=True)]
        blocks.append(("\n".join(lines) + "\n").encode("ascii")[:BLOCK])
        assert len(blocks[-1]) == BLOCK
    return blocks


def generate(path: Path, size_mb: int) -> Path:
    """``path`` holding ``size_mb`` MB of generated text (kept if it is already that size)."""
    if path.exists() and path.stat().st_size == size_mb * BLOCK:
        return path
    blocks, order = _blocks(), np.random.default_rng(1).integers(0, 64, size=size_mb)
    with open(path, "wb") as file:
        for index in order:
            file.write(blocks[index])
    return path


def measured(command: list[str], env: dict) -> tuple[float, float, str]:
    """Run ``command``: (seconds, its peak RSS in MB, its standard output)."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed ({status}):\n{output}")
    return seconds, usage.ru_maxrss / 1024.0, output


def prepare(seqkit: str, source: Path, tokens: str, env: dict) -> dict:
    out = source.with_suffix(f".{tokens}.tokens")
    seconds, rss, _ = measured([seqkit, "prepare", str(source), "--tokens", tokens,
                                "--out", str(out)], env)  # fmt: skip
    megabytes = source.stat().st_size / 1e6
    return {"tokens_file": str(out), "source_mb": round(megabytes, 1),
            "seconds": round(seconds, 1), "mb_per_s": round(megabytes / seconds, 1),
            "peak_rss_mb": round(rss)}  # fmt: skip


def train(seqkit: str, tokens_file: str, tokens: str, steps: int, out: Path, env: dict) -> dict:
    sets = {"task.corpus": tokens_file, "task.tokens": tokens, "task.val_tokens": 20000,
            "train.steps": steps, "train.eval_every": steps, "train.checkpoint_every": steps,
            "train.log_every": 20, "sample.length": 20}  # fmt: skip
    command = [seqkit, "run", "--out", str(out)]
    for key, value in sets.items():
        command += ["--set", f"{key}={value}"]
    seconds, rss, _ = measured(command, env)
    with open(out / "metrics.csv", encoding="utf-8") as file:
        speeds = [float(r["tokens_per_s"]) for r in csv.DictReader(file) if r.get("tokens_per_s")]
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(rss),
            "median_tokens_per_s": round(float(np.median(speeds[1:] or speeds)))}  # fmt: skip


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1000)
    parser.add_argument("--dir", default="/tmp/seqkit-big", help="for the corpora (kept)")
    parser.add_argument("--tokens", default="char", choices=["char", "byte", "word"])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args(argv)
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", SEQKIT_CACHE_DIR=str(folder / "cache"))
    seqkit = str(Path(sys.executable).with_name("seqkit"))
    result = {"machine": platform.processor() or platform.machine(), "argv": sys.argv[1:],
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}  # fmt: skip
    for name, size in (("small", 5), ("big", args.size_mb)):
        source = generate(folder / f"{name}-{size}mb.txt", size)
        result[f"prepare_{name}"] = prepare(seqkit, source, args.tokens, env)
        runs = folder / "runs" / f"{name}-{int(time.time())}"
        tokens_file = result[f"prepare_{name}"]["tokens_file"]
        result[f"train_{name}"] = train(seqkit, tokens_file, args.tokens, args.steps, runs, env)
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
