"""The run directory: what ``seqkit run`` writes while it trains, and how a run is read back.

    runs/<time>/config.toml        the resolved config
                vocab.json         the task's vocabulary, a JSON string
                checkpoints/last   the last three checkpoints: model, optimizer, the trainer's
                                   progress (data position, carried states), run metrics
                checkpoints/best   the checkpoint with the lowest validation loss
                metrics.csv        step,train_loss,val_loss,val_bpc, a row each validation
                tensorboard/       tf.summary events: train/loss, train/bpc, val/*, samples
                loss.png           the loss curves
                samples.txt        each validation's sample and the final one

Imported only by the commands that need TensorFlow.
"""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import click
import keras
import tensorflow as tf

from seqkit.config import load_config
from seqkit.errors import DataError
from seqkit.model import SequenceModel
from seqkit.progress import TrainingProgress
from seqkit.registry import make_task, make_truncation
from seqkit.sampling import Sampler
from seqkit.trainer import Callback, Trainer

METRICS_HEADER = ["step", "train_loss", "val_loss", "val_bpc"]


def build_task(config: dict, vocabulary=None, corpus=None, val_fraction=None):
    """The config's task; ``corpus`` and ``val_fraction`` override the config's."""
    task = config["task"]
    return make_task(
        task["name"],
        corpus=corpus or task["corpus"] or None,
        val_fraction=task["val_fraction"] if val_fraction is None else val_fraction,
        vocabulary=vocabulary,
    )


def build_model(config: dict, vocab_size: int) -> SequenceModel:
    """The config's model for a vocabulary of ``vocab_size``."""
    model = config["model"]
    embedding = model["encoder"] == "embedding"
    return SequenceModel(
        model["cell"],
        hidden_size=model["hidden_size"],
        output_size=vocab_size,
        num_layers=model["num_layers"],
        dropout=model["dropout"],
        encoder=model["encoder"],
        vocab_size=vocab_size,
        embedding_size=model["embedding_size"] if embedding else None,
        runner=model["runner"],
    )


def build_trainer(config: dict, model: SequenceModel, task) -> Trainer:
    """The config's trainer: truncation, optimizer, learning rate (and its decay), clipping."""
    train = config["train"]
    options = (
        {"k1": train["k1"], "k2": train["k2"] or None} if train["truncation"] == "tbptt" else {}
    )
    lr = train["lr"]
    if train["lr_decay"] != 1.0:  # as char-rnn: the rate times lr_decay every lr_decay_every
        lr = keras.optimizers.schedules.ExponentialDecay(
            lr, train["lr_decay_every"], train["lr_decay"], staircase=True
        )
    return Trainer(
        model,
        loss=task.default_loss,
        truncation=make_truncation(train["truncation"], **options),
        optimizer=train["optimizer"],
        lr=lr,
        clip_norm=train["clip_norm"] or None,
    )


def checkpoint_managers(checkpoint, out_dir: Path):
    """The managers of the last three checkpoints and of the best one."""
    last = tf.train.CheckpointManager(checkpoint, str(out_dir / "checkpoints" / "last"), 3)
    best = tf.train.CheckpointManager(checkpoint, str(out_dir / "checkpoints" / "best"), 1)
    return last, best


def restore_latest(checkpoint: tf.train.Checkpoint, manager, out_dir: Path) -> None:
    """Restore the newest checkpoint of ``manager`` into ``checkpoint`` (nothing where none)."""
    path = manager.latest_checkpoint
    if path is None:
        return  # stopped before its first checkpoint: start again from step 0
    try:
        checkpoint.restore(path).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"The checkpoint {path!r} of {str(out_dir)!r} does not match the model its config "
            f"builds ({first[:200]}); resume with the run's own config."
        ) from None


def trim_metrics(path: Path, step: int) -> None:
    """Drop the rows of ``metrics.csv`` written after ``step`` (and a torn last line), so that a
    resumed run writes each row once."""
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines.pop()  # a line torn by a kill
    kept = lines[:1] + [
        line
        for line in lines[1:]
        if line.split(",", 1)[0].isdigit() and int(line.split(",")[0]) <= step
    ]
    temporary = path.with_suffix(".csv.tmp")
    temporary.write_text("".join(kept), encoding="utf-8")
    temporary.replace(path)


def read_run(run_dir: Path, which: str = "best"):
    """``(config, vocabulary, model, step)`` of a run, the model restored from ``which``."""
    if not (run_dir / "config.toml").exists() or not (run_dir / "vocab.json").exists():
        raise DataError(f"{str(run_dir)!r} is not a run directory (no config.toml, vocab.json).")
    config = load_config(run_dir / "config.toml")
    vocabulary = json.loads((run_dir / "vocab.json").read_text(encoding="utf-8"))
    model = build_model(config, len(vocabulary))
    progress = TrainingProgress([n for cell in model.cells for n in cell.state_size])
    path = tf.train.latest_checkpoint(str(run_dir / "checkpoints" / which))
    if path is None:
        raise DataError(f"The run {str(run_dir)!r} has no {which!r} checkpoint yet.")
    tf.train.Checkpoint(model=model, progress=progress).restore(path).expect_partial()
    return config, vocabulary, model, int(progress.step.numpy())


def prime_ids(vocabulary: str, prime: str) -> list[int]:
    """The ids of ``prime`` (a newline where empty); a character outside the vocabulary fails."""
    prime = prime or ("\n" if "\n" in vocabulary else vocabulary[0])
    missing = sorted(set(prime) - set(vocabulary))
    if missing:
        raise DataError(
            f"The prime holds characters the model never saw: {''.join(missing)!r}; "
            "use characters of the training corpus."
        )
    return [vocabulary.index(ch) for ch in prime]


def write_loss_plot(out_dir: Path) -> None:
    """``loss.png`` from ``metrics.csv``, or a note where matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        click.echo("matplotlib is not installed: no loss.png (pip install matplotlib).")
        return
    with open(out_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    steps = [int(r["step"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in ("train_loss", "val_loss"):
        ax.plot(steps, [float(r[key]) / math.log(2) for r in rows], marker="o", label=key)
    ax.set(xlabel="step", ylabel="bits per character", title=out_dir.name)
    ax.legend()
    fig.savefig(out_dir / "loss.png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def _summaries(writer, step: int, scalars: dict, text: str | None = None) -> None:
    """TensorBoard scalars (and a text), written by ``tf.summary.write`` with the metadata of
    TensorBoard's scalar and text plugins, so that the ``tensorboard`` package is not needed."""
    from tensorflow.core.framework.summary_pb2 import SummaryMetadata

    def metadata(plugin: str) -> bytes:
        data = SummaryMetadata.PluginData(plugin_name=plugin)
        return SummaryMetadata(plugin_data=data).SerializeToString()

    with writer.as_default():
        for tag, value in scalars.items():
            tf.summary.write(tag, tf.constant(value, tf.float32), step, metadata("scalars"))
        if text is not None:
            tf.summary.write("sample", tf.constant(text), step, metadata("text"))
    writer.flush()


class RunMetrics(tf.Module):
    """What the run log accumulates between validations, kept in every checkpoint so that a
    resumed run writes the same metrics rows as an uninterrupted one."""

    def __init__(self):
        super().__init__(name="run_metrics")

        def variable(value, dtype, name):
            return tf.Variable(value, dtype=dtype, trainable=False, name=name)

        self.loss_sum = variable(0.0, tf.float64, "loss_sum")  # train losses since validation
        self.loss_count = variable(0, tf.int64, "loss_count")
        self.best_val_loss = variable(math.inf, tf.float64, "best_val_loss")
        self.best_step = variable(-1, tf.int64, "best_step")


class RunLogger(Callback):
    """Progress, validation, metrics, TensorBoard, checkpoints and samples, as training goes."""

    def __init__(self, config, out_dir, task, model, eval_data):
        self.train, self.sample = config["train"], config["sample"]
        self.out_dir, self.task, self.eval_data = Path(out_dir), task, eval_data
        self.state = RunMetrics()
        self.sampler = Sampler(model)
        self.prime = prime_ids(task.vocabulary, self.sample["prime"])
        self.tty = click.get_text_stream("stdout").isatty()
        self.final_sample = ""
        self.last = self.best = None

    def attach(self, last: tf.train.CheckpointManager, best: tf.train.CheckpointManager):
        """The managers that save the last checkpoints and the best one."""
        self.last, self.best = last, best

    def on_train_begin(self, trainer) -> None:
        new = not (self.out_dir / "metrics.csv").exists()
        self.csv_file = open(self.out_dir / "metrics.csv", "a", newline="")  # noqa: SIM115
        self.csv = csv.writer(self.csv_file)
        if new:
            self.csv.writerow(METRICS_HEADER)
            self.csv_file.flush()
        self.writer = tf.summary.create_file_writer(str(self.out_dir / "tensorboard"))
        self.window_losses, self.tokens = [], 0
        self.clock, self.validated = time.perf_counter(), -1

    def on_update_end(self, trainer, logs) -> None:
        step = logs["step"]
        self.state.loss_sum.assign_add(logs["loss"])
        self.state.loss_count.assign_add(1)
        self.window_losses.append(logs["loss"])
        self.tokens += logs["tokens"]
        if step % self.train["log_every"] == 0:
            self._progress(step)
        if step % self.train["eval_every"] == 0:
            self._validate(trainer, step)
        if step % self.train["checkpoint_every"] == 0:
            self.last.save(checkpoint_number=step)

    def on_train_end(self, trainer) -> None:
        if self.validated != trainer.step:
            self._validate(trainer, trainer.step)
        self.last.save(checkpoint_number=trainer.step)
        text = self._sample(self.sample["length"])
        self._append_sample(f"final sample, step {trainer.step}", text)
        self.final_sample = self.task.decode(self.prime) + text
        self.writer.close()
        self.csv_file.close()

    def _progress(self, step: int) -> None:
        if not self.window_losses:
            return
        now = time.perf_counter()
        loss = sum(self.window_losses) / len(self.window_losses)
        seconds = max(now - self.clock, 1e-9)
        eta = (self.train["steps"] - step) * seconds / len(self.window_losses)
        bpc = loss / math.log(2)
        done = step / self.train["steps"]
        bar = "#" * int(20 * done) + "-" * (20 - int(20 * done))
        line = (
            f"[{bar}] step {step}/{self.train['steps']}  loss {loss:.3f}  bpc {bpc:.3f}  "
            f"{self.tokens / seconds:,.0f} tok/s  ETA {int(eta) // 60}m{int(eta) % 60:02d}s"
        )
        click.echo(f"\r{line}   " if self.tty else line, nl=not self.tty)
        _summaries(self.writer, step, {"train/loss": loss, "train/bpc": bpc})
        self.window_losses, self.tokens, self.clock = [], 0, time.perf_counter()

    def _validate(self, trainer, step: int) -> None:
        val_loss = trainer.evaluate(self.eval_data)
        metrics = self.task.metrics(val_loss)
        count = int(self.state.loss_count.numpy())
        train_loss = float(self.state.loss_sum.numpy()) / count if count else math.nan
        self.state.loss_sum.assign(0.0)
        self.state.loss_count.assign(0)
        self.validated = step
        self.csv.writerow([step, f"{train_loss:.6f}", f"{val_loss:.6f}", f"{metrics['bpc']:.6f}"])
        self.csv_file.flush()
        text = self._sample(max(self.sample["length"] // 5, 1))
        _summaries(self.writer, step, {f"val/{k}": v for k, v in metrics.items()}, text)
        is_best = val_loss < float(self.state.best_val_loss.numpy())
        if is_best:
            self.state.best_val_loss.assign(val_loss)
            self.state.best_step.assign(step)
            self.best.save(checkpoint_number=step)
        self._append_sample(f"step {step}", text)
        if self.tty:
            click.echo()
        click.echo(
            f"validation at step {step}: loss {val_loss:.4f}  bpc {metrics['bpc']:.4f}"
            f"{'  (best)' if is_best else ''}\n  | " + text.replace("\n", "\n  | ")
        )
        self.clock = time.perf_counter()  # the next progress line leaves validation out

    def _sample(self, length: int) -> str:
        ids = self.sampler(self.prime, length, self.sample["temperature"], self.sample["seed"])
        return self.task.decode(ids)

    def _append_sample(self, title: str, text: str) -> None:
        with open(self.out_dir / "samples.txt", "a", encoding="utf-8") as f:
            f.write(f"=== {title} (temperature {self.sample['temperature']}) ===\n{text}\n\n")
