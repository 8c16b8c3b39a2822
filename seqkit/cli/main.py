"""``seqkit``: the command-line entry point.

    seqkit --version
    seqkit plugins

Domain errors (``SeqkitError``) become one-line errors here, at the edge, and nowhere else; a
run stopped by a signal exits with the shell's code for it (130, 143); a mistyped command line
is one line that names the mistake and where the help is.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from seqkit.cache import keep_library_files_in_cache
from seqkit.version import __version__

# Keras' keras.json and matplotlib's font cache go into seqkit's cache, not the user's home.
keep_library_files_in_cache()

# TensorFlow's C++ start-up chatter hides seqkit's own output; a user can still set it, or ask
# for all of it with SEQKIT_TF_LOGS=1 (seqkit.quiet_tensorflow).
if os.environ.get("SEQKIT_TF_LOGS", "").strip().lower() in ("", "0", "false", "no"):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class SeqkitGroup(click.Group):
    """A click group that prints a SeqkitError as one line, without a traceback."""

    def invoke(self, ctx: click.Context):
        from seqkit.errors import SeqkitError, TrainingInterrupted

        try:
            return super().invoke(ctx)
        except TrainingInterrupted as exc:
            click.echo(f"\n{exc}", err=True)
            ctx.exit(exc.exit_code)
        except SeqkitError as exc:
            _show_traceback_if_debugging(exc)
            raise click.ClickException(str(exc)) from None

    def main(self, args=None, prog_name=None, standalone_mode=True, **extra):
        """Click's main, but a usage error is one line (what is wrong, and the help to read)."""
        if not standalone_mode:
            return super().main(args, prog_name, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx is not None else "seqkit"
            click.echo(f"Error: {exc.format_message()} (`{command} --help` lists them)", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)  # ctx.exit(130) comes back as 130


def _show_traceback_if_debugging(exc: Exception) -> None:
    """With SEQKIT_DEBUG=1 (``seqkit run --debug``), the traceback behind a one-line error that
    came from another error (a plugin's), for the plugin's author; nothing otherwise."""
    from seqkit.runs.blame import debugging

    original = getattr(exc, "original", None) or exc.__cause__
    if debugging() and original is not None:
        click.echo("".join(traceback.format_exception(original)).rstrip(), err=True)


@click.group("seqkit", cls=SeqkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seqkit")
def cli() -> None:
    """Recurrent sequence models on TensorFlow, with plugins."""


def _add_commands() -> None:
    from seqkit.cli.bench_command import bench
    from seqkit.cli.export_command import export_command
    from seqkit.cli.plugins_command import plugins
    from seqkit.cli.prepare_command import prepare_command
    from seqkit.cli.read_commands import eval_command, sample_command
    from seqkit.cli.run_command import config_command, run_command

    for command in (plugins, bench, run_command, config_command, sample_command, eval_command):
        cli.add_command(command)
    cli.add_command(export_command)
    cli.add_command(prepare_command)


_add_commands()


def main() -> None:
    args = sys.argv[1:]
    # a command that needs TF (`prepare` does not: it is NumPy, and quick to start)
    if args and args[0] != "prepare" and not {"-h", "--help", "--version"} & set(args):
        from seqkit.quiet_tensorflow import import_tensorflow

        import_tensorflow()
    cli()
