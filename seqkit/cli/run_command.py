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
"""

from __future__ import annotations

import json
import shutil
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
    from seqkit.cli.run_dir import resolve_config
    from seqkit.config import dumps, load_config

    click.echo(dumps(resolve_config(load_config(config_file, list(overrides)))), nl=False)


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
        if not (out_dir / "config.toml").is_file() or not (out_dir / "task.json").is_file():
            raise ConfigError(
                f"{str(out_dir)!r} is not a run directory (no config.toml and task.json); "
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


def _describe(data) -> str:
    if len(data) == 1 and data[0].inputs.ndim >= 2 and data[0].mask is None:
        rows, steps = data[0].inputs.shape[:2]
        return f"{rows} streams of {steps:,} steps"
    return f"{sum(len(b.inputs) for b in data):,} sequences in {len(data)} batches"


def _train(config: dict, out_dir: Path, resume: bool) -> None:
    from seqkit import distribute
    from seqkit.cli.run_dir import (
        build_model,
        build_task,
        build_trainer,
        checkpoint_managers,
        resolve_config,
        restore_latest,
        task_info,
        trim_metrics,
    )
    from seqkit.cli.run_logger import RunLogger, write_loss_plot
    from seqkit.config import dumps
    from seqkit.trainer import set_seed

    train = config["train"]
    config = resolve_config(config)
    vocab_file = out_dir / "vocab.json"
    vocabulary = (
        json.loads(vocab_file.read_text("utf-8")) if resume and vocab_file.is_file() else None
    )
    task = build_task(config, vocabulary=vocabulary)
    data = task.train_batches(train["batch_size"], train["seed"])
    eval_data = task.eval_batches(train["batch_size"])
    info = task_info(task)
    set_seed(train["seed"])
    # the strategy comes before TensorFlow's first op (cpu_devices needs that)
    strategy = distribute.make_strategy(train["distribute"], train["cpu_devices"])
    model = build_model(config, info, strategy)
    trainer = build_trainer(config, model, task, strategy)
    write_dir = distribute.write_dir(out_dir, strategy)  # the chief writes the run
    logger = RunLogger(config, write_dir, task, model, eval_data, trainer.loss)
    checkpoint = trainer.checkpoint(run=logger.state)
    write_dir.mkdir(parents=True, exist_ok=True)  # once the config has built a model
    (write_dir / "config.toml").write_text(dumps(config), encoding="utf-8")
    (write_dir / "task.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    if isinstance(getattr(task, "vocabulary", None), str):  # characters to sample with
        (write_dir / "vocab.json").write_text(json.dumps(task.vocabulary, ensure_ascii=False))
    last, best = checkpoint_managers(checkpoint, write_dir)
    if resume:  # every worker restores the chief's checkpoint
        restore_latest(checkpoint, checkpoint_managers(checkpoint, out_dir)[0], out_dir)
        trim_metrics(write_dir / "metrics.csv", trainer.step)
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
    # one batch of streams goes in as is (the trainer repeats it); a list of batches is a set
    trainer.fit(data[0] if len(data) == 1 else data, steps=remaining)
    click.echo(f"Trained to step {trainer.step} in {time.perf_counter() - started:.0f} s.")
    write_loss_plot(write_dir, info["baselines"])
    if write_dir != out_dir:
        shutil.rmtree(write_dir, ignore_errors=True)  # a non-chief worker's copy
    if logger.final_sample:
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
    from seqkit.cli.run_dir import read_run
    from seqkit.cli.run_logger import prime_ids
    from seqkit.errors import DataError
    from seqkit.sampling import Sampler

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
@click.argument("run", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--corpus", type=click.Path(exists=True), help="char-lm: evaluate on all of this text."
)
@click.option(
    "--checkpoint",
    "which",
    default="best",
    show_default=True,
    type=click.Choice(["best", "last"]),
    help="The best checkpoint by validation loss, or the last one.",
)
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
