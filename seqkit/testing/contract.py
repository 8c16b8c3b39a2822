"""What a broken contract raises, and how results are compared (``seqkit.testing``)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from seqkit.errors import PluginError
from seqkit.interfaces import Cell

TOLERANCE = 1e-5  # float32 results that should agree: the same maths, another order of ops


class ContractError(PluginError, AssertionError):
    """A component that breaks the contract of its interface; the message names the check."""


class CellContractError(ContractError):
    """A cell that breaks the ``seqkit.Cell`` contract."""


class RunnerContractError(ContractError):
    """A runner that breaks the ``seqkit.Runner`` contract."""


class LossContractError(ContractError):
    """A loss that breaks the ``seqkit.Loss`` contract."""


class TruncationContractError(ContractError):
    """A truncation strategy that breaks the ``seqkit.TruncationStrategy`` contract."""


def close(a, b, tol: float = TOLERANCE) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol))


def max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)), initial=0))


def reference_unroll(cell: Cell, inputs, state, mask=None):
    """The runner contract as a plain loop of ``cell(x_t, state)``: masked steps keep the state."""
    outputs = []
    for t in range(inputs.shape[1]):
        output, new_state = cell(inputs[:, t], state)
        if mask is not None:
            keep = mask[:, t, None]
            output = tf.where(keep, output, tf.zeros_like(output))
            new_state = tuple(tf.where(keep, n, o) for n, o in zip(new_state, state, strict=True))
        outputs.append(output)
        state = tuple(new_state)
    return tf.stack(outputs, axis=1), state
