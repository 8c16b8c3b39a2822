"""``seqkit export``: a run's model as a TensorFlow SavedModel or as PyTorch weights.

seqkit export runs/big --format saved_model exported/      # loads without seqkit
seqkit export runs/big --format torch big.npz              # torch.nn.LSTM names and layouts
"""

from __future__ import annotations

from pathlib import Path

import click

from seqkit.cli.run_command import checkpoint_option


@click.command("export")
@click.argument("run", type=click.Path(file_okay=False, exists=True))
@click.argument("out", type=click.Path())
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["saved_model", "torch"]),
    help="saved_model: a directory for tf.saved_model.load; torch: an .npz of torch weights.",
)
@checkpoint_option
def export_command(run, out, fmt, which) -> None:
    """Write the model of the run RUN to OUT, in the format --format names."""
    from seqkit.cli.run_dir import read_run

    if fmt == "torch":
        _check_npz(Path(out))
    _, vocabulary, model, step = read_run(Path(run), which)
    what = f"{model.cell_name} (hidden {model.hidden_size} x {model.num_layers}) at step {step}"
    if fmt == "saved_model":
        from seqkit.export.saved_model import export_saved_model

        export_saved_model(model, vocabulary, out)
        click.echo(
            f"Wrote a SavedModel of {what} to {out}; load it with tf.saved_model.load({out!r}).\n"
            "Signatures: step(ids, state), generate(prime, length, temperature, seed), "
            "initial_state(batch_size), vocabulary()."
        )
    else:
        import numpy as np

        from seqkit.export.torch_format import torch_module, torch_state_dict

        weights = torch_state_dict(model)
        np.savez(out, **weights)
        lines = [f"Wrote the weights of {what} to {out}, as these torch modules hold them:"]
        if model.encoder == "embedding":
            embedding = f"torch.nn.Embedding({model.vocab_size}, {model.input_size})"
            lines.append(f"  embedding.weight  {embedding}")
        elif model.encoder == "onehot":
            lines.append(f"  (inputs: torch.nn.functional.one_hot(ids, {model.vocab_size}))")
        lines.append(f"  *_l<layer>        {torch_module(model)}")
        width = model.cells[-1].output_size * (2 if getattr(model, "bidirectional", False) else 1)
        lines.append(f"  head.*            torch.nn.Linear({width}, {model.output_size})")
        click.echo("\n".join(lines))


def _check_npz(out: Path) -> None:
    from seqkit.export.errors import ExportError

    if out.suffix != ".npz":
        raise ExportError("--format torch writes an .npz file; give OUT a name like model.npz.")
    if out.exists():
        raise ExportError(f"{str(out)!r} already exists; give a new file name.")
