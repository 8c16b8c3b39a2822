"""The checks of ``check_cell`` for a cell that declares its recurrence (``seqkit.Recurrence``):
the declaration fits the cell and computes its ``step``, and the fused runner, which runs the
declaration, agrees with the python runner, which runs ``step`` (``seqkit.testing``)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from seqkit.errors import SeqkitError
from seqkit.interfaces import Cell, Recurrence, declared_recurrence
from seqkit.plugins.registry import default_registry
from seqkit.testing.contract import close, max_diff

STEP = "pointwise(projected, h @ weight^T + bias, state)"


def check_declaration(checker, cell: Cell) -> Recurrence | None:
    """The cell's declared recurrence, if any, fits its state (checked before the cell is first
    called, since its ``step`` may run the declaration); raises through ``checker.fail``."""
    try:
        return declared_recurrence(cell)
    except SeqkitError as exc:
        checker.fail("recurrence", str(exc).rstrip("."))


def check_recurrence(checker, cell: Cell) -> None:
    """Nothing for a cell that declares no recurrence; otherwise the declaration computes the
    step, and the fused runner agrees with the python runner. Each check raises through
    ``checker.fail`` (a ``CellContractError``)."""
    recurrence = check_declaration(checker, cell)
    if recurrence is None:
        return
    declaration_is_the_step(checker, cell, recurrence)
    fused_agrees_with_python(checker, cell)


def declaration_is_the_step(checker, cell: Cell, recurrence: Recurrence) -> None:
    """``recurrence.step`` and ``cell.step`` give the same outputs and states, step by step."""
    xs, state = checker.inputs(checker.B, checker.T, checker.I), checker.random_state(cell)
    projected = cell.project_inputs(xs)
    declared = state
    for t in range(checker.T):
        try:
            a, declared = recurrence.step(projected[:, t], declared)
        except Exception as exc:
            checker.fail("recurrence", f"{STEP} raised {exc!r}")
        b, state = checker.call(cell, projected[:, t], state, "step")
        pairs = [("output", a, b)] + [("state", u, v) for u, v in zip(declared, state, strict=True)]
        for what, x, y in pairs:
            if not close(x, y):
                checker.fail(
                    "recurrence",
                    f"{STEP} differs from step() by {max_diff(x, y):g} in the {what} at step {t}",
                )


def fused_agrees_with_python(checker, cell: Cell) -> None:
    """Outputs, final state and every gradient of the fused runner (eagerly without a mask,
    compiled by XLA with one) against the python runner's, to ``TOLERANCE``."""
    registry = default_registry()
    fused, python = registry.make("runner", "fused"), registry.make("runner", "python")
    B, T = checker.B, checker.T  # noqa: N806
    xs, state = checker.inputs(B, T, checker.I), checker.random_state(cell)
    mask = tf.constant((np.arange(T)[None, :] + np.arange(B)[:, None]) % 3 != 2)  # gaps, ends
    weights = [checker.inputs(B, T, cell.output_size)] + [
        checker.inputs(B, n) for n in cell.state_size
    ]
    names = list(cell.named_parameters())
    for how, m in (("eager", None), ("xla", mask)):
        want = _run_with_gradients(python.run, cell, xs, state, m, weights)
        run = lambda *a: _run_with_gradients(fused.run, cell, *a, weights)  # noqa: E731
        if how == "xla":
            run = tf.function(run, jit_compile=True)
        try:
            got = run(xs, state, m)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0].rstrip(".")
            first = first if len(first) <= 120 else first[:114].rstrip() + " (...)"
            checker.fail(f"fused runner, {how}", f"it raised {type(exc).__name__}: {first}")
        labels = ["the outputs differ", "the final state differs"]
        labels += [f"the gradient of {n!r} differs" for n in names]
        labels += [
            "the gradient of the inputs differs",
            "the gradient of the initial state differs",
        ]
        for label, a, b in zip(labels, got, want, strict=True):
            a, b = tf.nest.flatten(a), tf.nest.flatten(b)
            if not all(map(close, a, b)):
                diff = max(max_diff(x, y) for x, y in zip(a, b, strict=True))
                checker.fail(
                    f"fused runner, {how}", f"{label} from the python runner's by {diff:g}"
                )


def _run_with_gradients(run, cell, xs, state, mask, weights):
    """``[outputs, final, *parameter gradients, input gradient, state gradient]`` of a random
    linear function of the outputs and the final state."""
    params = list(cell.named_parameters().values())
    with tf.GradientTape() as tape:
        tape.watch([xs, state])
        outputs, final = run(cell, xs, state, mask)
        total = tf.reduce_sum(outputs * weights[0])
        total += sum(tf.reduce_sum(s * w) for s, w in zip(final, weights[1:], strict=True))
    grads = tape.gradient(
        total, [params, xs, list(state)], unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    params_grads = [tf.convert_to_tensor(g) for g in grads[0]]  # dense, where a gather gave slices
    return [outputs, tuple(final), *params_grads, grads[1], tuple(grads[2])]
