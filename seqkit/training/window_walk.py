"""Truncated back-propagation through time, exactly: the forward pass of one window, the walk
over a truncation strategy's windows, and ``tbptt_gradients``.

A window ``(backprop_from, loss_from, end)`` starts from the state at ``backprop_from``, held
constant; its loss is the mean of L_t over ``[loss_from, end)``. The walk keeps, from each
window's forward pass, the state at the next window's ``backprop_from``, so that overlapping
windows (k2 > k1) cost no extra forward pass. A strategy whose windows jump elsewhere is served
by a forward pass, without gradients, from the nearest state it has.

The carried state has one home: a ``TrainingProgress`` (``seqkit.training.progress``), which a
trainer
saves in its checkpoints. The walk reads the state a window starts from there and stores the
state the next window starts from there, so a walk made from a restored progress goes on where
the interrupted one stopped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from seqkit.data.token_streams import as_tensor
from seqkit.errors import OptionError
from seqkit.interfaces import Loss, TruncationStrategy, Window
from seqkit.interfaces.cell import state_sizes
from seqkit.training.progress import TrainingProgress


def _slice(x, start, stop):
    return None if x is None else x[:, start:stop]


def _steps(x, start: int, stop: int, length: int):
    """``x[:, start:stop]``; a tensor's whole length as it is (an eager slice costs ~0.1 ms,
    a training step of a short sequence takes its whole length each update)."""
    if isinstance(x, tf.Tensor) and start == 0 and stop == length:
        return x
    return _slice(x, start, stop)


def window_loss(
    model, loss: Loss, state, inputs, targets, mask, loss_from: int, keep_at: int, context=None
):
    """The forward pass of one window from ``state``.

    ``inputs``/``targets``/``mask`` hold the window's steps only; ``loss_from`` and ``keep_at``
    are offsets into it. ``state`` None is the model's initial state, made here so that a
    learned one gets a gradient (or, with a ``context``, by the model from it). ``context``,
    not sliced, goes to the model as ``context=``. Returns ``(loss, state at keep_at, final
    state)``.
    """
    length = inputs.shape[1]
    extra = {} if context is None else {"context": context}
    if state is None and context is None:  # a learned initial state gets its gradient here
        state = model.initial_state(tf.shape(inputs)[0])
    if 0 < keep_at < length:
        first, kept = model(
            inputs[:, :keep_at], state, _slice(mask, 0, keep_at), training=True, **extra
        )
        second, final = model(
            inputs[:, keep_at:], kept, _slice(mask, keep_at, None), training=True, **extra
        )
        outputs = tf.concat([first, second], axis=1)
    else:
        outputs, final = model(inputs, state, mask, training=True, **extra)
        kept = state if keep_at == 0 else final
    if loss.per_step:
        targets, outputs, mask = (
            targets[:, loss_from:],
            outputs[:, loss_from:],
            _slice(mask, loss_from, None),
        )
    return scalar_loss(loss, targets, outputs, mask), kept, final


class LossNotScalar(ValueError):
    """A loss returned something other than one number; a run names the loss's plugin
    (``broken_contract``: the kind of plugin whose contract this is)."""

    broken_contract = "loss"


def scalar_loss(loss: Loss, targets, outputs, mask=None) -> tf.Tensor:
    """``loss(targets, outputs, mask)``, which must be a scalar tensor (else ``LossNotScalar``,
    raised while a compiled step is traced, before TensorFlow fails on it in a trace)."""
    value = loss(targets, outputs, mask)
    if not isinstance(value, tf.Tensor | tf.Variable) or value.shape.rank != 0:
        shape = list(value.shape) if hasattr(value, "shape") else type(value).__name__
        raise LossNotScalar(
            f"{type(loss).__name__} returned {shape} for outputs of shape "
            f"{list(outputs.shape)}, not one number"
        )
    return value


@dataclass(frozen=True)
class WindowJob:
    """One update's data: the window, its slices of the sequence, and its starting state."""

    index: int  # the window's position in the strategy's schedule
    window: Window
    keep_at: int  # offset in the window of the state that the next window starts from
    inputs: tf.Tensor
    targets: tf.Tensor
    mask: tf.Tensor | None
    state: tuple | None  # None: the model's initial state, made inside the update
    context: Any = None  # an encoder-decoder's source, whole (not sliced)
    last: bool = False  # no window follows it in this batch

    @property
    def loss_from(self) -> int:
        """The offset in the window of its first loss step."""
        return self.window.loss_from - self.window.backprop_from

    def after(self, ends_pass: bool = False) -> tuple[int, int, int]:
        """Where the progress stands after this update: (the next window, the step of the
        batch whose state is kept, 0; or, after the batch's last window, 1, or 2 where the batch
        ``ends_pass``: ``TrainingProgress.record``)."""
        end = (2 if ends_pass else 1) if self.last else 0
        return self.index + 1, self.window.backprop_from + self.keep_at, end


# An update: given a job, ``(state at job.keep_at, result)``; the walk stores the state.
Update = Callable[[WindowJob], tuple[Any, Any]]


class WindowWalk:
    """The updates of ``truncation`` over one batch ``inputs`` ``[B, N, ...]``.

        walk = WindowWalk(model, truncation, inputs, targets, progress=progress)
        for job, result in walk.run(update):     # update(job) -> (kept_state, result)
            ...

    ``run`` calls ``update`` once per window, in order, from ``progress.window`` on; after each
    call it stores the returned state (the one the next window starts from) and the next
    window's index in ``progress``. An update that raises records nothing, so the progress
    stays at the last completed update. With ``per_step=False`` (a last-step loss) only the
    window that ends the sequence is an update. A ``context`` (an encoder-decoder's source)
    needs one window over the whole sequence (``bptt``).
    """

    def __init__(
        self,
        model,
        truncation: TruncationStrategy,
        inputs,
        targets,
        mask=None,
        per_step: bool = True,
        progress: TrainingProgress | None = None,
        initial_state=None,
        context=None,
    ):
        self.model, self.truncation, self.per_step = model, truncation, per_step
        self.inputs, self.targets, self.mask, self.context = inputs, targets, mask, context
        self.length = int(inputs.shape[1])
        whole = [Window(0, 0, self.length)]
        if context is not None and list(truncation.windows(self.length)) != whole:
            raise OptionError(
                f"Trainer: {type(truncation).__name__} cuts a sequence into windows, but a batch "
                "with a context (an encoder-decoder's source) trains on whole sequences; use "
                "truncation='bptt'."
            )
        self._initial_state = initial_state  # the state at step 0; None: the model's, made on use
        if progress is None:
            progress = TrainingProgress(state_sizes(model.cells), model.dtype)
        self.progress = progress

    @property
    def initial_state(self):
        """The state at step 0: the one given, else the model's (made once, when first read)."""
        if self._initial_state is None:
            self._initial_state = self.model.initial_state(int(self.inputs.shape[0]))
        return self._initial_state

    def _state_at(self, position: int):
        """The state at step ``position``: the carried one, or a forward pass without gradients
        from the nearest state before it (the carried one, else the initial state)."""
        carried_at = int(self.progress.carried_at.numpy())
        origin, state = 0, self.initial_state
        if 0 <= carried_at <= position:
            origin, state = carried_at, self.progress.carried_state(self.initial_state)
        if origin < position:
            _, state = self.model(
                as_tensor(self.inputs[:, origin:position]),
                state,
                _slice(self.mask, origin, position),
            )
        return state

    def _job(self, index: int, window: Window, following: Window | None) -> WindowJob:
        """The update of ``window``; ``following`` is the window after it (None: the last)."""
        start = window.backprop_from
        made_inside = self.model.learns_initial_state or self.context is not None
        # None: the state is made inside the update, so that its gradient is taken
        state = None if start == 0 and made_inside else self._state_at(start)
        keep = window.end
        if following is not None:  # the state the next window starts from, inside this one
            keep = min(max(following.backprop_from, start), window.end)
        return WindowJob(
            index,
            window,
            keep - start,
            _steps(self.inputs, start, window.end, self.length),
            _steps(self.targets, start, window.end, self.length) if self.per_step else self.targets,
            _steps(self.mask, start, window.end, self.length),
            state,
            self.context,
            last=following is None,
        )

    def run(self, update: Update, records: bool = False) -> Iterator[tuple[WindowJob, Any]]:
        """Each update's job and ``update``'s result, the carried state stored in between;
        ``records``: ``update`` stores it itself (``TrainingProgress.record``, and the batch's
        end after its last window), as the Trainer's compiled update does."""
        # one window ahead at a time: a stream of a large corpus has millions of windows
        first = int(self.progress.window.numpy())
        windows = itertools.islice(self.truncation.windows(self.length), first, None)
        following = next(windows, None)
        for index in itertools.count(first):
            window, following = following, next(windows, None)
            if window is None:
                return
            if not self.per_step and window.end != self.length:
                continue
            job = self._job(index, window, following)
            kept, result = update(job)
            if not records:
                self.progress.carry(window.backprop_from + job.keep_at, kept)
                self.progress.window.assign(index + 1)
            yield job, result


def tbptt_gradients(model, loss: Loss, inputs, targets, truncation, initial_state=None, mask=None):
    """The gradients of every update of ``truncation`` for a fixed model.

    Returns a list of ``(window, gradients)``, the gradients aligned with
    ``model.trainable_variables``. Nothing is updated: this is the documented meaning of each
    strategy, and a tool for studying truncation bias. ``initial_state`` replaces the model's.
    """
    variables = model.trainable_variables
    inputs, targets = tf.convert_to_tensor(inputs), tf.convert_to_tensor(targets)
    walk = WindowWalk(
        model, truncation, inputs, targets, mask, loss.per_step, initial_state=initial_state
    )

    def gradients(job: WindowJob):
        with tf.GradientTape() as tape:
            value, kept, _ = window_loss(
                model,
                loss,
                job.state,
                job.inputs,
                job.targets,
                job.mask,
                job.loss_from,
                job.keep_at,
            )
        return tf.nest.map_structure(tf.stop_gradient, kept), tape.gradient(value, variables)

    return [(job.window, grads) for job, grads in walk.run(gradients)]
