"""The ``adding`` task: the adding problem (Hochreiter & Schmidhuber, 1997).

    task = seqkit.make_task("adding", length=100, seed=0)
    batch = task.train_batches(batch_size=32, seed=0)[0]   # inputs [32, 100, 2], targets [32, 1]
    task.baselines()                                        # {"mse": ~0.167}: always predict 1

Each sequence has two channels. Channel 0 holds values drawn uniformly from [0, 1); channel 1
marks exactly two steps with a 1, one in the first half (steps ``[0, length // 2)``) and one
in the second half (steps ``[length // 2, length)``), as in Le et al. (2015) and Arjovsky et
al. (2016). The target, read at the last step, is the sum of the two marked values. A model that
ignores its inputs does best by predicting the mean sum, 1, with a mean squared error of 1/6.

The data set is fixed by ``seed``: ``train_size`` training and ``val_size`` validation
sequences, drawn from independent streams of that seed.
"""

from __future__ import annotations

import numpy as np

import seqkit
from seqkit_plugins.task_data import GeneratedSplits, check_int, generator

NAME = "adding"


def adding_problem(
    rng: np.random.Generator, count: int, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` sequences: inputs ``[N, length, 2]`` float32 and targets ``[N, 1]`` float32."""
    rows = np.arange(count)
    values = rng.random((count, length), dtype=np.float32)  # [N, T] in [0, 1)
    half = length // 2
    first = rng.integers(0, half, size=count)  # one marker in [0, T/2)
    second = rng.integers(half, length, size=count)  # one in [T/2, T)
    markers = np.zeros((count, length), dtype=np.float32)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    inputs = np.stack([values, markers], axis=-1)  # [N, T, 2]
    targets = (values[rows, first] + values[rows, second])[:, None]  # [N, 1]
    return inputs, targets


class AddingTask(GeneratedSplits, seqkit.Task):
    """Sum the two marked values of a sequence; the loss is on the last step."""

    owner = NAME
    target_form = "sequence"
    default_loss = "mse"
    default_truncation = "bptt"  # whole sequences: the answer depends on the first half
    # A small LSTM learns the default length in a couple of minutes on two cores.
    recommended = {
        "model.hidden_size": 64,
        "train.batch_size": 64,
        "train.clip_norm": 1.0,
        "train.steps": 1500,
        "train.eval_every": 250,
        "train.checkpoint_every": 250,
    }

    def __init__(
        self,
        length: int = 100,  # T = 100: the shortest of Le et al.'s settings (100 to 1,000)
        train_size: int = 10_000,  # enough for an LSTM to solve T = 100 in a few epochs
        val_size: int = 1_000,  # the baseline's standard error is then about 0.006
        seed: int = 0,
    ):
        self.length = check_int(NAME, "length", length, 2)
        train_size = check_int(NAME, "train_size", train_size, 1)
        val_size = check_int(NAME, "val_size", val_size, 1)
        self.seed = check_int(NAME, "seed", seed, 0)
        self.train = adding_problem(generator(self.seed, 0), train_size, self.length)
        self.val = adding_problem(generator(self.seed, 1), val_size, self.length)

    def model_dims(self) -> dict[str, int]:
        return {"input_size": 2, "output_size": 1}

    def metrics(self, mean_loss: float) -> dict[str, float]:
        """The loss is the mean squared error of the last step's prediction."""
        return {"mse": float(mean_loss)}

    def baselines(self) -> dict[str, float]:
        """The mean squared error of always predicting 1 on the validation data (about 1/6)."""
        targets = self.val[1].astype(np.float64)
        return {"mse": float(np.mean((targets - 1.0) ** 2))}


@seqkit.hookimpl
def seqkit_register_tasks(register):
    register(NAME, AddingTask)
