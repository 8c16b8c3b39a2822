"""``seqkit run`` and ``seqkit config``: train a model from a TOML config, into a run directory.

    seqkit run                                   # an LSTM on the embedded corpus, ~3 minutes
    seqkit run my.toml --set model.hidden_size=512 --out runs/big
    seqkit run --resume runs/big --set train.steps=6000
    seqkit config --set model.cell=gru           # the resolved config, defaults included

The run directory (``seqkit/cli/run_dir.py`` lists its files) holds the resolved config, the
task's sizes and baselines, checkpoints (``tf.train.CheckpointManager``: the last three and the
best by validation loss), ``metrics.csv``, TensorBoard events, ``loss.png`` and, for text,
``samples.txt``.

A resumed run restores the model, the optimizer, the position in the data, the streams'
carried states and the dropout generator from the last checkpoint, so that it ends where an
uninterrupted run would have. On resume only ``train.*`` and ``sample.*`` may be overridden.

A run survives a kill at any moment, Ctrl-C and SIGTERM (a checkpoint, then exit 130 or 143),
and a NaN (it stops, naming the step; ``train.nonfinite = "skip"`` skips such updates); see
docs/crash-safety.md. Everything is checked before the first write to the run directory.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime
from pathlib import Path

import click

RESUMABLE = ("train.", "sample.")

# Which checkpoint of a run `sample`, `eval` and `export` read.
checkpoint_option = click.option(
    "--checkpoint",
    "which",
    default="best",
    show_default=True,
    type=click.Choice(["best", "last"]),
    help="The best checkpoint by validation loss, or the last one.",
)  # what --set may change on --resume

_set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. --set model.hidden_size=512 (repeatable).",
)


@click.command("config")
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@_set_option
def config_command(config_file, overrides) -> None:
    """Print the resolved config as TOML: defaults, then CONFIG_FILE, then --set overrides."""
    from seqkit.cli.run_dir import resolve_config
    from seqkit.config import dumps, load_config

    click.echo(dumps(resolve_config(load_config(config_file, list(overrides)))), nl=False)


@click.command("run")
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@_set_option
@click.option("--out", type=click.Path(), help="Run directory [runs/<time>].")
@click.option(
    "--resume",
    type=click.Path(),
    help="Continue the run in this directory up to train.steps.",
)
def run_command(config_file, overrides, out, resume) -> None:
    """Train a model as the config says, then print a sample.

    Ctrl-C (or SIGTERM) saves a checkpoint and exits; `seqkit run --resume DIR` goes on.
    """
    from seqkit.cli.run_dir import read_task_info
    from seqkit.config import load_config
    from seqkit.errors import ConfigError

    if resume:
        if config_file:
            raise ConfigError("--resume reads the run's own config.toml; give --set, not a file.")
        out_dir = Path(resume)
        read_task_info(out_dir)  # a run directory, of a format this seqkit reads
        fixed = [o for o in overrides if not o.split("=", 1)[0].strip().startswith(RESUMABLE)]
        if fixed:
            raise ConfigError(
                f"--resume cannot change {fixed[0].split('=', 1)[0].strip()!r}: the checkpoints "
                "hold that model and data; only train.* and sample.* keys may change on resume."
            )
        config = load_config(out_dir / "config.toml", list(overrides))
    else:
        config = load_config(config_file, list(overrides))
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out_dir = Path(out) if out else Path("runs") / stamp
        if (out_dir / "config.toml").exists():
            raise ConfigError(
                f"{str(out_dir)!r} already holds a run; use --resume {out_dir} or another --out."
            )
        if out_dir.exists() and not out_dir.is_dir():
            raise ConfigError(f"--out {str(out_dir)!r} is a file; give a directory for the run.")
    _train(config, out_dir, resume=bool(resume))


def _describe(data) -> str:
    from seqkit.cli.run_dir import is_streams

    if is_streams(data):
        rows, steps = data[0].inputs.shape[:2]
        return f"{rows} streams of {steps:,} steps"
    return f"{sum(len(b.inputs) for b in data):,} sequences in {len(data)} batches"


def _train(config: dict, out_dir: Path, resume: bool) -> None:
    from seqkit import distribute
    from seqkit.cli.checkpoints import checkpoint_managers, restore_newest_intact
    from seqkit.cli.run_dir import (
        build_model,
        build_task,
        build_trainer,
        check_cells,
        check_loss,
        check_windows,
        read_task_info,
        read_vocabulary,
        resolve_config,
        task_info,
    )
    from seqkit.cli.run_files import trim_metrics, trim_samples, write_atomic, write_format
    from seqkit.cli.run_logger import RunLogger, write_loss_plot
    from seqkit.cli.signals import Interrupts
    from seqkit.config import dumps
    from seqkit.errors import DataError, NonFiniteError
    from seqkit.trainer import set_seed

    # Everything is built and checked before the first write: a config, a corpus or a
    # checkpoint that does not fit leaves the run directory as it was.
    train = config["train"]
    config = resolve_config(config)
    saved = read_task_info(out_dir) if resume else None
    vocabulary = read_vocabulary(out_dir, saved) if resume else None
    task = build_task(config, vocabulary=vocabulary)
    data = task.train_batches(train["batch_size"], train["seed"])
    eval_data = task.eval_batches(train["batch_size"])
    info = task_info(task)
    if saved is not None and info["model_dims"] != saved["model_dims"]:
        raise DataError(
            f"The task now gives a model of sizes {info['model_dims']}, but the run "
            f"{str(out_dir)!r} holds one of {saved['model_dims']} (task.json): its data or "
            "vocabulary changed; resume with the run's own data, or start a new run."
        )
    check_windows(config, task, data)
    set_seed(train["seed"])
    # the strategy comes before TensorFlow's first op (cpu_devices needs that)
    strategy = distribute.make_strategy(train["distribute"], train["cpu_devices"])
    model = build_model(config, info, strategy)
    check_cells(model)
    trainer = build_trainer(config, model, task, strategy)
    check_loss(model, trainer.loss, data)
    write_dir = distribute.write_dir(out_dir, strategy)  # the chief writes the run
    interrupts = Interrupts()
    logger = RunLogger(config, write_dir, task, model, eval_data, trainer.loss, interrupts)
    checkpoint = trainer.checkpoint(run=logger.state)
    if resume:  # every worker restores the chief's checkpoint
        restore_newest_intact(
            checkpoint,
            out_dir / "checkpoints" / "last",
            out_dir,
            warn=lambda message: click.echo(message, err=True),
        )
    write_dir.mkdir(parents=True, exist_ok=True)  # once the config has built a model
    if not resume or write_dir != out_dir:
        write_format(write_dir)
        write_atomic(write_dir / "task.json", json.dumps(info, indent=1))
        if isinstance(getattr(task, "vocabulary", None), str):  # characters to sample with
            write_atomic(write_dir / "vocab.json", json.dumps(task.vocabulary, ensure_ascii=False))
    write_atomic(write_dir / "config.toml", dumps(config))  # last: it marks a run directory
    last, best = checkpoint_managers(checkpoint, write_dir / "checkpoints")
    if resume:  # rows and samples written after the restored checkpoint come again
        trim_metrics(write_dir / "metrics.csv", trainer.step)
        trim_samples(write_dir / "samples.txt", trainer.step)
    remaining = train["steps"] - trainer.step
    if remaining <= 0:
        click.echo(f"The run is already at step {trainer.step} of {train['steps']}.")
        return
    model_config = config["model"]
    click.echo(
        f"{'Resuming' if resume else 'Training'} {model_config['cell']} "
        f"(hidden {model_config['hidden_size']} x {model_config['num_layers']}"
        f"{', bidirectional' if model_config['bidirectional'] else ''}, "
        f"runner {type(model.runner).__name__}) on {config['task']['name']}: {_describe(data)}; "
        f"{type(trainer.truncation).__name__}; steps {trainer.step + 1}-{train['steps']}; "
        f"run directory {out_dir}"
    )
    if info["baselines"]:
        click.echo("baseline: " + "  ".join(f"{k} {v:.4f}" for k, v in info["baselines"].items()))
    logger.attach(last, best)
    trainer.callbacks.append(logger)
    started = time.perf_counter()
    with interrupts:
        try:
            # one batch of streams goes in as is (the trainer repeats it); a list is a set
            trainer.fit(data[0] if len(data) == 1 else data, steps=remaining)
        except NonFiniteError as exc:
            logger.close()
            raise _nonfinite_error(exc, train, last.latest_checkpoint, out_dir) from None
    if logger.interrupted(trainer):
        click.echo(
            f"\nInterrupted by {interrupts.name} at step {trainer.step} of {train['steps']}; "
            f"saved a checkpoint. Resume with: seqkit run --resume {out_dir}",
            err=True,
        )
        click.get_current_context().exit(interrupts.exit_code)
    click.echo(f"Trained to step {trainer.step} in {time.perf_counter() - started:.0f} s.")
    write_loss_plot(write_dir, info["baselines"])
    if write_dir != out_dir:
        shutil.rmtree(write_dir, ignore_errors=True)  # a non-chief worker's copy
    if logger.final_sample:
        click.echo(f"\n{logger.final_sample}")


def _nonfinite_error(exc, train: dict, latest: str | None, out_dir: Path):
    """The NaN message of ``seqkit run``: the step, the likely cause, and what to do."""
    from seqkit.cli.checkpoints import step_of
    from seqkit.errors import NonFiniteError

    causes = f"the learning rate (train.lr = {train['lr']}) is likely too high"
    if not train["clip_norm"]:
        causes += " and the gradients are not clipped (train.clip_norm = 0)"
    kept = (
        f"the last good checkpoint, step {step_of(latest)}, is kept"
        if latest
        else "no checkpoint was written yet"
    )
    return NonFiniteError(
        f"Training stopped at step {exc.step}: the loss ({exc.loss}) or the gradient norm "
        f"({exc.grad_norm}) is not finite; {causes}.\n"
        f"Lower train.lr or set train.clip_norm, then `seqkit run --resume {out_dir}` ({kept}); "
        "or --set train.nonfinite=skip to skip such updates.",
        step=exc.step,
        loss=exc.loss,
        grad_norm=exc.grad_norm,
    )


@click.command("sample")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--prime", default="", help="Text to start from [a newline].")
@click.option("--length", default=500, show_default=True, type=int, help="At least 1.")
@click.option("--temperature", default=0.8, show_default=True, type=float, help="0 or more.")
@click.option("--seed", default=0, show_default=True, type=int)
@checkpoint_option
def sample_command(run, prime, length, temperature, seed, which) -> None:
    """Print text generated by the model of a run (temperature 0: always the likeliest)."""
    from seqkit.cli.run_dir import read_run
    from seqkit.cli.run_logger import prime_ids
    from seqkit.errors import DataError, OptionError
    from seqkit.sampling import Sampler

    if length < 1:
        raise OptionError(f"--length must be at least 1 character, got {length}; give e.g. 200.")
    if not temperature >= 0 or temperature == float("inf"):
        raise OptionError(
            f"--temperature must be 0 (the likeliest character) or more, got {temperature}; "
            "give e.g. 0.8."
        )
    config, vocabulary, model, _ = read_run(Path(run), which)
    if vocabulary is None:
        raise DataError(
            f"The run {run!r} trained task {config['task']['name']!r}, which does not predict "
            "text: only a char-lm run can be sampled."
        )
    ids = prime_ids(vocabulary, prime)
    generated = Sampler(model)(ids, length, temperature, seed)
    click.echo("".join(vocabulary[i] for i in [*ids, *generated]))


@click.command("eval")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--corpus", type=click.Path(), help="char-lm: evaluate on all of this text.")
@checkpoint_option
def eval_command(run, corpus, which) -> None:
    """Print the loss and the task's metrics of a run's model on its validation split."""
    from seqkit.cli.run_dir import build_task, read_run, read_task_info
    from seqkit.errors import DataError
    from seqkit.evaluation import evaluate
    from seqkit.registry import make_loss

    info = read_task_info(Path(run))
    config, vocabulary, model, step = read_run(Path(run), which)
    overrides = {}
    if corpus:
        if config["task"]["name"] != "char-lm":
            raise DataError("--corpus is for char-lm runs; other tasks read their config's data.")
        overrides = {"corpus": corpus, "val_fraction": 1.0}
    task = build_task(config, vocabulary, **overrides)
    data = task.eval_batches(config["train"]["batch_size"])
    loss = make_loss(task.default_loss, **task.loss_options())
    result = evaluate(model, loss, data, counts=task.counts)
    metrics = {**task.metrics(result["loss"]), **result}
    where = corpus or "the validation split"
    shown = "  ".join(
        f"{k} {v:.4f}"
        + (f" (baseline {info['baselines'][k]:.4f})" if k in info["baselines"] else "")
        for k, v in metrics.items()
    )
    click.echo(f"step {step} ({which} checkpoint) on {where}: {shown}")
