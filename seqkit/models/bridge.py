"""The bridge from an encoder stack's final state to a decoder stack's start state
(Sutskever et al., 2014; Cho et al., 2014): the decoder's layer l starts from what the encoder's
layer l ended with.

    copy    decoder layer l's state is encoder layer l's final state, tensor by tensor (h, and c
            for an LSTM); a bidirectional encoder's two directions are added. No parameters;
            the two stacks' cells must have the same state sizes.
    linear  each tensor j of decoder layer l is s_lj = tanh(W_lj e_l + b_lj), where e_l joins
            every final tensor of encoder layer l (both directions): any pair of cells, and a
            bidirectional encoder (Bahdanau et al., 2015, start their decoder so). Parameters
            ``weight_l{l}.{j}`` [n_j, sum of encoder widths] and ``bias_l{l}.{j}`` [n_j].

States are one tuple per cell, as ``SequenceModel`` gives them: l0, (l0_reverse,) l1, ...
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from seqkit.errors import OptionError
from seqkit.interfaces import Cell
from seqkit.ops import glorot_uniform, linear
from seqkit.option_words import BRIDGES
from seqkit.validation import one_of


class StateBridge(tf.Module):
    """Maps an encoder's final state (per layer and direction) to a decoder's start state."""

    def __init__(
        self,
        kind: str,
        encoder_cells: Sequence[Cell],
        decoder_cells: Sequence[Cell],
        directions: int = 1,
        dtype=tf.float32,
        name=None,
    ):
        super().__init__(name=name)
        one_of("Seq2SeqModel: bridge", kind, BRIDGES)
        self.kind, self.directions = kind, directions
        self.decoder_sizes = [tuple(c.state_size) for c in decoder_cells]
        encoder_sizes = [tuple(c.state_size) for c in encoder_cells[::directions]]
        if len(encoder_sizes) != len(self.decoder_sizes):
            raise OptionError(
                f"Seq2SeqModel: the encoder has {len(encoder_sizes)} layers and the decoder "
                f"{len(self.decoder_sizes)}; give both stacks the same num_layers."
            )
        self.weights, self.biases = [], []
        if kind == "copy":
            for layer, (enc, dec) in enumerate(zip(encoder_sizes, self.decoder_sizes, strict=True)):
                if enc != dec:
                    raise OptionError(
                        f"Seq2SeqModel: bridge 'copy' gives decoder layer {layer} the encoder's "
                        f"final state of sizes {enc}, but its cell takes {dec}; use "
                        "bridge='linear' for cells with other states."
                    )
            return
        for enc, dec in zip(encoder_sizes, self.decoder_sizes, strict=True):
            width = sum(enc) * directions
            self.weights.append([tf.Variable(glorot_uniform(n, width, dtype)) for n in dec])
            self.biases.append([tf.Variable(tf.zeros([n], dtype)) for n in dec])

    def __call__(self, encoder_state: Sequence) -> tuple:
        """The decoder's start state, one tuple per layer, from the encoder's final state."""
        d = self.directions
        layers = [encoder_state[i * d : (i + 1) * d] for i in range(len(self.decoder_sizes))]
        if self.kind == "copy":
            return tuple(
                tuple(tf.add_n(list(parts)) for parts in zip(*dirs, strict=True)) for dirs in layers
            )
        start = []
        for dirs, weights, biases in zip(layers, self.weights, self.biases, strict=True):
            joined = tf.concat([t for state in dirs for t in state], axis=-1)  # [B, e_l]
            start.append(
                tuple(tf.tanh(linear(joined, w, b)) for w, b in zip(weights, biases, strict=True))
            )
        return tuple(start)

    def named_parameters(self) -> dict[str, tf.Variable]:
        """``weight_l0.0``, ``bias_l0.0``, ... for ``linear``; none for ``copy``."""
        params = {}
        for layer, (weights, biases) in enumerate(zip(self.weights, self.biases, strict=True)):
            for j, (w, b) in enumerate(zip(weights, biases, strict=True)):
                params[f"weight_l{layer}.{j}"] = w
                params[f"bias_l{layer}.{j}"] = b
        return params
