"""Tasks that break their contract at run time, each in one way (tests/test_bad_plugins.py).

A good task: tag each of 12 steps with its own id, from a vocabulary of 5 ids; two training
batches of 8 sequences and one validation batch of 8 sequences of 20 steps.
"""

import numpy as np

import seqkit

VOCAB = 5


def batch(rows, steps, seed, high=VOCAB):
    ids = np.random.default_rng(seed).integers(0, high, size=(rows, steps))
    return seqkit.SequenceBatch(ids, ids.copy())


class GoodTask(seqkit.Task):
    target_form = "step"
    default_loss = "cross-entropy"
    default_truncation = "bptt"

    def model_dims(self):
        return {"vocab_size": VOCAB, "output_size": VOCAB}

    def train_batches(self, batch_size, seed):
        return [batch(batch_size, 12, seed), batch(batch_size, 12, seed + 1)]

    def eval_batches(self, batch_size):
        return [batch(batch_size, 20, 99)]

    def counts(self, targets, outputs, mask=None):
        right = np.argmax(outputs, axis=-1) == targets
        return {"accuracy": (float(right.sum()), float(right.size))}


class TrainBatchesRaise(GoodTask):
    def train_batches(self, batch_size, seed):
        raise OSError("the data server is down")


class NoBatches(GoodTask):
    def train_batches(self, batch_size, seed):
        return []


class NoEvalBatches(GoodTask):
    def eval_batches(self, batch_size):
        return []


class IdsPastVocabulary(GoodTask):
    def train_batches(self, batch_size, seed):
        return [batch(batch_size, 12, seed, high=60)]


class EvalIdsPastVocabulary(GoodTask):
    def eval_batches(self, batch_size):
        return [batch(batch_size, 20, 99, high=60)]


class NotBatches(GoodTask):
    def train_batches(self, batch_size, seed):
        return [(b.inputs, b.targets) for b in super().train_batches(batch_size, seed)]


class ListBatches(GoodTask):
    def train_batches(self, batch_size, seed):
        return [
            seqkit.SequenceBatch(b.inputs.tolist(), b.targets.tolist())
            for b in super().train_batches(batch_size, seed)
        ]


class FloatIds(GoodTask):
    def train_batches(self, batch_size, seed):
        return [
            seqkit.SequenceBatch(b.inputs.astype("float64"), b.targets)
            for b in super().train_batches(batch_size, seed)
        ]


class NanInputs(GoodTask):
    """Dense inputs (a vector per step), one of them NaN."""

    def model_dims(self):
        return {"input_size": 3, "output_size": VOCAB}

    def train_batches(self, batch_size, seed):
        inputs = np.ones((batch_size, 12, 3), np.float32)
        inputs[1, 4, 2] = np.nan
        return [seqkit.SequenceBatch(inputs, batch(batch_size, 12, seed).targets)]


class ShortTargets(GoodTask):
    def train_batches(self, batch_size, seed):
        return [
            seqkit.SequenceBatch(b.inputs, b.targets[:, :-3])
            for b in super().train_batches(batch_size, seed)
        ]


class CountsRaise(GoodTask):
    def counts(self, targets, outputs, mask=None):
        raise KeyError("accuracy")


class CountsRaiseInValidation(GoodTask):
    """Its metric works on the sliver a run checks (at most 16 steps), not on 20 steps."""

    def counts(self, targets, outputs, mask=None):
        if targets.shape[1] > 16:
            raise IndexError("index 16 is out of bounds for axis 1 with size 16")
        return super().counts(targets, outputs, mask)


class MetricsRaise(GoodTask):
    def metrics(self, mean_loss):
        raise ValueError("math domain error")


@seqkit.hookimpl
def seqkit_register_tasks(register):
    register("bad-good", GoodTask)
    register("bad-train-raises", TrainBatchesRaise)
    register("bad-no-batches", NoBatches)
    register("bad-no-eval-batches", NoEvalBatches)
    register("bad-ids-past-vocabulary", IdsPastVocabulary)
    register("bad-eval-ids-past-vocabulary", EvalIdsPastVocabulary)
    register("bad-not-batches", NotBatches)
    register("bad-lists", ListBatches)
    register("bad-float-ids", FloatIds)
    register("bad-nan-inputs", NanInputs)
    register("bad-short-targets", ShortTargets)
    register("bad-counts-raise", CountsRaise)
    register("bad-counts-raise-in-validation", CountsRaiseInValidation)
    register("bad-metrics-raise", MetricsRaise)
