"""Sequences of another length from the command line: ``seqkit run --set task.name=seq2seq``
(an encoder-decoder) and ``transcribe`` (CTC) train with no data of the user's own, ``seqkit
eval`` reports decoded metrics beside their baselines, ``seqkit sample --source`` decodes one
source, greedy or by beam search; keys that are an encoder-decoder's are refused elsewhere.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli.main import cli

SMALL = [  # the graph runner: these test the wiring, tests/test_fast_runner.py the runners
    "model.hidden_size=16",
    "model.embedding_size=8",
    "model.runner=graph",
    "train.steps=4",
    "train.eval_every=2",
    "train.checkpoint_every=2",
    "task.val_fraction=0.02",
]


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _sets(pairs):
    return [arg for pair in pairs for arg in ("--set", pair)]


@pytest.fixture(scope="module")
def dates(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "dates"
    result = _invoke("run", *_sets(["task.name=seq2seq", *SMALL]), "--out", out)
    assert result.exit_code == 0, result.output
    assert "baseline: exact_match 0.0000" in result.output
    return out


def test_seq2seq_trains_with_its_recommended_model_and_reports_decoded_metrics(dates):
    run = seqkit.open_run(dates, "last")
    assert type(run.model).__name__ == "Seq2SeqModel" and run.model.cell_name == "gru"
    assert run.config["model"]["attention"] is True  # the task's recommendation
    assert {"val_loss", "val_exact_match", "val_token_accuracy"} <= set(run.metrics[-1])
    printed = _invoke("eval", dates, "--checkpoint", "last", "--beam-width", 2)
    assert printed.exit_code == 0, printed.output
    assert re.search(r"exact_match [\d.]+ \(baseline 0\.0000\)  token_accuracy [\d.]+ "
                     r"\(baseline [\d.]+\)", printed.stdout), printed.stdout  # fmt: skip


def test_sample_decodes_a_source_greedily_or_by_beam_search(dates):
    greedy = _invoke("sample", dates, "--source", "5 march 1991", "--checkpoint", "last")
    assert greedy.exit_code == 0, greedy.output
    text = greedy.stdout.rstrip("\n")
    assert text == seqkit.open_run(dates, "last").decode("5 march 1991")  # the same decoding
    assert set(text) <= set("0123456789-")  # the target vocabulary's characters
    one = _invoke(
        "sample", dates, "--source", "5 march 1991", "--beam-width", 1, "--checkpoint", "last"
    )
    assert one.stdout == greedy.stdout  # a beam of one is greedy decoding
    assert _invoke("sample", dates, "--source", "1 may 2000", "--beam-width", 3).exit_code == 0


def test_sample_decodes_each_line_of_a_file_or_of_standard_input(dates, tmp_path):
    sources = ["5 march 1991", "1 may 2000", "12 december 1850"]
    expected = seqkit.open_run(dates, "last").decode_all(sources)
    assert expected[0] == seqkit.open_run(dates, "last").decode(sources[0])
    path = tmp_path / "sources.txt"
    path.write_text("\n".join(sources[:2]) + "\n\n" + sources[2] + "\n", encoding="utf-8")
    from_file = _invoke("sample", dates, "--sources", path, "--checkpoint", "last")
    assert from_file.exit_code == 0, from_file.output
    assert from_file.stdout.splitlines() == expected  # one result a line, blank lines skipped
    piped = CliRunner().invoke(
        cli, ["sample", str(dates), "--sources", "-", "--checkpoint", "last"],
        input="\n".join(sources) + "\n",
    )  # fmt: skip
    assert piped.exit_code == 0, piped.output
    assert piped.stdout.splitlines() == expected


@pytest.mark.parametrize(
    "args, message",
    [
        (["sample", "{run}", "--source", " "], "--source must be some text to decode"),
        (["sample", "{run}", "--source", "x", "--beam-width", 0],
         "--beam-width must be a whole number from 1 to 256, got 0."),
        (["export", "{run}", "--format", "torch", "{tmp}/w.npz"],
         "--format torch writes a single stack (a torch.nn.LSTM, GRU or RNN); this run's "
         "model is a Seq2SeqModel"),
        (["sample", "{run}", "--prime", "a"], "does not predict text"),
    ],
)  # fmt: skip
def test_what_a_decoding_run_cannot_do_is_one_line(dates, tmp_path, args, message):
    result = _invoke(*[str(a).format(run=dates, tmp=tmp_path) for a in args])
    assert result.exit_code == 1 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_transcribe_trains_a_ctc_model_and_decodes_typed_digits(tmp_path):
    out = tmp_path / "run"
    result = _invoke("run", *_sets(["task.name=transcribe", *SMALL]), "--out", out)
    assert result.exit_code == 0, result.output
    assert re.search(r"label_error_rate [\d.]+ \(baseline 0\.8\d+\)", result.output), result.output
    run = seqkit.open_run(out)
    assert run.config["train"]["loss"] == "auto" and run.scorer().loss.per_step is False  # CTC
    decoded = _invoke("sample", out, "--source", "31415", "--beam-width", 4)
    assert decoded.exit_code == 0 and set(decoded.stdout.strip()) <= set("0123456789")
    bad = _invoke("sample", out, "--source", "3a")
    assert bad.exit_code == 1 and "the label 'a' is not in the alphabet" in bad.output


def test_encoder_decoder_keys_are_refused_for_a_single_stack(tmp_path):
    result = _invoke("run", "--set", "model.attention=true", "--out", tmp_path / "x")
    assert result.exit_code == 1 and not (tmp_path / "x").exists()
    assert (
        "model.attention is an encoder-decoder's (a seq2seq task's); task 'char-lm'"
        in result.output
    )


@pytest.mark.parametrize("key", ["model.initial_state=learned", "model.encoder=onehot"])
def test_single_stack_keys_are_refused_for_an_encoder_decoder(tmp_path, key):
    result = _invoke("run", *_sets(["task.name=seq2seq", key]), "--out", tmp_path / "x")
    assert result.exit_code == 1 and not (tmp_path / "x").exists()  # it was silently ignored
    assert f"{key.split('=')[0]} = " in result.output
    assert "task 'seq2seq' trains an encoder-decoder" in result.output


def test_a_data_file_changed_since_training_is_refused_on_resume_and_decode(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    lines = [f"{w} {n}\t{n} {w}" for n in range(40) for w in ("one", "two", "six")]
    pairs.write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    settings = ["task.name=seq2seq", f"task.path={pairs}", *SMALL, "train.steps=2"]
    assert _invoke("run", *_sets(settings), "--out", out).exit_code == 0
    pairs.write_text(pairs.read_text().replace("x", "q"))  # as many tokens, one of them other
    resumed = _invoke("run", "--resume", out, "--set", "train.steps=6")
    assert resumed.exit_code == 1, resumed.output
    assert "The task's data now gives other tokens (or another order of them) than the run" in (
        resumed.output
    )
    decoded = _invoke("sample", out, "--source", "one 3")  # ids that would mean other tokens
    assert decoded.exit_code == 1 and "Traceback" not in decoded.output
    assert decoded.output.startswith("Error: The task's data now gives other tokens")
