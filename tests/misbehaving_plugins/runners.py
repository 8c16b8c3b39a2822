"""Runners that break their contract, each in one way (tests/test_bad_plugins.py)."""

import numpy as np
import tensorflow as tf

import seqkit


def unroll(cell, inputs, initial_state):
    """A Python loop over the steps: outputs [B, T, O] and the final state."""
    projected = cell.project_inputs(inputs)
    state, outputs = tuple(initial_state), []
    for t in range(inputs.shape[1]):
        output, state = cell.step(projected[:, t], state)
        outputs.append(output)
    return tf.stack(outputs, axis=1), tuple(state)


class RaisingRunner(seqkit.Runner):
    def run(self, cell, inputs, initial_state, mask=None):
        raise RuntimeError("the loop is not written yet")


class ShortRunner(seqkit.Runner):
    """Drops the last step's output."""

    def run(self, cell, inputs, initial_state, mask=None):
        outputs, state = unroll(cell, inputs, initial_state)
        return outputs[:, :-1], state


class NumpyRunner(seqkit.Runner):
    """Returns its outputs as a NumPy array."""

    def run(self, cell, inputs, initial_state, mask=None):
        outputs, state = unroll(cell, inputs, initial_state)
        return np.asarray(outputs), state


class OutOfMemoryRunner(seqkit.Runner):
    """As a machine too small for long sequences: TensorFlow runs out of memory for more than
    16 steps (training windows of 8 work; validation's longer chunks do not)."""

    def run(self, cell, inputs, initial_state, mask=None):
        if inputs.shape[1] is not None and inputs.shape[1] > 16:
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
        return unroll(cell, inputs, initial_state)


@seqkit.hookimpl
def seqkit_register_runners(register):
    register("bad-raises", RaisingRunner)
    register("bad-short", ShortRunner)
    register("bad-numpy", NumpyRunner)
    register("bad-out-of-memory", OutOfMemoryRunner)
