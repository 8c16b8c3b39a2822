"""Losses (cross-entropy, mse; per step and last step) against NumPy references, and errors.

The references are written from the definitions: L_t = -log softmax(y_t)[target_t] with the
log-softmax by hand, or the mean over features of (y_t - target_t)^2; the loss is the mean of
L_t over the counted steps (mask true) and the batch, and 0 when no step counts.

    .venv/bin/python -m pytest tests/test_losses.py -q
"""

import numpy as np
import pytest
import tensorflow as tf

import seqkit

B, T, C = 3, 5, 4  # batch, time, classes (or output features)
LEFT_ALIGNED = np.array(
    [
        [1, 1, 1, 1, 1],  # full length
        [1, 1, 1, 0, 0],  # ends after step 2
        [1, 0, 0, 0, 0],  # one step
    ],
    dtype=bool,
)


def log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy_steps(targets, logits):
    """-log softmax(y_t)[target_t] for every (b, t): ``[B, T]``."""
    picked = np.take_along_axis(log_softmax(logits), targets[..., None], axis=-1)
    return -picked[..., 0]


def squared_error_steps(targets, outputs):
    return ((outputs - targets) ** 2).mean(axis=-1)


def masked_mean(values, mask):
    if mask is None:
        return values.mean()
    return (values * mask).sum() / max(mask.sum(), 1)


def last_true_step(mask):
    """Index of each row's last true step (a left-aligned mask), and whether it has one."""
    return np.maximum(mask.sum(axis=1) - 1, 0), mask.any(axis=1)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return {
        "logits": rng.normal(size=(B, T, C)) * 2.0,
        "classes": rng.integers(0, C, size=(B, T)).astype(np.int32),
        "values": rng.normal(size=(B, T, C)),
    }


def call(loss, targets, outputs, mask=None):
    mask = None if mask is None else tf.constant(mask)
    return float(loss(tf.constant(targets), tf.constant(outputs), mask))


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
def test_cross_entropy_per_step(data, masked):
    mask = LEFT_ALIGNED if masked else None
    expected = masked_mean(cross_entropy_steps(data["classes"], data["logits"]), mask)
    got = call(seqkit.make_loss("cross-entropy"), data["classes"], data["logits"], mask)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_cross_entropy_mask_counts_only_true_steps(data):
    """The mean is over the 9 true steps, not over all 15 (nor per row)."""
    steps = cross_entropy_steps(data["classes"], data["logits"])
    got = call(seqkit.make_loss("cross-entropy"), data["classes"], data["logits"], LEFT_ALIGNED)
    np.testing.assert_allclose(got, steps[LEFT_ALIGNED].sum() / 9, rtol=1e-12)
    assert not np.isclose(got, steps[LEFT_ALIGNED].sum() / steps.size)


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
def test_cross_entropy_last_step(data, masked):
    labels = data["classes"][:, 0]  # one label per sequence: [B]
    if masked:
        last, _ = last_true_step(LEFT_ALIGNED)
        np.testing.assert_array_equal(last, [4, 2, 0])
    else:
        last = np.full(B, T - 1)
    final_logits = data["logits"][np.arange(B), last]  # [B, C]
    expected = cross_entropy_steps(labels[:, None], final_logits[:, None]).mean()
    loss = seqkit.make_loss("cross-entropy", last_step=True)
    assert loss.per_step is False
    got = call(loss, labels, data["logits"], LEFT_ALIGNED if masked else None)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
def test_mse_per_step(data, masked):
    mask = LEFT_ALIGNED if masked else None
    expected = masked_mean(squared_error_steps(data["values"], data["logits"]), mask)
    got = call(seqkit.make_loss("mse"), data["values"], data["logits"], mask)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_mse_per_step_one_feature_takes_b_t_targets(data):
    outputs = data["logits"][..., :1]
    targets = data["values"][..., 0]  # [B, T] for one output feature
    expected = masked_mean(squared_error_steps(targets[..., None], outputs), LEFT_ALIGNED)
    got = call(seqkit.make_loss("mse"), targets, outputs, LEFT_ALIGNED)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
def test_mse_last_step(data, masked):
    targets = data["values"][:, 0]  # [B, C]
    last = last_true_step(LEFT_ALIGNED)[0] if masked else np.full(B, T - 1)
    expected = squared_error_steps(targets, data["logits"][np.arange(B), last]).mean()
    loss = seqkit.make_loss("mse", last_step=True)
    got = call(loss, targets, data["logits"], LEFT_ALIGNED if masked else None)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_last_step_skips_a_sequence_with_no_true_step(data):
    """A row whose mask is all false has no last step: the mean is over the other rows."""
    mask = LEFT_ALIGNED.copy()
    mask[2] = False
    labels = data["classes"][:, 0]
    final_logits = data["logits"][[0, 1], [4, 2]]
    expected = cross_entropy_steps(labels[:2, None], final_logits[:, None]).mean()
    got = call(seqkit.make_loss("cross-entropy", last_step=True), labels, data["logits"], mask)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "name, last_step", [("cross-entropy", False), ("cross-entropy", True), ("mse", False)]
)
def test_mask_all_false_gives_zero_and_zero_gradient(data, name, last_step):
    targets = data["classes"] if name == "cross-entropy" else data["values"]
    if last_step:
        targets = targets[:, 0]
    outputs = tf.Variable(data["logits"])
    mask = tf.zeros([B, T], tf.bool)
    with tf.GradientTape() as tape:
        value = seqkit.make_loss(name, last_step=last_step)(tf.constant(targets), outputs, mask)
    grad = tape.gradient(value, outputs)
    assert float(value) == 0.0  # not NaN: no division by a zero count
    np.testing.assert_array_equal(tf.convert_to_tensor(grad).numpy(), 0.0)


def test_cross_entropy_gradient_is_zero_on_masked_steps_and_matches_softmax(data):
    """dL/dy_t = (softmax(y_t) - onehot(target_t)) * mask_t / N, with N the true steps."""
    outputs = tf.Variable(data["logits"])
    with tf.GradientTape() as tape:
        value = seqkit.make_loss("cross-entropy")(
            tf.constant(data["classes"]), outputs, tf.constant(LEFT_ALIGNED)
        )
    grad = tape.gradient(value, outputs).numpy()
    softmax = np.exp(log_softmax(data["logits"]))
    onehot = np.eye(C)[data["classes"]]
    expected = (softmax - onehot) * LEFT_ALIGNED[..., None] / LEFT_ALIGNED.sum()
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(grad[~LEFT_ALIGNED], 0.0)
    assert np.all(np.abs(grad[LEFT_ALIGNED]).sum(axis=-1) > 0)


def test_mse_gradient_is_zero_on_masked_steps(data):
    outputs = tf.Variable(data["logits"])
    with tf.GradientTape() as tape:
        value = seqkit.make_loss("mse")(
            tf.constant(data["values"]), outputs, tf.constant(LEFT_ALIGNED)
        )
    grad = tape.gradient(value, outputs).numpy()
    n = LEFT_ALIGNED.sum() * C  # mean over true steps, and over features within each
    expected = 2 * (data["logits"] - data["values"]) * LEFT_ALIGNED[..., None] / n
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(grad[~LEFT_ALIGNED], 0.0)


def test_last_step_gradient_reaches_only_the_last_true_step(data):
    outputs = tf.Variable(data["logits"])
    with tf.GradientTape() as tape:
        value = seqkit.make_loss("cross-entropy", last_step=True)(
            tf.constant(data["classes"][:, 0]), outputs, tf.constant(LEFT_ALIGNED)
        )
    grad = tf.convert_to_tensor(tape.gradient(value, outputs)).numpy()
    reached = np.abs(grad).sum(axis=-1) > 0
    expected = np.zeros((B, T), bool)
    expected[[0, 1, 2], [4, 2, 0]] = True
    np.testing.assert_array_equal(reached, expected)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_loss_is_a_scalar_of_the_outputs_dtype(data, dtype):
    loss = seqkit.make_loss("cross-entropy")
    value = loss(data["classes"], tf.constant(data["logits"], dtype))
    assert value.shape == () and value.dtype == dtype


CE_TARGETS = (
    "cross-entropy: targets must be [batch, time] class ids (or [batch] with last_step=True)"
)
MSE_TARGETS = (
    "mse: targets must be [batch, time, features] (or [batch, features] with last_step=True)"
)


@pytest.mark.parametrize(
    "name, options, targets, outputs, message",
    [
        (
            "cross-entropy",
            {},
            np.zeros((2, 3), np.float32),
            np.zeros((2, 3, 4), np.float32),
            "cross-entropy: targets must be integer class ids, got float32.",
        ),
        (
            "cross-entropy",
            {"last_step": True},
            np.zeros((2,), np.float64),
            np.zeros((2, 3, 4), np.float32),
            "cross-entropy: targets must be integer class ids, got float64.",
        ),
        (
            "cross-entropy",
            {},
            np.zeros((2, 3, 1), np.int32),
            np.zeros((2, 3, 4), np.float32),
            f"{CE_TARGETS}, got shape (2, 3, 1).",
        ),
        (
            "cross-entropy",
            {},
            np.zeros((2,), np.int32),
            np.zeros((2, 3, 4), np.float32),
            f"{CE_TARGETS}, got shape (2,).",
        ),
        (
            "mse",
            {},
            np.zeros((2, 3), np.float32),
            np.zeros((2, 3, 4), np.float32),
            f"{MSE_TARGETS}, got shape (2, 3).",
        ),
        (
            "mse",
            {},
            np.zeros((2, 3, 4, 1), np.float32),
            np.zeros((2, 3, 4), np.float32),
            f"{MSE_TARGETS}, got shape (2, 3, 4, 1).",
        ),
        (
            "cross-entropy",
            {},
            np.zeros((2, 3), np.int32),
            np.zeros((2, 3), np.float32),
            "cross-entropy: outputs must be [batch, time, features], got shape (2, 3).",
        ),
        (
            "mse",
            {"last_step": True},
            np.zeros((2, 4), np.float32),
            np.zeros((2, 4), np.float32),
            "mse: outputs must be [batch, time, features], got shape (2, 4).",
        ),
    ],
    ids=[
        "ce-float-targets",
        "ce-last-float-targets",
        "ce-rank-3-targets",
        "ce-rank-1-targets",
        "mse-rank-2-targets",
        "mse-rank-4-targets",
        "ce-rank-2-outputs",
        "mse-last-rank-2-outputs",
    ],
)
def test_bad_shapes_and_dtypes_raise_shape_error(name, options, targets, outputs, message):
    with pytest.raises(seqkit.ShapeError) as info:
        seqkit.make_loss(name, **options)(targets, outputs)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "name, targets, message",
    [
        (
            "cross-entropy",
            np.zeros((2, 3), np.int32),
            "cross-entropy: with last_step=True the targets are one per sequence, "
            "[batch] class ids; got shape (2, 3).",
        ),
        (
            "mse",
            np.zeros((2, 3, 4), np.float32),
            "mse: with last_step=True the targets are one per sequence, "
            "[batch] or [batch, features]; got shape (2, 3, 4).",
        ),
        (
            "cross-entropy",
            np.int32(1),
            "cross-entropy: with last_step=True the targets are one per sequence, "
            "[batch] class ids; got shape ().",
        ),
    ],
)
def test_last_step_with_per_step_targets_raises_shape_error(name, targets, message):
    """Per-step (or scalar) targets given to a last-step loss are refused, quoting their shape."""
    with pytest.raises(seqkit.ShapeError) as info:
        seqkit.make_loss(name, last_step=True)(targets, np.zeros((2, 3, 4), np.float32))
    assert str(info.value) == message
