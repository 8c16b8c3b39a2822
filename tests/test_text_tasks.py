"""The text task plugins classify and tag (labelled lines: tokens, padding, masks, splits,
counts, baselines, malformed lines), and the example data files and the scripts that make them.
NumPy only; no model is trained. tests/test_tasks.py has adding, copy and series.

    .venv/bin/python -m pytest tests/test_text_tasks.py -q
"""

from __future__ import annotations

import collections
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import seqkit
from seqkit.errors import DataError, OptionError

sys.path.insert(0, str(Path(__file__).parent))
from test_tasks import DATA, one_hot_logits  # noqa: E402

# -- classify --------------------------------------------------------------------------------

LABELLED = "pos\tgood film\nneg\tbad bad film\n\npos\tgreat\nneu\tit was a film\n"


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_classify_labels_padding_and_mask(tmp_path):
    path = write(tmp_path, "c.tsv", LABELLED)
    task = seqkit.make_task("classify", path=path, tokens="words", val_fraction=0.0)
    assert task.labels == ["neg", "neu", "pos"]
    assert task.vocabulary.tokens[:2] == ("<pad>", "<unk>")
    words = {"good", "film", "bad", "great", "it", "was", "a"}
    assert task.vocabulary.tokens[2:] == tuple(sorted(words))
    assert task.model_dims() == {"vocab_size": 9, "output_size": 3}
    assert (task.target_form, task.default_loss, task.loss_options()) == (
        "sequence",
        "cross-entropy",
        {"last_step": True},
    )
    batches = task.train_batches(batch_size=3, seed=0)
    assert [len(b.inputs) for b in batches] == [3, 1]
    expected = {"good film": "pos", "bad bad film": "neg", "great": "pos", "it was a film": "neu"}
    seen = {}
    for b in batches:
        assert b.inputs.dtype == np.int32 and b.targets.dtype == np.int32 and b.mask.dtype == bool
        assert b.inputs.shape == b.mask.shape and b.targets.shape == (len(b.inputs),)
        assert b.inputs.shape[1] == 32  # the batch's longest, rounded up to LENGTH_BUCKET
        for ids, mask, label in zip(b.inputs, b.mask, b.targets, strict=True):
            n = int(mask.sum())
            assert mask[:n].all() and not mask[n:].any()  # a prefix
            assert (ids[n:] == 0).all() and (ids[:n] > 1).all()
            seen[task.vocabulary.decode(ids[:n])] = task.labels[label]
    assert seen == expected


def test_classify_characters_and_unknown_tokens(tmp_path):
    path = write(tmp_path, "c.tsv", LABELLED)
    task = seqkit.make_task("classify", path=path, val_fraction=0.0)
    assert task.tokens == "chars"
    np.testing.assert_array_equal(task.encode("bad"), task.vocabulary.encode(list("bad")))
    assert task.encode("z?").tolist() == [1, 1]  # characters the file does not hold


def test_classify_split_follows_the_seed(tmp_path):
    text = "".join(f"{'ab'[i % 2]}\tline {i}\n" for i in range(40))
    path = write(tmp_path, "c.tsv", text)

    def val_texts(seed):
        task = seqkit.make_task("classify", path=path, val_fraction=0.25, seed=seed)
        batches = task.eval_batches(batch_size=100)
        return sorted(
            task.vocabulary.decode(r[m])
            for b in batches
            for r, m in zip(b.inputs, b.mask, strict=True)
        )

    assert len(val_texts(0)) == 10
    assert val_texts(0) == val_texts(0)
    assert val_texts(0) != val_texts(1)


def test_classify_counts_read_the_last_counted_step(tmp_path):
    path = write(tmp_path, "c.tsv", LABELLED)
    task = seqkit.make_task("classify", path=path, tokens="words", val_fraction=0.0)
    (batch,) = task.train_batches(batch_size=4, seed=0)
    length = batch.mask.sum(axis=1)
    wrong = (batch.targets + 1) % 3
    outputs = np.repeat(one_hot_logits(wrong, 3)[:, None], batch.inputs.shape[1], axis=1)
    rows = np.arange(4)
    outputs[rows, length - 1] = one_hot_logits(batch.targets, 3)  # right at the last real step
    assert task.counts(batch.targets, outputs, batch.mask) == {"accuracy": (4.0, 4.0)}
    assert task.counts(batch.targets, outputs, None)["accuracy"][0] < 4  # the padded last step


def test_classify_baseline_is_the_training_majority_on_validation(tmp_path):
    text = "".join(f"{'a' if i % 4 else 'b'}\tline {i}\n" for i in range(80))
    path = write(tmp_path, "c.tsv", text)
    task = seqkit.make_task("classify", path=path, val_fraction=0.25, seed=2)
    train_labels, val_labels = np.array(task.train[1]), np.array(task.val[1])
    majority = collections.Counter(train_labels.tolist()).most_common(1)[0][0]
    assert task.labels[majority] == "a"
    assert task.baselines() == {"accuracy": pytest.approx(np.mean(val_labels == majority))}
    assert 0.5 < task.baselines()["accuracy"] < 1.0
    no_val = seqkit.make_task("classify", path=path, val_fraction=0.0)
    assert no_val.baselines() == {}
    with pytest.raises(DataError, match="classify: there is no validation split"):
        no_val.eval_batches(4)


@pytest.mark.parametrize(
    "text, reason, line",
    [
        ("pos\tok\nno tab here\n", "it has no tab", 2),
        ("pos\tok\n\n\t text\n", "its label is empty", 3),
        ("pos\tok\nneg\t  \n", "its text is empty", 2),
    ],
)
def test_classify_malformed_lines_are_named(tmp_path, text, reason, line):
    path = write(tmp_path, "c.tsv", text)
    with pytest.raises(DataError) as info:
        seqkit.make_task("classify", path=path)
    assert str(info.value) == (
        f"classify: line {line} of {path!r} is not label<TAB>text ({reason}); write one "
        "example a line, its label, a tab, then its text."
    )


def test_classify_option_and_file_errors(tmp_path):
    path = write(tmp_path, "c.tsv", LABELLED)
    with pytest.raises(OptionError, match=r"classify: tokens .*'chars'.*'words'.*got 'bytes'"):
        seqkit.make_task("classify", path=path, tokens="bytes")
    with pytest.raises(OptionError, match=r"classify: val_fraction .*\[0, 1\).*got 1"):
        seqkit.make_task("classify", path=path, val_fraction=1)
    with pytest.raises(OptionError, match="classify: path must be a file name, got"):
        seqkit.make_task("classify", path=["a.tsv"])
    (tmp_path / "latin.tsv").write_bytes("pos\tcafé\n".encode("latin-1"))
    with pytest.raises(DataError, match="is not UTF-8 text"):
        seqkit.make_task("classify", path=str(tmp_path / "latin.tsv"))
    with pytest.raises(DataError, match="is empty; give it some data"):
        seqkit.make_task("classify", path=write(tmp_path, "e.tsv", "\n \n"))


# -- tag -------------------------------------------------------------------------------------

TAGGED = (
    "-DOCSTART-\tO\n\n"
    "the\tDET\nwatch\tNOUN\nstops\tVERB\n.\tPUNCT\n\n"
    "they\tPRON\nwatch\tVERB\n\n"
    "a\tDET\nwatch\tNOUN\n"
)


def test_tag_alignment_padding_and_mask(tmp_path):
    path = write(tmp_path, "t.tsv", TAGGED)
    task = seqkit.make_task("tag", path=path, val_fraction=0.0)
    assert task.labels == ["DET", "NOUN", "PRON", "PUNCT", "VERB"]
    assert task.model_dims() == {"vocab_size": 2 + 6, "output_size": 5}
    assert (task.target_form, task.default_loss, task.loss_options()) == (
        "step",
        "cross-entropy",
        {},
    )
    (batch,) = task.train_batches(batch_size=8, seed=0)
    assert batch.inputs.shape == batch.targets.shape == batch.mask.shape == (3, 32)  # 4, bucketed
    assert batch.targets.dtype == np.int32
    seen = set()
    for ids, tags, mask in zip(batch.inputs, batch.targets, batch.mask, strict=True):
        n = int(mask.sum())
        assert mask[:n].all() and not mask[n:].any()
        assert (ids[n:] == 0).all() and (tags[n:] == 0).all()
        words = task.vocabulary.decode(ids[:n]).split(" ")
        seen.add(tuple(f"{w}/{task.labels[t]}" for w, t in zip(words, tags[:n], strict=True)))
    assert seen == {
        ("the/DET", "watch/NOUN", "stops/VERB", "./PUNCT"),
        ("they/PRON", "watch/VERB"),
        ("a/DET", "watch/NOUN"),
    }


def test_tag_takes_the_last_field_as_the_tag(tmp_path):
    path = write(tmp_path, "t.tsv", "EU\tNNP\tB-NP\tB-ORG\nrejects\tVBZ\tB-VP\tO\n")
    task = seqkit.make_task("tag", path=path, val_fraction=0.0)
    assert task.labels == ["B-ORG", "O"]


def test_tag_counts_only_real_tokens(tmp_path):
    path = write(tmp_path, "t.tsv", TAGGED)
    task = seqkit.make_task("tag", path=path, val_fraction=0.0)
    (batch,) = task.train_batches(batch_size=8, seed=0)
    outputs = one_hot_logits(batch.targets, 5)
    outputs[~batch.mask] = one_hot_logits(np.array(3), 5)  # wrong on padding: not counted
    assert task.counts(batch.targets, outputs, batch.mask) == {"accuracy": (8.0, 8.0)}
    outputs[0, 0] = one_hot_logits(np.array((batch.targets[0, 0] + 1) % 5), 5)
    assert task.counts(batch.targets, outputs, batch.mask) == {"accuracy": (7.0, 8.0)}


def test_tag_baseline_is_each_tokens_most_frequent_training_tag(tmp_path):
    rng = np.random.default_rng(0)
    words = {"dog": ["NOUN"], "run": ["NOUN", "VERB", "VERB"], "the": ["DET"], "zz": ["ADJ"]}
    sentences = []
    for _ in range(60):
        chosen = rng.choice(list(words), size=rng.integers(1, 6))
        sentences.append("".join(f"{w}\t{rng.choice(words[w])}\n" for w in chosen))
    path = write(tmp_path, "t.tsv", "\n".join(sentences))
    task = seqkit.make_task("tag", path=path, val_fraction=0.3, seed=4)
    tokens = task.vocabulary.tokens
    pairs = collections.Counter()
    for ids, tags in zip(*task.train, strict=True):
        words = [tokens[i] for i in ids]
        pairs.update((w, task.labels[t]) for w, t in zip(words, tags, strict=True))
    overall = collections.Counter()
    for (_, tag), n in pairs.items():
        overall[tag] += n
    best_overall = max(sorted(overall), key=lambda t: overall[t])
    by_word = {}
    for (w, tag), n in sorted(pairs.items()):
        if n > by_word.get(w, ("", 0))[1]:
            by_word[w] = (tag, n)
    right = total = 0
    for ids, tags in zip(*task.val, strict=True):
        for w, t in zip([tokens[i] for i in ids], tags, strict=True):
            guess = by_word[w][0] if w in by_word and w != "<unk>" else best_overall
            right += guess == task.labels[t]
            total += 1
    assert task.baselines() == {"accuracy": pytest.approx(right / total)}
    assert 0.5 < task.baselines()["accuracy"] < 1.0  # "run" is ambiguous


def test_tag_seeds_repeat_the_split(tmp_path):
    text = "\n".join(f"w\tT{i}\nv\tB\n" for i in range(30))  # sentence i is known by T{i}
    path = write(tmp_path, "t.tsv", text)

    def val_sentences(seed):
        task = seqkit.make_task("tag", path=path, val_fraction=0.2, seed=seed)
        return [task.labels[tags[0]] for tags in task.val[1]]

    assert len(val_sentences(0)) == 6
    assert val_sentences(0) == val_sentences(0)
    assert val_sentences(0) != val_sentences(3)


def test_tag_malformed_line_is_named(tmp_path):
    path = write(tmp_path, "t.tsv", "the\tDET\n\ndog NOUN\n")
    with pytest.raises(DataError) as info:
        seqkit.make_task("tag", path=path)
    assert str(info.value) == (
        f"tag: line 3 of {path!r} is not token<TAB>tag (it has no tab); write one token a "
        "line, the token, a tab, then its tag, and a blank line between sentences."
    )
    with pytest.raises(DataError, match="line 1 of .* \\(its tag is empty\\)"):
        seqkit.make_task("tag", path=write(tmp_path, "u.tsv", "the\t \n"))


# -- the shipped example files ---------------------------------------------------------------


@pytest.mark.parametrize(
    "script, data",
    [
        ("make_series.py", "temperatures.csv"),
        ("make_sentiment.py", "sentiment.tsv"),
        ("make_tagging.py", "tagging.tsv"),
    ],
)
def test_the_example_scripts_make_the_shipped_files(tmp_path, script, data):
    out = tmp_path / data
    subprocess.run([sys.executable, str(DATA / script), str(out)], check=True, timeout=60)
    assert out.read_bytes() == (DATA / data).read_bytes()


def test_the_example_files_load():
    series = seqkit.make_task("series", path=str(DATA / "temperatures.csv"))
    assert series.columns == ["temperature", "humidity"]
    classify = seqkit.make_task("classify", path=str(DATA / "sentiment.tsv"), tokens="words")
    assert classify.labels == ["neg", "pos"]
    tag = seqkit.make_task("tag", path=str(DATA / "tagging.tsv"))
    assert tag.labels == ["ADJ", "ADP", "DET", "NOUN", "PUNCT", "VERB"]
    for task in (series, classify, tag):
        assert set(task.baselines()) and task.eval_batches(64)
