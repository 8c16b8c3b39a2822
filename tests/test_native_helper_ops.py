"""The native kernels' helper ops around the recurrences: the gradient of gathering a table's
rows, summed in ``SeqkitScatterAddRows`` (``seqkit_plugins/cc/rows_ops.cc``; the native runner
gathers a first layer's projected ``TokenRows`` with ``gather_rows``, whose gradient it is),
against NumPy's ``np.add.at`` (the sums from their definition) with repeated and unused ids,
widths that split unevenly between threads, and ids outside the table (an error that names the
id); and the states each step starts from, ``SeqkitPreviousStates``
(``cc/previous_states_ops.cc``), that the recurrent weight's gradient multiplies, and that
gradient (``weight_gradient``) in float32 and, under mixed_bfloat16, on bfloat16 operands.

    .venv/bin/python -m pytest tests/test_native_helper_ops.py -q
"""

import numpy as np
import pytest
import tensorflow as tf
from bfloat16_bits import bfloat16_rounded

from seqkit_plugins.native_kernels import LIBRARY, gather_rows, weight_gradient


@pytest.fixture(scope="module")
def ops():
    loaded = LIBRARY.load()
    assert loaded is not None, f"the native library did not load: {LIBRARY.status}"
    return loaded


def numpy_sums(grad, ids, rows):
    sums = np.zeros((rows, grad.shape[-1]), np.float32)
    np.add.at(sums, ids.reshape(-1), grad.reshape(-1, grad.shape[-1]))
    return sums


@pytest.mark.parametrize("width", [3, 130, 1030])  # one shard; two, one a float wider
def test_sums_every_rows_gradient_into_its_id(ops, width):
    rng = np.random.default_rng(width)
    ids = rng.integers(0, 7, size=(4, 9)).astype(np.int32)  # 36 rows of 9 ids: repeats
    ids[0, 0] = 8  # row 7 of 9 is never gathered: its sum stays zero
    grad = rng.normal(size=(4, 9, width)).astype(np.float32)
    sums = ops.seqkit_scatter_add_rows(grad, ids, 9).numpy()
    expected = numpy_sums(grad, ids, 9)
    np.testing.assert_allclose(sums, expected, rtol=1e-6, atol=1e-5)
    assert not sums[7].any()


def test_an_id_outside_the_table_is_an_error_that_names_it(ops):
    grad = np.ones((2, 3, 4), np.float32)
    ids = np.array([[0, 1, 2], [3, 5, 1]], np.int32)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"id 5 is outside \[0, 5\)"):
        ops.seqkit_scatter_add_rows(grad, ids, 5)


def test_gather_rows_gradient_runs_in_the_native_op():
    rng = np.random.default_rng(0)
    table = tf.Variable(rng.normal(size=(6, 200)).astype(np.float32))
    ids = tf.constant(rng.integers(0, 6, size=(5, 11)), tf.int64)  # the op takes int32
    weight = tf.constant(rng.normal(size=(5, 11, 200)).astype(np.float32))

    @tf.function
    def grad():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(gather_rows(table, ids) * weight)
        return tape.gradient(loss, table)

    expected = numpy_sums(weight.numpy(), ids.numpy(), 6)
    np.testing.assert_allclose(grad().numpy(), expected, atol=1e-5)
    graph_ops = {op.type for op in grad.get_concrete_function().graph.get_operations()}
    assert "SeqkitScatterAddRows" in graph_ops and "UnsortedSegmentSum" not in graph_ops


@pytest.mark.parametrize("batch,steps", [(9, 5), (3, 1), (2, 0)])
def test_previous_states_are_h0_then_every_state_but_the_last(ops, batch, steps):
    rng = np.random.default_rng(steps)
    h0 = rng.normal(size=(batch, 6)).astype(np.float32)
    hs = rng.normal(size=(batch, steps, 6)).astype(np.float32)
    previous = ops.seqkit_previous_states(h0, hs).numpy()
    expected = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)[:, :steps]
    np.testing.assert_array_equal(previous, expected)


def test_previous_states_reject_mismatched_shapes(ops):
    with pytest.raises(tf.errors.InvalidArgumentError, match="h0 \\[B, H\\] and hs"):
        ops.seqkit_previous_states(np.zeros((2, 3), np.float32), np.zeros((2, 4, 5), np.float32))


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16])
def test_the_weight_gradient_sums_dz_times_the_previous_state(ops, dtype):
    rng = np.random.default_rng(5)
    dz = rng.normal(size=(3, 6, 8)).astype(np.float32)  # [B, T, G]
    h0, hs = (
        rng.normal(size=(3, 4)).astype(np.float32),
        rng.normal(size=(3, 6, 4)).astype(np.float32),
    )
    prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)
    if dtype == tf.bfloat16:  # bfloat16 operands, float32 sums, a bfloat16 result (mixed_bfloat16)
        dz, prev = bfloat16_rounded(dz), bfloat16_rounded(prev)
    want = np.einsum("btg,bth->gh", dz.astype(np.float64), prev.astype(np.float64))
    got = weight_gradient(ops, tf.constant(dz), tf.constant(h0), tf.constant(hs), dtype).numpy()
    assert got.dtype == np.float32
    if dtype == tf.bfloat16:  # within the result's one rounding to bfloat16, which it had
        np.testing.assert_allclose(got, want, rtol=2**-8, atol=1e-5)
        np.testing.assert_array_equal(got, bfloat16_rounded(got))
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        assert np.any(got != bfloat16_rounded(got))
