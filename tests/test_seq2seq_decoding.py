"""Greedy decoding and beam search of a fixed ``Seq2SeqModel`` against a NumPy reference; beam
width 1 is greedy decoding exactly; the end symbol and the length bound stop a row; a row
decodes alike alone and padded in a batch; XLA gives the graph's ids."""

import numpy as np
import pytest
import tensorflow as tf
from seq2seq_reference import Reference

import seqkit

START, END, MAX_LENGTH = 1, 2, 7
V_SOURCE, V_TARGET = 9, 8


def make_model(cell="gru", seed=0, **options):
    seqkit.set_seed(seed)
    model = seqkit.Seq2SeqModel(
        cell, hidden_size=6, vocab_size=V_TARGET, source_vocab_size=V_SOURCE,
        embedding_size=4, dtype=tf.float64, runner="python", **options,
    )  # fmt: skip
    # sharper outputs than glorot's: decisions with clear margins, rows of several lengths
    model.head_weight.assign(model.head_weight * 4.0)
    return model


def sources(seed=0, batch=4, steps=5):
    rng = np.random.default_rng(seed)
    source = rng.integers(1, V_SOURCE, size=(batch, steps)).astype(np.int32)
    mask = np.arange(steps)[None] < rng.integers(1, steps + 1, size=(batch, 1))
    mask[0] = True
    return source, mask


SETTINGS = [
    ("lstm", dict()),
    ("gru", dict(attention=True, bidirectional=True)),
    ("mgu", dict(attention=True, bridge="linear", num_layers=2)),
]


@pytest.mark.parametrize(("cell", "settings"), SETTINGS, ids=[c for c, _ in SETTINGS])
def test_greedy_decoding_matches_a_numpy_reference(cell, settings):
    model = make_model(cell, **settings)
    source, mask = sources()
    found = seqkit.Seq2SeqDecoder(model, START, END, MAX_LENGTH).greedy(source, mask)
    want = Reference(model).greedy(source, mask, START, END, MAX_LENGTH)
    for row, (ids, score) in enumerate(want):
        assert found.sequences()[row].tolist() == ids
        assert found.scores[row] == pytest.approx(score, rel=1e-9)
        assert found.finished[row] == (len(ids) < MAX_LENGTH)
    assert len({len(ids) for ids, _ in want}) > 1  # rows of several lengths


@pytest.mark.parametrize(("cell", "settings"), SETTINGS, ids=[c for c, _ in SETTINGS])
@pytest.mark.parametrize(("width", "alpha"), [(2, 0.0), (3, 1.0)])
def test_beam_search_matches_a_numpy_reference(cell, settings, width, alpha):
    model = make_model(cell, seed=1, **settings)
    source, mask = sources(1)
    decoder = seqkit.Seq2SeqDecoder(model, START, END, MAX_LENGTH)
    found = decoder.beam(source, mask, beam_width=width, length_penalty=alpha)
    want = Reference(model).beam(source, mask, START, END, MAX_LENGTH, width, alpha)
    for row, (ids, score) in enumerate(want):
        assert found.sequences()[row].tolist() == ids
        assert found.scores[row] == pytest.approx(score, rel=1e-9)


@pytest.mark.parametrize(("cell", "seed"), [("lstm", 0), ("gru", 1), ("vanilla", 2), ("mgu", 3)])
def test_beam_width_one_is_greedy_decoding_exactly(cell, seed):
    model = make_model(cell, seed=seed, attention=seed % 2 == 0)
    source, mask = sources(seed, batch=8)
    decoder = seqkit.Seq2SeqDecoder(model, START, END, MAX_LENGTH)
    greedy = decoder.greedy(source, mask)
    beam = decoder.beam(source, mask, beam_width=1, length_penalty=0.0)
    np.testing.assert_array_equal(beam.ids, greedy.ids)
    np.testing.assert_array_equal(beam.lengths, greedy.lengths)
    np.testing.assert_array_equal(beam.scores, greedy.scores)


def test_a_wider_beam_finds_hypotheses_at_least_as_likely_here():
    model = make_model("gru", seed=4, attention=True)
    source, mask = sources(4, batch=8)
    decoder = seqkit.Seq2SeqDecoder(model, START, END, MAX_LENGTH)
    greedy = decoder.greedy(source, mask)
    beam = decoder.beam(source, mask, beam_width=4, length_penalty=0.0)
    assert np.all(beam.scores >= greedy.scores - 1e-12)
    assert np.any(beam.scores > greedy.scores + 1e-6)  # the search does something


def test_the_end_symbol_and_the_length_bound_stop_a_row():
    model = make_model("gru")
    source, mask = sources()
    decoder = seqkit.Seq2SeqDecoder(model, START, END, MAX_LENGTH)
    bias = np.zeros(V_TARGET)
    bias[END] = 1e3  # the end symbol first, always
    model.head_bias.assign(bias)
    for found in (decoder.greedy(source, mask), decoder.beam(source, mask, 3)):
        assert found.lengths.tolist() == [0] * 4 and found.finished.all()
        assert (found.ids == END).all()
    bias[END] = -1e3  # never
    model.head_bias.assign(bias)
    for found in (decoder.greedy(source, mask), decoder.beam(source, mask, 3)):
        assert found.lengths.tolist() == [MAX_LENGTH] * 4 and not found.finished.any()
        assert all(len(s) == MAX_LENGTH and END not in s for s in found.sequences())


def test_a_row_decodes_alike_alone_and_padded_in_a_batch():
    model = make_model("lstm", attention=True, bidirectional=True)
    source, mask = sources(5, batch=3, steps=6)
    mask[1, 2:] = False  # row 1: 2 steps, then 4 of padding (junk ids)
    decoder = seqkit.Seq2SeqDecoder(model, START, END, MAX_LENGTH)
    alone = source[1:2, :2]
    for decode in (decoder.greedy, lambda s, m: decoder.beam(s, m, beam_width=3)):
        together, single = decode(source, mask), decode(alone, None)
        assert single.sequences()[0].tolist() == together.sequences()[1].tolist()
        assert single.scores[0] == pytest.approx(together.scores[1], rel=1e-9)


@pytest.mark.parametrize("method", ["greedy", pytest.param("beam", marks=pytest.mark.slow)])
def test_xla_gives_the_graphs_ids(method):
    seqkit.set_seed(0)
    model = seqkit.Seq2SeqModel(
        "lstm", hidden_size=6, vocab_size=V_TARGET, source_vocab_size=V_SOURCE, attention=True
    )
    model.head_weight.assign(model.head_weight * 4.0)
    source, mask = sources(6)
    graph = seqkit.Seq2SeqDecoder(model, START, END, MAX_LENGTH)
    xla = seqkit.Seq2SeqDecoder(model, START, END, MAX_LENGTH, jit_compile=True)
    if method == "greedy":
        np.testing.assert_array_equal(xla.greedy(source, mask).ids, graph.greedy(source, mask).ids)
    else:  # ~13 s of compiling
        np.testing.assert_array_equal(
            xla.beam(source, mask, 2).ids, graph.beam(source, mask, 2).ids
        )


def test_bad_settings_are_one_sentence_errors():
    model = make_model("gru")
    with pytest.raises(seqkit.OptionError, match="end_id 8 is not an id of the model's 8 outputs"):
        seqkit.Seq2SeqDecoder(model, START, V_TARGET, MAX_LENGTH)
    with pytest.raises(seqkit.OptionError, match="max_length must be a positive integer"):
        seqkit.Seq2SeqDecoder(model, START, END, 0)
    decoder = seqkit.Seq2SeqDecoder(model, START, END, MAX_LENGTH)
    source, mask = sources()
    with pytest.raises(seqkit.OptionError, match="beam_width must be a positive integer"):
        decoder.beam(source, mask, beam_width=0)
    with pytest.raises(seqkit.OptionError, match="the source must be .* at least one step"):
        decoder.greedy(np.zeros((2, 0), np.int32))
