"""Data-parallel training with ``tf.distribute``: a strategy from a name, logical CPU devices,
the chief, and how the B streams are split across replicas.

    from seqkit.training.distribute import make_strategy
    strategy = make_strategy("mirrored", cpu_devices=2)   # before TensorFlow runs an op
    trainer = seqkit.Trainer(lambda: seqkit.SequenceModel("lstm", ...), distribute=strategy)

``"mirrored"`` is ``tf.distribute.MirroredStrategy`` over the local devices (every GPU, else the
CPU, or the ``cpu_devices`` logical CPUs); ``"multi-worker"`` is
``tf.distribute.MultiWorkerMirroredStrategy`` across the hosts that ``TF_CONFIG`` names. The
variables (model, optimizer, progress) must be made inside the strategy's scope: give the
``Trainer`` a function that builds the model, or build it inside ``with strategy.scope():``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import tensorflow as tf

from seqkit.data.token_streams import as_tensor
from seqkit.errors import OptionError, ShapeError
from seqkit.option_words import STRATEGIES
from seqkit.validation import one_of, whole_number


def split_cpu(count: int) -> list[str]:
    """Split the CPU into ``count`` logical devices and return their names.

    TensorFlow takes this setting only before its runtime starts (before the first op): call it
    first thing in the program. Calling it again with the same count is harmless.
    """
    count = whole_number("cpu_devices", count, minimum=1)
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError:  # the runtime has started: fine only if it already has that split
        configured = tf.config.get_logical_device_configuration(cpu) or [None]
        if len(configured) != count:
            raise OptionError(
                f"cpu_devices={count}: TensorFlow has already started with "
                f"{len(configured)} CPU device(s); split the CPU before any TensorFlow op runs "
                "(make the strategy first thing in the program)."
            ) from None
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def make_strategy(name: str = "none", cpu_devices: int = 0) -> tf.distribute.Strategy | None:
    """The strategy ``name`` stands for (None for ``"none"``).

    ``cpu_devices`` > 0 splits the CPU into that many logical devices and mirrors over them
    (for ``"mirrored"``: a way to try data parallelism on one machine without GPUs).
    """
    one_of("distribute", name, STRATEGIES)
    devices = split_cpu(cpu_devices) if cpu_devices else None
    if name == "none":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    if "TF_CONFIG" not in os.environ:
        raise OptionError(
            "distribute='multi-worker' reads the cluster from the TF_CONFIG environment "
            "variable, which is not set; set it on every worker (see docs/distributed.md)."
        )
    try:
        json.loads(os.environ["TF_CONFIG"])
    except json.JSONDecodeError as exc:
        message = f"TF_CONFIG is not valid JSON ({exc}); see docs/distributed.md."
        raise OptionError(message) from None
    return tf.distribute.MultiWorkerMirroredStrategy()


def resolve_strategy(distribute) -> tf.distribute.Strategy | None:
    """A ``Trainer``'s ``distribute`` argument as a strategy: a name, a strategy, or None for
    the strategy whose scope is open (none where no scope is)."""
    if distribute is None:
        return tf.distribute.get_strategy() if tf.distribute.has_strategy() else None
    if isinstance(distribute, tf.distribute.Strategy):
        return distribute
    return make_strategy(distribute)


def is_chief(strategy: tf.distribute.Strategy | None) -> bool:
    """Whether this process writes the run: always, except on a non-chief multi-worker task
    (the chief is the task of type "chief", else worker 0)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def task_name(strategy: tf.distribute.Strategy | None) -> str:
    """``"worker-1"``, ``"chief-0"``; ``"local"`` where there is no cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return "local"
    return f"{resolver.task_type}-{resolver.task_id}"


def write_dir(out_dir: str | Path, strategy: tf.distribute.Strategy | None) -> Path:
    """Where this process writes: ``out_dir`` on the chief; on any other worker a temporary
    directory of its own, to delete when done (every worker saves each checkpoint, as
    ``MultiWorkerMirroredStrategy`` asks, but only the chief's copy is kept)."""
    if is_chief(strategy):
        return Path(out_dir)
    return Path(tempfile.mkdtemp(prefix=f"seqkit-{task_name(strategy)}-"))


def check_variables(strategy: tf.distribute.Strategy, variables, what: str) -> None:
    """Every variable was made in ``strategy``'s scope, or a clear error."""
    outside = [v.name for v in variables if not strategy.extended.variable_created_in_scope(v)]
    if outside:
        raise OptionError(
            f"Trainer: the {what}'s variables (like {outside[0]!r}) were made outside the "
            "distribution strategy's scope; pass a function that builds the model, "
            "Trainer(lambda: SequenceModel(...), distribute=...), or build it inside "
            "`with strategy.scope():`."
        )


def check_batch(strategy: tf.distribute.Strategy, batch_size: int) -> int:
    """The streams each replica takes: ``batch_size`` split evenly, or a clear error."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ShapeError(
            f"Trainer: {batch_size} streams cannot be split evenly over {replicas} replicas; "
            f"make the batch size (train.batch_size) a multiple of {replicas}."
        )
    return batch_size // replicas


def split_streams(strategy: tf.distribute.Strategy, values):
    """A nest of ``[B, ...]`` tensors as per-replica values: replica r takes streams
    ``[r * B/R, (r + 1) * B/R)`` (None leaves stay None). A leaf of lazy ``Streams`` is read
    by each replica for its own rows only, so that a worker reads only its streams."""
    flat = tf.nest.flatten(values)
    present = [x for x in flat if x is not None]
    local = check_batch(strategy, int(present[0].shape[0]))

    def value_fn(context):
        start = context.replica_id_in_sync_group * local
        return [as_tensor(x[start : start + local]) for x in present]

    parts = iter(strategy.experimental_distribute_values_from_function(value_fn))
    return tf.nest.pack_sequence_as(values, [None if x is None else next(parts) for x in flat])


def counted_steps(per_step: bool, targets, mask, loss_from: int, dtype) -> tf.Tensor:
    """How many L_t a loss averages over in one window (a loss is the mean over its counted
    steps): the weight that makes the replicas' losses add up to the global batch mean."""
    if per_step:
        if mask is None:
            shape = tf.shape(targets)
            return tf.cast(shape[0] * (shape[1] - loss_from), dtype)
        return tf.reduce_sum(tf.cast(mask[:, loss_from:], dtype))
    if mask is None:
        return tf.cast(tf.shape(targets)[0], dtype)
    return tf.reduce_sum(tf.cast(tf.reduce_any(tf.cast(mask, tf.bool), axis=1), dtype))
