"""Mixed precision: the policy (Keras's names) and the autocast of modules' variables.

    precision = resolve_precision("mixed_bfloat16")    # compute bfloat16, variables float32
    with autocast(cells, precision.compute_dtype):
        outputs, state = runner.run(cell, x, state)     # cell.weight_ih reads as a bfloat16 cast

``"float32"`` (the default) computes in the variables' own dtype: no cast anywhere.
``"mixed_bfloat16"`` keeps every variable (and so the optimizer's state) in float32 and computes
in bfloat16; no loss scaling is needed, since bfloat16 has float32's exponent range.

``autocast`` is how any cell, built-in or from a plugin, runs in the compute dtype without its
author doing anything: for the duration of the block, each floating variable a module holds as
a public attribute (the ``named_variables`` contract: ``self.weight_ih = tf.Variable(...)``;
also in a list or tuple attribute, and in a submodule) reads as a ``CastVariable``, which
becomes ``tf.cast(variable, dtype)`` wherever a TensorFlow op takes it, in whatever graph or
loop body the read happens. Gradients flow through the cast to the float32 variable. A cell's
declared ``Recurrence``, made from its attributes inside the block, holds the casts too. As
Keras' ``AutocastVariable`` does for Keras layers, but for seqkit's plain ``tf.Variable`` s.

What breaks it (``docs/plugins.md``): a variable not held in a public attribute (a dict, a
closure, a global), a check ``isinstance(self.w, tf.Variable)`` in the step, and tensors the
step makes in ``self.dtype`` (the variables' float32) rather than in its inputs' dtype. A
module must not be run from two threads at once inside ``autocast`` (the attributes are
swapped in place; TensorFlow's mirrored replicas trace one after another, which is fine).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from seqkit.option_words import PRECISIONS as PRECISION_NAMES
from seqkit.validation import one_of

# Keras' policy names -> the compute dtype (None: the variables' own, no casts).
PRECISIONS: dict[str, tf.DType | None] = dict(
    zip(PRECISION_NAMES, (None, tf.bfloat16), strict=True)
)


@dataclass(frozen=True)
class Precision:
    """A precision policy: its name and its compute dtype (None: the variables' dtype)."""

    name: str
    compute_dtype: tf.DType | None

    @property
    def mixed(self) -> bool:
        """Whether the maths runs in another dtype than the variables (casts are made): the
        variables are float32 then, as in Keras' mixed policies."""
        return self.compute_dtype is not None

    def compute(self, structure: Any) -> Any:
        """A nest of tensors (inputs, a state) in the compute dtype; as it is unless mixed."""
        return cast_floating(structure, self.compute_dtype) if self.mixed else structure

    def stored(self, structure: Any) -> Any:
        """A nest of tensors in float32, as outputs and states leave a mixed-precision model
        (for the loss, the carried state and checkpoints); as it is unless mixed."""
        return cast_floating(structure, tf.float32) if self.mixed else structure

    def casting(self, modules: Iterable[tf.Module]) -> contextlib.AbstractContextManager:
        """``autocast(modules, compute_dtype)``, or nothing unless mixed."""
        return autocast(modules, self.compute_dtype) if self.mixed else contextlib.nullcontext()


def resolve_precision(value: str | Precision, owner: str = "precision") -> Precision:
    """``"float32"`` or ``"mixed_bfloat16"`` (or a ``Precision``) as a ``Precision``."""
    if isinstance(value, Precision):
        return value
    one_of(f"{owner}: precision", value, PRECISIONS)
    return Precision(value, PRECISIONS[value])


def cast_floating(structure: Any, dtype: tf.DType) -> Any:
    """Every floating tensor of a nest of tensors (a state) cast to ``dtype``."""

    def cast(x):
        x = tf.convert_to_tensor(x)
        return tf.cast(x, dtype) if x.dtype.is_floating and x.dtype != dtype else x

    return tf.nest.map_structure(cast, structure)


class CastVariable:
    """A variable read in another dtype: ``tf.convert_to_tensor`` of it, and every operator on
    it, gives ``tf.cast(variable, dtype)``, made anew at each read in the graph of the read.

    ``variable`` is the float32 ``tf.Variable`` itself (its gradient is float32).
    """

    def __init__(self, variable: tf.Variable, dtype: tf.DType):
        self.variable = variable
        self.dtype = tf.as_dtype(dtype)

    @property
    def shape(self) -> tf.TensorShape:
        return self.variable.shape

    @property
    def name(self) -> str:
        return self.variable.name

    @property
    def trainable(self) -> bool:
        return self.variable.trainable

    def get_shape(self) -> tf.TensorShape:
        return self.variable.shape

    def value(self) -> tf.Tensor:
        """The variable's value cast to ``dtype``."""
        return tf.cast(self.variable, self.dtype)

    read_value = value

    def __tf_tensor__(self, dtype=None, name=None) -> tf.Tensor:
        if dtype is not None and tf.as_dtype(dtype) != self.dtype:
            raise TypeError(  # as TensorFlow says it of a tensor of another dtype
                f"{self.variable.name} is read as {self.dtype.name} (mixed precision), "
                f"not {tf.as_dtype(dtype).name}."
            )
        return self.value()

    def __repr__(self) -> str:
        return f"<CastVariable {self.variable.name!r} as {self.dtype.name}>"


def _delegate(operator: str) -> Callable:
    tensor_operator = getattr(tf.Tensor, operator)

    def method(self, *args):
        return tensor_operator(self.value(), *args)

    method.__name__ = operator
    return method


# The operators of a tensor, on the cast (equality stays identity, so that it can be hashed).
for _operator in tf.Tensor.OVERLOADABLE_OPERATORS - {"__eq__", "__ne__"}:
    setattr(CastVariable, _operator, _delegate(_operator))


def _is_cast_target(value: Any, dtype: tf.DType) -> bool:
    return isinstance(value, tf.Variable) and value.dtype.is_floating and value.dtype != dtype


def _cast_value(value: Any, dtype: tf.DType, swaps: list, seen: set) -> Any:
    """``value`` with its variables as CastVariables (a list or tuple of them anew); a module
    is swapped in place (``_swap``) and kept."""
    if _is_cast_target(value, dtype):
        return CastVariable(value, dtype)
    if isinstance(value, tf.Module):
        _swap(value, dtype, swaps, seen)
    elif isinstance(value, list | tuple):
        items = [_cast_value(item, dtype, swaps, seen) for item in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return tuple(items) if isinstance(value, tuple) else items
    return value


def _swap(module: tf.Module, dtype: tf.DType, swaps: list, seen: set) -> None:
    """Replace ``module``'s public variable attributes by casts, recording how to undo it."""
    if id(module) in seen:
        return
    seen.add(id(module))
    for attr, value in list(vars(module).items()):
        if attr.startswith("_"):
            continue
        new = _cast_value(value, dtype, swaps, seen)
        if new is not value:
            swaps.append((module, attr, value))
            # Past tf.Module's __setattr__: checkpoint tracking keeps seeing the variable.
            object.__setattr__(module, attr, new)


_active = threading.local()  # the stack of the autocasts entered in this thread


@contextlib.contextmanager
def autocast(modules: Iterable[tf.Module], dtype) -> Iterator[None]:
    """Within the block, the floating variables that ``modules`` hold as public attributes
    (and in lists, tuples and submodules) read as ``dtype`` casts (``CastVariable``)."""
    dtype = tf.as_dtype(dtype)
    modules = tuple(modules)
    swaps: list = []
    stack = getattr(_active, "stack", ())
    try:
        for module in modules:
            _swap(module, dtype, swaps, set())
        _active.stack = (*stack, (modules, dtype))
        yield
    finally:
        _active.stack = stack
        for module, attr, value in reversed(swaps):
            object.__setattr__(module, attr, value)


def keeping_autocast(function: Callable) -> Callable:
    """``function``, run inside the ``autocast`` that is active now wherever it is called later.

    For a function that a custom gradient calls again in its backward pass (the fused runner's
    ``pointwise``), after the forward pass left the block: it reads the same casts there.
    Outside any ``autocast``, ``function`` itself.
    """
    stack = getattr(_active, "stack", ())
    if not stack:
        return function
    modules, dtype = stack[-1]

    @functools.wraps(function)
    def within(*args, **kwargs):
        with autocast(modules, dtype):
            return function(*args, **kwargs)

    return within
