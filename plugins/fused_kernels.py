"""Hand-written fused kernels for the LSTM and the GRU: overrides of the generic fused recurrence
(``seqkit_plugins.fused_recurrence``), kept because they measure faster than it (the vanilla
cell's was dropped: the generic path trains it as fast; see ``seqkit_plugins.fused.KERNELS``).

Each function takes the projected inputs of every step, time-major ``xp`` ``[T, B, G*H]``
(``cell.project_inputs`` done once, outside), the initial state and the recurrent weights in
PyTorch's layout ``weight_hh`` ``[G*H, H]``, and returns ``(hs [T, B, H], final_state)``. ``hs``
is the state h_t after every step (where the mask is false, the state carried through).

The forward loop keeps what the backward needs (activated gates, states) in one buffer a step.
The backward loop (``tf.custom_gradient``) carries only the recurrence: the gate gradients dz_t
and dh_{t-1} = dz_t @ W_hh. Everything that does not depend on the carried gradients (gate
derivatives, their products) is computed for all steps at once before the loop, and the weight
gradient is ONE matmul after it: dW_hh = sum_t dz_t^T h_{t-1} = dZ^T H_prev ``[G*H, T*B] @
[T*B, H]``. The input projection's gradient flows from ``dxp`` through ordinary autodiff.

Masks: ``keep`` ``[T, B, 1]`` (bool, true where the step counts). Where it is false the state
passes through unchanged, and its gradient likewise.

    hs, (h, c) = lstm_recurrence(xp, h0, c0, weight_hh, keep)       # B batch, T time, H hidden
"""

from __future__ import annotations

import tensorflow as tf

from seqkit_plugins.fused_recurrence import loop, previous, steps_of, weight_grad, zeros_if_none

# -- LSTM --------------------------------------------------------------------------------------


def _lstm_activation(hidden: int, dtype):
    """``(scale, shift)`` ``[4H]`` such that ``tanh(z * scale) * scale + shift`` is
    ``[sigmoid(z_i), sigmoid(z_f), tanh(z_g), sigmoid(z_o)]``."""
    half = tf.fill([hidden], tf.constant(0.5, dtype))
    one, zero = tf.ones([hidden], dtype), tf.zeros([hidden], dtype)
    return tf.concat([half, half, one, half], 0), tf.concat([half, half, zero, half], 0)


def lstm_recurrence(xp, h0, c0, weight_hh, keep=None):
    """``xp`` = W_ih x_t + b_ih + b_hh ``[T, B, 4H]`` -> ``(hs [T, B, H], (h_T, c_T))``."""

    @tf.custom_gradient
    def run(xp, h0, c0, weight_hh):
        steps, w_t = steps_of(xp), tf.transpose(weight_hh)  # [H, 4H]
        scale, shift = _lstm_activation(weight_hh.shape[-1], xp.dtype)

        def body(t, carry):
            h, c = carry
            z = xp[t] + tf.matmul(h, w_t)
            # all four activations as one tanh over [B, 4H]: sigmoid(x) = tanh(x/2)/2 + 1/2
            # (i, f, o), tanh(x) (g). One pass over contiguous memory instead of four over
            # strided slices: about 30% off the forward step under XLA (B 32, H 256).
            gates = tf.tanh(z * scale) * scale + shift  # [i, f, g, o], activated
            i, f, g, o = tf.split(gates, 4, axis=-1)
            c_new = f * c + i * g
            h_new = o * tf.tanh(c_new)
            if keep is not None:
                h_new = tf.where(keep[t], h_new, h)
                c_new = tf.where(keep[t], c_new, c)
            return (h_new, c_new), [gates, h_new, c_new]

        (h, c), (gates, hs, cs) = loop(steps, body, (h0, c0), 3, xp.dtype)

        def grad(dhs, dh_last, dc_last):
            dhs = zeros_if_none(dhs, hs)
            i, f, g, o = tf.split(gates, 4, axis=-1)
            c_prev = previous(c0, cs)
            tc = tf.tanh(cs)  # where keep is 0 these are the carried states: unused, finite
            # dz = [dc*g*i(1-i), dc*c_prev*f(1-f), dc*i(1-g^2)] ++ [dh*tc*o(1-o)]
            k = tf.concat(  # [T, B, 4H]: dz = [dc, dc, dc, dh] * k
                [g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g), tc * o * (1 - o)], -1
            )
            p = o * (1 - tc * tc)  # dc_t += dh_t * p
            if keep is not None:
                kf = tf.cast(keep, xp.dtype)
                k, p, f = k * kf, p * kf, f * kf + (1 - kf)

            def back(t, carry):
                dh, dc = carry
                dh = dh + dhs[t]
                dc = dc + dh * p[t]
                dz = tf.concat([dc, dc, dc, dh], -1) * k[t]  # one product: ~15% off the step
                dh_prev = tf.matmul(dz, weight_hh)
                if keep is not None:
                    dh_prev = dh_prev + (1 - kf[t]) * dh
                return (dh_prev, dc * f[t]), [dz]

            carry = (zeros_if_none(dh_last, h), zeros_if_none(dc_last, c))
            (dh0, dc0), (dz,) = loop(steps, back, carry, 1, xp.dtype, reverse=True)
            return dz, dh0, dc0, weight_grad(dz, previous(h0, hs))

        return (hs, h, c), grad

    hs, h, c = run(xp, h0, c0, weight_hh)
    return hs, (h, c)


# -- GRU ---------------------------------------------------------------------------------------


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
