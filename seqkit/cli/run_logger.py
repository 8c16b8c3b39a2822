"""What ``seqkit run`` reports while it trains: progress, validation, ``metrics.csv``,
TensorBoard events, checkpoints, samples and the loss plot.

The columns of ``metrics.csv`` are ``step,train_loss,val_loss`` and then ``val_<name>`` for each
of the task's metrics (char-lm: ``val_bpc``; classify: ``val_accuracy``). The baselines of the
task (``task.json``) are printed beside each validation.
"""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

import click
import tensorflow as tf

from seqkit.errors import DataError
from seqkit.evaluation import evaluate
from seqkit.sampling import Sampler
from seqkit.trainer import Callback


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


def samples_text(task) -> bool:
    """Whether the task's model generates text: it predicts the next character."""
    return task.target_form == "shifted" and isinstance(getattr(task, "vocabulary", None), str)


def write_loss_plot(out_dir: Path, baselines: dict | None = None) -> None:
    """``loss.png`` from ``metrics.csv``: the training and validation loss by step, and the
    task's baseline loss where it has one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(out_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    steps = [int(r["step"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in ("train_loss", "val_loss"):
        ax.plot(steps, [float(r[key]) for r in rows], marker="o", label=key)
    baseline = (baselines or {}).get("loss", (baselines or {}).get("mse"))
    if baseline is not None:
        ax.axhline(baseline, color="grey", linestyle="--", label=f"baseline {baseline:.3f}")
    ax.set(xlabel="step", ylabel="loss", title=out_dir.name)
    ax.legend()
    temporary = out_dir / ".loss.png.tmp"
    fig.savefig(temporary, dpi=100, bbox_inches="tight", format="png")
    plt.close(fig)
    temporary.replace(out_dir / "loss.png")  # whole or not at all


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


def _format(metrics: dict, baselines: dict) -> str:
    parts = []
    for name, value in metrics.items():
        base = baselines.get(name)
        parts.append(
            f"{name} {value:.4f}" + (f" (baseline {base:.4f})" if base is not None else "")
        )
    return "  ".join(parts)


class RunLogger(Callback):
    """Progress, validation, metrics, TensorBoard, checkpoints and samples, as training goes."""

    def __init__(self, config, out_dir, task, model, eval_data, loss, interrupts=None):
        self.train, self.sample = config["train"], config["sample"]
        self.interrupts = interrupts  # a seqkit.cli.signals.Interrupts: stop, save, exit
        self.out_dir, self.task, self.eval_data = Path(out_dir), task, eval_data
        self.loss = loss
        # metrics derived from the loss (bpc, mse) hold for the task's own loss only
        self.derived = config["train"].get("loss", "auto") in ("auto", task.default_loss)
        self.model = model
        self.baselines = task.baselines()
        self.state = RunMetrics()
        self.text = samples_text(task)
        if self.text:
            self.sampler = Sampler(model)
            self.prime = prime_ids(task.vocabulary, self.sample["prime"])
        self.tty = click.get_text_stream("stdout").isatty()
        self.final_sample = ""
        self.last = self.best = None

    def attach(self, last: tf.train.CheckpointManager, best: tf.train.CheckpointManager):
        """The managers that save the last checkpoints and the best one."""
        self.last, self.best = last, best

    def on_train_begin(self, trainer) -> None:
        path = self.out_dir / "metrics.csv"
        self.header_written = path.exists() and path.stat().st_size > 0
        self.csv_file = open(path, "a", newline="")  # noqa: SIM115
        self.csv = csv.writer(self.csv_file)
        self.writer = tf.summary.create_file_writer(str(self.out_dir / "tensorboard"))
        self.window_losses, self.tokens = [], 0
        self.clock, self.validated = time.perf_counter(), -1

    def on_update_end(self, trainer, logs) -> None:
        step = logs["step"]
        if logs.get("skipped"):
            click.echo(
                f"step {step}: the loss or gradient is not finite ({logs['loss']}); "
                "update skipped (train.nonfinite = 'skip')."
            )
        else:
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
        if self.interrupts is not None and self.interrupts.received:
            trainer.stop_training = True  # on_train_end saves the checkpoint

    def close(self) -> None:
        """Close the log files (after a NaN stopped training, without a checkpoint)."""
        self.writer.close()
        self.csv_file.close()

    def interrupted(self, trainer) -> bool:
        """Whether a signal stopped training before its last step."""
        received = self.interrupts is not None and self.interrupts.received
        return bool(received) and trainer.step < self.train["steps"]

    def on_train_end(self, trainer) -> None:
        if self.interrupted(trainer):
            # no validation and no sample: a row at this step would not be in an
            # uninterrupted run; the checkpoint holds the losses summed since the last row
            if self.last.latest_checkpoint != self._prefix(trainer.step):
                self.last.save(checkpoint_number=trainer.step)
            self.close()
            return
        if self.validated != trainer.step:
            self._validate(trainer, trainer.step)
        self.last.save(checkpoint_number=trainer.step)
        if self.text:
            text = self._sample(self.sample["length"])
            self._append_sample(f"final sample, step {trainer.step}", text)
            self.final_sample = self.task.decode(self.prime) + text
        self.close()

    def _prefix(self, step: int) -> str:
        return f"{self.last.directory}/ckpt-{step}"

    def _progress(self, step: int) -> None:
        if not self.window_losses:
            return
        now = time.perf_counter()
        loss = sum(self.window_losses) / len(self.window_losses)
        seconds = max(now - self.clock, 1e-9)
        eta = (self.train["steps"] - step) * seconds / len(self.window_losses)
        done = step / self.train["steps"]
        bar = "#" * int(20 * done) + "-" * (20 - int(20 * done))
        scalars = {"train/loss": loss, **self._loss_metrics(loss, "train/")}
        shown = "  ".join(f"{k.split('/')[1]} {v:.3f}" for k, v in scalars.items())
        line = (
            f"[{bar}] step {step}/{self.train['steps']}  {shown}  "
            f"{self.tokens / seconds:,.0f} tok/s  ETA {int(eta) // 60}m{int(eta) % 60:02d}s"
        )
        click.echo(f"\r{line}   " if self.tty else line, nl=not self.tty)
        _summaries(self.writer, step, scalars)
        self.window_losses, self.tokens, self.clock = [], 0, time.perf_counter()

    def _loss_metrics(self, loss: float, prefix: str) -> dict[str, float]:
        """Metrics derived from the loss (bits per character), without a repeat of the loss."""
        derived = self.task.metrics(loss) if self.derived else {}
        return {prefix + k: v for k, v in derived.items() if k != "loss" and v != loss}

    def _validate(self, trainer, step: int) -> None:
        result = evaluate(self.model, self.loss, self.eval_data, counts=self.task.counts)
        val_loss = result.pop("loss")
        metrics = {**(self.task.metrics(val_loss) if self.derived else {}), **result}
        metrics = {k: v for k, v in metrics.items() if k != "loss"}
        count = int(self.state.loss_count.numpy())
        train_loss = float(self.state.loss_sum.numpy()) / count if count else math.nan
        self.state.loss_sum.assign(0.0)
        self.state.loss_count.assign(0)
        self.validated = step
        if not self.header_written:
            self.csv.writerow(["step", "train_loss", "val_loss", *(f"val_{k}" for k in metrics)])
            self.header_written = True
        self.csv.writerow(
            [step, f"{train_loss:.6f}", f"{val_loss:.6f}", *(f"{v:.6f}" for v in metrics.values())]
        )
        self.csv_file.flush()
        text = self._sample(max(self.sample["length"] // 5, 1)) if self.text else None
        scalars = {"val/loss": val_loss, **{f"val/{k}": v for k, v in metrics.items()}}
        _summaries(self.writer, step, scalars, text)
        is_best = val_loss < float(self.state.best_val_loss.numpy())
        if is_best:
            self.state.best_val_loss.assign(val_loss)
            self.best.save(checkpoint_number=step)
        if self.tty:
            click.echo()
        shown = _format({"loss": val_loss, **metrics}, self.baselines)
        click.echo(f"validation at step {step}: {shown}{'  (best)' if is_best else ''}")
        if text is not None:
            self._append_sample(f"step {step}", text)
            click.echo("  | " + text.replace("\n", "\n  | "))
        self.clock = time.perf_counter()  # the next progress line leaves validation out

    def _sample(self, length: int) -> str:
        ids = self.sampler(self.prime, length, self.sample["temperature"], self.sample["seed"])
        return self.task.decode(ids)

    def _append_sample(self, title: str, text: str) -> None:
        entry = f"=== {title} (temperature {self.sample['temperature']}) ===\n{text}\n\n"
        with open(self.out_dir / "samples.txt", "ab") as f:
            f.write(entry.encode("utf-8"))  # one write; a torn one is trimmed on resume
