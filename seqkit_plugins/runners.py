"""Runners: the ways of unrolling a cell over ``[batch, time, features]``.

    python  a plain Python loop over the steps: eager, easy to read and to debug
    graph   a ``tf.function`` with a ``tf.while_loop``: one graph for any sequence length
    xla     the same loop, compiled by XLA with the whole training step that runs it

All three project the inputs of every step at once (``cell.project_inputs``) and then run
``cell.step`` per step. Past a sequence's end (``mask`` false) the state is carried through
unchanged and the output is zero.
"""

from __future__ import annotations

import functools
import weakref

import tensorflow as tf

import seqkit
from seqkit.errors import ShapeError


def check_inputs(cell: seqkit.Cell, inputs: tf.Tensor, initial_state, mask) -> None:
    """Name what is wrong with the shapes of a runner's arguments."""
    if inputs.shape.rank != 3:
        raise ShapeError(
            f"runner: inputs must be [batch, time, features], got shape {inputs.shape}."
        )
    if inputs.shape[-1] is not None and inputs.shape[-1] != cell.input_size:
        raise ShapeError(
            f"runner: inputs have {inputs.shape[-1]} features but the cell takes {cell.input_size}."
        )
    if len(initial_state) != len(cell.state_size):
        raise ShapeError(
            f"runner: the state has {len(initial_state)} tensors, the cell expects "
            f"{len(cell.state_size)} (state_size {cell.state_size})."
        )
    if mask is not None and mask.shape.rank != 2:
        raise ShapeError(f"runner: mask must be [batch, time], got shape {mask.shape}.")


def masked_update(keep: tf.Tensor, output, new_state, old_state):
    """Where ``keep`` ``[B, 1]`` is false: a zero output and the old state."""
    output = tf.where(keep, output, tf.zeros_like(output))
    state = tuple(tf.where(keep, n, o) for n, o in zip(new_state, old_state, strict=True))
    return output, state


def python_unroll(cell, inputs, initial_state, mask=None):
    """The loop, as plain Python over the steps (the length must be known)."""
    projected = cell.project_inputs(inputs)
    state = tuple(initial_state)
    outputs = []
    for t in range(inputs.shape[1]):
        output, new_state = cell.step(projected[:, t], state)
        if mask is not None:
            output, new_state = masked_update(mask[:, t, None], output, new_state, state)
        outputs.append(output)
        state = tuple(new_state)
    if not outputs:
        return tf.zeros([tf.shape(inputs)[0], 0, cell.output_size], projected.dtype), state
    return tf.stack(outputs, axis=1), state


def while_unroll(cell, inputs, initial_state, mask=None):
    """The loop as a ``tf.while_loop`` over time-major tensors, for any length."""
    if inputs.shape[1] == 0:  # no steps: XLA cannot compile a loop body that reads an empty list
        return python_unroll(cell, inputs, initial_state, mask)
    projected = tf.transpose(cell.project_inputs(inputs), [1, 0, 2])  # [T, B, P]
    steps = tf.shape(projected)[0]
    inputs_ta = tf.TensorArray(projected.dtype, size=steps, element_shape=projected.shape[1:])
    inputs_ta = inputs_ta.unstack(projected)
    batch = tf.shape(inputs)[0]
    outputs_ta = tf.TensorArray(
        projected.dtype, size=steps, element_shape=tf.TensorShape([None, cell.output_size])
    )
    if mask is not None:
        mask_ta = tf.TensorArray(tf.bool, size=steps).unstack(tf.transpose(mask)[..., None])

    def body(t, state, outputs_ta):
        output, new_state = cell.step(inputs_ta.read(t), state)
        if mask is not None:
            output, new_state = masked_update(mask_ta.read(t), output, new_state, state)
        return t + 1, tuple(new_state), outputs_ta.write(t, output)

    _, state, outputs_ta = tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (tf.constant(0), tuple(initial_state), outputs_ta),
        maximum_iterations=steps,  # XLA needs the bound to size the gradient's accumulators
    )
    outputs = outputs_ta.stack()  # [T, B, O]
    outputs = tf.reshape(outputs, [steps, batch, cell.output_size])
    return tf.transpose(outputs, [1, 0, 2]), state


class PythonRunner(seqkit.Runner):
    """A plain Python loop: eager, step by step; the easiest to read and debug."""

    def run(self, cell, inputs, initial_state, mask=None):
        inputs = tf.convert_to_tensor(inputs)
        check_inputs(cell, inputs, initial_state, mask)
        if inputs.shape[1] is None:
            raise ShapeError("python runner: the sequence length must be known; use 'graph'.")
        return python_unroll(cell, inputs, initial_state, mask)


class CompiledPerCell:
    """``unroll(cell, ...)`` as a ``tf.function`` of its own for each cell, made on first use.

    One function shared by every cell would be traced again for each new cell (a Python
    argument), and a program that builds several models would see TensorFlow's retracing
    warning; a function per cell is traced once per input signature.
    """

    def __init__(self, unroll):
        self._unroll = unroll
        self._functions = weakref.WeakKeyDictionary()  # cell -> its function

    def __call__(self, cell, *args):
        function = self._functions.get(cell)
        if function is None:
            function = tf.function(
                functools.partial(_unroll_alive, self._unroll, weakref.ref(cell))
            )
            self._functions[cell] = function
        return function(*args)


def _unroll_alive(unroll, cell_ref, *args):
    """``unroll`` of the cell behind ``cell_ref``: a function that held the cell itself would
    keep its own key of the ``WeakKeyDictionary`` alive, and no cell would ever be freed."""
    return unroll(cell_ref(), *args)


class GraphRunner(seqkit.Runner):
    """A ``tf.function`` with a while loop: one traced graph for every sequence length."""

    def __init__(self):
        self._unroll = CompiledPerCell(while_unroll)

    def run(self, cell, inputs, initial_state, mask=None):
        inputs = tf.convert_to_tensor(inputs)
        check_inputs(cell, inputs, initial_state, mask)
        return self._unroll(cell, inputs, tuple(initial_state), mask)


class XLARunner(GraphRunner):
    """The graph runner's loop, compiled by XLA together with the step that uses it.

    XLA cannot compile a loop apart from its gradient, so ``jit_compile`` asks the code that
    runs the model (``seqkit.Trainer``'s update, sampling) to compile its whole step. Called
    eagerly, the loop runs as the graph runner's does.
    """

    jit_compile = True

    def run(self, cell, inputs, initial_state, mask=None):
        if tf.executing_eagerly():
            return super().run(cell, inputs, initial_state, mask)
        inputs = tf.convert_to_tensor(inputs)
        check_inputs(cell, inputs, initial_state, mask)
        return while_unroll(cell, inputs, tuple(initial_state), mask)  # inlined in the step


@seqkit.hookimpl
def seqkit_register_runners(register):
    register("python", PythonRunner)
    register("graph", GraphRunner)
    register("xla", XLARunner)
