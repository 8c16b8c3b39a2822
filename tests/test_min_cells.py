"""The minimal recurrent cells (minGRU, minLSTM; Feng et al. 2024): maths against NumPy float64
references written from the paper's equations, state dicts, the declared linear recurrence, the
log-space variant's g, options and errors.

    .venv/bin/python -m pytest -n 0 tests/test_min_cells.py -q
"""

import numpy as np
import pytest
import tensorflow as tf

import seqkit

B, N_IN, H, T = 3, 5, 7, 6  # batch, input size, hidden size, steps: small and all different
CASES = [
    pytest.param("mingru", False, 2, id="mingru"),
    pytest.param("mingru", True, 2, id="mingru-log-space"),
    pytest.param("minlstm", False, 3, id="minlstm"),
    pytest.param("minlstm", True, 3, id="minlstm-log-space"),
]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def g(x):
    """The paper's g: x + 0.5 for x >= 0, sigmoid(x) below."""
    return np.where(x >= 0, x + 0.5, sigmoid(x))


def mingru_reference(p, x, h, log_space):
    """z = sigmoid(W_z x + b_z), h~ = W_h x + b_h (g of it), h = (1 - z) h + z h~."""
    w_z, w_h = np.split(p["weight_ih"], 2)
    b_z, b_h = np.split(p["bias_ih"], 2)
    z = sigmoid(x @ w_z.T + b_z)
    candidate = x @ w_h.T + b_h
    candidate = g(candidate) if log_space else candidate
    return (1 - z) * h + z * candidate


def minlstm_reference(p, x, h, log_space):
    """f, i = sigmoid(...), h~ = W_h x + b_h (g of it), f' = f/(f+i), i' = i/(f+i)."""
    w_f, w_i, w_h = np.split(p["weight_ih"], 3)
    b_f, b_i, b_h = np.split(p["bias_ih"], 3)
    f = sigmoid(x @ w_f.T + b_f)
    i = sigmoid(x @ w_i.T + b_i)
    candidate = x @ w_h.T + b_h
    candidate = g(candidate) if log_space else candidate
    return f / (f + i) * h + i / (f + i) * candidate


REFERENCES = {"mingru": mingru_reference, "minlstm": minlstm_reference}


def make_loaded(name, log_space, seed, scale=1.5):
    rng = np.random.default_rng(seed)
    cell = seqkit.make_cell(name, N_IN, H, dtype=tf.float64, log_space=log_space)
    weights = {k: rng.uniform(-scale, scale, v.shape) for k, v in cell.state_dict().items()}
    cell.load_state_dict(weights)
    return cell, weights, rng


@pytest.mark.parametrize("runner", ["python", "graph", "xla", "fused", "scan"])
@pytest.mark.parametrize("name, log_space, blocks", CASES)
def test_every_runner_matches_the_numpy_reference(name, log_space, blocks, runner):
    cell, weights, rng = make_loaded(name, log_space, seed=1)
    xs = rng.standard_normal((B, T, N_IN)) * 2  # both signs of h~: both branches of g
    h = rng.standard_normal((B, H))
    expected = []
    for t in range(T):
        h_ref = REFERENCES[name](weights, xs[:, t], expected[-1] if expected else h, log_space)
        expected.append(h_ref)
    outputs, (final,) = seqkit.make_runner(runner).run(cell, tf.constant(xs), (tf.constant(h),))
    np.testing.assert_allclose(outputs.numpy(), np.stack(expected, axis=1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(final.numpy(), expected[-1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, log_space, blocks", CASES)
def test_call_is_one_step_of_the_declared_recurrence(name, log_space, blocks):
    cell, weights, rng = make_loaded(name, log_space, seed=2)
    x, h = rng.standard_normal((B, N_IN)), rng.standard_normal((B, H))
    output, (new,) = cell(tf.constant(x), (tf.constant(h),))
    expected = REFERENCES[name](weights, x, h, log_space)
    np.testing.assert_allclose(new.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(output.numpy(), expected, rtol=1e-12)
    declaration = cell.linear_recurrence
    assert isinstance(declaration, seqkit.LinearRecurrence)
    assert cell.recurrence is None  # no recurrent matmul to declare
    a, b = declaration.coefficients(cell.project_inputs(tf.constant(x)))
    np.testing.assert_allclose((a * h + b).numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("name, log_space, blocks", CASES)
def test_state_dict_names_shapes_and_round_trip(name, log_space, blocks):
    cell, weights, rng = make_loaded(name, log_space, seed=3)
    sd = cell.state_dict()
    assert list(sd) == ["weight_ih", "bias_ih"]
    assert [v.shape for v in sd.values()] == [(blocks * H, N_IN), (blocks * H,)]
    other = seqkit.make_cell(name, N_IN, H, dtype=tf.float64, log_space=log_space)
    other.load_state_dict(sd)
    x, h = rng.standard_normal((B, N_IN)), rng.standard_normal((B, H))
    np.testing.assert_array_equal(cell(x, (h,))[0].numpy(), other(x, (h,))[0].numpy())


@pytest.mark.parametrize("name, log_space, blocks", CASES)
def test_initial_state_is_zero_or_g_of_zero(name, log_space, blocks):
    cell = seqkit.make_cell(name, N_IN, H, log_space=log_space)
    (h0,) = cell.initial_state(4)
    assert cell.state_size == (H,) and h0.shape == (4, H) and h0.dtype == tf.float32
    np.testing.assert_array_equal(h0.numpy(), np.full((4, H), 0.5 if log_space else 0.0))


def test_log_space_keeps_every_state_positive():
    cell, _, rng = make_loaded("minlstm", True, seed=4, scale=3.0)
    xs = tf.constant(rng.standard_normal((B, 50, N_IN)) * 3)
    outputs, _ = seqkit.make_runner("scan").run(cell, xs, cell.initial_state(B))
    assert np.all(outputs.numpy() > 0)


def test_minlstm_normalised_gates_hold_where_both_gates_are_tiny():
    """f and i near 1e-30 each: f / (f + i) is still well defined, and so is the step."""
    cell = seqkit.make_cell("minlstm", 1, 1, dtype=tf.float64)
    cell.load_state_dict({"weight_ih": np.zeros((3, 1)), "bias_ih": np.array([-69.0, -70.0, 2.0])})
    _, (h,) = cell(np.zeros((1, 1)), (np.ones((1, 1)),))
    f, i = sigmoid(-69.0), sigmoid(-70.0)
    np.testing.assert_allclose(h.numpy(), [[f / (f + i) * 1.0 + i / (f + i) * 2.0]], rtol=1e-12)


@pytest.mark.parametrize("name", ["mingru", "minlstm"])
def test_gradient_reaches_every_variable(name):
    cell, _, rng = make_loaded(name, False, seed=5)
    xs = tf.constant(rng.standard_normal((B, T, N_IN)))
    with tf.GradientTape() as tape:
        outputs, _ = seqkit.make_runner("python").run(cell, xs, cell.initial_state(B))
        loss = tf.reduce_sum(outputs**2)
    variables = cell.trainable_variables
    for v, grad in zip(variables, tape.gradient(loss, variables), strict=True):
        assert grad is not None and np.any(grad.numpy() != 0), v.name


def test_bad_log_space_option_is_refused_in_one_sentence():
    with pytest.raises(seqkit.OptionError, match=r"MinGRUCell: log_space must be true or false"):
        seqkit.make_cell("mingru", 3, 4, log_space="yes")


def test_a_declaration_that_cannot_fit_is_refused():
    with pytest.raises(seqkit.OptionError, match=r"coefficients must be a function"):
        seqkit.LinearRecurrence(coefficients=3)
