"""``seqkit run`` and ``seqkit config``: train a model from a TOML config, into a run directory.

    seqkit run                                   # an LSTM on the embedded corpus, ~3 minutes
    seqkit run my.toml --set model.hidden_size=512 --out runs/big
    seqkit run --resume runs/big --set train.steps=6000
    seqkit config --set model.cell=gru           # the resolved config, defaults included

The run directory holds ``config.toml`` (resolved), ``vocab.json``, ``checkpoints/last`` and
``checkpoints/best`` (``tf.train.CheckpointManager``: model, optimizer, step), ``metrics.csv``
(``step,train_loss,val_loss,val_bpc``), TensorBoard events in ``tensorboard/``, ``loss.png``
(where matplotlib is installed) and ``samples.txt``.

A resumed run restores the model, the optimizer, the position in the data, the streams'
carried states and the dropout generator from the last checkpoint, so that it ends where an
uninterrupted run would have. On resume only ``train.*`` and ``sample.*`` may be overridden.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import click

RESUMABLE = ("train.", "sample.")  # what --set may change on --resume

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
    from seqkit.config import dumps, load_config

    click.echo(dumps(load_config(config_file, list(overrides))), nl=False)


@click.command("run")
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@_set_option
@click.option("--out", type=click.Path(file_okay=False), help="Run directory [runs/<time>].")
@click.option(
    "--resume",
    type=click.Path(file_okay=False, exists=True),
    help="Continue the run in this directory up to train.steps.",
)
def run_command(config_file, overrides, out, resume) -> None:
    """Train a model as the config says, then print a sample."""
    from seqkit.config import load_config
    from seqkit.errors import ConfigError

    if resume:
        if config_file:
            raise ConfigError("--resume reads the run's own config.toml; give --set, not a file.")
        out_dir = Path(resume)
        if not (out_dir / "config.toml").is_file() or not (out_dir / "vocab.json").is_file():
            raise ConfigError(
                f"{str(out_dir)!r} is not a run directory (no config.toml and vocab.json); "
                "give the directory that `seqkit run --out` wrote."
            )
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
    _train(config, out_dir, resume=bool(resume))


def _train(config: dict, out_dir: Path, resume: bool) -> None:
    from seqkit.cli.run_dir import (
        RunLogger,
        build_model,
        build_task,
        build_trainer,
        checkpoint_managers,
        restore_latest,
        trim_metrics,
        write_loss_plot,
    )
    from seqkit.config import dumps
    from seqkit.trainer import set_seed

    train = config["train"]
    vocab_file = out_dir / "vocab.json"
    vocabulary = json.loads(vocab_file.read_text(encoding="utf-8")) if resume else None
    task = build_task(config, vocabulary=vocabulary)
    data = task.train_batches(train["batch_size"], train["seed"])[0]
    eval_data = task.eval_batches(train["batch_size"])
    set_seed(train["seed"])
    model = build_model(config, task.vocab_size)
    trainer = build_trainer(config, model, task)
    logger = RunLogger(config, out_dir, task, model, eval_data)
    checkpoint = trainer.checkpoint(run=logger.state)
    out_dir.mkdir(parents=True, exist_ok=True)  # once the config has built a model
    (out_dir / "config.toml").write_text(dumps(config), encoding="utf-8")
    vocab_file.write_text(json.dumps(task.vocabulary, ensure_ascii=False), encoding="utf-8")
    last, best = checkpoint_managers(checkpoint, out_dir)
    if resume:
        restore_latest(checkpoint, last, out_dir)
        trim_metrics(out_dir / "metrics.csv", trainer.step)
    remaining = train["steps"] - trainer.step
    if remaining <= 0:
        click.echo(f"The run is already at step {trainer.step} of {train['steps']}.")
        return
    click.echo(
        f"{'Resuming' if resume else 'Training'} {config['model']['cell']} "
        f"(hidden {config['model']['hidden_size']} x {config['model']['num_layers']}, "
        f"runner {type(model.runner).__name__}) on {len(task.train_ids):,} characters, "
        f"vocabulary {task.vocab_size}; steps {trainer.step + 1}-{train['steps']}; "
        f"run directory {out_dir}"
    )
    logger.attach(last, best)
    trainer.callbacks.append(logger)
    started = time.perf_counter()
    trainer.fit(data, steps=remaining)  # the trainer goes on where its progress stands
    click.echo(f"Trained to step {trainer.step} in {time.perf_counter() - started:.0f} s.")
    write_loss_plot(out_dir)
    click.echo(f"\n{logger.final_sample}")


@click.command("sample")
@click.argument("run", type=click.Path(file_okay=False, exists=True))
@click.option("--prime", default="", help="Text to start from [a newline].")
@click.option("--length", default=500, show_default=True, type=click.IntRange(min=0))
@click.option("--temperature", default=0.8, show_default=True, type=click.FloatRange(min=0))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--checkpoint",
    "which",
    default="best",
    show_default=True,
    type=click.Choice(["best", "last"]),
    help="The best checkpoint by validation loss, or the last one.",
)
def sample_command(run, prime, length, temperature, seed, which) -> None:
    """Print text generated by the model of a run (temperature 0: always the likeliest)."""
    from seqkit.cli.run_dir import prime_ids, read_run
    from seqkit.sampling import Sampler

    _, vocabulary, model, _ = read_run(Path(run), which)
    ids = prime_ids(vocabulary, prime)
    generated = Sampler(model)(ids, length, temperature, seed)
    click.echo("".join(vocabulary[i] for i in [*ids, *generated]))


@click.command("eval")
@click.argument("run", type=click.Path(file_okay=False, exists=True))
@click.option("--corpus", type=click.Path(exists=True), help="Evaluate on all of this text.")
@click.option(
    "--checkpoint",
    "which",
    default="best",
    show_default=True,
    type=click.Choice(["best", "last"]),
    help="The best checkpoint by validation loss, or the last one.",
)
def eval_command(run, corpus, which) -> None:
    """Print the loss and bits per character of a run's model on its validation split."""
    from seqkit.cli.run_dir import build_task, read_run
    from seqkit.trainer import Trainer

    config, vocabulary, model, step = read_run(Path(run), which)
    task = build_task(config, vocabulary, corpus=corpus, val_fraction=1.0 if corpus else None)
    data = task.eval_batches(config["train"]["batch_size"])
    loss = Trainer(model, loss=task.default_loss).evaluate(data)
    where = corpus or "the validation split"
    click.echo(
        f"step {step} ({which} checkpoint) on {where} ({data[0].inputs.size:,} characters): "
        + "  ".join(f"{k} {v:.4f}" for k, v in task.metrics(loss).items())
    )
