"""``TokenRows``: a model with an embedding encoder hands the runners that take them (fused,
native) its first layer's inputs as the table and the ids, and the runner projects the table's
V rows instead of the B * T gathered ones where they are fewer. The projection acts on each
row alone, so the outputs and every gradient (the embedding's, the input weights', the biases')
must agree with the python runner, which receives the gathered tensor, to float32 rounding.

    .venv/bin/python -m pytest tests/test_token_rows.py -q
"""

import numpy as np
import pytest
import tensorflow as tf

import seqkit
from seqkit.interfaces import TokenRows, dense_inputs, project_rows
from seqkit.interfaces.token_rows import projects_table

V, E, H, B, T = 5, 4, 6, 3, 7  # V 5 rows against B * T 21 tokens: the table is projected
TOL = 1e-5


def counting_projection(weight):
    """A row-wise projection that records how many rows each call projects."""
    calls = []

    def project(x):
        calls.append(int(np.prod(x.shape[:-1])))
        return tf.tanh(tf.tensordot(x, weight, 1))

    return project, calls


def test_project_rows_projects_the_tables_rows_where_they_are_fewer():
    rng = np.random.default_rng(0)
    table = tf.constant(rng.normal(size=(V, E)), tf.float32)
    ids = tf.constant(rng.integers(0, V, size=(B, T)), tf.int32)
    project, calls = counting_projection(tf.constant(rng.normal(size=(E, 8)), tf.float32))
    rows = TokenRows(table, ids)
    assert rows.shape == [B, T, E] and projects_table(rows)
    projected = project_rows(project, rows)
    assert calls == [V]  # the table's rows, not the tokens
    expected = project(tf.gather(table, ids))
    np.testing.assert_allclose(projected.numpy(), expected.numpy(), atol=1e-6)


def test_project_rows_gathers_first_where_the_table_is_larger():
    rng = np.random.default_rng(1)
    table = tf.constant(rng.normal(size=(50, E)), tf.float32)  # 50 rows against 21 tokens
    ids = tf.constant(rng.integers(0, 50, size=(B, T)), tf.int32)
    project, calls = counting_projection(tf.constant(rng.normal(size=(E, 8)), tf.float32))
    rows = TokenRows(table, ids)
    assert not projects_table(rows)
    project_rows(project, rows)
    assert calls == [B * T]
    np.testing.assert_array_equal(dense_inputs(rows).numpy(), tf.gather(table, ids).numpy())


def model_run(runner, cell, seen, io_dropout=0.0):
    """Outputs and the gradients of every variable (by name) of a two-layer bidirectional
    embedding model on masked sequences; ``seen`` collects the types of the first layer's
    inputs the runner received."""
    seqkit.set_seed(0)
    model = seqkit.SequenceModel(
        cell,
        hidden_size=H,
        output_size=V,
        num_layers=2,
        bidirectional=True,
        encoder="embedding",
        vocab_size=V,
        embedding_size=E,
        io_dropout=io_dropout,
        runner=runner,
    )
    run = model.runner.run
    model.runner.run = lambda c, x, *a: seen.append(type(x)) or run(c, x, *a)
    rng = np.random.default_rng(2)
    ids = tf.constant(rng.integers(0, V, size=(B, T)), tf.int32)
    mask = tf.constant(np.arange(T)[None] < np.array([T, 5, 2])[:, None])
    dy = tf.constant(rng.normal(size=(B, T, V)), tf.float32)
    with tf.GradientTape() as tape:
        outputs, _ = model(ids, mask=mask, training=True)
        loss = tf.reduce_sum(outputs * dy)
    variables = model.named_parameters()
    grads = tape.gradient(loss, list(variables.values()))
    grads = {n: tf.convert_to_tensor(g).numpy() for n, g in zip(variables, grads, strict=True)}
    return outputs.numpy(), grads


@pytest.mark.parametrize("runner", ["native", "fused"])
@pytest.mark.parametrize("cell", ["lstm", "gru", "vanilla"])
def test_runners_given_token_rows_agree_with_the_python_runner(runner, cell):
    seen_rows, seen_dense = [], []
    outputs, grads = model_run(runner, cell, seen_rows)
    expected, expected_grads = model_run("python", cell, seen_dense)
    # both directions of the first layer took the rows; the second layer takes a tensor
    assert seen_rows[:2] == [TokenRows, TokenRows] and TokenRows not in seen_rows[2:]
    assert TokenRows not in seen_dense  # the python runner does not take them
    np.testing.assert_allclose(outputs, expected, atol=TOL)
    assert grads.keys() == expected_grads.keys()
    for name, grad in grads.items():
        np.testing.assert_allclose(grad, expected_grads[name], atol=TOL, err_msg=name)


def test_dropout_on_the_embedded_inputs_gives_the_runner_the_gathered_tensor():
    seen = []
    model_run("fused", "lstm", seen, io_dropout=0.5)
    assert TokenRows not in seen  # the dropped units differ token by token: no table to project
