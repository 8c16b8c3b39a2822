"""``CompiledCall``: a ``tf.function`` called straight into its traced graph once traced.

Each call of a ``tf.function`` finds its traced graph again from the arguments' trace types,
then binds and flattens them: for the Trainer's update (eight arguments, a nested state) that
is 0.6 ms of every update, 7% of config A's vanilla RNN step (``benchmarks/compare.py``).
``CompiledCall`` keeps each traced graph under a key made of the arguments' shapes, dtypes and
Python values (and TensorFlow's calling context: device scope, distribution strategy) and
calls it as TensorFlow's own dispatch does once it has found it
(``tracing_compilation.call_function``). The first call with a new key goes through the
``tf.function`` itself, which traces; so does every call that leaves an argument to its
default or gives one that is not an eager tensor, None, a Python scalar or a tuple, list or dict
of them (a strategy's PerReplica values, variables). Where this TensorFlow lacks the calls it
relies on, every call goes through the ``tf.function``.
"""

from __future__ import annotations

import inspect
from typing import Any

import tensorflow as tf

try:  # TensorFlow's own calling context, part of its key for a traced graph
    from tensorflow.python.eager.polymorphic_function.function_context import (
        make_function_context,
    )
except ImportError:  # pragma: no cover (another TensorFlow): always the tf.function's call
    make_function_context = None

_SCALARS = (bool, int, float, str)
_CONCRETE_CALLS = ("function_type", "captured_inputs", "_call_flat")  # what a direct call uses


class _NoKey(Exception):
    """An argument whose trace type this module does not reproduce."""


def _key(value) -> Any:
    """What of ``value`` selects a traced graph: a tensor's shape and dtype, a Python
    scalar's type and value, a container's type and items."""
    if isinstance(value, tf.Tensor) and hasattr(value, "numpy"):  # eager, not symbolic
        return tuple(value.shape), value.dtype
    if value is None or isinstance(value, _SCALARS):
        return type(value), value
    if isinstance(value, tuple | list):
        return type(value), tuple(_key(item) for item in value)
    if isinstance(value, dict):
        return dict, tuple((name, _key(item)) for name, item in sorted(value.items()))
    raise _NoKey


class CompiledCall:
    """Calls ``function`` (a ``tf.function``) with positional arguments, as ``function(*args)``
    does, with its per-call dispatch left out once a graph is traced for their key."""

    def __init__(self, function):
        self.function = function
        self._arity = len(inspect.signature(function.python_function).parameters)
        # key -> its concrete function; None: called once, through the tf.function (traced then)
        self._traced: dict[Any, Any] = {}

    def __call__(self, *args):
        key = self._call_key(args)
        if key is None:
            return self.function(*args)
        if key not in self._traced:  # the first call traces, exactly as a tf.function does
            self._traced[key] = None
            return self.function(*args)
        concrete = self._traced[key]
        if concrete is None:
            concrete = self._traced[key] = self.function.get_concrete_function(*args)
        if not all(hasattr(concrete, name) for name in _CONCRETE_CALLS):
            return self.function(*args)  # another TensorFlow's concrete functions
        bound = concrete.function_type.bind(*args)
        flat = concrete.function_type.unpack_inputs(bound)
        return concrete._call_flat(flat, captured_inputs=concrete.captured_inputs)  # noqa: SLF001

    def _call_key(self, args):
        """The key of a call with ``args``, or None where it takes the ``tf.function``'s call."""
        if make_function_context is None or len(args) != self._arity:
            return None  # a default's value is bound by the tf.function's own call
        if not tf.executing_eagerly():
            return None
        try:
            return make_function_context(), _key(args)
        except (_NoKey, TypeError):  # TypeError: a context that cannot be hashed
            return None
