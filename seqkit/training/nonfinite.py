"""Non-finite updates: the carried states after a skipped one (``finite_states``), and where
one came from: the first of the window's inputs, the state it starts from, the model's
outputs, the loss and the gradient that holds a NaN or an infinity.

    where = locate_nonfinite(model, loss, job)     # "outputs", "loss", "gradient", ...

A ``NonFiniteError`` of a trainer carries the update's ``WindowJob``; this runs that window's
forward pass again, eagerly and without dropout, once, when the run stops.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from seqkit.training.window_walk import WindowJob


def finite_states(states):
    """Carried states with NaN and infinities set to 0: after a skipped update a NaN state
    would spoil every window that follows."""
    return tf.nest.map_structure(lambda s: tf.where(tf.math.is_finite(s), s, 0.0), states)


# In the order a value flows: the first one that is not finite is where it appeared.
PLACES = ("inputs", "state", "outputs", "loss", "gradient")


def _finite(values) -> bool:
    return all(
        bool(np.all(np.isfinite(np.asarray(v, np.float64))))
        for v in tf.nest.flatten(values)
        if v is not None and tf.as_dtype(getattr(v, "dtype", tf.float32)).is_floating
    )


def locate_nonfinite(model, loss, job: WindowJob) -> str:
    """The first of ``PLACES`` that holds a NaN or an infinity in ``job``'s update: the
    gradient (or its norm) where the inputs, the state, the outputs and the loss are finite."""
    if not _finite(job.inputs):
        return "inputs"
    extra = {} if job.context is None else {"context": job.context}
    state = job.state
    if state is None and job.context is None:
        state = model.initial_state(tf.shape(job.inputs)[0])
    if state is not None and not _finite(state):
        return "state"
    outputs, _ = model(job.inputs, state, job.mask, **extra)
    if not _finite(outputs):
        return "outputs"
    start = job.loss_from
    if loss.per_step:
        mask = None if job.mask is None else job.mask[:, start:]
        value = loss(job.targets[:, start:], outputs[:, start:], mask)
    else:
        value = loss(job.targets, outputs, job.mask)
    return "gradient" if _finite(value) else "loss"
