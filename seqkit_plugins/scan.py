"""The scan runner: a cell that declares a linear recurrence (``seqkit.LinearRecurrence``),
every step at once.

    model = seqkit.SequenceModel("mingru", ..., runner="scan")    # or "auto", which picks it

It projects the inputs of every step in one matmul (``cell.project_inputs``), computes every
step's (a_t, b_t) from the declaration's ``coefficients``, and h_t = a_t * h_{t-1} + b_t for all
t from the initial state by ``seqkit_plugins.linear_scan`` (compiled by XLA, as the runner's
step is by default: one tight loop of multiply-adds over [B, H]; in a plain graph: a blocked
parallel scan in about 2 sqrt(T) dependent steps); the outputs are
the declaration's ``output`` of each h_t. A masked step is a = 1, b = 0, so h passes it
unchanged, and its output is zero, as with every runner. A cell that declares no linear
recurrence is not supported.

It agrees with the ``python`` runner to float32 rounding, outputs and gradients, with masks.
"""

from __future__ import annotations

import tensorflow as tf

import seqkit
from seqkit.interfaces import declared_linear_recurrence
from seqkit_plugins.linear_scan import linear_scan
from seqkit_plugins.runners import CompiledPerCell, check_inputs, python_unroll


def scan_unroll(cell, inputs, initial_state, mask=None):
    """``inputs`` ``[B, T, I]`` -> ``(outputs [B, T, O], (h_T,))``; zeros off the mask."""
    if inputs.shape[1] == 0:
        return python_unroll(cell, inputs, initial_state, mask)
    declaration = declared_linear_recurrence(cell)
    projected = cell.project_inputs(inputs)  # [B, T, P]: batch-major throughout, no transposes
    a, b = declaration.coefficients(projected)  # [B, T, H] each
    (h0,) = initial_state
    keep = None if mask is None else mask[..., None]  # [B, T, 1]
    if keep is not None:
        a = tf.where(keep, a, tf.ones_like(a))
        b = tf.where(keep, b, tf.zeros_like(b))
    h = linear_scan(a, b, tf.convert_to_tensor(h0, b.dtype), axis=1)  # [B, T, H]
    outputs = declaration.outputs(h, projected)
    if keep is not None:
        outputs = tf.where(keep, outputs, tf.zeros_like(outputs))
    return outputs, (h[:, -1],)


class ScanRunner(seqkit.Runner):
    """Every step of a declared linear recurrence at once, by a parallel scan.

    Like the ``xla`` and ``fused`` runners it asks the step that runs the model to compile
    itself with XLA (``jit_compile``): the whole training step so compiled measured 1.2-1.6x
    faster than without (``benchmarks/scan_speed.py``, minGRU and minLSTM at T = 1,024, batch
    4 / hidden 64 and batch 32 / hidden 256; a busy machine), though the scan alone is no
    faster under XLA (``benchmarks/scan_forms.py``): XLA fuses the work around it. Called
    eagerly, it runs inside a ``tf.function`` of its own for each cell.
    """

    jit_compile = True

    def __init__(self):
        self._graph_unroll = CompiledPerCell(scan_unroll)

    def supports(self, cell: seqkit.Cell) -> bool:
        return cell.linear_recurrence is not None

    def run(self, cell, inputs, initial_state, mask=None):
        inputs = tf.convert_to_tensor(inputs, dtype_hint=cell.dtype)
        check_inputs(cell, inputs, initial_state, mask)
        if not self.supports(cell):
            raise seqkit.OptionError(
                f"scan runner: {type(cell).__name__} declares no linear recurrence (its "
                f"linear_recurrence is None), so it cannot run as a scan; use runner 'graph' "
                f"(or 'auto') for it."
            )
        if mask is not None:
            mask = tf.cast(mask, tf.bool)
        unroll = self._graph_unroll if tf.executing_eagerly() else scan_unroll
        return unroll(cell, inputs, tuple(initial_state), mask)


@seqkit.hookimpl
def seqkit_register_runners(register):
    register("scan", ScanRunner)
