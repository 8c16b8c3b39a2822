"""The GRU's hand-written fused kernel: its declared ``Recurrence.kernel``, which the fused
runner runs under XLA instead of the generic fused recurrence (``seqkit_plugins.fused_recurrence``),
kept because it measured faster than it (``benchmarks/kernels_vs_generic.py``: generic/kernel 0.68
in a training step of configuration A).

It takes the projected inputs of every step, time-major ``xp`` ``[T, B, 3H]``
(``cell.project_inputs`` done once, outside), the initial state and the recurrent weights in
PyTorch's layout ``weight_hh`` ``[3H, H]``, and returns ``(hs [T, B, H], final_state)``. ``hs``
is the state h_t after every step (where the mask is false, the state carried through).

The forward loop keeps what the backward needs (activated gates, states) in one buffer a step.
The backward loop (``tf.custom_gradient``) carries only the recurrence: the gate gradients dz_t
and dh_{t-1} = dz_t @ W_hh. Everything that does not depend on the carried gradients (gate
derivatives, their products) is computed for all steps at once before the loop, and the weight
gradient is ONE matmul after it: dW_hh = sum_t dz_t^T h_{t-1} = dZ^T H_prev ``[3H, T*B] @
[T*B, H]``. The input projection's gradient flows from ``dxp`` through ordinary autodiff.

Masks: ``keep`` ``[T, B, 1]`` (bool, true where the step counts). Where it is false the state
passes through unchanged, and its gradient likewise.

    hs, (h,) = gru_recurrence(xp, h0, weight_hh, bias_hh, keep)      # B batch, T time, H hidden
"""

from __future__ import annotations

import tensorflow as tf

from seqkit_plugins.fused_recurrence import loop, previous, steps_of, weight_grad, zeros_if_none


def gru_recurrence(xp, h0, weight_hh, bias_hh, keep=None):
    """``xp`` = W_ih x_t + b_ih ``[T, B, 3H]`` -> ``(hs [T, B, H], (h_T,))``; reset after matmul."""

    @tf.custom_gradient
    def run(xp, h0, weight_hh, bias_hh):
        steps, w_t = steps_of(xp), tf.transpose(weight_hh)  # [H, 3H]

        def body(t, h):
            hh = tf.matmul(h, w_t) + bias_hh
            x_r, x_z, x_n = tf.split(xp[t], 3, axis=-1)
            h_r, h_z, h_n = tf.split(hh, 3, axis=-1)
            r, z = tf.sigmoid(x_r + h_r), tf.sigmoid(x_z + h_z)
            n = tf.tanh(x_n + r * h_n)
            h_new = n + z * (h - n)
            if keep is not None:
                h_new = tf.where(keep[t], h_new, h)
            return h_new, [tf.concat([r, z, n, h_n], -1), h_new]

        h, (saved, hs) = loop(steps, body, h0, 2, xp.dtype)

        def grad(dhs, dh_last):
            dhs = zeros_if_none(dhs, hs)
            r, z, n, h_n = tf.split(saved, 4, axis=-1)
            h_prev = previous(h0, hs)
            k_n = (1 - z) * (1 - n * n)  # d pre-activation of n / dh_t
            # d(W_hh h + b_hh) / dh_t, blocks r, z, n
            k_hh = tf.concat([k_n * h_n * r * (1 - r), (h_prev - n) * z * (1 - z), k_n * r], -1)
            direct = z  # dh_{t-1} += dh_t * z
            if keep is not None:
                kf = tf.cast(keep, xp.dtype)
                k_n, k_hh, direct = k_n * kf, k_hh * kf, z * kf + (1 - kf)

            def back(t, dh):
                dh = dh + dhs[t]
                dhh = tf.tile(dh, [1, 3]) * k_hh[t]
                return tf.matmul(dhh, weight_hh) + dh * direct[t], [dh]

            dh0, (dh,) = loop(steps, back, zeros_if_none(dh_last, h), 1, xp.dtype, reverse=True)
            dhh = tf.tile(dh, [1, 1, 3]) * k_hh  # [T, B, 3H]
            dxp = tf.concat([dhh[..., : 2 * k_n.shape[-1]], dh * k_n], -1)
            db = tf.reduce_sum(dhh, axis=[0, 1])
            return dxp, dh0, weight_grad(dhh, h_prev), db

        return (hs, h), grad

    hs, h = run(xp, h0, weight_hh, bias_hh)
    return hs, (h,)


def gru_kernel(recurrence, xp, state, keep):
    """The GRU's ``seqkit.Kernel``: ``gru_recurrence`` for its declaration (``bias_hh`` inside
    the recurrence, since the reset gate multiplies it)."""
    (h0,) = state
    weight = tf.convert_to_tensor(recurrence.weight, xp.dtype)
    return gru_recurrence(xp, h0, weight, tf.convert_to_tensor(recurrence.bias, xp.dtype), keep)
