"""The plugin author's conformance kit: call these from your own tests.

    from seqkit.testing import check_cell
    from my_plugin import MyCell

    def test_my_cell_keeps_the_cell_contract():
        check_cell(MyCell)                      # or check_cell(MyCell, options={"k": 2})

``check_cell``, ``check_runner``, ``check_loss`` and ``check_truncation`` return nothing when the
component keeps its contract, and raise a ``ContractError`` whose one sentence names the check
that broke otherwise. ``ContractError`` is both a ``seqkit.PluginError`` (a plugin that breaks
its contract, as the registry reports) and an ``AssertionError``, so that pytest and unittest
count it as a failed test, not as an error in the test, and show its message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from seqkit.errors import PluginError, StateDictError
from seqkit.hookspecs import hookimpl
from seqkit.interfaces import Cell, Loss, Runner, TruncationStrategy, Window
from seqkit.model import SequenceModel
from seqkit.plugin_manager import PluginInfo, make_plugin_manager
from seqkit.registry import Registry, default_registry, make_cell, make_loss, make_truncation

CANDIDATE = "seqkit-testing-candidate"  # the name a checked cell gets in the private registry
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


def _close(a, b, tol: float = TOLERANCE) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol))


def _max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)), initial=0))


# -- cells ---------------------------------------------------------------------------------------


class _CellChecker:
    """The checks of ``check_cell``, in order; each raises a CellContractError naming itself."""

    def __init__(self, factory, options, input_size, hidden_size, batch_size, steps, seed):
        self.factory, self.options = factory, dict(options or {})
        self.I, self.H, self.B, self.T = input_size, hidden_size, batch_size, steps  # noqa: N806
        self.who = getattr(factory, "__name__", repr(factory))
        self.rng = np.random.default_rng(seed)

    def fail(self, check: str, problem: str):
        raise CellContractError(f"{self.who} fails check_cell ({check}): {problem}.")

    def build(self, **extra) -> Cell:
        try:
            cell = self.factory(self.I, self.H, **self.options, **extra)
        except Exception as exc:
            given = "".join(f", {k}={v!r}" for k, v in {**self.options, **extra}.items())
            self.fail("construction", f"factory({self.I}, {self.H}{given}) raised {exc!r}")
        if not isinstance(cell, Cell):
            self.fail("interface", f"it built a {type(cell).__name__}, not a seqkit.Cell")
        return cell

    def inputs(self, *shape) -> tf.Tensor:
        return tf.constant(self.rng.standard_normal(shape), tf.float32)

    def random_state(self, cell: Cell) -> tuple:
        return tuple(0.5 * self.inputs(self.B, n) for n in cell.state_size)

    def call(self, cell, x, state, where="__call__"):
        result = cell.step(x, state) if where == "step" else cell(x, state)
        if not (isinstance(result, tuple | list) and len(result) == 2):
            self.fail(where, f"it returned {type(result).__name__}, expected (output, new_state)")
        output, new_state = result
        if tuple(output.shape) != (self.B, cell.output_size):
            self.fail(
                where,
                f"the output has shape {tuple(output.shape)}, expected "
                f"[batch, output_size] = {(self.B, cell.output_size)}",
            )
        self.check_state(cell, new_state, where + " new_state")
        return output, tuple(new_state)

    def check_state(self, cell, state, where):
        if not isinstance(state, tuple | list) or len(state) != len(cell.state_size):
            self.fail(where, f"expected a tuple of {len(cell.state_size)} tensors, got {state!r}")
        for k, (s, n) in enumerate(zip(state, cell.state_size, strict=True)):
            if tuple(s.shape) != (self.B, n):
                self.fail(where, f"tensor {k} has shape {tuple(s.shape)}, expected {(self.B, n)}")
            if s.dtype != cell.dtype:
                self.fail(where, f"tensor {k} is {s.dtype.name}, expected {cell.dtype.name}")

    def sizes(self, cell):
        sizes = cell.state_size
        ok = isinstance(sizes, tuple) and sizes and all(_positive(n) for n in sizes)
        if not ok:
            self.fail("state_size", f"it is {sizes!r}, expected a tuple of positive ints")
        if not _positive(cell.output_size):
            self.fail("output_size", f"it is {cell.output_size!r}, expected a positive int")
        self.check_state(cell, cell.initial_state(self.B), "initial_state")

    def graph(self, cell):
        x, state = self.inputs(self.B, self.I), self.random_state(cell)
        eager, _ = self.call(cell, x, state)
        traced, _ = tf.function(lambda x, s: cell(x, s))(x, state)
        if not _close(eager, traced):
            self.fail("tf.function", f"outputs differ from eager by {_max_diff(eager, traced):g}")

    def gradients(self, cell):
        named = cell.named_parameters()
        known = {v.ref() for v in named.values()}
        for v in cell.trainable_variables:
            if v.ref() not in known:
                self.fail(
                    "named_parameters",
                    f"the variable {v.name!r} is not among them; hold it in a public attribute",
                )
        xs, state = self.inputs(self.B, self.T, self.I), self.random_state(cell)
        with tf.GradientTape() as tape:
            total = 0.0
            for t in range(self.T):
                output, state = cell(xs[:, t], state)
                total += tf.reduce_sum(output * self.inputs(*output.shape))
            total += sum(tf.reduce_sum(s * self.inputs(*s.shape)) for s in state)
        grads = tape.gradient(total, list(named.values()))
        for name, g in zip(named, grads, strict=True):
            if g is None:
                self.fail("gradients", f"no gradient reaches {name!r}: the step does not use it")
            if not np.any(np.asarray(g)):
                self.fail("gradients", f"the gradient of {name!r} is zero everywhere")

    def state_dict(self, cell):
        saved = cell.state_dict()
        missing = sorted(set(cell.named_parameters()) - set(saved))
        if missing:
            self.fail("state_dict", f"it lacks the parameters {missing}")
        x, state = self.inputs(self.B, self.I), self.random_state(cell)
        fresh = self.build()
        fresh.load_state_dict(saved)
        expected, _ = self.call(cell, x, state)
        got, _ = self.call(fresh, x, state)
        if not _close(expected, got, 1e-6):
            self.fail("state_dict", "a fresh cell loaded with state_dict() gives other outputs")
        if saved:
            name, array = next(iter(saved.items()))
            wrong = dict(saved, **{name: np.zeros((array.shape[0] + 1, *array.shape[1:]))})
            try:
                fresh.load_state_dict(wrong)
            except StateDictError:
                return
            except Exception as exc:
                self.fail("load_state_dict", f"a wrong shape raised {exc!r}, not StateDictError")
            self.fail("load_state_dict", f"it accepted {name!r} of a wrong shape")

    def split(self, cell):
        xs, state = self.inputs(self.B, self.T, self.I), self.random_state(cell)
        projected = cell.project_inputs(xs)
        if projected.shape.rank != 3 or tuple(projected.shape[:2]) != (self.B, self.T):
            self.fail("project_inputs", f"[B, T, I] became {tuple(projected.shape)}")
        split_state = whole_state = state
        for t in range(self.T):
            a, split_state = self.call(cell, projected[:, t], split_state, "step")
            b, whole_state = self.call(cell, xs[:, t], whole_state)
            if not _close(a, b):
                diff = _max_diff(a, b)
                self.fail("project_inputs/step", f"step {t} differs from __call__ by {diff:g}")

    def model_and_trainer(self):
        registry = _registry_with(self.factory)
        cell64 = self.build(dtype=tf.float64)
        if any(v.dtype != tf.float64 for v in cell64.variables):
            self.fail("dtype", "dtype=tf.float64 left some variables in another dtype")
        model = SequenceModel(
            CANDIDATE,
            input_size=self.I,
            hidden_size=self.H,
            output_size=2,
            num_layers=2,
            runner="graph",
            cell_options=self.options,
            registry=registry,
        )
        xs = self.inputs(self.B, 2 * self.T, self.I)
        outputs, _ = model(xs)
        if tuple(outputs.shape) != (self.B, 2 * self.T, 2):
            self.fail("SequenceModel", f"a 2-layer model gave outputs {tuple(outputs.shape)}")
        from seqkit.trainer import Trainer  # keras loads only for this check

        trainer = Trainer(
            model,
            loss=make_loss("mse"),
            truncation=make_truncation("tbptt", k1=self.T),
            lr=1e-2,
            registry=registry,
        )
        logs = trainer.fit((xs, self.inputs(self.B, 2 * self.T, 2)), steps=2)
        bad = [v.name for v in model.trainable_variables if not np.all(np.isfinite(v.numpy()))]
        if any(not np.isfinite(log["loss"]) for log in logs) or bad:
            self.fail("Trainer", f"two updates gave a non-finite loss or variables {bad}")

    def keras_layer(self):
        from seqkit.keras import RNN  # keras loads only for this check

        cell = self.build()
        xs = self.inputs(self.B, self.T, self.I)
        mask = tf.constant(np.arange(self.T)[None, :] < np.arange(self.B)[:, None] % self.T + 1)
        layer = RNN(cell, return_sequences=True)
        try:
            got = layer(xs, mask=mask)
        except Exception as exc:
            self.fail("seqkit.keras.RNN", f"the layer raised {exc!r}")
        expected, _ = _reference_unroll(cell, xs, cell.initial_state(self.B), mask)
        if not _close(got, expected):
            self.fail("seqkit.keras.RNN", "its outputs differ from a plain loop of the cell")
        trainable = [v for v in cell.named_parameters().values() if v.trainable]
        if len(layer.trainable_weights) != len(trainable):
            self.fail(
                "seqkit.keras.RNN",
                f"Keras sees {len(layer.trainable_weights)} trainable weights, the cell has "
                f"{len(trainable)}",
            )


def _positive(n) -> bool:
    return isinstance(n, int | np.integer) and not isinstance(n, bool) and n > 0


def _registry_with(factory: Callable[..., Cell]) -> Registry:
    """The installed plugins' registry plus ``factory`` as the cell CANDIDATE; nothing global."""

    class Candidate:
        @staticmethod
        @hookimpl
        def seqkit_register_cells(register):
            register(CANDIDATE, factory)

    loaded = make_plugin_manager()  # a new manager with the installed plugins
    loaded.manager.register(Candidate, name=CANDIDATE)
    loaded.infos[CANDIDATE] = PluginInfo(CANDIDATE, "seqkit.testing", "0")
    return Registry(loaded)


def check_cell(
    factory: Callable[..., Cell] | str,
    input_size: int = 3,
    hidden_size: int = 5,
    batch_size: int = 2,
    *,
    options: Mapping[str, Any] | None = None,
    steps: int = 3,
    seed: int = 0,
) -> None:
    """Check that ``factory(input_size, hidden_size, **options)`` builds a conforming cell.

    ``factory`` is a cell class (or any callable that builds one) or the name of an installed
    cell. Checked, in order: it is a ``seqkit.Cell``; ``state_size``, ``output_size`` and
    ``initial_state``; the shapes and dtypes ``__call__`` returns; eager and ``tf.function``
    agree; a gradient reaches every parameter; the ``state_dict`` round trip into a fresh cell
    and the refusal of a wrong shape; ``project_inputs``/``step`` against ``__call__``; a
    ``dtype=tf.float64`` build; a two-layer ``SequenceModel``; two ``Trainer`` updates stay
    finite; ``seqkit.keras.RNN`` runs it, masked, as a plain loop does, with every parameter a
    trainable Keras weight. Raises ``CellContractError`` at the first check that fails.
    """
    if isinstance(factory, str):
        factory = default_registry().get("cell", factory).factory
    checker = _CellChecker(factory, options, input_size, hidden_size, batch_size, steps, seed)
    cell = checker.build()
    checker.sizes(cell)
    checker.call(cell, checker.inputs(batch_size, input_size), cell.initial_state(batch_size))
    checker.graph(cell)
    checker.gradients(cell)
    checker.state_dict(cell)
    checker.split(cell)
    checker.model_and_trainer()
    checker.keras_layer()


# -- runners -------------------------------------------------------------------------------------


def _reference_unroll(cell: Cell, inputs, state, mask=None):
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
        expected, expected_grads = _run_with_grads(_reference_unroll, cell, inputs, state, m)
        for how, run in (("eager", eager), ("tf.function", traced)):
            got, grads = run(cell, inputs, state, m)
            if got[0].shape != expected[0].shape:
                fail(f"{how}, {label}", f"outputs {got[0].shape}, expected {expected[0].shape}")
            for what, a, b in (
                ("outputs", got[0], expected[0]),
                ("final state", got[1], expected[1]),
            ):
                a, b = tf.nest.flatten(a), tf.nest.flatten(b)
                if len(a) != len(b) or not all(map(_close, a, b)):
                    fail(f"{how}, {label}", f"the {what} differ from a plain loop of the cell")
            if any(
                g is None or not _close(g, e, 1e-4)
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
    if not _close(loss(targets, outputs, everywhere), value):
        fail("mask", "a mask that is true everywhere changed the loss")
    if not _close(traced(targets, outputs, everywhere), value):
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
    if not _close(loss(targets, outputs + 100.0 * noise, mask), masked):
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
            if not all(_positive(v + 1) for v in (w.backprop_from, w.loss_from, w.end)):
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
