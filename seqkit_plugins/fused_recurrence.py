"""The fused recurrence of any cell that declares one (``seqkit.Recurrence``), with a
hand-written gradient, as cuDNN and oneDNN run theirs.

The cell's step is ``pointwise(projected_t, h_{t-1} @ W^T + b, state_{t-1})``. The forward loop
does the recurrent matmul and ``pointwise``, and keeps each step's recurrent term and state.
The backward loop (``tf.custom_gradient``) carries only the state's gradient: per step the VJP
of ``pointwise`` (computed again from the kept inputs: elementwise work) and the recurrent
matmul dh_{t-1} += dz_t @ W. The weight gradient is ONE matmul after the loop, dW = dZ^T H_prev
``[G*H, T*B] @ [T*B, H]``, and the bias gradient one sum. The input projection's gradient flows
from ``dxp`` through ordinary autodiff. Variables that ``pointwise`` reads (a peephole, a gain)
get their gradients summed over the steps in the backward loop.

Masks: ``keep`` ``[T, B, 1]`` (bool, true where the step counts). Where it is false the state
passes through unchanged, and its gradient likewise; the step's own gradients are zero.

    outputs, final = fused_recurrence(cell.recurrence, xp, state, keep)   # xp [T, B, P]

The helpers (``loop``, ``weight_grad``, ...) are shared with the hand-written kernels of
``seqkit_plugins.fused_kernels``.
"""

from __future__ import annotations

import tensorflow as tf

import seqkit
from seqkit.training.precision import keeping_autocast


def loop(steps, body, carry, writes: int, dtype, reverse: bool = False):
    """``for t in range(steps)`` (or reversed): ``body(t, carry) -> (carry, [per-step rows])``.

    A ``tf.while_loop`` over TensorArrays (a loop unrolled in Python compiled ~4x slower under
    XLA). Returns the final carry and each per-step row stacked ``[T, ...]``.
    """
    arrays = [tf.TensorArray(dtype, size=steps) for _ in range(writes)]

    def step(i, carry, arrays):
        t = steps - 1 - i if reverse else i
        carry, out = body(t, carry)
        return i + 1, carry, [a.write(t, o) for a, o in zip(arrays, out, strict=True)]

    _, carry, arrays = tf.while_loop(
        lambda i, *_: i < steps, step, (tf.constant(0), carry, arrays), maximum_iterations=steps
    )
    return carry, [a.stack() for a in arrays]


def zeros_if_none(grad, like):
    return tf.zeros_like(like) if grad is None else grad


def weight_grad(dz, h_prev):
    """dW = sum over steps and batch of dz^T h_prev: ``[T, B, G*H], [T, B, H] -> [G*H, H]``."""
    dz2 = tf.reshape(dz, [-1, dz.shape[-1]])
    h2 = tf.reshape(h_prev, [-1, h_prev.shape[-1]])
    return tf.matmul(dz2, h2, transpose_a=True)


def steps_of(xp):
    """The number of steps: a Python int where known (XLA sizes the loop's buffers by it)."""
    static = xp.shape[0]
    return static if static is not None else tf.shape(xp)[0]


def previous(s0, ss):
    """s_{t-1} for every step: ``s0`` then all of ``ss`` but the last ``[T, B, n]``."""
    return tf.concat([s0[None], ss[:-1]], axis=0)


def fused_recurrence(recurrence: seqkit.Recurrence, xp, state, keep=None):
    """``xp`` ``[T, B, P]`` (``project_inputs``, time-major) -> ``(outputs [T, B, O],
    final_state)``. Outputs where ``keep`` is false are unspecified (the runner zeroes them)
    and get no gradient."""
    weight = tf.convert_to_tensor(recurrence.weight, xp.dtype)  # [G*H, H]
    bias = recurrence.bias
    params = [weight] + ([] if bias is None else [tf.convert_to_tensor(bias, xp.dtype)])
    form = StepForm.of(recurrence, xp, params, tuple(state))
    outputs, *final = _custom_gradient_run(form, keep)(xp, *params, *state)
    return outputs, tuple(final)


class StepForm:
    """What the loops need to know of a declared step, found by one trial call at trace time
    (dead code: nothing uses its result, and XLA and TensorFlow prune it).

    ``output_state``: the index of the new-state tensor that ``pointwise`` returns as its output
    (h, for most cells), or None; the loop then keeps it once. ``same_gradient``: whether the
    gradients of projected and recurrent are one tensor (``pointwise`` uses only their sum, as
    the LSTM does); the backward loop then keeps it once.

    ``pointwise`` runs, in the backward pass too, inside the mixed-precision ``autocast`` of
    the forward pass (if any), so that the cell's variables it reads are the same casts there.
    """

    def __init__(self, recurrence, n_state, has_bias, output_state, same_gradient):
        self.pointwise = keeping_autocast(recurrence.pointwise)
        self.hidden = recurrence.hidden_index
        self.n_state, self.has_bias = n_state, has_bias
        self.output_state, self.same_gradient = output_state, same_gradient

    @classmethod
    def of(cls, recurrence, xp, params, state) -> StepForm:
        recurrent = tf.zeros([tf.shape(xp)[1], params[0].shape[0]], xp.dtype)
        x0 = xp[0]
        with tf.GradientTape() as tape:
            tape.watch([x0, recurrent, *state])
            output, new = recurrence.pointwise(x0, recurrent, state)
        output_state = next((k for k, n in enumerate(new) if n is output), None)
        d_x, d_r = tape.gradient(
            [output, *new],
            [x0, recurrent],
            output_gradients=[tf.ones_like(output), *(tf.ones_like(n) for n in new)],
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )
        return cls(recurrence, len(state), len(params) == 2, output_state, d_x is d_r)

    def split_inputs(self, rest):
        """``[bias], *state`` (the custom-gradient function's arguments) -> (bias, state)."""
        return (rest[0], rest[1:]) if self.has_bias else (None, rest)


def _custom_gradient_run(form: StepForm, keep):
    """The custom-gradient function ``(xp, weight, [bias], *state) -> (outputs, *final)``."""

    @tf.custom_gradient
    def run(xp, weight, *rest):
        bias, state0 = form.split_inputs(rest)
        steps = steps_of(xp)
        final, outputs, recurrents, states = _forward(form, xp, weight, bias, state0, keep)

        def grad(d_outputs, *d_final, variables=None):
            variables = list(variables or [])
            prev = [previous(s0, ss) for s0, ss in zip(state0, states, strict=True)]
            back = _backward_step(form, xp, recurrents, prev, weight, keep, variables)
            d_outputs = zeros_if_none(d_outputs, outputs)
            carry = (
                tuple(zeros_if_none(d, s) for d, s in zip(d_final, final, strict=True)),
                tuple(tf.zeros_like(v) for v in variables),
            )
            writes = 1 if form.same_gradient else 2
            (d_state0, d_vars), rows = loop(
                steps, lambda t, c: back(t, c, d_outputs[t]), carry, writes, xp.dtype, True
            )
            d_rec = rows[-1]
            d_params = [weight_grad(d_rec, prev[form.hidden])]
            if form.has_bias:
                d_params.append(tf.reduce_sum(d_rec, axis=[0, 1]))
            d_inputs = [rows[0], *d_params, *d_state0]
            return (d_inputs, list(d_vars)) if variables else d_inputs

        return (outputs, *final), grad

    return run


def _forward(form: StepForm, xp, weight, bias, state0, keep):
    """The forward loop -> ``(final, outputs [T, B, O], recurrents [T, B, G*H], states)``."""
    w_t, shared = tf.transpose(weight), form.output_state  # [H, G*H]

    def body(t, state):
        recurrent = tf.matmul(state[form.hidden], w_t)
        if bias is not None:
            recurrent += bias
        output, new = form.pointwise(xp[t], recurrent, state)
        new = tuple(tf.convert_to_tensor(s) for s in new)
        if keep is not None:
            new = tuple(tf.where(keep[t], n, s) for n, s in zip(new, state, strict=True))
        return new, ([] if shared is not None else [output]) + [recurrent, *new]

    writes = form.n_state + (1 if shared is not None else 2)
    final, rows = loop(steps_of(xp), body, tuple(state0), writes, xp.dtype)
    states = rows[-form.n_state :]
    outputs = states[shared] if shared is not None else rows[0]
    return final, outputs, rows[-form.n_state - 1], states


def _backward_step(form: StepForm, xp, recurrents, prev, weight, keep, variables):
    """The backward loop's body: ``(t, (d_state_t, d_vars), d_output_t) -> ((d_state_{t-1},
    d_vars), [d_projected_t, d_recurrent_t])`` (one of them where they are the same)."""
    shared, n = form.output_state, form.n_state

    def back(t, carry, d_output):
        d_state, d_vars = carry
        x_t, r_t, s_t = xp[t], recurrents[t], tuple(p[t] for p in prev)
        d_state = list(d_state)
        if shared is not None:  # the output is that state after the step: one gradient
            d_state[shared] += d_output
        cotangents = d_state if shared is not None else [d_output, *d_state]
        if keep is not None:  # a skipped step has no gradient of its own; the state's passes
            kf = tf.cast(keep[t], xp.dtype)
            cotangents = [c * kf for c in cotangents]
        with tf.GradientTape() as tape:
            tape.watch([x_t, r_t, *s_t])
            output, new = form.pointwise(x_t, r_t, s_t)
        targets = list(new) if shared is not None else [output, *new]
        grads = tape.gradient(
            targets,
            [x_t, r_t, *s_t, *variables],
            output_gradients=cotangents,
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )
        grads = [tf.convert_to_tensor(g) for g in grads]  # dense, where a gather gave slices
        for g, like in zip(grads, [x_t, r_t, *s_t, *variables], strict=True):
            g.set_shape(like.shape)  # the loops' carries and rows keep their static shapes
        d_x, d_r, d_prev = grads[0], grads[1], list(grads[2 : 2 + n])
        if keep is not None:
            d_prev = [g + (1 - kf) * d for g, d in zip(d_prev, d_state, strict=True)]
        d_prev[form.hidden] += tf.matmul(d_r, weight)
        d_vars = tuple(a + g for a, g in zip(d_vars, grads[2 + n :], strict=True))
        return (tuple(d_prev), d_vars), ([d_r] if form.same_gradient else [d_x, d_r])

    return back
