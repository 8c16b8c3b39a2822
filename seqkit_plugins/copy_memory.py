"""The ``copy`` task: the copy-memory problem (Hochreiter & Schmidhuber, 1997; Arjovsky et al.,
2016).

    task = seqkit.make_task("copy", symbols=10, length=100, seed=0)
    batch = task.train_batches(batch_size=32, seed=0)[0]   # inputs, targets [32, 121] int32
    task.baselines()        # {"loss": 10 log 8 / 121, "accuracy": 1/8}: the memoryless baseline

A sequence of ``T = 2 * symbols + length + 1`` ids from a vocabulary of 10:

    inputs   s_1 .. s_S   0 x length   9   0 x S        S = symbols, s_i drawn from 1..8
    targets  0 x (S + length + 1)          s_1 .. s_S

The model sees ``symbols`` symbols, a blank gap (id 0) of ``length`` steps, then the cue (id 9);
over the ``symbols`` steps after the cue it must output the remembered symbols, and blank
everywhere else. Arjovsky et al.'s delay T is ``length + 1`` here (their T - 1 blanks and the
cue). The loss is the cross-entropy of every step.

A memoryless model outputs blank until the cue and then guesses among the 8 categories: its
cross-entropy is ``symbols * log(8) / T`` and its accuracy on the recall steps 1/8.
"""

from __future__ import annotations

import math

import numpy as np

import seqkit
from seqkit_plugins.task_data import GeneratedSplits, accuracy, check_int, generator

NAME = "copy"
BLANK, CUE = 0, 9
CATEGORIES = 8  # the symbols to remember are ids 1..8
VOCAB_SIZE = 10  # blank, 8 categories, cue


def copy_memory(
    rng: np.random.Generator, count: int, symbols: int, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` sequences: inputs and targets ``[count, 2 * symbols + length + 1]`` int32."""
    total = 2 * symbols + length + 1
    remembered = rng.integers(1, CATEGORIES + 1, size=(count, symbols), dtype=np.int32)
    inputs = np.full((count, total), BLANK, dtype=np.int32)
    inputs[:, :symbols] = remembered
    inputs[:, symbols + length] = CUE
    targets = np.full((count, total), BLANK, dtype=np.int32)
    targets[:, total - symbols :] = remembered  # recall over the last S steps
    return inputs, targets


class CopyTask(GeneratedSplits, seqkit.Task):
    """Remember ``symbols`` symbols over a gap of ``length`` blanks and repeat them after a cue."""

    owner = NAME
    target_form = "step"
    default_loss = "cross-entropy"
    default_truncation = "bptt"  # the recall depends on the first steps: no truncation
    recommended = {"train.steps": 400, "train.eval_every": 100, "train.checkpoint_every": 100}

    def __init__(
        self,
        symbols: int = 10,  # Arjovsky et al.'s 10 symbols
        length: int = 100,  # the gap; Arjovsky et al. use T from 100 to 2,000
        train_size: int = 10_000,
        val_size: int = 1_000,
        seed: int = 0,
    ):
        self.symbols = check_int(NAME, "symbols", symbols, 1)
        self.length = check_int(NAME, "length", length, 0)
        train_size = check_int(NAME, "train_size", train_size, 1)
        val_size = check_int(NAME, "val_size", val_size, 1)
        self.seed = check_int(NAME, "seed", seed, 0)
        self.total_length = 2 * self.symbols + self.length + 1
        self.train = copy_memory(generator(self.seed, 0), train_size, self.symbols, self.length)
        self.val = copy_memory(generator(self.seed, 1), val_size, self.symbols, self.length)

    def model_dims(self) -> dict[str, int]:
        return {"vocab_size": VOCAB_SIZE, "output_size": VOCAB_SIZE}

    def metrics(self, mean_loss: float) -> dict[str, float]:
        """The loss: the cross-entropy in nats per step, all steps counted."""
        return {"loss": float(mean_loss)}

    def counts(self, targets, outputs, mask=None) -> dict[str, tuple[float, float]]:
        """Accuracy on the recall steps only: those whose target is a symbol, not blank.

        ``targets`` ``[B, T]``, ``outputs`` logits ``[B, T, 10]``; any window of the sequence
        works, since a recall step is known by its target.
        """
        targets = np.asarray(targets)
        recall = targets != BLANK
        if mask is not None:
            recall &= np.asarray(mask, dtype=bool)
        return {"accuracy": accuracy(np.argmax(outputs, axis=-1), targets, recall)}

    def baselines(self) -> dict[str, float]:
        """The memoryless baseline: blank until the cue, then a uniform guess over the 8
        categories, at the validation sequences' length."""
        loss = self.symbols * math.log(CATEGORIES) / self.total_length
        return {"loss": loss, "accuracy": 1.0 / CATEGORIES}


@seqkit.hookimpl
def seqkit_register_tasks(register):
    register(NAME, CopyTask)
