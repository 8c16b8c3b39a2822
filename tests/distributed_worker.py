"""One data-parallel training run for tests/test_distribute.py, in a process of its own: the
logical CPU devices and TF_CONFIG must be set before TensorFlow starts its runtime.

    python tests/distributed_worker.py mirrored OUT.npz            # 2 logical CPU devices
    python tests/distributed_worker.py multi-worker OUT.npz CKPT   # TF_CONFIG set by the caller
    python tests/distributed_worker.py resume OUT.npz CKPT         # mirrored: save, restore, go on
    python tests/distributed_worker.py nonfinite OUT.npz           # mirrored: a NaN update skipped

Each writes the model's ``state_dict()`` and the logged losses to OUT.npz. The test trains the
same model on one device in its own process and compares.
"""

from __future__ import annotations

import os
import sys

import numpy as np

STEPS = 5  # updates: enough for Adam's moments and the carried states to matter
SPLIT = 2  # of the STEPS, made before the checkpoint in "resume"


def streams():
    """4 streams of 24 ids over 8 symbols, ids shifted by one as targets, and a mask that
    leaves out different numbers of steps in each half of the streams: replicas count
    different numbers of steps, so that their losses must be weighed by those counts."""
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 8, size=(4, 25)).astype(np.int32)
    mask = np.ones((4, 24), bool)
    mask[0, 14:] = False
    mask[1, 21:] = False
    mask[3, 5:8] = False
    return ids[:, :-1], ids[:, 1:], mask


def make_trainer(distribute, seed: int = 0, nonfinite: str = "stop"):
    """A small LSTM on embeddings: TBPTT(4, 6), Adam, clipping that bites."""
    import seqkit

    def model():
        return seqkit.SequenceModel(
            "lstm",
            hidden_size=8,
            output_size=8,
            encoder="embedding",
            embedding_size=4,
            vocab_size=8,
            runner="graph",
        )

    return seqkit.Trainer(
        model,
        truncation=seqkit.make_truncation("tbptt", k1=4, k2=6),
        lr=0.05,
        clip_norm=0.5,
        seed=seed,
        distribute=distribute,
        nonfinite=nonfinite,
    )


def train(trainer, steps: int) -> list[float]:
    return [logs["loss"] for logs in trainer.fit(streams(), steps=steps)]


def main(mode: str, out: str, checkpoint_dir: str | None = None) -> None:
    import tensorflow as tf

    from seqkit.training import distribute

    if mode == "multi-worker":
        strategy = distribute.make_strategy("multi-worker")
    else:
        strategy = distribute.make_strategy("mirrored", cpu_devices=2)
    if strategy.num_replicas_in_sync != 2:
        raise SystemExit(f"expected 2 replicas, got {strategy.num_replicas_in_sync}")
    if mode == "nonfinite":
        return skip_a_nonfinite_update(strategy, out)
    trainer = make_trainer(strategy)
    if mode == "resume":
        losses = train(trainer, SPLIT)
        path = trainer.checkpoint().save(os.path.join(checkpoint_dir, "ckpt"))
        trainer = make_trainer(strategy, seed=99)  # new objects, other initial weights
        trainer.checkpoint().restore(path).assert_consumed()
        losses += train(trainer, STEPS - SPLIT)
    else:
        losses = train(trainer, STEPS)
    if mode == "multi-worker":  # every worker saves; only the chief's copy is kept
        where = distribute.write_dir(checkpoint_dir, strategy)
        tf.train.CheckpointManager(trainer.checkpoint(), str(where), 1).save()
        if not distribute.is_chief(strategy):
            tf.io.gfile.rmtree(str(where))
        print(f"{distribute.task_name(strategy)} wrote to {where}", flush=True)
    np.savez(out, losses=np.array(losses), step=trainer.step, **trainer.model.state_dict())


def skip_a_nonfinite_update(strategy, out: str) -> None:
    """An update whose loss is NaN (the head's bias poisoned with one NaN), then a fine one on
    a clean model: OUT.npz holds the weights before and after the first, its logs, and the
    optimizer's iterations after both."""
    import numpy as np

    trainer = make_trainer(strategy, nonfinite="skip")
    bias = trainer.model.named_parameters()["head.bias"]
    clean = bias.numpy()
    bias.assign(np.where(np.arange(clean.size) == 0, np.nan, clean).astype(clean.dtype))
    before = trainer.model.state_dict()
    (logs,) = trainer.fit(streams(), steps=1)
    after = trainer.model.state_dict()
    skipped_iterations = int(trainer.optimizer.iterations.numpy())
    bias.assign(clean)
    (fine,) = trainer.fit(streams(), steps=1)
    np.savez(
        out, skipped=bool(logs.get("skipped")), loss=logs["loss"], fine_loss=fine["loss"],
        skipped_iterations=skipped_iterations,
        iterations=int(trainer.optimizer.iterations.numpy()),
        **{f"before/{k}": v for k, v in before.items()},
        **{f"after/{k}": v for k, v in after.items()},
    )  # fmt: skip


if __name__ == "__main__":
    main(*sys.argv[1:])
