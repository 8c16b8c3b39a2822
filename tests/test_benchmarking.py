"""``seqkit.benchmarking`` and ``seqkit bench``: FLOPs a token from the model's own weights, and
the bench command for any registered cell, with its options.

    .venv/bin/python -m pytest tests/test_benchmarking.py -q
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import seqkit
from seqkit import benchmarking
from seqkit.benchmarking import flops_per_token, interleaved_medians, runner_name


def expected_flops(gates, hidden, embed, vocab, layers):
    """From the equations: every layer's W_ih [G*H, in] and W_hh [G*H, H] and the head [V, H],
    2 FLOPs an entry a token forward, backward twice that."""
    total = sum(
        2 * gates * hidden * ((embed if k == 0 else hidden) + hidden) for k in range(layers)
    )
    return 3.0 * (total + 2 * hidden * vocab)


@pytest.mark.parametrize(("cell", "gates"), [("vanilla", 1), ("gru", 3), ("lstm", 4)])
@pytest.mark.parametrize("layers", [1, 2])
def test_flops_per_token_counts_the_models_weight_matrices(cell, gates, layers):
    model = seqkit.SequenceModel(
        cell, hidden_size=8, output_size=5, num_layers=layers, encoder="embedding",
        vocab_size=5, embedding_size=3,
    )  # fmt: skip
    assert flops_per_token(model) == expected_flops(gates, 8, 3, 5, layers)


def test_interleaved_medians_times_each_function():
    calls = []
    medians = interleaved_medians(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 1, 3
    )
    assert calls == ["a", "b"] + ["a", "b"] * 3 and set(medians) == {"a", "b"}


def bench(*args):
    from seqkit.cli.main import cli

    small = ["--batch-size", "2", "--seq-len", "3", "--hidden-size", "4", "--embedding-size", "3"]
    return CliRunner().invoke(cli, ["bench", *small, "--warmup", "1", "--repeats", "1", *args])


def test_bench_runs_any_cell_with_its_options_and_names_what_auto_picked(monkeypatch):
    monkeypatch.setattr(benchmarking, "sgemm_rate", lambda: 1e11)  # not what is tested here
    result = bench(
        "--cell", "vanilla", "--cell-option", 'activation="relu"', "--runner", "auto",
        "--runner", "graph", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["cell"] == "vanilla" and got["cell_options"] == {"activation": "relu"}
    assert got["flops_per_token"] == expected_flops(1, 4, 3, 65, 1)
    assert got["ceiling_tokens_per_s"] == round(1e11 / got["flops_per_token"])
    relu = seqkit.SequenceModel("vanilla", input_size=3, hidden_size=4,
                                cell_options={"activation": "relu"})  # fmt: skip
    assert {name: r["runner"] for name, r in got["runners"].items()} == {
        "auto": runner_name(relu.runner),  # native where its library loads, else fused
        "graph": "graph",
    }
    assert all(r["tokens_per_s"] > 0 for r in got["runners"].values())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--cell-option", "relu"],
            "Error: --cell-option takes KEY=VALUE (like activation=\"relu\"), got 'relu'.",
        ),
        (["--cell", "lsmt"], "Error: Unknown cell 'lsmt'. Did you mean 'lstm'?"),
        (
            ["--cell", "lstm", "--cell-option", "activation=1"],
            "Error: Cell 'lstm' has no option 'activation'. Its options are: none.",
        ),
        (
            ["--cell", "vanilla", "--cell-option", 'activaton="relu"'],
            "Error: Cell 'vanilla' has no option 'activaton'. Did you mean 'activation'?",
        ),
    ],
)
def test_bench_refuses_bad_cells_and_options_in_one_line(args, message):
    result = bench(*args)
    assert result.exit_code == 1 and result.output.startswith(message), result.output
    assert "Traceback" not in result.output


def test_runner_name_is_the_registered_name():
    assert runner_name(seqkit.make_runner("fused")) == "fused"
    assert runner_name(seqkit.make_runner("xla")) == "xla"
