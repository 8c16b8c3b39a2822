"""A model's weights in PyTorch's names and layouts, and back.

    weights = torch_state_dict(model)       # weight_ih_l0 ... as torch.nn.LSTM, embedding.weight,
                                            # head.weight, head.bias; NumPy arrays
    np.savez("model.npz", **weights)        # seqkit export RUN --format torch model.npz

    # torch: the stack is a torch.nn.LSTM (GRU, RNN) with batch_first=True
    rnn.load_state_dict({k: torch.from_numpy(w[k]) for k in rnn.state_dict()})
    # or, for a torch module with attributes embedding, rnn and head:
    net.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch_names(w, "rnn").items()})

    # and back: a torch module's weights into a SequenceModel of the same shape
    model.load_state_dict(from_torch_names(net.state_dict(), "rnn"))

seqkit's ``SequenceModel.state_dict()`` already uses these names (the stack's are
``torch.nn.LSTM``'s own, ``embedding.weight`` is a ``torch.nn.Embedding``'s, ``head.*`` a
``torch.nn.Linear``'s); ``torch_state_dict`` adds the check that torch has the same cells.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from seqkit.export.errors import ExportError
from seqkit.models.sequence import SequenceModel
from seqkit.parameters import as_numpy
from seqkit.plugins.registry import default_registry

# seqkit's built-in cell -> the torch.nn module of a stack of it
TORCH_MODULES = {"lstm": "LSTM", "gru": "GRU", "vanilla": "RNN"}
TORCH_NONLINEARITIES = ("tanh", "relu")  # torch.nn.RNN has no sigmoid
_STACK_KEY = re.compile(r"^(weight|bias)_(ih|hh)_l\d+(_reverse)?$")


def torch_module(model: SequenceModel) -> str:
    """The ``torch.nn`` module whose stack matches the model's, as Python source.

    An ExportError where torch has no such module: a plugin's cell, a sigmoid vanilla cell.
    """
    name = model.cell_name
    provider = default_registry().get("cell", name).plugin.distribution
    if name not in TORCH_MODULES or provider != "seqkit":
        raise ExportError(
            f"torch export: torch.nn has no module for the cell {name!r} "
            f"(from {provider}); it has seqkit's vanilla, gru and lstm only."
        )
    if model.learns_initial_state:
        raise ExportError(
            "torch export: torch.nn modules have no learned initial state (they take h_0 as an "
            'argument); train with model.initial_state = "zeros" to export to torch.'
        )
    options = ""
    if name == "vanilla":
        activation = model.cells[0].activation  # seqkit's own VanillaCell (checked above)
        if activation not in TORCH_NONLINEARITIES:
            raise ExportError(
                f"torch export: torch.nn.RNN has no {activation!r} activation; it has tanh "
                "and relu."
            )
        options = f", nonlinearity={activation!r}"
    if model.bidirectional:
        options += ", bidirectional=True"
    return (
        f"torch.nn.{TORCH_MODULES[name]}({model.input_size}, {model.hidden_size}, "
        f"num_layers={model.num_layers}{options}, batch_first=True)"
    )


def torch_state_dict(model: SequenceModel) -> dict[str, np.ndarray]:
    """The model's weights under torch's names, for a cell that torch.nn has (see torch_module)."""
    torch_module(model)
    return model.state_dict()


def to_torch_names(state_dict: Mapping[str, Any], rnn: str = "rnn") -> dict[str, np.ndarray]:
    """seqkit's names -> those of a torch module whose stack is the attribute ``rnn``.

    ``weight_ih_l0`` (and ``weight_ih_l0_reverse``) becomes ``rnn.weight_ih_l0``; ``embedding.*``
    and ``head.*`` stay as they are (name the torch module's ``torch.nn.Embedding`` and
    ``torch.nn.Linear`` so).
    """
    prefix = f"{rnn}." if rnn else ""
    return {
        (prefix + key if _STACK_KEY.match(key) else key): as_numpy(value)
        for key, value in state_dict.items()
    }


def from_torch_names(state_dict: Mapping[str, Any], rnn: str = "rnn") -> dict[str, np.ndarray]:
    """A torch module's ``state_dict()`` (tensors or arrays) -> seqkit's names, as NumPy.

    The inverse of ``to_torch_names``: ``rnn.weight_ih_l0`` becomes ``weight_ih_l0``.
    """
    prefix = f"{rnn}." if rnn else ""
    converted = {}
    for key, value in state_dict.items():
        if prefix and key.startswith(prefix) and _STACK_KEY.match(key[len(prefix) :]):
            key = key[len(prefix) :]
        converted[key] = as_numpy(value)
    return converted


def describe_torch_modules(model: SequenceModel) -> list[str]:
    """The torch modules whose ``state_dict`` the exported weights are, one line each."""
    lines = []
    if model.encoder == "embedding":
        lines.append(
            f"  embedding.weight  torch.nn.Embedding({model.vocab_size}, {model.input_size})"
        )
    elif model.encoder == "onehot":
        lines.append(f"  (inputs: torch.nn.functional.one_hot(ids, {model.vocab_size}))")
    lines.append(f"  *_l<layer>        {torch_module(model)}")
    width = model.cells[-1].output_size * (2 if model.bidirectional else 1)
    lines.append(f"  head.*            torch.nn.Linear({width}, {model.output_size})")
    return lines
