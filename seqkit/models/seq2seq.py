"""``Seq2SeqModel``: an encoder stack reads the source, its final state starts a decoder stack
(Sutskever et al., 2014; Cho et al., 2014), optionally with Luong-style dot attention over the
encoder's outputs (Luong et al., 2015) before the output head.

    model = seqkit.Seq2SeqModel("gru", hidden_size=128, source_vocab_size=40, vocab_size=15,
                                attention=True)
    context = {"source": source_ids, "source_mask": source_mask}   # [B, S] int32, [B, S] bool
    logits, state = model(decoder_inputs, mask=target_mask, context=context)  # [B, T, 15]

Teacher forcing: the decoder reads the target shifted right (the start symbol, then the target
but its last id) and predicts the target; ``seqkit.Seq2SeqDecoder`` generates without targets.
The encoder and the decoder are ``SequenceModel`` stacks without a head, of any registered cell
and runner; the encoder may be bidirectional and read dense vectors (``source_input_size``)
instead of ids. ``bridge`` (``seqkit.models.bridge``) maps the encoder's final state to the
decoder's
start state. The output at step t is

    y_t = W_out h_t + b_out                       without attention
    y_t = W_out tanh(W_c [c_t; h_t]) + b_out      with attention (``seqkit.models.attention``)

Parameters in PyTorch-style names: ``encoder.embedding.weight``, ``encoder.weight_ih_l0``, ...,
``decoder.embedding.weight``, ``decoder.weight_ih_l0``, ..., ``bridge.weight_l0.0`` (linear
bridge), ``attention.weight``, ``head.weight`` [O, H], ``head.bias`` [O].

``precision="mixed_bfloat16"`` computes both stacks, the bridge, the attention and the head in
bfloat16 with float32 variables, as ``SequenceModel`` does; the logits and every state it
returns (the decoder's, and ``EncodedSource.state``) are float32.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from seqkit.errors import OptionError, ShapeError
from seqkit.interfaces import Runner, State, check_size
from seqkit.models.attention import LuongAttention
from seqkit.models.bridge import StateBridge
from seqkit.models.runner_choice import resolve_runner
from seqkit.models.sequence import SequenceModel
from seqkit.ops import glorot_uniform, linear
from seqkit.parameters import StateDict
from seqkit.plugins.registry import Registry, default_registry
from seqkit.training.precision import Precision, resolve_precision


@dataclass(frozen=True)
class EncodedSource:
    """What the decoder needs of a source: the attention memory ``[B, S, H]`` (None without
    attention; in the compute dtype), the source mask ``[B, S]`` (None: every step counts) and
    the start state (float32 under mixed precision, as every state a model returns)."""

    memory: tf.Tensor | None
    mask: tf.Tensor | None
    state: tuple[State, ...]


def read_context(context: Any) -> tuple[tf.Tensor, tf.Tensor | None]:
    """``(source, source_mask)`` of a batch's ``context``: a mapping with ``"source"`` ``[B, S]``
    ids (or ``[B, S, I]`` vectors) and, optionally, ``"source_mask"`` ``[B, S]``."""
    if not isinstance(context, Mapping) or "source" not in context:
        raise ShapeError(
            "Seq2SeqModel: the model reads a source; pass context={'source': [B, S] ids, "
            "'source_mask': [B, S] bools} (a SequenceBatch's context), got "
            f"{type(context).__name__}."
        )
    mask = context.get("source_mask")
    return tf.convert_to_tensor(context["source"]), None if mask is None else tf.cast(mask, tf.bool)


class Seq2SeqModel(StateDict, tf.Module):
    """An encoder-decoder: source -> encoder stack -> bridge -> decoder stack -> (attention) ->
    head. ``cells`` are the decoder's, whose state ``__call__`` returns."""

    def __init__(
        self,
        cell: str,
        hidden_size: int = 128,
        vocab_size: int | None = None,  # target ids: what the decoder reads and predicts
        output_size: int | None = None,  # the head's classes (vocab_size unless given)
        source_vocab_size: int | None = None,  # source ids (an embedding), or
        source_input_size: int | None = None,  # dense source vectors [B, S, I]
        embedding_size: int = 64,  # both embeddings
        num_layers: int = 1,  # both stacks
        encoder_cell: str | None = None,  # the encoder's cell, if not ``cell``
        bidirectional: bool = False,  # the encoder reads the source both ways
        attention: bool = False,  # Luong dot attention over the encoder's outputs
        bridge: str = "copy",  # "copy" or "linear": see seqkit.models.bridge
        dropout: float = 0.0,  # between the layers of each stack, while training
        runner: str | Runner = "auto",  # "auto": one runner that supports both stacks' cells
        cell_options: Mapping[str, Any] | None = None,
        dtype=tf.float32,
        precision: str | Precision = "float32",  # "mixed_bfloat16": see seqkit.training.precision
        registry: Registry | None = None,
        name: str | None = None,
    ):
        super().__init__(name=name)
        registry = registry or default_registry()
        self.dtype = tf.as_dtype(dtype)
        self.precision = resolve_precision(precision, "Seq2SeqModel")
        self.hidden_size = check_size("Seq2SeqModel", "hidden_size", hidden_size)
        self.vocab_size = check_size("Seq2SeqModel", "vocab_size", vocab_size)
        self.output_size = check_size("Seq2SeqModel", "output_size", output_size or vocab_size)
        if (source_vocab_size is None) == (source_input_size is None):
            raise OptionError(
                "Seq2SeqModel: give source_vocab_size (source ids) or source_input_size (source "
                f"vectors), exactly one; got {source_vocab_size!r} and {source_input_size!r}."
            )
        self.cell_name = cell
        self.encoder_cell_name = encoder_cell or cell
        self.bidirectional = bool(bidirectional)
        common = dict(
            hidden_size=self.hidden_size,
            num_layers=num_layers,
            dropout=dropout,
            runner=runner,
            cell_options=cell_options,
            dtype=self.dtype,
            precision=self.precision,
            registry=registry,
        )
        self._make_stacks(source_vocab_size, source_input_size, embedding_size, common)
        if not isinstance(runner, Runner) and runner == "auto":  # one runner for both stacks
            cells = self.encoder.cells + self.decoder.cells  # seq2seq keeps the XLA kernels
            shared = resolve_runner(runner, cells, registry, custom_ops=False)
            self.encoder.runner = self.decoder.runner = shared
        self._make_output(bridge, attention)

    def _make_stacks(self, source_vocab_size, source_input_size, embedding_size, common) -> None:
        """The encoder and decoder stacks: ``SequenceModel`` s without a head."""
        dense = source_input_size is not None
        self.encoder = SequenceModel(
            self.encoder_cell_name,
            input_size=source_input_size,
            encoder=None if dense else "embedding",
            vocab_size=source_vocab_size,
            embedding_size=None if dense else embedding_size,
            bidirectional=self.bidirectional,
            name="encoder",
            **common,
        )
        self.decoder = SequenceModel(
            self.cell_name,
            encoder="embedding",
            vocab_size=self.vocab_size,
            embedding_size=embedding_size,
            name="decoder",
            **common,
        )

    def _make_output(self, bridge: str, attention: bool) -> None:
        """The bridge, the attention (if any) and the head, after both stacks."""
        directions = self.encoder.directions
        self.bridge = StateBridge(
            bridge, self.encoder.cells, self.decoder.cells, directions, self.dtype, name="bridge"
        )
        self.attention = None
        if attention:
            memory_size = self.encoder.cells[-1].output_size * directions
            self.attention = LuongAttention(
                self.hidden_size, memory_size, self.dtype, name="attention"
            )
        width = self.decoder.cells[-1].output_size
        self.head_weight = tf.Variable(
            glorot_uniform(self.output_size, width, self.dtype), name="head_weight"
        )
        self.head_bias = tf.Variable(tf.zeros([self.output_size], self.dtype), name="head_bias")

    # -- what a trainer reads ------------------------------------------------------------------

    @property
    def cells(self) -> list:
        """The decoder's cells: the state a trainer carries is the decoder's."""
        return self.decoder.cells

    @property
    def encoder_cells(self) -> list:
        """The encoder's cells, in ``torch.nn.LSTM``'s order (l0, l0_reverse, l1, ...)."""
        return self.encoder.cells

    @property
    def num_layers(self) -> int:
        """The layers of each stack (the encoder's and the decoder's are as many)."""
        return self.decoder.num_layers

    @property
    def runner(self) -> Runner:
        """The decoder's runner (the encoder's is the same unless a runner was named)."""
        return self.decoder.runner

    @property
    def learns_initial_state(self) -> bool:
        """False: it learns no start state. (Its decoder's start state is made from the source
        by the encoder and the bridge; the window walk makes it inside each update, where the
        encoder gets its gradient, because the batch has a context.)"""
        return False

    def initial_state(self, batch_size: int) -> tuple[State, ...]:
        """The decoder's zero state (the shape of its state); a sequence's real start state is
        the encoder's, made from the source by ``encode``."""
        return self.decoder.initial_state(batch_size)

    # -- forward -------------------------------------------------------------------------------

    def encode(self, source, source_mask=None, training: bool = False) -> EncodedSource:
        """Read the source: ``[B, S]`` ids (or ``[B, S, I]`` vectors) and mask ``[B, S]``."""
        if source_mask is not None:
            source_mask = tf.cast(source_mask, tf.bool)
        outputs, final = self.encoder(source, mask=source_mask, training=training)
        precision = self.precision  # the encoder's outputs and state come back in float32
        with precision.casting([self.bridge] + ([self.attention] if self.attention else [])):
            memory = None
            if self.attention is not None:
                memory = self.attention.memory(precision.compute(outputs))
            start = precision.stored(self.bridge(precision.compute(final)))
        return EncodedSource(memory, source_mask, start)

    def output(self, hidden: tf.Tensor, encoded: EncodedSource) -> tf.Tensor:
        """Logits ``[B, T, O]`` from the decoder's top-layer outputs h_t ``[B, T, H]``; float32
        under mixed precision (computed in bfloat16, then cast)."""
        precision = self.precision
        hidden = precision.compute(hidden)
        if self.attention is not None:
            with precision.casting([self.attention]):
                hidden = self.attention(hidden, encoded.memory, encoded.mask)
        weight, bias = precision.compute((self.head_weight, self.head_bias))
        return precision.stored(linear(hidden, weight, bias))

    def __call__(self, inputs, initial_state=None, mask=None, training: bool = False, context=None):
        """Teacher forcing: ``(logits [B, T, O], decoder's final state)`` for decoder inputs
        ``[B, T]`` ids (start symbol, then the target shifted right) and ``mask`` ``[B, T]``,
        given the source in ``context``. ``initial_state`` None starts from the encoder's."""
        encoded = self.encode(*read_context(context), training=training)
        state = encoded.state if initial_state is None else initial_state
        hidden, final = self.decoder(inputs, state, mask, training=training)
        return self.output(hidden, encoded), final

    def step(self, ids, state, encoded: EncodedSource):
        """One decoder step: ids ``[B]`` and state -> ``(logits [B, O], new_state)``."""
        hidden, state = self.decoder.step(ids, state)
        return self.output(hidden[:, None], encoded)[:, 0], state

    # -- parameters ----------------------------------------------------------------------------

    def named_parameters(self) -> dict[str, tf.Variable]:
        """Every parameter under a PyTorch-style name: ``encoder.*``, ``decoder.*``,
        ``bridge.*``, ``attention.*``, ``head.weight``, ``head.bias``."""
        params = {}
        for prefix, module in (("encoder", self.encoder), ("decoder", self.decoder)):
            params.update({f"{prefix}.{k}": v for k, v in module.named_parameters().items()})
        params.update({f"bridge.{k}": v for k, v in self.bridge.named_parameters().items()})
        if self.attention is not None:
            params.update(
                {f"attention.{k}": v for k, v in self.attention.named_parameters().items()}
            )
        params["head.weight"] = self.head_weight
        params["head.bias"] = self.head_bias
        return params
