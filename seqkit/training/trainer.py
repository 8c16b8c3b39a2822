"""``Trainer``: truncated back-propagation through time over streams or batches of sequences.

    model = seqkit.SequenceModel("lstm", hidden_size=128, output_size=vocab, encoder="onehot",
                                 vocab_size=vocab)
    trainer = seqkit.Trainer(model, loss="cross-entropy",
                             truncation=seqkit.make_truncation("tbptt", k1=32, k2=64), lr=2e-3)
    trainer.fit(seqkit.SequenceBatch(inputs, targets), steps=500)   # B streams [B, N]

Each update is one window of the truncation strategy: forward from the carried state (a
constant), the mean loss over the window's loss steps, the gradients, clipping by global norm,
one optimizer step. Every stream's state is carried from window to window; for k2 > k1 the
walk keeps the state k2 steps back so that no step is run forward twice.

Data parallel (``distribute="mirrored"`` or ``"multi-worker"``, ``seqkit.training.distribute``):
the B streams are split evenly across the replicas, each replica runs its streams' window from
their carried states, and the replicas' gradients add up to the gradient of the global batch
mean, so that an update is the one a single device makes on the same B streams:

    trainer = seqkit.Trainer(lambda: seqkit.SequenceModel("lstm", ...), distribute="mirrored")
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable
from functools import partial

import keras
import tensorflow as tf

from seqkit.data.token_streams import Streams, as_tensor
from seqkit.errors import NonFiniteError, OptionError, ShapeError
from seqkit.interfaces import Loss, SequenceBatch, TruncationStrategy
from seqkit.interfaces.cell import state_sizes
from seqkit.interfaces.task import as_batch, as_batches
from seqkit.plugins.registry import Registry, default_registry
from seqkit.training import distribute as dist
from seqkit.training.callbacks import Callback  # noqa: F401 (re-exported)
from seqkit.training.compiled_call import CompiledCall
from seqkit.training.evaluation import evaluate
from seqkit.training.nonfinite import finite_states
from seqkit.training.optimizers import OPTIMIZERS, make_optimizer  # noqa: F401 (re-exported)
from seqkit.training.progress import TrainingProgress
from seqkit.training.trainer_setup import built_model, check_options
from seqkit.training.window_walk import WindowWalk, window_loss
from seqkit.validation import whole_number


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, so that weights, data order and dropout repeat."""
    keras.utils.set_random_seed(int(seed))


def _dense(grads, variables) -> list[tf.Tensor]:
    """Gradients as dense tensors (zeros for None). An embedding's gradient comes as
    IndexedSlices with a row for each occurrence of an id; on those, ``global_norm`` and Keras'
    Adam square each row before adding them up, not after: the norm, the clipping and Adam's
    second moment would be wrong for any id seen twice in a window."""
    return [
        tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
        for g, v in zip(grads, variables, strict=True)
    ]


class Trainer:
    """Trains a ``SequenceModel`` with a loss, a truncation strategy and an optimizer.

    ``model`` is a ``SequenceModel`` or a function without arguments that builds one (called
    in the strategy's scope, after ``seed``). ``distribute`` is ``"none"``, ``"mirrored"``,
    ``"multi-worker"`` or a ``tf.distribute.Strategy``; None takes the strategy whose scope is
    open, if any. Under a strategy the model's variables must come from its scope: give a
    function, or build the model inside ``with strategy.scope():``.

    ``nonfinite`` says what an update with a NaN or infinite loss or gradient norm does:
    ``"stop"`` raises a ``NonFiniteError`` that names the step, ``"skip"`` goes on without it
    (``logs["skipped"]``); such an update is never applied to the weights, on one device or
    under a strategy.
    """

    def __init__(
        self,
        model: tf.Module | Callable[[], tf.Module],
        loss: str | Loss = "cross-entropy",
        truncation: str | TruncationStrategy = "bptt",
        optimizer: str | keras.optimizers.Optimizer = "adam",
        lr=1e-3,
        clip_norm: float | None = None,
        seed: int | None = None,
        callbacks: Iterable[Callback] = (),
        jit_compile: bool | None = None,
        registry: Registry | None = None,
        distribute: str | tf.distribute.Strategy | None = None,
        nonfinite: str = "stop",
    ):
        registry = registry or default_registry()
        if seed is not None:
            set_seed(seed)
        self.strategy = dist.resolve_strategy(distribute)
        check_options(clip_norm, nonfinite)
        model = built_model(model, self._scope)
        if self.strategy is not None:
            dist.check_variables(self.strategy, model.variables, "model")
        self.model = model
        self.loss = loss if isinstance(loss, Loss) else registry.make("loss", loss)
        self.truncation = (
            truncation
            if isinstance(truncation, TruncationStrategy)
            else registry.make("truncation", truncation)
        )
        self.clip_norm = clip_norm
        self.nonfinite = nonfinite
        self.variables = list(model.trainable_variables)
        sizes = state_sizes(model.cells)
        with self._scope():  # the optimizer's and the progress' variables are mirrored too
            self.optimizer = make_optimizer(optimizer, lr)
            self.optimizer.build(self.variables)
            self.progress = TrainingProgress(sizes, model.dtype)
        self.callbacks = list(callbacks)
        if jit_compile is None:
            jit_compile = bool(model.runner.jit_compile)
        # Each trainer's functions are its own (partials): TensorFlow counts traces by the
        # function wrapped, so bound methods of several trainers would read as retracing.
        if self.strategy is None:
            update = tf.function(partial(self._update_step), jit_compile=jit_compile)
        else:  # XLA compiles each replica's forward and backward pass, not the collectives
            self._local = tf.function(partial(self._local_step), jit_compile=jit_compile)
            update = self._distributed_update
        # the progress is recorded in the same call, outside XLA (a carried state's variable
        # changes its batch size, which XLA cannot compile)
        self._update = CompiledCall(tf.function(partial(self._update_and_record, update)))
        self._zero_states = {}  # batch size -> the model's zero initial state (made once)
        self.stop_training = False
        self._batch_done = False  # the batch being trained has had its last window
        self._ends_pass = False  # fit's data is one batch a pass

    def _scope(self):
        """The distribution strategy's scope (none without one)."""
        return self.strategy.scope() if self.strategy else contextlib.nullcontext()

    @property
    def step(self) -> int:
        """Updates done, over every call of fit (and before a resume)."""
        return int(self.progress.step.numpy())

    @property
    def epoch(self) -> int:
        """Passes over the data finished."""
        return int(self.progress.epoch.numpy())

    def checkpoint(self, **extra) -> tf.train.Checkpoint:
        """A ``tf.train.Checkpoint`` of everything a resumed run needs: the model (with its
        dropout generator), the optimizer and the progress (position in the data, carried
        state)."""
        return tf.train.Checkpoint(
            model=self.model, optimizer=self.optimizer, progress=self.progress, **extra
        )

    # -- one update --------------------------------------------------------------------------

    def _update_step(self, state, inputs, targets, mask, context, loss_from: int, keep_at: int):
        with tf.GradientTape() as tape:
            value, kept, _ = window_loss(
                self.model, self.loss, state, inputs, targets, mask, loss_from, keep_at, context
            )
        grads = _dense(tape.gradient(value, self.variables), self.variables)
        norm = tf.linalg.global_norm(grads)
        if self.clip_norm is not None:
            grads, _ = tf.clip_by_global_norm(grads, self.clip_norm, use_norm=norm)
        finite = tf.math.is_finite(value) & tf.math.is_finite(norm)

        def apply():
            self._apply_gradients(grads)
            return tf.constant(True)

        tf.cond(finite, apply, lambda: tf.constant(False))  # a non-finite update is not applied
        kept = tf.nest.map_structure(tf.stop_gradient, kept)
        return value, norm, finite_states(kept) if self.nonfinite == "skip" else kept

    def _update_and_record(
        self, update, state, inputs, targets, mask, context, loss_from, keep_at, after
    ):
        """``update``, and its record in the progress (``TrainingProgress.record``; ``after``
        is ``WindowJob.after``): ``(loss, norm, kept state, [step, epoch])``. With
        ``nonfinite="stop"`` a NaN or infinite update records nothing (fit raises)."""
        value, norm, kept = update(state, inputs, targets, mask, context, loss_from, keep_at)
        finite = tf.math.is_finite(value) & tf.math.is_finite(norm)
        when = finite if self.nonfinite == "stop" else True
        return value, norm, kept, self.progress.record(kept, after, when=when)

    def _apply_gradients(self, grads):
        self.optimizer.apply_gradients(zip(grads, self.variables, strict=True))

    # -- one update, data parallel ------------------------------------------------------------

    def _local_step(self, state, inputs, targets, mask, context, loss_from: int, keep_at: int):
        """One replica's streams: the sum of their counted L_t, its gradients, the states."""
        with tf.GradientTape() as tape:
            value, kept, _ = window_loss(
                self.model, self.loss, state, inputs, targets, mask, loss_from, keep_at, context
            )
            count = dist.counted_steps(self.loss.per_step, targets, mask, loss_from, value.dtype)
            total = value * count  # the loss is the mean over the counted steps
        grads = _dense(tape.gradient(total, self.variables), self.variables)
        return total, count, grads, tf.nest.map_structure(tf.stop_gradient, kept)

    def _replica_update(self, state, inputs, targets, mask, batch_context, loss_from, keep_at):
        """In each replica: the global mean's gradient, clipped, applied; the global states."""
        total, count, grads, kept = self._local(
            state, inputs, targets, mask, batch_context, loss_from, keep_at
        )
        context = tf.distribute.get_replica_context()
        sum_ = tf.distribute.ReduceOp.SUM
        total_all, count_all = context.all_reduce(sum_, [total, count])
        scale = 1.0 / tf.maximum(count_all, 1.0)  # 1/N over the counted steps of all replicas
        grads = [g * scale for g in grads]  # this replica's share of the global gradient
        norm = tf.linalg.global_norm(context.all_reduce(sum_, grads))
        if self.clip_norm is not None:  # as tf.clip_by_global_norm, on the global gradient
            factor = self.clip_norm / tf.maximum(norm, self.clip_norm)
            grads = [g * factor for g in grads]
        finite = tf.math.is_finite(total_all) & tf.math.is_finite(norm)  # alike in all
        context.merge_call(self._apply_if_finite, args=(finite, grads))  # sums the shares
        kept = context.all_gather(kept, axis=0)  # every stream, in order
        return total_all * scale, norm, finite_states(kept) if self.nonfinite == "skip" else kept

    def _apply_if_finite(self, strategy, finite, grads):
        """Every replica's update where the global loss and norm are finite, else none; a cond
        in a replica cannot hold the optimizer's merge_call (Keras' LossScaleOptimizer too)."""
        finite = strategy.experimental_local_results(finite)[0]  # the same on every replica

        def apply():
            strategy.extended.call_for_each_replica(self._apply_gradients, args=(grads,))
            return tf.constant(True)

        tf.cond(finite, apply, lambda: tf.constant(False))

    def _distributed_update(self, state, inputs, targets, mask, context, loss_from, keep_at):
        value, norm, kept = self.strategy.run(
            self._replica_update, args=(state, inputs, targets, mask, context, loss_from, keep_at)
        )
        first = self.strategy.experimental_local_results
        one = lambda x: first(x)[0]  # noqa: E731  every replica holds the same value
        return one(value), one(norm), tf.nest.map_structure(one, kept)

    # -- the loop ----------------------------------------------------------------------------

    def fit(self, data, steps: int | None = None, epochs: int | None = None) -> list[dict]:
        """Train on ``data`` for ``steps`` updates or ``epochs`` passes (one epoch if neither).

        ``data`` is a ``SequenceBatch`` of B parallel streams ``[B, N]`` (repeated each epoch,
        each epoch from the zero state), an ``(inputs, targets[, mask])`` tuple, or a
        re-iterable collection of batches of independent sequences.

        Training goes on from where the trainer stands in the data (``progress``): calling
        ``fit(data, steps=100)`` twice is the same as calling ``fit(data, steps=200)`` once,
        and a trainer restored from a checkpoint continues the interrupted pass. Pass the same
        data each time. Returns the logs of every update.
        """
        if steps is not None:
            steps = whole_number("Trainer.fit: steps", steps, minimum=1)
        if steps is None and epochs is None:
            epochs = 1
        single = isinstance(data, SequenceBatch | tuple)
        history: list[dict] = []
        self.stop_training = False
        for callback in self.callbacks:
            callback.on_train_begin(self)
        epochs_done = 0
        # one batch a pass: the update of its last window goes on to the next pass itself
        self._ends_pass = single
        while not self.stop_training and (epochs is None or epochs_done < epochs):
            seen = pass_recorded = False
            for index, batch in enumerate([data] if single else data):
                seen = True
                if index < int(self.progress.batch.numpy()):
                    continue  # finished earlier in this pass
                for logs in self._train_batch(as_batch(batch, "Trainer.fit")):
                    history.append(logs)
                    if self.stop_training or (steps is not None and len(history) >= steps):
                        self.stop_training = True
                        break
                else:  # every window trained: the last update went on to the next batch,
                    if not self._batch_done:  # or none was left (trained before a resume)
                        self.progress.next_batch()
                pass_recorded = single and self._batch_done
                if self.stop_training:
                    break
            if not seen:
                raise OptionError("Trainer.fit: the data holds no batches.")
            if not self.stop_training:
                if not pass_recorded:
                    self.progress.next_epoch()
                epochs_done += 1
        for callback in self.callbacks:
            callback.on_train_end(self)
        return history

    def _train_batch(self, batch: SequenceBatch):
        # streams of a token file stay lazy: each window is read when its update needs it
        lazy = isinstance(batch.inputs, Streams) and isinstance(batch.targets, Streams)
        inputs = batch.inputs if lazy else tf.convert_to_tensor(batch.inputs)
        targets = batch.targets if lazy else tf.convert_to_tensor(batch.targets)
        mask = None if batch.mask is None else tf.convert_to_tensor(batch.mask, tf.bool)
        context = None  # an encoder-decoder's source: never cut into windows
        if batch.context is not None:
            context = tf.nest.map_structure(tf.convert_to_tensor, batch.context)
        if len(inputs.shape or ()) < 2:
            raise ShapeError(f"Trainer: inputs must be [batch, time, ...], got {inputs.shape}.")
        if self.strategy is not None:
            dist.check_batch(self.strategy, int(inputs.shape[0]))
        walk = WindowWalk(
            self.model,
            self.truncation,
            inputs,
            targets,
            mask,
            per_step=self.loss.per_step,
            progress=self.progress,  # the carried state's one home, saved in checkpoints
            initial_state=self._zero_state(int(inputs.shape[0])),
            context=context,
        )
        self._batch_done = False
        for job, (value, norm, seconds, step, epoch) in walk.run(self._apply, records=True):
            self._batch_done = job.last  # the update went on to the next batch (or pass)
            window = job.window
            logs = {
                "step": step,
                "epoch": epoch,
                "loss": value,
                "grad_norm": norm,
                "tokens": int(inputs.shape[0]) * (window.end - window.loss_from),
                "seconds": seconds,
                "window": window,
            }
            if not (math.isfinite(value) and math.isfinite(norm)):
                logs["nonfinite"] = logs["skipped"] = True
            for callback in self.callbacks:
                callback.on_update_end(self, logs)
            yield logs

    def _zero_state(self, batch_size: int):
        """The model's initial state for ``batch_size`` streams where it is zeros, made once a
        size (~0.1 ms of eager ops a batch); None where the model learns it (made in each
        update, which takes its gradient)."""
        if self.model.learns_initial_state:
            return None
        if batch_size not in self._zero_states:
            self._zero_states[batch_size] = self.model.initial_state(batch_size)
        return self._zero_states[batch_size]

    def _apply(self, job):
        """One compiled update of ``job``: ``(state for the next window, (loss, norm, seconds))``;
        a NaN or infinite one raises with ``nonfinite="stop"`` (nothing is recorded then)."""
        started = time.perf_counter()
        args = (job.state, job.inputs, job.targets, job.mask, job.context)
        if self.strategy is not None:  # each replica takes (and reads) its own streams
            args = dist.split_streams(self.strategy, args)
        else:
            args = (*args[:1], *map(as_tensor, args[1:3]), *args[3:])
        after = tf.constant(job.after(self._ends_pass), tf.int64)
        value, norm, kept, counts = self._update(*args, job.loss_from, job.keep_at, after)
        value, norm, (step, epoch) = float(value), float(norm), counts.numpy().tolist()
        if not (math.isfinite(value) and math.isfinite(norm)) and self.nonfinite == "stop":
            raise NonFiniteError(
                f"Trainer: the loss ({value}) or the gradient norm ({norm}) is not finite at "
                f"step {self.step + 1}, and that update was not applied; lower the learning rate "
                "or clip the gradients (clip_norm), or pass nonfinite='skip' to skip such updates.",
                step=self.step + 1,
                loss=value,
                grad_norm=norm,
                # seqkit.training.nonfinite.locate_nonfinite tells where the value appeared
                job=job,
            )
        return kept, (value, norm, time.perf_counter() - started, step, epoch)

    # -- evaluation --------------------------------------------------------------------------

    def evaluate(self, data, chunk: int = 256) -> float:
        """The mean loss over ``data`` (as ``fit`` takes it), forward only, state carried; NaN
        for no data (there is no mean), as a run's validation scores it.

        Long streams are run ``chunk`` steps at a time; the mean weighs every counted step
        equally (``seqkit.training.evaluation.evaluate``, which also gives a task's metrics).
        """
        batches = as_batches(data, "Trainer.evaluate")
        result = evaluate(self.model, self.loss, batches, chunk=chunk)
        return result.get("loss", float("nan"))  # no batches: no loss (as the Scorer says)
