"""Truncated back-propagation through time, exactly: the forward pass of one window, the walk
over a truncation strategy's windows, and ``tbptt_gradients``.

A window ``(backprop_from, loss_from, end)`` starts from the state at ``backprop_from``, held
constant; its loss is the mean of L_t over ``[loss_from, end)``. The walk keeps, from each window's
forward pass, the state at the next window's ``backprop_from``, so that overlapping windows
(k2 > k1) cost no extra forward pass. A strategy whose windows jump elsewhere is served by a
forward pass, without gradients, from the nearest state it has.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import tensorflow as tf

from seqkit.errors import OptionError
from seqkit.interfaces import Loss, TruncationStrategy, Window


def _slice(x, start, stop):
    return None if x is None else x[:, start:stop]


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
        value = loss(targets[:, loss_from:], outputs[:, loss_from:], _slice(mask, loss_from, None))
    else:
        value = loss(targets, outputs, mask)
    return value, kept, final


@dataclass
class WindowJob:
    """One update's data: the window, its slices of the sequence, and its starting state."""

    index: int  # the window's position in the strategy's schedule
    window: Window
    keep_at: int  # offset in the window of the state that the next window starts from
    inputs: tf.Tensor
    targets: tf.Tensor
    mask: tf.Tensor | None
    state: tuple | None  # None: the model's initial state, made inside the update

    @property
    def loss_from(self) -> int:
        """The offset in the window of its first loss step."""
        return self.window.loss_from - self.window.backprop_from


class WindowWalk:
    """The updates of ``truncation`` over ``inputs`` ``[B, N, ...]``, one ``WindowJob`` each.

        walk = WindowWalk(model, truncation, inputs, targets)
        for job in walk:
            value, kept, final = window_loss(model, loss, job.state, job.inputs, ...)
            walk.record(kept, final)        # the states the next windows start from

    ``known`` maps step positions to states (position 0: the initial state); with ``start`` it
    resumes a walk (a trainer checkpoints both). With ``per_step=False`` (a last-step loss) only
    the window that ends the sequence is an update. A ``context`` (an encoder-decoder's source)
    needs one window over the whole sequence (``bptt``).
    """

    def __init__(
        self,
        model,
        truncation: TruncationStrategy,
        inputs,
        targets,
        mask=None,
        initial_state=None,
        per_step: bool = True,
        start: int = 0,
        known=None,
        context=None,
    ):
        self.model, self.truncation, self.per_step = model, truncation, per_step
        self.inputs, self.targets, self.mask = inputs, targets, mask
        self.length = int(inputs.shape[1])
        if context is not None and list(truncation.windows(self.length)) != [
            Window(0, 0, self.length)
        ]:
            raise OptionError(
                f"Trainer: {type(truncation).__name__} cuts a sequence into windows, but a batch "
                "with a context (an encoder-decoder's source) trains on whole sequences; use "
                "truncation='bptt'."
            )
        if initial_state is None:
            initial_state = model.initial_state(int(inputs.shape[0]))
        self.initial_state = initial_state
        self.known = dict(known) if known else {0: initial_state}
        self.next_index = start
        self._recorded = None

    def record(self, kept, final) -> None:
        """The states at the job's ``keep_at`` and at its end, from its forward pass."""
        self._recorded = (kept, final)

    def _state_at(self, position: int):
        if position not in self.known:  # a window that starts where no state was kept
            origin = max(p for p in self.known if p <= position)
            _, self.known[position] = self.model(
                self.inputs[:, origin:position],
                self.known[origin],
                _slice(self.mask, origin, position),
            )
        return self.known[position]

    def __iter__(self) -> Iterator[WindowJob]:
        windows = list(self.truncation.windows(self.length))
        for index in range(self.next_index, len(windows)):
            window = windows[index]
            nxt = windows[index + 1] if index + 1 < len(windows) else None
            self.next_index = index + 1
            if not self.per_step and window.end != self.length:
                continue
            start = window.backprop_from
            state = self._state_at(start)
            if start == 0 and getattr(self.model, "learns_initial_state", False):
                state = None  # made inside the update, so that its gradient is taken
            keep = window.end if nxt is None else min(max(nxt.backprop_from, start), window.end)
            self._recorded = None
            yield WindowJob(
                index,
                window,
                keep - start,
                self.inputs[:, start : window.end],
                self.targets[:, start : window.end] if self.per_step else self.targets,
                _slice(self.mask, start, window.end),
                state,
            )
            if self._recorded is None:
                raise RuntimeError("WindowWalk: call record(kept, final) after each job.")
            kept, final = self._recorded
            self.known = {0: self.initial_state, keep: kept, window.end: final}


def tbptt_gradients(model, loss: Loss, inputs, targets, truncation, initial_state=None, mask=None):
    """The gradients of every update of ``truncation`` for a fixed model.

    Returns a list of ``(window, gradients)``, the gradients aligned with
    ``model.trainable_variables``. Nothing is updated: this is the documented meaning of each
    strategy, and a tool for studying truncation bias.
    """
    variables = model.trainable_variables
    inputs, targets = tf.convert_to_tensor(inputs), tf.convert_to_tensor(targets)
    walk = WindowWalk(model, truncation, inputs, targets, mask, initial_state, loss.per_step)
    results = []
    for job in walk:
        with tf.GradientTape() as tape:
            value, kept, final = window_loss(
                model,
                loss,
                job.state,
                job.inputs,
                job.targets,
                job.mask,
                job.loss_from,
                job.keep_at,
            )
        results.append((job.window, tape.gradient(value, variables)))
        walk.record(*(tf.nest.map_structure(tf.stop_gradient, s) for s in (kept, final)))
    return results
