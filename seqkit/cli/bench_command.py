"""``seqkit bench``: training tokens/s of seqkit's runners on your own configuration.

    seqkit bench --cell lstm --batch-size 32 --seq-len 64 --hidden-size 256
    seqkit bench --cell gru --runner fused --runner xla --json

One training step is forward, backward and an Adam update of a character model: embedding
(vocab -> embed), ``layers`` recurrent layers, a dense head back to vocab, over batch x seq
tokens. Warm-up steps (and XLA's compile) are excluded; each figure is the median of the timed
steps, the runners' steps interleaved so that a noisy machine slows them alike. The ceiling is
the measured sgemm rate over the step's FLOPs a token. ``benchmarks/compare.py`` puts the same
figures beside Keras and PyTorch.
"""

from __future__ import annotations

import json
import statistics
import time

import click


def flops_per_token(cell: str, hidden: int, embed: int, vocab: int, layers: int = 1) -> float:
    """Matmul FLOPs of one training step a token: forward, and backward twice its cost."""
    gates = {"vanilla": 1, "gru": 3, "lstm": 4}[cell]
    total = 0.0
    for layer in range(layers):
        width = embed if layer == 0 else hidden
        total += 2.0 * gates * hidden * (hidden + width)  # input and recurrent matmuls
    total += 2.0 * hidden * vocab  # head
    return 3.0 * total


def sgemm_rate(size: int = 2048, repeats: int = 5) -> float:
    """TensorFlow's measured float32 matmul rate, FLOP/s (median of ``repeats``)."""
    import tensorflow as tf

    a = tf.random.normal([size, size])
    matmul = tf.function(lambda a: tf.reduce_sum(tf.matmul(a, a)))
    matmul(a).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a).numpy()
        times.append(time.perf_counter() - start)
    return 2.0 * size**3 / statistics.median(times)


def training_step(cell, batch, seq, hidden, embed, vocab, layers, runner):
    """A function that runs one training update of seqkit with ``runner``."""
    import numpy as np

    import seqkit

    seqkit.set_seed(0)
    model = seqkit.SequenceModel(
        cell,
        hidden_size=hidden,
        output_size=vocab,
        num_layers=layers,
        encoder="embedding",
        vocab_size=vocab,
        embedding_size=embed,
        runner=runner,
    )
    trainer = seqkit.Trainer(model, truncation="bptt", lr=1e-3)
    ids = np.random.default_rng(0).integers(0, vocab, size=(batch, seq + 1)).astype(np.int32)
    data = seqkit.SequenceBatch(ids[:, :-1], ids[:, 1:])
    return lambda: trainer.fit(data, steps=1)


def interleaved_medians(steps: dict, warmup: int, repeats: int) -> dict[str, float]:
    """Median seconds a call of each function, calls interleaved round by round."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


@click.command("bench")
@click.option("--cell", type=click.Choice(["lstm", "gru", "vanilla"]), default="lstm")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--seq-len", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--hidden-size", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--embedding-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--vocab-size", type=click.IntRange(min=2), default=65, show_default=True)
@click.option("--num-layers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--runner", "runners", multiple=True, help="runners to time (repeatable) [default: auto, xla]"
)
@click.option("--warmup", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object instead of a table")
def bench(
    cell, batch_size, seq_len, hidden_size, embedding_size, vocab_size, num_layers, runners,
    warmup, repeats, as_json,
) -> None:  # fmt: skip
    """Time seqkit's training step (tokens/s) on one configuration, against the FLOP ceiling."""
    runners = runners or ("auto", "xla")
    steps = {
        name: training_step(
            cell, batch_size, seq_len, hidden_size, embedding_size, vocab_size, num_layers, name
        )
        for name in runners
    }
    medians = interleaved_medians(steps, warmup, repeats)
    rate = sgemm_rate()
    ceiling = rate / flops_per_token(cell, hidden_size, embedding_size, vocab_size, num_layers)
    tokens = batch_size * seq_len
    result = {
        "cell": cell,
        "batch_size": batch_size,
        "seq_len": seq_len,
        "hidden_size": hidden_size,
        "embedding_size": embedding_size,
        "vocab_size": vocab_size,
        "num_layers": num_layers,
        "sgemm_gflops": round(rate / 1e9, 1),
        "ceiling_tokens_per_s": round(ceiling),
        "runners": {
            name: {"ms_per_step": round(1e3 * m, 2), "tokens_per_s": round(tokens / m)}
            for name, m in medians.items()
        },
    }
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(
        f"{cell}, batch {batch_size}, seq {seq_len}, hidden {hidden_size}, layers {num_layers}: "
        f"sgemm {result['sgemm_gflops']} GFLOP/s, ceiling {round(ceiling):,} tokens/s"
    )
    for name, figures in result["runners"].items():
        share = figures["tokens_per_s"] / ceiling
        click.echo(
            f"  runner {name:<8} {figures['tokens_per_s']:>9,} tokens/s "
            f"{figures['ms_per_step']:>9.2f} ms/step  {share:5.0%} of ceiling"
        )
