"""``check_runner``, ``check_loss`` and ``check_truncation``: the contracts of the other
kinds of plugin (``seqkit.testing``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import tensorflow as tf

from seqkit.interfaces import Cell, Loss, Runner, TruncationStrategy, Window
from seqkit.plugins.registry import make_cell
from seqkit.testing.cells import positive
from seqkit.testing.contract import (
    LossContractError,
    RunnerContractError,
    TruncationContractError,
    close,
    reference_unroll,
)

# -- runners -------------------------------------------------------------------------------------


def check_runner(
    runner: Runner,
    batch_size: int = 3,
    steps: int = 6,
    seed: int = 0,
    *,
    cell: str | Callable[..., Cell] = "lstm",
) -> None:
    """Check ``runner`` against a plain loop of a cell (the built-in ``lstm``), eager and traced.

    ``cell`` is an installed cell's name or a cell factory, for a runner that supports only
    some cells. Outputs, final state and gradients must agree, without a mask and with a mask
    of three lengths (0, 2 and all steps); past a sequence's end the output is zero and the
    state kept. Raises ``RunnerContractError`` at the first check that fails.
    """
    who = type(runner).__name__

    def fail(check: str, problem: str):
        raise RunnerContractError(f"{who} fails check_runner ({check}): {problem}.")

    if not isinstance(runner, Runner):
        fail("interface", f"it is a {type(runner).__name__}, not a seqkit.Runner")
    rng = np.random.default_rng(seed)
    cell_name = cell if isinstance(cell, str) else getattr(cell, "__name__", repr(cell))
    cell = make_cell(cell, 4, 5) if isinstance(cell, str) else cell(4, 5)
    if runner.supports(cell) is not True:
        fail("supports", f"it does not support the cell {cell_name}")
    inputs = tf.constant(rng.standard_normal((batch_size, steps, 4)), tf.float32)
    state = tuple(
        tf.constant(rng.standard_normal((batch_size, n)), tf.float32) for n in cell.state_size
    )
    lengths = np.array([0, 2, steps] * batch_size)[:batch_size]
    mask = tf.constant(np.arange(steps)[None, :] < lengths[:, None])
    eager = lambda c, i, s, m: _run_with_grads(runner.run, c, i, s, m)  # noqa: E731
    # traced with its gradient, as a trainer's step is: XLA compiles a loop only with it
    traced = tf.function(eager, jit_compile=runner.jit_compile)
    for label, m in (("no mask", None), ("mask", mask)):
        expected, expected_grads = _run_with_grads(reference_unroll, cell, inputs, state, m)
        for how, run in (("eager", eager), ("tf.function", traced)):
            got, grads = run(cell, inputs, state, m)
            if got[0].shape != expected[0].shape:
                fail(f"{how}, {label}", f"outputs {got[0].shape}, expected {expected[0].shape}")
            for what, a, b in (
                ("outputs", got[0], expected[0]),
                ("final state", got[1], expected[1]),
            ):
                a, b = tf.nest.flatten(a), tf.nest.flatten(b)
                if len(a) != len(b) or not all(map(close, a, b)):
                    fail(f"{how}, {label}", f"the {what} differ from a plain loop of the cell")
            if any(
                g is None or not close(g, e, 1e-4)
                for g, e in zip(grads, expected_grads, strict=True)
            ):
                fail(f"{how}, {label}", "the gradients differ from a plain loop of the cell")


def _run_with_grads(run, cell, inputs, state, mask):
    with tf.GradientTape() as tape:
        outputs, final = run(cell, inputs, state, mask)
        total = tf.reduce_sum(tf.sin(outputs)) + sum(tf.reduce_sum(s * s) for s in final)
    return (outputs, tuple(final)), tape.gradient(total, cell.trainable_variables)


# -- losses --------------------------------------------------------------------------------------


def check_loss(loss: Loss, targets=None, outputs=None, seed: int = 0) -> None:
    """Check that ``loss(targets, outputs, mask)`` is a finite scalar that respects the mask.

    ``outputs`` ``[B, T, O]`` and ``targets`` default to random floats (``[B, T, O]``, or
    ``[B, O]`` for a last-step loss); pass integer targets for a classification loss. Checked:
    a finite float scalar, eager and traced alike; a mask of all true changes nothing; outputs
    past each sequence's end (mask false, the mask a prefix) change neither the loss nor get a
    gradient. Raises ``LossContractError`` at the first check that fails.
    """
    who = type(loss).__name__

    def fail(check: str, problem: str):
        raise LossContractError(f"{who} fails check_loss ({check}): {problem}.")

    if not isinstance(loss, Loss):
        fail("interface", f"it is a {type(loss).__name__}, not a seqkit.Loss")
    rng = np.random.default_rng(seed)
    if outputs is None:
        outputs = rng.standard_normal((3, 5, 4))
    outputs = tf.constant(outputs, tf.float32)
    B, T = outputs.shape[:2]  # noqa: N806
    if targets is None:
        shape = (B, T, outputs.shape[2]) if loss.per_step else (B, outputs.shape[2])
        targets = rng.standard_normal(shape).astype(np.float32)
    targets = tf.constant(targets)
    value = loss(targets, outputs)
    if not (isinstance(value, tf.Tensor) and value.shape.rank == 0 and value.dtype.is_floating):
        fail("scalar", f"it returned {value!r}, expected a float scalar tensor")
    if not np.isfinite(float(value)):
        fail("finite", f"it returned {float(value)}")
    traced = tf.function(lambda t, o, m: loss(t, o, m))
    everywhere = tf.ones([B, T], tf.bool)
    if not close(loss(targets, outputs, everywhere), value):
        fail("mask", "a mask that is true everywhere changed the loss")
    if not close(traced(targets, outputs, everywhere), value):
        fail("tf.function", "the traced loss differs from the eager one")
    lengths = np.arange(B) % T + 1
    mask = tf.constant(np.arange(T)[None, :] < lengths[:, None])
    noise = tf.where(
        mask[..., None], 0.0, tf.constant(rng.standard_normal(outputs.shape), tf.float32)
    )
    with tf.GradientTape() as tape:
        tape.watch(outputs)
        masked = loss(targets, outputs, mask)
    grad = tape.gradient(masked, outputs)
    if not close(loss(targets, outputs + 100.0 * noise, mask), masked):
        fail("mask", "outputs at steps where the mask is false changed the loss")
    if grad is not None and np.any(np.asarray(tf.boolean_mask(grad, ~mask))):
        fail("mask", "steps where the mask is false get a gradient")


# -- truncation strategies -----------------------------------------------------------------------


def check_truncation(
    strategy: TruncationStrategy, lengths: Iterable[int] = (1, 2, 3, 7, 16, 33)
) -> None:
    """Check that ``strategy.windows(n)`` is a proper schedule for each of ``lengths``.

    Each window is a ``seqkit.Window`` of ints with ``0 <= backprop_from <= loss_from < end <=
    n``; the loss steps ``[loss_from, end)`` of the windows partition ``[0, n)`` in order;
    ``backprop_from`` never moves back; asking twice gives the same schedule. Raises
    ``TruncationContractError`` at the first check that fails.
    """
    who = type(strategy).__name__

    def fail(n: int, problem: str):
        raise TruncationContractError(f"{who} fails check_truncation (length {n}): {problem}.")

    if not isinstance(strategy, TruncationStrategy):
        raise TruncationContractError(
            f"{who} fails check_truncation (interface): it is not a seqkit.TruncationStrategy."
        )
    for n in lengths:
        windows = list(strategy.windows(n))
        if windows != list(strategy.windows(n)):
            fail(n, "two calls of windows() gave different schedules")
        covered, back = 0, 0
        for w in windows:
            if not isinstance(w, Window):
                fail(n, f"it yielded {w!r}, not a seqkit.Window")
            if not all(positive(v + 1) for v in (w.backprop_from, w.loss_from, w.end)):
                fail(n, f"{w} holds something other than non-negative ints")
            if not (w.backprop_from <= w.loss_from < w.end <= n):
                fail(n, f"{w} breaks backprop_from <= loss_from < end <= length")
            if w.loss_from != covered:
                fail(
                    n,
                    f"{w} starts its loss at {w.loss_from}, expected {covered} (no gap or overlap)",
                )
            if w.backprop_from < back:
                fail(n, f"{w} back-propagates from before the previous window's start {back}")
            covered, back = w.end, w.backprop_from
        if covered != n:
            fail(n, f"the windows' loss steps end at {covered}, not at the length {n}")
