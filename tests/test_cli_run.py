"""``seqkit run``, ``config``, ``sample`` and ``eval`` end to end, and the config's errors.

One tiny run (hidden 16, 20 updates, the graph runner to skip XLA compile time) on a generated
corpus of a few KB is shared by the tests of this module.
"""

import csv
import json
import math
import random
import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

import seqkit
from seqkit.cli.main import cli
from seqkit.config.files import dumps, load_config, parse_override
from seqkit.errors import ConfigError

TINY = [
    "model.hidden_size=16",
    "model.embedding_size=8",
    "model.runner=graph",
    "train.steps=20",
    "train.batch_size=8",
    "train.k1=16",
    "train.eval_every=10",
    "train.checkpoint_every=10",
    "train.log_every=5",
    "sample.length=50",
]


def _sets(pairs):
    return [arg for pair in pairs for arg in ("--set", pair)]


def _invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = random.Random(0)
    words = "the quick brown fox jumps over a lazy dog while seven tired cats sleep".split()
    lines = [" ".join(rng.choice(words) for _ in range(8)).capitalize() + "." for _ in range(100)]
    path = tmp_path_factory.mktemp("data") / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run_dir(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    result = _invoke("run", *_sets([f"task.corpus={corpus}", *TINY]), "--out", out)
    assert result.exit_code == 0, result.output
    assert "validation at step 10" in result.stdout
    assert "step 20/20" in result.stdout
    return out


def test_run_writes_a_run_directory_that_parses(run_dir):
    config = tomllib.loads((run_dir / "config.toml").read_text())
    assert config["model"]["hidden_size"] == 16 and config["train"]["steps"] == 20
    assert set(json.loads((run_dir / "vocab.json").read_text())["tokens"]) >= set("the quick")
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["5", "10", "15", "20"]  # a row every log_every
    assert list(rows[0]) == [
        "step", "train_loss", "train_bpc", "tokens_per_s", "lr", "grad_norm", "val_loss", "val_bpc"
    ]  # fmt: skip
    validated = [r for r in rows if r["val_loss"]]
    assert [r["step"] for r in validated] == ["10", "20"]
    assert float(validated[1]["val_loss"]) < float(validated[0]["val_loss"])  # it learns
    assert all(float(r["tokens_per_s"]) > 0 and float(r["lr"]) == 0.003 for r in rows)
    assert float(rows[0]["train_bpc"]) == pytest.approx(float(rows[0]["train_loss"]) / math.log(2))
    assert list((run_dir / "checkpoints" / "last").glob("ckpt-20.index"))
    assert list((run_dir / "checkpoints" / "best").glob("ckpt-*.index"))
    assert _event_tags(run_dir / "tensorboard") >= {
        "train/loss", "train/bpc", "train/tokens_per_s", "train/lr", "train/grad_norm",
        "val/loss", "val/bpc", "sample",
    }  # fmt: skip
    assert "=== final sample, step 20" in (run_dir / "samples.txt").read_text()
    pytest.importorskip("matplotlib")
    assert (run_dir / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_sample_prints_the_prime_and_the_asked_length(run_dir):
    result = _invoke("sample", run_dir, "--prime", "The ", "--length", 40, "--seed", 1)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("The ") and len(result.stdout) == len("The ") + 40 + 1


def test_sample_takes_its_defaults_from_the_runs_sample_section(run_dir):
    result = _invoke("sample", run_dir)  # the run's sample.length = 50, from a newline
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("\n") and len(result.stdout) == 1 + 50 + 1
    assert result.stdout == _invoke("sample", run_dir, "--seed", 0).stdout  # sample.seed = 0


def test_sample_repeats_with_a_seed_and_argmax_ignores_it(run_dir):
    def text(*extra):
        return _invoke("sample", run_dir, "--length", 30, "--checkpoint", "last", *extra).stdout

    assert text("--seed", 3) == text("--seed", 3)
    assert text("--temperature", 0, "--seed", 1) == text("--temperature", 0, "--seed", 2)


def test_a_sample_of_white_space_only_says_what_to_change(run_dir, monkeypatch):
    from seqkit.runs.run import Run

    monkeypatch.setattr(Run, "sample", lambda self, *args: "\n\n\n")  # greedy, stuck on "\n"
    result = _invoke("sample", run_dir, "--temperature", "0")
    assert result.exit_code == 0
    assert "white space only" in result.stderr and "--prime" in result.stderr


def test_sample_rejects_characters_outside_the_vocabulary(run_dir):
    result = _invoke("sample", run_dir, "--prime", "Zebra#")
    assert result.exit_code == 1
    assert "The prime holds characters the model never saw: '#Z'" in result.output


def test_eval_prints_loss_and_bpc_on_the_split_or_another_text(run_dir, corpus):
    result = _invoke("eval", run_dir)
    assert result.exit_code == 0, result.output
    assert "on the validation split" in result.stdout and "bpc" in result.stdout
    result = _invoke("eval", run_dir, "--corpus", corpus)
    assert result.exit_code == 0, result.output
    assert str(corpus) in result.stdout


def test_resume_continues_to_the_new_step_count(run_dir):
    result = _invoke("run", "--resume", run_dir, "--set", "train.steps=30")
    assert result.exit_code == 0, result.output
    assert "steps 21-30" in result.stdout
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows if r["val_loss"]] == ["10", "20", "30"]
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])  # optimizer restored
    assert tomllib.loads((run_dir / "config.toml").read_text())["train"]["steps"] == 30
    again = _invoke("run", "--resume", run_dir, "--set", "train.steps=30")
    assert "already at step 30 of 30" in again.stdout


def _last_weights(run):
    opened = seqkit.open_run(run, "last")
    return opened.step, opened.model.state_dict()


def _rows(run):
    with open(run / "metrics.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow  # tests/test_crash_safety.py resumes a killed run to the same end by default
def test_a_resumed_run_ends_where_an_uninterrupted_one_does(corpus, tmp_path):
    """Stopped at step 10 of 20 and resumed: the same weights and the same last metrics row as
    20 steps at once (dropout, TBPTT(4, 8) state carrying and two layers included)."""
    settings = [
        f"task.corpus={corpus}",
        *TINY,
        "model.num_layers=2",
        "model.dropout=0.3",
        "train.k1=4",
        "train.k2=8",
        "train.eval_every=5",
        "train.checkpoint_every=5",
        "train.lr_decay=0.5",
        "train.lr_decay_every=7",
    ]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert _invoke("run", *_sets(settings), "--out", whole).exit_code == 0
    first = _invoke("run", *_sets([*settings, "train.steps=10"]), "--out", parts)
    assert first.exit_code == 0, first.output
    with open(parts / "metrics.csv", "a") as f:
        f.write("15,9.9,9.9,9,0.1,1,9.9,9.9\n17,9.")  # rows a kill left after the checkpoint
    resumed = _invoke("run", "--resume", parts, "--set", "train.steps=20")
    assert resumed.exit_code == 0, resumed.output
    assert "Resuming lstm" in resumed.stdout and "steps 11-20" in resumed.stdout
    step_a, a = _last_weights(whole)
    step_b, b = _last_weights(parts)
    assert step_a == step_b == 20
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=0, atol=1e-6, err_msg=key)
    assert [r["step"] for r in _rows(parts) if r["val_loss"]] == ["5", "10", "15", "20"]
    timing = lambda row: {k: v for k, v in row.items() if k != "tokens_per_s"}  # noqa: E731
    assert [timing(r) for r in _rows(parts)] == [timing(r) for r in _rows(whole)]


def test_resume_refuses_to_change_the_model(run_dir):
    result = _invoke("run", "--resume", run_dir, "--set", "model.hidden_size=32")
    assert result.exit_code == 1
    assert "--resume cannot change 'model.hidden_size'" in result.output


def test_resume_of_a_directory_that_is_no_run(tmp_path):
    result = _invoke("run", "--resume", tmp_path)
    assert result.exit_code == 1 and "is not a run directory" in result.output


def test_a_second_run_into_the_same_directory_is_refused(run_dir):
    result = _invoke("run", "--out", run_dir)
    assert result.exit_code == 1
    assert "already holds a run; continue it (seqkit run --resume" in result.output


def test_an_unknown_cell_names_the_closest(corpus, tmp_path):
    result = _invoke("run", *_sets([f"task.corpus={corpus}", "model.cell=lstn"]), "--out", tmp_path)
    assert result.exit_code == 1
    assert "Unknown cell 'lstn'. Did you mean 'lstm'?" in result.output
    assert not (tmp_path / "config.toml").exists()


def _event_tags(folder) -> set:
    import tensorflow as tf

    (events,) = folder.glob("events.out.tfevents.*")
    records = tf.compat.v1.train.summary_iterator(str(events))
    return {value.tag for event in records for value in event.summary.value}


# -- the config ---------------------------------------------------------------------------------


def test_config_prints_the_resolved_toml_with_defaults():
    result = _invoke("config", "--set", "model.cell=gru", "--set", "train.lr=1e-3")
    assert result.exit_code == 0, result.output
    config = tomllib.loads(result.stdout)
    assert config["model"]["cell"] == "gru" and config["train"]["lr"] == 0.001
    assert config["task"] == {"name": "char-lm", "corpus": "", "val_fraction": 0.1,
                              "tokens": "char", "vocab_size": 10000, "vocab_file": "",
                              "val_tokens": 1_000_000}  # fmt: skip
    assert config["train"]["truncation"] == "auto" and config["model"]["encoder"] == "auto"


def test_a_task_recommends_the_settings_it_runs_well_with_where_none_are_given(tmp_path):
    from seqkit_plugins.adding import AddingTask

    config = load_config(None, ["task.name=adding"])
    for key, value in AddingTask.recommended.items():
        section, name = key.split(".")
        assert config[section][name] == value
    mine = load_config(None, ["task.name=adding", "model.hidden_size=32", "train.steps=7"])
    assert mine["model"]["hidden_size"] == 32 and mine["train"]["steps"] == 7  # given: kept
    assert mine["train"]["batch_size"] == AddingTask.recommended["train.batch_size"]
    full = load_config().to_dict()  # every key of [model] and [train] set, as config.toml has
    full["task"] = {"name": "adding"}
    assert load_config(full)["model"]["hidden_size"] == 256


def test_config_prints_another_tasks_options_with_their_defaults():
    result = _invoke("config", "--set", "task.name=adding", "--set", "task.length=200")
    assert result.exit_code == 0, result.output
    task = tomllib.loads(result.stdout)["task"]
    assert task["name"] == "adding" and task["length"] == 200 and "train_size" in task
    assert "corpus" not in task


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["task.name=adding", "task.lenght=5"],
         "Task 'adding' has no option 'lenght'. Did you mean 'task.length'? Its options are: "),
        (["task.name=adding", "task.length=ten"],
         "Task 'adding': option 'length' must be like 100 (int), got 'ten' (str)."),
        (["task.name=addin"], "Unknown task 'addin'. Did you mean 'adding'?"),
        (["model.encoder=dense"], "Config key 'model.encoder' must be one of 'auto', 'embedding'"),
        (["model.initial_state=random"], "must be one of 'zeros', 'learned'; got 'random'"),
    ],
)  # fmt: skip
def test_task_and_choice_errors_name_the_key(overrides, message):
    result = _invoke("config", *_sets(overrides))
    assert result.exit_code == 1 and message in result.output, result.output


def test_a_config_file_then_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[model]\nhidden_size = 64\ncell = "gru"\n[train]\nlr = 1\n')
    config = load_config(path, ["model.hidden_size=32"])
    assert config["model"]["hidden_size"] == 32 and config["model"]["cell"] == "gru"
    assert config["train"]["lr"] == 1.0 and isinstance(config["train"]["lr"], float)
    assert tomllib.loads(dumps(config)) == config


def test_config_toml_loads_back_equal():
    """Floats, lists, nested and empty tables, and strings and keys TOML must quote or escape."""
    data = {
        "train": {"lr": 1e-30, "clip": 1.5e300, "steps": 3, "shuffle": True, "sizes": [1, 2]},
        "sample": {"prime": 'say "hi"\n\tthen\x7f ü', "stops": ["\n", "it's", "back\\slash"]},
        "model": {"cell": "lstm", "cell_options": {"a.b": -0.0, "deep": {"x": [1.5]}, "none": {}}},
    }
    assert tomllib.loads(dumps(data)) == data


def test_a_required_option_is_written_as_a_comment():
    from seqkit.config.options import REQUIRED

    text = dumps({"model": {"cell": "x", "cell_options": {"size": REQUIRED, "k": 2}}})
    assert "# size = ...  (required: the component has no default)" in text
    assert tomllib.loads(text) == {"model": {"cell": "x", "cell_options": {"k": 2}}}


def test_overrides_are_toml_literals_else_strings():
    assert parse_override("train.lr=2e-3") == ("train.lr", 0.002)
    assert parse_override("model.cell=gru") == ("model.cell", "gru")
    assert parse_override('sample.prime="Hi"') == ("sample.prime", "Hi")


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "model.hiden_size=3",
            "Unknown config key 'model.hiden_size'. Did you mean 'model.hidden_size'?",
        ),
        ("trian.steps=3", "Unknown config key 'trian.steps'. Did you mean 'train.steps'?"),
        ("train.steps=1.5", "Config key 'train.steps' must be an integer (like 2000), got 1.5"),
        ("model.dropout=true", "Config key 'model.dropout' must be a number"),
        ("train.eval_every=0", "Config key 'train.eval_every' must be at least 1, got 0"),
        ("train.steps", "--set takes KEY=VALUE"),
    ],
)
def test_config_errors_name_the_key(override, message):
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    assert message in str(info.value)
    result = _invoke("config", "--set", override)
    assert result.exit_code == 1 and message in result.output


def test_an_unknown_section_in_a_file_names_the_closest(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[modle]\ncell = 'gru'\n")
    with pytest.raises(
        ConfigError, match=r"unknown config section \[modle\]. Did you mean \[model\]"
    ):
        load_config(path)


@pytest.mark.parametrize("name", ["char_rnn.toml", "tbptt_overlap.toml"])
def test_the_example_configs_load(name):
    from pathlib import Path

    path = Path(__file__).parent.parent / "examples" / name
    config = load_config(path)
    assert config["task"]["name"] == "char-lm"
    assert tomllib.loads(path.read_text())["train"]["k1"] == config["train"]["k1"]
