"""``seqkit export``: a SavedModel that runs where seqkit is not installed, and torch weights.

    .venv/bin/python -m pytest tests/test_export.py -q

One tiny two-layer LSTM run (2 updates) is shared by the tests. The SavedModel is loaded in a
subprocess started with ``python -I -S`` whose only path is a copy of site-packages without
seqkit; its outputs are compared with seqkit's own ``model.step`` and ``seqkit sample``. The
torch tests compare with ``torch.nn.Embedding``, ``LSTM``/``GRU``/``RNN`` and ``Linear``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli.main import cli
from seqkit.export import ExportError
from seqkit.export.torch_format import from_torch_names, to_torch_names, torch_state_dict

TINY = [
    "model.hidden_size=8",
    "model.embedding_size=4",
    "model.num_layers=2",
    "model.runner=graph",
    "train.steps=2",
    "train.batch_size=4",
    "train.k1=8",
    "train.eval_every=2",
    "train.checkpoint_every=2",
    "train.log_every=1",
    "sample.length=10",
]


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    rng = random.Random(0)
    words = "the quick brown fox jumps over a lazy dog".split()
    folder = tmp_path_factory.mktemp("export")
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(" ".join(rng.choices(words, k=8)) for _ in range(60)))
    sets = [arg for pair in [f"task.corpus={corpus}", *TINY] for arg in ("--set", pair)]
    result = _invoke("run", *sets, "--out", folder / "run")
    assert result.exit_code == 0, result.output
    return folder / "run"


@pytest.fixture(scope="module")
def run_model(run_dir):
    import seqkit

    run = seqkit.open_run(run_dir, "best")
    return "".join(run.vocabulary.tokens), run.model


# -- SavedModel -----------------------------------------------------------------------------------

LOADER = """
sig = m.signatures
state = sig["initial_state"](batch_size=tf.constant(3))["state"]
logits = []
for ids in ([1, 2, 3], [4, 0, 2]):
    out = sig["step"](ids=tf.constant(ids), state=state)
    logits.append(out["logits"].numpy().tolist())
    state = out["state"]
text = sig["generate"](prime=tf.constant("the "), length=tf.constant(40),
                       temperature=tf.constant(0.8), seed=tf.constant(5, tf.int64))["text"]
vocab = sig["vocabulary"]()["vocabulary"].numpy()
print(json.dumps({"seqkit_found": seqkit_found, "logits": logits,
                  "text": text.numpy().decode("utf-8"),
                  "vocabulary": "".join(c.decode("utf-8") for c in vocab)}))
"""


def _site_packages_without_seqkit(folder: Path) -> Path:
    """A folder of links to every installed package except seqkit's own distributions."""
    import tensorflow as tf

    site = Path(tf.__file__).parents[1]
    mirror = folder / "site"
    mirror.mkdir()
    for entry in site.iterdir():
        if entry.name.startswith(("seqkit", "__editable__")) or entry.suffix == ".pth":
            continue
        (mirror / entry.name).symlink_to(entry)
    return mirror


# What every loader script begins with: whether seqkit imports (it must not), and the SavedModel
# of its first argument as ``m``; json, sys, numpy (np) and tensorflow (tf) imported.
LOADER_PREAMBLE = """
import json, sys
try:
    import seqkit
    seqkit_found = True
except ImportError:
    seqkit_found = False
import numpy as np
import tensorflow as tf

m = tf.saved_model.load(sys.argv[1])
"""


def run_without_seqkit(tmp_path: Path, loader: str, *args) -> dict:
    """The JSON of the last line that the script ``loader`` prints, run after
    ``LOADER_PREAMBLE`` with ``args`` by a Python that has every installed package but seqkit
    (``-I -S``: no user site, no ``.pth`` files)."""
    script = tmp_path / "loader.py"
    script.write_text(LOADER_PREAMBLE + loader)
    site = _site_packages_without_seqkit(tmp_path)
    bootstrap = f"import sys; sys.path.append({str(site)!r}); sys.argv = sys.argv[1:]; "
    bootstrap += f"exec(open({str(script)!r}).read())"
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", bootstrap, str(script), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": os.environ.get("PATH", "")},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_saved_model_runs_without_seqkit_and_agrees(run_dir, run_model, tmp_path):
    out = tmp_path / "saved"
    result = _invoke("export", run_dir, "--format", "saved_model", out)
    assert result.exit_code == 0, result.output
    assert (out / "saved_model.pb").exists()
    loaded = run_without_seqkit(tmp_path, LOADER, out)
    assert loaded["seqkit_found"] is False  # the process has TensorFlow and no seqkit

    vocabulary, model = run_model
    assert loaded["vocabulary"] == vocabulary
    state = model.initial_state(3)
    for ids, logits in zip(([1, 2, 3], [4, 0, 2]), loaded["logits"], strict=True):
        expected, state = model.step(np.array(ids, np.int32), state)
        np.testing.assert_allclose(logits, expected.numpy(), rtol=1e-5, atol=1e-5)
    sample = _invoke("sample", run_dir, "--prime", "the ", "--length", 40, "--seed", 5)
    assert sample.exit_code == 0, sample.output
    assert sample.stdout == "the " + loaded["text"] + "\n"


def test_saved_model_refuses_a_directory_that_holds_files(run_dir, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = _invoke("export", run_dir, "--format", "saved_model", tmp_path)
    assert result.exit_code == 1
    assert "already exists and is not an empty directory" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


# -- PyTorch ---------------------------------------------------------------------------------------


def _torch_net(torch, kind, vocab, embed, hidden, layers, **options):
    """A torch module with the layout seqkit's names map to: embedding, rnn, head."""
    net = torch.nn.Module()
    net.embedding = torch.nn.Embedding(vocab, embed)
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "vanilla": torch.nn.RNN}[kind]
    net.rnn = module(embed, hidden, num_layers=layers, batch_first=True, **options)
    net.head = torch.nn.Linear(hidden, vocab)
    return net


def _torch_logits(torch, net, ids):
    with torch.no_grad():
        hidden, _ = net.rnn(net.embedding(torch.from_numpy(ids).long()))
        return net.head(hidden).numpy()


def test_torch_export_loads_into_torch_modules_and_agrees(run_dir, run_model, tmp_path):
    torch = pytest.importorskip("torch", reason="the torch parity tests need torch installed")
    out = tmp_path / "weights.npz"
    result = _invoke("export", run_dir, "--format", "torch", out)
    assert result.exit_code == 0, result.output
    assert "torch.nn.LSTM(4, 8, num_layers=2, batch_first=True)" in result.stdout
    vocabulary, model = run_model
    weights = np.load(out)
    net = _torch_net(torch, "lstm", len(vocabulary), 4, 8, 2)
    tensors = {k: torch.from_numpy(v) for k, v in to_torch_names(weights).items()}
    net.load_state_dict(tensors)  # strict: every torch key present, none extra
    ids = np.random.default_rng(0).integers(0, len(vocabulary), (3, 11)).astype(np.int32)
    expected = _torch_logits(torch, net, ids)
    np.testing.assert_allclose(model(ids)[0].numpy(), expected, rtol=1e-5, atol=1e-5)
    again = seqkit.SequenceModel(
        "lstm", hidden_size=8, output_size=len(vocabulary), num_layers=2,
        encoder="embedding", vocab_size=len(vocabulary), embedding_size=4,
    )  # fmt: skip
    again.load_state_dict(weights)  # the .npz as it is, into a fresh model
    np.testing.assert_allclose(again(ids)[0].numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kind, options, torch_options",
    [
        ("lstm", {}, {}),
        ("gru", {}, {}),
        ("vanilla", {}, {}),
        ("vanilla", {"cell_options": {"activation": "relu"}}, {"nonlinearity": "relu"}),
        ("lstm", {"bidirectional": True}, {"bidirectional": True}),
    ],
    ids=["lstm", "gru", "vanilla-tanh", "vanilla-relu", "lstm-bidirectional"],
)
def test_torch_weights_round_trip_through_torch(kind, options, torch_options):
    """torch's own initial weights -> seqkit -> the same outputs -> torch's names again."""
    torch = pytest.importorskip("torch", reason="the torch parity tests need torch installed")
    torch.manual_seed(0)
    net = _torch_net(torch, kind, 7, 5, 6, 2, **torch_options)
    if torch_options.get("bidirectional"):
        net.head = torch.nn.Linear(12, 7)  # both directions' outputs, side by side
    model = seqkit.SequenceModel(
        kind, hidden_size=6, output_size=7, num_layers=2, encoder="embedding", vocab_size=7,
        embedding_size=5, runner="python", **options,
    )  # fmt: skip
    model.load_state_dict(from_torch_names(net.state_dict()))
    ids = np.random.default_rng(1).integers(0, 7, (2, 9)).astype(np.int32)
    expected = _torch_logits(torch, net, ids)
    np.testing.assert_allclose(model(ids)[0].numpy(), expected, rtol=1e-5, atol=1e-5)
    back = to_torch_names(torch_state_dict(model))
    torch_names = {k: v.numpy() for k, v in net.state_dict().items()}
    assert back.keys() == torch_names.keys()
    for key, value in torch_names.items():
        np.testing.assert_array_equal(back[key], value, err_msg=key)


def test_a_bare_torch_rnn_state_dict_loads_as_it_is():
    torch = pytest.importorskip("torch", reason="the torch parity tests need torch installed")
    torch.manual_seed(1)
    gru = torch.nn.GRU(3, 4, num_layers=2, batch_first=True)
    model = seqkit.SequenceModel("gru", input_size=3, hidden_size=4, num_layers=2)
    model.load_state_dict(gru.state_dict())  # torch tensors, torch's own names
    x = np.random.default_rng(2).standard_normal((2, 5, 3)).astype(np.float32)
    with torch.no_grad():
        expected, _ = gru(torch.from_numpy(x))
    np.testing.assert_allclose(model(x)[0].numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"cell_options": {"activation": "sigmoid"}}, "torch.nn.RNN has no 'sigmoid' activation"),
        ({"initial_state": "learned"}, "torch.nn modules have no learned initial state"),
    ],
    ids=["sigmoid", "learned-state"],
)
def test_torch_export_refuses_what_torch_does_not_have(options, message):
    model = seqkit.SequenceModel("vanilla", input_size=2, hidden_size=3, **options)
    with pytest.raises(ExportError, match=message):
        torch_state_dict(model)


def test_torch_export_wants_an_npz_name(run_dir, tmp_path):
    result = _invoke("export", run_dir, "--format", "torch", tmp_path / "weights.pt")
    assert result.exit_code == 1
    assert "--format torch writes an .npz file; give OUT a name like model.npz." in result.output


# -- SavedModel of the other tasks: predict in the task's terms ------------------------------------

PREDICT_LOADER = """
sig, given = m.signatures, json.loads(sys.argv[2])
found = {"seqkit_found": seqkit_found, "signatures": sorted(sig)}
inputs = np.array(given["inputs"], np.int32 if given["ids"] else np.float32)
out = sig["predict"](inputs=tf.constant(inputs), mask=tf.constant(np.array(given["mask"])))
found["last"] = out["last"].numpy().tolist()
if "predict_text" in sig:
    answer = sig["predict_text"](text=tf.constant(given["texts"]))
    key = "label" if "label" in answer else "labels"
    found["text_labels"] = np.char.decode(answer[key].numpy().astype(bytes)).tolist()
    found["labels"] = [x.decode() for x in sig["labels"]()["labels"].numpy()]
print(json.dumps(found))
"""


def _load_without_seqkit(tmp_path, out, given) -> dict:
    return run_without_seqkit(tmp_path, PREDICT_LOADER, out, json.dumps(given))


@pytest.mark.parametrize("task", ["classify", "tag", "series"])
def test_every_task_exports_a_saved_model_that_answers_in_its_terms(task, tmp_path):
    small = ["model.hidden_size=8", "model.embedding_size=4", "model.runner=graph",
             "train.steps=2", "train.eval_every=2", "train.checkpoint_every=2"]  # fmt: skip
    settings = [f"task.name={task}", *small]
    sets = [arg for pair in settings for arg in ("--set", pair)]
    assert _invoke("run", *sets, "--out", tmp_path / "run").exit_code == 0
    out = tmp_path / "saved"
    result = _invoke("export", tmp_path / "run", "--format", "saved_model", out)
    assert result.exit_code == 0, result.output
    run = seqkit.open_run(tmp_path / "run")
    batch = run.task.eval_batches(2)[0]
    given = {"inputs": batch.inputs[:2].tolist(), "ids": run.model.encoder is not None,
             "mask": (np.ones(batch.inputs.shape[:2], bool) if batch.mask is None
                      else batch.mask)[:2].tolist(), "texts": []}  # fmt: skip
    terms = run.task.serving_terms()
    if terms.input_tokens is not None:  # the same rows as text, as a user would send them
        joiner = "" if terms.split == "chars" else " "
        given["texts"] = [
            joiner.join(terms.input_tokens[i] for i in row[: int(np.sum(m))])
            for row, m in zip(given["inputs"], given["mask"], strict=True)
        ]
    loaded = _load_without_seqkit(tmp_path, out, given)
    assert loaded["seqkit_found"] is False and "predict" in loaded["signatures"]
    outputs, _ = run.model(np.array(given["inputs"]), mask=np.array(given["mask"]))
    last = [outputs[r, int(np.sum(given["mask"][r])) - 1].numpy() for r in range(2)]
    np.testing.assert_allclose(loaded["last"], last, rtol=1e-5, atol=1e-5)
    if terms.output_names is not None:
        assert loaded["labels"] == list(terms.output_names)
        if task == "classify":
            expected = [terms.output_names[int(np.argmax(row))] for row in last]
            assert loaded["text_labels"] == expected
        else:  # a tag for every real token
            tags = np.argmax(outputs.numpy(), -1)
            for row, got in enumerate(loaded["text_labels"]):
                n = int(np.sum(given["mask"][row]))
                assert got[:n] == [terms.output_names[t] for t in tags[row][:n]]
