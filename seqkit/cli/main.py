"""``seqkit``: the command-line entry point.

    seqkit --version
    seqkit plugins

Domain errors (``SeqkitError``) become one-line click errors here, at the edge, and nowhere else.
"""

from __future__ import annotations

import os
import sys

import click

from seqkit.version import __version__

# TensorFlow's C++ start-up chatter hides seqkit's own output; a user can still set it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class SeqkitGroup(click.Group):
    """A click group that prints a SeqkitError as one line and exits 1, without a traceback."""

    def invoke(self, ctx: click.Context):
        from seqkit.errors import SeqkitError

        try:
            return super().invoke(ctx)
        except SeqkitError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=SeqkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seqkit")
def cli() -> None:
    """Recurrent sequence models on TensorFlow, with plugins."""


def _add_commands() -> None:
    from seqkit.cli.bench_command import bench
    from seqkit.cli.export_command import export_command
    from seqkit.cli.plugins_command import plugins
    from seqkit.cli.run_command import config_command, eval_command, run_command, sample_command

    cli.add_command(plugins)
    cli.add_command(bench)
    for command in (run_command, config_command, sample_command, eval_command):
        cli.add_command(command)
    cli.add_command(export_command)


_add_commands()


def main() -> None:
    args = sys.argv[1:]
    if args and not {"-h", "--help", "--version"} & set(args):  # a command that needs TF
        from seqkit.cli.quiet import import_tensorflow

        import_tensorflow()
    cli()
