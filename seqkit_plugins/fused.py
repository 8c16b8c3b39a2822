"""The fused runner: any cell that declares its recurrence (``seqkit.Recurrence``), with a
hand-written gradient, under XLA.

    model = seqkit.SequenceModel("lstm", ..., runner="fused")    # or "auto", which picks it

For a cell whose ``recurrence`` is not None it projects the inputs of every step in one matmul
(``cell.project_inputs``) and runs the declared recurrence: the cell's own hand-written kernel
where it declares one (``Recurrence.kernel``: the LSTM's and the GRU's), else the generic
``seqkit_plugins.fused_recurrence``: a backward loop that carries only the state's gradient and
dz_t @ W_hh, and a weight gradient that is one matmul after the loop.
``FusedRunner(kernels=False)`` ignores declared kernels and runs the generic path for every cell.
Like the ``xla`` runner it asks the step that runs the model to compile itself with XLA
(``jit_compile``). A cell that declares a linear recurrence (``seqkit.LinearRecurrence``) runs
step by step from its declaration, as the ``xla`` runner runs it (the ``scan`` runner computes
it all at once). A cell that declares neither is not supported.

It agrees with the ``python`` runner to float32 rounding, outputs and gradients, with masks.
"""

from __future__ import annotations

import functools

import tensorflow as tf

import seqkit
from seqkit.interfaces import TokenRows, declared_recurrence, dense_inputs, project_rows
from seqkit_plugins.fused_recurrence import fused_recurrence
from seqkit_plugins.runners import CompiledPerCell, check_inputs, python_unroll, while_unroll


def xla_kernel(recurrence: seqkit.Recurrence, kernels: bool = True):
    """The kernel the fused runner runs: the declared one (``recurrence.kernel``) where there
    is one and ``kernels`` is true, else the generic ``fused_recurrence``."""
    return (recurrence.kernel if kernels else None) or fused_recurrence


def fused_unroll(cell, inputs, initial_state, mask=None, kernels=True, choose=xla_kernel):
    """``inputs`` ``[B, T, I]`` -> ``(outputs [B, T, O], final_state)``; zeros off the mask.

    ``choose(recurrence, kernels)`` picks the kernel that runs the cell's declared recurrence.
    ``inputs`` may be ``TokenRows``: the table's rows are projected where they are fewer."""
    if inputs.shape[1] == 0:
        return python_unroll(cell, dense_inputs(inputs), initial_state, mask)
    recurrence = declared_recurrence(cell)
    if recurrence is None:  # a declared linear recurrence: step by step, from its declaration
        return while_unroll(cell, dense_inputs(inputs), initial_state, mask)
    xp = project_rows(cell.project_inputs, time_major(inputs))  # [T, B, P]
    state = tuple(tf.convert_to_tensor(s, xp.dtype) for s in initial_state)
    keep = None if mask is None else tf.transpose(mask)[..., None]  # [T, B, 1]
    run = choose(recurrence, kernels)
    outputs, final = run(recurrence, xp, state, keep)
    if keep is not None:
        outputs = tf.where(keep, outputs, tf.zeros_like(outputs))
    return tf.transpose(outputs, [1, 0, 2]), final


def time_major(inputs):
    """``[B, T, I]`` inputs as ``[T, B, I]`` (of ``TokenRows``, the ids): before the projection,
    which transposes the narrower tensor."""
    if isinstance(inputs, TokenRows):
        return inputs._replace(ids=tf.transpose(inputs.ids))
    return tf.transpose(inputs, [1, 0, 2])


class FusedRunner(seqkit.Runner):
    """The declared recurrence of a cell with a hand-written gradient, compiled by XLA.

    ``kernels`` (default true) runs a cell's declared kernel (``Recurrence.kernel``) where it
    has one; false runs the generic path for every cell (to compare them). Called eagerly, it runs
    inside a ``tf.function`` (not XLA-compiled: XLA compiles a loop only together with its
    gradient, which an outer eager tape cannot give it).
    """

    jit_compile = True
    takes_token_rows = True  # the projection of an embedding's rows: V rows, not B * T
    choose = staticmethod(xla_kernel)  # (recurrence, kernels) -> the kernel that runs it
    unroll = staticmethod(fused_unroll)  # (cell, inputs, state, mask, kernels, choose=)

    def __init__(self, kernels: bool = True):
        if not isinstance(kernels, bool):
            raise seqkit.OptionError(
                f"fused runner: kernels must be true or false, got {kernels!r}."
            )
        self.kernels = kernels
        self._unroll = functools.partial(self.unroll, choose=self.choose)
        self._graph_unroll = CompiledPerCell(self._unroll)

    def supports(self, cell: seqkit.Cell) -> bool:
        return cell.recurrence is not None or cell.linear_recurrence is not None

    def run(self, cell, inputs, initial_state, mask=None):
        if not isinstance(inputs, TokenRows):
            inputs = tf.convert_to_tensor(inputs, dtype_hint=cell.dtype)
        check_inputs(cell, inputs, initial_state, mask)
        if not self.supports(cell):
            raise seqkit.OptionError(self.unsupported(cell))
        if mask is not None:
            mask = tf.cast(mask, tf.bool)
        unroll = self._graph_unroll if tf.executing_eagerly() else self._unroll
        return unroll(cell, inputs, tuple(initial_state), mask, self.kernels)

    def unsupported(self, cell: seqkit.Cell) -> str:
        """Why ``cell`` cannot run here, and what to do, in one sentence."""
        return (
            f"fused runner: {type(cell).__name__} declares no recurrence (its recurrence is "
            f"None), so it cannot run fused; use runner 'graph' (or 'auto') for it."
        )


@seqkit.hookimpl
def seqkit_register_runners(register):
    register("fused", FusedRunner)
