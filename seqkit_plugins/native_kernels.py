"""The built-in cells' native kernels: TensorFlow custom ops in C++ (``seqkit_plugins/cc/``) that
run a recurrence over the whole sequence, forward and backward, in float32 (under
``mixed_bfloat16`` each step's product by the recurrent weight on bfloat16 operands with float32
sums, where the CPU has AVX512_BF16: ``cc/bf16_products.h``), and the Python functions
that call them (each a ``seqkit.NativeKernel`` a cell declares in its ``Recurrence``).

    outputs, final = LSTM_NATIVE(cell.recurrence, xp, (h0, c0), keep)   # xp [B, T, 4H]
    outputs, final = GRU_NATIVE(cell.recurrence, xp, (h0,), keep)        # xp [B, T, 3H]
    outputs, final = VANILLA_NATIVE["tanh"](cell.recurrence, xp, (h0,), keep)  # also relu, sigmoid

A native kernel takes the model's batch-major tensors (``xp`` ``[B, T, P]``, ``keep``
``[B, T, 1]``) and returns batch-major outputs: no transposes around the ops. Each also takes
``xp`` as ``TokenRows`` of a first layer's projected embedding table (``takes_rows``): its ops
read each step's row by id and sum the rows' gradient into the table's (``cc/input_rows.h``).

The library (``LIBRARY``) is built on first use (``seqkit.native.loading``). Each op splits the
batch into shards that run the whole sequence on their own (rows of a recurrence are independent:
no barrier between steps), one per intra-op thread, and multiplies by the recurrent weight packed
once per call (``cc/packed_weight.h``: a vector kernel for the CPU's AVX-512 or AVX2, else
OpenBLAS's ``sgemm`` from ``scipy-openblas32``, or Eigen's GEMM where that wheel is missing).
The backward op carries only the state's gradient through its loop; the weight gradient is ONE
matmul after it (``weight_gradient``).

Each agrees with the ``python`` runner to 1e-5, outputs and every gradient, with masks
(``tests/test_native_kernels.py``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import tensorflow as tf

import seqkit
from seqkit.interfaces import TokenRows

SOURCES = Path(__file__).parent / "cc"
OP_FILES = ("lstm_ops", "gru_ops", "vanilla_ops", "rows_ops", "previous_states_ops", "library_info")
LIBRARY = seqkit.NativeLibrary(
    "seqkit_kernels",
    [SOURCES / f"{name}.cc" for name in OP_FILES],
    headers=[
        SOURCES / name for name in ("gemm.h", "packed_weight.h", "bf16_products.h", "input_rows.h")
    ],
    info_op="seqkit_kernels_info",
    blas=True,
)


def _keep_floats(keep):
    """``keep`` ``[B, T, 1]`` bool -> ``[B, T]`` of 1 and 0; no mask -> ``[0]`` (the ops' form)."""
    if keep is None:
        return tf.zeros([0], tf.float32)
    return tf.cast(keep[..., 0], tf.float32)


def _read(value, dtype):
    """A cell's variable as a tensor of ``dtype``: under mixed precision it reads as the compute
    dtype (a ``CastVariable``), and the kernels run in float32."""
    return tf.cast(tf.convert_to_tensor(value), dtype)


def _products(compute):
    """The ops' ``products`` attribute for a weight read in ``compute``: "bfloat16" under
    ``mixed_bfloat16`` (each step's product on bfloat16 operands, summed in float32, where the
    CPU has bfloat16 dot instructions: ``cc/bf16_products.h``), else "float32"."""
    return "bfloat16" if compute == tf.bfloat16 else "float32"


def weight_gradient(ops, dz, h0, hs, dtype=tf.float32):
    """dW ``[G, H]`` = sum over steps and rows of ``dz_t^T h_{t-1}`` (``dz`` ``[B, T, G]``,
    ``hs`` ``[B, T, H]``, ``h_{-1}`` = ``h0``): ONE matmul over all ``B * T`` rows, after the
    backward loop, of ``dz`` and the states the steps started from (``SeqkitPreviousStates``,
    one copy).

    It is TensorFlow's matmul (oneDNN, both cores), not a GEMM inside the op: at config A's LSTM
    (``[2048, 1024]^T @ [2048, 256]``: 3.4 ms alone) the backward op with OpenBLAS's sgemm on its
    shards took 10.2 ms, the op and this matmul 6.9 (``benchmarks/native_profile.py``, AMD Zen 5),
    and the runtime can overlap it with the step's other work.
    ``(h^T @ dz)^T`` transposes the narrower operand: TensorFlow's faster form
    (``seqkit.ops.linear``).

    ``dtype`` is the weight's compute dtype: in bfloat16 (``mixed_bfloat16``) the matmul runs
    on bfloat16 operands with float32 accumulation (oneDNN's bfloat16 dot instructions where the
    CPU has them), as the model's other matmuls do; its result is rounded to bfloat16 as the
    gradient of the weight's bfloat16 read would round it anyway."""
    h_prev = ops.seqkit_previous_states(h0, hs)
    rows = tf.shape(dz)[0] * tf.shape(dz)[1]
    dz_rows = tf.cast(tf.reshape(dz, [rows, tf.shape(dz)[2]]), dtype)
    h_rows = tf.cast(tf.reshape(h_prev, [rows, tf.shape(h0)[1]]), dtype)
    return tf.cast(tf.transpose(tf.matmul(h_rows, dz_rows, transpose_a=True)), dz.dtype)


def gather_rows(table, ids):
    """``tf.gather(table, ids)`` (``table`` ``[V, P]`` float32, ``ids`` ``[B, T]``) whose gradient
    sums the gathered rows' gradients into ``[V, P]`` in the op ``SeqkitScatterAddRows`` (on
    the intra-op threads) rather than TensorFlow's single-threaded ``UnsortedSegmentSum``;
    ``tf.gather`` itself where the library is not loaded or the table is not float32."""
    ops = LIBRARY.load()
    if ops is None or table.dtype != tf.float32:
        return tf.gather(table, ids)
    ids = tf.cast(ids, tf.int32)

    @tf.custom_gradient
    def gather(table):
        def grad(rows_grad):
            return ops.seqkit_scatter_add_rows(rows_grad, ids, tf.shape(table)[0])

        return tf.gather(table, ids), grad

    return gather(table)


def _zeros_if_none(grad, like):
    return tf.zeros_like(like) if grad is None else grad


def _input_rows(xp):
    """``(xp or the table, ids, table rows)`` as the ops take them: a dense ``xp`` ``[B, T, P]``
    with ids ``[0]``, or ``TokenRows`` of a projected table ``[V, P]`` with its ids ``[B, T]``
    (the forward op reads each step's row by id, the backward op gives the table's gradient)."""
    if isinstance(xp, TokenRows):
        return xp.table, tf.cast(xp.ids, tf.int32), tf.shape(xp.table)[0]
    return xp, tf.zeros([0], tf.int32), tf.constant(0)


def lstm_native(ops, recurrence, xp, state, keep):
    """The LSTM over ``SeqkitLstmForward`` / ``SeqkitLstmBackward``: ``xp`` = W_ih x_t + b_ih +
    b_hh ``[B, T, 4H]`` (or ``TokenRows`` of the projected table) -> ``(hs [B, T, H], (h_T,
    c_T))``."""
    keep_f = _keep_floats(keep)
    inputs, ids, table_rows = _input_rows(xp)

    @tf.custom_gradient
    def run(inputs, h0, c0, weight):
        hs, cs, gates = ops.seqkit_lstm_forward(
            inputs, ids, h0, c0, weight, keep_f, products=products
        )

        def grad(dhs, dh_last, dc_last):
            dz, dh0, dc0, dtable = ops.seqkit_lstm_backward(
                _zeros_if_none(dhs, hs),
                _zeros_if_none(dh_last, h0),
                _zeros_if_none(dc_last, c0),
                gates,
                hs,
                cs,
                h0,
                c0,
                weight,
                keep_f,
                ids,
                table_rows,
                products=products,
            )
            dinputs = dtable if isinstance(xp, TokenRows) else dz
            return dinputs, dh0, dc0, weight_gradient(ops, dz, h0, hs, compute)

        return (hs, hs[:, -1], cs[:, -1]), grad

    h0, c0 = state
    compute = recurrence.weight.dtype  # as it reads: bfloat16 under mixed_bfloat16
    products = _products(compute)
    hs, h, c = run(inputs, h0, c0, _read(recurrence.weight, xp.dtype))
    return hs, (h, c)


LSTM_NATIVE = seqkit.NativeKernel(LIBRARY, lstm_native, takes_rows=True)


def gru_native(ops, recurrence, xp, state, keep):
    """The GRU over ``SeqkitGruForward`` / ``SeqkitGruBackward``: ``xp`` = W_ih x_t + b_ih
    ``[B, T, 3H]`` (or ``TokenRows`` of the projected table), ``bias_hh`` in the recurrence ->
    ``(hs [B, T, H], (h_T,))``."""
    keep_f = _keep_floats(keep)
    inputs, ids, table_rows = _input_rows(xp)

    @tf.custom_gradient
    def run(inputs, h0, weight, bias):
        hs, saved = ops.seqkit_gru_forward(inputs, ids, h0, weight, bias, keep_f, products=products)

        def grad(dhs, dh_last):
            dhs, dh_last = _zeros_if_none(dhs, hs), _zeros_if_none(dh_last, h0)
            dx, dh0, dhh, dbias, dtable = ops.seqkit_gru_backward(
                dhs, dh_last, saved, hs, h0, weight, keep_f, ids, table_rows, products=products
            )
            dinputs = dtable if isinstance(xp, TokenRows) else dx
            return dinputs, dh0, weight_gradient(ops, dhh, h0, hs, compute), dbias

        return (hs, hs[:, -1]), grad

    (h0,) = state
    compute = recurrence.weight.dtype  # as it reads: bfloat16 under mixed_bfloat16
    products = _products(compute)
    weight = _read(recurrence.weight, xp.dtype)
    hs, h = run(inputs, h0, weight, _read(recurrence.bias, xp.dtype))
    return hs, (h,)


GRU_NATIVE = seqkit.NativeKernel(LIBRARY, gru_native, takes_rows=True)


def vanilla_native(ops, recurrence, xp, state, keep, activation="tanh"):
    """The vanilla RNN over ``SeqkitVanillaForward`` / ``SeqkitVanillaBackward``: ``xp`` =
    W_ih x_t + b_ih + b_hh ``[B, T, H]`` (or ``TokenRows`` of the projected table) ->
    ``(hs [B, T, H], (h_T,))``."""
    keep_f = _keep_floats(keep)
    inputs, ids, table_rows = _input_rows(xp)

    @tf.custom_gradient
    def run(inputs, h0, weight):
        hs = ops.seqkit_vanilla_forward(
            inputs, ids, h0, weight, keep_f, activation=activation, products=products
        )

        def grad(dhs, dh_last):
            dhs, dh_last = _zeros_if_none(dhs, hs), _zeros_if_none(dh_last, h0)
            da, dh0, dtable = ops.seqkit_vanilla_backward(
                dhs,
                dh_last,
                hs,
                h0,
                weight,
                keep_f,
                ids,
                table_rows,
                activation=activation,
                products=products,
            )
            dinputs = dtable if isinstance(xp, TokenRows) else da
            return dinputs, dh0, weight_gradient(ops, da, h0, hs, compute)

        return (hs, hs[:, -1]), grad

    (h0,) = state
    compute = recurrence.weight.dtype  # as it reads: bfloat16 under mixed_bfloat16
    products = _products(compute)
    hs, h = run(inputs, h0, _read(recurrence.weight, xp.dtype))
    return hs, (h,)


# One native kernel per activation of the vanilla cell.
VANILLA_NATIVE = {
    name: seqkit.NativeKernel(LIBRARY, partial(vanilla_native, activation=name), takes_rows=True)
    for name in ("tanh", "relu", "sigmoid")
}
