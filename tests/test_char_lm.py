"""The char-lm task: corpus reading, vocabulary, validation split, streams and errors."""

import math

import numpy as np
import pytest

import seqkit
from seqkit.errors import DataError, OptionError

TEXT = "".join(f"line {i}: the cat sat on the mat.\n" for i in range(60))  # 1,950 characters


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_vocabulary_is_the_sorted_characters(corpus):
    task = seqkit.make_task("char-lm", corpus=str(corpus))
    assert task.vocabulary.tokens == tuple(sorted(set(TEXT)))
    assert isinstance(task, seqkit.LanguageModelTask)
    assert task.model_dims() == {"vocab_size": len(set(TEXT)), "output_size": len(set(TEXT))}
    assert task.decode(task.encode("the mat")) == "the mat"


def test_the_last_val_fraction_is_the_validation_split(corpus):
    task = seqkit.make_task("char-lm", corpus=str(corpus), val_fraction=0.2)
    assert len(task.val_ids) == math.floor(len(TEXT) * 0.2)
    assert task.decode(task.val_ids) == TEXT[len(TEXT) - len(task.val_ids) :]
    assert task.decode(task.train_ids) + task.decode(task.val_ids) == TEXT


def test_streams_are_contiguous_and_targets_are_inputs_shifted_by_one(corpus):
    task = seqkit.make_task("char-lm", corpus=str(corpus))
    (batch,) = task.train_batches(batch_size=4, seed=0)
    train_text = task.decode(task.train_ids)
    length = (len(train_text) - 1) // 4
    assert batch.inputs.shape == batch.targets.shape == (4, length)
    assert batch.inputs.dtype == np.int32
    for b in range(4):
        assert task.decode(batch.inputs[b]) == train_text[b * length : (b + 1) * length]
        assert task.decode(batch.targets[b]) == train_text[b * length + 1 : (b + 1) * length + 1]
    (val,) = task.eval_batches(batch_size=2)
    np.testing.assert_array_equal(val.inputs[:, 1:], val.targets[:, :-1])


def test_metrics_give_bits_per_character(corpus):
    task = seqkit.make_task("char-lm", corpus=str(corpus))
    assert task.metrics(math.log(2) * 1.5) == pytest.approx({"loss": math.log(2) * 1.5, "bpc": 1.5})


def test_a_directory_joins_its_text_files_in_path_order(tmp_path):
    (tmp_path / "b.txt").write_text("world", encoding="utf-8")
    (tmp_path / "a.md").write_text("hello", encoding="utf-8")
    (tmp_path / "skip.bin").write_bytes(b"\xff\xfe")
    task = seqkit.make_task("char-lm", corpus=str(tmp_path), val_fraction=0.0)
    assert task.text == "hello\nworld"


def test_the_embedded_corpus_is_pythons_reference_documentation():
    task = seqkit.make_task("char-lm")
    assert len(task.text) > 300_000
    assert 'The "if" statement' in task.text or "if_stmt" in task.text


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p: p / "missing.txt", "does not exist"),
        (lambda p: _write(p / "empty.txt", b""), "is empty"),
        (lambda p: _write(p / "latin1.txt", "café".encode("latin-1")), "is not UTF-8 text"),
        (lambda p: _mkdir(p / "none"), "holds no text files"),
    ],
)
def test_corpus_errors_say_what_is_wrong(tmp_path, setup, message):
    with pytest.raises(DataError, match=message):
        seqkit.make_task("char-lm", corpus=str(setup(tmp_path)))


def test_a_corpus_too_short_for_the_batch_is_an_error(tmp_path):
    task = seqkit.make_task("char-lm", corpus=str(_write(tmp_path / "t.txt", b"abcdefghij")))
    with pytest.raises(DataError, match="too short for 8 streams"):
        task.train_batches(batch_size=8, seed=0)


def test_unknown_characters_and_bad_val_fraction_are_errors(corpus):
    task = seqkit.make_task("char-lm", corpus=str(corpus))
    with pytest.raises(DataError, match="'Z' is not in the vocabulary"):
        task.encode("Zebra")
    with pytest.raises(OptionError, match=r"val_fraction must be a number in \[0, 1\]"):
        seqkit.make_task("char-lm", corpus=str(corpus), val_fraction=1.5)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _mkdir(path):
    path.mkdir()
    return path
