"""The checks of ``check_cell`` for a cell that declares its step, in either of the two forms
(``seqkit.testing``):

- a ``seqkit.Recurrence`` (one recurrent matmul, then elementwise work), which the fused
  runner runs;
- a ``seqkit.LinearRecurrence`` (h_t = a_t * h_{t-1} + b_t, the coefficients from the inputs
  alone), which the scan runner computes for every step at once.

For each: the declaration fits the cell and computes its ``step``, and the runner that runs the
declaration agrees with the python runner, which runs ``step`` step by step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from seqkit.errors import SeqkitError
from seqkit.interfaces import Cell, declared_linear_recurrence, declared_recurrence
from seqkit.plugins.registry import default_registry
from seqkit.testing.contract import close, max_diff


@dataclass(frozen=True)
class DeclaredForm:
    """One form in which a cell declares its step, and the runner that runs the declaration."""

    attribute: str  # the cell's property that declares it: the failing check's name
    declared: Callable[[Cell], Any]  # the cell's checked declaration, or None
    equation: str  # what the declaration computes, for the messages
    runner: str  # the registered runner that runs it
    compiled: str  # the word for the compiled run, in the messages


RECURRENCE = DeclaredForm(
    "recurrence",
    declared_recurrence,
    "pointwise(projected, h @ weight^T + bias, state)",
    "fused",
    "xla",
)
LINEAR_RECURRENCE = DeclaredForm(
    "linear_recurrence",
    declared_linear_recurrence,
    "a * h + b with (a, b) = coefficients(projected)",
    "scan",
    "compiled",
)
FORMS = (RECURRENCE, LINEAR_RECURRENCE)


def check_declarations(checker, cell: Cell) -> None:
    """The cell's declarations, if any, fit its state (checked before the cell is first called,
    since its ``step`` may run a declaration); raises through ``checker.fail``."""
    for form in FORMS:
        _declaration(checker, cell, form)


def check_declared_steps(checker, cell: Cell) -> None:
    """For each declaration the cell makes: it computes the step, and its runner agrees with
    the python runner. Each check raises through ``checker.fail`` (a ``CellContractError``)."""
    for form in FORMS:
        declaration = _declaration(checker, cell, form)
        if declaration is not None:
            declaration_is_the_step(checker, cell, declaration, form)
            runner_agrees_with_python(checker, cell, form)


def _declaration(checker, cell: Cell, form: DeclaredForm):
    try:
        return form.declared(cell)
    except SeqkitError as exc:
        checker.fail(form.attribute, str(exc).rstrip("."))


def declaration_is_the_step(checker, cell: Cell, declaration, form: DeclaredForm) -> None:
    """``declaration.step`` and ``cell.step`` give the same outputs and states, step by step."""
    xs, state = checker.inputs(checker.B, checker.T, checker.I), checker.random_state(cell)
    projected = cell.project_inputs(xs)
    declared = state
    for t in range(checker.T):
        try:
            a, declared = declaration.step(projected[:, t], declared)
        except Exception as exc:
            checker.fail(form.attribute, f"{form.equation} raised {exc!r}")
        b, state = checker.call(cell, projected[:, t], state, "step")
        pairs = [("output", a, b)] + [("state", u, v) for u, v in zip(declared, state, strict=True)]
        for what, x, y in pairs:
            if not close(x, y):
                checker.fail(
                    form.attribute,
                    f"{form.equation} differs from step() by {max_diff(x, y):g} in the {what} "
                    f"at step {t}",
                )


def runner_agrees_with_python(checker, cell: Cell, form: DeclaredForm) -> None:
    """Outputs, final state and every gradient of the form's runner (eagerly without a mask,
    compiled as the runner asks with one) against the python runner's, to ``TOLERANCE``."""
    registry = default_registry()
    runner, python = registry.make("runner", form.runner), registry.make("runner", "python")
    B, T = checker.B, checker.T  # noqa: N806
    xs, state = checker.inputs(B, T, checker.I), checker.random_state(cell)
    mask = tf.constant((np.arange(T)[None, :] + np.arange(B)[:, None]) % 3 != 2)  # gaps, ends
    weights = [checker.inputs(B, T, cell.output_size)] + [
        checker.inputs(B, n) for n in cell.state_size
    ]
    labels = ["the outputs differ", "the final state differs"]
    labels += [f"the gradient of {n!r} differs" for n in cell.named_parameters()]
    labels += ["the gradient of the inputs differs", "the gradient of the initial state differs"]
    for how, m in (("eager", None), (form.compiled, mask)):
        where = f"{form.runner} runner, {how}"
        want = _run_with_gradients(python.run, cell, xs, state, m, weights)
        run = lambda *a: _run_with_gradients(runner.run, cell, *a, weights)  # noqa: E731
        if how != "eager":
            run = tf.function(run, jit_compile=runner.jit_compile)
        try:
            got = run(xs, state, m)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0].rstrip(".")
            first = first if len(first) <= 120 else first[:114].rstrip() + " (...)"
            checker.fail(where, f"it raised {type(exc).__name__}: {first}")
        for label, a, b in zip(labels, got, want, strict=True):
            a, b = tf.nest.flatten(a), tf.nest.flatten(b)
            if not all(map(close, a, b)):
                diff = max(max_diff(x, y) for x, y in zip(a, b, strict=True))
                checker.fail(where, f"{label} from the python runner's by {diff:g}")


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
