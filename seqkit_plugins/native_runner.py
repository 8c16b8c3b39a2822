"""The native runner: a cell's declared native kernel (``Recurrence.native_kernel``, a TensorFlow
custom op in C++) inside a plain ``tf.function`` step, without XLA (XLA cannot compile a custom
op).

    model = seqkit.SequenceModel("lstm", ..., runner="native")   # "auto" picks it where it can

It supports a cell whose recurrence declares a native kernel whose library builds and loads
(``seqkit.native.loading``: built on first use, cached; where it cannot, said once on stderr, and
``runner="auto"`` goes on to the fused runner's XLA kernels). It projects the inputs of every step
in one matmul, as the fused runner does (of a first layer's ``TokenRows``, the table's rows, which a
kernel that ``takes_rows`` reads by id: ``projected_inputs``), and runs the native kernel over the
sequence in float32, batch-major as the model's tensors are (the fused runner's XLA kernels are
time-major: four transposes a layer, of the inputs, the outputs and their gradients, about 1 ms of
thread time in a profile of config A's LSTM step, though the step's time measured the same without
them). In another compute dtype (``mixed_bfloat16``) the projected inputs and the state are cast to
float32 for the kernel and its outputs back (the recurrence accumulates in float32 as
``mixed_bfloat16`` asks, and multiplies by the recurrent weight in bfloat16 where the CPU has
bfloat16 dot instructions: ``native_kernels``; the kernel's XLA form run without XLA was 0.62x
float32's speed on a Zen 5 with avx512_bf16). Its graphs hold custom ops (``custom_ops``), so no
SavedModel is built from them.

It agrees with the ``python`` runner to float32 rounding, outputs and gradients, with masks.
"""

from __future__ import annotations

import tensorflow as tf

import seqkit
from seqkit.interfaces import declared_recurrence, project_rows
from seqkit.interfaces.token_rows import projects_table
from seqkit.training.precision import cast_floating
from seqkit_plugins.fused import FusedRunner, fused_unroll, xla_kernel
from seqkit_plugins.native_kernels import gather_rows


def native_kernel(recurrence: seqkit.Recurrence, kernels: bool = True):
    """The kernel the native runner runs: the declared native one (in float32, whatever the
    compute dtype), else what the fused runner would run."""
    if recurrence.native_kernel is None:
        return xla_kernel(recurrence, kernels)
    return in_float32(recurrence.native_kernel)


def in_float32(kernel):
    """``kernel`` run in float32: inputs and state cast to it, outputs and state cast back to the
    dtype of ``xp`` (a no-op in float32)."""

    def run(recurrence, xp, state, keep):
        if xp.dtype == tf.float32:
            return kernel(recurrence, xp, state, keep)
        outputs, final = kernel(recurrence, *cast_floating((xp, state), tf.float32), keep)
        return cast_floating((outputs, final), xp.dtype)

    return run


def projected_inputs(cell, inputs, takes_rows: bool):
    """The kernel's ``xp``: ``[B, T, P]``, or, from ``TokenRows`` whose table is projected (V
    rows fewer than the tokens), the projected table's rows where the kernel ``takes_rows``,
    else those rows gathered (their gradient summed in a native op)."""
    if takes_rows and projects_table(inputs):
        return inputs._replace(table=cell.project_inputs(inputs.table))
    return project_rows(cell.project_inputs, inputs, gather_rows)


def native_unroll(cell, inputs, initial_state, mask=None, kernels=True, choose=native_kernel):
    """``inputs`` ``[B, T, I]`` -> ``(outputs [B, T, O], final_state)`` on the cell's native
    kernel, batch-major throughout; zeros off the mask. A cell without one (or no steps) runs
    as the fused runner runs it."""
    recurrence = declared_recurrence(cell)
    if inputs.shape[1] == 0 or recurrence is None or recurrence.native_kernel is None:
        return fused_unroll(cell, inputs, initial_state, mask, kernels, choose)
    xp = projected_inputs(cell, inputs, recurrence.native_kernel.takes_rows)
    state = tuple(tf.convert_to_tensor(s, xp.dtype) for s in initial_state)
    keep = None if mask is None else mask[..., None]  # [B, T, 1]
    outputs, final = choose(recurrence, kernels)(recurrence, xp, state, keep)
    if keep is not None:
        outputs = tf.where(keep, outputs, tf.zeros_like(outputs))
    return outputs, final


class NativeRunner(FusedRunner):
    """A declared native kernel in a plain ``tf.function`` (no XLA around it)."""

    jit_compile = False
    custom_ops = True
    choose = staticmethod(native_kernel)
    unroll = staticmethod(native_unroll)

    def supports(self, cell: seqkit.Cell) -> bool:
        recurrence = cell.recurrence
        if recurrence is None or recurrence.native_kernel is None:
            return False
        return recurrence.native_kernel.available()

    def unsupported(self, cell: seqkit.Cell) -> str:
        return (
            f"native runner: {type(cell).__name__} declares no native kernel, or its library "
            f"did not build or load (see the line seqkit printed); use runner 'fused' (or "
            f"'auto') for it."
        )


@seqkit.hookimpl
def seqkit_register_runners(register):
    register("native", NativeRunner)
