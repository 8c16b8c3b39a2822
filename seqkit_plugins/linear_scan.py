"""The diagonal linear recurrence h_t = a_t * h_{t-1} + b_t for every t, with a gradient that is
the same recurrence run backwards.

    h = linear_scan(a, b, h0)          a, b [T, B, H], h0 [B, H] -> h [T, B, H]
    h = linear_scan(a, b, h0, axis=1)  a, b [B, T, H] -> h [B, T, H] (the scan runner's layout)

Two forms, chosen by where the graph runs (both exact to float32 rounding, both tested):

- Compiled by XLA (the scan runner's step, ``jit_compile``): ``loop_scan``, one XLA while loop
  over the T steps, each step one multiply-add over all of [B, H] (the parallelism is the batch's
  and the hidden units', not time's), with a hand-written gradient (a second loop, in reverse,
  reading a_{t+1} in place). Each loop writes its step into the buffer of its input (h_t over b_t,
  g_t over dL/dh_t) with XLA's dynamic-update-slice, in place, as Keras's TensorFlow backend does
  for its slice updates: where b and dL/dh have no other use (the scan runner's step) no buffer is
  allocated, zeroed or copied, and the loop runs along the time axis of any layout, so the scan
  runner needs no transposes. XLA runs a loop step with little overhead, and the loop reads a and
  b and writes h once, where every parallel form reads and writes them several times: forward and
  backward at T = 1,024 it took 19.2 ms against 42.4 for the blocked scan at batch 32 / hidden
  256, 1.1 against 2.2 at batch 4 / hidden 64 (``benchmarks/scan_forms.py``, AMD Zen 5). In a
  training step (batch 32, hidden 256, T 1,024, ``benchmarks/scan_speed.py``, three alternated
  runs) writing in place and batch-major took minGRU's step from 86.6-91.6 to 78.2-83.6 ms and
  minLSTM's from 116.4-124.5 to 112.5-116.1 (the step without the recurrence: 68-78 and 91-99): a
  TensorArray zeroed a [T, B, H] buffer for each loop and copied each h_t into it, and time-major
  [T, B, H] cost a transpose of the outputs and two of their gradient. Tried and slower in a
  training step (batch 32, hidden 256, T 1,024): computing (a_t, b_t) inside the loop from the
  projected inputs, so that a and b are never stored (minGRU 1.5x, minLSTM 4.7x the step: XLA's
  code for the gates inside a loop is slow); two loops over halves of the batch (XLA runs them one
  after the other: no gain); dL/da_t = g_t h_{t-1} inside the reverse loop (no gain); k steps a
  loop iteration (k = 2, 4: no gain; 8, 16: slower). Autodiff through ``tf.scan`` is another
  matter: its gradient keeps TensorArrays and took seconds.
- In a plain graph (a ``tf.function`` without XLA, or eagerly), where each step of a while loop
  costs tens of microseconds: ``blocked_scan``, a parallel scan. T is cut into n blocks of
  L ~ sqrt(T) steps; a loop over the L positions runs all blocks at once (each block's h from a
  zero state, and its running product of a's), a loop over the n block ends gives the state
  entering each block, and one multiply-add joins them: about 2 sqrt(T) dependent steps (64 at
  T = 1,024), each over n blocks of [B, H]. Measured against the doubling scan of Hillis and
  Steele (log2(T) rounds over all steps; also in chunks of 16) and the log-space form of the
  paper (logcumsumexp): the fastest of the parallel forms, and as exact as the loop (the
  log-space form's error is about 100 times larger). It never divides by a product of a's, so a
  product that underflows to 0 over thousands of steps (where a naive h_t = A_t (h0 + sum b_s /
  A_s) overflows) only says, correctly, that h0 is forgotten. A length known only when it runs
  takes the doubling scan in a while loop. It scans along axis 0: batch-major inputs are
  transposed to it, and h back.

The gradient: with g_t = dL/dh_t + a_{t+1} g_{t+1} (a scan in reverse over a shifted by one),
dL/db_t = g_t, dL/da_t = g_t h_{t-1} and dL/dh0 = a_0 g_0. Nothing of the forward scan's
rounds is kept for it: only a, h and h0.
"""

from __future__ import annotations

import tensorflow as tf

try:  # where TensorFlow itself asks whether it is tracing for XLA (cond_v2, while_v2 do), and
    # XLA's dynamic-update-slice (which Keras's TensorFlow backend imports from there too)
    from tensorflow.compiler.tf2xla.python import xla
    from tensorflow.python.ops.control_flow_util import GraphOrParentsInXlaContext
except ImportError:  # another TensorFlow layout: the blocked scan, right everywhere
    GraphOrParentsInXlaContext = None


def shifted(x: tf.Tensor, shift, fill: float, axis: int) -> tf.Tensor:
    """``x`` moved ``shift`` steps later along ``axis``; the first ``shift`` steps are ``fill``."""
    rank = x.shape.rank
    head = [slice(None)] * axis + [slice(None, -shift)]
    paddings = [[0, 0]] * axis + [[shift, 0]] + [[0, 0]] * (rank - axis - 1)
    return tf.pad(x[tuple(head)], paddings, constant_values=fill)


def doubling_scan(a: tf.Tensor, b: tf.Tensor, axis: int = 0) -> tuple[tf.Tensor, tf.Tensor]:
    """Inclusive scan along ``axis`` (of known length), from a zero state: ``(prod_{s<=t} a_s,
    h_t)`` for every t, in ceil(log2(length)) rounds."""
    steps = a.shape[axis]
    shift = 1
    while shift < steps:
        b = b + a * shifted(b, shift, 0.0, axis)
        a = a * shifted(a, shift, 1.0, axis)
        shift *= 2
    return a, b


def dynamic_doubling_scan(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """``doubling_scan``'s h along axis 0 for a length known only when it runs (a while loop)."""
    steps = tf.shape(a)[0]

    def body(shift, a, b):
        b = b + a * shifted(b, shift, 0.0, 0)
        a = a * shifted(a, shift, 1.0, 0)
        return shift * 2, a, b

    _, _, b = tf.while_loop(lambda shift, *_: shift < steps, body, (tf.constant(1), a, b))
    return b


def block_length(steps: int) -> int:
    """L of ``blocked_scan``: ~sqrt(T) (a power of 2) up to 32, then 32 until T / 128 is more.

    Measured (a training step of minGRU, batch 32, hidden 256, XLA, AMD EPYC Zen 2): XLA's code
    is fast for 16 <= L <= 64 with at most 128 blocks and several times slower outside it: at
    T = 1,024, L 16 / 32 / 8 took 360 / 375 / 810 ms; at 2,048, L 32 / 64: 738 / 1,217; at
    4,096, L 16 / 32 / 64: 8,575 / 1,740 / 2,690; at 8,192, L 32 / 64 / 128: 28,736 / 11,928 /
    64,352 (``SEQKIT_SCAN_BLOCK``-patched ``benchmarks/scan_speed.py``, 2026-12-05).
    """
    root = 1 << ((max(steps, 2) - 1).bit_length() + 1) // 2  # ~sqrt(T), a power of 2
    by_blocks = 1 << (-(-steps // 128) - 1).bit_length()  # the power of 2 >= T / 128
    return max(min(root, 32), by_blocks)


def blocked_scan(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """h_t = a_t h_{t-1} + b_t along axis 0 from a zero state, in about 2 sqrt(T) dependent
    steps: T cut into n blocks of L steps; a loop over the L positions runs every block at once
    (h and the product of a within each block), then a loop over the n blocks' ends gives the
    state entering each block, and one multiply-add joins them."""
    steps = a.shape[0]
    if steps is None:
        return dynamic_doubling_scan(a, b)
    length = block_length(steps)
    blocks = -(-steps // length)
    pad = [[0, blocks * length - steps]] + [[0, 0]] * (a.shape.rank - 1)  # identity steps
    shape = tf.concat([[blocks, length], tf.shape(a)[1:]], 0)
    a = tf.reshape(tf.pad(a, pad, constant_values=1.0), shape)  # [n, L, B, H]
    b = tf.reshape(tf.pad(b, pad), shape)
    h, decay, local, decays = b[:, 0], a[:, 0], [b[:, 0]], [a[:, 0]]
    for i in range(1, length):  # every block at once, from a zero state
        h = a[:, i] * h + b[:, i]
        decay = decay * a[:, i]
        local.append(h)
        decays.append(decay)
    end, starts = tf.zeros_like(h[0]), []
    for j in range(blocks):  # the state entering each block
        starts.append(end)
        end = decays[-1][j] * end + local[-1][j]
    starts = tf.stack(starts)  # [n, B, H]
    h = tf.stack(local, axis=1) + tf.stack(decays, axis=1) * starts[:, None]
    return tf.reshape(h, tf.concat([[blocks * length], tf.shape(h)[2:]], 0))[:steps]


def step_of(x: tf.Tensor, t, axis: int) -> tf.Tensor:
    """Step ``t`` of ``x`` along the time ``axis`` (a dynamic slice under XLA)."""
    return x[(slice(None),) * axis + (t,)]


def before_each_step(h: tf.Tensor, h0: tf.Tensor, axis: int) -> tf.Tensor:
    """h_{t-1} for every t along ``axis``: ``h0``, then h without its last step."""
    rest = h[(slice(None),) * axis + (slice(None, -1),)]
    return tf.concat([tf.expand_dims(h0, axis), rest], axis)


def input_gradients(g: tf.Tensor, a: tf.Tensor, h: tf.Tensor, h0: tf.Tensor, axis: int = 0):
    """``(dL/da, dL/db, dL/dh0)`` from g_t = dL/dh_t + a_{t+1} g_{t+1}: ``g_t h_{t-1}``, g,
    ``a_0 g_0`` (the module docstring), time along ``axis``."""
    return g * before_each_step(h, h0, axis), g, step_of(a, 0, axis) * step_of(g, 0, axis)


def with_reverse_gradient(scan):
    """``(a, b, h0) -> h`` by ``scan`` (a zero-state scan along axis 0), with h0 folded into the
    first step and the gradient of the module docstring, computed by ``scan`` run backwards."""

    @tf.custom_gradient
    def run(a, b, h0):
        first = a[:1] * h0[None] + b[:1]  # h0 folded into the first step
        h = scan(a, tf.concat([first, b[1:]], 0))

        def gradient(dh):
            following = tf.concat([a[1:], tf.zeros_like(a[:1])], 0)  # a_{t+1}; none after T-1
            g = tf.reverse(scan(tf.reverse(following, [0]), tf.reverse(dh, [0])), [0])
            return input_gradients(g, a, h, h0)

        return h, gradient

    return run


blocked_linear_scan = with_reverse_gradient(blocked_scan)


def length(x: tf.Tensor, axis: int = 0):
    """The length of ``axis``: static where it is known (XLA's trip count), else a tensor."""
    return x.shape[axis] if x.shape[axis] is not None else tf.shape(x)[axis]


def with_step(x: tf.Tensor, t, value: tf.Tensor, axis: int) -> tf.Tensor:
    """``x`` with step ``t`` along ``axis`` replaced by ``value``: an XLA dynamic-update-slice,
    which XLA does in place when ``x`` has no other use."""
    zero = tf.zeros([], tf.int32)
    start = [zero] * x.shape.rank
    start[axis] = tf.cast(t, tf.int32)
    return xla.dynamic_update_slice(x, tf.expand_dims(value, axis), tf.stack(start))


def loop_steps(a: tf.Tensor, b: tf.Tensor, h0: tf.Tensor, axis: int = 0) -> tf.Tensor:
    """h_t = a_t * h_{t-1} + b_t one step at a time from ``h0``, in an XLA while loop that
    overwrites step t of b with h_t: b's buffer becomes h's (nothing allocated or zeroed)."""
    steps = length(a, axis)

    def step(t, h, out):
        h = step_of(a, t, axis) * h + step_of(out, t, axis)  # out's step t is still b_t
        return t + 1, h, with_step(out, t, h, axis)

    _, _, h = tf.while_loop(lambda t, *_: t < steps, step, (tf.constant(0), h0, b))
    return h


def loop_steps_back(a: tf.Tensor, dh: tf.Tensor, axis: int = 0) -> tf.Tensor:
    """g_t = dh_t + a_{t+1} * g_{t+1} from the last step back (g_{T-1} = dh_{T-1}), in an XLA
    while loop that overwrites dh's step t with g_t, reading a_{t+1} in place."""
    steps = length(a, axis)

    def step(t, g, out):  # t from T-2 down to 0; out's step t is still dh_t
        g = step_of(out, t, axis) + step_of(a, t + 1, axis) * g
        return t - 1, g, with_step(out, t, g, axis)

    last = step_of(dh, steps - 1, axis)
    _, _, g = tf.while_loop(lambda t, *_: t >= 0, step, (tf.convert_to_tensor(steps) - 2, last, dh))
    return g


def loop_scan(a: tf.Tensor, b: tf.Tensor, h0: tf.Tensor, axis: int = 0) -> tf.Tensor:
    """h by ``loop_steps`` along the time ``axis``; the gradient of the module docstring by a
    second loop in reverse (``loop_steps_back``). XLA only (its dynamic-update-slice)."""

    @tf.custom_gradient
    def scan(a, b, h0):
        h = loop_steps(a, b, h0, axis)

        def gradient(dh):
            return input_gradients(loop_steps_back(a, dh, axis), a, h, h0, axis)

        return h, gradient

    return scan(a, b, h0)


def time_major(x: tf.Tensor, axis: int) -> tf.Tensor:
    """``x`` with the time ``axis`` moved first (and back again: the permutation of 0 and 1 is
    its own inverse; ``axis`` is 0 or 1)."""
    if axis == 0:
        return x
    perm = [1, 0, *range(2, x.shape.rank)]
    return tf.transpose(x, perm)


def compiling_with_xla() -> bool:
    """Whether the graph being built is compiled by XLA (a ``jit_compile`` function, or inside
    one)."""
    if GraphOrParentsInXlaContext is None or tf.executing_eagerly():
        return False
    return GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def linear_scan(a: tf.Tensor, b: tf.Tensor, h0: tf.Tensor, axis: int = 0) -> tf.Tensor:
    """h_t = a_t * h_{t-1} + b_t for t = 0..T-1 from ``h0``, time along ``axis`` (0: ``a, b``
    [T, B, H]; 1: [B, T, H]; T >= 1), ``h0`` [B, H] -> h shaped like b: the loop under XLA,
    else the blocked scan (the module docstring says why). Half-precision inputs are scanned
    in float32, then cast back."""
    if axis not in (0, 1):
        raise ValueError(f"linear_scan: the time axis must be 0 or 1, got {axis}.")
    dtype = b.dtype
    wide = tf.float32 if dtype in (tf.bfloat16, tf.float16) else dtype
    a, b, h0 = tf.cast(a, wide), tf.cast(b, wide), tf.cast(h0, wide)
    if compiling_with_xla():
        h = loop_scan(a, b, h0, axis)
    else:
        h = time_major(blocked_linear_scan(time_major(a, axis), time_major(b, axis), h0), axis)
    return tf.cast(h, dtype)
