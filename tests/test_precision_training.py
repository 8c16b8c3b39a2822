"""Mixed precision where a user meets it: the Trainer (float32 optimizer state, checkpoints that
restore into either precision), ``seqkit run --set train.precision=mixed_bfloat16`` and the
commands that read its run, ``seqkit.keras.RNN`` under Keras' mixed policy (against Keras' own
LSTM under the same policy), ``seqkit bench --precision``; and, slow, that a bfloat16 char-lm
run ends within 0.03 nats of the float32 run after the same updates.

    .venv/bin/python -m pytest tests/test_precision_training.py -q
    .venv/bin/python -m pytest tests/test_precision_training.py -q -m slow    # the quality run
"""

from __future__ import annotations

import json
import random

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

import seqkit
import seqkit.keras
from seqkit import benchmarking
from seqkit.cli.main import cli

BF16 = 0.05  # as in test_precision.py: ~13 bfloat16 unit roundoffs of the largest magnitude
V, H = 11, 16


def periodic_streams(batch=4, length=97, period=5):
    """Streams of a repeating pattern of ids [B, N+1]: a loss that falls within a few updates."""
    ids = (np.arange(length)[None, :] + np.arange(batch)[:, None]) % period + 1
    return seqkit.SequenceBatch(ids[:, :-1].astype(np.int32), ids[:, 1:].astype(np.int32))


def make_model(precision):
    seqkit.set_seed(0)
    return seqkit.SequenceModel(
        "lstm", hidden_size=H, output_size=V, encoder="embedding", vocab_size=V, embedding_size=6,
        precision=precision,
    )  # fmt: skip


def make_trainer(model):
    return seqkit.Trainer(
        model, truncation=seqkit.make_truncation("tbptt", k1=16), lr=1e-2, clip_norm=1.0
    )


def test_the_trainer_trains_in_bfloat16_with_float32_state_and_restores_into_either(tmp_path):
    model = make_model("mixed_bfloat16")
    trainer = make_trainer(model)
    logs = trainer.fit(periodic_streams(), steps=12)  # the fused runner, compiled by XLA
    losses = [log["loss"] for log in logs]
    assert all(np.isfinite(losses)) and np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])
    assert all(np.isfinite(log["grad_norm"]) for log in logs)
    slots = [tf.as_dtype(v.dtype) for v in trainer.optimizer.variables]
    assert len(slots) > 2 * len(model.trainable_variables)  # Adam's two moments of each, ...
    assert set(slots) - {tf.int64} == {tf.float32}  # ... and the rate; the iterations int64
    assert {v.dtype for v in trainer.progress.carried} == {tf.float32}  # TBPTT's carried state
    assert {a.dtype for a in model.state_dict().values()} == {np.dtype("float32")}
    path = trainer.checkpoint().save(str(tmp_path / "ckpt"))
    ids = periodic_streams().inputs[:, :20]
    for precision in ("float32", "mixed_bfloat16"):
        restored = make_trainer(make_model(precision))
        restored.checkpoint().restore(path).assert_consumed()
        for name, array in model.state_dict().items():
            np.testing.assert_array_equal(restored.model.state_dict()[name], array, name)
        assert restored.step == 12
        want, _ = model(ids)
        got, _ = restored.model(ids)
        scale = max(1.0, float(np.max(np.abs(want))))
        assert np.max(np.abs(got - want)) <= BF16 * scale, precision
        more = restored.fit(periodic_streams(), steps=2)  # the optimizer's state goes on
        assert all(np.isfinite(log["loss"]) for log in more)


# -- the CLI -------------------------------------------------------------------------------------

TINY = [
    "model.hidden_size=16", "model.embedding_size=8", "model.runner=graph", "train.steps=10",
    "train.batch_size=8", "train.k1=16", "train.eval_every=5", "train.checkpoint_every=5",
    "train.log_every=5", "sample.length=20", "train.precision=mixed_bfloat16",
]  # fmt: skip


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def sets(pairs):
    return [arg for pair in pairs for arg in ("--set", pair)]


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    rng = random.Random(0)
    words = "mixed precision keeps float32 variables and computes in bfloat16".split()
    corpus = tmp_path_factory.mktemp("data") / "corpus.txt"
    corpus.write_text("\n".join(" ".join(rng.choices(words, k=8)) for _ in range(80)) + "\n")
    out = tmp_path_factory.mktemp("runs") / "mixed"
    result = invoke("run", *sets([f"task.corpus={corpus}", *TINY]), "--out", out)
    assert result.exit_code == 0, result.output
    return out, corpus, result.stdout


def test_a_mixed_run_trains_from_the_cli_and_its_commands_read_it(mixed_run):
    out, corpus, stdout = mixed_run
    assert "hidden 16 x 1, mixed_bfloat16" in stdout and "step 10/10" in stdout
    run = seqkit.open_run(out, "last")
    assert run.model.precision.name == "mixed_bfloat16" and run.step == 10
    assert np.isfinite(run.metrics[-1]["val_loss"])
    sampled = invoke("sample", out, "--length", 15, "--seed", 1)
    assert sampled.exit_code == 0 and len(sampled.stdout) == 1 + 15 + 1, sampled.output
    evaluated = invoke("eval", out, "--corpus", corpus)
    assert evaluated.exit_code == 0 and "loss" in evaluated.stdout, evaluated.output


def test_resume_cannot_change_the_precision(mixed_run):
    out, _, _ = mixed_run
    result = invoke("run", "--resume", out, "--set", "train.precision=float32")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("Error: --resume cannot change 'train.precision'")
    assert len(result.output.strip().splitlines()) == 1


def test_a_bad_precision_is_one_line():
    result = invoke("config", "--set", "train.precision=mixed_float16")
    assert result.exit_code == 1 and result.output == (
        "Error: Config key 'train.precision' must be one of 'float32', 'mixed_bfloat16'; got "
        "'mixed_float16'.\n"
    )


# -- seqkit.keras.RNN ----------------------------------------------------------------------------


def keras_pair(**policy):
    """seqkit's LSTM layer and Keras' own, both under ``policy``, with the same weights."""
    keras.utils.set_random_seed(0)
    ours = seqkit.keras.RNN("lstm", H, return_sequences=True, **policy)
    theirs = keras.layers.LSTM(H, return_sequences=True, **policy)
    x = np.random.default_rng(0).normal(size=(3, 7, 5)).astype(np.float32)
    ours(x), theirs(x)  # built
    p = ours.cell.state_dict()
    theirs.set_weights([p["weight_ih"].T, p["weight_hh"].T, p["bias_ih"] + p["bias_hh"]])
    return ours, theirs, x


@pytest.mark.parametrize("how", ["dtype", "global policy"])
def test_the_keras_layer_follows_the_mixed_policy_as_keras_lstm_does(how):
    before = keras.config.dtype_policy()
    try:
        if how == "dtype":
            ours, theirs, x = keras_pair(dtype="mixed_bfloat16")
        else:
            keras.config.set_dtype_policy("mixed_bfloat16")
            ours, theirs, x = keras_pair()
        assert ours.dtype_policy.name == "mixed_bfloat16" and ours.compute_dtype == "bfloat16"
        assert {v.dtype for v in ours.weights} == {"float32"}
        assert {v.dtype for v in ours.cell.variables} == {tf.float32}
        got, want = ours(x), theirs(x)
    finally:
        keras.config.set_dtype_policy(before)
    assert got.dtype == want.dtype == tf.bfloat16  # outputs in the compute dtype
    want32 = np.asarray(tf.cast(want, tf.float32))
    assert np.max(np.abs(np.asarray(tf.cast(got, tf.float32)) - want32)) <= BF16


def test_a_mixed_keras_model_trains_and_saves_with_its_policy(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((7, 5)),
            seqkit.keras.RNN("gru", H, dtype="mixed_bfloat16"),
            keras.layers.Dense(1, dtype="float32"),  # float32 outputs for the loss, as Keras says
        ]
    )
    layer = model.layers[0]
    x = np.random.default_rng(0).normal(size=(8, 7, 5)).astype(np.float32)
    y = x.sum(axis=(1, 2))[:, None] / 10
    before = layer.cell.state_dict()
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    history = model.fit(x, y, epochs=3, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0]
    after = layer.cell.state_dict()
    assert all(not np.array_equal(before[k], after[k]) for k in before)  # Keras trained them
    assert {a.dtype for a in after.values()} == {np.dtype("float32")}
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.layers[0].dtype_policy.name == "mixed_bfloat16"
    for name, array in after.items():
        np.testing.assert_array_equal(loaded.layers[0].cell.state_dict()[name], array, name)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# -- seqkit bench --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu sse2 avx512f avx512_bf16 amx_bf16 amx_tile", "native (AMX)"),
        ("fpu sse2 avx512f avx512_bf16", "native (AVX512_BF16)"),
        ("fpu sse2 avx2 fma", "emulated, no native support on this CPU"),
    ],
)
def test_bfloat16_support_reads_the_cpu_flags(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert benchmarking.bfloat16_support(cpuinfo) == expected
    assert benchmarking.bfloat16_support(tmp_path / "absent") == "unknown (no /proc/cpuinfo)"


def test_bench_times_mixed_precision_and_says_what_the_cpu_has(monkeypatch):
    monkeypatch.setattr(benchmarking, "sgemm_rate", lambda: 1e11)  # not what is tested here
    small = ["--batch-size", "2", "--seq-len", "3", "--hidden-size", "4", "--embedding-size", "3"]
    args = ["bench", *small, "--warmup", "1", "--repeats", "1", "--runner", "auto"]
    result = invoke(*args, "--precision", "mixed_bfloat16", "--json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["precision"] == "mixed_bfloat16" and got["runners"]["auto"]["tokens_per_s"] > 0
    assert got["bfloat16"] == benchmarking.bfloat16_support()
    table = invoke(*args, "--precision", "mixed_bfloat16")
    assert f"  bfloat16: {got['bfloat16']}\n" in table.stdout, table.output
    refused = invoke(*args, "--precision", "float16")
    assert refused.exit_code == 2 and "'float16' is not one of" in refused.output


# -- quality -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_bfloat16_char_lm_ends_within_003_nats_of_float32(tmp_path):
    """600 updates of an LSTM (hidden 128) on the embedded corpus in each precision, from the
    same seed: the validation losses (nats a character) within 0.03. About 2 minutes here."""
    settings = [
        "model.hidden_size=128", "train.steps=600", "train.batch_size=16", "train.k1=32",
        "train.eval_every=600", "train.checkpoint_every=600", "train.log_every=100",
        "sample.length=10",
    ]  # fmt: skip
    losses = {}
    for precision in ("float32", "mixed_bfloat16"):
        config = seqkit.load_config(None, [*settings, f"train.precision={precision}"])
        losses[precision] = seqkit.train(config, tmp_path / precision).metrics[-1]["val_loss"]
    print(f"validation loss after 600 updates: {losses}")  # pytest -s shows the figures
    assert losses["float32"] < 2.0  # it learned (a uniform guess is ln(vocab) > 4)
    assert abs(losses["mixed_bfloat16"] - losses["float32"]) <= 0.03
