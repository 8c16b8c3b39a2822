"""A data-parallel run of an encoder-decoder for tests/test_seq2seq_training.py, in a process of
its own (the logical CPU devices must be split before TensorFlow starts):

    python tests/seq2seq_distributed_worker.py OUT.npz      # MirroredStrategy, 2 CPU devices

It writes the model's ``state_dict()`` and the logged losses to OUT.npz; the test makes the
same updates on one device and compares.
"""

from __future__ import annotations

import sys

import numpy as np

STEPS = 4


def pairs():
    """4 pairs: sources [4, 6] and targets [4, 5] with masks of different lengths on both sides,
    so that each replica's 2 rows count different numbers of steps."""
    import seqkit

    rng = np.random.default_rng(0)
    source = rng.integers(1, 9, size=(4, 6)).astype(np.int32)
    source_mask = np.arange(6)[None] < np.array([[6], [2], [4], [5]])
    inputs = rng.integers(1, 7, size=(4, 5)).astype(np.int32)
    targets = rng.integers(1, 7, size=(4, 5)).astype(np.int32)
    mask = np.arange(5)[None] < np.array([[5], [1], [3], [4]])
    context = {"source": source, "source_mask": source_mask}
    return seqkit.SequenceBatch(inputs, targets, mask, context)


def make_trainer(distribute, seed: int = 0):
    import seqkit

    def model():
        return seqkit.Seq2SeqModel(
            "vanilla", hidden_size=6, vocab_size=7, source_vocab_size=9, embedding_size=4,
            attention=True, runner="graph",
        )  # fmt: skip

    return seqkit.Trainer(model, lr=0.05, clip_norm=0.5, seed=seed, distribute=distribute)


def train(trainer) -> list[float]:
    return [logs["loss"] for logs in trainer.fit(pairs(), steps=STEPS)]


def main(out: str) -> None:
    from seqkit.training import distribute

    strategy = distribute.make_strategy("mirrored", cpu_devices=2)
    if strategy.num_replicas_in_sync != 2:
        raise SystemExit(f"expected 2 replicas, got {strategy.num_replicas_in_sync}")
    trainer = make_trainer(strategy)
    losses = train(trainer)
    np.savez(out, losses=np.array(losses), **trainer.model.state_dict())


if __name__ == "__main__":
    main(*sys.argv[1:])
