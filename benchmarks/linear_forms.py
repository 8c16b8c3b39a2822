"""Why ``seqkit.ops.linear`` takes its weight gradient in two forms: TensorFlow's CPU matmul of
a linear layer ``x [N, I] @ W^T`` (``W [O, I]``) and the two ways of writing its weight
gradient, ``dy^T @ x`` (TensorFlow's own: it transposes ``dy [N, O]``) and ``(x^T @ dy)^T``
(it transposes ``x [N, I]``), at the shapes of seqkit's input projections and heads; and why
its bias gradient is a product ``(ones [4, N] @ dy)[0]``: against TensorFlow's ``BiasAddGrad`` (the
gradient of ``tf.nn.bias_add``) and the ``Sum`` of a broadcast add's gradient, plain and
compiled by XLA with ``dy`` computed by a fused producer (as in a training step). Calls
interleaved round by round; medians, ms.

    .venv/bin/python benchmarks/linear_forms.py
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHAPES = [  # N (batch x seq), I, O: config A's and B's LSTM projection and head
    (2048, 64, 1024),
    (2048, 256, 65),
    (6400, 64, 2048),
    (6400, 512, 65),
    (32768, 64, 512),  # minGRU's projection at batch 32, T 1,024, hidden 256
]


def forms(n: int, n_in: int, n_out: int) -> dict:
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(n, n_in)).astype(np.float32))
    dy = tf.constant(rng.normal(size=(n, n_out)).astype(np.float32))
    w = tf.constant(rng.normal(size=(n_out, n_in)).astype(np.float32))
    return {
        "x @ W^T": tf.function(lambda: tf.matmul(x, w, transpose_b=True)),
        "dy^T @ x": tf.function(lambda: tf.matmul(dy, x, transpose_a=True)),
        "(x^T @ dy)^T": tf.function(lambda: tf.transpose(tf.matmul(x, dy, transpose_a=True))),
        "dy @ W": tf.function(lambda: tf.matmul(dy, w)),
        **bias_gradient_forms(dy),
    }


def bias_gradient_forms(dy) -> dict:
    """The column sum of ``dy [N, O]`` four ways, plain and under XLA (where ``dy`` comes from
    a fused elementwise producer, ``tanh(dy) * 2``, as a bias gradient does in a step)."""
    import tensorflow as tf
    from tensorflow.python.ops import gen_nn_ops

    ones = tf.ones([4, dy.shape[0]])
    sums = {
        "BiasAddGrad": gen_nn_ops.bias_add_grad,
        "Sum": lambda d: tf.reduce_sum(d, 0),
        "ones[1] @ dy": lambda d: tf.matmul(ones[:1], d),
        "(ones[4] @ dy)[0]": lambda d: tf.matmul(ones, d)[0],
    }
    plain = {name: tf.function(lambda f=f: f(dy)) for name, f in sums.items()}
    xla = {
        f"xla {name}": tf.function(lambda f=f: f(tf.tanh(dy) * 2.0), jit_compile=True)
        for name, f in sums.items()
    }
    return {**plain, **xla}


def main(rounds: int = 20) -> None:
    for shape in SHAPES:
        calls = forms(*shape)
        times = {name: [] for name in calls}
        for call in calls.values():
            call().numpy()
        for _ in range(rounds):
            for name, call in calls.items():
                start = time.perf_counter()
                call().numpy()
                times[name].append(time.perf_counter() - start)
        row = "  ".join(f"{k} {statistics.median(v) * 1e3:6.2f}" for k, v in times.items())
        print(f"N {shape[0]:5d} I {shape[1]:4d} O {shape[2]:5d}:  {row}")


if __name__ == "__main__":
    main()
