"""TextVocabulary: a task's counted vocabulary (padding and unknown reserved) and vocab.json.

.venv/bin/python -m pytest tests/test_vocabulary.py -q
"""

from __future__ import annotations

import json

import pytest

from seqkit import TextVocabulary
from seqkit.errors import DataError


def test_counted_keeps_padding_and_unknown_first_and_reads_no_text_as_them():
    vocabulary = TextVocabulary.counted(["dog", "<unk>", "<pad>", "cat", "dog"], 1, " ")
    assert vocabulary.tokens == ("<pad>", "<unk>", "<pad>", "<unk>", "cat", "dog")
    # a text's own "<unk>" is a word of its own; an unseen word is id 1, never padding (0)
    assert vocabulary.encode(["<unk>", "cow", "dog"]).tolist() == [3, 1, 5]
    assert vocabulary.encode("<pad> cow").tolist() == [2, 1]
    assert vocabulary.first_unknown(["dog", "cow", "hen"]) == "cow"


def test_counted_drops_rare_tokens_and_puts_markers_after_the_reserved_ones():
    vocabulary = TextVocabulary.counted("abacab", 2, "", markers=("<s>", "</s>"))
    assert vocabulary.tokens == ("<pad>", "<unk>", "<s>", "</s>", "a", "b")
    assert vocabulary.encode("abc").tolist() == [4, 5, 1]
    assert vocabulary.decode([2, 4, 5]) == "<s>ab"
    words = TextVocabulary.counted(["x", "<s>"], 1, " ", markers=("<s>", "</s>"))
    assert words.encode("<s> x").tolist() == [2, 4]  # a words vocabulary reads its markers


def test_a_reserved_vocabulary_loads_back_from_vocab_json_and_plain_ones_keep_their_json():
    counted = TextVocabulary.counted("hello", 1, "")
    assert TextVocabulary.from_json(json.loads(counted.to_json())) == counted
    plain = TextVocabulary(("a", "b"))
    assert json.loads(plain.to_json()) == {"tokens": ["a", "b"], "separator": "", "unknown": None}


def test_a_character_vocabulary_refuses_a_long_token_that_is_not_reserved():
    with pytest.raises(DataError, match="one character a token"):
        TextVocabulary(("<pad>", "a"), reserved=0)
    with pytest.raises(DataError, match="each token once"):
        TextVocabulary(("a", "b", "b"), reserved=1)
