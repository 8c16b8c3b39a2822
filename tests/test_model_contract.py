"""``seqkit.interfaces.Model``: both model classes satisfy it, ``check_model`` refuses a model
that lacks a member in one line naming it, a run's models are checked where they are made, and
the consumers that used to probe a model's attributes read the declared ones.

    .venv/bin/python -m pytest tests/test_model_contract.py -q
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import seqkit
from seqkit.data.vocabulary import TextVocabulary
from seqkit.decoding.sampling import prime_ids
from seqkit.errors import OptionError
from seqkit.interfaces import Model, check_model
from seqkit.interfaces.model import MODEL_MEMBERS
from seqkit.runs import blame, checks, compose

SEQKIT = Path(seqkit.__file__).parent


def sequence_model(**options) -> seqkit.SequenceModel:
    settings = dict(hidden_size=4, output_size=3, encoder="embedding", vocab_size=5)
    return seqkit.SequenceModel("gru", **{**settings, **options}, embedding_size=2)


def seq2seq_model(**options) -> seqkit.Seq2SeqModel:
    settings = dict(hidden_size=4, vocab_size=5, source_vocab_size=6, embedding_size=2)
    return seqkit.Seq2SeqModel("gru", **{**settings, **options})


def test_the_contract_lists_what_the_consumers_read():
    assert set(MODEL_MEMBERS) == {
        "__call__", "initial_state", "learns_initial_state", "cells", "cell_name",
        "encoder_cells", "encoder_cell_name", "runner", "dtype", "hidden_size", "num_layers",
        "output_size", "variables", "trainable_variables", "state_dict",
    }  # fmt: skip
    assert seqkit.Model is Model


@pytest.mark.parametrize("make", [sequence_model, seq2seq_model], ids=["sequence", "seq2seq"])
def test_both_model_classes_satisfy_the_contract(make):
    model = make(num_layers=2)
    assert check_model(model) is model
    assert model.num_layers == 2


def test_a_sequence_model_declares_no_encoder_cells_and_a_seq2seq_model_its_own():
    single, pair = (
        sequence_model(),
        seq2seq_model(encoder_cell="lstm", bridge="linear", bidirectional=True),
    )
    assert (single.encoder_cells, single.encoder_cell_name) == ((), None)
    assert pair.encoder_cell_name == "lstm" and len(pair.encoder_cells) == 2
    assert pair.encoder_cells == pair.encoder.cells and pair.cells == pair.decoder.cells


class NotQuiteAModel:
    """Every member of the contract but ``encoder_cells`` (and a call)."""

    def __call__(self, inputs, initial_state=None, mask=None, training=False):
        return inputs, initial_state


for _name in MODEL_MEMBERS:
    if _name not in ("__call__", "encoder_cells"):
        setattr(NotQuiteAModel, _name, None)


def test_a_model_that_lacks_a_member_is_refused_in_one_line_naming_it():
    with pytest.raises(OptionError) as caught:
        check_model(NotQuiteAModel())
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("The model NotQuiteAModel lacks encoder_cells, which ")
    assert "seqkit.interfaces.Model" in message


def test_an_object_that_is_no_model_is_told_everything_it_lacks():
    with pytest.raises(OptionError, match=r"object lacks __call__, cell_name, cells, "):
        check_model(object())


def test_a_runs_model_is_checked_where_it_is_made(monkeypatch):
    config = seqkit.load_config(overrides=["task.name=adding"])
    info = {"model_dims": {"input_size": 2, "output_size": 1}, "target_form": "sequence"}
    assert isinstance(compose.build_model(config, info), seqkit.SequenceModel)
    monkeypatch.setattr(compose, "build_sequence_model", lambda *_: NotQuiteAModel())
    with pytest.raises(OptionError, match="lacks encoder_cells"):
        compose.build_model(config, info)


PROBE = re.compile(r"\b(getattr|hasattr)\(\s*(self\.)?(model|run\.model)\b")


def test_no_seqkit_module_probes_a_model_for_an_attribute():
    checker = SEQKIT / "interfaces" / "model.py"  # check_model: the one place that asks
    probes = [
        f"{path.relative_to(SEQKIT)}:{number}"
        for path in sorted(SEQKIT.rglob("*.py"))
        if path != checker
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PROBE.search(line)
    ]
    assert probes == []


def test_blame_lists_the_cells_of_both_stacks_and_of_a_single_one():
    def cells(model):
        return sorted(s.name for s in blame.run_plugins(model=model) if s.kind == "cell")

    assert cells(seq2seq_model(encoder_cell="lstm", bridge="linear")) == ["gru", "lstm"]
    assert cells(sequence_model()) == ["gru"]


def test_the_cell_check_steps_an_encoders_cells_and_none_where_there_are_none(monkeypatch):
    checked = []
    monkeypatch.setattr(
        checks, "_check_stack", lambda model, name, cells, registry: checked.append(name)
    )
    checks.check_cells(seq2seq_model(encoder_cell="lstm", bridge="linear"))
    checks.check_cells(sequence_model())
    assert checked == ["gru", "lstm", "gru"]


def test_an_empty_prime_is_a_line_end_where_the_vocabulary_reads_one():
    words = TextVocabulary(("a", "<eos>", "b"), " ", end_of_line="<eos>")
    chars = TextVocabulary(("x", "y"))
    assert prime_ids(words, "") == [1]  # the end-of-line token
    assert prime_ids(chars, "") == [0]  # the first token
    assert prime_ids(TextVocabulary(("x", "\n")), "") == [1]
