"""Parameters by name, PyTorch-style: ``named_variables`` and loading a state dict into them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from seqkit.errors import StateDictError


def named_variables(module: tf.Module, prefix: str = "") -> dict[str, tf.Variable]:
    """The variables held as attributes of ``module``, named by attribute, in creation order.

    Submodules contribute theirs under ``attribute.name``, lists of modules under
    ``attribute.index.name``, as ``torch.nn.Module.named_parameters`` does.
    """
    found: dict[str, tf.Variable] = {}
    for attr, value in vars(module).items():
        if attr.startswith("_"):
            continue
        _collect(value, prefix + attr, found)
    return found


def _collect(value: Any, name: str, found: dict[str, tf.Variable]) -> None:
    if isinstance(value, tf.Variable):
        found[name] = value
    elif isinstance(value, tf.Module):
        if hasattr(value, "named_parameters"):
            found.update({f"{name}.{k}": v for k, v in value.named_parameters().items()})
        else:
            found.update(named_variables(value, prefix=name + "."))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _collect(item, f"{name}.{i}", found)


class StateDict:
    """``state_dict()`` and ``load_state_dict()``, PyTorch's way, from ``named_parameters()``
    (which the class defines: the parameters by name, in order)."""

    def named_parameters(self) -> dict[str, tf.Variable]:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter as a NumPy array, under its name."""
        return {name: v.numpy() for name, v in self.named_parameters().items()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Assign parameters from a dict of arrays (NumPy, TensorFlow or PyTorch CPU tensors).

        Keys and shapes must match ``state_dict()``; with ``strict=False`` missing keys are
        left as they are and unexpected keys are ignored.
        """
        load_parameters(self.named_parameters(), state_dict, type(self).__name__, strict)


def as_numpy(value: Any) -> np.ndarray:
    """A NumPy copy of an array-like: NumPy, TensorFlow, or a PyTorch tensor on the CPU."""
    if hasattr(value, "detach"):  # a torch.Tensor, without importing torch
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def load_parameters(
    params: Mapping[str, tf.Variable],
    state_dict: Mapping[str, Any],
    owner: str,
    strict: bool = True,
) -> None:
    """Assign ``state_dict`` to ``params`` by name, checking every key and shape first.

    Nothing is assigned unless everything checks out, so a failed load leaves ``params`` as
    they were.
    """
    if not isinstance(state_dict, Mapping):
        raise StateDictError(
            f"{owner}.load_state_dict expects a mapping of names to arrays, "
            f"got {type(state_dict).__name__}."
        )
    missing = [k for k in params if k not in state_dict]
    unexpected = [k for k in state_dict if k not in params]
    if strict and (missing or unexpected):
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected}")
        raise StateDictError(
            f"{owner}.load_state_dict: {' and '.join(parts)}; expected exactly "
            f"{list(params)} (pass strict=False to load a subset)."
        )
    arrays = {}
    for name, variable in params.items():
        if name not in state_dict:
            continue
        array = as_numpy(state_dict[name])
        expected = tuple(variable.shape)
        if array.shape != expected:
            raise StateDictError(
                f"{owner}.load_state_dict: {name!r} has shape {array.shape}, expected {expected}."
            )
        if not np.issubdtype(array.dtype, np.number):
            raise StateDictError(
                f"{owner}.load_state_dict: {name!r} holds {array.dtype} values, expected numbers."
            )
        arrays[name] = array
    for name, array in arrays.items():
        params[name].assign(array.astype(params[name].dtype.as_numpy_dtype))
