"""``LinearRecurrence``: a cell's state update declared as a diagonal linear recurrence,

    h_t = a_t * h_{t-1} + b_t          (elementwise, [B, H])

with ``(a_t, b_t)`` computed from the projected inputs alone, which a scan runner computes for
every step at once. Shapes: B batch, T time, P projected features, H hidden size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import tensorflow as tf

from seqkit.errors import OptionError

if TYPE_CHECKING:
    from seqkit.interfaces.cell import Cell

Coefficients = Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]


@dataclass(frozen=True, eq=False)
class LinearRecurrence:
    """A cell's step declared as a diagonal linear recurrence whose coefficients depend on the
    inputs only, never on the state:

        a_t, b_t  = coefficients(projected_t)        [..., P] -> ([..., H], [..., H])
        h_t       = a_t * h_{t-1} + b_t               elementwise
        output_t  = output(h_t, projected_t)          (h_t itself when ``output`` is None)

    ``projected_t`` is the cell's ``project_inputs`` output; the state is one tensor, ``(h,)``.
    ``coefficients`` is pure TensorFlow, elementwise over the leading axes, so it takes one
    step ``[B, P]`` or all steps ``[B, T, P]`` alike. ``output`` is elementwise too (``[..., H]``
    and ``[..., P]`` -> ``[..., O]``): it may read the step's projected inputs, as the output
    gate of QRNN's fo-pooling does (h_t = o_t * c_t, the state c). A cell declares this by
    returning a LinearRecurrence from its ``linear_recurrence`` property; its ``step`` returns
    ``self.linear_recurrence.step(projected, state)``, so that the step-by-step runners (python,
    graph, xla, fused) and the ``scan`` runner, which computes every h_t at once by a parallel
    scan over ``(a, b)``, use one equation. A masked step is ``a = 1, b = 0``: h is unchanged.

    minGRU (Feng et al. 2024, "Were RNNs All We Needed?"; ``seqkit_plugins.mingru``), whose
    ``project_inputs`` gives ``[W_z x_t + b_z, W_h x_t + b_h]``:

        def mingru_coefficients(projected):
            k, candidate = tf.split(projected, 2, axis=-1)
            return tf.sigmoid(-k), tf.sigmoid(k) * candidate    # 1 - z_t, z_t * h~_t

        @property
        def linear_recurrence(self):
            return seqkit.LinearRecurrence(mingru_coefficients)

        def step(self, projected, state):
            return self.linear_recurrence.step(projected, state)

    A step of the form h_t = f(h_{t-1}, x_t) with f nonlinear in h (GRU, LSTM), or with a gate
    that reads h_{t-1}, does not fit: such a cell declares none (the default).
    """

    coefficients: Coefficients
    output: Callable[[tf.Tensor, tf.Tensor], tf.Tensor] | None = None

    def __post_init__(self):
        if not callable(self.coefficients):
            raise OptionError(
                f"LinearRecurrence: coefficients must be a function projected -> (a, b), got "
                f"{type(self.coefficients).__name__}."
            )
        if self.output is not None and not callable(self.output):
            raise OptionError(
                f"LinearRecurrence: output must be a function (h, projected) -> output or None, "
                f"got "
                f"{type(self.output).__name__}."
            )

    def outputs(self, h: tf.Tensor, projected: tf.Tensor) -> tf.Tensor:
        """The output of each state ``h`` ``[..., H]`` and its step's ``projected`` ``[..., P]``:
        ``output(h, projected)``, or h itself."""
        return h if self.output is None else self.output(h, projected)

    def step(self, projected: tf.Tensor, state) -> tuple[tf.Tensor, tuple[tf.Tensor]]:
        """One step from the declaration: ``(output_t, (h_t,))`` with h_t = a_t h_{t-1} + b_t.

        >>> import tensorflow as tf
        >>> from seqkit.interfaces import LinearRecurrence
        >>> decay = LinearRecurrence(lambda x: (tf.fill(tf.shape(x), 0.5), x))  # a = 1/2, b = x
        >>> output, (h,) = decay.step(tf.constant([[2.0, 0.0]]), (tf.constant([[4.0, 4.0]]),))
        >>> h.numpy()  # 0.5 * 4 + x
        array([[4., 2.]], dtype=float32)
        """
        a, b = self.coefficients(projected)
        (h,) = state
        h = a * h + b
        return self.outputs(h, projected), (h,)


def declared_linear_recurrence(cell: Cell) -> LinearRecurrence | None:
    """``cell.linear_recurrence``, checked against the cell's state: None where the cell
    declares none. Raises ``OptionError`` where the declaration cannot fit the cell."""
    declaration = cell.linear_recurrence
    if declaration is None:
        return None
    kind = type(cell).__name__
    if not isinstance(declaration, LinearRecurrence):
        raise OptionError(
            f"{kind}.linear_recurrence must be a seqkit.LinearRecurrence or None, got "
            f"{type(declaration).__name__}."
        )
    if len(cell.state_size) != 1:
        raise OptionError(
            f"{kind}.linear_recurrence: a linear recurrence has one state tensor h, but the "
            f"cell's state_size is {cell.state_size}; declare none, or keep the state (h,)."
        )
    return declaration
