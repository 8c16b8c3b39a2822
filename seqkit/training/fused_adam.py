"""``FusedAdam``: ``keras.optimizers.Adam`` whose update of each variable is one op.

Keras' Adam updates a variable with about a dozen small ops (casts, powers, the moments, the
step); for the six variables of a character model that is ~80 ops run one after another at the
end of every training step, about 1 ms of config A's LSTM step on a 2-core CPU. TensorFlow's
``ResourceApplyAdam`` does the same update in one op per variable, with the same formula:

    m <- m + (g - m)(1 - beta_1)          v <- v + (g^2 - v)(1 - beta_2)
    w <- w - lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

It keeps Keras' slot variables (``m``, ``v``, ``iterations``), so checkpoints are Keras Adam's;
where the op does not apply (AMSGrad, an IndexedSlices gradient) Keras' own update runs. The
values agree with Keras' Adam to float32 rounding (the op multiplies in another order).
"""

from __future__ import annotations

import keras
import tensorflow as tf


class FusedAdam(keras.optimizers.Adam):
    """Keras' Adam, each dense variable's update one ``ResourceApplyAdam``."""

    def __init__(self, *args, name: str = "adam", **kwargs):
        super().__init__(*args, name=name, **kwargs)  # Keras Adam's name, and its slots'

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or not isinstance(gradient, tf.Tensor):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=m.handle,
            v=v.handle,
            beta1_power=tf.pow(tf.cast(self.beta_1, dtype), step),
            beta2_power=tf.pow(tf.cast(self.beta_2, dtype), step),
            lr=tf.cast(learning_rate, dtype),
            beta1=tf.cast(self.beta_1, dtype),
            beta2=tf.cast(self.beta_2, dtype),
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )
