"""Luong-style global dot attention (Luong, Pham and Manning, 2015, section 3.1), masked over
the source's padding:

    score(h_t, m_s) = h_t . m_s                   the decoder's state against each source step
    a_t             = softmax_s(score(h_t, m_s))  over the steps where the source mask is true
    c_t             = sum_s a_ts m_s              the context vector
    h~_t            = tanh(W_c [c_t; h_t])        the attentional hidden state, fed to the head

The memory m_s is the encoder's output at step s. Where its width differs from the decoder's
(a bidirectional encoder gives 2H), it is first mapped to H by a learned ``W_m`` [H, 2H]:
m_s = W_m h_s, which makes the score Luong's "general" h_t^T W_m h_s. Parameters, in PyTorch's
layout: ``weight`` (W_c, [H, 2H], no bias, as in the paper) and ``memory_weight`` (W_m).

    attention = LuongAttention(hidden_size=64, memory_size=128)
    memory = attention.memory(encoder_outputs)                  # [B, S, 128] -> [B, S, 64]
    attended = attention(decoder_states, memory, source_mask)   # [B, T, 64]
"""

from __future__ import annotations

import tensorflow as tf

from seqkit.interfaces import check_size
from seqkit.ops import glorot_uniform, linear


def dot_attention(queries, memory, memory_mask=None):
    """The attention weights and context vectors of ``queries`` ``[B, T, H]`` over ``memory``
    ``[B, S, H]``: ``(weights [B, T, S], context [B, T, H])``; steps where ``memory_mask``
    ``[B, S]`` is false get weight 0 (a row with no true step attends to nothing: context 0)."""
    scores = tf.matmul(queries, memory, transpose_b=True)  # [B, T, S]
    if memory_mask is None:
        weights = tf.nn.softmax(scores, axis=-1)
    else:
        keep = tf.cast(memory_mask, tf.bool)[:, None, :]  # [B, 1, S]
        scores = tf.where(keep, scores, scores.dtype.min)  # exp() of it is 0: no weight
        weights = tf.nn.softmax(scores, axis=-1) * tf.cast(keep, scores.dtype)
    return weights, tf.matmul(weights, memory)


class LuongAttention(tf.Module):
    """The attentional hidden state h~_t = tanh(W_c [c_t; h_t]) over an encoder's outputs."""

    def __init__(self, hidden_size: int, memory_size: int, dtype=tf.float32, name=None):
        super().__init__(name=name)
        self.hidden_size = check_size("LuongAttention", "hidden_size", hidden_size)
        self.memory_size = check_size("LuongAttention", "memory_size", memory_size)
        H = self.hidden_size  # noqa: N806 (H as in the equations)
        self.weight = tf.Variable(glorot_uniform(H, 2 * H, dtype), name="weight")
        self.memory_weight = None
        if self.memory_size != H:
            self.memory_weight = tf.Variable(
                glorot_uniform(H, self.memory_size, dtype), name="memory_weight"
            )

    def memory(self, encoder_outputs: tf.Tensor) -> tf.Tensor:
        """The memory m_s: the encoder's outputs ``[B, S, M]`` as ``[B, S, H]``."""
        if self.memory_weight is None:
            return encoder_outputs
        return linear(encoder_outputs, self.memory_weight)

    def __call__(self, queries, memory, memory_mask=None) -> tf.Tensor:
        """h~_t for ``queries`` h_t ``[B, T, H]`` over ``memory`` ``[B, S, H]`` -> ``[B, T, H]``."""
        _, context = dot_attention(queries, memory, memory_mask)
        return tf.tanh(linear(tf.concat([context, queries], axis=-1), self.weight))

    def named_parameters(self) -> dict[str, tf.Variable]:
        """``weight`` (W_c) and, where the memory is mapped, ``memory_weight`` (W_m)."""
        params = {"weight": self.weight}
        if self.memory_weight is not None:
            params["memory_weight"] = self.memory_weight
        return params
