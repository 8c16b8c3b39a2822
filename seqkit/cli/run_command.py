"""``seqkit run`` and ``seqkit config``: train a model from a TOML config, into a run directory.

    seqkit run                                   # an LSTM on the embedded corpus, ~2 minutes
    seqkit run my.toml --set model.hidden_size=512 --out runs/big
    seqkit run --resume runs/big --set train.steps=6000
    seqkit config --set model.cell=gru           # the resolved config, defaults included

Both only parse and print: ``seqkit.load_config`` and ``seqkit.train`` do the work (see
``seqkit.runs``), and ``seqkit.cli.console.ConsoleReporter`` draws the progress.
"""

from __future__ import annotations

import click

set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. --set model.hidden_size=512 (repeatable).",
)


@click.command("config")
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@set_option
def config_command(config_file, overrides) -> None:
    """Print the resolved config as TOML: defaults, then CONFIG_FILE, then --set overrides."""
    from seqkit.config.files import load_config

    click.echo(str(load_config(config_file, list(overrides))), nl=False)


@click.command("run")
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@set_option
@click.option("--out", type=click.Path(), help="Run directory [runs/<time>].")
@click.option(
    "--resume",
    type=click.Path(),
    help="Continue the run in this directory up to train.steps.",
)
@click.option(
    "--accept-changed-data",
    is_flag=True,
    help="With --resume: go on even where the data differs from the run's (task.json).",
)
@click.option(
    "--debug",
    is_flag=True,
    help="Show the traceback behind a plugin's one-line error (as SEQKIT_DEBUG=1 does).",
)
def run_command(config_file, overrides, out, resume, accept_changed_data, debug) -> None:
    """Train a model as the config says, then print a sample.

    Ctrl-C (or SIGTERM) saves a checkpoint and exits; `seqkit run --resume DIR` goes on.
    """
    import os

    from seqkit.runs.blame import DEBUG_VARIABLE

    if debug:
        os.environ[DEBUG_VARIABLE] = "1"  # this process's: the error handler reads it too
    from seqkit.cli.console import ConsoleReporter
    from seqkit.config.files import load_config
    from seqkit.errors import ConfigError
    from seqkit.runs.directory import RunDirectory
    from seqkit.runs.training import train

    if resume is not None:
        if not resume.strip():
            raise ConfigError("--resume is empty; give the run directory to continue.")
        if config_file:
            raise ConfigError("--resume reads the run's own config.toml; give --set, not a file.")
        if out is not None:
            raise ConfigError("--resume continues the run where it is; give --resume or --out.")
        run = RunDirectory.existing(resume)  # a clear line for a folder that holds no run
        config = load_config(run.path / "config.toml", list(overrides))
    else:
        config = load_config(config_file, list(overrides))
    reporter = ConsoleReporter(checkpoint_every=config["train"]["checkpoint_every"])
    trained = train(
        config,
        resume or out,
        resume=resume is not None,
        progress=reporter,
        accept_changed_data=accept_changed_data,
    )
    if not (reporter.started_run or reporter.finished_run):  # a finished run: nothing done
        click.echo(f"The run is already at step {trained.step} of {config['train']['steps']}.")
