"""The forms of the parallel scan, side by side: time (forward and backward) and accuracy.

    .venv/bin/python benchmarks/scan_forms.py                  # T 1024 and 4096, batch 32, H 256
    .venv/bin/python benchmarks/scan_forms.py --seqs 256 --batch 4 --hidden 64

Forms of h_t = a_t h_{t-1} + b_t over all t (``seqkit_plugins.linear_scan``):

    blocked    seqkit's without XLA: a loop over ~sqrt(T) positions running all blocks at once,
               a loop over the ~sqrt(T) block ends, one multiply-add (``blocked_linear_scan``)
    loop       seqkit's under XLA: a while loop over the T steps, its gradient a second loop
               in reverse (``loop_scan``)
    sequential a tf.while_loop over the T steps (``tf.scan``), autodiff
    chunk-C    the doubling scan inside chunks of C steps and across the chunks (C = 8 ... 64)
    doubling   the doubling scan over all T at once (no chunks): log2(T) rounds over all steps
    log-space  log h_t = A_t + logcumsumexp(log b_s - A_s), A = cumsum(log a) (the paper's form;
               needs b > 0, as minGRU's log-space variant makes it), h = exp(log h); autodiff

blocked, chunk-C and doubling share the gradient (the same scan run backwards). Each runs
forward and backward in a ``tf.function`` (and compiled by XLA, "+xla"), interleaved
over rounds; accuracy is the largest relative error of h and of dL/da against a float64 loop,
with a_t = sigmoid(N(2, 1)) (long memory) and b_t > 0, relative to the largest value.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from seqkit_plugins import linear_scan as scan  # noqa: E402


def log_space_scan(a, b, h0):
    """The log-space form (b > 0, h0 > 0): autodiff through cumsum and logcumsumexp."""
    log_a = tf.math.log(a)
    stacked = tf.concat([tf.math.log(h0)[None], tf.math.log(b)], 0)
    a_star = tf.pad(tf.cumsum(log_a, axis=0), [[1, 0], [0, 0], [0, 0]])
    log_h = a_star + tf.math.cumulative_logsumexp(stacked - a_star, axis=0)
    return tf.exp(log_h[1:])


def chunked_scan(a, b, chunk):
    """The doubling scan inside chunks of ``chunk`` steps and across the chunks' ends."""
    steps = a.shape[0]
    if steps <= chunk:
        return scan.doubling_scan(a, b)[1]
    chunks = -(-steps // chunk)
    pad = [[0, chunks * chunk - steps], [0, 0], [0, 0]]  # identity steps
    shape = [chunks, chunk, *a.shape[1:]]
    a = tf.reshape(tf.pad(a, pad, constant_values=1.0), shape)  # [n, C, B, H]
    b = tf.reshape(tf.pad(b, pad), shape)
    decay, local = scan.doubling_scan(a, b, axis=1)  # within each chunk, from a zero state
    _, ends = scan.doubling_scan(decay[:, -1], local[:, -1])  # h at each chunk's end
    starts = scan.shifted(ends, 1, 0.0, 0)  # h entering each chunk
    h = local + decay * starts[:, None]
    return tf.reshape(h, [chunks * chunk, *h.shape[2:]])[:steps]


def chunked(size):
    return scan.with_reverse_gradient(lambda a, b: chunked_scan(a, b, size))


def sequential(a, b, h0):
    """A tf.while_loop over the steps (tf.scan), autodiff: the step-by-step baseline."""
    return tf.scan(lambda h, ab: ab[0] * h + ab[1], (a, b), initializer=h0)


FORMS = {
    "blocked": scan.blocked_linear_scan,
    "loop": scan.loop_scan,
    "sequential": sequential,
    "chunk-8": chunked(8),
    "chunk-16": chunked(16),
    "chunk-32": chunked(32),
    "chunk-64": chunked(64),
    "doubling": chunked(1 << 30),
    "log-space": log_space_scan,
}


def with_gradient(form, jit):
    @tf.function(jit_compile=jit)
    def run(a, b, h0, dh):
        with tf.GradientTape() as tape:
            tape.watch([a, b, h0])
            h = form(a, b, h0)
            loss = tf.reduce_sum(h * dh)
        return h, tape.gradient(loss, a)

    return run


def reference(a, b, h0, dh):
    """h and dL/da in float64 by plain loops."""
    h, hs = h0, []
    for t in range(a.shape[0]):
        h = a[t] * h + b[t]
        hs.append(h)
    hs = np.stack(hs)
    g, da = np.zeros_like(h0), np.zeros_like(a)
    for t in reversed(range(a.shape[0])):
        g = dh[t] + (a[t + 1] * g if t + 1 < a.shape[0] else 0)
        da[t] = g * (hs[t - 1] if t else h0)
    return hs, da


def relative_error(got, want):
    """The largest error relative to the largest value."""
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seqs", nargs="+", type=int, default=[1024, 4096])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--forms", nargs="+", default=list(FORMS), choices=list(FORMS))
    parser.add_argument("--xla", action="store_true", help="also compiled by XLA")
    args = parser.parse_args()
    print(f"# batch {args.batch}, hidden {args.hidden}; load {os.getloadavg()[0]:.1f}")
    print("| T | form | ms (graph) | ms (+xla) | rel. error h | rel. error dL/da |")
    print("| --- | --- | --- | --- | --- | --- |")
    for seq in args.seqs:
        rng = np.random.default_rng(0)
        shape = (seq, args.batch, args.hidden)
        a = 1 / (1 + np.exp(-rng.normal(2.0, 1.0, shape)))
        b, h0 = rng.uniform(0.05, 1.0, shape), rng.uniform(0.1, 1.0, shape[1:])
        dh = rng.normal(size=shape)
        small = (slice(None), slice(0, 2), slice(0, 8))  # the reference on a slice: fast
        want_h, want_da = reference(a[small], b[small], h0[:2, :8], dh[small])
        tensors = [tf.constant(x, tf.float32) for x in (a, b, h0, dh)]
        jits = (False, True) if args.xla else (False,)
        runs = {(f, j): with_gradient(FORMS[f], j) for f in args.forms for j in jits}
        errors = {}
        for (name, jit), run in runs.items():  # warm up (compile) and measure accuracy
            h, da = run(*tensors)
            if not jit:
                errors[name] = (
                    relative_error(h.numpy()[small], want_h),
                    relative_error(da.numpy()[small], want_da),
                )
        times = {key: [] for key in runs}
        for _ in range(args.rounds):
            for key, run in runs.items():
                start = time.perf_counter()
                [t.numpy() for t in run(*tensors)]
                times[key].append(1e3 * (time.perf_counter() - start))
        for name in args.forms:
            graph, xla = (statistics.median(times.get((name, j), [np.nan])) for j in (False, True))
            err_h, err_da = errors[name]
            print(f"| {seq} | {name} | {graph:.1f} | {xla:.1f} | {err_h:.1e} | {err_da:.1e} |")
    print(f"# load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
