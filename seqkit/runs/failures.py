"""How a run that fails while it trains is reported, in one line that says what is kept and how
to go on: a plugin's error (``seqkit.runs.blame``), running out of memory (the sizes that set
it), a NaN or an infinity (where it appeared: the model's output, the loss or the gradient).

    with training_failures(prepared):
        trainer.fit(...)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import tensorflow as tf

from seqkit.errors import NonFiniteError, SeqkitError
from seqkit.runs.blame import Suspect, plugin_contract
from seqkit.runs.checkpoints import saved_checkpoints, step_of
from seqkit.training.nonfinite import locate_nonfinite


class OutOfMemory(SeqkitError, MemoryError):
    """Training ran out of memory after its set-up (a TensorFlow ResourceExhaustedError)."""


def kept_text(p) -> str:
    """What a failed run keeps and how to go on: ' The last checkpoint (step 20) is kept; ...'."""
    if p.owns_new_folder and p.trainer.step == 0:  # its folder is removed: nothing to resume
        return " Nothing was kept (the run had not trained); fix that and run it again."
    resume = f"seqkit run --resume {p.source.path}"
    latest = saved_checkpoints(p.source.path / "checkpoints" / "last")
    if not latest:
        return f" No checkpoint was written yet; once that is fixed, `{resume}` starts it again."
    return f" The last checkpoint (step {step_of(latest[0])}) is kept; once that is fixed: {resume}"


def memory_text(p, exc: BaseException) -> str:
    """The sizes that set a run's memory, and what to lower."""
    train, model = p.config["train"], p.config["model"]
    length = max(int(b.inputs.shape[1]) for b in p.data)
    window = f"sequences of {length:,} steps"
    if train["truncation"] == "tbptt" or (length > train["k1"] and len(p.data) == 1):
        k2 = train["k2"] or train["k1"]
        window = f"windows of {k2} steps (train.k1 = {train['k1']}, train.k2 = {k2})"
    dims = p.info["model_dims"]
    vocabulary = dims.get("vocab_size", dims.get("output_size"))
    return (
        f"Training ran out of memory after step {p.trainer.step} ({type(exc).__name__}) with "
        f"train.batch_size = {train['batch_size']}, {window}, model.hidden_size = "
        f"{model['hidden_size']}, model.num_layers = {model['num_layers']} and a vocabulary of "
        f"{vocabulary}: lower train.batch_size, train.k1/k2, model.hidden_size or "
        "model.num_layers in a new run (a resume keeps them), or free memory."
    )


@contextlib.contextmanager
def training_failures(p) -> Iterator[None]:
    """A plugin's error or out of memory while ``p`` (a ``Prepared`` run) trains: one line."""
    suspects: list[Suspect] = p.suspects
    steps = p.config["train"]["steps"]
    doing = lambda: f"while training ({p.trainer.step} of {steps} steps done)"  # noqa: E731
    try:
        with plugin_contract(suspects, doing, after=lambda: kept_text(p)):
            yield
    except (tf.errors.ResourceExhaustedError, MemoryError) as exc:
        if isinstance(exc, SeqkitError):
            raise
        raise OutOfMemory(memory_text(p, exc) + kept_text(p)) from exc
    except NonFiniteError as exc:
        raise nonfinite_error(exc, p) from None


def _cause(where: str, p, step: int) -> tuple[str, str]:
    """Where a non-finite value appeared, in words, and what to do about it."""
    suspects: list[Suspect] = p.suspects
    train = p.config["train"]
    rate = f"the learning rate (train.lr = {train['lr']}) is likely too high"
    if not train["clip_norm"]:
        rate += " and the gradients are not clipped (train.clip_norm = 0)"
    lower = "Lower train.lr or set train.clip_norm"
    plugins = {s.kind: s for s in suspects if s.third_party}
    if where == "inputs":
        return "the task's inputs hold a NaN or an infinity", "Fix the data"
    if where in ("outputs", "state") and step == 1:  # no update applied yet: the model's own
        maker = plugins.get("cell") or plugins.get("runner")
        if maker is not None:
            return (
                f"the model's output is not finite before any update: it comes from the "
                f"{maker.describe()}",
                "Report this to the plugin's authors",
            )
        return "the model's output is not finite before any update", "Check the model's options"
    if where == "loss" and "loss" in plugins:
        return (
            f"the {plugins['loss'].describe()} returned it on finite outputs",
            "Report this to the plugin's authors",
        )
    place = {"outputs": "the model's output", "state": "the carried state", "loss": "the loss"}
    return f"{place.get(where, 'the gradient')} is not finite: {rate}", lower


def nonfinite_error(exc: NonFiniteError, p) -> NonFiniteError:
    """The NaN message of a run: the step, where the value appeared, and what to do."""
    where = "gradient"
    if exc.job is not None:
        with contextlib.suppress(Exception):  # a second failure must not hide the first
            where = locate_nonfinite(p.model, p.trainer.loss, exc.job)
    cause, fix = _cause(where, p, exc.step)
    latest = saved_checkpoints(p.source.path / "checkpoints" / "last")
    then = f"then `seqkit run --resume {p.source.path}` (no checkpoint was written yet)"
    if latest:
        then = f"then `seqkit run --resume {p.source.path}` (the last good checkpoint, step "
        then += f"{step_of(latest[0])}, is kept)"
    elif p.owns_new_folder and p.trainer.step == 0:  # its folder is removed: nothing to resume
        then = "then run it again (nothing was kept: the run had not trained)"
    return NonFiniteError(
        f"Training stopped at step {exc.step}: the loss ({exc.loss}) or the gradient norm "
        f"({exc.grad_norm}) is not finite; {cause}.\n"
        f"{fix}, {then}; or --set train.nonfinite=skip to skip such updates.",
        step=exc.step,
        loss=exc.loss,
        grad_norm=exc.grad_norm,
    )
