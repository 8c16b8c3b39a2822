"""The LSTM's hand-written fused kernel: its declared ``Recurrence.kernel``, which the fused
runner runs under XLA instead of the generic fused recurrence (``seqkit_plugins.fused_recurrence``),
kept because it measured faster than it (``benchmarks/kernels_vs_generic.py``: generic/kernel 0.87
in a training step of configuration A).

It takes the projected inputs of every step, time-major ``xp`` ``[T, B, 4H]``
(``cell.project_inputs`` done once, outside), the initial state and the recurrent weights in
PyTorch's layout ``weight_hh`` ``[4H, H]``, and returns ``(hs [T, B, H], final_state)``. ``hs``
is the state h_t after every step (where the mask is false, the state carried through).

The forward loop keeps what the backward needs (activated gates, states) in one buffer a step.
The backward loop (``tf.custom_gradient``) carries only the recurrence: the gate gradients dz_t
and dh_{t-1} = dz_t @ W_hh. Everything that does not depend on the carried gradients (gate
derivatives, their products) is computed for all steps at once before the loop, and the weight
gradient is ONE matmul after it: dW_hh = sum_t dz_t^T h_{t-1} = dZ^T H_prev ``[4H, T*B] @
[T*B, H]``. The input projection's gradient flows from ``dxp`` through ordinary autodiff.

Masks: ``keep`` ``[T, B, 1]`` (bool, true where the step counts). Where it is false the state
passes through unchanged, and its gradient likewise.

    hs, (h, c) = lstm_recurrence(xp, h0, c0, weight_hh, keep)       # B batch, T time, H hidden
"""

from __future__ import annotations

import tensorflow as tf

from seqkit_plugins.fused_recurrence import loop, previous, steps_of, weight_grad, zeros_if_none


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


def lstm_kernel(recurrence, xp, state, keep):
    """The LSTM's ``seqkit.Kernel``: ``lstm_recurrence`` for its declaration (no recurrent bias:
    ``b_hh`` is in ``project_inputs``)."""
    h0, c0 = state
    return lstm_recurrence(xp, h0, c0, tf.convert_to_tensor(recurrence.weight, xp.dtype), keep)
