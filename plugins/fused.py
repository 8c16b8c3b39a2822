"""The fused runner: the built-in cells' recurrences with hand-written gradients, under XLA.

    model = seqkit.SequenceModel("lstm", ..., runner="fused")    # or "auto", which picks it

For ``LSTMCell``, ``GRUCell`` and ``VanillaCell`` (exactly those types: a subclass may change
the step) it projects the inputs of every step in one matmul (``cell.project_inputs``) and runs
the recurrence of ``seqkit_plugins.fused_recurrence``, whose backward loop carries only
dz_t @ W_hh and whose weight gradient is one matmul after the loop. Like the ``xla`` runner it
asks the step that runs the model to compile itself with XLA (``jit_compile``). Any other cell is
not supported, so ``runner="auto"`` falls back to ``xla`` for it.

It agrees with the ``python`` runner to float32 rounding, outputs and gradients, with masks.
"""

from __future__ import annotations

import tensorflow as tf

import seqkit
from seqkit_plugins.fused_recurrence import (
    gru_recurrence,
    lstm_recurrence,
    vanilla_recurrence,
)
from seqkit_plugins.gru import GRUCell
from seqkit_plugins.lstm import LSTMCell
from seqkit_plugins.runners import check_inputs, python_unroll
from seqkit_plugins.vanilla import VanillaCell


def _recurrence(cell, xp, state, keep):
    """The cell's recurrence over time-major ``xp`` ``[T, B, P]`` -> ``(hs, final_state)``."""
    kind = type(cell)
    if kind is LSTMCell:
        h0, c0 = state
        return lstm_recurrence(xp, h0, c0, tf.convert_to_tensor(cell.weight_hh), keep)
    if kind is GRUCell:
        (h0,) = state
        weight, bias = tf.convert_to_tensor(cell.weight_hh), tf.convert_to_tensor(cell.bias_hh)
        return gru_recurrence(xp, h0, weight, bias, keep)
    (h0,) = state
    weight = tf.convert_to_tensor(cell.weight_hh)
    return vanilla_recurrence(xp, h0, weight, cell.activation, keep)


def fused_unroll(cell, inputs, initial_state, mask=None):
    """``inputs`` ``[B, T, I]`` -> ``(outputs [B, T, H], final_state)``; zeros off the mask."""
    if inputs.shape[1] == 0:
        return python_unroll(cell, inputs, initial_state, mask)
    xp = cell.project_inputs(tf.transpose(inputs, [1, 0, 2]))  # [T, B, P]: transpose the narrower
    state = tuple(tf.convert_to_tensor(s, xp.dtype) for s in initial_state)
    keep = None if mask is None else tf.transpose(mask)[..., None]  # [T, B, 1]
    hs, final = _recurrence(cell, xp, state, keep)
    if keep is not None:
        hs = tf.where(keep, hs, tf.zeros_like(hs))
    return tf.transpose(hs, [1, 0, 2]), final


class FusedRunner(seqkit.Runner):
    """Fused recurrences with hand-written gradients for the built-in cells, compiled by XLA.

    Called eagerly, it runs inside a ``tf.function`` (not XLA-compiled: XLA compiles a loop only
    together with its gradient, which an outer eager tape cannot give it).
    """

    priority = 30  # above xla: faster wherever it applies
    jit_compile = True

    def __init__(self):
        self._graph_unroll = tf.function(fused_unroll)

    def supports(self, cell: seqkit.Cell) -> bool:
        return type(cell) in (LSTMCell, GRUCell, VanillaCell)

    def run(self, cell, inputs, initial_state, mask=None):
        inputs = tf.convert_to_tensor(inputs, dtype_hint=cell.dtype)
        check_inputs(cell, inputs, initial_state, mask)
        if not self.supports(cell):
            raise seqkit.OptionError(
                f"fused runner: it runs LSTMCell, GRUCell and VanillaCell, not "
                f"{type(cell).__name__}; use runner 'xla' (or 'auto') for other cells."
            )
        if mask is not None:
            mask = tf.cast(mask, tf.bool)
        if tf.executing_eagerly():
            return self._graph_unroll(cell, inputs, tuple(initial_state), mask)
        return fused_unroll(cell, inputs, tuple(initial_state), mask)


@seqkit.hookimpl
def seqkit_register_runners(register):
    register("fused", FusedRunner)
