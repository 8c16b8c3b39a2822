"""The checks of ``check_cell`` for a cell that declares a linear recurrence
(``seqkit.LinearRecurrence``): the declaration fits the cell and computes its ``step``, and the
scan runner, which computes every step at once, agrees with the python runner, which runs
``step`` step by step (``seqkit.testing``)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from seqkit.errors import SeqkitError
from seqkit.interfaces import Cell, LinearRecurrence, declared_linear_recurrence
from seqkit.plugins.registry import default_registry
from seqkit.testing.contract import close, max_diff
from seqkit.testing.recurrence import _run_with_gradients

STEP = "a * h + b with (a, b) = coefficients(projected)"


def check_linear_declaration(checker, cell: Cell) -> LinearRecurrence | None:
    """The cell's declared linear recurrence, if any, fits its state (checked before the cell is
    first called, since its ``step`` may run the declaration); raises through ``checker.fail``."""
    try:
        return declared_linear_recurrence(cell)
    except SeqkitError as exc:
        checker.fail("linear_recurrence", str(exc).rstrip("."))


def check_linear_recurrence(checker, cell: Cell) -> None:
    """Nothing for a cell that declares no linear recurrence; otherwise the declaration
    computes the step, and the scan runner agrees with the python runner."""
    declaration = check_linear_declaration(checker, cell)
    if declaration is None:
        return
    declaration_is_the_step(checker, cell, declaration)
    scan_agrees_with_python(checker, cell)


def declaration_is_the_step(checker, cell: Cell, declaration: LinearRecurrence) -> None:
    """``declaration.step`` and ``cell.step`` give the same outputs and states, step by step."""
    xs, state = checker.inputs(checker.B, checker.T, checker.I), checker.random_state(cell)
    projected = cell.project_inputs(xs)
    declared = state
    for t in range(checker.T):
        try:
            a, declared = declaration.step(projected[:, t], declared)
        except Exception as exc:
            checker.fail("linear_recurrence", f"{STEP} raised {exc!r}")
        b, state = checker.call(cell, projected[:, t], state, "step")
        pairs = [("output", a, b)] + [("state", u, v) for u, v in zip(declared, state, strict=True)]
        for what, x, y in pairs:
            if not close(x, y):
                checker.fail(
                    "linear_recurrence",
                    f"{STEP} differs from step() by {max_diff(x, y):g} in the {what} at step {t}",
                )


def scan_agrees_with_python(checker, cell: Cell) -> None:
    """Outputs, final state and every gradient of the scan runner (eagerly without a mask, in
    the step it asks for, with one) against the python runner's, to ``TOLERANCE``."""
    registry = default_registry()
    scan, python = registry.make("runner", "scan"), registry.make("runner", "python")
    B, T = checker.B, checker.T  # noqa: N806
    xs, state = checker.inputs(B, T, checker.I), checker.random_state(cell)
    mask = tf.constant((np.arange(T)[None, :] + np.arange(B)[:, None]) % 3 != 2)  # gaps, ends
    weights = [checker.inputs(B, T, cell.output_size)] + [
        checker.inputs(B, n) for n in cell.state_size
    ]
    names = list(cell.named_parameters())
    for how, m in (("eager", None), ("compiled", mask)):
        want = _run_with_gradients(python.run, cell, xs, state, m, weights)
        run = lambda *a: _run_with_gradients(scan.run, cell, *a, weights)  # noqa: E731
        if how == "compiled":
            run = tf.function(run, jit_compile=scan.jit_compile)
        try:
            got = run(xs, state, m)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0].rstrip(".")
            first = first if len(first) <= 120 else first[:114].rstrip() + " (...)"
            checker.fail(f"scan runner, {how}", f"it raised {type(exc).__name__}: {first}")
        labels = ["the outputs differ", "the final state differs"]
        labels += [f"the gradient of {n!r} differs" for n in names]
        labels += ["the gradient of the inputs differs"]
        labels += ["the gradient of the initial state differs"]
        for label, a, b in zip(labels, got, want, strict=True):
            a, b = tf.nest.flatten(a), tf.nest.flatten(b)
            if not all(map(close, a, b)):
                diff = max(max_diff(x, y) for x, y in zip(a, b, strict=True))
                checker.fail(f"scan runner, {how}", f"{label} from the python runner's by {diff:g}")
