"""The native runner: a cell's declared native kernel (``Recurrence.native_kernel``, a TensorFlow
custom op in C++) inside a plain ``tf.function`` step, without XLA (XLA cannot compile a custom
op).

    model = seqkit.SequenceModel("lstm", ..., runner="native")   # "auto" picks it where it can

It supports a cell whose recurrence declares a native kernel whose library builds and loads
(``seqkit.native.loading``: built on first use, cached; where it cannot, said once on stderr, and
``runner="auto"`` goes on to the fused runner's XLA kernels). It projects the inputs of every
step in one matmul, as the fused runner does, and runs the native kernel over the sequence in
float32; in another compute dtype (``mixed_bfloat16``) it runs the cell's XLA kernel, without
XLA. Its graphs hold custom ops (``custom_ops``), so no SavedModel is built from them.

It agrees with the ``python`` runner to float32 rounding, outputs and gradients, with masks.
"""

from __future__ import annotations

import tensorflow as tf

import seqkit
from seqkit_plugins.fused import FusedRunner, xla_kernel


def native_kernel(recurrence: seqkit.Recurrence, kernels: bool = True):
    """The kernel the native runner runs: the declared native one over float32 inputs, else
    what the fused runner would run."""
    fallback = xla_kernel(recurrence, kernels)

    def run(recurrence, xp, state, keep):
        if xp.dtype == tf.float32 and recurrence.native_kernel is not None:
            return recurrence.native_kernel(recurrence, xp, state, keep)
        return fallback(recurrence, xp, state, keep)

    return run


class NativeRunner(FusedRunner):
    """A declared native kernel in a plain ``tf.function`` (no XLA around it)."""

    jit_compile = False
    custom_ops = True
    choose = staticmethod(native_kernel)

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
