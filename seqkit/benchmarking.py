"""Training speed of seqkit, measured the same way by ``seqkit bench`` and
``benchmarks/compare.py``: one training step, its matmul FLOPs a token, the sgemm ceiling.

    step = training_step("lstm", batch=32, seq=64, hidden=256, embed=64, vocab=65)
    medians = interleaved_medians({"lstm": step}, warmup=3, repeats=10)   # seconds a step
    ceiling = sgemm_rate() / flops_per_token(step.model)                  # tokens/s
    bfloat16_support()    # "native (AMX)", or "emulated, no native support on this CPU"

A training step is forward, backward and an Adam update of a character model: embedding (vocab
-> embed), ``layers`` recurrent layers of any registered cell, a dense head back to vocab, over
batch x seq tokens. ``precision="mixed_bfloat16"`` trains it in bfloat16 with float32 variables
(``seqkit.training.precision``), which is fast only where the CPU has bfloat16 instructions.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from seqkit.interfaces import Runner, SequenceBatch
from seqkit.models.sequence import SequenceModel
from seqkit.plugins.registry import Registry, default_registry
from seqkit.training.trainer import Trainer, set_seed


def flops_per_token(model: SequenceModel) -> float:
    """Matmul FLOPs of one training step a token, from the model's own weight matrices.

    Each rank-2 parameter ``[O, I]`` (a cell's ``weight_ih`` and ``weight_hh``, the head) is one
    multiply-add per entry a token, 2 O I FLOPs forward; backward costs twice the forward. The
    embedding is a gather and counts nothing.
    """
    matrices = [
        v for name, v in model.named_parameters().items()
        if v.shape.rank == 2 and name != "embedding.weight"
    ]  # fmt: skip
    return 3.0 * sum(2.0 * v.shape[0] * v.shape[1] for v in matrices)


def sgemm_rate(size: int = 2048, repeats: int = 5) -> float:
    """TensorFlow's measured float32 matmul rate, FLOP/s (median of ``repeats``)."""
    a = tf.random.normal([size, size])
    matmul = tf.function(lambda a: tf.reduce_sum(tf.matmul(a, a)))
    matmul(a).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a).numpy()
        times.append(time.perf_counter() - start)
    return 2.0 * size**3 / statistics.median(times)


@dataclass
class TrainingStep:
    """One training update of ``model`` on fixed data, as a call: ``step()``."""

    model: SequenceModel
    trainer: Trainer
    data: SequenceBatch
    tokens: int  # batch x seq: the tokens one call trains on

    def __call__(self) -> None:
        self.trainer.fit(self.data, steps=1)


def training_step(
    cell: str,
    batch: int,
    seq: int,
    hidden: int,
    embed: int,
    vocab: int,
    layers: int = 1,
    runner: str | Runner = "auto",
    cell_options: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
    precision: str = "float32",
) -> TrainingStep:
    """A training step of a character model with the registered cell ``cell`` (and its
    ``cell_options``), unrolled by ``runner`` (a name, ``"auto"``, or a Runner), in
    ``precision`` (``"float32"`` or ``"mixed_bfloat16"``)."""
    set_seed(0)
    model = SequenceModel(
        cell,
        hidden_size=hidden,
        output_size=vocab,
        num_layers=layers,
        encoder="embedding",
        vocab_size=vocab,
        embedding_size=embed,
        runner=runner,
        cell_options=cell_options,
        registry=registry,
        precision=precision,
    )
    trainer = Trainer(model, truncation="bptt", lr=1e-3, registry=registry)
    ids = np.random.default_rng(0).integers(0, vocab, size=(batch, seq + 1)).astype(np.int32)
    return TrainingStep(model, trainer, SequenceBatch(ids[:, :-1], ids[:, 1:]), batch * seq)


# /proc/cpuinfo flags of bfloat16 instructions, best first: AMX tiles, then AVX-512 dot products.
BFLOAT16_FLAGS = {"amx_bf16": "AMX", "avx512_bf16": "AVX512_BF16"}


def bfloat16_support(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """Whether this CPU computes bfloat16 natively: ``"native (AMX)"``, ``"native
    (AVX512_BF16)"``, ``"emulated, no native support on this CPU"``, or, where ``cpuinfo``
    cannot be read (not Linux), ``"unknown (no /proc/cpuinfo)"``."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return "unknown (no /proc/cpuinfo)"
    flags = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            flags.update(value.split())
    for flag, name in BFLOAT16_FLAGS.items():
        if flag in flags:
            return f"native ({name})"
    return "emulated, no native support on this CPU"


def runner_name(runner: Runner, registry: Registry | None = None) -> str:
    """The registered name of ``runner``'s kind (what ``"auto"`` resolved to), else its class."""
    registry = registry or default_registry()
    for name in registry.names("runner"):
        if registry.get("runner", name).factory is type(runner):
            return name
    return type(runner).__name__


def interleaved_medians(
    steps: Mapping[str, Callable[[], Any]], warmup: int, repeats: int
) -> dict[str, float]:
    """Median seconds a call of each function, calls interleaved round by round."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}
