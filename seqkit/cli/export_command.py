"""``seqkit export``: a run's model as a TensorFlow SavedModel or as PyTorch weights.

seqkit export runs/big --format saved_model exported/      # loads without seqkit
seqkit export runs/big --format torch big.npz              # torch.nn.LSTM names and layouts
"""

from __future__ import annotations

import click

from seqkit.cli.read_commands import checkpoint_option, open_for_reading


def signature_lines(folder) -> list[str]:
    """Each signature of the SavedModel in ``folder`` as ``name(inputs) -> outputs``, read from
    its ``saved_model.pb``."""
    from pathlib import Path

    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((Path(folder) / "saved_model.pb").read_bytes())
    signatures = saved.meta_graphs[0].signature_def
    return [
        f"  {name}({', '.join(sorted(signatures[name].inputs))}) -> "
        + ", ".join(sorted(signatures[name].outputs))
        for name in sorted(signatures)
        if not name.startswith("__")
    ]


@click.command("export")
@click.argument("run", type=click.Path(file_okay=False))
@click.argument("out", type=click.Path())
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["saved_model", "torch"]),
    help="saved_model: a directory for tf.saved_model.load; torch: an .npz of torch weights.",
)
@click.option(
    "--beam-width",
    type=int,
    default=None,
    help="A seq2seq or transcribe SavedModel's decode_beam width [the run's sample.beam_width, "
    "or 4 where it is 1].",
)
@checkpoint_option
def export_command(run, out, fmt, beam_width, which) -> None:
    """Write the model of the run RUN to OUT, in the format --format names."""
    opened = open_for_reading(run, which)
    written = opened.export(fmt, out, beam_width)
    model = opened.model
    what = f"{model.cell_name} (hidden {model.hidden_size} x {model.num_layers})"
    what += f" at step {opened.step}"
    if fmt == "saved_model":
        click.echo(
            f"Wrote a SavedModel of {what} to {written}; load it with "
            f"tf.saved_model.load({str(written)!r}). Its signatures:"
        )
        click.echo("\n".join(signature_lines(written)))
        return
    from seqkit.export.torch_format import describe_torch_modules

    lines = [f"Wrote the weights of {what} to {written}, as these torch modules hold them:"]
    click.echo("\n".join(lines + describe_torch_modules(model)))
