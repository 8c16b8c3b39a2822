"""task.tokens = "char" | "byte" | "word": train, sample and evaluate from the CLI and from
Python; eval --corpus with tokens the run never saw (--unknown refuse | skip | map)."""

import math
import random

import numpy as np
import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli.main import cli
from seqkit.errors import DataError

WORDS = "the cat sat on a mat and dog ran far away".split()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = random.Random(1)
    lines = [" ".join(rng.choice(WORDS) for _ in range(7)) for _ in range(300)]
    path = tmp_path_factory.mktemp("tok") / "c.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


TINY = ["train.steps=4", "train.batch_size=4", "train.k1=8", "model.hidden_size=8",
        "model.embedding_size=4", "train.eval_every=4", "train.checkpoint_every=4",
        "train.log_every=2", "sample.length=12"]  # fmt: skip


def test_word_tokens_are_penn_treebank_style(corpus):
    task = seqkit.make_task("char-lm", corpus=str(corpus), tokens="word", vocab_size=6)
    vocabulary = task.vocabulary
    assert vocabulary.tokens[:2] == ("<unk>", "<eos>") and len(vocabulary) == 6
    first_line = corpus.read_text("utf-8").splitlines()[0].split()
    expected = [w if w in vocabulary else "<unk>" for w in first_line] + ["<eos>"]
    assert [vocabulary.tokens[i] for i in task.train_ids[: len(expected)]] == expected
    assert task.metrics(2.0) == pytest.approx({"loss": 2.0, "perplexity": math.exp(2.0)})


def test_byte_tokens_are_the_utf8_bytes(tmp_path):
    path = tmp_path / "b.txt"
    path.write_text("naïve café\n" * 20, encoding="utf-8")
    task = seqkit.make_task("char-lm", corpus=str(path), tokens="byte", val_fraction=0.0)
    np.testing.assert_array_equal(task.train_ids, np.frombuffer(path.read_bytes(), np.uint8))
    assert task.vocab_size == 256 and task.text == path.read_text("utf-8")
    assert task.metrics(math.log(2.0)) == pytest.approx({"loss": math.log(2.0), "bpb": 1.0})


@pytest.mark.slow  # three tiny runs, ~20 s on a busy machine
@pytest.mark.parametrize("tokens, metric", [("byte", "bpb"), ("word", "perplexity")])
def test_train_sample_and_eval_from_the_cli_and_python(corpus, tmp_path, tokens, metric):
    out = tmp_path / "run"
    sets = [a for pair in TINY for a in ("--set", pair)]
    code, text = _invoke("run", "--out", out, "--set", f"task.corpus={corpus}",
                         "--set", f"task.tokens={tokens}", *sets)  # fmt: skip
    assert code == 0, text
    code, text = _invoke("sample", out, "--length", 5, "--prime", "the cat")
    assert code == 0 and text.startswith("the cat"), text
    code, text = _invoke("eval", out, "--corpus", corpus)
    assert code == 0 and f" {metric} " in text, text
    run = seqkit.open_run(out)
    assert run.vocabulary == run.task.vocabulary and len(run.vocabulary) >= 13
    scores = run.evaluate(corpus=str(corpus))
    assert metric in scores and math.isfinite(scores["loss"])
    assert run.sample("the cat", length=4, seed=1).startswith("the cat")


@pytest.fixture(scope="module")
def char_run(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "char"
    sets = [a for pair in TINY for a in ("--set", pair)]
    code, text = _invoke("run", "--out", out, "--set", f"task.corpus={corpus}", *sets)
    assert code == 0, text
    return out


@pytest.fixture
def other(tmp_path):
    path = tmp_path / "other.txt"
    path.write_text("the cat sat\n" * 10 + "on a mat\n" + "the Zcat sat\n" * 10, "utf-8")
    return path


def test_eval_refuses_an_unseen_character_naming_it_and_its_line(char_run, other):
    code, text = _invoke("eval", char_run, "--corpus", other)
    assert code == 1
    assert text.count("\n") == 1 and "other.txt' line 12 holds 'Z'" in text, text


def test_eval_skips_unseen_characters_or_says_there_is_no_unknown_token(char_run, other):
    code, text = _invoke("eval", char_run, "--corpus", other, "--unknown", "skip")
    assert code == 0 and " bpc " in text, text
    run = seqkit.open_run(char_run)
    skipped = run.evaluate(corpus=str(other), unknown="skip")
    without = other.with_name("without.txt")
    without.write_text(other.read_text("utf-8").replace("Z", ""), "utf-8")
    assert skipped == run.evaluate(corpus=str(without))  # the same as the text without them
    code, text = _invoke("eval", char_run, "--corpus", other, "--unknown", "map")
    assert code == 1 and "has no unknown token to map 'Z' to" in text, text


def test_a_word_run_maps_unseen_words_to_unk_or_refuses_them(corpus, other):
    task = seqkit.make_task("char-lm", corpus=str(corpus), tokens="word")
    (batch,) = task.corpus_batches(str(other), batch_size=2)
    unk = task.vocabulary.tokens.index("<unk>")
    assert unk in np.asarray(batch.inputs)  # "Zcat"
    with pytest.raises(DataError, match=r"other\.txt' line 12 holds 'Zcat'"):
        task.corpus_batches(str(other), batch_size=2, unknown="refuse")


# -- a labelled task's run evaluated on another file (classify, tag) --------------------------

LABELLED = {
    "classify": ("pos\tthe chair is good\nneg\tthe desk is bad\n", "pos\tthe dësk is good\n",
                 "meh\tthe chair is good\n", "line 1 of"),
    "tag": ("the\tDET\ndog\tNOUN\n\nthe\tDET\ncat\tNOUN\n", "the\tDET\nzebra\tNOUN\n",
            "the\tDET\ndog\tVERBISH\n", "line 2 of"),
}  # fmt: skip


@pytest.mark.slow  # two tiny runs, ~15 s on a busy machine
@pytest.mark.parametrize("name", list(LABELLED))
def test_a_labelled_run_maps_unseen_tokens_and_refuses_unseen_labels(name, tmp_path):
    from pathlib import Path

    data = Path(__file__).parent.parent / "examples" / "data"
    path = data / ("sentiment.tsv" if name == "classify" else "tagging.tsv")
    out = tmp_path / "run"
    tiny = ["model.hidden_size=8", "model.runner=graph", "train.steps=2", "train.batch_size=16",
            "train.eval_every=2", "train.checkpoint_every=2"]  # fmt: skip
    sets = [
        a for pair in [f"task.name={name}", f"task.path={path}", *tiny] for a in ("--set", pair)
    ]
    code, text = _invoke("run", "--out", out, *sets)
    assert code == 0, text
    known, unseen_token, unseen_label, where = LABELLED[name]
    for body in (known, unseen_token):
        (tmp_path / "f.tsv").write_text(body, "utf-8")
        code, text = _invoke("eval", out, "--corpus", tmp_path / "f.tsv")
        assert code == 0 and " accuracy " in text, text  # an unseen token read as <unk>
    code, text = _invoke("eval", out, "--corpus", tmp_path / "f.tsv", "--unknown", "refuse")
    assert code == 1 and text.count("\n") == 1, text
    assert f"{name}: {where} '{tmp_path / 'f.tsv'}' holds" in text and "never saw" in text
    (tmp_path / "f.tsv").write_text(unseen_label, "utf-8")
    code, text = _invoke("eval", out, "--corpus", tmp_path / "f.tsv")
    assert code == 1 and text.count("\n") == 1 and "has the label" in text, text
    assert f"{name}: {where if name == 'tag' else 'line 1 of'} " in text
