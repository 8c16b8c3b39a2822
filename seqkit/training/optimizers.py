"""The optimizers a Trainer (and ``train.optimizer``) takes by name.

make_optimizer("adam", 1e-3)      # FusedAdam(learning_rate=1e-3): Keras' Adam, one op a variable
"""

from __future__ import annotations

import keras

from seqkit.errors import UnknownNameError
from seqkit.training.fused_adam import FusedAdam
from seqkit.validation import real_number

OPTIMIZERS = {
    "adam": FusedAdam,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "adagrad": keras.optimizers.Adagrad,
}


def make_optimizer(name: str, lr) -> keras.optimizers.Optimizer:
    """A Keras optimizer by name (adam, sgd, rmsprop, adagrad); ``lr`` a float or a schedule."""
    if isinstance(name, keras.optimizers.Optimizer):
        return name
    if name not in OPTIMIZERS:
        raise UnknownNameError("optimizer", str(name), OPTIMIZERS)
    if not isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
        real_number("Trainer: the learning rate", lr, above=0)
    return OPTIMIZERS[name](learning_rate=lr)
