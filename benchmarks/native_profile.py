"""Where a training step on the native LSTM kernel goes: the whole step (forward, backward, Adam
of the character model of ``benchmarks/compare.py``), and within it the native forward op and
the native backward op with the weight gradient after it (``weight_gradient``) timed alone at
the same shapes; the rest (embedding, the input
projection and its gradient, the head, the loss, Adam, the step's own overhead) is the step less
the two ops. Calls interleaved round by round; medians. ``--precision mixed_bfloat16`` profiles
the mixed-precision step, its ops asked for bfloat16 products (on bfloat16 operands where the
CPU has AVX512_BF16) and its weight gradient on bfloat16 operands, as the model runs them.

    .venv/bin/python benchmarks/native_profile.py                  # config A, LSTM, one layer
    .venv/bin/python benchmarks/native_profile.py --config B --rounds 20
    .venv/bin/python benchmarks/native_profile.py --precision mixed_bfloat16
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIGS = {  # name: batch, seq, embed, hidden, vocab (as compare.py's)
    "A": dict(batch=32, seq=64, embed=64, hidden=256, vocab=65),
    "B": dict(batch=64, seq=100, embed=64, hidden=512, vocab=65),
}


def op_calls(batch, seq, hidden, precision="float32"):
    """``(forward, backward)``: the LSTM ops alone, each a compiled call on fixed inputs, with
    the products and the weight gradient's dtype the model uses in ``precision``."""
    import numpy as np
    import tensorflow as tf

    from seqkit_plugins.native_kernels import LIBRARY, weight_gradient

    ops = LIBRARY.load()
    bf16 = precision == "mixed_bfloat16"
    products, compute = ("bfloat16", tf.bfloat16) if bf16 else ("float32", tf.float32)
    rng = np.random.default_rng(0)

    def tensor(*shape, scale=1.0):
        return tf.constant((rng.normal(size=shape) * scale).astype(np.float32))

    xp, w = tensor(batch, seq, 4 * hidden), tensor(4 * hidden, hidden, scale=hidden**-0.5)
    h0, c0, keep = tensor(batch, hidden), tensor(batch, hidden), tf.zeros([0])
    dense = tf.zeros([0], tf.int32)  # no ids: xp is the projected inputs themselves
    inputs = (xp, dense, h0, c0, w, keep)
    hs, cs, gates = ops.seqkit_lstm_forward(*inputs, products=products)
    dhs = tensor(batch, seq, hidden)  # batch-major, as the ops take them
    forward = tf.function(lambda: ops.seqkit_lstm_forward(*inputs, products=products)[0])

    def backward_and_weight_gradient():
        saved = (gates, hs, cs, h0, c0, w, keep, dense, 0)
        dxp = ops.seqkit_lstm_backward(dhs, h0, c0, *saved, products=products)[0]
        return weight_gradient(ops, dxp, h0, hs, compute)

    backward = tf.function(backward_and_weight_gradient)
    return (lambda: forward().numpy()), (lambda: backward().numpy())


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=sorted(CONFIGS), default="A")
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--precision", choices=["float32", "mixed_bfloat16"], default="float32")
    a = p.parse_args(argv)

    from seqkit.benchmarking import interleaved_medians, training_step

    c = CONFIGS[a.config]
    step = training_step("lstm", **c, runner="native", precision=a.precision)
    forward, backward = op_calls(c["batch"], c["seq"], c["hidden"], a.precision)
    ms = interleaved_medians(
        {"step": step, "forward op": forward, "backward op": backward}, warmup=3, repeats=a.rounds
    )
    ms = {k: v * 1e3 for k, v in ms.items()}
    ms["rest of the step"] = ms["step"] - ms["forward op"] - ms["backward op"]
    print(f"config {a.config} LSTM x1, {a.precision}, native runner, medians of {a.rounds} rounds:")
    for name, value in ms.items():
        print(f"  {name:<18} {value:8.1f} ms  {value / ms['step']:5.0%}")


if __name__ == "__main__":
    main()
