"""``TokenRows``: a runner's inputs given as the rows ``ids`` of a ``table``, not yet gathered.

An embedding encoder's output is ``table[ids]`` ``[B, T, I]``: ``B * T`` copies of at most ``V``
distinct rows. A cell's input projection acts on each row alone (``[..., I] -> [..., P]``), so
the projection of a gathered row is the gathered row of the projected table:

    project(table[ids]) == project(table)[ids]

and where the table has fewer rows than the step has tokens (a character model: V = 65 against
B * T = 2,048), ``project_rows`` projects the ``V`` rows and gathers ``[B, T, P]`` from them. The
values are the same to float32 rounding; the cost of the projection falls from ``B * T`` rows to
``V``, forward and backward (its gradient is each id's rows summed, then one small matmul). For
config A's LSTM step (``benchmarks/compare.py``) that is 0.81 of its 4.2 GFLOP.

A runner that says ``takes_token_rows = True`` receives them from ``SequenceModel`` for its
first layer (a model with an embedding encoder, and no dropout on the embedded inputs in
training); every other runner receives the gathered tensor, as before.

    rows = TokenRows(table, ids)       # table [V, I], ids [B, T]
    rows.shape, rows.dtype             # [B, T, I] and the table's, as the gathered tensor's
    rows._replace(ids=tf.transpose(rows.ids))  # other rows of the same table (a NamedTuple)
    project_rows(cell.project_inputs, rows)   # [B, T, P]; gather=: a runner's own gather
    dense_inputs(rows)                 # table[ids], for a path that needs the tensor
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf


class TokenRows(NamedTuple):
    """``table[ids]`` ``[B, T, I]``, as the table ``[V, I]`` and the ids ``[B, T]``."""

    table: tf.Tensor
    ids: tf.Tensor

    @property
    def shape(self) -> tf.TensorShape:
        """The shape of the gathered tensor, ``[B, T, I]``."""
        return self.ids.shape.concatenate(self.table.shape[-1:])

    @property
    def dtype(self) -> tf.DType:
        """The dtype of the gathered tensor: the table's."""
        return self.table.dtype


def dense_inputs(inputs) -> tf.Tensor:
    """``inputs`` as a tensor: ``TokenRows`` gathered, a tensor as it is."""
    if isinstance(inputs, TokenRows):
        return tf.gather(inputs.table, inputs.ids)
    return inputs


def projects_table(inputs) -> bool:
    """Whether ``project_rows`` projects ``inputs``' table rather than its gathered rows: a
    ``TokenRows`` whose table has fewer rows than its ids (both known while tracing)."""
    if not isinstance(inputs, TokenRows):
        return False
    rows, tokens = inputs.table.shape[0], inputs.ids.shape.num_elements()
    return rows is not None and tokens is not None and rows < tokens


def project_rows(project: Callable[[tf.Tensor], tf.Tensor], inputs, gather=tf.gather) -> tf.Tensor:
    """``project(dense_inputs(inputs))`` for a ``project`` that acts on each row alone
    (``[..., I] -> [..., P]``): on the table's rows, then gathered, where that is fewer rows.
    ``gather(table, ids)`` is ``tf.gather`` or a runner's own (the native runner's sums the
    rows' gradients in a native op)."""
    if projects_table(inputs):
        return gather(project(inputs.table), inputs.ids)
    return project(dense_inputs(inputs))
