"""The fused runner: any cell that declares its recurrence (``seqkit.Recurrence``), with a
hand-written gradient, under XLA.

    model = seqkit.SequenceModel("lstm", ..., runner="fused")    # or "auto", which picks it

For a cell whose ``recurrence`` is not None it projects the inputs of every step in one matmul
(``cell.project_inputs``) and runs the declared recurrence (``seqkit_plugins.fused_recurrence``):
a backward loop that carries only the state's gradient and dz_t @ W_hh, and a weight gradient
that is one matmul after the loop. Where a hand-written kernel of a built-in cell measures
faster than that generic path (``KERNELS``, chosen by the declared ``pointwise`` function), it
runs the kernel instead; ``FusedRunner(kernels=False)`` runs the generic path for every cell.
Like the ``xla`` runner it asks the step that runs the model to compile itself with XLA
(``jit_compile``). A cell that declares a linear recurrence (``seqkit.LinearRecurrence``) runs
step by step from its declaration, as the ``xla`` runner runs it (the ``scan`` runner computes
it all at once). A cell that declares neither is not supported.

It agrees with the ``python`` runner to float32 rounding, outputs and gradients, with masks.
"""

from __future__ import annotations

import tensorflow as tf

import seqkit
from seqkit.interfaces import declared_recurrence
from seqkit_plugins.fused_kernels import gru_recurrence, lstm_recurrence
from seqkit_plugins.fused_recurrence import fused_recurrence
from seqkit_plugins.gru import gru_pointwise
from seqkit_plugins.lstm import lstm_pointwise
from seqkit_plugins.runners import CompiledPerCell, check_inputs, python_unroll, while_unroll


def _lstm_kernel(recurrence, xp, state, keep):
    h0, c0 = state
    return lstm_recurrence(xp, h0, c0, tf.convert_to_tensor(recurrence.weight, xp.dtype), keep)


def _gru_kernel(recurrence, xp, state, keep):
    (h0,) = state
    weight = tf.convert_to_tensor(recurrence.weight, xp.dtype)
    return gru_recurrence(xp, h0, weight, tf.convert_to_tensor(recurrence.bias, xp.dtype), keep)


# The hand-written kernels, by the pointwise function they implement and the form of the
# declaration they take (a recurrent bias or none, h first). Each is kept because it measured
# faster than the generic path in a training step (forward, backward, Adam) of the benchmark's
# configuration A (batch 32, seq 64, embed 64, hidden 256): generic/kernel speed 0.68 for the
# GRU and 0.87 for the LSTM (benchmarks/kernels_vs_generic.py, pairs interleaved; indicative,
# a shared 2-core machine). The vanilla cell's kernel measured no faster (1.00 at A, 0.98 at B)
# and was dropped. benchmarks/RESULTS.md has the figures.
KERNELS = {
    lstm_pointwise: (_lstm_kernel, dict(bias=False, hidden_index=0)),
    gru_pointwise: (_gru_kernel, dict(bias=True, hidden_index=0)),
}


def _kernel_for(recurrence):
    kernel, form = KERNELS.get(recurrence.pointwise, (None, None))
    if kernel is None:
        return None
    fits = (recurrence.bias is not None) == form["bias"]
    return kernel if fits and recurrence.hidden_index == form["hidden_index"] else None


def fused_unroll(cell, inputs, initial_state, mask=None, kernels=True):
    """``inputs`` ``[B, T, I]`` -> ``(outputs [B, T, O], final_state)``; zeros off the mask."""
    if inputs.shape[1] == 0:
        return python_unroll(cell, inputs, initial_state, mask)
    recurrence = declared_recurrence(cell)
    if recurrence is None:  # a declared linear recurrence: step by step, from its declaration
        return while_unroll(cell, inputs, initial_state, mask)
    xp = cell.project_inputs(tf.transpose(inputs, [1, 0, 2]))  # [T, B, P]: transpose the narrower
    state = tuple(tf.convert_to_tensor(s, xp.dtype) for s in initial_state)
    keep = None if mask is None else tf.transpose(mask)[..., None]  # [T, B, 1]
    run = (_kernel_for(recurrence) if kernels else None) or fused_recurrence
    outputs, final = run(recurrence, xp, state, keep)
    if keep is not None:
        outputs = tf.where(keep, outputs, tf.zeros_like(outputs))
    return tf.transpose(outputs, [1, 0, 2]), final


class FusedRunner(seqkit.Runner):
    """The declared recurrence of a cell with a hand-written gradient, compiled by XLA.

    ``kernels`` (default true) runs a built-in cell's hand-written kernel where one is kept;
    false runs the generic path for every cell (to compare them). Called eagerly, it runs
    inside a ``tf.function`` (not XLA-compiled: XLA compiles a loop only together with its
    gradient, which an outer eager tape cannot give it).
    """

    jit_compile = True

    def __init__(self, kernels: bool = True):
        if not isinstance(kernels, bool):
            raise seqkit.OptionError(
                f"fused runner: kernels must be true or false, got {kernels!r}."
            )
        self.kernels = kernels
        self._graph_unroll = CompiledPerCell(fused_unroll)

    def supports(self, cell: seqkit.Cell) -> bool:
        return cell.recurrence is not None or cell.linear_recurrence is not None

    def run(self, cell, inputs, initial_state, mask=None):
        inputs = tf.convert_to_tensor(inputs, dtype_hint=cell.dtype)
        check_inputs(cell, inputs, initial_state, mask)
        if not self.supports(cell):
            raise seqkit.OptionError(
                f"fused runner: {type(cell).__name__} declares no recurrence (its recurrence is "
                f"None), so it cannot run fused; use runner 'graph' (or 'auto') for it."
            )
        if mask is not None:
            mask = tf.cast(mask, tf.bool)
        unroll = self._graph_unroll if tf.executing_eagerly() else fused_unroll
        return unroll(cell, inputs, tuple(initial_state), mask, self.kernels)


@seqkit.hookimpl
def seqkit_register_runners(register):
    register("fused", FusedRunner)
