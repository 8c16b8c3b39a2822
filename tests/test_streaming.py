"""Streaming training: the char-lm task's streams read from a token file, window by window, are
the batches the in-memory path made (computed here from the text, as that code did), train to
the same weights, stop and go on exactly, and split over replicas by rows."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import seqkit
from seqkit.data.token_streams import Streams

TEXT = "".join(f"line {i}: the cat sat on the mat, and ünïcode.\n" for i in range(80))


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def in_memory_streams(text: str, batch_size: int, val_fraction: float = 0.1):
    """What the char-lm task made before token files: the sorted characters as the vocabulary,
    the last val_fraction the validation split, B streams of a reshaped array."""
    vocabulary = sorted(set(text))
    ids = np.array([vocabulary.index(c) for c in text], dtype=np.int32)
    split = len(ids) - int(np.floor(len(ids) * val_fraction))
    out = []
    for part in (ids[:split], ids[split:]):
        length = (len(part) - 1) // batch_size
        used = part[: batch_size * length + 1]
        out.append((used[:-1].reshape(batch_size, length), used[1:].reshape(batch_size, length)))
    return out


def test_streams_from_the_token_file_are_the_in_memory_batches(corpus):
    task = seqkit.make_task("char-lm", corpus=str(corpus))
    (train,) = task.train_batches(batch_size=4, seed=0)
    (val,) = task.eval_batches(batch_size=4)
    assert isinstance(train.inputs, Streams) and isinstance(task.ids, np.memmap)
    (inputs, targets), (val_inputs, val_targets) = in_memory_streams(TEXT, 4)
    np.testing.assert_array_equal(np.asarray(train.inputs), inputs)
    np.testing.assert_array_equal(np.asarray(train.targets), targets)
    np.testing.assert_array_equal(np.asarray(val.inputs), val_inputs)
    np.testing.assert_array_equal(np.asarray(val.targets), val_targets)
    np.testing.assert_array_equal(np.asarray(train.inputs[1:3, 64:128]), inputs[1:3, 64:128])
    np.testing.assert_array_equal(train.inputs[2], inputs[2])


def test_validation_reads_its_first_val_tokens_unless_asked_for_all(corpus):
    task = seqkit.make_task("char-lm", corpus=str(corpus), val_tokens=41)
    (val,) = task.eval_batches(batch_size=4)
    assert val.inputs.shape == (4, 10)  # (41 - 1) // 4
    whole = seqkit.make_task("char-lm", corpus=str(corpus), val_tokens=0)
    assert whole.eval_batches(4)[0].inputs.shape == (4, (len(whole.val_ids) - 1) // 4)


def _trainer():
    def model():
        return seqkit.SequenceModel(
            "lstm", hidden_size=8, output_size=40, encoder="embedding", embedding_size=4,
            vocab_size=40, runner="graph",
        )  # fmt: skip

    truncation = seqkit.make_truncation("tbptt", k1=8, k2=12)
    return seqkit.Trainer(model, truncation=truncation, lr=0.02, seed=3)


@pytest.mark.slow  # ~25 s on a busy machine: two trainers traced
def test_training_on_streams_equals_training_on_arrays_and_goes_on_exactly(corpus):
    task = seqkit.make_task("char-lm", corpus=str(corpus))
    assert task.vocab_size <= 40
    (lazy,) = task.train_batches(batch_size=4, seed=0)
    (inputs, targets), _ = in_memory_streams(TEXT, 4)
    reference = _trainer()
    expected = [log["loss"] for log in reference.fit(seqkit.SequenceBatch(inputs, targets), 6)]
    streamed = _trainer()
    losses = [log["loss"] for log in streamed.fit(lazy, steps=3)]
    losses += [log["loss"] for log in streamed.fit(lazy, steps=3)]  # stopped, then on
    assert losses == expected
    for a, b in zip(reference.model.variables, streamed.model.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert streamed.evaluate(task.eval_batches(4)) == reference.evaluate(
        seqkit.SequenceBatch(*in_memory_streams(TEXT, 4)[1])
    )


SPLIT_SCRIPT = textwrap.dedent("""
    import numpy as np
    from seqkit.training.distribute import make_strategy, split_streams
    from seqkit.data.token_streams import Streams

    strategy = make_strategy("mirrored", cpu_devices=2)

    class Recording:
        def __init__(self, ids): self.ids, self.starts = ids, []
        def __len__(self): return len(self.ids)
        def __getitem__(self, part):
            self.starts.append(part.start)
            return self.ids[part]

    ids = Recording(np.arange(1000) % 50)
    inputs = Streams(ids, rows=4, length=249)
    window = inputs[:, 10:18]
    values = strategy.experimental_local_results(split_streams(strategy, (window,))[0])
    print([v.numpy()[:, 0].tolist() for v in values])
    print(sorted(ids.starts))
""")


def test_each_replica_reads_only_its_own_streams():
    out = subprocess.run(
        [sys.executable, "-c", SPLIT_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows, starts = out.stdout.strip().splitlines()[-2:]
    # stream b starts at 249 * b; the window at step 10; replica 0 takes streams 0-1
    assert eval(rows) == [[10 % 50, 259 % 50], [508 % 50, 757 % 50]]
    assert eval(starts) == [10, 259, 508, 757]  # each stream read once, by its replica


def test_eval_reads_a_prepared_token_file_as_its_raw_text(corpus, tmp_path):
    from seqkit.data.token_files import prepare_token_file

    task = seqkit.make_task("char-lm", corpus=str(corpus))
    prepared = prepare_token_file(corpus, tmp_path / "c.tokens")
    (raw,) = task.corpus_batches(str(corpus), batch_size=4)
    (made,) = task.corpus_batches(str(prepared.path), batch_size=4)
    np.testing.assert_array_equal(np.asarray(made.inputs), np.asarray(raw.inputs))
    np.testing.assert_array_equal(np.asarray(made.targets), in_memory_streams(TEXT, 4, 0.0)[0][1])
