"""The values of the options that take one of a few words, each spelled once: the classes that
check an option and the config keys (``seqkit.config.keys``, which imports no TensorFlow, so
that the CLI starts fast) read the same tuple.

>>> from seqkit.option_words import INITIAL_STATES
>>> INITIAL_STATES
('zeros', 'learned')
"""

# SequenceModel's encoder of its inputs; None: dense inputs, given as they are.
ENCODERS = (None, "embedding", "onehot")
# SequenceModel's state at each sequence's start: zeros, or a trained state.
INITIAL_STATES = ("zeros", "learned")
# How an encoder-decoder's decoder starts from the encoder's final state (seqkit.models.bridge).
BRIDGES = ("copy", "linear")
# The distribution strategies of seqkit.training.distribute.
STRATEGIES = ("none", "mirrored", "multi-worker")
# What the Trainer does with an update whose loss or gradient norm is NaN or infinite. Either way
# it is not applied (on one device; data parallel, "stop" stops after it): "stop" raises a
# NonFiniteError, "skip" goes on with the next window (the carried state's non-finite values
# set to 0).
NONFINITE = ("stop", "skip")
# Keras' policy names (seqkit.training.precision.PRECISIONS gives their dtypes).
PRECISIONS = ("float32", "mixed_bfloat16")
# What becomes of a token a run's vocabulary lacks, in a file read with it (--unknown).
UNKNOWN_POLICIES = ("refuse", "skip", "map")
