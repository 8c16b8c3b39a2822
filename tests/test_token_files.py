"""Token files: a corpus encoded once and read back through a memory map
(seqkit.data.token_files)."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from seqkit.data.token_files import (
    cached_token_file,
    open_token_file,
    prepare_token_file,
)
from seqkit.data.tokenisation import id_dtype
from seqkit.data.vocabulary import TextVocabulary
from seqkit.errors import DataError

TEXT = "héllo wörld — the cat sat\non the mat.\n" * 40


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_char_round_trip_gives_the_sorted_characters_and_their_ids(corpus, tmp_path):
    made = prepare_token_file(corpus, tmp_path / "c.tokens")
    vocabulary = tuple(sorted(set(TEXT)))  # the reference: Python's own set and sort
    assert made.vocabulary.tokens == vocabulary
    expected = np.array([vocabulary.index(c) for c in TEXT])
    np.testing.assert_array_equal(made.ids, expected)
    assert isinstance(made.ids, np.memmap) and made.ids.dtype == np.uint8
    assert made.record["count"] == len(TEXT) and made.record["tokens"] == "char"


def test_utf8_characters_split_across_chunks_are_read_whole(tmp_path, monkeypatch):
    import seqkit.data.corpus as reading

    monkeypatch.setattr(reading, "CHUNK_BYTES", 7)  # cuts inside the 2- and 3-byte characters
    path = tmp_path / "c.txt"
    path.write_text(TEXT, encoding="utf-8")
    made = prepare_token_file(path, tmp_path / "c.tokens")
    assert made.vocabulary.decode(made.ids) == TEXT


def test_bytes_and_words(corpus, tmp_path):
    raw = corpus.read_bytes()
    made = prepare_token_file(corpus, tmp_path / "b.tokens", tokens="byte")
    np.testing.assert_array_equal(made.ids, np.frombuffer(raw, np.uint8))
    assert len(made.vocabulary) == 256
    words = prepare_token_file(corpus, tmp_path / "w.tokens", tokens="word", vocab_size=5)
    # PTB style: each line's words then <eos>; the 3 most frequent words (ties by word)
    lines = TEXT.splitlines()
    counts = {}
    for w in TEXT.split():
        counts[w] = counts.get(w, 0) + 1
    kept = sorted(counts, key=lambda w: (-counts[w], w))[:3]
    assert words.vocabulary.tokens == ("<unk>", "<eos>", *kept)
    known = {*kept, "<eos>"}
    expected = [w if w in known else "<unk>" for line in lines for w in [*line.split(), "<eos>"]]
    assert [words.vocabulary.tokens[i] for i in words.ids] == expected


@pytest.mark.parametrize("size, dtype", [(256, np.uint8), (257, np.uint16), (70000, np.uint32)])
def test_the_id_type_follows_the_vocabulary_size(size, dtype):
    assert id_dtype(size) == dtype


def test_a_large_vocabulary_is_written_as_uint16(tmp_path):
    path = tmp_path / "many.txt"
    path.write_text("".join(chr(0x4E00 + i) for i in range(300)), encoding="utf-8")
    made = prepare_token_file(path, tmp_path / "m.tokens")
    assert made.ids.dtype == np.uint16 and int(made.ids.max()) == 299


def test_a_folder_and_several_sources_join_files_with_a_newline(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.txt").write_text("world", encoding="utf-8")
    (tmp_path / "d" / "a.md").write_text("\ufeffhello", encoding="utf-8")
    (tmp_path / "e.txt").write_text("!", encoding="utf-8")
    made = prepare_token_file([tmp_path / "d", tmp_path / "e.txt"], tmp_path / "j.tokens")
    assert made.vocabulary.decode(made.ids) == "hello\nworld\n!"


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda p: (p / "ids.bin").write_bytes(b"\0" * 3), r"ids\.bin holds 3 bytes, not"),
        (lambda p: (p / "record.json").write_text("{", "utf-8"), r"record\.json cannot be read"),
        (lambda p: (p / "record.json").unlink(), r"it has no record\.json"),
        (lambda p: (p / "vocab.json").write_text('{"tokens": ["a"]}', "utf-8"),
         r"vocab\.json is not the vocabulary its ids were made with"),
    ],
)  # fmt: skip
def test_a_damaged_token_file_is_refused_in_one_line_and_the_cache_rebuilds_it(
    corpus, damage, reason
):
    made = cached_token_file(corpus)
    damage(made.path)
    with pytest.raises(DataError, match=reason) as raised:
        open_token_file(made.path)
    assert "\n" not in str(raised.value) and "seqkit prepare" in str(raised.value)
    again = cached_token_file(corpus)  # made again, whole
    assert again.path == made.path and again.vocabulary.decode(again.ids) == TEXT


def test_a_stale_cached_token_file_is_made_again(corpus):
    first = cached_token_file(corpus)
    assert cached_token_file(corpus).record == first.record  # reused
    corpus.write_text(TEXT + "xyz", encoding="utf-8")
    os.utime(corpus, ns=(1, 1))
    second = cached_token_file(corpus)
    assert second.vocabulary.decode(second.ids) == TEXT + "xyz"
    assert second.record["sha256"] != first.record["sha256"]


def test_a_stale_prepared_token_file_is_refused_by_the_task(corpus, tmp_path):
    import seqkit

    path = tmp_path / "p.tokens"
    prepare_token_file(corpus, path)
    assert seqkit.make_task("char-lm", corpus=str(path)).text == TEXT
    corpus.write_text(TEXT + "more", encoding="utf-8")
    with pytest.raises(DataError, match=r"is stale \(.*corpus\.txt' changed since it was made\)"):
        seqkit.make_task("char-lm", corpus=str(path))


def test_an_interrupted_preparation_leaves_nothing(tmp_path):
    """A preparation killed in its encoding pass leaves no token file and no partial folder."""
    big = tmp_path / "big.txt"
    with open(big, "w", encoding="utf-8") as file:
        for _ in range(40):
            file.write("the quick brown fox jumps over the lazy dog\n" * 100_000)
    out = tmp_path / "out" / "big.tokens"
    script = textwrap.dedent(f"""
        import seqkit.data.token_encoding as enc, os, sys, time
        real = enc._known
        def slow(*args):
            sys.stdout.write("started\\n"); sys.stdout.flush(); time.sleep(60)
        enc._known = slow
        from seqkit.data.token_files import prepare_token_file
        prepare_token_file({str(big)!r}, {str(out)!r})
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "started\n"
    assert any((tmp_path / "out").iterdir())  # its partial folder exists
    child.send_signal(signal.SIGINT)
    child.wait(timeout=30)
    assert list((tmp_path / "out").iterdir()) == []


def test_an_unseen_character_is_refused_with_its_line_or_skipped(tmp_path):
    path = tmp_path / "other.txt"
    path.write_text("abc\nab\nabZc\n", encoding="utf-8")
    vocabulary = TextVocabulary(tuple("\nabc"))
    with pytest.raises(DataError, match=r"other\.txt' line 3 holds 'Z', which is not in"):
        prepare_token_file(path, tmp_path / "r.tokens", vocabulary=vocabulary)
    skipped = prepare_token_file(path, tmp_path / "s.tokens", vocabulary=vocabulary, unknown="skip")
    assert vocabulary.decode(skipped.ids) == "abc\nab\nabc\n" and skipped.record["skipped"] == 1
    with pytest.raises(DataError, match=r"has no unknown token to map 'Z' to"):
        prepare_token_file(path, tmp_path / "m.tokens", vocabulary=vocabulary, unknown="map")
    record = json.loads((tmp_path / "s.tokens" / "record.json").read_text("utf-8"))
    assert record["unknown"] == "skip"
