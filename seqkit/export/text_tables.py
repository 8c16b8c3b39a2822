"""Text in and out of an exported graph, in TensorFlow ops only: raw text split into tokens and
looked up as ids, and ids joined back into text.

    table = token_table(terms.input_tokens, terms.unknown_id)
    ids, mask = read_text(table, text, "chars")              # [B, S] int32, [B, S] bool
    joined = join_tokens(names, ids, lengths, separator="")  # [B] string
"""

from __future__ import annotations

import tensorflow as tf


def token_table(tokens, unknown_id: int) -> tf.lookup.StaticHashTable:
    """A table from each token to its id (its place in ``tokens``); any other is ``unknown_id``."""
    keys = tf.constant(list(tokens), tf.string)
    ids = tf.range(len(tokens), dtype=tf.int32)
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, ids), default_value=unknown_id
    )


def read_text(table, text, split: str, what: str):
    """Ids ``[B, S]`` (padded with 0) and mask ``[B, S]`` of texts ``[B]`` split at white space
    (``"words"``) or into characters (``"chars"``); a text with no token fails, in ``what``'s
    name, with an InvalidArgumentError that says so."""
    if split == "chars":
        tokens = tf.strings.unicode_split(text, "UTF-8")
    else:
        tokens = tf.strings.split(text)
    ids = tf.ragged.map_flat_values(table.lookup, tokens)
    lengths = tf.cast(ids.row_lengths(), tf.int32)
    check = tf.debugging.assert_positive(
        lengths, message=f"{what}: every text must hold at least one token"
    )
    with tf.control_dependencies([check]):
        padded = tf.identity(ids.to_tensor(default_value=0))
    return padded, tf.sequence_mask(lengths, tf.shape(padded)[1])


def join_tokens(names, ids, lengths, separator: str):
    """Texts ``[B]``: each row's first ``lengths`` ids ``[B, L]`` as ``names`` joined by
    ``separator``."""
    rows = tf.RaggedTensor.from_tensor(ids, lengths=lengths)
    tokens = tf.ragged.map_flat_values(lambda flat: tf.gather(names, flat), rows)
    return tf.strings.reduce_join(tokens, axis=1, separator=separator)
