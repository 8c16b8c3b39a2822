"""The task plugins adding, copy and series: data, targets, seeds, baselines, counts and
errors. NumPy only; no model is trained. tests/test_text_tasks.py has classify and tag.

    .venv/bin/python -m pytest tests/test_tasks.py -q
"""

from __future__ import annotations

import math
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
    "options, parts",
    [
        ({"length": 1}, ("adding: length", "at least 2", "got 1")),
        ({"length": "100"}, ("adding: length", "at least 2", "got '100'")),
        ({"train_size": 0}, ("adding: train_size", "positive integer", "got 0")),
        ({"seed": -1}, ("adding: seed", "at least 0", "got -1")),
        ({"seed": True}, ("adding: seed", "at least 0", "got True")),
    ],
)
def test_adding_option_errors_name_the_option(options, parts):
    """One line naming the option, its bound and the value given (not an exact wording)."""
    with pytest.raises(OptionError) as info:
        seqkit.make_task("adding", **options)
    assert "\n" not in str(info.value)
    for part in parts:
        assert part in str(info.value)


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
    with pytest.raises(OptionError, match=r"copy: symbols .*positive integer.*got 0"):
        seqkit.make_task("copy", symbols=0)
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
        ("a\n1\n", {"window": 0}, OptionError, "series: window must be a positive integer"),
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
