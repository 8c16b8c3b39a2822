"""What a ``Trainer`` is built from: its model (or the function that builds one in a
distribution strategy's scope) and its checked options."""

from __future__ import annotations

import tensorflow as tf

from seqkit.errors import OptionError
from seqkit.option_words import NONFINITE
from seqkit.validation import one_of, real_number


def check_options(clip_norm, nonfinite: str) -> None:
    """A Trainer's clipping and NaN settings, or an OptionError that names the bad one."""
    if clip_norm is not None:
        real_number("Trainer: clip_norm", clip_norm, above=0)
    one_of("Trainer: nonfinite", nonfinite, NONFINITE)


def built_model(model, scope) -> tf.Module:
    """``model``, or what the function ``model`` builds inside ``scope()``."""
    if isinstance(model, tf.Module):
        return model
    if not callable(model):
        raise OptionError(
            "Trainer: model must be a SequenceModel or a function that builds one, "
            f"got {type(model).__name__}."
        )
    with scope():
        return model()
