"""The task plugins adding, copy, series, classify and tag: data, targets, seeds, baselines,
counts and errors. NumPy only; no model is trained.

    .venv/bin/python -m pytest tests/test_tasks.py -q
"""

from __future__ import annotations

import collections
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import seqkit
from seqkit.errors import DataError, OptionError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "examples" / "data"


def one_hot_logits(ids: np.ndarray, classes: int) -> np.ndarray:
    """Logits ``[..., classes]`` whose argmax is ``ids``."""
    return np.eye(classes, dtype=np.float32)[ids] * 10.0


def stack(batches, field: str) -> np.ndarray:
    return np.concatenate([getattr(b, field) for b in batches])


# -- adding ----------------------------------------------------------------------------------


def test_adding_shapes_dtypes_and_dims():
    task = seqkit.make_task("adding", length=50, train_size=70, val_size=20)
    batches = task.train_batches(batch_size=32, seed=0)
    assert [len(b.inputs) for b in batches] == [32, 32, 6]  # the last batch is smaller
    assert batches[0].inputs.shape == (32, 50, 2) and batches[0].inputs.dtype == np.float32
    assert batches[0].targets.shape == (32, 1) and batches[0].targets.dtype == np.float32
    assert batches[0].mask is None
    assert [len(b.inputs) for b in task.eval_batches(batch_size=8)] == [8, 8, 4]
    assert task.model_dims() == {"input_size": 2, "output_size": 1}
    assert (task.target_form, task.default_loss) == ("sequence", "mse")
    assert task.loss_options() == {"last_step": True}
    assert task.metrics(0.25) == {"mse": 0.25}


@pytest.mark.parametrize("length", [2, 7, 50])
def test_adding_target_is_the_sum_of_the_two_marked_values(length):
    task = seqkit.make_task("adding", length=length, train_size=200, val_size=10)
    batches = task.train_batches(batch_size=64, seed=0)
    inputs, targets = stack(batches, "inputs"), stack(batches, "targets")
    values, markers = inputs[..., 0], inputs[..., 1]
    assert values.min() >= 0.0 and values.max() < 1.0
    assert set(np.unique(markers)) <= {0.0, 1.0}
    half = length // 2
    np.testing.assert_array_equal(markers[:, :half].sum(axis=1), 1.0)
    np.testing.assert_array_equal(markers[:, half:].sum(axis=1), 1.0)
    np.testing.assert_array_equal(targets[:, 0], (values * markers).sum(axis=1))


def test_adding_seeds_repeat_the_data_and_the_order():
    def data(seed, order_seed=0):
        task = seqkit.make_task("adding", length=20, train_size=50, val_size=10, seed=seed)
        return task.train_batches(50, order_seed)[0].inputs, task.eval_batches(10)[0].inputs

    (a_train, a_val), (b_train, b_val), (c_train, c_val) = data(1), data(1), data(2)
    np.testing.assert_array_equal(a_train, b_train)
    np.testing.assert_array_equal(a_val, b_val)
    assert not np.array_equal(a_train, c_train) and not np.array_equal(a_val, c_val)
    assert not np.array_equal(a_train, a_val[:1])
    shuffled, _ = data(1, order_seed=5)
    assert not np.array_equal(shuffled, a_train)  # another order of the same sequences
    np.testing.assert_array_equal(np.sort(shuffled, axis=None), np.sort(a_train, axis=None))


def test_adding_baseline_is_the_mse_of_predicting_one():
    task = seqkit.make_task("adding", length=10, train_size=1, val_size=2000, seed=3)
    targets = stack(task.eval_batches(500), "targets").astype(np.float64)
    baseline = task.baselines()["mse"]
    assert baseline == pytest.approx(np.mean((targets - 1.0) ** 2), rel=1e-12)
    assert abs(baseline - 1 / 6) < 0.02


@pytest.mark.parametrize(
    "options, message",
    [
        ({"length": 1}, "adding: length must be an integer of at least 2, got 1."),
        ({"length": "100"}, "adding: length must be an integer of at least 2, got '100'."),
        ({"train_size": 0}, "adding: train_size must be an integer of at least 1, got 0."),
        ({"seed": -1}, "adding: seed must be an integer of at least 0, got -1."),
        ({"seed": True}, "adding: seed must be an integer of at least 0, got True."),
    ],
)
def test_adding_option_errors_name_the_option(options, message):
    with pytest.raises(OptionError) as info:
        seqkit.make_task("adding", **options)
    assert str(info.value) == message


def test_a_batch_size_below_one_is_an_option_error():
    task = seqkit.make_task("adding", length=4, train_size=4, val_size=4)
    with pytest.raises(OptionError, match="batch_size must be a positive integer, got 0"):
        task.train_batches(0, 0)


# -- copy ------------------------------------------------------------------------------------


def test_copy_layout_recall_targets_and_dims():
    task = seqkit.make_task("copy", symbols=3, length=5, train_size=40, val_size=8)
    (batch,) = task.train_batches(batch_size=40, seed=0)
    assert batch.inputs.shape == batch.targets.shape == (40, 3 + 5 + 1 + 3)
    assert batch.inputs.dtype == batch.targets.dtype == np.int32 and batch.mask is None
    remembered = batch.inputs[:, :3]
    assert remembered.min() >= 1 and remembered.max() <= 8
    np.testing.assert_array_equal(batch.inputs[:, 3:8], 0)  # the gap
    np.testing.assert_array_equal(batch.inputs[:, 8], 9)  # the cue
    np.testing.assert_array_equal(batch.inputs[:, 9:], 0)
    np.testing.assert_array_equal(batch.targets[:, :9], 0)  # blank until the recall
    np.testing.assert_array_equal(batch.targets[:, 9:], remembered)
    assert task.model_dims() == {"vocab_size": 10, "output_size": 10}
    assert (task.target_form, task.default_loss, task.loss_options()) == (
        "step",
        "cross-entropy",
        {},
    )


def test_copy_seeds_repeat_and_differ():
    def val(seed):
        return seqkit.make_task("copy", symbols=4, length=2, val_size=30, seed=seed)

    np.testing.assert_array_equal(val(0).eval_batches(30)[0].inputs, val(0).val[0])
    np.testing.assert_array_equal(val(0).val[0], val(0).val[0])
    assert not np.array_equal(val(0).val[0], val(1).val[0])


def test_copy_baselines_are_the_memoryless_scores():
    task = seqkit.make_task("copy", symbols=3, length=5, train_size=2, val_size=50)
    baselines = task.baselines()
    assert baselines == pytest.approx({"loss": 3 * math.log(8) / 12, "accuracy": 1 / 8})
    # the memoryless predictor: blank for sure until the recall, then uniform over 1..8
    (batch,) = task.eval_batches(50)
    logits = np.full((50, 12, 10), -1e9)
    logits[:, :9, 0] = 0.0
    logits[:, 9:, 1:9] = 0.0
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, batch.targets[..., None], axis=-1)
    assert -picked.mean() == pytest.approx(baselines["loss"], rel=1e-9)


def test_copy_accuracy_counts_the_recall_steps_only():
    task = seqkit.make_task("copy", symbols=4, length=3, train_size=2, val_size=6)
    (batch,) = task.eval_batches(6)
    perfect = one_hot_logits(batch.targets, 10)
    assert task.counts(batch.targets, perfect) == {"accuracy": (24.0, 24.0)}
    all_blank = one_hot_logits(np.zeros_like(batch.targets), 10)  # right on every non-recall step
    assert task.counts(batch.targets, all_blank) == {"accuracy": (0.0, 24.0)}


def test_copy_option_errors():
    with pytest.raises(OptionError) as info:
        seqkit.make_task("copy", symbols=0)
    assert str(info.value) == "copy: symbols must be an integer of at least 1, got 0."
    with pytest.raises(OptionError, match="copy: length must be an integer of at least 0"):
        seqkit.make_task("copy", length=-1)


# -- series ----------------------------------------------------------------------------------


@pytest.fixture
def series_file(tmp_path):
    """200 rows: a time stamp, two numeric columns and a text column."""
    rng = np.random.default_rng(0)
    a = np.sin(np.arange(200) / 5.0) * 3 + 10 + rng.normal(0, 0.1, 200)
    b = np.cumsum(rng.normal(0, 1, 200))
    path = tmp_path / "s.csv"
    lines = ["time,a,b,note"] + [f"t{i},{a[i]:.4f},{b[i]:.4f},x{i % 3}" for i in range(200)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, np.round(np.stack([a, b], axis=1), 4)


def test_series_normalises_with_the_training_split(series_file):
    path, raw = series_file
    task = seqkit.make_task("series", path=str(path), window=10, val_fraction=0.25)
    assert task.columns == ["a", "b"]  # the numeric columns
    np.testing.assert_allclose(task.mean, raw[:150].mean(axis=0))
    np.testing.assert_allclose(task.std, raw[:150].std(axis=0))
    np.testing.assert_allclose(task.denormalise(task.normalise(raw)), raw)
    assert task.model_dims() == {"input_size": 2, "output_size": 2}
    assert (task.target_form, task.default_loss) == ("step", "mse")


def test_series_targets_are_the_inputs_shifted_by_one_step(series_file):
    path, raw = series_file
    task = seqkit.make_task("series", path=str(path), window=10, val_fraction=0.25)
    batches = task.train_batches(batch_size=64, seed=0)
    inputs, targets = stack(batches, "inputs"), stack(batches, "targets")
    assert inputs.shape == targets.shape == (140, 10, 2) and inputs.dtype == np.float32
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    starts = {
        int(np.argmin(np.abs(task.denormalise(x[0]) - raw[:150]).sum(axis=1))) for x in inputs
    }
    assert starts == set(range(140))  # a window at every row (stride 1)
    val = task.eval_batches(batch_size=2)
    assert [len(b.inputs) for b in val] == [2, 2]  # 50 rows: four windows of 10, and the rest
    for k, window in enumerate(stack(val, "inputs")):
        rows = raw[150 + 10 * k : 150 + 10 * k + 11]
        np.testing.assert_allclose(task.denormalise(window), rows[:-1], atol=1e-4)
        np.testing.assert_allclose(task.denormalise(stack(val, "targets")[k]), rows[1:], atol=1e-4)


def test_series_columns_and_stride(series_file):
    path, _ = series_file
    assert seqkit.make_task("series", path=str(path), columns="b").columns == ["b"]
    task = seqkit.make_task("series", path=str(path), columns=["b", "a"], window=20, stride=20)
    assert task.columns == ["b", "a"]
    assert sum(len(b.inputs) for b in task.train_batches(100, 0)) == 8  # (180 - 20) / 20 + 1


def test_series_baseline_is_the_naive_last_value_forecast(series_file):
    path, raw = series_file
    task = seqkit.make_task("series", path=str(path), window=10, val_fraction=0.25)
    train, val = raw[:150], raw[150:]
    normed = (val - train.mean(axis=0)) / train.std(axis=0)
    used = normed[: 4 * 10 + 1]  # four whole windows of 10 and their last target
    expected = np.mean(np.diff(used, axis=0) ** 2)
    assert task.baselines()["mse"] == pytest.approx(expected, rel=1e-5)
    assert task.metrics(0.5) == {"mse": 0.5}


def test_series_seeds_shuffle_the_training_windows(series_file):
    path, _ = series_file
    task = seqkit.make_task("series", path=str(path), window=10)
    first = task.train_batches(16, seed=1)[0].inputs
    np.testing.assert_array_equal(first, task.train_batches(16, seed=1)[0].inputs)
    assert not np.array_equal(first, task.train_batches(16, seed=2)[0].inputs)


@pytest.mark.parametrize(
    "content, options, error, message",
    [
        (None, {"path": 48}, OptionError, "series: path must be a file name, got 48."),
        ("a,b\n1,2\n", {"columns": ["z"]}, OptionError, "has no column 'z'; its columns are a, b."),
        (
            "a,b\n1,2\n3,x\n",
            {},
            DataError,
            "line 3 of .* has 'x' in column 'b', not a finite number; fill or drop that row.",
        ),
        ("a,b\n1,2\n3\n", {}, DataError, "line 3 of .* has 1 fields but the header has 2"),
        ("t\nx\ny\n", {}, DataError, "has no numeric column"),
        (
            "a\n1\n2\n3\n",
            {"window": 5},
            DataError,
            "the training split has 3 rows, fewer than window \\+ 1 = 6",
        ),
        ("a\n1\n", {"window": 0}, OptionError, "series: window must be an integer of at least 1"),
        ("a\n1\n", {"columns": 3}, OptionError, "series: columns must be a list of column names"),
    ],
)
def test_series_errors_say_what_is_wrong(tmp_path, content, options, error, message):
    path = tmp_path / "s.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
        options = {"path": str(path), "val_fraction": 0.0, **options}
    with pytest.raises(error, match=message):
        seqkit.make_task("series", **options)


def test_series_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError) as info:
        seqkit.make_task("series", path=str(tmp_path / "none.csv"))
    assert str(info.value) == (
        f"series: the file {str(tmp_path / 'none.csv')!r} does not exist; give an existing "
        "file, or leave path empty for the embedded data set."
    )


# -- classify --------------------------------------------------------------------------------

LABELLED = "pos\tgood film\nneg\tbad bad film\n\npos\tgreat\nneu\tit was a film\n"


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_classify_labels_padding_and_mask(tmp_path):
    path = write(tmp_path, "c.tsv", LABELLED)
    task = seqkit.make_task("classify", path=path, tokens="words", val_fraction=0.0)
    assert task.labels == ["neg", "neu", "pos"]
    assert task.vocabulary.tokens[:2] == ["<pad>", "<unk>"]
    assert task.vocabulary.tokens[2:] == sorted({"good", "film", "bad", "great", "it", "was", "a"})
    assert task.model_dims() == {"vocab_size": 9, "output_size": 3}
    assert (task.target_form, task.default_loss, task.loss_options()) == (
        "sequence",
        "cross-entropy",
        {"last_step": True},
    )
    batches = task.train_batches(batch_size=3, seed=0)
    assert [len(b.inputs) for b in batches] == [3, 1]
    expected = {"good film": "pos", "bad bad film": "neg", "great": "pos", "it was a film": "neu"}
    seen = {}
    for b in batches:
        assert b.inputs.dtype == np.int32 and b.targets.dtype == np.int32 and b.mask.dtype == bool
        assert b.inputs.shape == b.mask.shape and b.targets.shape == (len(b.inputs),)
        assert b.inputs.shape[1] == 32  # the batch's longest, rounded up to LENGTH_BUCKET
        for ids, mask, label in zip(b.inputs, b.mask, b.targets, strict=True):
            n = int(mask.sum())
            assert mask[:n].all() and not mask[n:].any()  # a prefix
            assert (ids[n:] == 0).all() and (ids[:n] > 1).all()
            seen[" ".join(task.vocabulary.decode(ids[:n]))] = task.labels[label]
    assert seen == expected


def test_classify_characters_and_unknown_tokens(tmp_path):
    path = write(tmp_path, "c.tsv", LABELLED)
    task = seqkit.make_task("classify", path=path, val_fraction=0.0)
    assert task.tokens == "chars"
    np.testing.assert_array_equal(task.encode("bad"), task.vocabulary.encode(list("bad")))
    assert task.encode("z?").tolist() == [1, 1]  # characters the file does not hold


def test_classify_split_follows_the_seed(tmp_path):
    text = "".join(f"{'ab'[i % 2]}\tline {i}\n" for i in range(40))
    path = write(tmp_path, "c.tsv", text)

    def val_texts(seed):
        task = seqkit.make_task("classify", path=path, val_fraction=0.25, seed=seed)
        batches = task.eval_batches(batch_size=100)
        return sorted(
            "".join(task.vocabulary.decode(r[m]))
            for b in batches
            for r, m in zip(b.inputs, b.mask, strict=True)
        )

    assert len(val_texts(0)) == 10
    assert val_texts(0) == val_texts(0)
    assert val_texts(0) != val_texts(1)


def test_classify_counts_read_the_last_counted_step(tmp_path):
    path = write(tmp_path, "c.tsv", LABELLED)
    task = seqkit.make_task("classify", path=path, tokens="words", val_fraction=0.0)
    (batch,) = task.train_batches(batch_size=4, seed=0)
    length = batch.mask.sum(axis=1)
    wrong = (batch.targets + 1) % 3
    outputs = np.repeat(one_hot_logits(wrong, 3)[:, None], batch.inputs.shape[1], axis=1)
    rows = np.arange(4)
    outputs[rows, length - 1] = one_hot_logits(batch.targets, 3)  # right at the last real step
    assert task.counts(batch.targets, outputs, batch.mask) == {"accuracy": (4.0, 4.0)}
    assert task.counts(batch.targets, outputs, None)["accuracy"][0] < 4  # the padded last step


def test_classify_baseline_is_the_training_majority_on_validation(tmp_path):
    text = "".join(f"{'a' if i % 4 else 'b'}\tline {i}\n" for i in range(80))
    path = write(tmp_path, "c.tsv", text)
    task = seqkit.make_task("classify", path=path, val_fraction=0.25, seed=2)
    train_labels, val_labels = np.array(task.train[1]), np.array(task.val[1])
    majority = collections.Counter(train_labels.tolist()).most_common(1)[0][0]
    assert task.labels[majority] == "a"
    assert task.baselines() == {"accuracy": pytest.approx(np.mean(val_labels == majority))}
    assert 0.5 < task.baselines()["accuracy"] < 1.0
    no_val = seqkit.make_task("classify", path=path, val_fraction=0.0)
    assert no_val.baselines() == {}
    with pytest.raises(DataError, match="classify: there is no validation split"):
        no_val.eval_batches(4)


@pytest.mark.parametrize(
    "text, reason, line",
    [
        ("pos\tok\nno tab here\n", "it has no tab", 2),
        ("pos\tok\n\n\t text\n", "its label is empty", 3),
        ("pos\tok\nneg\t  \n", "its text is empty", 2),
    ],
)
def test_classify_malformed_lines_are_named(tmp_path, text, reason, line):
    path = write(tmp_path, "c.tsv", text)
    with pytest.raises(DataError) as info:
        seqkit.make_task("classify", path=path)
    assert str(info.value) == (
        f"classify: line {line} of {path!r} is not label<TAB>text ({reason}); write one "
        "example a line, its label, a tab, then its text."
    )


def test_classify_option_and_file_errors(tmp_path):
    path = write(tmp_path, "c.tsv", LABELLED)
    with pytest.raises(OptionError) as info:
        seqkit.make_task("classify", path=path, tokens="bytes")
    assert str(info.value) == "classify: tokens must be 'chars' or 'words', got 'bytes'."
    with pytest.raises(OptionError) as info:
        seqkit.make_task("classify", path=path, val_fraction=1)
    assert str(info.value) == "classify: val_fraction must be a number in [0, 1), got 1."
    with pytest.raises(OptionError, match="classify: path must be a file name, got"):
        seqkit.make_task("classify", path=["a.tsv"])
    (tmp_path / "latin.tsv").write_bytes("pos\tcafé\n".encode("latin-1"))
    with pytest.raises(DataError, match="is not UTF-8 text"):
        seqkit.make_task("classify", path=str(tmp_path / "latin.tsv"))
    with pytest.raises(DataError, match="is empty; give it some data"):
        seqkit.make_task("classify", path=write(tmp_path, "e.tsv", "\n \n"))


# -- tag -------------------------------------------------------------------------------------

TAGGED = (
    "-DOCSTART-\tO\n\n"
    "the\tDET\nwatch\tNOUN\nstops\tVERB\n.\tPUNCT\n\n"
    "they\tPRON\nwatch\tVERB\n\n"
    "a\tDET\nwatch\tNOUN\n"
)


def test_tag_alignment_padding_and_mask(tmp_path):
    path = write(tmp_path, "t.tsv", TAGGED)
    task = seqkit.make_task("tag", path=path, val_fraction=0.0)
    assert task.labels == ["DET", "NOUN", "PRON", "PUNCT", "VERB"]
    assert task.model_dims() == {"vocab_size": 2 + 6, "output_size": 5}
    assert (task.target_form, task.default_loss, task.loss_options()) == (
        "step",
        "cross-entropy",
        {},
    )
    (batch,) = task.train_batches(batch_size=8, seed=0)
    assert batch.inputs.shape == batch.targets.shape == batch.mask.shape == (3, 32)  # 4, bucketed
    assert batch.targets.dtype == np.int32
    seen = set()
    for ids, tags, mask in zip(batch.inputs, batch.targets, batch.mask, strict=True):
        n = int(mask.sum())
        assert mask[:n].all() and not mask[n:].any()
        assert (ids[n:] == 0).all() and (tags[n:] == 0).all()
        words = task.vocabulary.decode(ids[:n])
        seen.add(tuple(f"{w}/{task.labels[t]}" for w, t in zip(words, tags[:n], strict=True)))
    assert seen == {
        ("the/DET", "watch/NOUN", "stops/VERB", "./PUNCT"),
        ("they/PRON", "watch/VERB"),
        ("a/DET", "watch/NOUN"),
    }


def test_tag_takes_the_last_field_as_the_tag(tmp_path):
    path = write(tmp_path, "t.tsv", "EU\tNNP\tB-NP\tB-ORG\nrejects\tVBZ\tB-VP\tO\n")
    task = seqkit.make_task("tag", path=path, val_fraction=0.0)
    assert task.labels == ["B-ORG", "O"]


def test_tag_counts_only_real_tokens(tmp_path):
    path = write(tmp_path, "t.tsv", TAGGED)
    task = seqkit.make_task("tag", path=path, val_fraction=0.0)
    (batch,) = task.train_batches(batch_size=8, seed=0)
    outputs = one_hot_logits(batch.targets, 5)
    outputs[~batch.mask] = one_hot_logits(np.array(3), 5)  # wrong on padding: not counted
    assert task.counts(batch.targets, outputs, batch.mask) == {"accuracy": (8.0, 8.0)}
    outputs[0, 0] = one_hot_logits(np.array((batch.targets[0, 0] + 1) % 5), 5)
    assert task.counts(batch.targets, outputs, batch.mask) == {"accuracy": (7.0, 8.0)}


def test_tag_baseline_is_each_tokens_most_frequent_training_tag(tmp_path):
    rng = np.random.default_rng(0)
    words = {"dog": ["NOUN"], "run": ["NOUN", "VERB", "VERB"], "the": ["DET"], "zz": ["ADJ"]}
    sentences = []
    for _ in range(60):
        chosen = rng.choice(list(words), size=rng.integers(1, 6))
        sentences.append("".join(f"{w}\t{rng.choice(words[w])}\n" for w in chosen))
    path = write(tmp_path, "t.tsv", "\n".join(sentences))
    task = seqkit.make_task("tag", path=path, val_fraction=0.3, seed=4)
    decode = task.vocabulary.decode
    pairs = collections.Counter()
    for ids, tags in zip(*task.train, strict=True):
        pairs.update((w, task.labels[t]) for w, t in zip(decode(ids), tags, strict=True))
    overall = collections.Counter()
    for (_, tag), n in pairs.items():
        overall[tag] += n
    best_overall = max(sorted(overall), key=lambda t: overall[t])
    by_word = {}
    for (w, tag), n in sorted(pairs.items()):
        if n > by_word.get(w, ("", 0))[1]:
            by_word[w] = (tag, n)
    right = total = 0
    for ids, tags in zip(*task.val, strict=True):
        for w, t in zip(decode(ids), tags, strict=True):
            guess = by_word[w][0] if w in by_word and w != "<unk>" else best_overall
            right += guess == task.labels[t]
            total += 1
    assert task.baselines() == {"accuracy": pytest.approx(right / total)}
    assert 0.5 < task.baselines()["accuracy"] < 1.0  # "run" is ambiguous


def test_tag_seeds_repeat_the_split(tmp_path):
    text = "\n".join(f"w\tT{i}\nv\tB\n" for i in range(30))  # sentence i is known by T{i}
    path = write(tmp_path, "t.tsv", text)

    def val_sentences(seed):
        task = seqkit.make_task("tag", path=path, val_fraction=0.2, seed=seed)
        return [task.labels[tags[0]] for tags in task.val[1]]

    assert len(val_sentences(0)) == 6
    assert val_sentences(0) == val_sentences(0)
    assert val_sentences(0) != val_sentences(3)


def test_tag_malformed_line_is_named(tmp_path):
    path = write(tmp_path, "t.tsv", "the\tDET\n\ndog NOUN\n")
    with pytest.raises(DataError) as info:
        seqkit.make_task("tag", path=path)
    assert str(info.value) == (
        f"tag: line 3 of {path!r} is not token<TAB>tag (it has no tab); write one token a "
        "line, the token, a tab, then its tag, and a blank line between sentences."
    )
    with pytest.raises(DataError, match="line 1 of .* \\(its tag is empty\\)"):
        seqkit.make_task("tag", path=write(tmp_path, "u.tsv", "the\t \n"))


# -- the shipped example files ---------------------------------------------------------------


@pytest.mark.parametrize(
    "script, data",
    [
        ("make_series.py", "temperatures.csv"),
        ("make_sentiment.py", "sentiment.tsv"),
        ("make_tagging.py", "tagging.tsv"),
    ],
)
def test_the_example_scripts_make_the_shipped_files(tmp_path, script, data):
    out = tmp_path / data
    subprocess.run([sys.executable, str(DATA / script), str(out)], check=True, timeout=60)
    assert out.read_bytes() == (DATA / data).read_bytes()


def test_the_example_files_load():
    series = seqkit.make_task("series", path=str(DATA / "temperatures.csv"))
    assert series.columns == ["temperature", "humidity"]
    classify = seqkit.make_task("classify", path=str(DATA / "sentiment.tsv"), tokens="words")
    assert classify.labels == ["neg", "pos"]
    tag = seqkit.make_task("tag", path=str(DATA / "tagging.tsv"))
    assert tag.labels == ["ADJ", "ADP", "DET", "NOUN", "PUNCT", "VERB"]
    for task in (series, classify, tag):
        assert set(task.baselines()) and task.eval_batches(64)
