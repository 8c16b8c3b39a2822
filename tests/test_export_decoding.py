"""``seqkit export --format saved_model`` of the runs whose output is a decoded sequence: a
seq2seq run (source text in, target text out) and a transcribe run (frames in, a transcript
out), each greedy (``decode``) and by beam search (``decode_beam``).

    .venv/bin/python -m pytest tests/test_export_decoding.py -q

Each test trains a tiny run, exports it with the CLI and loads the SavedModel in a subprocess
where seqkit cannot be imported (``test_export``'s copy of site-packages without seqkit); the
answers are compared with seqkit's own decoding of the same run in this process.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_export import _invoke, run_without_seqkit

import seqkit

TINY = [
    "model.hidden_size=8",
    "model.embedding_size=4",
    "model.runner=graph",
    "train.steps=2",
    "train.batch_size=8",
    "train.eval_every=2",
    "train.checkpoint_every=2",
    "task.val_fraction=0.02",
    "sample.beam_width=3",  # the export's beam search takes the run's width
]

LOADER = """
found = {"seqkit_found": seqkit_found, "signatures": sorted(m.signatures)}
for call, (name, given) in json.loads(sys.argv[2]).items():
    inputs = {k: tf.constant(np.array(v, dtype)) for k, (v, dtype) in given.items()}
    try:
        answer = m.signatures[name](**inputs)
    except tf.errors.InvalidArgumentError as error:
        found[call] = {"error": error.message}
        continue
    found[call] = {k: (np.char.decode(v.numpy().astype(bytes)) if v.dtype == tf.string
                       else v.numpy()).tolist() for k, v in answer.items()}
print(json.dumps(found))
"""


def _answers_without_seqkit(tmp_path, saved, calls) -> dict:
    """``{call: {output: value}}`` of ``calls`` (``{call: (signature, {input: (value,
    dtype)})}``) run on the SavedModel ``saved`` by a process that cannot import seqkit."""
    found = run_without_seqkit(tmp_path, LOADER, saved, json.dumps(calls))
    assert found["seqkit_found"] is False  # the process has TensorFlow and no seqkit
    return found


def _train_and_export(tmp_path, task: str, *settings, export=()) -> tuple[seqkit.Run, object, str]:
    """A tiny run of ``task``, its SavedModel (``seqkit export`` with the options ``export``),
    and what the export printed."""
    sets = [arg for pair in [f"task.name={task}", *TINY, *settings] for arg in ("--set", pair)]
    result = _invoke("run", *sets, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    saved = tmp_path / "saved"
    result = _invoke("export", tmp_path / "run", "--format", "saved_model", saved, *export)
    assert result.exit_code == 0, result.output
    return seqkit.open_run(tmp_path / "run"), saved, result.output


@pytest.fixture(scope="module")
def dates(tmp_path_factory):
    """A tiny seq2seq run on the embedded dates, with attention, and its SavedModel."""
    return _train_and_export(tmp_path_factory.mktemp("dates"), "seq2seq", "model.attention=true")


SOURCES = ["5 march 1991", "the 1st of january, 2000", "07/04/1976", "Sat 30 Dec 2023 \u00e9"]


def test_a_seq2seq_export_decodes_source_text_as_seqkit_does(dates, tmp_path):
    run, saved, printed = dates
    assert "(hidden 8 x 1) at step 2" in printed  # a Seq2SeqModel's declared num_layers
    assert "  decode_beam(length_penalty, text) -> finished, ids, lengths, scores, text" in printed
    calls = {
        "greedy": ("decode", {"text": (SOURCES, "str")}),
        "beam": ("decode_beam", {"text": (SOURCES, "str"), "length_penalty": (1.0, "float32")}),
        "empty": ("decode", {"text": (["7 may 1990", ""], "str")}),
    }
    found = _answers_without_seqkit(tmp_path, saved, calls)
    assert found["signatures"] == ["decode", "decode_beam"]
    assert found["greedy"]["text"] == run.decode_all(SOURCES, beam_width=1)
    assert found["beam"]["text"] == run.decode_all(SOURCES)  # the run's beam width, 3
    task = run.task
    source = task.read_sources(SOURCES).context
    decoder = task.decoder(run.model)
    for call, expected in (
        ("greedy", decoder.greedy(source["source"], source["source_mask"])),
        ("beam", decoder.beam(source["source"], source["source_mask"], beam_width=3)),
    ):
        got = found[call]
        np.testing.assert_array_equal(got["ids"], expected.ids)
        np.testing.assert_array_equal(got["lengths"], expected.lengths)
        np.testing.assert_array_equal(got["finished"], expected.finished)
        np.testing.assert_allclose(got["scores"], expected.scores, rtol=1e-5, atol=1e-5)
    assert "every text must hold at least one token" in found["empty"]["error"]


def test_torch_export_refuses_a_seq2seq_run_in_one_line(dates, tmp_path):
    run, _, _ = dates
    result = _invoke("export", run.path, "--format", "torch", tmp_path / "weights.npz")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: --format torch writes a single stack (a torch.nn.LSTM, GRU or RNN); this run's "
        "model is a Seq2SeqModel, which torch.nn has no module for: export it with --format "
        "saved_model."
    ]
    assert not (tmp_path / "weights.npz").exists()


@pytest.mark.parametrize(
    "options, message",
    [
        (["--format", "saved_model", "--beam-width", 0],
         "--beam-width must be a whole number from 1 to 256, got 0."),
        (["--format", "torch", "--beam-width", 2],
         "--beam-width is for the SavedModel of a seq2seq or transcribe run (its decode_beam); "
         "leave it out."),
    ],
    ids=["zero", "torch"],
)  # fmt: skip
def test_a_beam_width_an_export_cannot_take_is_one_line(dates, tmp_path, options, message):
    run, _, _ = dates
    result = _invoke("export", run.path, tmp_path / "out", *options)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"Error: {message}"]
    assert not (tmp_path / "out").exists()


def test_a_transcribe_export_decodes_frames_as_seqkit_does(tmp_path):
    run, saved, printed = _train_and_export(
        tmp_path, "transcribe", "model.bidirectional=true", export=["--beam-width", 2]
    )
    assert "  decode(frames, lengths) -> ids, lengths, text" in printed
    task = run.task
    batch = task.read_sources(["31415", "2718", "1001"])
    frames = (batch.inputs.tolist(), "float32")
    lengths = (batch.mask.sum(axis=1).tolist(), "int32")
    calls = {
        "greedy": ("decode", {"frames": frames, "lengths": lengths}),
        "beam": ("decode_beam", {"frames": frames, "lengths": lengths}),
    }
    found = _answers_without_seqkit(tmp_path, saved, calls)
    assert {"decode", "decode_beam", "predict", "labels"} <= set(found["signatures"])
    for call, width in (("greedy", 1), ("beam", 2)):  # beam: --beam-width, not the run's 3
        expected = task.decode(run.model, batch, beam_width=width)
        got = found[call]
        assert got["lengths"] == [len(ids) for ids in expected]
        for row, ids in zip(got["ids"], expected, strict=True):
            assert row[: len(ids)] == ids.tolist() and not any(row[len(ids) :])
        assert got["text"] == [task.target_text(ids) for ids in expected]


@pytest.mark.parametrize("task", ["classify", "seq2seq"])
def test_a_run_on_the_native_kernels_exports_without_them(task, tmp_path):
    """The native runner's graphs hold seqkit's custom ops: the export traces on one whose
    graphs do not, so that its SavedModel loads without seqkit and answers as the run does."""
    run, saved, _ = _train_and_export(tmp_path, task, "model.runner=native", "model.cell=gru")
    assert run.model.runner.custom_ops  # the run itself runs on the native kernels
    texts = ["a fine film", "dull"] if task == "classify" else SOURCES[:2]
    name = "predict_text" if task == "classify" else "decode"
    found = _answers_without_seqkit(tmp_path, saved, {"answer": (name, {"text": (texts, "str")})})
    if task == "seq2seq":
        assert found["answer"]["text"] == run.decode_all(texts, beam_width=1)
        return
    names = run.task.serving_terms().output_names
    last = [run.model(run.task.encode(text)[None])[0][0, -1] for text in texts]
    expected = [names[int(np.argmax(row))] for row in last]
    assert found["answer"]["label"] == expected
