"""``check_cell``: the ``seqkit.Cell`` contract, check by check (``seqkit.testing``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from seqkit.errors import StateDictError
from seqkit.interfaces import Cell
from seqkit.models.sequence import SequenceModel
from seqkit.plugins.hookspecs import hookimpl
from seqkit.plugins.loading import PluginInfo, make_plugin_manager
from seqkit.plugins.registry import Registry, default_registry, make_loss, make_truncation
from seqkit.testing.contract import (
    CellContractError,
    close,
    max_diff,
    reference_unroll,
)
from seqkit.testing.recurrence import check_declarations, check_declared_steps
from seqkit.validation import is_whole_number

CANDIDATE = "seqkit-testing-candidate"  # the name a checked cell gets in the private registry


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
        ok = isinstance(sizes, tuple) and sizes and all(positive(n) for n in sizes)
        if not ok:
            self.fail("state_size", f"it is {sizes!r}, expected a tuple of positive ints")
        if not positive(cell.output_size):
            self.fail("output_size", f"it is {cell.output_size!r}, expected a positive int")
        self.check_state(cell, cell.initial_state(self.B), "initial_state")

    def graph(self, cell):
        x, state = self.inputs(self.B, self.I), self.random_state(cell)
        eager, _ = self.call(cell, x, state)
        traced, _ = tf.function(lambda x, s: cell(x, s))(x, state)
        if not close(eager, traced):
            self.fail("tf.function", f"outputs differ from eager by {max_diff(eager, traced):g}")

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
        if not close(expected, got, 1e-6):
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
            if not close(a, b):
                diff = max_diff(a, b)
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
        from seqkit.training.trainer import Trainer  # keras loads only for this check

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
        expected, _ = reference_unroll(cell, xs, cell.initial_state(self.B), mask)
        if not close(got, expected):
            self.fail("seqkit.keras.RNN", "its outputs differ from a plain loop of the cell")
        trainable = [v for v in cell.named_parameters().values() if v.trainable]
        if len(layer.trainable_weights) != len(trainable):
            self.fail(
                "seqkit.keras.RNN",
                f"Keras sees {len(layer.trainable_weights)} trainable weights, the cell has "
                f"{len(trainable)}",
            )


def positive(n) -> bool:
    return is_whole_number(n) and n > 0


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
    trainable Keras weight. For a cell that declares its recurrence (``seqkit.Recurrence``),
    also: the declaration fits the cell's state and computes what ``step`` computes, and the
    fused runner agrees with the python runner on outputs, final state and every gradient, to
    1e-5 (eagerly without a mask, and compiled by XLA with one). For a cell that declares a
    linear recurrence (``seqkit.LinearRecurrence``), likewise: the declaration fits and computes
    ``step``, and the scan runner agrees with the python runner. Raises ``CellContractError``
    at the first check that fails.
    """
    if isinstance(factory, str):
        factory = default_registry().get("cell", factory).factory
    checker = _CellChecker(factory, options, input_size, hidden_size, batch_size, steps, seed)
    cell = checker.build()
    checker.sizes(cell)
    check_declarations(checker, cell)
    checker.call(cell, checker.inputs(batch_size, input_size), cell.initial_state(batch_size))
    checker.graph(cell)
    checker.gradients(cell)
    checker.state_dict(cell)
    checker.split(cell)
    check_declared_steps(checker, cell)
    checker.model_and_trainer()
    checker.keras_layer()
