"""``seqkit bench``: training tokens/s of seqkit's runners for any registered cell, against the
FLOP ceiling.

    seqkit bench --cell lstm --batch-size 32 --seq-len 64 --hidden-size 256
    seqkit bench --cell gru --runner fused --runner xla --json
    seqkit bench --cell vanilla --cell-option 'activation="relu"' --runner auto --runner graph
    seqkit bench --cell lstm --precision mixed_bfloat16

One training step is forward, backward and an Adam update of a character model: embedding
(vocab -> embed), ``layers`` recurrent layers, a dense head back to vocab, over batch x seq
tokens. Warm-up steps (and XLA's compile) are excluded; each figure is the median of the timed
steps, the runners' steps interleaved so that a noisy machine slows them alike. The ceiling is
the measured sgemm rate over the step's matmul FLOPs a token, counted from the model's weight
matrices (the float32 sgemm rate, in either precision). ``--precision mixed_bfloat16`` trains in
bfloat16 with float32 variables, and the table says whether this CPU has bfloat16 instructions
(without them bfloat16 is emulated, and slower than float32). The measuring is
``seqkit.benchmarking``; this command parses and prints.
``benchmarks/compare.py`` puts the same figures beside Keras and PyTorch.
"""

from __future__ import annotations

import json

import click

from seqkit.config.keys import PRECISIONS
from seqkit.errors import ConfigError


def parse_cell_option(text: str) -> tuple[str, object]:
    """``"KEY=VALUE"`` -> ``(key, value)``, the value a TOML literal where it parses (as --set)."""
    from seqkit.config.files import parse_override

    key, sep, _ = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f'--cell-option takes KEY=VALUE (like activation="relu"), got {text!r}.')
    return parse_override(text)


def checked_cell_options(cell: str, options: dict) -> dict:
    """``options`` of ``cell`` checked as ``seqkit run`` checks them (names, types, required
    ones), each error one line that says how to give the option here (``--cell-option``)."""
    from seqkit.config.options import cell_defaults, check_required_cell_options, resolve_options

    resolved = resolve_options(f"Cell {cell!r}", "", options, cell_defaults(cell))
    check_required_cell_options(cell, resolved, how="--cell-option {key}=VALUE")
    return options


@click.command("bench")
@click.option(
    "--cell", default="lstm", show_default=True, help="any registered cell (seqkit plugins)"
)
@click.option(
    "--cell-option", "cell_options", multiple=True, metavar="KEY=VALUE",
    help="an option of the cell (repeatable); the value is a TOML literal, as --set reads it",
)  # fmt: skip
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--seq-len", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--hidden-size", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--embedding-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--vocab-size", type=click.IntRange(min=2), default=65, show_default=True)
@click.option("--num-layers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--runner", "runners", multiple=True, help="runners to time (repeatable) [default: auto, xla]"
)
@click.option(
    "--precision", type=click.Choice(PRECISIONS), default="float32",
    show_default=True, help="mixed_bfloat16: bfloat16 maths, float32 variables",
)  # fmt: skip
@click.option("--warmup", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object instead of a table")
def bench(
    cell, cell_options, batch_size, seq_len, hidden_size, embedding_size, vocab_size, num_layers,
    runners, precision, warmup, repeats, as_json,
) -> None:  # fmt: skip
    """Time seqkit's training step (tokens/s) on one configuration, against the FLOP ceiling."""
    from seqkit.benchmarking import (
        bfloat16_support,
        flops_per_token,
        interleaved_medians,
        runner_name,
        sgemm_rate,
        training_step,
    )

    options = checked_cell_options(cell, dict(parse_cell_option(text) for text in cell_options))
    sizes = dict(
        batch=batch_size, seq=seq_len, hidden=hidden_size, embed=embedding_size,
        vocab=vocab_size, layers=num_layers,
    )  # fmt: skip
    steps = {
        name: training_step(cell, **sizes, runner=name, cell_options=options, precision=precision)
        for name in runners or ("auto", "xla")
    }
    medians = interleaved_medians(steps, warmup, repeats)
    rate = sgemm_rate()
    fpt = flops_per_token(next(iter(steps.values())).model)
    result = {
        "cell": cell, "cell_options": options, "batch_size": batch_size, "seq_len": seq_len,
        "hidden_size": hidden_size, "embedding_size": embedding_size, "vocab_size": vocab_size,
        "num_layers": num_layers, "precision": precision, "bfloat16": bfloat16_support(),
        "flops_per_token": fpt, "sgemm_gflops": round(rate / 1e9, 1),
        "ceiling_tokens_per_s": round(rate / fpt),
        "runners": {
            name: {
                "runner": runner_name(steps[name].model.runner),
                "ms_per_step": round(1e3 * m, 2),
                "tokens_per_s": round(steps[name].tokens / m),
            }
            for name, m in medians.items()
        },
    }  # fmt: skip
    if as_json:
        click.echo(json.dumps(result))
    else:
        print_table(result)


def print_table(result: dict) -> None:
    """The result as a few lines: the configuration, then one line a runner."""
    ceiling = result["ceiling_tokens_per_s"]
    options = "".join(f", {k}={v!r}" for k, v in result["cell_options"].items())
    click.echo(
        f"{result['cell']}{options}, batch {result['batch_size']}, seq {result['seq_len']}, "
        f"hidden {result['hidden_size']}, layers {result['num_layers']}, "
        f"{result['precision']}: sgemm {result['sgemm_gflops']} GFLOP/s, ceiling {ceiling:,} "
        "tokens/s"
    )
    if result["precision"] != "float32":
        click.echo(f"  bfloat16: {result['bfloat16']}")
    for name, figures in result["runners"].items():
        resolved = f"({figures['runner']})" if figures["runner"] != name else ""
        share = figures["tokens_per_s"] / ceiling
        click.echo(
            f"  runner {name:<8}{resolved:<9}{figures['tokens_per_s']:>9,} tokens/s "
            f"{figures['ms_per_step']:>9.2f} ms/step  {share:5.0%} of ceiling"
        )
