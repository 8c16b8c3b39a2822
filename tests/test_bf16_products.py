"""The native kernels' per-step products on bfloat16 operands (``products="bfloat16"``, what
the kernels run under mixed_bfloat16: ``seqkit_plugins/cc/bf16_products.h``), against NumPy from
the equations with the state and the weight rounded to bfloat16 and the sums in float64.

Each step is checked against the state the kernel carried into it (its own outputs, read back),
so a one-ulp difference in one state cannot grow through the steps: what is checked is each
step's product and which state it used. Where the library reports no bfloat16 products (a CPU
without AVX512_BF16) the attribute must leave the float32 products in place: the reference then
rounds nothing. Sizes: 19 rows (two shards of 9 and 10: blocks of 8, 2 and 1 rows), hidden 40
(gate widths 120 and 160, panels of 48 with partial vectors) and 5 (an odd k, padded).

    .venv/bin/python -m pytest tests/test_bf16_products.py -q
"""

import numpy as np
import pytest
from bfloat16_bits import bfloat16_rounded

from seqkit_plugins.native_kernels import LIBRARY

B, T = 19, 6
NONE = np.zeros([0], np.int32)  # no ids: xp is dense
NO_MASK = np.zeros([0], np.float32)


@pytest.fixture(scope="module")
def ops():
    loaded = LIBRARY.load()
    assert loaded is not None, f"the native library did not load: {LIBRARY.status}"
    return loaded


@pytest.fixture(scope="module")
def rounds(ops):
    """Whether this build multiplies in bfloat16 (it says so in its info line)."""
    return b"bfloat16" in ops.seqkit_kernels_info().numpy()


def operand(x, rounds):
    return (bfloat16_rounded(x) if rounds else np.asarray(x, np.float32)).astype(np.float64)


def previous(h0, hs):
    return np.concatenate([h0[:, None], hs[:, :-1]], axis=1)  # the state each step started from


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def data(hidden, gates, seed):
    rng = np.random.default_rng(seed)
    xp = rng.normal(size=(B, T, gates * hidden)).astype(np.float32)
    h0 = rng.normal(size=(B, hidden)).astype(np.float32)
    w = (rng.normal(size=(gates * hidden, hidden)) / np.sqrt(hidden)).astype(np.float32)
    return rng, xp, h0, w


def check(got, want, unrounded, rounds):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    if rounds:  # bfloat16 did the products: float32 operands would differ by far more
        assert np.max(np.abs(got - unrounded)) > 1e-3


@pytest.mark.parametrize("hidden", [40, 5])
def test_vanilla_steps_multiply_the_state_and_weight_in_bfloat16(ops, rounds, hidden):
    rng, xp, h0, w = data(hidden, 1, hidden)
    hs = ops.seqkit_vanilla_forward(
        xp, NONE, h0, w, NO_MASK, activation="tanh", products="bfloat16"
    ).numpy()
    prev = previous(h0, hs)
    want = np.tanh(xp + operand(prev, rounds) @ operand(w, rounds).T)
    check(hs, want, np.tanh(xp + prev.astype(np.float64) @ w.T.astype(np.float64)), rounds)

    dhs, dh_last = rng.normal(size=hs.shape).astype(np.float32), h0[::-1].copy()
    da, dh0, _ = ops.seqkit_vanilla_backward(
        dhs, dh_last, hs, h0, w, NO_MASK, NONE, 0, activation="tanh", products="bfloat16"
    )
    da, dh0 = da.numpy(), dh0.numpy()
    carried = operand(da[:, 1:], rounds) @ operand(w, rounds)  # into steps 0 .. T-2
    carried = np.concatenate([carried, dh_last[:, None]], axis=1)
    np.testing.assert_allclose(da, (dhs + carried) * (1 - hs.astype(np.float64) ** 2), 1e-5, 1e-5)
    want = operand(da[:, 0], rounds) @ operand(w, rounds)
    check(dh0, want, da[:, 0].astype(np.float64) @ w.astype(np.float64), rounds)


@pytest.mark.parametrize("hidden", [40, 5])
def test_lstm_steps_multiply_the_state_and_weight_in_bfloat16(ops, rounds, hidden):
    rng, xp, h0, w = data(hidden, 4, hidden + 1)
    c0 = rng.normal(size=h0.shape).astype(np.float32)
    hs, cs, gates = ops.seqkit_lstm_forward(xp, NONE, h0, c0, w, NO_MASK, products="bfloat16")
    hs, cs, gates = hs.numpy(), cs.numpy(), gates.numpy()

    def activated(z):
        i, f, g, o = np.split(z, 4, axis=-1)
        return np.concatenate([sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)], axis=-1)

    prev = previous(h0, hs)
    want = activated(xp + operand(prev, rounds) @ operand(w, rounds).T)
    check(gates, want, activated(xp + prev.astype(np.float64) @ w.T.astype(np.float64)), rounds)

    zeros = np.zeros_like(h0)
    dz, dh0, _, _ = ops.seqkit_lstm_backward(
        rng.normal(size=hs.shape).astype(np.float32), zeros, zeros, gates, hs, cs, h0, c0, w,
        NO_MASK, NONE, 0, products="bfloat16",
    )  # fmt: skip
    dz0 = dz.numpy()[:, 0]
    want = operand(dz0, rounds) @ operand(w, rounds)
    check(dh0.numpy(), want, dz0.astype(np.float64) @ w.astype(np.float64), rounds)


def test_gru_steps_multiply_the_state_and_weight_in_bfloat16(ops, rounds):
    rng, xp, h0, w = data(40, 3, 7)
    bias = rng.normal(size=120).astype(np.float32)
    hs, saved = ops.seqkit_gru_forward(xp, NONE, h0, w, bias, NO_MASK, products="bfloat16")
    prev = previous(h0, hs.numpy())
    hh_n = saved.numpy()[..., 120:]  # h_{t-1} @ W_n^T + b_n, each step
    want = operand(prev, rounds) @ operand(w[80:], rounds).T + bias[80:]
    check(hh_n, want, prev.astype(np.float64) @ w[80:].T.astype(np.float64) + bias[80:], rounds)


def test_float32_products_stay_float32(ops):
    _, xp, h0, w = data(40, 1, 9)
    hs = ops.seqkit_vanilla_forward(xp, NONE, h0, w, NO_MASK, activation="tanh").numpy()
    prev = previous(h0, hs).astype(np.float64)
    np.testing.assert_allclose(hs, np.tanh(xp + prev @ w.T.astype(np.float64)), 1e-5, 1e-5)
